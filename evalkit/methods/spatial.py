"""Spatial access: coordinates, distance decay, nearest points and floating catchments.

In the spirit of PySAL's ``access``: one :class:`Catchment` per dataset (demand, supply
and a long origin-destination cost table), one method per measure. Distance decay
functions are objects with the cutoff kept separate (``max_cost`` on each method), so
the same decay serves any catchment size. Users with real travel times from their own
routing pass a cost table; :func:`od_costs` builds one from coordinates (great-circle km)
with a spatial index, chunk by chunk, never a full origin x destination matrix.

>>> demand = pd.DataFrame({"origin": ["a", "b"], "demand": [10.0, 30.0]})
>>> supply = pd.DataFrame({"destination": ["x"], "supply": [4.0]})
>>> costs = pd.DataFrame({"origin": ["a", "b"], "destination": ["x", "x"], "cost": [1.0, 5.0]})
>>> Catchment(demand, supply, costs).two_stage_fca(max_cost=10)
  origin  access
0      a     0.1
1      b     0.1
"""
from __future__ import annotations

import math
from collections.abc import Iterator

import ibis
import numpy as np
import pandas as pd

from evalkit.engine import drop_table, is_spark, temp_table, unique_name, write_chunks

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius
CRS = ("wgs84", "gcj02", "bd09")


# --- coordinate systems -------------------------------------------------------------
# GCJ-02 (Amap, Tencent) and BD-09 (Baidu) are obfuscated WGS-84; the forward offsets are
# public, the inverse is found by fixed-point iteration (converges to < 1e-9 degrees).
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0


def _in_china(lon, lat):
    return (lon >= 72.004) & (lon <= 137.8347) & (lat >= 0.8293) & (lat <= 55.8271)


def _gcj_offset(lon, lat):
    x, y = lon - 105.0, lat - 35.0
    common = (20 * np.sin(6 * x * np.pi) + 20 * np.sin(2 * x * np.pi)) * 2 / 3
    dlat = (-100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x)) + common
            + (20 * np.sin(y * np.pi) + 40 * np.sin(y / 3 * np.pi)) * 2 / 3
            + (160 * np.sin(y / 12 * np.pi) + 320 * np.sin(y * np.pi / 30)) * 2 / 3)
    dlon = (300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x)) + common
            + (20 * np.sin(x * np.pi) + 40 * np.sin(x / 3 * np.pi)) * 2 / 3
            + (150 * np.sin(x / 12 * np.pi) + 300 * np.sin(x / 30 * np.pi)) * 2 / 3)
    rad = lat / 180 * np.pi
    magic = 1 - _EE * np.sin(rad) ** 2
    dlat = dlat * 180 / ((_A * (1 - _EE)) / (magic * np.sqrt(magic)) * np.pi)
    dlon = dlon * 180 / (_A / np.sqrt(magic) * np.cos(rad) * np.pi)
    inside = _in_china(lon, lat)
    return np.where(inside, dlon, 0.0), np.where(inside, dlat, 0.0)


def wgs84_to_gcj02(lon, lat):
    """WGS-84 to GCJ-02 (no change outside China).

    >>> [round(float(v), 6) for v in wgs84_to_gcj02(123.0, 45.0)]
    [123.006075, 45.001978]
    """
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    dlon, dlat = _gcj_offset(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon, lat, iterations: int = 10):
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    wlon, wlat = lon.copy(), lat.copy()
    for _ in range(iterations):
        glon, glat = wgs84_to_gcj02(wlon, wlat)
        wlon, wlat = wlon - (glon - lon), wlat - (glat - lat)
    return wlon, wlat


def bd09_to_gcj02(lon, lat):
    x, y = np.asarray(lon, float) - 0.0065, np.asarray(lat, float) - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def to_wgs84(lon, lat, crs: str = "wgs84"):
    """Longitude and latitude arrays in WGS-84, from ``wgs84``, ``gcj02`` or ``bd09``.

    >>> [round(float(v), 5) for v in to_wgs84(123.0, 45.0, "gcj02")]
    [122.99396, 44.99804]
    """
    crs = check_crs(crs)
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    if crs == "bd09":
        lon, lat = bd09_to_gcj02(lon, lat)
        crs = "gcj02"
    if crs == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    return lon, lat


