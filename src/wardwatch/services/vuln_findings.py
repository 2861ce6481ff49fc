"""Stored vulnerability findings: match the inventory against the stored intelligence and keep the result.

One row per (device, vulnerability id, component) in ``vulnerability_findings`` (``component_ref`` ``""`` is the
device itself); ``detail`` is the finding as ``wardwatch findings --json`` prints it.  :func:`rematch` is
transactional and idempotent: a finding keeps its ``first_seen``; ``last_seen`` is the last match that found it;
``resolved_at`` is set when a match no longer finds it and cleared when it comes back.

How much is recomputed (:func:`rematch` decides, or is told):

* **full** — every device against every stored file: the first match, ``full=True``, a new file that is not an
  NVD page (CSAF, KEV, EPSS, SBOM, VEX, CVE 5, recalls), a removed file or a changed SBOM link.
* **incremental** — new NVD files only (an NVD delta): only those files are read; a record is *changed* when its
  ``lastModified`` is newer than the one last matched (``intel_records``).  The changed records, with the CSAF
  advisories, VEX, KEV and EPSS of the same ids, are matched against every distinct device profile, and only the
  stored rows of the changed ids are rewritten or resolved.
* **devices** — devices created or updated since the last match (or ``device_ids``): those devices only.

Devices with the same profile (manufacturer, model, OS, versions, product code and linked SBOM) have the same
findings: each distinct profile is matched once and the result is copied to its devices.
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine

from wardwatch.domain.intel import Sbom, Vulnerability
from wardwatch.domain.matching import DeviceProfile, IntelIndex, Match, match_device, model_key
from wardwatch.ingest.errors import IngestError
from wardwatch.reference import manufacturer_catalog
from wardwatch.services import model_security
from wardwatch.services.devices import find_device_id
from wardwatch.services.intel import (
    FindingFilter,
    IntelData,
    IntelImportReport,
    device_json,
    import_intel,
    match_json,
    read_intel,
    read_vulnerabilities,
    stored_files,
    stored_name,
)
from wardwatch.settings import Settings
from wardwatch.store import vuln_findings as repo
from wardwatch.store.database import ensure_ready
from wardwatch.store.errors import StoreError

__all__ = [
    "RematchReport",
    "SbomLinkError",
    "import_and_match",
    "link_sbom",
    "open_findings",
    "rematch",
    "stored_findings",
]

_RECORD_KINDS = frozenset({"nvd"})
"""New files of only these kinds are matched incrementally."""


class SbomLinkError(LookupError):
    """An SBOM cannot be linked to a device model as asked."""


@dataclass(slots=True)
class RematchReport:
    """What a :func:`rematch` did."""

    mode: str
    """``full``, ``incremental``, ``devices``, ``vulnerabilities`` or ``unchanged`` (joined with ``+``)."""
    devices: int = 0
    """Devices matched."""
    profiles: int = 0
    """Distinct device profiles matched."""
    vulnerabilities: int | None = None
    """Vulnerability ids recomputed (``None``: all)."""
    found: int = 0
    """Findings in scope after the match."""
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    resolved: int = 0
    reopened: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per step (read, match, store)."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "mode": self.mode, "devices": self.devices, "profiles": self.profiles,
            "vulnerabilities": self.vulnerabilities, "found": self.found, "new": self.new, "updated": self.updated,
            "unchanged": self.unchanged, "resolved": self.resolved, "reopened": self.reopened,
            "seconds": round(self.seconds, 3), "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }  # fmt: skip

    def add(self, other: RematchReport) -> None:
        """Fold a second pass into this report."""
        self.mode = other.mode if self.mode == "unchanged" else f"{self.mode}+{other.mode}"
        self.devices = max(self.devices, other.devices)
        self.profiles = max(self.profiles, other.profiles)
        if self.vulnerabilities is not None:
            more = other.vulnerabilities
            self.vulnerabilities = None if more is None else self.vulnerabilities + more
        for name in ("found", "new", "updated", "unchanged", "resolved", "reopened"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for step, seconds in other.timings.items():
            self.timings[step] = self.timings.get(step, 0.0) + seconds


# ---------------------------------------------------------------------------------------------------- digests


def record_digest(vuln: Vulnerability) -> str:
    """A record's version: its ``lastModified`` (NVD changes it with every change), else a content hash."""
    if vuln.modified is not None:
        return vuln.modified.astimezone(UTC).strftime("m:%Y-%m-%dT%H:%M:%S.%f")
    return "h:" + hashlib.blake2b(repr(vuln).encode(), digest_size=14).hexdigest()


