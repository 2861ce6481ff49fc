"""Every API route × every role: allowed where the permission matrix says so, refused (403) everywhere else.

The table of routes below is checked against the application's routes, so a new route without a row here (and
so without a role test) fails the suite.
"""

from __future__ import annotations

import itertools
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from starlette.testclient import TestClient

from tests.api.hospital import Hospital
from tests.api.test_alarms_api import deliveries_csv, topology_yaml
from wardwatch.domain.permissions import ROLE_PERMISSIONS, SYSTEM, Permission, Principal, Role
from wardwatch.services import alarms, remediation
from wardwatch.store.database import connect
from wardwatch.store.schema import devices, remediation_items, units

_P = Permission
_counter = itertools.count()


@dataclass(frozen=True)
class Route:
    """One call of a route and the permission it needs (``None``: any authenticated user)."""

    method: str
    template: str
    permission: Permission | None
    ok: int = 200
    params: dict[str, str] = field(default_factory=dict)
    body: str | None = None  # "user", "token", "upload", "scenario", "acceptance", "network", "alarm-…"

    @property
    def id(self) -> str:
        """Test id."""
        path = self.template
        for key, value in self.params.items():
            path = path.replace("{" + key + "}", value)
        return f"{self.method} {path}"


ROUTES: tuple[Route, ...] = (
    Route("GET", "/api/auth/me", None),
    Route("POST", "/api/auth/logout", None, ok=204),
    *(
        Route("GET", "/api/dashboards/{name}", _P(f"dashboard:{n}"), params={"name": n})
        for n in ("executive", "biomed", "itsec", "clinician", "compliance")
    ),  # fmt: skip
    Route("GET", "/api/devices", _P.DEVICES_READ),
    Route("GET", "/api/devices/{reference}", _P.DEVICES_READ, params={"reference": "UNIT_DEVICE"}),
    Route("GET", "/api/observations", _P.OBSERVATIONS_READ),
    Route("GET", "/api/network-findings", _P.OBSERVATIONS_READ),
    Route("GET", "/api/flows", _P.FLOWS_READ),
    Route("GET", "/api/network-map", _P.FLOWS_READ),
    Route("GET", "/api/findings", _P.FINDINGS_READ),
    Route("POST", "/api/uploads/{kind}", _P.INVENTORY_WRITE, ok=202, params={"kind": "cmms"}, body="upload"),
    Route("POST", "/api/uploads/{kind}", _P.DISCOVERY_WRITE, ok=202, params={"kind": "capture"}, body="upload"),
    Route("POST", "/api/uploads/{kind}", _P.INTEL_WRITE, ok=202, params={"kind": "intel"}, body="upload"),
    Route("GET", "/api/jobs", None),
    Route("GET", "/api/jobs/{job_id}", None, ok=404, params={"job_id": "999999"}),
    Route("POST", "/api/jobs/{job_id}/cancel", None, ok=404, params={"job_id": "999999"}),
    Route("GET", "/api/users", _P.USERS_READ),
    Route("POST", "/api/users", _P.USERS_ADMIN, ok=201, body="user"),
    Route("POST", "/api/users/{username}/disable", _P.USERS_ADMIN, params={"username": "NEW_USER"}),
    Route("POST", "/api/users/{username}/tokens", None, ok=201, params={"username": "SELF"}, body="token"),
    Route("GET", "/api/audit", _P.AUDIT_READ),
    Route("GET", "/api/audit/verify", _P.AUDIT_READ),
    Route("GET", "/api/reports/{name}", _P.REPORTS_READ, params={"name": "board"}),
    Route("GET", "/api/reports/{name}", _P.AUDIT_READ, params={"name": "audit"}),
    Route("GET", "/api/reports/schedules", _P.REPORTS_READ),
    Route("POST", "/api/reports/schedules", _P.USERS_ADMIN, ok=201, body="schedule"),
    Route(
        "POST", "/api/reports/schedules/{schedule_id}/disable", _P.USERS_ADMIN, params={"schedule_id": "NEW_SCHEDULE"}
    ),
    Route(
        "DELETE", "/api/reports/schedules/{schedule_id}", _P.USERS_ADMIN, ok=204, params={"schedule_id": "NEW_SCHEDULE"}
    ),  # fmt: skip
    Route("GET", "/api/exports/{what}", _P.DEVICES_READ, params={"what": "devices"}),
    Route("GET", "/api/exports/{what}", _P.FINDINGS_READ, params={"what": "findings"}),
    Route("GET", "/api/risk/devices", _P.RISK_READ),
    Route("GET", "/api/risk/top", _P.RISK_READ),
    Route("GET", "/api/devices/{reference}/risk", _P.RISK_READ, params={"reference": "UNIT_DEVICE"}),
    Route("GET", "/api/risk/rollup", _P.RISK_READ),
    Route("GET", "/api/risk/controls", _P.RISK_READ),
    Route("POST", "/api/risk/simulate", _P.RISK_READ, body="scenario"),
    Route("GET", "/api/risk/acceptances", _P.RISK_READ),
    Route("POST", "/api/risk/acceptances", _P.RISK_ACCEPT, ok=201, body="acceptance"),
    Route(
        "POST",
        "/api/risk/acceptances/{acceptance_id}/revoke",
        _P.RISK_ACCEPT,
        ok=204,
        params={"acceptance_id": "NEW_ACCEPTANCE"},
    ),  # fmt: skip
    Route("GET", "/api/network/model", _P.NETWORK_READ),
    Route("POST", "/api/network/model", _P.NETWORK_WRITE, body="network"),
    Route("GET", "/api/network/check", _P.NETWORK_READ),
    Route("GET", "/api/network/paths", _P.NETWORK_READ),
    Route("GET", "/api/network/blast-radius", _P.NETWORK_READ, body="seed"),
    Route("GET", "/api/network/recommend", _P.NETWORK_READ),
    Route("GET", "/api/network/recommend/policy", _P.NETWORK_READ),
    Route("POST", "/api/network/simulate", _P.NETWORK_WRITE, body="network"),
    Route("GET", "/api/alarms/topology", _P.ALARMS_READ, body="alarm-topology"),
    Route("POST", "/api/alarms/topology", _P.ALARMS_WRITE, body="alarm-topology-upload"),
    Route("GET", "/api/alarms/verification", _P.ALARMS_READ, body="alarm-verified"),
    Route("POST", "/api/alarms/verification", _P.ALARMS_WRITE, body="alarm-topology"),
    Route("GET", "/api/alarms/budgets", _P.ALARMS_READ),
    Route("POST", "/api/alarms/budgets", _P.ALARMS_BUDGET, ok=201, body="alarm-budget"),
    Route(
        "POST",
        "/api/alarms/budgets/{budget_id}/approve",
        _P.ALARMS_BUDGET,
        params={"budget_id": "NEW_BUDGET"},
        body="alarm-topology",
    ),  # fmt: skip
    Route("GET", "/api/alarms/monitoring", _P.ALARMS_READ),
    Route("GET", "/api/alarms/evidence", _P.ALARMS_READ, body="alarm-evidence"),
    Route("POST", "/api/alarms/deliveries", _P.ALARMS_WRITE, body="alarm-deliveries"),
    Route("GET", "/api/remediation", _P.REMEDIATION_READ),
    Route("GET", "/api/remediation/metrics", _P.REMEDIATION_READ),
    Route("POST", "/api/remediation/sync", _P.REMEDIATION_TRIAGE),
    Route("GET", "/api/remediation/validations", _P.REMEDIATION_READ),
    Route("POST", "/api/remediation/validations", _P.REMEDIATION_TRIAGE, ok=201, body="validation"),
    Route("GET", "/api/remediation/windows", _P.REMEDIATION_READ),
    Route("POST", "/api/remediation/windows", _P.REMEDIATION_TRIAGE, ok=201, body="window"),
    Route("GET", "/api/remediation/{item_id}", _P.REMEDIATION_READ, params={"item_id": "UNIT_ITEM"}),
    Route("GET", "/api/remediation/{item_id}/plan", _P.REMEDIATION_READ, params={"item_id": "UNIT_ITEM"}),
    Route("GET", "/api/integrations/tickets.csv", _P.REMEDIATION_READ),
    Route("POST", "/api/integrations/siem/preview", _P.AUDIT_READ),
    # The route needs remediation:read; the step (mitigating, from open) is IT security's: 403 names it for others
    Route(
        "POST",
        "/api/remediation/{item_id}/advance",
        _P.REMEDIATION_MITIGATE,
        params={"item_id": "OPEN_ITEM"},
        body="mitigate",
    ),  # fmt: skip
    Route(
        "POST",
        "/api/remediation/{item_id}/sign-off",
        _P.REMEDIATION_SIGNOFF,
        params={"item_id": "SCHEDULED_ITEM"},
        body="signoff",
    ),  # fmt: skip
    Route("GET", "/api/incidents/playbooks", _P.INCIDENTS_READ),
    Route("POST", "/api/incidents/playbooks/{name}/run", _P.INCIDENTS_READ, params={"name": "recall"}),
    Route("POST", "/api/incidents", _P.INCIDENTS_WRITE, ok=201, body="incident"),
    Route("GET", "/api/incidents", _P.INCIDENTS_READ),
    Route("GET", "/api/incidents/{incident_id}", _P.INCIDENTS_READ, params={"incident_id": "NEW_INCIDENT"}),
    Route(
        "POST",
        "/api/incidents/{incident_id}/actions",
        _P.INCIDENTS_WRITE,
        params={"incident_id": "NEW_INCIDENT"},
        body="incident-action",
    ),  # fmt: skip
    Route("POST", "/api/incidents/{incident_id}/close", _P.INCIDENTS_WRITE, params={"incident_id": "NEW_INCIDENT"}),
    Route("GET", "/api/governance", _P.GOVERNANCE_READ),
    Route("GET", "/api/governance/80001-file", _P.GOVERNANCE_READ),
    Route("GET", "/api/governance/training", _P.GOVERNANCE_READ),
    # Sent without a body: the permission is checked first (403), an allowed role then gets 422 for the missing body
    Route("POST", "/api/governance/training", _P.TRAINING_WRITE, ok=422),
)

