"""The ``evalkit`` command: synth, validate, indicators, impact, catalogue, report.

Commands import what they need when they run (the loader, the engine, the indicator
families), so ``evalkit --help`` starts in a fraction of a second.

Exit codes: 0 success, 1 invalid data package, 2 usage or unreadable input. Every
command's :class:`evalkit.errors.EvalkitError` is mapped to them in one place
(:class:`Group`) and shown as one line, never a traceback.
"""
from __future__ import annotations

import functools
import sys
import time
from pathlib import Path

import click

from evalkit.errors import EvalkitError, ValidationError
from evalkit.indicators.parameters import PARAMETERS, Parameter
from evalkit.report.parameters import DEFAULT_BY

from . import __version__

INVALID_DATA = 1
USAGE = 2


def _fail(message: str, code: int = USAGE):
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


class Group(click.Group):
    """The command group: evalkit's errors become exit codes and a message."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ValidationError as exc:
            click.echo(str(exc.report), err=True)
            _fail(f"{exc.report.package} is not a valid data package; fix the errors above", INVALID_DATA)
        except EvalkitError as exc:  # PackageError, ParameterError, ReportError, TargetsError, ...
            _fail(str(exc))
        except (Exception, MemoryError) as exc:  # out of memory or disk where no library call named it
            from evalkit.engine import resource_error

            named = resource_error(exc)
            if named is None:
                raise
            _fail(str(named))


def _writable(path: Path, directory: bool = False) -> None:
    """Fail now (exit 2) when ``path`` cannot be written, not after the computing."""
    from evalkit.data.io import check_writable

    check_writable(path, directory=directory)


def _parameter_option(p: Parameter):
    """One click option for a declared indicator parameter, checked as it is parsed."""

    def check(ctx, option, value):
        if value is None:
            return None
        try:
            return p.validate(value)
        except EvalkitError as exc:
            raise click.BadParameter(str(exc)) from None

    return click.option(f"--{p.name.replace('_', '-')}", p.name, default=None, callback=check,
                        metavar=p.unit.upper().replace(" ", "_") if p.kind in (int, float)
                        else "|".join(c[0] for c in p.choices) if p.kind == "choice" else "LIST",
                        help=p.describe())


def _earliest_date(ctx, option, value):
    from evalkit.data.package import earliest

    try:
        return earliest(value)
    except EvalkitError as exc:
        raise click.BadParameter(str(exc)) from None


earliest_date_option = click.option(
    "--earliest-date", default="1990-01-01", show_default=True, callback=_earliest_date, metavar="DATE",
    help="Earliest plausible date: earlier dates in the data are validation errors.")


def parameter_options(command):
    """One option per declared indicator parameter (``--nearby-km``, ...); the command
    receives the values given as ``params`` (a dict, for ``compute(params=...)``)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        given = {name: kwargs.pop(name) for name in PARAMETERS}
        return command(*args, params={k: v for k, v in given.items() if v is not None}, **kwargs)

    for p in reversed(PARAMETERS.values()):
        wrapper = _parameter_option(p)(wrapper)
    return wrapper


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="evalkit")
def main():
    """Evaluate the linkage of government assistance and charity support (政府救助与慈善帮扶衔接)."""


@main.command()
@click.option("--households", type=click.IntRange(min=1), required=True, help="Number of households.")
@click.option("--regions", type=click.IntRange(min=1), required=True, help="Number of counties.")
@click.option("--periods", type=click.IntRange(min=1), required=True, help="Number of periods.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv"]), default="parquet", show_default=True)
@click.option("--frequency", type=click.Choice(["year", "quarter", "month"]), default="quarter", show_default=True)
@click.option("--start", default="2023-01-01", show_default=True, help="First day of the first period.")
@click.option("--weighted", is_flag=True, help="Survey weights differing by urban/rural stratum.")
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
def synth(households, regions, periods, seed, out, fmt, frequency, start, weighted, overwrite):
    """Write a synthetic data package with planted truth (truth.json)."""
    from evalkit.data.synth import generate

    t0 = time.perf_counter()
    generate(out, households, regions, periods, seed, frequency=frequency, start=start,
             weighted=weighted, format=fmt, overwrite=overwrite)
    click.echo(f"wrote {out} ({households:,} households, {regions} counties, {periods} {frequency}s) "
               f"in {time.perf_counter() - t0:.1f} s")


@main.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--frequency", type=click.Choice(["year", "quarter", "month"]), help="Overrides datapackage.json.")
@click.option("--json", "as_json", is_flag=True, help="Print the problems as JSON.")
@earliest_date_option
def validate(directory, frequency, as_json, earliest_date):
    """Check a data package and report every problem at once."""
    from evalkit.data.package import validate as run

    report = run(directory, frequency=frequency, earliest_date=earliest_date)
    click.echo(report.to_json() if as_json else str(report))
    sys.exit(0 if report.ok else INVALID_DATA)


