"""A broken package fails validation with every problem named: file, column, rows."""
import json
import subprocess
import sys

import pandas as pd
import pytest
from conftest import ASSISTANCE, HOUSEHOLDS, NEEDS, write_tiny

import evalkit
from evalkit.data.validation import ValidationError


def evalkit_cli(*args):
    return subprocess.run([sys.executable, "-m", "evalkit.cli", *map(str, args)], capture_output=True, text=True)


@pytest.fixture
def broken(tmp_path):
    d = write_tiny(tmp_path / "broken")
    hh = HOUSEHOLDS.copy()
    hh.loc[5, "区县"] = "Z9"  # bad foreign key, line 7
    ids = hh["身份证号"].tolist()
    ids[1] = ids[1][:17] + ("0" if ids[1][17] != "0" else "1")  # bad check digit, line 3
    hh["身份证号"] = ids
    hh.to_csv(d / "households.csv", index=False, encoding="gbk")
    needs = NEEDS.copy()
    needs.loc[2, "服务类型"] = "理发"  # unknown service type, line 4
    needs.to_csv(d / "needs.csv", index=False, encoding="gbk")
    aid = ASSISTANCE.copy()
    aid.loc[0, "金额"] = -300  # negative amount, line 2
    aid.loc[3, "结束日期"] = "2024-03-01"  # ends before it starts, line 5
    aid.to_csv(d / "assistance.csv", index=False, encoding="utf-8-sig")
    return d


def test_every_problem_is_reported_at_once(broken):
    report = evalkit.validate(broken)
    assert not report.ok
    found = {(p.file, p.column, p.check): p for p in report.errors}
    fk = found[("households.csv", "region_id", "foreign key")]
    assert fk.count == 1 and "line 7" in fk.examples[0] and "'Z9'" in fk.examples[0]
    digit = found[("households.csv", "id_number", "identity number check digit")]
    assert digit.count == 1 and "line 3" in digit.examples[0]
    assert HOUSEHOLDS["身份证号"][1][:17] not in str(report)  # the number itself is never echoed
    kind = found[("needs.csv", "service_type", "type")]
    assert "line 4" in kind.examples[0] and "理发" in kind.examples[0] and "照料护理" in kind.expected
    neg = found[("assistance.csv", "amount", "range")]
    assert "line 2" in neg.examples[0] and ">= 0" in neg.expected
    order = found[("assistance.csv", "start_on, end_on", "date order")]
    assert "line 5" in order.examples[0]
    assert len(report.errors) == 5


def test_load_raises_with_the_report(broken):
    with pytest.raises(ValidationError) as err:
        evalkit.load(broken)
    assert len(err.value.report.errors) == 5


def test_cli_validate_exit_codes(broken, tiny, tmp_path):
    bad = evalkit_cli("validate", broken)
    assert bad.returncode == 1
    assert "households.csv · region_id · foreign key" in bad.stdout
    assert "5 error(s)" in bad.stdout
    good = evalkit_cli("validate", tiny)
    assert good.returncode == 0 and "valid" in good.stdout
    missing = evalkit_cli("validate", tmp_path / "nowhere")
    assert missing.returncode == 2 and "no such directory" in missing.stderr
    as_json = json.loads(evalkit_cli("validate", broken, "--json").stdout)
    assert {p["check"] for p in as_json} >= {"foreign key", "range", "date order", "type"}


def test_cli_indicators_refuses_invalid_data_and_writes_nothing(broken, tmp_path):
    out = tmp_path / "out.csv"
    run = evalkit_cli("indicators", broken, "--out", out)
    assert run.returncode == 1 and "foreign key" in run.stderr
    assert not out.exists() and not list(tmp_path.glob(".out.csv*"))


def test_missing_required_table_column_and_duplicates(tmp_path):
    d = write_tiny(tmp_path / "p")
    (d / "regions.csv").unlink()
    hh = HOUSEHOLDS.drop(columns=["区县"])
    hh = pd.concat([hh, hh.iloc[[0]]])
    hh["extra"] = 1
    hh.to_csv(d / "households.csv", index=False)
    report = evalkit.validate(d)
    checks = {(p.table, p.column, p.check) for p in report.errors}
    assert ("regions", "", "required table") in checks
    assert ("households", "region_id", "required column") in checks
    assert ("households", "household_id", "unique key") in checks
    assert any(p.check == "unknown columns" and "extra" in p.column for p in report.warnings)


def test_warnings_do_not_fail(tiny):
    needs = NEEDS.copy()
    needs.loc[0, "识别日期"] = None
    needs.to_csv(tiny / "needs.csv", index=False, encoding="gbk")
    report = evalkit.validate(tiny)
    assert report.ok
    warn = [p for p in report.warnings if p.check == "missing dates"]
    assert warn and "14.3% of rows" in warn[0].expected


def test_region_cycle_and_bad_reform_period(tiny):
    regions = pd.read_csv(tiny / "regions.csv")
    regions.loc[0, "上级区划代码"] = "A"  # P -> A -> P
    regions.loc[2, "改革起始期"] = "next year"
    regions.to_csv(tiny / "regions.csv", index=False)
    checks = {p.check for p in evalkit.validate(tiny).errors}
    assert {"region tree", "period label"} <= checks


def test_unreadable_file_is_named(tiny):
    (tiny / "needs.csv").unlink()
    (tiny / "needs.xlsx").write_bytes(b"not a spreadsheet")
    report = evalkit.validate(tiny)
    assert any(p.file == "needs.xlsx" and p.check == "readable file" for p in report.errors)
