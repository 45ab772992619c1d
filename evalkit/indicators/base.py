"""Machinery shared by every indicator family.

An indicator is a function registered under its catalogue id that returns a
:class:`Rate`: Ibis tables of the household units in its numerator and denominator.
:func:`rate_statistics` turns a Rate into sufficient statistics per region (with every
ancestor region), period, service type and group, in the engine; :mod:`evalkit.methods.survey`
finishes the intervals in Python.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import ibis
import pandas as pd

from evalkit.data import periods as periods_mod
from evalkit.data.package import DataPackage
from evalkit.data.schema import SERVICE_TYPES
from evalkit.indicators import groups
from evalkit.indicators.catalogue import load_catalogue
from evalkit.indicators.parameters import Params

from ..engine import quote, sql

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
    params: Params = field(default_factory=Params)
    _cache: dict = field(default_factory=dict, repr=False)
    _cleanup: list = field(default_factory=list, repr=False)

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

    def on_close(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` when the run ends (e.g. to drop scratch tables a cached table was built from)."""
        self._cleanup.append(callback)

    def close(self) -> None:
        for callback in self._cleanup:
            callback()
        self._cleanup.clear()
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
    ``SXX, SXY, SYY`` for :func:`evalkit.methods.survey.ratio_variance`.

    Units are summed once per PSU in their own region; sums are then rolled up to the
    parent regions (in the engine when a PSU may hold several groups or regions, in
    Python otherwise), so the big tables are never repeated once per ancestor. A
    region-relative group (income quintiles) is summed per (ancestor, group) directly,
    over households repeated per ancestor (:func:`evalkit.indicators.groups.passes`).
    """
    if isinstance(spec, Quantile):
        return _duration_statistics(spec, ctx, closure, by)
    if isinstance(spec, RegionRate):
        return _region_statistics(spec, ctx, closure)
    design = uses_design(spec, ctx)
    frames = []
    # a pass per region-relative group (income quintiles), rolled up with its own closure: groups.passes
    for hh, rollup, group_bys in groups.passes(ctx, _households(ctx, by, design), closure, by):
        name = f"_psu_cells_{uuid.uuid4().hex[:12]}"
        psu_cells = ctx.package.con.create_table(name, _psu_cells(spec, ctx, hh, design), temp=True)
        keys = [k for k in KEYS if k in psu_cells.columns]
        try:
            for group_by in group_bys:
                t = psu_cells.mutate(group=ibis.literal(OVERALL) if group_by == OVERALL else psu_cells[f"g_{group_by}"])
                if design and ctx.package.weighted:
                    # a PSU (e.g. a community) holds several groups: its sums per group and region
                    t = t.join(ibis.memtable(rollup), "region_id")
                    t = t.group_by(region=t.ancestor, group=t.group, stratum=t.stratum, psu=t.psu,
                                   **{k: t[k] for k in keys}).agg(X=t.X.sum(), Y=t.Y.sum(), n=t.n.sum())
                    frame = ctx.package.con.execute(_stratum_sums(t, ["region", "group", *keys]))
                else:
                    # PSUs are households (or there is no design): one group, one region each
                    leaf = ctx.package.con.execute(_stratum_sums(t, ["region_id", "group", *keys], design))
                    frame = _roll_up(leaf, rollup, ["group", *keys, *(["stratum"] if design else [])])
                frame.insert(1, "group_by", group_by)
                frames.append(frame)
        finally:
            sql(ctx.package.con, f"DROP TABLE IF EXISTS {quote(psu_cells.get_name())}")
    return pd.concat(frames, ignore_index=True)


def _psu_cells(spec: Rate | Mean, ctx: Context, hh: ibis.Table, design: bool) -> ibis.Table:
    """Sums per region, group values, PSU and keys: ``X`` (denominator), ``Y`` (numerator), ``n``."""
    level = ["region_id", *[c for c in hh.columns if c.startswith("g_")], *(["stratum", "psu"] if design else [])]
    if isinstance(spec, Mean):
        keys = [k for k in KEYS if k in spec.units.columns]
        u = spec.units.join(hh, "household_id")
        weighted_x = u.w * u.x if "x" in u.columns else u.w
        return u.group_by([*level, *keys]).agg(X=weighted_x.sum(), Y=(u.w * u.value).sum(), n=u.count())
    numerator, denominator = spec.numerator, spec.denominator
    keys = [k for k in KEYS if k in numerator.columns]
    den_keys = [k for k in keys if denominator is not None and k in denominator.columns]
    den = hh if denominator is None else denominator.join(hh, "household_id")
    num = numerator.join(hh, "household_id")
    den_stats = den.group_by([*level, *den_keys]).agg(X=den.w.sum(), n=den.count())
    num_stats = num.group_by([*level, *keys]).agg(Y=num.w.sum())
    for k in keys:
        if k not in den_keys:
            den_stats = den_stats.cross_join(_key_values(ctx, k))
    return den_stats.left_join(num_stats, [*level, *keys]).select(
        *level, *keys, "X", "n", Y=ibis.coalesce(num_stats.Y, 0.0))


def _stratum_sums(t: ibis.Table, cell: list[str], design: bool = True) -> ibis.Table:
    if not design:
        return t.group_by(cell).agg(n=t.n.sum(), SX=t.X.sum(), SY=t.Y.sum())
    return t.group_by([*cell, "stratum"]).agg(
        n=t.n.sum(), SX=t.X.sum(), SY=t.Y.sum(),
        SXX=(t.X * t.X).sum(), SXY=(t.X * t.Y).sum(), SYY=(t.Y * t.Y).sum())


def _roll_up(leaf: pd.DataFrame, closure: pd.DataFrame, cell: list[str]) -> pd.DataFrame:
    """Sums per leaf region added up for every ancestor region (sums are additive)."""
    sums = [c for c in leaf.columns if c in ("n", "SX", "SY", "SXX", "SXY", "SYY")]
    merged = leaf.merge(closure, on="region_id")
    out = merged.groupby(["ancestor", *cell], dropna=False, sort=False)[sums].sum().reset_index()
    return out.rename(columns={"ancestor": "region"})


def _region_statistics(spec: RegionRate, ctx: Context, closure: pd.DataFrame) -> pd.DataFrame:
    """Counts of region-level units (e.g. service points) per region, rolled up."""
    num = spec.numerator.group_by("region_id").agg(SY=spec.numerator.count())
    den = spec.denominator.group_by("region_id").agg(n=spec.denominator.count())
    cells = den.left_join(num, "region_id").select(den.region_id, n=den.n, SX=den.n.cast("float64"),
                                                   SY=ibis.coalesce(num.SY, 0).cast("float64"))
    leaf = ctx.package.con.execute(cells).assign(group="")
    frame = _roll_up(leaf, closure, ["group"])
    frame.insert(1, "group_by", OVERALL)
    return frame


def uses_design(spec: Rate | Mean | Quantile, ctx: Context) -> bool:
    """Whether intervals come from the linearised variance (else Wilson on counts)."""
    if isinstance(spec, (Quantile, RegionRate)):
        return False
    return isinstance(spec, Mean) or ctx.package.weighted


def _duration_statistics(spec: Quantile, ctx: Context, closure: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Counts of units per cell, days and event: all Kaplan-Meier needs, from the engine."""
    units = spec.units
    keys = [k for k in KEYS if k in units.columns]
    frames = []
    for hh, rollup, group_bys in groups.passes(ctx, _households(ctx, by, design=False), closure, by):
        for group_by in group_bys:
            g = hh.mutate(group=ibis.literal(OVERALL) if group_by == OVERALL else hh[f"g_{group_by}"])
            joined = units.join(g, "household_id")
            counts = joined.group_by(["region_id", "group", *keys, "days", "event"]).agg(n=joined.count())
            frame = _roll_up(ctx.package.con.execute(counts), rollup, ["group", *keys, "days", "event"])
            frame = frame.rename(columns={"n": "count"})
            frame.insert(1, "group_by", group_by)
            frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def population(ctx: Context, closure: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Households per region and group: the cells every rate reports, even when empty."""
    frames = []
    for hh, rollup, group_bys in groups.passes(ctx, _households(ctx, by, design=False), closure, by):
        for group_by in group_bys:
            group = ibis.literal(OVERALL) if group_by == OVERALL else hh[f"g_{group_by}"]
            leaf = ctx.package.con.execute(hh.group_by(region_id=hh.region_id, group=group).agg(n=hh.count()))
            frame = _roll_up(leaf, rollup, ["group"]).rename(columns={"n": "households"})
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


def _households(ctx: Context, by: list[str], design: bool) -> ibis.Table:
    """Households with their region, weight, design columns and group values."""
    hh = ctx.table("households")
    cols = {
        "household_id": hh.household_id,
        "region_id": hh.region_id,
        "w": hh.weight.fill_null(1.0).cast("float64") if ctx.package.weighted else ibis.literal(1.0),
    }
    if design:
        cols["stratum"], cols["psu"] = _design(hh, ctx)
    cols.update(groups.household_columns(hh, by))  # g_<name>; region-relative groups: groups.passes
    return hh.select(**cols)


def _key_values(ctx: Context, key: str) -> ibis.Table:
    values = ctx.periods if key == "period" else list(SERVICE_TYPES)
    return ibis.memtable(pd.DataFrame({key: values}))
