"""``wardwatch playbook`` and ``wardwatch incident`` (issue 9)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Incident playbooks run on live data (WannaCry-like outbreak, vendor account, recall).",
                  no_args_is_help=True)  # fmt: skip
incident_app = typer.Typer(help="Incident records: what was done, by whom, when.", no_args_is_help=True)
