"""Loading a data package: read, map headers, parse types, pseudonymise, validate.

>>> pkg = load("data/demo")                            # doctest: +SKIP
>>> pkg.frequency, pkg.periods[:2], sorted(pkg.tables)  # doctest: +SKIP
('quarter', ['2023Q1', '2023Q2'], ['assistance', 'cases', ...])
"""
from __future__ import annotations

import datetime as dt
import re
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import ibis
import pandas as pd

from evalkit import engine
from evalkit.data import periods, workdays
from evalkit.engine import Params, quote, sql
from evalkit.data.io import (
    FORMULA_START,
    PackageError,
    SourceFile,
    directory_sha256,
    find_files,
    load_raw,
    parquet_columns,
    parquet_relation,
    read_descriptor,
)
from evalkit.data.privacy import ID_PATTERN, _session_key, hmac_sql, id_number_problem_sql, normalise_id_sql, pseudonym_key
from evalkit.data.schema import FALSE_SPELLINGS, PLANNED_HORIZON_YEARS, TABLES, TRUE_SPELLINGS, Column, Table
from evalkit.data.validation import MAX_EXAMPLES, Problem, ValidationError, ValidationReport
from evalkit.errors import ParameterError

DATE_FORMATS = ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S"]

CRS = ("wgs84", "gcj02", "bd09")

# Dates a period is read from, per table (the first non-null one in this order).
PERIOD_DATES = {"needs": "identified_on", "assistance": "start_on", "cases": "applied_on"}

#: The earliest plausible date in a package (``load(..., earliest_date=...)``, ``--earliest-date``):
#: an earlier date is a validation error, like an event date after the extraction date.
EARLIEST_DATE = dt.date(1990, 1, 1)

#: (lon_min, lat_min, lon_max, lat_max): China with Hainan and the South China Sea islands
CHINA_BOUNDS = (73.0, 3.0, 136.0, 54.0)
#: km: a household farther than this from every service point of its region (of the package, when
#: its region has no located point) is warned about: a misplaced home or point, not a remote village
FAR_KM = 50.0
#: columns of identity numbers: an Excel file must hold them as text, never as numbers
ID_NUMBER_COLUMNS = ("id_number",)


@dataclass
class DataPackage:
    """A validated, pseudonymised package held in the engine.

    ``tables`` maps each table the package has to an Ibis table with every canonical
    column (missing optional columns are NULL). Identity numbers are ``id_hash`` and
    names are gone. A Parquet table is a view that reads its file (nothing is copied),
    so the package's files must stay as they are while the package is in use; CSV and
    Excel tables are parsed once into the engine.
    """

    name: str
    path: Path
    frequency: str
    con: object
    tables: dict
    report: ValidationReport
    periods: list[str] = field(default_factory=list)
    regions: pd.DataFrame = field(default_factory=pd.DataFrame)
    weighted: bool = False
    rows: dict[str, int] = field(default_factory=dict)
    crs: str = "wgs84"  # coordinate system of lon/lat columns (wgs84, gcj02 or bd09)
    extracted_on: str | None = None  # datapackage.json's extraction date (ISO), when declared
    design: dict = field(default_factory=dict)  # datapackage.json's survey design, when declared
    sha256: str | None = None  # the files' fingerprint, filled in by fingerprint()
    #: (table, column) -> has_values' answer: the tables do not change after loading
    _has_values: dict = field(default_factory=dict, repr=False, compare=False)

    def has(self, *names: str) -> bool:
        return all(n in self.tables for n in names)

    def has_values(self, table: str, column: str) -> bool:
        """True when the table exists and the column holds at least one value."""
        if table not in self.tables:
            return False
        if (table, column) not in self._has_values:
            self._has_values[table, column] = bool(self.con.execute(self.tables[table][column].count()))
        return self._has_values[table, column]

    def region_closure(self) -> pd.DataFrame:
        """Every (region_id, ancestor) pair, each region its own ancestor, for roll-ups."""
        parent = dict(zip(self.regions["region_id"], self.regions["parent_id"]))
        rows = []
        for region in self.regions["region_id"]:
            node, seen = region, set()
            while node is not None and not pd.isna(node) and node not in seen:
                rows.append((region, node))
                seen.add(node)
                node = parent.get(node)
        return pd.DataFrame(rows, columns=["region_id", "ancestor"])

    def descendants(self, region: str) -> set[str]:
        closure = self.region_closure()
        return set(closure.loc[closure["ancestor"] == region, "region_id"])

    def fingerprint(self) -> str:
        """SHA-256 over the package directory's files (see :func:`evalkit.data.io.directory_sha256`),
        computed on first use and kept."""
        if self.sha256 is None:
            self.sha256 = directory_sha256(self.path)
        return self.sha256

    def latest_date(self, on_or_before: dt.date | None = None) -> tuple[dt.date, str] | None:
        """The latest event date (planned dates such as deadlines and planned ends are not
        events) not after ``on_or_before`` (default: today), with the ``table.column`` it
        is in; None when the package holds no such date."""
        limit = ibis.literal(on_or_before or dt.date.today(), "date")
        best = None
        for name in self.tables:
            if name == "calendar":  # lists days ahead; it records no event
                continue
            columns = [c.name for c in TABLES[name].columns if c.kind == "date" and not c.planned]
            if not columns:
                continue
            t = self.tables[name]
            found = self.con.execute(t.aggregate(**{c: t[c].max(where=t[c] <= limit) for c in columns}))
            for column, value in zip(columns, found.iloc[0]):
                if not pd.isna(value) and (best is None or _day(value) > best[0]):
                    best = (_day(value), f"{name}.{column}")
        return best

    def on_spark(self, session=None, *, staging=None) -> DataPackage:
        """This package with its tables on Spark: the same indicators, computed by Spark.

        ``session`` is a SparkSession or a master URL (default ``local[2]``; a cluster's
        ``spark://host:7077``, ``yarn``, ...; see :func:`evalkit.engine.spark_session`).
        The tables, loaded, validated and pseudonymised here in DuckDB, are written as Parquet
        to a private directory in ``staging`` (default the temporary directory; on a cluster,
        shared storage that the driver writes and the executors read) and read by Spark. The
        returned package's ``con`` is Ibis's pyspark backend; pass it to
        :func:`evalkit.compute` as usual. Its files are removed when it is collected.
        """
        if engine.is_spark(self.con):
            return self
        if session is None or isinstance(session, str):
            session = engine.spark_session(session or "local[2]")
        spark = engine.spark_connect(session, staging)
        tag = engine.unique_name("evalkit")  # views are per session: one name space per package
        tables = {name: engine.stage_table(self.con, t, spark, f"{tag}_{name}") for name, t in self.tables.items()}
        return replace(self, con=spark, tables=tables, _has_values=dict(self._has_values))

    def extraction_date(self, today: dt.date | None = None) -> tuple[dt.date | None, str]:
        """The day the data were extracted, where every observation window is cut off, and
        where it comes from: ``datapackage.json``'s ``extracted_on`` when declared, else the
        latest event date not after ``today`` (:meth:`latest_date`, as ``table.column``);
        ``(None, "")`` when the package has no dated event."""
        if self.extracted_on:
            return dt.date.fromisoformat(self.extracted_on), "datapackage.json"
        latest = self.latest_date(today)
        return (None, "") if latest is None else latest


def _day(value) -> dt.date:
    """A date as the engines return it (``datetime.date``, or a pandas Timestamp) as a ``datetime.date``."""
    return value.date() if isinstance(value, dt.datetime) else value


