"""The methods and data-quality appendix (notebooks/appendix.py), the last part of a region's
report, and where targets come from (catalogue ``target_source``, a ``--targets`` file):
definitions of every indicator shown, the glossary, the reference list, data coverage kept in
the results file's metadata (row counts, validation warnings, no example rows)."""
from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import report_part

from evalkit.indicators.catalogue import load_catalogue, parse_catalogue
from evalkit.indicators.references import cited_references, load_glossary, load_references, uncited
from evalkit.report import present
from evalkit.report.appendix import definitions_table, left_out, left_out_frame, shown_indicators
from evalkit.report.scorecard import load_targets, target_sources

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
FORBIDDEN = re.compile(r"seed ?[0-9]{3}|DOMAIN\.md|seeds/", flags=re.IGNORECASE)


def _raw():
    from importlib import resources

    import yaml

    return yaml.safe_load(resources.files("evalkit.indicators").joinpath("catalogue.yaml").read_text(encoding="utf-8"))


def _entry(raw, indicator_id):
    return next(e for e in raw["indicators"] if e["id"] == indicator_id)


# -- targets and where they come from -------------------------------------------------------

def test_every_default_target_says_where_it_comes_from():
    cat = load_catalogue()
    targeted = [i for i in cat if i.target is not None]
    assert targeted and all(i.target_source for i in targeted)
    assert all(not i.target_source for i in cat if i.target is None)
    for i in targeted:
        assert i.target_source == "default" or re.search(r"\(\d{4}\)", i.target_source), i.id
        assert not FORBIDDEN.search(i.target_source)


@pytest.mark.parametrize("change, message", [
    ({"target_source": None}, "has a default target .* but no target_source"),
    ({"target_source": ""}, "has a default target .* but no target_source"),
    ({"target_source": "a figure someone liked"}, "must cite author or issuer, year"),
    ({"target_source": "seed 001 (2022)"}, "never a file or a working label"),
    ({"target": None}, "has no default target, so it takes no target_source"),
])
def test_a_target_without_a_proper_source_is_a_catalogue_error(change, message):
    raw = _raw()
    entry = _entry(raw, "coordination.processing_days")
    entry.update(change)
    if change.get("target_source", "") is None:
        del entry["target_source"]
    with pytest.raises(ValueError, match=f"coordination.processing_days .*{message}"):
        parse_catalogue(raw)


def test_a_published_target_source_is_kept_as_its_citation():
    raw = _raw()
    _entry(raw, "coordination.processing_days")["target_source"] = "叶涛涛 (2022)《新时代社会救助的多元主体协同机制研究》 (2 个工作日)"
    cat = parse_catalogue(raw)
    assert not cat["coordination.processing_days"].target_default
    sources = target_sources(None, cat)
    assert sources["coordination.processing_days"] == {"kind": "published", "text": cat["coordination.processing_days"].target_source}
    assert present.target_source_text(sources["coordination.processing_days"], "en").startswith("叶涛涛 (2022)")


def test_a_targets_file_marks_its_targets_as_set_by_the_user(tmp_path):
    path = tmp_path / "county-targets.yaml"
    path.write_text("coordination.processing_days: 2\naccess.availability_rate: null\n"
                    "fairness.gini_aid_pc: null\n", encoding="utf-8")
    sources = target_sources(path)
    assert sources["coordination.processing_days"] == {"kind": "user", "text": "county-targets.yaml"}
    assert "access.availability_rate" not in sources  # no target in force: no source
    assert sources["access.accessibility_rate"]["kind"] == "default"
    assert present.target_source_text(sources["coordination.processing_days"], "en") == "set by the user (county-targets.yaml)"
    assert present.target_source_text(sources["coordination.processing_days"], "zh") == "用户设定（county-targets.yaml）"
    assert present.target_source_text(sources["access.accessibility_rate"], "en") == "evalkit default, set your own"
    assert present.target_source_text(sources["access.accessibility_rate"], "zh") == "evalkit默认值，请按本地情况设定"
    # the scorecard's compact column, right after the target
    card = pd.DataFrame({"indicator": ["coordination.processing_days", "access.accessibility_rate", "access.need_rate"],
                         "target": [2.0, 0.8, float("nan")]})
    frame = pd.DataFrame({"Indicator": ["a", "b", "c"], "Target": ["2", "80%", "—"], "Status": ["", "", ""]})
    marked = present.with_target_sources(frame, card, sources, "en")
    assert list(marked.columns) == ["Indicator", "Target", "Target source", "Status"]
    assert list(marked["Target source"]) == ["user", "default", ""]


# -- definitions, glossary, references --------------------------------------------------------

