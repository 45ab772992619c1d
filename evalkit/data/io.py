"""Files in and out: reading a data package's files into the engine as raw text tables,
and writing outputs atomically and safely for spreadsheets.

Every file becomes a DuckDB table plus ``_row`` (the 1-based data row), so that types are
parsed and checked in one place and row numbers can be reported. CSV and Excel columns
are VARCHAR; a Parquet column keeps its own type when the loader can use it as is (named
in ``native``: dates stored as dates, numbers as numbers), the others become VARCHAR and
take the text route. CSV may be UTF-8 (with or without BOM) or GBK/GB18030, one encoding
per file (a file mixing them is an error naming its first line that is not UTF-8). Excel
reads the resource's ``sheet`` or the first sheet (:func:`_read_excel`: title rows skipped,
cells stored as numbers counted so identity numbers can be refused).
Reads never leave the package directory (:func:`inside`).

Every CSV evalkit writes goes through :func:`write_csv`: a text cell beginning with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return is prefixed with a single quote, so a
spreadsheet shows it as text instead of running it (the OWASP rule against CSV
injection); numbers stay numbers (a negative number is not a formula).
"""
from __future__ import annotations

import codecs
import hashlib
import json
import numbers
import os
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from evalkit.engine import literal, quote, resource_error, sql
from evalkit.data.schema import TABLES
from evalkit.errors import EvalkitError, OutputError, PackageError

SUFFIXES = (".parquet", ".csv", ".xlsx", ".xls")


@dataclass
class SourceFile:
    table: str
    path: Path
    sheet: str | None = None  #: Excel: the sheet to read (``"sheet"`` on the resource), else the first
    skipped: int = 0  #: Excel: rows above the header (a title) that were skipped
    #: what reading found worth saying: (severity, raw header or "", check, count, expected)
    notes: list = field(default_factory=list)
    #: Excel: raw header -> number of cells stored as numbers (not text)
    numeric: dict = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.path.suffix.lower().lstrip(".")

    def where(self, row: int) -> str:
        """How a user finds a data row in this file: spreadsheet line or Parquet row."""
        return f"row {row}" if self.kind == "parquet" else f"line {row + 1 + self.skipped}"


def read_descriptor(directory: Path) -> dict:
    """The optional ``datapackage.json`` (name, frequency, crs, extracted_on, resources)."""
    path = directory / "datapackage.json"
    if not path.exists():
        return {}
    try:
        meta = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise PackageError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    except UnicodeDecodeError as exc:
        raise PackageError(f"{path}: not UTF-8 text (byte {exc.start + 1}); save it as UTF-8 JSON") from None
    except (OSError, RecursionError) as exc:
        raise PackageError(f"{path}: cannot be read ({exc.strerror if isinstance(exc, OSError) else 'nested too deeply'})") from None
    if not isinstance(meta, dict):
        raise PackageError(f"{path}: expected a JSON object")
    return meta


def inside(directory: Path, path: Path, what: str) -> Path:
    """``path`` if it is a regular file inside ``directory`` once every link is resolved;
    else a :class:`PackageError` (reads never leave the package: no absolute paths, ``..``,
    symbolic links pointing out, devices or ``/proc`` files)."""
    root = Path(directory).resolve()
    try:
        real = Path(path).resolve(strict=True)
    except (OSError, RuntimeError):
        raise PackageError(f"{what}: {path.name} does not exist or cannot be resolved") from None
    if not real.is_relative_to(root):
        raise PackageError(f"{what}: {path.name} leads outside the package directory {root}; "
                           "copy the file into the package instead")
    if not real.is_file():
        raise PackageError(f"{what}: {path.name} is not a regular file")
    return real


def directory_sha256(directory) -> str:
    """The package's fingerprint: SHA-256 over its files (relative names and bytes), in name order.

    Hidden files (names starting with ``.``) are left out; every other file counts,
    ``datapackage.json`` included. A file that leads outside the package (a symbolic
    link) is refused, as it is for reading (:func:`inside`).
    """
    directory = Path(directory)
    digest = hashlib.sha256()
    files = sorted(p for p in directory.rglob("*") if (p.is_file() or p.is_symlink()) and not p.name.startswith("."))
    for path in files:
        inside(directory, path, "package fingerprint")
    if not files:
        raise PackageError(f"{directory}: no data files")
    for path in files:
        digest.update(path.relative_to(directory).as_posix().encode("utf-8") + b"\0")
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()


