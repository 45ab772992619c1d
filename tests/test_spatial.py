"""Spatial access against hand values, brute force and PySAL's ``access`` package."""
import numpy as np
import pandas as pd
import pytest

from evalkit.methods import spatial
from evalkit.methods.spatial import Catchment, Gaussian, Gravity, Stepped, Uniform

access = pytest.importorskip("access")  # PyPI `access` (PySAL), a test dependency
from access import Access, weights  # noqa: E402

REL = 1e-9


# --- coordinates --------------------------------------------------------------------

def test_conversions_match_published_reference_values():
    # reference values from the gcoord library's test suite (lon, lat)
    assert np.allclose(spatial.wgs84_to_gcj02(123, 45), (123.00607541, 45.00197815), atol=5e-6)
    assert np.allclose(spatial.to_wgs84(123, 45, "gcj02"), (122.99395597, 44.99804071), atol=5e-6)
    assert np.allclose(spatial.bd09_to_gcj02(123, 45), (122.99363304, 44.99365430), atol=5e-6)
    assert np.allclose(spatial.to_wgs84(123, 45, "BD-09"), (122.98762210, 44.99171540), atol=5e-6)


def test_gcj02_inverse_round_trips_and_leaves_the_rest_of_the_world_alone():
    rng = np.random.default_rng(1)
    lon, lat = rng.uniform(75, 135, 1000), rng.uniform(18, 53, 1000)
    back = spatial.to_wgs84(*spatial.wgs84_to_gcj02(lon, lat), "gcj02")
    assert np.abs(back[0] - lon).max() < 1e-9 and np.abs(back[1] - lat).max() < 1e-9
    assert spatial.to_wgs84(2.35, 48.85, "gcj02") == pytest.approx((2.35, 48.85))
    with pytest.raises(ValueError, match="wgs84, gcj02, bd09"):
        spatial.to_wgs84(120, 30, "epsg:3857")


# --- nearest and cost tables ----------------------------------------------------------

@pytest.fixture
def scatter():
    rng = np.random.default_rng(7)
    homes = pd.DataFrame({"id": [f"h{i}" for i in range(300)],
                          "lon": 120 + rng.normal(0, 0.1, 300), "lat": 30 + rng.normal(0, 0.1, 300)})
    points = pd.DataFrame({"id": [f"p{j}" for j in range(25)],
                           "lon": 120 + rng.normal(0, 0.1, 25), "lat": 30 + rng.normal(0, 0.1, 25)})
    return homes, points


def brute_force(homes, points):
    d = spatial.haversine_km(homes.lon.to_numpy()[:, None], homes.lat.to_numpy()[:, None],
                             points.lon.to_numpy()[None, :], points.lat.to_numpy()[None, :])
    return pd.DataFrame(d, index=homes.id, columns=points.id)


def test_nearest_equals_brute_force(scatter):
    homes, points = scatter
    d = brute_force(homes, points)
    found = spatial.nearest(homes, points, chunk_size=64)
    assert list(found.origin) == list(homes.id)
    assert list(found.destination) == list(d.idxmin(axis=1))
    np.testing.assert_allclose(found.cost, d.min(axis=1), rtol=REL)


def test_cost_table_holds_exactly_the_pairs_within_the_radius(scatter):
    homes, points = scatter
    d = brute_force(homes, points)
    long = pd.DataFrame({"origin": np.repeat(d.index.to_numpy(), d.shape[1]),
                         "destination": np.tile(d.columns.to_numpy(), d.shape[0]), "cost": d.to_numpy().ravel()})
    expected = long[long.cost <= 5].sort_values(["origin", "destination"], ignore_index=True)
    chunks = list(spatial.iter_od_costs(homes, points, 5, chunk_size=50))
    assert len(chunks) > 1
    got = pd.concat(chunks).sort_values(["origin", "destination"], ignore_index=True)
    pd.testing.assert_frame_equal(got[["origin", "destination"]], expected[["origin", "destination"]],
                                  check_dtype=False)
    np.testing.assert_allclose(got.cost, expected.cost, rtol=REL)


