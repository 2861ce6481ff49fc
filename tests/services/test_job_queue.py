"""The job queue in PostgreSQL: real `wardwatch worker` processes run submitted jobs exactly once, a killed worker's
job is run again by another worker and imported once, cancellation, retries and the dead letters."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, func, select, text

from wardwatch.domain.permissions import SYSTEM, PermissionDenied, Principal, Role
from wardwatch.domain.remediation import TransitionRefused
from wardwatch.services import jobs as job_service
from wardwatch.services.job_queue import conninfo
from wardwatch.services.jobs import JobRunner, cancel, get_job, list_jobs, run_job, submit
from wardwatch.settings import Settings
from wardwatch.store.database import connect, migrate
from wardwatch.store.schema import devices, sources

HEADER = "Asset Tag,Manufacturer,Model,Software Version,Operating System,OS Version,Device Type\n"
WARDWATCH = Path(sys.executable).parent / "wardwatch"
BIOMED = Principal(username="hank", role=Role.BIOMED, user_id=1)


def _cmms(path: Path, prefix: str, rows: int) -> Path:
    lines = [f"{prefix}-{i:06d},BD,Alaris 8015 PC Unit,9.{i % 30},,,Infusion Pump\n" for i in range(rows)]
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    return path


@pytest.fixture
def queue(tmp_path: Path) -> Iterator[tuple[Engine, Settings, dict[str, str]]]:
    """A migrated PostgreSQL schema with the queue on, its settings and the environment of worker processes."""
    from tests.conftest import _postgres_schema_url

    urls = _postgres_schema_url()
    url = next(urls)
    engine = connect(url)
    migrate(engine)
    env = {
        **os.environ,
        "WARDWATCH_HOME": str(tmp_path / "home"),
        "WARDWATCH_DATABASE_URL": url,
        "WARDWATCH_QUEUE": "postgres",
        "WARDWATCH_WORKER_STALLED_SECONDS": "3",
        "WARDWATCH_SCHEDULE_TICK_SECONDS": "0",
    }
    settings = Settings(home=tmp_path / "home", database_url=url, queue="postgres", worker_stalled_seconds=3)
    try:
        yield engine, settings, env
    finally:
        engine.dispose()
        next(urls, None)


def _worker(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(WARDWATCH), "worker", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _wait(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _stop(*workers: subprocess.Popen[str]) -> str:
    """Stop the workers as systemd would (SIGTERM: running jobs finish first); their error output."""
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    errors = ""
    for worker in workers:
        try:
            errors += worker.communicate(timeout=20)[1]
        except subprocess.TimeoutExpired:
            worker.kill()
            errors += worker.communicate()[1]
    return errors


def _entries(settings: Settings) -> list[tuple[int, str, int]]:
    """procrastinate's queue entries: (Wardwatch job id, status, attempts)."""
    with psycopg.connect(conninfo(settings.resolved_database_url)) as connection:
        rows = connection.execute(
            "SELECT (args->>'job_id')::int, status::text, attempts FROM procrastinate_jobs ORDER BY id"
        ).fetchall()
    return [(int(a), str(b), int(c)) for a, b, c in rows]


def _count(engine: Engine, table: object) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


@pytest.mark.postgres
def test_a_worker_process_runs_a_submitted_upload_job(
    queue: tuple[Engine, Settings, dict[str, str]], tmp_path: Path
) -> None:
    engine, settings, env = queue
    with engine.connect() as connection:  # the migration created procrastinate's schema next to Wardwatch's
        assert connection.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar() is not None
    job = submit(engine, BIOMED, "cmms_import", {"path": str(_cmms(tmp_path / "a.csv", "A", 40))}, settings=settings)
    assert job["status"] == "queued" and job["attempts"] == 0
    assert _entries(settings) == [(job["id"], "todo", 0)]  # queued in the same transaction as the job's row
    worker = _worker(env)
    try:
        _wait(lambda: get_job(engine, BIOMED, job["id"])["status"] == "succeeded", 30, "the job to succeed")
    finally:
        errors = _stop(worker)
    assert worker.returncode == 0, errors
    done = get_job(engine, BIOMED, job["id"])
    assert done["attempts"] == 1 and done["error"] is None and done["result"]["devices_in_file"] == 40
    assert _count(engine, devices) == 40
    assert _entries(settings) == [(job["id"], "succeeded", 1)]


