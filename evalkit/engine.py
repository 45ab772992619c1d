"""The query engine: Ibis over an embedded DuckDB database, or over Spark.

Indicator definitions are Ibis expressions, so they can run on another Ibis backend;
loading and validation use DuckDB directly (file readers, HMAC, regexes). The database
lives in a private temporary directory with a memory limit, so work larger than memory
spills to disk instead of failing.

Raw SQL lives here and in the DuckDB-specific loader (:mod:`evalkit.data`), nowhere
else. What indicators and methods need beyond Ibis is a handful of primitives, each a
plain function of the Ibis backend ``con``: :func:`drop_table`, :func:`temp_table`,
:func:`write_chunks`, :func:`grouping_sets` and :func:`sql`. Each works on DuckDB and on
Ibis's pyspark backend (``con.name == "pyspark"``, see :func:`spark_connect`); nothing
above this module knows which engine runs.
Values always travel as bound parameters (``sql(con, query, params)``); only
identifiers, which no SQL engine binds, are spliced in, through :func:`quote`.
"""
from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import tempfile
import uuid
import weakref
from collections.abc import Iterable, Mapping, Sequence

import ibis
import pandas as pd


def _default_memory_limit() -> str:
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return "4GB"
    # half the machine: the limit covers the engine only, and Python's arrays come on top
    # (inequality indices hold ~550 bytes per household), so both fit in the memory
    return f"{max(1, int(total * 0.5 / 2**30))}GB"


MIN_MEMORY = 128 * 2**20  # below this DuckDB cannot even load the synthetic demo
_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def _memory_limit(text: str, name: str) -> str:
    """``text`` if it is an amount of memory evalkit can run in (e.g. ``4GB``, ``512MiB``); else a ParameterError naming ``name``."""
    from evalkit.errors import ParameterError

    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)\s*", str(text), re.IGNORECASE)
    if not found:
        raise ParameterError(f"{name} must be an amount of memory such as 4GB or 512MB, got {text!r}")
    size = float(found.group(1)) * _UNITS[found.group(2).lower()]
    if size < MIN_MEMORY:
        raise ParameterError(f"{name}={text} is too low to run: give at least 128MB")
    return f"{found.group(1)}{found.group(2)}"


def _threads(value, name: str) -> int:
    from evalkit.errors import ParameterError

    try:
        count = int(str(value).strip())
    except ValueError:
        raise ParameterError(f"{name} must be a whole number of threads, got {value!r}") from None
    if count < 1:
        raise ParameterError(f"{name} must be at least 1, got {value!r}")
    return count


