"""A failed upload job names the file, never the server's path to it."""

from __future__ import annotations

import time

from starlette.testclient import TestClient

from tests.api.hospital import Hospital
from wardwatch.domain.permissions import Role


def test_a_failed_job_names_the_file_not_the_server_path(
    client: TestClient, tokens: dict[Role, str], hospital: Hospital
) -> None:
    headers = {"Authorization": f"Bearer {tokens[Role.BIOMED]}"}
    files = {"file": ("broken-export.csv", b"\xff\xfe not a CMMS export at all\n", "text/csv")}
    response = client.post("/api/uploads/cmms", files=files, headers=headers)
    assert response.status_code == 202
    job_id = response.json()["id"]
    deadline = time.monotonic() + 60
    job = client.get(f"/api/jobs/{job_id}", headers=headers).json()
    while job["status"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.2)
        job = client.get(f"/api/jobs/{job_id}", headers=headers).json()
    assert job["status"] == "failed"
    assert "broken-export.csv" in job["message"]
    assert str(hospital.home) not in job["message"] and "/uploads/" not in job["message"]
