"""Access family (seed 003): need, accessibility (可及率) and availability (可得率) rates.

A household "needs" service type s in a period when a need of type s was identified in
that period; it "has supply nearby" when the survey answer ``supply_nearby`` says so for
one of those needs; it "received" s when an assistance record of category s, in one of
the receipt forms (service or in-kind by default), overlaps the period.
"""
from __future__ import annotations

import ibis
import pandas as pd

from ..engine import sql
from .base import Context, Mean, Rate, Unavailable, indicator


def need_units(ctx: Context) -> ibis.Table:
    """One row per household, period and service type needed, with ``nearby``.

    ``nearby`` is true when any of those needs says there is supply nearby: the survey
    answer ``supply_nearby`` where given, otherwise whether a published service point
    offering the type lies within ``nearby_km`` of the household; NULL when neither is known.
    """

    def build():
        needs = ctx.table("needs").filter(lambda t: t.identified_on.notnull())
        needs = needs.mutate(period=ctx.period_of(needs.identified_on))
        needs = needs.filter(needs.period.isin(ctx.periods))
        nearby = needs.supply_nearby
        unanswered = sql(ctx.package.con, "SELECT count(*) FROM needs WHERE supply_nearby IS NULL")[0][0]
        if unanswered and _has_locations(ctx):
            near = nearest_points(ctx)
            needs = needs.left_join(near, ["household_id", "service_type"])
            nearby = ibis.coalesce(needs.supply_nearby, needs.distance_km <= ctx.nearby_km)
        return needs.group_by("household_id", "period", "service_type").agg(nearby=nearby.any())

    return ctx.cached("need_units", build)


def _has_locations(ctx: Context) -> bool:
    pkg = ctx.package
    return pkg.has_values("households", "lon") and pkg.has_values("service_points", "lon")


def nearest_points(ctx: Context) -> ibis.Table:
    """Distance (km) from each located household to the nearest published point offering each type."""

    def build():
        from ..spatial import nearest

        hh = ctx.table("households")
        homes = ctx.package.con.execute(
            hh.filter(hh.lon.notnull() & hh.lat.notnull()).select(id=hh.household_id, lon=hh.lon, lat=hh.lat)
        )
        pts = ctx.table("service_points")
        pts = pts.filter(pts.published.fill_null(True) & pts.lon.notnull() & pts.lat.notnull())
        pts = pts.select(id=pts.point_id, lon=pts.lon, lat=pts.lat, service_type=pts.service_types.split(";").unnest())
        points = ctx.package.con.execute(pts.mutate(service_type=pts.service_type.strip()))
        frames = []
        for service, group in points.groupby("service_type"):
            found = nearest(homes, group[["id", "lon", "lat"]], origin_crs=ctx.package.crs, destination_crs=ctx.package.crs)
            frames.append(pd.DataFrame({"household_id": found["origin"], "service_type": service,
                                        "distance_km": found["cost"]}))
        empty = pd.DataFrame({"household_id": pd.Series(dtype=str), "service_type": pd.Series(dtype=str),
                              "distance_km": pd.Series(dtype=float)})
        return ibis.memtable(pd.concat(frames, ignore_index=True) if frames else empty)

    return ctx.cached("nearest_points", build)


def received_units(ctx: Context) -> ibis.Table:
    """One row per household, period and category received in a receipt form."""

    def build():
        aid = ctx.table("assistance")
        aid = aid.filter(aid.start_on.notnull(), aid.form.isin(list(ctx.receipt_forms)))
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
    return Rate(numerator=known.filter(known.nearby).select(units.columns), denominator=units)


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


@indicator("access.nearest_point_km")
def nearest_point_km(ctx: Context) -> Mean:
    units = _located_need_units(ctx)
    near = nearest_points(ctx)
    # Households with no point offering the type at all have no distance; beyond_reach_rate counts them.
    reached = units.join(near, ["household_id", "service_type"])
    return Mean(units=reached.select("household_id", "period", "service_type", value=reached.distance_km))


@indicator("access.beyond_reach_rate")
def beyond_reach_rate(ctx: Context) -> Rate:
    units = _located_need_units(ctx)
    near = nearest_points(ctx)
    within = near.filter(near.distance_km <= ctx.nearby_km).select("household_id", "service_type")
    return Rate(numerator=units.anti_join(within, ["household_id", "service_type"]), denominator=units)
