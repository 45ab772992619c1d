"""Spark gives DuckDB's numbers: every indicator on the same package, computed on both engines.

Loading, validation and pseudonymisation run in DuckDB; :meth:`DataPackage.on_spark` stages
the tables as Parquet for a local Spark (two cores), where every indicator's aggregation
runs through the same Ibis expressions. Each row (indicator, service type, region, period,
group) must be there on both, with value, numerator, denominator, standard error, degrees
of freedom and interval equal to 1e-9 relative, and the same suppression and notes.
Slow (a JVM and many small Spark jobs), but it runs wherever the ``spark`` extra and Java
are installed, as ``make test`` installs them.
"""
from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyspark", reason="the spark extra is not installed (pip install -e '.[test,spark]')")
if not shutil.which("java"):
    pytest.skip("Java 17 is not installed (make java, or apt-get install openjdk-17-jre-headless)", allow_module_level=True)

from conftest import write_tiny  # noqa: E402
from test_access_spatial import located  # noqa: E402, F401 - a fixture
from test_coordination import loop  # noqa: E402, F401 - a fixture
from test_fairness_indicators import hand as fairness_hand  # noqa: E402, F401 - a fixture
from test_outcomes import write_hand as write_outcomes  # noqa: E402

import evalkit  # noqa: E402
from evalkit import engine  # noqa: E402
from evalkit.data.synth import generate  # noqa: E402

KEYS = ["indicator", "service_type", "region", "period", "group_by", "group"]
NUMBERS = ["value", "numerator", "denominator", "se", "df", "ci_low", "ci_high"]
SAME = ["n", "n_excluded", "n_censored", "suppressed", "incomplete", "note", "interval", "family"]
RELATIVE = 1e-9


@pytest.fixture(scope="session")
def spark():
    """One local Spark for the whole run: two cores, four shuffle partitions, no UI."""
    session = engine.spark_session("local[2]", shuffle_partitions=4)
    yield session
    session.stop()


def assert_same_results(duck, spark_results) -> None:
    """Same rows, in the same order, with the same numbers (to 1e-9 relative) and the same suppression."""
    a, b = duck.table, spark_results.table
    assert duck.skipped == spark_results.skipped
    assert len(a) == len(b)
    pd.testing.assert_frame_equal(a[KEYS].reset_index(drop=True), b[KEYS].reset_index(drop=True))
    for column in NUMBERS:
        x, y = a[column].to_numpy(float), b[column].to_numpy(float)
        close = np.isclose(x, y, rtol=RELATIVE, atol=0) | (np.isnan(x) & np.isnan(y))
        assert close.all(), (column, a.loc[~close, KEYS + [column]].assign(spark=y[~close]).head(10))
    for column in SAME:
        pd.testing.assert_series_equal(a[column].reset_index(drop=True), b[column].reset_index(drop=True),
                                       check_dtype=False, obj=column)
    if duck.covariances is not None:
        cov_a, cov_b = duck.covariances, spark_results.covariances
        assert len(cov_a) == len(cov_b)
        x, y = cov_a["cov"].to_numpy(float), cov_b["cov"].to_numpy(float)
        scale = np.nanmax(np.abs(x)) if len(x) else 0.0
        assert np.allclose(x, y, rtol=RELATIVE, atol=RELATIVE * scale, equal_nan=True)


def both(package, spark, **options):
    """The results of ``evalkit.compute(package, **options)`` on DuckDB and on Spark."""
    return evalkit.compute(package, **options), evalkit.compute(package.on_spark(spark), **options)


@pytest.fixture(scope="module")
def synthetic_small(tmp_path_factory):
    out = tmp_path_factory.mktemp("spark") / "pkg"
    generate(out, households=2_000, regions=3, periods=4, seed=5)
    return evalkit.load(out)


def test_every_indicator_on_the_synthetic_package(synthetic_small, spark):
    duck, on_spark = both(synthetic_small, spark, by=["hukou", "income_quintile"])
    assert len(duck.table) > 10_000 and not duck.skipped  # every indicator ran
    assert_same_results(duck, on_spark)


# --- the hand-made packages of the family tests -----------------------------------------

def test_tiny_package(tmp_path, spark):
    duck, on_spark = both(evalkit.load(write_tiny(tmp_path / "tiny")), spark, by=["hukou", "urban"], min_cell=1)
    assert_same_results(duck, on_spark)


def test_coordination_package(loop, spark):  # noqa: F811 - the imported fixture
    package, duck = loop  # computed with family="coordination", min_cell=1
    assert_same_results(duck, evalkit.compute(package.on_spark(spark), family="coordination", min_cell=1))


def test_located_package(located, spark):  # noqa: F811 - the imported fixture
    """Nearest points and catchments: k-d trees on the driver, sums on Spark."""
    duck, on_spark = both(evalkit.load(located), spark, family="access", min_cell=1)
    assert duck.overall("access.catchment_access")["value"].notna().any()
    assert_same_results(duck, on_spark)


