"""The same package as Parquet, CSV (UTF-8 / GBK, English / Chinese headers) and Excel gives the same indicators."""
import json
import shutil

import pandas as pd
import pytest
from conftest import ASSISTANCE, HOUSEHOLDS, NEEDS, REGIONS

import evalkit
from evalkit.data.schema import TABLES
from evalkit.data.synth import generate


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    out = tmp_path_factory.mktemp("fmt") / "parquet"
    generate(out, households=1500, regions=2, periods=2, seed=3)
    return out


def as_chinese(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    names = {c.name: c.aliases[0] for c in TABLES[table].columns if c.aliases}
    return frame.rename(columns=names)


def reference(pkg_dir):
    return evalkit.compute(evalkit.load(pkg_dir)).table


def test_gbk_csv_with_chinese_headers_equals_parquet(small, tmp_path):
    out = tmp_path / "gbk"
    out.mkdir()
    for f in small.glob("*.parquet"):
        frame = as_chinese(pd.read_parquet(f), f.stem)
        frame.to_csv(out / f"{f.stem}.csv", index=False, encoding="gb18030")
    meta = json.loads((small / "datapackage.json").read_text())
    (out / "datapackage.json").write_text(json.dumps({"name": meta["name"], "frequency": meta["frequency"]}))
    pd.testing.assert_frame_equal(reference(out), reference(small))


def test_excel_and_utf8_csv_equal_parquet(small, tmp_path):
    out = tmp_path / "mixed"
    out.mkdir()
    for f in small.glob("*.parquet"):
        frame = pd.read_parquet(f)
        if f.stem in ("regions", "households", "needs"):
            frame.to_excel(out / f"{f.stem}.xlsx", index=False)
        else:
            frame.to_csv(out / f"{f.stem}.csv", index=False, encoding="utf-8-sig")
    (out / "datapackage.json").write_text(json.dumps({"frequency": "quarter"}))
    pd.testing.assert_frame_equal(reference(out), reference(small))


def test_chinese_values_and_file_names(tmp_path):
    d = tmp_path / "zh"
    d.mkdir()
    REGIONS.to_csv(d / "地区.csv", index=False, encoding="gbk")
    HOUSEHOLDS.to_csv(d / "家庭.csv", index=False, encoding="gbk")
    NEEDS.to_csv(d / "需求.csv", index=False, encoding="gbk")
    ASSISTANCE.to_csv(d / "帮扶记录.csv", index=False, encoding="gbk")
    pkg = evalkit.load(d, frequency="quarter")
    hh = pkg.tables["households"].execute().set_index("household_id")
    assert hh.loc["h3", "hukou"] == "migrant" and hh.loc["h1", "status"] == "dibao"
    assert hh.loc["h3", "income_pc"] == pytest.approx(500.5)
    needs = pkg.tables["needs"].execute().set_index("need_id")
    assert needs.loc["n3", "service_type"] == "care"
    assert pd.Timestamp(needs.loc["n3", "identified_on"]) == pd.Timestamp("2024-02-03")  # 2024年2月3日


def test_two_files_for_one_table_is_an_error(tiny):
    (tiny / "needs.parquet").write_bytes(b"")
    with pytest.raises(evalkit.PackageError, match="two files for table needs"):
        evalkit.load(tiny)


# --- typed Parquet read as is (no cast to text and back) gives what the text route gives ----

def loaded_tables(pkg_dir):
    """Every table of a loaded package, rows in file order (values and dtypes)."""
    pkg = evalkit.load(pkg_dir)
    return {n: pkg.con.table(n).execute().sort_values("_row").reset_index(drop=True) for n in pkg.tables}, pkg


def same_tables(a: dict, b: dict) -> None:
    assert set(a) == set(b)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True, obj=name)


def problems(report) -> list[dict]:
    """The report with file names and row locations written one way (Parquet rows, CSV lines)."""
    import re

    out = []
    for p in json.loads(report.to_json()):
        p["file"] = p["file"].rsplit(".", 1)[0]
        p["examples"] = [re.sub(r"\bline (\d+)", lambda m: f"row {int(m.group(1)) - 1}", e) for e in p["examples"]]
        out.append(p)
    return out