def sweep_stale(parent, prefix: str) -> list[str]:
    """Remove ``<prefix><pid>-*`` directories in ``parent`` left by processes that are gone
    (killed before they could clean up); returns what was removed. Directories of live
    processes, of other users and of other shapes are left alone."""
    removed = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return removed
    for entry in entries:
        found = re.fullmatch(re.escape(prefix) + r"(\d+)-.+", entry.name)
        if not found or not entry.is_dir(follow_symlinks=False) or _alive(int(found.group(1))):
            continue
        try:
            if entry.stat(follow_symlinks=False).st_uid != os.getuid():
                continue
        except OSError:
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(entry.path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def connect(memory_limit: str | None = None, threads: int | None = None, workdir: str | None = None):
    """An Ibis DuckDB backend on a private on-disk database that is removed when collected.

    >>> con = connect()
    >>> int(con.raw_sql("SELECT 41 + 1").fetchall()[0][0])
    42
    """
    parent = workdir or tempfile.gettempdir()  # TMPDIR chooses where scratch data goes
    sweep_stale(parent, "evalkit-")
    tmp = tempfile.mkdtemp(prefix=f"evalkit-{os.getpid()}-", dir=parent)
    os.chmod(tmp, 0o700)  # pseudonymisation happens inside; keep raw input private
    config = {
        "memory_limit": _memory_limit(memory_limit, "memory_limit") if memory_limit else
        _memory_limit(os.environ["EVALKIT_MEMORY_LIMIT"], "EVALKIT_MEMORY_LIMIT")
        if os.environ.get("EVALKIT_MEMORY_LIMIT") else _default_memory_limit(),
        "temp_directory": os.path.join(tmp, "spill"),
        "preserve_insertion_order": False,
    }
    if threads or os.environ.get("EVALKIT_THREADS"):
        config["threads"] = _threads(threads or os.environ["EVALKIT_THREADS"],
                                     "threads" if threads else "EVALKIT_THREADS")
    con = ibis.duckdb.connect(database=os.path.join(tmp, "work.duckdb"), **config)
    weakref.finalize(con, shutil.rmtree, tmp, True)
    return con


def resource_error(exc: BaseException):
    """The :class:`evalkit.errors.ResourceError` that ``exc`` amounts to (the engine or Python out of
    memory, a disk full), or None.

    >>> resource_error(MemoryError()).__class__.__name__
    'ResourceError'
    >>> resource_error(ValueError("x")) is None
    True
    """
    import errno

    from evalkit.errors import ResourceError

    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryException" or "Out of Memory Error" in text:
        limit = os.environ.get("EVALKIT_MEMORY_LIMIT")
        limit = f"EVALKIT_MEMORY_LIMIT={limit}" if limit else "EVALKIT_MEMORY_LIMIT unset: half the machine's memory"
        return ResourceError(f"out of memory ({text}; {limit}): raise EVALKIT_MEMORY_LIMIT "
                             "(e.g. EVALKIT_MEMORY_LIMIT=8GB), lower EVALKIT_THREADS, or run on a machine with more "
                             "memory; nothing was written")
    if ((isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT))
            or "No space left on device" in str(exc) or "Disk quota exceeded" in str(exc)):
        where = f" writing {exc.filename}" if isinstance(exc, OSError) and exc.filename else ""
        return ResourceError(f"no space left on the device{where} ({text}): free some space, write the output "
                             "elsewhere, or move scratch data with TMPDIR; nothing half-written was left")
    return None


@contextlib.contextmanager
def resource_errors():
    """Turn running out of memory or disk inside the block into a :class:`evalkit.errors.ResourceError`
    (usable as a decorator too); every other error passes unchanged."""
    from evalkit.errors import EvalkitError

    try:
        yield
    except EvalkitError:
        raise
    except Exception as exc:
        named = resource_error(exc)
        if named is None:
            raise
        raise named from exc


def sql(con, query: str, params: Sequence | Mapping | None = None) -> list[tuple]:
    """Run SQL on the backend's DuckDB connection and fetch every row.

    Values go in ``params``, bound to ``?`` placeholders (a sequence) or ``$name`` ones
    (a mapping, e.g. :class:`Params`; names the query does not use are left out), never
    into the text; only identifiers (quoted with :func:`quote`) are part of the query.

    >>> sql(connect(), "SELECT ? + 1, ? || 'b'", [41, "a"])
    [(42, 'ab')]

    On Spark the same query runs through ``spark.sql`` with the same parameters (``$name``
    is written ``:name`` there); quote identifiers for Spark with backticks.
    """
    if is_spark(con):
        if isinstance(params, Mapping):
            used = set(re.findall(r"\$([A-Za-z_]\w*)", query))
            params = {k: v for k, v in params.items() if k in used}
            query = re.sub(r"\$([A-Za-z_]\w*)", r":\1", query)
        return [tuple(row) for row in con._session.sql(query, args=params).collect()]
    if params is None:
        return con.raw_sql(query).fetchall()
    if isinstance(params, Mapping):
        used = set(re.findall(r"\$([A-Za-z_]\w*)", query))
        params = {k: v for k, v in params.items() if k in used}
    return con.con.execute(query, params).fetchall()


class Params(dict):
    """Named parameters gathered while SQL is written: ``p(value)`` gives its placeholder.

    Equal values share one name. Pass the collection to :func:`sql` with the query.

    >>> p = Params()
    >>> query = f"SELECT list_contains({p(['yes', '1'])}, lower({p('YES')}))"
    >>> query, sql(connect(), query, p)
    ('SELECT list_contains($p0, lower($p1))', [(True,)])
    """

    def __call__(self, value) -> str:
        for name, held in self.items():
            if type(held) is type(value) and held == value:
                return f"${name}"
        name = f"p{len(self)}"
        self[name] = value
        return f"${name}"


