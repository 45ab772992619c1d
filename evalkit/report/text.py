"""Report wording in Chinese and English, and number formats per unit.

Every label a report shows comes from here or from the catalogue, so the two languages
stay in step and tests can format a value exactly as the report does.

>>> format_value(0.43918, "rate", "zh")
'43.9%'
>>> format_gap(-0.261, "rate", "en")
'-26.1 pp'
>>> format_value(1234.5, "yuan", "zh")
'1,234元'
"""
from __future__ import annotations

import math

from evalkit.data.schema import SERVICE_TYPES
from evalkit.errors import ParameterError

LANGS = ("zh", "en")
MISSING = "—"

LABELS: dict[str, dict[str, str]] = {
    "report": {"zh": "政府救助与慈善帮扶衔接评估", "en": "Evaluation of the linkage of government assistance and charity support"},
    "scorecard": {"zh": "指标计分卡", "en": "Indicator scorecard"},
    "index": {"zh": "评估报告", "en": "Evaluation report"},
    "region": {"zh": "地区", "en": "Region"},
    "region_id": {"zh": "区划代码", "en": "Region id"},
    "level": {"zh": "层级", "en": "Level"},
    "period": {"zh": "评估期", "en": "Period"},
    "indicator": {"zh": "指标", "en": "Indicator"},
    "service_type": {"zh": "服务类型", "en": "Service type"},
    "all_types": {"zh": "不分类型", "en": "All types"},
    "value": {"zh": "本期值", "en": "Value"},
    "ci": {"zh": "95%置信区间", "en": "95% CI"},
    "target": {"zh": "目标值", "en": "Target"},
    "gap": {"zh": "与目标差距", "en": "Gap to target"},
    "status": {"zh": "状态", "en": "Status"},
    "previous": {"zh": "上期值", "en": "Previous period"},
    "change": {"zh": "较上期变化", "en": "Change on previous period"},
    "change_year": {"zh": "较去年同期变化", "en": "Change on a year before"},
    "trend": {"zh": "趋势", "en": "Trend"},
    # what a count column counts differs by indicator (households, needs, referrals, ...):
    # each cell names it (format_counted), or a one-indicator column is headed by it
    "n": {"zh": "计数", "en": "Count (n)"},
    "counts": {"zh": "计数对象", "en": "Counts"},
    "responsible": {"zh": "责任方", "en": "Responsible side"},
    "action": {"zh": "建议整改措施", "en": "Suggested action"},
    "types_short": {"zh": "未达标的服务类型", "en": "Service types short of target"},
    "worst": {"zh": "差距最大", "en": "Largest gap"},
    "formula": {"zh": "计算方法", "en": "Definition"},
    "unit": {"zh": "单位", "en": "Unit"},
    "direction": {"zh": "方向", "en": "Direction"},
    "source": {"zh": "依据", "en": "Source"},
    "group": {"zh": "群体", "en": "Group"},
    "difference": {"zh": "与参照群体之差", "en": "Difference to reference"},
    "overview": {"zh": "总览", "en": "Overview"},
    "rag_matrix": {"zh": "指标达标情况总览（按服务类型）", "en": "Status of each indicator by service type"},
    "trends": {"zh": "各期趋势", "en": "Trend over periods"},
    "plan": {"zh": "绩效改进计划", "en": "Performance improvement plan"},
    "plan_lead": {
        "zh": "对照绩效目标找出差距并提出整改方案（按差距由大到小排列），供下一阶段落实。",
        "en": "Gaps against the performance targets with suggested remedies, largest gap first, for the next period.",
    },
    "plan_empty": {"zh": "所有设有目标的指标均已达标。", "en": "Every indicator with a target meets it."},
    "plan_rule": {
        "zh": "每个问题一行：最近一个完整评估期未达到目标的指标（分服务类型的指标合并为一行，列出差距最大的服务类型）。"
              "按差距乘以涉及的计数（比率类指标为绝对差距，其他为相对目标的差距、最多计为1）排序，较上期显著恶化者权重加倍；"
              "95%置信区间包含目标值的差距保留并标为“不确定”；本期未完整的数据不列入。复核日期为下一评估期的最后一天。",
        "en": "One row per problem: an indicator short of its target in the latest complete period (indicators split "
              "by service type in one row naming the worst types). Ranked by the shortfall times the count it concerns "
              "(the absolute shortfall for rates, relative to the target otherwise, at most 1), doubled when the change on the "
              "previous period is significantly worsening; a shortfall whose 95% interval contains the target is kept "
              "and marked uncertain; incomplete periods are left out. Review date: the last day of the next period.",
    },
    "plan_more": {"zh": "另有 {n} 个未达标问题按同一规则排在后面，此处未列出。",
                  "en": "{n} more problems rank lower by the same rule and are not listed here."},
    "plan_problem": {"zh": "问题", "en": "Problem"},
    "plan_now": {"zh": "现状（95%区间）", "en": "Now (95% interval)"},
    "plan_judgement": {"zh": "判断", "en": "Judgement"},
    "plan_affects": {"zh": "涉及", "en": "Concerns"},
    "plan_review": {"zh": "复核日期", "en": "Review by"},
    "plan_rank": {"zh": "序号", "en": "No."},
    "plan_worst_types": {"zh": "差距最大的服务类型：{types}", "en": "worst service types: {types}"},
    "plan_short": {"zh": "未达标", "en": "Short of target"},
    "plan_uncertain": {"zh": "不确定（区间包含目标值）", "en": "Uncertain (interval contains the target)"},
    "plan_worsening": {"zh": "较上期显著恶化", "en": "significantly worsening"},
    "plan_period_note": {"zh": "（{period}期）", "en": " ({period})"},
    # -- the summary (摘要) at the top of the scorecard
    "summary": {"zh": "摘要", "en": "Summary"},
    "summary_findings": {"zh": "主要发现", "en": "Key findings"},
    "summary_overall": {"zh": "总体情况", "en": "Overall"},
    "finding": {"zh": "{name}为 {value}（95% 区间 {low}–{high}），{target}，{change}。",
                "en": "{name} is {value} (95% interval {low}–{high}), {target}; {change}."},
    "finding_met_above": {"zh": "高于目标 {target}，达标", "en": "above the target of {target}: met"},
    "finding_met_below": {"zh": "低于目标 {target}，达标", "en": "below the target of {target}: met"},
    "finding_short_above": {"zh": "高于目标 {target}（差 {gap}）", "en": "above the target of {target} (short by {gap})"},
    "finding_short_below": {"zh": "低于目标 {target}（差 {gap}）", "en": "below the target of {target} (short by {gap})"},
    "finding_uncertain": {"zh": "，但区间包含目标值，差距不确定", "en": ", but the interval contains the target: uncertain"},
    "finding_change": {"zh": "比{base}（{period}）{verb} {amount}（{sig}）",
                       "en": "{verb} {amount} on {base} ({period}; {sig})"},
    "finding_no_change": {"zh": "无可比较的去年同期或上期数据", "en": "no comparable figure last year or in the previous period"},
    "finding_flat": {"zh": "与{base}（{period}）持平", "en": "unchanged on {base} ({period})"},
    "finding_fallback": {"zh": "无去年同期可比数据，", "en": "no comparable figure for the same period last year; "},
    "base_year": {"zh": "去年同期", "en": "the same period last year"},
    "base_year_annual": {"zh": "上年", "en": "the year before"},
    "base_previous": {"zh": "上期", "en": "the previous period"},
    "base_period": {"zh": "基期", "en": "the base period"},
    "change_cell_sig": {"zh": "{amount}*", "en": "{amount}*"},
    "change_year_note": {
        "zh": "表中“较去年同期变化”为本期（{period}）与去年同期（{base}）之差，带 * 者经 Benjamini-Hochberg 多重比较校正后仍显著；"
              "“较上期变化”为与最近一个完整评估期之差，箭头按置信区间判断；“趋势”为首期（{first}）与本期的数值，"
              "某行始于他期或本期未完整时注明期别。",
        "en": "“Change on a year before” is this period ({period}) minus the same period last year ({base}), marked "
              "* when it holds after the Benjamini-Hochberg correction; “Change on previous period” is "
              "on the latest complete period, its arrow judged by the interval; “Trend” gives the value in the first "
              "period ({first}) and in this one, naming the period where a row starts or ends elsewhere."},
    "verb_up": {"zh": "上升", "en": "up"},
    "verb_down": {"zh": "下降", "en": "down"},
    "sig_improving": {"zh": "显著，改善", "en": "significant, improving"},
    "sig_worsening": {"zh": "显著，恶化", "en": "significant, worsening"},
    "sig_none": {"zh": "不显著", "en": "not significant"},
    "overall_counts": {
        "zh": "按指标计（分服务类型的指标按全类型或差距最大的类型合并为一项）：{judged} 个指标可与目标比较，"
              "其中达标 {green} 个、接近目标 {amber} 个、未达标 {red} 个；{no_target} 个指标未设目标；"
              "另有 {unjudged} 个指标本期未完整或数据不予公布。",
        "en": "By indicator (service types summarised): {judged} indicators can be compared with their target: "
              "{green} on target, {amber} near it, {red} short of it; {no_target} have no target; {unjudged} more "
              "have an incomplete period or unpublished data.",
    },
    "overall_worst": {"zh": "相对目标差距最大：{items}。", "en": "Furthest from target (relative to it): {items}."},
    "overall_changes": {"zh": "较上期显著改善：{improved}；显著恶化：{worsened}。",
                        "en": "Significantly improved on the previous period: {improved}; significantly worsened: {worsened}."},
    "overall_changes_year": {"zh": "较去年同期显著改善：{improved}；显著恶化：{worsened}。",
                             "en": "Significantly improved on the same period last year: {improved}; significantly "
                                   "worsened: {worsened}."},
    "overall_fallback": {"zh": "其中 {n} 个变化因无去年同期可比数据，改与上期比较。",
                         "en": "{n} of the changes tested compare with the previous period, for want of a comparable "
                               "figure last year."},
    "overall_with_cov": {"zh": "（含两期估计的协方差）", "en": " (with the covariance of the two periods)"},
    "overall_independent": {
        "zh": "其中 {n} 个变化的两期估计未保存协方差，按相互独立计算标准误；同一批住户两期的取值正相关时，"
              "这样算出的标准误偏大，判断偏于保守。",
        "en": "{n} of them compare estimates without a kept covariance and take them as independent; when the same "
              "households' values are positively correlated across periods, that standard error is too large and "
              "the test cautious.",
    },
    "overall_none": {"zh": "无", "en": "none"},
    "overall_tests": {
        "zh": "“显著”指变化在控制多重比较后仍成立：变化的标准误来自抽样设计{cov}，"
              "对本表检验的全部 {tested} 个变化用 Benjamini-Hochberg 方法将错误发现率控制在 {q}（Benjamini & Hochberg, 1995）；"
              "本期未完整的数据既不作本期、也不作比较的基期。",
        "en": "“Significant”: the change holds after controlling for the many comparisons: its standard error comes "
              "from the sampling design{cov}, and the Benjamini-Hochberg "
              "procedure keeps the false discovery rate of all {tested} changes tested here at {q} "
              "(Benjamini & Hochberg, 1995); an incomplete period is never compared, nor compared with.",
    },
    "overall_untested": {"zh": "结果文件未保存两期估计的协方差，本次未检验较去年同期或较上期变化的显著性。",
                         "en": "The results file keeps no covariances of consecutive periods, so no change was tested."},
    "overall_context": {"zh": "描述性指标（无好坏方向，仅供参考）：{items}。",
                        "en": "Descriptive indicators (no better direction, context only): {items}."},
    "summary_rule": {
        "zh": "发现的选取规则：每个指标至多一条（优先用全类型数值）；按未达目标的相对差距与较去年同期（无则较上期）显著变化的相对幅度中"
              "较大者排序，取前 {k} 条；"
              "不足 {minimum} 条时补充超出目标最多的指标；本期未完整、不予公布和描述性指标不列为发现。",
        "en": "How findings are chosen: at most one per indicator (the all-types value first), ranked by the larger "
              "of the shortfall relative to the target and the significant change on the same period last year (else "
              "the previous period) relative to the target, the top {k}; "
              "under {minimum}, those beating their target by most fill up; incomplete, unpublished and descriptive "
              "indicators are never findings.",
    },
    "key_figures": {"zh": "主要指标", "en": "Key figures"},
    "by_service_type": {"zh": "分服务类型", "en": "By service type"},
    "by_region": {"zh": "下辖地区比较", "en": "Sub-regions compared"},
    "by_group": {"zh": "分群体比较", "en": "Groups compared"},
    "definitions": {"zh": "指标定义", "en": "Definitions"},
    "parameters": {"zh": "计算参数", "en": "Parameters"},
    "parameter": {"zh": "参数", "en": "Parameter"},
    "param_value": {"zh": "取值", "en": "Value"},
    "meaning": {"zh": "含义", "en": "Meaning"},
    "by_line": {"zh": "分群体比较的分组：{groups}。", "en": "Groups compared: {groups}."},
    "intervals_census": {
        "zh": "数据为登记册全体家庭（普查），置信区间反映产生数据的过程（如同类年份或地区可能出现的结果）的随机变动，而非抽样误差。",
        "en": "The data are a register of every household (a census): intervals show the random variation of the "
              "process that produced the data (what a similar year or county could have shown), not sampling error."},
    "intervals_survey": {
        "zh": "数据为抽样调查：按分层与初级抽样单位以泰勒线性化估计方差；比例用logit区间，均值用t区间（自由度为初级单位数减层数）。",
        "en": "The data are a sample survey: variances are Taylor-linearised over strata and primary sampling units; "
              "proportions get logit intervals and means t intervals on PSUs minus strata degrees of freedom."},
    "intervals_simple": {
        "zh": "未提供抽样设计：比例用Wilson区间，均值用t区间，以家庭为独立单位。",
        "en": "No survey design was given: proportions get Wilson intervals and means t intervals, with households "
              "as independent units."},
    "supply_need_table": {"zh": "救助服务需求、可及与可得情况", "en": "Need, supply nearby and receipt of services"},
    "provenance": {"zh": "数据说明", "en": "About the data"},
    "suppression_note": {
        "zh": "分母、分子或分母减分子的计数少于{min_cell}的单元格不予公布（显示为“—”）；"
              "为防止通过总数相减推算，另有部分单元格（同一地区的其他分组、同级地区、共用计数的相关指标）一并不予公布。"
              "计数对象因指标而异（户、需求、转介、个案等，见计数列与指标定义）。",
        "en": "Cells counting fewer than {min_cell} units in the denominator, in the numerator or outside it "
              "are not published (shown as “—”), nor are enough other cells (other groups, sibling regions, "
              "related indicators sharing a count) that none can be recomputed by subtraction. What is counted "
              "differs by indicator (households, needs, referrals, cases, ...: see the count columns and the definitions).",
    },
    # -- where a target comes from (scorecard marker column, appendix definitions)
    "target_source": {"zh": "目标来源", "en": "Target source"},
    "target_src_default": {"zh": "evalkit默认值，请按本地情况设定", "en": "evalkit default, set your own"},
    "target_src_user": {"zh": "用户设定（{name}）", "en": "set by the user ({name})"},
    "target_src_short_default": {"zh": "默认", "en": "default"},
    "target_src_short_user": {"zh": "用户", "en": "user"},
    "target_src_short_published": {"zh": "文献", "en": "published"},
    "target_src_note": {
        "zh": "目标来源：“默认”为evalkit默认值（无公开文献或政策文件给出该数值），请按本地情况设定；“用户”为目标值文件所设；"
              "“文献”为公开文献或政策文件给出的数值。详见方法与数据质量附录。",
        "en": "Target source: “default” is evalkit's default (no published work or policy document sets the figure): "
              "set your own; “user” was set in the targets file; “published” comes from a published work or policy "
              "document. See the methods and data-quality appendix."},
    # -- the methods and data-quality appendix (notebooks/appendix.py)
    "appendix": {"zh": "方法与数据质量附录", "en": "Methods and data-quality appendix"},
    "appx_definitions": {"zh": "指标定义", "en": "Indicator definitions"},
    "appx_definitions_lead": {
        "zh": "本报告出现的每个指标（本地区本评估期有结果的指标），按指标族排列，定义取自指标目录（版本 {version}）。",
        "en": "Every indicator shown in this report (those with results for this region and period), by family, "
              "as the indicator catalogue (version {version}) defines them."},
    "names": {"zh": "名称", "en": "Name"},
    "missing_as": {"zh": "缺失值", "en": "Missing values"},
    "incomplete_as": {"zh": "未完成期", "en": "Incomplete periods"},
    "appx_methods": {"zh": "数字是怎样得出的", "en": "How the numbers are made"},
    "method_intervals": {
        "zh": "置信区间：每个数值都给出95%置信区间。提供抽样设计（权重、分层、初级抽样单位）时按设计估计方差"
              "（泰勒线性化），比率为家庭的比例，用logit区间，均值与天数用t区间；未提供设计时比例用Wilson区间，"
              "以家庭为独立单位。",
        "en": "Intervals: every number comes with a 95% confidence interval. With a survey design (weights, strata, "
              "primary sampling units) variances are design-based (Taylor linearisation); rates are shares of households "
              "with logit intervals, means and days get t intervals. Without a design, proportions get Wilson intervals "
              "with households as independent units."},
    "method_suppression": {
        "zh": "小单元格抑制：分子、分母或分母减分子的计数少于{min_cell}的单元格不予公布（主要规则）；为防止由总数与其余"
              "单元格相减推算出被抑制的数，再抑制足够多的相关单元格（补充抑制：同一地区的其他分组、同级地区、共用计数的"
              "相关指标）。被抑制的单元格显示为“—”，行保留不删。",
        "en": "Small-cell suppression: a cell counting fewer than {min_cell} units in its numerator, its denominator or "
              "the difference is not published (the primary rule); enough related cells (other groups of the region, "
              "sibling regions, indicators sharing a count) are suppressed too that none can be recovered by "
              "subtraction (complementary suppression). Suppressed cells show “—” and keep their row."},
    "method_workdays": {
        "zh": "工作日：以工作日计的时长按法定日历计算，起始日不计、结束日计入；周一至周五扣除法定节假日，计入调休上班的"
              "周末（依国务院办公厅每年发布的节假日安排，由chinese-calendar提供，数据包的工作日历表可覆盖）。例如2024年"
              "2月8日至19日（春节）为3个工作日，而不是7个。",
        "en": "Working days: durations in working days follow the statutory calendar, the start day excluded and the "
              "end day included: Monday to Friday less public holidays, plus the adjusted weekend working days (调休), "
              "as the State Council's annual holiday notice sets them (from chinese-calendar; a calendar table in the "
              "package overrides it). 8 to 19 February 2024 (Spring Festival) is 3 working days, not 7."},
    "method_censoring": {
        "zh": "提取日删失：数据提取日期（{date}）之后发生的事情在数据中看不到。观察期（如转介受理时限、漏助判定时限）"
              "延伸到提取日之后的单位不计入比率，计为删失（n_censored）；办理时长等持续时间按Kaplan-Meier方法估计，"
              "未办结者在提取日作删失处理，不丢弃。",
        "en": "Censoring at the extraction date: nothing after the extraction date ({date}) is in the data. Units whose "
              "observation window (such as a referral's acceptance window or the omission window) runs past it are left "
              "out of rates and counted as censored (n_censored); durations such as handling times are Kaplan-Meier "
              "estimates in which cases still open are censored at that date, not dropped."},
    "method_incomplete": {
        "zh": "未完成期：在提取日尚未结束的评估期，以及有单位因观察期未结束而删失的评估期，标为“本期未完整”：数值仅供"
              "参考，不评定是否达标，也不计算变化。未指定评估期时，报告最近一个完整的评估期。",
        "en": "Incomplete periods: a period that had not ended by the extraction date, or in which units were censored "
              "because their observation window had not ended, is marked “incomplete period”: its value is shown for "
              "reference, never rated against its target nor read as a change. Without a period given, a report shows "
              "the latest complete one."},
    "method_missing": {
        "zh": "缺失值：每个指标的缺失值计作什么见指标定义的“缺失值”一栏；因缺失而不计入的单位计为n_excluded，见数据"
              "覆盖情况。",
        "en": "Missing values: what a missing value counts as is in each definition's “missing values” column; units "
              "left out for a missing value are counted in n_excluded (see data coverage)."},
    "method_changes": {
        "zh": "变化的显著性：较上期的变化用两期估计之差的标准误检验（两期共有的家庭计入两期估计的协方差）；同时检验的"
              "全部变化按Benjamini-Hochberg方法控制错误发现率（q = {q}），通过者才称为显著改善或显著恶化。",
        "en": "Significance of changes: a change on the previous period is tested with the standard error of the "
              "difference (the covariance of the two periods' estimates counted where households appear in both); all "
              "changes tested together are held to a false discovery rate of q = {q} by the Benjamini-Hochberg "
              "procedure, and only those passing are called significant improvements or deteriorations."},
    "appx_coverage": {"zh": "数据覆盖情况", "en": "Data coverage"},
    "appx_data_line": {
        "zh": "数据包：{package}；数据中的评估期：{first}至{last}（共{n}期）；数据提取日期：{date}；数据指纹：{hash}。",
        "en": "Data package: {package}; periods in the data: {first} to {last} ({n}); extracted on: {date}; "
              "data fingerprint: {hash}."},
    "appx_table": {"zh": "数据表", "en": "Table"},
    "appx_rows": {"zh": "行数", "en": "Rows"},
    "appx_tables_unknown": {"zh": "结果文件未记录各数据表的行数（由较早版本的evalkit生成）。",
                            "en": "The results file records no row counts of the tables (written by an older evalkit)."},
    "appx_left_out": {"zh": "本地区本评估期各指标未计入的单位", "en": "Units left out, by indicator, this region and period"},
    "appx_left_out_lead": {
        "zh": "因缺失值不计入的单位（n_excluded）、因观察期在提取日未结束而删失的单位（n_censored），以及不予公布的单元格"
              "（含分组与分服务类型）。分服务类型的指标按各服务类型相加（一户可在多个类型中各计一次）。",
        "en": "Units left out for a missing value (n_excluded), units censored because their observation window had not "
              "ended by the extraction date (n_censored), and cells not published (groups and service types included). "
              "Indicators by service type are summed over types (a household can count once per type)."},
    "appx_excluded": {"zh": "因缺失不计入", "en": "Left out (missing)"},
    "appx_censored": {"zh": "删失", "en": "Censored"},
    "appx_suppressed": {"zh": "不予公布的单元格", "en": "Cells not published"},
    "appx_none_left_out": {"zh": "其余 {n} 个指标没有未计入的单位，也没有不予公布的单元格。",
                           "en": "The other {n} indicators left no unit out and published every cell."},
    "appx_all_in": {"zh": "本报告的指标在本地区本评估期没有未计入的单位，也没有不予公布的单元格。",
                    "en": "No indicator of this report left a unit out or withheld a cell for this region and period."},
    "appx_warnings": {"zh": "数据校验提示", "en": "Validation warnings"},
    "appx_no_warnings": {"zh": "数据校验没有提示（无警告）。", "en": "Validation raised no warnings."},
    "appx_warnings_unknown": {"zh": "结果文件未记录数据校验提示（由较早版本的evalkit生成）。",
                              "en": "The results file records no validation warnings (written by an older evalkit)."},
    "appx_warnings_lead": {"zh": "加载数据时的校验提示（不影响计算，但可能影响相关指标）；不列示具体记录。",
                           "en": "Warnings raised when the data were loaded (they did not stop the computation but can "
                                 "affect the indicators concerned); no record is shown."},
    "appx_column": {"zh": "字段", "en": "Column"},
    "appx_check": {"zh": "检查", "en": "Check"},
    "appx_rows_affected": {"zh": "涉及行数", "en": "Rows"},
    "appx_expected": {"zh": "要求", "en": "Expected"},
    "appx_glossary": {"zh": "术语表", "en": "Glossary"},
    "appx_term": {"zh": "术语", "en": "Term"},
    "appx_references": {"zh": "参考文献", "en": "References"},
    "appx_references_lead": {
        "zh": "指标定义、计算方法和目标依据的公开文献与官方文件。",
        "en": "The published works and official documents the definitions, methods and targets rest on."},
    "targets_default": {"zh": "目标值：指标目录默认值", "en": "Targets: catalogue defaults"},
    "targets_file": {"zh": "目标值：{name}", "en": "Targets: {name}"},
    "status_counts": {
        "zh": "按单元格（指标 × 服务类型）计：达标 {green} 项，接近目标 {amber} 项，未达标 {red} 项，无目标、本期未完整或无数据 {none} 项。",
        "en": "By cell (indicator × service type): {green} on target, {amber} near target, {red} off target, "
              "{none} without target, incomplete or without data.",
    },
    "rag_rule": {
        "zh": "判定规则：达到目标为“达标”；未达到但差距在目标值的{tol}以内、或95%置信区间包含目标值为“接近目标”；其余为“未达标”。差距为正表示优于目标。",
        "en": "Rule: meeting the target is on target; missing it by at most {tol} of the target, or with the 95% CI "
              "reaching it, is near target; otherwise off target. A positive gap is better than the target.",
    },
    "parts": {"zh": "报告内容", "en": "Parts"},
    # -- the one document: cover and contents (evalkit.report.document)
    "contents": {"zh": "目录", "en": "Contents"},
    "cover_region": {"zh": "{name}（区划代码 {region}，数据包中的地区编号）",
                     "en": "{name} (region id {region}, the data package's code)"},
    "report_date": {"zh": "报告日期", "en": "Report date"},
    "cover_fingerprint": {
        "zh": "{hash}。数据指纹由数据包全部文件的内容计算而来（SHA-256 摘要的前 12 位）：数据有任何改动，指纹即不同。"
              "用同一指纹的数据可以重现本报告的每个数字。",
        "en": "{hash}. The fingerprint is computed from the contents of every file of the data package (the first 12 "
              "characters of a SHA-256 digest): any change to the data changes it. Data with the same fingerprint "
              "reproduce every number in this report."},
    "not_produced": {"zh": "未生成的部分", "en": "Parts not produced"},
    "about_report": {"zh": "数据与口径", "en": "Data and conventions"},
    "over_periods": {"zh": "各期变化", "en": "Over periods"},
    "reform_line": {"zh": "点线为救助与慈善衔接改革起始期（{period}）。",
                    "en": "Dotted line: the linkage reform started in {period}."},
    "composite": {"zh": "下级地区综合指数（0–100，同期各地区间比较，100为最好）",
                  "en": "Composite indices of sub-regions (0-100 relative to the other sub-regions this period; 100 best)"},
    "composite_note": {"zh": "综合指数为相对得分：仅用于同期同级地区间比较，权重见 composite.yaml。",
                       "en": "Composite scores are relative: they compare sub-regions within this period only; "
                             "weights are in composite.yaml."},
    # -- the outcomes part (notebooks/outcomes.py): indicators not computed, the reform's impact
    "skipped_title": {"zh": "未计算的指标", "en": "Indicators not computed"},
    "skipped_item": {"zh": "{name}：{reason}", "en": "{name}: {reason}"},
    "skipped_panel": {"zh": "需要家庭分期动态表（household_periods），数据包中没有该表",
                      "en": "needs the household panel (household_periods), which the data package does not have"},
    "skipped_other": {"zh": "数据中缺少所需的表或列（{reason}）", "en": "{reason}"},
    "impact_title": {"zh": "改革成效", "en": "The reform's impact"},
    "impact_scope_root": {
        "zh": "{level}级估计：比较{name}所辖 {n} 个县区中已实施与未实施衔接改革的县区（{first} 至 {last}）。",
        "en": "{level}-level estimate: counties of {name} that adopted the linkage reform compared with those "
              "that did not ({n} counties, {first} to {last})."},
    "impact_scope_sub": {
        "zh": "以下为{level}级估计（{name}所辖 {n} 个县区，{first} 至 {last}），不是本地区单独的估计："
              "单个地区的县区太少，无法单独估计改革效果。",
        "en": "The {level}-level estimate ({name}, {n} counties, {first} to {last}), not one for this region "
              "alone: one region has too few counties to estimate the reform's effect on its own."},
    "impact_sentence": {
        "zh": "改革后，{name}平均{verb} {amount}（95% 区间 {low} 至 {high}；{method}方法，{n} 个县区，其中 {m} 个已实施改革）。",
        "en": "After the reform, {name} {verb} by {amount} on average (95% interval {low} to {high}; {method}, "
              "{n} counties, {m} of which adopted the reform)."},
    "impact_better": {"zh": "这是改善。", "en": "This is an improvement."},
    "impact_worse": {"zh": "这是变差，需关注。", "en": "This is a deterioration and needs attention."},
    "impact_unclear": {"zh": "区间包含 0：未见明确效果。", "en": "The interval contains 0: no clear effect."},
    "impact_up": {"zh": "增加", "en": "rose"},
    "impact_down": {"zh": "减少", "en": "fell"},
    "impact_rate_up": {"zh": "上升", "en": "rose"},
    "impact_rate_down": {"zh": "下降", "en": "fell"},
    "impact_none": {"zh": "无法估计改革对{name}的效果：{why}", "en": "The reform's effect on {name} cannot be estimated: {why}"},
    "impact_no_reform": {"zh": "数据中没有任何地区的改革起始期（regions.reform_period）。",
                         "en": "no region has a reform start period in the data (regions.reform_period)."},
    "impact_no_reform_all": {"zh": "无法估计改革效果：数据中没有任何地区的改革起始期（regions.reform_period）。",
                             "en": "The reform's effect cannot be estimated: no region has a reform start period in "
                                   "the data (regions.reform_period)."},
    "impact_few_cohorts": {
        "zh": "数据期内只有 {k} 批县区在不同时期实施改革，交错双重差分至少需要两批。",
        "en": "only {k} group(s) of counties adopted the reform in different periods within the data; "
              "staggered difference-in-differences needs at least two."},
    "impact_no_never": {"zh": "没有始终未实施改革的县区可作对照。",
                        "en": "no county without the reform is left to compare with."},
    "impact_no_data": {"zh": "县区×时期面板中可用的值太少。", "en": "too few usable county-period values."},
    "impact_error": {"zh": "估计未能完成（{detail}）。", "en": "the estimation failed ({detail})."},
    "impact_missing": {"zh": "结果文件中没有改革成效估计（请用当前版本重新运行 evalkit report）。",
                       "en": "the results file holds no estimate of the reform's impact (run evalkit report again "
                             "with this version)."},
    "impact_table": {"zh": "三种估计方法对比", "en": "Three estimators side by side"},
    "impact_method": {"zh": "方法", "en": "Method"},
    "impact_effect": {"zh": "改革效果", "en": "Effect"},
    "impact_clusters": {"zh": "县区数（聚类数）", "en": "Counties (clusters)"},
    "impact_inference": {"zh": "区间计算", "en": "Interval"},
    "impact_cs": {"zh": "Callaway-Sant'Anna（主要结果）", "en": "Callaway-Sant'Anna (headline)"},
    "impact_sa": {"zh": "Sun-Abraham", "en": "Sun-Abraham"},
    "impact_twfe": {"zh": "双向固定效应（TWFE，仅供比较）", "en": "Two-way fixed effects (TWFE, for comparison)"},
    "impact_wild": {"zh": "野聚类自助法（{weights}权重，{draws}次）", "en": "wild cluster bootstrap ({weights} weights, {draws} draws)"},
    "impact_analytical": {"zh": "解析标准误（按县区聚类）", "en": "analytical, clustered by county"},
    "impact_event_title": {"zh": "{name}：改革前后各期的效果", "en": "{name}: effect by periods since the reform"},
    "impact_event_x": {"zh": "距改革实施的期数（0 为实施当期）", "en": "Periods since the reform (0: the first reform period)"},
    "impact_event_y": {"zh": "效果（{unit}）", "en": "Effect ({unit})"},
    "impact_event_note": {
        "zh": "每个点为改革后（或前）第 k 期与改革前一期（-1，定为 0）相比的效果，竖线为95%置信区间（解析，按县区聚类）；"
              "改革前各点接近 0 说明实施前已实施与未实施县区走势相近。改革前各期效果为 0 的联合检验：p = {p}{flag}。",
        "en": "Each dot is the effect k periods after (or before) the reform against the period before it (-1, set to "
              "0), with its 95% interval (analytical, clustered by county); dots near 0 before the reform mean adopting "
              "and other counties moved alike beforehand. Joint test that every pre-reform effect is 0: p = {p}{flag}."},
    "impact_pretrend_flag": {
        "zh": "（p 较小：改革前两类县区的走势已有可辨的差异，最大为 {pre}，请对照改革后的效果大小判断）",
        "en": " (small: adopting and other counties already moved apart before the reform, by up to {pre}; weigh "
              "that against the size of the effect)"},
    "impact_methods": {
        "zh": "方法：各县区在不同时期实施衔接改革（交错实施），改革效果以县区×时期面板的交错双重差分估计。"
              "主要结果采用 Callaway 与 Sant'Anna（2021）的方法：每批同期实施改革的县区与从未实施改革的县区相比较，"
              "再按各批县区数加权平均；Sun 与 Abraham（2021）的交互加权回归作为对照。常用的双向固定效应回归（TWFE）"
              "仅供比较：改革效果随实施时间增长时，它把已实施改革的县区当作对照，并可能给部分效果负权重，估计有偏"
              "（Goodman-Bacon 2021；de Chaisemartin 与 D'Haultfœuille 2020）。县区数少于 {few} 时，区间用野聚类自助法"
              "（wild cluster bootstrap）计算。只使用计数不少于 {min_cell} 的县区·时期值，未完整的时期不计入；"
              "只公布汇总估计，不公布单个县区的数值。",
        "en": "Methods: counties adopted the linkage reform in different periods (staggered adoption), so its effect is "
              "estimated by staggered difference-in-differences on the county x period panel. The headline is "
              "Callaway & Sant'Anna (2021): each group of counties adopting in the same period is compared with "
              "counties that never adopted, and the groups' effects are averaged by their number of counties; the "
              "interaction-weighted regression of Sun & Abraham (2021) is the check. The usual two-way fixed-effects "
              "regression (TWFE) is shown for comparison only: when effects grow with time since adoption it uses "
              "already-treated counties as controls and can weight some effects negatively, so it is biased "
              "(Goodman-Bacon 2021; de Chaisemartin & D'Haultfœuille 2020). With fewer than {few} counties, "
              "intervals come from the wild cluster bootstrap. Only county-period values counting at least "
              "{min_cell} units enter, incomplete periods do not; only aggregate estimates are published, never a "
              "county's own value."},
    "impact_refs": {
        "zh": "文献：Callaway, B. & Sant'Anna, P. H. C. (2021), Difference-in-Differences with multiple time periods, "
              "Journal of Econometrics 225(2)；Sun, L. & Abraham, S. (2021), Estimating dynamic treatment effects in "
              "event studies with heterogeneous treatment effects, Journal of Econometrics 225(2)；Goodman-Bacon, A. "
              "(2021), Difference-in-differences with variation in treatment timing, Journal of Econometrics 225(2)；"
              "de Chaisemartin, C. & D'Haultfœuille, X. (2020), Two-way fixed effects estimators with heterogeneous "
              "treatment effects, American Economic Review 110(9)。",
        "en": "References: Callaway, B. & Sant'Anna, P. H. C. (2021), Difference-in-Differences with multiple time "
              "periods, Journal of Econometrics 225(2); Sun, L. & Abraham, S. (2021), Estimating dynamic treatment "
              "effects in event studies with heterogeneous treatment effects, Journal of Econometrics 225(2); "
              "Goodman-Bacon, A. (2021), Difference-in-differences with variation in treatment timing, Journal of "
              "Econometrics 225(2); de Chaisemartin, C. & D'Haultfœuille, X. (2020), Two-way fixed effects "
              "estimators with heterogeneous treatment effects, American Economic Review 110(9)."},
    "failures": {"zh": "生成失败", "en": "Failed"},
    "regions": {"zh": "各地区报告", "en": "Reports by region"},
    "ok": {"zh": "已生成", "en": "Done"},
    "failed": {"zh": "失败", "en": "Failed"},
            "generated_by": {"zh": "由 evalkit {version} 生成", "en": "Produced by evalkit {version}"},
    "meta_line": {"zh": "评估期：{period} · 区划代码：{region}", "en": "Period: {period} · Region id: {region}"},
    "period_line": {"zh": "评估期：{period}", "en": "Period: {period}"},
    "package_line": {"zh": "数据包：{name}", "en": "Data package: {name}"},
    "hash_line": {"zh": "数据指纹：{hash}", "en": "Data fingerprint: {hash}"},
    "catalogue_line": {"zh": "指标目录版本：{version}（定义指纹 {sha}）",
                       "en": "Indicator catalogue: version {version} (definitions {sha})"},
    "parameters_line": {"zh": "计算参数：{params}", "en": "Parameters: {params}"},
    "extracted_declared": {"zh": "数据提取日期：{date}（datapackage.json 声明）",
                           "en": "Data extracted on: {date} (declared in datapackage.json)"},
    "extracted_latest": {"zh": "数据提取日期：{date}（未声明，取数据中最晚的非未来事件日期，{column}）",
                         "en": "Data extracted on: {date} (not declared; latest event date in the data not in the future, {column})"},
    "extracted_unknown": {"zh": "数据提取日期：未知", "en": "Data extracted on: unknown"},
    "skipped_line": {"zh": "未生成的部分：{names}（数据不足，无可计算的指标）",
                     "en": "Parts not produced: {names} (no indicator could be computed from the data)"},
    "incomplete_note": {
        "zh": "标为“本期未完整”的指标：其判定期（如需求识别后的漏助判定时限）在数据提取日{date}尚未结束，"
              "结果尚不能判定，这些单位不计入并计数为删失；该值仅供参考，不评定是否达标，也不作为变化趋势。",
        "en": "Indicators marked “incomplete period”: their observation window (e.g. the omission window after a need is "
              "identified) had not ended by the extraction date {date}, so those units are left out and counted "
              "as censored; the value is shown for reference only, not rated against its target nor read as a change."},
    "trend_title": {"zh": "各期趋势（虚线为目标值）", "en": "Trend over periods (dashed: target)"},
    # -- charts: said once, not in every caption
    "interval_key": {
        "zh": "图中的细线（误差线）表示95%置信区间：考虑抽样和测量误差，真实值很可能落在其中。区间越短，估计越精确；"
              "两个区间明显不重叠，差别才较为明确。",
        "en": "The thin lines (error bars) in the charts are 95% confidence intervals: given sampling and measurement "
              "error, the true value very likely lies within them. The shorter the line, the more precise the estimate; "
              "only values whose intervals clearly do not overlap differ clearly."},
    "chart_suppressed": {"zh": "已抑制", "en": "suppressed"},
    "target_line": {"zh": "目标值", "en": "Target"},
    "data_hash": {"zh": "数据指纹", "en": "Data fingerprint"},
    "package": {"zh": "数据包", "en": "Data package"},
    # -- the fairness part (notebooks/fairness.py): chart titles and one sentence each for readers
    "sector_government": {"zh": "政府救助", "en": "Government aid"},
    "sector_charity": {"zh": "慈善帮扶", "en": "Charity aid"},
    "sector_any": {"zh": "综合（政府或慈善）", "en": "Any aid (government or charity)"},
    "quintile_axis": {"zh": "救助前人均收入五等分组", "en": "Pre-transfer income quintile"},
    "coverage_axis": {"zh": "覆盖率（本组家庭中受助的比例）", "en": "Coverage (share of the group's households aided)"},
    "incidence_axis": {"zh": "救助资金流向该组的比例", "en": "Share of the sector's aid yuan reaching the group"},
    "fair_quintile_title": {"zh": "各收入组的救助覆盖率（按部门）", "en": "Who is reached: coverage by income quintile and sector"},
    "fair_quintile_lead": {
        "zh": "家庭按救助前人均收入从低到高分为五组，第1组最困难；左侧柱子越高，说明救助越先覆盖最困难的家庭。",
        "en": "Households are split into fifths by income before aid, Q1 the poorest; taller bars on the left mean aid "
              "reaches the poorest households first."},
    "fair_incidence_title": {"zh": "救助资金流向各收入组的比例（受益归宿）", "en": "Where the money goes: benefit incidence by income quintile"},
    "fair_incidence_lead": {
        "zh": "每个部门的救助资金在五个收入组之间如何分配（合计100%）；第1组超过20%（虚线），说明资金向最困难的五分之一人口倾斜。",
        "en": "How each sector's aid yuan are split across the five income groups (adding to 100%); more than 20% "
              "(dashed line) in Q1 means the money leans towards the poorest fifth."},
    "fair_curve_title": {"zh": "救助资金集中曲线", "en": "Concentration curves of aid yuan"},
    "fair_curve_lead": {
        "zh": "横轴为按救助前人均收入从低到高累计的人口比例，纵轴为这部分人口获得的救助资金累计比例；曲线高于45°线越多，资金越集中于低收入人口。",
        "en": "Along the bottom, the population from poorest to richest by income before aid; up the side, the share of "
              "aid yuan they receive. The further a curve lies above the 45° line, the more the money goes to the poor."},
    "fair_curve_x": {"zh": "累计人口比例（按救助前人均收入由低到高）", "en": "Cumulative share of persons, poorest first"},
    "fair_curve_y": {"zh": "累计救助资金比例", "en": "Cumulative share of aid yuan"},
    "equality_line": {"zh": "45°线（人人等额）", "en": "45° line (equal amounts for all)"},
    "fair_curve_suppressed": {
        "zh": "未绘出的曲线（受助家庭少于{min_cell}户，或本地区该项集中指数不予公布）：{names}。",
        "en": "Curves not drawn (fewer than {min_cell} households received such aid, or the region's concentration "
              "index of it is not published): {names}."},
    "fair_gap_title": {"zh": "各群体与参照群体的差距：{grouping}", "en": "Gaps to the reference group: {grouping}"},
    "fair_gap_lead": {
        "zh": "每个点为该群体减参照群体（{reference}）的差值；区间横线不跨过0（竖线），差距才在统计上明确。",
        "en": "Each dot is the group's value minus the reference group's ({reference}). Only an interval line that "
              "does not cross 0 (the vertical line) shows a clear gap."},
    "fair_gap_small": {
        "zh": "样本过少、不予公布（图中只列名称）：{groups}。",
        "en": "Too few to publish (named in the chart, no value): {groups}."},
    "fair_gap_axis": {"zh": "与参照群体之差（百分点）", "en": "Difference to the reference group (percentage points)"},
    "fair_table_title": {"zh": "救助资金的集中程度与不平等", "en": "Concentration and inequality of aid"},
    "fair_table_lead": {
        "zh": "集中指数为负表示资金偏向低收入人口（益贫），越接近-1越集中；“慈善减政府”为负说明慈善帮扶比政府救助更益贫。"
              "瞄准指标（CGH）大于1表示最困难的20%人口得到的资金多于平均分配时的份额。",
        "en": "A negative concentration index means the money leans towards the poor (pro-poor), the closer to -1 the "
              "more so; a negative charity-minus-government gap means charity aid is more pro-poor than government aid. "
              "A targeting ratio (CGH) above 1 means the poorest 20% receive more than an equal split would give them."},
    "fair_headline_more": {
        "zh": "慈善帮扶比政府救助更益贫：两者集中指数之差为{gap}（95%置信区间 {ci}）。",
        "en": "Charity aid is more pro-poor than government aid: the gap between their concentration indices is {gap} "
              "(95% CI {ci})."},
    "fair_headline_less": {
        "zh": "慈善帮扶不如政府救助益贫：两者集中指数之差为{gap}（95%置信区间 {ci}）。",
        "en": "Charity aid is less pro-poor than government aid: the gap between their concentration indices is {gap} "
              "(95% CI {ci})."},
    "fair_headline_same": {
        "zh": "慈善帮扶与政府救助的益贫程度无明确差别：两者集中指数之差为{gap}，95%置信区间（{ci}）包含0。",
        "en": "Charity and government aid are not clearly different in how pro-poor they are: the gap is {gap} and its "
              "95% CI ({ci}) includes 0."},
    "fair_headline_none": {
        "zh": "本期无法比较慈善帮扶与政府救助的益贫程度（数据不足或不予公布）。",
        "en": "Whether charity aid is as pro-poor as government aid cannot be said this period (too few data to publish)."},
    "fair_measure": {"zh": "指标", "en": "Measure"},
    "fair_reading": {"zh": "解读", "en": "Reading"},
    "pro_poor": {"zh": "益贫（偏向低收入）", "en": "pro-poor"},
    "pro_rich": {"zh": "偏向高收入", "en": "pro-rich"},
    "neither": {"zh": "无明确偏向", "en": "no clear lean"},
    "fair_sources": {
        "zh": "方法依据：O'Donnell、van Doorslaer、Wagstaff、Lindelow（2008）Analyzing Health Equity Using Household Survey "
              "Data（集中曲线与集中指数）；Coady、Grosh、Hoddinott（2004）Targeting of Transfers in Developing Countries"
              "（CGH瞄准指标）；World Bank（2022）Revisiting Targeting in Social Assistance（排斥与纳入误差）；"
              "Lustig（2018）Commitment to Equity Handbook（受益归宿）。",
        "en": "Methods: O'Donnell, van Doorslaer, Wagstaff and Lindelow (2008), Analyzing Health Equity Using Household "
              "Survey Data (concentration curves and indices); Coady, Grosh and Hoddinott (2004), Targeting of Transfers "
              "in Developing Countries (CGH targeting ratio); World Bank (2022), Revisiting Targeting in Social "
              "Assistance (exclusion and inclusion errors); Lustig (2018), Commitment to Equity Handbook (benefit incidence)."},
    "fair_gaps_intervals": {
        "zh": "差距的区间按两群体估计相互独立计算（报告数据未保存群体间协方差），在整群抽样下可能偏宽或偏窄。",
        "en": "Gap intervals treat the two groups' estimates as independent (the report data keep no covariance "
              "between groups); under cluster sampling they may be somewhat too wide or too narrow."},
    "higher": {"zh": "越高越好", "en": "higher is better"},
    "lower": {"zh": "越低越好", "en": "lower is better"},
    "neutral": {"zh": "描述性（无优劣方向）", "en": "descriptive (neither is better)"},
}

