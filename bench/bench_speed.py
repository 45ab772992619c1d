"""Speed (issue 16): evalkit against a careful pandas script and one DuckDB scan, per package size.

    PYTHONPATH=$PWD python bench/bench_speed.py                               # 50k, 200k, 2M households
    PYTHONPATH=$PWD python bench/bench_speed.py --households 5000,20000       # smoke test
    PYTHONPATH=$PWD python bench/bench_speed.py --families none               # the two indicators only

Packages are ``evalkit.data.synth.generate(out, households=N, regions=64, periods=8, seed=1)``
as Parquet, generated into ``--work`` (the directory bench_load.py uses) and reused when present.
Every measurement is a whole process, as a user runs it, in a fresh interpreter: CPU is the
child's user + system time (``os.wait4``: every thread of the engine counts), wall its elapsed
time, peak its maximum resident set size. Per size:

- **evalkit**: ``evalkit indicators PKG --indicator access.accessibility_rate --indicator
  access.availability_rate --out X.csv`` (default options, small-cell suppression included);
- **pandas**: ``bench/pandas_access.py PKG --out X.csv``, the same two rates by service type for
  every region of the tree and every period, written as a skilled pandas user would;
- **duckdb**: ``bench/duckdb_access.py PKG --out X.csv``, the same table from one DuckDB statement
  over the Parquet files, as a skilled SQL user would write it (point estimates only, like the
  pandas script: no intervals, no validation);
- **validate**: ``evalkit validate PKG``, the checks every first load of a package pays before
  any indicator (every key unique, every reference found, ranges, dates, identity numbers,
  formula-like text); the pandas and DuckDB scripts check nothing;
- **scan**: one DuckDB scan of the package, every column of every Parquet table read once
  (``SELECT count(*), min(c1), min(c2), ... FROM read_parquet(table)``); ``query`` is the scan's
  own CPU without the interpreter's start and ``import duckdb``.

Before anything is timed at a size, evalkit is run once more with ``--min-cell 0`` (nothing
suppressed; untimed, it also warms the file cache for all three) and its value, numerator,
denominator and ``n`` are compared with the pandas and DuckDB scripts' cell for cell, rows
included; any difference aborts with a diff. Ratios are CPU over CPU. Last, the fitted exponent b of
``cpu = a * households^b`` (least squares on logs) over the sizes run.

Then, in a second table, ``evalkit indicators PKG --family F --out X.csv`` for each family of
``--families`` (default ``access,coordination``; ``none`` skips them), against the same scan
(issue 16's target: within 6x of the scan at 200k, 5x at 2M).
The converted-copy cache is off (``EVALKIT_CACHE_DIR=off``, ``--cache DIR`` to use one) and the
pseudonym key fixed. Timings on a busy machine are noisy: ``--repeat N`` keeps the fastest of N.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
ACCESS = ["access.accessibility_rate", "access.availability_rate"]
KEYS = ["indicator", "service_type", "region", "period"]
COMPARED = ["value", "numerator", "denominator", "n"]

SCAN = r"""
import json, sys, time
t0, c0 = time.perf_counter(), time.process_time()
import duckdb
from pathlib import Path
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")  # a bar on stdout would break the JSON line
files = sorted(p for p in Path(sys.argv[1]).iterdir() if p.suffix == ".parquet")
t1, c1 = time.perf_counter(), time.process_time()
for path in files:
    cols = [r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()]
    aggs = ", ".join(f'min("{c}")' for c in cols)
    con.execute(f"SELECT count(*), {aggs} FROM read_parquet(?)", [str(path)]).fetchall()