def test_declared_coordinate_system_is_converted_before_distances(scatter):
    homes, points = scatter
    shifted = points.copy()
    shifted["lon"], shifted["lat"] = spatial.wgs84_to_gcj02(points.lon, points.lat)
    plain = spatial.nearest(homes, points)
    converted = spatial.nearest(homes, shifted, destination_crs="gcj02")
    np.testing.assert_allclose(converted.cost, plain.cost, rtol=1e-6)
    naive = spatial.nearest(homes, shifted)  # GCJ-02 read as WGS-84 is off by hundreds of metres
    assert (naive.cost - plain.cost).abs().max() > 0.1


# --- distance decay -------------------------------------------------------------------

COSTS = np.array([0, 0.5, 1, 5, 10, 10.0001, 15, 20, 29.9, 30, 30.1, 45, 60, 61])


@pytest.mark.parametrize("ours, theirs", [
    (Stepped({10: 1, 20: 0.68, 30: 0.22}), weights.step_fn({10: 1, 20: 0.68, 30: 0.22})),
    (Gaussian(12), weights.gaussian(12)),
    (Gravity(scale=20, alpha=-2, min_cost=1), weights.gravity(20, -2, 1)),
    (Gravity(scale=1, alpha=-1, min_cost=0.5), weights.gravity(1, -1, 0.5)),
])
def test_decay_equals_pysal_weights_in_python_and_in_the_engine(ours, theirs):
    expected = np.array([theirs(c) for c in COSTS], float)
    np.testing.assert_allclose(ours(COSTS), expected, rtol=REL)
    import ibis

    t = ibis.memtable(pd.DataFrame({"i": range(len(COSTS)), "cost": COSTS}))
    got = ibis.duckdb.connect().execute(t.select("i", w=ours.expr(t.cost))).sort_values("i")["w"]
    np.testing.assert_allclose(got, expected, rtol=REL)


def test_decay_parameters_are_checked():
    with pytest.raises(ValueError):
        Gaussian(0)
    with pytest.raises(ValueError):
        Stepped({10: -1})
    with pytest.raises(TypeError):
        Stepped([10, 1])


# --- floating catchments against PySAL --------------------------------------------------

@pytest.fixture
def small_world():
    rng = np.random.default_rng(3)
    n, m = 40, 8
    demand = pd.DataFrame({"origin": [f"t{i}" for i in range(n)], "demand": rng.integers(10, 500, n).astype(float)})
    supply = pd.DataFrame({"destination": [f"s{j}" for j in range(m)], "supply": rng.uniform(1, 50, m)})
    costs = pd.DataFrame([(o, d, float(c)) for o in demand.origin for d, c in
                          zip(supply.destination, rng.uniform(0, 40, m))], columns=["origin", "destination", "cost"])
    return demand, supply, costs


def pysal(demand, supply, costs, method, **kw):
    acc = Access(demand_df=demand.set_index("origin"), demand_value="demand",
                 supply_df=supply.set_index("destination"), supply_value="supply",
                 cost_df=costs, cost_origin="origin", cost_dest="destination", cost_name="cost")
    getattr(acc, method)(name="a", **kw)
    # read access_df, never norm_access_df: that property overwrites the raw scores
    return acc.access_df["a_supply"]


