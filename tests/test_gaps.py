"""Group gaps (issue 13): the largest gap between groups, and intersections of two groupings.

The hand package: province P with counties A and B, unweighted, quarter 2024Q1; a care
need identified in the quarter for the households marked needy::

    hh  county  hukou      urban      needy  hukou*urban
    a1  A       local      true       yes    local*true
    a2  A       local      true       no     local*true
    a3  A       local      false      yes    local*false
    a4  A       migrant    true       yes    migrant*true
    a5  A       migrant    false      no     migrant*false
    a6  A       migrant    (missing)  yes    migrant*(missing)
    b1  B       (missing)  true       no     (missing)*true
    b2  B       local      false      yes    local*false

The largest gaps are checked by hand on a hand-made results table, and against
fairlearn's ``MetricFrame.difference()`` / ``ratio()`` on a synthetic package.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import evalkit
from evalkit.data.synth import generate
from evalkit.indicators.parameters import resolve
from evalkit.report.text import group_label
from evalkit.results.disclosure import protect
from evalkit.results.indicator_results import IndicatorResults

Q = "2024Q1"

HOUSEHOLDS = pd.DataFrame([
    ("a1", "A", "local", "是"), ("a2", "A", "local", "是"), ("a3", "A", "local", "否"),
    ("a4", "A", "migrant", "是"), ("a5", "A", "migrant", "否"), ("a6", "A", "migrant", None),
    ("b1", "B", None, "是"), ("b2", "B", "local", "否"),
], columns=["household_id", "region_id", "hukou", "urban"])
NEEDY = {"a1", "a3", "a4", "a6", "b2"}
CROSSED = {"a1": "local*true", "a2": "local*true", "a3": "local*false", "a4": "migrant*true",
           "a5": "migrant*false", "a6": "migrant*(missing)", "b1": "(missing)*true", "b2": "local*false"}


@pytest.fixture(scope="module")
def hand(tmp_path_factory):
    d = tmp_path_factory.mktemp("gaps") / "hand"
    d.mkdir()
    pd.DataFrame({"region_id": ["P", "A", "B"], "parent_id": [None, "P", "P"]}).to_csv(d / "regions.csv", index=False)
    HOUSEHOLDS.to_csv(d / "households.csv", index=False)
    needy = sorted(NEEDY)
    pd.DataFrame({"need_id": [f"n{k}" for k in range(len(needy))], "household_id": needy,
                  "service_type": "care", "identified_on": "2024-02-01"}).to_csv(d / "needs.csv", index=False)
    (d / "datapackage.json").write_text(json.dumps({"frequency": "quarter"}))
    return evalkit.load(d)


def test_intersection_counts_by_hand(hand):
    res = evalkit.compute(hand, indicators=["access.need_rate"], by=["hukou*urban"], min_cell=0)
    t = res.table[(res.table.service_type == "care") & (res.table.period == Q)]
    for region in "PAB":
        members = [h for h in CROSSED if region == "P" or h.startswith(region.lower())]
        expected = {}
        for h in members:
            expected.setdefault(CROSSED[h], []).append(h)
        rows = t[(t.region == region) & (t.group_by == "hukou*urban")].set_index("group")
        assert set(rows.index) == set(expected), region
        for group, hhs in expected.items():
            assert rows.loc[group, "n"] == len(hhs)  # a missing part is "(missing)": no household dropped
            assert rows.loc[group, "numerator"] == sum(h in NEEDY for h in hhs)
    gap = res.largest_gap("hukou*urban", "access.need_rate")
    p = gap[(gap.region == "P") & (gap.service_type == "care") & (gap.period == Q)].iloc[0]
    # P: local*false 2/2 and migrant*true, migrant*(missing) 1/1 at 1; migrant*false 0/1, (missing)*true 0/1 at 0
    assert (p.high_value, p.low_value, p.difference, p.ratio, p.n_groups) == (1.0, 0.0, 1.0, 0.0, 6)
    assert p.small_groups == ""  # min_cell 0: no group is small


def test_intersection_protect_margin_unit():
    """protect: an intersection's groups add up to each group of a grouping run on its own."""
    rows = [("", "", 40, False), ("hukou", "local", 20, False), ("hukou", "migrant", 20, False),
            ("hukou*urban", "local*true", 3, False), ("hukou*urban", "local*false", 17, False),
            ("hukou*urban", "migrant*true", 10, False), ("hukou*urban", "migrant*false", 10, False)]
    table = pd.DataFrame(rows, columns=["group_by", "group", "n", "suppressed"]).assign(
        indicator="x.mean", service_type="", region="P", period=Q, note="", m=np.nan)
    out = protect(table, pd.DataFrame({"region_id": ["P"], "ancestor": ["P"]}), min_cell=5)
    sup = dict(zip(out["group"], out["suppressed"]))
    assert sup["local*true"]  # primary: 3 < 5
    assert sup["local*false"]  # else local (20) - local*false (17) gives local*true back


