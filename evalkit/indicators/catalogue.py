"""The indicator catalogue, read from ``catalogue.yaml``.

>>> cat = load_catalogue()
>>> cat["access.availability_rate"].name_zh
'可得率'
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import resources

import yaml

from evalkit.errors import ParameterError

UNITS = ("rate", "count", "days", "yuan", "index", "km")
#: units of analysis: what an indicator's ``n`` (and a rate's numerator and denominator)
#: counts, with labels: ``noun`` (zh noun, en singular and plural) and ``heading`` (a
#: table column of counts, zh and en)
COUNTS: dict[str, dict] = {
    "households": {"zh": "户", "en": ("household", "households"), "heading": {"zh": "户数", "en": "Households"}},
    "needs": {"zh": "需求", "en": ("need", "needs"), "heading": {"zh": "需求数", "en": "Needs"}},
    "referrals": {"zh": "转介", "en": ("referral", "referrals"), "heading": {"zh": "转介数", "en": "Referrals"}},
    "cases": {"zh": "个案", "en": ("case", "cases"), "heading": {"zh": "个案数", "en": "Cases"}},
    "evaluations": {"zh": "评价", "en": ("evaluation", "evaluations"),
                    "heading": {"zh": "评价数", "en": "Evaluations"}},
    "service_points": {"zh": "服务点", "en": ("service point", "service points"),
                       "heading": {"zh": "服务点数", "en": "Service points"}},
    "aid_records": {"zh": "救助记录", "en": ("aid record", "aid records"),
                    "heading": {"zh": "救助记录数", "en": "Aid records"}},
}
#: which way is better: higher, lower, or neither (``neutral``: a descriptive indicator,
#: such as the need rate, shown with its value and trend but never coloured, targeted,
#: put in an improvement plan or scored in a composite index)
DIRECTIONS = ("higher", "lower", "neutral")
NEUTRAL = "neutral"
#: the directions a target, a RAG status or a composite score can be judged by
SCORED_DIRECTIONS = ("higher", "lower")
RESPONSIBLE = ("government", "charity", "joint")
VERSION = re.compile(r"\d{4}\.\d{1,2}\.\d+")
#: ``target_source`` of a default target no published work or policy document sets
TARGET_DEFAULT = "default"
#: a citation of a target's source names its year in parentheses: ``叶涛涛 (2022)《...》``
CITATION_YEAR = re.compile(r"[(（]\d{4}[)）]")


@dataclass(frozen=True)
class Indicator:
    id: str
    family: str
    name_zh: str
    name_en: str
    formula_zh: str
    formula_en: str
    unit: str
    counts: str
    direction: str
    target: float | None
    tables: tuple[str, ...]
    target_source: str = ""
    columns: tuple[str, ...] = ()
    per_service_type: bool = False
    source: str = ""
    responsible: str = "joint"
    action_zh: str = ""
    action_en: str = ""
    missing_zh: str = ""
    missing_en: str = ""
    censoring_zh: str = ""
    censoring_en: str = ""

    def name(self, lang: str = "zh") -> str:
        return self.name_zh if lang == "zh" else self.name_en

    def counts_label(self, lang: str = "zh", n=None) -> str:
        """The unit of analysis as a noun: ``户`` / ``households`` (``household`` when ``n`` is 1)."""
        return counts_label(self.counts, lang, n)

    def counts_heading(self, lang: str = "zh") -> str:
        """The heading of a column of this indicator's counts: ``转介数`` / ``Referrals``."""
        return COUNTS[self.counts]["heading"][lang]

    def action(self, lang: str = "zh") -> str:
        return self.action_zh if lang == "zh" else self.action_en

    @property
    def neutral(self) -> bool:
        """A descriptive indicator: neither higher nor lower is better (no target, no status)."""
        return self.direction == NEUTRAL

    @property
    def target_default(self) -> bool:
        """True when the default target is evalkit's own choice (no published figure sets it)."""
        return self.target is not None and self.target_source == TARGET_DEFAULT

    def missing(self, lang: str = "zh") -> str:
        """What a missing (blank) value counts as; units left out are counted in ``n_excluded``."""
        return self.missing_zh if lang == "zh" else self.missing_en

    def censoring(self, lang: str = "zh") -> str:
        """Which units and periods are incomplete at the data's end (``n_censored``, ``incomplete``)."""
        return self.censoring_zh if lang == "zh" else self.censoring_en