def quote(name: str) -> str:
    """An SQL identifier, double-quoted (identifiers cannot be bound as parameters)."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    """An SQL string literal, for the few places DuckDB cannot bind a parameter.

    DuckDB binds parameters in queries and in ``CREATE TABLE ... AS SELECT``, but not in
    ``CREATE VIEW`` or ``SET``; the loader's view of a Parquet file names its path with one.
    """
    return "'" + str(value).replace("'", "''") + "'"


def unique_name(prefix: str) -> str:
    """A fresh table name, e.g. ``_catchment_1a2b3c4d5e6f``."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


# --- primitives: what indicators and methods need beyond Ibis --------------------------
# Each takes the Ibis backend as ``con``. Another backend supplies its own versions.

def drop_table(con, table: str | ibis.Table) -> None:
    """Drop a table (or view) made during a run, by name or as an Ibis table, if it still exists.

    Ibis's own ``con.drop_table`` emits SQL that DuckDB 2 rejects (Ibis 12 with the
    installed sqlglot), hence SQL here. On Spark the table is a temporary view, dropped
    (and uncached) with ``spark.catalog.dropTempView``.
    """
    name = table if isinstance(table, str) else table.op().name
    if is_spark(con):
        con._session.catalog.dropTempView(name)
        return
    for kind in ("TABLE", "VIEW"):
        try:
            con.raw_sql(f"DROP {kind} IF EXISTS {quote(name)}")
            return
        except Exception as exc:  # DuckDB refuses DROP TABLE on a view and the reverse
            if "Catalog Error" not in str(exc) and "is of type" not in str(exc):
                raise


def temp_table(con, expr: ibis.Table, prefix: str = "_scratch") -> ibis.Table:
    """Materialise ``expr`` in a scratch table of the engine under a fresh name.

    Returns the new table (its name is ``.get_name()``); the caller drops it with
    :func:`drop_table` when done. Used to fix a join order the optimiser would get
    wrong, and for tables several queries share. On DuckDB the table lives in the run's
    private database file, not among DuckDB's temporary tables: those are kept
    uncompressed and spill uncompressed, which made the outcomes family at 2M households
    (1 GB limit) use 5.3 GB of scratch disk instead of 2.1 GB. On Spark (whose Ibis backend has no
    temporary tables) a temporary view, cached and computed at once, so later queries
    read the cached rows (memory, then the executors' disks) instead of recomputing it.
    """
    name = unique_name(prefix)
    if is_spark(con):
        con.create_view(name, expr)  # registers the expression's in-memory tables too
        con._session.catalog.cacheTable(name)
        con._session.table(name).count()  # cacheTable is lazy: fill the cache now
        return con.table(name)
    con.create_table(name, expr)
    return con.table(name)


def write_chunks(con, chunks: Iterable[pd.DataFrame], schema: Mapping[str, str], name: str | None = None) -> ibis.Table:
    """A scratch table filled from an iterator of DataFrames, holding one chunk in memory at a time.

    ``schema`` maps column names to Ibis types (``{"origin": "string", "cost": "float64"}``);
    chunks are cast to it. Returns the table (named ``name``, else a fresh name); drop it
    with :func:`drop_table`. DuckDB appends each chunk from Arrow without a copy through
    Python. On Spark each chunk becomes a Parquet file in the connection's staging
    directory (:func:`spark_connect`), read back as one temporary view.
    """
    import pyarrow as pa

    ibis_schema = ibis.schema(dict(schema))
    arrow_schema = ibis_schema.to_pyarrow()
    name = name or unique_name("_chunks")
    batches = (pa.Table.from_pandas(chunk[list(ibis_schema.names)], preserve_index=False).cast(arrow_schema)
               for chunk in chunks)
    if is_spark(con):
        return _spark_write_chunks(con, batches, arrow_schema, name)
    con.create_table(name, schema=ibis_schema)  # in the database file, compressed (see temp_table)
    raw = con.con  # the DuckDB connection
    view = unique_name("_chunk")
    for batch in batches:
        raw.register(view, batch)
        try:
            raw.execute(f"INSERT INTO {quote(name)} SELECT * FROM {quote(view)}")
        finally:
            raw.unregister(view)
    return con.table(name)


