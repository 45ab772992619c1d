"""One region's report as one document: a cover, a table of contents, then every part.

Each template's executed notebook becomes an HTML fragment of its outputs (:func:`part_body`);
:func:`assemble` puts the fragments into one page after a cover (region, period, report
date, data fingerprint explained in words, provenance) and a table of contents whose
entries link to the parts and their sections. The same page prints to one PDF
(:func:`evalkit.report.html.print_pdf`): CSS paged media gives page numbers and the
contents' page numbers (``target-counter``), which a browser on screen ignores.

>>> doc = assemble([Part("scorecard", "计分卡", '<header class="report-header"><h1>x</h1></header><h2>摘要</h2>')],
...                Cover("示范省", "R00", "2024Q4", "2026-11-28", "pkg", "b94adb30bbc6ee"), "zh")
>>> '<a href="#part-scorecard-1">摘要</a>' in doc and '<h2 id="part-scorecard-1">摘要</h2>' in doc
True
"""
from __future__ import annotations

import html as h
import re
from dataclasses import dataclass

from .html import page
from .text import t

HEADER = re.compile(r'<header class="report-header">.*?</header>', re.DOTALL)
FOOTER = re.compile(r'<footer class="report-footer">(.*?)</footer>', re.DOTALL)
SUMMARY = re.compile(r'<section class="summary">.*?</section>', re.DOTALL)
H2 = re.compile(r"<h2>(.*?)</h2>", re.DOTALL)
TAG = re.compile(r"<[^>]+>")
BREAK = re.compile(r"<br\s*/?>")


@dataclass(frozen=True)
class Part:
    """One part of a report: template name, title and its HTML fragment."""

    name: str
    title: str
    body: str

    @property
    def anchor(self) -> str:
        return f"part-{self.name}"


@dataclass(frozen=True)
class Cover:
    """What the cover says: where, when, from which data."""

    region_name: str
    region: str
    period: str
    date: str  # the day the report was made (ISO)
    package: str
    data_hash: str
    skipped: tuple[str, ...] = ()  # titles of parts not produced (no computable indicator)


def part_body(nb) -> tuple[str, list[str]]:
    """An executed notebook as an HTML fragment without code; also the stderr text it dropped."""
    from .html import notebook_html

    body, dropped = notebook_html(nb)
    return body.strip(), dropped


def _sections(part: Part) -> tuple[str, list[tuple[str, str]], str]:
    """A part's body with its own page heading and footer taken out and every section
    heading given an id; the (id, text) of those headings; its footer's text."""
    footer = FOOTER.search(part.body)
    body = FOOTER.sub("", HEADER.sub("", part.body))
    found: list[tuple[str, str]] = []

    def number(match: re.Match) -> str:
        anchor = f"{part.anchor}-{len(found) + 1}"
        found.append((anchor, _text(match.group(1))))
        return f'<h2 id="{anchor}">{match.group(1)}</h2>'

    body = H2.sub(number, body)
    return body, found, footer.group(1) if footer else ""


def _text(markup: str) -> str:
    """The text of a heading (of the first h2 in ``markup``, if any)."""
    first = H2.search(markup)
    return h.unescape(TAG.sub("", first.group(1) if first else markup)).strip()


def assemble(parts: list[Part], cover: Cover, lang: str) -> str:
    """The whole report as one self-contained HTML page: the cover, the summary (摘要, taken
    from the part that has one), the contents, then the parts."""
    chapters, toc, about, summary = [], [], "", ""
    for part in parts:
        if not summary and (found := SUMMARY.search(part.body)):
            summary = found.group(0).replace("<h2>", '<h2 id="summary">', 1)
            part = Part(part.name, part.title, SUMMARY.sub("", part.body, count=1))
            toc.append(f'<li class="toc-part"><a href="#summary">{h.escape(_text(found.group(0)))}</a></li>')
        body, headings, footer = _sections(part)
        about = about or footer  # every part's footer gives the same provenance: show it once
        chapters.append(f'<section class="part" id="{part.anchor}">'
                        f'<h1 class="part-title">{h.escape(part.title)}</h1>\n{body}\n</section>')
        items = "".join(f'<li><a href="#{a}">{h.escape(text)}</a></li>' for a, text in headings)
        toc.append(f'<li class="toc-part"><a href="#{part.anchor}">{h.escape(part.title)}</a>'
                   + (f"<ol>{items}</ol>" if items else "") + "</li>")
    contents = (f'<nav class="toc"><h2 class="toc-title">{h.escape(t("contents", lang))}</h2>'
                f'<ol>{"".join(toc)}</ol></nav>')
    title = f"{cover.region_name} · {t('index', lang)} · {cover.period}"
    return page(title, "\n".join([cover_html(cover, about, lang), summary, contents, *chapters]), lang)


def _without_facts(about: str, lang: str) -> str:
    """The provenance paragraph (``<p>line<br/>line</p>``) without the package and
    fingerprint lines, which the cover's facts already give."""
    inner = about.strip()
    if not (inner.startswith("<p>") and inner.endswith("</p>")):
        return about
    given = tuple(t(key, lang).split("{")[0] for key in ("package_line", "hash_line"))
    lines = [line for line in BREAK.split(inner[3:-4]) if not h.unescape(line).startswith(given)]
    return "<p>" + "<br/>".join(lines) + "</p>"


def cover_html(cover: Cover, about: str, lang: str) -> str:
    """The first page: the evaluation, the region and period, then what the report was made from."""
    rows = [
        (t("region", lang), t("cover_region", lang, name=cover.region_name, region=cover.region)),
        (t("period", lang), cover.period),
        (t("report_date", lang), cover.date),
        (t("package", lang), cover.package),
        (t("data_hash", lang), t("cover_fingerprint", lang, hash=cover.data_hash[:12])),
    ]
    if cover.skipped:
        sep = "、" if lang == "zh" else ", "
        rows.append((t("not_produced", lang), t("skipped_line", lang, names=sep.join(cover.skipped))))
    facts = "".join(f"<dt>{h.escape(k)}</dt><dd>{h.escape(v)}</dd>" for k, v in rows)
    about = _without_facts(about, lang)
    about_html = (f'<div class="cover-about"><h3>{h.escape(t("about_report", lang))}</h3>{about}</div>'
                  if about else "")
    return (f'<section class="cover"><p class="kicker">{h.escape(t("report", lang))}</p>'
            f'<h1 class="cover-title">{h.escape(cover.region_name)}</h1>'
            f'<p class="cover-subtitle">{h.escape(t("index", lang))} · {h.escape(cover.period)}</p>'
            f'<dl class="cover-facts">{facts}</dl>{about_html}</section>')
