"""SIGKILL during a CMMS import or a migration leaves the database as before or as after, never between.

Real child processes, real ``SIGKILL``, real SQLite files and PostgreSQL schemas.  Each kill point is one of:

* a *pause*: the child stops at a known place (after the k-th write statement of the import's transaction, after
  a chunk of devices was written, just before ``COMMIT``, after the k-th ``CREATE TABLE`` of a migration, after
  the run returned) and waits on its stdin; the parent kills it there, so the kill lands exactly where it should;
* a *timed* kill: the child runs freely and is killed a set time after it said ``started`` (landing anywhere,
  including inside the commit).

After each kill the database is opened again and compared with the state before the run and with the state a
complete run gives (table row counts, and the content of the changed tables without ids and times); the next run
then completes and gives exactly the complete state.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, inspect, text

from tests.conftest import _postgres_schema_url
from wardwatch.services import inventory_import
from wardwatch.services.inventory_import import import_cmms
from wardwatch.store.database import connect, current_revision, head_revision, migrate

#: The child: runs an import or a migration, saying where it is; at the pause point it waits on stdin (to be killed).
CHILD = r"""
import sys
from pathlib import Path
from sqlalchemy import event
from wardwatch.store.database import connect, migrate
from wardwatch.services import inventory_import
from wardwatch.services.inventory_import import import_cmms

inventory_import._CREATE_CHUNK = int(sys.argv[5]) if len(sys.argv) > 5 else 10_000
job, url, pause = sys.argv[1], sys.argv[2], sys.argv[3]
engine = connect(url)
writes = tables = 0

def stop(label):
    if label == pause:
        print("paused " + label, flush=True)
        sys.stdin.readline()  # the parent kills this process here
        raise SystemExit("not killed at " + label)

@event.listens_for(engine, "after_cursor_execute")
def counted(conn, cursor, statement, parameters, context, executemany):
    global writes, tables
    head = statement.lstrip()[:12].upper()
    if head.startswith(("INSERT", "UPDATE", "DELETE")):
        writes += 1
        stop(f"write {writes}")
    elif head.startswith("CREATE TABLE"):
        tables += 1
        stop(f"table {tables}")

@event.listens_for(engine, "commit")
def committing(conn):
    stop("commit")

def progress(stage, done, total):
    if stage in ("created", "updated"):
        stop(f"{stage} {done}")

print("started", flush=True)
if job == "import":
    import_cmms(engine, Path(sys.argv[4]), progress=progress)
else:
    migrate(engine)
print("returned", flush=True)
stop("returned")
"""

_MAKERS = (
    ("Baxter", "Sigma Spectrum", "Infusion Pump"),
    ("GE Healthcare", "CARESCAPE B650", "Patient Monitor"),
    ("Philips", "IntelliVue MX800", "Patient Monitor"),
    ("Becton Dickinson", "Alaris 8015 PC Unit", "Infusion Pump"),
)


def write_cmms(path: Path, rows: range, department: str) -> Path:
    """A CMMS export: one device a row, unique tags, serials and MACs."""
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["Asset Tag", "Manufacturer", "Model", "Serial Number", "Device Type", "Department", "MAC"])
        for i in rows:
            maker, model, kind = _MAKERS[i % len(_MAKERS)]
            mac = f"02:00:{(i >> 16) & 255:02x}:{(i >> 8) & 255:02x}:{i & 255:02x}:01"
            out.writerow([f"BME-{i:06d}", maker, model, f"SN{i:07d}", kind, f"{department} {i % 23}", mac])
    return path


def _digest(connection: object, query: str) -> str:
    rows = sorted(repr(tuple(row)) for row in connection.execute(text(query)))  # type: ignore[attr-defined]
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


def inventory_state(engine: Engine) -> dict[str, object]:
    """Row counts of every table, and the content of the inventory's tables without ids and times."""
    names = sorted(n for n in inspect(engine).get_table_names() if n != "alembic_version")
    with engine.connect() as connection:
        state: dict[str, object] = {
            name: connection.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one() for name in names
        }
        state["devices content"] = _digest(
            connection, "SELECT asset_tag, serial, manufacturer, model, device_type, criticality FROM devices"
        )
        state["history content"] = _digest(connection, "SELECT attribute, old_value, new_value FROM device_history")
        state["keys content"] = _digest(connection, "SELECT kind, value FROM device_keys")
    return state


