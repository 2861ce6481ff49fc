"""The API's behaviour: sessions with CSRF, lock-out, problem details, pagination, unit scoping, upload jobs."""

from __future__ import annotations

import time

import pytest
from starlette.testclient import TestClient

from tests.api.hospital import Hospital
from wardwatch.api.app import SECURITY_HEADERS
from wardwatch.domain.permissions import SYSTEM, Principal, Role
from wardwatch.services.accounts import add_user, create_token
from wardwatch.store.database import connect


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_session_needs_the_csrf_header_for_changes_and_ends_at_logout(hospital: Hospital, client: TestClient) -> None:
    browser = TestClient(client.app)  # its own cookie jar; the session's client keeps the lifespan (job runner)
    response = browser.post("/api/auth/login", json={"username": "biomed", "password": hospital.passwords["biomed"]})
    assert response.status_code == 200
    csrf = response.json()["csrf_token"]
    cookie = response.headers.get_list("set-cookie")
    assert any("ww_session=" in c and "HttpOnly" in c and "SameSite=strict" in c for c in cookie)
    assert browser.cookies["ww_csrf"] == csrf
    assert browser.get("/api/auth/me").json()["role"] == "biomed"
    files = {"file": ("x.csv", b"a,b\n", "text/csv")}
    refused = browser.post("/api/uploads/cmms", files=files)
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["detail"]
    assert browser.post("/api/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert browser.get("/api/auth/me").status_code == 401


def test_repeated_wrong_passwords_lock_the_account(hospital: Hospital, client: TestClient) -> None:
    engine = connect(hospital.url)
    add_user(engine, SYSTEM, "locky", "auditor", "the right password")
    engine.dispose()
    for _ in range(5):
        response = client.post("/api/auth/login", json={"username": "locky", "password": "the wrong password"})
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
    response = client.post("/api/auth/login", json={"username": "locky", "password": "the right password"})
    assert response.status_code == 401  # locked, and the message does not say whether the password was right


def test_errors_are_problem_details_and_headers_are_secure(client: TestClient, tokens: dict[Role, str]) -> None:
    response = client.get("/api/devices?limit=0", headers=_bearer(tokens[Role.BIOMED]))
    assert response.status_code == 422
    problem = response.json()
    assert problem["status"] == 422 and problem["errors"][0]["location"] == "query.limit"
    assert problem["detail"].startswith("query.limit:")
    missing = client.get("/api/devices/NO-SUCH-TAG", headers=_bearer(tokens[Role.BIOMED]))
    assert missing.status_code == 404 and "NO-SUCH-TAG" in missing.json()["detail"]
    for page in (client.get("/login"), response):
        for name, value in SECURITY_HEADERS.items():
            assert page.headers[name] == value
    assert "'unsafe-inline'" not in SECURITY_HEADERS["Content-Security-Policy"]


def test_device_pages_follow_each_other_and_filters_apply(client: TestClient, tokens: dict[Role, str]) -> None:
    headers = _bearer(tokens[Role.ITSEC])
    first = client.get("/api/devices?limit=40", headers=headers).json()
    second = client.get(f"/api/devices?limit=40&after={first['next_after']}", headers=headers).json()
    ids = [d["id"] for d in first["items"]] + [d["id"] for d in second["items"]]
    assert ids == sorted(ids) and len(set(ids)) == 80
    assert first["total"] == second["total"] > 80
    critical = client.get("/api/devices?criticality=life-sustaining", headers=headers).json()
    assert critical["items"] and {d["criticality"] for d in critical["items"]} == {"life-sustaining"}
    tag = first["items"][3]["asset_tag"]
    found = client.get(f"/api/devices?q={tag.lower()}", headers=headers).json()
    assert tag in [d["asset_tag"] for d in found["items"]]
    by_vendor = client.get("/api/devices?sort=manufacturer&order=desc&limit=500", headers=headers).json()["items"]
    names = [d["manufacturer"] for d in by_vendor if d["manufacturer"]]
    assert names == sorted(names, reverse=True)
    unknown = client.get("/api/devices?seen=unknown", headers=headers).json()
    assert 0 < unknown["total"] < first["total"]


def test_a_clinician_sees_their_unit_only(hospital: Hospital, client: TestClient, tokens: dict[Role, str]) -> None:
    mine = client.get("/api/devices?limit=500", headers=_bearer(tokens[Role.CLINICIAN])).json()
    everyone = client.get("/api/devices?limit=500", headers=_bearer(tokens[Role.BIOMED])).json()
    assert mine["items"] and {d["department"] for d in mine["items"]} == {hospital.unit}
    outside = next(d for d in everyone["items"] if d["department"] != hospital.unit)
    response = client.get(f"/api/devices/{outside['id']}", headers=_bearer(tokens[Role.CLINICIAN]))
    assert response.status_code == 404


def test_a_device_shows_its_evidence_and_findings(client: TestClient, tokens: dict[Role, str]) -> None:
    detail = client.get("/api/devices/1", headers=_bearer(tokens[Role.ITSEC])).json()
    sources = {(e["attribute"], e["source_kind"]) for e in detail["evidence"]}
    assert ("manufacturer", "cmms") in sources
    listed = detail["vulnerabilities"]
    assert {"CVE-2099-0001", "CVE-2099-0002"} <= {v["vulnerability_id"] for v in listed}
    order = [(not v["in_kev"], -(v["cvss_score"] or -1)) for v in listed]
    assert order == sorted(order)  # known-exploited first, then by CVSS
    findings = client.get("/api/findings?kev=true", headers=_bearer(tokens[Role.ITSEC])).json()
    assert findings["items"] and all(f["in_kev"] for f in findings["items"])
    # A role without flows:read gets the device without its conversations.
    compliance = client.get("/api/devices/1", headers=_bearer(tokens[Role.COMPLIANCE])).json()
    assert compliance["talks_to"] == [] and compliance["evidence"]


def test_a_token_is_narrowed_to_its_scopes(hospital: Hospital, client: TestClient) -> None:
    engine = connect(hospital.url)
    token, _ = create_token(engine, SYSTEM, "admin", "narrow", scopes="devices:read")
    engine.dispose()
    assert client.get("/api/devices", headers=_bearer(token)).status_code == 200
    assert client.get("/api/flows", headers=_bearer(token)).status_code == 403
    assert client.get("/api/devices", headers=_bearer("ww_not-a-token")).status_code == 401


@pytest.mark.slow
def test_an_uploaded_capture_is_processed_by_a_job(
    hospital: Hospital, client: TestClient, tokens: dict[Role, str]
) -> None:
    capture = (hospital.home / "sample-hospital" / "traffic.pcap").read_bytes()
    headers = _bearer(tokens[Role.BIOMED])
    response = client.post("/api/uploads/capture", files={"file": ("night.pcap", capture)}, headers=headers)
    assert response.status_code == 202
    job = response.json()
    assert response.headers["location"] == f"/api/jobs/{job['id']}"
    deadline = time.monotonic() + 120
    while job["status"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.2)
        job = client.get(f"/api/jobs/{job['id']}", headers=headers).json()
    assert job["status"] == "succeeded", job["message"]
    assert job["progress"] == 1.0 and job["file"] == "night.pcap"
    assert job["result"]["devices"] > 100 and job["result"]["inventory"]["already_stored"] is True
    assert job["result"]["files"] == ["night.pcap"]  # no server path
    # The executive may not see another user's job; the auditor (jobs:read) may.
    assert client.get(f"/api/jobs/{job['id']}", headers=_bearer(tokens[Role.EXECUTIVE])).status_code == 404
    assert client.get(f"/api/jobs/{job['id']}", headers=_bearer(tokens[Role.AUDITOR])).status_code == 200
    trail = client.get("/api/audit?action=jobs.capture", headers=_bearer(tokens[Role.AUDITOR])).json()
    assert any(e["actor"] == "biomed" and e["target"] == f"job {job['id']}" for e in trail["items"])


@pytest.mark.parametrize("text", ["sigma", "BME-1", "10.1.", "icue", "58:46", "zz-no-such", "GE HealthCare"])
def test_the_search_index_finds_what_the_sql_scan_finds(hospital: Hospital, text: str) -> None:
    from wardwatch.services.browse import device_page
    from wardwatch.services.devices import DeviceFilter
    from wardwatch.services.search_index import SearchIndex

    engine = connect(hospital.url)
    index = SearchIndex(engine)
    scanned = device_page(engine, SYSTEM, DeviceFilter(search=text), limit=500)
    indexed = device_page(engine, SYSTEM, DeviceFilter(search=text), limit=500, index=index)
    assert [d["id"] for d in indexed.devices] == [d["id"] for d in scanned.devices]
    assert indexed.total == scanned.total
    # Keyset paging through the index gives the same ids, page by page.
    paged: list[int] = []
    after = None
    while True:
        page = device_page(engine, SYSTEM, DeviceFilter(search=text), limit=7, after=after, index=index)
        paged += [d["id"] for d in page.devices]
        if page.next_after is None:
            break
        after = page.next_after
    assert paged == [d["id"] for d in scanned.devices]
    for filtered in (
        DeviceFilter(search=text, criticality="therapeutic"),
        DeviceFilter(search=text, site="riverside general hospital", device_type="infusion-pump"),
        DeviceFilter(search=text, manufacturer="baxter"),
    ):
        with_index = device_page(engine, SYSTEM, filtered, index=index, limit=500)
        without = device_page(engine, SYSTEM, filtered, limit=500)
        assert [d["id"] for d in with_index.devices] == [d["id"] for d in without.devices]
        assert with_index.total == without.total
    clinician = Principal(username="c", role=Role.CLINICIAN, unit=hospital.unit)
    with_index = device_page(engine, clinician, DeviceFilter(search=text), index=index, limit=500)
    assert [d["id"] for d in with_index.devices] == [
        d["id"] for d in device_page(engine, clinician, DeviceFilter(search=text), limit=500).devices
    ]
    engine.dispose()


def test_the_clinician_dashboard_lists_their_unit_most_critical_first(
    hospital: Hospital, client: TestClient, tokens: dict[Role, str]
) -> None:
    from wardwatch.domain.inventory import Criticality

    board = client.get("/api/dashboards/clinician", headers=_bearer(tokens[Role.CLINICIAN])).json()
    assert hospital.unit in board["title"]
    rows = board["rows"]["Devices"]
    mine_total = client.get("/api/devices?limit=1", headers=_bearer(tokens[Role.CLINICIAN])).json()["total"]
    assert rows and board["cards"][0]["value"] == mine_total >= len(rows)  # the card counts what /devices lists
    ranks = [Criticality(r["criticality"]).rank if r["criticality"] else 99 for r in rows]
    assert ranks == sorted(ranks) and "non-clinical" not in {r["criticality"] for r in rows}
    mine = client.get("/api/devices?limit=500", headers=_bearer(tokens[Role.CLINICIAN])).json()
    assert {r["id"] for r in rows} <= {d["id"] for d in mine["items"]}
