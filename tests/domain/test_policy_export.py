"""iptables-save, Cisco IOS ACL and Markdown exports of a small hand-built policy.

Expected lines are written by hand from the model below; the round trips read the text back with the ingest
parsers (skipped when those modules are missing) and compare what both models decide for sample packets.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from wardwatch.domain.netmodel import Conduit, NetworkModel, PortRange, Rule, Zone
from wardwatch.domain.policy_export import to_cisco, to_document, to_iptables

ZONES = (
    Zone("enterprise", "enterprise", ("10.10.0.0/24",), entry_point=True),
    Zone("imaging", "imaging", ("10.30.0.0/24",)),
    Zone("pacs", "clinical-apps", ("10.31.0.0/24", "10.32.0.0/25")),
    Zone("monitoring", "monitoring", ("10.20.0.0/24",)),
    Zone("lab6", "lab", ("fd00:60::/64",)),
)
RULES = (
    Rule("allow", ("imaging",), ("pacs",), "tcp", (PortRange(104, 104),), 1, "core-fw.txt:5", "dicom",
         'observed 3 flow(s) "store"'),
    Rule("allow", ("10.10.0.20",), ("pacs",), "tcp", (PortRange(443, 443), PortRange(8000, 8010)), 2, "", "web"),
    Rule("allow", ("enterprise",), ("10.31.0.10",), "udp", (PortRange(161, 161),), 3, "", "snmp"),
    Rule("allow", ("monitoring",), ("10.31.0.10/32",), "any", (PortRange(2575, 2575),), 4, "", "hl7"),
    Rule("allow", ("lab6",), ("pacs",), "tcp", (PortRange(104, 104),), 5, "", "lab-dicom"),
    Rule("deny", order=6, name="deny-all", description="everything else"),
)  # fmt: skip
CONDUITS = (
    Conduit("imaging", "pacs", "tcp", (PortRange(104, 104),), "DICOM store"),
    Conduit("monitoring", "clinical-apps-missing", "tcp", (PortRange(2575, 2575),), "HL7 to the EHR"),
)
MODEL = NetworkModel(zones=ZONES, rules=RULES, conduits=CONDUITS)


def test_iptables_lines() -> None:
    text = to_iptables(MODEL)
    lines = text.splitlines()
    assert lines[1] == "*filter"
    assert ":FORWARD DROP [0:0]" in lines
    assert lines[-1] == "COMMIT" and text.endswith("\n")
    rules = [line for line in lines if line.startswith("-A FORWARD") and "conntrack" not in line]
    assert rules == [
        # pacs has two subnets -> two lines; the quotes of the description are dropped from the comment
        '-A FORWARD -s 10.30.0.0/24 -d 10.31.0.0/24 -p tcp -m tcp --dport 104 -m comment --comment "dicom: '
        'observed 3 flow(s) store" -j ACCEPT',
        '-A FORWARD -s 10.30.0.0/24 -d 10.32.0.0/25 -p tcp -m tcp --dport 104 -m comment --comment "dicom: '
        'observed 3 flow(s) store" -j ACCEPT',
        "-A FORWARD -s 10.10.0.20/32 -d 10.31.0.0/24 -p tcp -m multiport --dports 443,8000:8010 -m comment "
        '--comment "web" -j ACCEPT',
        "-A FORWARD -s 10.10.0.20/32 -d 10.32.0.0/25 -p tcp -m multiport --dports 443,8000:8010 -m comment "
        '--comment "web" -j ACCEPT',
        '-A FORWARD -s 10.10.0.0/24 -d 10.31.0.10/32 -p udp -m udp --dport 161 -m comment --comment "snmp" -j ACCEPT',
        # protocol any with a port: TCP and UDP
        '-A FORWARD -s 10.20.0.0/24 -d 10.31.0.10/32 -p tcp -m tcp --dport 2575 -m comment --comment "hl7" -j ACCEPT',
        '-A FORWARD -s 10.20.0.0/24 -d 10.31.0.10/32 -p udp -m udp --dport 2575 -m comment --comment "hl7" -j ACCEPT',
        '-A FORWARD -m comment --comment "deny-all: everything else" -j DROP',
    ]
    assert "# lab-dicom: left out, fd00:60::/64 is IPv6" in lines
    assert lines.index(":FORWARD DROP [0:0]") < lines.index("-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED "
                                                           '-m comment --comment "replies to allowed connections" '
                                                           "-j ACCEPT")  # fmt: skip
    assert not any("conntrack" in line for line in to_iptables(MODEL, stateful=False).splitlines())


def test_iptables_default_allow_and_comment_limits() -> None:
    long = Rule("allow", ("imaging",), ("any",), "icmp", (), 1, name="x", description="é→" + "a" * 400)
    text = to_iptables(NetworkModel(zones=ZONES, rules=(long,), default_action="allow"))
    assert ":FORWARD ACCEPT [0:0]" in text
    line = next(line for line in text.splitlines() if line.startswith("-A FORWARD -s 10.30.0.0/24"))
    assert line.startswith('-A FORWARD -s 10.30.0.0/24 -p icmp -m comment --comment "x: ->aaa')
    comment = line.split('"')[1]
    assert len(comment) == 255 and comment.isascii()


def test_cisco_lines() -> None:
    lines = to_cisco(MODEL).splitlines()
    assert lines[0] == "ip access-list extended WARDWATCH-CLINICAL"
    entries = [line for line in lines[1:] if not line.startswith(" remark")]
    assert entries == [
        " permit tcp 10.30.0.0 0.0.0.255 10.31.0.0 0.0.0.255 eq 104",
        " permit tcp 10.30.0.0 0.0.0.255 10.32.0.0 0.0.0.127 eq 104",
        " permit tcp host 10.10.0.20 10.31.0.0 0.0.0.255 eq 443",
        " permit tcp host 10.10.0.20 10.31.0.0 0.0.0.255 range 8000 8010",
        " permit tcp host 10.10.0.20 10.32.0.0 0.0.0.127 eq 443",
        " permit tcp host 10.10.0.20 10.32.0.0 0.0.0.127 range 8000 8010",
        " permit udp 10.10.0.0 0.0.0.255 host 10.31.0.10 eq 161",
        " permit tcp 10.20.0.0 0.0.0.255 host 10.31.0.10 eq 2575",
        " permit udp 10.20.0.0 0.0.0.255 host 10.31.0.10 eq 2575",
        " deny ip any any log",  # the model's own deny-all, written once
    ]
    assert lines[1] == " remark dicom: observed 3 flow(s) store"
    assert " remark left out: fd00:60::/64 is IPv6" in lines
    assert all(len(line) <= len(" remark ") + 100 for line in lines if line.startswith(" remark"))


def test_cisco_name_and_defaults() -> None:
    only = (RULES[2],)
    deny = to_cisco(NetworkModel(zones=ZONES, rules=only), name="CLIN ACL").splitlines()
    assert deny[0] == "ip access-list extended CLIN-ACL"
    assert deny[-2:] == [" remark default action: deny", " deny ip any any log"]
    allow = to_cisco(NetworkModel(zones=ZONES, rules=only, default_action="allow")).splitlines()
    assert allow[-1] == " permit ip any any" and not any("deny" in line for line in allow)


def test_document() -> None:
    doc = to_document(MODEL)
    assert doc.startswith("# Network policy\n")
    # The document states the same-subnet step first (traffic inside one subnet never meets a rule), then the rules.
    assert "Traffic inside one zone subnet crosses no firewall: it is **allowed** whatever the rules say" in doc
    assert "**allowed** between subnets of one zone and **denied** between zones" in doc
    imaging = doc.split("### imaging (imaging)")[1].split("###")[0]
    assert "May reach:\n- pacs on tcp/104 (rule `dicom`)" in imaging
    assert "Reached from: no allow rule names it as a destination." in imaging
    pacs = doc.split("### pacs (clinical-apps)")[1].split("###")[0]
    assert "Subnets: 10.31.0.0/24, 10.32.0.0/25." in pacs
    # 10.31.0.10 lies in pacs, so snmp and hl7 reach it too
    for line in ("- imaging on tcp/104 (rule `dicom`)", "- host 10.10.0.20 on tcp/443,8000-8010 (rule `web`)",
                 "- enterprise on udp/161 (rule `snmp`)", "- monitoring on tcp/udp/2575 (rule `hl7`)"):  # fmt: skip
        assert line in pacs
    assert "An attacker may start here." in doc.split("### enterprise")[1].split("###")[0]
    assert "- **imaging → pacs** tcp/104: DICOM store. Implemented by `dicom`." in doc
    assert "- **monitoring → clinical-apps-missing** tcp/2575: HL7 to the EHR. No rule implements it." in doc
    stray = doc.split("Allowed without an intended conduit (review):\n")[1].split("\n\n")[0]
    assert stray.splitlines() == ["- `web`", "- `snmp`", "- `hl7`", "- `lab-dicom`"]
    assert "1. **Allow** tcp/104 from imaging to pacs (`dicom`, core-fw.txt:5). Evidence: observed 3 flow(s)" in doc
    assert "6. **Deny** any service from anywhere to anywhere (`deny-all`). Evidence: everything else" in doc


PACKETS = (
    ("10.30.0.7", "10.31.0.2", "tcp", 104),
    ("10.30.0.7", "10.32.0.100", "tcp", 104),
    ("10.30.0.7", "10.32.0.200", "tcp", 104),  # outside 10.32.0.0/25
    ("10.30.0.7", "10.31.0.2", "tcp", 445),
    ("10.10.0.20", "10.31.0.2", "tcp", 8005),
    ("10.10.0.21", "10.31.0.2", "tcp", 8005),
    ("10.10.0.21", "10.31.0.10", "udp", 161),
    ("10.10.0.21", "10.31.0.11", "udp", 161),
    ("10.20.0.9", "10.31.0.10", "udp", 2575),
    ("10.20.0.9", "10.31.0.10", "icmp", None),
)


def _same_decisions(rules: tuple[Rule, ...], default: str) -> None:
    assert default == "deny"
    back = NetworkModel(rules=rules)
    for packet in PACKETS:
        assert back.decide(*packet).action == MODEL.decide(*packet).action, packet


def test_iptables_round_trip(tmp_path: Path) -> None:
    iptables = pytest.importorskip("wardwatch.ingest.iptables")
    path = tmp_path / "wardwatch.rules"
    path.write_text(to_iptables(MODEL))
    parsed = iptables.read_iptables(path)
    assert len(parsed.rules) == 8  # the eight -A lines above; the conntrack rule opens no new flow
    _same_decisions(parsed.rules, parsed.default_action)


def test_cisco_round_trip(tmp_path: Path) -> None:
    cisco = pytest.importorskip("wardwatch.ingest.cisco_acl")
    path = tmp_path / "acl.cfg"
    path.write_text(to_cisco(MODEL))
    parsed = cisco.read_cisco_acls(path)
    assert len(parsed.rules) == 10  # the ten entries above
    _same_decisions(parsed.rules, "deny")
