"""The glossary and the reference list every report's appendix shows, read from
``glossary.yaml`` and ``references.yaml`` next to the catalogue.

>>> any(term.term_zh == "可得率" for term in load_glossary())
True
>>> load_references()[0].text()
'祝建华. 由"双线并行"到"闭环联动"：政府救助与慈善帮扶有效衔接. 2025.'
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml


@dataclass(frozen=True)
class Term:
    term_zh: str
    term_en: str
    zh: str
    en: str

    def term(self, lang: str) -> str:
        return self.term_zh if lang == "zh" else self.term_en

    def meaning(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class Reference:
    cite: str  # how sources cite it: author or issuer (year)
    authors: str
    year: int
    title: str
    where: str = ""

    def text(self) -> str:
        """One line of the reference list: authors. title. where, year (the year once, when
        ``where`` gives it as year(issue): ``社会工作与管理, 2020(2)``)."""
        title = self.title if self.title.endswith((".", "?", "。")) else f"{self.title}."
        if not self.where:
            tail = f"{self.year}."
        elif re.search(rf"{self.year}\(\d+\)", self.where):  # year(issue)
            tail = f"{self.where}."
        else:
            tail = f"{self.where}, {self.year}."
        return f"{self.authors}. {title} {tail}"


def _read(name: str) -> dict:
    return yaml.safe_load(resources.files("evalkit.indicators").joinpath(name).read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def load_glossary() -> tuple[Term, ...]:
    """The glossary's terms in order, checked: every term and meaning in Chinese and English."""
    terms = []
    for entry in _read("glossary.yaml")["terms"]:
        term = Term(**{k: str(entry.get(k) or "").strip() for k in ("term_zh", "term_en", "zh", "en")})
        if not all((term.term_zh, term.term_en, term.zh, term.en)):
            raise ValueError(f"glossary: {entry.get('term_zh') or entry.get('term_en')!r} needs term_zh, term_en, "
                             f"zh and en")
        terms.append(term)
    if len({t.term_zh for t in terms}) != len(terms):
        raise ValueError("glossary: duplicate terms")
    return tuple(terms)


@lru_cache(maxsize=1)
def load_references() -> tuple[Reference, ...]:
    """The reference list in order, checked: author, year, title and a citation key each."""
    out = []
    for entry in _read("references.yaml")["references"]:
        ref = Reference(cite=str(entry["cite"]), authors=str(entry["authors"]), year=int(entry["year"]),
                        title=str(entry["title"]), where=str(entry.get("where") or ""))
        if not (ref.cite and ref.authors and ref.title) or str(ref.year) not in ref.cite:
            raise ValueError(f"references: {ref.cite!r} needs authors, title and a cite naming its year")
        out.append(ref)
    return tuple(out)


def citations(source: str) -> list[str]:
    """The works a catalogue ``source`` cites: its ``;``-separated parts."""
    return [p.strip() for p in source.split(";") if p.strip()]


def cited_references(sources, references=None) -> list[Reference]:
    """The references the ``sources`` (catalogue ``source`` texts) cite, in reference-list order."""
    references = references or load_references()
    cited = set()
    for source in sources:
        for part in citations(source):
            for ref in references:
                if part.startswith(ref.cite):
                    cited.add(ref.cite)
    return [r for r in references if r.cite in cited]


def uncited(source: str, references=None) -> list[str]:
    """The parts of a catalogue ``source`` that start with no reference's ``cite`` (should be none)."""
    references = references or load_references()
    return [p for p in citations(source) if not any(p.startswith(r.cite) for r in references)]

