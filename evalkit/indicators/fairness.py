"""Fairness family (公平性): who the aid reaches, against need and pre-transfer income.

World Bank (2022) Revisiting Targeting in Social Assistance, ch. 7; Coady, Grosh and
Hoddinott (2004); O'Donnell, van Doorslaer, Wagstaff and Lindelow (2008), ch. 8.
Conventions, shared by every indicator here:

- a household is *covered* by a sector in a period when it has an assistance record of
  that sector (the record's own sector, else its provider's) active in the period, in any
  form (cash, in-kind or service); ``any`` counts every record, whatever its sector,
  including records of unknown sector (the coordination family's ``active_aid``);
- the *target* (needy) population is the parameter ``needy``: ``status`` (assistance
  status other than ``none``: 低保, 低边, 特困, 支出型困难), ``needs`` (a need identified in
  the period) or ``income`` (``income_pc`` below ``poverty_line`` yuan per person per
  month) or ``poorest`` (in the poorest ``poorest_share`` of the persons of every household
  evaluated, one line for all regions). A household whose status (``status``) or income (``income``, ``poorest``) is missing has an
  unknown target status: left out of both errors and counted in ``n_excluded``;
- *aid yuan* of a household in a period are the amounts of its records of the sector
  that start in the period (a record's amount is its total, so counting active records
  would count it in every period it spans); a blank amount counts 0 yuan;
- quintiles and ranks of pre-transfer income per capita are among the *persons* of the
  region of the row (household weight x size), recomputed for every region level
  (:mod:`evalkit.indicators.groups`, ``income_quintile``); households with a missing
  ``income_pc`` are not ranked, left out and counted in ``n_excluded``.

Populations: coverage counts every household (``by=["income_quintile"]`` gives coverage
by pre-transfer income quintile); exclusion errors count target households; inclusion errors covered
households; benefit and beneficiary incidence are each group's share of the region's yuan
(records starting in the period) and of its covered households (read by ``income_quintile``:
the groups, ``(missing)`` included, add up to 1); the Coady-Grosh-Hoddinott indicator the yuan received by recipients
(households with a record of the sector starting in the period); concentration indices
and the Gini coefficient of per-capita aid every household of the region (persons), most
of them receiving 0 yuan (the Gini ranks households by their aid, so it needs no income
and leaves nobody out).
"""
from __future__ import annotations

import ibis

from .base import Context, Unavailable, households, indicator
from .coordination import active_aid
from .groups import MISSING, TOLERANCE, by_ancestor
from .kinds import Inequality, Mean, Rate, Share

SECTORS = ("government", "charity")
POOREST_SHARE = 0.2  # the Coady-Grosh-Hoddinott benchmark: the poorest 20% get 20% under a uniform transfer


# --- shared building blocks ----------------------------------------------------------

def require_sector(ctx: Context, sector: str) -> None:
    """A sector's indicator needs records whose sector is known (their own or their provider's); else it is skipped."""
    pkg = ctx.package
    known = pkg.has_values("assistance", "sector") or (pkg.has("providers") and pkg.has_values("providers", "sector"))
    if sector != "any" and not known:
        raise Unavailable(f"no assistance record has a sector (assistance.sector or its provider's), so {sector} aid "
                          "cannot be told apart")


def covered(ctx: Context, sector: str) -> ibis.Table:
    """``household_id, period``: households with a record of ``sector`` (``any``: every record) active in the period."""
    require_sector(ctx, sector)
    aid = active_aid(ctx)
    if sector != "any":
        aid = aid.filter(aid.sector == sector)
    return aid.select("household_id", "period").distinct()


def target(ctx: Context) -> tuple[ibis.Table, ibis.Table | None]:
    """The needy households (parameter ``needy``) and those whose target status is unknown.

    ``status`` and ``income`` give ``household_id`` tables (the same in every period);
    ``needs`` gives ``household_id, period`` and leaves nobody unknown.
    """
    hh = ctx.table("households")
    needy = ctx.params.needy
    if needy == "needs":
        if not ctx.package.has("needs"):
            raise Unavailable("needy=needs needs the needs table, which the package does not have")
        needs = ctx.table("needs")
        needs = needs.filter(needs.identified_on.notnull())
        needs = needs.mutate(period=ctx.period_of(needs.identified_on))
        needs = needs.filter(needs.period.isin(ctx.periods))
        return needs.select("household_id", "period").distinct(), None
    if needy == "status":
        value, flag = hh.status, hh.status != "none"
    elif needy == "poorest":
        if not ctx.package.has_values("households", "income_pc"):
            raise Unavailable("needy=poorest needs values in households.income_pc, which are all empty")
        return poorest(ctx), hh.filter(hh.income_pc.isnull()).select("household_id")
    else:
        if not ctx.package.has_values("households", "income_pc"):
            raise Unavailable("needy=income needs values in households.income_pc, which are all empty")
        value, flag = hh.income_pc, hh.income_pc.cast("float64") < ctx.params.poverty_line
    return (hh.filter(value.notnull() & flag).select("household_id"),
            hh.filter(value.isnull()).select("household_id"))


