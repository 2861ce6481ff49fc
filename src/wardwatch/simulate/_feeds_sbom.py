"""Simulated CycloneDX 1.5 device SBOMs: real open-source packages at plausible versions, plus a few VEX statements."""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path
from typing import Any

from wardwatch.simulate._catalog import CatalogModel
from wardwatch.simulate._feeds_nvd import GENERIC_PRODUCTS, slug

#: ``purl without version`` -> versions; the embedded-Linux set, what any device ships, Windows/.NET, Java.
_LINUX = """
pkg:generic/linux@2.6.32.71 3.10.108 4.4.302 4.14.98 4.19.282 5.4.238 5.10.180
pkg:generic/busybox@1.24.2 1.27.2 1.31.1 1.33.1 1.35.0
pkg:generic/glibc@2.17 2.24 2.28 2.31
pkg:generic/uclibc-ng@1.0.31 1.0.42
pkg:generic/dropbear@2016.74 2019.78 2020.81
pkg:generic/openssh@7.4p1 8.4p1 9.3p2
pkg:generic/dnsmasq@2.76 2.80 2.85
pkg:generic/wpa_supplicant@2.6 2.9 2.10
pkg:generic/iptables@1.6.1 1.8.4
pkg:generic/u-boot@2016.11 2019.07 2021.01
pkg:generic/util-linux@2.29.2 2.33.1 2.36.1
pkg:generic/e2fsprogs@1.43.4 1.45.6
pkg:generic/systemd@232 241 247
pkg:generic/dbus@1.10.28 1.12.20
pkg:generic/lighttpd@1.4.45 1.4.59
pkg:generic/ntp@4.2.8p10 4.2.8p15
pkg:generic/net-snmp@5.7.3 5.9
pkg:generic/avahi@0.7 0.8
pkg:generic/bash@4.4.12 5.0.3 5.1.4
pkg:generic/libgcc@6.3.0 8.3.0 10.2.1
pkg:generic/ncurses@6.0 6.1 6.2
pkg:generic/readline@7.0 8.0 8.1
pkg:generic/libusb@1.0.21 1.0.24
pkg:generic/alsa-lib@1.1.3 1.2.4
pkg:generic/qt@5.6.3 5.9.8 5.15.2
"""
_COMMON = """
pkg:generic/openssl@1.0.2k 1.0.2u 1.1.1k 1.1.1n 1.1.1w 3.0.7 3.0.13
pkg:generic/zlib@1.2.8 1.2.11 1.2.12 1.2.13
pkg:generic/curl@7.29.0 7.64.0 7.79.1 7.88.1 8.4.0
pkg:generic/sqlite@3.22.0 3.31.1 3.39.2 3.44.0
pkg:generic/libxml2@2.9.4 2.9.10 2.9.14 2.10.3
pkg:generic/libpng@1.6.34 1.6.37 1.6.40
pkg:generic/libjpeg-turbo@1.5.3 2.0.6 2.1.5
pkg:generic/expat@2.2.6 2.4.7 2.5.0
pkg:generic/pcre@8.39 8.44 8.45
pkg:generic/freetype@2.8.1 2.10.4 2.13.0
pkg:generic/libtiff@4.0.9 4.1.0 4.5.0
pkg:generic/dcmtk@3.6.2 3.6.5 3.6.7
pkg:generic/protobuf@3.6.1 3.12.4 3.21.12
pkg:generic/lwip@2.0.3 2.1.2
pkg:generic/mbedtls@2.16.9 2.28.3 3.4.0
pkg:generic/jsoncpp@1.8.4 1.9.5
pkg:generic/boost@1.66.0 1.71.0 1.81.0
pkg:generic/icu@60.2 66.1 72.1
pkg:generic/libssh2@1.8.0 1.9.0 1.10.0
pkg:generic/c-ares@1.14.0 1.17.1 1.19.1
pkg:npm/jquery@1.12.4 3.4.1 3.6.0
pkg:npm/bootstrap@3.3.7 4.6.0 5.2.3
pkg:npm/angular@1.5.8 1.7.9
pkg:npm/moment@2.22.2 2.29.1 2.29.4
pkg:npm/lodash@4.17.11 4.17.19 4.17.21
"""
_WINDOWS = """
pkg:nuget/Newtonsoft.Json@9.0.1 11.0.2 12.0.3 13.0.1
pkg:nuget/log4net@1.2.10 2.0.8 2.0.15
pkg:nuget/NLog@4.5.11 4.7.15 5.1.0
pkg:nuget/System.Data.SQLite@1.0.109.2 1.0.113.0
pkg:nuget/Microsoft.Data.SqlClient@2.1.4 4.0.1 5.1.1
pkg:nuget/fo-dicom@3.0.2 4.0.7 5.0.3
pkg:nuget/Castle.Core@4.3.1 4.4.1
pkg:nuget/Autofac@4.9.4 6.4.0
pkg:nuget/DotNetZip@1.11.0 1.16.0
pkg:nuget/BouncyCastle@1.8.5 1.8.9
pkg:nuget/Microsoft.AspNet.WebApi.Core@5.2.3 5.2.7 5.2.9
pkg:nuget/EntityFramework@6.2.0 6.4.4
pkg:nuget/Serilog@2.8.0 2.10.0 2.12.0
pkg:generic/7-zip@16.04 19.00 22.01
pkg:generic/notepad-plus-plus@7.5.9 8.4.6
"""
_JAVA = """
pkg:maven/org.apache.logging.log4j/log4j-core@2.8.2 2.11.1 2.14.1 2.17.1
pkg:maven/org.apache.logging.log4j/log4j-api@2.8.2 2.11.1 2.14.1 2.17.1
pkg:maven/log4j/log4j@1.2.17
pkg:maven/org.springframework/spring-core@4.3.18.RELEASE 5.2.9.RELEASE 5.3.18
pkg:maven/org.springframework/spring-web@4.3.18.RELEASE 5.2.9.RELEASE 5.3.18
pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.9.8 2.10.5 2.12.6 2.13.4
pkg:maven/org.apache.tomcat.embed/tomcat-embed-core@8.5.38 9.0.41 9.0.62
pkg:maven/commons-collections/commons-collections@3.2.1 3.2.2
pkg:maven/commons-io/commons-io@2.5 2.6 2.11.0
pkg:maven/org.apache.commons/commons-text@1.8 1.9 1.10.0
pkg:maven/com.google.guava/guava@20.0 28.2-jre 31.1-jre
pkg:maven/org.dcm4che/dcm4che-core@3.3.8 5.22.6 5.29.2
pkg:maven/ca.uhn.hapi/hapi-base@2.1 2.3
pkg:maven/org.hibernate/hibernate-core@4.3.11.Final 5.4.24.Final
pkg:maven/org.bouncycastle/bcprov-jdk15on@1.60 1.68 1.70
"""


