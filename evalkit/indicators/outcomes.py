"""Outcomes family (效果性、受益性): what households get from the linkage.

广州市慈善服务中心、广州市慈善会 (2024) ask the assessment to judge effectiveness and benefit;
祝建华 (2025) and 叶涛涛 (2022) describe the closed loop whose end is a need met; the
2023 opinion on monitoring the low-income population (关于加强低收入人口动态监测做好分层分类社会救助工作的意见)
asks that exits and returns to hardship (返贫) be monitored. Conventions, shared by every
indicator here:

- a need belongs to the period it was identified in, and is *fulfilled* when, within
  ``follow_up_days`` (default 90) of its identification, it was handled on the platform
  (``needs.handled_on``), an assistance record linked to it (``assistance.need_id``)
  started, or a referral of it (``referrals.need_id``) was closed. A need whose window
  runs past the extraction date is censored (``n_censored``), as in the coordination family;
- the household panel (``household_periods``) says, per household and period, whether it
  is *in assistance*: ``in_assistance``, else (blank) its ``status`` other than none;
  blank both: unknown. Every indicator reading it is skipped without the table;
- an *exit* in period t: in assistance in the period before t, not in t (the reason is
  not recorded: exits for improved circumstances and other exits alike). The households
  at risk are those in assistance in t-1; one with no row, or an unknown state, in t is
  left out (``n_excluded``);
- a *return to hardship* (返贫): an exit in t followed by a period t+1 .. t+L in
  assistance again, L the periods in 12 months (4 quarters, 12 months, 1 year); with
  ``hardship=income`` also a period whose ``income_pc`` is below ``poverty_line``. An exit
  whose 12 months (the last day of period t+L) end after the extraction date, or after the
  panel's last period, is censored (``n_censored``), whether or not it has returned yet: counting early returns alone
  would bias the rate upward. One that has not returned with a period of its window
  missing or unknown in the panel is left out (``n_excluded``);
- income change: pre-transfer ``income_pc`` in t minus in t-1, for households with both
  rows; a blank income leaves the household out (``n_excluded``);
- aid yuan are the amounts of records that start in the period (fairness family's
  :func:`evalkit.indicators.fairness.aid_yuan`; a blank amount counts 0 yuan), and a
  household is *aided* (a beneficiary) in a period when one of its records is active in it.

Satisfaction is not repeated here: the coordination family's
``coordination.satisfaction_rate`` (评价服务满意率) is the outcome measure of satisfaction.
Micro-wishes (微心愿) have no table in the data model, so their fulfilment is not computed.
"""
from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd

from evalkit.data import periods as periods_mod

from .base import Context, Unavailable, indicator
from .coordination import active_aid, needs_in_period
from .fairness import aid_yuan, require_sector
from .kinds import Mean, Rate

WINDOW_MONTHS = 12  # a return to hardship counts within 12 months of the exit
MONTHS = {"year": 12, "quarter": 3, "month": 1}


def window_periods(frequency: str) -> int:
    """Periods in the 12 months after an exit: 1 year, 4 quarters or 12 months."""
    return WINDOW_MONTHS // MONTHS[frequency]


# --- the household panel -------------------------------------------------------------

def _require_panel(ctx: Context) -> None:
    if not ctx.package.has("household_periods"):
        raise Unavailable("needs the household_periods table (household, period, status, income, in assistance), "
                          "which the package does not have")


def period_index(ctx: Context) -> ibis.Table:
    """``period, idx, period_end, window_end, panel_last``: every period from the earliest in
    the panel or the run to the latest, numbered, with the last day of the window of 12
    months after it, and the number of the panel's last period (where its data end)."""

    def build():
        hp = ctx.table("household_periods")
        panel_labels = set(ctx.package.con.execute(hp.select("period").distinct())["period"].dropna())
        labels = panel_labels | set(ctx.periods)
        freq = ctx.package.frequency
        starts = [periods_mod.bounds(p, freq)[0] for p in labels]
        span = periods_mod.span(min(starts), max(periods_mod.bounds(p, freq)[1] for p in labels), freq)
        ahead = window_periods(freq)
        extended = list(span)
        for _ in range(ahead):
            extended.append(periods_mod.label(periods_mod.bounds(extended[-1], freq)[1] + dt.timedelta(days=1), freq))
        ends = [periods_mod.bounds(p, freq)[1] for p in extended]
        in_panel = [p for p in span if p in panel_labels] or span
        return ibis.memtable(pd.DataFrame({"period": span, "idx": range(len(span)), "period_end": ends[:len(span)],
                                           "window_end": ends[ahead:ahead + len(span)],
                                           "panel_last": span.index(in_panel[-1])}))

    return ctx.cached("panel_periods", build)


def panel(ctx: Context) -> ibis.Table:
    """``household_id, period, idx, in_assistance`` (NULL: unknown) and ``income`` per row of the panel."""
    _require_panel(ctx)

    def build():
        hp = ctx.table("household_periods")
        state = ibis.coalesce(hp.in_assistance, ibis.ifelse(hp.status.isnull(), ibis.null("boolean"),
                                                              hp.status != "none"))
        rows = hp.select("household_id", "period", in_assistance=state, income=hp.income_pc.cast("float64"))
        idx = period_index(ctx)
        return rows.join(idx.select("period", "idx"), "period")

    return ctx.cached("panel_states", build)


