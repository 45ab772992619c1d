"""The outcomes and impact part of reports (notebooks/outcomes.py) on a small synthetic
package: renders in Chinese and English, states the reform's effect in a sentence with the
number of counties (clusters), labels a county's estimate as the province's, shows no
household; the effect is estimated once per package by the data step and stored with the
results (aggregates only). Reform effects and sentences without notebooks at the end.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import report_part

from evalkit import impact
from evalkit.data.synth import generate
from evalkit.report import effects, render_all, render_report
from evalkit.report.data import load_data, read_meta
from evalkit.report.execute import find_templates

pytestmark = pytest.mark.filterwarnings("error:Glyph .* missing")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PROCESSING = "coordination.processing_days"


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("outcomes-data") / "pkg"
    generate(out, households=3000, regions=6, periods=8, seed=2026)  # R00 > R01, R02 > 3 counties each
    return out


@pytest.fixture(scope="module")
def templates(tmp_path_factory) -> Path:
    """Only the outcomes part: the other parts are tested in test_report.py."""
    path = tmp_path_factory.mktemp("outcomes-templates")
    shutil.copy(NOTEBOOKS / "outcomes.py", path)
    return path


@pytest.fixture(scope="module")
def zh_batch(package, templates, tmp_path_factory):
    out = tmp_path_factory.mktemp("outcomes-zh")
    return render_all(package, out, lang="zh", notebooks=templates, regions=["R00", "R0101"], workers=2,
                      progress=False, log=lambda m: None)


@pytest.fixture(scope="module")
def en_county(package, templates, zh_batch, tmp_path_factory):
    out = tmp_path_factory.mktemp("outcomes-en") / "R0102"
    out.mkdir()
    shutil.copy(zh_batch.results, out)  # same data and settings: reused, not recomputed
    return render_report(package, "R0102", out, lang="en", notebooks=templates, log=lambda m: None)


def part(out_dir: Path) -> str:
    """The outcomes part of a region's report (one document: index.html)."""
    return report_part(out_dir, "outcomes")


def text_of(page: str) -> str:
    import html

    return html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r'src="data:[^"]+"', "", page)))


def stored(results_path) -> dict:
    return read_meta(results_path)["impact"]


def test_outcomes_part_comes_after_coordination_and_fairness():
    names = [t.name for t in find_templates()]
    assert names[0] == "scorecard" and "outcomes" in names
    assert names.index("coordination") < names.index("outcomes")
    if "fairness" in names:
        assert names.index("fairness") < names.index("outcomes")


def test_impact_is_estimated_once_per_package_and_stored_with_the_results(zh_batch, en_county):
    batch = zh_batch
    assert all(r.status == "ok" for r in batch.regions), [r.error for r in batch.regions]
    est = stored(batch.results)
    assert est["headline"] == PROCESSING
    rows = [r for r in est["estimates"] if r["indicator"] == PROCESSING]
    assert [r["method"] for r in rows] == ["callaway_santanna", "sun_abraham", "twfe"]
    cs = rows[0]
    assert cs["aggregation"] == "group" and cs["control"] == "never_treated"
    assert cs["n_clusters"] == 6 and cs["n_treated"] == 4 and cs["n_never"] == 2 and cs["n_cohorts"] == 3
    assert cs["inference"].startswith("wild cluster bootstrap")  # fewer than 30 counties
    assert cs["ci_high"] < 0  # the synthetic reform shortens processing (planted)
    assert {"outcomes.need_fulfilment_rate", "outcomes.exit_rate", "coordination.verification_days"} <= {
        r["indicator"] for r in est["estimates"]}
    assert "access.availability_rate" not in est["not_estimable"]  # by service type only: not attempted
    es = est["event_study"]
    assert es["indicator"] == PROCESSING and es["n_clusters"] == 6
    assert [r["event_time"] for r in es["rows"]] == list(range(-4, 5))
    # aggregates only: no region, county value or household in what is stored
    flat = repr(est)
    assert not re.search(r"R0\d\d\d|H\d{8}", flat)
    # one results file for the batch, read by every region's notebook; the county's report reuses it
    assert not list(batch.out.glob("*/results.parquet"))
    assert stored(en_county.out_dir / "results.parquet") == est
    assert load_data(batch.results, regions=["R0101"]).impact == est  # a region's read keeps the package's estimate


