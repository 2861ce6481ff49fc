"""Vulnerability intelligence: import advisory/feed files into the data folder, and match them to the inventory.

Offline-first and simple: ``import_intel`` recognises each file by its content, parses it with its reader (so a
bad file fails with one :class:`IngestError` line before anything is stored), then copies every file into
``<home>/intel/<kind>/<sha256>.<ext>`` atomically (temp name, then rename; the same content always gets the same
name, so re-importing changes nothing).  ``load_index`` reads every stored file back on each run (nothing is
cached) and ``findings`` matches the inventory against it with :func:`wardwatch.domain.matching.match_device`.

SBOM files (CycloneDX, SPDX) are stored; an SBOM is linked to a device model (``services.vuln_findings``) and its
components and its own VEX statements then apply to every device of that model.  VEX documents without components
(standalone CycloneDX VEX, OpenVEX) apply to every device.  Findings are stored and re-matched by
:mod:`wardwatch.services.vuln_findings`; :func:`findings` here matches in memory (kept for comparisons).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from wardwatch.domain.intel import (
    Advisory,
    EpssScore,
    KevEntry,
    Mds2Form,
    Recall,
    Sbom,
    VexStatement,
    VexStatus,
    Vulnerability,
)
from wardwatch.domain.matching import Confidence, DeviceProfile, IntelIndex, Match, match_device
from wardwatch.ingest._bounded import open_binary
from wardwatch.ingest.csaf import read_csaf
from wardwatch.ingest.cve5 import read_cve5
from wardwatch.ingest.cyclonedx import read_cyclonedx
from wardwatch.ingest.epss import read_epss
from wardwatch.ingest.errors import IngestError
from wardwatch.ingest.kev import read_kev
from wardwatch.ingest.mds2 import read_mds2
from wardwatch.ingest.nvd import read_nvd
from wardwatch.ingest.openfda import read_recalls
from wardwatch.ingest.openvex import read_openvex
from wardwatch.ingest.spdx import read_spdx
from wardwatch.reference import manufacturer_catalog
from wardwatch.services import intel_cache
from wardwatch.services.devices import DeviceFilter, find_device_id, iter_devices
from wardwatch.settings import Settings

__all__ = [
    "KINDS",
    "FindingFilter",
    "IntelImportReport",
    "ImportedFile",
    "findings",
    "import_intel",
    "load_index",
]

#: Kinds of intelligence file, in the order they are recognised.
KINDS: tuple[str, ...] = ("csaf", "cve5", "cyclonedx", "spdx", "openvex", "kev", "openfda", "nvd", "epss", "mds2")
#: Extensions of files considered when a folder is walked (anything else there — READMEs, licences — is skipped).
_INTEL_SUFFIXES = frozenset({".json", ".csv", ".xml", ".spdx", ".gz", ".cdx", ".xlsx"})
_HEAD_BYTES = 256 * 1024
_KNOWN = "CSAF 2.0, NVD 2.0, CVE 5, CISA KEV, FIRST EPSS, CycloneDX, SPDX, OpenVEX, openFDA recalls or MDS2 forms"


@dataclass(slots=True)
class _Parsed:
    """Everything one file contributes to the index."""

    advisories: list[Advisory] = field(default_factory=list)
    vulnerabilities: list[Vulnerability] = field(default_factory=list)
    vex: list[VexStatement] = field(default_factory=list)
    kev: list[KevEntry] = field(default_factory=list)
    epss: dict[str, EpssScore] = field(default_factory=dict)
    recalls: list[Recall] = field(default_factory=list)
    components: int = 0
    sboms: list[Sbom] = field(default_factory=list)
    """SBOMs with components (their VEX statements stay with them: they apply to the linked devices only)."""
    forms: list[Mds2Form] = field(default_factory=list)
    """MDS2 forms: security capabilities of device models (linked to the models, read by risk scoring)."""

    @property
    def records(self) -> int:
        """Advisories, vulnerabilities, KEV entries, scores, recalls or SBOM components, else VEX statements."""
        main = len(self.advisories) + len(self.vulnerabilities) + len(self.kev) + len(self.epss) + len(self.recalls)
        return main + self.components + len(self.forms) or len(self.vex)

    def extend(self, other: _Parsed) -> None:
        self.advisories += other.advisories
        self.vulnerabilities += other.vulnerabilities
        self.vex += other.vex
        self.kev += other.kev
        self.epss.update(other.epss)
        self.recalls += other.recalls
        self.sboms += other.sboms
        self.forms += other.forms


def _parse_csaf(path: Path) -> _Parsed:
    # The advisory's status groups are VEX already: matching reads them from the advisory itself.
    return _Parsed(advisories=[read_csaf(path)])


def _parse_sbom(read: Callable[[Path], Any]) -> Callable[[Path], _Parsed]:
    def parse(path: Path) -> _Parsed:
        sbom = read(path)
        if not sbom.components:  # a standalone VEX document: its statements apply to every device
            return _Parsed(vex=list(sbom.vex))
        return _Parsed(components=len(sbom.components), sboms=[sbom])

    return parse


_PARSERS: dict[str, Callable[[Path], _Parsed]] = {
    "csaf": _parse_csaf,
    "nvd": lambda p: _Parsed(vulnerabilities=read_nvd(p)),
    "cve5": lambda p: _Parsed(vulnerabilities=[read_cve5(p)]),
    "kev": lambda p: _Parsed(kev=list(read_kev(p).entries)),
    "epss": lambda p: _Parsed(epss=read_epss(p)),
    "cyclonedx": _parse_sbom(read_cyclonedx),
    "spdx": _parse_sbom(read_spdx),
    "openvex": lambda p: _Parsed(vex=read_openvex(p)),
    "openfda": lambda p: _Parsed(recalls=read_recalls(p)),
    "mds2": lambda p: _Parsed(forms=[read_mds2(p)]),
}

_JSON_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("csaf", re.compile(r'"csaf_version"\s*:')),
    ("cve5", re.compile(r'"dataType"\s*:\s*"CVE_RECORD"')),
    ("cyclonedx", re.compile(r'"bomFormat"\s*:\s*"CycloneDX"', re.IGNORECASE)),
    ("spdx", re.compile(r'"spdxVersion"\s*:')),
    ("openvex", re.compile(r'"@context"\s*:\s*"https?://openvex\.dev/', re.IGNORECASE)),
    ("kev", re.compile(r'"catalogVersion"\s*:|"cveID"\s*:')),
    ("openfda", re.compile(r'"(?:product[_-]res[_-]number|recall[_-]number|recalling[_-]firm)"\s*:')),
    ("nvd", re.compile(r'"format"\s*:\s*"NVD_CVE"|"configurations"\s*:')),
)


_JSON_SCHEMA = re.compile(r'"\$schema"\s*:\s*"https?://json-schema\.org/')


def _head(path: Path) -> str:
    with open_binary(path) as stream:
        data = stream.read(_HEAD_BYTES)
    return data.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")


def detect_kind(path: Path) -> str | None:
    """The kind of intelligence file (one of :data:`KINDS`) by its content, or ``None`` if not recognised."""
    if _is_xlsx(path):
        return "mds2"  # the only spreadsheet Wardwatch reads as intelligence
    head = _head(path)
    if head.startswith(("{", "[")):
        if _JSON_SCHEMA.search(head[:4096]):
            return None  # a feed's JSON Schema (published beside the feed), not intelligence
        return next((kind for kind, rule in _JSON_RULES if rule.search(head)), None)
    if head.startswith("<"):
        return "cyclonedx" if "cyclonedx.org/schema/bom" in head[:4096] else None
    first = head.split("\n", 1)[0].strip().lower().replace('"', "")
    if first.startswith("#model_version") or first.startswith("cve,epss"):
        return "epss"
    if first.startswith("cveid,vendorproject"):
        return "kev"
    if re.search(r"^SPDXVersion:", head, re.MULTILINE):
        return "spdx"
    columns = [c.strip() for c in first.split(",")]
    if ("answer" in columns and {"id", "question_id"} & set(columns)) or _MDS2_ROW.match(first):
        return "mds2"
    return None


_MDS2_ROW = re.compile(r"^(?:[a-z]{2,5},)?[a-z]{3,4}-\d+(?:\.\d+)*,")


def _is_xlsx(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            if handle.read(4) != b"PK\x03\x04":
                return False
        with zipfile.ZipFile(path) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def _files(paths: Iterable[str | Path]) -> list[tuple[Path, bool]]:
    """(file, named explicitly) for every path; folders are walked for files with an intelligence extension."""
    found: list[tuple[Path, bool]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for item in sorted(path.rglob("*")):
                hidden = any(part.startswith(".") for part in item.relative_to(path).parts)
                if item.is_file() and not hidden and item.suffix.lower() in _INTEL_SUFFIXES:
                    found.append((item, False))
        elif path.is_file():
            found.append((path, True))
        else:
            raise IngestError(str(path), "does not exist", tip="check the path")
    return found


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _extension(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes[-2:] if 1 < len(s) <= 6 and s[1:].isalnum()]
    if len(suffixes) == 2 and suffixes[-1] != ".gz":
        suffixes = suffixes[-1:]
    return "".join(suffixes) or ".dat"


@dataclass(frozen=True, slots=True)
class ImportedFile:
    """One imported file."""

    path: str
    """Where it was read from."""
    kind: str
    """One of :data:`KINDS`."""
    stored: str
    """Where it is kept in the data folder."""
    records: int
    """Advisories, vulnerabilities, KEV entries, scores, recalls or VEX statements read from it."""
    new: bool
    """False when the same content was already stored (nothing changed)."""
    product: tuple[str | None, str | None] | None = None
    """For an SBOM with components: (supplier, product name) from its metadata, to link it to a device model."""
    form: Mds2Form | None = None
    """For an MDS2 form: the form, to link it to its device model(s)."""

    @property
    def name(self) -> str:
        """The stored file's name relative to the intelligence folder (``<kind>/<file>``)."""
        return f"{self.kind}/{Path(self.stored).name}"