def _newer(digest: str, stored: str | None) -> bool:
    if stored is None:
        return True
    if digest.startswith("m:") and stored.startswith("m:"):
        return digest > stored
    return digest != stored


# ---------------------------------------------------------------------------------------------------- profiles


_PROFILE_FIELDS = ("manufacturer", "model", "os_name", "os_version", "firmware_version", "software_version",
                   "fda_product_code")  # fmt: skip


@dataclass(slots=True)
class SbomLinks:
    """SBOM links resolved against the read SBOMs."""

    by_model: dict[tuple[str, str], Sbom]
    index: IntelIndex

    def sbom_for(self, manufacturer: str | None, model: str | None) -> Sbom | None:
        """The SBOM linked to a device model, if any."""
        if not manufacturer or not model or not self.by_model:
            return None
        return self.by_model.get((self.index.vendor_key(manufacturer), model_key(manufacturer, model)))


def sbom_links_for(connection: Connection, data: IntelData, index: IntelIndex) -> SbomLinks:
    """The stored SBOM links, resolved to the SBOMs read in ``data``."""
    found: dict[tuple[str, str], Sbom] = {}
    for row in repo.sbom_link_rows(connection):
        sbom = data.sboms.get(row["sbom"])
        if sbom is not None:
            found[(row["vendor_key"], row["model_key"])] = sbom
    return SbomLinks(found, index)


def group_profiles(devices: Iterable[dict[str, Any]]) -> dict[tuple[Any, ...], list[dict[str, Any]]]:
    """Devices grouped by what matching reads of them (devices of one group have the same findings)."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for device in devices:
        groups[tuple(device[name] for name in _PROFILE_FIELDS)].append(device)
    return groups


def profile_of(key: tuple[Any, ...], sbom: Sbom | None) -> DeviceProfile:
    """The matching profile of a group (``device_id`` empty), with the linked SBOM's components and VEX."""
    values = dict(zip(_PROFILE_FIELDS, key, strict=True))
    return DeviceProfile(
        device_id="",
        manufacturer=values["manufacturer"],
        model=values["model"],
        os_name=values["os_name"],
        os_version=values["os_version"],
        firmware_version=values["firmware_version"],
        software_version=values["software_version"],
        product_code=values["fda_product_code"],
        components=sbom.components if sbom is not None else (),
        vex=sbom.vex if sbom is not None else (),
    )


def _scalars(match: Match) -> tuple[Any, ...]:
    """(vulnerability id, component ref, source ... cvss vector): the scalar columns of a finding."""
    cvss = match.cvss
    return (
        match.vulnerability_id[:80],
        (match.component_ref or "")[:300],
        match.source[:300],
        match.confidence.value,
        match.vex_status.value if match.vex_status else None,
        match.suppressed,
        match.kev is not None,
        match.epss.epss if match.epss else None,
        match.epss.percentile if match.epss else None,
        cvss.base_score if cvss else None,
        cvss.vector[:300] if cvss else None,
    )


def _rows(
    groups: dict[tuple[Any, ...], list[dict[str, Any]]], links: SbomLinks, index: IntelIndex, wanted: set[str] | None
) -> Iterable[tuple[Any, ...]]:
    """Every finding row (:data:`repo.FINDING_COLUMNS` order); each profile matched once."""
    for key, members in groups.items():
        profile = profile_of(key, links.sbom_for(key[0], key[1]))
        found = match_device(profile, index, ordered=False)
        matches = [m for m in found if wanted is None or m.vulnerability_id in wanted]
        if not matches:
            continue
        prepared = [(_scalars(m), orjson.dumps(match_json(m))[1:]) for m in matches]
        for device in members:
            head = b'{"device":' + orjson.dumps(device_json(device)) + b","
            for scalars, rest in prepared:
                detail = head + rest
                yield (device["id"], *scalars, detail.decode(), hashlib.blake2b(detail, digest_size=16).hexdigest())


# ---------------------------------------------------------------------------------------------------- rematch


