"""The referral network (转介网络): who refers to whom, with providers as nodes.

The closed-loop linkage (祝建华 2025; 黄剑锋、晏子 2020) asks whether departments and charities form one network or parallel lines.
:func:`referral_edges` counts referrals per directed pair of providers, per region (with
every ancestor region, as indicators roll up) and period, in the engine;
:func:`network_metrics` turns the small edge table into density, reciprocity, the
cross-sector share and degree centralisation per region and period, in pandas.
:class:`ReferralNetwork` holds both, and writes the edge table for plotting.

Conventions, the same as the coordination indicators':

- a referral belongs to the region of its household and to the period it was created in;
  referrals without a creation date or without a provider at either end are left out
  (they are no edge), and so are those created outside the package's periods;
- a referral counts as *accepted* when it has an acceptance date or its status is
  accepted or closed (as ``coordination.referral_acceptance_rate``);
- a provider missing from the ``providers`` table (or a package without one) has sector
  ``unknown``; a referral *crosses* sectors when both sectors are known and differ.

>>> import evalkit
>>> net = ReferralNetwork.from_package(evalkit.load("data/demo"))   # doctest: +SKIP
>>> net.metrics().query("region == 'R00'")                          # doctest: +SKIP
>>> net.to_file("reports/referral_edges.csv")                       # doctest: +SKIP
"""
from __future__ import annotations

from pathlib import Path

import ibis
import numpy as np
import pandas as pd

from evalkit.data import periods as periods_mod
from evalkit.data.io import atomic_write, write_csv
from evalkit.data.package import DataPackage

UNKNOWN = "unknown"
CELL = ["region", "period"]
EDGE_COLUMNS = ["region", "period", "from_provider", "to_provider", "from_sector", "to_sector", "crossing",
                "referrals", "accepted"]
METRIC_COLUMNS = ["region", "period", "nodes", "edges", "referrals", "density", "reciprocity",
                  "cross_sector_share", "degree_centralisation"]
NODE_COLUMNS = ["region", "period", "provider", "sector", "referrals_out", "referrals_in", "out_degree",
                "in_degree"]


def referral_edges(package: DataPackage, region: str | None = None, period: str | None = None) -> pd.DataFrame:
    """Referrals per (region, period, from_provider, to_provider), aggregated in the engine.

    Each region's rows cover its own households and those of every region below it, so a
    province's edge counts are the sums of its counties'. Columns: ``region, period,
    from_provider, to_provider, from_sector, to_sector, crossing, referrals, accepted``
    (``referrals`` and ``accepted`` are counts). Self-referrals (a provider to itself) are
    kept as rows; :func:`network_metrics` leaves them out of the graph.

    Parameters
    ----------
    region : keep this region and the regions below it (as :func:`evalkit.compute`).
    period : keep this period (a label such as ``2024Q1``).
    """
    if not isinstance(package, DataPackage):
        raise TypeError(f"referral_edges needs a DataPackage (evalkit.load), got {type(package).__name__}")
    if not package.has("referrals"):
        raise ValueError("the package has no referrals table, so there is no referral network")
    scope = _scope_periods(package, period)
    closure = package.region_closure()
    if region is not None:
        if region not in set(package.regions["region_id"]):
            raise ValueError(f"region {region!r} is not in the package's regions table")
        closure = closure[closure["ancestor"].isin(package.descendants(region))]
    if closure.empty:
        return _empty(EDGE_COLUMNS)

    ref = package.tables["referrals"]
    ref = ref.filter(ref.created_on.notnull() & ref.from_provider.notnull() & ref.to_provider.notnull())
    ref = ref.mutate(period=periods_mod.expr(ref.created_on, package.frequency))
    if scope is not None:
        ref = ref.filter(ref.period.isin(scope))
    hh = package.tables["households"].select("household_id", "region_id")
    regions = ibis.memtable(closure.rename(columns={"ancestor": "region"})[["region_id", "region"]])
    units = ref.join(hh, "household_id").join(regions, "region_id")
    accepted = units.accepted_on.notnull() | units.status.isin(["accepted", "closed"]).fill_null(False)
    edges = units.group_by(["region", "period", "from_provider", "to_provider"]).agg(
        referrals=units.count(), accepted=accepted.cast("int64").sum())
    if package.has("providers"):
        prov = package.tables["providers"].select("provider_id", "sector")
        src = prov.select(from_provider="provider_id", from_sector="sector")
        dst = prov.select(to_provider="provider_id", to_sector="sector")
        edges = edges.left_join(src, "from_provider").drop("from_provider_right")
        edges = edges.left_join(dst, "to_provider").drop("to_provider_right")
        edges = edges.mutate(from_sector=edges.from_sector.fill_null(UNKNOWN), to_sector=edges.to_sector.fill_null(UNKNOWN))
    else:
        edges = edges.mutate(from_sector=ibis.literal(UNKNOWN), to_sector=ibis.literal(UNKNOWN))
    out = package.con.execute(edges)
    known = (out["from_sector"] != UNKNOWN) & (out["to_sector"] != UNKNOWN)
    out["crossing"] = known & (out["from_sector"] != out["to_sector"])
    out = out.astype({"referrals": "int64", "accepted": "int64", "crossing": "bool"})
    return out[EDGE_COLUMNS].sort_values(EDGE_COLUMNS[:4]).reset_index(drop=True)


