"""Computing indicators on a loaded package.

>>> import evalkit
>>> pkg = evalkit.load("data/demo")                                # doctest: +SKIP
>>> res = evalkit.compute(pkg, family="access", by=["hukou"])      # doctest: +SKIP
>>> res.difference("hukou", reference="local")                     # doctest: +SKIP
"""
from __future__ import annotations

import pandas as pd

from evalkit import provenance
from evalkit.data import periods as periods_mod
from evalkit.data.package import DataPackage
from evalkit.data.schema import SERVICE_TYPES, TABLES
from evalkit.engine import resource_errors
from evalkit.errors import ParameterError
from evalkit.indicators import REGISTRY, Context
from evalkit.indicators.base import EMPTY_REGION_NOTE, OVERALL, Unavailable, design_of, population
from evalkit.indicators.catalogue import Indicator, load_catalogue
from evalkit.indicators.groups import DERIVED as DERIVED_GROUPS
from evalkit.indicators.groups import intersection_parts, is_intersection, is_region_relative
from evalkit.indicators.kinds import PAIR, RatioStatistic, ratio_covariances, ratio_statistics
from evalkit.indicators.parameters import resolve as resolve_params
from evalkit.methods.survey import Design
from evalkit.results.disclosure import protect
from evalkit.results.indicator_results import COLUMNS, IndicatorResults

# Household columns that make sense as groups (not identifiers, design or coordinates).
NOT_GROUPS = {"household_id", "id_number", "name", "weight", "psu", "lon", "lat", "income_pc", "size", "head_age", "fpc"}
GROUP_COLUMNS = [c.name for c in TABLES["households"].columns if c.name not in NOT_GROUPS]
# ... and groups derived from them (evalkit.indicators.groups): income quintile, head's age band, type.
GROUPS = [*GROUP_COLUMNS, *DERIVED_GROUPS]