def _write(
    connection: Connection,
    rows: Iterable[tuple[Any, ...]],
    device_ids: Sequence[int] | None,
    vulnerability_ids: Sequence[str] | None,
    now: datetime,
    report: RematchReport,
) -> None:
    old = repo.existing(connection, device_ids, vulnerability_ids)
    both = device_ids is not None and vulnerability_ids is not None
    if both:  # the scope is these devices' rows *of these vulnerabilities*
        only = set(vulnerability_ids or ())
        old = {key: value for key, value in old.items() if key[1] in only}
    kept: list[int] = []
    seen: set[repo.Key] = set()
    inserts: list[tuple[Any, ...]] = []
    updates: list[tuple[int, tuple[Any, ...]]] = []
    for row in rows:
        key = (int(row[0]), str(row[1]), str(row[2]))
        if key in seen:
            continue
        seen.add(key)
        previous = old.get(key)
        if previous is None:
            inserts.append(row)
        elif previous[2]:
            updates.append((previous[0], row))
            report.reopened += 1
        elif previous[1] != row[-1]:
            updates.append((previous[0], row))
            report.updated += 1
        else:
            report.unchanged += 1
            kept.append(previous[0])
    gone = [value[0] for key, value in old.items() if not value[2] and key not in seen]
    report.found += len(seen)
    report.new += len(inserts)
    report.resolved += len(gone)
    repo.resolve_findings(connection, gone, now)
    if both:
        repo.touch_rows(connection, kept, now)
    else:
        repo.touch_open(connection, device_ids, vulnerability_ids, now)
    repo.update_findings(connection, updates, now)
    repo.insert_findings(connection, inserts, now)


def _nvd_digests(data: IntelData) -> dict[str, str]:
    latest: dict[str, Vulnerability] = {}
    for vuln in data.parsed.vulnerabilities:
        if vuln.source == "nvd":
            previous = latest.get(vuln.id)
            if previous is None or record_digest(vuln) > record_digest(previous):
                latest[vuln.id] = vuln
    return {vuln_id: record_digest(vuln) for vuln_id, vuln in latest.items()}


def _full(
    engine: Engine, settings: Settings, device_ids: Sequence[int] | None, wanted: set[str] | None, now: datetime
) -> RematchReport:
    mode = "devices" if device_ids is not None else "vulnerabilities" if wanted is not None else "full"
    report = RematchReport(mode, vulnerabilities=None if wanted is None else len(wanted))
    started = time.perf_counter()
    files = stored_files(settings)
    data = read_intel(settings)
    index = data.index()
    report.timings["read"] = time.perf_counter() - started
    with engine.begin() as connection:
        devices = repo.load_devices(connection, device_ids)
        groups = group_profiles(devices)
        report.devices, report.profiles = len(devices), len(groups)
        step = time.perf_counter()
        rows = list(_rows(groups, sbom_links_for(connection, data, index), index, wanted))
        report.timings["match"] = time.perf_counter() - step
        step = time.perf_counter()
        _write(connection, rows, device_ids, None if wanted is None else sorted(wanted), now, report)
        if mode == "full":
            repo.replace_digests(connection, _nvd_digests(data), everything=True)
            repo.record_files(connection, ((stored_name(k, p), k) for k, p in files), now, everything=True)
            repo.set_state(connection, "needs_full", None)
            repo.set_state(connection, "matched_at", now.isoformat())
        report.timings["store"] = time.perf_counter() - step
    return report


def _incremental(engine: Engine, settings: Settings, new: list[tuple[str, str]], now: datetime) -> RematchReport:
    report = RematchReport("incremental", vulnerabilities=0)
    started = time.perf_counter()
    records: dict[str, Vulnerability] = {}
    for vuln in read_vulnerabilities(settings, [name for name, _ in new]):
        previous = records.get(vuln.id)
        if vuln.source == "nvd" and (previous is None or record_digest(vuln) > record_digest(previous)):
            records[vuln.id] = vuln
    with engine.connect() as connection:
        stored = repo.record_digests(connection, list(records))
    changed = {i: v for i, v in records.items() if _newer(record_digest(v), stored.get(i))}
    report.vulnerabilities = len(changed)
    data = read_intel(settings, skip=[stored_name(k, p) for k, p in stored_files(settings) if k == "nvd"])
    others = [v for v in data.parsed.vulnerabilities if v.id in changed]  # CVE 5 records of the same ids
    index = data.index([*changed.values(), *others])
    report.timings["read"] = time.perf_counter() - started
    with engine.begin() as connection:
        if changed:
            devices = repo.load_devices(connection)
            groups = group_profiles(devices)
            report.devices, report.profiles = len(devices), len(groups)
            step = time.perf_counter()
            rows = list(_rows(groups, sbom_links_for(connection, data, index), index, set(changed)))
            report.timings["match"] = time.perf_counter() - step
            step = time.perf_counter()
            _write(connection, rows, None, sorted(changed), now, report)
            repo.replace_digests(connection, {i: record_digest(v) for i, v in changed.items()}, everything=False)
            report.timings["store"] = time.perf_counter() - step
        repo.record_files(connection, new, now, everything=False)
    return report


