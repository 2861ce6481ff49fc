"""Ingest errors.

IngestError            a file cannot be read as the format it claims; names file, row, column, and a tip
└── MappingError       a column-mapping file is wrong
"""

from __future__ import annotations


class IngestError(Exception):
    """Bad input: one line naming the file, row and column, what is wrong and what to try."""

    def __init__(
        self,
        path: str,
        message: str,
        *,
        row: int | None = None,
        column: str | None = None,
        tip: str | None = None,
    ) -> None:
        self.path = path
        self.message = message
        self.row = row
        self.column = column
        self.tip = tip
        super().__init__(self.render())

    def render(self) -> str:
        """The one-line description shown to users."""
        where = [self.path]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        message = self.message
        if message.startswith(("is ", "has ", "expands ")):  # messages about the file as a whole
            message = "the file " + message
        text = f"{', '.join(where)}: {message}"
        if self.tip:
            text += f" — {self.tip}"
        return text


class MappingError(IngestError):
    """A column-mapping file is missing, malformed, or names a field or column that does not exist."""
