"""SSVC deployer decisions against the official CERT/CC tables and METHODS.md section 2."""

from __future__ import annotations

import csv
import dataclasses
import json
from importlib import resources
from pathlib import Path

import pytest

from wardwatch.domain.inventory import Criticality
from wardwatch.domain.ssvc import (
    DEFINITION_CONSISTENT_HUMAN_IMPACT,
    LATEST,
    POLICIES,
    Automatable,
    DeployerTable,
    Exploitation,
    HumanImpact,
    HumanImpactTable,
    MissionImpact,
    Priority,
    SafetyImpact,
    SsvcPolicy,
    SystemExposure,
    automatable_from,
    decide,
    exploitation_from,
    exposure_from,
    human_impact,
    mission_from,
    safety_from_criticality,
)
from wardwatch.services.ssvc_reference import deployer_table, published_human_impact

E, X, A, H, P = Exploitation, SystemExposure, Automatable, HumanImpact, Priority
S, M = SafetyImpact, MissionImpact

_DATA = resources.files("wardwatch.data").joinpath("ssvc")


def _committed_csv(name: str) -> list[list[str]]:
    """Read the committed copy directly, independently of the loader."""
    with resources.as_file(_DATA.joinpath(name)) as path, Path(path).open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def _deployer_csv_rows() -> list[list[str]]:
    rows = _committed_csv("deployer_patch_application_priority_1_0_0.csv")
    header, body = rows[0], rows[1:]
    assert header == [
        "row",
        "Exploitation v1.1.0",
        "System Exposure v1.0.1",
        "Automatable v2.0.0",
        "Human Impact v2.0.2",
        "Defer, Scheduled, Out-of-Cycle, Immediate v1.0.0",
    ]
    return body


DEPLOYER_ROWS = _deployer_csv_rows()


def test_the_committed_deployer_table_has_72_rows() -> None:
    assert len(DEPLOYER_ROWS) == 72
    assert len(deployer_table().rows) == 72


@pytest.mark.parametrize("row", DEPLOYER_ROWS, ids=lambda row: f"row{row[0]}")
def test_every_official_deployer_row_reproduces(row: list[str]) -> None:
    index, exploitation, exposure, automatable, hi, outcome = row
    decision = decide(deployer_table(), E(exploitation), X(exposure), A(automatable), H(hi))
    assert decision.priority is P(outcome)
    assert decision.row.index == int(index)
    assert f"row {index}" in decision.explain()


def test_json_table_agrees_with_csv() -> None:
    document = json.loads(_DATA.joinpath("deployer_patch_application_priority_1_0_0.json").read_text("utf-8"))
    assert document["key"] == "DT_DP"
    assert document["outcome"] == "ssvc:DSOI:1.0.0"
    points = document["decision_points"]

    def name(point: str, key: str) -> str:
        return str(next(v["name"] for v in points[point]["values"] if v["key"] == key)).lower()

    from_json = {
        (
            name("ssvc:E:1.1.0", m["ssvc:E:1.1.0"]),
            name("ssvc:EXP:1.0.1", m["ssvc:EXP:1.0.1"]),
            name("ssvc:A:2.0.0", m["ssvc:A:2.0.0"]),
            name("ssvc:HI:2.0.2", m["ssvc:HI:2.0.2"]),
        ): name("ssvc:DSOI:1.0.0", m["ssvc:DSOI:1.0.0"])
        for m in document["mapping"]
    }
    from_csv = {tuple(row[1:5]): row[5] for row in DEPLOYER_ROWS}
    assert len(from_json) == 72
    assert from_json == from_csv


