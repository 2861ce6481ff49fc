"""Simulated NVD CVE API 2.0 records: generic IT products, the catalog's devices, CVSS 3.1/4.0, CWE, references.

Each record is drawn from one :class:`random.Random` in CVE order and turned into JSON at once, so a feed of
250,000 records streams through a gzip writer without being held in memory.
"""

from __future__ import annotations

import math
import random
import re
import unicodedata
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from wardwatch.simulate._catalog import CatalogModel

#: CVE years and their relative weight (the NVD grew from ~1,500 CVEs a year to ~40,000).
YEARS: tuple[tuple[int, int], ...] = tuple((y, max(1, (y - 1998) ** 2)) for y in range(1999, 2026))
FEED_END = datetime(2025, 8, 25, tzinfo=UTC)

#: ``part vendor product`` -> versions in order (a range is drawn between two of them).
GENERIC_PRODUCTS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("o", "microsoft", "windows_7", ("-",)),
    ("o", "microsoft", "windows_10", ("1607", "1809", "21h2", "22h2")),
    ("o", "microsoft", "windows_server_2016", ("-",)),
    ("o", "microsoft", "windows_server_2019", ("-",)),
    ("o", "microsoft", "windows_xp", ("-",)),
    ("o", "microsoft", "windows_embedded_compact", ("6.0", "7.0", "2013")),
    ("a", "openssl", "openssl", ("1.0.1", "1.0.2", "1.1.0", "1.1.1", "1.1.1k", "1.1.1w", "3.0.0", "3.0.7", "3.0.13")),
    ("a", "apache", "http_server", ("2.2.0", "2.4.0", "2.4.41", "2.4.49", "2.4.52", "2.4.58")),
    ("a", "apache", "tomcat", ("7.0.0", "8.5.0", "8.5.78", "9.0.0", "9.0.62", "10.1.0")),
    ("a", "apache", "log4j", ("2.0", "2.12.2", "2.15.0", "2.16.0", "2.17.1")),
    ("o", "linux", "linux_kernel", ("2.6.32", "3.10", "4.4", "4.14", "4.19", "5.4", "5.10", "5.15", "6.1", "6.6")),
    ("a", "busybox", "busybox", ("1.20.0", "1.27.2", "1.31.1", "1.33.1", "1.35.0", "1.36.1")),
    ("a", "zlib", "zlib", ("1.2.8", "1.2.11", "1.2.12", "1.2.13", "1.3")),
    ("a", "haxx", "curl", ("7.29.0", "7.64.0", "7.79.1", "7.88.1", "8.4.0", "8.6.0")),
    ("a", "sqlite", "sqlite", ("3.7.17", "3.22.0", "3.31.1", "3.39.2", "3.44.0")),
    ("a", "xmlsoft", "libxml2", ("2.9.1", "2.9.10", "2.9.14", "2.10.3", "2.11.5")),
    ("a", "libpng", "libpng", ("1.2.50", "1.6.34", "1.6.37", "1.6.40")),
    ("a", "oracle", "jre", ("1.7.0", "1.8.0", "11.0.0", "17.0.0")),
    ("a", "mozilla", "firefox", ("78.0", "91.0", "102.0", "115.0", "128.0")),
    ("a", "google", "chrome", ("90.0.4430.85", "100.0.4896.60", "110.0.5481.77", "120.0.6099.71")),
    ("a", "php", "php", ("5.6.0", "7.2.0", "7.4.0", "8.0.0", "8.1.0", "8.2.0")),
    ("a", "jenkins", "jenkins", ("2.150", "2.300", "2.400", "2.440")),
    ("a", "wind_river", "vxworks", ("5.5", "6.5", "6.9", "7.0")),
    ("o", "cisco", "ios_xe", ("16.12.4", "17.3.5", "17.6.1", "17.9.4", "17.12.1")),
    ("a", "dropbear_ssh_project", "dropbear_ssh", ("2016.74", "2019.78", "2020.81", "2022.82")),
    ("a", "gnu", "glibc", ("2.17", "2.24", "2.28", "2.31", "2.35")),
    ("a", "samba", "samba", ("3.6.0", "4.7.0", "4.13.0", "4.17.0")),
    ("o", "google", "android", ("9.0", "10.0", "11.0", "12.0", "13.0")),
    ("a", "wordpress", "wordpress", ("4.9", "5.4", "5.8", "6.1", "6.4")),
    ("a", "adobe", "acrobat_reader", ("2017.011.30059", "2020.001.30005", "2023.001.20064")),
)
#: NVD records per 250,000 on each generic product: the real NVD's order of magnitude (Chrome, Firefox, Acrobat,
#: Windows and the Linux kernel carry hundreds to thousands; zlib, log4j or dropbear a dozen or two), damped so
#: that one version of a common library collects ~5-30 records and a Windows version a few hundred.
_RECORD_WEIGHT: dict[str, float] = {
    "windows_7": 250, "windows_10": 600, "windows_server_2016": 300, "windows_server_2019": 300, "windows_xp": 150,
    "windows_embedded_compact": 40, "openssl": 100, "http_server": 100, "tomcat": 100, "log4j": 8,
    "linux_kernel": 300, "busybox": 25, "zlib": 12, "curl": 60, "sqlite": 40, "libxml2": 50, "libpng": 25,
    "jre": 300, "firefox": 800, "chrome": 1000, "php": 400, "jenkins": 150, "vxworks": 30, "ios_xe": 400,
    "dropbear_ssh": 10, "glibc": 40, "samba": 100, "android": 300, "wordpress": 300, "acrobat_reader": 800,
}  # fmt: skip
_WEIGHTS = tuple(_RECORD_WEIGHT[product] for _, _, product, _ in GENERIC_PRODUCTS)
#: Share of non-catalog records naming the long tail of products no hospital device runs (the real NVD names
#: ~40,000 vendors; the 31 products above carry a few per cent of the records).
TAIL_SHARE = 1 - sum(_WEIGHTS) / (250_000 * 0.96)
#: Chance that a record of the product is in CISA's KEV catalog (the real catalog: ~1,400 of ~250,000 CVEs, most of
#: them Microsoft, Google, Adobe, Cisco, Apache; Heartbleed for OpenSSL, a handful for the Linux kernel, none on
#: zlib, BusyBox or SQLite).
_KEV_RATE: dict[str, float] = {
    "windows_7": 0.04, "windows_10": 0.03, "windows_server_2016": 0.04, "windows_server_2019": 0.04,
    "windows_xp": 0.06, "chrome": 0.01, "acrobat_reader": 0.02, "android": 0.006, "ios_xe": 0.01, "log4j": 0.1,
    "http_server": 0.02, "tomcat": 0.01, "jre": 0.01, "php": 0.005, "linux_kernel": 0.002, "openssl": 0.007,
    "samba": 0.01, "jenkins": 0.01, "firefox": 0.003, "wordpress": 0.003,
}  # fmt: skip
#: KEV chance of a long-tail record (most of the real catalog's entries are on products no device runs).
_TAIL_KEV_RATE = 0.0055
#: At most this many records per catalog model (a medical device model has a handful of CVEs in the real NVD).
CATALOG_RECORDS_PER_MODEL = 10
_TAIL_VENDORS = 20_000
_TAIL_VERSIONS = ("1.0", "1.5", "2.0", "2.4", "3.0", "3.2", "4.0")
#: The NVD CPE part of a catalog model's firmware/software.
CWES: tuple[str, ...] = (
    "CWE-79", "CWE-787", "CWE-89", "CWE-20", "CWE-125", "CWE-78", "CWE-416", "CWE-22", "CWE-352", "CWE-434",
    "CWE-476", "CWE-287", "CWE-190", "CWE-502", "CWE-77", "CWE-119", "CWE-798", "CWE-862", "CWE-306", "CWE-319",
    "CWE-400", "CWE-311", "CWE-200", "CWE-284", "NVD-CWE-Other", "NVD-CWE-noinfo",
)  # fmt: skip
_KINDS = ("buffer overflow", "cross-site scripting", "SQL injection", "improper input validation",
          "out-of-bounds read", "OS command injection", "use-after-free", "path traversal", "hard-coded credentials",
          "missing authentication", "denial of service", "information disclosure")  # fmt: skip
