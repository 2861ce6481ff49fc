"""Every dashboard card's number equals the number of devices the page it links to lists, for every role."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from starlette.testclient import TestClient

from tests.api.hospital import Hospital
from wardwatch.domain.permissions import HOME_DASHBOARD, ROLE_PERMISSIONS, SYSTEM, Permission, Principal, Role
from wardwatch.services import alarms, remediation
from wardwatch.services.dashboards import DASHBOARDS
from wardwatch.services.devices import DeviceFilter, list_devices
from wardwatch.services.worklist import VIEWS, WorkFilter, worklist
from wardwatch.store.database import connect


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _linked_count(client: TestClient, token: str, hospital: Hospital, role: Role, href: str) -> int | None:
    parsed = urlparse(href)
    query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
    if parsed.path == "/devices":
        page = client.get("/api/devices", params={**query, "limit": 1}, headers=_bearer(token))
        assert page.status_code == 200, page.text
        return int(page.json()["total"])
    if parsed.path == "/alarms":  # the flows of the newest verification (the clinician's unit's) that fail
        engine = connect(hospital.url)
        principal = Principal(role.value, role, unit=hospital.unit if role is Role.CLINICIAN else None)
        report = alarms.latest_verification(engine, principal)
        engine.dispose()
        return sum(not r["passed"] for r in report["results"]) if report else 0
    if parsed.path == "/findings":
        engine = connect(hospital.url)
        principal = Principal(role.value, role, unit=hospital.unit if role is Role.CLINICIAN else None)
        where = WorkFilter(kev=query.get("kev") == "1", confidence=query.get("confidence"))
        found = worklist(engine, principal, query["view"], where, limit=1)
        engine.dispose()
        return int(found["devices"])
    return None


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_each_card_counts_what_its_link_lists(
    client: TestClient, tokens: dict[Role, str], hospital: Hospital, role: Role
) -> None:
    checked = 0
    for name, (permission, _build) in DASHBOARDS.items():
        if permission not in ROLE_PERMISSIONS[role] or (name == "clinician" and role is not Role.CLINICIAN):
            continue
        board = client.get(f"/api/dashboards/{name}", headers=_bearer(tokens[role])).json()
        for card in board["cards"]:
            if card["value"] == 0:
                assert card["tone"] == "neutral", card  # a zero is not an alarm
            if not card["href"]:
                continue
            linked = _linked_count(client, tokens[role], hospital, role, card["href"])
            if linked is not None:
                assert card["value"] == linked, (name, card)
                checked += 1
    if role not in (Role.EXECUTIVE, Role.COMPLIANCE):  # their dashboards count no devices they may list
        assert checked >= 2, f"{role.value}: {HOME_DASHBOARD[role]} has too few linked cards"


def test_cards_link_only_where_the_role_may_go(client: TestClient, tokens: dict[Role, str], hospital: Hospital) -> None:
    board = client.get("/api/dashboards/executive", headers=_bearer(tokens[Role.EXECUTIVE])).json()
    # no devices:read, findings:read: only the alarm-assurance and remediation cards link (executives may read both)
    linked = (None, "/alarms", "/remediation?overdue=1")
    assert board["cards"] and all(card["href"] in linked for card in board["cards"])
    assert any(card["href"] == "/alarms" for card in board["cards"])
    overdue = next(c for c in board["cards"] if c["href"] == "/remediation?overdue=1")
    engine = connect(hospital.url)
    try:  # the card's number is the number of items the page it links to lists
        assert overdue["value"] == len(remediation.list_items(engine, SYSTEM, overdue=True, limit=100_000))
    finally:
        engine.dispose()
    biomed = client.get("/api/dashboards/biomed", headers=_bearer(tokens[Role.BIOMED])).json()
    unknown = next(c for c in biomed["cards"] if c["label"].startswith("Unknown devices"))
    assert unknown["value"] > 0 and unknown["href"] == "/devices?seen=unknown"
    silent = next(c for c in biomed["cards"] if c["label"].startswith("Silent devices"))
    engine = connect(hospital.url)
    try:  # the CLI's `devices list --seen silent` and the card agree (they once used different definitions)
        assert silent["value"] == list_devices(engine, DeviceFilter(seen="silent"), limit=None)[1]
    finally:
        engine.dispose()


def test_the_worklist_puts_known_exploited_first(hospital: Hospital) -> None:
    engine = connect(hospital.url)
    principal = Principal("itsec", Role.ITSEC)
    rows = worklist(engine, principal, "vulns", WorkFilter(), limit=500)["rows"]
    engine.dispose()
    kev = [r["in_kev"] for r in rows]
    assert any(kev) and kev == sorted(kev, reverse=True)
    assert VIEWS["vulns"][1] == Permission.FINDINGS_READ
