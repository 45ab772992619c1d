"""Small-cell suppression that cannot be undone by subtraction (evalkit.results.disclosure).

Hand-made tables check each rule; then an attacker's linear program over every count
a run publishes checks that no suppressed count can be narrowed below the threshold.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components

import evalkit
from evalkit.data.synth import generate
from evalkit.results.disclosure import primary, protect
from evalkit.results.indicator_results import COLUMNS, IndicatorResults

K = 10
CLOSURE = pd.DataFrame({"region_id": ["C", "A", "A", "B", "B", "D", "D"],
                        "ancestor": ["C", "A", "C", "B", "C", "D", "C"]})  # city C, counties A, B, D


def rows(*specs, indicator="x.mean", service_type=""):
    """Results rows from ``(region, group_by, group, n[, m])``: ``m`` (numerator count) makes a rate."""
    out = []
    for spec in specs:
        region, group_by, group, n, *m = spec
        m = m[0] if m else np.nan
        out.append({"indicator": indicator, "family": indicator.split(".")[0], "service_type": service_type,
                    "region": region, "period": "2024Q1", "group_by": group_by, "group": group,
                    "value": 0.5, "numerator": n / 2 if np.isnan(m) else m, "denominator": float(n), "se": 0.1,
                    "df": 9.0, "ci_low": 0.0, "ci_high": 1.0, "interval": "t" if np.isnan(m) else "wilson",
                    "n": n, "n_excluded": 0, "n_censored": 0, "incomplete": False, "suppressed": False, "note": "",
                    "m": m})
    return pd.DataFrame(out)


def flags(table: pd.DataFrame) -> dict:
    first = primary(table, K)
    return {(r.indicator, r.region, r.group): ("primary" if p else "secondary")
            for r, p in zip(table.itertuples(), first) if r.suppressed}


def test_small_group_takes_the_smallest_other_group_with_it():
    """Groups of 3, 20 and 30 households beside their overall row of 53 (a mean: n only).

    The group of 3 is below 10 (primary). Alone it would be 53 - 20 - 30 = 3 again, so
    the smallest other group, 20, is suppressed too (secondary). Then the two suppressed
    groups hold 53 - 30 = 23 >= 10 households together: an attacker knows only that they
    add up to 23, and each can be anything from 0 to 23. The group of 30 and the overall
    row stay published.
    """
    table = rows(("C", "", "", 53), ("C", "hukou", "local", 30), ("C", "hukou", "migrant", 20),
                 ("C", "hukou", "other", 3))
    out = protect(table, CLOSURE[CLOSURE.region_id == "C"], K)
    assert flags(out) == {("x.mean", "C", "other"): "primary", ("x.mean", "C", "migrant"): "secondary"}


def test_small_county_takes_a_sibling_with_it():
    """City C = counties A (5 households) + B (40) + D (60) = 105.

    A is primary (5 < 10); C - B - D would give it back, so the sibling with the fewest
    households, B (40), is suppressed too: A + B = 105 - 60 = 45 >= 10. The city and D stay.
    """
    table = rows(("C", "", "", 105), ("A", "", "", 5), ("B", "", "", 40), ("D", "", "", 60))
    out = protect(table, CLOSURE, K)
    assert flags(out) == {("x.mean", "A", ""): "primary", ("x.mean", "B", ""): "secondary"}


def test_small_numerator_is_suppressed():
    """A rate of 2 households out of 40: n = 40 >= 10, but the numerator count m = 2 < 10."""
    out = protect(rows(("C", "", "", 40, 2), indicator="x.rate"), CLOSURE[CLOSURE.region_id == "C"], K)
    assert out["suppressed"].tolist() == [True]
    assert primary(rows(("C", "", "", 40, 2)), K).tolist() == [True]


def test_numerator_close_to_denominator_is_suppressed():
    """A rate of 40 households out of 41: m = 40 and n = 41 are both >= 10, but n - m = 1 < 10
    ("all but one household here ..."), so the row is suppressed. 30 of 41 (n - m = 11) is not."""
    assert primary(rows(("C", "", "", 41, 40), ("C", "", "", 41, 30)), K).tolist() == [True, False]


def test_secondary_sums_count_numerators_and_their_complements():
    """Groups of a rate: (n, m) = (50, 3), (60, 11), (70, 12), (80, 60); overall (260, 86).

    (50, 3) is primary (m = 3). The smallest other group (60, 11) goes with it, but the
    two then hold 86 - 12 - 60 = 14 numerator households and 110 - 14 = 96 others: both
    >= 10, safe. Had the second group been (60, 5), it would be primary itself, and the
    two would hold 3 + 5 = 8 < 10 numerator households: a third group, (70, 12), is needed.
    """
    safe = rows(("C", "", "", 260, 86), ("C", "g", "a", 50, 3), ("C", "g", "b", 60, 11), ("C", "g", "c", 70, 12),
                ("C", "g", "d", 80, 60), indicator="x.rate")
    assert set(flags(protect(safe, CLOSURE[CLOSURE.region_id == "C"], K))) == {("x.rate", "C", "a"), ("x.rate", "C", "b")}
    small = rows(("C", "", "", 260, 80), ("C", "g", "a", 50, 3), ("C", "g", "b", 60, 5), ("C", "g", "c", 70, 12),
                 ("C", "g", "d", 80, 60), indicator="x.rate")
    assert flags(protect(small, CLOSURE[CLOSURE.region_id == "C"], K)) == {
        ("x.rate", "C", "a"): "primary", ("x.rate", "C", "b"): "primary", ("x.rate", "C", "c"): "secondary"}


def test_need_numerator_hides_the_accessibility_and_availability_denominators():
    """The need rate's numerator (households needing the type) is the availability rate's
    denominator, and the accessibility rate's denominator plus its ``n_excluded``.

    Need rate, groups (n households, m needing): g1 (50, 3), g2 (150, 25), g3 (100, 60);
    overall (300, 88). g1 is primary (3 < 10); the other group with the fewest households
    is g3 (100), so the need rate hides g1 and g3 (together 88 - 25 = 63 needing).
    Availability (n needing, m served): g1 (3, 1) primary, g2 (25, 12), g3 (60, 30);
    overall (88, 43). Its own margin would only take g2 (the fewest, 25), publishing
    g3's n = 60, which is g3's hidden need count: so g3 is hidden (linked) as well.
    Accessibility: g3 has n 55 and n_excluded 5, 55 + 5 = 60: hidden too. Then g2's
    availability n 25 is hidden, which is g2's need count: the need rate hides g2 as well.
    Every group row is suppressed; the overall rows stay.
    """
    need = rows(("C", "", "", 300, 88), ("C", "g", "g1", 50, 3), ("C", "g", "g2", 150, 25), ("C", "g", "g3", 100, 60),
                indicator="access.need_rate", service_type="medical")
    avail = rows(("C", "", "", 88, 43), ("C", "g", "g1", 3, 1), ("C", "g", "g2", 25, 12), ("C", "g", "g3", 60, 30),
                 indicator="access.availability_rate", service_type="medical")
    access = rows(("C", "", "", 83, 57), ("C", "g", "g1", 3, 2), ("C", "g", "g2", 25, 15), ("C", "g", "g3", 55, 40),
                  indicator="access.accessibility_rate", service_type="medical")
    access.loc[access.group.isin(["", "g3"]), "n_excluded"] = 5
    alone = protect(need, CLOSURE[CLOSURE.region_id == "C"], K)
    assert flags(alone) == {("access.need_rate", "C", "g1"): "primary", ("access.need_rate", "C", "g3"): "secondary"}
    out = protect(pd.concat([need, avail, access], ignore_index=True), CLOSURE[CLOSURE.region_id == "C"], K)
    got = flags(out)
    assert got[("access.availability_rate", "C", "g3")] == "secondary"
    assert got[("access.accessibility_rate", "C", "g3")] == "secondary"
    assert got[("access.need_rate", "C", "g2")] == "secondary"
    assert not out.loc[out.group == "", "suppressed"].any()
    assert out.loc[out.group != "", "suppressed"].all()


def test_suppressed_rows_publish_no_count():
    """A suppressed row publishes neither value, interval, numerator, denominator, n nor
    n_excluded; a region without any household (n 0) keeps its zeros ("no data"), while a
    denominator of 0 in a region with households is a small cell like any other."""
    table = rows(("C", "", "", 40, 2), ("A", "", "", 0, 0), ("B", "", "", 40, 20), ("D", "", "", 0, 0),
                 indicator="x.rate")
    table["suppressed"] = [True, True, False, True]
    table.loc[1, "note"] = "no household in this region"
    table.loc[3, "note"] = "no household in the denominator"
    out = IndicatorResults(table[COLUMNS]).published()
    assert out.loc[0, ["value", "numerator", "denominator", "se", "ci_low", "ci_high"]].isna().all()
    assert pd.isna(out.loc[0, "n"]) and pd.isna(out.loc[0, "n_excluded"])
    assert out.loc[1, "n"] == 0 and out.loc[1, "denominator"] == 0
    assert out.loc[2, "n"] == 40 and out.loc[2, "numerator"] == 20
    assert pd.isna(out.loc[3, "n"]) and pd.isna(out.loc[3, "denominator"])


# --- the attacker's linear program ---------------------------------------------------

NEED, ACCESS, AVAIL, UNMET = ("access.need_rate", "access.accessibility_rate", "access.availability_rate",
                              "access.unmet_need_rate")
COVER, UNSERVED = "access.coverage_rate", "access.unserved_rate"
# indicators whose units are the need units with a location (n + n_excluded = need count)
LOCATED = ("access.nearest_point_km", "access.beyond_reach_rate", "access.catchment_access",
           "access.low_catchment_access_rate")


class Attack:
    """Every count one run publishes, as an attacker sees it, in a linear program.

    Per row: ``x`` (units in the denominator, ``n``), ``y`` (units in the numerator, for
    rates of an unweighted package: the numerator) and ``e`` (``n_excluded``). Published
    rows fix them; suppressed rows leave them free (>= 0). Equalities: every grouping's
    groups add up to the overall row, child regions plus the parent's own households
    (taken as known: the strongest attacker) add up to the parent, and the counts shared
    between the access indicators agree; inequalities: y <= x.
    """

    def __init__(self, truth: pd.DataFrame, suppressed: np.ndarray, regions: pd.DataFrame):
        t = self.t = truth.reset_index(drop=True)
        self.size = len(t)
        rate = t["interval"].isin(["wilson", "logit_t"]).to_numpy()
        x, y = t["n"].to_numpy(float), np.where(rate, t["numerator"].to_numpy(float), 0.0)
        e = t["n_excluded"].to_numpy(float)
        self.truth = np.concatenate([x, y, e])
        self.rate = rate
        known = ~suppressed | ((x == 0) & t["note"].str.endswith(" in this region").to_numpy())
        fixed = np.concatenate([known, known | ~rate, known])
        self.bounds = np.column_stack([np.where(fixed, self.truth, 0.0), np.where(fixed, self.truth, np.inf)])
        self.unknown = ~fixed
        self.eq, self.rhs = [], []
        self._margins(regions)
        self._links()
        a = sp.csr_matrix(self._matrix(self.eq)) if self.eq else None
        le = [{self.y(i): 1, self.x(i): -1} for i in np.flatnonzero(rate)]
        self.A_eq, self.b_eq = a, np.array(self.rhs, float)
        self.A_ub, self.b_ub = sp.csr_matrix(self._matrix(le)), np.zeros(len(le))
        assert np.allclose(self.A_eq @ self.truth, self.b_eq), "the truth must satisfy the attacker's equations"
        self._reduce()

    def _reduce(self):
        """Published counts moved to the right-hand sides, and the unknowns split into
        independent blocks (no constraint joins two blocks), each a small linear program."""
        free = np.flatnonzero(self.unknown)
        self.column = {v: j for j, v in enumerate(free)}
        fixed = ~self.unknown
        parts = []
        for a, b in ((self.A_eq, self.b_eq), (self.A_ub, self.b_ub)):
            a = sp.csr_matrix(a)
            rhs = b - a[:, fixed] @ self.truth[fixed]
            a = a[:, free]
            used = np.diff(a.indptr) > 0
            parts.append((a[used], rhs[used]))
        (self.eq_f, self.beq_f), (self.ub_f, self.bub_f) = parts
        both = sp.vstack([abs(self.eq_f), abs(self.ub_f)]).tocsr()
        _, self.block = connected_components(both.T @ both, directed=False)
        self.eq_block = self._row_blocks(self.eq_f)
        self.ub_block = self._row_blocks(self.ub_f)

    def _row_blocks(self, a):
        a = sp.csr_matrix(a)
        first = np.array([a.indices[a.indptr[r]] for r in range(a.shape[0])], dtype=int)
        return self.block[first] if len(first) else first

    def x(self, i):
        return i

    def y(self, i):
        return self.size + i

    def e(self, i):
        return 2 * self.size + i

    def _matrix(self, rows_):
        r, c, v = [], [], []
        for k, row in enumerate(rows_):
            for col, val in row.items():
                r.append(k)
                c.append(col)
                v.append(val)
        return sp.coo_matrix((v, (r, c)), shape=(len(rows_), 3 * self.size))

    def _add(self, terms: dict, rhs: float = 0.0):
        self.eq.append(terms)
        self.rhs.append(rhs)

    def _margins(self, regions):
        t = self.t.assign(i=np.arange(self.size))
        key = ["indicator", "service_type", "region", "period"]
        overall = t[t.group_by == ""].set_index(key)["i"]
        for keys, part in t[t.group_by != ""].groupby([*key, "group_by"]):
            o = overall.get(tuple(keys[:4]))
            if o is None:
                continue
            for var in (self.x, self.y):
                self._add({**{var(i): 1 for i in part["i"]}, var(o): -1})
        parent = regions.set_index("region_id")["parent_id"].dropna()
        rkey = ["indicator", "service_type", "period", "group_by", "group"]
        rows_ = t[t.group_by != "income_quintile"]
        at = rows_.set_index([*rkey, "region"])["i"]
        kids = rows_.assign(parent=rows_["region"].map(parent)).dropna(subset=["parent"])
        for keys, part in kids.groupby([*rkey, "parent"]):
            p = at.get(tuple(keys))
            if p is None:
                continue
            for var in (self.x, self.y):
                terms = {var(i): 1 for i in part["i"]}
                remainder = self.truth[var(p)] - sum(self.truth[c] for c in terms)
                self._add({**terms, var(p): -1}, -remainder)

    def _links(self):
        t = self.t.assign(i=np.arange(self.size))
        cell = ["region", "period", "group_by", "group"]
        by = {(r.indicator, r.service_type, *(getattr(r, c) for c in cell)): r.i for r in t.itertuples()}
        for (ind, st, *c), i in by.items():
            need = by.get((NEED, st, *c))
            if ind == NEED:
                # all households of the cell: the same count in every service type, and in the unmet need rate
                for other in (by.get((NEED, s, *c)) for s in t.service_type.unique() if s > st):
                    if other is not None:
                        self._add({self.x(i): 1, self.x(other): -1})
            elif ind == AVAIL and need is not None:
                self._add({self.x(i): 1, self.y(need): -1})
            elif ind in (ACCESS, *LOCATED) and need is not None:
                self._add({self.x(i): 1, self.e(i): 1, self.y(need): -1})
            elif ind == UNMET and need is not None:
                self._add({self.x(i): 1, self.x(need): -1})
                avail = by.get((AVAIL, st, *c))
                if avail is not None:
                    self._add({self.y(i): 1, self.x(avail): -1, self.y(avail): 1})
            elif ind == UNSERVED and (cover := by.get((COVER, st, *c))) is not None:
                self._add({self.x(i): 1, self.x(cover): -1})
                self._add({self.y(i): 1, self.x(cover): -1, self.y(cover): 1})

    def range(self, objective: dict) -> tuple[float, float]:
        """The least and greatest value of a sum of counts (of one block) that the attacker finds feasible."""
        known = sum(val * self.truth[col] for col, val in objective.items() if not self.unknown[col])
        objective = {self.column[col]: val for col, val in objective.items() if self.unknown[col]}
        if not objective:
            return known, known
        block = self.block[next(iter(objective))]
        cols = np.flatnonzero(self.block == block)
        where = {c: j for j, c in enumerate(cols)}
        c = np.zeros(len(cols))
        for col, val in objective.items():
            c[where[col]] = val
        eq, ub = self.eq_block == block, self.ub_block == block
        a_eq, a_ub = self.eq_f[eq][:, cols], self.ub_f[ub][:, cols]
        ends = []
        for sign in (1, -1):
            res = linprog(sign * c, A_ub=a_ub if a_ub.shape[0] else None, b_ub=self.bub_f[ub] if a_ub.shape[0] else None,
                          A_eq=a_eq if a_eq.shape[0] else None, b_eq=self.beq_f[eq] if a_eq.shape[0] else None,
                          bounds=(0, None), method="highs")
            assert res.status in (0, 3), res.message  # 3: unbounded (no upper end)
            ends.append(known + (sign * res.fun if res.status == 0 else np.inf))
        return ends[0], ends[1]

    def narrowest(self, k: int, first: bool = False) -> list[tuple]:
        """Suppressed counts whose feasible range is narrower than ``k``: the numerator, the
        denominator minus the numerator (rates) and, where it is below ``k``, the denominator
        (``first``: stop at the first found)."""
        found = []
        t = self.t
        for i in np.flatnonzero(self.unknown[: self.size] | self.unknown[self.size: 2 * self.size]):
            objectives = {}
            if self.rate[i]:
                objectives["numerator"] = {self.y(i): 1}
                objectives["n - numerator"] = {self.x(i): 1, self.y(i): -1}
            if t.at[i, "n"] < k:
                objectives["n"] = {self.x(i): 1}
            for name, objective in objectives.items():
                low, high = self.range(objective)
                if high - low < k - 1e-6:
                    found.append((*t.loc[i, ["indicator", "service_type", "region", "group_by", "group"]], name,
                                  low, high))
                    if first:
                        return found
        return found


def small_package(tmp_path, households: int, regions: int, seed: int):
    out = tmp_path / f"pkg{seed}"
    generate(out, households=households, regions=regions, periods=1, seed=seed)
    return evalkit.load(out)


# the access indicators that share counts, and one mean (n only)
ATTACKED = [NEED, ACCESS, AVAIL, UNMET, COVER, UNSERVED, "access.nearest_point_km"]


@pytest.mark.parametrize(("households", "regions", "seed", "by"), [
    (1000, 3, 4, ["hukou"]),
    (400, 2, 5, ["urban"]),
])
def test_attacker_cannot_narrow_a_suppressed_count(tmp_path, households, regions, seed, by):
    """On small synthetic packages (unweighted: numerators are household counts), an
    attacker who knows every published count, every margin (groups, region hierarchy
    with each parent's own households), the counts the access indicators share and that
    counts are >= 0 and numerators <= denominators, still finds every suppressed count a
    feasible range at least min_cell wide."""
    package = small_package(tmp_path, households, regions, seed)
    table = evalkit.compute(package, indicators=ATTACKED, by=by, min_cell=K).table
    assert table["suppressed"].any() and not table["suppressed"].all()
    attack = Attack(table, table["suppressed"].to_numpy(), package.regions)
    assert attack.narrowest(K) == []


def test_without_complementary_suppression_the_attacker_pins_counts(tmp_path):
    """The same attack on the primary rule alone (each row judged by itself) recovers
    suppressed counts exactly: a lone small group is its overall row minus the others."""
    package = small_package(tmp_path, 500, 2, 5)
    table = evalkit.compute(package, indicators=ATTACKED, by=["hukou"], min_cell=K).table
    attack = Attack(table, primary(table.assign(m=np.where(table.interval == "wilson", table.numerator, np.nan)),
                                   K).to_numpy() | (table["n"] < K).to_numpy(), package.regions)
    pinned = attack.narrowest(K, first=True)
    assert pinned and any(high - low < 1e-6 for *_, low, high in pinned)


def test_compute_marks_secondary_cells_and_keeps_primary_ones(tmp_path):
    """compute() applies both rules: every row with n, m or n - m below min_cell is
    suppressed, and some rows above it are suppressed too (secondary)."""
    package = small_package(tmp_path, 300, 4, 2)
    table = evalkit.compute(package, family="access", by=["urban"], min_cell=K).table
    rate = table.interval == "wilson"
    m = table.numerator.where(rate)
    small = (table.n < K) | (rate & ((m < K) | (table.n - m < K)))
    assert table.loc[small, "suppressed"].all()
    assert (table.suppressed & ~small).any()


def test_load_data_protects_again_at_a_higher_threshold(tmp_path):
    """A report read at min_cell 20 from a file written at 10 keeps the file's suppressed
    cells, suppresses every cell below 20 (n, numerator or n - numerator), and runs the
    complementary rule again: the attacker finds no suppressed count narrower than 20."""
    from evalkit.report.data import REGION_COLUMNS, ReportData, load_data, save_data

    package = small_package(tmp_path, 1000, 2, 6)
    res = evalkit.compute(package, indicators=[NEED, AVAIL, UNMET], by=["hukou"], min_cell=K)
    data = ReportData(table=res.published(), regions=package.regions.reindex(columns=REGION_COLUMNS),
                      periods=list(package.periods), package="p", frequency=package.frequency, data_hash="0",
                      min_cell=K, skipped={}, groups=("hukou",), provenance={}, params={})
    loaded = load_data(save_data(data, tmp_path / "results.parquet"), min_cell=20).table
    truth = res.table
    assert loaded[["indicator", "region", "group"]].equals(truth[["indicator", "region", "group"]])
    rate = truth.interval == "wilson"
    small = (truth.n < 20) | (rate & ((truth.numerator < 20) | (truth.n - truth.numerator < 20)))
    assert loaded.loc[small | truth.suppressed, "suppressed"].all()
    assert loaded.loc[loaded.suppressed & (truth.n > 0), "n"].isna().all()
    assert Attack(truth, loaded["suppressed"].to_numpy(), package.regions).narrowest(20) == []


def test_complementary_picks_equal_a_loop_over_margins():
    """The complementary rule's sums per margin (np.bincount) pick the rows a plain loop over
    margins picks: random margins of a total and 1-5 parts, suppressed and known-zero rows,
    blank counts (NaN: add nothing, sort last), rates and means; and a hidden row's linked
    rows are those of its cell with one of its counts."""
    from evalkit.results.disclosure import _complements, _linked

    rng = np.random.default_rng(3)
    rows_, parts = 400, []
    for margin in range(150):
        chosen = rng.choice(rows_, size=rng.integers(2, 7), replace=False)
        parts.append(pd.DataFrame({"margin": margin, "row": chosen, "total": np.arange(len(chosen)) == 0}))
    members = pd.concat(parts, ignore_index=True)
    n = rng.integers(0, 40, rows_).astype(float)
    n[rng.random(rows_) < 0.05] = np.nan
    m = np.where(rng.random(rows_) < 0.5, np.floor(n * rng.random(rows_)), np.nan)
    live = rng.random(rows_) > 0.05
    for k in (5, 10):
        sup = rng.random(rows_) < 0.15
        expected = np.zeros(rows_, bool)
        for _, g in members.groupby("margin"):
            r, total = g["row"].to_numpy(), g["total"].to_numpy()
            s = sup[r] & live[r]
            shown = ~total & ~s
            hidden_n = np.nansum(n[r][total]) - np.nansum(n[r][shown])
            hidden_m = np.nansum(m[r][total]) - np.nansum(m[r][shown])
            rate = (~np.isnan(m[r])).any()
            too_few = hidden_n < k or (rate and (hidden_m < k or hidden_n - hidden_m < k))
            if s.sum() == 1 or (s.sum() >= 2 and not (s & total).any() and too_few):
                open_ = r[~sup[r] & live[r]]
                if len(open_):
                    expected[sorted(open_, key=lambda i: (np.isnan(n[i]), n[i], i))[0]] = True
        np.testing.assert_array_equal(_complements(members, sup, live, n, m, k), expected)
        assert expected.any()

    cell = rng.integers(0, 30, 200)
    count = rng.integers(1, 6, 200).astype(float)
    hidden = rng.random(200) < 0.1
    key = pd.MultiIndex.from_arrays([cell, count]).factorize()[0]
    row = np.arange(200)
    secret = {(c, v) for c, v, h in zip(cell, count, hidden) if h}
    expected = np.array([(c, v) in secret for c, v in zip(cell, count)])
    np.testing.assert_array_equal(_linked((row, key), hidden), expected)