def check_crs(crs: str) -> str:
    name = str(crs).lower().replace("-", "").replace("_", "")
    if name not in CRS:
        raise ValueError(f"coordinate system must be one of {', '.join(CRS)}, got {crs!r}")
    return name


# --- distances ----------------------------------------------------------------------

def haversine_km(lon1, lat1, lon2, lat2):
    """Great-circle distance in km between WGS-84 points (arrays broadcast).

    >>> round(float(haversine_km(120.0, 30.0, 120.0, 31.0)), 4)
    111.1951
    """
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(v, float)) for v in (lon1, lat1, lon2, lat2))
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0, 1)))


def _unit_vectors(lon, lat):
    # Points on the unit sphere: straight-line (chord) distance orders points as the
    # great-circle distance does, so a k-d tree answers nearest and radius queries exactly.
    lon, lat = np.radians(lon), np.radians(lat)
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


def _chord_to_km(chord):
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.clip(chord / 2, 0, 1))


def _km_to_chord(km):
    return 2 * math.sin(min(km / EARTH_RADIUS_KM, math.pi) / 2)


def _located(frame: pd.DataFrame, what: str, crs: str) -> tuple[np.ndarray, np.ndarray]:
    _require(frame, ["id", "lon", "lat"], what)
    if frame[["lon", "lat"]].isna().any().any():
        raise ValueError(f"{what}: lon/lat must not be missing (drop unlocated rows first)")
    lon, lat = to_wgs84(frame["lon"].to_numpy(float), frame["lat"].to_numpy(float), crs)
    return frame["id"].to_numpy(), _unit_vectors(lon, lat)


def nearest(origins: pd.DataFrame, destinations: pd.DataFrame, *, origin_crs: str = "wgs84",
            destination_crs: str = "wgs84", chunk_size: int = 500_000) -> pd.DataFrame:
    """The nearest destination of every origin, by great-circle distance.

    ``origins`` and ``destinations`` have columns ``id, lon, lat``. Returns
    ``origin, destination, cost`` (km), one row per origin (none when there are no
    destinations). Uses a k-d tree, so memory grows with the inputs, not their product.
    scikit-learn's ``BallTree(metric="haversine")`` gives the same answers (to 1e-12 km)
    70 to 190 times slower at 200k to 2M origins (``bench/bench_nearest.py``).

    >>> homes = pd.DataFrame({"id": ["h1"], "lon": [120.0], "lat": [30.0]})
    >>> points = pd.DataFrame({"id": ["p1", "p2"], "lon": [120.0, 121.0], "lat": [30.01, 30.0]})
    >>> nearest(homes, points).round(4)
      origin destination   cost
    0     h1          p1  1.112
    """
    oid, oxyz = _located(origins, "origins", origin_crs)
    did, dxyz = _located(destinations, "destinations", destination_crs)
    if len(did) == 0 or len(oid) == 0:
        return _od_frame([], [], [])
    from scipy.spatial import cKDTree  # here: scipy.spatial costs ~0.2 s to import, and only distances need it

    tree = cKDTree(dxyz)
    parts = []
    for start in range(0, len(oid), chunk_size):
        chord, j = tree.query(oxyz[start:start + chunk_size], k=1)
        parts.append(pd.DataFrame({"origin": oid[start:start + chunk_size], "destination": did[j],
                                   "cost": _chord_to_km(chord)}))
    return pd.concat(parts, ignore_index=True)


