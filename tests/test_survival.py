"""Kaplan-Meier quantiles (evalkit.methods.survival): hand-computed flats, statsmodels, lifelines."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from statsmodels.duration.survfunc import SurvfuncRight

import evalkit
from evalkit.methods.survival import kaplan_meier, km_quantile


def counts_of(days, events, cell=None) -> pd.DataFrame:
    """The count table of units with these durations and event flags (one per unit)."""
    frame = pd.DataFrame({"cell": cell if cell is not None else "a", "days": np.asarray(days, float),
                          "event": np.asarray(events, bool)})
    return frame.groupby(["cell", "days", "event"]).size().rename("count").reset_index()


def quantile(days, events, q) -> pd.Series:
    return km_quantile(counts_of(days, events), ["cell"], q=q).iloc[0]


# --- hand-computed flats -------------------------------------------------------------------

def test_median_of_four_events_is_the_midpoint_of_the_flat():
    """Events on days 1, 2, 3, 4, nothing censored.

    At risk 4, 3, 2, 1: S(1) = 3/4, S(2) = 3/4 * 2/3 = 1/2, S(3) = 1/2 * 1/2 = 1/4, S(4) = 0.
    S equals 1/2 exactly on [2, 3): the median is (2 + 3) / 2 = 2.5 (R survival, SAS
    LIFETEST). statsmodels' first time with S < 1/2 would give 3, lifelines' first time with
    S <= 1/2 gives 2.
    """
    assert quantile([1, 2, 3, 4], [1, 1, 1, 1], 0.5).value == 2.5


def test_flat_with_a_censored_unit():
    """Day 1 censored, events on days 2, 3 and 5, day 7 censored.

    The unit censored on day 1 leaves before any event: at risk 4 on day 2, S(2) = 3/4; at
    risk 3 on day 3, S(3) = 3/4 * 2/3 = 1/2; at risk 2 on day 5, S(5) = 1/2 * 1/2 = 1/4.
    S = 1/2 on [3, 5): median (3 + 5) / 2 = 4. The quartile (S = 3/4 on [2, 3)) is 2.5 and
    the 75th percentile (S = 1/4 on [5, 7], where the data end) is (5 + 7) / 2 = 6.
    """
    days, events = [1, 2, 3, 5, 7], [0, 1, 1, 1, 0]
    assert quantile(days, events, 0.5).value == 4
    assert quantile(days, events, 0.25).value == 2.5
    assert quantile(days, events, 0.75).value == 6


def test_flat_running_to_the_end_of_the_data():
    """Events on days 1 and 2, two units censored on days 3 and 4.

    S(1) = 3/4, S(2) = 3/4 * 2/3 = 1/2, and no event after: the curve stays at 1/2 until the
    last day observed, 4. As R's quantile.survfit: the median is (2 + 4) / 2 = 3.
    """
    assert quantile([1, 2, 3, 4], [1, 1, 0, 0], 0.5).value == 3


def test_p90_flat():
    """Ten units with events on days 1 to 10.

    S(k) = (10 - k) / 10, so S = 1/10 exactly on [9, 10): the 90th percentile is 9.5. With
    one more unit censored on day 12 (eleven units), S(k) = (11 - k) / 11 never equals 1/10:
    S(9) = 2/11 > 1/10, S(10) = 1/11 < 1/10, so the 90th percentile is 10.
    """
    assert quantile(range(1, 11), [1] * 10, 0.9).value == 9.5
    assert quantile([*range(1, 11), 12], [1] * 10 + [0], 0.9).value == 10


@pytest.mark.parametrize("p, expected", [(1 / 14, 1), (1 / 7, 3.5), (1 / 3, 6), (0.5, 9), (26 / 35, 9.5), (0.9, np.nan)])
def test_r_survival_reference_curve(p, expected):
    """The curve of R survival's own quantile test (tests/quantile.R), at its probabilities.

    Seven units: events on days 1, 6, 6 and 9, censored on days 1, 8 and 10. At risk 7 on
    day 1 (the censored unit of day 1 leaves after the event): S(1) = 6/7; at risk 5 on day
    6: S(6) = 6/7 * 3/5 = 18/35; at risk 2 on day 9: S(9) = 18/35 * 1/2 = 9/35.
    F = 1 - S is 1/7 on [1, 6), 17/35 on [6, 9), 26/35 from 9 to the end of the data, 10.
    p = 1/14: first F > p at 1. p = 1/7: flat [1, 6), 3.5. p = 1/3: 6. p = 1/2: 9.
    p = 26/35: flat from 9 to the end (10), 9.5. p = 0.9: never reached, NaN.
    """
    got = quantile([1, 1, 6, 6, 8, 9, 10], [1, 0, 1, 1, 0, 1, 0], p).value
    assert (np.isnan(expected) and np.isnan(got)) or got == expected


def test_curve_and_counts():
    """Events on days 2, 5, 10 and one unit pending at 30 (the referral example of
    test_coordination): at risk 4, 3, 2; S = 3/4, 1/2, 1/4; median (5 + 10) / 2 = 7.5."""
    curve = kaplan_meier(counts_of([2, 5, 10, 30], [1, 1, 1, 0]), ["cell"])
    assert curve["days"].tolist() == [2, 5, 10] and curve["at_risk"].tolist() == [4, 3, 2]
    assert np.allclose(curve["survival"], [3 / 4, 1 / 2, 1 / 4], rtol=0, atol=1e-15)
    row = quantile([2, 5, 10, 30], [1, 1, 1, 0], 0.5)
    assert (row.value, row.events, row.units) == (7.5, 3, 4)


def test_edge_cases():
    """No event at all: NaN, no interval. Empty input: no rows. q outside (0, 1): an error."""
    row = quantile([3, 4], [0, 0], 0.5)
    assert np.isnan(row.value) and np.isnan(row.ci_low) and np.isnan(row.ci_high) and (row.events, row.units) == (0, 2)
    assert km_quantile(counts_of([], []), ["cell"]).empty
    with pytest.raises(ValueError, match="q must be"):
        km_quantile(counts_of([1], [1]), ["cell"], q=1.0)


# --- against statsmodels: the curve and the Brookmeyer-Crowley interval ---------------------

def random_cells(seed: int, cells: int, max_units: int = 60, max_days: int = 40) -> pd.DataFrame:
    """Integer durations (ties on purpose) with about a third censored, in cells of 1 to max_units units."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, max_units, cells)
    cell = np.repeat(np.arange(cells), sizes)
    days = rng.integers(0, max_days, len(cell))
    events = rng.random(len(cell)) < 0.65
    return pd.DataFrame({"cell": cell, "days": days.astype(float), "event": events})