def grouping_sets(con, table: ibis.Table, keys: Sequence[str], sets: Sequence[Sequence[str]],
                  aggregates: Mapping[str, str]) -> pd.DataFrame:
    """Aggregate ``table`` over several groupings of ``keys`` in one scan (SQL ``GROUPING SETS``).

    Ibis has no GROUPING SETS or ROLLUP; this wraps the compiled Ibis expression (a view
    of it, which also registers its in-memory tables). ``sets`` lists subsets of
    ``keys`` (``[]`` is the grand total; each key is in at least one set);
    ``aggregates`` maps each output column to ``"count(*)"``, ``"count(col)"``,
    ``"sum(col)"``, ``"min(col)"``, ``"max(col)"`` or ``"avg(col)"`` over a column of
    ``table`` (derive products and the like with ``mutate`` first). Returns one row per
    set and group: the keys (NULL where a key is not in the row's set; ``grouping_set``
    keeps that apart from a NULL in the data), the aggregates, and ``grouping_set``, the
    position in ``sets`` of the set the row belongs to. The same rows as one
    ``group_by`` per set, concatenated, from one scan of the input.

    >>> t = ibis.memtable(pd.DataFrame({"r": ["a", "a", "b"], "g": ["x", "y", "x"], "v": [1, 2, 3]}))
    >>> out = grouping_sets(connect(), t, ["r", "g"], [["r", "g"], ["r"], []], {"n": "count(*)", "total": "sum(v)"})
    >>> print(out.sort_values(["grouping_set", "r", "g"]).to_string(index=False))
      r   g  n  total  grouping_set
      a   x  1      1             0
      a   y  1      2             0
      b   x  1      3             0
      a NaN  2      3             1
      b NaN  1      3             1
    NaN NaN  3      6             2

    DuckDB and Spark SQL both have ``GROUPING SETS`` and ``GROUPING(col)``, so the two
    engines differ only in quoting and in running the query.
    """
    keys, sets = list(keys), [list(s) for s in sets]
    columns = set(table.columns)
    if len(set(keys)) != len(keys) or not set(keys) <= columns:
        raise ValueError(f"keys must be distinct columns of the table, got {keys}")
    masks = []
    for s in sets:
        if not set(s) <= set(keys) or len(set(s)) != len(s):
            raise ValueError(f"every grouping set must be distinct names among the keys {keys}, got {s}")
        # GROUPING(k) is 1 where k is aggregated away; the bits, first key highest, name the set
        masks.append(sum(1 << (len(keys) - 1 - i) for i, k in enumerate(keys) if k not in s))
    if len(set(masks)) != len(masks) or not sets:
        raise ValueError(f"grouping sets must be distinct and at least one, got {sets}")
    if unused := [k for k in keys if not any(k in s for s in sets)]:
        raise ValueError(f"key(s) {', '.join(unused)} in no grouping set; leave them out of the keys")
    outputs = [*keys, *aggregates, "grouping_set"]
    if len(set(outputs)) != len(outputs):
        raise ValueError("aggregate names must differ from the keys and from 'grouping_set'")
    ident = _quoting(con)
    selects = [ident(k) for k in keys]
    schema = table.schema()
    selects += [f"{_aggregate(spec, schema, ident)} AS {ident(name)}" for name, spec in aggregates.items()]
    bits = [f"GROUPING({ident(k)})" for k in keys]
    selects.append(f"({' + '.join(f'{b} * {1 << (len(keys) - 1 - i)}' for i, b in enumerate(bits))}) AS _mask"
                   if keys else "0 AS _mask")
    groups = ", ".join("(" + ", ".join(ident(k) for k in s) + ")" for s in sets)
    view = unique_name("_grouping_sets")
    con.create_view(view, table)  # compiles the Ibis expression and registers its in-memory tables
    try:
        query = f"SELECT {', '.join(selects)} FROM {ident(view)} GROUP BY GROUPING SETS ({groups})"
        frame = con._session.sql(query).toPandas() if is_spark(con) else con.con.sql(query).to_arrow_table().to_pandas()
    finally:
        drop_table(con, view)
    frame["grouping_set"] = frame.pop("_mask").map({m: i for i, m in enumerate(masks)}).astype("int64")
    return frame


_AGGREGATES = {"count", "sum", "min", "max", "avg"}


