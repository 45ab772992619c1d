"""Derived groups: income quintiles (region-relative), the head's age band, household type.

The hand package: province P with counties A and B, weighted (weights differ), quarter 2024Q1.

County A, 10 ranked persons (persons = weight x size; a missing size counts 1; a blank
weight among given ones is a validation error)::

    hh  weight size income  persons  below  share  5*share  quintile
    a1  1      2    100     2        0      0.0    0.0      Q1
    a2  2      1    150     2        2      0.2    1.0      Q2   starts exactly at the 20% cut: opens Q2
    a3  1      3    300     3        4      0.4    2.0      Q3   at the 40% cut, and ties with a4 ...
    a4  0.5    2    300     1        4      0.4    2.0      Q3   ... so a4 is in Q3 too, though it ends at 80%
    a5  1      1    400     1        8      0.8    4.0      Q5   no one starts in [60%, 80%): Q4 is empty
    a6  1      (1)  900     1        9      0.9    4.5      Q5
    a7  3      2    (none)  -        -      -      -        (missing)

County B, 5 persons, one each: b1..b5 with incomes 1000..5000 are Q1..Q5.

Province P, 15 ranked persons, recomputed over its own population::

    a1 below 0 -> 0/15 Q1;  a2 2 -> 0.133 Q1;  a3, a4 4 -> 0.267 Q2;  a5 8 -> 0.533 Q3;
    a6 9 -> 9/15 = 0.6 exactly, a cut point -> Q4;  b1 10 -> Q4;  b2 11 -> 0.733 Q4;
    b3 12 -> 0.8 exactly -> Q5;  b4, b5 -> Q5;  a7 (missing)

So a2 is Q2 of A but Q1 of P, and b1 is Q1 of B but Q4 of P: B is the richer county.
This is Stata's weighted ``xtile``: the 20% cut is the mean of a1's and a2's incomes
(the cumulative weight hits 20% exactly after a1), 125, and a1 <= 125 < a2.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import evalkit
from evalkit.data.synth import generate
from evalkit.indicators import Context, groups
from evalkit.indicators.base import design_of, households

Q = "2024Q1"

HOUSEHOLDS = pd.DataFrame([
    # id, region, weight, size, income, 户主年龄 (head's age), elderly, child, disabled
    ("a1", "A", 1, 2, 100, 29, "是", "否", "否"),
    ("a2", "A", 2, 1, 150, 30, "是", "否", "是"),
    ("a3", "A", 1, 3, 300, 44, "否", "否", "否"),
    ("a4", "A", 0.5, 2, 300, 45, "是", "是", "是"),
    ("a5", "A", 1, 1, 400, 74, "否", "是", None),
    ("a6", "A", 1, None, 900, 75, "否", "是", "否"),
    ("a7", "A", 3, 2, None, None, "否", "否", "是"),
    ("b1", "B", 1, 1, 1000, 0, "是", "是", "否"),
    ("b2", "B", 1, 1, 2000, 120, "否", "是", "是"),
    ("b3", "B", 1, 1, 3000, 59, None, None, None),
    ("b4", "B", 1, 1, 4000, 60, "否", "否", "否"),
    ("b5", "B", 1, 1, 5000, 61, "否", "否", "否"),
], columns=["household_id", "region_id", "weight", "size", "income_pc", "户主年龄", "elderly", "child", "disabled"])

QUINTILE = {
    "A": {"a1": "Q1", "a2": "Q2", "a3": "Q3", "a4": "Q3", "a5": "Q5", "a6": "Q5", "a7": "(missing)"},
    "B": {"b1": "Q1", "b2": "Q2", "b3": "Q3", "b4": "Q4", "b5": "Q5"},
    "P": {"a1": "Q1", "a2": "Q1", "a3": "Q2", "a4": "Q2", "a5": "Q3", "a6": "Q4", "a7": "(missing)",
          "b1": "Q4", "b2": "Q4", "b3": "Q5", "b4": "Q5", "b5": "Q5"},
}
HEAD_AGE_BAND = {"a1": "<30", "a2": "30-44", "a3": "30-44", "a4": "45-59", "a5": "60-74", "a6": "75+",
                 "a7": "(missing)", "b1": "<30", "b2": "75+", "b3": "45-59", "b4": "60-74", "b5": "60-74"}
HOUSEHOLD_TYPE = {"a1": "elderly", "a2": "elderly+disabled", "a3": "none", "a4": "elderly+child+disabled",
                  "a5": "(missing)", "a6": "child", "a7": "disabled", "b1": "elderly+child",
                  "b2": "child+disabled", "b3": "(missing)", "b4": "none", "b5": "none"}
NEEDY = {"a1", "a3", "a6", "a7", "b1", "b4"}  # a care need identified in 2024Q1


def write(directory, regions, households, needy) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    regions.to_csv(directory / "regions.csv", index=False)
    households.to_csv(directory / "households.csv", index=False)
    needy = sorted(needy)
    pd.DataFrame({"need_id": [f"n{k}" for k in range(len(needy))], "household_id": needy,
                  "service_type": "care", "identified_on": "2024-02-01"}).to_csv(directory / "needs.csv", index=False)
    (directory / "datapackage.json").write_text(json.dumps({"frequency": "quarter"}))


REGIONS = pd.DataFrame({"region_id": ["P", "A", "B"], "parent_id": [None, "P", "P"]})


@pytest.fixture(scope="module")
def hand(tmp_path_factory):
    d = tmp_path_factory.mktemp("groups") / "hand"
    # design columns: a weighted package without them fails in base._design (NULL-typed columns)
    write(d, REGIONS, HOUSEHOLDS.assign(stratum=HOUSEHOLDS.region_id, psu=HOUSEHOLDS.household_id), NEEDY)
    pkg = evalkit.load(d)
    assert pkg.weighted
    return pkg


def assignments(pkg, name="income_quintile") -> pd.DataFrame:
    """(region, household, group) for every region above each household, from the engine."""
    ctx = Context(pkg, pkg.periods, design=design_of(pkg), closure=pkg.region_closure())
    try:
        t = groups.by_ancestor(ctx, households(ctx), pkg.region_closure(), name)
        return pkg.con.execute(t).rename(columns={f"g_{name}": "group"})
    finally:
        ctx.close()


def test_hand_quintiles_with_weights_sizes_ties_and_cut_points(hand):
    got = assignments(hand)
    got = {r: dict(zip(g.household_id, g.group)) for r, g in got.groupby("region_id")}
    assert got == QUINTILE


def test_hand_results_by_every_derived_group(hand):
    res = evalkit.compute(hand, indicators=["access.need_rate"], by=["income_quintile", "head_age_band", "household_type"],
                          min_cell=0)
    t = res.table[(res.table.service_type == "care") & (res.table.period == Q)]
    weight = dict(zip(HOUSEHOLDS.household_id, HOUSEHOLDS.weight.fillna(1.0)))
    members = {r: [h for h in HOUSEHOLDS.household_id if r == "P" or h.startswith(r.lower())] for r in "PAB"}
    for group_by, truth in [("income_quintile", None), ("head_age_band", HEAD_AGE_BAND),
                            ("household_type", HOUSEHOLD_TYPE)]:
        for region in "PAB":
            label = QUINTILE[region] if truth is None else truth
            expected = {}
            for h in members[region]:
                expected.setdefault(label[h], []).append(h)
            rows = t[(t.region == region) & (t.group_by == group_by)].set_index("group")
            assert set(rows.index) == set(expected), (group_by, region)
            for group, hhs in expected.items():
                row = rows.loc[group]
                assert row.n == len(hhs)  # every household counted once, "(missing)" included
                assert row.denominator == pytest.approx(sum(weight[h] for h in hhs))
                assert row.numerator == pytest.approx(sum(weight[h] for h in hhs if h in NEEDY))


def test_group_names_are_checked(hand):
    with pytest.raises(ValueError, match="derived groups: income_quintile, head_age_band, household_type"):
        evalkit.compute(hand, by=["income_decile"])
    with pytest.raises(ValueError, match="cannot group by head_age"):
        evalkit.compute(hand, by=["head_age"])  # the raw age is an input, not a group


def test_parent_quintiles_are_recomputed_not_inherited(tmp_path):
    """A poor county (incomes 1..200) and a rich one (201..400), 200 one-person households
    each, unweighted: each county has its own 40 households per quintile, while the
    province's Q1 and Q2 are all poor-county households and its Q4 and Q5 rich-county ones."""
    hh = pd.DataFrame({"household_id": [f"h{k}" for k in range(400)], "region_id": ["A"] * 200 + ["B"] * 200,
                       "size": 1, "income_pc": np.arange(1, 401)})
    write(tmp_path / "pkg", REGIONS, hh, {"h0", "h1", "h250"})
    pkg = evalkit.load(tmp_path / "pkg")
    got = assignments(pkg)
    share = got.groupby(["region_id", "group"]).size().unstack(fill_value=0)
    assert (share.loc["A"] == 40).all() and (share.loc["B"] == 40).all() and (share.loc["P"] == 80).all()
    province = got[got.region_id == "P"].set_index("household_id")["group"]
    county = got[got.region_id != "P"].set_index("household_id")["group"]
    assert set(province[hh.household_id[:200]]) == {"Q1", "Q2", "Q3"}
    assert set(province[hh.household_id[200:]]) == {"Q3", "Q4", "Q5"}
    assert (province != county[province.index]).mean() > 0.5
    # the unweighted engine path (leaf sums rolled up in pandas) with the identity closure
    res = evalkit.compute(pkg, by=["income_quintile"], min_cell=0)
    rows = res.by_group("income_quintile", "access.need_rate")
    rows = rows[(rows.period == Q) & (rows.service_type == "care")].set_index(["region", "group"])
    assert rows.loc[("P", "Q1"), ["numerator", "n"]].tolist() == [2, 80]  # h0, h1
    assert rows.loc[("B", "Q2"), ["numerator", "n"]].tolist() == [1, 40]  # h250: 51st of B
    assert rows.loc[("P", "Q4"), ["numerator", "n"]].tolist() == [1, 80]  # h250: 251st of 400


