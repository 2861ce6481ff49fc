"""Scheduled delivery on the Reports page in a real browser: the admin adds a weekly schedule and sees it listed
(through the JSON API with the CSRF token); a reader without users:admin sees the table but no form."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.api.hospital import Hospital
from tests.web.test_browser import log_in
from wardwatch.domain.permissions import SYSTEM
from wardwatch.services.report_schedules import list_schedules
from wardwatch.store.database import connect

expect: Any = pytest.importorskip("playwright.sync_api").expect


def test_the_admin_adds_a_weekly_schedule_and_sees_it_listed(page: Any, hospital: Hospital, artifacts: Path) -> None:
    log_in(page, hospital, "admin")
    page.get_by_role("link", name="Reports", exact=True).click()
    expect(page.get_by_role("heading", name="Scheduled delivery")).to_be_visible()
    form = page.locator("form[data-add-schedule]")
    form.get_by_label("Report").select_option("board")
    form.get_by_label("Format").select_option("pdf")
    form.get_by_label("Cadence").select_option("weekly")
    expect(form.get_by_label("Day of month")).to_be_hidden()
    form.get_by_label("Weekday").select_option("Wednesday")
    form.get_by_label("Hour (UTC)").fill("6")
    form.get_by_label("Recipients").fill("board@hospital.org, ciso@hospital.org")
    form.get_by_label("Folder").fill("reports/browser")
    form.get_by_role("button", name="Add schedule").click()
    expect(page.get_by_test_id("schedule-result")).to_contain_text(
        "Scheduled: the board report (pdf) weekly on Wednesday at 06:00 UTC"
    )

    engine = connect(hospital.url)
    stored = [s for s in list_schedules(engine, SYSTEM) if s["folder"] == "reports/browser"]
    engine.dispose()
    assert len(stored) == 1
    made = stored[0]
    assert made["created_by"] == "admin" and made["recipients"] == ["board@hospital.org", "ciso@hospital.org"]
    assert made["next_run_at"] > datetime.now(UTC) and made["next_run_at"].weekday() == 2

    row = page.locator(f"table[data-testid=schedules] tr[data-schedule='{made['id']}']")
    expect(row).to_contain_text("weekly on Wednesday at 06:00 UTC")
    expect(row).to_contain_text("board@hospital.org, ciso@hospital.org")
    expect(row).to_contain_text("not run yet")
    page.reload()  # listed from the server, not only drawn by the form
    expect(row).to_contain_text("reports/browser")
    page.screenshot(path=artifacts / "reports-schedules.png", full_page=True)

    row.get_by_role("button", name=f"Disable schedule {made['id']}").click()
    expect(row).to_contain_text("disabled")


def test_a_bad_folder_is_refused_in_the_page(page: Any, hospital: Hospital) -> None:
    log_in(page, hospital, "admin")
    page.goto("/reports")
    form = page.locator("form[data-add-schedule]")
    form.get_by_label("Cadence").select_option("monthly")
    expect(form.get_by_label("Day of month")).to_be_visible()
    form.get_by_label("Folder").fill("../../etc")
    form.get_by_role("button", name="Add schedule").click()
    expect(page.get_by_test_id("schedule-result")).to_contain_text("Not scheduled:")
    expect(page.get_by_test_id("schedule-result")).to_contain_text("not inside the Wardwatch home")


def test_an_executive_sees_the_schedules_but_no_form(page: Any, hospital: Hospital) -> None:
    log_in(page, hospital, "executive")
    page.goto("/reports")
    expect(page.get_by_role("heading", name="Scheduled delivery")).to_be_visible()
    expect(page.locator("table[data-testid=schedules] tbody")).not_to_contain_text("Loading")
    expect(page.locator("form[data-add-schedule]")).to_have_count(0)
    expect(page.get_by_role("button", name="Add schedule")).to_have_count(0)