def as_text_parquet(src, out):
    """The same package with every Parquet column stored as the engine's text of it (what the
    loader read before typed columns were read as is): the text route for every column."""
    import duckdb

    out.mkdir()
    con = duckdb.connect()
    for f in src.iterdir():
        if f.suffix == ".parquet":
            cols = [r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(f)]).fetchall()]
            casts = ", ".join(f'CAST("{c}" AS VARCHAR) AS "{c}"' for c in cols)
            con.execute(f"CREATE OR REPLACE TABLE t AS SELECT {casts} FROM read_parquet(?)", [str(f)])
            con.execute(f"COPY t TO '{out / f.name}' (FORMAT parquet)")
        else:
            (out / f.name).write_bytes(f.read_bytes())
    return out


def test_typed_parquet_csv_and_text_parquet_load_the_same_tables(small, tmp_path):
    typed, pkg = loaded_tables(small)
    native = pkg.con.table("households").schema()
    assert native["size"].is_integer() and native["urban"].is_boolean()
    csv = tmp_path / "csv"
    generate(csv, households=1500, regions=2, periods=2, seed=3, format="csv")
    csv_tables, csv_pkg = loaded_tables(csv)
    same_tables(typed, csv_tables)
    assert problems(pkg.report) == problems(csv_pkg.report)
    text_tables, text_pkg = loaded_tables(as_text_parquet(small, tmp_path / "text"))
    same_tables(typed, text_tables)
    assert text_pkg.report.to_json() == pkg.report.to_json()


def _views(pkg) -> set[str]:
    from evalkit.engine import sql

    return {r[0] for r in sql(pkg.con, "SELECT view_name FROM duckdb_views() WHERE NOT internal")}


def test_parquet_tables_are_views_that_equal_the_text_route(small, tmp_path):
    """A Parquet table is a view on its file (nothing copied); its values read as they are when
    trimming and lookups change nothing, else through the same SQL as text. Padded ids, spellings
    to look up, period labels to rewrite and repeated keys give the tables and the report that
    the same values as CSV give; household ids shaped like identity numbers are hashed once,
    into tables."""
    import pyarrow.parquet as pq

    typed, pkg = loaded_tables(small)
    assert set(pkg.tables) <= _views(pkg)
    dirty = tmp_path / "dirty"
    dirty.mkdir()
    for f in small.iterdir():
        (dirty / f.name).write_bytes(f.read_bytes())
    needs = pq.read_table(small / "needs.parquet").to_pandas()
    needs.loc[:3, "household_id"] = " " + needs.loc[:3, "household_id"]  # trimmed on reading
    needs.loc[4:6, "service_type"] = "医疗"  # looked up
    own_id = needs.loc[8, "need_id"]
    needs.loc[8, "need_id"] = needs.loc[7, "need_id"]  # a repeated key
    needs.to_parquet(dirty / "needs.parquet", index=False)
    panel = pq.read_table(small / "household_periods.parquet").to_pandas()
    panel["period"] = panel["period"].str.lower()  # 2023q1 -> 2023Q1
    panel.to_parquet(dirty / "household_periods.parquet", index=False)
    csv = tmp_path / "csv"
    generate(csv, households=1500, regions=2, periods=2, seed=3, format="csv")
    needs.to_csv(csv / "needs.csv", index=False)
    panel.to_csv(csv / "household_periods.csv", index=False)
    from evalkit.data.package import validate

    parquet_report, csv_report = validate(dirty), validate(csv)
    same_files = [{**p, "expected": p["expected"].replace(".parquet", ".csv")} for p in problems(parquet_report)]
    assert same_files == problems(csv_report)
    assert {p.check for p in parquet_report.errors} == {"unique key", "foreign key"}  # the need_id replaced
    needs.loc[8, "need_id"] = own_id  # valid again: compare the tables
    needs.to_parquet(dirty / "needs.parquet", index=False)
    needs.to_csv(csv / "needs.csv", index=False)
    (parquet_tables, parquet_pkg), (csv_tables, _) = loaded_tables(dirty), loaded_tables(csv)
    assert set(parquet_pkg.tables) <= _views(parquet_pkg)
    same_tables(parquet_tables, csv_tables)
    assert parquet_tables["household_periods"]["period"].str.match(r"^\d{4}Q[1-4]$").all()

    households = pq.read_table(small / "households.parquet").to_pandas()
    shaped = dict(zip(households["household_id"], households["id_number"]))  # ids shaped like identity numbers
    for name in ("households", "household_periods", "needs", "assistance", "referrals", "cases", "feedback"):
        frame = pq.read_table(small / f"{name}.parquet").to_pandas()
        frame.assign(household_id=frame["household_id"].map(shaped)).to_parquet(dirty / f"{name}.parquet", index=False)
    hashed_tables, hashed = loaded_tables(dirty)
    assert hashed.report.warnings[0].check == "personal identifiers"
    assert "households" not in _views(hashed) and "regions" in _views(hashed)
    assert set(hashed_tables["needs"]["household_id"]) <= set(hashed_tables["households"]["household_id"])


