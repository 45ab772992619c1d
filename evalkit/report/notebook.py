"""What report notebooks call: parameter checks, data loading and display helpers.

A notebook's first cell after its parameters is::

    report = start(data_path=data_path, results_path=results_path, region=region,
                   period=period, lang=lang, targets_path=targets_path, min_cell=min_cell,
                   by=by, params=params)

which validates the parameters (:func:`evalkit.report.parameters.check_parameters`, the
same checks ``evalkit report`` makes), sets up Chinese fonts, and loads the published
results. Everything shown afterwards goes through :class:`Report`'s display methods,
which emit plain HTML.
"""
from __future__ import annotations

import dataclasses
import html
import os
import warnings

import pandas as pd

from evalkit.data.schema import SERVICE_TYPES
from evalkit.errors import ParameterError
from evalkit.indicators.catalogue import load_catalogue
from evalkit.indicators.parameters import for_family, resolve

from . import present
from .data import ReportData, compute_data, load_data
from .parameters import check_parameters, check_region, resolve_period
from .present import html_table
from .scorecard import load_targets, target_sources
from .text import format_interval, format_value, group_label, service_label, status_label, t

#: Where a notebook run with its default parameters finds data: ``make demo`` writes it.
DEMO_DATA = "data/demo"


def find_data(path: str) -> str:
    """A relative ``path`` looked up from the working directory upwards (a notebook opened
    in ``notebooks/`` finds the repository's ``data/demo``); ``path`` unchanged when absolute,
    empty or found nowhere."""
    from pathlib import Path

    if not path or Path(path).is_absolute() or Path(path).exists():
        return path
    cwd = Path.cwd()
    found = [d / path for d in (cwd, *cwd.parents) if (d / path).exists()]
    return str(found[0]) if found else path


def start(**params) -> Report:
    """Validate parameters, set up fonts and warnings, load the results: the first cell.

    Defaults make a notebook run as it is: without a data or results path, the demo package
    (:data:`DEMO_DATA`, looked up from the working directory upwards: :func:`find_data`);
    without a region, the top of the region tree; without a period, the latest complete one
    (:func:`latest_complete_period`).
    """
    from .charts import setup_fonts

    params = dict(params)
    if not params.get("results_path") and not params.get("data_path"):
        params["data_path"] = DEMO_DATA
    if isinstance(params.get("data_path"), str):
        params["data_path"] = find_data(params["data_path"])
    region = params.get("region")
    params = check_parameters(**{**params, "region": region or "(top)"})  # empty: the top region, once loaded
    params["region"] = region
    os.environ.setdefault("MPLBACKEND", "agg")
    setup_fonts()
    warnings.filterwarnings("error", message="Glyph .* missing")  # never tofu in a report
    computed = None
    if params["results_path"]:
        data, computed = load_results(params["results_path"], region, params["min_cell"])
        if data.params != params["params"].to_json():
            raise ParameterError(f"{params['results_path']} was computed with indicator parameters {data.params}, "
                                 f"not {params['params'].to_json()}; run evalkit report with them")
    else:
        data = compute_data(params["data_path"], min_cell=params["min_cell"], groups=params["by"],
                            params=params["params"])
    return Report(data, params, computed=computed)


#: The results last read in this process, by file version, region and threshold: a report's
#: parts run in one kernel, and each part's ``start`` reads them (one entry: one report at a time).
_LOADED: dict = {}


def load_results(path, region: str | None, min_cell: int) -> tuple[ReportData, frozenset | None]:
    """What a report of ``region`` reads from a results file: that region's rows and its
    sub-regions' (what its league tables and composite indices compare), read once per
    process; and the indicators computed anywhere in the file (which sections a part has).

    Every region's rows are read without a region (the top region, found once loaded) or
    with a ``min_cell`` above the file's (suppression runs again across every region).
    Each call gets its own copy of the table, so one part cannot change what the next reads.
    """
    stat = os.stat(path)
    key = (os.path.realpath(path), stat.st_mtime_ns, stat.st_size, region or "", int(min_cell))
    if key not in _LOADED:
        _LOADED.clear()
        _LOADED[key] = _read_results(path, region, min_cell)
    data, computed = _LOADED[key]
    return dataclasses.replace(data, table=data.table.copy()), computed


def _read_results(path, region: str | None, min_cell: int) -> tuple[ReportData, frozenset | None]:
    import pyarrow.parquet as pq

    from .data import read_meta

    meta = read_meta(path) or {}
    if not region or "min_cell" not in meta or min_cell > int(meta["min_cell"]):
        return load_data(path, min_cell=min_cell), None
    parents = {r["region_id"]: r.get("parent_id") for r in meta.get("regions", [])}
    shown = [region, *(r for r, parent in parents.items() if parent == region)]
    computed = frozenset(pq.read_table(path, columns=["indicator"]).column(0).unique().to_pylist())
    return load_data(path, min_cell=min_cell, regions=shown), computed


def top_region(data: ReportData) -> str:
    """The region a report defaults to: the root of the region tree (the first, when several)."""
    roots = data.roots()
    if not roots:
        raise ParameterError("the package's regions table has no top region (one without parent_id)")
    return str(roots[0])


