"""Hostile and broken input (issue: hardening): reads stay inside the package, no spreadsheet
formula survives into a CSV, pseudonym keys are long enough and one person has one pseudonym.

Each case is generated from the small synthetic package of ``tiny_synth`` (no copied files).
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import hmac
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import evalkit
from evalkit.data.io import FORMULA_START, formula_safe
from evalkit.data.privacy import check_digit, normalise_id_number, pseudonym_key
from evalkit.data.synth import generate
from evalkit.errors import PackageError, ParameterError

#: every case is tagged with its outcome now and, as the hardening issue's probe found it, before
#: (named error, correct handling; traceback, silent acceptance, wrong output): bench/corpus_counts.py counts them
corpus = pytest.mark.corpus


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    out = tmp_path_factory.mktemp("hard") / "pkg"
    generate(out, households=300, regions=2, periods=2, seed=3, format="csv")
    return out


@pytest.fixture
def pkg(source, tmp_path):
    copy = tmp_path / "pkg"
    shutil.copytree(source, copy)
    return copy


def _resources(pkg, **paths):
    meta = json.loads((pkg / "datapackage.json").read_text())
    meta["resources"] = [{"name": r["name"], "path": paths.get(r["name"], r["path"])} for r in meta["resources"]]
    (pkg / "datapackage.json").write_text(json.dumps(meta))


# --- disclosure across every output of one run (item 1) ------------------------------------------

RUN_BY = ["hukou", "urban"]
#: columns a suppressed row never publishes (a region without any unit keeps its zeros)
WITHHELD = ["value", "se", "df", "ci_low", "ci_high", "numerator", "denominator", "n", "n_excluded", "n_censored"]
KEY = ["indicator", "service_type", "region", "period", "group_by", "group"]
COUNT_CELL = re.compile(r"^([\d,]+)\s*(households?|needs?|referrals?|service points?|cases?|assistance records?|"
                        r"evaluations?|户|需求|转介|服务点|个案|救助记录|评价)$")
COUNT_HEADER = re.compile(r"households|needs|户|需求")


@pytest.fixture(scope="module")
def one_run(tmp_path_factory):
    """One assessor's run: ``evalkit indicators --by hukou,urban`` and ``evalkit report
    --all-regions`` into one directory (2,000 households, 5 regions, 4 quarters), with the
    unpublished table (every value kept) that the attacker wants."""
    root = tmp_path_factory.mktemp("one-run")
    package, out = root / "pkg", root / "out"
    generate(package, households=2000, regions=3, periods=4, seed=5)
    run = _invoke("indicators", package, "--by", ",".join(RUN_BY), "--out", out / "indicators.csv")
    assert run.exit_code == 0, run.output
    run = _invoke("report", package, "--all-regions", "--by", ",".join(RUN_BY), "--out", out, "--lang", "en",
                  "--workers", "2")
    assert run.exit_code == 0, run.output
    loaded = evalkit.load(package)
    truth = evalkit.compute(loaded, by=RUN_BY, min_cell=10).table
    return out, truth, loaded.regions


def _files_table(path):
    table = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, dtype={"note": str})
    for c in ("service_type", "group_by", "group", "note"):
        table[c] = table[c].fillna("").astype(str)
    table["suppressed"] = table["suppressed"].astype(bool)
    return table


def _numbers(node):
    """Every number in a parsed JSON document."""
    if isinstance(node, dict):
        return [x for v in node.values() for x in _numbers(v)]
    if isinstance(node, list):
        return [x for v in node for x in _numbers(v)]
    return [float(node)] if isinstance(node, (int, float)) and not isinstance(node, bool) else []


def _tables(document: str):
    """The report's tables as rows of cell texts (the first row: the header)."""
    import html as html_mod
    import re as re_mod

    def text(cell):
        return re_mod.sub(r"\s+", " ", html_mod.unescape(re_mod.sub(r"<[^>]+>", " ", cell))).strip()

    for table in re_mod.findall(r"<table.*?</table>", document, re_mod.S):
        rows = [[text(c) for c in re_mod.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", tr, re_mod.S)]
                for tr in re_mod.findall(r"<tr.*?</tr>", table, re_mod.S)]
        if rows:
            yield rows


def _published_counts(table) -> set[int]:
    """Every count a published row gives: n, the denominator, n + n_excluded and, for rates,
    the numerator and n - numerator (what an attacker reads off or subtracts)."""
    table = table[~table["suppressed"]]
    n, num = pd.to_numeric(table["n"], errors="coerce"), pd.to_numeric(table["numerator"], errors="coerce")
    rate = table["interval"].isin(["wilson", "logit_t"])
    parts = [n, pd.to_numeric(table["denominator"], errors="coerce"),
             n + pd.to_numeric(table["n_excluded"], errors="coerce").fillna(0), num.where(rate), (n - num).where(rate)]
    return {int(round(v)) for part in parts for v in part.dropna()}


@corpus("correct handling", before="wrong output")
def test_suppressed_cells_publish_nothing_in_any_file_of_one_run(one_run):
    """indicators.csv and results.parquet suppress the same cells as the unpublished table,
    and a suppressed row gives no value, interval, count, degrees of freedom (n - 1 for a rate
    of service points), censored count or note saying its n is 0; summary.json and the
    manifests hold none of the withheld values; no executed notebook is left behind."""
    from evalkit.results.disclosure import known_zero

    out, truth, _ = one_run
    files = {name: _files_table(out / name) for name in ("indicators.csv", "results.parquet")}
    truth = truth.assign(**{c: truth[c].fillna("").astype(str) for c in ("service_type", "group_by", "group")})
    for name, table in files.items():
        hidden = table["suppressed"] & ~known_zero(table)
        assert hidden.sum() > 1000, name
        leaked = table.loc[hidden, WITHHELD].notna().sum()
        assert not leaked.any(), f"{name}: suppressed rows publish {leaked[leaked > 0].to_dict()}"
        assert (table.loc[hidden, "note"] == "").all(), table.loc[hidden, "note"].value_counts().head()
        both = table.merge(truth[[*KEY, "suppressed"]], on=KEY, suffixes=("", "_truth"), validate="one_to_one")
        assert len(both) == (len(table) if name == "indicators.csv" else len(truth)), name  # + income quintiles
        assert (both["suppressed"] == both["suppressed_truth"]).all(), name
    assert files["results.parquet"].merge(files["indicators.csv"], on=KEY).pipe(
        lambda m: (m["suppressed_x"] == m["suppressed_y"]).all())
    withheld = truth.loc[truth["suppressed"], ["value", "ci_low", "ci_high"]].stack()
    # distinctive values only: 0.2 or 0.95 is also a parameter's value (poorest share, confidence)
    withheld = {round(float(v), 9) for v in withheld if np.isfinite(v) and float(v) != round(float(v), 3)}
    documents = [out / "summary.json", out / "indicators.provenance.json", *out.glob("*/manifest.json")]
    assert len(documents) == 7
    for doc in documents:
        found = {round(x, 9) for x in _numbers(json.loads(doc.read_text(encoding="utf-8")))} & withheld
        assert not found, f"{doc.name} holds withheld values {sorted(found)[:5]}"
    assert not list(out.rglob("*.ipynb")) and not (out / "_failed").exists()  # executed notebooks: only _failed/
    assert not list(out.glob(".*.render-*"))


def _chart_labels(svg: bytes) -> list[str]:
    """The text of a matplotlib SVG chart but its axis tick labels (``xtick_N``/``ytick_N``
    groups): ticks are round numbers of the scale, not values, and may equal one by chance."""
    import xml.etree.ElementTree as ET

    texts = []

    def walk(node):
        if re.match(r"[xy]tick_\d+$", node.get("id", "")):
            return
        if node.tag.rsplit("}", 1)[-1] == "text":
            texts.append("".join(node.itertext()))
        for child in node:
            walk(child)

    walk(ET.fromstring(svg))
    return texts


@corpus("correct handling", before="wrong output")
def test_reports_show_only_published_numbers(one_run):
    """Every count a report table shows ("423 households", the access table's households in
    need, with supply nearby, that received it) is a count of a published row; no withheld value
    (as the report formats it: 12.3%, 4.56 km, 7.0 days, ¥1,234, 0.123) of the region appears in
    a table cell; charts are images drawn from the same published table (SVG text checked too)."""
    import base64

    from evalkit.indicators.catalogue import load_catalogue
    from evalkit.report.text import format_value

    out, truth, _ = one_run
    results = _files_table(out / "results.parquet")
    published = _published_counts(results)
    units = {i.id: i.unit for i in load_catalogue()}

    def shown_as(table):
        cells = table[table["indicator"].isin(list(units))]
        return {format_value(v, units[i], "en") for c in ("value", "ci_low", "ci_high")
                for i, v in zip(cells["indicator"], cells[c]) if pd.notna(v)}

    public = shown_as(results[~results["suppressed"]])
    public |= {format_value(i.target, i.unit, "en") for i in load_catalogue() if isinstance(i.target, (int, float))}
    public |= {re.sub(r" (km|days|pp)$", "", x) for x in public}  # charts put the unit on the axis or row label
    reports = sorted(out.glob("*/index.html"))
    assert len(reports) == 5
    checked = 0
    for report in reports:
        region = report.parent.name
        document = report.read_text(encoding="utf-8")
        withheld = shown_as(truth[truth["suppressed"] & (truth["region"] == region)]) - public
        # distinctive only: two significant digits or more ("0.2" is also a parameter's value)
        withheld = {w for w in withheld if len(re.sub(r"[^1-9]", "", w.lstrip("-0.¥"))) >= 2 or "," in w}
        assert len(withheld) > 100, region
        patterns = [re.compile(r"(?<![-+\d.,¥])" + re.escape(w) + r"(?![\d.,%]| km| days| pp)") for w in withheld]
        texts = []
        for rows in _tables(document):
            head = rows[0]
            for row in rows[1:]:
                for j, cell in enumerate(row):
                    texts.append(cell)
                    count = COUNT_CELL.match(cell)
                    if count is None and re.fullmatch(r"[\d,]+", cell) and j < len(head) \
                            and COUNT_HEADER.search(head[j].lower()):
                        count = re.match(r"([\d,]+)", cell)
                    if count is not None:
                        checked += 1
                        assert int(count.group(1).replace(",", "")) in published, (region, head, row)
        for svg in re.findall(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)", document):
            texts += _chart_labels(base64.b64decode(svg))
        shown = [w for w, pattern in zip(withheld, patterns) if any(pattern.search(t) for t in texts)]
        assert not shown, f"{region}: withheld values in the report: {shown[:5]}"
    assert checked > 100


@corpus("correct handling", before="wrong output")
def test_attacker_over_every_count_one_run_publishes(one_run):
    """The attacker's linear program (tests/test_disclosure.py) over the union of the counts
    published by indicators.csv, results.parquet and the reports (whose counts are published
    rows', test above) finds no suppressed count of the shared access indicators narrower
    than min_cell, in the report's period."""
    from test_disclosure import ATTACKED, Attack

    out, truth, regions = one_run
    period = json.loads((out / "summary.json").read_text(encoding="utf-8"))["period"]
    union = None
    for name in ("indicators.csv", "results.parquet"):
        table = _files_table(out / name)[[*KEY, "suppressed"]]
        union = table if union is None else union.merge(table, on=KEY, how="outer", suffixes=("", "_other"))
    published = ~(union["suppressed"].fillna(True).astype(bool) & union["suppressed_other"].fillna(True).astype(bool))
    union = union.assign(published=published)[[*KEY, "published"]]
    truth = truth.assign(**{c: truth[c].fillna("").astype(str) for c in ("service_type", "group_by", "group")})
    cells = truth[truth["indicator"].isin(ATTACKED) & (truth["period"] == period)].merge(union, on=KEY, how="left")
    assert cells["published"].notna().all()
    hidden = ~cells["published"].astype(bool).to_numpy()
    assert hidden.any() and not hidden.all()
    assert Attack(cells.drop(columns="published"), hidden, regions).narrowest(10) == []


# --- reads stay inside the package ----------------------------------------------------

SECRET = "salary,110105194912310021,9000\n"


@corpus("named error", before="silent acceptance")
@pytest.mark.parametrize("case", ["absolute", "dotdot", "symlink_out", "symlink_proc", "name_symlink_out"])
def test_reads_never_leave_the_package(pkg, tmp_path, case):
    outside = tmp_path / "outside.csv"
    outside.write_text("region_id,parent_id\n" + SECRET)
    if case == "absolute":
        _resources(pkg, regions=str(outside))
        match = "relative names inside the package"
    elif case == "dotdot":
        _resources(pkg, regions="../outside.csv")
        match = "relative names inside the package"
    elif case in ("symlink_out", "symlink_proc"):
        os.symlink(outside if case == "symlink_out" else "/proc/self/environ", pkg / "linked.csv")
        _resources(pkg, regions="linked.csv")
        match = "leads outside the package"
    else:  # found by its file name, not the descriptor
        _resources(pkg)
        meta = json.loads((pkg / "datapackage.json").read_text())
        meta["resources"] = [r for r in meta["resources"] if r["name"] != "regions"]
        (pkg / "datapackage.json").write_text(json.dumps(meta))
        (pkg / "regions.csv").unlink()
        os.symlink(outside, pkg / "regions.csv")
        match = "leads outside the package"
    with pytest.raises(PackageError, match=match) as err:
        evalkit.load(pkg)
    assert "110105194912310021" not in str(err.value) and "salary" not in str(err.value)


@corpus("named error", before="silent acceptance")
def test_fingerprint_refuses_a_link_out_of_the_package(pkg, tmp_path):
    (tmp_path / "elsewhere.txt").write_text(SECRET)
    os.symlink(tmp_path / "elsewhere.txt", pkg / "notes.txt")
    with pytest.raises(PackageError, match="package fingerprint: notes.txt leads outside"):
        evalkit.data.io.directory_sha256(pkg)


@corpus("named error", before="traceback")
@pytest.mark.parametrize("resources, match", [
    ("regions.csv", "resources must be a list of objects"),
    ([{"name": "regions"}], "the resource for regions has no path"),
])
def test_malformed_resources_are_named_errors(pkg, resources, match):
    meta = json.loads((pkg / "datapackage.json").read_text())
    meta["resources"] = resources
    (pkg / "datapackage.json").write_text(json.dumps(meta))
    with pytest.raises(PackageError, match=match):
        evalkit.load(pkg)


@corpus("correct handling", before="wrong output")
def test_identity_shaped_values_are_never_echoed(pkg):
    hh = pd.read_csv(pkg / "households.csv", dtype=str)
    hh.loc[0, "size"] = "11010519491231002X"  # an identity number in the wrong column
    hh.to_csv(pkg / "households.csv", index=False)
    report = evalkit.validate(pkg)
    problem = next(p for p in report.errors if p.column == "size")
    assert "11010519491231002X" not in str(problem) and "[identity number hidden]" in str(problem)


# --- spreadsheet formulas ----------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://evil","x")', "+cmd|' /C calc'!A0", "@SUM(A1)", "-2+3", "\t=1", "\r=1"]


@corpus("correct handling", before="silent acceptance")
def test_formula_like_ids_are_warned_and_written_as_text(pkg, tmp_path):
    regions = pd.read_csv(pkg / "regions.csv", dtype=str)
    old = regions.region_id.iloc[-1]
    new = FORMULAS[0]
    regions.loc[regions.region_id == old, "region_id"] = new
    regions.to_csv(pkg / "regions.csv", index=False)
    for table in ("households", "service_points"):
        frame = pd.read_csv(pkg / f"{table}.csv", dtype=str)
        frame.loc[frame.region_id == old, "region_id"] = new
        frame.to_csv(pkg / f"{table}.csv", index=False)
    loaded = evalkit.load(pkg)
    assert any(p.check == "formula-like text" and p.column == "region_id" for p in loaded.report.warnings)
    out = evalkit.compute(loaded, indicators=["access.need_rate"], min_cell=1).to_file(tmp_path / "ind.csv")
    text = out.read_text(encoding="utf-8")
    assert "'" + new in text.replace('""', '"') and "\n" + new not in text and "," + new not in text
    back = pd.read_csv(out)
    assert (back["region"] == "'" + new).any() and pd.api.types.is_numeric_dtype(back["value"])


@corpus("correct handling", before="wrong output")
def test_formula_safe_leaves_numbers_and_plain_text():
    frame = pd.DataFrame({"text": FORMULAS + ["a=b", "R01"], "number": [-1.0] * 8, "flag": [True] * 8})
    safe = formula_safe(frame)
    assert safe["text"].tolist() == ["'" + f for f in FORMULAS] + ["a=b", "R01"]
    assert safe["number"].tolist() == [-1.0] * 8 and safe["flag"].dtype == bool


@corpus("correct handling")
def test_formula_safe_is_the_per_cell_rule_on_every_kind_of_column():
    """The vectorised check equals the rule cell by cell: text starting with a formula character,
    whatever else (None, NaN, numbers, dates, bytes) the column holds."""
    import datetime as dt

    cells = FORMULAS + ["a=b", "", None, float("nan"), 3, -2.5, dt.date(2024, 1, 1), b"=x", True]
    frame = pd.DataFrame({
        "mixed": cells,
        "text": pd.Series([c if isinstance(c, str) else None for c in cells], dtype="string"),
        "dates": [dt.date(2024, 1, i + 1) for i in range(len(cells))],
        "empty": [None] * len(cells),
    })

    def by_cell(v):
        return "'" + v if isinstance(v, str) and v.startswith(FORMULA_START) else v

    safe = formula_safe(frame)
    for column in ("mixed", "dates", "empty"):
        want = [by_cell(v) for v in frame[column]]
        got = safe[column].tolist()
        assert [repr(v) for v in got] == [repr(v) for v in want], column
    assert safe["text"].tolist() == [by_cell(v) if isinstance(v, str) else pd.NA for v in frame["text"]]


# --- pseudonym keys and one pseudonym per person ---------------------------------------------

@corpus("named error", before="silent acceptance")
def test_short_keys_are_refused(monkeypatch, tmp_path):
    monkeypatch.delenv("EVALKIT_KEY_FILE", raising=False)
    monkeypatch.setenv("EVALKIT_PSEUDONYM_KEY", "a")
    with pytest.raises(ParameterError, match="EVALKIT_PSEUDONYM_KEY holds fewer than 16 bytes"):
        pseudonym_key()
    monkeypatch.setenv("EVALKIT_PSEUDONYM_KEY", "sixteen-bytes-ok")
    assert pseudonym_key() == b"sixteen-bytes-ok"
    short = tmp_path / "key"
    short.write_text("short")
    with pytest.raises(ParameterError, match="fewer than 16 bytes"):
        pseudonym_key(short)


@corpus("correct handling", before="wrong output")
def test_one_person_one_pseudonym(pkg, monkeypatch):
    """Spellings of one number (lowercase x, full-width digits and Ｘ, spaces, the legacy 15-digit
    form) hash to the pseudonym of its canonical 18-digit form."""
    monkeypatch.setenv("EVALKIT_PSEUDONYM_KEY", "a key of enough bytes")
    canonical = "11010519491231002X"
    legacy = "110105491231002"  # 1949-12-31, sequence 002: widened to 11010519491231002X
    full_width = canonical.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
    spellings = [canonical, canonical.lower(), full_width, f"  {canonical} ", legacy]
    assert {normalise_id_number(s) for s in spellings} == {canonical}
    hh = pd.read_csv(pkg / "households.csv", dtype=str)
    hh.loc[: len(spellings) - 1, "id_number"] = spellings
    hh.to_csv(pkg / "households.csv", index=False)
    loaded = evalkit.load(pkg)
    assert not [p for p in loaded.report.errors if p.column == "id_number"]
    hashes = loaded.tables["households"].execute()["id_hash"].head(len(spellings))
    expected = hmac.new(b"a key of enough bytes", canonical.encode(), hashlib.sha256).hexdigest()
    assert set(hashes) == {expected}
    assert check_digit(legacy[:6] + "19" + legacy[6:]) == "X"


# --- environment settings are named errors ------------------------------------------------

@corpus("named error", before="traceback")
@pytest.mark.parametrize("variable, value, match", [
    ("EVALKIT_MEMORY_LIMIT", "lots", "EVALKIT_MEMORY_LIMIT must be an amount of memory"),
    ("EVALKIT_MEMORY_LIMIT", "1MB", "EVALKIT_MEMORY_LIMIT=1MB is too low to run"),
    ("EVALKIT_THREADS", "two", "EVALKIT_THREADS must be a whole number"),
    ("EVALKIT_THREADS", "0", "EVALKIT_THREADS must be at least 1"),
])
def test_bad_engine_settings_are_named(monkeypatch, source, variable, value, match):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ParameterError, match=match):
        evalkit.load(source)