def counts_label(counts: str, lang: str = "zh", n=None) -> str:
    """A unit of analysis (:data:`COUNTS`) as a noun in ``lang``; English is plural unless ``n`` is 1.

    >>> counts_label("referrals", "zh"), counts_label("service_points", "en"), counts_label("cases", "en", 1)
    ('转介', 'service points', 'case')
    """
    label = COUNTS[counts]
    if lang == "zh":
        return label["zh"]
    singular, plural = label["en"]
    return singular if n == 1 else plural


class Catalogue:
    """Indicators and families in catalogue order; indexable by indicator id.

    ``version`` is the catalogue's declared release (``version:`` in catalogue.yaml);
    ``sha256`` fingerprints the definitions themselves (families and indicators as parsed,
    so comments and layout do not count), so an edit without a version bump is detectable.
    """

    def __init__(self, families: dict[str, dict], indicators: list[Indicator], version: str = "",
                 sha256: str = ""):
        self.families = families
        self.indicators = indicators
        self.version = version
        self.sha256 = sha256
        self._by_id = {i.id: i for i in indicators}

    def __getitem__(self, indicator_id: str) -> Indicator:
        try:
            return self._by_id[indicator_id]
        except KeyError:
            raise KeyError(f"no indicator {indicator_id!r} in the catalogue") from None

    def __contains__(self, indicator_id: str) -> bool:
        return indicator_id in self._by_id

    def __iter__(self):
        return iter(self.indicators)

    def __len__(self) -> int:
        return len(self.indicators)

    def family(self, family: str) -> list[Indicator]:
        if family not in self.families:
            raise ParameterError(f"unknown family {family!r}; known: {', '.join(self.families)}")
        return [i for i in self.indicators if i.family == family]

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame([asdict(i) for i in self.indicators])

    def render(self, fmt: str = "md") -> str:
        """The catalogue as Markdown, CSV or JSON text."""
        rows = [asdict(i) for i in self.indicators]
        if fmt == "json":
            return json.dumps({"version": self.version, "families": self.families, "indicators": rows},
                              ensure_ascii=False, indent=2)
        for r in rows:
            r["tables"] = ";".join(r["tables"])
            r["columns"] = ";".join(r["columns"])
        if fmt == "csv":
            out = io.StringIO()
            writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
            return out.getvalue()
        if fmt == "md":
            lines = []
            for fam, names in self.families.items():
                members = [r for r in rows if r["family"] == fam]
                if not members:
                    continue
                lines += [f"## {names['name_en']} ({names['name_zh']})", "",
                          "| id | 名称 | name | formula | missing values | data's end | unit | counts | direction "
                          "| target | needs |",
                          "|---|---|---|---|---|---|---|---|---|---|---|"]
                for r in members:
                    target = "" if r["target"] is None else f"{r['target']:g} ({r['target_source']})"
                    lines.append(f"| `{r['id']}` | {r['name_zh']} | {r['name_en']} | {r['formula_en']} | {r['missing_en']} "
                                 f"| {r['censoring_en']} | {r['unit']} | {r['counts']} | {r['direction']} | {target} "
                                 f"| {r['tables']} |")
                lines.append("")
            return "\n".join(lines)
        raise ValueError(f"format must be md, csv or json, got {fmt!r}")


@lru_cache(maxsize=1)
def load_catalogue() -> Catalogue:
    """The packaged catalogue, checked for complete and consistent entries."""
    text = resources.files("evalkit.indicators").joinpath("catalogue.yaml").read_text(encoding="utf-8")
    return parse_catalogue(yaml.safe_load(text))