def _transitions(ctx: Context) -> ibis.Table:
    """Each household in the panel in t-1 with t a period of the run: ``household_id, period``
    (t), the state and income in t-1 (``before_in``, ``before_income``) and in t (``in_assistance``,
    ``income``, NULL when the panel has no row for t; ``present``: it has one). Built once per
    run for the indicators that read it."""
    p = panel(ctx)
    idx = period_index(ctx)

    def build():
        before = p.select("household_id", before_in=p.in_assistance, before_income=p.income, idx=p.idx + 1)
        before = before.join(idx.select("idx", "period"), "idx")
        before = before.filter(before.period.isin(ctx.periods))
        now = p.select("household_id", "idx", "in_assistance", "income", present=ibis.literal(True))
        joined = before.left_join(now, ["household_id", "idx"])
        return joined.select(before.household_id, before.period, before.idx, before.before_in, before.before_income,
                             now.in_assistance, now.income, present=now.present.fill_null(False))

    return ctx.cached("panel_transitions", build)


# --- indicators ----------------------------------------------------------------------

@indicator("outcomes.need_fulfilment_rate")
def need_fulfilment_rate(ctx: Context) -> Rate:
    every = needs_in_period(ctx)
    days = ibis.interval(days=int(ctx.params.follow_up_days))
    needs = every.filter(every.follow_up_ended)
    units = needs.select("household_id", "period", "need_id")
    window = needs.select("need_id", by=needs.identified_on + days)
    handled = needs.filter(needs.handled_on.notnull() & (needs.handled_on <= needs.identified_on + days))
    met = handled.select("need_id")
    if ctx.package.has_values("assistance", "need_id"):
        aid = ctx.table("assistance")
        aid = aid.filter(aid.need_id.notnull() & aid.start_on.notnull()).select(
            "start_on", linked=aid.need_id)
        j = window.join(aid, [window.need_id == aid.linked, aid.start_on <= window.by])
        met = met.union(j.select(need_id=j.need_id))
    if ctx.package.has_values("referrals", "need_id"):
        ref = ctx.table("referrals")
        ref = ref.filter(ref.need_id.notnull() & ref.closed_on.notnull()).select("closed_on", linked=ref.need_id)
        j = window.join(ref, [window.need_id == ref.linked, ref.closed_on <= window.by])
        met = met.union(j.select(need_id=j.need_id))
    met = met.distinct()
    return Rate(numerator=units.semi_join(met, "need_id"), denominator=units,
                censored=every.filter(~every.follow_up_ended).select(units.columns))


@indicator("outcomes.exit_rate")
def exit_rate(ctx: Context) -> Rate:
    t = _transitions(ctx)
    at_risk = t.filter(t.before_in.fill_null(False))
    known = at_risk.filter(at_risk.in_assistance.notnull())
    units = known.select("household_id", "period")
    return Rate(numerator=known.filter(~known.in_assistance).select(units.columns), denominator=units,
                excluded=at_risk.filter(at_risk.in_assistance.isnull()).select(units.columns))


@indicator("outcomes.return_to_hardship_rate")
def return_to_hardship_rate(ctx: Context) -> Rate:
    t = _transitions(ctx)
    exits = t.filter(t.before_in.fill_null(False) & (t.in_assistance == False))  # noqa: E712
    exits = exits.select("household_id", "period", "idx")
    ahead = window_periods(ctx.package.frequency)
    p = panel(ctx)
    if ctx.params.hardship == "income":
        poor = (p.income < float(ctx.params.poverty_line)).fill_null(False)
        hard = p.in_assistance.fill_null(False) | poor
        known = p.in_assistance.notnull() & (p.income.notnull() | hard)
    else:
        hard = p.in_assistance.fill_null(False)
        known = p.in_assistance.notnull()
    later = p.select(later_household=p.household_id, later_idx=p.idx, hard=hard, known=known)
    j = exits.left_join(later, [exits.household_id == later.later_household, later.later_idx > exits.idx,
                                later.later_idx <= exits.idx + ahead])
    per_exit = j.group_by([j.household_id, j.period, j.idx]).agg(
        returned=j.hard.fill_null(False).any(), observed=j.known.fill_null(False).sum())
    ends = period_index(ctx).select("idx", "window_end", "panel_last")
    per_exit = per_exit.join(ends, "idx")
    # the window has ended when its last day is on or before the extraction date and its last
    # period is in the panel (a panel that stops earlier ends the observation there)
    ended = (per_exit.window_end <= ibis.date(ctx.extraction_date)) & (per_exit.idx + ahead <= per_exit.panel_last)
    judged = per_exit.filter(ended)
    decided = judged.filter(judged.returned | (judged.observed >= ahead))
    units = decided.select("household_id", "period")
    return Rate(numerator=decided.filter(decided.returned).select(units.columns), denominator=units,
                excluded=judged.filter(~judged.returned & (judged.observed < ahead)).select(units.columns),
                censored=per_exit.filter(~ended).select(units.columns))


@indicator("outcomes.income_change_pc")
def income_change_pc(ctx: Context) -> Mean:
    t = _transitions(ctx)
    seen = t.filter(t.present)  # a row in t as well as in t-1
    known = seen.filter(seen.income.notnull() & seen.before_income.notnull())
    return Mean(units=known.select("household_id", "period", value=known.income - known.before_income),
                excluded=seen.filter(seen.income.isnull() | seen.before_income.isnull()).select(
                    "household_id", "period"))


@indicator("outcomes.cost_per_beneficiary_household")
def cost_per_beneficiary_household(ctx: Context) -> Mean:
    aided = active_aid(ctx).select("household_id", "period").distinct()
    yuan = aid_yuan(ctx).select("household_id", "period", "any")
    units = aided.left_join(yuan, ["household_id", "period"])
    return Mean(units=units.select(aided.household_id, aided.period, value=ibis.coalesce(units["any"], 0.0)))


@indicator("outcomes.charity_per_government_yuan")
def charity_per_government_yuan(ctx: Context) -> Mean:
    require_sector(ctx, "government")
    yuan = aid_yuan(ctx)
    return Mean(units=yuan.select("household_id", "period", value=yuan.charity, x=yuan.government))

