"""The scorecard: each indicator against its target, status, gap, trend; the summary
(摘要: :func:`key_findings`, :func:`overview`, changes tested with :func:`flag_changes` and
Benjamini-Hochberg, :func:`bh_adjust`) and the improvement plan (:func:`improvement_plan`).

Pure functions on the tidy results table (``IndicatorResults.published()`` columns), so
they are tested on tiny frames and notebooks only present what they return.

Status (red/amber/green) of a value against a target, direction-aware:

- **green**: the value meets the target;
- **amber**: it misses, but by at most ``tolerance`` of the target (10% by default), or the
  95% confidence interval still reaches the target (the shortfall may be sampling noise);
- **red**: otherwise;
- **no_target** / **suppressed** / **no_data** when there is nothing to compare
  (**no_data**: no household or unit in the cell, e.g. a region without data;
  **suppressed**: ``n`` below ``min_cell``, value not published; ``n`` counts the
  indicator's unit of analysis, catalogue ``counts``: households, needs, referrals, ...);
- **incomplete** when the cell's period is incomplete (:class:`IndicatorResults`:
  units censored at the extraction date, or the period runs past it): the value is
  shown but not judged, has no trend and no improvement-plan row, since a shortfall or a
  change there may be an artefact of the data's end;
- **descriptive** for a neutral indicator (catalogue ``direction: neutral``, such as the
  need rate): neither higher nor lower is better, so it has no target, no colour, no gap
  and no improvement-plan row; its trend says up / down / stable, not improving or worsening.

``gap`` is signed so that positive is better than the target whatever the direction:
``value - target`` for higher-is-better, ``target - value`` for lower-is-better.

>>> rag_status(0.65, 0.7, "higher")
'amber'
>>> rag_status(0.10, 0.2, "lower")
'green'
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from evalkit.errors import ParameterError
from evalkit.indicators.catalogue import NEUTRAL, Catalogue, load_catalogue

TOLERANCE = 0.10
STATUSES = ("green", "amber", "red", "no_target", "descriptive", "incomplete", "suppressed", "no_data")
_SEVERITY = {"red": 0, "amber": 1, "green": 2}

CARD_COLUMNS = [
    "indicator", "family", "service_type", "value", "ci_low", "ci_high", "n", "suppressed",
    "target", "direction", "unit", "gap", "status", "previous", "change", "trend", "history", "history_periods",
    "incomplete",
]


class TargetsError(ParameterError):
    """A targets file that cannot be used (unreadable, unknown indicator, bad value)."""


# -- targets ---------------------------------------------------------------------------

def default_targets(catalogue: Catalogue | None = None) -> dict[str, float | None]:
    """The catalogue's default target of every indicator (None: no target)."""
    catalogue = catalogue or load_catalogue()
    return {i.id: i.target for i in catalogue}


def read_targets(path, catalogue: Catalogue | None = None) -> dict[str, float | None]:
    """A user's targets file: YAML or JSON mapping indicator id -> target (null: none).

    Checked against the catalogue: unknown ids, non-numbers, rates outside 0-1 and a
    target for a neutral (descriptive) indicator are errors naming the entry.
    """
    import yaml

    catalogue = catalogue or load_catalogue()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise TargetsError(f"cannot read targets file {path}: {exc.strerror or exc}") from exc
    try:
        raw = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise TargetsError(f"{path}: not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}: {exc}") from exc
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise TargetsError(f"{path}: expected a mapping of indicator id -> target, got {type(raw).__name__}")
    out: dict[str, float | None] = {}
    problems = []
    for key, value in raw.items():
        key = str(key)
        if key not in catalogue:
            problems.append(f"unknown indicator {key!r}")
            continue
        if value is None:
            out[key] = None
            continue
        if catalogue[key].neutral:
            problems.append(f"{key}: a descriptive indicator (direction: neutral) takes no target, "
                            f"got {value!r}; remove it or give null")
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            problems.append(f"{key}: target must be a number or null, got {value!r}")
            continue
        if catalogue[key].unit == "rate" and not 0 <= value <= 1:
            problems.append(f"{key}: a rate target must be between 0 and 1, got {value!r}")
            continue
        out[key] = float(value)
    if problems:
        raise TargetsError(f"{path}: " + "; ".join(problems))
    return out


