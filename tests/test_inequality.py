"""Inequality, concentration and targeting measures: reference values, hand values, rules and design-based se."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evalkit import fairness
from evalkit.errors import ParameterError
from evalkit.methods.inequality import _concentration, _theil_between_share, _theil_t
from evalkit.methods.survey import Strata, ratio_variance

INEQ_X = [541, 1463, 2445, 3438, 4437, 5401, 6392, 8304, 11904, 22261]


def simulate(seed: int = 7) -> pd.DataFrame:
    """20 strata x 10 PSUs x 30 households; income clustered in PSUs and rounded (ties); charity follows government aid."""
    rng = np.random.default_rng(seed)
    strata, psus, size = 20, 10, 30
    n = strata * psus * size
    stratum = np.repeat(np.arange(strata), psus * size)
    psu = np.repeat(np.arange(strata * psus), size)
    log_income = 8 + rng.normal(0, 0.3, strata)[stratum] + rng.normal(0, 0.4, strata * psus)[psu] + rng.normal(0, 0.6, n)
    income = np.round(np.exp(log_income), -1)
    weight = rng.uniform(50, 150, strata * psus)[psu] * rng.uniform(0.8, 1.25, n)
    need = rng.normal(0, 1, strata * psus)[psu] + rng.normal(0, 1, n)
    gov = np.maximum(0, 2500 - 0.4 * income + 600 * need + rng.normal(0, 300, n))
    charity = 0.6 * gov * np.exp(rng.normal(0, 0.2, n)) + rng.exponential(50, n)
    absent = (stratum < 5) | ((stratum < 10) & (psu % psus < 3))  # a domain absent from strata 0-4 and some PSUs of 5-9
    local = rng.uniform(0, 1, n) < np.where(absent, 0.0, 0.6)
    return pd.DataFrame({"stratum": stratum, "psu": psu % psus, "weight": weight, "income": income, "gov": gov,
                         "charity": charity, "local": local})


@pytest.fixture(scope="module")
def survey() -> pd.DataFrame:
    return simulate()


# ----------------------------------------------------------------------------- values

def test_r_ineq_reference_values():
    # R: ineq::Gini(x) and ineq::Atkinson(x, parameter = 0.5)
    assert fairness.gini(INEQ_X) == pytest.approx(0.4620911, abs=1e-7)
    assert fairness.atkinson(INEQ_X, epsilon=0.5) == pytest.approx(0.1796591, abs=1e-7)


def test_hand_values():
    assert fairness.gini([1, 1, 1, 1]) == 0
    assert fairness.gini([0, 0, 0, 1]) == pytest.approx(0.75, abs=1e-15)
    assert fairness.gini([1, 2, 3, 4]) == pytest.approx(0.25, abs=1e-15)  # sum (2i - n - 1) x_i / (n^2 mu) = 10 / 40
    assert fairness.theil([1, 3]) == pytest.approx((0.5 * np.log(0.5) + 1.5 * np.log(1.5)) / 2, abs=1e-15)
    assert fairness.theil([1, 3], kind="L") == pytest.approx((np.log(2) + np.log(2 / 3)) / 2, abs=1e-15)
    assert fairness.theil([0, 1]) == pytest.approx(np.log(2), abs=1e-15)
    assert fairness.atkinson([1, 4], epsilon=1) == pytest.approx(0.2, abs=1e-15)
    assert fairness.atkinson([1, 4], epsilon=2) == pytest.approx(0.36, abs=1e-15)
    assert fairness.atkinson([1, 4], epsilon=0) == pytest.approx(0, abs=1e-15)
    assert fairness.atkinson([0, 1], epsilon=0.5) == pytest.approx(1 - 0.25 / 0.5, abs=1e-15)  # (mean sqrt x)^2 = 1/4
    for measure in (fairness.gini, fairness.theil, fairness.atkinson):
        assert np.isnan(measure([0, 0, 0]))


def _direct_rank(r: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Midpoint rank for a ranking variable without ties, from a cumulative sum in sorted order."""
    order = np.argsort(r)
    rank = np.empty(len(r))
    rank[order] = (np.cumsum(w[order]) - w[order] / 2) / w.sum()
    return rank


