"""``wardwatch intel import`` and ``wardwatch findings`` end to end: CMMS inventory × CSAF/KEV/NVD intelligence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from wardwatch.cli.app import app
from wardwatch.ingest.csaf import read_csaf

INTEL = Path(__file__).parents[1] / "fixtures" / "intel"
CSAF = [INTEL / "csaf" / "icsma-20-170-06.json", INTEL / "csaf" / "icsma-17-017-02.json"]
KEV = INTEL / "kev" / "kev_2025-08-25_trimmed.json"
NVD_ETERNALBLUE = INTEL / "nvd" / "CVE-2017-0144.json"

CMMS_CSV = """Asset Tag,Manufacturer,Model,Software Version,Operating System,OS Version,Device Type
PUMP-OLD,BD,Alaris 8015 PC Unit,9.19,,,Infusion Pump
PUMP-NEW,BD,Alaris 8015 PC Unit,12.2,,,Infusion Pump
WS-1,Philips,IntelliSpace Workstation,,Windows 7,SP1,Workstation
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WARDWATCH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("WARDWATCH_DATABASE_URL", raising=False)
    return tmp_path / "home"


def invoke(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def stored(home: Path) -> dict[str, bytes]:
    root = home / "intel"
    if not root.exists():
        return {}
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def findings(*args: str) -> list[dict[str, Any]]:
    code, out, err = invoke("findings", "--json", *args)
    assert code == 0, err
    document = json.loads(out)
    assert document["total"] == len(document["findings"])
    return list(document["findings"])


def alaris_cves() -> set[str]:
    """The CVEs the two BD Alaris advisories name (read from the fixtures, not hard-coded)."""
    cves: set[str] = set()
    for path in CSAF:
        advisory = read_csaf(path)
        assert any("Alaris" in (p.name or "") and "BD" in (p.vendor or "") for p in advisory.products)
        cves |= {v.cve for v in advisory.vulnerabilities if v.cve}
    return cves


@pytest.fixture
def inventory(home: Path, tmp_path: Path) -> None:
    assert invoke("init")[0] == 0
    cmms = tmp_path / "cmms.csv"
    cmms.write_text(CMMS_CSV, encoding="utf-8")
    code, _, err = invoke("inventory", "import", cmms)
    assert code == 0, err


@pytest.mark.usefixtures("inventory")
def test_import_then_findings_for_the_affected_pump_only(home: Path) -> None:
    code, out, err = invoke("intel", "import", *CSAF, KEV)
    assert code == 0, err
    assert "csaf: 2 file(s), 2 new" in out and "kev: 1 file(s), 1 new, 20 record(s)" in out
    expected = alaris_cves()
    assert len(expected) >= 3

    every = findings()
    old = [f for f in every if f["device"]["asset_tag"] == "PUMP-OLD"]
    assert {f["vulnerability"] for f in old} == expected
    for finding in old:
        assert finding["confidence"] == "confirmed"
        assert finding["source"].startswith("csaf:ICSMA-")
        assert finding["advisories"] and finding["vex_status"] == "affected" and not finding["suppressed"]
        assert any(r["category"] == "vendor_fix" for r in finding["remediation"])
        assert finding["cvss"]["vector"].startswith("CVSS:3") and finding["cvss"]["score"] > 0
        assert finding["evidence"] and finding["device"]["software_version"] == "9.19"
        assert finding["kev"] is None  # the Alaris CVEs are not in KEV
    assert not [f for f in every if f["device"]["asset_tag"] == "PUMP-NEW"]  # 12.2 is outside every range

    # filters
    assert {f["vulnerability"] for f in findings("--device", "PUMP-OLD")} == expected
    assert findings("--device", "PUMP-NEW") == []
    assert findings("--confidence", "potential") == []
    assert findings("--kev") == []
    assert findings("--status", "not_affected") == []
    high = {f["vulnerability"] for f in old if f["cvss"]["score"] >= 6.0}
    assert {f["vulnerability"] for f in findings("--min-cvss", "6")} == high != expected

    # the table names the device, the CVEs and the remediation
    code, out, _ = invoke("findings", "--device", "PUMP-OLD")
    assert code == 0 and "confirmed" in out and f"{len(expected)} findings" in out


@pytest.mark.usefixtures("inventory")
def test_kev_filter_with_nvd_and_kev(home: Path) -> None:
    assert invoke("intel", "import", NVD_ETERNALBLUE, KEV)[0] == 0
    found = findings("--kev")
    assert [(f["device"]["asset_tag"], f["vulnerability"]) for f in found] == [("WS-1", "CVE-2017-0144")]
    assert found[0]["kev"]["date_added"] and found[0]["source"] == "nvd"
    assert findings("--kev", "--device", "PUMP-OLD") == []


@pytest.mark.usefixtures("inventory")
def test_reimport_changes_nothing(home: Path) -> None:
    assert invoke("intel", "import", *CSAF, KEV)[0] == 0
    before = stored(home)
    assert len(before) == 3 and all(name.split("/")[0] in ("csaf", "kev") for name in before)
    first = findings()
    code, out, _ = invoke("intel", "import", *CSAF, KEV, "--json")
    assert code == 0
    report = json.loads(out)
    assert report["total"] == 3 and report["new"] == 0
    assert stored(home) == before
    assert findings() == first


@pytest.mark.usefixtures("inventory")
def test_bad_file_exits_2_with_one_line_and_stores_nothing(home: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_bytes(CSAF[0].read_bytes()[:1500])  # a truncated CSAF document
    code, out, err = invoke("intel", "import", CSAF[1], broken)
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "broken.json" in lines[0]
    assert "Traceback" not in out + err
    assert stored(home) == {}  # the good file given with it was not stored either
    assert findings() == []

    unknown = tmp_path / "hello.json"
    unknown.write_text('{"hello": "world"}', encoding="utf-8")
    code, _, err = invoke("intel", "import", unknown)
    assert code == 2 and "hello.json" in err and "not a recognised" in err
    assert invoke("intel", "import", tmp_path / "missing.json")[0] == 2
    assert invoke("findings", "--status", "bogus")[0] == 2
    assert invoke("findings", "--device", "nope")[0] == 2
    assert stored(home) == {}


def test_folder_import_walks_and_skips_non_intelligence(home: Path) -> None:
    assert invoke("init")[0] == 0
    code, out, err = invoke("intel", "import", INTEL / "csaf", INTEL / "kev", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["by_kind"]["csaf"]["files"] == 5
    assert report["by_kind"]["kev"] == {"files": 2, "new": 2, "records": 40}  # JSON and CSV forms
    assert report["skipped"] == []  # README.md files are not even considered
    assert findings() == []  # no devices yet


def test_a_feed_json_schema_beside_the_feed_is_skipped_not_fatal(home: Path, tmp_path: Path) -> None:
    # CISA publishes known_exploited_vulnerabilities_schema.json next to the catalog; it names the same keys.
    folder = tmp_path / "cisa-kev"
    folder.mkdir()
    (folder / "kev.json").write_bytes(KEV.read_bytes())
    (folder / "known_exploited_vulnerabilities_schema.json").write_text(
        '{"$schema": "http://json-schema.org/draft-07/schema#", "properties": {"catalogVersion": {"type": "string"},'
        ' "vulnerabilities": {"items": {"properties": {"cveID": {"type": "string"}}}}}}'
    )
    code, out, err = invoke("intel", "import", folder, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["by_kind"]["kev"]["files"] == 1
    assert [Path(p).name for p in report["skipped"]] == ["known_exploited_vulnerabilities_schema.json"]


def test_sbom_linked_by_model_and_intel_match(home: Path, tmp_path: Path) -> None:
    assert invoke("init")[0] == 0
    narrow = INTEL / "sbom" / "narrow.sbom.json"
    code, out, err = invoke("intel", "import", narrow, "--model", "BD Alaris 8015 PC Unit", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert [(s["manufacturer"], s["model"]) for s in report["sbom_links"]] == [("BD", "Alaris 8015 PC Unit")]
    assert report["match"]["mode"] == "full" and report["match"]["found"] == 0  # no devices yet
    # the inventory arrives after the intelligence: `findings` re-matches the new devices first
    cmms = tmp_path / "cmms.csv"
    cmms.write_text(CMMS_CSV, encoding="utf-8")
    assert invoke("inventory", "import", cmms)[0] == 0
    assert invoke("intel", "import", *CSAF)[0] == 0
    assert {f["vulnerability"] for f in findings("--device", "PUMP-OLD")} == alaris_cves()
    code, out, _ = invoke("intel", "match", "--json")
    assert code == 0 and json.loads(out)["mode"] == "unchanged"
    code, out, _ = invoke("intel", "match", "--full", "--json")
    full = json.loads(out)
    assert code == 0 and full["mode"] == "full" and full["new"] == 0 and full["unchanged"] == full["found"] > 0
    code, out, _ = invoke("intel", "match")
    assert code == 0 and "matched (unchanged)" in out
    code, _, err = invoke("intel", "import", narrow, "--model", "Frobnicator 3000")
    assert code == 2 and "--manufacturer" in err and "Traceback" not in err
