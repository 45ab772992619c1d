"""Impact of the linkage reform: staggered difference-in-differences and event studies.

Regions adopt the linkage reform in different periods (``regions.reform_period``). With
staggered adoption the two-way fixed-effects regression of the outcome on a post-reform
dummy is biased when effects change with time since adoption: it uses already-treated
regions as controls and can put negative weights on some effects (Goodman-Bacon 2021,
"Difference-in-differences with variation in treatment timing", Journal of Econometrics
225(2); de Chaisemartin & D'Haultfoeuille 2020, "Two-way fixed effects estimators with
heterogeneous treatment effects", American Economic Review 110(9)). The recommended
headline is therefore Callaway & Sant'Anna (2021) with the ``group`` aggregation (each
adoption cohort's average effect, averaged over cohorts by size); Sun & Abraham (2021) is
the regression-based alternative; ``twfe`` is kept for comparison. The statistics are in
:mod:`evalkit.methods.did`.

Standard errors are cluster-robust by unit (or ``cluster``), analytical from influence
functions; with few clusters (a city's districts, fewer than about 30) use
``bootstrap="wild"``: an unrestricted wild cluster bootstrap on the cluster influence
values, with Rademacher weights, or Webb's six-point weights below 12 clusters. Every
result states ``n_clusters``.

Conventions. Callaway-Sant'Anna: analytical SE ``sqrt(sum psi^2)`` over units as R
``did`` (factor G/(G-1) only for coarser clusters); on an unbalanced panel each ATT(g, t)
uses the units observed in both of its periods and is weighted in the ``simple`` and
``dynamic`` aggregations by those units (R ``did`` would first drop every unit with a
gap; on a balanced panel the two agree). Two-way FE and Sun-Abraham: cluster-robust
variance with ``G/(G-1) (N-1)/(N-K)``, K the coefficients not absorbed (the unit effects
are nested in the clusters, as in fixest and reghdfe); statsmodels OLS with dummies counts
them all, so its SE is larger by ``sqrt((N-1)/(N-K_all))``. Sun-Abraham's cohort-share
weights are taken as known (as fixest's ``aggregate``). Intervals are normal.
Covariates and observation weights are not supported yet.

>>> from evalkit import impact
>>> panel = impact.simulate_panel(n_units=40, n_periods=6, effect="growing", seed=1)
>>> res = impact.att(panel, "y", "unit", "period", "first_treated")
>>> res.method, res.aggregation, res.n_clusters
('callaway_santanna', 'group', 40)
>>> bool(res.ci_low < panel.attrs["truth"]["group"] < res.ci_high)
True
"""
from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from evalkit.errors import ParameterError
from evalkit.methods import did
from evalkit.methods.did import simulate_panel

__all__ = ["ATTResult", "att", "event_study", "panel_from_results", "placebo", "plot_event_study", "reform_effects",
           "simulate_panel", "write_table"]

METHODS = ("callaway_santanna", "twfe", "sun_abraham")
AGGREGATIONS = ("group", "simple", "dynamic")
CONTROLS = {"callaway_santanna": ("never_treated", "not_yet_treated"),
            "sun_abraham": ("never_treated", "last_treated"),
            "twfe": ("never_treated", "not_yet_treated", "all")}
TIDY = ["method", "aggregation", "control", "estimate", "se", "ci_low", "ci_high", "n_units", "n_clusters",
        "n_dropped_always_treated", "inference"]


