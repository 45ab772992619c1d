"""Concentration curves for the fairness part of a report: aggregate ordinates, no households.

A concentration curve needs every household's aid and pre-transfer income, which report
notebooks never read (they read the published results). So the data step
(:func:`evalkit.report.data.compute_data`) computes the curves' ordinates once, at a fixed
grid of cumulative population shares (:data:`POINTS` + 1 points, 0 to 1), per region
(every level: ranks are recomputed among the region's own persons, as the concentration
indices are), period and sector, and keeps only this aggregate table with the results.

Conventions are the concentration indices' (``fairness.concentration_*``,
:class:`evalkit.indicators.kinds.Inequality`): persons are ``weight x size`` per
household; a household receives ``yuan / size`` per person of the records of the sector
starting in the period (0 without any); households are ranked by ``income_pc`` with ties
sharing their mean rank (:func:`evalkit.methods.inequality.concentration_curve`), and
households with a missing income are left out.

Disclosure. A curve is suppressed (no ordinates) when fewer than ``min_cell`` ranked
households of the region received aid of the sector in the period (with few recipients
the steps of the curve would show single households' amounts), and whenever the results
table does not publish the region's concentration index of that sector and period
(:func:`follow_table`: the table's complementary suppression also hides regions to
protect others). No count is kept: the number of recipients is close to the
Coady-Grosh-Hoddinott indicator's ``n``, which the table may suppress; reading the file
at a higher ``min_cell`` uses that published ``n`` instead.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

#: Intervals of the grid of cumulative population shares (0, 1/20, ..., 1).
POINTS = 20
SECTORS = ("government", "charity", "any")
COLUMNS = ["region", "period", "sector", "population_share", "cumulative_share", "suppressed"]
_TYPES = {"region": "object", "period": "object", "sector": "object", "population_share": "float64",
          "cumulative_share": "float64", "suppressed": "bool", "recipients": "float64"}


def empty(counts: bool = False) -> pd.DataFrame:
    columns = [*COLUMNS, "recipients"] if counts else COLUMNS
    return pd.DataFrame({c: pd.Series(dtype=_TYPES[c]) for c in columns})


def concentration_curves(package, params=None, min_cell: int = 10, points: int = POINTS,
                         counts: bool = False) -> pd.DataFrame:
    """Ordinates of the concentration curves of aid yuan by sector, per region and period (columns :data:`COLUMNS`).

    A suppressed curve (fewer than ``min_cell`` recipients) has one row per grid point
    with ``cumulative_share`` blank and ``suppressed`` True, so a report can say why it
    is missing. ``counts`` adds ``recipients`` (ranked households of the region with aid
    of the sector in the period) for checks; it is never saved. An empty frame when the
    package has no aid records or no income to rank by.
    """
    from evalkit.indicators.base import Context, Unavailable, design_of
    from evalkit.indicators.fairness import aid_yuan, require_sector
    from evalkit.indicators.kinds import Sample, yuan_by_row
    from evalkit.indicators.parameters import resolve
    from evalkit.methods.inequality import concentration_curve

    if not (package.has("assistance") and package.has_values("households", "income_pc")):
        return empty(counts)
    ctx = Context(package, list(package.periods), resolve(params), design_of(package), package.region_closure())
    try:
        sectors = []
        for sector in SECTORS:
            try:
                require_sector(ctx, sector)
                sectors.append(sector)
            except Unavailable:
                continue
        if not sectors:
            return empty(counts)
        sample = Sample.of(ctx)
        aid = aid_yuan(ctx)
        yuan = {sector: yuan_by_row(ctx, aid, sector, len(sample.w)) for sector in sectors}
    finally:
        ctx.close()
    ranked = ~np.isnan(sample.income)  # households without an income are left out
    if not ranked.any():
        return empty(counts)
    yuan = {sector: m[ranked] for sector, m in yuan.items()}
    periods = list(package.periods)
    size = sample.size[ranked]
    persons = sample.w[ranked] * size
    income = sample.income[ranked]
    members = pd.DataFrame({"region_id": sample.region_id[ranked]}).reset_index().merge(
        package.region_closure(), on="region_id")
    frames = []
    for region in package.regions["region_id"]:
        mine = np.sort(members.loc[members["ancestor"] == region, "index"].to_numpy())
        if len(mine) == 0:
            continue
        for p, period in enumerate(periods):
            for sector in sectors:
                y = yuan[sector][mine, p]
                recipients = int((y > 0).sum())
                suppressed = recipients < min_cell
                if suppressed:
                    curve = pd.DataFrame({"population_share": np.linspace(0.0, 1.0, points + 1),
                                          "cumulative_share": np.nan})
                else:
                    curve = concentration_curve(y / size[mine], income[mine], persons[mine], points=points)
                frames.append(curve.assign(region=region, period=period, sector=sector, recipients=float(recipients),
                                           suppressed=suppressed))
    if not frames:
        return empty(counts)
    return pd.concat(frames, ignore_index=True)[[*COLUMNS, "recipients"] if counts else COLUMNS]


def follow_table(curves: pd.DataFrame, table: pd.DataFrame, min_cell: int | None = None) -> pd.DataFrame:
    """Curves suppressed wherever the published ``table`` does not publish the region's
    concentration index of the sector and period (``fairness.concentration_<sector>``,
    overall), and, with ``min_cell``, where the sector's Coady-Grosh-Hoddinott ``n``
    (its recipients, ranked) is below it or not published: ordinates blanked."""
    if curves.empty:
        return curves
    overall = table[(table["group_by"] == "") & (table["service_type"] == "")]
    keys = ["region", "period", "sector"]

    def published(kind: str, need_n: bool) -> pd.Series:
        rows = overall[overall["indicator"].str.startswith(f"fairness.{kind}_")]
        rows = rows.assign(sector=rows["indicator"].str.removeprefix(f"fairness.{kind}_"))
        ok = ~rows["suppressed"].astype(bool) & rows["value"].notna()
        if need_n:
            ok &= pd.to_numeric(rows["n"], errors="coerce").fillna(-1).to_numpy() >= min_cell
        return pd.Series(ok.to_numpy(), index=pd.MultiIndex.from_frame(rows[keys]))

    index = pd.MultiIndex.from_frame(curves[keys])
    show = published("concentration", False).reindex(index).fillna(False).to_numpy(dtype=bool, copy=True)
    if min_cell is not None:
        show = show & published("cgh", True).reindex(index).fillna(False).to_numpy(dtype=bool)
    curves = curves.copy()
    curves["suppressed"] = curves["suppressed"].astype(bool) | ~show
    curves.loc[curves["suppressed"], "cumulative_share"] = np.nan
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
    for c in ("population_share", "cumulative_share"):
        frame[c] = pd.to_numeric(frame[c], errors="coerce").astype("float64")
    frame["suppressed"] = frame["suppressed"].astype(bool)
    for c in ("region", "period", "sector"):
        frame[c] = frame[c].astype(str)
    return frame