@pytest.mark.parametrize("max_cost, decay, theirs", [
    (15, None, None),
    (30, None, None),
    (30, Gaussian(10), weights.gaussian(10)),
    (None, Gaussian(10), weights.gaussian(10)),
    (35, Stepped({10: 1, 20: 0.68, 30: 0.22}), weights.step_fn({10: 1, 20: 0.68, 30: 0.22})),
    (40, Gravity(1, -1, 0.5), weights.gravity(1, -1, 0.5)),
])
def test_two_stage_fca_equals_pysal(small_world, max_cost, decay, theirs):
    demand, supply, costs = small_world
    before = [f.copy() for f in small_world]
    ours = Catchment(demand, supply, costs).two_stage_fca(max_cost=max_cost, decay=decay).set_index("origin")["access"]
    expected = pysal(demand, supply, costs, "two_stage_fca", max_cost=max_cost, weight_fn=theirs)
    reached = expected.notna()
    np.testing.assert_allclose(ours[expected.index[reached]], expected[reached], rtol=REL)
    assert (ours[expected.index[~reached]] == 0).all()  # PySAL leaves origins reaching nothing NaN
    for frame, copy in zip(small_world, before):
        pd.testing.assert_frame_equal(frame, copy)  # nothing mutates its inputs


def test_enhanced_two_stage_fca_equals_pysal_with_its_default_steps(small_world):
    demand, supply, costs = small_world
    ours = Catchment(demand, supply, costs).enhanced_two_stage_fca().set_index("origin")["access"]
    expected = pysal(demand, supply, costs, "enhanced_two_stage_fca").dropna()
    np.testing.assert_allclose(ours[expected.index], expected, rtol=REL)


@pytest.mark.parametrize("max_cost, decay", [(15, None), (None, Gaussian(10)), (25, Stepped({10: 1, 25: 0.5}))])
def test_access_redistributes_all_reachable_supply(small_world, max_cost, decay):
    demand, supply, costs = small_world
    a = Catchment(demand, supply, costs).two_stage_fca(max_cost, decay).merge(demand, on="origin")
    within = costs if max_cost is None else costs[costs.cost <= max_cost]
    w = (decay or Uniform())(within.cost)
    reachable = set(within.destination[w > 0])
    assert (a.demand * a.access).sum() == pytest.approx(supply[supply.destination.isin(reachable)].supply.sum(), rel=REL)


HOSPITAL_SCENARIOS = {  # PySAL access's hospital example: three tracts, four traffic scenarios
    "gridlock": {(1, 3): 40, (2, 3): 40, (3, 1): 40, (3, 2): 40, (1, 2): 80, (2, 1): 80},
    "fast in": {(1, 3): 20, (2, 3): 20, (3, 1): 40, (3, 2): 40, (1, 2): 80, (2, 1): 80},
    "fast out": {(1, 3): 40, (2, 3): 40, (3, 1): 20, (3, 2): 20, (1, 2): 80, (2, 1): 80},
    "fast": {(1, 3): 20, (2, 3): 20, (3, 1): 20, (3, 2): 20, (1, 2): 40, (2, 1): 40},
}


@pytest.mark.parametrize("scenario", list(HOSPITAL_SCENARIOS))
def test_hospital_example(scenario):
    tracts = pd.DataFrame({"geoid": [1, 2, 3], "pop": [100, 50, 10], "doc": [15, 20, 100]})
    pairs = {(i, i): 1 for i in (1, 2, 3)} | HOSPITAL_SCENARIOS[scenario]
    costs = pd.DataFrame([(o, d, float(c)) for (o, d), c in pairs.items()], columns=["origin", "destination", "cost"])
    acc = Access(demand_df=tracts, demand_index="geoid", demand_value="pop", supply_df=tracts,
                 supply_index="geoid", supply_value="doc", cost_df=costs, cost_origin="origin",
                 cost_dest="destination", cost_name="cost")
    acc.two_stage_fca(name="a", weight_fn=weights.gravity(1, -1), max_cost=61)
    demand = tracts.rename(columns={"geoid": "origin", "pop": "demand"})[["origin", "demand"]]
    supply = tracts.rename(columns={"geoid": "destination", "doc": "supply"})[["destination", "supply"]]
    ours = Catchment(demand, supply, costs).two_stage_fca(max_cost=61, decay=Gravity(1, -1))
    np.testing.assert_allclose(ours.set_index("origin")["access"], acc.access_df["a_doc"], rtol=REL)
    # and by hand for the gridlock scenario: R_j = S_j / sum_k D_k / c_kj, A_i = sum_j R_j / c_ij
    if scenario == "gridlock":
        r1, r2, r3 = 15 / (100 / 1 + 10 / 40), 20 / (50 / 1 + 10 / 40), 100 / (100 / 40 + 50 / 40 + 10 / 1)
        assert ours.access.tolist() == pytest.approx([r1 + r3 / 40, r2 + r3 / 40, r3 + r1 / 40 + r2 / 40], rel=REL)


