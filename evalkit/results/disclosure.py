"""Small-cell suppression that cannot be undone by subtraction.

A suppressed cell is only hidden if no sum of published cells gives it back. Every run
publishes several margins of the same counts: each grouping's groups add up to the
region's overall row (and an intersection's, ``hukou*urban``, to each group of either
grouping run on its own), child regions add up to their parent, and some indicators share
counts (the need rate's numerator is the availability rate's denominator). So
:func:`protect` applies two rules to the results table:

1. **primary**: a row is suppressed when ``n`` (units in the denominator, unweighted)
   is below ``min_cell``; for count-based rates (rows with an unweighted numerator
   count ``m``) also when ``m`` or ``n - m`` is below ``min_cell``, so that neither "2
   households here ..." nor "every household here but 1 ..." is published;
2. **complementary (secondary)**, repeated until nothing changes: in every margin
   (a total and its parts: groups of one grouping and the overall row; groups of an
   intersection and a group of one of its groupings; child regions and their parent),
   a suppressed cell must never be the only one, and when the total
   is published the suppressed parts together must hold at least ``min_cell`` units
   (``n``; for rates also ``m`` and ``n - m``), else the published cell of the margin
   with the smallest ``n`` is suppressed too (ties: the first in table order); and a
   suppressed row hides every row of the same region, period, group and service type
   that publishes one of its counts (``m``, ``n - m``, ``n`` or ``n + n_excluded``):
   that is how counts shared between indicators are found, without a list of them.

Rows of a region without any unit (``n`` 0 and the note "no household in this region",
"no service point in this region") hide nothing and count as known zeros. Other rows
with ``n`` 0 are small cells like any other: "no household here needs legal aid" is a
numerator of 0, and the availability rate's empty denominator would say it. Groups of a
region-relative grouping (income quintiles) do not add up over regions, so they have
no region margin. A parent region's own households (in no child region) are published
nowhere: they count with the suppressed children when the parent is published.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

CELL = ["indicator", "service_type", "region", "period"]
LINK = ["region", "period", "group_by", "group", "service_type"]
JOIN = "*"  # evalkit.indicators.groups.JOIN: an intersection of two groupings, hukou*urban
REGION_RELATIVE = ("income_quintile",)  # evalkit.indicators.groups.REGION_RELATIVE (no import cycle)


def known_zero(table: pd.DataFrame) -> pd.Series:
    """Rows of a region without any unit of the statistic: their zeros are public (module doc)."""
    n = pd.to_numeric(table["n"], errors="coerce")
    return (n == 0) & table["note"].fillna("").astype(str).str.endswith(" in this region")


def primary(table: pd.DataFrame, min_cell: int) -> pd.Series:
    """Rows too small to publish on their own: ``n`` below ``min_cell``, or for rows with an
    unweighted numerator count ``m``, ``m`` or ``n - m`` below it."""
    n = pd.to_numeric(table["n"], errors="coerce")
    small = n < min_cell
    if "m" in table.columns:
        m = pd.to_numeric(table["m"], errors="coerce")
        small = small | (m.notna() & ((m < min_cell) | (n - m < min_cell)))
    return small.fillna(False).astype(bool)


def protect(table: pd.DataFrame, closure: pd.DataFrame, min_cell: int, keep: pd.Series | None = None) -> pd.DataFrame:
    """The table with ``suppressed`` set by the primary and complementary rules (module doc).

    ``table`` has the results columns and optionally ``m``, the unweighted numerator
    count of count-based rates (NaN elsewhere; never published). ``closure`` holds the
    ``(region_id, ancestor)`` pairs of the region hierarchy (each region with itself and its
    parent is enough). Rows already flagged
    ``suppressed`` (e.g. read from a file) stay suppressed; their blanked counts are
    taken as unknown. The rows suppressed by the complementary rule alone are those
    ``suppressed`` and not :func:`primary` (no note marks them: a note explains a missing
    value, and the unpublished table keeps every value).
    """
    out = table.reset_index(drop=True).copy()
    k = int(min_cell)
    before = out["suppressed"].fillna(False).astype(bool).to_numpy() if "suppressed" in out else np.zeros(len(out), bool)
    first = primary(out, k).to_numpy() | before
    if not len(out) or k <= 0:
        out["suppressed"] = first
        return out
    n = pd.to_numeric(out["n"], errors="coerce").to_numpy(float)
    m = pd.to_numeric(out["m"], errors="coerce").to_numpy(float) if "m" in out else np.full(len(out), np.nan)
    live = ~known_zero(out).to_numpy()
    members = _margins(out, closure)
    links = _link_keys(out, n, m)
    sup = first.copy()
    while True:
        added = _complements(members, sup, live, n, m, k) | _linked(links, sup & live)
        added &= ~sup & live
        if not added.any():
            break
        sup |= added
    out["suppressed"] = sup
    return out


def _parents(closure: pd.DataFrame) -> pd.Series:
    """Each region's parent: its nearest proper ancestor (the one with most ancestors itself)."""
    pairs = closure[["region_id", "ancestor"]].drop_duplicates()
    depth = pairs.groupby("region_id").size()
    proper = pairs[pairs["region_id"] != pairs["ancestor"]].assign(depth=lambda p: p["ancestor"].map(depth))
    proper = proper.sort_values(["region_id", "depth"]).drop_duplicates("region_id", keep="last")
    return proper.set_index("region_id")["ancestor"]