def test_parquet_text_padded_with_unicode_spaces_reads_as_the_clean_file(small, tmp_path):
    """Enumerations and period labels stored as Parquet text are trimmed of the spaces TRIM
    removes (the ideographic space U+3000 and the no-break space U+00A0 too, not tabs): padded,
    they give the same tables as the clean file. An identifier is formula-like by its first
    character only: a tab or '=' first counts; a '-' inside, or a Chinese first character, does not."""
    import pyarrow.parquet as pq

    padded = shutil.copytree(small, tmp_path / "padded")
    needs = pq.read_table(small / "needs.parquet").to_pandas()
    needs.loc[:2, "service_type"] = "\u3000" + needs.loc[:2, "service_type"]
    needs.loc[3:4, "service_type"] = needs.loc[3:4, "service_type"] + "\u00a0 "
    needs.to_parquet(padded / "needs.parquet", index=False)
    panel = pq.read_table(small / "household_periods.parquet").to_pandas()
    panel.loc[:5, "period"] = panel.loc[:5, "period"] + "\u3000"
    panel.to_parquet(padded / "household_periods.parquet", index=False)
    clean, _ = loaded_tables(small)
    tables, pkg = loaded_tables(padded)
    assert {"needs", "household_periods"} <= _views(pkg)
    same_tables(clean, tables)

    from evalkit.data.package import validate

    providers = pq.read_table(small / "providers.parquet").to_pandas()
    first = providers["provider_id"].iloc[:4]
    providers.loc[:3, "provider_id"] = ["\t" + first.iloc[0], "=" + first.iloc[1], "中" + first.iloc[2],
                                        first.iloc[3][:1] + "-" + first.iloc[3][1:]]
    odd = shutil.copytree(small, tmp_path / "odd")
    providers.to_parquet(odd / "providers.parquet", index=False)
    found = [p for p in validate(odd).warnings if p.check == "formula-like text" and p.table == "providers"]
    assert [(p.column, p.count) for p in found] == [("provider_id", 2)]


def _broken_frames():
    """The tiny package with values of the wrong type or out of range, in columns Parquet
    stores typed (numbers, dates, yes/no) and as text (dates and numbers as strings)."""
    import datetime as dt

    hh = HOUSEHOLDS.copy()
    hh["家庭人口"] = [3.0, 1.0, 3.5, 4.0, 0.0, 1.0]  # an int column holding floats: 3.5 a type error, 0 out of range
    hh["户主年龄"] = pd.array([40, 130, 55, None, 61, 33], dtype="Int64")  # typed ints, 130 out of range
    hh["人均收入"] = ["600", "abc", "500.5", "1,200", "nan", None]  # numbers as strings
    hh["有老年人"] = [True, False, None, True, False, True]  # typed yes/no
    hh["经度"] = [120.1, float("inf"), 120.3, 500.0, None, 120.5]  # typed floats: inf, out of range
    hh["救助身份"] = ["低保", "低边", "無", "特困", "dibao", " 无 "]  # an unknown spelling, canonical, padded
    needs = NEEDS.copy()
    needs["识别日期"] = ["2024-01-10", "2024/1/12", "2024年2月3日", "20240115", "1980-01-20", "2024-13-01", None]
    needs["发布日期"] = [dt.date(2024, 1, 11), dt.date(2024, 1, 2), None, dt.date(2024, 1, 20), dt.date(2024, 1, 21),
                     dt.date(1985, 2, 2), dt.date(2099, 1, 1)]  # typed dates: before identification, too early, too late
    needs["附近有供给"] = ["是", "否", "maybe", "是", "1", "否", "no"]
    aid = ASSISTANCE.copy()
    aid["金额"] = [300.0, -150.0, float("nan"), 200.0, 0.0, 80.0]  # typed floats: negative; NaN is missing in both
    aid["开始日期"] = pd.to_datetime(["2024-01-15", "2023-12-01", "2024-01-20", "2024-04-01", "2023-06-01", "2024-04-10"])
    return {"regions": REGIONS, "households": hh, "needs": needs, "assistance": aid}


