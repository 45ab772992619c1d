"""Time evaluation reports: the package-level work once, one region's report, every region
of the package in parallel, and what a PDF adds.

    .venv/bin/python bench/bench_report.py --households 50000 --regions 64 --periods 8 --workers 2 --keep /tmp/report-bench
    .venv/bin/python bench/bench_report.py --package /tmp/evalkit-bench-load/parquet-50000 --keep /tmp/report-bench

Prints one line per stage:

- ``package-level``: indicators, curves and the reform's impact computed once per package
  (``results.parquet``; reused when ``--keep`` already holds it for the same data and code);
- ``one region``: that region's report (notebooks and export) from those results, alone and
  with its share of the package-level work (that work divided by the number of regions);
- ``all regions``: every region's report on ``--workers`` processes, from the same results:
  wall seconds, and the marginal seconds per region (wall time x workers / regions);
- ``pdf``: the same region with ``--pdf``, and what the PDF adds;
- ``resume``: a second batch over the same output (every region up to date).

With ``--keep DIR`` a generated package stays in ``DIR/pkg`` and is generated only once;
``--package`` uses an existing package instead (read only: outputs go to ``--keep`` or a
temporary directory).
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from package_options import add_package_options

from evalkit.data.synth import generate
from evalkit.report import render_all, render_report
from evalkit.report.batch import Options, prepare, worker_count
from evalkit.report.data import RESULTS_FILE


def cpu() -> float:
    """CPU seconds of this process and of the processes it waited for (kernels, workers and
    theirs): with other work on the machine, compare these rather than wall seconds."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_package_options(ap, households=50_000)
    ap.add_argument("--package", type=Path, help="An existing data package (read only) instead of a generated one.")
    ap.add_argument("--region", default="R00", help="The region timed alone (default R00, the top region).")
    ap.add_argument("--workers", type=int, help="Parallel processes for all regions (default: sized to the machine).")
    ap.add_argument("--batch", type=int, help="Render only the first N regions in the batch (default: all).")
    ap.add_argument("--no-batch", action="store_true", help="Skip the all-regions and resume stages.")
    ap.add_argument("--no-pdf", action="store_true", help="Skip the PDF stage.")
    ap.add_argument("--keep", type=Path, help="Work here and keep the outputs (and a generated package).")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="evalkit-bench-report-"))
    try:
        pkg = args.package or package(work / "pkg", args)
        run(pkg, work, args)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


def package(pkg: Path, args) -> Path:
    """The generated package in ``pkg``: generated once, then reused."""
    if (pkg / "regions.parquet").exists():
        print(f"package      {'':>8}    reused {pkg}")
        return pkg
    t0 = time.perf_counter()
    generate(pkg, args.households, args.regions, args.periods, args.seed, overwrite=True)
    print(f"package      {time.perf_counter() - t0:8.1f} s  generated {args.households:,} households, "
          f"{args.regions} counties, {args.periods} periods")
    return pkg


def run(pkg: Path, work: Path, args) -> None:
    quiet = lambda message: None  # noqa: E731
    shared = work / "all"
    timing = shared / "package-seconds.txt"  # the last computation's time, for a reused results file
    computed: list[float] = []

    def log(message: str) -> None:
        if message.startswith("computed indicators"):
            computed.append(float(message.rsplit(" in ", 1)[1].split()[0]))

    t0 = time.perf_counter()
    data, results = prepare(pkg, shared, Options(), log=log)
    if computed:
        package_seconds, how = time.perf_counter() - t0, "computed"
        timing.write_text(f"{package_seconds:.1f}\n")
    else:
        package_seconds = float(timing.read_text()) if timing.exists() else float("nan")
        how = f"reused; computed in {package_seconds:.1f} s before"
    regions = len(data.regions)
    print(f"package-level {package_seconds:7.1f} s  indicators, curves and impact once for {regions} regions "
          f"({len(data.table):,} rows; {how})")
    share = package_seconds / regions

    c0 = cpu()
    one = region_seconds(pkg, results, work / "one", args.region, pdf=False)
    one_cpu = cpu() - c0
    print(f"one region   {one:8.1f} s  {args.region} from the package's results ({one_cpu:.1f} s CPU); with its "
          f"share of the package-level work ({share:.1f} s): {one + share:.1f} s")

    if not args.no_batch:
        todo = None if args.batch is None else list(data.regions["region_id"])[:args.batch]
        n = regions if todo is None else len(todo)
        for stale in shared.iterdir():
            if stale.is_dir():
                shutil.rmtree(stale)
        workers = args.workers or worker_count(n)
        t0, c0 = time.perf_counter(), cpu()
        batch = render_all(pkg, shared, workers=workers, progress=False, regions=todo, log=quiet)
        seconds, cpu_seconds = time.perf_counter() - t0, cpu() - c0
        ok = sum(r.status == "ok" for r in batch.regions)
        print(f"all regions  {seconds:8.1f} s  {ok}/{n} regions on {workers} workers ({os.cpu_count()} CPUs): "
              f"{seconds / n:.2f} s per region wall, {seconds * workers / n:.2f} s marginal per region "
              f"(wall x workers / regions), {cpu_seconds / n:.2f} s CPU per region")
        for r in batch.failures:
            print(f"  failed {r.region}: {r.error}")
        t0 = time.perf_counter()
        again = render_all(pkg, shared, workers=workers, progress=False, regions=todo, log=quiet)
        skipped = sum(r.status == "skipped" for r in again.regions)
        print(f"resume       {time.perf_counter() - t0:8.1f} s  {skipped}/{n} regions up to date")

    if not args.no_pdf:
        c0 = cpu()
        with_pdf = region_seconds(pkg, results, work / "one-pdf", args.region, pdf=True)
        pdf_cpu = cpu() - c0
        print(f"pdf          {with_pdf:8.1f} s  {args.region} with --pdf: the PDF adds {with_pdf - one:.1f} s "
              f"({pdf_cpu - one_cpu:.1f} s CPU)")


def region_seconds(pkg: Path, results: Path, out: Path, region: str, pdf: bool) -> float:
    """Seconds to render ``region`` into ``out`` from the package's results (copied: reused, not recomputed)."""
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy(results, out / RESULTS_FILE)
    t0 = time.perf_counter()
    outcome = render_report(pkg, region, out, pdf=pdf, force=True, log=lambda message: None)
    seconds = time.perf_counter() - t0
    if outcome.status != "ok":
        raise SystemExit(f"{region} failed: {outcome.error}")
    return seconds


if __name__ == "__main__":
    main()
