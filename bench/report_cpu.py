"""CPU per region of a report batch on one worker: the number to compare between two versions
of the code (run it with each on ``PYTHONPATH``, alternating, on the same machine and load).

    PYTHONPATH=$PWD python bench/report_cpu.py PKG --out /tmp/rc-new --regions R01,R02,R03,R04,R05,R06,R07,R08
    PYTHONPATH=/path/to/old python bench/report_cpu.py PKG --out /tmp/rc-old --regions ...

Each version needs its own ``--out``: the package-level results are cached there (the first
run computes them; run once with ``--regions R09`` to warm it). Prints the CPU seconds per
region of this process and its kernel (``os.times``), and the wall seconds.
"""
from __future__ import annotations

import argparse
import time

from bench_report import cpu

from evalkit.report import render_all


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("package")
    ap.add_argument("--out", required=True, help="Output directory (one per code version).")
    ap.add_argument("--regions", required=True, help="Comma-separated region ids.")
    args = ap.parse_args()
    regions = args.regions.split(",")
    c0, w0 = cpu(), time.perf_counter()
    render_all(args.package, args.out, workers=1, regions=regions, force=True, progress=False, log=lambda *a: None)
    print(f"{len(regions)} regions: CPU per region {(cpu() - c0) / len(regions):.2f} s (process and kernel), "
          f"wall per region {(time.perf_counter() - w0) / len(regions):.2f} s")


if __name__ == "__main__":
    main()
