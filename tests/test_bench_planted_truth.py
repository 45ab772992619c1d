"""bench/planted_truth.py: coverage and error against planted values, on a hand-made table."""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import planted_truth  # noqa: E402


def test_coverage_and_errors_by_hand():
    cell = {"indicator": "access.need_rate", "period": "2024Q1", "service_type": "medical"}
    table = pd.DataFrame([
        {**cell, "region": "A", "group_by": None, "value": 0.30, "ci_low": 0.25, "ci_high": 0.35, "n": 100},
        {**cell, "region": "B", "group_by": None, "value": 0.50, "ci_low": 0.45, "ci_high": 0.55, "n": 100},
        {**cell, "region": "C", "group_by": None, "value": 0.90, "ci_low": 0.00, "ci_high": 1.00, "n": 29},
        {**cell, "region": "A", "group_by": "hukou", "value": 0.90, "ci_low": 0.00, "ci_high": 1.00, "n": 100},
        # a rate without service types: blank (NaN, as read from a CSV) here, None in truth.json
        {**cell, "indicator": "access.unserved_rate", "service_type": float("nan"), "region": "A", "group_by": None,
         "value": 0.25, "ci_low": 0.15, "ci_high": 0.35, "n": 50},
    ])
    expected = [{"region": r, "period": "2024Q1", "service_type": "medical", "value": v}
                for r, v in (("A", 0.32), ("B", 0.40), ("C", 0.10))]
    truth = {"expected": {"access.need_rate": expected, "access.coverage_rate": expected,
                          "access.unserved_rate": [{"region": "A", "period": "2024Q1", "service_type": None, "value": 0.2}]}}
    out = planted_truth.compare(table, truth)
    assert out["indicator"].tolist() == ["access.need_rate", "access.unserved_rate"]  # no coverage_rate rows
    row = out.iloc[0]
    assert row["cells"] == 2  # C has fewer than 30 units; the group row is not an overall cell
    assert row["covered"] == 0.5  # A's interval holds 0.32, B's misses 0.40
    assert row["mean_error"] == pytest.approx(((0.30 - 0.32) + (0.50 - 0.40)) / 2)
    assert row["max_abs_error"] == pytest.approx(0.10)
    blank = out.iloc[1]
    assert (blank["cells"], blank["covered"]) == (1, 1.0)
    assert blank["mean_error"] == pytest.approx(0.05)
