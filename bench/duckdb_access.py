"""Accessibility and availability rates in one DuckDB statement: the other script bench_speed.py times.

    python bench/duckdb_access.py PACKAGE --out access.csv [--receipt-forms service,in_kind]

The same table as ``bench/pandas_access.py`` (see its docstring for the definitions), written
as a skilled SQL user would: one statement over the package's Parquet files, summed per leaf
region, rolled up the region tree with a recursive query and spread over every region,
period and service type. Point estimates only: no intervals, no validation of the tables, no
distance fallback (a package that would need it is refused).
"""
from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pandas_access  # the same command line (this directory is on sys.path when run as a script)

# ordinal of a date's period, and the period's label, per frequency (as pandas' Period writes it)
ORDINAL = {"quarter": "(year({d}) * 4 + quarter({d}) - 1)", "month": "(year({d}) * 12 + month({d}) - 1)",
           "year": "year({d})"}
LABEL = {"quarter": "({p} // 4)::VARCHAR || 'Q' || ({p} % 4 + 1)::VARCHAR",
         "month": "({p} // 12)::VARCHAR || '-' || lpad(({p} % 12 + 1)::VARCHAR, 2, '0')",
         "year": "{p}::VARCHAR"}


def access(pkg: Path, receipt_forms=("service", "in_kind")) -> pd.DataFrame:
    """One row per indicator, service type, region and period: value, numerator, denominator, n, n_excluded."""
    pkg = Path(pkg)
    meta = json.loads((pkg / "datapackage.json").read_text(encoding="utf-8"))
    freq = meta.get("frequency", "year")
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")

    def table(name: str) -> str:
        return f"read_parquet('{pkg / (name + '.parquet')}')"

    def ordinal(d: str) -> str:
        return ORDINAL[freq].format(d=d)

    hh_columns = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {table('households')}").fetchall()}
    design = meta.get("design") or {}
    weight = design.get("weight")
    if not weight and "weight" in hh_columns and \
            not con.execute(f"SELECT bool_and(coalesce(weight, 1.0) = 1.0) FROM {table('households')}").fetchone()[0]:
        weight = "weight"
    w = f'coalesce("{weight}", 1.0)' if weight else "1.0"
    located = {"lon", "lat"} <= hh_columns and (pkg / "service_points.parquet").exists() and con.execute(
        f"SELECT count(*) FROM {table('households')} WHERE lon IS NOT NULL AND lat IS NOT NULL").fetchone()[0]
    if located and con.execute(f"SELECT count(*) FROM {table('needs')} WHERE supply_nearby IS NULL").fetchone()[0]:
        raise SystemExit("needs without supply_nearby in a package with coordinates: the distance fallback "
                         "is not in this script")
    dated = [f"SELECT identified_on AS d FROM {table('needs')}", f"SELECT start_on FROM {table('assistance')}"]
    if (pkg / "cases.parquet").exists():
        dated.append(f"SELECT applied_on FROM {table('cases')}")
    extracted = meta.get("extracted_on") or "9999-12-31"
    forms = ", ".join(f"'{f}'" for f in receipt_forms)
    sql = f"""
    WITH RECURSIVE
    span AS (SELECT {ordinal('min(d)')} AS first, {ordinal('max(d)')} AS last FROM ({' UNION ALL '.join(dated)})
             WHERE d BETWEEN DATE '1990-01-01' AND DATE '{extracted}'),
    hh AS (SELECT household_id, region_id, {w} AS w FROM {table('households')}),
    units AS (  -- a household needing a type in a period; nearby: any answer true (NULL: none known)
      SELECT household_id, {ordinal('identified_on')} AS p, service_type, bool_or(supply_nearby) AS nearby
      FROM {table('needs')}, span
      WHERE identified_on IS NOT NULL AND {ordinal('identified_on')} BETWEEN span.first AND span.last
      GROUP BY ALL),
    received AS (  -- (household, period, category) covered by aid in a receipt form
      SELECT DISTINCT household_id, unnest(range(s, e + 1)) AS p, category AS service_type
      FROM (SELECT household_id, category, greatest({ordinal('start_on')}, span.first) AS s,
                   least(coalesce({ordinal('end_on')}, span.last), span.last) AS e
            FROM {table('assistance')}, span WHERE start_on IS NOT NULL AND form IN ({forms}))
      WHERE e >= s),
    leaf AS (
      SELECT hh.region_id AS region, u.p, u.service_type,
             sum(w) FILTER (WHERE nearby IS NOT NULL) AS acc_x, sum(w) FILTER (WHERE nearby) AS acc_y,
             count(nearby) AS acc_n, count(*) - count(nearby) AS acc_excl,
             sum(w) AS av_x, sum(w) FILTER (WHERE r.p IS NOT NULL) AS av_y, count(*) AS av_n
      FROM units u JOIN hh USING (household_id) LEFT JOIN received r USING (household_id, p, service_type)
      GROUP BY ALL),
    regions AS (SELECT region_id, parent_id FROM {table('regions')}),
    closure(region_id, ancestor) AS (
      SELECT region_id, region_id FROM regions
      UNION ALL
      SELECT c.region_id, r.parent_id FROM closure c JOIN regions r ON r.region_id = c.ancestor
      WHERE r.parent_id IS NOT NULL),
    rolled AS (
      SELECT c.ancestor AS region, p, service_type, sum(acc_x) AS acc_x, sum(acc_y) AS acc_y, sum(acc_n) AS acc_n,
             sum(acc_excl) AS acc_excl, sum(av_x) AS av_x, sum(av_y) AS av_y, sum(av_n) AS av_n
      FROM leaf JOIN closure c ON c.region_id = leaf.region GROUP BY ALL),
    grid AS (
      SELECT region_id AS region, p, service_type
      FROM regions, span, range(span.first, span.last + 1) AS periods(p), unnest({pandas_access.SERVICE_TYPES!r}) AS t(service_type)),
    cells AS (
      SELECT g.region, {LABEL[freq].format(p='g.p')} AS period, g.service_type,
             coalesce(acc_x, 0) AS acc_x, coalesce(acc_y, 0) AS acc_y, coalesce(acc_n, 0) AS acc_n,
             coalesce(acc_excl, 0) AS acc_excl, coalesce(av_x, 0) AS av_x, coalesce(av_y, 0) AS av_y,
             coalesce(av_n, 0) AS av_n
      FROM grid g LEFT JOIN rolled USING (region, p, service_type))
    SELECT 'access.accessibility_rate' AS indicator, service_type, region, period,
           CASE WHEN acc_x > 0 THEN acc_y / acc_x END AS value, acc_y::DOUBLE AS numerator,
           acc_x::DOUBLE AS denominator, acc_n AS n, acc_excl AS n_excluded FROM cells
    UNION ALL
    SELECT 'access.availability_rate', service_type, region, period, CASE WHEN av_x > 0 THEN av_y / av_x END,
           av_y::DOUBLE, av_x::DOUBLE, av_n, 0 FROM cells
    """
    return con.execute(sql).df()


def main(argv=None) -> None:
    pandas_access.main(argv, compute=access, doc=__doc__)


if __name__ == "__main__":
    main()