def test_fairness_package(fairness_hand, spark):  # noqa: F811 - the imported fixture
    """Income quintiles (running sums over incomes per region) and the inequality measures."""
    duck, on_spark = both(fairness_hand, spark, family="fairness", by=["income_quintile"], min_cell=1)
    assert_same_results(duck, on_spark)


def test_outcomes_package(tmp_path, spark):
    duck, on_spark = both(evalkit.load(write_outcomes(tmp_path / "outcomes")), spark, family="outcomes", min_cell=0)
    assert_same_results(duck, on_spark)


# --- the engine primitives and what reads the results -------------------------------------

def test_grouping_sets_on_spark(spark):
    import ibis

    frame = pd.DataFrame({"r": ["a", "a", "b"], "g": ["x", "y", "x"], "v": [1, 2, 3]})
    con = engine.spark_connect(spark)
    sets = [["r", "g"], ["r"], []]
    aggregates = {"n": "count(*)", "total": "sum(v)"}
    on_spark = engine.grouping_sets(con, ibis.memtable(frame), ["r", "g"], sets, aggregates)
    on_duck = engine.grouping_sets(engine.connect(), ibis.memtable(frame), ["r", "g"], sets, aggregates)
    order = ["grouping_set", "r", "g"]
    pd.testing.assert_frame_equal(on_spark.sort_values(order, ignore_index=True)[on_duck.columns],
                                  on_duck.sort_values(order, ignore_index=True), check_dtype=False)


def test_temp_tables_and_chunks_on_spark(spark):
    import ibis

    con = engine.spark_connect(spark)
    chunks = [pd.DataFrame({"origin": ["a", "b"], "cost": [1.5, 2.0]}), pd.DataFrame({"origin": ["c"], "cost": [3.0]})]
    written = engine.write_chunks(con, iter(chunks), {"origin": "string", "cost": "float64"})
    kept = engine.temp_table(con, written.filter(written.cost > 1.6))
    assert sorted(con.execute(kept)["origin"]) == ["b", "c"]
    assert engine.sql(con, "SELECT count(*) FROM " + kept.get_name() + " WHERE cost > $least", {"least": 2.5}) == [(1,)]
    engine.drop_table(con, kept)
    engine.drop_table(con, written)
    assert not spark.catalog.tableExists(kept.get_name())
    assert con.execute(ibis.memtable(pd.DataFrame({"s": ["文本", None]})))["s"].tolist()[0] == "文本"


def test_reports_read_results_computed_on_spark(tmp_path, spark):
    """The results file a report reads is the same whichever engine computed it."""
    from evalkit.report.data import ReportData, load_data, save_data
    from evalkit.report.scorecard import default_targets, scorecard

    package = evalkit.load(write_tiny(tmp_path / "tiny"))
    read = {}
    for name, results in zip(("duckdb", "spark"), both(package, spark, min_cell=1)):
        data = ReportData(table=results.published(), regions=package.regions, periods=package.periods,
                          package=package.name, frequency=package.frequency, data_hash="0", min_cell=1,
                          skipped=results.skipped, covariances=results.covariances)
        read[name] = load_data(save_data(data, tmp_path / f"{name}.parquet"))
    duck, spark_data = read["duckdb"], read["spark"]
    pd.testing.assert_frame_equal(duck.table, spark_data.table, check_exact=False, rtol=RELATIVE)
    period = package.periods[-1]
    cards = [scorecard(d.table, default_targets(), "P", period) for d in (duck, spark_data)]
    pd.testing.assert_frame_equal(*cards, check_exact=False, rtol=RELATIVE)


def _children_cpu() -> float:
    """CPU seconds of this process's waited-for children and their waited-for descendants."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def test_command_line_on_spark(tmp_path):
    """`evalkit indicators --engine spark` writes DuckDB's table, and waits for its JVM before it exits."""
    import os
    import subprocess
    import sys

    package = write_tiny(tmp_path / "tiny")
    env = {**os.environ, "EVALKIT_CACHE_DIR": "off", "EVALKIT_PSEUDONYM_KEY": "0123456789abcdef0123456789abcdef"}
    tables, cpu = {}, {}
    for name in ("duckdb", "spark"):
        out = tmp_path / f"{name}.csv"
        before = _children_cpu()
        done = subprocess.run([sys.executable, "-m", "evalkit.cli", "indicators", str(package), "--quiet",
                               "--indicator", "access.accessibility_rate", "--min-cell", "1", "--engine", name,
                               "--out", str(out)], env=env, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stderr[-2000:]
        cpu[name] = _children_cpu() - before
        tables[name] = pd.read_csv(out)
    pd.testing.assert_frame_equal(tables["duckdb"], tables["spark"], check_exact=False, rtol=RELATIVE)
    # The JVM is the command's child: counted in its CPU only if the command waited for it
    # (the Python side of a Spark run costs about what a DuckDB run does; the JVM several times that).
    assert cpu["spark"] > 3 * cpu["duckdb"], cpu