def _aggregate(spec: str, schema: ibis.Schema, quote=quote) -> str:
    """SQL for ``"sum(col)"`` and its kin, checked against the table's columns.

    Counts and sums of whole numbers are BIGINT, as Ibis makes them (DuckDB's own sum is HUGEINT).
    """
    head, _, rest = spec.strip().partition("(")
    func, arg = head.strip().lower(), rest.removesuffix(")").strip()
    if func not in _AGGREGATES or not rest.endswith(")"):
        raise ValueError(f"aggregate {spec!r}: use one of {', '.join(f'{f}(col)' for f in sorted(_AGGREGATES))}")
    if arg == "*" and func == "count":
        return "count(*)"
    if arg not in schema:
        raise ValueError(f"aggregate {spec!r}: no column {arg!r} in the table")
    if func == "sum" and schema[arg].is_integer():
        return f"CAST(sum({quote(arg)}) AS BIGINT)"
    return f"{func}({quote(arg)})"


# --- Spark: the same primitives on Ibis's pyspark backend --------------------------------
# What runs where: loading, validation and pseudonymisation stay in DuckDB on the driver;
# the typed tables go to Parquet in a staging directory (shared storage on a cluster) that
# Spark reads; every indicator's aggregation then runs on Spark through the same Ibis
# expressions, and the small aggregated tables come back to Python for intervals and
# reports. Spatial searches (k-d trees) run on the driver (evalkit.methods.spatial).

#: Session settings evalkit needs for DuckDB's results: UTC (dates are never shifted),
#: Arrow for moving frames between Python and the JVM, ANSI SQL (an overflowing integer
#: or an impossible cast is an error, as in DuckDB, not a silent NULL or wrap-around).
SPARK_SETTINGS = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.ansi.enabled": "true",
}


def is_spark(con) -> bool:
    """True for Ibis's pyspark backend (the primitives above dispatch on it)."""
    return getattr(con, "name", None) == "pyspark"


def spark_session(master: str = "local[2]", *, shuffle_partitions: int | None = None, ui: bool = False,
                  driver_memory: str | None = None):
    """A SparkSession with :data:`SPARK_SETTINGS` (the active one, reconfigured, if there is one).

    ``master`` is ``local[N]`` (N cores of this machine) or a cluster's URL
    (``spark://host:7077``, ``yarn``, ``k8s://...``). ``driver_memory`` (e.g. ``4g``; default
    ``EVALKIT_MEMORY_LIMIT`` when set) is the heap of the driver, where a local master also
    runs its executors; it applies only when this call starts the JVM. ``shuffle_partitions``
    defaults to 2N on ``local[N]`` (3.5x faster than Spark's 200 on a small package), to
    Spark's own setting on a cluster. Needs the ``spark``
    extra (``pip install 'evalkit[spark]'``) and Java 17.
    """
    from pyspark.sql import SparkSession

    builder = (SparkSession.builder.master(master).appName("evalkit").config("spark.ui.enabled", str(ui).lower())
               .config("spark.ui.showConsoleProgress", "false"))
    memory = driver_memory or (_spark_memory(os.environ["EVALKIT_MEMORY_LIMIT"]) if os.environ.get("EVALKIT_MEMORY_LIMIT")
                               else None)
    if memory:
        builder = builder.config("spark.driver.memory", memory)
    found = re.fullmatch(r"local\[(\d+)\]", master)
    if shuffle_partitions is None and found:  # Spark's 200 partitions are 200 tasks per query on a few cores
        shuffle_partitions = 2 * int(found.group(1))
    if shuffle_partitions:
        builder = builder.config("spark.sql.shuffle.partitions", str(int(shuffle_partitions)))
    for key, value in SPARK_SETTINGS.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    for key, value in SPARK_SETTINGS.items():  # an already running session keeps its own otherwise
        session.conf.set(key, value)
    session.sparkContext.setLogLevel("ERROR")
    return session


def _spark_memory(text: str) -> str:
    """EVALKIT_MEMORY_LIMIT (``4GB``, ``512MiB``) as a JVM size in megabytes (``4000m``)."""
    amount = _memory_limit(text, "EVALKIT_MEMORY_LIMIT")
    found = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]i?B|B)", amount, re.IGNORECASE)
    return f"{int(float(found.group(1)) * _UNITS[found.group(2).lower()] / 2**20)}m"


