"""The job queue in PostgreSQL (``WARDWATCH_QUEUE=postgres``): procrastinate carries job ids to worker processes.

The ``jobs`` table stays the record of every job (status, progress, attempts, last error); procrastinate's
``procrastinate_jobs`` only says which job a worker should run next.  :func:`defer` adds that entry on the
connection (and so in the transaction) that inserts the ``jobs`` row, so a job is queued exactly when its row is
committed.  Each entry carries a ``lock`` and a ``queueing_lock`` named after the job: procrastinate never runs two
entries of one job at the same time and never queues a second one while one waits.

:func:`run_worker` is ``wardwatch worker``: it runs :func:`services.jobs.run_job` for each entry on a thread
(``concurrency`` at once), retries transient failures with a backoff, and every few seconds gives the jobs of
dead workers (no heartbeat for ``Settings.worker_stalled_seconds``) back to the queue and delivers the due report
schedules (one worker at a time, under a PostgreSQL advisory lock).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import procrastinate
from procrastinate import exceptions as queue_errors
from psycopg.conninfo import make_conninfo
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

from wardwatch.services.jobs import MAX_ATTEMPTS, JobRetry, deliver_schedules, run_job
from wardwatch.settings import Settings

__all__ = ["TASK", "conninfo", "defer", "recover_stalled", "run_worker", "worker_app"]

logger = logging.getLogger(__name__)

#: The one procrastinate task: run the Wardwatch job whose id it carries.
TASK = "wardwatch.run_job"
_QUEUE = "wardwatch"
_SCHEDULE_LOCK = 0x77617264  # advisory lock key ("ward"): one worker at a time delivers report schedules


def conninfo(database_url: str) -> str:
    """The libpq connection string of a SQLAlchemy PostgreSQL URL (query options such as ``options`` kept)."""
    url = make_url(database_url)
    extra = {key: value for key, value in url.query.items() if isinstance(value, str)}
    return make_conninfo(
        "", host=url.host, port=url.port, user=url.username, password=url.password, dbname=url.database, **extra
    )


def _lock(job_id: int) -> str:
    return f"wardwatch-job-{job_id}"


def defer(connection: Connection, job_id: int) -> None:
    """Queue job ``job_id`` for the workers in ``connection``'s transaction (nothing if it is already queued)."""
    driver = connection.connection.driver_connection  # the psycopg connection under SQLAlchemy's transaction
    app = procrastinate.App(connector=procrastinate.SyncPsycopgConnector())  # no pool: only ``driver`` is used
    deferrer = app.configure_task(
        TASK, queue=_QUEUE, lock=_lock(job_id), queueing_lock=_lock(job_id), connection=driver
    )
    try:
        deferrer.defer(job_id=job_id)
    except queue_errors.AlreadyEnqueued:
        logger.debug("job %s is already queued", job_id)


def worker_app(engine: Engine, settings: Settings) -> procrastinate.App:
    """The procrastinate application of ``wardwatch worker``: its one task runs a job by id."""
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(conninfo=conninfo(settings.resolved_database_url)),
        worker_defaults={
            "update_heartbeat_interval": max(0.5, settings.worker_stalled_seconds / 4),
            "stalled_worker_timeout": settings.worker_stalled_seconds,
        },
    )

    # Backoff 2, 4, 8 s; run_job itself decides what is worth retrying and when it is the last attempt.
    retry = procrastinate.RetryStrategy(max_attempts=MAX_ATTEMPTS, exponential_wait=2, retry_exceptions=[JobRetry])

    @app.task(name=TASK, queue=_QUEUE, retry=retry)
    def run(job_id: int) -> None:
        outcome = run_job(engine, settings, int(job_id), queued=True)
        if outcome == "retry":
            raise JobRetry(f"job {job_id} failed; it is retried")

    del run  # registered on ``app``
    return app


async def recover_stalled(app: procrastinate.App, seconds: float) -> int:
    """Give the jobs of workers silent for ``seconds`` back to the queue; how many were given back."""
    manager = app.job_manager
    stalled = list(await manager.get_stalled_jobs(task_name=TASK, seconds_since_heartbeat=seconds))
    for job in stalled:
        logger.warning("job %s: its worker stopped answering; it runs again", job.task_kwargs.get("job_id"))
        await manager.retry_job(job)
    await manager.prune_stalled_workers(seconds)
    return len(stalled)


def _deliver_once(engine: Engine, settings: Settings) -> None:
    """Deliver the due report schedules unless another worker is doing it right now."""
    with engine.connect() as connection:
        if not connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": _SCHEDULE_LOCK}).scalar():
            return
        try:
            deliver_schedules(engine, settings)
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _SCHEDULE_LOCK})
            connection.commit()


async def _housekeeping(app: procrastinate.App, engine: Engine, settings: Settings, stop: asyncio.Event) -> None:
    """Every few seconds: requeue the jobs of dead workers; every schedule tick: deliver due reports."""
    every = max(0.5, settings.worker_stalled_seconds / 2)
    tick = settings.schedule_tick_seconds
    loop = asyncio.get_running_loop()
    next_tick = loop.time()
    while not stop.is_set():
        try:
            await recover_stalled(app, settings.worker_stalled_seconds)
        except Exception:  # the database may be briefly unreachable: the next round tries again
            logger.exception("could not look for the jobs of stopped workers")
        if tick > 0 and loop.time() >= next_tick:
            await asyncio.to_thread(_deliver_once, engine, settings)
            next_tick = loop.time() + tick
        try:
            await asyncio.wait_for(stop.wait(), timeout=min(every, tick) if tick > 0 else every)
        except TimeoutError:
            continue


async def _serve(engine: Engine, settings: Settings, concurrency: int, once: bool) -> None:
    app = worker_app(engine, settings)
    async with app.open_async():
        stop = asyncio.Event()
        if once:
            await recover_stalled(app, settings.worker_stalled_seconds)
            await app.run_worker_async(queues=[_QUEUE], concurrency=concurrency, wait=False)
            return
        keeper = asyncio.create_task(_housekeeping(app, engine, settings, stop))
        try:
            await app.run_worker_async(queues=[_QUEUE], concurrency=concurrency, wait=True)
        finally:
            stop.set()
            await keeper


def run_worker(engine: Engine, settings: Settings, *, concurrency: int = 1, once: bool = False) -> None:
    """Run jobs from the queue until stopped (SIGINT/SIGTERM: the running jobs finish first), or, ``once``, until
    the queue is empty.  Raises ``ValueError`` unless ``settings.queue`` is ``postgres``."""
    settings.check_queue()
    if settings.queue != "postgres":
        raise ValueError("wardwatch worker needs WARDWATCH_QUEUE=postgres (and a PostgreSQL database)")
    if concurrency < 1:
        raise ValueError("--concurrency must be at least 1")
    logger.info("worker started in thread %s (concurrency %s)", threading.current_thread().name, concurrency)
    asyncio.run(_serve(engine, settings, concurrency, once))


def queue_depth(settings: Settings) -> dict[str, Any]:
    """How many queue entries are in each procrastinate state (for ``wardwatch jobs``); empty without a queue."""
    if settings.queue != "postgres":
        return {}
    import psycopg  # noqa: PLC0415

    with psycopg.connect(conninfo(settings.resolved_database_url)) as connection:
        rows = connection.execute(
            "SELECT status::text, count(*) FROM procrastinate_jobs WHERE queue_name = %s GROUP BY status", (_QUEUE,)
        ).fetchall()
    return {status: int(count) for status, count in rows}
