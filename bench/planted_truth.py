"""How close an indicator table comes to a synthetic package's planted truth.

    python bench/planted_truth.py TABLE PACKAGE

TABLE: a table ``evalkit indicators`` wrote (.csv or .parquet); PACKAGE: the package made by
``evalkit synth`` it was computed from (its ``truth.json``). For each indicator with an
expected value per region, period and service type, over the overall cells with at least 30
units (as ``tests/test_synth.py`` counts them): how many cells, the share whose 95% interval
holds the planted value, the mean and largest error. At 20M households the intervals are
narrow, so coverage near 95% says the estimate and its standard error are both right.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd


def compare(table: pd.DataFrame, truth: dict) -> pd.DataFrame:
    rows = []
    overall = table[table["group_by"].fillna("") == ""]
    for indicator, expected in truth["expected"].items():
        mine = overall[overall["indicator"] == indicator]
        if mine.empty:
            continue
        expected = pd.DataFrame(expected)
        keys = [k for k in ("region", "period", "service_type") if k in expected.columns]
        # a rate without service types has a blank one: NaN in a CSV, None in truth.json
        got = _blank(mine, keys).merge(_blank(expected, keys), on=keys, suffixes=("", "_true"))
        got = got[(got["n"] >= 30) & got["value"].notna()]
        if got.empty:
            continue
        error = got["value"] - got["value_true"]
        inside = (got["ci_low"] <= got["value_true"]) & (got["value_true"] <= got["ci_high"])
        rows.append({"indicator": indicator, "cells": len(got), "covered": inside.mean(),
                     "mean_error": error.mean(), "max_abs_error": error.abs().max()})
    return pd.DataFrame(rows)


def _blank(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return frame.assign(**{k: frame[k].fillna("").astype(str) for k in keys})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table", type=Path)
    parser.add_argument("package", type=Path)
    args = parser.parse_args()
    read = pd.read_parquet if args.table.suffix == ".parquet" else pd.read_csv
    table = read(args.table, dtype={"group_by": str, "group": str})
    truth = json.loads((args.package / "truth.json").read_text(encoding="utf-8"))
    result = compare(table, truth)
    if result.empty:
        raise SystemExit("no indicator of the table has a planted value")
    print(f"{args.table} against {args.package / 'truth.json'} "
          f"({truth['generator']['households']:,} households)")
    print(result.to_string(index=False, float_format=lambda v: f"{v:.5f}"))


if __name__ == "__main__":
    main()
