"""The admin's user administration page in a real browser: add a user, who logs in; issue a token that works;
disable the user, whose token then stops working."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.api.hospital import Hospital
from tests.web.test_browser import log_in

expect: Any = pytest.importorskip("playwright.sync_api").expect


def test_admin_adds_a_clinician_issues_a_token_and_disables_the_account(
    page: Any, hospital: Hospital, artifacts: Path
) -> None:
    log_in(page, hospital, "admin")
    page.get_by_role("link", name="Users", exact=True).click()
    expect(page.get_by_test_id("users")).to_contain_text("biomed")
    form = page.locator("form[data-add-user]")
    form.get_by_label("Username").fill("nurse.jane")
    form.get_by_label("Name", exact=True).fill("Jane Doe")
    form.get_by_label("Role").select_option("clinician")
    form.get_by_label("Unit (clinicians)").select_option(hospital.unit)
    form.get_by_role("button", name="Add user").click()
    result = page.get_by_test_id("add-result")
    expect(result).to_contain_text("Added nurse.jane (clinician)")
    password = re.search(r"shown once: (\S+)", result.inner_text())
    assert password is not None
    page.screenshot(path=artifacts / "users-added.png", full_page=True)

    page.reload()
    token_form = page.locator("form[data-token]")
    token_form.get_by_label("For user").select_option("nurse.jane")
    token_form.get_by_label("Token name").fill("bedside-app")
    token_form.get_by_label("Scope").select_option("devices:read")
    token_form.get_by_role("button", name="Issue token").click()
    issued = page.get_by_test_id("token-result")
    expect(issued).to_contain_text("scopes: devices:read")
    token = re.search(r"shown once: (\S+)", issued.inner_text())
    assert token is not None
    headers = {"Authorization": f"Bearer {token.group(1)}"}
    assert page.request.get("/api/devices?limit=1", headers=headers).status == 200
    assert page.request.get("/api/risk/top", headers=headers).status == 403  # outside the token's scope

    # the new account logs in with the password it was given, on the clinician's dashboard
    page.get_by_role("button", name="Log out").click()
    page.goto("/login")
    page.get_by_label("Username").fill("nurse.jane")
    page.get_by_label("Password").fill(password.group(1))
    page.get_by_label("Password").press("Enter")
    page.wait_for_url(re.compile(r"/dashboard/clinician"))
    page.get_by_role("button", name="Log out").click()

    log_in(page, hospital, "admin")
    page.goto("/users")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Disable nurse.jane").click()
    expect(page.locator("tr[data-user='nurse.jane']")).to_contain_text("disabled")
    assert page.request.get("/api/devices?limit=1", headers=headers).status == 401  # its token ended with it
    page.screenshot(path=artifacts / "users-disabled.png", full_page=True)


def test_only_an_admin_sees_the_users_page(page: Any, hospital: Hospital) -> None:
    log_in(page, hospital, "itsec")
    expect(page.get_by_role("link", name="Users", exact=True)).to_have_count(0)
    response = page.goto("/users")
    assert response is not None and response.status == 403
