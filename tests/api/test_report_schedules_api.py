"""``/api/reports/schedules``: who may list and schedule, what a schedule looks like, and refusals as problems."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.testclient import TestClient

from tests.api.hospital import Hospital
from wardwatch.domain.permissions import Role

PATH = "/api/reports/schedules"


def auth(tokens: dict[Role, str], role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[role]}"}


def listed(client: TestClient, tokens: dict[Role, str], role: Role) -> dict[int, dict[str, Any]]:
    response = client.get(PATH, headers=auth(tokens, role))
    assert response.status_code == 200, response.text
    return {s["id"]: s for s in response.json()}


def test_the_admin_schedules_reports_and_each_reader_sees_those_of_their_reports(
    client: TestClient, tokens: dict[Role, str], hospital: Hospital
) -> None:
    body = {"report": "board", "format": "pdf", "cadence": "weekly", "at_hour": 6, "weekday": 4,
            "recipients": ["Board@Hospital.org"], "folder": "reports/api-board"}  # fmt: skip
    made = client.post(PATH, json=body, headers=auth(tokens, Role.ADMIN))
    assert made.status_code == 201, made.text
    board = made.json()
    assert board["created_by"] == "admin" and board["recipients"] == ["Board@hospital.org"]
    assert board["when"] == "weekly on Friday at 06:00 UTC" and board["enabled"] is True
    assert board["last_status"] is None and board["folder"] == "reports/api-board"
    next_run = datetime.fromisoformat(board["next_run_at"])
    assert next_run > datetime.now(UTC) and next_run.weekday() == 4 and (next_run.hour, next_run.minute) == (6, 0)
    audit_body = {"report": "audit", "format": "html", "cadence": "monthly", "at_hour": 1, "day": 28,
                  "folder": "reports/api-audit"}  # fmt: skip
    audit = client.post(PATH, json=audit_body, headers=auth(tokens, Role.ADMIN)).json()

    assert board["id"] in listed(client, tokens, Role.EXECUTIVE)
    assert audit["id"] not in listed(client, tokens, Role.EXECUTIVE)  # no audit:read
    assert {board["id"], audit["id"]} <= set(listed(client, tokens, Role.COMPLIANCE))
    assert listed(client, tokens, Role.AUDITOR)[audit["id"]]["when"] == "monthly on day 28 at 01:00 UTC"
    assert client.get(PATH, headers=auth(tokens, Role.CLINICIAN)).status_code == 403

    disabled = client.post(f"{PATH}/{audit['id']}/disable", headers=auth(tokens, Role.ADMIN))
    assert disabled.status_code == 200 and disabled.json()["enabled"] is False
    assert client.delete(f"{PATH}/{board['id']}", headers=auth(tokens, Role.ADMIN)).status_code == 204
    assert board["id"] not in listed(client, tokens, Role.ADMIN)
    gone = client.delete(f"{PATH}/{board['id']}", headers=auth(tokens, Role.ADMIN))
    assert gone.status_code == 404 and f"no report schedule {board['id']}" in gone.json()["detail"]
    trail = client.get("/api/audit", params={"actor": "admin", "limit": 500}, headers=auth(tokens, Role.ADMIN))
    actions = {(e["action"], e["target"]) for e in trail.json()["items"]}
    assert ("reports.schedule_add", f"report schedule {board['id']}") in actions
    assert ("reports.schedule_delete", f"report schedule {board['id']}") in actions


def test_only_an_admin_may_schedule(client: TestClient, tokens: dict[Role, str]) -> None:
    body = {"report": "board", "cadence": "daily", "at_hour": 7, "folder": "reports/x"}
    for role in (Role.EXECUTIVE, Role.AUDITOR, Role.COMPLIANCE, Role.BIOMED):
        refused = client.post(PATH, json=body, headers=auth(tokens, role))
        assert refused.status_code == 403
        assert "users:admin" in refused.json()["detail"]


def test_bad_schedules_are_422_problems(client: TestClient, tokens: dict[Role, str]) -> None:
    base = {"report": "board", "cadence": "daily", "at_hour": 7}
    cases = [
        ({"folder": "../../etc"}, "not inside the Wardwatch home"),
        ({"folder": "/tmp"}, "not inside the Wardwatch home"),  # noqa: S108 - the refusal under test
        ({"recipients": ["board@localhost"]}, "not a domain name"),
        ({}, "must deliver somewhere"),
        ({"weekday": 1, "folder": "r"}, "only a weekly schedule takes a weekday"),
    ]
    before = set(listed(client, tokens, Role.ADMIN))
    for extra, detail in cases:
        response = client.post(PATH, json={**base, **extra}, headers=auth(tokens, Role.ADMIN))
        assert response.status_code == 422, response.text
        assert detail in response.json()["detail"]
    for invalid in ({**base, "at_hour": 24, "folder": "r"}, {**base, "folder": "r", "format": "docx"},
                    {**base, "folder": "r", "smtp_password": "x"}):  # fmt: skip
        assert client.post(PATH, json=invalid, headers=auth(tokens, Role.ADMIN)).status_code == 422
    assert set(listed(client, tokens, Role.ADMIN)) == before
