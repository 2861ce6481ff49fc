"""``wardwatch governance`` and ``wardwatch training`` (issue 9)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Framework coverage and gaps (NIST CSF 2.0, HICP, IEC 80001-1, Joint Commission).",
                  no_args_is_help=True)  # fmt: skip
training_app = typer.Typer(help="Cybersecurity training records per person and role.", no_args_is_help=True)
