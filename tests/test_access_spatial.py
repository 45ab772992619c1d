"""Distance-based access on a tiny located package, checked by hand."""
import json
import math

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.weightstats import DescrStatsW

import evalkit

KM_PER_DEGREE = 6371.0088 * math.pi / 180  # along a meridian


@pytest.fixture
def located(tmp_path):
    d = tmp_path / "located"
    d.mkdir()
    pd.DataFrame({"region_id": ["A"], "name": ["甲县"]}).to_csv(d / "regions.csv", index=False)
    pd.DataFrame({
        "household_id": ["h1", "h2", "h3"], "region_id": ["A"] * 3,
        "lon": [120.0, 120.0, None], "lat": [30.0, 30.1, None],
    }).to_csv(d / "households.csv", index=False)
    pd.DataFrame({
        "point_id": ["p1", "p2", "p3"], "region_id": ["A"] * 3, "service_types": ["care", "care;medical", "medical"],
        "lon": [120.0, 120.0, 120.0], "lat": [30.02, 30.13, 30.0], "published": [True, True, False],
        "capacity": [10, 20, 30],
    }).to_csv(d / "service_points.csv", index=False)
    pd.DataFrame({
        "need_id": ["n1", "n2", "n3", "n4"], "household_id": ["h1", "h2", "h2", "h3"],
        "service_type": ["care", "care", "medical", "care"], "identified_on": ["2024-01-05"] * 4,
    }).to_csv(d / "needs.csv", index=False)
    (d / "datapackage.json").write_text(json.dumps({"frequency": "quarter"}))
    return d


def overall(res, indicator, service):
    rows = res.overall(indicator)
    return rows[(rows.service_type == service) & (rows.region == "A")].iloc[0]


def test_nearness_from_distance_when_no_survey_answer(located):
    res = evalkit.compute(evalkit.load(located), min_cell=1)
    care = overall(res, "access.accessibility_rate", "care")
    # h1 is 2.22 km from p1, h2 3.34 km from p2; h3 has no location and is left out
    assert (care.numerator, care.denominator) == (1, 2)
    wider = evalkit.compute(evalkit.load(located), min_cell=1, params={"nearby_km": 3.5})
    assert overall(wider, "access.accessibility_rate", "care").value == 1.0


def test_nearest_distance_and_beyond_reach(located):
    res = evalkit.compute(evalkit.load(located), min_cell=1)
    d1, d2 = 0.02 * KM_PER_DEGREE, 0.03 * KM_PER_DEGREE
    care = overall(res, "access.nearest_point_km", "care")
    assert care.value == pytest.approx((d1 + d2) / 2, rel=1e-9)
    assert care.n == 2
    # A domain (subpopulation) estimate: the linearised variance runs over all 3 sampled
    # households, h3 contributing zero, so n/(n-1) is 3/2 rather than DescrStatsW's 2/1.
    x = np.array([d1, d2])
    se = math.sqrt(3 / 2 * (((x - x.mean()) / 2) ** 2).sum())
    assert se == pytest.approx(DescrStatsW(x).std_mean * math.sqrt(3 / 4), rel=1e-12)
    assert care.se == pytest.approx(se, rel=1e-9)
    # a t interval on the design's degrees of freedom: 3 households (PSUs) in 1 stratum -> 2
    assert care.df == 2
    assert (care.ci_high - care.ci_low) / 2 == pytest.approx(4.302652729911275 * se, rel=1e-9)
    medical = overall(res, "access.nearest_point_km", "medical")
    assert medical.value == pytest.approx(d2, rel=1e-9)  # the unpublished p3 next door does not count
    beyond = overall(res, "access.beyond_reach_rate", "care")
    assert (beyond.numerator, beyond.denominator) == (1, 2)
    assert overall(res, "access.beyond_reach_rate", "medical").value == 1.0


def test_survey_answer_wins_over_distance(located):
    needs = pd.read_csv(located / "needs.csv")
    needs["supply_nearby"] = ["否", None, None, "是"]  # h1 says no although p1 is 2 km away
    needs.to_csv(located / "needs.csv", index=False)
    res = evalkit.compute(evalkit.load(located), min_cell=1)
    care = overall(res, "access.accessibility_rate", "care")
    assert (care.numerator, care.denominator) == (1, 3)  # h3 counts by its answer, h2 by distance


def test_without_locations_or_answers_accessibility_is_skipped(located):
    pd.read_csv(located / "households.csv").drop(columns=["lon", "lat"]).to_csv(located / "households.csv", index=False)
    res = evalkit.compute(evalkit.load(located))
    assert "supply_nearby" in res.skipped["access.accessibility_rate"]
    assert "households.lon" in res.skipped["access.nearest_point_km"]


