"""``wardwatch remediation``: the remediation workflow (issue 9)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Remediation work items: triage, manufacturer validation, scheduling, mitigation, acceptance.",
                  no_args_is_help=True)  # fmt: skip