@dataclass
class ATTResult:
    """An average treatment effect on the treated, with the parts it was built from.

    ``group_time``: ATT(g, t) cells (Callaway-Sant'Anna) or CATT(g, e) cells (Sun-Abraham),
    periods as given; ``parts``: the per-cohort (``group``) or per-event-time (``dynamic``)
    effects behind the overall estimate; ``model``: the fitted statsmodels model (two-way
    FE on the demeaned data) where there is one.
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    n_units: int
    n_clusters: int
    method: str
    aggregation: str
    control: str
    alpha: float = 0.05
    inference: str = "analytical"
    n_dropped_always_treated: int = 0
    n_treated_after_panel: int = 0
    group_time: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    parts: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    model: object = field(default=None, repr=False)

    def to_frame(self) -> pd.DataFrame:
        """One tidy row."""
        return pd.DataFrame([{k: getattr(self, k) for k in TIDY}])


# -- parameters and periods -------------------------------------------------------------

_LABELS = [("quarter", re.compile(r"^(\d{4})-?Q([1-4])$")), ("month", re.compile(r"^(\d{4})-(\d{1,2})$")),
           ("year", re.compile(r"^(\d{4})$"))]


def period_index(values: pd.Series) -> tuple[pd.Series, str | None]:
    """Periods as integers: numbers as they are; evalkit labels ("2023Q3", "2023-07",
    "2023") as consecutive integers (year*4 + quarter - 1, year*12 + month - 1, year).
    Blank and missing stay NaN.

    >>> period_index(pd.Series(["2023Q4", "2024Q1", None]))[0].diff().tolist()[1]
    1.0
    """
    if pd.api.types.is_numeric_dtype(values):
        return values.astype(float), None
    text = values.astype("string").str.strip().str.upper().replace("", pd.NA)
    present = text.dropna().unique()
    if len(present) == 0:
        return pd.Series(np.nan, index=values.index), None
    for kind, rx in _LABELS:
        if all(rx.match(v) for v in present):
            parts = text.str.extract(rx.pattern).astype(float)
            if kind == "year":
                return parts[0], kind
            if kind == "month" and not parts[1].dropna().between(1, 12).all():
                break
            return parts[0] * (4 if kind == "quarter" else 12) + parts[1] - 1, kind
    try:
        return pd.to_numeric(text).astype(float), None
    except (ValueError, TypeError):
        raise ParameterError(f"periods must be numbers or period labels like 2023Q3, 2023-07 or 2023; got e.g. "
                             f"{present[0]!r}") from None


def _choice(name, value, allowed):
    if value not in allowed:
        raise ParameterError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _prepare(panel, outcome, unit, period, first_treated, cluster):
    if not isinstance(panel, pd.DataFrame):
        raise ParameterError("panel must be a pandas DataFrame")
    for col in (outcome, unit, period, first_treated) + ((cluster,) if cluster else ()):
        if col not in panel.columns:
            raise ParameterError(f"panel has no column {col!r}")
    frame = panel[[c for c in dict.fromkeys([unit, period, first_treated, outcome] + ([cluster] if cluster else []))]]
    p, kind_p = period_index(frame[period])
    g, kind_g = period_index(frame[first_treated])
    if kind_g and kind_g != kind_p:
        raise ParameterError(f"{first_treated} is in {kind_g}s but {period} in {kind_p or 'numbers'}")
    if p.isna().any():
        raise ParameterError(f"{period} has missing values")
    frame = frame.assign(**{"_p": p, "_g": g, "_y": pd.to_numeric(frame[outcome], errors="coerce")})
    try:
        prep = did.prepare(frame, "_y", unit, "_p", "_g", cluster)
    except ValueError as exc:
        raise ParameterError(str(exc)) from None
    labels = frame.drop_duplicates("_p").set_index("_p")[period].sort_index()
    prep.periods = labels.reindex(prep.periods).to_numpy()
    if (prep.cohort == did.NEVER).all():
        raise ParameterError("no unit adopts within the panel: nothing to estimate")
    if prep.n_clusters < 2:
        raise ParameterError("at least two clusters are needed")
    return prep


def _label(prep, pos):
    pos = np.asarray(pos, dtype=int)
    return prep.periods[pos]


def _finish(estimate, infl, prep, method, aggregation, control, alpha, bootstrap, seed, **extra) -> ATTResult:
    se = float(infl.se()[0])
    low, high = did.normal_ci(estimate, se, alpha)
    inference = "analytical"
    if bootstrap == "wild":
        b = did.wild_bootstrap(estimate, infl, alpha, seed=seed)
        se, low, high = b["se"], b["ci_low"], b["ci_high"]
        inference = f"wild cluster bootstrap ({b['weights']}, {b['draws']} draws)"
    return ATTResult(estimate=float(estimate), se=float(se), ci_low=float(low), ci_high=float(high),
                     n_units=prep.n, n_clusters=prep.n_clusters, method=method, aggregation=aggregation,
                     control=control, alpha=alpha, inference=inference,
                     n_dropped_always_treated=prep.n_dropped_always_treated,
                     n_treated_after_panel=prep.n_treated_after_panel, **extra)


def _cs_infl(psi, prep):
    """Cluster influence for Callaway-Sant'Anna: unit clusters as R ``did`` (no factor);
    coarser clusters with the G/(G-1) factor."""
    G = prep.n_clusters
    return did.Influence(did.cluster_sums(psi, prep), 1.0 if prep.cluster_is_unit else G / (G - 1))


def _with_ci(frame, alpha):
    low, high = did.normal_ci(frame["estimate"], frame["se"], alpha)
    return frame.assign(ci_low=low, ci_high=high)


# -- the estimators ---------------------------------------------------------------------


def att(panel: pd.DataFrame, outcome: str, unit: str, period: str, first_treated: str,
        method: str = "callaway_santanna", control: str = "never_treated", aggregation: str = "group",
        cluster: str | None = None, estimation: str = "dr", covariates=None, alpha: float = 0.05,
        bootstrap: str | None = None, seed: int = 0) -> ATTResult:
    """Average effect of adopting a treatment in staggered periods.

    Parameters
    ----------
    panel : long table, one row per unit and period (unbalanced allowed).
    first_treated : the adoption period, in the units of ``period``; NaN or blank: never
        treated (0 is a period). Periods may be numbers or evalkit labels (2023Q3,
        2023-07, 2023). Units treated from the first observed period are dropped
        (``n_dropped_always_treated``); units adopting after the last period count as
        never treated (``n_treated_after_panel``).
    method : ``callaway_santanna`` (recommended), ``sun_abraham`` or ``twfe`` (static,
        biased when effects grow with time since adoption; ``aggregation`` does not apply
        and is reported as ``static``; all units serve as controls).
    control : ``never_treated`` or ``not_yet_treated`` (Callaway-Sant'Anna);
        ``never_treated`` or ``last_treated`` (Sun-Abraham).
    aggregation : ``group`` (cohort averages weighted by cohort size), ``simple``
        (treated unit-periods) or ``dynamic`` (mean of the post event-time effects).
    estimation : ``dr`` or ``reg``; without covariates both are the same 2x2 differences.
    covariates : not supported yet (None).
    bootstrap : None (analytical) or ``wild`` (wild cluster bootstrap, 999 draws, ``seed``).

    >>> panel = simulate_panel(n_units=30, n_periods=5, seed=3)
    >>> r = att(panel, "y", "unit", "period", "first_treated", method="twfe")
    >>> r.to_frame()[["method", "aggregation"]].iloc[0].tolist(), r.n_clusters
    (['twfe', 'static'], 30)
    """
    _choice("method", method, METHODS)
    _choice("control", control, CONTROLS[method])
    _choice("aggregation", aggregation, AGGREGATIONS)
    _choice("estimation", estimation, ("dr", "reg"))
    if bootstrap not in (None, "wild"):
        raise ParameterError(f"bootstrap must be None or 'wild', got {bootstrap!r}")
    if not 0 < alpha < 1:
        raise ParameterError(f"alpha must be between 0 and 1, got {alpha}")
    if covariates:
        raise ParameterError("covariates are not supported yet: estimate without them (covariates=None)")
    prep = _prepare(panel, outcome, unit, period, first_treated, cluster)
    try:
        if method == "callaway_santanna":
            return _att_cs(prep, control, aggregation, alpha, bootstrap, seed)
        if method == "sun_abraham":
            return _att_sa(prep, control, aggregation, alpha, bootstrap, seed)
        return _att_twfe(prep, control, alpha, bootstrap, seed)
    except ValueError as exc:
        if isinstance(exc, ParameterError):
            raise
        raise ParameterError(str(exc)) from None


def _att_cs(prep, control, aggregation, alpha, bootstrap, seed):
    cells = did.cs_group_time(prep, control)
    agg = did.cs_aggregate(cells, prep, aggregation)
    gt = cells.table.copy()
    gt = _with_ci(gt, alpha)
    gt["g"], gt["t"] = _label(prep, gt["g"]), _label(prep, gt["t"])
    gt = gt.drop(columns="base")
    key = "g" if aggregation == "group" else "event_time"
    parts = pd.DataFrame([(k if aggregation != "group" else _label(prep, [k])[0], th,
                           float(_cs_infl(ps, prep).se()[0])) for k, th, ps in agg["parts"]],
                         columns=[key, "estimate", "se"])
    if len(parts):
        parts = _with_ci(parts, alpha)
    return _finish(agg["estimate"], _cs_infl(agg["psi"], prep), prep, "callaway_santanna", aggregation, control,
                   alpha, bootstrap, seed, group_time=gt, parts=parts)


def _sa_infl(fit, w):
    return did.Influence(fit.infl.psi @ w, fit.infl.factor)


def _att_sa(prep, control, aggregation, alpha, bootstrap, seed):
    fit = did.sun_abraham_cells(prep, control)
    w, parts_w = did.sa_weights(fit, aggregation)
    gt = fit.cells.copy()
    gt["se"] = fit.infl.se()
    gt = _with_ci(gt, alpha)
    gt["g"], gt["t"] = _label(prep, gt["g"]), _label(prep, gt["t"])
    est = float(w @ fit.cells["estimate"].to_numpy())
    key = "g" if aggregation == "group" else "event_time"
    parts = pd.DataFrame([(k if aggregation != "group" else _label(prep, [k])[0],
                           float(wk @ fit.cells["estimate"].to_numpy()), float(_sa_infl(fit, wk).se()[0]))
                          for k, wk in parts_w], columns=[key, "estimate", "se"])
    if len(parts):
        parts = _with_ci(parts, alpha)
    return _finish(est, _sa_infl(fit, w), prep, "sun_abraham", aggregation, control, alpha, bootstrap, seed,
                   group_time=gt, parts=parts)


def _att_twfe(prep, control, alpha, bootstrap, seed):
    import statsmodels.api as sm

    fit, r, c = did.twfe(prep)
    model = sm.OLS(fit.yd, pd.DataFrame({"treated_post": fit.Xd[:, 0]})).fit(
        cov_type="cluster", cov_kwds={"groups": prep.cluster[r]})
    return _finish(float(fit.coef[0]), did.Influence(fit.infl.psi[:, 0], fit.infl.factor), prep, "twfe", "static",
                   control, alpha, bootstrap, seed, model=model)


def event_study(panel: pd.DataFrame, outcome: str, unit: str, period: str, first_treated: str,
                method: str = "callaway_santanna", window: tuple[int, int] = (-4, 4), control: str = "never_treated",
                cluster: str | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """Effects by event time (periods since adoption) within ``window``, base period -1.

    Callaway-Sant'Anna uses a universal base period (every cell compared with the period
    before adoption), so the row ``event_time = -1`` is 0 by construction (se 0); Sun-
    Abraham omits the same interaction; two-way FE bins event times beyond the window
    into its end points. ``attrs["pretrend"]``: the joint Wald test that every pre-period
    effect in the window (event times -2 and earlier) is zero: statistic (Wald W), df (q),
    df_denominator (clusters - 1) and p_value from W/q ~ F(q, G-1).

    >>> panel = simulate_panel(n_units=40, n_periods=6, seed=2)
    >>> es = event_study(panel, "y", "unit", "period", "first_treated", window=(-3, 2))
    >>> es["event_time"].tolist(), float(es.loc[es["event_time"] == -1, "estimate"].iloc[0])
    ([-3, -2, -1, 0, 1, 2], 0.0)
    >>> sorted(es.attrs["pretrend"])
    ['df', 'df_denominator', 'p_value', 'statistic']
    """
    _choice("method", method, METHODS)
    _choice("control", control, CONTROLS[method])
    lo, hi = (int(w) for w in window)
    if not lo <= -1 <= hi:
        raise ParameterError(f"window must include -1 (the base period), got {window}")
    prep = _prepare(panel, outcome, unit, period, first_treated, cluster)
    try:
        if method == "callaway_santanna":
            frame, psi = did.cs_event_study(prep, control, lo, hi)
            infl = _cs_infl(psi, prep)
        elif method == "twfe":
            frame, infl = did.twfe_event_study(prep, lo, hi)
        else:
            fit = did.sun_abraham_cells(prep, control)
            _, parts = did.sa_weights(fit, "dynamic")
            parts = [(e, w) for e, w in parts if lo <= e <= hi and e != -1]
            W = np.column_stack([w for _, w in parts]) if parts else np.zeros((len(fit.cells), 0))
            frame = pd.DataFrame({"event_time": [e for e, _ in parts], "estimate": fit.cells["estimate"].to_numpy() @ W})
            infl = did.Influence(fit.infl.psi @ W, fit.infl.factor)
    except ValueError as exc:
        raise ParameterError(str(exc)) from None
    V = infl.vcov()
    frame["se"] = np.sqrt(np.diag(V)) if len(frame) else []
    pre = (frame["event_time"] <= -2).to_numpy()
    test = did.wald(frame["estimate"].to_numpy()[pre], V[np.ix_(pre, pre)], prep.n_clusters)
    frame = pd.concat([frame, pd.DataFrame({"event_time": [-1], "estimate": [0.0], "se": [0.0]})])
    frame = _with_ci(frame.sort_values("event_time").reset_index(drop=True), alpha)
    frame["event_time"] = frame["event_time"].astype(int)
    frame.attrs.update(pretrend=test, method=method, control=control, n_units=prep.n, n_clusters=prep.n_clusters,
                       alpha=alpha)
    return frame


def placebo(panel: pd.DataFrame, outcome: str, unit: str, period: str, first_treated: str, draws: int = 200,
            seed: int = 0, **kwargs) -> pd.DataFrame:
    """Placebo distribution: adoption periods (never included) reshuffled across units.

    Each draw permutes the units' ``first_treated`` values and re-estimates with
    :func:`att` (same ``kwargs``). Returns one row per draw (``draw, estimate, se``);
    ``attrs``: the actual estimate and the permutation p-value (share of draws at least
    as far from zero).

    >>> panel = simulate_panel(n_units=30, n_periods=5, seed=4)
    >>> pl = placebo(panel, "y", "unit", "period", "first_treated", draws=5)
    >>> len(pl), sorted(pl.attrs)
    (5, ['estimate', 'p_value'])
    """
    if int(draws) < 1:
        raise ParameterError(f"draws must be at least 1, got {draws}")
    actual = att(panel, outcome, unit, period, first_treated, **kwargs)
    rng = np.random.default_rng(seed)
    first = panel.groupby(unit, sort=True)[first_treated].first()
    rows = []
    for k in range(int(draws)):
        shuffled = pd.Series(rng.permutation(first.to_numpy()), index=first.index)
        fake = panel.assign(**{first_treated: panel[unit].map(shuffled)})
        try:
            r = att(fake, outcome, unit, period, first_treated, **kwargs)
            rows.append((k, r.estimate, r.se))
        except ParameterError:
            rows.append((k, np.nan, np.nan))
    out = pd.DataFrame(rows, columns=["draw", "estimate", "se"])
    est = out["estimate"].dropna()
    out.attrs.update(estimate=actual.estimate,
                     p_value=float((np.abs(est) >= abs(actual.estimate)).mean()) if len(est) else np.nan)
    return out


def plot_event_study(frame: pd.DataFrame, ax=None, label: str | None = None, color=None):
    """Event-study estimates with their confidence intervals; dashed zero line and a dotted
    line between -1 and 0 (adoption). Returns the matplotlib axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    x = frame["event_time"].to_numpy(float)
    ax.errorbar(x, frame["estimate"], yerr=[frame["estimate"] - frame["ci_low"], frame["ci_high"] - frame["estimate"]],
                fmt="o", capsize=3, label=label or frame.attrs.get("method"), color=color)
    ax.axhline(0, color="grey", linestyle="--", linewidth=0.8)
    ax.axvline(-0.5, color="grey", linestyle=":", linewidth=0.8)
    ax.set_xlabel("periods since adoption")
    ax.set_ylabel("effect")
    return ax