#: A risk acceptance (the device is filled in per call).
ACCEPTANCE = {"justification": "vendor patch next quarter", "controls": ["network-segmentation"],
              "expires_on": (datetime.now(UTC).date() + timedelta(days=90)).isoformat()}  # fmt: skip

#: A report schedule (a weekly board report into a folder under the hospital's home).
SCHEDULE = {"report": "board", "cadence": "weekly", "at_hour": 7, "weekday": 0, "folder": "reports/matrix"}


def _unit_device(hospital: Hospital) -> str:
    engine = connect(hospital.url)
    with engine.connect() as connection:
        found = connection.execute(
            select(devices.c.id).join(units, devices.c.unit_id == units.c.id).where(units.c.department == hospital.unit)
        ).scalar()
    engine.dispose()
    return str(found)


def _unit_item(hospital: Hospital, state: str | None) -> int:
    """A remediation item with a device in the clinician's unit (created from the findings once), put in ``state``
    first when given (so that every role's call starts from the same state)."""
    engine = connect(hospital.url)
    clinician = Principal("matrix", Role.CLINICIAN, unit=hospital.unit)
    if not remediation.list_items(engine, clinician, limit=1):
        remediation.sync(engine, SYSTEM)
    item = remediation.list_items(engine, clinician, limit=1)[0]["id"]
    if state is not None:
        with engine.begin() as connection:
            connection.execute(update(remediation_items).where(remediation_items.c.id == item).values(state=state))
    engine.dispose()
    return int(item)


