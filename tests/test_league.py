"""Sub-regions side by side (league table, ranked dots), the composite-index rule, table
exports, and every notebook in notebooks/ running with its default parameters."""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from evalkit.indicators.catalogue import load_catalogue
from evalkit.report.data import ReportData
from evalkit.report.league import league_frame, league_table, not_shown
from evalkit.report.notebook import Report, export_tables
from evalkit.report.text import t
from evalkit.results.composite import MIN_REGIONS, composite_indices
from evalkit.results.indicator_results import COLUMNS

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
HIGHER, LOWER, NEUTRAL = "access.coverage_rate", "coordination.duplicate_aid_rate", "access.need_rate"
DUP, OMIT, MULTI = "coordination.duplicate_aid_rate", "coordination.omitted_aid_rate", "coordination.multi_need_addressed_rate"


def rows(indicator, cells, period="2024Q4"):
    """Overall rows of ``indicator``: region -> (value, low, high, n, suppressed)."""
    return [{"indicator": indicator, "family": indicator.split(".")[0], "service_type": "", "region": r,
             "period": period, "group_by": "", "group": "", "value": v, "ci_low": lo, "ci_high": hi, "n": n,
             "suppressed": s} for r, (v, lo, hi, n, s) in cells.items()]


NAN = float("nan")
TABLE = pd.DataFrame(
    rows(HIGHER, {"A": (0.40, 0.35, 0.45, 120, False), "B": (0.55, 0.50, 0.60, 90, False),
                  "C": (NAN, NAN, NAN, 4, True), "D": (0.40, 0.30, 0.50, 30, False), "E": (NAN, NAN, NAN, 0, False)})
    + rows(LOWER, {"A": (0.10, 0.05, 0.15, 120, False), "B": (0.02, 0.01, 0.05, 90, False),
                   "C": (NAN, NAN, NAN, 4, True), "D": (0.30, 0.20, 0.40, 30, False)})
    + rows(NEUTRAL, {"A": (0.2, 0.1, 0.3, 120, False), "B": (0.5, 0.4, 0.6, 90, False)})
    + rows(HIGHER, {"A": (0.9, 0.8, 1.0, 120, False)}, period="2024Q3"))
REGIONS = ["A", "B", "C", "D", "E"]


def test_league_table_ranks_by_direction_and_marks_suppressed_cells():
    got = league_table(TABLE, REGIONS, "2024Q4", [HIGHER, LOWER, NEUTRAL])
    higher = got[got.indicator == HIGHER]
    # higher is better: B first, A and D tie for 2nd (both 40%), then the suppressed and empty ones, unranked
    assert list(higher.region) == ["B", "A", "D", "C", "E"]
    assert list(higher["rank"].astype("Float64").fillna(-1)) == [1, 2, 2, -1, -1]
    assert list(higher.status) == ["value", "value", "value", "suppressed", "no_data"]
    lower = got[got.indicator == LOWER]
    # lower is better: B (2%) first; E has no row at all: listed as no data, not dropped
    assert list(lower.region) == ["B", "A", "D", "C", "E"] and list(lower["rank"].iloc[:3]) == [1, 2, 3]
    assert list(lower.status.iloc[3:]) == ["suppressed", "no_data"]
    neutral = got[got.indicator == NEUTRAL]
    assert neutral["rank"].isna().all() and list(neutral.region[:2]) == ["B", "A"]  # listed by value, unranked
    assert len(got) == 3 * len(REGIONS)  # every sub-region of every indicator, none dropped


@pytest.mark.parametrize("lang, word", [("zh", "已抑制"), ("en", "suppressed")])
def test_league_frame_shows_suppressed_cells_as_such(lang, word):
    league = league_table(TABLE, REGIONS, "2024Q4", [HIGHER])
    frame = league_frame(league, {r: f"County {r}" for r in REGIONS}, lang)
    values = list(frame.iloc[:, 3])
    assert values[:3] == ["55.0%", "40.0%", "40.0%"] and values[3] == word
    assert list(frame.iloc[:, 1]) == ["1", "2", "2", "", ""]
    assert list(frame.iloc[:, 2]) == ["County B", "County A", "County D", "County C", "County E"]
    assert frame.iloc[0, 0] and not frame.iloc[1, 0]  # the indicator's name once
    assert frame.iloc[3, 4] == "" and frame.iloc[3, 5] == ""  # no interval or count for a hidden cell
    note = not_shown(league, {r: r for r in REGIONS}, {HIGHER: "Coverage"}, lang)
    assert word in note and "C" in note and "E" in note


