"""Indicator results and what is derived from them: comparisons, before/after the reform, tables, composite indices."""
from evalkit.results.indicator_results import COLUMNS, IndicatorResults

__all__ = ["COLUMNS", "IndicatorResults"]
