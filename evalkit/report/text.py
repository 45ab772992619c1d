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
    "change": {"zh": "较上期变化", "en": "Change"},
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
    "targets_default": {"zh": "目标值：指标目录默认值", "en": "Targets: catalogue defaults"},
    "targets_file": {"zh": "目标值：{name}", "en": "Targets: {name}"},
    "status_counts": {
        "zh": "达标 {green} 项，接近目标 {amber} 项，未达标 {red} 项，无目标、本期未完整或无数据 {none} 项。",
        "en": "{green} on target, {amber} near target, {red} off target, {none} without target, incomplete or without data.",
    },
    "rag_rule": {
        "zh": "判定规则：达到目标为“达标”；未达到但差距在目标值的{tol}以内、或95%置信区间包含目标值为“接近目标”；其余为“未达标”。差距为正表示优于目标。",
        "en": "Rule: meeting the target is on target; missing it by at most {tol} of the target, or with the 95% CI "
              "reaching it, is near target; otherwise off target. A positive gap is better than the target.",
    },
    "parts": {"zh": "报告内容", "en": "Parts"},
    "over_periods": {"zh": "各期变化", "en": "Over periods"},
    "reform_line": {"zh": "点线为救助与慈善衔接改革起始期（{period}）；阴影为95%置信区间。",
                    "en": "Dotted line: the linkage reform started in {period}; shading: 95% confidence interval."},
    "composite": {"zh": "下级地区综合指数（0–100，同期各地区间比较，100为最好）",
                  "en": "Composite indices of sub-regions (0-100 relative to the other sub-regions this period; 100 best)"},
    "composite_note": {"zh": "综合指数为相对得分：仅用于同期同级地区间比较，权重见 composite.yaml。",
                       "en": "Composite scores are relative: they compare sub-regions within this period only; "
                             "weights are in composite.yaml."},
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
    "data_hash": {"zh": "数据指纹", "en": "Data fingerprint"},
    "package": {"zh": "数据包", "en": "Data package"},
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


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values) -> str:
    """Values over periods as block characters, low to high (a blank where missing).

    >>> sparkline([0.2, 0.3, float("nan"), 0.5])
    '▁▃ █'
    """
    finite = [float(v) for v in values if not _missing(v)]
    if not finite:
        return ""
    low, high = min(finite), max(finite)
    out = []
    for v in values:
        if _missing(v):
            out.append(" ")
        elif high == low:
            out.append(SPARKS[3])
        else:
            out.append(SPARKS[round((float(v) - low) / (high - low) * (len(SPARKS) - 1))])
    return "".join(out)


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