def test_catchment_access_by_hand(located):
    res = evalkit.compute(evalkit.load(located), min_cell=1, params={"catchment_km": 10})
    w = lambda deg: math.exp(-(deg * KM_PER_DEGREE) ** 2 / (2 * 5.0 ** 2))  # Gaussian, sigma = 10 km / 2
    # care: p1 (capacity 10) reaches h1 (0.02 deg) and h2 (0.08 deg); p2 (20) reaches h2 (0.03 deg)
    # only, h1 being 14 km away; h3 has no location.
    r1, r2 = 10 / (w(0.02) + w(0.08)), 20 / w(0.03)
    a1, a2 = r1 * w(0.02), r1 * w(0.08) + r2 * w(0.03)
    care = overall(res, "access.catchment_access", "care")
    assert care.value == pytest.approx((a1 + a2) / 2, rel=1e-9)
    assert care.value == pytest.approx(15.0, rel=1e-9)  # all capacity reached: (10 + 20) / 2 households
    assert overall(res, "access.catchment_access", "medical").value == pytest.approx(20.0, rel=1e-9)
    low = overall(res, "access.low_catchment_access_rate", "care")
    assert (low.numerator, low.denominator) == (int(a1 < 7.5) + int(a2 < 7.5), 2)
    # a catchment of 5 km leaves p1 -> h2 out, and h1 alone shares p1's capacity
    small = evalkit.compute(evalkit.load(located), min_cell=1, params={"catchment_km": 5}, indicators=["access.catchment_access"])
    assert overall(small, "access.catchment_access", "care").value == pytest.approx((10 + 20) / 2, rel=1e-9)


def test_catchment_without_capacity_is_skipped(located):
    pts = pd.read_csv(located / "service_points.csv").drop(columns=["capacity"])
    pts.to_csv(located / "service_points.csv", index=False)
    res = evalkit.compute(evalkit.load(located))
    assert "capacity" in res.skipped["access.catchment_access"]


def test_a_type_no_point_offers_counts_as_not_nearby(located):
    """h1 (located) also needs legal aid, which no published point offers: no distance.

    Before, the NULL distance made ``nearby`` NULL and the need dropped out of the
    accessibility denominator (legal aid: 0/0, undefined). It counts as no supply nearby:
    legal aid accessibility 0/1, beyond reach 1/1; the mean distance has no value to
    average (0 units) and reports the household as left out (n_excluded 1).
    Care: h1 2.22 km (near), h2 3.34 km (not), h3 has no location and no answer, so its
    nearness is unknown: 1/2 with n_excluded 1; h3 is also left out of the distance
    indicators (n_excluded 1).
    """
    needs = pd.read_csv(located / "needs.csv")
    needs.loc[len(needs)] = ["n5", "h1", "legal_aid", "2024-01-05"]
    needs.to_csv(located / "needs.csv", index=False)
    res = evalkit.compute(evalkit.load(located), min_cell=1)
    legal = overall(res, "access.accessibility_rate", "legal_aid")
    assert (legal.numerator, legal.denominator, legal.n_excluded) == (0, 1, 0)
    beyond = overall(res, "access.beyond_reach_rate", "legal_aid")
    assert (beyond.numerator, beyond.denominator, beyond.n_excluded) == (1, 1, 0)
    km = overall(res, "access.nearest_point_km", "legal_aid")
    assert np.isnan(km.value) and km.n == 0 and km.n_excluded == 1
    care = overall(res, "access.accessibility_rate", "care")
    assert (care.numerator, care.denominator, care.n_excluded) == (1, 2, 1)
    assert overall(res, "access.nearest_point_km", "care").n_excluded == 1
    assert overall(res, "access.beyond_reach_rate", "care").n_excluded == 1
    assert overall(res, "access.catchment_access", "care").n_excluded == 1


def test_spatial_steps_in_batches_give_the_same_table(located, monkeypatch):
    """Located households reach Python a batch at a time; one household per batch changes nothing."""
    from evalkit.indicators import access

    spatial = ["access.accessibility_rate", "access.nearest_point_km", "access.beyond_reach_rate",
               "access.catchment_access", "access.low_catchment_access_rate"]
    whole = evalkit.compute(evalkit.load(located), indicators=spatial, min_cell=1).table
    monkeypatch.setattr(access, "HOMES_PER_BATCH", 1)
    batched = evalkit.compute(evalkit.load(located), indicators=spatial, min_cell=1).table
    assert len(whole) and whole["value"].notna().any()
    pd.testing.assert_frame_equal(batched, whole)