@pytest.mark.postgres
def test_two_workers_run_each_job_exactly_once(queue: tuple[Engine, Settings, dict[str, str]], tmp_path: Path) -> None:
    engine, settings, env = queue
    ids = [
        submit(engine, BIOMED, "cmms_import", {"path": str(_cmms(tmp_path / f"{n}.csv", f"W{n}", 300))},
               settings=settings)["id"]
        for n in range(6)
    ]  # fmt: skip
    workers = [_worker(env, "--concurrency", "2"), _worker(env, "--concurrency", "2")]
    try:
        _wait(lambda: all(get_job(engine, BIOMED, i)["status"] == "succeeded" for i in ids), 60, "every job")
    finally:
        _stop(*workers)
    assert [get_job(engine, BIOMED, i)["attempts"] for i in ids] == [1] * 6
    assert _count(engine, sources) == 6  # one import per job: none ran twice
    assert _count(engine, devices) == 6 * 300
    assert sorted(_entries(settings)) == sorted((i, "succeeded", 1) for i in ids)  # procrastinate ran each once


@pytest.mark.postgres
def test_a_killed_workers_job_is_run_again_by_another_and_imported_once(
    queue: tuple[Engine, Settings, dict[str, str]], tmp_path: Path
) -> None:
    engine, settings, env = queue
    big = _cmms(tmp_path / "big.csv", "BIG", 80_000)  # several seconds of import
    job = submit(engine, BIOMED, "cmms_import", {"path": str(big)}, settings=settings)
    first = _worker(env)
    _wait(lambda: get_job(engine, BIOMED, job["id"])["status"] == "running", 30, "the first worker to start the job")
    second = _worker(env)  # idle: the job is locked by the first worker while it lives
    try:
        time.sleep(1.0)
        assert get_job(engine, BIOMED, job["id"])["attempts"] == 1
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        _wait(lambda: get_job(engine, BIOMED, job["id"])["status"] in ("succeeded", "failed"), 60, "the rerun")
    finally:
        _stop(first, second)
    done = get_job(engine, BIOMED, job["id"])
    assert done["status"] == "succeeded", done["message"]
    assert done["attempts"] == 2 and "worker running it died" in (done["error"] or "")
    assert _count(engine, sources) == 1  # the killed run's transaction left nothing
    assert _count(engine, devices) == 80_000
    assert [status for _id, status, _n in _entries(settings)] == ["succeeded"]


