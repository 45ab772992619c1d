"""Access family (祝建华、项丽亚 2021): need, accessibility (可及率) and availability (可得率) rates.

A household "needs" service type s in a period when a need of type s was identified in
that period; it "has supply nearby" when the survey answer ``supply_nearby`` says so for
one of those needs; it "received" s when an assistance record of category s, in one of
the receipt forms (parameter ``receipt_forms``: service or in-kind by default, the same
forms the coordination family's omission indicators count), overlaps the period.

Missing values: a need without ``identified_on`` belongs to no period; an aid record
without ``start_on`` or with a blank ``form`` counts as not received; a need with neither
a survey answer nor a located household has unknown nearness and is left out of the
accessibility denominator (counted in ``n_excluded``); households without a location are
left out of the distance indicators (``n_excluded``).
"""
from __future__ import annotations

from collections.abc import Iterator

import ibis
import pandas as pd

from evalkit.methods import spatial

from ..engine import drop_table, temp_table, write_chunks
from .base import Context, Unavailable, indicator
from .kinds import Mean, Rate


def need_units(ctx: Context) -> ibis.Table:
    """One row per household, period and service type needed, with ``nearby``.

    ``nearby`` is true when any of those needs says there is supply nearby: the survey
    answer ``supply_nearby`` where given, otherwise whether a published service point
    offering the type lies within ``nearby_km`` of the household. A located household
    needing a type that no published point offers has no nearest distance: it has no
    supply nearby (false, not NULL). ``nearby`` is NULL only when neither the answer nor
    the household's location is known.
    """

    def build():
        needs = ctx.table("needs").filter(lambda t: t.identified_on.notnull())
        needs = needs.mutate(period=ctx.period_of(needs.identified_on))
        needs = needs.filter(needs.period.isin(ctx.periods))
        nearby = needs.supply_nearby
        every_need = ctx.table("needs")
        unanswered = ctx.package.con.execute(every_need.filter(every_need.supply_nearby.isnull()).count())
        if unanswered and _has_locations(ctx):
            near = nearest_points(ctx)
            hh = ctx.table("households")
            located = hh.filter(hh.lon.notnull() & hh.lat.notnull()).select(located_id=hh.household_id)
            needs = needs.left_join(near, ["household_id", "service_type"])
            needs = needs.left_join(located, needs.household_id == located.located_id)
            # a comparison with a missing distance is NULL: no point offering the type is "not nearby"
            within = (needs.distance_km <= ctx.params.nearby_km).fill_null(False)
            nearby = ibis.coalesce(needs.supply_nearby,
                                   ibis.ifelse(needs.located_id.notnull(), within, ibis.null("boolean")))
        return needs.group_by("household_id", "period", "service_type").agg(nearby=nearby.any())

    return ctx.cached("need_units", build)


def _has_locations(ctx: Context) -> bool:
    pkg = ctx.package
    return pkg.has_values("households", "lon") and pkg.has_values("service_points", "lon")


HOMES_PER_BATCH = 250_000  # located households in Python at a time in the spatial steps: bounds their memory


def _homes(ctx: Context) -> ibis.Table:
    """Located households with a need: ``household_id, service_type, lon, lat`` (any period)."""
    hh = ctx.table("households")
    hh = hh.filter(hh.lon.notnull() & hh.lat.notnull())
    needs = ctx.table("needs").select("household_id", "service_type").distinct()
    return needs.join(hh.select("household_id", "lon", "lat"), "household_id")