def test_check_by_validates_intersections(hand):
    for bad, message in [("hukou*income_quintile", "recomputed per region"), ("hukou*hukou", "two different"),
                         ("hukou*urban*elderly", "two different"), ("hukou*nope", "two different"),
                         ("nope", "intersections of two")]:
        with pytest.raises(ValueError, match=message):
            evalkit.compute(hand, by=[bad])


def test_intersection_labels():
    assert group_label("hukou*urban", "migrant*false", "en") == "Non-local hukou × Rural"
    assert group_label("hukou*urban", "local*true", "zh") == "本地户籍×城镇"
    assert group_label("hukou*urban", "", "en") == "Hukou × Urban/rural"
    assert group_label("hukou*elderly", "local*true", "en") == "Local hukou × Elderly member=true"
    assert group_label("hukou*urban", "(missing)*true", "en") == "(missing) × Urban"


def results_table():
    """Four groups of g in one cell: c is suppressed (n 8 < min_cell 10), d has no value."""
    table = pd.DataFrame({
        "indicator": "x.rate", "family": "x", "service_type": "", "region": "R", "period": Q,
        "group_by": ["", "g", "g", "g", "g"], "group": ["", "a", "b", "c", "d"],
        "value": [0.5, 0.62, 0.40, 0.10, np.nan], "numerator": [60.0, 31, 16, 1, 0],
        "denominator": [120.0, 50, 40, 8, 0], "se": [0.04, 0.06, 0.08, 0.1, np.nan],
        "df": [119.0, 119, 39, 7, np.nan], "ci_low": 0.0, "ci_high": 1.0, "interval": "t",
        "n": [120, 50, 40, 8, 0], "suppressed": [False, False, False, True, False], "note": ""})
    pairs = [("a", "b", 0.001), ("b", "a", 0.001), ("a", "c", -0.002), ("c", "a", -0.002),
             ("b", "c", 0.0), ("c", "b", 0.0)]
    cov = pd.DataFrame([{"indicator": "x.rate", "service_type": "", "region": "R", "period": Q,
                         "group_by": "g", "group": x, "other_period": Q, "other_group_by": "g",
                         "other_group": y, "cov": c} for x, y, c in pairs])
    return IndicatorResults(table, covariances=cov)


def test_largest_gap_by_hand():
    res = results_table()
    row = res.largest_gap("g").iloc[0]
    # published: c is left out; d has no value; a (0.62) - b (0.40)
    assert (row.high_group, row.low_group, row.n_groups) == ("a", "b", 2)
    assert row.small_groups == "c, d" and row.note == "left out, suppressed: c"
    assert row.difference == pytest.approx(0.22)
    se = np.sqrt(0.06**2 + 0.08**2 - 2 * 0.001)
    t = stats.t.ppf(0.975, 39)  # the smaller df of the two
    assert row.se == pytest.approx(se)
    assert (row.ci_low, row.ci_high) == pytest.approx((0.22 - t * se, 0.22 + t * se))
    log_se = np.sqrt((0.06 / 0.62) ** 2 + (0.08 / 0.40) ** 2 - 2 * 0.001 / (0.62 * 0.40))
    assert row.ratio == pytest.approx(0.40 / 0.62)
    assert (row.ratio_ci_low, row.ratio_ci_high) == pytest.approx(
        (0.40 / 0.62 * np.exp(-t * log_se), 0.40 / 0.62 * np.exp(t * log_se)))
    # the same pair as difference() against b
    diff = res.difference("g", reference="b", published=False).set_index("group").loc["a"]
    assert (diff.difference, diff.se) == pytest.approx((row.difference, row.se))


def test_largest_gap_unpublished_uses_suppressed_groups():
    row = results_table().largest_gap("g", published=False).iloc[0]
    assert (row.high_group, row.low_group, row.n_groups, row.note) == ("a", "c", 3, "")
    assert row.small_groups == "c, d"  # still flagged, never merged
    assert row.se == pytest.approx(np.sqrt(0.06**2 + 0.1**2 + 2 * 0.002))
    assert row.ratio == pytest.approx(0.10 / 0.62)


def test_largest_gap_needs_two_groups_and_ties_name_two():
    res = results_table()
    res.table.loc[res.table.group == "b", "suppressed"] = True
    row = res.largest_gap("g").iloc[0]
    assert row.n_groups == 1 and np.isnan(row.difference) and pd.isna(row.high_group)
    res = results_table()
    res.table.loc[res.table.group == "b", "value"] = 0.62
    row = res.largest_gap("g").iloc[0]
    assert (row.high_group, row.low_group, row.difference, row.ratio) == ("a", "b", 0.0, 1.0)


