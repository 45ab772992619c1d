"""Scorecard logic on tiny frames: targets, status, gap, trend, improvement plan; display helpers."""
import json
import math

import numpy as np
import pandas as pd
import pytest

from evalkit.errors import ParameterError
from evalkit.indicators.catalogue import load_catalogue
from evalkit.report import charts, present, scorecard
from evalkit.report.batch import worker_count
from evalkit.report.data import ReportData, load_data, save_data
from evalkit.report.execute import find_templates
from evalkit.report.parameters import check_parameters
from evalkit.report.text import format_gap, format_interval, format_value
from evalkit.results.indicator_results import COLUMNS

pytestmark = pytest.mark.filterwarnings("error:Glyph .* missing")  # tofu in a chart fails the test

AVAIL, COVER, NEED = "access.availability_rate", "access.coverage_rate", "access.need_rate"


def row(indicator, service_type, period, value, lo=None, hi=None, n=100, region="A", group_by="", group=""):
    cat = load_catalogue()
    return {"indicator": indicator, "family": cat[indicator].family, "service_type": service_type,
            "region": region, "period": period, "group_by": group_by, "group": group, "value": value,
            "numerator": np.nan if value is None else value * n, "denominator": n,
            "ci_low": value - 0.05 if lo is None and value is not None else lo,
            "ci_high": value + 0.05 if hi is None and value is not None else hi,
            "se": np.nan if value is None else 0.05 / 1.96, "df": n - 1.0, "interval": "wilson",
            "n": n, "n_excluded": 0, "n_censored": 0, "incomplete": False, "suppressed": value is None, "note": ""}


@pytest.fixture
def table():
    rows = [
        row(AVAIL, "care", "2024Q1", 0.50),
        row(AVAIL, "care", "2024Q2", 0.66, 0.64, 0.68),        # target 0.7: within 10% -> amber; +16 pp improving
        row(AVAIL, "medical", "2024Q1", 0.40),
        row(AVAIL, "medical", "2024Q2", 0.30, 0.25, 0.35),     # red, worst gap -40 pp; worsening
        row(AVAIL, "legal_aid", "2024Q2", None, n=4),          # suppressed small cell
        row(COVER, "", "2024Q1", 0.85),
        row(COVER, "", "2024Q2", 0.86, 0.80, 0.90),            # target 0.8 -> green; previous inside CI -> stable
        row(NEED, "care", "2024Q2", 0.12),                     # no target
        row(AVAIL, "care", "2024Q2", 0.10, region="B"),        # another region: ignored
        row(AVAIL, "care", "2024Q2", 0.20, group_by="hukou", group="migrant"),  # a group row: ignored
    ]
    return pd.DataFrame(rows)[COLUMNS]


def test_rag_status_is_direction_aware_with_tolerance_and_interval():
    assert scorecard.rag_status(0.70, 0.7, "higher") == "green"
    assert scorecard.rag_status(0.63, 0.7, "higher") == "amber"          # exactly 10% of the target short
    assert scorecard.rag_status(0.62, 0.7, "higher") == "red"
    assert scorecard.rag_status(0.62, 0.7, "higher", 0.55, 0.71) == "amber"  # CI reaches the target
    assert scorecard.rag_status(0.25, 0.2, "lower") == "red"
    assert scorecard.rag_status(0.21, 0.2, "lower") == "amber"
    assert scorecard.rag_status(0.10, 0.2, "lower") == "green"
    assert scorecard.rag_status(0.5, None, "higher") == "no_target"
    assert scorecard.rag_status(np.nan, 0.7, "higher", suppressed=True) == "suppressed"
    assert scorecard.rag_status(np.nan, 0.7, "higher") == "no_data"
    assert scorecard.signed_gap(0.3, 0.7, "higher") == pytest.approx(-0.4)
    assert scorecard.signed_gap(0.3, 0.2, "lower") == pytest.approx(-0.1)


def test_scorecard_rows_status_gap_and_trend(table):
    card = scorecard.scorecard(table, scorecard.default_targets(), "A", "2024Q2")
    assert list(card.columns) == scorecard.CARD_COLUMNS
    by = card.set_index(["indicator", "service_type"])
    care, med, cover = by.loc[(AVAIL, "care")], by.loc[(AVAIL, "medical")], by.loc[(COVER, "")]
    assert (care.status, med.status, cover.status) == ("amber", "red", "green")
    assert care.gap == pytest.approx(-0.04) and med.gap == pytest.approx(-0.40) and cover.gap == pytest.approx(0.06)
    assert care.previous == 0.50 and care.change == pytest.approx(0.16) and care.trend == "improving"
    assert med.trend == "worsening"
    assert cover.trend == "stable"  # 0.85 lies inside this period's 0.80-0.90
    assert by.loc[(AVAIL, "legal_aid")].status == "suppressed"
    assert by.loc[(NEED, "care")].status == "descriptive" and math.isnan(by.loc[(NEED, "care")].gap)
    assert len(card) == 5  # other region and group rows left out
    assert scorecard.status_counts(card) == {"green": 1, "amber": 1, "red": 1, "none": 2}


def test_targets_override_defaults(table, tmp_path):
    path = tmp_path / "targets.yaml"
    path.write_text(f"# assessor's targets\n{AVAIL}: 0.3\n{COVER}: null\n", encoding="utf-8")
    targets = scorecard.load_targets(path)
    assert targets[AVAIL] == 0.3 and targets[COVER] is None
    assert targets["access.unserved_rate"] == load_catalogue()["access.unserved_rate"].target  # default kept
    card = scorecard.scorecard(table, targets, "A", "2024Q2").set_index(["indicator", "service_type"])
    assert card.loc[(AVAIL, "medical")].status == "green"
    assert card.loc[(COVER, "")].status == "no_target"
    as_json = tmp_path / "targets.json"
    as_json.write_text(json.dumps({AVAIL: 0.9}))
    assert scorecard.load_targets(as_json)[AVAIL] == 0.9


@pytest.mark.parametrize("text, message", [
    ("access.nope: 0.5\n", "unknown indicator 'access.nope'"),
    (f"{AVAIL}: 70\n", "between 0 and 1"),
    (f"{AVAIL}: high\n", "must be a number or null"),
    (f"{AVAIL}: true\n", "must be a number or null"),
    ("- 1\n- 2\n", "expected a mapping"),
    ("a: [\n", "not valid YAML"),
    (f"{NEED}: 0.1\n", f"{NEED}: a descriptive indicator .*takes no target"),
])
def test_bad_targets_files_are_named(tmp_path, text, message):
    path = tmp_path / "t.yaml"
    path.write_text(text)
    with pytest.raises(scorecard.TargetsError, match=message.replace("(", r"\(").replace("[", r"\[")):
        scorecard.read_targets(path)