def network_metrics(edges: pd.DataFrame) -> pd.DataFrame:
    """Density, reciprocity, cross-sector share and centralisation per (region, period).

    ``edges`` is a table from :func:`referral_edges` (at least ``region, period,
    from_provider, to_provider, referrals``; ``crossing`` and the sectors for the
    cross-sector share). In each (region, period), with *n* providers appearing at
    either end of a referral and *m* distinct directed pairs between different providers
    (self-referrals are not edges, as in a simple graph):

    - ``nodes`` = n; ``edges`` = m; ``referrals`` = all referrals, self-referrals included;
    - ``density`` = m / (n (n - 1)), NaN when n < 2 (networkx's ``density`` of the DiGraph);
    - ``reciprocity`` = directed pairs whose reverse pair also occurs / m, NaN when m = 0
      (networkx's overall ``reciprocity``);
    - ``cross_sector_share`` = referrals between a government and a charity provider /
      referrals whose two sectors are both known, counted in referrals (not pairs); NaN
      when no referral has both sectors known;
    - ``degree_centralisation`` = Freeman's degree centralisation of the undirected simple
      graph (a reciprocal pair is one edge): sum over nodes of (max degree - degree) /
      ((n - 1)(n - 2)), which is 1 for a star and 0 for a ring; 0 when n < 3.

    >>> e = pd.DataFrame({"region": "A", "period": "2024Q1", "from_provider": ["g", "g", "c"],
    ...                   "to_provider": ["c", "h", "g"], "referrals": [2, 1, 1],
    ...                   "crossing": [True, False, True]})
    >>> m = network_metrics(e).iloc[0]
    >>> int(m.nodes), int(m.edges), float(m.density), round(float(m.reciprocity), 3), float(m.cross_sector_share)
    (3, 3, 0.5, 0.667, 0.75)
    >>> float(m.degree_centralisation)
    1.0
    """
    edges = _check_edges(edges)
    if edges.empty:
        return _empty(METRIC_COLUMNS)
    referrals = edges.groupby(CELL, sort=True)["referrals"].sum()
    out = pd.DataFrame({"referrals": referrals.astype("int64")})

    ends = pd.concat([edges[CELL + ["from_provider"]].set_axis(CELL + ["node"], axis=1),
                      edges[CELL + ["to_provider"]].set_axis(CELL + ["node"], axis=1)]).drop_duplicates()
    out["nodes"] = ends.groupby(CELL).size()

    # the directed simple graph: distinct pairs of different providers
    pairs = edges.loc[edges["from_provider"] != edges["to_provider"], CELL + ["from_provider", "to_provider"]]
    pairs = pairs.drop_duplicates()
    out["edges"] = pairs.groupby(CELL).size()
    reverse = pairs.rename(columns={"from_provider": "to_provider", "to_provider": "from_provider"})
    mutual = pairs.merge(reverse, on=list(pairs.columns), how="inner")
    out["mutual"] = mutual.groupby(CELL).size()
    out[["edges", "mutual"]] = out[["edges", "mutual"]].fillna(0).astype("int64")

    n, m = out["nodes"].astype(float), out["edges"].astype(float)
    out["density"] = np.where(n >= 2, m / (n * (n - 1)).where(n >= 2), np.nan)
    out["reciprocity"] = np.where(m > 0, out["mutual"] / m.where(m > 0), np.nan)

    if "crossing" in edges.columns:
        known = _known(edges)
        crossing = edges["referrals"].where(edges["crossing"].astype(bool) & known, 0).groupby(
            [edges[c] for c in CELL]).sum()
        among = edges["referrals"].where(known, 0).groupby([edges[c] for c in CELL]).sum()
        out["cross_sector_share"] = (crossing / among.where(among > 0)).reindex(out.index)
    else:
        out["cross_sector_share"] = np.nan

    # undirected simple graph: each unordered pair once; sum(max - deg) = n * max - 2 * pairs
    low = pairs[["from_provider", "to_provider"]].min(axis=1)
    high = pairs[["from_provider", "to_provider"]].max(axis=1)
    undirected = pairs[CELL].assign(a=low, b=high).drop_duplicates()
    degree = pd.concat([undirected[CELL + ["a"]].set_axis(CELL + ["node"], axis=1),
                        undirected[CELL + ["b"]].set_axis(CELL + ["node"], axis=1)]).groupby(CELL + ["node"]).size()
    max_degree = degree.groupby(CELL).max().reindex(out.index).fillna(0)
    links = undirected.groupby(CELL).size().reindex(out.index).fillna(0)
    spread = n * max_degree - 2 * links
    out["degree_centralisation"] = np.where(n >= 3, spread / ((n - 1) * (n - 2)).where(n >= 3), 0.0)
    return out.reset_index()[METRIC_COLUMNS]


