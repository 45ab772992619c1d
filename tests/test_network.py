"""Referral network: hand-computed edges and metrics on a tiny package, cross-checked with networkx."""
from __future__ import annotations

import json

import networkx as nx
import numpy as np
import pandas as pd
import pytest

import evalkit
from evalkit.data import periods
from evalkit.methods.network import ReferralNetwork, network_metrics, node_table, referral_edges

# Province P with counties A (households h1, h2) and B (h3). Providers: G1, G2 government,
# C1, C2 charity.
REGIONS = pd.DataFrame({"region_id": ["P", "A", "B"], "name": ["省", "甲县", "乙县"],
                        "parent_id": [None, "P", "P"], "level": ["province", "county", "county"]})
HOUSEHOLDS = pd.DataFrame({"household_id": ["h1", "h2", "h3"], "region_id": ["A", "A", "B"]})
PROVIDERS = pd.DataFrame({"provider_id": ["G1", "G2", "C1", "C2"], "name": ["民政局", "教育局", "慈善总会", "基金会"],
                          "sector": ["政府", "government", "慈善", "charity"]})
REFERRALS = pd.DataFrame([
    # A, 2024Q1: a star around G1 (G1<->C1 reciprocal, G1->G2, G1->C2) and a self-referral
    ("r1", "h1", "G1", "C1", "2024-01-05", "2024-01-06", "2024-01-10", "closed"),
    ("r2", "h2", "G1", "C1", "2024-02-01", None, None, "rejected"),
    ("r3", "h1", "C1", "G1", "2024-02-10", "2024-02-11", None, "accepted"),
    ("r4", "h2", "G1", "G2", "2024-03-01", None, None, "pending"),
    ("r5", "h1", "G1", "C2", "2024-03-02", "2024-03-03", None, "accepted"),
    ("r6", "h2", "C2", "C2", "2024-03-05", "2024-03-05", "2024-03-06", "closed"),
    # B, 2024Q1: a reciprocal pair across sectors
    ("r7", "h3", "C1", "G2", "2024-01-15", None, None, "pending"),
    ("r8", "h3", "G2", "C1", "2024-01-20", "2024-01-21", None, "accepted"),
    # A, 2024Q2: accepted by its date, status not filled in
    ("r9", "h1", "G2", "G1", "2024-04-02", "2024-04-03", None, None),
    # no edge: undated, and no receiving provider
    ("r10", "h1", "G1", "C1", None, None, None, "pending"),
    ("r11", "h2", "G1", None, "2024-01-07", None, None, "pending"),
], columns=["referral_id", "household_id", "from_provider", "to_provider", "created_on", "accepted_on",
            "closed_on", "status"])

Q1, Q2 = "2024Q1", "2024Q2"


def write_network(directory, providers=True):
    directory.mkdir(parents=True, exist_ok=True)
    REGIONS.to_csv(directory / "regions.csv", index=False)
    HOUSEHOLDS.to_csv(directory / "households.csv", index=False)
    REFERRALS.to_csv(directory / "转介.csv", index=False, encoding="gbk")
    if providers:
        PROVIDERS.to_csv(directory / "providers.csv", index=False)
    (directory / "datapackage.json").write_text(json.dumps({"name": "network", "frequency": "quarter"}))
    return directory


@pytest.fixture
def package(tmp_path):
    return evalkit.load(write_network(tmp_path / "net"))


def edge(edges, region, period, a, b):
    rows = edges[(edges.region == region) & (edges.period == period) & (edges.from_provider == a)
                 & (edges.to_provider == b)]
    assert len(rows) == 1, (region, period, a, b)
    return rows.iloc[0]