def find_files(directory: Path, meta: dict) -> dict[str, SourceFile]:
    """Map table names to files: the descriptor's ``resources`` first, then file names."""
    found: dict[str, SourceFile] = {}
    resources = meta.get("resources", []) or []
    if not isinstance(resources, list) or not all(isinstance(r, dict) for r in resources):
        raise PackageError("datapackage.json: resources must be a list of objects with a name and a path")
    for res in resources:
        name, rel = res.get("name"), res.get("path")
        if name not in TABLES:
            raise PackageError(f"datapackage.json names an unknown table {name!r} (known: {', '.join(TABLES)})")
        if not isinstance(rel, str) or not rel.strip():
            raise PackageError(f"datapackage.json: the resource for {name} has no path (a file name in the package)")
        if Path(rel).is_absolute() or ".." in Path(rel).parts:
            raise PackageError(f"datapackage.json lists {rel!r} for {name}: resource paths must be relative names "
                               "inside the package directory (no absolute paths, no '..')")
        path = directory / rel
        if not path.exists() and not path.is_symlink():
            raise PackageError(f"datapackage.json lists {rel} for {name}, but {path} does not exist")
        inside(directory, path, f"datapackage.json resource {name}")
        sheet = res.get("sheet")
        if sheet is not None and (not isinstance(sheet, str) or path.suffix.lower() not in (".xlsx", ".xls")):
            raise PackageError(f"datapackage.json: the resource for {name} gives a sheet, {sheet!r}: \"sheet\" is "
                               "the name of the sheet to read (text), for Excel files only")
        found[name] = SourceFile(name, path, sheet=sheet)
    described = set(found)
    stems = {stem.lower(): t.name for t in TABLES.values() for stem in (t.name, *t.aliases)}
    for path in sorted(directory.iterdir()):
        name = stems.get(path.stem.lower())
        if path.suffix.lower() not in SUFFIXES or name is None or name in described:
            continue
        if name in found:
            raise PackageError(f"two files for table {name}: {found[name].path.name} and {path.name}; keep one")
        inside(directory, path, f"table {name}")
        found[name] = SourceFile(name, path)
    return found


def detect_encoding(path: Path, sample_bytes: int = 1 << 20) -> str:
    """UTF-8 (BOM or not) or GB18030 (a superset of GBK) by strict decoding.

    The whole file is checked, not only its head: a file mixing UTF-8 lines and GBK lines
    (rows pasted from two exports) is a :class:`PackageError` naming the first line that is
    not UTF-8, instead of being read with every name of one part garbled (GB18030 decodes
    almost any bytes, so such a file would otherwise pass).
    """
    head = _head(path, sample_bytes)
    if head.startswith(codecs.BOM_UTF8):
        if not _all_utf8(path):
            _mixed(path, declared=True)
        return "utf-8-sig"
    if _all_utf8(path):
        return "utf-8"
    _mixed(path)
    try:
        codecs.getincrementaldecoder("gb18030")().decode(head, final=False)
        return "gb18030"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes  # unusual exports (UTF-16 from old Excel)

    best = from_bytes(head).best()
    if best is None:
        raise PackageError(f"{path}: cannot tell the text encoding (tried UTF-8 and GBK/GB18030)")
    return best.encoding


def _all_utf8(path: Path) -> bool:
    """Whether the whole file decodes as UTF-8 (read in blocks: bounded memory)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


_CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")


def _mixed(path: Path, declared: bool = False) -> None:
    """A :class:`PackageError` naming the first line that is not UTF-8 when other lines of this
    file, which is not UTF-8 as a whole, are UTF-8 Chinese text (or when the file starts with
    a UTF-8 byte order mark, ``declared``); nothing when it is in one legacy encoding."""
    first_utf8 = first_other = None
    utf8_lines = other_lines = 0
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, start=1):
            if line.isascii():
                continue
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError:
                other_lines += 1
                first_other = first_other or number
                continue
            if _CJK.search(text):  # Chinese in UTF-8, not GBK bytes that happen to decode
                utf8_lines += 1
                first_utf8 = first_utf8 or number
    if (utf8_lines or declared) and other_lines:
        raise PackageError(
            f"{path.name}: mixes text encodings: {utf8_lines} line(s) are UTF-8 (the first is line {first_utf8}) "
            f"and {other_lines} are not (probably GBK); line {first_other} is the first that is not UTF-8. "
            "Save the whole file in one encoding (UTF-8) and validate again")


def _head(path: Path, n: int) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(n)


def _to_utf8(src: Path, encoding: str, dest: Path) -> None:
    """Stream a non-UTF-8 CSV into UTF-8 for the engine's reader (bounded memory)."""
    with open(src, encoding=encoding, newline="") as fin, open(dest, "w", encoding="utf-8", newline="") as fout:
        line_no = 0
        try:
            for line_no, line in enumerate(fin, start=1):
                fout.write(line)
        except UnicodeDecodeError as exc:
            raise PackageError(f"{src.name}: line {line_no + 1} is not valid {encoding} text ({exc.reason})") from exc


