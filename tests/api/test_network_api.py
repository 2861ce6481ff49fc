"""The network routes: model (read, import, audited), check, attack paths, blast radius, recommendation, policy
download and policy simulation, on a copy of the sample hospital with its network model imported.

The copy is "armed" for the worm: its Windows hosts get the MS17-010 finding (CVE-2017-0144, network vector) and
an observed SMB server port (tcp/445), as in a hospital that missed the March 2017 patch.  The sample hospital
alone has almost no SMB exposure, so attack paths and the spread would be empty; the copy keeps the shared
session hospital untouched for the other tests.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import delete, insert, select
from starlette.testclient import TestClient

from tests.api.hospital import Hospital
from wardwatch.api.app import create_app
from wardwatch.domain.permissions import ROLE_PERMISSIONS, SYSTEM, Permission, Role
from wardwatch.services.accounts import authenticate, create_session, create_token
from wardwatch.services.network import import_network, stored_network_files
from wardwatch.settings import Settings
from wardwatch.store.database import connect
from wardwatch.store.schema import audit_log, conversations, devices, interfaces, vulnerability_findings
from wardwatch.store.schema import network_files as network_files_table

MS17_010 = "CVE-2017-0144"
#: The SMB client of the added tcp/445 flows: the file server of the clinical applications zone.
SMB_CLIENT = "10.1.55.10"
NETWORK_ROUTES: tuple[tuple[str, str, Permission], ...] = (
    ("GET", "/api/network/model", Permission.NETWORK_READ),
    ("POST", "/api/network/model", Permission.NETWORK_WRITE),
    ("GET", "/api/network/check", Permission.NETWORK_READ),
    ("GET", "/api/network/paths", Permission.NETWORK_READ),
    ("GET", "/api/network/blast-radius", Permission.NETWORK_READ),
    ("GET", "/api/network/recommend", Permission.NETWORK_READ),
    ("GET", "/api/network/recommend/policy", Permission.NETWORK_READ),
    ("POST", "/api/network/simulate", Permission.NETWORK_WRITE),
)


def network_files(hospital: Hospital) -> Path:
    """Where ``wardwatch demo`` wrote the sample hospital's network files."""
    return hospital.home / "sample-hospital" / "network"


def arm_for_the_worm(url: str) -> list[tuple[int, str]]:
    """Give every Windows host MS17-010 and an observed SMB server port (idempotent); return (device id, IP)."""
    engine = connect(url)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        windows = connection.execute(
            select(devices.c.id, interfaces.c.ip)
            .join(interfaces, interfaces.c.device_id == devices.c.id)
            .where(devices.c.os_name.like("Windows%"), interfaces.c.ip.is_not(None), devices.c.device_type != "server")
            .order_by(devices.c.id)
        ).all()
        vf = vulnerability_findings.c
        armed = set(connection.execute(select(vf.device_id).where(vf.vulnerability_id == MS17_010)).scalars())
        cv = conversations.c
        # the sample hospital's directory server already audits the SMB server of every Windows device
        audited = set(connection.execute(
            select(cv.server_ip).where(cv.client_ip == SMB_CLIENT, cv.transport == "tcp", cv.port == 445)
        ).scalars())  # fmt: skip
        for device_id, ip in windows:
            if device_id in armed:
                continue
            armed.add(device_id)
            connection.execute(insert(vulnerability_findings).values(
                device_id=device_id, vulnerability_id=MS17_010, component_ref="", source="test", confidence="confirmed",
                suppressed=False, in_kev=True, cvss_score=8.1, detail=json.dumps({"advisories": ["MS17-010"]}),
                cvss_vector="CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H", first_seen=now, last_seen=now,
            ))  # fmt: skip
            if ip in audited:
                continue
            connection.execute(insert(conversations).values(
                client_ip=SMB_CLIENT, server_ip=ip, transport="tcp", port=445, server_device_id=device_id,
                protocol="smb", packets=20, bytes=4000, first_seen=now, last_seen=now,
            ))  # fmt: skip
    engine.dispose()
    return [(d, ip) for d, ip in windows]


