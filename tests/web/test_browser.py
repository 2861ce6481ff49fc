"""Each role's journey in a real browser (Chromium via Playwright), with a screenshot of every page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.api.hospital import Hospital
from wardwatch.domain.permissions import HOME_DASHBOARD, Role

expect: Any = pytest.importorskip("playwright.sync_api").expect


def log_in(page: Any, hospital: Hospital, role: str) -> None:
    """Log in with the keyboard only: the username field has focus, Tab moves on, Enter submits."""
    page.goto("/login")
    expect(page.get_by_label("Username")).to_be_focused()  # typing before the focus lands loses keystrokes
    page.keyboard.type(role)
    page.keyboard.press("Tab")
    page.keyboard.type(hospital.passwords[role])
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/dashboard/"))


def test_a_wrong_password_is_refused_on_the_login_page(page: Any, hospital: Hospital, artifacts: Path) -> None:
    page.goto("/devices")
    expect(page).to_have_url(re.compile(r"/login\?next=/devices"))
    page.get_by_label("Username").fill("biomed")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("wrong username or password")
    page.screenshot(path=artifacts / "login-refused.png", full_page=True)
    page.get_by_label("Password").fill(hospital.passwords["biomed"])
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/devices$"))  # back to where they were going


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_each_role_lands_on_its_dashboard(page: Any, hospital: Hospital, artifacts: Path, role: Role) -> None:
    log_in(page, hospital, role.value)
    expect(page).to_have_url(re.compile(f"/dashboard/{HOME_DASHBOARD[role]}$"))
    expect(page.get_by_test_id("whoami")).to_contain_text(role.value)
    cards = page.get_by_test_id("cards").locator(".figure")
    expect(cards.first).to_be_visible()
    assert cards.count() >= 2
    if role is Role.CLINICIAN:
        expect(page.get_by_role("heading", level=1)).to_contain_text(hospital.unit)
    page.screenshot(path=artifacts / f"dashboard-{role.value}.png", full_page=True)


def test_biomed_finds_a_device_and_reads_the_evidence(page: Any, hospital: Hospital, artifacts: Path) -> None:
    log_in(page, hospital, "biomed")
    expect(page.get_by_test_id("cards")).to_contain_text("Unknown devices")
    page.get_by_role("link", name="Devices", exact=True).click()
    search = page.get_by_label("Search")
    search.fill("sigma spectrum")  # searched as you type, without submitting
    expect(page.locator("#device-table")).to_have_attribute("data-query", "sigma spectrum")
    expect(page.get_by_test_id("device-count")).to_have_text(re.compile(r"^\d+ devices$"))
    expect(page).to_have_url(re.compile(r"/devices\?q=sigma"))  # the search is in the address, to share
    rows = page.locator("#device-table tbody tr")
    expect(rows.first).to_contain_text("Sigma Spectrum")
    assert all("Sigma Spectrum" in text for text in rows.all_inner_texts())
    page.screenshot(path=artifacts / "devices-search.png", full_page=True)
    rows.first.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Sigma Spectrum")
    evidence = page.get_by_test_id("evidence-manufacturer")
    evidence.locator("summary").focus()
    page.keyboard.press("Enter")  # opens the evidence with the keyboard
    expect(evidence.locator("table")).to_be_visible()
    expect(evidence.locator("table")).to_contain_text("cmms")
    page.screenshot(path=artifacts / "device-evidence.png", full_page=True)


def test_itsec_uploads_a_capture_and_watches_the_job_finish(page: Any, hospital: Hospital, artifacts: Path) -> None:
    log_in(page, hospital, "itsec")
    page.goto("/uploads")
    page.get_by_label("What is it?").select_option("capture")
    page.get_by_label("File").set_input_files(str(hospital.home / "sample-hospital" / "traffic.pcap"))
    page.get_by_role("button", name="Upload and process").click()
    expect(page.get_by_test_id("job-state")).to_have_text("succeeded", timeout=120_000)
    expect(page.locator("#job-result")).to_contain_text("Devices")  # a readable summary, not JSON
    expect(page.locator("#job-result")).not_to_contain_text("{")
    page.screenshot(path=artifacts / "upload-job.png", full_page=True)


def test_the_network_map_draws_the_observed_flows(page: Any, hospital: Hospital, artifacts: Path) -> None:
    log_in(page, hospital, "itsec")
    page.get_by_role("link", name="Network map").click()
    expect(page.locator("#map-status")).to_contain_text("Zones view", timeout=30_000)
    expect(page.get_by_test_id("network-map").locator("canvas").first).to_be_visible()
    page.screenshot(path=artifacts / "network-map-zones.png", full_page=True)
    page.get_by_role("button", name="All devices").click()
    expect(page.locator("#map-status")).to_contain_text("Devices view")
    expect(page.get_by_role("button", name="All devices")).to_have_attribute("aria-pressed", "true")
    page.screenshot(path=artifacts / "network-map-devices.png", full_page=True)
    page.evaluate("zone => window.wardwatchMap.show('devices', 'z:' + zone)", hospital.unit)
    expect(page.locator("#map-status")).to_contain_text(f"Devices view of {hospital.unit}")
    page.screenshot(path=artifacts / "network-map-zone.png", full_page=True)


def test_a_read_only_role_is_refused_changes(page: Any, hospital: Hospital, artifacts: Path) -> None:
    log_in(page, hospital, "executive")
    assert page.get_by_role("link", name="Devices", exact=True).count() == 0  # not offered
    page.goto("/uploads")
    expect(page.locator("main")).to_contain_text("Your role does not upload files")
    status = page.evaluate(
        """async () => {
            const token = document.cookie.match(/ww_csrf=([^;]+)/)[1];
            const body = new FormData();
            body.append("file", new Blob(["a,b\\n"]), "x.csv");
            const r = await fetch("/api/uploads/cmms", {method: "POST", body, headers: {"X-CSRF-Token": token}});
            return [r.status, (await r.json()).detail];
        }"""
    )
    assert status[0] == 403 and "inventory:write" in status[1]
    response = page.goto("/devices")
    assert response.status == 403
    expect(page.get_by_role("alert")).to_contain_text("devices:read")
    page.screenshot(path=artifacts / "refused.png", full_page=True)


def test_biomed_uploads_an_mds2_form_and_the_device_page_shows_it(
    page: Any, hospital: Hospital, artifacts: Path, tmp_path: Path
) -> None:
    form = tmp_path / "carescape-b450.mds2.csv"
    form.write_text(
        "question_id,question,answer,note\n"
        "DOC-1,Manufacturer Name,GE HealthCare,\n"
        "DOC-3,Device Model,CARESCAPE B450,\n"
        "DOC-7,Document Release Date,2031-01-15,\n"
        "AUTH-1,Login required?,Yes,\n"
        "MLDP-2,Anti-malware?,No,\n"
        "MLDP-4,Application allow-listing?,Yes,\n"
        "RMOT-1,Remote service?,No,\n"
        "RMOT-2,Remote connections to the device?,No,\n"
        "RMOT-3,Other remote functionality?,No,\n"
        "CSUP-2,Operating system?,Yes,QNX 7.0\n",
        encoding="utf-8",
    )
    log_in(page, hospital, "biomed")
    page.goto("/uploads")
    page.get_by_label("What is it?").select_option("intel")
    page.get_by_label("File").set_input_files(str(form))
    page.get_by_role("button", name="Upload and process").click()
    expect(page.get_by_test_id("job-state")).to_have_text("succeeded", timeout=120_000)
    expect(page.locator("#job-result")).to_contain_text("Mds2 links")
    page.goto("/devices?q=carescape+b450")
    page.locator("#device-table tbody tr").first.get_by_role("link").click()
    section = page.get_by_test_id("device-security")
    expect(section).to_contain_text("MDS2 form for GE HealthCare CARESCAPE B450, dated 2031-01-15")
    capabilities = section.get_by_test_id("capabilities")
    expect(capabilities.locator(".attr", has_text="Application allow-listing")).to_contain_text("Yes")
    expect(capabilities.locator(".attr", has_text="Remote service connections")).to_contain_text("No")
    expect(section).to_contain_text("application allowlisting")  # counted by risk as a compensating control
    page.screenshot(path=artifacts / "device-mds2.png", full_page=True)
