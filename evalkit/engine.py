"""The query engine: Ibis over an embedded DuckDB database.

Indicator definitions are Ibis expressions, so they can run on another Ibis backend;
loading and validation use DuckDB directly (file readers, HMAC, regexes). The database
lives in a private temporary directory with a memory limit, so work larger than memory
spills to disk instead of failing.

Raw SQL lives here and in the DuckDB-specific loader (:mod:`evalkit.data`), nowhere
else. What indicators and methods need beyond Ibis is a handful of primitives, each a
plain function of the Ibis backend ``con``: :func:`drop_table`, :func:`temp_table`,
:func:`write_chunks` and :func:`grouping_sets`. A second backend (PySpark, say)
provides the same functions for its own connection; nothing above this module changes.
Values always travel as bound parameters (``sql(con, query, params)``); only
identifiers, which no SQL engine binds, are spliced in, through :func:`quote`.
"""
from __future__ import annotations

import contextlib
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
    """
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

    Pass the table itself rather than ``table.get_name()``: Ibis names a table made with
    ``create_table(..., temp=True)`` ``"temp.main.<name>"``, which is no table's name.
    Ibis's own ``con.drop_table`` emits SQL that DuckDB 2 rejects (Ibis 12 with the
    installed sqlglot), hence SQL here. On PySpark: ``spark.catalog.dropTempView(name)``.
    """
    name = table if isinstance(table, str) else table.op().name
    for kind in ("TABLE", "VIEW"):
        try:
            con.raw_sql(f"DROP {kind} IF EXISTS {quote(name)}")
            return
        except Exception as exc:  # DuckDB refuses DROP TABLE on a view and the reverse
            if "Catalog Error" not in str(exc) and "is of type" not in str(exc):
                raise


def temp_table(con, expr: ibis.Table, prefix: str = "_scratch") -> ibis.Table:
    """Materialise ``expr`` in a temporary table of the engine under a fresh name.

    Returns the new table (its name is ``.get_name()``); the caller drops it with
    :func:`drop_table` when done. Used to fix a join order the optimiser would get
    wrong, and for tables several queries share. Through Ibis, so any backend with
    temporary tables works (PySpark: a cached temporary view).
    """
    name = unique_name(prefix)
    con.create_table(name, expr, temp=True)
    return con.table(name)  # plain name: get_name() of create_table's result is "temp.main.<name>"


def write_chunks(con, chunks: Iterable[pd.DataFrame], schema: Mapping[str, str], name: str | None = None) -> ibis.Table:
    """A temporary table filled from an iterator of DataFrames, holding one chunk in memory at a time.

    ``schema`` maps column names to Ibis types (``{"origin": "string", "cost": "float64"}``);
    chunks are cast to it. Returns the table (named ``name``, else a fresh name); drop it
    with :func:`drop_table`. DuckDB appends each chunk from Arrow without a copy through
    Python. PySpark: write the chunks to Parquet and read them back, or union
    ``createDataFrame`` of each.
    """
    import pyarrow as pa

    ibis_schema = ibis.schema(dict(schema))
    arrow_schema = ibis_schema.to_pyarrow()
    name = name or unique_name("_chunks")
    con.create_table(name, schema=ibis_schema, temp=True)
    raw = con.con  # the DuckDB connection
    view = unique_name("_chunk")
    for chunk in chunks:
        batch = pa.Table.from_pandas(chunk[list(ibis_schema.names)], preserve_index=False).cast(arrow_schema)
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

    DuckDB and Spark SQL both have ``GROUPING SETS`` and ``GROUPING(col)``, so a Spark
    version differs only in running the query.
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
    selects = [quote(k) for k in keys]
    schema = table.schema()
    selects += [f"{_aggregate(spec, schema)} AS {quote(name)}" for name, spec in aggregates.items()]
    bits = [f"GROUPING({quote(k)})" for k in keys]
    selects.append(f"({' + '.join(f'{b} * {1 << (len(keys) - 1 - i)}' for i, b in enumerate(bits))}) AS _mask"
                   if keys else "0 AS _mask")
    groups = ", ".join("(" + ", ".join(quote(k) for k in s) + ")" for s in sets)
    view = unique_name("_grouping_sets")
    con.create_view(view, table)  # compiles the Ibis expression and registers its in-memory tables
    try:
        query = f"SELECT {', '.join(selects)} FROM {quote(view)} GROUP BY GROUPING SETS ({groups})"
        frame = con.con.sql(query).to_arrow_table().to_pandas()
    finally:
        drop_table(con, view)
    frame["grouping_set"] = frame.pop("_mask").map({m: i for i, m in enumerate(masks)}).astype("int64")
    return frame


_AGGREGATES = {"count", "sum", "min", "max", "avg"}


def _aggregate(spec: str, schema: ibis.Schema) -> str:
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