def load(path, key_file=None, frequency: str | None = None, memory_limit: str | None = None,
         earliest_date: dt.date | str | None = None) -> DataPackage:
    """Load and validate a data package directory; raise :class:`ValidationError` on errors.

    Dates before ``earliest_date`` (default :data:`EARLIEST_DATE`, 1990-01-01) are errors.
    Warnings stay on ``package.report``.
    """
    with engine.resource_errors():  # out of memory or disk: a named error
        package = _read(Path(path), key_file, frequency, memory_limit, earliest_date)
    if not package.report.ok:
        raise ValidationError(package.report)
    return package


def validate(path, frequency: str | None = None, earliest_date: dt.date | str | None = None) -> ValidationReport:
    """Every problem in a package, errors and warnings, without raising for errors."""
    with engine.resource_errors():
        return _read(Path(path), None, frequency, None, earliest_date).report


def region_ids(path) -> set[str] | None:
    """The region ids of a package's regions table, read without loading the package, so that
    a ``--region`` can be checked before any computing; None when they cannot be read this way
    (the load then says why).
    """
    from evalkit.errors import EvalkitError

    directory = Path(path)
    try:
        files = find_files(directory, read_descriptor(directory))
        if "regions" not in files:
            return None
        con = engine.connect()
        with tempfile.TemporaryDirectory(prefix="evalkit-read-") as tmp:
            headers = load_raw(con, files["regions"], "_regions", Path(tmp))
        loader = _Loader(con, files, ValidationReport(""), b"", "year")
        raw = loader._map_headers(TABLES["regions"], files["regions"], headers).get("region_id")
        if raw is None:
            return None
        return {r[0] for r in sql(con, f"SELECT DISTINCT trim({quote(raw)}) FROM _regions WHERE {quote(raw)} IS NOT NULL")}
    except (EvalkitError, OSError):
        return None


def earliest(value: dt.date | str | None) -> dt.date:
    """The earliest plausible date: ``value`` (a date or ISO text) or :data:`EARLIEST_DATE`."""
    if value is None or value == "":
        return EARLIEST_DATE
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ParameterError(f"earliest date must be a date such as 1990-01-01, got {value!r}") from None


def _read(directory: Path, key_file, frequency, memory_limit, earliest_date=None) -> DataPackage:
    if not directory.is_dir():
        raise PackageError(f"{directory}: no such directory (a data package is a directory of table files)")
    first = earliest(earliest_date)
    meta = read_descriptor(directory)
    frequency = periods.check_frequency(frequency or meta.get("frequency", "year"))
    crs = str(meta.get("crs", "wgs84")).lower().replace("-", "")
    if crs not in CRS:
        raise PackageError(f"datapackage.json: crs must be one of {', '.join(CRS)} (got {meta['crs']!r}); "
                           "Amap and Tencent coordinates are gcj02, Baidu's bd09")
    extracted_on = _extracted_on(meta)
    # Event dates may not lie after the extraction date: the declared one, else today.
    last = dt.date.fromisoformat(extracted_on) if extracted_on else dt.date.today()
    if first > last:
        raise ParameterError(f"earliest date {first} is after the extraction date {last}"
                             + ("" if extracted_on else " (today; datapackage.json gives no extracted_on)"))
    files = find_files(directory, meta)
    report = ValidationReport(meta.get("name") or directory.name)
    for t in TABLES.values():
        if t.required and t.name not in files:
            report.add("error", t.name, f"{t.name}.csv|.parquet|.xlsx", "", "required table", 0,
                       f"the package needs a {t.name} table (file named {t.name} or {'/'.join(t.aliases)})")
    con = engine.connect(memory_limit=memory_limit)
    key = pseudonym_key(key_file)
    bounds = _bounds(meta)
    loader = _Loader(con, files, report, key, frequency, first, last, declared=extracted_on is not None,
                     bounds=bounds)
    entry, fingerprint, cached = None, None, None
    # A package read before may be in the cache (never with a per-process key): text to parse
    # as a converted copy; Parquet, whose typed tables are views on its own files, as the
    # outcome of its checks, so a second load builds the views and skips the checks.
    parquet = all(f.kind == "parquet" for f in files.values())
    if report.ok and key != _session_key():
        from evalkit.data.cache import Entry, cache_dir

        if cache_dir() is not None:
            fingerprint = directory_sha256(directory)
            entry = Entry.find(directory, fingerprint, key, {"frequency": frequency, "earliest": first.isoformat(),
                                                             "extracted": last.isoformat(), "declared": extracted_on is not None,
                                                             "bounds": list(bounds)})
            cached = entry.load(con) if entry else None
    if cached and not parquet:
        loaded = cached["tables"]
    else:
        with tempfile.TemporaryDirectory(prefix="evalkit-read-") as tmp:
            loader.read_all(Path(tmp))
        if cached:
            loader.drop_raw()  # checked before: their outcome is the cached report
        else:
            loader.check_all()
        loaded = loader.loaded
    span = cached["periods"] if cached else loader.period_span()
    if cached:
        report.problems = [Problem(**p) for p in cached["problems"]]
    tables = {name: con.table(name) for name in loaded}
    pkg = DataPackage(report.package, directory, frequency, con, tables, report, crs=crs, extracted_on=extracted_on,
                      design=_design(meta), sha256=fingerprint)
    pkg.rows = {name: int(n[0]) for name, n in zip(loaded, loader._scan([(name, ["count(*)"]) for name in loaded]))}
    if "regions" in loaded:
        pkg.regions = con.table("regions").select("region_id", "name", "parent_id", "level", "reform_period").execute()
    if "households" in loaded:
        lo, hi, n = sql(con, "SELECT min(weight), max(weight), count(weight) FROM households")[0]
        pkg.weighted = bool(n) and not (lo == hi == 1)
    pkg.periods = span
    if entry is not None and not cached and report.ok:
        entry.save(con, [] if parquet else loaded, report, span)
    return pkg


