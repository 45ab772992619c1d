"""Staggered difference-in-differences: the statistics behind :mod:`evalkit.impact`.

Pure functions on numpy, pandas and statsmodels; no evalkit data imports. Units adopt a
treatment in different periods (cohort ``g`` = first treated period); never-treated units
have no cohort. Everything works on a *prepared* panel (:func:`prepare`): a units x periods
outcome matrix (NaN where a unit was not observed), each unit's cohort as a period
*position*, and each unit's cluster.

Estimators
----------
- :func:`callaway_santanna` — group-time ATT(g, t) (Callaway & Sant'Anna 2021, "Difference-in-
  Differences with multiple time periods", Journal of Econometrics 225(2)) without
  covariates: each cell is a 2x2 difference of mean changes between cohort ``g`` and its
  controls (never treated, or not yet treated at ``max(t, base)``), on the units observed
  in both periods of the cell. Outcome regression and doubly robust estimation reduce to
  this when there are no covariates. Influence functions per unit give analytical
  standard errors; aggregations add the estimated-weights term (R ``did::aggte``).
- :func:`fe_ols` / :func:`twfe` — two-way fixed effects by alternating projections (one
  sweep on a balanced panel), cluster-robust variance.
- :func:`sun_abraham` — interaction-weighted estimator (Sun & Abraham 2021, "Estimating
  dynamic treatment effects in event studies with heterogeneous treatment effects",
  Journal of Econometrics 225(2)): the two-way FE regression saturated in cohort x
  event-time interactions, with never-treated (or last-treated) units as control;
  cohort-specific effects CATT(g, e) then averaged with cohort shares.

Every estimate comes with per-cluster influence values ``psi`` (estimate - truth ~
sum of psi), from which the analytical variance and the wild cluster bootstrap follow.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

NEVER = np.iinfo(np.int64).max // 4  # cohort position of never-treated units


@dataclass
class Prepared:
    """A panel as a units x periods matrix; periods are positions 0..T-1."""

    Y: np.ndarray  # (n, T) outcomes, NaN where unobserved
    cohort: np.ndarray  # (n,) int: position of the first treated period, NEVER if never treated
    cluster: np.ndarray  # (n,) int codes 0..G-1
    units: np.ndarray  # unit ids, in row order
    periods: np.ndarray  # period values (as given to prepare), in column order
    cluster_is_unit: bool = True
    n_dropped_always_treated: int = 0
    n_treated_after_panel: int = 0  # adopted after the last period: counted as never treated

    @property
    def n(self) -> int:
        return self.Y.shape[0]

    @property
    def T(self) -> int:
        return self.Y.shape[1]

    @property
    def n_clusters(self) -> int:
        return int(self.cluster.max()) + 1 if len(self.cluster) else 0

    @property
    def balanced(self) -> bool:
        return not np.isnan(self.Y).any()

    @property
    def cohorts(self) -> np.ndarray:
        return np.unique(self.cohort[self.cohort != NEVER])


def prepare(frame: pd.DataFrame, outcome: str, unit: str, period: str, first_treated: str,
            cluster: str | None = None) -> Prepared:
    """Pivot a long panel to the units x periods matrix.

    ``period`` and ``first_treated`` must be numeric and on the same scale (NaN first
    treated = never treated). Periods become positions among the observed periods, and
    a cohort the position of its first observed period at or after adoption. Units
    treated at or before the first observed period are dropped and counted; units
    adopting after the last observed period are never treated within the panel.
    Duplicate (unit, period) rows are an error.
    """
    frame = frame[frame[outcome].notna()]
    first = frame.groupby(unit, sort=True)[first_treated].agg(["min", "max"])
    if not (first["min"].eq(first["max"]) | first["min"].isna() & first["max"].isna()).all():
        raise ValueError(f"{first_treated} must be constant within each unit")
    periods = np.sort(frame[period].unique())
    g = first["min"].to_numpy(dtype=float)
    pos = np.searchsorted(periods, np.where(np.isnan(g), np.inf, g), side="left").astype(np.int64)
    after = ~np.isnan(g) & (pos >= len(periods))
    always = ~np.isnan(g) & (pos <= 0)
    cohort = np.where(np.isnan(g) | after, NEVER, pos)
    keep_units = first.index[~always]
    frame = frame[frame[unit].isin(keep_units)]
    try:
        wide = frame.pivot(index=unit, columns=period, values=outcome).reindex(index=keep_units, columns=periods)
    except ValueError:  # pandas: "Index contains duplicate entries, cannot reshape"
        raise ValueError(f"the panel has more than one row for some ({unit}, {period}) pairs") from None
    if cluster is None:
        codes = np.arange(len(keep_units))
    else:
        cl = frame.groupby(unit, sort=True)[cluster].agg(["first", "nunique"]).reindex(keep_units)
        if (cl["nunique"] > 1).any():
            raise ValueError(f"cluster {cluster!r} must be constant within each unit")
        codes = pd.factorize(cl["first"])[0]
    return Prepared(Y=wide.to_numpy(dtype=float), cohort=cohort[~always], cluster=codes,
                    units=keep_units.to_numpy(), periods=periods, cluster_is_unit=cluster is None,
                    n_dropped_always_treated=int(always.sum()), n_treated_after_panel=int(after.sum()))


# -- inference from influence values ------------------------------------------------------


def cluster_sums(psi: np.ndarray, prep: Prepared) -> np.ndarray:
    """Per-unit influence values (n,) or (n, k) summed within clusters."""
    if prep.cluster_is_unit:
        return psi
    G = prep.n_clusters
    if psi.ndim == 1:
        return np.bincount(prep.cluster, weights=psi, minlength=G)
    return np.stack([np.bincount(prep.cluster, weights=psi[:, j], minlength=G) for j in range(psi.shape[1])], axis=1)


@dataclass
class Influence:
    """Per-cluster influence values of one or more estimates and the finite-sample factor."""

    psi: np.ndarray  # (G,) or (G, k)
    factor: float = 1.0  # variance multiplier (CR1 G/(G-1) x (N-1)/(N-K), or 1)

    def vcov(self) -> np.ndarray:
        p = self.psi if self.psi.ndim == 2 else self.psi[:, None]
        return self.factor * (p.T @ p)

    def se(self) -> np.ndarray:
        p = self.psi if self.psi.ndim == 2 else self.psi[:, None]
        return np.sqrt(self.factor * (p**2).sum(axis=0))


def normal_ci(estimate, se, alpha: float):
    z = stats.norm.ppf(1 - alpha / 2)
    estimate, se = np.asarray(estimate, float), np.asarray(se, float)
    return estimate - z * se, estimate + z * se


def bootstrap_weights(G: int, draws: int, rng: np.random.Generator, kind: str | None = None) -> np.ndarray:
    """(draws, G) multiplier weights: Rademacher, or Webb's six-point distribution below 12
    clusters (Webb 2014, "Reworking wild bootstrap based inference for clustered errors"),
    where Rademacher has too few distinct draws (2^G)."""
    kind = kind or ("webb" if G < 12 else "rademacher")
    if kind == "rademacher":
        return rng.choice(np.array([-1.0, 1.0]), size=(draws, G))
    if kind == "webb":
        pts = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])
        return rng.choice(pts, size=(draws, G))
    raise ValueError(f"unknown bootstrap weights {kind!r}")


def wild_bootstrap(estimate: float, infl: Influence, alpha: float, draws: int = 999, seed=0) -> dict:
    """Unrestricted wild cluster (multiplier) bootstrap on the cluster influence values.

    Each draw perturbs the estimate by ``sqrt(factor) * sum_c w_c psi_c``. For the
    regression estimators this is exactly the unrestricted wild cluster bootstrap of the
    coefficient (residuals not re-estimated under the null); for Callaway-Sant'Anna it is
    the multiplier bootstrap of R ``did``. The standard error is the bootstrap
    interquartile range over that of the normal (robust to a few extreme draws); the
    interval is symmetric, ``estimate +/- q`` with ``q`` the ``1 - alpha`` quantile of
    ``|draw - estimate|``.
    """
    rng = np.random.default_rng(seed)
    psi = np.asarray(infl.psi, float).reshape(-1)
    w = bootstrap_weights(len(psi), draws, rng)
    dev = np.sqrt(infl.factor) * (w @ psi)
    q75, q25 = np.quantile(dev, [0.75, 0.25])
    se = (q75 - q25) / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
    half = np.quantile(np.abs(dev), 1 - alpha)
    return {"se": float(se), "ci_low": estimate - half, "ci_high": estimate + half,
            "weights": "webb" if len(psi) < 12 else "rademacher", "draws": draws}


def wald(estimate: np.ndarray, vcov: np.ndarray, n_clusters: int | None = None) -> dict:
    """Joint Wald test that every element of ``estimate`` is zero.

    With ``n_clusters`` the p-value is from ``W/q ~ F(q, G-1)`` (the usual small-sample
    version for cluster-robust variances, less liberal than chi-square with few clusters);
    else from ``chi2(q)``. ``statistic`` is ``W`` either way."""
    estimate = np.asarray(estimate, float)
    keep = np.isfinite(estimate)
    b, V = estimate[keep], vcov[np.ix_(keep, keep)]
    if len(b) == 0:
        return {"statistic": np.nan, "df": 0, "p_value": np.nan, "df_denominator": n_clusters - 1 if n_clusters else None}
    stat = float(b @ np.linalg.pinv(V) @ b)
    df = int(np.linalg.matrix_rank(V))
    if not df:
        return {"statistic": stat, "df": 0, "p_value": np.nan}
    if n_clusters and n_clusters > 1:
        return {"statistic": stat, "df": df, "df_denominator": n_clusters - 1,
                "p_value": float(stats.f.sf(stat / df, df, n_clusters - 1))}
    return {"statistic": stat, "df": df, "p_value": float(stats.chi2.sf(stat, df))}


# -- Callaway & Sant'Anna ---------------------------------------------------------------


@dataclass
class GTCells:
    """Group-time cells: effects and the influence values of each cell, as index/value pairs."""

    table: pd.DataFrame  # g, t, e, base, estimate, se, n_treated, n_control (positions)
    treated_idx: list = field(default_factory=list)
    treated_if: list = field(default_factory=list)
    control_idx: list = field(default_factory=list)
    control_if: list = field(default_factory=list)


def cs_group_time(prep: Prepared, control: str = "never_treated", base: str = "varying") -> GTCells:
    """Every ATT(g, t) without covariates.

    Base period: for post cells (t >= g) the last period before ``g``; for pre cells the
    period before ``t`` (``varying``) or before ``g`` (``universal``, the cell at g-1 is
    then 0 by construction and left out). A cell uses the units observed in both of its
    periods; its influence values are ``(dY_i - mean)/n`` for treated units and
    ``-(dY_i - mean)/n`` for controls, so its standard error is ``sqrt(sum psi^2)``.
    Not-yet-treated controls are units whose cohort is after ``max(t, base)``.
    """
    Y, coh = prep.Y, prep.cohort
    rows, out = [], GTCells(table=pd.DataFrame())
    never = coh == NEVER
    observed = ~np.isnan(Y)
    for g in prep.cohorts:
        treated = coh == g
        for t in range(prep.T):
            if t >= g or base == "universal":
                b = g - 1
            else:
                b = t - 1
            if t == b or b < 0:
                continue
            if control == "never_treated":
                ctrl = never
            else:
                ctrl = never | ((coh > max(t, b)) & (coh != g))
            valid = observed[:, t] & observed[:, b]
            tv, cv = np.flatnonzero(treated & valid), np.flatnonzero(ctrl & valid)
            if len(tv) == 0 or len(cv) == 0:
                continue
            dt, dc = Y[tv, t] - Y[tv, b], Y[cv, t] - Y[cv, b]
            mt, mc = dt.mean(), dc.mean()
            it, ic = (dt - mt) / len(tv), -(dc - mc) / len(cv)
            rows.append((g, t, t - g, b, mt - mc, np.sqrt((it**2).sum() + (ic**2).sum()), len(tv), len(cv)))
            out.treated_idx.append(tv)
            out.treated_if.append(it)
            out.control_idx.append(cv)
            out.control_if.append(ic)
    out.table = pd.DataFrame(rows, columns=["g", "t", "e", "base", "estimate", "se", "n_treated", "n_control"])
    return out


def cs_combine(cells: GTCells, prep: Prepared, keep: np.ndarray, weights: np.ndarray,
               with_wif: bool = True) -> tuple[float, np.ndarray]:
    """Weighted average of the kept cells and its per-unit influence values.

    ``with_wif`` adds the influence of the estimated cohort shares (R ``did``'s ``wif``):
    ``(E(c_i)/S - K(c_i) d/S^2)/N`` for a unit of cohort ``c_i``, with ``p_g = n_g/N`` the
    cohort shares, ``S`` their sum over the kept cells, ``d = sum_k p_{g_k} ATT_k``,
    ``E(c)`` the sum and ``K(c)`` the number of kept effects of cohort ``c``.
    """
    tab = cells.table
    idx = np.flatnonzero(keep)
    w = np.asarray(weights, float)
    w = w / w.sum()
    eff = tab["estimate"].to_numpy()[idx]
    estimate = float(w @ eff)
    psi = np.zeros(prep.n)
    for wk, k in zip(w, idx):
        psi[cells.treated_idx[k]] += wk * cells.treated_if[k]
        psi[cells.control_idx[k]] += wk * cells.control_if[k]
    if with_wif:
        N = prep.n
        gs = tab["g"].to_numpy()[idx]
        sizes = pd.Series(prep.cohort).value_counts()
        pg = sizes.reindex(gs).to_numpy(float) / N
        S, d = pg.sum(), pg @ eff
        E = pd.Series(eff).groupby(gs).sum()
        K = pd.Series(np.ones(len(gs))).groupby(gs).sum()
        ci = prep.cohort
        Ei = E.reindex(ci).fillna(0.0).to_numpy()
        Ki = K.reindex(ci).fillna(0.0).to_numpy()
        psi += (Ei / S - Ki * d / S**2) / N
    return estimate, psi


def cs_aggregate(cells: GTCells, prep: Prepared, aggregation: str) -> dict:
    """Overall ATT from the group-time cells (post cells, t >= g), with influence values.

    - ``simple``: post cells weighted by their treated units (R ``did`` "simple").
    - ``group``: each cohort's mean over its post cells, then cohorts weighted by their
      sizes ``n_g`` (R ``did`` "group" overall, the recommended summary).
    - ``dynamic``: per event time ``e`` cells weighted by treated units; overall the
      mean of the post event-time effects (R ``did`` "dynamic" overall).
    Also returns the parts (per cohort or per event time) with their standard errors.
    """
    tab = cells.table
    fin = np.isfinite(tab["estimate"].to_numpy())
    post = (tab["t"] >= tab["g"]).to_numpy() & fin
    if not post.any():
        raise ValueError("no post-treatment cell can be estimated")
    parts = []
    if aggregation == "simple":
        est, psi = cs_combine(cells, prep, post, tab["n_treated"].to_numpy()[post])
    elif aggregation == "group":
        thetas, psis, gs = [], [], []
        for g in np.unique(tab.loc[post, "g"]):
            keep = post & (tab["g"] == g).to_numpy()
            th, ps = cs_combine(cells, prep, keep, np.ones(keep.sum()))
            thetas.append(th)
            psis.append(ps)
            gs.append(g)
        thetas = np.array(thetas)
        sizes = pd.Series(prep.cohort).value_counts().reindex(gs).to_numpy(float)
        pg = sizes / prep.n
        S = pg.sum()
        est = float(pg @ thetas / S)
        psi = np.column_stack(psis) @ (pg / S)
        # estimated cohort shares: the overall is sum_g p_g theta_g / S
        in_g = pd.Series(thetas, index=gs).reindex(prep.cohort).fillna(np.nan).to_numpy()
        treated = np.isfinite(in_g)
        psi[treated] += (in_g[treated] - est) / (S * prep.n)
        for g, th, ps in zip(gs, thetas, psis):
            parts.append((g, th, ps))
    elif aggregation == "dynamic":
        ests, psis = [], []
        for e in np.unique(tab.loc[fin, "e"]):
            keep = fin & (tab["e"] == e).to_numpy()
            th, ps = cs_combine(cells, prep, keep, tab["n_treated"].to_numpy()[keep])
            parts.append((e, th, ps))
            if e >= 0:
                ests.append(th)
                psis.append(ps)
        est = float(np.mean(ests))
        psi = np.column_stack(psis).mean(axis=1)
    else:
        raise ValueError(f"unknown aggregation {aggregation!r}")
    return {"estimate": est, "psi": psi, "parts": parts}


def cs_event_study(prep: Prepared, control: str, lo: int, hi: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Event-time effects with a universal base period (e = -1 is 0), within [lo, hi];
    returns the table (event_time, estimate) and the per-unit influence matrix."""
    cells = cs_group_time(prep, control, base="universal")
    tab = cells.table
    es, ests, psis = [], [], []
    for e in range(lo, hi + 1):
        keep = (tab["e"] == e).to_numpy() & np.isfinite(tab["estimate"].to_numpy())
        if e == -1 or not keep.any():
            continue
        th, ps = cs_combine(cells, prep, keep, tab["n_treated"].to_numpy()[keep])
        es.append(e)
        ests.append(th)
        psis.append(ps)
    psi = np.column_stack(psis) if psis else np.zeros((prep.n, 0))
    return pd.DataFrame({"event_time": es, "estimate": ests}), psi


# -- two-way fixed effects --------------------------------------------------------------


def demean(M: np.ndarray, a: np.ndarray, b: np.ndarray, tol: float = 1e-10, maxiter: int = 10_000) -> np.ndarray:
    """Remove two sets of fixed effects (codes ``a``, ``b``) from each column of ``M`` by
    alternating projections (method of alternating projections; exact after one sweep on a
    balanced panel, where a second sweep confirms convergence)."""
    M = np.array(M, dtype=float, copy=True)
    if M.ndim == 1:
        M = M[:, None]
    na, nb = a.max() + 1, b.max() + 1
    ca, cb = np.bincount(a, minlength=na), np.bincount(b, minlength=nb)
    scale = max(1.0, np.abs(M).max()) if M.size else 1.0
    for _ in range(maxiter):
        ma = np.stack([np.bincount(a, M[:, j], na) for j in range(M.shape[1])], axis=1) / ca[:, None]
        M -= ma[a]
        mb = np.stack([np.bincount(b, M[:, j], nb) for j in range(M.shape[1])], axis=1) / cb[:, None]
        M -= mb[b]
        if max(np.abs(ma).max(), np.abs(mb).max()) < tol * scale:
            break
    return M


@dataclass
class FEFit:
    coef: np.ndarray
    infl: Influence  # per-cluster psi (G, K) with CR1 factor
    resid: np.ndarray
    Xd: np.ndarray
    yd: np.ndarray
    nobs: int


def fe_ols(y: np.ndarray, X: np.ndarray, unit: np.ndarray, time: np.ndarray, cluster: np.ndarray) -> FEFit:
    """OLS of ``y`` on ``X`` with unit and period fixed effects absorbed (Frisch-Waugh-Lovell
    on demeaned data) and cluster-robust variance: per-cluster influence
    ``(X'X)^-1 X_c' u_c`` and factor ``G/(G-1) (N-1)/(N-K)``, K the non-absorbed
    coefficients (the unit effects are nested in the clusters)."""
    X = np.asarray(X, float)
    if X.ndim == 1:
        X = X[:, None]
    D = demean(np.column_stack([y, X]), unit, time)
    yd, Xd = D[:, 0], D[:, 1:]
    XtX = Xd.T @ Xd
    inv = np.linalg.pinv(XtX)
    coef = inv @ (Xd.T @ yd)
    resid = yd - Xd @ coef
    scores = Xd * resid[:, None]
    G = int(cluster.max()) + 1
    S = np.stack([np.bincount(cluster, scores[:, j], G) for j in range(scores.shape[1])], axis=1)
    N, K = len(y), X.shape[1]
    factor = G / (G - 1) * (N - 1) / (N - K) if G > 1 else np.nan
    return FEFit(coef=coef, infl=Influence(S @ inv.T, factor), resid=resid, Xd=Xd, yd=yd, nobs=N)


def long_arrays(prep: Prepared):
    """Observed cells of the matrix as long arrays: row (unit), column (period), y."""
    r, c = np.nonzero(~np.isnan(prep.Y))
    return r, c, prep.Y[r, c]


def twfe(prep: Prepared) -> tuple[FEFit, np.ndarray, np.ndarray]:
    """Static two-way FE: y on 1{t >= g} with unit and period effects."""
    r, c, y = long_arrays(prep)
    d = (c >= prep.cohort[r]).astype(float)
    return fe_ols(y, d, r, c, prep.cluster[r]), r, c


def twfe_event_study(prep: Prepared, lo: int, hi: int) -> tuple[pd.DataFrame, Influence]:
    """Dynamic two-way FE: event-time dummies for lo..hi except -1, endpoints binned."""
    r, c, y = long_arrays(prep)
    coh = prep.cohort[r]
    treated = coh != NEVER
    e = np.where(treated, np.clip(c - np.where(treated, coh, 0), lo, hi), 0)
    es = [k for k in range(lo, hi + 1) if k != -1 and ((e == k) & treated).any()]
    X = np.column_stack([((e == k) & treated).astype(float) for k in es])
    fit = fe_ols(y, X, r, c, prep.cluster[r])
    return pd.DataFrame({"event_time": es, "estimate": fit.coef}), fit.infl


# -- Sun & Abraham ----------------------------------------------------------------------


@dataclass
class SAFit:
    cells: pd.DataFrame  # g, t, e, estimate, n_treated (observations of the cell)
    infl: Influence  # per-cluster psi (G, K): one column per cell
    cohort_size: pd.Series  # units per cohort


def sun_abraham_cells(prep: Prepared, control: str = "never_treated") -> SAFit:
    """CATT(g, e): the two-way FE regression with every cohort x period interaction of the
    treated cohorts except the period before adoption (e = -1).

    Control: never-treated units, or (``last_treated``) the last cohort to adopt, with
    every period from its adoption dropped. On a balanced panel the regression splits
    into closed form: CATT(g, e) = [mean_g(Y_{g+e}) - mean_g(Y_{g-1})] - [same for the
    controls], and residuals are the two-way demeaned outcomes within the control group
    and each cohort. Unbalanced panels go through :func:`fe_ols` on the interaction
    dummies (memory ~ observations x cells).
    """
    coh = prep.cohort.copy()
    Y = prep.Y
    if control == "last_treated":
        if (coh == NEVER).any():
            raise ValueError("control='last_treated' is for panels without never-treated units")
        last = coh.max()
        Y = Y[:, :last]
        coh = np.where(coh == last, NEVER, coh)
    elif control != "never_treated":
        raise ValueError(f"Sun-Abraham control must be never_treated or last_treated, got {control!r}")
    if not (coh == NEVER).any():
        raise ValueError("Sun-Abraham needs never-treated units (or control='last_treated')")
    sub = Prepared(Y=Y, cohort=coh, cluster=prep.cluster, units=prep.units, periods=prep.periods[:Y.shape[1]],
                   cluster_is_unit=prep.cluster_is_unit)
    keep_rows = ~np.isnan(Y).all(axis=1)
    cohorts = [g for g in np.unique(coh[keep_rows & (coh != NEVER)])]
    size = pd.Series(coh[keep_rows]).value_counts()
    if not np.isnan(Y).any():
        return _sa_balanced(sub, cohorts, size)
    r, c, y = long_arrays(sub)
    cr = coh[r]
    cells = []
    for g in cohorts:
        for t in np.unique(c[cr == g]):
            if t != g - 1:
                cells.append((g, t))
    if not all(((cr == g) & (c == g - 1)).any() for g in cohorts):
        raise ValueError("every cohort must be observed in the period before it adopts")
    col = {cell: k for k, cell in enumerate(cells)}
    X = np.zeros((len(y), len(cells)))
    key = [col.get((g, t), -1) for g, t in zip(cr, c)]
    key = np.array(key)
    X[np.flatnonzero(key >= 0), key[key >= 0]] = 1.0
    fit = fe_ols(y, X, r, c, sub.cluster[r])
    n_obs = np.bincount(key[key >= 0], minlength=len(cells))
    tab = pd.DataFrame(cells, columns=["g", "t"])
    tab["e"] = tab["t"] - tab["g"]
    tab["estimate"] = fit.coef
    tab["n_treated"] = n_obs
    return SAFit(cells=tab, infl=fit.infl, cohort_size=size)


def _sa_balanced(prep: Prepared, cohorts, size) -> SAFit:
    Y, coh, T = prep.Y, prep.cohort, prep.Y.shape[1]
    ctrl = coh == NEVER
    Yc = Y[ctrl]
    Uc = Yc - Yc.mean(axis=1, keepdims=True) - Yc.mean(axis=0, keepdims=True) + Yc.mean()
    mc = Yc.mean(axis=0)
    nC = ctrl.sum()
    rows, cols = [], []  # psi columns (per unit), later summed by cluster
    psi_cols = []
    nobs = 0
    n_coef = 0
    ssr_dummy = 0
    for g in cohorts:
        m = coh == g
        Yg = Y[m]
        Ug = Yg - Yg.mean(axis=1, keepdims=True) - Yg.mean(axis=0, keepdims=True) + Yg.mean()
        mg = Yg.mean(axis=0)
        ng = m.sum()
        for t in range(T):
            if t == g - 1:
                continue
            est = (mg[t] - mg[g - 1]) - (mc[t] - mc[g - 1])
            psi = np.zeros(prep.n)
            psi[m] = (Ug[:, t] - Ug[:, g - 1]) / ng
            psi[ctrl] = -(Uc[:, t] - Uc[:, g - 1]) / nC
            rows.append((g, t, t - g, est, ng))
            psi_cols.append(psi)
            n_coef += 1
    del cols, ssr_dummy
    nobs = prep.n * T
    psi = np.column_stack(psi_cols) if psi_cols else np.zeros((prep.n, 0))
    Pc = cluster_sums(psi, prep) if not prep.cluster_is_unit else psi
    G = prep.n_clusters
    factor = G / (G - 1) * (nobs - 1) / (nobs - n_coef)
    tab = pd.DataFrame(rows, columns=["g", "t", "e", "estimate", "n_treated"])
    return SAFit(cells=tab, infl=Influence(Pc, factor), cohort_size=size)


def sa_weights(fit: SAFit, aggregation: str) -> tuple[np.ndarray, list]:
    """Linear weights on the CATT cells for an overall effect, and the parts.

    - ``dynamic``: per event time, cells weighted by their observations (cohort shares);
      overall the mean over post event times, every post period included whatever the
      plotting window.
    - ``simple``: post cells weighted by their observations (fixest ``agg = "att"``).
    - ``group``: each cohort's mean over its post cells, cohorts weighted by size.
    The weights are taken as known (as fixest does): no term for their estimation.
    """
    tab = fit.cells
    post = (tab["e"] >= 0).to_numpy()
    n = tab["n_treated"].to_numpy(float)
    parts = []
    if aggregation == "simple":
        w = np.where(post, n, 0.0)
        return w / w.sum(), parts
    if aggregation == "dynamic":
        W = []
        for e in np.unique(tab["e"]):
            m = (tab["e"] == e).to_numpy()
            we = np.where(m, n, 0.0) / n[m].sum()
            parts.append((e, we))
            if e >= 0:
                W.append(we)
        return np.mean(W, axis=0), parts
    if aggregation == "group":
        gs = np.unique(tab.loc[post, "g"])
        total = fit.cohort_size.reindex(gs).sum()
        w = np.zeros(len(tab))
        for g in gs:
            m = post & (tab["g"] == g).to_numpy()
            wg = m / m.sum()
            parts.append((g, wg))
            w += wg * fit.cohort_size[g] / total
        return w, parts
    raise ValueError(f"unknown aggregation {aggregation!r}")


# -- simulation -------------------------------------------------------------------------


def simulate_panel(n_units: int = 40, n_periods: int = 8, effect: str = "constant", size: float = 1.0,
                   pretrend: float = 0.0, never_treated_share: float = 0.3, unbalanced: float = 0.0,
                   noise: float = 1.0, seed=0) -> pd.DataFrame:
    """A staggered-adoption panel with a known effect.

    ``y = unit effect + period effect + tau + noise``, with ``tau = size`` from adoption
    (``effect="constant"``) or ``size * (1 + e) / 2`` at event time ``e >= 0``
    (``"growing"``: 0.5, 1.0, 1.5, ...). About ``never_treated_share`` of the units (at
    least two) never adopt; the others adopt in periods 2..n_periods-1 (positions, at
    least two periods before adoption). ``pretrend`` adds ``pretrend * (t - g)`` to
    treated units before adoption (a differential trend that parallel trends rules out).
    ``unbalanced`` is the share of unit-periods dropped at random. Columns: unit, period,
    first_treated (NaN never), y, tau. ``attrs["truth"]`` holds the true simple, group
    and dynamic ATTs over the rows kept.
    """
    rng = np.random.default_rng(seed)
    n_never = max(2, int(round(never_treated_share * n_units)))
    g = np.full(n_units, np.nan)
    g[n_never:] = rng.integers(2, n_periods, n_units - n_never)
    unit = np.repeat(np.arange(n_units), n_periods)
    period = np.tile(np.arange(n_periods), n_units)
    gu = g[unit]
    e = period - gu
    post = e >= 0
    if effect == "constant":
        tau = np.where(post, size, 0.0)
    elif effect == "growing":
        tau = np.where(post, size * (1 + np.nan_to_num(e)) / 2, 0.0)
    else:
        raise ValueError(f"effect must be 'constant' or 'growing', got {effect!r}")
    pre = ~np.isnan(gu) & (e < 0)
    y = (rng.normal(0, 1, n_units)[unit] + 0.3 * period + rng.normal(0, 0.5, n_periods)[period]
         + tau + np.where(pre, pretrend * np.nan_to_num(e), 0.0) + rng.normal(0, noise, len(unit)))
    frame = pd.DataFrame({"unit": unit, "period": period, "first_treated": gu, "y": y, "tau": tau})
    if unbalanced > 0:
        frame = frame[rng.random(len(frame)) >= unbalanced].reset_index(drop=True)
    frame.attrs["truth"] = true_att(frame)
    return frame


def true_att(frame: pd.DataFrame) -> dict:
    """The simple, group and dynamic ATTs of the effects ``tau`` planted in a simulated panel."""
    treated = frame[(frame["period"] >= frame["first_treated"]) & frame["first_treated"].notna()]
    by_g = treated.groupby("first_treated")["tau"].mean()
    sizes = frame.loc[frame["first_treated"].notna()].groupby("first_treated")["unit"].nunique().reindex(by_g.index)
    e = treated["period"] - treated["first_treated"]
    return {"simple": float(treated["tau"].mean()), "group": float((by_g * sizes).sum() / sizes.sum()),
            "dynamic": float(treated.groupby(e)["tau"].mean().mean())}
