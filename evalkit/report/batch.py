"""Running reports: one region, or every region in parallel processes, with resume.

Flow of ``evalkit report``:

1. check the options (:class:`Options`); fingerprint the data package; compute every
   indicator once (or reuse ``results.parquet`` in the output directory when it was
   computed from the same data with the same settings and indicator parameters) --
   notebooks read that file, never the raw data;
2. per region, a :class:`RegionJob`: execute the templates in one kernel (a batch
   worker's one kernel serves all its regions: :mod:`.execute`), export them without
   code, assemble the parts into one document ``index.html`` (:mod:`.document`),
   optionally print it to ``report.pdf``, and move them into place with
   ``manifest.json`` (:mod:`.publish`);
3. regions whose manifest records the same key (data, results, parameters, templates)
   are skipped (resume); with ``--all-regions`` the others run in parallel processes and
   one region failing does not stop the rest; the top index lists them (:mod:`.index`).
"""
from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from evalkit.data.io import atomic_write
from evalkit.data.package import EARLIEST_DATE, earliest
from evalkit.engine import sweep_stale
from evalkit.errors import NotebookFailed, PackageError, ParameterError, ReportError
from evalkit.indicators.parameters import Params

from .. import __version__
from .data import RESULTS_FILE, ReportData, compute_data, data_hash, load_data, read_meta, save_data
from .execute import Template, find_templates
from .index import INDEX, batch_index, dir_name, format_error
from .parameters import (
    DEFAULT_BY,
    check_by,
    check_min_cell,
    check_params,
    check_region,
    check_targets,
    params_json,
    resolve_period,
)
from .publish import FAILED_DIR, MANIFEST, clear_failed, keep_failed, publish, render_parts
from .text import check_lang

#: Memory budget per parallel worker: one kernel (~200 MiB) plus the worker running it.
WORKER_MIB = 350
SUMMARY = "summary.json"


# -- options --------------------------------------------------------------------------------

@dataclass
class Options:
    """Everything that shapes a report besides the region, checked at construction.

    ``by`` (household columns to break down by) and ``params`` (indicator parameters,
    :mod:`evalkit.indicators.parameters`) shape the numbers; ``earliest_date`` (the
    earliest plausible date, ``load(..., earliest_date=...)``) which packages are valid;
    the rest the pages.
    """

    lang: str = "zh"
    period: str | None = None
    pdf: bool = False
    targets: str | None = None
    min_cell: int = 10
    by: tuple[str, ...] = DEFAULT_BY
    params: Params | None = None
    notebooks: str | None = None
    timeout: float = 600
    force: bool = False
    earliest_date: dt.date | str | None = None
    templates: list[Template] = field(default_factory=list)
    targets_sha256: str | None = None
    code_sha256: str = ""

    def __post_init__(self):
        from .html import pdf_available

        check_lang(self.lang)
        self.min_cell = check_min_cell(self.min_cell)
        self.by = check_by(self.by)
        self.params = check_params(self.params)
        self.earliest_date = earliest(self.earliest_date)
        if not self.timeout or self.timeout <= 0:
            raise ParameterError(f"timeout must be positive, got {self.timeout!r}")
        self.targets, self.targets_sha256 = check_targets(self.targets)
        if self.pdf and not pdf_available():
            raise ReportError("--pdf needs WeasyPrint with Pango (apt-get install libpango-1.0-0 libpangoft2-1.0-0)")
        self.templates = find_templates(self.notebooks)
        self.code_sha256 = code_digest(report=True)


#: Modules of the report package that shape the results file too (breakdowns, curve ordinates).
DATA_STEP = ("report/data.py", "report/curves.py")


