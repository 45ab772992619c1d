"""Coordination family (衔接运行): are government assistance and charity support a closed loop?

祝建华 2025; 叶涛涛 2022; 广州公益慈善蓝皮书 2024; 黄剑锋、晏子 2020. Conventions, shared by every indicator here:

- a need belongs to the period it was identified in, a referral to the period it was
  created in, a case to the period it was applied in, feedback to the period it was given in;
- an assistance record is active from ``start_on`` to ``end_on`` inclusive (no end: still
  running); a household is *aided* in a period when one of its records is active in it;
- two records *overlap* when each starts on or before the other ends (touching dates,
  one ending the day the other starts, overlap by one day);
- a need is *addressed* when the household has a record of the need's category, in one of
  the ``receipt_forms`` (service or in-kind by default: the access family's definition of
  "received", one declared parameter), active within ``omission_window_days`` (default
  90) from the day the need was identified;
- the data end at the extraction date (``datapackage.json``'s ``extracted_on``, else the
  latest event date in the data, :meth:`evalkit.data.package.DataPackage.extraction_date`).
  An outcome judged over a window (aid within ``omission_window_days`` of a need,
  publication within ``push_days``, a referral's or a published need's outcome after
  ``follow_up_days``, a case against its deadline) is judged only when the window ends
  on or before it; younger units are left out and counted in ``n_censored``, and the
  period is flagged ``incomplete``. Dropping them alone would bias the last period toward
  units that arrived early in it, hence the flag;
- durations of referrals are calendar days, censored at the extraction date when the
  event has not happened (Kaplan-Meier); a case still open at the extraction date has no
  duration yet and is counted in ``n_censored``;
- durations of cases and the days left to a case's deadline are statutory working days
  (法定工作日: Monday to Friday less public holidays, plus the adjusted weekend days
  worked, 调休) counted over (start, end]: the start day excluded, the end day included,
  so 8 to 19 February 2024 (Spring Festival) is 3. The calendar is chinese_calendar's,
  overridden day by day by the package's ``calendar`` table; a year neither covers
  fails with :class:`evalkit.errors.CalendarError` (:mod:`evalkit.data.workdays`).
  numpy's ``busday_count`` counts [start, end) Monday-Friday: the same only when both
  ends are working days and no holiday lies between.

Missing values never drop a row by accident (a comparison with NULL is NULL, and a
filter keeps only true): each indicator's catalogue entry says what a missing value
counts as (``missing``), and where units must be left out the statistic carries them as
``excluded`` and the results count them in ``n_excluded``.
"""
from __future__ import annotations

import datetime as dt

import ibis

from evalkit.data import workdays

from .base import Context, indicator
from .kinds import Mean, Quantile, Rate, RegionRate, Total

FAR_FUTURE = dt.date(9999, 12, 31)


# --- shared building blocks ----------------------------------------------------------

def _in_periods(ctx: Context, table: ibis.Table, date: str) -> ibis.Table:
    """Rows dated in one of the run's periods, with their ``period``."""
    t = table.filter(table[date].notnull())
    t = t.mutate(period=ctx.period_of(t[date]))
    return t.filter(t.period.isin(ctx.periods))


def _days(start: ibis.Value, end: ibis.Value) -> ibis.Value:
    return end.delta(start, unit="day")


def working_days(ctx: Context, table: ibis.Table, start: str, end: str, name: str = "days") -> ibis.Table:
    """``table`` with column ``name``: statutory working days in (start, end] (negative when
    ``end`` is before ``start``, NULL when either is missing).

    The calendar (:func:`evalkit.data.workdays.calendar_table`) covers the years the rows
    span, is built once per run and kept in the engine; the count is the difference of its
    running working-day index at the two dates. Raises :class:`evalkit.errors.CalendarError`
    naming the years neither chinese_calendar nor the package's calendar table covers.
    """
    table = table.view()
    both = table.filter(table[start].notnull() & table[end].notnull())
    spans = ctx.package.con.execute(both.select(a=both[start].year(), b=both[end].year()).distinct())
    years = workdays.years_spanned(spans)

    def build():
        calendar = workdays.calendar_table(ctx.package, years)
        workdays.check_covered(ctx.package.con, calendar, f"working days from {start} to {end}",
                               has_table=ctx.package.has("calendar"))
        return calendar

    calendar = ctx.cached(f"calendar_{'_'.join(map(str, years))}", build)
    first = calendar.select(_first_day=calendar["date"], _first_index=calendar.workday_index)
    last = calendar.select(_last_day=calendar["date"], _last_index=calendar.workday_index)
    out = table.left_join(first, table[start] == first._first_day)
    out = out.left_join(last, out[end] == last._last_day)
    return out.select(*table.columns, **{name: out._last_index - out._first_index})