def parquet_columns(con, source: SourceFile) -> dict[str, str]:
    """A Parquet file's columns and their DuckDB types (``{"size": "BIGINT", ...}``), in file order."""
    try:
        rows = sql(con, "DESCRIBE SELECT * FROM read_parquet($path, file_row_number=true)", {"path": str(source.path)})
    except Exception as exc:  # not Parquet, truncated, ...
        raise PackageError(f"{source.path.name}: cannot be read as PARQUET ({_first_line(exc)})") from exc
    return {r[0]: r[1] for r in rows if r[0] != "file_row_number"}


def parquet_relation(source: SourceFile, native: Collection[str], columns: Collection[str]) -> str:
    """The SQL of a Parquet file's raw rows, in parentheses: ``_row`` (1-based) and its ``columns``,
    those named in ``native`` in their own type, the others as text. DuckDB binds no parameters
    in a view, which reads this, hence the path as a literal."""
    casts = ", ".join(quote(c) if c in native else f"CAST({quote(c)} AS VARCHAR) AS {quote(c)}" for c in columns)
    return (f"(SELECT file_row_number + 1 AS _row, {casts} "
            f"FROM read_parquet({literal(str(source.path))}, file_row_number=true))")


def load_raw(con, source: SourceFile, raw_name: str, workdir: Path, native: Collection[str] = (),
             columns: dict[str, str] | None = None) -> list[str]:
    """Create ``raw_name`` (VARCHAR columns plus ``_row``) from a file; return its original headers.

    Parquet columns named in ``native`` keep their type (no cast to text and back);
    ``columns`` is the file's :func:`parquet_columns` when already known.
    """
    path = source.path
    if not path.stat().st_size or (source.kind == "csv" and not _head(path, 1 << 16).strip()):
        raise PackageError(f"{path.name}: the file is empty (a {source.table} table needs at least its header row)")
    try:
        if source.kind == "csv":
            encoding = detect_encoding(path)
            if encoding not in ("utf-8", "utf-8-sig"):
                utf8 = workdir / f"{raw_name}.csv"
                _to_utf8(path, encoding, utf8)
                path = utf8
            relation = "read_csv($path, all_varchar=true, header=true)"
            sql(con, "SET preserve_insertion_order = true")  # so row numbers follow the file
            try:
                sql(con, f"CREATE TABLE {raw_name} AS SELECT row_number() OVER () AS _row, * FROM {relation}",
                    {"path": str(path)})
            finally:
                sql(con, "SET preserve_insertion_order = false")
        elif source.kind == "parquet":
            # a view, not a copy: the checks and the typed table read the file itself (Parquet
            # reads fast and by column)
            cols = list(columns if columns is not None else parquet_columns(con, source))
            sql(con, f"CREATE VIEW {raw_name} AS {parquet_relation(source, native, cols)[1:-1]}")
            return cols
        else:
            frame = _read_excel(source)
            frame = frame.astype("string").astype(object).where(frame.notna(), None)
            frame.insert(0, "_row", range(1, len(frame) + 1))
            con.con.register("_excel_frame", frame)
            try:
                casts = ", ".join(
                    f"CAST({quote(c)} AS VARCHAR) AS {quote(c)}" for c in frame.columns if c != "_row"
                )
                sql(con, f"CREATE TABLE {raw_name} AS SELECT _row, {casts} FROM _excel_frame")
            finally:
                con.con.unregister("_excel_frame")
    except PackageError:
        raise
    except Exception as exc:  # the engine's and pandas' reader errors, named by file
        named = resource_error(exc)  # out of memory or a full scratch disk is not the file's fault
        if named is not None:
            raise named from exc
        raise PackageError(f"{source.path.name}: cannot be read as {source.kind.upper()} ({_first_line(exc)})") from exc
    return [r[0] for r in sql(con, f"DESCRIBE {raw_name}") if r[0] != "_row"]


#: rows looked at for a title above the header
TITLE_ROWS = 10


