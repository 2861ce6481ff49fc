"""ACLs bound to interfaces: a small hand-built example a network engineer can check by hand.

A core layer-3 switch routes three VLANs and has an uplink with the default route:

    Vlan20 clinical   10.20.0.0/24   CLIN-IN bound in:   permit tcp 10.20.0.0/24 10.30.0.0/24 eq 104 (DICOM)
                                                         deny ip any any
    Vlan30 imaging    10.30.0.0/24   PACS-OUT bound out: deny tcp 10.40.0.0/24 any eq 104
                                                         permit tcp any 10.30.0.0/24 eq 104
                                                         permit tcp any 10.30.0.0/24 eq 80
    Vlan40 enterprise 10.40.0.0/24   no ACL
    up     uplink     0.0.0.0/0      no ACL

By hand (default action deny, no unbound rules):

1. clinical -> imaging tcp/104: CLIN-IN permits, PACS-OUT permits (its second entry) -> allowed; both entries
   passed traffic, so neither is an unused rule.
2. clinical -> enterprise tcp/445: CLIN-IN's ``deny ip any any`` -> denied.
3. enterprise -> imaging tcp/104: no ACL in on Vlan40; PACS-OUT denies -> denied by PACS-OUT's first entry.
4. enterprise -> imaging tcp/80: PACS-OUT permits; CLIN-IN is not on the way (the packet never enters Vlan20), so
   its final deny does not decide it -> allowed.  (Before bindings, the first file's catch-all decided everything.)
5. enterprise -> clinical tcp/22: no ACL on the way (none in on Vlan40, none out on Vlan20) -> the default, deny.
6. clinical -> imaging tcp/80: CLIN-IN has no entry for it (its explicit deny-any matches) -> denied.
7. With CLIN-IN's catch-all removed, clinical -> the internet tcp/443 matches no CLIN-IN entry: the implicit deny
   of ``core Vlan20 in``.
"""

from __future__ import annotations

import pytest

from wardwatch.domain.net_compiled import CompiledModel, address_key
from wardwatch.domain.net_reach import Reachability, decision_text
from wardwatch.domain.netmodel import (
    EnforcementPoint,
    FilterDevice,
    NetworkModel,
    ObservedFlow,
    PortRange,
    Route,
    Rule,
    Zone,
)
from wardwatch.domain.segmentation import check

CLIN_IN = "core Vlan20 in"
PACS_OUT = "core Vlan30 out"
ZONES = (
    Zone("clinical", "clinical-devices", ("10.20.0.0/24",)),
    Zone("imaging", "imaging", ("10.30.0.0/24",)),
    Zone("enterprise", "enterprise", ("10.40.0.0/24",)),
)
CORE = FilterDevice(
    "core",
    (Route("10.20.0.0/24", "Vlan20"), Route("10.30.0.0/24", "Vlan30"), Route("10.40.0.0/24", "Vlan40"),
     Route("0.0.0.0/0", "up")),
)  # fmt: skip
RULES = (
    Rule("allow", ("10.20.0.0/24",), ("10.30.0.0/24",), "tcp", (PortRange(104, 104),), order=0, name="CLIN-IN",
         origin="core.cfg:41", point=CLIN_IN),
    Rule("deny", ("any",), ("any",), order=1, name="CLIN-IN", origin="core.cfg:42", point=CLIN_IN),
    Rule("deny", ("10.40.0.0/24",), ("any",), "tcp", (PortRange(104, 104),), order=2, name="PACS-OUT",
         origin="core.cfg:45", point=PACS_OUT),
    Rule("allow", ("any",), ("10.30.0.0/24",), "tcp", (PortRange(104, 104),), order=3, name="PACS-OUT",
         origin="core.cfg:46", point=PACS_OUT),
    Rule("allow", ("any",), ("10.30.0.0/24",), "tcp", (PortRange(80, 80),), order=4, name="PACS-OUT",
         origin="core.cfg:47", point=PACS_OUT),
)  # fmt: skip
POINTS = (
    EnforcementPoint(CLIN_IN, "core", "Vlan20", "in", "CLIN-IN", origin="core.cfg:12"),
    EnforcementPoint(PACS_OUT, "core", "Vlan30", "out", "PACS-OUT", origin="core.cfg:17"),
)


def model(rules: tuple[Rule, ...] = RULES, default: str = "deny") -> NetworkModel:
    return NetworkModel(zones=ZONES, rules=rules, devices=(CORE,), points=POINTS, default_action=default)  # type: ignore[arg-type]