@pytest.mark.parametrize("region", ["R00", "R0101"])
def test_chinese_part_states_the_effect_with_the_number_of_counties(zh_batch, region):
    est = stored(zh_batch.results)
    cs = next(r for r in est["estimates"] if r["indicator"] == PROCESSING and r["method"] == "callaway_santanna")
    text = text_of(part(zh_batch.out / region))
    sentence = effects.effect_sentence(cs, "zh")
    assert sentence in text
    assert sentence.startswith("改革后，审批办理天数平均减少 ") and "6 个县区，其中 4 个已实施改革" in sentence
    assert sentence.endswith("这是改善。")
    for heading in ("主要指标", "改革成效", "三种估计方法对比"):
        assert heading in text, heading
    assert "Callaway" in text and "Goodman-Bacon 2021" in text and "de Chaisemartin" in text
    assert "县区数（聚类数）" in text
    page = part(zh_batch.out / region)
    assert 'alt="审批办理天数：改革前后各期的效果"' in page  # the event-study chart
    if region == "R00":
        assert "省级估计：比较示范省所辖 6 个县区" in text and "不是本地区单独的估计" not in text
        assert "各期变化" in text
    else:
        assert "以下为省级估计（示范省所辖 6 个县区" in text and "不是本地区单独的估计" in text


def test_english_county_part_shows_the_province_estimate(en_county, zh_batch):
    assert en_county.status == "ok", en_county.error

    assert '<html lang="en">' in (en_county.out_dir / "index.html").read_text(encoding="utf-8")
    text = text_of(part(en_county.out_dir))
    cs = next(r for r in stored(zh_batch.results)["estimates"]
              if r["indicator"] == PROCESSING and r["method"] == "callaway_santanna")
    assert "After the reform, processing working days fell by " in text
    assert effects.effect_sentence(cs, "en") in text and "6 counties, 4 of which adopted the reform" in text
    assert "The province-level estimate (示范省, 6 counties" in text and "not one for this region alone" in text
    for heading in ("Key figures", "The reform's impact", "Three estimators side by side"):
        assert heading in text, heading
    assert "Two-way fixed effects (TWFE, for comparison)" in text and "Sun-Abraham" in text


def test_no_household_reaches_the_part(zh_batch, en_county, package):
    hh = pd.read_parquet(package / "households.parquet", columns=["household_id", "id_number", "name"])
    for path in [zh_batch.out / r / "index.html" for r in ("R00", "R0101")] + [en_county.out_dir / "index.html"]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\bH\d{8}\b", text), path
        assert not set(re.findall(r"\d{17}[\dXx]", text)) & set(hh["id_number"])
        assert not [n for n in set(hh["name"]) if n in text]
        for bad in ("Traceback", "output_error", "import "):
            assert bad not in text


# -- without notebooks ---------------------------------------------------------------------

def _results(first_treated: dict, periods=8, effect=-3.0, seed=0):
    """A hand-made results table of one indicator over counties of one province."""
    rng = np.random.default_rng(seed)
    labels = [f"2023Q{q}" for q in range(1, 5)] + [f"2024Q{q}" for q in range(1, 5)]
    rows = []
    for county, g in first_treated.items():
        level = rng.normal(9, 0.5)
        for k, p in enumerate(labels[:periods]):
            treated = g is not None and p >= g
            rows.append({"indicator": PROCESSING, "service_type": "", "region": county, "period": p, "group_by": "",
                         "group": "", "value": level + 0.1 * k + (effect if treated else 0) + rng.normal(0, 0.05),
                         "n": 200, "incomplete": False})
    regions = pd.DataFrame([{"region_id": "P", "name": "省", "parent_id": None, "level": "province",
                             "reform_period": None}] +
                           [{"region_id": c, "name": c, "parent_id": "P", "level": "county", "reform_period": g}
                            for c, g in first_treated.items()])
    return pd.DataFrame(rows), regions