class _Loader:
    """One pass over a package: raw tables in, typed tables out, problems recorded."""

    def __init__(self, con, files: dict[str, SourceFile], report: ValidationReport, key: bytes, frequency: str,
                 earliest_date: dt.date = EARLIEST_DATE, extracted: dt.date | None = None, declared: bool = False,
                 bounds: tuple[float, float, float, float] = CHINA_BOUNDS):
        self.con, self.files, self.report, self.key, self.frequency = con, files, report, key, frequency
        self.bounds = bounds  # (lon_min, lat_min, lon_max, lat_max) where points are expected
        self.earliest = earliest_date
        self.extracted = extracted or dt.date.today()  # the latest date an event may have
        self.extracted_declared = declared  # from datapackage.json, else today
        self.columns: dict[str, dict[str, str]] = {}  # table -> canonical -> raw header
        self.native: dict[str, dict[str, str]] = {}  # table -> canonical -> Parquet type read as is
        self.loaded: list[str] = []
        self.hash_household_ids = False
        self.relations: dict[str, str] = {}  # Parquet table -> its raw rows as SQL (io.parquet_relation)
        self.facts: dict[str, dict] = {}  # table -> what its typed table depends on (_read_facts)
        self.pending: list[tuple] = []  # row checks waiting to be counted, see _examples_check
        self.raw_checks: list[tuple] = []  # the raw values' checks, counted with the typed tables' (check_all)
        self.params = Params()  # values in the loader's SQL, bound by name, never spliced in

    # -- reading ----------------------------------------------------------------
    def read_all(self, tmp: Path) -> None:
        """Read every file into ``_raw.<table>`` (a schema of its own, dropped once checked):
        a view of a Parquet file, a table of CSV or Excel text. Gather what the typed tables
        depend on in one scan, build them, and queue the checks of the raw values (counted
        with the typed tables' checks, see :meth:`check_all`)."""
        sql(self.con, "CREATE SCHEMA _raw")
        for name in TABLES:  # schema order: households before tables that refer to them
            if name not in self.files:
                continue
            source = self.files[name]
            mark = len(self.report.problems)
            try:
                if source.kind == "parquet":  # typed columns that match the schema are read as they are
                    types = parquet_columns(self.con, source)
                    self.columns[name] = self._map_headers(TABLES[name], source, list(types))
                    self.native[name] = {c: types[h] for c, h in self.columns[name].items()
                                         if _native(TABLES[name].column(c), types[h])}
                    native = set(self.columns[name][c] for c in self.native[name])
                    load_raw(self.con, source, f"_raw.{name}", tmp, native=native, columns=types)
                    self.relations[name] = parquet_relation(source, native, types)
                else:
                    headers = load_raw(self.con, source, f"_raw.{name}", tmp)
                    self.columns[name] = self._map_headers(TABLES[name], source, headers)
                    self.native[name] = {}
                    self._reading_notes(name, source)
            except PackageError as exc:
                self.columns.pop(name, None)
                del self.report.problems[mark:]  # a file that cannot be read has no header problems
                self.report.add("error", name, source.path.name, "", "readable file", 0, str(exc))
                continue
        self.facts = self._read_facts()
        for name in self.columns:
            if not self.facts[name]["rows"]:
                self._warn(name, "", "no rows", 0, "data rows under the header (the table is read as empty)")
        if self.facts.get("households", {}).get("ids_shaped"):
            self.hash_household_ids = True
            self._warn("households", "household_id", "personal identifiers", self.facts["households"]["ids_shaped"],
                       "household ids shaped like identity numbers are pseudonymised in every table")
        for name in self.columns:
            self._parse(name, self.facts[name])
        self.raw_checks, self.pending = self.pending, []

    def _read_facts(self) -> dict[str, dict]:
        """What building a typed table depends on, every table in one statement (one scan of each
        raw table): its rows; per enumeration (and yes/no text) column, its distinct trimmed values,
        each with the canonical value :func:`_convert_sql` gives it (None: not allowed); per period
        column, its distinct labels; per Parquet text column, the values that trimming changes
        (none: the column is read as it is); per all-or-none column, the values given; and the
        household ids shaped like identity numbers."""
        queries = {}  # table -> [(fact, column, aggregate)]
        for name in self.columns:
            table, mapping, native = TABLES[name], self.columns[name], self.native[name]
            found = queries[name] = [("rows", None, "count(*)")]
            for col in table.columns:
                if col.name not in mapping:
                    continue
                raw = quote(mapping[col.name])
                value = f"NULLIF(TRIM({raw}), '')"
                if not col.personal and (col.kind == "enum" or (col.kind == "bool" and col.name not in native)):
                    found.append(("lookups", col.name,
                                  f"list_transform(list(DISTINCT {value}) FILTER (WHERE {value} IS NOT NULL), "
                                  f"lambda _v: [_v, CAST({_convert_sql(col, '_v', self.params)} AS VARCHAR)])"))
                if col.period:
                    found.append(("periods", col.name, f"list(DISTINCT {value}) FILTER (WHERE {value} IS NOT NULL)"))
                if native.get(col.name) == "VARCHAR":
                    found.append(("trimmed", col.name, f"count_if({value} IS DISTINCT FROM {raw})"))
                if col.all_or_none:  # the value as _parse takes it: typed Parquet numbers as they are
                    given = raw if col.name in native and col.kind not in ("string", "enum") else value
                    found.append(("given", col.name, f"count({given})"))
            if name == "households" and "household_id" in mapping:
                raw = quote(mapping["household_id"])
                found.append(("ids_shaped", None, f"count_if(regexp_full_match(trim({raw}), {self.params(ID_PATTERN[1:-1])}))"))
        results = self._scan([(f"_raw.{name}", [q[2] for q in found]) for name, found in queries.items()])
        facts = {}
        for (name, found), values in zip(queries.items(), results):
            facts[name] = {"lookups": {}, "periods": {}, "trimmed": {}, "given": {}}
            for (fact, column, _), value in zip(found, values):
                if column is None:
                    facts[name][fact] = value
                elif fact in ("lookups", "periods"):
                    facts[name][fact][column] = [tuple(v) if fact == "lookups" else v for v in value or []]
                else:
                    facts[name][fact][column] = value
        return facts

    def _reading_notes(self, name: str, source: SourceFile) -> None:
        """What reading the file found (Excel: the sheet read, a title row skipped), and
        identity numbers that Excel stored as numbers."""
        for severity, column, check, count, expected in source.notes:
            self.report.add(severity, name, source.path.name, column, check, count, expected)
        for column in ID_NUMBER_COLUMNS:
            header = self.columns[name].get(column)
            if header is not None and source.numeric.get(header):
                self._error(name, column, "identity numbers stored as numbers", source.numeric[header],
                            "text: Excel keeps only 15 significant digits of a number, so an 18-digit identity "
                            "number stored as a number has already lost its last digits (and an X check digit "
                            "cannot be stored at all); converting the cells now cannot bring them back. Export "
                            "the column again from the source system as text (format the cells as Text before "
                            "pasting, or export CSV) and validate again")

    def _map_headers(self, table: Table, source: SourceFile, headers: list[str]) -> dict[str, str]:
        lookup = {}
        for col in table.columns:
            for spelling in (col.name, *col.aliases):
                lookup.setdefault(_norm_header(spelling), col.name)
        mapping: dict[str, str] = {}
        unknown = []
        for header in headers:
            canonical = lookup.get(_norm_header(header))
            if canonical is None:
                unknown.append(header)
            elif canonical in mapping:
                self._error(table.name, canonical, "one column per field", 0,
                            f"headers {mapping[canonical]!r} and {header!r} both mean {canonical}; keep one")
            else:
                mapping[canonical] = header
        for col in table.columns:
            if col.required and col.name not in mapping:
                names = " / ".join((col.name, *col.aliases))
                self._error(table.name, col.name, "required column", 0, f"a column headed {names}")
        if unknown:
            self._warn(table.name, ", ".join(unknown), "unknown columns", 0,
                       f"ignored (known columns: {', '.join(table.names)})")
        return mapping

    def _parse(self, name: str, facts: dict) -> None:
        """Type-check every mapped column, then build the typed table.

        Text columns (CSV, Excel, and Parquet columns whose type does not match the schema)
        are trimmed and parsed; Parquet columns of a matching type (:func:`_native`) are
        taken as they are, with only the checks their type leaves open. Enumerations (and
        yes/no text) are looked up once per distinct value, period labels mapped to their
        canonical spelling (``facts``, from :meth:`_read_facts`).

        A Parquet table becomes a view on its file (nothing copied; unless household ids are
        pseudonymised, which is worth doing once); CSV and Excel text becomes a table. The
        checks of a column read as it is (:meth:`_as_is`) run on the view, so a clean Parquet
        table is read once for all its checks; the others run on the raw rows.
        """
        table, mapping = TABLES[name], self.columns[name]
        # household ids to pseudonymise are hashed once, into a table
        view = self.files[name].kind == "parquet" and not (self.hash_household_ids and "household_id" in mapping)
        key_as_is = table.key not in mapping or self._as_is(name, table.column(table.key))
        source = group = f"_raw.{name}"  # problems of the raw values are reported together, as read
        selects = ["_row"]
        for col in table.columns:
            raw = mapping.get(col.name)
            value, typed, bad, show = self._column_sql(name, col, quote(raw) if raw else None)
            selected = typed  # the view or table is built from the raw rows
            if raw and view and key_as_is and self._as_is(name, col):  # checked on the view, by its own name
                relation, key = name, quote(table.key) if table.key in mapping else None
                value, typed, bad, show = self._column_sql(name, col, quote(col.name))
            else:
                relation, key = f"_raw.{name}", quote(mapping[table.key]) if table.key in mapping else None
            if raw and not col.nullable:  # on the raw text, so a bad value is not also "missing"
                self._examples_check(name, col.name, "missing values", "a value in every row",
                                     relation, f"{value} IS NULL", key, show=None, group=group)
            if raw and col.kind != "string" and bad is not None:
                self._examples_check(name, col.name, "type", _expected(col),
                                     relation, bad, key, show=show, personal=col.personal,
                                     group=group)
            if raw and col.kind == "float" and self.native[name].get(col.name, "DOUBLE") == "DOUBLE":
                # nan, inf, Infinity typed in a CSV; NaN and inf in Parquet (integers are always finite)
                self._examples_check(name, col.name, "finite number",
                                     "a finite number, not NaN or infinity (leave the cell empty when unknown)",
                                     relation, f"NOT isfinite({typed})", key, show=show, personal=col.personal,
                                     group=group)
            if raw and col.all_or_none:
                given, total = facts["given"][col.name], facts["rows"]
                if 0 < given < total:
                    self._examples_check(name, col.name, "missing values",
                                         f"a value in every row, since {given} of {total} rows have one "
                                         "(or in none: a blank column means none given)",
                                         relation, f"{value} IS NULL", key, show=None, group=group)
            if raw and col.kind == "string" and not col.personal and (col.name == table.key or col.references):
                self._formula_warning(name, col.name, value, relation)
            if col.name == "id_number" and raw:  # one spelling per person before the check and the hash
                value = normalise_id_sql(value, self.params)
                # checked and hashed on the normalised number, computed once per row
                source = f"(SELECT *, {value} AS _id_number FROM _raw.{name})"
                typed = selected = "_id_number"
                self._examples_check(name, col.name, "identity number check digit",
                                     "18 digits (last may be X) with a valid GB 11643 check digit",
                                     source, id_number_problem_sql(typed, self.params), key, show=None,
                                     personal=True)
            if col.personal:
                if col.name == "id_number":
                    selects.append(f"{hmac_sql(selected, self.key, self.params)} AS id_hash")
                continue  # names (and any other personal column) never leave the loader
            if col.name == "household_id" and self.hash_household_ids:
                selected = hmac_sql(selected, self.key, self.params)
            selects.append(f"{selected} AS {quote(col.name)}")
        if view:  # the raw relation written out, so the view outlives the _raw schema
            source = source.replace(f"_raw.{name}", self.relations[name])
            self._create_view(name, f"SELECT {', '.join(selects)} FROM {source}")
        else:
            sql(self.con, f"CREATE TABLE {name} AS SELECT {', '.join(selects)} FROM {source}", self.params)
        self.loaded.append(name)

    def _column_sql(self, name: str, col: Column, column: str | None) -> tuple[str, str, str | None, str]:
        """``(value, typed, problem, shown)`` of a column read from ``column`` (a quoted column of
        the raw rows, or of the view; None when the file lacks it), as :func:`_native_sql` gives
        them: the value (trimmed text, or the typed Parquet value), its typed form, the predicate
        of a value of the wrong type (None when none can be) and the value as shown."""
        facts, native = self.facts[name], self.native[name]
        if column is None:  # an absent column is text NULL, so its typed column has the schema's type, not NULL's
            value = "CAST(NULL AS VARCHAR)"
            return value, _convert_sql(col, value, self.params), f"{value} IS NOT NULL AND ({value}) IS NULL", value
        if col.name in native:
            value, typed, bad, show = _native_sql(col, column, native[col.name])
            if facts["trimmed"].get(col.name) == 0:  # no value changes by trimming: the text as it is
                value = typed = show = column
        else:
            value = f"NULLIF(TRIM({column}), '')"
            typed = _convert_sql(col, value, self.params)
            bad, show = f"{value} IS NOT NULL AND ({typed}) IS NULL", value
        if col.name in facts["lookups"]:  # enumerations, yes/no text: the values found, each mapped once
            typed, bad = self._lookup_sql(col, value, facts["lookups"][col.name])
        if col.name in facts["periods"]:
            typed = self._period_sql(value, self.period_labels(name, col)[0])
        return value, typed, bad, show

    def _as_is(self, name: str, col: Column) -> bool:
        """Whether a Parquet column's value is its typed value, the column itself: so its checks
        may read the view (household ids to pseudonymise never are)."""
        raw = self.columns[name].get(col.name)
        if raw is None or col.name not in self.native[name] or col.personal:
            return False
        if col.name == "household_id" and self.hash_household_ids:
            return False
        value, typed, _, _ = self._column_sql(name, col, quote(raw))
        return value == typed == quote(raw)

    def _create_view(self, name: str, query: str) -> None:
        """``CREATE VIEW name AS query``: DuckDB binds no parameters in a view, so the values the
        query names (spellings, the pseudonym key) go in session variables the view reads, never
        into its text."""
        for param in dict.fromkeys(re.findall(r"\$(p\d+)\b", query)):
            sql(self.con, f"SET VARIABLE {_VARIABLE}{param} = ${param}", {param: self.params[param]})
        query = re.sub(r"\$(p\d+)\b", lambda m: f"getvariable('{_VARIABLE}{m.group(1)}')", query)
        sql(self.con, f"CREATE VIEW {name} AS {query}")

    def period_labels(self, name: str, col: Column) -> tuple[dict[str, str], list[str], list[str]]:
        """A period column's labels: ``(changed, bad, late)``: the labels written another way than
        the canonical one (``2024q1`` -> ``2024Q1``), those that are no period of the package's
        frequency, and the canonical periods starting after the extraction date."""
        mapping, bad, late = {}, [], []
        for value in self.facts[name]["periods"][col.name]:
            try:
                canonical = periods.parse(value, self.frequency)
            except ValueError:
                bad.append(value)
                continue
            mapping[value] = canonical
            if periods.bounds(canonical, self.frequency)[0] > self.extracted:
                late.append(canonical)
        return {k: v for k, v in mapping.items() if k != v}, bad, late

    def _period_sql(self, value: str, changed: dict[str, str]) -> str:
        """The canonical period label of ``value`` (see :meth:`period_labels`)."""
        if not changed:
            return value
        whens = " ".join(f"WHEN {self.params(raw)} THEN {self.params(label)}" for raw, label in changed.items())
        return f"CASE {value} {whens} ELSE {value} END"

    def _scan(self, scans: list[tuple[str, list[str]]]) -> list[tuple]:
        """Aggregates over several relations in one statement: ``[(relation, [aggregate, ...]), ...]``
        gives one tuple of results per relation (each relation scanned once, side by side)."""
        parts, n = [], 0
        for relation, exprs in scans:
            if exprs:
                parts.append(f"(SELECT {', '.join(f'{e} AS _c{n + i}' for i, e in enumerate(exprs))} FROM {relation}) AS _s{len(parts)}")
                n += len(exprs)
        if not parts:
            return [() for _ in scans]
        row = sql(self.con, f"SELECT * FROM {', '.join(parts)}", self.params)[0]
        out, at = [], 0
        for _, exprs in scans:
            out.append(tuple(row[at:at + len(exprs)]))
            at += len(exprs)
        return out

    def _lookup_sql(self, col: Column, value: str, pairs: list[tuple[str, str | None]]) -> tuple[str, str | None]:
        """The typed value and the type-problem predicate of a looked-up column (see :meth:`_lookups`)."""
        changed = [(raw, canonical) for raw, canonical in pairs if raw != canonical]
        bad = [raw for raw, canonical in pairs if canonical is None]
        if len(changed) > MAX_LOOKUP:  # many spellings: the general lookup, row by row
            typed = _convert_sql(col, value, self.params)
            return typed, f"{value} IS NOT NULL AND ({typed}) IS NULL"
        if not changed:
            typed = value if col.kind == "enum" else f"CAST({value} AS BOOLEAN)"
        else:
            whens = " ".join(f"WHEN {self.params(raw)} THEN {'NULL' if c is None else self.params(c)}" for raw, c in changed)
            typed = f"CASE {value} {whens} ELSE {value} END"
            if col.kind == "bool":  # the canonical spellings 'true' and 'false'
                typed = f"CAST({typed} AS BOOLEAN)"
        return typed, (f"list_contains({self.params(bad)}, {value})" if bad else None)

    # -- checks on typed tables ---------------------------------------------------
    def check_all(self) -> None:
        """Check the typed tables. Every queued check, the raw values' (:meth:`read_all`) too, and
        whether keys repeat are counted in one statement, one scan per relation; the problems are
        recorded in the order they are found: the raw values', the keys', the typed tables'."""
        for name in self.loaded:
            for col in TABLES[name].columns:
                if col.period and col.name in self.columns[name]:
                    self._check_periods(name, col)
        keyed = [(name, TABLES[name].unique or (TABLES[name].key,)) for name in self.loaded]
        keyed = [(name, cols) for name, cols in keyed if all(c in self.columns[name] for c in cols)]
        for name in self.loaded:
            table = TABLES[name]
            for col in table.columns:
                if col.personal or col.name not in self.columns[name]:
                    continue
                c = quote(col.name)
                finite = f"isfinite({c}) AND " if col.kind == "float" else ""  # NaN, inf: "finite number"
                if col.minimum is not None:
                    self._examples_check(name, col.name, "range", f"values >= {col.minimum:g}",
                                         name, f"{finite}{c} < {self.params(col.minimum)}", quote(table.key), show=c)
                if col.maximum is not None:
                    self._examples_check(name, col.name, "range", f"values <= {col.maximum:g}",
                                         name, f"{finite}{c} > {self.params(col.maximum)}", quote(table.key), show=c)
                if col.kind == "date":
                    self._check_date_range(name, col)
                if col.references:
                    self._check_reference(name, col)
            for earlier, later in table.date_order:
                if earlier in self.columns[name] and later in self.columns[name]:
                    self._examples_check(
                        name, f"{earlier}, {later}", "date order", f"{earlier} on or before {later}", name,
                        f"{quote(earlier)} IS NOT NULL AND {quote(later)} IS NOT NULL AND {quote(later)} < {quote(earlier)}",
                        quote(table.key), show=f"{quote(earlier)} || ' > ' || {quote(later)}",
                    )
        raw_checks, typed_checks, self.raw_checks, self.pending = self.raw_checks, self.pending, [], []
        counts = self._count([(c[4], f"count_if({c[5]})") for c in raw_checks + typed_checks]
                             + [(name, _repeats_sql(cols)) for name, cols in keyed])
        self._record_checks(raw_checks, counts[:len(raw_checks)])
        for (name, cols), repeated in zip(keyed, counts[len(raw_checks) + len(typed_checks):]):
            if repeated:
                self._check_unique(name, cols)
        self._record_checks(typed_checks, counts[len(raw_checks):len(raw_checks) + len(typed_checks)])
        self.drop_raw()
        self._check_period_dates()
        self._check_calendar_years()
        self._check_zero_weights()
        self._check_coordinates()
        if "regions" in self.loaded:
            self._check_region_tree()

    def drop_raw(self) -> None:
        sql(self.con, "DROP SCHEMA _raw CASCADE")  # the raw tables and views, in one statement

    def latest_allowed(self, col: Column) -> dt.date:
        """The latest plausible value of a date column: the extraction date for an event,
        :data:`PLANNED_HORIZON_YEARS` years after it for a planned date."""
        if not col.planned:
            return self.extracted
        x = self.extracted
        try:
            return x.replace(year=x.year + PLANNED_HORIZON_YEARS)
        except ValueError:  # 29 February
            return x.replace(year=x.year + PLANNED_HORIZON_YEARS, day=28)

    def _check_date_range(self, name: str, col: Column) -> None:
        """Dates before the earliest plausible date, events after the extraction date and
        planned dates beyond the horizon: each a wild value that would stretch the periods."""
        c, key = quote(col.name), quote(TABLES[name].key)
        self._examples_check(
            name, col.name, "earliest date",
            f"dates on or after {self.earliest} (the earliest plausible date; earliest_date= / --earliest-date)",
            name, f"{c} < {self.params(self.earliest)}", key, show=f"CAST({c} AS VARCHAR)")
        source = "datapackage.json's extracted_on" if self.extracted_declared else \
            "today, as datapackage.json gives no extracted_on"
        if col.planned:
            expected = (f"dates on or before {self.latest_allowed(col)}, {PLANNED_HORIZON_YEARS} years after "
                        f"the extraction date {self.extracted} ({source})")
        else:
            expected = f"dates on or before the extraction date {self.extracted} ({source})"
        self._examples_check(name, col.name, "latest date", expected, name,
                             f"{c} > {self.params(self.latest_allowed(col))}", key, show=f"CAST({c} AS VARCHAR)")

    def _check_coordinates(self) -> None:
        """Points outside the expected area (China by default) are a warning: swapped or
        sign-flipped longitude and latitude, or points abroad, give distances of thousands of km."""
        (west, south, east, north), p = self.bounds, self.params
        for name in ("households", "service_points"):
            if name not in self.loaded or not {"lon", "lat"} <= set(self.columns[name]):
                continue
            outside = (f"isfinite(lon) AND isfinite(lat) AND NOT (lon BETWEEN {p(west)} AND {p(east)} "
                       f"AND lat BETWEEN {p(south)} AND {p(north)})")
            count = sql(self.con, f"SELECT count_if({outside}) FROM {name}", p)[0][0]
            if count:
                show = None if name == "households" else "printf('%.5f, %.5f', lon, lat)"  # homes stay private
                self._warn(name, "lon, lat", "coordinates outside the area", count,
                           f"longitude {west:g} to {east:g} and latitude {south:g} to {north:g} (China; another "
                           "area with datapackage.json's \"bounds\": [lon_min, lat_min, lon_max, lat_max]); check "
                           "for swapped or sign-flipped longitude and latitude",
                           self._examples(name, name, outside, quote(TABLES[name].key), show=show))
        self._check_far_households()

    def _check_far_households(self, km: float = FAR_KM) -> None:
        """Households farther than ``km`` from every located service point of their own region
        (of the whole package when their region has none) are a warning: counted per region,
        computed in the engine, never naming a household or its location."""
        need = {"lon", "lat", "region_id"}
        if not all(t in self.loaded and need <= set(self.columns[t]) for t in ("households", "service_points")):
            return
        p = self.params
        dist = ("2 * 6371.0088 * asin(sqrt(least(1, pow(sin(radians(s.lat - h.lat) / 2), 2) + cos(radians(h.lat)) "
                "* cos(radians(s.lat)) * pow(sin(radians(s.lon - h.lon) / 2), 2))))")
        near = f"abs(s.lat - h.lat) <= {p(km / 111.0)} AND {dist} <= {p(km)}"  # 1 degree of latitude >= 110.5 km
        rows = sql(self.con, f"""
            WITH s AS (SELECT region_id, lon, lat FROM service_points WHERE isfinite(lon) AND isfinite(lat)),
                 h AS (SELECT region_id, lon, lat FROM households WHERE isfinite(lon) AND isfinite(lat)),
                 own AS (SELECT * FROM h WHERE region_id IN (SELECT region_id FROM s WHERE region_id IS NOT NULL)),
                 other AS (SELECT * FROM h WHERE region_id IS NULL
                           OR region_id NOT IN (SELECT region_id FROM s WHERE region_id IS NOT NULL)),
                 far AS (SELECT region_id FROM own h WHERE NOT EXISTS
                             (SELECT 1 FROM s WHERE s.region_id = h.region_id AND {near})
                         UNION ALL
                         SELECT region_id FROM other h WHERE EXISTS (SELECT 1 FROM s)
                             AND NOT EXISTS (SELECT 1 FROM s WHERE {near}))
            SELECT region_id, count(*) AS n FROM far GROUP BY region_id ORDER BY n DESC, region_id""", p)
        if not rows:
            return
        names = {}
        if "regions" in self.loaded and "name" in self.columns.get("regions", {}):
            names = dict(sql(self.con, "SELECT region_id, name FROM regions WHERE region_id IN "
                                       f"(SELECT unnest({p([r for r, _ in rows if r is not None])}))", p))
        examples = [f"region {r} ({names[r]}): {n} household{'s' if n != 1 else ''}" if names.get(r) else
                    f"region {r}: {n} household{'s' if n != 1 else ''}" for r, n in rows[:MAX_EXAMPLES]]
        self._warn("households", "lon, lat", "far from every service point", sum(n for _, n in rows),
                   f"households within {km:g} km of a service point of their region (of the package when their "
                   f"region has none); {len(rows)} region{'s have' if len(rows) != 1 else ' has'} households farther; "
                   "check for misplaced homes or points, or swapped longitude and latitude", examples)

    def _check_zero_weights(self) -> None:
        """Zero survey weights are allowed (the household counts for nothing) and counted in
        a warning; all weights zero leaves nothing to estimate from and is an error."""
        if "households" not in self.loaded or "weight" not in self.columns["households"]:
            return
        finite, zero = sql(self.con, "SELECT count_if(isfinite(weight)), count_if(weight = 0) FROM households")[0]
        if not zero:
            return
        if zero == finite:
            self._error("households", "weight", "zero weights", zero,
                        f"weights that are not all zero: all {zero} given weights are 0, so every weighted "
                        "estimate is undefined (leave the column empty for an unweighted package)")
            return
        examples = self._examples("households", "households", "weight = 0", quote("household_id"), show=None)
        self._warn("households", "weight", "zero weights", zero,
                   f"{zero} of {finite} households have weight 0 and count for nothing in weighted estimates",
                   examples)

    def _check_reference(self, name: str, col: Column) -> None:
        target_table, target_col = col.references.split(".")
        if target_table not in self.loaded or target_col not in self.columns.get(target_table, {}):
            if target_table not in self.files and col.name in self.columns[name]:
                self._warn(name, col.name, "reference not checked", 0,
                           f"refers to {target_table}, which the package does not have")
            return
        c = quote(col.name)
        self._examples_check(
            name, col.name, "foreign key", f"every value to be a {target_col} in {self.files[target_table].path.name}",
            name, f"{c} IS NOT NULL AND {c} NOT IN (SELECT {quote(target_col)} FROM {target_table} WHERE {quote(target_col)} IS NOT NULL)",
            quote(TABLES[name].key), show=c,
        )

    def _check_unique(self, name: str, columns: tuple[str, ...]) -> None:
        """Each value of the key (or combination of ``columns``) once; repeats named with their rows."""
        cols = ", ".join(quote(c) for c in columns)
        value = quote(columns[0]) if len(columns) == 1 else f"({cols})::VARCHAR"
        given = " AND ".join(f"{quote(c)} IS NOT NULL" for c in columns)
        rows = sql(self.con, f"""
            SELECT {value}, count(*) AS n, list(_row ORDER BY _row)[1:3] FROM {name}
            WHERE {given} GROUP BY {cols} HAVING count(*) > 1 ORDER BY min(_row)""")
        if rows:
            source = self.files[name]
            examples = [f"{v if isinstance(v, dt.date) or len(columns) > 1 else repr(v)} at "
                        + ", ".join(source.where(r) for r in rs) for v, _, rs in rows[:MAX_EXAMPLES]]
            what = columns[0] if len(columns) == 1 else f"({', '.join(columns)})"
            self._error(name, ", ".join(columns), "unique key", sum(n for _, n, _ in rows),
                        f"each {what} once ({len(rows)} value(s) repeat)", examples)

    def _check_periods(self, name: str, col: Column) -> None:
        """Period labels (written the canonical way on reading, ``2024q1``, ``2024-Q1``, ``2024年第1季度``
        -> ``2024Q1``, see :meth:`period_labels`) that are no period of the package's frequency,
        or periods starting after the extraction date, are errors naming their rows."""
        c = quote(col.name)
        _, bad, late = self.period_labels(name, col)
        example = periods.label(dt.date(2024, 1, 1), self.frequency)
        key = quote(TABLES[name].key)
        if bad:
            self._examples_check(name, col.name, "period label",
                                 f"a {self.frequency} period such as {example} (the package's frequency)",
                                 name, f"list_contains({self.params(bad)}, {c})", key, show=c)
        if late:
            source = "datapackage.json's extracted_on" if self.extracted_declared else \
                "today, as datapackage.json gives no extracted_on"
            self._examples_check(name, col.name, "latest period",
                                 f"periods starting on or before the extraction date {self.extracted} ({source})",
                                 name, f"list_contains({self.params(late)}, {c})", key, show=c)

    def _check_period_dates(self) -> None:
        dated = [(name, column) for name, column in PERIOD_DATES.items() if name in self.loaded and column in self.columns[name]]
        counts = self._scan([(name, [f"count(*) - count({column})", "count(*)"]) for name, column in dated])
        for (name, column), (missing, total) in zip(dated, counts):
            if missing:
                self._warn(name, column, "missing dates", missing,
                           f"{missing / total:.1%} of rows have no {column} and fall in no period")

    def _check_calendar_years(self) -> None:
        """Warn when case dates fall in years no working-day calendar covers: the indicators
        counting working days (processing times, deadline warnings) would fail on them."""
        if "cases" not in self.loaded:
            return
        columns = [c for c in ("applied_on", "verified_on", "decided_on", "delivered_on", "deadline_on")
                   if c in self.columns["cases"]]
        if not columns:
            return
        found = sql(self.con, " UNION ".join(f"SELECT DISTINCT year({quote(c)}) FROM cases WHERE {quote(c)} IS NOT NULL"
                                             for c in columns))
        listed = {}
        if "calendar" in self.loaded and {"date", "working"} <= set(self.columns["calendar"]):
            listed = dict(sql(self.con, 'SELECT year("date"), count(DISTINCT "date") FROM calendar '
                                        'WHERE "date" IS NOT NULL AND working IS NOT NULL GROUP BY 1'))
        missing = sorted(int(y) for (y,) in found if int(y) not in workdays.COVERED_YEARS
                         and listed.get(y, 0) < (dt.date(int(y) + 1, 1, 1) - dt.date(int(y), 1, 1)).days)
        if not missing:
            return
        rows = sql(self.con, "SELECT count(*) FROM cases WHERE " + " OR ".join(
            f"list_contains($years, year({quote(c)}))" for c in columns), {"years": missing})[0][0]
        covered = workdays.COVERED_YEARS
        self._warn("cases", ", ".join(columns), "working-day calendar", rows,
                   f"dates in years a working-day calendar covers: {workdays.SOURCE} covers {covered[0]}-{covered[-1]}; "
                   f"{', '.join(map(str, missing))} need(s) a calendar table, else the working-day indicators fail: "
                   + workdays.HOW_TO_SUPPLY)

    def _check_region_tree(self) -> None:
        regions = self.con.table("regions").select("_row", "region_id", "parent_id", "reform_period").execute()
        parent = dict(zip(regions["region_id"], regions["parent_id"]))
        cyclic = []
        for region in parent:
            node, seen = region, set()
            while node in parent and node not in seen:
                seen.add(node)
                node = parent[node]
            if node in seen:
                cyclic.append(region)
        if cyclic:
            self._error("regions", "parent_id", "region tree", len(cyclic),
                        "parents that lead up to a root, never back to the region itself",
                        [repr(r) for r in cyclic[:MAX_EXAMPLES]])
        bad = []
        for row, value in zip(regions["_row"], regions["reform_period"]):
            if value is None or pd.isna(value):
                continue
            try:
                periods.parse(value, self.frequency)
            except ValueError:
                bad.append(f"{self.files['regions'].where(int(row))}: {value!r}")
        if bad:
            self._error("regions", "reform_period", "period label", len(bad),
                        f"a {self.frequency} period such as {periods.label(pd.Timestamp('2024-01-01').date(), self.frequency)}, or empty",
                        bad[:MAX_EXAMPLES])

    # -- helpers ----------------------------------------------------------------
    def period_span(self) -> list[str]:
        """Periods from the earliest to the latest period date, ignoring implausible dates
        (reported as errors), so one wild date never adds empty periods."""
        plausible = f"FILTER (WHERE {{c}} BETWEEN {self.params(self.earliest)} AND {self.params(self.extracted)})"
        bounds = self._scan([(t, [f"min({c}) {plausible.format(c=c)}", f"max({c}) {plausible.format(c=c)}"])
                             for t, c in PERIOD_DATES.items() if t in self.loaded])
        firsts = [b[0] for b in bounds if b[0] is not None]
        lasts = [b[1] for b in bounds if b[1] is not None]
        # the household panel's periods count too (a package may bring the panel without dated records)
        for name, table in TABLES.items():
            for col in table.columns:
                if col.period and name in self.loaded and col.name in self.columns[name]:
                    c = quote(col.name)
                    for (label,) in sql(self.con, f"SELECT DISTINCT {c} FROM {name} WHERE {c} IS NOT NULL"):
                        try:
                            start = periods.bounds(label, self.frequency)[0]
                        except ValueError:  # reported as an error already
                            continue
                        if self.earliest <= start <= self.extracted:
                            firsts.append(start)
                            lasts.append(start)
        return periods.span(min(firsts), max(lasts), self.frequency) if firsts else []

    def _formula_warning(self, name: str, column: str, value: str, relation: str) -> None:
        """Warn on identifiers a spreadsheet would run as formulas (evalkit's CSVs neutralise them);
        counted in the table's scan of queued checks."""
        self._examples_check(name, column, "formula-like text",
                             "identifiers not starting with = + - @, a tab or a carriage return (spreadsheets run them "
                             "as formulas; evalkit writes them quoted)",
                             relation, f"list_contains({self.params(list(FORMULA_START))}, left({value}, 1))", None,
                             show=None, severity="warning", group=f"_raw.{name}")

    def _examples_check(self, name, column, check, expected, relation, predicate, key, show, personal=False,
                        severity="error", group=None):
        """Queue a row check: rows of ``relation`` matching ``predicate`` are problems, reported with
        the problems of their ``group`` (default: the relation; see :meth:`_record_checks`)."""
        self.pending.append((name, column, check, expected, relation, predicate, key, show, personal, severity,
                             group or relation))

    def _count(self, aggregates: list[tuple[str, str]]) -> list:
        """The value of each ``(relation, aggregate)``: every relation scanned once, all in one statement."""
        by_relation: dict[str, list[int]] = {}
        for i, (relation, _) in enumerate(aggregates):
            by_relation.setdefault(relation, []).append(i)
        results = self._scan([(relation, [aggregates[i][1] for i in at]) for relation, at in by_relation.items()])
        values = [None] * len(aggregates)
        for at, result in zip(by_relation.values(), results):
            for i, value in zip(at, result):
                values[i] = value
        return values

    def _record_checks(self, checks: list[tuple], counts: list[int]) -> None:
        """Record the queued checks that found rows, with a few example rows: group by group, in
        the order each group was first queued (a table's raw values, say), warnings first, then
        errors."""
        groups = {group: i for i, group in enumerate(dict.fromkeys(c[-1] for c in checks))}
        found = sorted(((check, count) for check, count in zip(checks, counts) if count), key=lambda f: groups[f[0][-1]])
        for severity in ("warning", "error"):
            for check, count in found:
                if check[9] == severity:
                    self._record(*check[:10], count)

    def _record(self, name, column, check, expected, relation, predicate, key, show, personal, severity, count):
        examples = self._examples(name, relation, predicate, key, show, personal)
        self.report.add(severity, name, self._file(name), column, check, count, expected, examples)

    def _examples(self, name, relation, predicate, key, show, personal=False) -> list[str]:
        """The first rows of ``relation`` matching ``predicate``, as the user finds them in the file."""
        key_sql = key or "NULL"
        show_sql = "NULL" if personal or show is None else show
        rows = sql(self.con, f"""
            SELECT _row, {key_sql}, {show_sql} FROM {relation} WHERE {predicate} ORDER BY _row LIMIT {self.params(MAX_EXAMPLES)}""",
                   self.params)
        source = self.files[name]
        examples = []
        for row, keyval, shown in rows:
            text = source.where(int(row))
            if key and keyval is not None and not (self.hash_household_ids and TABLES[name].key == "household_id"):
                text += f" ({TABLES[name].key}={keyval})"
            if shown is not None:
                text += f": {shown!r}"
            examples.append(text)
        return examples

    def _error(self, table, column, check, count, expected, examples=()):
        self.report.add("error", table, self._file(table), column, check, count, expected, examples)

    def _warn(self, table, column, check, count, expected, examples=()):
        self.report.add("warning", table, self._file(table), column, check, count, expected, examples)

    def _file(self, table: str) -> str:
        return self.files[table].path.name if table in self.files else table


