"""``/api/jobs``: the dead-letter view (``?status=failed``) and cancellation over HTTP (in-process queue)."""

from __future__ import annotations

import time
from typing import Any

from starlette.testclient import TestClient

from wardwatch.domain.permissions import Role


def _finished(client: TestClient, headers: dict[str, str], job_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    job: dict[str, Any] = client.get(f"/api/jobs/{job_id}", headers=headers).json()
    while job["status"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.2)
        job = client.get(f"/api/jobs/{job_id}", headers=headers).json()
    return job


def test_failed_jobs_are_listed_with_attempts_and_error_and_cannot_be_cancelled(
    client: TestClient, tokens: dict[Role, str]
) -> None:
    biomed = {"Authorization": f"Bearer {tokens[Role.BIOMED]}"}
    files = {"file": ("dead-letter.csv", b"nothing,useful\n1,2\n", "text/csv")}
    created = client.post("/api/uploads/cmms", files=files, headers=biomed)
    assert created.status_code == 202 and created.json()["attempts"] == 0
    job = _finished(client, biomed, created.json()["id"])
    assert job["status"] == "failed" and job["attempts"] == 1 and "dead-letter.csv" in job["error"]
    dead = client.get("/api/jobs", params={"status": "failed"}, headers=biomed).json()
    assert job["id"] in [j["id"] for j in dead["items"]] and {j["status"] for j in dead["items"]} == {"failed"}
    assert client.get("/api/jobs", params={"status": "lost"}, headers=biomed).status_code == 422
    itsec = {"Authorization": f"Bearer {tokens[Role.ITSEC]}"}
    refused = client.post(f"/api/jobs/{job['id']}/cancel", headers=itsec)
    assert refused.status_code == 403 and "or an admin" in refused.json()["detail"]
    finished = client.post(f"/api/jobs/{job['id']}/cancel", headers=biomed)
    assert finished.status_code == 409 and "already failed" in finished.json()["detail"]
    admin = {"Authorization": f"Bearer {tokens[Role.ADMIN]}"}
    assert client.post(f"/api/jobs/{job['id']}/cancel", headers=admin).status_code == 409  # may, but too late