print(json.dumps({"query_cpu": time.process_time() - c1, "query_wall": time.perf_counter() - t1}))
"""


def timed(cmd: list[str], env: dict, repeat: int = 1) -> dict:
    """Run ``cmd`` ``repeat`` times; the fastest run (CPU): cpu, wall (s), peak (MiB), stdout."""
    best = None
    for _ in range(repeat):
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            t = time.perf_counter()
            proc = subprocess.Popen(cmd, env=env, cwd=HERE, stdout=out, stderr=err)
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - t
            proc.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
        if proc.returncode:
            raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{stderr[-3000:]}")
        run = {"cpu": usage.ru_utime + usage.ru_stime, "wall": wall, "peak": usage.ru_maxrss / 1024,
               "stdout": stdout}
        if best is None or run["cpu"] < best["cpu"]:
            best = run
    return best


def environment(cache: str) -> dict:
    return {**os.environ, "PYTHONPATH": str(HERE), "EVALKIT_CACHE_DIR": cache,
            "EVALKIT_PSEUDONYM_KEY": "bench-key-" + "x" * 32}


def package(work: Path, households: int, regions: int, periods: int, seed: int) -> Path:
    name = f"parquet-{households}" if (regions, periods, seed) == (64, 8, 1) else \
        f"parquet-{households}-r{regions}-p{periods}-s{seed}"
    out = work / name
    if not (out / "datapackage.json").exists():
        from evalkit.data.synth import generate

        t = time.perf_counter()
        generate(out, households=households, regions=regions, periods=periods, seed=seed, overwrite=True)
        print(f"generated {out} in {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)
    return out


def evalkit_cmd(pkg: Path, out: Path, *options: str) -> list[str]:
    return [sys.executable, "-m", "evalkit.cli", "indicators", str(pkg), *options, "--out", str(out)]


def compare(evalkit_table: pd.DataFrame, pandas_table: pd.DataFrame) -> str:
    """'' when both tables have the same rows (indicator, service type, region, period) and equal
    value, numerator, denominator and n in each (values to 1e-9, NaN equal to NaN); else a diff."""
    ev = evalkit_table
    if "group_by" in ev.columns:  # overall rows only (a run without --by has no others)
        ev = ev[ev["group_by"].isna() | ev["group_by"].astype(str).eq("")]
    ev = ev[ev["indicator"].isin(pandas_table["indicator"].unique())]
    left = ev[KEYS + COMPARED].astype({k: str for k in KEYS})
    right = pandas_table[KEYS + COMPARED].astype({k: str for k in KEYS})
    both = left.merge(right, on=KEYS, how="outer", suffixes=("_evalkit", "_pandas"), indicator=True)
    lines = []
    for side, label in (("left_only", "only in evalkit"), ("right_only", "only in pandas")):
        rows = both[both["_merge"] == side]
        if len(rows):
            lines.append(f"{len(rows)} rows {label}, e.g.:\n{rows[KEYS].head(10).to_string(index=False)}")
    both = both[both["_merge"] == "both"]
    bad = pd.Series(False, index=both.index)
    for col in COMPARED:
        a, b = both[f"{col}_evalkit"].astype(float), both[f"{col}_pandas"].astype(float)
        bad |= ~(np.isclose(a, b, rtol=1e-9, atol=1e-9) | (a.isna() & b.isna()))
    if bad.any():
        shown = both.loc[bad, KEYS + [f"{c}_{s}" for c in COMPARED for s in ("evalkit", "pandas")]]
        lines.append(f"{int(bad.sum())} of {len(both)} cells differ, e.g.:\n{shown.head(20).to_string(index=False)}")
    if dups := int(left.duplicated(KEYS).sum() + right.duplicated(KEYS).sum()):
        lines.append(f"{dups} duplicated rows")
    return "\n".join(lines)


def check(pkg: Path, scratch: Path, env: dict) -> int:
    """Run evalkit (--min-cell 0) and the pandas and DuckDB scripts on ``pkg``; abort with a diff unless they agree.
    Returns the number of cells compared."""
    ev_out, pd_out, dk_out = scratch / "check-evalkit.csv", scratch / "check-pandas.csv", scratch / "check-duckdb.csv"
    timed(evalkit_cmd(pkg, ev_out, *[a for i in ACCESS for a in ("--indicator", i)], "--min-cell", "0", "--quiet"),
          env)
    timed([sys.executable, str(BENCH / "pandas_access.py"), str(pkg), "--out", str(pd_out)], env)
    timed([sys.executable, str(BENCH / "duckdb_access.py"), str(pkg), "--out", str(dk_out)], env)
    evalkit_table = pd.read_csv(ev_out, keep_default_na=False, na_values=[""], dtype={k: str for k in KEYS})
    if evalkit_table["suppressed"].astype(str).str.lower().eq("true").any():
        raise SystemExit("evalkit suppressed cells with --min-cell 0")
    for name, out in (("pandas", pd_out), ("DuckDB", dk_out)):
        diff = compare(evalkit_table, pd.read_csv(out, keep_default_na=False, na_values=[""], dtype={k: str for k in KEYS}))
        if diff:
            raise SystemExit(f"the {name} script and evalkit disagree on {pkg}; nothing timed:\n{diff}")
    return len(evalkit_table)


def scan(pkg: Path, env: dict, repeat: int) -> dict:
    run = timed([sys.executable, "-c", SCAN, str(pkg)], env, repeat)
    last = run["stdout"].strip().splitlines()[-1]
    return {**run, **json.loads(last[last.rindex("{"):])}


def exponent(sizes: list[int], times: list[float]) -> float:
    """b of time = a * households^b, least squares on logs (NaN with fewer than two sizes)."""
    if len(sizes) < 2:
        return float("nan")
    return float(np.polyfit(np.log(sizes), np.log(times), 1)[0])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", "--sizes", dest="households", default="50000,200000,2000000",
                    help="package sizes, comma-separated (default 50000,200000,2000000)")
    ap.add_argument("--families", default="access,coordination",
                    help="whole families timed in a second table (comma-separated; default access,coordination; none)")
    ap.add_argument("--regions", type=int, default=64)
    ap.add_argument("--periods", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=1, help="runs per measurement, the fastest kept (default 1)")
    ap.add_argument("--cache", default="off", help="EVALKIT_CACHE_DIR for evalkit (default off: every load cold)")
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "evalkit-bench-load",
                    help="where the packages are generated (kept and reused)")
    args = ap.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.households.split(",") if s.strip()]
    env = environment(args.cache)
    print(f"evalkit at {HERE}; {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at start; "
          f"regions={args.regions}, periods={args.periods}, seed={args.seed}; best of {args.repeat}\n", flush=True)
    packages = {n: package(args.work, n, args.regions, args.periods, args.seed) for n in sizes}
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        scans = indicators(packages, args, env, scratch)
        names = [f.strip() for f in args.families.split(",") if f.strip() and f.strip() != "none"]
        if names:
            print()
            families(packages, names, args, env, scratch, scans)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end (timings are noisy when it exceeds the cores)")


def indicators(packages: dict[int, Path], args, env, scratch: Path) -> dict[int, dict]:
    """The two access indicators, evalkit against the pandas and DuckDB scripts and the scan; returns the scans by size."""
    print("| households | evalkit CPU s | evalkit wall s | evalkit peak MiB | pandas CPU s | pandas wall s "
          "| pandas peak MiB | duckdb CPU s | duckdb wall s | validate CPU s | scan CPU s | scan wall s "
          "| scan query CPU s | evalkit/pandas CPU | evalkit/duckdb CPU | validate/pandas CPU | evalkit/scan CPU "
          "| cells equal |")
    print("|" + "---:|" * 18, flush=True)
    done = []
    for n, pkg in packages.items():
        cells = check(pkg, scratch, env)
        ev = timed(evalkit_cmd(pkg, scratch / "evalkit.csv", *[a for i in ACCESS for a in ("--indicator", i)]),
                   env, args.repeat)
        pa = timed([sys.executable, str(BENCH / "pandas_access.py"), str(pkg), "--out", str(scratch / "pandas.csv")],
                   env, args.repeat)
        dk = timed([sys.executable, str(BENCH / "duckdb_access.py"), str(pkg), "--out", str(scratch / "duckdb.csv")],
                   env, args.repeat)
        va = timed([sys.executable, "-m", "evalkit.cli", "validate", str(pkg)], env, args.repeat)
        sc = scan(pkg, env, args.repeat)
        done.append((n, ev, pa, sc, dk))
        print(f"| {n:,} | {ev['cpu']:.2f} | {ev['wall']:.2f} | {ev['peak']:.0f} | {pa['cpu']:.2f} | {pa['wall']:.2f} "
              f"| {pa['peak']:.0f} | {dk['cpu']:.2f} | {dk['wall']:.2f} | {va['cpu']:.2f} | {sc['cpu']:.2f} "
              f"| {sc['wall']:.2f} | {sc['query_cpu']:.2f} | {ev['cpu'] / pa['cpu']:.1f} | {ev['cpu'] / dk['cpu']:.1f} "
              f"| {va['cpu'] / pa['cpu']:.1f} | {ev['cpu'] / sc['cpu']:.1f} | {cells:,} |", flush=True)
    ns = [d[0] for d in done]
    print(f"\nfitted exponent b of CPU = a * households^b over {', '.join(f'{n:,}' for n in ns)}: "
          f"evalkit {_b(ns, [d[1]['cpu'] for d in done])}, pandas {_b(ns, [d[2]['cpu'] for d in done])}, "
          f"duckdb {_b(ns, [d[4]['cpu'] for d in done])}, scan {_b(ns, [d[3]['cpu'] for d in done])} (wall: evalkit {_b(ns, [d[1]['wall'] for d in done])}, "
          f"pandas {_b(ns, [d[2]['wall'] for d in done])})")
    return {d[0]: d[3] for d in done}


def families(packages: dict[int, Path], names, args, env, scratch: Path, scans: dict[int, dict]) -> None:
    """Whole families against the scan measured for the first table."""
    print("| households | family | evalkit CPU s | evalkit wall s | evalkit peak MiB | scan CPU s | scan wall s "
          "| evalkit/scan CPU |")
    print("|---:|---|" + "---:|" * 6, flush=True)
    done = {f: [] for f in names}
    for n, pkg in packages.items():
        sc = scans[n]
        for family in names:
            ev = timed(evalkit_cmd(pkg, scratch / f"{family}.csv", "--family", family), env, args.repeat)
            done[family].append((n, ev["cpu"], ev["wall"]))
            print(f"| {n:,} | {family} | {ev['cpu']:.2f} | {ev['wall']:.2f} | {ev['peak']:.0f} | {sc['cpu']:.2f} "
                  f"| {sc['wall']:.2f} | {ev['cpu'] / sc['cpu']:.1f} |", flush=True)
    for family, rows in done.items():
        print(f"\nfitted exponent b of CPU = a * households^b, {family}: {_b([r[0] for r in rows], [r[1] for r in rows])}"
              f" (wall {_b([r[0] for r in rows], [r[2] for r in rows])})", end="")
    print()


def _b(sizes, times) -> str:
    b = exponent(sizes, times)
    return "n/a (one size)" if math.isnan(b) else f"{b:.2f}"


if __name__ == "__main__":
    main()
