"""Identification: the rule engine on hand-made observations, and the shipped fingerprint rule files."""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime, timedelta
from importlib import resources

import pytest

from wardwatch.discovery.rules import (
    CATEGORIES_FILE,
    RuleFileError,
    default_engine,
    ieee_registrants,
    load_rule_set,
    parse_rule_file,
    read_rule_files,
    shipped_rule_set,
)
from wardwatch.domain.identification import (
    RULE_OUI,
    Attribute,
    Category,
    Conclusion,
    Condition,
    Identification,
    IdentificationEngine,
    MatchOp,
    Rule,
    RuleSet,
    is_vendor_mac,
    normalize_mac,
)
from wardwatch.domain.observations import Endpoint, Evidence, Observation, ObservationKind
from wardwatch.reference import device_types, manufacturer_catalog

K = ObservationKind
T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)

GE_MAC = "44:4b:5d:12:34:56"  # IEEE: GE Healthcare
DELL_MAC = "54:bf:64:aa:bb:cc"  # IEEE: Dell Inc.


def obs(kind: ObservationKind, value: str, *, mac: str | None = None, ip: str = "10.1.2.3", n: int = 1) -> Observation:
    """One observation with evidence pointing at packet ``n`` of ``ward.pcap``."""
    protocol = kind.value.split("_")[0]
    return Observation(
        Endpoint(mac=mac, ip=ip), kind, value, T0 + timedelta(seconds=n), Evidence("ward.pcap", f"packet {n}", protocol)
    )


def identify(*observations: Observation) -> Identification:
    return default_engine().identify(observations)


# --- realistic cases on the shipped rules -------------------------------------------------------------------


def test_ge_ct_scanner_from_oui_dicom_uid_and_ae_title() -> None:
    uid = obs(K.DICOM_IMPLEMENTATION_UID, "1.2.840.113619.6.374", mac=GE_MAC, n=10)
    result = identify(obs(K.MAC, GE_MAC, mac=GE_MAC, n=1), uid, obs(K.DICOM_AE_TITLE, "CT01", mac=GE_MAC, n=10))

    assert result.manufacturer is not None
    assert result.manufacturer.value == "GE HealthCare"
    assert result.manufacturer.rule_id == "dicom.uid-root.ge"
    assert result.manufacturer.evidence == uid.evidence
    # The OUI agrees: it supports the choice instead of competing with it.
    assert RULE_OUI in {m.rule_id for m in result.manufacturer.chosen.matches}
    assert not result.manufacturer.conflicted
    assert result.device_type is not None and result.device_type.value == "ct-scanner"
    assert result.category is not None and result.category.value == "imaging-modality"
    assert result.domain == "medical"
    assert result.rules_version == shipped_rule_set().version


def test_windows_7_smb_native_os_gives_os_and_service_pack() -> None:
    result = identify(obs(K.SMB_NATIVE_OS, "Windows 7 Professional 7601 Service Pack 1"))
    assert result.os is not None and result.os.value == "Windows 7"
    assert result.os.rule_id == "smb.windows-7"
    assert result.os_version is not None and result.os_version.value == "SP1"


def test_windows_7_without_service_pack_gives_no_version() -> None:
    result = identify(obs(K.SMB_NATIVE_OS, "Windows 7 Ultimate 7600"))
    assert result.os is not None and result.os.value == "Windows 7"
    assert result.os_version is None


def test_conflicting_manufacturers_resolve_by_priority_and_show_the_loser() -> None:
    result = identify(
        obs(K.MAC, DELL_MAC, mac=DELL_MAC, n=1),
        obs(K.DICOM_IMPLEMENTATION_UID, "1.3.12.2.1107.5.1.4", mac=DELL_MAC, n=2),
    )
    manufacturer = result.manufacturer
    assert manufacturer is not None
    assert manufacturer.value == "Siemens Healthineers"
    assert manufacturer.confidence == pytest.approx(0.9)
    assert [(c.value, c.best.rule_id) for c in manufacturer.alternatives] == [("Dell", RULE_OUI)]
    assert manufacturer.alternatives[0].best.via == "IEEE registrant 'Dell Inc.'"
    assert "priority 80" in manufacturer.reason and "over 10" in manufacturer.reason
    assert result.conflicts == (manufacturer,)