def network_hospital(hospital: Hospital, root: Path) -> Hospital:
    """A copy of ``hospital`` in ``root`` with its network model imported (unless the demo did) and armed."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(network_files(hospital), root / "sample-hospital" / "network", dirs_exist_ok=True)
    target = root / "wardwatch.db"
    if not target.exists():
        source = sqlite3.connect(hospital.home / "wardwatch.db")
        copy = sqlite3.connect(target)
        source.backup(copy)  # consistent even while the shared server holds connections
        copy.close()
        source.close()
    copied = Hospital(root, hospital.passwords, hospital.unit)
    engine = connect(copied.url)
    if not stored_network_files(engine):  # another change may make `wardwatch demo` import it: import is idempotent
        import_network(engine, [network_files(copied) / "network.yaml"])
    engine.dispose()
    arm_for_the_worm(copied.url)
    return copied


@pytest.fixture(scope="module")
def net_hospital(hospital: Hospital, tmp_path_factory: pytest.TempPathFactory) -> Hospital:
    """The armed copy of the sample hospital with a network model."""
    return network_hospital(hospital, tmp_path_factory.mktemp("network-hospital"))


@pytest.fixture(scope="module")
def net_client(net_hospital: Hospital) -> Iterator[TestClient]:
    """A client of the application on the armed copy."""
    with TestClient(create_app(Settings(home=net_hospital.home), start_jobs=False)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def auth(net_hospital: Hospital) -> dict[Role, dict[str, str]]:
    """Bearer headers per role on the armed copy."""
    engine = connect(net_hospital.url)
    issued = {
        role: {"Authorization": f"Bearer {create_token(engine, SYSTEM, role.value, 'tests')[0]}"} for role in Role
    }
    engine.dispose()
    return issued


def _upload(path: Path) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (path.name, path.read_bytes(), "text/plain"))]


def _request(client: TestClient, method: str, path: str, headers: dict[str, str], hospital: Hospital) -> int:
    params = {"/api/network/blast-radius": "?seed=riv-img", "/api/network/recommend/policy": "?format=cisco"}
    if method == "POST":
        files = _upload(network_files(hospital) / "network.yaml")
        return client.post(path, files=files, headers=headers).status_code
    return client.get(path + params.get(path, ""), headers=headers).status_code


# ------------------------------------------------------------------------------------------------------- roles


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_each_network_route_allows_exactly_the_roles_the_matrix_allows(
    net_client: TestClient, auth: dict[Role, dict[str, str]], net_hospital: Hospital, role: Role
) -> None:
    for method, path, permission in NETWORK_ROUTES:
        status = _request(net_client, method, path, auth[role], net_hospital)
        expected = 200 if permission in ROLE_PERMISSIONS[role] else 403
        assert status == expected, (method, path, role)
        assert _request(net_client, method, path, {}, net_hospital) == 401


def test_the_routes_are_described_in_openapi(net_client: TestClient) -> None:
    spec = net_client.get("/api/openapi.json").json()
    documented = {(m.upper(), p) for p, item in spec["paths"].items() for m in item if p.startswith("/api/network/")}
    assert documented == {(m, p) for m, p, _ in NETWORK_ROUTES}
    policy = spec["paths"]["/api/network/recommend/policy"]["get"]
    assert "text/plain" in policy["responses"]["200"]["content"]
    params = {p["name"] for p in spec["paths"]["/api/network/paths"]["get"]["parameters"]}
    assert {"from", "to", "top"} <= params


# ------------------------------------------------------------------------------------------------------- model


def test_without_a_model_every_analysis_answers_404(
    hospital: Hospital, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = tmp_path_factory.mktemp("no-network")
    source = sqlite3.connect(hospital.home / "wardwatch.db")
    copy = sqlite3.connect(root / "wardwatch.db")
    source.backup(copy)
    copy.close()
    source.close()
    engine = connect(f"sqlite:///{root / 'wardwatch.db'}")
    token = create_token(engine, SYSTEM, "itsec", "tests")[0]
    session = create_session(engine, authenticate(engine, "itsec", hospital.passwords["itsec"]))[0]
    with engine.begin() as connection:  # the demo may import its model: this copy has none
        connection.execute(delete(network_files_table))
    engine.dispose()
    with TestClient(create_app(Settings(home=root), start_jobs=False)) as client:
        for path in ("model", "check", "paths", "blast-radius?seed=x", "recommend", "recommend/policy"):
            response = client.get(f"/api/network/{path}", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 404, path
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["detail"].startswith("no network model yet")
        client.cookies.set("ww_session", session)
        page = client.get("/network?view=blast")
        assert page.status_code == 200 and "No network model yet" in page.text
        assert "data-network-import" in page.text, "itsec may import one from the page"


def test_the_page_offers_the_models_zones_and_criticalities(
    net_client: TestClient, net_hospital: Hospital, tmp_path: Path
) -> None:
    engine = connect(net_hospital.url)
    session = create_session(engine, authenticate(engine, "biomed", net_hospital.passwords["biomed"]))[0]
    engine.dispose()
    with TestClient(net_client.app) as browser:
        browser.cookies.set("ww_session", session)
        blast = browser.get("/network?view=blast").text
        assert '<datalist id="zone-names">' in blast and '<option value="riv-guest">' in blast
        paths = browser.get("/network?view=paths").text
        assert '<option value="life-sustaining">' in paths and '<option value="vendor-remote">' in paths
        misplaced = browser.get("/network?kind=misplaced").text
        assert 'data-kind="misplaced"' in misplaced and 'data-kind="unused-rule"' not in misplaced
        assert "data-simulate" not in browser.get("/network?view=simulate").text, "biomed may not simulate"


def test_the_model_lists_files_zones_and_rules(
    net_client: TestClient, auth: dict[Role, dict[str, str]], net_hospital: Hospital
) -> None:
    model = net_client.get("/api/network/model", headers=auth[Role.AUDITOR]).json()
    assert [f["file"] for f in model["files"]][0] == "network.yaml"
    text = (network_files(net_hospital) / "network.yaml").read_text()
    zones = {z["name"]: z for z in model["zones"]}
    assert "riv-img" in zones and zones["riv-img"]["kind"] == "imaging"
    assert zones["riv-img"]["subnets"] and all(s in text for s in zones["riv-img"]["subnets"])
    assert sum(1 for line in text.splitlines() if line.lstrip().startswith('- {"name"')) >= model["rules"] > 0
    assert model["default_action"] == "deny"
    # The sample's edge ASA binds its ACLs with access-group lines but describes no interface or route: its ACLs
    # stay one unbound list (and a note says why), so no binding is listed.
    assert model["bindings"] == []
    assert all(isinstance(note, str) for note in model["notes"])


def test_an_import_is_audited_and_a_bad_file_is_refused_with_its_line(
    net_client: TestClient, auth: dict[Role, dict[str, str]], net_hospital: Hospital
) -> None:
    again = net_client.post("/api/network/model", files=_upload(network_files(net_hospital) / "network.yaml"),
                            headers=auth[Role.ITSEC])  # fmt: skip
    assert again.status_code == 200 and again.json()["changed"] is False  # the same file: nothing changes
    broken = [("files", ("fw.iptables", b"*filter\n-A FORWARD -j\n", "text/plain"))]
    bad = net_client.post("/api/network/model", files=broken, headers=auth[Role.ITSEC])
    assert bad.status_code == 422 and "fw.iptables" in bad.json()["detail"]
    assert "\n" not in bad.json()["detail"]
    binary = net_client.post("/api/network/model", files=[("files", ("blob.cfg", bytes(range(256)), "x/y"))],
                             headers=auth[Role.ITSEC])  # fmt: skip
    assert binary.status_code == 422 and "blob.cfg" in binary.json()["detail"]
    model = net_client.get("/api/network/model", headers=auth[Role.ITSEC]).json()
    assert [f["file"] for f in model["files"]] == ["network.yaml"], "a refused import stores nothing"
    engine = connect(net_hospital.url)
    with engine.connect() as connection:
        rows = connection.execute(
            select(audit_log.c.actor, audit_log.c.outcome, audit_log.c.target)
            .where(audit_log.c.action == "network import").order_by(audit_log.c.id)
        ).all()  # fmt: skip
    engine.dispose()
    assert ("itsec", "success", "network.yaml") in rows and ("itsec", "failure", "fw.iptables") in rows
    refused = net_client.post("/api/network/model", files=_upload(network_files(net_hospital) / "network.yaml"),
                              headers=auth[Role.BIOMED])  # fmt: skip
    assert refused.status_code == 403


# ------------------------------------------------------------------------------------------------ the analyses


def test_check_finds_the_simulated_hospitals_deliberate_mistakes(
    net_client: TestClient, auth: dict[Role, dict[str, str]]
) -> None:
    report = net_client.get("/api/network/check", headers=auth[Role.BIOMED]).json()
    by_subject = {(v["kind"], v["subject"]) for v in report["violations"]}
    # (b) in network.yaml: the vendor VPN pool reaches everything on any service
    assert any(s == "vendor-any-any" and k in ("over-broad-rule", "unused-rule") for k, s in by_subject)
    # (c): the Windows 7 x-ray 10.1.46.11 sits in the pump zone riv-ls
    assert any(k == "misplaced" and "10.1.46.11" in s for k, s in by_subject)
    assert report["by_kind"] == {k: sum(1 for v in report["violations"] if v["kind"] == k) for k in report["by_kind"]}
    assert report["zones"] == 21 or report["zones"] > 0


def test_attack_paths_reach_the_unpatched_hosts_hop_by_hop(
    net_client: TestClient, auth: dict[Role, dict[str, str]]
) -> None:
    report = net_client.get("/api/network/paths?from=vendor-remote&top=50", headers=auth[Role.ITSEC]).json()
    # vendor-any-any lets the vendor pool reach every armed host on tcp/445, where EternalBlue works
    assert report["total"] == len(report["paths"]) > 0 and report["from"] == ["vendor-remote"]
    scores = [p["score"] for p in report["paths"]]
    assert scores == sorted(scores, reverse=True)
    for path in report["paths"]:
        assert path["entry"] == "vendor-remote" and path["hops"]
        assert path["hops"][-1]["to_host"]["address"] == path["target"]["address"]
        assert path["target"]["zone"], "hosts carry their zone for the graph"
        assert abs(path["score"] - path["likelihood"] * path["impact"]) < 1e-3
    first = report["paths"][0]["hops"][0]
    assert first["exploit"]["id"] == "CVE-2017-0144" and first["service"] == "tcp/445"
    guest = net_client.get("/api/network/paths?from=riv-guest", headers=auth[Role.ITSEC])
    assert guest.status_code == 200 and isinstance(guest.json()["paths"], list)
    life = net_client.get("/api/network/paths?to=life-sustaining", headers=auth[Role.ITSEC]).json()
    assert all(p["target"]["criticality"] == "life-sustaining" for p in life["paths"])
    unknown = net_client.get("/api/network/paths?from=atlantis", headers=auth[Role.ITSEC])
    assert unknown.status_code == 422 and "atlantis" in unknown.json()["detail"]


def test_the_blast_radius_is_deterministic_and_the_what_ifs_shrink_it(
    net_client: TestClient, auth: dict[Role, dict[str, str]]
) -> None:
    url = "/api/network/blast-radius?seed=riv-ent&steps=6&rng_seed=11"
    first = net_client.get(url, headers=auth[Role.AUDITOR]).json()
    assert first == net_client.get(url, headers=auth[Role.AUDITOR]).json()
    assert first["infected"] > 0 and first["steps"][0]["step"] == 0
    totals = [s["cumulative"] for s in first["steps"]]
    assert totals == sorted(totals) and totals[-1] == first["infected"]
    assert [s["cumulative"] - len(s["infected"]) for s in first["steps"]] == [0, *totals[:-1]]
    assert first["infected"] == sum(z["infected"] for z in first["by_zone"])
    assert all(h["zone"] for s in first["steps"] for h in s["infected"])
    worst = net_client.get("/api/network/blast-radius?seed=riv-ent&steps=50&worst_case=true",
                           headers=auth[Role.AUDITOR]).json()  # fmt: skip
    blocked = net_client.get("/api/network/blast-radius?seed=riv-ent&steps=50&worst_case=true&block_445=true",
                             headers=auth[Role.AUDITOR]).json()  # fmt: skip
    assert first["infected"] <= worst["infected"] and blocked["infected"] <= worst["infected"]
    assert {z["zone"] for z in blocked["by_zone"] if z["infected"]} <= {"riv-ent"}, "445 blocked: it stays home"
    # EternalBlue needs SMBv1: with it off everywhere, no host of the zone is vulnerable, so nothing falls
    safe = net_client.get(
        "/api/network/blast-radius?seed=riv-ent&disable_smbv1=true", headers=auth[Role.AUDITOR]
    ).json()
    assert safe["vulnerable"] == 0 and safe["infected"] == len(safe["seed_addresses"]) <= 1
    bad = net_client.get("/api/network/blast-radius?seed=nowhere", headers=auth[Role.AUDITOR])
    assert bad.status_code == 422 and "nowhere" in bad.json()["detail"]
    assert (
        net_client.get("/api/network/blast-radius?seed=riv-ent&steps=-1", headers=auth[Role.AUDITOR]).status_code == 422
    )


def test_the_recommendation_and_its_policy_files(net_client: TestClient, auth: dict[Role, dict[str, str]]) -> None:
    rec = net_client.get("/api/network/recommend", headers=auth[Role.ADMIN]).json()
    assert rec["paths_considered"] > 0 and rec["changes"] and rec["weight_cut"] <= rec["weight_before"]
    assert rec["baseline_rules"] > 0
    iptables = net_client.get("/api/network/recommend/policy?format=iptables", headers=auth[Role.ADMIN])
    assert iptables.status_code == 200 and iptables.headers["content-type"].startswith("text/plain")
    assert 'filename="wardwatch-policy.iptables"' in iptables.headers["content-disposition"]
    lines = [line for line in iptables.text.splitlines() if line and not line.startswith("#")]
    assert lines[0] == "*filter" and lines[-1] == "COMMIT"
    assert ":FORWARD DROP" in iptables.text, "an allow-list: everything not observed is dropped"
    cisco = net_client.get("/api/network/recommend/policy?format=cisco", headers=auth[Role.ADMIN])
    assert "permit" in cisco.text and cisco.headers["content-disposition"].endswith('.cfg"')
    doc = net_client.get("/api/network/recommend/policy?format=doc", headers=auth[Role.ADMIN])
    assert doc.headers["content-type"].startswith("text/markdown") and doc.text.startswith("#")
    bad = net_client.get("/api/network/recommend/policy?format=pdf", headers=auth[Role.ADMIN])
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"


def test_simulating_a_policy_without_the_hl7_rules_lists_the_broken_clinical_flows(
    net_client: TestClient, auth: dict[Role, dict[str, str]], net_hospital: Hospital, tmp_path: Path
) -> None:
    original = (network_files(net_hospital) / "network.yaml").read_text()
    kept = [line for line in original.splitlines() if not ("- {" in line and '"ports": [2575]' in line)]
    assert len(kept) < len(original.splitlines()), "the sample model has HL7 (2575) rules to remove"
    proposed = tmp_path / "proposed.yaml"
    proposed.write_text("\n".join(kept) + "\n")
    report = net_client.post("/api/network/simulate", files=_upload(proposed), headers=auth[Role.ITSEC]).json()
    hl7 = [f for f in report["broken"] if f["port"] == 2575]
    assert hl7 and report["broken_clinical"] >= 1
    assert any(f["clinical"] for f in hl7)
    assert all(f["rule_now"] for f in hl7), "today a rule lets each of them through"
    same = net_client.post("/api/network/simulate", files=_upload(network_files(net_hospital) / "network.yaml"),
                           headers=auth[Role.ITSEC]).json()  # fmt: skip
    assert same["broken"] == [] and same["paths_before"] == same["paths_after"]
    garbage = net_client.post("/api/network/simulate", files=[("files", ("x.yaml", b"zones: [1, 2\n", "text/yaml"))],
                              headers=auth[Role.ITSEC])  # fmt: skip
    assert garbage.status_code == 422 and "x.yaml" in garbage.json()["detail"]
    assert net_client.get("/api/network/model", headers=auth[Role.ITSEC]).json()["files"][0]["file"] == "network.yaml"