def _alarm_network(hospital: Hospital, *, verified: bool = False) -> None:
    """Import the test alarm network (idempotent) and, with ``verified``, make sure a verification is stored."""
    engine = connect(hospital.url)
    with tempfile.TemporaryDirectory() as folder:
        topology = Path(folder) / "api_topology.yaml"
        topology.write_bytes(topology_yaml(hospital.unit))
        alarms.import_topology(engine, topology, SYSTEM)
    if verified and alarms.latest_verification(engine, SYSTEM) is None:
        alarms.verify(engine, SYSTEM, 1)
    engine.dispose()


def _call(client: TestClient, route: Route, token: str, role: Role, hospital: Hospital) -> Any:
    if route.body is not None and route.body.startswith("alarm-"):
        _alarm_network(hospital, verified=route.body == "alarm-verified")
    path = route.template
    for key, value in route.params.items():
        if value == "UNIT_DEVICE":
            value = _unit_device(hospital)
        elif value == "SELF":
            value = role.value
        elif value == "NEW_USER":
            value = f"target{next(_counter)}"
            client.post("/api/users", json={"username": value, "role": "biomed", "password": "x" * 16},
                        headers={"Authorization": f"Bearer {ADMIN_TOKEN[0]}"})  # fmt: skip
        elif value == "NEW_BUDGET":
            made = client.post("/api/alarms/budgets", json=_alarm_budget(hospital),
                               headers={"Authorization": f"Bearer {ADMIN_TOKEN[0]}"})  # fmt: skip
            value = str(made.json()["id"])
        elif value in ("UNIT_ITEM", "OPEN_ITEM", "SCHEDULED_ITEM"):
            value = str(_unit_item(hospital, {"OPEN_ITEM": "open", "SCHEDULED_ITEM": "scheduled"}.get(value)))
        elif value == "NEW_INCIDENT":
            made = client.post("/api/incidents", json={"playbook": "recall"},
                               headers={"Authorization": f"Bearer {ADMIN_TOKEN[0]}"})  # fmt: skip
            value = str(made.json()["id"])
        elif value == "NEW_SCHEDULE":
            made = client.post("/api/reports/schedules", json=SCHEDULE,
                               headers={"Authorization": f"Bearer {ADMIN_TOKEN[0]}"})  # fmt: skip
            value = str(made.json()["id"])
        elif value == "NEW_ACCEPTANCE":
            made = client.post("/api/risk/acceptances", json={**ACCEPTANCE, "device": _unit_device(hospital)},
                               headers={"Authorization": f"Bearer {ADMIN_TOKEN[0]}"})  # fmt: skip
            value = str(made.json()["id"])
        path = path.replace("{" + key + "}", value)
    headers = {"Authorization": f"Bearer {token}"}
    if route.body == "scenario":
        body = {"name": "matrix", "changes": [{"isolate": {"unit": hospital.unit}}]}
        return client.request(route.method, path, json=body, headers=headers)
    if route.body == "acceptance":
        return client.request(
            route.method, path, json={**ACCEPTANCE, "device": _unit_device(hospital)}, headers=headers
        )
    if route.body == "user":
        body = {"username": f"new{next(_counter)}", "role": "auditor", "password": "p" * 16}
        return client.request(route.method, path, json=body, headers=headers)
    if route.body == "token":
        return client.request(route.method, path, json={"name": "matrix", "expires_days": 1}, headers=headers)
    if route.body == "upload":
        files = {"file": ("empty.csv", b"not,a,known,file\n", "text/csv")}
        return client.request(route.method, path, files=files, headers=headers)
    if route.body == "network":
        yaml = hospital.home / "sample-hospital" / "network" / "network.yaml"
        files = [("files", (yaml.name, yaml.read_bytes(), "text/yaml"))]
        return client.request(route.method, path, files=files, headers=headers)
    if route.body == "alarm-topology-upload":
        topology = {"file": ("api_topology.yaml", topology_yaml(hospital.unit), "application/yaml")}
        return client.request(route.method, path, files=topology, headers=headers)
    if route.body == "alarm-budget":
        return client.request(route.method, path, json=_alarm_budget(hospital), headers=headers)
    if route.body == "alarm-deliveries":
        deliveries = {"files": ("deliveries.csv", deliveries_csv(hospital.unit), "text/csv")}
        return client.request(route.method, path, files=deliveries, headers=headers)
    if route.body == "validation":
        body = {"manufacturer": "Acme", "model": "Pump 9", "fix": f"9.{next(_counter)}", "document": "PSB-1"}
        return client.request(route.method, path, json=body, headers=headers)
    if route.body == "window":
        start = datetime.now(UTC) + timedelta(days=1)
        body = {
            "unit": hospital.unit,
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=4)).isoformat(),
        }
        return client.request(route.method, path, json=body, headers=headers)
    if route.body == "mitigate":
        return client.request(route.method, path, json={"to": "mitigated", "controls": ["isolation"]}, headers=headers)
    if route.body == "signoff":
        return client.request(route.method, path, json={"note": "spare devices arranged"}, headers=headers)
    if route.body == "seed":
        return client.request(route.method, path, params={"seed": "riv-guest"}, headers=headers)
    if route.body == "schedule":
        return client.request(route.method, path, json=SCHEDULE, headers=headers)
    if route.body == "incident":
        return client.request(route.method, path, json={"playbook": "recall"}, headers=headers)
    if route.body == "incident-action":
        return client.request(route.method, path, json={"step": "confirm", "note": "matrix"}, headers=headers)
    if route.body == "alarm-evidence":  # the clinician's own unit: a clinician may read only theirs
        return client.request(route.method, path, params={"unit": hospital.unit, "format": "html"}, headers=headers)
    return client.request(route.method, path, headers=headers)