def _bounds(meta: dict) -> tuple[float, float, float, float]:
    """datapackage.json's optional ``bounds``, the area points are expected in (default China)."""
    value = meta.get("bounds", CHINA_BOUNDS)
    ok = (isinstance(value, (list, tuple)) and len(value) == 4
          and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value))
    if not ok or not (-180 <= value[0] < value[2] <= 180 and -90 <= value[1] < value[3] <= 90):
        raise PackageError(f"datapackage.json: bounds must be [lon_min, lat_min, lon_max, lat_max] in degrees, "
                           f"west before east and south before north; got {value!r}")
    return tuple(float(v) for v in value)


def _design(meta: dict) -> dict:
    """datapackage.json's optional ``design``: how the households were sampled (see evalkit.methods.survey.Design)."""
    design = meta.get("design") or {}
    allowed = {"weight", "stratum", "psu", "fpc", "lonely_psu", "census"}
    if not isinstance(design, dict) or set(design) - allowed:
        raise PackageError(f"datapackage.json: design must be an object with keys among {', '.join(sorted(allowed))}, "
                           f"got {design!r}")
    columns = {c.name for c in TABLES["households"].columns}
    for key in ("weight", "stratum", "psu", "fpc"):
        if design.get(key) is not None and (not isinstance(design[key], str) or design[key] not in columns):
            raise PackageError(f"datapackage.json: design.{key} names {design[key]!r}, which is not a households "
                               f"column ({', '.join(sorted(columns))})")
    if "census" in design and not isinstance(design["census"], bool):
        raise PackageError(f"datapackage.json: design.census must be true or false, got {design['census']!r}")
    if "lonely_psu" in design and not isinstance(design["lonely_psu"], str):
        raise PackageError(f"datapackage.json: design.lonely_psu must be text such as \"remove\", got {design['lonely_psu']!r}")
    return design


