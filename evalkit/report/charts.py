"""Charts for reports: matplotlib with a CJK font, rendered to PNG bytes.

:func:`setup_fonts` finds Noto Sans CJK SC (registering the font file when matplotlib's
font cache predates the font's installation) and :func:`to_png` turns matplotlib's
"Glyph ... missing" warnings into :class:`MissingGlyphError`, so a report never shows
tofu boxes: it fails instead.
"""
from __future__ import annotations

import base64
import glob
import html
import io
import re
import warnings

import numpy as np
import pandas as pd

from evalkit.errors import EvalkitError

from .text import service_label, status_label, t

FONT = "Noto Sans CJK SC"
FONT_FILES = ("NotoSansCJK-Regular.ttc", "NotoSansCJKsc-Regular.otf", "NotoSansCJK-Bold.ttc")
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts",
             "/Library/Fonts", "C:/Windows/Fonts")
DPI = 100
STATUS_COLORS = {"green": "#2e7d32", "amber": "#f2a900", "red": "#c62828",
                 "no_target": "#d9d9d9", "suppressed": "#eeeeee", "no_data": "#eeeeee", "descriptive": "#d9d9d9",
                 "incomplete": "#c9d7e8"}
INK = "#222222"
_GLYPH = re.compile(r"Glyph .* missing")


class FontNotFoundError(EvalkitError, RuntimeError):
    """No CJK font for Chinese labels."""


class MissingGlyphError(EvalkitError, RuntimeError):
    """A chart would show a character the fonts cannot draw (a tofu box)."""


def setup_fonts() -> str:
    """Make matplotlib draw Chinese with Noto Sans CJK SC; return the font family name.

    Idempotent. Raises :class:`FontNotFoundError` naming the fix when the font is absent.
    """
    import matplotlib
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
        "axes.titlesize": 11,
        "axes.labelsize": 9,
        "xtick.labelsize": 8,
        "ytick.labelsize": 8,
        "legend.fontsize": 8,
        "axes.axisbelow": True,  # grid lines behind bars
        "svg.hashsalt": "evalkit",
    })
    return FONT


def _expand(root: str) -> str:
    import os

    return os.path.expanduser(root)


def _registered(font_manager, family: str) -> bool:
    return any(f.name == family for f in font_manager.fontManager.ttflist)


def to_png(fig) -> bytes:
    """The figure as PNG bytes (same input, same bytes); closes the figure.

    Raises :class:`MissingGlyphError` when a label has a character no font can draw.
    """
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # Layout is done by each chart (tight_layout): bbox_inches="tight" would draw twice.
            fig.savefig(buf, format="png", metadata={"Software": None})
    finally:
        plt.close(fig)
    missing = sorted({str(w.message) for w in caught if _GLYPH.search(str(w.message))})
    if missing:
        raise MissingGlyphError("; ".join(missing))
    for w in caught:  # let other warnings through
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return buf.getvalue()


def figure_html(fig, alt: str, caption: str = "") -> str:
    """An HTML ``<figure>`` with the chart embedded as a data URI (no external file)."""
    data = base64.b64encode(to_png(fig)).decode("ascii")
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return f'<figure class="chart"><img alt="{html.escape(alt, quote=True)}" src="data:image/png;base64,{data}"/>{cap}</figure>'


def _figure(width: float, height: float):
    import matplotlib.pyplot as plt

    setup_fonts()
    return plt.figure(figsize=(width, height))


# -- charts ------------------------------------------------------------------------------

