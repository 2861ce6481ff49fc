"""Reconciling a new record with stored facts: idempotence, precedence of better sources, no erasing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from wardwatch.domain.candidates import CandidateGroup
from wardwatch.domain.reconcile import StoredFact, from_text, plan_device, to_text

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
EARLIER = NOW - timedelta(days=30)


def group(values: dict[str, object], derived: dict[str, tuple[float, str]] | None = None) -> CandidateGroup:
    return CandidateGroup(("row 2",), values, derived or {}, (), (), None)  # type: ignore[arg-type]


def test_the_same_record_again_writes_nothing() -> None:
    current = {"model": "Plum 360", "firmware_version": "15.1"}
    facts = {a: {"cmms": StoredFact(v, 0.9, EARLIER)} for a, v in current.items()}
    plan = plan_device(current, facts, group({"model": "Plum 360", "firmware_version": "15.1"}), NOW)
    assert plan.facts == ()
    assert plan.changes == ()


def test_a_changed_value_replaces_its_fact_and_is_a_change() -> None:
    current = {"firmware_version": "15.1"}
    facts = {"firmware_version": {"cmms": StoredFact("15.1", 0.9, EARLIER)}}
    plan = plan_device(current, facts, group({"firmware_version": "15.2"}), NOW)
    (write,) = plan.facts
    assert (write.attribute, write.value, write.replaces) == ("firmware_version", "15.2", True)
    (change,) = plan.changes
    assert (change.old, change.new) == ("15.1", "15.2")


def test_a_more_confident_source_keeps_its_value_but_the_cmms_claim_is_recorded() -> None:
    current = {"firmware_version": "15.1.3"}
    facts = {
        "firmware_version": {
            "cmms": StoredFact("15.1", 0.9, EARLIER),
            "discovery": StoredFact("15.1.3", 0.95, EARLIER),
        }
    }
    plan = plan_device(current, facts, group({"firmware_version": "15.0"}), NOW)
    assert [w.value for w in plan.facts] == ["15.0"]
    assert plan.changes == ()


def test_a_new_attribute_is_inserted_and_an_absent_one_is_left_alone() -> None:
    current = {"model": "Plum 360", "ip": "10.1.40.7"}
    facts = {
        "model": {"cmms": StoredFact("Plum 360", 0.9, EARLIER)},
        "ip": {"cmms": StoredFact("10.1.40.7", 0.9, EARLIER)},
    }
    plan = plan_device(current, facts, group({"model": "Plum 360", "serial": "S1"}), NOW)
    assert [(w.attribute, w.replaces) for w in plan.facts] == [("serial", False)]
    assert [(c.attribute, c.old, c.new) for c in plan.changes] == [("serial", None, "S1")]


def test_derived_values_are_written_as_derived_facts() -> None:
    plan = plan_device({}, {}, group({"criticality": "therapeutic"}, {"criticality": (0.6, "usual")}), NOW)
    (write,) = plan.facts
    assert (write.source_kind, write.confidence) == ("derived", 0.6)


def test_text_round_trip() -> None:
    from datetime import date

    for attribute, value in (
        ("handles_phi", False),
        ("in_service_date", date(2020, 2, 29)),
        ("vlan", 4094),
        ("model", "X"),
    ):
        assert from_text(attribute, to_text(value)) == value
