"""Statutory working days (法定工作日): holidays off, adjusted weekend days worked, (start, end].

Every expected value is counted by hand in the test's docstring from the State Council's
holiday notices; fixed years only, never today's date.

Spring Festival 2024: holiday Saturday 10 to Saturday 17 February; Sunday 4 and Sunday 18
February worked. Qingming 2024: holiday Thursday 4 to Saturday 6 April; Sunday 7 April
worked.
"""
from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

import evalkit
from evalkit.data import workdays
from evalkit.errors import CalendarError, EvalkitError

PROCESS = ["coordination.verification_days", "coordination.processing_days", "coordination.decision_days",
           "coordination.delivery_days"]
WARNINGS = ["coordination.open_red_rate", "coordination.open_yellow_rate", "coordination.open_blue_rate"]


def write_package(d, cases, calendar=None, calendar_name="calendar.csv"):
    """One county C with one household per case; ``cases`` rows: id, applied, verified, decided, delivered, deadline."""
    d.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(cases, columns=["case_id", "applied_on", "verified_on", "decided_on", "delivered_on",
                                         "deadline_on"])
    frame.insert(1, "household_id", [f"h{i}" for i in range(len(frame))])
    frame["approved"] = True
    pd.DataFrame({"region_id": ["P", "C"], "name": ["省", "县"], "parent_id": [None, "P"]}).to_csv(
        d / "regions.csv", index=False)
    pd.DataFrame({"household_id": frame.household_id, "region_id": "C"}).to_csv(d / "households.csv", index=False)
    frame.to_csv(d / "cases.csv", index=False)
    if calendar is not None:
        calendar.to_csv(d / calendar_name, index=False)
    # extracted at the end of 2031, so the 2031 cases below are past events, not future ones
    (d / "datapackage.json").write_text(json.dumps({"frequency": "quarter", "extracted_on": "2031-12-31"}))
    return d


def value(res, indicator, period, region="C"):
    rows = res.overall(indicator)
    return rows[(rows.region == region) & (rows.period == period)].iloc[0]


def test_spring_festival_2024_by_chinese_calendar():
    """8 to 19 February 2024 is 3 working days: 9 (Friday, 除夕, worked), 18 (the adjusted
    working Sunday) and 19 (Monday); 10-17 is the holiday and 8 itself is excluded.
    Monday to Friday it would be 7 (9, 12-16, 19). 3 to 4 February: the working Sunday 4th, 1.
    """
    assert workdays.count(dt.date(2024, 2, 8), dt.date(2024, 2, 19)) == 3
    assert workdays.count(dt.date(2024, 2, 3), dt.date(2024, 2, 4)) == 1
    assert workdays.count(dt.date(2024, 2, 19), dt.date(2024, 2, 8)) == -3
    assert workdays.count(dt.date(2024, 2, 8), dt.date(2024, 2, 8)) == 0


def test_adding_working_days_inverts_the_count():
    """``add`` plants what ``count`` recovers: from Thursday 8 February 2024, the 1st working
    day after is 9 February, the 2nd 18 February (Sunday, worked), the 3rd 19 February; from
    Saturday 10 February (a holiday) the 1st is 18 February."""
    got = workdays.add(np.array(["2024-02-08"] * 3 + ["2024-02-10", "NaT"], dtype="datetime64[D]"), [1, 2, 3, 1, 1])
    assert got[:4].astype(str).tolist() == ["2024-02-09", "2024-02-18", "2024-02-19", "2024-02-18"]
    assert np.isnat(got[4])
    rng = np.random.default_rng(0)
    start = np.datetime64("2023-01-01") + rng.integers(0, 700, 200)
    n = rng.integers(1, 30, 200)
    end = workdays.add(start, n)
    assert [workdays.count(s.item(), e.item()) for s, e in zip(start, end)] == n.tolist()


def test_statutory_calendar_agrees_with_chinese_calendar():
    import chinese_calendar

    frame = workdays.statutory(range(2023, 2027))
    assert frame["working"].tolist() == [chinese_calendar.is_workday(d) for d in frame["date"]]


