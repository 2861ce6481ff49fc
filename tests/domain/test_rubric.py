"""The MITRE medical-device CVSS rubric (METHODS.md 1.2-1.3): examples, every branch, defects, defaults."""

from __future__ import annotations

import pytest

from wardwatch.domain.inventory import ClinicalProfile, Criticality
from wardwatch.domain.rubric import (
    CALCULATOR,
    CORRECTED,
    GRID,
    QUESTIONS,
    RubricError,
    RubricPolicy,
    answers_of,
    apply_rubric,
    default_caps,
    defaults_for,
    exceeds_caps,
    layer_answers,
    parse_extended,
)

GRID_CODES = [code for codes in GRID.values() for code in codes if code != "XCP"]


def _grid(**cells: str) -> dict[str, str]:
    """Every grid cell NONE except the ones given (the examples' "..." rows)."""
    return {code: cells.get(code, "NONE") for code in GRID_CODES}


# Calculator "Details" sheet, case "Test": AV:N/AC:L/PR:H/UI:R/S:C/C:H/I:H/A:L = 8.3
TEST = {
    **{
        "XAVN": "YES",
        "XAVT": "YES",
        "XACL": "YES",
        "XPRL": "YES",
        "XPRZ": "YES",
        "XPRS": "YES",
        "XUI": "YES",
        "XS": "YES",
    },
    **{"XCP": "YES", "XCPM": "NO"},
    **_grid(XIP="HIGH", XAP="LOW", XAD="LOW", XAT="NONE"),
}
# Case "Test2": AV:A/AC:L/PR:N/UI:R/S:C/C:H/I:L/A:H = 8.7
TEST2 = {
    **{
        "XAVN": "YES",
        "XAVT": "NO",
        "XAVW": "NO",
        "XACL": "YES",
        "XPRL": "NO",
        "XUI": "YES",
        "XS": "YES",
        "XCP": "YES",
        "XCPM": "YES",
    },
    **_grid(XIP="LOW", XID="LOW", XIT="LOW", XIW="LOW", XIS="LOW", XIO="LOW", XAP="HIGH"),
}
ANSWERED_BASE = {"XAVN": "YES", "XAVT": "YES", "XACL": "YES", "XPRL": "NO", "XUI": "NO", "XS": "NO"}


def test_question_set_matches_methods() -> None:
    codes = [q.code for q in QUESTIONS]
    assert codes[:12] == ["XAVN", "XAVT", "XAVW", "XAVR", "XAVP", "XAVPA", "XACL", "XPRL", "XPRZ", "XPRS", "XUI", "XS"]
    assert len(codes) == len(set(codes)) == 12 + 19
    by_code = {q.code: q for q in QUESTIONS}
    assert by_code["XAVR"].answers == ("YES", "NO")
    assert by_code["XAVN"].text.startswith("Q1. Can the attacker utilize some type of network")
    assert "500 or more" in by_code["XCPM"].text
    assert by_code["XCT"].answers == ("HIGH", "LOW", "NONE", "UNKNOWN")
    assert len(GRID) == 6


def test_example_83_reproduced_with_calculator_policy() -> None:
    result = apply_rubric(TEST, policy=CALCULATOR)
    assert result.vector == "CVSS:3.0/AV:N/AC:L/PR:H/UI:R/S:C/C:H/I:H/A:L"
    assert result.score.base == 8.3


def test_example_83_with_corrected_policy_uses_xcpm() -> None:
    # Defect 1: XCPM=NO (fewer than 500 patients) lowers readable PHI to C:L.
    result = apply_rubric(TEST)
    assert result.vector == "CVSS:3.0/AV:N/AC:L/PR:H/UI:R/S:C/C:L/I:H/A:L"
    assert result.score.base == 7.5
    assert "fewer than 500" in result.explanations["C"]


@pytest.mark.parametrize("policy", [CORRECTED, CALCULATOR])
def test_example_87_reproduced(policy: RubricPolicy) -> None:
    result = apply_rubric(TEST2, policy=policy)
    assert result.vector == "CVSS:3.0/AV:A/AC:L/PR:N/UI:R/S:C/C:H/I:L/A:H"
    assert result.score.base == 8.7


def test_examples_score_the_same_in_v31() -> None:
    assert apply_rubric(TEST, policy=CALCULATOR, version="3.1").score.base == 8.3
    assert apply_rubric(TEST2, version="3.1").score.vector.startswith("CVSS:3.1/")
    assert apply_rubric(TEST2, version="3.1").score.base == 8.7


