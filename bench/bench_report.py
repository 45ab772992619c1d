"""Time evaluation reports: one region's full report, then every region of a package.

    .venv/bin/python bench/bench_report.py --households 50000 --regions 50 --periods 8

Prints one line per stage: seconds, and what was produced. "one region" includes
computing the indicators; "all regions" computes them once more (fresh output directory),
then runs every region's notebooks in parallel processes; "resume" is a second run over
the same output (every region up to date).
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
from evalkit.report.batch import worker_count


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    add_package_options(ap, households=50_000)
    ap.add_argument("--workers", type=int, help="Parallel processes (default: sized to the machine).")
    ap.add_argument("--pdf", action="store_true", help="Also print PDFs with Chromium.")
    ap.add_argument("--keep", type=Path, help="Work here and keep the outputs.")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="evalkit-bench-report-"))
    pkg = work / "pkg"
    compute_seconds = []

    def log(message: str) -> None:
        if message.startswith("computed indicators"):
            compute_seconds.append(float(message.rsplit(" in ", 1)[1].split()[0]))

    try:
        t0 = time.perf_counter()
        generate(pkg, args.households, args.regions, args.periods, args.seed, overwrite=True)
        print(f"synth        {time.perf_counter() - t0:8.1f} s  {args.households:,} households, "
              f"{args.regions} counties, {args.periods} periods")

        t0 = time.perf_counter()
        one = render_report(pkg, "R00", work / "one", pdf=args.pdf, force=True, log=log)
        print(f"one region   {time.perf_counter() - t0:8.1f} s  {one.status}: {one.index} "
              f"(indicators {compute_seconds[-1]:.1f} s, notebooks and export {one.seconds:.1f} s)")

        shutil.rmtree(work / "all", ignore_errors=True)
        t0 = time.perf_counter()
        batch = render_all(pkg, work / "all", pdf=args.pdf, workers=args.workers, progress=False, log=log)
        seconds = time.perf_counter() - t0
        ok = sum(r.status == "ok" for r in batch.regions)
        workers = args.workers or worker_count(len(batch.regions))
        print(f"all regions  {seconds:8.1f} s  {ok}/{len(batch.regions)} regions on {workers} workers "
              f"({os.cpu_count()} CPUs), indicators once {compute_seconds[-1]:.1f} s, "
              f"{(seconds - compute_seconds[-1]) / max(1, len(batch.regions)):.2f} s per region wall")
        for r in batch.failures:
            print(f"  failed {r.region}: {r.error}")

        t0 = time.perf_counter()
        again = render_all(pkg, work / "all", pdf=args.pdf, workers=args.workers, progress=False, log=log)
        skipped = sum(r.status == "skipped" for r in again.regions)
        print(f"resume       {time.perf_counter() - t0:8.1f} s  {skipped}/{len(again.regions)} regions up to date")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