def rematch(
    engine: Engine,
    settings: Settings,
    device_ids: Sequence[int] | None = None,
    vulnerability_ids: Iterable[str] | None = None,
    *,
    full: bool = False,
) -> RematchReport:
    """Bring the stored findings up to date with the stored intelligence and the inventory.

    Without arguments only what changed since the last match is recomputed (see the module docstring);
    ``full=True`` recomputes everything; ``device_ids`` / ``vulnerability_ids`` recompute just those.
    """
    ensure_ready(engine)
    started = time.perf_counter()
    now = datetime.now(UTC)
    wanted = set(vulnerability_ids) if vulnerability_ids is not None else None
    if device_ids is not None or wanted is not None:
        report = _full(engine, settings, device_ids, wanted, now)
        report.seconds = time.perf_counter() - started
        return report
    files = {stored_name(k, p): k for k, p in stored_files(settings)}
    with engine.connect() as connection:
        matched = repo.matched_files(connection)
        last = repo.matched_at(connection)
        needs_full = repo.get_state(connection, "needs_full") is not None
        changed_devices = repo.changed_device_ids(connection, last) if last is not None else []
    new = sorted((name, kind) for name, kind in files.items() if name not in matched)
    if full or last is None or needs_full or (matched - set(files)) or any(k not in _RECORD_KINDS for _, k in new):
        report = _full(engine, settings, None, None, now)
    else:
        report = RematchReport("unchanged", vulnerabilities=0)
        if new:
            report.add(_incremental(engine, settings, new, now))
        if changed_devices:
            report.add(_full(engine, settings, changed_devices, None, now))
        with engine.begin() as connection:
            repo.set_state(connection, "matched_at", now.isoformat())
    report.seconds = time.perf_counter() - started
    return report


def is_current(engine: Engine, settings: Settings) -> bool:
    """Whether the stored findings reflect every stored file, SBOM link and device (nothing to re-match)."""
    ensure_ready(engine)
    files = {stored_name(k, p) for k, p in stored_files(settings)}
    with engine.connect() as connection:
        last = repo.matched_at(connection)
        if last is None:
            return not files
        if repo.get_state(connection, "needs_full") is not None or repo.matched_files(connection) != files:
            return False
        return not repo.changed_device_ids(connection, last)


# ---------------------------------------------------------------------------------------------------- reading


