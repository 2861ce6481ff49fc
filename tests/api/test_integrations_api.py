"""``/api/integrations`` on the sample hospital: the tickets CSV (what each role may see of the work items) and the
SIEM preview (audit:read; nothing sent, no checkpoint moved)."""

from __future__ import annotations

import csv
import io

from starlette.testclient import TestClient

from tests.api.hospital import Hospital
from wardwatch.domain.permissions import SYSTEM, Role
from wardwatch.services import remediation, siem
from wardwatch.services.tickets import COLUMNS
from wardwatch.store.database import connect


def _synced(hospital: Hospital) -> None:
    engine = connect(hospital.url)
    remediation.sync(engine, SYSTEM)
    engine.dispose()


def _auth(tokens: dict[Role, str], role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[role]}"}


def test_tickets_csv_is_a_download_of_the_items_the_role_sees(
    client: TestClient, tokens: dict[Role, str], hospital: Hospital
) -> None:
    _synced(hospital)
    for role in (Role.BIOMED, Role.CLINICIAN):
        response = client.get("/api/integrations/tickets.csv", headers=_auth(tokens, role))
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert response.headers["content-disposition"].startswith('attachment; filename="wardwatch-tickets-')
        rows = list(csv.reader(io.StringIO(response.text, newline="")))
        assert rows[0] == list(COLUMNS)
        listed = client.get("/api/remediation", params={"limit": 5000}, headers=_auth(tokens, role)).json()
        assert sorted(r[0] for r in rows[1:]) == sorted(f"WW-{i['id']}" for i in listed)
        assert len(rows) > 1
    response = client.get("/api/integrations/tickets.csv", headers=_auth(tokens, Role.AUDITOR))
    assert response.status_code == 200
    denied = client.get("/api/integrations/tickets.csv")
    assert denied.status_code == 401


def test_siem_preview_needs_audit_read_and_moves_nothing(
    client: TestClient, tokens: dict[Role, str], hospital: Hospital
) -> None:
    first = client.post(
        "/api/integrations/siem/preview", params={"format": "json"}, headers=_auth(tokens, Role.AUDITOR)
    )
    assert first.status_code == 200, first.text
    events = first.json()
    assert events and {"id", "time", "kind", "severity", "message", "payload"} <= set(events[0])
    assert any(e["kind"] == "finding.kev" for e in events)  # the sample hospital has KEV findings (CVE-2099-0001)
    assert all(e["payload"].startswith("{") for e in events)
    cef = client.post("/api/integrations/siem/preview", headers=_auth(tokens, Role.COMPLIANCE)).json()
    assert all(e["payload"].startswith("CEF:0|Wardwatch|Wardwatch|") for e in cef)
    assert {e["id"] for e in cef} >= {e["id"] for e in events}  # nothing was marked as sent in between
    engine = connect(hospital.url)
    assert siem.checkpoints(engine) == {}
    engine.dispose()
    for role in (Role.ITSEC, Role.BIOMED, Role.CLINICIAN, Role.EXECUTIVE):
        refused = client.post("/api/integrations/siem/preview", headers=_auth(tokens, role))
        assert refused.status_code == 403 and "audit:read" in refused.json()["detail"]
    bad = client.post("/api/integrations/siem/preview", params={"format": "leef"}, headers=_auth(tokens, Role.ADMIN))
    assert bad.status_code == 422