def parse_catalogue(raw: dict) -> Catalogue:
    """A catalogue from the parsed YAML, checked: known family, unit, unit of analysis
    (``counts``: one of :data:`COUNTS`), direction (``higher``, ``lower`` or ``neutral``)
    and responsible side; a neutral indicator has no default target. Raises ValueError
    naming the entry."""
    version = str(raw.get("version", ""))
    if not VERSION.fullmatch(version):
        raise ValueError(f"catalogue: version must look like 2026.11.0 (year.month.revision), got {version!r}")
    families = raw["families"]
    indicators = []
    for entry in raw["indicators"]:
        entry = {**entry, "tables": tuple(entry["tables"]), "columns": tuple(entry.get("columns", ()))}
        if entry.get("counts") not in COUNTS:
            raise ValueError(f"catalogue: {entry.get('id')} must say what it counts (counts: its unit of analysis), "
                             f"got {entry.get('counts')!r}; one of: {', '.join(COUNTS)}")
        ind = Indicator(**entry)
        if ind.family not in families or not ind.id.startswith(ind.family + "."):
            raise ValueError(f"catalogue: {ind.id} must belong to a known family and start with it")
        if not (ind.missing_zh and ind.missing_en):
            raise ValueError(f"catalogue: {ind.id} must say what a missing value counts as (missing_zh, missing_en)")
        if not (ind.censoring_zh and ind.censoring_en):
            raise ValueError(f"catalogue: {ind.id} must say what is incomplete at the data's end (censoring_zh, censoring_en)")
        if ind.unit not in UNITS or ind.direction not in DIRECTIONS or ind.responsible not in RESPONSIBLE:
            raise ValueError(f"catalogue: {ind.id} has unit {ind.unit!r} / direction {ind.direction!r} "
                             f"/ responsible {ind.responsible!r}; units: {', '.join(UNITS)}; directions: "
                             f"{', '.join(DIRECTIONS)}; responsible: {', '.join(RESPONSIBLE)}")
        if ind.neutral and ind.target is not None:
            raise ValueError(f"catalogue: {ind.id} is neutral (descriptive), so it cannot have a target "
                             f"(got {ind.target!r}); use target: null")
        check_target_source(ind)
        indicators.append(ind)
    if len({i.id for i in indicators}) != len(indicators):
        raise ValueError("catalogue: duplicate indicator ids")
    return Catalogue(families, indicators, version, definitions_sha256(raw))


def check_target_source(ind: Indicator) -> None:
    """A default target says where it comes from (``target_source``): ``default`` (evalkit's
    own choice, "set your own") or the citation of a published figure or policy document,
    with its year; an indicator without a target has no target source. Raises ValueError."""
    source = ind.target_source
    if ind.target is None:
        if source:
            raise ValueError(f"catalogue: {ind.id} has no default target, so it takes no target_source "
                             f"(got {source!r})")
        return
    if not isinstance(source, str) or not source.strip():
        raise ValueError(f"catalogue: {ind.id} has a default target ({ind.target:g}) but no target_source: give "
                         f"'{TARGET_DEFAULT}' (evalkit's own choice) or the published figure or policy document "
                         f"it comes from (author or issuer (year) title)")
    if source != TARGET_DEFAULT and not CITATION_YEAR.search(source):
        raise ValueError(f"catalogue: {ind.id} target_source {source!r} must cite author or issuer, year in "
                         f"parentheses and title, or be '{TARGET_DEFAULT}'")
    if re.search(r"seed ?\d|DOMAIN|\.ya?ml\b|\.md\b", source, flags=re.IGNORECASE):
        raise ValueError(f"catalogue: {ind.id} target_source {source!r} must cite a published work by author, "
                         f"title and year, never a file or a working label")


def definitions_sha256(raw: dict) -> str:
    """SHA-256 of the catalogue's definitions (everything but ``version``) as canonical JSON."""
    body = {k: v for k, v in raw.items() if k != "version"}
    text = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
