"""Indicator families. Importing this package registers every indicator function."""
from . import access, coordination, fairness, outcomes  # noqa: F401  (registers the families)
from .base import REGISTRY, Context, indicator
from .kinds import Inequality, Mean, Quantile, Rate, RegionRate, Share, Total

__all__ = ["REGISTRY", "Context", "Inequality", "Mean", "Quantile", "Rate", "RegionRate", "Share", "Total", "indicator"]