def rag_matrix(card: pd.DataFrame, names: dict[str, str], lang: str):
    """Indicators split by service type (rows) by service type (columns), each cell
    coloured by status; ``names`` maps indicator ids to display names. None when no
    indicator is split by service type (see :func:`status_tiles`)."""
    from matplotlib.patches import Patch, Rectangle

    from .text import format_value

    card = card[card["service_type"] != ""]
    if card.empty:
        return None
    indicators = list(dict.fromkeys(card["indicator"]))
    services = list(dict.fromkeys(card["service_type"]))
    fig = _figure(1.2 + 0.72 * len(services) + 2.2, 1.0 + 0.42 * len(indicators))
    ax = fig.add_subplot()
    for _, r in card.iterrows():
        x, y = services.index(r["service_type"]), indicators.index(r["indicator"])
        ax.add_patch(Rectangle((x, y), 0.96, 0.9, color=STATUS_COLORS[r["status"]], linewidth=0))
        dark = r["status"] in ("green", "red")
        ax.text(x + 0.48, y + 0.45, format_value(r["value"], r["unit"], lang), ha="center", va="center",
                fontsize=6.5, color="white" if dark else INK)
    ax.set_xlim(0, len(services))
    ax.set_ylim(len(indicators), 0)
    ax.set_xticks(np.arange(len(services)) + 0.48, [service_label(s, lang) for s in services],
                  rotation=45, ha="right")
    ax.set_yticks(np.arange(len(indicators)) + 0.45, [names[i] for i in indicators])
    ax.tick_params(length=0)
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)
    shown = [s for s in ("green", "amber", "red", "no_target", "descriptive", "incomplete", "suppressed", "no_data")
             if s in set(card["status"])]
    ax.legend(handles=[Patch(color=STATUS_COLORS[s], label=status_label(s, lang)) for s in shown],
              loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    ax.set_title(t("rag_matrix", lang), loc="left")
    fig.tight_layout(pad=0.6)
    return fig


def status_tiles(card: pd.DataFrame, names: dict[str, str], lang: str, columns: int = 4):
    """One tile per indicator not split by service type: name, value and target, coloured by status."""
    from matplotlib.patches import FancyBboxPatch

    from .text import format_value

    rows = card[card["service_type"] == ""]
    if rows.empty:
        return None
    n_rows = int(np.ceil(len(rows) / columns))
    fig = _figure(2.6 * columns, 1.05 * n_rows + 0.1)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, columns)
    ax.set_ylim(n_rows, 0)
    ax.axis("off")
    target_word = "目标" if lang == "zh" else "target"
    for k, r in enumerate(rows.itertuples()):
        x, y = k % columns, k // columns
        color = STATUS_COLORS[r.status]
        dark = r.status in ("green", "red")
        ink = "white" if dark else INK
        ax.add_patch(FancyBboxPatch((x + 0.05, y + 0.07), 0.9, 0.86, boxstyle="round,pad=0,rounding_size=0.04",
                                    color=color, linewidth=0))
        ax.text(x + 0.1, y + 0.2, _wrap(names[r.indicator], 13), ha="left", va="top",
                fontsize=8, color=ink, linespacing=1.15)
        ax.text(x + 0.1, y + 0.83, format_value(r.value, r.unit, lang), ha="left", va="bottom", fontsize=14,
                color=ink, fontweight="bold")
        if not pd.isna(r.target):
            ax.text(x + 0.9, y + 0.83, f"{target_word} {format_value(r.target, r.unit, lang)}", ha="right",
                    va="bottom", fontsize=7.5, color=ink)
    return fig


def trend_panels(trend: pd.DataFrame, card: pd.DataFrame, names: dict[str, str], lang: str, columns: int | None = None):
    """One panel per indicator with a target: its value over periods (one line per service
    type), and the target as a dashed line.

    Laid out on a fixed grid in inches (no tight_layout: with dozens of panels measuring
    every label costs more than drawing them); period labels on the bottom row only.
    """
    from matplotlib.ticker import PercentFormatter

    with_target = card.dropna(subset=["target"])
    indicators = list(dict.fromkeys(with_target["indicator"]))
    if not indicators:
        return None
    columns = columns or (3 if len(indicators) <= 9 else 4)
    rows = int(np.ceil(len(indicators) / columns))
    services = [s for s in dict.fromkeys(trend["service_type"]) if s in set(with_target["service_type"])]
    palette = _palette(len(services))
    periods = sorted(set(trend["period"]))
    legend_rows = int(np.ceil(len(services) / 6))
    # inches: suptitle, per row (panel title + plot), period labels, legend
    head, title_h, plot_h, foot, legend_h = 0.45, 0.42, 1.35, 0.6, 0.22 * legend_rows + 0.1
    width, left, gap = 10.0, 0.55, 0.55
    height = head + rows * (title_h + plot_h) + foot + legend_h
    panel_w = (width - left - 0.15 - gap * (columns - 1)) / columns
    fig = _figure(width, height)
    axes = []
    wide = trend.pivot_table(index=["indicator", "service_type"], columns="period", values="value",
                             aggfunc="first").reindex(columns=periods)
    series = {key: values.to_numpy(dtype=float) for key, values in wide.iterrows()}
    for k, ind in enumerate(indicators):
        r, c = divmod(k, columns)
        bottom = height - head - (r + 1) * (title_h + plot_h)
        ax = fig.add_axes((( left + c * (panel_w + gap)) / width, bottom / height, panel_w / width, plot_h / height))
        axes.append(ax)
        meta = with_target[with_target["indicator"] == ind].iloc[0]
        for s, color in zip(services, palette):
            line = series.get((ind, s))
            if line is not None and np.isfinite(line).any():
                ax.plot(range(len(periods)), line, marker="o", markersize=2.5, linewidth=1.1,
                        color=INK if s == "" else color, label=service_label(s, lang))
        ax.axhline(meta["target"], color=STATUS_COLORS["red"], linestyle="--", linewidth=1)
        ax.set_title(_wrap(names[ind], 18 if columns == 3 else 13),
                     fontsize=8.5, loc="left")
        last_in_column = k + columns >= len(indicators)
        ax.set_xticks(range(len(periods)), periods if last_in_column else [], rotation=45, ha="right")
        if meta["unit"] == "rate":
            ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.grid(axis="y", color="#e5e5e5", linewidth=0.6)
    handles, labels = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    if labels:
        fig.legend(handles, labels, loc="lower center", ncol=min(6, len(labels)), frameon=False,
                   bbox_to_anchor=(0.5, 0.0))
    fig.suptitle(t("trend_title", lang), x=0.01, y=1 - 0.12 / height, ha="left", va="top", fontsize=11)
    return fig