def active_aid(ctx: Context) -> ibis.Table:
    """Assistance records active in each period: one row per record and period, with the sector."""

    def build():
        aid = ctx.table("assistance")
        aid = aid.filter(aid.start_on.notnull())
        if ctx.package.has("providers"):
            prov = ctx.table("providers").select("provider_id", provider_sector="sector")
            aid = aid.left_join(prov, "provider_id")
            sector = ibis.coalesce(aid.sector, aid.provider_sector)
        else:
            sector = aid.sector
        aid = aid.select("record_id", "household_id", "provider_id", "category", "form", "amount", "need_id",
                         "start_on", end_on=aid.end_on.fill_null(FAR_FUTURE), sector=sector)
        aid = aid.view()  # a relation of its own: Ibis cannot join on values computed inside a join chain
        p = ctx.periods_table()
        joined = aid.join(p, [aid.start_on <= p.period_end, aid.end_on >= p.period_start])
        return joined.select(*aid.columns, "period", "period_start", "period_end")

    return ctx.cached("active_aid", build)


def _aided_households(ctx: Context) -> ibis.Table:
    return active_aid(ctx).select("household_id", "period").distinct()


def duplicate_pairs(ctx: Context) -> ibis.Table:
    """Pairs of a household's records of one category whose active days overlap within a period.

    ``cross_sector`` marks pairs of a government and a charity record; ``two_providers``
    pairs from different providers (or sectors).
    """

    def build():
        a = active_aid(ctx)
        b = a.view()
        pairs = a.join(b, [a.household_id == b.household_id, a.period == b.period, a.category == b.category,
                           a.record_id < b.record_id, a.start_on <= b.end_on, b.start_on <= a.end_on,
                           ibis.greatest(a.start_on, b.start_on) <= a.period_end,
                           ibis.least(a.end_on, b.end_on) >= a.period_start])
        return pairs.select(
            household_id=a.household_id, period=a.period, category=a.category,
            first_record=a.record_id, second_record=b.record_id,
            first_amount=a.amount, second_amount=b.amount,
            first_start=a.start_on, second_start=b.start_on,
            period_start=a.period_start, period_end=a.period_end,
            cross_sector=(a.sector != b.sector).fill_null(False)
            & a.sector.isin(["government", "charity"]) & b.sector.isin(["government", "charity"]),
            two_providers=((a.provider_id != b.provider_id) | (a.sector != b.sector)).fill_null(False),
        )

    return ctx.cached("duplicate_pairs", build)


