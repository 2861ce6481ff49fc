"""Reconciling a new record with stored claims: idempotence, precedence of better sources, no erasing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from wardwatch.domain.candidates import CandidateGroup
from wardwatch.domain.claims import Claim, ClaimedValue, Provenance, update_claim
from wardwatch.domain.reconcile import from_text, group_claims, plan_device, to_text

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
EARLIER = NOW - timedelta(days=30)
OLD = Provenance(1, "row 2", EARLIER)


def claim(kind: str, confidence: float = 0.9, **values: str) -> Claim:
    return Claim(kind, OLD, {a: ClaimedValue(v, confidence) for a, v in values.items()})


def cmms(**values: str) -> dict[str, dict[str, tuple[str, float]]]:
    return {"cmms": {a: (v, 0.9) for a, v in values.items()}}


def test_the_same_record_again_writes_nothing() -> None:
    current = {"model": "Plum 360", "firmware_version": "15.1"}
    plan = plan_device(current, {"cmms": claim("cmms", **current)}, cmms(**current), NOW)
    assert plan.facts == ()
    assert plan.changes == ()


def test_a_changed_value_is_written_and_is_a_change() -> None:
    current = {"firmware_version": "15.1"}
    plan = plan_device(current, {"cmms": claim("cmms", **current)}, cmms(firmware_version="15.2"), NOW)
    (write,) = plan.facts
    assert (write.attribute, write.value, write.replaces) == ("firmware_version", "15.2", True)
    (change,) = plan.changes
    assert (change.old, change.new) == ("15.1", "15.2")


def test_a_more_confident_source_keeps_its_value_but_the_cmms_claim_is_recorded() -> None:
    current = {"firmware_version": "15.1.3"}
    claims = {
        "cmms": claim("cmms", firmware_version="15.1"),
        "discovery": claim("discovery", 0.95, firmware_version="15.1.3"),
    }
    plan = plan_device(current, claims, cmms(firmware_version="15.0"), NOW)
    assert [w.value for w in plan.facts] == ["15.0"]
    assert plan.changes == ()


def test_a_less_confident_source_loses_to_the_new_claim() -> None:
    claims = {"cmms": claim("cmms", location="A"), "derived": claim("derived", 0.5, location="B")}
    plan = plan_device({"location": "A"}, claims, cmms(location="C"), NOW)
    assert [(c.old, c.new) for c in plan.changes] == [("A", "C")]


def test_a_new_attribute_is_inserted_and_an_absent_one_is_left_alone() -> None:
    current = {"model": "Plum 360", "ip": "10.1.40.7"}
    plan = plan_device(current, {"cmms": claim("cmms", **current)}, cmms(model="Plum 360", serial="S1"), NOW)
    assert [(w.attribute, w.replaces) for w in plan.facts] == [("serial", False)]
    assert [(c.attribute, c.old, c.new) for c in plan.changes] == [("serial", None, "S1")]


def test_group_claims_split_written_and_derived_values() -> None:
    group = CandidateGroup(
        ("row 2",), {"model": "Evita V500", "criticality": "life-sustaining", "high_risk": True},
        {"criticality": (0.6, "usual for a ventilator"), "high_risk": (0.6, "usual")}, (), (), "North",
    )  # fmt: skip
    claims = group_claims(group, group.site)
    assert claims["cmms"] == {"model": ("Evita V500", 0.9), "site": ("North", 0.9)}
    assert claims["derived"] == {"criticality": ("life-sustaining", 0.6), "high_risk": ("true", 0.6)}


def test_untouched_values_keep_their_original_provenance() -> None:
    old = claim("cmms", model="X", location="ICU 1")
    new_provenance = Provenance(2, "row 9", NOW)
    updated = update_claim(old, "cmms", {"location": ("ICU 2", 0.9)}, new_provenance)
    assert updated.provenance_of("location") == new_provenance
    assert updated.provenance_of("model") == OLD
    assert Claim.from_payload("cmms", new_provenance, updated.to_payload()) == updated
    assert updated.digest() != old.digest()
    assert update_claim(old, "cmms", {"model": ("X", 0.9)}, new_provenance).digest() == old.digest()


def test_text_round_trip() -> None:
    for attribute, value in (
        ("handles_phi", False),
        ("in_service_date", date(2020, 2, 29)),
        ("vlan", 4094),
        ("model", "X"),
    ):
        assert from_text(attribute, to_text(value)) == value
