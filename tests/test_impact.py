"""evalkit.impact: staggered difference-in-differences against a reference, by hand, and by replication.

Reference: diff-diff (PyPI ``diff-diff``, 3.13), whose CallawaySantAnna is validated
against R ``did::att_gt``/``aggte``. On an unbalanced panel it uses, as evalkit does, the
units observed in both periods of each 2x2 cell (R ``did`` would balance the panel first).
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from evalkit import impact
from evalkit.errors import ParameterError

Y = ("y", "unit", "period", "first_treated")


@pytest.fixture(scope="module")
def unbalanced():
    p = impact.simulate_panel(n_units=60, n_periods=7, effect="growing", unbalanced=0.1, seed=5)
    assert p["first_treated"].nunique() >= 3
    assert p.groupby("unit").size().nunique() > 1  # unbalanced
    return p


def _reference(panel, control, base_period="varying"):
    dd = pytest.importorskip("diff_diff")
    data = panel.assign(ft0=panel["first_treated"].fillna(0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # diff-diff warns that the panel is unbalanced
        return dd.CallawaySantAnna(control_group=control, estimation_method="reg", base_period=base_period).fit(
            data, outcome="y", unit="unit", time="period", first_treat="ft0", aggregate="all")


CONTROLS = ["never_treated", "not_yet_treated"]


@pytest.mark.parametrize("control", CONTROLS)
def test_group_time_cells_match_reference(unbalanced, control):
    ref = _reference(unbalanced, control)
    mine = impact.att(unbalanced, *Y, control=control).group_time.set_index(["g", "t"])
    cells = {k: v for k, v in ref.group_time_effects.items() if np.isfinite(v["effect"])}
    assert len(cells) == len(mine) > 20
    for (g, t), v in cells.items():
        assert mine.loc[(g, t), "estimate"] == pytest.approx(v["effect"], abs=1e-6)
        assert mine.loc[(g, t), "se"] == pytest.approx(v["se"], rel=0.01)
        assert mine.loc[(g, t), "n_treated"] == v["n_treated"]


@pytest.mark.parametrize("control", CONTROLS)
def test_simple_matches_reference(unbalanced, control):
    ref = _reference(unbalanced, control)
    r = impact.att(unbalanced, *Y, control=control, aggregation="simple")
    assert r.estimate == pytest.approx(ref.overall_att, abs=1e-6)
    assert r.se == pytest.approx(ref.overall_se, rel=0.01)


@pytest.mark.parametrize("control", CONTROLS)
def test_dynamic_matches_reference(unbalanced, control):
    from diff_diff.staggered_results import _KitAggregator

    ref = _reference(unbalanced, control)
    r = impact.att(unbalanced, *Y, control=control, aggregation="dynamic")
    parts = r.parts.set_index("event_time")
    for e, v in ref.event_study_effects.items():
        assert parts.loc[e, "estimate"] == pytest.approx(v["effect"], abs=1e-6)
        assert parts.loc[e, "se"] == pytest.approx(v["se"], rel=0.01)
    # diff-diff keeps its dynamic overall (mean of post event times, R aggte "dynamic")
    # internal: its own aggregator, on its own fit's influence functions
    kit = ref._aggregation_kit
    es = _KitAggregator(kit.alpha, kit.anticipation)._aggregate_event_study(
        ref.group_time_effects, kit.influence, ref.groups, ref.time_periods, None, None, None, dict(kit.bookkeeping))
    assert r.estimate == pytest.approx(es.overall["att"], abs=1e-6)
    assert r.se == pytest.approx(es.overall["se"], rel=0.01)


@pytest.mark.parametrize("control", CONTROLS)
def test_group_matches_reference(unbalanced, control):
    """Per-cohort effects and SEs compared directly. diff-diff has no overall "group"
    aggregate: its estimate is checked as the cohort-size weighted mean of the reference's
    cohort effects, and its SE against R ``aggte(type="group")``'s formula (cohort
    influence functions weighted by p_g / S, plus the estimated-weights term
    (theta_g - ATT) / (S N) for units of cohort g) applied to the reference's own per-cohort
    influence functions."""
    from diff_diff.staggered_results import _KitAggregator

    ref = _reference(unbalanced, control)
    r = impact.att(unbalanced, *Y, control=control, aggregation="group")
    parts = r.parts.set_index("g")
    for g, v in ref.group_effects.items():
        assert parts.loc[g, "estimate"] == pytest.approx(v["effect"], abs=1e-6)
        assert parts.loc[g, "se"] == pytest.approx(v["se"], rel=0.01)
    kit = ref._aggregation_kit
    pre = dict(kit.bookkeeping)
    agg = _KitAggregator(kit.alpha, kit.anticipation)
    cohorts = pre["unit_cohorts"]
    N = len(cohorts)
    gs = sorted(ref.group_effects)
    theta = np.array([ref.group_effects[g]["effect"] for g in gs])
    pg = np.array([(cohorts == g).sum() for g in gs]) / N
    S = pg.sum()
    overall = float(pg @ theta / S)
    psi = np.zeros(N)
    for g, w in zip(gs, pg / S):
        cells = [(gg, t) for (gg, t), v in ref.group_time_effects.items() if gg == g and t >= g and np.isfinite(v["effect"])]
        effs = np.array([ref.group_time_effects[c]["effect"] for c in cells])
        _, psi_g, _ = agg._compute_aggregated_se_with_wif(cells, np.full(len(cells), 1 / len(cells)), effs,
                                                          np.array([g] * len(cells)), kit.influence, None, None, pre,
                                                          return_psi=True)
        psi += w * psi_g
    for g, th in zip(gs, theta):
        psi[cohorts == g] += (th - overall) / (S * N)
    assert r.estimate == pytest.approx(overall, abs=1e-6)
    assert r.se == pytest.approx(np.sqrt((psi**2).sum()), rel=0.01)


@pytest.mark.parametrize("control", CONTROLS)
def test_event_study_matches_reference_universal_base(unbalanced, control):
    ref = _reference(unbalanced, control, base_period="universal")
    es = impact.event_study(unbalanced, *Y, control=control, window=(-4, 4)).set_index("event_time")
    assert es.loc[-1, "estimate"] == 0.0
    for e, v in ref.event_study_effects.items():
        if -4 <= e <= 4 and e != -1:
            assert es.loc[e, "estimate"] == pytest.approx(v["effect"], abs=1e-6)
            assert es.loc[e, "se"] == pytest.approx(v["se"], rel=0.01)


# -- by hand: statsmodels regressions with dummies ----------------------------------------


@pytest.mark.parametrize("unbalanced_share", [0.0, 0.15])
def test_twfe_against_statsmodels_dummies(unbalanced_share):
    """Coefficient equal; cluster SE equal up to the documented degrees-of-freedom factor:
    statsmodels counts every dummy in K, evalkit only the non-absorbed coefficient (the unit
    effects are nested in the clusters)."""
    import statsmodels.formula.api as smf

    p = impact.simulate_panel(n_units=16, n_periods=5, effect="growing", unbalanced=unbalanced_share, seed=7)
    r = impact.att(p, *Y, method="twfe")
    p = p.assign(D=((p["period"] >= p["first_treated"]) & p["first_treated"].notna()).astype(float))
    m = smf.ols("y ~ D + C(unit) + C(period)", p).fit(cov_type="cluster", cov_kwds={"groups": p["unit"]})
    n, k = len(p), len(m.params)
    assert r.estimate == pytest.approx(m.params["D"], abs=1e-9)
    assert r.se == pytest.approx(m.bse["D"] * np.sqrt((n - k) / (n - 1)), rel=1e-6)
    assert r.model.params.iloc[0] == pytest.approx(r.estimate)
    assert r.n_clusters == 16


@pytest.mark.parametrize("unbalanced_share", [0.0, 0.15])
def test_sun_abraham_against_statsmodels_interactions(unbalanced_share):
    """Each CATT(g, e) is the coefficient of a cohort x period dummy (period g-1 left out)
    in a regression with unit and period dummies; balanced (closed form) and unbalanced
    (alternating projections) paths."""
    import statsmodels.formula.api as smf

    p = impact.simulate_panel(n_units=20, n_periods=5, effect="growing", unbalanced=unbalanced_share, seed=8)
    r = impact.att(p, *Y, method="sun_abraham", aggregation="simple")
    ref_cell = p["first_treated"].isna() | (p["period"] - p["first_treated"] == -1)
    q = p.assign(cell=np.where(ref_cell, "ref", p["first_treated"].astype(str) + "_" + p["period"].astype(str)))
    m = smf.ols("y ~ C(cell, Treatment('ref')) + C(unit) + C(period)", q).fit(
        cov_type="cluster", cov_kwds={"groups": q["unit"]})
    gt = r.group_time
    names = [f"C(cell, Treatment('ref'))[T.{float(g)}_{t}]" for g, t in zip(gt["g"], gt["t"])]
    n, k_sm, k = len(q), len(m.params), len(gt)
    np.testing.assert_allclose(gt["estimate"], m.params[names], atol=1e-8)
    np.testing.assert_allclose(gt["se"], m.bse[names] * np.sqrt((n - k_sm) / (n - k)), rtol=1e-6)
    # simple aggregation: post cells weighted by their observations
    post = gt["e"] >= 0
    w = gt["n_treated"].where(post, 0)
    assert r.estimate == pytest.approx((w * gt["estimate"]).sum() / w.sum())


def test_sun_abraham_equals_callaway_santanna_never_treated_balanced():
    p = impact.simulate_panel(n_units=40, n_periods=6, effect="growing", seed=9)
    for agg in ("group", "simple", "dynamic"):
        sa = impact.att(p, *Y, method="sun_abraham", aggregation=agg)
        cs = impact.att(p, *Y, aggregation=agg)
        assert sa.estimate == pytest.approx(cs.estimate, abs=1e-9)


# -- the API ------------------------------------------------------------------------------


def test_labels_zero_period_and_dropped_units():
    p = impact.simulate_panel(n_units=30, n_periods=6, seed=10)
    labels = {k: f"{2022 + (k + 2) // 4}Q{(k + 2) % 4 + 1}" for k in range(6)}  # 2022Q3 ...
    q = p.assign(period=p["period"].map(labels), first_treated=p["first_treated"].map(labels))
    a = impact.att(p, *Y)
    b = impact.att(q, *Y)
    assert b.estimate == pytest.approx(a.estimate) and b.se == pytest.approx(a.se)
    assert set(b.group_time["g"]) <= set(labels.values())
    # period 0 is a period, not "never": units adopting at 0 are always treated and dropped
    always = p.assign(first_treated=np.where(p["unit"] < 3, 0.0, p["first_treated"]))
    r = impact.att(always, *Y)
    assert r.n_dropped_always_treated == 3 and r.n_units == 27
    months = q.assign(period="2023-0" + p["period"].add(1).astype(str))
    with pytest.raises(ParameterError, match="quarter"):
        impact.att(months, *Y)


def test_months_years_and_last_treated_control():
    p = impact.simulate_panel(n_units=30, n_periods=6, never_treated_share=0.2, seed=14)
    a = impact.att(p, *Y)
    months = p.assign(period=p["period"].map(lambda k: f"2023-{k + 7:02d}" if k < 6 else None),
                      first_treated=p["first_treated"].map(lambda k: f"2023-{int(k) + 7:02d}", na_action="ignore"))
    years = p.assign(period=(2018 + p["period"]).astype(str),
                     first_treated=(2018 + p["first_treated"]).map(lambda v: f"{v:.0f}", na_action="ignore"))
    for q in (months, years):
        assert impact.att(q, *Y).estimate == pytest.approx(a.estimate)
    adopters = p[p["first_treated"].notna()]
    r = impact.att(adopters, *Y, method="sun_abraham", control="last_treated")
    assert r.control == "last_treated" and np.isfinite(r.estimate)
    with pytest.raises(ParameterError, match="never-treated"):
        impact.att(adopters, *Y, method="sun_abraham")


def test_parameters_are_checked():
    p = impact.simulate_panel(n_units=20, n_periods=5, seed=11)
    with pytest.raises(ParameterError, match="method"):
        impact.att(p, *Y, method="ols")
    with pytest.raises(ParameterError, match="control"):
        impact.att(p, *Y, method="sun_abraham", control="not_yet_treated")
    with pytest.raises(ParameterError, match="no column"):
        impact.att(p, "value", "unit", "period", "first_treated")
    with pytest.raises(ParameterError, match="covariates"):
        impact.att(p, *Y, covariates=["x"])
    with pytest.raises(ParameterError, match="more than one row"):
        impact.att(pd.concat([p, p.head(1)]), *Y)
    with pytest.raises(ParameterError, match="window"):
        impact.event_study(p, *Y, window=(0, 3))


def test_wild_bootstrap_few_clusters_uses_webb():
    p = impact.simulate_panel(n_units=40, n_periods=5, seed=12)
    p["city"] = p["unit"] % 8
    r = impact.att(p, *Y, cluster="city", bootstrap="wild", seed=1)
    assert r.n_clusters == 8 and "webb" in r.inference
    assert r.ci_low < r.estimate < r.ci_high
    r2 = impact.att(p, *Y, method="twfe", cluster="city", bootstrap="wild", seed=1)
    assert r2.n_clusters == 8 and np.isfinite(r2.se)
    analytic = impact.att(p, *Y, cluster="city")
    assert analytic.n_clusters == 8 and analytic.inference == "analytical"


def test_plot_event_study():
    import matplotlib

    matplotlib.use("Agg")
    p = impact.simulate_panel(n_units=30, n_periods=6, seed=13)
    ax = impact.plot_event_study(impact.event_study(p, *Y, method="sun_abraham", window=(-3, 2)))
    assert len(ax.collections) + len(ax.lines) > 0


# -- replication: planted effects ----------------------------------------------------------

REPS = 200


def _replicate(effect, pretrend=0.0):
    rows = []
    for s in range(REPS):
        p = impact.simulate_panel(n_units=40, n_periods=8, effect=effect, pretrend=pretrend, seed=1000 + s)
        truth = p.attrs["truth"]["group"]
        row = {"truth": truth}
        for m in ("callaway_santanna", "sun_abraham", "twfe"):
            r = impact.att(p, *Y, method=m)
            row[m] = r.estimate
            row[m + "_covers"] = r.ci_low <= truth <= r.ci_high
        row["pretrend_p"] = impact.event_study(p, *Y, window=(-4, 4)).attrs["pretrend"]["p_value"]
        rows.append(row)
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def constant():
    return _replicate("constant")


@pytest.fixture(scope="module")
def growing():
    return _replicate("growing")


@pytest.mark.parametrize("which", ["constant", "growing"])
@pytest.mark.parametrize("method", ["callaway_santanna", "sun_abraham"])
def test_interval_coverage(which, method, request):
    sims = request.getfixturevalue(which)
    coverage = sims[method + "_covers"].mean()
    assert 0.90 <= coverage <= 0.99, coverage
    assert abs((sims[method] - sims["truth"]).mean()) < 0.05


def test_twfe_biased_when_effects_grow(growing, constant):
    bias = (growing["twfe"] - growing["truth"]).mean()
    spread = growing["twfe"].std() / np.sqrt(len(growing))
    assert bias < -10 * spread and bias < -0.1, bias  # TWFE understates a growing effect
    assert abs((constant["twfe"] - constant["truth"]).mean()) < 0.05  # fine when constant


def test_pretrend_test_size_and_power(constant):
    assert (constant["pretrend_p"] < 0.05).mean() <= 0.10
    power = [impact.event_study(impact.simulate_panel(n_units=40, n_periods=8, pretrend=0.5, seed=5000 + s),
                                *Y, window=(-4, 4)).attrs["pretrend"]["p_value"] for s in range(REPS)]
    assert (np.array(power) < 0.05).mean() >= 0.80


def test_placebo_centres_on_zero():
    p = impact.simulate_panel(n_units=40, n_periods=8, effect="constant", seed=21)
    pl = impact.placebo(p, *Y, draws=REPS, seed=0)
    est = pl["estimate"].dropna()
    assert len(est) >= 0.95 * REPS
    assert abs(est.mean()) < 3 * est.std() / np.sqrt(len(est)) + 0.05
    assert pl.attrs["p_value"] < 0.05  # the planted effect of 1 stands out


# -- the command ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_package(tmp_path_factory):
    from evalkit.data.synth import generate

    out = tmp_path_factory.mktemp("impact") / "pkg"
    generate(out, households=2000, regions=6, periods=8, seed=1)
    return out


def test_cli_impact(small_package, tmp_path):
    from evalkit.cli import main

    out = tmp_path / "impact.csv"
    res = CliRunner().invoke(main, ["impact", str(small_package), "--indicator", "coordination.processing_days",
                                    "--out", str(out)])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out)
    assert {"method", "estimate", "se", "ci_low", "ci_high", "n_units", "n_clusters", "aggregation",
            "control"} <= set(table.columns)
    assert set(table["method"]) == set(impact.METHODS)
    assert (table["n_clusters"] >= 2).all()
    assert "clusters" in res.output


def test_panel_from_results(small_package):
    import evalkit

    pkg = evalkit.load(small_package)
    res = evalkit.compute(pkg, indicators=["coordination.processing_days"])
    panel = impact.panel_from_results(res, pkg.regions, "coordination.processing_days")
    counties = pkg.regions.loc[pkg.regions["level"] == "county"]
    assert set(panel["region"]) <= set(counties["region_id"])
    assert not panel.duplicated(["region", "period"]).any()
    reform = counties.set_index("region_id")["reform_period"]
    first = panel.groupby("region")["first_treated"].first()
    assert all((pd.isna(reform[r]) and pd.isna(v)) or reform[r] == v for r, v in first.items())