def _alarm_budget(hospital: Hospital) -> dict[str, Any]:
    """A budget of the clinician's unit (a clinician may propose and approve it) naming a recipient of the test
    alarm network."""
    return {"unit": hospital.unit, "alarm_type": "spo2-low", "priority": "medium", "max_delivery_s": 12,
            "primary": ["ed-central"]}  # fmt: skip


ADMIN_TOKEN: list[str] = []


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.id)
def test_route_allows_exactly_the_roles_the_matrix_allows(
    client: TestClient, tokens: dict[Role, str], hospital: Hospital, route: Route, role: Role
) -> None:
    ADMIN_TOKEN[:] = [tokens[Role.ADMIN]]
    response = _call(client, route, tokens[role], role, hospital)
    allowed = route.permission is None or route.permission in ROLE_PERMISSIONS[role]
    expected = route.ok if allowed else 403
    assert response.status_code == expected, response.text
    if expected == 403:
        problem = response.json()
        assert response.headers["content-type"] == "application/problem+json"
        assert problem["status"] == 403 and route.permission.value in problem["detail"]  # type: ignore[union-attr]


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.id)
def test_every_route_refuses_anonymous_callers(client: TestClient, route: Route) -> None:
    path = route.template
    for key, value in route.params.items():
        path = path.replace("{" + key + "}", value)
    response = client.request(route.method, path)
    assert response.status_code == 401
    assert response.json()["title"] == "Unauthorized"


def test_the_table_covers_every_api_route(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    registered = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    public = {("POST", "/api/auth/login")}
    assert registered - public == {(r.method, r.template) for r in ROUTES}
