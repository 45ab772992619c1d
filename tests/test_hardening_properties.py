"""Property-based hardening (issue: hardening): random corruptions of a valid package, fed to
the loader, the validator and one indicator computation. Whatever the corruption, the outcome
is a result or one of evalkit's named errors (:class:`evalkit.errors.EvalkitError`), never
another exception (a traceback on the command line).

Hypothesis runs derandomized (the same examples on every run, no example database), so CI is
stable; ``HARDENING_EXAMPLES`` scales the example counts (e.g. 10 for a long local hunt).
"""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import evalkit  # noqa: E402
from evalkit.data.synth import generate  # noqa: E402
from evalkit.errors import EvalkitError  # noqa: E402

SCALE = float(os.environ.get("HARDENING_EXAMPLES", "1"))


def _settings(examples: int):
    return settings(max_examples=max(1, int(examples * SCALE)), derandomize=True, database=None, deadline=None,
                    suppress_health_check=list(HealthCheck), print_blob=True)


TABLES = ("regions", "households", "needs", "assistance")


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A small valid package of four tables (CSV), the seed of every corruption."""
    out = tmp_path_factory.mktemp("prop") / "pkg"
    generate(out, households=40, regions=2, periods=1, seed=5, format="csv")
    for path in out.iterdir():
        if (path.suffix == ".csv" and path.stem not in TABLES) or path.name == "truth.json":
            path.unlink()
    meta = json.loads((out / "datapackage.json").read_text())
    meta["resources"] = [r for r in meta["resources"] if r["name"] in TABLES]
    (out / "datapackage.json").write_text(json.dumps(meta))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EVALKIT_CACHE_DIR", "off")
        for name in ("EVALKIT_PSEUDONYM_KEY", "EVALKIT_KEY_FILE", "EVALKIT_MEMORY_LIMIT", "EVALKIT_THREADS"):
            mp.delenv(name, raising=False)
        evalkit.load(out)  # the seed is valid
        yield out


@pytest.fixture(scope="module")
def con():
    """One engine for the single-file properties (a connection per example costs more than the read)."""
    from evalkit.engine import connect

    return connect()


def _raw_table(con, source):
    """``load_raw`` into a fresh table, dropped afterwards; its headers, or None for a named error."""
    from evalkit.data.io import load_raw
    from evalkit.engine import sql, unique_name

    name = unique_name("raw")
    try:
        return _outcome(lambda: load_raw(con, source, name, source.path.parent))
    finally:
        sql(con, f"DROP TABLE IF EXISTS {name}")


JUNK = st.sampled_from(["", " ", "abc", "NaN", "inf", "-inf", "-1", "0", "1e309", "9" * 30, "2099-13-45",
                        "1850-01-01", "=1+1", "\x00", "😀", "北京", "'", '"', ",", "\n", "\r", "true", "-0",
                        "110105194912310021", "１２３"]) | st.text(max_size=12)


def _rows(path: Path) -> list[list[str]]:
    """The file's rows; bytes that are not UTF-8 (from an earlier corruption) survive the round trip."""
    text = path.read_bytes().decode("utf-8", errors="surrogateescape")
    return list(csv.reader(io.StringIO(text, newline="")))


def _write_rows(path: Path, rows: list[list[str]]) -> None:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode("utf-8", errors="surrogateescape"))


@st.composite
def corruption(draw):
    """One corruption of one table: (table, kind, arguments)."""
    table = draw(st.sampled_from(TABLES))
    kind = draw(st.sampled_from(["drop_column", "blank_cells", "wrong_type", "duplicate_rows", "junk_bytes",
                                 "truncate", "gbk_lines", "swap_columns"]))
    return table, kind, draw(st.integers(0, 10**6)), draw(st.floats(0, 1)), draw(JUNK), draw(st.binary(max_size=16))


