"""Indicators on the tiny package equal values computed by hand (see conftest.py)."""
import json
import math

import numpy as np
import pandas as pd
import pytest

import evalkit


@pytest.fixture
def results(tiny):
    return evalkit.compute(evalkit.load(tiny), by=["hukou"], min_cell=3)


def cell(res, indicator, service, region, period, group_by="", group=""):
    t = res.table
    row = t[(t.indicator == indicator) & (t.service_type == service) & (t.region == region)
            & (t.period == period) & (t.group_by == group_by) & (t.group == group)]
    assert len(row) == 1, row
    return row.iloc[0]


HAND = [
    # indicator, service, region, period, numerator, denominator
    ("access.need_rate", "care", "A", "2024Q1", 3, 4),
    ("access.need_rate", "care", "B", "2024Q1", 1, 2),
    ("access.need_rate", "care", "P", "2024Q1", 4, 6),
    ("access.need_rate", "medical", "A", "2024Q1", 1, 4),
    ("access.need_rate", "medical", "B", "2024Q1", 0, 2),
    ("access.need_rate", "medical", "P", "2024Q1", 1, 6),
    ("access.need_rate", "medical", "B", "2024Q2", 1, 2),
    ("access.accessibility_rate", "care", "A", "2024Q1", 2, 3),
    ("access.accessibility_rate", "care", "B", "2024Q1", 1, 1),  # two needs, one says nearby
    ("access.accessibility_rate", "care", "P", "2024Q1", 3, 4),
    ("access.availability_rate", "care", "A", "2024Q1", 2, 3),  # cash aid to h2 does not count
    ("access.availability_rate", "care", "B", "2024Q1", 0, 1),  # h5's care starts next quarter
    ("access.availability_rate", "care", "P", "2024Q1", 2, 4),
    ("access.availability_rate", "medical", "A", "2024Q1", 1, 1),  # open-ended record
    ("access.availability_rate", "medical", "B", "2024Q2", 1, 1),
    ("access.unmet_need_rate", "care", "A", "2024Q1", 1, 4),  # h2 needed care, got only cash
    ("access.unmet_need_rate", "care", "B", "2024Q1", 1, 2),
    ("access.unmet_need_rate", "care", "P", "2024Q1", 2, 6),
    ("access.unmet_need_rate", "medical", "A", "2024Q1", 0, 4),
    ("access.coverage_rate", "", "A", "2024Q1", 2, 3),  # h1, h3 served; h2 not
    ("access.coverage_rate", "", "B", "2024Q1", 0, 1),
    ("access.coverage_rate", "", "P", "2024Q1", 2, 4),
    ("access.coverage_rate", "", "B", "2024Q2", 1, 1),
    ("access.unserved_rate", "", "A", "2024Q1", 1, 3),
    ("access.unserved_rate", "", "B", "2024Q1", 1, 1),
    ("access.unserved_rate", "", "P", "2024Q1", 2, 4),
]


@pytest.mark.parametrize("indicator,service,region,period,num,den", HAND)
def test_hand_computed_rates(results, indicator, service, region, period, num, den):
    row = cell(results, indicator, service, region, period)
    assert (row.numerator, row.denominator) == (num, den)
    assert row.value == pytest.approx(num / den)
    assert row.n == den


def test_wilson_interval_matches_the_formula(results):
    row = cell(results, "access.accessibility_rate", "care", "A", "2024Q1")
    z, n, p = 1.959963984540054, 3, 2 / 3
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert row.ci_low == pytest.approx(centre - half)
    assert row.ci_high == pytest.approx(centre + half)


def test_by_group_hand_values(results):
    local = cell(results, "access.availability_rate", "care", "A", "2024Q1", "hukou", "local")
    migrant = cell(results, "access.availability_rate", "care", "A", "2024Q1", "hukou", "migrant")
    assert (local.numerator, local.denominator) == (1, 2)
    assert (migrant.numerator, migrant.denominator) == (1, 1)
    # published comparisons blank every row that involves a small cell; the full ones keep it
    published = results.difference("hukou", reference="local")
    assert published[published.suppressed]["difference"].isna().all() and published.suppressed.any()
    diff = results.difference("hukou", reference="local", published=False)
    d = diff[(diff.indicator == "access.availability_rate") & (diff.service_type == "care")
             & (diff.region == "A") & (diff.period == "2024Q1") & (diff.group == "migrant")]
    assert d["difference"].item() == pytest.approx(0.5)
    r = results.ratio("hukou", published=False)  # against the overall value 2/3
    r = r[(r.indicator == "access.availability_rate") & (r.service_type == "care")
          & (r.region == "A") & (r.period == "2024Q1") & (r.group == "local")]
    assert r["ratio"].item() == pytest.approx(0.5 / (2 / 3))


