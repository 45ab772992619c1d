"""Indicator results: one tidy table, overall and by group, with comparisons between groups.

In the spirit of fairlearn's ``MetricFrame``: one object holds every indicator overall
and by group, and differences and ratios to a reference are methods.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from evalkit.data.io import atomic_write
from evalkit.indicators.catalogue import load_catalogue
from evalkit.provenance import PARQUET_KEY, SIDECAR_SUFFIX

COLUMNS = [
    "indicator", "family", "service_type", "region", "period", "group_by", "group",
    "value", "numerator", "denominator", "ci_low", "ci_high", "n", "suppressed", "note",
]
CELL = ["indicator", "service_type", "region", "period"]
HIDDEN_WHEN_SUPPRESSED = ["value", "numerator", "ci_low", "ci_high"]


class IndicatorResults:
    """Indicator values for every region, period, service type and group.

    ``table`` holds every row, small cells included (flagged ``suppressed``);
    :meth:`published` blanks the values of small cells for publication.
    ``skipped`` maps indicator ids that could not be computed to the reason.
    ``provenance`` records what the table was computed from (:mod:`evalkit.provenance`).
    """

    def __init__(self, table: pd.DataFrame, skipped: dict[str, str] | None = None, min_cell: int = 10,
                 provenance: dict | None = None):
        self.table = table[COLUMNS].reset_index(drop=True).astype(
            {c: "float64" for c in ("value", "numerator", "denominator", "ci_low", "ci_high")})
        self.skipped = dict(skipped or {})
        self.min_cell = min_cell
        self.provenance: dict = dict(provenance or {})

    def __repr__(self) -> str:
        indicators = self.table["indicator"].nunique()
        return f"<IndicatorResults: {indicators} indicators, {len(self.table)} rows, {len(self.skipped)} skipped>"

    def overall(self, indicator: str | None = None) -> pd.DataFrame:
        """Rows for the whole population of each region (no grouping)."""
        return self._select(self.table["group_by"] == "", indicator)

    def by_group(self, group_by: str, indicator: str | None = None) -> pd.DataFrame:
        """Rows for each value of the household column ``group_by``."""
        if group_by not in set(self.table["group_by"]):
            raise ValueError(f"results hold no grouping by {group_by!r}; compute with by=[{group_by!r}]")
        return self._select(self.table["group_by"] == group_by, indicator)

    def difference(self, group_by: str, reference: str | None = None) -> pd.DataFrame:
        """Each group's value minus the reference group's (or the overall value when None)."""
        return self._compare(group_by, reference, np.subtract, "difference")

    def ratio(self, group_by: str, reference: str | None = None) -> pd.DataFrame:
        """Each group's value divided by the reference group's (or the overall value when None)."""
        return self._compare(group_by, reference, np.divide, "ratio")

    def published(self) -> pd.DataFrame:
        """The table with small cells' values blanked, ready to share."""
        out = self.table.copy()
        out.loc[out["suppressed"], HIDDEN_WHEN_SUPPRESSED] = np.nan
        return out

    # -- provenance in files (begin) -------------------------------------------------
    def to_file(self, path, published: bool = True) -> Path:
        """Write the table (published by default) as .csv or .parquet, atomically, with its provenance.

        Parquet keeps the provenance in the file's key-value metadata (``evalkit.provenance``);
        CSV gets a sidecar ``<stem>.provenance.json`` beside it, written after the table and
        holding the table's SHA-256, so a sidecar left from another table is detected.
        :meth:`read_provenance` reads either back.
        """
        path = Path(path)
        if path.suffix not in (".csv", ".parquet"):
            raise ValueError(f"output must end in .csv or .parquet, got {path.name}")
        frame = self.published() if published else self.table
        record = {**self.provenance, "published": bool(published)}
        if path.suffix == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, preserve_index=False)
            meta = {**(table.schema.metadata or {}), PARQUET_KEY: _json(record).encode("utf-8")}
            return atomic_write(path, lambda tmp: pq.write_table(table.replace_schema_metadata(meta), tmp))
        sidecar = provenance_sidecar(path)
        sidecar.unlink(missing_ok=True)  # never leave the previous table's record beside the new one
        digest = {}

        def write(tmp):
            frame.to_csv(tmp, index=False, encoding="utf-8")
            digest["sha256"] = _sha256(tmp)

        atomic_write(path, write)
        record["file"] = {"name": path.name, "sha256": digest["sha256"]}
        atomic_write(sidecar, lambda tmp: tmp.write_text(_json(record, indent=2) + "\n", encoding="utf-8"))
        return path

    @staticmethod
    def read_provenance(path) -> dict | None:
        """The provenance recorded with a results file (.parquet metadata or the CSV's sidecar).

        None when the file has none (written before provenance was recorded, or by
        another tool); ``ValueError`` when a CSV's sidecar describes different contents.
        """
        path = Path(path)
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            raw = (pq.read_schema(path).metadata or {}).get(PARQUET_KEY)
            return json.loads(raw) if raw else None
        if path.suffix != ".csv":
            raise ValueError(f"results files end in .csv or .parquet, got {path.name}")
        if not path.exists():
            raise FileNotFoundError(path)
        sidecar = provenance_sidecar(path)
        if not sidecar.exists():
            return None
        record = json.loads(sidecar.read_text(encoding="utf-8"))
        expected = (record.get("file") or {}).get("sha256")
        if expected and expected != _sha256(path):
            raise ValueError(f"{sidecar.name} does not describe {path.name}: the table changed after it was written")
        return record
    # -- provenance in files (end) ---------------------------------------------------

    def labelled(self, lang: str = "zh") -> pd.DataFrame:
        """The overall table with the catalogue's indicator names in ``lang`` (zh or en)."""
        cat = load_catalogue()
        out = self.overall().copy()
        out.insert(1, "name", [cat[i].name(lang) for i in out["indicator"]])
        return out

    def _select(self, mask, indicator):
        if indicator is not None:
            mask = mask & (self.table["indicator"] == indicator)
        return self.table[mask].reset_index(drop=True)

    def _compare(self, group_by, reference, op, name):
        groups = self.by_group(group_by)
        if reference is None:
            ref = self.overall()
        else:
            ref = groups[groups["group"] == str(reference)]
            if ref.empty:
                raise ValueError(f"no group {reference!r} in {group_by}; groups: {sorted(set(groups['group']))}")
        ref = ref[CELL + ["value"]].rename(columns={"value": "reference_value"})
        out = groups[CELL + ["group", "value", "suppressed"]].merge(ref, on=CELL, how="left")
        with np.errstate(divide="ignore", invalid="ignore"):
            out[name] = op(out["value"], out["reference_value"])
        return out


def provenance_sidecar(path) -> Path:
    """The provenance file written beside a CSV table: ``ind.csv`` -> ``ind.provenance.json``."""
    path = Path(path)
    return path.with_name(path.stem + SIDECAR_SUFFIX)


def _json(record: dict, indent: int | None = None) -> str:
    return json.dumps(record, ensure_ascii=False, sort_keys=True, indent=indent, default=str)


def _sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