STATUS_LABELS = {
    "green": {"zh": "达标", "en": "On target"},
    "amber": {"zh": "接近目标", "en": "Near target"},
    "red": {"zh": "未达标", "en": "Off target"},
    "no_target": {"zh": "无目标", "en": "No target"},
    "suppressed": {"zh": "样本过少", "en": "Too few to publish"},
    "no_data": {"zh": "无数据", "en": "No data"},
    "descriptive": {"zh": "描述性指标", "en": "Descriptive"},
    "incomplete": {"zh": "本期未完整", "en": "Incomplete period"},
}
TREND_LABELS = {
    "improving": {"zh": "↑ 改善", "en": "↑ improving"},
    "worsening": {"zh": "↓ 变差", "en": "↓ worsening"},
    "stable": {"zh": "→ 持平", "en": "→ stable"},
    "up": {"zh": "↑ 上升", "en": "↑ up"},  # descriptive indicators: a direction, not a judgement
    "down": {"zh": "↓ 下降", "en": "↓ down"},
    "": {"zh": MISSING, "en": MISSING},
}
RESPONSIBLE_LABELS = {
    "government": {"zh": "政府", "en": "Government"},
    "charity": {"zh": "慈善组织", "en": "Charity"},
    "joint": {"zh": "政府与慈善联合", "en": "Joint"},
}
GROUP_LABELS = {
    ("hukou", ""): {"zh": "户籍", "en": "Hukou"},
    ("hukou", "local"): {"zh": "本地户籍", "en": "Local hukou"},
    ("hukou", "migrant"): {"zh": "外地户籍", "en": "Non-local hukou"},
    ("urban", ""): {"zh": "城乡", "en": "Urban/rural"},
    ("urban", "true"): {"zh": "城镇", "en": "Urban"},
    ("urban", "false"): {"zh": "农村", "en": "Rural"},
    ("income_quintile", ""): {"zh": "转移前人均收入五等分组", "en": "Pre-transfer income quintile"},
    **{("income_quintile", f"q{k}"): {"zh": f"第{k}组" + {1: "（最低）", 5: "（最高）"}.get(k, ""),
                                      "en": f"Q{k}" + {1: " (poorest)", 5: " (richest)"}.get(k, "")}
       for k in range(1, 6)},
    ("head_age_band", ""): {"zh": "户主年龄段", "en": "Age of the household head"},
    ("household_type", ""): {"zh": "家庭类型", "en": "Household type"},
    ("household_type", "none"): {"zh": "无老人、儿童或残疾人", "en": "No elderly, child or disabled member"},
    ("disabled", ""): {"zh": "有残疾人", "en": "Disabled member"},
    ("elderly", ""): {"zh": "有老年人", "en": "Elderly member"},
    ("child", ""): {"zh": "有儿童", "en": "Child"},
}
INTERSECTION = {"zh": "×", "en": " × "}  # between the two labels of an intersection (hukou*urban)
LEVEL_LABELS = {
    "province": {"zh": "省", "en": "province"},
    "city": {"zh": "市", "en": "city"},
    "county": {"zh": "县（区）", "en": "county"},
    "town": {"zh": "乡镇（街道）", "en": "town"},
}
UNIT_LABELS = {
    "rate": {"zh": "比率", "en": "rate"},
    "count": {"zh": "户", "en": "households"},
    "days": {"zh": "天", "en": "days"},
    "yuan": {"zh": "元", "en": "yuan"},
    "index": {"zh": "指数", "en": "index"},
    "km": {"zh": "公里", "en": "km"},
}

