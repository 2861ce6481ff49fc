"""``wardwatch users``: add, list, disable accounts and issue API tokens.

The CLI acts as the local operator (whoever can reach the database on the server), so it may administer users.
Passwords are read from a hidden prompt or, for scripts, from standard input (``--password-stdin``) — never
from the command line, where other users of the machine could read them in the process list.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import Any

import typer

from wardwatch.cli._context import UsageError, engine, run, stdout
from wardwatch.cli._output import print_json, print_table
from wardwatch.domain.permissions import SYSTEM, PermissionDenied, Role
from wardwatch.services.accounts import AccountError, add_user, create_token, disable_user, list_users, set_password

app = typer.Typer(help="Manage user accounts and API tokens.", no_args_is_help=True)

_ROLES = ", ".join(r.value for r in Role)


def _call(function: Any, *args: Any, **kwargs: Any) -> Any:
    """Run an account service; its refusals become one-line usage errors."""
    try:
        return function(*args, **kwargs)
    except (AccountError, PermissionDenied) as e:
        raise UsageError(str(e)) from None


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise UsageError("--password-stdin: standard input gave no password")
        return password
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@app.command("add")
def add(
    username: str = typer.Argument(..., help="Login name (lowercase letters, digits, . _ - @)."),
    role: str = typer.Option(..., "--role", help=f"One of: {_ROLES}."),
    unit: str | None = typer.Option(None, "--unit", help="A clinician's department: the devices they see."),
    display_name: str | None = typer.Option(None, "--name", help="Full name shown in the UI."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Create a local account (asks for the password)."""
    if role not in {r.value for r in Role}:  # before asking for a password that would be thrown away
        run(_refuse, f"role {role!r} is not one of: {_ROLES}")
    password = run(_read_password, password_stdin)
    user = run(_call, add_user, run(engine), SYSTEM, username, role, password, unit=unit, display_name=display_name)
    if as_json:
        print_json(user)
        return
    stdout.print(f"Created {user['username']} ({user['role']}{', unit ' + user['unit'] if user['unit'] else ''}).")


def _refuse(message: str) -> None:
    raise UsageError(message)


@app.command("password")
def password_(
    username: str = typer.Argument(..., help="The account."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
) -> None:
    """Set a new password: also unlocks a locked-out account and ends its sessions."""
    secret = run(_read_password, password_stdin)
    run(_call, set_password, run(engine), SYSTEM, username, secret)
    stdout.print(f"New password set for {username.strip().lower()}; the account is unlocked.")


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List accounts."""
    users = run(_call, list_users, run(engine), SYSTEM)
    if as_json:
        print_json({"users": users, "total": len(users)})
        return
    print_table(users, ["username", "display_name", "role", "unit", "disabled", "locked", "last_login_at"])


@app.command("disable")
def disable(
    username: str = typer.Argument(..., help="The account to disable."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Disable an account: it can no longer log in, and its sessions and tokens stop working."""
    user = run(_call, disable_user, run(engine), SYSTEM, username)
    if as_json:
        print_json(user)
        return
    stdout.print(f"Disabled {user['username']}; its sessions and tokens no longer work.")


@app.command("token")
def token(
    username: str = typer.Argument(..., help="The account the token acts for."),
    name: str = typer.Option("cli", "--name", help="What the token is for (shown in lists)."),
    scopes: str | None = typer.Option(
        None, "--scopes", help="Space- or comma-separated permissions, e.g. 'devices:read findings:read'."
    ),
    days: int | None = typer.Option(None, "--expires-days", min=1, help="Expire after this many days."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Issue an API token (printed once; only its hash is kept).  Use it as `Authorization: Bearer TOKEN`."""
    expires = timedelta(days=days) if days else None
    secret, info = run(_call, create_token, run(engine), SYSTEM, username, name, scopes=scopes, expires_in=expires)
    if as_json:
        print_json({**info, "token": secret})
        return
    stdout.print(f"Token for {info['user']} ({', '.join(info['scopes'])}) — shown once, keep it safe:")
    stdout.out(secret, highlight=False)