def poorest(ctx: Context) -> ibis.Table:
    """``household_id`` of the households in the poorest ``poorest_share`` of the persons evaluated.

    Persons are household weight x size; a household is in when the persons with a lower
    income_pc are under the share (the rule of the income quintiles, so with 0.2 these are
    the top region's Q1).
    """
    raw = ctx.table("households")
    raw = raw.select("household_id", income=raw.income_pc.cast("float64"), size=raw.size.cast("float64").fill_null(1.0))
    h = households(ctx).select("household_id", "w").join(raw, "household_id")
    h = h.filter(h.income.notnull())
    levels = h.group_by("income").agg(persons=(h.w * h.size).sum())
    below = levels.persons.sum().over(ibis.window(order_by="income", rows=(None, -1)))
    levels = levels.mutate(share=ibis.coalesce(below, 0.0) / levels.persons.sum().over(ibis.window()))
    cut = levels.filter(levels.share < ctx.params.poorest_share - TOLERANCE).select("income")
    return h.semi_join(cut, "income").select("household_id")


def _with_periods(ctx: Context, table: ibis.Table) -> ibis.Table:
    if "period" in table.columns:
        return table
    periods = ibis.memtable({"period": list(ctx.periods)})
    return table.cross_join(periods)


def exclusion_error(ctx: Context, sector: str) -> Rate:
    """Needy households not covered by ``sector`` / needy households (EE = 1 - covered target / target)."""
    needy, unknown = target(ctx)
    cov = covered(ctx, sector)
    missed = _with_periods(ctx, needy).anti_join(cov, ["household_id", "period"])
    return Rate(numerator=missed.select("household_id", "period"), denominator=needy, excluded=unknown)


def inclusion_error(ctx: Context, sector: str) -> Rate:
    """Covered households that are not needy / covered households (IE = 1 - covered target / covered)."""
    needy, unknown = target(ctx)
    cov = covered(ctx, sector)
    on = ["household_id", "period"] if "period" in needy.columns else ["household_id"]
    known = cov if unknown is None else cov.anti_join(unknown, "household_id")
    leaked = known.anti_join(needy, on)
    excluded = None if unknown is None else cov.semi_join(unknown, "household_id")
    return Rate(numerator=leaked.select("household_id", "period"), denominator=known.select("household_id", "period"),
                excluded=excluded)


def aid_yuan(ctx: Context) -> ibis.Table:
    """``household_id, period, government, charity, any``: yuan of records starting in the period, by sector."""

    def build():
        aid = active_aid(ctx)
        aid = aid.filter(aid.start_on >= aid.period_start)
        amount = aid.amount.fill_null(0.0).cast("float64")
        return aid.group_by("household_id", "period").agg(
            government=ibis.ifelse(aid.sector == "government", amount, 0.0).sum(),
            charity=ibis.ifelse(aid.sector == "charity", amount, 0.0).sum(),
            any=amount.sum(),
            government_records=(aid.sector == "government").sum(),
            charity_records=(aid.sector == "charity").sum())

    return ctx.cached("aid_yuan", build)


def cgh(ctx: Context, sector: str) -> Mean:
    """Yuan of ``sector`` reaching the region's poorest person-quintile / (0.2 x the sector's yuan), among recipients."""
    require_sector(ctx, sector)
    yuan = aid_yuan(ctx)
    if sector != "any":
        yuan = yuan.filter(yuan[f"{sector}_records"] > 0)
    yuan = yuan.select("household_id", "period", yuan=yuan[sector])
    quintiles = by_ancestor(ctx, households(ctx), ctx.closure, "income_quintile")
    units = yuan.join(quintiles, "household_id")
    ranked = units.filter(units.g_income_quintile != MISSING)
    poorest = ranked.g_income_quintile == "Q1"
    raw = ctx.table("households")
    unranked = yuan.semi_join(raw.filter(raw.income_pc.isnull()), "household_id")
    return Mean(units=ranked.select("household_id", "region_id", "period", value=ibis.ifelse(poorest, ranked.yuan, 0.0),
                                    x=ranked.yuan * POOREST_SHARE),
                excluded=unranked.select("household_id", "period"))


def concentration(ctx: Context, first: str, second: str | None = None) -> Inequality:
    for sector in (first, second or "any"):
        require_sector(ctx, sector)
    return Inequality(aid=aid_yuan(ctx), first=first, second=second)


@indicator("fairness.gini_aid_pc")
def gini_aid_pc(ctx: Context) -> Inequality:
    """Gini coefficient of per-capita aid yuan (all sectors) across every household of the region, zeros included."""
    return Inequality(aid=aid_yuan(ctx), first="any", index="gini")