def _margins(table: pd.DataFrame, closure: pd.DataFrame) -> pd.DataFrame:
    """Every margin of the table, long: ``margin, row, total`` (the total row and each part)."""
    keyed = table[["indicator", "service_type", "region", "period", "group_by", "group"]].assign(
        row=np.arange(len(table)))
    frames, offset = [], 0
    # groups of a grouping against the region's overall row
    parts = keyed[keyed["group_by"] != ""]
    totals = keyed.loc[keyed["group_by"] == "", [*CELL, "row"]].rename(columns={"row": "total_row"})
    joined = parts.merge(totals, on=CELL)
    if not joined.empty:
        joined["margin"] = joined.groupby([*CELL, "group_by"], sort=False).ngroup()
        frames.append(_long(joined))
        offset = int(joined["margin"].max()) + 1
    # groups of an intersection (hukou*urban) against each group of either grouping run on its own
    crossed = _crossed(keyed)
    if not crossed.empty:
        crossed["margin"] = crossed.groupby([*CELL, "total_row"], sort=False).ngroup() + offset
        frames.append(_long(crossed))
        offset = int(crossed["margin"].max()) + 1
    # child regions against their parent
    key = ["indicator", "service_type", "period", "group_by", "group"]
    children = keyed[~keyed["group_by"].isin(REGION_RELATIVE)]
    children = children.assign(parent=children["region"].map(_parents(closure))).dropna(subset=["parent"])
    totals = keyed[[*key, "region", "row"]].rename(columns={"region": "parent", "row": "total_row"})
    joined = children.merge(totals, on=[*key, "parent"])
    if not joined.empty:
        joined["margin"] = joined.groupby([*key, "parent"], sort=False).ngroup() + offset
        frames.append(_long(joined))
    if not frames:
        return pd.DataFrame({"margin": pd.Series(dtype="int64"), "row": pd.Series(dtype="int64"),
                             "total": pd.Series(dtype=bool)})
    return pd.concat(frames, ignore_index=True)


def _crossed(keyed: pd.DataFrame) -> pd.DataFrame:
    """Rows of an intersection ``a*b`` beside the row of ``a`` (and of ``b``) holding their part."""
    inter = keyed[keyed["group_by"].str.contains(JOIN, regex=False)]
    frames = []
    for side in (0, 1):
        parts = inter.assign(by_part=inter["group_by"].str.split(JOIN, regex=False).str[side],
                             group_part=inter["group"].str.split(JOIN, regex=False).str[side])
        totals = keyed[[*CELL, "group_by", "group", "row"]].rename(
            columns={"group_by": "by_part", "group": "group_part", "row": "total_row"})
        frames.append(parts.merge(totals, on=[*CELL, "by_part", "group_part"]))
    return pd.concat(frames, ignore_index=True)