def _write_broken(directory, fmt):
    directory.mkdir()
    for name, frame in _broken_frames().items():
        if fmt == "parquet":
            frame.to_parquet(directory / f"{name}.parquet", index=False)
        else:
            frame.to_csv(directory / f"{name}.csv", index=False, encoding="utf-8")
    (directory / "datapackage.json").write_text(json.dumps({"name": "broken", "frequency": "quarter",
                                                            "extracted_on": "2024-06-30"}))
    return directory


def test_wrongly_typed_parquet_reports_what_csv_reports(tmp_path):
    import pyarrow.parquet as pq

    parquet = _write_broken(tmp_path / "parquet", "parquet")
    types = {f.name: str(f.type) for f in pq.read_schema(parquet / "households.parquet")}
    assert types["家庭人口"] == "double" and types["户主年龄"] == "int64" and "string" in types["人均收入"]
    assert str(pq.read_schema(parquet / "needs.parquet").field("发布日期").type) == "date32[day]"
    assert str(pq.read_schema(parquet / "assistance.parquet").field("开始日期").type).startswith("timestamp")
    typed = evalkit.validate(parquet)
    csv = evalkit.validate(_write_broken(tmp_path / "csv", "csv"))
    assert problems(typed) == problems(csv)
    found = {(p.table, p.column, p.check): p for p in typed.errors}
    assert found[("households", "size", "type")].examples == ["row 3 (household_id=h3): '3.5'"]
    assert found[("households", "size", "range")].count == 1
    assert found[("households", "head_age", "range")].examples == ["row 2 (household_id=h2): 130"]
    assert found[("households", "income_pc", "type")].count == 1  # 'abc'; '1,200' is 1200
    assert found[("households", "income_pc", "finite number")].count == 1  # 'nan'
    assert found[("households", "lon", "finite number")].examples == ["row 2 (household_id=h2): 'inf'"]
    assert found[("households", "status", "type")].examples == ["row 3 (household_id=h3): '無'"]
    assert found[("needs", "identified_on", "type")].count == 1
    assert found[("needs", "identified_on", "earliest date")].count == 1
    assert found[("needs", "published_on", "earliest date")].count == 1
    assert found[("needs", "published_on", "latest date")].count == 1
    assert found[("needs", "identified_on, published_on", "date order")].count == 1
    assert found[("needs", "supply_nearby", "type")].count == 1  # maybe; "1" and "no" are spellings
    assert found[("assistance", "amount", "range")].count == 1
    # the text route for every column gives the same report, file names and rows included
    text = evalkit.validate(as_text_parquet(parquet, tmp_path / "text"))
    assert text.to_json() == typed.to_json()


def test_enumerations_take_every_spelling(tmp_path):
    """Looked up once per distinct value: Chinese, canonical, mixed case and padded spellings."""
    d = _write_broken(tmp_path / "p", "parquet")
    frame = HOUSEHOLDS.copy()
    frame["救助身份"] = ["低保", "DIBAO", " dibian ", "特困供养", "无", None]
    frame.to_parquet(d / "households.parquet", index=False)
    for name in ("needs", "assistance"):
        (d / f"{name}.parquet").unlink()
    hh = evalkit.load(d).tables["households"].execute().sort_values("_row")
    assert hh["status"].tolist()[:5] == ["dibao", "dibao", "dibian", "tekun", "none"] and pd.isna(hh["status"].iloc[5])


# --- the converted-copy cache (CSV and Excel) ----------------------------------------------

KEY = "a-pseudonym-key-for-the-cache-tests"


@pytest.fixture
def cached(tmp_path, monkeypatch):
    """A cache directory outside the package, a configured key; returns the cache root."""
    root = tmp_path / "cache"
    monkeypatch.setenv("EVALKIT_CACHE_DIR", str(root))
    monkeypatch.setenv("EVALKIT_PSEUDONYM_KEY", KEY)
    return root


def entries(root):
    return sorted(p.name for p in (root / "packages").iterdir() if not p.name.startswith(".")) \
        if (root / "packages").exists() else []


def snapshot(directory):
    return sorted((p.relative_to(directory).as_posix(), p.stat().st_mtime_ns) for p in directory.rglob("*"))