#: What a value axis is measured in (its label), per unit.
AXIS_UNITS = {
    "rate": {"zh": "比率（%）", "en": "Rate (%)"},
    "count": {"zh": "户数", "en": "Households"},
    "days": {"zh": "天", "en": "Days"},
    "yuan": {"zh": "元", "en": "Yuan"},
    "index": {"zh": "指数值", "en": "Index value"},
    "km": {"zh": "公里", "en": "km"},
}


def unit_axis_label(unit: str, lang: str) -> str:
    """The label of a value axis in ``unit`` ("" for an unknown unit)."""
    return AXIS_UNITS.get(unit, {}).get(check_lang(lang), "")


def check_lang(lang) -> str:
    if lang not in LANGS:
        raise ParameterError(f"lang must be zh or en, got {lang!r}")
    return lang


def t(key: str, lang: str, **fields) -> str:
    """The label ``key`` in ``lang``, with ``{fields}`` filled in."""
    text = LABELS[key][check_lang(lang)]
    return text.format(**fields) if fields else text


def status_label(status: str, lang: str) -> str:
    return STATUS_LABELS[status][check_lang(lang)]


def trend_label(trend: str, lang: str) -> str:
    return TREND_LABELS[trend][check_lang(lang)]


def responsible_label(side: str, lang: str) -> str:
    return RESPONSIBLE_LABELS[side][check_lang(lang)]