@corpus("correct handling", before="correct handling")
def test_good_engine_settings_are_used(monkeypatch):
    from evalkit import engine

    monkeypatch.setenv("EVALKIT_MEMORY_LIMIT", "512MiB")
    monkeypatch.setenv("EVALKIT_THREADS", "1")
    con = engine.connect()
    assert engine.sql(con, "SELECT current_setting('threads')")[0][0] == 1
    assert engine.sql(con, "SELECT current_setting('memory_limit')")[0][0] == "512.0 MiB"


@corpus("named error", before="traceback")
def test_unknown_frequency_is_a_named_error(pkg):
    meta = json.loads((pkg / "datapackage.json").read_text())
    meta["frequency"] = "fortnight"
    (pkg / "datapackage.json").write_text(json.dumps(meta))
    with pytest.raises(ParameterError, match="frequency .* must be one of year, quarter, month, got 'fortnight'"):
        evalkit.load(pkg)


@corpus("named error", before="named error")
def test_empty_file_and_header_only_table(pkg):
    (pkg / "needs.csv").write_text("")
    header = (pkg / "cases.csv").read_text(encoding="utf-8").splitlines()[0]
    (pkg / "cases.csv").write_text(header + "\n", encoding="utf-8")
    report = evalkit.validate(pkg)
    empty = [p for p in report.errors if p.table == "needs"]
    assert len(empty) == 1 and "the file is empty" in str(empty[0])
    assert any(p.table == "cases" and p.check == "no rows" for p in report.warnings)