def composite_table(regions: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame(rows(DUP, {r: (v, v, v, 100, False) for r, v in regions.items()}))


def test_composite_rule_needs_three_regions_with_values():
    two = composite_indices(composite_table({"A": 0.1, "B": 0.2}), min_regions=MIN_REGIONS)
    assert two["value"].isna().all()  # never 100/0 from two units
    old = composite_indices(composite_table({"A": 0.1, "B": 0.2}))  # without the rule: 100 and 0
    assert sorted(old[old["index"] == "coordination.consistency_index"]["value"]) == [0.0, 100.0]
    three = composite_indices(composite_table({"A": 0.1, "B": 0.2, "C": 0.3}), min_regions=MIN_REGIONS)
    consistency = three[three["index"] == "coordination.consistency_index"].set_index("region")["value"]
    assert consistency.round(6).to_dict() == {"A": 100.0, "B": 50.0, "C": 0.0}
    # a suppressed cell does not count towards the three
    table = composite_table({"A": 0.1, "B": 0.2, "C": 0.3})
    table.loc[table.region == "C", ["value", "suppressed"]] = [NAN, True]
    assert composite_indices(table, min_regions=MIN_REGIONS, drop_suppressed=True)["value"].isna().all()


def svg_of(page: str) -> str:
    """The first chart of ``page`` as SVG text."""
    import base64
    import re

    return base64.b64decode(re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', page).group(1)).decode()


def fake_report(children: dict[str, float], lang: str = "en") -> tuple[Report, list[str]]:
    table = pd.DataFrame(rows(DUP, {"P": (0.2, 0.1, 0.3, 500, False),
                                    **{r: (v, v - 0.05, v + 0.05, 100, False) for r, v in children.items()}}))
    for col, default in (("numerator", NAN), ("denominator", NAN), ("se", NAN), ("df", NAN), ("interval", "wilson"),
                         ("n_excluded", 0), ("n_censored", 0), ("incomplete", False), ("note", "")):
        table[col] = default
    regions = pd.DataFrame({"region_id": ["P", *children], "name": ["Province", *[f"County {r}" for r in children]],
                            "parent_id": [None, *["P"] * len(children)], "level": ["province", *["county"] * len(children)],
                            "reform_period": None})
    data = ReportData(table=table[COLUMNS], regions=regions, periods=["2024Q4"], package="t", frequency="quarter",
                      data_hash="0" * 64, min_cell=10)
    report = Report(data, {"lang": lang, "region": "", "period": "", "by": (), "targets_path": ""})
    shown: list[str] = []
    report.show = shown.append
    return report, shown


def test_report_composite_indices_state_the_rule():
    report, shown = fake_report({"A": 0.1, "B": 0.3})
    assert report.region == "P" and report.period == "2024Q4"  # defaults: the top region, the latest period
    report.composite_indices()
    page = "".join(shown)
    assert "Fewer than 3 sub-regions have published values" in page and "<table" not in page
    report, shown = fake_report({"A": 0.1, "B": 0.3, "C": 0.2})
    report.composite_indices()
    page = "".join(shown)
    assert "<table" in page and "<td class=\"wrap\">County A</td><td class=\"num\">100</td>" in page
    assert "only when at least 3 sub-regions have a published value" in page


def test_report_by_subregion_shows_ranked_dots_and_league_table():
    report, shown = fake_report({"A": 0.1, "B": 0.3, "C": 0.2})
    report.by_subregion([DUP])
    page = "".join(shown)
    assert page.count("<img") == 1 and "League table of sub-regions" in page
    assert page.index("County A") < page.index("County C") < page.index("County B")  # lower is better: A first
    assert "the dashed line is the value of Province as a whole" in page
    report, shown = fake_report({"A": 0.1, "B": NAN, "C": 0.2})
    report.table.loc[report.table.region == "B", "suppressed"] = True
    report.by_subregion([DUP])
    page = "".join(shown)
    name = load_catalogue()[DUP].name("en")
    svg = svg_of(page)
    assert "County B" in svg and ">suppressed</text>" in svg  # drawn where its dot would be, labelled
    assert "Not in the chart" not in page  # so not listed under the chart
    assert page.count(t("interval_key", "en")) == 1  # what the interval lines mean, once
    assert '<td>County B</td><td class="num">suppressed</td>' in page  # in the league table, unranked
    # and in the table of every indicator, instead of a dash
    assert f'<td class="wrap">{name}</td><td class="num">10.0%</td><td class="num">suppressed</td>' in page
    report, shown = fake_report({"A": NAN, "B": NAN, "C": NAN})  # no value at all: no chart, all listed
    report.table.loc[report.table.region != "P", "suppressed"] = True
    report.by_subregion([DUP])
    page = "".join(shown)
    assert "<img" not in page
    assert f"Not in the chart: {name}: County A (suppressed), County B (suppressed), County C (suppressed)." in page
    report, shown = fake_report({"A": 0.1, "B": 0.3, "C": 0.2})
    tables = report.tables([DUP])
    assert list(tables["subregions"]["region"]) == ["A", "C", "B"] and list(tables["subregions"]["rank"]) == [1, 2, 3]
    assert tables["indicators"]["value"].tolist() == [0.2]


def test_map_only_with_boundaries_and_with_the_review_note(tmp_path):
    import json

    report, shown = fake_report({"A": 0.1, "B": 0.3, "C": 0.2})
    report.by_subregion([DUP])
    assert "".join(shown).count("<img") == 1  # no regions.geojson: the dot chart only
    square = lambda x: [[[x, 23], [x + 1, 23], [x + 1, 24], [x, 24], [x, 23]]]  # noqa: E731
    features = [{"type": "Feature", "properties": {"region_id": r}, "geometry": {"type": "Polygon", "coordinates": square(113 + k)}}
                for k, r in enumerate("ABC")]
    (tmp_path / "regions.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    report, shown = fake_report({"A": 0.1, "B": 0.3, "C": 0.2})
    report.data_path = str(tmp_path)
    report.by_subregion([DUP])
    page = "".join(shown)
    assert page.count("<img") == 2 and "Map of sub-regions" in page and "审图号" in page


def test_export_tables_writes_csv_parquet_excel_latex(tmp_path):
    frames = {"indicators": pd.DataFrame({"indicator": ["=cmd|' /C calc'!A0", "b_rate"], "value": [0.5, math.nan],
                                          "rank": pd.array([1, None], dtype="Int64")}),
              "by_hukou": pd.DataFrame({"group": ["local", "migrant"], "n": [3, 4]})}
    written = export_tables(frames, tmp_path / "out")
    names = sorted(p.name for p in written)
    assert names == sorted(["indicators.csv", "indicators.parquet", "indicators.tex", "by_hukou.csv",
                            "by_hukou.parquet", "by_hukou.tex", "tables.xlsx"])
    out = tmp_path / "out"
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary file left
    csv = pd.read_csv(out / "indicators.csv")
    assert csv["indicator"][0].startswith("'=")  # formula-safe
    pd.testing.assert_frame_equal(pd.read_parquet(out / "indicators.parquet"), frames["indicators"])
    sheets = pd.read_excel(out / "tables.xlsx", sheet_name=None)
    assert list(sheets) == ["indicators", "by_hukou"] and sheets["indicators"]["indicator"][0].startswith("'=")
    tex = (out / "indicators.tex").read_text(encoding="utf-8")
    assert "\\begin{tabular}" in tex and "b\\_rate" in tex
    with pytest.raises(Exception, match="table name"):
        export_tables({"../x": frames["by_hukou"]}, out)


@pytest.fixture(scope="module")
def demo_cwd(tmp_path_factory) -> Path:
    """A working directory holding a small demo package at data/demo (as `make demo`, fewer households)."""
    from evalkit.data.synth import generate

    cwd = tmp_path_factory.mktemp("notebook-cwd")
    generate(cwd / "data" / "demo", households=3000, regions=6, periods=8, seed=2026)
    return cwd


@pytest.mark.parametrize("name", sorted(p.stem for p in NOTEBOOKS.glob("*.py")))
def test_notebook_runs_with_its_defaults(name, demo_cwd):
    """Each notebook runs top to bottom with no parameter given, from a subdirectory of the
    directory holding data/demo (the data path is looked up upwards), as opened in JupyterLab."""
    from evalkit.report.execute import Template, execute

    work = demo_cwd / "notebooks"
    work.mkdir(exist_ok=True)
    template = Template(name, str(NOTEBOOKS / f"{name}.py"), None, "")
    nb = execute(template, {}, work, timeout=600, output_path=work / f"{name}.ipynb")
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    source = (NOTEBOOKS / f"{name}.py").read_text(encoding="utf-8")
    assert 'export_dir = ""' in source and "export_tables(tables, export_dir)" in source
