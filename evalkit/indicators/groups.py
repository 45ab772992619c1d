"""Groups beyond the household table: derived breakdowns for ``compute(by=[...])``.

Besides the household columns themselves (``hukou``, ``urban``, ``status``, ...),
``by=`` accepts these derived groups; every label is a plain string, and a household
whose inputs are missing goes to ``"(missing)"``: it is counted, never dropped.

``income_quintile`` (``Q1`` poorest .. ``Q5``)
    Quintile of pre-transfer income per capita (``income_pc``) among the *persons* of
    the region of the row: each household counts ``weight x size`` persons (weight 1
    when the package is unweighted: validation leaves no blank weight in a weighted one;
    size 1 when missing).
    Rule: with ``B`` the person share of the region with an income strictly below the
    household's, the household is in quintile ``k = floor(5 * B) + 1``, i.e. in
    quintile k when ``(k-1)/5 <= B < k/5``. So households with equal incomes share a
    quintile, and a household whose income starts exactly at a cut point (``B = k/5``)
    opens the next quintile (the household that ends exactly at it stays below). This
    is Stata's weighted ``xtile``: cut points from ``_pctile`` (the inverse of the
    weighted empirical distribution, averaging where it is flat at k/5: Hyndman-Fan
    type 2), each household in the first quintile whose cut is >= its income
    (checked in tests/test_groups.py). ``5 * B`` within 1e-9 of a whole number counts
    as that number, so exact cut points survive floating-point sums. Households with a
    missing income are not ranked. The
    quintile is *region-relative*: a province's quintiles are recomputed over the
    province's own population, not taken from its counties, so a household can be in
    Q1 of its county and Q2 of its province.
``head_age_band`` (``<30``, ``30-44``, ``45-59``, ``60-74``, ``75+``)
    Age of the household head in whole years, column ``head_age`` (户主年龄).
``household_type``
    The flags ``elderly``, ``child``, ``disabled`` that hold, joined with ``+`` in that
    order (``elderly``, ``child+disabled``, ``elderly+child+disabled``, ...); ``none``
    when none holds; ``(missing)`` when any of the three flags is missing (the label
    would not be known).

``<a>*<b>`` (an *intersection*, e.g. ``hukou*urban``)
    Two household-level groupings crossed: the label joins both labels with ``*``
    (``local*true``, ``migrant*(missing)``); a missing part is ``(missing)`` in its
    place, so no household is dropped. Region-relative groups (``income_quintile``)
    cannot be crossed.

A group is *household-level* when its value depends on the household alone; its value
is a column ``g_<name>`` of the households table built by
:func:`evalkit.indicators.base._households` (see :func:`household_columns`), and sums
per leaf region are rolled up to parent regions. A *region-relative* group (today
``income_quintile``) has a value per (region, household) pair; :func:`passes` gives it
its own households table, one row per (ancestor region, household) with ``region_id``
set to the ancestor, and the identity closure, so the same summing code forms its sums
per (ancestor, group) in the engine and the roll-up adds nothing.
"""
from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator

import ibis
import pandas as pd

MISSING = "(missing)"
JOIN = "*"  # joins the groupings of an intersection (``hukou*urban``) and their labels (``local*true``)
OVERALL = ""  # the overall "group" (evalkit.indicators.base.OVERALL)

QUINTILES = 5
QUINTILE_LABELS = tuple(f"Q{k}" for k in range(1, QUINTILES + 1))
TOLERANCE = 1e-9  # on 5 x share: a share this close to a cut point is at it

#: (lowest age, label) of each head-of-household age band, ascending.
HEAD_AGE_BANDS = ((0, "<30"), (30, "30-44"), (45, "45-59"), (60, "60-74"), (75, "75+"))

HOUSEHOLD_FLAGS = ("elderly", "child", "disabled")

#: Derived group -> what it is (shown in errors and docs).
DERIVED = {
    "income_quintile": "quintile Q1-Q5 of income per capita among the region's persons (recomputed per region level)",
    "head_age_band": "age band of the household head (<30, 30-44, 45-59, 60-74, 75+)",
    "household_type": "elderly / child / disabled flags that hold, joined with '+' ('none' when none)",
}

#: Derived groups whose value depends on the region of the row, not only on the household.
REGION_RELATIVE = frozenset({"income_quintile"})


def is_region_relative(name: str) -> bool:
    return name in REGION_RELATIVE


def household_columns(hh: ibis.Table, by: list[str]) -> dict[str, ibis.Value]:
    """``g_<name>`` for each household-level group in ``by``, as strings (region-relative ones are left out).

    ``hh`` is the households table of the package; a plain column is its own group.
    """
    cols = {}
    for name in by:
        if is_region_relative(name):
            continue
        parts = [_household_value(hh, part) for part in intersection_parts(name)]
        value = parts[0]
        for part in parts[1:]:
            value = value + ibis.literal(JOIN) + part
        cols[f"g_{name}"] = value
    return cols


def _household_value(hh: ibis.Table, name: str) -> ibis.Value:
    """One household-level group's label, ``(missing)`` when its inputs are missing."""
    if name == "head_age_band":
        value = head_age_band(hh.head_age.cast("int64"))  # typed even when the column is absent (NULL)
    elif name == "household_type":
        value = household_type(*(hh[f].cast("boolean") for f in HOUSEHOLD_FLAGS))
    else:
        value = hh[name].cast("string")
    return value.fill_null(MISSING)


def intersection_parts(name: str) -> list[str]:
    """The groupings an intersection joins (``hukou*urban`` -> ``[hukou, urban]``); ``[name]`` for one grouping.

    >>> intersection_parts("hukou*urban"), intersection_parts("hukou")
    (['hukou', 'urban'], ['hukou'])
    """
    return name.split(JOIN)