def od_costs(origins: pd.DataFrame, destinations: pd.DataFrame, max_km: float, *,
             origin_crs: str = "wgs84", destination_crs: str = "wgs84") -> pd.DataFrame:
    """A long cost table ``origin, destination, cost`` (great-circle km) of pairs within ``max_km``.

    >>> homes = pd.DataFrame({"id": ["h1", "h2"], "lon": [120.0, 120.5], "lat": [30.0, 30.0]})
    >>> points = pd.DataFrame({"id": ["p1"], "lon": [120.0], "lat": [30.01]})
    >>> od_costs(homes, points, max_km=5).round(4)
      origin destination   cost
    0     h1          p1  1.112
    """
    parts = list(iter_od_costs(origins, destinations, max_km, origin_crs=origin_crs,
                               destination_crs=destination_crs))
    return pd.concat(parts, ignore_index=True) if parts else _od_frame([], [], [])


def iter_od_costs(origins: pd.DataFrame, destinations: pd.DataFrame, max_km: float, *,
                  origin_crs: str = "wgs84", destination_crs: str = "wgs84",
                  chunk_size: int = 200_000) -> Iterator[pd.DataFrame]:
    """:func:`od_costs` in chunks of origins, for tables larger than memory."""
    if not max_km > 0:
        raise ValueError(f"max_km must be positive, got {max_km!r}")
    oid, oxyz = _located(origins, "origins", origin_crs)
    did, dxyz = _located(destinations, "destinations", destination_crs)
    if len(did) == 0:
        return
    from scipy.spatial import cKDTree  # here, as in nearest

    tree = cKDTree(dxyz)
    radius = _km_to_chord(max_km)
    for start in range(0, len(oid), chunk_size):
        # every pair within the radius, with its chord length
        block = cKDTree(oxyz[start:start + chunk_size]).sparse_distance_matrix(tree, radius, output_type="ndarray")
        if len(block) == 0:
            continue
        cost = _chord_to_km(block["v"])
        keep = cost <= max_km  # the chord radius is exact up to rounding; trim the edge
        yield _od_frame(oid[start + block["i"][keep]], did[block["j"][keep]], cost[keep])


def _od_frame(origin, destination, cost) -> pd.DataFrame:
    return pd.DataFrame({"origin": origin, "destination": destination, "cost": np.asarray(cost, float)})


# --- distance decay -----------------------------------------------------------------

class Decay:
    """A distance-decay weight: ``decay(costs)`` on arrays, ``decay.expr(column)`` in the engine."""

    def __call__(self, cost):
        raise NotImplementedError

    def expr(self, cost: ibis.Value) -> ibis.Value:
        raise NotImplementedError


class Uniform(Decay):
    """Weight 1 at every cost: the classic two-step floating catchment."""

    def __call__(self, cost):
        return np.ones_like(np.asarray(cost, float))

    def expr(self, cost):
        return ibis.literal(1.0)

    def __repr__(self):
        return "Uniform()"


class Stepped(Decay):
    """Weight by cost band: ``Stepped({10: 1, 20: 0.68, 30: 0.22})`` gives 1 up to 10,
    0.68 up to 20, 0.22 up to 30 and 0 beyond (as PySAL's ``weights.step_fn``).

    >>> Stepped({10: 1, 20: 0.68, 30: 0.22})([5, 10, 15, 31]).tolist()
    [1.0, 1.0, 0.68, 0.0]
    """

    def __init__(self, steps: dict[float, float]):
        if not isinstance(steps, dict) or not steps:
            raise TypeError("steps must be a non-empty dict {upper cost: weight}")
        if any(w < 0 for w in steps.values()):
            raise ValueError("step weights must not be negative")
        self.steps = dict(sorted((float(k), float(v)) for k, v in steps.items()))

    def __call__(self, cost):
        cost = np.asarray(cost, float)
        out = np.zeros_like(cost)
        for upper, weight in reversed(self.steps.items()):
            out = np.where(cost <= upper, weight, out)
        return out

    def expr(self, cost):
        case = ibis.cases(*((cost <= upper, weight) for upper, weight in self.steps.items()), else_=0.0)
        return case.cast("float64")

    def __repr__(self):
        return f"Stepped({self.steps})"


