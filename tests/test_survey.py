"""Design-based estimation: samplics cross-check, lonely PSUs, fpc, and comparisons that keep their covariance."""
from __future__ import annotations

import json
import warnings

import ibis
import numpy as np
import pandas as pd
import pytest

import evalkit
from evalkit.errors import ParameterError
from evalkit.methods.survey import Design, Strata, logit_interval, ratio_variance, total_variance

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # samplics announces it is archived
    from samplics.estimation import TaylorEstimator
    from samplics.utils.types import PopParam

TOL = 1e-10


def _samplics(param, y, w, stratum, psu, x=None, domain=None, fpc=1.0):
    est = TaylorEstimator(param)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.estimate(y=y, samp_weight=w, stratum=stratum, psu=psu, x=x, domain=domain, fpc=fpc, remove_nan=True)
    return est


def _strata_sums(y, x, w, stratum, psu, cell=None):
    """Sums per cell and stratum over PSU totals, as the engine returns them."""
    frame = pd.DataFrame({"X": w * x, "Y": w * y, "psu": psu, "stratum": stratum,
                          "cell": "all" if cell is None else cell})
    per_psu = frame.groupby(["cell", "stratum", "psu"], as_index=False)[["X", "Y"]].sum()
    per_psu = per_psu.assign(XX=per_psu.X**2, XY=per_psu.X * per_psu.Y, YY=per_psu.Y**2)
    return per_psu.groupby(["cell", "stratum"], as_index=False).agg(
        SX=("X", "sum"), SY=("Y", "sum"), SXX=("XX", "sum"), SXY=("XY", "sum"), SYY=("YY", "sum"))