@dataclass(frozen=True, slots=True)
class IntelImportReport:
    """What an ``intel import`` did."""

    files: tuple[ImportedFile, ...]
    skipped: tuple[str, ...] = ()
    """Files found in folders that are not intelligence files (named files are never skipped: they fail)."""

    def by_kind(self) -> dict[str, dict[str, int]]:
        """Per kind: files, new files and records."""
        summary: dict[str, dict[str, int]] = {}
        for item in self.files:
            entry = summary.setdefault(item.kind, {"files": 0, "new": 0, "records": 0})
            entry["files"] += 1
            entry["new"] += int(item.new)
            entry["records"] += item.records
        return summary

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "files": [
                {"path": f.path, "kind": f.kind, "stored": f.stored, "records": f.records, "new": f.new}
                for f in self.files
            ],
            "by_kind": self.by_kind(),
            "skipped": list(self.skipped),
            "total": len(self.files),
            "new": sum(f.new for f in self.files),
        }


def intel_folder(settings: Settings) -> Path:
    """Where imported intelligence files are kept."""
    return settings.home / "intel"


def import_intel(settings: Settings, paths: Sequence[str | Path], *, explicit_model: bool = False) -> IntelImportReport:
    """Recognise, parse, then store every file; any bad file stops the run before anything is stored.

    An MDS2 form must name its manufacturer (DOC-1) and model (DOC-3) unless ``explicit_model`` (``--model``).
    """
    planned: list[tuple[Path, str, _Parsed]] = []
    skipped: list[str] = []
    for path, named in _files(paths):
        kind = detect_kind(path)
        if kind is None and not named:
            skipped.append(str(path))
            continue
        if kind is None:
            raise IngestError(str(path), "is not a recognised intelligence file", tip=f"give {_KNOWN} files")
        parsed = _PARSERS[kind](path)
        for form in parsed.forms:
            if not explicit_model and not (form.manufacturer and form.model):
                tip = "give the model: wardwatch intel import FORM --model 'Manufacturer Model'"
                raise IngestError(str(path), "names no manufacturer (DOC-1) or no model (DOC-3)", tip=tip)
        planned.append((path, kind, parsed))
    if not planned:
        raise IngestError(", ".join(map(str, paths)), "has no intelligence files", tip=f"give {_KNOWN} files")
    root = intel_folder(settings)
    imported: list[ImportedFile] = []
    for path, kind, parsed in planned:
        folder = root / kind
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{_sha256(path)}{_extension(path)}"
        new = not target.exists()
        if new:
            temp = folder / f".{target.name}.{os.getpid()}.tmp"
            try:
                shutil.copyfile(path, temp)
                os.replace(temp, target)
            finally:
                temp.unlink(missing_ok=True)
        if not intel_cache.cache_path(target).exists():
            intel_cache.store(target, parsed)  # parsed once: a re-match loads this instead of parsing again
        product = (parsed.sboms[0].supplier, parsed.sboms[0].name) if parsed.sboms else None
        first = parsed.forms[0] if parsed.forms else None
        imported.append(ImportedFile(str(path), kind, str(target), parsed.records, new, product, first))
    return IntelImportReport(tuple(imported), tuple(skipped))