def needs_in_period(ctx: Context) -> ibis.Table:
    """Needs identified in the run's periods, with ``addressed`` (aid of its category within the window)."""

    def build():
        needs = _in_periods(ctx, ctx.table("needs"), "identified_on")
        out = needs.select("need_id", "household_id", "period", "service_type", "channel", "within_policy",
                           "identified_on", "published_on", "matched_on", "handled_on",
                           # whether each window has ended by the extraction date (else the outcome is censored)
                           window_ended=ctx.window_complete(needs.identified_on, ctx.params.omission_window_days),
                           push_ended=ctx.window_complete(needs.identified_on, ctx.params.push_days),
                           follow_up_ended=ctx.window_complete(needs.identified_on, ctx.params.follow_up_days))
        if not ctx.package.has("assistance"):  # the platform KPIs need no aid records
            return out.mutate(addressed=ibis.null("boolean"), any_aid=ibis.null("boolean"))
        aid = ctx.table("assistance")
        # the same forms count as "received" as in the access family (a blank form counts as none)
        aid = aid.filter(aid.start_on.notnull(), aid.form.isin(list(ctx.params.receipt_forms))).select(
            "household_id", "category", "start_on", end_on=aid.end_on.fill_null(FAR_FUTURE))
        window = ibis.interval(days=ctx.params.omission_window_days)
        # one join for both flags: the household's aid active within the window, of any category
        aided = needs.join(aid, [needs.household_id == aid.household_id,
                                 aid.start_on <= needs.identified_on + window,
                                 aid.end_on >= needs.identified_on])
        aided = aided.group_by(aided.need_id).agg(
            addressed=(aided.category == aided.service_type).any(), any_aid=aided.count() > 0)
        out = out.left_join(aided, "need_id").drop("need_id_right")
        return out.mutate(addressed=out.addressed.fill_null(False), any_aid=out.any_aid.fill_null(False))

    return ctx.cached("needs_in_period", build)


def referrals_in_period(ctx: Context) -> ibis.Table:
    """Referrals created in the run's periods, with the sectors at both ends."""

    def build():
        ref = _in_periods(ctx, ctx.table("referrals"), "created_on")
        prov = ctx.table("providers").select("provider_id", "sector")
        src = prov.select(from_provider="provider_id", from_sector="sector")
        dst = prov.select(to_provider="provider_id", to_sector="sector")
        ref = ref.left_join(src, "from_provider").drop("from_provider_right")
        ref = ref.left_join(dst, "to_provider").drop("to_provider_right")
        # a blank status says nothing: never NULL flags, which a filter would drop
        accepted = ref.accepted_on.notnull() | ref.status.isin(["accepted", "closed"]).fill_null(False)
        closed = ref.closed_on.notnull() | (ref.status == "closed").fill_null(False)
        rejected = (ref.status == "rejected").fill_null(False) & ~accepted
        return ref.mutate(accepted=accepted, closed=closed, rejected=rejected,
                          follow_up_ended=ctx.window_complete(ref.created_on, ctx.params.follow_up_days))

    return ctx.cached("referrals_in_period", build)


def cases_in_period(ctx: Context) -> ibis.Table:
    """Cases applied for in the run's periods, with their ``period``: built once per run for the
    process indicators and the units they leave out."""
    return ctx.cached("cases_in_period", lambda: _in_periods(ctx, ctx.table("cases"), "applied_on"))


def _finished_on(cases: ibis.Table) -> ibis.Value:
    # an approved case ends when aid is delivered, a refused one when it is decided
    return ibis.ifelse(cases.approved.fill_null(True), cases.delivered_on, cases.decided_on)


# --- duplicate and omitted aid -------------------------------------------------------

@indicator("coordination.duplicate_aid_rate")
def duplicate_aid_rate(ctx: Context) -> Rate:
    pairs = duplicate_pairs(ctx)
    dup = pairs.filter(pairs.cross_sector).select("household_id", "period").distinct()
    return Rate(numerator=dup, denominator=_aided_households(ctx))


@indicator("coordination.duplicate_aid_any_rate")
def duplicate_aid_any_rate(ctx: Context) -> Rate:
    pairs = duplicate_pairs(ctx)
    dup = pairs.filter(pairs.two_providers).select("household_id", "period").distinct()
    return Rate(numerator=dup, denominator=_aided_households(ctx))