def bars(rows: pd.DataFrame, label_column: str, labels: dict, names: dict[str, str], units: dict[str, str],
         targets: dict, lang: str, title: str = "", columns: int = 2):
    """Horizontal bars with 95% intervals, one panel per indicator, target as a dashed line.

    ``rows`` has indicator, value, ci_low, ci_high and ``label_column`` (service type or
    region); ``labels`` maps that column's values to display names in bar order.
    """
    from matplotlib.ticker import PercentFormatter

    indicators = list(dict.fromkeys(rows["indicator"]))
    if not indicators:
        return None
    columns = min(columns, len(indicators))
    panel_rows = int(np.ceil(len(indicators) / columns))
    fig = _figure(4.6 * columns, (0.5 + 0.26 * len(labels)) * panel_rows + 0.5)
    order = list(labels)
    for k, ind in enumerate(indicators):
        ax = fig.add_subplot(panel_rows, columns, k + 1)
        part = rows[rows["indicator"] == ind].set_index(label_column).reindex(order)
        y = np.arange(len(order))
        value = part["value"].to_numpy(dtype=float)
        err = np.vstack([value - part["ci_low"].to_numpy(dtype=float), part["ci_high"].to_numpy(dtype=float) - value])
        err = np.where(np.isfinite(err), np.maximum(err, 0), 0)
        ax.barh(y, np.nan_to_num(value), xerr=err, color="#4c78a8", height=0.7,
                error_kw={"elinewidth": 0.8, "ecolor": "#555555", "capsize": 1.5})
        target = targets.get(ind)
        if target is not None and not pd.isna(target):
            ax.axvline(target, color=STATUS_COLORS["red"], linestyle="--", linewidth=1)
        ax.set_yticks(y, [labels[v] for v in order])
        ax.invert_yaxis()
        ax.set_title(_wrap(names[ind], 22), fontsize=9, loc="left")
        if units[ind] == "rate":
            ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.grid(axis="x", color="#e5e5e5", linewidth=0.6)
    if title:
        fig.suptitle(title, x=0.01, ha="left", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.97) if title else None)
    return fig


