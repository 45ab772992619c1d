"""The fairness part of reports: concentration curves (pure function and the aggregate
ordinates of the data step) and notebooks/fairness.py rendered in Chinese and English."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import report_part

from evalkit import fairness
from evalkit.data.package import load
from evalkit.data.synth import generate
from evalkit.errors import ParameterError
from evalkit.report import render_report
from evalkit.report.curves import COLUMNS, concentration_curves
from evalkit.report.data import compute_data, load_data, save_data
from evalkit.report.text import t

pytestmark = pytest.mark.filterwarnings("error:Glyph .* missing")
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


# -- concentration_curve ------------------------------------------------------------------------

def test_concentration_curve_hand_values_with_ties():
    # y 1, 2, 3, 4 ranked by 1, 1, 2, 3 (total 10): the tied pair holds half the persons and 3/10
    # of y, spread evenly over its half; then 3/10 at 3/4 and the last 4/10 at 1
    curve = fairness.concentration_curve([1, 2, 3, 4], rank_by=[1, 1, 2, 3], points=4)
    assert curve["population_share"].tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert np.allclose(curve["cumulative_share"], [0.0, 0.15, 0.3, 0.6, 1.0])
    # the area under it gives the concentration index with midpoint ranks: 1 - 2 x 0.3875 = 0.225
    area = np.trapezoid(curve["cumulative_share"], curve["population_share"])
    assert area == pytest.approx(0.3875)
    assert 1 - 2 * area == pytest.approx(fairness.concentration_index([1, 2, 3, 4], rank_by=[1, 1, 2, 3]).value)
    # the order of tied rows does not matter (they share their mean rank)
    swapped = fairness.concentration_curve([2, 1, 3, 4], rank_by=[1, 1, 2, 3], points=4)
    assert np.allclose(swapped["cumulative_share"], curve["cumulative_share"])


def test_concentration_curve_weights_are_repeated_rows_and_ends_at_one_one():
    weighted = fairness.concentration_curve([4, 1, 2], rank_by=[1, 2, 3], weights=[2, 1, 1], points=8)
    repeated = fairness.concentration_curve([4, 4, 1, 2], rank_by=[1, 1, 2, 3], points=8)
    assert np.allclose(weighted["cumulative_share"], repeated["cumulative_share"])
    rng = np.random.default_rng(3)
    y, r, w = rng.exponential(size=200) * (rng.random(200) < 0.3), rng.normal(size=200), rng.uniform(0.5, 3, 200)
    curve = fairness.concentration_curve(y, r, w, points=20)
    assert len(curve) == 21 and curve.iloc[0].tolist() == [0.0, 0.0] and curve.iloc[-1].tolist() == [1.0, 1.0]
    assert (np.diff(curve["cumulative_share"]) >= -1e-12).all()  # y >= 0: never falls


def test_concentration_curve_edge_cases():
    assert fairness.concentration_curve([0, 0], rank_by=[1, 2], points=2)["cumulative_share"].isna().all()
    with pytest.raises(ParameterError, match="points"):
        fairness.concentration_curve([1, 2], rank_by=[1, 2], points=0)
    with pytest.raises(ParameterError, match="missing"):
        fairness.concentration_curve([1, np.nan], rank_by=[1, 2])


# -- the data step's aggregate curves ---------------------------------------------------------------

@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fair-data") / "pkg"
    generate(out, households=2000, regions=3, periods=4, seed=5)  # R00 > R01 > R0101..R0103
    return out


@pytest.fixture(scope="module")
def curves(package) -> pd.DataFrame:
    pkg = load(package)
    try:
        return concentration_curves(pkg, min_cell=10, counts=True)
    finally:
        getattr(pkg.con, "disconnect", lambda: None)()


def test_curves_are_aggregate_ordinates_from_zero_to_one_one(curves, package):
    assert list(curves.columns) == [*COLUMNS, "recipients"]  # no household column (counts only when asked)
    published = curves[~curves["suppressed"]]
    assert not published.empty and set(published["sector"]) == {"government", "charity", "any"}
    ends = published.groupby(["region", "period", "sector"])["cumulative_share"].agg(["first", "last"])
    assert (ends["first"] == 0).all() and np.allclose(ends["last"], 1.0)
    assert set(curves["population_share"].round(6)) == {round(k / 20, 6) for k in range(21)}
    ids = set(pd.read_parquet(package / "households.parquet", columns=["household_id"])["household_id"])
    text = curves.to_csv()
    assert not [i for i in ids if str(i) in text]


def test_curves_of_regions_with_few_recipients_are_suppressed(package, curves):
    last = curves[(curves["period"] == curves["period"].max()) & (curves["sector"] == "charity")]
    recipients = last.groupby("region")["recipients"].first()
    threshold = int(recipients["R00"])  # the province reaches it; each county has fewer recipients
    assert (recipients.drop(["R00", "R01"]) < threshold).all()
    pkg = load(package)
    try:
        strict = concentration_curves(pkg, min_cell=threshold, counts=True)
    finally:
        getattr(pkg.con, "disconnect", lambda: None)()
    mine = strict[(strict["period"] == last["period"].iloc[0]) & (strict["sector"] == "charity")]
    hidden = mine[mine["region"].isin(["R0101", "R0102", "R0103"])]
    assert hidden["suppressed"].all() and hidden["cumulative_share"].isna().all()
    assert not mine.loc[mine["region"] == "R00", "suppressed"].any()


@pytest.fixture(scope="module")
def results(package, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("fair-results") / "results.parquet"
    save_data(compute_data(package, min_cell=10), path)
    return path


def test_report_data_keeps_curves_and_coverage_by_quintile_only_for_fairness(results):
    data = load_data(results)
    assert list(data.curves.columns) == COLUMNS  # no count of recipients is saved
    assert not data.curves.empty and data.groups == ("hukou", "urban")
    # a curve is shown only where the table publishes the region's concentration index of the sector
    index = data.table[data.table["indicator"].str.startswith("fairness.concentration_") & (data.table["group_by"] == "")]
    index = index.assign(sector=index["indicator"].str.removeprefix("fairness.concentration_"))
    shown = data.curves[~data.curves["suppressed"]].merge(index, on=["region", "period", "sector"])
    assert len(shown) == (~data.curves["suppressed"]).sum() and not shown["suppressed_y"].any()
    hidden = index[index["suppressed"] & (index["sector"] != "gap")][["region", "period", "sector"]]
    assert data.curves.merge(hidden)["suppressed"].all()
    quintile = data.table[data.table["group_by"] == "income_quintile"]
    assert set(quintile["indicator"]) == {f"fairness.{kind}_{sector}" for kind in ("coverage", "benefit_incidence")
                                          for sector in ("government", "charity", "any")}
    r00 = quintile[(quintile["region"] == "R00") & (quintile["period"] == data.periods[-1])]
    assert set(r00["group"]) >= {"Q1", "Q2", "Q3", "Q4", "Q5"} and r00["value"].notna().all()
    # a higher threshold when reading suppresses more curves, never fewer
    strict = load_data(results, min_cell=150)
    assert strict.curves["suppressed"].sum() > data.curves["suppressed"].sum()
    assert strict.curves.loc[strict.curves["suppressed"], "cumulative_share"].isna().all()


# -- the rendered part ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rendered(package, results, tmp_path_factory) -> dict[str, Path]:
    templates = tmp_path_factory.mktemp("fair-templates")
    shutil.copy(NOTEBOOKS / "fairness.py", templates)
    out = {}
    for lang in ("zh", "en"):
        target = tmp_path_factory.mktemp(f"fair-{lang}")
        shutil.copy(results, target)  # same data and settings: reused, not recomputed
        outcome = render_report(package, "R00", target, lang=lang, notebooks=templates, log=lambda m: None)
        assert outcome.status == "ok", outcome.error
        out[lang] = target
    return out


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_fairness_part_renders_with_titled_charts(rendered, lang, package):
    text = report_part(rendered[lang], "fairness")
    assert f'<html lang="{lang}">' in (rendered[lang] / "index.html").read_text(encoding="utf-8")
    for key in ("fair_table_title", "fair_quintile_title", "fair_curve_title"):
        assert t(key, lang) in text, key
    assert t("fair_gap_title", lang, grouping="") in text  # one per grouping
    for img_alt in (t("fair_quintile_title", lang), t("fair_curve_title", lang)):
        assert re.search(rf'<img alt="{re.escape(img_alt)}" src="data:image/svg\+xml;base64,', text), img_alt
    assert any(t(k, lang).split("：")[0].split(":")[0] in text
               for k in ("fair_headline_more", "fair_headline_less", "fair_headline_same"))
    for bad in ("Traceback", "output_error", "report = start(", "seed", "DOMAIN.md"):
        assert bad not in text
    hh = pd.read_parquet(package / "households.parquet", columns=["household_id", "id_number", "name"])
    assert not [i for i in hh["household_id"].astype(str) if re.search(rf"\b{re.escape(i)}\b", text)]
    assert not set(re.findall(r"\d{17}[\dXx]", text)) & set(hh["id_number"])
    assert not [name for name in set(hh["name"]) if name in text]