def latest_complete_period(data: ReportData, region: str) -> str:
    """The latest period that ended by the data's extraction date (the provenance's
    ``extracted_on``); without that date, the latest period in which at most half of
    ``region``'s overall rows are incomplete; the latest period when none qualifies."""
    import datetime as dt

    from evalkit.data.periods import bounds

    extracted = (data.provenance.get("data") or {}).get("extracted_on")
    try:
        day = dt.date.fromisoformat(str(extracted)[:10]) if extracted else None
    except ValueError:
        day = None
    if day is not None:
        ended = [p for p in data.periods if bounds(p, data.frequency)[1] <= day]
    else:
        tab = data.table
        mine = tab[(tab["region"] == region) & (tab["group_by"] == "")]
        share = mine.groupby("period")["incomplete"].mean()
        ended = [p for p in data.periods if share.get(p, 0.0) <= 0.5]
    return ended[-1] if ended else resolve_period(data, "")


def export_tables(frames: dict, directory) -> list:
    """Write each DataFrame of ``frames`` (name -> frame) to ``directory`` as CSV (formula-safe:
    :func:`evalkit.data.io.write_csv`), Parquet and a LaTeX table (``<name>.csv``,
    ``<name>.parquet``, ``<name>.tex``), and all of them to one Excel workbook
    (``tables.xlsx``, a sheet per frame, formula-safe); every file written atomically.
    Returns the paths written.
    """
    import re
    from pathlib import Path

    from evalkit.data.io import atomic_write, formula_safe, write_csv

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    frames = {str(name): frame for name, frame in frames.items() if isinstance(frame, pd.DataFrame)}
    for name, frame in frames.items():
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name) or name.startswith("."):
            raise ParameterError(f"table name {name!r}: use letters, digits, '_', '-' or '.' (it names files)")
        flat = frame.reset_index(drop=True)
        flat.columns = [str(c) for c in flat.columns]
        written.append(atomic_write(directory / f"{name}.csv", lambda tmp, f=flat: write_csv(f, tmp)))
        written.append(atomic_write(directory / f"{name}.parquet",
                                    lambda tmp, f=flat: f.to_parquet(tmp, index=False, engine="pyarrow")))
        written.append(atomic_write(directory / f"{name}.tex", lambda tmp, f=flat: tmp.write_text(
            f.to_latex(index=False, escape=True, na_rep="", float_format="%.4g"), encoding="utf-8")))

    def workbook(tmp):
        with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
            used = set()
            for name, frame in frames.items():
                sheet = re.sub(r"[\[\]:*?/\\]", "_", name)[:31] or "table"
                k = 1
                while sheet in used:
                    k += 1
                    sheet = f"{sheet[:28]}_{k}"
                used.add(sheet)
                flat = formula_safe(frame.reset_index(drop=True))
                flat.columns = [str(c) for c in flat.columns]
                flat.to_excel(writer, sheet_name=sheet, index=False)

    if frames:
        written.append(atomic_write(directory / "tables.xlsx", workbook))
    return written