@pytest.fixture(scope="module")
def sample():
    """Three strata of 4-6 PSUs each (no singleton stratum), unequal weights, two domains."""
    rng = np.random.default_rng(7)
    n = 240
    stratum = np.repeat(["s1", "s2", "s3"], n // 3)
    psu = np.char.add(stratum, np.char.add("-", rng.integers(0, 5, n).astype(str)))
    psu[:6] = "s1-5"  # s1 has six PSUs
    w = rng.uniform(1, 4, n)
    domain = rng.choice(["a", "b"], n)
    y = (rng.random(n) < np.where(domain == "a", 0.3, 0.55)).astype(float)
    amount = rng.gamma(2, 100, n) * y
    return {"y": y, "w": w, "stratum": stratum, "psu": psu, "domain": domain, "amount": amount}


def _strata(s, lonely_psu="remove", population=None):
    psus = pd.Series(s["psu"]).groupby(s["stratum"]).nunique()
    return Strata.from_counts(psus, population, lonely_psu)


def test_proportion_in_domains_equals_samplics(sample):
    s = sample
    ref = _samplics(PopParam.prop, s["y"].astype(int), s["w"], s["stratum"], s["psu"], domain=s["domain"])
    strata = _strata(s)
    for d in ("a", "b"):
        inside = (s["domain"] == d).astype(float)  # domain estimation: the other units count as zeros
        got = ratio_variance(_strata_sums(s["y"] * inside, inside, s["w"], s["stratum"], s["psu"]), strata,
                             ["cell"]).iloc[0]
        assert got["ratio"] == pytest.approx(ref.point_est[d][1], abs=TOL)
        assert np.sqrt(got["variance"]) == pytest.approx(ref.stderror[d][1], abs=TOL)
        low, high = logit_interval([got["ratio"]], [np.sqrt(got["variance"])], [strata.df])
        assert (low[0], high[0]) == pytest.approx((ref.lower_ci[d][1], ref.upper_ci[d][1]), abs=TOL)
    assert strata.df == ref.degree_of_freedom


def test_mean_and_ratio_equal_samplics(sample):
    s = sample
    strata = _strata(s)
    mean = _samplics(PopParam.mean, s["amount"], s["w"], s["stratum"], s["psu"])
    got = ratio_variance(_strata_sums(s["amount"], np.ones_like(s["w"]), s["w"], s["stratum"], s["psu"]), strata,
                         ["cell"]).iloc[0]
    assert got["ratio"] == pytest.approx(mean.point_est, rel=TOL)
    assert np.sqrt(got["variance"]) == pytest.approx(mean.stderror, rel=TOL)
    ratio = _samplics(PopParam.ratio, s["amount"], s["w"], s["stratum"], s["psu"], x=s["y"] + 1)
    got = ratio_variance(_strata_sums(s["amount"], s["y"] + 1, s["w"], s["stratum"], s["psu"]), strata,
                         ["cell"]).iloc[0]
    assert got["ratio"] == pytest.approx(ratio.point_est, rel=TOL)
    assert np.sqrt(got["variance"]) == pytest.approx(ratio.stderror, rel=TOL)


def test_finite_population_correction_equals_samplics(sample):
    s = sample
    population = pd.Series({"s1": 60, "s2": 10, "s3": 0.25})  # PSU counts, or a sampling fraction
    strata = _strata(s, population=population)
    factor = {h: float(strata.table.loc[h, "fpc"]) for h in ("s1", "s2", "s3")}
    assert factor == pytest.approx({"s1": 1 - 6 / 60, "s2": 1 - 5 / 10, "s3": 0.75})
    ref = _samplics(PopParam.mean, s["amount"], s["w"], s["stratum"], s["psu"], fpc=factor)
    got = ratio_variance(_strata_sums(s["amount"], np.ones_like(s["w"]), s["w"], s["stratum"], s["psu"]), strata,
                         ["cell"]).iloc[0]
    assert np.sqrt(got["variance"]) == pytest.approx(ref.stderror, rel=TOL)


def test_total_in_domains_and_with_fpc_equals_samplics(sample):
    """The estimated total of yuan, overall and per domain (other units count as zeros), and
    with a finite population correction: samplics' Taylor total."""
    s = sample
    strata = _strata(s)
    ones = np.ones_like(s["w"])
    ref = _samplics(PopParam.total, s["amount"], s["w"], s["stratum"], s["psu"], domain=s["domain"])
    for d in ("a", "b"):
        inside = (s["domain"] == d).astype(float)
        got = total_variance(_strata_sums(s["amount"] * inside, inside, s["w"], s["stratum"], s["psu"]), strata,
                             ["cell"]).iloc[0]
        assert got["Y"] == pytest.approx(ref.point_est[d], rel=TOL)
        assert np.sqrt(got["variance"]) == pytest.approx(ref.stderror[d], rel=TOL)
    factor = {"s1": 0.9, "s2": 0.5, "s3": 0.75}
    with_fpc = _strata(s, population=pd.Series({"s1": 60, "s2": 10, "s3": 0.25}))
    ref = _samplics(PopParam.total, s["amount"], s["w"], s["stratum"], s["psu"], fpc=factor)
    got = total_variance(_strata_sums(s["amount"], ones, s["w"], s["stratum"], s["psu"]), with_fpc, ["cell"]).iloc[0]
    assert got["Y"] == pytest.approx(ref.point_est, rel=TOL)
    assert np.sqrt(got["variance"]) == pytest.approx(ref.stderror, rel=TOL)


def test_lonely_psu_options_by_hand():
    """Stratum A has PSUs with (X, Y) = (2, 1), (2, 2); stratum B a single PSU (1, 1).

    R = 4/5. Linearised totals e = Y - R X: A: -0.6, 0.4 (mean -0.1); B: 0.2.
    A's term: 2/(2-1) * ((-0.5)^2 + 0.5^2) = 1.0; variances are terms / X^2 = terms / 25.
    remove/certainty: B adds nothing -> 1/25; adjust: B adds (0.2 - 0)^2 = 0.04 -> 1.04/25;
    average: B gets A's term (the mean over the other strata) -> 2/25; fail: an error.
    """
    sums = pd.DataFrame({"cell": "c", "stratum": ["A", "B"], "SX": [4.0, 1.0], "SY": [3.0, 1.0],
                         "SXX": [8.0, 1.0], "SXY": [6.0, 1.0], "SYY": [5.0, 1.0]})
    psus = pd.Series({"A": 2, "B": 1})
    expected = {"remove": 1 / 25, "certainty": 1 / 25, "adjust": 1.04 / 25, "average": 2 / 25}
    for option, variance in expected.items():
        got = ratio_variance(sums, Strata.from_counts(psus, lonely_psu=option), ["cell"]).iloc[0]
        assert got["ratio"] == pytest.approx(0.8)
        assert got["variance"] == pytest.approx(variance, rel=1e-12), option
    with pytest.raises(ParameterError, match="stratum 'B' has only one PSU"):
        Strata.from_counts(psus, lonely_psu="fail")


def test_design_rejects_bad_options():
    with pytest.raises(ParameterError, match="lonely_psu"):
        Design(lonely_psu="drop")
    with pytest.raises(ParameterError, match="census"):
        Design(weight="weight", fpc="population", census=True)


# --- through compute(): a small survey package ---------------------------------------

def _write_package(d, households: pd.DataFrame, needs: dict[str, np.ndarray], **descriptor):
    """Province P over counties A and B, ``households``, and one care need per household
    whose mask is true on each date of ``needs``; quarterly, with ``descriptor`` added."""
    d.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"region_id": ["P", "A", "B"], "name": ["省", "甲县", "乙县"], "parent_id": [None, "P", "P"],
                  "level": ["province", "county", "county"]}).to_csv(d / "regions.csv", index=False)
    households.to_csv(d / "households.csv", index=False)
    ids = households["household_id"].to_numpy()
    rows = [(f"n{i}-{day}", ids[i], "care", day) for day, mask in needs.items() for i in np.flatnonzero(mask)]
    pd.DataFrame(rows, columns=["need_id", "household_id", "service_type", "identified_on"]).to_csv(
        d / "needs.csv", index=False)
    (d / "datapackage.json").write_text(json.dumps({"name": d.name, "frequency": "quarter", **descriptor}))
    return d