def open_findings(engine: Engine, device_ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """Every open (unresolved) stored finding, suppressed ones included, for other services (risk scoring)."""
    ensure_ready(engine)
    with engine.connect() as connection:
        details = list(repo.query_findings(connection, device_ids=device_ids, include_suppressed=True))
    return [orjson.loads(detail) for detail in details]


def stored_findings(
    engine: Engine, settings: Settings, device_ref: str | None = None, filters: FindingFilter | None = None
) -> list[dict[str, Any]]:
    """The stored findings (re-matched first if anything changed), filtered, as ``wardwatch findings`` prints."""
    where = filters or FindingFilter()
    wanted = [find_device_id(engine, device_ref)] if device_ref is not None else None
    if not is_current(engine, settings):
        rematch(engine, settings)
    with engine.connect() as connection:
        details = list(
            repo.query_findings(
                connection,
                device_ids=wanted,
                kev=where.kev,
                min_cvss=where.min_cvss,
                status=where.status,
                confidence=where.confidence,
                include_suppressed=where.include_suppressed,
            )
        )
    return [orjson.loads(detail) for detail in details]


# ---------------------------------------------------------------------------------------------------- SBOM links


def _split_model(engine: Engine, text: str, manufacturer: str | None) -> tuple[str, str]:
    """(manufacturer, model) of ``--model`` text: the inventory's models first, then the manufacturer catalog."""
    words = text.split()
    if manufacturer:
        return manufacturer.strip(), text.strip()
    if len(words) < 2:
        raise SbomLinkError(f"--model {text!r} must name the manufacturer and the model, e.g. 'BD Alaris 8015'")
    index = IntelIndex(manufacturer_catalog().normalize)
    splits = [(" ".join(words[:i]), " ".join(words[i:])) for i in range(len(words) - 1, 0, -1)]
    with engine.connect() as connection:
        known = {(index.vendor_key(d["manufacturer"]), model_key(d["manufacturer"], d["model"]))
                 for d in repo.load_devices(connection) if d["manufacturer"] and d["model"]}  # fmt: skip
    for vendor, model in splits:
        if (index.vendor_key(vendor), model_key(vendor, model)) in known:
            return vendor, model
    catalog = manufacturer_catalog()
    for vendor, model in splits:
        found = catalog.normalize(vendor)
        if found is not None and found.known and found.confidence >= 1.0:
            return vendor, model
    raise SbomLinkError(
        f"--model {text!r}: no device model of the inventory and no known manufacturer starts it; "
        "give --manufacturer too"
    )


def link_sbom(engine: Engine, sbom: str, manufacturer: str, model: str, *, explicit: bool) -> bool:
    """Link the stored SBOM ``sbom`` (``<kind>/<file>``) to a device model; True if the link changed."""
    index = IntelIndex(manufacturer_catalog().normalize)
    row = {
        "vendor_key": index.vendor_key(manufacturer),
        "model_key": model_key(manufacturer, model),
        "manufacturer": manufacturer[:200],
        "model": model[:200],
        "sbom": sbom,
        "linked_by": "explicit" if explicit else "metadata",
        "linked_at": datetime.now(UTC),
    }
    if not row["model_key"]:
        raise SbomLinkError(f"the model {model!r} has no identifying words; give the model name")
    with engine.begin() as connection:
        changed = repo.upsert_link(connection, row, override=explicit)
        if changed:
            repo.set_state(connection, "needs_full", "sbom link")
    return changed


def _ready(engine: Engine | None) -> bool:
    if engine is None:
        return False
    try:
        ensure_ready(engine)
    except StoreError:
        return False
    return True


def import_and_match(
    engine: Engine | None,
    settings: Settings,
    paths: Sequence[str | Path],
    *,
    model: str | None = None,
    manufacturer: str | None = None,
    match: bool = True,
) -> tuple[IntelImportReport, list[tuple[str, str, str]], RematchReport | None]:
    """Import files, link their SBOMs to device models, re-match: (import report, links made, rematch report).

    An SBOM is linked to ``model`` when given, else to the product its metadata names (supplier and name).
    Without a database (``engine`` ``None`` or not initialised) the files are only stored, not linked or matched.
    """
    if not _ready(engine):
        if model is not None:
            raise SbomLinkError("--model needs the database: run `wardwatch init` first")
        return import_intel(settings, paths), [], None
    assert engine is not None  # noqa: S101 - _ready checked it
    split = _split_model(engine, model, manufacturer) if model is not None else None
    report = import_intel(settings, paths, explicit_model=split is not None)
    sboms = [item for item in report.files if item.product is not None]
    forms = [(item.name, item.form) for item in report.files if item.form is not None]
    if split is not None and not sboms and not forms:
        raise IngestError(", ".join(map(str, paths)), "has no SBOM with components and no MDS2 form to link to "
                          "--model", tip="give a CycloneDX or SPDX SBOM, or an MDS2 form")  # fmt: skip
    links: list[tuple[str, str, str]] = []
    for item in sboms:
        supplier, name = item.product or (None, None)
        target = split if split is not None else (supplier, name) if supplier and name else None
        if target is None or target[0] is None or target[1] is None:
            continue
        if link_sbom(engine, item.name, target[0], target[1], explicit=split is not None) or split is not None:
            links.append((item.name, target[0], target[1]))
    if forms:
        form_links = model_security.link_forms(engine, forms, split)
        links += form_links
        model_security.rescore_models(engine, [(maker, name) for _, maker, name in form_links])
    return report, links, rematch(engine, settings) if match else None