@main.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Output table, .csv or .parquet.")
@click.option("--family", help="Only this indicator family.")
@click.option("--indicator", "indicator_ids", multiple=True, help="Only this indicator (repeatable).")
@click.option("--by", default="", help="Household columns to break down by, comma-separated; also "
              "income_quintile, head_age_band, household_type, and intersections of two "
              "(quoted: 'hukou*urban').")
@click.option("--region", help="Only this region and the regions below it.")
@click.option("--period", help="Only this period, e.g. 2024Q1.")
@click.option("--min-cell", type=click.IntRange(min=0), default=10, show_default=True,
              help="Small-cell threshold: suppress a cell counting fewer units (n: households, needs, referrals, ... "
                   "as the catalogue's counts says) than this in its denominator or, for rates of households, in its "
                   "numerator or outside it; then enough other cells (groups, sibling regions, related indicators) "
                   "that none can be recomputed by subtraction.")
@parameter_options
@click.option("--key-file", type=click.Path(exists=True, dir_okay=False), help="Secret key for pseudonyms.")
@earliest_date_option
@click.option("--quiet", is_flag=True, help="Do not print the summary.")
@click.option("--engine", type=click.Choice(["duckdb", "spark"]), default="duckdb", show_default=True,
              help="Where indicators are aggregated: DuckDB in this process, or Spark (needs the spark extra and "
                   "Java 17); loading and validation run in DuckDB either way.")
@click.option("--spark-master", default="local[2]", show_default=True,
              help="With --engine spark: the Spark master, local[N] or a cluster's URL (spark://host:7077, yarn, ...).")
@click.option("--spark-staging", type=click.Path(file_okay=False, path_type=Path),
              help="With --engine spark: where the validated tables are written as Parquet for Spark to read "
                   "(default: the temporary directory; on a cluster, storage every executor can read).")
def indicators(directory, out, family, indicator_ids, by, region, period, min_cell, params, key_file, earliest_date,
               quiet, engine, spark_master, spark_staging):
    """Compute indicators and write one tidy table."""
    from evalkit.data.package import load
    from evalkit.indicators.compute import compute

    if out.suffix not in (".csv", ".parquet"):
        _fail(f"--out must end in .csv or .parquet, got {out.name}")
    _writable(out)
    t0 = time.perf_counter()
    package = load(directory, key_file=key_file, earliest_date=earliest_date)
    try:
        if engine == "spark":  # inside: a session started here is stopped whatever fails
            package = package.on_spark(spark_master, staging=spark_staging)
        results = compute(package, indicators=list(indicator_ids) or None, family=family, by=by,
                          region=region, period=period, min_cell=min_cell, params=params)
        for problem in package.report.warnings:
            click.echo(str(problem), err=True)
        results.to_file(out)
        elapsed = time.perf_counter() - t0
        for ind, reason in results.skipped.items():
            click.echo(f"skipped {ind}: {reason}", err=True)
        if not quiet:
            click.echo(summary(results, package))
        click.echo(f"wrote {out} ({len(results.table):,} rows) in {elapsed:.1f} s")
    finally:
        if engine == "spark":
            from evalkit.engine import stop_spark

            stop_spark()


def summary(results, package, lang: str = "zh") -> str:
    """A short terminal table: the top region, latest period, each rate by service type; the
    other indicators one a line with their count and what it counts (households, referrals, ...)."""
    from evalkit.data.schema import SERVICE_TYPES

    from .report.text import format_counted, format_value

    overall = results.published()
    overall = overall[overall["group_by"] == ""]
    if overall.empty:
        return "no indicator could be computed"
    roots = package.regions.loc[package.regions["parent_id"].isna(), "region_id"].tolist()
    region = next((r for r in roots if r in set(overall["region"])), overall["region"].iloc[0])
    period = max(overall["period"])
    view = overall[(overall["region"] == region) & (overall["period"] == period)]
    from evalkit.indicators.catalogue import load_catalogue

    catalogue = load_catalogue()
    per_type = [i for i in dict.fromkeys(view["indicator"]) if catalogue[i].per_service_type]
    widths = {i: max(12, _width(catalogue[i].name(lang)) + 2) for i in per_type}
    lines = [f"{package.name} · region {region} · period {period}"]
    if per_type:  # the table of rates by service type, when some indicator has them
        lines.append(_pad("service type", 24)
                     + "".join(_pad(catalogue[i].name(lang), widths[i], right=True) for i in per_type))
    for service, label in SERVICE_TYPES.items() if per_type else ():
        rows = view[view["service_type"] == service].set_index("indicator")["value"]
        lines.append(_pad(f"{service} {label}", 24)
                     + "".join(_pad(format_value(rows.get(i, float("nan")), catalogue[i].unit, lang), widths[i],
                                    right=True) for i in per_type))
    for r in view[view["service_type"] == ""].itertuples():
        ind = catalogue[r.indicator]
        lines.append(f"{ind.name(lang)} ({ind.id}): {format_value(r.value, ind.unit, lang)}"
                     f" (n = {format_counted(r.n, ind.counts, lang)})")
    return "\n".join(lines)


