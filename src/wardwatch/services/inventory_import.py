"""Import a CMMS export into the inventory: one transaction, idempotent, with history and a dry run.

Flow: read rows (``ingest.cmms``) -> normalise each (``domain.cmms_rows``) -> merge rows of one device
(``domain.candidates``) -> match to stored devices by asset tag, manufacturer + serial, MAC -> plan each device's
fact writes and changes (``domain.reconcile``) -> write in bulk (``store.inventory``).  Any unreadable row stops
the import before anything is written, unless the caller asks to skip bad rows.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection, Engine

from wardwatch.domain.candidates import Candidate, CandidateGroup, Value, group_candidates
from wardwatch.domain.claims import Claim, Provenance, digest, encode_new, update_claim
from wardwatch.domain.cmms_rows import RowError, RowNormalizer
from wardwatch.domain.reconcile import Change, from_text, group_claims, plan_device, to_text
from wardwatch.ingest.cmms import ColumnMapping, load_mapping, open_cmms
from wardwatch.ingest.errors import IngestError
from wardwatch.services.reference import row_normalizer_parts
from wardwatch.store import inventory as repo
from wardwatch.store.database import ensure_ready

logger = logging.getLogger(__name__)

Progress = Callable[[str, int, int | None], None]
"""Progress callback: (stage, done, total or None)."""

_KEY_PRIORITY = ("tag:", "sn:", "mac:", "ip:")
_CREATE_CHUNK = 10_000
_INTERFACE_ATTRIBUTES = frozenset(repo.INTERFACE_COLUMNS)
_PRIMARY = "primary"  # the interface row holding the device's resolved MAC, IP, host name and VLAN
_UNIT_ATTRIBUTES = ("site", "building", "department")


@dataclass(slots=True)
class ImportReport:
    """What an import did (or, in a dry run, would do)."""

    file: str
    """The file imported."""
    dry_run: bool
    """True when nothing was written."""
    columns: dict[str, str] = field(default_factory=dict)
    """Field -> column header read."""
    ignored_columns: list[str] = field(default_factory=list)
    """Columns mapped to no field."""
    rows_read: int = 0
    """Data rows read."""
    rows_skipped: list[str] = field(default_factory=list)
    """Rows skipped as unreadable, each with why (only with ``skip_bad_rows``)."""
    devices_in_file: int = 0
    """Distinct devices the rows describe."""
    duplicate_rows: int = 0
    """Rows merged into another row of the same device."""
    created: int = 0
    """Devices added."""
    updated: int = 0
    """Devices with at least one changed attribute."""
    unchanged: int = 0
    """Devices matched with nothing new."""
    changes: list[dict[str, Any]] = field(default_factory=list)
    """The first changes (device, attribute, old, new), for display."""
    change_count: int = 0
    """All attribute changes."""
    conflicts: list[str] = field(default_factory=list)
    """Duplicate rows that disagree, and ambiguous matches: what was chosen."""
    unknown_manufacturers: dict[str, int] = field(default_factory=dict)
    """Manufacturer names not in the catalogue -> rows naming them."""
    source_id: int | None = None
    """The import's source record (``None`` in a dry run)."""
    seconds: float = 0.0
    """Wall time."""

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def import_cmms(
    engine: Engine,
    path: Path,
    *,
    mapping_path: Path | None = None,
    site: str | None = None,
    dry_run: bool = False,
    skip_bad_rows: bool = False,
    progress: Progress | None = None,
    max_listed_changes: int = 200,
) -> ImportReport:
    """Import ``path``; raise :class:`IngestError` (nothing written) for a bad file or, by default, a bad row."""
    started = datetime.now(UTC)
    ensure_ready(engine)
    mapping = load_mapping(mapping_path) if mapping_path else ColumnMapping()
    report = ImportReport(str(path), dry_run)
    candidates = _read(path, mapping, site, skip_bad_rows, report, progress)
    groups, clashes = group_candidates(candidates)
    report.conflicts.extend(clashes)
    report.devices_in_file = len(groups)
    report.duplicate_rows = len(candidates) - len(groups)
    del candidates  # the groups hold what is needed
    # Millions of long-lived objects now exist; stop the cyclic GC from rescanning them at every collection.
    gc.freeze()
    try:
        for group in groups:
            if len(group.locators) > 1:
                for conflict in group.conflicts:
                    others = ", ".join(repr(to_text(v)) for v in conflict.others)
                    report.conflicts.append(
                        f"{' & '.join(group.locators)} disagree on {conflict.attribute}: "
                        f"kept {to_text(conflict.chosen)!r}, not {others}"
                    )
        sha = _sha256(path)
        with engine.connect() as connection:
            transaction = connection.begin()
            try:
                writer = InventoryWriter(connection, started, report, max_listed_changes, progress)
                source_id = repo.create_source(connection, "cmms", path.name, sha, started)
                writer.apply(source_id, groups)
                summary = {
                    k: v for k, v in report.as_dict().items() if k not in ("changes", "conflicts", "rows_skipped")
                }
                repo.finish_source(connection, source_id, report.rows_read, summary)
                if dry_run:
                    transaction.rollback()
                else:
                    transaction.commit()
                    report.source_id = source_id
            except BaseException:
                transaction.rollback()
                raise
    finally:
        gc.unfreeze()
    report.seconds = round((datetime.now(UTC) - started).total_seconds(), 3)
    return report


