"""Device candidates: what one source row says about one device, and how rows of the same device merge.

A candidate's identity keys (asset tag, manufacturer + serial, MAC) link rows that describe the same physical
device; :func:`group_candidates` merges linked rows (union-find), so a CMMS export with duplicate rows becomes
one record per device, keeping the row numbers as evidence.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from wardwatch.domain.inventory import SourceKind

Value = str | int | bool | date
"""A normalised attribute value."""

CMMS_CONFIDENCE = 0.9
"""Belief in a value a person recorded in the maintenance system."""

__all__ = [
    "CMMS_CONFIDENCE",
    "Candidate",
    "CandidateGroup",
    "Conflict",
    "Value",
    "group_candidates",
    "keys_of",
]


@dataclass(frozen=True, slots=True)
class Candidate:
    """One row's claims about one device."""

    locator: str
    """Where the row is, e.g. ``row 17``."""
    values: Mapping[str, Value]
    """Attribute -> normalised value; absent attributes are unknown."""
    derived: Mapping[str, tuple[float, str]]
    """Attributes not written in the row but derived from it -> (confidence, reason)."""
    site: str | None = None
    """The site named by the row (or given for the whole import)."""


def keys_of(values: Mapping[str, Value]) -> list[str]:
    """The identity keys of a set of values: ``tag:…``, ``sn:MANUFACTURER|SERIAL`` and ``mac:…``."""
    keys: list[str] = []
    tag = values.get("asset_tag")
    if tag:
        keys.append(f"tag:{tag}")
    serial = values.get("serial")
    if serial:
        keys.append(f"sn:{str(values.get('manufacturer') or '').casefold()}|{serial}")
    mac = values.get("mac")
    if mac:
        keys.append(f"mac:{mac}")
    return keys


@dataclass(frozen=True, slots=True)
class Conflict:
    """Rows of one device that disagree on an attribute; the chosen value and the others."""

    attribute: str
    """The attribute."""
    chosen: Value
    """The value kept (the most frequent; on a tie, the last row's)."""
    others: tuple[Value, ...]
    """The values not kept."""


@dataclass(frozen=True, slots=True)
class CandidateGroup:
    """The merged claims of all rows that describe one device."""

    locators: tuple[str, ...]
    """The rows merged, in file order."""
    values: Mapping[str, Value]
    """Merged values."""
    derived: Mapping[str, tuple[float, str]]
    """Derived attributes -> (confidence, reason)."""
    keys: tuple[str, ...]
    """All identity keys of all rows (a re-tagged device keeps both tags)."""
    conflicts: tuple[Conflict, ...]
    """Attributes the rows disagree on."""
    site: str | None
    """The site (by the same rule as values)."""

    def source_kind(self, attribute: str) -> SourceKind:
        """Whether an attribute was written in the source or derived from it."""
        return SourceKind.DERIVED if attribute in self.derived else SourceKind.CMMS

    def confidence(self, attribute: str) -> float:
        """Confidence in the merged value of an attribute."""
        derived = self.derived.get(attribute)
        return derived[0] if derived else CMMS_CONFIDENCE


class _UnionFind:
    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, item: int) -> int:
        parent = self.parent
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def group_candidates(candidates: Sequence[Candidate]) -> tuple[list[CandidateGroup], list[str]]:
    """Merge candidates that share an identity key; groups come in the order of their first row.

    Two rows that share a key but carry different serial numbers are different devices (a reused asset tag,
    a MAC typed twice): they are not merged, the key stays with the first, and the clash is reported.
    Returns the groups and the clashes, in words.
    """
    uf = _UnionFind(len(candidates))
    owner: dict[str, int] = {}
    serials: dict[int, set[str]] = {}
    clashes: list[str] = []
    keys_by_index: list[list[str]] = []
    for index, candidate in enumerate(candidates):
        keys = keys_of(candidate.values)
        serials[index] = {k for k in keys if k.startswith("sn:")}
        kept: list[str] = []
        for key in keys:
            first = owner.setdefault(key, index)
            if first == index:
                kept.append(key)
                continue
            root_a, root_b = uf.find(first), uf.find(index)
            if root_a == root_b:
                continue
            serials_a, serials_b = serials[root_a], serials[root_b]
            if serials_a and serials_b and not serials_a & serials_b:
                clashes.append(
                    f"{candidates[first].locator} and {candidate.locator} share {key} but have different serial "
                    f"numbers: kept as two devices, {key.split(':', 1)[0]} stays with {candidates[first].locator}"
                )
                continue
            uf.union(first, index)
            merged = uf.find(index)
            serials[merged] = serials_a | serials_b
        keys_by_index.append(kept)
    members: dict[int, list[int]] = {}
    for index in range(len(candidates)):
        members.setdefault(uf.find(index), []).append(index)
    groups = [
        _merge([candidates[i] for i in indexes], [k for i in indexes for k in keys_by_index[i]])
        for indexes in members.values()
    ]
    return groups, clashes


def _choose(values: Iterable[Value]) -> tuple[Value, tuple[Value, ...]]:
    ordered = list(values)
    counts = Counter(ordered)
    best = max(counts.values())
    chosen = next(v for v in reversed(ordered) if counts[v] == best)
    others = tuple(dict.fromkeys(v for v in ordered if v != chosen))
    return chosen, others


def _merge(rows: list[Candidate], owned_keys: list[str]) -> CandidateGroup:
    keys = tuple(dict.fromkeys(owned_keys))
    if len(rows) == 1:
        only = rows[0]
        return CandidateGroup((only.locator,), only.values, only.derived, keys, (), only.site)
    values: dict[str, Value] = {}
    conflicts: list[Conflict] = []
    attributes = dict.fromkeys(a for row in rows for a in row.values)
    for attribute in attributes:
        # A value written in a row beats one derived in another row.
        written = [r.values[attribute] for r in rows if attribute in r.values and attribute not in r.derived]
        pool = written or [r.values[attribute] for r in rows if attribute in r.values]
        chosen, others = _choose(pool)
        values[attribute] = chosen
        if others and attribute != "asset_tag":
            conflicts.append(Conflict(attribute, chosen, others))
    # An attribute stays derived only if no row wrote it; the info of the row whose value was kept.
    written_somewhere = {a for r in rows for a in r.values if a not in r.derived}
    derived = {
        attribute: info
        for row in rows
        for attribute, info in row.derived.items()
        if attribute not in written_somewhere and values.get(attribute) == row.values.get(attribute)
    }
    sites = [r.site for r in rows if r.site]
    site = _choose(sites)[0] if sites else None
    return CandidateGroup(
        tuple(r.locator for r in rows), values, derived, keys, tuple(conflicts), str(site) if site else None
    )