def stop_spark() -> None:
    """Stop this process's SparkSession and wait for its JVM to end.

    PySpark leaves the JVM to notice on its own that Python is gone; waiting for it here
    means nothing outlives the command and the JVM's CPU and memory count as this
    process's children (``/usr/bin/time``, ``bench/bench_spark.py``). No-op without Spark.
    """
    import sys

    if "pyspark" not in sys.modules:
        return
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    if (session := SparkSession.getActiveSession()) is not None:
        session.stop()
    gateway, SparkContext._gateway, SparkContext._jvm = SparkContext._gateway, None, None
    process = getattr(gateway, "proc", None)
    if gateway is not None:
        gateway.shutdown()
    if process is not None:
        process.stdin.close()  # the JVM ends when its stdin closes
        process.wait(timeout=120)


def spark_connect(session, staging: str | os.PathLike | None = None):
    """An Ibis pyspark backend on ``session``, with a private staging directory.

    The directory (``evalkit-<pid>-spark-*``, mode 0700) is made in ``staging`` (default:
    the temporary directory, enough for a local master; on a cluster give shared storage
    that the driver writes and every executor reads) and removed with the backend. It
    holds the package's tables as Parquet (:func:`stage_table`) and the chunks of
    :func:`write_chunks`: pseudonymised data, no names or identity numbers.
    """
    parent = os.fspath(staging) if staging is not None else tempfile.gettempdir()
    os.makedirs(parent, exist_ok=True)
    sweep_stale(parent, "evalkit-")
    directory = tempfile.mkdtemp(prefix=f"evalkit-{os.getpid()}-spark-", dir=parent)
    os.chmod(directory, 0o700)
    con = ibis.pyspark.connect(session)
    import pyspark

    if int(pyspark.__version__.split(".")[0]) >= 4:  # createDataFrame reads Arrow tables from PySpark 4
        con._register_in_memory_table = functools.partial(_register_memtable, con)
    for key, value in SPARK_SETTINGS.items():
        session.conf.set(key, value)
    _STAGING[con] = directory
    weakref.finalize(con, shutil.rmtree, directory, True)
    return con


_STAGING: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # Spark backend -> its staging directory


def stage_table(source, table: ibis.Table, spark, name: str) -> ibis.Table:
    """Copy ``table`` of the DuckDB backend ``source`` to the Spark backend ``spark``: DuckDB
    writes it as Parquet into the staging directory (streaming, out of core) and Spark reads
    the file as the temporary view ``name``."""
    path = os.path.join(_STAGING[spark], f"{name}.parquet")
    source.to_parquet(table, path)
    spark._session.read.parquet(path).createOrReplaceTempView(name)
    return spark.table(name)


def _spark_write_chunks(con, batches, arrow_schema, name: str) -> ibis.Table:
    import pyarrow.parquet as pq

    directory = os.path.join(_STAGING[con], name)
    os.makedirs(directory)
    pq.write_table(arrow_schema.empty_table(), os.path.join(directory, "part-0.parquet"))  # the schema, rows or none
    for number, batch in enumerate(batches, start=1):
        pq.write_table(batch, os.path.join(directory, f"part-{number}.parquet"))
    con._session.read.parquet(directory).createOrReplaceTempView(name)
    return con.table(name)


def _register_memtable(con, op) -> None:
    """Ibis's registration of an in-memory table on Spark, through Arrow.

    Ibis hands Spark a pandas frame, whose Arrow-backed text columns (pandas 3) PySpark's
    Arrow path cannot read: it falls back to converting row by row. An Arrow table goes
    straight in (PySpark 4); older PySpark keeps Ibis's way.
    """
    from ibis.backends.pyspark.datatypes import PySparkSchema

    data = op.data.to_pyarrow(op.schema)
    frame = con._session.createDataFrame(data, schema=PySparkSchema.from_ibis(op.schema))
    frame.createOrReplaceTempView(op.name)


def _quoting(con):
    """The identifier quoting of the backend's SQL: backticks on Spark, double quotes on DuckDB."""
    if is_spark(con):
        return lambda name: "`" + name.replace("`", "``") + "`"
    return quote