def load_targets(path=None, catalogue: Catalogue | None = None) -> dict[str, float | None]:
    """Catalogue defaults overridden by the targets file at ``path`` (when given)."""
    targets = default_targets(catalogue)
    if path:
        targets.update(read_targets(path, catalogue))
    return targets


#: Where a target in force comes from: a user's targets file, a published figure or policy
#: document (the catalogue's ``target_source`` citation), or evalkit's own default.
TARGET_KINDS = ("user", "published", "default")


def target_sources(path=None, catalogue: Catalogue | None = None) -> dict[str, dict]:
    """Where each target in force (:func:`load_targets`) comes from, by indicator id:
    ``{"kind": "user", "text": <file name>}`` for one set by the targets file at ``path``,
    else the catalogue's ``target_source``: ``{"kind": "default", "text": ""}`` (evalkit's
    own choice: set your own) or ``{"kind": "published", "text": <citation>}``. Indicators
    without a target in force are left out.

    >>> target_sources()["coordination.processing_days"]["kind"]
    'default'
    """
    catalogue = catalogue or load_catalogue()
    out: dict[str, dict] = {}
    for ind in catalogue:
        if ind.target is not None:
            out[ind.id] = ({"kind": "default", "text": ""} if ind.target_default
                           else {"kind": "published", "text": ind.target_source})
    if path:
        for key, value in read_targets(path, catalogue).items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = {"kind": "user", "text": Path(path).name}
    return out


# -- status ----------------------------------------------------------------------------

def signed_gap(value, target, direction: str):
    """``value - target`` turned so that positive is better than the target (NaN for a neutral indicator)."""
    if direction == NEUTRAL:
        return np.full(np.shape(np.subtract(value, target)), np.nan)[()]
    return np.subtract(value, target) if direction == "higher" else np.subtract(target, value)


def rag_status(value, target, direction: str, ci_low=np.nan, ci_high=np.nan,
               tolerance: float = TOLERANCE, suppressed: bool = False) -> str:
    """Status of one value against its target (see the module docstring)."""
    if direction == NEUTRAL:
        if _nan(value):
            return "suppressed" if suppressed else "no_data"
        return "descriptive"
    if target is None or _nan(target):
        return "no_target"
    if _nan(value):
        return "suppressed" if suppressed else "no_data"
    gap = float(signed_gap(value, target, direction))
    if gap >= 0:
        return "green"
    if -gap <= tolerance * abs(target) + 1e-12:
        return "amber"
    if not (_nan(ci_low) or _nan(ci_high)) and ci_low <= target <= ci_high:
        return "amber"
    return "red"


def _nan(x) -> bool:
    return x is None or (isinstance(x, (float, np.floating)) and math.isnan(x))


# -- scorecard -------------------------------------------------------------------------

def overall_rows(table: pd.DataFrame, region: str) -> pd.DataFrame:
    """Whole-population rows of one region, every period."""
    return table[(table["group_by"] == "") & (table["region"] == region)]


