"""Charts for reports: matplotlib with a CJK font, rendered to SVG with real text.

:func:`setup_fonts` finds Noto Sans CJK SC (registering the font file when matplotlib's
font cache predates the font's installation) and sets the print rules once for every
chart (rcParams): text at least :data:`MIN_FONT` points, the colour-blind-safe
Okabe-Ito palette, SVG text kept as text (``svg.fonttype = 'none'``: selectable, and
WeasyPrint embeds the font in the PDF) and stable ids (``svg.hashsalt``). :func:`to_svg`
turns matplotlib's "Glyph ... missing" warnings into :class:`MissingGlyphError`, so a
report never shows tofu boxes: it fails instead.

Rules every chart here keeps (issue 15, "charts that do not mislead"):

* at most :data:`MAX_WIDTH` inches wide (A4 with 12 mm margins prints 7.3 in), so a
  chart is never scaled down on the page and 8 pt stays 8 pt;
* a rate axis starts at 0 and its tick labels carry as many decimals as the ticks need
  (:func:`percent_ticks`: 12.5% is never shown as 12%); every value axis names its unit,
  and its tick labels write the numbers themselves (no offset or ×10ⁿ factor apart);
* 95% intervals are lines (error bars), explained once per report part
  (:meth:`evalkit.report.notebook.Report.interval_note`);
* a suppressed cell (small-cell rule) is labelled "已抑制" / "suppressed" where its bar or
  dot would be, never silently left out;
* at most :data:`MAX_LINES` lines per panel: more series become small multiples on a
  shared scale;
* status colours (red/amber/green) always come with a marker shape and a text label.
"""
from __future__ import annotations

import base64
import glob
import html
import io
import math
import re
import warnings

import numpy as np
import pandas as pd

from evalkit.errors import EvalkitError

from .text import service_label, status_label, t, unit_axis_label

FONT = "Noto Sans CJK SC"
FONT_FILES = ("NotoSansCJK-Regular.ttc", "NotoSansCJKsc-Regular.otf", "NotoSansCJK-Bold.ttc")
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts",
             "/Library/Fonts", "C:/Windows/Fonts")
DPI = 100
#: Widest chart in inches: A4 less 2 x 12 mm margins prints 186 mm (7.3 in); wider would be scaled down.
MAX_WIDTH = 7.2
#: Smallest text in points (titles, labels, ticks, annotations, legends).
MIN_FONT = 8.0
#: Most lines drawn in one panel; more series are split into small multiples.
MAX_LINES = 4
#: Okabe & Ito (2008) colour-blind-safe categorical colours, in the order charts use them.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
STATUS_COLORS = {"green": "#2e7d32", "amber": "#f2a900", "red": "#c62828",
                 "no_target": "#d9d9d9", "suppressed": "#eeeeee", "no_data": "#eeeeee", "descriptive": "#d9d9d9",
                 "incomplete": "#c9d7e8"}
#: Shapes that tell statuses apart without colour (drawn with the status colour and its label).
STATUS_MARKERS = {"green": "o", "amber": "^", "red": "X"}
INK = "#222222"
MUTED = "#555555"
BAR = OKABE_ITO[5]  # sky blue: dark error bars stay visible over it
DOT = OKABE_ITO[0]
TARGET = OKABE_ITO[3]  # vermillion dashed line
GRID = {"color": "#e5e5e5", "linewidth": 0.6}
#: How a dot's 95% interval is drawn: the same error bar in every chart.
INTERVAL = {"fmt": "o", "elinewidth": 1.2, "capsize": 2.5}
_GLYPH = re.compile(r"Glyph .* missing")


class FontNotFoundError(EvalkitError, RuntimeError):
    """No CJK font for Chinese labels."""


class MissingGlyphError(EvalkitError, RuntimeError):
    """A chart would show a character the fonts cannot draw (a tofu box)."""


def setup_fonts() -> str:
    """Make matplotlib draw Chinese with Noto Sans CJK SC and set the print rules; return
    the font family name.

    Idempotent. Raises :class:`FontNotFoundError` naming the fix when the font is absent.
    """
    import matplotlib
    from cycler import cycler
    from matplotlib import font_manager

    if not _registered(font_manager, FONT):
        # A font cache built before fonts-noto-cjk was installed does not list it.
        for pattern in FONT_FILES:
            for root in FONT_DIRS:
                for path in sorted(glob.glob(f"{_expand(root)}/**/{pattern}", recursive=True)):
                    font_manager.fontManager.addfont(path)
    if not _registered(font_manager, FONT):
        raise FontNotFoundError(
            f"the font {FONT!r} is not installed; install Debian's fonts-noto-cjk (`make fonts`) "
            "or Noto Sans CJK SC from https://github.com/notofonts/noto-cjk")
    matplotlib.rcParams.update({
        "font.family": "sans-serif",
        "font.sans-serif": [FONT, "DejaVu Sans"],
        "axes.unicode_minus": False,  # CJK fonts draw the ASCII hyphen-minus reliably
        "figure.dpi": DPI,
        "savefig.dpi": DPI,
        "axes.spines.top": False,
        "axes.spines.right": False,
        # print sizes: nothing below MIN_FONT points
        "font.size": 9,
        "figure.titlesize": 11,
        "axes.titlesize": 10,
        "axes.labelsize": 9,
        "xtick.labelsize": MIN_FONT,
        "ytick.labelsize": MIN_FONT,
        "legend.fontsize": MIN_FONT,
        "legend.title_fontsize": MIN_FONT,
        "axes.prop_cycle": cycler(color=list(OKABE_ITO)),
        "axes.axisbelow": True,  # grid lines behind bars
        # tick labels say the number itself: no "1e6" or "+2.5e3" written apart at the axis' end
        "axes.formatter.useoffset": False,
        "axes.formatter.limits": (-9, 15),
        # so nothing sits above an axes and titles need not be placed around it: matplotlib's
        # search measured every y tick label of every titled panel again at each save
        "axes.titley": 1.0,
        "svg.fonttype": "none",  # text stays text: WeasyPrint embeds the font in the PDF
        "svg.hashsalt": "evalkit",  # stable clip-path ids: same chart, same bytes
    })
    return FONT