def schema_state(engine: Engine) -> dict[str, object]:
    """Every table with its columns and indexes, and the schema revision."""
    found = inspect(engine)
    tables = {
        name: (
            sorted(c["name"] for c in found.get_columns(name)),
            sorted(str(i["name"]) for i in found.get_indexes(name)),
        )
        for name in found.get_table_names()
    }
    return {"tables": tables, "revision": current_revision(engine)}


class Child:
    """A child process running ``job`` against ``url``; ``pause`` names where it waits to be killed."""

    def __init__(self, job: str, url: str, pause: str, *extra: str, log: Path) -> None:
        self.log = log
        with log.open("w") as errors:
            self.process = subprocess.Popen(
                [sys.executable, "-c", CHILD, job, url, pause, *extra],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
            )

    def wait_for(self, line: str, timeout: float = 60) -> None:
        """Read the child's output until ``line`` (a thread reads, so a hung child fails the test in ``timeout``)."""
        assert self.process.stdout is not None
        said: queue.Queue[str] = queue.Queue()
        stdout = self.process.stdout

        def read() -> None:
            for got in iter(stdout.readline, ""):
                said.put(got)

        threading.Thread(target=read, daemon=True).start()
        deadline = time.monotonic() + timeout
        while True:
            try:
                got = said.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.process.kill()
                raise AssertionError(f"the child did not say {line!r} in {timeout} s") from None
            if got.strip() == line:
                return

    def kill(self) -> None:
        """SIGKILL, and reap."""
        os.kill(self.process.pid, signal.SIGKILL)
        assert self.process.wait(timeout=30) == -signal.SIGKILL
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


def kill_at(job: str, url: str, pause: str, *extra: str, log: Path) -> None:
    """Run the child, kill it where it pauses."""
    child = Child(job, url, pause, *extra, log=log)
    child.wait_for(f"paused {pause}")
    child.kill()


def kill_after(job: str, url: str, seconds: float, *extra: str, log: Path) -> None:
    """Run the child, kill it ``seconds`` after it started (wherever it is then)."""
    child = Child(job, url, "returned", *extra, log=log)  # a child that finished early waits there
    child.wait_for("started")
    time.sleep(seconds)
    child.kill()


