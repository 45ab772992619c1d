"""Computing indicators on a loaded package.

>>> import evalkit
>>> pkg = evalkit.load("data/demo")                                # doctest: +SKIP
>>> res = evalkit.compute(pkg, family="access", by=["hukou"])      # doctest: +SKIP
>>> res.difference("hukou", reference="local")                     # doctest: +SKIP
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.data import periods as periods_mod
from evalkit.data.package import DataPackage
from evalkit.data.schema import SERVICE_TYPES, TABLES
from evalkit.indicators import REGISTRY, Context
from evalkit.indicators.base import (
    Mean,
    Quantile,
    RegionRate,
    Unavailable,
    population,
    psus_per_stratum,
    statistics,
    uses_design,
)
from evalkit.indicators.catalogue import Indicator, load_catalogue
from evalkit.indicators.groups import DERIVED as DERIVED_GROUPS
from evalkit.indicators.parameters import resolve as resolve_params
from evalkit.methods.survey import design_interval, normal_interval, ratio_variance, wilson
from evalkit.results.indicator_results import COLUMNS, IndicatorResults

# Household columns that make sense as groups (not identifiers, design or coordinates).
NOT_GROUPS = {"household_id", "id_number", "name", "weight", "psu", "lon", "lat", "income_pc", "size", "head_age"}
GROUP_COLUMNS = [c.name for c in TABLES["households"].columns if c.name not in NOT_GROUPS]
# ... and groups derived from them (evalkit.indicators.groups): income quintile, head's age band, type.
GROUPS = [*GROUP_COLUMNS, *DERIVED_GROUPS]


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
) -> IndicatorResults:
    """Compute catalogued indicators per region (and every parent region), period and group.

    Parameters
    ----------
    indicators, family : which indicators (default: every one the package supports).
    by : household columns to break results down by, each on its own, or derived groups
        (``income_quintile``, ``head_age_band``, ``household_type``: :mod:`evalkit.indicators.groups`).
    region : keep this region and the regions below it.
    period : keep this period (a label such as ``2024Q1``).
    min_cell : rows with fewer households than this are flagged ``suppressed``.
    confidence : level of the confidence intervals.
    params : values of the families' declared parameters
        (:data:`evalkit.indicators.parameters.PARAMETERS`: ``nearby_km``,
        ``omission_window_days``, ...); the rest keep their defaults.
    """
    catalogue = load_catalogue()
    selected = _select(catalogue, indicators, family)
    by = _check_by(by)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    params = resolve_params(params)
    if int(min_cell) < 0:
        raise ValueError(f"min_cell must be >= 0, got {min_cell}")
    scope_periods = package.periods
    if period is not None:
        period = periods_mod.parse(period, package.frequency)
        if period not in package.periods:
            raise ValueError(f"period {period} is outside the package's data ({_span(package.periods)})")
        scope_periods = [period]
    closure = package.region_closure()
    if region is not None:
        if region not in set(package.regions["region_id"]):
            raise ValueError(f"region {region!r} is not in the package's regions table")
        closure = closure[closure["ancestor"].isin(package.descendants(region))]

    ctx = Context(package, scope_periods, params)
    rows, skipped = [], {}
    cells = psus = None
    try:
        for ind in selected:
            reason = _missing(package, ind)
            if reason:
                skipped[ind.id] = reason
                continue
            try:
                spec = REGISTRY[ind.id](ctx)
            except Unavailable as exc:
                skipped[ind.id] = str(exc)
                continue
            if cells is None:
                cells = population(ctx, closure, by)
            design = uses_design(spec, ctx)
            if design and psus is None:
                psus = psus_per_stratum(ctx)
            stats = statistics(spec, ctx, closure, by)
            grid = cells[cells["group_by"] == ""] if isinstance(spec, RegionRate) else cells
            if isinstance(spec, Quantile):
                rows.append(_finish_quantile(ind, spec.q, stats, grid, ctx, confidence, int(min_cell)))
            else:
                rows.append(_finish(ind, stats, grid, psus if design else None, isinstance(spec, Mean), ctx,
                                    confidence, int(min_cell)))
    finally:
        ctx.close()
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=COLUMNS)
    return IndicatorResults(_order(table, by, selected), skipped, int(min_cell))


def _grid(ind: Indicator, cells: pd.DataFrame, ctx) -> tuple[pd.DataFrame, list[str]]:
    """Every cell an indicator reports: region, group and keys, whether or not it has data."""
    keys = {"period": ctx.periods}
    if ind.per_service_type:
        keys["service_type"] = list(SERVICE_TYPES)
    grid = cells.drop(columns="households")
    for key, values in keys.items():
        grid = grid.merge(pd.DataFrame({key: values}), how="cross")
    return grid, ["region", "group_by", "group", *keys]


def _finish(ind: Indicator, stats, cells, psus, is_mean, ctx, confidence, min_cell) -> pd.DataFrame:
    """Sufficient statistics to tidy rows, on the full grid of cells (empty ones get NaN).

    ``psus`` (PSUs per stratum) is given when intervals come from the linearised variance.
    """
    grid, cell = _grid(ind, cells, ctx)
    # a statistic without a key (e.g. service points, undated) holds for every value of it
    present = [c for c in cell if c in stats.columns]
    if psus is not None:
        per_cell = ratio_variance(stats, psus, present)
        per_cell = per_cell.merge(stats.groupby(present, dropna=False)["n"].sum().reset_index(), on=present)
    else:
        per_cell = stats.rename(columns={"SX": "X", "SY": "Y"})
    out = grid.merge(per_cell, on=present, how="left")
    out["n"] = out["n"].fillna(0).astype("int64")
    out["denominator"] = out["X"].fillna(0.0)
    out["numerator"] = out["Y"].fillna(0.0)
    defined = out["denominator"] > 0
    out["value"] = np.where(defined, out["numerator"] / out["denominator"].where(defined), np.nan)
    if is_mean:
        out["ci_low"], out["ci_high"] = normal_interval(out["value"], out["variance"], confidence)
    elif psus is not None:
        out["ci_low"], out["ci_high"] = design_interval(out["value"], out["variance"], out["n"], confidence)
    else:
        out["ci_low"], out["ci_high"] = wilson(out["numerator"], out["denominator"], confidence)
    out["suppressed"] = out["n"] < min_cell
    out["note"] = np.where(defined, "", "no household in the denominator")
    out["indicator"] = ind.id
    out["family"] = ind.family
    if not ind.per_service_type:
        out["service_type"] = ""
    return out[COLUMNS]


def _finish_quantile(ind: Indicator, q: float, stats, cells, ctx, confidence, min_cell) -> pd.DataFrame:
    """Kaplan-Meier quantile of days per cell from counts per (days, event).

    ``numerator`` is the number of events, ``denominator`` and ``n`` the number of units
    (events and censored); the value is NaN when the survival curve never falls to 1 - q.
    """
    from statsmodels.duration.survfunc import SurvfuncRight

    grid, cell = _grid(ind, cells, ctx)
    found = []
    for key, group in stats.groupby(cell, sort=False):
        counts = group["count"].to_numpy(int)
        days = np.repeat(group["days"].to_numpy(float), counts)
        event = np.repeat(group["event"].to_numpy(bool).astype(float), counts)
        value = low = high = np.nan
        if event.any():
            with np.errstate(divide="ignore", invalid="ignore"):  # log(0) at the curve's ends
                fit = SurvfuncRight(days, event)
                value = float(fit.quantile(q))
                low, high = (float(v) for v in fit.quantile_ci(q, alpha=1 - confidence))
            if np.isnan(low) and np.isnan(high) and not np.isnan(value):
                # no day's survival is compatible with 1 - q: the curve jumps across it
                # at the estimate, so the interval collapses onto that day
                low = high = value
        found.append((*key, value, float(event.sum()), float(len(days)), low, high))
    columns = [*cell, "value", "numerator", "denominator", "ci_low", "ci_high"]
    out = grid.merge(pd.DataFrame(found, columns=columns), on=cell, how="left")
    out["numerator"] = out["numerator"].fillna(0.0)
    out["denominator"] = out["denominator"].fillna(0.0)
    out["n"] = out["denominator"].astype("int64")
    out["suppressed"] = out["n"] < min_cell
    out["note"] = np.select(
        [out["denominator"] == 0, out["value"].isna()],
        ["no record in the denominator", f"fewer than {q:.0%} of records reached the event (censored)"], "")
    out["indicator"] = ind.id
    out["family"] = ind.family
    if not ind.per_service_type:
        out["service_type"] = ""
    return out[COLUMNS]


def _order(table: pd.DataFrame, by, selected) -> pd.DataFrame:
    rank = {
        "indicator": {i.id: k for k, i in enumerate(selected)},
        "service_type": {s: k for k, s in enumerate(["", *SERVICE_TYPES])},
        "group_by": {g: k for k, g in enumerate(["", *by])},
    }
    keys = ["indicator", "service_type", "region", "period", "group_by", "group"]
    sort = table.assign(**{f"_{c}": table[c].map(m) for c, m in rank.items()})
    sort = sort.sort_values([f"_{c}" if c in rank else c for c in keys], kind="stable")
    return sort[COLUMNS].reset_index(drop=True)


def _select(catalogue, indicators, family) -> list[Indicator]:
    chosen = list(catalogue) if family is None else catalogue.family(family)
    if indicators is not None:
        unknown = [i for i in indicators if i not in catalogue]
        if unknown:
            raise ValueError(f"unknown indicator(s) {', '.join(unknown)}; see `evalkit catalogue`")
        chosen = [i for i in chosen if i.id in set(indicators)]
    return [i for i in chosen if i.id in REGISTRY]


def _check_by(by) -> list[str]:
    if isinstance(by, str):
        by = [b for b in by.split(",") if b]
    bad = [b for b in by if b not in GROUPS]
    if bad:
        raise ValueError(f"cannot group by {', '.join(bad)}; household columns to group by: {', '.join(GROUP_COLUMNS)};"
                         f" derived groups: {', '.join(DERIVED_GROUPS)}")
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
