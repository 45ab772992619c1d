"""The report page (self-contained HTML, one CSS for screen and print), PDF printing with
WeasyPrint, and screenshots with headless Chromium (for checks).

The page is the notebooks' outputs (no code, no prompts, no scripts) inside our own minimal
HTML page with inline CSS: no external URL, images as data URIs, ``lang="zh"`` for Chinese
reports. Stderr streams (library warnings) are dropped, so the same inputs give the same bytes.
"""
from __future__ import annotations

import base64
import html
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from evalkit.errors import EvalkitError

CSS = """
:root{--ink:#1f2328;--muted:#59636e;--line:#d0d7de;--accent:#0b5cad}
*{box-sizing:border-box}
body{font-family:"Noto Sans CJK SC","Noto Sans SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",sans-serif;
color:var(--ink);margin:0 auto;max-width:1100px;padding:24px 32px 48px;line-height:1.6;font-size:14px}
h1{font-size:24px;margin:4px 0 6px}h2{font-size:18px;margin:28px 0 10px;padding-bottom:4px;border-bottom:2px solid var(--accent)}
h3{font-size:15px;margin:18px 0 8px}
a{color:var(--accent)}
.kicker{color:var(--accent);font-weight:bold;margin:0}.meta{color:var(--muted);margin:0 0 12px}
.note{color:var(--muted);font-size:13px}
.lead{font-size:15.5px;font-weight:600;margin:10px 0;padding-left:10px;border-left:4px solid var(--accent)}
.report-table{border-collapse:collapse;margin:8px 0 16px;font-size:12.5px;min-width:50%}
.report-table caption{text-align:left;font-weight:bold;padding:4px 0}
.report-table th{background:#f3f5f7;text-align:left;border-bottom:2px solid var(--line);padding:5px 8px;vertical-align:bottom}
.report-table td{border-bottom:1px solid var(--line);padding:4px 8px;vertical-align:top;white-space:nowrap}
.report-table td.wrap{white-space:normal;min-width:8em}
.report-table td.num{text-align:right;font-variant-numeric:tabular-nums}
.report-table tbody tr:nth-child(even){background:#fafbfc}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;white-space:nowrap}
.badge-green{background:#2e7d32;color:#fff}.badge-amber{background:#f2a900;color:#1f2328}
.badge-red{background:#c62828;color:#fff}.badge-no_target,.badge-suppressed,.badge-no_data,.badge-descriptive,.badge-skipped,.badge-incomplete{background:#e7e9eb;color:#1f2328}
.badge-ok{background:#2e7d32;color:#fff}.badge-failed{background:#c62828;color:#fff}
figure.chart{margin:12px 0 20px}figure.chart img{max-width:100%;height:auto}
figcaption{color:var(--muted);font-size:12px}
.report-footer{margin-top:36px;border-top:1px solid var(--line);color:var(--muted);font-size:12px}
.output_stdout pre,.output_text pre{white-space:pre-wrap;font-size:12px}
ul.parts li{margin:4px 0}
section.summary{border:1px solid var(--line);border-left:4px solid var(--accent);padding:4px 18px 8px;margin:12px 0 20px;background:#f8fafc}
section.summary h2{margin-top:10px}section.summary ol li{margin:6px 0}
section.cover{padding:8px 0 24px}.cover-title{font-size:30px;margin:24px 0 4px}
.cover-subtitle{font-size:18px;color:var(--muted);margin:0 0 24px}
dl.cover-facts{display:grid;grid-template-columns:max-content 1fr;gap:6px 18px;margin:0 0 24px}
dl.cover-facts dt{font-weight:bold}dl.cover-facts dd{margin:0}
.cover-about{color:var(--muted);font-size:13px;border-top:1px solid var(--line)}
nav.toc ol{list-style:none;padding-left:0}nav.toc ol ol{padding-left:1.5em}
nav.toc li.toc-part{font-weight:bold;margin-top:8px}nav.toc li li{font-weight:normal;margin:2px 0}
section.part{margin-top:40px}h1.part-title{font-size:22px;border-bottom:3px solid var(--accent);padding-bottom:4px}
/* print (WeasyPrint): A4, page numbers, the contents' page numbers, no text under 8 pt */
@page{size:A4;margin:16mm 12mm 16mm 12mm;
@top-right{content:string(part);font-size:8pt;color:#59636e}
@bottom-center{content:counter(page) " / " counter(pages);font-size:8pt;color:#59636e}}
@page wide{size:A4 landscape}
@page:first{@top-right{content:none}@bottom-center{content:none}}
@media print{body{max-width:none;padding:0;font-size:9.5pt;line-height:1.5}
h1{font-size:17pt}h2{font-size:12.5pt;break-after:avoid}h3{font-size:10.5pt;break-after:avoid}
.cover-title{font-size:26pt;margin-top:60mm}.cover-subtitle{font-size:14pt}.cover-about{font-size:8.5pt}
.note,figcaption,.report-footer,.output_stdout pre,.output_text pre{font-size:8.5pt}
.lead{font-size:10.5pt}.badge{font-size:8pt}
.report-table{font-size:8pt;min-width:0;max-width:100%}table.wide{page:wide}.report-table th{padding:3px 5px}.report-table td{padding:2px 5px}
section.cover,nav.toc,section.summary{break-after:page}section.part{margin-top:0;break-before:page}
h1.part-title{string-set:part content();font-size:17pt}
nav.toc a{color:inherit;text-decoration:none}nav.toc a::after{content:leader('.') target-counter(attr(href), page)}
figure.chart,tr,section.summary li{break-inside:avoid}a{color:inherit}}
"""

