"""Report parameters, checked in one place.

``evalkit report`` checks them before anything runs (:class:`evalkit.report.batch.Options`)
and every notebook checks what it receives in its first cell
(:func:`evalkit.report.notebook.start`), both with the functions here, so a value is
accepted or refused the same way whether a report runs from the command line or from
Jupyter. Every problem is an :class:`evalkit.errors.ParameterError` (a targets file
problem its subclass :class:`~evalkit.report.scorecard.TargetsError`).

Notebooks receive JSON scalars only (papermill passes nothing else faithfully): ``by``
is a comma-separated string, ``params`` the indicator parameters as a JSON object in a
string.

>>> check_by("hukou, urban")
('hukou', 'urban')
>>> check_params('{"omission_window_days": 30}').omission_window_days
30
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from evalkit.errors import ParameterError, ReportError
from evalkit.indicators.parameters import Params, resolve

from .text import check_lang

#: Household columns reports break results down by unless told otherwise (fairness to migrants, rural areas).
DEFAULT_BY = ("hukou", "urban")

#: The parameters every report notebook declares, with their JSON types.
NOTEBOOK_PARAMETERS: dict[str, type] = {
    "data_path": str,
    "results_path": str,
    "region": str,
    "period": str,
    "lang": str,
    "targets_path": str,
    "min_cell": int,
    "by": str,
    "params": str,
}


def check_min_cell(value) -> int:
    """Cells counting fewer units than this (``n``: households, needs, referrals, ... as the
    catalogue's ``counts`` says) are not published: a whole number >= 0."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ParameterError(f"min_cell must be >= 0 (a whole number of units counted), got {value!r}")
    return value


def check_by(value) -> tuple[str, ...]:
    """Household columns to break results down by: a comma-separated string or a sequence."""
    from evalkit.indicators.compute import check_by as check_columns

    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    return tuple(check_columns(list(value)))


def check_params(value) -> Params:
    """Indicator parameters: a mapping, a JSON object in a string (notebooks), or None (defaults)."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except ValueError as exc:
            raise ParameterError(f"params must be a JSON object of indicator parameters: {exc}") from None
        if not isinstance(value, dict):
            raise ParameterError(f"params must be a JSON object of indicator parameters, got {type(value).__name__}")
    return resolve(value)


def params_json(params: Params) -> str:
    """Indicator parameters as the JSON string notebooks receive (sorted keys: a stable key)."""
    return json.dumps(params.to_json(), sort_keys=True)


def check_targets(path) -> tuple[str | None, str | None]:
    """A targets file read and checked against the catalogue: its absolute path and SHA-256
    (None, None without one). Raises :class:`TargetsError` naming the bad entry."""
    from .scorecard import read_targets

    if not path:
        return None, None
    path = Path(path).resolve()
    read_targets(path)
    return str(path), hashlib.sha256(path.read_bytes()).hexdigest()


def check_region(data, region: str) -> str:
    """A region id of the package's regions table."""
    if region not in set(data.regions["region_id"]):
        raise ParameterError(f"region {region!r} is not in the package's regions table "
                             f"(e.g. {', '.join(data.regions['region_id'].astype(str).head(5))})")
    return region


def resolve_period(data, period: str | None) -> str:
    """The period to report: ``period`` (any spelling the package's frequency accepts) or the latest."""
    from evalkit.data.periods import parse

    if not data.periods:
        raise ReportError("the package has no dated records, so no period to report")
    if not period:
        return data.periods[-1]
    try:
        period = parse(period, data.frequency)
    except ValueError as exc:
        raise ParameterError(str(exc)) from None
    if period not in data.periods:
        raise ParameterError(f"period {period} is not in the data ({data.periods[0]} to {data.periods[-1]})")
    return period


def check_parameters(**params) -> dict:
    """A notebook's parameters checked: every one of :data:`NOTEBOOK_PARAMETERS`, each a
    JSON scalar of its type (not bool), values as ``evalkit report`` checks them, a data
    path or a results path given and existing.

    Returns them with ``by`` as a tuple and ``params`` as :class:`Params`; region and
    period are checked against the data by :func:`check_region` and :func:`resolve_period`
    once it is loaded.
    """
    unknown = sorted(set(params) - set(NOTEBOOK_PARAMETERS))
    missing = sorted(set(NOTEBOOK_PARAMETERS) - set(params))
    if unknown or missing:
        raise ParameterError(f"unknown parameters {unknown}, missing {missing}")
    for name, kind in NOTEBOOK_PARAMETERS.items():
        value = params[name]
        if isinstance(value, bool) or not isinstance(value, kind):
            raise ParameterError(f"parameter {name} must be a JSON {'string' if kind is str else 'integer'}, "
                                 f"got {type(value).__name__} {value!r}")
    check_lang(params["lang"])
    check_min_cell(params["min_cell"])
    if not params["region"]:
        raise ParameterError("region is empty; give a region id from the regions table")
    if not (params["results_path"] or params["data_path"]):
        raise ParameterError("give data_path (a data package) or results_path (from evalkit report)")
    for name in ("results_path", "data_path"):
        if params[name] and not Path(params[name]).exists():
            raise ParameterError(f"{name}: {params[name]} does not exist")
    check_targets(params["targets_path"])
    return {**params, "by": check_by(params["by"]), "params": check_params(params["params"])}
