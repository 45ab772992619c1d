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


def _raw(**changes):
    """The packaged catalogue as parsed YAML, with the need rate's entry changed."""
    from importlib import resources

    import yaml

    raw = yaml.safe_load(resources.files("evalkit.indicators").joinpath("catalogue.yaml").read_text(encoding="utf-8"))
    entry = next(e for e in raw["indicators"] if e["id"] == "access.need_rate")
    entry.update(changes)
    return raw


def test_direction_neutral_is_accepted_and_unknown_directions_rejected():
    from evalkit.indicators.catalogue import parse_catalogue

    cat = parse_catalogue(_raw(direction="neutral", target=None))
    assert cat["access.need_rate"].neutral and cat["access.need_rate"].target is None
    for direction in ("higher", "lower"):
        assert not parse_catalogue(_raw(direction=direction))["access.need_rate"].neutral
    with pytest.raises(ValueError, match="access.need_rate has unit 'rate' / direction 'sideways'.*directions: "
                                         "higher, lower, neutral"):
        parse_catalogue(_raw(direction="sideways"))
    with pytest.raises(ValueError, match="access.need_rate is neutral .* cannot have a target"):
        parse_catalogue(_raw(direction="neutral", target=0.1))


def test_descriptive_indicators_are_neutral_without_target():
    """The need rate describes need, it is not a performance: neither higher nor lower is better."""
    cat = load_catalogue()
    neutral = {i.id for i in cat if i.neutral}
    assert neutral == {"access.need_rate", "coordination.charity_to_government_share", "fairness.concentration_gap",
                       "fairness.gini_aid_pc", "fairness.coverage_government", "fairness.coverage_charity",
                       "fairness.coverage_any", "outcomes.cost_per_beneficiary_household",
                       "fairness.theil_aid_pc", "fairness.theil_between_subregions",
                       *(f"fairness.{k}_incidence_{s}" for k in ("benefit", "beneficiary")
                         for s in ("government", "charity", "any"))}
    assert all(cat[i].target is None for i in neutral)


def test_every_entry_says_what_a_missing_value_counts_as():
    from evalkit.indicators.parameters import for_family

    for ind in load_catalogue():
        assert ind.missing("zh") and ind.missing("en"), ind.id
    md = load_catalogue().render("md")
    assert "missing values" in md and load_catalogue()["access.accessibility_rate"].missing_en in md
    # one declared source of "received" for both families
    assert "receipt_forms" in [p.name for p in for_family("access")]
    assert "receipt_forms" in [p.name for p in for_family("coordination")]


def test_every_entry_declares_its_unit_of_analysis_with_labels():
    """``counts`` says what ``n`` counts; every unit has a Chinese and an English label and heading."""
    from evalkit.indicators.catalogue import COUNTS

    cat = load_catalogue()
    for ind in cat:
        assert ind.counts in COUNTS, ind.id
        for lang in ("zh", "en"):
            assert ind.counts_label(lang) and ind.counts_heading(lang), (ind.id, lang)
    for label in COUNTS.values():
        singular, plural = label["en"]
        assert label["zh"] and singular and plural and label["heading"]["zh"].startswith(label["zh"])
    # what the indicator functions really count (their denominators)
    expected = {
        "access.need_rate": "households", "access.availability_rate": "households",
        "coordination.duplicate_aid_rate": "households", "coordination.duplicate_aid_amount": "households",
        "coordination.duplicate_aid_amount_total": "households", "coordination.omitted_need_rate": "needs",
        "coordination.push_timeliness_rate": "needs", "coordination.matching_handling_rate": "needs",
        "coordination.referral_to_charity_rate": "needs", "coordination.referral_acceptance_rate": "referrals",
        "coordination.referral_accept_days_median": "referrals", "coordination.charity_to_government_share": "referrals",
        "coordination.verification_days": "cases", "coordination.on_time_rate": "cases",
        "coordination.open_red_rate": "cases", "coordination.satisfaction_rate": "evaluations",
        "coordination.resource_publication_rate": "service_points", "coordination.charity_funding_share": "aid_records",
    }
    assert {i: cat[i].counts for i in expected} == expected
    assert cat["coordination.referral_closure_rate"].counts_label("zh") == "转介"
    assert cat["coordination.referral_closure_rate"].counts_label("en", n=1) == "referral"
    assert cat["coordination.push_timeliness_rate"].counts_heading("en") == "Needs"


def test_a_missing_or_unknown_unit_of_analysis_is_rejected():
    from evalkit.indicators.catalogue import parse_catalogue

    with pytest.raises(ValueError, match="access.need_rate must say what it counts .* got 'people'; one of: households"):
        parse_catalogue(_raw(counts="people"))
    raw = _raw()
    del next(e for e in raw["indicators"] if e["id"] == "access.need_rate")["counts"]
    with pytest.raises(ValueError, match="access.need_rate must say what it counts"):
        parse_catalogue(raw)


def test_amounts_say_whether_they_are_totals_or_per_household():
    """Every amount (unit yuan) says it is a total or per aided household (or per person), in
    both languages; the duplicate-aid yuan come both ways."""
    cat = load_catalogue()
    amounts = [i for i in cat if i.unit == "yuan"]
    assert {i.id for i in amounts} == {"coordination.duplicate_aid_amount", "coordination.duplicate_aid_amount_total",
                                       "outcomes.cost_per_beneficiary_household", "outcomes.income_change_pc"}
    for ind in amounts:
        per = (("per aided household" in ind.name_en or "per person" in ind.name_en)
               and ("每户" in ind.name_zh or "/人" in ind.name_zh))
        total = "Total" in ind.name_en and "总金额" in ind.name_zh
        assert per != total, ind.id
    assert "per aided household" in cat["coordination.duplicate_aid_amount"].formula_en
    assert "a total, not per household" in cat["coordination.duplicate_aid_amount_total"].formula_en
    md = cat.render("md")
    assert "| unit | counts |" in md and "| yuan | households |" in md and "| rate | referrals |" in md
