"""What every indicator family shares: the run's context, the registry, household tables.

An indicator is a function registered under its catalogue id that returns a statistic
(:mod:`evalkit.indicators.kinds`: a rate, a mean, a quantile of durations, ...) built
from Ibis tables of its units. The statistic asks the engine for its sufficient
statistics per region (with every ancestor region), period, service type and group, and
finishes them into values, standard errors and intervals in Python.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import ibis
import pandas as pd

from evalkit.data import periods as periods_mod
from evalkit.data.package import DataPackage
from evalkit.data.schema import SERVICE_TYPES
from evalkit.engine import drop_table, temp_table
from evalkit.indicators import groups
from evalkit.indicators.catalogue import load_catalogue
from evalkit.indicators.parameters import Params
from evalkit.methods.survey import Design, Strata

KEYS = ("period", "service_type")
OVERALL = ""


class Unavailable(Exception):
    """Raised by an indicator function when the package cannot support it; the message says why."""


@dataclass
class Context:
    """What an indicator function and a statistic may read: the package and the run's settings.

    ``closure`` pairs every region with each of its ancestors (itself included) within
    the run's scope; ``by`` lists the household groupings; ``design`` is the survey design
    and ``strata`` its per-stratum PSU counts over the whole sample.
    """

    package: DataPackage
    periods: list[str]
    params: Params = field(default_factory=Params)
    design: Design = field(default_factory=Design)
    closure: pd.DataFrame | None = None
    by: list[str] = field(default_factory=list)
    confidence: float = 0.95
    _cache: dict = field(default_factory=dict, repr=False)
    _shared: dict = field(default_factory=dict, repr=False)
    _cleanup: list = field(default_factory=list, repr=False)
    _strata: Strata | None = field(default=None, repr=False)
    _extraction: dt.date | None = field(default=None, repr=False)

    def table(self, name: str) -> ibis.Table:
        return self.package.tables[name]

    def periods_table(self) -> ibis.Table:
        frame = periods_mod.table(self.periods, self.package.frequency)
        for c in ("period_start", "period_end"):
            frame[c] = pd.to_datetime(frame[c]).dt.date
        return ibis.memtable(frame)

    def period_of(self, day: ibis.Value) -> ibis.Value:
        return periods_mod.expr(day, self.package.frequency)

    @property
    def extraction_date(self) -> dt.date:
        """Where every observation window is cut off: the package's extraction date
        (:meth:`evalkit.data.package.DataPackage.extraction_date`); a package without
        dated events is never cut off."""
        if self._extraction is None:
            self._extraction = self.package.extraction_date()[0] or dt.date.max
        return self._extraction

    def window_complete(self, start: ibis.Value, days: int) -> ibis.Value:
        """True when a window of ``days`` days from ``start`` ends on or before the extraction date."""
        return (start + ibis.interval(days=int(days))) <= ibis.date(self.extraction_date)

    def incomplete_periods(self) -> list[str]:
        """The run's periods that end after the extraction date (their data are partial)."""
        frame = periods_mod.table(self.periods, self.package.frequency)
        ends = pd.to_datetime(frame["period_end"]).dt.date
        return list(frame.loc[ends > self.extraction_date, "period"])

    @property
    def strata(self) -> Strata:
        """PSUs per stratum of the whole sample (households when there is no survey design)."""
        if self._strata is None:
            hh = self.table("households")
            stratum, psu = design_columns(hh, self.design)
            population = {"population": hh[self.design.fpc].max()} if self.design.fpc else {}
            counts = hh.group_by(stratum=stratum).agg(psus=psu.nunique(), **population)
            frame = self.package.con.execute(counts).set_index("stratum")
            self._strata = Strata.from_counts(frame["psus"], frame.get("population"), self.design.lonely_psu)
        return self._strata

    def cached(self, key: str, build: Callable[[], ibis.Table]) -> ibis.Table:
        """A table several indicators share, computed once and kept in the engine for the run."""
        if key not in self._cache:
            self._cache[key] = temp_table(self.package.con, build(), f"_unit_{key}")
        return self._cache[key]

    def shared(self, key, build: Callable[[], object]) -> object:
        """A Python value several statistics share (e.g. every household as a frame), built once per run."""
        if key not in self._shared:
            self._shared[key] = build()
        return self._shared[key]

    def on_close(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` when the run ends (e.g. to drop scratch tables a cached table was built from)."""
        self._cleanup.append(callback)

    def close(self) -> None:
        for callback in self._cleanup:
            callback()
        self._cleanup.clear()
        self._shared.clear()
        for table in self._cache.values():
            drop_table(self.package.con, table)
        self._cache.clear()


IndicatorFunction = Callable[[Context], object]
REGISTRY: dict[str, IndicatorFunction] = {}


def indicator(indicator_id: str) -> Callable[[IndicatorFunction], IndicatorFunction]:
    """Register the function computing a catalogued indicator."""
    if indicator_id not in load_catalogue():
        raise KeyError(f"{indicator_id} is not in catalogue.yaml; add it there first")

    def register(fn: IndicatorFunction) -> IndicatorFunction:
        REGISTRY[indicator_id] = fn
        return fn

    return register


def design_of(package: DataPackage) -> Design:
    """The survey design a package declares.

    ``datapackage.json`` may say it (``"design": {"weight": "weight", "stratum": "stratum",
    "psu": "psu", "fpc": null, "lonely_psu": "remove", "census": false}``); otherwise a
    package whose households carry weights other than all 1 is a survey with its
    ``stratum`` and ``psu`` columns where filled, and any other package is unweighted with
    households as PSUs.
    """
    declared = dict(getattr(package, "design", None) or {})
    if declared:
        return Design(**declared)
    if not package.weighted:
        return Design()
    return Design(weight="weight",
                  stratum="stratum" if package.has_values("households", "stratum") else None,
                  psu="psu" if package.has_values("households", "psu") else None)


def design_columns(hh: ibis.Table, design: Design) -> tuple[ibis.Value, ibis.Value]:
    """Stratum and PSU of each household: the design's, or one stratum of single households."""
    stratum = hh[design.stratum].cast("string").fill_null("") if design.stratum else ibis.literal("")
    psu = ibis.coalesce(hh[design.psu].cast("string"), hh.household_id) if design.psu else hh.household_id
    return stratum, psu


def households(ctx: Context) -> ibis.Table:
    """Households with their region, weight ``w``, ``stratum``, ``psu`` and group values ``g_<column>``."""
    hh = ctx.table("households")
    stratum, psu = design_columns(hh, ctx.design)
    # a DOUBLE 1: Ibis writes a float literal as 1.0, which DuckDB reads as a DECIMAL (slower to multiply and sum)
    one = ibis.literal(1, "int64").cast("float64")
    weight = hh[ctx.design.weight].fill_null(1.0).cast("float64") if ctx.design.weighted else one
    cols = {"household_id": hh.household_id, "region_id": hh.region_id, "w": weight, "stratum": stratum, "psu": psu}
    return hh.select(**cols, **groups.household_columns(hh, ctx.by))


def passes(ctx: Context, hh: ibis.Table) -> Iterator[tuple[ibis.Table, pd.DataFrame, list[str]]]:
    """``(households, closure, groupings)`` to sum over: one pass for the overall cells and
    the household-level groups, one more per region-relative group (income quintiles are
    recomputed in every region: its households table has a row per region and household,
    with the identity closure). See :func:`evalkit.indicators.groups.passes`."""
    return groups.passes(ctx, hh, ctx.closure, ctx.by)


EMPTY_REGION_NOTE = "no household in this region"


def population(ctx: Context) -> pd.DataFrame:
    """Households per region and group: the cells every statistic reports, even when empty.

    Every region of the run's scope (each ancestor in ``ctx.closure``) has an overall row,
    with ``households`` 0 when no household lives in it or below it: such a region still
    gets its rows, blank with a note (:data:`EMPTY_REGION_NOTE`). Group rows exist only
    where the group has households: a region without households has no groups to show.
    """
    frames = []
    for hh, closure, group_bys in passes(ctx, households(ctx)):
        for group_by in group_bys:
            group = ibis.literal(OVERALL) if group_by == OVERALL else hh[f"g_{group_by}"]
            leaf = ctx.package.con.execute(hh.group_by(region_id=hh.region_id, group=group).agg(n=hh.count()))
            frame = roll_up(leaf, closure, ["group"]).rename(columns={"n": "households"})
            frame.insert(1, "group_by", group_by)
            frames.append(frame)
    cells = pd.concat(frames, ignore_index=True)
    overall = set(cells.loc[cells["group_by"] == OVERALL, "region"])
    empty = [r for r in pd.unique(ctx.closure["ancestor"]) if r not in overall]
    if empty:
        cells = pd.concat([cells, pd.DataFrame({"region": empty, "group_by": OVERALL, "group": OVERALL,
                                                "households": 0})], ignore_index=True)
    return cells


def roll_up(leaf: pd.DataFrame, closure: pd.DataFrame, cell: list[str], sums: list[str] | None = None) -> pd.DataFrame:
    """Sums per leaf region added up for every ancestor region (sums are additive)."""
    sums = sums or [c for c in leaf.columns if c not in ("region_id", *cell)]
    merged = leaf.merge(closure, on="region_id")
    out = merged.groupby(["ancestor", *cell], dropna=False, sort=False)[sums].sum().reset_index()
    return out.rename(columns={"ancestor": "region"})


def key_values(ctx: Context, key: str) -> ibis.Table:
    values = ctx.periods if key == "period" else list(SERVICE_TYPES)
    return ibis.memtable(pd.DataFrame({key: values}))


def compared_periods(periods: list[str]) -> list[tuple[str, str]]:
    """The pairs of periods whose estimates' covariance the engine keeps: each period with
    the one before it and, when that is another period of the run, the same period a year
    before (for changes on last year).

    >>> compared_periods(["2023Q4", "2024Q1", "2024Q2", "2024Q4"])
    [('2024Q1', '2023Q4'), ('2024Q2', '2024Q1'), ('2024Q4', '2024Q2'), ('2024Q4', '2023Q4')]
    >>> compared_periods(["2023", "2024"])
    [('2024', '2023')]
    """
    consecutive = list(zip(periods[1:], periods[:-1]))
    present = set(periods)
    yearly = [(p, periods_mod.year_before(p)) for p in periods if periods_mod.year_before(p) in present]
    return consecutive + [pair for pair in yearly if pair not in consecutive]


def previous_periods(ctx: Context) -> ibis.Table:
    """The pairs of :func:`compared_periods` (``period``, ``previous``): the first period has none."""
    pairs = compared_periods(ctx.periods)
    return ibis.memtable(pd.DataFrame({"period": [a for a, _ in pairs], "previous": [b for _, b in pairs]}, dtype=str))