def test_edges_by_hand(package):
    edges = referral_edges(package)
    assert list(edges.columns) == ["region", "period", "from_provider", "to_provider", "from_sector", "to_sector",
                                   "crossing", "referrals", "accepted"]
    cell = edges[(edges.region == "A") & (edges.period == Q1)]
    assert len(cell) == 5
    e = edge(edges, "A", Q1, "G1", "C1")
    assert (e.referrals, e.accepted, e.from_sector, e.to_sector, e.crossing) == (2, 1, "government", "charity", True)
    e = edge(edges, "A", Q1, "G1", "G2")
    assert (e.referrals, e.accepted, e.crossing) == (1, 0, False)
    e = edge(edges, "A", Q1, "C2", "C2")  # a self-referral stays in the edge table
    assert (e.referrals, e.accepted, e.crossing) == (1, 1, False)
    assert edge(edges, "A", Q2, "G2", "G1").accepted == 1  # accepted_on without a status
    # the province holds both counties: G1->C1 only in A, C1->G2 only in B
    assert edge(edges, "P", Q1, "G1", "C1").referrals == 2
    assert edge(edges, "P", Q1, "C1", "G2").referrals == 1
    # r10 (undated) and r11 (no receiver) are no edge; everything else counts once per level
    assert edges.groupby("region")["referrals"].sum().to_dict() == {"A": 7, "B": 2, "P": 9}


EXPECTED = pd.DataFrame([
    # region, period, nodes, edges, referrals, density, reciprocity, cross share, centralisation
    ("A", Q1, 4, 4, 6, 4 / 12, 2 / 4, 4 / 6, 1.0),  # star around G1: centralisation 1
    ("A", Q2, 2, 1, 1, 1 / 2, 0.0, 0.0, 0.0),
    ("B", Q1, 2, 2, 2, 1.0, 1.0, 1.0, 0.0),
    # P, Q1: G1 degree 3, C1 and G2 2, C2 1 -> (0 + 1 + 1 + 2) / (3 * 2)
    ("P", Q1, 4, 6, 8, 6 / 12, 4 / 6, 6 / 8, 4 / 6),
    ("P", Q2, 2, 1, 1, 1 / 2, 0.0, 0.0, 0.0),
], columns=["region", "period", "nodes", "edges", "referrals", "density", "reciprocity",
            "cross_sector_share", "degree_centralisation"])


def test_metrics_by_hand(package):
    got = network_metrics(referral_edges(package))
    pd.testing.assert_frame_equal(got, EXPECTED, check_dtype=False)


def freeman(graph: nx.Graph) -> float:
    n = graph.number_of_nodes()
    if n < 3:
        return 0.0
    degrees = [d for _, d in graph.degree()]
    return sum(max(degrees) - d for d in degrees) / ((n - 1) * (n - 2))