def test_random_mac_gives_no_vendor() -> None:
    random_mac = "da:a1:19:00:11:22"  # locally administered bit set
    ge_oui_but_local = "46:4b:5d:12:34:56"  # GE's 44:4b:5d with the 0x02 bit set
    result = identify(obs(K.MAC, random_mac, mac=random_mac), obs(K.HOSTNAME, "lobby-kiosk", mac=ge_oui_but_local))
    assert result.manufacturer is None
    assert any("locally administered" in note for note in result.notes)


def test_endpoint_mac_alone_gives_the_oui_vendor() -> None:
    result = identify(obs(K.HOSTNAME, "icue-mon-004", mac="00-09-FB-01-02-03"))
    assert result.manufacturer is not None and result.manufacturer.value == "Philips"
    assert result.manufacturer.confidence < 0.5
    assert result.device_type is not None and result.device_type.value == "patient-monitor"
    assert result.category is not None and result.category.value == "patient-monitoring"


def test_oui_override_names_todays_owner_and_shows_the_catalog_registrant() -> None:
    result = identify(obs(K.MAC, "00:d0:75:11:22:33"))  # "ALARIS MEDICAL SYSTEMS, INC."
    assert result.manufacturer is not None
    assert result.manufacturer.value == "BD"
    assert [c.value for c in result.manufacturer.alternatives] == ["CareFusion"]


def test_unknown_oui_registrant_is_noted_not_invented() -> None:
    result = identify(obs(K.MAC, "00:1b:63:00:00:01"))  # Apple, not a catalog manufacturer
    assert result.manufacturer is None
    assert any("not a catalog manufacturer" in note for note in result.notes)


def test_cisco_ios_xe_sysdescr_fills_groups() -> None:
    sysdescr = (
        "Cisco IOS Software [Amsterdam], Catalyst L3 Switch Software (CAT9K_IOSXE), Version 17.3.5, "
        "RELEASE SOFTWARE (fc2)"
    )
    result = identify(obs(K.SNMP_SYSDESCR, sysdescr))
    assert result.manufacturer is not None and result.manufacturer.value == "Cisco"
    assert result.os is not None and result.os.value == "IOS XE"
    assert [c.value for c in result.os.alternatives] == ["IOS"]
    assert result.os_version is not None and result.os_version.value == "17.3.5"
    assert result.device_type is not None and result.device_type.value == "network-device"
    assert result.domain == "it"


def test_os_version_follows_the_chosen_os() -> None:
    # Android says its version, but the Windows evidence wins the OS: Android's version must not be chosen.
    result = identify(
        obs(K.HTTP_USER_AGENT, "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1; Trident/4.0)", n=1),
        obs(K.DHCP_VENDOR_CLASS, "android-dhcp-9", n=2),
    )
    assert result.os is not None and result.os.value == "Windows 7"
    assert result.os_version is None
    assert any(m.attribute is Attribute.OS_VERSION and m.value == "9" for m in result.matches)


def test_dhcpcd_vendor_class_gives_linux_kernel_release() -> None:
    result = identify(obs(K.DHCP_VENDOR_CLASS, "dhcpcd-6.8.2:Linux-3.10.0:armv7l:Freescale i.MX6"))
    assert (result.os and result.os.value, result.os_version and result.os_version.value) == ("Linux", "3.10.0")


def test_dicom_archive_by_role_and_many_storage_classes() -> None:
    storage = ["1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.4", "1.2.840.10008.5.1.4.1.1.6.1"]
    result = identify(
        obs(K.DICOM_ROLE, "scp", n=1),
        *(obs(K.DICOM_ABSTRACT_SYNTAX, uid, n=2 + i) for i, uid in enumerate(storage)),
        obs(K.DICOM_IMPLEMENTATION_UID, "1.2.40.0.13.1.3", n=9),
        obs(K.DICOM_IMPLEMENTATION_VERSION, "dcm4che-5.29.2", n=9),
    )
    assert result.device_type is not None and result.device_type.value == "pacs-server"
    assert len(result.device_type.chosen.best.supporting) == 3
    assert result.category is not None and result.category.value == "pacs"
    assert result.domain == "clinical-it"
    assert result.software is not None and result.software.value == "dcm4che 5.29.2"


def test_two_storage_classes_are_not_an_archive() -> None:
    result = identify(
        obs(K.DICOM_ROLE, "scp"),
        obs(K.DICOM_ABSTRACT_SYNTAX, "1.2.840.10008.5.1.4.1.1.2", n=2),
        obs(K.DICOM_ABSTRACT_SYNTAX, "1.2.840.10008.5.1.4.1.1.4", n=3),
    )
    assert result.device_type is None