def test_reform_effects_says_why_it_cannot_estimate():
    one_cohort = {"A": "2023Q3", "B": "2023Q3", "C": None, "D": None}
    table, regions = _results(one_cohort)
    out = impact.reform_effects(table, regions)
    assert out["estimates"] == [] and out["headline"] is None
    assert out["not_estimable"][PROCESSING]["reason"] == "few_cohorts"
    assert out["not_estimable"][PROCESSING]["n_cohorts"] == 1
    zh = effects.not_estimable_sentence(PROCESSING, out["not_estimable"][PROCESSING], "zh")
    assert zh == "无法估计改革对审批办理天数的效果：数据期内只有 1 批县区在不同时期实施改革，交错双重差分至少需要两批。"
    all_adopt = {"A": "2023Q3", "B": "2024Q1", "C": "2023Q3", "D": "2024Q2"}
    table, regions = _results(all_adopt)
    info = impact.reform_effects(table, regions)["not_estimable"][PROCESSING]
    assert info["reason"] == "no_never_treated"
    assert effects.not_estimable_sentence(PROCESSING, info, "en").endswith("no county without the reform is left to "
                                                                           "compare with.")
    table, regions = _results({"A": None, "B": None})
    assert impact.reform_effects(table, regions.assign(reform_period=None))["not_estimable"][PROCESSING] == {
        "reason": "no_reform"}


def test_reform_effects_recovers_a_planted_effect_and_leaves_small_cells_out():
    counties = {"A": "2023Q3", "B": "2023Q3", "C": "2024Q1", "D": "2024Q1", "E": None, "F": None, "G": None}
    table, regions = _results(counties, effect=-3.0)
    table.loc[(table["region"] == "E") & (table["period"] == "2023Q1"), ["value", "n"]] = [500.0, 3]  # small: left out
    out = impact.reform_effects(table, regions)
    cs = out["estimates"][0]
    assert cs["method"] == "callaway_santanna" and cs["n_clusters"] == 7 and cs["n_treated"] == 4
    assert cs["ci_low"] < -3.0 < cs["ci_high"] and abs(cs["estimate"] + 3) < 0.2
    assert effects.effect_sentence(cs, "zh").endswith("这是改善。")


def test_sentence_direction_and_unclear_interval():
    row = {"indicator": "outcomes.need_fulfilment_rate", "method": "callaway_santanna", "estimate": -0.05,
           "ci_low": -0.08, "ci_high": -0.02, "n_clusters": 12, "n_treated": 5}
    zh = effects.effect_sentence(row, "zh")
    assert zh.startswith("改革后，需求满足率平均下降 5.0 个百分点（95% 区间 -8.0 至 -2.0 个百分点")
    assert zh.endswith("这是变差，需关注。")  # higher is better
    en = effects.effect_sentence({**row, "ci_high": 0.01}, "en")
    assert "need fulfilment rate fell by 5.0 percentage points" in en
    assert en.endswith("The interval contains 0: no clear effect.")


def _report(results_path, region, lang):
    from evalkit.report.notebook import Report
    from evalkit.report.parameters import check_parameters

    params = check_parameters(data_path="", results_path=str(results_path), region=region, period="", lang=lang,
                              targets_path="", min_cell=10, by="hukou", params="{}")
    report = Report(load_data(results_path), params)
    shown: list[str] = []
    report.show = shown.append  # the HTML each section emits, without a kernel
    return report, shown


def test_skipped_indicators_and_a_results_file_without_estimates(zh_batch):
    report, shown = _report(zh_batch.results, "R00", "zh")
    report.data.skipped = {"outcomes.exit_rate": "needs the household_periods table (household, period, status, "
                                                 "income, in assistance), which the package does not have",
                           "access.need_rate": "not an outcomes indicator"}
    report.skipped_indicators("outcomes")
    assert shown == ["<h2>未计算的指标</h2>",
                     '<p class="note">退出救助率：需要家庭分期动态表（household_periods），数据包中没有该表</p>']
    shown.clear()
    report.data.impact = {}  # a results file written before the estimates were kept
    report.reform_impact()
    assert shown[1] == '<p class="note">结果文件中没有改革成效估计（请用当前版本重新运行 evalkit report）。</p>'
    shown.clear()
    report.data.impact = {"estimates": [], "event_study": None, "headline": None, "window": [-4, 4],
                          "not_estimable": {PROCESSING: {"reason": "no_never_treated"}}}
    report.reform_impact()
    assert shown[1] == '<p class="note">无法估计改革对审批办理天数的效果：没有始终未实施改革的县区可作对照。</p>'
    shown.clear()
    report.data.impact = {"estimates": [], "event_study": None, "headline": None, "window": [-4, 4],
                          "not_estimable": {i: {"reason": "no_reform"} for i in impact.REPORT_INDICATORS}}
    report.reform_impact()
    assert shown[1:] == ['<p class="note">无法估计改革效果：数据中没有任何地区的改革起始期（regions.reform_period）。</p>']
