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
# Scorecard: every indicator of one region and period against its target (green/amber/red),
# the gap, the trend over periods, and the performance improvement plan (广州公益慈善蓝皮书 2024).
# Run by `evalkit report`; code is hidden in the rendered report.

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
export_dir = ""  # a directory: the scorecard and the plan are written there as CSV, Parquet, Excel and LaTeX; empty: no export

# %%
# Validate the parameters, set up Chinese fonts, load the published results.
from evalkit.data.periods import year_before
from evalkit.report import charts, present, scorecard
from evalkit.report.notebook import export_tables, start

report = start(data_path=data_path, results_path=results_path, region=region, period=period,
               lang=lang, targets_path=targets_path, min_cell=min_cell, by=by, params=params)

# %%
# 摘要 first: the findings that matter most, then the overall scorecard by indicator. Changes on
# the same period last year (the previous period when last year is not comparable) are tested with
# the design's standard error, Benjamini-Hochberg over all of them.
mine = report.own_table()  # the region's rows, every period
changes = report.own_results().change()
yearly = report.own_results().change(base="year")
card = scorecard.scorecard(mine, report.targets, report.region, report.period, report.catalogue)
card = scorecard.flag_changes(card, yearly, report.region, report.period, fallback=changes)
findings = scorecard.key_findings(card)
report.title(report.t("scorecard"))
report.show(present.summary_html(
    [present.finding_sentence(r, report.lang, report.catalogue) for _, r in findings.iterrows()],
    present.overview_sentences(card, report.lang, report.catalogue), report.lang,
    rule=report.t("summary_rule", k=scorecard.MAX_FINDINGS, minimum=scorecard.MIN_FINDINGS)))
report.note(report.t("status_counts", **scorecard.status_counts(card)))
report.note(report.t("rag_rule", tol=f"{scorecard.TOLERANCE:.0%}"))
report.note(report.t("target_src_note"))
report.note(report.t("change_year_note", period=report.period, base=year_before(report.period),
                     first=next((h[0] for h in card["history_periods"] if h), report.period)))
if card["incomplete"].any():
    report.note(report.t("incomplete_note", date=report.extracted_on))
trend = scorecard.trend_table(mine, report.region, report.period)

# %%
# One section per indicator family: status charts, the scorecard table, trends.
for family in dict.fromkeys(card["family"]):
    part = card[card["family"] == family]
    report.heading(report.family_name(family))
    report.figure(charts.rag_matrix(part, report.names, report.lang), alt=report.t("rag_matrix"))
    report.figure(charts.status_tiles(part, report.names, report.lang), alt=report.t("overview"))
    report.table_html(present.with_target_sources(present.scorecard_frame(part, report.lang, report.catalogue), part,
                                                  report.target_sources, report.lang),
                      badges={report.t("status"): list(part["status"])},
                      numeric=present.numeric_columns(present.SCORECARD_NUMERIC, report.lang),
                      wrap=(report.t("indicator"), report.t("trend")))
    for fig in charts.trend_pages(trend[trend["indicator"].isin(part["indicator"])], part, report.names,
                                  report.lang):  # a figure per printed page
        report.figure(fig, alt=report.t("trends"))

# %%
# The improvement plan closes the scorecard, as 广州公益慈善蓝皮书 2024 asks of assessors:
# one row per problem, most urgent first, each with who acts, what, the target and when it is reviewed.
plan = scorecard.improvement_plan(mine, report.targets, report.region, report.period, changes,
                                  report.lang, report.catalogue, frequency=report.data.frequency)
report.heading(report.t("plan"))
if plan.empty:
    report.note(report.t("plan_empty"))
else:
    report.note(report.t("plan_rule"))
    shown = plan.head(scorecard.PLAN_CAP)
    report.table_html(present.plan_frame(shown, report.lang, report.catalogue),
                      badges={report.t("plan_judgement"): present.plan_badges(shown)},
                      wrap=(report.t("plan_problem"), report.t("action")))
    if len(plan) > len(shown):
        report.note(report.t("plan_more", n=len(plan) - len(shown)))

# %%
# The scorecard and the whole plan as plain DataFrames; with export_dir set, written as CSV, Parquet, Excel and LaTeX.
tables = {"scorecard": card, "plan": plan}
if export_dir:
    export_tables(tables, export_dir)

# %%
# Definitions, targets' sources and parameters are in the appendix, the report's last part.
report.footer()