def xtile(x: np.ndarray, w: np.ndarray, n: int = 5) -> np.ndarray:
    """Stata's weighted ``xtile``: cut k is the weighted k/n percentile (the mean of two
    neighbours when the cumulative weight hits k/n exactly); category k holds x <= cut k."""
    order = np.argsort(x, kind="stable")
    xs, cum = x[order], np.cumsum(w[order])
    cuts = []
    for k in range(1, n):
        target = k * cum[-1] / n
        i = np.searchsorted(cum, target, side="right")  # the first with cumulative weight > target
        cuts.append((xs[i - 1] + xs[i]) / 2 if i > 0 and cum[i - 1] == target else xs[i])
    return 1 + np.searchsorted(np.array(cuts), x, side="left")


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    out = tmp_path_factory.mktemp("groups_synth") / "pkg"
    generate(out, households=6000, regions=6, periods=2, seed=5, weighted=True)
    return out, evalkit.load(out)


def test_synthetic_quintiles_match_a_direct_computation(synthetic):
    out, pkg = synthetic
    raw = pd.read_parquet(out / "households.parquet")
    raw["persons"] = raw["weight"].fillna(1.0) * raw["size"].fillna(1)
    closure = pkg.region_closure()
    got = assignments(pkg).set_index(["region_id", "household_id"])["group"]
    assert len(got) == len(raw) * 3  # county, city, province
    levels = 0
    for ancestor, members in closure.groupby("ancestor"):
        hh = raw[raw.region_id.isin(members.region_id)]
        expected = pd.Series("Q" + pd.Series(xtile(hh.income_pc.to_numpy(), hh.persons.to_numpy())).astype(str).to_numpy(),
                             index=hh.household_id)
        assert (got[ancestor][expected.index] == expected).all(), ancestor
        # each quintile holds 20% of the persons, give or take the largest tie of incomes
        persons = hh.groupby(expected.to_numpy())["persons"].sum() / hh.persons.sum()
        largest_tie = hh.groupby("income_pc")["persons"].sum().max() / hh.persons.sum()
        assert list(persons.index) == list(groups.QUINTILE_LABELS)
        assert (persons - 0.2).abs().max() <= largest_tie + 1e-9
        assert (persons - 0.2).abs().max() < 0.02
        levels += 1
    assert levels == 1 + 2 + 6


