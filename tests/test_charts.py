"""Charts that do not mislead (issue 15, item 5): SVG with real text at print size, rate
axes from 0 with exact tick labels, units on value axes, suppressed cells labelled, at most
four lines a panel, colour-blind-safe colours with shapes and words for statuses.

Synthetic inputs only (no package, no notebook run): fast.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from evalkit.data.schema import SERVICE_TYPES
from evalkit.report import charts, maps
from evalkit.report.text import STATUS_LABELS, t, unit_axis_label

SERVICES = list(SERVICE_TYPES)  # 12 service types: wide and tall inputs
NAMES = {"a.rate": "服务可得率（本期）", "b.rate": "未满足需求率", "c.days": "审批办理天数", "d.rate": "覆盖率"}
UNITS = {"a.rate": "rate", "b.rate": "rate", "c.days": "days", "d.rate": "rate"}
PERIODS = ["2023Q1", "2023Q2", "2023Q3", "2023Q4", "2024Q1", "2024Q2"]


def svg_text(fig) -> str:
    return charts.to_svg(fig).decode("utf-8")


def font_sizes(svg: str) -> list[float]:
    """Every font size in the SVG, in points (matplotlib's SVG user unit is the point)."""
    sizes = re.findall(r"font-size:\s*([\d.]+)px", svg) + re.findall(r"font:[^;\"]*?([\d.]+)px", svg)
    return [float(s) for s in sizes]


def svg_width_in(svg: str) -> float:
    return float(re.search(r'<svg[^>]*\bwidth="([\d.]+)pt"', svg).group(1)) / 72


def by_service(values: dict[str, float] | None = None, suppressed: tuple = (), blank: tuple = ()) -> pd.DataFrame:
    rows = []
    for ind in ("a.rate", "b.rate", "c.days", "d.rate"):
        for k, s in enumerate(SERVICES):
            v = (values or {}).get(ind, 0.6 if UNITS[ind] == "rate" else 8.0) + 0.01 * k
            hidden = s in suppressed or s in blank
            rows.append({"indicator": ind, "service_type": s, "value": np.nan if hidden else v,
                         "ci_low": np.nan if hidden else v * 0.95, "ci_high": np.nan if hidden else v * 1.05,
                         "suppressed": s in suppressed, "n": 5 if s in suppressed else 100})
    return pd.DataFrame(rows)


def over_periods(suppressed_period: str | None = None) -> pd.DataFrame:
    rows = []
    for ind in ("a.rate", "c.days"):
        for k, p in enumerate(PERIODS):
            v = (0.6 + 0.01 * k) if UNITS[ind] == "rate" else 10.0 - k
            hidden = p == suppressed_period
            rows.append({"indicator": ind, "period": p, "value": np.nan if hidden else v,
                         "ci_low": np.nan if hidden else v * 0.95, "ci_high": np.nan if hidden else v * 1.05,
                         "suppressed": hidden, "incomplete": False})
    return pd.DataFrame(rows)


def scorecard_inputs(n_services: int = 9):
    """A card (per service type and overall) and its trend table: ``n_services`` lines for a.rate."""
    services = SERVICES[:n_services]
    statuses = ["green", "amber", "red", "no_target", "suppressed"]
    card = pd.DataFrame(
        [{"indicator": "a.rate", "service_type": s, "value": 0.5 + 0.02 * k, "target": 0.7, "unit": "rate",
          "status": statuses[k % len(statuses)]} for k, s in enumerate(services)]
        + [{"indicator": "c.days", "service_type": "", "value": 8.0, "target": 10.0, "unit": "days", "status": "green"},
           {"indicator": "b.rate", "service_type": "", "value": 0.3, "target": 0.1, "unit": "rate", "status": "red"},
           {"indicator": "d.rate", "service_type": "", "value": 0.75, "target": 0.8, "unit": "rate", "status": "amber"}])
    trend = pd.DataFrame([{"indicator": r.indicator, "service_type": r.service_type, "period": p,
                           "value": r.value + 0.01 * j if r.unit == "rate" else r.value - j}
                          for r in card.itertuples() for j, p in enumerate(PERIODS)])
    return card, trend


def league(suppressed: str = "C") -> pd.DataFrame:
    rows = []
    for k, r in enumerate("ABCDE"):
        hidden = r == suppressed
        v = np.nan if hidden else 0.2 + 0.05 * k
        rows.append({"indicator": "a.rate", "region": r, "value": v, "ci_low": v - 0.03, "ci_high": v + 0.03,
                     "n": 5 if hidden else 100, "suppressed": hidden, "status": "suppressed" if hidden else "value",
                     "rank": pd.NA if hidden else k + 1})
    return pd.DataFrame(rows).sort_values("status", key=lambda s: s == "suppressed", kind="stable")


def quintile_rows(suppressed_group: str = "q5") -> pd.DataFrame:
    rows = []
    for ind in ("fairness.coverage_government", "fairness.coverage_charity"):
        for k in range(1, 6):
            hidden = ind.endswith("charity") and f"q{k}" == suppressed_group
            v = np.nan if hidden else 0.8 - 0.1 * k
            rows.append({"indicator": ind, "group": f"q{k}", "value": v, "ci_low": v - 0.02, "ci_high": v + 0.02,
                         "suppressed": hidden})
    return pd.DataFrame(rows)


QUINTILES = {f"q{k}": f"第{k}组" for k in range(1, 6)}
SERIES = {"fairness.coverage_government": ("government", "政府救助"), "fairness.coverage_charity": ("charity", "慈善帮扶")}


def gaps() -> pd.DataFrame:
    return pd.DataFrame({"label": ["可得率 · 外地户籍", "覆盖率 · 外地户籍", "覆盖率 · 农村"], "group": ["migrant", "migrant", "rural"],
                         "difference": [-0.1, np.nan, 0.05], "ci_low": [-0.15, np.nan, 0.0],
                         "ci_high": [-0.05, np.nan, 0.1], "suppressed": [False, True, False]})


def every_chart(lang: str = "zh") -> dict:
    """One figure of each chart function, from wide inputs (12 service types, many panels)."""
    charts.setup_fonts()
    card, trend = scorecard_inputs()
    services = {s: s for s in SERVICES}
    es = pd.DataFrame({"event_time": [-3, -2, -1, 0, 1, 2], "estimate": [0.01, 0.0, 0.0, -0.05, -0.06, -0.07],
                       "ci_low": [-0.01, -0.02, 0.0, -0.07, -0.08, -0.09], "ci_high": [0.03, 0.02, 0.0, -0.03, -0.04, -0.05]})
    curves = pd.DataFrame({"sector": "government", "population_share": np.linspace(0, 1, 21),
                           "cumulative_share": np.sqrt(np.linspace(0, 1, 21))})
    square = lambda x: [np.array([[x, 23], [x + 1, 23], [x + 1, 24], [x, 24]], dtype=float)]  # noqa: E731
    return {
        "rag_matrix": charts.rag_matrix(card, NAMES, lang),
        "status_tiles": charts.status_tiles(card, NAMES, lang),
        "trend_panels": charts.trend_panels(trend, card, NAMES, lang),
        "bars": charts.bars(by_service(suppressed=("care",)), "service_type", services, NAMES, UNITS,
                            {"a.rate": 0.7}, lang),
        "group_bars": charts.group_bars(by_service().assign(group="local")[lambda f: f.indicator == "a.rate"],
                                        "a.rate", "hukou", {"local": "本地户籍"}, NAMES, 0.7, lang),
        "period_lines": charts.period_lines(over_periods("2023Q3"), NAMES, UNITS, "2024Q1", lang),
        "event_study": charts.event_study_chart(es, "审批办理天数：改革前后各期的效果", "改革后期数", "效果（天）", scale=100),
        "quintile_bars": charts.quintile_bars(quintile_rows(), SERIES, QUINTILES, lang, "覆盖率", "覆盖率（%）", 0.2),
        "concentration": charts.concentration_curve_chart(curves, {"government": "政府救助"}, lang, "集中曲线"),
        "gap_dots": charts.gap_dots(gaps(), lang, "差距", "与参照群体之差（百分点）"),
        "ranked_dots": charts.ranked_dots(league(), {"a.rate": 0.3}, {r: f"{r}县" for r in "ABCDE"}, NAMES, UNITS, lang),
        "choropleth": maps.choropleth({r: [square(k)] for k, r in enumerate("ABCDE")}, league(),
                                      {r: f"{r}县" for r in "ABCDE"}, "地图", "rate", lang, t("chart_suppressed", lang)),
    }


def all_text(fig) -> list:
    from matplotlib.text import Text

    return [x for x in fig.findobj(Text) if x.get_text()]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_chart_is_svg_text_at_print_size(lang):
    for name, fig in every_chart(lang).items():
        assert fig is not None, name
        width = fig.get_size_inches()[0]
        assert width <= charts.MAX_WIDTH, (name, width)  # never scaled down on the page
        small = [(x.get_text(), x.get_fontsize()) for x in all_text(fig) if x.get_fontsize() < charts.MIN_FONT]
        assert not small, (name, small)  # asked for at print size, not only clamped when saved
        svg = svg_text(fig)
        assert svg.count("<text") >= 3, name  # text is text (svg.fonttype none), not paths
        assert "<image" not in svg or name == "choropleth", name  # only a colour bar is a picture
        assert svg_width_in(svg) <= 7.2 + 1e-6, name
        sizes = font_sizes(svg)
        assert sizes and min(sizes) >= 8, (name, min(sizes))
        assert "<dc:date>" not in svg, name


def test_same_chart_same_bytes_and_html_embeds_svg():
    make = lambda: charts.bars(by_service(), "service_type", {s: s for s in SERVICES}, NAMES, UNITS, {}, "zh")  # noqa: E731
    assert charts.to_svg(make()) == charts.to_svg(make())
    html = charts.figure_html(make(), alt="图")
    assert html.startswith('<figure class="chart"><img alt="图" src="data:image/svg+xml;base64,')
    assert not hasattr(charts, "to_png")


def test_print_rules_are_set_once_for_every_figure():
    import matplotlib
    import matplotlib.pyplot as plt

    charts.setup_fonts()
    assert matplotlib.rcParams["svg.fonttype"] == "none" and matplotlib.rcParams["svg.hashsalt"]
    for key in ("xtick.labelsize", "ytick.labelsize", "legend.fontsize", "axes.labelsize", "axes.titlesize"):
        assert matplotlib.font_manager.FontProperties(size=matplotlib.rcParams[key]).get_size_in_points() >= 8, key
    fig = charts._figure(10, 3)
    assert fig.get_size_inches()[0] == charts.MAX_WIDTH
    fig.text(0.1, 0.5, "小字", fontsize=5)  # the last check before saving lifts it to 8 pt
    assert min(font_sizes(svg_text(fig))) >= 8
    plt.close("all")


def value_axis_start(fig, axis: str) -> list[float]:
    return [(ax.get_xlim() if axis == "x" else ax.get_ylim())[0] for ax in fig.axes]


def test_rate_axes_start_at_zero_and_name_their_unit():
    high = {"a.rate": 0.62, "b.rate": 0.64, "d.rate": 0.7}  # far from 0: an axis from 55% would exaggerate
    fig = charts.bars(by_service(high)[lambda f: f.indicator != "c.days"], "service_type", {s: s for s in SERVICES},
                      NAMES, UNITS, {}, "zh")
    assert value_axis_start(fig, "x") == [0, 0, 0]
    assert {ax.get_xlabel() for ax in fig.axes} == {unit_axis_label("rate", "zh")}
    fig = charts.period_lines(over_periods(), NAMES, UNITS, None, "en")
    rate_ax, days_ax = fig.axes
    assert rate_ax.get_ylim()[0] == 0 and rate_ax.get_ylabel() == "Rate (%)" and days_ax.get_ylabel() == "Days"
    card, trend = scorecard_inputs(3)
    fig = charts.trend_panels(trend, card, NAMES, "zh")
    for ax in fig.axes:
        assert ax.get_ylabel() in (unit_axis_label("rate", "zh"), unit_axis_label("days", "zh"))
        if ax.get_ylabel() == unit_axis_label("rate", "zh"):
            assert ax.get_ylim()[0] == 0
        fig.canvas.draw()
        assert [x.get_text() for x in ax.get_yticklabels() if x.get_text()]  # every panel shows its scale
    fig = charts.ranked_dots(league(), {}, {}, NAMES, UNITS, "zh")
    assert fig.axes[0].get_xlim()[0] == 0 and fig.axes[0].get_xlabel() == unit_axis_label("rate", "zh")
    fig = charts.group_bars(by_service(high).assign(group="local")[lambda f: f.indicator == "a.rate"], "a.rate",
                            "hukou", {"local": "本地"}, NAMES, None, "zh")
    assert fig.axes[0].get_xlim()[0] == 0


def test_tick_labels_write_whole_numbers_and_titles_sit_on_the_axes():
    """Yuan in millions and days near 10,000 are written out, never as "1e7" or "+1e4"
    apart from the ticks; so nothing sits above a panel, and its title is at the axes' top."""
    import matplotlib.pyplot as plt

    charts.setup_fonts()
    fig = charts._figure(6, 3)
    big, near = fig.subplots(1, 2)
    big.plot([0, 1], [2.0e7, 6.5e7])
    near.plot([0, 1], [10000.1, 10000.4])
    for ax in (big, near):
        ax.set_title("标题", loc="left")
    fig.canvas.draw()
    for ax in (big, near):
        assert ax.yaxis.get_offset_text().get_text() == ""
        assert ax._left_title.get_position()[1] == 1.0
    labels = [x.get_text() for x in big.get_yticklabels()]
    assert "60000000" in labels and not any("e" in x for x in labels)
    assert all(x.get_text().startswith("10000.") for x in near.get_yticklabels())
    plt.close("all")


def test_percent_tick_labels_are_never_rounded_into_wrong_values():
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    charts.setup_fonts()
    fig = charts._figure(4, 3)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0.0, 0.125])
    ax.set_ylim(0, 0.125)
    ax.yaxis.set_major_locator(plt.MultipleLocator(0.025))
    charts._value_axis(ax, "y", "rate", "zh", zero=False)
    fig.canvas.draw()
    ticks = ax.get_yticks()
    labels = [x.get_text() for x in ax.get_yticklabels()]
    assert "12.5%" in labels and "2.5%" in labels
    for value, label in zip(ticks, labels):
        assert float(label.rstrip("%")) == pytest.approx(value * 100, abs=1e-9), (value, label)
    # what it replaces: a fixed 0 decimals writes 12.5% as 12% (or 13%)
    assert PercentFormatter(1.0, decimals=0).format_pct(0.125, 0.125) in ("12%", "13%")
    plt.close(fig)
    # whole-percent ticks stay without decimals
    assert charts._tick_decimals([0, 20, 40, 60]) == 0 and charts._tick_decimals([0, 2.5, 5]) == 1


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_suppressed_rows_are_labelled_where_they_would_be(lang):
    word = t("chart_suppressed", lang)
    assert word == {"zh": "已抑制", "en": "suppressed"}[lang]
    label = f">{word}</text>"
    services = {s: s for s in SERVICES}
    shown = svg_text(charts.bars(by_service(suppressed=("care",))[lambda f: f.indicator == "a.rate"], "service_type",
                                 services, NAMES, UNITS, {}, lang))
    assert shown.count(label) == 1
    # blank because not computed (no suppressed flag): left out, no label
    blank = svg_text(charts.bars(by_service(blank=("care",))[lambda f: f.indicator == "a.rate"], "service_type",
                                 services, NAMES, UNITS, {}, lang))
    assert label not in blank
    grouped = by_service(suppressed=("care", "medical"))[lambda f: f.indicator == "a.rate"].assign(group="local")
    assert svg_text(charts.group_bars(grouped, "a.rate", "hukou", {"local": "L"}, NAMES, None, lang)).count(label) == 2
    assert svg_text(charts.period_lines(over_periods("2023Q3"), NAMES, UNITS, None, lang)).count(label) == 2
    assert svg_text(charts.quintile_bars(quintile_rows(), SERIES, QUINTILES, lang, "T", "Y")).count(label) == 1
    assert svg_text(charts.gap_dots(gaps(), lang, "T", "X")).count(label) == 1
    dots = svg_text(charts.ranked_dots(league("C"), {}, {r: f"County {r}" for r in "ABCDE"}, NAMES, UNITS, lang))
    assert dots.count(label) == 1 and "County C" in dots