def test_worklist_scu_is_a_modality_without_a_type() -> None:
    result = identify(obs(K.DICOM_ROLE, "SCU"), obs(K.DICOM_ABSTRACT_SYNTAX, "1.2.840.10008.5.1.4.31", n=2))
    assert result.device_type is None
    assert result.category is not None and result.category.value == "imaging-modality"


def test_hl7_monitoring_gateway() -> None:
    result = identify(obs(K.HL7_APPLICATION, "CARESCAPE_GW"))
    assert result.manufacturer is not None and result.manufacturer.value == "GE HealthCare"
    assert result.model is not None and result.model.value == "CARESCAPE Gateway"
    assert result.device_type is not None and result.device_type.value == "central-station"


def test_hp_printer_server_header() -> None:
    result = identify(obs(K.HTTP_SERVER, "HP HTTP Server; HP LaserJet M507 - 1PV87A; Serial Number: X; Built: x"))
    assert result.model is not None and result.model.value == "LaserJet M507"
    assert result.category is not None and result.category.value == "printer"


def test_result_does_not_depend_on_observation_order() -> None:
    observations = [
        obs(K.MAC, DELL_MAC, mac=DELL_MAC, n=1),
        obs(K.HOSTNAME, "rad-ct-01", mac=DELL_MAC, n=2),
        obs(K.DICOM_AE_TITLE, "MR_3T", mac=DELL_MAC, n=3),
        obs(K.DICOM_IMPLEMENTATION_UID, "1.3.12.2.1107.5.2", mac=DELL_MAC, n=4),
        obs(K.SMB_NATIVE_OS, "Windows 7 Professional 7601 Service Pack 1", mac=DELL_MAC, n=5),
        obs(K.HTTP_USER_AGENT, "Mozilla/5.0 (Windows NT 10.0; Win64; x64)", mac=DELL_MAC, n=6),
    ]
    expected = default_engine().identify(observations)
    shuffled = observations[:]
    for seed in range(5):
        random.Random(seed).shuffle(shuffled)
        assert default_engine().identify(shuffled) == expected


def test_repeated_sightings_count_once() -> None:
    same = [obs(K.HOSTNAME, "icu-pump-1", n=i) for i in range(50)]
    result = identify(*same)
    assert result.device_type is not None
    assert result.device_type.chosen.support == 1
    assert result.device_type.evidence.locator == "packet 0"  # the earliest sighting


# --- resolution on a hand-made rule set ---------------------------------------------------------------------


def _rule(rule_id: str, pattern: str, value: str, priority: int = 20, confidence: float = 0.3) -> Rule:
    return Rule(
        id=rule_id,
        description=rule_id,
        priority=priority,
        confidence=confidence,
        when=Condition(K.HOSTNAME, MatchOp.CONTAINS, pattern),
        then=(Conclusion(Attribute.DEVICE_TYPE, value),),
        source="test",
    )


def test_more_agreeing_evidence_wins_at_equal_priority_and_confidence() -> None:
    rules = RuleSet(
        rules=(_rule("a", "pump", "infusion-pump"), _rule("b", "pcu", "infusion-pump"), _rule("c", "mon", "ecg")),
        categories=(),
    )
    result = IdentificationEngine(rules).identify([obs(K.HOSTNAME, "pcu-pump-mon")])
    assert result.device_type is not None
    assert result.device_type.value == "infusion-pump"
    assert result.device_type.chosen.support == 2
    assert "2 agreeing observations against 1" in result.device_type.reason


def test_full_tie_is_broken_by_name() -> None:
    rules = RuleSet(rules=(_rule("z", "mon", "zeta"), _rule("a", "mon", "alpha")), categories=())
    result = IdentificationEngine(rules).identify([obs(K.HOSTNAME, "mon")])
    assert result.device_type is not None and result.device_type.value == "alpha"
    assert "tie" in result.device_type.reason


def test_higher_confidence_wins_at_equal_priority() -> None:
    rules = RuleSet(
        rules=(_rule("a", "mon", "alpha", confidence=0.3), _rule("b", "mon", "beta", 20, 0.6)), categories=()
    )
    result = IdentificationEngine(rules).identify([obs(K.HOSTNAME, "mon")])
    assert result.device_type is not None and result.device_type.value == "beta"
    assert "confidence 0.6" in result.device_type.reason


def test_engine_without_oui_lookup_ignores_macs() -> None:
    result = IdentificationEngine(RuleSet(rules=(), categories=())).identify([obs(K.MAC, GE_MAC)])
    assert result.manufacturer is None and result.matches == ()


