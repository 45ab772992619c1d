"""Indicator families. Importing this package registers every indicator function."""
from . import access, coordination  # noqa: F401  (registers the families)
from .base import REGISTRY, Context, Rate, indicator

__all__ = ["REGISTRY", "Context", "Rate", "indicator"]
