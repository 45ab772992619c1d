"""Confidence intervals from sufficient statistics.

The engine returns small per-cell sums; intervals are finished here in Python, so they
work on any backend. Unweighted rates get Wilson intervals. Weighted rates are ratio
estimators R = sum(w*y) / sum(w*x) with a Taylor-linearised, with-replacement variance
over strata and primary sampling units (PSUs):

    var(R) = 1/X^2 * sum_h n_h/(n_h-1) * sum_i (e_hi - mean_h e)^2,  e_hi = Y_hi - R X_hi

where n_h counts every PSU of stratum h in the sample (domain estimation: PSUs with no
member of the domain count as zeros). The interval is a Wilson interval at the effective
sample size p(1-p)/var(R), which stays inside [0, 1] and does not collapse at 0 or 1.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


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
        # Imported here: statsmodels costs ~0.5 s to import, which every report kernel
        # would pay through ``import evalkit`` without ever computing an interval.
        from statsmodels.stats.proportion import proportion_confint

        lo, hi = proportion_confint(num[ok], den[ok], alpha=1 - confidence, method="wilson")
        low[ok], high[ok] = np.clip(lo, 0, 1), np.clip(hi, 0, 1)
    return low, high


def ratio_variance(strata: pd.DataFrame, psus_per_stratum: pd.Series, cell: list[str]) -> pd.DataFrame:
    """Linearised variance of R = Y/X per cell.

    ``strata`` has one row per cell and stratum with columns ``stratum, SX, SY, SXX, SXY,
    SYY`` (sums over the cell's PSUs of X_i, Y_i, X_i^2, X_i*Y_i, Y_i^2); ``psus_per_stratum``
    maps each stratum to its number of PSUs in the whole sample. Returns per cell:
    ``X, Y, ratio, variance``.
    """
    if strata.empty:
        return pd.DataFrame(columns=[*cell, "X", "Y", "ratio", "variance"])
    s = strata.copy()
    totals = s.groupby(cell, dropna=False, sort=False)[["SX", "SY"]].sum().rename(columns={"SX": "X", "SY": "Y"})
    totals["ratio"] = totals["Y"] / totals["X"].where(totals["X"] > 0)
    s = s.join(totals["ratio"], on=cell)
    r = s["ratio"]
    n_h = s["stratum"].map(psus_per_stratum).astype(float)
    sum_e = s["SY"] - r * s["SX"]
    sum_e2 = s["SYY"] - 2 * r * s["SXY"] + r * r * s["SXX"]
    # Singleton strata carry no variance information; they add nothing.
    s["contrib"] = np.where(n_h > 1, n_h / (n_h - 1) * (sum_e2 - sum_e**2 / n_h), 0.0)
    totals["variance"] = s.groupby(cell, dropna=False, sort=False)["contrib"].sum() / totals["X"] ** 2
    totals["variance"] = totals["variance"].clip(lower=0)
    return totals.reset_index()


def design_interval(ratio, variance, n, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson interval at the effective sample size p(1-p)/var (``n`` where var is 0)."""
    p = np.asarray(ratio, dtype=float)
    var = np.asarray(variance, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = np.where((var > 0) & (p > 0) & (p < 1), p * (1 - p) / var, n)
    return wilson(p * n_eff, n_eff, confidence)


def normal_interval(value, variance, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Normal interval for a mean from its linearised variance.

    >>> low, high = normal_interval([2.0], [0.25])
    >>> round(float(low[0]), 3), round(float(high[0]), 3)
    (1.02, 2.98)
    """
    from scipy.stats import norm

    z = norm.ppf(0.5 + confidence / 2)
    half = z * np.sqrt(np.asarray(variance, dtype=float))
    value = np.asarray(value, dtype=float)
    return value - half, value + half