def _extracted_on(meta: dict) -> str | None:
    """datapackage.json's optional ``extracted_on``: the day the data were extracted (ISO date)."""
    value = meta.get("extracted_on")
    if value is None or value == "":
        return None
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise PackageError(f"datapackage.json: extracted_on must be a date such as 2025-01-15, got {value!r}") from None


def _norm_header(text: str) -> str:
    return "".join(str(text).split()).lower().replace("（", "(").replace("）", ")")


def _convert_sql(col: Column, value: str, bind: Params) -> str:
    """SQL turning a trimmed text value into the column's type; NULL when it does not parse.

    Formats and spellings are bound through ``bind``; run the SQL with those parameters.
    """
    if col.kind == "string":
        return value
    if col.kind == "float":
        return f"TRY_CAST(REPLACE({value}, ',', '') AS DOUBLE)"
    if col.kind == "int":
        d = f"TRY_CAST({value} AS DOUBLE)"  # nan, inf and out-of-range values do not parse
        return f"CASE WHEN isfinite({d}) AND {d} = FLOOR({d}) THEN TRY_CAST({d} AS BIGINT) END"
    if col.kind == "date":
        return f"CAST(try_strptime({value}, {bind(list(DATE_FORMATS))}) AS DATE)"
    if col.kind == "bool":
        yes, no = bind(list(TRUE_SPELLINGS)), bind(list(FALSE_SPELLINGS))
        return f"CASE WHEN list_contains({yes}, lower({value})) THEN TRUE WHEN list_contains({no}, lower({value})) THEN FALSE END"
    if col.kind == "enum":
        whens = " ".join(
            f"WHEN list_contains({bind([s.lower() for s in (canon, *spellings)])}, lower({value})) THEN {bind(canon)}"
            for canon, spellings in col.values.items()
        )
        return f"CASE {whens} END"
    raise ValueError(f"unknown column kind {col.kind!r}")


