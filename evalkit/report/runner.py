"""Running report notebooks: papermill per region in parallel processes, manifests, resume.

Flow of ``evalkit report``:

1. fingerprint the data package; compute every indicator once (or reuse
   ``results.parquet`` in the output directory when it was computed from the same data
   with the same settings) -- notebooks read that file, never the raw data;
2. per region: execute each template (jupytext text -> notebook in memory -> papermill)
   in a fresh kernel, export HTML without code, optionally print PDFs with Chromium,
   write ``index.html`` and ``manifest.json`` into a temporary directory, then move the
   files into place with the manifest last (a directory without a manifest is not a
   finished report);
3. regions whose manifest records the same data and parameters are skipped (resume).

Kernels talk over IPC sockets in a private temporary directory: parallel kernels over
TCP collide on ports ("Address already in use").
"""
from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from evalkit.data.io import atomic_write
from evalkit.indicators.catalogue import load_catalogue

from .. import __version__
from .data import GROUPS, RESULTS_FILE, ReportData, compute_data, data_hash, load_data, read_meta, save_data
from .present import header_html, html_table, provenance_html
from .text import check_lang

KERNEL = "python3"
#: Memory budget per parallel worker: one kernel (~200 MiB) plus the worker running it.
WORKER_MIB = 350
START_TIMEOUT = 60
MANIFEST = "manifest.json"
INDEX = "index.html"
SUMMARY = "summary.json"
FAILED_DIR = "_failed"


class ReportError(ValueError):
    """A report cannot be started: bad options, missing templates, no Chromium for --pdf."""


# -- templates ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Template:
    """A report notebook template: ``scorecard.py`` or ``<family>.py`` (jupytext percent format)."""

    name: str
    path: str
    family: str | None
    sha256: str


def notebooks_dir(override=None) -> Path:
    """Where the templates are: ``override``, ``$EVALKIT_NOTEBOOKS``, the source tree's
    ``notebooks/``, or ``<prefix>/share/evalkit/notebooks`` of an installed wheel."""
    candidates = []
    if override:
        candidates.append(Path(override))
    elif os.environ.get("EVALKIT_NOTEBOOKS"):
        candidates.append(Path(os.environ["EVALKIT_NOTEBOOKS"]))
    else:
        candidates.append(Path(__file__).resolve().parents[2] / "notebooks")
        candidates.append(Path(sys.prefix) / "share" / "evalkit" / "notebooks")
    for path in candidates:
        if path.is_dir():
            return path
    raise ReportError(f"no report templates: {' or '.join(str(p) for p in candidates)} is not a directory "
                      "(pass --notebooks DIR)")


def find_templates(directory=None) -> list[Template]:
    """The scorecard first, then one template per catalogue family, in catalogue order.

    Other files are ignored, so a ``coordination.py`` dropped into the directory becomes
    part of every report once the coordination family has indicators.
    """
    directory = notebooks_dir(directory)
    families = list(load_catalogue().families)
    order = ["scorecard", *families]
    found = {p.stem: p for p in directory.glob("*.py") if p.stem in order}
    if not found:
        raise ReportError(f"{directory} has no report templates (scorecard.py or one of "
                          f"{', '.join(f + '.py' for f in families)})")
    return [Template(name, str(found[name].resolve()), None if name == "scorecard" else name,
                     hashlib.sha256(found[name].read_bytes()).hexdigest())
            for name in order if name in found]


def part_title(template_name: str, lang: str) -> str:
    from .text import t

    if template_name == "scorecard":
        return t("scorecard", lang)
    fam = load_catalogue().families[template_name]
    return fam["name_zh"] if lang == "zh" else fam["name_en"]


# -- options and preparation ---------------------------------------------------------------