def service_label(service: str, lang: str) -> str:
    """A service type's display name; ``""`` (indicators not split by type) is 'all types'."""
    if not service:
        return t("all_types", lang)
    if lang == "zh":
        return SERVICE_TYPES.get(service, service)
    return service.replace("_", " ").capitalize()


def group_label(group_by: str, group: str = "", lang: str = "zh") -> str:
    """Display name of a grouping column (``group=""``) or of one of its groups.

    An intersection joins its two labels:

    >>> group_label("hukou*urban", "migrant*false", "en"), group_label("hukou*urban", "", "zh")
    ('Non-local hukou × Rural', '户籍×城乡')
    """
    parts, values = group_by.split("*"), str(group).split("*")
    if len(parts) == 2 and (group == "" or len(values) == 2):  # an intersection (hukou*urban): both labels
        values = values if group != "" else ["", ""]
        return INTERSECTION[check_lang(lang)].join(_part_label(p, v, lang) for p, v in zip(parts, values))
    label = GROUP_LABELS.get((group_by, str(group).lower()))
    if label:
        return label[check_lang(lang)]
    return str(group) if group != "" else group_by


def _part_label(group_by: str, group: str, lang: str) -> str:
    """One side of an intersection's label: a value without a label of its own is named with its
    grouping (``Elderly member=true``), as a bare ``true`` would not say which column it is."""
    label = group_label(group_by, group, lang)
    if group in ("", "(missing)") or (group_by, group.lower()) in GROUP_LABELS:
        return label
    return f"{group_label(group_by, '', lang)}={group}"


