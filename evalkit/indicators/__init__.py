"""Indicator families. Importing this package registers every indicator function."""
from . import access, coordination, fairness, outcomes  # noqa: F401  (registers the families)
from .base import REGISTRY, Context, indicator
from .kinds import Concentration, Mean, Quantile, Rate, RegionRate

__all__ = ["REGISTRY", "Concentration", "Context", "Mean", "Quantile", "Rate", "RegionRate", "indicator"]
