"""What every command needs: settings, the engine, the consoles, and error handling with exit codes.

Exit codes (ARCHITECTURE "contracts"): 0 success, 1 findings over a ``--fail-on`` threshold, 2 bad input or
usage (one line on stderr naming the file/row/field and what to do), 3 internal error.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from wardwatch.ingest.errors import IngestError
from wardwatch.settings import Settings
from wardwatch.store.database import connect
from wardwatch.store.errors import StoreError

logger = logging.getLogger("wardwatch")

EXIT_OK, EXIT_FINDINGS, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3

# Piped output (a file, `less`, a CI log) is not squeezed to Rich's 80-column default: tables stay one row a line.
_PIPE_WIDTH = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 200
stdout = Console(highlight=False, soft_wrap=True, width=_PIPE_WIDTH)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)

T = TypeVar("T")


class UsageError(Exception):
    """A command was given something it can't use; the message says what to do."""


def settings() -> Settings:
    """The settings from the environment."""
    return Settings()


def engine() -> Engine:
    """An engine for the configured database."""
    return connect(settings().resolved_database_url)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print one line to stderr and exit."""
    stderr.print(f"[bold red]error:[/] {escape(message)}", markup=True, highlight=False)
    raise typer.Exit(code)


def _demo_hint(message: str) -> str:
    """When there is no database but ``wardwatch demo`` made one under this home: how to use it."""
    if not message.startswith("no Wardwatch database"):
        return ""
    demo = settings().home / "demo"
    if not (demo / "wardwatch.db").exists():
        return ""
    return f"; the demo's database is in {demo}: run `export WARDWATCH_HOME={demo}` to use it"


@contextmanager
def handled() -> Iterator[None]:
    """Turn expected errors into one line and an exit code; never show a traceback unless debugging."""
    try:
        yield
    except (IngestError, StoreError, UsageError, LookupError) as e:
        # KeyError quotes its message; take the message itself rather than strip quotes (which ate a closing one)
        message = e.args[0] if len(e.args) == 1 and isinstance(e.args[0], str) else str(e)
        fail(message + _demo_hint(message), EXIT_BAD_INPUT)
    except SQLAlchemyError as e:
        logger.debug("database error", exc_info=True)
        reason = str(getattr(e, "orig", e)).strip().splitlines()[0]
        fail(f"database error: {reason}; check WARDWATCH_DATABASE_URL", EXIT_INTERNAL)
    except (typer.Exit, typer.Abort, KeyboardInterrupt, SystemExit):
        raise
    except OSError as e:
        fail(f"{e.filename or ''}: {e.strerror}".lstrip(": "), EXIT_BAD_INPUT)
    except Exception as e:
        if os.environ.get("WARDWATCH_DEBUG"):
            raise
        logger.debug("internal error", exc_info=True)
        fail(
            f"internal error ({type(e).__name__}: {e}); please report it with the output of the same command "
            "run with WARDWATCH_DEBUG=1",
            EXIT_INTERNAL,
        )


def run(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call a service with error handling."""
    with handled():
        return function(*args, **kwargs)
    raise AssertionError("unreachable")  # pragma: no cover


def run_checked(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """:func:`run` for a service whose bad arguments raise ``ValueError`` (from the domain): a usage error, one line
    and exit 2, not a crash."""

    def guarded() -> T:
        try:
            return function(*args, **kwargs)
        except ValueError as e:
            raise UsageError(str(e)) from e

    return run(guarded)


def configure_logging(verbose: bool) -> None:
    """Log to stderr; ``--verbose`` shows debug messages."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
