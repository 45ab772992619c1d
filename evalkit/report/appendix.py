"""The methods and data-quality appendix, the last part of a region's report
(``notebooks/appendix.py``): what it shows, as frames of formatted strings and lines of text.

Everything here reads the published results and their context (:class:`evalkit.report.data.ReportData`),
the catalogue, the glossary and the reference list (:mod:`evalkit.indicators.references`):
no household, no example row of the data.
"""
from __future__ import annotations

import html

import pandas as pd

from evalkit.indicators.catalogue import Catalogue, load_catalogue
from evalkit.indicators.references import load_glossary, load_references

from .text import format_count, t


def shown_indicators(table: pd.DataFrame, region: str, period: str, catalogue: Catalogue | None = None) -> list:
    """The catalogue entries with rows for ``region`` and ``period`` in the results (any
    breakdown): the indicators a report of that region and period shows, in catalogue order."""
    catalogue = catalogue or load_catalogue()
    present = set(table.loc[(table["region"] == region) & (table["period"] == period), "indicator"])
    return [i for i in catalogue if i.id in present]


def by_family(indicators, catalogue: Catalogue | None = None) -> dict[str, list]:
    """``indicators`` grouped by family, families in catalogue order."""
    catalogue = catalogue or load_catalogue()
    out = {f: [i for i in indicators if i.family == f] for f in catalogue.families}
    return {f: members for f, members in out.items() if members}


def method_lines(lang: str, min_cell: int, extracted_on: str, q: float) -> list[str]:
    """The plain-language paragraphs of "how the numbers are made"."""
    return [t("method_intervals", lang), t("method_suppression", lang, min_cell=min_cell),
            t("method_workdays", lang), t("method_censoring", lang, date=extracted_on),
            t("method_incomplete", lang), t("method_missing", lang), t("method_changes", lang, q=f"{q:g}")]


def tables_frame(tables: dict, lang: str) -> pd.DataFrame:
    """The package's tables with the rows read, in the order recorded."""
    return pd.DataFrame({t("appx_table", lang): list(tables),
                         t("appx_rows", lang): [format_count(n) for n in tables.values()]})


def left_out(table: pd.DataFrame, region: str, period: str, indicators) -> pd.DataFrame:
    """Per indicator of ``indicators``, this region and period: units left out for a missing
    value (``n_excluded``) and censored (``n_censored``) in the overall rows (summed over service
    types), and cells not published of all rows (groups and service types included).
    Columns: indicator, n_excluded, n_censored, suppressed, cells."""
    ids = [i.id for i in indicators]
    mine = table[(table["region"] == region) & (table["period"] == period) & table["indicator"].isin(ids)]
    overall = mine[mine["group_by"] == ""]
    num = lambda col: pd.to_numeric(overall[col], errors="coerce").fillna(0)  # noqa: E731
    sums = overall.assign(n_excluded=num("n_excluded"), n_censored=num("n_censored")).groupby("indicator")[
        ["n_excluded", "n_censored"]].sum()
    cells = mine.groupby("indicator")["suppressed"].agg(suppressed="sum", cells="size")
    out = pd.DataFrame({"indicator": ids}).set_index("indicator").join(sums).join(cells).fillna(0)
    return out.astype(int).reset_index()


def left_out_frame(counts: pd.DataFrame, lang: str, catalogue: Catalogue | None = None) -> pd.DataFrame:
    """The rows of :func:`left_out` where something was left out or withheld, formatted."""
    catalogue = catalogue or load_catalogue()
    rows = counts[(counts["n_excluded"] > 0) | (counts["n_censored"] > 0) | (counts["suppressed"] > 0)]
    return pd.DataFrame({
        t("indicator", lang): [catalogue[i].name(lang) for i in rows["indicator"]],
        t("counts", lang): [catalogue[i].counts_label(lang) for i in rows["indicator"]],
        t("appx_excluded", lang): [format_count(n) for n in rows["n_excluded"]],
        t("appx_censored", lang): [format_count(n) for n in rows["n_censored"]],
        t("appx_suppressed", lang): [f"{s} / {c}" for s, c in zip(rows["suppressed"], rows["cells"])],
    })


def warnings_frame(warnings: list, lang: str) -> pd.DataFrame:
    """Validation warnings as the results file keeps them (:func:`evalkit.report.data.coverage_warnings`)."""
    return pd.DataFrame({
        t("appx_table", lang): [str(w.get("table", "")) for w in warnings],
        t("appx_column", lang): [str(w.get("column", "")) for w in warnings],
        t("appx_check", lang): [str(w.get("check", "")) for w in warnings],
        t("appx_rows_affected", lang): [format_count(w.get("count", 0)) if w.get("count") else "" for w in warnings],
        t("appx_expected", lang): [str(w.get("expected", "")) for w in warnings],
    })


def glossary_frame(lang: str) -> pd.DataFrame:
    """The glossary: term (with the other language's term) and meaning."""
    other = "en" if lang == "zh" else "zh"
    terms = load_glossary()
    return pd.DataFrame({
        t("appx_term", lang): [f"{g.term(lang)} / {g.term(other)}" for g in terms],
        t("meaning", lang): [g.meaning(lang) for g in terms],
    })


def references_html() -> str:
    """The reference list: every published work and official document evalkit cites, by
    author or issuer, title and year, as an ordered list."""
    items = "".join(f"<li>{html.escape(r.text())}</li>" for r in load_references())
    return f'<ol class="references">{items}</ol>'


def definitions_table(indicators, targets: dict, sources: dict) -> pd.DataFrame:
    """The definitions of ``indicators`` as plain data for export: catalogue fields, the
    target in force and where it comes from (kind: user, published or default; text)."""
    rows = []
    for i in indicators:
        target = targets.get(i.id)
        src = sources.get(i.id) if target is not None else None
        rows.append({"indicator": i.id, "family": i.family, "name_zh": i.name_zh, "name_en": i.name_en,
                     "formula_zh": i.formula_zh, "formula_en": i.formula_en, "unit": i.unit, "counts": i.counts,
                     "direction": i.direction, "target": target, "target_source": src["kind"] if src else "",
                     "target_source_text": src["text"] if src else "", "missing_zh": i.missing_zh,
                     "missing_en": i.missing_en, "censoring_zh": i.censoring_zh, "censoring_en": i.censoring_en,
                     "source": i.source})
    return pd.DataFrame(rows)