def _duplicate_yuan(ctx: Context) -> ibis.Table:
    """Yuan of cross-sector duplicate records per household and period (only households with some).

    Each record of a government-charity duplicate pair counts once, in the period its first
    overlap with a record of the other sector begins (by date: a record started in an
    earlier quarter counts too); a blank amount is 0 yuan.
    """
    pairs = duplicate_pairs(ctx).filter(lambda t: t.cross_sector)
    overlap = ibis.greatest(pairs.first_start, pairs.second_start)
    first = pairs.select("household_id", record=pairs.first_record, amount=pairs.first_amount, since=overlap)
    second = pairs.select("household_id", record=pairs.second_record, amount=pairs.second_amount, since=overlap)
    records = first.union(second)
    records = records.group_by("household_id", "record").agg(amount=records.amount.max(), since=records.since.min())
    records = records.mutate(period=ctx.period_of(records.since))
    records = records.filter(records.period.isin(ctx.periods))
    return records.group_by("household_id", "period").agg(yuan=records.amount.fill_null(0).sum())


def _aided_duplicate_yuan(ctx: Context) -> ibis.Table:
    """Every household aided in the period with its duplicate yuan (0 for most)."""
    yuan = _duplicate_yuan(ctx)
    aided = _aided_households(ctx)
    units = aided.left_join(yuan, ["household_id", "period"])
    return units.select(aided.household_id, aided.period, value=ibis.coalesce(units.yuan, 0.0))


@indicator("coordination.duplicate_aid_amount")
def duplicate_aid_amount(ctx: Context) -> Mean:
    """Yuan in duplicate aid per aided household (a mean over the households aided in the period)."""
    return Mean(units=_aided_duplicate_yuan(ctx))


@indicator("coordination.duplicate_aid_amount_total")
def duplicate_aid_amount_total(ctx: Context) -> Total:
    """Total yuan in duplicate aid (sum of weight x yuan over the households aided in the
    period): the numerator of the per-household mean, with the total's own standard error."""
    return Total(units=_aided_duplicate_yuan(ctx))


@indicator("coordination.duplicate_need_rate")
def duplicate_need_rate(ctx: Context) -> Rate:
    needs = needs_in_period(ctx)
    aid = ctx.table("assistance")
    linked = aid.filter(aid.need_id.notnull())
    pairs = duplicate_pairs(ctx).filter(lambda t: t.cross_sector)
    # a need is aided twice when two of the records linked to it form a cross-sector pair
    firsts = pairs.join(linked.select(first_record="record_id", need_id="need_id"), "first_record")
    firsts = firsts.select("second_record", "need_id").view()
    seconds = linked.select(second_record="record_id", need_id="need_id")
    dup_needs = firsts.join(seconds, ["second_record", "need_id"]).select("need_id").distinct()
    served = linked.select("need_id").distinct()
    units = needs.semi_join(served, "need_id").select("household_id", "period", "need_id")
    return Rate(numerator=units.semi_join(dup_needs, "need_id"), denominator=units)


@indicator("coordination.omitted_need_rate")
def omitted_need_rate(ctx: Context) -> Rate:
    every = needs_in_period(ctx)
    needs = every.filter(every.window_ended)
    units = needs.select("household_id", "period", "service_type", "need_id")
    return Rate(numerator=needs.filter(~needs.addressed).select(units.columns), denominator=units,
                censored=every.filter(~every.window_ended).select(units.columns))


@indicator("coordination.omitted_aid_rate")
def omitted_aid_rate(ctx: Context) -> Rate:
    needs = needs_in_period(ctx)
    # a household is judged once the window of each of its needs in the period has ended
    per_household = needs.group_by("household_id", "period").agg(
        helped=needs.any_aid.any(), ended=needs.window_ended.all())
    judged = per_household.filter(per_household.ended)
    return Rate(numerator=judged.filter(~judged.helped).select("household_id", "period"),
                denominator=judged.select("household_id", "period"),
                censored=per_household.filter(~per_household.ended).select("household_id", "period"))


@indicator("coordination.multi_need_addressed_rate")
def multi_need_addressed_rate(ctx: Context) -> Rate:
    needs = needs_in_period(ctx)
    per_household = needs.group_by("household_id", "period").agg(
        needs=needs.count(), addressed=needs.addressed.cast("int64").sum(), ended=needs.window_ended.all())
    every = per_household.filter(per_household.needs >= 2)
    multi = every.filter(every.ended)
    return Rate(numerator=multi.filter(multi.addressed == multi.needs).select("household_id", "period"),
                denominator=multi.select("household_id", "period"),
                censored=every.filter(~every.ended).select("household_id", "period"))