def group_bars(rows: pd.DataFrame, indicator: str, group_by: str, groups: dict, names: dict[str, str],
               target, lang: str, unit: str = "rate"):
    """One indicator by service type, a bar per group side by side (e.g. local vs migrant)."""
    from matplotlib.ticker import PercentFormatter

    services = [s for s in dict.fromkeys(rows["service_type"])]
    if not services:
        return None
    fig = _figure(7.5, 0.6 + 0.32 * len(services) * max(1, len(groups)) / 1.6)
    ax = fig.add_subplot()
    width = 0.8 / max(1, len(groups))
    y = np.arange(len(services))
    for k, ((group, label), color) in enumerate(zip(groups.items(), _palette(len(groups)))):
        values = rows[rows["group"] == group].set_index("service_type")["value"].reindex(services)
        ax.barh(y + k * width, np.nan_to_num(values.to_numpy(dtype=float)), height=width, color=color, label=label)
    if target is not None and not pd.isna(target):
        ax.axvline(target, color=STATUS_COLORS["red"], linestyle="--", linewidth=1)
    ax.set_yticks(y + width * (len(groups) - 1) / 2, [service_label(s, lang) for s in services])
    ax.invert_yaxis()
    if unit == "rate":
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.legend(frameon=False, loc="lower right")
    ax.grid(axis="x", color="#e5e5e5", linewidth=0.6)
    ax.set_title(f"{names[indicator]} · {group_label_for(group_by, lang)}", loc="left", fontsize=10)
    fig.tight_layout()
    return fig


def period_lines(rows: pd.DataFrame, names: dict[str, str], units: dict[str, str], reform: str | None,
                 lang: str, columns: int = 2):
    """One panel per indicator: its value over periods with 95% intervals, and the first
    reform period as a dotted vertical line."""
    from matplotlib.ticker import PercentFormatter

    indicators = list(dict.fromkeys(rows["indicator"]))
    periods = sorted(set(rows["period"]) | ({reform} if reform else set()))
    if not indicators:
        return None
    columns = min(columns, len(indicators))
    panel_rows = int(np.ceil(len(indicators) / columns))
    fig = _figure(4.6 * columns, 2.3 * panel_rows + 0.3)
    x_of = {p: k for k, p in enumerate(periods)}
    for k, ind in enumerate(indicators):
        ax = fig.add_subplot(panel_rows, columns, k + 1)
        part = rows[rows["indicator"] == ind].sort_values("period")
        x = part["period"].map(x_of).to_numpy()
        ax.fill_between(x, part["ci_low"].to_numpy(dtype=float), part["ci_high"].to_numpy(dtype=float),
                        color="#4c78a8", alpha=0.18, linewidth=0)
        ax.plot(x, part["value"].to_numpy(dtype=float), marker="o", markersize=3, color="#4c78a8", linewidth=1.3)
        if reform:
            ax.axvline(x_of[reform] - 0.5, color=INK, linestyle=":", linewidth=1)
        ax.set_xticks(range(len(periods)), periods, rotation=45, ha="right", fontsize=7.5)
        ax.set_title(_wrap(names[ind], 22), fontsize=9, loc="left")
        if units[ind] == "rate":
            ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.grid(axis="y", color="#e5e5e5", linewidth=0.6)
    fig.tight_layout()
    return fig


def event_study_chart(frame: pd.DataFrame, title: str, xlabel: str, ylabel: str, scale: float = 1.0):
    """Effects by periods since the reform with 95% intervals (``frame``: event_time,
    estimate, ci_low, ci_high; multiplied by ``scale``, e.g. 100 for percentage points), a
    dashed zero line and a dotted line where the reform starts. None without rows."""
    if frame.empty:
        return None
    fig = _figure(7.5, 3.4)
    ax = fig.add_subplot()
    x = frame["event_time"].to_numpy(dtype=float)
    y = frame["estimate"].to_numpy(dtype=float) * scale
    low, high = frame["ci_low"].to_numpy(dtype=float) * scale, frame["ci_high"].to_numpy(dtype=float) * scale
    after = x >= 0
    for mask, color in ((~after, "#888888"), (after, "#4c78a8")):
        if mask.any():
            ax.errorbar(x[mask], y[mask], yerr=[np.maximum(y[mask] - low[mask], 0), np.maximum(high[mask] - y[mask], 0)],
                        fmt="o", color=color, ecolor=color, elinewidth=1.2, capsize=3, markersize=5)
    ax.axhline(0, color=INK, linestyle="--", linewidth=0.8)
    ax.axvline(-0.5, color=INK, linestyle=":", linewidth=1)
    ax.set_xticks(x.astype(int), [str(int(v)) for v in x])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", color="#e5e5e5", linewidth=0.6)
    ax.set_title(_wrap(title, 34), loc="left", fontsize=10)
    fig.tight_layout()
    return fig


def group_label_for(group_by: str, lang: str) -> str:
    from .text import group_label

    return group_label(group_by, "", lang)


