"""The scorecard: each indicator against its target, status, gap, trend, improvement plan.

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
    "target", "direction", "unit", "gap", "status", "previous", "change", "trend", "history", "incomplete",
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
    incomplete).
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
    # incomplete periods are blank in the sparkline too: drawing them would show the data's end as a change
    shown = rows[rows["period"] <= period].assign(value=lambda r: r["value"].where(~r["incomplete"]))
    history = shown.pivot_table(
        index=["indicator", "service_type"], columns="period", values="value", aggfunc="first", dropna=False)
    history = history.reindex(columns=periods)
    card["history"] = [tuple(float(v) for v in history.loc[k]) if k in history.index else () for k in key]
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


# -- improvement plan --------------------------------------------------------------------

PLAN_COLUMNS = ["indicator", "status", "gap", "relative_gap", "service_type", "service_types_short",
                "responsible", "action", "unit"]


def improvement_plan(card: pd.DataFrame, lang: str = "zh", catalogue: Catalogue | None = None) -> pd.DataFrame:
    """One row per indicator that is red or amber anywhere, worst first.

    ``gap`` is the largest shortfall (most negative signed gap) and ``service_type`` where
    it occurs; ``service_types_short`` lists every service type short of the target;
    ``responsible`` (government / charity / joint) and ``action`` come from the catalogue.
    Ordered by status (red first), then by the shortfall relative to the target. A neutral
    (descriptive) indicator never has a row: it is not red or amber.
    """
    catalogue = catalogue or load_catalogue()
    short = card[card["status"].isin(["red", "amber"]) & (card["direction"] != NEUTRAL)].copy()
    if short.empty:
        return pd.DataFrame(columns=PLAN_COLUMNS)
    short["relative_gap"] = short["gap"] / short["target"].abs().where(short["target"] != 0, 1.0)
    short["severity"] = short["status"].map(_SEVERITY)
    rows = []
    for ind, part in short.groupby("indicator", sort=False):
        worst = part.sort_values(["severity", "relative_gap"], kind="stable").iloc[0]
        meta = catalogue[ind]
        rows.append({
            "indicator": ind,
            "status": worst["status"],
            "gap": worst["gap"],
            "relative_gap": worst["relative_gap"],
            "service_type": worst["service_type"],
            "service_types_short": [s for s in part["service_type"] if s],
            "responsible": meta.responsible,
            "action": meta.action(lang),
            "unit": meta.unit,
            "_severity": worst["severity"],
        })
    plan = pd.DataFrame(rows).sort_values(["_severity", "relative_gap"], kind="stable")
    return plan[PLAN_COLUMNS].reset_index(drop=True)
