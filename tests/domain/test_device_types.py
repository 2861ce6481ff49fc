"""Device-type classification against the shipped taxonomy and the real FDA product classification table."""

from __future__ import annotations

import time

import pytest

from wardwatch.domain.device_types import (
    CONFIDENCE_FDA_NAME_MAX,
    CONFIDENCE_KEYWORD,
    CONFIDENCE_PRODUCT_CODE,
    DeviceTypeClassifier,
)
from wardwatch.domain.inventory import Criticality
from wardwatch.reference import _device_types_document, _fda_rows, device_type_classifier, fda_product_codes


@pytest.fixture(scope="module")
def classifier() -> DeviceTypeClassifier:
    return device_type_classifier()


def fresh() -> DeviceTypeClassifier:
    return DeviceTypeClassifier.from_data(_device_types_document()["types"], _fda_rows())


def criticality_of(classifier: DeviceTypeClassifier, text: str) -> Criticality | None:
    result = classifier.classify(text)
    assert result is not None
    assert result.device_type is not None
    device_type = classifier.get(result.device_type)
    assert device_type is not None
    return device_type.profile.criticality


def test_product_code_frn_is_an_infusion_pump_with_its_fda_class(classifier: DeviceTypeClassifier) -> None:
    row = next(r for r in _fda_rows() if r["product_code"] == "FRN")
    result = classifier.classify(None, product_code=" frn ")
    assert result is not None
    assert result.device_type == "infusion-pump"
    assert result.fda_product_code == "FRN"
    assert result.fda_class == row["device_class"] == "2"
    assert result.fda_device_name == row["device_name"]
    assert result.confidence == CONFIDENCE_PRODUCT_CODE
    assert result.reason == "product code FRN given in the export"


def test_product_code_wins_over_the_description(classifier: DeviceTypeClassifier) -> None:
    result = classifier.classify("Ventilator", product_code="MEA")
    assert result is not None
    assert result.device_type == "pca-pump"


def test_code_outside_the_taxonomy_keeps_its_fda_identity(classifier: DeviceTypeClassifier) -> None:
    assert "BRW" not in classifier._type_by_code
    result = classifier.classify(None, product_code="BRW")
    assert result is not None
    assert result.fda_product_code == "BRW"
    assert result.fda_device_name == fda_product_codes()["BRW"].device_name
    assert result.device_type == "other"


def test_unknown_product_code_is_reported_not_invented(classifier: DeviceTypeClassifier) -> None:
    assert "ZZZ" not in fda_product_codes()
    bare = classifier.classify("Quantum widget", product_code="ZZZ")
    assert bare is not None
    assert bare.unknown_product_code == "ZZZ"
    assert (bare.device_type, bare.fda_product_code, bare.fda_class) == (None, None, None)
    assert "ZZZ" in bare.reason

    with_text = classifier.classify("Infusion Pump", product_code="ZZZ")
    assert with_text is not None
    assert with_text.device_type == "infusion-pump"
    assert with_text.fda_product_code is None
    assert with_text.unknown_product_code == "ZZZ"


def test_keyword_in_description(classifier: DeviceTypeClassifier) -> None:
    result = classifier.classify("IV Infusion Pump")
    assert result is not None
    assert result.device_type == "infusion-pump"
    assert result.confidence == CONFIDENCE_KEYWORD
    assert result.reason == "keyword 'infusion' in 'IV Infusion Pump'"
    assert result.fda_product_code is None


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("PCA Infusion Pump", "pca-pump"),
        ("Syringe infusion pump", "syringe-pump"),
        ("Insulin Pump", "insulin-pump"),
        ("Blood Gas Analyzer", "blood-gas-analyzer"),
        ("Monitor/Defibrillator", "defibrillator"),
        ("Telemetry central station", "central-station"),
        ("X-RAY, PORTABLE", "x-ray"),
        ("CT scanner", "ct-scanner"),
        ("Anesthesia Workstation", "anesthesia-machine"),
    ],
)
def test_specific_types_win_over_generic_ones(classifier: DeviceTypeClassifier, text: str, slug: str) -> None:
    result = classifier.classify(text)
    assert result is not None
    assert result.device_type == slug


def test_model_family_when_the_description_says_nothing(classifier: DeviceTypeClassifier) -> None:
    result = classifier.classify("Asset 1234", model="Alaris 8015 PC Unit")
    assert result is not None
    assert result.device_type == "infusion-pump"
    assert "alaris" in result.reason