def _batches(ctx: Context, table: ibis.Table) -> Iterator[pd.DataFrame]:
    """``table`` read into pandas ``HOMES_PER_BATCH`` rows at a time, one batch in memory at once.

    The rows are numbered into a scratch table first, so each batch is a query of its own
    (the connection stays free to store each batch's results between two reads).
    """
    con = ctx.package.con
    numbered = temp_table(con, table.mutate(_batch=ibis.row_number() // HOMES_PER_BATCH), "_homes")
    try:
        last = con.execute(numbered._batch.max())
        for batch in range(0 if last is None or pd.isna(last) else int(last) + 1):
            yield con.execute(numbered.filter(numbered._batch == batch).drop("_batch"))
    finally:
        drop_table(con, numbered)


def _points(ctx: Context) -> pd.DataFrame:
    """Published located service points, one row per type offered: ``point_id, service_type, capacity, lon, lat``."""
    pts = ctx.table("service_points")
    pts = pts.filter(pts.published.fill_null(True) & pts.lon.notnull() & pts.lat.notnull())
    pts = pts.select("point_id", "capacity", "lon", "lat", service_type=pts.service_types.split(";").unnest())
    return ctx.shared("points", lambda: ctx.package.con.execute(pts.mutate(service_type=pts.service_type.strip())))


def nearest_points(ctx: Context) -> ibis.Table:
    """Distance (km) from each located household to the nearest published point offering each type it needs."""

    def build():
        points = _points(ctx)
        offered = dict(tuple(points.rename(columns={"point_id": "id"}).groupby("service_type")))
        homes = _homes(ctx)
        homes = homes.filter(homes.service_type.isin(list(offered)))

        def found():
            for batch in _batches(ctx, homes):
                for service, needing in batch.groupby("service_type"):
                    near = spatial.nearest(needing.rename(columns={"household_id": "id"}), offered[service],
                                           origin_crs=ctx.package.crs, destination_crs=ctx.package.crs)
                    yield pd.DataFrame({"household_id": near["origin"], "service_type": service,
                                        "distance_km": near["cost"]})

        table = write_chunks(ctx.package.con, found(),
                             {"household_id": "string", "service_type": "string", "distance_km": "float64"})
        ctx.on_close(lambda: drop_table(ctx.package.con, table))
        return table

    return ctx.cached("nearest_points", build)


def catchment_access(ctx: Context) -> ibis.Table:
    """Enhanced two-step floating catchment access of each located needy household, per period and type.

    Supply is the capacity of published points offering the type, demand the (weighted)
    households needing it in the period; Gaussian decay with sigma half the cutoff
    ``catchment_km``. Columns ``household_id, period, service_type, access``.
    """

    def build():
        con = ctx.package.con
        points = _points(ctx)
        points = points[points["capacity"].notna()]
        sites = points.drop_duplicates("point_id").rename(columns={"point_id": "id"})
        homes = _homes(ctx).select("household_id", "lon", "lat").distinct()
        costs = spatial.write_costs(con, (
            chunk for batch in _batches(ctx, homes.rename(id="household_id"))
            for chunk in spatial.iter_od_costs(batch, sites, ctx.params.catchment_km,
                                               origin_crs=ctx.package.crs, destination_crs=ctx.package.crs)))
        hh = ctx.table("households")
        weight = hh[ctx.design.weight].fill_null(1.0).cast("float64") if ctx.design.weighted else ibis.literal(1.0)
        units = _located_need_units(ctx).join(hh.select("household_id", w=weight), "household_id")
        demand = units.select(origin=units.household_id, period=units.period, service_type=units.service_type,
                              demand=units.w)
        periods = ibis.memtable(pd.DataFrame({"period": ctx.periods}))
        supply = ibis.memtable(points[["point_id", "service_type", "capacity"]].rename(
            columns={"point_id": "destination", "capacity": "supply"}).astype({"supply": float})).cross_join(periods)
        catchment = spatial.Catchment(demand, supply, costs, con=con)
        scores = catchment.two_stage_table(ctx.params.catchment_km, spatial.Gaussian(ctx.params.catchment_km / 2))
        ctx.on_close(catchment.close)
        ctx.on_close(lambda: drop_table(con, costs))
        return scores.rename(household_id="origin")

    if not ctx.package.has_values("service_points", "capacity"):
        raise Unavailable("service_points has no capacity values")
    return ctx.cached("catchment_access", build)


def received_units(ctx: Context) -> ibis.Table:
    """One row per household, period and category received in a receipt form."""

    def build():
        aid = ctx.table("assistance")
        aid = aid.filter(aid.start_on.notnull(), aid.form.isin(list(ctx.params.receipt_forms)))
        p = ctx.periods_table()
        overlap = aid.join(
            p, [aid.start_on <= p.period_end, aid.end_on.isnull() | (aid.end_on >= p.period_start)]
        )
        return overlap.select("household_id", "period", service_type=overlap.category).distinct()

    return ctx.cached("received_units", build)


@indicator("access.need_rate")
def need_rate(ctx: Context) -> Rate:
    needs = need_units(ctx)
    return Rate(numerator=needs.select("household_id", "period", "service_type"))


@indicator("access.accessibility_rate")
def accessibility_rate(ctx: Context) -> Rate:
    if not (ctx.package.has_values("needs", "supply_nearby") or _has_locations(ctx)):
        raise Unavailable("needs no survey answer supply_nearby, or households and service points with coordinates")
    needs = need_units(ctx)
    known = needs.filter(needs.nearby.notnull())
    units = known.select("household_id", "period", "service_type")
    unknown = needs.filter(needs.nearby.isnull()).select(units.columns)
    return Rate(numerator=known.filter(known.nearby).select(units.columns), denominator=units, excluded=unknown)


@indicator("access.availability_rate")
def availability_rate(ctx: Context) -> Rate:
    units = need_units(ctx).select("household_id", "period", "service_type")
    received = units.semi_join(received_units(ctx), ["household_id", "period", "service_type"])
    return Rate(numerator=received, denominator=units)


@indicator("access.unmet_need_rate")
def unmet_need_rate(ctx: Context) -> Rate:
    units = need_units(ctx).select("household_id", "period", "service_type")
    unmet = units.anti_join(received_units(ctx), ["household_id", "period", "service_type"])
    return Rate(numerator=unmet)


def _needy_households(ctx: Context) -> ibis.Table:
    return need_units(ctx).select("household_id", "period").distinct()


def _served_households(ctx: Context) -> ibis.Table:
    return received_units(ctx).select("household_id", "period").distinct()


@indicator("access.coverage_rate")
def coverage_rate(ctx: Context) -> Rate:
    needy = _needy_households(ctx)
    return Rate(numerator=needy.semi_join(_served_households(ctx), ["household_id", "period"]), denominator=needy)


@indicator("access.unserved_rate")
def unserved_rate(ctx: Context) -> Rate:
    needy = _needy_households(ctx)
    return Rate(numerator=needy.anti_join(_served_households(ctx), ["household_id", "period"]), denominator=needy)


def _located_need_units(ctx: Context) -> ibis.Table:
    hh = ctx.table("households")
    located = hh.filter(hh.lon.notnull() & hh.lat.notnull()).select("household_id")
    return need_units(ctx).select("household_id", "period", "service_type").semi_join(located, "household_id")


def _left_out(ctx: Context, kept: ibis.Table) -> ibis.Table:
    """Need units (household, period, type) that are not among ``kept``: the ``n_excluded``."""
    units = need_units(ctx).select("household_id", "period", "service_type")
    return units.anti_join(kept, ["household_id", "period", "service_type"])


@indicator("access.nearest_point_km")
def nearest_point_km(ctx: Context) -> Mean:
    units = _located_need_units(ctx)
    near = nearest_points(ctx)
    # Households with no point offering the type at all have no distance; beyond_reach_rate counts them.
    reached = units.join(near, ["household_id", "service_type"])
    reached = reached.select("household_id", "period", "service_type", value=reached.distance_km)
    # left out (n_excluded): households without a location, and those with no point offering the type
    return Mean(units=reached, excluded=_left_out(ctx, reached))


@indicator("access.beyond_reach_rate")
def beyond_reach_rate(ctx: Context) -> Rate:
    units = _located_need_units(ctx)
    near = nearest_points(ctx)
    within = near.filter(near.distance_km <= ctx.params.nearby_km).select("household_id", "service_type")
    return Rate(numerator=units.anti_join(within, ["household_id", "service_type"]), denominator=units,
                excluded=_left_out(ctx, units))


LOW_ACCESS = 0.5  # below half the average access counts as low (PySAL's normalised access < 0.5)


@indicator("access.catchment_access")
def catchment_access_mean(ctx: Context) -> Mean:
    scores = catchment_access(ctx)
    units = scores.select("household_id", "period", "service_type", value=scores.access)
    return Mean(units=units, excluded=_left_out(ctx, units))


@indicator("access.low_catchment_access_rate")
def low_catchment_access_rate(ctx: Context) -> Rate:
    scores = catchment_access(ctx)
    hh = ctx.table("households")
    weight = hh[ctx.design.weight].fill_null(1.0).cast("float64") if ctx.design.weighted else ibis.literal(1.0)
    scored = scores.join(hh.select("household_id", w=weight), "household_id")
    average = scored.group_by("period", "service_type").agg(
        average=(scored.w * scored.access).sum() / scored.w.sum())
    units = scores.select("household_id", "period", "service_type")
    low = scores.join(average, ["period", "service_type"])
    low = low.filter((low.access == 0) | (low.access < LOW_ACCESS * low.average))
    return Rate(numerator=low.select(units.columns), denominator=units, excluded=_left_out(ctx, units))