@resource_errors()  # out of memory or disk: a named error
def compute(
    package: DataPackage,
    indicators: list[str] | None = None,
    family: str | None = None,
    by: list[str] | tuple[str, ...] = (),
    region: str | None = None,
    period: str | None = None,
    min_cell: int = 10,
    confidence: float = 0.95,
    params: dict | None = None,
    design: Design | None = None,
    engine: str | None = None,
) -> IndicatorResults:
    """Compute catalogued indicators per region (and every parent region), period and group.

    A row is ``incomplete`` when its period ends after the package's extraction date, or
    when units of it were censored there (``n_censored``: a window, such as the 90 days
    in which a need must be answered, runs past the extraction date, so its outcome
    cannot be known yet; those units are left out of rates and means, and enter
    Kaplan-Meier durations as censored). Changes involving an incomplete period are never
    called significant (:meth:`IndicatorResults.change`).

    Parameters
    ----------
    indicators, family : which indicators (default: every one the package supports).
    by : household columns to break results down by, each on its own, or derived groups
        (``income_quintile``, ``head_age_band``, ``household_type``: :mod:`evalkit.indicators.groups`),
        or the intersection of two household-level ones, ``hukou*urban`` (labels ``local*true``, ...).
    region : keep this region and the regions below it.

    Every region of the regions table within the scope gets rows for every indicator,
    period and service type (where the indicator has them), even when no household,
    record or unit is in it: value, se and interval NaN, numerator, denominator and ``n``
    0, and the note "no household in this region" (region-level units such as service
    points: "no service point in this region"). Group rows are kept only for groups
    that have households in the region, so a region without households has overall rows only.
    period : keep this period (a label such as ``2024Q1``).
    min_cell : the small-cell threshold. A row is flagged ``suppressed`` when fewer than
        ``min_cell`` units (the indicator's unit of analysis, catalogue ``counts``:
        households, needs, referrals, ...) are in its denominator or, for rates of counted
        households, in its numerator or outside it (the denominator minus the numerator);
        then, so that no suppressed cell can be recomputed by subtraction, more rows are
        suppressed in every margin the run publishes (groups against the overall row,
        child regions against their parent, counts shared between indicators):
        :mod:`evalkit.results.disclosure`.
    confidence : level of the confidence intervals.
    params : values of the families' declared parameters
        (:data:`evalkit.indicators.parameters.PARAMETERS`: ``nearby_km``,
        ``omission_window_days``, ...); the rest keep their defaults.
    design : the survey design (:class:`evalkit.methods.survey.Design`); by default the
        package's (:func:`evalkit.indicators.base.design_of`).
    engine : ``"spark"`` to aggregate on a local Spark (:meth:`DataPackage.on_spark`; for a
        cluster, pass ``package.on_spark(master_or_session, staging=...)`` instead); by
        default the package's own engine. The numbers are the same on either.
    """
    if engine not in (None, "duckdb", "spark"):
        raise ParameterError(f"engine must be duckdb or spark, got {engine!r}")
    if engine == "spark":
        package = package.on_spark()
    elif engine == "duckdb" and package.con.name != "duckdb":
        raise ParameterError("this package's tables are on Spark; compute it without engine=, or load it again")
    catalogue = load_catalogue()
    selected = _select(catalogue, indicators, family)
    by = check_by(by)
    if not 0 < confidence < 1:
        raise ParameterError(f"confidence must be between 0 and 1, got {confidence}")
    params = resolve_params(params)
    if int(min_cell) < 0:
        raise ParameterError(f"min_cell must be >= 0, got {min_cell}")
    scope_periods = package.periods
    if period is not None:
        try:
            period = periods_mod.parse(period, package.frequency)
        except ValueError as exc:
            raise ParameterError(str(exc)) from None
        if period not in package.periods:
            raise ParameterError(f"period {period} is outside the package's data ({_span(package.periods)})")
        scope_periods = [period]
    closure = package.region_closure()
    if region is not None:
        if region not in set(package.regions["region_id"]):
            raise ParameterError(f"region {region!r} is not in the package's regions table")
        closure = closure[closure["ancestor"].isin(package.descendants(region))]

    ctx = Context(package, scope_periods, params, design or design_of(package), closure, by, confidence)
    rows, pairs, skipped, chosen, finished_ratios = [], [], {}, {}, {}
    try:
        for ind in selected:
            reason = _missing(package, ind)
            if reason:
                skipped[ind.id] = reason
                continue
            try:
                chosen[ind.id] = REGISTRY[ind.id](ctx)
            except Unavailable as exc:
                skipped[ind.id] = str(exc)
        # ratio statistics share one stacked engine table: one grouped query per grouping
        batched = ratio_statistics({i: s for i, s in chosen.items() if isinstance(s, RatioStatistic)}, ctx)
        cells = population(ctx) if chosen else None
        partial = ctx.incomplete_periods() if chosen else []
        empty = set() if cells is None else set(
            cells.loc[(cells["group_by"] == OVERALL) & (cells["households"] == 0), "region"])
        for ind in selected:
            if ind.id not in chosen:
                continue
            statistic = chosen[ind.id]
            grid = _grid(ind, cells if statistic.household_groups else cells[cells["group_by"] == OVERALL], ctx)
            sums = batched[ind.id] if ind.id in batched else statistic.statistics(ctx)
            finished = statistic.finish(sums, grid, ctx)
            if statistic.household_groups and empty:
                finished = _blank_empty_regions(finished, empty)
            finished["incomplete"] = (finished["n_censored"] > 0) | finished["period"].isin(partial)
            rows.append(_label(finished, ind, int(min_cell)))
            if ind.id in batched:
                finished_ratios[ind.id] = (sums, finished)
            else:
                cov = statistic.covariances(sums, finished, ctx)
                if not cov.empty:
                    pairs.append(_label(cov, ind))
        for ind_id, cov in ratio_covariances(finished_ratios, ctx).items():
            if not cov.empty:
                pairs.append(_label(cov, catalogue[ind_id]))
    finally:
        ctx.close()
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=COLUMNS)
    # primary and complementary suppression, on a fixed row order: its ties are broken by
    # order, and two runs on the same data must suppress the same cells
    table = protect(_order(table, by, selected), closure, int(min_cell))
    covariances = pd.concat(pairs, ignore_index=True) if pairs else None
    results = IndicatorResults(table, skipped, int(min_cell), covariances=covariances,
                               design=ctx.design, confidence=confidence)
    results.provenance = provenance.record(  # what these numbers were computed from
        package, params, min_cell=int(min_cell), confidence=confidence, by=by,
        scope={"family": family, "indicators": indicators, "region": region, "period": period})
    results.provenance["design"] = ctx.design.describe()
    return results


def _grid(ind: Indicator, cells: pd.DataFrame, ctx) -> pd.DataFrame:
    """Every cell an indicator reports: region, group and keys, whether or not it has data."""
    keys = {"period": ctx.periods}
    if ind.per_service_type:
        keys["service_type"] = list(SERVICE_TYPES)
    grid = cells.drop(columns="households")
    for key, values in keys.items():
        grid = grid.merge(pd.DataFrame({key: values}), how="cross")
    return grid