# --- referrals -------------------------------------------------------------------------

@indicator("coordination.referral_to_charity_rate")
def referral_to_charity_rate(ctx: Context) -> Rate:
    every = needs_in_period(ctx)
    needs = every.filter(every.follow_up_ended)
    out_of_policy = needs.filter(needs.within_policy == False).select("household_id", "period", "need_id")  # noqa: E712
    unknown = needs.filter(needs.within_policy.isnull()).select(out_of_policy.columns)
    young = every.filter(~every.follow_up_ended & (every.within_policy == False))  # noqa: E712
    ref = ctx.table("referrals")
    prov = ctx.table("providers")
    ref = ref.join(prov.select(from_provider="provider_id", from_sector="sector"), "from_provider")
    ref = ref.join(prov.select(to_provider="provider_id", to_sector="sector"), "to_provider")
    forward = ref.filter((ref.from_sector == "government") & (ref.to_sector == "charity")).select("need_id")
    return Rate(numerator=out_of_policy.semi_join(forward, "need_id"), denominator=out_of_policy, excluded=unknown,
                censored=young.select(out_of_policy.columns))


@indicator("coordination.charity_to_government_share")
def charity_to_government_share(ctx: Context) -> Rate:
    ref = referrals_in_period(ctx)
    units = ref.select("household_id", "period", "referral_id")
    back = ref.filter((ref.from_sector == "charity") & (ref.to_sector == "government"))
    return Rate(numerator=back.select(units.columns), denominator=units)


@indicator("coordination.referral_acceptance_rate")
def referral_acceptance_rate(ctx: Context) -> Rate:
    every = referrals_in_period(ctx)
    ref = every.filter(every.follow_up_ended)
    decided = ref.filter(ref.accepted | ref.rejected)
    units = decided.select("household_id", "period", "referral_id")
    return Rate(numerator=decided.filter(decided.accepted).select(units.columns), denominator=units,
                excluded=ref.filter(~(ref.accepted | ref.rejected)).select(units.columns),
                censored=every.filter(~every.follow_up_ended).select(units.columns))


@indicator("coordination.referral_closure_rate")
def referral_closure_rate(ctx: Context) -> Rate:
    every = referrals_in_period(ctx).filter(lambda t: t.accepted)
    accepted = every.filter(every.follow_up_ended)
    units = accepted.select("household_id", "period", "referral_id")
    return Rate(numerator=accepted.filter(accepted.closed).select(units.columns), denominator=units,
                censored=every.filter(~every.follow_up_ended).select(units.columns))


def _referral_durations(ctx: Context, event_date: str, among: str, q: float) -> Quantile:
    """Days from creation to ``event_date`` (Kaplan-Meier, pending ones censored at the extraction date).

    ``among``: ``not_rejected`` (a blank status is not a rejection) or ``accepted``. A
    referral whose event happened by its status (accepted, closed) but has no date has an
    unknown duration: it is left out and counted in ``n_excluded``.
    """
    ref = referrals_in_period(ctx)
    ref = ref.filter(~ref.rejected) if among == "not_rejected" else ref.filter(ref.accepted)
    flag = ref.accepted if event_date == "accepted_on" else ref.closed
    undated = flag & ref[event_date].isnull()
    end = ibis.date(ctx.extraction_date)
    known = ref.filter(~undated)
    happened = known[event_date].notnull()
    days = _days(known.created_on, ibis.coalesce(known[event_date], end))
    units = known.select("household_id", "period", days=days, event=happened)
    return Quantile(units, q=q, excluded=ref.filter(undated).select("household_id", "period", "referral_id"))


@indicator("coordination.referral_accept_days_median")
def referral_accept_days_median(ctx: Context) -> Quantile:
    return _referral_durations(ctx, "accepted_on", "not_rejected", 0.5)


@indicator("coordination.referral_accept_days_p90")
def referral_accept_days_p90(ctx: Context) -> Quantile:
    return _referral_durations(ctx, "accepted_on", "not_rejected", 0.9)


