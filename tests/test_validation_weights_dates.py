"""Survey weights and implausible dates are validation errors naming file, column and rows.

Every package here is the tiny package of ``conftest.py`` (6 households h1-h6 on CSV
lines 2-7, 7 needs on lines 2-8, 6 assistance records on lines 2-7) with one change.
"""
import json
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import ASSISTANCE, HOUSEHOLDS, NEEDS, REGIONS

import evalkit
from evalkit.data.package import _read
from evalkit.errors import ParameterError


def with_weights(directory, weights):
    hh = HOUSEHOLDS.copy()
    hh["权重"] = weights
    hh.to_csv(directory / "households.csv", index=False, encoding="gbk")
    return directory


def problems(report, severity="error"):
    return {(p.file, p.column, p.check): p for p in report.problems if p.severity == severity}


def declare_extraction(directory, day="2024-06-30"):
    (directory / "datapackage.json").write_text(json.dumps({"name": "tiny", "frequency": "quarter",
                                                            "extracted_on": day}))
    return directory


# -- survey weights --------------------------------------------------------------------------


def test_blank_weights_where_others_are_given_are_an_error(tiny):
    """Weights 2, blank, 3, blank, 1, 2: h2 (line 3) and h4 (line 5) would silently weigh 1.

    Expected: one error households.csv · weight · missing values, count 2, examples line 3
    (h2) then line 5 (h4), saying 4 of 6 rows have a weight; nothing else is wrong.
    """
    report = evalkit.validate(with_weights(tiny, ["2", "", "3", " ", "1", "2"]))
    assert not report.ok and len(report.errors) == 1
    blank = problems(report)[("households.csv", "weight", "missing values")]
    assert blank.count == 2 and "4 of 6 rows" in blank.expected
    assert blank.examples == ["line 3 (household_id=h2)", "line 5 (household_id=h4)"]
    with pytest.raises(evalkit.ValidationError):
        evalkit.load(tiny)


def test_a_weight_column_left_blank_is_an_unweighted_package(tiny):
    """A 权重 column with no value in any row: no weights at all, so the package is valid
    and unweighted (as without the column), with no weight warning."""
    with_weights(tiny, [None] * 6)
    package = evalkit.load(tiny)
    assert package.report.ok and not package.weighted
    assert not [p for p in package.report.problems if p.column == "weight"]


def test_negative_nan_and_infinite_weights_in_a_csv(tiny):
    """Weights typed 2, -1, nan, inf, Infinity, -inf (lines 2-7).

    -1 (line 3) is a range error (values >= 0); nan, inf, Infinity and -inf (lines 4-7)
    parse as numbers that are not finite: one "finite number" error with 4 rows, shown as
    typed. -inf is not also a range error. 4 + 1 = 5 bad rows, 2 errors.
    """
    report = evalkit.validate(with_weights(tiny, ["2", "-1", "nan", "inf", "Infinity", "-inf"]))
    found = problems(report)
    assert set(found) == {("households.csv", "weight", "range"), ("households.csv", "weight", "finite number")}
    negative = found[("households.csv", "weight", "range")]
    assert negative.count == 1 and negative.examples == ["line 3 (household_id=h2): -1.0"]
    assert ">= 0" in negative.expected
    finite = found[("households.csv", "weight", "finite number")]
    assert finite.count == 4
    assert [e.split(":")[0] for e in finite.examples] == ["line 4 (household_id=h3)", "line 5 (household_id=h4)",
                                                          "line 6 (household_id=h5)", "line 7 (household_id=h6)"]
    assert [e.split(": ")[1] for e in finite.examples] == ["'nan'", "'inf'", "'Infinity'", "'-inf'"]


def test_nan_and_infinite_weights_in_parquet(tiny):
    """households.parquet with float weights 1.5, NaN, inf, -inf, 1, 2 written as they are
    (a Parquet NaN is a value, not a null): rows 2, 3 and 4 fail "finite number" (Parquet
    rows are numbered from 1, no header). Written through pandas, NaN becomes a Parquet
    null instead: row 2 is then a blank weight among given ones, a "missing values" error.
    """
    (tiny / "households.csv").unlink()
    table = pa.Table.from_pandas(HOUSEHOLDS, preserve_index=False)
    weights = pa.array([1.5, float("nan"), float("inf"), float("-inf"), 1.0, 2.0], pa.float64(), from_pandas=False)
    pq.write_table(table.append_column("权重", weights), tiny / "households.parquet")
    found = problems(evalkit.validate(tiny))
    assert set(found) == {("households.parquet", "weight", "finite number")}
    finite = found[("households.parquet", "weight", "finite number")]
    assert finite.count == 3
    assert finite.examples == ["row 2 (household_id=h2): 'nan'", "row 3 (household_id=h3): 'inf'",
                               "row 4 (household_id=h4): '-inf'"]

    frame = HOUSEHOLDS.assign(权重=[1.5, np.nan, 1.0, 1.0, 1.0, 2.0])
    frame.to_parquet(tiny / "households.parquet", index=False)
    found = problems(evalkit.validate(tiny))
    assert set(found) == {("households.parquet", "weight", "missing values")}
    assert found[("households.parquet", "weight", "missing values")].examples == ["row 2 (household_id=h2)"]


