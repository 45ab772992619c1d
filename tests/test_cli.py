"""End to end through the command line: synth, validate, indicators."""
import json
import subprocess
import sys

import pandas as pd

from evalkit.results.indicator_results import COLUMNS


def cli(*args):
    return subprocess.run([sys.executable, "-m", "evalkit.cli", *map(str, args)], capture_output=True, text=True)


def test_synth_validate_indicators(tmp_path):
    pkg = tmp_path / "pkg"
    assert cli("synth", "--households", 2000, "--regions", 3, "--periods", 2, "--seed", 1,
               "--out", pkg, "--format", "csv").returncode == 0
    assert cli("validate", pkg).returncode == 0
    out = tmp_path / "out" / "ind.csv"
    run = cli("indicators", pkg, "--out", out, "--by", "hukou", "--period", "2023Q2", "--family", "access")
    assert run.returncode == 0, run.stderr
    assert "可得率" in run.stdout and "wrote" in run.stdout
    table = pd.read_csv(out, keep_default_na=False, na_values=[""])
    # the file says what n counts (households for the access family)
    assert list(table.columns) == [*COLUMNS[:COLUMNS.index("n_excluded") + 1], "counts",
                                   *COLUMNS[COLUMNS.index("n_excluded") + 1:]]
    assert set(table["counts"]) == {"households"}
    assert set(table.period) == {"2023Q2"}
    assert set(table.group_by.fillna("")) == {"", "hukou"}
    small = table[table.suppressed]
    assert small["value"].isna().all()  # published output blanks small cells
    assert (table.loc[~table.suppressed, "n"] >= 10).all()
    provenance = json.loads((out.parent / "ind.provenance.json").read_text(encoding="utf-8"))  # sidecar
    assert provenance["by"] == ["hukou"] and provenance["scope"]["period"] == "2023Q2"
    assert provenance["data"]["extracted_on"] and provenance["file"]["name"] == "ind.csv"


def test_indicator_parameters_reach_the_computation(tmp_path):
    pkg = tmp_path / "pkg"
    assert cli("synth", "--households", 1500, "--regions", 2, "--periods", 1, "--seed", 3, "--out", pkg).returncode == 0
    tables = {}
    for km in ("1", "20"):
        out = tmp_path / f"near{km}.csv"
        # --min-cell 0: at 20 km few households are beyond reach, a numerator small cells would hide
        run = cli("indicators", pkg, "--out", out, "--indicator", "access.beyond_reach_rate", "--nearby-km", km,
                  "--min-cell", 0, "--quiet")
        assert run.returncode == 0, run.stderr
        tables[km] = pd.read_csv(out).set_index(["region", "period", "service_type"])["value"]
        sidecar = json.loads((tmp_path / f"near{km}.provenance.json").read_text(encoding="utf-8"))
        assert sidecar["parameters"]["nearby_km"] == float(km)
    # a larger radius leaves no more households beyond reach, and somewhere strictly fewer
    both = pd.concat(tables, axis=1).dropna()
    assert len(both) >= 10
    assert (both["20"] <= both["1"] + 1e-12).all() and (both["20"] < both["1"]).any()
    run = cli("indicators", pkg, "--out", tmp_path / "w.csv", "--family", "coordination", "--warning-days", "7,3")
    assert run.returncode == 2 and "first not above the second" in run.stderr
    run = cli("indicators", pkg, "--out", tmp_path / "w.csv", "--warning-days", "three")
    assert run.returncode == 2 and "warning_days" in run.stderr


def test_usage_errors_exit_2(tmp_path, tiny):
    assert cli("indicators", tiny, "--out", tmp_path / "x.txt").returncode == 2
    run = cli("indicators", tiny, "--out", tmp_path / "x.csv", "--by", "name")
    assert run.returncode == 2 and "cannot group by name" in run.stderr
    assert cli("synth", "--households", 1, "--regions", 2, "--periods", 1, "--out", tmp_path / "s").returncode == 2


def test_report_usage_errors_exit_2(tmp_path, tiny):
    out = tmp_path / "rep"
    run = cli("report", tiny, "--out", out)
    assert run.returncode == 2 and "give either --region ID or --all-regions" in run.stderr
    bad = tmp_path / "targets.yaml"
    bad.write_text("access.nope: 0.5\n")
    run = cli("report", tiny, "--region", "A", "--out", out, "--targets", bad)
    assert run.returncode == 2 and "unknown indicator 'access.nope'" in run.stderr
    run = cli("report", tiny, "--region", "Z", "--out", out)
    assert run.returncode == 2 and "region 'Z' is not in the package's regions table" in run.stderr
    run = cli("report", tiny, "--region", "A", "--period", "2030Q1", "--out", out)
    assert run.returncode == 2 and "period 2030Q1 is not in the data" in run.stderr
    assert not (out / "index.html").exists()


def test_report_on_invalid_package_exits_1(tmp_path, tiny):
    (tiny / "households.csv").write_text("户编号,区县\nh1,NOWHERE\n", encoding="utf-8")
    run = cli("report", tiny, "--region", "A", "--out", tmp_path / "rep")
    assert run.returncode == 1 and "not a valid data package" in run.stderr


def test_evalkit_errors_exit_2_without_traceback(tmp_path, tiny):
    """Bad parameters and unreadable input: exit 2 and one line, never a traceback."""
    runs = {
        "bad parameter": cli("indicators", tiny, "--out", tmp_path / "x.csv", "--nearby-km", "-1"),
        "bad report parameter": cli("report", tiny, "--region", "A", "--out", tmp_path / "r",
                                    "--omission-window-days", "soon"),
        "bad breakdown": cli("report", tiny, "--region", "A", "--out", tmp_path / "r", "--by", "hukou,name"),
        "missing package": cli("indicators", tmp_path / "nowhere", "--out", tmp_path / "x.csv"),
        "missing report package": cli("report", tmp_path / "nowhere", "--region", "A", "--out", tmp_path / "r"),
        "existing output": cli("synth", "--households", 10, "--regions", 1, "--periods", 1, "--out", tiny),
    }
    for what, run in runs.items():
        assert run.returncode == 2, (what, run.stderr)
        assert "Traceback" not in run.stderr and run.stderr.strip(), (what, run.stderr)
    assert "nearby_km must be > 0 km" in runs["bad parameter"].stderr
    assert "--omission-window-days" in runs["bad report parameter"].stderr
    assert "cannot group by name" in runs["bad breakdown"].stderr
    assert "nowhere" in runs["missing package"].stderr and "nowhere" in runs["missing report package"].stderr
    assert not (tmp_path / "r" / "index.html").exists()