@pytest.fixture(scope="module")
def survey(tmp_path_factory, sample):
    """Households of `sample` in two counties under a province, needs of care in two quarters."""
    s = sample
    rng = np.random.default_rng(8)
    d = tmp_path_factory.mktemp("survey")
    n = len(s["y"])
    ids = [f"h{i:03d}" for i in range(n)]
    county = np.where(np.isin(s["stratum"], ["s1", "s2"]), "A", "B")  # PSUs nest in strata and counties
    households = pd.DataFrame({"household_id": ids, "region_id": county,
                               "hukou": np.where(s["domain"] == "a", "local", "migrant"),
                               "weight": s["w"], "stratum": s["stratum"], "psu": s["psu"]})
    second = rng.random(n) < np.where(s["y"] == 1, 0.7, 0.2)  # need in Q2 correlates with Q1
    _write_package(d, households, {"2024-02-01": s["y"] == 1, "2024-05-01": second})
    res = evalkit.compute(evalkit.load(d), indicators=["access.need_rate"], by=["hukou"], min_cell=1)
    return res, second


def _row(res, region="P", period="2024Q1", group_by="", group=""):
    t = res.table
    return t[(t.indicator == "access.need_rate") & (t.service_type == "care") & (t.region == region)
             & (t.period == period) & (t.group_by == group_by) & (t.group == group)].iloc[0]


def test_package_rates_equal_samplics(survey, sample):
    res, _ = survey
    s = sample
    ref = _samplics(PopParam.prop, s["y"].astype(int), s["w"], s["stratum"], s["psu"], domain=s["domain"])
    for domain, group in (("a", "local"), ("b", "migrant")):
        row = _row(res, group_by="hukou", group=group)
        assert row.value == pytest.approx(ref.point_est[domain][1], abs=TOL)
        assert row.se == pytest.approx(ref.stderror[domain][1], abs=TOL)
        assert row.df == ref.degree_of_freedom
        assert row.interval == "logit_t"
        assert (row.ci_low, row.ci_high) == pytest.approx((ref.lower_ci[domain][1], ref.upper_ci[domain][1]), abs=TOL)
    whole = _samplics(PopParam.prop, s["y"].astype(int), s["w"], s["stratum"], s["psu"])
    assert _row(res).se == pytest.approx(whole.stderror[1], abs=TOL)


def _linearised(y, x, w, stratum, psu):
    """Per-PSU linearised totals z_i = (Y_i - R X_i) / X of a ratio estimator."""
    r = (w * y).sum() / (w * x).sum()
    z = pd.Series(w * (y - r * x) / (w * x).sum()).groupby([stratum, psu]).sum()
    return z


def _variance_of(z: pd.Series) -> float:
    total = 0.0
    for _, zs in z.groupby(level=0):
        n = len(zs)
        total += n / (n - 1) * ((zs - zs.mean()) ** 2).sum()
    return total