def test_synthetic_group_rows_add_up_to_the_overall_row(synthetic):
    """Weighted survey design (the engine's per-PSU branch): rates, means (one a ratio), a quantile."""
    _, pkg = synthetic
    some = ["access.need_rate", "coordination.duplicate_aid_rate", "coordination.processing_days",
            "coordination.charity_funding_share", "coordination.referral_accept_days_median",
            "coordination.resource_publication_rate"]
    res = evalkit.compute(pkg, indicators=some, by=["income_quintile", "household_type"], period="2023Q2")
    assert set(res.table.indicator) == set(some)
    t = res.table
    cell = ["indicator", "service_type", "region", "period"]
    overall = t[t.group_by == ""].set_index(cell)[["numerator", "denominator", "n"]]
    # synthetic incomes are never missing
    assert set(t.group[t.group_by == "income_quintile"]) == set(groups.QUINTILE_LABELS)
    for group_by in ("income_quintile", "household_type"):
        parts = t[t.group_by == group_by].groupby(cell)[["numerator", "denominator", "n"]].sum()
        both = overall.join(parts.add_suffix("_groups"), how="inner")
        assert len(both) == len(parts) > 0
        for c in ("numerator", "denominator", "n"):
            assert np.allclose(both[c], both[f"{c}_groups"]), (group_by, c)
        assert set(parts.index.get_level_values("region")) == set(pkg.regions.region_id)
    means = t[(t.group_by == "income_quintile") & (t.indicator == "coordination.processing_days")]
    assert len(means) and means.value.notna().any()