def stored_files(settings: Settings) -> list[tuple[str, Path]]:
    """Every stored intelligence file as (kind, path), in a stable order."""
    root = intel_folder(settings)
    return [
        (kind, path)
        for kind in KINDS
        for path in sorted((root / kind).glob("*"))
        if path.is_file() and not path.name.startswith(".")
    ]


def stored_name(kind: str, path: Path) -> str:
    """The name of a stored file relative to the intelligence folder (``<kind>/<file>``)."""
    return f"{kind}/{path.name}"


@dataclass(slots=True)
class IntelData:
    """Everything read from stored files, before indexing."""

    parsed: _Parsed
    sboms: dict[str, Sbom]
    """Stored name -> SBOM (with components)."""

    def index(self, vulnerabilities: Iterable[Vulnerability] | None = None) -> IntelIndex:
        """The matching index (of ``vulnerabilities`` instead of the read ones when given)."""
        data = self.parsed
        return IntelIndex.build(
            advisories=data.advisories,
            vulnerabilities=data.vulnerabilities if vulnerabilities is None else vulnerabilities,
            vex=data.vex,
            kev=data.kev,
            epss=data.epss,
            recalls=data.recalls,
            normalize_vendor=manufacturer_catalog().normalize,
        )


def read_intel(settings: Settings, *, skip: Iterable[str] = ()) -> IntelData:
    """Read every stored file back (except the stored names in ``skip``)."""
    skipped = set(skip)
    everything = _Parsed()
    sboms: dict[str, Sbom] = {}
    for kind, path in stored_files(settings):
        name = stored_name(kind, path)
        if name in skipped:
            continue
        parsed = intel_cache.load_or_parse(path, _PARSERS[kind], _Parsed)
        for sbom in parsed.sboms:
            sboms[name] = sbom
        everything.extend(parsed)
    return IntelData(everything, sboms)


