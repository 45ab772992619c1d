"""Command-line options shared by the benchmarks that generate a synthetic package."""
from __future__ import annotations

import argparse


def add_package_options(ap: argparse.ArgumentParser, households: int) -> argparse.ArgumentParser:
    """``--households`` (default ``households``), ``--regions`` 50, ``--periods`` 8, ``--seed`` 1."""
    ap.add_argument("--households", type=int, default=households)
    ap.add_argument("--regions", type=int, default=50)
    ap.add_argument("--periods", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    return ap