@corpus("correct handling", before="correct handling")
@pytest.mark.parametrize("body, fetches", [
    pytest.param("<td>示范区（https://mz.example.gov.cn）</td>", False,  # a URL in a name is text, never fetched
                 marks=corpus("correct handling", before="wrong output")),
    ('<img src="data:image/png;base64,AAAA"/>', False),
    ('<a href="#contents">目录</a>', False),
    ('<img src="https://example.com/a.png"/>', True),
    ('<img src="chart.png"/>', True),
    ('<div style="background:url(//example.com/x)"></div>', True),
    ('<link rel="stylesheet" href="style.css"/>', True),
    ('<script src="app.js"></script>', True),
    ("<iframe></iframe>", True),
])
def test_self_contained_check_tells_text_from_fetches(body, fetches):
    from evalkit.report.html import ReportHTMLError, check_self_contained, page

    document = page("示范区 https://mz.example.gov.cn", body, "zh")
    if fetches:
        with pytest.raises(ReportHTMLError, match="external resource"):
            check_self_contained(document)
    else:
        check_self_contained(document)


# --- weights and dates (items 6 and 7; the rules are the correctness issue's) -------------------

@corpus("named error", before="silent acceptance")
@pytest.mark.parametrize("weight, check", [
    ("nan", "finite number"), ("inf", "finite number"), ("-1", "range"), (None, "missing values"),
    pytest.param("0", "zero weights", marks=corpus("named error", before="wrong output")),  # every weight 0
])
def test_bad_weights_are_errors(pkg, weight, check):
    hh = pd.read_csv(pkg / "households.csv", dtype=str)
    if weight == "0":
        hh["weight"] = "0"  # every rate NaN with "no household in the denominator", before
    else:
        hh.loc[0, "weight"] = weight  # blank beside given weights when None
    hh.to_csv(pkg / "households.csv", index=False)
    report = evalkit.validate(pkg)
    assert any(p.column == "weight" and p.check == check for p in report.errors), str(report)


