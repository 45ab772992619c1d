"""Design-based variance of ratio estimators, from sufficient statistics, and intervals.

The engine returns small per-cell sums; variances and intervals are finished here in
Python, so they work on any backend. Every rate and mean is a ratio estimator
R = sum(w*y) / sum(w*x), with the Taylor-linearised, with-replacement variance over
strata h and primary sampling units (PSUs) i of R's ``survey`` package:

    var(R) = sum_h (1 - f_h) n_h/(n_h-1) sum_i (z_hi - mean_h z)^2,  z_hi = (Y_hi - R X_hi) / X

where n_h counts every PSU of stratum h in the whole sample (domain estimation: PSUs with
no member of the domain count as zeros) and f_h is the sampling fraction (0 without a
finite population correction). Two estimates on the same sample (two groups, two
periods, a group and its region) are not independent: their covariance is the same sum
over the products of their linearised variables, PSU by PSU (:func:`ratio_covariance`).

Without a survey design, households are the PSUs of a single stratum. Intervals:
unweighted rates get Wilson intervals on the counts; weighted proportions a logit
interval with Student t on the design degrees of freedom (PSUs minus strata), as R's
``svyciprop(method="logit")`` and samplics' ``ciprop_method="logit"``; means, totals and
ratios a symmetric t interval.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from evalkit.errors import ParameterError

LONELY_PSU = ("fail", "remove", "certainty", "adjust", "average")
SUMS = ("SX", "SY", "SXX", "SXY", "SYY")
CROSS = ("CXX", "CXY", "CYX", "CYY")


@dataclass(frozen=True)
class Design:
    """How the households were sampled: columns of the households table and options.

    ``weight``, ``stratum``, ``psu`` name household columns (None: weights of 1, one
    stratum, households as PSUs). ``fpc`` names a column holding, per stratum, the number
    of PSUs in the population (values above 1) or the sampling fraction (values up to 1),
    as R's ``svydesign(fpc=)``. ``lonely_psu`` says what a stratum with a single PSU in
    the whole sample contributes, with R ``survey``'s options: ``fail`` (an error),
    ``remove`` and ``certainty`` (nothing), ``adjust`` (its deviation from the grand mean
    of PSU totals, which is 0 for a ratio estimator's linearised variable) and ``average``
    (the average contribution of the other strata). ``census`` marks a register that
    holds every household of a programme: intervals then describe the variation of the
    process that produced the data, not sampling error, and no finite population
    correction applies.

    >>> Design(weight="weight", psu="community_id").weighted
    True
    >>> Design(lonely_psu="drop")
    Traceback (most recent call last):
    ...
    evalkit.errors.ParameterError: lonely_psu must be one of fail, remove, certainty, adjust, average; got 'drop'
    """

    weight: str | None = None
    stratum: str | None = None
    psu: str | None = None
    fpc: str | None = None
    lonely_psu: str = "remove"
    census: bool = False

    def __post_init__(self):
        if self.lonely_psu not in LONELY_PSU:
            raise ParameterError(f"lonely_psu must be one of {', '.join(LONELY_PSU)}; got {self.lonely_psu!r}")
        if self.census and self.fpc:
            raise ParameterError("a census design takes no finite population correction (fpc): its intervals "
                                 "describe process variation, which a correction would remove")

    @property
    def weighted(self) -> bool:
        return self.weight is not None

    @property
    def trivial(self) -> bool:
        """No weights, strata or clusters: households are a simple random sample of themselves."""
        return self.weight is None and self.stratum is None and self.psu is None

    @property
    def clustered(self) -> bool:
        """True when PSUs are not the households themselves (a PSU may hold several groups)."""
        return self.psu is not None

    def describe(self) -> dict:
        return {"weight": self.weight, "stratum": self.stratum, "psu": self.psu, "fpc": self.fpc,
                "lonely_psu": self.lonely_psu, "census": self.census}


@dataclass(frozen=True)
class Strata:
    """Per stratum of the whole sample: ``psus`` (n_h), ``fpc`` (1 - f_h) and the lonely-PSU rule.

    Built once per run from the full design, never per domain.
    """

    table: pd.DataFrame  # index: stratum; columns psus, fpc
    lonely_psu: str = "remove"

    @classmethod
    def from_counts(cls, psus: pd.Series, population: pd.Series | None = None, lonely_psu: str = "remove") -> Strata:
        """``psus``: PSUs per stratum in the sample; ``population``: PSUs per stratum in the population, or fractions."""
        table = pd.DataFrame({"psus": psus.astype(float)})
        table["fpc"] = 1.0
        if population is not None:
            pop = population.reindex(table.index).astype(float)
            fraction = np.where(pop <= 1, pop, table["psus"] / pop)
            if np.any(np.isnan(fraction)) or np.any((fraction < 0) | (fraction > 1)):
                raise ParameterError("fpc must give, per stratum, a population of PSUs at least the sample's "
                                     "or a sampling fraction between 0 and 1")
            table["fpc"] = 1.0 - fraction
        lonely = table.index[table["psus"] < 2]
        if lonely_psu == "fail" and len(lonely):
            raise ParameterError(f"stratum {lonely[0]!r} has only one PSU (lonely_psu='fail'); choose another "
                                 f"lonely_psu option ({', '.join(LONELY_PSU[1:])}) or merge strata")
        return cls(table, lonely_psu)

    @property
    def df(self) -> float:
        """Design degrees of freedom: PSUs minus strata of the whole sample."""
        return float(self.table["psus"].sum() - len(self.table))

    def _scale(self, stratum: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n_h, fpc = self._per_stratum(stratum)
        lonely = n_h < 2
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(lonely, 0.0, fpc * n_h / (n_h - 1))
        return n_h, scale, lonely

    def _per_stratum(self, stratum: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """``psus`` and ``fpc`` of each stratum label (NaN for a label not in the sample)."""
        at = self.table.index.get_indexer(pd.Index(stratum))
        known = at >= 0
        out = []
        for column in ("psus", "fpc"):
            values = np.full(len(at), np.nan)
            values[known] = self.table[column].to_numpy(float)[at[known]]
            out.append(values)
        return out[0], out[1]

    def _average_factor(self) -> float:
        if self.lonely_psu != "average":
            return 1.0
        h = len(self.table)
        lonely = int((self.table["psus"] < 2).sum())
        return h / (h - lonely) if h > lonely else np.nan


def ratio_variance(strata_sums: pd.DataFrame, strata: Strata, cell: list[str]) -> pd.DataFrame:
    """Ratio and linearised variance per cell.

    ``strata_sums`` has one row per cell and stratum with ``stratum, SX, SY, SXX, SXY, SYY``
    (sums over the cell's PSUs of X_i, Y_i, X_i^2, X_i Y_i, Y_i^2). Returns per cell
    ``X, Y, ratio, variance``.
    """
    if strata_sums.empty:
        return pd.DataFrame(columns=[*cell, "X", "Y", "ratio", "variance"])
    s = strata_sums.copy()
    totals = s.groupby(cell, dropna=False, sort=False)[["SX", "SY"]].sum().rename(columns={"SX": "X", "SY": "Y"})
    totals["ratio"] = totals["Y"] / totals["X"].where(totals["X"] > 0)
    s = s.join(totals["ratio"], on=cell)
    r = s["ratio"].to_numpy(float)
    sum_e = s["SY"].to_numpy(float) - r * s["SX"].to_numpy(float)
    sum_e2 = s["SYY"].to_numpy(float) - 2 * r * s["SXY"].to_numpy(float) + r * r * s["SXX"].to_numpy(float)
    s["contrib"] = _contributions(strata, s["stratum"], sum_e2, sum_e, sum_e)
    # the size of the raw moments whose differences make sum_e2: what rounding is relative to
    s["moments"] = np.abs(s["SYY"].to_numpy(float)) + 2 * np.abs(r * s["SXY"].to_numpy(float)) \
        + r * r * np.abs(s["SXX"].to_numpy(float))
    grouped = s.groupby(cell, dropna=False, sort=False)
    variance = _without_rounding(grouped["contrib"].sum(), grouped["moments"].sum()) * strata._average_factor()
    totals["variance"] = (variance / totals["X"] ** 2).clip(lower=0)
    return totals.reset_index()


#: a variance below this share of the raw moments it is computed from is rounding, not variance
ROUNDING = 1e-12


def _without_rounding(variance: pd.Series, moments: pd.Series) -> pd.Series:
    """``variance`` with values at rounding level set to 0. Computed from raw moments
    (sum e^2 - (sum e)^2 / n), a variance that is truly 0 comes out as a tiny number that
    depends on the order the engine adds in (its threads), e.g. 2e-15 instead of 0."""
    return variance.where(variance.abs() > ROUNDING * moments, 0.0)


def total_variance(strata_sums: pd.DataFrame, strata: Strata, cell: list[str]) -> pd.DataFrame:
    """Estimated total and its variance per cell.

    The total is Y = sum_h sum_i Y_hi (Y_hi: the PSU's sum of w*y); its with-replacement
    variance is the between-PSU variance of PSU totals within strata,

        var(Y) = sum_h (1 - f_h) n_h/(n_h-1) sum_i (Y_hi - mean_h Y)^2,

    with n_h every PSU of the stratum in the whole sample (domains: PSUs without a member
    are zeros), as R's ``svytotal``. ``strata_sums`` is shaped as for
    :func:`ratio_variance` (only ``SY`` and ``SYY`` are read). Returns per cell ``Y,
    variance``. A lonely PSU follows ``strata.lonely_psu``; ``adjust`` centres it at 0
    (as for the ratios' linearised variables), which is conservative for a total.
    """
    if strata_sums.empty:
        return pd.DataFrame(columns=[*cell, "Y", "variance"])
    s = strata_sums
    sum_y = s["SY"].to_numpy(float)
    contrib = pd.Series(_contributions(strata, s["stratum"], s["SYY"].to_numpy(float), sum_y, sum_y), index=s.index)
    grouped = s.assign(contrib=contrib, moments=s["SYY"].abs()).groupby(cell, dropna=False, sort=False)
    out = grouped["SY"].sum().rename("Y").to_frame()
    out["variance"] = (_without_rounding(grouped["contrib"].sum(), grouped["moments"].sum())
                       * strata._average_factor()).clip(lower=0)
    return out.reset_index()


def ratio_covariance(pairs: pd.DataFrame, strata: Strata) -> np.ndarray:
    """Covariance of two ratio estimators a and b on the same sample, one row per pair and stratum.

    ``pairs`` has ``stratum``, each side's ratio and total denominator (``ratio_a, X_a,
    ratio_b, X_b``), each side's stratum sums (``SX_a, SY_a, SX_b, SY_b``) and the cross sums
    over PSUs ``CXX = sum_i X_ai X_bi``, ``CXY = sum_i X_ai Y_bi``, ``CYX``, ``CYY``.
    Returns each row's contribution; sum them per pair.
    """
    ra, rb = pairs["ratio_a"].to_numpy(float), pairs["ratio_b"].to_numpy(float)
    cross = (pairs["CYY"] - rb * pairs["CYX"] - ra * pairs["CXY"] + ra * rb * pairs["CXX"]).to_numpy(float)
    sum_a = (pairs["SY_a"] - ra * pairs["SX_a"]).to_numpy(float)
    sum_b = (pairs["SY_b"] - rb * pairs["SX_b"]).to_numpy(float)
    contrib = _contributions(strata, pairs["stratum"], cross, sum_a, sum_b)
    return contrib * strata._average_factor() / (pairs["X_a"].to_numpy(float) * pairs["X_b"].to_numpy(float))


def _contributions(strata: Strata, stratum: pd.Series, cross: np.ndarray, sum_a: np.ndarray,
                   sum_b: np.ndarray) -> np.ndarray:
    """Each stratum's term of a (co)variance: scale * (sum_i e_ai e_bi - sum_a sum_b / n_h)."""
    n_h, scale, lonely = strata._scale(stratum)
    with np.errstate(divide="ignore", invalid="ignore"):
        regular = scale * (cross - sum_a * sum_b / n_h)
    if strata.lonely_psu == "adjust":
        # centred at the grand mean of PSU totals, 0 for a ratio's linearised variable; scale 1
        fpc = strata._per_stratum(stratum)[1]
        return np.where(lonely, fpc * sum_a * sum_b, regular)
    return np.where(lonely, 0.0, regular)


def wilson(numerator, denominator, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval, NaN where the denominator is 0.

    >>> low, high = wilson([8], [10])
    >>> round(float(low[0]), 4), round(float(high[0]), 4)
    (0.4902, 0.9433)
    """
    num = np.asarray(numerator, dtype=float)
    den = np.asarray(denominator, dtype=float)
    ok = den > 0
    low = np.full(num.shape, np.nan)
    high = np.full(num.shape, np.nan)
    if ok.any():
        # statsmodels' proportion_confint(method="wilson"), operation for operation (tests/test_stats.py),
        # without its import (~0.7 s of CPU for every run)
        from scipy.special import ndtri

        n = den[ok]
        p = num[ok] / n
        crit = -ndtri((1 - confidence) / 2.0)  # the normal's upper alpha/2 point, as scipy's norm.isf
        crit2 = crit ** 2
        centre = (p + crit2 / (2 * n)) / (1 + crit2 / n)
        half = crit * np.sqrt(p * (1.0 - p) / n + crit2 / (4.0 * n ** 2)) / (1 + crit2 / n)
        low[ok], high[ok] = np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)
    return low, high


def t_quantile(df, confidence: float = 0.95) -> np.ndarray:
    """Student t quantile for a two-sided interval; the normal one where ``df`` is infinite or NaN."""
    # scipy.special's quantile functions are what scipy.stats' t.ppf and norm.ppf call, without
    # importing scipy.stats (~0.6 s of CPU)
    from scipy.special import ndtri, stdtrit

    df = np.asarray(df, dtype=float)
    q = 0.5 + confidence / 2
    with np.errstate(invalid="ignore"):
        return np.where(np.isfinite(df) & (df > 0), stdtrit(np.where(df > 0, df, 1), q), ndtri(q))


def t_interval(value, se, df, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric t interval, value ± t(df) se.

    >>> low, high = t_interval([2.0], [0.5], [np.inf])
    >>> round(float(low[0]), 3), round(float(high[0]), 3)
    (1.02, 2.98)
    """
    value = np.asarray(value, dtype=float)
    half = t_quantile(df, confidence) * np.asarray(se, dtype=float)
    return value - half, value + half


def logit_interval(p, se, df, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Logit interval for a proportion with Student t (R ``svyciprop(method="logit")``).

    At p = 0 or 1 the interval collapses onto p, as in samplics.

    >>> low, high = logit_interval([0.2], [0.04], [30])
    >>> round(float(low[0]), 4), round(float(high[0]), 4)
    (0.1305, 0.2941)
    """
    p = np.asarray(p, dtype=float)
    se = np.asarray(se, dtype=float)
    inside = (p > 0) & (p < 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = np.log(p / (1 - p))
        half = t_quantile(df, confidence) * se / (p * (1 - p))
        low = np.where(inside, 1 / (1 + np.exp(-(centre - half))), p)
        high = np.where(inside, 1 / (1 + np.exp(-(centre + half))), p)
    return low, high
