"""bench/pandas_access.py and bench/duckdb_access.py, the scripts bench/bench_speed.py times against
evalkit, give evalkit's accessibility and availability rates cell for cell (value, numerator,
denominator, n)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from evalkit.data.synth import generate

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import bench_speed  # noqa: E402
import duckdb_access  # noqa: E402
import pandas_access  # noqa: E402


@pytest.mark.parametrize("weighted, forms", [(False, ("service", "in_kind")), (True, ("service", "in_kind")),
                                             (False, ("service",))])
def test_pandas_script_equals_evalkit(tmp_path, weighted, forms):
    import evalkit

    pkg = tmp_path / "pkg"
    generate(pkg, households=600, regions=4, periods=4, seed=5, weighted=weighted)
    ours = evalkit.compute(evalkit.load(pkg), indicators=bench_speed.ACCESS, min_cell=0,
                           params={"receipt_forms": forms}).table
    theirs = pandas_access.access(pkg, forms)
    assert len(theirs) == len(ours) > 0
    assert bench_speed.compare(ours, theirs) == ""
    if weighted:  # the weighted sums, not counts, are compared
        assert (ours["denominator"] != ours["n"]).any()
    assert bench_speed.compare(ours, duckdb_access.access(pkg, forms)) == ""  # the SQL script too
    broken = theirs.copy()
    broken.loc[broken["denominator"] > 0, "numerator"] += 1
    assert "cells differ" in bench_speed.compare(ours, broken)
    assert "only in evalkit" in bench_speed.compare(ours, theirs.iloc[1:])