class Report:
    """One region and period of published results, and how to show them."""

    def __init__(self, data: ReportData, params: dict, computed: frozenset | None = None):
        self.data = data
        # indicators with results in any region (``data`` may hold only this region's and its sub-regions')
        self.computed = computed if computed is not None else frozenset(pd.unique(data.table["indicator"]))
        self.lang = params["lang"]
        self._interval_noted = False  # the intervals' explanation is shown once (interval_note)
        self.region = check_region(data, params["region"]) if params["region"] else top_region(data)
        self.period = (resolve_period(data, params["period"]) if params["period"]
                       else latest_complete_period(data, self.region))
        self.by = [g for g in params["by"] if g in data.groups]  # breakdowns asked for and computed
        self.params = resolve(data.params)  # what the numbers were computed with
        self.catalogue = load_catalogue()
        self.targets_path = params["targets_path"]
        self.data_path = params.get("data_path") or ""  # where optional region boundaries are looked for
        self.targets = load_targets(self.targets_path or None, self.catalogue)
        # where each target in force comes from: the targets file, a published figure, evalkit's default
        self.target_sources = target_sources(self.targets_path or None, self.catalogue)
        self.table = data.table
        self.region_name = data.region_name(self.region)
        self.names = {i.id: i.name(self.lang) for i in self.catalogue}
        self.units = {i.id: i.unit for i in self.catalogue}
        # where observation windows are cut off (the report's "incomplete period" note)
        self.extracted_on = (data.provenance.get("data") or {}).get("extracted_on") or "—"

    # -- data ---------------------------------------------------------------------------

    def t(self, key: str, **fields) -> str:
        return t(key, self.lang, **fields)

    def t_status(self, status: str) -> str:
        return status_label(status, self.lang)

    def rows(self, family: str | None = None, region: str | None = None, period: str | None = None,
             group_by: str = "") -> pd.DataFrame:
        """Published rows of one region (default: the report's) and period, overall by default."""
        tab = self.table
        mask = (tab["region"] == (region or self.region)) & (tab["period"] == (period or self.period))
        mask &= tab["group_by"] == group_by
        if family is not None:
            mask &= tab["family"] == family
        return tab[mask].reset_index(drop=True)

    def own_table(self) -> pd.DataFrame:
        """The report's region's rows: every period, group and service type (what the scorecard
        judges and plans from; sub-regions' rows left out, so it does not filter them again and again)."""
        if not hasattr(self, "_own"):
            self._own = self.table[self.table["region"] == self.region].reset_index(drop=True)
        return self._own

    def own_results(self):
        """:meth:`own_table` as :class:`~evalkit.results.indicator_results.IndicatorResults`, with
        the covariances of its cells: changes are tested one region at a time."""
        cov = self.data.covariances
        if cov is not None:
            cov = cov[cov["region"] == self.region].reset_index(drop=True)
        return dataclasses.replace(self.data, table=self.own_table(), covariances=cov).results()

    def family_name(self, family: str) -> str:
        names = self.catalogue.families[family]
        return names["name_zh"] if self.lang == "zh" else names["name_en"]

    def family_indicators(self, family: str) -> list:
        """Catalogue entries of ``family`` that have results, in catalogue order."""
        return [i for i in self.catalogue.family(family) if i.id in self.computed]

    # -- display ------------------------------------------------------------------------

    def show(self, markup: str) -> None:
        from IPython.display import HTML, display

        display(HTML(markup))

    def title(self, part: str) -> None:
        """The page heading: region, part and period."""
        self.show(present.header_html(self.lang, f"{self.region_name} · {part}",
                                      self.t("meta_line", period=self.period, region=self.region)))

    def heading(self, text: str) -> None:
        self.show(f"<h2>{html.escape(text)}</h2>")

    def note(self, text: str) -> None:
        self.show(f'<p class="note">{html.escape(text)}</p>')

    def table_html(self, frame: pd.DataFrame, **kwargs) -> None:
        self.show(html_table(frame, **kwargs))

    def figure(self, fig, alt: str, caption: str = "", intervals: bool = False) -> None:
        """A chart, embedded as SVG (text as text); nothing when ``fig`` is None (no data to
        plot). A chart with 95% intervals (``intervals``) is preceded, the first time in the
        report part, by the sentence that explains them (:meth:`interval_note`)."""
        from .charts import figure_html

        if fig is not None:
            if intervals:
                self.interval_note()
            self.show(figure_html(fig, alt, caption))

    def interval_note(self) -> None:
        """What the interval lines in charts mean, in plain words: once per report part
        (a notebook is one part), before its first chart with intervals."""
        if not getattr(self, "_interval_noted", False):
            self._interval_noted = True
            self.note(self.t("interval_key"))

    # -- family sections: what every family notebook shows, in the same way -------------------

    def key_figures(self, ids: list[str]) -> None:
        """The region's overall value, interval and count (with what it counts: households,
        referrals, ...) of each indicator in ``ids``."""
        rows = self.rows()
        rows = rows[rows["indicator"].isin(ids)]
        if rows.empty:
            return
        self.heading(self.t("key_figures"))
        self.table_html(present.key_figures_frame(rows, self.lang, self.catalogue),
                        numeric=present.numeric_columns(("value", "n"), self.lang))

    def by_service_type(self, ids: list[str]) -> None:
        """Per-service-type indicators: a bar chart per unit, then one table."""
        from . import charts

        rows = self.rows()
        rows = rows[rows["indicator"].isin(ids)]
        if rows.empty:
            return
        services = {s: service_label(s, self.lang) for s in SERVICE_TYPES if s in set(rows["service_type"])}
        self.heading(self.t("by_service_type"))
        for unit in dict.fromkeys(self.units[i] for i in ids):
            same = [i for i in ids if self.units[i] == unit]
            for shown in charts.split_evenly(same, 4):  # at most two rows of panels: a figure fits a page
                fig = charts.bars(rows[rows["indicator"].isin(shown)], "service_type", services, self.names,
                                  self.units, self.targets, self.lang)
                self.figure(fig, alt=", ".join(self.names[i] for i in shown), intervals=True)
        wide = present.wide_frame(rows, "service_type", services, self.lang, self.catalogue)
        self.table_html(wide, numeric=tuple(wide.columns[1:]))

    def by_subregion(self, ids: list[str], charted: list[str] | None = None) -> None:
        """Sub-regions of the report's region side by side: for ``charted`` (default ``ids``,
        the part's headline indicators) a ranked dot chart with intervals and the region's own
        value as reference, the sub-regions it leaves out (suppressed, no data) listed under
        it, and a league table (value, interval, rank; suppressed cells marked, not dropped);
        then a table of every indicator in ``ids``. Nothing for a region without children."""
        from . import charts, league

        children = self.data.children(self.region)
        tab = self.table
        sub = tab[tab["region"].isin(children) & (tab["period"] == self.period) & (tab["group_by"] == "")
                  & (tab["service_type"] == "") & tab["indicator"].isin(ids)]
        if sub.empty:
            return
        self.heading(self.t("by_region"))
        names = present.region_labels(self.data.regions, children, self.lang)
        headline = [i for i in (ids if charted is None else charted) if i in set(sub["indicator"])]
        ranked = self.league(headline)
        if not ranked.empty:
            mine = self.rows().set_index("indicator")
            parent = {i: mine.loc[i, "value"] for i in headline
                      if i in mine.index and not isinstance(mine.loc[i, "value"], pd.Series)}
            fig = charts.ranked_dots(ranked, parent, names, self.names, self.units, self.lang)
            if fig is not None:
                self.figure(fig, alt=self.t("league_title"), intervals=True)
                self.note(self.t("league_dots_note", name=self.region_name))
            # listed under the chart: what it does not draw (suppressed sub-regions are drawn, labelled,
            # in the panels of indicators with a value)
            charted = set(ranked.loc[ranked["status"] == "value", "indicator"]) if fig is not None else set()
            left_out = ranked[~(ranked["indicator"].isin(charted) & ranked["status"].isin(charts.DRAWN))]
            missing = league.not_shown(left_out, names, self.names, self.lang)
            if missing:
                self.note(missing)
            self.subregion_map(ranked, names)
            frame = league.league_frame(ranked, names, self.lang, self.catalogue)
            self.table_html(frame, caption=self.t("league_title"),
                            numeric=(self.t("league_rank"), self.t("value"), self.t("n")))
            self.note(self.t("league_rule", min_cell=self.data.min_cell))
        frame = present.side_by_side_frame(sub, "region", names, self.lang, self.catalogue)
        frame = league.mark_suppressed(frame, sub, names, self.lang, self.catalogue)
        self.table_html(frame, numeric=tuple(frame.columns[1:]), wrap=(self.t("indicator"),),
                        caption=self.t("league_all"))

    def subregion_map(self, ranked: pd.DataFrame, labels: dict[str, str]) -> None:
        """A map of the sub-regions coloured by the first indicator of ``ranked`` (a league
        table) that has a value, when the data package brings boundaries (optional
        ``regions.geojson``: :mod:`evalkit.report.maps`), with the map-review note; nothing otherwise."""
        from . import maps

        boundaries = maps.read_boundaries(self.data_path)
        if not boundaries or not set(ranked["region"]) & set(boundaries):
            return
        with_values = ranked[ranked["status"] == "value"]
        if with_values.empty:
            return
        ind = with_values["indicator"].iloc[0]
        title = self.t("map_title", name=self.names[ind])
        fig = maps.choropleth(boundaries, ranked[ranked["indicator"] == ind], labels, title, self.units[ind],
                              self.lang, self.t("league_suppressed"))
        if fig is not None:
            self.figure(fig, alt=title)
            self.note(self.t("map_note"))

    def league(self, ids: list[str]) -> pd.DataFrame:
        """The league table of the report's sub-regions on ``ids`` this period
        (:func:`evalkit.report.league.league_table`): a plain DataFrame, empty without sub-regions."""
        from .league import LEAGUE_COLUMNS, league_table

        children = self.data.children(self.region)
        if not children or not ids:
            return pd.DataFrame(columns=LEAGUE_COLUMNS)
        return league_table(self.table, children, self.period, ids, catalogue=self.catalogue)

    def tables(self, ids: list[str]) -> dict[str, pd.DataFrame]:
        """The numbers a part shows, as plain DataFrames for analysis or export
        (:func:`export_tables`): ``indicators`` (the region's rows of ``ids`` this period,
        overall and by service type), ``by_<grouping>`` (the same by each household
        grouping of ``by`` and any other breakdown computed, e.g. income quintiles) and ``subregions`` (the league table of the overall indicators,
        when the region has sub-regions). Suppressed cells keep their row, value blank."""
        keep = ["indicator", "name", "unit", "service_type", "group_by", "group", "region", "period", "value",
                "ci_low", "ci_high", "n", "suppressed", "incomplete"]
        ids = list(dict.fromkeys(ids))
        tab = self.table
        mine = tab[(tab["region"] == self.region) & (tab["period"] == self.period) & tab["indicator"].isin(ids)]
        mine = mine.assign(name=mine["indicator"].map(self.names), unit=mine["indicator"].map(self.units))
        out = {"indicators": mine[mine["group_by"] == ""][keep].reset_index(drop=True)}
        # the report's groupings, then any other breakdown computed (income quintiles for fairness)
        for group_by in dict.fromkeys([*self.by, *sorted(set(mine["group_by"]) - {""})]):
            grouped = mine[mine["group_by"] == group_by]
            if not grouped.empty:
                out[f"by_{group_by.replace('*', '_')}"] = grouped[keep].reset_index(drop=True)
        overall = [i for i in ids if i in set(mine.loc[mine["service_type"] == "", "indicator"])]
        ranked = self.league(overall)
        if not ranked.empty:
            ranked.insert(1, "name", ranked["indicator"].map(self.names))
            ranked.insert(3, "region_name", ranked["region"].map(self.data.region_name))
            out["subregions"] = ranked
        return out

    def by_groups(self, ids: list[str], key_indicator: str | None = None) -> None:
        """Each household grouping (hukou, urban/rural): overall indicators in ``ids`` per
        group, and ``key_indicator`` (per service type) charted group against group."""
        from . import charts

        for group_by in self.by:
            grouped = self.rows(group_by=group_by)
            grouped = grouped[grouped["indicator"].isin(ids)]
            if grouped.empty:
                continue
            groups = present.group_labels(group_by, sorted(set(grouped["group"])), self.lang)
            self.heading(f"{self.t('by_group')}: {group_label(group_by, '', self.lang)}")
            overall = grouped[grouped["service_type"] == ""]
            if not overall.empty:
                frame = present.side_by_side_frame(overall, "group", groups, self.lang, self.catalogue)
                self.table_html(frame, numeric=tuple(frame.columns[1:]), wrap=(self.t("indicator"),))
            key_rows = grouped[(grouped["indicator"] == key_indicator) & (grouped["service_type"] != "")]
            if not key_rows.empty:
                self.figure(charts.group_bars(key_rows, key_indicator, group_by, groups, self.names,
                                              self.targets.get(key_indicator), self.lang,
                                              unit=self.units[key_indicator]),
                            alt=f"{self.names[key_indicator]} · {group_label(group_by, '', self.lang)}",
                            intervals=True)

    def over_periods(self, ids: list[str]) -> None:
        """The region's overall values of ``ids`` in every period up to the report's, with
        the start of the linkage reform marked (叶涛涛 2022: days before and after);
        incomplete periods are left blank."""
        from . import charts

        tab = self.table
        rows = tab[(tab["region"] == self.region) & (tab["period"] <= self.period) & (tab["group_by"] == "")
                   & (tab["service_type"] == "") & tab["indicator"].isin(ids)].copy()
        # an incomplete period is not drawn: a line to it would show the data's end as a change
        rows.loc[rows["incomplete"], ["value", "ci_low", "ci_high"]] = float("nan")
        if rows["value"].notna().sum() == 0:
            return
        self.heading(self.t("over_periods"))
        reform = self.data.reform_period(self.region)
        if reform:
            self.note(self.t("reform_line", period=reform))
        self.figure(charts.period_lines(rows, self.names, self.units, reform, self.lang),
                    alt=self.t("over_periods"), intervals=True)

    def skipped_indicators(self, family: str) -> None:
        """The indicators of ``family`` that could not be computed from the data, each with why."""
        from .text import LABELS

        skipped = {i.id: self.data.skipped[i.id] for i in self.catalogue.family(family) if i.id in self.data.skipped}
        if not skipped:
            return
        self.heading(self.t("skipped_title"))
        for ind, reason in skipped.items():
            why = (self.t("skipped_panel") if "household_periods" in reason and "skipped_panel" in LABELS
                   else self.t("skipped_other", reason=reason))
            self.note(self.t("skipped_item", name=self.names[ind], reason=why))

    def reform_impact(self) -> None:
        """The linkage reform's effect, estimated once for the whole package by the data step
        (:func:`evalkit.impact.reform_effects`): a sentence per indicator, the event study of
        the headline one, the three estimators side by side, the methods; for a region below
        the top, the estimate is labelled as the higher level's."""
        from . import charts, effects
        from .text import MISSING

        impact = self.data.impact
        self.heading(self.t("impact_title"))
        if not impact:
            self.note(self.t("impact_missing"))
            return
        rows = impact.get("estimates") or []
        headline = [r for r in rows if r["method"] == "callaway_santanna"]
        if headline:
            self.note(self._impact_scope(headline[0]))
        for r in headline:
            self.show(f'<p class="lead">{html.escape(effects.effect_sentence(r, self.lang, self.catalogue))}</p>')
        missing = impact.get("not_estimable") or {}
        if missing and all(info.get("reason") == "no_reform" for info in missing.values()):
            self.note(self.t("impact_no_reform_all"))  # one sentence, not one per indicator
            missing = {}
        for ind, info in missing.items():
            if ind in self.names:
                self.note(effects.not_estimable_sentence(ind, info, self.lang, self.catalogue))
        es = impact.get("event_study")
        if es and es.get("rows"):
            unit = self.units[es["indicator"]]
            name = self.names[es["indicator"]]
            title = self.t("impact_event_title", name=name)
            fig = charts.event_study_chart(effects.event_frame(es), title, self.t("impact_event_x"),
                                           self.t("impact_event_y", unit=effects.effect_unit(unit, self.lang)),
                                           scale=100.0 if unit == "rate" else 1.0)
            self.figure(fig, alt=title, intervals=True)
            p = (es.get("pretrend") or {}).get("p_value")
            pre = effects.event_frame(es).query("event_time < -1")["estimate"].abs().max()
            flag = (self.t("impact_pretrend_flag", pre=effects.format_effect(pre, unit, self.lang, signed=False))
                    if p is not None and p < effects.PRETREND_ALPHA else "")
            self.note(self.t("impact_event_note", p=MISSING if p is None else f"{p:.2f}", flag=flag))
        if rows:
            self.heading(self.t("impact_table"))
            frame = effects.methods_frame(rows, self.lang, self.catalogue)
            self.table_html(frame, numeric=(self.t("impact_effect"), self.t("impact_clusters")),
                            wrap=(self.t("indicator"), self.t("impact_method")))
            from evalkit.impact import FEW_CLUSTERS

            self.note(self.t("impact_methods", few=FEW_CLUSTERS, min_cell=impact.get("min_cell", self.data.min_cell)))
            self.note(self.t("impact_refs"))

    def _impact_scope(self, row: dict) -> str:
        """Whose estimate it is: the top region's (all its counties), labelled as such below the top."""
        from .text import level_label

        regions = self.data.regions
        parents = dict(zip(regions["region_id"], regions["parent_id"]))
        top = self.region
        while isinstance(parents.get(top), str) and parents.get(top):
            top = parents[top]
        roots = self.data.roots()
        level = regions.loc[regions["region_id"] == top, "level"]
        level = level_label(level.iloc[0] if len(level) else None, self.lang)
        name = self.data.region_name(top) if len(roots) == 1 else self.data.package
        if self.lang == "en" and self.region == top:
            level = level[:1].upper() + level[1:]  # starts the sentence
        fields = dict(level=level, name=name, n=int(row["n_clusters"]), first=row.get("first_period", ""),
                      last=row.get("last_period", ""))
        return self.t("impact_scope_root" if self.region == top else "impact_scope_sub", **fields)

    def composite_indices(self) -> None:
        """Consistency, coordination and integration indices (``composite.yaml``) of the
        sub-regions this period; nothing with fewer than two sub-regions. A component is scored
        only when at least :data:`~evalkit.results.composite.MIN_REGIONS` (3) sub-regions have a
        published value of it; with fewer, a sentence says no index is computed and why."""
        from evalkit.results.composite import MIN_REGIONS, composite_indices, load_composite_config

        children = self.data.children(self.region)
        if len(children) < 2:
            return
        config = load_composite_config()
        now = self.table[self.table["period"] == self.period]
        scores = composite_indices(now, config, catalogue=self.catalogue, regions=children, drop_suppressed=True,
                                   min_regions=MIN_REGIONS)
        if scores["value"].notna().sum() == 0:
            self.heading(self.t("composite"))
            self.note(self.t("composite_too_few", k=MIN_REGIONS))
            return
        self.heading(self.t("composite"))
        labels = present.region_labels(self.data.regions, children, self.lang)
        wide = scores.pivot(index="region", columns="index", values="value").reindex(children)
        # a sub-region without any household or unit this period is skipped by the indices: "no data"
        mine = now[now["region"].isin(children)]
        empty = set(mine.groupby("region")["n"].max().loc[lambda n: n == 0].index)
        frame = pd.DataFrame({self.t("region"): [labels[r] for r in children]})
        for index in config["indices"]:
            if index["id"] in wide:
                frame[index["name_zh" if self.lang == "zh" else "name_en"]] = [
                    self.t_status("no_data") if r in empty else "—" if pd.isna(v) else f"{v:.0f}"
                    for r, v in zip(children, wide[index["id"]])]
        self.table_html(frame, numeric=tuple(frame.columns[1:]))
        self.note(self.t("composite_note"))
        self.note(self.t("composite_rule", k=MIN_REGIONS))

    # -- the fairness part (notebooks/fairness.py) ---------------------------------------------

    def sector_label(self, sector: str) -> str:
        return self.t(f"sector_{sector}")

    def quintile_incidence(self) -> None:
        """Coverage of government, charity and any aid by pre-transfer income quintile
        (grouped bars with intervals, then the table), and benefit incidence (the share of
        each sector's yuan reaching each quintile) when those indicators were computed."""
        from evalkit.indicators.groups import QUINTILE_LABELS

        from . import charts

        rows = self.rows(family="fairness", group_by="income_quintile")
        quintiles = {q: group_label("income_quintile", q, self.lang) for q in QUINTILE_LABELS}
        shown = set(rows["indicator"])
        for kind, key, axis, reference in (("coverage", "fair_quintile", "coverage_axis", None),
                                           ("benefit_incidence", "fair_incidence", "incidence_axis", 0.2)):
            series = {f"fairness.{kind}_{s}": (s, self.sector_label(s)) for s in SECTORS
                      if f"fairness.{kind}_{s}" in shown}
            if not series:
                continue
            part = rows[rows["indicator"].isin(list(series))]
            title = self.t(f"{key}_title")
            self.heading(title)
            self.note(self.t(f"{key}_lead"))
            self.figure(charts.quintile_bars(part, series, quintiles, self.lang, title, self.t(axis), reference),
                        alt=title, intervals=True)
            frame = present.wide_frame(part, "group", quintiles, self.lang, self.catalogue,
                                       first_column=self.t("quintile_axis"))
            self.table_html(frame, numeric=tuple(frame.columns[1:]))

    def concentration_curves(self, sectors=("government", "charity")) -> None:
        """Concentration curves of aid yuan of ``sectors`` in the report's region and period,
        from the aggregate ordinates the data step kept (:mod:`evalkit.report.curves`), with the
        45° line; says which curves are not published (too few recipients)."""
        from . import charts

        curves = self.data.curves
        if curves is None or curves.empty:
            return
        mine = curves[(curves["region"] == self.region) & (curves["period"] == self.period)
                      & curves["sector"].isin(list(sectors))]
        if mine.empty:
            return
        title = self.t("fair_curve_title")
        self.heading(title)
        fig = charts.concentration_curve_chart(mine, {s: self.sector_label(s) for s in sectors}, self.lang, title)
        if fig is not None:
            self.note(self.t("fair_curve_lead"))
            self.figure(fig, alt=title)
        hidden = [s for s in sectors if s in set(mine["sector"]) and mine.loc[mine["sector"] == s, "suppressed"].all()]
        if hidden:
            sep = "、" if self.lang == "zh" else ", "
            self.note(self.t("fair_curve_suppressed", min_cell=self.data.min_cell,
                             names=sep.join(self.sector_label(s) for s in hidden)))

    def group_gaps(self, ids: list[str]) -> None:
        """For each grouping in the report's ``by``: each group's difference to the reference
        group (:data:`REFERENCE_GROUPS`, else the largest group) on the rates ``ids`` (overall,
        not by service type), as a dot-and-interval chart; names the groups too small to publish."""
        from evalkit.results.indicator_results import IndicatorResults

        from . import charts

        ids = [i for i in ids if self.units.get(i) == "rate"]
        tab = self.table
        mine = tab[(tab["region"] == self.region) & (tab["period"] == self.period) & (tab["service_type"] == "")
                   & tab["indicator"].isin(ids)]
        shown_any = False
        for group_by in self.by:
            grouped = mine[mine["group_by"] == group_by]
            if grouped.empty:
                continue
            reference = reference_group(group_by, grouped)
            labels = present.group_labels(group_by, sorted(set(grouped["group"])), self.lang)
            results = IndicatorResults(mine[mine["group_by"].isin(["", group_by])], min_cell=self.data.min_cell)
            gaps = results.difference(group_by, reference=reference)
            order = {i: k for k, i in enumerate(ids)}
            gaps = gaps.assign(_order=gaps["indicator"].map(order)).sort_values(["_order", "group"], kind="stable")
            gaps["label"] = [f"{self.names[i]} · {labels[g]}" for i, g in zip(gaps["indicator"], gaps["group"])]
            grouping = group_label(group_by, "", self.lang)
            title = self.t("fair_gap_title", grouping=grouping)
            fig = charts.gap_dots(gaps, self.lang, title, self.t("fair_gap_axis"))
            self.heading(title)
            self.note(self.t("fair_gap_lead", reference=labels[reference]))
            self.figure(fig, alt=title, intervals=True)
            n = pd.to_numeric(grouped["n"], errors="coerce")
            small = grouped[grouped["suppressed"] | (n < self.data.min_cell)]
            if len(small):
                sep, semi = ("、", "；") if self.lang == "zh" else (", ", "; ")
                listed = [f"{self.names[i]}（{sep.join(labels[g] for g in sorted(set(part['group'])))}）"
                          if self.lang == "zh" else
                          f"{self.names[i]} ({sep.join(labels[g] for g in sorted(set(part['group'])))})"
                          for i, part in small.groupby("indicator", sort=False)]
                self.note(self.t("fair_gap_small", groups=semi.join(listed)))
            shown_any = True
        if shown_any:
            self.note(self.t("fair_gaps_intervals"))

    def inequality_table(self) -> None:
        """Concentration indices by sector with intervals, the charity-minus-government gap
        (the headline: is charity aid as pro-poor as government aid?), the Coady-Grosh-Hoddinott
        ratios, the Gini coefficient of per-capita aid and, when computed, the Theil index's
        between-region share."""
        rows = self.rows(family="fairness").set_index("indicator")
        ids = [i for i in INEQUALITY_TABLE if i in rows.index]
        if not ids:
            return
        self.heading(self.t("fair_table_title"))
        gap_id = "fairness.concentration_gap"
        if gap_id in rows.index:
            self.note(headline(rows.loc[gap_id], self.lang))
        self.note(self.t("fair_table_lead"))
        unit = lambda i: self.units[i]  # noqa: E731
        frame = pd.DataFrame({
            self.t("fair_measure"): [self.names[i] for i in ids],
            self.t("value"): [format_value(rows.at[i, "value"], unit(i), self.lang) for i in ids],
            self.t("ci"): [format_interval(rows.at[i, "ci_low"], rows.at[i, "ci_high"], unit(i), self.lang) for i in ids],
            self.t("fair_reading"): [reading(i, rows.loc[i], self.lang) for i in ids],
            self.t("n"): present.counted(rows.loc[ids].reset_index(), self.lang, self.catalogue),
        })
        self.table_html(frame, numeric=(self.t("value"), self.t("n")),
                        wrap=(self.t("fair_measure"), self.t("fair_reading")))
        self.note(self.t("fair_sources"))

    def parameters(self, families: list[str] | None = None, intervals: bool = True) -> None:
        """The indicator parameters the numbers were computed with (of ``families``, default
        every family): name, value, unit and meaning; and the breakdowns by household group;
        then (``intervals``) the sentence on the kind of intervals."""
        declared = list(dict.fromkeys(p for f in (families or [None]) for p in for_family(f)))
        if declared:
            self.heading(self.t("parameters"))
            frame = present.parameters_frame(declared, self.params, self.lang)
            self.table_html(frame, numeric=(self.t("param_value"),), wrap=(self.t("parameter"), self.t("meaning")))
        if self.by:
            sep = "、" if self.lang == "zh" else ", "
            self.note(self.t("by_line", groups=sep.join(group_label(g, "", self.lang) for g in self.by)))
        if intervals:
            self.note(self.t(intervals_key(self.data.provenance.get("design") or {})))

    # -- the methods and data-quality appendix (notebooks/appendix.py) --------------------------

    def shown_indicators(self) -> list:
        """Catalogue entries with results for the report's region and period: what the report shows."""
        from .appendix import shown_indicators

        return shown_indicators(self.table, self.region, self.period, self.catalogue)

    def indicator_definitions(self) -> None:
        """Every indicator shown in the report, by family: both names, definition, unit, what it
        counts, direction, target and where it comes from, missing values, incomplete periods, source."""
        from .appendix import by_family

        shown = self.shown_indicators()
        if not shown:
            return
        self.heading(self.t("appx_definitions"))
        self.note(self.t("appx_definitions_lead", version=self.catalogue.version))
        for family, members in by_family(shown, self.catalogue).items():
            self.show(f"<h3>{html.escape(self.family_name(family))}</h3>")
            frame = present.definitions_frame(members, self.lang, self.targets, self.target_sources)
            self.show(present.definitions_html(frame, self.lang))

    def methods(self) -> None:
        """How the numbers are made: intervals, suppression, working days, censoring at the
        extraction date, incomplete periods, missing values, significance of changes; then the
        sentence on this package's intervals (census, survey or households as they are)."""
        from .appendix import method_lines
        from .scorecard import FDR_Q

        self.heading(self.t("appx_methods"))
        colon = "：" if self.lang == "zh" else ": "
        for line in method_lines(self.lang, self.data.min_cell, self.extracted_on, FDR_Q):
            head, _, body = line.partition(colon)
            self.show(f"<p><strong>{html.escape(head)}</strong>{colon}{html.escape(body)}</p>")
        self.note(self.t(intervals_key(self.data.provenance.get("design") or {})))

    def data_coverage(self) -> None:
        """Tables with their row counts, the periods covered and the extraction date; per indicator
        shown the units left out (missing values, censored) and the cells withheld this region and
        period; the package's validation warnings (no example rows)."""
        from . import appendix

        self.heading(self.t("appx_coverage"))
        periods = list(self.data.periods)
        self.note(self.t("appx_data_line", package=self.data.package, first=periods[0] if periods else "—",
                         last=periods[-1] if periods else "—", n=len(periods), date=self.extracted_on,
                         hash=self.data.data_hash[:12]))
        if self.data.tables:
            self.table_html(appendix.tables_frame(self.data.tables, self.lang), numeric=(self.t("appx_rows"),))
        else:
            self.note(self.t("appx_tables_unknown"))
        shown = self.shown_indicators()
        counts = appendix.left_out(self.table, self.region, self.period, shown)
        frame = appendix.left_out_frame(counts, self.lang, self.catalogue)
        if frame.empty:
            self.note(self.t("appx_all_in"))
        else:
            self.show(f"<h3>{html.escape(self.t('appx_left_out'))}</h3>")
            self.note(self.t("appx_left_out_lead"))
            numeric = (self.t("appx_excluded"), self.t("appx_censored"), self.t("appx_suppressed"))
            self.table_html(frame, numeric=numeric)
            if len(frame) < len(shown):
                self.note(self.t("appx_none_left_out", n=len(shown) - len(frame)))
        self.show(f"<h3>{html.escape(self.t('appx_warnings'))}</h3>")
        if self.data.warnings:
            self.note(self.t("appx_warnings_lead"))
            self.table_html(appendix.warnings_frame(self.data.warnings, self.lang),
                            numeric=(self.t("appx_rows_affected"),), wrap=(self.t("appx_expected"),))
        elif self.data.tables:  # recorded, and none
            self.note(self.t("appx_no_warnings"))
        else:
            self.note(self.t("appx_warnings_unknown"))

    def glossary(self) -> None:
        """术语表: every term of the glossary, in both languages."""
        from .appendix import glossary_frame

        self.heading(self.t("appx_glossary"))
        frame = glossary_frame(self.lang)
        self.table_html(frame, wrap=tuple(frame.columns))

    def references(self) -> None:
        """The reference list: published works and official documents by author, title and year."""
        from .appendix import references_html

        self.heading(self.t("appx_references"))
        self.note(self.t("appx_references_lead"))
        self.show(references_html())

    def footer(self) -> None:
        """Provenance: package, data fingerprint, extraction date, catalogue version, parameters,
        suppression rule, targets, evalkit version."""
        self.show(present.provenance_html(self.lang, self.data.package, self.data.data_hash, self.data.min_cell,
                                          self.targets_path, provenance=self.data.provenance))