def test_rule_set_rejects_duplicate_ids_and_double_categories() -> None:
    with pytest.raises(ValueError, match="duplicate rule id"):
        RuleSet(rules=(_rule("a", "x", "y"), _rule("a", "x", "y")), categories=())
    with pytest.raises(ValueError, match="in categories"):
        RuleSet(rules=(), categories=(Category("a", "A", "it", ("server",)), Category("b", "B", "it", ("server",))))


def test_conclusion_with_unknown_group_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"group \{2\}"):
        Rule("r", "d", 1, 0.5, Condition(K.OS, MatchOp.REGEX, "(a)"), (Conclusion(Attribute.OS, "{2}"),), "s")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("00:40:97:AB:CD:EF", "00:40:97:ab:cd:ef"),
        ("00-40-97-ab-cd-ef", "00:40:97:ab:cd:ef"),
        ("0040.97ab.cdef", "00:40:97:ab:cd:ef"),
        ("004097abcdef", "00:40:97:ab:cd:ef"),
        ("00:40:97", None),
        ("not a mac", None),
    ],
)
def test_normalize_mac(raw: str, expected: str | None) -> None:
    assert normalize_mac(raw) == expected


def test_vendor_mac_bits() -> None:
    assert is_vendor_mac("00:40:97:00:00:01")
    assert not is_vendor_mac("02:00:00:00:00:01")  # locally administered
    assert not is_vendor_mac("01:00:5e:00:00:01")  # multicast


def test_ieee_registrants_from_netaddr() -> None:
    assert ieee_registrants(GE_MAC) == ("GE Healthcare",)
    assert ieee_registrants("not a mac") == ()


# --- the shipped rule files ---------------------------------------------------------------------------------


def test_every_shipped_rule_is_valid_against_the_reference_data() -> None:
    rules = shipped_rule_set()
    families = {rule.family for rule in rules.rules}
    assert families == {"oui_overrides", "hostname", "dhcp", "dicom", "hl7", "http", "tls", "snmp", "os"}
    canonical = {m.name for m in manufacturer_catalog().manufacturers}
    slugs = {t.slug for t in device_types()}
    categories = {c.slug for c in rules.categories}
    for rule in rules.rules:
        assert rule.source and rule.description, rule.id
        assert 0 < rule.confidence <= 1, rule.id
        assert isinstance(rule.when.regex, re.Pattern), rule.id
        for condition in rule.requires:
            assert isinstance(condition.regex, re.Pattern), rule.id
        for conclusion in rule.then:
            if conclusion.attribute is Attribute.MANUFACTURER:
                assert conclusion.template in canonical, rule.id
            if conclusion.attribute is Attribute.DEVICE_TYPE:
                assert conclusion.template in slugs, rule.id
            if conclusion.attribute is Attribute.CATEGORY:
                assert conclusion.template in categories, rule.id


def test_every_device_type_but_other_has_one_category() -> None:
    rules = shipped_rule_set()
    slugs = {t.slug for t in device_types()} - {"other"}
    assert set(rules.category_of) == slugs


def test_shipped_rules_cover_the_major_medical_manufacturers() -> None:
    concluded = {c.template for r in shipped_rule_set().rules for c in r.then if c.attribute is Attribute.MANUFACTURER}
    major = {
        *("Philips", "GE HealthCare", "Siemens Healthineers", "BD", "Baxter", "ICU Medical", "B. Braun"),
        *("Medtronic", "Drägerwerk", "Mindray", "Masimo", "Nihon Kohden", "Spacelabs Healthcare"),
        *("Roche Diagnostics", "Abbott", "Fresenius", "Stryker", "Hillrom", "Welch Allyn", "Vocera"),
    }
    assert major <= concluded


def test_shipped_rules_recognise_the_sample_hospital_ouis() -> None:
    catalog = manufacturer_catalog()
    models = json.loads(resources.files("wardwatch.data").joinpath("device_catalog.json").read_text("utf-8"))
    for model in models["models"]:
        expected = model["nic_maker"] or model["manufacturer"]
        for oui in model["ouis"]:
            result = identify(obs(K.MAC, oui + "-00-00-01"))
            assert result.manufacturer is not None, (model["key"], oui)
            found = result.manufacturer.value
            related = {found, expected}
            # A brand of a group is fine either way round (Hospira -> ICU Medical).
            parents = {m.parent for m in map(catalog.get, related) if m is not None}
            assert found == expected or parents & related, (model["key"], oui, found)


