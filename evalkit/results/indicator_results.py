"""Indicator results: one tidy table, overall and by group, with comparisons that keep their variance.

In the spirit of fairlearn's ``MetricFrame``: one object holds every indicator overall
and by group, and differences, ratios and changes are methods. Every row keeps its
standard error (``se``), degrees of freedom (``df``) and interval method; comparisons
take the covariance of the two estimates from the same sample into account (the two
share primary sampling units), so a gap's interval is neither too wide nor too narrow.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from evalkit.data.io import atomic_write, write_csv
from evalkit.indicators.catalogue import load_catalogue
from evalkit.methods.survey import logit_interval, t_interval, t_quantile, wilson
from evalkit.provenance import PARQUET_KEY, SIDECAR_SUFFIX
from evalkit.results.disclosure import known_zero

COLUMNS = [
    "indicator", "family", "service_type", "region", "period", "group_by", "group",
    "value", "numerator", "denominator", "se", "df", "ci_low", "ci_high", "interval", "n", "n_excluded",
    "n_censored", "incomplete", "suppressed", "note",
]
CELL = ["indicator", "service_type", "region", "period"]
# a suppressed row publishes none of these (the counts stay in a region without any unit:
# "no data" hides nothing): see blank_suppressed
HIDDEN_WHEN_SUPPRESSED = ["value", "numerator", "se", "ci_low", "ci_high", "denominator", "n", "n_excluded", "n_censored"]
HIDDEN_COUNTS = ["denominator", "n", "n_excluded", "n_censored"]
PAIR_KEYS = ["indicator", "service_type", "region", "period", "group_by", "group",
             "other_period", "other_group_by", "other_group"]
FLOATS = ("value", "numerator", "denominator", "se", "df", "ci_low", "ci_high")


class IndicatorResults:
    """Indicator values for every region, period, service type and group.

    ``table`` holds every row, small cells included (flagged ``suppressed``);
    :meth:`published` blanks the values of small cells for publication.
    ``skipped`` maps indicator ids that could not be computed to the reason.
    ``covariances`` holds, per indicator, the covariance of each group's estimate with its
    region's overall one and with the other groups, and of each period's with the
    previous period's and the same period's a year before (columns ``PAIR_KEYS`` and ``cov``). ``provenance`` records what the
    table was computed from (:mod:`evalkit.provenance`).

    >>> table = pd.DataFrame({"indicator": "x.rate", "family": "x", "service_type": "", "region": "R",
    ...     "period": "2024Q1", "group_by": ["", "hukou", "hukou"], "group": ["", "local", "migrant"],
    ...     "value": [0.5, 0.6, 0.4], "numerator": [50.0, 30, 20], "denominator": [100.0, 50, 50],
    ...     "se": [0.05, 0.07, 0.07], "df": 99.0, "ci_low": 0.0, "ci_high": 1.0, "interval": "t",
    ...     "n": [100, 50, 50], "suppressed": False, "note": ""})
    >>> gap = IndicatorResults(table).difference("hukou", reference="local")
    >>> gap[["group", "difference", "se"]].round(4).to_dict("records")
    [{'group': 'migrant', 'difference': -0.2, 'se': 0.099}]
    """

    def __init__(self, table: pd.DataFrame, skipped: dict[str, str] | None = None, min_cell: int = 10,
                 covariances: pd.DataFrame | None = None, design=None, confidence: float = 0.95,
                 provenance: dict | None = None):
        table = table.copy()
        for column, default in (("se", np.nan), ("df", np.nan), ("interval", ""), ("n_excluded", 0),
                                ("n_censored", 0), ("incomplete", False)):
            if column not in table.columns:  # tables written before standard errors (exclusions, censoring) were kept
                table[column] = default
        for column in ("n_excluded", "n_censored"):
            counts = pd.to_numeric(table[column], errors="coerce")
            # blank where a published table's suppressed row hides it
            table[column] = counts.astype("Int64" if counts.isna().any() else "int64")
        table["incomplete"] = table["incomplete"].astype(bool)
        self.table = table[COLUMNS].reset_index(drop=True).astype({c: "float64" for c in FLOATS})
        self.skipped = dict(skipped or {})
        self.min_cell = min_cell
        if covariances is None:
            covariances = pd.DataFrame({c: pd.Series(dtype=str) for c in PAIR_KEYS} | {"cov": pd.Series(dtype=float)})
        self.covariances = covariances.astype({"cov": "float64"})
        self.design = design
        self.confidence = confidence
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

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Intervals at another confidence level, by each row's own method (statsmodels-like).

        Returns the table's cells with ``ci_low`` and ``ci_high`` at ``level``. Kaplan-Meier
        quantile intervals exist only at the level they were computed with; at another
        level they are NaN (compute again with ``confidence=``).
        """
        if not 0 < level < 1:
            raise ValueError(f"level must be between 0 and 1, got {level}")
        t = self.table
        low = np.full(len(t), np.nan)
        high = np.full(len(t), np.nan)
        for method, rows in t.groupby("interval").groups.items():
            r = t.loc[rows]
            idx = t.index.get_indexer(rows)
            if method == "wilson":
                low[idx], high[idx] = wilson(r["numerator"], r["denominator"], level)
            elif method == "logit_t":
                low[idx], high[idx] = logit_interval(r["value"], r["se"], r["df"], level)
            elif method == "t":
                low[idx], high[idx] = t_interval(r["value"], r["se"], r["df"], level)
            elif np.isclose(level, self.confidence):
                low[idx], high[idx] = r["ci_low"], r["ci_high"]
        out = t[["indicator", "service_type", "region", "period", "group_by", "group", "value"]].copy()
        out["ci_low"], out["ci_high"] = low, high
        return out

    def difference(self, group_by: str, reference: str | None = None, published: bool = True) -> pd.DataFrame:
        """Each group's value minus the reference group's (or the region's overall value when None).

        Columns ``difference, se, ci_low, ci_high``: the gap's standard error uses the
        covariance of the two estimates (groups and regions share PSUs). With
        ``published`` (the default) every row that involves a suppressed cell is blanked.
        """
        out = self._pairs(group_by, reference)
        out["difference"] = out["value"] - out["reference_value"]
        out["se"] = np.sqrt(_clip(out["se_a"] ** 2 + out["se_b"] ** 2 - 2 * out["cov"]))
        out["ci_low"], out["ci_high"] = t_interval(out["difference"], out["se"], out["df"], self.confidence)
        return self._finish_pairs(out, "difference", published)

    def ratio(self, group_by: str, reference: str | None = None, published: bool = True) -> pd.DataFrame:
        """Each group's value divided by the reference group's (or the overall value when None).

        The interval is symmetric on the log scale (delta method with the covariance).
        """
        out = self._pairs(group_by, reference)
        a, b = out["value"], out["reference_value"]
        with np.errstate(divide="ignore", invalid="ignore"):
            out["ratio"] = a / b
            log_se = np.sqrt(_clip((out["se_a"] / a) ** 2 + (out["se_b"] / b) ** 2 - 2 * out["cov"] / (a * b)))
            half = t_quantile(out["df"], self.confidence) * log_se
            out["se"] = out["ratio"].abs() * log_se
            out["ci_low"], out["ci_high"] = out["ratio"] * np.exp(-half), out["ratio"] * np.exp(half)
        return self._finish_pairs(out, "ratio", published)

    def largest_gap(self, group_by: str, indicator: str | None = None, published: bool = True) -> pd.DataFrame:
        """The largest gap between two groups of ``group_by`` in each cell (fairlearn's between-groups
        ``difference()`` and ``ratio()``), with intervals.

        Per indicator, service type, region and period: the group with the highest value
        minus the one with the lowest (``high_group``, ``low_group``), among the groups
        with a value; the gap's ``se`` uses the covariance of the two estimates (as
        :meth:`difference`), its interval is t on the smaller ``df`` of the two; ``ratio``
        is lowest / highest (at most 1), its interval symmetric on the log scale (as
        :meth:`ratio`). ``n_groups`` counts the groups compared; ``small_groups`` lists
        (comma-separated) those suppressed or with ``n`` below ``min_cell``: flagged,
        never merged. With ``published`` (the default) a suppressed group takes no part
        in the gap and ``note`` says so; with fewer than two groups the gap is NaN.

        >>> table = pd.DataFrame({"indicator": "x.rate", "family": "x", "service_type": "", "region": "R",
        ...     "period": "2024Q1", "group_by": ["", "g", "g", "g"], "group": ["", "a", "b", "c"],
        ...     "value": [0.5, 0.6, 0.3, 0.5], "numerator": [60.0, 30, 6, 24], "denominator": [120.0, 50, 20, 50],
        ...     "se": [0.05, 0.07, 0.1, 0.07], "df": 119.0, "ci_low": 0.0, "ci_high": 1.0, "interval": "t",
        ...     "n": [120, 50, 20, 50], "suppressed": [False, False, True, False], "note": ""})
        >>> gap = IndicatorResults(table).largest_gap("g")
        >>> gap[["high_group", "low_group", "difference", "ratio", "small_groups"]].round(4).to_dict("records")
        [{'high_group': 'a', 'low_group': 'c', 'difference': 0.1, 'ratio': 0.8333, 'small_groups': 'b'}]
        """
        groups = self.by_group(group_by, indicator)
        cov = self.covariances
        cov = cov[(cov["group_by"] == group_by) & (cov["other_group_by"] == group_by)
                  & (cov["other_period"] == cov["period"])]
        cov = cov[[*CELL, "group", "other_group", "cov"]].drop_duplicates([*CELL, "group", "other_group"]).rename(
            columns={"group": "high_group", "other_group": "low_group"})
        level = self.confidence
        groups = groups.assign(
            _small=groups["suppressed"] | (pd.to_numeric(groups["n"], errors="coerce") < self.min_cell),
            _left_out=groups["suppressed"] & published)
        names = lambda mask: groups["group"].where(mask).groupby([groups[c] for c in CELL], sort=False).agg(
            lambda g: ", ".join(g.dropna()))
        out = pd.DataFrame({"small_groups": names(groups["_small"]), "left_out": names(groups["_left_out"])})
        out = out.reset_index().assign(group_by=group_by)
        out["note"] = np.where(out["left_out"] != "", "left out, suppressed: " + out["left_out"], "")
        used = groups[~groups["_left_out"] & groups["value"].notna()]
        out = out.merge(used.groupby(CELL, sort=False).size().rename("n_groups").reset_index(), on=CELL, how="left")
        out["n_groups"] = out["n_groups"].fillna(0).astype("int64")
        # the first group with the highest value, then the first with the lowest among the
        # others (two groups even when all tie), in table order
        high = used.sort_values("value", ascending=False, kind="stable").drop_duplicates(CELL)
        low = used.drop(index=high.index).sort_values("value", kind="stable").drop_duplicates(CELL)
        pair = high[[*CELL, "group", "value", "se", "df"]].merge(
            low[[*CELL, "group", "value", "se", "df"]], on=CELL, suffixes=("_a", "_b"))
        pair = pair.rename(columns={"group_a": "high_group", "group_b": "low_group", "value_a": "high_value",
                                    "value_b": "low_value"})
        pair["df"] = pair[["df_a", "df_b"]].min(axis=1)
        pair = pair.merge(cov, on=[*CELL, "high_group", "low_group"], how="left")
        # no covariance kept (e.g. results read from an older file): taken as independent
        pair["cov"] = pair["cov"].astype("float64").fillna(0.0)
        out = out.merge(pair[[*CELL, "high_group", "low_group", "high_value", "low_value", "se_a", "se_b", "df", "cov"]],
                        on=CELL, how="left")
        out = out.astype({c: "float64" for c in ("high_value", "low_value", "se_a", "se_b", "df", "cov")})
        h, lo = out["high_value"], out["low_value"]
        out["difference"] = h - lo
        out["se"] = np.sqrt(_clip(out["se_a"] ** 2 + out["se_b"] ** 2 - 2 * out["cov"]))
        out["ci_low"], out["ci_high"] = t_interval(out["difference"], out["se"], out["df"], level)
        with np.errstate(divide="ignore", invalid="ignore"):
            out["ratio"] = lo / h
            log_se = np.sqrt(_clip((out["se_a"] / h) ** 2 + (out["se_b"] / lo) ** 2 - 2 * out["cov"] / (h * lo)))
            half = t_quantile(out["df"], level) * log_se
            out["ratio_ci_low"], out["ratio_ci_high"] = out["ratio"] * np.exp(-half), out["ratio"] * np.exp(half)
        return out[[*CELL, "group_by", "high_group", "low_group", "high_value", "low_value", "difference", "se",
                    "ci_low", "ci_high", "ratio", "ratio_ci_low", "ratio_ci_high", "n_groups", "small_groups",
                    "note"]].reset_index(drop=True)

    def change(self, indicator: str | None = None, published: bool = True, base: str = "previous",
               independent: bool = False) -> pd.DataFrame:
        """Each cell's value minus the same cell's in a base period, with the change's interval.

        ``base`` is ``"previous"`` (the period before, the default), ``"year"`` (the same
        period one year earlier: 2024Q4 against 2023Q4, 2024-12 against 2023-12, 2024
        against 2023) or a period label (every other period against that one). A cell
        whose base period is not in the results has no row.

        The same households are seen in both periods, so the covariance of the two
        estimates enters the standard error: ``var(a - b) = se_a² + se_b² - 2 cov(a, b)``.
        The engine keeps that covariance for consecutive periods and for a period and the
        same period a year before (:func:`evalkit.indicators.base.compared_periods`). A pair
        without one (another base period, an indicator whose estimator keeps none, results
        kept before year-apart pairs were) has no row, unless ``independent``: then the two
        estimates are taken as independent (``cov_known`` False), which overstates the
        standard error when they are positively correlated, as repeated observations of
        the same households usually are. Results kept without any covariance of two
        periods (files written before they were kept) give no rows.

        Columns ``base, previous_period, previous_value, change, se, ci_low, ci_high,
        significant`` (the interval excludes 0; not corrected for multiple comparisons,
        which :func:`evalkit.report.scorecard.flag_changes` does), ``incomplete``: either
        period is incomplete (units censored at the extraction date, or the period runs
        past it); such a change is never significant, as it may be an artefact of the
        data's end rather than a change; ``df``, the degrees of freedom the interval uses,
        and ``cov_known``.
        """
        from evalkit.data.periods import year_before

        t = self._select(pd.Series(True, index=self.table.index), indicator)
        cov = self.covariances
        cov = cov[(cov["other_period"] != cov["period"]) & (cov["group"] == cov["other_group"])]
        keys = ["indicator", "service_type", "region", "group_by", "group"]
        pairs = cov[[*keys, "period", "other_period", "cov"]].rename(columns={"other_period": "previous_period"})
        pairs = pairs.drop_duplicates([*keys, "period", "previous_period"])
        previous = t[[*keys, "period", "value", "se", "suppressed", "incomplete"]].rename(
            columns={"period": "previous_period", "value": "previous_value", "se": "se_b", "suppressed": "sup_b",
                     "incomplete": "incomplete_b"})
        if base == "previous":
            periods = sorted(set(self.table["period"]))
            before = dict(zip(periods[1:], periods[:-1]))
            pairs = pairs[pairs["previous_period"] == pairs["period"].map(before)]  # not the year-apart pairs
            out = t.merge(pairs, on=[*keys, "period"], how="inner").merge(previous, on=[*keys, "previous_period"])
            out["cov_known"] = True
        elif cov.empty:
            out = t.iloc[:0].assign(previous_period="", cov=np.nan).merge(previous, on=[*keys, "previous_period"])
            out["cov_known"] = pd.Series(dtype=bool)
        else:
            if base == "year":
                wanted = t["period"].map(year_before)
            else:
                wanted = pd.Series(str(base), index=t.index)
            out = t.assign(previous_period=wanted)
            out = out[out["previous_period"] != out["period"]]
            out = out.merge(previous, on=[*keys, "previous_period"]).merge(
                pairs, on=[*keys, "period", "previous_period"], how="left")
            # the covariance is stored once per pair, the later period first
            flipped = pairs.rename(columns={"period": "previous_period", "previous_period": "period", "cov": "cov_r"})
            out = out.merge(flipped, on=[*keys, "period", "previous_period"], how="left")
            out["cov"] = out["cov"].fillna(out.pop("cov_r"))
            out["cov_known"] = out["cov"].notna()
            if not independent:
                out = out[out["cov_known"]]
            out["cov"] = out["cov"].fillna(0.0)
        out["base"] = base if base in ("previous", "year") else "period"
        out["change"] = out["value"] - out["previous_value"]
        out["se"] = np.sqrt(_clip(out["se"] ** 2 + out["se_b"] ** 2 - 2 * out["cov"]))
        out["ci_low"], out["ci_high"] = t_interval(out["change"], out["se"], out["df"], self.confidence)
        out["incomplete"] = out["incomplete"].astype(bool) | out["incomplete_b"].astype(bool)
        out["significant"] = ((out["ci_low"] > 0) | (out["ci_high"] < 0)) & ~out["incomplete"]
        out["suppressed"] = out["suppressed"].astype(bool) | out["sup_b"].astype(bool)
        if published:
            out.loc[out["suppressed"], ["value", "previous_value", "change", "se", "ci_low", "ci_high"]] = np.nan
            out.loc[out["suppressed"], "significant"] = False
        return out[[*keys, "period", "base", "previous_period", "value", "previous_value", "change", "se", "ci_low",
                    "ci_high", "significant", "incomplete", "suppressed", "df", "cov_known"]].reset_index(drop=True)

    def published(self) -> pd.DataFrame:
        """The table with suppressed cells blanked (:func:`blank_suppressed`), ready to share."""
        return blank_suppressed(self.table)

    # -- provenance in files (begin) -------------------------------------------------
    def to_file(self, path, published: bool = True) -> Path:
        """Write the table (published by default) as .csv or .parquet, atomically, with its provenance.

        The file has a ``counts`` column after ``n_excluded``: what ``n`` counts (the
        indicator's unit of analysis, catalogue ``counts``: households, needs, referrals, ...).

        Parquet keeps the provenance in the file's key-value metadata (``evalkit.provenance``);
        CSV gets a sidecar ``<stem>.provenance.json`` beside it, written after the table and
        holding the table's SHA-256, so a sidecar left from another table is detected.
        :meth:`read_provenance` reads either back.
        """
        path = Path(path)
        if path.suffix not in (".csv", ".parquet"):
            raise ValueError(f"output must end in .csv or .parquet, got {path.name}")
        frame = with_counts(self.published() if published else self.table)
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
            write_csv(frame, tmp)
            digest["sha256"] = _sha256(tmp)

        atomic_write(path, write)
        record["file"] = {"name": path.name, "sha256": digest["sha256"]}
        try:
            atomic_write(sidecar, lambda tmp: tmp.write_text(_json(record, indent=2) + "\n", encoding="utf-8"))
        except BaseException:
            path.unlink(missing_ok=True)  # a table without its provenance is not left behind
            raise
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
        """The overall table with the catalogue's indicator names in ``lang`` (zh or en) and
        what ``n`` counts (``counts``: 户 / households, 转介 / referrals, ...)."""
        cat = load_catalogue()
        out = with_counts(self.overall(), lang)
        out.insert(1, "name", [cat[i].name(lang) for i in out["indicator"]])
        return out

    def _select(self, mask, indicator):
        if indicator is not None:
            mask = mask & (self.table["indicator"] == indicator)
        return self.table[mask].reset_index(drop=True)

    def _pairs(self, group_by: str, reference: str | None) -> pd.DataFrame:
        """Each group's row beside its reference row and the covariance of the two."""
        groups = self.by_group(group_by)
        if reference is None:
            ref, ref_by, ref_group = self.overall(), "", ""
        else:
            ref = groups[groups["group"] == str(reference)]
            if ref.empty:
                raise ValueError(f"no group {reference!r} in {group_by}; groups: {sorted(set(groups['group']))}")
            groups = groups[groups["group"] != str(reference)]
            ref_by, ref_group = group_by, str(reference)
        ref = ref[[*CELL, "value", "se", "suppressed"]].rename(
            columns={"value": "reference_value", "se": "se_b", "suppressed": "sup_b"})
        out = groups[[*CELL, "group", "value", "se", "df", "suppressed"]].rename(columns={"se": "se_a"})
        out = out.merge(ref, on=CELL, how="left")
        cov = self.covariances
        cov = cov[(cov["group_by"] == group_by) & (cov["other_group_by"] == ref_by) & (cov["other_group"] == ref_group)
                  & (cov["other_period"] == cov["period"])]
        out = out.merge(cov[[*CELL, "group", "cov"]], on=[*CELL, "group"], how="left")
        # no covariance kept (e.g. results read from an older file): estimates taken as independent
        out["cov"] = out["cov"].astype(float).fillna(0.0)
        out["suppressed"] = out["suppressed"] | out["sup_b"].fillna(False).astype(bool)
        return out

    @staticmethod
    def _finish_pairs(out: pd.DataFrame, name: str, published: bool) -> pd.DataFrame:
        if published:
            out.loc[out["suppressed"], ["value", "reference_value", name, "se", "ci_low", "ci_high"]] = np.nan
        return out[[*CELL, "group", "value", "reference_value", name, "se", "ci_low", "ci_high",
                    "suppressed"]].reset_index(drop=True)