def node_table(edges: pd.DataFrame) -> pd.DataFrame:
    """Providers per (region, period) with sector, referrals sent and received, and degrees.

    Degrees count distinct other providers (self-referrals excluded), referral counts
    include self-referrals. Handy for sizing and colouring nodes in a plot.
    """
    edges = _check_edges(edges)
    if edges.empty:
        return _empty(NODE_COLUMNS)
    sector = {"from_sector", "to_sector"} <= set(edges.columns)
    out_side = edges.assign(provider=edges["from_provider"], sector=edges["from_sector"] if sector else UNKNOWN)
    in_side = edges.assign(provider=edges["to_provider"], sector=edges["to_sector"] if sector else UNKNOWN)
    key = CELL + ["provider"]
    other = edges["from_provider"] != edges["to_provider"]
    sent = out_side.groupby(key).agg(referrals_out=("referrals", "sum"))
    sent["out_degree"] = out_side[other].groupby(key).size()
    received = in_side.groupby(key).agg(referrals_in=("referrals", "sum"))
    received["in_degree"] = in_side[other].groupby(key).size()
    sectors = pd.concat([out_side[key + ["sector"]], in_side[key + ["sector"]]]).drop_duplicates(key).set_index(key)
    out = sectors.join(sent, how="left").join(received, how="left")
    counts = ["referrals_out", "referrals_in", "out_degree", "in_degree"]
    out[counts] = out[counts].fillna(0).astype("int64")
    return out.reset_index().sort_values(key).reset_index(drop=True)[NODE_COLUMNS]