class Gaussian(Decay):
    """``exp(-cost² / (2 sigma²))``: 1 at zero cost, unnormalised (as PySAL's ``weights.gaussian``).

    >>> round(float(Gaussian(20)(20)), 6)
    0.606531
    """

    def __init__(self, sigma: float):
        if not sigma > 0:
            raise ValueError(f"sigma must be positive, got {sigma!r}")
        self.sigma = float(sigma)

    def __call__(self, cost):
        cost = np.asarray(cost, float)
        return np.exp(-cost * cost / (2 * self.sigma ** 2))

    def expr(self, cost):
        return (-(cost * cost) / (2 * self.sigma ** 2)).exp()

    def __repr__(self):
        return f"Gaussian(sigma={self.sigma:g})"


class Gravity(Decay):
    """``(max(cost, min_cost) / scale) ** alpha``, alpha usually negative (as PySAL's ``weights.gravity``).

    >>> Gravity(scale=20, alpha=-2, min_cost=1)([0, 2, 40]).round(2).tolist()
    [400.0, 100.0, 0.25]
    """

    def __init__(self, scale: float, alpha: float, min_cost: float = 0.0):
        if not scale > 0:
            raise ValueError(f"scale must be positive, got {scale!r}")
        self.scale, self.alpha, self.min_cost = float(scale), float(alpha), float(min_cost)

    def __call__(self, cost):
        return np.power(np.maximum(np.asarray(cost, float), self.min_cost) / self.scale, self.alpha)

    def expr(self, cost):
        return (ibis.greatest(cost, self.min_cost) / self.scale).pow(self.alpha)

    def __repr__(self):
        return f"Gravity(scale={self.scale:g}, alpha={self.alpha:g}, min_cost={self.min_cost:g})"


# --- floating catchments ------------------------------------------------------------

#: Demand rows (origin and keys) per query in the second stage of the catchment; a part's
#: join and sum stay within an engine's memory (about 1.5 GB at 10M rows, 2 threads).
DEMAND_PER_QUERY = 10_000_000


