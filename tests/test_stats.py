"""Interval machinery checked against statsmodels and against the formula."""
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from evalkit.methods.survey import Strata, ratio_variance, t_quantile, wilson


def test_wilson_edges():
    low, high = wilson([0, 5, 3], [10, 5, 0])
    assert low[0] == 0 and 0 < high[0] < 0.35
    assert high[1] == pytest.approx(1) and low[1] < 1
    assert np.isnan(low[2]) and np.isnan(high[2])


@pytest.mark.parametrize("confidence", [0.95, 0.9, 0.99])
def test_wilson_equals_statsmodels_to_the_bit(confidence):
    """The Wilson interval is statsmodels' proportion_confint(method="wilson"), clipped to [0, 1],
    without importing statsmodels: equal to the last bit, counts 0 and n included."""
    from statsmodels.stats.proportion import proportion_confint

    rng = np.random.default_rng(5)
    den = rng.integers(1, 5000, 2000).astype(float)
    num = np.floor(den * rng.random(2000))
    num[:50], num[50:100] = 0, den[50:100]
    low, high = wilson(num, den, confidence)
    lo, hi = proportion_confint(num, den, alpha=1 - confidence, method="wilson")
    np.testing.assert_array_equal(low, np.clip(lo, 0, 1))
    np.testing.assert_array_equal(high, np.clip(hi, 0, 1))


@pytest.mark.parametrize("confidence", [0.95, 0.9])
def test_t_quantile_equals_scipy_stats_to_the_bit(confidence):
    """t and normal quantiles from scipy.special equal scipy.stats' t.ppf and norm.ppf (normal where df is inf or NaN)."""
    from scipy.stats import norm, t

    df = np.r_[1.0, 2.0, 7.5, 30.0, 12345.0, np.inf, np.nan]
    expected = np.r_[t.ppf(0.5 + confidence / 2, df[:5]), [norm.ppf(0.5 + confidence / 2)] * 2]
    np.testing.assert_array_equal(t_quantile(df, confidence), expected)


def _strata_stats(y, x, w, psu, stratum):
    frame = pd.DataFrame({"X": w * x, "Y": w * y, "psu": psu, "stratum": stratum, "cell": "c"})
    per_psu = frame.groupby(["cell", "stratum", "psu"], as_index=False)[["X", "Y"]].sum()
    per_psu = per_psu.assign(XX=per_psu.X**2, XY=per_psu.X * per_psu.Y, YY=per_psu.Y**2)
    s = per_psu.groupby(["cell", "stratum"], as_index=False).agg(
        SX=("X", "sum"), SY=("Y", "sum"), SXX=("XX", "sum"), SXY=("XY", "sum"), SYY=("YY", "sum"))
    return s, frame.groupby("stratum")["psu"].nunique()


def test_linearised_variance_equals_statsmodels_cluster_robust():
    rng = np.random.default_rng(3)
    n = 400
    psu = rng.integers(0, 25, n)
    y = (rng.random(n) < 0.3 + 0.01 * psu).astype(float)
    w = rng.uniform(0.5, 3, n)
    s, n_h = _strata_stats(y, np.ones(n), w, psu, np.zeros(n, int))
    got = ratio_variance(s, Strata.from_counts(n_h), ["cell"]).iloc[0]
    fit = sm.WLS(y, np.ones(n), weights=w).fit(cov_type="cluster", cov_kwds={"groups": psu})
    assert got["ratio"] == pytest.approx(fit.params[0])
    assert np.sqrt(got["variance"]) == pytest.approx(fit.bse[0], rel=1e-10)


def test_stratified_variance_matches_a_direct_loop():
    rng = np.random.default_rng(4)
    n = 300
    stratum = rng.integers(0, 3, n)
    psu = stratum * 100 + rng.integers(0, 6, n)
    x = (rng.random(n) < 0.6).astype(float)  # a domain: only some units are in the denominator
    y = x * (rng.random(n) < 0.4)
    w = rng.uniform(1, 4, n)
    s, n_h = _strata_stats(y, x, w, psu, stratum)
    got = ratio_variance(s, Strata.from_counts(n_h), ["cell"]).iloc[0]
    r = (w * y).sum() / (w * x).sum()
    total = 0.0
    for h in np.unique(stratum):
        e = [((w * (y - r * x))[psu == p]).sum() for p in np.unique(psu[stratum == h])]
        total += len(e) / (len(e) - 1) * ((np.array(e) - np.mean(e)) ** 2).sum()
    assert got["variance"] == pytest.approx(total / (w * x).sum() ** 2, rel=1e-10)
