"""Access family (seed 003): need, accessibility (可及率) and availability (可得率) rates.

A household "needs" service type s in a period when a need of type s was identified in
that period; it "has supply nearby" when the survey answer ``supply_nearby`` says so for
one of those needs; it "received" s when an assistance record of category s, in one of
the receipt forms (service or in-kind by default), overlaps the period.
"""
from __future__ import annotations

import ibis

from .base import Context, Rate, indicator


def need_units(ctx: Context) -> ibis.Table:
    """One row per household, period and service type needed, with ``nearby`` (any need said so)."""

    def build():
        needs = ctx.table("needs").filter(lambda t: t.identified_on.notnull())
        needs = needs.mutate(period=ctx.period_of(needs.identified_on))
        needs = needs.filter(needs.period.isin(ctx.periods))
        return needs.group_by("household_id", "period", "service_type").agg(
            nearby=needs.supply_nearby.fill_null(False).any()
        )

    return ctx.cached("need_units", build)


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
    needs = need_units(ctx)
    units = needs.select("household_id", "period", "service_type")
    return Rate(numerator=needs.filter(needs.nearby).select(units.columns), denominator=units)


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
