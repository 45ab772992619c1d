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
    sparkline,
    status_label,
    t,
    trend_label,
)


def html_table(frame: pd.DataFrame, badges: dict[str, list[str]] | None = None,
               numeric: tuple[str, ...] = (), caption: str = "", wrap: tuple[str, ...] | None = None,
               links: dict[str, list[str | None]] | None = None) -> str:
    """``frame`` (strings) as an HTML table.

    ``badges`` maps a column to one status key per row: those cells become coloured
    badges (``badge-green`` ...). ``numeric`` columns are right-aligned. Cells do not
    wrap, except in the ``wrap`` columns (default: the first column, usually a name).
    ``links`` maps a column to one relative URL (or None) per row.
    """
    links = links or {}
    wrap = (frame.columns[0],) if wrap is None and len(frame.columns) else (wrap or ())
    badges = badges or {}
    out = ['<table class="report-table">']
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
    column names what each indicator counts ("120 referrals", not 120 households)."""
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
        t("previous", lang): [format_value(v, u, lang) for v, u in zip(card["previous"], card["unit"])],
        t("change", lang): [format_gap(v, u, lang) for v, u in zip(card["change"], card["unit"])],
        t("trend", lang): [f"{sparkline(h)} {trend_label(s, lang)}".strip() for h, s in zip(card["history"], card["trend"])],
        t("n", lang): counted(card, lang, catalogue),
    })


def counted(rows: pd.DataFrame, lang: str, catalogue: Catalogue | None = None) -> list[str]:
    """Each row's ``n`` with its indicator's unit of analysis: "1,234 户", "56 referrals"."""
    catalogue = catalogue or load_catalogue()
    return [format_counted(n, catalogue[i].counts, lang) for i, n in zip(rows["indicator"], rows["n"])]


SCORECARD_NUMERIC = ("value", "target", "gap", "previous", "change", "n")


def numeric_columns(keys, lang: str) -> tuple[str, ...]:
    return tuple(t(k, lang) for k in keys)


def plan_frame(plan: pd.DataFrame, lang: str, catalogue: Catalogue | None = None) -> pd.DataFrame:
    """The improvement plan: indicator, status, gap (where largest), short service types,
    responsible side, suggested action."""
    names = indicator_names(lang, catalogue)
    sep = "、" if lang == "zh" else ", "
    gaps = []
    for r in plan.itertuples():
        where = ""
        if r.service_type:
            name = service_label(r.service_type, lang)
            where = f"（{name}）" if lang == "zh" else f" ({name})"
        gaps.append(format_gap(r.gap, r.unit, lang) + where)
    return pd.DataFrame({
        t("indicator", lang): [names[i] for i in plan["indicator"]],
        t("status", lang): [status_label(s, lang) for s in plan["status"]],
        t("gap", lang): gaps,
        t("types_short", lang): [sep.join(service_label(s, lang) for s in types) or t("all_types", lang)
                                 for types in plan["service_types_short"]],
        t("responsible", lang): [responsible_label(s, lang) for s in plan["responsible"]],
        t("action", lang): list(plan["action"]),
    })


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


def definitions_frame(indicators, lang: str) -> pd.DataFrame:
    """Catalogue entries: name, definition, what it counts (unit of analysis), direction, source."""
    return pd.DataFrame({
        t("indicator", lang): [i.name(lang) for i in indicators],
        t("formula", lang): [i.formula_zh if lang == "zh" else i.formula_en for i in indicators],
        t("counts", lang): [i.counts_label(lang) for i in indicators],
        t("direction", lang): [t(i.direction, lang) for i in indicators],
        t("source", lang): [i.source for i in indicators],
    })


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