def test_improvement_plan_one_row_per_indicator_with_responsible_side(table):
    """Availability is short in care (amber, 0.66) and medical (red, 0.30): one row, shown
    at medical (the worst), naming both; coverage 0.86 against 0.95 is another row."""
    targets = {**scorecard.default_targets(), "access.coverage_rate": 0.95}
    plan = scorecard.improvement_plan(table, targets, "A", "2024Q2", lang="en")
    assert list(plan.columns) == scorecard.PLAN_COLUMNS
    assert list(plan["indicator"]) == [AVAIL, COVER]  # 0.40 x 100 = 40 before 0.09 x 100 = 9
    first = plan.iloc[0]
    assert first.service_type == "medical" and first.gap == pytest.approx(-0.4)
    assert first.short_types == ["medical", "care"] and first.priority == pytest.approx(40)
    cat = load_catalogue()
    assert first.responsible == cat[AVAIL].responsible and first.action == cat[AVAIL].action_en
    assert plan.iloc[1].responsible == "government" and plan.iloc[1].review_date == "2024-09-30"
    zh = present.plan_frame(scorecard.improvement_plan(table, targets, "A", "2024Q2"), "zh")
    assert list(zh.columns) == ["序号", "问题", "现状（95%区间）", "目标值", "与目标差距", "涉及", "判断", "责任方",
                                "建议整改措施", "复核日期"]
    assert zh.iloc[0].tolist()[:8] == ["1", "可得率（差距最大的服务类型：医疗、照料护理）（2024Q2期）",
                                       "30.0%（25.0% – 35.0%）", "70.0%", "-40.0个百分点", "100 户", "未达标",
                                       "政府与慈善联合"]
    assert zh.iloc[0]["建议整改措施"] == cat[AVAIL].action_zh


def test_no_plan_when_everything_meets_its_target(table):
    assert scorecard.improvement_plan(table, {AVAIL: 0.1, COVER: 0.1}, "A", "2024Q2").empty


def test_scorecard_needs_the_region_and_period(table):
    with pytest.raises(ValueError, match="no results for region 'A' in period '2030Q1'"):
        scorecard.scorecard(table, {}, "A", "2030Q1")


def test_formats():
    assert format_value(0.2805, "rate", "zh") == "28.1%"
    assert format_value(np.nan, "rate", "en") == "—"
    assert format_value(7.2812, "km", "zh") == "7.28公里" and format_value(7.2812, "km", "en") == "7.28 km"
    assert format_value(3.25, "days", "en") == "3.2 days"
    assert format_gap(0.0123, "rate", "zh") == "+1.2个百分点"
    assert format_gap(-1.5, "km", "en") == "-1.50 km"
    assert format_interval(0.1, 0.2, "rate", "en") == "10.0% – 20.0%"


def test_scorecard_frame_uses_catalogue_names_in_both_languages(table):
    card = scorecard.scorecard(table, scorecard.default_targets(), "A", "2024Q2")
    zh = present.scorecard_frame(card, "zh")
    en = present.scorecard_frame(card, "en")
    assert zh.columns[0] == "指标" and en.columns[0] == "Indicator"
    first_zh = zh.iloc[0].tolist()
    assert first_zh[:7] == ["可得率", "照料护理", "66.0%", "64.0% – 68.0%", "70.0%", "-4.0个百分点", "接近目标"]
    assert en.iloc[0].tolist()[:3] == ["Availability rate", "Care", "66.0%"]
    # the trend carries its scale: first and last values with their unit, never a min-max shape
    assert zh.iloc[0]["趋势"] == "50.0% → 66.0%" and en.iloc[0]["Trend"] == "50.0% → 66.0%"
    assert zh.iloc[0]["较上期变化"] == "+16.0个百分点 ↑ 改善" and en.iloc[0]["Change on previous period"] == "+16.0 pp ↑ improving"
    assert zh.iloc[0]["较去年同期变化"] == "—"  # not tested: no flag_changes
    assert zh.iloc[2]["趋势"] == "—"  # legal aid: one (suppressed) period, nothing to span


def test_html_table_escapes_and_badges():
    frame = pd.DataFrame({"a": ["<b>&"], "s": ["ok"]})
    out = present.html_table(frame, badges={"s": ["green"]}, numeric=("s",))
    assert "&lt;b&gt;&amp;" in out and '<td class="num"><span class="badge badge-green">ok</span></td>' in out


def test_charts_draw_chinese_and_refuse_tofu():
    import matplotlib.pyplot as plt

    assert charts.setup_fonts() == "Noto Sans CJK SC"
    fig = plt.figure()
    fig.text(0.1, 0.5, "可及率与可得率 −12%")
    svg = charts.to_svg(fig)
    assert svg.startswith(b"<?xml") and "可及率与可得率".encode() in svg  # text stays text
    assert charts.to_svg(_text_figure("可得率")) == charts.to_svg(_text_figure("可得率"))  # same bytes
    with pytest.raises(charts.MissingGlyphError, match="missing"):
        charts.to_svg(_text_figure("\ue000"))  # private-use character: no font has it


def test_fonts_registered_when_the_cache_predates_them(monkeypatch):
    from matplotlib import font_manager

    stale = [f for f in font_manager.fontManager.ttflist if "CJK" not in f.name]
    monkeypatch.setattr(font_manager.fontManager, "ttflist", stale)  # as if cached before install
    assert charts.setup_fonts() == "Noto Sans CJK SC"
    assert any(f.name == "Noto Sans CJK SC" for f in font_manager.fontManager.ttflist)
    assert "服务可得率".encode() in charts.to_svg(_text_figure("服务可得率"))


def _text_figure(text):
    import matplotlib.pyplot as plt

    charts.setup_fonts()
    fig = plt.figure(figsize=(2, 1))
    fig.text(0.1, 0.5, text)
    return fig


def test_rag_matrix_and_trend_charts(table):
    card = scorecard.scorecard(table, scorecard.default_targets(), "A", "2024Q2")
    names = present.indicator_names("zh")
    for fig in (charts.rag_matrix(card, names, "zh"),
                charts.trend_panels(scorecard.trend_table(table, "A", "2024Q2"), card, names, "zh")):
        html = charts.figure_html(fig, alt="图")
        assert html.startswith('<figure class="chart"><img alt="图" src="data:image/svg+xml;base64,')