# -- from indicator results -------------------------------------------------------------


def panel_from_results(results, regions: pd.DataFrame, indicator: str, service_type: str = "") -> pd.DataFrame:
    """Region x period panel of one indicator, for :func:`att`.

    Keeps the overall rows (no grouping; ``service_type`` "" for the indicator over all
    service types) of the regions at the level that carries reform periods (counties),
    with a value. Columns: region, period, value, n, first_treated (the region's
    ``reform_period``, NaN if none), parent_id (e.g. for clustering by city).
    """
    rows = results.overall(indicator)
    if rows.empty:
        raise ParameterError(f"results hold no overall rows for {indicator!r}")
    if "service_type" in rows.columns:
        rows = rows[rows["service_type"] == service_type]
    reg = regions.copy()
    reform = reg["reform_period"].astype("string").str.strip().replace("", pd.NA)
    levels = reg.loc[reform.notna(), "level"].unique()
    if len(levels) == 0:
        raise ParameterError("no region has a reform period")
    reg = reg[reg["level"].isin(levels)].assign(first_treated=reform.astype(object).where(reform.notna(), np.nan))
    out = rows.merge(reg[["region_id", "parent_id", "first_treated"]], left_on="region", right_on="region_id")
    out = out[out["value"].notna()]
    return out[["region", "period", "value", "n", "first_treated", "parent_id"]].sort_values(
        ["region", "period"]).reset_index(drop=True)


