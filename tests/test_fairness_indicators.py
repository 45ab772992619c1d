"""Fairness family: targeting errors, Coady-Grosh-Hoddinott and concentration indices, by hand.

The hand package: province P with counties A and B, unweighted, quarter 2024Q1 (a record
of 2023Q4 makes 2023Q4 a period too; only 2024Q1 is checked)::

    hh  county size income status  records active in 2024Q1 (sector, yuan, start)
    a1  A      2    100    dibao   r1 government 300 (Jan 1);  r10 charity 50 (Mar 1)
    a2  A      1    200    none    r2 government 100 (Jan 10); r3 charity 50 (Feb 1)
    a3  A      1    300    dibian  r9 government 90, 2023-12-01 to 2023-12-31: not active in 2024Q1
    a4  A      2    400    none    r4 charity 200 (Mar 1, no end)
    a5  A      1    (none) (none)  r7 charity 40 (Feb 1)
    b1  B      1    500    tekun   r5 government 120 (Jan 1)
    b2  B      1    600    none    r8 unknown sector 30 (Feb 1): aid for "any" only
    b3  B      2    800    none    r6 charity 60 (Jan 15)

needy=status (default): target a1, a3, b1; a5 unknown (n_excluded 1 in A and P).

- EE government: A a3 missed of a1, a3 = 1/2; B 0/1; P 1/3.
- EE charity: A a3 missed (a1 covered by r10) = 1/2; B b1 missed = 1/1; P a3, b1 = 2/3.
- EE any: A 1/2; B 0/1 (b1 covered); P 1/3.
- IE government: covered A a1, a2 -> a2 = 1/2; B b1 -> 0/1; P 1/3.
- IE charity: covered with a known status A a1, a2, a4 (a5 left out) -> 2/3; B b3 -> 1/1; P 3/4.
- IE any: A a1, a2, a4 -> 2/3; B b1, b2, b3 -> 2/3; P 4/6.

needy=income, poverty_line 350: target a1, a2, a3 (income < 350). EE government A: a3
missed of three = 1/3; B has no target household: 0/0, blank with a note (never 0).
needy=needs: needs of a3 and b2 in 2024Q1. EE any: A a3 missed = 1/1; B b2 covered by
the record of unknown sector = 0/1; P 1/2.

Quintiles of persons (size) by income, recomputed per region (groups.income_quintile):
A: a1 below 0 -> Q1, a2 2/6 -> Q2, ...; B: b1 -> Q1; P (10 persons): a1 -> Q1 and a2
starts at 2/10 = 0.2, opening Q2. Yuan starting in 2024Q1 (r9 started in 2023Q4):

- CGH government: A 300 / (0.2 x 400) = 3.75; B 120 / (0.2 x 120) = 5; P 300 / (0.2 x 520) = 2.884615.
- CGH charity: A a1's 50 / (0.2 x (50 + 50 + 200)) = 0.833333 (a5's 40 left out: no income,
  n_excluded 1); B 0 / (0.2 x 60) = 0; P 50 / (0.2 x 360) = 0.694444.
- CGH any: A 350 / (0.2 x 700) = 2.5; B 120 / (0.2 x 210) = 2.857143; P 350 / (0.2 x 910) = 1.923077.

Concentration in A (persons 2, 1, 1, 2; fractional ranks 1/6, 2.5/6, 3.5/6, 5/6):
government per capita y = 150, 100, 0, 0, so sum w y = 400 and sum w y R = (300 + 250)/6,
C = 2 (550/6) / 400 - 1 = -13/24. Charity y = 25, 50, 0, 100: sum w y = 300, sum w y R =
(50 + 125 + 1000)/6, C = 2 (1175/6) / 300 - 1 = 11/36. Gap = 11/36 + 13/24 = 61/72.
In P (10 persons; ranks a1 .1, a2 .25, a3 .35, a4 .5, b1 .65, b2 .75, b3 .9), government
C = 2 (300 x .1 + 100 x .25 + 120 x .65) / 520 - 1 = -254/520.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import evalkit
from evalkit import fairness
from evalkit.errors import ParameterError

Q = "2024Q1"

HOUSEHOLDS = pd.DataFrame({
    "household_id": ["a1", "a2", "a3", "a4", "a5", "b1", "b2", "b3"],
    "region_id": ["A"] * 5 + ["B"] * 3,
    "size": [2, 1, 1, 2, 1, 1, 1, 2],
    "income_pc": [100, 200, 300, 400, None, 500, 600, 800],
    "status": ["dibao", "none", "dibian", "none", None, "tekun", "none", "none"],
})
ASSISTANCE = pd.DataFrame([
    ("r1", "a1", "government", "basic_living", "cash", 300, "2024-01-01", "2024-03-31"),
    ("r2", "a2", "government", "basic_living", "cash", 100, "2024-01-10", "2024-02-10"),
    ("r3", "a2", "charity", "care", "service", 50, "2024-02-01", "2024-02-20"),
    ("r4", "a4", "charity", "care", "in_kind", 200, "2024-03-01", None),
    ("r5", "b1", "government", "basic_living", "cash", 120, "2024-01-01", "2024-03-31"),
    ("r6", "b3", "charity", "care", "service", 60, "2024-01-15", "2024-01-30"),
    ("r7", "a5", "charity", "care", "cash", 40, "2024-02-01", "2024-02-28"),
    ("r8", "b2", None, "care", "in_kind", 30, "2024-02-01", "2024-02-05"),
    ("r9", "a3", "government", "basic_living", "cash", 90, "2023-12-01", "2023-12-31"),
    ("r10", "a1", "charity", "care", "service", 50, "2024-03-01", "2024-03-10"),
], columns=["record_id", "household_id", "sector", "category", "form", "amount", "start_on", "end_on"])
NEEDS = pd.DataFrame({"need_id": ["n1", "n2"], "household_id": ["a3", "b2"], "service_type": ["care", "care"],
                      "identified_on": ["2024-01-20", "2024-02-01"]})


@pytest.fixture(scope="module")
def hand(tmp_path_factory):
    d = tmp_path_factory.mktemp("fairness") / "hand"
    d.mkdir()
    pd.DataFrame({"region_id": ["P", "A", "B"], "parent_id": [None, "P", "P"],
                  "level": ["province", "county", "county"]}).to_csv(d / "regions.csv", index=False)
    HOUSEHOLDS.to_csv(d / "households.csv", index=False)
    ASSISTANCE.to_csv(d / "assistance.csv", index=False)
    NEEDS.to_csv(d / "needs.csv", index=False)
    (d / "datapackage.json").write_text(json.dumps({"frequency": "quarter", "extracted_on": "2024-06-30"}))
    return evalkit.load(d)


@pytest.fixture(scope="module")
def default(hand):
    return evalkit.compute(hand, family="fairness", min_cell=1)


def cell(res, indicator, region, period=Q) -> pd.Series:
    t = res.table
    got = t[(t.indicator == indicator) & (t.region == region) & (t.period == period) & (t.group_by == "")]
    assert len(got) == 1, got
    return got.iloc[0]


def fractions(res, indicator) -> dict:
    return {r: (cell(res, indicator, r).numerator, cell(res, indicator, r).denominator) for r in ("A", "B", "P")}


def test_exclusion_and_inclusion_errors_by_status(default):
    expected = {
        "exclusion_error_government": {"A": (1, 2), "B": (0, 1), "P": (1, 3)},
        "exclusion_error_charity": {"A": (1, 2), "B": (1, 1), "P": (2, 3)},
        "exclusion_error_any": {"A": (1, 2), "B": (0, 1), "P": (1, 3)},
        "inclusion_error_government": {"A": (1, 2), "B": (0, 1), "P": (1, 3)},
        "inclusion_error_charity": {"A": (2, 3), "B": (1, 1), "P": (3, 4)},
        "inclusion_error_any": {"A": (2, 3), "B": (2, 3), "P": (4, 6)},
    }
    for name, cells in expected.items():
        assert fractions(default, f"fairness.{name}") == cells, name
        for region, (num, den) in cells.items():
            assert cell(default, f"fairness.{name}", region).value == pytest.approx(num / den)
    # a5 (no status) is left out and counted; it is charity-aided, so it leaves the charity IE too
    assert cell(default, "fairness.exclusion_error_government", "A").n_excluded == 1
    assert cell(default, "fairness.exclusion_error_government", "P").n_excluded == 1
    assert cell(default, "fairness.exclusion_error_government", "B").n_excluded == 0
    assert cell(default, "fairness.inclusion_error_charity", "A").n_excluded == 1
    assert cell(default, "fairness.inclusion_error_government", "A").n_excluded == 0


def test_target_by_income_and_needs(hand):
    res = evalkit.compute(hand, family="fairness", min_cell=1, params={"needy": "income", "poverty_line": 350})
    assert fractions(res, "fairness.exclusion_error_government") == {"A": (1, 3), "B": (0, 0), "P": (1, 3)}
    b = cell(res, "fairness.exclusion_error_government", "B")
    assert np.isnan(b.value) and b.note != ""  # 0/0: undefined, never 0
    assert fractions(res, "fairness.inclusion_error_government") == {"A": (0, 2), "B": (1, 1), "P": (1, 3)}
    res = evalkit.compute(hand, family="fairness", min_cell=1, params={"needy": "needs"})
    assert fractions(res, "fairness.exclusion_error_any") == {"A": (1, 1), "B": (0, 1), "P": (1, 2)}
    assert cell(res, "fairness.exclusion_error_any", "A").n_excluded == 0
    # the poorest 30% of the 10 persons (sizes 2, 1, 1, 2, -, 1, 1, 2 by income): a1 (0 below) and
    # a2 (2/10 below); a3 starts at 3/10, not under 0.3. a5 has no income: unknown, left out.
    res = evalkit.compute(hand, family="fairness", min_cell=1, params={"needy": "poorest", "poorest_share": 0.3})
    assert fractions(res, "fairness.exclusion_error_government") == {"A": (0, 2), "B": (0, 0), "P": (0, 2)}
    assert fractions(res, "fairness.inclusion_error_charity") == {"A": (1, 3), "B": (1, 1), "P": (2, 4)}
    assert cell(res, "fairness.inclusion_error_charity", "A").n_excluded == 1  # a5, covered, no income
    with pytest.raises(ParameterError, match="poorest_share must be < 1"):
        evalkit.compute(hand, family="fairness", params={"needy": "poorest", "poorest_share": 1})
    with pytest.raises(ParameterError, match="needy must be one of status, needs, income"):
        evalkit.compute(hand, family="fairness", params={"needy": "poor"})


def test_coady_grosh_hoddinott_with_region_relative_quintiles(default):
    expected = {
        "cgh_government": {"A": 3.75, "B": 5.0, "P": 300 / 104},
        "cgh_charity": {"A": 50 / 60, "B": 0.0, "P": 50 / 72},
        "cgh_any": {"A": 2.5, "B": 120 / 42, "P": 350 / 182},
    }
    for name, values in expected.items():
        for region, value in values.items():
            assert cell(default, f"fairness.{name}", region).value == pytest.approx(value), (name, region)
    a = cell(default, "fairness.cgh_charity", "A")
    assert (a.numerator, a.denominator, a.n, a.n_excluded) == (50, pytest.approx(60), 3, 1)
    assert cell(default, "fairness.cgh_government", "P").n == 3


def _whole_sample(y_yuan: dict) -> tuple:
    """Per-capita y, income, persons and the domain of county A over the whole sample (a5 unranked)."""
    hh = HOUSEHOLDS
    size = hh["size"].to_numpy(float)
    y = hh["household_id"].map(y_yuan).fillna(0).to_numpy(float) / size
    income = hh["income_pc"].fillna(0).to_numpy(float)
    domain = (hh["region_id"] == "A").to_numpy() & hh["income_pc"].notna().to_numpy()
    return y, income, size, domain


def test_concentration_indices_and_gap(default):
    gov = cell(default, "fairness.concentration_government", "A")
    cha = cell(default, "fairness.concentration_charity", "A")
    gap = cell(default, "fairness.concentration_gap", "A")
    assert gov.value == pytest.approx(-13 / 24)
    assert cha.value == pytest.approx(11 / 36)
    assert gap.value == pytest.approx(61 / 72)
    assert cell(default, "fairness.concentration_government", "P").value == pytest.approx(-254 / 520)
    assert (gov.numerator, gov.denominator, gov.n, gov.n_excluded) == (400, 6, 4, 1)
    # the se is the linearised one over the whole sample (households as PSUs), the domain being county A
    y_gov, income, persons, domain = _whole_sample({"a1": 300, "a2": 100, "b1": 120})
    y_cha, *_ = _whole_sample({"a1": 50, "a2": 50, "a4": 200, "a5": 40, "b3": 60})
    expected = fairness.concentration_gap(y_cha, y_gov, income, persons, domain=domain)
    assert gov.se == pytest.approx(expected.second.se) and cha.se == pytest.approx(expected.first.se)
    assert gap.se == pytest.approx(expected.se) and gap.se != pytest.approx(expected.independent_se)
    assert gap.df == expected.df == 7
    assert gap.ci_low < gap.value < gap.ci_high


def test_concentration_is_blank_without_aid(hand, tmp_path):
    # no charity yuan at all in 2024Q1: the charity index and the gap are blank with a note
    res = evalkit.compute(hand, indicators=["fairness.concentration_charity", "fairness.concentration_gap"],
                          min_cell=1, period="2023Q4")
    for ind in ("fairness.concentration_charity", "fairness.concentration_gap"):
        row = cell(res, ind, "A", "2023Q4")
        assert np.isnan(row.value) and np.isnan(row.se) and row.note == "no aid received in this cell and period"


def test_concentration_se_follows_the_survey_design(tmp_path):
    """Weights, strata and PSUs: the indices and se equal the inequality module's over the whole sample."""
    d = tmp_path / "designed"
    d.mkdir()
    weight = [1, 2, 1, 3, 1, 2, 1, 1]
    stratum = ["s1"] * 5 + ["s2"] * 3
    psu = ["p1", "p1", "p2", "p2", "p2", "p3", "p4", "p4"]
    pd.DataFrame({"region_id": ["P", "A", "B"], "parent_id": [None, "P", "P"]}).to_csv(d / "regions.csv", index=False)
    HOUSEHOLDS.assign(weight=weight, stratum=stratum, psu=psu).to_csv(d / "households.csv", index=False)
    ASSISTANCE.to_csv(d / "assistance.csv", index=False)
    (d / "datapackage.json").write_text(json.dumps({"frequency": "quarter", "extracted_on": "2024-06-30"}))
    res = evalkit.compute(evalkit.load(d), indicators=["fairness.concentration_government",
                                                       "fairness.concentration_charity", "fairness.concentration_gap"],
                          min_cell=1)
    y_gov, income, size, domain = _whole_sample({"a1": 300, "a2": 100, "b1": 120})
    y_cha, *_ = _whole_sample({"a1": 50, "a2": 50, "a4": 200, "a5": 40, "b3": 60})
    persons = size * np.array(weight, dtype=float)
    expected = fairness.concentration_gap(y_cha, y_gov, income, persons, strata=stratum, psu=psu, domain=domain)
    gov, cha, gap = (cell(res, f"fairness.concentration_{k}", "A") for k in ("government", "charity", "gap"))
    assert gov.value == pytest.approx(expected.second.value) and cha.value == pytest.approx(expected.first.value)
    assert gap.value == pytest.approx(expected.value)
    assert gov.se == pytest.approx(expected.second.se) and cha.se == pytest.approx(expected.first.se)
    assert gap.se == pytest.approx(expected.se) and gap.df == expected.df == 2
    # persons, not households, are ranked: a1 (weight 1, size 2) and a2 (weight 2, size 1) weigh the same
    assert gov.denominator == pytest.approx(persons[domain].sum())


