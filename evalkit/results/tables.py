"""Publication tables built from indicator results (notebooks and reports present these).

>>> import evalkit                                                       # doctest: +SKIP
>>> res = evalkit.compute(evalkit.load("data/demo"), family="access")    # doctest: +SKIP
>>> supply_and_need_table(res, region="R00", period="2024Q4")            # doctest: +SKIP
"""
from __future__ import annotations

import pandas as pd

from evalkit.data.schema import SERVICE_TYPES
from evalkit.indicators.catalogue import load_catalogue
from evalkit.results.indicator_results import IndicatorResults

# the counts are households (the catalogue's unit of analysis of both rates): 需求户数 ...
_LABELS = {
    "service_type": {"zh": "服务类型", "en": "Service type"},
    "need": {"zh": "需求{}", "en": "{} in need"},
    "accessible": {"zh": "可及{}", "en": "{} with supply nearby"},
    "obtained": {"zh": "可得{}", "en": "{} that received it"},
}


def supply_and_need_table(results: IndicatorResults, region: str, period: str, lang: str = "zh") -> pd.DataFrame:
    """Table 1 of 祝建华、项丽亚 (2021) 《城市社会救助服务高质量建设的问题与实现路径》 for one region and period: per service type the households in
    need, with supply nearby and that received the service, and the two rates.

    Count columns are headed with what they count, the rates' unit of analysis (需求户数 /
    Households in need). Counts are weighted when the data carry survey weights; small
    cells are blank.
    """
    if lang not in ("zh", "en"):
        raise ValueError(f"lang must be zh or en, got {lang!r}")
    table = results.published()
    table = table[(table["group_by"] == "") & (table["region"] == region) & (table["period"] == period)]
    if table.empty:
        raise ValueError(f"no results for region {region!r} and period {period!r}")
    view = table.set_index(["indicator", "service_type"])
    access = "access.accessibility_rate"
    avail = "access.availability_rate"
    cat = load_catalogue()
    heading = {key: _LABELS[key][lang].format(cat[ind].counts_heading(lang))
               for key, ind in (("need", access), ("accessible", access), ("obtained", avail))}
    rows = []
    for service, name_zh in SERVICE_TYPES.items():
        rows.append({
            _LABELS["service_type"][lang]: name_zh if lang == "zh" else service.replace("_", " "),
            heading["need"]: view["denominator"].get((access, service)),
            heading["accessible"]: view["numerator"].get((access, service)),
            heading["obtained"]: view["numerator"].get((avail, service)),
            cat[access].name(lang): view["value"].get((access, service)),
            cat[avail].name(lang): view["value"].get((avail, service)),
        })
    return pd.DataFrame(rows)
