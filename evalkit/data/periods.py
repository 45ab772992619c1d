"""Reporting periods: labels such as ``2024``, ``2024Q3`` or ``2024-07``."""
from __future__ import annotations

import datetime as dt
import re

import ibis
import pandas as pd

from evalkit.errors import ParameterError

FREQUENCIES = ("year", "quarter", "month")


def check_frequency(frequency: str) -> str:
    if frequency not in FREQUENCIES:
        raise ParameterError(f"period frequency (datapackage.json's frequency or --frequency) must be one of "
                             f"{', '.join(FREQUENCIES)}, got {frequency!r}")
    return frequency


def label(day: dt.date, frequency: str) -> str:
    """The period a date falls in.

    >>> label(dt.date(2024, 8, 1), "quarter")
    '2024Q3'
    """
    check_frequency(frequency)
    if frequency == "year":
        return f"{day.year}"
    if frequency == "quarter":
        return f"{day.year}Q{(day.month - 1) // 3 + 1}"
    return f"{day.year}-{day.month:02d}"


def parse(text: str, frequency: str) -> str:
    """Normalise a user's period label (``2024q1``, ``2024-Q1``, ``2024-1``) or raise ValueError."""
    check_frequency(frequency)
    s = str(text).strip().upper().replace("年", "-").replace("第", "").replace("季度", "").replace("月", "")
    patterns = {
        "year": r"^(\d{4})-?$",
        "quarter": r"^(\d{4})-?Q?([1-4])$",
        "month": r"^(\d{4})-?(\d{1,2})$",
    }
    m = re.match(patterns[frequency], s)
    if not m or (frequency == "month" and not 1 <= int(m.group(2)) <= 12):
        example = {"year": "2024", "quarter": "2024Q1", "month": "2024-01"}[frequency]
        raise ValueError(f"{text!r} is not a {frequency} period (expected e.g. {example})")
    if frequency == "year":
        return m.group(1)
    if frequency == "quarter":
        return f"{m.group(1)}Q{m.group(2)}"
    return f"{m.group(1)}-{int(m.group(2)):02d}"


def year_before(period: str) -> str:
    """The same period one year earlier, whatever the frequency (read from the label).

    >>> year_before("2024Q4"), year_before("2024-12"), year_before("2024")
    ('2023Q4', '2023-12', '2023')
    """
    period = str(period)
    if not re.match(r"^\d{4}(Q[1-4]|-\d{2})?$", period):
        raise ValueError(f"{period!r} is not a period label such as 2024, 2024Q1 or 2024-01")
    return f"{int(period[:4]) - 1:04d}{period[4:]}"


def bounds(period: str, frequency: str) -> tuple[dt.date, dt.date]:
    """First and last day of a period."""
    period = parse(period, frequency)
    year = int(period[:4])
    if frequency == "year":
        first_month, months = 1, 12
    elif frequency == "quarter":
        first_month, months = 3 * (int(period[-1]) - 1) + 1, 3
    else:
        first_month, months = int(period[5:]), 1
    start = dt.date(year, first_month, 1)
    end = (pd.Timestamp(start) + pd.DateOffset(months=months) - pd.Timedelta(days=1)).date()
    return start, end


def span(first: dt.date, last: dt.date, frequency: str) -> list[str]:
    """Every period from the one holding ``first`` to the one holding ``last``."""
    out, day = [], first
    while True:
        p = label(day, frequency)
        out.append(p)
        _, end = bounds(p, frequency)
        if end >= last:
            return out
        day = end + dt.timedelta(days=1)


def table(periods: list[str], frequency: str) -> pd.DataFrame:
    """One row per period with its first and last day (for range joins in the engine)."""
    rows = [(p, *bounds(p, frequency)) for p in periods]
    return pd.DataFrame(rows, columns=["period", "period_start", "period_end"])


def expr(day: ibis.Value, frequency: str) -> ibis.Value:
    """Ibis expression for the period label of a date column."""
    check_frequency(frequency)
    year = day.year().cast("string")
    if frequency == "year":
        return year
    if frequency == "quarter":
        return year + "Q" + day.quarter().cast("string")
    return day.strftime("%Y-%m")