@contextlib.contextmanager
def reference_database(database_url: str, tmp_path: Path, name: str) -> Iterator[str]:
    """Another empty database of the same kind, for the state a clean, complete run gives."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / name}"
    else:
        with contextlib.contextmanager(_postgres_schema_url)() as url:
            yield url


def count_writes(engine: Engine) -> list[int]:
    """Counts write statements on ``engine`` into the returned list (its length)."""
    seen: list[int] = []

    @event.listens_for(engine, "after_cursor_execute")
    def counted(*args: object) -> None:
        statement = str(args[2]).lstrip()[:12].upper()
        if statement.startswith(("INSERT", "UPDATE", "DELETE")):
            seen.append(1)

    return seen


CHUNK = 1500
"""Devices written per chunk (the service's default is 10,000): more progress points in a smaller file."""


def test_killing_a_cmms_import_leaves_the_inventory_as_before_or_after(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inventory_import, "_CREATE_CHUNK", CHUNK)
    first = write_cmms(tmp_path / "first.csv", range(0, 400), "Ward")
    # 4,500 devices: 400 of them known (moved to another department: updates and history), the rest new.
    big = write_cmms(tmp_path / "big.csv", range(0, 4500), "Unit")
    run = ("import", database_url)
    with reference_database(database_url, tmp_path, "reference.db") as reference_url:
        reference = connect(reference_url)
        migrate(reference)
        import_cmms(reference, first)
        writes = count_writes(reference)
        started = time.perf_counter()
        import_cmms(reference, big)
        took = time.perf_counter() - started
        after = inventory_state(reference)
        reference.dispose()
    engine = connect(database_url)
    migrate(engine)
    import_cmms(engine, first)
    before = inventory_state(engine)
    assert before != after and after["devices"] == 4500 and before["devices"] == 400
    assert len(writes) >= 4, "the import writes in several statements: there is a middle to kill it in"

    # Paused inside the transaction: always exactly as before.  (PostgreSQL writes the devices with COPY, which
    # the statement count does not see; the progress points fall between those COPYs.)
    pauses = ["write 1", f"write {len(writes) - 1}", "updated 400", f"created {CHUNK}", f"created {2 * CHUNK}"]
    for pause in [*pauses, "commit"]:
        kill_at(*run, pause, str(big), str(CHUNK), log=tmp_path / "child.log")
        assert inventory_state(engine) == before, f"killed at {pause}: the database is neither before nor after"
    # Timed, landing anywhere (reading the file, writing, committing, after): before or after, nothing else.  Once
    # one run got through its commit, a later one imports the same file again: the same inventory, one more import
    # recorded (an import is idempotent), so "after" then means the inventory of after with any number of imports.
    for fraction in (0.5, 0.8, 0.95, 1.1):
        kill_after(*run, took * fraction, str(big), str(CHUNK), log=tmp_path / "child.log")
        state = inventory_state(engine)
        assert state == before or _but_sources(state) == _but_sources(after), (
            f"killed {fraction:.0%} in: neither before nor after"
        )
    # Paused after the import returned (unless a timed kill already came after the commit): exactly after.
    if inventory_state(engine) == before:
        kill_at(*run, "returned", str(big), str(CHUNK), log=tmp_path / "child.log")
    assert _but_sources(inventory_state(engine)) == _but_sources(after)
    imports = int(str(inventory_state(engine)["sources"]))
    # The next import runs to its end: the same inventory, one more import recorded (an import is idempotent).
    import_cmms(engine, big)
    assert inventory_state(engine) == {**after, "sources": imports + 1}
    engine.dispose()


def _but_sources(state: dict[str, object]) -> dict[str, object]:
    """The state without the count of imports recorded (``sources``)."""
    return {k: v for k, v in state.items() if k != "sources"}


def test_killing_a_migration_leaves_no_half_made_schema(database_url: str, tmp_path: Path) -> None:
    with reference_database(database_url, tmp_path, "reference.db") as reference_url:
        reference = connect(reference_url)
        tables: list[int] = []
        event.listen(
            reference,
            "after_cursor_execute",
            lambda *args: tables.append(1) if str(args[2]).lstrip().upper().startswith("CREATE TABLE") else None,
        )
        started = time.perf_counter()
        migrate(reference)
        took = time.perf_counter() - started
        clean = schema_state(reference)
        reference.dispose()
    assert clean["revision"] == head_revision() and len(tables) > 10
    engine = connect(database_url)
    empty = schema_state(engine)
    assert empty == {"tables": {}, "revision": None}

    for pause in ("table 1", f"table {len(tables) // 2}", f"table {len(tables)}", "commit"):
        kill_at("migrate", database_url, pause, log=tmp_path / "child.log")
        assert schema_state(engine) == empty, f"killed at {pause}: a half-made schema was left"
    for fraction in (0.3, 0.7):
        kill_after("migrate", database_url, took * fraction, log=tmp_path / "child.log")
        state = schema_state(engine)
        assert state in (empty, clean), f"killed {fraction:.0%} in: a half-made schema was left"
        if state == clean:
            break
    migrate(engine)
    assert schema_state(engine) == clean
    engine.dispose()