def _repeats_sql(columns: tuple[str, ...]) -> str:
    """An aggregate that is not 0 when a value of ``columns`` (together) is given in several rows:
    fewer distinct hashes than values. Two values sharing a hash (rare) only make the exact
    check (:meth:`_Loader._check_unique`) run and find no repeat."""
    given = " AND ".join(f"{quote(c)} IS NOT NULL" for c in columns)
    return f"count_if({given}) - count(DISTINCT hash({', '.join(quote(c) for c in columns)})) FILTER (WHERE {given})"


#: Session variables holding the values a view reads (DuckDB binds no parameters in a view).
_VARIABLE = "evalkit_"

#: A looked-up column with more spellings to change than this is converted row by row.
MAX_LOOKUP = 64

_INTEGERS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
             "UHUGEINT"}
_WIDE_INTEGERS = {"BIGINT", "HUGEINT", "UBIGINT", "UHUGEINT"}  # beyond 2**53: through DOUBLE, as the text route goes
_TIMESTAMPS = {"TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS"}


def _native(col: Column, dtype: str) -> bool:
    """Whether a Parquet column of DuckDB type ``dtype`` is read as is for ``col``, with no
    cast to text and back: strings for strings and enumerations, integers for whole
    numbers, doubles and integers for numbers, DATE and TIMESTAMP for dates, BOOLEAN for
    yes/no. Anything else (dates as strings, numbers as text, floats in a whole-number
    column, 32-bit floats, decimals, time zones) takes the text route."""
    if col.kind in ("string", "enum"):
        return dtype == "VARCHAR"
    if col.kind == "int":
        return dtype in _INTEGERS
    if col.kind == "float":
        return dtype == "DOUBLE" or dtype in _INTEGERS
    if col.kind == "date":
        return dtype == "DATE" or dtype in _TIMESTAMPS
    if col.kind == "bool":
        return dtype == "BOOLEAN"
    return False


