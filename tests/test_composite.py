"""Composite indices and their sensitivity to weights: hand-computed on a tiny fake results table."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from evalkit.results.composite import (
    ConfigError,
    component_scores,
    composite_indices,
    index_weights,
    load_composite_config,
    rank_table,
    sensitivity,
)
from evalkit.results.indicator_results import COLUMNS, IndicatorResults

P1, P2 = "2024Q1", "2024Q2"
DIRECTIONS = {"t.x": "higher", "t.y": "lower", "t.z": "higher"}

# Counties A, B, C under province P. t.y is lower-is-better; t.z ties in P1.
# P1 scores (0-100):  t.x A 100, B 50, C 0;  t.y (flipped) A 0, B 100, C 50;  t.z all 50.
# P2 scores:          t.x all equal -> 50;   t.y A 100, B missing (NaN), C 0;  t.z A 0, B 100, C no row.
VALUES = {
    P1: {"t.x": (0.9, 0.5, 0.1), "t.y": (0.5, 0.1, 0.3), "t.z": (0.5, 0.5, 0.5)},
    P2: {"t.x": (0.3, 0.3, 0.3), "t.y": (0.2, np.nan, 0.6), "t.z": (0.0, 1.0, None)},
}
REGIONS = pd.DataFrame({"region_id": ["P", "A", "B", "C"], "parent_id": [None, "P", "P", "P"],
                        "level": ["province", "county", "county", "county"]})


def fake_table() -> pd.DataFrame:
    rows = []
    for period, indicators in VALUES.items():
        for ind, values in indicators.items():
            for region, v in zip("ABC", values):
                if v is not None:
                    rows.append({"indicator": ind, "region": region, "period": period, "value": v})
            # the province and rows that are not overall must be left out
            rows.append({"indicator": ind, "region": "P", "period": period, "value": 10.0})
            rows.append({"indicator": ind, "region": "A", "period": period, "value": -5.0,
                         "group_by": "hukou", "group": "local"})
            rows.append({"indicator": ind, "region": "A", "period": period, "value": -5.0,
                         "service_type": "care"})
    table = pd.DataFrame(rows)
    for col in COLUMNS:
        if col not in table.columns:
            table[col] = False if col == "suppressed" else np.nan if col in ("numerator", "denominator", "ci_low",
                                                                              "ci_high", "n", "se", "df") else ""
    table[["group_by", "group", "service_type"]] = table[["group_by", "group", "service_type"]].fillna("")
    table["family"] = "t"
    return table[COLUMNS]


def config(x=2, y=1, z=1, index="t.idx") -> dict:
    return {"indices": [{"id": index, "name_zh": "测试指数", "name_en": "Test index",
                         "components": [{"indicator": "t.x", "weight": x}, {"indicator": "t.y", "weight": y},
                                        {"indicator": "t.z", "weight": z}]}]}


def counties(**kw):
    return dict(directions=DIRECTIONS, regions=REGIONS, level="county", **kw)


def test_scores_flip_lower_is_better_and_tie_at_50():
    scores = component_scores(fake_table(), config(), **counties()).set_index(["indicator", "period", "region"])
    scores = scores.sort_index()
    assert scores.loc[("t.x", P1), "score"].tolist() == [100.0, 50.0, 0.0]
    assert scores.loc[("t.y", P1), "score"].tolist() == [0.0, 100.0, 50.0]  # lower is better: flipped
    assert scores.loc[("t.z", P1), "score"].tolist() == [50.0, 50.0, 50.0]  # all equal
    assert scores.loc[("t.x", P2), "score"].tolist() == [50.0, 50.0, 50.0]
    assert np.isnan(scores.loc[("t.y", P2, "B"), "score"])
    assert set(scores.index.get_level_values("region")) == {"A", "B", "C"}


def test_index_values_by_hand():
    got = composite_indices(fake_table(), config(x=2, y=1, z=1), **counties())
    assert list(got.columns) == ["index", "region", "period", "value", "components_used", "components_total",
                                 "missing"]
    got = got.set_index(["period", "region"])
    # P1: A (2*100 + 0 + 50)/4, B (2*50 + 100 + 50)/4 (a tie with A), C (0 + 50 + 50)/4
    assert got.loc[P1, "value"].tolist() == [62.5, 62.5, 25.0]
    assert got.loc[P1, "components_used"].tolist() == [3, 3, 3]
    # P2: A (2*50 + 100 + 0)/4; B lacks t.y: (2*50 + 100)/3; C lacks t.z: (2*50 + 0)/3
    assert got.loc[P2, "value"].tolist() == pytest.approx([50.0, 200 / 3, 100 / 3])
    assert got.loc[P2, "components_used"].tolist() == [3, 2, 2]
    assert got.loc[P2, "missing"].tolist() == ["", "t.y", "t.z"]
    assert (got["components_total"] == 3).all()


def test_index_from_results_object_and_csv_round_trip(tmp_path):
    table = fake_table()
    base = composite_indices(table, config(), **counties())
    pd.testing.assert_frame_equal(composite_indices(IndicatorResults(table), config(), **counties()), base)
    path = tmp_path / "ind.csv"
    table.to_csv(path, index=False)  # empty group_by comes back as NaN
    pd.testing.assert_frame_equal(composite_indices(pd.read_csv(path), config(), **counties()), base)


def test_regions_compared():
    table = fake_table()
    by_level = composite_indices(table, config(), **counties())
    by_list = composite_indices(table, config(), directions=DIRECTIONS, regions=["A", "B", "C"])
    pd.testing.assert_frame_equal(by_level, by_list)
    everyone = composite_indices(table, config(), directions=DIRECTIONS)
    assert set(everyone.region) == {"P", "A", "B", "C"}  # the province then sets the scale
    # P, 10 everywhere, is best on t.x and t.z and worst on t.y: (2*100 + 0 + 100)/4
    assert everyone.set_index(["period", "region"]).loc[(P1, "P"), "value"] == 75.0
    with pytest.raises(ValueError, match="level needs regions"):
        composite_indices(table, config(), directions=DIRECTIONS, level="county")
    with pytest.raises(ValueError, match="no region at level 'town'"):
        composite_indices(table, config(), directions=DIRECTIONS, regions=REGIONS, level="town")
    with pytest.raises(ValueError, match="no overall rows"):
        composite_indices(table, config(), directions=DIRECTIONS, regions=["Z"])


def test_weights_zero_and_suppressed_cells():
    table = fake_table()
    got = composite_indices(table, config(x=1, y=0, z=0), **counties()).set_index(["period", "region"])
    assert got.loc[P1, "value"].tolist() == [100.0, 50.0, 0.0]  # t.x alone
    assert (got["components_total"] == 1).all()
    table.loc[(table.indicator == "t.x") & (table.region == "C") & (table.period == P1), "suppressed"] = True
    dropped = composite_indices(table, config(x=1, y=0, z=0), drop_suppressed=True, **counties())
    dropped = dropped.set_index(["period", "region"])
    assert dropped.loc[P1, "value"].tolist()[:2] == [100.0, 0.0]  # rescaled between A and B only
    assert np.isnan(dropped.loc[(P1, "C"), "value"]) and dropped.loc[(P1, "C"), "components_used"] == 0
    # the only weighted component suppressed everywhere (complementary suppression can do
    # that in small counties): blank indices, not an error
    table.loc[table.indicator == "t.x", "suppressed"] = True
    blank = composite_indices(table, config(x=1, y=0, z=0), drop_suppressed=True, **counties())
    assert len(blank) and blank["value"].isna().all() and (blank["components_used"] == 0).all()


def test_directions_from_a_catalogue():
    catalogue = {k: SimpleNamespace(direction=v) for k, v in DIRECTIONS.items()}
    via_catalogue = composite_indices(fake_table(), config(), catalogue=catalogue, regions=REGIONS, level="county")
    pd.testing.assert_frame_equal(via_catalogue, composite_indices(fake_table(), config(), **counties()))
    with pytest.raises(ValueError, match="t.y is not in the catalogue"):
        composite_indices(fake_table(), config(), directions={"t.x": "higher"}, catalogue={})
    with pytest.raises(ValueError, match="direction of t.x"):
        composite_indices(fake_table(), config(), directions={**DIRECTIONS, "t.x": "up"})


def test_sensitivity_dropping_a_component_swaps_two_regions():
    table = fake_table()
    # equal weights, P1: A (100 + 0 + 50)/3 = 50, B (50 + 100 + 50)/3 = 66.7, C (0 + 50 + 50)/3 = 33.3
    # -> B 1, A 2, C 3; without t.y: A (100 + 50)/2 = 75, B 50, C 25 -> A and B swap
    out = sensitivity(table, config(x=1, y=1, z=1), **counties())
    assert list(out.columns) == ["index", "period", "scenario", "regions", "spearman", "max_rank_change",
                                 "moved_most"]
    p1 = out[out.period == P1].set_index("scenario")
    assert list(p1.index) == ["equal", "without:t.x", "without:t.y", "without:t.z",
                              "double:t.x", "double:t.y", "double:t.z"]
    swap = p1.loc["without:t.y"]
    # Spearman with one swap of neighbours among 3: 1 - 6 * 2 / (3 * (9 - 1)) = 0.5
    assert (swap.regions, swap.spearman, swap.max_rank_change, swap.moved_most) == (3, 0.5, 1, "A;B")
    assert (p1.loc["without:t.z", "spearman"], p1.loc["without:t.z", "max_rank_change"]) == (1.0, 0)
    assert p1.loc["without:t.z", "moved_most"] == ""
    # doubling t.x ties A with B at 62.5 (both rank 1): average ranks give rho = 1.5 / sqrt(2 * 1.5)
    doubled = p1.loc["double:t.x"]
    assert doubled.spearman == pytest.approx(1.5 / np.sqrt(3))
    assert (doubled.max_rank_change, doubled.moved_most) == (1, "A")

    ranks = rank_table(table, "t.idx", P1, config(x=1, y=1, z=1), **counties())
    assert list(ranks.index) == ["B", "A", "C"]
    assert ranks["base"].tolist() == [1, 2, 3]
    assert ranks["without:t.y"].tolist() == [2, 1, 3]
    assert ranks.loc[["A", "B"], "double:t.x"].tolist() == [1, 1]  # ties share the best rank


def test_sensitivity_with_alternative_weights():
    table = fake_table()
    alternatives = {"no_x": {"t.x": 0}, "other_index_only": {"u.q": 3}}
    out = sensitivity(table, config(x=1, y=1, z=1), alternatives=alternatives, **counties())
    assert set(out.scenario) == {"no_x"}  # alternatives replace the defaults; u.q is in no index here
    no_x = out[out.period == P1].iloc[0]
    # without t.x: A (0 + 50)/2 = 25, B 75, C 50 -> B 1, C 2, A 3: A and C swap
    assert (no_x.spearman, no_x.max_rank_change, no_x.moved_most) == (0.5, 1, "A;C")
    with pytest.raises(ValueError, match="'base' is the configured weights"):
        sensitivity(table, config(), alternatives={"base": {"t.x": 1}}, **counties())
    with pytest.raises(ValueError, match="non-negative"):
        sensitivity(table, config(), alternatives={"neg": {"t.x": -1}}, **counties())
    with pytest.raises(ValueError, match="no index 'nope'"):
        rank_table(table, "nope", P1, config(), **counties())


def test_packaged_config():
    cfg = load_composite_config()
    weights = index_weights(cfg)
    assert list(weights) == ["coordination.consistency_index", "coordination.coordination_index",
                             "coordination.integration_index"]
    assert [len(w) for w in weights.values()] == [3, 6, 4]
    assert all(v == 1.0 for w in weights.values() for v in w.values())  # equal by default
    for ix in cfg["indices"]:
        assert ix["name_zh"].endswith("指数") and ix["description_zh"] and ix["description_en"]


def write(tmp_path, text):
    path = tmp_path / "weights.yaml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """
