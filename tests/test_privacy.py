"""Identity numbers and names never get past the loader."""
import hashlib
import hmac
import re
import subprocess
import sys

import pandas as pd
import pytest
from conftest import HOUSEHOLDS

import evalkit
from evalkit import engine
from evalkit.data.privacy import check_digit, hmac_sql, id_number_problem_sql, is_valid_id_number


def test_check_digit_known_example():
    assert check_digit("11010519491231002") == "X"  # the standard's own example
    assert is_valid_id_number("11010519491231002X")
    assert is_valid_id_number("11010519491231002x")
    assert not is_valid_id_number("110105194912310021")
    assert not is_valid_id_number("11010519491331002X")  # month 13
    with pytest.raises(ValueError):
        check_digit("123")


def test_engine_check_digit_and_hmac_agree_with_python():
    con = engine.connect()
    values = ["11010519491231002X", "110105194912310021", "abc", "44010619850404456" + check_digit("44010619850404456")]
    key = b"a test key of some length"
    for v in values:
        p = engine.Params()
        bad, digest = engine.sql(con, f"SELECT {id_number_problem_sql(p(v), p)}, {hmac_sql(p(v), key, p)}", p)[0]
        assert bad == (not is_valid_id_number(v))
        assert digest == hmac.new(key, v.encode(), hashlib.sha256).hexdigest()
    long_key = b"k" * 100
    p = engine.Params()
    query = f"SELECT {hmac_sql(p('x'), long_key, p)}"
    assert long_key.hex() not in query and (b"\x5c" * 8).hex() not in query  # the key is bound, not in the text
    assert engine.sql(con, query, p)[0][0] == hmac.new(long_key, b"x", hashlib.sha256).hexdigest()


def test_loaded_tables_hold_no_identity_numbers_or_names(tiny, monkeypatch):
    monkeypatch.setenv("EVALKIT_PSEUDONYM_KEY", "fixed-key-for-test")
    pkg = evalkit.load(tiny)
    hh = pkg.tables["households"].execute()
    assert "id_number" not in hh.columns and "name" not in hh.columns
    expected = [hmac.new(b"fixed-key-for-test", v.encode(), hashlib.sha256).hexdigest() for v in HOUSEHOLDS["身份证号"]]
    assert sorted(hh["id_hash"]) == sorted(expected)


def test_household_ids_shaped_like_identity_numbers_are_pseudonymised(tiny):
    mapping = dict(zip(HOUSEHOLDS["户编号"], HOUSEHOLDS["身份证号"]))
    for name, enc in (("households.csv", "gbk"), ("needs.csv", "gb18030"), ("assistance.csv", "utf-8-sig")):
        frame = pd.read_csv(tiny / name, encoding=enc, dtype=str)
        frame["户编号"] = frame["户编号"].map(mapping)
        frame.to_csv(tiny / name, index=False, encoding=enc)
    pkg = evalkit.load(tiny)
    assert any(p.check == "personal identifiers" for p in pkg.report.warnings)
    for table in ("households", "needs", "assistance"):
        ids = set(pkg.tables[table].execute()["household_id"])
        assert not ids & set(mapping.values())
    res = evalkit.compute(pkg)  # foreign keys still line up after hashing
    row = res.overall("access.availability_rate")
    row = row[(row.region == "A") & (row.period == "2024Q1") & (row.service_type == "care")]
    assert row["value"].item() == pytest.approx(2 / 3)


def test_no_identity_number_or_name_in_any_output(synthetic, tmp_path):
    hh = pd.read_parquet(synthetic / "households.parquet", columns=["id_number", "name"])
    assert hh["id_number"].map(is_valid_id_number).all()  # the input really has them
    outputs = []
    for suffix in ("csv", "parquet"):
        out = tmp_path / f"ind.{suffix}"
        run = subprocess.run([sys.executable, "-m", "evalkit.cli", "indicators", str(synthetic), "--out", str(out),
                              "--by", "hukou,status,urban"], capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        outputs += [out.read_bytes(), (run.stdout + run.stderr).encode()]
    table = pd.read_parquet(tmp_path / "ind.parquet")
    text = b"\n".join(outputs).decode("utf-8", "replace") + table.to_csv()
    digits = set(re.findall(r"\d{17}[\dXx]", text))
    assert not digits & set(hh["id_number"])
    runs = set(re.findall(r"[\u4e00-\u9fff]+", text))
    pieces = {run[i:i + k] for run in runs for k in (2, 3) for i in range(len(run) - k + 1)}
    assert not pieces & set(hh["name"])
