"""``/api/reports`` and ``/api/exports``: the documents, their headers, and what each role gets in them."""

from __future__ import annotations

import csv
import io
import json

import openpyxl
from sqlalchemy import func, select
from starlette.testclient import TestClient

from tests.api.hospital import Hospital
from wardwatch.domain.permissions import SYSTEM, Role
from wardwatch.services import remediation
from wardwatch.services.governance import governance
from wardwatch.store.database import connect
from wardwatch.store.schema import alarm_verifications, devices, units


def auth(tokens: dict[Role, str], role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[role]}"}


def device_count(hospital: Hospital, unit: str | None = None) -> int:
    engine = connect(hospital.url)
    query = select(func.count()).select_from(devices.outerjoin(units, devices.c.unit_id == units.c.id))
    if unit is not None:
        query = query.where(units.c.department == unit)
    with engine.connect() as connection:
        count = int(connection.execute(query).scalar() or 0)
    engine.dispose()
    return count


def test_the_executive_downloads_the_board_report_as_pdf(client: TestClient, tokens: dict[Role, str]) -> None:
    response = client.get("/api/reports/board", params={"format": "pdf"}, headers=auth(tokens, Role.EXECUTIVE))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith('attachment; filename="wardwatch-board-report-')
    assert response.content.startswith(b"%PDF-")


def test_the_html_report_is_self_contained_and_counts_the_devices(
    client: TestClient, tokens: dict[Role, str], hospital: Hospital
) -> None:
    response = client.get("/api/reports/board", params={"format": "html"}, headers=auth(tokens, Role.COMPLIANCE))
    assert response.status_code == 200
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert "<script" not in response.text
    figures = client.get("/api/reports/board", headers=auth(tokens, Role.COMPLIANCE)).json()
    assert figures["posture"]["devices"] == device_count(hospital)
    assert f'{device_count(hospital):,}</span><span class="label">Devices in the inventory' in response.text
    # the alarm-assurance status of the newest verification (the demo verifies the sample alarm network)
    engine = connect(hospital.url)
    with engine.connect() as connection:
        newest = connection.execute(
            select(alarm_verifications.c.flows, alarm_verifications.c.failing)
            .order_by(alarm_verifications.c.id.desc()).limit(1)
        ).one()  # fmt: skip
    engine.dispose()
    assert figures["alarms"]["flows"] == newest.flows and figures["alarms"]["failing"] == newest.failing
    assert f"{newest.failing} of {newest.flows} alarm flows miss" in " ".join(response.text.split())
    # SLA compliance and framework coverage, as the Remediation and Governance pages count them
    engine = connect(hospital.url)
    expected_sla = remediation.metrics(engine, SYSTEM)
    expected_cov = {f["name"]: f["counts"] for f in governance(engine, SYSTEM)["frameworks"]}
    engine.dispose()
    assert (figures["remediation"]["open"], figures["remediation"]["overdue"]) == (expected_sla["open"],
                                                                                 expected_sla["overdue"])  # fmt: skip
    assert {f["name"]: f["counts"] for f in figures["governance"]} == expected_cov
    text = " ".join(response.text.split())
    assert f"{expected_sla['open']} work items open" in text and "Framework coverage" in text


def test_the_audit_report_lists_the_demo_accounts(client: TestClient, tokens: dict[Role, str]) -> None:
    figures = client.get("/api/reports/audit", headers=auth(tokens, Role.AUDITOR)).json()
    assert {r.value for r in Role} <= {a["username"] for a in figures["accounts"]}
    assert all(len(s["sha256"] or "") in (0, 64) for s in figures["sources"])
    assert figures["sources"], "the demo imported files"


def test_device_exports_as_csv_xlsx_and_json(client: TestClient, tokens: dict[Role, str], hospital: Hospital) -> None:
    headers = auth(tokens, Role.BIOMED)
    response = client.get("/api/exports/devices", params={"format": "csv"}, headers=headers)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == device_count(hospital)
    book = openpyxl.load_workbook(
        io.BytesIO(client.get("/api/exports/devices", params={"format": "xlsx"}, headers=headers).content)
    )
    assert book.active is not None and book.active.max_row == device_count(hospital) + 1
    listed = json.loads(client.get("/api/exports/devices", params={"format": "json"}, headers=headers).content)
    assert {str(d["id"]) for d in listed} == {r["id"] for r in rows}


def test_a_clinician_exports_their_unit_only(client: TestClient, tokens: dict[Role, str], hospital: Hospital) -> None:
    response = client.get("/api/exports/devices", params={"format": "json"}, headers=auth(tokens, Role.CLINICIAN))
    listed = json.loads(response.content)
    assert len(listed) == device_count(hospital, hospital.unit) > 0
    assert {d["department"] for d in listed} == {hospital.unit}


def test_findings_export_holds_the_open_findings(client: TestClient, tokens: dict[Role, str]) -> None:
    response = client.get("/api/exports/findings", params={"format": "json"}, headers=auth(tokens, Role.ITSEC))
    found = {(f["device_id"], f["vulnerability_id"]) for f in json.loads(response.content)}
    assert {(1, "CVE-2099-0001"), (4, "CVE-2099-0003")} <= found


def test_bad_format_is_a_problem(client: TestClient, tokens: dict[Role, str]) -> None:
    response = client.get("/api/reports/board", params={"format": "docx"}, headers=auth(tokens, Role.ADMIN))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