def test_palette_is_okabe_ito():
    import matplotlib

    okabe_ito = {"#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"}
    assert set(charts.OKABE_ITO) == okabe_ito
    assert charts._palette(8) == list(charts.OKABE_ITO) and set(charts._palette(20)) == okabe_ito
    assert set(charts._bar_palette(5)) <= okabe_ito and set(charts.SECTOR_COLORS.values()) <= okabe_ito
    charts.setup_fonts()
    cycle = [matplotlib.colors.to_hex(c["color"]).upper() for c in matplotlib.rcParams["axes.prop_cycle"]]
    assert cycle == [c.upper() for c in charts.OKABE_ITO]


def test_status_colours_come_with_shapes_and_words():
    from matplotlib.lines import Line2D

    card, _ = scorecard_inputs(5)
    fig = charts.rag_matrix(card, NAMES, "zh")
    ax = fig.axes[0]
    drawn = {line.get_marker() for line in ax.get_lines() if isinstance(line, Line2D)}
    assert {charts.STATUS_MARKERS[s] for s in ("green", "amber", "red")} <= drawn
    legend = [x.get_text() for x in fig.legends[0].get_texts()]
    assert {STATUS_LABELS[s]["zh"] for s in ("green", "amber", "red", "no_target", "suppressed")} <= set(legend)
    tiles = charts.status_tiles(card, NAMES, "en")
    words = {x.get_text() for x in all_text(tiles)}
    assert {"On target", "Off target", "Near target"} <= words
    assert len(set(charts.STATUS_MARKERS.values())) == 3


