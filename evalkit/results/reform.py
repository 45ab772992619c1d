"""Before and after each region's linkage reform, from indicator results.

>>> import evalkit                                                            # doctest: +SKIP
>>> pkg = evalkit.load("data/demo")                                           # doctest: +SKIP
>>> res = evalkit.compute(pkg, indicators=["coordination.processing_days"])   # doctest: +SKIP
>>> before_after(res, pkg, "coordination.processing_days")                    # doctest: +SKIP
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from evalkit.results.indicator_results import IndicatorResults

COLUMNS = ["indicator", "service_type", "region", "reform_period", "periods_before", "periods_after",
           "before", "after", "change", "change_ci_low", "change_ci_high", "n_before", "n_after"]


def before_after(results: IndicatorResults, package, indicator: str, confidence: float = 0.95) -> pd.DataFrame:
    """Pool each region's periods before and from its reform period, and compare.

    Works for rates and means (rows whose value is numerator / denominator): the pooled
    value is the sum of numerators over the sum of denominators; its variance combines the
    periods' variances (read back from their intervals) as independent, weighted by
    denominators. Regions without a reform period, or without data on both sides, are left out.
    """
    rows = results.overall(indicator)
    if rows.empty:
        raise ValueError(f"results hold no overall rows for {indicator!r}")
    defined = rows.dropna(subset=["value"])
    ratio = defined["numerator"] / defined["denominator"]
    if not np.allclose(ratio, defined["value"], rtol=1e-9, equal_nan=True):
        raise ValueError(f"{indicator} is not a ratio of numerator to denominator (e.g. a quantile); "
                         "compare its periods directly")
    reform = package.regions.set_index("region_id")["reform_period"].dropna()
    z = norm.ppf(0.5 + confidence / 2)
    rows = rows.assign(se=(rows["ci_high"] - rows["ci_low"]) / (2 * z))
    out = []
    for (service, region), cells in rows.groupby(["service_type", "region"], sort=False):
        if region not in reform.index:
            continue
        after = cells["period"] >= reform[region]
        sides = [_pool(cells[~after]), _pool(cells[after])]
        if any(s is None for s in sides):
            continue
        (b, var_b, n_b, p_b), (a, var_a, n_a, p_a) = sides
        half = z * np.sqrt(var_b + var_a)
        out.append((indicator, service, region, reform[region], p_b, p_a, b, a, a - b, a - b - half, a - b + half,
                    n_b, n_a))
    return pd.DataFrame(out, columns=COLUMNS)


def _pool(cells: pd.DataFrame):
    cells = cells[cells["denominator"] > 0]
    if cells.empty:
        return None
    den = cells["denominator"].sum()
    share = cells["denominator"] / den
    return (cells["numerator"].sum() / den, float((share**2 * cells["se"] ** 2).sum()), int(cells["n"].sum()),
            len(cells))
