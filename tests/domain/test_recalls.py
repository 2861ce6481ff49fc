"""Recall matching: product code AND (model number named OR model name in the description)."""

from __future__ import annotations

import doctest

import pytest

from wardwatch.domain import recalls as recalls_module
from wardwatch.domain.intel import Recall
from wardwatch.domain.recalls import recalls_for

# The texts are real FDA recall records (tests/fixtures/intel/openfda); the product codes are what a CMMS
# would hold for these devices (JAK: computed tomography x-ray system; MUU: lipoplasty suction system).
CT = Recall(
    recall_number="Z-1791-2012",
    product_code="JAK",
    manufacturer="Philips Medical Systems (Cleveland) Inc., Cleveland, OH, by letter dated May 8, 2012.",
    product_description="The Brilliance iCT and iCT SP are Computed Tomography X-Ray Systems ... Brilliance iCT: "
    "Model# 728306 Brilliance iCT SP: Model# 728311. Recall # Z-1791-2012",
    reason="Philips is issuing a software update (version 3.2.4)",
    classification="Class II",
    status=None,
    posted=None,
    model_numbers=("728306", "728311"),
)
LIPO = Recall(
    recall_number="Z-1792-2012",
    product_code="MUU",
    manufacturer="MicroAire Surgical Instruments, LLC, Charlottesville, VA",
    product_description="Lipofilter 3000, model ASP-CAN-2, labeled in part ***Product Usage: A fat collection canister",
    reason=None,
    classification="Class II",
    status=None,
    posted=None,
    model_numbers=("ASP-CAN-2",),
)
NO_FIRM = Recall("Z-1-2020", "JAK", None, "Brilliance 64 CT scanner", None, None, None, None)
ALL = [CT, LIPO, NO_FIRM]


def test_model_number_named() -> None:
    assert recalls_for("728311", "Philips", "jak", ALL) == [
        (CT, "product code JAK; model number '728311' named by recall Z-1791-2012")
    ]
    assert recalls_for("asp can 2", None, "MUU", ALL) == [
        (LIPO, "product code MUU; model number 'ASP-CAN-2' named by recall Z-1792-2012")
    ]


def test_model_name_in_description() -> None:
    assert recalls_for("Brilliance iCT SP", "Philips Healthcare", "JAK", ALL) == [
        (CT, "product code JAK; model name 'Brilliance iCT SP' in the product description of recall Z-1791-2012")
    ]
    # "Brilliance" is in both; the recall without a firm is not excluded by the manufacturer.
    assert [r for r, _ in recalls_for("Brilliance", "Philips", "JAK", ALL)] == [CT, NO_FIRM]


@pytest.mark.parametrize(
    ("model", "manufacturer", "code"),
    [
        ("728311", "Philips", "MUU"),  # another product code
        ("728311", "Philips", None),  # no product code: never matches
        ("728311", "Philips", "  "),
        ("728311", "Siemens Healthineers", "JAK"),  # another firm
        ("Brilliance 16", None, "JAK"),  # words not in this order
        ("iC", None, "JAK"),  # too short to look for in a description
        ("---", None, "JAK"),  # nothing left after normalisation
        ("Lipofilter 300", None, "MUU"),  # whole words only: 300 is not 3000
    ],
)
def test_no_match(model: str, manufacturer: str | None, code: str | None) -> None:
    assert recalls_for(model, manufacturer, code, ALL) == []


def test_manufacturer_made_only_of_noise_words_does_not_filter() -> None:
    assert [r for r, _ in recalls_for("728306", "Inc.", "JAK", ALL)] == [CT]


def test_recall_without_product_code_is_skipped() -> None:
    uncoded = Recall("Z-2-2020", None, None, "Brilliance iCT", None, None, None, None, model_numbers=("728306",))
    assert recalls_for("728306", None, "JAK", [uncoded]) == []


def test_doctests() -> None:
    assert doctest.testmod(recalls_module).failed == 0
