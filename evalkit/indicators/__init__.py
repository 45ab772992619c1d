"""Indicator families. Importing this package registers every indicator function."""
from . import access, coordination  # noqa: F401  (registers the families)
from .base import REGISTRY, Context, indicator
from .kinds import Mean, Quantile, Rate, RegionRate

__all__ = ["REGISTRY", "Context", "Mean", "Quantile", "Rate", "RegionRate", "indicator"]