def test_extended_vector_round_trips() -> None:
    result = apply_rubric(TEST2)
    assert result.extended_vector.startswith(result.vector + "/XAVN:Y/XAVT:N/XAVW:N/XACL:Y/XPRL:N/")
    vector, answers = parse_extended(result.extended_vector)
    assert vector == result.vector
    assert answers == TEST2


def _metric(metric: str, answers: dict[str, str], policy: RubricPolicy = CORRECTED) -> str:
    return apply_rubric({**ANSWERED_BASE, **_grid(), "XCP": "NO", **answers}, policy=policy).metrics[metric]


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"XAVN": "YES", "XAVT": "YES"}, "N"),
        ({"XAVN": "YES", "XAVT": "UNKNOWN"}, "N"),
        ({"XAVN": "UNKNOWN", "XAVT": "NO"}, "N"),
        ({"XAVN": "YES", "XAVT": "NO", "XAVW": "NO"}, "A"),
        ({"XAVN": "YES", "XAVT": "NO", "XAVW": "UNKNOWN"}, "A"),
        ({"XAVN": "YES", "XAVT": "NO", "XAVW": "YES", "XAVR": "YES"}, "L"),
        ({"XAVN": "YES", "XAVT": "NO", "XAVW": "YES", "XAVR": "NO"}, "A"),
        ({"XAVN": "YES", "XAVT": "NO", "XAVW": "YES"}, "A"),  # XAVR unanswered -> worse case
        ({"XAVN": "NO", "XAVP": "NO"}, "L"),
        ({"XAVN": "NO", "XAVP": "UNKNOWN"}, "L"),
        ({"XAVN": "NO", "XAVP": "YES", "XAVPA": "YES"}, "P"),
        ({"XAVN": "NO", "XAVP": "YES", "XAVPA": "NO"}, "P"),
        ({"XAVN": "YES", "XAVT": "NO", "XAVW": "NO", "XAVP": "NO"}, "A"),  # off-path XAVP ignored
    ],
)
def test_attack_vector_branches(answers: dict[str, str], expected: str) -> None:
    # ANSWERED_BASE holds XAVT=YES: on the XAVN=NO branch it is off-path and must be ignored.
    assert _metric("AV", answers) == expected


@pytest.mark.parametrize(
    ("metric", "answers", "expected"),
    [
        ("AC", {"XACL": "YES"}, "L"),
        ("AC", {"XACL": "UNKNOWN"}, "L"),
        ("AC", {"XACL": "NO"}, "H"),
        ("PR", {"XPRL": "NO"}, "N"),
        ("PR", {"XPRL": "UNKNOWN"}, "N"),
        ("PR", {"XPRL": "YES", "XPRZ": "NO"}, "N"),
        ("PR", {"XPRL": "YES", "XPRZ": "UNKNOWN"}, "N"),
        ("PR", {"XPRL": "YES", "XPRZ": "YES", "XPRS": "YES"}, "H"),
        ("PR", {"XPRL": "YES", "XPRZ": "YES", "XPRS": "NO"}, "L"),
        ("PR", {"XPRL": "YES", "XPRZ": "YES", "XPRS": "UNKNOWN"}, "N"),
        ("UI", {"XUI": "YES"}, "R"),
        ("UI", {"XUI": "NO"}, "N"),
        ("UI", {"XUI": "UNKNOWN"}, "N"),
        ("S", {"XS": "NO"}, "U"),
        ("S", {"XS": "YES"}, "C"),
        ("S", {"XS": "UNKNOWN"}, "C"),
    ],
)
def test_other_base_metric_branches(metric: str, answers: dict[str, str], expected: str) -> None:
    assert _metric(metric, answers) == expected


@pytest.mark.parametrize(
    ("metric", "answers", "expected"),
    [
        ("C", {}, "N"),
        ("C", {"XCP": "YES", "XCPM": "YES"}, "H"),
        ("C", {"XCP": "YES", "XCPM": "UNKNOWN"}, "H"),
        ("C", {"XCP": "YES", "XCPM": "NO"}, "L"),
        ("C", {"XCP": "YES", "XCPM": "NO", "XCS": "HIGH"}, "H"),
        ("C", {"XCT": "LOW"}, "L"),
        ("I", {"XID": "HIGH", "XIW": "LOW"}, "H"),
        ("I", {"XIO": "LOW"}, "L"),
        ("A", {"XAT": "LOW"}, "L"),
        ("A", {"XAW": "HIGH"}, "H"),
        ("A", {}, "N"),
    ],
)
def test_grid_takes_the_maximum_over_categories(metric: str, answers: dict[str, str], expected: str) -> None:
    assert _metric(metric, answers) == expected


