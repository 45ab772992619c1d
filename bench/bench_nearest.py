"""Nearest service point of every household: scipy's cKDTree against scikit-learn's BallTree.

    .venv/bin/python bench/bench_nearest.py --households 200000 2000000 --points 20000

``ckdtree`` is :func:`evalkit.methods.spatial.nearest` as shipped (a k-d tree on unit
vectors, chord length turned into great-circle km); ``balltree`` is the same function
written with ``sklearn.neighbors.BallTree(metric="haversine")`` on (lat, lon) in
radians. Households and points are scattered as in ``bench_spatial.py`` (a province of
about 400 x 330 km with urban clusters). Each method runs in a process of its own, so
peak resident memory is that method's alone; both read the same inputs (same seed).

For each size the script first checks that the two agree: the same distance to within
1e-9 km for every household, and the same point wherever the nearest one is not tied.
Then it prints seconds (tree build and query, ids in and out, as a caller sees them),
the process's resident memory once the inputs are built, and its peak.

Measured 2026-11-28 on a shared 2-core machine (scipy 1.17.1, scikit-learn 1.9.1), one run:

    households  points    method  seconds  inputs MiB  peak MiB
       200,000  20,000   ckdtree     0.44         212       246
       200,000  20,000  balltree    30.14         212       269
     2,000,000  20,000   ckdtree     2.97         349       578
     2,000,000  20,000  balltree   554.49         349       594

The two agree (largest difference 1.4e-12 km, no household given another point), so
``nearest`` keeps the k-d tree: the haversine BallTree evaluates trigonometry at
every node it visits, where the k-d tree compares squared chord lengths.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

TOLERANCE_KM = 1e-9


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def inputs(households: int, points: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    centres = np.column_stack([118 + rng.uniform(0, 4, 100), 28 + rng.uniform(0, 3, 100)])

    def scatter(n):
        pick = rng.integers(0, len(centres), n)
        spread = np.where(rng.random(n) < 0.6, 0.05, 0.4)
        return centres[pick, 0] + rng.normal(0, spread), centres[pick, 1] + rng.normal(0, spread)

    lon, lat = scatter(households)
    homes = pd.DataFrame({"id": [f"H{i:08d}" for i in range(households)], "lon": lon, "lat": lat})
    plon, plat = scatter(points)
    return homes, pd.DataFrame({"id": [f"P{j:06d}" for j in range(points)], "lon": plon, "lat": plat})


def nearest_balltree(origins: pd.DataFrame, destinations: pd.DataFrame, *, origin_crs: str = "wgs84",
                     destination_crs: str = "wgs84", chunk_size: int = 500_000) -> pd.DataFrame:
    """:func:`evalkit.methods.spatial.nearest` with scikit-learn's haversine BallTree."""
    from sklearn.neighbors import BallTree

    from evalkit.methods.spatial import EARTH_RADIUS_KM, _od_frame, to_wgs84

    def radians(frame, crs):
        lon, lat = to_wgs84(frame["lon"].to_numpy(float), frame["lat"].to_numpy(float), crs)
        return np.radians(np.column_stack([lat, lon]))  # haversine wants (lat, lon)

    oid, did = origins["id"].to_numpy(), destinations["id"].to_numpy()
    if len(oid) == 0 or len(did) == 0:
        return _od_frame([], [], [])
    tree = BallTree(radians(destinations, destination_crs), metric="haversine")
    orad = radians(origins, origin_crs)
    parts = []
    for start in range(0, len(oid), chunk_size):
        angle, j = tree.query(orad[start:start + chunk_size], k=1)
        parts.append(pd.DataFrame({"origin": oid[start:start + chunk_size], "destination": did[j[:, 0]],
                                   "cost": angle[:, 0] * EARTH_RADIUS_KM}))
    return pd.concat(parts, ignore_index=True)


def run_one(method: str, households: int, points: int, seed: int, out: Path) -> None:
    """One method in this process: time it, note memory, save the answer for the comparison."""
    from evalkit.methods import spatial

    homes, pts = inputs(households, points, seed)
    before = current_mib()
    fn = spatial.nearest if method == "ckdtree" else nearest_balltree
    if method == "balltree":
        import sklearn.neighbors  # noqa: F401  (imported before the clock starts, as scipy is)
    t0 = time.perf_counter()
    found = fn(homes, pts)
    seconds = time.perf_counter() - t0
    peak = peak_mib()
    np.savez(out, destination=found["destination"].to_numpy(str), cost=found["cost"].to_numpy(float),
             origin=found["origin"].to_numpy(str))
    print(json.dumps({"method": method, "households": households, "seconds": seconds,
                      "inputs_mib": before, "peak_mib": peak}))


def compare(a: dict, b: dict) -> tuple[float, int, int]:
    """Largest distance difference (km), households given another point, and how many of those are ties."""
    assert (a["origin"] == b["origin"]).all()
    gap = float(np.max(np.abs(a["cost"] - b["cost"]))) if len(a["cost"]) else 0.0
    differ = a["destination"] != b["destination"]
    # another point at the same distance is a tie: both answers are a nearest point
    ties = int(np.sum(differ & (np.abs(a["cost"] - b["cost"]) <= TOLERANCE_KM)))
    return gap, int(differ.sum()), ties


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--households", type=int, nargs="+", default=[200_000, 2_000_000])
    ap.add_argument("--points", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--run", choices=["ckdtree", "balltree"], help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.run:
        run_one(args.run, args.households[0], args.points, args.seed, args.out)
        return

    print(f"{'households':>10} {'points':>7} {'method':>9} {'seconds':>8} {'inputs MiB':>11} {'peak MiB':>9}")
    with tempfile.TemporaryDirectory(prefix="bench-nearest-") as tmp:
        for n in args.households:
            answers = {}
            for method in ("ckdtree", "balltree"):
                out = Path(tmp) / f"{method}_{n}.npz"
                cmd = [sys.executable, __file__, "--run", method, "--households", str(n),
                       "--points", str(args.points), "--seed", str(args.seed), "--out", str(out)]
                row = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
                answers[method] = dict(np.load(out))
                print(f"{n:>10,} {args.points:>7,} {method:>9} {row['seconds']:8.2f} {row['inputs_mib']:11,.0f} "
                      f"{row['peak_mib']:9,.0f}", flush=True)
            gap, differ, ties = compare(answers["ckdtree"], answers["balltree"])
            verdict = "agree" if gap <= TOLERANCE_KM and differ == ties else "DISAGREE"
            print(f"{'':>10} {verdict}: largest distance difference {gap:.2e} km; "
                  f"{differ} household(s) with another point, {ties} of them at the same distance (ties)", flush=True)


if __name__ == "__main__":
    main()