def test_full_definitions_have_one_row_per_indicator_with_target_and_its_source():
    cat = load_catalogue()
    members = cat.family("coordination")
    targets = load_targets(None, cat)
    frame = present.definitions_frame(members, "en", targets, target_sources(None, cat))
    assert len(frame) == len(members)
    assert list(frame.columns) == ["Indicator", "Definition", "Unit", "Counts", "Direction", "Target", "Target source",
                                   "Missing values", "Incomplete periods", "Source"]
    row = frame.iloc[[i.id for i in members].index("coordination.processing_days")]
    assert row["Target source"] == "evalkit default, set your own" and row["Target"] == "3.0 days"
    assert row["Missing values"] == cat["coordination.processing_days"].missing_en
    block = present.definitions_html(frame, "en")
    assert block.count('class="definition"') == len(members)
    assert "Target: 3.0 days (evalkit default, set your own)" in html.unescape(block)
    # the short form the family parts used keeps its columns
    assert list(present.definitions_frame(members, "zh").columns) == ["指标", "计算方法", "计数对象", "方向", "依据"]
    plain = definitions_table(members, targets, target_sources(None, cat))
    assert set(plain.loc[plain["target"].notna(), "target_source"]) == {"default"}


def test_glossary_has_every_term_in_chinese_and_english():
    terms = load_glossary()
    for term in terms:
        assert term.term_zh and term.term_en and term.zh and term.en, term
    text = " ".join(t.term_zh for t in terms)
    for needed in ("可及率", "可得率", "覆盖率", "E2SFCA", "两步移动搜寻法", "Kaplan-Meier", "置信区间", "小单元格抑制",
                   "数据指纹", "区划代码", "低保", "低边", "特困", "支出型", "转介", "未完成期", "集中指数", "泰尔指数",
                   "双重差分"):
        assert needed in text, needed
    region = next(t for t in terms if t.term_zh == "区划代码")
    assert "R00" in region.zh and "name" in region.en


def test_references_cover_every_catalogue_source_by_author_title_and_year():
    cat = load_catalogue()
    for ind in cat:
        assert not uncited(ind.source), (ind.id, uncited(ind.source))
    refs = load_references()
    cited = cited_references([i.source for i in cat])
    assert len(cited) >= 10 and set(cited) <= set(refs)
    for ref in refs:
        line = ref.text()
        assert str(ref.year) in line and ref.title[:10] in line and ref.authors[:2] in line
        assert not FORBIDDEN.search(line)


# -- data coverage -----------------------------------------------------------------------------

def test_left_out_counts_units_and_withheld_cells_of_the_region_and_period():
    cat = load_catalogue()

    def row(ind, service="", group_by="", group="", excluded=0, censored=0, suppressed=False, period="2024Q4"):
        return {"indicator": ind, "region": "A", "period": period, "service_type": service, "group_by": group_by,
                "group": group, "n_excluded": excluded, "n_censored": censored, "suppressed": suppressed}

    table = pd.DataFrame([
        row("coordination.omitted_need_rate", "medical", excluded=2, censored=5),
        row("coordination.omitted_need_rate", "care", censored=1),
        row("coordination.omitted_need_rate", "care", "hukou", "migrant", excluded=9, suppressed=True),
        row("coordination.processing_days", censored=3),
        row("coordination.processing_days", censored=99, period="2024Q3"),
        row("access.need_rate"),
    ])
    shown = shown_indicators(table, "A", "2024Q4", cat)
    assert [i.id for i in shown] == ["access.need_rate", "coordination.omitted_need_rate", "coordination.processing_days"]
    counts = left_out(table, "A", "2024Q4", shown).set_index("indicator")
    # summed over service types, overall rows only; cells of every breakdown
    assert counts.loc["coordination.omitted_need_rate"].to_dict() == {"n_excluded": 2, "n_censored": 6, "suppressed": 1,
                                                                      "cells": 3}
    assert counts.loc["coordination.processing_days", "n_censored"] == 3
    frame = left_out_frame(counts.reset_index(), "en", cat)
    assert len(frame) == 2 and list(frame["Cells not published"]) == ["1 / 3", "0 / 1"]