def blank_suppressed(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``table`` where suppressed rows publish no value, interval, numerator,
    denominator, ``n``, ``n_excluded``, ``n_censored`` (counts become nullable integers,
    blank there), degrees of freedom (``n - 1`` for a rate of service points or referrals)
    nor note ("no household in the denominator", "every unit censored" say ``n`` is 0).

    Rows of a region without any unit (:func:`evalkit.results.disclosure.known_zero`) keep
    their zeros and their note: they hide nothing, and reports show them as "no data".
    """
    out = table.copy()
    hide = out["suppressed"].fillna(False).astype(bool)
    values = [c for c in (*HIDDEN_WHEN_SUPPRESSED, "df") if c not in HIDDEN_COUNTS and c in out.columns]
    out[values] = out[values].astype("float64")
    out.loc[hide, values] = np.nan
    counts = hide & ~known_zero(out)
    out["denominator"] = out["denominator"].astype("float64")
    out.loc[counts, "denominator"] = np.nan
    for column in ("n", "n_excluded", "n_censored"):
        if column not in out.columns:
            continue
        out[column] = pd.to_numeric(out[column], errors="coerce").round().astype("Int64")
        out.loc[counts, column] = pd.NA
    if "note" in out.columns:
        out.loc[counts, "note"] = ""
    return out


def _clip(variance):
    return np.clip(np.asarray(variance, dtype=float), 0, None)


def with_counts(table: pd.DataFrame, lang: str | None = None) -> pd.DataFrame:
    """``table`` with a ``counts`` column after ``n_excluded``: what each row's ``n`` counts,
    its indicator's unit of analysis (catalogue ``counts``), as the catalogue's word
    (``referrals``) or, with ``lang``, its label (``转介`` / ``referrals``). Blank for an
    indicator the catalogue does not know."""
    from evalkit.indicators.catalogue import counts_label

    cat = load_catalogue()
    codes = [cat[i].counts if i in cat else "" for i in table["indicator"]]
    words = codes if lang is None else [counts_label(c, lang) if c else "" for c in codes]
    out = table.copy()
    out.insert(out.columns.get_loc("n_excluded") + 1, "counts", words)
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