@corpus("named error", before="wrong output")
@pytest.mark.parametrize("day, check", [("2099-03-01", "latest date"), ("1850-03-01", "earliest date")])
def test_wild_dates_are_errors_not_hundreds_of_periods(pkg, day, check):
    needs = pd.read_csv(pkg / "needs.csv", dtype=str)
    needs.loc[0, "identified_on"] = day
    needs.to_csv(pkg / "needs.csv", index=False)
    report = evalkit.validate(pkg)
    assert any(p.column == "identified_on" and p.check == check and p.count == 1 for p in report.errors)


# --- coordinates -----------------------------------------------------------------------------

@corpus("correct handling", before="silent acceptance")
@pytest.mark.parametrize("case", ["london", "zero", "swapped", "sign_flipped"])
def test_coordinates_outside_china_are_warned(pkg, case):
    points = pd.read_csv(pkg / "service_points.csv", dtype=str)
    lon, lat = float(points.loc[0, "lon"]), float(points.loc[0, "lat"])
    new = {"london": (-0.1276, 51.5072), "zero": (0.0, 0.0), "swapped": (lat, lon), "sign_flipped": (-lon, lat)}[case]
    points.loc[0, ["lon", "lat"]] = [str(v) for v in new]
    points.to_csv(pkg / "service_points.csv", index=False)
    hh = pd.read_csv(pkg / "households.csv", dtype=str)
    hh.loc[0, "lon"] = str(-float(hh.loc[0, "lon"]))
    hh.to_csv(pkg / "households.csv", index=False)
    report = evalkit.validate(pkg)
    warned = {p.table: p for p in report.warnings if p.check == "coordinates outside the area"}
    assert warned["service_points"].count == 1 and warned["households"].count == 1
    assert f"{new[0]:.5f}" in str(warned["service_points"])
    assert hh.loc[0, "lon"].lstrip("-")[:6] not in str(warned["households"])  # a home's location is never echoed