def test_gini_of_per_capita_aid_counts_every_household(default):
    """County A, all aid starting in 2024Q1 per person: a1 350/2, a2 150, a3 0, a4 200/2, a5 40 (ranked:
    the Gini needs no income). Sorted 0, 40, 100, 150, 175 with persons 1, 1, 2, 1, 2 (7): ranks .5/7,
    1.5/7, 3/7, 4.5/7, 6/7; G = 2 (40 x 1.5 + 200 x 3 + 150 x 4.5 + 350 x 6) / (7 x 740) - 1 = 169/518."""
    a = cell(default, "fairness.gini_aid_pc", "A")
    assert a.value == pytest.approx(169 / 518)
    assert a.value == pytest.approx(fairness.gini([175, 150, 0, 100, 40], weights=[2, 1, 1, 2, 1]))
    assert (a.n, a.n_excluded, a.numerator, a.denominator) == (5, 0, 740, 7)
    y = np.array([175, 150, 0, 100, 40, 120, 30, 30], dtype=float)
    expected = fairness.gini_estimate(y, weights=HOUSEHOLDS["size"], domain=HOUSEHOLDS["region_id"] == "A")
    assert a.se == pytest.approx(expected.se) and a.df == expected.df


def test_coverage_overall_and_by_region_relative_income_quintile(hand, default):
    """Coverage of every household: A gov a1, a2 of 5; charity a1, a2, a4, a5; any the same 4; B gov b1,
    charity b3, any all 3. By income quintile of P (10 persons): Q1 a1; Q2 a2 (below 2/10), a3 (3/10);
    Q3 a4 (4/10); Q4 b1 (6/10), b2 (7/10); Q5 b3 (8/10); a5 (missing)."""
    assert fractions(default, "fairness.coverage_government") == {"A": (2, 5), "B": (1, 3), "P": (3, 8)}
    assert fractions(default, "fairness.coverage_charity") == {"A": (4, 5), "B": (1, 3), "P": (5, 8)}
    assert fractions(default, "fairness.coverage_any") == {"A": (4, 5), "B": (3, 3), "P": (7, 8)}
    res = evalkit.compute(hand, indicators=["fairness.coverage_government", "fairness.cgh_government"],
                          by=["income_quintile"], min_cell=1)
    t = res.table
    q = t[(t.indicator == "fairness.coverage_government") & (t.period == Q) & (t.group_by == "income_quintile")]
    got = {(r.region, r.group): (r.numerator, r.denominator) for r in q.itertuples()}
    assert {g: v for (r, g), v in got.items() if r == "P"} == {
        "Q1": (1, 1), "Q2": (1, 2), "Q3": (0, 1), "Q4": (1, 2), "Q5": (0, 1), "(missing)": (0, 1)}
    assert {g: v for (r, g), v in got.items() if r == "A"} == {
        "Q1": (1, 1), "Q2": (1, 1), "Q3": (0, 1), "Q4": (0, 1), "(missing)": (0, 1)}
    # the CGH of P's poorest quintile is 1 / 0.2 (all of its yuan is in Q1), unchanged overall
    c = t[(t.indicator == "fairness.cgh_government") & (t.period == Q) & (t.region == "P")]
    assert c.loc[c.group == "Q1", "value"].item() == pytest.approx(5.0)
    assert c.loc[c.group_by == "", "value"].item() == pytest.approx(300 / 104)


