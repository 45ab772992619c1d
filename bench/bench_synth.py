"""Time and peak memory of the synthetic generator and of loading + computing indicators.

    .venv/bin/python bench/bench_synth.py --households 2000000 --regions 50 --periods 8

Prints one line per stage: seconds, peak resident memory of this process (MiB), rows.
"""
from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

from package_options import add_package_options

import evalkit
from evalkit.data.synth import generate


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    add_package_options(ap, households=2_000_000)
    ap.add_argument("--by", default="hukou,urban")
    ap.add_argument("--keep", type=Path, help="Write the package here and keep it (reused when it exists).")
    args = ap.parse_args()
    out = args.keep or Path(tempfile.mkdtemp(prefix="evalkit-bench-")) / "pkg"
    try:
        if not (args.keep and (out / "datapackage.json").exists()):
            t0 = time.perf_counter()
            generate(out, args.households, args.regions, args.periods, args.seed, overwrite=True)
            size = sum(f.stat().st_size for f in out.iterdir()) / 2**20
            print(f"synth       {time.perf_counter() - t0:8.1f} s  peak {peak_mib():7.0f} MiB  "
                  f"{args.households:,} households, {size:,.0f} MiB on disk")
        t0 = time.perf_counter()
        pkg = evalkit.load(out)
        rows = sum(pkg.rows.values())
        print(f"load        {time.perf_counter() - t0:8.1f} s  peak {peak_mib():7.0f} MiB  {rows:,} rows validated")
        by = [b for b in args.by.split(",") if b]
        for family in evalkit.load_catalogue().families:
            t0 = time.perf_counter()
            res = evalkit.compute(pkg, family=family, by=by)
            if len(res.table):
                print(f"{family:<12}{time.perf_counter() - t0:8.1f} s  peak {peak_mib():7.0f} MiB  "
                      f"{res.table.indicator.nunique()} indicators, {len(res.table):,} result rows"
                      + (f"; skipped {', '.join(res.skipped)}" if res.skipped else ""))
    finally:
        if args.keep is None:
            shutil.rmtree(out.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
