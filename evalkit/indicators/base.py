"""Machinery shared by every indicator family.

An indicator is a function registered under its catalogue id that returns a
:class:`Rate`: Ibis tables of the household units in its numerator and denominator.
:func:`rate_statistics` turns a Rate into sufficient statistics per region (with every
ancestor region), period, service type and group, in the engine; :mod:`evalkit.stats`
finishes the intervals in Python.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import ibis
import pandas as pd

from .. import periods as periods_mod
from ..catalogue import load_catalogue
from ..engine import quote, sql
from ..package import DataPackage
from ..schema import SERVICE_TYPES

KEYS = ("period", "service_type")
OVERALL = ""


@dataclass
class Rate:
    """Households in the numerator and in the denominator of a rate.

    Each table has ``household_id`` and the keys among ``period`` and ``service_type``
    that it varies by, one row per unit. The numerator must be a subset of the
    denominator. A denominator of ``None`` means every household; a denominator without
    a key applies to every value of that key (e.g. all households, in every period).
    """

    numerator: ibis.Table
    denominator: ibis.Table | None = None


@dataclass
class Mean:
    """The average of ``value`` over units (``household_id``, keys, ``value``).

    With a column ``x`` in the units it is the ratio of sums ``sum(w*value) / sum(w*x)``
    (e.g. the charity share of yuan: value = charity yuan, x = all yuan). Its interval
    always comes from the linearised variance (households as PSUs when the data carry no
    survey design), as a normal interval around the mean.
    """

    units: ibis.Table


@dataclass
class Quantile:
    """A quantile of days to an event, with right-censoring (Kaplan-Meier).

    ``units`` has ``household_id``, the keys, ``days`` (to the event, or to the end of
    the data when it has not happened) and ``event`` (true when it happened). Units are
    administrative records (referrals, cases) and count once each, unweighted. The
    quantile is the first time the survival curve falls below ``1 - q`` (statsmodels'
    and SAS's convention); the interval is statsmodels' (Brookmeyer-Crowley) one.
    """

    units: ibis.Table
    q: float = 0.5


class RegionRate(Rate):
    """A rate over units that belong to a region, not to a household (e.g. service points).

    Numerator and denominator carry ``region_id`` instead of ``household_id``; there is
    no breakdown by household group, and no survey design.
    """


class Unavailable(Exception):
    """Raised by an indicator function when the package cannot support it; the message says why."""


@dataclass
class Context:
    """What an indicator function may read: the package and the run's settings."""

    package: DataPackage
    periods: list[str]
    receipt_forms: tuple[str, ...] = ("service", "in_kind")
    nearby_km: float = 3.0
    catchment_km: float = 10.0
    omission_window_days: int = 90
    push_days: int = 3
    warning_days: tuple[int, int] = (3, 7)
    _cache: dict = field(default_factory=dict, repr=False)

    def table(self, name: str) -> ibis.Table:
        return self.package.tables[name]

    def periods_table(self) -> ibis.Table:
        frame = periods_mod.table(self.periods, self.package.frequency)
        for c in ("period_start", "period_end"):
            frame[c] = pd.to_datetime(frame[c]).dt.date
        return ibis.memtable(frame)

    def period_of(self, day: ibis.Value) -> ibis.Value:
        return periods_mod.expr(day, self.package.frequency)

    def cached(self, key: str, build: Callable[[], ibis.Table]) -> ibis.Table:
        """A table several indicators share, computed once and kept in the engine for the run."""
        if key not in self._cache:
            name = f"_unit_{key}_{id(self)}"
            self._cache[key] = (name, self.package.con.create_table(name, build(), temp=True))
        return self._cache[key][1]

    def close(self) -> None:
        for name, _ in self._cache.values():
            sql(self.package.con, f"DROP TABLE IF EXISTS {quote(name)}")
        self._cache.clear()


IndicatorFunction = Callable[[Context], Rate]
REGISTRY: dict[str, IndicatorFunction] = {}


def indicator(indicator_id: str) -> Callable[[IndicatorFunction], IndicatorFunction]:
    """Register the function computing a catalogued indicator."""
    if indicator_id not in load_catalogue():
        raise KeyError(f"{indicator_id} is not in catalogue.yaml; add it there first")

    def register(fn: IndicatorFunction) -> IndicatorFunction:
        REGISTRY[indicator_id] = fn
        return fn

    return register


def statistics(spec: Rate | Mean, ctx: Context, closure: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Sufficient statistics of a rate or mean for every region, key and group, in the engine.

    Returns one row per cell (``region, group_by, group`` and the keys) with ``n``
    (households in the denominator), ``SX`` (sum of weights in the denominator) and ``SY``
    (sum of weights, times the value for a mean, in the numerator). With a design (survey
    weights, or any mean) the rows are per stratum and add the PSU-level cross sums
    ``SXX, SXY, SYY`` for :func:`evalkit.stats.ratio_variance`.
    """
    if isinstance(spec, Quantile):
        return _duration_statistics(spec, ctx, closure, by)
    numerator, denominator = (spec.units, None) if isinstance(spec, Mean) else (spec.numerator, spec.denominator)
    design = uses_design(spec, ctx)
    keys = [k for k in KEYS if k in numerator.columns]
    if isinstance(spec, RegionRate):
        units = _regions(closure)
        by = []
    else:
        units = _households(ctx, closure, by, design)
    unit_id = "region_id" if isinstance(spec, RegionRate) else "household_id"
    frames = []
    for group_by in [OVERALL, *by]:
        hh = units.mutate(group=ibis.literal(OVERALL) if group_by == OVERALL else units[f"g_{group_by}"])
        level = ["region", "group", *(["stratum", "psu"] if design else [])]
        if isinstance(spec, Mean):
            # numerator and denominator are the same units: one pass
            u = spec.units.join(hh, unit_id)
            weighted_x = u.w * u.x if "x" in u.columns else u.w
            cells = u.group_by([*level, *keys]).agg(X=weighted_x.sum(), n=u.count(), Y=(u.w * u.value).sum())
        else:
            den_keys = [k for k in keys if denominator is not None and k in denominator.columns]
            den = hh if denominator is None else denominator.join(hh, unit_id)
            num = numerator.join(hh, unit_id)
            den_stats = den.group_by([*level, *den_keys]).agg(X=den.w.sum(), n=den.count())
            num_stats = num.group_by([*level, *keys]).agg(Y=num.w.sum())
            for k in keys:
                if k not in den_keys:
                    den_stats = den_stats.cross_join(_key_values(ctx, k))
            cells = den_stats.left_join(num_stats, [*level, *keys]).select(
                *level, *keys, "X", "n", Y=ibis.coalesce(num_stats.Y, 0.0)
            )
        cell = ["region", "group", *keys]
        if design:
            cells = cells.group_by([*cell, "stratum"]).agg(
                n=cells.n.sum(), SX=cells.X.sum(), SY=cells.Y.sum(),
                SXX=(cells.X * cells.X).sum(), SXY=(cells.X * cells.Y).sum(), SYY=(cells.Y * cells.Y).sum(),
            )
        else:
            cells = cells.group_by(cell).agg(n=cells.n.sum(), SX=cells.X.sum(), SY=cells.Y.sum())
        frame = ctx.package.con.execute(cells)
        frame.insert(1, "group_by", group_by)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def uses_design(spec: Rate | Mean | Quantile, ctx: Context) -> bool:
    """Whether intervals come from the linearised variance (else Wilson on counts)."""
    if isinstance(spec, (Quantile, RegionRate)):
        return False
    return isinstance(spec, Mean) or ctx.package.weighted


def _duration_statistics(spec: Quantile, ctx: Context, closure: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Counts of units per cell, days and event: all Kaplan-Meier needs, from the engine."""
    units = spec.units
    keys = [k for k in KEYS if k in units.columns]
    hh = _households(ctx, closure, by, design=False)
    frames = []
    for group_by in [OVERALL, *by]:
        g = hh.mutate(group=ibis.literal(OVERALL) if group_by == OVERALL else hh[f"g_{group_by}"])
        joined = units.join(g, "household_id")
        counts = joined.group_by(["region", "group", *keys, "days", "event"]).agg(count=joined.count())
        frame = ctx.package.con.execute(counts)
        frame.insert(1, "group_by", group_by)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _regions(closure: pd.DataFrame) -> ibis.Table:
    regions = closure.rename(columns={"ancestor": "region"}).assign(w=1.0)
    return ibis.memtable(regions[["region_id", "region", "w"]])


def population(ctx: Context, closure: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Households per region and group: the cells every rate reports, even when empty."""
    units = _households(ctx, closure, by, design=False)
    frames = []
    for group_by in [OVERALL, *by]:
        group = ibis.literal(OVERALL) if group_by == OVERALL else units[f"g_{group_by}"]
        frame = ctx.package.con.execute(units.group_by(region=units.region, group=group).agg(households=units.count()))
        frame.insert(1, "group_by", group_by)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def psus_per_stratum(ctx: Context) -> pd.Series:
    """PSUs in each stratum of the whole sample (households when there is no survey design)."""
    hh = ctx.table("households")
    stratum, psu = _design(hh, ctx)
    return ctx.package.con.execute(hh.group_by(stratum=stratum).agg(psus=psu.nunique())).set_index("stratum")["psus"]


def _design(hh: ibis.Table, ctx: Context) -> tuple[ibis.Value, ibis.Value]:
    """Stratum and PSU of each household: the survey's, or one stratum of single households."""
    if ctx.package.weighted:
        return hh.stratum.fill_null(""), ibis.coalesce(hh.psu, hh.household_id)
    return ibis.literal(""), hh.household_id


def _households(ctx: Context, closure: pd.DataFrame, by: list[str], design: bool) -> ibis.Table:
    """Households with weight, design columns and group values, once per ancestor region."""
    hh = ctx.table("households")
    cols = {
        "household_id": hh.household_id,
        "region_id": hh.region_id,
        "w": hh.weight.fill_null(1.0).cast("float64") if ctx.package.weighted else ibis.literal(1.0),
    }
    if design:
        cols["stratum"], cols["psu"] = _design(hh, ctx)
    for col in by:
        cols[f"g_{col}"] = hh[col].cast("string").fill_null("(missing)")
    regions = ibis.memtable(closure.rename(columns={"ancestor": "region"}))
    return hh.select(**cols).join(regions, "region_id").drop("region_id")


def _key_values(ctx: Context, key: str) -> ibis.Table:
    values = ctx.periods if key == "period" else list(SERVICE_TYPES)
    return ibis.memtable(pd.DataFrame({key: values}))
