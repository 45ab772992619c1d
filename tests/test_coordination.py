"""Coordination family: hand-computed values on a tiny package, planted truth on synthetic data."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from statsmodels.duration.survfunc import SurvfuncRight

import evalkit
from evalkit.data import workdays
from evalkit.results.reform import before_after

Q = "2024Q1"
EXTRACTED = "2024-06-30"

# Households: s1-s4 children needing school aid (祝建华 2025, school-bag case: s1 and s2
# aided by a government and a charity programme at once, s3 and s4 by nobody); t1
# touching dates; t2 consecutive, not overlapping; t3 open-ended government aid; t4 two
# government providers; m1, m2 two needs each; w1 aided 117 days after its need.
HOUSEHOLDS = ["s1", "s2", "s3", "s4", "t1", "t2", "t3", "t4", "m1", "m2", "w1"]
PROVIDERS = pd.DataFrame({"provider_id": ["G1", "G2", "C1"], "name": ["民政局", "教育局", "慈善总会"],
                          "sector": ["government", "government", "charity"]})
NEEDS = pd.DataFrame([
    # need_id, household, type, identified, channel, within_policy, published, matched, handled
    ("e1", "s1", "education", "2024-02-01", "application", True, "2024-02-02", "2024-02-03", "2024-02-10"),
    ("e2", "s2", "education", "2024-02-01", "application", True, "2024-02-04", "2024-02-05", None),
    ("e3", "s3", "education", "2024-02-01", "application", False, "2024-02-05", None, None),
    ("e4", "s4", "education", "2024-02-01", "application", False, None, None, None),
    ("k1", "t1", "care", "2024-01-01", "grid_worker", True, "2024-01-01", "2024-01-02", "2024-01-03"),
    ("m1a", "m1", "care", "2024-01-10", "data_alert", True, None, None, None),
    ("m1b", "m1", "medical", "2024-01-10", "data_alert", False, None, None, None),
    ("m2a", "m2", "care", "2024-01-10", "application", True, None, None, None),
    ("m2b", "m2", "legal_aid", "2024-01-10", "charity", True, None, None, None),
    ("w1n", "w1", "care", "2024-01-05", "volunteer", True, None, None, None),
], columns=["need_id", "household_id", "service_type", "identified_on", "channel", "within_policy",
            "published_on", "matched_on", "handled_on"])
ASSISTANCE = pd.DataFrame([
    # record, household, provider, category, form, amount, start, end, need
    ("a1", "s1", "G2", "education", "in_kind", 100, "2024-02-10", "2024-02-10", "e1"),
    ("a2", "s1", "C1", "education", "in_kind", 120, "2024-02-10", "2024-02-10", "e1"),
    ("a3", "s2", "G2", "education", "in_kind", 100, "2024-02-10", "2024-02-10", "e2"),
    ("a4", "s2", "C1", "education", "in_kind", 120, "2024-02-10", "2024-02-10", "e2"),
    ("a5", "t1", "G1", "care", "service", 300, "2024-01-01", "2024-01-31", "k1"),
    ("a6", "t1", "C1", "care", "service", 200, "2024-01-31", "2024-02-28", "k1"),  # touches a5
    ("a7", "t2", "G1", "care", "service", 100, "2024-01-01", "2024-01-30", None),
    ("a8", "t2", "C1", "care", "service", 100, "2024-01-31", "2024-02-28", None),  # after a7
    ("a9", "t3", "G1", "medical", "cash", 400, "2023-06-01", None, None),  # open-ended
    ("a10", "t3", "C1", "medical", "in_kind", 50, "2024-03-01", "2024-03-10", None),
    ("a11", "t4", "G1", "care", "service", 100, "2024-01-05", "2024-01-20", None),
    ("a12", "t4", "G2", "care", "service", 100, "2024-01-10", "2024-01-25", None),
    ("a13", "m1", "C1", "care", "service", 70, "2024-01-20", "2024-01-30", "m1a"),
    ("a14", "m2", "C1", "care", "service", 80, "2024-02-01", "2024-02-28", "m2a"),
    ("a15", "m2", "G1", "legal_aid", "service", 60, "2024-03-01", "2024-03-05", "m2b"),
    ("a16", "w1", "C1", "care", "service", 90, "2024-05-01", "2024-05-10", "w1n"),
], columns=["record_id", "household_id", "provider_id", "category", "form", "amount", "start_on", "end_on", "need_id"])
REFERRALS = pd.DataFrame([
    ("r1", "m1", "m1b", "G1", "C1", "2024-01-12", "2024-01-14", "2024-01-24", "closed"),
    ("r2", "s3", "e3", "G1", "C1", "2024-02-02", "2024-02-07", None, "accepted"),
    ("r3", "t1", "k1", "C1", "G1", "2024-01-03", None, None, "rejected"),
    ("r4", "w1", "w1n", "C1", "G2", "2024-03-01", None, None, "pending"),
    ("r5", "m2", "m2a", "G2", "C1", "2024-01-11", "2024-01-21", "2024-03-31", "closed"),
], columns=["referral_id", "household_id", "need_id", "from_provider", "to_provider", "created_on",
            "accepted_on", "closed_on", "status"])
CASES = pd.DataFrame([
    ("ka", "s1", "2024-01-08", "2024-01-12", "2024-01-16", "2024-01-18", "2024-02-07", True),   # Mon..Thu
    ("kb", "s2", "2024-01-13", "2024-01-22", "2024-01-29", "2024-03-01", "2024-02-12", True),   # Sat start, late
    ("kc", "t1", "2024-02-01", "2024-02-02", "2024-02-05", None, "2024-03-02", False),         # refused in time
    ("kd", "t2", "2024-03-20", None, None, None, "2024-04-19", None),                          # open, 14 working days left
    ("ke", "t3", "2024-01-02", None, None, None, "2024-02-01", None),                          # overdue
    ("kf", "t4", "2024-03-01", None, None, None, "2024-04-05", None),                          # open, 3 working days left (Qingming)
], columns=["case_id", "household_id", "applied_on", "verified_on", "decided_on", "delivered_on", "deadline_on",
            "approved"])
FEEDBACK = pd.DataFrame({"feedback_id": ["f1", "f2", "f3", "f4"], "household_id": ["s1", "s2", "t1", "m2"],
                         "record_id": ["a1", "a3", "a5", "a14"], "score": [5, 4, 2, 3],
                         "given_on": ["2024-02-20", "2024-02-21", "2024-02-01", "2024-03-01"]})
POINTS = pd.DataFrame({"point_id": ["p1", "p2", "p3", "p4"], "provider_id": ["G1", "C1", "C1", "G2"],
                       "region_id": ["C"] * 4, "service_types": ["care", "care;medical", "education", "legal_aid"],
                       "published": [True, True, False, True]})


@pytest.fixture(scope="module")
def loop(tmp_path_factory):
    d = tmp_path_factory.mktemp("loop")
    pd.DataFrame({"region_id": ["P", "C"], "name": ["省", "县"], "parent_id": [None, "P"],
                  "level": ["province", "county"], "reform_period": [None, "2024Q2"]}).to_csv(d / "regions.csv", index=False)
    pd.DataFrame({"household_id": HOUSEHOLDS, "region_id": "C"}).to_csv(d / "households.csv", index=False)
    for name, frame in [("providers", PROVIDERS), ("needs", NEEDS), ("assistance", ASSISTANCE),
                        ("referrals", REFERRALS), ("cases", CASES), ("feedback", FEEDBACK), ("service_points", POINTS)]:
        frame.to_csv(d / f"{name}.csv", index=False)
    # extracted late enough for every window of 2024Q1 to have ended (see test_censoring_at_the_extraction_date)
    (d / "datapackage.json").write_text(json.dumps({"frequency": "quarter", "extracted_on": EXTRACTED}))
    package = evalkit.load(d)
    return package, evalkit.compute(package, family="coordination", min_cell=1)


def cell(res, indicator, region="C", period=Q, service=""):
    rows = res.overall(indicator)
    return rows[(rows.region == region) & (rows.period == period) & (rows.service_type == service)].iloc[0]


def ratio(res, indicator, **kw):
    row = cell(res, indicator, **kw)
    return row.numerator, row.denominator


def test_school_bags_show_duplicate_and_omitted_aid_at_once(loop):
    _, res = loop
    # aided in Q1: s1 s2 t1 t2 t3 t4 m1 m2; government and charity overlapping: s1 s2, t1 (touching), t3 (open-ended)
    assert ratio(res, "coordination.duplicate_aid_rate") == (4, 8)
    assert ratio(res, "coordination.duplicate_aid_any_rate") == (5, 8)  # t4: two government providers
    # education needs: s3 and s4 got nothing
    assert ratio(res, "coordination.omitted_need_rate", service="education") == (2, 4)
    assert cell(res, "coordination.duplicate_aid_rate", region="P").value == 0.5  # the province rolls up


def test_duplicates_need_overlap_within_the_period(loop):
    _, res = loop
    # t3's open-ended government aid overlaps nothing before 2024Q1
    assert ratio(res, "coordination.duplicate_aid_rate", period="2023Q4") == (0, 1)
    # yuan of duplicate records whose first overlap begins in Q1: 220 + 220 + 500 + 50, and
    # t3's open-ended 400 (started in 2023, duplicated from 2024-03-01 when a10 starts)
    amount = cell(res, "coordination.duplicate_aid_amount")
    assert amount.numerator == 1390 and amount.denominator == 8 and amount.value == pytest.approx(1390 / 8)
    assert cell(res, "coordination.duplicate_aid_amount", period="2023Q4").numerator == 0
    assert ratio(res, "coordination.duplicate_need_rate") == (3, 7)  # e1 e2 k1 of 7 needs with linked records


def test_omission_window_and_multi_need(loop):
    package, res = loop
    # needs of Q1 without aid of their category in 90 days: e3 e4 m1b w1n
    assert ratio(res, "coordination.omitted_need_rate", service="care") == (1, 4)
    assert ratio(res, "coordination.omitted_need_rate", service="medical") == (1, 1)
    assert ratio(res, "coordination.omitted_aid_rate") == (3, 8)  # s3 s4 w1 got nothing at all
    assert ratio(res, "coordination.multi_need_addressed_rate") == (1, 2)  # m2 yes, m1 no
    wider = evalkit.compute(package, indicators=["coordination.omitted_need_rate"], min_cell=1,
                            params={"omission_window_days": 120})
    assert ratio(wider, "coordination.omitted_need_rate", service="care") == (0, 4)


def test_referrals(loop):
    _, res = loop
    assert ratio(res, "coordination.referral_to_charity_rate") == (2, 3)  # m1b, e3 of m1b e3 e4
    assert ratio(res, "coordination.charity_to_government_share") == (2, 5)
    assert ratio(res, "coordination.referral_acceptance_rate") == (3, 4)  # r4 pending is undecided
    assert cell(res, "coordination.referral_acceptance_rate").n_excluded == 1  # ... and counted
    assert ratio(res, "coordination.referral_closure_rate") == (2, 3)


def test_referral_times_treat_pending_as_censored(loop):
    _, res = loop
    # days to acceptance: r1 2, r2 5, r5 10, r4 pending 121 days at the extraction date
    # (2024-03-01 -> 2024-06-30). Kaplan-Meier: S(2) = 3/4, S(5) = 1/2, S(10) = 1/4. S equals
    # 1/2 exactly on [5, 10), so the median is the midpoint 7.5 (R survival's and SAS
    # LIFETEST's rule; statsmodels reports the end, 10). The Brookmeyer-Crowley interval is
    # statsmodels'. r4 still waits: n_censored 1, and the quarter's value is not final.
    median = cell(res, "coordination.referral_accept_days_median")
    assert median.value == 7.5 and (median.numerator, median.denominator) == (3, 4)
    assert median.n_censored == 1 and median.incomplete
    fit = SurvfuncRight(np.array([2, 5, 10, 121.0]), np.array([1, 1, 1, 0.0]))
    assert (median.ci_low, median.ci_high) == tuple(fit.quantile_ci(0.5))
    p90 = cell(res, "coordination.referral_accept_days_p90")
    assert np.isnan(p90.value) and "censored" in p90.note  # survival never falls below 25%
    close = cell(res, "coordination.referral_close_days_median")
    assert close.value == 80  # r1 12, r2 open at 58, r5 80: S = 2/3 then 0


def test_platform_kpis(loop):
    _, res = loop
    assert ratio(res, "coordination.push_timeliness_rate") == (3, 10)  # k1 0 days, e1 1, e2 3; e3 4 is late
    assert ratio(res, "coordination.matching_handling_rate") == (2, 4)
    assert ratio(res, "coordination.satisfaction_rate") == (2, 4)
    assert ratio(res, "coordination.resource_publication_rate") == (3, 4)
    assert ratio(res, "coordination.resource_publication_rate", period="2023Q2") == (3, 4)
    assert ratio(res, "coordination.active_discovery_share") == (5, 10)


def test_process_working_days(loop):
    """Statutory working days in (start, end] (Spring Festival 2024: 10-17 February off, Sundays
    4 and 18 February worked):

    ka  Mon 01-08 -> Fri 01-12 -> Tue 01-16 -> Thu 01-18: verification 4, processing 2 (15, 16),
        decision 6, delivery 2 (17, 18)
    kb  Sat 01-13 -> Mon 01-22 -> Mon 01-29 -> Fri 03-01: verification 15-19, 22 -> 6 (the Saturday
        start excluded; busday_count's [start, end) gives 5), processing 23-26, 29 -> 5, decision 11,
        delivery 30, 31 January, 18 working days of February (21 weekdays less 12-16, plus
        Sundays 4 and 18), 1 March -> 21 (Monday-Friday [start, end): 24)
    kc  Thu 02-01 -> Fri 02-02 -> Mon 02-05: verification 1, processing 4 (Sunday, worked), 5 -> 2,
        decision 3; refused, no delivery
    """
    _, res = loop
    assert cell(res, "coordination.verification_days").value == pytest.approx((4 + 6 + 1) / 3)
    assert cell(res, "coordination.processing_days").value == pytest.approx((2 + 5 + 2) / 3)
    assert cell(res, "coordination.decision_days").value == pytest.approx((6 + 11 + 3) / 3)
    assert cell(res, "coordination.delivery_days").value == pytest.approx((2 + 21) / 2)
    ours = cell(res, "coordination.delivery_days")
    assert ours.value == workdays.between(["2024-01-16", "2024-01-29"], ["2024-01-18", "2024-03-01"]).mean()


def test_deadlines_and_warnings(loop):
    _, res = loop
    # every deadline has passed by the extraction date (2024-06-30): ka kc in time; kb late;
    # ke, kd and kf still open after their deadlines
    assert ratio(res, "coordination.on_time_rate") == (2, 6)
    # open at Sunday 2024-03-31, working days left in (03-31, deadline]: ke overdue (red); kf to Friday
    # 04-05: 1-3 April, Qingming 4-6 off -> 3 (red; 5 calendar days would be yellow); kd to 04-19:
    # 1-3, Sunday 7 (worked), 8-12, 15-19 -> 14 (blue)
    assert ratio(res, "coordination.open_red_rate") == (2, 3)
    assert ratio(res, "coordination.open_yellow_rate") == (0, 3)
    assert ratio(res, "coordination.open_blue_rate") == (1, 3)


def test_warning_thresholds_are_configurable(loop):
    package, _ = loop
    res = evalkit.compute(package, indicators=["coordination.open_red_rate"], min_cell=1, params={"warning_days": (5, 10)})
    assert ratio(res, "coordination.open_red_rate") == (2, 3)
    with pytest.raises(ValueError, match="first not above the second"):
        evalkit.compute(package, params={"warning_days": (7, 3)})


def test_funding_and_integration(loop):
    _, res = loop
    share = cell(res, "coordination.charity_funding_share")
    assert (share.numerator, share.denominator) == (740, 1600)
    assert ratio(res, "coordination.integrated_aid_rate") == (4, 6)  # s1 s2 t1 m2 of s1 s2 t1 t2 t3 m2


def test_missing_tables_skip_with_reasons(tiny):
    res = evalkit.compute(evalkit.load(tiny), family="coordination")
    assert "referrals" in res.skipped["coordination.referral_acceptance_rate"]
    assert "cases" in res.skipped["coordination.processing_days"]
    assert "coordination.duplicate_aid_rate" not in res.skipped


# --- planted truth --------------------------------------------------------------------

@pytest.fixture(scope="module")
def planted(synthetic):
    package = evalkit.load(synthetic)
    truth = json.loads((synthetic / "truth.json").read_text())
    res = evalkit.compute(package, family="coordination")
    return package, truth, res


def phase_rows(truth, res, indicator, drop_last=False):
    reform = truth["parameters"]["reform"]["period"]
    rows = res.overall(indicator)
    rows = rows[rows.region.isin(list(reform))].copy()
    if drop_last:  # durations near the end of the data are censored
        rows = rows[rows.period != truth["periods"][-1]]
    rows["after"] = [reform[r] is not None and p >= reform[r] for r, p in zip(rows.region, rows.period)]
    return rows


@pytest.mark.parametrize("indicator, before, after, drop_last", [
    ("coordination.duplicate_need_rate", 0.10, 0.03, False),
    ("coordination.referral_to_charity_rate", 0.25, 0.70, False),
    ("coordination.active_discovery_share", 0.25, 0.55, False),
    ("coordination.satisfaction_rate", 0.80, 0.90, False),
    ("coordination.push_timeliness_rate", 0.9 * (1 - 0.8**3), 0.9 * (1 - (1 / 3) ** 3), False),
    ("coordination.referral_acceptance_rate", 0.80, 0.80, True),
])
def test_planted_rates_recovered(planted, indicator, before, after, drop_last):
    _, truth, res = planted
    rows = phase_rows(truth, res, indicator, drop_last)
    expected = np.where(rows.after, after, before)
    inside = (rows.ci_low <= expected) & (expected <= rows.ci_high)
    assert len(rows) >= 20
    assert inside.mean() >= 0.85, rows.assign(expected=expected)[~inside]


def test_planted_referral_acceptance_days(planted):
    _, truth, res = planted
    # ceil(exponential) days: median ceil(mean * ln 2) -> 5 before, 2 after
    rows = phase_rows(truth, res, "coordination.referral_accept_days_median", drop_last=True)
    expected = np.where(rows.after, 2, 5)
    assert ((rows.ci_low <= expected) & (expected <= rows.ci_high)).mean() >= 0.85
    assert (np.abs(rows.value - expected) <= 1).all()


def test_planted_process_times_fall_after_the_reform(planted):
    package, truth, res = planted
    for indicator, before, after in (("coordination.processing_days", 9, 2),
                                     ("coordination.verification_days", 15, 1)):
        table = before_after(res, package, indicator)
        adopted = [r for r, p in truth["parameters"]["reform"]["period"].items() if p is not None]
        assert set(table.region) >= set(adopted) and len(adopted) >= 3
        counties = table[table.region.isin(adopted)]
        assert (counties.before.round() == before).all() and (counties.after.round() == after).all()
        change = after - before
        assert ((counties.change_ci_low <= change) & (change <= counties.change_ci_high)).mean() >= 0.75


# --- missing values inside a defining condition; duplicates by date; one "received" -------

def _variant(package, tmp_path, **frames):
    """The loop package with some tables replaced."""
    import shutil

    d = tmp_path / "variant"
    shutil.copytree(package.path, d)
    for name, frame in frames.items():
        frame.to_csv(d / f"{name}.csv", index=False)
    return evalkit.load(d)


def test_blank_values_are_counted_as_the_catalogue_says(loop, tmp_path):
    """Blanks in defining columns never drop a unit by accident (NULL comparisons).

    Changes to the loop package, all in 2024Q1:
    - referral r1's status blank (it has an acceptance date): still accepted, 2 days;
    - r3's status blank (was "rejected", no dates): no decision yet, so it leaves the
      acceptance denominator, and in the days to acceptance it is pending, censored at the
      extraction date: 2024-01-03 -> 2024-06-30 = 179 days;
    - r2 accepted by its status but its acceptance date blank: duration unknown, left out
      of the days to acceptance (n_excluded = 1).
      Days to acceptance: r1 2 (event), r5 10 (event), r4 121 (censored), r3 179 (censored);
      KM S(2) = 3/4, S(10) = 3/4 * 2/3 = 1/2: events 2 of 4 units. The curve stays at
      exactly 1/2 to the last day observed (179, no later event), so the median is the
      midpoint (10 + 179) / 2 = 94.5, as R's quantile.survfit.
      Acceptance: decided r1, r2, r5 (accepted), none rejected -> 3/3.
    - need e4's within_policy blank: out-of-policy needs m1b, e3 -> 2/2, n_excluded 1;
    - need k1's channel blank: 9 needs with a known channel, of which e1-e4 and m2a are
      applications and m1a, m1b, m2b, w1n active -> 4/9, n_excluded 1 (k1);
    - feedback f3's score blank: Q1 scores f1 5, f2 4, f4 3 -> 2/3, n_excluded 1.
    """
    package, res = loop
    refs = REFERRALS.copy()
    refs.loc[refs.referral_id == "r1", "status"] = None
    refs.loc[refs.referral_id == "r3", "status"] = None
    refs.loc[refs.referral_id == "r2", "accepted_on"] = None
    needs = NEEDS.copy()
    needs["within_policy"] = needs["within_policy"].astype(object)
    needs.loc[needs.need_id == "e4", "within_policy"] = None
    needs.loc[needs.need_id == "k1", "channel"] = None
    fb = FEEDBACK.copy().astype({"score": object})
    fb.loc[fb.feedback_id == "f3", "score"] = None
    blank = evalkit.compute(_variant(package, tmp_path, referrals=refs, needs=needs, feedback=fb),
                            family="coordination", min_cell=1)
    median = cell(blank, "coordination.referral_accept_days_median")
    assert (median.numerator, median.denominator, median.n_excluded) == (2, 4, 1)
    assert median.value == 94.5
    assert ratio(blank, "coordination.referral_acceptance_rate") == (3, 3)
    row = cell(blank, "coordination.referral_to_charity_rate")
    assert (row.numerator, row.denominator, row.n_excluded) == (2, 2, 1)
    row = cell(blank, "coordination.active_discovery_share")
    assert (row.numerator, row.denominator, row.n_excluded) == (4, 9, 1)
    row = cell(blank, "coordination.satisfaction_rate")
    assert (row.numerator, row.denominator, row.n_excluded) == (2, 3, 1)
    # the original package excludes nothing there
    assert cell(res, "coordination.referral_to_charity_rate").n_excluded == 0
    assert (res.table.n_excluded >= 0).all() and res.table.n_excluded.dtype == "int64"


def test_referral_times_without_a_status_column(loop, tmp_path):
    """The optional status column absent: no referral counts as rejected.

    2024Q1 days to acceptance: r1 2, r2 5, r5 10 (events); r3 pending 179, r4 pending 121
    (censored at the extraction date 2024-06-30). KM: S(2) = 4/5, S(5) = 3/5, S(10) = 2/5 < 1/2 -> median 10,
    events 3 of 5 (before the fix every row had a NULL status and was dropped: no value).
    """
    package, _ = loop
    res = evalkit.compute(_variant(package, tmp_path, referrals=REFERRALS.drop(columns="status")),
                          indicators=["coordination.referral_accept_days_median"], min_cell=1)
    median = cell(res, "coordination.referral_accept_days_median")
    assert (median.value, median.numerator, median.denominator, median.n_excluded) == (10, 3, 5, 0)


def test_censoring_at_the_extraction_date(loop, tmp_path):
    """Windows that run past the extraction date are censored, counted and flag the period.

    The loop package extracted on 2024-04-15 (without a16, which starts after that day; w1n
    then gets no aid). Default windows: omission 90 days, push 3, follow-up 90.

    - needs e1-e4, identified 02-01: the omission window ends 05-01 > 04-15, so they are
      censored; k1 (ends 03-31), m1a m1b m2a m2b (04-09) and w1n (04-04) are judged.
      Omitted education needs: 0/0 with n_censored 4; care: k1 m1a m2a addressed, w1n
      not -> 1/4, nothing censored, complete.
    - omitted aid: s1-s4 censored (4); t1 m1 m2 got aid, w1 none -> 1/4.
    - multi-need households m1, m2 (both judged): m2 -> 1/2.
    - out-of-policy needs e3 e4 (follow-up ends 05-01) censored; m1b judged and referred -> 1/1.
    - referrals: r2 (02-02 + 90 = 05-02) and r4 (05-30) censored; r1 r5 accepted, r3
      rejected -> acceptance 2/3; closure among accepted r1 r5 (r2 censored) -> 2/2.
    - published needs: e1 e2 e3 (published 02-02..02-05, follow-up ends in May) censored,
      k1 matched and handled -> 1/1, n_censored 3.
    - deadlines: kd (04-19) has not passed: censored; kf (04-05) passed while still open:
      late; with ka kc in time and kb ke late -> 2/5.
    - days to acceptance: r4 waits 2024-03-01 -> 04-15 = 45 days (censored in the
      Kaplan-Meier estimate, counted in n_censored); r1 2, r2 5, r5 10 -> median 7.5.
    - 2024Q2 (case kg applied 04-10) runs past 04-15: every row of it is incomplete.
    """
    package, _ = loop
    import shutil

    d = tmp_path / "extracted"
    shutil.copytree(package.path, d)
    ASSISTANCE[ASSISTANCE.record_id != "a16"].to_csv(d / "assistance.csv", index=False)
    april = pd.DataFrame([("kg", "t2", "2024-04-10", None, None, None, "2024-05-10", None)], columns=CASES.columns)
    pd.concat([CASES, april]).to_csv(d / "cases.csv", index=False)
    (d / "datapackage.json").write_text(json.dumps({"frequency": "quarter", "extracted_on": "2024-04-15"}))
    res = evalkit.compute(evalkit.load(d), family="coordination", min_cell=1)

    def check(indicator, num, den, censored, service=""):
        row = cell(res, indicator, service=service)
        assert (row.numerator, row.denominator, row.n_censored, row.incomplete) == (num, den, censored, censored > 0)

    check("coordination.omitted_need_rate", 0, 0, 4, service="education")
    check("coordination.omitted_need_rate", 1, 4, 0, service="care")
    check("coordination.omitted_aid_rate", 1, 4, 4)
    check("coordination.multi_need_addressed_rate", 1, 2, 0)
    check("coordination.push_timeliness_rate", 3, 10, 0)
    check("coordination.referral_to_charity_rate", 1, 1, 2)
    check("coordination.referral_acceptance_rate", 2, 3, 2)
    check("coordination.referral_closure_rate", 2, 2, 1)
    check("coordination.matching_handling_rate", 1, 1, 3)
    check("coordination.on_time_rate", 2, 5, 1)
    median = cell(res, "coordination.referral_accept_days_median")
    assert (median.value, median.denominator, median.n_censored) == (7.5, 4, 1)
    q2 = res.table[res.table.period == "2024Q2"]
    assert len(q2) and q2.incomplete.all()
    # a change into an incomplete period is never significant
    change = res.change("coordination.omitted_aid_rate", published=False)
    assert not change[change.period == "2024Q2"].significant.any()
    assert change[change.period == "2024Q2"].incomplete.all()


def test_open_cases_are_censored_in_mean_durations(loop):
    """Cases still open at the extraction date have no duration yet: kd (applied 03-20), ke
    (01-02) and kf (03-01) have no verification, decision or delivery date, so the mean
    days to verification and to decision are over ka kb kc with n_censored 3 (and the
    quarter is incomplete); delivery counts approved cases that were decided (ka kb): none
    censored; kc, refused, is not waiting for a delivery."""
    _, res = loop
    for indicator, n, censored in (("coordination.verification_days", 3, 3), ("coordination.decision_days", 3, 3),
                                   ("coordination.processing_days", 3, 0), ("coordination.delivery_days", 2, 0)):
        row = cell(res, indicator)
        assert (row.n, row.n_censored, row.incomplete) == (n, censored, censored > 0), indicator


@pytest.fixture(scope="module")
def quarters(tmp_path_factory):
    """Government (G) and charity (C) records of one category whose dates cross quarters.

    d1: G 02-01..04-10, C 04-10..06-30 touch on 2024-04-10       -> duplicate in Q2 only
    d2: G from 2023-11-01 (no end), C 05-01..05-02               -> duplicate in Q2
    d3: G 01-01..03-31, C 04-01..04-30 (consecutive days)        -> never a duplicate
    d4: G 03-15..03-31, C 03-31..07-15 touch on 2024-03-31       -> duplicate in Q1 only
    d5: G 03-01..05-31, C 03-20..04-15, overlap spans two quarters -> duplicate in Q1 and Q2
    Amounts G/C: d1 100/10, d2 200/20, d3 300/30, d4 400/40, d5 500/50.
    """
    d = tmp_path_factory.mktemp("quarters")
    hh = ["d1", "d2", "d3", "d4", "d5"]
    pd.DataFrame({"region_id": ["C"], "name": ["县"]}).to_csv(d / "regions.csv", index=False)
    pd.DataFrame({"household_id": hh, "region_id": "C"}).to_csv(d / "households.csv", index=False)
    PROVIDERS.to_csv(d / "providers.csv", index=False)
    rows = [("d1", "2024-02-01", "2024-04-10", "2024-04-10", "2024-06-30"),
            ("d2", "2023-11-01", None, "2024-05-01", "2024-05-02"),
            ("d3", "2024-01-01", "2024-03-31", "2024-04-01", "2024-04-30"),
            ("d4", "2024-03-15", "2024-03-31", "2024-03-31", "2024-07-15"),
            ("d5", "2024-03-01", "2024-05-31", "2024-03-20", "2024-04-15")]
    records = []
    for k, (h, gs, ge, cs, ce) in enumerate(rows, start=1):
        records.append((f"g{h}", h, "G1", "care", "service", 100 * k, gs, ge))
        records.append((f"c{h}", h, "C1", "care", "service", 10 * k, cs, ce))
    pd.DataFrame(records, columns=["record_id", "household_id", "provider_id", "category", "form", "amount",
                                   "start_on", "end_on"]).to_csv(d / "assistance.csv", index=False)
    (d / "datapackage.json").write_text(json.dumps({"frequency": "quarter"}))
    return evalkit.compute(evalkit.load(d), indicators=["coordination.duplicate_aid_rate",
                                                        "coordination.duplicate_aid_amount"], min_cell=1)


def test_duplicates_by_date_whichever_quarters(quarters):
    """Periods are those records start in: 2023Q4 to 2024Q2. Aided households: 2023Q4 d2;
    Q1 d1-d5; Q2 d1-d5.

    Duplicates: 2023Q4 none -> 0/1; Q1 d4, d5 -> 2/5; Q2 d1, d2, d5 -> 3/5.
    Yuan, each record once, in the period its first overlap begins: d4 (03-31) 440 and d5
    (03-20) 550 in Q1 = 990; d1 (04-10) 110 and d2 (05-01) 220 in Q2 = 330 (the
    government records started in an earlier quarter count too).
    """
    res = quarters
    assert ratio(res, "coordination.duplicate_aid_rate", period="2023Q4") == (0, 1)
    assert ratio(res, "coordination.duplicate_aid_rate", period="2024Q1") == (2, 5)
    assert ratio(res, "coordination.duplicate_aid_rate", period="2024Q2") == (3, 5)
    assert ratio(res, "coordination.duplicate_aid_amount", period="2024Q1") == (990, 5)
    assert ratio(res, "coordination.duplicate_aid_amount", period="2024Q2") == (330, 5)
    assert ratio(res, "coordination.duplicate_aid_amount", period="2023Q4") == (0, 1)


# --- amounts: per aided household and in total -------------------------------------------

def test_duplicate_yuan_total_and_per_household(loop):
    """Total yuan in duplicate aid in 2024Q1, no survey design (households are the PSUs of
    one stratum, all 11 of them).

    Duplicate yuan per household (each record once, in the period its first overlap begins):
    s1 100 + 120 = 220, s2 220, t1 300 + 200 = 500, t3 400 + 50 = 450; the other 7 households 0.
    Total 220 + 220 + 500 + 450 = 1390 yuan; the per-household mean is 1390 / 8 aided households.
    Variance of the total: n/(n-1) sum (y_i - mean y)^2 with n = 11 and sum y^2 = 2 * 220^2 +
    500^2 + 450^2 = 549300: 11/10 (549300 - 1390^2/11) = (6042300 - 1932100)/10 = 411020,
    se = sqrt(411020) = 641.108...; t interval on 11 - 1 = 10 degrees of freedom.
    """
    from scipy.stats import t as student

    _, res = loop
    total = cell(res, "coordination.duplicate_aid_amount_total")
    assert total.value == 1390 and total.numerator == 1390
    assert (total.denominator, total.n) == (8, 8)  # aided households: the units the total runs over
    assert total.se == pytest.approx(np.sqrt(411020), rel=1e-12)
    assert total.df == 10 and total.interval == "t"
    half = student.ppf(0.975, 10) * np.sqrt(411020)
    assert (total.ci_low, total.ci_high) == pytest.approx((1390 - half, 1390 + half), rel=1e-12)
    mean = cell(res, "coordination.duplicate_aid_amount")
    assert mean.value == pytest.approx(total.value / 8)  # the same yuan, per aided household
    # a period without duplicates: a total of 0 with no spread, not a blank
    before = cell(res, "coordination.duplicate_aid_amount_total", period="2023Q4")
    assert (before.value, before.se, before.note) == (0, 0, "")


def test_duplicate_yuan_total_under_a_survey_design(tmp_path):
    """The same records, households sampled in strata X and Y by PSU, with weights.

    ======  =========================  ======  ================================
    PSU     households (weight)        yuan    PSU total of weight x yuan
    ======  =========================  ======  ================================
    X: x1   s1 (2), s2 (2)             220     2 * 220 + 2 * 220 = 880
    X: x2   t1 (1), t2 (1)             500     500
    Y: y1   t3 (3), t4 (1)             450     3 * 450 = 1350
    Y: y2   m1, m2, s3 (1 each)        0       0
    Y: y3   s4, w1 (1 each)            0       0
    ======  =========================  ======  ================================

    Total 880 + 500 + 1350 = 2730. Stratum X: mean 690, 2/1 (190^2 + 190^2) = 144400;
    stratum Y: mean 450, 3/2 (900^2 + 450^2 + 450^2) = 1822500; variance 1966900, se
    1402.46 (samplics' total agrees); df 5 PSUs - 2 strata = 3. With a finite population
    correction (X: 4 PSUs in the population, f = 1/2; Y: f = 1/4): 0.5 * 144400 + 0.75 *
    1822500 = 1439075. Aided households weigh 2 + 2 + 1 + 1 + 3 + 1 + 1 + 1 = 12, so the
    per-household mean is 2730 / 12 = 227.5.
    """
    design = pd.DataFrame({"household_id": HOUSEHOLDS, "region_id": "C",
                           "weight": [2, 2, 1, 1, 1, 1, 3, 1, 1, 1, 1],
                           "stratum": ["X", "X", "Y", "Y", "X", "X", "Y", "Y", "Y", "Y", "Y"],
                           "psu": ["x1", "x1", "y2", "y3", "x2", "x2", "y1", "y1", "y2", "y2", "y3"],
                           "fpc": [4, 4, 0.25, 0.25, 4, 4, 0.25, 0.25, 0.25, 0.25, 0.25],
                           "hukou": ["local", "migrant", "migrant", "migrant", "local", "migrant", "local", "migrant",
                                     "local", "migrant", "migrant"]})
    ids = ["coordination.duplicate_aid_amount", "coordination.duplicate_aid_amount_total"]
    found = {}
    for name, fpc in (("plain", None), ("fpc", "fpc")):
        d = tmp_path / name
        d.mkdir()
        pd.DataFrame({"region_id": ["P", "C"], "name": ["省", "县"], "parent_id": [None, "P"],
                      "level": ["province", "county"]}).to_csv(d / "regions.csv", index=False)
        design.to_csv(d / "households.csv", index=False)
        for table, frame in [("providers", PROVIDERS), ("assistance", ASSISTANCE)]:
            frame.to_csv(d / f"{table}.csv", index=False)
        (d / "datapackage.json").write_text(json.dumps({"frequency": "quarter", "design": {
            "weight": "weight", "stratum": "stratum", "psu": "psu", "fpc": fpc}}))
        found[name] = evalkit.compute(evalkit.load(d), indicators=ids, min_cell=1, by=["hukou"])
    total = cell(found["plain"], "coordination.duplicate_aid_amount_total")
    assert (total.value, total.denominator, total.n) == (2730, 12, 8)
    assert total.se == pytest.approx(np.sqrt(1966900), rel=1e-12) and total.df == 3
    assert cell(found["plain"], "coordination.duplicate_aid_amount").value == pytest.approx(227.5)
    assert cell(found["fpc"], "coordination.duplicate_aid_amount_total").se == pytest.approx(np.sqrt(1439075), rel=1e-12)
    # a group's gap to its region keeps the covariance: local - all = -(migrant), exactly, so
    # the gap's se is the migrant total's (local: s1 2 * 220, t1 500, t3 3 * 450 = 2290; migrant: s2 440)
    res = found["plain"]
    groups = res.by_group("hukou", "coordination.duplicate_aid_amount_total")
    groups = groups[(groups.region == "C") & (groups.period == Q)].set_index("group")
    assert (groups.loc["local", "value"], groups.loc["migrant", "value"]) == (2290, 440)
    gap = res.difference("hukou", published=False)
    gap = gap[(gap.indicator == "coordination.duplicate_aid_amount_total") & (gap.region == "C")
              & (gap.period == Q)].set_index("group")
    assert gap.loc["local", "difference"] == -440
    assert gap.loc["local", "se"] == pytest.approx(groups.loc["migrant", "se"], rel=1e-9)


def test_n_counts_the_unit_of_analysis_and_says_so(loop):
    """In 2024Q1 ``n`` counts what the catalogue's ``counts`` says, and the labelled table
    names it: 4 referrals decided (r1 r2 r5 accepted, r3 rejected; r4 pending is not), 10
    needs identified (push timeliness), 4 feedback evaluations, 3 verified cases (ka kb kc),
    4 service points (not period-specific), 8 aided households (duplicate aid). The 10 needs
    come from 8 households (m1 and m2 have two each): calling them 户数 would overstate households."""
    _, res = loop
    expected = {"coordination.referral_acceptance_rate": (4, "转介"), "coordination.push_timeliness_rate": (10, "需求"),
                "coordination.satisfaction_rate": (4, "评价"), "coordination.verification_days": (3, "个案"),
                "coordination.resource_publication_rate": (4, "服务点"), "coordination.duplicate_aid_rate": (8, "户")}
    labelled = res.labelled("zh")
    labelled = labelled[(labelled.region == "C") & (labelled.period == Q)].set_index("indicator")
    for ind, (n, word) in expected.items():
        assert cell(res, ind).n == n, ind
        assert (labelled.loc[ind, "n"], labelled.loc[ind, "counts"]) == (n, word), ind
    assert res.labelled("en").query("indicator == 'coordination.referral_acceptance_rate'")["counts"].iloc[0] == "referrals"
