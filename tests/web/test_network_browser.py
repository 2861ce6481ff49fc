"""Network analysis in the browser: violations, the worm's spread stepped on the graph, attack paths drawn, the
recommended iptables policy downloaded; a screenshot of each view.

Runs on its own server over the armed copy of the sample hospital (``tests.api.test_network_api``): a network
model imported and MS17-010 on the Windows hosts, so that there is a spread to watch and paths to draw.
"""

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

expect: Any = pytest.importorskip("playwright.sync_api").expect


@pytest.fixture(scope="module")
def base_url(hospital: Hospital, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server of its own on the armed copy (overrides the shared one for this module's ``page``)."""
    armed = network_hospital(hospital, tmp_path_factory.mktemp("network-browser"))
    with serving(armed.home) as url:
        yield url


def node_classes(page: Any, node_id: str) -> list[str]:
    """The classes of a node of the page's Cytoscape graph."""
    classes: list[str] = page.evaluate("(id) => window.wardwatchNetwork.cy.getElementById(id).classes()", node_id)
    return classes


def test_itsec_reviews_violations_spread_paths_and_downloads_the_policy(
    page: Any, hospital: Hospital, artifacts: Path
) -> None:
    log_in(page, hospital, "itsec")
    page.get_by_role("link", name="Network analysis").click()
    expect(page).to_have_url(re.compile(r"/network$"))

    # Violations: the sample hospital's deliberate mistakes, filterable by kind
    violations = page.get_by_test_id("violations")
    expect(violations).to_contain_text("vendor-any-any")
    expect(violations.locator("tbody .pill").first).to_be_visible()
    page.get_by_label("Kind").select_option("misplaced")
    page.get_by_role("button", name="Filter").click()
    kinds = set(violations.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.kind)"))
    assert kinds == {"misplaced"}
    expect(violations).to_contain_text("10.1.46.11")  # the Windows 7 x-ray in the pump zone
    page.screenshot(path=artifacts / "network-violations.png", full_page=True)

    # Blast radius from guest Wi-Fi, stepped: the counter advances and a host turns "fallen"
    page.get_by_role("link", name="Blast radius").click()
    page.get_by_label("Start from (zone, device or IP)").fill("riv-guest")
    page.get_by_label("Steps", exact=True).fill("8")
    page.get_by_role("button", name="Run").click()
    counter = page.get_by_test_id("step-counter")
    expect(counter).to_contain_text(re.compile(r"^Step 0 of \d+"), timeout=120_000)  # a loaded CI machine
    later: list[list[Any]] = page.evaluate(
        "() => window.wardwatchNetwork.cy.nodes('.host').filter(n => n.data('step') > 0)"
        ".map(n => [n.id(), n.data('step')]).sort((a, b) => a[1] - b[1])"
    )
    assert later, "the worm spreads beyond its first step"
    node, step = later[0]
    assert "later" in node_classes(page, node) and "fallen" not in node_classes(page, node)
    for k in range(1, step + 1):
        page.get_by_role("button", name="Step", exact=True).click()
        expect(counter).to_contain_text(f"Step {k} of")
    assert "fallen" in node_classes(page, node) and "now" in node_classes(page, node)
    last = int(re.search(r"of (\d+)", counter.inner_text()).group(1))  # type: ignore[union-attr]
    expect(page.get_by_test_id("spread-steps").locator("tbody tr")).to_have_count(last + 1)
    expect(page.get_by_test_id("zones-hit")).to_contain_text("riv-ent")  # guest-to-enterprise-smb
    page.screenshot(path=artifacts / "network-blast-radius.png", full_page=True)

    # Attack paths from the vendor VPN pool: listed hop by hop and drawn
    page.get_by_role("link", name="Attack paths").click()
    page.get_by_label("From zone").select_option("vendor-remote")
    page.get_by_role("button", name="Find paths").click()
    paths = page.get_by_test_id("paths-list").locator("> li")
    expect(paths.first).to_contain_text("vendor-remote", timeout=120_000)
    expect(paths.first).to_contain_text("tcp/445")
    drawn = page.evaluate(
        "() => [window.wardwatchNetwork.cy.nodes('.entry').length, window.wardwatchNetwork.cy.edges().length]"
    )
    assert drawn[0] == 1 and drawn[1] >= paths.count()
    page.screenshot(path=artifacts / "network-attack-paths.png", full_page=True)

    # Recommendation: download the iptables allow-list
    page.get_by_role("link", name="Recommendation").click()
    expect(page.get_by_test_id("changes")).to_contain_text("vendor-any-any", timeout=120_000)
    with page.expect_download() as download:
        page.get_by_role("link", name="iptables-save rules").click()
    assert download.value.suggested_filename == "wardwatch-policy.iptables"
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert [line for line in text.splitlines() if line and not line.startswith("#")][0] == "*filter"
    page.screenshot(path=artifacts / "network-recommendation.png", full_page=True)


def test_a_clinician_is_told_the_page_is_not_for_their_role(page: Any, hospital: Hospital) -> None:
    log_in(page, hospital, "clinician")
    expect(page.get_by_role("link", name="Network analysis")).to_have_count(0)
    response = page.goto("/network")
    assert response.status == 403
    expect(page.locator("main")).to_contain_text("network analysis")
