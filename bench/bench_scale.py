"""National scale (issue 17): every indicator family out of core, per package size, against one scan.

    PYTHONPATH=$PWD python bench/bench_scale.py --households 2000000
    PYTHONPATH=$PWD python bench/bench_scale.py --households 20000000 --package 20000000=/work/scale/pkg-20m \\
        --log /work/scale/bench-20m.log &          # hours: run it in the background, the log keeps the figures

Per size: first the free disk space is checked against what the run needs (the package, about
240 bytes of Parquet per household as the 2M package measures, when it must be generated, plus
room for the engine to spill: ``SPILL_FACTOR`` times the package, in ``TMPDIR``); then the
package is generated if it is missing (``evalkit synth``, timed like the rest: the generator
writes in chunks, so its peak memory should not grow with the households); then each family of
``--families`` runs alone in a fresh process, ``evalkit indicators PKG --family F --out X.csv``,
never two at once; last one DuckDB scan of the package (every column of every Parquet file read
once, bench_speed.py's helper). CPU is user + system time of the child and every thread it
ran, wall its elapsed time, peak its maximum resident set size (``os.wait4``): the whole
process, the engine's memory included; scratch the most disk its private ``TMPDIR`` held
(the engine's database file and spill directory, polled every 2 s).

Every line printed is also appended to ``--log`` (default ``bench-scale.log`` in the current
directory), so a long run keeps what it measured even when the terminal is gone. The engine's
memory limit is ``EVALKIT_MEMORY_LIMIT`` when set (``--memory-limit`` sets it), else evalkit's
default. Packages are ``synth --regions 64 --periods 8 --seed 1`` Parquet, named
``parquet-N`` in ``--package-dir``, or an existing package given with ``--package N=PATH``.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench_speed import HERE, scan, timed

BYTES_PER_HOUSEHOLD = 240  # Parquet, measured on the 2M package (454 MiB for 2,000,000 households)
# engine spill headroom, in multiples of the package on disk: with scratch tables compressed in
# the database file, the outcomes family peaked at 2.1 GB of scratch (database file and spill)
# at 2M households (1GB limit; 4.6 times its 454 MB package) and at about 33 GB at 20M (4GB
# limit; 8 times its 4.18 GB package); as DuckDB temporary tables it had passed 58 GB at 20M
SPILL_FACTOR = 10
FAMILIES = "access,coordination,fairness,outcomes"
GIB = 2**30


class Log:
    """Print and append to a file, flushing each line (a background run keeps its figures)."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - open for the whole run

    def __call__(self, text: str = "") -> None:
        print(text, flush=True)
        self.file.write(text + "\n")
        self.file.flush()


def disk_needed(households: int, generate: bool) -> tuple[int, int]:
    """Bytes needed (package directory, scratch directory) for one size."""
    package = households * BYTES_PER_HOUSEHOLD
    return (package if generate else 0), SPILL_FACTOR * package


def check_disk(households: int, pkg: Path, generate: bool, log: Log) -> None:
    """Stop before starting when the disks cannot hold the package and the engine's spill."""
    package_bytes, spill_bytes = disk_needed(households, generate)
    scratch = Path(tempfile.gettempdir())
    where = pkg.parent if pkg.parent.exists() else Path(HERE)
    free_pkg, free_tmp = shutil.disk_usage(where).free, shutil.disk_usage(scratch).free
    same = os.stat(where).st_dev == os.stat(scratch).st_dev
    log(f"{households:,} households: needs {package_bytes / GIB:.1f} GiB for the package in {where} "
        f"(free {free_pkg / GIB:.1f} GiB) and {spill_bytes / GIB:.1f} GiB of spill room in {scratch} "
        f"(free {free_tmp / GIB:.1f} GiB)")
    short = (package_bytes + spill_bytes > free_pkg) if same else \
        (package_bytes > free_pkg or spill_bytes > free_tmp)
    if short:
        raise SystemExit(f"not enough free disk for {households:,} households: free some space, "
                         "or point --package-dir / TMPDIR elsewhere")


