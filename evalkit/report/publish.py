"""Writing one region's report: each part executed and exported to HTML (and printed to PDF
with Chromium) in a temporary directory, then moved into place with the manifest last.

A directory without ``manifest.json`` is not a finished report. A failed region's
executed notebooks are kept in ``_failed/<region>/`` for debugging.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from evalkit.data.io import atomic_write
from evalkit.errors import NotebookFailed

from .. import __version__
from .execute import execute, part_title
from .index import INDEX, dir_name, region_index

if TYPE_CHECKING:
    from .batch import RegionJob

MANIFEST = "manifest.json"
FAILED_DIR = "_failed"
NOT_COMPUTED = "no indicators of this family could be computed from the data"


def render_parts(job: RegionJob, tmp: Path) -> dict:
    """Every part of the region's report, its index and PDFs written into ``tmp``; returns
    the manifest. A template failing raises :class:`NotebookFailed`."""
    from .html import print_pdf

    params = job.parameters
    parts, skipped, dropped = [], {}, []
    for tpl in job.templates:
        if tpl.family and tpl.family not in job.families:
            skipped[tpl.name] = NOT_COMPUTED
            continue
        stderr = _render_part(job, tpl, tmp)
        dropped += [f"{tpl.name}: {line}" for text in stderr for line in text.strip().splitlines()[:5]]
        parts.append({"name": tpl.name, "title": part_title(tpl.name, params["lang"]), "html": f"{tpl.name}.html"})
    if not parts:
        raise RuntimeError("no template produced a report part")
    for part in parts:
        if job.pdf:
            print_pdf(tmp / part["html"], tmp / f"{part['name']}.pdf")
            part["pdf"] = f"{part['name']}.pdf"
    (tmp / INDEX).write_text(region_index(job, parts, skipped), encoding="utf-8")
    files = [p["html"] for p in parts] + [p["pdf"] for p in parts if p.get("pdf")] + [INDEX]
    return manifest(job, parts, skipped, dropped, files)


def _render_part(job: RegionJob, tpl, tmp: Path) -> list[str]:
    """Execute one template and export it to ``<name>.html``; returns the stderr text dropped."""
    from .html import notebook_html

    params = job.parameters
    title = f"{job.region_name} · {part_title(tpl.name, params['lang'])} · {params['period']}"
    try:
        executed = execute(tpl, params, tmp, job.timeout)
        document, stderr = notebook_html(executed, title, params["lang"])
    except NotebookFailed:
        raise
    except Exception as exc:  # export problems, kernels that never start: still this template's failure
        raise NotebookFailed(tpl.name, None, f"{type(exc).__name__}: {exc}") from exc
    (tmp / f"{tpl.name}.html").write_text(document, encoding="utf-8")
    return stderr


def manifest(job: RegionJob, parts: list[dict], skipped: dict, warnings: list[str], files: list[str]) -> dict:
    """What a finished region records: inputs, parameters, parts, and the resume key."""
    params = job.parameters
    shown = {k: v for k, v in params.items() if k not in ("data_path", "results_path")}
    return {
        "evalkit_version": __version__,
        "created": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "data": {"path": params["data_path"], "sha256": job.key["data_hash"], "package": job.package},
        "results": params["results_path"],
        "parameters": shown | {"params": json.loads(params["params"]), "pdf": job.pdf,
                               "targets_sha256": job.key["targets_sha256"]},
        "notebooks": job.key["notebooks"],
        "parts": parts,
        "skipped_parts": skipped,
        "warnings": warnings[:50],
        "files": files,
        "key": job.key,
    }


def publish(tmp: Path, out: Path, manifest: dict) -> None:
    """Move a finished report from ``tmp`` into ``out``, manifest last.

    The old manifest goes first, so an interrupted move never leaves a directory that
    claims to be complete; files of the previous report that are no longer produced
    (e.g. PDFs) are removed.
    """
    old = out / MANIFEST
    previous = []
    if old.exists():
        with contextlib.suppress(OSError, ValueError):
            previous = json.loads(old.read_text(encoding="utf-8")).get("files", [])
        old.unlink()
    out.mkdir(parents=True, exist_ok=True)
    for name in manifest["files"]:
        os.replace(tmp / name, out / name)
    for name in set(previous) - set(manifest["files"]):
        (out / name).unlink(missing_ok=True)
    atomic_write(out / MANIFEST, lambda p: p.write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"))


def keep_failed(job: RegionJob, tmp: Path) -> None:
    """Keep the executed notebooks of a failed region (with the error cell) for debugging."""
    notebooks = sorted(tmp.glob("*.ipynb"))
    if not notebooks:
        return
    target = Path(job.failed_dir) / dir_name(job.region)
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True, exist_ok=True)
    for nb in notebooks:
        shutil.copy2(nb, target / nb.name)


def clear_failed(job: RegionJob) -> None:
    """Forget a region's earlier failure once it renders."""
    failed = Path(job.failed_dir)
    shutil.rmtree(failed / dir_name(job.region), ignore_errors=True)
    with contextlib.suppress(OSError):
        failed.rmdir()  # only when empty