@pytest.mark.parametrize("change, message", [
    ({"min_cell": "10"}, "min_cell must be a JSON integer"),
    ({"min_cell": True}, "min_cell must be a JSON integer"),
    ({"region": ("R00",)}, "region must be a JSON string"),  # papermill would have sent a string
    ({"lang": "fr"}, "lang must be zh or en"),
    ({"min_cell": -1}, "min_cell must be >= 0"),
    ({"region": ""}, "region is empty"),
    ({"results_path": "", "data_path": ""}, "give data_path"),
    ({"targets_path": "/nonexistent/targets.yaml"}, "cannot read targets file /nonexistent"),
    ({"by": "hukou,name"}, "cannot group by name"),
    ({"by": ["hukou"]}, "by must be a JSON string"),
    ({"params": '{"omission_window_days": -1}'}, "omission_window_days must be >= 0"),
    ({"params": '{"colour": 1}'}, "unknown parameter"),
    ({"params": "[30]"}, "params must be a JSON object"),
])
def test_notebook_parameters_are_validated(tmp_path, change, message):
    params = {"data_path": str(tmp_path), "results_path": "", "region": "R00", "period": "", "lang": "zh",
              "targets_path": "", "min_cell": 10, "by": "hukou,urban", "params": '{"omission_window_days": 30}'}
    check_parameters(**params)
    with pytest.raises(ParameterError, match=message):
        check_parameters(**{**params, **change})
    with pytest.raises(ParameterError, match="unknown parameters \\['colour'\\]"):
        check_parameters(**params, colour="red")


def test_results_file_round_trip_and_stricter_suppression(table, tmp_path):
    regions = pd.DataFrame({"region_id": ["A", "B"], "name": ["甲", "乙"], "parent_id": [None, None],
                            "level": ["county", "county"]})
    data = ReportData(table, regions, ["2024Q1", "2024Q2"], "pkg", "quarter", "abc", 3, {"x.y": "why"}, groups=("hukou",))
    path = save_data(data, tmp_path / "results.parquet", extra={"settings": {"k": 1}})
    back = load_data(path)
    pd.testing.assert_frame_equal(back.table, table.reset_index(drop=True), check_dtype=False)
    assert back.region_name("A") == "甲" and back.periods == ["2024Q1", "2024Q2"] and back.skipped == {"x.y": "why"}
    strict = load_data(path, min_cell=200)  # every n is 100: all blanked
    assert strict.table["suppressed"].all() and strict.table["value"].isna().all() and strict.min_cell == 200
    only_b = load_data(path, regions=["B"])
    assert set(only_b.table["region"]) == {"B"}


def test_templates_scorecard_first_then_families_then_the_appendix(tmp_path):
    for name in ("appendix", "coordination", "notes", "access", "scorecard"):
        (tmp_path / f"{name}.py").write_text("# %%\n")
    assert [t.name for t in find_templates(tmp_path)] == ["scorecard", "access", "coordination", "appendix"]
    assert [t.family for t in find_templates(tmp_path)] == [None, "access", "coordination", None]
    shipped = [t.name for t in find_templates()]
    assert shipped[:2] == ["scorecard", "access"] and shipped[-1] == "appendix"


def test_worker_count_respects_tasks_and_request():
    assert worker_count(1) == 1
    assert 1 <= worker_count(100) <= 100
    assert worker_count(10, requested=3) == 3


def test_neutral_indicator_has_value_and_trend_but_no_status_gap_or_plan_row():
    """The need rate is descriptive (direction: neutral). Hand-made: region A, care, need
    rate 0.10 in 2024Q1 and 0.30 in 2024Q2 (interval 0.25-0.35, so 0.10 lies outside it),
    availability 0.30 in 2024Q2 (target 0.7: red). Even when a targets mapping passed in
    code gives the need rate 0.2 (a targets file cannot: test_bad_targets_files_are_named),
    its row has value 0.30, previous 0.10, change +0.20, trend "up" (not "worsening"),
    no target, no gap, status "descriptive"; the plan lists availability only."""
    table = pd.DataFrame([row(NEED, "care", "2024Q1", 0.10), row(NEED, "care", "2024Q2", 0.30, 0.25, 0.35),
                          row(AVAIL, "care", "2024Q2", 0.30)])[COLUMNS]
    targets = {**scorecard.default_targets(), NEED: 0.2}
    card = scorecard.scorecard(table, targets, "A", "2024Q2").set_index("indicator")
    need = card.loc[NEED]
    assert need.value == 0.30 and need.previous == 0.10 and need.change == pytest.approx(0.20)
    assert need.trend == "up" and need.status == "descriptive" and need.direction == "neutral"
    assert math.isnan(need.target) and math.isnan(need.gap)
    assert card.loc[AVAIL].status == "red"
    plan = scorecard.improvement_plan(table, targets, "A", "2024Q2")
    assert list(plan["indicator"]) == [AVAIL]
    frame = present.scorecard_frame(card.reset_index(), "zh")
    assert frame.iloc[0].tolist()[2:8] == ["30.0%", "25.0% – 35.0%", "—", "—", "描述性指标", format_gap(0.2, "rate", "zh") + " ↑ 上升"]
    assert frame.iloc[0]["趋势"] == "10.0% → 30.0%"
    assert scorecard.status_counts(card.reset_index()) == {"green": 0, "amber": 0, "red": 1, "none": 1}
    assert scorecard.rag_status(0.3, 0.2, "neutral") == "descriptive"
    assert math.isnan(scorecard.signed_gap(0.3, 0.2, "neutral"))


def test_region_without_data_is_no_data_not_suppressed():
    """A region without households has rows with value NaN, n 0 and suppressed set (0 is
    below min_cell): its status is "no data", while a small cell (n 4) stays "suppressed"."""
    empty = row(AVAIL, "care", "2024Q2", None, n=0, region="E")
    small = row(AVAIL, "medical", "2024Q2", None, n=4, region="E")
    table = pd.DataFrame([empty, small])[COLUMNS].astype({"value": float, "ci_low": float, "ci_high": float})
    card = scorecard.scorecard(table, scorecard.default_targets(), "E", "2024Q2")
    assert list(card["status"]) == ["no_data", "suppressed"]
    assert scorecard.improvement_plan(table, scorecard.default_targets(), "E", "2024Q2").empty