def write_table(frame: pd.DataFrame, out) -> Path:
    """Write a table (.csv or .parquet) through a temporary file renamed into place."""
    out = Path(out)
    if out.suffix not in (".csv", ".parquet"):
        raise ParameterError(f"--out must end in .csv or .parquet, got {out.name}")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=out.suffix)
    os.close(fd)
    try:
        if out.suffix == ".csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


# -- for reports: the reform's effect on a few headline indicators ------------------------

#: What reports estimate the reform's effect on, in order; the first estimable one is the
#: headline (its event study is kept too). Per-service-type indicators only with an overall row.
REPORT_INDICATORS = ("coordination.processing_days", "coordination.verification_days", "outcomes.need_fulfilment_rate",
                     "access.availability_rate", "outcomes.exit_rate")
#: Estimators shown side by side in reports: the headline first.
REPORT_METHODS = (("callaway_santanna", "never_treated"), ("sun_abraham", "never_treated"), ("twfe", "all"))
#: Below this many clusters intervals come from the wild cluster bootstrap.
FEW_CLUSTERS = 30
REPORT_WINDOW = (-4, 4)


def _adoption(panel: pd.DataFrame) -> dict:
    """Counties, cohorts and never-treated counties of a panel, as :func:`att` will see them."""
    p, _ = period_index(panel["period"])
    g, _ = period_index(panel["first_treated"])
    frame = pd.DataFrame({"region": panel["region"], "g": g})
    first, last = p.min(), p.max()
    per_unit = frame.groupby("region")["g"].first()
    never = per_unit.isna() | (per_unit > last)
    always = ~never & (per_unit <= first)
    treated = ~never & ~always
    return {"n_units": int((~always).sum()), "n_treated": int(treated.sum()), "n_never": int(never.sum()),
            "n_cohorts": int(per_unit[treated].nunique()), "n_always": int(always.sum()),
            "first_period": str(panel.loc[p.idxmin(), "period"]), "last_period": str(panel.loc[p.idxmax(), "period"])}


