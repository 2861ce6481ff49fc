"""Linux firewalls described in the network YAML (``devices:``): each iptables file's FORWARD chain filters only the
packets that go through its firewall.  Expectations worked out by hand:

    fw-a  eth0: enterprise 10.10.0.0/16   eth1: monitoring 10.40.0.0/16      FORWARD policy DROP
          -A FORWARD -s 10.10.0.0/16 -d 10.40.0.0/16 -p tcp --dport 2575 -j ACCEPT   (line 5)
          -A FORWARD -j DROP                                                        (line 6)
    fw-b  eth0: imaging 10.50.0.0/16      eth1: clinical-apps 10.20.0.0/16   FORWARD policy ACCEPT
          -A FORWARD -p tcp --dport 445 -j DROP                                     (line 5)

With both files as one unbound list (no ``devices:``), fw-a's final DROP would decide every packet fw-b should
decide: imaging -> clinical-apps DICOM would be denied by fw-a.rules:6.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from wardwatch.domain.net_compiled import CompiledModel
from wardwatch.domain.netmodel import ANY_INTERFACE, Route
from wardwatch.ingest.errors import IngestError
from wardwatch.ingest.network_files import read_network

ZONES = """\
default: allow
zones:
  - {name: enterprise, kind: enterprise, subnets: [10.10.0.0/16]}
  - {name: clinical-apps, kind: clinical-apps, subnets: [10.20.0.0/16]}
  - {name: monitoring, kind: monitoring, subnets: [10.40.0.0/16]}
  - {name: imaging, kind: imaging, subnets: [10.50.0.0/16]}
"""
DEVICES = """\
devices:
  - name: fw-a
    file: fw-a.rules
    interfaces: {eth0: [enterprise], eth1: [monitoring]}
  - name: fw-b
    file: fw-b.rules
    interfaces: {eth0: [imaging], eth1: [clinical-apps, 10.21.0.0/16]}
"""
FW_A = """*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -s 10.10.0.0/16 -d 10.40.0.0/16 -p tcp -m tcp --dport 2575 -j ACCEPT
-A FORWARD -j DROP
COMMIT
"""
FW_B = """*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -p tcp -m tcp --dport 445 -j DROP
COMMIT
"""


def _files(tmp_path: Path, devices: str = DEVICES) -> list[Path]:
    out = []
    for name, text in (("zones.yaml", ZONES + devices), ("fw-a.rules", FW_A), ("fw-b.rules", FW_B)):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        out.append(path)
    return out


@pytest.mark.parametrize(
    ("source", "destination", "port", "action", "origin"),
    [
        ("10.10.1.1", "10.40.1.1", 2575, "allow", "fw-a.rules:5"),
        ("10.10.1.1", "10.40.1.1", 22, "deny", "fw-a.rules:6"),
        ("10.50.1.1", "10.20.1.1", 104, "allow", None),  # fw-b's policy ACCEPT; fw-a is not on the way
        ("10.50.1.1", "10.21.9.9", 445, "deny", "fw-b.rules:5"),  # a CIDR behind an interface
        ("10.10.1.1", "10.50.1.1", 445, "allow", None),  # neither firewall routes both ends: the YAML default
    ],
)
def test_each_firewall_filters_only_what_goes_through_it(
    tmp_path: Path, source: str, destination: str, port: int, action: str, origin: str | None
) -> None:
    model = read_network(_files(tmp_path))
    decision = model.decide(source, destination, "tcp", port)
    assert (decision.action, decision.rule.origin if decision.rule else None) == (action, origin)
    assert CompiledModel(model).decide(source, destination, "tcp", port) == decision


def test_the_devices_and_their_forward_points(tmp_path: Path) -> None:
    model = read_network(_files(tmp_path))
    assert [(d.name, d.routes) for d in model.devices] == [
        ("fw-a", (Route("10.10.0.0/16", "eth0"), Route("10.40.0.0/16", "eth1"))),
        ("fw-b", (Route("10.50.0.0/16", "eth0"), Route("10.20.0.0/16", "eth1"), Route("10.21.0.0/16", "eth1"))),
    ]
    assert [(p.name, p.interface, p.direction, p.default_action) for p in model.points] == [
        ("fw-a FORWARD", ANY_INTERFACE, "in", "deny"),
        ("fw-b FORWARD", ANY_INTERFACE, "in", "allow"),
    ]
    assert {r.point for r in model.rules} == {"fw-a FORWARD", "fw-b FORWARD"}
    assert model.default_action == "allow"


def test_without_devices_the_files_are_one_list_and_the_first_catch_all_decides(tmp_path: Path) -> None:
    model = read_network(_files(tmp_path, devices=""))
    decision = model.decide("10.50.1.1", "10.20.1.1", "tcp", 104)
    assert (decision.action, decision.rule.origin if decision.rule else None) == ("deny", "fw-a.rules:6")


@pytest.mark.parametrize(
    ("devices", "fragment"),
    [
        ("devices:\n  - {name: fw-c, file: fw-c.rules, interfaces: {eth0: [imaging]}}\n",
         "devices[0].file: fw-c.rules is not an iptables-save file of this import"),
        ("devices:\n  - {name: fw-a, file: zones.yaml, interfaces: {eth0: [imaging]}}\n",
         "devices[0].file: zones.yaml is not an iptables-save file"),
        ("devices:\n  - {name: fw-a, file: fw-a.rules, interfaces: {eth0: any}}\n",
         "devices[0].interfaces.eth0: cannot be any"),
        ("devices:\n  - {name: fw-a, file: fw-a.rules, interfaces: {eth0: [labs]}}\n",
         "devices[0].interfaces.eth0[0]: unknown zone 'labs'"),
        ("devices:\n  - {name: fw-a, file: fw-a.rules}\n", "devices[0].interfaces: should map each interface"),
        ("devices:\n  - {name: fw-a, file: fw-a.rules, interfaces: {eth0: [imaging]}}\n"
         "  - {name: fw-b, file: fw-a.rules, interfaces: {eth0: [imaging]}}\n",
         "devices[1].file: fw-a.rules is already a device's file"),
    ],
)  # fmt: skip
def test_bad_device_entries_name_their_place(tmp_path: Path, devices: str, fragment: str) -> None:
    with pytest.raises(IngestError) as caught:
        read_network(_files(tmp_path, devices=devices))
    assert fragment in str(caught.value) and "zones.yaml" in str(caught.value)