def test_process_times_count_statutory_days(tmp_path):
    """Each case in (start, end]:

    a  applied Thu 2024-02-08, verified Mon 02-19: 9, 18, 19 -> 3 (Monday-Friday: 7)
       decided Wed 02-21: 20, 21 -> 2; delivered Thu 02-22: 22 -> 1
       application to decision 02-08 -> 02-21: 3 + 2 = 5
    b  applied Sat 2024-02-03, verified Sun 02-04 (worked): 4 -> 1
       decided Fri 02-09: 5, 6, 7, 8, 9 -> 5; delivered Mon 02-19: 18, 19 -> 2
       application to decision: 1 + 5 = 6
    Means in 2024Q1: verification (3 + 1) / 2 = 2, processing (2 + 5) / 2 = 3.5,
    decision (5 + 6) / 2 = 5.5, delivery (1 + 2) / 2 = 1.5.
    """
    d = write_package(tmp_path / "pkg", [
        ("a", "2024-02-08", "2024-02-19", "2024-02-21", "2024-02-22", "2024-03-20"),
        ("b", "2024-02-03", "2024-02-04", "2024-02-09", "2024-02-19", "2024-03-20"),
    ])
    res = evalkit.compute(evalkit.load(d), indicators=PROCESS, min_cell=1)
    expected = {"verification_days": 2, "processing_days": 3.5, "decision_days": 5.5, "delivery_days": 1.5}
    for name, mean in expected.items():
        assert value(res, f"coordination.{name}", "2024Q1").value == pytest.approx(mean), name


def test_package_calendar_overrides_a_day(tmp_path):
    """A local rule in the package's 工作日历: Monday 19 February 2024 off (否), Saturday 6 April
    (Qingming holiday) worked (是).

    a  Thu 02-08 -> Mon 02-19 (2024Q1): with the table 9, 18 -> 2; chinese_calendar alone 9, 18, 19 -> 3
    g  Fri 04-05 -> Sat 04-06 (2024Q2): with the table 6 -> 1; alone 0 (6 April is a holiday)
    """
    cases = [("a", "2024-02-08", "2024-02-19", None, None, "2024-03-20"),
             ("g", "2024-04-05", "2024-04-06", None, None, "2024-05-20")]
    local = pd.DataFrame({"日期": ["2024年2月19日", "2024-04-06"], "是否工作日": ["否", "是"]})
    with_table = evalkit.load(write_package(tmp_path / "local", cases, local, "工作日历.csv"))
    assert with_table.has("calendar")
    res = evalkit.compute(with_table, indicators=["coordination.verification_days"], min_cell=1)
    assert value(res, "coordination.verification_days", "2024Q1").value == 2
    assert value(res, "coordination.verification_days", "2024Q2").value == 1
    alone = evalkit.compute(evalkit.load(write_package(tmp_path / "plain", cases)),
                            indicators=["coordination.verification_days"], min_cell=1)
    assert value(alone, "coordination.verification_days", "2024Q1").value == 3
    assert value(alone, "coordination.verification_days", "2024Q2").value == 0


def test_uncovered_year_fails_naming_it(tmp_path):
    """A case of 2031: chinese_calendar 1.11 stops at 2026 and there is no calendar table."""
    d = write_package(tmp_path / "pkg", [("a", "2031-03-03", "2031-03-05", None, None, "2031-04-01")])
    with pytest.raises(CalendarError, match="2031") as info:
        evalkit.compute(evalkit.load(d), indicators=["coordination.verification_days"], min_cell=1)
    assert info.value.years == [2031]
    covered = f"{workdays.COVERED_YEARS[0]}-{workdays.COVERED_YEARS[-1]}"  # 2004-2026 in chinese_calendar 1.11
    assert "calendar table" in str(info.value) and covered in str(info.value)
    assert isinstance(info.value, EvalkitError)


def test_a_full_calendar_table_covers_a_new_year(tmp_path):
    """The package lists every day of 2031 Monday-Friday working, except Tuesday 4 March off.
    Monday 3 March -> Wednesday 5 March 2031: 5 -> 1 (4 is off)."""
    days = pd.date_range("2031-01-01", "2031-12-31")
    calendar = pd.DataFrame({"date": days.strftime("%Y-%m-%d"),
                             "working": np.where((days.day_of_week < 5) & (days != "2031-03-04"), "是", "否")})
    d = write_package(tmp_path / "pkg", [("a", "2031-03-03", "2031-03-05", None, None, "2031-04-01")], calendar)
    res = evalkit.compute(evalkit.load(d), indicators=["coordination.verification_days"], min_cell=1)
    assert value(res, "coordination.verification_days", "2031Q1").value == 1


def test_a_partial_calendar_table_does_not_cover_a_year(tmp_path):
    """Only 2 days of 2031 listed: the other 363 are unknown, so 2031 is not covered."""
    calendar = pd.DataFrame({"date": ["2031-03-03", "2031-03-05"], "working": [1, 1]})
    d = write_package(tmp_path / "pkg", [("a", "2031-03-03", "2031-03-05", None, None, "2031-04-01")], calendar)
    with pytest.raises(CalendarError, match=r"2031: 363 day\(s\) not listed"):
        evalkit.compute(evalkit.load(d), indicators=["coordination.verification_days"], min_cell=1)


