"""Statutory working days (法定工作日): the calendar behind every working-day count.

Chinese administrative time limits count statutory working days: Monday to Friday, less
the public holidays, plus the weekend days worked in exchange (调休). The calendar comes
from the ``chinese-calendar`` package (imported as ``chinese_calendar``; 1.11 covers
2004-2026 and raises for other years) and from a package's optional ``calendar`` table
(工作日历: ``date``, ``working``), which overrides it day by day: for years the package
does not cover yet, or for local rules. A year chinese_calendar does not cover is
covered by the calendar table only when the table lists every day of it; a count that
needs a year neither covers fails with :class:`CalendarError` naming the years.

Convention: a count runs over (start, end], the start day excluded and the end day
included. Spring Festival 2024 (holiday 10-17 February, Sunday 4 and Sunday 18 February
worked): from Thursday 8 to Monday 19 February 2024 is 3 working days (9, 18 and 19
February). numpy's ``busday_count`` counts [start, end) (Monday-Friday unless given
holidays): with the same calendar the two agree when start and end are both working days,
not in general (from a Saturday to the next Monday: 1 here, 0 there).

In the engine a calendar is a small table, one row per day of the years needed, with
``working`` and ``workday_index``, the number of working days up to and including the
day; a count is ``workday_index(end) - workday_index(start)`` (negative when end is
before start), two joins and no loop over rows.

>>> count(dt.date(2024, 2, 8), dt.date(2024, 2, 19))
3
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import chinese_calendar
import ibis
import numpy as np
import pandas as pd

from evalkit.errors import CalendarError

#: Years chinese_calendar knows (2004-2026 in version 1.11).
COVERED_YEARS = range(min(chinese_calendar.holidays).year, max(chinese_calendar.holidays).year + 1)
SOURCE = f"chinese_calendar {getattr(chinese_calendar, '__version__', '')}".strip()

HOW_TO_SUPPLY = ("add a calendar table to the package (a file named calendar or 工作日历, .csv/.xlsx/.parquet, "
                 "columns date/日期 and working/是否工作日 with 是/否 or 1/0) listing every day of each such year")


def _days_of(years: Iterable[int]) -> pd.DatetimeIndex:
    years = sorted(set(years))
    if not years:
        return pd.DatetimeIndex([], dtype="datetime64[ns]")
    return pd.DatetimeIndex(np.concatenate([pd.date_range(f"{y}-01-01", f"{y}-12-31").values for y in years]))


def statutory(years: Iterable[int]) -> pd.DataFrame:
    """Every day of ``years`` with ``working`` per chinese_calendar; NULL (``pd.NA``) in years it does not cover."""
    days = _days_of(years)
    working = pd.Series(days.day_of_week < 5, index=days, dtype="boolean")
    off = pd.DatetimeIndex(list(chinese_calendar.holidays)).intersection(days)
    on = pd.DatetimeIndex(list(chinese_calendar.workdays)).intersection(days)
    working[off] = False
    working[on] = True  # as chinese_calendar.is_workday: an adjusted working day beats a holiday
    working[~days.year.isin(list(COVERED_YEARS))] = pd.NA
    return pd.DataFrame({"date": days.date, "working": working.to_numpy()})


def calendar_table(package, years: Iterable[int]) -> ibis.Table:
    """The engine's calendar of ``years``: ``date``, ``working`` (the package's calendar table
    where it lists the day, else chinese_calendar, else NULL) and ``workday_index``."""
    days = ibis.memtable(statutory(years), schema={"date": "date", "working": "boolean"})
    if package is not None and package.has("calendar"):
        own = package.tables["calendar"]
        own = own.select(own_date=own["date"], own_working=own["working"])
        days = days.left_join(own, days["date"] == own.own_date)
        days = days.select("date", working=ibis.coalesce(days.own_working, days.working))
    index = days.working.fill_null(False).cast("int64").sum().over(ibis.cumulative_window(order_by=days["date"]))
    return days.mutate(workday_index=index)


def check_covered(con, calendar: ibis.Table, what: str = "working days", has_table: bool = False) -> None:
    """Raise :class:`CalendarError` naming the years in which ``calendar`` has days of unknown
    status (``has_table``: the package brought a calendar table, which then lacks days)."""
    unknown = calendar.filter(calendar.working.isnull())
    missing = con.execute(unknown.group_by(year=unknown["date"].year()).agg(days=unknown.count()).order_by("year"))
    if missing.empty:
        return
    years = [int(y) for y in missing["year"]]
    named = ", ".join(map(str, years))
    if has_table:
        detail = "; ".join(f"{y}: {n} day(s) not listed" for y, n in zip(years, missing["days"]))
        lacking = f"the package's calendar table does not list every day of {named} ({detail})"
    else:
        lacking = "the package has no calendar table"
    raise CalendarError(f"{what} need a working-day calendar for {named}: {SOURCE} covers "
                        f"{COVERED_YEARS[0]}-{COVERED_YEARS[-1]} and {lacking}; {HOW_TO_SUPPLY}", years)


def years_spanned(pairs: pd.DataFrame) -> list[int]:
    """Every year from each row's first to its last year (columns ``a`` and ``b``, years of start and end)."""
    years: set[int] = set()
    for a, b in zip(pairs["a"], pairs["b"]):
        if pd.notna(a) and pd.notna(b):
            years.update(range(min(int(a), int(b)), max(int(a), int(b)) + 1))
    return sorted(years)