def test_undefined_rate_is_nan_with_a_reason_not_zero(results):
    row = cell(results, "access.availability_rate", "medical", "B", "2024Q1")
    assert np.isnan(row.value) and row.denominator == 0
    assert row.note == "no household in the denominator"
    assert row.suppressed


def test_periods_span_all_dated_records(tiny):
    pkg = evalkit.load(tiny)
    assert pkg.frequency == "quarter"
    assert pkg.periods == ["2023Q2", "2023Q3", "2023Q4", "2024Q1", "2024Q2"]


def test_small_cells_are_flagged_and_blanked_only_when_published(results):
    row = cell(results, "access.need_rate", "care", "B", "2024Q1")
    assert row.suppressed and row.value == pytest.approx(0.5)  # kept for computation
    pub = results.published()
    same = pub[(pub.indicator == "access.need_rate") & (pub.service_type == "care") & (pub.region == "B")
               & (pub.period == "2024Q1") & (pub.group_by == "")]
    assert same["value"].isna().all() and same["numerator"].isna().all()
    # the parent region still counts the small county's households
    assert cell(results, "access.need_rate", "care", "P", "2024Q1").denominator == 6


def test_region_and_period_filters(tiny):
    res = evalkit.compute(evalkit.load(tiny), region="A", period="2024q1")
    assert set(res.table.region) == {"A"} and set(res.table.period) == {"2024Q1"}
    with pytest.raises(ValueError, match="region 'Z'"):
        evalkit.compute(evalkit.load(tiny), region="Z")
    with pytest.raises(ValueError, match="outside"):
        evalkit.compute(evalkit.load(tiny), period="2030Q1")
    with pytest.raises(ValueError, match="cannot group by id_number"):
        evalkit.compute(evalkit.load(tiny), by=["id_number"])


def test_indicators_needing_absent_tables_are_skipped_with_reason(tiny):
    (tiny / "assistance.csv").unlink()
    res = evalkit.compute(evalkit.load(tiny))
    assert "access.availability_rate" in res.skipped
    assert "assistance" in res.skipped["access.availability_rate"]
    assert "access.availability_rate" not in set(res.table.indicator)
    assert "access.need_rate" in set(res.table.indicator)


def test_receipt_forms_are_configurable(tiny):
    res = evalkit.compute(evalkit.load(tiny), params={"receipt_forms": ("service", "in_kind", "cash")})
    row = cell(res, "access.availability_rate", "care", "A", "2024Q1")
    assert (row.numerator, row.denominator) == (3, 3)  # h2's cash now counts


def with_empty_county(directory):
    """The tiny package with a third county C under P that has no household and no record,
    and two service points in A (one published) and none in B or C."""
    regions = pd.read_csv(directory / "regions.csv", encoding="utf-8")
    extra = pd.DataFrame({"区划代码": ["C"], "地区名称": ["丙县"], "上级区划代码": ["P"], "层级": ["county"],
                          "改革起始期": [None]})
    pd.concat([regions, extra], ignore_index=True).to_csv(directory / "regions.csv", index=False, encoding="utf-8")
    pd.DataFrame({"站点编号": ["s1", "s2"], "区县": ["A", "A"], "已发布": ["是", "否"]}).to_csv(
        directory / "service_points.csv", index=False, encoding="utf-8")
    return directory