def test_incomplete_period_is_shown_but_never_judged_or_drawn_as_a_change(table):
    """Availability of medical in 2024Q2 (0.30 against 0.7: red, worsening from 0.40) becomes
    incomplete (units censored at the extraction date): status "incomplete", no trend, no
    plan row, and the trend column skips 2024Q2. Care in 2024Q3 is compared with
    2024Q1, the latest complete period, when 2024Q2 is incomplete."""
    t = table.copy()
    t["incomplete"] = (t["indicator"] == AVAIL) & (t["service_type"] == "medical") & (t["period"] == "2024Q2")
    card = scorecard.scorecard(t, scorecard.default_targets(), "A", "2024Q2").set_index(["indicator", "service_type"])
    med = card.loc[(AVAIL, "medical")]
    assert (med.status, med.trend, med.value) == ("incomplete", "", 0.30)
    assert med.history[0] == 0.40 and math.isnan(med.history[1])
    assert card.loc[(AVAIL, "care")].status == "amber"  # the others unchanged
    plan = scorecard.improvement_plan(t, scorecard.default_targets(), "A", "2024Q2")
    assert list(plan["service_type"]) == ["care"] and plan.iloc[0].short_types == ["care"]  # medical left out
    later = pd.concat([t, pd.DataFrame([row(AVAIL, "care", "2024Q3", 0.60, 0.55, 0.65)])], ignore_index=True)
    later["incomplete"] = later["incomplete"].fillna(False).astype(bool) | (
        (later["service_type"] == "care") & (later["period"] == "2024Q2"))
    care = scorecard.scorecard(later, scorecard.default_targets(), "A", "2024Q3").set_index(
        ["indicator", "service_type"]).loc[(AVAIL, "care")]
    assert care.previous == 0.50 and care.trend == "improving"
    assert scorecard.trend_table(later, "A", "2024Q3").query("service_type == 'care' and period == '2024Q2'").value.isna().all()


# -- 摘要 and the improvement plan: Benjamini-Hochberg, the finding rule, the plan ranking ------

UNSERVED, OMITTED, DUPLICATE, PUSH = ("access.unserved_rate", "coordination.omitted_aid_rate",
                                      "coordination.duplicate_aid_rate", "coordination.push_timeliness_rate")


def test_benjamini_hochberg_by_hand():
    """p = 0.01, 0.04, 0.03, 0.005, 0.20 (m = 5). Sorted: 0.005, 0.01, 0.03, 0.04, 0.20;
    p_(i) * 5 / i = 0.025, 0.025, 0.05, 0.05, 0.20; the running minimum from the top
    changes nothing. The 4 smallest are rejected at q = 0.05 (0.04 <= 4/5 x 0.05)."""
    adjusted = scorecard.bh_adjust([0.01, 0.04, 0.03, 0.005, 0.20])
    assert adjusted == pytest.approx([0.025, 0.05, 0.05, 0.025, 0.20])
    assert scorecard.bh_reject([0.01, 0.04, 0.03, 0.005, 0.20]).tolist() == [True, True, True, True, False]
    # step-up: 0.02 x 3 / 1 = 0.06 > 0.05 alone, but the largest p (0.035 x 3 / 3) carries all three
    assert scorecard.bh_adjust([0.02, 0.03, 0.035]) == pytest.approx([0.035, 0.035, 0.035])
    assert scorecard.bh_reject([0.02, 0.03, 0.035]).all()
    # NaN (a change not tested) takes no part: m = 2, not 3
    assert scorecard.bh_adjust([0.02, np.nan, 0.04]).tolist()[::2] == pytest.approx([0.04, 0.04])
    assert scorecard.bh_reject([0.02, np.nan, 0.04]).tolist() == [True, False, True]
    assert scorecard.bh_adjust([]).size == 0 and not scorecard.bh_reject([np.nan]).any()
    with pytest.raises(ValueError, match="q must be between 0 and 1"):
        scorecard.bh_reject([0.1], q=0)