_SOURCES = ("cve@mitre.org", "secure@microsoft.com", "psirt@cisco.com", "security@apache.org",
            "ics-cert@hq.dhs.gov", "cna@vuldb.com", "security@android.com", "openssl-security@openssl.org")  # fmt: skip
_REF_TAGS = (["Vendor Advisory"], ["Patch", "Third Party Advisory"], ["Exploit", "Third Party Advisory"],
             ["VDB Entry"], ["Mailing List"], ["US Government Resource", "Third Party Advisory"])  # fmt: skip

# CVSS 3.1 metric values: (letter, name, weight).
_AV = (("N", "NETWORK", 0.85), ("A", "ADJACENT_NETWORK", 0.62), ("L", "LOCAL", 0.55), ("P", "PHYSICAL", 0.2))
_AC = (("L", "LOW", 0.77), ("H", "HIGH", 0.44))
_UI = (("N", "NONE", 0.85), ("R", "REQUIRED", 0.62))
_CIA = (("H", "HIGH", 0.56), ("L", "LOW", 0.22), ("N", "NONE", 0.0))
_PR = (("N", "NONE", 0.85, 0.85), ("L", "LOW", 0.62, 0.68), ("H", "HIGH", 0.27, 0.5))


def slug(text: str) -> str:
    """A CPE 2.3 name component: ASCII lower case, anything but letters, digits, ``.`` ``-`` as ``_``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"_+", "_", re.sub(r"[^a-z0-9.\-]", "_", ascii_text)).strip("_.")


def roundup(value: float) -> float:
    """CVSS 3.1 Roundup (Appendix A)."""
    whole = round(value * 100_000)
    return whole / 100_000.0 if whole % 10_000 == 0 else (math.floor(whole / 10_000) + 1) / 10.0


def severity(score: float) -> str:
    return (
        "NONE" if score == 0 else "LOW" if score < 4 else "MEDIUM" if score < 7 else "HIGH" if score < 9 else "CRITICAL"
    )


def cvss31(rng: random.Random) -> dict[str, Any]:
    """A CVSS 3.1 ``cvssData`` with a correctly computed base score."""
    av = rng.choices(_AV, (60, 10, 25, 5))[0]
    ac = rng.choices(_AC, (85, 15))[0]
    pr = rng.choices(_PR, (60, 30, 10))[0]
    ui = rng.choices(_UI, (65, 35))[0]
    changed = rng.random() < 0.12
    c, i, a = (rng.choices(_CIA, (50, 25, 25))[0] for _ in range(3))
    if c[2] == i[2] == a[2] == 0:
        a = _CIA[0]
    iss = 1 - (1 - c[2]) * (1 - i[2]) * (1 - a[2])
    impact = 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15 if changed else 6.42 * iss
    exploit = 8.22 * av[2] * ac[2] * (pr[3] if changed else pr[2]) * ui[2]
    if impact <= 0:
        score = 0.0
    else:
        score = roundup(min(1.08 * (impact + exploit), 10) if changed else min(impact + exploit, 10))
    vector = (
        f"CVSS:3.1/AV:{av[0]}/AC:{ac[0]}/PR:{pr[0]}/UI:{ui[0]}/S:{'C' if changed else 'U'}/C:{c[0]}/I:{i[0]}/A:{a[0]}"
    )
    data = {
        "version": "3.1", "vectorString": vector, "attackVector": av[1], "attackComplexity": ac[1],
        "privilegesRequired": pr[1], "userInteraction": ui[1], "scope": "CHANGED" if changed else "UNCHANGED",
        "confidentialityImpact": c[1], "integrityImpact": i[1], "availabilityImpact": a[1],
        "baseScore": score, "baseSeverity": severity(score),
    }  # fmt: skip
    return {"cvssData": data, "exploitabilityScore": round(exploit, 1), "impactScore": round(max(impact, 0), 1)}


def cvss40(rng: random.Random) -> dict[str, Any]:
    """A CVSS 4.0 ``cvssData`` (vector drawn, score plausible rather than computed by the 4.0 lookup table)."""
    av, ac, pr = rng.choice("NNNAL"), rng.choice("LLH"), rng.choice("NNLH")
    vc, vi, va = rng.choice("HHL"), rng.choice("HLN"), rng.choice("HLN")
    vector = f"CVSS:4.0/AV:{av}/AC:{ac}/AT:N/PR:{pr}/UI:N/VC:{vc}/VI:{vi}/VA:{va}/SC:N/SI:N/SA:N"
    score = round(min(10.0, 2.0 + 6.0 * (av == "N") + 1.5 * (vc == "H") + rng.random() * 1.5 - (ac == "H")), 1)
    return {"cvssData": {"version": "4.0", "vectorString": vector, "baseScore": score, "baseSeverity": severity(score)}}


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


@dataclass(slots=True)
class Collected:
    """What later feeds need from the NVD pass (small: a few ids per product, the KEV picks)."""

    by_model: dict[str, list[str]] = field(default_factory=dict)
    """Catalog model key -> CVE ids whose configurations name it."""
    by_product: dict[str, list[str]] = field(default_factory=dict)
    """Generic CPE product -> the first CVE ids naming it."""
    kev: list[dict[str, Any]] = field(default_factory=list)
    """KEV catalog entries."""


def cve_years(seed: int, count: int, first_seq: int) -> Iterator[tuple[str, int]]:
    """Yield ``count`` unique CVE ids (a fixed stream for the seed: the EPSS pass replays it)."""
    rng = random.Random(f"{seed}:cve-ids:{first_seq}")  # noqa: S311 - simulation, not security
    years = [y for y, _ in YEARS]
    weights = [w for _, w in YEARS]
    seq: dict[int, int] = {}
    for _ in range(count):
        year = rng.choices(years, weights)[0]
        seq[year] = seq.get(year, first_seq) + 1 + (rng.random() < 0.3) * rng.randint(1, 9)
        yield f"CVE-{year}-{seq[year]:04d}", year


class RecordMaker:
    """Draws one NVD ``cve`` object after another; collects what the other feeds refer to."""

    def __init__(self, seed: int, models: tuple[CatalogModel, ...], count: int) -> None:
        self.rng = random.Random(f"{seed}:nvd")  # noqa: S311 - simulation, not security
        self.models = models
        self.count = count
        self._catalog_cap = CATALOG_RECORDS_PER_MODEL * len(models)
        self._generic_done = 0
        self.collected = Collected()
        self._catalog_done = 0

    def make(self, index: int, cve_id: str, year: int) -> dict[str, Any]:
        rng = self.rng
        published = datetime(year, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(365 * 86_400))
        published = min(published, FEED_END - timedelta(days=2))
        modified = published + timedelta(seconds=rng.randrange(max(1, int((FEED_END - published).total_seconds()))))
        # every model named once in 25 x catalog records, up to a handful of records per model
        on_catalog = (index % 25 == 0 or rng.random() < 0.01) and self._catalog_done < self._catalog_cap
        if on_catalog:
            model = self.models[self._catalog_done % len(self.models)]
            self._catalog_done += 1
            configurations, vendor, product, text = self._catalog_config(model)
            kev_rate = 0.0
            self.collected.by_model.setdefault(model.key, []).append(cve_id)
        else:
            configurations, vendor, product, text, kev_rate = self._generic_config()
            ids = self.collected.by_product.setdefault(product, [])
            if len(ids) < 5:
                ids.append(cve_id)
        kind = rng.choice(_KINDS)
        article = "An" if kind[0] in "aeiou" else "A"
        metrics: dict[str, Any] = {}
        if year >= 2016 or rng.random() < 0.3:
            primary = {"source": "nvd@nist.gov", "type": "Primary", **cvss31(rng)}
            metrics["cvssMetricV31"] = [primary]
            if rng.random() < 0.3:
                metrics["cvssMetricV31"].append({"source": rng.choice(_SOURCES), "type": "Secondary", **cvss31(rng)})
        if year >= 2023 and rng.random() < 0.15:
            metrics["cvssMetricV40"] = [{"source": rng.choice(_SOURCES), "type": "Secondary", **cvss40(rng)}]
        cwe = rng.choice(CWES)
        record: dict[str, Any] = {
            "id": cve_id,
            "sourceIdentifier": "ics-cert@hq.dhs.gov" if on_catalog else rng.choice(_SOURCES),
            "published": _stamp(published),
            "lastModified": _stamp(modified),
            "vulnStatus": rng.choice(("Analyzed", "Analyzed", "Analyzed", "Modified", "Awaiting Analysis")),
            "descriptions": [{"lang": "en", "value": f"{article} {kind} vulnerability in {text} could allow a remote "
                                                     f"attacker to compromise the affected system."}],
            "metrics": metrics,
            "weaknesses": [{"source": "nvd@nist.gov", "type": "Primary",
                            "description": [{"lang": "en", "value": cwe}]}],
            "configurations": configurations,
            "references": [
                {"url": f"https://{vendor.replace('_', '')}.example/security/{cve_id.lower()}-{n}",
                 "source": rng.choice(_SOURCES), "tags": rng.choice(_REF_TAGS)}
                for n in range(1 + rng.randrange(3))
            ],
        }  # fmt: skip
        if self._is_kev(on_catalog, kev_rate):
            added = max(published.date(), date(2021, 11, 3)) + timedelta(days=rng.randrange(400))
            added = min(added, FEED_END.date())
            name = (
                f"{vendor.replace('_', ' ').title()} {product.replace('_', ' ').title()} {kind.title()} Vulnerability"
            )
            action = "Apply mitigations per vendor instructions or discontinue use of the product if unavailable."
            record["cisaExploitAdd"] = added.isoformat()
            record["cisaActionDue"] = (added + timedelta(days=21)).isoformat()
            record["cisaRequiredAction"] = action
            record["cisaVulnerabilityName"] = name
            self.collected.kev.append({
                "cveID": cve_id, "vendorProject": vendor.replace("_", " ").title(),
                "product": product.replace("_", " ").title(), "vulnerabilityName": name,
                "dateAdded": added.isoformat(), "shortDescription": record["descriptions"][0]["value"],
                "requiredAction": action, "dueDate": (added + timedelta(days=21)).isoformat(),
                "knownRansomwareCampaignUse": "Known" if rng.random() < 0.15 else "Unknown",
                "notes": f"https://nvd.nist.gov/vuln/detail/{cve_id}", "cwes": [cwe] if cwe.startswith("CWE") else [],
            })  # fmt: skip
        return record

    def _is_kev(self, on_catalog: bool, rate: float) -> bool:
        if on_catalog:
            return self._catalog_done in (3, 11, 29, 47, 71)  # a few for the hospital's products
        return self.rng.random() < rate

    def _generic_config(self) -> tuple[list[dict[str, Any]], str, str, str, float]:
        """A record on a generic product: ``(configurations, vendor, product, text, KEV chance)``.

        As in the real NVD, a record concerns one release line: the range starts at one listed version and ends
        at the next (rarely two further), so one version of a library collects tens of records, not hundreds;
        a few records have no lower bound (every older version too).
        """
        rng = self.rng
        versions: tuple[str, ...]
        if self._generic_done < len(GENERIC_PRODUCTS):  # every generic product named at least once, even in small feeds
            part, vendor, product, versions = GENERIC_PRODUCTS[self._generic_done]
            self._generic_done += 1
            kev_rate = _KEV_RATE.get(product, 0.0)
        elif rng.random() < TAIL_SHARE:
            number = rng.randrange(_TAIL_VENDORS)
            part, vendor, product, versions = "a", f"vendor{number}", f"product{number % 7}", _TAIL_VERSIONS
            kev_rate = _TAIL_KEV_RATE
        else:
            part, vendor, product, versions = rng.choices(GENERIC_PRODUCTS, _WEIGHTS)[0]
            kev_rate = _KEV_RATE.get(product, 0.0)
        matches: list[dict[str, Any]] = []
        if len(versions) == 1:
            matches.append(_match(f"cpe:2.3:{part}:{vendor}:{product}:-:*:*:*:*:*:*:*", True))
        else:
            for _ in range(1 + (rng.random() < 0.2)):
                lo = rng.randrange(len(versions) - 1)
                hi = min(len(versions) - 1, lo + 1 + (rng.random() < 0.15))
                bounds = {"versionEndExcluding": versions[hi]}
                if rng.random() < 0.93:
                    bounds = {"versionStartIncluding": versions[lo], **bounds}
                matches.append(_match(f"cpe:2.3:{part}:{vendor}:{product}:*:*:*:*:*:*:*:*", True, **bounds))
        configurations: list[dict[str, Any]] = [{"nodes": [{"operator": "OR", "negate": False, "cpeMatch": matches}]}]
        if part == "a" and rng.random() < 0.15:  # application running on an operating system
            platform = {"operator": "OR", "negate": False, "cpeMatch": [
                _match("cpe:2.3:o:microsoft:windows:-:*:*:*:*:*:*:*", False),
                _match("cpe:2.3:o:linux:linux_kernel:-:*:*:*:*:*:*:*", False)]}  # fmt: skip
            configurations = [{"operator": "AND", "nodes": [configurations[0]["nodes"][0], platform]}]
        text = product if product.startswith(vendor) else f"{vendor} {product}"
        return configurations, vendor, product, text, kev_rate

    def _catalog_config(self, model: CatalogModel) -> tuple[list[dict[str, Any]], str, str, str]:
        rng = self.rng
        vendor, name = slug(model.manufacturer), slug(model.model)
        firmware = bool(model.firmware_versions) and (not model.software_versions or rng.random() < 0.6)
        versions = model.firmware_versions if firmware else model.software_versions
        product = f"{name}_firmware" if firmware else name
        part = "o" if firmware else "a"
        criteria = f"cpe:2.3:{part}:{vendor}:{product}:*:*:*:*:*:*:*:*"
        if not versions:
            match = _match(f"cpe:2.3:{part}:{vendor}:{product}:-:*:*:*:*:*:*:*", True)
        elif len(versions) == 1 or rng.random() < 0.3:
            match = _match(criteria, True, versionEndIncluding=rng.choice(versions))
        else:
            match = _match(criteria, True, versionEndExcluding=versions[rng.randrange(1, len(versions))])
        node = {"operator": "OR", "negate": False, "cpeMatch": [match]}
        if firmware:  # firmware AND the hardware it runs on
            hardware = _match(f"cpe:2.3:h:{vendor}:{name}:-:*:*:*:*:*:*:*", False)
            nodes = [node, {"operator": "OR", "negate": False, "cpeMatch": [hardware]}]
            return [{"operator": "AND", "nodes": nodes}], vendor, name, f"{model.manufacturer} {model.model}"
        return [{"nodes": [node]}], vendor, name, f"{model.manufacturer} {model.model}"


def _match(criteria: str, vulnerable: bool, **bounds: str) -> dict[str, Any]:
    key = "|".join((criteria, *bounds.values())).encode()
    digest = f"{zlib.crc32(key):08X}-{zlib.adler32(key) & 0xFFFF:04X}-4000-8000-{zlib.crc32(key[::-1]):012X}"
    return {"vulnerable": vulnerable, "criteria": criteria, **bounds, "matchCriteriaId": digest}