def _expand(root: str) -> str:
    import os

    return os.path.expanduser(root)


def _registered(font_manager, family: str) -> bool:
    return any(f.name == family for f in font_manager.fontManager.ttflist)


def _print_size(fig) -> None:
    """The print rules as a last check before saving: no text below :data:`MIN_FONT`
    (charts ask for it anyway), no figure wider than :data:`MAX_WIDTH`."""
    from matplotlib.text import Text

    for text in fig.findobj(Text):
        if text.get_fontsize() < MIN_FONT:
            text.set_fontsize(MIN_FONT)
    width, height = fig.get_size_inches()
    if width > MAX_WIDTH + 1e-9:
        fig.set_size_inches(MAX_WIDTH, height * MAX_WIDTH / width)


def to_svg(fig) -> bytes:
    """The figure as SVG bytes with text as ``<text>`` (same input, same bytes); closes the figure.

    Raises :class:`MissingGlyphError` when a label has a character no font can draw.
    """
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _print_size(fig)
            # Layout is done by each chart (tight_layout): bbox_inches="tight" would draw twice.
            fig.savefig(buf, format="svg", metadata={"Date": None})
    finally:
        plt.close(fig)
    missing = sorted({str(w.message) for w in caught if _GLYPH.search(str(w.message))})
    if missing:
        raise MissingGlyphError("; ".join(missing))
    for w in caught:  # let other warnings through
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return buf.getvalue()


def figure_html(fig, alt: str, caption: str = "") -> str:
    """An HTML ``<figure>`` with the chart embedded as an SVG data URI (no external file)."""
    data = base64.b64encode(to_svg(fig)).decode("ascii")
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return (f'<figure class="chart"><img alt="{html.escape(alt, quote=True)}" '
            f'src="data:image/svg+xml;base64,{data}"/>{cap}</figure>')


def _figure(width: float, height: float):
    """A new figure, never wider than :data:`MAX_WIDTH` inches."""
    import matplotlib.pyplot as plt

    setup_fonts()
    return plt.figure(figsize=(min(width, MAX_WIDTH), height))


# -- axes -------------------------------------------------------------------------------------

def _tick_decimals(values) -> int:
    """Fewest decimals that write every tick value (in percent) exactly: 0, 2.5, 5 -> 1."""
    values = [float(v) for v in values if np.isfinite(v)]
    for d in range(0, 4):
        if all(abs(round(v, d) - v) <= 1e-6 * max(1.0, abs(v)) for v in values):
            return d
    return 4


def percent_ticks():
    """A tick formatter for shares (1.0 = 100%) with the decimals the tick step needs."""
    from matplotlib.ticker import Formatter

    class _PercentTicks(Formatter):
        decimals = 0

        def set_locs(self, locs):
            super().set_locs(locs)
            self.decimals = _tick_decimals(np.asarray(locs, dtype=float) * 100)

        def __call__(self, x, pos=None):
            text = f"{x * 100:.{self.decimals}f}"
            if float(text) == 0:
                text = text.lstrip("-")
            return f"{text}%"

    return _PercentTicks()


def _value_axis(ax, which: str, unit: str, lang: str, label: str | None = None, zero: bool = True) -> None:
    """A value axis: rates in percent with exact tick labels and (``zero``) starting at 0;
    the unit in the axis label (``label`` replaces the default, e.g. for differences)."""
    axis = ax.xaxis if which == "x" else ax.yaxis
    if unit == "rate":
        axis.set_major_formatter(percent_ticks())
        if zero:
            low, high = ax.get_xlim() if which == "x" else ax.get_ylim()
            high = max(high, 0.01)
            (ax.set_xlim if which == "x" else ax.set_ylim)(0, high)
    text = unit_axis_label(unit, lang) if label is None else label
    if text:
        (ax.set_xlabel if which == "x" else ax.set_ylabel)(text)


def _suppressed(part: pd.DataFrame) -> np.ndarray:
    """Rows blank because of the small-cell rule (``suppressed`` flag and no value); a value
    blank for another reason (not computed, incomplete period) is not one."""
    if part.empty or "suppressed" not in part:
        return np.zeros(len(part), dtype=bool)
    blank = ~np.isfinite(part["value"].to_numpy(dtype=float))
    if "incomplete" in part:
        blank &= ~_flag(part["incomplete"])
    return _flag(part["suppressed"]) & blank


def _flag(column: pd.Series) -> np.ndarray:
    """A true/false column as booleans, blank (a row absent before reindexing) as False."""
    return np.array([False if pd.isna(v) else bool(v) for v in column], dtype=bool)


