"""The one settings object.  Read from ``WARDWATCH_*`` environment variables; no globals elsewhere.

``WARDWATCH_HOME``          the data folder (default ``~/.local/share/wardwatch``).
``WARDWATCH_DATABASE_URL``  a SQLAlchemy URL; default is the SQLite file ``$WARDWATCH_HOME/wardwatch.db``.
                            PostgreSQL: ``postgresql+psycopg://user@host:5432/dbname``.
"""

from __future__ import annotations

from pathlib import Path

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