def test_more_than_four_lines_become_small_multiples_on_one_scale():
    card, trend = scorecard_inputs(9)  # a.rate by 9 service types
    fig = charts.trend_panels(trend, card, NAMES, "zh")
    panels = [ax for ax in fig.axes if ax.get_title(loc="left").startswith(NAMES["a.rate"][:5])]
    assert len(panels) == 3  # 9 lines -> 3 panels of 3
    assert all(len([line for line in ax.get_lines() if line.get_linestyle() != "--"]) <= charts.MAX_LINES
               for ax in fig.axes)
    assert len({ax.get_ylim() for ax in panels}) == 1  # shared scale
    assert [ax.get_title(loc="left")[-5:] for ax in panels] == ["(1/3)", "(2/3)", "(3/3)"]
    assert len(fig.axes) == 3 + 3  # and one panel each for the three overall indicators
    pages = charts.trend_pages(trend, card, NAMES, "zh", rows_per_page=1)
    assert len(pages) == 2 and all(p.get_size_inches()[0] <= charts.MAX_WIDTH for p in pages)
    assert charts.split_evenly(list(range(9)), 4) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert charts.split_evenly(list(range(5)), 4) == [[0, 1, 2], [3, 4]]


def test_interval_key_is_shown_once_per_report_part():
    import matplotlib.pyplot as plt

    from evalkit.report.notebook import Report

    report = Report.__new__(Report)
    report.lang = "en"
    shown: list[str] = []
    report.show = shown.append

    def small():
        charts.setup_fonts()
        fig = plt.figure(figsize=(2, 1))
        fig.text(0.1, 0.5, "x")
        return fig

    report.figure(small(), alt="no intervals")
    assert t("interval_key", "en") not in "".join(shown)
    report.figure(small(), alt="a", intervals=True)
    report.figure(small(), alt="b", intervals=True)
    page = "".join(shown)
    assert page.count(t("interval_key", "en")) == 1
    assert page.index(t("interval_key", "en")) < page.index('alt="a"')  # before the first chart with intervals
    assert "95%" in t("interval_key", "zh") and "置信区间" in t("interval_key", "zh")
