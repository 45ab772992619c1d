"""CITATION.cff: valid CFF 1.2.0 keys, and its version follows evalkit's."""
import datetime as dt
from pathlib import Path

import yaml

import evalkit

CITATION = Path(__file__).resolve().parents[1] / "CITATION.cff"


def test_citation_cff_parses_with_the_required_keys():
    cff = yaml.safe_load(CITATION.read_text(encoding="utf-8"))
    assert {"cff-version", "message", "title", "authors"} <= set(cff)
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "software"
    assert cff["version"] == evalkit.__version__
    assert isinstance(cff["date-released"], str) and dt.date.fromisoformat(cff["date-released"])
    assert cff["authors"] and all("name" in a or "family-names" in a for a in cff["authors"])
    assert "license" not in cff  # pending a decision
    for ref in cff["references"]:
        assert {"type", "title", "authors", "year"} <= set(ref), ref.get("title")
        assert all("name" in a or "family-names" in a for a in ref["authors"])
