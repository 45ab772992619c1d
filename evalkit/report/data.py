"""The results file reports read: indicators computed once, published, with context.

``evalkit report`` computes every indicator for every region and period once, writes the
published table (small cells blanked) to ``results.parquet`` with the context notebooks
need (region names and tree, periods, package name, data fingerprint) in the Parquet
metadata, and passes the file's path to each notebook, which reads it instead of
recomputing. The results' provenance (:mod:`evalkit.provenance`) goes into the same
file's metadata under ``evalkit.provenance``, as ``IndicatorResults.to_file`` writes it.

A few indicators are broken down by more than the report's ``by`` (:data:`EXTRA_BREAKDOWNS`:
coverage and benefit incidence by pre-transfer income quintile, which the fairness part
charts), and the concentration curves the fairness part draws are computed here too, as an
aggregate table of curve ordinates (:mod:`evalkit.report.curves`) kept in the same file's
metadata under ``evalkit.report.curves``: notebooks never see a household. The
covariance of each region-wide cell with the same cell one period earlier is kept too
(``evalkit.report.covariances``, only where both cells are published), so the scorecard
tests changes with the design's standard error (:meth:`IndicatorResults.change`).

What the appendix's data-coverage section shows is kept in the context too: the row count of
every table read (``tables``) and the package's validation warnings (``warnings``: table,
column, check, row count and what was expected; never the example rows, and identity-shaped
numbers masked). Files written before these were kept load with neither.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from evalkit.data.io import atomic_write
from evalkit.data.io import directory_sha256 as data_hash  # the data fingerprint: SHA-256 over the package's files
from evalkit.errors import ReportError
from evalkit.provenance import PARQUET_KEY as PROVENANCE_KEY
from evalkit.results.disclosure import protect
from evalkit.results.indicator_results import COLUMNS, IndicatorResults, blank_suppressed

from . import curves as curves_mod
from .parameters import DEFAULT_BY

RESULTS_FILE = "results.parquet"
META_KEY = b"evalkit.report"
CURVES_KEY = b"evalkit.report.curves"
#: covariances of each region-wide cell with the same cell one period earlier (both
#: published), so ``ReportData.results().change()`` has the design's standard error of a change
COVARIANCES_KEY = b"evalkit.report.covariances"
#: Breakdowns computed for a few indicators on top of the report's ``by`` (catalogue ids not
#: defined yet are left out): coverage and benefit incidence by pre-transfer income quintile.
EXTRA_BREAKDOWNS = {"income_quintile": tuple(f"fairness.{kind}_{sector}" for kind in ("coverage", "benefit_incidence")
                                             for sector in ("government", "charity", "any"))}
#: Region context kept with the results: names and tree for labels, reform start for trends.
REGION_COLUMNS = ["region_id", "name", "parent_id", "level", "reform_period"]


@dataclass
class ReportData:
    """Published indicator results with the context a report needs."""

    table: pd.DataFrame  # published: small cells' values blanked
    regions: pd.DataFrame  # region_id, name, parent_id, level
    periods: list[str]
    package: str
    frequency: str
    data_hash: str
    min_cell: int
    skipped: dict[str, str] = field(default_factory=dict)
    impact: dict = field(default_factory=dict)  # the reform's effect (evalkit.impact.reform_effects), package-wide
    groups: tuple[str, ...] = ()
    provenance: dict = field(default_factory=dict)  # evalkit.provenance record of the computation
    params: dict = field(default_factory=dict)  # indicator parameters the numbers were computed with (JSON)
    curves: pd.DataFrame | None = None  # concentration curve ordinates (evalkit.report.curves), aggregate only
    covariances: pd.DataFrame | None = None  # region-wide cells with the previous period and a year before (period_covariances)
    tables: dict = field(default_factory=dict)  # table name -> rows read (the appendix's data coverage)
    warnings: list = field(default_factory=list)  # validation warnings (coverage_warnings): no example rows

    def content_hash(self) -> str:
        """SHA-256 of the published table's content (row order, values, labels)."""
        if not hasattr(self, "_content_hash"):
            rows = pd.util.hash_pandas_object(self.table[COLUMNS], index=False).to_numpy()
            self._content_hash = hashlib.sha256(rows.tobytes()).hexdigest()
        return self._content_hash

    def results(self) -> IndicatorResults:
        return IndicatorResults(self.table, self.skipped, self.min_cell, covariances=self.covariances,
                                provenance=self.provenance)

    def region_name(self, region: str) -> str:
        names = dict(zip(self.regions["region_id"], self.regions["name"]))
        name = names.get(region)
        return name if isinstance(name, str) and name else region

    def children(self, region: str) -> list[str]:
        kids = self.regions[self.regions["parent_id"] == region]["region_id"]
        present = set(pd.unique(self.table["region"]))
        return [r for r in kids if r in present]

    def reform_period(self, region: str) -> str | None:
        """The period the linkage reform started in ``region``, or None (never, or unknown)."""
        found = self.regions.loc[self.regions["region_id"] == region, "reform_period"]
        value = found.iloc[0] if len(found) else None
        return str(value) if isinstance(value, str) and value else None

    def roots(self) -> list[str]:
        return list(self.regions.loc[self.regions["parent_id"].isna(), "region_id"])

    def families(self) -> list[str]:
        """Families with at least one computed indicator."""
        if not hasattr(self, "_families"):
            self._families = [str(f) for f in pd.unique(self.table["family"])]  # first-seen order
        return list(self._families)

    def meta(self) -> dict:
        regions = self.regions.reindex(columns=REGION_COLUMNS).astype(object)
        return {
            "package": self.package,
            "frequency": self.frequency,
            "periods": list(self.periods),
            "data_hash": self.data_hash,
            "min_cell": int(self.min_cell),
            "skipped": dict(self.skipped),
            "groups": list(self.groups),
            "params": dict(self.params),
            "regions": regions.where(regions.notna(), None).to_dict("records"),
            "impact": self.impact,
            "tables": {str(k): int(v) for k, v in self.tables.items()},
            "warnings": [dict(w) for w in self.warnings],
        }