def _read(
    path: Path,
    mapping: ColumnMapping,
    site: str | None,
    skip_bad_rows: bool,
    report: ImportReport,
    progress: Progress | None,
) -> list[Candidate]:
    manufacturer, classify, defaults = row_normalizer_parts()
    normalizer = RowNormalizer(
        manufacturer, classify, defaults, default_site=site or mapping.site, date_format=mapping.date_format
    )
    candidates: list[Candidate] = []
    errors: list[IngestError] = []
    with open_cmms(path, mapping) as export:
        report.columns = dict(export.columns)
        report.ignored_columns = list(export.ignored_columns)
        for raw in export.rows():
            report.rows_read += 1
            try:
                candidates.append(normalizer.normalize(f"row {raw.number}", raw.cells))
            except RowError as e:
                errors.append(
                    IngestError(str(path), str(e), row=raw.number, column=export.columns.get(e.field, e.field))
                )
            if progress is not None and report.rows_read % 10_000 == 0:
                progress("reading", report.rows_read, None)
    if errors and not skip_bad_rows:
        first = errors[0]
        more = f"; {len(errors) - 1} more rows have errors" if len(errors) > 1 else ""
        raise IngestError(
            first.path,
            first.message + more,
            row=first.row,
            column=first.column,
            tip="fix the cell(s) and import again, or pass --skip-bad-rows to import the other rows; "
            "nothing was imported",
        )
    report.rows_skipped = [e.render() for e in errors]
    report.unknown_manufacturers = dict(normalizer.unknown_manufacturers.most_common())
    if not candidates:
        raise IngestError(str(path), "has a header but no device rows", tip="export the CMMS report again")
    return candidates


@dataclass(slots=True)
class _PreparedChunk:
    """Rows for one chunk of new devices, ready to write."""

    device_columns: tuple[str, ...]
    devices: list[tuple[Any, ...]] = field(default_factory=list)
    keys: list[tuple[str, int]] = field(default_factory=list)
    claims: list[tuple[Any, ...]] = field(default_factory=list)
    interfaces: list[tuple[Any, ...]] = field(default_factory=list)


class Incoming(Protocol):
    """A record to reconcile with the inventory: a merged CMMS group, or a device discovery saw."""

    @property
    def locators(self) -> tuple[str, ...]: ...
    @property
    def keys(self) -> tuple[str, ...]: ...
    @property
    def values(self) -> Mapping[str, Value]: ...
    @property
    def site(self) -> str | None: ...


ClaimsOf = Callable[[Any], dict[str, dict[str, tuple[str, float]]]]
"""What an incoming record claims, by source kind: ``{kind: {attribute: (text, confidence)}}``."""


def _group_claims(group: CandidateGroup) -> dict[str, dict[str, tuple[str, float]]]:
    return group_claims(group, group.site)