def code_digest(report: bool) -> str:
    """SHA-256 of evalkit's source (``.py``, ``.yaml``): the report package (``report=True``,
    what shapes the pages) or the rest but the command line, with the report's data step
    (:data:`DATA_STEP`; what shapes the numbers)."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.suffix not in (".py", ".yaml") or rel.as_posix() == "cli.py":
            continue
        if (rel.parts[0] == "report") == report or (not report and rel.as_posix() in DATA_STEP):
            digest.update(rel.as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


# -- indicators, once -----------------------------------------------------------------------

def results_settings(options: Options) -> dict:
    """What the results file depends on besides the data: a cached file is reused only
    when these match (the code hash covers catalogue and indicator changes in development)."""
    settings = {"evalkit": __version__, "code_sha256": code_digest(report=False), "min_cell": options.min_cell,
                "groups": list(options.by), "params": options.params.to_json()}
    if options.earliest_date != EARLIEST_DATE:  # so results computed before the option stay current
        settings["earliest_date"] = options.earliest_date.isoformat()
    return settings


def prepare(data_dir, out, options: Options, key_file=None, log=print) -> tuple[ReportData, Path]:
    """Fingerprint the package and compute indicators once into ``out/results.parquet``.

    Reuses an existing results file computed from the same data (fingerprint) with the
    same settings (evalkit version and source, min cell, breakdowns, indicator
    parameters), even with ``force``: the file is keyed by its inputs. Returns the data
    as the notebooks will read it and the results path.
    """
    data_dir, out = Path(data_dir), Path(out)
    if not data_dir.is_dir():
        raise PackageError(f"{data_dir}: no such directory (a data package is a directory of table files)")
    digest = data_hash(data_dir)
    path = out / RESULTS_FILE
    settings = results_settings(options)
    meta = read_meta(path) if path.exists() else None
    if meta and meta.get("data_hash") == digest and meta.get("settings") == settings:
        return load_data(path), path
    t0 = time.perf_counter()
    data = compute_data(data_dir, min_cell=options.min_cell, groups=options.by, key_file=key_file, digest=digest,
                        params=options.params, earliest_date=options.earliest_date)
    save_data(data, path, extra={"settings": settings})
    log(f"computed indicators for {data.regions.shape[0]} regions x {len(data.periods)} periods "
        f"({len(data.table):,} rows) in {time.perf_counter() - t0:.1f} s")
    return load_data(path), path  # what the notebooks will read, for the resume key too


# -- one region -----------------------------------------------------------------------------

@dataclass(frozen=True)
class RegionJob:
    """One region's report, sent to a worker process (picklable)."""

    region: str
    region_name: str
    parameters: dict  # what every notebook receives: JSON scalars only
    key: dict  # what the manifest records and resume compares
    package: str
    families: list[str]
    templates: list[Template]
    out_dir: str
    failed_dir: str
    pdf: bool
    timeout: float


def region_job(data: ReportData, results_path: Path, data_dir, region: str, period: str, options: Options,
               out_dir: Path, failed_dir: Path) -> RegionJob:
    """The job of rendering ``region``'s report for ``period`` into ``out_dir``."""
    params = {
        "data_path": str(Path(data_dir).resolve()),
        "results_path": str(Path(results_path).resolve()),
        "region": region,
        "period": period,
        "lang": options.lang,
        "targets_path": options.targets or "",
        "min_cell": options.min_cell,
        "by": ",".join(options.by),
        "params": params_json(options.params),
    }
    key = {
        "evalkit": __version__,
        "report_code_sha256": options.code_sha256,
        "data_hash": data.data_hash,
        "results_sha256": data.content_hash(),  # the numbers shown, whatever code computed them
        "region": region,
        "period": period,
        "lang": options.lang,
        "min_cell": options.min_cell,
        "by": list(options.by),
        "params": options.params.to_json(),
        "targets_sha256": options.targets_sha256,
        "pdf": bool(options.pdf),
        "notebooks": {t.name: t.sha256 for t in options.templates},
    }
    return RegionJob(region, data.region_name(region), params, key, data.package, data.families(),
                     list(options.templates), str(out_dir), str(failed_dir), bool(options.pdf), float(options.timeout))


def up_to_date(job: RegionJob) -> bool:
    """True when ``out_dir`` holds a finished report made from the same data and parameters."""
    out = Path(job.out_dir)
    try:
        manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if manifest.get("key") != job.key:
        return False
    return all((out / f).exists() for f in manifest.get("files", []))


