"""Consistent online backups of the Wardwatch database, and restoring them.

A backup is one uncompressed tar file holding two members:

* ``manifest.json`` — ``{"format": "wardwatch-backup", "format_version": 1, "database": "sqlite" | "postgresql",
  "schema_revision": ..., "schema": ..., "wardwatch_version": ..., "created_at": ..., "payload": ...,
  "size": ..., "sha256": ...}``;
* the payload — ``database.sqlite`` (a SQLite file made with SQLite's online backup API and checked with
  ``PRAGMA integrity_check``) or ``database.pgdump`` (``pg_dump --format=custom``, one consistent snapshot).

The backup is written to a temporary file next to ``OUT`` and renamed into place, so ``OUT`` is either the old
file or a complete backup.  Restoring checks the manifest and the payload's SHA-256, refuses a backup of a newer
schema than this Wardwatch knows, refuses to replace data without ``replace=True``, restores in one transaction
(SQLite's backup API into the live file; ``pg_restore --clean --if-exists --single-transaction``) and then migrates
an older backup to the current schema.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import URL, make_url

from wardwatch import __version__
from wardwatch.settings import Settings
from wardwatch.store.database import MIGRATIONS, connect, current_revision, head_revision, migrate
from wardwatch.store.errors import StoreError

FORMAT = "wardwatch-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_PAYLOADS = {"sqlite": "database.sqlite", "postgresql": "database.pgdump"}
_BLOCK = 1 << 20
_SEARCH_PATH = re.compile(r"-c\s*search_path\s*=\s*([A-Za-z_][A-Za-z0-9_$]*)")


class BackupError(StoreError):
    """A backup or restore that cannot be done; the message is one line that says what to do."""


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a backup holds (``manifest.json``)."""

    database: str
    """``sqlite`` or ``postgresql``."""
    schema_revision: str
    """The alembic revision of the backed-up schema."""
    payload: str
    """The member holding the database."""
    size: int
    """The payload's size in bytes."""
    sha256: str
    """The payload's SHA-256."""
    created_at: str
    """When the backup was made (ISO 8601, UTC)."""
    wardwatch_version: str
    """The Wardwatch that made it."""
    schema: str | None = None
    """PostgreSQL: the schema backed up when the URL sets a ``search_path``; ``None``: the whole database."""
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class BackupReport:
    """What :func:`backup` wrote."""

    path: str
    manifest: Manifest
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"path": self.path, "seconds": self.seconds, **self.manifest.as_dict()}


@dataclass(frozen=True, slots=True)
class RestoreReport:
    """What :func:`restore` did."""

    path: str
    manifest: Manifest
    replaced: dict[str, int]
    """The rows the database held before, by table (only tables with rows)."""
    schema_revision: str
    """The schema revision after the restore (the backup's, migrated to this version's head)."""
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "path": self.path,
            "replaced": self.replaced,
            "schema_revision": self.schema_revision,
            "backup_revision": self.manifest.schema_revision,
            "seconds": self.seconds,
        }


# ---------------------------------------------------------------------------------------------------- shared


def _kind(url: str) -> str:
    return "sqlite" if make_url(url).get_backend_name() == "sqlite" else "postgresql"


