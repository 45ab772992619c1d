"""The top ``index.html`` of an --all-regions run, listing every region with its status and
the failures (a region's own ``index.html`` is its report: :mod:`.document`).

Neither shows clock time, so the same inputs give the same bytes.
"""
from __future__ import annotations

import html as h
import re
from typing import TYPE_CHECKING

import pandas as pd

from .. import __version__
from .html import page
from .present import header_html, html_table
from .text import level_label, t

if TYPE_CHECKING:
    from .data import ReportData

INDEX = "index.html"


def batch_index(data: ReportData, outcomes: list[dict], period: str, lang: str) -> str:
    """The top ``index.html`` of an --all-regions run: every region with its status."""
    levels = dict(zip(data.regions["region_id"], data.regions["level"]))
    rows, badges = [], []
    for o in outcomes:
        ok = o["status"] in ("ok", "skipped")
        rows.append({t("region_id", lang): o["region"], t("region", lang): o["name"],
                     t("level", lang): level_label(levels.get(o["region"]), lang),
                     t("status", lang): t("ok" if ok else "failed", lang)})
        badges.append("ok" if ok else "failed")
    hrefs = [f"{dir_name(o['region'])}/{INDEX}" if o["status"] in ("ok", "skipped") else None for o in outcomes]
    table = html_table(pd.DataFrame(rows), badges={t("status", lang): badges}, links={t("region_id", lang): hrefs})
    body = [header_html(lang, f'{data.package} · {t("regions", lang)}', t("period_line", lang, period=period)),
            table]
    failed = [o for o in outcomes if o["status"] == "failed"]
    if failed:
        items = "".join(f"<li>{h.escape(o['region'])} {h.escape(o['name'])}: {h.escape(format_error(o['error']))}</li>"
                        for o in failed)
        body.append(f'<h2>{h.escape(t("failures", lang))}</h2><ul class="failures">{items}</ul>')
    body.append(f'<footer class="report-footer"><p>{h.escape(t("hash_line", lang, hash=data.data_hash[:12]))}'
                f'<br/>{h.escape(t("generated_by", lang, version=__version__))}</p></footer>')
    return page(f"{data.package} · {t('regions', lang)} · {period}", "\n".join(body), lang)


def format_error(error: dict | None) -> str:
    """A failure as one line: ``access.py cell [4]: AssertionError: ...``."""
    if not error:
        return ""
    where = " ".join(x for x in (error.get("notebook") and f"{error['notebook']}.py",
                                 error.get("cell") is not None and f"cell [{error['cell']}]") if x)
    return f"{where}: {error['error']}" if where else error["error"]


def dir_name(region: str) -> str:
    """A region's output directory name (ids are codes; anything unsafe becomes _)."""
    return re.sub(r"[^\w.-]", "_", region)
