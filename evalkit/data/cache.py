"""The package cache: a CSV or Excel package's typed, pseudonymised tables kept as Parquet; a
Parquet package's validation report.

Parsing text (dates in seven formats, numbers, spellings of enumerations) is the slow part of
loading a CSV or Excel package; a package read once is read again from its converted copy,
whose tables are views on the cached files. A Parquet package's typed tables are views on its
own files already; checking them is the slow part, and a second load skips the checks.
The copy lives in a user cache, never inside the package (packages may be read-only, and
reads stay inside them): ``$EVALKIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/evalkit``, else
``~/.cache/evalkit``; ``EVALKIT_CACHE_DIR=off`` turns it off.

An entry is keyed by everything its tables and report depend on: the data fingerprint
(:func:`evalkit.data.io.directory_sha256`), the evalkit version and the loader's code, the
schema, the engine's version, the load options (frequency, earliest date, extraction date)
and a digest of the pseudonym key (never the key itself). A changed file, key or option
misses. Without a configured key (a random key per process) nothing is cached: its
pseudonyms could never be used again. An entry holds the tables (``<table>.parquet``; none
for a Parquet package) and ``entry.json`` (the validation report, the periods); it is
written to a private temporary directory and renamed into place, so a reader sees a whole entry or none. Only packages
that validate without errors are cached. The tables hold pseudonyms, not identity numbers
or names; the cache directories are private to the user (mode 700) all the same.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path

from evalkit.engine import literal, quote, sql

#: The modules whose code decides what a load gives; their source is part of the key.
_LOADER_MODULES = ("package", "io", "schema", "privacy", "periods", "validation", "workdays", "cache")
FORMAT = 1  # the layout of an entry


def cache_dir() -> Path | None:
    """The cache's root directory, or None when caching is off (``EVALKIT_CACHE_DIR=off``)."""
    value = os.environ.get("EVALKIT_CACHE_DIR")
    if value is not None:
        if value.strip().lower() in ("", "off", "0", "false", "no", "none"):
            return None
        return Path(value).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "evalkit"


def _code_digest() -> str:
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for name in _LOADER_MODULES:
        digest.update((here / f"{name}.py").read_bytes())
    return digest.hexdigest()


def entry_key(fingerprint: str, key: bytes, options: dict) -> str:
    """The entry's name: a digest of everything its content depends on (see the module doc)."""
    import duckdb

    from evalkit import __version__
    from evalkit.data import workdays
    from evalkit.data.package import DATE_FORMATS
    from evalkit.data.schema import FALSE_SPELLINGS, TABLES, TRUE_SPELLINGS

    parts = {
        "format": FORMAT,
        "data": fingerprint,
        "evalkit": __version__,
        "code": _code_digest(),
        "schema": hashlib.sha256(repr((TABLES, TRUE_SPELLINGS, FALSE_SPELLINGS, DATE_FORMATS)).encode()).hexdigest(),
        "duckdb": duckdb.__version__,
        "calendar": [workdays.COVERED_YEARS.start, workdays.COVERED_YEARS.stop],
        "key": hashlib.sha256(b"evalkit pseudonym key digest\0" + key).hexdigest(),
        "options": options,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class Entry:
    """One package's converted copy: :meth:`load` it, or :meth:`save` it after a load."""

    def __init__(self, root: Path, name: str):
        self.root, self.name = root, name
        self.path = root / "packages" / name

    @classmethod
    def find(cls, directory: Path, fingerprint: str, key: bytes, options: dict) -> Entry | None:
        """The entry for a package, or None when caching is off or would be written inside the package."""
        root = cache_dir()
        if root is None:
            return None
        resolved = root.resolve()
        if resolved.is_relative_to(Path(directory).resolve()):  # never inside the package
            return None
        return cls(resolved, entry_key(fingerprint, key, options))

    def load(self, con) -> dict | None:
        """Create the cached tables in ``con``; the entry's ``entry.json`` content, or None on a miss."""
        meta_path = self.path / "entry.json"
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        created = []
        try:
            for name in meta["tables"]:
                sql(con, f"CREATE VIEW {quote(name)} AS SELECT * FROM read_parquet({literal(str(self.path / f'{name}.parquet'))})")
                created.append(name)
        except Exception:  # a damaged entry is a miss; the package is read again
            for name in created:
                sql(con, f"DROP VIEW IF EXISTS {quote(name)}")
            return None
        return meta

    def save(self, con, tables: list[str], report, periods: list[str]) -> None:
        """Write the tables and the report; any failure leaves the cache as it was."""
        packages = self.root / "packages"
        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)  # modes apply to what is created here
            packages.mkdir(mode=0o700, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{self.name[:16]}-", dir=packages))  # mode 700
        except OSError:
            return
        try:
            for name in tables:
                sql(con, f"COPY {quote(name)} TO {literal(str(tmp / f'{name}.parquet'))} (FORMAT parquet, COMPRESSION zstd)")
            meta = {"tables": tables, "periods": periods, "problems": [asdict(p) for p in report.problems]}
            (tmp / "entry.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
            try:
                os.rename(tmp, self.path)
            except OSError:  # another process cached it first
                pass
        except Exception:  # a full disk, a read-only cache: loading goes on without one
            pass
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
