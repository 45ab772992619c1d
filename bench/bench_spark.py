"""Local Spark against DuckDB on the same package: time, memory, and the same numbers.

    PYTHONPATH=$PWD python bench/bench_spark.py /tmp/evalkit-bench-load/parquet-50000 [--family access]
        [--master 'local[2]'] [--by hukou] [--python .venv/bin/python]

Runs ``evalkit indicators PACKAGE --out ...`` twice in fresh processes, ``--engine duckdb``
and ``--engine spark --spark-master MASTER``, each under ``/usr/bin/time`` (CPU = user +
system, wall time, peak resident memory). Caveat, measured: PySpark does not wait for its
JVM at exit, so for Spark these count the Python process only, not the JVM (on
parquet-50000 --family coordination the JVM held 4.1 GB and had used 12 min of CPU
before the end while /usr/bin/time reported 0.38 GiB and 9.7 s); sample the JVM with
``ps`` or psutil until this is fixed. Both use the
same pseudonym key and the cache off. Then the two tables are compared cell for cell: the
same rows, numbers equal to 1e-9 relative (NaN equal to NaN), text and suppression equal.
Expect Spark to be slower on one machine (a JVM, and a Spark job per query); the point is
that the numbers are the same where a cluster is needed.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parents[1]
KEYS = ["indicator", "service_type", "region", "period", "group_by", "group"]
TIME = "%U %S %e %M"  # user s, system s, wall s, peak resident KB (largest of the process and its waited children)


def run(python: str, package: str, out: Path, engine: str, options: list[str], master: str) -> dict:
    """One ``evalkit indicators`` run under /usr/bin/time: its CPU, wall and peak memory."""
    command = [python, "-m", "evalkit.cli", "indicators", package, "--out", str(out), "--quiet", "--engine", engine,
               *options]
    if engine == "spark":
        command += ["--spark-master", master]
    env = {**os.environ, "EVALKIT_CACHE_DIR": "off", "PYTHONPATH": str(HERE),
           "EVALKIT_PSEUDONYM_KEY": os.environ.get("EVALKIT_PSEUDONYM_KEY", "0123456789abcdef0123456789abcdef")}
    with tempfile.NamedTemporaryFile("r", suffix=".time") as timing:
        done = subprocess.run(["/usr/bin/time", "-o", timing.name, "-f", TIME, *command], env=env,
                              capture_output=True, text=True)
        if done.returncode:
            sys.exit(f"{engine} failed:\n{done.stderr[-3000:]}")
        user, system, wall, peak = timing.read().split()[-4:]
    return {"cpu": float(user) + float(system), "wall": float(wall), "peak_gib": int(peak) / 2**20,
            "rows": _rows(done.stdout)}


def _rows(stdout: str) -> int:
    found = re.search(r"\(([\d,]+) rows\)", stdout)
    return int(found.group(1).replace(",", "")) if found else -1


def compare(a_path: Path, b_path: Path) -> list[str]:
    """What differs between two indicator tables (empty: the same cells)."""
    a = pd.read_csv(a_path, dtype=str, keep_default_na=False).sort_values(KEYS, ignore_index=True)
    b = pd.read_csv(b_path, dtype=str, keep_default_na=False).sort_values(KEYS, ignore_index=True)
    if list(a.columns) != list(b.columns) or len(a) != len(b) or not a[KEYS].equals(b[KEYS]):
        return [f"different rows or columns: {a.shape} vs {b.shape}"]
    problems = []
    for column in a.columns:
        same = a[column] == b[column]
        x, y = pd.to_numeric(a[column], errors="coerce"), pd.to_numeric(b[column], errors="coerce")
        close = x.notna() & y.notna() & np.isclose(x, y, rtol=1e-9, atol=0)
        differ = ~(same | close)
        if differ.any():
            problems.append(f"{column}: {int(differ.sum())} cells differ, e.g.\n"
                            + a.loc[differ, KEYS].assign(duckdb=a[column][differ], spark=b[column][differ]).head(5).to_string())
    return problems


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("package")
    ap.add_argument("--family")
    ap.add_argument("--by", default="")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--python", default=sys.executable, help="the interpreter with evalkit[spark] installed")
    args = ap.parse_args()
    options = (["--family", args.family] if args.family else []) + (["--by", args.by] if args.by else [])
    with tempfile.TemporaryDirectory(prefix="bench-spark-") as tmp:
        figures = {}
        for engine in ("duckdb", "spark"):
            figures[engine] = run(args.python, args.package, Path(tmp) / f"{engine}.csv", engine, options, args.master)
        print(f"{args.package} {' '.join(options) or '(all families)'}; Spark master {args.master}")
        print(f"{'engine':8} {'rows':>9} {'CPU s':>8} {'wall s':>8} {'peak GiB':>9}")
        for engine, f in figures.items():
            print(f"{engine:8} {f['rows']:>9,} {f['cpu']:>8.1f} {f['wall']:>8.1f} {f['peak_gib']:>9.2f}")
        problems = compare(Path(tmp) / "duckdb.csv", Path(tmp) / "spark.csv")
        print("\n".join(problems) if problems else f"same cells: {figures['duckdb']['rows']:,} rows equal to 1e-9")
        sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
