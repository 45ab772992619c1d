"""Inequality, concentration and targeting measures, with design-based standard errors.

Pure functions on numpy arrays or pandas Series (aligned by position, not by index); no
data package is needed. Households are the units; ``weights`` are survey or population
weights (None: all 1).

Ranks. Gini and concentration indices use the weighted midpoint (fractional) rank of
the ranking variable r,

    R_i = (sum_{j: r_j < r_i} w_j + 1/2 sum_{j: r_j = r_i} w_j) / W,      W = sum_j w_j

so households with tied values of r share the mean fractional rank of their tie group
(O'Donnell, van Doorslaer, Wagstaff and Lindelow 2008, Analyzing Health Equity Using
Household Survey Data, ch. 8; Stata ``conindex``), and a household of integer weight k
gives exactly the result of k repeated rows of weight 1. With mu = sum w y / W,

    C = 2 cov_w(y, R) / mu = 2 sum_i w_i y_i R_i / sum_i w_i y_i - 1

is the concentration index of y ranked by r, and the Gini coefficient is C with y = r = x.
R's ``ineq::Gini`` gives the same value without weights; R ``convey``'s ``svygini``
weights its ranks as (2 N_i - 1) with N_i the cumulative weight (ties broken by sort
order), which equals the midpoint 2 N_i - w_i only when every weight is 1, so its Gini
differs whenever weights are not all 1.

Standard errors: linearisation including the estimated ranks (Kakwani, Wagstaff and van
Doorslaer 1997, Socioeconomic inequalities in health: measurement, computation, and
statistical inference, J. Econometrics 77; Osier 2009, Variance estimation for complex
indicators of poverty and inequality using linearization techniques, Survey Research
Methods 3). The influence function of C, the derivative of C with respect to the weight
w_k of household k (ranks recomputed), is

    z_k = [2 (y_k R_k + A_k / W - S / W) - (C + 1) y_k] / Y,
    Y = sum w y,  S = sum w y R,  A_k = sum_{i: r_i > r_k} w_i y_i + 1/2 sum_{i: r_i = r_k} w_i y_i

(A_k: the weighted total of y ranked above k, half of k's tie group), and sum_k w_k z_k = 0.
The variance of C is that of the total sum_k w_k z_k, with R ``survey``'s with-replacement
estimator over strata h and PSUs i (as :mod:`evalkit.methods.survey`),

    var(C) = sum_h (1 - f_h) n_h / (n_h - 1) sum_i (u_hi - mean_h u)^2,   u_hi = sum_{k in PSU hi} w_k z_k,

on PSUs minus strata degrees of freedom. Unweighted, without design, this is Kakwani et
al.'s (1997) variance times n / (n - 1). A difference of two indices on the same
households (:func:`concentration_gap`) takes the difference of the two influence
functions before summing per PSU, so their covariance is kept. A regression of
2 var(R) y / mu on R gives the same point estimate, but its standard error treats the
ranks as known and is not used here.

Values. Missing or infinite values (in any argument) raise :class:`ParameterError`: the
caller drops them and counts them (a dropped household's PSU still counts in the design).
Weights must be non-negative with a positive total. Per measure:

- Gini, Atkinson, Theil: negative values raise (income and aid amounts here are not
  negative). Zeros: accepted by the Gini, Theil T (0 log 0 = 0) and Atkinson with
  epsilon < 1; Theil L and Atkinson with epsilon >= 1 need positive values and raise on
  zeros (they are infinite there: the caller chooses to drop zeros or add a small amount).
  When every value is 0 (mean 0) the measure is undefined: NaN.
- Concentration index: y may take negative values (e.g. net transfers; the index is then
  no longer bounded by -1 and 1); a weighted mean of 0 gives NaN and a negative weighted
  mean raises. The ranking variable may take any finite value.
- Targeting errors: flags are booleans or 0/1; a ratio 0/0 is undefined, NaN (never 0).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import xlogy

from evalkit.errors import ParameterError
from evalkit.methods.survey import LONELY_PSU, Strata, _contributions, t_interval

THEIL_KINDS = ("T", "L")


# ----------------------------------------------------------------------------- inputs

def _array(x, name: str, n: int | None = None, where: np.ndarray | None = None) -> np.ndarray:
    """A finite float vector; missing or infinite values raise (only those ``where`` True, set to 0 elsewhere)."""
    try:
        if isinstance(x, np.ndarray) and x.dtype.kind in "biuf":
            arr = x.astype(float, copy=False).ravel()
        else:
            series = x if isinstance(x, pd.Series) else pd.Series(np.asarray(x, dtype=object).ravel() if np.ndim(x) else [x])
            arr = series.to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name} must be numeric") from exc
    if n is not None and len(arr) != n:
        raise ParameterError(f"{name} has {len(arr)} values, expected {n} (one per household)")
    bad = ~np.isfinite(arr)
    if where is not None:
        bad &= where
        arr = np.where(where, arr, 0.0)
    if bad.any():
        raise ParameterError(f"{name} has {int(bad.sum())} missing or infinite values (first at position "
                             f"{int(np.argmax(bad))}); drop those households first and count them")
    return arr


def _weights(weights, n: int) -> np.ndarray:
    if weights is None:
        return np.ones(n)
    w = _array(weights, "weights", n)
    if (w < 0).any():
        raise ParameterError(f"weights must not be negative ({int((w < 0).sum())} are)")
    if n and w.sum() <= 0:
        raise ParameterError("weights must have a positive total")
    return w


def _codes(labels, name: str, n: int) -> tuple[np.ndarray, pd.Index]:
    """Integer codes 0..k-1 of a label vector (strata, PSUs, groups); missing labels raise."""
    series = labels if isinstance(labels, pd.Series) else pd.Series(np.asarray(labels).ravel())
    if len(series) != n:
        raise ParameterError(f"{name} has {len(series)} values, expected {n} (one per household)")
    missing = series.isna().to_numpy()
    if missing.any():
        raise ParameterError(f"{name} has {int(missing.sum())} missing values (first at position "
                             f"{int(np.argmax(missing))}); drop those households first and count them")
    try:
        codes, uniques = pd.factorize(series, sort=True)
    except TypeError:  # labels of mixed types do not sort
        codes, uniques = pd.factorize(series)
    return codes, pd.Index(uniques)


def _nonnegative(x: np.ndarray, name: str) -> None:
    """Negative values raise; so does an empty vector (no households, no index)."""
    if len(x) == 0:
        raise ParameterError("no households: the index is not defined")
    if (x < 0).any():
        raise ParameterError(f"{name} has {int((x < 0).sum())} negative values; this measure is defined for "
                             "non-negative values only")


def _positive(x: np.ndarray, name: str, measure: str) -> None:
    if (x <= 0).any():
        raise ParameterError(f"{measure} needs positive values and {name} has {int((x <= 0).sum())} zero or "
                             "negative values; drop them (and count them) or use a measure that accepts zeros "
                             "(Theil T, Atkinson with epsilon < 1, Gini)")


# ----------------------------------------------------------------------------- ranks and concentration

def fractional_rank(rank_by, weights=None) -> np.ndarray:
    """Weighted midpoint (fractional) rank in (0, 1); tied values share their group's mean rank.

    R_i = (weight ranked strictly below i + half the weight of i's tie group) / total weight.

    >>> fractional_rank([10, 20, 20, 30]).tolist()
    [0.125, 0.5, 0.5, 0.875]
    >>> fractional_rank([10, 20, 30], weights=[2, 1, 1]).tolist()   # as rows 10, 10, 20, 30
    [0.25, 0.625, 0.875]
    """
    r = _array(rank_by, "rank_by")
    w = _weights(weights, len(r))
    _, gid = np.unique(r, return_inverse=True)
    gw = np.bincount(gid, w)
    return ((np.cumsum(gw) - gw / 2) / w.sum())[gid]


def _concentration(y: np.ndarray, r: np.ndarray, w: np.ndarray) -> tuple[float, np.ndarray]:
    """Concentration index of y ranked by r and its influence function z (per household, per unit weight)."""
    one = np.zeros(len(y), dtype=np.int64)
    values, z = concentration_by(y, w, one, tie_groups(one, r), 1)
    return float(values[0]), z


# ----------------------------------------------------------------------------- many domains at once
# An indicator table holds an index per region, group and period: the functions below take
# the households of every domain at once (``cell``: each row's domain, 0..cells-1; a
# household in several domains has a row in each) and return one value per domain and the
# influence function per row, with group operations and no loop over domains. The
# single-domain functions are their one-domain case.

def tie_groups(cell: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of one cell with equal ``r`` form a tie group; groups are numbered by cell, then
    by ``r``. Returns the group of each row and the cell of each group.

    >>> group, group_cell = tie_groups(np.array([0, 0, 0, 1]), np.array([5.0, 3.0, 5.0, 3.0]))
    >>> group.tolist(), group_cell.tolist()
    ([1, 0, 1, 2], [0, 0, 1])
    """
    order = np.lexsort((r, cell))
    c, v = cell[order], r[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = (c[1:] != c[:-1]) | (v[1:] != v[:-1])
    group = np.empty(len(order), dtype=np.int64)
    group[order] = np.cumsum(new) - 1
    return group, c[new]


def _cumsum_within(values: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """Running sums of ``values`` restarting at each cell (``cell`` sorted), each cell's added
    as ``np.cumsum`` adds them (a running sum over all cells less its start would carry the
    rounding of every cell before)."""
    if not len(values):
        return values.astype(float)
    bounds = np.flatnonzero(cell[1:] != cell[:-1]) + 1
    return np.concatenate([np.cumsum(part) for part in np.split(values, bounds)])


def concentration_by(y: np.ndarray, w: np.ndarray, cell: np.ndarray, ties: tuple[np.ndarray, np.ndarray],
                     cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Concentration index of y per cell and its influence function z per row, ranked within
    each cell by the tie groups ``ties`` (:func:`tie_groups` of the ranking variable; the
    Gini ranks by y itself). NaN in a cell whose y totals 0."""
    group, group_cell = ties
    wy = w * y
    total_w = np.bincount(cell, w, cells)
    total_y = np.bincount(cell, wy, cells)
    gw = np.bincount(group, w, len(group_cell))
    gy = np.bincount(group, wy, len(group_cell))
    with np.errstate(divide="ignore", invalid="ignore"):
        rank = ((_cumsum_within(gw, group_cell) - gw / 2) / total_w[group_cell])[group]
        above = (total_y[group_cell] - (_cumsum_within(gy, group_cell) - gy / 2))[group]  # y ranked above, half the tie
        s = np.bincount(cell, wy * rank, cells)
        c = 2 * s / total_y - 1
        z = (2 * (y * rank + above / total_w[cell] - s[cell] / total_w[cell]) - (c[cell] + 1) * y) / total_y[cell]
    undefined = total_y == 0
    c[undefined] = np.nan
    z[undefined[cell]] = np.nan
    return c, z


def theil_t_by(y: np.ndarray, w: np.ndarray, cell: np.ndarray, cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Theil T per cell and its influence function per row (:func:`_theil_t`); NaN in a cell whose y totals 0."""
    total_w = np.bincount(cell, w, cells)
    total_y = np.bincount(cell, w * y, cells)
    ylogy = xlogy(y, y)
    a = np.bincount(cell, w * ylogy, cells)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = a / total_y - np.log(total_y / total_w)
        ty, tw = total_y[cell], total_w[cell]
        z = ylogy / ty - a[cell] * y / ty ** 2 - y / ty + 1 / tw
    undefined = total_y == 0
    value[undefined] = np.nan
    z[undefined[cell]] = np.nan
    return value, z


def theil_between_share_by(y: np.ndarray, w: np.ndarray, cell: np.ndarray, groups: tuple[np.ndarray, np.ndarray],
                           cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Between-group share of Theil T per cell and its influence function per row
    (:func:`_theil_between_share`). ``groups``: the group of each row (numbered across
    cells) and the cell of each group. NaN where the cell's Theil T is 0 or undefined."""
    group, group_cell = groups
    total, z_total = theil_t_by(y, w, cell, cells)
    total_w = np.bincount(cell, w, cells)
    total_y = np.bincount(cell, w * y, cells)
    gw = np.bincount(group, w, len(group_cell))
    gy = np.bincount(group, w * y, len(group_cell))
    with np.errstate(divide="ignore", invalid="ignore"):
        log_mean = np.where(gy > 0, np.log(gy / gw), 0.0)  # a group with no y weighs 0 in C
        c = np.bincount(group_cell, gy * log_mean, cells)
        between = c / total_y - np.log(total_y / total_w)
        ty = total_y[cell]
        z_between = y * (log_mean[group] - c[cell] / ty) / ty + 1 / total_w[cell] - (gy / gw)[group] / ty
        share = between / total
        z = (z_between - share[cell] * z_total) / total[cell]
    undefined = ~np.isfinite(total) | (total == 0)
    share[undefined] = np.nan
    z[undefined[cell]] = np.nan
    return share, z


def _domain(domain, n: int) -> np.ndarray:
    """Boolean mask of the households in the domain (None: all)."""
    if domain is None:
        mask = np.ones(n, dtype=bool)
    else:
        mask = _flags(domain, "domain", n)
    if not mask.any():
        raise ParameterError("no households (in the domain): the index is not defined")
    return mask


def _index_inputs(ys: dict, rank_by, weights, domain) -> tuple[list[np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    """Validated y vectors (by name), ranking variable, weights and domain mask; values outside the domain are not checked."""
    n = len(rank_by) if np.ndim(rank_by) else 1
    mask = _domain(domain, n)
    r = _array(rank_by, "rank_by", n, mask)
    w = _weights(weights, n)
    out = []
    for name, y in ys.items():
        y = _array(y, name, n, mask)
        if (w * y)[mask].sum() < 0:
            raise ParameterError(f"the weighted mean of {name} is negative: its concentration index is not defined "
                                 "(it would change sign)")
        out.append(y)
    return out, r, w, mask


def _in_domain(y: np.ndarray, r: np.ndarray, w: np.ndarray, mask: np.ndarray) -> tuple[float, np.ndarray]:
    """Concentration index within the domain and its influence function on the whole sample (0 outside)."""
    value, z_domain = _concentration(y[mask], r[mask], w[mask])
    z = np.zeros(len(y))
    z[mask] = z_domain
    return value, z


# ----------------------------------------------------------------------------- design variance

def _design_codes(strata, psu, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.Index]:
    """Stratum code per household, PSU code per household (PSUs read within strata), stratum code per PSU, stratum labels."""
    h, labels = _codes(strata, "strata", n) if strata is not None else (np.zeros(n, dtype=np.int64), pd.Index(["all"]))
    if psu is None:
        return h, np.arange(n), h, labels
    p = _codes(psu, "psu", n)[0]
    pairs, psu_id = np.unique(h * (int(p.max()) + 1) + p, return_inverse=True)
    return h, psu_id, pairs // (int(p.max()) + 1), labels


def total_variance(u, strata=None, psu=None, fpc=None, lonely_psu: str = "remove") -> tuple[float, float]:
    """Design variance of a total sum_k u_k and its degrees of freedom (PSUs minus strata).

    ``u`` is the weighted linearised variable per household (w_k z_k). ``strata`` and
    ``psu`` label households (None: one stratum; households as PSUs); PSU labels are read
    within strata (the same label in two strata is two PSUs). ``fpc`` gives per household
    its stratum's population of PSUs (values above 1) or sampling fraction (up to 1), as
    R's ``svydesign(fpc=)``; ``lonely_psu`` as :class:`evalkit.methods.survey.Design`.
    The with-replacement estimator of R ``survey``: sum_h (1 - f_h) n_h/(n_h - 1)
    sum_i (u_hi - mean_h u)^2. ``lonely_psu="adjust"`` centres a lonely PSU's total at 0,
    the grand mean of PSU totals when sum_k u_k = 0, as for every influence function here.

    >>> v, df = total_variance([1.0, -1.0, 2.0, -2.0], strata=["a", "a", "b", "b"])
    >>> float(v), df     # stratum a: 2/1 * (1 + 1) = 4, b: 2/1 * (4 + 4) = 16
    (20.0, 2.0)
    """
    if lonely_psu not in LONELY_PSU:
        raise ParameterError(f"lonely_psu must be one of {', '.join(LONELY_PSU)}; got {lonely_psu!r}")
    u = _array(u, "u")
    n = len(u)
    if n == 0:
        raise ParameterError("no households: the variance is not defined")
    h, psu_id, psu_stratum, labels = _design_codes(strata, psu, n)
    k = len(labels)
    per_psu = np.bincount(psu_id, u)
    psus = np.bincount(psu_stratum, minlength=k)
    s1 = np.bincount(psu_stratum, per_psu, minlength=k)
    s2 = np.bincount(psu_stratum, per_psu**2, minlength=k)
    population = None
    if fpc is not None:
        f = _array(fpc, "fpc", n)
        per_stratum = pd.Series(f).groupby(h)
        if (per_stratum.nunique() > 1).any():
            raise ParameterError("fpc must be the same for every household of a stratum")
        population = per_stratum.first().set_axis(labels)
    design = Strata.from_counts(pd.Series(psus, index=labels), population, lonely_psu)
    contrib = _contributions(design, pd.Series(labels), s2, s1, s1)
    variance = float(np.sum(contrib) * design._average_factor())
    return max(variance, 0.0), design.df


@dataclass(frozen=True)
class Estimate:
    """An index with its linearised standard error and design degrees of freedom.

    >>> [round(v, 4) for v in Estimate(0.2, 0.05, 30.0, 100).conf_int(0.95)]
    [0.0979, 0.3021]
    """

    value: float
    se: float
    df: float
    n: int  # households in the sample (the whole sample when the index is for a domain)

    def conf_int(self, level: float = 0.95) -> tuple[float, float]:
        """Symmetric Student t interval value ± t(df) se (normal when df is infinite)."""
        if not 0 < level < 1:
            raise ParameterError(f"level must be between 0 and 1; got {level!r}")
        low, high = t_interval([self.value], [self.se], [self.df], level)
        return float(low[0]), float(high[0])


@dataclass(frozen=True)
class Gap(Estimate):
    """A difference of two indices on the same households, with both indices (``first``, ``second``)."""

    first: Estimate | None = None
    second: Estimate | None = None

    @property
    def independent_se(self) -> float:
        """sqrt(se1^2 + se2^2): the se if the two indices were independent, which they are not (for comparison)."""
        return float(np.hypot(self.first.se, self.second.se))


def _estimate(value: float, z: np.ndarray, w: np.ndarray, strata, psu, fpc, lonely_psu) -> Estimate:
    if not np.isfinite(value):
        return Estimate(value, np.nan, np.nan, len(w))
    variance, df = total_variance(w * z, strata, psu, fpc, lonely_psu)
    return Estimate(value, float(np.sqrt(variance)), df, len(w))


# ----------------------------------------------------------------------------- inequality

def gini(x, weights=None) -> float:
    """Gini coefficient by the weighted midpoint (fractional) rank formula, 2 cov_w(x, R) / mean_w(x).

    Ties share their mean rank (which does not change the Gini); integer weights give
    the result of repeated rows. R ``convey``'s ``svygini`` ranks with (2 N_i - 1) instead
    of the midpoint (2 N_i - w_i) and so differs when weights are not all 1. Negative
    values raise; zeros are accepted; all zeros give NaN.

    Four equal values: every R_i = 1/2, so the covariance and the Gini are 0. Values
    0, 0, 0, 1: the zeros share rank 3/8 and the 1 has 7/8, mean 1/4, cov_w =
    (3 (-1/4)(-1/8) + (3/4)(3/8)) / 4 = 3/32, Gini = 2 (3/32) / (1/4) = 3/4.

    >>> gini([1, 1, 1, 1])
    0.0
    >>> gini([0, 0, 0, 1])
    0.75
    >>> gini([0, 1], weights=[3, 1])      # as rows 0, 0, 0, 1
    0.75
    """
    x = _array(x, "x")
    w = _weights(weights, len(x))
    _nonnegative(x, "x")
    return _concentration(x, x, w)[0]


def gini_estimate(x, weights=None, strata=None, psu=None, fpc=None, lonely_psu: str = "remove", domain=None) -> Estimate:
    """Gini coefficient (:func:`gini`) with its linearised standard error over strata and PSUs.

    The influence function is the concentration index's (module docstring) with y = r = x,
    ranks included; the design arguments as :func:`total_variance`. ``domain`` (booleans,
    one per household of the whole sample) restricts the index to a subpopulation, ranked
    within it, while the variance runs over the whole design (influence 0 outside the
    domain, every PSU counted); values outside the domain are not used or checked.

    >>> est = gini_estimate([1, 2, 3, 4])
    >>> round(est.value, 4), round(est.se, 4), est.df
    (0.25, 0.0866, 3.0)
    """
    n = len(x) if np.ndim(x) else 1
    mask = _domain(domain, n)
    x = _array(x, "x", n, mask)
    w = _weights(weights, n)
    _nonnegative(x, "x")
    value, z = _in_domain(x, x, w, mask)
    return _estimate(value, z, w, strata, psu, fpc, lonely_psu)


def atkinson(x, epsilon: float = 0.5, weights=None) -> float:
    """Atkinson index 1 - (equally distributed equivalent) / mean, inequality aversion ``epsilon`` >= 0.

    EDE = (sum w x^(1-e) / W)^(1/(1-e)), and the weighted geometric mean when e = 1.
    Zeros are accepted when epsilon < 1; epsilon >= 1 needs positive values (raises).
    Negative values raise; all zeros give NaN.

    Values 1 and 4: e = 1, geometric mean 2, mean 2.5, A = 1 - 2/2.5 = 0.2; e = 2,
    harmonic mean 1 / ((1 + 1/4) / 2) = 1.6, A = 1 - 1.6/2.5 = 0.36.

    >>> round(atkinson([1, 4], epsilon=1), 12), round(atkinson([1, 4], epsilon=2), 12)
    (0.2, 0.36)
    """
    x = _array(x, "x")
    w = _weights(weights, len(x))
    if not np.isfinite(epsilon) or epsilon < 0:
        raise ParameterError(f"epsilon (inequality aversion) must be a finite number >= 0; got {epsilon!r}")
    _nonnegative(x, "x")
    if epsilon >= 1:
        _positive(x, "x", f"the Atkinson index with epsilon = {epsilon} (>= 1)")
    total_w = w.sum()
    mean = (w * x).sum() / total_w
    if mean == 0:
        return np.nan
    if epsilon == 1:
        ede = np.exp((w * np.log(x / mean)).sum() / total_w)
    else:
        ede = ((w * (x / mean) ** (1 - epsilon)).sum() / total_w) ** (1 / (1 - epsilon))
    return float(1 - ede)


def theil(x, weights=None, kind: str = "T") -> float:
    """Theil index: ``kind="T"`` sum w (x/mu) log(x/mu) / W; ``"L"`` (mean log deviation) sum w log(mu/x) / W.

    Theil T accepts zeros (0 log 0 = 0); Theil L needs positive values (raises on zeros).
    Negative values raise; all zeros give NaN.

    Values 1 and 3 (mean 2): T = (0.5 log 0.5 + 1.5 log 1.5) / 2 = 0.130812,
    L = (log 2 + log(2/3)) / 2 = 0.143841.

    >>> round(theil([1, 3]), 6), round(theil([1, 3], kind="L"), 6)
    (0.130812, 0.143841)
    >>> round(theil([0, 1]), 6)    # log 2, the largest value for two households
    0.693147
    """
    if kind not in THEIL_KINDS:
        raise ParameterError(f"kind must be 'T' or 'L'; got {kind!r}")
    x = _array(x, "x")
    w = _weights(weights, len(x))
    _nonnegative(x, "x")
    if kind == "L":
        _positive(x, "x", "the Theil L index (mean log deviation)")
    return _theil(x, w, kind)


def _theil(x: np.ndarray, w: np.ndarray, kind: str) -> float:
    total_w = w.sum()
    mean = (w * x).sum() / total_w
    if mean == 0:
        return np.nan
    if kind == "T":
        return float((w * xlogy(x / mean, x / mean)).sum() / total_w)
    return float((w * -np.log(x / mean)).sum() / total_w)


@dataclass(frozen=True)
class TheilDecomposition:
    """Theil index split into between-group and within-group parts, total = between + within.

    ``groups`` has one row per group: ``households``, ``population_share`` (p_g = W_g/W),
    ``income_share`` (s_g = Y_g/Y), ``mean``, ``theil`` (the group's own index), ``within``,
    ``between`` and ``contribution`` (within + between; the contributions add to the total).
    """

    kind: str
    total: float
    between: float
    within: float
    groups: pd.DataFrame


def theil_decomposition(x, groups, weights=None, kind: str = "T") -> TheilDecomposition:
    """Exact decomposition of Theil T or L by groups (Shorrocks 1980, Econometrica 48).

    T = sum_g s_g T_g + sum_g s_g log(mu_g / mu)  (within weighted by income shares s_g);
    L = sum_g p_g L_g + sum_g p_g log(mu / mu_g)  (within weighted by population shares p_g).
    A group whose values are all 0 (Theil T) has income share 0 and contributes 0; its
    own index is NaN. Zero and negative values follow :func:`theil`, but all zeros raise
    (there is nothing to decompose).

    Values 1, 3 in group a and 2, 2 in group b (mean 2 in both): between = 0 and within =
    (1/2) T_a + (1/2) 0 = 0.130812 / 2.

    >>> d = theil_decomposition([1, 3, 2, 2], ["a", "a", "b", "b"])
    >>> round(d.total, 6), round(d.between, 6), round(d.within, 6)
    (0.065406, 0.0, 0.065406)
    >>> d.groups["contribution"].round(6).tolist()
    [0.065406, 0.0]
    """
    if kind not in THEIL_KINDS:
        raise ParameterError(f"kind must be 'T' or 'L'; got {kind!r}")
    x = _array(x, "x")
    w = _weights(weights, len(x))
    g, labels = _codes(groups, "groups", len(x))
    _nonnegative(x, "x")
    if kind == "L":
        _positive(x, "x", "the Theil L index (mean log deviation)")
    total_w = w.sum()
    total_y = (w * x).sum()
    mean = total_y / total_w
    if mean == 0:
        raise ParameterError("every value is 0: the Theil index and its decomposition are not defined")
    k = len(labels)
    gw = np.bincount(g, w, minlength=k)
    gy = np.bincount(g, w * x, minlength=k)
    gn = np.bincount(g, minlength=k)
    with np.errstate(divide="ignore", invalid="ignore"):
        gmean = gy / gw
        rel = x / gmean[g]  # x relative to its group's mean
        p, s = gw / total_w, gy / total_y
        if kind == "T":
            own = np.bincount(g, w * xlogy(rel, rel), minlength=k) / gw
            within = np.where(s > 0, s * own, 0.0)
            between = np.where(s > 0, xlogy(s, gmean / mean), 0.0)
            own = np.where(gy > 0, own, np.nan)
        else:
            own = np.bincount(g, w * -np.log(rel), minlength=k) / gw
            within = np.where(p > 0, p * own, 0.0)
            between = np.where(p > 0, p * np.log(mean / gmean), 0.0)
    table = pd.DataFrame({"households": gn, "population_share": p, "income_share": s, "mean": gmean, "theil": own,
                          "within": within, "between": between}, index=labels.rename("group"))
    table["contribution"] = table["within"] + table["between"]
    return TheilDecomposition(kind, _theil(x, w, kind), float(between.sum()), float(within.sum()), table)


def _theil_t(y: np.ndarray, w: np.ndarray) -> tuple[float, np.ndarray]:
    """Theil T of y and its influence function z (per household, per unit weight).

    T = A/Y - log(Y/W) with A = sum w y log y, Y = sum w y, W = sum w, so
    z = (y log y)/Y - A y/Y^2 - y/Y + 1/W.
    """
    values, z = theil_t_by(y, w, np.zeros(len(y), dtype=np.int64), 1)
    return float(values[0]), z


def _theil_between_share(y: np.ndarray, w: np.ndarray, g: np.ndarray) -> tuple[float, np.ndarray]:
    """Between-group share of Theil T, B / T, and its influence function (``g``: group codes 0..k-1).

    B = sum_k (Y_k/Y) log(mu_k/mu) = C/Y - log(Y/W) with C = sum_k Y_k log(Y_k/W_k); its
    influence for a unit of group k is y (log mu_k - C/Y)/Y + 1/W - mu_k/Y (from the
    derivatives in Y_k and W_k); the share's is (z_B - (B/T) z_T)/T.
    """
    g = np.asarray(g, dtype=np.int64)
    groups = (g, np.zeros(int(g.max()) + 1 if len(g) else 0, dtype=np.int64))
    values, z = theil_between_share_by(y, w, np.zeros(len(y), dtype=np.int64), groups, 1)
    return float(values[0]), z


def theil_estimate(x, weights=None, strata=None, psu=None, fpc=None, lonely_psu: str = "remove",
                   domain=None) -> Estimate:
    """Theil T (:func:`theil`) with its linearised standard error over strata and PSUs.

    Zeros are accepted (0 log 0 = 0), so it measures inequality among every household,
    recipients or not. Design and ``domain`` arguments as :func:`gini_estimate`.

    >>> est = theil_estimate([1, 3])
    >>> round(est.value, 6), est.df
    (0.130812, 1.0)
    """
    n = len(x) if np.ndim(x) else 1
    mask = _domain(domain, n)
    x = _array(x, "x", n, mask)
    w = _weights(weights, n)
    _nonnegative(np.where(mask, x, 0.0), "x")
    value, z_domain = _theil_t(x[mask], w[mask])
    z = np.zeros(n)
    z[mask] = z_domain
    return _estimate(value, z, w, strata, psu, fpc, lonely_psu)


def between_share_estimate(x, groups, weights=None, strata=None, psu=None, fpc=None, lonely_psu: str = "remove",
                           domain=None) -> Estimate:
    """The share of Theil T between ``groups`` (e.g. sub-regions), B / T of
    :func:`theil_decomposition`, with its linearised standard error.

    0 when every group has the same mean, 1 when all inequality is between groups. Near
    0 the linearised se understates the sampling error (the share's gradient vanishes
    when the group means are equal); :func:`rao_wu_bootstrap` is the safer choice there.

    >>> est = between_share_estimate([1, 1, 3, 3], ["a", "a", "b", "b"])   # equal within each group
    >>> round(est.value, 6)
    1.0
    """
    n = len(x) if np.ndim(x) else 1
    mask = _domain(domain, n)
    x = _array(x, "x", n, mask)
    w = _weights(weights, n)
    _nonnegative(np.where(mask, x, 0.0), "x")
    g = _codes(np.asarray(groups, dtype=object)[mask], "groups", int(mask.sum()))[0]
    value, z_domain = _theil_between_share(x[mask], w[mask], g)
    z = np.zeros(n)
    z[mask] = z_domain
    return _estimate(value, z, w, strata, psu, fpc, lonely_psu)


# ----------------------------------------------------------------------------- concentration

def concentration_index(y, rank_by, weights=None, strata=None, psu=None, fpc=None, lonely_psu: str = "remove",
                        domain=None) -> Estimate:
    """Concentration index of ``y`` (e.g. aid received) ranked by ``rank_by`` (e.g. income), with its se.

    C = 2 cov_w(y, R) / mean_w(y) with R the weighted midpoint rank of ``rank_by``, tied
    values sharing their mean rank (O'Donnell et al. 2008; Stata ``conindex``); integer
    weights give the result of repeated rows. C < 0: y is concentrated among the worse
    off (pro-poor). The standard error linearises C including the estimated ranks
    (Kakwani, Wagstaff and van Doorslaer 1997; Osier 2009; module docstring), over
    ``strata`` and ``psu`` with ``fpc`` and ``lonely_psu`` as :func:`total_variance`;
    ``domain`` as :func:`gini_estimate` (ranks within the domain).

    y = 1, 2, 3, 4 ranked by 1, 1, 2, 3: the first two share rank (0 + 2/2)/4 = 1/4, then
    5/8 and 7/8; C = 2 (1/4 + 2/4 + 3 (5/8) + 4 (7/8)) / 10 - 1 = 0.225 (ranks 1/8 and 3/8
    for the tied pair would give 0.25).

    >>> round(concentration_index([1, 2, 3, 4], rank_by=[1, 1, 2, 3]).value, 12)
    0.225
    """
    (y,), r, w, mask = _index_inputs({"y": y}, rank_by, weights, domain)
    value, z = _in_domain(y, r, w, mask)
    return _estimate(value, z, w, strata, psu, fpc, lonely_psu)


def concentration_gap(y1, y2, rank_by, weights=None, strata=None, psu=None, fpc=None, lonely_psu: str = "remove",
                      domain=None) -> Gap:
    """C(y1) - C(y2) on the same households and ranking (e.g. charity minus government aid), with its se.

    The se is the design standard error of the total sum_k w_k (z1_k - z2_k), the
    difference of the two influence functions summed per PSU: it keeps the covariance of
    the two indices (same households, same ranks), which sqrt(se1^2 + se2^2)
    (:attr:`Gap.independent_se`) ignores. Arguments as :func:`concentration_index`.

    >>> gap = concentration_gap([4, 3, 2, 1], [1, 2, 3, 4], rank_by=[1, 2, 3, 4])
    >>> round(gap.value, 12), round(gap.first.value, 12), round(gap.second.value, 12)
    (-0.5, -0.25, 0.25)
    """
    (y1, y2), r, w, mask = _index_inputs({"y1": y1, "y2": y2}, rank_by, weights, domain)
    c1, z1 = _in_domain(y1, r, w, mask)
    c2, z2 = _in_domain(y2, r, w, mask)
    first = _estimate(c1, z1, w, strata, psu, fpc, lonely_psu)
    second = _estimate(c2, z2, w, strata, psu, fpc, lonely_psu)
    gap = _estimate(c1 - c2, z1 - z2, w, strata, psu, fpc, lonely_psu)
    return Gap(gap.value, gap.se, gap.df, gap.n, first, second)


def concentration_curve(y, rank_by, weights=None, points: int = 20) -> pd.DataFrame:
    """Ordinates of the concentration curve of ``y`` ranked by ``rank_by`` at a fixed grid.

    L(p): the share of the weighted total of y held by the poorest share p of the weight
    (persons), ranked by ``rank_by``, at p = 0, 1/points, ..., 1; the curve of a perfectly
    equal distribution is the 45-degree line L(p) = p, and a curve above it means y is
    concentrated among the worse off (concentration index C = 1 - 2 x the area under
    the curve, :func:`concentration_index`). Households with tied values of ``rank_by``
    share their mean rank (:func:`fractional_rank`): the curve runs straight across a
    tie group, as if its y were spread evenly over the group's weight, so the area under
    the curve gives exactly the index with midpoint ranks. Returns a frame with columns
    ``population_share`` and ``cumulative_share``, ``points + 1`` rows from (0, 0) to
    (1, 1); ``cumulative_share`` is NaN when the total of y is 0. Values as
    :func:`concentration_index` (missing raise, a negative total raises).

    y = 1, 2, 3, 4 ranked by 1, 1, 2, 3 (total 10): the tied pair holds half the
    weight and 3/10 of y, then 3/10 more at 3/4 and the last 4/10 at 1; at p = 1/4 the
    curve is halfway across the tie group, 0.15. The area under it is 0.3875 and
    1 - 2 x 0.3875 = 0.225, the concentration index.

    >>> concentration_curve([1, 2, 3, 4], rank_by=[1, 1, 2, 3], points=4)["cumulative_share"].round(12).tolist()
    [0.0, 0.15, 0.3, 0.6, 1.0]
    """
    if isinstance(points, bool) or not isinstance(points, (int, np.integer)) or points < 1:
        raise ParameterError(f"points must be a whole number >= 1; got {points!r}")
    (y,), r, w, _ = _index_inputs({"y": y}, rank_by, weights, None)
    grid = np.linspace(0.0, 1.0, int(points) + 1)
    total_y = (w * y).sum()
    if total_y == 0:
        return pd.DataFrame({"population_share": grid, "cumulative_share": np.nan})
    _, gid = np.unique(r, return_inverse=True)
    cum_w = np.concatenate([[0.0], np.cumsum(np.bincount(gid, w))]) / w.sum()
    cum_y = np.concatenate([[0.0], np.cumsum(np.bincount(gid, w * y))]) / total_y
    cum_w[-1], cum_y[-1] = 1.0, 1.0  # the curve ends at (1, 1), whatever rounding the sums carry
    return pd.DataFrame({"population_share": grid, "cumulative_share": np.interp(grid, cum_w, cum_y)})


# ----------------------------------------------------------------------------- targeting

@dataclass(frozen=True)
class TargetingErrors:
    """Exclusion and inclusion errors with the weighted counts behind them."""

    exclusion_error: float
    inclusion_error: float
    target: float
    covered: float
    covered_target: float


def _flags(x, name: str, n: int | None = None) -> np.ndarray:
    arr = _array(x, name, n)
    if not np.isin(arr, (0.0, 1.0)).all():
        raise ParameterError(f"{name} must be booleans or 0/1")
    return arr.astype(bool)


def targeting_errors(target, covered, weights=None) -> TargetingErrors:
    """Exclusion error EE = 1 - covered target / target; inclusion error IE = 1 - covered target / covered.

    World Bank (2022), Revisiting Targeting in Social Assistance, ch. 7. ``target``: the
    household belongs to the target group (e.g. eligible, or poor by a measure
    independent of the programme); ``covered``: it receives the programme. Counts are
    weighted. With no target household EE is 0/0, and with no covered household IE is
    0/0: both undefined, NaN (never 0).

    Target 1, 1, 1, 0, 0 and covered 1, 0, 0, 1, 0: one covered target of three targets,
    EE = 2/3; one of two covered, IE = 1/2.

    >>> te = targeting_errors([1, 1, 1, 0, 0], [1, 0, 0, 1, 0])
    >>> round(te.exclusion_error, 4), te.inclusion_error
    (0.6667, 0.5)
    >>> targeting_errors([0, 0], [1, 0]).exclusion_error
    nan
    """
    t = _flags(target, "target")
    c = _flags(covered, "covered", len(t))
    w = _weights(weights, len(t))
    n_t, n_c, n_tc = float(w[t].sum()), float(w[c].sum()), float(w[t & c].sum())
    ee = 1 - n_tc / n_t if n_t > 0 else np.nan
    ie = 1 - n_tc / n_c if n_c > 0 else np.nan
    return TargetingErrors(float(ee), float(ie), n_t, n_c, n_tc)


# ----------------------------------------------------------------------------- bootstrap

def _column(data, value, name: str):
    if isinstance(value, str):
        if not isinstance(data, pd.DataFrame) or value not in data.columns:
            raise ParameterError(f"{name} {value!r} is not a column of data")
        return data[value]
    return value


def rao_wu_factors(strata, psu, n: int, replicates: int = 1000, seed: int | np.random.Generator | None = 0) -> np.ndarray:
    """Rao-Wu rescaling bootstrap factors, shape (replicates, n): multiply the weights by a row.

    Within each stratum h of n_h PSUs, n_h - 1 PSUs are drawn with replacement and a
    PSU drawn m times gets factor m n_h / (n_h - 1) (Rao and Wu 1988; Rao, Wu and Yue
    1992; R ``survey``'s ``subbootstrap``). A stratum with a single PSU keeps factor 1
    (it contributes no variance, as ``lonely_psu="remove"``). No finite population
    correction. ``strata`` and ``psu`` as :func:`total_variance`.

    >>> f = rao_wu_factors(None, None, 3, replicates=2, seed=1)
    >>> sorted(set(f.ravel().tolist())) <= [0.0, 1.5, 3.0], f.sum(axis=1).tolist()
    (True, [3.0, 3.0])
    """
    if int(replicates) < 2:
        raise ParameterError(f"replicates must be at least 2; got {replicates!r}")
    rng = np.random.default_rng(seed)
    _, psu_id, psu_stratum, _ = _design_codes(strata, psu, n)
    factor = np.ones((int(replicates), len(psu_stratum)))
    for stratum in np.unique(psu_stratum):
        members = np.flatnonzero(psu_stratum == stratum)
        n_h = len(members)
        if n_h < 2:
            continue
        draws = rng.multinomial(n_h - 1, np.full(n_h, 1 / n_h), size=int(replicates))
        factor[:, members] = draws * (n_h / (n_h - 1))
    return factor[:, psu_id]


def rao_wu_bootstrap(statistic: Callable, data, strata=None, psu=None, weights=None, replicates: int = 1000,
                     seed: int | np.random.Generator | None = 0):
    """Rao-Wu rescaling bootstrap standard error of ``statistic(data, weights)`` over PSUs.

    ``strata``, ``psu`` and ``weights`` are columns of ``data`` (names) or vectors (None:
    one stratum, households as PSUs, weights 1). ``statistic`` is called once per
    replicate with the rescaled weights (:func:`rao_wu_factors`) and returns a number or
    a vector of numbers (several statistics on the same replicates). The se is
    sqrt(sum_r (t_r - mean t)^2 / (R - 1)), as R ``survey``'s bootstrap replicate designs.
    ``seed`` is fixed by default so results reproduce.

    >>> x = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    >>> se = rao_wu_bootstrap(lambda d, w: np.sum(w * d) / np.sum(w), x, replicates=200, seed=3)
    >>> 0.5 < se < 0.9      # the mean's se is sqrt(17.5 / 6 / 6) = 0.697
    True
    """
    n = len(data)
    strata, psu, weights = _column(data, strata, "strata"), _column(data, psu, "psu"), _column(data, weights, "weights")
    w = _weights(weights, n)
    factors = rao_wu_factors(strata, psu, n, replicates, seed)
    values = np.array([np.asarray(statistic(data, w * row), dtype=float) for row in factors])
    se = values.std(axis=0, ddof=1)
    return float(se) if se.ndim == 0 else se
