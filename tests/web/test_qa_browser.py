"""The new-user QA findings, in a real browser: counts that match their lists, the findings worklist, roles,
the device list (sorting, type list, word search, no wrapping, paging) and the device page's labels."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.api.hospital import Hospital
from wardwatch.services.accounts import busiest_clinical_unit
from wardwatch.store.database import connect

expect: Any = pytest.importorskip("playwright.sync_api").expect


def log_in(page: Any, hospital: Hospital, role: str) -> None:
    """Log in through the form (filled by label, so a busy machine cannot lose keystrokes)."""
    page.goto("/login")
    page.get_by_label("Username").fill(role)
    page.get_by_label("Password").fill(hospital.passwords[role])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/dashboard/"))


def _card(page: Any, label: str) -> Any:
    return page.get_by_test_id("cards").locator(".figure", has_text=label)


def _number(text: str) -> int:
    found = re.search(r"[\d,]+", text)
    assert found, text
    return int(found.group(0).replace(",", ""))


def test_card_counts_equal_the_lists_they_open(page: Any, hospital: Hospital, artifacts: Path) -> None:
    log_in(page, hospital, "biomed")
    for label in ("Unknown devices", "Silent devices"):
        card = _card(page, label)
        value = _number(card.locator(".value").inner_text())
        card.locator("a").click()
        expect(page.get_by_test_id("device-count")).to_have_text(re.compile(rf"^{value:,} devices?$"))
        page.go_back()
    card = _card(page, "open vulnerabilities")
    value = _number(card.locator(".value").inner_text())
    expect(card).to_contain_text("potential")
    card.locator("a").click()
    expect(page.get_by_test_id("worklist-count")).to_contain_text(f"on {value:,} device")
    page.screenshot(path=artifacts / "findings-worklist.png", full_page=True)


def test_the_kev_worklist_leads_to_a_finding_with_its_fix(page: Any, hospital: Hospital, artifacts: Path) -> None:
    log_in(page, hospital, "itsec")
    card = _card(page, "known-exploited")
    value = _number(card.locator(".value").inner_text())
    card.locator("a").click()
    expect(page.get_by_test_id("worklist-count")).to_contain_text(f"on {value:,} device")
    rows = page.get_by_test_id("worklist").locator("tbody tr")
    expect(rows.first).to_contain_text("KEV")
    rows.first.locator("a").first.click()
    expect(page).to_have_url(re.compile(r"/findings/[A-Z]+-"))
    expect(page.get_by_test_id("finding-kev")).to_be_visible()
    expect(page.get_by_test_id("remediation")).to_be_visible()
    page.screenshot(path=artifacts / "finding.png", full_page=True)


def test_roles_see_only_what_they_may_open(page: Any, hospital: Hospital, artifacts: Path) -> None:
    log_in(page, hospital, "clinician")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Audit trail")).to_have_count(0)
    expect(nav.get_by_role("link", name="Network map")).to_have_count(0)
    page.goto("/audit")
    expect(page.get_by_role("alert")).to_contain_text("the audit trail, which your role (clinician) does not include")
    page.screenshot(path=artifacts / "refused.png", full_page=True)
    page.context.clear_cookies()
    log_in(page, hospital, "admin")
    expect(page).to_have_title("Posture · Wardwatch")
    tabs = page.get_by_role("navigation", name="Dashboards")
    expect(tabs.get_by_role("link", name="IT / security")).to_be_visible()
    tabs.get_by_role("link", name="Clinician").click()
    picker = page.get_by_label("Unit")
    engine = connect(hospital.url)
    busiest = busiest_clinical_unit(engine)  # an administrator's clinician dashboard opens on the busiest unit
    engine.dispose()
    assert busiest is not None
    expect(picker).to_have_value(busiest)
    expect(page.get_by_role("heading", level=1)).to_contain_text(busiest)
    other = next(o for o in picker.locator("option").all_inner_texts() if o != busiest)
    picker.select_option(other)
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(other)


def test_the_device_list_sorts_filters_searches_and_pages(page: Any, hospital: Hospital, artifacts: Path) -> None:
    page.set_viewport_size({"width": 1366, "height": 768})
    log_in(page, hospital, "biomed")
    page.goto("/devices")
    expect(page).to_have_title("Devices · Wardwatch")
    page.get_by_role("link", name="Risk", exact=True).last.click()
    expect(page).to_have_url(re.compile(r"sort=risk_score&order=desc"))
    scores = [float(s) for s in page.locator("#device-table tbody tr td:nth-child(6)").all_inner_texts() if s != "–"]
    assert len(scores) > 10 and scores == sorted(scores, reverse=True)
    heights = {round(b["height"]) for b in (r.bounding_box() for r in page.locator("#device-table tbody tr").all())}
    assert max(heights) < 40, heights  # one line per device at 1366 x 768
    page.screenshot(path=artifacts / "devices-sorted.png")
    page.get_by_role("link", name="Next page").click()
    expect(page.get_by_role("link", name="Previous")).to_be_visible()
    expect(page.get_by_role("link", name="First")).to_be_visible()
    page.goto("/devices")
    options = page.get_by_label("Type").locator("option").all_inner_texts()
    assert "infusion pump" in options
    assert "unknown" in page.get_by_label("Criticality").locator("option").all_inner_texts()
    page.get_by_label("Search").fill("GE CARESCAPE")
    expect(page.locator("#device-table")).to_have_attribute("data-query", "GE CARESCAPE")
    makers = page.locator("#device-table tbody tr td:nth-child(2)").all_inner_texts()
    assert makers and all(m.startswith("GE") for m in makers)
    page.get_by_label("Search").fill("infusion pump")
    expect(page.locator("#device-table")).to_have_attribute("data-query", "infusion pump")
    kinds = set(page.locator("#device-table tbody tr td:nth-child(4)").all_inner_texts())
    assert kinds and all("pump" in k for k in kinds)


def test_the_device_page_uses_proper_labels(page: Any, hospital: Hospital) -> None:
    log_in(page, hospital, "biomed")
    page.goto("/findings?view=eos")
    page.get_by_test_id("worklist").locator("tbody a").first.click()
    identity = page.locator("dl.identity")
    expect(identity.locator("dt", has_text=re.compile(r"^End of support$"))).to_be_visible()
    expect(page.get_by_test_id("past-end-of-support")).to_be_visible()
    for label in ("IP", "MAC"):
        expect(identity.locator("dt", has_text=re.compile(f"^{label}$"))).to_have_count(1)