@corpus("correct handling", before="silent acceptance")
def test_bounds_can_be_declared_and_are_checked(pkg):
    meta = json.loads((pkg / "datapackage.json").read_text())
    meta["bounds"] = [-10, 35, 40, 70]  # a package from Europe: its points in China are now outside
    (pkg / "datapackage.json").write_text(json.dumps(meta))
    assert any(p.check == "coordinates outside the area" for p in evalkit.validate(pkg).warnings)
    meta["bounds"] = [136, 3, 73, 54]
    (pkg / "datapackage.json").write_text(json.dumps(meta))
    with pytest.raises(PackageError, match="bounds must be"):
        evalkit.validate(pkg)


@corpus("correct handling", before="silent acceptance")
@pytest.mark.parametrize("case", ["moved_east", "swapped_inside", "clean"])
def test_households_far_from_every_service_point_of_their_region_are_warned(pkg, case):
    hh = pd.read_csv(pkg / "households.csv", dtype=str)
    lon, lat = float(hh.loc[0, "lon"]), float(hh.loc[0, "lat"])
    if case == "moved_east":  # about 97 km east, still inside China: the bounding box cannot see it
        hh.loc[0, "lon"], hh.loc[1, "lon"] = str(lon + 1.0), str(float(hh.loc[1, "lon"]) + 1.0)
    elif case == "swapped_inside":  # (29.4, 119.4) read as lon, lat: outside the box and far away
        hh.loc[0, ["lon", "lat"]] = [str(lat), str(lon)]
    hh.to_csv(pkg / "households.csv", index=False)
    far = [p for p in evalkit.validate(pkg).warnings if p.check == "far from every service point"]
    if case == "clean":
        assert not far
        return
    assert len(far) == 1 and far[0].count == (2 if case == "moved_east" else 1)
    text = str(far[0])
    assert "50 km" in text and hh.loc[0, "region_id"] in text  # counted and named by region
    assert "household_id" not in text and "H0" not in text and f"{lon:.3f}"[:6] not in text  # never who or where


# --- leftovers after a crash -------------------------------------------------------------------

def _dead_pid() -> int:
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid  # finished and reaped: no process has this id now (for a while)


@corpus("correct handling", before="wrong output")
def test_stale_scratch_directories_of_dead_processes_are_removed(tmp_path):
    from evalkit import engine

    dead = _dead_pid()
    stale = tmp_path / f"evalkit-{dead}-abc"
    (stale / "spill").mkdir(parents=True)
    (stale / "work.duckdb").write_bytes(b"pseudonymised tables")
    mine = tmp_path / f"evalkit-{os.getpid()}-live"
    mine.mkdir()
    other = tmp_path / "evalkit-notapid"
    other.mkdir()
    con = engine.connect(workdir=str(tmp_path))
    assert engine.sql(con, "SELECT 1")[0][0] == 1
    assert not stale.exists() and mine.exists() and other.exists()
    render = tmp_path / f".R00.render-{dead}-xyz"
    render.mkdir()
    assert engine.sweep_stale(tmp_path, ".R00.render-") == [str(render)] and not render.exists()