# what makes a browser fetch or run something from outside the page: a URL in an attribute that
# loads (src, href of a link element, srcset, poster, data, action), in CSS (url(), @import), a
# script from a file, a frame or an embedded object. A URL in the text (a region named after its
# website, say) is only text: escaped, never fetched.
EXTERNAL = re.compile(
    r"\b(?:src|srcset|poster|data|action|formaction|background)\s*=\s*(?![\"']?\s*(?:data:|#))"
    r"|<link[^>]*\bhref\s*=\s*(?![\"']?#)|url\(\s*(?![\"']?\s*(?:data:|#))|@import|<script[^>]*\bsrc\s*="
    r"|<(?:iframe|object|embed|base)\b", re.IGNORECASE)


class ReportHTMLError(EvalkitError, RuntimeError):
    """An HTML report that would not be self-contained."""


def page(title: str, body: str, lang: str) -> str:
    """A complete HTML document around ``body`` with inline CSS and the page language."""
    code = "zh" if lang == "zh" else "en"  # "zh", not "zh-CN": what browsers and checkers expect here
    return ("<!DOCTYPE html>\n"
            f'<html lang="{code}">\n<head>\n<meta charset="utf-8"/>\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1"/>\n'
            f"<title>{html.escape(title)}</title>\n<style>{CSS}</style>\n</head>\n"
            f"<body>\n{body}\n</body>\n</html>\n")


def notebook_html(nb) -> tuple[str, list[str]]:
    """An executed notebook's outputs as one HTML fragment, and the stderr text it dropped.

    Only code cells' outputs are shown (markdown cells are notes for template authors):
    HTML as it is, images as data URIs, anything else as preformatted text. Stderr
    streams (library warnings) are dropped and returned.
    """
    parts: list[str] = []
    dropped: list[str] = []
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind == "stream":
                if out.get("name") == "stderr":
                    dropped.append(_joined(out.get("text", "")))
                else:
                    parts.append(_preformatted(out.get("text", ""), "output_stdout"))
            elif kind in ("display_data", "execute_result"):
                parts.append(_display(out.get("data", {})))
            elif kind == "error":  # papermill raises first; never show a traceback
                parts.append(_preformatted(f"{out.get('ename', '')}: {out.get('evalue', '')}", "output_text"))
    return "\n".join(p for p in parts if p), dropped