def read_vulnerabilities(settings: Settings, names: Iterable[str]) -> list[Vulnerability]:
    """The NVD / CVE 5 records of the given stored files."""
    root = intel_folder(settings)
    found: list[Vulnerability] = []
    for name in names:
        kind = name.split("/", 1)[0]
        found += intel_cache.load_or_parse(root / name, _PARSERS[kind], _Parsed).vulnerabilities
    return found


def load_index(settings: Settings) -> IntelIndex:
    """Read every stored file back and index it (nothing is cached across runs)."""
    return read_intel(settings).index()


@dataclass(frozen=True, slots=True)
class FindingFilter:
    """Filters of a findings listing; ``None``/``False`` means no filter."""

    kev: bool = False
    """Only vulnerabilities in CISA KEV."""
    min_cvss: float | None = None
    """Only findings with a CVSS base score at least this."""
    status: str | None = None
    """VEX status (``affected``, ``not_affected``, ``fixed``, ``under_investigation``); no status counts as
    ``affected``."""
    confidence: str | None = None
    """``confirmed`` or ``potential``."""
    include_suppressed: bool = False
    """Show findings suppressed by a trusted ``not_affected`` (always shown with ``status=not_affected``)."""

    def __post_init__(self) -> None:
        statuses = {s.value for s in VexStatus}
        if self.status is not None and self.status not in statuses:
            raise ValueError(f"status {self.status!r} is not one of: {', '.join(sorted(statuses))}")
        confidences = {c.value for c in Confidence}
        if self.confidence is not None and self.confidence not in confidences:
            raise ValueError(f"confidence {self.confidence!r} is not one of: {', '.join(sorted(confidences))}")

    def keeps(self, match: Match) -> bool:
        """Whether the finding passes every filter."""
        status = (match.vex_status or VexStatus.AFFECTED).value
        if match.suppressed and not (self.include_suppressed or self.status == VexStatus.NOT_AFFECTED.value):
            return False
        if self.status is not None and status != self.status:
            return False
        if self.confidence is not None and match.confidence.value != self.confidence:
            return False
        if self.kev and match.kev is None:
            return False
        if self.min_cvss is not None:
            score = match.cvss.base_score if match.cvss is not None else None
            if score is None or score < self.min_cvss:
                return False
        return True