def test_group_gap_standard_error_uses_the_covariance(survey, sample):
    res, _ = survey
    s = sample
    ones = np.ones_like(s["w"])
    local = (s["domain"] == "a").astype(float)
    z_all = _linearised(s["y"], ones, s["w"], s["stratum"], s["psu"])
    z_local = _linearised(s["y"] * local, local, s["w"], s["stratum"], s["psu"])
    z_migrant = _linearised(s["y"] * (1 - local), 1 - local, s["w"], s["stratum"], s["psu"])
    gap = res.difference("hukou", published=False)
    gap = gap[(gap.region == "P") & (gap.period == "2024Q1") & (gap.service_type == "care")].set_index("group")
    assert gap.loc["local", "se"] == pytest.approx(np.sqrt(_variance_of(z_local - z_all)), rel=1e-9)
    between = res.difference("hukou", reference="local", published=False)
    between = between[(between.region == "P") & (between.period == "2024Q1") & (between.service_type == "care")]
    assert between["se"].item() == pytest.approx(np.sqrt(_variance_of(z_migrant - z_local)), rel=1e-9)
    # not the independent-samples shortcut
    independent = np.sqrt(_variance_of(z_local) + _variance_of(z_all))
    assert abs(gap.loc["local", "se"] - independent) > 1e-4


def test_change_between_periods_uses_the_covariance(survey, sample):
    res, second = survey
    s = sample
    ones = np.ones_like(s["w"])
    z1 = _linearised(s["y"], ones, s["w"], s["stratum"], s["psu"])
    z2 = _linearised(second.astype(float), ones, s["w"], s["stratum"], s["psu"])
    change = res.change("access.need_rate", published=False)
    row = change[(change.region == "P") & (change.period == "2024Q2") & (change.group_by == "")
                 & (change.service_type == "care")].iloc[0]
    assert row.previous_period == "2024Q1"
    assert row.change == pytest.approx(_row(res, period="2024Q2").value - _row(res).value)
    assert row.se == pytest.approx(np.sqrt(_variance_of(z2 - z1)), rel=1e-9)
    # a county's change: its own PSUs only (stratum s3 lies in county B)
    b = change[(change.region == "B") & (change.period == "2024Q2") & (change.group_by == "")
               & (change.service_type == "care")]
    assert len(b) == 1 and b.se.item() > 0


def test_change_on_a_year_before_uses_the_covariance(tmp_path, sample):
    """Needs of care in 2024Q1, 2024Q2 and 2025Q1 (none in between): the engine keeps the
    covariance of 2025Q1 with 2024Q1 (the same quarter a year before) beside the consecutive
    ones, so the change on last year has the design's standard error, var(z_2025Q1 - z_2024Q1)
    from each PSU's linearised values, not the independent-samples one."""
    s = sample
    rng = np.random.default_rng(9)
    n = len(s["y"])
    households = pd.DataFrame({"household_id": [f"h{i:03d}" for i in range(n)],
                               "region_id": np.where(np.isin(s["stratum"], ["s1", "s2"]), "A", "B"),
                               "weight": s["w"], "stratum": s["stratum"], "psu": s["psu"]})
    later = rng.random(n) < np.where(s["y"] == 1, 0.8, 0.1)  # a year on, strongly correlated
    d = _write_package(tmp_path / "yearly", households, {"2024-02-01": s["y"] == 1, "2024-05-01": s["y"] == 0,
                                                          "2025-02-01": later})
    res = evalkit.compute(evalkit.load(d), indicators=["access.need_rate"], min_cell=1)
    ones = np.ones_like(s["w"])
    z1 = _linearised(s["y"], ones, s["w"], s["stratum"], s["psu"])
    z5 = _linearised(later.astype(float), ones, s["w"], s["stratum"], s["psu"])
    yearly = res.change("access.need_rate", published=False, base="year")
    row = yearly[(yearly.region == "P") & (yearly.service_type == "care")].set_index("period").loc["2025Q1"]
    assert row.previous_period == "2024Q1" and row.base == "year" and row.cov_known
    assert row.change == pytest.approx(_row(res, period="2025Q1").value - _row(res).value)
    assert row.se == pytest.approx(np.sqrt(_variance_of(z5 - z1)), rel=1e-9)
    assert row.se < np.sqrt(_variance_of(z5) + _variance_of(z1)) - 1e-4  # positively correlated
    # the previous-period changes stay one per period: 2025Q1 on 2024Q4 only
    previous = res.change("access.need_rate", published=False)
    previous = previous[(previous.region == "P") & (previous.service_type == "care") & (previous.period == "2025Q1")]
    assert previous["previous_period"].tolist() == ["2024Q4"]


