"""Vulnerability feeds of the simulator: every file loads with Wardwatch's real readers, byte-stable for a seed,
and the CSAF advisories can match the versions the hospital's CMMS export actually lists."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from pathlib import Path

import pytest

from wardwatch.domain.versions import parse_range
from wardwatch.ingest.csaf import read_csaf
from wardwatch.ingest.cyclonedx import read_cyclonedx
from wardwatch.ingest.epss import iter_epss
from wardwatch.ingest.kev import read_kev
from wardwatch.ingest.nvd import iter_nvd, read_nvd
from wardwatch.simulate import generate, load_catalog, write
from wardwatch.simulate._feeds import affected_split, write_feeds
from wardwatch.simulate._feeds_nvd import slug

CVES = 3_000


@pytest.fixture(scope="module")
def feeds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    out = tmp_path_factory.mktemp("feeds")
    return out, write_feeds(generate("small", 1), out, cves=CVES, seed=1)


def _digests(paths: list[Path], root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def test_nvd_pages_load_with_the_real_reader(feeds: tuple[Path, list[Path]]) -> None:
    out, paths = feeds
    pages = sorted((out / "feeds" / "nvd").glob("nvdcve-2.0-*.json.gz"))
    assert [p.name for p in pages] == ["nvdcve-2.0-001.json.gz", "nvdcve-2.0-002.json.gz"]
    assert set(pages) <= set(paths)
    first = json.loads(gzip.decompress(pages[0].read_bytes()))
    assert {k: first[k] for k in ("resultsPerPage", "startIndex", "totalResults", "format", "version")} == {
        "resultsPerPage": 2_000, "startIndex": 0, "totalResults": CVES, "format": "NVD_CVE", "version": "2.0",
    }  # fmt: skip
    records = [v for page in pages for v in read_nvd(page)]
    assert len(records) == CVES
    assert len({v.id for v in records}) == CVES
    assert all(v.cvss or v.published.year < 2016 for v in records)
    versions = {c.version for v in records for c in v.cvss}
    assert {"3.1", "4.0"} <= versions
    assert all(v.configurations and v.cwes and v.references for v in records)
    assert len({v.published.year for v in records}) > 15
    assert any(node.operator == "AND" for v in records for node in v.configurations)
    criteria = {
        m.criteria.split(":")[3] for v in records for c in v.configurations for n in c.children for m in n.matches
    }
    assert {"microsoft", "openssl", "linux", "busybox", "apache"} <= criteria
    catalog_vendors = {slug(m.manufacturer) for m in load_catalog()}
    on_catalog = [v for v in records if criteria & catalog_vendors and _vendors(v) & catalog_vendors]
    assert 0.02 * CVES < len(on_catalog) < 0.1 * CVES
    named = {
        m.criteria.split(":")[4] for v in on_catalog for c in v.configurations for n in c.children for m in n.matches
    }
    assert {slug(m.model) for m in load_catalog()} <= {p.removesuffix("_firmware") for p in named}
    ranged = [m for v in records for c in v.configurations for n in c.children for m in n.matches]
    assert any(m.version_start_including and m.version_end_excluding for m in ranged)
    assert sum(1 for v in records if v.kev_date_added) >= 10


def _vendors(vulnerability: object) -> set[str]:
    configurations = getattr(vulnerability, "configurations", ())
    return {m.criteria.split(":")[3] for c in configurations for n in c.children for m in n.matches}


def test_epss_has_a_row_per_cve_and_more(feeds: tuple[Path, list[Path]]) -> None:
    out, _ = feeds
    path = out / "feeds" / "epss_scores.csv.gz"
    assert gzip.decompress(path.read_bytes()).startswith(
        b"#model_version:v2025.03.14,score_date:2025-03-15T00:00:00+0000\ncve,epss,percentile\n"
    )
    scores = list(iter_epss(path))
    ids = [s.cve for s in scores]
    assert len(ids) == len(set(ids)) >= CVES * 6 // 5
    nvd = {v.id for page in sorted((out / "feeds" / "nvd").glob("*.json.gz")) for v in iter_nvd(page)}
    assert nvd <= set(ids)
    assert {s.model_version for s in scores} == {"v2025.03.14"}
    assert {s.score_date.isoformat() if s.score_date else None for s in scores} == {"2025-03-15"}
    assert all(0 < s.epss <= 1 and 0 <= s.percentile <= 1 for s in scores)
    by_percentile = sorted(scores, key=lambda s: s.percentile)
    assert by_percentile[0].epss <= by_percentile[len(scores) // 2].epss <= by_percentile[-1].epss


def test_kev_catalog_loads_and_names_the_hospitals_products(feeds: tuple[Path, list[Path]]) -> None:
    out, _ = feeds
    catalog = read_kev(out / "feeds" / "known_exploited_vulnerabilities.json")
    # The real catalog holds ~1,400 of ~250,000 CVEs (0.5 %); a few more here, for the hospital's own products.
    assert 0.002 * CVES <= len(catalog.entries) <= 0.02 * CVES
    assert catalog.catalog_version == "2025.08.25"
    manufacturers = {slug(m.manufacturer).replace("_", " ") for m in load_catalog()}
    assert sum(1 for e in catalog.entries if e.vendor.lower() in manufacturers) >= 3
    assert [e.date_added for e in catalog.entries] == sorted((e.date_added for e in catalog.entries), reverse=True)


def test_every_csaf_advisory_loads_with_ranges_a_cmms_version_falls_in(
    feeds: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    out, paths = feeds
    csaf = [p for p in paths if p.parent.name == "csaf"]
    families = {m.family for m in load_catalog() if m.icsma_advisories}
    assert len(csaf) == len(families)
    advisories = [read_csaf(p) for p in csaf]
    assert all(a.id.startswith("ICSMA-") and a.vulnerabilities for a in advisories)
    assert all(v.remediations and v.cvss and v.cvss[0][0].vector.startswith("CVSS:3.1/") for a in advisories
               for v in a.vulnerabilities)  # fmt: skip
    write(generate("small", 1), tmp_path, traffic=False, feeds=False)
    with (tmp_path / "cmms_export.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    seen = {(r["Model"].strip(), v.strip()) for r in rows for v in (r["Firmware Version"], r["Software Version"])}
    hits = inside = outside = 0
    for advisory in advisories:
        for product in advisory.products:
            if not product.version or not product.version.startswith("vers:"):
                continue
            rng = parse_range(product.version)
            hits += sum(1 for model, version in seen if model == product.name and rng.contains(version) is True)
            inside += any(rng.contains(v) is True for m in load_catalog() if m.model == product.name
                          for v in (*m.firmware_versions, *m.software_versions))  # fmt: skip
            outside += any(rng.contains(v) is False for m in load_catalog() if m.model == product.name
                           for v in (*m.firmware_versions, *m.software_versions))  # fmt: skip
    assert hits > 0
    assert inside > 0 and outside > 0
    assert {s.value for a in advisories for v in a.vulnerabilities for s in v.status} >= {"known_affected", "fixed"}


def test_affected_split_leaves_the_newest_version_fixed() -> None:
    alaris = next(m for m in load_catalog() if m.key == "bd-alaris-8015")
    affected, fixed, vers = affected_split(alaris)
    assert fixed == "12.3.0" and vers == "vers:generic/<12.3.0"
    assert "9.19" in affected and parse_range(vers).contains("12.3.0") is False


def test_every_sbom_loads_with_purls_and_vex(feeds: tuple[Path, list[Path]]) -> None:
    _, paths = feeds
    sboms = [p for p in paths if p.parent.name == "sbom"]
    assert len(sboms) == sum(1 for m in load_catalog() if m.networked)
    boms = [read_cyclonedx(p) for p in sboms]
    assert all(30 <= len(b.components) <= 80 for b in boms)
    assert all(c.purl for b in boms for c in b.components)
    names = {c.name for b in boms for c in b.components}
    assert {"openssl", "busybox", "zlib", "linux", "log4j-core"} <= names
    vex = [s for b in boms for s in b.vex]
    assert vex and {s.status.value for s in vex} == {"not_affected"}
    raw = json.loads(sboms[0].read_text(encoding="utf-8"))
    assert raw["specVersion"] == "1.5" and raw["metadata"]["component"]["type"] == "device"


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(
    feeds: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    out, paths = feeds
    again = write_feeds(generate("small", 1), tmp_path / "again", cves=CVES, seed=1)
    assert _digests(again, tmp_path / "again") == _digests(paths, out)
    page = (out / "feeds" / "nvd" / "nvdcve-2.0-001.json.gz").read_bytes()
    assert page[4:8] == b"\0\0\0\0"  # gzip mtime
    other = write_feeds(generate("small", 1), tmp_path / "other", cves=CVES, seed=2)
    assert (
        _digests(other, tmp_path / "other")["feeds/epss_scores.csv.gz"]
        != _digests(paths, out)["feeds/epss_scores.csv.gz"]
    )


def test_write_adds_the_feeds_when_asked(tmp_path: Path) -> None:
    paths = write(generate("small", 3), tmp_path / "small", traffic=False, feeds=True, cves=100)
    names = [p.relative_to(tmp_path / "small").as_posix() for p in paths]
    assert "feeds/nvd/nvdcve-2.0-001.json.gz" in names and names[-1] == "truth.json"
    assert len(read_nvd(tmp_path / "small" / "feeds" / "nvd" / "nvdcve-2.0-001.json.gz")) == 100
    assert sum(1 for _ in io.StringIO(gzip.decompress((tmp_path / "small/feeds/epss_scores.csv.gz").read_bytes())
                                      .decode())) == 2 + 120  # fmt: skip
    write(generate("small", 3), tmp_path / "off", traffic=False)
    assert not (tmp_path / "off" / "feeds").exists()
    with pytest.raises(ValueError, match="at least 1"):
        write_feeds(generate("small", 3), tmp_path / "bad", cves=0)


def test_sbom_components_of_nvd_products_carry_their_cpe(feeds: tuple[Path, list[Path]]) -> None:
    from wardwatch.domain.cpe import parse_cpe  # noqa: PLC0415
    from wardwatch.simulate._feeds_nvd import GENERIC_PRODUCTS  # noqa: PLC0415

    _, paths = feeds
    components = [c for p in paths if p.parent.name == "sbom" for c in read_cyclonedx(p).components]
    named = {(vendor, product) for _, vendor, product, _ in GENERIC_PRODUCTS}
    with_cpe = [c for c in components if c.cpe]
    assert {c.name for c in with_cpe} >= {"openssl", "linux", "busybox", "zlib"}
    for component in with_cpe:
        cpe = parse_cpe(component.cpe or "")
        assert (cpe.vendor, cpe.product) in named and cpe.version == component.version
    assert all(c.cpe is None for c in components if c.name in ("jquery", "lodash", "Newtonsoft.Json"))


def test_nvd_delta_modifies_records_the_day_after(feeds: tuple[Path, list[Path]], tmp_path: Path) -> None:
    from wardwatch.ingest.nvd import read_nvd  # noqa: PLC0415
    from wardwatch.simulate._feeds import write_nvd_delta  # noqa: PLC0415

    out, _ = feeds
    page = out / "feeds" / "nvd" / "nvdcve-2.0-001.json.gz"
    delta = write_nvd_delta(page, tmp_path, records=30, seed=2)
    original = {v.id: v for v in read_nvd(page)}
    changed = read_nvd(delta)
    assert len(changed) == 30 and len({v.id for v in changed}) == 30
    for vuln in changed:
        before = original[vuln.id]
        assert vuln.modified is not None and before.modified is not None and vuln.modified > before.modified
        assert vuln != before
    assert write_nvd_delta(page, tmp_path / "again", records=30, seed=2).read_bytes() == delta.read_bytes()
