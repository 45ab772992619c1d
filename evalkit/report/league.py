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
    tab = table[(table["period"] == period) & table["region"].isin(regions) & table["indicator"].isin(indicators)
                & (table["group_by"].fillna("") == "") & (table["service_type"].fillna("") == "")]
    frames = []
    for ind in indicators:
        part = tab[tab["indicator"] == ind].drop_duplicates("region").set_index("region").reindex(regions)
        value = pd.to_numeric(part["value"], errors="coerce")
        n = pd.to_numeric(part["n"], errors="coerce")
        suppressed = part["suppressed"].fillna(False).astype(bool) if "suppressed" in part else value.isna() & False
        status = pd.Series("blank", index=part.index)
        status[value.notna()] = "value"
        status[value.isna() & ((n == 0) | n.isna() & ~suppressed)] = "no_data"
        status[value.isna() & suppressed] = "suppressed"
        direction = directions.get(ind, "neutral")
        if direction in ("higher", "lower"):
            rank = value.rank(method="min", ascending=direction == "lower").astype("Int64")
        else:
            rank = pd.Series(pd.NA, index=part.index, dtype="Int64")
        frame = pd.DataFrame({"indicator": ind, "region": part.index, "value": value.to_numpy(),
                              "ci_low": pd.to_numeric(part["ci_low"], errors="coerce").to_numpy(),
                              "ci_high": pd.to_numeric(part["ci_high"], errors="coerce").to_numpy(),
                              "n": n.to_numpy(), "suppressed": suppressed.to_numpy(), "status": status.to_numpy(),
                              "rank": rank.array})
        key = value.to_numpy() if direction == "lower" else -value.to_numpy()
        frame = frame.assign(_key=key, _pos=range(len(frame)))
        frame = frame.sort_values(["_key", "_pos"], na_position="last", kind="stable")
        frames.append(frame.drop(columns=["_key", "_pos"]))
    if not frames:
        return pd.DataFrame(columns=LEAGUE_COLUMNS)
    return pd.concat(frames, ignore_index=True)[LEAGUE_COLUMNS]


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