@pytest.mark.postgres
def test_a_cancelled_queued_job_never_runs(queue: tuple[Engine, Settings, dict[str, str]], tmp_path: Path) -> None:
    engine, settings, env = queue
    job = submit(engine, BIOMED, "cmms_import", {"path": str(_cmms(tmp_path / "c.csv", "C", 10))}, settings=settings)
    other = Principal(username="olga", role=Role.BIOMED, user_id=2)
    with pytest.raises(PermissionDenied, match="hank"):
        cancel(engine, other, job["id"])
    stopped = cancel(engine, BIOMED, job["id"])
    assert stopped["status"] == "cancelled" and stopped["cancel_requested"] and "before it ran" in stopped["message"]
    with pytest.raises(TransitionRefused, match="already cancelled"):
        cancel(engine, SYSTEM, job["id"])
    finished = subprocess.run(
        [str(WARDWATCH), "worker", "--once"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert finished.returncode == 0, finished.stderr
    assert get_job(engine, BIOMED, job["id"])["status"] == "cancelled"
    assert get_job(engine, BIOMED, job["id"])["attempts"] == 0
    assert _count(engine, devices) == 0
    assert [status for _id, status, _n in _entries(settings)] == ["succeeded"]  # the entry ran and did nothing


@pytest.mark.postgres
def test_the_cli_cancels_a_queued_job_and_lists_the_cancelled(
    queue: tuple[Engine, Settings, dict[str, str]], tmp_path: Path
) -> None:
    engine, settings, env = queue
    job = submit(engine, BIOMED, "cmms_import", {"path": str(_cmms(tmp_path / "d.csv", "D", 5))}, settings=settings)
    done = subprocess.run(
        [str(WARDWATCH), "jobs", "cancel", str(job["id"])], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and f"Job {job['id']} cancelled before it ran" in done.stdout
    again = subprocess.run(
        [str(WARDWATCH), "jobs", "cancel", str(job["id"])], env=env, capture_output=True, text=True, check=False
    )
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "already cancelled" in again.stderr
    assert [j["id"] for j in list_jobs(engine, SYSTEM, status="cancelled")[0]] == [job["id"]]


def test_transient_failures_are_retried_then_dead_lettered(
    sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """run_job for the queue: a bug is retried until the last attempt, then the job is failed with the reason."""
    settings = Settings(home=tmp_path)
    calls: list[int] = []

    def flaky(context: job_service.JobContext) -> dict[str, object]:
        calls.append(context.job_id)
        raise RuntimeError("the disk hiccuped")

    permission = job_service.HANDLERS["cmms_import"][0]
    monkeypatch.setitem(job_service.HANDLERS, "cmms_import", (permission, flaky))
    job = submit(sqlite_engine, BIOMED, "cmms_import", {"path": "x.csv"})
    assert run_job(sqlite_engine, settings, job["id"], queued=True) == "retry"
    waiting = get_job(sqlite_engine, BIOMED, job["id"])
    assert waiting["status"] == "queued" and waiting["attempts"] == 1 and "the disk hiccuped" in waiting["error"]
    assert run_job(sqlite_engine, settings, job["id"], queued=True) == "retry"
    assert run_job(sqlite_engine, settings, job["id"], queued=True) == "failed"
    assert run_job(sqlite_engine, settings, job["id"], queued=True) == "failed"  # a late duplicate does nothing
    assert len(calls) == 3
    dead, total = list_jobs(sqlite_engine, BIOMED, status="failed")
    assert total == 1 and dead[0]["attempts"] == 3 and "RuntimeError: the disk hiccuped" in dead[0]["error"]
    assert list_jobs(sqlite_engine, BIOMED, status="succeeded")[1] == 0
    with pytest.raises(ValueError, match="unknown job status"):
        list_jobs(sqlite_engine, BIOMED, status="lost")


@pytest.mark.postgres
def test_a_running_job_stops_at_its_next_progress_report(
    queue: tuple[Engine, Settings, dict[str, str]], tmp_path: Path
) -> None:
    """In process (the default queue, here on PostgreSQL): cancelling a running import stops it and rolls it back.

    (On SQLite a progress write waits for the import's write transaction, so a big import reports no progress.)"""
    engine, queued, _env = queue
    settings = Settings(home=tmp_path / "home", database_url=queued.database_url)
    big = _cmms(tmp_path / "big.csv", "R", 60_000)
    job = submit(engine, BIOMED, "cmms_import", {"path": str(big)}, settings=settings)
    assert _entries(queued) == []  # in process: nothing on the queue
    runner = JobRunner(engine, settings, tick_seconds=0)
    runner.enqueue(job["id"])
    try:
        _wait(lambda: "created" in (get_job(engine, BIOMED, job["id"])["message"] or ""), 30, "the import to write")
        asked = cancel(engine, BIOMED, job["id"])
        assert asked["status"] == "running" and asked["cancel_requested"]
        runner.wait(60)
    finally:
        runner.shutdown()
    done = get_job(engine, BIOMED, job["id"])
    assert done["status"] == "cancelled" and done["message"] == "cancelled by hank while running"
    assert _count(engine, devices) == 0 and _count(engine, sources) == 0


def test_the_postgres_queue_needs_postgresql(tmp_path: Path) -> None:
    from wardwatch.api.app import create_app

    settings = Settings(home=tmp_path, queue="postgres")
    with pytest.raises(ValueError, match="WARDWATCH_QUEUE=postgres needs a PostgreSQL database"):
        settings.check_queue()
    with pytest.raises(ValueError, match="needs a PostgreSQL database"):
        create_app(settings)
    with pytest.raises(ValueError, match="needs a PostgreSQL database"):
        submit(connect(f"sqlite:///{tmp_path / 'x.db'}"), SYSTEM, "cmms_import", {"path": "x"}, settings=settings)


@pytest.mark.postgres
def test_with_the_queue_the_server_runs_no_jobs_itself(
    queue: tuple[Engine, Settings, dict[str, str]], tmp_path: Path
) -> None:
    from starlette.testclient import TestClient

    from wardwatch.api.app import create_app

    engine, settings, _env = queue
    application = create_app(settings)
    with TestClient(application):
        assert not application.state.runner.ticking  # the workers tick the schedules
        job = submit(engine, BIOMED, "cmms_import", {"path": str(_cmms(tmp_path / "s.csv", "S", 3))}, settings=settings)
        application.state.runner.enqueue(job["id"])  # what the uploads route does: nothing with the queue
        time.sleep(0.7)
        assert get_job(engine, BIOMED, job["id"])["status"] == "queued"
    application.state.engine.dispose()
    assert _entries(settings) == [(job["id"], "todo", 0)]


def test_a_big_in_process_import_on_sqlite_reports_progress_and_can_be_cancelled(tmp_path: Path) -> None:
    """On SQLite the import holds the one write lock for its whole transaction: progress writes must not wait for it
    (they used to, and failed the job after the 10 s busy timeout).  The running server shows the live progress, and
    a cancellation (a read, never blocked in WAL mode) stops the import, rolled back."""
    settings = Settings(home=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'big.db'}")
    engine = connect(settings.resolved_database_url)
    migrate(engine)
    done_job = submit(engine, BIOMED, "cmms_import", {"path": str(_cmms(tmp_path / "a.csv", "A", 40_000))},
                      settings=settings)  # fmt: skip
    runner = JobRunner(engine, settings, tick_seconds=0)
    seen: list[str] = []
    runner.enqueue(done_job["id"])
    try:
        _wait(lambda: seen.append(get_job(engine, BIOMED, done_job["id"])["message"] or "") or "created" in seen[-1],
              60, "the import to report its progress")  # fmt: skip
        runner.wait(120)
        finished = get_job(engine, BIOMED, done_job["id"])
        assert finished["status"] == "succeeded", finished["message"]
        assert _count(engine, devices) == 40_000

        cancelled = submit(engine, BIOMED, "cmms_import", {"path": str(_cmms(tmp_path / "b.csv", "B", 40_000))},
                           settings=settings)  # fmt: skip
        runner.enqueue(cancelled["id"])
        _wait(lambda: get_job(engine, BIOMED, cancelled["id"])["status"] == "running", 60, "the import to start")
        assert cancel(engine, BIOMED, cancelled["id"])["cancel_requested"]
        runner.wait(120)
    finally:
        runner.shutdown()
    stopped = get_job(engine, BIOMED, cancelled["id"])
    assert stopped["status"] == "cancelled" and stopped["message"] == "cancelled by hank while running"
    assert _count(engine, devices) == 40_000  # the second import was rolled back whole
    engine.dispose()