def compute_data(directory, min_cell: int = 10, groups=DEFAULT_BY, key_file=None, digest: str | None = None,
                 params=None, earliest_date=None) -> ReportData:
    """Load and validate the package at ``directory`` and compute every indicator once,
    broken down by the ``groups`` the package has values for, with the indicator
    ``params`` (:mod:`evalkit.indicators.parameters`; defaults for the rest). Dates before
    ``earliest_date`` (default 1990-01-01) are validation errors.

    Raises ``evalkit.ValidationError`` for an invalid package.
    """
    from evalkit.data.package import load
    from evalkit.impact import reform_effects
    from evalkit.indicators.compute import compute
    from evalkit.indicators.groups import DERIVED, intersection_parts
    from evalkit.indicators.parameters import resolve

    from .curves import concentration_curves

    params = resolve(params)

    digest = digest or data_hash(directory)
    package = load(directory, key_file=key_file, earliest_date=earliest_date)
    package.sha256 = digest  # already computed: the provenance reuses it
    try:
        # a grouping (each side of an intersection, hukou*urban) needs values in its household column;
        # derived groups (income_quintile, ...) put households without inputs in "(missing)"
        by = [g for g in groups if all(package.has_values("households", c) for c in intersection_parts(g)
                                       if c not in DERIVED)]
        results = compute(package, by=by, min_cell=min_cell, params=params)
        table = results.published()
        for group_by, ids in EXTRA_BREAKDOWNS.items():
            if group_by not in by:
                table = _with_breakdown(table, package, group_by, ids, min_cell, params, results.skipped)
        curves = curves_mod.follow_table(concentration_curves(package, params, min_cell=int(min_cell)), table)
        impact = reform_effects(results, package.regions, min_cell=int(min_cell))  # once per package
        regions = package.regions.reindex(columns=REGION_COLUMNS)
        return ReportData(
            table=table, regions=regions.reset_index(drop=True), periods=list(package.periods),
            package=package.name, frequency=package.frequency, data_hash=digest, min_cell=int(min_cell),
            skipped=dict(results.skipped), groups=tuple(by), provenance={**results.provenance, "published": True},
            params=params.to_json(), curves=curves, impact=impact,
            covariances=period_covariances(results.covariances, table),
            tables=dict(package.rows), warnings=coverage_warnings(package.report),
        )
    finally:
        close = getattr(package.con, "disconnect", None)
        if close is not None:
            try:
                close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass


#: What a validation warning keeps in the results file: where, which check, how many rows, what was expected.
WARNING_FIELDS = ("table", "column", "check", "count", "expected")


def coverage_warnings(report) -> list[dict]:
    """The validation warnings of a package (:class:`evalkit.data.validation.ValidationReport`)
    as the results file keeps them: :data:`WARNING_FIELDS` only (no example rows, which can
    hold values of a row), identity-shaped numbers masked in the text."""
    from evalkit.data.validation import IDENTITY_SHAPED

    def clean(value):
        return IDENTITY_SHAPED.sub("[identity number hidden]", str(value)) if isinstance(value, str) else value

    return [{f: clean(getattr(p, f)) for f in WARNING_FIELDS} for p in getattr(report, "warnings", [])]