def _long(joined: pd.DataFrame) -> pd.DataFrame:
    parts = joined[["margin", "row"]].assign(total=False)
    totals = joined[["margin", "total_row"]].drop_duplicates("margin").rename(columns={"total_row": "row"})
    return pd.concat([parts, totals.assign(total=True)], ignore_index=True)


def _complements(members: pd.DataFrame, sup: np.ndarray, live: np.ndarray, n: np.ndarray, m: np.ndarray,
                 k: int) -> np.ndarray:
    """Rows to suppress so that no margin gives a suppressed cell back: per unsafe margin, its
    published row with the smallest ``n`` (ties: the first row). Sums per margin are
    ``np.bincount`` over margin numbers; counts are whole numbers, so any order adds them exactly."""
    added = np.zeros(len(sup), bool)
    if members.empty:
        return added
    margin = members["margin"].to_numpy()
    rows = members["row"].to_numpy()
    total = members["total"].to_numpy()
    margins = int(margin.max()) + 1

    def per_margin(values: np.ndarray) -> np.ndarray:
        return np.bincount(margin, np.where(np.isnan(values), 0.0, values), margins)  # a blank count adds 0

    s = sup[rows] & live[rows]
    nn, mm = n[rows], m[rows]
    suppressed = per_margin(s.astype(float))
    total_suppressed = per_margin((s & total).astype(float)) > 0
    # units in the suppressed parts, as an attacker gets them: total - published parts
    published = ~total & ~s
    hidden_n = per_margin(np.where(total, nn, 0.0)) - per_margin(np.where(published, nn, 0.0))
    hidden_m = per_margin(np.where(total, mm, 0.0)) - per_margin(np.where(published, mm, 0.0))
    rate = per_margin((~np.isnan(mm)).astype(float)) > 0
    too_few = (hidden_n < k) | (rate & ((hidden_m < k) | (hidden_n - hidden_m < k)))
    unsafe = (suppressed == 1) | ((suppressed >= 2) & ~total_suppressed & too_few)
    candidates = np.flatnonzero(unsafe[margin] & ~sup[rows] & live[rows])
    if not len(candidates):
        return added
    order = candidates[np.lexsort((rows[candidates], nn[candidates], margin[candidates]))]  # a blank n last
    first = np.ones(len(order), bool)
    first[1:] = margin[order[1:]] != margin[order[:-1]]
    added[rows[order[first]]] = True
    return added


def _link_keys(table: pd.DataFrame, n: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The counts each live row publishes, long: the ``row`` and a ``key`` numbering its (cell,
    count) (cell: region, period, group and service type). Two rows of a cell with an equal
    count may share it."""
    cell = table.groupby(LINK, sort=False, dropna=False).ngroup().to_numpy()
    excluded = pd.to_numeric(table["n_excluded"], errors="coerce").fillna(0).to_numpy(float) \
        if "n_excluded" in table else np.zeros(len(table))
    rows = np.arange(len(table))
    with_m = ~np.isnan(m)
    parts = [(rows, n), (rows[with_m], m[with_m]), (rows[with_m], (n - m)[with_m]),
             (rows[excluded > 0], (n + excluded)[excluded > 0])]
    row = np.concatenate([p[0] for p in parts])
    count = np.concatenate([p[1] for p in parts])
    kept = ~np.isnan(count) & (count > 0)
    row, count = row[kept], count[kept]
    # (cell, count) pairs numbered as one integer each: a MultiIndex factorize is ten times slower
    count_code = pd.factorize(count)[0]
    key = pd.factorize(cell[row] * (int(count_code.max(initial=-1)) + 1) + count_code)[0]
    return row, key


def _linked(links: tuple[np.ndarray, np.ndarray], hidden: np.ndarray) -> np.ndarray:
    """Rows publishing a count that a hidden row of the same cell also has."""
    row, key = links
    added = np.zeros(len(hidden), bool)
    secret = np.zeros(int(key.max()) + 1 if len(key) else 0, bool)
    secret[key[hidden[row]]] = True
    added[row[secret[key]]] = True
    return added