def test_concentration_index_is_twice_weighted_covariance_over_mean():
    rng = np.random.default_rng(1)
    r = rng.lognormal(8, 1, 500)
    y = np.maximum(0, 3000 - 0.3 * r + rng.normal(0, 500, 500))
    w = rng.uniform(0.2, 5, 500)
    rank = _direct_rank(r, w)
    mean_y = np.sum(w * y) / w.sum()
    cov = np.sum(w * (y - mean_y) * (rank - np.sum(w * rank) / w.sum())) / w.sum()
    ci = fairness.concentration_index(y, rank_by=r, weights=w)
    assert ci.value == pytest.approx(2 * cov / mean_y, abs=1e-12)
    assert ci.value < -0.1  # aid falls with income: pro-poor
    # the Gini is the concentration index of x ranked by itself
    mean_r = np.sum(w * r) / w.sum()
    assert fairness.gini(r, w) == pytest.approx(2 * np.sum(w * (r - mean_r) * (rank - 0.5)) / w.sum() / mean_r, abs=1e-12)


def test_tied_ranks_share_their_mean_rank():
    assert fairness.fractional_rank([10, 20, 20, 30]).tolist() == [0.125, 0.5, 0.5, 0.875]
    # y 1, 2, 3, 4 ranked by 1, 1, 2, 3: ranks 1/4, 1/4, 5/8, 7/8 -> 2 (0.25 + 0.5 + 1.875 + 3.5) / 10 - 1
    assert fairness.concentration_index([1, 2, 3, 4], rank_by=[1, 1, 2, 3]).value == pytest.approx(0.225, abs=1e-15)
    # the order of tied rows does not matter (sequential ranks would give 0.25 here and -0.25 reversed)
    assert fairness.concentration_index([2, 1, 3, 4], rank_by=[1, 1, 2, 3]).value == pytest.approx(0.225, abs=1e-15)
    # one tie group: every household has rank 1/2, so C = 0 whatever the weights
    assert fairness.concentration_index([1, 5, 7], rank_by=[0, 0, 0], weights=[3, 1, 2]).value == pytest.approx(0, abs=1e-15)


def test_integer_weights_equal_repeated_rows():
    rng = np.random.default_rng(2)
    x = np.round(rng.lognormal(7, 0.8, 60), -2)  # rounded: ties
    y = np.round(rng.exponential(300, 60))
    k = rng.integers(1, 5, 60)
    xr, yr = np.repeat(x, k), np.repeat(y, k)
    assert fairness.gini(x, k) == pytest.approx(fairness.gini(xr), rel=1e-12)
    assert fairness.concentration_index(y, x, k).value == pytest.approx(fairness.concentration_index(yr, xr).value, rel=1e-12)
    for kind in ("T", "L"):
        assert fairness.theil(x, k, kind=kind) == pytest.approx(fairness.theil(xr, kind=kind), rel=1e-12)
    for epsilon in (0.5, 1, 2):
        assert fairness.atkinson(x, epsilon, k) == pytest.approx(fairness.atkinson(xr, epsilon), rel=1e-12)


def test_convey_weighted_ranks_differ_unless_weights_are_one():
    x, w = np.array([1.0, 2.0, 4.0, 8.0]), np.array([1.0, 3.0, 2.0, 1.0])

    def convey(x, w):  # svygini: sum (2 N_i - 1) x_i w_i / (N T) - 1
        return np.sum((2 * np.cumsum(w) - 1) * x * w) / (w.sum() * np.sum(w * x)) - 1

    assert fairness.gini(x) == pytest.approx(convey(x, np.ones(4)), abs=1e-15)
    assert abs(fairness.gini(x, w) - convey(x, w)) > 0.01


