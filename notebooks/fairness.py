# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# Fairness family (公平性): who the aid reaches by pre-transfer income (coverage and benefit
# incidence by quintile), how concentrated its yuan are among the poor (concentration curves
# and indices, O'Donnell, van Doorslaer, Wagstaff and Lindelow 2008; Lustig 2018), targeting
# (Coady, Grosh and Hoddinott 2004; World Bank 2022, Revisiting Targeting in Social
# Assistance) and gaps between household groups. Curves come from the aggregate ordinates
# the data step keeps (evalkit.report.curves), never from households. Run by
# `evalkit report`; code is hidden in the rendered report.

# %% tags=["parameters"]
data_path = "data/demo"  # data package (used only when results_path is empty); relative: looked up from here upwards
results_path = ""  # results.parquet written by `evalkit report`; computed from data_path when empty
region = ""  # region id from the regions table; empty: the top region
period = ""  # e.g. "2024Q4"; empty: the latest complete period
lang = "zh"  # zh | en
targets_path = ""  # YAML/JSON mapping indicator id -> target; empty: the catalogue's defaults
min_cell = 10  # cells counting fewer units (n: households, needs, referrals, ...) are not published
by = "hukou,urban"  # household columns to break results down by, comma-separated
params = "{}"  # indicator parameters as a JSON object, e.g. '{"omission_window_days": 30}'; others default
export_dir = ""  # a directory: the tables below are written there as CSV, Parquet, Excel and LaTeX; empty: no export

# %%
# Validate the parameters, set up Chinese fonts, load the published results.
from evalkit.report.notebook import export_tables, start

report = start(data_path=data_path, results_path=results_path, region=region, period=period,
               lang=lang, targets_path=targets_path, min_cell=min_cell, by=by, params=params)
indicators = report.family_indicators("fairness")
present_ids = {i.id for i in indicators}
# Rates compared between household groups: access to services and aid, and the needy left out.
GAPS = [i for i in ("access.availability_rate", "access.coverage_rate", "fairness.coverage_any",
                    "fairness.exclusion_error_any") if i in report.computed]
# Targeting errors and coverage as key figures; indices go to the inequality table below.
KEY = [i.id for i in indicators if i.unit == "rate"]
report.title(report.family_name("fairness"))

# %%
# The headline first: is charity aid as pro-poor as government aid? (with every index and its interval)
report.inequality_table()

# %%
report.quintile_incidence()
report.concentration_curves()

# %%
report.key_figures(KEY)
report.group_gaps(GAPS)
report.by_subregion([i.id for i in indicators], charted=[i for i in ("fairness.coverage_any",
                                                                     "fairness.exclusion_error_any") if i in present_ids])

# %%
# Definitions and parameters are in the appendix, the report's last part.
report.footer()

# %%
# The numbers above as plain DataFrames (indicator table, by-group tables, league table of
# sub-regions) for analysis; with export_dir set, written as CSV, Parquet, Excel and LaTeX.
tables = report.tables([i.id for i in indicators] + GAPS)
if export_dir:
    export_tables(tables, export_dir)
