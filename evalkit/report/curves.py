"""Concentration curves for the fairness part of a report: aggregate ordinates, no households.

A concentration curve needs every household's aid and pre-transfer income, which report
notebooks never read (they read the published results). So the data step
(:func:`evalkit.report.data.compute_data`) computes the curves' ordinates once, at a fixed
grid of cumulative population shares (:data:`POINTS` + 1 points, 0 to 1), per region
(every level: ranks are recomputed among the region's own persons, as the concentration
indices are), period and sector, and keeps only this aggregate table with the results.

Conventions are the concentration indices' (``fairness.concentration_*``,
:class:`evalkit.indicators.kinds.Concentration`): persons are ``weight x size`` per
household; a household receives ``yuan / size`` per person of the records of the sector
starting in the period (0 without any); households are ranked by ``income_pc`` with ties
sharing their mean rank (:func:`evalkit.methods.inequality.concentration_curve`), and
households with a missing income are left out. A curve is suppressed (no ordinates, no
count) when fewer than ``min_cell`` ranked households of the region received aid of the
sector in the period: with few recipients the steps of the curve would show single
households' amounts.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

#: Intervals of the grid of cumulative population shares (0, 1/20, ..., 1).
POINTS = 20
SECTORS = ("government", "charity", "any")
COLUMNS = ["region", "period", "sector", "population_share", "cumulative_share", "recipients", "suppressed"]


def empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
        COLUMNS, ("object", "object", "object", "float64", "float64", "float64", "bool"))})


def concentration_curves(package, params=None, min_cell: int = 10, points: int = POINTS) -> pd.DataFrame:
    """Ordinates of the concentration curves of aid yuan by sector, per region and period (columns :data:`COLUMNS`).

    ``recipients``: ranked households of the region with aid of the sector in the period
    (blank when suppressed); a suppressed curve has one row per grid point with
    ``cumulative_share`` blank and ``suppressed`` True, so a report can say why it is missing.
    An empty frame when the package has no aid records or no income to rank by.
    """
    from evalkit.indicators.base import Context, Unavailable, design_of, households
    from evalkit.indicators.fairness import aid_yuan, require_sector
    from evalkit.indicators.parameters import resolve
    from evalkit.methods.inequality import concentration_curve

    if not (package.has("assistance") and package.has_values("households", "income_pc")):
        return empty()
    ctx = Context(package, list(package.periods), resolve(params), design_of(package), package.region_closure())
    try:
        sectors = []
        for sector in SECTORS:
            try:
                require_sector(ctx, sector)
                sectors.append(sector)
            except Unavailable:
                continue
        con = package.con
        raw = ctx.table("households")
        raw = raw.select("household_id", income=raw.income_pc.cast("float64"),
                         size=raw.size.cast("float64").fill_null(1.0))
        sample = con.execute(households(ctx).select("household_id", "region_id", "w").join(raw, "household_id"))
        aid = con.execute(aid_yuan(ctx).select("household_id", "period", *sectors))
    finally:
        ctx.close()
    sample = sample[sample["income"].notna()].sort_values("household_id", kind="stable").reset_index(drop=True)
    if sample.empty or not sectors:
        return empty()
    periods = list(package.periods)
    rows = pd.Index(sample["household_id"]).get_indexer(aid["household_id"])
    cols = pd.Index(periods).get_indexer(aid["period"])
    found = (rows >= 0) & (cols >= 0)
    yuan = {}
    for sector in sectors:
        m = np.zeros((len(sample), len(periods)))
        np.add.at(m, (rows[found], cols[found]), aid[sector].fillna(0.0).to_numpy(float)[found])
        yuan[sector] = m
    size = sample["size"].to_numpy(float)
    persons = sample["w"].to_numpy(float) * size
    income = sample["income"].to_numpy(float)
    members = sample[["household_id", "region_id"]].reset_index().merge(package.region_closure(), on="region_id")
    frames = []
    for region in package.regions["region_id"]:
        mine = np.sort(members.loc[members["ancestor"] == region, "index"].to_numpy())
        if len(mine) == 0:
            continue
        for p, period in enumerate(periods):
            for sector in sectors:
                y = yuan[sector][mine, p]
                recipients = int((y > 0).sum())
                if recipients < min_cell:
                    curve = pd.DataFrame({"population_share": np.linspace(0.0, 1.0, points + 1),
                                          "cumulative_share": np.nan})
                    count, suppressed = np.nan, True
                else:
                    curve = concentration_curve(y / size[mine], income[mine], persons[mine], points=points)
                    count, suppressed = float(recipients), False
                frames.append(curve.assign(region=region, period=period, sector=sector, recipients=count,
                                           suppressed=suppressed))
    if not frames:
        return empty()
    return pd.concat(frames, ignore_index=True)[COLUMNS]


def suppress_again(curves: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """Curves suppressed again at a higher ``min_cell`` (fewer recipients than it): ordinates and count blanked."""
    curves = curves.copy()
    small = curves["suppressed"] | (curves["recipients"] < min_cell)
    curves.loc[small, ["cumulative_share", "recipients"]] = np.nan
    curves["suppressed"] = small
    return curves


def to_json(curves: pd.DataFrame) -> dict:
    """The table as JSON-ready columns (NaN as null), for the results file's metadata."""
    out = {}
    for c in COLUMNS:
        values = curves[c].astype(object).where(curves[c].notna(), None).tolist() if c in curves else []
        out[c] = values
    return out


def from_json(record: dict | None) -> pd.DataFrame:
    if not record:
        return empty()
    frame = pd.DataFrame({c: record.get(c, []) for c in COLUMNS})
    if frame.empty:
        return empty()
    for c in ("population_share", "cumulative_share", "recipients"):
        frame[c] = pd.to_numeric(frame[c], errors="coerce").astype("float64")
    frame["suppressed"] = frame["suppressed"].astype(bool)
    for c in ("region", "period", "sector"):
        frame[c] = frame[c].astype(str)
    return frame