def test_theil_decomposition_is_exact():
    rng = np.random.default_rng(3)
    x = rng.lognormal(8, 0.9, 400) * np.repeat([0.5, 1.0, 1.5, 3.0], 100)
    groups = np.repeat(["a", "b", "c", "d"], 100)
    w = rng.uniform(0.5, 3, 400)
    for kind in ("T", "L"):
        d = fairness.theil_decomposition(x, groups, w, kind=kind)
        assert d.total == pytest.approx(fairness.theil(x, w, kind=kind), rel=1e-14)
        assert d.within + d.between == pytest.approx(d.total, rel=1e-12)
        assert d.groups["contribution"].sum() == pytest.approx(d.total, rel=1e-12)
        # between: the index of the distribution where everyone has their group's mean
        means = pd.Series(w * x).groupby(groups).sum() / pd.Series(w).groupby(groups).sum()
        assert d.between == pytest.approx(fairness.theil(means.loc[groups].to_numpy(), w, kind=kind), rel=1e-12)
        assert d.groups.loc["b", "theil"] == pytest.approx(fairness.theil(x[100:200], w[100:200], kind=kind), rel=1e-12)
        assert d.between > 0.05 and d.within > 0.1
    # a group of zeros contributes nothing to Theil T
    d = fairness.theil_decomposition([0, 0, 1, 3], ["z", "z", "p", "p"])
    assert d.groups.loc["z", "contribution"] == 0 and np.isnan(d.groups.loc["z", "theil"])
    assert d.within + d.between == pytest.approx(fairness.theil([0, 0, 1, 3]), rel=1e-12)


@pytest.mark.parametrize("call, message", [
    (lambda: fairness.theil([0, 1, 2], kind="L"), "positive values"),
    (lambda: fairness.atkinson([0, 1, 2], epsilon=1), "positive values"),
    (lambda: fairness.atkinson([0, 1, 2], epsilon=2.5), "positive values"),
    (lambda: fairness.theil_decomposition([0, 1], ["a", "b"], kind="L"), "positive values"),
    (lambda: fairness.gini([-1, 1, 2]), "negative values"),
    (lambda: fairness.theil([-1, 1, 2]), "negative values"),
    (lambda: fairness.gini([1.0, np.nan, 2.0]), "1 missing"),
    (lambda: fairness.gini(pd.Series([1, None, 2], dtype="Float64")), "1 missing"),
    (lambda: fairness.concentration_index([1, 2], [1, np.nan]), "rank_by has 1 missing"),
    (lambda: fairness.concentration_index([-5, 1], [1, 2]), "negative"),
    (lambda: fairness.gini([1, 2], weights=[1, -1]), "weights must not be negative"),
    (lambda: fairness.gini([1, 2], weights=[1]), "expected 2"),
    (lambda: fairness.atkinson([1, 2], epsilon=-1), "epsilon"),
    (lambda: fairness.theil([1, 2], kind="X"), "kind"),
    (lambda: fairness.theil_decomposition([1, 2], ["a", None]), "groups has 1 missing"),
    (lambda: fairness.targeting_errors([1, 2], [0, 1]), "booleans or 0/1"),
    (lambda: fairness.concentration_index([1, 2, 3], [1, 2, 3], strata=["a", "a", "b"], lonely_psu="fail"), "only one PSU"),
])
def test_zero_negative_and_missing_value_rules(call, message):
    with pytest.raises(ParameterError, match=message):
        call()


def test_zeros_and_negatives_where_accepted():
    assert fairness.theil([0, 1, 3]) > 0
    assert fairness.atkinson([0, 1, 3], epsilon=0.99) > 0
    # a concentration index accepts negative values of y (net transfers) when the mean is positive
    assert np.isfinite(fairness.concentration_index([-1, 2, 3], [1, 2, 3]).value)
    assert np.isnan(fairness.concentration_index([-1, 1, 0], [1, 2, 3]).value)  # mean 0: undefined