def _where(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def known_revisions() -> set[str]:
    """Every schema revision this version of Wardwatch can migrate from."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}


def stored_rows(engine: Engine) -> dict[str, int]:
    """Rows per table of the database (tables without rows and ``alembic_version`` left out)."""
    names = [name for name in inspect(engine).get_table_names() if name != "alembic_version"]
    quote = engine.dialect.identifier_preparer.quote
    counts: dict[str, int] = {}
    with engine.connect() as connection:
        for name in names:
            query = text(f"SELECT count(*) FROM {quote(name)}")  # noqa: S608 - a quoted name the database listed
            count = int(connection.execute(query).scalar_one())
            if count:
                counts[name] = count
    return counts


_FIRST = ("devices", "vulnerability_findings", "users", "audit_log", "remediation_items", "incidents")


def describe_rows(counts: dict[str, int], shown: int = 4) -> str:
    """``"11 devices, 2 vulnerability_findings, 3 audit_log and 5 more tables"``: the main tables first."""
    ranked = sorted(counts.items(), key=lambda item: (_FIRST.index(item[0]) if item[0] in _FIRST else 99, -item[1]))
    parts = [f"{count:,} {name}" for name, count in ranked[:shown]]
    rest = len(ranked) - shown
    return ", ".join(parts) + (f" and {rest} more table{'s' if rest > 1 else ''}" if rest > 0 else "")


@contextlib.contextmanager
def _temporary(folder: Path, name: str) -> Iterator[Path]:
    """A path for a temporary file in ``folder`` (same file system: renames are atomic), removed afterwards."""
    path = folder / f".{name}.{os.getpid()}.{time.monotonic_ns()}.tmp"
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)
        for suffix in ("-journal", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def _write_archive(out: Path, payload: Path, manifest: Manifest) -> None:
    """Write the tar next to ``out``, flush it to disk, and rename it into place."""
    body = json.dumps(manifest.as_dict(), indent=2, sort_keys=True).encode()
    with _temporary(out.parent, out.name) as temp:
        with tarfile.open(temp, "w", format=tarfile.PAX_FORMAT) as archive:
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(body), int(time.time()), 0o600
            archive.addfile(info, io.BytesIO(body))
            archive.add(payload, arcname=manifest.payload, recursive=False)
        temp.chmod(0o600)  # it holds the whole database
        with temp.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, out)


def read_manifest(path: Path) -> Manifest:
    """The manifest of the backup ``path``; :class:`BackupError` when it is not a Wardwatch backup."""
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    not_backup = f"{path} is not a Wardwatch backup (make one with `wardwatch backup OUT`)"
    try:
        with tarfile.open(path, "r:") as archive:
            member = archive.getmember(MANIFEST)
            handle = archive.extractfile(member)
            if handle is None or member.size > 1 << 20:
                raise BackupError(not_backup)
            data = json.loads(handle.read())
    except (tarfile.TarError, KeyError, ValueError, OSError) as e:
        raise BackupError(not_backup) from e
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BackupError(not_backup)
    if data.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"{path} is a Wardwatch backup of format {data.get('format_version')!r}, which this version "
            f"(format {FORMAT_VERSION}) cannot read; restore it with the Wardwatch that made it "
            f"({data.get('wardwatch_version')})"
        )
    try:
        manifest = Manifest(**{name: data[name] for name in Manifest.__dataclass_fields__ if name in data})
    except TypeError as e:
        raise BackupError(
            f"{path} is a Wardwatch backup with an incomplete manifest ({e}); it cannot be restored"
        ) from e
    if manifest.database not in _PAYLOADS or manifest.payload != _PAYLOADS[manifest.database]:
        raise BackupError(not_backup)
    return manifest


def _extract_payload(path: Path, manifest: Manifest, target: Path) -> None:
    """Copy the payload to ``target`` and check its size and SHA-256 against the manifest."""
    digest = hashlib.sha256()
    size = 0
    try:
        with tarfile.open(path, "r:") as archive:
            source = archive.extractfile(manifest.payload)
            if source is None:
                raise KeyError(manifest.payload)
            with source, target.open("wb") as sink:
                for block in iter(lambda: source.read(_BLOCK), b""):
                    digest.update(block)
                    size += len(block)
                    sink.write(block)
    except (tarfile.TarError, KeyError, OSError) as e:
        raise BackupError(f"{path} is damaged: its database ({manifest.payload}) cannot be read ({e})") from e
    if size != manifest.size or digest.hexdigest() != manifest.sha256:
        raise BackupError(
            f"{path} is damaged: its database does not match the SHA-256 in its manifest; use another backup"
        )


# ---------------------------------------------------------------------------------------------------- backup


def backup(settings: Settings, out: Path) -> BackupReport:
    """Back up the configured database to ``out`` (a tar with ``manifest.json`` and the database)."""
    started = time.perf_counter()
    url = settings.resolved_database_url
    out = out.expanduser()
    if out.is_dir():
        raise BackupError(f"{out} is a folder; give the backup file's name, e.g. {out / 'wardwatch-backup.tar'}")
    if not out.parent.is_dir():
        raise BackupError(f"the folder {out.parent} does not exist; create it or give another path")
    kind = _kind(url)
    with _temporary(out.parent, f"{out.name}.{kind}") as payload:
        if kind == "sqlite":
            revision, schema = _backup_sqlite(url, payload), None
        else:
            revision, schema = _backup_postgresql(url, payload)
        manifest = Manifest(
            database=kind,
            schema_revision=revision,
            payload=_PAYLOADS[kind],
            size=payload.stat().st_size,
            sha256=_sha256(payload),
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            wardwatch_version=__version__,
            schema=schema,
        )
        _write_archive(out, payload, manifest)
    return BackupReport(str(out), manifest, round(time.perf_counter() - started, 3))


def _sqlite_file(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError(f"{url} is not a SQLite file; set WARDWATCH_DATABASE_URL to a file or a PostgreSQL server")
    return Path(database)


def _no_database(url: str) -> BackupError:
    return BackupError(f"no Wardwatch database at {_where(url)}; run `wardwatch init` first")


def _backup_sqlite(url: str, target: Path) -> str:
    source_path = _sqlite_file(url)
    if not source_path.is_file():
        raise _no_database(url)
    source = sqlite3.connect(f"{source_path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # all pages in one step: one consistent snapshot, while others go on writing
        copy.execute("PRAGMA journal_mode=DELETE")  # a self-contained file, no -wal beside it
        problems = [row[0] for row in copy.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise BackupError(f"the database {source_path} fails its integrity check ({problems[0]}); not backed up")
        try:
            row = copy.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.OperationalError:
            row = None
    except sqlite3.DatabaseError as e:
        raise BackupError(f"cannot back up {source_path}: {e}") from e
    finally:
        copy.close()
        source.close()
    if row is None:
        raise _no_database(url)
    return str(row[0])


# ---------------------------------------------------------------------------------------------------- PostgreSQL


def _libpq(url: str) -> tuple[str, dict[str, str], str | None]:
    """(connection URI without the password, environment with PGPASSWORD, the schema of a search_path option)."""
    parsed: URL = make_url(url)
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    options = parsed.query.get("options")
    option = options if isinstance(options, str) else " ".join(options or ())
    found = _SEARCH_PATH.search(option)
    dsn = parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return dsn, env, found.group(1) if found else None


def _tool(name: str, engine: Engine) -> str:
    """The path of ``pg_dump``/``pg_restore``, checked to be at least as new as the server."""
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed; install the PostgreSQL client tools (e.g. postgresql-client)")
    try:
        version = [path, "--version"]
        shown = subprocess.run(version, capture_output=True, text=True, check=True, timeout=30).stdout  # noqa: S603
    except (OSError, subprocess.SubprocessError) as e:
        raise BackupError(f"{name} does not run ({e}); reinstall the PostgreSQL client tools") from e
    client = re.search(r"(\d+)(?:\.(\d+))?", shown)
    with engine.connect() as connection:
        server_num = int(connection.execute(text("SHOW server_version_num")).scalar_one())
    server_major = server_num // 10000
    if client is None or int(client.group(1)) < server_major:
        raise BackupError(
            f"{name} {client.group(0) if client else '?'} is older than the PostgreSQL {server_major} server; "
            f"install the client tools of version {server_major} or newer"
        )
    return path


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603 - no shell
    if done.returncode != 0:
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        reason = lines[0] if lines else f"exit code {done.returncode}"
        raise BackupError(f"{what} failed: {reason}")


def _backup_postgresql(url: str, target: Path) -> tuple[str, str | None]:
    engine = connect(url)
    try:
        before = current_revision(engine)
        if before is None:
            raise _no_database(url)
        pg_dump = _tool("pg_dump", engine)
        dsn, env, schema = _libpq(url)
        command = [pg_dump, "--format=custom", "--no-owner", "--no-privileges", f"--file={target}", f"--dbname={dsn}"]
        if schema is not None:
            command.append(f"--schema={schema}")
        _run(command, env, "pg_dump")
        if current_revision(engine) != before:
            raise BackupError("the schema was migrated while the backup ran; run `wardwatch backup` again")
        return before, schema
    finally:
        engine.dispose()


# ---------------------------------------------------------------------------------------------------- restore


def check_restorable(settings: Settings, path: Path) -> tuple[Manifest, dict[str, int]]:
    """The backup's manifest and the rows the configured database holds now (what a restore would replace).

    Raises :class:`BackupError` for a file that is not a Wardwatch backup, a backup of the other kind of database,
    or one of a newer schema than this version knows.
    """
    url = settings.resolved_database_url
    manifest = read_manifest(path)
    kind = _kind(url)
    names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
    if manifest.database != kind:
        raise BackupError(
            f"{path} is a backup of a {names[manifest.database]} database but the configured database "
            f"({_where(url)}) is {names[kind]}; set WARDWATCH_DATABASE_URL to a {names[manifest.database]} database"
        )
    if manifest.schema_revision not in known_revisions():
        raise BackupError(
            f"{path} was made by a newer Wardwatch (schema revision {manifest.schema_revision}; this version "
            f"knows up to {head_revision()}); upgrade Wardwatch first, then restore"
        )
    if kind == "postgresql":
        schema = _libpq(url)[2]
        if manifest.schema != schema:
            raise BackupError(
                f"{path} holds the PostgreSQL schema {manifest.schema or '(whole database)'} but the configured "
                f"database uses {schema or 'the whole database'}; set WARDWATCH_DATABASE_URL's search_path to match"
            )
    if kind == "sqlite" and not _sqlite_file(url).exists():
        return manifest, {}
    engine = connect(url)
    try:
        return manifest, stored_rows(engine)
    finally:
        engine.dispose()


def restore(settings: Settings, path: Path, *, replace: bool = False) -> RestoreReport:
    """Replace the configured database with the backup ``path``, then migrate it to this version's schema.

    Without ``replace`` a database that holds data is left alone (:class:`BackupError` says what it holds).
    """
    started = time.perf_counter()
    url = settings.resolved_database_url
    manifest, rows = check_restorable(settings, path)
    if rows and not replace:
        raise BackupError(
            f"the database {_where(url)} holds {describe_rows(rows)}, which restoring {path} would replace; "
            "add --yes to replace it"
        )
    if manifest.database == "sqlite":
        _restore_sqlite(url, path, manifest)
    else:
        _restore_postgresql(url, path, manifest)
    engine = connect(url)
    try:
        migrate(engine)
        revision = current_revision(engine) or ""
    finally:
        engine.dispose()
    return RestoreReport(str(path), manifest, rows, revision, round(time.perf_counter() - started, 3))


def _restore_sqlite(url: str, path: Path, manifest: Manifest) -> None:
    live = _sqlite_file(url)
    if not live.parent.is_dir():
        live.parent.mkdir(parents=True)
    with _temporary(live.parent, live.name) as temp:
        _extract_payload(path, manifest, temp)
        source = sqlite3.connect(temp)
        try:
            if [row[0] for row in source.execute("PRAGMA integrity_check")] != ["ok"]:
                raise BackupError(f"{path} is damaged: its database fails SQLite's integrity check")
            target = sqlite3.connect(live, timeout=30)
            try:
                # One write transaction on the live file (other connections wait for it): before or after, never
                # between, and no -wal of the old file is left to mix with a swapped-in one.
                source.backup(target)
            finally:
                target.close()
        except sqlite3.DatabaseError as e:
            raise BackupError(f"cannot restore {path} into {live}: {e}") from e
        finally:
            source.close()


def _restore_postgresql(url: str, path: Path, manifest: Manifest) -> None:
    engine = connect(url)
    try:
        pg_restore = _tool("pg_restore", engine)
        dsn, env, schema = _libpq(url)
        with tempfile.TemporaryDirectory(prefix="wardwatch-restore-") as folder:
            dump = Path(folder) / manifest.payload
            _extract_payload(path, manifest, dump)
            list_command = [pg_restore, "--list", str(dump)]
            listing = subprocess.run(list_command, capture_output=True, text=True, check=False)  # noqa: S603
            if listing.returncode != 0:
                raise BackupError(f"{path} is damaged: pg_restore cannot read its database dump")
            _drop_newer_objects(engine, listing.stdout)
            engine.dispose()  # no pooled connection holds locks on what pg_restore drops
            command = [
                pg_restore,
                "--clean",
                "--if-exists",
                "--single-transaction",
                "--exit-on-error",
                "--no-owner",
                "--no-privileges",
                f"--dbname={dsn}",
                str(dump),
            ]
            if schema is not None:
                command.insert(-1, f"--schema={schema}")
            _run(command, env, "pg_restore")
    finally:
        engine.dispose()


#: Objects of the target's schema, with the DROP statement of each (extension members left out).
_OBJECTS = """
SELECT 'TABLE', c.relname, format('DROP TABLE IF EXISTS %I CASCADE', c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
UNION ALL
SELECT 'VIEW', c.relname, format('DROP VIEW IF EXISTS %I CASCADE', c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = current_schema() AND c.relkind IN ('v', 'm')
UNION ALL
SELECT 'TYPE', t.typname, format('DROP TYPE IF EXISTS %I CASCADE', t.typname)
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE n.nspname = current_schema()
   AND (t.typtype IN ('e', 'd', 'r', 'm')
        OR (t.typtype = 'c' AND EXISTS (SELECT 1 FROM pg_class r WHERE r.oid = t.typrelid AND r.relkind = 'c')))
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = t.oid AND d.deptype = 'e')
UNION ALL
SELECT 'FUNCTION', p.proname, format('DROP FUNCTION IF EXISTS %s CASCADE', p.oid::regprocedure)
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = current_schema()
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
"""


def _drop_newer_objects(engine: Engine, listing: str) -> None:
    """Drop the tables, views, types and functions the dump does not hold: those of a newer schema than the
    backup's (restoring an older backup).  ``--clean`` only drops what the dump holds, and these could depend on
    its tables or clash with the migration after the restore, which makes them anew."""
    kinds = {"DOMAIN": "TYPE", "MATERIALIZED VIEW": "VIEW"}
    found = re.findall(
        r"^\d+; \d+ \d+ (TABLE|VIEW|MATERIALIZED VIEW|TYPE|DOMAIN|FUNCTION) \S+ ([^\s(]+)", listing, flags=re.MULTILINE
    )
    in_backup = {(kinds.get(kind, kind), name) for kind, name in found}
    with engine.begin() as connection:
        drops = [str(drop) for kind, name, drop in connection.execute(text(_OBJECTS)) if (kind, name) not in in_backup]
        for drop in drops:
            connection.execute(text(drop))