class Catchment:
    """Access of demand locations to supply through a cost table, computed in the engine.

    ``demand`` has ``origin, demand`` (one row per origin and keys); ``supply`` has
    ``destination, supply``; ``costs`` has ``origin, destination, cost``. Further columns
    present in both ``demand`` and ``supply`` (e.g. ``service_type``, ``period``) are keys:
    each key value is its own catchment problem, all solved together. Inputs may be pandas
    DataFrames or Ibis tables; they are never modified. Results are pandas DataFrames.
    """

    def __init__(self, demand, supply, costs, *, con=None):
        self.con = con if con is not None else _backend(demand, supply, costs)
        self.demand = _as_table(demand, ["origin", "demand"], "demand")
        self.supply = _as_table(supply, ["destination", "supply"], "supply")
        self.costs = _as_table(costs, ["origin", "destination", "cost"], "costs")
        self._temporary: list[str] = []
        self.keys = [c for c in self.demand.columns if c in set(self.supply.columns) - {"origin", "destination"}
                     and c not in ("demand", "supply")]

    @classmethod
    def from_coordinates(cls, demand: pd.DataFrame, supply: pd.DataFrame, max_km: float, *,
                         demand_crs: str = "wgs84", supply_crs: str = "wgs84", con=None) -> Catchment:
        """A catchment whose costs are great-circle km between ``lon, lat`` columns, up to ``max_km``."""
        _require(demand, ["origin", "lon", "lat"], "demand")
        _require(supply, ["destination", "lon", "lat"], "supply")
        # ids are compared as text (cost tables store them so)
        demand = demand.astype({"origin": str})
        supply = supply.astype({"destination": str})
        homes = demand[["origin", "lon", "lat"]].drop_duplicates("origin").rename(columns={"origin": "id"})
        points = supply[["destination", "lon", "lat"]].drop_duplicates("destination").rename(columns={"destination": "id"})
        con = con if con is not None else ibis.duckdb.connect()
        costs = write_costs(con, iter_od_costs(homes, points, max_km, origin_crs=demand_crs, destination_crs=supply_crs))
        return cls(demand.drop(columns=["lon", "lat"]), supply.drop(columns=["lon", "lat"]), costs, con=con)

    def nearest_cost(self) -> pd.DataFrame:
        """Cost from each origin to its nearest destination with supply: ``origin, [keys], destination, cost``."""
        pairs = self._pairs(None)
        best = pairs.mutate(rank=ibis.row_number().over(group_by=["origin", *self.keys], order_by=[pairs.cost,
                                                                                                  pairs.destination]))
        best = best.filter(best["rank"] == 0).select("origin", *self.keys, "destination", "cost")
        return self._fetch(best, ["origin", *self.keys])

    def two_stage_fca(self, max_cost: float | None = None, decay: Decay | None = None) -> pd.DataFrame:
        """Two-step floating catchment access (Luo & Wang 2003): for each origin,
        ``A_i = sum_j R_j W(c_ij)`` with ``R_j = S_j / sum_k D_k W(c_kj)``, over pairs with
        ``c <= max_cost``; uniform weights unless a ``decay`` is given. Origins reaching no
        supply get 0. Returns ``origin, [keys], access``.
        """
        return self._fetch(self.two_stage_table(max_cost, decay), ["origin", *self.keys])

    def two_stage_table(self, max_cost: float | None = None, decay: Decay | None = None) -> ibis.Table:
        """:meth:`two_stage_fca` as an Ibis table, for use in further queries: the demand and the
        first stage's ratios are stored in engine tables (dropped by :meth:`close`); the second
        stage is left unexecuted, or, with more than :data:`DEMAND_PER_QUERY` demand rows, run
        in parts into a stored table (on DuckDB; on Spark the cluster partitions it).

        Nothing of the size of pairs x keys is stored: each stage streams the costs through
        hash joins into a grouped sum (stage 1 per destination and key, stage 2 per origin
        and key). At 20 million households the stored pairs x (period, type) table ran past
        50 GB of scratch disk.
        """
        decay = decay or Uniform()
        costs = self.costs if max_cost is None else self.costs.filter(self.costs.cost <= max_cost)
        costs = costs.select("origin", "destination", w=decay.expr(costs.cost))
        on = ["origin", *self.keys]
        # Demand and the ratios are stored first (small next to the pairs): each stage is then
        # one hash join of the streamed costs with a stored table. Left as expressions inside
        # one query, the access family at 2M households ran out of a 4 GB engine limit.
        demand = self._materialise(self.demand.select(*on, "demand"))
        # stage 1: the demand each destination sees, per key; a destination without supply of
        # a key drops out at the supply join
        seen = costs.join(demand, "origin")
        load = seen.group_by(["destination", *self.keys]).agg(weighted_demand=(seen.demand * seen.w).sum())
        load = load.filter(load.weighted_demand > 0)
        ratio = self.supply.join(load, ["destination", *self.keys])
        ratio = self._materialise(ratio.select(slot=_slot(ratio, ["destination", *self.keys]),
                                               r=ratio.supply / ratio.weighted_demand))
        # stage 2, in parts of at most DEMAND_PER_QUERY demand rows (origins kept whole): its
        # joins and sum hold a part's rows, not every origin's (the access family at 20M
        # households, 172M demand rows, ran out of an 8 GB engine limit in one query)
        parts = 1 if is_spark(self.con) else -(-int(self.con.execute(demand.count())) // DEMAND_PER_QUERY)
        if parts <= 1:
            return self._second_stage(costs, demand.select(*on), ratio, on)
        h = demand.origin.hash() % parts
        parted = self._materialise(demand.select(*on, _part=(h + parts) % parts))
        out = None
        for part in range(parts):
            scores = self._second_stage(costs, parted.filter(parted._part == part).drop("_part"), ratio, on)
            if out is None:
                out = self._materialise(scores)
            else:
                self.con.insert(out.get_name(), scores)
        return out

    def _second_stage(self, costs: ibis.Table, demand: ibis.Table, ratio: ibis.Table, on: list[str]) -> ibis.Table:
        """Stage 2 of :meth:`two_stage_table` for the origins and keys of ``demand`` (columns ``on``)."""
        # one key column made of destination and keys, so the engine must pair the costs with
        # the demand before the ratios (joining demand to ratios on the keys alone would cross
        # every origin with every destination of its key)
        reached = costs.join(demand, "origin")
        reached = reached.select(*on, "w", slot=_slot(reached, ["destination", *self.keys])).view()
        reached = reached.join(ratio, "slot")
        access = reached.group_by(on).agg(access=(reached.r * reached.w).sum())
        out = demand.left_join(access, on)
        return out.select(*on, access=ibis.coalesce(out.access, 0.0))

    def enhanced_two_stage_fca(self, max_cost: float | None = None, decay: Decay | None = None) -> pd.DataFrame:
        """Enhanced 2SFCA (Luo & Qi 2009): 2SFCA with distance-decay weights, by default
        their stepped weights ``Stepped({10: 1, 20: 0.68, 30: 0.22})`` (costs in minutes or km)."""
        return self.two_stage_fca(max_cost, decay or Stepped({10: 1.0, 20: 0.68, 30: 0.22}))

    def _pairs(self, max_cost):
        costs = self.costs
        if max_cost is not None:
            costs = costs.filter(costs.cost <= max_cost)
        # Pair each origin with the destinations offering its keys (e.g. the same service type).
        pairs = costs.join(self.demand.select("origin", *self.keys), "origin")
        if self.keys:
            # Materialise first: left to itself the optimiser may join demand to supply on
            # the keys alone (every origin x every point of the type) before the costs.
            pairs = self._materialise(pairs)
            pairs = pairs.join(self.supply.select("destination", *self.keys), ["destination", *self.keys])
        return pairs.select("origin", "destination", *self.keys, "cost")

    def close(self) -> None:
        """Drop the engine tables this catchment made (tables from :meth:`two_stage_table` stop working)."""
        for name in self._temporary:
            drop_table(self.con, name)
        self._temporary.clear()

    def _materialise(self, expr: ibis.Table) -> ibis.Table:
        table = temp_table(self.con, expr, "_catchment")
        self._temporary.append(table.get_name())
        return table

    def _fetch(self, expr, order):
        try:
            return self.con.execute(expr).sort_values(order, ignore_index=True)
        finally:
            self.close()


def _slot(t: ibis.Table, columns: list[str]) -> ibis.Value:
    """The values of ``columns`` as one text key (unit separator between them)."""
    parts = [t[c].cast("string") for c in columns]
    return parts[0] if len(parts) == 1 else ibis.literal("\x1f").join(parts)


def write_costs(con, chunks: Iterator[pd.DataFrame], name: str | None = None) -> ibis.Table:
    """Store cost chunks in a temporary table of the engine (memory bounded by one chunk).

    Drop it with :func:`evalkit.engine.drop_table` (``name`` is ``.get_name()``) when done.
    """
    text = (chunk.astype({"origin": str, "destination": str}) for chunk in chunks)
    return write_chunks(con, text, {"origin": "string", "destination": "string", "cost": "float64"},
                        name=name or unique_name("_od_costs"))


def _backend(*inputs):
    for item in inputs:
        if isinstance(item, ibis.Table):
            try:
                return item.get_backend()
            except Exception:  # an unbound memtable
                continue
    return ibis.duckdb.connect()


def _as_table(data, required: list[str], what: str) -> ibis.Table:
    if isinstance(data, pd.DataFrame):
        _require(data, required, what)
        return ibis.memtable(data)
    if isinstance(data, ibis.Table):
        missing = [c for c in required if c not in data.columns]
        if missing:
            raise ValueError(f"{what}: missing column(s) {', '.join(missing)}; has {', '.join(data.columns)}")
        return data
    raise TypeError(f"{what} must be a pandas DataFrame or an Ibis table, got {type(data).__name__}")


def _require(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {', '.join(missing)}; has {', '.join(map(str, frame.columns))}")
