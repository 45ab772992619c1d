"""Outcomes family: need fulfilment, exits, returns to hardship, income change and costs, by hand.

The hand package: province P with counties A (a1-a4) and B (b1-b3), quarters, unweighted,
extracted on 2025-06-30. The panel (household_periods, Chinese headers; ``-`` no row,
``?`` in_assistance blank) in 2024Q1 .. 2025Q2 (Q1 .. Q6)::

    hh  Q1       Q2          Q3          Q4       Q5       Q6
    a1  in 500   out 800     out 820     in 600   in 650   in 700
    a2  in 600   out 900     out 950     out 600  out 1000 out 1100   (Q2 status 低边, in_assistance 否: out)
    a3  in 400   in 420      out 900     in 500   in 520   in (blank income)
    a4  in 650   out 1000    -           out 1200 out 1250 out 1300
    b1  in 300   -           ? 低保 350   out 900  out 950  out 1000   (Q3: blank in_assistance, status 低保: in)
    b2  out 2000 out 2100    out 2050    out 2200 out 2300 out 2400
    b3  in 450   ? blank status, blank income

Exit rate. 2024Q2: at risk a1-a4, b1, b3; b1 (no row) and b3 (unknown) left out
(n_excluded 2 in B and P); exits a1, a2, a4: A 3/4, P 3/4, B 0/0 (blank). 2024Q3: a3 of
a3: A 1/1. 2024Q4: b1 (in by status) of b1: B 1/1. 2025Q1: none of a1, a3: A 0/2.
2024Q1 has no period before it in the data: blank.

Return to hardship within 4 quarters. Exits of 2024Q2 (window 2024Q3 .. 2025Q2, ends
2025-06-30, on the extraction date: judged): a1 back in 2024Q4 (returned); a2 out in all
four (not); a4 out but its 2024Q3 is missing (n_excluded 1): A 1/2. With hardship=income
a2's 600 yuan in 2024Q4 (below the poverty line of 700) is a return too: A 2/2. Exits of
2024Q3 (a3, back already in 2024Q4) and 2024Q4 (b1): windows end after the extraction
date: censored (n_censored 1), whatever happened, never in the rate.

Income change (Mean). 2024Q2: a1 +300, a2 +300, a3 +20, a4 +350 -> A 970/4 = 242.5; B:
b2 +100, b3 blank in Q2 (n_excluded 1), b1 absent -> 100; P 1070/5 = 214. 2024Q3: A
(20 + 50 + 480)/3 (a4 absent in Q3); B b2 -50 (b1 absent in Q2); P 500/4 = 125. 2025Q2:
A (50 + 100 + 50)/3, a3's blank income left out; B (50 + 100)/2 = 75; P 350/5 = 70.

Need fulfilment (follow_up_days 90). 2024Q1: n1 a1 handled in 22 days (met); n2 a2
handled after 138 days (not); n3 a3 met by record r3 linked to it; n4 b1 met by its
referral closed in 51 days; n5 b2 nothing. A 2/3, B 1/2, P 3/5. n6 (b3, 2025-05-01):
its 90 days end after the extraction date: censored.

Aid yuan per aided household (records starting in the period / households with a record
active). 2024Q1: A a1 300 + 60, a3 100 -> 460/2 = 230; B b1 200, b2 50 (unknown sector)
-> 125; P 710/4 = 177.5. 2024Q2: B b1 aided by r4 (started in Q1): 0/1 = 0.
Charity per government yuan, 2024Q1: A 160/300; B 0/200 (b2's unknown sector counts for
neither); P 160/500 = 0.32.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import write_tiny

import evalkit
from evalkit.data.synth import generate
from evalkit.indicators import REGISTRY, Context
from evalkit.indicators.base import Unavailable, design_of
from evalkit.indicators.catalogue import load_catalogue
from evalkit.indicators.parameters import resolve

Q1, Q2, Q3, Q4, Q5, Q6 = "2024Q1", "2024Q2", "2024Q3", "2024Q4", "2025Q1", "2025Q2"

HOUSEHOLDS = pd.DataFrame({"household_id": ["a1", "a2", "a3", "a4", "b1", "b2", "b3"],
                           "region_id": ["A"] * 4 + ["B"] * 3})
# household, period (mixed spellings), status, income, in_assistance
PANEL = [
    ("a1", "2024Q1", "低保", 500, "是"), ("a1", "2024q2", "无", 800, "否"), ("a1", "2024-3", "无", 820, "否"),
    ("a1", "2024年第4季度", "低保", 600, "是"), ("a1", "2025Q1", "低保", 650, "是"), ("a1", "2025Q2", "低保", 700, "是"),
    ("a2", "2024Q1", "低保", 600, "是"), ("a2", "2024Q2", "低边", 900, "否"), ("a2", "2024Q3", "无", 950, "否"),
    ("a2", "2024Q4", "无", 600, "否"), ("a2", "2025Q1", "无", 1000, "否"), ("a2", "2025Q2", "无", 1100, "否"),
    ("a3", "2024Q1", "低保", 400, "是"), ("a3", "2024Q2", "低保", 420, "是"), ("a3", "2024Q3", "无", 900, "否"),
    ("a3", "2024Q4", "特困", 500, "是"), ("a3", "2025Q1", "特困", 520, "是"), ("a3", "2025Q2", "特困", None, "是"),
    ("a4", "2024Q1", "低保", 650, "是"), ("a4", "2024Q2", "无", 1000, "否"),
    ("a4", "2024Q4", "无", 1200, "否"), ("a4", "2025Q1", "无", 1250, "否"), ("a4", "2025Q2", "无", 1300, "否"),
    ("b1", "2024Q1", "低保", 300, "是"), ("b1", "2024Q3", "低保", 350, None),
    ("b1", "2024Q4", "无", 900, "否"), ("b1", "2025Q1", "无", 950, "否"), ("b1", "2025Q2", "无", 1000, "否"),
    *[("b2", p, "无", v, "否") for p, v in zip([Q1, Q2, Q3, Q4, Q5, Q6], [2000, 2100, 2050, 2200, 2300, 2400])],
    ("b3", "2024Q1", "低保", 450, "是"), ("b3", "2024Q2", None, None, None),
]
NEEDS = pd.DataFrame({
    "need_id": ["n1", "n2", "n3", "n4", "n5", "n6"],
    "household_id": ["a1", "a2", "a3", "b1", "b2", "b3"],
    "service_type": ["care"] * 6,
    "identified_on": ["2024-01-10", "2024-01-15", "2024-02-01", "2024-02-10", "2024-03-01", "2025-05-01"],
    "handled_on": ["2024-02-01", "2024-06-01", None, None, None, None],
})
ASSISTANCE = pd.DataFrame([
    ("r1", "a1", "government", "basic_living", "cash", 300, "2024-01-05", "2024-03-31", None),
    ("r2", "a1", "charity", "care", "service", 60, "2024-02-01", "2024-02-10", None),
    ("r3", "a3", "charity", "care", "service", 100, "2024-03-01", "2024-03-05", "n3"),
    ("r4", "b1", "government", "basic_living", "cash", 200, "2024-01-01", "2024-06-30", None),
    ("r5", "b2", None, "care", "in_kind", 50, "2024-02-15", "2024-02-20", None),
    ("r6", "a2", "government", "basic_living", "cash", 400, "2025-04-01", "2025-04-30", None),
], columns=["record_id", "household_id", "sector", "category", "form", "amount", "start_on", "end_on", "need_id"])
REFERRALS = pd.DataFrame({"referral_id": ["f1"], "household_id": ["b1"], "need_id": ["n4"],
                          "created_on": ["2024-02-12"], "closed_on": ["2024-04-01"]})


def write_hand(d, panel: bool = True):
    d.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"region_id": ["P", "A", "B"], "parent_id": [None, "P", "P"],
                  "level": ["province", "county", "county"]}).to_csv(d / "regions.csv", index=False)
    HOUSEHOLDS.to_csv(d / "households.csv", index=False)
    NEEDS.to_csv(d / "needs.csv", index=False)
    ASSISTANCE.to_csv(d / "assistance.csv", index=False)
    REFERRALS.to_csv(d / "referrals.csv", index=False)
    if panel:
        frame = pd.DataFrame(PANEL, columns=["户编号", "期间", "救助类别", "人均收入", "是否在保"])
        frame.to_csv(d / "household_periods.csv", index=False, encoding="gbk")
    (d / "datapackage.json").write_text(json.dumps({"frequency": "quarter", "extracted_on": "2025-06-30"}))
    return d


@pytest.fixture(scope="module")
def hand(tmp_path_factory):
    return evalkit.load(write_hand(tmp_path_factory.mktemp("outcomes") / "hand"))


@pytest.fixture(scope="module")
def res(hand):
    return evalkit.compute(hand, family="outcomes", min_cell=0)


def cell(results, indicator, region, period) -> pd.Series:
    t = results.table
    got = t[(t.indicator == indicator) & (t.region == region) & (t.period == period) & (t.group_by == "")]
    assert len(got) == 1, got
    return got.iloc[0]


def frac(results, indicator, region, period):
    c = cell(results, indicator, region, period)
    return c.numerator, c.denominator


def test_panel_loads_with_chinese_headers_and_normalised_periods(hand):
    assert hand.report.ok
    hp = hand.con.execute(hand.tables["household_periods"])
    assert set(hp["period"]) == {Q1, Q2, Q3, Q4, Q5, Q6}
    a2 = hp[(hp.household_id == "a2") & (hp.period == Q2)].iloc[0]
    assert a2.status == "dibian" and not a2.in_assistance and a2.income_pc == 900
    assert hp["in_assistance"].isna().sum() == 2


def test_exit_rate(res):
    ind = "outcomes.exit_rate"
    assert frac(res, ind, "A", Q2) == (3, 4) and frac(res, ind, "P", Q2) == (3, 4)
    assert cell(res, ind, "B", Q2).n_excluded == 2 and cell(res, ind, "P", Q2).n_excluded == 2
    assert np.isnan(cell(res, ind, "B", Q2).value)
    assert frac(res, ind, "A", Q3) == (1, 1)
    assert frac(res, ind, "B", Q4) == (1, 1) and frac(res, ind, "P", Q4) == (1, 1)
    assert frac(res, ind, "A", Q5) == (0, 2)
    assert np.isnan(cell(res, ind, "P", Q1).value)


def test_return_to_hardship_rate_censors_open_windows(res):
    ind = "outcomes.return_to_hardship_rate"
    a = cell(res, ind, "A", Q2)
    assert (a.numerator, a.denominator, a.n_excluded, a.n_censored) == (1, 2, 1, 0)
    assert a.value == pytest.approx(0.5)
    q3 = cell(res, ind, "A", Q3)  # a3 came back, but its window is still open: censored, not counted
    assert (q3.denominator, q3.n_censored, q3.incomplete) == (0, 1, True)
    assert np.isnan(q3.value) and "censored" in q3.note
    assert cell(res, ind, "B", Q4).n_censored == 1 and cell(res, ind, "P", Q4).n_censored == 1
    assert cell(res, ind, "P", Q2).n_censored == 0


def test_return_to_hardship_by_income(hand):
    res = evalkit.compute(hand, indicators=["outcomes.return_to_hardship_rate"], min_cell=0,
                          params={"hardship": "income"})
    a = cell(res, "outcomes.return_to_hardship_rate", "A", Q2)
    assert (a.numerator, a.denominator, a.n_excluded) == (2, 2, 1)
    low = evalkit.compute(hand, indicators=["outcomes.return_to_hardship_rate"], min_cell=0,
                          params={"hardship": "income", "poverty_line": 500})
    assert frac(low, "outcomes.return_to_hardship_rate", "A", Q2) == (1, 2)


def test_income_change(res):
    ind = "outcomes.income_change_pc"
    assert cell(res, ind, "A", Q2).value == pytest.approx(242.5)
    b = cell(res, ind, "B", Q2)
    assert (b.value, b.n, b.n_excluded) == (pytest.approx(100), 1, 1)
    assert cell(res, ind, "P", Q2).value == pytest.approx(214)
    assert cell(res, ind, "A", Q3).value == pytest.approx(550 / 3)
    assert cell(res, ind, "B", Q3).value == pytest.approx(-50)
    assert cell(res, ind, "P", Q3).value == pytest.approx(125)
    a6 = cell(res, ind, "A", Q6)
    assert (a6.value, a6.n_excluded) == (pytest.approx(200 / 3), 1)
    assert cell(res, ind, "B", Q6).value == pytest.approx(75)
    assert cell(res, ind, "P", Q6).value == pytest.approx(70)
    assert np.isfinite(cell(res, ind, "P", Q2).se)


def test_need_fulfilment(res):
    ind = "outcomes.need_fulfilment_rate"
    assert frac(res, ind, "A", Q1) == (2, 3)
    assert frac(res, ind, "B", Q1) == (1, 2)
    assert frac(res, ind, "P", Q1) == (3, 5)
    assert cell(res, ind, "B", Q6).n_censored == 1 and cell(res, ind, "B", Q6).denominator == 0


def test_need_fulfilment_needs_its_window(hand):
    """With a follow-up window of 10 days n1 (22 days) is no longer met, nor n3 (29 days) or n4."""
    res = evalkit.compute(hand, indicators=["outcomes.need_fulfilment_rate"], min_cell=0,
                          params={"follow_up_days": 10})
    assert frac(res, "outcomes.need_fulfilment_rate", "P", Q1) == (0, 5)


def test_cost_per_aided_household_and_charity_per_government_yuan(res):
    cost = "outcomes.cost_per_beneficiary_household"
    assert cell(res, cost, "A", Q1).value == pytest.approx(230)
    assert cell(res, cost, "B", Q1).value == pytest.approx(125)
    assert cell(res, cost, "P", Q1).value == pytest.approx(177.5)
    assert frac(res, cost, "B", Q2) == (0, 1)
    assert cell(res, cost, "A", Q6).value == pytest.approx(400)
    ratio = "outcomes.charity_per_government_yuan"
    assert cell(res, ratio, "A", Q1).value == pytest.approx(160 / 300)
    assert cell(res, ratio, "B", Q1).value == pytest.approx(0)
    assert frac(res, ratio, "P", Q1) == (160, 500)


def test_panel_indicators_unavailable_without_household_periods(tmp_path):
    pkg = evalkit.load(write_hand(tmp_path / "nopanel", panel=False))
    res = evalkit.compute(pkg, family="outcomes", min_cell=0)
    for ind in ("outcomes.exit_rate", "outcomes.return_to_hardship_rate", "outcomes.income_change_pc"):
        assert "household_periods" in res.skipped[ind]
    assert set(res.table.indicator) == {"outcomes.need_fulfilment_rate", "outcomes.cost_per_beneficiary_household",
                                        "outcomes.charity_per_government_yuan"}
    ctx = Context(pkg, pkg.periods, resolve(), design_of(pkg), pkg.region_closure())
    with pytest.raises(Unavailable, match="household_periods"):
        REGISTRY["outcomes.exit_rate"](ctx)


def test_satisfaction_and_micro_wishes_are_not_repeated():
    cat = load_catalogue()
    ids = {i.id for i in cat.family("outcomes")}
    assert "coordination.satisfaction_rate" in cat and not any("satisfaction" in i for i in ids)
    assert not any("wish" in i for i in ids)


# --- validation ----------------------------------------------------------------------

def test_panel_validation_names_file_column_and_rows(tmp_path):
    d = write_tiny(tmp_path / "bad")
    pd.DataFrame({
        "家庭编号": ["h1", "h1", "h2", "h9", "h3", "h3", "h4"],
        "时期": ["2024q1", "2024Q1", "2024-2", "2024Q1", "2031Q1", "2024年第5季度", "2024Q2"],
        "救助类别": ["低保", "低保", "无", "无", "无", "无", "理发"],
        "人均收入": [1, 2, 3, 4, 5, 6, -1],
        "是否在保": ["是", "是", "否", "否", "否", "否", "也许"],
    }).to_csv(d / "家庭动态.csv", index=False, encoding="gbk")
    report = evalkit.validate(d)
    found = {(p.file, p.column, p.check): p for p in report.errors}
    dup = found[("家庭动态.csv", "household_id, period", "unique key")]
    assert dup.count == 2 and "(h1, 2024Q1) at line 2, line 3" in dup.examples[0]
    fk = found[("家庭动态.csv", "household_id", "foreign key")]
    assert fk.count == 1 and "line 5" in fk.examples[0] and "'h9'" in fk.examples[0]
    label = found[("家庭动态.csv", "period", "period label")]
    assert label.count == 1 and "line 7" in label.examples[0] and "quarter period such as 2024Q1" in label.expected
    late = found[("家庭动态.csv", "period", "latest period")]
    assert late.count == 1 and "line 6" in late.examples[0]
    assert found[("家庭动态.csv", "status", "type")].count == 1
    assert found[("家庭动态.csv", "in_assistance", "type")].count == 1
    assert found[("家庭动态.csv", "income_pc", "range")].count == 1
    assert len(report.errors) == 7


def test_panel_needs_its_period_column(tmp_path):
    d = write_tiny(tmp_path / "noperiod")
    pd.DataFrame({"户编号": ["h1"], "人均收入": [100]}).to_csv(d / "household_periods.csv", index=False)
    report = evalkit.validate(d)
    assert [(p.column, p.check) for p in report.errors] == [("period", "required column")]


def test_yearly_panel_labels(tmp_path):
    d = write_tiny(tmp_path / "year")
    (d / "datapackage.json").write_text(json.dumps({"frequency": "year"}))
    pd.DataFrame({"region_id": ["P", "A", "B"], "parent_id": [None, "P", "P"]}).to_csv(d / "regions.csv", index=False)
    pd.DataFrame({"household_id": ["h1", "h1"], "period": ["2023年", "2024"]}).to_csv(
        d / "household_periods.csv", index=False)
    pkg = evalkit.load(d)
    assert sorted(pkg.con.execute(pkg.tables["household_periods"])["period"]) == ["2023", "2024"]


# --- planted truth -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    out = tmp_path_factory.mktemp("panel") / "pkg"
    generate(out, households=20_000, regions=4, periods=10, seed=3)
    pkg = evalkit.load(out)
    res = evalkit.compute(pkg, indicators=["outcomes.exit_rate", "outcomes.return_to_hardship_rate",
                                           "outcomes.income_change_pc"], min_cell=0)
    return out, json.loads((out / "truth.json").read_text()), res


def test_synthetic_panel_matches_households(planted):
    out, truth, _ = planted
    hp = pd.read_parquet(out / "household_periods.parquet")
    hh = pd.read_parquet(out / "households.parquet").set_index("household_id")
    assert len(hp) == 20_000 * 10
    last = hp[hp.period == truth["periods"][-1]].set_index("household_id").loc[hh.index]
    assert (last.status == hh.status).all() and (last.income_pc == hh.income_pc).all()
    assert (last.in_assistance == (hh.status != "none")).all()
    assert ((hp.status != "none") == hp.in_assistance).all()


def test_planted_exit_rates_inside_intervals(planted):
    _, truth, res = planted
    expected = pd.DataFrame(truth["expected"]["outcomes.exit_rate"])
    got = res.overall("outcomes.exit_rate").merge(expected, on=["region", "period"], suffixes=("", "_true"))
    got = got[got.n >= 100]
    assert len(got) >= 40
    inside = (got.ci_low <= got.value_true) & (got.value_true <= got.ci_high)
    assert 0.85 <= inside.mean() <= 1.0, f"{inside.mean():.1%} of {len(got)} cells"
    # the reform raises exits by the planted 0.04, pooled over counties and periods
    panel = truth["parameters"]["household_panel"]["exit_probability_per_period"]
    counties = got[got.region.str.len() == 5]
    after = counties.value_true == panel["after"]
    pooled = lambda m: counties[m].numerator.sum() / counties[m].denominator.sum()
    n_after, n_before = counties[after].denominator.sum(), counties[~after].denominator.sum()
    se = np.sqrt(panel["after"] * (1 - panel["after"]) / n_after + panel["before"] * (1 - panel["before"]) / n_before)
    assert abs(pooled(after) - pooled(~after) - (panel["after"] - panel["before"])) < 3 * se


def test_planted_return_rate_recovered(planted):
    _, truth, res = planted
    r = truth["parameters"]["household_panel"]["return_probability_within_12_months"]
    rows = res.overall("outcomes.return_to_hardship_rate")
    top = rows[(rows.region == "R00") & (rows.period != truth["periods"][0])]  # the first has no period before
    judged = top[top.denominator > 0]
    assert len(judged) >= 4  # exits of the first periods have their 12 months in the data
    assert (top[top.denominator == 0].n_censored > 0).all()  # the later ones are censored, never 0/0 silently
    inside = (judged.ci_low <= r) & (r <= judged.ci_high)
    assert inside.mean() >= 0.75
    pooled = judged.numerator.sum() / judged.denominator.sum()
    assert abs(pooled - r) < 3 * np.sqrt(r * (1 - r) / judged.denominator.sum())


def test_planted_income_change_recovered(planted):
    out, truth, res = planted
    share = truth["parameters"]["household_panel"]["income_change_share_per_period"]["mean"]
    hp = pd.read_parquet(out / "household_periods.parquet", columns=["period", "income_pc"])
    mean_income = hp.groupby("period").income_pc.mean()
    rows = res.overall("outcomes.income_change_pc")
    top = rows[(rows.region == "R00") & rows.value.notna()]
    assert len(top) == 9
    expected = share * mean_income.loc[top.period].to_numpy()
    assert (np.abs(top.value.to_numpy() - expected) < 3 * top.se.to_numpy()).mean() >= 0.85


def test_schema_command_documents_the_panel():
    from click.testing import CliRunner

    from evalkit.cli import main

    run = CliRunner().invoke(main, ["schema", "household_periods"])
    assert run.exit_code == 0, run.output
    assert "## household_periods (optional" in run.output and "Unique: household_id, period." in run.output
    assert "| period | period label | yes | 期间、时期" in run.output and "是否在保" in run.output
    every = CliRunner().invoke(main, ["schema"])
    assert all(f"## {t} (" in every.output for t in ("regions", "households", "calendar"))
    assert CliRunner().invoke(main, ["schema", "nope"]).exit_code == 2


def test_a_panel_alone_gives_the_periods(tmp_path):
    """Regions, households and the panel, no dated record: the panel's periods are the package's."""
    d = write_hand(tmp_path / "panel_only")
    for name in ("needs", "assistance", "referrals"):
        (d / f"{name}.csv").unlink()
    pkg = evalkit.load(d)
    assert pkg.periods == [Q1, Q2, Q3, Q4, Q5, Q6]
    res = evalkit.compute(pkg, family="outcomes", min_cell=0)
    assert frac(res, "outcomes.exit_rate", "A", Q2) == (3, 4)
    assert "needs" in res.skipped["outcomes.need_fulfilment_rate"]


def test_a_window_past_the_panel_end_is_censored(tmp_path):
    """Without 2025Q2 in the panel, the 12 months of the 2024Q2 exits run past the panel's end:
    censored (3 exits: a1, a2, a4), though the extraction date is later."""
    d = write_hand(tmp_path / "short")
    frame = pd.DataFrame([r for r in PANEL if r[1] != Q6], columns=["户编号", "期间", "救助类别", "人均收入", "是否在保"])
    frame.to_csv(d / "household_periods.csv", index=False, encoding="gbk")
    res = evalkit.compute(evalkit.load(d), indicators=["outcomes.return_to_hardship_rate"], min_cell=0)
    a = cell(res, "outcomes.return_to_hardship_rate", "A", Q2)
    assert (a.denominator, a.n_censored, a.n_excluded) == (0, 3, 0)
