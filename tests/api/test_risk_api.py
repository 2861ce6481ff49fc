"""The risk routes: rankings with filters, explanation, rollups, what-if (nothing stored), acceptances (audited)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starlette.testclient import TestClient

from tests.api.hospital import Hospital
from wardwatch.domain.permissions import Role


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_ranking_is_sorted_and_filtered(client: TestClient, tokens: dict[Role, str]) -> None:
    auth = _bearer(tokens[Role.ITSEC])
    page = client.get("/api/risk/devices?limit=500", headers=auth).json()
    assert page["total"] > 0, "the demo rescored after loading"
    scores = [r["score"] for r in page["items"]]
    assert scores == sorted(scores, reverse=True)
    level = page["items"][0]["level"]
    only = client.get(f"/api/risk/devices?level={level}&limit=500", headers=auth).json()
    assert 0 < only["total"] <= page["total"] and {r["level"] for r in only["items"]} == {level}
    by_kev = client.get("/api/risk/devices?sort=kev&limit=500", headers=auth).json()["items"]
    assert [r["kev"] for r in by_kev] == sorted((r["kev"] for r in by_kev), reverse=True)
    top = client.get("/api/risk/top?n=3", headers=auth).json()
    assert [r["device"]["id"] for r in top] == [r["device"]["id"] for r in page["items"][:3]]


def test_a_device_risk_is_explained_in_words(client: TestClient, tokens: dict[Role, str]) -> None:
    auth = _bearer(tokens[Role.EXECUTIVE])
    worst = client.get("/api/risk/top?n=1", headers=auth).json()[0]
    explained = client.get(f"/api/devices/{worst['device']['id']}/risk", headers=auth).json()
    assert explained["level"] and explained["ssvc"] and 0 <= explained["score"] <= 100
    assert explained["explanation"]["summary"].startswith(explained["level"].capitalize()) or explained["level"] in (
        explained["explanation"]["summary"].lower()
    )
    assert explained["explanation"]["severity"]["because"]


def test_a_clinician_sees_the_risk_of_their_unit_only(
    client: TestClient, tokens: dict[Role, str], hospital: Hospital
) -> None:
    rows = client.get("/api/risk/devices?limit=500", headers=_bearer(tokens[Role.CLINICIAN])).json()["items"]
    assert rows and {r["device"]["unit"] for r in rows} == {hospital.unit}
    everyone = client.get("/api/risk/devices?limit=500", headers=_bearer(tokens[Role.AUDITOR])).json()["items"]
    outside = next(r for r in everyone if r["device"]["unit"] != hospital.unit)
    refused = client.get(f"/api/devices/{outside['device']['id']}/risk", headers=_bearer(tokens[Role.CLINICIAN]))
    assert refused.status_code == 404


def test_rollups_cover_every_scored_device(client: TestClient, tokens: dict[Role, str]) -> None:
    auth = _bearer(tokens[Role.COMPLIANCE])
    total = client.get("/api/risk/devices?limit=1", headers=auth).json()["total"]
    for by in ("site", "type", "manufacturer"):
        groups = client.get(f"/api/risk/rollup?by={by}", headers=auth).json()
        assert sum(g["devices"] for g in groups) == total
        means = [g["mean_score"] for g in groups]
        assert means == sorted(means, reverse=True)


def test_what_if_shows_before_and_after_and_stores_nothing(client: TestClient, tokens: dict[Role, str]) -> None:
    auth = _bearer(tokens[Role.BIOMED])
    stored = client.get("/api/risk/devices?limit=500", headers=auth).json()["items"]
    worst = stored[0]["device"]
    scenario = {"name": "patch the worst", "changes": [{"patch": {"device": worst["id"], "version": "99.0"}}]}
    result = client.post("/api/risk/simulate", json=scenario, headers=auth).json()
    assert result["overall"]["before"]["devices"] == result["overall"]["after"]["devices"]
    assert result["overall"]["after"]["mean_score"] <= result["overall"]["before"]["mean_score"]
    moved = {d["device"]["id"]: d for d in result["devices"]}
    assert worst["id"] in moved and moved[worst["id"]]["score_change"] < 0
    assert client.get("/api/risk/devices?limit=500", headers=auth).json()["items"] == stored
    bad = client.post("/api/risk/simulate", json={"changes": [{"teleport": {}}]}, headers=auth)
    assert bad.status_code == 422 and "teleport" in bad.json()["detail"]


def test_accepting_and_revoking_a_risk_is_audited(client: TestClient, tokens: dict[Role, str]) -> None:
    auth = _bearer(tokens[Role.ITSEC])
    device = client.get("/api/risk/top?n=1", headers=auth).json()[0]["device"]
    soon = (datetime.now(UTC).date() + timedelta(days=10)).isoformat()
    body = {"device": str(device["id"]), "justification": "patch scheduled", "controls": ["monitoring"],
            "expires_on": soon}  # fmt: skip
    made = client.post("/api/risk/acceptances", json=body, headers=auth)
    assert made.status_code == 201
    new_id = made.json()["id"]
    listed = {a["id"]: a for a in client.get("/api/risk/acceptances", headers=auth).json()}
    assert listed[new_id]["status"] == "active" and listed[new_id]["expiring"] is True
    assert listed[new_id]["approver"] == "itsec" and listed[new_id]["device"]["id"] == device["id"]
    past = client.post("/api/risk/acceptances", json={**body, "expires_on": "2001-01-01"}, headers=auth)
    assert past.status_code == 422 and "future" in past.json()["detail"]
    assert client.post(f"/api/risk/acceptances/{new_id}/revoke", headers=auth).status_code == 204
    assert client.post(f"/api/risk/acceptances/{new_id}/revoke", headers=auth).status_code == 404
    assert all(a["id"] != new_id for a in client.get("/api/risk/acceptances", headers=auth).json())
    trail = client.get("/api/audit?limit=50", headers=_bearer(tokens[Role.AUDITOR])).json()["items"]
    actions = [(e["action"], e["target"]) for e in trail if e["actor"] == "itsec"]
    assert ("risk accept", str(device["id"])) in actions and ("risk revoke", str(new_id)) in actions


def test_the_device_list_sorts_on_risk_and_kev_across_pages(client: TestClient, tokens: dict[Role, str]) -> None:
    auth = _bearer(tokens[Role.ITSEC])
    for sort, order in (("risk_score", "desc"), ("risk_score", "asc"), ("kev", "desc"), ("kev", "asc")):
        whole = client.get(f"/api/devices?sort={sort}&order={order}&limit=500", headers=auth).json()
        items = whole["items"]
        assert len(items) == whole["total"] > 7, "the demo fits one page"
        known = [(r[sort], r["id"]) for r in items if r[sort] is not None]
        unknown = [r["id"] for r in items if r[sort] is None]
        # Values in order (ties by id), devices without a value last, in id order.
        expected = sorted(known, key=lambda p: (-p[0] if order == "desc" else p[0], p[1]))
        assert [r["id"] for r in items] == [i for _, i in expected] + sorted(unknown)
        assert any(v for v, _ in known), f"the demo has devices with a {sort}"
        for offset in (0, 3, len(items) - 4, len(items) - 1):  # pages starting in either part agree with the whole
            page = client.get(f"/api/devices?sort={sort}&order={order}&limit=5&offset={offset}", headers=auth).json()
            assert [r["id"] for r in page["items"]] == [r["id"] for r in items[offset : offset + 5]]