def per_cell(units: pd.DataFrame):
    for key, g in units.groupby("cell"):
        yield key, g["days"].to_numpy(float), g["event"].to_numpy(float)


@pytest.mark.parametrize("q, confidence", [(0.5, 0.95), (0.9, 0.95), (0.5, 0.90)])
def test_interval_equals_statsmodels(q, confidence):
    """Curve, Greenwood se and Brookmeyer-Crowley limits equal statsmodels' to the bit, cell by cell.

    Where statsmodels finds no event time compatible with S = 1 - q (the curve jumps across
    it), evalkit's interval collapses onto the estimate.
    """
    units = random_cells(seed=7, cells=40)
    counts = units.groupby(["cell", "days", "event"]).size().rename("count").reset_index()
    found = km_quantile(counts, ["cell"], q=q, confidence=confidence).set_index("cell")
    curves = kaplan_meier(counts, ["cell"])
    checked = 0
    for key, days, events in per_cell(units):
        if not events.any():
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            fit = SurvfuncRight(days, events)
            low, high = fit.quantile_ci(q, alpha=1 - confidence)
        curve = curves[curves["cell"] == key]
        np.testing.assert_array_equal(curve["days"], fit.surv_times)
        np.testing.assert_array_equal(curve["survival"], fit.surv_prob)
        np.testing.assert_array_equal(curve["se"], fit.surv_prob_se)
        row = found.loc[key]
        if np.isnan(low) and np.isnan(high):
            assert row.ci_low == row.ci_high == row.value
        else:
            assert (row.ci_low, row.ci_high) == (low, high)
        checked += 1
    assert checked >= 35


# --- against lifelines where the curve never equals the quantile exactly ---------------------