@corpus("correct handling", before="wrong output")
def test_batch_workers_exit_when_the_batch_is_killed(tmp_path):
    """A worker started as the batch starts them (initializer ``_init_worker``) ends when its
    parent is killed with SIGKILL, instead of rendering on alone."""
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "parent.py"
    script.write_text(
        "import os, sys, time\n"
        "from concurrent.futures import ProcessPoolExecutor\n"
        "import multiprocessing as mp\n"
        "from evalkit.report.batch import _init_worker\n"
        "def work(path):\n"
        "    open(path, 'w').write(str(os.getpid()))\n"
        "    time.sleep(600)  # busy rendering when the batch is killed\n"
        "if __name__ == '__main__':\n"
        "    pool = ProcessPoolExecutor(1, mp_context=mp.get_context('spawn'), initializer=_init_worker,\n"
        "                               initargs=(os.getpid(),))\n"
        "    pool.submit(work, sys.argv[1]).result()\n")
    pid_file = tmp_path / "worker.pid"
    parent = subprocess.Popen([sys.executable, str(script), str(pid_file)],
                              env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    for _ in range(300):
        if pid_file.exists() and pid_file.read_text():
            break
        time.sleep(0.1)
    worker = int(pid_file.read_text())
    os.kill(worker, 0)  # running
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    for _ in range(100):
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(worker, signal.SIGKILL)
        pytest.fail("the worker outlived its killed parent")


# --- faults: a killed batch, two runs into one directory (real runs, marked "fault") ---------------

#: a report template that only sleeps: the fault tests run real batches with real kernels, quickly
SLEEPY_TEMPLATE = """# %% tags=["parameters"]
region = ""

# %%
import time

time.sleep(3)
print(region)
"""


def _report_cmd(source, out, templates, *extra):
    import sys

    return [sys.executable, "-m", "evalkit.cli", "report", str(source), "--out", str(out), "--notebooks",
            str(templates), "--lang", "en", *extra]


def _sleepy_templates(tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "scorecard.py").write_text(SLEEPY_TEMPLATE)
    return templates


def _env():
    import sys

    return {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}


def _complete(region_dir) -> bool:
    manifest = json.loads((region_dir / "manifest.json").read_text(encoding="utf-8"))
    return bool(manifest["files"]) and all((region_dir / f).is_file() for f in manifest["files"])


@pytest.mark.fault
@corpus("correct handling", before="wrong output")
def test_killed_batch_leaves_no_orphan_and_the_rerun_resumes(source, tmp_path):
    """SIGKILL of ``evalkit report --all-regions`` while workers render: within seconds no
    process it started (workers, kernels, the resource tracker) is left, and a rerun skips
    the finished regions, renders the rest and removes the stale render and kernel directories."""
    import signal
    import subprocess
    import tempfile
    import time

    import psutil

    out, templates = tmp_path / "out", _sleepy_templates(tmp_path)
    cmd = _report_cmd(source, out, templates, "--all-regions", "--workers", "2")
    batch = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env())
    started, deadline = set(), time.time() + 150
    try:
        while time.time() < deadline:  # kill once a region is published and another is being rendered
            with contextlib.suppress(psutil.Error):
                started |= {c.pid for c in psutil.Process(batch.pid).children(recursive=True)}
            if list(out.glob("*/manifest.json")) and list(out.glob(".*.render-*")):
                break
            assert batch.poll() is None, "the batch ended before it could be killed"
            time.sleep(0.1)
        else:
            pytest.fail("no region finished in time")
        with contextlib.suppress(psutil.Error):
            started |= {c.pid for c in psutil.Process(batch.pid).children(recursive=True)}
    finally:
        batch.send_signal(signal.SIGKILL)
        batch.wait()
    finished = {m.parent.name for m in out.glob("*/manifest.json")}
    stale = list(out.glob(".*.render-*"))
    assert finished and stale and started

    def alive():
        found = []
        for pid in started:
            with contextlib.suppress(psutil.Error):
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    found.append(pid)
        return found

    for _ in range(50):  # "after a second": SIGTERM from the kernel, then the kernels' own exit
        if not alive():
            break
        time.sleep(0.1)
    orphans = alive()
    for pid in orphans:
        with contextlib.suppress(psutil.Error):
            psutil.Process(pid).kill()
    assert not orphans, "processes of the killed batch are still running"

    rerun = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=180)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert f"{len(finished)} of " in rerun.stdout + rerun.stderr and "up to date" in rerun.stdout + rerun.stderr
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    status = {r["region"]: r["status"] for r in summary["regions"]}
    assert {r for r, s in status.items() if s == "skipped"} == finished
    assert set(status.values()) <= {"ok", "skipped"} and all(_complete(out / r) for r in status)
    assert not list(out.glob(".*.render-*")) and not any(p.exists() for p in stale)
    kernels = [d for pid in started for d in Path(tempfile.gettempdir()).glob(f"evalkit-kernels-{pid}-*")]
    assert not kernels  # connection files (with their keys) of the killed workers' kernels


@pytest.mark.fault
@corpus("correct handling", before="correct handling")
def test_two_identical_runs_into_one_directory_do_not_corrupt_each_other(source, tmp_path):
    """Two identical ``evalkit report`` runs started together into one directory: both end
    well, one waits for the other (an exclusive lock on the output directory) and finds the
    report up to date; one complete report remains, its manifest listing files that exist."""
    import subprocess

    out, templates = tmp_path / "out", _sleepy_templates(tmp_path)
    cmd = _report_cmd(source, out, templates, "--region", "R0101")
    runs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env())
            for _ in range(2)]
    outputs = [r.communicate(timeout=180)[0] for r in runs]
    assert [r.returncode for r in runs] == [0, 0], outputs
    assert sum("waiting for another evalkit report" in o for o in outputs) == 1
    assert all(o.strip().splitlines()[-1] == str(out / "index.html") for o in outputs)
    assert _complete(out)
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "manifest.json", "results.parquet"]
    assert "R0101" in (out / "index.html").read_text(encoding="utf-8")


