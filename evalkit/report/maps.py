"""A map of sub-regions coloured by one indicator, when the package brings region boundaries.

Boundaries are optional: a GeoJSON FeatureCollection ``regions.geojson`` in the data
package's directory, one feature per region with its id in the properties (``region_id``,
or ``区划代码``), geometry Polygon or MultiPolygon in longitude/latitude (WGS 84 or
GCJ-02 as supplied; drawn as given, with the aspect of the middle latitude). Without the
file a report shows no map (the ranked dot chart is the default comparison). A map is
drawn with matplotlib only (no GIS library). Maps for public release in China need map
review (审图号) under the 地图管理条例 (Regulations on Map Management, State Council 2015);
the report says so under every map.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

BOUNDARIES = "regions.geojson"
ID_KEYS = ("region_id", "区划代码")


def read_boundaries(directory) -> dict[str, list[list[np.ndarray]]]:
    """Region id -> polygons (each a list of rings, the first the outer one, as (lon, lat)
    arrays) from ``directory/regions.geojson``; empty when the file is absent or unreadable."""
    if not directory:
        return {}
    path = Path(directory) / BOUNDARIES
    if not path.is_file():
        return {}
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return {}
    out: dict[str, list[list[np.ndarray]]] = {}
    for feature in doc.get("features") or []:
        props = feature.get("properties") or {}
        region = next((str(props[k]) for k in ID_KEYS if props.get(k) not in (None, "")), None)
        geometry = feature.get("geometry") or {}
        kind, coords = geometry.get("type"), geometry.get("coordinates") or []
        polygons = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else []
        rings = [[np.asarray(ring, dtype=float)[:, :2] for ring in polygon if len(ring) >= 3] for polygon in polygons]
        if region and rings:
            out.setdefault(region, []).extend(r for r in rings if r)
    return out


def choropleth(boundaries: dict, league: pd.DataFrame, labels: dict, title: str, unit: str, lang: str,
               suppressed_label: str):
    """Sub-regions of ``league`` (one indicator's rows of :func:`evalkit.report.league.league_table`)
    filled by value on a sequential scale with a colour bar (from 0 for rates, its unit
    named); sub-regions without a value
    light grey and hatched, labelled (``suppressed_label`` where suppressed). None when no
    sub-region of ``league`` has a boundary."""
    import matplotlib
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Polygon

    from .charts import MIN_FONT, _figure, percent_ticks
    from .text import unit_axis_label

    rows = league[league["region"].isin(list(boundaries))]
    if rows.empty:
        return None
    values = rows.set_index("region")["value"].astype(float)
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    if unit == "rate":
        low = 0.0
    if high <= low:
        high = low + (abs(low) or 1.0) * 0.01
    norm = matplotlib.colors.Normalize(low, high)
    cmap = matplotlib.colormaps["Blues"]
    fig = _figure(6.0, 4.6)
    ax = fig.add_subplot()
    lats = []
    for region, status in zip(rows["region"], rows["status"]):
        value = values.get(region)
        filled = value is not None and np.isfinite(value)
        patches = [Polygon(rings[0], closed=True) for rings in boundaries[region]]
        collection = PatchCollection(patches, facecolor=cmap(norm(value)) if filled else "#eeeeee",
                                     edgecolor="#555555", linewidth=0.6, hatch=None if filled else "///")
        ax.add_collection(collection)
        outer = np.concatenate([rings[0] for rings in boundaries[region]])
        lats.append(outer[:, 1])
        x, y = outer[:, 0].mean(), outer[:, 1].mean()
        name = str(labels.get(region, region))
        text = name if filled else f"{name}\n{suppressed_label if status == 'suppressed' else '—'}"
        ax.text(x, y, text, ha="center", va="center", fontsize=MIN_FONT, color="#111111",
                bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none", "pad": 0.5})
    ax.autoscale_view()
    middle = float(np.concatenate(lats).mean())
    ax.set_aspect(1 / max(math.cos(math.radians(middle)), 0.1))
    ax.set_axis_off()
    bar = fig.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, shrink=0.7)
    if unit == "rate":
        bar.formatter = percent_ticks()  # as many decimals as the ticks need
        bar.update_ticks()
    bar.set_label(unit_axis_label(unit, lang))
    ax.set_title(title, loc="left", fontsize=10)
    fig.tight_layout()
    return fig
