"""Indicator results: one tidy table, overall and by group, with comparisons between groups.

In the spirit of fairlearn's ``MetricFrame``: one object holds every indicator overall
and by group, and differences and ratios to a reference are methods.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from evalkit.data.io import atomic_write
from evalkit.indicators.catalogue import load_catalogue

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
    """

    def __init__(self, table: pd.DataFrame, skipped: dict[str, str] | None = None, min_cell: int = 10):
        self.table = table[COLUMNS].reset_index(drop=True).astype(
            {c: "float64" for c in ("value", "numerator", "denominator", "ci_low", "ci_high")})
        self.skipped = dict(skipped or {})
        self.min_cell = min_cell

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

    def to_file(self, path, published: bool = True) -> Path:
        """Write the table (published by default) as .csv or .parquet, atomically."""
        path = Path(path)
        frame = self.published() if published else self.table
        if path.suffix == ".csv":
            return atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False, encoding="utf-8"))
        if path.suffix == ".parquet":
            return atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False))
        raise ValueError(f"output must end in .csv or .parquet, got {path.name}")

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
