"""Provenance: what a results table was computed from, recorded with every output.

:func:`record` builds one JSON-ready dict: the evalkit version, the catalogue's version
and a SHA-256 of its definitions, the parameters, the data's fingerprint and its
extraction date. :func:`evalkit.compute` attaches it to the results
(``results.provenance``); :meth:`IndicatorResults.to_file` writes it into Parquet
metadata (key ``evalkit.provenance``) or, for CSV, a sidecar ``<stem>.provenance.json``;
:func:`evalkit.IndicatorResults.read_provenance` reads it back; reports print it in
every page's footer.

>>> from evalkit.indicators.catalogue import load_catalogue
>>> record(None, {"nearby_km": 3.0}, min_cell=10, confidence=0.95, by=[])["catalogue"]["version"] == load_catalogue().version
True
"""
from __future__ import annotations

import datetime as dt
from typing import Any

#: Version of the record's layout; readers can rely on its keys while it stays the same.
FORMAT = "evalkit.provenance/1"
#: Key of the record in a Parquet file's key-value metadata.
PARQUET_KEY = b"evalkit.provenance"
#: Suffix of the JSON file written beside a CSV table (``ind.csv`` -> ``ind.provenance.json``).
SIDECAR_SUFFIX = ".provenance.json"

EXTRACTED_DECLARED = "datapackage.json"
EXTRACTED_LATEST = "latest date in the data"


def record(package, params, *, min_cell: int, confidence: float, by, scope: dict | None = None,
           today: dt.date | None = None) -> dict[str, Any]:
    """The provenance of results computed from ``package`` with these settings.

    ``params`` is a resolved :class:`evalkit.indicators.parameters.Params` (or a plain
    mapping); ``scope`` the selection (family, indicators, region, period) when given.
    The data's extraction date is ``datapackage.json``'s ``extracted_on`` when declared,
    otherwise the latest date in the data not after ``today``; ``data.extracted_on_source``
    says which (``datapackage.json`` or ``latest date in the data``, then with
    ``data.extracted_on_column``, the ``table.column`` it came from). Nothing time-dependent beyond that is recorded, so the same inputs give
    the same record (and the same report bytes).
    """
    from evalkit import __version__
    from evalkit.indicators.catalogue import load_catalogue

    catalogue = load_catalogue()
    to_json = getattr(params, "to_json", None)
    parameters = to_json() if to_json else {k: list(v) if isinstance(v, tuple) else v for k, v in dict(params).items()}
    out: dict[str, Any] = {
        "format": FORMAT,
        "evalkit": __version__,
        "catalogue": {"version": catalogue.version, "sha256": catalogue.sha256},
        "parameters": parameters,
        "min_cell": int(min_cell),
        "confidence": float(confidence),
        "by": list(by),
    }
    if scope is not None:
        out["scope"] = dict(scope)
    if package is not None:
        out["data"] = data_record(package, today)
    return out


def data_record(package, today: dt.date | None = None) -> dict[str, Any]:
    """Package name, fingerprint (SHA-256 of its files), frequency, periods and extraction date."""
    data: dict[str, Any] = {
        "package": package.name,
        "sha256": package.fingerprint(),
        "frequency": package.frequency,
        "periods": [package.periods[0], package.periods[-1]] if package.periods else [],
    }
    # the same date the indicators cut their windows at (DataPackage.extraction_date)
    day, source = package.extraction_date(today)
    if day is None:
        data.update(extracted_on=None, extracted_on_source=None)
    elif package.extracted_on:
        data.update(extracted_on=day.isoformat(), extracted_on_source=EXTRACTED_DECLARED)
    else:
        data.update(extracted_on=day.isoformat(), extracted_on_source=EXTRACTED_LATEST, extracted_on_column=source)
    return data


def parameters_text(provenance: dict, exclude=()) -> str:
    """The parameters as one line: ``nearby_km=3, ..., min_cell=10, confidence=0.95, by=hukou``
    (leaving out the names in ``exclude``)."""
    parts = []
    for name, value in (provenance.get("parameters") or {}).items():
        if name not in exclude:
            parts.append(f"{name}={_scalar(value)}")
    for name in ("min_cell", "confidence"):
        if name in provenance and name not in exclude:
            parts.append(f"{name}={_scalar(provenance[name])}")
    if provenance.get("by"):
        parts.append(f"by={','.join(provenance['by'])}")
    return ", ".join(parts)


def _scalar(value) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(_scalar(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
