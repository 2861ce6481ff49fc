"""Reading OpenVEX: one statement per (vulnerability, product[, subcomponent]), document author and time."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from wardwatch.domain.intel import VexStatus
from wardwatch.ingest.errors import IngestError
from wardwatch.ingest.openvex import read_openvex

SBOM = Path(__file__).parents[1] / "fixtures" / "intel" / "sbom"


def test_statements_per_vulnerability_and_product() -> None:
    statements = read_openvex(SBOM / "openvex-example.json")
    assert [(s.vulnerability, s.product, s.status) for s in statements] == [
        ("CVE-2014-123456", "pkg:apk/distro/git@2.39.0-r1?arch=armv7", VexStatus.FIXED),
        ("CVE-2014-123456", "pkg:apk/distro/git@2.39.0-r1?arch=x86_64", VexStatus.FIXED),
        ("CVE-2023-1255", "pkg:apk/wolfi/openssl@3.1.0-r0", VexStatus.NOT_AFFECTED),
        ("CVE-2023-1255", "pkg:apk/wolfi/libcrypto3@3.1.0-r0", VexStatus.NOT_AFFECTED),
        ("https://github.com/advisories/GHSA-xxxx-yyyy-zzzz", "cpe:2.3:a:example:pump_server:4.2:*:*:*:*:*:*:*",
         VexStatus.AFFECTED),
        ("CVE-2024-0001", "pkg:generic/example/pump-firmware@4.2", VexStatus.UNDER_INVESTIGATION),
    ]  # fmt: skip
    first, ssl = statements[0], statements[2]
    assert first.author == "Wolfi J Inkinson"
    assert first.timestamp == datetime(2023, 1, 8, 18, 2, 3, 647787, tzinfo=timezone(timedelta(hours=-6)))
    assert ssl.timestamp == datetime(2023, 6, 1, 10, 0, tzinfo=UTC)  # the statement's own time wins
    assert ssl.justification == "vulnerable_code_not_in_execute_path"
    assert ssl.impact is not None and "AES-XTS" in ssl.impact
    assert statements[4].action is not None and statements[4].action.startswith("Upgrade the pump server")


def test_v001_plain_strings(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    path.write_text(json.dumps({
        "@context": "https://openvex.dev/ns",
        "author": "Acme",
        "statements": [{"vulnerability": "CVE-2022-0001", "products": ["pkg:generic/a@1", "pkg:generic/b@2"],
                        "status": "not_affected", "justification": "component_not_present"}],
    }))  # fmt: skip
    statements = read_openvex(path)
    assert [s.product for s in statements] == ["pkg:generic/a@1", "pkg:generic/b@2"]
    assert statements[0].timestamp is None


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ({"vulnerability": {"name": "CVE-1"}, "products": [{"@id": "x"}], "status": "patched"},
         r"statements\[0\]\.status: 'patched' is not an OpenVEX status"),
        ({"vulnerability": {}, "products": [{"@id": "x"}], "status": "fixed"},
         r"statements\[0\]\.vulnerability: is missing a name or @id"),
        ({"vulnerability": {"name": "CVE-1"}, "status": "fixed"}, r"statements\[0\]\.products: is missing or empty"),
        ({"vulnerability": {"name": "CVE-1"}, "products": [{"hashes": {}}], "status": "fixed"},
         r"statements\[0\]\.products\[0\]\.@id: is missing"),
        ({"vulnerability": {"name": "CVE-1"}, "products": [{"@id": "x"}], "status": "fixed", "timestamp": "soon"},
         r"statements\[0\]\.timestamp: 'soon' is not an ISO 8601 timestamp"),
    ],
)  # fmt: skip
def test_bad_statements_are_named(tmp_path: Path, statement: dict[str, object], message: str) -> None:
    path = tmp_path / "vex.json"
    path.write_text(json.dumps({"@context": "https://openvex.dev/ns/v0.2.0", "statements": [statement]}))
    with pytest.raises(IngestError, match=message):
        read_openvex(path)


def test_wrong_format_truncation_and_size(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="not an OpenVEX document: it looks like a CycloneDX 1.4 JSON BOM"):
        read_openvex(SBOM / "cdx-vex-case-13.json")
    csaf = tmp_path / "csaf.json"
    csaf.write_text(json.dumps({"document": {"csaf_version": "2.0", "category": "csaf_vex"}}))
    with pytest.raises(IngestError, match="it looks like a CSAF advisory"):
        read_openvex(csaf)
    cut = tmp_path / "cut.json"
    cut.write_text((SBOM / "openvex-example.json").read_text()[:500])
    with pytest.raises(IngestError, match="not valid JSON"):
        read_openvex(cut)
    with pytest.raises(IngestError, match="over the 64-byte limit"):
        read_openvex(SBOM / "openvex-example.json", max_bytes=64)