def reform_effects(results, regions: pd.DataFrame, indicators=REPORT_INDICATORS, min_cell: int = 10, seed: int = 0,
                   window: tuple[int, int] = REPORT_WINDOW) -> dict:
    """The reform's effect on ``indicators`` for a report: aggregates only, JSON-ready.

    On the county x period panel (:func:`panel_from_results`) of each indicator's overall
    values, leaving out cells counting fewer than ``min_cell`` units, and periods incomplete
    in any region (so that the panel stays balanced where the data end):
    Callaway-Sant'Anna (group aggregation, never-treated controls; the headline),
    Sun-Abraham (never-treated controls) and two-way FE side by side, with wild cluster
    bootstrap intervals (``seed``) below :data:`FEW_CLUSTERS` clusters, else analytical; and
    the Callaway-Sant'Anna event study of the first estimable indicator (the headline).
    Indicators not computed, or without an overall row (per service type only), are not
    attempted. An indicator without two adoption cohorts or a never-treated county is listed in
    ``not_estimable`` with the reason (``few_cohorts``, ``no_never_treated``, ``no_data``,
    ``error``). Returns ``{"estimates": [...], "event_study": {...} | None,
    "not_estimable": {indicator: {"reason", ...}}, "headline": id | None, "window": [lo, hi]}``.
    """
    from evalkit.results.indicator_results import COLUMNS, IndicatorResults

    table = results.table if hasattr(results, "table") else results
    overall = table[table["group_by"] == ""]
    # a period incomplete anywhere is left out everywhere (per indicator): dropping single cells would
    # unbalance the panel where the data end, which two-way FE and Sun-Abraham do not absorb
    incomplete = set(map(tuple, overall.loc[overall["incomplete"].astype(bool), ["indicator", "period"]].to_numpy()))
    keep = [(i, p) not in incomplete for i, p in zip(overall["indicator"], overall["period"])]
    usable = overall[np.asarray(keep, dtype=bool) & (pd.to_numeric(overall["n"], errors="coerce") >= min_cell).to_numpy()]
    usable_results = IndicatorResults(usable.reindex(columns=COLUMNS), min_cell=min_cell)
    out = {"estimates": [], "event_study": None, "not_estimable": {}, "headline": None, "window": list(window),
           "min_cell": int(min_cell)}
    has = "reform_period" in regions.columns and len(regions)
    reform = regions["reform_period"].astype("string").str.strip().replace("", pd.NA) if has else None
    if reform is None or reform.isna().all():
        out["not_estimable"] = {i: {"reason": "no_reform"} for i in indicators}
        return out
    computed = set(table.loc[(table["group_by"] == "") & (table["service_type"] == ""), "indicator"])
    for indicator in (i for i in indicators if i in computed):  # absent, or by service type only: not attempted
        try:
            panel = panel_from_results(usable_results, regions, indicator)
        except ParameterError as exc:
            out["not_estimable"][indicator] = {"reason": "no_data", "detail": str(exc)}
            continue
        if panel.empty or panel["region"].nunique() < 2:
            out["not_estimable"][indicator] = {"reason": "no_data", "detail": "fewer than two counties with values"}
            continue
        counts = _adoption(panel)
        if counts["n_never"] == 0:
            out["not_estimable"][indicator] = {"reason": "no_never_treated", **counts}
            continue
        if counts["n_cohorts"] < 2:
            out["not_estimable"][indicator] = {"reason": "few_cohorts", **counts}
            continue
        rows = []
        try:
            for method, control in REPORT_METHODS:
                res = att(panel, "value", "region", "period", "first_treated", method=method, control=control,
                          bootstrap="wild" if counts["n_units"] < FEW_CLUSTERS else None, seed=seed)
                rows.append({"indicator": indicator, **{k: _plain(getattr(res, k)) for k in TIDY},
                             **{k: v for k, v in counts.items() if k != "n_units"}})
        except ParameterError as exc:
            out["not_estimable"][indicator] = {"reason": "error", "detail": str(exc), **counts}
            continue
        out["estimates"] += rows
        if out["headline"] is None:
            out["headline"] = indicator
            try:
                es = event_study(panel, "value", "region", "period", "first_treated", window=window)
                out["event_study"] = {
                    "indicator": indicator, "method": "callaway_santanna", "control": "never_treated",
                    "n_clusters": int(es.attrs["n_clusters"]),
                    "pretrend": {k: _plain(v) for k, v in es.attrs["pretrend"].items()},
                    "rows": [{k: _plain(v) for k, v in r.items()}
                             for r in es[["event_time", "estimate", "se", "ci_low", "ci_high"]].to_dict("records")]}
            except ParameterError:
                pass
    return out


def _plain(value):
    """A JSON scalar: numpy numbers as Python ones, NaN as None."""
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if not np.isfinite(value) else float(value)
    return value
