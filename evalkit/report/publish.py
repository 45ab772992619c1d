"""Writing one region's report: each part executed and exported to an HTML fragment, the
fragments assembled into one document (:mod:`.document`) and printed to one PDF, all in a
temporary directory, then moved into place with the manifest last.

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
from .document import Cover, Part, assemble, part_body
from .execute import execute_parts, part_title
from .index import INDEX, dir_name

if TYPE_CHECKING:
    from .batch import RegionJob

MANIFEST = "manifest.json"
PDF = "report.pdf"
FAILED_DIR = "_failed"
NOT_COMPUTED = "no indicators of this family could be computed from the data"


def render_parts(job: RegionJob, tmp: Path) -> dict:
    """The region's report written into ``tmp`` as one document (``index.html``, and
    ``report.pdf`` when asked); returns the manifest. A template failing raises
    :class:`NotebookFailed`."""
    from .html import check_self_contained, print_pdf

    lang = job.parameters["lang"]
    skipped = {tpl.name: NOT_COMPUTED for tpl in job.templates if tpl.family and tpl.family not in job.families}
    parts, dropped = [], []
    for name, (body, stderr) in _render_parts(job, [t for t in job.templates if t.name not in skipped], tmp):
        dropped += [f"{name}: {line}" for text in stderr for line in text.strip().splitlines()[:5]]
        parts.append(Part(name, part_title(name, lang), body))
    if not parts:
        raise RuntimeError("no template produced a report part")
    cover = Cover(job.region_name, job.region, job.parameters["period"], dt.date.today().isoformat(), job.package,
                  job.key["data_hash"], tuple(part_title(name, lang) for name in skipped))
    document = assemble(parts, cover, lang)
    check_self_contained(document)
    (tmp / INDEX).write_text(document, encoding="utf-8")
    files = [INDEX]
    if job.pdf:
        print_pdf(tmp / INDEX, tmp / PDF)
        files.append(PDF)
    listed = [{"name": p.name, "title": p.title, "anchor": p.anchor} for p in parts]
    return manifest(job, listed, skipped, dropped, files)


def _render_parts(job: RegionJob, templates: list, tmp: Path) -> list[tuple[str, tuple[str, list[str]]]]:
    """Execute the templates in one kernel; each one's HTML fragment and the stderr text dropped."""
    if not templates:
        return []
    try:
        executed = execute_parts(templates, job.parameters, tmp, job.timeout)
        return [(name, part_body(nb)) for name, nb in executed.items()]
    except NotebookFailed:
        raise
    except Exception as exc:  # export problems, kernels that never start: a failure of the report
        raise NotebookFailed(templates[0].name, None, f"{type(exc).__name__}: {exc}") from exc


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
