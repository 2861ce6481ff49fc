"""``/api/jobs``: background jobs and their progress."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from wardwatch.api.deps import EngineDep, authenticated
from wardwatch.api.schemas import Job, JobPage
from wardwatch.domain.permissions import Principal
from wardwatch.services.jobs import get_job, list_jobs

router = APIRouter(prefix="/api/jobs", tags=["jobs"])
# Everyone may follow their own jobs; ``jobs:read`` (checked in the service) shows everyone's.
Someone = Annotated[Principal, Depends(authenticated)]


@router.get("", response_model=JobPage, summary="List jobs")
def jobs_list(engine: EngineDep, principal: Someone, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> JobPage:
    """The newest jobs: all of them with ``jobs:read``, otherwise your own."""
    rows, total = list_jobs(engine, principal, limit=limit)
    return JobPage(items=[Job(**r) for r in rows], total=total)


@router.get("/{job_id}", response_model=Job, summary="One job")
def job_get(job_id: Annotated[int, Path(ge=1, le=2**63 - 1)], engine: EngineDep, principal: Someone) -> Job:
    """A job's status, progress, message and (when done) its report."""
    return Job(**get_job(engine, principal, job_id))