SECTORS = ("government", "charity", "any")
#: The reference group of a grouping in the fairness part's gap chart (else the largest group).
REFERENCE_GROUPS = {"hukou": "local", "urban": "true"}
#: Rows of the fairness part's inequality table, in order; absent ones are left out.
INEQUALITY_TABLE = ("fairness.concentration_government", "fairness.concentration_charity", "fairness.concentration_any",
                    "fairness.concentration_gap", "fairness.cgh_government", "fairness.cgh_charity", "fairness.cgh_any",
                    "fairness.gini_aid_pc", "fairness.theil_between_region_share")
CONCENTRATION = ("fairness.concentration_government", "fairness.concentration_charity", "fairness.concentration_any")


def reference_group(group_by: str, grouped: pd.DataFrame) -> str:
    """The group others are compared with: the conventional one when present, else the one with most units."""
    groups = set(grouped["group"])
    preferred = REFERENCE_GROUPS.get(group_by)
    if preferred in groups:
        return preferred
    n = pd.to_numeric(grouped["n"], errors="coerce").fillna(-1)
    return str(grouped.assign(_n=n).sort_values(["_n", "group"], ascending=[False, True], kind="stable")["group"].iloc[0])


def headline(row: pd.Series, lang: str) -> str:
    """Is charity aid as pro-poor as government aid? From the gap C(charity) - C(government) and its interval."""
    value, low, high = row["value"], row["ci_low"], row["ci_high"]
    if pd.isna(value) or pd.isna(low) or pd.isna(high):
        return t("fair_headline_none", lang)
    key = "fair_headline_more" if high < 0 else "fair_headline_less" if low > 0 else "fair_headline_same"
    return t(key, lang, gap=format_value(value, "index", lang), ci=format_interval(low, high, "index", lang))


def reading(indicator: str, row: pd.Series, lang: str) -> str:
    """One word on a concentration index: pro-poor (interval below 0), pro-rich (above) or neither; blank otherwise."""
    if indicator not in CONCENTRATION or pd.isna(row["ci_low"]) or pd.isna(row["ci_high"]):
        return ""
    return t("pro_poor" if row["ci_high"] < 0 else "pro_rich" if row["ci_low"] > 0 else "neither", lang)


def intervals_key(design: dict) -> str:
    """Which sentence explains the intervals: a census register, a survey, or households as they are."""
    if design.get("census"):
        return "intervals_census"
    if design.get("weight") or design.get("psu") or design.get("stratum"):
        return "intervals_survey"
    return "intervals_simple"