class ScratchPeak:
    """The most disk the files under ``path`` took while the block ran (polled every 2 s): the
    engine's database file and spill directory, when ``path`` is the run's ``TMPDIR``."""

    def __init__(self, path: Path):
        self.path, self.peak, self._stop = path, 0, threading.Event()

    def _size(self) -> int:
        total = 0
        for root, _, files in os.walk(self.path):
            for name in files:
                try:
                    total += os.lstat(os.path.join(root, name)).st_blocks * 512  # allocated, not apparent
                except OSError:  # removed while walking
                    pass
        return total

    def _poll(self) -> None:
        while not self._stop.wait(2.0):
            self.peak = max(self.peak, self._size())

    def __enter__(self):
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def generate(households: int, out: Path, env: dict, log: Log) -> None:
    """``evalkit synth`` into ``out`` in a fresh process, with its CPU, wall and peak memory."""
    log(f"generating {out} ...")
    run = timed([sys.executable, "-m", "evalkit.cli", "synth", "--households", str(households), "--regions", "64",
                 "--periods", "8", "--seed", "1", "--out", str(out)], env)
    size = sum(p.stat().st_size for p in out.iterdir() if p.suffix == ".parquet")
    log(f"generated {households:,} households in {run['cpu']:.0f} s CPU, {run['wall']:.0f} s wall, "
        f"peak {run['peak'] / 1024:.2f} GiB; {size / GIB:.2f} GiB of Parquet, {size / households:.0f} B/household")


def packages(args) -> dict[int, Path]:
    named = dict(item.split("=", 1) for item in args.package)
    sizes = [int(s.replace("_", "")) for s in args.households.split(",") if s.strip()]
    return {n: Path(named.get(str(n)) or args.package_dir / f"parquet-{n}") for n in sizes}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", default="2000000", help="package sizes, comma-separated (default 2000000)")
    ap.add_argument("--package-dir", type=Path, default=Path(tempfile.gettempdir()) / "evalkit-bench-load",
                    help="where packages parquet-N are found or generated")
    ap.add_argument("--package", action="append", default=[], metavar="N=PATH",
                    help="an existing package of N households (repeatable)")
    ap.add_argument("--families", default=FAMILIES, help=f"comma-separated (default {FAMILIES})")
    ap.add_argument("--memory-limit", help="EVALKIT_MEMORY_LIMIT for the runs (default: evalkit's own)")
    ap.add_argument("--log", type=Path, help="append the figures here (default ./bench-scale.log)")
    ap.add_argument("--out-dir", type=Path, help="keep the indicator tables here (default: a temporary directory)")
    args = ap.parse_args(argv)
    log = Log(args.log or Path("bench-scale.log").resolve())
    env = {**os.environ, "PYTHONPATH": str(HERE), "EVALKIT_CACHE_DIR": "off",
           "EVALKIT_PSEUDONYM_KEY": "0123456789abcdef0123456789abcdef"}
    if args.memory_limit:
        env["EVALKIT_MEMORY_LIMIT"] = args.memory_limit
    families = [f.strip() for f in args.families.split(",") if f.strip()]
    log(f"\n# bench_scale {time.strftime('%Y-%m-%d %H:%M:%S %Z')}: evalkit at {HERE}; {os.cpu_count()} cores; "
        f"load average {os.getloadavg()[0]:.1f}; EVALKIT_MEMORY_LIMIT={env.get('EVALKIT_MEMORY_LIMIT', 'default')}")
    with tempfile.TemporaryDirectory() as scratch:
        out_dir = args.out_dir or Path(scratch)
        out_dir.mkdir(parents=True, exist_ok=True)
        for n, pkg in packages(args).items():
            missing = not (pkg / "datapackage.json").exists()
            check_disk(n, pkg, missing, log)
            if missing:
                generate(n, pkg, env, log)
            measure(n, pkg, families, env, out_dir, log)
    log(f"load average {os.getloadavg()[0]:.1f} at the end (timings are noisy when it exceeds the cores)")


def measure(n: int, pkg: Path, families: list[str], env: dict, out_dir: Path, log: Log) -> None:
    log(f"\n{pkg}\n")
    log("| households | family | CPU s | wall s | peak GiB | scratch GiB | CPU / scan CPU | wall / scan wall |")
    log("|---:|---|---:|---:|---:|---:|---:|---:|")
    sc = None  # scanned after the first family, which has warmed the file cache
    for family in families:  # one at a time: the figures are each family's own peak
        with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp, ScratchPeak(Path(tmp)) as scratch:
            run = timed([sys.executable, "-m", "evalkit.cli", "indicators", str(pkg), "--family", family,
                         "--quiet", "--out", str(out_dir / f"{family}-{n}.csv")], {**env, "TMPDIR": tmp})
        if sc is None:
            sc = scan(pkg, env, 1)
        log(f"| {n:,} | {family} | {run['cpu']:.0f} | {run['wall']:.0f} | {run['peak'] / 1024:.2f} "
            f"| {scratch.peak / GIB:.2f} | {run['cpu'] / sc['cpu']:.1f} | {run['wall'] / sc['wall']:.1f} |")
    if sc is not None:
        log(f"| {n:,} | one scan | {sc['cpu']:.1f} | {sc['wall']:.1f} | {sc['peak'] / 1024:.2f} | 0 | 1 | 1 |")


if __name__ == "__main__":
    main()