def is_intersection(name: str) -> bool:
    return JOIN in name


def head_age_band(age: ibis.Value) -> ibis.Value:
    """The band of an age in whole years (NULL when the age is missing)."""
    # a band's label holds below the next band's lowest age; the last band has no end
    branches = [(age < next_lowest, label) for (_, label), (next_lowest, _) in zip(HEAD_AGE_BANDS, HEAD_AGE_BANDS[1:])]
    return ibis.cases((age.isnull(), ibis.null("string")), *branches, else_=HEAD_AGE_BANDS[-1][1])


def household_type(elderly: ibis.Value, child: ibis.Value, disabled: ibis.Value) -> ibis.Value:
    """``elderly+child``, ``none``, ...: the flags that hold; NULL when any flag is missing."""
    flags = (elderly, child, disabled)
    branches = [(flags[0].isnull() | flags[1].isnull() | flags[2].isnull(), ibis.null("string"))]
    for combo in itertools.product((True, False), repeat=len(flags)):
        holds = [f if v else ~f for f, v in zip(flags, combo)]
        label = "+".join(n for n, v in zip(HOUSEHOLD_FLAGS, combo) if v) or "none"
        branches.append((holds[0] & holds[1] & holds[2], label))
    return ibis.cases(*branches)


def passes(ctx, hh: ibis.Table, closure: pd.DataFrame, by: list[str]) -> Iterator[tuple[ibis.Table, pd.DataFrame, list[str]]]:
    """The (households, closure, group_bys) passes that sum every group of ``by``.

    ``hh`` is :func:`evalkit.indicators.base._households`' table (``household_id,
    region_id, w``, design columns, ``g_<name>`` of the household-level groups). The
    first pass is ``hh`` itself with ``closure``, for the overall cells and every
    household-level group: sums per leaf region rolled up. Then one pass per
    region-relative group: one row per (ancestor, household) with ``region_id`` the
    ancestor and its ``g_<name>`` there, and the identity closure of those ancestors,
    so the sums come out per (ancestor, group) and rolling up changes nothing.
    """
    yield hh, closure, [OVERALL, *(b for b in by if not is_region_relative(b))]
    relative = [b for b in by if is_region_relative(b)]
    if not relative:
        return
    ancestors = pd.unique(closure["ancestor"])
    identity = pd.DataFrame({"region_id": ancestors, "ancestor": ancestors})
    base = hh.select(*(c for c in hh.columns if c != "region_id" and not c.startswith("g_")))
    for name in relative:
        assigned = by_ancestor(ctx, hh, closure, name)
        yield base.join(assigned, "household_id"), identity, [name]


def by_ancestor(ctx, hh: ibis.Table, closure: pd.DataFrame, name: str) -> ibis.Table:
    """``household_id, region_id`` (the ancestor), ``g_<name>``: a region-relative group's value
    for every household in every region above it (its own included).

    Built once per run and closure, kept in the engine (:meth:`Context.cached`).
    """
    builders = {"income_quintile": income_quintiles}
    digest = hashlib.sha1(pd.util.hash_pandas_object(closure, index=False).to_numpy().tobytes()).hexdigest()[:12]
    return ctx.cached(f"group_{name}_{digest}", lambda: builders[name](ctx, hh, closure))


def income_quintiles(ctx, hh: ibis.Table, closure: pd.DataFrame) -> ibis.Table:
    """Each household's income quintile within each of its ancestor regions (see the module doc).

    In the engine: households joined with the closure (one row per ancestor and
    household), persons summed per (ancestor, income), a running sum over incomes in
    each ancestor for the persons strictly below, joined back to the households; those
    without an income are added as ``(missing)``.
    """
    raw = ctx.table("households")
    raw = raw.select("household_id", income_pc=raw.income_pc.cast("float64"), size=raw.size.cast("int64"))
    h = hh.select("household_id", "region_id", "w").join(raw, "household_id")
    pairs = h.join(ibis.memtable(closure), "region_id")
    pairs = pairs.select("household_id", "ancestor", "income_pc",
                         persons=pairs.w * pairs.size.fill_null(1).cast("float64"))
    ranked = pairs.filter(pairs.income_pc.notnull())
    levels = ranked.group_by(["ancestor", "income_pc"]).agg(persons=ranked.persons.sum())
    below = levels.persons.sum().over(ibis.window(group_by="ancestor", order_by="income_pc", rows=(None, -1)))
    total = levels.persons.sum().over(ibis.window(group_by="ancestor"))
    levels = levels.mutate(below=ibis.coalesce(below, 0.0), total=total)
    k = (QUINTILES * levels.below / levels.total + TOLERANCE).floor() + 1
    k = ibis.ifelse(levels.total > 0, ibis.least(k, QUINTILES), 1)  # nobody weighs anything: all in Q1
    levels = levels.select(at=levels.ancestor, income=levels.income_pc,
                           quintile=ibis.literal("Q") + k.cast("int64").cast("string"))
    ranked = ranked.join(levels, [ranked.ancestor == levels.at, ranked.income_pc == levels.income])
    ranked = ranked.select(household_id=ranked.household_id, region_id=ranked.at, g_income_quintile=ranked.quintile)
    unranked = pairs.filter(pairs.income_pc.isnull())
    unranked = unranked.select(household_id=unranked.household_id, region_id=unranked.ancestor,
                               g_income_quintile=ibis.literal(MISSING))
    return ranked.union(unranked, distinct=False)