def _native_sql(col: Column, column: str, dtype: str) -> tuple[str, str, str | None, str]:
    """``(value, typed, problem, shown)`` for a Parquet column read as is (see :func:`_native`):
    the value, its typed form, the predicate of a value the text route would refuse as
    of the wrong type (None when none can be) and the value as the text route shows it.
    Each gives what the text route gives on ``CAST(column AS VARCHAR)``, without the cast."""
    shown = f"CAST({column} AS VARCHAR)"
    if col.kind in ("string", "enum"):
        value = f"NULLIF(TRIM({column}), '')"
        return value, value, None, value
    if col.kind == "int":
        if dtype in _WIDE_INTEGERS:
            typed = f"TRY_CAST(CAST({column} AS DOUBLE) AS BIGINT)"
            return column, typed, f"{column} IS NOT NULL AND {typed} IS NULL", shown
        return column, f"CAST({column} AS BIGINT)", None, shown
    if col.kind == "float":
        return column, column if dtype == "DOUBLE" else f"CAST({column} AS DOUBLE)", None, shown
    if col.kind == "date":  # the text route reads years 1-9999 and whole seconds
        if dtype == "DATE":
            return column, column, f"{column} IS NOT NULL AND (NOT isfinite({column}) OR year({column}) NOT BETWEEN 1 AND 9999)", shown
        ts = f"CAST({column} AS TIMESTAMP)"
        problem = (f"{column} IS NOT NULL AND (NOT isfinite({column}) OR year({column}) NOT BETWEEN 1 AND 9999 "
                   f"OR {ts} <> date_trunc('second', {ts}))")
        return column, f"CAST({column} AS DATE)", problem, shown
    return column, column, None, shown  # BOOLEAN


def _expected(col: Column) -> str:
    if col.kind == "int":
        return "a whole number"
    if col.kind == "float":
        return "a number"
    if col.kind == "date":
        return "a date such as 2024-03-01 (also 2024/3/1, 20240301, 2024年3月1日)"
    if col.kind == "bool":
        return "yes or no (1/0, true/false, 是/否)"
    allowed = ", ".join(f"{k} ({'/'.join(v)})" if v else k for k, v in col.values.items())
    return f"one of {allowed}"