def _with_breakdown(table: pd.DataFrame, package, group_by: str, ids, min_cell: int, params,
                   skipped: dict) -> pd.DataFrame:
    """``table`` with the rows by ``group_by`` of the indicators ``ids``, computed in a run of their own.

    Only these indicators are broken down (breaking every indicator down by income quintile
    would let a few small cells of unrelated indicators suppress, through shared counts,
    every quintile of the region). The run protects its own margins (quintiles against
    the region's overall row, shared counts between these indicators); where its overall
    row of a cell is suppressed differently from the main run's, the cell's group rows
    are suppressed too, so no published total or group recovers a hidden one.
    """
    from evalkit.indicators import REGISTRY
    from evalkit.indicators.catalogue import load_catalogue
    from evalkit.indicators.compute import compute

    catalogue = load_catalogue()
    published = set(table["indicator"].unique())
    ids = [i for i in ids if i in catalogue and i in REGISTRY and i not in skipped and i in published]
    if not ids:
        return table
    extra = compute(package, indicators=ids, by=[group_by], min_cell=min_cell, params=params).published()
    keys = ["indicator", "service_type", "region", "period"]
    theirs = extra[extra["group_by"] == ""].set_index(keys)["suppressed"]
    ours = table[table["indicator"].isin(ids) & (table["group_by"] == "")].set_index(keys)["suppressed"]
    differ = theirs.reindex(ours.index).fillna(True).astype(bool) != ours
    rows = extra[extra["group_by"] == group_by].reset_index(drop=True)
    hide = rows.set_index(keys).index.isin(differ[differ].index)
    rows.loc[hide, "suppressed"] = True
    rows = blank_suppressed(rows)
    return pd.concat([table, rows], ignore_index=True)[COLUMNS]


def period_covariances(covariances: pd.DataFrame | None, table: pd.DataFrame) -> pd.DataFrame:
    """The covariances of region-wide cells with the same cell one period earlier and one
    year earlier, where both cells are published in ``table`` (nothing of a suppressed cell is kept)."""
    cols = ["indicator", "service_type", "region", "period", "group_by", "group", "other_period", "other_group_by",
            "other_group", "cov"]
    if covariances is None or covariances.empty:
        return pd.DataFrame({c: pd.Series(dtype=float if c == "cov" else str) for c in cols})
    cov = covariances[(covariances["group_by"] == "") & (covariances["other_group_by"] == "")
                      & (covariances["group"] == "") & (covariances["other_group"] == "")
                      & (covariances["other_period"] != covariances["period"])]
    shown = table.loc[(table["group_by"] == "") & ~table["suppressed"].astype(bool),
                      ["indicator", "service_type", "region", "period"]]
    cov = cov.merge(shown, on=["indicator", "service_type", "region", "period"])
    cov = cov.merge(shown.rename(columns={"period": "other_period"}),
                    on=["indicator", "service_type", "region", "other_period"])
    return cov[cols].reset_index(drop=True)


def _covariances_from_json(raw) -> pd.DataFrame | None:
    if not raw:
        return None  # files written before covariances were kept: changes are not tested
    frame = pd.DataFrame(json.loads(raw))
    return frame.assign(group_by="", group="", other_group_by="", other_group="").astype({"cov": "float64"})