def run_region(job: RegionJob) -> dict:
    """Render one region's report; never raises: failures come back as a status."""
    t0 = time.perf_counter()
    out = Path(job.out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    # A sibling temporary directory: nothing appears in ``out`` until the report is complete.
    sweep_stale(out.parent, f".{out.name}.render-")  # left by a run that was killed
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.render-{os.getpid()}-", dir=out.parent))
    result = {"region": job.region, "name": job.region_name, "status": "ok", "error": None}
    try:
        publish(tmp, out, render_parts(job, tmp))
        clear_failed(job)
    except Exception as exc:  # noqa: BLE001 - one region's failure must not stop the batch
        result.update(status="failed", error=describe(exc))
        keep_failed(job, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result["seconds"] = round(time.perf_counter() - t0, 2)
    return result


def describe(exc: BaseException) -> dict:
    """The failing notebook, cell and error of an exception, for the summary."""
    if isinstance(exc, NotebookFailed):
        return {"notebook": exc.notebook, "cell": exc.cell, "error": exc.error}
    return {"notebook": None, "cell": None, "error": f"{type(exc).__name__}: {exc}"}


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


def _options(period, lang, pdf, targets, min_cell, by, params, notebooks, timeout, force, earliest_date) -> Options:
    return Options(lang=lang, period=period, pdf=pdf, targets=str(targets) if targets else None, min_cell=min_cell,
                   by=by, params=params, notebooks=str(notebooks) if notebooks else None, timeout=timeout,
                   force=force, earliest_date=earliest_date)


def render_report(data_dir, region: str, out, period: str | None = None, lang: str = "zh", pdf: bool = False,
                  targets=None, min_cell: int = 10, by=DEFAULT_BY, params=None, notebooks=None, force: bool = False,
                  timeout: float = 600, key_file=None, earliest_date=None, log=print) -> RegionOutcome:
    """One region's report in ``out``: ``index.html`` (the whole report as one page),
    ``report.pdf`` with ``pdf=True``, ``manifest.json``.

    ``by`` lists the household columns to break results down by; ``params`` maps
    indicator parameters (e.g. ``{"omission_window_days": 30}``) to values;
    ``earliest_date`` is the earliest plausible date in the data (default 1990-01-01).
    Raises ``evalkit.ValidationError`` for an invalid package, ``ParameterError`` or
    ``ReportError`` for bad options; a failing notebook gives ``status == "failed"``
    with the error.
    """
    options = _options(period, lang, pdf, targets, min_cell, by, params, notebooks, timeout, force, earliest_date)
    out = Path(out)
    with exclusive(out, log):
        return _render_report(data_dir, region, out, options, period, key_file, log)


def _render_report(data_dir, region: str, out: Path, options: Options, period, key_file, log) -> RegionOutcome:
    data, results_path = prepare(data_dir, out, options, key_file=key_file, log=log)
    check_region(data, region)
    period = resolve_period(data, period)
    job = region_job(data, results_path, data_dir, region, period, options, out, out / FAILED_DIR)
    if not options.force and up_to_date(job):
        return RegionOutcome(region, job.region_name, "skipped", out)
    result = run_region(job)
    return RegionOutcome(region, job.region_name, result["status"], out, result["error"], result["seconds"])


def render_all(data_dir, out, period: str | None = None, lang: str = "zh", pdf: bool = False, targets=None,
               min_cell: int = 10, by=DEFAULT_BY, params=None, notebooks=None, force: bool = False,
               timeout: float = 600, workers: int | None = None, progress: bool = True, key_file=None,
               regions=None, earliest_date=None, log=print) -> BatchOutcome:
    """Every region's report under ``out/<region id>/``, an ``index.html`` linking them and
    ``summary.json`` listing failures. Indicators are computed once; regions run in
    parallel processes; one region failing does not stop the others; regions whose
    manifest matches are skipped.
    """
    options = _options(period, lang, pdf, targets, min_cell, by, params, notebooks, timeout, force, earliest_date)
    out = Path(out)
    with exclusive(out, log):
        return _render_all(data_dir, out, options, period, lang, workers, progress, key_file, regions, log)


def _render_all(data_dir, out: Path, options: Options, period, lang, workers, progress, key_file, regions,
                log) -> BatchOutcome:
    data, results_path = prepare(data_dir, out, options, key_file=key_file, log=log)
    period = resolve_period(data, period)
    computed = set(pd.unique(data.table["region"]))
    ids = [r for r in data.regions["region_id"] if r in computed]
    if regions is not None:
        unknown = sorted(set(regions) - set(ids))
        if unknown:
            raise ParameterError(f"regions not in the results: {', '.join(unknown)}")
        ids = [r for r in ids if r in set(regions)]
    jobs = [region_job(data, results_path, data_dir, r, period, options, out / dir_name(r), out / FAILED_DIR)
            for r in ids]
    done: dict[str, dict] = {}
    todo = []
    for job in jobs:
        sweep_stale(out, f".{dir_name(job.region)}.render-")  # left by a killed run, even of a finished region
        if not options.force and up_to_date(job):
            done[job.region] = {"region": job.region, "name": job.region_name, "status": "skipped",
                                "error": None, "seconds": 0.0}
        else:
            todo.append(job)
    if done:
        log(f"{len(done)} of {len(jobs)} regions up to date; rendering {len(todo)}")
    if todo:
        for result in _run_parallel(todo, worker_count(len(todo), workers), progress):
            done[result["region"]] = result
    outcomes = [done[j.region] for j in jobs]
    summary = {
        "period": period, "lang": lang, "data_hash": data.data_hash, "evalkit_version": __version__,
        "regions": outcomes, "failures": [o for o in outcomes if o["status"] == "failed"],
    }
    atomic_write(out / SUMMARY, lambda p: p.write_text(
        json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"))
    index = atomic_write(out / INDEX, lambda p: p.write_text(batch_index(data, outcomes, period, lang),
                                                             encoding="utf-8"))
    return BatchOutcome(out, index, period, [
        RegionOutcome(o["region"], o["name"], o["status"], out / dir_name(o["region"]), o["error"], o["seconds"])
        for o in outcomes], results_path)


@contextlib.contextmanager
def exclusive(out: Path, log=print):
    """One ``evalkit report`` at a time per output directory: an exclusive ``flock`` on the
    directory itself (no lock file; the kernel releases it when the holder dies, even by
    SIGKILL). A second identical run waits, then finds the report up to date and skips it.
    Without ``flock`` (not Linux/macOS) or when the directory cannot be opened, no lock."""
    try:
        import fcntl

        out.mkdir(parents=True, exist_ok=True)
        fd = os.open(out, os.O_RDONLY)
    except (ImportError, OSError):
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"waiting for another evalkit report writing into {out}")
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


# -- parallel processes -------------------------------------------------------------------------

def _run_parallel(jobs: list[RegionJob], workers: int, progress: bool):
    """Run region jobs in ``workers`` processes, yielding results as they finish."""
    from tqdm import tqdm

    bar = tqdm(total=len(jobs), desc="regions", unit="region", disable=not progress, file=sys.stderr)
    try:
        if workers <= 1:
            from .execute import shared_kernel

            _import_once()
            with shared_kernel():
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
                                     initializer=_init_worker, initargs=(os.getpid(),)) as pool:
                futures = {pool.submit(run_region, job): job for job in pending}
                for future in as_completed(futures):
                    job = futures[future]
                    try:
                        result = future.result()
                    except BrokenProcessPool as exc:
                        # A worker died (e.g. killed for memory): every unfinished region of this
                        # pool sees it; run each once more in a fresh pool before giving up.
                        if job.region not in retried:
                            retried.add(job.region)
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


def _crashed(job: RegionJob, exc: Exception) -> dict:
    return {"region": job.region, "name": job.region_name, "status": "failed",
            "error": describe(exc), "seconds": 0.0}


def _init_worker(parent: int) -> None:
    """Die with the batch (Linux: the kernel sends SIGTERM when the parent process dies),
    import the heavy modules once per worker rather than once per region, and run the
    worker's regions in one kernel, shut down when the worker exits."""
    exit_with_parent(parent)
    _import_once()
    from .execute import shared_kernel

    kernel = contextlib.ExitStack()
    kernel.enter_context(shared_kernel())
    atexit.register(kernel.close)


def _import_once() -> None:
    """Import the heavy modules once per process rather than once per region."""
    os.environ.setdefault("MPLBACKEND", "agg")
    from .execute import import_nbformat

    import_nbformat()
    import jupytext  # noqa: F401
    import papermill  # noqa: F401


def exit_with_parent(parent: int | None) -> None:
    """Ask the kernel to end this process when its parent dies (Linux ``PR_SET_PDEATHSIG``),
    so a killed batch leaves no worker rendering and publishing on its own."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if parent is not None and os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


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