def test_benjamini_hochberg_matches_statsmodels():
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(15)
    for m in (1, 2, 7, 60):
        p = np.concatenate([rng.uniform(0, 0.01, m // 3), rng.uniform(0, 1, m - m // 3)])
        p[::5] = p[0]  # ties
        for q in (0.05, 0.1):
            reject, adjusted, _, _ = multipletests(p, alpha=q, method="fdr_bh")
            assert scorecard.bh_adjust(p) == pytest.approx(adjusted)
            assert scorecard.bh_reject(p, q).tolist() == reject.tolist()


def change(indicator, service_type, diff, se, incomplete=False, suppressed=False, df=199.0):
    return {"indicator": indicator, "service_type": service_type, "region": "A", "period": "2024Q2",
            "group_by": "", "group": "", "previous_period": "2024Q1", "value": np.nan, "previous_value": np.nan,
            "change": diff, "se": se, "ci_low": np.nan, "ci_high": np.nan, "significant": False,
            "incomplete": incomplete, "suppressed": suppressed, "df": df}


@pytest.fixture
def problems():
    """Region A, report period 2024Q2 (targets: coverage 0.8 higher, unserved 0.2 lower,
    availability 0.7 higher, push timeliness 0.9 higher, omitted aid 0.1 lower, duplicate
    aid 0.02 lower; the need rate is neutral):

    - coverage 0.50 (0.45-0.55), n 200: short 0.30, change -0.10 (se 0.02): significantly worse;
    - unserved 0.60 (0.55-0.65), n 100: short 0.40 (twice the target), change 0: a large stable shortfall;
    - availability: care 0.66 (0.60-0.72, n 300, amber), medical 0.30 (0.25-0.35, n 50, red), legal aid suppressed;
    - push timeliness 0.88 (0.84-0.92), n 1500: short 0.02, the interval contains the target: uncertain;
    - omitted aid 0.30 in 2024Q2 but incomplete; 0.25 (0.20-0.30, n 400) in 2024Q1, complete;
    - duplicate aid 0.01, n 500: meets the target, change -0.03 (se 0.005): significantly better;
    - need rate 0.40, change +0.10 (se 0.02): significant, but descriptive.
    """
    rows = [
        row(COVER, "", "2024Q2", 0.50, 0.45, 0.55, n=200),
        row(UNSERVED, "", "2024Q2", 0.60, 0.55, 0.65, n=100),
        row(AVAIL, "care", "2024Q2", 0.66, 0.60, 0.72, n=300),
        row(AVAIL, "medical", "2024Q2", 0.30, 0.25, 0.35, n=50),
        row(AVAIL, "legal_aid", "2024Q2", None, n=4),
        row(PUSH, "", "2024Q2", 0.88, 0.84, 0.92, n=1500),
        row(OMITTED, "", "2024Q1", 0.25, 0.20, 0.30, n=400),
        {**row(OMITTED, "", "2024Q2", 0.30, n=400), "incomplete": True},
        row(DUPLICATE, "", "2024Q2", 0.01, 0.005, 0.015, n=500),
        row(NEED, "", "2024Q2", 0.40, n=1000),
    ]
    table = pd.DataFrame(rows)[COLUMNS]
    changes = pd.DataFrame([
        change(COVER, "", -0.10, 0.02), change(UNSERVED, "", 0.0, 0.02), change(AVAIL, "care", 0.02, 0.02),
        change(AVAIL, "medical", -0.01, 0.02), change(AVAIL, "legal_aid", np.nan, np.nan, suppressed=True),
        change(PUSH, "", 0.01, 0.02), change(OMITTED, "", 0.05, 0.01, incomplete=True),
        change(DUPLICATE, "", -0.03, 0.005), change(NEED, "", 0.10, 0.02),
    ])
    targets = {COVER: 0.8, UNSERVED: 0.2, AVAIL: 0.7, PUSH: 0.9, OMITTED: 0.1, DUPLICATE: 0.02}
    return table, changes, targets


def test_changes_tested_with_bh_never_incomplete_or_suppressed(problems):
    table, changes, targets = problems
    card = scorecard.scorecard(table, targets, "A", "2024Q2")
    card = scorecard.flag_changes(card, changes, "A", "2024Q2").set_index(["indicator", "service_type"])
    tested = card["p_value"].notna()
    # 7 tested: omitted aid (incomplete) and legal aid (suppressed) are not
    assert tested.sum() == 7 and not tested[(OMITTED, "")] and not tested[(AVAIL, "legal_aid")]
    assert set(card.index[card["significant"]].get_level_values(0)) == {COVER, DUPLICATE, NEED}
    assert card.loc[(COVER, ""), "q_value"] == pytest.approx(
        scorecard.bh_adjust(card["p_value"].to_numpy())[list(card.index).index((COVER, ""))])
    from scipy import stats
    assert card.loc[(UNSERVED, ""), "p_value"] == pytest.approx(1.0)
    assert card.loc[(PUSH, ""), "p_value"] == pytest.approx(2 * stats.t.sf(0.5, 199))
    none = scorecard.flag_changes(scorecard.scorecard(table, targets, "A", "2024Q2"), None, "A", "2024Q2")
    assert not none["significant"].any() and none["p_value"].isna().all()


def test_key_findings_rule(problems):
    """Scores: unserved 0.40/0.2 = 2.0 (shortfall); duplicate aid |-0.03|/0.02 = 1.5
    (significant change, meets its target); availability 0.40/0.7 = 0.571 at medical (its
    worst type, one row for the indicator); coverage max(0.30/0.8, 0.10/0.8) = 0.375;
    push timeliness 0.02/0.9 = 0.022. Omitted aid (incomplete) and the need rate (descriptive,
    even with a significant change) are never findings."""
    table, changes, targets = problems
    card = scorecard.flag_changes(scorecard.scorecard(table, targets, "A", "2024Q2"), changes, "A", "2024Q2")
    found = scorecard.key_findings(card)
    assert list(found["indicator"]) == [UNSERVED, DUPLICATE, AVAIL, COVER, PUSH]
    assert list(found["reason"]) == ["shortfall", "change", "shortfall", "shortfall", "shortfall"]
    assert found["score"].tolist() == pytest.approx([2.0, 1.5, 0.4 / 0.7, 0.375, 0.02 / 0.9])
    assert found.iloc[2]["service_type"] == "medical"
    assert list(scorecard.key_findings(card, k=3)["indicator"]) == [UNSERVED, DUPLICATE, AVAIL]
    # fewer than three with a score: the widest margins fill up
    only = card[card["indicator"].isin([DUPLICATE, UNSERVED])].assign(significant=False)
    assert list(scorecard.key_findings(only)["reason"]) == ["shortfall", "met"]
    zh = present.finding_sentence(found.iloc[3], "zh")
    assert zh == "服务覆盖率为 50.0%（95% 区间 45.0%–55.0%），低于目标 80.0%（差 30.0个百分点），比上期（2024Q1）下降 10.0个百分点（显著，恶化）。"
    en = present.finding_sentence(found.iloc[1], "en")
    assert en.endswith("below the target of 2.0%: met; down 3.0 pp on the previous period (2024Q1; significant, improving).")
    assert present.finding_sentence(found.iloc[0], "zh").endswith("，与上期（2024Q1）持平。")
    assert present.finding_sentence(found.iloc[2], "zh") == (
        "可得率（医疗）为 30.0%（95% 区间 25.0%–35.0%），低于目标 70.0%（差 40.0个百分点），比上期（2024Q1）下降 1.0个百分点（不显著）。")
    assert present.finding_sentence(found.iloc[4], "zh").startswith(
        "信息推送及时率为 88.0%（95% 区间 84.0%–92.0%），低于目标 90.0%（差 2.0个百分点），但区间包含目标值，差距不确定，")
    ov = scorecard.overview(card)
    assert {k: ov[k] for k in ("indicators", "judged", "green", "amber", "red", "not_judged", "tested")} == {
        "indicators": 6, "judged": 5, "green": 1, "amber": 1, "red": 3, "not_judged": 1, "tested": 7}
    assert ov["worst"] == [UNSERVED, AVAIL, COVER] and ov["improved"] == [DUPLICATE] and ov["worsened"] == [COVER]


def test_improvement_plan_ranking(problems):
    """Priority = shortfall x n, doubled when significantly worsening: coverage 0.30 x 200 x 2 = 120;
    omitted aid from 2024Q1 (2024Q2 is incomplete) 0.15 x 400 = 60; unserved (stable) 0.40 x 100 = 40;
    push timeliness 0.02 x 1500 = 30 (uncertain: kept, marked); availability at medical
    0.40 x 50 = 20, one row naming medical and care. Duplicate aid meets its target; the
    need rate is descriptive."""
    table, changes, targets = problems
    plan = scorecard.improvement_plan(table, targets, "A", "2024Q2", changes, lang="en")
    assert list(plan["indicator"]) == [COVER, OMITTED, UNSERVED, PUSH, AVAIL]
    assert plan["priority"].tolist() == pytest.approx([120, 60, 40, 30, 20])
    assert plan["rank"].tolist() == [1, 2, 3, 4, 5]
    assert list(plan["period"]) == ["2024Q2", "2024Q1", "2024Q2", "2024Q2", "2024Q2"]
    assert plan["uncertain"].tolist() == [False, False, False, True, False]
    assert plan["worsening"].tolist() == [True, False, False, False, False]
    assert plan.iloc[4].short_types == ["medical", "care"] and plan.iloc[4].service_type == "medical"
    assert set(plan["review_date"]) == {"2024-09-30"}
    cat = load_catalogue()
    assert list(plan["responsible"]) == [cat[i].responsible for i in plan["indicator"]]
    assert list(plan["action"]) == [cat[i].action_en for i in plan["indicator"]]
    assert plan["target"].tolist() == [0.8, 0.1, 0.2, 0.9, 0.7]
    again = scorecard.improvement_plan(table, targets, "A", "2024Q2", changes, review="2025-01-15")
    assert set(again["review_date"]) == {"2025-01-15"}
    frame = present.plan_frame(plan, "zh")
    assert list(frame["判断"]) == ["未达标，较上期显著恶化", "未达标", "未达标", "不确定（区间包含目标值）", "未达标"]
    assert present.plan_badges(plan) == ["red", "red", "red", "amber", "red"]
    assert frame["问题"][1] == "漏助率（2024Q1期）".replace("漏助率", cat[OMITTED].name_zh)
    assert scorecard.review_date("2024Q4", "quarter") == "2025-03-31"


def test_summary_html_comes_first_in_the_block():
    out = present.summary_html(["第一条。"], ["总体。"], "zh", rule="规则")
    assert out.startswith('<section class="summary"><h2>摘要</h2><h3>主要发现</h3><ol><li>第一条。</li></ol>')
    assert out.endswith('<p class="note">规则</p></section>')


def test_results_file_keeps_covariances_of_consecutive_periods(table, tmp_path):
    """Care's availability: 0.50 (2024Q1) and 0.66 (2024Q2), se 0.05/1.96 each, covariance
    0.0003: the change's se is sqrt(2 x 0.02551^2 - 2 x 0.0003) = 0.0236. Medical's 2024Q2
    covariance is dropped with a suppressed cell (none here: legal aid has no 2024Q1)."""
    regions = pd.DataFrame({"region_id": ["A", "B"], "name": ["甲", "乙"], "parent_id": [None, None],
                            "level": ["county", "county"]})
    cov = pd.DataFrame({"indicator": AVAIL, "service_type": ["care", "medical", "legal_aid"], "region": "A",
                        "period": "2024Q2", "group_by": "", "group": "", "other_period": "2024Q1",
                        "other_group_by": "", "other_group": "", "cov": [0.0003, 0.0001, 0.0002]})
    data = ReportData(table, regions, ["2024Q1", "2024Q2"], "pkg", "quarter", "abc", 3, {}, groups=("hukou",),
                      covariances=cov)
    back = load_data(save_data(data, tmp_path / "results.parquet"))
    assert sorted(back.covariances["service_type"]) == ["care", "medical"]  # legal aid: suppressed, not kept
    changes = back.results().change().set_index("service_type")
    se = 0.05 / 1.96
    assert changes.loc["care", "change"] == pytest.approx(0.16)
    assert changes.loc["care", "se"] == pytest.approx(math.sqrt(2 * se**2 - 2 * 0.0003))
    assert changes.loc["care", "df"] == 99
    assert load_data(save_data(data, tmp_path / "r.parquet"), regions=["B"]).covariances.empty


def test_rendered_scorecard_opens_with_the_summary(tmp_path):
    """The scorecard part of a synthetic package's report (R00, the latest period): 摘要
    comes first after the title, with 3 to 5 numbered findings, each with a 95% interval,
    then the overall lines; the improvement plan has at most PLAN_CAP rows, ranked."""
    import re
    import shutil

    from evalkit.data.synth import generate
    from evalkit.report.batch import render_report

    pkg = tmp_path / "pkg"
    generate(pkg, households=3000, regions=6, periods=8, seed=2026)
    only = tmp_path / "notebooks"
    only.mkdir()
    shutil.copy(next(t for t in find_templates() if t.name == "scorecard").path, only / "scorecard.py")
    outcome = render_report(pkg, "R00", tmp_path / "out", notebooks=only, log=lambda m: None)
    assert outcome.status == "ok", outcome
    from conftest import report_part

    body = report_part(tmp_path / "out", "scorecard")  # the summary first, then the scorecard part
    first_h2 = re.search(r"<h2[^>]*>([^<]*)</h2>", body).group(1)
    assert first_h2 == "摘要"
    summary = body[body.index('<section class="summary">'):body.index("</section>")]
    findings = re.findall(r"<li>(.*?)</li>", summary)
    assert 3 <= len(findings) <= 5
    assert all("（95% 区间 " in f and "目标" in f for f in findings)
    assert "Benjamini-Hochberg" in summary and "可与目标比较" in summary
    assert body.index("摘要") < body.index("绩效改进计划")
    plan = body[body.index(">绩效改进计划</h2>"):]
    ranks = re.findall(r"<tr><td>(\d+)</td>", plan.split("</table>")[0])
    assert ranks == [str(k) for k in range(1, len(ranks) + 1)] and 1 <= len(ranks) <= scorecard.PLAN_CAP


# -- changes on the same period last year (issue 15, item 2) ---------------------------------

SE = 0.05 / 1.96  # every row()'s standard error


def covariance(indicator, service_type, period, other, cov):
    return {"indicator": indicator, "service_type": service_type, "region": "A", "period": period, "group_by": "",
            "group": "", "other_period": other, "other_group_by": "", "other_group": "", "cov": cov}


def test_change_against_a_year_before_by_hand():
    """Coverage, six quarters 2023Q1-2024Q2, se 0.02551 each; covariances of consecutive
    quarters only at first (0.0001 each, 0.0002 for 2024Q2-2024Q1).

    - base "year": 2024Q1 - 2023Q1 = 0.80 - 0.70 = +0.10 and 2024Q2 - 2023Q2 = 0.60 - 0.72
      = -0.12; no covariance kept a year apart here: with ``independent=True`` se = sqrt(2 x 0.02551^2) = 0.03608;
    - base "2023Q2": 2023Q3 - 2023Q2 (consecutive: se sqrt(2 x 0.02551^2 - 2 x 0.0001) = 0.03052)
      and 2023Q1 - 2023Q2, whose pair is stored the other way round (2023Q2, 2023Q1): same se;
    - annual data (2023, 2024, covariance 0.0003): last year is the previous period, so its
      covariance is used: se sqrt(2 x 0.02551^2 - 0.0006) = 0.02659, as base "previous" gives.
    """
    from evalkit.results.indicator_results import IndicatorResults

    values = {"2023Q1": 0.70, "2023Q2": 0.72, "2023Q3": 0.75, "2023Q4": 0.78, "2024Q1": 0.80, "2024Q2": 0.60}
    table = pd.DataFrame([row(COVER, "", p, v) for p, v in values.items()])[COLUMNS]
    periods = list(values)
    cov = pd.DataFrame([covariance(COVER, "", b, a, 0.0002 if b == "2024Q2" else 0.0001)
                        for a, b in zip(periods, periods[1:])])
    res = IndicatorResults(table, covariances=cov)
    assert res.change(base="year").empty  # no covariance kept a year apart: no design-based change
    yearly = res.change(base="year", independent=True).set_index("period")
    assert list(yearly.index) == ["2024Q1", "2024Q2"] and set(yearly["base"]) == {"year"}
    assert list(yearly["previous_period"]) == ["2023Q1", "2023Q2"]
    assert yearly["change"].tolist() == pytest.approx([0.10, -0.12])
    assert yearly["se"].tolist() == pytest.approx([math.sqrt(2 * SE**2)] * 2) and not yearly["cov_known"].any()
    assert yearly.loc["2024Q2", "ci_high"] == pytest.approx(-0.12 + stats_t(99) * math.sqrt(2 * SE**2))
    fixed = res.change(base="2023Q2", independent=True).set_index("period")
    assert sorted(res.change(base="2023Q2")["period"]) == ["2023Q1", "2023Q3"]  # the pairs kept
    assert "2023Q2" not in fixed.index and set(fixed["base"]) == {"period"}
    assert fixed.loc["2023Q3", "se"] == pytest.approx(math.sqrt(2 * SE**2 - 2 * 0.0001))
    assert fixed.loc["2023Q1", "change"] == pytest.approx(-0.02)
    assert fixed.loc["2023Q1", "se"] == pytest.approx(math.sqrt(2 * SE**2 - 2 * 0.0001))
    assert fixed.loc[["2023Q1", "2023Q3"], "cov_known"].all() and not fixed.loc["2024Q2", "cov_known"]
    # with the year-apart covariance the engine keeps (2024Q2, 2023Q2: 0.00015), the design's se:
    # sqrt(2 x 0.02551^2 - 2 x 0.00015) = 0.03179; the previous-period changes do not take that pair
    both = IndicatorResults(table, covariances=pd.concat(
        [cov, pd.DataFrame([covariance(COVER, "", "2024Q2", "2023Q2", 0.00015)])])).change(base="year")
    assert both["period"].tolist() == ["2024Q2"] and both["cov_known"].all()
    assert both["se"].item() == pytest.approx(math.sqrt(2 * SE**2 - 2 * 0.00015))
    assert IndicatorResults(table, covariances=pd.concat(
        [cov, pd.DataFrame([covariance(COVER, "", "2024Q2", "2023Q2", 0.00015)])])).change()["period"].is_unique
    previous = res.change()
    assert len(previous) == 5 and set(previous["base"]) == {"previous"} and previous["cov_known"].all()
    # an incomplete base is flagged (so never tested), whichever the base
    late = table.assign(incomplete=table["period"] == "2023Q2")
    assert IndicatorResults(late, covariances=cov).change(base="year", independent=True).set_index("period")[
        "incomplete"].tolist() == [False, True]
    # results kept without covariances (older files): no change at all, as with the previous period
    assert IndicatorResults(table).change(base="year", independent=True).empty and IndicatorResults(table).change().empty
    annual = pd.DataFrame([row(COVER, "", "2023", 0.70), row(COVER, "", "2024", 0.80)])[COLUMNS]
    res = IndicatorResults(annual, covariances=pd.DataFrame([covariance(COVER, "", "2024", "2023", 0.0003)]))
    a, b = res.change(base="year").iloc[0], res.change().iloc[0]
    assert a.previous_period == "2023" and a.cov_known
    assert a.se == pytest.approx(math.sqrt(2 * SE**2 - 0.0006)) and b.se == pytest.approx(a.se)


def stats_t(df):
    from scipy import stats

    return stats.t.ppf(0.975, df)


@pytest.fixture
def yearly():
    """Region A, report period 2024Q2, quarterly (targets: coverage 0.8, unserved 0.2 lower,
    availability 0.7, duplicate aid 0.02 lower); consecutive covariances only:

    - coverage 0.70 (2023Q2), 0.72, 0.60: against last year -0.10, se sqrt(2 x 0.02551^2)
      = 0.03608 (no covariance kept a year apart: taken as independent, ``independent=True``),
      t = 2.772, p = 0.0067;
    - duplicate aid 0.085 (2023Q2), 0.012, 0.01: -0.075, se 0.03608, t = 2.079, p = 0.040;
    - unserved: no 2023Q2, so the previous quarter: 0.50 -> 0.55, +0.05, se
      sqrt(2 x 0.02551^2 - 2 x 0.0002) = 0.03003, t = 1.665, p = 0.099;
    - availability (care): 2023Q2 is incomplete, never a base: the previous quarter, 0.64 ->
      0.66, +0.02, se sqrt(2 x 0.02551^2 - 2 x 0.0001) = 0.03319, t = 0.603, p = 0.548.

    Benjamini-Hochberg over the four (m = 4): q = 0.0067 x 4 = 0.027 (coverage: significant);
    duplicate aid 0.040 x 4 / 2 = 0.080 (not significant, although p < 0.05); unserved
    0.099 x 4 / 3 = 0.132; availability 0.548.
    """
    from evalkit.results.indicator_results import IndicatorResults

    rows = [
        row(COVER, "", "2023Q2", 0.70), row(COVER, "", "2024Q1", 0.72), row(COVER, "", "2024Q2", 0.60, 0.55, 0.65),
        row(DUPLICATE, "", "2023Q2", 0.085), row(DUPLICATE, "", "2024Q1", 0.012),
        row(DUPLICATE, "", "2024Q2", 0.01, 0.005, 0.015),
        row(UNSERVED, "", "2024Q1", 0.50), row(UNSERVED, "", "2024Q2", 0.55, 0.50, 0.60),
        {**row(AVAIL, "care", "2023Q2", 0.30), "incomplete": True}, row(AVAIL, "care", "2024Q1", 0.64),
        row(AVAIL, "care", "2024Q2", 0.66, 0.60, 0.72),
    ]
    table = pd.DataFrame(rows)[COLUMNS]
    cov = pd.DataFrame([covariance(COVER, "", "2024Q2", "2024Q1", 0.0001),
                        covariance(DUPLICATE, "", "2024Q2", "2024Q1", 0.0),
                        covariance(UNSERVED, "", "2024Q2", "2024Q1", 0.0002),
                        covariance(AVAIL, "care", "2024Q2", "2024Q1", 0.0001)])
    res = IndicatorResults(table, covariances=cov)
    targets = {COVER: 0.8, UNSERVED: 0.2, AVAIL: 0.7, DUPLICATE: 0.02}
    card = scorecard.flag_changes(scorecard.scorecard(table, targets, "A", "2024Q2"),
                                  res.change(base="year", independent=True), "A", "2024Q2", fallback=res.change())
    return card.set_index("indicator"), res, table, targets


def test_changes_against_last_year_fall_back_and_are_bh_adjusted_together(yearly):
    from scipy import stats

    card, _, _, _ = yearly
    independent, se_unserved = math.sqrt(2 * SE**2), math.sqrt(2 * SE**2 - 2 * 0.0002)
    assert card.loc[COVER, ["change_base", "change_base_period"]].tolist() == ["year", "2023Q2"]
    assert card.loc[COVER, "change_value"] == pytest.approx(-0.10)
    assert card.loc[COVER, "change_se"] == pytest.approx(independent) and not card.loc[COVER, "change_cov_known"]
    assert card.loc[UNSERVED, ["change_base", "change_base_period", "change_fallback"]].tolist() == [
        "previous", "2024Q1", True]
    assert card.loc[UNSERVED, "change_se"] == pytest.approx(se_unserved) and card.loc[UNSERVED, "change_cov_known"]
    # last year's availability is incomplete: never a base, the previous quarter instead
    assert card.loc[AVAIL, ["change_base_period", "change_fallback"]].tolist() == ["2024Q1", True]
    p = {COVER: 2 * stats.t.sf(0.10 / independent, 99), DUPLICATE: 2 * stats.t.sf(0.075 / independent, 99),
         UNSERVED: 2 * stats.t.sf(0.05 / se_unserved, 99), AVAIL: 2 * stats.t.sf(0.02 / math.sqrt(2 * SE**2 - 0.0002), 99)}
    assert card["p_value"].to_dict() == pytest.approx(p)
    assert p[COVER] == pytest.approx(0.0067, abs=1e-4) and p[DUPLICATE] == pytest.approx(0.0402, abs=1e-4)
    assert card["q_value"].to_dict() == pytest.approx(
        {COVER: 4 * p[COVER], DUPLICATE: 2 * p[DUPLICATE], UNSERVED: 4 / 3 * p[UNSERVED], AVAIL: p[AVAIL]})
    assert card["significant"].to_dict() == {COVER: True, DUPLICATE: False, UNSERVED: False, AVAIL: False}
    ov = scorecard.overview(card.reset_index())
    assert ov["worsened"] == [COVER] and ov["improved"] == []  # duplicate aid: p < 0.05, not after BH
    assert {k: ov[k] for k in ("tested", "year_based", "fallback", "independent")} == {
        "tested": 4, "year_based": 2, "fallback": 2, "independent": 2}
    assert {k: ov[k] for k in ("judged", "green", "amber", "red", "no_target", "unjudged")} == {
        "judged": 4, "green": 1, "amber": 1, "red": 2, "no_target": 0, "unjudged": 0}


def test_finding_sentences_say_last_year_or_why_not(yearly):
    card, res, table, targets = yearly
    card = card.reset_index()
    rows = {r["indicator"]: r for _, r in card.iterrows()}
    zh = present.finding_sentence(rows[COVER], "zh")
    assert zh == ("服务覆盖率为 60.0%（95% 区间 55.0%–65.0%），低于目标 80.0%（差 20.0个百分点），"
                  "比去年同期（2023Q2）下降 10.0个百分点（显著，恶化）。")
    en = present.finding_sentence(rows[COVER], "en")
    assert en.endswith("short by 20.0 pp); down 10.0 pp on the same period last year (2023Q2; significant, worsening).")
    assert present.finding_sentence(rows[DUPLICATE], "zh").endswith("比去年同期（2023Q2）下降 7.5个百分点（不显著）。")
    assert present.finding_sentence(rows[UNSERVED], "zh").endswith(
        "，无去年同期可比数据，比上期（2024Q1）上升 5.0个百分点（不显著）。")
    assert present.finding_sentence(rows[UNSERVED], "en").endswith(
        "; no comparable figure for the same period last year; up 5.0 pp on the previous period (2024Q1; not significant).")
    annual = rows[COVER].copy()
    annual["change_base_period"] = "2023"
    assert "比上年（2023）下降" in present.finding_sentence(annual, "zh")
    assert "on the year before (2023;" in present.finding_sentence(annual, "en")
    lines = present.overview_sentences(card, "zh")
    assert lines[0].startswith("按指标计") and "达标 1 个、接近目标 1 个、未达标 2 个；0 个指标未设目标" in lines[0]
    assert lines[2] == "较去年同期显著改善：无；显著恶化：服务覆盖率。其中 2 个变化因无去年同期可比数据，改与上期比较。"
    assert "全部 4 个变化用 Benjamini-Hochberg" in lines[3] and "其中 2 个变化的两期估计未保存协方差" in lines[3]
    en = present.overview_sentences(card, "en")
    assert en[2].startswith("Significantly improved on the same period last year: none; significantly worsened: "
                            "Service coverage of the needy.") and "2 of the changes tested compare with the previous period" in en[2]
    # the table: the change on last year with its significance, "—" where it fell back
    frame = present.scorecard_frame(card, "zh").set_index("指标")
    names = present.indicator_names("zh")
    assert frame.loc[names[COVER], "较去年同期变化"] == "-10.0个百分点*"
    assert frame.loc[names[DUPLICATE], "较去年同期变化"] == "-7.5个百分点"
    assert frame.loc[names[UNSERVED], "较去年同期变化"] == "—"
    assert frame.loc[names[COVER], "较上期变化"] == "-12.0个百分点 ↓ 变差"
    assert present.scorecard_frame(card, "en").set_index("Indicator").loc[
        present.indicator_names("en")[COVER], "Change on a year before"] == "-10.0 pp*"
    # without a design-based change on last year (no covariance kept a year apart here), every
    # change is on the previous period, and says so
    only = scorecard.flag_changes(scorecard.scorecard(table, targets, "A", "2024Q2"),
                                  res.change(base="year"), "A", "2024Q2", fallback=res.change())
    assert only["change_fallback"].all() and set(only["change_base"]) == {"previous"}
    assert present.overview_sentences(only, "zh")[2].startswith("较上期显著改善：")


def test_trend_column_shows_values_with_units():
    km = "access.nearest_point_km"
    table = pd.DataFrame([row(km, "care", "2024Q1", 3.5, 3.0, 4.0), row(km, "care", "2024Q2", 4.25, 4.0, 4.5),
                          {**row(km, "care", "2024Q3", 5.0, 4.5, 5.5), "incomplete": True}])[COLUMNS]
    card = scorecard.scorecard(table, scorecard.default_targets(), "A", "2024Q3")
    assert card.iloc[0]["history_periods"] == ("2024Q1", "2024Q2", "2024Q3")
    # the incomplete 2024Q3 is left out: the span ends at 2024Q2 and names it
    assert present.scorecard_frame(card, "zh").iloc[0]["趋势"] == "3.50公里 → 2024Q2 4.25公里"
    assert present.scorecard_frame(card, "en").iloc[0]["Trend"] == "3.50 km → 2024Q2 4.25 km"
    card = scorecard.scorecard(table, scorecard.default_targets(), "A", "2024Q2")
    assert present.scorecard_frame(card, "en").iloc[0]["Trend"] == "3.50 km → 4.25 km"
    # a row starting later than the data names its first period
    later = pd.concat([table, pd.DataFrame([row(AVAIL, "care", "2024Q2", 0.5), row(AVAIL, "care", "2024Q3", 0.6)])])
    card = scorecard.scorecard(later[COLUMNS], scorecard.default_targets(), "A", "2024Q3")
    assert present.scorecard_frame(card, "zh").set_index("服务类型").iloc[1]["趋势"] == "2024Q2 50.0% → 60.0%"
    import evalkit.report.text as text
    assert not hasattr(text, "sparkline")
