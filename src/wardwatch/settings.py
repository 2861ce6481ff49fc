"""The one settings object.  Read from ``WARDWATCH_*`` environment variables; no globals elsewhere.

``WARDWATCH_HOME``          the data folder (default ``~/.local/share/wardwatch``).
``WARDWATCH_DATABASE_URL``  a SQLAlchemy URL; default is the SQLite file ``$WARDWATCH_HOME/wardwatch.db``.
                            PostgreSQL: ``postgresql+psycopg://user@host:5432/dbname``.

Scheduled report delivery by e-mail (``services.report_schedules``):

``WARDWATCH_SMTP_HOST``      the mail server (unset: schedules with recipients fail, saying so).
``WARDWATCH_SMTP_PORT``      its port (default 587, the submission port).
``WARDWATCH_SMTP_FROM``      the sender address of the reports.
``WARDWATCH_SMTP_STARTTLS``  ``true`` (default): refuse to send unless the server upgrades to TLS.
``WARDWATCH_SMTP_USERNAME``  log in as this user; the password is read from ``WARDWATCH_SMTP_PASSWORD`` when
                            mail is sent and is never stored (not in these settings, not in the database).
``WARDWATCH_SCHEDULE_TICK_SECONDS``  how often ``wardwatch serve`` looks for due schedules (default 60; 0: never).

Background jobs (``services.jobs``, docs/deploy.md):

``WARDWATCH_QUEUE``          ``inprocess`` (default): ``wardwatch serve`` runs jobs and schedule ticks itself;
                            ``postgres``: jobs go to a queue in the PostgreSQL database and ``wardwatch worker``
                            processes run them (and the schedule ticks); needs a PostgreSQL database URL.
``WARDWATCH_WORKER_STALLED_SECONDS``  a worker silent this long is taken for dead and its jobs run again (30).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_home() -> Path:
    return Path.home() / ".local" / "share" / "wardwatch"


class Settings(BaseSettings):
    """Runtime configuration, resolved once at an edge (CLI, API) and passed inward."""

    model_config = SettingsConfigDict(env_prefix="WARDWATCH_", frozen=True, extra="ignore")

    home: Path = Field(default_factory=_default_home)
    """The data folder: the SQLite database, uploads, caches."""

    database_url: str | None = None
    """SQLAlchemy URL of the database; ``None`` means the embedded SQLite file in ``home``."""

    smtp_host: str | None = None
    """The mail server that delivers scheduled reports; ``None``: e-mail delivery is not configured."""

    smtp_port: int = Field(default=587, ge=1, le=65535)
    """The mail server's port."""

    smtp_from: str | None = None
    """The sender address of scheduled reports."""

    smtp_starttls: bool = True
    """Upgrade the connection with STARTTLS (and refuse to send when the server does not offer it)."""

    smtp_username: str | None = None
    """Log in to the mail server as this user (password: ``WARDWATCH_SMTP_PASSWORD``, read when sending)."""

    schedule_tick_seconds: float = Field(default=60.0, ge=0)
    """How often the job runner of ``wardwatch serve`` delivers the due report schedules; 0 turns it off."""

    queue: Literal["inprocess", "postgres"] = "inprocess"
    """Where jobs run: ``inprocess`` (the server's own thread) or ``postgres`` (a queue that ``wardwatch worker``
    processes take jobs from; PostgreSQL only, checked by :meth:`check_queue`)."""

    worker_stalled_seconds: float = Field(default=30.0, ge=1)
    """A worker whose heartbeat is older than this is dead: its running jobs are run again by another worker."""

    @property
    def resolved_database_url(self) -> str:
        """The database URL to connect to, defaulting to SQLite in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'wardwatch.db'}"

    @property
    def is_sqlite(self) -> bool:
        """True when the configured database is SQLite."""
        return self.resolved_database_url.startswith("sqlite")

    def check_queue(self) -> None:
        """Raise ``ValueError`` (one line) when the queue setting cannot work with the database."""
        if self.queue == "postgres" and not self.resolved_database_url.startswith("postgresql"):
            raise ValueError(
                "WARDWATCH_QUEUE=postgres needs a PostgreSQL database: set WARDWATCH_DATABASE_URL="
                "postgresql+psycopg://user@host/db, or use WARDWATCH_QUEUE=inprocess"
            )