def test_fda_style_names_match_in_any_word_order(classifier: DeviceTypeClassifier) -> None:
    row = fda_product_codes()["BRT"]
    assert row.device_name == "Restraint, Patient, Conductive"
    assert classifier._match(classifier._patterns, row.device_name) is None  # no keyword: fallback decides
    for text in (row.device_name, "conductive patient restraints"):
        result = classifier.classify(text)
        assert result is not None
        assert result.fda_product_code == "BRT"
        assert result.reason.startswith("closest FDA name 'Restraint, Patient, Conductive'")
        assert 0 < result.confidence <= CONFIDENCE_FDA_NAME_MAX


def test_fda_name_fallback_is_deterministic_on_ties() -> None:
    # "Warmer, Blood" overlaps two real FDA names equally; two independent classifiers agree.
    first, second = fresh().classify("Warmer, Blood"), fresh().classify("Warmer, Blood")
    assert first is not None
    assert first == second
    assert first.fda_device_name is not None
    assert first.fda_device_name.startswith("Warmer, Blood")


@pytest.mark.parametrize("text", ["Quantum flux capacitor", "Pump", "", "   ", None])
def test_weak_overlap_or_nothing_gives_none(classifier: DeviceTypeClassifier, text: str | None) -> None:
    assert classifier.classify(text) is None


@pytest.mark.parametrize(
    ("text", "criticality"),
    [
        ("Ventilator, ICU", Criticality.LIFE_SUSTAINING),
        ("Hemodialysis machine", Criticality.LIFE_SUPPORTING),
        ("Anesthesia Machine", Criticality.LIFE_SUPPORTING),
        ("Large volume infusion pump", Criticality.THERAPEUTIC),
        ("Bedside patient monitor", Criticality.MONITORING),
        ("MRI 3T", Criticality.DIAGNOSTIC),
        ("Label printer", Criticality.NON_CLINICAL),
    ],
)
def test_default_criticality(classifier: DeviceTypeClassifier, text: str, criticality: Criticality) -> None:
    assert criticality_of(classifier, text) is criticality


def test_high_risk_defaults(classifier: DeviceTypeClassifier) -> None:
    for slug in ("ventilator", "defibrillator", "infusion-pump", "anesthesia-machine", "dialysis-machine"):
        device_type = classifier.get(slug)
        assert device_type is not None
        assert device_type.profile.high_risk is True, slug
    for slug in ("printer", "workstation", "network-device"):
        device_type = classifier.get(slug)
        assert device_type is not None
        assert device_type.profile.high_risk is False, slug


def test_a_type_code_missing_from_the_fda_table_is_rejected() -> None:
    types = [{"slug": "x", "label": "X", "fda_product_codes": ["ZZZ"], "criticality": None}]
    with pytest.raises(ValueError, match="ZZZ"):
        DeviceTypeClassifier.from_data(types, _fda_rows())


def test_a_code_in_two_types_is_rejected() -> None:
    types = [
        {"slug": "a", "label": "A", "fda_product_codes": ["FRN"]},
        {"slug": "b", "label": "B", "fda_product_codes": ["FRN"]},
    ]
    with pytest.raises(ValueError, match="both"):
        DeviceTypeClassifier.from_data(types, _fda_rows())


def test_duplicate_slugs_are_rejected() -> None:
    types = [{"slug": "a", "label": "A"}, {"slug": "a", "label": "A again"}]
    with pytest.raises(ValueError, match="duplicate"):
        DeviceTypeClassifier.from_data(types, _fda_rows())


def test_unknown_criticality_is_rejected() -> None:
    with pytest.raises(ValueError, match="critical-ish"):
        DeviceTypeClassifier.from_data([{"slug": "a", "label": "A", "criticality": "critical-ish"}], [])


def test_classify_is_cached_and_fast() -> None:
    classifier = fresh()
    texts = [f"IV infusion pump bay {i}" for i in range(300)] + [f"Widget {i}" for i in range(300)]
    rows = [(texts[i % len(texts)], "FRN" if i % 7 == 0 else None) for i in range(200_000)]
    started = time.perf_counter()
    for text, code in rows:
        classifier.classify(text, code)
    assert time.perf_counter() - started < 1.0
    assert classifier.classify(*rows[0]) is classifier.classify(*rows[0])


def test_unlisted_code_takes_its_type_from_medical_keywords_in_its_fda_name(
    classifier: DeviceTypeClassifier,
) -> None:
    row = fda_product_codes()["MRZ"]
    assert "MRZ" not in classifier._type_by_code
    result = classifier.classify(None, product_code="MRZ")
    assert result is not None
    assert result.device_type == "infusion-pump"
    assert row.device_name in result.reason


def test_it_keywords_are_not_read_into_fda_names(classifier: DeviceTypeClassifier) -> None:
    # "Computer, Diagnostic, Programmable" holds the workstation keyword "computer" but is a medical device.
    assert "computer" in fda_product_codes()["DQK"].device_name.casefold()
    result = classifier.classify(None, product_code="DQK")
    assert result is not None
    assert result.device_type == "other"
