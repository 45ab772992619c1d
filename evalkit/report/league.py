"""Sub-regions side by side: a league table and the ranked dot chart's data.

A city or province report compares its sub-regions (counties) on the headline indicators
of each part: value, 95% interval, count and rank. A suppressed cell (too few units to
publish) stays in the table, marked "suppressed" (已抑制) and unranked, rather than
vanishing; a sub-region without any unit shows "no data" (无数据). Rank 1 is the best
value by the catalogue's direction (highest where higher is better, lowest where lower is
better; ties share the best rank); descriptive (neutral) indicators are listed by value,
unranked. Ranks are among the sub-regions with a published value only.

>>> table = pd.DataFrame({"indicator": "a.rate", "region": ["X", "Y", "Z"], "period": "2024Q4",
...     "group_by": "", "service_type": "", "value": [0.2, None, 0.5], "ci_low": [0.1, None, 0.4],
...     "ci_high": [0.3, None, 0.6], "n": [40, 3, 50], "suppressed": [False, True, False]})
>>> league_table(table, ["X", "Y", "Z"], "2024Q4", ["a.rate"], directions={"a.rate": "higher"})[
...     ["region", "status", "rank"]].to_dict("list")
{'region': ['Z', 'X', 'Y'], 'status': ['value', 'value', 'suppressed'], 'rank': [1, 2, None]}
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .text import format_counted, format_interval, format_value, t

#: Columns of :func:`league_table`.
LEAGUE_COLUMNS = ["indicator", "region", "value", "ci_low", "ci_high", "n", "suppressed", "status", "rank"]
#: What a cell shows instead of a value: suppressed (small cell), no data (no unit at all), blank (undefined).
STATUSES = ("value", "suppressed", "no_data", "blank")


def league_table(table: pd.DataFrame, regions: list[str], period: str, indicators: list[str],
                 directions: dict[str, str] | None = None, catalogue=None) -> pd.DataFrame:
    """The sub-regions ``regions`` on each of ``indicators`` in ``period`` (overall rows: no
    group, no service type), ranked.

    Returns one row per indicator and region (every region, even without a row in
    ``table``): ``value, ci_low, ci_high, n, suppressed``, ``status`` (one of
    :data:`STATUSES`) and ``rank`` (nullable integer; 1 is best; missing for a region
    without a value and for neutral indicators). Rows are in ``indicators`` order, then
    by rank (by value for neutral ones), regions without a value last in ``regions`` order.
    ``directions`` maps indicator ids to ``higher``/``lower``/``neutral``; others are looked
    up in ``catalogue`` (default: the packaged catalogue).
    """
    directions = dict(directions or {})
    if any(i not in directions for i in indicators):
        from evalkit.indicators.catalogue import load_catalogue

        catalogue = catalogue or load_catalogue()
        directions.update({i: catalogue[i].direction for i in indicators if i not in directions})
    if not indicators:
        return pd.DataFrame(columns=LEAGUE_COLUMNS)
    tab = table[(table["period"] == period) & table["region"].isin(regions) & table["indicator"].isin(indicators)
                & (table["group_by"].fillna("") == "") & (table["service_type"].fillna("") == "")]
    # every (indicator, region) of the question, in its order, with the table's row where there is one
    cells = pd.MultiIndex.from_product([list(indicators), list(regions)], names=["indicator", "region"])
    part = tab.drop_duplicates(["indicator", "region"]).set_index(["indicator", "region"]).reindex(cells)
    value = pd.to_numeric(part["value"], errors="coerce").astype("float64").to_numpy()
    counted = pd.to_numeric(part["n"], errors="coerce")
    n = counted.astype("float64").to_numpy()
    suppressed = (part["suppressed"].fillna(False).astype(bool).to_numpy() if "suppressed" in part
                  else np.zeros(len(part), dtype=bool))
    missing = np.isnan(value)
    status = np.where(~missing, "value", np.where(suppressed, "suppressed",
                                                  np.where((n == 0) | np.isnan(n), "no_data", "blank")))
    direction = np.array([directions.get(i, "neutral") for i in cells.get_level_values("indicator")], dtype=object)
    key = np.where(direction == "lower", value, -value)  # smaller is better
    frame = pd.DataFrame({
        "indicator": cells.get_level_values("indicator"), "region": cells.get_level_values("region"),
        "value": value, "ci_low": pd.to_numeric(part["ci_low"], errors="coerce").to_numpy(),
        "ci_high": pd.to_numeric(part["ci_high"], errors="coerce").to_numpy(), "n": counted.to_numpy(),
        "suppressed": suppressed,
        "status": status, "_key": key, "_ind": np.repeat(np.arange(len(indicators)), len(regions)),
        "_pos": np.tile(np.arange(len(regions)), len(indicators))})
    rank = frame.groupby("_ind", sort=False)["_key"].rank(method="min").astype("Int64")
    frame["rank"] = rank.where(pd.Series(np.isin(direction, ["higher", "lower"]), index=frame.index))
    frame = frame.sort_values(["_ind", "_key", "_pos"], na_position="last", kind="stable")
    return frame[LEAGUE_COLUMNS].reset_index(drop=True)


def cell_label(status: str, value, unit: str, lang: str) -> str:
    """A league cell as shown: the value, 已抑制 / suppressed, 无数据 / no data, or —."""
    if status == "suppressed":
        return t("league_suppressed", lang)
    if status == "no_data":
        return t("league_no_data", lang)
    return format_value(value, unit, lang)


def league_frame(league: pd.DataFrame, labels: dict[str, str], lang: str, catalogue=None) -> pd.DataFrame:
    """:func:`league_table` for display: indicator, rank, sub-region, value, interval, count."""
    from evalkit.indicators.catalogue import load_catalogue

    catalogue = catalogue or load_catalogue()
    names = [catalogue[i].name(lang) for i in league["indicator"]]
    units = [catalogue[i].unit for i in league["indicator"]]
    shown_name = [name if k == 0 or league["indicator"].iloc[k - 1] != league["indicator"].iloc[k] else ""
                  for k, name in enumerate(names)]  # the indicator's name once, on its first row
    return pd.DataFrame({
        t("indicator", lang): shown_name,
        t("league_rank", lang): ["" if pd.isna(r) else str(int(r)) for r in league["rank"]],
        t("region", lang): [labels.get(r, r) for r in league["region"]],
        t("value", lang): [cell_label(s, v, u, lang) for s, v, u in zip(league["status"], league["value"], units)],
        t("ci", lang): [format_interval(lo, hi, u, lang) if s == "value" else ""
                        for s, lo, hi, u in zip(league["status"], league["ci_low"], league["ci_high"], units)],
        t("n", lang): [format_counted(n, catalogue[i].counts, lang) if s == "value" else ""
                       for s, n, i in zip(league["status"], league["n"], league["indicator"])],
    })


def not_shown(league: pd.DataFrame, labels: dict[str, str], names: dict[str, str], lang: str,
              drawn=("value",)) -> str:
    """The sub-regions a dot chart leaves out (status not in ``drawn``: the ranked dot chart
    draws suppressed ones as a label, :data:`evalkit.report.charts.DRAWN`), per indicator,
    with why ("" when none)."""
    sep, semi = ("、", "；") if lang == "zh" else (", ", "; ")
    parts = []
    for ind, part in league[~league["status"].isin(list(drawn))].groupby("indicator", sort=False):
        listed = sep.join(f"{labels.get(r, r)}（{cell_label(s, None, '', lang)}）" if lang == "zh"
                          else f"{labels.get(r, r)} ({cell_label(s, None, '', lang)})"
                          for r, s in zip(part["region"], part["status"]))
        parts.append(f"{names.get(ind, ind)}：{listed}" if lang == "zh" else f"{names.get(ind, ind)}: {listed}")
    return t("league_not_shown", lang, items=semi.join(parts)) if parts else ""


def mark_suppressed(frame: pd.DataFrame, rows: pd.DataFrame, labels: dict[str, str], lang: str, catalogue=None) -> pd.DataFrame:
    """A side-by-side table (:func:`evalkit.report.present.side_by_side_frame` of ``rows`` by
    region, columns ``labels``' values) with its suppressed cells saying so (已抑制 /
    suppressed) instead of "—"; cells of a sub-region without any unit keep "no data"."""
    from evalkit.indicators.catalogue import load_catalogue

    catalogue = catalogue or load_catalogue()
    out = frame.copy()
    names = {catalogue[i].name(lang): i for i in dict.fromkeys(rows["indicator"])}
    hidden = rows[rows["suppressed"].astype(bool) & rows["value"].isna()
                  & (pd.to_numeric(rows["n"], errors="coerce").fillna(-1) != 0)]
    hidden = set(zip(hidden["indicator"], hidden["region"]))
    first = out.columns[0]
    for region, label in labels.items():
        if label in out.columns:
            out[label] = [t("league_suppressed", lang) if (names.get(name), region) in hidden else cell
                          for name, cell in zip(out[first], out[label])]
    return out