def _palette(n: int) -> list[str]:
    import matplotlib

    cmap = matplotlib.colormaps["tab20" if n > 10 else "tab10"]
    return [matplotlib.colors.to_hex(cmap(i % cmap.N)) for i in range(n)]


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

SECTOR_COLORS = {"government": "#4c78a8", "charity": "#e45756", "any": "#72b7b2"}


def quintile_bars(rows: pd.DataFrame, series: dict[str, tuple[str, str]], quintiles: dict[str, str], lang: str,
                  title: str, ylabel: str, reference: float | None = None):
    """Grouped bars by income quintile (Q1 poorest .. Q5), one bar per series with its 95%
    interval; a missing (suppressed) bar is marked "—". ``rows`` has indicator, group,
    value, ci_low, ci_high; ``series`` maps indicator ids to (sector, label) in bar order;
    ``reference`` draws a dashed horizontal line (e.g. 20%: an equal split). None without data."""
    from matplotlib.ticker import PercentFormatter

    rows = rows[rows["indicator"].isin(list(series))]
    if rows.empty or rows["value"].notna().sum() == 0:
        return None
    order = list(quintiles)
    fig = _figure(7.5, 4.0)
    ax = fig.add_subplot()
    width = 0.8 / len(series)
    x = np.arange(len(order))
    top = 0.0
    for k, (ind, (sector, label)) in enumerate(series.items()):
        part = rows[rows["indicator"] == ind].set_index("group").reindex(order)
        value = part["value"].to_numpy(dtype=float)
        low, high = part["ci_low"].to_numpy(dtype=float), part["ci_high"].to_numpy(dtype=float)
        err = np.vstack([value - low, high - value])
        err = np.where(np.isfinite(err), np.maximum(err, 0), 0)
        pos = x - 0.4 + width * (k + 0.5)
        ax.bar(pos, np.nan_to_num(value), width=width * 0.92, yerr=err, label=label,
               color=SECTOR_COLORS.get(sector, "#888888"),
               error_kw={"elinewidth": 0.8, "ecolor": "#444444", "capsize": 2})
        for p, v in zip(pos, value):
            if not np.isfinite(v):
                ax.text(p, 0, "—", ha="center", va="bottom", fontsize=8, color="#777777")
        top = max(top, np.nanmax(np.where(np.isfinite(high), high, value)) if np.isfinite(value).any() else 0)
    if reference is not None:
        ax.axhline(reference, color=INK, linestyle="--", linewidth=0.9)
    ax.set_xticks(x, [quintiles[q] for q in order])
    ax.set_ylim(0, max(top * 1.08, (reference or 0) * 1.15, 0.05))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylabel(ylabel)
    ax.set_xlabel(t("quintile_axis", lang))
    ax.grid(axis="y", color="#e5e5e5", linewidth=0.6)
    ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=len(series))
    ax.set_title(title, loc="left", fontsize=11)
    fig.tight_layout()
    return fig


def concentration_curve_chart(curves: pd.DataFrame, sectors: dict[str, str], lang: str, title: str):
    """Concentration curves (cumulative share of aid yuan against cumulative share of persons,
    poorest first), one line per sector in ``sectors`` (sector -> label), with the 45° line.
    ``curves`` has sector, population_share, cumulative_share. None when no curve is published."""
    from matplotlib.ticker import PercentFormatter

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
                color=SECTOR_COLORS.get(sector, "#888888"), label=label)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_aspect("equal")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel(t("fair_curve_x", lang))
    ax.set_ylabel(t("fair_curve_y", lang))
    ax.grid(color="#eeeeee", linewidth=0.6)
    ax.legend(frameon=False, loc="lower right")
    ax.set_title(title, loc="left", fontsize=11)
    fig.tight_layout()
    return fig


