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
# Coordination family (协同衔接, 叶涛涛 2022; 广州公益慈善蓝皮书 2024): duplicate and omitted aid, referrals
# between government and charity, platform KPIs, processing times before and after the
# linkage reform, composite indices of sub-regions. Run by `evalkit report`; code is
# hidden in the rendered report.

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
indicators = report.family_indicators("coordination")
present_ids = {i.id for i in indicators}
per_type = [i.id for i in indicators if i.per_service_type]
overall = [i.id for i in indicators if not i.per_service_type]
# What 叶涛涛 2022 reports before and after the reform, and what sub-regions are compared on.
HEADLINE = [i for i in ("coordination.verification_days", "coordination.processing_days",
                        "coordination.duplicate_aid_rate", "coordination.omitted_aid_rate",
                        "coordination.referral_acceptance_rate", "coordination.on_time_rate") if i in present_ids]
report.title(report.family_name("coordination"))

# %%
report.key_figures(overall)

# %%
report.over_periods(HEADLINE)

# %%
report.by_service_type(per_type)
report.by_subregion(overall, charted=HEADLINE)
report.composite_indices()
report.by_groups(overall + per_type, key_indicator="coordination.omitted_need_rate")

# %%
# Definitions and parameters are in the appendix, the report's last part.
report.footer()

# %%
# The numbers above as plain DataFrames (indicator table, by-group tables, league table of
# sub-regions) for analysis; with export_dir set, written as CSV, Parquet, Excel and LaTeX.
tables = report.tables(overall + per_type)
if export_dir:
    export_tables(tables, export_dir)
