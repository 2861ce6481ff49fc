"""Risk in the browser: top risks on the dashboard, the device's explanation, rankings, what-if, acceptances."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.api.hospital import Hospital

expect: Any = pytest.importorskip("playwright.sync_api").expect


def log_in(page: Any, hospital: Hospital, role: str) -> None:
    """Log in through the form (filled by label, so a busy machine cannot lose keystrokes)."""
    page.goto("/login")
    page.get_by_label("Username").fill(role)
    page.get_by_label("Password").fill(hospital.passwords[role])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/dashboard/"))


def test_biomed_sees_top_risks_and_a_device_explained(page: Any, hospital: Hospital, artifacts: Path) -> None:
    log_in(page, hospital, "biomed")
    top = page.get_by_test_id("top-risks")
    expect(top.locator("tbody tr").first).to_be_visible()
    top.locator("tbody a").first.click()
    expect(page).to_have_url(re.compile(r"/devices/\d+$"))
    risk = page.get_by_test_id("device-risk")
    expect(page.get_by_test_id("risk-score")).to_have_text(re.compile(r"^\d+(\.\d)?/100$"))
    expect(page.get_by_test_id("risk-summary")).to_contain_text("risk, score")
    expect(risk).to_contain_text("How soon to act (SSVC)")
    expect(page.get_by_text("appears here when the risk capability lands")).to_have_count(0)
    page.screenshot(path=artifacts / "device-risk.png", full_page=True)


def test_the_risk_page_ranks_rolls_up_and_simulates(page: Any, hospital: Hospital, artifacts: Path) -> None:
    log_in(page, hospital, "itsec")
    page.get_by_role("link", name="Risk", exact=True).click()
    ranking = page.get_by_test_id("risk-ranking")
    scores = [float(s) for s in ranking.locator("tbody tr td:first-child").all_inner_texts()]
    assert scores and scores == sorted(scores, reverse=True)
    page.get_by_label("Group by").select_option("type")
    page.get_by_role("button", name="Group").click()
    expect(page.get_by_role("heading", name="Risk by type")).to_be_visible()
    worst_type = ranking.locator("tbody tr").first.locator("td").nth(5).inner_text()
    page.get_by_label("Change").select_option("patch")
    page.get_by_label("Devices with").select_option("type")
    page.get_by_label("equal to").fill(worst_type)
    page.get_by_role("button", name="Simulate").click()
    expect(page.locator("#wi-status")).to_contain_text("nothing was stored")
    overall = page.get_by_test_id("what-if-overall")
    expect(overall).to_contain_text("Mean score")
    before, after = (float(x) for x in overall.locator("tbody tr").first.locator("td").all_inner_texts())
    assert after <= before
    expect(page.get_by_test_id("what-if-devices").locator("tbody tr").first).to_be_visible()
    page.screenshot(path=artifacts / "risk.png", full_page=True)


def test_itsec_accepts_and_revokes_a_risk(page: Any, hospital: Hospital, artifacts: Path) -> None:
    log_in(page, hospital, "itsec")
    page.goto("/risk/acceptances")
    page.get_by_label("Device (id, asset tag, IP, MAC)").fill("2")
    page.get_by_label("Justification").fill("browser test: vendor patch due")
    page.get_by_label("Expires on").fill((datetime.now(UTC).date() + timedelta(days=7)).isoformat())
    page.get_by_label("monitoring").check()
    page.get_by_role("button", name="Accept").click()
    row = page.get_by_test_id("acceptances").locator("tr", has_text="browser test: vendor patch due")
    expect(row).to_contain_text("expires soon")
    expect(row).to_have_class(re.compile("expiring"))
    page.screenshot(path=artifacts / "acceptances.png", full_page=True)
    row.get_by_role("button", name="Revoke").click()
    expect(page.get_by_test_id("acceptances").locator("tr", has_text="browser test: vendor patch due")).to_have_count(0)


def test_the_executive_sees_risk_but_not_devices(page: Any, hospital: Hospital) -> None:
    log_in(page, hospital, "executive")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Risk", exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name="Devices", exact=True)).to_have_count(0)
    expect(page.get_by_test_id("top-risks")).to_be_visible()
