"""The remediation workflow in the browser, each role doing its own step (issue 9, "Done when"):

biomed triages a work item of the clinician's unit, sends it for the manufacturer's validation, records that
validation, approves and schedules the patch; the clinician of the unit signs off the downtime; biomed applies and
verifies it.  IT security is offered only the mitigation of an open item, and compliance accepts one's risk.

Runs on its own server over a copy of the sample hospital (the steps change its work items).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.hospital import Hospital
from tests.web.conftest import serving
from tests.web.test_browser import log_in
from wardwatch.domain.permissions import SYSTEM
from wardwatch.services import remediation
from wardwatch.store.database import connect

expect: Any = pytest.importorskip("playwright.sync_api").expect


@pytest.fixture(scope="module")
def copy(hospital: Hospital, tmp_path_factory: pytest.TempPathFactory) -> Hospital:
    root = tmp_path_factory.mktemp("remediation-browser")
    source, target = sqlite3.connect(hospital.home / "wardwatch.db"), sqlite3.connect(root / "wardwatch.db")
    source.backup(target)  # consistent even while the shared server holds connections
    target.close()
    source.close()
    copied = Hospital(root, hospital.passwords, hospital.unit)
    engine = connect(copied.url)
    remediation.sync(engine, SYSTEM)  # idempotent: the demo made them already
    engine.dispose()
    return copied


@pytest.fixture(scope="module")
def base_url(copy: Hospital) -> Iterator[str]:
    with serving(copy.home) as url:
        yield url


def _items_of_unit(hospital: Hospital) -> list[dict[str, Any]]:
    """Open, model-scoped items with a device in the clinician's unit, from the service (what the clinician sees)."""
    engine = connect(hospital.url)
    found = [
        remediation.get_item(engine, SYSTEM, i["id"])
        for i in remediation.list_items(engine, SYSTEM, state="open", limit=100_000)
    ]
    engine.dispose()
    return [i for i in found if i["scope"] == "model" and hospital.unit in i["units"]]


def _step(page: Any, to: str, **fields: str) -> None:
    page.get_by_label("Next step").select_option(to)
    for label, value in fields.items():
        page.get_by_label(label).fill(value)
    page.get_by_role("button", name="Take the step").click()
    expect(page.get_by_test_id("item-state")).to_have_text(to, timeout=60_000)


def test_each_role_takes_its_own_step(page: Any, copy: Hospital, artifacts: Path) -> None:
    items = _items_of_unit(copy)
    assert len(items) >= 3, "the sample hospital has work items in the clinician's unit"
    patched, mitigated, accepted = items[0], items[1], items[2]

    log_in(page, copy, "biomed")
    page.get_by_role("link", name="Remediation", exact=True).click()
    expect(page.get_by_test_id("remediation-items")).to_contain_text(patched["title"])
    page.goto(f"/remediation/{patched['id']}")
    _step(page, "triaged", Note="affects the unit's devices; manufacturer asked")
    _step(page, "awaiting-validation", **{"Fix (patch or version)": "9.41"})
    # Approval is refused until the manufacturer's validation of 9.41 is on record
    page.get_by_label("Next step").select_option("approved")
    page.get_by_role("button", name="Take the step").click()
    expect(page.get_by_test_id("step-result")).to_contain_text("no validation is recorded")
    page.get_by_label("Source document").fill("Manufacturer bulletin PSB-2026-41")
    page.get_by_role("button", name="Record the validation").click()
    expect(page.get_by_test_id("validations")).to_contain_text("PSB-2026-41", timeout=60_000)
    _step(page, "approved")
    _step(page, "scheduled", **{"Patch date": "2026-12-20T22:00"})
    page.get_by_label("Next step").select_option("applied")
    page.get_by_role("button", name="Take the step").click()
    expect(page.get_by_test_id("step-result")).to_contain_text("signed off by a clinician")
    page.context.clear_cookies()

    log_in(page, copy, "clinician")
    page.goto(f"/remediation/{patched['id']}")
    expect(page.get_by_text("Your role has no step to take on this item now.")).to_be_visible()
    page.get_by_label("What the unit arranged for the downtime").fill(
        "two spare devices from the pool; charge nurse told"
    )
    page.get_by_role("button", name="Sign off the downtime").click()
    expect(page.get_by_test_id("signed-off")).to_contain_text("clinician", timeout=60_000)
    page.context.clear_cookies()

    log_in(page, copy, "biomed")
    page.goto(f"/remediation/{patched['id']}")
    _step(page, "applied")
    _step(page, "verified")
    history = page.get_by_test_id("item-history")
    for text in ("biomed (biomed): open → triaged", "clinician (clinician): signed off the downtime",
                 "biomed (biomed): applied → verified"):  # fmt: skip
        expect(history).to_contain_text(text)
    page.screenshot(path=artifacts / "remediation-item.png", full_page=True)
    page.goto(f"/devices/{patched['devices_list'][0]['id']}")  # the device page shows its remediation history
    expect(page.get_by_test_id("device-remediation")).to_contain_text(f"#{patched['id']}")
    expect(page.get_by_test_id("device-remediation")).to_contain_text("applied → verified")
    page.context.clear_cookies()

    log_in(page, copy, "itsec")
    page.goto(f"/remediation/{mitigated['id']}")
    options = page.get_by_label("Next step").locator("option").all_inner_texts()
    assert options == ["mitigated"]  # IT security's step only: triage is biomed's, acceptance compliance's
    page.get_by_label("Next step").select_option("mitigated")
    page.get_by_label("Compensating controls").select_option(["isolation", "acl"])
    page.get_by_role("button", name="Take the step").click()
    expect(page.get_by_test_id("item-state")).to_have_text("mitigated", timeout=60_000)
    page.context.clear_cookies()

    log_in(page, copy, "compliance")
    page.goto(f"/remediation/{accepted['id']}")
    page.get_by_label("Next step").select_option("accepted")
    page.get_by_label("Justification").fill("replacement ordered for Q2; isolated VLAN")
    page.get_by_label("Accepted until").fill("2027-06-30")
    page.get_by_role("button", name="Take the step").click()
    expect(page.get_by_test_id("item-state")).to_have_text("accepted", timeout=60_000)
    page.goto("/remediation")
    page.get_by_label("Search (CVE, manufacturer, model)").fill(accepted["vulnerability"])
    page.get_by_label("Unit").select_option(copy.unit)
    page.get_by_role("button", name="Filter").click()
    expect(page.locator(f"tr[data-item='{accepted['id']}']")).to_be_visible()
    shown = (
        page.get_by_test_id("remediation-items")
        .locator("tbody tr")
        .evaluate_all("rows => rows.map(r => r.dataset.item)")
    )
    assert all(
        accepted["vulnerability"] in title
        for title in page.get_by_test_id("remediation-items").locator("tbody tr td:nth-child(2)").all_inner_texts()
    ), shown
    page.goto("/remediation?state=accepted")
    expect(page.get_by_test_id("all-validations")).to_contain_text("PSB-2026-41")  # biomed's, on the board
    expect(page.locator(f"tr[data-item='{accepted['id']}']")).to_be_visible()
    expect(page.get_by_test_id("remediation-figures")).to_contain_text(re.compile(r"\d+ closed"))
    page.screenshot(path=artifacts / "remediation-board.png", full_page=True)