def test_zero_weights_are_counted_in_a_warning(tiny):
    """Weights 0, 2, 0, 1, 1, 1: valid and weighted; one warning households.csv · weight ·
    zero weights with count 2 ("2 of 6"), lines 2 (h1) and 4 (h3)."""
    package = evalkit.load(with_weights(tiny, ["0", "2", "0", "1", "1", "1"]))
    assert package.report.ok and package.weighted
    zero = problems(package.report, "warning")[("households.csv", "weight", "zero weights")]
    assert zero.count == 2 and "2 of 6 households" in zero.expected
    assert zero.examples == ["line 2 (household_id=h1)", "line 4 (household_id=h3)"]


def test_all_weights_zero_is_an_error(tiny):
    """Weights 0 in all 6 rows: nothing to estimate from, one error that says all 6 are 0."""
    report = evalkit.validate(with_weights(tiny, ["0"] * 6))
    assert len(report.errors) == 1
    zero = problems(report)[("households.csv", "weight", "zero weights")]
    assert zero.count == 6 and "all 6 given weights are 0" in zero.expected


def test_nan_and_infinity_in_a_whole_number_column_are_type_errors(tiny):
    """家庭人口 (size) typed nan on line 2 and inf on line 3 used to crash the loader
    (a NaN cast to a whole number); now both are type errors, "a whole number"."""
    hh = HOUSEHOLDS.astype({"家庭人口": object})
    hh.loc[0, "家庭人口"], hh.loc[1, "家庭人口"] = "nan", "inf"
    hh.to_csv(tiny / "households.csv", index=False, encoding="gbk")
    kind = problems(evalkit.validate(tiny))[("households.csv", "size", "type")]
    assert kind.count == 2 and kind.examples == ["line 2 (household_id=h1): 'nan'", "line 3 (household_id=h2): 'inf'"]


# -- dates -----------------------------------------------------------------------------------


def wild_dates(directory):
    """Need n3 (needs.csv line 4) identified on 2099-03-01; record a5 (assistance.csv line 6)
    starting 1850-06-01 (it has no end date, so no date-order error)."""
    needs = NEEDS.copy()
    needs.loc[2, "识别日期"] = "2099-03-01"
    needs.to_csv(directory / "needs.csv", index=False, encoding="gb18030")
    aid = ASSISTANCE.copy()
    aid.loc[4, "开始日期"] = "1850-06-01"
    aid.to_csv(directory / "assistance.csv", index=False, encoding="utf-8-sig")
    return directory


def test_event_date_after_extraction_and_date_before_1990_are_errors(tiny):
    """Extracted 2024-06-30. Expected: exactly two errors, needs.csv · identified_on ·
    latest date (line 4, '2099-03-01', the bound 2024-06-30 from datapackage.json) and
    assistance.csv · start_on · earliest date (line 6, '1850-06-01', bound 1990-01-01)."""
    report = evalkit.validate(wild_dates(declare_extraction(tiny)))
    found = problems(report)
    assert set(found) == {("needs.csv", "identified_on", "latest date"), ("assistance.csv", "start_on", "earliest date")}
    late = found[("needs.csv", "identified_on", "latest date")]
    assert late.count == 1 and late.examples == ["line 4 (need_id=n3): '2099-03-01'"]
    assert "2024-06-30" in late.expected and "extracted_on" in late.expected
    early = found[("assistance.csv", "start_on", "earliest date")]
    assert early.count == 1 and early.examples == ["line 6 (record_id=a5): '1850-06-01'"]
    assert "1990-01-01" in early.expected


def test_without_extracted_on_today_bounds_event_dates(tiny):
    """No extracted_on: the run's day is the bound, and 2099 lies after it; the message
    says so."""
    late = problems(evalkit.validate(wild_dates(tiny)))[("needs.csv", "identified_on", "latest date")]
    assert "today" in late.expected and "line 4" in late.examples[0]


def test_earliest_date_is_a_parameter(tiny):
    """earliest_date 1800-01-01 accepts 1850; only the 2099 date is left. A date after the
    extraction date (2024-06-30) as the earliest one is a parameter error."""
    declare_extraction(wild_dates(tiny))
    report = evalkit.validate(tiny, earliest_date="1800-01-01")
    assert set(problems(report)) == {("needs.csv", "identified_on", "latest date")}
    with pytest.raises(ParameterError, match="after the extraction date 2024-06-30"):
        evalkit.validate(tiny, earliest_date="2025-01-01")
    with pytest.raises(ParameterError, match="earliest date must be a date"):
        evalkit.validate(tiny, earliest_date="soon")