def test_target_parameters_are_declared_for_the_fairness_family():
    from evalkit.indicators.parameters import PARAMETERS, for_family, resolve

    assert {"needy", "poverty_line"} <= {p.name for p in for_family("fairness")}
    assert resolve({}).needy == "status" and resolve({"poverty_line": "650"}).poverty_line == 650.0
    assert PARAMETERS["needy"].format("income", "en").startswith("income (households whose pre-transfer income")
    with pytest.raises(ParameterError, match="poverty_line must be > 0 yuan"):
        resolve({"poverty_line": 0})


def test_sector_indicators_are_skipped_when_no_sector_is_known(tmp_path):
    d = tmp_path / "nosector"
    d.mkdir()
    pd.DataFrame({"region_id": ["P", "A", "B"], "parent_id": [None, "P", "P"]}).to_csv(d / "regions.csv", index=False)
    HOUSEHOLDS.to_csv(d / "households.csv", index=False)
    ASSISTANCE.drop(columns="sector").to_csv(d / "assistance.csv", index=False)
    (d / "datapackage.json").write_text(json.dumps({"frequency": "quarter", "extracted_on": "2024-06-30"}))
    res = evalkit.compute(evalkit.load(d), family="fairness", min_cell=1)
    assert "no assistance record has a sector" in res.skipped["fairness.exclusion_error_government"]
    assert {"fairness.cgh_charity", "fairness.concentration_gap", "fairness.coverage_charity"} <= set(res.skipped)
    assert {"fairness.exclusion_error_any", "fairness.cgh_any", "fairness.gini_aid_pc"} <= set(res.table.indicator)
    assert cell(res, "fairness.coverage_any", "P").value == pytest.approx(8 / 8 - 1 / 8)  # a3's record is in 2023Q4


