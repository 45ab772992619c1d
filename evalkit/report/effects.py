"""The reform's impact as a report shows it: a sentence a policymaker reads, the three
estimators side by side, the event study.

Reads only what the report's data step estimated once for the whole package
(:func:`evalkit.impact.reform_effects`, ``ReportData.impact``): aggregate estimates, never a
county's own value.

>>> row = {"indicator": "coordination.processing_days", "method": "callaway_santanna", "estimate": -7.0,
...        "ci_low": -7.3, "ci_high": -6.7, "n_clusters": 6, "n_treated": 4}
>>> print(effect_sentence(row, "en"))  # doctest: +NORMALIZE_WHITESPACE
After the reform, processing working days fell by 7.0 days on average (95% interval -7.3 to -6.7 days;
Callaway-Sant'Anna, 6 counties, 4 of which adopted the reform). This is an improvement.
>>> print(effect_sentence({**row, "ci_high": 0.4}, "zh"))
改革后，审批办理天数平均减少 7.0 天（95% 区间 -7.3 至 +0.4 天；Callaway-Sant'Anna 方法，6 个县区，其中 4 个已实施改革）。区间包含 0：未见明确效果。
"""
from __future__ import annotations

import math

import pandas as pd

from evalkit.indicators.catalogue import Catalogue, load_catalogue

from .text import MISSING, t

METHOD_KEYS = {"callaway_santanna": "impact_cs", "sun_abraham": "impact_sa", "twfe": "impact_twfe"}
METHOD_NAMES = {"callaway_santanna": "Callaway-Sant'Anna ", "sun_abraham": "Sun-Abraham ", "twfe": "TWFE "}
#: below this p-value the pre-reform effects are flagged (joint test)
PRETREND_ALPHA = 0.1


def effect_unit(unit: str, lang: str) -> str:
    """What an effect is measured in: rates in percentage points."""
    return {"rate": {"zh": "个百分点", "en": "percentage points"}, "days": {"zh": "天", "en": "days"},
            "yuan": {"zh": "元", "en": "yuan"}, "km": {"zh": "公里", "en": "km"}}.get(unit, {}).get(lang, "")


def format_effect(value, unit: str, lang: str, signed: bool = True) -> str:
    """A change on the indicator's scale: rates in percentage points, one decimal.

    >>> format_effect(0.0781, "rate", "zh"), format_effect(-6.98, "days", "en", signed=False)
    ('+7.8 个百分点', '7.0 days')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    v = float(value) * (100 if unit == "rate" else 1)
    text = f"{v:+.1f}" if signed else f"{abs(v):.1f}"
    text = text.replace("+0.0", "0.0").replace("-0.0", "0.0")
    unit_text = effect_unit(unit, lang)
    if not unit_text:
        return text
    return f"{text} {unit_text}"


def _name(indicator: str, lang: str, catalogue: Catalogue) -> str:
    name = catalogue[indicator].name(lang)
    if lang == "en" and name[:2] != name[:2].upper():  # "Processing working days" -> "processing working days"
        name = name[0].lower() + name[1:]
    return name


def judgement(row: dict, direction: str, lang: str) -> str:
    """Whether the effect is an improvement, a deterioration, or unclear (interval containing 0)."""
    low, high = row.get("ci_low"), row.get("ci_high")
    if low is None or high is None or (low <= 0 <= high):
        return t("impact_unclear", lang)
    if direction not in ("higher", "lower"):
        return ""
    better = (row["estimate"] > 0) == (direction == "higher")
    return t("impact_better" if better else "impact_worse", lang)


def effect_sentence(row: dict, lang: str, catalogue: Catalogue | None = None) -> str:
    """One estimate as a sentence: what changed after the reform, by how much, how sure, on how many counties."""
    catalogue = catalogue or load_catalogue()
    entry = catalogue[row["indicator"]]
    unit = entry.unit
    up = row["estimate"] >= 0
    verb = t(("impact_rate_up" if up else "impact_rate_down") if unit == "rate" else
             ("impact_up" if up else "impact_down"), lang)
    sentence = t("impact_sentence", lang, name=_name(row["indicator"], lang, catalogue), verb=verb,
                 amount=format_effect(row["estimate"], unit, lang, signed=False),
                 low=format_effect(row["ci_low"], unit, lang).split(" ")[0],
                 high=format_effect(row["ci_high"], unit, lang),
                 method=METHOD_NAMES[row["method"]] if lang == "zh" else METHOD_NAMES[row["method"]].strip(),
                 n=int(row["n_clusters"]), m=int(row["n_treated"]))
    tail = judgement(row, entry.direction, lang)
    return f"{sentence}{'' if lang == 'zh' else ' '}{tail}".rstrip() if tail else sentence


def not_estimable_sentence(indicator: str, info: dict, lang: str, catalogue: Catalogue | None = None) -> str:
    """Why the effect on ``indicator`` cannot be estimated."""
    catalogue = catalogue or load_catalogue()
    reason = info.get("reason")
    if reason == "no_reform":
        why = t("impact_no_reform", lang)
    elif reason == "few_cohorts":
        why = t("impact_few_cohorts", lang, k=info.get("n_cohorts", 0))
    elif reason == "no_never_treated":
        why = t("impact_no_never", lang)
    elif reason == "error":
        why = t("impact_error", lang, detail=info.get("detail", ""))
    else:
        why = t("impact_no_data", lang)
    return t("impact_none", lang, name=_name(indicator, lang, catalogue), why=why)


def inference_text(inference: str, lang: str) -> str:
    """'wild cluster bootstrap (webb, 999 draws)' or 'analytical' in ``lang``."""
    if inference and inference.startswith("wild"):
        inside = inference[inference.find("(") + 1:inference.rfind(")")].split(",")
        weights = inside[0].strip().capitalize() if inside else ""
        draws = inside[1].strip().split(" ")[0] if len(inside) > 1 else ""
        if lang == "zh":
            weights = {"Webb": "Webb ", "Rademacher": "Rademacher "}.get(weights, weights)
        return t("impact_wild", lang, weights=weights, draws=draws)
    return t("impact_analytical", lang)


def methods_frame(rows: list[dict], lang: str, catalogue: Catalogue | None = None) -> pd.DataFrame:
    """Every estimate: indicator, method, effect, 95% interval, counties (clusters), how the interval was computed."""
    catalogue = catalogue or load_catalogue()
    units = [catalogue[r["indicator"]].unit for r in rows]
    to = " 至 " if lang == "zh" else " to "
    return pd.DataFrame({
        t("indicator", lang): [catalogue[r["indicator"]].name(lang) for r in rows],
        t("impact_method", lang): [t(METHOD_KEYS[r["method"]], lang) for r in rows],
        t("impact_effect", lang): [format_effect(r["estimate"], u, lang) for r, u in zip(rows, units)],
        t("ci", lang): [format_effect(r["ci_low"], u, lang).split(" ")[0] + to + format_effect(r["ci_high"], u, lang)
                        for r, u in zip(rows, units)],
        t("impact_clusters", lang): [f"{int(r['n_clusters'])}" for r in rows],
        t("impact_inference", lang): [inference_text(r.get("inference", ""), lang) for r in rows],
    })


def event_frame(event_study: dict) -> pd.DataFrame:
    """The stored event study as a table (event_time, estimate, se, ci_low, ci_high)."""
    return pd.DataFrame(event_study.get("rows") or [], columns=["event_time", "estimate", "se", "ci_low", "ci_high"])
