"""Reports end to end: every notebook executed on a small synthetic package in both
languages, one self-contained HTML document per region, values equal to the indicator
table, resume, byte-identical reruns, failure isolation, the PDF (fonts, page numbers,
contents) and a screenshot in headless Chromium.

One batch (Chinese, every region) and one single-region report (English, own targets,
PDF) are rendered once per module and shared by the tests.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import report_part

import evalkit
from evalkit.data.synth import generate
from evalkit.indicators.catalogue import load_catalogue
from evalkit.report import render_all, render_report
from evalkit.report.data import data_hash, load_data
from evalkit.report.execute import execute, find_templates
from evalkit.report.html import find_chromium, pdf_available, screenshot
from evalkit.report.present import cell_text
from evalkit.report.scorecard import load_targets, scorecard
from evalkit.report.text import format_count, format_counted, format_interval, format_value, service_label

pytestmark = pytest.mark.filterwarnings("error:Glyph .* missing")  # kernels raise MissingGlyphError themselves

CHROMIUM = find_chromium()
PDF = pdf_available()
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
AVAIL, COVER = "access.availability_rate", "access.coverage_rate"


EMPTY, EMPTY_NAME = "R0104", "新设县"  # a county in the regions table without any household, record or point


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = tmp_path_factory.mktemp("report-data") / "pkg"
    generate(out, households=2000, regions=3, periods=4, seed=5)  # R00 > R01 > R0101..R0103
    regions = pq.read_table(out / "regions.parquet")
    rows = regions.to_pylist() + [{"region_id": EMPTY, "name": EMPTY_NAME, "parent_id": "R01", "level": "county",
                                   "reform_period": None}]
    pq.write_table(pa.Table.from_pylist(rows, regions.schema), out / "regions.parquet")
    return out


@pytest.fixture(scope="module")
def zh_batch(package, tmp_path_factory):
    out = tmp_path_factory.mktemp("report-zh")
    t0 = time.perf_counter()
    batch = render_all(package, out, lang="zh", workers=2, progress=False, log=lambda m: None)
    return batch, time.perf_counter() - t0


@pytest.fixture(scope="module")
def targets_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("targets") / "targets.yaml"
    path.write_text(f"{AVAIL}: 0.25\n{COVER}: 0.3\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def en_single(package, targets_file, zh_batch, tmp_path_factory):
    out = tmp_path_factory.mktemp("report-en") / "R0101"
    out.mkdir()
    shutil.copy(zh_batch[0].results, out)  # same data and settings: reused, not recomputed
    outcome = render_report(package, "R0101", out, period="2023Q3", lang="en", pdf=PDF,
                            targets=targets_file, log=lambda m: None)
    return outcome


def html_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.html"))


def test_batch_renders_every_region_once(zh_batch, package):
    batch, _ = zh_batch
    assert [r.region for r in batch.regions] == ["R00", "R01", "R0101", "R0102", "R0103", EMPTY]
    assert all(r.status == "ok" for r in batch.regions), [r.error for r in batch.regions]
    assert batch.results == batch.out / "results.parquet"  # computed once, shared by all notebooks
    assert not list(batch.out.glob("*/results.parquet"))
    top = batch.index.read_text(encoding="utf-8")
    for r in batch.regions:
        assert sorted(p.name for p in r.out_dir.iterdir()) == ["index.html", "manifest.json"]  # one document
        assert f'<td class="wrap"><a href="{r.region}/index.html">{r.region}</a></td>' in top
        index = r.index.read_text(encoding="utf-8")
        toc = index[index.index('<nav class="toc">'):index.index("</nav>")]
        assert '<a href="#part-scorecard">指标计分卡</a>' in toc and '<a href="#part-access">服务可及性与可得性</a>' in toc
        assert '<a href="#part-coordination">' + load_catalogue().families["coordination"]["name_zh"] in toc
        assert toc.index('<a href="#part-coordination">') < toc.index('<a href="#part-fairness">公平性</a>')
        # cover, then 摘要, then the contents, then the parts; every contents link has its target
        assert index.index('<section class="cover">') < index.index('<h2 id="summary">摘要</h2>') < index.index(
            '<nav class="toc">') < index.index('<section class="part" id="part-scorecard">')
        assert all(f'id="{a}"' in index for a in re.findall(r'href="#([^"]+)"', toc))
        assert f"区划代码 {r.region}" in index and "数据指纹由数据包全部文件的内容计算而来" in index
    summary = json.loads((batch.out / "summary.json").read_text(encoding="utf-8"))
    assert summary["failures"] == [] and summary["period"] == "2023Q4"


@pytest.mark.parametrize("which", ["zh", "en"])
def test_html_is_self_contained_without_code_or_errors(zh_batch, en_single, which):
    root = zh_batch[0].out if which == "zh" else en_single.out_dir
    files = html_files(root)
    assert len(files) >= 1
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert text.startswith("<!DOCTYPE html>") and f'<html lang="{which}">' in text, path
        for bad in ("http://", "https://", "<script", "<link", "Traceback", "papermill-error",
                    "An Exception was encountered", "output_error", "output_stderr", "jp-InputArea",
                    "report = start(", "import "):
            assert bad not in text, f"{bad!r} in {path}"
        for img in re.findall(r"<img [^>]*>", text):
            assert 'src="data:image/svg+xml;base64,' in img, img
    scorecard_html = report_part(root / ("R00" if which == "zh" else ""), "scorecard")
    assert scorecard_html.count("<img ") >= 3  # per family: status matrix and/or tiles, trends


def test_no_identity_number_or_name_in_any_report_file(zh_batch, en_single, package):
    hh = pd.read_parquet(package / "households.parquet", columns=["id_number", "name"])
    assert hh["id_number"].notna().all() and hh["name"].notna().all()  # the input really has them
    files = [p for root in (zh_batch[0].out, en_single.out_dir) for p in root.rglob("*") if p.is_file()]
    assert any(p.suffix == ".parquet" for p in files) and any(p.name == "manifest.json" for p in files)
    text = "\n".join(pd.read_parquet(p).to_csv() if p.suffix == ".parquet" else p.read_bytes().decode("utf-8", "replace")
                     for p in files if p.suffix != ".pdf")  # PDFs print the checked HTML
    assert not set(re.findall(r"\d{17}[\dXx]", text)) & set(hh["id_number"])
    assert not [name for name in set(hh["name"]) if name in text]


def test_results_file_equals_the_indicator_table(zh_batch, package):
    batch, _ = zh_batch
    shared = load_data(batch.results)
    # every indicator, as the report computes them: which cells are suppressed depends on all the run publishes
    fresh = evalkit.compute(evalkit.load(package), by=["hukou", "urban"], min_cell=10).published()
    cols = ["indicator", "service_type", "region", "period", "group_by", "group"]
    a = shared.table[shared.table.family == "access"].sort_values(cols).reset_index(drop=True)
    b = fresh[fresh.family == "access"].sort_values(cols).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    assert shared.data_hash == data_hash(package)
    provenance = evalkit.IndicatorResults.read_provenance(batch.results)  # the results file carries it
    assert provenance == shared.provenance and provenance["data"]["sha256"] == data_hash(package)
    assert provenance["catalogue"]["version"] == load_catalogue().version and provenance["published"] is True
    footer = (batch.out / "R00" / "index.html").read_text(encoding="utf-8")  # on the cover
    assert f"指标目录版本：{load_catalogue().version}" in footer and "计算参数：" in footer


@pytest.mark.parametrize("region", ["R00", "R0102"])
def test_scorecard_shows_the_table_values(zh_batch, region):
    batch, _ = zh_batch
    data = load_data(batch.results)
    text = report_part(batch.out / region, "scorecard")
    card = scorecard(data.table, load_targets(), region, "2023Q4")
    checked = 0
    for r in card.itertuples():
        if r.indicator not in (AVAIL, COVER, "access.accessibility_rate"):
            continue
        name = {AVAIL: "可得率", COVER: "服务覆盖率", "access.accessibility_rate": "可及率"}[r.indicator]
        cells = (f'<td class="wrap">{name}</td><td>{service_label(r.service_type, "zh")}</td>'
                 f'<td class="num">{format_value(r.value, "rate", "zh")}</td>'
                 f'<td>{format_interval(r.ci_low, r.ci_high, "rate", "zh")}</td>'
                 f'<td class="num">{format_value(r.target, "rate", "zh")}</td>')
        assert cells in text, cells
        checked += 1
    assert checked == 25
    # a specific number, formatted independently of the report code
    # (a published one: a county's coverage may be suppressed to protect a small cell)
    t = data.table
    row = t[t.indicator.isin([COVER, AVAIL]) & (t.region == region) & (t.period == "2023Q4") & (t.group_by == "")
            & ~t.suppressed].iloc[0]
    assert f"{row.value * 100:.1f}%" in text


def test_region_without_data_shows_no_data(zh_batch):
    """R0104 has no household, record or service point: its own report renders, every
    scorecard status is "no data" (无数据; never a colour, "suppressed" or 0), and its
    parent's sub-region tables and composite indices show it as 无数据."""
    batch, _ = zh_batch
    data = load_data(batch.results)
    mine = data.table[data.table.region == EMPTY]
    assert not mine.empty and mine.value.isna().all() and (mine.n == 0).all()
    card = report_part(batch.out / EMPTY, "scorecard")
    badges = re.findall(r'<span class="badge badge-([a-z_]+)">', card)
    assert badges and set(badges) <= {"no_data", "no_target"} and "no_data" in badges  # no colour anywhere
    assert '<span class="badge badge-no_data">无数据</span>' in card and '<td class="num">0.0%</td>' not in card
    for part in ("access", "coordination"):
        text = report_part(batch.out / "R01", part)
        assert f"<th>{EMPTY_NAME}</th>" in text, part  # a column of the sub-region table
        # the sub-region table's rows end with the empty county's cell
        assert re.search(r'<td class="num">无数据</td></tr>', text), part
    coordination = report_part(batch.out / "R01", "coordination")
    assert re.search(rf'<tr><td class="wrap">{EMPTY_NAME}</td>(<td class="num">无数据</td>)+</tr>', coordination)