def test_benefit_and_beneficiary_incidence_by_hand(hand):
    """Shares of the region's yuan and beneficiaries per income quintile (yuan starting in 2024Q1):
    any aid in A is 740 yuan, 350 to a1 (Q1), 150 to a2 (Q2), 200 to a4 (Q4) and 40 to a5 (no
    income: the (missing) group); Q3 (a3) receives nothing, a share of 0 with a standard error of 0."""
    ids = [f"fairness.{k}_incidence_{s}" for k in ("benefit", "beneficiary") for s in ("government", "charity", "any")]
    res = evalkit.compute(hand, indicators=ids, by=["income_quintile"], min_cell=1)
    t = res.table[(res.table.period == Q)]

    def shares(indicator, region):
        part = t[(t.indicator == indicator) & (t.region == region)]
        return dict(zip(part.group, part.value))

    got = shares("fairness.benefit_incidence_any", "A")
    assert got == pytest.approx({"": 1.0, "(missing)": 40 / 740, "Q1": 350 / 740, "Q2": 150 / 740, "Q3": 0.0,
                                 "Q4": 200 / 740})
    assert shares("fairness.benefit_incidence_government", "P") == pytest.approx(
        {"": 1.0, "(missing)": 0.0, "Q1": 300 / 520, "Q2": 100 / 520, "Q3": 0.0, "Q4": 120 / 520, "Q5": 0.0})
    assert shares("fairness.beneficiary_incidence_charity", "B") == pytest.approx({"": 1.0, "Q1": 0, "Q2": 0, "Q3": 1})
    for indicator in ids:  # the groups of a region add up to the whole
        part = t[(t.indicator == indicator) & (t.group_by == "income_quintile")]
        assert part.groupby("region")["value"].sum().to_numpy() == pytest.approx(1.0)
    # B's beneficiaries of any aid: b1, b2, b3, one per quintile; households are PSUs (8 in the
    # sample), z = (1[Q1] - 1/3) / 3 for B's covered households and 0 elsewhere
    q1 = t[(t.indicator == "fairness.beneficiary_incidence_any") & (t.region == "B") & (t.group == "Q1")].iloc[0]
    assert q1.se == pytest.approx(np.sqrt(8 / 7 * (4 + 1 + 1) / 81))
    assert q1.numerator == 1 and q1.denominator == 3 and q1.n == 1


