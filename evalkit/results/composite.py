"""Composite indices of consistency (一致性), coordination (协调性) and integration (整合性).

Each index is a weighted mean of component indicators from the results table, after each
component is rescaled across the regions compared, within each period, to 0-100 (100 the
best region, 0 the worst; flipped where lower is better; 50 for all when every region has
the same value). A region missing a component in a period is scored on the others, with
their weights rescaled to sum to one. Weights live in ``composite.yaml`` (packaged), which
users copy and edit; :func:`sensitivity` shows how region rankings move under other weights.

Scores are relative: they rank regions against each other within one period and are not
comparable across periods or across different sets of regions.

>>> import evalkit
>>> pkg = evalkit.load("data/demo")                                  # doctest: +SKIP
>>> res = evalkit.compute(pkg, family="coordination")                # doctest: +SKIP
>>> composite_indices(res, regions=pkg.regions, level="county")      # doctest: +SKIP
>>> sensitivity(res, regions=pkg.regions, level="county")            # doctest: +SKIP
>>> rank_table(res, "coordination.consistency_index", "2024Q4", regions=pkg.regions, level="county")  # doctest: +SKIP
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from evalkit.errors import EvalkitError
from evalkit.indicators.catalogue import NEUTRAL, SCORED_DIRECTIONS, load_catalogue
from evalkit.results.indicator_results import IndicatorResults

CONFIG_NAME = "composite.yaml"
INDEX_REQUIRED = ("id", "name_zh", "name_en", "components")
INDEX_OPTIONAL = ("description_zh", "description_en")
COMPONENT_KEYS = ("indicator", "weight")
BASE = "base"
OUTPUT_COLUMNS = ["index", "region", "period", "value", "components_used", "components_total", "missing"]
#: Fewest compared regions with a value of a component for it to be scored in a report: min-max
#: scores of two regions are always 100 and 0, which says nothing about how far apart they are.
MIN_REGIONS = 3
SENSITIVITY_COLUMNS = ["index", "period", "scenario", "regions", "spearman", "max_rank_change", "moved_most"]


class ConfigError(EvalkitError, ValueError):
    """A composite configuration that cannot be used; the message names the file and key."""


# -- configuration -----------------------------------------------------------------------

def load_composite_config(path=None) -> dict:
    """The composite configuration: the packaged ``composite.yaml``, or a user's file.

    Returns the validated structure of the YAML (``{"indices": [{"id", "name_zh",
    "name_en", "description_zh", "description_en", "components": [{"indicator",
    "weight"}]}]}``), weights as floats. Raises :class:`ConfigError` naming the file and
    the offending key.

    >>> cfg = load_composite_config()
    >>> [i["id"] for i in cfg["indices"]]
    ['coordination.consistency_index', 'coordination.coordination_index', 'coordination.integration_index']
    """
    if path is None:
        source = f"evalkit/results/{CONFIG_NAME}"
        text = resources.files("evalkit.results").joinpath(CONFIG_NAME).read_text(encoding="utf-8")
    else:
        path = Path(path)
        source = str(path)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise ConfigError(f"{source}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{source}: cannot read ({exc})") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML ({exc})") from None
    return validate_config(raw, source)


def validate_config(raw, source: str = "composite config") -> dict:
    """Check a configuration's structure and weights; return it with weights as floats.

    Components may be a list of ``{indicator, weight}`` or a mapping ``indicator: weight``.
    Weights must be finite and non-negative, with a positive sum per index. A component
    the catalogue marks neutral (descriptive, e.g. ``access.need_rate``) is refused:
    neither higher nor lower is better, so it cannot be scored 0-100.
    """
    def fail(key, problem):
        raise ConfigError(f"{source}: {key}: {problem}")

    if not isinstance(raw, Mapping):
        fail("(top level)", f"expected a mapping with the key 'indices', got {type(raw).__name__}")
    extra = sorted(set(raw) - {"indices"})
    if extra:
        fail(", ".join(map(str, extra)), "unknown key(s); the top level holds only 'indices'")
    indices = raw.get("indices")
    if not isinstance(indices, list) or not indices:
        fail("indices", "expected a non-empty list of indices")
    out, seen = [], set()
    for i, entry in enumerate(indices):
        where = f"indices[{i}]"
        if not isinstance(entry, Mapping):
            fail(where, f"expected a mapping, got {type(entry).__name__}")
        if isinstance(entry.get("id"), str):
            where += f" ({entry['id']})"
        for key in INDEX_REQUIRED:
            if key not in entry:
                fail(where, f"missing key '{key}' (each index needs {', '.join(INDEX_REQUIRED)})")
        extra = sorted(set(entry) - set(INDEX_REQUIRED) - set(INDEX_OPTIONAL))
        if extra:
            fail(f"{where}.{extra[0]}", f"unknown key; known: {', '.join(INDEX_REQUIRED + INDEX_OPTIONAL)}")
        for key in ("id", "name_zh", "name_en", *INDEX_OPTIONAL):
            value = entry.get(key, "")
            if not isinstance(value, str) or (key == "id" and not value.strip()):
                fail(f"{where}.{key}", f"expected text, got {value!r}")
        if entry["id"] in seen:
            fail(f"{where}.id", "duplicate index id")
        seen.add(entry["id"])
        components = _components(entry["components"], f"{where}.components", fail)
        out.append({
            "id": entry["id"], "name_zh": entry["name_zh"], "name_en": entry["name_en"],
            "description_zh": entry.get("description_zh", ""), "description_en": entry.get("description_en", ""),
            "components": components,
        })
    return {"indices": out}


def _components(raw, where, fail) -> list[dict]:
    if isinstance(raw, Mapping):
        raw = [{"indicator": k, "weight": v} for k, v in raw.items()]
    if not isinstance(raw, list) or not raw:
        fail(where, "expected a non-empty list of {indicator, weight}")
    out, seen = [], set()
    for j, comp in enumerate(raw):
        at = f"{where}[{j}]"
        if not isinstance(comp, Mapping):
            fail(at, f"expected a mapping with indicator and weight, got {comp!r}")
        if isinstance(comp.get("indicator"), str):
            at += f" ({comp['indicator']})"
        extra = sorted(set(comp) - set(COMPONENT_KEYS))
        if extra or "indicator" not in comp:
            fail(at, f"expected exactly the keys indicator and weight, got {', '.join(map(str, comp))}")
        indicator = comp["indicator"]
        if not isinstance(indicator, str) or not indicator.strip():
            fail(f"{at}.indicator", f"expected an indicator id, got {indicator!r}")
        if indicator in seen:
            fail(f"{at}.indicator", "listed twice in this index")
        seen.add(indicator)
        catalogue = load_catalogue()
        if indicator in catalogue and catalogue[indicator].neutral:
            fail(f"{at}.indicator", f"{indicator} is descriptive (direction: neutral in the catalogue): neither "
                                    "higher nor lower is better, so it cannot be a component of a composite index; "
                                    "remove it")
        weight = _weight(comp.get("weight", 1.0), f"{at}.weight", fail)
        out.append({"indicator": indicator, "weight": weight})
    if not sum(c["weight"] for c in out) > 0:
        fail(where, "weights sum to 0; give at least one component a positive weight")
    return out


def _weight(value, at, fail) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        fail(at, f"expected a number, got {value!r}")
    if value < 0:
        fail(at, f"weights must be non-negative, got {value:g}")
    return float(value)


def index_weights(config=None) -> dict[str, dict[str, float]]:
    """``{index id: {component indicator: weight}}`` of a configuration (None: the packaged one).

    >>> index_weights({"indices": [{"id": "i", "name_zh": "指数", "name_en": "Index",
    ...                             "components": {"a": 2, "b": 1}}]})
    {'i': {'a': 2.0, 'b': 1.0}}
    """
    config = _config(config)
    return {ix["id"]: {c["indicator"]: c["weight"] for c in ix["components"]} for ix in config["indices"]}


def _config(config) -> dict:
    if config is None or isinstance(config, (str, Path)):
        return load_composite_config(config)
    return validate_config(config)


# -- scores and indices --------------------------------------------------------------------

def component_scores(results, config=None, directions=None, catalogue=None, level=None, regions=None,
                     drop_suppressed: bool = False) -> pd.DataFrame:
    """Each component's overall value and its 0-100 score per region and period.

    Columns: ``indicator, direction, region, period, value, score``. The score is
    100 (x - min) / (max - min) across the compared regions in the period, or
    100 (max - x) / (max - min) where lower is better; 50 when max = min; NaN when the
    value is missing. Parameters as :func:`composite_indices`.
    """
    config = _config(config)
    components = sorted({c["indicator"] for ix in config["indices"] for c in ix["components"]})
    direction = _directions(components, directions, catalogue)
    values, _ = _overall(results, components, level, regions, drop_suppressed)
    values["direction"] = values["indicator"].map(direction)
    out = _score(values).sort_values(["indicator", "period", "region"]).reset_index(drop=True)
    return out[["indicator", "direction", "region", "period", "value", "score"]]


def composite_indices(results, config=None, directions=None, catalogue=None, level=None, regions=None,
                      drop_suppressed: bool = False, min_regions: int = 1) -> pd.DataFrame:
    """Composite indices per region and period: weighted means of 0-100 component scores.

    Parameters
    ----------
    results : an :class:`~evalkit.results.indicator_results.IndicatorResults` or its tidy table (columns
        ``indicator, region, period, value``; ``group_by`` and ``service_type`` when
        present select the overall rows, where both are empty).
    config : None (packaged ``composite.yaml``), a path to a YAML file, or a dict of the
        same structure.
    directions : ``{indicator: "higher" | "lower"}``; components not in it are looked up
        in ``catalogue`` (default: the packaged catalogue).
    level, regions : which regions are compared (and normalised together). ``regions`` is
        a list of region ids, or a regions frame (``package.regions``, or the package
        itself) from which ``level`` (e.g. ``"county"``) picks the regions of one level.
        Default: every region in the results, whatever its level.
    drop_suppressed : treat small cells (``suppressed``) as missing components.
    min_regions : a component is scored in a period only when at least this many compared
        regions have a value of it (else every region's score of it is NaN). Reports use
        :data:`MIN_REGIONS` (3): from two regions min-max scores are only ever 100 and 0.

    Returns tidy rows ``index, region, period, value, components_used, components_total,
    missing``: ``value`` is sum(w_i s_i) / sum(w_i) over the components the region has
    (positive weights only), ``components_used`` how many those are, ``missing`` the
    missing ones (``;``-separated). With no component, the value is NaN.

    >>> table = pd.DataFrame({"indicator": ["a", "a", "b", "b"], "region": ["X", "Y", "X", "Y"],
    ...                       "period": "2024", "value": [0.2, 0.4, 3.0, 1.0]})
    >>> cfg = {"indices": [{"id": "i", "name_zh": "指数", "name_en": "Index",
    ...                     "components": {"a": 1, "b": 1}}]}
    >>> composite_indices(table, cfg, directions={"a": "higher", "b": "lower"})[["region", "value"]]
      region  value
    0      X    0.0
    1      Y  100.0
    """
    config = _config(config)
    weights = index_weights(config)
    direction = _directions(sorted({c for w in weights.values() for c in w}), directions, catalogue)
    values, grid = _overall(results, list(direction), level, regions, drop_suppressed)
    values["direction"] = values["indicator"].map(direction)
    scores = _score(values, min_regions)
    frames = [_combine(scores, grid, index, w) for index, w in weights.items()]
    return pd.concat(frames, ignore_index=True)[OUTPUT_COLUMNS]


# -- sensitivity ----------------------------------------------------------------------------

def sensitivity(results, config=None, alternatives=None, directions=None, catalogue=None, level=None,
                regions=None, drop_suppressed: bool = False) -> pd.DataFrame:
    """How region rankings change under other weights, per (index, period, scenario).

    Rank 1 is the best region (ties share the best rank). Scenarios besides ``base``
    (the configured weights), by default, for each index:

    - ``equal``: every component with a positive base weight weighted 1;
    - ``without:<indicator>``: that component dropped (weight 0), for each in turn;
    - ``double:<indicator>``: that component's weight doubled, for each in turn
      (leave-one-out and doubling only where an index has two or more components).

    ``alternatives`` replaces the defaults with named weight sets
    ``{scenario: {indicator: weight}}``; an indicator not named keeps its base weight,
    and a scenario applies to the indices holding at least one indicator it names.

    Returns ``index, period, scenario, regions, spearman, max_rank_change, moved_most``:
    over the regions with a value under both the base and the scenario (``regions``),
    Spearman's rank correlation with the base ranking (NaN when either ranking is all
    ties or fewer than two regions), the largest absolute change of rank, and the
    region(s) that moved most (``;``-separated; empty when nobody moved). Other
    parameters as :func:`composite_indices`.
    """
    ranks = scenario_ranks(results, config, alternatives, directions, catalogue, level, regions, drop_suppressed)
    rows = []
    for (index, period), cell in ranks.groupby(["index", "period"], sort=False):
        wide = cell.pivot(index="region", columns="scenario", values="value")
        for scenario in [s for s in cell["scenario"].unique() if s != BASE]:
            rows.append((index, period, scenario, *_compare(wide[BASE], wide[scenario])))
    if not rows:
        return pd.DataFrame(columns=SENSITIVITY_COLUMNS)
    out = pd.DataFrame(rows, columns=SENSITIVITY_COLUMNS)
    return out.astype({"regions": "int64", "spearman": "float64"})


def rank_table(results, index: str, period: str, config=None, alternatives=None, directions=None, catalogue=None,
               level=None, regions=None, drop_suppressed: bool = False) -> pd.DataFrame:
    """Ranks of regions (rows) under each scenario (columns, ``base`` first) for one index and period.

    Ranks are over the regions with a value in that scenario; a region without one has
    no rank (<NA>). Parameters as :func:`sensitivity`.
    """
    ranks = scenario_ranks(results, config, alternatives, directions, catalogue, level, regions, drop_suppressed)
    cell = ranks[(ranks["index"] == index) & (ranks["period"] == str(period))]
    if cell.empty:
        known = sorted(ranks["index"].unique())
        if index not in known:
            raise ValueError(f"no index {index!r}; indices: {', '.join(known)}")
        raise ValueError(f"no period {period!r} for {index}; periods: {', '.join(sorted(ranks['period'].unique()))}")
    scenarios = list(dict.fromkeys(cell["scenario"]))
    table = cell.pivot(index="region", columns="scenario", values="rank")[scenarios].astype("Int64")
    table.columns.name = None
    return table.sort_values(BASE, na_position="last")


def scenario_ranks(results, config=None, alternatives=None, directions=None, catalogue=None, level=None,
                   regions=None, drop_suppressed: bool = False) -> pd.DataFrame:
    """Index values and ranks under every scenario: ``index, period, scenario, region, value, rank``."""
    config = _config(config)
    weights = index_weights(config)
    direction = _directions(sorted({c for w in weights.values() for c in w}), directions, catalogue)
    values, grid = _overall(results, list(direction), level, regions, drop_suppressed)
    values["direction"] = values["indicator"].map(direction)
    scores = _score(values)  # scores do not depend on weights: once for every scenario
    frames = []
    for index, base in weights.items():
        for scenario, w in _scenarios(base, alternatives):
            frame = _combine(scores, grid, index, w)
            frame.insert(1, "scenario", scenario)
            frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    out["rank"] = out.groupby(["index", "period", "scenario"])["value"].rank(ascending=False, method="min")
    return out[["index", "period", "scenario", "region", "value", "rank"]]


# -- helpers --------------------------------------------------------------------------------

def _directions(indicators, directions, catalogue) -> dict[str, str]:
    """Direction of each component: the mapping given, else the catalogue's."""
    if directions is not None and not isinstance(directions, Mapping):
        raise TypeError(f"directions must be a mapping of indicator id to higher/lower, got {type(directions).__name__}")
    directions = dict(directions or {})
    out = {}
    for ind in indicators:
        if ind in directions:
            d = directions[ind]
        else:
            if catalogue is None:
                catalogue = load_catalogue()
            if ind not in catalogue:
                raise ValueError(f"component {ind} is not in the catalogue, so its direction is unknown; "
                                 f"pass directions={{{ind!r}: 'higher' or 'lower'}}")
            d = catalogue[ind].direction
        if d == NEUTRAL:
            raise ConfigError(f"component {ind} is descriptive (direction: neutral): neither higher nor lower is "
                              "better, so it cannot be scored in a composite index; remove it from the index")
        if d not in SCORED_DIRECTIONS:
            raise ValueError(f"direction of {ind} must be one of {', '.join(SCORED_DIRECTIONS)}, got {d!r}")
        out[ind] = d
    return out