# METHODS.md 2.3 table, transcribed: (exploitation, exposure, automatable) → outcomes for HI low..very high.
_D, _SC, _O, _I = P.DEFER, P.SCHEDULED, P.OUT_OF_CYCLE, P.IMMEDIATE
METHODS_2_3 = {
    (E.NONE, X.SMALL, A.NO): (_D, _D, _SC, _SC),
    (E.NONE, X.SMALL, A.YES): (_D, _SC, _SC, _SC),
    (E.NONE, X.CONTROLLED, A.NO): (_D, _SC, _SC, _SC),
    (E.NONE, X.CONTROLLED, A.YES): (_SC, _SC, _SC, _SC),
    (E.NONE, X.OPEN, A.NO): (_D, _SC, _SC, _SC),
    (E.NONE, X.OPEN, A.YES): (_SC, _SC, _SC, _O),
    (E.PUBLIC_POC, X.SMALL, A.NO): (_D, _SC, _SC, _SC),
    (E.PUBLIC_POC, X.SMALL, A.YES): (_SC, _SC, _SC, _SC),
    (E.PUBLIC_POC, X.CONTROLLED, A.NO): (_D, _SC, _SC, _SC),
    (E.PUBLIC_POC, X.CONTROLLED, A.YES): (_SC, _SC, _SC, _O),
    (E.PUBLIC_POC, X.OPEN, A.NO): (_SC, _SC, _SC, _O),
    (E.PUBLIC_POC, X.OPEN, A.YES): (_SC, _SC, _O, _O),
    (E.ACTIVE, X.SMALL, A.NO): (_SC, _SC, _O, _O),
    (E.ACTIVE, X.SMALL, A.YES): (_SC, _O, _O, _O),
    (E.ACTIVE, X.CONTROLLED, A.NO): (_SC, _SC, _O, _O),
    (E.ACTIVE, X.CONTROLLED, A.YES): (_O, _O, _O, _O),
    (E.ACTIVE, X.OPEN, A.NO): (_SC, _O, _O, _I),
    (E.ACTIVE, X.OPEN, A.YES): (_O, _O, _I, _I),
}


def test_methods_md_table_matches_the_official_one() -> None:
    table = deployer_table()
    for (e, x, a), outcomes in METHODS_2_3.items():
        for hi, expected in zip(H, outcomes, strict=True):
            assert table.decide(e, x, a, hi).priority is expected, (e, x, a, hi)


def test_methods_md_invariants() -> None:
    rows = deployer_table().rows
    assert all(r.priority is not P.DEFER for r in rows if r.exploitation is E.ACTIVE)
    immediate = {(r.automatable, r.human_impact) for r in rows if r.priority is P.IMMEDIATE}
    assert all(r.exploitation is E.ACTIVE and r.exposure is X.OPEN for r in rows if r.priority is P.IMMEDIATE)
    assert immediate == {(A.NO, H.VERY_HIGH), (A.YES, H.HIGH), (A.YES, H.VERY_HIGH)}
    none_ooc = [r.key for r in rows if r.exploitation is E.NONE and r.priority is P.OUT_OF_CYCLE]
    assert none_ooc == [(E.NONE, X.OPEN, A.YES, H.VERY_HIGH)]


def test_table_rejects_duplicate_or_missing_rows() -> None:
    rows = list(deployer_table().rows)
    with pytest.raises(ValueError, match="expected 72"):
        DeployerTable(rows[:-1])
    with pytest.raises(ValueError, match="twice"):
        DeployerTable([*rows, dataclasses.replace(rows[0], index=99)])


# --- Human Impact (METHODS.md 2.4) ----------------------------------------------------------------------

PUBLISHED_EXPECTED = {
    S.NEGLIGIBLE: (H.LOW, H.LOW, H.MEDIUM, H.VERY_HIGH),
    S.MARGINAL: (H.LOW, H.LOW, H.MEDIUM, H.VERY_HIGH),
    S.CRITICAL: (H.MEDIUM, H.HIGH, H.HIGH, H.VERY_HIGH),
    S.CATASTROPHIC: (H.VERY_HIGH,) * 4,
}


def test_published_table_is_the_committed_csv() -> None:
    published = published_human_impact()
    for safety, row in PUBLISHED_EXPECTED.items():
        for mission, expected in zip(M, row, strict=True):
            assert published[(safety, mission)] is expected


def test_the_two_human_impact_tables_differ_exactly_where_methods_md_says() -> None:
    published = published_human_impact()
    differences = {
        cell: (published[cell], DEFINITION_CONSISTENT_HUMAN_IMPACT[cell])
        for cell in DEFINITION_CONSISTENT_HUMAN_IMPACT
        if published[cell] is not DEFINITION_CONSISTENT_HUMAN_IMPACT[cell]
    }
    assert differences == {
        (S.MARGINAL, M.DEGRADED): (H.LOW, H.MEDIUM),
        (S.MARGINAL, M.MEF_SUPPORT_CRIPPLED): (H.LOW, H.MEDIUM),
        (S.MARGINAL, M.MEF_FAILURE): (H.MEDIUM, H.HIGH),
        (S.CRITICAL, M.DEGRADED): (H.MEDIUM, H.HIGH),
    }