def test_conf_int_recomputes_each_method(survey):
    res, _ = survey
    again = res.conf_int(0.95)
    pd.testing.assert_series_equal(again["ci_low"], res.table["ci_low"], check_names=False)
    narrower = res.conf_int(0.80)
    defined = res.table["se"] > 0
    assert (narrower.loc[defined, "ci_low"] > res.table.loc[defined, "ci_low"]).all()
    assert (narrower.loc[defined, "ci_high"] < res.table.loc[defined, "ci_high"]).all()


def test_declared_design_reaches_compute(tmp_path, survey, sample):
    """A design declared in datapackage.json: a sampling fraction of 1/4 in every stratum
    multiplies every variance by 3/4; lonely_psu is read from it too."""
    res, _ = survey
    s = sample
    n = len(s["y"])
    county = np.where(np.isin(s["stratum"], ["s1", "s2"]), "A", "B")
    households = pd.DataFrame({"household_id": [f"h{i:03d}" for i in range(n)], "region_id": county,
                               "weight": s["w"], "stratum": s["stratum"], "psu": s["psu"], "fpc": 0.25})
    design = {"weight": "weight", "stratum": "stratum", "psu": "psu", "fpc": "fpc", "lonely_psu": "adjust"}
    d = _write_package(tmp_path / "declared", households, {"2024-02-01": s["y"] == 1}, design=design)
    got = evalkit.compute(evalkit.load(d), indicators=["access.need_rate"], min_cell=1)
    assert _row(got).se == pytest.approx(_row(res).se * np.sqrt(0.75), rel=1e-10)
    assert got.design == Design(**design)
    assert got.provenance["design"]["lonely_psu"] == "adjust"


def test_gaps_and_changes_without_a_design(tmp_path, sample, survey):
    """No weights, strata or PSUs: households are the PSUs of one stratum. The gap of a group
    to its region and the change between quarters still take the covariance, computed
    directly here from each household's linearised value."""
    _, second = survey
    s = sample
    n = len(s["y"])
    ids = [f"h{i:03d}" for i in range(n)]
    households = pd.DataFrame({"household_id": ids, "region_id": "A",
                               "hukou": np.where(s["domain"] == "a", "local", "migrant")})
    d = _write_package(tmp_path / "plain", households, {"2024-02-01": s["y"] == 1, "2024-05-01": second})
    res = evalkit.compute(evalkit.load(d), indicators=["access.need_rate"], by=["hukou"], min_cell=1)
    one, ones, household = np.zeros(n), np.ones(n), np.array(ids)
    local = (s["domain"] == "a").astype(float)
    z_all = _linearised(s["y"], ones, ones, one, household)
    z_local = _linearised(s["y"] * local, local, ones, one, household)
    gap = res.difference("hukou", published=False)
    gap = gap[(gap.region == "A") & (gap.period == "2024Q1") & (gap.service_type == "care")].set_index("group")
    assert gap.loc["local", "se"] == pytest.approx(np.sqrt(_variance_of(z_local - z_all)), rel=1e-9)
    z2 = _linearised(second.astype(float), ones, ones, one, household)
    change = res.change("access.need_rate", published=False)
    row = change[(change.region == "P") & (change.period == "2024Q2") & (change.group_by == "")
                 & (change.service_type == "care")].iloc[0]
    assert row.se == pytest.approx(np.sqrt(_variance_of(z2 - z_all)), rel=1e-9)
    assert _row(res, region="A").interval == "wilson"


@pytest.mark.parametrize(("num_keys", "den_keys"), [(["period", "service_type"], None),
                                                     (["period", "service_type"], ["period"]),
                                                     (["period", "service_type"], ["service_type"]),
                                                     (["service_type"], None)])
