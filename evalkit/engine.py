"""The query engine: Ibis over an embedded DuckDB database.

Indicator definitions are Ibis expressions, so they can run on another Ibis backend;
loading and validation use DuckDB directly (file readers, HMAC, regexes). The database
lives in a private temporary directory with a memory limit, so work larger than memory
spills to disk instead of failing.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import weakref

import ibis


def _default_memory_limit() -> str:
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return "4GB"
    return f"{max(1, int(total * 0.6 / 2**30))}GB"


def connect(memory_limit: str | None = None, threads: int | None = None, workdir: str | None = None):
    """An Ibis DuckDB backend on a private on-disk database that is removed when collected.

    >>> con = connect()
    >>> int(con.raw_sql("SELECT 41 + 1").fetchall()[0][0])
    42
    """
    tmp = tempfile.mkdtemp(prefix="evalkit-", dir=workdir)
    os.chmod(tmp, 0o700)  # pseudonymisation happens inside; keep raw input private
    config = {
        "memory_limit": memory_limit or os.environ.get("EVALKIT_MEMORY_LIMIT") or _default_memory_limit(),
        "temp_directory": os.path.join(tmp, "spill"),
        "preserve_insertion_order": False,
    }
    if threads or os.environ.get("EVALKIT_THREADS"):
        config["threads"] = int(threads or os.environ["EVALKIT_THREADS"])
    con = ibis.duckdb.connect(database=os.path.join(tmp, "work.duckdb"), **config)
    weakref.finalize(con, shutil.rmtree, tmp, True)
    return con


def sql(con, query: str) -> list[tuple]:
    """Run SQL on the backend's DuckDB connection and fetch every row."""
    return con.raw_sql(query).fetchall()


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"
