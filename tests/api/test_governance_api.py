"""``/api/governance`` on the sample hospital: coverage for compliance and auditors (not clinicians or biomed),
training records (compliance records them, the executive may not), the IEC 80001-1 file as a download."""

from __future__ import annotations

import typing
from datetime import UTC, datetime, timedelta

from starlette.testclient import TestClient

from wardwatch.api.routers.governance import Framework
from wardwatch.domain.permissions import Role
from wardwatch.services.governance import FRAMEWORKS


def _auth(tokens: dict[Role, str], role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[role]}"}


def test_the_framework_type_follows_the_service() -> None:
    assert typing.get_args(Framework) == FRAMEWORKS


def test_compliance_and_auditor_read_coverage_clinician_and_biomed_may_not(
    client: TestClient, tokens: dict[Role, str]
) -> None:
    for role in (Role.COMPLIANCE, Role.AUDITOR):
        response = client.get("/api/governance", params={"framework": "hicp"}, headers=_auth(tokens, role))
        assert response.status_code == 200, response.text
        (hicp,) = response.json()["frameworks"]
        assert hicp["key"] == "hicp" and sum(hicp["counts"].values()) == len(hicp["items"]) == 9
    for role in (Role.CLINICIAN, Role.BIOMED):
        refused = client.get("/api/governance", headers=_auth(tokens, role))
        assert refused.status_code == 403 and "governance:read" in refused.json()["detail"]
    assert (
        client.get("/api/governance", params={"framework": "iso"}, headers=_auth(tokens, Role.AUDITOR)).status_code
        == 422
    )


def test_the_sample_hospital_inventory_is_judged_on_its_real_figures(
    client: TestClient, tokens: dict[Role, str]
) -> None:
    report = client.get("/api/governance", headers=_auth(tokens, Role.COMPLIANCE)).json()
    inventory = next(c for c in report["controls"] if c["id"] == "inventory-identified")
    devices = client.get("/api/devices", params={"limit": 1}, headers=_auth(tokens, Role.COMPLIANCE)).json()
    assert inventory["evidence"]["devices"] == devices["total"]
    assert inventory["reason"].startswith(f"{inventory['evidence']['identified']} of {devices['total']} devices")


def test_compliance_records_training_the_executive_may_not(client: TestClient, tokens: dict[Role, str]) -> None:
    done = (datetime.now(UTC).date() - timedelta(days=5)).isoformat()
    body = {"username": "itsec", "course": "incident-response", "completed_on": done, "evidence": "tabletop 2026-11"}
    refused = client.post("/api/governance/training", json=body, headers=_auth(tokens, Role.EXECUTIVE))
    assert refused.status_code == 403 and "training:write" in refused.json()["detail"]
    made = client.post("/api/governance/training", json=body, headers=_auth(tokens, Role.COMPLIANCE))
    assert made.status_code == 201, made.text
    assert (made.json()["role"], made.json()["state"]) == ("itsec", "current")
    listing = client.get("/api/governance/training", headers=_auth(tokens, Role.EXECUTIVE)).json()
    assert any(r["username"] == "itsec" and r["evidence"] == "tabletop 2026-11" for r in listing["records"])
    audit = client.get("/api/audit", params={"action": "training.add"}, headers=_auth(tokens, Role.AUDITOR)).json()
    assert audit["items"][0]["actor"] == "compliance" and audit["items"][0]["target"] == "itsec: incident-response"
    bad = client.post("/api/governance/training", json={**body, "role": "nurse"}, headers=_auth(tokens, Role.ADMIN))
    assert bad.status_code == 422 and "unknown role 'nurse'" in bad.json()["detail"]


def test_the_risk_file_is_a_self_contained_html_download(client: TestClient, tokens: dict[Role, str]) -> None:
    response = client.get("/api/governance/80001-file", headers=_auth(tokens, Role.AUDITOR))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-disposition"].startswith('attachment; filename="wardwatch-iec80001-risk-file-')
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert "4. Hazards and risks" in response.text and "<script" not in response.text
    data = client.get("/api/governance/80001-file", params={"format": "json"}, headers=_auth(tokens, Role.AUDITOR))
    assert data.json()["coverage"]["key"] == "80001" and data.json()["risks"]