@dataclass
class Options:
    """Everything that shapes a report besides the region (validated at construction)."""

    lang: str = "zh"
    period: str | None = None
    pdf: bool = False
    targets: str | None = None
    min_cell: int = 10
    notebooks: str | None = None
    timeout: float = 600
    force: bool = False
    templates: list[Template] = field(default_factory=list)
    targets_sha256: str | None = None
    code_sha256: str = ""

    def __post_init__(self):
        from .html import find_chromium
        from .scorecard import read_targets

        try:
            check_lang(self.lang)
        except ValueError as exc:
            raise ReportError(str(exc)) from None
        if isinstance(self.min_cell, bool) or not isinstance(self.min_cell, int) or self.min_cell < 0:
            raise ReportError(f"min_cell must be a whole number >= 0, got {self.min_cell!r}")
        if not self.timeout or self.timeout <= 0:
            raise ReportError(f"timeout must be positive, got {self.timeout!r}")
        if self.targets:
            path = Path(self.targets).resolve()
            read_targets(path)  # TargetsError (a ValueError) names the bad entry
            self.targets = str(path)
            self.targets_sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
        if self.pdf and find_chromium() is None:
            raise ReportError("--pdf needs Chromium (apt-get install chromium, or set EVALKIT_CHROMIUM)")
        self.templates = find_templates(self.notebooks)
        self.code_sha256 = code_digest(report=True)


def _results_settings(min_cell: int) -> dict:
    """What the results file depends on besides the data: a cached file is reused only
    when these match (the code hash covers catalogue and indicator changes in development)."""
    return {"evalkit": __version__, "code_sha256": code_digest(report=False), "min_cell": int(min_cell),
            "groups": list(GROUPS)}


def code_digest(report: bool) -> str:
    """SHA-256 of evalkit's source (``.py``, ``.yaml``): the report package (``report=True``,
    what shapes the pages) or the rest but the command line (what shapes the numbers)."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.suffix not in (".py", ".yaml") or rel.as_posix() == "cli.py":
            continue
        if (rel.parts[0] == "report") == report:
            digest.update(rel.as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def prepare(data_dir, out, options: Options, key_file=None, log=print) -> tuple[ReportData, Path, str]:
    """Fingerprint the package and compute indicators once into ``out/results.parquet``.

    Reuses an existing results file computed from the same data (fingerprint) with the
    same settings (evalkit version and source, min cell, groups), even with ``force``:
    the file is keyed by its inputs. Returns the data, the results path and the fingerprint.
    """
    data_dir, out = Path(data_dir), Path(out)
    if not data_dir.is_dir():
        from evalkit.data.io import PackageError

        raise PackageError(f"{data_dir}: no such directory (a data package is a directory of table files)")
    digest = data_hash(data_dir)
    path = out / RESULTS_FILE
    settings = _results_settings(options.min_cell)
    meta = read_meta(path) if path.exists() else None
    if meta and meta.get("data_hash") == digest and meta.get("settings") == settings:
        return load_data(path), path, digest
    t0 = time.perf_counter()
    data = compute_data(data_dir, min_cell=options.min_cell, key_file=key_file, digest=digest)
    save_data(data, path, extra={"settings": settings})
    log(f"computed indicators for {data.regions.shape[0]} regions x {len(data.periods)} periods "
        f"({len(data.table):,} rows) in {time.perf_counter() - t0:.1f} s")
    return load_data(path), path, digest  # what the notebooks will read, for the resume key too


def resolve_period(data: ReportData, period: str | None) -> str:
    from evalkit.data.periods import parse

    if not data.periods:
        raise ReportError("the package has no dated records, so no period to report")
    if not period:
        return data.periods[-1]
    try:
        period = parse(period, data.frequency)
    except ValueError as exc:
        raise ReportError(str(exc)) from None
    if period not in data.periods:
        raise ReportError(f"period {period} is not in the data ({data.periods[0]} to {data.periods[-1]})")
    return period


# -- one region ----------------------------------------------------------------------------

def region_job(data: ReportData, results_path: Path, data_dir, region: str, period: str, options: Options,
               out_dir: Path, failed_dir: Path) -> dict:
    """A picklable description of one region's report (JSON types only)."""
    params = {
        "data_path": str(Path(data_dir).resolve()),
        "results_path": str(Path(results_path).resolve()),
        "region": region,
        "period": period,
        "lang": options.lang,
        "targets_path": options.targets or "",
        "min_cell": int(options.min_cell),
    }
    key = {
        "evalkit": __version__,
        "report_code_sha256": options.code_sha256,
        "data_hash": data.data_hash,
        "results_sha256": data.content_hash(),  # the numbers shown, whatever code computed them
        "region": region,
        "period": period,
        "lang": options.lang,
        "min_cell": int(options.min_cell),
        "targets_sha256": options.targets_sha256,
        "pdf": bool(options.pdf),
        "notebooks": {t.name: t.sha256 for t in options.templates},
    }
    return {
        "region": region,
        "region_name": data.region_name(region),
        "parameters": params,
        "key": key,
        "package": data.package,
        "families": data.families(),
        "templates": [t.__dict__ for t in options.templates],
        "out_dir": str(out_dir),
        "failed_dir": str(failed_dir),
        "pdf": bool(options.pdf),
        "timeout": float(options.timeout),
    }


