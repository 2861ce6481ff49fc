"""Incident playbooks on a small hand-built hospital: which devices each playbook lists, worked out by hand.

The hospital: an enterprise zone (two workstations), an imaging zone (three modalities), a monitoring zone (one
monitor) and a vendor remote-access pool.  Rules: the enterprise may reach imaging on tcp/445; the vendor pool may
reach imaging on tcp/3389; everything else between zones is denied.

Vulnerable (Windows + SMBv1 or MS17-010 + serves 445 or services unknown): ws1 (SMBv1), img1 (CVE-2017-0144),
mon1 (SMBv1).  Not vulnerable: ws2 (no SMBv1, no finding), img2 (Linux), img3 (SMBv1 but seen serving only tcp/80).
From ws1 the worm reaches img1 (enterprise -> imaging tcp/445) and nothing else: mon1 is behind the default deny.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from wardwatch.domain import playbooks as pb
from wardwatch.domain.netmodel import HostFacts, NetworkModel, PortRange, Rule, Zone

MODEL = NetworkModel(
    zones=(
        Zone("ent", "enterprise", ("10.0.1.0/24",), (10,)),
        Zone("img", "imaging", ("10.0.2.0/24",), (20,)),
        Zone("mon", "monitoring", ("10.0.3.0/24",), (30,)),
        Zone("vendor", "vendor-remote", ("10.9.0.0/24",), (90,)),
    ),
    rules=(
        Rule("allow", ("ent",), ("img",), "tcp", (PortRange(445, 445),), order=1, name="ent-to-img-smb"),
        Rule("allow", ("vendor",), ("img",), "tcp", (PortRange(3389, 3389),), order=2, name="vendor-rdp-imaging"),
    ),
    default_action="deny",
)
HOSTS = (
    HostFacts("10.0.1.10", 1, "ws1", "workstation", "non-clinical", "Windows 7", smbv1=True, unit="Admin"),
    HostFacts("10.0.1.11", 2, "ws2", "workstation", "non-clinical", "Windows 10", unit="Admin"),
    HostFacts("10.0.2.10", 3, "img1", "x-ray", "diagnostic", "Windows 7", vulnerabilities=("CVE-2017-0144",),
              unit="Radiology"),
    HostFacts("10.0.2.11", 4, "img2", "ct-scanner", "diagnostic", "Linux", unit="Radiology"),
    HostFacts("10.0.2.12", 5, "img3", "x-ray", "diagnostic", "Windows 7", services=(("tcp", 80),), smbv1=True,
              unit="Radiology"),
    HostFacts("10.0.3.10", 6, "mon1", "patient-monitor", "life-supporting", "Windows XP", smbv1=True, unit="ICU"),
)  # fmt: skip
DEVICES = {
    h.device_id: pb.DeviceInfo(h.device_id, h.name, h.device_type, h.unit, "Main", h.criticality, "Acme", "M1")
    for h in HOSTS
    if h.device_id is not None
}
PACKAGED = Path(pb.__file__).parent.parent / "data" / "playbooks"


def _ids(outcome: pb.Outcome) -> dict[int, str]:
    return {a.device.id: a.status for a in outcome.affected}


def test_the_worm_from_one_workstation_reaches_the_modality_and_the_other_vulnerable_host_is_listed_too() -> None:
    outcome = pb.wannacry(MODEL, HOSTS, DEVICES, seeds=["10.0.1.10"])
    assert _ids(outcome) == {1: "seed", 3: "reached", 6: "vulnerable"}
    img1 = next(a for a in outcome.affected if a.device.id == 3)
    assert img1.step == 1 and img1.zone == "img" and "CVE-2017-0144" in img1.why
    assert img1.device.address == "10.0.2.10" and img1.category == "imaging"
    mon1 = next(a for a in outcome.affected if a.device.id == 6)
    assert "not reachable from the seed" in mon1.why and mon1.step is None
    assert [a.device.id for a in outcome.affected] == [1, 3, 6], "the seed, then by step, then the unreached"
    assert outcome.severity == "critical", "a life-supporting monitor is affected"
    ids = [s.id for s in outcome.isolation]
    assert ids[0] == "block-445"
    assert set(ids) == {"block-445", "isolate:ent", "isolate:img", "isolate:mon", "rule:ent-to-img-smb"}
    img = next(s for s in outcome.isolation if s.id == "isolate:img")
    assert "VLAN 20" in img.action and "ent-to-img-smb" in img.detail
    assert outcome.facts["reached"] == 2 and outcome.facts["vulnerable"] == 3
    # with tcp/445 blocked between zones the worm stays on the workstation
    assert outcome.facts["reached_if_445_blocked"] == 1


def test_by_default_every_vulnerable_host_is_a_seed_of_the_worst_case() -> None:
    outcome = pb.wannacry(MODEL, HOSTS, DEVICES)
    assert _ids(outcome) == {1: "seed", 3: "seed", 6: "seed"}
    assert outcome.facts["seeds"] == ["10.0.1.10", "10.0.2.10", "10.0.3.10"]


def test_a_seed_zone_infects_its_vulnerable_hosts_only_where_the_rules_let_it() -> None:
    outcome = pb.wannacry(MODEL, HOSTS, DEVICES, seed_zone="mon")
    assert _ids(outcome) == {6: "seed", 1: "vulnerable", 3: "vulnerable"}
    with pytest.raises(ValueError, match="atlantis"):
        pb.wannacry(MODEL, HOSTS, DEVICES, seed_zone="atlantis")


def test_without_a_model_the_vulnerable_devices_are_listed_with_a_note() -> None:
    extra = [HostFacts("", 7, "old-ws", os="Windows XP", vulnerabilities=("CVE-2017-0143",)),
             HostFacts("", 8, "linux-box", os="Linux", vulnerabilities=("CVE-2017-0143",))]  # fmt: skip
    outcome = pb.wannacry(None, HOSTS, DEVICES, extra=extra)
    assert _ids(outcome) == {1: "vulnerable", 3: "vulnerable", 6: "vulnerable", 7: "vulnerable"}
    assert any("no network model" in n for n in outcome.notes)
    assert "no address known" in next(a.why for a in outcome.affected if a.device.id == 7)
    assert [s.id for s in outcome.isolation] == ["block-445"]


def test_the_vendor_account_reaches_the_imaging_zone_through_the_named_rule() -> None:
    outcome = pb.vendor_account(MODEL, HOSTS, DEVICES)
    assert _ids(outcome) == {3: "reachable", 4: "reachable", 5: "reachable"}
    assert all("tcp/3389" in a.why and "vendor-rdp-imaging" in a.why for a in outcome.affected)
    rules = {s.id: s for s in outcome.isolation}
    assert set(rules) == {"disable-account", "rule:vendor-rdp-imaging", "isolate:vendor"}
    assert "3 device(s)" in rules["rule:vendor-rdp-imaging"].detail
    assert _ids(pb.vendor_account(MODEL, HOSTS, DEVICES, keep={4, 6})) == {4: "reachable"}


def test_without_a_vendor_zone_the_mds2_answers_decide() -> None:
    answers: dict[int, bool | None] = {3: True, 4: False}
    outcome = pb.vendor_account(None, HOSTS, DEVICES, remote_service=answers)
    assert _ids(outcome) == {3: "remote-service"}
    narrowed = pb.vendor_account(None, HOSTS, DEVICES, remote_service=answers, keep={3, 4, 5})
    assert _ids(narrowed) == {3: "remote-service", 5: "remote-service"}, "the form of img2 rules remote service out"
    assert "no MDS2 form rules out" in next(a.why for a in narrowed.affected if a.device.id == 5)


def test_a_recall_lists_the_matched_devices_with_the_manufacturers_action() -> None:
    matches = [(3, "Z-1-2024", ["product code IZL; model 'M1'"]), (4, "Z-2-2020", ["product code JAK"])]
    recalls = {"Z-1-2024": pb.RecallInfo("Z-1-2024", "Class II", "Open", "overheats", "Update to 2.1"),
               "Z-2-2020": pb.RecallInfo("Z-2-2020", "Class III", "Terminated")}  # fmt: skip
    every_open = pb.recall(matches, DEVICES, recalls)
    assert _ids(every_open) == {3: "recalled"}
    why = every_open.affected[0].why
    assert "Z-1-2024 Class II" in why and "overheats" in why and "Update to 2.1" in why
    assert [s.id for s in every_open.isolation] == ["recall:Z-1-2024"]
    assert _ids(pb.recall(matches, DEVICES, recalls, only="z-2-2020")) == {4: "recalled"}, "asked for: listed"
    with pytest.raises(LookupError, match="Z-9"):
        pb.recall(matches, DEVICES, recalls, only="Z-9")
    assert pb.recall([], DEVICES, {}).notes, "nothing matched: the note says how to import recalls"


def test_counts_by_unit_and_category_and_severity() -> None:
    by_unit, by_category = pb.by_unit_and_category([("ICU", "monitoring"), ("ICU", "infusion"), ("ICU", "other"),
                                                    (None, "other")])  # fmt: skip
    assert by_unit[0] == {"unit": "ICU", "devices": 3, "categories": {"infusion": 1, "monitoring": 1, "other": 1}}
    assert by_unit[1]["unit"] is None
    assert by_category[0] == {"category": "other", "devices": 2}
    assert pb.severity_of([]) == "low"
    assert pb.severity_of([("non-clinical", "other")]) == "medium"
    assert pb.severity_of([("diagnostic", "imaging")]) == "high"
    assert pb.severity_of([("life-sustaining", "infusion")]) == "critical"


@pytest.mark.parametrize("name", pb.PLAYBOOK_NAMES)
def test_the_packaged_playbooks_are_valid_and_cover_every_category(name: str) -> None:
    book = pb.parse_playbook(name, yaml.safe_load((PACKAGED / f"{name}.yaml").read_text()))
    assert book.steps and {s.phase for s in book.steps} >= {"identify", "contain", "communicate"}
    assert set(book.downtime) == set(pb.CATEGORIES)
    assert any("CISO" in c.role or "Biomedical" in c.role for c in book.contacts)


def test_a_bad_playbook_is_refused_naming_the_field() -> None:
    step = {"id": "a", "phase": "contain", "who": "itsec", "text": "x"}
    good: dict[str, object] = {"title": "t", "when": "w", "steps": [step]}
    assert pb.parse_playbook("x", good).steps[0].id == "a"
    cases: list[tuple[object, str]] = [
        ({**good, "steps": [{"id": "a", "phase": "panic", "who": "itsec", "text": "x"}]}, r"steps\[0\]\.phase"),
        ({**good, "steps": [{"id": "a", "phase": "contain", "who": "nurse", "text": "x"}]}, r"steps\[0\]\.who"),
        ({**good, "steps": [step, step]}, "used twice"),
        ({**good, "downtime": {"cooking": ["x"]}}, "downtime.cooking"),
        ({**good, "colour": "red"}, "unknown field"),
        ({**good, "title": ""}, "title"),
        ([1, 2], "not a mapping"),
    ]
    for document, message in cases:
        with pytest.raises(ValueError, match=message):
            pb.parse_playbook("x", document)