CASES = [
    # (source, destination, port, action, deciding rule's origin or the point of an implicit deny)
    ("10.20.0.5", "10.30.0.9", 104, "allow", "core.cfg:41"),
    ("10.20.0.5", "10.40.0.9", 445, "deny", "core.cfg:42"),
    ("10.40.0.9", "10.30.0.9", 104, "deny", "core.cfg:45"),
    ("10.40.0.9", "10.30.0.9", 80, "allow", "core.cfg:47"),
    ("10.40.0.9", "10.20.0.5", 22, "deny", None),
    ("10.20.0.5", "10.30.0.9", 80, "deny", "core.cfg:42"),
]


@pytest.mark.parametrize(("source", "destination", "port", "action", "origin"), CASES)
def test_every_acl_on_the_way_must_allow(source: str, destination: str, port: int, action: str, origin: str) -> None:
    net = model()
    decision = net.decide(source, destination, "tcp", port)
    assert decision.action == action
    assert (decision.rule.origin if decision.rule else None) == origin
    # The compiled evaluator and the reachability view give the same answer.
    assert CompiledModel(net).decide(source, destination, "tcp", port) == decision
    assert Reachability.build(net, []).reachable(source, destination, "tcp", port) == decision


def test_points_on_the_way() -> None:
    net = model()
    assert [p.name for p in net.points_on_way("10.20.0.5", "10.30.0.9")] == [CLIN_IN, PACS_OUT]
    assert [p.name for p in net.points_on_way("10.40.0.9", "10.30.0.9")] == [PACS_OUT]
    assert net.points_on_way("10.40.0.9", "10.20.0.5") == ()
    assert [p.name for p in net.points_on_way("8.8.8.8", "10.30.0.9")] == [PACS_OUT]  # in through the uplink


def test_implicit_deny_names_its_acl() -> None:
    net = model(RULES[:1] + RULES[2:])  # CLIN-IN without its catch-all
    decision = net.decide("10.20.0.5", "93.184.216.34", "tcp", 443)
    assert (decision.action, decision.rule, decision.point) == ("deny", None, CLIN_IN)
    reach = Reachability.build(net, [])
    source = reach.sources.lookup(address_key("10.20.0.5"))
    target = reach.destinations.lookup(address_key("93.184.216.34"))
    found, basis = reach.decide_classes(source, target, "tcp", 443)
    assert found == decision
    assert decision_text(found, basis, net, "clinical") == (
        f"denied by {CLIN_IN}: no entry of its ACL matches (implicit deny)"
    )


def test_an_unbound_rule_list_is_met_as_well() -> None:
    # An unbound list (a YAML rule list, an iptables FORWARD chain) is a firewall every packet crossing subnets
    # meets: case 4 (allowed by PACS-OUT) is now refused by it, case 1 stays allowed because it allows DICOM.
    unbound = Rule("allow", ("clinical",), ("imaging",), "tcp", (PortRange(104, 104),), order=9, origin="fw:1")
    net = model((*RULES, unbound))
    assert net.decide("10.40.0.9", "10.30.0.9", "tcp", 80).action == "deny"  # no unbound rule: the default
    assert net.decide("10.20.0.5", "10.30.0.9", "tcp", 104).rule == unbound
    assert CompiledModel(net).decide("10.40.0.9", "10.30.0.9", "tcp", 80) == net.decide(
        "10.40.0.9", "10.30.0.9", "tcp", 80
    )


def test_conformance_counts_a_rule_used_on_every_acl_it_passed() -> None:
    # Observed: case 1 (passes CLIN-IN's permit and PACS-OUT's DICOM permit) and case 3 (refused by PACS-OUT).
    flows = [
        ObservedFlow("10.20.0.5", "10.30.0.9", "tcp", 104, "dicom", 10),
        ObservedFlow("10.40.0.9", "10.30.0.9", "tcp", 104, "dicom", 4),
    ]
    violations = check(model(), [], flows)
    unused = {v.evidence["origin"] for v in violations if v.kind == "unused-rule"}
    assert "core.cfg:46" not in unused  # PACS-OUT's permit let flow 1 through after CLIN-IN's permit had allowed it
    assert "core.cfg:41" not in unused
    assert "core.cfg:47" in unused  # nobody was seen on tcp/80
    denied = [v for v in violations if v.kind == "flow-not-allowed" and v.evidence["reason"] == "denied"]
    assert [(v.subject, v.evidence["rule"]) for v in denied] == [("enterprise → imaging tcp/104", "PACS-OUT")]