def _read_excel(source: SourceFile):
    """A workbook's sheet as a frame of cell values (``dtype=object``) under its header row.

    The sheet is the resource's ``sheet`` or the first; a workbook of several sheets gets a
    note naming the one read. Rows above the header holding at most one cell (a title such
    as "2024年救助台账", blank rows) are skipped, with a note; the number of cells stored
    as numbers per column goes to ``source.numeric`` (identity numbers must be text).
    """
    import pandas as pd

    with pd.ExcelFile(source.path) as book:
        names = [str(n) for n in book.sheet_names]
        if source.sheet is not None:
            if source.sheet not in names:
                raise PackageError(f"{source.path.name}: no sheet named {source.sheet!r} "
                                   f"(the workbook has {', '.join(map(repr, names))})")
            sheet = source.sheet
        else:
            sheet = names[0]
            if len(names) > 1:
                source.notes.append(("warning", "", "sheet read", 0,
                                     f"the workbook has {len(names)} sheets ({', '.join(map(repr, names))}); read "
                                     f"the first, {sheet!r}; to read another, give its name as \"sheet\" on this "
                                     "resource in datapackage.json"))
        grid = pd.read_excel(book, sheet_name=sheet, header=None, dtype=object)
    filled = grid.head(TITLE_ROWS).apply(lambda row: sum(_has_value(v) for v in row), axis=1).tolist()
    header = next((i for i, n in enumerate(filled) if n >= 2), 0)
    if header:
        source.skipped = header
        source.notes.append(("warning", "", "title row", 0,
                             f"the header is on line {header + 1}: the {header} line(s) above it, holding a "
                             "single cell each (a title), were skipped"))
    names, seen = [], {}
    for j, value in enumerate(grid.iloc[header] if len(grid) else []):
        name = _cell_text(value) if _has_value(value) else f"Unnamed: {j}"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
        names.append(name)
    frame = grid.iloc[header + 1:].reset_index(drop=True)
    frame.columns = names
    for name in names:
        count = int(frame[name].map(lambda v: isinstance(v, numbers.Real) and not isinstance(v, bool)
                                    and v == v).sum())
        if count:
            source.numeric[name] = count
    return frame


def _has_value(value) -> bool:
    return value is not None and value == value and not (isinstance(value, str) and not value.strip())


def _cell_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def temp_path(final: Path) -> Path:
    """A sibling path to write to before an atomic rename onto ``final``."""
    return final.with_name(f".{final.name}.{os.getpid()}.tmp")


def atomic_write(final: Path, write) -> Path:
    """Call ``write(tmp_path)`` then rename onto ``final``; nothing half-written is left behind.

    A full disk is a :class:`ResourceError`, another failure to write (permissions, a
    directory in the way) an :class:`OutputError`; either way ``final`` is untouched.
    """
    final = Path(final)
    tmp = temp_path(final)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        os.replace(tmp, final)
    except BaseException as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        named = resource_error(exc) if isinstance(exc, Exception) else None
        if named is not None:
            raise named from exc
        if isinstance(exc, OSError) and not isinstance(exc, EvalkitError):
            raise OutputError(f"cannot write {final}: {exc.strerror or exc}") from exc
        raise
    return final


def check_writable(path, directory: bool = False) -> Path:
    """``path`` if an output can be written there, else an :class:`OutputError`; checked before
    computing, so a run does not fail at its end. ``path`` is a file to write (its directory must
    be writable) or, with ``directory``, a directory to write into. Missing directories are
    fine when the nearest existing one is writable (they are created when writing):
    ``/proc/x.csv`` or a read-only directory is refused, by trying to create a file there.
    """
    path = Path(path)
    if path.is_dir() and not directory:
        raise OutputError(f"cannot write {path}: it is a directory; give a file name")
    if path.exists() and directory and not path.is_dir():
        raise OutputError(f"cannot write into {path}: it is a file, not a directory")
    parent = path if directory else path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    where = f"cannot write {'into ' if directory else ''}{path}"
    if not parent.is_dir():
        raise OutputError(f"{where}: {parent} is not a directory")
    try:
        import tempfile

        handle, probe = tempfile.mkstemp(prefix=".evalkit-probe-", dir=parent)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"{where}: {parent} is not writable ({exc.strerror or exc})") from None
    if path.exists() and not directory and not os.access(path, os.W_OK):
        raise OutputError(f"{where}: the file is read-only")
    return path


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(frame):
    """A copy of ``frame`` whose text cells cannot start a spreadsheet formula.

    >>> import pandas as pd
    >>> formula_safe(pd.DataFrame({"id": ["=SUM(A1)", "a-1"], "v": [-1.5, 2.0]})).to_dict("list")
    {'id': ["'=SUM(A1)", 'a-1'], 'v': [-1.5, 2.0]}
    """
    import pandas as pd

    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        text = _formula_like(values)
        if text.any():
            out[column] = values.where(~text, "'" + values[text].astype(str))
    return out


def _formula_like(values):
    """Which cells of a column are text starting like a formula; vectorised for text columns."""
    import pandas as pd

    if isinstance(values.dtype, pd.CategoricalDtype):  # per category, as map goes
        return values.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_START)).astype(bool)
    if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "mixed", "mixed-integer"):
        return pd.Series(False, index=values.index)  # no text cell at all (dates, empty, ...)
    # cells that are not text (None, NaN, numbers in a mixed column) are not formulas
    return values.str.startswith(FORMULA_START, na=False).astype(bool)


def write_csv(frame, path: Path) -> None:
    """Write ``frame`` as UTF-8 CSV with formula-like text neutralised (:func:`formula_safe`)."""
    formula_safe(frame).to_csv(path, index=False, encoding="utf-8")
