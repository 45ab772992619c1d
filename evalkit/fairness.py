"""Fairness of assistance: inequality, concentration (who gets the aid) and targeting errors.

The public face of :mod:`evalkit.methods.inequality` (formulas, tie, zero, negative and
missing-value rules and the linearised standard errors are documented there). Pure
functions on numpy arrays or pandas Series, aligned by position. The catalogued fairness
indicators (targeting errors, coverage, Coady-Grosh-Hoddinott, concentration indices and
their gap, Gini of per-capita aid) are in :mod:`evalkit.indicators.fairness`.

>>> from evalkit import fairness
>>> fairness.gini([0, 0, 0, 1])
0.75
>>> ci = fairness.concentration_index(y=[4, 3, 2, 1], rank_by=[10, 20, 30, 40])   # aid falls with income
>>> round(ci.value, 4), ci.df
(-0.25, 3.0)
>>> fairness.targeting_errors(target=[1, 1, 0], covered=[1, 0, 1]).exclusion_error
0.5
"""
from __future__ import annotations

from evalkit.methods.inequality import (
    Estimate,
    Gap,
    TargetingErrors,
    TheilDecomposition,
    atkinson,
    between_share_estimate,
    concentration_curve,
    concentration_gap,
    concentration_index,
    fractional_rank,
    gini,
    gini_estimate,
    rao_wu_bootstrap,
    rao_wu_factors,
    targeting_errors,
    theil,
    theil_decomposition,
    theil_estimate,
    total_variance,
)

__all__ = [
    "Estimate", "Gap", "TargetingErrors", "TheilDecomposition", "atkinson", "between_share_estimate",
    "concentration_curve", "concentration_gap", "concentration_index", "fractional_rank", "gini", "gini_estimate",
    "rao_wu_bootstrap", "rao_wu_factors", "targeting_errors", "theil", "theil_decomposition", "theil_estimate",
    "total_variance",
]