@indicator("coordination.referral_close_days_median")
def referral_close_days_median(ctx: Context) -> Quantile:
    return _referral_durations(ctx, "closed_on", "accepted", 0.5)


# --- platform KPIs (祝建华 2025) ----------------------------------------------------------

@indicator("coordination.push_timeliness_rate")
def push_timeliness_rate(ctx: Context) -> Rate:
    every = needs_in_period(ctx)
    needs = every.filter(every.push_ended)
    units = needs.select("household_id", "period", "need_id")
    on_time = needs.filter(needs.published_on.notnull()
                           & (_days(needs.identified_on, needs.published_on) <= ctx.params.push_days))
    return Rate(numerator=on_time.select(units.columns), denominator=units,
                censored=every.filter(~every.push_ended).select(units.columns))


@indicator("coordination.resource_publication_rate")
def resource_publication_rate(ctx: Context) -> RegionRate:
    pts = ctx.table("service_points")
    units = pts.select("region_id", "point_id")
    return RegionRate(numerator=pts.filter(pts.published.fill_null(False)).select(units.columns), denominator=units,
                      unit="service point")


@indicator("coordination.matching_handling_rate")
def matching_handling_rate(ctx: Context) -> Rate:
    needs = needs_in_period(ctx)
    every = needs.filter(needs.published_on.notnull())
    ended = ctx.window_complete(every.published_on, ctx.params.follow_up_days)
    published = every.filter(ended)
    units = published.select("household_id", "period", "need_id")
    done = published.filter(published.matched_on.notnull() & published.handled_on.notnull())
    return Rate(numerator=done.select(units.columns), denominator=units,
                censored=every.filter(~ended).select(units.columns))


@indicator("coordination.satisfaction_rate")
def satisfaction_rate(ctx: Context) -> Rate:
    given = _in_periods(ctx, ctx.table("feedback"), "given_on")
    fb = given.filter(given.score.notnull())
    units = fb.select("household_id", "period", "feedback_id")
    unscored = given.filter(given.score.isnull()).select(units.columns)
    return Rate(numerator=fb.filter(fb.score >= 4).select(units.columns), denominator=units, excluded=unscored)


# --- process ---------------------------------------------------------------------------

def _case_days(ctx: Context, start: str, end: str, later: tuple[str, ...] = (), approved_only: bool = False) -> Mean:
    """Mean working days from ``start`` to ``end`` over cases with both dates.

    A case with a start but no end is still open at the extraction date when no ``later``
    step has a date either (censored: its duration is not known yet), and otherwise has a
    missing date (excluded). ``approved_only``: refused cases have no such step (delivery)."""
    cases = cases_in_period(ctx)
    if approved_only:
        cases = cases.filter(cases.approved.fill_null(True))
    started = cases.filter(cases[start].notnull())
    done = started.filter(started[end].notnull())
    done = working_days(ctx, done.select("household_id", "period", "case_id", start, end), start, end)
    missing = started.filter(started[end].isnull())
    moved_on = ibis.literal(False)
    for column in later:
        moved_on = moved_on | missing[column].notnull()
    keys = ["household_id", "period", "case_id"]
    return Mean(units=done.select(*keys, value=done.days.cast("float64")),
                excluded=missing.filter(moved_on).select(keys), censored=missing.filter(~moved_on).select(keys))


@indicator("coordination.verification_days")
def verification_days(ctx: Context) -> Mean:
    return _case_days(ctx, "applied_on", "verified_on", later=("decided_on", "delivered_on"))


@indicator("coordination.processing_days")
def processing_days(ctx: Context) -> Mean:
    return _case_days(ctx, "verified_on", "decided_on", later=("delivered_on",))


@indicator("coordination.decision_days")
def decision_days(ctx: Context) -> Mean:
    return _case_days(ctx, "applied_on", "decided_on", later=("delivered_on",))


@indicator("coordination.delivery_days")
def delivery_days(ctx: Context) -> Mean:
    return _case_days(ctx, "decided_on", "delivered_on", approved_only=True)