def test_packages_without_the_inputs_put_everyone_in_missing(tiny):
    """conftest's tiny package has no head's age and no flags; its incomes give, in county A
    (sizes 3 1 2 4, 10 persons): h3 500.5 Q1, h1 600 below 2 -> 20% exactly Q2, h2 800 below 5 Q3,
    h4 1200 below 6 -> 60% exactly Q4."""
    res = evalkit.compute(evalkit.load(tiny), indicators=["access.need_rate"], min_cell=0,
                          by=["head_age_band", "household_type", "income_quintile"])
    t = res.table[(res.table.region == "A") & (res.table.period == Q) & (res.table.service_type == "care")]
    for group_by in ("head_age_band", "household_type"):
        rows = t[t.group_by == group_by]
        assert rows.group.tolist() == ["(missing)"] and rows.n.tolist() == [4]
    rows = t[t.group_by == "income_quintile"].set_index("group")
    assert rows.n.to_dict() == {"Q1": 1, "Q2": 1, "Q3": 1, "Q4": 1}
    assert rows.numerator.to_dict() == {"Q1": 1, "Q2": 1, "Q3": 1, "Q4": 0}  # h4 has no care need


def test_a_region_filter_keeps_each_region_s_own_quintiles(hand):
    """Computing for county A alone ranks A's households among A's, as in the full run."""
    full = evalkit.compute(hand, indicators=["access.need_rate"], by=["income_quintile"], min_cell=0)
    alone = evalkit.compute(hand, indicators=["access.need_rate"], by=["income_quintile"], min_cell=0, region="A")
    assert set(alone.table.region) == {"A"}
    pd.testing.assert_frame_equal(alone.table.reset_index(drop=True),
                                  full.table[full.table.region == "A"].reset_index(drop=True))