def _corrupt(pkg: Path, table: str, kind: str, pick: int, share: float, junk: str, data: bytes) -> None:
    path = pkg / f"{table}.csv"
    if kind in ("junk_bytes", "truncate", "gbk_lines"):
        raw = path.read_bytes()
        at = int(len(raw) * share)
        if kind == "junk_bytes":
            raw = raw[:at] + (data or b"\xff") + raw[at:]
        elif kind == "truncate":
            raw = raw[:at]
        else:  # the rows after a point re-encoded in GBK, with Chinese so that it shows
            text = raw.decode("utf-8", errors="replace")
            cut = text.find("\n", at)
            cut = len(text) if cut < 0 else cut + 1
            raw = text[:cut].encode("utf-8") + ("北京" + text[cut:]).encode("gbk", errors="replace")
        path.write_bytes(raw)
        return
    rows = _rows(path)
    if not rows or not rows[0]:
        return  # emptied by an earlier corruption
    header, body = rows[0], rows[1:]
    column = pick % len(header)
    if kind == "drop_column":
        rows = [r[:column] + r[column + 1:] for r in rows]
    elif kind == "swap_columns":
        other = (column + 1 + pick // len(header)) % len(header)
        header[column], header[other] = header[other], header[column]
    else:
        chosen = [i for i in range(len(body)) if (i * 7919 + pick) % 100 < max(1, share * 100)] or [0]
        if kind == "duplicate_rows":
            body = body + [body[i] for i in chosen if i < len(body)]
        else:
            for i in chosen:
                if i < len(body) and column < len(body[i]):
                    body[i][column] = "" if kind == "blank_cells" else junk
        rows = [header, *body]
    _write_rows(path, rows)


def _outcome(call):
    """Run ``call``; a named error is an acceptable outcome, any other exception fails the property."""
    try:
        return call()
    except EvalkitError:
        return None


@_settings(25)
@given(corruptions=st.lists(corruption(), min_size=1, max_size=3))
def test_corrupted_packages_load_to_a_result_or_a_named_error(base, corruptions):
    with tempfile.TemporaryDirectory() as tmp:
        pkg = Path(tmp) / "pkg"
        shutil.copytree(base, pkg)
        for c in corruptions:
            _corrupt(pkg, *c)
        report = _outcome(lambda: evalkit.validate(pkg))
        package = _outcome(lambda: evalkit.load(pkg))
        if report is not None:
            assert (package is not None) == report.ok  # validate and load agree
        if package is not None:
            results = _outcome(lambda: evalkit.compute(package, indicators=["access.need_rate"], min_cell=1))
            if results is not None:
                assert set(results.table["indicator"]) <= {"access.need_rate"}


DESCRIPTOR_KEYS = ("name", "frequency", "crs", "extracted_on", "bounds", "design", "resources")
JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats(allow_nan=False)
                           | st.text(max_size=8) | st.sampled_from(["year", "quarter", "wgs84", "2024-01-01", "regions",
                                                                  "regions.csv", "../x", "/etc/passwd", "weight"]),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                               st.sampled_from(["name", "path", "sheet", "weight", "psu", "stratum", "x"]), inner,
                               max_size=3), max_leaves=8)


@_settings(100)
@given(changes=st.dictionaries(st.sampled_from(DESCRIPTOR_KEYS), JSON_VALUES, min_size=1, max_size=3),
       raw=st.none() | st.binary(max_size=24))
def test_any_descriptor_is_read_or_named(base, changes, raw):
    """datapackage.json with any JSON in its known keys (or junk bytes instead of JSON)."""
    with tempfile.TemporaryDirectory() as tmp:
        pkg = Path(tmp) / "pkg"
        pkg.mkdir()
        shutil.copy(base / "regions.csv", pkg)
        # three households are enough to reach every descriptor check
        rows = _rows(base / "households.csv")[:4]
        _write_rows(pkg / "households.csv", rows)
        if raw is not None:
            (pkg / "datapackage.json").write_bytes(raw)
        else:
            meta = json.loads((base / "datapackage.json").read_text())
            meta["resources"] = [{"name": "regions", "path": "regions.csv"}]
            meta.update(changes)
            (pkg / "datapackage.json").write_text(json.dumps(meta))
        _outcome(lambda: evalkit.validate(pkg))


@_settings(100)
@given(lines=st.lists(st.tuples(st.sampled_from(["utf-8", "gbk", "utf-16", "latin-1", "bytes"]),
                                st.text(alphabet=st.sampled_from(list("abc,;\"'\t 1-=北京市区县镇村\r")), max_size=20),
                                st.binary(max_size=6)), max_size=6))
def test_any_bytes_in_a_csv_are_read_or_named(con, lines):
    """A CSV of lines in any mix of encodings (and raw bytes) reads as text or is a named error."""
    from evalkit.data.io import SourceFile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "regions.csv"
        body = b"region_id,name\n"
        for encoding, text, data in lines:
            if encoding == "bytes":
                body += data + b"\n"
            else:
                body += text.encode(encoding, errors="replace") + b"\n"
        path.write_bytes(body)
        _raw_table(con, SourceFile("regions", path))


@_settings(30)
@given(cells=st.lists(st.lists(st.none() | st.integers(-10**18, 10**18) | st.floats(allow_nan=False,
                                                                                      allow_infinity=False)
                               | st.text(max_size=6) | st.booleans(), min_size=0, max_size=4), max_size=6),
       sheets=st.integers(1, 3))
def test_any_sheet_is_read_or_named(con, cells, sheets):
    """A workbook of any cells (title rows, numbers, blanks, several sheets) reads or is a named error."""
    import openpyxl

    from evalkit.data.io import SourceFile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "regions.xlsx"
        book = openpyxl.Workbook()
        for i in range(1, sheets):
            book.create_sheet(f"S{i}")
        for row in cells:
            book.active.append([c if not isinstance(c, str) else "".join(ch for ch in c if ch.isprintable())
                                for c in row])
        book.save(path)
        headers = _raw_table(con, SourceFile("regions", path))
        if headers is not None:
            assert len(headers) == len(set(headers))  # one name per column