def test_targeting_errors():
    te = fairness.targeting_errors([1, 1, 1, 0, 0], [1, 0, 0, 1, 0])
    assert (te.exclusion_error, te.inclusion_error) == (pytest.approx(2 / 3, abs=1e-15), 0.5)
    # weighted: targets 1 + 2 + 1 = 4, one covered; covered 1 + 1 = 2
    te = fairness.targeting_errors([True, True, True, False, False], [True, False, False, True, False], weights=[1, 2, 1, 1, 3])
    assert (te.exclusion_error, te.inclusion_error, te.target, te.covered, te.covered_target) == (0.75, 0.5, 4, 2, 1)
    none_targeted = fairness.targeting_errors([0, 0, 0], [1, 0, 0])
    assert np.isnan(none_targeted.exclusion_error) and none_targeted.inclusion_error == 1
    none_covered = fairness.targeting_errors([1, 0, 0], [0, 0, 0])
    assert none_covered.exclusion_error == 1 and np.isnan(none_covered.inclusion_error)
    perfect = fairness.targeting_errors([1, 0, 1], [1, 0, 1])
    assert (perfect.exclusion_error, perfect.inclusion_error) == (0, 0)


# ----------------------------------------------------------------------------- standard errors

def test_influence_function_is_the_derivative_in_the_weights():
    """z_k = dC/dw_k with the ranks recomputed: checked by central differences, ties included."""
    rng = np.random.default_rng(4)
    r = rng.integers(0, 8, 25).astype(float)  # many ties
    y = rng.exponential(10, 25)
    w = rng.uniform(0.5, 2, 25)
    _, z = _concentration(y, r, w)
    h = 1e-6
    numeric = np.array([(fairness.concentration_index(y, r, w + h * e).value - fairness.concentration_index(y, r, w - h * e).value) / (2 * h)
                        for e in np.eye(25)])
    assert np.allclose(z, numeric, rtol=1e-5, atol=1e-9)
    assert abs(np.sum(w * z)) < 1e-12


def test_unweighted_se_is_kakwani_wagstaff_van_doorslaer():
    """Simple random sample: var = (1/n) [mean(a^2) - (1 + C)^2] (KWvD 1997, eq. 14) times n / (n - 1)."""
    rng = np.random.default_rng(5)
    n = 300
    r = rng.lognormal(8, 1, n)
    y = rng.exponential(1000, n) * (r < np.median(r)) + rng.exponential(200, n)
    ci = fairness.concentration_index(y, r)
    order = np.argsort(r)
    ys, mu = y[order], y.mean()
    rank = (np.arange(1, n + 1) - 0.5) / n
    q = np.cumsum(ys) / (n * mu)
    q_before = np.r_[0, q[:-1]]
    a = ys / mu * (2 * rank - 1 - ci.value) + 2 - q_before - q
    var_kakwani = (np.mean(a**2) - (1 + ci.value) ** 2) / n
    assert ci.se**2 == pytest.approx(var_kakwani * n / (n - 1), rel=1e-10)
    assert ci.df == n - 1


