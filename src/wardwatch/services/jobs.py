"""Background jobs: uploads (CMMS exports, captures, intelligence files) processed with visible progress.

A job is a row in ``jobs`` (kind, status, progress, message, result).  ``submit`` checks the permission of the
job's kind and queues it; a :class:`JobRunner` runs queued jobs on a worker thread in this process and records
progress as it goes.  Handlers are registered in one literal dict, :data:`HANDLERS`.  A real queue (issue 10)
replaces the runner, not the table or the handlers: a job is self-describing (its ``input`` is JSON).

Statuses: ``queued`` → ``running`` → ``succeeded`` | ``failed``.  A job left ``running`` by a stopped server is
marked ``failed`` ("interrupted") when the next runner starts, and jobs still ``queued`` are run then.
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

from wardwatch.domain.permissions import Permission, PermissionDenied, Principal, allows, require
from wardwatch.ingest.errors import IngestError
from wardwatch.services import audit
from wardwatch.settings import Settings
from wardwatch.store.database import ensure_ready
from wardwatch.store.errors import StoreError
from wardwatch.store.inventory import aware
from wardwatch.store.schema import jobs

__all__ = [
    "HANDLERS",
    "JobContext",
    "JobNotFound",
    "JobRunner",
    "authorize",
    "get_job",
    "list_jobs",
    "save_upload",
    "submit",
]

logger = logging.getLogger(__name__)

#: Largest upload accepted (a day of SPAN capture of a small hospital fits; split bigger ones).
MAX_UPLOAD_BYTES = 2 * 1024**3
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_PROGRESS_EVERY = 0.5  # seconds between progress writes


class JobNotFound(LookupError):
    """No job has this id (or the principal may not see it)."""


@dataclass(slots=True)
class JobContext:
    """What a handler gets: the database, the settings, the job's input, and a way to report progress."""

    engine: Engine
    settings: Settings
    job_id: int
    input: dict[str, Any]
    _last: float = 0.0

    def progress(self, fraction: float, message: str, *, force: bool = False) -> None:
        """Record progress (0..1) and what is happening; writes at most twice a second unless forced."""
        now = time.monotonic()
        if not force and now - self._last < _PROGRESS_EVERY:
            return
        self._last = now
        with self.engine.begin() as connection:
            connection.execute(
                update(jobs)
                .where(jobs.c.id == self.job_id)
                .values(progress=max(0.0, min(1.0, fraction)), message=message[:2000])
            )


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
    engine: Engine, principal: Principal, kind: str, job_input: dict[str, Any], *, address: str | None = None
) -> dict[str, Any]:
    """Queue a job after checking the permission its kind needs; return it."""
    authorize(engine, principal, kind, address=address)
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
            )
            .returning(jobs.c.id)
        ).scalar_one()
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


def list_jobs(engine: Engine, principal: Principal, *, limit: int = 50) -> tuple[list[dict[str, Any]], int]:
    """The newest jobs: every job with ``jobs:read``, otherwise the principal's own."""
    ensure_ready(engine)
    query = select(jobs)
    if not allows(principal, Permission.JOBS_READ):
        query = query.where(jobs.c.created_by == principal.username)
    with engine.connect() as connection:
        total = int(connection.execute(select(func.count()).select_from(query.subquery())).scalar_one())
        rows = connection.execute(query.order_by(jobs.c.id.desc()).limit(limit)).all()
    return [_public(r) for r in rows], total


def _finish(engine: Engine, job_id: int, **values: Any) -> None:
    with engine.begin() as connection:
        connection.execute(update(jobs).where(jobs.c.id == job_id).values(finished_at=datetime.now(UTC), **values))


def public_message(settings: Settings, text: str) -> str:
    """A job's message without server paths: an uploaded file is named by its file name only."""
    home = re.escape(str(settings.home))
    text = re.sub(home + r"/uploads/[0-9a-f]+/", "", text)
    return re.sub(home + r"/(?:[^\s:;,'\"]*/)?", "", text)


def run_job(engine: Engine, settings: Settings, job_id: int) -> None:
    """Run one queued job to the end, recording success or a one-line failure (never raises)."""
    with engine.begin() as connection:
        claimed = connection.execute(
            update(jobs)
            .where(jobs.c.id == job_id, jobs.c.status == "queued")
            .values(status="running", started_at=datetime.now(UTC), message="started")
        ).rowcount
        row = connection.execute(select(jobs.c.kind, jobs.c.input, jobs.c.created_by).where(jobs.c.id == job_id)).one()
    if not claimed:
        return
    context = JobContext(engine, settings, job_id, json.loads(row.input or "{}"))
    try:
        result = HANDLERS[row.kind][1](context)
    except (IngestError, StoreError, ValueError, LookupError, OSError) as e:
        _finish(engine, job_id, status="failed", message=public_message(settings, str(e).strip("'\""))[:2000])
        audit.record_now(engine, row.created_by, f"jobs.{row.kind}", target=f"job {job_id}", outcome="failure")
        return
    except Exception as e:  # a bug: keep the server alive, say so in the job, log the traceback
        logger.exception("job %s failed", job_id)
        text = public_message(settings, f"internal error ({type(e).__name__}: {e})")
        _finish(engine, job_id, status="failed", message=text[:2000])
        audit.record_now(engine, row.created_by, f"jobs.{row.kind}", target=f"job {job_id}", outcome="failure")
        return
    _finish(engine, job_id, status="succeeded", progress=1.0, message="done", result=json.dumps(result, default=str))


class JobRunner:
    """Runs jobs on one worker thread of this process (the embedded deployment; issue 10 brings a queue)."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        """Prepare the worker; :meth:`start` recovers what a previous run left."""
        self._engine = engine
        self._settings = settings
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wardwatch-job")
        self._lock = threading.Lock()
        self._futures: list[Future[None]] = []

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

    def enqueue(self, job_id: int) -> None:
        """Run ``job_id`` when the worker is free."""
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
        """Finish the running job and stop."""
        self._pool.shutdown(wait=True, cancel_futures=False)