def test_access_part_shows_the_supply_and_need_table(zh_batch):
    batch, _ = zh_batch
    data = load_data(batch.results)
    text = report_part(batch.out / "R0101", "access")
    t = data.table
    view = t[(t.region == "R0101") & (t.period == "2023Q4") & (t.group_by == "")].set_index(["indicator", "service_type"])
    need = view.loc[("access.accessibility_rate", "medical")]
    got = view.loc[(AVAIL, "medical")]
    expected = (f'<td class="wrap">医疗</td><td class="num">{format_count(need.denominator)}</td>'
                f'<td class="num">{format_count(need.numerator)}</td><td class="num">{format_count(got.numerator)}</td>'
                f'<td class="num">{format_value(need.value, "rate")}</td><td class="num">{format_value(got.value, "rate")}</td>')
    assert expected in text
    for heading in ("主要指标", "救助服务需求、可及与可得情况", "分服务类型", "分群体比较: 户籍"):
        assert f">{heading}</h2>" in text


def test_coordination_part_shows_the_table_values(zh_batch, package):
    batch, _ = zh_batch
    data = load_data(batch.results)
    text = report_part(batch.out / "R01", "coordination")
    t = data.table
    view = t[(t.region == "R01") & (t.period == "2023Q4") & (t.group_by == "") & (t.service_type == "")
             & (t.family == "coordination")]
    catalogue = load_catalogue()
    shown = 0
    for r in view.itertuples():
        unit = catalogue[r.indicator].unit
        cells = (f'<td class="wrap">{catalogue[r.indicator].name_zh}</td>'
                 f'<td class="num">{cell_text(r.value, unit, r.n, "zh", r.n_censored)}</td>')
        assert cells in text, cells
        if catalogue[r.indicator].counts == "referrals":  # the key figures count referrals, not households
            counted = format_counted(r.n, "referrals", "zh")  # "—" where suppressed
            assert re.search(rf'{re.escape(cells)}<td>[^<]*</td><td class="num">{re.escape(counted)}</td>', text), cells
        shown += 1
    assert shown >= 20
    for heading in ("主要指标", "各期变化", "下辖地区比较", "分服务类型", "分群体比较: 户籍"):
        assert f">{heading}</h2>" in text, heading
    reform = evalkit.load(package).regions.set_index("region_id").loc["R01", "reform_period"]
    if isinstance(reform, str) and reform:
        assert f"改革起始期（{reform}）" in text
    # composite indices of R01's three counties, scored 0-100 within the period
    assert "下级地区综合指数" in text and "一致性指数" in text


