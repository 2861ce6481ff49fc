"""MDS2 forms (2019 question set, CSV export) for some of the catalog's models, as manufacturers publish them.

Hospitals hold forms for only part of their fleet: about two models in three get one.  The answers follow the
model's catalog facts (networked, wireless, PHI, operating system, end of support) and, where the catalog is
silent, a seeded draw (login, allow-listing, encryption...).  A model with no network interface says so (RMOT,
CONN and MPII-3.x all "No"): risk then lowers network attack vectors on it.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

from wardwatch.simulate._catalog import CatalogModel
from wardwatch.simulate._feeds_nvd import slug

__all__ = ["write_mds2_forms"]

_SHARE = 0.65


def _yes(flag: bool) -> str:
    return "Yes" if flag else "No"


def _answers(model: CatalogModel, rng: random.Random) -> list[tuple[str, str, str, str]]:
    windows = bool(model.os and "windows" in model.os.lower())
    os_note = " ".join(x for x in (model.os, model.os_versions[0] if model.os_versions else "") if x)
    login = model.networked and rng.random() < 0.7
    remote = model.networked and rng.random() < 0.6
    rows = [
        ("DOC-1", "Manufacturer Name", model.manufacturer, ""),
        ("DOC-2", "Device Description", model.description, ""),
        ("DOC-3", "Device Model", model.model, ""),
        ("DOC-7", "Document Release Date", f"{max(model.release_year, 2019)}-06-01", ""),
        ("DOC-8", "Coordinated vulnerability disclosure program?", _yes(rng.random() < 0.6), ""),
        ("MPII-1", "Can this device display, transmit, store, or modify PII?", _yes(model.phi), ""),
        ("MPII-2", "Does the device maintain PII?", _yes(model.phi), ""),
        ("MPII-2.2", "Does the device store PII persistently on internal media?", _yes(model.phi and windows), ""),
        ("MPII-3", "Does the device have mechanisms used for transmitting PII?", _yes(model.phi and model.networked),
         ""),
        ("MPII-3.6", "Does the device transmit/receive PII via a wireless connection?", _yes(model.wireless), ""),
        ("MPII-3.7", "Does the device transmit/receive PII over an external network?", _yes(model.networked), ""),
        ("AUTH-1", "Does the device prevent access to unauthorized users through login requirements?", _yes(login),
         ""),
        ("PAUT-1", "Does the device support unique user IDs and passwords?", _yes(login and rng.random() < 0.5), ""),
        ("ALOF-1", "Can the device be configured to force reauthorization after inactivity?", _yes(login), ""),
        ("AUDT-2", "Does the device record events in an audit log?", _yes(rng.random() < 0.6), ""),
        ("RMOT-1", "Does the device permit remote service connections?", _yes(remote), ""),
        ("RMOT-2", "Does the device permit or use remote service connections for predictive maintenance?",
         _yes(remote and rng.random() < 0.5), ""),
        ("RMOT-3", "Does the device have any other remotely accessible functionality?", "No", ""),
        ("MLDP-2", "Does the device support the use of anti-malware software?", _yes(windows and rng.random() < 0.7),
         ""),
        ("MLDP-4", "Does the device employ application allow-listing?", _yes(windows and rng.random() < 0.35), ""),
        ("CONN-1.1.1", "Does the device support Wi-Fi?", _yes(model.wireless), ""),
        ("CONN-1.1.2", "Does the device support Bluetooth?", "No", ""),
        ("CONN-1.1.3", "Does the device support other wireless network technology?", "No", ""),
        ("CONN-4", "Does the device communicate with other systems on the customer network?", _yes(model.networked),
         ""),
        ("CONN-7", "Does the device use TLS?", _yes(model.networked and rng.random() < 0.5), ""),
        ("STCF-1", "Can the device encrypt data at rest?", _yes(rng.random() < 0.4), ""),
        ("TXCF-2", "Is PII encrypted prior to transmission?", _yes(model.networked and rng.random() < 0.5), ""),
        ("CSUP-2", "Does the device contain an operating system?", _yes(bool(model.os)), os_note),
        ("CSUP-2.3", "Does the device have the capability to receive remote installation of patches?",
         _yes(model.networked and rng.random() < 0.4), ""),
        ("SBOM-1", "Is the SBOM for this product available?", _yes(model.networked), ""),
        ("SAHD-1", "Is the device hardened in accordance with any industry standards?", _yes(rng.random() < 0.5), ""),
    ]  # fmt: skip
    support = f"End of support: {model.end_of_support.isoformat()}" if model.end_of_support else ""
    rows.append(("RDMP-3", "Does the manufacturer have a plan for managing third-party component end-of-life?",
                 "Yes", support))  # fmt: skip
    return rows


def write_mds2_forms(models: tuple[CatalogModel, ...], seed: int, out: Path) -> list[Path]:
    """Write ``<out>/<model key>.mds2.csv`` for about two models in three; returns the paths in catalog order."""
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for model in models:
        rng = random.Random(f"{seed}:mds2:{model.key}")  # noqa: S311 - simulation, not security
        if rng.random() >= _SHARE:
            continue
        path = out / f"{slug(model.key)}.mds2.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["question_id", "question", "answer", "note"])
            writer.writerows(_answers(model, rng))
        paths.append(path)
    return paths