def _width(text: str) -> int:
    """Terminal columns of ``text``: Chinese characters take two."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    fill = " " * max(0, width - _width(text))
    return fill + text if right else text + fill


@main.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--indicator", required=True, help="Indicator id, e.g. coordination.processing_days.")
@click.option("--method", "methods", type=click.Choice(["callaway_santanna", "twfe", "sun_abraham"]), multiple=True,
              help="Estimator (repeatable; default: all three).")
@click.option("--control", type=click.Choice(["never_treated", "not_yet_treated"]), default="never_treated",
              show_default=True, help="Control regions for Callaway-Sant'Anna (Sun-Abraham: never treated, or the "
              "last to adopt when every region adopts; two-way FE: all regions).")
@click.option("--aggregation", type=click.Choice(["group", "simple", "dynamic"]), default="group", show_default=True)
@click.option("--service-type", default="", help="Only this service type (default: all service types together).")
@click.option("--cluster-by-parent", is_flag=True, help="Cluster standard errors by parent region (city), not region.")
@click.option("--wild-bootstrap", is_flag=True, help="Wild cluster bootstrap intervals (advised below ~30 clusters).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the bootstrap.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Output table, .csv or .parquet.")
@click.option("--key-file", type=click.Path(exists=True, dir_okay=False), help="Secret key for pseudonyms.")
@earliest_date_option
def impact(directory, indicator, methods, control, aggregation, service_type, cluster_by_parent, wild_bootstrap, seed,
           out, key_file, earliest_date):
    """Effect of the linkage reform on an indicator: staggered difference-in-differences.

    Computes the indicator per region and period, keeps the regions with reform periods
    (counties), and estimates the average effect on the regions that adopted, one row per
    method. Callaway-Sant'Anna with the group aggregation is the recommended headline;
    two-way FE is biased when effects grow with time since adoption.
    """
    import pandas as pd

    from evalkit import impact as imp
    from evalkit.data.package import load
    from evalkit.errors import ParameterError
    from evalkit.indicators.compute import compute

    if out is not None and out.suffix not in (".csv", ".parquet"):
        _fail(f"--out must end in .csv or .parquet, got {out.name}")
    if out is not None:
        _writable(out)
    t0 = time.perf_counter()
    package = load(directory, key_file=key_file, earliest_date=earliest_date)
    results = compute(package, indicators=[indicator])
    for ind, reason in results.skipped.items():
        _fail(f"cannot compute {ind}: {reason}")
    panel = imp.panel_from_results(results, package.regions, indicator, service_type=service_type)
    rows = []
    for method in methods or imp.METHODS:
        ctrl = {"callaway_santanna": control, "twfe": "all"}.get(method)
        if method == "sun_abraham":
            ctrl = "never_treated" if panel["first_treated"].isna().any() else "last_treated"
        try:
            res = imp.att(panel, "value", "region", "period", "first_treated", method=method, control=ctrl,
                          aggregation=aggregation, cluster="parent_id" if cluster_by_parent else None,
                          bootstrap="wild" if wild_bootstrap else None, seed=seed)
            row = res.to_frame().assign(note="" if res.se > 0 else
                                        "no residual variation (saturated by few regions): the SE is not informative")
        except ParameterError as exc:
            row = pd.DataFrame([{"method": method, "aggregation": aggregation, "control": ctrl, "note": str(exc)}])
        rows.append(row)
    table = pd.concat(rows, ignore_index=True).reindex(columns=imp.TIDY + ["note"])
    table.insert(0, "indicator", indicator)
    if out is not None:
        imp.write_table(table, out)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        click.echo(table.drop(columns=["indicator"]).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    clusters = sorted(set(table["n_clusters"].dropna().astype(int)))
    click.echo(f"{indicator}: {panel['region'].nunique()} regions, {panel['period'].nunique()} periods, "
               f"{', '.join(map(str, clusters)) or 'no'} clusters"
               + (" (few: prefer --wild-bootstrap)" if clusters and min(clusters) < 30 and not wild_bootstrap else "")
               + (f"; wrote {out}" if out else "") + f" in {time.perf_counter() - t0:.1f} s")


@main.command()
@click.option("--format", "fmt", type=click.Choice(["md", "csv", "json"]), default="md", show_default=True)
def catalogue(fmt):
    """Print the indicator catalogue."""
    from evalkit.indicators.catalogue import load_catalogue

    click.echo(load_catalogue().render(fmt))


@main.command()
@click.argument("tables", nargs=-1)
def schema(tables):
    """Print the data package's tables and columns (all, or the TABLES named), as Markdown."""
    from evalkit.data.schema import TABLES, describe

    unknown = [t for t in tables if t not in TABLES]
    if unknown:
        _fail(f"unknown table(s) {', '.join(unknown)}; tables: {', '.join(TABLES)}")
    click.echo(describe(list(tables) or None))


