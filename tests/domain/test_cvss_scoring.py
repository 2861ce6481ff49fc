"""CVSS scoring through the ``cvss`` library: reference scores, prefixes, v4.0 Safety, errors."""

from __future__ import annotations

import pytest

from wardwatch.domain.cvss_scoring import CvssError, normalise_vector, score, severity

V4_EXAMPLE = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"


def test_v31_reference_score() -> None:
    result = score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")
    assert (result.version, result.base, result.environmental, result.severity) == ("3.1", 9.8, 9.8, "Critical")


def test_bare_vector_gets_the_31_prefix() -> None:
    result = score("AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")
    assert result.vector == "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
    assert result.base == 9.8


def test_bare_vector_default_version_and_v4_detection() -> None:
    assert normalise_vector("AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "3.0")[0] == "3.0"
    assert normalise_vector(V4_EXAMPLE.removeprefix("CVSS:4.0/")) == ("4.0", V4_EXAMPLE)


def test_v30_scope_changed_is_capped_at_10() -> None:
    # METHODS.md 1.3 defect 4: the calculator's own formula gives 10.8 here.
    assert score("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H").base == 10.0


def test_v3_temporal_and_environmental() -> None:
    result = score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/CR:L")
    assert (result.base, result.temporal, result.environmental) == (9.8, 9.3, 9.0)


def test_v40_reference_score() -> None:
    result = score(V4_EXAMPLE)
    assert (result.version, result.base, result.environmental, result.temporal) == ("4.0", 9.3, 9.3, None)
    assert result.safety is None


@pytest.mark.parametrize("value", ["N", "P"])
def test_v40_supplemental_safety_accepted_and_does_not_change_the_score(value: str) -> None:
    result = score(f"{V4_EXAMPLE}/S:{value}")
    assert result.safety == value
    assert result.environmental == 9.3


def test_v40_msi_safety_raises_the_environmental_score() -> None:
    result = score(f"{V4_EXAMPLE}/MSI:S")
    assert result.base == 9.3
    assert result.environmental == 10.0


@pytest.mark.parametrize(
    "vector",
    [
        "",
        "AV:N/AC:L",
        "CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        "CVSS:4.0/AV:N",
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/S:Q",
        "CVSS:2.0/AV:N/AC:L/Au:N/C:C/I:C/A:C",
    ],
)
def test_invalid_vector_raises_cvss_error(vector: str) -> None:
    with pytest.raises(CvssError, match="CVSS"):
        score(vector)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.0, "None"), (0.1, "Low"), (3.9, "Low"), (4.0, "Medium"), (6.9, "Medium"), (7.0, "High"), (9.0, "Critical")],
)
def test_severity_bands(value: float, expected: str) -> None:
    assert severity(value) == expected