def test_cache_gives_the_same_tables_and_report(tiny, cached, monkeypatch):
    REGIONS.assign(备注="x").to_csv(tiny / "regions.csv", index=False)  # a warning: an unknown column
    before = snapshot(tiny)
    first, pkg = loaded_tables(tiny)
    assert len(entries(cached)) == 1
    from evalkit.data import package

    def no_reading(self, tmp):
        raise AssertionError("read the files again instead of the cache")

    monkeypatch.setattr(package._Loader, "read_all", no_reading)
    again, hit = loaded_tables(tiny)
    same_tables(first, again)
    assert hit.report.to_json() == pkg.report.to_json() and hit.report.warnings
    assert (hit.periods, hit.rows, hit.weighted) == (pkg.periods, pkg.rows, pkg.weighted)
    pd.testing.assert_frame_equal(hit.regions, pkg.regions)
    assert hit.fingerprint() == pkg.fingerprint()
    assert snapshot(tiny) == before  # nothing written inside the package
    stored = b"".join(p.read_bytes() for p in cached.rglob("*") if p.is_file())
    assert KEY.encode() not in stored and "张三丰".encode() not in stored  # neither the key nor names


def test_a_parquet_package_caches_its_checks_not_its_tables(small, tmp_path, cached, monkeypatch):
    """Parquet tables stay views on the package's files; the cache keeps the checks' outcome,
    so a second load builds the views and skips the checks, with the same tables and report.
    A changed file misses."""
    import pyarrow.parquet as pq

    pkg_dir = tmp_path / "pkg"
    pkg_dir.mkdir()
    for f in small.iterdir():
        (pkg_dir / f.name).write_bytes(f.read_bytes())
    households = pq.read_table(pkg_dir / "households.parquet").to_pandas()
    households.loc[0, "weight"] = 0.0  # a warning: a zero weight
    households.to_parquet(pkg_dir / "households.parquet", index=False)
    first, pkg = loaded_tables(pkg_dir)
    assert pkg.report.warnings and len(entries(cached)) == 1
    entry = next(p for p in (cached / "packages").iterdir() if not p.name.startswith("."))
    assert [p.name for p in entry.iterdir()] == ["entry.json"]  # no copy of the tables

    from evalkit.data import package

    def no_checks(self):
        raise AssertionError("checked the tables again instead of reading the cache")

    monkeypatch.setattr(package._Loader, "check_all", no_checks)
    again, hit = loaded_tables(pkg_dir)
    same_tables(first, again)
    assert set(hit.tables) <= _views(hit)
    assert hit.report.to_json() == pkg.report.to_json()
    assert (hit.periods, hit.rows, hit.weighted) == (pkg.periods, pkg.rows, pkg.weighted)
    households.loc[1, "weight"] = 0.0
    households.to_parquet(pkg_dir / "households.parquet", index=False)
    with pytest.raises(AssertionError, match="checked the tables again"):
        evalkit.load(pkg_dir)


def test_cache_misses_on_a_changed_file_or_key_and_is_off_when_asked(tiny, cached, monkeypatch):
    first, _ = loaded_tables(tiny)
    households = pd.read_csv(tiny / "households.csv", encoding="gbk", dtype=str)
    households.loc[0, "家庭人口"] = "5"
    households.to_csv(tiny / "households.csv", index=False, encoding="gbk")
    changed, _ = loaded_tables(tiny)
    assert len(entries(cached)) == 2
    assert changed["households"].loc[0, "size"] == 5 != first["households"].loc[0, "size"]
    monkeypatch.setenv("EVALKIT_PSEUDONYM_KEY", KEY + "-another")
    other, _ = loaded_tables(tiny)
    assert len(entries(cached)) == 3
    assert not set(other["households"]["id_hash"]) & set(changed["households"]["id_hash"])
    monkeypatch.setenv("EVALKIT_CACHE_DIR", "off")
    monkeypatch.setenv("EVALKIT_PSEUDONYM_KEY", KEY + "-a-third")
    loaded_tables(tiny)
    assert len(entries(cached)) == 3


def test_cache_is_never_inside_the_package_nor_kept_without_a_key(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("EVALKIT_PSEUDONYM_KEY", KEY)
    monkeypatch.delenv("EVALKIT_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tiny / "cache-here"))  # a cache directory inside the package
    before = snapshot(tiny)
    evalkit.load(tiny)
    assert snapshot(tiny) == before
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    evalkit.load(tiny)
    assert len(entries(tmp_path / "xdg" / "evalkit")) == 1  # the default place
    monkeypatch.delenv("EVALKIT_PSEUDONYM_KEY")  # a random key per process: pseudonyms never reused
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg2"))
    evalkit.load(tiny)
    assert not (tmp_path / "xdg2").exists()