_PROFILE_COLUMNS: tuple[str, ...] = (
    "id", "asset_tag", "manufacturer", "model", "device_type", "os_name", "os_version", "firmware_version",
    "software_version", "fda_product_code",
)  # fmt: skip


def _profile(device: dict[str, Any]) -> DeviceProfile:
    return DeviceProfile(
        device_id=str(device["id"]),
        manufacturer=device.get("manufacturer"),
        model=device.get("model"),
        device_type=device.get("device_type"),
        os_name=device.get("os_name"),
        os_version=device.get("os_version"),
        firmware_version=device.get("firmware_version"),
        software_version=device.get("software_version"),
        product_code=device.get("fda_product_code"),
    )


def device_json(device: dict[str, Any]) -> dict[str, Any]:
    """The ``device`` part of a finding."""
    return {
        "id": device["id"],
        "asset_tag": device.get("asset_tag"),
        "manufacturer": device.get("manufacturer"),
        "model": device.get("model"),
        "software_version": device.get("software_version"),
        "firmware_version": device.get("firmware_version"),
    }


def _finding(device: dict[str, Any], match: Match) -> dict[str, Any]:
    return {"device": device_json(device), **match_json(match)}


def match_json(match: Match) -> dict[str, Any]:
    """A finding without its ``device`` part (JSON-ready except dates)."""
    return {
        "vulnerability": match.vulnerability_id,
        "source": match.source,
        "confidence": match.confidence.value,
        "vex_status": match.vex_status.value if match.vex_status else None,
        "vex_justification": match.vex_justification,
        "vex_author": match.vex_author,
        "suppressed": match.suppressed,
        "kev": None
        if match.kev is None
        else {
            "date_added": match.kev.date_added,
            "due_date": match.kev.due_date,
            "required_action": match.kev.required_action,
            "ransomware": match.kev.ransomware,
        },
        "epss": None
        if match.epss is None
        else {
            "score": match.epss.epss,
            "percentile": match.epss.percentile,
            "model_version": match.epss.model_version,
            "score_date": match.epss.score_date,
        },
        "cvss": None
        if match.cvss is None
        else {
            "version": match.cvss.version,
            "vector": match.cvss.vector,
            "score": match.cvss.base_score,
            "source": match.cvss.source,
        },
        "advisories": list(match.advisories),
        "remediation": [{"category": r.category.value, "details": r.details, "url": r.url} for r in match.remediations],
        "component": match.component_ref,
        "evidence": list(match.evidence),
    }


def findings(
    engine: Engine, settings: Settings, device_ref: str | None = None, filters: FindingFilter | None = None
) -> list[dict[str, Any]]:
    """Every finding of the inventory (or one device) against the stored intelligence, filtered, JSON-ready."""
    where = filters or FindingFilter()
    wanted = find_device_id(engine, device_ref) if device_ref is not None else None
    index = load_index(settings)
    result: list[dict[str, Any]] = []
    for device in iter_devices(engine, DeviceFilter(), _PROFILE_COLUMNS):
        if wanted is not None and device["id"] != wanted:
            continue
        result.extend(_finding(device, m) for m in match_device(_profile(device), index) if where.keeps(m))
    return result