def test_benefit_incidence_se_equals_samplics_on_a_clustered_design(tmp_path):
    """PSUs hold several groups: the linearised share's standard error is samplics' Taylor ratio
    of yuan in the group over all yuan, for the province and a county, by a household group and
    by region-relative income quintile."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from samplics.estimation import TaylorEstimator
        from samplics.utils.types import PopParam
    rng = np.random.default_rng(3)
    n = 90
    hh = pd.DataFrame({"household_id": [f"h{i:03d}" for i in range(n)],
                       "region_id": np.where(np.arange(n) < 50, "A", "B"),
                       "size": rng.integers(1, 5, n), "income_pc": rng.integers(1, 40, n) * 50.0,
                       "hukou": rng.choice(["local", "migrant"], n), "weight": rng.uniform(1, 4, n).round(2),
                       "stratum": np.repeat(["s1", "s2", "s3"], 30), "psu": [f"p{i // 5}" for i in range(n)]})
    aided = rng.random(n) < 0.6
    aid = pd.DataFrame({"record_id": [f"r{i}" for i in range(aided.sum())], "household_id": hh.household_id[aided],
                        "sector": "government", "category": "basic_living", "form": "cash",
                        "amount": rng.gamma(2, 150, aided.sum()).round(1), "start_on": "2024-02-01",
                        "end_on": "2024-02-28"})
    d = tmp_path / "clustered"
    d.mkdir()
    pd.DataFrame({"region_id": ["P", "A", "B"], "parent_id": [None, "P", "P"]}).to_csv(d / "regions.csv", index=False)
    hh.to_csv(d / "households.csv", index=False)
    aid.to_csv(d / "assistance.csv", index=False)
    (d / "datapackage.json").write_text(json.dumps({"frequency": "quarter", "extracted_on": "2024-06-30"}))
    res = evalkit.compute(evalkit.load(d), indicators=["fairness.benefit_incidence_government"],
                          by=["hukou", "income_quintile"], min_cell=1)
    t = res.table[res.table.period == Q]
    yuan = hh.household_id.map(aid.groupby("household_id").amount.sum()).fillna(0.0).to_numpy()
    persons = hh["weight"] * hh["size"]
    checked = 0
    for region, inside in (("P", np.ones(n, bool)), ("A", (hh.region_id == "A").to_numpy())):
        # quintiles of persons by income within the region: Q1 while the persons strictly below are under 1/5
        below = hh.income_pc.map(lambda v, m=inside: persons[m & (hh.income_pc < v)].sum())
        quintile = "Q" + (np.minimum(np.floor(5 * below / persons[inside].sum() + 1e-9), 4) + 1).astype(int).astype(str)
        for group_by, labels in (("hukou", hh.hukou), ("income_quintile", quintile)):
            for group in ("local", "migrant") if group_by == "hukou" else ("Q1", "Q3", "Q5"):
                est = TaylorEstimator(PopParam.ratio)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    est.estimate(y=yuan * inside * (labels == group), x=yuan * inside, samp_weight=hh.weight,
                                 stratum=hh.stratum, psu=hh.psu)
                row = t[(t.region == region) & (t.group_by == group_by) & (t.group == group)].iloc[0]
                assert row.value == pytest.approx(est.point_est, rel=1e-9)
                assert row.se == pytest.approx(est.stderror, rel=1e-9)
                checked += 1
    assert checked == 10


def test_theil_index_and_its_share_between_sub_regions(default):
    """All aid starting in 2024Q1 per person, every household: A as in the Gini test; B b1 120,
    b2 30, b3 60/2. Theil T and its between-county share in P equal the inequality module's
    estimates over the whole sample (households as PSUs, one stratum); a county has no
    sub-region, so its between share is blank with a note."""
    yuan = {"a1": 350, "a2": 150, "a4": 200, "a5": 40, "b1": 120, "b2": 30, "b3": 60}
    size = HOUSEHOLDS["size"].to_numpy(float)
    y = HOUSEHOLDS["household_id"].map(yuan).fillna(0).to_numpy(float) / size
    county = HOUSEHOLDS["region_id"].to_numpy()
    t = cell(default, "fairness.theil_aid_pc", "P")
    expected = fairness.theil_estimate(y, size)
    assert t.value == pytest.approx(fairness.theil(y, size)) and t.se == pytest.approx(expected.se)
    a = cell(default, "fairness.theil_aid_pc", "A")
    in_a = county == "A"
    assert a.value == pytest.approx(fairness.theil(y[in_a], size[in_a]))
    assert a.se == pytest.approx(fairness.theil_estimate(y, size, domain=in_a).se)
    share = cell(default, "fairness.theil_between_subregions", "P")
    decomposition = fairness.theil_decomposition(y, county, size)
    assert share.value == pytest.approx(decomposition.between / decomposition.total)
    assert share.se == pytest.approx(fairness.between_share_estimate(y, county, size).se)
    assert (share.n, share.numerator, share.denominator) == (8, 950, 11)
    leaf = cell(default, "fairness.theil_between_subregions", "A")
    assert np.isnan(leaf.value) and "sub-region" in leaf.note


def test_inequality_domains_come_in_batches_holding_each_household_once(hand):
    """Inequality indices measure their domains batch by batch (one level of the region tree
    at a time), so memory grows with the households, not with households x domains."""
    from evalkit.indicators.base import Context
    from evalkit.indicators.kinds import Sample, _domain_batches

    ctx = Context(hand, list(hand.periods), closure=hand.region_closure(), by=["hukou"])
    try:
        batches = list(_domain_batches(ctx))
        sample = Sample.of(ctx)
    finally:
        ctx.close()
    assert len(sample.w) == len(HOUSEHOLDS)
    for batch in batches:
        assert not batch.duplicated(["group_by", "row"]).any() and batch["group_by"].nunique() == 1
    members = pd.concat(batches)
    overall = members[members["group_by"] == ""]
    assert overall.groupby("region")["row"].nunique().to_dict() == {"P": 8, "A": 5, "B": 3}
    assert len(batches) == 4  # the province, then the counties; overall and by hukou