def test_planned_end_dates_may_lie_within_the_horizon(tiny):
    """Extracted 2024-06-30. Record a5 (line 6, started 2023-06-01, no end) planned to end
    2025-06-30, a year after extraction: valid. Ending 2031-01-01, beyond the 5-year
    horizon (2029-06-30): an error, assistance.csv · end_on · latest date, line 6. The
    same 2025 date as a start (an event) is an error."""
    declare_extraction(tiny)
    aid = ASSISTANCE.copy()
    aid.loc[4, "结束日期"] = "2025-06-30"
    aid.to_csv(tiny / "assistance.csv", index=False)
    package = evalkit.load(tiny)
    assert package.report.ok and package.periods[-1] == "2024Q2"
    aid.loc[4, "结束日期"] = "2031-01-01"
    aid.to_csv(tiny / "assistance.csv", index=False)
    found = problems(evalkit.validate(tiny))
    assert set(found) == {("assistance.csv", "end_on", "latest date")}
    horizon = found[("assistance.csv", "end_on", "latest date")]
    assert horizon.examples == ["line 6 (record_id=a5): '2031-01-01'"] and "2029-06-30" in horizon.expected
    aid.loc[4, ["开始日期", "结束日期"]] = ["2025-06-30", None]
    aid.to_csv(tiny / "assistance.csv", index=False)
    assert set(problems(evalkit.validate(tiny))) == {("assistance.csv", "start_on", "latest date")}


def test_wild_dates_never_stretch_the_periods(tiny):
    """The clean tiny package spans 2023Q2 (a5 starts 2023-06-01) to 2024Q2 (needs
    2024-04-05, a4/a6 April 2024): 5 quarters. With need n3 on 2099-03-01 and a5 moved to
    1850, the invalid package read anyway still has periods within 1990..2024-06-30:
    2023Q4 (a2 starts 2023-12-01, now the earliest) to 2024Q2, not 1850Q2..2099Q1
    (1,000 quarters)."""
    declare_extraction(tiny)
    assert _read(tiny, None, None, None).periods == ["2023Q2", "2023Q3", "2023Q4", "2024Q1", "2024Q2"]
    package = _read(wild_dates(tiny), None, None, None)
    assert not package.report.ok
    assert package.periods == ["2023Q4", "2024Q1", "2024Q2"]


def test_cli_earliest_date(tiny, tmp_path):
    """validate: 1850 fails by default (exit 1, the file, column and line named) and
    passes with --earliest-date 1800-01-01; indicators takes the option too."""
    aid = ASSISTANCE.copy()
    aid.loc[4, "开始日期"] = "1850-06-01"
    aid.to_csv(tiny / "assistance.csv", index=False)

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "evalkit.cli", *map(str, args)], capture_output=True, text=True)

    bad = cli("validate", tiny)
    assert bad.returncode == 1 and "assistance.csv · start_on · earliest date" in bad.stdout and "line 6" in bad.stdout
    assert cli("validate", tiny, "--earliest-date", "1800-01-01").returncode == 0
    assert cli("validate", tiny, "--earliest-date", "someday").returncode == 2
    out = tmp_path / "ind.csv"
    run = cli("indicators", tiny, "--out", out, "--quiet", "--earliest-date", "1800-01-01")
    assert run.returncode == 0, run.stderr


def test_report_takes_the_earliest_date(tiny, tmp_path):
    """The report's indicators load the package with the earliest date given: a5 starting
    1989-06-01 (yearly periods, county A's reform from 2024) makes the default run fail validation, and a run with
    1989-01-01 compute results for 1989..2024 whose cache key records the date."""
    from evalkit.report.batch import Options, prepare, results_settings
    from evalkit.report.data import read_meta

    (tiny / "datapackage.json").write_text(json.dumps({"name": "tiny", "frequency": "year"}))
    REGIONS.replace({"2024Q2": "2024"}).to_csv(tiny / "regions.csv", index=False)
    aid = ASSISTANCE.copy()
    aid.loc[4, "开始日期"] = "1989-06-01"
    aid.to_csv(tiny / "assistance.csv", index=False)
    with pytest.raises(evalkit.ValidationError):
        prepare(tiny, tmp_path / "default", Options(min_cell=0), log=lambda m: None)
    options = Options(min_cell=0, earliest_date="1989-01-01")
    assert "earliest_date" not in results_settings(Options(min_cell=0))
    data, path = prepare(tiny, tmp_path / "early", options, log=lambda m: None)
    assert data.periods[0] == "1989" and data.periods[-1] == "2024"
    assert read_meta(path)["settings"]["earliest_date"] == "1989-01-01"
