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
# Methods and data-quality appendix (方法与数据质量附录): the last part of a region's report.
# The definition of every indicator the report shows (with its target and where the target
# comes from), the parameters used, how the numbers are made, what the data cover and leave
# out, a glossary and the reference list. Run by `evalkit report`; code is hidden in the
# rendered report.

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
from evalkit.report import appendix
from evalkit.report.notebook import export_tables, start

report = start(data_path=data_path, results_path=results_path, region=region, period=period,
               lang=lang, targets_path=targets_path, min_cell=min_cell, by=by, params=params)
report.title(report.t("appendix"))

# %%
report.indicator_definitions()

# %%
report.parameters(intervals=False)  # every family's; the intervals are explained under methods

# %%
report.methods()

# %%
report.data_coverage()

# %%
report.glossary()
report.references()
report.footer()

# %%
# The appendix's tables as plain DataFrames; with export_dir set, written as CSV, Parquet, Excel and LaTeX.
shown = report.shown_indicators()
tables = {"definitions": appendix.definitions_table(shown, report.targets, report.target_sources),
          "left_out": appendix.left_out(report.table, report.region, report.period, shown),
          "glossary": appendix.glossary_frame(report.lang)}
if export_dir:
    export_tables(tables, export_dir)
