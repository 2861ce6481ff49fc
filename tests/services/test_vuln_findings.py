"""Stored vulnerability findings on both databases: lifecycle, idempotency, incremental = full, SBOM + VEX."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from wardwatch.ingest.csaf import read_csaf
from wardwatch.ingest.cyclonedx import read_cyclonedx
from wardwatch.services.intel import FindingFilter, import_intel
from wardwatch.services.inventory_import import import_cmms
from wardwatch.services.vuln_findings import (
    SbomLinkError,
    import_and_match,
    open_findings,
    rematch,
    stored_findings,
)
from wardwatch.settings import Settings
from wardwatch.simulate import generate
from wardwatch.simulate._feeds import write_feeds, write_nvd_delta
from wardwatch.store.schema import vulnerability_findings

INTEL = Path(__file__).parents[1] / "fixtures" / "intel"
CSAF = [INTEL / "csaf" / "icsma-20-170-06.json", INTEL / "csaf" / "icsma-17-017-02.json"]
NARROW = INTEL / "sbom" / "narrow.sbom.json"
EXTENDED = INTEL / "sbom" / "extended.sbom.json"
HEADER = "Asset Tag,Manufacturer,Model,Software Version,Operating System,OS Version,Device Type\n"


def write_cmms(path: Path, pump_version: str) -> Path:
    path.write_text(
        HEADER
        + f"PUMP-OLD,BD,Alaris 8015 PC Unit,{pump_version},,,Infusion Pump\n"
        + "PUMP-NEW,BD,Alaris 8015 PC Unit,12.2,,,Infusion Pump\n"
        + "SPECTRUM-1,Baxter,Sigma Spectrum,8.00.01,,,Infusion Pump\n",
        encoding="utf-8",
    )
    return path


def rows(engine: Engine) -> dict[tuple[int, str, str], dict[str, Any]]:
    with engine.connect() as connection:
        found = connection.execute(select(vulnerability_findings)).mappings().all()
    return {(r["device_id"], r["vulnerability_id"], r["component_ref"]): dict(r) for r in found}


def alaris_cves() -> set[str]:
    return {v.cve for path in CSAF for v in read_csaf(path).vulnerabilities if v.cve}


def test_lifecycle_new_kept_resolved_returns_and_idempotent(engine: Engine, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    cmms = write_cmms(tmp_path / "cmms.csv", "9.19")
    import_cmms(engine, cmms)
    _, _, first = import_and_match(engine, settings, CSAF)
    assert first is not None and first.mode == "full" and first.new > 0
    stored = rows(engine)
    expected = alaris_cves()
    assert {v for (_, v, ref) in stored if ref == ""} == expected
    pump = {f["device"]["asset_tag"] for f in open_findings(engine)}
    assert pump == {"PUMP-OLD"}  # 12.2 is outside every range, the Baxter pump is not in these advisories
    for row in stored.values():
        detail = json.loads(row["detail"])
        assert detail["vulnerability"] == row["vulnerability_id"] and detail["device"]["id"] == row["device_id"]
        assert row["confidence"] == detail["confidence"] == "confirmed"
        assert row["cvss_score"] == detail["cvss"]["score"] and row["cvss_vector"] == detail["cvss"]["vector"]
        assert row["in_kev"] is False and row["resolved_at"] is None and row["suppressed"] is False
        assert row["source"].startswith("csaf:ICSMA-") and row["vex_status"] == "affected"

    # Idempotent: the same match again changes nothing but last_seen.
    again = rematch(engine, settings, full=True)
    assert (again.new, again.updated, again.resolved, again.reopened) == (0, 0, 0, 0)
    assert again.unchanged == len(stored)
    later = rows(engine)
    assert later.keys() == stored.keys()
    for key, row in later.items():
        assert row["first_seen"] == stored[key]["first_seen"] and row["detail"] == stored[key]["detail"]
        assert row["last_seen"] >= stored[key]["last_seen"]
    # Nothing changed: an automatic re-match does no work.
    assert rematch(engine, settings).mode == "unchanged"

    # The pump is upgraded: its findings are resolved (kept, with the time), not deleted.
    import_cmms(engine, write_cmms(tmp_path / "cmms.csv", "12.2"))
    upgraded = rematch(engine, settings)
    assert upgraded.mode == "devices" and upgraded.resolved == len(stored) and upgraded.new == 0
    resolved = rows(engine)
    assert resolved.keys() == stored.keys()
    assert all(row["resolved_at"] is not None for row in resolved.values())
    assert open_findings(engine) == []

    # ... and downgraded again: the same rows come back, first_seen kept, resolved_at cleared.
    import_cmms(engine, write_cmms(tmp_path / "cmms.csv", "9.19"))
    back = rematch(engine, settings)
    assert back.reopened == len(stored) and back.new == 0
    returned = rows(engine)
    for key, row in returned.items():
        assert row["resolved_at"] is None and row["first_seen"] == stored[key]["first_seen"]
        assert row["id"] == stored[key]["id"]
    listed = stored_findings(engine, settings, "PUMP-OLD", FindingFilter(min_cvss=6.0))
    assert {f["vulnerability"] for f in listed} == {
        v for (_, v, _), row in returned.items() if row["cvss_score"] is not None and row["cvss_score"] >= 6.0
    }


def _snapshot(engine: Engine) -> dict[tuple[int, str, str], tuple[Any, ...]]:
    return {
        key: (
            row["detail"],
            row["confidence"],
            row["in_kev"],
            row["epss"],
            row["cvss_score"],
            row["suppressed"],
            row["resolved_at"] is None,
        )  # fmt: skip
        for key, row in rows(engine).items()
        if row["resolved_at"] is None
    }


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small simulated hospital with 2,000 CVEs of feeds and a one-day NVD delta of 120 records."""
    from wardwatch import simulate  # noqa: PLC0415

    out = tmp_path_factory.mktemp("sample")
    hospital = generate("small", 3)
    simulate.write(hospital, out, feeds=False)
    write_feeds(hospital, out, cves=2_000)
    write_nvd_delta(out / "feeds" / "nvd" / "nvdcve-2.0-001.json.gz", out / "delta", records=120, seed=3)
    return out