def _working_dates(first: int, final: int) -> np.ndarray:
    """chinese_calendar's working days from ``first`` to ``final`` (years), sorted."""
    frame = statutory(range(first, final + 1))
    if frame["working"].isna().any():
        years = [y for y in range(first, final + 1) if y not in COVERED_YEARS]
        raise CalendarError(f"working days need a calendar for {', '.join(map(str, years))}: {SOURCE} covers "
                            f"{COVERED_YEARS[0]}-{COVERED_YEARS[-1]} only", years)
    return frame.loc[frame["working"].astype(bool), "date"].to_numpy(dtype="datetime64[D]")


def between(start, end) -> np.ndarray:
    """Statutory working days in (start, end] by chinese_calendar alone, for arrays of dates
    (numpy, outside the engine: synthetic data and checks); NaN where a date is missing."""
    start, end = np.broadcast_arrays(np.asarray(start, dtype="datetime64[D]"), np.asarray(end, dtype="datetime64[D]"))
    out = np.full(start.shape, np.nan)
    known = ~np.isnat(start) & ~np.isnat(end)
    if known.any():
        dates = np.concatenate([start[known], end[known]])
        working = _working_dates(int(str(dates.min())[:4]), int(str(dates.max())[:4]))
        index = lambda d: np.searchsorted(working, d, side="right")  # working days up to and including d
        out[known] = index(end[known]) - index(start[known])
    return out


def count(start: dt.date, end: dt.date) -> int:
    """Statutory working days in (start, end] by chinese_calendar alone (negative when end is before start)."""
    return int(between(np.datetime64(start), np.datetime64(end)))


def add(start, days, last: np.datetime64 | None = None) -> np.ndarray:
    """The ``days``-th statutory working day after each ``start`` (vectorised; NaT stays NaT).

    The inverse of :func:`count`: ``count(start, add(start, n)) == n`` for n >= 1, whether or
    not ``start`` is a working day. Dates are looked up in chinese_calendar from the first
    start's year to ``last``'s (default: the year after the last start's, when covered); a
    result past that is NaT.
    """
    start = np.asarray(start, dtype="datetime64[D]")
    days = np.broadcast_to(np.asarray(days, dtype=np.int64), start.shape)
    out = np.full(start.shape, np.datetime64("NaT"), dtype="datetime64[D]")
    known = ~np.isnat(start)
    if not known.any():
        return out
    first = int(str(start[known].min())[:4])
    final = int(str(start[known].max())[:4])
    final = int(str(last)[:4]) if last is not None else final + 1 if final + 1 in COVERED_YEARS else final
    working = _working_dates(first, final)
    # working days up to and including each start, then the days-th one after it
    position = np.searchsorted(working, start[known], side="right") + days[known] - 1
    result = np.full(position.shape, np.datetime64("NaT"), dtype="datetime64[D]")
    inside = (position >= 0) & (position < len(working))
    result[inside] = working[position[inside]]
    out[known] = result
    return out