def _display(data: dict) -> str:
    if "text/html" in data:
        return _joined(data["text/html"])
    for mime in ("image/svg+xml", "image/png", "image/jpeg"):
        if mime in data:
            raw = _joined(data[mime])
            encoded = base64.b64encode(raw.encode("utf-8")).decode("ascii") if mime == "image/svg+xml" \
                else raw.replace("\n", "")
            return f'<img alt="" src="data:{mime};base64,{encoded}"/>'
    return _preformatted(data.get("text/plain", ""), "output_text")


def _preformatted(text, css_class: str) -> str:
    text = _joined(text)
    return f'<div class="{css_class}"><pre>{html.escape(text, quote=False)}</pre></div>' if text else ""


def _joined(value) -> str:
    return value if isinstance(value, str) else "".join(value)


def check_self_contained(document: str) -> None:
    """Raise :class:`ReportHTMLError` if the page refers to anything outside itself."""
    match = EXTERNAL.search(document)
    if match:
        start = max(0, match.start() - 60)
        raise ReportHTMLError(f"the report refers to an external resource near: {document[start:match.end() + 60]!r}")


# -- Chromium ----------------------------------------------------------------------------

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--mute-audio")


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome executable (``EVALKIT_CHROMIUM`` first), or None."""
    env = os.environ.get("EVALKIT_CHROMIUM")
    if env:
        return env if Path(env).exists() else shutil.which(env)
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _chromium(args: list[str], output: Path, timeout: float) -> Path:
    exe = find_chromium()
    if exe is None:
        raise RuntimeError("Chromium is not installed (apt-get install chromium); needed for screenshots")
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="evalkit-chromium-") as profile:
        cmd = [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
        try:
            run = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                 env={**os.environ, "HOME": profile})
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"Chromium took longer than {timeout:.0f} s for {output.name}") from None
    if run.returncode != 0 or not output.exists() or output.stat().st_size == 0:
        tail = "\n".join(run.stderr.strip().splitlines()[-5:])
        raise RuntimeError(f"Chromium could not write {output.name} (exit {run.returncode}): {tail}")
    return output


def print_pdf(html_path, pdf_path) -> Path:
    """Print a report's HTML file to PDF with WeasyPrint: CSS paged media (page numbers, the
    contents' page numbers), fonts embedded as CID fonts (Chromium's PDF turns the CFF
    outlines of Noto CJK into Type 3 fonts), SVG charts as vectors with real text.

    Only ``data:`` URIs are fetched: a report is self-contained.
    """
    weasyprint = _weasyprint()
    pdf_path = Path(pdf_path)
    tmp = pdf_path.with_name(f".{pdf_path.name}.{os.getpid()}.tmp.pdf")
    try:
        from weasyprint.urls import URLFetcher

        fetcher = URLFetcher(allowed_protocols={"data"}, fail_on_errors=True)
        weasyprint.HTML(string=Path(html_path).read_text(encoding="utf-8"), url_fetcher=fetcher).write_pdf(str(tmp))
        os.replace(tmp, pdf_path)
    finally:
        tmp.unlink(missing_ok=True)
    return pdf_path


def _weasyprint():
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: the Pango library is missing
        raise ReportHTMLError(f"PDF printing needs WeasyPrint and Pango ({exc}); "
                              "install with: apt-get install libpango-1.0-0 libpangoft2-1.0-0") from exc
    return weasyprint


def pdf_available() -> bool:
    """Whether reports can be printed to PDF here (WeasyPrint imports, Pango present)."""
    try:
        _weasyprint()
    except ReportHTMLError:
        return False
    return True


def screenshot(html_path, png_path, width: int = 1280, height: int = 2000, timeout: float = 120) -> Path:
    """A PNG screenshot of an HTML file as headless Chromium renders it."""
    return _chromium([f"--screenshot={Path(png_path).resolve()}", f"--window-size={width},{height}",
                      Path(html_path).resolve().as_uri()], Path(png_path), timeout)
