"""The board and audit reports: their figures follow the data, the HTML is self-contained, the PDF is a real PDF."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, insert, update

from wardwatch.domain.permissions import SYSTEM, PermissionDenied, Principal, Role
from wardwatch.services import audit
from wardwatch.services.accounts import add_user
from wardwatch.services.export_data import export_rows
from wardwatch.services.report_render import ReportError, format_for, render_html, render_pdf
from wardwatch.services.reports import NOT_SCORED, audit_report, board_report, build_report
from wardwatch.services.risk import rescore, snapshot
from wardwatch.store.schema import (
    claims,
    devices,
    findings,
    interfaces,
    sites,
    sources,
    units,
    vulnerability_findings,
)

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
SHA = "ab" * 32
# id: (unit, type, criticality, manufacturer, model, claim kinds)
DEVICES = {
    1: ("ICU", "infusion-pump", "life-sustaining", "BD", "Alaris 8015", ("cmms", "discovery")),
    2: ("ICU", "infusion-pump", "life-sustaining", "BD", "Alaris 8015", ("cmms",)),
    3: ("Radiology", "ct-scanner", "diagnostic", "GE", "Revolution", ("cmms", "discovery")),
    4: ("Ward 3", "workstation", "non-clinical", "Dell", "OptiPlex", ("discovery",)),
}


def vuln(device: int, vid: str, **values: Any) -> dict[str, Any]:
    row = {"device_id": device, "vulnerability_id": vid, "component_ref": "", "source": "test",
           "confidence": "confirmed", "vex_status": None, "suppressed": False, "in_kev": False, "epss": None,
           "epss_percentile": None, "cvss_score": 7.8, "cvss_vector": None, "detail": "{}", "first_seen": NOW,
           "last_seen": NOW, "resolved_at": None}  # fmt: skip
    row.update(values)
    return row


@pytest.fixture
def hospital(engine: Engine) -> Engine:
    with engine.begin() as c:
        c.execute(insert(sites).values(id=1, name="North", created_at=NOW))
        names = sorted({v[0] for v in DEVICES.values()})
        c.execute(insert(units), [{"id": i, "site_id": 1, "department": u} for i, u in enumerate(names, 1)])
        c.execute(insert(sources), [
            {"id": 1, "kind": "cmms", "name": "assets.csv", "sha256": SHA, "imported_at": NOW, "row_count": 3},
            {"id": 2, "kind": "pcap", "name": "span.pcap", "sha256": "cd" * 32, "imported_at": NOW, "row_count": None},
        ])  # fmt: skip
        for i, (unit, kind, crit, man, model, kinds) in DEVICES.items():
            c.execute(insert(devices).values(
                id=i, site_id=1, unit_id=names.index(unit) + 1, device_type=kind, criticality=crit, manufacturer=man,
                model=model, asset_tag=f"T{i}", created_at=NOW, updated_at=NOW))  # fmt: skip
            c.execute(insert(interfaces).values(device_id=i, ip=f"10.0.0.{i}", source_kind="cmms"))
            for source_kind in kinds:
                c.execute(insert(claims).values(
                    device_id=i, source_kind=source_kind, source_id=1 if source_kind == "cmms" else 2, payload="{}",
                    digest="0" * 32, observed_at=NOW))  # fmt: skip
        c.execute(insert(vulnerability_findings), [
            vuln(1, "CVE-2024-1000", in_kev=True, cvss_score=9.8),
            vuln(2, "CVE-2024-1000", in_kev=True, cvss_score=9.8),
            vuln(3, "CVE-2023-2000", cvss_score=5.0, confidence="potential"),
            vuln(3, "CVE-2022-1", in_kev=True, resolved_at=NOW),  # not open: resolved
            vuln(3, "CVE-2022-2", in_kev=True, suppressed=True),  # not open: ruled out by VEX
        ])  # fmt: skip
        c.execute(insert(findings), [
            {"device_id": 4, "kind": "smbv1", "detail": "SMBv1 dialect offered", "protocol": "smb", "source_id": 2,
             "locator": "frame 12", "first_seen": NOW, "last_seen": NOW, "count": 1},
            {"device_id": 3, "kind": "smbv1", "detail": "SMBv1 dialect offered", "protocol": "smb", "source_id": 2,
             "locator": "frame 14", "first_seen": NOW, "last_seen": NOW, "count": 1},
        ])  # fmt: skip
    return engine


def bar(items: list[dict[str, Any]], label: str) -> int:
    return next(int(i["value"]) for i in items if i["label"] == label)


def test_board_report_counts_follow_the_data(hospital: Engine) -> None:
    report = board_report(hospital, SYSTEM)
    posture, vulns, network = report["posture"], report["vulnerabilities"], report["network"]
    assert (posture["devices"], posture["critical"]) == (4, 2)
    assert bar(posture["by_criticality"], "life-sustaining") == 2
    assert posture["by_criticality"][0]["label"] == "life-sustaining"  # most critical first
    assert (vulns["open"], vulns["devices"], vulns["kev"], vulns["kev_devices"]) == (3, 3, 2, 2)
    assert bar(vulns["by_severity"], "critical (9.0–10)") == 2
    assert bar(vulns["by_confidence"], "potential") == 1
    assert bar(network["behaviours"], "SMBv1 (WannaCry's protocol)") == 2
    assert (network["unknown"], network["silent"]) == (1, 1)  # device 4 not in the CMMS; device 2 never seen

    with hospital.begin() as c:
        c.execute(insert(vulnerability_findings).values(**vuln(3, "CVE-2025-9", in_kev=True, cvss_score=9.1)))
        c.execute(update(vulnerability_findings).where(vulnerability_findings.c.vulnerability_id == "CVE-2023-2000")
                  .values(resolved_at=NOW))  # fmt: skip
        c.execute(update(devices).where(devices.c.id == 3).values(criticality="life-supporting"))
    again = board_report(hospital, SYSTEM)
    assert (again["vulnerabilities"]["open"], again["vulnerabilities"]["kev_devices"]) == (3, 3)
    assert again["posture"]["critical"] == 3
    assert bar(again["vulnerabilities"]["by_severity"], "critical (9.0–10)") == 3


def test_risk_sections_say_not_scored_then_show_top_risks_and_trend(hospital: Engine) -> None:
    before = board_report(hospital, SYSTEM)["risk"]
    assert before["note"] == NOT_SCORED and before["top"] == []
    assert "wardwatch risk rescore" in render_html(board_report(hospital, SYSTEM))

    rescore(hospital)
    snapshot(hospital, date.today() - timedelta(days=7))  # noqa: DTZ011 - snapshot days are dates
    risk = board_report(hospital, SYSTEM)["risk"]
    assert risk["note"] is None and risk["scored"] == 4
    assert risk["top"][0]["device"]["manufacturer"] == "BD"  # the KEV on a life-sustaining pump is the worst
    assert risk["top"][0]["summary"].startswith(f"{risk['top'][0]['level']} risk")
    assert [p["label"] for p in risk["priorities"]][0] in {"immediate", "out-of-cycle"}
    assert len(risk["trend"]) == 2
    html = render_html(board_report(hospital, SYSTEM))
    assert NOT_SCORED not in html
    assert 'alt="Risk score trend"' in html and "data:image/svg+xml;base64," in html


def test_html_is_self_contained(hospital: Engine) -> None:
    html = render_html(board_report(hospital, SYSTEM))
    assert "<script" not in html
    assert not re.search(r'(?:src|href)="(?!data:)', html)  # no external asset: every image is a data URI
    assert "@page" in html and "counter(pages)" in html


def test_audit_report_lists_accounts_trail_sources_and_coverage(hospital: Engine) -> None:
    add_user(hospital, SYSTEM, "carol", "compliance", "a-long-password-1")
    audit.record_now(hospital, "mallory", "login", outcome="failure", detail={"reason": "wrong password"})
    report = audit_report(hospital, SYSTEM)
    assert [u["username"] for u in report["accounts"]] == ["carol"]
    assert {r["role"] for r in report["roles"]} == {r.value for r in Role}
    assert report["audit"]["entries"] >= 2
    assert any(e["actor"] == "mallory" and e["outcome"] == "failure" for e in report["audit"]["recent"])
    assert {s["sha256"] for s in report["sources"]} == {SHA, "cd" * 32}
    coverage = {c["label"]: c for c in report["coverage"]}
    assert coverage["evidence from cmms"]["devices"] == 3
    assert coverage["evidence from discovery"]["percent"] == 75.0
    html = render_html(report)
    assert SHA in html and "mallory" in html and "carol" in html


@pytest.mark.parametrize(
    ("role", "name", "missing"),
    [(Role.CLINICIAN, "board", "reports:read"), (Role.EXECUTIVE, "audit", "audit:read"),
     (Role.BIOMED, "audit", "audit:read")],
)  # fmt: skip
def test_reports_are_refused_without_their_permissions(hospital: Engine, role: Role, name: str, missing: str) -> None:
    with pytest.raises(PermissionDenied, match=missing):
        build_report(hospital, Principal(username="x", role=role), name)


def test_allowed_roles_get_the_report(hospital: Engine) -> None:
    assert build_report(hospital, Principal(username="e", role=Role.EXECUTIVE), "board")["posture"]["devices"] == 4
    assert build_report(hospital, Principal(username="a", role=Role.AUDITOR), "audit")["name"] == "audit"
    with pytest.raises(LookupError, match="no report"):
        build_report(hospital, SYSTEM, "quarterly")


def test_a_clinicians_exports_hold_their_unit_only(hospital: Engine) -> None:
    clinician = Principal(username="c", role=Role.CLINICIAN, unit="ICU")
    _columns, rows = export_rows(hospital, clinician, "devices")
    assert sorted(r["id"] for r in rows) == [1, 2]
    _columns, rows = export_rows(hospital, clinician, "findings")
    assert sorted((r["device_id"], r["vulnerability_id"]) for r in rows) == [(1, "CVE-2024-1000"), (2, "CVE-2024-1000")]
    _columns, rows = export_rows(hospital, SYSTEM, "findings")
    assert len(list(rows)) == 3  # open only
    with pytest.raises(PermissionDenied, match="findings:read"):
        export_rows(hospital, Principal(username="e", role=Role.EXECUTIVE), "findings")


def test_format_comes_from_the_extension() -> None:
    from pathlib import Path  # noqa: PLC0415

    assert format_for(Path("x.PDF")) == "pdf" and format_for(Path("x.html")) == "html"
    with pytest.raises(ReportError, match=r"must end in \.pdf or \.html"):
        format_for(Path("x.docx"))


def test_the_pdf_is_a_real_pdf_with_the_reports_text(sqlite_engine: Engine) -> None:
    pypdf = pytest.importorskip("pypdf")
    with sqlite_engine.begin() as c:
        c.execute(insert(devices).values(id=1, device_type="infusion-pump", criticality="life-sustaining",
                                         manufacturer="Baxter", model="Sigma Spectrum", created_at=NOW,
                                         updated_at=NOW))  # fmt: skip
        c.execute(insert(vulnerability_findings).values(**vuln(1, "CVE-2024-7777", in_kev=True, cvss_score=9.8)))
    rescore(sqlite_engine)
    pdf = render_pdf(board_report(sqlite_engine, SYSTEM))
    assert pdf.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 2
    text = " ".join(page.extract_text() for page in reader.pages)
    assert "board report" in text
    assert "Baxter Sigma Spectrum" in text  # the top risk, explained
    assert "CVE-2024-7777" in text
    assert "page 1 of" in text
