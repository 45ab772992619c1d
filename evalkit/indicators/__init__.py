"""Indicator families. Importing this package registers every indicator function."""
from . import access  # noqa: F401  (registers the access family)
from .base import REGISTRY, Context, Rate, indicator

__all__ = ["REGISTRY", "Context", "Rate", "indicator"]