def test_keys_solve_separate_problems_in_one_query(small_world):
    demand, supply, costs = small_world
    half = supply.destination.isin(["s0", "s1", "s2", "s3"])
    by_type = pd.concat([demand.assign(service_type="care"), demand.assign(service_type="medical")])
    offered = pd.concat([supply.assign(service_type="care"), supply[half].assign(service_type="medical")])
    together = Catchment(by_type, offered, costs).two_stage_fca(20, Gaussian(8))
    for service, points in (("care", supply), ("medical", supply[half])):
        alone = Catchment(demand, points, costs).two_stage_fca(20, Gaussian(8)).set_index("origin")["access"]
        got = together[together.service_type == service].set_index("origin")["access"]
        np.testing.assert_allclose(got[alone.index], alone, rtol=REL)


@pytest.mark.parametrize("per_query", [7, 25])
def test_the_second_stage_in_parts_gives_the_same_access(small_world, monkeypatch, per_query):
    import evalkit.methods.spatial as spatial

    demand, supply, costs = small_world
    half = supply.destination.isin(["s0", "s1", "s2", "s3"])
    by_type = pd.concat([demand.assign(service_type="care"), demand.assign(service_type="medical")])
    offered = pd.concat([supply.assign(service_type="care"), supply[half].assign(service_type="medical")])
    whole = Catchment(by_type, offered, costs).two_stage_fca(20, Gaussian(8))
    monkeypatch.setattr(spatial, "DEMAND_PER_QUERY", per_query)  # 80 demand rows: 12 or 4 parts
    catchment = Catchment(by_type, offered, costs)
    table = catchment.two_stage_table(20, Gaussian(8))
    assert table.get_name().startswith("_catchment")  # run in parts into a stored table
    parts = catchment._fetch(table, ["origin", "service_type"])
    assert len(parts) == len(whole) == 80 and (whole["access"] > 0).any()
    pd.testing.assert_frame_equal(parts[whole.columns], whole, rtol=1e-12)


def test_from_coordinates_and_nearest_cost(scatter):
    homes, points = scatter
    demand = homes.rename(columns={"id": "origin"}).assign(demand=1.0)
    supply = points.rename(columns={"id": "destination"}).assign(supply=10.0)
    catchment = Catchment.from_coordinates(demand, supply, max_km=8)
    table = spatial.od_costs(homes, points, 8)
    direct = Catchment(demand[["origin", "demand"]], supply[["destination", "supply"]], table)
    pd.testing.assert_frame_equal(catchment.two_stage_fca(decay=Gaussian(3)), direct.two_stage_fca(decay=Gaussian(3)))
    near = catchment.nearest_cost()
    best = brute_force(homes, points).min(axis=1)
    within = best[best <= 8]
    assert set(near.origin) == set(within.index)
    np.testing.assert_allclose(near.set_index("origin").cost[within.index], within, rtol=REL)


def test_bad_inputs_say_which_columns():
    with pytest.raises(ValueError, match="demand: missing column.*demand"):
        Catchment(pd.DataFrame({"origin": ["a"]}), pd.DataFrame({"destination": ["x"], "supply": [1.0]}),
                  pd.DataFrame({"origin": ["a"], "destination": ["x"], "cost": [1.0]}))
    with pytest.raises(ValueError, match="max_km must be positive"):
        spatial.od_costs(pd.DataFrame({"id": [1], "lon": [120.0], "lat": [30.0]}),
                         pd.DataFrame({"id": [1], "lon": [120.0], "lat": [30.0]}), 0)
