"""ACLs bound to interfaces, in the browser: IT security imports a firewall and a core switch configuration with
their interfaces, routes and ``access-group`` lines, and the network page lists every binding (device, interface,
direction, ACL, entries, where it is bound) and what the readers left out.

Runs on its own server over a copy of the sample hospital: the import replaces that copy's network model.
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

FIXTURES = Path(__file__).parents[1] / "fixtures" / "network"
ZONES = """\
default: allow
zones:
  - {name: pumps, kind: life-sustaining, subnets: [10.20.20.0/24, 10.20.21.0/24], vlans: [20]}
  - {name: clinical-apps, kind: clinical-apps, subnets: [10.20.30.0/24], vlans: [30]}
  - {name: enterprise, kind: enterprise, subnets: [10.20.40.0/24], vlans: [40], entry_point: true}
  - {name: vendor-remote, kind: vendor-remote, subnets: [10.70.0.0/24], entry_point: true}
"""


@pytest.fixture(scope="module")
def base_url(hospital: Hospital, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server of its own on a copy whose network model this test replaces."""
    copy = network_hospital(hospital, tmp_path_factory.mktemp("network-bindings"))
    with serving(copy.home) as url:
        yield url


def test_itsec_imports_bound_acls_and_sees_each_binding(
    page: Any, hospital: Hospital, artifacts: Path, tmp_path: Path
) -> None:
    zones = tmp_path / "zones.yaml"
    zones.write_text(ZONES, encoding="utf-8")
    log_in(page, hospital, "itsec")
    page.goto("/network")
    page.get_by_text("Import a new network model").click()
    page.get_by_label("Zones YAML and firewall configs").set_input_files(
        [str(zones), str(FIXTURES / "bound-asa.cfg"), str(FIXTURES / "bound-ios.cfg")]
    )
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#import-status")).to_contain_text(
        re.compile(r"Imported: 4 zones, \d+ rules, \d+ ACL bindings")
    )

    model = page.get_by_test_id("network-model")
    expect(model).to_contain_text("bound-ios.cfg (cisco)", timeout=120_000)  # the page reloads with the new model
    bindings = page.get_by_test_id("acl-bindings")
    bindings.locator("summary").click()
    rows = bindings.locator("tbody tr")
    texts = [" | ".join(cell.strip() for cell in row.split("\t")) for row in rows.all_inner_texts()]
    # CORE-SW1: CLIN-IN in on Vlan20 (bound at line 38 of bound-ios.cfg, under "interface Vlan20"); the shut-down
    # Vlan99's binding of the same ACL is not listed.
    assert any(t.startswith("CORE-SW1 | Vlan20 | in | CLIN-IN |") and t.endswith("bound-ios.cfg:38") for t in texts)
    assert any(t.startswith("CORE-SW1 | Vlan30 | out | SERVERS-OUT |") for t in texts)
    assert any(t.startswith("EDGE-FW | outside | in | OUTSIDE-IN |") for t in texts)
    assert not any("Vlan99" in t for t in texts)
    expect(model).to_contain_text(f"{len(texts)} ACL bindings")

    notes = page.get_by_test_id("network-notes")
    notes.locator("summary").click()
    expect(notes).to_contain_text("OLD-GUEST")  # defined, bound to no interface: it filters nothing
    expect(notes).to_contain_text("Vlan99 is shut down")
    page.screenshot(path=artifacts / "network-acl-bindings.png", full_page=True)