def test_warnings_count_statutory_days(tmp_path):
    """Open cases at the end of 2024Q1 (Sunday 31 March), working days left in (03-31, deadline]:

    q  deadline Fri 04-05: 1, 2, 3 April (4-6 Qingming off) -> 3: red (<= 3); calendar days 5, yellow
    r  deadline Mon 04-08: 1, 2, 3, 7 (Sunday worked), 8 -> 5: yellow (4 to 7); calendar days 8, blue
    s  deadline Wed 03-27, overdue: (03-27, 03-31] holds 28 and 29 -> -2: red
    t  deadline Fri 04-19: 1-3, 7, 8-12, 15-19 -> 14: blue
    Red 2 of 4 (q, s), yellow 1 (r), blue 1 (t).
    """
    d = write_package(tmp_path / "pkg", [
        ("q", "2024-03-01", None, None, None, "2024-04-05"),
        ("r", "2024-03-01", None, None, None, "2024-04-08"),
        ("s", "2024-03-01", None, None, None, "2024-03-27"),
        ("t", "2024-03-01", None, None, None, "2024-04-19"),
    ])
    res = evalkit.compute(evalkit.load(d), indicators=WARNINGS, min_cell=1)
    got = {c: (value(res, f"coordination.open_{c}_rate", "2024Q1").numerator,
               value(res, f"coordination.open_{c}_rate", "2024Q1").denominator) for c in ("red", "yellow", "blue")}
    assert got == {"red": (2, 4), "yellow": (1, 4), "blue": (1, 4)}


def test_calendar_table_dates_are_unique(tmp_path):
    """Two rows for 2024-02-19 are an error of the calendar table."""
    calendar = pd.DataFrame({"date": ["2024-02-19", "2024/2/19"], "working": ["是", "否"]})
    d = write_package(tmp_path / "pkg", [("a", "2024-02-08", "2024-02-19", None, None, "2024-03-20")], calendar)
    report = evalkit.validate(d)
    assert not report.ok
    assert "unique key" in str(report) and "2024-02-19" in str(report)


def test_synthetic_process_times_are_planted_in_statutory_days(tmp_path):
    """The generator plants applied -> verified -> decided in statutory working days, and the
    engine's count of every case equals the numpy count of the same dates (chinese_calendar)."""
    from evalkit.data.synth import generate

    out = tmp_path / "synth"
    generate(out, households=1500, regions=2, periods=4, seed=3)
    cases = pd.read_parquet(out / "cases.parquet")
    hh = pd.read_parquet(out / "households.parquet", columns=["household_id", "region_id"])
    cases = cases.merge(hh, on="household_id").dropna(subset=["verified_on"])
    cases["period"] = pd.PeriodIndex(pd.to_datetime(cases.applied_on), freq="Q").astype(str)
    cases["days"] = workdays.between(cases.applied_on.values.astype("datetime64[D]"),
                                     cases.verified_on.values.astype("datetime64[D]"))
    assert (cases["days"] >= 1).all()
    expected = cases.groupby(["region_id", "period"])["days"].mean()
    res = evalkit.compute(evalkit.load(out), indicators=["coordination.verification_days"])
    rows = res.overall("coordination.verification_days").set_index(["region", "period"])["value"]
    assert np.allclose(rows.reindex(expected.index).to_numpy(), expected.to_numpy())


def test_synthetic_dates_stay_in_covered_years(tmp_path):
    """Eight quarters from the first quarter of chinese_calendar's last year (2026 in 1.11) end
    in the year after, which it does not cover: the generator refuses."""
    from evalkit.data.synth import generate
    from evalkit.errors import ParameterError

    last = workdays.COVERED_YEARS[-1]
    with pytest.raises(ParameterError, match=f"{workdays.COVERED_YEARS[0]}-{last}"):
        generate(tmp_path / "late", households=100, regions=1, periods=8, seed=1, start=f"{last}-01-01")
    generate(tmp_path / "fits", households=100, regions=1, periods=4, seed=1, start=f"{last - 1}-01-01")


def test_validation_warns_of_uncovered_years(tmp_path):
    """``evalkit validate`` warns (it does not fail) that the case of 2031 needs a calendar table."""
    d = write_package(tmp_path / "pkg", [("a", "2031-03-03", "2031-03-05", None, None, "2031-04-01")])
    report = evalkit.validate(d)
    assert report.ok
    assert "working-day calendar" in str(report) and "2031" in str(report)
    days = pd.date_range("2031-01-01", "2031-12-31")
    full = pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "working": (days.day_of_week < 5).astype(int)})
    covered = evalkit.validate(write_package(tmp_path / "covered", [("a", "2031-03-03", "2031-03-05", None, None,
                                                                      "2031-04-01")], full))
    assert "working-day calendar" not in str(covered)