def test_english_report_with_own_targets(en_single, targets_file, package):
    assert en_single.status == "ok", en_single.error
    out = en_single.out_dir
    text = report_part(out, "scorecard")
    assert "<title>示范市1第1县 · Evaluation report · 2023Q3</title>" in (out / "index.html").read_text(encoding="utf-8")
    data = load_data(out / "results.parquet")
    card = scorecard(data.table, load_targets(targets_file), "R0101", "2023Q3")
    avail = card[card.indicator == AVAIL].iloc[0]
    assert avail.target == 0.25
    status = {"green": "On target", "amber": "Near target", "red": "Off target"}[avail.status]
    assert (f'<td class="wrap">Availability rate</td><td>Basic living</td>'
            f'<td class="num">{format_value(avail.value, "rate", "en")}</td>') in text
    assert '<td class="num">25.0%</td>' in text and f'<span class="badge badge-{avail.status}">{status}</span>' in text
    assert ">Performance improvement plan</h2>" in text
    cover = (out / "index.html").read_text(encoding="utf-8")
    cover = cover[cover.index('<section class="cover">'):cover.index("</section>")]
    assert "Targets: targets.yaml" in cover
    catalogue = load_catalogue()
    assert f"Indicator catalogue: version {catalogue.version} (definitions {catalogue.sha256[:12]})" in cover
    assert "Parameters: " in cover and "nearby_km=3" in cover and "Data extracted on: " in cover
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["parameters"]["lang"] == "en" and manifest["parameters"]["period"] == "2023Q3"
    assert manifest["parameters"]["targets_path"] == str(targets_file.resolve())
    assert manifest["data"]["sha256"] == data_hash(package)
    assert manifest["evalkit_version"] == evalkit.__version__
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", manifest["created"])
    assert all((out / f).exists() for f in manifest["files"])