# --- malformed rule files -----------------------------------------------------------------------------------

GOOD = """
family: test
rules:
  - id: t.ok
    description: ok
    source: test
    priority: 10
    confidence: 0.5
    when: {kind: hostname, prefix: pump}
    then: {device_type: infusion-pump}
"""


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ("regex: '(unclosed'", "does not compile"),
        ("kind: nonsense, equals: x", "is not an observation kind"),
        ("kind: hostname, equals: x, prefix: y", "exactly one of"),
    ],
)
def test_bad_condition_names_file_and_rule(broken: str, message: str) -> None:
    text = GOOD.replace("kind: hostname, prefix: pump", broken if "kind" in broken else f"kind: hostname, {broken}")
    with pytest.raises(RuleFileError, match=message) as caught:
        parse_rule_file("bad.yaml", text)
    assert str(caught.value).startswith("bad.yaml, rule 't.ok': ")
    assert "\n" not in str(caught.value)
    assert (caught.value.file, caught.value.rule_id) == ("bad.yaml", "t.ok")


def test_unknown_manufacturer_and_device_type_are_rejected() -> None:
    text = GOOD.replace("{device_type: infusion-pump}", "{manufacturer: Acme Pumps}")
    with pytest.raises(RuleFileError, match="bad.yaml, rule 't.ok': unknown manufacturer 'Acme Pumps'"):
        parse_rule_file("bad.yaml", text, manufacturers={"BD"}, device_type_slugs={"infusion-pump"})
    text = GOOD.replace("infusion-pump", "teleporter")
    with pytest.raises(RuleFileError, match="unknown device_type 'teleporter'"):
        parse_rule_file("bad.yaml", text, manufacturers={"BD"}, device_type_slugs={"infusion-pump"})


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("    source: test\n", "", "'source' is required"),
        ("confidence: 0.5", "confidence: 1.5", "between 0 and 1"),
        ("priority: 10", "priority: high", "'priority' must be an integer"),
        ("then: {device_type: infusion-pump}", "then: {colour: red}", "'then' key 'colour'"),
        ("then: {device_type: infusion-pump}", "then: {manufacturer: '{1}'}", "must be literal text"),
        ("    priority: 10\n", "    priority: 10\n    prioritty: 3\n", "unknown keys"),
    ],
)
def test_bad_rule_fields_name_file_and_rule(old: str, new: str, message: str) -> None:
    with pytest.raises(RuleFileError, match=message) as caught:
        parse_rule_file("bad.yaml", GOOD.replace(old, new))
    assert str(caught.value).startswith("bad.yaml, rule 't.ok'")


def test_file_level_problems() -> None:
    with pytest.raises(RuleFileError, match=r"^bad\.yaml: not valid YAML .*Tip") as caught:
        parse_rule_file("bad.yaml", "rules: [\n  - id: x\n")
    assert "\n" not in str(caught.value)
    with pytest.raises(RuleFileError, match="non-empty 'rules' list"):
        parse_rule_file("bad.yaml", "family: x\n")
    with pytest.raises(RuleFileError, match=r"rule '#1': every rule needs a text 'id'"):
        parse_rule_file("bad.yaml", "rules:\n  - description: no id\n")


def test_duplicate_ids_across_files_name_both() -> None:
    with pytest.raises(RuleFileError, match=r"b\.yaml, rule 't\.ok': the id is already used in a\.yaml"):
        load_rule_set({"a.yaml": GOOD, "b.yaml": GOOD})


def test_categories_file_is_checked() -> None:
    bad = "categories:\n  - {slug: x, label: X, domain: medical, device_types: [teleporter]}\n"
    with pytest.raises(RuleFileError, match=r"categories\.yaml, rule 'x': unknown device types \['teleporter'\]"):
        load_rule_set({CATEGORIES_FILE: bad}, device_type_slugs={"infusion-pump"})
    with pytest.raises(RuleFileError, match="domain"):
        load_rule_set({CATEGORIES_FILE: "categories:\n  - {slug: x, label: X, domain: space}\n"})


def test_rule_set_version_changes_with_the_rules() -> None:
    files = read_rule_files()
    changed = dict(files, **{"hostname.yaml": files["hostname.yaml"] + "\n# edited\n"})
    assert load_rule_set(changed).version != load_rule_set(files).version
    assert load_rule_set(files).version == shipped_rule_set().version
