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
# Access family (服务可及性与可得性, seed 003): need, accessibility and availability by
# service type, coverage of the needy, distance to service points; compared across
# sub-regions and groups. Run by `evalkit report`; code is hidden in the rendered report.

# %% tags=["parameters"]
data_path = ""  # data package directory (used only when results_path is empty)
results_path = ""  # results.parquet written by `evalkit report`; computed from data_path when empty
region = ""  # region id from the regions table
period = ""  # e.g. "2024Q4"; empty: the latest period
lang = "zh"  # zh | en
targets_path = ""  # YAML/JSON mapping indicator id -> target; empty: the catalogue's defaults
min_cell = 10  # cells with fewer households are not published

# %%
# Validate the parameters, set up Chinese fonts, load the published results.
from evalkit.report import charts, present
from evalkit.report.notebook import start
from evalkit.report.text import group_label, service_label
from evalkit.schema import SERVICE_TYPES
from evalkit.tables import supply_and_need_table

report = start(data_path=data_path, results_path=results_path, region=region, period=period,
               lang=lang, targets_path=targets_path, min_cell=min_cell)

# %%
FAMILY = "access"
KEY_INDICATOR = "access.availability_rate"  # compared across groups (seed 003's 可得率)
indicators = report.family_indicators(FAMILY)
ids = [i.id for i in indicators]
per_type = [i.id for i in indicators if i.per_service_type]
not_per_type = [i.id for i in indicators if not i.per_service_type]
rows = report.rows(FAMILY)
services = {s: service_label(s, report.lang) for s in SERVICE_TYPES}
report.title(report.family_name(FAMILY))

# %%
if not_per_type:
    report.heading(report.t("key_figures"))
    report.table_html(present.key_figures_frame(rows[rows["indicator"].isin(not_per_type)], report.lang),
                      numeric=present.numeric_columns(("value", "n"), report.lang))

# %%
if {"access.accessibility_rate", "access.availability_rate"} <= set(ids):
    report.heading(report.t("seed003_table"))
    table1 = supply_and_need_table(report.data.results(), report.region, report.period, report.lang)
    report.table_html(present.supply_and_need_frame(table1, report.lang), numeric=tuple(table1.columns[1:]))

# %%
if per_type:
    report.heading(report.t("by_service_type"))
    for unit in dict.fromkeys(report.units[i] for i in per_type):
        shown = [i for i in per_type if report.units[i] == unit]
        fig = charts.bars(rows[rows["indicator"].isin(shown)], "service_type", services, report.names,
                          report.units, report.targets, report.lang)
        report.figure(fig, alt=", ".join(report.names[i] for i in shown))
    wide = present.wide_frame(rows[rows["indicator"].isin(per_type)], "service_type", services, report.lang)
    report.table_html(wide, numeric=tuple(wide.columns[1:]))

# %%
children = report.data.children(report.region)
if children and not_per_type:
    report.heading(report.t("by_region"))
    names = present.region_labels(report.data.regions, children, report.lang)
    sub = report.table[report.table["region"].isin(children) & (report.table["period"] == report.period)
                       & (report.table["group_by"] == "") & report.table["indicator"].isin(not_per_type)]
    report.figure(charts.bars(sub, "region", names, report.names, report.units, report.targets, report.lang),
                  alt=report.t("by_region"))
    wide = present.wide_frame(sub, "region", names, report.lang, first_column=report.t("region"))
    report.table_html(wide, numeric=tuple(wide.columns[1:]))

# %%
for group_by in report.data.groups:
    grouped = report.rows(FAMILY, group_by=group_by)
    if grouped.empty:
        continue
    groups = present.group_labels(group_by, sorted(set(grouped["group"])), report.lang)
    report.heading(f"{report.t('by_group')}: {group_label(group_by, '', report.lang)}")
    if not_per_type:
        wide = present.wide_frame(grouped[grouped["indicator"].isin(not_per_type)], "group", groups,
                                  report.lang, first_column=report.t("group"))
        report.table_html(wide, numeric=tuple(wide.columns[1:]))
    if KEY_INDICATOR in per_type:
        key_rows = grouped[grouped["indicator"] == KEY_INDICATOR]
        report.figure(charts.group_bars(key_rows, KEY_INDICATOR, group_by, groups, report.names,
                                        report.targets.get(KEY_INDICATOR), report.lang),
                      alt=f"{report.names[KEY_INDICATOR]} · {group_label(group_by, '', report.lang)}")

# %%
report.heading(report.t("definitions"))
definitions = present.definitions_frame(indicators, report.lang)
report.table_html(definitions, wrap=tuple(definitions.columns))
report.footer()
