"""The executive downloads the board report from their dashboard; the reports page offers what the role may get."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from tests.api.hospital import Hospital
from tests.web.test_browser import log_in

expect: Any = pytest.importorskip("playwright.sync_api").expect


def test_the_executive_downloads_the_board_report(page: Any, hospital: Hospital, artifacts: Path) -> None:
    pypdf = pytest.importorskip("pypdf")
    log_in(page, hospital, "executive")
    button = page.get_by_role("link", name="Download the board report (PDF)")
    expect(button).to_be_visible()
    page.screenshot(path=artifacts / "dashboard-executive-report-button.png", full_page=True)
    with page.expect_download() as info:
        button.click()
    download = info.value
    assert download.suggested_filename.startswith("wardwatch-board-report-")
    assert download.suggested_filename.endswith(".pdf")
    saved = artifacts / "board-report.pdf"
    download.save_as(saved)
    data = saved.read_bytes()
    assert data.startswith(b"%PDF-")
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages)
    assert "board report" in text and "Devices in the inventory" in text


def test_the_reports_page_offers_what_the_role_may_get(page: Any, hospital: Hospital, artifacts: Path) -> None:
    log_in(page, hospital, "compliance")
    page.get_by_role("link", name="Reports", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reports and exports")
    expect(page.get_by_role("heading", name="Board report")).to_be_visible()
    expect(page.get_by_role("heading", name="Audit report")).to_be_visible()
    expect(page.get_by_role("link", name="CSV").first).to_be_visible()
    page.screenshot(path=artifacts / "reports-compliance.png", full_page=True)
    page.goto("/api/reports/board?format=html")  # the HTML report opens in the browser without CSP violations
    expect(page.get_by_role("heading", level=1)).to_contain_text("board report")
    expect(page.locator("img.chart").first).to_be_visible()
    page.screenshot(path=artifacts / "report-board-html.png", full_page=True)


def test_the_executive_has_no_audit_report_and_a_clinician_no_reports(
    page: Any, hospital: Hospital, artifacts: Path
) -> None:
    log_in(page, hospital, "executive")
    page.goto("/reports")
    expect(page.get_by_role("heading", name="Board report")).to_be_visible()
    expect(page.get_by_role("heading", name="Audit report")).to_have_count(0)
    expect(page.get_by_role("link", name="CSV")).to_have_count(0)  # no devices:read, no findings:read
    page.context.clear_cookies()
    log_in(page, hospital, "clinician")
    expect(page.get_by_role("link", name="Reports", exact=True)).to_have_count(0)
    page.goto("/reports")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
