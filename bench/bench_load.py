"""Loading a package: evalkit.load before and after, against one DuckDB scan of the same files.

    PYTHONPATH=$PWD python bench/bench_load.py                      # 50k and 200k, before = /work/main
    PYTHONPATH=$PWD python bench/bench_load.py --households 50000 --compare ../other-checkout

For Parquet and CSV packages (``evalkit.data.synth.generate(out, households=N, regions=64,
periods=8, seed=1)``, ``format="csv"`` for CSV) this prints, per code version: the wall and
CPU seconds of ``evalkit.load`` (imports excluded; CPU counts every engine thread), the
statements the loader issues through ``evalkit.engine.sql``, and the peak resident memory of
the process. "before" is the checkout given with ``--compare`` (run by subprocess with its own
``PYTHONPATH``), "after" this one. The floor is one DuckDB scan of the same files: per table
``SELECT count(*), min(col), ... FROM read_parquet(...)`` (``read_csv(..., all_varchar=true)``
for CSV), every column read once. With the package cache, ", cached" is a second load from a
cache filled by a first one (a CSV package's converted copy; a Parquet package's checks, its
tables staying views on its files; before this change Parquet packages were not cached).
Last, ``evalkit --help`` (best of 3).
Every load runs in a fresh process with the cache off (``EVALKIT_CACHE_DIR=off``) unless
stated, and the same pseudonym key.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]

LOAD = r"""
import json, resource, sys, time
import evalkit.data.io as io
import evalkit.data.package as package
count = [0]
def counted(sql):
    def run(*args, **kwargs):
        count[0] += 1
        return sql(*args, **kwargs)
    return run
package.sql = counted(package.sql)
io.sql = counted(io.sql)
try:
    import evalkit.data.cache as cache
    cache.sql = counted(cache.sql)
except ImportError:  # before the cache
    pass
wall, cpu = time.perf_counter(), time.process_time()
pkg = package.load(sys.argv[1])
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu, "statements": count[0],
                  "rows": sum(pkg.rows.values()), "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

SCAN = r"""
import json, resource, sys, time, duckdb
from pathlib import Path
con = duckdb.connect()
files = sorted(p for p in Path(sys.argv[1]).iterdir() if p.suffix in (".parquet", ".csv"))
wall, cpu = time.perf_counter(), time.process_time()
for path in files:
    reader = "read_parquet(?)" if path.suffix == ".parquet" else "read_csv(?, all_varchar=true, header=true)"
    cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {reader}", [str(path)]).fetchall()]
    aggs = ", ".join(f'min("{c}")' for c in cols)
    con.execute(f"SELECT count(*), {aggs} FROM {reader}", [str(path)]).fetchall()
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu, "statements": len(files),
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(code: str, args: list[str], root: Path, env: dict | None = None) -> dict:
    """Run ``code`` in a fresh interpreter with ``root`` on the path; its JSON line (with its peak RSS, MiB)."""
    environ = {**os.environ, "PYTHONPATH": str(root), "EVALKIT_CACHE_DIR": "off",
               "EVALKIT_PSEUDONYM_KEY": "bench-key-" + "x" * 32, **(env or {})}
    proc = subprocess.Popen([sys.executable, "-c", code, *args], env=environ, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=root)
    out, err = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"failed under {root}:\n{err}")
    last = out.strip().splitlines()[-1]
    return json.loads(last[last.rindex("{"):])  # after DuckDB's progress bar, when a statement took long


def help_time(root: Path) -> float:
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "evalkit.cli", "--help"], env={**os.environ, "PYTHONPATH": str(root)},
                       cwd=root, check=True, capture_output=True)
        best = min(best, time.perf_counter() - t)
    return best


def package(work: Path, households: int, fmt: str) -> Path:
    out = work / f"{fmt}-{households}"
    if not (out / "datapackage.json").exists():
        from evalkit.data.synth import generate

        generate(out, households=households, regions=64, periods=8, seed=1, format=fmt, overwrite=True)
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, nargs="+", default=[50_000, 200_000])
    ap.add_argument("--formats", nargs="+", default=["parquet", "csv"], choices=["parquet", "csv"])
    ap.add_argument("--compare", type=Path, default=Path("/work/main"),
                    help="checkout holding the code before (default /work/main); 'none' to skip")
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "evalkit-bench-load",
                    help="where the packages are generated (kept and reused)")
    args = ap.parse_args(argv)
    versions = [("after", HERE)]
    if str(args.compare) != "none":
        versions.insert(0, ("before", args.compare.resolve()))
    rows = []
    for n in args.households:
        for fmt in args.formats:
            pkg = package(args.work, n, fmt)
            scan = run(SCAN, [str(pkg)], HERE)
            rows.append((n, fmt, "scan (floor)", scan, scan))
            for label, root in versions:
                rows.append((n, fmt, label, run(LOAD, [str(pkg)], root), scan))
                with tempfile.TemporaryDirectory() as cache:
                    run(LOAD, [str(pkg)], root, {"EVALKIT_CACHE_DIR": cache})  # fills the cache
                    rows.append((n, fmt, f"{label}, cached", run(LOAD, [str(pkg)], root, {"EVALKIT_CACHE_DIR": cache}),
                                 scan))
            _print(rows[-2 * len(versions) - 1:], header=len(rows) <= 2 * len(versions) + 1)
    print()
    for label, root in versions:
        print(f"evalkit --help ({label}, {root}): {help_time(root):.2f} s wall (best of 3)")


def _print(rows, header: bool) -> None:
    if header:
        print(f"{'households':>10} {'format':7} {'code':14} {'wall s':>7} {'cpu s':>7} {'x scan':>7} "
              f"{'stmts':>6} {'peak MiB':>9}")
    for n, fmt, label, r, scan in rows:
        ratio = r["cpu"] / scan["cpu"] if scan["cpu"] else float("nan")
        print(f"{n:>10,} {fmt:7} {label:14} {r['wall']:7.2f} {r['cpu']:7.2f} {ratio:7.1f} {r['statements']:6d} "
              f"{r['peak_mib']:9.0f}", flush=True)


if __name__ == "__main__":
    main()
