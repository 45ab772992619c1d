"""Provenance in every output: what a results table was computed from, in CSV sidecars,
Parquet metadata and report footers."""
from __future__ import annotations

import datetime as dt
import json

import pyarrow.parquet as pq
import pytest
import yaml

import evalkit
from evalkit import IndicatorResults
from evalkit.data.io import PackageError
from evalkit.indicators.catalogue import definitions_sha256, load_catalogue
from evalkit.provenance import PARQUET_KEY
from evalkit.report.data import compute_data, load_data, save_data
from evalkit.report.present import provenance_html
from evalkit.results.indicator_results import provenance_sidecar


@pytest.fixture
def tiny_results(tiny):
    return evalkit.compute(evalkit.load(tiny), family="access", by=["hukou"])


def test_compute_attaches_the_record(tiny, tiny_results):
    prov = tiny_results.provenance
    catalogue = load_catalogue()
    assert prov["evalkit"] == evalkit.__version__
    assert prov["catalogue"] == {"version": catalogue.version, "sha256": catalogue.sha256}
    assert prov["parameters"]["nearby_km"] == 3.0 and prov["parameters"]["warning_days"] == [3, 7]
    assert (prov["min_cell"], prov["confidence"], prov["by"]) == (10, 0.95, ["hukou"])
    assert prov["scope"]["family"] == "access"
    data = prov["data"]
    assert data["package"] == "tiny" and data["sha256"] == evalkit.load(tiny).fingerprint()
    # no extracted_on declared: the latest event date in the data (an aid record's start; its
    # end date, 2024-05-01, is a planned date, not an event)
    assert (data["extracted_on"], data["extracted_on_source"], data["extracted_on_column"]) == \
        ("2024-04-10", "latest date in the data", "assistance.start_on")
    json.dumps(prov)  # JSON-ready


def test_csv_sidecar(tiny_results, tmp_path):
    out = tiny_results.to_file(tmp_path / "ind.csv")
    sidecar = tmp_path / "ind.provenance.json"
    assert provenance_sidecar(out) == sidecar and sidecar.exists()
    record = json.loads(sidecar.read_text(encoding="utf-8"))
    assert record["catalogue"]["version"] == load_catalogue().version
    assert record["parameters"] == tiny_results.provenance["parameters"]
    assert record["published"] is True and record["file"]["name"] == "ind.csv"
    assert IndicatorResults.read_provenance(out) == record
    assert not list(tmp_path.glob(".*tmp"))  # written atomically
    out.write_text(out.read_text(encoding="utf-8") + "x\n", encoding="utf-8")
    with pytest.raises(ValueError, match="does not describe ind.csv"):
        IndicatorResults.read_provenance(out)


def test_parquet_metadata(tiny_results, tmp_path):
    out = tiny_results.to_file(tmp_path / "ind.parquet", published=False)
    raw = pq.read_schema(out).metadata[PARQUET_KEY]
    record = json.loads(raw)
    assert record == {**tiny_results.provenance, "published": False}
    assert IndicatorResults.read_provenance(out) == record
    assert not list(tmp_path.glob("*.json"))  # Parquet carries it inside


def test_record_changes_with_a_parameter(tiny, tmp_path):
    pkg = evalkit.load(tiny)
    records = {}
    for km in (3, 5):
        res = evalkit.compute(pkg, family="access", params={"nearby_km": km})
        records[km] = IndicatorResults.read_provenance(res.to_file(tmp_path / f"near{km}.parquet"))
    assert records[3]["parameters"]["nearby_km"] == 3.0 and records[5]["parameters"]["nearby_km"] == 5.0
    assert {k: v for k, v in records[3].items() if k != "parameters"} == \
        {k: v for k, v in records[5].items() if k != "parameters"}
    confident = evalkit.compute(pkg, family="access", confidence=0.9).provenance
    assert confident["confidence"] == 0.9 and confident != records[3]


def test_declared_extraction_date(tiny):
    descriptor = tiny / "datapackage.json"
    meta = json.loads(descriptor.read_text())
    descriptor.write_text(json.dumps({**meta, "extracted_on": "2024-06-30"}))
    prov = evalkit.compute(evalkit.load(tiny), family="access").provenance
    assert prov["data"]["extracted_on"] == "2024-06-30"
    assert prov["data"]["extracted_on_source"] == "datapackage.json"
    descriptor.write_text(json.dumps({**meta, "extracted_on": "June 2024"}))
    with pytest.raises(PackageError, match="extracted_on must be a date"):
        evalkit.load(tiny)


def test_latest_date_ignores_the_future(tiny):
    pkg = evalkit.load(tiny)
    assert pkg.latest_date(dt.date(2024, 4, 20)) == (dt.date(2024, 4, 10), "assistance.start_on")
    assert pkg.latest_date(dt.date(2000, 1, 1)) is None


def test_edited_catalogue_is_detectable():
    from importlib import resources

    raw = yaml.safe_load(resources.files("evalkit.indicators").joinpath("catalogue.yaml").read_text(encoding="utf-8"))
    assert definitions_sha256(raw) == load_catalogue().sha256
    assert definitions_sha256({**raw, "version": "2099.1.0"}) == load_catalogue().sha256  # the version is not a definition
    raw["indicators"][0] = {**raw["indicators"][0], "formula_en": "something else"}
    assert definitions_sha256(raw) != load_catalogue().sha256


def test_report_results_file_and_footer(tiny, tmp_path):
    data = compute_data(tiny, min_cell=2)
    path = save_data(data, tmp_path / "results.parquet")
    loaded = load_data(path)
    assert loaded.provenance == data.provenance and loaded.provenance["data"]["sha256"] == loaded.data_hash
    assert IndicatorResults.read_provenance(path)["by"] == list(data.groups)
    version = load_catalogue().version
    zh = provenance_html("zh", loaded.package, loaded.data_hash, loaded.min_cell, provenance=loaded.provenance)
    assert f"指标目录版本：{version}" in zh and "数据提取日期：2024-04-10" in zh and "nearby_km=3" in zh
    en = provenance_html("en", loaded.package, loaded.data_hash, loaded.min_cell, provenance=loaded.provenance)
    assert f"Indicator catalogue: version {version}" in en and "Parameters: " in en and "confidence=0.95" in en
    assert "Data extracted on: 2024-04-10 (not declared" in en
    bare = provenance_html("en", loaded.package, loaded.data_hash, loaded.min_cell)  # index pages: as before
    assert "Indicator catalogue" not in bare and "Data fingerprint" in bare