@main.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--region", help="Region id to report on (see the regions table).")
@click.option("--all-regions", is_flag=True, help="Report on every region, in parallel, into OUT/<region id>/.")
@click.option("--period", help="Period to report, e.g. 2024Q4 (default: the latest).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Output directory.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option("--pdf", is_flag=True, help="Also print each part to PDF with headless Chromium.")
@click.option("--targets", type=click.Path(dir_okay=False, path_type=Path),
              help="YAML/JSON mapping indicator id -> target (default: the catalogue's targets).")
@click.option("--min-cell", type=click.IntRange(min=0), default=10, show_default=True,
              help="Small-cell threshold: suppress a cell counting fewer units (n: households, needs, referrals, ... "
                   "as the catalogue's counts says) than this in its denominator or, for rates of households, in its "
                   "numerator or outside it; then enough other cells (groups, sibling regions, related indicators) "
                   "that none can be recomputed by subtraction.")
@click.option("--by", default=",".join(DEFAULT_BY), show_default=True,
              help="Household columns to break results down by, comma-separated ('' for none).")
@parameter_options
@click.option("--notebooks", type=click.Path(file_okay=False, path_type=Path),
              help="Report templates directory (default: the repository's notebooks/).")
@click.option("--workers", type=click.IntRange(min=1), help="Parallel processes (default: sized to CPUs and memory).")
@click.option("--timeout", type=click.FloatRange(min=1), default=600, show_default=True,
              help="Seconds a notebook cell may run.")
@click.option("--force", is_flag=True, help="Render again even when a report is up to date.")
@click.option("--key-file", type=click.Path(exists=True, dir_okay=False), help="Secret key for pseudonyms.")
@earliest_date_option
def report(directory, region, all_regions, period, out, lang, pdf, targets, min_cell, by, params, notebooks,
           workers, timeout, force, key_file, earliest_date):
    """Render evaluation reports (scorecard and one part per indicator family) as HTML.

    Prints the path of the report's index.html last. With --all-regions, one region
    failing does not stop the others; the exit code is 1 if any failed. The indicator
    parameters given are used for results.parquet and printed in each part's methods section.
    """
    from .report.batch import render_all, render_report
    from .report.index import format_error

    if bool(region) == bool(all_regions):
        _fail("give either --region ID or --all-regions")
    if workers and not all_regions:
        _fail("--workers applies to --all-regions only")
    _writable(out, directory=True)
    if region:  # an unknown region is reported before any computing
        from evalkit.data.package import region_ids

        ids = region_ids(directory)
        if ids is not None and region not in ids:
            _fail(f"region {region!r} is not in the package's regions table (e.g. {', '.join(sorted(ids)[:5])})")
    common = dict(period=period, lang=lang, pdf=pdf, targets=targets, min_cell=min_cell, by=by, params=params,
                  notebooks=notebooks, force=force, timeout=timeout, key_file=key_file, earliest_date=earliest_date,
                  log=lambda m: click.echo(m, err=True))
    t0 = time.perf_counter()
    if all_regions:
        batch = render_all(directory, out, workers=workers, progress=True, **common)
    else:
        outcome = render_report(directory, region, out, **common)
    elapsed = time.perf_counter() - t0
    if all_regions:
        counts = {s: sum(r.status == s for r in batch.regions) for s in ("ok", "skipped", "failed")}
        click.echo(f"{len(batch.regions)} regions, period {batch.period}: {counts['ok']} rendered, "
                   f"{counts['skipped']} up to date, {counts['failed']} failed in {elapsed:.1f} s")
        for r in batch.failures:
            click.echo(f"failed {r.region} {r.name}: {format_error(r.error)}", err=True)
        click.echo(str(batch.index))
        sys.exit(INVALID_DATA if batch.failures else 0)
    if outcome.status == "failed":
        click.echo(f"failed {outcome.region} {outcome.name}: {format_error(outcome.error)}", err=True)
        sys.exit(INVALID_DATA)
    state = "up to date" if outcome.status == "skipped" else f"rendered in {elapsed:.1f} s"
    click.echo(f"report for {outcome.name} ({outcome.region}) {state}")
    click.echo(str(outcome.index))


if __name__ == "__main__":
    main()