def test_definition_consistent_table_follows_hi_2_0_2_definitions() -> None:
    low_mission = {M.DEGRADED, M.MEF_SUPPORT_CRIPPLED}
    for (safety, mission), value in DEFINITION_CONSISTENT_HUMAN_IMPACT.items():
        if safety is S.CATASTROPHIC or mission is M.MISSION_FAILURE:
            assert value is H.VERY_HIGH
        elif safety is S.NEGLIGIBLE and mission in low_mission:
            assert value is H.LOW
        elif (safety is S.NEGLIGIBLE and mission is M.MEF_FAILURE) or (safety is S.MARGINAL and mission in low_mission):
            assert value is H.MEDIUM
        else:  # (critical × {D, MSC}) ∪ (marginal × MEF) ∪ critical × MEF (v2.1 gives H)
            assert value is H.HIGH


def test_human_impact_choice_is_a_policy_setting() -> None:
    default = human_impact(S.MARGINAL, M.DEGRADED)
    assert default.value is H.MEDIUM
    assert "definition-consistent" in default.evidence
    published = human_impact(S.MARGINAL, M.DEGRADED, HumanImpactTable.PUBLISHED, published_human_impact())
    assert published.value is H.LOW
    assert "human_impact_1_0_0" in published.evidence
    with pytest.raises(ValueError, match="not given"):
        human_impact(S.MARGINAL, M.DEGRADED, HumanImpactTable.PUBLISHED)


# --- Derivations ----------------------------------------------------------------------------------------


def test_exploitation_derivation() -> None:
    kev = exploitation_from(kev=True, public_exploit=True, epss=0.01, epss_threshold=0.75)
    assert (kev.value, kev.evidence) == (E.ACTIVE, "listed in CISA's Known Exploited Vulnerabilities catalog")
    poc = exploitation_from(kev=False, public_exploit=True, epss=None, epss_threshold=0.75)
    assert poc.value is E.PUBLIC_POC
    assert "public exploit" in poc.evidence
    by_epss = exploitation_from(kev=False, public_exploit=False, epss=0.75, epss_threshold=0.75)
    assert by_epss.value is E.PUBLIC_POC
    assert by_epss.evidence == "EPSS 0.750 is at or above the policy threshold 0.75"
    low = exploitation_from(kev=False, public_exploit=False, epss=0.2, epss_threshold=0.75)
    assert low.value is E.NONE
    assert low.evidence == "not in KEV, no public exploit known, EPSS 0.200 below the policy threshold 0.75"
    unknown = exploitation_from(kev=False, public_exploit=False, epss=None, epss_threshold=0.75)
    assert (unknown.value, unknown.evidence) == (E.NONE, "not in KEV, no public exploit known, no EPSS score")


def test_automatable_derivation() -> None:
    vector_no = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/AU:N"
    adp = automatable_from("yes", vector_no)
    assert (adp.value, adp.defaulted) == (A.YES, False)
    assert "CISA ADP" in adp.evidence
    assert automatable_from("No", None).value is A.NO
    from_vector = automatable_from(None, vector_no)
    assert from_vector.value is A.NO
    assert "AU:N" in from_vector.evidence
    assert automatable_from("", vector_no.replace("AU:N", "AU:Y")).value is A.YES
    default = automatable_from(None, "CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N")
    assert (default.value, default.defaulted) == (A.YES, True)
    assert "SSVC default" in default.evidence
    assert automatable_from(None, None).defaulted


def test_exposure_derivation_and_unknown_is_open() -> None:
    unknown = exposure_from(None, None)
    assert (unknown.value, unknown.defaulted) == (X.OPEN, True)
    assert "default exposure = open" in unknown.evidence
    assert exposure_from(None, False).value is X.OPEN
    assert exposure_from(True, False).value is X.OPEN
    assert exposure_from(True, False).evidence == "reachable from the Internet"
    controlled = exposure_from(False, True)
    assert (controlled.value, controlled.defaulted) == (X.CONTROLLED, False)
    assert "IT or guest" in controlled.evidence
    assert exposure_from(False, None).value is X.CONTROLLED
    assert exposure_from(False, None).defaulted
    small = exposure_from(False, False)
    assert (small.value, small.evidence) == (
        X.SMALL,
        "isolated: reachable neither from the Internet nor from IT or guest zones",
    )