# --- encodings and spreadsheets (item 9) -------------------------------------------------------

@corpus("named error", before="silent acceptance")
def test_a_file_mixing_utf8_and_gbk_names_its_first_undecodable_line(pkg):
    regions = pd.read_csv(pkg / "regions.csv", dtype=str)
    regions["name"] = [f"示范区第{i}片区" for i in range(len(regions))]
    lines = regions.to_csv(index=False, lineterminator="\n").splitlines(keepends=True)
    # rows pasted from a second, GBK export below the UTF-8 ones (every GBK row has Chinese)
    data = "".join(lines[:3]).encode("utf-8") + "".join(lines[3:]).encode("gbk")
    (pkg / "regions.csv").write_bytes(data)
    report = evalkit.validate(pkg)
    problem = next(p for p in report.errors if p.table == "regions")
    assert problem.file == "regions.csv" and problem.check == "readable file"
    assert "mixes text encodings" in str(problem) and "line 4 is the first that is not UTF-8" in str(problem)
    assert not report.ok


@corpus("correct handling", before="correct handling")
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "utf-16"])
def test_one_encoding_per_file_still_reads(pkg, encoding):
    regions = pd.read_csv(pkg / "regions.csv", dtype=str)
    regions["name"] = [f"示范区第{i}片区" for i in range(len(regions))]
    regions.to_csv(pkg / "regions.csv", index=False, encoding=encoding)
    loaded = evalkit.load(pkg)
    assert set(loaded.regions["name"]) == set(regions["name"])


def _households_to_excel(pkg, title: str | None = None, extra_sheet: bool = False, numeric_ids: bool = False,
                         sheet: str | None = None):
    """households.csv rewritten as households.xlsx (the descriptor pointing at it)."""
    hh = pd.read_csv(pkg / "households.csv", dtype=str)
    if numeric_ids:  # as Excel stores a column typed as a number: 15 significant digits
        hh["id_number"] = hh["id_number"].map(lambda v: float(f"{int(v.rstrip('Xx') or 0):.15g}"))
    (pkg / "households.csv").unlink()
    meta = json.loads((pkg / "datapackage.json").read_text())
    for r in meta["resources"]:
        if r["name"] == "households":
            r["path"] = "households.xlsx"
            if sheet:
                r["sheet"] = sheet
    (pkg / "datapackage.json").write_text(json.dumps(meta))
    with pd.ExcelWriter(pkg / "households.xlsx") as book:
        if extra_sheet:
            pd.DataFrame({"说明": ["本表为救助台账"]}).to_excel(book, sheet_name="说明", index=False)
        if title:
            pd.DataFrame([[title]]).to_excel(book, sheet_name="台账", header=False, index=False)
        hh.to_excel(book, sheet_name="台账", index=False, startrow=1 if title else 0)
    return hh


@corpus("correct handling", before="silent acceptance")
def test_excel_says_which_sheet_was_read_and_a_sheet_can_be_chosen(pkg):
    _households_to_excel(pkg, extra_sheet=True)
    report = evalkit.validate(pkg)
    read = next(p for p in report.warnings if p.check == "sheet read")
    assert "2 sheets ('说明', '台账')" in str(read) and "read the first, '说明'" in str(read)
    assert any(p.table == "households" and p.check == "required column" for p in report.errors)  # the wrong sheet
    meta = json.loads((pkg / "datapackage.json").read_text())
    households = next(r for r in meta["resources"] if r["name"] == "households")
    households["sheet"] = "台账"
    (pkg / "datapackage.json").write_text(json.dumps(meta))
    loaded = evalkit.load(pkg)
    assert loaded.rows["households"] == 300 and not any(p.check == "sheet read" for p in loaded.report.warnings)
    households["sheet"] = "Sheet9"
    (pkg / "datapackage.json").write_text(json.dumps(meta))
    report = evalkit.validate(pkg)
    assert any("no sheet named 'Sheet9'" in str(p) for p in report.errors)
    households["sheet"] = 2  # a name, not a position
    (pkg / "datapackage.json").write_text(json.dumps(meta))
    with pytest.raises(PackageError, match='"sheet" is the name of the sheet to read'):
        evalkit.validate(pkg)


@corpus("correct handling", before="named error")
def test_excel_title_row_above_the_header_is_skipped_and_lines_stay_true(pkg):
    hh = pd.read_csv(pkg / "households.csv", dtype=str)
    hh.loc[4, "size"] = "many"  # data row 5: line 7 under a title (1) and the header (2)
    hh.to_csv(pkg / "households.csv", index=False)
    _households_to_excel(pkg, title="2024年 救助对象台账")
    report = evalkit.validate(pkg)
    title = next(p for p in report.warnings if p.check == "title row")
    assert "the header is on line 2" in str(title) and "救助对象台账" not in str(title)
    assert not any(p.check == "required column" for p in report.errors)  # the header was found
    size = next(p for p in report.errors if p.column == "size")
    assert size.count == 1 and size.examples[0].startswith("line 7"), size.examples


@corpus("named error", before="silent acceptance")
def test_excel_identity_numbers_stored_as_numbers_are_refused(pkg):
    _households_to_excel(pkg, numeric_ids=True)
    report = evalkit.validate(pkg)
    problem = next(p for p in report.errors if p.check == "identity numbers stored as numbers")
    assert problem.column == "id_number" and problem.count > 250
    text = str(problem)
    assert "15 significant digits" in text and "as text" in text and "CSV" in text
    assert not any(c.isdigit() and len(c) >= 15 for c in text.split())  # no number echoed


# --- outputs, disk and memory (item 10) ------------------------------------------------------

def _invoke(*args):
    from click.testing import CliRunner

    from evalkit.cli import main

    return CliRunner().invoke(main, [str(a) for a in args])