def test_head_age_is_checked_against_its_range(tmp_path):
    write(tmp_path / "old", REGIONS, HOUSEHOLDS.assign(户主年龄=[130] + [40] * 11), NEEDY)
    with pytest.raises(evalkit.ValidationError, match="head_age"):
        evalkit.load(tmp_path / "old")


def test_units_left_out_are_counted_in_every_group(tmp_path):
    """``n_excluded`` (needs without a survey answer) per group of every grouping, region-relative
    quintiles included: counted from one query per pass, split per grouping afterwards."""
    answer = {"a1": "true", "a3": "", "a6": "false", "a7": "", "b1": "true", "b4": ""}
    d = tmp_path / "answers"
    write(d, REGIONS, HOUSEHOLDS.assign(stratum=HOUSEHOLDS.region_id, psu=HOUSEHOLDS.household_id), NEEDY)
    needs = pd.read_csv(d / "needs.csv")
    needs["supply_nearby"] = needs["household_id"].map(answer)
    needs.to_csv(d / "needs.csv", index=False)
    by = ["income_quintile", "head_age_band", "household_type"]
    res = evalkit.compute(evalkit.load(d), indicators=["access.accessibility_rate"], by=by, min_cell=0)
    t = res.table[(res.table.service_type == "care") & (res.table.period == Q)]
    members = {r: [h for h in HOUSEHOLDS.household_id if r == "P" or h.startswith(r.lower())] for r in "PAB"}
    checked = 0
    for region in "PAB":
        needing = [h for h in members[region] if h in answer]
        overall = t[(t.region == region) & (t.group_by == "")].iloc[0]
        assert (overall.n, overall.n_excluded) == (sum(answer[h] != "" for h in needing),
                                                   sum(answer[h] == "" for h in needing))
        for group_by, label in [("income_quintile", QUINTILE[region]), ("head_age_band", HEAD_AGE_BAND),
                                ("household_type", HOUSEHOLD_TYPE)]:
            rows = t[(t.region == region) & (t.group_by == group_by)].set_index("group")
            for group in {label[h] for h in members[region]}:
                in_group = [h for h in needing if label[h] == group]
                row = rows.loc[group]
                assert row.n_excluded == sum(answer[h] == "" for h in in_group), (region, group_by, group)
                assert row.n == sum(answer[h] != "" for h in in_group), (region, group_by, group)
                checked += 1
    assert checked > 20


def test_a_rate_counts_only_numerator_units_inside_its_denominator(hand):
    """A rate's PSU cells: units per household and key, the numerator's counted where the
    denominator has the unit (b1 is in the numerator only: left out; a1 twice in the denominator)."""
    import ibis

    from evalkit.indicators.kinds import Rate

    ctx = Context(hand, hand.periods, design=design_of(hand), closure=hand.region_closure())
    try:
        den = ibis.memtable(pd.DataFrame({"household_id": ["a1", "a1", "a3", "b4"], "period": Q}))
        num = ibis.memtable(pd.DataFrame({"household_id": ["a1", "b1"], "period": Q}))
        cells = hand.con.execute(Rate(numerator=num, denominator=den).psu_cells(ctx, households(ctx)))
    finally:
        ctx.close()
    got = {h: (r.n, r.m, r.X, r.Y) for h, r in cells.set_index("psu").iterrows()}
    assert got == {"a1": (2, 1, 2.0, 1.0), "a3": (1, 0, 1.0, 0.0), "b4": (1, 0, 1.0, 0.0)}