@pytest.mark.parametrize(
    ("criticality", "patients", "expected"),
    [
        (Criticality.LIFE_SUSTAINING, None, S.CATASTROPHIC),
        (Criticality.LIFE_SUSTAINING, 12, S.CATASTROPHIC),
        (Criticality.LIFE_SUSTAINING, 1, S.CRITICAL),
        (Criticality.LIFE_SUPPORTING, None, S.CRITICAL),
        (Criticality.THERAPEUTIC, None, S.MARGINAL),
        (Criticality.DIAGNOSTIC, None, S.MARGINAL),
        (Criticality.MONITORING, None, S.MARGINAL),
        (Criticality.NON_CLINICAL, None, S.NEGLIGIBLE),
        (None, None, S.MARGINAL),
    ],
)
def test_safety_from_criticality(criticality: Criticality | None, patients: int | None, expected: SafetyImpact) -> None:
    derived = safety_from_criticality(criticality, patients)
    assert derived.value is expected
    assert derived.evidence
    assert derived.defaulted is (criticality is None)


def test_safety_evidence_names_the_harm() -> None:
    assert "death" in safety_from_criticality(Criticality.LIFE_SUSTAINING).evidence
    assert "single patient" in safety_from_criticality(Criticality.LIFE_SUSTAINING, 1).evidence
    assert "ISO 14971 Serious" in safety_from_criticality(Criticality.THERAPEUTIC).evidence


@pytest.mark.parametrize(
    ("units", "expected"),
    [
        (None, M.MEF_SUPPORT_CRIPPLED),
        (0, M.DEGRADED),
        (1, M.MEF_SUPPORT_CRIPPLED),
        (2, M.MEF_FAILURE),
        (4, M.MEF_FAILURE),
        (5, M.MISSION_FAILURE),
        (40, M.MISSION_FAILURE),
    ],
)
def test_mission_from_units(units: int | None, expected: MissionImpact) -> None:
    derived = mission_from(units)
    assert derived.value is expected
    assert derived.defaulted is (units is None)


def test_mission_thresholds_come_from_policy() -> None:
    assert mission_from(3, thresholds=(4, 10)).value is M.MEF_SUPPORT_CRIPPLED
    assert mission_from(2, LATEST.mission_thresholds).evidence == "2 clinical units depend on it (≥ 2)"


# --- End to end and policy ------------------------------------------------------------------------------


def test_ventilator_on_internet_in_kev_is_immediate() -> None:
    policy = LATEST
    e = exploitation_from(kev=True, public_exploit=False, epss=None, epss_threshold=policy.epss_threshold)
    x = exposure_from(internet_reachable=None, reachable_from_it_or_guest=None)
    a = automatable_from(None, None)
    hi = human_impact(
        safety_from_criticality(Criticality.LIFE_SUSTAINING).value,
        mission_from(1, policy.mission_thresholds).value,
        policy.human_impact_table,
        published_human_impact(),
    )
    decision = decide(deployer_table(), e.value, x.value, a.value, hi.value)
    assert decision.priority is P.IMMEDIATE
    assert decision.row.index == 71


def test_table_choice_changes_a_decision() -> None:
    # Marginal × degraded: definition-consistent = medium, published = low; with none/small/yes that is
    # scheduled vs defer.
    table = deployer_table()
    for choice, expected in [
        (HumanImpactTable.DEFINITION_CONSISTENT, P.SCHEDULED),
        (HumanImpactTable.PUBLISHED, P.DEFER),
    ]:
        hi = human_impact(S.MARGINAL, M.DEGRADED, choice, published_human_impact()).value
        assert decide(table, E.NONE, X.SMALL, A.YES, hi).priority is expected


def test_policy_versions() -> None:
    assert POLICIES["2026.1"] is LATEST
    assert all(key == policy.version for key, policy in POLICIES.items())
    assert LATEST.human_impact_table is HumanImpactTable.DEFINITION_CONSISTENT
    assert 0 < LATEST.epss_threshold <= 1
    assert LATEST.note
    with pytest.raises(dataclasses.FrozenInstanceError):
        LATEST.epss_threshold = 0.1  # type: ignore[misc]
    assert SsvcPolicy(version="x", epss_threshold=0.5).human_impact_table is HumanImpactTable.DEFINITION_CONSISTENT


def test_official_package_agrees_when_installed() -> None:
    """Cross-check with CERT/CC's own package (PyPI ``certcc-ssvc`` needs Python >= 3.12, so usually skipped)."""
    module = pytest.importorskip("ssvc.decision_tables.ssvc.deployer_dt")
    committed = json.loads(_DATA.joinpath("deployer_patch_application_priority_1_0_0.json").read_text("utf-8"))

    def as_set(mapping: list[dict[str, str]]) -> set[tuple[tuple[str, str], ...]]:
        return {tuple(sorted(row.items())) for row in mapping}

    official = [dict(row) for row in module.LATEST.mapping]
    assert len(official) == 72
    assert as_set(official) == as_set(committed["mapping"])
