"""``/api/uploads/{kind}``: a CMMS export, a capture or an intelligence file, processed as a background job."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Request, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from wardwatch.api.deps import EngineDep, RunnerDep, SettingsDep, authenticated, client_address
from wardwatch.api.schemas import Job
from wardwatch.domain.permissions import Principal
from wardwatch.services.jobs import authorize, save_upload, submit

router = APIRouter(tags=["uploads"])

#: Upload kinds -> job kinds (the job kind decides the permission: inventory:write, discovery:write, intel:write).
KINDS: dict[str, str] = {"cmms": "cmms_import", "capture": "capture", "intel": "intel_import"}


@router.post(
    "/api/uploads/{kind}",
    response_model=Job,
    status_code=202,
    summary="Upload a file for processing",
    responses={202: {"description": "Queued; follow the Location header (the job) for progress."}},
)
async def upload(
    kind: Literal["cmms", "capture", "intel"],
    request: Request,
    response: Response,
    file: Annotated[UploadFile, File(description="CMMS CSV/XLSX, pcap/pcapng, or an advisory/feed file.")],
    engine: EngineDep,
    settings: SettingsDep,
    runner: RunnerDep,
    principal: Annotated[Principal, Depends(authenticated)],
    site: Annotated[str | None, Form(max_length=200, description="CMMS only: the site of every row.")] = None,
    model: Annotated[
        str | None,
        Form(max_length=300, description='Intelligence only: link the SBOM or MDS2 form to this "Manufacturer Model".'),
    ] = None,
) -> Job:
    """Save the file, queue its job and return it (202); the job's progress is at ``/api/jobs/{id}``."""
    job_kind = KINDS[kind]
    # The role check of this route depends on the kind, so it is made here, before anything is stored.
    await run_in_threadpool(lambda: authorize(engine, principal, job_kind, address=client_address(request)))
    path = await run_in_threadpool(save_upload, settings, file.filename or kind, file.file)
    job_input: dict[str, object] = {"path": str(path)}
    if kind == "cmms" and site:
        job_input["site"] = site
    if kind == "intel" and model and model.strip():
        job_input["model"] = model.strip()
    job = await run_in_threadpool(
        lambda: submit(engine, principal, job_kind, job_input, address=client_address(request), settings=settings)
    )
    runner.enqueue(int(job["id"]))
    response.headers["Location"] = f"/api/jobs/{job['id']}"
    return Job(**job)