class InventoryWriter:
    """Reconciles incoming records with the stored inventory inside the caller's transaction: creates what is new,
    updates claims and resolved values of what is known, records changes.  Shared by CMMS imports and discovery."""

    def __init__(
        self,
        connection: Connection,
        now: datetime,
        report: ImportReport,
        max_listed: int,
        progress: Progress | None,
        claims_of: ClaimsOf = _group_claims,
    ) -> None:
        self.claims_of = claims_of
        self.connection = connection
        self.now = now
        self.report = report
        self.max_listed = max_listed
        self.progress = progress
        self.sites = repo.site_ids(connection)
        self.units = repo.unit_ids(connection)

    # --- sites and units -------------------------------------------------------------------------------
    def site_id(self, name: str | None) -> int | None:
        if name is None:
            return None
        found = self.sites.get(name)
        if found is None:
            found = self.sites[name] = repo.create_site(self.connection, name, self.now)
        return found

    def unit_id(self, site_id: int | None, building: str | None, department: str | None) -> int | None:
        if site_id is None or department is None:
            return None
        key = (site_id, building, department)
        found = self.units.get(key)
        if found is None:
            found = self.units[key] = repo.create_unit(self.connection, site_id, building, department)
        return found

    # --- the import ------------------------------------------------------------------------------------
    def apply(self, source_id: int, groups: Sequence[Incoming]) -> None:
        """Create or update the device each record describes."""
        key_index = repo.load_key_index(self.connection)
        serials: dict[int, set[str]] = {}
        for key, device_id in key_index.items():
            if key.startswith("sn:"):
                serials.setdefault(device_id, set()).add(key)
        new: list[Incoming] = []
        matched: dict[int, list[Incoming]] = {}
        for group in groups:
            ordered = sorted(group.keys, key=lambda k: next(i for i, p in enumerate(_KEY_PRIORITY) if k.startswith(p)))
            own_serials = {k for k in group.keys if k.startswith("sn:")}
            ids: list[int] = []
            taken: list[str] = []
            for key in ordered:
                found = key_index.get(key)
                if found is None:
                    continue
                device_id = found
                theirs = serials.get(device_id, set())
                if own_serials and theirs and not own_serials & theirs:
                    # Same tag or MAC, different serial number: another device; the key stays where it is.
                    taken.append(key)
                    self.report.conflicts.append(
                        f"{' & '.join(group.locators)}: {key} already belongs to device {device_id}, which has a "
                        "different serial number; recorded as a separate device"
                    )
                elif device_id not in ids:
                    ids.append(device_id)
            if taken:
                group = _without_keys(group, taken)
            if not ids:
                new.append(group)
                continue
            if len(ids) > 1:
                self.report.conflicts.append(
                    f"{' & '.join(group.locators)} match several devices ({', '.join(map(str, ids))}) "
                    f"by different identifiers; updated device {ids[0]}"
                )
            matched.setdefault(ids[0], []).append(group)
        self._create(source_id, new)
        self._update(source_id, matched, key_index)

    def _create(self, source_id: int, groups: Sequence[Incoming]) -> None:
        """Insert new devices a chunk at a time (bounded memory whatever the file size), pipelined: one thread
        writes chunk N while this one prepares chunk N+1 (the database works in its own process or releases
        the GIL, so a 200,000-device import overlaps Python work with database work)."""
        if not groups:
            return
        ids = repo.reserve_device_ids(self.connection, len(groups))
        places = [self._place(group) for group in groups]  # sites and units may need creating: before the pipe
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="wardwatch-import") as writer:
            pending: Future[None] | None = None
            for start in range(0, len(groups), _CREATE_CHUNK):
                end = start + _CREATE_CHUNK
                prepared = self._prepare(source_id, groups[start:end], ids[start:end], places[start:end])
                if pending is not None:
                    pending.result()  # re-raises the writer's error, if any
                    self._created(start, len(groups))
                pending = writer.submit(self._write, prepared)
            if pending is not None:
                pending.result()
                self._created(len(groups), len(groups))
        self.report.created += len(groups)

    def _created(self, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress("created", done, total)

    def _place(self, group: Incoming) -> tuple[int | None, int | None]:
        site_id = self.site_id(group.site)
        values = group.values
        return site_id, self.unit_id(site_id, _str(values.get("building")), _str(values.get("department")))

    def _prepare(
        self,
        source_id: int,
        groups: Sequence[Incoming],
        ids: Sequence[int],
        places: Sequence[tuple[int | None, int | None]],
    ) -> _PreparedChunk:
        columns = ("id", "site_id", "unit_id", "created_at", "updated_at", *repo.DEVICE_COLUMNS)
        chunk = _PreparedChunk(columns)
        now = self.now
        for device_id, group, (site_id, unit_id) in zip(ids, groups, places, strict=True):
            values = group.values
            chunk.devices.append((device_id, site_id, unit_id, now, now, *map(values.get, repo.DEVICE_COLUMNS)))
            chunk.keys.extend((k, device_id) for k in group.keys)
            locator = ", ".join(group.locators)
            for kind, claimed in self.claims_of(group).items():
                chunk.claims.append((device_id, kind, source_id, locator, now, *encode_new(claimed)))
            if not _INTERFACE_ATTRIBUTES.isdisjoint(values):
                chunk.interfaces.append((device_id, *(values.get(c) for c in repo.INTERFACE_COLUMNS), _PRIMARY))
        return chunk

    def _write(self, chunk: _PreparedChunk) -> None:
        repo.insert_device_rows(self.connection, chunk.device_columns, chunk.devices)
        repo.insert_keys(self.connection, chunk.keys)
        repo.insert_claim_rows(self.connection, chunk.claims)
        repo.insert_interfaces(self.connection, chunk.interfaces)

    def _unchanged(
        self, chunk: Sequence[int], matched: dict[int, list[Incoming]], key_index: dict[str, int]
    ) -> set[int]:
        """Devices whose claims this import repeats exactly (by digest): nothing to load or write for them."""
        stored = repo.load_digests(self.connection, chunk)
        same: set[int] = set()
        for device_id in chunk:
            groups = matched[device_id]
            if len(groups) != 1 or any(k not in key_index for k in groups[0].keys):
                continue
            new = self.claims_of(groups[0])
            digests = stored.get(device_id, {})
            if all(digests.get(kind) == digest(values) for kind, values in new.items()):
                same.add(device_id)
        return same

    def _update(self, source_id: int, matched: dict[int, list[Incoming]], key_index: dict[str, int]) -> None:
        ids = list(matched)
        done = 0
        for start in range(0, len(ids), repo.CHUNK):
            chunk = ids[start : start + repo.CHUNK]
            unchanged = self._unchanged(chunk, matched, key_index)
            self.report.unchanged += len(unchanged)
            chunk = [device_id for device_id in chunk if device_id not in unchanged]
            states = repo.load_states(self.connection, chunk)
            claim_inserts: list[tuple[int, Claim]] = []
            claim_updates: list[tuple[int, Claim]] = []
            device_updates: list[tuple[int, dict[str, Any]]] = []
            interface_inserts: list[tuple[Any, ...]] = []
            interface_updates: list[dict[str, Any]] = []
            history: list[tuple[Any, ...]] = []
            new_keys: list[tuple[str, int]] = []
            for device_id in chunk:
                state = states[device_id]
                for group in matched[device_id]:
                    plan = plan_device(state.values, state.claims, self.claims_of(group), self.now)
                    provenance = Provenance(source_id, ", ".join(group.locators), self.now)
                    writes: dict[str, dict[str, tuple[str, float]]] = {}
                    for write in plan.facts:
                        writes.setdefault(write.source_kind, {})[write.attribute] = (write.value, write.confidence)
                    for kind, written in writes.items():
                        old = state.claims.get(kind)
                        claim = update_claim(old, kind, written, provenance)
                        state.claims[kind] = claim
                        (claim_updates if old is not None else claim_inserts).append((device_id, claim))
                    for key in group.keys:
                        if key not in key_index:
                            key_index[key] = device_id
                            new_keys.append((key, device_id))
                    if plan.changes:
                        self._apply_changes(device_id, state, plan.changes, source_id, device_updates, history)
                        if any(c.attribute in repo.INTERFACE_COLUMNS for c in plan.changes):
                            interface = {c: from_text(c, state.values.get(c)) for c in repo.INTERFACE_COLUMNS}
                            if _PRIMARY in state.interface_kinds:
                                interface_updates.append({"b_device": device_id, "b_kind": _PRIMARY, **interface})
                            else:
                                state.interface_kinds.add(_PRIMARY)
                                interface_inserts.append((device_id, *interface.values(), _PRIMARY))
                        self.report.updated += 1
                    else:
                        self.report.unchanged += 1
            repo.insert_claims(self.connection, claim_inserts)
            repo.replace_claims(self.connection, _last_per_device(claim_updates))
            repo.update_devices(self.connection, device_updates)
            repo.insert_interfaces(self.connection, interface_inserts)
            repo.update_interfaces(self.connection, interface_updates)
            repo.insert_history(self.connection, history)
            repo.insert_keys(self.connection, new_keys)
            done += len(chunk) + len(unchanged)
            if self.progress is not None:
                self.progress("updated", done, len(ids))

    def _apply_changes(
        self,
        device_id: int,
        state: repo.DeviceState,
        changes: Sequence[Change],
        source_id: int,
        device_updates: list[tuple[int, dict[str, Any]]],
        history: list[tuple[Any, ...]],
    ) -> None:
        columns: dict[str, Any] = {}
        for change in changes:
            state.values[change.attribute] = change.new
            history.append((device_id, change.attribute, change.old, change.new, source_id, self.now))
            self.report.change_count += 1
            if len(self.report.changes) < self.max_listed:
                self.report.changes.append(
                    {"device": device_id, "attribute": change.attribute, "old": change.old, "new": change.new}
                )
            if change.attribute in repo.DEVICE_COLUMNS:
                columns[change.attribute] = from_text(change.attribute, change.new)
        if any(c.attribute in _UNIT_ATTRIBUTES for c in changes):
            site_id = self.site_id(state.values.get("site"))
            columns["site_id"] = site_id
            columns["unit_id"] = self.unit_id(site_id, state.values.get("building"), state.values.get("department"))
        columns["updated_at"] = self.now
        device_updates.append((device_id, columns))


def _last_per_device(rows: list[tuple[int, Claim]]) -> list[tuple[int, Claim]]:
    """Only the final claim of each (device, kind): two groups of one file may update the same device."""
    return list({(device_id, claim.source_kind): (device_id, claim) for device_id, claim in rows}.values())


def _without_keys(group: Incoming, keys: Sequence[str]) -> Incoming:
    kept = tuple(k for k in group.keys if k not in keys)
    return dataclasses.replace(group, keys=kept)  # type: ignore[type-var]


def _str(value: object) -> str | None:
    return None if value is None else str(value)
