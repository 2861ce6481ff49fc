"""The packaged risk policy: it loads, agrees with the SSVC policy of the same version, and bad data is named."""

from __future__ import annotations

import copy
from importlib import resources
from typing import Any

import pytest
import yaml

from wardwatch.domain.risk_policy import RiskPolicyError, policy_from_mapping
from wardwatch.domain.ssvc import POLICIES
from wardwatch.services.risk_policy import available_versions, load_policy


def _data() -> dict[str, Any]:
    text = resources.files("wardwatch.data").joinpath("risk/policy-2026.1.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def test_packaged_policy_loads_and_matches_the_ssvc_policy_of_its_version() -> None:
    assert "2026.1" in available_versions()
    policy = load_policy()
    assert policy.version == available_versions()[-1]
    ssvc = POLICIES[policy.version]
    assert policy.ssvc.epss_threshold == ssvc.epss_threshold
    assert policy.ssvc.human_impact_table is ssvc.human_impact_table
    assert policy.ssvc.mission_thresholds == ssvc.mission_thresholds


def test_matrix_is_monotonic() -> None:
    """A worse severity or likelihood never gives a lower level."""
    policy = load_policy()
    for s in range(1, 6):
        for p in range(1, 6):
            rank = policy.cell(s, p).rank
            if s < 5:
                assert policy.cell(s + 1, p).rank >= rank
            if p < 5:
                assert policy.cell(s, p + 1).rank >= rank


def test_unknown_version_is_named() -> None:
    with pytest.raises(RiskPolicyError, match="1999.1.*available: "):
        load_policy("1999.1")


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("likelihood", "exploitation", "active"), 7, "likelihood.exploitation.active = 7 must be a whole number"),
        (("matrix", "rows"), [["low"] * 5] * 4, "matrix.rows must be 5 rows"),
        (("ssvc", "human_impact_table"), "mine", "allowed: definition-consistent, published"),
        (("ssvc", "epss_threshold"), 2, "between 0 and 1"),
        (("severity", "phi"), {"handles": 3}, "severity.phi.cleartext' is missing"),
        (("controls", "monitoring"), {"text": "x"}, "controls.monitoring needs a reduction"),
    ],
)
def test_bad_policy_data_names_the_field(path: tuple[str, ...], value: Any, message: str) -> None:
    data = copy.deepcopy(_data())
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(RiskPolicyError, match=message.replace("(", r"\(").replace(")", r"\)")):
        policy_from_mapping(data)


def test_a_bad_matrix_cell_is_named() -> None:
    data = copy.deepcopy(_data())
    data["matrix"]["rows"][2][3] = "severe"
    with pytest.raises(RiskPolicyError, match=r"matrix.rows\[3\]\[4\] = 'severe'"):
        policy_from_mapping(data)