def _pool(text: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    rows = (line.split(" ", 1)[0].rsplit("@", 1) + line.split(" ")[1:] for line in text.strip().splitlines())
    return tuple((row[0], (row[1], *row[2:])) for row in rows)


LINUX, COMMON, WINDOWS, JAVA = _pool(_LINUX), _pool(_COMMON), _pool(_WINDOWS), _pool(_JAVA)
#: Generator kinds whose software runs on a Java application server (log4j and friends).
JAVA_KINDS = frozenset({"pacs", "imaging_workstation", "lab_analyzer", "central_station", "linac", "ct", "mri"})
_JUSTIFICATIONS = (
    "code_not_reachable",
    "code_not_present",
    "requires_configuration",
    "protected_by_mitigating_control",
)


def _supplier(purl: str) -> str:
    name = purl.split("/")[-1]
    return {"linux": "The Linux Foundation", "openssl": "OpenSSL Software Foundation"}.get(name, f"{name} project")


def sbom(model: CatalogModel, seed: int, cves_by_product: dict[str, list[str]]) -> dict[str, Any]:
    """The CycloneDX 1.5 BOM of one networked model: 30-80 components, a few VEX ``not_affected`` statements."""
    rng = random.Random(f"{seed}:sbom:{model.key}")  # noqa: S311 - simulation, not security
    os_name = (model.os or "").lower()
    pool = list(COMMON)
    if "windows" in os_name:
        pool += WINDOWS
    else:
        pool += LINUX if ("linux" in os_name or "android" in os_name or not model.os) else LINUX[2:8]
    if model.kind in JAVA_KINDS or rng.random() < 0.15:
        pool += JAVA
    count = rng.randint(min(30, len(pool)), min(80, len(pool)))
    chosen = sorted(rng.sample(range(len(pool)), count))
    components: list[dict[str, Any]] = []
    for index in chosen:
        base, versions = pool[index]
        version = rng.choice(versions)
        purl = f"{base}@{version}"
        name = base.rsplit("/", 1)[1]
        group = base.split("/")[1] if base.startswith("pkg:maven/") else None
        component: dict[str, Any] = {"type": "library" if "/linux" not in base else "operating-system",
                                     "bom-ref": purl, "name": name, "version": version, "purl": purl}  # fmt: skip
        if group:
            component["group"] = group
        cpe = _cpe(name, version)
        if cpe is not None:  # as manufacturers' SBOMs do (the two real ones in tests/fixtures carry CPEs)
            component["cpe"] = cpe
        if base.startswith("pkg:generic/"):
            component["supplier"] = {"name": _supplier(base)}
        components.append(component)
    version = (model.software_versions or model.firmware_versions or ("1.0",))[-1]
    serial = uuid.UUID(int=rng.getrandbits(128), version=4)
    vulnerabilities: list[dict[str, Any]] = []
    for component in components:
        ids = cves_by_product.get(_nvd_product(component["name"]), [])
        if ids and len(vulnerabilities) < 4 and rng.random() < 0.5:
            vulnerabilities.append({
                "id": ids[0], "source": {"name": "NVD", "url": f"https://nvd.nist.gov/vuln/detail/{ids[0]}"},
                "analysis": {"state": "not_affected", "justification": rng.choice(_JUSTIFICATIONS),
                             "detail": f"The vulnerable code of {component['name']} is not used by {model.model}."},
                "affects": [{"ref": component["bom-ref"]}],
            })  # fmt: skip
    bom: dict[str, Any] = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{serial}",
        "version": 1,
        "metadata": {
            "timestamp": "2025-03-01T00:00:00Z",
            "authors": [{"name": f"{model.manufacturer} Product Security"}],
            "component": {
                "type": "device",
                "bom-ref": f"device:{model.key}",
                "name": model.model,
                "version": version,
                "manufacturer": {"name": model.manufacturer},
                "supplier": {"name": model.manufacturer},
            },
            "supplier": {"name": model.manufacturer},
        },  # fmt: skip
        "components": components,
    }
    if vulnerabilities:
        bom["vulnerabilities"] = vulnerabilities
    return bom


def _cpe(name: str, version: str) -> str | None:
    """The CPE 2.3 name of a component the NVD feed names (same vendor and product as ``GENERIC_PRODUCTS``)."""
    product = _nvd_product(name)
    for part, vendor, nvd_product, _ in GENERIC_PRODUCTS:
        if nvd_product == product:
            return f"cpe:2.3:{part}:{vendor}:{nvd_product}:{version}:*:*:*:*:*:*:*"
    return None


def _nvd_product(name: str) -> str:
    return {"linux": "linux_kernel", "log4j-core": "log4j", "dropbear": "dropbear_ssh"}.get(name, name)


def write_sboms(models: tuple[CatalogModel, ...], seed: int, out: Path, cves: dict[str, list[str]]) -> list[Path]:
    """Write ``<out>/<model key>.cdx.json`` for each networked model; returns the paths in catalog order."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for model in models:
        if not model.networked:
            continue
        path = out / f"{slug(model.key)}.cdx.json"
        path.write_text(json.dumps(sbom(model, seed, cves), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        paths.append(path)
    return paths