indices:
  - id: my.index
    name_zh: 我的指数
    name_en: My index
    components:
      - {indicator: t.x, weight: 2}
      - {indicator: t.y, weight: 1}
"""


@pytest.mark.parametrize("text, message", [
    (GOOD.replace("weight: 2", "weight: -2"), r"indices\[0\] \(my.index\)\.components\[0\] \(t.x\)\.weight: weights must be non-negative"),
    (GOOD.replace("weight: 2", "weight: two"), r"components\[0\] \(t.x\)\.weight: expected a number"),
    (GOOD.replace("weight: 2", "weight: 0").replace("weight: 1", "weight: 0"), "weights sum to 0"),
    (GOOD.replace("t.y", "t.x"), r"components\[1\] \(t.x\)\.indicator: listed twice"),
    (GOOD.replace("name_en: My index", "colour: red"), "missing key 'name_en'"),
    (GOOD.replace("name_en: My index", "name_en: My index\n    colour: red"), r"my.index\)\.colour: unknown key"),
    (GOOD + "weights: {}\n", "weights: unknown key"),
    ("indices: []\n", "indices: expected a non-empty list"),
    ("indices:\n  - id: a\n    name_zh: 甲\n    name_en: A\n    components: []\n", "expected a non-empty list of"),
    ("indices: [\n", "not valid YAML"),
    ("- 1\n- 2\n", "expected a mapping with the key 'indices'"),
])
def test_config_errors_name_the_file_and_key(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as info:
        load_composite_config(path)
    assert str(info.value).startswith(str(path))


def test_config_from_file_and_dict(tmp_path):
    cfg = load_composite_config(write(tmp_path, GOOD))
    assert index_weights(cfg) == {"my.index": {"t.x": 2.0, "t.y": 1.0}}
    assert index_weights({"indices": [{"id": "i", "name_zh": "指", "name_en": "I",
                                       "components": {"t.x": 1}}]}) == {"i": {"t.x": 1.0}}
    got = composite_indices(fake_table(), write(tmp_path, GOOD), **counties())
    assert got.loc[(got.period == P1) & (got.region == "A"), "value"].item() == pytest.approx(200 / 3)
    with pytest.raises(ConfigError, match="no such file"):
        load_composite_config(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="duplicate index id"):
        index_weights({"indices": [config()["indices"][0], config()["indices"][0]]})


def test_component_without_overall_rows():
    table = fake_table()
    table = table[~((table.indicator == "t.z") & (table.service_type == ""))]
    with pytest.raises(ValueError, match="t.z have no overall row"):
        composite_indices(table, config(), **counties())


def test_neutral_component_is_refused_with_a_clear_error(tmp_path):
    """A descriptive indicator (catalogue direction: neutral, e.g. the need rate) has no
    better way, so it cannot be scored 0-100: a configuration listing it is refused when
    loaded, naming the file and the component, and so is a direction given as neutral."""
    path = write(tmp_path, GOOD.replace("t.y", "access.need_rate"))
    with pytest.raises(ConfigError, match=r"components\[1\] \(access.need_rate\)\.indicator: access.need_rate is "
                                          r"descriptive \(direction: neutral"):
        load_composite_config(path)
    with pytest.raises(ConfigError, match="neutral"):
        composite_indices(fake_table(), config(), directions={**DIRECTIONS, "t.z": "neutral"},
                          regions=REGIONS, level="county")
    for index in load_composite_config()["indices"]:  # the packaged indices hold none
        for component in index["components"]:
            assert component["indicator"] != "access.need_rate"


def test_region_without_data_is_skipped_not_scored():
    """A county whose rows are all blank (no household: value NaN, n 0) scores nothing:
    its index is NaN with every component missing, it has no rank, and the others' min-max
    scores are those without it (A, B, C as in test_index_values_by_hand)."""
    table = fake_table()
    blank = table[(table.region == "A") & (table.group_by == "") & (table.service_type == "")].assign(
        region="D", value=np.nan, n=0, suppressed=True, note="no household in this region")
    regions = pd.concat([REGIONS, pd.DataFrame({"region_id": ["D"], "parent_id": ["P"], "level": ["county"]})])
    with_d = composite_indices(pd.concat([table, blank], ignore_index=True), config(), directions=DIRECTIONS,
                               regions=regions, level="county")
    without = composite_indices(table, config(), **counties())
    d = with_d[with_d.region == "D"]
    assert d["value"].isna().all() and (d["components_used"] == 0).all()
    assert (d["missing"] == "t.x;t.y;t.z").all()
    pd.testing.assert_frame_equal(with_d[with_d.region != "D"].reset_index(drop=True), without)
    ranks = rank_table(pd.concat([table, blank], ignore_index=True), "t.idx", P1, config(), directions=DIRECTIONS,
                       regions=regions, level="county")
    assert ranks.loc["D", "base"] is pd.NA
