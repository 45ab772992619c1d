"""Before and after each region's linkage reform, from indicator results.

>>> import evalkit                                                            # doctest: +SKIP
>>> pkg = evalkit.load("data/demo")                                           # doctest: +SKIP
>>> res = evalkit.compute(pkg, indicators=["coordination.processing_days"])   # doctest: +SKIP
>>> before_after(res, pkg, "coordination.processing_days")                    # doctest: +SKIP
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.methods.survey import t_interval
from evalkit.results.indicator_results import IndicatorResults

COLUMNS = ["indicator", "service_type", "region", "reform_period", "periods_before", "periods_after",
           "before", "after", "change", "change_ci_low", "change_ci_high", "n_before", "n_after"]


def before_after(results: IndicatorResults, package, indicator: str, confidence: float | None = None) -> pd.DataFrame:
    """Pool each region's periods before and from its reform period, and compare.

    Works for rates and means (rows whose value is numerator / denominator): the pooled
    value is the sum of numerators over the sum of denominators, a denominator-weighted
    mean of the periods' values. Its variance combines the periods' kept standard errors
    and the covariances the results keep between consecutive periods (the same
    households are seen in both); periods further apart are taken as uncorrelated. The
    change gets a t interval on the design degrees of freedom. Incomplete periods
    (``incomplete``: windows cut off at the extraction date) are left out of the pools.
    Regions without a reform period, or without data on both sides, are left out.
    """
    rows = results.overall(indicator)
    if rows.empty:
        raise ValueError(f"results hold no overall rows for {indicator!r}")
    defined = rows.dropna(subset=["value"])
    ratio = defined["numerator"] / defined["denominator"]
    if not np.allclose(ratio, defined["value"], rtol=1e-9, equal_nan=True) or defined["se"].isna().all():
        raise ValueError(f"{indicator} is not a ratio of numerator to denominator with a standard error "
                         "(e.g. a quantile); compare its periods directly")
    confidence = results.confidence if confidence is None else confidence
    reform = package.regions.set_index("region_id")["reform_period"].dropna()
    cov = results.covariances
    cov = cov[(cov["indicator"] == indicator) & (cov["group_by"] == "") & (cov["other_group_by"] == "")
              & (cov["other_period"] != cov["period"])]
    out = []
    for (service, region), cells in rows.groupby(["service_type", "region"], sort=False):
        if region not in reform.index:
            continue
        # incomplete periods (windows cut off at the extraction date) would bias the "after" side
        cells = cells[(cells["denominator"] > 0) & ~cells["incomplete"]]
        after = cells["period"] >= reform[region]
        if not after.any() or after.all():
            continue
        share = pd.Series(0.0, index=cells["period"])
        share[cells.loc[~after, "period"]] = (cells.loc[~after, "denominator"] / cells.loc[~after, "denominator"].sum()).values
        share[cells.loc[after, "period"]] = -(cells.loc[after, "denominator"] / cells.loc[after, "denominator"].sum()).values
        # var(before - after) = s' V s with s the signed shares and V the periods' covariance matrix
        se = cells.set_index("period")["se"]
        variance = float((share**2 * se**2).sum())
        pairs = cov[(cov["service_type"] == service) & (cov["region"] == region)]
        for period, previous, c in zip(pairs["period"], pairs["other_period"], pairs["cov"]):
            if period in share.index and previous in share.index:
                variance += 2 * share[period] * share[previous] * c
        b = cells.loc[~after, "numerator"].sum() / cells.loc[~after, "denominator"].sum()
        a = cells.loc[after, "numerator"].sum() / cells.loc[after, "denominator"].sum()
        low, high = t_interval([a - b], [np.sqrt(max(variance, 0.0))], [cells["df"].min()], confidence)
        out.append((indicator, service, region, reform[region], int((~after).sum()), int(after.sum()), b, a, a - b,
                    float(low[0]), float(high[0]), int(cells.loc[~after, "n"].sum()), int(cells.loc[after, "n"].sum())))
    return pd.DataFrame(out, columns=COLUMNS)