def test_region_without_households_gets_blank_rows_with_a_note(tiny):
    """County C has no household, record or service point; A has s1 (published) and s2 (not).

    By hand: every computed indicator has a row for C in each of the package's 5 periods
    (2023Q2-2024Q2) and, for per-type indicators, each service type: value, se, interval
    NaN, numerator, denominator and n 0, note "no household in this region"; no hukou rows
    for C (it has no groups to show). P's figures are unchanged (need rate, care, 2024Q1:
    4/6). The resource publication rate (region-level units) is A 1/2, P 1/2, and blank in
    B and C with "no service point in this region" (C has rows although it has no household).
    """
    from evalkit.data.schema import SERVICE_TYPES

    res = evalkit.compute(evalkit.load(with_empty_county(tiny)), by=["hukou"], min_cell=3)
    t = res.table
    c = t[t.region == "C"]
    household_level = c[c.indicator != "coordination.resource_publication_rate"]
    assert set(household_level.indicator) == set(t.indicator) - {"coordination.resource_publication_rate"}
    assert set(c.group_by) == {""}
    for ind, rows in household_level.groupby("indicator"):
        types = list(SERVICE_TYPES) if rows.service_type.iloc[0] else [""]
        assert len(rows) == 5 * len(types), ind
        assert set(rows.period) == {"2023Q2", "2023Q3", "2023Q4", "2024Q1", "2024Q2"}
    assert household_level[["value", "se", "df", "ci_low", "ci_high"]].isna().all().all()
    assert (household_level[["numerator", "denominator", "n"]] == 0).all().all()
    assert (household_level.note == "no household in this region").all()
    need = cell(res, "access.need_rate", "care", "P", "2024Q1")
    assert (need.numerator, need.denominator) == (4, 6)
    pub = t[(t.indicator == "coordination.resource_publication_rate") & (t.period == "2024Q1")].set_index("region")
    assert pub.loc["A", "value"] == pytest.approx(0.5) and pub.loc["P", "value"] == pytest.approx(0.5)
    for region in ("B", "C"):
        assert np.isnan(pub.loc[region, "value"]) and pub.loc[region, "denominator"] == 0
        assert pub.loc[region, "note"] == "no service point in this region"
    # the region filter keeps a subtree: C alone still gets its rows
    alone = evalkit.compute(evalkit.load(tiny), region="C", period="2024Q1").table
    assert set(alone.region) == {"C"} and alone.value.isna().all() and len(alone) == len(
        t[(t.region == "C") & (t.period == "2024Q1")])


def test_one_definition_of_received_for_access_and_omission(tiny):
    """h2 (county A) needed care on 2024-01-12 and got only cash care aid (a3, 2024-01-20).

    Default receipt forms (service, in kind): h2 did not receive care, in both families.
    - access.availability_rate, care, A, 2024Q1: h1 (service), h3 (in kind, to 01-05) of
      h1 h2 h3 -> 2/3;
    - coordination.omitted_need_rate, care, A, 2024Q1: n1 (h1, 01-10) addressed by a1
      (01-15..02-15); n2 (h2) omitted; n3 (h3, 02-03) omitted: a2 ended 01-05 -> 2/3.
    With receipt_forms cash,service,in_kind, h2's cash counts in both: availability 3/3,
    omitted 1/3 (n3 only). Extracted on 2024-06-30, so every 90-day window has ended.
    """
    descriptor = tiny / "datapackage.json"
    descriptor.write_text(json.dumps({**json.loads(descriptor.read_text()), "extracted_on": "2024-06-30"}))
    pkg = evalkit.load(tiny)
    ids = ["access.availability_rate", "coordination.omitted_need_rate"]
    for forms, available, omitted in ((None, 2, 2), ("cash,service,in_kind", 3, 1)):
        res = evalkit.compute(pkg, indicators=ids, params={"receipt_forms": forms} if forms else None)
        row = cell(res, "access.availability_rate", "care", "A", "2024Q1")
        assert (row.numerator, row.denominator) == (available, 3)
        row = cell(res, "coordination.omitted_need_rate", "care", "A", "2024Q1")
        assert (row.numerator, row.denominator) == (omitted, 3)


def test_n_excluded_is_a_count_and_older_tables_load(results):
    """The tiny package has no providers and no sector column: every aid record's sector is
    unknown, so the charity funding share leaves all records out, e.g. county A in 2024Q1
    a1 (starts 01-15) and a3 (01-20): 0/0 with n_excluded 2. Nothing else is left out."""
    t = results.table
    assert list(t.columns).index("n_excluded") == list(t.columns).index("n") + 1
    assert t.n_excluded.dtype == "int64"
    share = cell(results, "coordination.charity_funding_share", "", "A", "2024Q1")
    assert (share.denominator, share.n_excluded) == (0, 2) and math.isnan(share.value)
    assert (t[t.indicator != "coordination.charity_funding_share"].n_excluded == 0).all()
    older = evalkit.IndicatorResults(t.drop(columns="n_excluded"))
    assert (older.table.n_excluded == 0).all()
