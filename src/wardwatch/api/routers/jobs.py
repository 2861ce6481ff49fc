"""``/api/jobs``: background jobs, their progress, cancellation, and the failed ones (the dead letters)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request

from wardwatch.api.deps import EngineDep, authenticated, client_address
from wardwatch.api.schemas import Job, JobPage
from wardwatch.domain.permissions import Principal
from wardwatch.services.jobs import cancel, get_job, list_jobs

router = APIRouter(prefix="/api/jobs", tags=["jobs"])
# Everyone may follow their own jobs; ``jobs:read`` (checked in the service) shows everyone's.
Someone = Annotated[Principal, Depends(authenticated)]
JobId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("", response_model=JobPage, summary="List jobs")
def jobs_list(
    engine: EngineDep,
    principal: Someone,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    status: Annotated[
        Literal["queued", "running", "succeeded", "failed", "cancelled"] | None,
        Query(description="Only jobs in this status; `failed` lists the dead letters with their last error."),
    ] = None,
) -> JobPage:
    """The newest jobs: all of them with ``jobs:read``, otherwise your own."""
    rows, total = list_jobs(engine, principal, limit=limit, status=status)
    return JobPage(items=[Job(**r) for r in rows], total=total)


@router.get("/{job_id}", response_model=Job, summary="One job")
def job_get(job_id: JobId, engine: EngineDep, principal: Someone) -> Job:
    """A job's status, progress, message and (when done) its report."""
    return Job(**get_job(engine, principal, job_id))


@router.post(
    "/{job_id}/cancel",
    response_model=Job,
    summary="Cancel a job",
    responses={409: {"description": "The job has already finished."}},
)
def job_cancel(job_id: JobId, request: Request, engine: EngineDep, principal: Someone) -> Job:
    """Cancel a job you submitted (an admin: any job).  A queued job never runs; a running one stops at its next
    progress report and ends ``cancelled`` (``cancel_requested`` is true until then)."""
    return Job(**cancel(engine, principal, job_id, address=client_address(request)))