def scorecard(table: pd.DataFrame, targets: Mapping[str, float | None], region: str, period: str,
              catalogue: Catalogue | None = None, tolerance: float = TOLERANCE) -> pd.DataFrame:
    """One row per indicator (and service type) of ``region`` in ``period``.

    Columns: ``CARD_COLUMNS``. ``previous`` is the value in the latest earlier complete
    period with a value; ``change = value - previous``; ``trend`` is improving / worsening (direction-aware;
    up / down for a neutral indicator) when the previous value lies outside this period's confidence interval, else stable;
    ``history`` is the tuple of values of every period up to this one (NaN where blank or
    incomplete), ``history_periods`` their labels.
    Rows keep the results table's order (catalogue order, then service types).
    """
    catalogue = catalogue or load_catalogue()
    if not 0 <= tolerance < 1:
        raise ValueError(f"tolerance must be in [0, 1), got {tolerance}")
    rows = overall_rows(table, region)
    rows = rows.assign(incomplete=rows["incomplete"].astype(bool) if "incomplete" in rows else False)
    current = rows[rows["period"] == period]
    if current.empty:
        raise ValueError(f"no results for region {region!r} in period {period!r}")
    earlier = rows[(rows["period"] < period) & ~rows["incomplete"]].sort_values("period", kind="stable")
    earlier = earlier.dropna(subset=["value"]).groupby(["indicator", "service_type"], sort=False).last()
    card = current[["indicator", "family", "service_type", "value", "ci_low", "ci_high", "n", "suppressed", "incomplete"]]
    card = card.reset_index(drop=True).copy()
    meta = [catalogue[i] for i in card["indicator"]]
    card["target"] = [None if m.neutral else targets.get(m.id, m.target) for m in meta]  # never targeted
    card["target"] = card["target"].astype("float64")
    card["direction"] = [m.direction for m in meta]
    card["unit"] = [m.unit for m in meta]
    card["gap"] = [float(signed_gap(v, t, d)) if not (_nan(t) or _nan(v)) else np.nan
                   for v, t, d in zip(card["value"], card["target"], card["direction"])]
    card["status"] = [
        # a cell with no household is "no data", not "suppressed": there is nothing to hide
        rag_status(r.value, r.target, r.direction, r.ci_low, r.ci_high, tolerance,
                   bool(r.suppressed) and not (pd.notna(r.n) and r.n == 0))
        for r in card.itertuples()
    ]
    judged = card["status"].isin(["green", "amber", "red", "descriptive"])
    card.loc[card["incomplete"] & judged, "status"] = "incomplete"
    key = list(zip(card["indicator"], card["service_type"]))
    card["previous"] = [earlier["value"].get(k, np.nan) for k in key]
    card["change"] = card["value"] - card["previous"]
    card["trend"] = [_trend(r) for r in card.itertuples()]
    periods = sorted(p for p in set(rows["period"]) if p <= period)
    # incomplete periods are blank in the trend column too: drawing them would show the data's end as a change
    shown = rows[rows["period"] <= period].assign(value=lambda r: r["value"].where(~r["incomplete"]))
    history = shown.pivot_table(
        index=["indicator", "service_type"], columns="period", values="value", aggfunc="first", dropna=False)
    history = history.reindex(columns=periods)
    card["history"] = [tuple(float(v) for v in history.loc[k]) if k in history.index else () for k in key]
    card["history_periods"] = [tuple(periods) if k in history.index else () for k in key]
    return card[CARD_COLUMNS]


def _trend(r) -> str:
    if _nan(r.value) or _nan(r.previous) or r.incomplete:
        return ""
    if not (_nan(r.ci_low) or _nan(r.ci_high)) and r.ci_low <= r.previous <= r.ci_high:
        return "stable"
    if r.change == 0:
        return "stable"
    if r.direction == NEUTRAL:
        return "up" if r.change > 0 else "down"
    better = r.change > 0 if r.direction == "higher" else r.change < 0
    return "improving" if better else "worsening"


def status_counts(card: pd.DataFrame) -> dict[str, int]:
    """How many scorecard rows are green, amber, red, and without status (``none``: no target,
    descriptive, incomplete, suppressed or no data)."""
    counts = card["status"].value_counts()
    return {
        "green": int(counts.get("green", 0)),
        "amber": int(counts.get("amber", 0)),
        "red": int(counts.get("red", 0)),
        "none": int(sum(counts.get(s, 0) for s in ("no_target", "descriptive", "incomplete", "suppressed", "no_data"))),
    }


def trend_table(table: pd.DataFrame, region: str, period: str) -> pd.DataFrame:
    """Values of ``region`` for every period up to ``period``: indicator, service_type, period, value.

    Values of incomplete periods are blank: a line drawn to them would show a change
    that may only be the data's end."""
    rows = overall_rows(table, region)
    rows = rows[rows["period"] <= period].copy()
    if "incomplete" in rows:
        rows.loc[rows["incomplete"].astype(bool), ["value", "ci_low", "ci_high"]] = np.nan
    cols = ["indicator", "service_type", "period", "value", "ci_low", "ci_high"]
    return rows[cols].sort_values(["period"], kind="stable").reset_index(drop=True)