def _blank_empty_regions(finished: pd.DataFrame, empty: set[str]) -> pd.DataFrame:
    """Rows of regions without any household: counts 0, value, se, df and interval NaN,
    and the note saying so (a household-level statistic has nothing to count there)."""
    mask = finished["region"].isin(empty)
    if not mask.any():
        return finished
    finished = finished.copy()
    finished.loc[mask, ["numerator", "denominator"]] = 0.0
    finished.loc[mask, [c for c in ("n", "m", "n_excluded", "n_censored") if c in finished.columns]] = 0
    for column in ("value", "se", "df", "ci_low", "ci_high"):
        finished[column] = finished[column].astype("float64")
        finished.loc[mask, column] = float("nan")
    finished.loc[mask, "note"] = EMPTY_REGION_NOTE
    return finished


def _label(frame: pd.DataFrame, ind: Indicator, min_cell: int | None = None) -> pd.DataFrame:
    """Name the indicator on each row; flag small cells; service type blank where it does not apply.

    Keeps ``m`` (the unweighted numerator count of count-based rates, NaN elsewhere) for
    :func:`~evalkit.results.disclosure.protect`; :class:`IndicatorResults` drops it."""
    frame = frame.assign(indicator=ind.id, family=ind.family)
    if not ind.per_service_type:
        frame["service_type"] = ""
    if min_cell is None:
        return frame[["indicator", *PAIR, "cov"]]
    frame["suppressed"] = frame["n"] < min_cell
    if "m" not in frame.columns:
        frame["m"] = float("nan")
    return frame[[*COLUMNS, "m"]]


def _order(table: pd.DataFrame, by, selected) -> pd.DataFrame:
    rank = {
        "indicator": {i.id: k for k, i in enumerate(selected)},
        "service_type": {s: k for k, s in enumerate(["", *SERVICE_TYPES])},
        "group_by": {g: k for k, g in enumerate(["", *by])},
    }
    keys = ["indicator", "service_type", "region", "period", "group_by", "group"]
    sort = table.assign(**{f"_{c}": table[c].map(m) for c, m in rank.items()})
    sort = sort.sort_values([f"_{c}" if c in rank else c for c in keys], kind="stable")
    return sort.drop(columns=[f"_{c}" for c in rank]).reset_index(drop=True)


def _select(catalogue, indicators, family) -> list[Indicator]:
    chosen = list(catalogue) if family is None else catalogue.family(family)
    if indicators is not None:
        unknown = [i for i in indicators if i not in catalogue]
        if unknown:
            raise ParameterError(f"unknown indicator(s) {', '.join(unknown)}; see `evalkit catalogue`")
        chosen = [i for i in chosen if i.id in set(indicators)]
    return [i for i in chosen if i.id in REGISTRY]


def check_by(by) -> list[str]:
    """Household columns to break down by (a list or a comma-separated string), checked, without repeats."""
    if isinstance(by, str):
        by = [b for b in by.split(",") if b]
    bad = [b for b in by if b not in GROUPS and not is_intersection(b)]
    if bad:
        raise ParameterError(f"cannot group by {', '.join(bad)}; household columns to group by: {', '.join(GROUP_COLUMNS)};"
                         f" derived groups: {', '.join(DERIVED_GROUPS)}; intersections of two: a*b (hukou*urban)")
    for b in filter(is_intersection, by):
        parts = intersection_parts(b)
        if len(parts) != 2 or parts[0] == parts[1] or any(p not in GROUPS for p in parts):
            raise ParameterError(f"cannot group by {b}: an intersection crosses two different groupings, "
                                 f"as hukou*urban")
        relative = [p for p in parts if is_region_relative(p)]
        if relative:
            raise ParameterError(f"cannot group by {b}: {relative[0]} is recomputed per region and cannot be crossed")
    return list(dict.fromkeys(by))


def _missing(package: DataPackage, ind: Indicator) -> str:
    """Why an indicator cannot be computed on this package ('' when it can)."""
    absent = [t for t in ind.tables if not package.has(t)]
    if absent:
        return f"needs the {', '.join(absent)} table(s), which the package does not have"
    empty = [c for c in ind.columns if not package.has_values(*c.split("."))]
    if empty:
        return f"needs values in {', '.join(empty)}, which are all empty"
    if not package.periods:
        return "the package has no dated records, so no period to report"
    return ""


def _span(labels: list[str]) -> str:
    return f"{labels[0]} to {labels[-1]}" if labels else "no dated records"