@pytest.mark.parametrize("seed", [1, 2])
def test_quantiles_equal_lifelines_away_from_flats(seed):
    """Medians and 90th percentiles of many random cells equal lifelines' where S never equals
    1 - q exactly (lifelines returns the first time with S(t) <= 1 - q, the start of a flat;
    the 90th percentile of durations is ``qth_survival_time(0.1)``). A quantile the curve
    never reaches is infinite in lifelines and NaN here."""
    lifelines = pytest.importorskip("lifelines")
    from lifelines.utils import qth_survival_time
    units = random_cells(seed=seed, cells=150)
    counts = units.groupby(["cell", "days", "event"]).size().rename("count").reset_index()
    medians = km_quantile(counts, ["cell"], q=0.5).set_index("cell")["value"]
    p90s = km_quantile(counts, ["cell"], q=0.9).set_index("cell")["value"]
    compared = {0.5: 0, 0.9: 0}
    never = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lifelines: "Approximating using survival_function_" (exact for a step function)
        for key, days, events in per_cell(units):
            fit = lifelines.KaplanMeierFitter().fit(days, events)
            survival = fit.survival_function_.iloc[:, 0].to_numpy()
            for q, ours in ((0.5, medians[key]), (0.9, p90s[key])):
                if np.isclose(survival, 1 - q, rtol=0, atol=1e-9).any():
                    continue  # a flat at exactly 1 - q: the rules differ on purpose (tested by hand above)
                theirs = qth_survival_time(1 - q, fit)
                if np.isinf(theirs):
                    assert np.isnan(ours), (key, q)
                    never += 1
                else:
                    assert ours == theirs, (key, q, ours, theirs)
                compared[q] += 1
    assert compared[0.5] >= 120 and compared[0.9] >= 120 and never >= 10


# --- through evalkit.compute: a quantile never reached ---------------------------------------

def test_never_reached_is_blank_with_a_note(tmp_path):
    """One county, 2024Q1. Referrals (the data end on 2024-01-31, r1's closure):
    r1 created 01-10, accepted 01-13 (3 days), closed 01-31; r2 created 01-11, r3 01-21 and
    r4 01-26 still pending: censored at 20, 10 and 5 days.

    Days to acceptance: 3 (event), 5, 10, 20 (censored). Only S(3) = 3/4: the median and the
    90th percentile are never reached, so they are blank (NaN, never infinite) with a note.
    Days to closure among accepted referrals: r1 21 days, S(21) = 0: the median is 21.
    """
    (tmp_path / "datapackage.json").write_text(json.dumps({"frequency": "quarter"}))
    pd.DataFrame({"region_id": ["P", "C"], "name": ["省", "县"], "parent_id": [None, "P"],
                  "level": ["province", "county"]}).to_csv(tmp_path / "regions.csv", index=False)
    pd.DataFrame({"household_id": ["h1", "h2", "h3", "h4"], "region_id": "C"}).to_csv(tmp_path / "households.csv", index=False)
    pd.DataFrame({"provider_id": ["G1", "C1"], "name": ["民政局", "慈善总会"],
                  "sector": ["government", "charity"]}).to_csv(tmp_path / "providers.csv", index=False)
    pd.DataFrame({"need_id": ["n1", "n2", "n3", "n4"], "household_id": ["h1", "h2", "h3", "h4"], "service_type": "care",
                  "identified_on": "2024-01-05"}).to_csv(tmp_path / "needs.csv", index=False)  # dates make periods
    pd.DataFrame([
        ("r1", "h1", "n1", "G1", "C1", "2024-01-10", "2024-01-13", "2024-01-31", "closed"),
        ("r2", "h2", "n2", "G1", "C1", "2024-01-11", None, None, "pending"),
        ("r3", "h3", "n3", "C1", "G1", "2024-01-21", None, None, "pending"),
        ("r4", "h4", "n4", "C1", "G1", "2024-01-26", None, None, "pending"),
    ], columns=["referral_id", "household_id", "need_id", "from_provider", "to_provider", "created_on", "accepted_on",
                "closed_on", "status"]).to_csv(tmp_path / "referrals.csv", index=False)
    ids = ["coordination.referral_accept_days_median", "coordination.referral_accept_days_p90",
           "coordination.referral_close_days_median"]
    res = evalkit.compute(evalkit.load(tmp_path), indicators=ids, min_cell=1)
    rows = res.overall().query("period == '2024Q1'").set_index(["indicator", "region"])
    for ind in ids[:2]:
        for region in ("C", "P"):
            row = rows.loc[(ind, region)]
            assert np.isnan(row.value) and "censored" in row.note, row
            assert (row.numerator, row.denominator) == (1, 4)
    closure = rows.loc[(ids[2], "C")]
    assert closure.value == 21 and closure.note == "" and (closure.numerator, closure.denominator) == (1, 1)
    assert not np.isinf(res.table["value"]).any()