def level_label(level, lang: str) -> str:
    if level is None or (isinstance(level, float) and math.isnan(level)):
        return MISSING
    return LEVEL_LABELS.get(level, {}).get(check_lang(lang), str(level))


def _missing(x) -> bool:
    # pd.NA: a count blanked in a suppressed row (nullable integer column); pandas is
    # imported here, not at the top, so the command line's --help need not load it
    import pandas as pd

    return x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x))


def format_value(value, unit: str, lang: str = "zh") -> str:
    """A value as the report shows it: rates as percentages with one decimal."""
    check_lang(lang)
    if _missing(value):
        return MISSING
    value = float(value)
    if unit == "rate":
        return f"{value * 100:.1f}%"
    if unit == "km":
        return f"{value:.2f}公里" if lang == "zh" else f"{value:.2f} km"
    if unit == "days":
        return f"{value:.1f}天" if lang == "zh" else f"{value:.1f} days"
    if unit == "yuan":
        return f"{value:,.0f}元" if lang == "zh" else f"¥{value:,.0f}"
    if unit == "count":
        return f"{value:,.0f}"
    return f"{value:.3g}"


def format_gap(delta, unit: str, lang: str = "zh") -> str:
    """A signed difference: percentage points for rates, the unit otherwise."""
    check_lang(lang)
    if _missing(delta):
        return MISSING
    delta = float(delta)
    if unit == "rate":
        points = f"{delta * 100:+.1f}"
        return f"{points}个百分点" if lang == "zh" else f"{points} pp"
    if unit in ("count", "yuan"):
        text = f"{delta:+,.0f}"
    elif unit == "index":
        text = f"{delta:+.3g}"
    else:
        text = f"{delta:+.2f}" if unit == "km" else f"{delta:+.1f}"
    suffix = UNIT_LABELS.get(unit, {}).get(lang, "")
    if unit in ("count", "index"):
        return text
    return f"{text}{suffix}" if lang == "zh" else f"{text} {suffix}"