def networkx_metrics(edges: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (region, period), cell in edges.groupby(["region", "period"]):
        g = nx.DiGraph()
        g.add_nodes_from(set(cell.from_provider) | set(cell.to_provider))
        g.add_edges_from((a, b) for a, b in zip(cell.from_provider, cell.to_provider) if a != b)
        rows.append((region, period, g.number_of_nodes(), g.number_of_edges(), nx.density(g),
                     nx.reciprocity(g) if g.number_of_edges() else np.nan, freeman(g.to_undirected())))
    return pd.DataFrame(rows, columns=["region", "period", "nodes", "edges", "density", "reciprocity",
                                       "degree_centralisation"])


def test_metrics_agree_with_networkx(package):
    edges = referral_edges(package)
    ours = network_metrics(edges)[["region", "period", "nodes", "edges", "density", "reciprocity",
                                   "degree_centralisation"]]
    pd.testing.assert_frame_equal(ours, networkx_metrics(edges), check_dtype=False)


def test_unknown_sectors_without_providers(tmp_path):
    package = evalkit.load(write_network(tmp_path / "np", providers=False))
    edges = referral_edges(package)
    assert set(edges.from_sector) == set(edges.to_sector) == {"unknown"}
    assert not edges.crossing.any()
    got = network_metrics(edges)
    assert got.cross_sector_share.isna().all()  # unknown is not "no crossing"
    pd.testing.assert_frame_equal(got.drop(columns="cross_sector_share"),
                                  EXPECTED.drop(columns="cross_sector_share"), check_dtype=False)


def test_region_and_period_restrictions(package):
    assert set(referral_edges(package, region="A").region) == {"A"}
    assert set(referral_edges(package, region="P").region) == {"P", "A", "B"}
    only = referral_edges(package, period="2024-q2")
    assert set(only.period) == {Q2} and set(only.region) == {"A", "P"}
    with pytest.raises(ValueError, match="region 'X'"):
        referral_edges(package, region="X")
    with pytest.raises(ValueError, match="not a quarter period"):
        referral_edges(package, period="2024-13")


def test_nodes_and_network_object(package, tmp_path):
    net = ReferralNetwork.from_package(package)
    pd.testing.assert_frame_equal(net.metrics(), network_metrics(net.edges))
    pd.testing.assert_frame_equal(net.nodes(), node_table(net.edges))
    nodes = net.nodes().set_index(["region", "period", "provider"])
    g1 = nodes.loc[("A", Q1, "G1")]
    assert (g1.sector, g1.referrals_out, g1.referrals_in, g1.out_degree, g1.in_degree) == ("government", 4, 1, 3, 1)
    c2 = nodes.loc[("A", Q1, "C2")]  # its self-referral counts as referrals, not as degree
    assert (c2.referrals_out, c2.referrals_in, c2.out_degree, c2.in_degree) == (1, 2, 0, 1)
    sub = net.subset(region="B", period=Q1)
    assert len(sub.edges) == 2 and sub.metrics().reciprocity.tolist() == [1.0]
    for name in ("edges.csv", "edges.parquet"):
        path = net.to_file(tmp_path / "out" / name)
        back = pd.read_csv(path) if name.endswith(".csv") else pd.read_parquet(path)
        pd.testing.assert_frame_equal(ReferralNetwork(back).metrics(), net.metrics(), check_dtype=False)
    assert not list((tmp_path / "out").glob(".*tmp"))
    with pytest.raises(ValueError, match=r"\.csv or \.parquet"):
        net.to_file(tmp_path / "edges.xlsx")


def test_bad_edge_tables():
    with pytest.raises(ValueError, match="lacks column"):
        network_metrics(pd.DataFrame({"region": ["A"], "period": ["2024"]}))
    with pytest.raises(TypeError):
        network_metrics([("A", "2024", "x", "y", 1)])
    empty = network_metrics(pd.DataFrame(columns=["region", "period", "from_provider", "to_provider", "referrals"]))
    assert empty.empty and "density" in empty.columns


@pytest.fixture(scope="module")
def synthetic_network(tmp_path_factory):
    from evalkit.data.synth import generate

    out = tmp_path_factory.mktemp("netsynth") / "pkg"
    generate(out, households=5000, regions=4, periods=6, seed=3)
    package = evalkit.load(out)
    return package, referral_edges(package)


def test_synthetic_edges_count_every_referral(synthetic_network):
    package, edges = synthetic_network
    ref = package.tables["referrals"].execute()
    hh = package.tables["households"].execute()[["household_id", "region_id"]]
    ref = ref.dropna(subset=["created_on", "from_provider", "to_provider"]).merge(hh, on="household_id")
    ref["period"] = [periods.label(d, package.frequency) for d in ref["created_on"].dt.date]
    ref = ref[ref["period"].isin(package.periods)]
    expected = ref.groupby(["region_id", "period"]).size()
    counties = package.regions.loc[package.regions["level"] == "county", "region_id"]
    by_cell = edges.groupby(["region", "period"])["referrals"].sum()
    got = by_cell[by_cell.index.get_level_values("region").isin(counties)]
    pd.testing.assert_series_equal(got, expected, check_names=False)
    # the province root sums its counties, edge by edge
    root = package.regions.loc[package.regions["parent_id"].isna(), "region_id"].item()
    keys = ["period", "from_provider", "to_provider"]
    top = edges[edges.region == root].set_index(keys)[["referrals", "accepted"]].sort_index()
    summed = edges[edges.region.isin(counties)].groupby(keys)[["referrals", "accepted"]].sum().sort_index()
    pd.testing.assert_frame_equal(top, summed)
    assert top["referrals"].sum() == len(ref)


def test_synthetic_metrics_agree_with_networkx(synthetic_network):
    _, edges = synthetic_network
    ours = network_metrics(edges)
    nxm = networkx_metrics(edges)
    pd.testing.assert_frame_equal(ours[nxm.columns], nxm, check_dtype=False)
    assert ((ours.density > 0) & (ours.density <= 1)).all()
