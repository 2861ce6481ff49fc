"""The compliance officer's journey in the browser: open Governance, switch framework, read a gap, record a
training course, download the IEC 80001-1 risk-management file and read it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.api.hospital import Hospital
from tests.web.test_browser import log_in

expect: Any = pytest.importorskip("playwright.sync_api").expect


def test_the_compliance_officer_checks_coverage_records_training_and_exports_the_risk_file(
    page: Any, hospital: Hospital, artifacts: Path
) -> None:
    log_in(page, hospital, "compliance")
    page.get_by_role("link", name="Governance", exact=True).click()
    expect(page).to_have_url(re.compile(r"/governance$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Governance")
    expect(page.get_by_role("heading", name="NIST Cybersecurity Framework 2.0")).to_be_visible()
    rows = page.get_by_test_id("coverage-items").locator("tbody tr")
    gaps = int(page.get_by_test_id("count-gap").inner_text())
    assert gaps > 0
    expect(rows.nth(gaps - 1)).to_have_attribute("data-status", "gap")  # the gaps come first
    expect(rows.nth(gaps)).not_to_have_attribute("data-status", "gap")
    expect(page.locator('[data-testid=coverage-bar] rect[data-status="gap"]')).to_have_count(1)

    # Switching the framework reloads the page on it (no button press needed)
    page.get_by_test_id("framework").select_option("tjc")
    expect(page).to_have_url(re.compile(r"/governance\?framework=tjc$"))
    expect(page.get_by_role("heading", name=re.compile("Joint Commission EC.02.04.01"))).to_be_visible()
    aem = page.get_by_test_id("coverage-items").locator('tr[data-ref="EC.02.04.01 EP6"]')
    expect(aem).to_have_attribute("data-status", "gap")
    expect(aem).to_contain_text("not covered by Wardwatch: a process the hospital must document")
    page.screenshot(path=artifacts / "governance-tjc.png", full_page=True)

    # Record the compliance officer's own IEC 80001-1 course
    done = (datetime.now(UTC).date() - timedelta(days=7)).isoformat()
    form = page.locator("form[data-add-training]")
    form.get_by_label("Person").fill("compliance")
    form.get_by_label("Course").fill("risk-management-80001")
    form.get_by_label("Completed").fill(done)
    form.get_by_label("Evidence").fill("certificate RM-80001-17")
    form.get_by_role("button", name="Record training").click()
    expect(page.get_by_test_id("training-result")).to_contain_text("Recorded compliance (compliance)")
    record = page.get_by_test_id("training-records").locator("tr", has_text="certificate RM-80001-17")
    expect(record).to_contain_text("Risk management of health IT networks (IEC 80001-1)", timeout=15_000)
    expect(record).to_contain_text(done)
    expect(record).to_have_attribute("data-state", "current")

    # The risk-management file downloads and holds the live data
    with page.expect_download() as info:
        page.get_by_role("link", name="Download IEC 80001-1 risk file").click()
    download = info.value
    assert download.suggested_filename.startswith("wardwatch-iec80001-risk-file-")
    assert download.suggested_filename.endswith(".html")
    saved = artifacts / "iec80001-risk-file.html"
    download.save_as(saved)
    html = saved.read_text(encoding="utf-8")
    assert "<h1>IEC 80001-1 risk-management file</h1>" in html
    assert "4. Hazards and risks" in html and "7. Record of verification" in html
    assert "Risk management of health IT networks (IEC 80001-1)" in html  # the compliance role's required course
    assert "Resources and competent people for risk management" in html


def test_a_clinician_has_no_governance_link_and_is_told_why_at_the_address(page: Any, hospital: Hospital) -> None:
    log_in(page, hospital, "clinician")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Governance")).to_have_count(0)
    response = page.goto("/governance")
    assert response.status == 403
    expect(page.get_by_role("alert")).to_contain_text("governance evidence")
    expect(page.get_by_role("alert")).to_contain_text("your role (clinician) does not include")
