"""Charts of the reports as SVG, drawn with matplotlib (no browser, no script, no external asset).

Text stays text (``svg.fonttype = none``) so a PDF of the report can be searched and read by a screen reader,
and the SVG is embedded in the HTML as is.  Only ``matplotlib.figure.Figure`` is used, never ``pyplot``: no
global state, safe in the server's threads.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
from matplotlib.figure import Figure

__all__ = ["bar_chart", "trend_chart"]

_INK = "#1f2937"
_BAR = "#2563eb"
_GRID = "#e5e7eb"


def _svg(figure: Figure, label: str) -> str:
    """The figure as an ``<img>`` holding the SVG as a data URI.

    An image rather than inline ``<svg>``: matplotlib gives every chart the same element ids, and its style
    attributes are not CSS WeasyPrint's HTML cascade accepts; as an image each chart is its own document (still
    vector in the PDF).  The report prints the same figures in a table beside each chart.
    """
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img class="chart" alt="{_escape(label)}" src="data:image/svg+xml;base64,{encoded}">'


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


def _figure(width: float, height: float) -> Figure:
    # The same settings every time (nothing else in the process draws with matplotlib), so setting them is safe
    # from any thread.
    matplotlib.rcParams["svg.fonttype"] = "none"
    matplotlib.rcParams["font.family"] = "DejaVu Sans"
    matplotlib.rcParams["font.size"] = 9
    return Figure(figsize=(width, height))


def bar_chart(items: Sequence[Mapping[str, Any]], label: str, *, width: float = 6.5) -> str:
    """A horizontal bar chart of ``items`` (``label``, ``value``), largest first as given, as an SVG element."""
    labels = [str(i["label"])[:40] for i in items][::-1]
    values = [float(i["value"]) for i in items][::-1]
    figure = _figure(width, 0.3 * max(len(items), 1) + 0.5)
    axes = figure.add_subplot()
    bars = axes.barh(labels, values, color=_BAR, height=0.65)
    axes.bar_label(bars, labels=[f"{v:,.0f}" if v == int(v) else f"{v:,.1f}" for v in values], padding=3,
                   color=_INK, fontsize=8)  # fmt: skip
    axes.set_xlim(0, (max(values) if values else 1) * 1.15 or 1)
    for side in ("top", "right", "bottom"):
        axes.spines[side].set_visible(False)
    axes.tick_params(axis="x", which="both", bottom=False, labelbottom=False)
    axes.tick_params(axis="y", colors=_INK, length=0)
    return _svg(figure, label)


def trend_chart(points: Sequence[Mapping[str, Any]], label: str, *, width: float = 6.5) -> str:
    """Mean and maximum risk score per day (``day``, ``mean_score``, ``max_score``), as an SVG element."""
    days = [p["day"] for p in points]
    figure = _figure(width, 2.4)
    axes = figure.add_subplot()
    axes.plot(days, [p["mean_score"] for p in points], marker="o", color=_BAR, label="mean score")
    axes.plot(days, [p["max_score"] for p in points], marker="o", color="#dc2626", linestyle="--", label="worst device")
    axes.set_ylim(0, 100)
    axes.set_ylabel("risk score (0–100)", color=_INK)
    axes.grid(axis="y", color=_GRID)
    axes.legend(frameon=False, loc="upper left")
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    figure.autofmt_xdate()
    return _svg(figure, label)