def format_interval(low, high, unit: str, lang: str = "zh") -> str:
    if _missing(low) or _missing(high):
        return MISSING
    return f"{format_value(low, unit, lang)} – {format_value(high, unit, lang)}"


def format_count(n) -> str:
    return MISSING if _missing(n) else f"{float(n):,.0f}"


def format_counted(n, counts: str, lang: str = "zh") -> str:
    """A count with what it counts (the indicator's unit of analysis, catalogue ``counts``).

    >>> format_counted(1234, "referrals", "zh"), format_counted(1, "cases", "en"), format_counted(None, "needs", "en")
    ('1,234 转介', '1 case', '—')
    """
    from evalkit.indicators.catalogue import counts_label

    check_lang(lang)
    if _missing(n):
        return MISSING
    return f"{format_count(n)} {counts_label(counts, lang, n=float(n))}"


# -- sub-regions side by side (league table, ranked dot chart), composite rule, notebook exports
LABELS.update({
    "league_title": {"zh": "下辖地区排名（主要指标）", "en": "League table of sub-regions (headline indicators)"},
    "league_all": {"zh": "下辖地区全部指标", "en": "Every indicator by sub-region"},
    "league_rank": {"zh": "排名", "en": "Rank"},
    "league_suppressed": {"zh": "已抑制", "en": "suppressed"},
    "league_no_data": {"zh": "无数据", "en": "no data"},
    "league_dots_note": {
        "zh": "各下辖地区按排名自上而下排列（最好的在最上）：圆点为本期值，"
              "竖虚线为{name}整体的值；比率类指标的横轴从0开始；样本过少的地区排在最后，标为“已抑制”。",
        "en": "Sub-regions ranked, best at the top: the dot is the value; the dashed line is the value of {name} as a "
              "whole; rate axes start at 0; sub-regions with too few units to publish come last, marked \"suppressed\"."},
    "league_rule": {
        "zh": "排名：1为最好（越高越好的指标取值最高者，越低越好的取值最低者；并列取较好名次），仅在有公布值的下辖地区之间排列；"
              "描述性指标不排名。样本少于{min_cell}个单位的单元格不公布，标为“已抑制”，不参与排名；区间重叠的地区之间差异可能并不显著。",
        "en": "Rank 1 is best (highest where higher is better, lowest where lower is better; ties share the better "
              "rank), among sub-regions with a published value; descriptive indicators are not ranked. Cells counting "
              "fewer than {min_cell} units are not published: marked \"suppressed\" and not ranked. Sub-regions whose "
              "intervals overlap may not differ significantly."},
    "map_title": {"zh": "下辖地区地图：{name}", "en": "Map of sub-regions: {name}"},
    "map_note": {
        "zh": "颜色越深取值越高；斜线为无公布值的地区（已抑制或无数据）。边界来自数据包的 regions.geojson。"
              "依据《地图管理条例》（2015年），公开发布的地图须经审核并标注审图号；本图仅供内部评估使用。",
        "en": "Darker is higher; hatched regions have no published value (suppressed or no data). Boundaries come from "
              "the data package's regions.geojson. Under China's Regulations on Map Management (地图管理条例, 2015), a "
              "map for public release must pass map review and carry its review number (审图号); this map is for "
              "internal evaluation only."},
    "league_not_shown": {"zh": "图中未显示：{items}。", "en": "Not in the chart: {items}."},
    "composite_rule": {
        "zh": "综合指数的每个分项仅在至少{k}个下辖地区有公布值时计分（两个地区的最小—最大标准化只能得到100和0，没有意义）；"
              "不足{k}个时不计算综合指数。",
        "en": "Each component of a composite index is scored only when at least {k} sub-regions have a published "
              "value (min-max scores of two regions are only ever 100 and 0); with fewer, no composite index is computed."},
    "composite_too_few": {
        "zh": "下辖地区中有公布值的不足{k}个，不计算综合指数（两个地区之间的0–100相对得分只能是100和0，没有意义）。",
        "en": "Fewer than {k} sub-regions have published values, so no composite index is computed (0-100 relative "
              "scores of two regions are only ever 100 and 0)."},
})
