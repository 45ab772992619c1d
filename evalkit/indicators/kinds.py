"""Statistic kinds: each knows what it asks the engine for and how to finish it.

An indicator function returns one of these, built from Ibis tables of its units. A kind
does two things:

- :meth:`Statistic.statistics` computes its sufficient statistics per cell (region with
  every ancestor, group, period, service type) in the engine and returns small frames;
- :meth:`Statistic.finish` turns them into ``value, numerator, denominator, se, df,
  ci_low, ci_high, interval, n`` per cell, in Python, on any backend.

Ratio kinds (:class:`Rate`, :class:`Mean`, :class:`RegionRate`) also return the
covariances between cells that share primary sampling units (each group with its
region's overall value and with the other groups, each period with the one before), so
that differences, ratios and changes get standard errors that do not pretend the two
estimates are independent. :class:`Share` (a group's share of its region's total) uses
the same PSU sums. A new kind is one class here: a subclass of
:class:`RatioStatistic` only says how to sum its units per PSU (:meth:`~RatioStatistic.psu_cells`).
When households are the PSUs, a :class:`Rate` whose denominator lacks one of its keys
(e.g. every household, in every period and service type) is summed from its denominator
and numerator apart (:class:`BroadcastCells`), so memory does not grow with households x
periods x service types.

:class:`Inequality` (concentration indices, their gap, the Gini and Theil indices) is not
a ratio of sums: it ranks households within each cell, so it brings one row per
household back from the engine and finishes each cell in Python (no covariances between
cells yet).
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

import ibis
import numpy as np
import pandas as pd

from evalkit.engine import drop_table, temp_table
from evalkit.indicators.base import (
    KEYS,
    OVERALL,
    Context,
    compared_periods,
    households,
    key_values,
    passes,
    previous_periods,
    roll_up,
)
from evalkit.methods.survey import (
    CROSS,
    _contributions,
    logit_interval,
    ratio_covariance,
    ratio_variance,
    t_interval,
    total_variance,
    wilson,
)


def km_quantile(*args, **kwargs) -> pd.DataFrame:
    """:func:`evalkit.methods.survival.km_quantile`, imported when a quantile is computed (it needs scipy.stats)."""
    from evalkit.methods.survival import km_quantile as quantiles

    return quantiles(*args, **kwargs)


RESULT = ["value", "numerator", "denominator", "se", "df", "ci_low", "ci_high", "interval", "n", "n_excluded",
          "n_censored", "note"]
PAIR = ["region", "service_type", "period", "group_by", "group", "other_period", "other_group_by", "other_group"]
CENSORED_NOTE = "every unit censored: its window runs past the extraction date (n_censored)"


@dataclass
class Sums:
    """Sufficient statistics of one indicator, as the engine returns them.

    ``strata``: one row per cell and stratum with ``n`` and the sums of
    :data:`evalkit.methods.survey.SUMS`. ``period_pairs``: per cell, stratum and
    ``previous`` period, the cross sums over PSUs of :data:`~evalkit.methods.survey.CROSS`
    between the cell and the same cell one period earlier. ``group_pairs``: the same
    between two groups of one grouping (only where a PSU can hold several groups).
    """

    strata: pd.DataFrame
    period_pairs: pd.DataFrame = field(default_factory=pd.DataFrame)
    group_pairs: pd.DataFrame = field(default_factory=pd.DataFrame)


class Statistic:
    """Base of the statistic kinds. Subclasses implement :meth:`statistics` and :meth:`finish`."""

    household_groups = True  # False: units belong to regions, reported overall only
    excluded: ibis.Table | None = None  # units left out because a defining value is missing (n_excluded)
    censored: ibis.Table | None = None  # units left out because their window runs past the extraction date (n_censored)
    region_relative = False  # True: units carry ``region_id`` (the region summed in); see ancestor_passes

    def statistics(self, ctx: Context) -> Sums:
        raise NotImplementedError

    def finish(self, sums: Sums, grid: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        raise NotImplementedError

    def covariances(self, sums: Sums, finished: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        """Covariances between cells sharing PSUs (none by default)."""
        return pd.DataFrame(columns=[*PAIR, "cov"])

    def broadcast_cells(self, ctx: Context, hh: ibis.Table) -> BroadcastCells | None:
        """PSU sums without crossing households with key values (:class:`BroadcastCells`), or None."""
        return None


class RatioStatistic(Statistic):
    """A ratio of weighted sums, R = sum(w y) / sum(w x), with its linearised variance."""

    interval = "t"
    counts_numerator = False  # True: psu_cells also gives ``m``, units in the numerator (unweighted)

    def psu_cells(self, ctx: Context, hh: ibis.Table) -> ibis.Table:
        """Sums per region, group values, stratum, PSU and keys: ``X`` (denominator), ``Y`` (numerator), ``n``."""
        raise NotImplementedError

    def interval_method(self, ctx: Context) -> str:
        return self.interval

    def statistics(self, ctx: Context) -> Sums:
        return ratio_statistics({"": self}, ctx)[""]

    def finish(self, sums: Sums, grid: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        cell = [c for c in grid.columns if c in ("region", "group_by", "group", *KEYS)]
        # a statistic without a key (e.g. service points, undated) holds for every value of it
        present = [c for c in cell if c in sums.strata.columns]
        per_cell = ratio_variance(sums.strata, ctx.strata, present)
        counts = ["n", "m"] if self.counts_numerator else ["n"]
        per_cell = per_cell.merge(sums.strata.groupby(present, dropna=False)[counts].sum().reset_index(), on=present)
        out = grid.merge(per_cell, on=present, how="left")
        out["n"] = out["n"].fillna(0).astype("int64")
        if self.counts_numerator:  # for small-cell suppression only (evalkit.results.disclosure), never published
            out["m"] = out["m"].fillna(0).astype("int64")
        out["denominator"] = out["X"].fillna(0.0)
        out["numerator"] = out["Y"].fillna(0.0)
        defined = out["denominator"] > 0
        out["value"] = np.where(defined, out["numerator"] / out["denominator"].where(defined), np.nan)
        out["se"] = np.sqrt(out["variance"].astype(float).where(defined))
        out["df"] = ctx.strata.df
        method = self.interval_method(ctx)
        if method == "wilson":
            out["ci_low"], out["ci_high"] = wilson(out["numerator"], out["denominator"], ctx.confidence)
        elif method == "logit_t":
            out["ci_low"], out["ci_high"] = logit_interval(out["value"], out["se"], out["df"], ctx.confidence)
        else:
            out["ci_low"], out["ci_high"] = t_interval(out["value"], out["se"], out["df"], ctx.confidence)
        out["interval"] = method
        out["note"] = np.where(defined, "", "no household in the denominator")
        out["n_excluded"] = left_out_counts(self.excluded, out, cell, ctx)
        out["n_censored"] = left_out_counts(self.censored, out, cell, ctx)
        # every unit of the cell censored: not an empty denominator, an outcome not known yet
        out["note"] = np.where(~defined & (out["n_censored"] > 0), CENSORED_NOTE, out["note"])
        return out[[*cell, *RESULT, *counts[1:]]]

    def covariances(self, sums: Sums, finished: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        return ratio_covariances({"": (sums, finished)}, ctx)[""]


def ratio_statistics(batch: dict[str, RatioStatistic], ctx: Context) -> dict[str, Sums]:
    """Sufficient statistics of many ratio statistics at once, keyed like ``batch``.

    Each statistic's PSU cells go to an engine table of their own, with an ``indicator``
    column (the statistic's position in ``batch``; keys a statistic lacks are blank); their
    sums come back as one frame for the batch, finished in pandas together. (Stacking a
    family's cells in one table saves a few queries but holds all their unit rows at once:
    4.4 GB peak for the access family at 200k households, 2 GB one at a time, same CPU.)
    """
    if not batch:
        return {}
    relative = {name: s for name, s in batch.items() if s.region_relative}
    if relative and len(relative) < len(batch):
        out = ratio_statistics({name: s for name, s in batch.items() if not s.region_relative}, ctx)
        return {**out, **ratio_statistics(relative, ctx)}
    con = ctx.package.con
    strata, period_pairs, group_pairs, own_keys = [], [], [], {}
    # the cells name their statistic by its position: a small integer joins and groups faster than text
    for hh, closure, group_bys in (ancestor_passes(ctx) if relative else passes(ctx, households(ctx))):
        levels = ["region_id", *[c for c in hh.columns if c.startswith("g_")], "stratum", "psu"]
        parts, broadcast = [], {}
        for code, (name, statistic) in enumerate(batch.items()):
            # households as PSUs: a denominator without a key is summed without crossing every
            # household with every value of the key (see BroadcastCells)
            split = None if ctx.design.clustered else statistic.broadcast_cells(ctx, hh)
            if split is not None:
                broadcast[code] = split
                own_keys[name] = split.keys
                continue
            cells = statistic.psu_cells(ctx, hh)
            own_keys[name] = [k for k in KEYS if k in cells.columns]
            blank = {k: ibis.literal("") for k in KEYS if k not in own_keys[name]}
            parts.append(cells.mutate(indicator=ibis.literal(code, "int16"), **blank).select(
                "indicator", *levels, *KEYS, X=cells.X.cast("float64"), Y=cells.Y.cast("float64"),
                n=cells.n.cast("int64"), m=(cells.m if "m" in cells.columns else ibis.literal(0)).cast("int64")))
        if broadcast:
            frames, pairs = _household_psu_sums(None, broadcast, levels, group_bys, closure, ctx)
            strata.extend(frames)
            period_pairs.extend(pairs)
        for part in parts:
            cells = temp_table(con, part, "_psu_cells")
            try:
                if ctx.design.clustered:
                    for group_by in group_bys:
                        frame, pairs, between = _grouping_sums(cells, group_by, closure, ctx)
                        strata.append(frame)
                        period_pairs.append(pairs)
                        group_pairs.append(between)
                else:
                    frames, pairs = _household_psu_sums(cells, {}, levels, group_bys, closure, ctx)
                    strata.extend(frames)
                    period_pairs.extend(pairs)
            finally:
                drop_table(con, cells)
    frames = {"strata": pd.concat(strata, ignore_index=True), "period": pd.concat(period_pairs, ignore_index=True),
              "group": pd.concat([g for g in group_pairs if not g.empty], ignore_index=True)
              if any(not g.empty for g in group_pairs) else pd.DataFrame()}
    rows = {kind: _positions(frame["indicator"]) if not frame.empty else {} for kind, frame in frames.items()}
    out = {}
    for code, name in enumerate(batch):
        mine = {}
        for kind, frame in frames.items():
            if frame.empty:
                mine[kind] = frame
                continue
            part = frame.take(rows[kind].get(code, [])).drop(columns="indicator")
            absent = [k for k in KEYS if k not in own_keys[name]]
            mine[kind] = part.drop(columns=absent).reset_index(drop=True)
        if "period" not in own_keys[name]:
            mine["period"] = pd.DataFrame()
        out[name] = Sums(mine["strata"], mine["period"], mine["group"])
    return out


def _positions(codes: pd.Series) -> dict[int, np.ndarray]:
    """The row positions of each code, in row order."""
    codes = codes.to_numpy("int64")
    return pd.Series(codes).groupby(codes).indices


# A household that is its own PSU and the region it is summed in fix its groups and stratum:
# these two columns find it in another period or table of the same pass.
HOUSEHOLD_PSU = ["region_id", "psu"]


def in_psus(units: ibis.Table, on: str | list[str], hh: ibis.Table, keys: list[str], ctx: Context, x: str, y: str,
            counts: dict[str, str]) -> ibis.Table:
    """PSU cells (:meth:`RatioStatistic.psu_cells`) from sums per household and key.

    ``units`` holds, per household (``on``) and ``keys``, the unweighted sums ``x`` and ``y``
    and the counts named in ``counts`` (output name: column). Each is placed in its
    household's region, groups, stratum and PSU (``hh``) and weighted: ``X = w x``,
    ``Y = w y``. Summing per household before joining the households keeps the large
    group-by on few columns; PSUs of several households are summed again, while a
    household that is its own PSU already is its cell.
    """
    level = ["region_id", *[c for c in hh.columns if c.startswith("g_")], "stratum", "psu"]
    placed = units.join(hh, on)
    placed = placed.select(*level, *keys, X=placed.w * placed[x], Y=placed.w * placed[y],
                           **{name: placed[column] for name, column in counts.items()})
    if not ctx.design.clustered:
        return placed
    return placed.group_by([*level, *keys]).agg(X=placed.X.sum(), Y=placed.Y.sum(),
                                                 **{name: placed[name].sum() for name in counts})


@dataclass
class BroadcastCells:
    """The PSU cells of a rate whose denominator lacks some of its keys, kept apart.

    ``den``: the denominator summed per PSU (``levels``) and the keys it has
    (``den_keys``): ``X``, ``n``. ``num``: the numerator per PSU and every key
    (``keys``): ``Y``, ``m``. The PSU cells :meth:`Rate.psu_cells` would form are
    ``den`` crossed with every value of the keys it lacks, with ``Y`` and ``m`` from
    ``num`` (0 where a PSU is not in the numerator): households x periods x service
    types rows. The sums over PSUs that the variance needs are formed without them:
    ``n``, ``SX``, ``SXX`` and ``CXX`` do not depend on the keys the denominator lacks,
    so they are summed over ``den`` once and repeated for each value; the sums holding
    ``Y`` run over the numerator's rows only (the other cells add 0). The same sums,
    with only per-cell rows leaving the engine.
    """

    den: ibis.Table
    num: ibis.Table
    den_keys: list[str]
    keys: list[str]

    def sums(self, code: int, levels: list[str], ctx: Context) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        """Per cell (``levels`` but the PSU, with ``indicator`` (``code``) and every key, absent ones
        blank) and stratum, the sums :func:`_stratum_sums` gives; per cell, ``previous``
        period and stratum, the cross sums :func:`_period_cross` gives (None without periods)."""
        con = ctx.package.con
        place = [c for c in levels if c not in ("stratum", "psu")]
        cell_den, cell = [*place, *self.den_keys], [*place, *self.keys]
        spread = [k for k in self.keys if k not in self.den_keys]
        den = temp_table(con, self.den, "_psu_den")
        made = []
        try:
            # a numerator row counts only where its PSU and keys are in the denominator, as
            # the left join of the crossed denominator with the numerator keeps it
            num = self.num
            for k in spread:
                num = num.filter(num[k].isin(con.execute(key_values(ctx, k))[k].tolist()))
            num = temp_table(con, num.join(den, [*HOUSEHOLD_PSU, *self.den_keys]).select(
                *levels, *self.keys, X=den.X, Y=num.Y, m=num.m), "_psu_num")
            made.append(num)
            own = den.group_by([*cell_den, "stratum"]).agg(n=den.n.sum(), SX=den.X.sum(), SXX=(den.X * den.X).sum())
            for k in spread:
                own = own.cross_join(key_values(ctx, k))
            found = num.group_by([*cell, "stratum"]).agg(m=num.m.sum(), SY=num.Y.sum(), SYY=(num.Y * num.Y).sum(),
                                                       SXY=(num.X * num.Y).sum())
            strata = own.left_join(found, [*cell, "stratum"]).select(
                *cell, "stratum", n=own.n.cast("int64"), m=ibis.coalesce(found.m, 0).cast("int64"),
                SX=own.SX.cast("float64"), SY=ibis.coalesce(found.SY, 0.0).cast("float64"),
                SXX=own.SXX.cast("float64"), SXY=ibis.coalesce(found.SXY, 0.0).cast("float64"),
                SYY=ibis.coalesce(found.SYY, 0.0).cast("float64"))
            strata = self._label(con.execute(strata), code)
            pairs = None  # no period, no cross sums between periods
            if "period" in self.keys:
                pairs = self._label(con.execute(self._period_cross(den, num, levels, cell_den, cell, spread, ctx)),
                                    code)
        finally:
            for table in (den, *made):
                drop_table(con, table)
        return strata, pairs

    def _period_cross(self, den: ibis.Table, num: ibis.Table, levels: list[str], cell_den: list[str],
                      cell: list[str], spread: list[str], ctx: Context) -> ibis.Table:
        """:func:`_period_cross` of the crossed cells, from ``den`` and ``num``: a PSU holds both
        periods of a pair where the denominator has it in both (in every period when the
        denominator has no period)."""
        prev = previous_periods(ctx)
        same = [c for c in self.keys if c != "period"]  # keys a pair shares
        den_same = [c for c in self.den_keys if c != "period"]
        if "period" in self.den_keys:
            a = den.join(prev, "period")
            b = den.select(*HOUSEHOLD_PSU, *den_same, previous=den.period, X_b=den.X)
            j = a.join(b, [*HOUSEHOLD_PSU, *den_same, "previous"])
            both = j.group_by([*cell_den, "previous", "stratum"]).agg(CXX=(j.X * j.X_b).sum())
            for k in spread:
                both = both.cross_join(key_values(ctx, k))
        else:
            both = den.group_by([*cell_den, "stratum"]).agg(CXX=(den.X * den.X).sum()).cross_join(prev)
            for k in spread:
                if k != "period":
                    both = both.cross_join(key_values(ctx, k))
        # X of the PSU in the other period of the pair: the denominator's there, or its only one
        if "period" in self.den_keys:
            def x_at(t: ibis.Table, column: str) -> ibis.Table:
                d = den.select(*HOUSEHOLD_PSU, *den_same, **{column: den.period, "X_o": den.X})
                return t.join(d, [*HOUSEHOLD_PSU, *den_same, column]).mutate(X_other=lambda r: r.X_o)
        else:
            def x_at(t: ibis.Table, column: str) -> ibis.Table:
                return t.mutate(X_other=t.X)
        # CXY: this period's X with the previous period's Y, over the numerator's rows of the previous period
        later = num.select(*levels, *same, "X", Y_b=num.Y, previous=num.period).join(prev, "previous")
        later = x_at(later, "period")
        cxy = later.group_by([*cell, "previous", "stratum"]).agg(CXY=(later.X_other * later.Y_b).sum())
        # CYX: this period's Y with the previous period's X, over the numerator's rows of this period
        earlier = x_at(num.join(prev, "period"), "previous")
        cyx = earlier.group_by([*cell, "previous", "stratum"]).agg(CYX=(earlier.Y * earlier.X_other).sum())
        # CYY: PSUs in the numerator in both periods
        b = num.select(*HOUSEHOLD_PSU, *same, previous=num.period, Y_b=num.Y)
        j = num.join(prev, "period").join(b, [*HOUSEHOLD_PSU, *same, "previous"])
        cyy = j.group_by([*cell, "previous", "stratum"]).agg(CYY=(j.Y * j.Y_b).sum())
        on = [*cell, "previous", "stratum"]
        out = both.left_join(cxy, on).select(*on, "CXX", "CXY")
        out = out.left_join(cyx, on).select(*on, "CXX", "CXY", "CYX")
        out = out.left_join(cyy, on).select(*on, "CXX", "CXY", "CYX", "CYY")
        return out.select(*on, CXX=out.CXX.cast("float64"),
                          **{c: ibis.coalesce(out[c], 0.0).cast("float64") for c in ("CXY", "CYX", "CYY")})

    def _label(self, frame: pd.DataFrame, code: int) -> pd.DataFrame:
        return frame.assign(indicator=code, **{k: "" for k in KEYS if k not in self.keys})


def ancestor_passes(ctx: Context):
    """Like :func:`evalkit.indicators.base.passes`, but every pass has one row per (ancestor
    region, household) with ``region_id`` the ancestor, and the identity closure: for
    statistics whose units depend on the region they are summed in (e.g. aid reaching
    the region's poorest quintile), so nothing is rolled up from leaf regions."""
    for hh, closure, group_bys in passes(ctx, households(ctx)):
        if not (closure["region_id"] == closure["ancestor"]).all():
            pairs = hh.join(ibis.memtable(closure), "region_id")
            hh = pairs.select(*(c for c in hh.columns if c != "region_id"), region_id=pairs.ancestor)
            ancestors = pd.unique(closure["ancestor"])
            closure = pd.DataFrame({"region_id": ancestors, "ancestor": ancestors})
        yield hh, closure, group_bys


def ratio_covariances(batch: dict[str, tuple[Sums, pd.DataFrame]], ctx: Context) -> dict[str, pd.DataFrame]:
    """Covariances between the cells of many ratio statistics at once: ``batch`` maps a name
    to the statistic's sums and finished rows; returns the pairs (``PAIR`` and ``cov``) per name.

    Absent keys are blank, so every statistic shares one cell layout and the pandas work
    runs once for the batch.
    """
    cell = ["indicator", "region", "group_by", "group", *KEYS]

    def stack(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
        parts = [f.assign(indicator=name, **{k: "" for k in KEYS if k not in f.columns})
                 for name, f in frames.items() if not f.empty]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    sums = Sums(stack({n: s.strata for n, (s, _) in batch.items()}),
                stack({n: s.period_pairs for n, (s, _) in batch.items()}),
                stack({n: s.group_pairs for n, (s, _) in batch.items()}))
    finished = stack({n: f for n, (_, f) in batch.items()})
    empty = pd.DataFrame(columns=[*PAIR, "cov"])
    if sums.strata.empty or finished.empty:
        return {name: empty for name in batch}
    estimates = finished.drop_duplicates(cell)[[*cell, "value", "denominator"]].rename(
        columns={"value": "ratio", "denominator": "X"})
    estimates = estimates[estimates["X"] > 0]
    frames = [_group_covariances(sums, estimates, cell, ctx)]
    if not sums.period_pairs.empty:
        frames.append(_period_covariances(sums, estimates, cell, ctx))
    frames = [f for f in frames if not f.empty]
    if not frames:
        return {name: empty for name in batch}
    out = pd.concat(frames, ignore_index=True)
    found = {name: part[[*PAIR, "cov"]] for name, part in out.groupby("indicator", sort=False)}
    return {name: found.get(name, empty) for name in batch}


def _grouping_sums(cells: ibis.Table, group_by: str, closure: pd.DataFrame, ctx: Context):
    """Stratum sums, period cross sums and group cross sums of one grouping, when a PSU (a
    community) may hold several groups and regions: its totals are formed per ancestor
    region and group in the engine before any product."""
    con = ctx.package.con
    keys = ["indicator", *KEYS]
    t = cells.mutate(group=ibis.literal(OVERALL) if group_by == OVERALL else cells[f"g_{group_by}"])
    t = t.join(ibis.memtable(closure), "region_id")
    t = t.group_by(region=t.ancestor, group=t.group, stratum=t.stratum, psu=t.psu,
                   **{k: t[k] for k in keys}).agg(X=t.X.sum(), Y=t.Y.sum(), n=t.n.sum(), m=t.m.sum())
    cell = ["region", "group", *keys]
    frame = con.execute(_stratum_sums(t, cell))
    pairs = con.execute(_period_cross(t, cell, ctx))
    between = pd.DataFrame()
    if group_by != OVERALL:
        between = con.execute(_group_cross(t, ["region", *keys]))
        between.insert(0, "group_by", group_by)
    frame.insert(1, "group_by", group_by)
    pairs.insert(1, "group_by", group_by)
    return frame, pairs, between


def _household_psu_sums(cells: ibis.Table | None, broadcast: dict[int, BroadcastCells], levels: list[str],
                        group_bys: list[str], closure: pd.DataFrame, ctx: Context):
    """Stratum and period cross sums of every grouping when PSUs are households.

    A household lies in one leaf region and one group of each grouping, so sums over PSUs
    (and products within a PSU) add up: the engine sums once per leaf region and
    combination of group values, and each grouping and ancestor region is a sum of
    those small frames in pandas. ``cells`` holds the stacked PSU cells of most
    statistics (None: there are none); ``broadcast`` the statistics whose denominator
    lacks a key, summed by :meth:`BroadcastCells.sums` to the same frames.
    """
    con = ctx.package.con
    keys = ["indicator", *KEYS]
    g_cols = [c for c in levels if c.startswith("g_")]
    cell = ["region_id", *g_cols, *keys]
    strata_parts, pairs_parts = [], []
    if cells is not None:
        strata_parts.append(con.execute(_stratum_sums(cells, cell)))
        match = [*HOUSEHOLD_PSU, "indicator", *(k for k in KEYS if k != "period")]
        pairs_parts.append(con.execute(_period_cross(cells, cell, ctx, match)))
    for code, split in broadcast.items():
        frame, between = split.sums(code, levels, ctx)
        strata_parts.append(frame[[*cell, "stratum", *SUM_COLUMNS]])
        if between is not None:
            pairs_parts.append(between[[*cell, "previous", "stratum", *CROSS_COLUMNS]])
    if not pairs_parts:
        pairs_parts.append(pd.DataFrame({**{c: pd.Series(dtype=object) for c in [*cell, "previous", "stratum"]},
                                         **{c: pd.Series(dtype="float64") for c in CROSS_COLUMNS}}))
    strata_all = pd.concat(strata_parts, ignore_index=True) if len(strata_parts) > 1 else strata_parts[0]
    pairs_all = pd.concat(pairs_parts, ignore_index=True) if len(pairs_parts) > 1 else pairs_parts[0]
    frames, pairs = [], []
    for source, extra, out in ((strata_all, ["stratum"], frames), (pairs_all, ["previous", "stratum"], pairs)):
        # the keys but region and group, numbered once: each grouping's sums group by three columns, not a dozen
        cell_keys = [*keys, *extra]
        number = source.groupby(cell_keys, dropna=False, sort=False).ngroup().to_numpy()
        named = source[cell_keys].iloc[np.unique(number, return_index=True)[1]].reset_index(drop=True)
        sums = [c for c in source.columns if c not in ("region_id", *g_cols, *cell_keys)]
        for group_by in group_bys:
            group = OVERALL if group_by == OVERALL else source[f"g_{group_by}"]
            leaf = source[["region_id", *sums]].assign(group=group, cell=number)
            leaf = leaf.groupby(["region_id", "group", "cell"], dropna=False, sort=False)[sums].sum().reset_index()
            frame = roll_up(leaf, closure, ["group", "cell"])
            frame = pd.concat([frame[["region"]].assign(group_by=group_by, group=frame["group"]),
                               named.iloc[frame["cell"]].reset_index(drop=True), frame[sums]], axis=1)
            out.append(frame)
    return frames, pairs


SUM_COLUMNS = ["n", "m", "SX", "SY", "SXX", "SXY", "SYY"]
CROSS_COLUMNS = ["CXX", "CXY", "CYX", "CYY"]


def _stratum_sums(t: ibis.Table, cell: list[str]) -> ibis.Table:
    return t.group_by([*cell, "stratum"]).agg(
        n=t.n.sum(), m=t.m.sum(), SX=t.X.sum(), SY=t.Y.sum(),
        SXX=(t.X * t.X).sum(), SXY=(t.X * t.Y).sum(), SYY=(t.Y * t.Y).sum())


def _cross_sums(j: ibis.Table) -> dict:
    """Sums over PSUs of products of one side's X, Y with the other side's ``X_b``, ``Y_b``."""
    return {"CXX": (j.X * j.X_b).sum(), "CXY": (j.X * j.Y_b).sum(), "CYX": (j.Y * j.X_b).sum(),
            "CYY": (j.Y * j.Y_b).sum()}


def _period_cross(t: ibis.Table, cell: list[str], ctx: Context, same: list[str] | None = None) -> ibis.Table:
    """Cross sums over PSUs between each cell and the same cell in the previous period and a year before.

    ``same``: the columns that find the same PSU and cell in the other period (by default
    ``cell`` but the period, with stratum and PSU)."""
    same = same or [c for c in cell if c != "period"] + ["stratum", "psu"]
    a = t.join(previous_periods(ctx), "period")
    b = t.select(*same, previous=t.period, X_b=t.X, Y_b=t.Y)
    j = a.join(b, [*same, "previous"])
    return j.group_by([*cell, "previous", "stratum"]).agg(**_cross_sums(j))


def _group_cross(t: ibis.Table, cell: list[str]) -> ibis.Table:
    """Cross sums over PSUs between two different groups of a grouping, per cell and stratum."""
    b = t.select(*cell, "stratum", "psu", other_group=t.group, X_b=t.X, Y_b=t.Y)
    j = t.join(b, [*cell, "stratum", "psu"])
    j = j.filter(j.group != j.other_group)
    return j.group_by([*cell, "group", "other_group", "stratum"]).agg(**_cross_sums(j))


def _covariance(pairs: pd.DataFrame, sums: Sums, cross: pd.DataFrame, estimates: pd.DataFrame, cell: list[str],
                ctx: Context) -> pd.DataFrame:
    """Covariance of each pair of cells: ``pairs`` names cell a (``cell``) and cell b (``other_*``).

    Each pair runs over the strata of either side (a side without units in a stratum has
    zero sums there); ``cross`` holds the pair's cross sums over shared PSUs per stratum
    (absent: no PSU holds both). A pair with a side not in ``estimates`` has none.
    """
    other = {c: f"other_{c}" for c in cell}
    keys = [*cell, *other.values()]
    # cells as row numbers of ``estimates`` in key order (the order the pairs come out in):
    # the joins below run on two integers, not on a dozen text keys
    estimates = estimates.sort_values(cell, ignore_index=True)
    index = pd.MultiIndex.from_frame(estimates[cell])

    def code(frame: pd.DataFrame, columns) -> np.ndarray:
        return index.get_indexer(pd.MultiIndex.from_frame(frame[list(columns)], names=cell))

    pairs = pd.DataFrame({"a": code(pairs, cell), "b": code(pairs, other.values())})
    pairs = pairs[(pairs["a"] >= 0) & (pairs["b"] >= 0)]
    if pairs.empty:
        return pd.DataFrame(columns=[*keys, "cov"])
    side = sums.strata[["stratum", "SX", "SY"]].assign(cell=code(sums.strata, cell))
    side = side[side["cell"] >= 0]
    a = pairs.merge(side.rename(columns={"cell": "a"}), on="a")
    b = pairs.merge(side.rename(columns={"cell": "b"}), on="b")
    s = a.merge(b, on=["a", "b", "stratum"], how="outer", suffixes=("_a", "_b"))
    if not cross.empty:
        found = cross[["stratum", *CROSS]].assign(a=code(cross, cell), b=code(cross, other.values()))
        s = s.merge(found, on=["a", "b", "stratum"], how="left")
    if s.empty:
        return pd.DataFrame(columns=[*keys, "cov"])
    for c in ("SX_a", "SY_a", "SX_b", "SY_b", *CROSS):
        s[c] = s[c].fillna(0.0) if c in s.columns else 0.0
    ratio, total = estimates["ratio"].to_numpy(float), estimates["X"].to_numpy(float)
    ia, ib = s["a"].to_numpy(), s["b"].to_numpy()
    s = s.assign(ratio_a=ratio[ia], X_a=total[ia], ratio_b=ratio[ib], X_b=total[ib])
    s = s.assign(cov=ratio_covariance(s, ctx.strata))
    cov = s.groupby(["a", "b"], sort=False)["cov"].sum().reset_index()
    named = estimates[cell]
    return pd.concat([named.iloc[cov["a"]].reset_index(drop=True),
                      named.iloc[cov["b"]].set_axis(list(other.values()), axis=1).reset_index(drop=True),
                      cov["cov"]], axis=1)


def _group_covariances(sums: Sums, estimates: pd.DataFrame, cell: list[str], ctx: Context) -> pd.DataFrame:
    """Each group with its region's overall value and with every other group of its grouping."""
    keys = [c for c in cell if c not in ("group_by", "group")]
    groups = estimates[estimates["group_by"] != OVERALL][cell]
    if groups.empty:
        return pd.DataFrame()
    other = {c: f"other_{c}" for c in cell}
    overall = estimates[estimates["group_by"] == OVERALL][cell].rename(columns=other)
    with_overall = groups.merge(overall, left_on=keys, right_on=[other[k] for k in keys])
    between = groups.merge(groups.rename(columns=other), left_on=[*keys, "group_by"],
                           right_on=[*(other[k] for k in keys), "other_group_by"])
    between = between[between["group"] != between["other_group"]]
    # cross sums: a group with itself are its own sums of squares; with another group they
    # are zero unless a PSU holds both (then the engine counted them)
    strata = sums.strata[sums.strata["group_by"] != OVERALL]
    own = strata.assign(CXX=strata["SXX"], CXY=strata["SXY"], CYX=strata["SXY"], CYY=strata["SYY"])
    own = own[[*cell, "stratum", *CROSS]]
    if not sums.group_pairs.empty:
        g = sums.group_pairs
        g_cross = g.assign(**{other[c]: g[c] for c in keys}, other_group_by=g["group_by"])
        g_cross = g_cross[[*cell, *(other[c] for c in cell if c != "group"), "other_group", "stratum", *CROSS]]
        to_overall = g.groupby([*cell, "stratum"], as_index=False)[list(CROSS)].sum()
        own = pd.concat([own, to_overall]).groupby([*cell, "stratum"], as_index=False)[list(CROSS)].sum()
    else:
        g_cross = pd.DataFrame()
    own = own.assign(**{other[c]: own[c] for c in keys}, other_group_by=OVERALL, other_group=OVERALL)
    return pd.concat([_covariance(with_overall, sums, own, estimates, cell, ctx),
                      _covariance(between, sums, g_cross, estimates, cell, ctx)], ignore_index=True)


def _period_covariances(sums: Sums, estimates: pd.DataFrame, cell: list[str], ctx: Context) -> pd.DataFrame:
    """Each cell with the same cell one period earlier and a year earlier (:func:`compared_periods`)."""
    other = {c: f"other_{c}" for c in cell}
    compared = pd.DataFrame(compared_periods(ctx.periods), columns=["period", "other_period"], dtype=str)
    pairs = estimates[cell].merge(compared, on="period")
    pairs = pairs.assign(**{other[c]: pairs[c] for c in cell if c != "period"})
    cross = sums.period_pairs.rename(columns={"previous": "other_period"})
    cross = cross.assign(**{other[c]: cross[c] for c in cell if c != "period"})
    return _covariance(pairs, sums, cross, estimates, cell, ctx)


# --- units left out (n_excluded) -----------------------------------------------------

def unit_counts(ctx: Context, units: ibis.Table, keys: list[str], name: str) -> pd.DataFrame:
    """Units (``household_id`` and ``keys``) counted, unweighted, per region with every
    ancestor, grouping and group, and key values: column ``name``."""
    frames = []
    for hh, closure, group_bys in passes(ctx, households(ctx)):
        # one query per pass, by every grouping at once; each grouping's counts are sums of these
        groups = [f"g_{group_by}" for group_by in group_bys if group_by != OVERALL]
        joined = units.join(hh, "household_id")
        finest = ctx.package.con.execute(joined.group_by(["region_id", *groups, *keys]).agg(**{name: joined.count()}))
        for group_by in group_bys:
            g = finest.assign(group=OVERALL) if group_by == OVERALL else finest.rename(columns={f"g_{group_by}": "group"})
            counts = g.groupby(["region_id", "group", *keys], dropna=False, sort=False)[name].sum().reset_index()
            frame = roll_up(counts, closure, ["group", *keys])
            frame.insert(1, "group_by", group_by)
            frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def left_out_counts(table: ibis.Table | None, grid: pd.DataFrame, cell: list[str], ctx: Context) -> np.ndarray:
    """Units a statistic left out, per cell of ``grid``: ``n_excluded`` (a value the
    definition needs is missing) or ``n_censored`` (the unit's observation window runs
    past the extraction date).

    ``table`` (optional) lists those units, shaped like the denominator (``household_id``
    and the keys it varies by, one row per unit); they are counted (unweighted, like
    ``n``) per region with its ancestors, group and key, and 0 where nothing is left out.
    """
    if table is None:
        return np.zeros(len(grid), dtype="int64")
    keys = [k for k in KEYS if k in table.columns and k in cell]
    found = unit_counts(ctx, table.select("household_id", *keys), keys, "left_out")
    on = ["region", "group_by", "group", *keys]
    merged = grid[on].merge(found[[*on, "left_out"]], on=on, how="left")
    return merged["left_out"].fillna(0).astype("int64").to_numpy()


@dataclass
class Rate(RatioStatistic):
    """Households in the numerator and in the denominator of a rate.

    Each table has ``household_id`` and the keys among ``period`` and ``service_type``
    that it varies by, one row per unit. The numerator must be a subset of the
    denominator. A denominator of ``None`` means every household; a denominator without
    a key applies to every value of that key (e.g. all households, in every period).
    Intervals: Wilson on the counts without a survey design, else logit with Student t.
    ``excluded`` (optional): units left out of the denominator because a value the
    definition needs is missing, shaped like it; counted per cell as ``n_excluded``.
    ``censored`` (optional): units left out because their observation window runs past
    the extraction date (their outcome cannot be known yet); counted as ``n_censored``.
    """

    numerator: ibis.Table
    denominator: ibis.Table | None = None
    excluded: ibis.Table | None = None
    censored: ibis.Table | None = None
    counts_numerator = True

    def interval_method(self, ctx: Context) -> str:
        return "wilson" if ctx.design.trivial else "logit_t"

    def psu_cells(self, ctx: Context, hh: ibis.Table) -> ibis.Table:
        numerator, denominator = self.numerator, self.denominator
        keys = [k for k in KEYS if k in numerator.columns]
        den_keys = [k for k in keys if denominator is not None and k in denominator.columns]
        # units counted per household and key first: the numerator counts where the denominator has the household
        if denominator is not None and den_keys == keys:
            # one group-by over both tables stacked, instead of one each and a join between them
            on = ["household_id", *keys]
            both = ibis.union(denominator.select(*on, n=ibis.literal(1, "int64"), m=ibis.literal(0, "int64")),
                              numerator.select(*on, n=ibis.literal(0, "int64"), m=ibis.literal(1, "int64")),
                              distinct=False)
            units = both.group_by(on).agg(n=both.n.sum(), m=both.m.sum())
            units = units.filter(units.n > 0)  # numerator units outside the denominator do not count
            return in_psus(units, "household_id", hh, keys, ctx, x="n", y="m", counts={"n": "n", "m": "m"})
        if denominator is None:
            den = hh.select("household_id").distinct().mutate(n=ibis.literal(1, "int64"))
        else:
            den = denominator.group_by(["household_id", *den_keys]).agg(n=denominator.count())
        num = numerator.group_by(["household_id", *keys]).agg(m=numerator.count())
        for k in keys:
            if k not in den_keys:
                den = den.cross_join(key_values(ctx, k))
        units = den.left_join(num, ["household_id", *keys]).select(
            "household_id", *keys, "n", m=ibis.coalesce(num.m, 0))
        return in_psus(units, "household_id", hh, keys, ctx, x="n", y="m", counts={"n": "n", "m": "m"})

    def broadcast_cells(self, ctx: Context, hh: ibis.Table) -> BroadcastCells | None:
        """The parts of :meth:`psu_cells` when the denominator lacks a key of the numerator (else None)."""
        level = ["region_id", *[c for c in hh.columns if c.startswith("g_")], "stratum", "psu"]
        keys = [k for k in KEYS if k in self.numerator.columns]
        den_keys = [k for k in keys if self.denominator is not None and k in self.denominator.columns]
        if den_keys == keys:
            return None
        if self.denominator is None:
            den = hh.select(*level, X=hh.w.cast("float64"), n=ibis.literal(1, "int64"))
        else:
            d = self.denominator
            den = in_psus(d.group_by(["household_id", *den_keys]).agg(n=d.count()), "household_id", hh, den_keys,
                          ctx, x="n", y="n", counts={"n": "n"}).drop("Y")
        num = self.numerator.group_by(["household_id", *keys]).agg(m=self.numerator.count())
        num = in_psus(num, "household_id", hh, keys, ctx, x="m", y="m", counts={"m": "m"}).drop("X")
        return BroadcastCells(den.mutate(X=den.X.cast("float64"), n=den.n.cast("int64")),
                              num.mutate(Y=num.Y.cast("float64"), m=num.m.cast("int64")), den_keys, keys)


@dataclass
class Mean(RatioStatistic):
    """The average of ``value`` over units (``household_id``, keys, ``value``).

    With a column ``x`` in the units it is the ratio of sums ``sum(w*value) / sum(w*x)``
    (e.g. the charity share of yuan: value = charity yuan, x = all yuan). Units with a
    column ``region_id`` hold values relative to that region (a row per ancestor region and
    unit, e.g. whether the household is in the region's poorest quintile): they are summed
    per region without rolling up (``region_relative``). Its interval is
    a symmetric t interval from the linearised variance (households as PSUs when the data
    carry no survey design). ``excluded`` (optional): units left out because their value
    is missing (``n_excluded``); ``censored``: units whose value is not known yet at the
    extraction date (``n_censored``).
    """

    units: ibis.Table
    excluded: ibis.Table | None = None
    censored: ibis.Table | None = None

    def __post_init__(self):
        self.region_relative = "region_id" in self.units.columns

    def psu_cells(self, ctx: Context, hh: ibis.Table) -> ibis.Table:
        keys = [k for k in KEYS if k in self.units.columns]
        on = ["household_id", "region_id"] if self.region_relative else ["household_id"]
        u = self.units
        units = u.group_by([*on, *keys]).agg(x=u.x.sum() if "x" in u.columns else u.count().cast("float64"),
                                              value=u.value.sum(), n=u.count())
        return in_psus(units, on, hh, keys, ctx, x="x", y="value", counts={"n": "n"})


@dataclass
class Total(Statistic):
    """The estimated population total of ``value`` over units (``household_id``, keys, ``value``).

    An amount, not a ratio: ``value`` and ``numerator`` are sum(w*value) (e.g. the yuan of
    duplicate aid in the period), ``denominator`` the weighted number of units it runs
    over and ``n`` the units counted (so numerator / denominator is the mean per unit).
    A cell with households but no unit has a total of 0. Its standard error is the
    between-PSU variance of PSU totals within strata (:func:`evalkit.methods.survey.total_variance`,
    with the finite population correction where the design gives one) and its interval
    a symmetric t interval; covariances between cells (groups, periods) come from the
    same PSU totals, as for the ratio kinds. The PSU sums are the ones the ratio kinds use
    (:func:`ratio_statistics`).
    """

    units: ibis.Table
    excluded: ibis.Table | None = None

    # the same per-PSU sums as a mean (X: weights, Y: weighted values), batched the same way
    psu_cells = Mean.psu_cells
    statistics = RatioStatistic.statistics

    def finish(self, sums: Sums, grid: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        cell = [c for c in grid.columns if c in ("region", "group_by", "group", *KEYS)]
        present = [c for c in cell if c in sums.strata.columns]
        per_cell = total_variance(sums.strata, ctx.strata, present)
        counts = sums.strata.groupby(present, dropna=False)[["n", "SX"]].sum().reset_index()
        out = grid.merge(per_cell.merge(counts, on=present), on=present, how="left")
        out["n"] = out["n"].fillna(0).astype("int64")
        out["numerator"] = out["Y"].astype(float).fillna(0.0)
        out["denominator"] = out["SX"].astype(float).fillna(0.0)
        out["value"] = out["numerator"]
        # no unit in the cell: every PSU total is 0, so is the variance
        out["se"] = np.sqrt(out["variance"].astype(float).fillna(0.0))
        out["df"] = ctx.strata.df
        out["ci_low"], out["ci_high"] = t_interval(out["value"], out["se"], out["df"], ctx.confidence)
        out["interval"] = "t"
        out["note"] = ""
        out["n_excluded"] = left_out_counts(self.excluded, out, cell, ctx)
        out["n_censored"] = left_out_counts(self.censored, out, cell, ctx)
        return out[[*cell, *RESULT]]

    def covariances(self, sums: Sums, finished: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        # a total is the ratio estimator with R = 0 over X = 1: its linearised variable is Y itself
        as_ratio = finished.assign(value=0.0, denominator=1.0)
        return ratio_covariances({"": (sums, as_ratio)}, ctx)[""]


@dataclass
class Share(Total):
    """Each group's share of its region's weighted total of ``value`` over units
    (``household_id``, keys, ``value``): S_g = sum_g(w*value) / sum(w*value).

    Read by group (e.g. ``by=["income_quintile"]``: the share of aid yuan reaching each
    quintile, benefit incidence): the groups of one grouping, the ``(missing)`` group
    included, add up to 1; the overall row is the whole region, 1 by definition.
    ``numerator`` is the group's total, ``denominator`` the region's and ``n`` the group's
    units. The standard error linearises the ratio over every unit of the region,
    z = (value * [in g] - S_g * value) / total, summed per PSU (strata where the group has
    no unit count too), with a symmetric t interval; no covariances between cells. The
    units and PSU sums are a :class:`Total`'s.
    """

    covariances = Statistic.covariances

    def finish(self, sums: Sums, grid: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        cell = [c for c in grid.columns if c in ("region", "group_by", "group", *KEYS)]
        present = [c for c in cell if c in sums.strata.columns]
        region_keys = [c for c in present if c not in ("group_by", "group")]
        s = sums.strata
        if s.empty:
            found = pd.DataFrame(columns=[*present, "numerator", "denominator", "n", "variance"])
        else:
            whole = s[s["group_by"] == OVERALL][[*region_keys, "stratum", "SY", "SYY"]].rename(
                columns={"SY": "TY", "SYY": "TYY"})
            cells = s[[*present]].drop_duplicates()
            # every stratum of the region: where the group has no unit, z = -S_g * value still varies
            full = cells.merge(whole, on=region_keys).merge(s[[*present, "stratum", "n", "SY", "SYY"]],
                                                            on=[*present, "stratum"], how="left")
            full[["n", "SY", "SYY"]] = full[["n", "SY", "SYY"]].fillna(0)
            # sum over PSUs of (group's total) x (PSU's total): its own square plus the other groups in its PSUs
            full["C"] = full["SYY"]
            if not sums.group_pairs.empty:
                other = sums.group_pairs.groupby([*present, "stratum"], dropna=False)["CYY"].sum().rename("cross")
                full = full.join(other, on=[*present, "stratum"])
                full["C"] += full["cross"].fillna(0.0)
            per = full.groupby(present, dropna=False, sort=False)
            totals = per.agg(numerator=("SY", "sum"), denominator=("TY", "sum"), n=("n", "sum")).reset_index()
            full = full.merge(totals[[*present, "numerator", "denominator"]], on=present)
            share = (full["numerator"] / full["denominator"].where(full["denominator"] > 0)).fillna(0.0)
            total = full["denominator"].where(full["denominator"] > 0)
            z = pd.DataFrame({"stratum": full["stratum"],
                              "SY": ((full["SY"] - share * full["TY"]) / total).fillna(0.0),
                              "SYY": ((full["SYY"] - 2 * share * full["C"] + share ** 2 * full["TYY"])
                                      / total ** 2).fillna(0.0)})
            z[present] = full[present]
            variance = total_variance(z, ctx.strata, present)[[*present, "variance"]]
            found = totals.merge(variance, on=present)
        out = grid.merge(found, on=present, how="left")
        # a group without a unit gets 0 of its region's total (with no variance: z is 0 everywhere)
        whole = found[found["group_by"] == OVERALL][[*region_keys, "denominator"]].rename(columns={"denominator": "T"})
        out = out.merge(whole, on=region_keys, how="left")
        empty = out["numerator"].isna() & (out["T"] > 0)
        out.loc[empty, ["numerator", "denominator", "variance"]] = 0.0
        out.loc[empty, "denominator"] = out.loc[empty, "T"]
        out["n"] = out["n"].fillna(0).astype("int64")
        out["numerator"] = out["numerator"].astype(float).fillna(0.0)
        out["denominator"] = out["denominator"].astype(float).fillna(0.0)
        defined = out["denominator"] > 0
        out["value"] = np.where(defined, out["numerator"] / out["denominator"].where(defined), np.nan)
        out["se"] = np.sqrt(out["variance"].astype(float).clip(lower=0).where(defined))
        out["df"] = ctx.strata.df
        out["ci_low"], out["ci_high"] = t_interval(out["value"], out["se"], out["df"], ctx.confidence)
        out["interval"] = "t"
        out["note"] = np.where(defined, "", "nothing to share in this region and period")
        out["n_excluded"] = left_out_counts(self.excluded, out, cell, ctx)
        out["n_censored"] = 0
        return out[[*cell, *RESULT]]


@dataclass
class RegionRate(Statistic):
    """A rate over units that belong to a region, not to a household (e.g. service points).

    Numerator and denominator carry ``region_id`` instead of ``household_id``; there is
    no breakdown by household group and no survey design: units are counted, each its
    own PSU, with a Wilson interval. Every region of the run's scope gets its rows; one
    without a unit in or below it is blank with the note "no <unit> in this region"
    (``unit`` names the units, e.g. "service point"), whether or not it has households.
    """

    numerator: ibis.Table
    denominator: ibis.Table
    unit: str = "unit"
    household_groups = False

    def statistics(self, ctx: Context) -> Sums:
        num = self.numerator.group_by("region_id").agg(SY=self.numerator.count())
        den = self.denominator.group_by("region_id").agg(n=self.denominator.count())
        cells = den.left_join(num, "region_id").select(den.region_id, n=den.n, SX=den.n.cast("float64"),
                                                       SY=ibis.coalesce(num.SY, 0).cast("float64"))
        leaf = ctx.package.con.execute(cells).assign(group=OVERALL, stratum="")
        # units are 0/1, so the sums of squares and products equal the sums
        leaf = leaf.assign(SXX=leaf["SX"], SXY=leaf["SY"], SYY=leaf["SY"])
        frame = roll_up(leaf, ctx.closure, ["group", "stratum"])
        frame.insert(1, "group_by", OVERALL)
        return Sums(frame)

    def finish(self, sums: Sums, grid: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        cell = [c for c in grid.columns if c in ("region", "group_by", "group", *KEYS)]
        present = [c for c in cell if c in sums.strata.columns]
        out = grid.merge(sums.strata[[*present, "n", "SX", "SY"]], on=present, how="left")
        out["n"] = out["n"].fillna(0).astype("int64")
        out["denominator"] = out["SX"].fillna(0.0)
        out["numerator"] = out["SY"].fillna(0.0)
        defined = out["denominator"] > 0
        p = out["numerator"] / out["denominator"].where(defined)
        out["value"] = p
        # units are their own PSUs in one stratum: the linearised variance is p(1-p)/(n-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            out["se"] = np.sqrt(p * (1 - p) / (out["n"] - 1).where(out["n"] > 1))
        out["df"] = (out["n"] - 1.0).where(out["n"] > 1)
        out["ci_low"], out["ci_high"] = wilson(out["numerator"], out["denominator"], ctx.confidence)
        out["interval"] = "wilson"
        out["note"] = np.where(defined, "", f"no {self.unit} in this region")
        out["n_excluded"] = 0
        out["n_censored"] = 0
        return out[[*cell, *RESULT]]


@dataclass
class Quantile(Statistic):
    """A quantile of days to an event, with right-censoring (Kaplan-Meier).

    ``units`` has ``household_id``, the keys, ``days`` (to the event, or to the end of
    the data when it has not happened) and ``event`` (true when it happened). Units are
    administrative records (referrals, cases) and count once each, unweighted. The
    quantile is the first day the survival curve falls below ``1 - q``; where the curve
    equals ``1 - q`` over an interval of days (common with whole days), the midpoint of
    that interval, as R's ``survival`` and SAS ``LIFETEST`` (events on days 1, 2, 3, 4:
    S = 1/2 on [2, 3), median 2.5). A quantile the curve never reaches is NaN with a note.
    The interval is Brookmeyer-Crowley's, as statsmodels' ``quantile_ci``. No standard
    error is reported. Computed for all cells at once from the counts
    (:func:`evalkit.methods.survival.km_quantile`).
    """

    units: ibis.Table
    q: float = 0.5
    excluded: ibis.Table | None = None

    def statistics(self, ctx: Context) -> Sums:
        """Counts of units per cell, days and event: all Kaplan-Meier needs, from the engine."""
        keys = [k for k in KEYS if k in self.units.columns]
        return Sums(unit_counts(ctx, self.units, [*keys, "days", "event"], "count"))

    def finish(self, sums: Sums, grid: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        """``numerator`` is the number of events, ``denominator`` and ``n`` the number of units
        (events and censored); the value is NaN when the survival curve never falls to 1 - q."""
        cell = [c for c in grid.columns if c in ("region", "group_by", "group", *KEYS)]
        found = km_quantile(sums.strata, cell, q=self.q, confidence=ctx.confidence)
        found = found.rename(columns={"events": "numerator", "units": "denominator"})
        out = grid.merge(found, on=cell, how="left")
        out["numerator"] = out["numerator"].fillna(0.0)
        out["denominator"] = out["denominator"].fillna(0.0)
        out["n"] = out["denominator"].astype("int64")
        out["se"] = np.nan
        out["df"] = np.nan
        out["interval"] = "brookmeyer_crowley"
        out["note"] = np.select(
            [out["denominator"] == 0, out["value"].isna()],
            ["no record in the denominator", f"fewer than {self.q:.0%} of records reached the event (censored)"], "")
        out["n_excluded"] = left_out_counts(self.excluded, out, cell, ctx)
        # records still waiting for the event at the extraction date: in the estimate as
        # censored observations, but the period's value is not final
        waiting = sums.strata[~sums.strata["event"].astype(bool)].groupby(cell, dropna=False)["count"].sum()
        out["n_censored"] = out[cell].merge(waiting.rename("waiting").reset_index(), on=cell, how="left")[
            "waiting"].fillna(0).astype("int64").to_numpy()
        return out[[*cell, *RESULT]]


@dataclass
class Inequality(Statistic):
    """An inequality or concentration index of per-capita aid among the persons of the
    region (and group) of the row, with its linearised standard error.

    ``aid`` has ``household_id``, ``period`` and one column of yuan per series (a
    household's aid yuan in the period, one row per household and period at most);
    ``first`` names the series measured. ``index``:

    - ``concentration``: the concentration index against the fractional rank of
      pre-transfer income per capita; with ``second`` the gap C(first) - C(second) on
      the same households and ranks, its standard error from the difference of the two
      influence functions summed per PSU (:func:`evalkit.methods.inequality.concentration_gap`).
      Only households with an income are ranked (the others: ``n_excluded``);
    - ``gini``: the Gini coefficient (households ranked by the per-capita aid itself);
    - ``theil``: Theil T (zeros accepted);
    - ``theil_between``: the share of Theil T between the region's child regions
      (:func:`evalkit.methods.inequality.between_share_estimate`); blank for a region
      without sub-regions.

    Persons: each household counts ``weight x size`` persons (size 1 when missing) and
    receives ``yuan / size`` per person; a household without aid in the period receives 0.
    Ranks are weighted midpoint ranks within the cell's domain (the region with every
    household below it, and the group), recomputed for every region level as income
    quintiles are; the standard error linearises the index (ranks included) and runs
    over the whole sample's design (domain estimation: influence 0 outside the cell,
    every PSU counted), on PSUs minus strata degrees of freedom, with a symmetric t
    interval. ``numerator``: weighted yuan of the series (both, for a gap) received by
    the households of the cell; ``denominator``: their persons; ``n``: households measured.

    Computed in numpy: every household as arrays by position (:class:`Sample`; no
    household id leaves the engine), its aid per period (one matrix per series measured),
    and the domains in batches that hold each household at most once (one per pass,
    grouping and level of the region tree: :func:`_domain_batches`). Ranks, influence
    functions and PSU sums are group operations over a batch's cells, one period at a
    time. Python's memory grows with the households, not with households x domains:
    about 550 bytes per household at the peak (measured at 200,000 for the gap, Gini and
    between-region Theil; 1,500 when every domain was held at once), so some 11 GB at 20
    million. Bounded memory needs the ranks and sums in the engine (window functions).
    """

    aid: ibis.Table
    first: str
    second: str | None = None
    index: str = "concentration"

    def statistics(self, ctx: Context) -> Sums:
        series = [self.first, *([self.second] if self.second else [])]
        sample = Sample.of(ctx)
        # one indicator's series at a time (households x periods each), not kept for the run
        yuan = {s: yuan_by_row(ctx, self.aid, s, len(sample.w)) for s in series}
        frames = []
        for members in _domain_batches(ctx):
            d = Domains.build(sample, members, ranked=self.index == "concentration")
            if not d.cells.empty:
                frames.extend(self._measure(ctx, sample, yuan, d))
        return Sums(pd.concat(frames, ignore_index=True) if frames else pd.DataFrame())

    def _measure(self, ctx: Context, sample: Sample, yuan: dict[str, np.ndarray], d: Domains) -> list[pd.DataFrame]:
        """The index of every domain of ``d`` in every period: one frame per period."""
        from evalkit.methods.inequality import concentration_by, theil_between_share_by, theil_t_by, tie_groups

        series = [self.first, *([self.second] if self.second else [])]
        cells, w = len(d.cells), d.persons
        size = sample.size[d.row]
        single = np.zeros(cells, dtype=bool)
        if self.index == "theil_between":
            child = self._children(ctx, d.region, sample.region_id[d.row])
            children = tie_groups(d.cell, pd.factorize(child)[0])
            single = np.bincount(children[1], minlength=cells) < 2
        frames = []
        for p, period in enumerate(ctx.periods):
            ys = [yuan[s][d.row, p] / size for s in series]
            totals = [np.bincount(d.cell, w * y, cells) for y in ys]
            if self.index == "concentration":
                value, z = concentration_by(ys[0], w, d.cell, d.income_ties, cells)
            elif self.index == "gini":
                value, z = concentration_by(ys[0], w, d.cell, tie_groups(d.cell, ys[0]), cells)
            elif self.index == "theil":
                value, z = theil_t_by(ys[0], w, d.cell, cells)
            else:
                value, z = theil_between_share_by(ys[0], w, d.cell, children, cells)
            if self.second:
                second, z2 = concentration_by(ys[1], w, d.cell, d.income_ties, cells)
                value, z = value - second, z - z2
            note = np.select([d.cells["n"].to_numpy() == 0, np.minimum.reduce(totals) <= 0, single],
                             ["no household with a known income in this cell", "no aid received in this cell and period",
                              "a single sub-region (or none): nothing lies between sub-regions"], "")
            measured = note == ""
            se = np.sqrt(d.variance(w * z, ctx.strata))
            frames.append(d.cells.assign(period=period, numerator=sum(totals), value=np.where(measured, value, np.nan),
                                         se=np.where(measured, se, np.nan),
                                         df=np.where(measured, ctx.strata.df, np.nan), note=note))
        return frames

    @staticmethod
    def _children(ctx: Context, ancestor: np.ndarray, leaf: np.ndarray) -> np.ndarray:
        """The child region of ``ancestor`` that holds a household of region ``leaf`` ("" when it sits in the ancestor itself)."""
        parents = ctx.package.regions.set_index("region_id")["parent_id"]
        pairs = ctx.package.region_closure()
        pairs = pairs.assign(parent=pairs["ancestor"].map(parents)).dropna(subset=["parent"])
        lookup = pd.Series(pairs["ancestor"].to_numpy(),
                           index=pd.MultiIndex.from_arrays([pairs["region_id"], pairs["parent"]]))
        return lookup.reindex(pd.MultiIndex.from_arrays([leaf, ancestor])).fillna("").to_numpy()

    def finish(self, sums: Sums, grid: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        cell = [c for c in grid.columns if c in ("region", "group_by", "group", *KEYS)]
        found = sums.strata
        out = grid.merge(found, on=cell, how="left") if not found.empty else grid.assign(
            **{c: np.nan for c in ("value", "se", "df", "numerator", "denominator", "n", "n_excluded")}, note="")
        for c in ("numerator", "denominator"):
            out[c] = out[c].fillna(0.0)
        for c in ("n", "n_excluded"):
            out[c] = out[c].fillna(0).astype("int64")
        out["note"] = out["note"].where(out["note"].notna(), "no household in this region")
        out["ci_low"], out["ci_high"] = t_interval(out["value"], out["se"], out["df"], ctx.confidence)
        out["interval"] = "t"
        out["n_censored"] = 0
        return out[[*cell, *RESULT]]


@dataclass
class Domains:
    """The domains of a run's inequality indices (a region with every household below it,
    and a group) and their households, as rows (domain, household) sorted by domain, then
    household: what :class:`Inequality` forms every cell from at once.

    ``cells``: per domain (row k is domain k) ``region, group_by, group``, ``n`` (households
    measured), ``n_excluded`` (not measured: no income to rank by) and ``denominator``
    (their persons). Per row of a measured household: ``cell`` (its domain), ``row`` (its
    position in :class:`Sample`), ``region`` (the domain's region) and
    ``persons``; ``pair`` numbers its (domain, PSU), ``pair_stratum`` each pair's
    (domain, stratum), whose domain and stratum label are ``stratum_cell`` and
    ``stratum_label``. Built per batch of domains (:meth:`build`).
    """

    cells: pd.DataFrame
    cell: np.ndarray
    row: np.ndarray
    region: np.ndarray
    persons: np.ndarray
    income: np.ndarray
    pair: np.ndarray
    pair_stratum: np.ndarray
    stratum_cell: np.ndarray
    stratum_label: np.ndarray

    @classmethod
    def build(cls, sample: Sample, members: pd.DataFrame, ranked: bool) -> Domains:
        """The domains of ``members`` (a batch of :func:`_domain_batches`); ``ranked``: only
        households with an income are measured."""
        keys = members[["region", "group_by", "group"]]
        cell = keys.groupby(list(keys.columns), sort=False).ngroup().to_numpy()
        cells = keys.drop_duplicates().reset_index(drop=True)
        row = members["row"].to_numpy()
        measured = ~np.isnan(sample.income[row]) if ranked else np.ones(len(row), dtype=bool)
        cells["n"] = np.bincount(cell[measured], minlength=len(cells))
        cells["n_excluded"] = np.bincount(cell[~measured], minlength=len(cells))
        order = np.lexsort((row, cell))
        order = order[measured[order]]
        cell, row = cell[order], row[order]
        persons = (sample.w * sample.size)[row]
        cells["denominator"] = np.bincount(cell, persons, len(cells))
        labels, psus = sample.stratum_labels, sample.psus
        pairs, pair = np.unique(cell.astype(np.int64) * psus + sample.psu[row], return_inverse=True)
        strata, pair_stratum = np.unique(pairs // psus * len(labels) + sample.psu_stratum[pairs % psus],
                                         return_inverse=True)
        return cls(cells, cell, row, members["region"].to_numpy()[order], persons, sample.income[row], pair,
                   pair_stratum, strata // len(labels), labels[strata % len(labels)])

    @cached_property
    def income_ties(self) -> tuple[np.ndarray, np.ndarray]:
        """Households of a domain with equal incomes (:func:`evalkit.methods.inequality.tie_groups`)."""
        from evalkit.methods.inequality import tie_groups

        return tie_groups(self.cell, self.income)

    def variance(self, u: np.ndarray, strata) -> np.ndarray:
        """Per domain, the design variance of the total of ``u`` (one value per row): R ``survey``'s
        with-replacement estimator over the whole sample's strata and PSUs (domain estimation:
        ``u`` is 0 outside the domain and every PSU of the sample counts in n_h)."""
        per_psu = np.bincount(self.pair, u)
        s1 = np.bincount(self.pair_stratum, per_psu, len(self.stratum_cell))
        s2 = np.bincount(self.pair_stratum, per_psu ** 2, len(self.stratum_cell))
        contrib = _contributions(strata, pd.Series(self.stratum_label), s2, s1, s1)
        return np.maximum(np.bincount(self.stratum_cell, contrib, len(self.cells)) * strata._average_factor(), 0.0)


@dataclass
class Sample:
    """Every household of the run as numpy arrays, position k the k-th household in
    ``household_id`` order (:func:`_household_rows`): what :class:`Inequality` weighs and
    ranks. ``psu`` numbers PSUs within strata by their first household in that order;
    ``stratum_labels`` are the strata sorted, ``psu_stratum`` each PSU's position among them.
    No household id leaves the engine: batches of domains name households by position."""

    region_id: np.ndarray
    w: np.ndarray
    income: np.ndarray
    size: np.ndarray
    psu: np.ndarray
    psus: int
    psu_stratum: np.ndarray
    stratum_labels: np.ndarray

    @classmethod
    def of(cls, ctx: Context) -> Sample:
        return ctx.shared("inequality_sample", lambda: cls._read(ctx))

    @classmethod
    def _read(cls, ctx: Context) -> Sample:
        raw = ctx.table("households")
        raw = raw.select("household_id", income=raw.income_pc.cast("float64"),
                         size=raw.size.cast("float64").fill_null(1.0))
        hh = households(ctx).select("household_id", "region_id", "w", "stratum", "psu").join(raw, "household_id")
        hh = hh.join(_household_rows(ctx), "household_id")
        first = hh.group_by("stratum", "psu").agg(first=hh.row.min())  # a PSU's first household
        hh = hh.join(first, ["stratum", "psu"])
        frame = ctx.package.con.execute(hh.select("row", "region_id", "w", "income", "size", "stratum", "first")
                                        .order_by("row"))
        if not np.array_equal(frame["row"].to_numpy(), np.arange(len(frame))):
            raise AssertionError("every household must have one row")
        labels, stratum_of = np.unique(frame["stratum"].astype(str).to_numpy(), return_inverse=True)
        psu = pd.factorize(frame["first"].to_numpy())[0]
        psus = int(psu.max()) + 1 if len(psu) else 1
        psu_stratum = np.zeros(psus, dtype=np.int64)
        psu_stratum[psu] = stratum_of
        return cls(frame["region_id"].to_numpy(), frame["w"].to_numpy(float), frame["income"].to_numpy(float),
                   frame["size"].to_numpy(float), psu, psus, psu_stratum, labels)


def _household_rows(ctx: Context) -> ibis.Table:
    """``household_id, row``: every household's position in ``household_id`` order (from 0), in the engine."""
    hh = ctx.table("households")
    return ctx.cached("household_rows", lambda: hh.select(
        "household_id", row=ibis.row_number().over(order_by=hh.household_id)))


def yuan_by_row(ctx: Context, aid: ibis.Table, column: str, households: int) -> np.ndarray:
    """The (households x periods) matrix of ``aid``'s ``column`` (``household_id, period`` and
    yuan; 0 without a row), rows as :class:`Sample`: what inequality indices and concentration
    curves are formed from. Read one period at a time, so no household id reaches Python."""
    found = aid.join(_household_rows(ctx), "household_id")
    m = np.zeros((households, len(ctx.periods)))
    for p, period in enumerate(ctx.periods):
        part = ctx.package.con.execute(found.filter(found.period == period).select("row", yuan=found[column]))
        np.add.at(m[:, p], part["row"].to_numpy(), part["yuan"].fillna(0.0).to_numpy(float))
    return m


def _domain_batches(ctx: Context) -> Iterator[pd.DataFrame]:
    """Every (domain, household) pair of the run, in batches that hold each household at most
    once: one per pass, grouping and depth of region in the tree. Columns ``region`` (the
    domain's region), ``group_by``, ``group`` and ``row`` (the household's position in :class:`Sample`).
    Domains are independent (each its own ranks and sums), so a batch is measured on its own."""
    closure = ctx.package.region_closure()
    depth = closure.groupby("region_id").size()  # regions above a region, itself included
    rows = _household_rows(ctx)
    for passed, pass_closure, group_bys in passes(ctx, households(ctx)):
        levels = pass_closure["ancestor"].map(depth)
        for level in sorted(levels.unique()):
            expanded = passed.join(ibis.memtable(pass_closure[levels == level]), "region_id")
            expanded = expanded.join(rows, "household_id")
            for group_by in group_bys:
                group = ibis.literal(OVERALL) if group_by == OVERALL else expanded[f"g_{group_by}"]
                found = ctx.package.con.execute(expanded.select("row", "ancestor", group=group))
                found = found[found["group"].notna()]  # as a groupby on the group would
                if len(found):
                    yield pd.DataFrame({"region": found["ancestor"].to_numpy(), "group_by": group_by,
                                        "group": found["group"].to_numpy(), "row": found["row"].to_numpy()})