def font_size(char: dict) -> float:
    """The font size of a character pdfplumber extracted, rotated or not: its box is the
    advance by the font size, turned by the text matrix (``size`` is the box's height,
    which for a rotated axis label is its advance)."""
    import math

    a, b = char["matrix"][:2]
    r = math.hypot(a, b)
    cos, sin = abs(a) / r, abs(b) / r
    if cos >= sin:
        return (char["height"] - char["adv"] * sin) / cos
    return (char["width"] - char["adv"] * cos) / sin


@pytest.mark.skipif(not PDF, reason="WeasyPrint or Pango is not installed")
def test_pdf_is_one_document_with_page_numbers_contents_and_embedded_fonts(en_single):
    """One PDF: every font embedded and none of Type 3, no text under 8 pt, a page number
    on every page but the cover, and contents entries that give the page their part starts on."""
    import pdfplumber
    from pypdf import PdfReader

    out = en_single.out_dir
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["files"] == ["index.html", "report.pdf"]
    reader = PdfReader(out / "report.pdf")
    fonts = {}
    for pg in reader.pages:
        for font in (pg["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            fonts[font.get("/BaseFont", "?")] = font
    assert fonts
    for name, font in fonts.items():
        assert font["/Subtype"] != "/Type3", name
        descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
        descriptor = descendant["/FontDescriptor"].get_object()
        assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), f"{name} not embedded"
    with pdfplumber.open(out / "report.pdf") as pdf:
        pages = [p.extract_text() or "" for p in pdf.pages]
        sizes = {round(font_size(c), 1) for p in pdf.pages for c in p.chars if c["text"].strip()}
    assert min(sizes) >= 8 - 0.05, sorted(sizes)[:5]
    n = len(pages)
    assert n >= 10 and f"1 / {n}" not in pages[0] and all(f"{k} / {n}" in pages[k - 1] for k in range(2, n + 1))
    assert "Contents" in pages[2] or "Contents" in pages[1]
    start = next(k for k, text in enumerate(pages, 1) if "Indicator scorecard" in text.splitlines()[1:3])
    contents = "\n".join(pages[1:start - 1])
    assert re.search(rf"Indicator scorecard\s*\.*\s*{start}\b", contents), contents[:400]


def test_second_run_is_skipped(zh_batch, package):
    batch, _ = zh_batch
    stamps = {p: p.stat().st_mtime_ns for p in html_files(batch.out) if p.parent != batch.out}
    assert len(stamps) == 6
    again = render_all(package, batch.out, lang="zh", workers=2, progress=False, log=lambda m: None)
    assert [r.status for r in again.regions] == ["skipped"] * 6  # R00, R01, R0101-R0104
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # nothing rewritten


def test_forced_rerun_gives_identical_bytes(en_single, package, targets_file):
    out = en_single.out_dir
    before = {p.name: p.read_bytes() for p in html_files(out)}
    created = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["created"]
    again = render_report(package, "R0101", out, period="2023Q3", lang="en", pdf=PDF,
                          targets=targets_file, force=True, log=lambda m: None)
    assert again.status == "ok"
    after = {p.name: p.read_bytes() for p in html_files(out)}
    assert sorted(after) == ["index.html"]
    assert after == before
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8"))["created"] >= created


def test_failing_region_is_reported_and_does_not_stop_the_batch(package, zh_batch, tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "access.py").write_text(
        '# %% tags=["parameters"]\n'
        'data_path = ""\nresults_path = ""\nregion = ""\nperiod = ""\nlang = "zh"\ntargets_path = ""\nmin_cell = 10\n'
        'by = ""\nparams = "{}"\n'
        "# %%\nfrom evalkit.report.notebook import start\n"
        "report = start(data_path=data_path, results_path=results_path, region=region, period=period,\n"
        "               lang=lang, targets_path=targets_path, min_cell=min_cell, by=by, params=params)\n"
        "report.title('access')\n"
        "# %%\nassert region != 'R0102', 'deliberate failure'\n", encoding="utf-8")
    # A template for a family without indicators is skipped, not rendered empty.
    families = set(load_catalogue().families) - set(load_data(zh_batch[0].results).families())
    empty = sorted(families)[0] if families else None
    if empty:
        shutil.copy(NOTEBOOKS / "access.py", templates / f"{empty}.py")
    out = tmp_path / "out"
    out.mkdir()
    shutil.copy(zh_batch[0].results, out)  # reused: the test is about the batch, not computing
    run = subprocess.run([sys.executable, "-m", "evalkit.cli", "report", str(package), "--all-regions",
                          "--out", str(out), "--notebooks", str(templates), "--workers", "2"],
                         capture_output=True, text=True)
    assert run.returncode == 1, run.stderr
    assert "failed R0102 示范市1第2县: access.py cell [4]: AssertionError: deliberate failure" in run.stderr
    assert run.stdout.strip().splitlines()[-1] == str(out / "index.html")
    assert "6 regions, period 2023Q4: 5 rendered, 0 up to date, 1 failed" in run.stdout
    assert not (out / "R0102" / "manifest.json").exists() and not (out / "R0102" / "index.html").exists()
    assert (out / "_failed" / "R0102" / "access.ipynb").exists()  # kept for debugging
    for region in ("R00", "R01", "R0101", "R0103"):
        manifest = json.loads((out / region / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["files"] == ["index.html"] and [p["name"] for p in manifest["parts"]] == ["access"]
        if empty:
            assert manifest["skipped_parts"] == {empty: "no indicators of this family could be computed from the data"}
            name = load_catalogue().families[empty]["name_zh"]
            assert f"未生成的部分：{name}" in (out / region / "index.html").read_text(encoding="utf-8")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert [f["region"] for f in summary["failures"]] == ["R0102"]
    assert summary["failures"][0]["error"] == {"notebook": "access", "cell": 4, "error": "AssertionError: deliberate failure"}
    assert "R0102 示范市1第2县: access.py cell [4]: AssertionError: deliberate failure" in \
        (out / "index.html").read_text(encoding="utf-8")


def test_notebook_runs_standalone_from_a_data_package(tiny, tmp_path):
    """Without a results file the notebook computes the indicators itself (the tiny package)."""
    template = next(t for t in find_templates() if t.name == "scorecard")
    params = {"data_path": str(tiny), "results_path": "", "region": "A", "period": "2024Q1", "lang": "en",
              "targets_path": "", "min_cell": 2, "by": "hukou", "params": '{"push_days": 5}'}
    nb = execute(template, params, tmp_path, timeout=300)
    html = "".join(o.get("data", {}).get("text/html", "") for c in nb.cells for o in c.get("outputs", []))
    assert "甲县 · Indicator scorecard" in html and "Cells counting fewer than 2 units" in html
    assert f"Indicator catalogue: version {load_catalogue().version}" in html
    # the parameters are shown in the appendix, which runs standalone too
    template = next(t for t in find_templates() if t.name == "appendix")
    nb = execute(template, params, tmp_path, timeout=300)
    html = "".join(o.get("data", {}).get("text/html", "") for c in nb.cells for o in c.get("outputs", []))
    assert "甲县 · Methods and data-quality appendix" in html
    assert '<td class="wrap">Push deadline (push_days)</td><td class="num">5</td><td>days</td>' in html
    assert "Groups compared: Hukou." in html


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")
def test_screenshot_shows_chinese_title_and_chart(zh_batch, tmp_path):
    import matplotlib.image

    page = zh_batch[0].out / "R00" / "index.html"
    assert '<h1 class="cover-title">示范省</h1>' in page.read_text(encoding="utf-8")
    png = screenshot(page, tmp_path / "shot.png", width=1280, height=6000)  # cover, 摘要, contents, scorecard
    pixels = matplotlib.image.imread(png)[..., :3]
    assert pixels.shape[:2] == (6000, 1280)
    assert pixels.std() > 0.1  # not blank
    red = (pixels[..., 0] > 0.6) & (pixels[..., 1] < 0.3) & (pixels[..., 2] < 0.3)
    assert red.sum() > 2000  # the status matrix's red cells are drawn
    title = pixels[:200]
    assert (title.mean(axis=2) < 0.3).sum() > 300  # dark title glyphs at the top


def test_publish_moves_manifest_last_and_drops_stale_files(tmp_path):
    from evalkit.report.publish import publish

    out, tmp = tmp_path / "out", tmp_path / "tmp"
    out.mkdir()
    tmp.mkdir()
    (out / "old.pdf").write_text("stale")
    (out / "keep.csv").write_text("not ours")
    (out / "manifest.json").write_text(json.dumps({"files": ["old.pdf", "a.html"]}))
    (tmp / "a.html").write_text("new")
    publish(tmp, out, {"files": ["a.html"]})
    assert sorted(p.name for p in out.iterdir()) == ["a.html", "keep.csv", "manifest.json"]
    assert json.loads((out / "manifest.json").read_text())["files"] == ["a.html"]


def test_indicator_parameters_reach_results_resume_key_and_methods(zh_batch, package, tmp_path):
    """``--omission-window-days 30`` recomputes the results (coordination numbers change,
    access ones do not), renders again instead of resuming, and the methods section says 30."""
    out = tmp_path / "R0101"
    shutil.copytree(zh_batch[0].out / "R0101", out)  # a finished default report: must not be reused
    shutil.copy(zh_batch[0].results, out)
    run = subprocess.run([sys.executable, "-m", "evalkit.cli", "report", str(package), "--region", "R0101",
                          "--out", str(out), "--omission-window-days", "30", "--by", "hukou"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "computed indicators" in run.stderr and "rendered in" in run.stdout
    keys = ["indicator", "service_type", "region", "period", "group_by", "group"]
    default = load_data(zh_batch[0].results).table.set_index(keys)
    changed = load_data(out / "results.parquet")
    assert changed.params["omission_window_days"] == 30 and changed.groups == ("hukou",)
    both = changed.table.set_index(keys).join(default[["value"]].rename(columns={"value": "default"}), how="inner")
    differs = (both["value"] - both["default"]).abs() > 1e-9  # access differs by float summation order only
    assert differs[both["family"] == "coordination"].any()
    assert not differs[both["family"] == "access"].any()
    assert set(differs[differs].index.get_level_values("indicator")) >= {"coordination.omitted_aid_rate"}
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["parameters"]["params"]["omission_window_days"] == 30
    assert manifest["key"]["params"]["omission_window_days"] == 30 and manifest["key"]["by"] == ["hukou"]
    text = report_part(out, "coordination")
    assert "分群体比较: 户籍" in text and "分群体比较: 城乡" not in text  # --by hukou only
    appendix = report_part(out, "appendix")  # the parameters are shown in the appendix
    methods = appendix[appendix.index(">计算参数</h2>"):]
    assert '<td class="wrap">漏助判定时限（omission_window_days）</td><td class="num">30</td><td>天</td>' in methods
    default_text = report_part(zh_batch[0].out / "R0101", "appendix")
    assert '<td class="wrap">漏助判定时限（omission_window_days）</td><td class="num">90</td>' in default_text


def test_count_columns_say_what_they_count():
    """A hand-made results table for county A in 2024Q1 (no design): the referral acceptance
    rate over 4 referrals (3 accepted: 75%), push timeliness over 10 needs (3 on time: 30%),
    the duplicate aid rate over 8 aided households (4: 50%) and the per-household duplicate
    yuan over the same 8 households (1390 / 8 = 173.75). The key figures and the scorecard
    show "4 转介" / "4 referrals", "10 需求" / "10 needs", "8 户" / "8 households", never
    the referrals or needs as households. Fast: no notebook is run."""
    from evalkit.report import present
    from evalkit.report.scorecard import default_targets

    cat = load_catalogue()
    cells = [("coordination.referral_acceptance_rate", 0.75, 3, 4), ("coordination.push_timeliness_rate", 0.3, 3, 10),
             ("coordination.duplicate_aid_rate", 0.5, 4, 8), ("coordination.duplicate_aid_amount", 173.75, 1390, 8)]
    table = pd.DataFrame([{"indicator": i, "family": cat[i].family, "service_type": "", "region": "A",
                           "period": "2024Q1", "group_by": "", "group": "", "value": v, "numerator": num,
                           "denominator": n, "ci_low": v * 0.9, "ci_high": v * 1.1, "n": n, "suppressed": False}
                          for i, v, num, n in cells])
    expected = {"zh": ["4 转介", "10 需求", "8 户", "8 户"], "en": ["4 referrals", "10 needs", "8 households", "8 households"]}
    card = scorecard(table, default_targets(), "A", "2024Q1")
    for lang, counts in expected.items():
        key = present.key_figures_frame(table, lang)
        heading = {"zh": "计数", "en": "Count (n)"}[lang]
        assert list(key[heading]) == counts
        assert list(present.scorecard_frame(card, lang)[heading]) == counts
        assert "户数" not in key.columns and "Households" not in key.columns
    names = present.key_figures_frame(table, "en")["Indicator"].tolist()
    assert names[3] == "Yuan in duplicate aid per aided household"
    definitions = present.definitions_frame([cat[i] for i, *_ in cells], "zh")
    assert list(definitions["计数对象"]) == ["转介", "需求", "户", "户"]


def _parts_shown(results: Path, region: str, monkeypatch, whole_file: bool) -> list[str]:
    """Every part's markup for ``region``, run in this process with the results read as
    ``evalkit report``'s kernels read them, or (``whole_file``) every region's rows."""
    import jupytext

    from evalkit.report import notebook

    shown: list[str] = []
    monkeypatch.setattr(notebook.Report, "show", lambda self, markup: shown.append(markup))
    if whole_file:
        monkeypatch.setattr(notebook, "_read_results",
                            lambda path, region, min_cell: (load_data(path, min_cell=min_cell), None))
    notebook._LOADED.clear()
    params = dict(data_path="", results_path=str(results), region=region, period="", lang="zh", targets_path="",
                  min_cell=10, by="hukou,urban", params="{}", export_dir="")
    for template in find_templates():
        space = dict(params)
        for cell in jupytext.read(template.path).cells:
            if cell.cell_type == "code" and "parameters" not in cell.metadata.get("tags", []):
                exec(compile(cell.source, template.name, "exec"), space)  # noqa: S102 - our own templates
    notebook._LOADED.clear()
    return shown


@pytest.mark.parametrize("region", ["R00", "R01", "R0101", EMPTY])
def test_a_region_read_alone_shows_what_the_whole_file_shows(zh_batch, region, monkeypatch):
    """Kernels read only the region's and its sub-regions' rows, once: every part shows the same."""
    alone = _parts_shown(zh_batch[0].results, region, monkeypatch, whole_file=False)
    whole = _parts_shown(zh_batch[0].results, region, monkeypatch, whole_file=True)
    assert len(alone) > 20 and alone == whole


def test_nbformat_imports_without_the_iri_grammars_and_still_validates():
    """execute.import_nbformat leaves jsonschema's IRI checker out, and nothing else: notebooks
    still validate, and rfc3987_syntax stays importable for other code."""
    code = ("import sys\nfrom evalkit.report.execute import import_nbformat\nimport_nbformat()\n"
            "assert 'rfc3987_syntax' not in sys.modules\nimport nbformat\n"
            "nbformat.validate(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('x = 1')]))\n"
            "bad = nbformat.v4.new_notebook(); bad.cells = [{'cell_type': 'nonsense'}]\n"
            "try:\n    nbformat.validate(bad)\nexcept nbformat.ValidationError:\n    print('invalid')\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parents[1])
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "invalid"