def test_total_variance_matches_survey_ratio_variance():
    """A mean's linearised variable through total_variance gives survey.ratio_variance, with fpc and lonely PSUs."""
    rng = np.random.default_rng(6)
    d = pd.DataFrame({"stratum": np.repeat(["a", "b", "c"], [40, 40, 10]), "psu": np.r_[np.repeat(range(4), 10), np.repeat(range(5), 8), [0] * 10],
                      "y": rng.exponential(5, 90), "w": rng.uniform(1, 3, 90)})
    d["fpc"] = d["stratum"].map({"a": 20, "b": 0.25, "c": 3})
    mean = np.sum(d.w * d.y) / d.w.sum()
    u = d.w * (d.y - mean) / d.w.sum()
    frame = pd.DataFrame({"X": d.w, "Y": d.w * d.y, "psu": d.psu, "stratum": d.stratum})
    per_psu = frame.groupby(["stratum", "psu"], as_index=False)[["X", "Y"]].sum()
    per_psu = per_psu.assign(XX=per_psu.X**2, XY=per_psu.X * per_psu.Y, YY=per_psu.Y**2, cell="all")
    sums = per_psu.groupby(["cell", "stratum"], as_index=False).agg(
        SX=("X", "sum"), SY=("Y", "sum"), SXX=("XX", "sum"), SXY=("XY", "sum"), SYY=("YY", "sum"))
    psus = per_psu.groupby("stratum").size()
    for lonely in ("remove", "adjust", "average"):
        strata = Strata.from_counts(psus, d.groupby("stratum")["fpc"].first(), lonely)
        expected = ratio_variance(sums, strata, ["cell"])["variance"].iloc[0]
        variance, df = fairness.total_variance(u, d.stratum, d.psu, d.fpc, lonely)
        assert variance == pytest.approx(expected, rel=1e-10)
        assert df == 10 - 3
    with pytest.raises(ParameterError, match="same for every household"):
        fairness.total_variance(u, d.stratum, d.psu, np.arange(90.0))


def test_rao_wu_factors_rescale_within_strata():
    f = fairness.rao_wu_factors(np.repeat([0, 1, 2], [6, 4, 1]), [0, 0, 1, 1, 2, 3, 0, 1, 2, 3, 0], 11, replicates=50, seed=1)
    psu_of = np.array([0, 2, 4, 5, 6, 7, 8, 9])  # one household per PSU of strata 0 and 1
    assert np.allclose(f[:, psu_of[:4]].sum(axis=1), 4) and np.allclose(f[:, psu_of[4:]].sum(axis=1), 4)
    assert np.all(f[:, 0] == f[:, 1]) and np.all(f[:, 10] == 1)  # households of a PSU move together; lonely PSU fixed
    assert set(np.round(np.unique(f[:, :6]), 12)) <= {0, round(4 / 3, 12), round(8 / 3, 12), 4}


def test_linearised_se_agrees_with_rao_wu_bootstrap(survey):
    d = survey
    design = dict(weights=d.weight, strata=d.stratum, psu=d.psu)
    g = fairness.gini_estimate(d.income, **design)
    ci = fairness.concentration_index(d.charity, d.income, **design)
    gap = fairness.concentration_gap(d.charity, d.gov, d.income, **design)
    local = fairness.concentration_index(d.gov, d.income, **design, domain=d.local)
    assert g.df == ci.df == gap.df == local.df == 200 - 20

    def statistic(data, w):
        return [fairness.gini(data.income, w), fairness.concentration_index(data.charity, data.income, w).value,
                fairness.concentration_gap(data.charity, data.gov, data.income, w).value,
                fairness.concentration_index(data.gov, data.income, w, domain=data.local).value]

    boot = fairness.rao_wu_bootstrap(statistic, d, "stratum", "psu", "weight", replicates=1000, seed=11)  # ~5 s
    linearised = np.array([g.se, ci.se, gap.se, local.se])
    assert np.all(np.abs(boot / linearised - 1) < 0.10), (boot, linearised)
    # the ranks matter: a se treating them as known is far from the bootstrap for the Gini
    w, x = d.weight.to_numpy(), d.income.to_numpy()
    rank = fairness.fractional_rank(x, w)
    z_known_ranks = (2 * x * rank - (g.value + 1) * x) / np.sum(w * x)
    naive, _ = fairness.total_variance(w * z_known_ranks, d.stratum, d.psu)
    assert abs(np.sqrt(naive) / boot[0] - 1) > 0.25