def test_rate_sums_without_crossing_households_equal_the_crossed_cells(tmp_path, monkeypatch, num_keys, den_keys):
    """With households as PSUs, a rate whose denominator lacks a key of its numerator is
    summed from the denominator and the numerator apart (kinds.BroadcastCells), never
    crossing every household with every period and service type; its stratum and period
    cross sums equal those of the crossed PSU cells (Rate.psu_cells), weights and strata
    included, and so do the published rows."""
    from evalkit.data.synth import generate
    from evalkit.indicators import Context
    from evalkit.indicators.access import need_units
    from evalkit.indicators.kinds import Rate, ratio_statistics
    from evalkit.indicators.parameters import resolve

    out = tmp_path / "pkg"
    generate(out, households=400, regions=4, periods=5, seed=3, weighted=True)
    package = evalkit.load(out)
    design = Design(weight="weight", stratum="stratum")
    ctx = Context(package, package.periods, resolve(None), design, package.region_closure(), ["hukou", "income_quintile"],
                  0.95)
    try:
        units = need_units(ctx)
        numerator = units.filter(units.nearby.fill_null(False)).select("household_id", *num_keys)
        # several rows of a household per key value: its X varies between periods and types
        denominator = None if den_keys is None else units.select("household_id", *den_keys)
        rate = Rate(numerator=numerator, denominator=denominator)
        assert rate.broadcast_cells(ctx, evalkit.indicators.base.households(ctx)) is not None
        split = ratio_statistics({"r": rate}, ctx)["r"]
        monkeypatch.setattr(Rate, "broadcast_cells", lambda self, ctx, hh: None)  # the crossed cells, as before
        crossed = ratio_statistics({"r": rate}, ctx)["r"]
        assert split.period_pairs.empty == crossed.period_pairs.empty == ("period" not in num_keys)
        for mine, theirs in ((split.strata, crossed.strata), (split.period_pairs, crossed.period_pairs)):
            if not theirs.empty:
                _assert_same_sums(mine, theirs)
    finally:
        ctx.close()


def test_household_psu_sums_equal_the_general_psu_cells(tmp_path, monkeypatch):
    """With households as PSUs, a household's units summed per key are its PSU cell (not
    grouped again per PSU) and a PSU is found in another period by its region and PSU
    alone (kinds.in_psus, kinds.HOUSEHOLD_PSU); the sums equal those of the general path,
    which groups per PSU and matches every level column, for rates and means with several
    units per household and key, weights, strata, a household-level and a region-relative group."""
    from types import SimpleNamespace

    from evalkit.data.synth import generate
    from evalkit.indicators import Context, kinds
    from evalkit.indicators.access import need_units
    from evalkit.indicators.kinds import Mean, Rate, ratio_statistics
    from evalkit.indicators.parameters import resolve

    out = tmp_path / "pkg"
    generate(out, households=400, regions=4, periods=5, seed=3, weighted=True)
    package = evalkit.load(out)
    ctx = Context(package, package.periods, resolve(None), Design(weight="weight", stratum="stratum"),
                  package.region_closure(), ["hukou", "income_quintile"], 0.95)
    try:
        units = need_units(ctx)
        aid = ctx.table("assistance").filter(lambda t: t.start_on.notnull())
        # one row per aid record: several per household, period and category
        records = aid.select("household_id", period=ctx.period_of(aid.start_on), service_type=aid.category)
        records = records.filter(records.period.isin(ctx.periods))
        batch = {
            "rate": Rate(numerator=units.filter(units.nearby.fill_null(False)).select("household_id", "period",
                                                                                      "service_type"),
                         denominator=units.select("household_id", "period", "service_type")),
            "records": Rate(numerator=records.filter(records.service_type == "medical"), denominator=records),
            "mean": Mean(units=records.mutate(value=ibis.literal(2.5))),
        }
        fast = ratio_statistics(batch, ctx)
        general_in_psus, general_cross = kinds.in_psus, kinds._period_cross
        clustered = SimpleNamespace(design=SimpleNamespace(clustered=True))
        monkeypatch.setattr(kinds, "in_psus", lambda units, on, hh, keys, ctx, **kw:
                            general_in_psus(units, on, hh, keys, clustered, **kw))
        monkeypatch.setattr(kinds, "_period_cross", lambda t, cell, ctx, same=None: general_cross(t, cell, ctx))
        general = ratio_statistics(batch, ctx)
        for name in batch:
            for mine, theirs in ((fast[name].strata, general[name].strata),
                                 (fast[name].period_pairs, general[name].period_pairs)):
                _assert_same_sums(mine, theirs)
    finally:
        ctx.close()


def _assert_same_sums(mine: pd.DataFrame, theirs: pd.DataFrame) -> None:
    """Two frames of sums (cells, then n, m, S* and C* sums) hold the same rows, in any order."""
    assert len(mine) == len(theirs) > 0
    keys = [c for c in theirs.columns if c not in ("n", "m") and not c.startswith(("S", "C"))]
    mine = mine[theirs.columns].sort_values(keys).reset_index(drop=True)
    theirs = theirs.sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, theirs, check_exact=False, rtol=1e-12, atol=1e-9)
