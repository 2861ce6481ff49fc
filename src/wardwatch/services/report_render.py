"""Reports as self-contained HTML (one file: inline CSS and SVG charts, no external asset) and as PDF.

The PDF is the same HTML laid out by WeasyPrint (print CSS: A4, page numbers, no page break inside a table
row).  WeasyPrint needs Debian's pango (``libpango-1.0-0``, ``libpangoft2-1.0-0``); when it cannot load,
:class:`ReportError` says so in one line.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from wardwatch import __version__
from wardwatch.services.report_charts import bar_chart, trend_chart

__all__ = ["FORMATS", "ReportError", "format_for", "render", "render_html", "render_pdf", "write_report"]

logger = logging.getLogger(__name__)

#: Output formats by file extension.
FORMATS = {".html": "html", ".htm": "html", ".pdf": "pdf"}

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True),
    auto_reload=False,
)


class ReportError(Exception):
    """A report could not be written (bad output path or format, PDF engine missing); the message says why."""


def _charts(report: dict[str, Any]) -> dict[str, str]:
    """The SVG charts of a report, by name (only those with data)."""
    charts: dict[str, str] = {}
    wanted: list[tuple[str, list[dict[str, Any]], str]] = []
    if report["name"] == "board":
        posture, vulns, network, risk = report["posture"], report["vulnerabilities"], report["network"], report["risk"]
        wanted = [
            ("criticality", posture["by_criticality"], "Devices by clinical criticality"),
            ("types", posture["by_type"], "Devices by type"),
            ("severity", vulns["by_severity"], "Open vulnerability findings by CVSS severity"),
            ("behaviours", network["behaviours"], "Devices per insecure behaviour seen on the network"),
            ("levels", risk["levels"], "Devices by risk level"),
            ("priorities", risk["priorities"], "Devices by SSVC priority"),
            ("sites", risk["sites"], "Mean risk score by site"),
        ]
        if len(risk["trend"]) >= 2:
            charts["trend"] = trend_chart(risk["trend"], "Risk score trend")
    else:
        audit = report["audit"]
        wanted = [
            ("actions", audit["by_action"], "Audit trail entries by action"),
            ("outcomes", audit["by_outcome"], "Audit trail entries by outcome"),
        ]
    for name, items, label in wanted:
        if items:
            charts[name] = bar_chart(items, label)
    return charts


def render_html(report: dict[str, Any]) -> str:
    """The report as one self-contained HTML document."""
    template = _templates.get_template(f"report_{report['name']}.html")
    return template.render(r=report, charts=_charts(report), version=__version__)


def render_pdf(report: dict[str, Any]) -> bytes:
    """The report as PDF (WeasyPrint); :class:`ReportError` when the PDF engine cannot load."""
    html = render_html(report)
    try:
        from weasyprint import HTML  # type: ignore[import-untyped]  # noqa: PLC0415 - slow import, only for PDF
    except OSError as e:  # pango missing: WeasyPrint raises OSError from cffi's dlopen
        raise ReportError(
            f"cannot make a PDF: WeasyPrint could not load pango ({e}); install libpango-1.0-0 and "
            "libpangoft2-1.0-0, or write .html instead"
        ) from e
    pdf: bytes = HTML(string=html).write_pdf()
    return pdf


def render(report: dict[str, Any], fmt: str) -> bytes:
    """The report in ``fmt`` (``html`` or ``pdf``) as bytes."""
    if fmt == "html":
        return render_html(report).encode("utf-8")
    if fmt == "pdf":
        return render_pdf(report)
    raise ReportError(f"unknown report format {fmt!r}; use html or pdf")


def format_for(path: Path) -> str:
    """The format named by ``path``'s extension; :class:`ReportError` for any other extension."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ReportError(f"--out {path}: the file name must end in .pdf or .html (got {path.suffix or 'none'!r})")
    return fmt


def write_report(report: dict[str, Any], path: Path) -> int:
    """Write the report to ``path`` (format from its extension) without leaving a half-written file; bytes."""
    fmt = format_for(path)
    if not path.parent.is_dir():
        raise ReportError(f"--out {path}: the folder {path.parent} does not exist")
    data = render(report, fmt)
    partial = path.with_name(path.name + ".partial")
    try:
        partial.write_bytes(data)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return len(data)
