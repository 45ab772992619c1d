r"""Display tables for reports: frames of formatted strings in the chosen language, and
deterministic HTML for them (no random ids, every cell escaped).

>>> frame = pd.DataFrame({"指标": ["可得率"], "状态": ["未达标"]})
>>> print(html_table(frame, badges={"状态": ["red"]}).replace("<tbody>", "\n<tbody>"))
<table class="report-table"><thead><tr><th>指标</th><th>状态</th></tr></thead>
<tbody><tr><td class="wrap">可得率</td><td><span class="badge badge-red">未达标</span></td></tr></tbody></table>
"""
from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from evalkit.indicators.catalogue import Catalogue, load_catalogue

from .. import __version__
from .text import (
    format_count,
    format_counted,
    format_gap,
    format_interval,
    format_value,
    group_label,
    level_label,
    responsible_label,
    service_label,
    status_label,
    t,
    trend_label,
)

#: Tables with this many columns or more print on landscape pages (CSS ``table.wide``).
WIDE_COLUMNS = 10


def html_table(frame: pd.DataFrame, badges: dict[str, list[str]] | None = None,
               numeric: tuple[str, ...] = (), caption: str = "", wrap: tuple[str, ...] | None = None,
               links: dict[str, list[str | None]] | None = None) -> str:
    """``frame`` (strings) as an HTML table.

    ``badges`` maps a column to one status key per row: those cells become coloured
    badges (``badge-green`` ...). ``numeric`` columns are right-aligned. Cells do not
    wrap, except in the ``wrap`` columns (default: the first column, usually a name). A
    table of :data:`WIDE_COLUMNS` columns or more prints on a landscape page (``wide``).
    ``links`` maps a column to one relative URL (or None) per row.
    """
    links = links or {}
    wrap = (frame.columns[0],) if wrap is None and len(frame.columns) else (wrap or ())
    badges = badges or {}
    # a table too wide for a portrait A4 page prints on a landscape page of its own
    out = ['<table class="report-table wide">' if len(frame.columns) >= WIDE_COLUMNS else '<table class="report-table">']
    if caption:
        out.append(f"<caption>{html.escape(caption)}</caption>")
    out.append("<thead><tr>" + "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns) + "</tr></thead>")
    out.append("<tbody>")
    for k, row in enumerate(frame.itertuples(index=False)):
        cells = []
        for col, value in zip(frame.columns, row):
            text = html.escape("" if value is None else str(value))
            if links.get(col) and links[col][k]:
                text = f'<a href="{html.escape(links[col][k], quote=True)}">{text}</a>'
            if col in badges:
                text = f'<span class="badge badge-{html.escape(badges[col][k])}">{text}</span>'
            classes = [c for c, on in (("num", col in numeric), ("wrap", col in wrap)) if on]
            cls = f' class="{" ".join(classes)}"' if classes else ""
            cells.append(f"<td{cls}>{text}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def cell_text(value, unit: str, n, lang: str, censored=0) -> str:
    """A published value as tables show it: "incomplete period" (本期未完整) where every unit
    was censored at the extraction date (``n`` 0, ``censored`` > 0), "no data" (无数据)
    where the cell has no household or unit at all (``n`` 0, e.g. a region without data),
    "—" where it is blank for another reason (a small cell, an undefined value), else the
    formatted value.

    >>> cell_text(float("nan"), "rate", 0, "zh"), cell_text(float("nan"), "rate", 4, "zh"), cell_text(0.5, "rate", 9, "en")
    ('无数据', '—', '50.0%')
    >>> cell_text(float("nan"), "rate", 0, "en", censored=12)
    'Incomplete period'
    """
    if (value is None or pd.isna(value)) and n is not None and not pd.isna(n) and n == 0:
        return status_label("incomplete" if censored and not pd.isna(censored) and censored > 0 else "no_data", lang)
    return format_value(value, unit, lang)


def indicator_names(lang: str, catalogue: Catalogue | None = None) -> dict[str, str]:
    catalogue = catalogue or load_catalogue()
    return {i.id: i.name(lang) for i in catalogue}


def scorecard_frame(card: pd.DataFrame, lang: str, catalogue: Catalogue | None = None) -> pd.DataFrame:
    """The scorecard with the catalogue's names and formatted numbers in ``lang``; the count
    column names what each indicator counts ("120 referrals", not 120 households).

    Two changes, each labelled with its base: on the latest earlier complete period (with
    the trend word) and on the same period last year (after :func:`evalkit.report.scorecard.flag_changes`,
    marked * when significant); the trend column gives the series' first and last values with
    their unit ("2023Q1 23.1% → 24.7%"), not a shape without a scale."""
    catalogue = catalogue or load_catalogue()
    names = indicator_names(lang, catalogue)
    return pd.DataFrame({
        t("indicator", lang): [names[i] for i in card["indicator"]],
        t("service_type", lang): [service_label(s, lang) for s in card["service_type"]],
        t("value", lang): [format_value(v, u, lang) for v, u in zip(card["value"], card["unit"])],
        t("ci", lang): [format_interval(lo, hi, u, lang) for lo, hi, u in zip(card["ci_low"], card["ci_high"], card["unit"])],
        t("target", lang): [format_value(v, u, lang) for v, u in zip(card["target"], card["unit"])],
        t("gap", lang): [format_gap(v, u, lang) for v, u in zip(card["gap"], card["unit"])],
        t("status", lang): [status_label(s, lang) for s in card["status"]],
        t("change", lang): [_change_text(v, s, u, lang) for v, s, u in zip(card["change"], card["trend"], card["unit"])],
        t("change_year", lang): year_change_cells(card, lang),
        t("trend", lang): [span_text(h, p, u, lang) for h, p, u in
                           zip(card["history"], card.get("history_periods", [()] * len(card)), card["unit"])],
        t("n", lang): counted(card, lang, catalogue),
    })


def with_target_sources(frame: pd.DataFrame, card: pd.DataFrame, sources: dict, lang: str) -> pd.DataFrame:
    """``frame`` (:func:`scorecard_frame` of ``card``) with a compact target-source column after
    the target: 默认/default (evalkit's default: set your own), 用户/user (the targets file),
    文献/published; blank where the row has no target. ``sources`` is
    :func:`evalkit.report.scorecard.target_sources`."""
    marks = []
    for ind, target in zip(card["indicator"], card["target"]):
        src = sources.get(ind)
        has_target = target is not None and not pd.isna(target)
        marks.append(t(f"target_src_short_{src['kind']}", lang) if src and has_target else "")
    out = frame.copy()
    out.insert(list(out.columns).index(t("target", lang)) + 1, t("target_source", lang), marks)
    return out


def target_source_text(source: dict | None, lang: str) -> str:
    """Where a target comes from, in full: the citation, "set by the user (file)" or
    "evalkit default, set your own"; "" without a target."""
    if not source:
        return ""
    if source["kind"] == "user":
        return t("target_src_user", lang, name=source["text"])
    if source["kind"] == "default":
        return t("target_src_default", lang)
    return source["text"]


def _change_text(change, trend: str, unit: str, lang: str) -> str:
    """The change on the previous complete period with its trend word: "+1.6个百分点 ↑ 改善"."""
    text = format_gap(change, unit, lang)
    return f"{text} {trend_label(trend, lang)}" if trend and not pd.isna(change) else text


def year_change_cells(card: pd.DataFrame, lang: str) -> list[str]:
    """The change on the same period last year (:func:`evalkit.report.scorecard.flag_changes`),
    marked * when significant after Benjamini-Hochberg: "-1.2个百分点*"; "—" where it is
    not tested or the row's change falls back to the previous period."""
    if "change_base" not in card:
        return [format_gap(float("nan"), u, lang) for u in card["unit"]]
    out = []
    for r in card.itertuples():
        if r.change_base != "year" or pd.isna(r.change_value):
            out.append(format_gap(float("nan"), r.unit, lang))
            continue
        text = format_gap(r.change_value, r.unit, lang)
        out.append(t("change_cell_sig", lang, amount=text) if r.significant else text)
    return out


def span_text(history, periods, unit: str, lang: str) -> str:
    """The series from its first to its last value, with the unit: "23.1% → 24.7%" when
    it runs from the first period of ``periods`` to the last; otherwise the period where it
    starts or ends is named (blank and incomplete periods are skipped): "2023Q3 23.1% → 24.7%".
    "—" with fewer than two values.

    >>> span_text((0.231, 0.24, 0.247), ("2023Q1", "2023Q2", "2023Q3"), "rate", "zh")
    '23.1% → 24.7%'
    >>> span_text((float("nan"), 3.5, 4.25, float("nan")), ("2022", "2023", "2024", "2025"), "km", "en")
    '2023 3.50 km → 2024 4.25 km'
    """
    points = [(p, v) for p, v in zip(periods, history) if v is not None and not pd.isna(v)]
    if len(points) < 2:
        return format_value(float("nan"), unit, lang)
    (p0, v0), (p1, v1) = points[0], points[-1]
    first = format_value(v0, unit, lang) if p0 == periods[0] else f"{p0} {format_value(v0, unit, lang)}"
    last = format_value(v1, unit, lang) if p1 == periods[-1] else f"{p1} {format_value(v1, unit, lang)}"
    return f"{first} → {last}"


def counted(rows: pd.DataFrame, lang: str, catalogue: Catalogue | None = None) -> list[str]:
    """Each row's ``n`` with its indicator's unit of analysis: "1,234 户", "56 referrals"."""
    catalogue = catalogue or load_catalogue()
    return [format_counted(n, catalogue[i].counts, lang) for i, n in zip(rows["indicator"], rows["n"])]


SCORECARD_NUMERIC = ("value", "target", "gap", "change", "change_year", "n")


def numeric_columns(keys, lang: str) -> tuple[str, ...]:
    return tuple(t(k, lang) for k in keys)


def plan_frame(plan: pd.DataFrame, lang: str, catalogue: Catalogue | None = None) -> pd.DataFrame:
    """The improvement plan (:func:`evalkit.report.scorecard.improvement_plan`): rank, the
    problem (indicator, where, the worst service types), the value now with its interval,
    target, gap, the count it concerns, the judgement (short / uncertain, significantly
    worsening), responsible side, action, review date."""
    catalogue = catalogue or load_catalogue()
    names = indicator_names(lang, catalogue)
    sep = "、" if lang == "zh" else ", "
    problems, now, judged = [], [], []
    for r in plan.itertuples():
        text = names[r.indicator]
        if r.short_types:
            worst = t("plan_worst_types", lang, types=sep.join(service_label(s, lang) for s in r.short_types))
            text += f"（{worst}）" if lang == "zh" else f" ({worst})"
        else:
            text += _where(r.service_type, lang)
        problems.append(text + t("plan_period_note", lang, period=r.period))
        now.append(f"{format_value(r.value, r.unit, lang)}（{format_interval(r.ci_low, r.ci_high, r.unit, lang)}）"
                   if lang == "zh" else
                   f"{format_value(r.value, r.unit, lang)} ({format_interval(r.ci_low, r.ci_high, r.unit, lang)})")
        words = [t("plan_uncertain" if r.uncertain else "plan_short", lang)]
        if r.worsening:
            words.append(t("plan_worsening", lang))
        judged.append(("，" if lang == "zh" else "; ").join(words))
    return pd.DataFrame({
        t("plan_rank", lang): [str(k) for k in plan["rank"]],
        t("plan_problem", lang): problems,
        t("plan_now", lang): now,
        t("target", lang): [format_value(v, u, lang) for v, u in zip(plan["target"], plan["unit"])],
        t("gap", lang): [format_gap(v, u, lang) for v, u in zip(plan["gap"], plan["unit"])],
        t("plan_affects", lang): counted(plan, lang, catalogue),
        t("plan_judgement", lang): judged,
        t("responsible", lang): [responsible_label(s, lang) for s in plan["responsible"]],
        t("action", lang): list(plan["action"]),
        t("plan_review", lang): list(plan["review_date"]),
    })


def plan_badges(plan: pd.DataFrame) -> list[str]:
    """Badge colours of the plan's judgement column: red when short, amber when uncertain."""
    return ["amber" if u else "red" for u in plan["uncertain"]]


def _where(service_type: str, lang: str) -> str:
    if not service_type:
        return ""
    name = service_label(service_type, lang)
    return f"（{name}）" if lang == "zh" else f" ({name})"


def _abs_amount(delta, unit: str, lang: str) -> str:
    text = format_gap(abs(float(delta)), unit, lang)
    return text[1:] if text.startswith("+") else text


def _base_words(base: str, period: str, lang: str) -> str:
    """What a change is on: the same period last year (the year before, for annual data), the previous period."""
    if base == "year":
        return t("base_year_annual" if len(str(period)) == 4 else "base_year", lang)
    return t("base_previous" if base in ("previous", "") else "base_period", lang)


def finding_sentence(r, lang: str, catalogue: Catalogue | None = None) -> str:
    """One finding as a sentence: the value with its 95% interval, against the target and
    against the same period last year (with the change's significance after
    Benjamini-Hochberg); when last year is not comparable, against the previous period,
    saying so.

    ``r`` is a row of :func:`evalkit.report.scorecard.key_findings`.
    """
    catalogue = catalogue or load_catalogue()
    name = catalogue[r["indicator"]].name(lang) + _where(r["service_type"], lang)
    unit, value, target = r["unit"], float(r["value"]), float(r["target"])
    above = value > target or (value == target and r["direction"] == "higher")
    met = r["status"] == "green"
    key = f"finding_{'met' if met else 'short'}_{'above' if above else 'below'}"
    against = t(key, lang, target=format_value(target, unit, lang), gap=_abs_amount(r["gap"], unit, lang))
    uncertain = (not met and pd.notna(r["ci_low"]) and pd.notna(r["ci_high"])
                 and r["ci_low"] <= target <= r["ci_high"])
    if uncertain:
        against += t("finding_uncertain", lang)
    change = r.get("change_value", float("nan"))
    base_period = r.get("change_base_period", "")
    base = _base_words(r.get("change_base", ""), base_period, lang)
    if change is None or pd.isna(change):
        said = t("finding_no_change", lang)
    elif change == 0:
        said = t("finding_flat", lang, base=base, period=base_period)
    else:
        if r.get("significant"):
            better = change > 0 if r["direction"] == "higher" else change < 0
            sig = t("sig_improving" if better else "sig_worsening", lang)
        else:
            sig = t("sig_none", lang)
        said = t("finding_change", lang, base=base, period=base_period,
                 verb=t("verb_up" if change > 0 else "verb_down", lang), amount=_abs_amount(change, unit, lang), sig=sig)
    if r.get("change_fallback") and not (change is None or pd.isna(change)):
        said = t("finding_fallback", lang) + said
    return t("finding", lang, name=name, value=format_value(value, unit, lang),
             low=format_value(r["ci_low"], unit, lang), high=format_value(r["ci_high"], unit, lang),
             target=against, change=said)


def overview_sentences(card: pd.DataFrame, lang: str, catalogue: Catalogue | None = None,
                       q: float = 0.05) -> list[str]:
    """The overall scorecard in a few lines (indicator level, :func:`evalkit.report.scorecard.overview`):
    how many indicators meet their target, fall short, have none; which fall short by most;
    which improved or worsened significantly against last year (Benjamini-Hochberg)."""
    from .scorecard import indicator_view, overview

    catalogue = catalogue or load_catalogue()
    names = indicator_names(lang, catalogue)
    sep = "、" if lang == "zh" else "; "
    ov = overview(card)
    lines = [t("overall_counts", lang, **{k: ov[k] for k in ("judged", "green", "amber", "red", "no_target",
                                                            "unjudged")})]
    if ov["worst"]:
        view = indicator_view(card).set_index("indicator")
        items = []
        for ind in ov["worst"]:
            r = view.loc[ind]
            items.append(f"{names[ind]}{_where(r['service_type'], lang)} {format_gap(r['gap'], r['unit'], lang)}")
        lines.append(t("overall_worst", lang, items=sep.join(items)))
    if ov["tested"]:
        none = t("overall_none", lang)
        key = "overall_changes_year" if ov["year_based"] else "overall_changes"
        text = t(key, lang, improved=sep.join(names[i] for i in ov["improved"]) or none,
                 worsened=sep.join(names[i] for i in ov["worsened"]) or none)
        if ov["fallback"]:
            text += ("" if lang == "zh" else " ") + t("overall_fallback", lang, n=ov["fallback"])
        lines.append(text)
        cov = "" if ov["independent"] else t("overall_with_cov", lang)
        tests = t("overall_tests", lang, tested=ov["tested"], q=f"{q:g}", cov=cov)
        if ov["independent"]:
            tests += ("" if lang == "zh" else " ") + t("overall_independent", lang, n=ov["independent"])
        lines.append(tests)
    else:
        lines.append(t("overall_untested", lang))
    context = card[(card["direction"] == "neutral") & (card["service_type"] == "") & (card["status"] == "descriptive")]
    if len(context):
        items = [f"{names[r.indicator]} {format_value(r.value, r.unit, lang)}" for r in context.head(3).itertuples()]
        lines.append(t("overall_context", lang, items=sep.join(items)))
    return lines


def summary_html(findings: list[str], overall: list[str], lang: str, rule: str = "") -> str:
    """The 摘要 block: numbered findings, then the overall lines, then how findings were chosen."""
    out = [f'<section class="summary"><h2>{html.escape(t("summary", lang))}</h2>']
    if findings:
        out.append(f"<h3>{html.escape(t('summary_findings', lang))}</h3><ol>")
        out.extend(f"<li>{html.escape(s)}</li>" for s in findings)
        out.append("</ol>")
    out.append(f"<h3>{html.escape(t('summary_overall', lang))}</h3>")
    out.extend(f"<p>{html.escape(s)}</p>" for s in overall)
    if rule:
        out.append(f'<p class="note">{html.escape(rule)}</p>')
    out.append("</section>")
    return "".join(out)


def key_figures_frame(rows: pd.DataFrame, lang: str, catalogue: Catalogue | None = None) -> pd.DataFrame:
    """Indicators not split by service type: value, interval, and the count with what it counts."""
    catalogue = catalogue or load_catalogue()
    units = [catalogue[i].unit for i in rows["indicator"]]
    return pd.DataFrame({
        t("indicator", lang): [catalogue[i].name(lang) for i in rows["indicator"]],
        t("value", lang): [cell_text(v, u, n, lang, c) for v, u, n, c in
                           zip(rows["value"], units, rows["n"], rows.get("n_censored", pd.Series(0, index=rows.index)))],
        t("ci", lang): [format_interval(lo, hi, u, lang) for lo, hi, u in zip(rows["ci_low"], rows["ci_high"], units)],
        t("n", lang): counted(rows, lang, catalogue),
    })


def wide_frame(rows: pd.DataFrame, by: str, labels: dict, lang: str, catalogue: Catalogue | None = None,
               first_column: str | None = None) -> pd.DataFrame:
    """One row per value of ``by`` (service type, region, group) in ``labels`` order, one
    column per indicator with its formatted value ("no data" where the cell has no household)."""
    catalogue = catalogue or load_catalogue()
    indicators = list(dict.fromkeys(rows["indicator"]))
    out = pd.DataFrame({first_column or t(by, lang): list(labels.values())})
    for ind in indicators:
        part = rows[rows["indicator"] == ind].set_index(by)
        unit = catalogue[ind].unit
        out[catalogue[ind].name(lang)] = [cell_text(part["value"].get(k), unit, _n(part, k), lang) for k in labels]
    return out


def side_by_side_frame(rows: pd.DataFrame, by: str, labels: dict, lang: str,
                       catalogue: Catalogue | None = None) -> pd.DataFrame:
    """One row per indicator (catalogue name), one column per value of ``by`` (region or
    group) in ``labels`` order: stays readable with dozens of indicators and few columns.
    A region or group without a household shows "no data" (无数据), not "—" or 0."""
    catalogue = catalogue or load_catalogue()
    indicators = list(dict.fromkeys(rows["indicator"]))
    cells = rows.set_index(["indicator", by])
    out = pd.DataFrame({t("indicator", lang): [catalogue[i].name(lang) for i in indicators]})
    for key, label in labels.items():
        out[label] = [cell_text(cells["value"].get((i, key)), catalogue[i].unit, _n(cells, (i, key)), lang)
                      for i in indicators]
    return out


def _n(cells: pd.DataFrame, key):
    """The units counted in one cell (None when the table has no ``n`` or no such row)."""
    return cells["n"].get(key) if "n" in cells.columns else None


def supply_and_need_frame(table: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Table 1 of 祝建华、项丽亚 (2021) (``evalkit.results.tables.supply_and_need_table``) with formatted cells."""
    out = table.copy()
    for col in out.columns[1:4]:
        out[col] = [format_count(v) for v in out[col]]
    for col in out.columns[4:]:
        out[col] = [format_value(v, "rate", lang) for v in out[col]]
    return out


def definitions_frame(indicators, lang: str, targets: dict | None = None,
                      target_sources: dict | None = None) -> pd.DataFrame:
    """Catalogue entries: name, definition, what it counts (unit of analysis), direction, source.

    With ``targets`` (indicator id -> target in force, :func:`evalkit.report.scorecard.load_targets`)
    the full definition the appendix shows: both names, definition, unit, what it counts,
    direction, target and where it comes from (``target_sources``:
    :func:`evalkit.report.scorecard.target_sources`), what a missing value counts as, what is
    incomplete at the data's end, source.
    """
    from .text import UNIT_LABELS

    if targets is None:
        return pd.DataFrame({
            t("indicator", lang): [i.name(lang) for i in indicators],
            t("formula", lang): [i.formula_zh if lang == "zh" else i.formula_en for i in indicators],
            t("counts", lang): [i.counts_label(lang) for i in indicators],
            t("direction", lang): [t(i.direction, lang) for i in indicators],
            t("source", lang): [i.source for i in indicators],
        })
    sources = target_sources or {}
    other = "en" if lang == "zh" else "zh"
    return pd.DataFrame({
        t("indicator", lang): [f"{i.name(lang)}（{i.name(other)}）" if lang == "zh" else f"{i.name(lang)} ({i.name(other)})"
                               for i in indicators],
        t("formula", lang): [i.formula_zh if lang == "zh" else i.formula_en for i in indicators],
        t("unit", lang): [UNIT_LABELS[i.unit][lang] if i.unit != "count" else i.counts_label(lang) for i in indicators],
        t("counts", lang): [i.counts_label(lang) for i in indicators],
        t("direction", lang): [t(i.direction, lang) for i in indicators],
        t("target", lang): [format_value(targets.get(i.id), i.unit, lang) for i in indicators],
        t("target_source", lang): [target_source_text(sources.get(i.id) if targets.get(i.id) is not None else None,
                                                      lang) for i in indicators],
        t("missing_as", lang): [i.missing(lang) for i in indicators],
        t("incomplete_as", lang): [i.censoring(lang) for i in indicators],
        t("source", lang): [i.source for i in indicators],
    })


def definitions_html(frame: pd.DataFrame, lang: str) -> str:
    """The full :func:`definitions_frame` (with targets) as one block per indicator, readable at
    any width: the name, a line of facts (unit, what it counts, direction, target and where it
    comes from), then the definition, missing values, incomplete periods and source, each labelled."""
    sep = "：" if lang == "zh" else ": "
    dot = " · "
    facts = [t(k, lang) for k in ("unit", "counts", "direction", "target", "target_source")]
    texts = [t(k, lang) for k in ("formula", "missing_as", "incomplete_as", "source")]
    out = []
    for _, row in frame.iterrows():
        line = []
        for col in facts:
            value = str(row[col])
            if col == t("target_source", lang):
                if value:
                    line[-1] += f"（{value}）" if lang == "zh" else f" ({value})"
                continue
            line.append(f"{col}{sep}{value}")
        paras = "".join(f'<p class="def-text" style="margin:2px 0"><strong>{html.escape(col)}</strong>{sep}'
                        f'{html.escape(str(row[col]))}</p>' for col in texts if str(row[col]))
        out.append(f'<div class="definition" style="margin:0 0 14px">'
                   f'<p class="def-name" style="margin:0"><strong>{html.escape(str(row.iloc[0]))}</strong></p>'
                   f'<p class="note" style="margin:0 0 4px">{html.escape(dot.join(line))}</p>{paras}</div>')
    return "".join(out)


def parameters_frame(declared, values, lang: str) -> pd.DataFrame:
    """Indicator parameters (:class:`evalkit.indicators.parameters.Parameter`) with the
    ``values`` used: label and name, value, unit, meaning."""
    paren = "（{}）" if lang == "zh" else " ({})"
    return pd.DataFrame({
        t("parameter", lang): [p.label(lang) + paren.format(p.name) for p in declared],
        t("param_value", lang): [p.format(values[p.name], lang) for p in declared],
        t("unit", lang): [p.unit_label(lang) for p in declared],
        t("meaning", lang): [p.explain(lang) for p in declared],
    })


def header_html(lang: str, title: str, meta: str) -> str:
    """The heading of every page: the report's kicker, a title and one meta line."""
    return (f'<header class="report-header"><p class="kicker">{html.escape(t("report", lang))}</p>'
            f"<h1>{html.escape(title)}</h1>"
            f'<p class="meta">{html.escape(meta)}</p></header>')


def provenance_html(lang: str, package: str, data_hash: str, min_cell: int, targets_path: str = "",
                    provenance: dict | None = None) -> str:
    """The footer of every page: package, data fingerprint, extraction date, catalogue version,
    parameters, suppression rule, targets, version.

    ``provenance`` is the results' record (:mod:`evalkit.provenance`, ``ReportData.provenance``);
    without one the footer has no catalogue, parameter or extraction-date line.
    """
    targets = (t("targets_file", lang, name=Path(targets_path).name) if targets_path
               else t("targets_default", lang))
    lines = [t("package_line", lang, name=package), t("hash_line", lang, hash=data_hash[:12])]
    lines += provenance_lines(provenance or {}, lang)
    lines += [t("suppression_note", lang, min_cell=min_cell), targets, t("generated_by", lang, version=__version__)]
    return '<footer class="report-footer"><p>' + "<br/>".join(html.escape(x) for x in lines) + "</p></footer>"


def provenance_lines(provenance: dict, lang: str) -> list[str]:
    """Extraction date, catalogue version and parameters from a provenance record (none when empty)."""
    from evalkit.provenance import EXTRACTED_DECLARED, parameters_text

    if not provenance:
        return []
    lines = []
    data = provenance.get("data") or {}
    if data:
        date = data.get("extracted_on")
        if not date:
            lines.append(t("extracted_unknown", lang))
        elif data.get("extracted_on_source") == EXTRACTED_DECLARED:
            lines.append(t("extracted_declared", lang, date=date))
        else:
            lines.append(t("extracted_latest", lang, date=date, column=data.get("extracted_on_column", "")))
    catalogue = provenance.get("catalogue") or {}
    if catalogue:
        lines.append(t("catalogue_line", lang, version=catalogue.get("version", "?"),
                       sha=str(catalogue.get("sha256", ""))[:12]))
    params = parameters_text(provenance, exclude=("min_cell",))  # the suppression line gives the one in force
    if params:
        lines.append(t("parameters_line", lang, params=params))
    return lines


def region_labels(regions: pd.DataFrame, ids, lang: str) -> dict[str, str]:
    """Region id -> display name (the id when the name is missing)."""
    names = dict(zip(regions["region_id"], regions["name"]))
    return {r: (names.get(r) if isinstance(names.get(r), str) and names.get(r) else r) for r in ids}


def group_labels(group_by: str, groups, lang: str) -> dict[str, str]:
    return {g: group_label(group_by, g, lang) for g in groups}


def level_text(level, lang: str) -> str:
    return level_label(level, lang)