def gap_dots(frame: pd.DataFrame, lang: str, title: str, xlabel: str):
    """Dot-and-interval chart of differences to a reference group: one row per ``label``
    (indicator and group), the difference as a dot and its 95% interval as a line, 0 marked.
    Rates: ``difference``, ``ci_low``, ``ci_high`` as shares, shown in percentage points.
    Rows without a value (suppressed) are listed, marked "too few to publish". None when no row has a value."""
    if frame.empty or frame["difference"].notna().sum() == 0:
        return None
    labels = [_wrap(str(s), 30) for s in frame["label"]]
    n = len(frame)
    fig = _figure(8.0, 0.9 + 0.38 * n + 0.12 * sum(s.count("\n") for s in labels))
    ax = fig.add_subplot()
    y = np.arange(n)
    d = frame["difference"].to_numpy(dtype=float) * 100
    low, high = frame["ci_low"].to_numpy(dtype=float) * 100, frame["ci_high"].to_numpy(dtype=float) * 100
    colors = [_palette(10)[k] for k in pd.factorize(frame["group"])[0]]
    for k in range(n):
        if np.isfinite(d[k]):
            if np.isfinite(low[k]) and np.isfinite(high[k]):
                ax.plot([low[k], high[k]], [y[k], y[k]], color=colors[k], linewidth=1.6)
            ax.plot([d[k]], [y[k]], "o", color=colors[k], markersize=5.5)
    finite = np.concatenate([v[np.isfinite(v)] for v in (d, low, high)] + [np.array([0.0])])
    span = max(float(np.abs(finite).max()), 1.0) * 1.15
    ax.axvline(0, color=INK, linewidth=0.9)
    for k in range(n):
        if not np.isfinite(d[k]):
            ax.text(span * 0.03, y[k], status_label("suppressed", lang), ha="left", va="center", fontsize=8,
                    color="#666666", bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
    ax.set_xlim(-span, span)
    ax.set_yticks(y, labels)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", color="#e5e5e5", linewidth=0.6)
    ax.set_title(title, loc="left", fontsize=11)
    fig.tight_layout()
    return fig


def ranked_dots(league: pd.DataFrame, parent: dict, labels: dict, names: dict[str, str], units: dict[str, str],
                lang: str, columns: int = 2):
    """Sub-regions ranked by value, one panel per indicator: the value as a dot, its 95%
    interval as a line, the parent region's value (``parent``: indicator -> value) as a
    dashed reference line (explained in the note under the chart). ``league`` is :func:`evalkit.report.league.league_table` (rows in
    rank order); sub-regions without a value are left out (list them under the chart:
    :func:`evalkit.report.league.not_shown`). Rate axes start at 0 and are in percent.
    None when no sub-region has a value."""
    from matplotlib.ticker import PercentFormatter

    shown = league[league["status"] == "value"]
    indicators = list(dict.fromkeys(shown["indicator"]))
    if not indicators:
        return None
    columns = min(columns, len(indicators))
    panel_rows = int(np.ceil(len(indicators) / columns))
    most = int(shown.groupby("indicator").size().max())
    fig = _figure(4.6 * columns, (0.75 + 0.28 * most) * panel_rows + 0.4)
    for k, ind in enumerate(indicators):
        ax = fig.add_subplot(panel_rows, columns, k + 1)
        part = shown[shown["indicator"] == ind]
        y = np.arange(len(part))
        value = part["value"].to_numpy(dtype=float)
        low, high = part["ci_low"].to_numpy(dtype=float), part["ci_high"].to_numpy(dtype=float)
        drawn = np.isfinite(low) & np.isfinite(high)
        ax.hlines(y[drawn], low[drawn], high[drawn], color="#4c78a8", linewidth=1.6)
        ax.plot(value, y, "o", color="#1f3b5c", markersize=5)
        reference = parent.get(ind)
        if reference is not None and not pd.isna(reference):
            ax.axvline(reference, color="#666666", linestyle="--", linewidth=1)
        ax.set_yticks(y, [_wrap(str(labels.get(r, r)), 14) for r in part["region"]])
        ax.set_ylim(len(part) - 0.5, -0.5)
        ax.set_title(_wrap(names[ind], 24), fontsize=9, loc="left")
        if units[ind] == "rate":
            finite = np.concatenate([v[np.isfinite(v)] for v in (value, high)] + [np.array([reference or 0.0])])
            ax.set_xlim(0, min(1.0, max(float(np.nanmax(finite)) * 1.1, 0.05)))
            # decimals as the ticks need: 2.5% is never shown as 2%
            ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=None))
        elif units[ind] in ("days", "yuan", "km", "index"):
            from .text import UNIT_LABELS

            ax.set_xlabel(UNIT_LABELS[units[ind]][lang], fontsize=8)
        ax.grid(axis="x", color="#e5e5e5", linewidth=0.6)
    fig.tight_layout()
    return fig
