"""Kaplan-Meier survival curves and their quantiles, vectorised over many cells at once.

The input is a count table: one row per cell, time and event flag with the number of
units (``count``), as the engine returns it; nothing is expanded to one row per unit and
there is no per-cell fit. Rows are sorted by cell and time once, and every step is a
numpy operation over all cells together.

Curve, per cell, at each time t_j with at least one event (``d_j`` events among ``n_j``
units still at risk, censored units leaving the risk set after the events of their day):

    S(t_j) = prod_{i <= j} (1 - d_i / n_i)
    se S(t_j) = S(t_j) sqrt(sum_{i <= j} d_i / (n_i (n_i - d_i)))      (Greenwood)

computed exactly as statsmodels' ``SurvfuncRight`` does (the product as the exponential
of a running sum of logs, added in the same order), so curve, standard error and interval
limits agree with it to the last bit.

Quantile p (the median is p = 0.5): the time by which a share p of units has had the
event, F(t) = 1 - S(t) = p, by R ``survival``'s ``quantile.survfit`` rule: the first
time with F(t) > p, that is S(t) < 1 - p; but where S(t) equals 1 - p exactly over an
interval [t_j, t_{j+1}) the quantile is its midpoint (t_j + t_{j+1}) / 2 (as SAS ``PROC
LIFETEST`` too), and where that flat runs to the end of the data, the midpoint of t_j and
the last time observed in the cell (event or censored). "Exactly" is within
:data:`TOLERANCE` (R's default, sqrt of machine epsilon), since durations in whole days
make such flats common (four units with events on days 1, 2, 3, 4 have S = 1/2 on
[2, 3): median 2.5). A quantile the curve never reaches (too many units censored) is NaN.

Interval: Brookmeyer and Crowley (1982), as SAS and statsmodels' ``quantile_ci`` (the
statsmodels default transformation, complementary log-log, g(x) = log(-log x)): the event
times whose pointwise test of S(t) = 1 - p is not rejected,
|g(S(t)) - g(1 - p)| <= z se(S(t)) |g'(S(t))|, form the set; the lower limit is the first
of them, the upper limit the event time after the last of them (infinite when the last is
the cell's last event time). When no event time passes the test (the curve jumps across
1 - p at the estimate) the interval collapses onto the estimate, ``low = high = value``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

#: two survival values closer than this are equal (R ``quantile.survfit``'s default tolerance)
TOLERANCE = float(np.sqrt(np.finfo(float).eps))


def kaplan_meier(counts: pd.DataFrame, by: list[str], time: str = "days", event: str = "event",
                 count: str = "count") -> pd.DataFrame:
    """The Kaplan-Meier curve of every cell, from counts per cell, time and event flag.

    Returns one row per cell and event time (times with at least one event), sorted by
    cell and time: the ``by`` columns, ``time``, ``at_risk`` (n_j), ``events`` (d_j),
    ``survival`` (S) and ``se`` (Greenwood; NaN once the curve has reached 0).

    >>> counts = pd.DataFrame({"days": [1, 2, 3, 4], "event": True, "count": 1})
    >>> kaplan_meier(counts, [])["survival"].round(12).tolist()
    [0.75, 0.5, 0.25, 0.0]
    """
    curve = _Curves(counts, by, time, event, count)
    out = curve.cells.iloc[curve.code[curve.events_at]].reset_index(drop=True)
    e = curve.events_at
    out[time] = curve.time[e]
    out["at_risk"] = curve.at_risk[e]
    out["events"] = curve.deaths[e]
    out["survival"] = curve.survival
    out["se"] = curve.se
    return out


def km_quantile(counts: pd.DataFrame, by: list[str], q: float = 0.5, confidence: float = 0.95,
                time: str = "days", event: str = "event", count: str = "count",
                tolerance: float = TOLERANCE) -> pd.DataFrame:
    """The q-th quantile of time to event per cell, with a Brookmeyer-Crowley interval.

    ``counts``: one row per cell (the ``by`` columns), ``time``, ``event`` (true: the event
    happened at that time; false: censored then) with the number of units ``count``.
    Returns one row per cell: the ``by`` columns, ``value`` (NaN when the curve never
    reaches 1 - q), ``ci_low``, ``ci_high`` (at level ``confidence``), ``events`` and
    ``units`` (the numbers of events and of units). See the module docstring for the rules.

    >>> counts = pd.DataFrame({"days": [1, 2, 3, 4], "event": True, "count": 1})
    >>> float(km_quantile(counts, [], q=0.5)["value"].iloc[0])   # S = 1/2 on [2, 3)
    2.5
    """
    if not 0 < q < 1:
        raise ValueError(f"q must be between 0 and 1, got {q}")
    c = _Curves(counts, by, time, event, count)
    e = c.events_at                       # rows (of the sorted count table) that are event times
    cell = c.code[e]
    t = c.time[e]
    ncells = len(c.cells)

    # the quantile: R's quantile.survfit on F = 1 - S
    failed = 1 - c.survival
    reached = _first(failed >= q - tolerance, cell, ncells)   # F = q within tolerance, or above
    passed = _first(failed >= q + tolerance, cell, ncells)    # F above q
    start = _take(t, reached)
    after = np.where(passed >= 0, _take(t, passed), c.end)     # the next jump, or the end of the data
    value = np.where(passed == reached, start, (start + after) / 2)  # NaN where never reached

    # Brookmeyer-Crowley interval, as statsmodels' SurvfuncRight.quantile_ci(q, alpha, "cloglog")
    from scipy.special import ndtri  # scipy.stats' norm.ppf without importing scipy.stats (~0.6 s of CPU)

    alpha = 1 - confidence
    z = ndtri(1 - alpha / 2)
    sp, se = c.survival, c.se
    with np.errstate(divide="ignore", invalid="ignore"):  # log(0) at the curve's ends
        r = np.log(-np.log(sp)) - np.log(-np.log(1 - q))
        r /= (-1 / (sp * np.log(sp))) * se
    inside = np.abs(r) <= z
    first, last = _first(inside, cell, ncells), _last(inside, cell, ncells)
    low = _take(t, first)
    # the upper limit: the event time after the last one inside, infinite when that was the cell's last
    following = last + 1
    more = (last >= 0) & (following < len(t))
    more[more] = cell[following[more]] == np.flatnonzero(more)
    high = np.where(last >= 0, np.inf, np.nan)
    high[more] = t[following[more]]
    collapsed = (first < 0) & ~np.isnan(value)  # the curve jumps across 1 - q at the estimate
    low[collapsed] = high[collapsed] = value[collapsed]

    out = c.cells.reset_index(drop=True)
    out["value"] = value
    out["ci_low"] = low
    out["ci_high"] = high
    out["events"] = np.bincount(c.code, weights=c.deaths, minlength=ncells)
    out["units"] = np.bincount(c.code, weights=c.units, minlength=ncells)
    return out


class _Curves:
    """Kaplan-Meier curves of all cells of a count table, on rows sorted by cell and time.

    ``code``, ``time``, ``units``, ``deaths`` and ``at_risk`` per distinct (cell, time);
    ``events_at`` indexes the rows with events, where ``survival`` and ``se`` are given;
    ``end`` is the last time observed in each cell; ``cells`` the cells' keys by code.
    """

    def __init__(self, counts: pd.DataFrame, by: list[str], time: str, event: str, count: str):
        n = counts[count].to_numpy(np.int64)
        died = np.where(counts[event].to_numpy(bool), n, 0)
        days = counts[time].to_numpy(float)
        if by:
            codes = counts.groupby(by, sort=True, dropna=False).ngroup().to_numpy(np.int64)
        else:
            codes = np.zeros(len(counts), np.int64)
        self.cells = counts[by].iloc[_first_of(codes)] if len(counts) else counts[by].iloc[:0]
        order = np.lexsort((days, codes))
        codes, days, n, died = codes[order], days[order], n[order], died[order]
        # one row per (cell, time)
        new = np.r_[True, (codes[1:] != codes[:-1]) | (days[1:] != days[:-1])] if len(codes) else np.zeros(0, bool)
        starts = np.flatnonzero(new)
        self.code, self.time = codes[starts], days[starts]
        self.units = np.add.reduceat(n, starts) if len(starts) else np.zeros(0, np.int64)
        self.deaths = (np.add.reduceat(died, starts) if len(starts) else np.zeros(0, np.int64)).astype(float)
        ncells = len(self.cells)
        # at risk just before each time: units of the cell at this time or later (exact integers)
        behind = np.cumsum(self.units[::-1])[::-1]
        last_row = _last(np.ones(len(self.code), bool), self.code, ncells)
        beyond = np.where(last_row + 1 < len(behind), behind[np.minimum(last_row + 1, len(behind) - 1)], 0)
        self.at_risk = (behind - beyond[self.code]).astype(float)
        self.end = self.time[last_row] if len(self.time) else np.zeros(0)
        self.events_at = np.flatnonzero(self.deaths > 0)
        self._curve()

    def _curve(self) -> None:
        """S and its Greenwood standard error at the event times, operation for operation as
        statsmodels' ``_calc_survfunc_right`` (unweighted), so the results match to the bit."""
        e = self.events_at
        d, n, cell = self.deaths[e], self.at_risk[e], self.code[e]
        sp = 1 - d / n
        zero = sp < 1e-16
        sp[zero] = 1e-16
        sp = np.exp(_cumsum_within(np.log(sp), cell))
        sp[zero] = 0
        denom = np.clip(n * (n - d), 1e-12, np.inf)
        var = d / denom
        var[(n == d) | (n == 0)] = np.nan
        se = np.sqrt(_cumsum_within(var, cell))
        keep = np.isfinite(se) | (sp != 0)
        se[keep] *= sp[keep]
        se[~keep] = np.nan
        self.survival, self.se = sp, se


