"""Incident playbooks in the browser: an IT security analyst runs the WannaCry playbook on the armed copy of the
sample hospital, opens an incident, ticks a step with a note and closes it; the incident page shows who did what.
A clinician reads the playbooks but cannot open incidents.  Runs on a server of its own (writes incidents)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.hospital import Hospital
from tests.api.test_network_api import network_hospital
from tests.web.conftest import serving
from tests.web.test_browser import log_in
from wardwatch.domain import worm
from wardwatch.services.network import load_hosts
from wardwatch.store.database import connect

expect: Any = pytest.importorskip("playwright.sync_api").expect


@pytest.fixture(scope="module")
def armed(hospital: Hospital, tmp_path_factory: pytest.TempPathFactory) -> Hospital:
    return network_hospital(hospital, tmp_path_factory.mktemp("incidents-browser"))


@pytest.fixture(scope="module")
def base_url(armed: Hospital) -> Iterator[str]:
    """A server of its own on the armed copy (overrides the shared one for this module's ``page``)."""
    with serving(armed.home) as url:
        yield url


def test_itsec_runs_the_wannacry_playbook_opens_works_and_closes_an_incident(
    page: Any, hospital: Hospital, armed: Hospital, artifacts: Path
) -> None:
    engine = connect(armed.url)
    vulnerable = {str(h.device_id) for h in load_hosts(engine) if h.device_id and worm.is_vulnerable(h)}
    engine.dispose()
    log_in(page, hospital, "itsec")
    page.get_by_role("link", name="Incidents").click()
    expect(page).to_have_url(re.compile(r"/incidents$"))
    page.get_by_test_id("playbook-wannacry").get_by_role("button", name="Run wannacry").click()
    rows = page.get_by_test_id("affected-devices").locator("tbody tr")
    expect(rows.first).to_be_visible()
    shown = set(rows.evaluate_all("rows => rows.map(r => r.dataset.deviceId)"))
    assert shown == vulnerable, "by default: every vulnerable host"
    expect(page.get_by_test_id("isolation")).to_contain_text("Block tcp/445")
    expect(page.get_by_test_id("downtime")).to_contain_text("rounding")
    expect(page.get_by_test_id("contacts")).to_contain_text("CISO")
    page.screenshot(path=artifacts / "incidents-run.png", full_page=True)

    page.get_by_label("Incident title").fill("Ransom notes on imaging workstations")
    page.get_by_role("button", name="Open incident").click()
    page.wait_for_url(re.compile(r"/incidents/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ransom notes on imaging workstations")
    expect(page.get_by_test_id("incident-status")).to_have_text("open")

    row = page.get_by_test_id("checklist").locator('tr[data-step="block-445"]')
    row.get_by_placeholder("note").fill("deny 445 between zones on core-fw")
    row.get_by_role("button", name="Record").click()
    expect(page.get_by_test_id("checklist").locator('tr[data-step="block-445"]')).to_have_attribute("data-done", "yes")
    expect(page.get_by_test_id("checklist").locator('tr[data-step="block-445"]')).to_contain_text(
        "itsec, "
    )  # who did it
    log = page.get_by_test_id("action-log")
    expect(log).to_contain_text("deny 445 between zones on core-fw")
    expect(log).to_contain_text("itsec")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_label("Closing note").fill("all hosts patched")
    page.get_by_role("button", name="Close incident").click()
    expect(page.get_by_test_id("incident-status")).to_have_text("closed")
    expect(page.get_by_test_id("action-log").locator("tbody tr")).to_have_count(2)
    expect(page.get_by_test_id("action-log")).to_contain_text("all hosts patched")
    expect(page.get_by_role("button", name="Record")).to_have_count(0)  # a closed incident takes no more actions
    page.screenshot(path=artifacts / "incident-closed.png", full_page=True)

    page.get_by_role("link", name="All incidents").click()
    expect(page.get_by_test_id("incident-list")).to_contain_text("Ransom notes on imaging workstations")


def test_a_clinician_reads_playbooks_for_their_unit_but_opens_no_incident(page: Any, hospital: Hospital) -> None:
    log_in(page, hospital, "clinician")
    page.get_by_role("link", name="Incidents").click()
    page.get_by_test_id("playbook-vendor-account").get_by_role("button", name="Run vendor-account").click()
    units = page.get_by_test_id("by-unit").locator("tbody tr td:first-child").all_inner_texts()
    assert units == [hospital.unit]
    expect(page.get_by_role("button", name="Open incident")).to_have_count(0)