def _mark_suppressed(ax, x, y, lang: str, rotation: float = 0, ha: str = "left", va: str = "center",
                     transform=None) -> None:
    """The "已抑制" / "suppressed" label where a suppressed bar or dot would be."""
    ax.text(x, y, t("chart_suppressed", lang), ha=ha, va=va, fontsize=MIN_FONT, color=MUTED, rotation=rotation,
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5}, transform=transform or ax.transData)


def _period_ticks(ax, periods: list, width_in: float, show: bool = True) -> None:
    """Period labels under a panel ``width_in`` inches wide, thinned so they never overlap."""
    room = max(1, int(width_in / 0.2))
    step = max(1, math.ceil(len(periods) / room))
    ticks = list(range(len(periods)))
    ax.set_xticks(ticks, [p if show and k % step == (len(periods) - 1) % step else "" for k, p in enumerate(periods)],
                  rotation=45, ha="right")
    ax.set_xlim(-0.5, len(periods) - 0.5)


def _errors(value, low, high) -> np.ndarray:
    err = np.vstack([value - low, high - value])
    return np.where(np.isfinite(err), np.maximum(err, 0), 0)


# -- charts ------------------------------------------------------------------------------

def _status_handle(status: str):
    """A legend key for ``status``: its colour, with its marker shape for red/amber/green."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    patch = Patch(color=STATUS_COLORS[status])
    if status not in STATUS_MARKERS:
        return patch
    return (patch, Line2D([], [], marker=STATUS_MARKERS[status], linestyle="none", markersize=5,
                          color=_status_ink(status), markeredgewidth=0))


def _status_ink(status: str) -> str:
    return "white" if status in ("green", "red") else INK


def _status_legend(fig, statuses: list[str], lang: str) -> float:
    """The status key under a chart (colour, shape and words); returns its height in inches."""
    from matplotlib.legend_handler import HandlerTuple

    if not statuses:
        return 0.0
    rows = math.ceil(len(statuses) / 4)
    fig.legend([_status_handle(s) for s in statuses], [status_label(s, lang) for s in statuses],
               loc="lower left", bbox_to_anchor=(0.01, 0.0), ncol=min(4, len(statuses)), frameon=False,
               handler_map={tuple: HandlerTuple(ndivide=1)})
    return 0.22 * rows + 0.1


def rag_matrix(card: pd.DataFrame, names: dict[str, str], lang: str):
    """Indicators split by service type (rows) by service type (columns), each cell
    coloured by status and marked with its status shape (○ on target, △ near, ✕ off:
    :data:`STATUS_MARKERS`), the key below in words; ``names`` maps indicator ids to
    display names. None when no indicator is split by service type (see :func:`status_tiles`)."""
    from matplotlib.patches import Rectangle

    from .text import format_value

    card = card[card["service_type"] != ""]
    if card.empty:
        return None
    indicators = list(dict.fromkeys(card["indicator"]))
    services = list(dict.fromkeys(card["service_type"]))
    shown = [s for s in ("green", "amber", "red", "no_target", "descriptive", "incomplete", "suppressed", "no_data")
             if s in set(card["status"])]
    legend_h = 0.22 * math.ceil(len(shown) / 4) + 0.1
    height = 1.5 + 0.42 * len(indicators) + legend_h
    fig = _figure(2.2 + 0.56 * len(services), height)
    ax = fig.add_subplot()
    for _, r in card.iterrows():
        x, y = services.index(r["service_type"]), indicators.index(r["indicator"])
        ax.add_patch(Rectangle((x, y), 0.96, 0.9, color=STATUS_COLORS[r["status"]], linewidth=0))
        ink = _status_ink(r["status"])
        if r["status"] in STATUS_MARKERS:
            ax.plot([x + 0.48], [y + 0.24], marker=STATUS_MARKERS[r["status"]], markersize=4.5, color=ink,
                    markeredgewidth=0, linestyle="none")
        # the unit is in the row label: "5.94公里" would not fit a cell
        value = format_value(r["value"], r["unit"] if r["unit"] == "rate" else "index", lang)
        ax.text(x + 0.48, y + 0.62, value, ha="center", va="center", fontsize=MIN_FONT, color=ink)
    ax.set_xlim(0, len(services))
    ax.set_ylim(len(indicators), 0)
    ax.set_xticks(np.arange(len(services)) + 0.48, [service_label(s, lang) for s in services],
                  rotation=45, ha="right")
    units = dict(zip(card["indicator"], card["unit"]))
    ax.set_yticks(np.arange(len(indicators)) + 0.45, [_wrap(_with_unit(names[i], units[i], lang), 12)
                                                      for i in indicators])
    ax.tick_params(length=0)
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)
    _status_legend(fig, shown, lang)
    ax.set_title(t("rag_matrix", lang), loc="left")
    fig.tight_layout(pad=0.6, rect=(0, legend_h / height, 1, 1))
    return fig


def _with_unit(name: str, unit: str, lang: str) -> str:
    """``name (unit)`` for units other than rates and indices, e.g. "到最近服务站点距离（公里）"."""
    from .text import UNIT_LABELS

    if unit in ("rate", "index", "count") or unit not in UNIT_LABELS:
        return name
    word = UNIT_LABELS[unit][lang]
    return f"{name}（{word}）" if lang == "zh" else f"{name} ({word})"


def status_tiles(card: pd.DataFrame, names: dict[str, str], lang: str, columns: int = 4):
    """One tile per indicator not split by service type: name, status (shape and words),
    value and target, coloured by status."""
    from matplotlib.patches import FancyBboxPatch

    from .text import format_value

    rows = card[card["service_type"] == ""]
    if rows.empty:
        return None
    columns = min(columns, int(MAX_WIDTH // 1.75))
    n_rows = int(np.ceil(len(rows) / columns))
    fig = _figure(1.8 * columns, 1.25 * n_rows + 0.1)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, columns)
    ax.set_ylim(n_rows, 0)
    ax.axis("off")
    target_word = "目标" if lang == "zh" else "target"
    for k, r in enumerate(rows.itertuples()):
        x, y = k % columns, k // columns
        ink = _status_ink(r.status)
        ax.add_patch(FancyBboxPatch((x + 0.04, y + 0.05), 0.92, 0.9, boxstyle="round,pad=0,rounding_size=0.04",
                                    color=STATUS_COLORS[r.status], linewidth=0))
        ax.text(x + 0.09, y + 0.12, _wrap(names[r.indicator], 11), ha="left", va="top",
                fontsize=MIN_FONT, color=ink, linespacing=1.15)
        marker = STATUS_MARKERS.get(r.status)
        if marker:
            ax.plot([x + 0.13], [y + 0.52], marker=marker, markersize=5, color=ink, markeredgewidth=0,
                    linestyle="none")
        ax.text(x + (0.2 if marker else 0.09), y + 0.52, status_label(r.status, lang), ha="left", va="center",
                fontsize=MIN_FONT, color=ink)
        if not pd.isna(r.target):
            ax.text(x + 0.09, y + 0.67, f"{target_word} {format_value(r.target, r.unit, lang)}", ha="left",
                    va="center", fontsize=MIN_FONT, color=ink)
        ax.text(x + 0.09, y + 0.91, format_value(r.value, r.unit, lang), ha="left", va="bottom", fontsize=13,
                color=ink, fontweight="bold")
    return fig


def split_evenly(items: list, size: int) -> list[list]:
    """``items`` in as few runs of at most ``size`` as possible, of near-equal length."""
    if not items:
        return []
    k = math.ceil(len(items) / size)
    per = math.ceil(len(items) / k)
    return [items[i:i + per] for i in range(0, len(items), per)]


def _shared_limits(values: list, unit: str, extra=()) -> tuple[float, float]:
    """One y range for every panel of an indicator: from 0 for rates, with a margin."""
    pool = np.concatenate([np.ravel(np.asarray(v, dtype=float)) for v in values]
                          + [np.asarray(list(extra), dtype=float)])
    finite = pool[np.isfinite(pool)]
    if finite.size == 0:
        return (0.0, 1.0)
    low, high = float(finite.min()), float(finite.max())
    if unit == "rate":
        low = 0.0
    pad = (high - low) * 0.08 or (abs(high) or 1.0) * 0.05
    return (low if unit == "rate" else low - pad, high + pad)


def trend_panels(trend: pd.DataFrame, card: pd.DataFrame, names: dict[str, str], lang: str, columns: int | None = None):
    """All panels of :func:`trend_pages` in one figure (however tall); None without a target."""
    pages = trend_pages(trend, card, names, lang, columns=columns, rows_per_page=None)
    return pages[0] if pages else None


def trend_pages(trend: pd.DataFrame, card: pd.DataFrame, names: dict[str, str], lang: str,
                columns: int | None = None, rows_per_page: int | None = 4) -> list:
    """One panel per indicator with a target: its value over periods (one line per service
    type), and the target as a dashed line; as figures of at most ``rows_per_page`` rows
    of panels (so each fits a printed page; None: one figure), the title on the first.

    At most :data:`MAX_LINES` lines a panel: an indicator with more service types gets
    several panels (small multiples, titled "(1/3)", ...) on one y scale; each service type
    keeps its colour and marker in every panel and the key. Every panel shows its y axis
    values and unit; rate axes start at 0.

    Laid out on a fixed grid in inches (no tight_layout: with dozens of panels measuring
    every label costs more than drawing them); period labels on the bottom row only.
    """
    with_target = card.dropna(subset=["target"])
    indicators = list(dict.fromkeys(with_target["indicator"]))
    if not indicators:
        return []
    columns = columns or 3
    periods = sorted(set(trend["period"]))
    wide = trend.pivot_table(index=["indicator", "service_type"], columns="period", values="value",
                             aggfunc="first").reindex(columns=periods)
    series = {key: values.to_numpy(dtype=float) for key, values in wide.iterrows()}
    services = [s for s in dict.fromkeys(trend["service_type"]) if s in set(with_target["service_type"])]
    # colour and shape per service type: the same in every panel, told apart in the one key;
    # black is the overall line's
    colors = [c for c in OKABE_ITO if c != "#000000"]
    style = {"": (INK, "o")}
    for k, s in enumerate(s for s in services if s != ""):
        style[s] = (colors[k % len(colors)], "os^D"[(k // len(colors)) % 4])
    panels = []  # (indicator, service types drawn, part, parts)
    for ind in indicators:
        drawn = [s for s in services if (ind, s) in series and np.isfinite(series[(ind, s)]).any()]
        parts = split_evenly(drawn, MAX_LINES) or [[]]
        panels += [(ind, part, k, len(parts)) for k, part in enumerate(parts)]
    meta = {ind: with_target[with_target["indicator"] == ind].iloc[0] for ind in indicators}
    limits = {ind: _shared_limits([series[(ind, s)] for s in services if (ind, s) in series], meta[ind]["unit"],
                                  with_target[with_target["indicator"] == ind]["target"].to_numpy(dtype=float))
              for ind in indicators}
    per_page = len(panels) if rows_per_page is None else rows_per_page * columns
    return [_trend_figure(panels[i:i + per_page], series, style, meta, limits, periods, names, lang, columns, i == 0)
            for i in range(0, len(panels), per_page)]


def _trend_figure(panels, series, style, meta, limits, periods, names, lang, columns, first):
    from matplotlib.lines import Line2D

    titles = []
    for ind, _, k, parts in panels:
        title = _wrap(names[ind], 11 if columns >= 3 else 18)
        titles.append(f"{title} ({k + 1}/{parts})" if parts > 1 else title)
    rows = int(np.ceil(len(panels) / columns))
    used = [s for s in style if any(s in part for _, part, _, _ in panels)]
    legend_rows = int(np.ceil((len(used) + 1) / 4))
    # inches: suptitle, per row (panel title + plot), period labels, legend
    title_h = 0.12 + 0.16 * max(t_.count("\n") + 1 for t_ in titles)
    head, plot_h, foot, legend_h = (0.45 if first else 0.1), 1.35, 0.6, 0.22 * legend_rows + 0.1
    width, left, gap, right = MAX_WIDTH, 0.78, 0.78, 0.1
    height = head + rows * (title_h + plot_h) + foot + legend_h
    panel_w = (width - left - right - gap * (columns - 1)) / columns
    fig = _figure(width, height)
    for k, ((ind, part, _, _), title) in enumerate(zip(panels, titles)):
        r, c = divmod(k, columns)
        bottom = height - head - (r + 1) * (title_h + plot_h)
        ax = fig.add_axes(((left + c * (panel_w + gap)) / width, bottom / height, panel_w / width, plot_h / height))
        for s in part:
            color, marker = style[s]
            ax.plot(range(len(periods)), series[(ind, s)], marker=marker, markersize=3.5, linewidth=1.1, color=color)
        ax.axhline(meta[ind]["target"], color=TARGET, linestyle="--", linewidth=1)
        ax.set_title(title, fontsize=8.5, loc="left")
        _period_ticks(ax, periods, panel_w, show=k + columns >= len(panels))
        ax.set_ylim(*limits[ind])
        _value_axis(ax, "y", meta[ind]["unit"], lang, zero=False)
        ax.grid(axis="y", **GRID)
    handles = [Line2D([], [], color=style[s][0], marker=style[s][1], markersize=3.5, linewidth=1.1) for s in used]
    labels = [service_label(s, lang) for s in used]
    handles.append(Line2D([], [], color=TARGET, linestyle="--", linewidth=1))
    labels.append(t("target_line", lang))
    fig.legend(handles, labels, loc="lower center", ncol=min(4, len(labels)), frameon=False,
               bbox_to_anchor=(0.5, 0.0))
    if first:
        fig.suptitle(t("trend_title", lang), x=0.01, y=1 - 0.12 / height, ha="left", va="top", fontsize=11)
    return fig


def bars(rows: pd.DataFrame, label_column: str, labels: dict, names: dict[str, str], units: dict[str, str],
         targets: dict, lang: str, title: str = "", columns: int = 2):
    """Horizontal bars with 95% intervals (error bars), one panel per indicator, target as
    a dashed line; a suppressed bar is labelled as such.

    ``rows`` has indicator, value, ci_low, ci_high, suppressed and ``label_column``
    (service type or region); ``labels`` maps that column's values to display names in bar order.
    """
    from matplotlib.lines import Line2D

    indicators = list(dict.fromkeys(rows["indicator"]))
    if not indicators:
        return None
    columns = min(columns, len(indicators))
    panel_rows = int(np.ceil(len(indicators) / columns))
    fig = _figure(MAX_WIDTH if columns > 1 else 4.8, (1.0 + 0.22 * len(labels)) * panel_rows + 0.5)
    order = list(labels)
    any_target = False
    for k, ind in enumerate(indicators):
        ax = fig.add_subplot(panel_rows, columns, k + 1)
        part = rows[rows["indicator"] == ind].set_index(label_column).reindex(order)
        y = np.arange(len(order))
        value = part["value"].to_numpy(dtype=float)
        err = _errors(value, part["ci_low"].to_numpy(dtype=float), part["ci_high"].to_numpy(dtype=float))
        ax.barh(y, np.nan_to_num(value), xerr=err, color=BAR, height=0.7,
                error_kw={"elinewidth": 0.9, "ecolor": INK, "capsize": 1.5})
        target = targets.get(ind)
        if target is not None and not pd.isna(target):
            ax.axvline(target, color=TARGET, linestyle="--", linewidth=1)
            any_target = True
        ax.set_yticks(y, [labels[v] for v in order])
        ax.invert_yaxis()
        ax.set_title(_wrap(names[ind], 18 if columns > 1 else 30), fontsize=9, loc="left")
        _value_axis(ax, "x", units[ind], lang)
        for yy in y[_suppressed(part)]:
            _mark_suppressed(ax, 0.02, yy, lang, transform=ax.get_yaxis_transform())
        ax.grid(axis="x", **GRID)
    legend_h = 0.0
    if any_target:
        fig.legend([Line2D([], [], color=TARGET, linestyle="--", linewidth=1)], [t("target_line", lang)],
                   loc="lower left", bbox_to_anchor=(0.01, 0.0), frameon=False)
        legend_h = 0.3
    if title:
        fig.suptitle(title, x=0.01, ha="left", fontsize=11)
    height = fig.get_size_inches()[1]
    fig.tight_layout(rect=(0, legend_h / height, 1, 0.97 if title else 1))
    return fig


def group_bars(rows: pd.DataFrame, indicator: str, group_by: str, groups: dict, names: dict[str, str],
               target, lang: str, unit: str = "rate"):
    """One indicator by service type, a bar per group side by side (e.g. local vs migrant),
    with 95% intervals; a suppressed bar is labelled as such."""
    services = [s for s in dict.fromkeys(rows["service_type"])]
    if not services:
        return None
    fig = _figure(MAX_WIDTH, 1.3 + 0.32 * len(services) * max(1, len(groups)) / 1.6)
    ax = fig.add_subplot()
    width = 0.8 / max(1, len(groups))
    y = np.arange(len(services))
    for k, ((group, label), color) in enumerate(zip(groups.items(), _bar_palette(len(groups)))):
        part = rows[rows["group"] == group].set_index("service_type").reindex(services)
        value = part["value"].to_numpy(dtype=float)
        err = _errors(value, part["ci_low"].to_numpy(dtype=float), part["ci_high"].to_numpy(dtype=float))
        ax.barh(y + k * width, np.nan_to_num(value), height=width, color=color, label=label, xerr=err,
                error_kw={"elinewidth": 0.9, "ecolor": INK, "capsize": 1.5})
        for yy in (y + k * width)[_suppressed(part)]:
            _mark_suppressed(ax, 0.02, yy, lang, transform=ax.get_yaxis_transform())
    if target is not None and not pd.isna(target):
        ax.axvline(target, color=TARGET, linestyle="--", linewidth=1, label=t("target_line", lang))
    ax.set_yticks(y + width * (len(groups) - 1) / 2, [service_label(s, lang) for s in services])
    ax.invert_yaxis()
    _value_axis(ax, "x", unit, lang)
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(axis="x", **GRID)
    ax.set_title(_wrap(f"{names[indicator]} · {group_label_for(group_by, lang)}", 40), loc="left", fontsize=10)
    fig.tight_layout()
    return fig


def period_lines(rows: pd.DataFrame, names: dict[str, str], units: dict[str, str], reform: str | None,
                 lang: str, columns: int = 2):
    """One panel per indicator (one line each): its value over periods with 95% intervals
    (error bars), and the first reform period as a dotted vertical line; rate axes from 0;
    a suppressed period is labelled as such (an incomplete one is left blank)."""
    indicators = list(dict.fromkeys(rows["indicator"]))
    periods = sorted(set(rows["period"]) | ({reform} if reform else set()))
    if not indicators:
        return None
    columns = min(columns, len(indicators))
    panel_rows = int(np.ceil(len(indicators) / columns))
    fig = _figure(MAX_WIDTH if columns > 1 else 4.8, 2.5 * panel_rows + 0.3)
    x_of = {p: k for k, p in enumerate(periods)}
    for k, ind in enumerate(indicators):
        ax = fig.add_subplot(panel_rows, columns, k + 1)
        part = rows[rows["indicator"] == ind].sort_values("period")
        x = part["period"].map(x_of).to_numpy()
        value = part["value"].to_numpy(dtype=float)
        err = _errors(value, part["ci_low"].to_numpy(dtype=float), part["ci_high"].to_numpy(dtype=float))
        ax.errorbar(x, value, yerr=err, fmt="-o", color=DOT, ecolor=DOT, elinewidth=1, capsize=2,
                    markersize=3.5, linewidth=1.3)
        if reform:
            ax.axvline(x_of[reform] - 0.5, color=INK, linestyle=":", linewidth=1)
        _period_ticks(ax, periods, MAX_WIDTH / columns - 0.9)
        ax.set_title(_wrap(names[ind], 20), fontsize=9, loc="left")
        _value_axis(ax, "y", units[ind], lang)
        for xx in x[_suppressed(part)]:
            _mark_suppressed(ax, xx, 0.03, lang, rotation=90, ha="center", va="bottom",
                             transform=ax.get_xaxis_transform())
        ax.grid(axis="y", **GRID)
    fig.tight_layout()
    return fig


def event_study_chart(frame: pd.DataFrame, title: str, xlabel: str, ylabel: str, scale: float = 1.0):
    """Effects by periods since the reform with 95% intervals (``frame``: event_time,
    estimate, ci_low, ci_high; multiplied by ``scale``, e.g. 100 for percentage points), a
    dashed zero line and a dotted line where the reform starts. None without rows."""
    if frame.empty:
        return None
    fig = _figure(MAX_WIDTH, 3.4)
    ax = fig.add_subplot()
    x = frame["event_time"].to_numpy(dtype=float)
    y = frame["estimate"].to_numpy(dtype=float) * scale
    low, high = frame["ci_low"].to_numpy(dtype=float) * scale, frame["ci_high"].to_numpy(dtype=float) * scale
    after = x >= 0
    for mask, color in ((~after, "#777777"), (after, DOT)):
        if mask.any():
            ax.errorbar(x[mask], y[mask], yerr=[np.maximum(y[mask] - low[mask], 0), np.maximum(high[mask] - y[mask], 0)],
                        fmt="o", color=color, ecolor=color, elinewidth=1.2, capsize=3, markersize=5)
    ax.axhline(0, color=INK, linestyle="--", linewidth=0.8)
    ax.axvline(-0.5, color=INK, linestyle=":", linewidth=1)
    ax.set_xticks(x.astype(int), [str(int(v)) for v in x])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", **GRID)
    ax.set_title(_wrap(title, 34), loc="left", fontsize=10)
    fig.tight_layout()
    return fig


def group_label_for(group_by: str, lang: str) -> str:
    from .text import group_label

    return group_label(group_by, "", lang)


def _palette(n: int) -> list[str]:
    """``n`` categorical colours from the Okabe-Ito palette (colour-blind safe), cycled past 8."""
    return [OKABE_ITO[i % len(OKABE_ITO)] for i in range(n)]


#: Okabe-Ito colours light enough for dark interval lines drawn over a bar.
BAR_COLORS = (OKABE_ITO[5], OKABE_ITO[1], OKABE_ITO[2], OKABE_ITO[4], OKABE_ITO[6])


def _bar_palette(n: int) -> list[str]:
    return [BAR_COLORS[i % len(BAR_COLORS)] for i in range(n)]


def _wrap(text: str, width: int) -> str:
    """Break a long title at ``width`` Chinese characters (Latin letters count half:
    Chinese has no spaces, so it is cut by characters; other text at spaces)."""
    import textwrap

    if " " in text and not any("\u4e00" <= ch <= "\u9fff" for ch in text):
        return "\n".join(textwrap.wrap(text, width=2 * width))
    if len(text) <= width:
        return text
    return "\n".join(text[i:i + width] for i in range(0, len(text), width))


# -- the fairness part ------------------------------------------------------------------------

SECTOR_COLORS = {"government": OKABE_ITO[5], "charity": OKABE_ITO[1], "any": OKABE_ITO[2]}


def quintile_bars(rows: pd.DataFrame, series: dict[str, tuple[str, str]], quintiles: dict[str, str], lang: str,
                  title: str, ylabel: str, reference: float | None = None):
    """Grouped bars by income quintile (Q1 poorest .. Q5), one bar per series with its 95%
    interval; a suppressed bar is labelled as such, one not computed marked "—". ``rows`` has
    indicator, group, value, ci_low, ci_high (and suppressed); ``series`` maps indicator ids
    to (sector, label) in bar order; ``reference`` draws a dashed horizontal line (e.g. 20%:
    an equal split). The axis starts at 0. None without data."""
    rows = rows[rows["indicator"].isin(list(series))]
    if rows.empty or rows["value"].notna().sum() == 0:
        return None
    order = list(quintiles)
    fig = _figure(MAX_WIDTH, 4.2)
    ax = fig.add_subplot()
    width = 0.8 / len(series)
    x = np.arange(len(order))
    top = 0.0
    for k, (ind, (sector, label)) in enumerate(series.items()):
        part = rows[rows["indicator"] == ind].set_index("group").reindex(order)
        value = part["value"].to_numpy(dtype=float)
        low, high = part["ci_low"].to_numpy(dtype=float), part["ci_high"].to_numpy(dtype=float)
        pos = x - 0.4 + width * (k + 0.5)
        ax.bar(pos, np.nan_to_num(value), width=width * 0.92, yerr=_errors(value, low, high), label=label,
               color=SECTOR_COLORS.get(sector, "#999999"),
               error_kw={"elinewidth": 0.9, "ecolor": INK, "capsize": 2})
        hidden = _suppressed(part)
        for p, v, h in zip(pos, value, hidden):
            if h:
                _mark_suppressed(ax, p, 0.01, lang, rotation=90, ha="center", va="bottom",
                                 transform=ax.get_xaxis_transform())
            elif not np.isfinite(v):
                ax.text(p, 0, "—", ha="center", va="bottom", fontsize=MIN_FONT, color=MUTED)
        top = max(top, np.nanmax(np.where(np.isfinite(high), high, value)) if np.isfinite(value).any() else 0)
    if reference is not None:
        ax.axhline(reference, color=INK, linestyle="--", linewidth=0.9)
    ax.set_xticks(x, [quintiles[q] for q in order])
    ax.set_ylim(0, max(top * 1.08, (reference or 0) * 1.15, 0.05))
    _value_axis(ax, "y", "rate", lang, label=ylabel)
    ax.set_xlabel(t("quintile_axis", lang))
    ax.grid(axis="y", **GRID)
    ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=len(series))
    ax.set_title(title, loc="left", fontsize=11)
    fig.tight_layout()
    return fig


def concentration_curve_chart(curves: pd.DataFrame, sectors: dict[str, str], lang: str, title: str):
    """Concentration curves (cumulative share of aid yuan against cumulative share of persons,
    poorest first), one line per sector in ``sectors`` (sector -> label), with the 45° line.
    ``curves`` has sector, population_share, cumulative_share. None when no curve is published."""
    curves = curves[curves["sector"].isin(list(sectors)) & curves["cumulative_share"].notna()]
    if curves.empty:
        return None
    fig = _figure(5.8, 5.4)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="#888888", linestyle="--", linewidth=1, label=t("equality_line", lang))
    for sector, label in sectors.items():
        part = curves[curves["sector"] == sector].sort_values("population_share")
        if part.empty:
            continue
        ax.plot(part["population_share"], part["cumulative_share"], marker="o", markersize=2.8, linewidth=1.6,
                color={"government": OKABE_ITO[0]}.get(sector, SECTOR_COLORS.get(sector, "#888888")), label=label)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_aspect("equal")
    _value_axis(ax, "x", "rate", lang, label=t("fair_curve_x", lang))
    _value_axis(ax, "y", "rate", lang, label=t("fair_curve_y", lang))
    ax.grid(color="#eeeeee", linewidth=0.6)
    ax.legend(frameon=False, loc="lower right")
    ax.set_title(title, loc="left", fontsize=11)
    fig.tight_layout()
    return fig


def gap_dots(frame: pd.DataFrame, lang: str, title: str, xlabel: str):
    """Dot-and-interval chart of differences to a reference group: one row per ``label``
    (indicator and group), the difference as a dot and its 95% interval as a line, 0 marked.
    Rates: ``difference``, ``ci_low``, ``ci_high`` as shares, shown in percentage points.
    Suppressed rows (``suppressed``, no difference) are listed and labelled as such. None
    when no row has a value."""
    if frame.empty or frame["difference"].notna().sum() == 0:
        return None
    labels = [_wrap(str(s), 22) for s in frame["label"]]
    n = len(frame)
    fig = _figure(MAX_WIDTH, 1.0 + 0.38 * n + 0.14 * sum(s.count("\n") for s in labels))
    ax = fig.add_subplot()
    y = np.arange(n)
    d = frame["difference"].to_numpy(dtype=float) * 100
    low, high = frame["ci_low"].to_numpy(dtype=float) * 100, frame["ci_high"].to_numpy(dtype=float) * 100
    colors = [_palette(len(OKABE_ITO))[k % len(OKABE_ITO)] for k in pd.factorize(frame["group"])[0]]
    err = _errors(d, low, high)
    for k in range(n):
        if np.isfinite(d[k]):
            ax.errorbar([d[k]], [y[k]], xerr=err[:, k:k + 1], **INTERVAL, color=colors[k], ecolor=colors[k],
                        markersize=5.5)
    finite = np.concatenate([v[np.isfinite(v)] for v in (d, low, high)] + [np.array([0.0])])
    span = max(float(np.abs(finite).max()), 1.0) * 1.15
    ax.axvline(0, color=INK, linewidth=0.9)
    hidden = (_flag(frame["suppressed"]) if "suppressed" in frame else np.ones(n, dtype=bool)) & ~np.isfinite(d)
    for k in np.flatnonzero(hidden):
        _mark_suppressed(ax, span * 0.03, y[k], lang)
    ax.set_xlim(-span, span)
    ax.set_yticks(y, labels)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", **GRID)
    ax.set_title(title, loc="left", fontsize=11)
    fig.tight_layout()
    return fig


def ranked_dots(league: pd.DataFrame, parent: dict, labels: dict, names: dict[str, str], units: dict[str, str],
                lang: str, columns: int = 2):
    """Sub-regions ranked by value, one panel per indicator: the value as a dot, its 95%
    interval as a line, the parent region's value (``parent``: indicator -> value) as a
    dashed reference line (explained in the note under the chart). ``league`` is
    :func:`evalkit.report.league.league_table` (rows in rank order); suppressed sub-regions
    come last, labelled as such; those without any unit are left out (list them under the
    chart: :func:`evalkit.report.league.not_shown` with ``drawn=DRAWN``). Rate axes start at
    0 and are in percent. None when no sub-region has a value."""
    shown = league[league["status"].isin(DRAWN)]
    indicators = list(dict.fromkeys(shown.loc[shown["status"] == "value", "indicator"]))
    if not indicators:
        return None
    shown = shown[shown["indicator"].isin(indicators)]
    columns = min(columns, len(indicators))
    panel_rows = int(np.ceil(len(indicators) / columns))
    most = int(shown.groupby("indicator").size().max())
    fig = _figure(MAX_WIDTH if columns > 1 else 4.8, (0.95 + 0.28 * most) * panel_rows + 0.4)
    for k, ind in enumerate(indicators):
        ax = fig.add_subplot(panel_rows, columns, k + 1)
        part = shown[shown["indicator"] == ind]
        y = np.arange(len(part))
        value = part["value"].to_numpy(dtype=float)
        low, high = part["ci_low"].to_numpy(dtype=float), part["ci_high"].to_numpy(dtype=float)
        ax.errorbar(value, y, xerr=_errors(value, low, high), **INTERVAL, color=DOT, ecolor=DOT, markersize=5)
        reference = parent.get(ind)
        if reference is not None and not pd.isna(reference):
            ax.axvline(reference, color="#666666", linestyle="--", linewidth=1)
        ax.set_yticks(y, [_wrap(str(labels.get(r, r)), 12) for r in part["region"]])
        ax.set_ylim(len(part) - 0.5, -0.5)
        ax.set_title(_wrap(names[ind], 20), fontsize=9, loc="left")
        if units[ind] == "rate":
            finite = np.concatenate([v[np.isfinite(v)] for v in (value, high)] + [np.array([reference or 0.0])])
            ax.set_xlim(0, min(1.0, max(float(np.nanmax(finite)) * 1.1, 0.05)))
        _value_axis(ax, "x", units[ind], lang, zero=False)
        for yy in y[(part["status"] == "suppressed").to_numpy()]:
            _mark_suppressed(ax, 0.02, yy, lang, transform=ax.get_yaxis_transform())
        ax.grid(axis="x", **GRID)
    fig.tight_layout()
    return fig


#: League statuses :func:`ranked_dots` draws (suppressed ones as a label).
DRAWN = ("value", "suppressed")