def save_data(data: ReportData, path, extra: dict | None = None) -> Path:
    """Write the published table with its context (and ``extra`` keys) to a Parquet file, atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(data.table[COLUMNS], preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[META_KEY] = json.dumps({**data.meta(), **(extra or {})}, ensure_ascii=False, sort_keys=True).encode("utf-8")
    if data.curves is not None and not data.curves.empty:
        meta[CURVES_KEY] = json.dumps(curves_mod.to_json(data.curves), sort_keys=True).encode("utf-8")
    if data.covariances is not None and not data.covariances.empty:
        cov = period_covariances(data.covariances, data.table)
        cov = cov[["indicator", "service_type", "region", "period", "other_period", "cov"]]
        meta[COVARIANCES_KEY] = json.dumps(cov.to_dict("list"), ensure_ascii=False).encode("utf-8")
    if data.provenance:
        meta[PROVENANCE_KEY] = json.dumps(data.provenance, ensure_ascii=False, sort_keys=True).encode("utf-8")
    table = table.replace_schema_metadata(meta)
    return atomic_write(Path(path), lambda tmp: pq.write_table(table, tmp))


def read_meta(path) -> dict | None:
    """The context stored with a results file, or None when it is not one of ours."""
    try:
        raw = _footer(path).metadata.get(META_KEY)
    except (OSError, ValueError):
        return None
    return json.loads(raw) if raw else None


@dataclass(frozen=True)
class _Footer:
    """What a results file keeps besides its rows: the raw metadata, and the curves and
    covariances of every region parsed (each read filters its regions)."""

    metadata: dict
    curves: pd.DataFrame
    covariances: pd.DataFrame | None


def _footer(path) -> _Footer:
    """The footer of ``path``, parsed once per file version: a batch worker renders one
    region after another from the same file, and a report's parts each read it."""
    stat = os.stat(path)
    return _parsed_footer(os.path.realpath(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=1)
def _parsed_footer(path: str, mtime_ns: int, size: int) -> _Footer:
    import pyarrow.parquet as pq

    metadata = pq.read_schema(path).metadata or {}
    raw = metadata.get(CURVES_KEY)
    return _Footer(metadata, curves_mod.from_json(json.loads(raw) if raw else None),  # files before curves: none
                   _covariances_from_json(metadata.get(COVARIANCES_KEY)))


def _protect_again(table: pd.DataFrame, regions: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """A published table suppressed again at a higher threshold, then blanked."""
    n = pd.to_numeric(table["n"], errors="coerce")
    denominator = pd.to_numeric(table["denominator"], errors="coerce")
    share = pd.to_numeric(table["numerator"], errors="coerce") / denominator.where(denominator > 0)
    m = (share * n).round().where(n > 0, 0.0).where(table["interval"].isin(["wilson", "logit_t"]))
    parents = regions.dropna(subset=["parent_id"])
    closure = pd.concat([pd.DataFrame({"region_id": regions["region_id"], "ancestor": regions["region_id"]}),
                         pd.DataFrame({"region_id": parents["region_id"], "ancestor": parents["parent_id"]})])
    protected = protect(table.assign(m=m), closure, min_cell)
    return blank_suppressed(protected[COLUMNS])


def load_data(path, min_cell: int | None = None, regions=None) -> ReportData:
    """Read a results file; ``regions`` limits the rows read (faster for one region).

    A ``min_cell`` above the file's blanks more cells: the primary and complementary
    rules run again at that threshold (:func:`evalkit.results.disclosure.protect`), on
    the rows read, starting from the cells the file already blanked. The file keeps no
    unweighted numerator count, so a rate's is taken as ``numerator / denominator * n``
    (exact for an unweighted package). A lower one cannot publish cells the file already blanked.
    """
    import pyarrow.parquet as pq

    meta = read_meta(path)
    if meta is None:
        raise ReportError(f"{path} is not a results file written by evalkit report")
    footer = _footer(path)
    raw = footer.metadata.get(PROVENANCE_KEY)
    provenance = json.loads(raw) if raw else {}  # files written before provenance was recorded have none
    curves, covariances = footer.curves.copy(), footer.covariances
    if regions is not None:
        curves = curves[curves["region"].isin(list(regions))].reset_index(drop=True)
    if covariances is not None:  # files written before covariances were kept have none: changes are not tested
        covariances = covariances[covariances["region"].isin(list(regions))] if regions is not None else covariances
        covariances = covariances.reset_index(drop=True)
    filters = [("region", "in", list(regions))] if regions is not None else None
    table = pq.read_table(path, filters=filters).to_pandas()
    for column, default in (("n_excluded", 0), ("n_censored", 0), ("incomplete", False)):
        if column not in table.columns:  # files written before exclusions (censoring) were counted
            table[column] = default
    table = table[COLUMNS].reset_index(drop=True)
    for col in ("service_type", "group_by", "group", "note"):
        table[col] = table[col].fillna("").astype(str)
    table["suppressed"] = table["suppressed"].astype(bool)
    table["incomplete"] = table["incomplete"].astype(bool)
    effective = int(meta["min_cell"])
    regions_frame = pd.DataFrame(meta["regions"], columns=REGION_COLUMNS)
    if min_cell is not None and min_cell > effective:
        table = _protect_again(table, regions_frame, int(min_cell))
        curves = curves_mod.follow_table(curves, table, int(min_cell))
        effective = int(min_cell)
    data = ReportData(
        table=table, regions=regions_frame, periods=list(meta["periods"]), package=meta["package"],
        frequency=meta["frequency"], data_hash=meta["data_hash"], min_cell=effective,
        skipped=dict(meta.get("skipped", {})), groups=tuple(meta.get("groups", ())), provenance=provenance,
        params=dict(meta.get("params", {})), curves=curves, covariances=covariances,
    )
    data.impact = dict(meta.get("impact") or {})  # files written before the impact was estimated have none
    # files written before the appendix's data coverage was kept have neither
    data.tables = {str(k): int(v) for k, v in (meta.get("tables") or {}).items()}
    data.warnings = [dict(w) for w in (meta.get("warnings") or [])]
    return data