# -- fairlearn cross-check: unweighted binary household indicators -----------------------

@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    out = tmp_path_factory.mktemp("gaps") / "synth"
    generate(out, households=2000, regions=2, periods=2, seed=13)
    pkg = evalkit.load(out)
    assert not pkg.weighted
    res = evalkit.compute(pkg, indicators=["access.need_rate", "access.availability_rate"],
                          by=["hukou", "hukou*urban", "disabled"], min_cell=0)
    return pkg, res


def outcomes(pkg) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per household and (period, service type): needed (0/1), and received among the needy (0/1),
    from the package's tables."""
    hh = pkg.con.table("households").to_pandas()
    needs = pkg.con.table("needs").to_pandas().dropna(subset=["identified_on"])
    needs["period"] = pd.PeriodIndex(needs["identified_on"], freq="Q").astype(str)
    needed = needs[["household_id", "period", "service_type"]].drop_duplicates()
    aid = pkg.con.table("assistance").to_pandas()
    aid = aid[aid["start_on"].notna() & aid["form"].isin(list(resolve(None).receipt_forms))]
    received = []
    for period in pkg.periods:
        p = pd.Period(period, freq="Q")
        active = aid[(aid["start_on"] <= p.end_time) & (aid["end_on"].isna() | (aid["end_on"] >= p.start_time))]
        received.append(active[["household_id", "category"]].rename(columns={"category": "service_type"})
                        .assign(period=period))
    received = pd.concat(received).drop_duplicates()
    groups = hh[["household_id"]].assign(
        hukou=hh["hukou"].fillna("(missing)"),
        disabled=hh["disabled"].map({True: "true", False: "false"}).fillna("(missing)"),
        urban=hh["urban"].map({True: "true", False: "false"}).fillna("(missing)"))
    groups["hukou*urban"] = groups["hukou"] + "*" + groups["urban"]
    available = needed.merge(received.assign(y=1), how="left", on=["household_id", "period", "service_type"])
    available = available.assign(y=available["y"].fillna(0)).merge(groups, on="household_id")
    return groups, available


@pytest.mark.parametrize("group_by", ["hukou", "hukou*urban", "disabled"])
def test_largest_gap_equals_fairlearn_between_groups(synthetic, group_by):
    fairlearn = pytest.importorskip("fairlearn.metrics")
    pkg, res = synthetic
    root = pkg.regions.loc[pkg.regions["parent_id"].isna(), "region_id"].iloc[0]  # every household
    groups, available = outcomes(pkg)
    needs = pkg.con.table("needs").to_pandas().dropna(subset=["identified_on"])
    needs["period"] = pd.PeriodIndex(needs["identified_on"], freq="Q").astype(str)
    checked = 0
    for indicator in ("access.need_rate", "access.availability_rate"):
        gaps = res.largest_gap(group_by, indicator)
        gaps = gaps[gaps.region == root].set_index(["period", "service_type"])
        for (period, service), row in gaps.iterrows():
            if indicator == "access.need_rate":  # every household: needed the type in the period
                hit = set(needs.loc[(needs.period == period) & (needs.service_type == service), "household_id"])
                frame = groups.assign(y=groups["household_id"].isin(hit).astype(int))
            else:  # the equal-opportunity reading: among the needy, received
                frame = available[(available.period == period) & (available.service_type == service)]
            if frame[group_by].nunique() < 2:
                continue
            mf = fairlearn.MetricFrame(metrics=fairlearn.selection_rate, y_true=frame["y"], y_pred=frame["y"],
                                       sensitive_features=frame[group_by])
            assert row.difference == pytest.approx(mf.difference(), abs=1e-12), (indicator, period, service)
            assert row.ratio == pytest.approx(mf.ratio(), abs=1e-12), (indicator, period, service)
            assert row.high_value == pytest.approx(mf.group_max(), abs=1e-12)
            assert row.low_value == pytest.approx(mf.group_min(), abs=1e-12)
            checked += 1
    assert checked >= 10


def test_report_data_keeps_intersections_of_columns_with_values(hand):
    from evalkit.report.data import compute_data

    data = compute_data(hand.path, min_cell=0, groups=("hukou*urban", "hukou*elderly", "urban*head_age_band"))
    # elderly has no value in the hand package: its intersection is left out; head_age_band is derived
    assert data.groups == ("hukou*urban", "urban*head_age_band")
    assert set(data.table["group_by"]) == {"", "hukou*urban", "urban*head_age_band"}