def up_to_date(job: dict) -> bool:
    """True when ``out_dir`` holds a finished report made from the same data and parameters."""
    out = Path(job["out_dir"])
    try:
        manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if manifest.get("key") != job["key"]:
        return False
    return all((out / f).exists() for f in manifest.get("files", []))


def run_region(job: dict) -> dict:
    """Render one region's report; never raises: failures come back as a status."""
    t0 = time.perf_counter()
    out = Path(job["out_dir"])
    out.parent.mkdir(parents=True, exist_ok=True)
    # A sibling temporary directory: nothing appears in ``out`` until the report is complete.
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.render-", dir=out.parent))
    result = {"region": job["region"], "name": job["region_name"], "status": "ok", "error": None}
    try:
        manifest = _render(job, tmp)
        _publish(tmp, out, manifest)
        _clear_failed(job)
    except Exception as exc:  # noqa: BLE001 - one region's failure must not stop the batch
        result.update(status="failed", error=_describe(exc))
        _keep_failed(job, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result["seconds"] = round(time.perf_counter() - t0, 2)
    return result


def _render(job: dict, tmp: Path) -> dict:
    from .html import notebook_html, print_pdf

    params = job["parameters"]
    lang = params["lang"]
    parts, skipped, dropped = [], {}, []
    for tpl in job["templates"]:
        if tpl["family"] and tpl["family"] not in job["families"]:
            skipped[tpl["name"]] = "no indicators of this family could be computed from the data"
            continue
        title = f"{job['region_name']} · {part_title(tpl['name'], lang)} · {params['period']}"
        try:
            executed = execute(tpl, params, tmp, job["timeout"])
            document, stderr = notebook_html(executed, title, lang)
        except Exception as exc:
            exc._evalkit_notebook = tpl["name"]  # for the summary: which template failed
            raise
        dropped += [f"{tpl['name']}: {line}" for text in stderr for line in text.strip().splitlines()[:5]]
        (tmp / f"{tpl['name']}.html").write_text(document, encoding="utf-8")
        parts.append({"name": tpl["name"], "title": part_title(tpl["name"], lang), "html": f"{tpl['name']}.html"})
    if not parts:
        raise RuntimeError("no template produced a report part")
    for part in parts:
        if job["pdf"]:
            print_pdf(tmp / part["html"], tmp / f"{part['name']}.pdf")
            part["pdf"] = f"{part['name']}.pdf"
    (tmp / INDEX).write_text(region_index(job, parts, skipped), encoding="utf-8")
    files = [p["html"] for p in parts] + [p["pdf"] for p in parts if p.get("pdf")] + [INDEX]
    return {
        "evalkit_version": __version__,
        "created": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "data": {"path": params["data_path"], "sha256": job["key"]["data_hash"], "package": job["package"]},
        "results": params["results_path"],
        "parameters": {k: v for k, v in params.items() if k not in ("data_path", "results_path")}
                      | {"pdf": job["pdf"], "targets_sha256": job["key"]["targets_sha256"]},
        "notebooks": job["key"]["notebooks"],
        "parts": parts,
        "skipped_parts": skipped,
        "warnings": dropped[:50],
        "files": files,
        "key": job["key"],
    }


def execute(template: dict, parameters: dict, cwd: Path, timeout: float, output_path: Path | None = None):
    """Execute a jupytext template with papermill in a fresh kernel over IPC sockets."""
    import jupytext
    import papermill

    nb = jupytext.read(template["path"])
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python 3", "language": "python"}
    with _kernel_env():
        return papermill.execute_notebook(
            nb, str(output_path or cwd / f"{template['name']}.ipynb"), parameters=parameters,
            kernel_name=KERNEL, language="python", progress_bar=False, log_output=False,
            request_save_on_cell_execute=False, start_timeout=START_TIMEOUT, execution_timeout=timeout,
            cwd=str(cwd), config=_kernel_config(), shutdown_kernel="immediate",
        )


_PRIVATE: list[Path] = []


def _private_dir() -> Path:
    """A per-process directory (mode 700) for kernel sockets and connection files."""
    if not _PRIVATE:
        path = Path(tempfile.mkdtemp(prefix="evalkit-kernels-"))
        os.chmod(path, 0o700)
        atexit.register(shutil.rmtree, path, True)
        _PRIVATE.append(path)
    return _PRIVATE[0]


def _kernel_config():
    """Kernel settings: IPC sockets and the connection file (with its key) in the private
    directory; otherwise jupyter_client puts the connection file in the shared /tmp."""
    import uuid

    from traitlets.config import Config

    stem = _private_dir() / f"kernel-{uuid.uuid4().hex[:12]}"
    config = Config()
    config.KernelManager.transport = "ipc"
    config.KernelManager.ip = f"{stem}-ipc"
    config.KernelManager.connection_file = f"{stem}.json"
    return config


@contextlib.contextmanager
def _kernel_env():
    """Environment kernels inherit: private runtime dir, non-GUI matplotlib, quiet debugger."""
    settings = {"JUPYTER_RUNTIME_DIR": str(_private_dir()), "MPLBACKEND": "agg",
                "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    saved = {k: os.environ.get(k) for k in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _describe(exc: Exception) -> dict:
    """The failing notebook, cell and error of an exception, for the summary."""
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        return {"notebook": getattr(exc, "_evalkit_notebook", None), "cell": exc.exec_count,
                "error": f"{exc.ename}: {exc.evalue}"}
    return {"notebook": getattr(exc, "_evalkit_notebook", None), "cell": None,
            "error": f"{type(exc).__name__}: {exc}"}


def _keep_failed(job: dict, tmp: Path) -> None:
    """Keep the executed notebooks of a failed region (with the error cell) for debugging."""
    notebooks = sorted(tmp.glob("*.ipynb"))
    if not notebooks:
        return
    target = Path(job["failed_dir"]) / _dir_name(job["region"])
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True, exist_ok=True)
    for nb in notebooks:
        shutil.copy2(nb, target / nb.name)


def _clear_failed(job: dict) -> None:
    failed = Path(job["failed_dir"])
    shutil.rmtree(failed / _dir_name(job["region"]), ignore_errors=True)
    with contextlib.suppress(OSError):
        failed.rmdir()  # only when empty


def _publish(tmp: Path, out: Path, manifest: dict) -> None:
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


# -- index pages ----------------------------------------------------------------------------

def region_index(job: dict, parts: list[dict], skipped: dict) -> str:
    """The region's ``index.html``: links to the parts (and PDFs) and provenance; no clock time."""
    import html as h

    from .html import page
    from .text import t

    params = job["parameters"]
    lang = params["lang"]
    items = []
    for p in parts:
        pdf = f' · <a href="{h.escape(p["pdf"])}">PDF</a>' if p.get("pdf") else ""
        items.append(f'<li><a href="{h.escape(p["html"])}">{h.escape(p["title"])}</a>{pdf}</li>')
    body = [header_html(lang, f'{job["region_name"]} · {t("index", lang)}',
                        t("meta_line", lang, period=params["period"], region=job["region"])),
            f'<h2>{h.escape(t("parts", lang))}</h2><ul class="parts">{"".join(items)}</ul>']
    if skipped:
        names = ("、" if lang == "zh" else ", ").join(part_title(name, lang) for name in skipped)
        body.append(f'<p class="note">{h.escape(t("skipped_line", lang, names=names))}</p>')
    body.append(_provenance(job, lang))
    title = f"{job['region_name']} · {t('index', lang)} · {params['period']}"
    return page(title, "\n".join(body), lang)


def _provenance(job: dict, lang: str) -> str:
    params = job["parameters"]
    return provenance_html(lang, job["package"], job["key"]["data_hash"], params["min_cell"], params["targets_path"])


def batch_index(data: ReportData, outcomes: list[dict], period: str, lang: str) -> str:
    """The top ``index.html`` of an --all-regions run: every region with its status."""
    import html as h

    from .html import page
    from .text import level_label, t

    levels = dict(zip(data.regions["region_id"], data.regions["level"]))
    rows, badges = [], []
    for o in outcomes:
        ok = o["status"] in ("ok", "skipped")
        rows.append({t("region_id", lang): o["region"], t("region", lang): o["name"],
                     t("level", lang): level_label(levels.get(o["region"]), lang),
                     t("status", lang): t("ok" if ok else "failed", lang)})
        badges.append("ok" if ok else "failed")
    hrefs = [f"{_dir_name(o['region'])}/{INDEX}" if o["status"] in ("ok", "skipped") else None for o in outcomes]
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
    if not error:
        return ""
    where = " ".join(x for x in (error.get("notebook") and f"{error['notebook']}.py",
                                 error.get("cell") is not None and f"cell [{error['cell']}]") if x)
    return f"{where}: {error['error']}" if where else error["error"]


def _dir_name(region: str) -> str:
    """A region's output directory name (ids are codes; anything unsafe becomes _)."""
    return re.sub(r"[^\w.-]", "_", region)


# -- public entry points ----------------------------------------------------------------------

@dataclass
class RegionOutcome:
    region: str
    name: str
    status: str  # ok | skipped | failed
    out_dir: Path
    error: dict | None = None
    seconds: float = 0.0

    @property
    def index(self) -> Path:
        return self.out_dir / INDEX


@dataclass
class BatchOutcome:
    out: Path
    index: Path
    period: str
    regions: list[RegionOutcome]
    results: Path

    @property
    def failures(self) -> list[RegionOutcome]:
        return [r for r in self.regions if r.status == "failed"]


def render_report(data_dir, region: str, out, period: str | None = None, lang: str = "zh", pdf: bool = False,
                  targets=None, min_cell: int = 10, notebooks=None, force: bool = False, timeout: float = 600,
                  key_file=None, log=print) -> RegionOutcome:
    """One region's report in ``out``: index.html, one HTML (and PDF) per part, manifest.json.

    Raises ``evalkit.ValidationError`` for an invalid package, :class:`ReportError` for
    bad options; a failing notebook gives ``status == "failed"`` with the error.
    """
    options = Options(lang=lang, period=period, pdf=pdf, targets=str(targets) if targets else None,
                      min_cell=min_cell, notebooks=str(notebooks) if notebooks else None, timeout=timeout,
                      force=force)
    out = Path(out)
    data, results_path, _ = prepare(data_dir, out, options, key_file=key_file, log=log)
    if region not in set(data.regions["region_id"]):
        raise ReportError(f"region {region!r} is not in the package's regions table "
                          f"(e.g. {', '.join(data.regions['region_id'].astype(str).head(5))})")
    period = resolve_period(data, period)
    job = region_job(data, results_path, data_dir, region, period, options, out, out / FAILED_DIR)
    if not force and up_to_date(job):
        return RegionOutcome(region, job["region_name"], "skipped", out)
    result = run_region(job)
    return RegionOutcome(region, job["region_name"], result["status"], out, result["error"], result["seconds"])


def render_all(data_dir, out, period: str | None = None, lang: str = "zh", pdf: bool = False, targets=None,
               min_cell: int = 10, notebooks=None, force: bool = False, timeout: float = 600,
               workers: int | None = None, progress: bool = True, key_file=None, regions=None,
               log=print) -> BatchOutcome:
    """Every region's report under ``out/<region id>/``, an ``index.html`` linking them and
    ``summary.json`` listing failures. Indicators are computed once; regions run in
    parallel processes; one region failing does not stop the others; regions whose
    manifest matches are skipped.
    """
    options = Options(lang=lang, period=period, pdf=pdf, targets=str(targets) if targets else None,
                      min_cell=min_cell, notebooks=str(notebooks) if notebooks else None, timeout=timeout,
                      force=force)
    out = Path(out)
    data, results_path, _ = prepare(data_dir, out, options, key_file=key_file, log=log)
    period = resolve_period(data, period)
    computed = set(pd.unique(data.table["region"]))
    ids = [r for r in data.regions["region_id"] if r in computed]
    if regions is not None:
        unknown = sorted(set(regions) - set(ids))
        if unknown:
            raise ReportError(f"regions not in the results: {', '.join(unknown)}")
        ids = [r for r in ids if r in set(regions)]
    jobs = [region_job(data, results_path, data_dir, r, period, options, out / _dir_name(r), out / FAILED_DIR)
            for r in ids]
    done: dict[str, dict] = {}
    todo = []
    for job in jobs:
        if not force and up_to_date(job):
            done[job["region"]] = {"region": job["region"], "name": job["region_name"], "status": "skipped",
                                   "error": None, "seconds": 0.0}
        else:
            todo.append(job)
    if done:
        log(f"{len(done)} of {len(jobs)} regions up to date; rendering {len(todo)}")
    if todo:
        n = worker_count(len(todo), workers)
        for result in _run_parallel(todo, n, progress):
            done[result["region"]] = result
    outcomes = [done[j["region"]] for j in jobs]
    summary = {
        "period": period, "lang": lang, "data_hash": data.data_hash, "evalkit_version": __version__,
        "regions": outcomes, "failures": [o for o in outcomes if o["status"] == "failed"],
    }
    atomic_write(out / SUMMARY, lambda p: p.write_text(
        json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"))
    index = atomic_write(out / INDEX, lambda p: p.write_text(batch_index(data, outcomes, period, lang),
                                                             encoding="utf-8"))
    return BatchOutcome(out, index, period, [
        RegionOutcome(o["region"], o["name"], o["status"], out / _dir_name(o["region"]), o["error"], o["seconds"])
        for o in outcomes], results_path)


def _run_parallel(jobs: list[dict], workers: int, progress: bool):
    """Run region jobs in ``workers`` processes, yielding results as they finish."""
    from tqdm import tqdm

    bar = tqdm(total=len(jobs), desc="regions", unit="region", disable=not progress, file=sys.stderr)
    try:
        if workers <= 1:
            _init_worker()
            for job in jobs:
                result = run_region(job)
                bar.update()
                yield result
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed
        from concurrent.futures.process import BrokenProcessPool

        # spawn: the parent holds DuckDB threads; forking a threaded process is unsafe.
        ctx = multiprocessing.get_context("spawn")
        pending, retried = list(jobs), set()
        while pending:
            broken = []
            with ProcessPoolExecutor(max_workers=min(workers, len(pending)), mp_context=ctx,
                                     initializer=_init_worker) as pool:
                futures = {pool.submit(run_region, job): job for job in pending}
                for future in as_completed(futures):
                    job = futures[future]
                    try:
                        result = future.result()
                    except BrokenProcessPool as exc:
                        # A worker died (e.g. killed for memory): every unfinished region of this
                        # pool sees it; run each once more in a fresh pool before giving up.
                        if job["region"] not in retried:
                            retried.add(job["region"])
                            broken.append(job)
                            continue
                        result = _crashed(job, exc)
                    except Exception as exc:  # noqa: BLE001 - fails this region only
                        result = _crashed(job, exc)
                    bar.update()
                    if result["status"] == "failed":
                        bar.write(f"failed {result['region']}: {format_error(result['error'])}")
                    yield result
            pending = broken
    finally:
        bar.close()


def _crashed(job: dict, exc: Exception) -> dict:
    return {"region": job["region"], "name": job["region_name"], "status": "failed",
            "error": {"notebook": None, "cell": None, "error": f"{type(exc).__name__}: {exc}"}, "seconds": 0.0}


def _init_worker() -> None:
    """Import the heavy modules once per worker rather than once per region."""
    os.environ.setdefault("MPLBACKEND", "agg")
    import jupytext  # noqa: F401
    import nbconvert  # noqa: F401
    import papermill  # noqa: F401


def worker_count(tasks: int, requested: int | None = None) -> int:
    """Parallel workers: CPUs available to this process, limited by memory
    (``WORKER_MIB`` each) and by the number of tasks; ``requested`` overrides CPUs."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    by_memory = max(1, int(available_mib() // WORKER_MIB))
    n = min(requested or cpus, by_memory, tasks)
    return max(1, n)


def available_mib() -> float:
    """Memory available to this process (MemAvailable, capped by a cgroup v2 limit)."""
    available = float("inf")
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                available = int(line.split()[1]) / 1024
    with contextlib.suppress(OSError, ValueError):
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit != "max":
            used = int(Path("/sys/fs/cgroup/memory.current").read_text())
            available = min(available, (int(limit) - used) / 2**20)
    return available if available != float("inf") else 4096.0