def _overall(results, components, level, regions, drop_suppressed) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Overall values of the components for the compared regions, and the (region, period) grid."""
    if isinstance(results, IndicatorResults):
        table = results.table
    elif isinstance(results, pd.DataFrame):
        table = results
    else:
        raise TypeError(f"results must be IndicatorResults or its table (a DataFrame), got {type(results).__name__}")
    missing = [c for c in ("indicator", "region", "period", "value") if c not in table.columns]
    if missing:
        raise ValueError(f"results table lacks column(s) {', '.join(missing)}")
    mask = pd.Series(True, index=table.index)
    for col in ("group_by", "service_type"):  # tables read back from CSV hold NaN for ""
        if col in table.columns:
            mask &= table[col].fillna("").astype(str) == ""
    # a per-service-type indicator has no row across all types: say so rather than call it missing
    typed = set(table.loc[table["indicator"].isin(components), "indicator"]) - set(table.loc[mask, "indicator"])
    if typed:
        raise ValueError(f"component(s) {', '.join(sorted(typed))} have no overall row (only rows per group or "
                         "service type); composite indices need one value per region and period")
    if drop_suppressed and "suppressed" in table.columns:
        mask &= ~table["suppressed"].fillna(False).astype(bool)
    table = table.loc[mask, ["indicator", "region", "period", "value"]].copy()
    for col in ("indicator", "region", "period"):
        table[col] = table[col].astype(str)
    table["value"] = pd.to_numeric(table["value"], errors="coerce")
    compared = _compared_regions(level, regions)
    if compared is not None:
        table = table[table["region"].isin(compared)]
    if table.empty:
        raise ValueError("no overall rows for the regions compared" + ("" if compared is None else
                         f" ({', '.join(sorted(compared)[:5])}{', ...' if len(compared) > 5 else ''})"))
    grid = table[["region", "period"]].drop_duplicates()
    values = table[table["indicator"].isin(components)]
    dup = values.duplicated(["indicator", "region", "period"], keep=False)
    if dup.any():
        first = values[dup].iloc[0]
        raise ValueError(f"results hold more than one overall row for {first.indicator} in {first.region}, "
                         f"{first.period}; pass one row per indicator, region and period")
    return values.reset_index(drop=True), grid.reset_index(drop=True)


def _compared_regions(level, regions) -> set[str] | None:
    if regions is not None and not isinstance(regions, pd.DataFrame) and isinstance(
            getattr(regions, "regions", None), pd.DataFrame):
        regions = regions.regions  # a DataPackage
    if isinstance(regions, pd.DataFrame):
        if "region_id" not in regions.columns:
            raise ValueError("regions frame needs a region_id column (as package.regions)")
        if level is None:
            return set(regions["region_id"].astype(str))
        if "level" not in regions.columns:
            raise ValueError("regions frame needs a level column to pick regions by level")
        levels = regions["level"].astype(str)
        picked = set(regions.loc[levels == str(level), "region_id"].astype(str))
        if not picked:
            raise ValueError(f"no region at level {level!r}; levels: {', '.join(sorted(set(levels)))}")
        return picked
    if level is not None:
        raise ValueError("level needs regions=package.regions (a frame with region_id and level)")
    if regions is None:
        return None
    if isinstance(regions, str):
        raise TypeError("regions must be a list of region ids, not a single string")
    picked = {str(r) for r in regions}
    if not picked:
        raise ValueError("regions is empty")
    return picked


def _score(values: pd.DataFrame, min_regions: int = 1) -> pd.DataFrame:
    """Min-max scores 0-100 within each (indicator, period), 100 best; 50 when all are equal;
    NaN where fewer than ``min_regions`` regions have a value in the (indicator, period)."""
    group = values.groupby(["indicator", "period"])["value"]
    low, high = group.transform("min"), group.transform("max")
    span = high - low
    flat = np.isclose(high, low, rtol=1e-12, atol=0.0)  # equal up to rounding
    up = 100 * (values["value"] - low) / span.where(~flat)
    down = 100 * (high - values["value"]) / span.where(~flat)
    score = np.where(values["direction"] == "lower", down, up)
    score = np.where(flat & values["value"].notna(), 50.0, score)
    if min_regions > 1:
        score = np.where(group.transform("count").to_numpy() >= min_regions, score, np.nan)
    return values.assign(score=score)


def _combine(scores: pd.DataFrame, grid: pd.DataFrame, index: str, weights: Mapping[str, float]) -> pd.DataFrame:
    """One index per (region, period) of the grid: weighted mean of the components present."""
    used = {k: w for k, w in weights.items() if w > 0}
    s = scores[scores["indicator"].isin(used) & scores["score"].notna()]
    s = s.assign(w=s["indicator"].map(used).astype("float64"))  # float even when nothing is left
    s = s.assign(ws=s["w"] * s["score"])
    agg = s.groupby(["region", "period"]).agg(ws=("ws", "sum"), w=("w", "sum"),
                                               components_used=("indicator", "size"),
                                               present=("indicator", lambda x: set(x)))
    out = grid.merge(agg.reset_index(), on=["region", "period"], how="left")
    out["value"] = out["ws"] / out["w"].where(out["w"] > 0)
    out["components_used"] = out["components_used"].fillna(0).astype("int64")
    out["components_total"] = len(used)
    out["missing"] = [";".join(k for k in used if not (isinstance(p, set) and k in p)) for p in out["present"]]
    out.insert(0, "index", index)
    return out.sort_values(["period", "region"]).reset_index(drop=True)[OUTPUT_COLUMNS]


def _scenarios(base: dict[str, float], alternatives) -> list[tuple[str, dict[str, float]]]:
    """(name, weights) of the base and each alternative weight set for one index."""
    out = [(BASE, dict(base))]
    positive = [k for k, w in base.items() if w > 0]
    if alternatives is None:
        out.append(("equal", {k: 1.0 if k in positive else 0.0 for k in base}))
        if len(positive) > 1:
            out += [(f"without:{k}", {**base, k: 0.0}) for k in positive]
            out += [(f"double:{k}", {**base, k: 2 * base[k]}) for k in positive]
        return out
    if not isinstance(alternatives, Mapping):
        raise TypeError("alternatives must map scenario names to {indicator: weight}")
    for name, weights in alternatives.items():
        if name == BASE:
            raise ValueError("'base' is the configured weights; name the alternative otherwise")
        if not isinstance(weights, Mapping):
            raise TypeError(f"alternative {name!r} must map indicator ids to weights, got {type(weights).__name__}")

        def fail(key, problem, name=name):
            raise ValueError(f"alternative {name!r}: {key}: {problem}")

        changes = {k: _weight(v, k, fail) for k, v in weights.items()}
        if not set(changes) & set(base):
            continue  # touches none of this index's components
        w = {**base, **{k: v for k, v in changes.items() if k in base}}
        if not sum(w.values()) > 0:
            fail("weights", "sum to 0 for this index")
        out.append((str(name), w))
    return out


def _compare(base: pd.Series, other: pd.Series) -> tuple[int, float, int, str]:
    """Regions compared, Spearman's rho, largest rank change and who moved most."""
    both = pd.concat([base, other], axis=1, keys=["base", "other"]).dropna()
    n = len(both)
    if n == 0:
        return 0, np.nan, 0, ""
    rho = np.nan
    avg = both.rank(method="average")
    if n >= 2 and avg["base"].std() > 0 and avg["other"].std() > 0:
        rho = float(np.corrcoef(avg["base"], avg["other"])[0, 1])
    ranks = both.rank(ascending=False, method="min")
    change = (ranks["other"] - ranks["base"]).abs()
    top = int(change.max())
    moved = ";".join(sorted(change.index[change == top].astype(str))) if top > 0 else ""
    return n, rho, top, moved
