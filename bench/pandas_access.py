"""Accessibility and availability rates with pandas: the careful user's script bench_speed.py times.

    python bench/pandas_access.py PACKAGE --out access.csv [--receipt-forms service,in_kind]

Reads the Parquet tables of a data package (regions, households, needs, assistance; cases
only for its dates) and writes, for every region of the region tree (counties rolled up to
their cities and the province), every period and every service type, the two rates as
``evalkit indicators --indicator access.accessibility_rate --indicator access.availability_rate``
defines them (evalkit/indicators/access.py):

- a unit is a household needing a service type in a period (a need identified in it);
- accessibility: units with supply nearby (any of the unit's needs answers ``supply_nearby``
  true) over units whose answer is known (units with no answer at all are left out,
  ``n_excluded``);
- availability: units that received aid of that category in the period, in one of the
  receipt forms (default service or in-kind; a record without ``start_on`` or ``form``
  counts as not received; without ``end_on`` it is still running), over all units;
- households weighted by ``weight`` when the package is a survey (a declared design or
  weights other than all 1), else counted;
- periods from the earliest to the latest dated record (needs, assistance, cases) up to
  the extraction date.

The distance fallback (no survey answer, but located households and service points) is
not written here: the script refuses such a package. Vectorised throughout: no Python loop
over rows, units, regions or periods.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

KEYS = ["service_type", "region", "period"]
FREQ = {"quarter": "Q", "month": "M", "year": "Y"}
# the twelve service types of the package schema (`evalkit schema`): every one gets rows
SERVICE_TYPES = ["basic_living", "medical", "education", "housing", "employment", "care", "rehabilitation",
                 "psychological", "legal_aid", "daily_life", "child_care", "emergency"]
EARLIEST = pd.Timestamp("1990-01-01")


def read(pkg: Path, name: str, columns: list[str]) -> pd.DataFrame:
    schema = pq.read_schema(pkg / f"{name}.parquet")
    return pq.read_table(pkg / f"{name}.parquet", columns=[c for c in columns if c in schema.names]).to_pandas(
        date_as_object=False)


def access(pkg: Path, receipt_forms=("service", "in_kind")) -> pd.DataFrame:
    """One row per indicator, service type, region and period: value, numerator, denominator, n, n_excluded."""
    pkg = Path(pkg)
    meta = json.loads((pkg / "datapackage.json").read_text(encoding="utf-8"))
    freq = FREQ[meta.get("frequency", "year")]
    extracted = pd.Timestamp(meta["extracted_on"]) if meta.get("extracted_on") else pd.Timestamp.max

    regions = read(pkg, "regions", ["region_id", "parent_id"])
    hh = read(pkg, "households", ["household_id", "region_id", "weight", "lon", "lat"])
    needs = read(pkg, "needs", ["household_id", "service_type", "identified_on", "supply_nearby"])
    aid = read(pkg, "assistance", ["household_id", "category", "form", "start_on", "end_on"])

    # periods: earliest to latest plausible dated record
    dates = [needs["identified_on"], aid["start_on"]]
    if (pkg / "cases.parquet").exists():
        dates.append(read(pkg, "cases", ["applied_on"])["applied_on"])
    dates = pd.concat([d[d.between(EARLIEST, extracted)] for d in dates])
    periods = pd.period_range(dates.min(), dates.max(), freq=freq)
    first, last = periods[0].ordinal, periods[-1].ordinal

    # weights: a declared design's, or the weight column when it is not all 1
    design = meta.get("design") or {}
    weight = design.get("weight") or ("weight" if "weight" in hh and not hh["weight"].fillna(1.0).eq(1.0).all()
                                      else None)
    w = hh[weight].fillna(1.0).to_numpy(float) if weight else np.ones(len(hh))
    ids = pd.Index(hh["household_id"])
    region_codes, region_names = pd.factorize(hh["region_id"])

    # units: household x period x type needed, nearby = any answer (NA when none)
    needs = needs[needs["identified_on"].notna()]
    needs = needs.assign(h=ids.get_indexer(needs["household_id"]),
                         p=needs["identified_on"].dt.to_period(freq).array.asi8)
    needs = needs[(needs["h"] >= 0) & needs["p"].between(first, last)]
    nearby = needs["supply_nearby"].astype("boolean")
    if nearby.isna().any() and hh["lon"].notna().any() and (pkg / "service_points.parquet").exists():
        raise SystemExit("needs without supply_nearby in a package with coordinates: the distance fallback "
                         "is not in this script")
    units = (needs.assign(nearby=nearby).groupby(["h", "p", "service_type"], sort=False)["nearby"]
             .max().reset_index())  # max of booleans = any; all NA stays NA

    # received: (household, period, category) overlapped by an aid record in a receipt form
    aid = aid[aid["start_on"].notna() & aid["form"].isin(list(receipt_forms))]
    start = aid["start_on"].dt.to_period(freq).array.asi8.clip(first, None)
    end = aid["end_on"].dt.to_period(freq).array.asi8
    end = np.where(aid["end_on"].isna(), last, end).clip(None, last)
    span = np.maximum(end - start + 1, 0)
    row = np.repeat(np.arange(len(aid)), span)
    step = np.arange(len(row)) - np.repeat(np.cumsum(span) - span, span)
    received = pd.DataFrame({"h": ids.get_indexer(aid["household_id"].to_numpy()[row]),
                             "p": start[row] + step,
                             "service_type": aid["category"].to_numpy()[row]}).drop_duplicates()
    units = units.merge(received.assign(got=True), on=["h", "p", "service_type"], how="left")
    units["got"] = units["got"].astype("boolean").fillna(False)

    # sums per leaf region, period and type
    units["w"] = w[units["h"]]
    units["region"] = region_codes[units["h"]]
    known = units["nearby"].notna()
    near = units["nearby"].fillna(False).astype(bool)
    units = units.assign(
        acc_x=np.where(known, units["w"], 0.0), acc_y=np.where(near, units["w"], 0.0), acc_n=known.astype(int),
        acc_excl=(~known).astype(int), av_x=units["w"], av_y=np.where(units["got"], units["w"], 0.0), av_n=1)
    sums = ["acc_x", "acc_y", "acc_n", "acc_excl", "av_x", "av_y", "av_n"]
    leaf = units.groupby(["region", "p", "service_type"], sort=False)[sums].sum().reset_index()
    leaf["region"] = region_names[leaf["region"]]

    # roll up: every region with each of its ancestors (itself included)
    parent = regions.set_index("region_id")["parent_id"]
    closure = pd.DataFrame({"region_id": regions["region_id"], "ancestor": regions["region_id"]})
    step_up = closure
    while True:
        step_up = step_up.assign(ancestor=step_up["ancestor"].map(parent)).dropna(subset=["ancestor"])
        if step_up.empty:
            break
        closure = pd.concat([closure, step_up], ignore_index=True)
    rolled = (leaf.merge(closure, left_on="region", right_on="region_id")
              .groupby(["ancestor", "p", "service_type"], sort=False)[sums].sum())
    rolled.index.names = ["region", "p", "service_type"]

    # every region x period x type, zero where nothing was counted
    grid = pd.MultiIndex.from_product([regions["region_id"], periods.asi8, SERVICE_TYPES], names=rolled.index.names)
    rolled = rolled.reindex(grid, fill_value=0).reset_index()
    rolled["period"] = pd.PeriodIndex.from_ordinals(rolled["p"], freq=freq).astype(str)
    frames = []
    for name, prefix, excluded in (("access.accessibility_rate", "acc", "acc_excl"),
                                   ("access.availability_rate", "av", None)):
        x, y = rolled[f"{prefix}_x"].astype(float), rolled[f"{prefix}_y"].astype(float)
        frames.append(pd.DataFrame({
            "indicator": name, "service_type": rolled["service_type"], "region": rolled["region"],
            "period": rolled["period"], "value": (y / x).where(x > 0), "numerator": y, "denominator": x,
            "n": rolled[f"{prefix}_n"], "n_excluded": rolled[excluded] if excluded else 0}))
    return pd.concat(frames, ignore_index=True)


def main(argv=None, compute=access, doc: str = __doc__) -> None:
    """The command line of this script, and of ``duckdb_access.py`` with its own ``compute``."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("package", type=Path)
    ap.add_argument("--out", type=Path, required=True, help="output table (.csv or .parquet)")
    ap.add_argument("--receipt-forms", default="service,in_kind", help="forms counted as receipt (comma-separated)")
    args = ap.parse_args(argv)
    table = compute(args.package, tuple(f.strip() for f in args.receipt_forms.split(",") if f.strip()))
    if args.out.suffix == ".parquet":
        table.to_parquet(args.out, index=False)
    else:
        table.to_csv(args.out, index=False)
    print(f"wrote {args.out} ({len(table):,} rows)")


if __name__ == "__main__":
    main()