def test_gap_se_keeps_the_covariance_of_the_two_indices(survey):
    d = survey
    assert np.corrcoef(d.charity, d.gov)[0, 1] > 0.8
    gap = fairness.concentration_gap(d.charity, d.gov, d.income, d.weight, d.stratum, d.psu)
    first = fairness.concentration_index(d.charity, d.income, d.weight, d.stratum, d.psu)
    second = fairness.concentration_index(d.gov, d.income, d.weight, d.stratum, d.psu)
    assert gap.value == pytest.approx(first.value - second.value, abs=1e-15)
    assert (gap.first.se, gap.second.se) == (pytest.approx(first.se, rel=1e-12), pytest.approx(second.se, rel=1e-12))
    assert gap.independent_se == pytest.approx(np.hypot(first.se, second.se), rel=1e-12)
    assert gap.se < 0.5 * gap.independent_se
    low, high = gap.conf_int(0.95)
    assert low < gap.value < high and high - low == pytest.approx(2 * 1.9732 * gap.se, rel=1e-3)  # t(180)


def test_domain_ranks_within_and_keeps_the_whole_design(survey):
    d = survey
    m = d.local.to_numpy()
    whole = fairness.concentration_index(d.gov, d.income, d.weight, d.stratum, d.psu, domain=m)
    subset = fairness.concentration_index(d.gov[m], d.income[m], d.weight[m], d.stratum[m], d.psu[m])
    assert whole.value == pytest.approx(subset.value, abs=1e-15)
    assert whole.df == 180 and subset.df == 135 - 15 and whole.n == 6000
    assert whole.se != pytest.approx(subset.se, rel=1e-6)  # the domain's size varies between PSUs
    assert fairness.gini_estimate(d.income, d.weight, domain=m).value == pytest.approx(fairness.gini(d.income[m], d.weight[m]), abs=1e-15)
    # values outside the domain are neither used nor checked
    gov = d.gov.where(m)
    assert fairness.concentration_index(gov, d.income, d.weight, d.stratum, d.psu, domain=m).se == pytest.approx(whole.se, rel=1e-12)
    everyone = fairness.concentration_index(d.gov, d.income, d.weight, d.stratum, d.psu, domain=np.ones(6000, bool))
    assert everyone == fairness.concentration_index(d.gov, d.income, d.weight, d.stratum, d.psu)
    with pytest.raises(ParameterError, match="no households"):
        fairness.concentration_index(d.gov, d.income, domain=np.zeros(6000, bool))


def test_theil_influence_functions_are_derivatives_in_the_weights():
    """Theil T and its between-group share: z_k = d/dw_k by central differences, zeros included."""
    rng = np.random.default_rng(8)
    n = 30
    x = rng.exponential(10, n) * (rng.random(n) < 0.6)
    w = rng.uniform(0.5, 2, n)
    groups = rng.choice(["a", "b", "c"], n)
    codes = pd.factorize(groups)[0]
    h = 1e-6
    for influence, value in ((_theil_t(x, w)[1], lambda ww: fairness.theil_estimate(x, ww).value),
                             (_theil_between_share(x, w, codes)[1],
                              lambda ww: fairness.between_share_estimate(x, groups, ww).value)):
        numeric = np.array([(value(w + h * e) - value(w - h * e)) / (2 * h) for e in np.eye(n)])
        assert np.allclose(influence, numeric, rtol=1e-5, atol=1e-9)
        assert abs(np.sum(w * influence)) < 1e-12
    d = fairness.theil_decomposition(x, groups, w)
    assert fairness.between_share_estimate(x, groups, w).value == pytest.approx(d.between / d.total, rel=1e-12)
    assert fairness.theil_estimate(x, w).value == pytest.approx(d.total, rel=1e-12)


