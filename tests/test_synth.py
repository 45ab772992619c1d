"""Synthetic packages: valid, reproducible, and indicators recover the planted truth."""
import hashlib
import json

import pandas as pd
import pytest

import evalkit
from evalkit.data import workdays
from evalkit.data.synth import generate
from evalkit.indicators.catalogue import load_catalogue


def digest(directory):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def test_same_seed_same_bytes(tmp_path):
    a = tmp_path / "a"
    b = tmp_path / "b"
    generate(a, households=3000, regions=3, periods=3, seed=5, format="csv")
    generate(b, households=3000, regions=3, periods=3, seed=5, format="csv")
    assert digest(a) == digest(b)
    c = tmp_path / "c"
    generate(c, households=3000, regions=3, periods=3, seed=6, format="csv")
    assert digest(a)["households.csv"] != digest(c)["households.csv"]


def test_chunked_writing_gives_the_declared_package(tmp_path):
    out = tmp_path / "p"
    truth = generate(out, households=5000, regions=2, periods=2, seed=1, chunk_size=700)
    pkg = evalkit.load(out)
    assert pkg.report.ok and not pkg.report.warnings
    assert pkg.rows["households"] == 5000
    assert sum(truth["households_per_region"].values()) == 5000
    assert pkg.periods == truth["periods"] == ["2023Q1", "2023Q2"]
    assert set(pkg.tables) == {"regions", "households", "needs", "providers", "service_points",
                               "assistance", "referrals", "cases", "feedback", "household_periods"}
    assert pkg.rows["household_periods"] == 5000 * 2


def test_refuses_to_overwrite_without_being_told(tmp_path):
    out = tmp_path / "p"
    generate(out, households=200, regions=1, periods=1, seed=1)
    with pytest.raises(FileExistsError):
        generate(out, households=200, regions=1, periods=1, seed=1)
    generate(out, households=300, regions=1, periods=1, seed=1, overwrite=True)
    assert json.loads((out / "truth.json").read_text())["generator"]["households"] == 300


def test_calibrated_to_the_seeds(synthetic):
    truth = json.loads((synthetic / "truth.json").read_text())
    params = truth["parameters"]
    assert params["reform"]["processing_working_days_mean"] == {"before": 9, "after": 2}
    assert params["reform"]["verification_working_days_mean"] == {"before": 15, "after": 1}
    assert params["receipt_factor_migrant"] < 1
    adopted = [p for p in params["reform"]["period"].values() if p]
    assert len(set(adopted)) > 1  # staggered


def coverage(results, truth_path, indicator):
    truth = pd.DataFrame(json.loads(truth_path.read_text())["expected"][indicator])
    got = results.overall(indicator).merge(truth, on=["region", "period", "service_type"], suffixes=("", "_true"))
    got = got[got.n >= 30]
    inside = (got.ci_low <= got.value_true) & (got.value_true <= got.ci_high)
    return len(got), inside.mean(), (got.value - got.value_true).mean()


@pytest.mark.parametrize("design", ["unweighted", "weighted"])
@pytest.mark.parametrize("indicator", ["access.need_rate", "access.accessibility_rate", "access.availability_rate",
                                       "access.unmet_need_rate", "access.coverage_rate", "access.unserved_rate"])
def test_planted_truth_inside_intervals(request, design, indicator):
    """Wilson (unweighted) and design-based (weighted) 95% intervals cover the planted truth."""
    suffix = "" if design == "unweighted" else "_weighted"
    package = request.getfixturevalue(f"synthetic{suffix}")
    results = request.getfixturevalue(f"synthetic{suffix}_results")
    cells, covered, bias = coverage(results, package / "truth.json", indicator)
    per_type = load_catalogue()[indicator].per_service_type
    assert cells > (300 if per_type else 40)
    # fewer cells without service types, so a wider band for the same 95% intervals
    low = 0.90 if per_type else 0.85
    assert low <= covered <= 0.99, f"95% intervals cover the truth in {covered:.1%} of {cells} cells"
    assert abs(bias) < 0.01