def test_defect_2_availability_typo() -> None:
    # Therapy availability LOW: corrected A:L, calculator ignores it.
    assert _metric("A", {"XAT": "LOW"}) == "L"
    assert _metric("A", {"XAT": "LOW"}, CALCULATOR) == "N"
    # Other-data integrity LOW: corrected A:N, calculator wrongly gives A:L.
    assert _metric("A", {"XIO": "LOW"}) == "N"
    assert _metric("A", {"XIO": "LOW"}, CALCULATOR) == "L"
    # The HIGH branch is right in the calculator.
    assert _metric("A", {"XAT": "HIGH"}, CALCULATOR) == "H"


@pytest.mark.parametrize("code", ["XCD", "XIT", "XAT", "XCO"])
def test_defect_3_unknown_grid_cell(code: str) -> None:
    metric = code[1]
    assert _metric(metric, {code: "UNKNOWN"}) == "H"
    assert _metric(metric, {code: "UNKNOWN"}, CALCULATOR) == "N"


def test_unknown_phi_readability() -> None:
    assert _metric("C", {"XCP": "UNKNOWN"}) == "H"
    assert _metric("C", {"XCP": "UNKNOWN"}, CALCULATOR) == "N"


def test_nothing_answered_is_the_worst_case() -> None:
    result = apply_rubric({})
    assert result.vector == "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"
    assert result.score.base == 10.0
    assert "unknown counts as the worse case" in result.explanations["AV"]


def test_explanations_name_the_answers() -> None:
    result = apply_rubric(TEST2)
    assert result.explanations["AV"].startswith("AV:A because")
    assert "XAVW=NO" in result.explanations["AV"]
    assert apply_rubric(TEST).explanations["AV"] == (
        "AV:N because the device is reachable over a routed (OSI layer 3/4, e.g. IP) network (XAVN=YES, XAVT=YES)"
    )


def test_base_vector_fills_unanswered_metrics_and_keeps_temporal() -> None:
    base = "CVSS:3.1/AV:N/AC:H/PR:L/UI:R/S:U/C:L/I:L/A:N/E:P"
    result = apply_rubric({"XAVN": "NO", "XAVP": "YES", "XCP": "YES", "XCPM": "YES"}, base)
    assert result.vector == "CVSS:3.1/AV:P/AC:H/PR:L/UI:R/S:U/C:H/I:L/A:N/E:P"
    assert "supplied base vector" in result.explanations["AC"]


def test_base_vector_errors() -> None:
    with pytest.raises(RubricError, match="invalid"):
        apply_rubric({}, "AV:N/AC:L")
    with pytest.raises(RubricError, match="v4.0"):
        apply_rubric({}, "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N")


def test_answer_validation_and_short_forms() -> None:
    assert layer_answers({"xavn": "y"}, {"XCT": "h", "XAVN": "u"}) == {"XAVN": "UNKNOWN", "XCT": "HIGH"}
    with pytest.raises(RubricError, match="unknown rubric question"):
        apply_rubric({"XNOPE": "YES"})
    with pytest.raises(RubricError, match="not offered"):
        apply_rubric({"XAVR": "UNKNOWN"})
    with pytest.raises(RubricError, match="not offered"):
        apply_rubric({"XCT": "YES"})


def test_defaults_from_profile_and_mds2() -> None:
    profile = ClinicalProfile(criticality=Criticality.MONITORING, handles_phi=False)
    caps: dict[str, bool | None] = {"remote_service": True, "authentication": False, "stores_phi": None}
    defaults = defaults_for(profile, caps)
    assert answers_of(defaults.values()) == {
        "XAVN": "YES",
        "XAVT": "YES",
        "XPRL": "NO",
        "XCP": "NO",
        "XIP": "NONE",
        "XAP": "NONE",
        "XCT": "NONE",
        "XIT": "NONE",
        "XAT": "NONE",
    }
    assert "remote_service" in defaults["XAVN"].reason
    assert "handles_phi=False" in defaults["XCP"].reason
    assert "criticality=monitoring" in defaults["XAT"].reason