@indicator("fairness.theil_aid_pc")
def theil_aid_pc(ctx: Context) -> Inequality:
    """Theil T of per-capita aid yuan (all sectors) across every household of the region, zeros included."""
    return Inequality(aid=aid_yuan(ctx), first="any", index="theil")


@indicator("fairness.theil_between_subregions")
def theil_between_subregions(ctx: Context) -> Inequality:
    """The share of Theil T of per-capita aid that lies between the region's sub-regions."""
    return Inequality(aid=aid_yuan(ctx), first="any", index="theil_between")


# --- targeting errors ----------------------------------------------------------------

@indicator("fairness.exclusion_error_government")
def exclusion_error_government(ctx: Context) -> Rate:
    return exclusion_error(ctx, "government")


@indicator("fairness.exclusion_error_charity")
def exclusion_error_charity(ctx: Context) -> Rate:
    return exclusion_error(ctx, "charity")


@indicator("fairness.exclusion_error_any")
def exclusion_error_any(ctx: Context) -> Rate:
    return exclusion_error(ctx, "any")


@indicator("fairness.inclusion_error_government")
def inclusion_error_government(ctx: Context) -> Rate:
    return inclusion_error(ctx, "government")


@indicator("fairness.inclusion_error_charity")
def inclusion_error_charity(ctx: Context) -> Rate:
    return inclusion_error(ctx, "charity")


@indicator("fairness.inclusion_error_any")
def inclusion_error_any(ctx: Context) -> Rate:
    return inclusion_error(ctx, "any")


# --- coverage and incidence --------------------------------------------------------------

def coverage(ctx: Context, sector: str) -> Rate:
    """Households covered by ``sector`` in the period / all households (by income quintile with ``by=``)."""
    return Rate(numerator=covered(ctx, sector))


@indicator("fairness.coverage_government")
def coverage_government(ctx: Context) -> Rate:
    return coverage(ctx, "government")


@indicator("fairness.coverage_charity")
def coverage_charity(ctx: Context) -> Rate:
    return coverage(ctx, "charity")


@indicator("fairness.coverage_any")
def coverage_any(ctx: Context) -> Rate:
    return coverage(ctx, "any")


@indicator("fairness.cgh_government")
def cgh_government(ctx: Context) -> Mean:
    return cgh(ctx, "government")


@indicator("fairness.cgh_charity")
def cgh_charity(ctx: Context) -> Mean:
    return cgh(ctx, "charity")


@indicator("fairness.cgh_any")
def cgh_any(ctx: Context) -> Mean:
    return cgh(ctx, "any")


def benefit_incidence(ctx: Context, sector: str) -> Share:
    """The share of ``sector``'s yuan (records starting in the period) that reaches the row's group."""
    require_sector(ctx, sector)
    yuan = aid_yuan(ctx)
    if sector != "any":
        yuan = yuan.filter(yuan[f"{sector}_records"] > 0)
    return Share(units=yuan.select("household_id", "period", value=yuan[sector]))


def beneficiary_incidence(ctx: Context, sector: str) -> Share:
    """The share of the households covered by ``sector`` in the period that belong to the row's group."""
    return Share(units=covered(ctx, sector).mutate(value=ibis.literal(1.0)))


@indicator("fairness.benefit_incidence_government")
def benefit_incidence_government(ctx: Context) -> Share:
    return benefit_incidence(ctx, "government")


@indicator("fairness.benefit_incidence_charity")
def benefit_incidence_charity(ctx: Context) -> Share:
    return benefit_incidence(ctx, "charity")


@indicator("fairness.benefit_incidence_any")
def benefit_incidence_any(ctx: Context) -> Share:
    return benefit_incidence(ctx, "any")


@indicator("fairness.beneficiary_incidence_government")
def beneficiary_incidence_government(ctx: Context) -> Share:
    return beneficiary_incidence(ctx, "government")


@indicator("fairness.beneficiary_incidence_charity")
def beneficiary_incidence_charity(ctx: Context) -> Share:
    return beneficiary_incidence(ctx, "charity")


@indicator("fairness.beneficiary_incidence_any")
def beneficiary_incidence_any(ctx: Context) -> Share:
    return beneficiary_incidence(ctx, "any")


# --- concentration ---------------------------------------------------------------------

@indicator("fairness.concentration_government")
def concentration_government(ctx: Context) -> Inequality:
    return concentration(ctx, "government")


@indicator("fairness.concentration_charity")
def concentration_charity(ctx: Context) -> Inequality:
    return concentration(ctx, "charity")


@indicator("fairness.concentration_any")
def concentration_any(ctx: Context) -> Inequality:
    return concentration(ctx, "any")


@indicator("fairness.concentration_gap")
def concentration_gap(ctx: Context) -> Inequality:
    return concentration(ctx, "charity", "government")