def test_migrants_less_available_than_locals(synthetic_results):
    diff = synthetic_results.difference("hukou", reference="local")
    top = diff[(diff.indicator == "access.availability_rate") & (diff.region == "R00") & (diff.group == "migrant")]
    assert (top["difference"] < 0).mean() > 0.9


def test_planted_process_times(synthetic):
    """Working days applied -> verified and verified -> decided drop as planted (叶涛涛 2022)."""
    truth = json.loads((synthetic / "truth.json").read_text())
    reform = pd.Series(truth["parameters"]["reform"]["period"])
    cases = pd.read_parquet(synthetic / "cases.parquet").dropna(subset=["verified_on", "decided_on"])
    hh = pd.read_parquet(synthetic / "households.parquet", columns=["household_id", "region_id"])
    cases = cases.merge(hh, on="household_id")
    quarter = pd.PeriodIndex(pd.to_datetime(cases.applied_on), freq="Q").astype(str)
    start = cases.region_id.map(reform)
    after = start.notna() & (quarter.values >= start.fillna("9999").values)
    # statutory working days in (start, end], as the generator plants them and the indicators count them
    days = lambda a, b: workdays.between(cases[a].values.astype("datetime64[D]"), cases[b].values.astype("datetime64[D]"))
    verification, processing = days("applied_on", "verified_on"), days("verified_on", "decided_on")
    assert verification[~after].mean() == pytest.approx(15, rel=0.05)
    assert verification[after].mean() == pytest.approx(1, rel=0.05)
    assert processing[~after].mean() == pytest.approx(9, rel=0.05)
    assert processing[after].mean() == pytest.approx(2, rel=0.05)


def test_planted_migrant_availability_gap_inside_intervals(synthetic, synthetic_results):
    """Migrants receive 0.6 times the locals' probability: each group's availability rate and the
    migrant-minus-local difference (its se keeps the covariance) cover the planted values."""
    truth = pd.DataFrame(json.loads((synthetic / "truth.json").read_text())["expected_by_group"]
                         ["access.availability_rate"])
    keys = ["region", "period", "service_type", "group"]
    got = synthetic_results.by_group("hukou", "access.availability_rate").merge(truth, on=keys, suffixes=("", "_true"))
    got = got[got.n >= 30]
    inside = (got.ci_low <= got.value_true) & (got.value_true <= got.ci_high)
    assert len(got) > 500 and 0.90 <= inside.mean() <= 0.99
    planted = truth.pivot_table(index=keys[:3], columns="group", values="value")
    planted = (planted["migrant"] - planted["local"]).rename("gap_true").reset_index()
    diff = synthetic_results.difference("hukou", reference="local")
    diff = diff[(diff.indicator == "access.availability_rate") & (diff.group == "migrant") & ~diff.suppressed]
    diff = diff.merge(planted, on=keys[:3])
    inside = (diff.ci_low <= diff.gap_true) & (diff.gap_true <= diff.ci_high)
    assert len(diff) >= 150 and 0.90 <= inside.mean() <= 0.99
    assert (diff.gap_true < 0).all() and abs((diff.difference - diff.gap_true).mean()) < 0.01


def test_planted_concentration_of_charity_and_government_aid(synthetic, synthetic_results):
    """Government aid is pro-poor (cash falls with income), charity aid income-blind: the
    concentration indices of the expected aid are recovered within their intervals, and the
    charity-minus-government gap is clearly positive (charity less pro-poor)."""
    truth = json.loads((synthetic / "truth.json").read_text())["expected"]
    covered = []
    for name in ("government", "charity", "gap"):
        indicator = f"fairness.concentration_{name}"
        got = synthetic_results.overall(indicator).merge(pd.DataFrame(truth[indicator]),
                                                         on=["region", "period", "service_type"], suffixes=("", "_true"))
        assert len(got) == 11 * 4  # 8 counties, 2 cities and the province, 4 quarters
        covered.append(((got.ci_low <= got.value_true) & (got.value_true <= got.ci_high)).mean())
        if name == "gap":
            province = got[got.region == "R00"]
            assert (province.value_true > 0.6).all() and (province.ci_low > 0.5).all()
    assert min(covered) >= 0.85 and sum(covered) / 3 >= 0.90, covered