# -- significance of changes: Benjamini-Hochberg over the scorecard's tests --------------

FDR_Q = 0.05


def bh_adjust(pvalues) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values) of ``pvalues``; NaN stays NaN and
    takes no part (``m`` counts the finite p-values only).

    The i-th smallest of m p-values gets ``min over j >= i of p_(j) * m / j``, capped at 1
    (Benjamini & Hochberg 1995, step-up), as ``statsmodels.stats.multitest.multipletests(method="fdr_bh")``.

    >>> bh_adjust([0.01, 0.04, 0.03, float("nan")]).round(3).tolist()
    [0.03, 0.04, 0.04, nan]
    """
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = len(ok)
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    scaled = p[order] * m / np.arange(1, m + 1)
    out[order] = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    return out


def bh_reject(pvalues, q: float = FDR_Q) -> np.ndarray:
    """Which hypotheses Benjamini-Hochberg rejects at false-discovery rate ``q`` (NaN: never)."""
    if not 0 < q < 1:
        raise ValueError(f"q must be between 0 and 1, got {q}")
    adjusted = bh_adjust(pvalues)
    return np.isfinite(adjusted) & (adjusted <= q)


CHANGE_COLUMNS = ["change_base", "change_base_period", "change_fallback", "change_value", "change_se",
                  "change_cov_known", "p_value", "q_value", "significant"]


def flag_changes(card: pd.DataFrame, changes: pd.DataFrame | None, region: str, period: str,
                 q: float = FDR_Q, fallback: pd.DataFrame | None = None) -> pd.DataFrame:
    """``card`` with the test of each row's change: ``CHANGE_COLUMNS``.

    ``changes`` is :meth:`IndicatorResults.change` (the design step's standard error of the
    change), on the previous period or, with ``base="year"``, on the same period last
    year. A change is usable when both periods are complete, neither is suppressed, the
    change and its standard error are finite (se > 0) and the row's own period is judged
    (not incomplete, suppressed or without data). A row without a usable change in
    ``changes`` (e.g. last year is not in the data, or incomplete: an incomplete period
    is never a base) takes the one in ``fallback`` (the previous period's) when usable,
    with ``change_fallback`` set. ``change_base`` says which base the change uses
    (``year`` / ``previous`` / ``period``, ``""`` untested), ``change_base_period`` its
    label. p is two-sided from t (the cell's degrees of freedom, normal when unknown).
    The Benjamini-Hochberg procedure at ``q`` runs over every row tested, whichever
    its base (``significant``; ``q_value`` the adjusted p). Without changes (results kept
    without covariances) no row is tested.
    """
    from scipy import stats

    out = card.copy()
    for c in CHANGE_COLUMNS:
        out[c] = np.nan
    out["change_base"] = ""
    out["change_base_period"] = ""
    out["change_fallback"] = False
    out["change_cov_known"] = False
    out["significant"] = False
    judged = out["status"].isin(["green", "amber", "red", "no_target", "descriptive"]).to_numpy()
    key = pd.MultiIndex.from_arrays([out["indicator"], out["service_type"]])
    first = _usable_changes(changes, region, period, key, judged)
    second = _usable_changes(fallback, region, period, key, judged)
    if first is None and second is None:
        return out
    if first is None:  # e.g. no period of the data has last year's in it: every row falls back
        first = pd.DataFrame({"base": "", "previous_period": "", "change": np.nan, "se": np.nan, "df": np.nan,
                              "cov_known": False, "usable": False}, index=range(len(out)))
    fields = ["base", "previous_period", "change", "se", "df", "cov_known", "usable"]
    use_second = (~first["usable"] & second["usable"]).to_numpy(bool) if second is not None else np.zeros(len(out), bool)
    pick = pd.DataFrame({c: np.where(use_second, second[c], first[c]) if second is not None else first[c].to_numpy()
                         for c in fields})
    usable = pick["usable"].to_numpy(bool)
    diff, se, df = (pick[c].to_numpy(float) for c in ("change", "se", "df"))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.abs(diff / se)
    p = np.where(np.isfinite(df) & (df > 0), 2 * stats.t.sf(z, np.where(df > 0, df, 1)), 2 * stats.norm.sf(z))
    p = np.where(usable, p, np.nan)
    out["change_base"] = np.where(usable, pick["base"].to_numpy(), "")
    out["change_base_period"] = np.where(usable, pick["previous_period"].to_numpy(), "")
    out["change_fallback"] = use_second
    out["change_se"] = np.where(usable, se, np.nan)
    out["change_cov_known"] = usable & pick["cov_known"].to_numpy(bool)
    out["p_value"] = p
    out["q_value"] = bh_adjust(p)
    out["significant"] = bh_reject(p, q)
    # the tested change (the card's ``change`` is on the latest earlier complete period)
    out["change_value"] = np.where(usable, diff, np.nan)
    return out


def _usable_changes(changes, region, period, key, judged) -> pd.DataFrame | None:
    """The changes of ``region`` in ``period`` aligned to the card's rows (``key``), with
    ``usable`` (see :func:`flag_changes`); None without changes."""
    if changes is None or changes.empty:
        return None
    ch = changes[(changes["region"] == region) & (changes["period"] == period) & (changes["group_by"] == "")]
    ch = ch.drop_duplicates(["indicator", "service_type"]).set_index(["indicator", "service_type"]).reindex(key)
    ch = ch.reset_index(drop=True)
    ch["base"] = ch["base"].fillna("previous") if "base" in ch else "previous"
    ch["previous_period"] = ch["previous_period"].fillna("").astype(str)
    ch["cov_known"] = ch["cov_known"].fillna(False).astype(bool) if "cov_known" in ch else True
    if "df" not in ch:
        ch["df"] = np.nan
    diff, se = ch["change"].to_numpy(float), ch["se"].to_numpy(float)
    ch["usable"] = (np.isfinite(diff) & np.isfinite(se) & (se > 0)
                    & ~ch["incomplete"].fillna(True).astype(bool).to_numpy()
                    & ~ch["suppressed"].fillna(True).astype(bool).to_numpy() & judged)
    return ch


def _direction_word(change: float, direction: str) -> str:
    """improving / worsening (direction-aware), up / down for a neutral indicator."""
    if direction == NEUTRAL:
        return "up" if change > 0 else "down"
    better = change > 0 if direction == "higher" else change < 0
    return "improving" if better else "worsening"


# -- the indicator-level view: one row per indicator, service types summarised ------------

def indicator_view(card: pd.DataFrame) -> pd.DataFrame:
    """One row per non-neutral indicator of ``card`` (after :func:`flag_changes`): its
    region-wide row (service type ``""``) when judged, else its worst judged service type;
    ``short_types`` lists the service types short of the target (red or amber), worst first.

    ``status`` is then the indicator's status: green (meets the target), amber, red, or
    the reason it is not judged (incomplete, suppressed, no_target, no_data).
    """
    part = card[card["direction"] != NEUTRAL].reset_index(drop=True)
    if part.empty:
        return pd.DataFrame()
    rel = np.asarray(_relative(part["gap"], part["target"]), dtype=float)
    severity = part["status"].map({"red": 0, "amber": 1, "green": 2}).to_numpy(dtype=float)
    judged = ~np.isnan(severity)
    whole = (part["service_type"] == "").to_numpy(dtype=bool)
    first_whole = whole & ~pd.DataFrame({"i": part["indicator"], "w": whole}).duplicated().to_numpy()
    indicator = pd.factorize(part["indicator"])[0]
    position = np.arange(len(part))
    # per indicator, the first row in this order: its region-wide row when judged; else the judged
    # row of the worst status, then the largest relative shortfall (earlier rows win ties); else
    # its region-wide row, else its first row
    order = pd.DataFrame({
        "indicator": indicator, "own": np.where(first_whole & judged, 0, 1),
        "severity": np.where(judged, severity, np.inf),
        "relative": np.where(judged & ~np.isnan(rel), rel, np.inf),
        "whole": np.where(judged | whole, 0, 1), "position": position})
    picked = order.sort_values(list(order.columns), kind="stable").drop_duplicates("indicator")["position"].to_numpy()
    # the service types short of the target, worst first
    short = order[~whole & part["status"].isin(["red", "amber"]).to_numpy()].assign(
        relative=lambda o: np.where(np.isnan(rel[o["position"]]), np.inf, rel[o["position"]]))
    short = short.sort_values(["indicator", "severity", "relative", "position"], kind="stable")
    types = part["service_type"].to_numpy()
    short_types = {i: list(types[p]) for i, p in short.groupby("indicator", sort=False)["position"]}
    records = part.iloc[picked].to_dict("records")
    return pd.DataFrame([{**r, "relative_gap": rel[k], "short_types": short_types.get(indicator[k], [])}
                         for r, k in zip(records, picked)])


def _relative(gap, target):
    target = pd.Series(target, dtype=float)
    return pd.Series(gap, dtype=float).to_numpy() / target.abs().where(target != 0, 1.0).to_numpy()


# -- key findings -------------------------------------------------------------------------

MAX_FINDINGS = 5
MIN_FINDINGS = 3


def key_findings(card: pd.DataFrame, k: int = MAX_FINDINGS, minimum: int = MIN_FINDINGS) -> pd.DataFrame:
    """The findings the summary states, at most ``k``, one per indicator.

    The rule: candidates are the rows of ``card`` (after :func:`flag_changes`) that are
    judged against a target (green, amber or red: never incomplete, suppressed, without
    data or neutral), one per indicator (the region-wide row when judged, else the service
    type with the largest shortfall). Each scores the larger of its shortfall relative to
    the target (``-gap / |target|``, 0 when met) and, when its tested change (on the same
    period last year, else the previous period) is significant after Benjamini-Hochberg,
    the size of that change relative to the target. Candidates with a positive score come first, largest first; when fewer
    than ``minimum``, the indicators meeting their target by the widest relative margin
    fill up to ``minimum`` (good news is news too). Column ``score``, ``reason``
    (shortfall / change / met).
    """
    view = indicator_view(card)
    if view.empty:
        return view
    view = view[view["status"].isin(["green", "amber", "red"])].copy()
    if view.empty:
        return view
    shortfall = (-view["relative_gap"]).clip(lower=0).fillna(0)
    changed = view["change_value"].abs() / view["target"].abs().where(view["target"] != 0, 1.0)
    changed = changed.where(view["significant"].astype(bool), 0).fillna(0)
    view["score"] = np.maximum(shortfall, changed)
    view["reason"] = np.where(changed > shortfall, "change", np.where(shortfall > 0, "shortfall", "met"))
    top = view[view["score"] > 0].sort_values("score", ascending=False, kind="stable").head(k)
    if len(top) < minimum:
        rest = view.drop(index=top.index).sort_values("relative_gap", ascending=False, kind="stable")
        top = pd.concat([top, rest.head(minimum - len(top)).assign(reason="met")])
    return top.reset_index(drop=True)


# -- the overall picture, indicator level ----------------------------------------------------

def overview(card: pd.DataFrame, worst: int = 3) -> dict:
    """How the region's indicators stand (indicator level, service types summarised).

    ``judged`` indicators with a status, of which ``green`` / ``amber`` / ``red``;
    ``no_target`` those without a target, ``unjudged`` the others not judged
    (incomplete, suppressed, no data; ``not_judged`` = both); ``worst`` the ids of up to
    ``worst`` indicators furthest short of their target (relative to it); ``improved`` /
    ``worsened`` the ids whose tested change (:func:`flag_changes`: on the same period
    last year, else the previous period) is significant (any of its rows,
    Benjamini-Hochberg); ``tested`` how many changes were tested, of which
    ``year_based`` against last year, ``fallback`` against the previous period for want
    of last year, and ``independent`` without a stored covariance of the two periods.
    """
    view = indicator_view(card)
    judged = view[view["status"].isin(["green", "amber", "red"])] if not view.empty else view
    counts = judged["status"].value_counts() if not judged.empty else pd.Series(dtype=int)
    no_target = int((view["status"] == "no_target").sum()) if not view.empty else 0
    short = judged[judged["status"].isin(["red", "amber"])].sort_values("relative_gap", kind="stable")
    sig = card[card["significant"].astype(bool) & (card["direction"] != NEUTRAL)]
    words = [_direction_word(c, d) for c, d in zip(sig["change_value"], sig["direction"])]
    improved = list(dict.fromkeys(i for i, w in zip(sig["indicator"], words) if w == "improving"))
    worsened = list(dict.fromkeys(i for i, w in zip(sig["indicator"], words) if w == "worsening"))
    tested = np.isfinite(card["p_value"].astype(float)).to_numpy()
    base = card["change_base"] if "change_base" in card else pd.Series("", index=card.index)
    fallback = card["change_fallback"] if "change_fallback" in card else pd.Series(False, index=card.index)
    known = card["change_cov_known"] if "change_cov_known" in card else pd.Series(True, index=card.index)
    return {
        "indicators": int(len(view)),
        "judged": int(len(judged)),
        "green": int(counts.get("green", 0)), "amber": int(counts.get("amber", 0)), "red": int(counts.get("red", 0)),
        "no_target": no_target,
        "unjudged": int(len(view) - len(judged) - no_target),
        "not_judged": int(len(view) - len(judged)),
        "worst": list(short["indicator"].head(worst)),
        "improved": improved, "worsened": worsened,
        "tested": int(tested.sum()),
        "year_based": int((tested & (base == "year").to_numpy()).sum()),
        "fallback": int((tested & fallback.astype(bool).to_numpy()).sum()),
        "independent": int((tested & ~known.astype(bool).to_numpy()).sum()),
    }


# -- the improvement plan -----------------------------------------------------------------------

PLAN_CAP = 10
WORSENING_WEIGHT = 2.0
PLAN_TYPES_NAMED = 3
PLAN_COLUMNS = ["rank", "indicator", "period", "service_type", "value", "ci_low", "ci_high", "target", "gap",
                "unit", "n", "uncertain", "worsening", "short_types", "priority", "responsible", "action",
                "review_date"]


def review_date(period: str, frequency: str | None = None) -> str:
    """The last day of the period after ``period`` (ISO date): when the plan is reviewed.

    >>> review_date("2024Q4", "quarter"), review_date("2024-11", "month"), review_date("2024", "year")
    ('2025-03-31', '2024-12-31', '2025-12-31')
    """
    from evalkit.data.periods import bounds

    frequency = frequency or ("quarter" if "Q" in period else "month" if "-" in period else "year")
    _, end = bounds(period, frequency)
    _, next_end = bounds(_label_after(end, frequency), frequency)
    return next_end.isoformat()


def _label_after(day, frequency):
    import datetime as dt

    from evalkit.data.periods import label

    return label(day + dt.timedelta(days=1), frequency)


def _weight(gap, target, unit) -> float:
    """The shortfall a row's ``n`` multiplies: absolute for rates (a share of the units),
    relative to the target otherwise (days, km, ... are not shares), capped at 1 so that
    it stays on the scale of a rate's (at most the whole of ``n``)."""
    short = max(-float(gap), 0.0)
    if unit == "rate":
        return short
    return min(short / (abs(float(target)) or 1.0), 1.0)


def improvement_plan(table: pd.DataFrame, targets: Mapping[str, float | None], region: str, period: str,
                     changes: pd.DataFrame | None = None, lang: str = "zh", catalogue: Catalogue | None = None,
                     frequency: str | None = None, review: str | None = None, q: float = FDR_Q) -> pd.DataFrame:
    """The performance improvement plan: one row per problem, most urgent first.

    A problem is an indicator short of its target (red or amber) in the region's latest
    complete period up to ``period`` (per indicator: an indicator whose cells are all
    incomplete in ``period`` is taken from the latest earlier period where it is
    complete; a cell of an incomplete period is never an item). The indicator's
    region-wide row when it is short; otherwise its service types short of the target,
    collapsed into one row naming the worst few (``short_types``, up to
    :data:`PLAN_TYPES_NAMED`, worst first).

    ``priority`` = shortfall x ``n`` of the row shown (the region-wide row, or the worst
    service type of a collapsed row): the absolute shortfall for rates (about how many of
    the ``n`` units, households or referrals ..., stand between the value and the
    target), the shortfall relative to the target, at most 1, for other units; times
    :data:`WORSENING_WEIGHT` when the change on the previous period of any of the
    indicator's short rows is significantly worsening (Benjamini-Hochberg, :func:`flag_changes`). A shortfall
    whose 95% interval contains the target stays, marked ``uncertain``; a large stable
    shortfall stays (the level ranks it, not the change). ``responsible`` and ``action``
    come from the catalogue, ``target`` from ``targets``; ``review_date`` is the end of
    the period after ``period`` unless ``review`` gives one. All rows are returned;
    reports show the first :data:`PLAN_CAP` and count the rest.
    """
    catalogue = catalogue or load_catalogue()
    cards = {}

    def card_of(p):
        if p not in cards:
            cards[p] = flag_changes(scorecard(table, targets, region, p, catalogue), changes, region, p, q)
        return cards[p]

    # per indicator, the latest period up to ``period`` where it has a complete row: only those
    # periods' cards are made
    overall = overall_rows(table, region)
    complete = overall[(overall["period"] <= period)
                       & ~(overall["incomplete"].astype(bool) if "incomplete" in overall else False)]
    latest = complete.groupby("indicator", sort=False)["period"].max()
    rows = []
    for ind in dict.fromkeys(card_of(period)["indicator"]):
        if ind not in latest.index:
            continue
        p = latest[ind]
        c = card_of(p)
        part = c[(c["indicator"] == ind) & ~c["incomplete"]]
        if part["direction"].iloc[0] == NEUTRAL:
            continue
        item = _plan_item(part, catalogue[ind], lang)
        if item is not None:
            rows.append({**item, "period": p})
    if not rows:
        return pd.DataFrame(columns=PLAN_COLUMNS)
    plan = pd.DataFrame(rows).sort_values("priority", ascending=False, kind="stable").reset_index(drop=True)
    plan["rank"] = np.arange(1, len(plan) + 1)
    plan["review_date"] = review or review_date(period, frequency)
    return plan[PLAN_COLUMNS]


def _plan_item(part: pd.DataFrame, meta, lang: str) -> dict | None:
    """One indicator's plan row from its complete rows of one period, or None when nothing is short."""
    part = part.assign(_rel=_relative(part["gap"], part["target"]))
    short = part[part["status"].isin(["red", "amber"])]
    if short.empty:
        return None
    weights = {i: _weight(r.gap, r.target, r.unit) * (float(r.n) if pd.notna(r.n) else 0.0)
               for i, r in zip(short.index, short.itertuples())}
    whole = short[short["service_type"] == ""]
    types = short[short["service_type"] != ""].copy()
    types["_w"] = [weights[i] for i in types.index]
    types = types.sort_values(["_rel", "_w"], ascending=[True, False], kind="stable")
    r = whole.iloc[0] if len(whole) else types.iloc[0]  # the row shown: region-wide, else the worst type
    priority = weights[r.name]
    worsening = bool(any(s and _direction_word(c, d) == "worsening"
                         for s, c, d in zip(short["significant"], short["change_value"], short["direction"])))
    uncertain = bool(pd.notna(r["ci_low"]) and pd.notna(r["ci_high"]) and r["ci_low"] <= r["target"] <= r["ci_high"])
    return {
        "indicator": meta.id, "service_type": r["service_type"], "value": r["value"], "ci_low": r["ci_low"],
        "ci_high": r["ci_high"], "target": r["target"], "gap": r["gap"], "unit": r["unit"], "n": r["n"],
        "uncertain": uncertain, "worsening": worsening,
        "short_types": list(types["service_type"].head(PLAN_TYPES_NAMED)),
        "priority": priority * (WORSENING_WEIGHT if worsening else 1.0),
        "responsible": meta.responsible, "action": meta.action(lang),
    }