class ReferralNetwork:
    """The referral network of a package: the edge table and the metrics computed from it.

    ``edges`` is the table of :func:`referral_edges`; :meth:`metrics`, :meth:`nodes` and
    :meth:`to_file` work on it, so a network can also be built from an edge table saved
    earlier (``ReferralNetwork(pd.read_csv(path))``).
    """

    def __init__(self, edges: pd.DataFrame):
        self.edges = _check_edges(edges)

    @classmethod
    def from_package(cls, package: DataPackage, region: str | None = None,
                     period: str | None = None) -> ReferralNetwork:
        return cls(referral_edges(package, region=region, period=period))

    def __repr__(self) -> str:
        cells = len(self.edges[CELL].drop_duplicates())
        return f"<ReferralNetwork: {len(self.edges)} edges, {cells} region-periods, {int(self.edges['referrals'].sum())} referrals>"

    def metrics(self) -> pd.DataFrame:
        """:func:`network_metrics` of the edges."""
        return network_metrics(self.edges)

    def nodes(self) -> pd.DataFrame:
        """:func:`node_table` of the edges."""
        return node_table(self.edges)

    def subset(self, region: str | None = None, period: str | None = None) -> ReferralNetwork:
        """The edges of one region (its own rows, not those below it) and/or one period."""
        mask = pd.Series(True, index=self.edges.index)
        if region is not None:
            mask &= self.edges["region"] == region
        if period is not None:
            mask &= self.edges["period"] == period
        return ReferralNetwork(self.edges[mask])

    def to_file(self, path) -> Path:
        """Write the edge table as .csv (UTF-8) or .parquet, atomically."""
        path = Path(path)
        frame = self.edges
        if path.suffix == ".csv":
            return atomic_write(path, lambda tmp: write_csv(frame, tmp))
        if path.suffix == ".parquet":
            return atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False))
        raise ValueError(f"output must end in .csv or .parquet, got {path.name}")


# -- helpers ------------------------------------------------------------------------------

def _scope_periods(package: DataPackage, period: str | None) -> list[str] | None:
    """The periods to keep: the package's (or the one asked for); None keeps every period.

    A package with no dated needs, aid or cases has no periods of its own; its network
    then covers every period its referrals fall in.
    """
    if period is None:
        return list(package.periods) or None
    label = periods_mod.parse(period, package.frequency)
    if package.periods and label not in package.periods:
        span = f"{package.periods[0]} to {package.periods[-1]}"
        raise ValueError(f"period {label} is outside the package's data ({span})")
    return [label]


def _check_edges(edges: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(edges, pd.DataFrame):
        raise TypeError(f"edges must be a pandas DataFrame (referral_edges), got {type(edges).__name__}")
    needed = CELL + ["from_provider", "to_provider", "referrals"]
    missing = [c for c in needed if c not in edges.columns]
    if missing:
        raise ValueError(f"edge table lacks column(s) {', '.join(missing)}; expected those of referral_edges")
    if edges["referrals"].isna().any() or (edges["referrals"] < 0).any():
        raise ValueError("edge table: referrals must be non-negative counts")
    if edges[needed[:-1]].isna().any().any():
        raise ValueError("edge table: region, period and both providers must be filled in every row")
    out = edges.copy()
    for c in needed[:-1]:
        out[c] = out[c].astype(str)  # periods such as 2024 read back from CSV as numbers
    return out.reset_index(drop=True)


def _known(edges: pd.DataFrame) -> pd.Series:
    if {"from_sector", "to_sector"} <= set(edges.columns):
        return (edges["from_sector"].fillna(UNKNOWN) != UNKNOWN) & (edges["to_sector"].fillna(UNKNOWN) != UNKNOWN)
    return pd.Series(True, index=edges.index)  # only ``crossing`` given: trust it


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
