"""The catalogue is the one definition: complete, consistent, and what the code registers."""
import json
import subprocess
import sys

import pytest

from evalkit.indicators import REGISTRY, indicator
from evalkit.indicators.catalogue import load_catalogue


def test_every_catalogue_entry_is_implemented_and_vice_versa():
    ids = {i.id for i in load_catalogue()}
    assert ids == set(REGISTRY)


def test_entries_are_complete():
    for ind in load_catalogue():
        assert ind.name_zh and ind.name_en and ind.formula_zh and ind.formula_en
        assert ind.action_zh and ind.action_en, f"{ind.id} needs a suggested action for the improvement plan"
        assert "households" in ind.tables
        assert ind.target is None or 0 <= ind.target <= 1 or ind.unit != "rate"


def test_registering_an_uncatalogued_indicator_fails():
    with pytest.raises(KeyError, match="catalogue.yaml"):
        indicator("access.made_up")


@pytest.mark.parametrize("fmt", ["md", "csv", "json"])
def test_cli_prints_every_indicator(fmt):
    run = subprocess.run([sys.executable, "-m", "evalkit.cli", "catalogue", "--format", fmt],
                         capture_output=True, text=True)
    assert run.returncode == 0
    for ind in load_catalogue():
        assert ind.id in run.stdout and ind.name_zh in run.stdout
    if fmt == "json":
        assert len(json.loads(run.stdout)["indicators"]) == len(load_catalogue())


def test_every_entry_says_what_a_missing_value_counts_as():
    from evalkit.indicators.parameters import for_family

    for ind in load_catalogue():
        assert ind.missing("zh") and ind.missing("en"), ind.id
    md = load_catalogue().render("md")
    assert "missing values" in md and load_catalogue()["access.accessibility_rate"].missing_en in md
    # one declared source of "received" for both families
    assert "receipt_forms" in [p.name for p in for_family("access")]
    assert "receipt_forms" in [p.name for p in for_family("coordination")]
