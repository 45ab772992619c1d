"""Shared fixtures: a tiny hand-checkable package and synthetic packages with planted truth."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from evalkit.data.privacy import check_digit
from evalkit.data.synth import generate

# Tests read their packages afresh: the converted-copy cache is off unless a test turns it on.
os.environ["EVALKIT_CACHE_DIR"] = "off"


def id_number(first17: str) -> str:
    return first17 + check_digit(first17)


# Two counties A (reform from 2024Q2) and B under province P. Values in comments are
# the hand-computed expectations used in test_fixture.py.
REGIONS = pd.DataFrame({
    "区划代码": ["P", "A", "B"],
    "地区名称": ["省", "甲县", "乙县"],
    "上级区划代码": [None, "P", "P"],
    "层级": ["province", "county", "county"],
    "改革起始期": [None, "2024Q2", None],
})
HOUSEHOLDS = pd.DataFrame({
    "户编号": ["h1", "h2", "h3", "h4", "h5", "h6"],
    "区县": ["A", "A", "A", "A", "B", "B"],
    "户籍": ["本地", "本地", "外地", "外地", "本地", "外地"],
    "城镇": ["是", "否", "是", "否", "是", "否"],
    "家庭人口": [3, 1, 2, 4, 2, 1],
    "人均收入": [600, 800, 500.5, 1200, 900, 300],
    "救助身份": ["低保", "低边", "无", "特困", "低保", "无"],
    "身份证号": [id_number("11010519491231002"), id_number("33010219800101123"),
                id_number("33010219900202234"), id_number("33010219700303345"),
                id_number("44010619850404456"), id_number("44010619950505567")],
    "姓名": ["张三丰", "李四光", "王五岳", "赵六合", "钱七巧", "孙八斗"],
})
NEEDS = pd.DataFrame({
    "需求编号": ["n1", "n2", "n3", "n4", "n5", "n6", "n7"],
    "户编号": ["h1", "h2", "h3", "h1", "h5", "h5", "h6"],
    "服务类型": ["照料护理", "照料护理", "照料护理", "医疗", "照料护理", "照料护理", "医疗"],
    "识别日期": ["2024-01-10", "2024/1/12", "2024年2月3日", "20240115", "2024-01-20", "2024-02-01", "2024-04-05"],
    "附近有供给": ["是", "否", "是", "是", "是", "否", "否"],
    "发现渠道": ["申请", "网格员", "申请", "数据预警", "申请", "慈善", "转介"],
})
ASSISTANCE = pd.DataFrame({
    "记录编号": ["a1", "a2", "a3", "a4", "a5", "a6"],
    "户编号": ["h1", "h3", "h2", "h5", "h1", "h6"],
    "帮扶类别": ["照料护理", "照料护理", "照料护理", "照料护理", "医疗", "医疗"],
    "救助形式": ["服务", "实物", "现金", "服务", "服务", "服务"],
    "金额": [300, 150, 500, 200, 0, 80],
    "开始日期": ["2024-01-15", "2023-12-01", "2024-01-20", "2024-04-01", "2023-06-01", "2024-04-10"],
    "结束日期": ["2024-02-15", "2024-01-05", "2024-01-20", "2024-05-01", None, "2024-04-30"],
})


def write_tiny(directory: Path, with_descriptor: bool = True) -> Path:
    """The tiny package with Chinese headers in mixed encodings: GBK, UTF-8 with BOM, UTF-8."""
    directory.mkdir(parents=True, exist_ok=True)
    REGIONS.to_csv(directory / "regions.csv", index=False, encoding="utf-8")
    HOUSEHOLDS.to_csv(directory / "households.csv", index=False, encoding="gbk")
    NEEDS.to_csv(directory / "needs.csv", index=False, encoding="gb18030")
    ASSISTANCE.to_csv(directory / "assistance.csv", index=False, encoding="utf-8-sig")
    if with_descriptor:
        (directory / "datapackage.json").write_text(json.dumps({"name": "tiny", "frequency": "quarter"}))
    return directory


@pytest.fixture
def tiny(tmp_path) -> Path:
    return write_tiny(tmp_path / "tiny")


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "pkg"
    generate(out, households=30_000, regions=8, periods=4, seed=11)
    return out


@pytest.fixture(scope="session")
def synthetic_weighted(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synthw") / "pkg"
    generate(out, households=30_000, regions=8, periods=4, seed=12, weighted=True)
    return out


@pytest.fixture(scope="session")
def synthetic_results(synthetic):
    import evalkit

    return evalkit.compute(evalkit.load(synthetic), by=["hukou"])


@pytest.fixture(scope="session")
def synthetic_weighted_results(synthetic_weighted):
    import evalkit

    return evalkit.compute(evalkit.load(synthetic_weighted))


def report_part(out_dir: Path, name: str) -> str:
    """One part of a rendered report (``index.html`` is the whole report as one page): the
    ``<section>`` of template ``name``; the scorecard's with the summary (摘要) that the
    document places before the contents."""
    from evalkit.report.document import SUMMARY

    text = (Path(out_dir) / "index.html").read_text(encoding="utf-8")
    start = text.index(f'<section class="part" id="part-{name}">')
    end = text.find('<section class="part" ', start + 1)
    part = text[start:end if end > 0 else len(text)]
    if name == "scorecard" and (summary := SUMMARY.search(text)):
        part = summary.group(0) + part
    return part