def _cumsum_within(values: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """Running sums restarting at each cell (rows sorted by cell), added in row order as
    ``np.cumsum`` does within one cell, so each cell's sums are bitwise those of ``np.cumsum``.

    Loops over the rank of a row within its cell (at most the number of distinct times),
    each step one vectorised addition over all cells.
    """
    out = values.astype(float).copy()
    if not len(out):
        return out
    start = np.r_[True, cell[1:] != cell[:-1]]
    rank = np.arange(len(out)) - np.maximum.accumulate(np.where(start, np.arange(len(out)), 0))
    by_rank = np.argsort(rank, kind="stable")
    edges = np.searchsorted(rank[by_rank], np.arange(rank.max() + 2))
    for k in range(1, rank.max() + 1):
        rows = by_rank[edges[k]:edges[k + 1]]
        out[rows] = out[rows - 1] + out[rows]
    return out


def _first_of(codes: np.ndarray) -> np.ndarray:
    """Position of the first row of each code 0, 1, ... (codes in any order)."""
    _, first = np.unique(codes, return_index=True)
    return first


def _take(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``values[rows]``, NaN where a row is -1 (none)."""
    out = np.full(len(rows), np.nan)
    found = rows >= 0
    out[found] = values[rows[found]]
    return out


def _first(mask: np.ndarray, cell: np.ndarray, ncells: int) -> np.ndarray:
    """Per cell, the first row where ``mask`` holds (rows sorted by cell); -1 where none."""
    rows = np.flatnonzero(mask)
    runs = np.r_[True, cell[rows[1:]] != cell[rows[:-1]]] if len(rows) else np.zeros(0, bool)
    out = np.full(ncells, -1, np.int64)
    out[cell[rows[runs]]] = rows[runs]
    return out


def _last(mask: np.ndarray, cell: np.ndarray, ncells: int) -> np.ndarray:
    """Per cell, the last row where ``mask`` holds (rows sorted by cell); -1 where none."""
    rows = np.flatnonzero(mask)
    runs = np.r_[cell[rows[1:]] != cell[rows[:-1]], True] if len(rows) else np.zeros(0, bool)
    out = np.full(ncells, -1, np.int64)
    out[cell[rows[runs]]] = rows[runs]
    return out