def _no_computing(monkeypatch):
    """Make loading or computing fail the test: a check that must come first did not."""
    def refuse(*args, **kwargs):
        raise AssertionError("computing started before the check")

    monkeypatch.setattr("evalkit.data.package.load", refuse)
    monkeypatch.setattr("evalkit.report.batch.prepare", refuse)


@corpus("named error", before="traceback")
@pytest.mark.parametrize("case", ["proc", "file_in_the_way", "read_only"])
def test_unwritable_output_fails_before_computing(source, tmp_path, monkeypatch, case):
    if case == "read_only" and os.geteuid() == 0:
        pytest.skip("root writes into read-only directories")
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    out = {"proc": "/proc/x.csv", "file_in_the_way": blocker / "sub" / "x.csv", "read_only": locked / "x.csv"}[case]
    _no_computing(monkeypatch)
    run = _invoke("indicators", source, "--out", out, "--indicator", "access.need_rate")
    assert run.exit_code == 2, run.output
    assert "cannot write" in run.output and "Traceback" not in run.output
    run = _invoke("report", source, "--region", "R01", "--out", out)
    assert run.exit_code == 2 and "cannot write" in run.output


@corpus("named error", before="named error")
def test_unknown_report_region_fails_before_computing(source, tmp_path, monkeypatch):
    _no_computing(monkeypatch)
    run = _invoke("report", source, "--region", "NOWHERE", "--out", tmp_path / "r")
    assert run.exit_code == 2 and "region 'NOWHERE' is not in the package's regions table" in run.output
    assert not (tmp_path / "r").exists()


def _disk_full(*args, **kwargs):
    """A writer whose disk fills: write_csv(frame, path), pq.write_table(table, path) or (path)."""
    path = args[-1]
    with open(path, "wb") as fh:
        fh.write(b"half a table")  # some bytes got out before the disk filled
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))


@corpus("named error", before="traceback")
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_full_disk_is_named_and_leaves_no_partial_output(source, tmp_path, monkeypatch, suffix):
    from evalkit.errors import ResourceError

    results = evalkit.compute(evalkit.load(source), indicators=["access.need_rate"], min_cell=1)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    if suffix == ".csv":
        monkeypatch.setattr("evalkit.results.indicator_results.write_csv", _disk_full)
    else:
        monkeypatch.setattr("pyarrow.parquet.write_table", _disk_full)
    with pytest.raises(ResourceError, match="no space left on the device"):
        results.to_file(out_dir / f"ind{suffix}")
    assert list(out_dir.iterdir()) == []
    run = _invoke("indicators", source, "--out", out_dir / f"cli{suffix}", "--indicator", "access.need_rate")
    assert run.exit_code == 2 and "no space left on the device" in run.output and "Traceback" not in run.output
    assert list(out_dir.iterdir()) == []


@corpus("named error", before="traceback")
@pytest.mark.parametrize("step", ["reading", "spilling"])
def test_a_full_scratch_disk_is_named(pkg, monkeypatch, step):
    """The scratch directory (TMPDIR) fills while a GBK file is converted to UTF-8, or while the
    engine spills a large step to disk: a named error saying so, not the file's fault."""
    import duckdb

    from evalkit.errors import ResourceError

    if step == "reading":
        regions = pd.read_csv(pkg / "regions.csv", dtype=str)
        regions.to_csv(pkg / "regions.csv", index=False, encoding="gbk")  # converted to UTF-8 in scratch
        monkeypatch.setattr("evalkit.data.io._to_utf8", lambda src, encoding, dest: _disk_full(dest))
        with pytest.raises(ResourceError, match="no space left on the device"):
            evalkit.load(pkg)
        return
    package = evalkit.load(pkg)

    def spill(*args, **kwargs):
        raise duckdb.IOException("IO Error: Could not write file \"/tmp/evalkit-1/spill/x.block\": No space left on device")

    monkeypatch.setattr("evalkit.indicators.compute.population", spill)
    with pytest.raises(ResourceError, match="no space left on the device .* TMPDIR"):
        evalkit.compute(package, indicators=["access.need_rate"], min_cell=1)


@corpus("named error", before="traceback")
def test_out_of_memory_in_the_catchment_step_is_named(source):
    from evalkit.engine import sql
    from evalkit.errors import ResourceError

    package = evalkit.load(source)
    sql(package.con, "SET memory_limit = '1MB'")  # loaded; now too little for the catchment step
    with pytest.raises(ResourceError, match="out of memory .* raise EVALKIT_MEMORY_LIMIT"):
        evalkit.compute(package, indicators=["access.catchment_access"], min_cell=1)


@corpus("named error", before="traceback")
def test_out_of_memory_on_the_command_line_exits_2(source, tmp_path, monkeypatch):
    monkeypatch.setattr("evalkit.engine.MIN_MEMORY", 0)  # let a limit far too low through to the engine
    monkeypatch.setenv("EVALKIT_MEMORY_LIMIT", "1MB")
    monkeypatch.setenv("EVALKIT_CACHE_DIR", str(tmp_path / "cache"))
    run = _invoke("indicators", source, "--out", tmp_path / "x.csv", "--indicator", "access.catchment_access")
    assert run.exit_code == 2, run.output
    assert "out of memory" in run.output and "raise EVALKIT_MEMORY_LIMIT" in run.output
    assert "Traceback" not in run.output and not (tmp_path / "x.csv").exists()


# --- found by the property-based tests (tests/test_hardening_properties.py) --------------------

@corpus("named error", before="traceback")
@pytest.mark.parametrize("content, match", [
    (b"\x80", "not UTF-8 text"),
    ('{"name": "示范"}'.encode("gbk"), "not UTF-8 text"),
    (json.dumps({"design": {"weight": []}}).encode(), "design.weight names"),
    (json.dumps({"design": {"census": "yes"}}).encode(), "design.census must be true or false"),
])
def test_descriptors_found_by_fuzzing_are_named_errors(pkg, content, match):
    (pkg / "datapackage.json").write_bytes(content)
    with pytest.raises(PackageError, match=match):
        evalkit.validate(pkg)
