"""End to end through the command line: synth, validate, indicators."""
import subprocess
import sys

import pandas as pd

from evalkit.results import COLUMNS


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
    assert list(table.columns) == COLUMNS
    assert set(table.period) == {"2023Q2"}
    assert set(table.group_by.fillna("")) == {"", "hukou"}
    small = table[table.suppressed]
    assert small["value"].isna().all()  # published output blanks small cells
    assert (table.loc[~table.suppressed, "n"] >= 10).all()


def test_usage_errors_exit_2(tmp_path, tiny):
    assert cli("indicators", tiny, "--out", tmp_path / "x.txt").returncode == 2
    run = cli("indicators", tiny, "--out", tmp_path / "x.csv", "--by", "name")
    assert run.returncode == 2 and "cannot group by name" in run.stderr
    assert cli("synth", "--households", 1, "--regions", 2, "--periods", 1, "--out", tmp_path / "s").returncode == 2
