"""The incident routes on the armed copy of the sample hospital (``tests.api.test_network_api``: its network model
imported and MS17-010 on the Windows hosts): the WannaCry playbook lists exactly the hosts the worm simulation
reaches plus the vulnerable ones; an incident is opened, worked and closed, and audited."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from tests.api.hospital import Hospital
from tests.api.test_network_api import network_hospital
from wardwatch.api.app import create_app
from wardwatch.domain import worm
from wardwatch.domain.permissions import SYSTEM, Role
from wardwatch.services.accounts import create_token
from wardwatch.services.network import load_hosts
from wardwatch.settings import Settings
from wardwatch.store.database import connect
from wardwatch.store.schema import audit_log


@pytest.fixture(scope="module")
def armed(hospital: Hospital, tmp_path_factory: pytest.TempPathFactory) -> Hospital:
    """An armed copy of its own (incidents are written to it)."""
    return network_hospital(hospital, tmp_path_factory.mktemp("incidents-hospital"))


@pytest.fixture(scope="module")
def api(armed: Hospital) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(home=armed.home), start_jobs=False)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def auth(armed: Hospital) -> dict[Role, dict[str, str]]:
    engine = connect(armed.url)
    issued = {role: {"Authorization": f"Bearer {create_token(engine, SYSTEM, role.value, 't')[0]}"} for role in Role}
    engine.dispose()
    return issued


def _vulnerable_devices(armed: Hospital) -> set[int]:
    engine = connect(armed.url)
    hosts = load_hosts(engine)
    engine.dispose()
    return {h.device_id for h in hosts if h.device_id is not None and worm.is_vulnerable(h)}


@pytest.mark.parametrize("seed", [None, "riv-guest", "riv-ent"])
def test_the_wannacry_playbook_lists_what_the_worm_reaches_plus_the_vulnerable_devices(
    api: TestClient, auth: dict[Role, dict[str, str]], armed: Hospital, seed: str | None
) -> None:
    vulnerable = _vulnerable_devices(armed)
    assert len(vulnerable) > 10, "the armed hospital has many vulnerable Windows hosts"
    body = {"seed": seed} if seed else {}
    report = api.post("/api/incidents/playbooks/wannacry/run", json=body, headers=auth[Role.ITSEC]).json()
    listed = {a["device_id"]: a for a in report["affected"]}
    assert report["total"] == len(report["affected"]) == len(listed)
    if seed is None:
        assert set(listed) == vulnerable and {a["status"] for a in listed.values()} == {"seed"}
        return
    spread = api.get(f"/api/network/blast-radius?seed={seed}&worst_case=true&steps=200",
                     headers=auth[Role.ITSEC]).json()  # fmt: skip
    assert spread["saturated"], "200 steps reach every host the worm can"
    reached = {h["device_id"]: s["step"] for s in spread["steps"] for h in s["infected"] if h["device_id"]}
    assert reached, f"the worm gets somewhere from {seed}"
    assert set(listed) == set(reached) | vulnerable
    for device_id, step in reached.items():
        assert listed[device_id]["step"] == step and listed[device_id]["status"] in ("seed", "reached")
    for device_id in vulnerable - set(reached):
        assert listed[device_id]["status"] == "vulnerable"
        assert "not reachable from the seed" in listed[device_id]["why"]
    zones = {a["zone"] for a in report["affected"] if a["zone"]}
    assert {s["zone"] for s in report["isolation"] if s["id"].startswith("isolate:")} == zones
    # the rule letting guest Wi-Fi reach the enterprise zone on tcp/445 is named wherever that zone is hit
    assert any(s["id"] == "rule:guest-to-enterprise-smb" for s in report["isolation"]) == ("riv-ent" in zones)
    assert sum(u["devices"] for u in report["by_unit"]) == report["total"]
    categories = {a["category"] for a in report["affected"]}
    assert {d["category"] for d in report["downtime"]} == categories
    assert all(d["procedures"] for d in report["downtime"])


def test_the_vendor_account_playbook_names_the_any_any_rule(api: TestClient, auth: dict[Role, dict[str, str]]) -> None:
    report = api.post("/api/incidents/playbooks/vendor-account/run", json={"manufacturer": "Philips"},
                      headers=auth[Role.BIOMED]).json()  # fmt: skip
    assert report["total"] > 0 and all(a["manufacturer"] and "Philips" in a["manufacturer"] for a in report["affected"])
    assert all("vendor-any-any" in a["why"] for a in report["affected"])
    assert "rule:vendor-any-any" in {s["id"] for s in report["isolation"]}
    assert any(c["role"] == "Manufacturer support: Philips" for c in report["contacts"])


def test_an_incident_from_open_to_closed(
    api: TestClient, auth: dict[Role, dict[str, str]], armed: Hospital, hospital: Hospital
) -> None:
    itsec = auth[Role.ITSEC]
    refused = api.post("/api/incidents", json={"playbook": "wannacry"}, headers=auth[Role.CLINICIAN])
    assert refused.status_code == 403 and "incidents:write" in refused.json()["detail"]
    made = api.post("/api/incidents", json={"playbook": "wannacry", "seed": "riv-guest", "title": "Guest Wi-Fi worm"},
                    headers=itsec)  # fmt: skip
    assert made.status_code == 201, made.text
    incident = made.json()
    number = incident["id"]
    assert incident["parameters"] == {"seed": "riv-guest"} and incident["title"] == "Guest Wi-Fi worm"
    action = api.post(f"/api/incidents/{number}/actions", headers=itsec,
                      json={"step": "block-445", "note": "core-fw ACL", "done": True, "contained": True})  # fmt: skip
    assert action.status_code == 200 and action.json()["status"] == "contained"
    mine = api.get(f"/api/incidents/{number}", headers=auth[Role.CLINICIAN]).json()
    assert {a["unit"] for a in mine["snapshot"]["affected"]} <= {hospital.unit}
    assert len(mine["snapshot"]["affected"]) <= len(incident["snapshot"]["affected"])
    assert api.post(f"/api/incidents/{number}/actions", json={"step": ""}, headers=itsec).status_code == 422
    assert api.get("/api/incidents/999999", headers=itsec).status_code == 404
    listed = api.get("/api/incidents?status=contained", headers=auth[Role.AUDITOR]).json()
    assert [i["id"] for i in listed] == [number] and listed[0]["actions"] == 1
    closed = api.post(f"/api/incidents/{number}/close", json={"note": "clean"}, headers=itsec).json()
    assert closed["status"] == "closed"
    again = api.post(f"/api/incidents/{number}/actions", json={"step": "late"}, headers=itsec)
    assert again.status_code == 422 and "closed" in again.json()["detail"]
    bad = api.post("/api/incidents/playbooks/wannacry/run", json={"seed": "atlantis"}, headers=itsec)
    assert bad.status_code == 404 and "atlantis" in bad.json()["detail"]
    assert api.post("/api/incidents/playbooks/nope/run", headers=itsec).status_code == 404
    engine = connect(armed.url)
    with engine.connect() as connection:
        trail = connection.execute(
            select(audit_log.c.actor, audit_log.c.action, audit_log.c.outcome, audit_log.c.target)
            .where(audit_log.c.action.like("incidents.%") | audit_log.c.action.like("api POST /api/incidents%"))
            .order_by(audit_log.c.id)
        ).all()  # fmt: skip
    engine.dispose()
    assert ("clinician", "api POST /api/incidents", "denied", None) in trail
    target = f"incident {number}"
    assert [(a, b) for a, b, _, t in trail if t == target] == [
        ("itsec", "incidents.open"), ("itsec", "incidents.action"), ("itsec", "incidents.close")]  # fmt: skip


def test_the_routes_are_described_in_openapi(api: TestClient) -> None:
    spec = api.get("/api/openapi.json").json()
    documented = {(m.upper(), p) for p, item in spec["paths"].items() for m in item if p.startswith("/api/incidents")}
    assert documented == {
        ("GET", "/api/incidents/playbooks"), ("POST", "/api/incidents/playbooks/{name}/run"),
        ("POST", "/api/incidents"), ("GET", "/api/incidents"), ("GET", "/api/incidents/{incident_id}"),
        ("POST", "/api/incidents/{incident_id}/actions"), ("POST", "/api/incidents/{incident_id}/close"),
    }  # fmt: skip