def test_theil_se_agrees_with_rao_wu_bootstrap(survey):
    """Theil T of charity yuan, and the between-stratum share of a series whose stratum means
    differ (a share of 0.41): linearised se within 10% of 1,000 Rao-Wu replicates. Near a share
    of 0 the linearisation understates the se (the share's gradient vanishes when the group
    means are equal): 0.0164 against a bootstrap 0.0185 at 0.04."""
    d = survey.assign(tilted=survey.charity * (1 + 3 * (survey.stratum % 4)))
    design = dict(weights=d.weight, strata=d.stratum, psu=d.psu)
    t = fairness.theil_estimate(d.charity, **design)
    b = fairness.between_share_estimate(d.tilted, d.stratum, **design)
    assert b.value == pytest.approx(0.41, abs=0.01)

    def statistic(data, w):
        dec = fairness.theil_decomposition(data.tilted, data.stratum, w)
        return [fairness.theil(data.charity, w), dec.between / dec.total]

    boot = fairness.rao_wu_bootstrap(statistic, d, "stratum", "psu", "weight", replicates=1000, seed=12)
    assert np.all(np.abs(boot / np.array([t.se, b.se]) - 1) < 0.10), (boot, t.se, b.se)


def test_many_domains_at_once_equal_each_domain_alone():
    """The grouped forms kinds.Inequality uses (every region and group of a run at once):
    40 cells, a household in several of them, rows in no order, tied incomes, zeros, one
    cell without any aid. Each cell's value equals the formula on that cell alone (ranks
    from fractional_rank, Theil from theil and theil_decomposition) and its influence
    function the single-domain one, so cells never leak into each other."""
    from evalkit.methods.inequality import concentration_by, theil_between_share_by, theil_t_by, tie_groups

    rng = np.random.default_rng(11)
    n, cells = 500, 40
    income = np.round(rng.lognormal(7, 0.5, n), -2)
    aid = rng.exponential(100, n) * (rng.random(n) < 0.5)
    weight = rng.uniform(0.5, 3, n)
    child = rng.integers(0, 3, n)
    members = [rng.choice(n, size=rng.integers(2, 80), replace=False) for _ in range(cells)]
    cell = np.concatenate([np.full(len(m), k) for k, m in enumerate(members)])
    row = np.concatenate(members)
    shuffle = rng.permutation(len(row))
    cell, row = cell[shuffle], row[shuffle]
    r, w, sub = income[row], weight[row], child[row]
    y = np.where(cell == cells - 1, 0.0, aid[row])

    conc, z_conc = concentration_by(y, w, cell, tie_groups(cell, r), cells)
    gini, _ = concentration_by(y, w, cell, tie_groups(cell, y), cells)
    theil, z_theil = theil_t_by(y, w, cell, cells)
    share, z_share = theil_between_share_by(y, w, cell, tie_groups(cell, sub), cells)
    for k in range(cells - 1):
        mine = cell == k
        yk, rk, wk, gk = y[mine], r[mine], w[mine], sub[mine]
        by_income = 2 * np.sum(wk * yk * fairness.fractional_rank(rk, wk)) / np.sum(wk * yk) - 1
        by_aid = 2 * np.sum(wk * yk * fairness.fractional_rank(yk, wk)) / np.sum(wk * yk) - 1
        assert conc[k] == pytest.approx(by_income, rel=1e-12, abs=1e-14)
        assert gini[k] == pytest.approx(by_aid, rel=1e-12)
        assert theil[k] == pytest.approx(fairness.theil(yk, wk), rel=1e-12)
        np.testing.assert_allclose(z_conc[mine], _concentration(yk, rk, wk)[1], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(z_theil[mine], _theil_t(yk, wk)[1], rtol=1e-12, atol=1e-15)
        if len(np.unique(gk)) > 1:
            d = fairness.theil_decomposition(yk, gk, wk)
            assert share[k] == pytest.approx(d.between / d.total, rel=1e-10)
            np.testing.assert_allclose(z_share[mine], _theil_between_share(yk, wk, pd.factorize(gk)[0])[1],
                                       rtol=1e-10, atol=1e-13)
    last = cell == cells - 1
    assert np.isnan([conc[-1], gini[-1], theil[-1], share[-1]]).all() and np.isnan(z_conc[last]).all()