def test_defaults_only_where_there_is_evidence() -> None:
    assert defaults_for(ClinicalProfile(), {}) == {}
    assert defaults_for(ClinicalProfile(criticality=Criticality.LIFE_SUSTAINING), {"wireless": None}) == {}
    non_clinical = defaults_for(
        ClinicalProfile(criticality=Criticality.NON_CLINICAL),
        {
            "wireless": True,
            "authentication": True,
            "unique_user_accounts": True,
            "stores_phi": False,
            "transmits_phi": False,
        },
    )
    assert {c: d.answer for c, d in non_clinical.items() if c in ("XAVN", "XPRL", "XCD", "XCP")} == {
        "XAVN": "YES",
        "XPRL": "YES",
        "XCD": "NONE",
        "XCP": "NO",
    }
    assert "XAVT" not in non_clinical
    assert "neither stores nor transmits" in non_clinical["XCP"].reason


def test_defaults_layer_under_analyst_answers() -> None:
    defaults = defaults_for(ClinicalProfile(criticality=Criticality.DIAGNOSTIC), {"remote_service": True})
    answers = layer_answers(answers_of(defaults.values()), {"XAVT": "NO", "XAVW": "NO"})
    assert apply_rubric(answers).metrics["AV"] == "A"


NVD_NETWORK = "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H"
NVD_LOCAL = "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H"


def test_an_offline_model_gets_xavn_no() -> None:
    offline = {"remote_service": False, "external_network": False, "wireless": False}
    defaults = defaults_for(ClinicalProfile(), offline)
    assert defaults["XAVN"].answer == "NO"
    assert "no network communication" in defaults["XAVN"].reason
    # one capability unknown: nothing proves the device offline
    assert "XAVN" not in defaults_for(ClinicalProfile(), {**offline, "wireless": None})


def test_model_defaults_lower_a_metric_the_device_rules_out() -> None:
    result = apply_rubric({}, NVD_NETWORK, defaults={"XAVN": "NO"})
    # no network: at worst local access (XAVP unanswered counts as the worse case, L)
    assert result.metrics["AV"] == "L"
    assert "lowered from the supplied AV:N" in result.explanations["AV"]
    assert result.score.base < apply_rubric({}, NVD_NETWORK).score.base
    # the other metrics stay the supplier's
    assert {m: result.metrics[m] for m in ("AC", "PR", "C", "I", "A")} == {
        "AC": "L", "PR": "L", "C": "H", "I": "H", "A": "H"
    }  # fmt: skip


def test_model_defaults_never_raise_a_supplier_metric() -> None:
    networked = apply_rubric({}, NVD_LOCAL, defaults={"XAVN": "YES", "XAVT": "YES", "XPRL": "NO"})
    assert networked.metrics["AV"] == "L"  # the vulnerability needs local access, whatever the device's network
    assert networked.metrics["PR"] == "L"
    assert "allow up to AV:N" in networked.explanations["AV"]
    assert networked.vector == apply_rubric({}, NVD_LOCAL).vector


def test_analyst_answers_override_model_defaults() -> None:
    result = apply_rubric({"XAVN": "YES", "XAVT": "YES"}, NVD_LOCAL, defaults={"XAVN": "NO"})
    assert result.metrics["AV"] == "N"  # the analyst decides, and may raise
    filled = apply_rubric({"XAVT": "NO", "XAVW": "NO"}, NVD_NETWORK, defaults={"XAVN": "YES"})
    assert filled.metrics["AV"] == "A"  # the default fills the question the analyst left open


def test_default_caps_say_what_the_defaults_can_lower() -> None:
    assert default_caps({}) == {}
    assert default_caps({"XAVN": "NO"}) == {"AV": "L"}
    # networked, login model known, no PHI: nothing can be lowered (unknown grid cells count as HIGH)
    assert default_caps({"XAVN": "YES", "XAVT": "YES", "XPRL": "YES", "XCP": "NO", "XIP": "NONE", "XAP": "NONE"}) == {}
    assert exceeds_caps(NVD_NETWORK, {"AV": "L"})
    assert not exceeds_caps(NVD_LOCAL, {"AV": "L"})
    assert not exceeds_caps(NVD_NETWORK, {})
