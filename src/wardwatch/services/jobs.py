"""Background jobs: uploads (CMMS exports, captures, intelligence files) processed with visible progress.

A job is a row in ``jobs`` (kind, status, progress, message, result, attempts, last error).  ``submit`` checks
the permission of the job's kind and queues it.  Handlers are registered in one literal dict, :data:`HANDLERS`; a
job is self-describing (its ``input`` is JSON), so where it runs does not change what it does:

- ``Settings.queue == "inprocess"`` (default): a :class:`JobRunner` runs queued jobs on a worker thread of
  ``wardwatch serve``.  A job left ``running`` by a stopped server is marked ``failed`` ("interrupted") when the
  next runner starts, and jobs still ``queued`` are run then.
- ``"postgres"``: ``submit`` also puts the job on the queue in PostgreSQL in the same transaction
  (``services.job_queue``), and ``wardwatch worker`` processes run it with :func:`run_job` (``queued=True``):
  a transient failure is retried (at most :data:`MAX_ATTEMPTS` runs), and a job whose worker died is run again.

Statuses (:data:`STATUSES`): ``queued`` → ``running`` → ``succeeded`` | ``failed`` | ``cancelled``.  ``cancel``
stops a queued job before it runs; a running one is asked to stop, and its handler raises :class:`Cancelled` at its
next progress report.  Failed jobs (``list_jobs(status="failed")``) are the dead letters: their ``error`` says why.

The runner also ticks (every ``Settings.schedule_tick_seconds``, and once right after it starts): each tick runs
``services.report_schedules.run_due`` on the worker thread, so scheduled reports are delivered on time while
``wardwatch serve`` runs, one render at a time with the uploads.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import OperationalError

from wardwatch.domain.permissions import Permission, PermissionDenied, Principal, Role, allows, require
from wardwatch.domain.remediation import TransitionRefused
from wardwatch.ingest.errors import IngestError
from wardwatch.services import audit
from wardwatch.settings import Settings
from wardwatch.store.database import SQLITE_BUSY_TIMEOUT_MS, ensure_ready
from wardwatch.store.errors import StoreError
from wardwatch.store.inventory import aware
from wardwatch.store.schema import jobs

__all__ = [
    "HANDLERS",
    "MAX_ATTEMPTS",
    "STATUSES",
    "Cancelled",
    "JobContext",
    "JobNotFound",
    "JobRetry",
    "JobRunner",
    "authorize",
    "cancel",
    "deliver_schedules",
    "get_job",
    "list_jobs",
    "run_job",
    "save_upload",
    "submit",
]

logger = logging.getLogger(__name__)

#: Largest upload accepted (a day of SPAN capture of a small hospital fits; split bigger ones).
MAX_UPLOAD_BYTES = 2 * 1024**3
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_PROGRESS_EVERY = 0.5  # seconds between progress writes

#: Every status a job can have; the last three are final.
STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
_FINAL = ("succeeded", "failed", "cancelled")
#: Runs of a queued job at most (``WARDWATCH_QUEUE=postgres``): the first and two retries.
MAX_ATTEMPTS = 3
#: Failures of the job's input (a bad file): running it again cannot help, so they are never retried.
_INPUT_ERRORS: tuple[type[Exception], ...] = (IngestError, ValueError, LookupError, OSError)


#: Progress of the jobs running in this process that the database could not take yet (SQLite: the job's own import
#: holds the write lock); :func:`_public` shows it instead of the stored one while the job runs.
_LIVE: dict[int, tuple[float, str]] = {}
_SQLITE_PROGRESS_WAIT_MS = 50


class JobNotFound(LookupError):
    """No job has this id (or the principal may not see it)."""


class Cancelled(Exception):
    """The job was asked to stop; raised by :meth:`JobContext.progress`, the job ends ``cancelled``."""


class JobRetry(Exception):
    """A queued job failed transiently and is run again (the queue's worker raises it to schedule the retry)."""


@dataclass(slots=True)
class JobContext:
    """What a handler gets: the database, the settings, the job's input, and a way to report progress."""

    engine: Engine
    settings: Settings
    job_id: int
    input: dict[str, Any]
    _last: float = 0.0

    def progress(self, fraction: float, message: str, *, force: bool = False) -> None:
        """Record progress (0..1) and what is happening; writes at most twice a second unless forced.

        Raises :class:`Cancelled` when someone asked the job to stop (seen when the progress is written)."""
        now = time.monotonic()
        if not force and now - self._last < _PROGRESS_EVERY:
            return
        self._last = now
        value, text = max(0.0, min(1.0, fraction)), message[:2000]
        _LIVE[self.job_id] = (value, text)
        sqlite = self.engine.dialect.name == "sqlite"
        try:
            with self.engine.begin() as connection:
                if sqlite:  # don't wait: the job's own import may hold SQLite's one write lock for minutes
                    connection.exec_driver_sql(f"PRAGMA busy_timeout={_SQLITE_PROGRESS_WAIT_MS}")
                try:
                    stopper = connection.execute(
                        update(jobs).where(jobs.c.id == self.job_id).values(progress=value, message=text)
                        .returning(jobs.c.cancel_requested_by)
                    ).scalar()  # fmt: skip
                finally:
                    if sqlite:
                        connection.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        except OperationalError as e:
            if not sqlite or "locked" not in str(e):
                raise
            # The write lock is taken (by this job's import, on SQLite): the progress stays in this process, where
            # the server that runs the job reads it (:func:`_public`); a cancellation is still seen (WAL readers
            # are never blocked).
            with self.engine.connect() as connection:
                stopper = connection.execute(
                    select(jobs.c.cancel_requested_by).where(jobs.c.id == self.job_id)
                ).scalar()
        if stopper is not None:
            raise Cancelled(f"cancelled by {stopper} while running")


def _stage_progress(context: JobContext, start: float, span: float) -> Callable[[str, int, int | None], None]:
    def report(stage: str, done: int, total: int | None) -> None:
        share = done / total if total else 0.0
        detail = f"{stage}: {done:,}" + (f" of {total:,}" if total else "")
        context.progress(start + span * share, detail)

    return report


def _cmms_import(context: JobContext) -> dict[str, Any]:
    from wardwatch.services.inventory_import import import_cmms  # noqa: PLC0415 - heavy, only for this job

    site = context.input.get("site")
    report = import_cmms(
        context.engine, Path(context.input["path"]), site=site, skip_bad_rows=True,
        progress=_stage_progress(context, 0.0, 0.95),
    )  # fmt: skip
    summary = report.as_dict()
    summary["changes"] = summary["changes"][:50]
    summary["file"] = Path(summary["file"]).name  # no server paths in a job's result
    return summary


def _capture(context: JobContext) -> dict[str, Any]:
    from wardwatch.services.discovery import discover  # noqa: PLC0415 - heavy, only for this job

    progress = _stage_progress(context, 0.0, 0.8)
    report = discover([Path(context.input["path"])], context.engine, lambda s, d, t: progress(f"reading {s}", d, t))
    context.progress(0.95, "stored", force=True)
    stats = dict(report.as_dict()["stats"])
    stats["files"] = [Path(name).name for name in stats.get("files", [])]  # no server paths in a job's result
    return stats


def _intel_import(context: JobContext) -> dict[str, Any]:
    """Store the file, link an SBOM to the model its metadata names, re-match (only what changed, see rematch)."""
    from wardwatch.services.vuln_findings import import_and_match  # noqa: PLC0415 - heavy, only for this job

    context.progress(0.1, "reading the intelligence file", force=True)
    model = context.input.get("model")
    imported, links, matched = import_and_match(
        context.engine, context.settings, [Path(context.input["path"])], model=model if isinstance(model, str) else None
    )
    report = imported.as_dict()
    report["sbom_links"] = [{"manufacturer": m, "model": n} for name, m, n in links if not name.startswith("mds2/")]
    report["mds2_links"] = [{"manufacturer": m, "model": n} for name, m, n in links if name.startswith("mds2/")]
    report["rematch"] = matched.as_dict() if matched is not None else None
    for item in report["files"]:  # no server paths in a job's result
        item["path"], item["stored"] = Path(item["path"]).name, Path(item["stored"]).name
    return report


#: Job kinds: kind -> (the permission needed to submit it, its handler).
HANDLERS: dict[str, tuple[Permission, Callable[[JobContext], dict[str, Any]]]] = {
    "cmms_import": (Permission.INVENTORY_WRITE, _cmms_import),
    "capture": (Permission.DISCOVERY_WRITE, _capture),
    "intel_import": (Permission.INTEL_WRITE, _intel_import),
}


def required_permission(kind: str) -> Permission:
    """The permission needed to submit a job of ``kind``; ``ValueError`` for an unknown kind."""
    if kind not in HANDLERS:
        raise ValueError(f"unknown job kind {kind!r}; known: {', '.join(HANDLERS)}")
    return HANDLERS[kind][0]


def save_upload(settings: Settings, filename: str, stream: BinaryIO, *, limit: int = MAX_UPLOAD_BYTES) -> Path:
    """Copy an uploaded file into ``<home>/uploads/<random>/<safe name>``; ``ValueError`` if it is too big."""
    name = _SAFE_NAME.sub("_", Path(filename or "upload").name).strip("._") or "upload"
    folder = settings.home / "uploads" / secrets.token_hex(8)
    folder.mkdir(parents=True, exist_ok=False)
    target = folder / name[:150]
    written = 0
    with target.open("wb") as out:
        while block := stream.read(1 << 20):
            written += len(block)
            if written > limit:
                out.close()
                shutil.rmtree(folder, ignore_errors=True)
                raise ValueError(f"{filename} is larger than {limit // 1024**2} MiB; split it and upload the parts")
            out.write(block)
    return target


def authorize(engine: Engine, principal: Principal, kind: str, *, address: str | None = None) -> None:
    """Refuse (and audit the refusal) unless ``principal`` may submit a job of ``kind``."""
    try:
        require(principal, required_permission(kind))
    except PermissionDenied:
        audit.record_now(engine, principal.username, f"jobs.{kind}", outcome="denied", address=address)
        raise


def submit(
    engine: Engine,
    principal: Principal,
    kind: str,
    job_input: dict[str, Any],
    *,
    address: str | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Queue a job after checking the permission its kind needs; return it.

    With ``settings.queue == "postgres"`` the job also goes on the PostgreSQL queue, in the same transaction, for
    ``wardwatch worker``; otherwise the caller hands it to the in-process :class:`JobRunner`."""
    authorize(engine, principal, kind, address=address)
    queued = settings is not None and settings.queue == "postgres"
    if queued and settings is not None:
        settings.check_queue()
    ensure_ready(engine)
    with engine.begin() as connection:
        job_id = connection.execute(
            insert(jobs)
            .values(
                kind=kind,
                status="queued",
                progress=0.0,
                message="queued",
                input=json.dumps(job_input, default=str),
                created_by=principal.username,
                created_at=datetime.now(UTC),
                attempts=0,
            )
            .returning(jobs.c.id)
        ).scalar_one()
        if queued:
            from wardwatch.services.job_queue import defer  # noqa: PLC0415 - procrastinate only with the queue

            defer(connection, int(job_id))
        audit.record(
            connection, principal.username, f"jobs.{kind}", target=f"job {job_id}",
            detail={"file": Path(str(job_input.get("path", ""))).name}, address=address,
        )  # fmt: skip
    return _get(engine, int(job_id))


def _public(row: Any) -> dict[str, Any]:
    job = dict(row._mapping)
    for name in ("created_at", "started_at", "finished_at"):
        job[name] = aware(job[name]) if job[name] is not None else None
    job["result"] = json.loads(job["result"]) if job["result"] else None
    given = json.loads(job.pop("input") or "{}")
    job["file"] = Path(given["path"]).name if given.get("path") else None
    job["cancel_requested"] = job.pop("cancel_requested_by") is not None
    live = _LIVE.get(job["id"])
    if live is not None and job["status"] == "running":
        job["progress"], job["message"] = live
    return job


def _get(engine: Engine, job_id: int) -> dict[str, Any]:
    with engine.connect() as connection:
        row = connection.execute(select(jobs).where(jobs.c.id == job_id)).first()
    if row is None:
        raise JobNotFound(f"no job {job_id}")
    return _public(row)


def get_job(engine: Engine, principal: Principal, job_id: int) -> dict[str, Any]:
    """One job: its creator may always see it; others need ``jobs:read``."""
    ensure_ready(engine)
    job = _get(engine, job_id)
    if job["created_by"] != principal.username and not allows(principal, Permission.JOBS_READ):
        raise JobNotFound(f"no job {job_id}")
    return job


def list_jobs(
    engine: Engine, principal: Principal, *, limit: int = 50, status: str | None = None
) -> tuple[list[dict[str, Any]], int]:
    """The newest jobs (of one ``status`` if given: ``failed`` are the dead letters): every job with ``jobs:read``,
    otherwise the principal's own."""
    ensure_ready(engine)
    query = select(jobs)
    if status is not None:
        if status not in STATUSES:
            raise ValueError(f"unknown job status {status!r}; known: {', '.join(STATUSES)}")
        query = query.where(jobs.c.status == status)
    if not allows(principal, Permission.JOBS_READ):
        query = query.where(jobs.c.created_by == principal.username)
    with engine.connect() as connection:
        total = int(connection.execute(select(func.count()).select_from(query.subquery())).scalar_one())
        rows = connection.execute(query.order_by(jobs.c.id.desc()).limit(limit)).all()
    return [_public(r) for r in rows], total


def _finish(engine: Engine, job_id: int, **values: Any) -> None:
    _LIVE.pop(job_id, None)
    with engine.begin() as connection:
        connection.execute(update(jobs).where(jobs.c.id == job_id).values(finished_at=datetime.now(UTC), **values))


def public_message(settings: Settings, text: str) -> str:
    """A job's message without server paths: an uploaded file is named by its file name only."""
    home = re.escape(str(settings.home))
    text = re.sub(home + r"/uploads/[0-9a-f]+/", "", text)
    return re.sub(home + r"/(?:[^\s:;,'\"]*/)?", "", text)


def _claim(engine: Engine, job_id: int, queued: bool) -> tuple[Any, int] | None:
    """Mark the job running and count the attempt; ``None`` when there is nothing to run.

    In process only a ``queued`` job is taken.  From the queue a ``running`` one is taken too: the queue's lock
    guarantees that no other worker runs it, so its previous run died with its worker."""
    takeable = ("queued", "running") if queued else ("queued",)
    with engine.begin() as connection:
        row = connection.execute(
            select(jobs.c.kind, jobs.c.input, jobs.c.created_by, jobs.c.status, jobs.c.attempts, jobs.c.error)
            .where(jobs.c.id == job_id)
        ).first()  # fmt: skip
        if row is None or row.status not in takeable:
            return None
        attempt = int(row.attempts) + 1
        values: dict[str, Any] = {"status": "running", "started_at": datetime.now(UTC), "attempts": attempt}
        if row.status == "running":
            values["error"] = f"attempt {attempt - 1} stopped: the worker running it died"
        if queued and attempt > MAX_ATTEMPTS:
            values.update(status="failed", finished_at=datetime.now(UTC), attempts=attempt - 1)
            values["message"] = f"gave up after {attempt - 1} attempts: {values.get('error') or row.error}"[:2000]
        else:
            values["message"] = f"started (attempt {attempt} of {MAX_ATTEMPTS})" if queued else "started"
        claimed = connection.execute(
            update(jobs)
            .where(jobs.c.id == job_id, jobs.c.status == row.status, jobs.c.attempts == row.attempts)
            .values(**values)
        ).rowcount
    if not claimed or values["status"] == "failed":
        if claimed:
            audit.record_now(engine, row.created_by, f"jobs.{row.kind}", target=f"job {job_id}", outcome="failure")
        return None
    return row, attempt


def run_job(engine: Engine, settings: Settings, job_id: int, *, queued: bool = False) -> str:
    """Run one job to the end, recording success, cancellation or a one-line failure (never raises).

    Returns the job's status afterwards, or ``"retry"``: only for a job run from the queue (``queued``) that failed
    for a reason other than its input (a bug, the database gone) before its last attempt; it is ``queued`` again
    and the queue's worker schedules the next run.  A job already finished (or cancelled) is left as it is."""
    claimed = _claim(engine, job_id, queued)
    if claimed is None:
        with engine.connect() as connection:
            status = connection.execute(select(jobs.c.status).where(jobs.c.id == job_id)).scalar()
        return str(status or "missing")
    row, attempt = claimed
    context = JobContext(engine, settings, job_id, json.loads(row.input or "{}"))
    try:
        result = HANDLERS[row.kind][1](context)
    except Cancelled as e:
        _finish(engine, job_id, status="cancelled", message=str(e))
        audit.record_now(engine, row.created_by, f"jobs.{row.kind}", target=f"job {job_id}", outcome="failure",
                         detail={"cancelled": str(e)})  # fmt: skip
        return "cancelled"
    except _INPUT_ERRORS as e:
        text = public_message(settings, str(e).strip("'\""))[:2000]
        _finish(engine, job_id, status="failed", message=text, error=text)
        audit.record_now(engine, row.created_by, f"jobs.{row.kind}", target=f"job {job_id}", outcome="failure")
        return "failed"
    except Exception as e:  # a bug or the database gone: keep the worker alive, say so in the job, log the traceback
        logger.exception("job %s failed", job_id)
        said = str(e) if isinstance(e, StoreError) else f"internal error ({type(e).__name__}: {e})"
        text = public_message(settings, said)[:2000]
        if queued and attempt < MAX_ATTEMPTS:
            with engine.begin() as connection:
                connection.execute(
                    update(jobs)
                    .where(jobs.c.id == job_id, jobs.c.status == "running")
                    .values(status="queued", error=text, message=f"attempt {attempt} failed, retrying: {text}"[:2000])
                )
            return "retry"
        _finish(engine, job_id, status="failed", message=text, error=text)
        audit.record_now(engine, row.created_by, f"jobs.{row.kind}", target=f"job {job_id}", outcome="failure")
        return "failed"
    _finish(engine, job_id, status="succeeded", progress=1.0, message="done", result=json.dumps(result, default=str))
    return "succeeded"


def cancel(engine: Engine, principal: Principal, job_id: int, *, address: str | None = None) -> dict[str, Any]:
    """Cancel a job (its submitter or an admin): a queued one never runs; a running one is asked to stop and ends
    ``cancelled`` at its next progress report.  ``TransitionRefused`` when it has already finished."""
    job = get_job(engine, principal, job_id)
    if job["created_by"] != principal.username and principal.role is not Role.ADMIN:
        audit.record_now(engine, principal.username, "jobs.cancel", target=f"job {job_id}", outcome="denied",
                         address=address)  # fmt: skip
        raise PermissionDenied(f"only {job['created_by']} (who submitted job {job_id}) or an admin may cancel it")
    now = datetime.now(UTC)
    with engine.begin() as connection:
        stopped = connection.execute(
            update(jobs)
            .where(jobs.c.id == job_id, jobs.c.status == "queued")
            .values(status="cancelled", cancel_requested_by=principal.username, finished_at=now,
                    message=f"cancelled by {principal.username} before it ran")
        ).rowcount  # fmt: skip
        if not stopped:
            asked = connection.execute(
                update(jobs)
                .where(jobs.c.id == job_id, jobs.c.status == "running")
                .values(cancel_requested_by=principal.username)
            ).rowcount
            if not asked:
                status = connection.execute(select(jobs.c.status).where(jobs.c.id == job_id)).scalar()
                raise TransitionRefused(f"job {job_id} is already {status}: there is nothing to cancel")
        audit.record(connection, principal.username, "jobs.cancel", target=f"job {job_id}",
                     detail={"while": "queued" if stopped else "running"}, address=address)  # fmt: skip
    return _get(engine, job_id)


def deliver_schedules(engine: Engine, settings: Settings) -> None:
    """One tick of scheduled report delivery (never raises: a failure is logged and the next tick tries again)."""
    from wardwatch.services.report_schedules import run_due  # noqa: PLC0415 - services import each other lazily

    try:
        for result in run_due(engine, settings):
            if result["status"] != "delivered":
                logger.warning("report schedule %s: %s", result["id"], result["error"])
    except Exception:  # the database may be briefly unreachable: the next tick tries again
        logger.exception("scheduled report delivery failed")


class JobRunner:
    """Runs jobs on one worker thread of this process (the embedded deployment; issue 10 brings a queue)."""

    def __init__(self, engine: Engine, settings: Settings, *, tick_seconds: float | None = None) -> None:
        """Prepare the worker; :meth:`start` recovers what a previous run left and starts the schedule ticks
        (every ``tick_seconds``, default ``settings.schedule_tick_seconds``; 0: no ticks)."""
        self._engine = engine
        self._settings = settings
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wardwatch-job")
        self._lock = threading.Lock()
        self._futures: list[Future[str]] = []
        self._tick_seconds = settings.schedule_tick_seconds if tick_seconds is None else tick_seconds
        self._stopping = threading.Event()
        self._ticker: threading.Thread | None = None
        self._tick: Future[None] | None = None

    def start(self) -> None:
        """Mark jobs interrupted by a stopped server as failed, and run the ones still queued."""
        with self._engine.begin() as connection:
            connection.execute(
                update(jobs)
                .where(jobs.c.status == "running")
                .values(
                    status="failed",
                    message="interrupted: the server stopped; upload again",
                    finished_at=datetime.now(UTC),
                )
            )
            queued = connection.execute(select(jobs.c.id).where(jobs.c.status == "queued").order_by(jobs.c.id))
            for job_id in queued.scalars():
                self.enqueue(int(job_id))
        if self._tick_seconds > 0 and self._ticker is None:
            self._ticker = threading.Thread(target=self._ticking, name="wardwatch-schedule-tick", daemon=True)
            self._ticker.start()

    @property
    def ticking(self) -> bool:
        """True while the schedule ticks run (between :meth:`start` and :meth:`shutdown`)."""
        return self._ticker is not None and self._ticker.is_alive()

    def _ticking(self) -> None:
        """Queue a delivery tick now and then every interval (skipped while the previous one still runs)."""
        while not self._stopping.is_set():
            with self._lock:
                if self._tick is None or self._tick.done():
                    try:
                        self._tick = self._pool.submit(deliver_schedules, self._engine, self._settings)
                    except RuntimeError:  # the pool was shut down under us
                        return
            self._stopping.wait(self._tick_seconds)

    def enqueue(self, job_id: int) -> None:
        """Run ``job_id`` when the worker is free (with ``WARDWATCH_QUEUE=postgres`` the workers take it instead:
        ``submit`` queued it)."""
        if self._settings.queue != "inprocess":
            return
        with self._lock:
            self._futures = [f for f in self._futures if not f.done()]
            self._futures.append(self._pool.submit(run_job, self._engine, self._settings, job_id))

    def wait(self, timeout: float | None = None) -> None:
        """Wait for every job enqueued so far (tests, shutdown)."""
        with self._lock:
            pending = list(self._futures)
        for future in pending:
            future.result(timeout)

    def shutdown(self) -> None:
        """Stop the schedule ticks, finish the running job (or delivery tick) and stop."""
        self._stopping.set()
        if self._ticker is not None:
            self._ticker.join()
        self._pool.shutdown(wait=True, cancel_futures=False)