@indicator("coordination.on_time_rate")
def on_time_rate(ctx: Context) -> Rate:
    cases = cases_in_period(ctx).filter(lambda t: t.deadline_on.notnull())
    # judged once its deadline has passed by the extraction date: judging the cases
    # finished early alone would make the last period look punctual
    passed = cases.deadline_on < ibis.date(ctx.extraction_date)
    known = cases.filter(passed)
    finished = _finished_on(known)
    units = known.select("household_id", "period", "case_id")
    return Rate(numerator=known.filter(finished.notnull() & (finished <= known.deadline_on)).select(units.columns),
                denominator=units, censored=cases.filter(~passed).select(units.columns))


def _open_cases(ctx: Context) -> ibis.Table:
    """Cases open at the end of each period, with the working days left to their deadline
    then: (period end, deadline], 0 when the deadline is the period's last day, negative when
    overdue. Built once per run for the three warning colours."""

    def build():
        cases = ctx.table("cases")
        cases = cases.filter(cases.applied_on.notnull() & cases.deadline_on.notnull())
        p = ctx.periods_table()
        finished = _finished_on(cases)
        open_ = cases.join(p, [cases.applied_on <= p.period_end, finished.isnull() | (finished > p.period_end)])
        open_ = open_.select("household_id", "period", "case_id", "period_end", "deadline_on")
        open_ = working_days(ctx, open_, "period_end", "deadline_on", "days_left")
        return open_.select("household_id", "period", "case_id", "days_left")

    return ctx.cached("open_cases", build)


def _warning(ctx: Context, colour: str) -> Rate:
    open_ = _open_cases(ctx)
    red, yellow = ctx.params.warning_days
    status = ibis.cases((open_.days_left <= red, "red"), (open_.days_left <= yellow, "yellow"), else_="blue")
    units = open_.select("household_id", "period", "case_id")
    return Rate(numerator=open_.filter(status == colour).select(units.columns), denominator=units)


@indicator("coordination.open_red_rate")
def open_red_rate(ctx: Context) -> Rate:
    return _warning(ctx, "red")


@indicator("coordination.open_yellow_rate")
def open_yellow_rate(ctx: Context) -> Rate:
    return _warning(ctx, "yellow")


@indicator("coordination.open_blue_rate")
def open_blue_rate(ctx: Context) -> Rate:
    return _warning(ctx, "blue")


# --- discovery, funding, integration -----------------------------------------------------

@indicator("coordination.active_discovery_share")
def active_discovery_share(ctx: Context) -> Rate:
    every = needs_in_period(ctx)
    needs = every.filter(every.channel.notnull())
    units = needs.select("household_id", "period", "need_id")
    unknown = every.filter(every.channel.isnull()).select(units.columns)
    return Rate(numerator=needs.filter(needs.channel != "application").select(units.columns), denominator=units,
                excluded=unknown)


@indicator("coordination.charity_funding_share")
def charity_funding_share(ctx: Context) -> Mean:
    aid = active_aid(ctx)
    starting = aid.filter(aid.start_on >= aid.period_start)
    known = starting.amount.notnull() & starting.sector.notnull()
    aid = starting.filter(known)
    charity = ibis.ifelse(aid.sector == "charity", aid.amount, 0.0)
    return Mean(units=aid.select("household_id", "period", "record_id", value=charity, x=aid.amount),
                excluded=starting.filter(~known).select("household_id", "period", "record_id"))


@indicator("coordination.integrated_aid_rate")
def integrated_aid_rate(ctx: Context) -> Rate:
    aid = active_aid(ctx)
    per_household = aid.group_by("household_id", "period").agg(
        government=(aid.sector == "government").any(), charity=(aid.sector == "charity").any(),
        unlinked=aid.need_id.isnull().any())
    both = per_household.filter(per_household.government & per_household.charity)
    return Rate(numerator=both.filter(~both.unlinked).select("household_id", "period"),
                denominator=both.select("household_id", "period"))

