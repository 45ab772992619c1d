"""The engine layer: primitives beyond Ibis, and no raw SQL above it."""
from __future__ import annotations

import ast
import itertools
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest

from evalkit import engine

ROOT = Path(__file__).resolve().parents[1] / "evalkit"


@pytest.fixture(scope="module")
def con():
    return engine.connect(threads=1)


def _tables(con) -> set[str]:
    return {r[0] for r in engine.sql(con, "SELECT table_name FROM information_schema.tables")}


def _cells(n: int = 2_000, seed: int = 5) -> pd.DataFrame:
    """Unit sums per region, group, stratum and period, some keys missing (NULL)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "region_id": rng.choice(["A", "B", "C"], n),
        "group": rng.choice(["local", "migrant", None], n, p=[0.5, 0.4, 0.1]),
        "stratum": rng.choice(["s1", "s2"], n),
        "period": rng.choice(["2024Q1", "2024Q2"], n),
        "n": rng.integers(1, 4, n),
        "X": rng.uniform(0.5, 3.0, n).round(3),
        "Y": rng.uniform(0.0, 2.0, n).round(3),
    })
    return frame.assign(XY=frame.X * frame.Y)


AGGREGATES = {"units": "count(*)", "n": "sum(n)", "SX": "sum(X)", "SY": "sum(Y)", "SXY": "sum(XY)",
              "low": "min(X)", "high": "max(X)", "mean_y": "avg(Y)", "grouped": "count(group)"}


def _pandas(frame: pd.DataFrame, keys: list[str], sets: list[list[str]]) -> pd.DataFrame:
    """The same numbers from one pandas group-by per set (NULL keys kept as a group)."""
    out = []
    for i, s in enumerate(sets):
        g = frame.groupby(s, dropna=False) if s else frame.groupby(lambda _: 0)
        part = g.agg(units=("X", "size"), n=("n", "sum"), SX=("X", "sum"), SY=("Y", "sum"), SXY=("XY", "sum"),
                     low=("X", "min"), high=("X", "max"), mean_y=("Y", "mean"), grouped=("group", "count"))
        part = part.reset_index(drop=not s)
        for k in keys:
            if k not in s:
                part[k] = None
        out.append(part.assign(grouping_set=i))
    return pd.concat(out, ignore_index=True)


def _canonical(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    frame = frame.copy()
    for k in keys:
        frame[k] = frame[k].astype(object).where(frame[k].notna(), "<NULL>")
    frame = frame[[*keys, *AGGREGATES, "grouping_set"]].sort_values(["grouping_set", *keys], ignore_index=True)
    return frame.astype({"units": "int64", "n": "int64", "grouped": "int64", "grouping_set": "int64"})


@pytest.mark.parametrize("sets", [
    [["region_id", "group", "period"], ["region_id", "period"], ["period"], []],
    [["region_id", "stratum", "group"], ["group"]],   # a NULL in the data is a group of its own
    [["region_id"]],
])
def test_grouping_sets_equal_pandas_group_bys(con, sets):
    frame = _cells()
    keys = [k for k in ["region_id", "group", "stratum", "period"] if any(k in s for s in sets)]
    table = ibis.memtable(frame)
    got = engine.grouping_sets(con, table, keys, sets, AGGREGATES)
    want = _pandas(frame, keys, sets)
    got, want = _canonical(got, keys), _canonical(want, keys)
    pd.testing.assert_frame_equal(got[[*keys, "units", "n", "grouped", "grouping_set"]],
                                  want[[*keys, "units", "n", "grouped", "grouping_set"]], check_dtype=False)
    for col in ("SX", "SY", "SXY", "low", "high", "mean_y"):
        np.testing.assert_allclose(got[col], want[col], rtol=1e-12, atol=0)


def test_grouping_sets_of_a_derived_expression_on_engine_tables(con):
    """The input may be any Ibis expression: joins and derived columns, engine tables and memtables."""
    frame = _cells(500)
    base = engine.temp_table(con, ibis.memtable(frame.drop(columns=["XY"])), "_test_cells")
    try:
        parents = ibis.memtable(pd.DataFrame({"region_id": ["A", "B", "C"], "parent": ["P", "P", "Q"]}))
        t = base.join(parents, "region_id")
        t = t.mutate(XY=t.X * t.Y)
        got = engine.grouping_sets(con, t, ["parent", "period"], [["parent", "period"], ["parent"]],
                                   {"units": "count(*)", "SXY": "sum(XY)"})
        merged = frame.merge(pd.DataFrame({"region_id": ["A", "B", "C"], "parent": ["P", "P", "Q"]}))
        for i, s in enumerate([["parent", "period"], ["parent"]]):
            want = merged.groupby(s).agg(units=("X", "size"), SXY=("XY", "sum")).reset_index()
            part = got[got.grouping_set == i].sort_values(s, ignore_index=True)
            assert part["units"].tolist() == want["units"].tolist()
            np.testing.assert_allclose(part["SXY"], want["SXY"], rtol=1e-12)
            if "period" not in s:
                assert part["period"].isna().all()
        assert not any(name.startswith("_grouping_sets") for name in _tables(con))  # its view is gone
    finally:
        engine.drop_table(con, base)
    assert base.get_name() not in _tables(con)


@pytest.mark.parametrize("bad", [
    dict(keys=["region_id", "nope"], sets=[["region_id"]], aggregates={"n": "count(*)"}),
    dict(keys=["region_id"], sets=[["period"]], aggregates={"n": "count(*)"}),
    dict(keys=["region_id"], sets=[["region_id"], ["region_id"]], aggregates={"n": "count(*)"}),
    dict(keys=["region_id"], sets=[["region_id"]], aggregates={"n": "median(X)"}),
    dict(keys=["region_id"], sets=[["region_id"]], aggregates={"n": "sum(X); DROP TABLE t"}),
    dict(keys=["region_id"], sets=[["region_id"]], aggregates={"region_id": "count(*)"}),
    dict(keys=["region_id", "period"], sets=[["region_id"]], aggregates={"n": "count(*)"}),
])
def test_grouping_sets_refuses_what_it_cannot_express(con, bad):
    with pytest.raises(ValueError):
        engine.grouping_sets(con, ibis.memtable(_cells(10)), **bad)


def test_write_chunks_temp_table_and_drop(con):
    chunks = (pd.DataFrame({"cost": [float(i)], "origin": [i], "destination": ["p"]}) for i in range(3))
    t = engine.write_chunks(con, chunks, {"origin": "string", "destination": "string", "cost": "float64"})
    assert t.get_name() in _tables(con)
    got = con.execute(t.order_by("cost"))
    assert got["origin"].tolist() == ["0", "1", "2"] and got["cost"].tolist() == [0.0, 1.0, 2.0]
    copy = engine.temp_table(con, t.filter(t.cost > 0))
    assert con.execute(copy.count()) == 2
    for table in (t, copy):
        engine.drop_table(con, table)
        engine.drop_table(con, table)  # twice is fine
    assert not {t.get_name(), copy.get_name()} & _tables(con)


def test_sql_binds_values(con):
    assert engine.sql(con, "SELECT ? || ?, ? + 1", ["it's", " bound", 41]) == [("it's bound", 42)]


# Modules allowed to hold SQL above the engine layer: none.
PENDING: set[str] = set()


def test_indicators_methods_and_results_hold_no_sql():
    """Above the engine layer queries are Ibis: no raw SQL runner, no SQL quoting helpers."""
    offenders = []
    for path in itertools.chain(*(sorted((ROOT / d).glob("*.py")) for d in ("indicators", "methods", "results"))):
        rel = path.relative_to(ROOT).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("engine"):
                names = {a.name for a in node.names} & {"sql", "quote", "literal"}
                if names:
                    offenders.append(f"{rel}:{node.lineno} imports {', '.join(sorted(names))}")
            if isinstance(node, ast.Attribute) and node.attr in ("raw_sql", "sql") and rel not in PENDING:
                offenders.append(f"{rel}:{node.lineno} calls .{node.attr}")
    assert [o for o in offenders if o.split(":")[0] not in PENDING] == []
