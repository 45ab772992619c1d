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
# Access family (服务可及性与可得性, 祝建华、项丽亚 2021): need, accessibility and availability by
# service type, coverage of the needy, distance to service points; compared across
# sub-regions and groups. Run by `evalkit report`; code is hidden in the rendered report.

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
from evalkit.report import present
from evalkit.report.notebook import export_tables, start
from evalkit.results.tables import supply_and_need_table

report = start(data_path=data_path, results_path=results_path, region=region, period=period,
               lang=lang, targets_path=targets_path, min_cell=min_cell, by=by, params=params)
indicators = report.family_indicators("access")
per_type = [i.id for i in indicators if i.per_service_type]
overall = [i.id for i in indicators if not i.per_service_type]
report.title(report.family_name("access"))

# %%
report.key_figures(overall)

# %%
# Table 1 of 祝建华、项丽亚 (2021) 《城市社会救助服务高质量建设的问题与实现路径》: households in need, reached and served, by service type.
if {"access.accessibility_rate", "access.availability_rate"} <= {i.id for i in indicators}:
    report.heading(report.t("supply_need_table"))
    table1 = supply_and_need_table(report.data.results(), report.region, report.period, report.lang)
    report.table_html(present.supply_and_need_frame(table1, report.lang), numeric=tuple(table1.columns[1:]))

# %%
report.by_service_type(per_type)
report.by_subregion(overall)
report.by_groups(overall + per_type, key_indicator="access.availability_rate")  # 祝建华、项丽亚 2021, 可得率

# %%
# Definitions and parameters are in the appendix, the report's last part.
report.footer()

# %%
# The numbers above as plain DataFrames (indicator table, by-group tables, league table of
# sub-regions) for analysis; with export_dir set, written as CSV, Parquet, Excel and LaTeX.
tables = report.tables(overall + per_type)
if export_dir:
    export_tables(tables, export_dir)
