"""Time and peak memory of nearest-point distances and floating catchments at provincial scale.

    .venv/bin/python bench/bench_spatial.py --households 2000000 --points 20000 --catchment-km 5

Households and service points are scattered over a province-sized box (about 400 x 330
km) with urban clusters; each point offers a random 40% of the 12 service types, each
household needs one type (with ``--periods P``, as the access family's catchments: two
needs per household, each of a random type in one of P periods, and every point's capacity
in every period). Prints one line per stage: seconds (wall, and CPU of every thread), peak
resident memory of this process (MiB), rows. No full household x point matrix is ever
built: a k-d tree answers the nearest and radius queries, the catchment runs in DuckDB on
the long pairs.
"""
from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pandas as pd

from evalkit.data.schema import SERVICE_TYPES
from evalkit.engine import connect
from evalkit.methods import spatial


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def scatter(rng, n, centres):
    pick = rng.integers(0, len(centres), n)
    urban = rng.random(n) < 0.6
    spread = np.where(urban, 0.05, 0.4)
    return centres[pick, 0] + rng.normal(0, spread), centres[pick, 1] + rng.normal(0, spread)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--households", type=int, default=2_000_000)
    ap.add_argument("--points", type=int, default=20_000)
    ap.add_argument("--catchment-km", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--periods", type=int, default=0,
                    help="catchments per period and type, two needs per household (default 0: one need, no periods)")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    types = np.array(list(SERVICE_TYPES))
    centres = np.column_stack([118 + rng.uniform(0, 4, 100), 28 + rng.uniform(0, 3, 100)])
    lon, lat = scatter(rng, args.households, centres)
    homes = pd.DataFrame({"id": [f"H{i:08d}" for i in range(args.households)], "lon": lon, "lat": lat,
                          "service_type": types[rng.integers(0, len(types), args.households)]})
    plon, plat = scatter(rng, args.points, centres)
    offers = rng.random((args.points, len(types))) < 0.4
    points = pd.DataFrame({"id": np.repeat([f"P{j:06d}" for j in range(args.points)], offers.sum(axis=1)),
                           "service_type": np.tile(types, args.points)[offers.ravel()]})
    points = points.merge(pd.DataFrame({"id": [f"P{j:06d}" for j in range(args.points)], "lon": plon, "lat": plat,
                                        "capacity": rng.uniform(10, 200, args.points)}), on="id")
    print(f"inputs      {args.households:,} households, {args.points:,} points, {len(points):,} point-types; "
          f"peak {peak_mib():,.0f} MiB")

    t0 = time.perf_counter()
    rows = 0
    for service in types:
        found = spatial.nearest(homes[["id", "lon", "lat"]], points.loc[points.service_type == service,
                                                                        ["id", "lon", "lat"]])
        rows += len(found)
    print(f"nearest     {time.perf_counter() - t0:8.1f} s  peak {peak_mib():7,.0f} MiB  "
          f"{rows:,} household x type distances (every household, all 12 types)")

    con = connect()
    t0 = time.perf_counter()
    unique_points = points.drop_duplicates("id")[["id", "lon", "lat"]]
    costs = spatial.write_costs(con, spatial.iter_od_costs(homes[["id", "lon", "lat"]], unique_points,
                                                           args.catchment_km))
    pairs = con.execute(costs.count())
    print(f"od pairs    {time.perf_counter() - t0:8.1f} s  peak {peak_mib():7,.0f} MiB  "
          f"{pairs:,} pairs within {args.catchment_km:g} km")

    demand = homes[["id", "service_type"]].rename(columns={"id": "origin"}).assign(demand=1.0)
    supply = points[["id", "service_type", "capacity"]].rename(columns={"id": "destination", "capacity": "supply"})
    if args.periods:
        labels = np.array([f"P{p:02d}" for p in range(args.periods)])
        k = 2 * args.households
        demand = pd.DataFrame({"origin": homes["id"].to_numpy()[rng.integers(0, args.households, k)],
                               "period": labels[rng.integers(0, args.periods, k)],
                               "service_type": types[rng.integers(0, len(types), k)]}).drop_duplicates()
        demand["demand"] = rng.uniform(0.5, 2.0, len(demand))
        supply = supply.merge(pd.DataFrame({"period": labels}), how="cross")
    t0, c0 = time.perf_counter(), time.process_time()
    catchment = spatial.Catchment(demand, supply, costs, con=con)
    scores = catchment.enhanced_two_stage_fca(args.catchment_km, spatial.Gaussian(args.catchment_km / 2))
    print(f"e2sfca      {time.perf_counter() - t0:8.1f} s  ({time.process_time() - c0:.1f} s CPU)  peak "
          f"{peak_mib():7,.0f} MiB  {len(scores):,} households{' x periods' if args.periods else ''} scored by type; "
          f"zero access {np.mean(scores.access == 0):.1%}")


if __name__ == "__main__":
    main()