def test_incremental_after_an_nvd_delta_equals_a_full_match(engine: Engine, tmp_path: Path, sample: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    import_cmms(engine, sample / "cmms_export.csv")
    feeds = sample / "feeds"
    _, links, full = import_and_match(engine, settings, [feeds / "nvd", feeds / "csaf", feeds / "sbom",
                                                         feeds / "known_exploited_vulnerabilities.json"])  # fmt: skip
    assert full is not None and full.mode == "full" and full.found > 0 and links
    before = _snapshot(engine)
    assert any(ref for (_, _, ref) in before)  # SBOM component findings of the linked models

    delta = sorted((sample / "delta").iterdir())
    _, _, incremental = import_and_match(engine, settings, delta)
    assert incremental is not None and incremental.mode == "incremental"
    assert incremental.vulnerabilities == 120  # only the changed records were recomputed
    assert incremental.new + incremental.resolved + incremental.updated > 0
    after_incremental = _snapshot(engine)
    assert after_incremental != before

    recomputed = rematch(engine, settings, full=True)
    assert (recomputed.new, recomputed.updated, recomputed.resolved) == (0, 0, 0)
    assert _snapshot(engine) == after_incremental

    # the same delta again is not new content: nothing is recomputed
    import_intel(settings, delta)
    assert rematch(engine, settings).mode == "unchanged"


def _nvd_wolfssl(path: Path) -> Path:
    record = {
        "id": "CVE-2022-25638",
        "sourceIdentifier": "cve@mitre.org",
        "published": "2022-02-24T15:15:00.000",
        "lastModified": "2024-11-21T06:52:00.000",
        "vulnStatus": "Modified",
        "descriptions": [{"lang": "en", "value": "In wolfSSL before 5.2.0, certificate validation may be bypassed."}],
        "metrics": {"cvssMetricV31": [{"source": "nvd@nist.gov", "type": "Primary", "cvssData": {
            "version": "3.1", "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:N", "baseScore": 7.5,
            "baseSeverity": "HIGH"}}]},
        "configurations": [{"nodes": [{"operator": "OR", "negate": False, "cpeMatch": [
            {"vulnerable": True, "criteria": "cpe:2.3:a:wolfssl:wolfssl:*:*:*:*:*:*:*:*",
             "versionEndExcluding": "5.2.0", "matchCriteriaId": "B5C2E2B6-4E05-4C5B-9C8F-000000000001"}]}]}],
        "references": [{"url": "https://github.com/wolfSSL/wolfssl/releases/tag/v5.2.0-stable"}],
    }  # fmt: skip
    document = {"resultsPerPage": 1, "startIndex": 0, "totalResults": 1, "format": "NVD_CVE", "version": "2.0",
                "timestamp": "2024-11-21T07:00:00.000", "vulnerabilities": [{"cve": record}]}  # fmt: skip
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        json.dump(document, handle)
    return path


def _vex(path: Path, ref: str) -> Path:
    document = {
        "bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
        "metadata": {"timestamp": "2025-01-01T00:00:00Z", "supplier": {"name": "BD"}},
        "vulnerabilities": [{"id": "CVE-2022-25638", "analysis": {"state": "not_affected",
                             "justification": "code_not_reachable"}, "affects": [{"ref": ref}]}],
    }  # fmt: skip
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_sbom_components_of_linked_models_with_vex_per_component(engine: Engine, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    import_cmms(engine, write_cmms(tmp_path / "cmms.csv", "9.19"))
    nvd = _nvd_wolfssl(tmp_path / "wolfssl.json.gz")
    narrow_ref = next(c.ref for c in read_cyclonedx(NARROW).components if c.name == "WolfSSL")
    extended_ref = next(c.ref for c in read_cyclonedx(EXTENDED).components if c.name == "WolfSSL")

    _, links, _ = import_and_match(engine, settings, [NARROW], model="BD Alaris 8015 PC Unit")
    assert links == [(f"cyclonedx/{links[0][0].split('/')[1]}", "BD", "Alaris 8015 PC Unit")]
    _, links, _ = import_and_match(engine, settings, [EXTENDED], model="Sigma Spectrum", manufacturer="Baxter")
    assert [link[1:] for link in links] == [("Baxter", "Sigma Spectrum")]
    _, _, matched = import_and_match(engine, settings, [nvd, _vex(tmp_path / "vex.json", narrow_ref)])
    assert matched is not None and matched.mode == "full"

    found = {(f["device"]["asset_tag"], f["component"]): f for f in open_findings(engine)}
    # every device of the linked models has the component's finding, whatever its own software version
    assert set(found) == {("PUMP-OLD", narrow_ref), ("PUMP-NEW", narrow_ref), ("SPECTRUM-1", extended_ref)}
    for (_, ref), finding in found.items():
        assert finding["vulnerability"] == "CVE-2022-25638" and finding["confidence"] == "confirmed"
        assert finding["source"] == f"sbom:{ref}" and finding["cvss"]["score"] == 7.5
    # the manufacturer's not_affected is about the pump's WolfSSL only
    pump = found[("PUMP-OLD", narrow_ref)]
    assert pump["suppressed"] and pump["vex_status"] == "not_affected" and pump["vex_justification"]
    spectrum = found[("SPECTRUM-1", extended_ref)]
    assert not spectrum["suppressed"] and spectrum["vex_status"] is None
    listed = stored_findings(engine, settings)
    assert [(f["device"]["asset_tag"], f["component"]) for f in listed] == [("SPECTRUM-1", extended_ref)]
    hidden = stored_findings(engine, settings, filters=FindingFilter(status="not_affected"))
    assert {f["device"]["asset_tag"] for f in hidden} == {"PUMP-OLD", "PUMP-NEW"}
    stored = rows(engine)
    assert {key[2] for key in stored} == {narrow_ref, extended_ref}
    assert all(row["suppressed"] == (row["component_ref"] == narrow_ref) for row in stored.values())


def test_bad_model_names_say_what_to_do(engine: Engine, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    with pytest.raises(SbomLinkError, match="--manufacturer"):
        import_and_match(engine, settings, [NARROW], model="Frobnicator 3000")
    with pytest.raises(SbomLinkError, match="manufacturer and the model"):
        import_and_match(engine, settings, [NARROW], model="Alaris")
    assert not (settings.home / "intel").exists()  # nothing stored


def test_rematch_of_some_devices_and_vulnerabilities_leaves_the_rest(engine: Engine, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    import_cmms(engine, write_cmms(tmp_path / "cmms.csv", "9.19"))
    import_and_match(engine, settings, CSAF)
    before = rows(engine)
    pump = next(key[0] for key in before)
    one = sorted(alaris_cves())[0]
    report = rematch(engine, settings, device_ids=[pump], vulnerability_ids=[one])
    assert (report.found, report.unchanged, report.resolved, report.new) == (1, 1, 0, 0)
    after = rows(engine)
    assert after.keys() == before.keys() and all(row["resolved_at"] is None for row in after.values())
    assert after[(pump, one, "")]["last_seen"] >= before[(pump, one, "")]["last_seen"]
    untouched = [key for key in before if key[1] != one]
    assert untouched and all(after[key]["last_seen"] == before[key]["last_seen"] for key in untouched)
