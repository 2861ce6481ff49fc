"""Vulnerability feeds for the simulated hospital, at real scale and in the real formats.

:func:`write_feeds` writes under ``<out_dir>/feeds/``:

* ``nvd/nvdcve-2.0-NNN.json.gz``: NVD CVE API 2.0 response pages of 2,000 records (gzip). Most records (~97 % of
  the non-catalog ones) name the long tail of products no hospital runs (``vendorN:productM``); the others generic
  IT products (Windows, OpenSSL, Apache, the Linux kernel, BusyBox...) in about the real NVD's proportions, each
  record ranged over one release line, so a version of a common library has ~5-30 records at full scale, not
  hundreds. About 4 % of a small feed's records name the catalog's devices (firmware ``AND`` hardware
  configurations, software version ranges), every catalog model at least once when there are enough records and
  at most ten times (930 records, 0.4 % of 250,000). CVSS 3.1 (scores computed), a few CVSS 4.0, CWE,
  references, ``published``/``lastModified`` spread over 1999-2025; KEV members carry ``cisaExploitAdd``.
* ``epss_scores.csv.gz``: the EPSS daily file, one row per CVE plus a fifth more for CVE ids not in the NVD
  pages (250,000 CVEs -> 300,000 rows); percentile is the exact rank of the drawn score's distribution.
* ``known_exploited_vulnerabilities.json``: the CISA KEV catalog (~0.5 % of the records, ~1,400 at full scale: a
  per-product chance, high for Windows, Chrome, Acrobat, Cisco, log4j, near zero for zlib or BusyBox; a few on the
  hospital's devices), newest first.
* Real records (see ``_feeds_real``): when the feed has room for them, its last records are real NVD records
  (EternalBlue, CVE-2017-0144) instead of synthetic ones, so the counts stay ``cves``; their EPSS rows are drawn like
  the others (no real EPSS file is packaged) and their real KEV entries join the KEV catalog.
* ``csaf/<tracking id>.json``: one CSAF 2.0 advisory per catalog family with ICSMA advisories: vendor ->
  product name -> ``vers:generic`` range covering the family's older firmware/software versions
  (``known_affected``) and the first fixed version (``fixed``), ``vendor_fix`` remediation, CVSS 3.1.
* ``sbom/<model key>.cdx.json``: a CycloneDX 1.5 BOM per networked model (see ``_feeds_sbom``).
* ``mds2/<model key>.mds2.csv``: the MDS2 form of about two models in three (see ``_feeds_mds2``).

Everything is drawn from the seed (no clock); gzip headers carry no name and mtime 0, so the same arguments give
byte-identical files. Records are generated and written one at a time: memory stays flat whatever the count.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from wardwatch.domain.versions import sort_key
from wardwatch.simulate._catalog import CatalogModel, load_catalog
from wardwatch.simulate._feeds_mds2 import write_mds2_forms
from wardwatch.simulate._feeds_nvd import FEED_END, RecordMaker, cve_years, cvss31
from wardwatch.simulate._feeds_real import real_kev_entries, real_records
from wardwatch.simulate._feeds_sbom import write_sboms
from wardwatch.simulate._model import Hospital, Size

__all__ = ["FEED_CVES", "PAGE_SIZE", "write_feeds", "write_nvd_delta"]

#: CVE records written for each size unless asked otherwise.
FEED_CVES: dict[Size, int] = {"small": 2_000, "medium": 20_000, "large": 100_000, "xl": 250_000}
#: Records per NVD page (the API's maximum).
PAGE_SIZE = 2_000
EPSS_MODEL = "#model_version:v2025.03.14,score_date:2025-03-15T00:00:00+0000\n"
_EXTRA_SEQ = 900_000  # EPSS-only CVE ids are numbered from here (never collides with the NVD stream)


def _gzip(path: Path) -> IO[str]:
    """A text writer into a reproducible gzip file (no name, mtime 0)."""
    raw = path.open("wb")
    zipped = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6)
    return _Closing(zipped, raw)


class _Closing(io.TextIOWrapper):
    """Text wrapper that also closes the underlying file object the gzip stream writes to."""

    def __init__(self, zipped: gzip.GzipFile, raw: IO[bytes]) -> None:
        super().__init__(zipped, encoding="utf-8", newline="\n", write_through=False)
        self._raw = raw

    def close(self) -> None:
        super().close()
        self._raw.close()


def write_feeds(hospital: Hospital, out_dir: Path, *, cves: int, seed: int | None = None) -> list[Path]:
    """Write the feeds under ``out_dir/feeds``; returns the paths written (NVD, EPSS, KEV, CSAF, SBOMs, MDS2 forms).

    ``seed`` defaults to the hospital's. Raises ``ValueError`` when ``cves`` is below 1.
    """
    if cves < 1:
        raise ValueError(f"cves must be at least 1, got {cves}")
    seed = hospital.seed if seed is None else seed
    root = out_dir / "feeds"
    (root / "nvd").mkdir(parents=True, exist_ok=True)
    models = load_catalog()
    maker = RecordMaker(seed, models, cves)
    real = real_records()
    real = real if cves > len(real) else []  # a tiny feed stays synthetic
    real_ids = [str(r["id"]) for r in real]
    paths = _write_nvd(maker, seed, cves, root / "nvd", real)
    paths.append(_write_epss(seed, cves, root / "epss_scores.csv.gz", real_ids))
    kev = maker.collected.kev + real_kev_entries(set(real_ids))
    paths.append(_write_kev(kev, root / "known_exploited_vulnerabilities.json"))
    paths += _write_csaf(models, seed, maker.collected.by_model, root / "csaf")
    paths += write_sboms(models, seed, root / "sbom", maker.collected.by_product)
    paths += write_mds2_forms(models, seed, root / "mds2")
    return paths


def _write_nvd(maker: RecordMaker, seed: int, cves: int, out: Path, real: list[dict[str, Any]]) -> list[Path]:
    """``cves`` records in pages: synthetic ones, then the ``real`` records in the last places."""
    paths: list[Path] = []
    synthetic = cves - len(real)
    ids = cve_years(seed, synthetic, 1_000)
    pages = math.ceil(cves / PAGE_SIZE)
    for page in range(pages):
        start = page * PAGE_SIZE
        size = min(PAGE_SIZE, cves - start)
        path = out / f"nvdcve-2.0-{page + 1:03d}.json.gz"
        with _gzip(path) as handle:
            handle.write(
                f'{{"resultsPerPage":{size},"startIndex":{start},"totalResults":{cves},"format":"NVD_CVE",'
                f'"version":"2.0","timestamp":"{FEED_END.strftime("%Y-%m-%dT%H:%M:%S.000")}","vulnerabilities":['
            )
            for offset in range(size):
                if start + offset < synthetic:
                    cve_id, year = next(ids)
                    record = maker.make(start + offset, cve_id, year)
                else:
                    record = real[start + offset - synthetic]
                handle.write(("," if offset else "") + json.dumps({"cve": record}, separators=(",", ":")))
            handle.write("]}\n")
        paths.append(path)
    return paths


def write_nvd_delta(pages: Path | list[Path], out: Path, *, records: int, seed: int = 1) -> Path:
    """A one-day NVD delta: ``records`` records of the given pages, modified the day after the feed ends.

    A third have their version range widened (the upper bound dropped), a third are withdrawn (no criterion is
    vulnerable any more), a third get a new CVSS score and description.  Written as one NVD 2.0 page (gzip) to
    ``out/nvdcve-2.0-delta-<day>.json.gz``, as ``intel sync`` stores the lastModified window it fetched.
    """
    found: list[dict[str, Any]] = []
    for page in [pages] if isinstance(pages, Path) else pages:
        with gzip.open(page, "rt", encoding="utf-8") as handle:
            found += [item["cve"] for item in json.load(handle)["vulnerabilities"]]
    rng = random.Random(f"{seed}:nvd-delta")  # noqa: S311 - simulation, not security
    chosen = sorted(rng.sample(range(len(found)), min(records, len(found))))
    day = FEED_END + timedelta(days=1)
    changed: list[dict[str, Any]] = []
    for number, position in enumerate(chosen):
        record = json.loads(json.dumps(found[position]))
        record["lastModified"] = (day + timedelta(seconds=number)).strftime("%Y-%m-%dT%H:%M:%S.000")
        record["vulnStatus"] = "Modified"
        kind = number % 3
        for match in _cpe_matches(record.get("configurations", [])):
            if kind == 0:
                match.pop("versionEndExcluding", None)
                match.pop("versionEndIncluding", None)
            elif kind == 1:
                match["vulnerable"] = False
        if kind == 2:
            record["metrics"] = {"cvssMetricV31": [{"source": "nvd@nist.gov", "type": "Primary", **cvss31(rng)}]}
            record["descriptions"][0]["value"] += " Updated analysis."
        changed.append(record)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"nvdcve-2.0-delta-{day.strftime('%Y-%m-%d')}.json.gz"
    with _gzip(path) as handle:
        handle.write(json.dumps({"resultsPerPage": len(changed), "startIndex": 0, "totalResults": len(changed),
                                 "format": "NVD_CVE", "version": "2.0",
                                 "timestamp": day.strftime("%Y-%m-%dT%H:%M:%S.000"),
                                 "vulnerabilities": [{"cve": r} for r in changed]}, separators=(",", ":")))  # fmt: skip
    return path


def _cpe_matches(configurations: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for configuration in configurations:
        stack = list(configuration.get("nodes", []))
        while stack:
            node = stack.pop()
            yield from node.get("cpeMatch", [])
            stack += node.get("nodes", []) + node.get("children", [])


def _epss_ids(seed: int, cves: int, real_ids: list[str]) -> Iterator[str]:
    for cve_id, _ in cve_years(seed, cves - len(real_ids), 1_000):
        yield cve_id
    yield from real_ids
    for cve_id, _ in cve_years(seed, cves // 5, _EXTRA_SEQ):
        yield cve_id


def _write_epss(seed: int, cves: int, path: Path, real_ids: list[str]) -> Path:
    """One row per CVE id; ``epss = 10 ** (-4.6 + 4.6 u^3)`` so the percentile of the score is ``u`` itself."""
    rng = random.Random(f"{seed}:epss")  # noqa: S311 - simulation, not security
    with _gzip(path) as handle:
        handle.write(EPSS_MODEL)
        handle.write("cve,epss,percentile\n")
        lines: list[str] = []
        for cve_id in _epss_ids(seed, cves, real_ids):
            u = rng.random()
            epss = min(0.97, 10 ** (-4.6 + 4.6 * u**3))
            lines.append(f"{cve_id},{epss:.5f},{u:.5f}\n")
            if len(lines) == 10_000:
                handle.write("".join(lines))
                lines.clear()
        handle.write("".join(lines))
    return path


def _write_kev(entries: list[dict[str, Any]], path: Path) -> Path:
    ordered = sorted(entries, key=lambda e: (e["dateAdded"], e["cveID"]), reverse=True)
    catalog = {
        "title": "CISA Catalog of Known Exploited Vulnerabilities",
        "catalogVersion": FEED_END.strftime("%Y.%m.%d"),
        "dateReleased": FEED_END.strftime("%Y-%m-%dT%H:%M:%S.0000Z"),
        "count": len(ordered),
        "vulnerabilities": ordered,
    }
    path.write_text(json.dumps(catalog, ensure_ascii=False, indent=4) + "\n", encoding="utf-8")
    return path


def _write_csaf(models: tuple[CatalogModel, ...], seed: int, by_model: dict[str, list[str]], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    families: dict[str, list[CatalogModel]] = {}
    for model in models:
        if model.icsma_advisories:
            families.setdefault(model.family, []).append(model)
    used: set[str] = set()
    paths: list[Path] = []
    for family, members in families.items():
        advisories = sorted({a for m in members for a in m.icsma_advisories})
        tracking = next((a for a in advisories if a not in used), f"{advisories[0]}-{family}")
        used.add(tracking)
        rng = random.Random(f"{seed}:csaf:{family}")  # noqa: S311 - simulation, not security
        cve_ids = [c for m in members for c in by_model.get(m.key, [])[:2]][:4]
        if not cve_ids:  # too few NVD records to reach this family: ids from a range the NVD pages never use
            cve_ids = [f"CVE-20{tracking[6:8]}-{800_000 + rng.randrange(99_999)}"]
        document = advisory(tracking, members, cve_ids, rng)
        path = out / f"{tracking.lower()}.json"
        path.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def affected_split(model: CatalogModel) -> tuple[tuple[str, ...], str | None, str]:
    """``(affected versions, first fixed version or None, vers range of the affected ones)`` of a model.

    The versions (firmware and software, in version order) below the newest are affected; the newest is fixed.
    A model with one version is affected in that version and has no fix yet.
    """
    versions = sorted(
        dict.fromkeys((*model.firmware_versions, *model.software_versions)), key=lambda v: (sort_key(v), v)
    )
    if len(versions) < 2:
        return tuple(versions), None, f"vers:generic/<={versions[0]}" if versions else "vers:generic/*"
    return tuple(versions[:-1]), versions[-1], f"vers:generic/<{versions[-1]}"


def advisory(tracking: str, members: list[CatalogModel], cve_ids: list[str], rng: random.Random) -> dict[str, Any]:
    """One CSAF 2.0 ``csaf_security_advisory`` for a model family."""
    vendor = members[0].manufacturer
    products: list[dict[str, Any]] = []
    affected: list[str] = []
    fixed: list[str] = []
    for model in members:
        _, fix, vers = affected_split(model)
        pid = f"CSAFPID-{len(affected) + len(fixed) + 1:04d}"
        versions = [{"category": "product_version_range", "name": vers,
                     "product": {"name": f"{vendor} {model.model} {vers}", "product_id": pid}}]  # fmt: skip
        affected.append(pid)
        if fix is not None:
            fid = f"CSAFPID-{len(affected) + len(fixed) + 1:04d}"
            versions.append({"category": "product_version", "name": fix,
                             "product": {"name": f"{vendor} {model.model} {fix}", "product_id": fid}})  # fmt: skip
            fixed.append(fid)
        products.append({"category": "product_name", "name": model.model, "branches": versions})
    year = int(tracking[6:8]) + 2000
    released = f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T00:00:00.000Z"
    url = f"https://www.cisa.gov/news-events/ics-medical-advisories/{tracking.lower()}"
    vulnerabilities = []
    for cve_id in cve_ids:
        score = cvss31(rng)["cvssData"]
        vulnerabilities.append({
            "cve": cve_id,
            "cwe": {"id": "CWE-798", "name": "Use of Hard-coded Credentials"} if rng.random() < 0.5
            else {"id": "CWE-306", "name": "Missing Authentication for Critical Function"},
            "notes": [{"category": "summary", "title": "Vulnerability Summary",
                       "text": f"The affected {vendor} products contain a vulnerability ({cve_id}) that could allow "
                               f"an attacker on the clinical network to alter device settings."}],
            "product_status": {"known_affected": affected, **({"fixed": fixed} if fixed else {})},
            "remediations": [{"category": "vendor_fix", "product_ids": affected, "url": url,
                              "details": f"{vendor} recommends updating to the latest released version."}],
            "scores": [{"cvss_v3": {"version": "3.1", "vectorString": score["vectorString"],
                                    "baseScore": score["baseScore"], "baseSeverity": score["baseSeverity"]},
                        "products": affected}],
            "references": [{"category": "external", "summary": "NVD",
                            "url": f"https://nvd.nist.gov/vuln/detail/{cve_id}"}],
        })  # fmt: skip
    return {
        "document": {
            "category": "csaf_security_advisory",
            "csaf_version": "2.0",
            "distribution": {"text": "Disclosure is not limited", "tlp": {"label": "WHITE"}},
            "lang": "en-US",
            "publisher": {"category": "coordinator", "name": "CISA", "namespace": "https://www.cisa.gov/"},
            "references": [{"category": "self", "summary": f"ICS Advisory {tracking} Web Version", "url": url}],
            "title": f"{vendor} {members[0].model.split()[0]} ({tracking})",
            "tracking": {
                "id": tracking,
                "status": "final",
                "version": "1",
                "initial_release_date": released,
                "current_release_date": released,
                "revision_history": [{"date": released, "number": "1", "summary": f"{tracking} initial release"}],
                "generator": {"engine": {"name": "Wardwatch simulator", "version": "1.0.0"}},
            },  # fmt: skip
        },
        "product_tree": {"branches": [{"category": "vendor", "name": vendor, "branches": products}]},
        "vulnerabilities": vulnerabilities,
    }