def test_results_file_keeps_row_counts_and_warnings_without_example_rows(tmp_path):
    import pyarrow.parquet as pq

    from evalkit.data.validation import ValidationReport
    from evalkit.report.data import META_KEY, ReportData, coverage_warnings, load_data, save_data
    from evalkit.results.indicator_results import COLUMNS

    report = ValidationReport("pkg")
    report.add("warning", "households", "households.csv", "id_number", "identity numbers", 2,
               "pseudonymised on load; e.g. 110105194912310021 looked like one",
               examples=["row 3: 张三丰", "row 4: 110105194912310021"])
    warnings = coverage_warnings(report)
    assert warnings == [{"table": "households", "column": "id_number", "check": "identity numbers", "count": 2,
                         "expected": "pseudonymised on load; e.g. [identity number hidden] looked like one"}]
    table = pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})
    data = ReportData(table=table, regions=pd.DataFrame({"region_id": ["A"], "name": ["甲"], "parent_id": [None],
                                                         "level": ["county"], "reform_period": [None]}),
                      periods=["2024Q1"], package="pkg", frequency="quarter", data_hash="0" * 64, min_cell=10,
                      tables={"households": 6, "needs": 7}, warnings=warnings)
    path = save_data(data, tmp_path / "results.parquet")
    raw = pq.read_schema(path).metadata[META_KEY].decode("utf-8")
    assert "张三丰" not in raw and "110105194912310021" not in raw and "row 3" not in raw
    back = load_data(path)
    assert back.tables == {"households": 6, "needs": 7} and back.warnings == warnings
    # a results file written before the coverage was kept still loads, with neither
    meta = json.loads(raw)
    del meta["tables"], meta["warnings"]
    old = pq.read_table(path)
    old = old.replace_schema_metadata({**old.schema.metadata, META_KEY: json.dumps(meta).encode("utf-8")})
    pq.write_table(old, tmp_path / "old.parquet")
    older = load_data(tmp_path / "old.parquet")
    assert older.tables == {} and older.warnings == []


# -- the rendered appendix -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """A county-level package's top-region report of the scorecard and the appendix, in Chinese
    with a targets file and in English without one (same results file)."""
    from evalkit.data.synth import generate
    from evalkit.report.batch import render_report

    base = tmp_path_factory.mktemp("appendix")
    pkg = base / "pkg"
    generate(pkg, households=3000, regions=6, periods=8, seed=2026)
    only = base / "notebooks"
    only.mkdir()
    for name in ("scorecard", "appendix"):
        shutil.copy(NOTEBOOKS / f"{name}.py", only / f"{name}.py")
    targets = base / "county-targets.yaml"
    targets.write_text("coordination.processing_days: 2\n", encoding="utf-8")
    zh = render_report(pkg, "R00", base / "zh", targets=str(targets), notebooks=only, log=lambda m: None)
    (base / "en").mkdir()
    shutil.copy(base / "zh" / "results.parquet", base / "en")
    en = render_report(pkg, "R00", base / "en", lang="en", notebooks=only, log=lambda m: None)
    return {"zh": (zh, base / "zh"), "en": (en, base / "en")}


def part(out: Path, name: str) -> str:
    return report_part(out, name)


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r'src="data:[^"]+"', "", page)))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_appendix_defines_every_indicator_shown_and_lists_its_sources(rendered, lang):
    from evalkit.report.data import load_data
    from evalkit.report.notebook import latest_complete_period

    outcome, out = rendered[lang]
    assert outcome.status == "ok", outcome
    page = part(out, "appendix")
    text = text_of(part(out, "appendix"))
    title = "方法与数据质量附录" if lang == "zh" else "Methods and data-quality appendix"
    assert title in text
    data = load_data(out / "results.parquet")
    period = latest_complete_period(data, "R00")  # what the report defaults to
    shown = shown_indicators(data.table, "R00", period)
    assert shown
    blocks = re.findall(r'<p class="def-name"[^>]*><strong>([^<]*)</strong>', page)
    assert len(blocks) == len(shown)
    for ind in shown:
        assert any(html.unescape(b).startswith(ind.name(lang)) for b in blocks), ind.id
    for heading in (("指标定义", "计算参数", "数字是怎样得出的", "数据覆盖情况", "术语表", "参考文献") if lang == "zh" else
                    ("Indicator definitions", "Parameters", "How the numbers are made", "Data coverage", "Glossary",
                     "References")):
        assert f">{heading}</h2>" in page
    for needle in ("祝建华", "2025", "叶涛涛", "2022", "Luo, W. and Wang, F.", "2003", "Kaplan, E. L. and Meier, P.",
                   "1958", "Benjamini"):
        assert needle in text
    for ref in cited_references([i.source for i in shown]):
        assert html.unescape(ref.text()) in text
    assert not FORBIDDEN.search(text) and "DOMAIN" not in text
    assert re.search(r"(assistance|households)\s+[\d,]+", text)  # the tables' row counts


def test_targets_file_is_marked_in_the_scorecard_and_the_appendix(rendered):
    _, zh = rendered["zh"]
    _, en = rendered["en"]
    appendix_zh = text_of(part(zh, "appendix"))
    assert "用户设定（county-targets.yaml）" in appendix_zh and "evalkit默认值，请按本地情况设定" in appendix_zh
    assert "set by the user" not in text_of(part(en, "appendix"))
    assert "evalkit default, set your own" in text_of(part(en, "appendix"))
    card = part(zh, "scorecard")
    assert "<th>目标来源</th>" in card and ">用户</td>" in card and ">默认</td>" in card
    assert "<th>Target source</th>" in part(en, "scorecard")
    for name in ("scorecard", "appendix"):
        assert not FORBIDDEN.search(text_of(part(zh, name)))
