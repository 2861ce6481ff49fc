"""Output formatters: one JSON document on stdout for ``--json``; Rich tables for people."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from rich.table import Table

from wardwatch.cli._context import stdout


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(document: Any) -> str:
    """The JSON text of a document (dates as ISO 8601)."""
    return json.dumps(document, default=_default, ensure_ascii=False, indent=2)


def print_json(document: Any) -> None:
    """Print one JSON document on stdout, without Rich markup processing."""
    stdout.out(dumps(document), highlight=False)


def cell(value: Any) -> str:
    """A value as table text; unknown shows as a dim dash."""
    if value is None:
        return "[dim]–[/]"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value).replace("[", r"\[")


def print_table(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], title: str | None = None) -> None:
    """Print rows as a table with the given columns."""
    table = Table(title=title, header_style="bold", show_lines=False)
    for column in columns:
        table.add_column(column.replace("_", " "))
    for row in rows:
        table.add_row(*(cell(row.get(c)) for c in columns))
    stdout.print(table)
