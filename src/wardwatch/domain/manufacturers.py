"""Manufacturer names: one canonical name for the many spellings in CMMS exports, advisories and the IEEE registry.

Matching compares *keys*: the name with accents, punctuation, spacing, case and trailing corporate suffixes
(Inc, Corp, GmbH, AG & Co. KGaA, "and Company"...) removed, so ``Dräger``, ``DRAEGER MEDICAL GmbH`` and
``Draeger Medical`` meet the aliases of ``Drägerwerk``.  A name whose leading words are a known alias
(``Siemens Medical Solutions USA``) matches with less confidence.  Unknown names come back cleaned, never
invented, flagged ``known=False``.

>>> catalog = ManufacturerCatalog.from_entries([{"name": "Drägerwerk", "aliases": ["Draeger"]}])
>>> catalog.normalize("DRAEGER GmbH").name
'Drägerwerk'
>>> catalog.normalize("ACME MEDICAL, INC.").name
'Acme Medical'
>>> catalog.normalize("N/A") is None
True
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CONFIDENCE_ALIAS",
    "CONFIDENCE_EXACT",
    "CONFIDENCE_PREFIX",
    "CONFIDENCE_UNKNOWN",
    "Manufacturer",
    "ManufacturerCatalog",
    "NormalizedManufacturer",
    "clean_name",
    "name_key",
]

#: The raw text is exactly the canonical name.
CONFIDENCE_EXACT = 1.0
#: The raw text's key equals the key of the canonical name or of an alias.
CONFIDENCE_ALIAS = 0.95
#: The raw text's leading words are a known alias (``Philips Medical Systems Nederland``).
CONFIDENCE_PREFIX = 0.75
#: Not a known manufacturer: the cleaned text is all we have.
CONFIDENCE_UNKNOWN = 0.5

#: Keys that mean "no manufacturer given".
_PLACEHOLDER_KEYS = frozenset(
    {
        "",
        "na",
        "nan",
        "none",
        "null",
        "nil",
        "unknown",
        "unk",
        "tbd",
        "tba",
        "notknown",
        "notavailable",
        "notapplicable",
        "notspecified",
        "unspecified",
        "nomanufacturer",
        "0",
    }
)

# Trailing corporate forms, longest first, each a separate word ("Cisco" keeps its "co").  "Company" goes
# only after "&"/"and", so "The Hamilton Company" keeps its name.
_SUFFIX_RE = re.compile(
    r"""[\s,;]+(?:
        (?:ag|se|gmbh)\s*(?:&|and)\s*co\.?\s*(?:kgaa|kg\s*aa|kg|ohg)
      | (?:&|and)\s*co(?:mpany)?\.?
      | inc\.? | incorporated | corp\.? | corporation | co\.? | llc | l\.l\.c\. | ltd\.? | limited
      | gmbh | ag | kgaa | kg | se | n\.?\s?v\.? | b\.?\s?v\.? | s\.?\s?a\.? | s\.?\s?p\.?\s?a\.?
      | s\.?\s?r\.?\s?l\.? | s\.?\s?a\.?\s?s\.? | a/?s | ab | oy | plc | pty | lp | llp | k\.?\s?k\.?
    )\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
_TRAILING_JUNK_RE = re.compile(r"[\s,;&\-/]+$")
_SPACE_RE = re.compile(r"\s+")
# Letters only, with an inner apostrophe: "3M" stays "3M" and "O'NEIL" becomes "O'neil", not "O'Neil".
_WORD_RE = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")
_NON_ALNUM_RE = re.compile(r"[^0-9a-z]+")

#: Bounded so a pathological import cannot grow the cache without limit.
_CACHE_LIMIT = 200_000


def _fold(text: str) -> str:
    """Lower-case ``text`` without accents (``Dräger`` -> ``drager``); ``ß`` becomes ``ss``."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def clean_name(raw: str) -> str:
    """``raw`` with spacing collapsed and trailing corporate suffixes removed; case fixed if all one case.

    Mixed-case text keeps its casing; ALL CAPS or all lower-case text becomes Title Case.

    >>> clean_name("  ACME   MEDICAL, INC. ")
    'Acme Medical'
    >>> clean_name("Draeger Medical AG & Co. KGaA")
    'Draeger Medical'
    >>> clean_name("bioMérieux SA")
    'bioMérieux'
    """
    text = _SPACE_RE.sub(" ", raw).strip()
    while True:
        stripped = _TRAILING_JUNK_RE.sub("", _SUFFIX_RE.sub("", text))
        # Never strip a name down to nothing ("AG" alone stays "AG").
        if stripped == text or not stripped:
            break
        text = stripped
    letters = [c for c in text if c.isalpha()]
    if letters and (all(c.isupper() for c in letters) or all(c.islower() for c in letters)):
        text = _WORD_RE.sub(_capitalize, text)
    return text


def _capitalize(match: re.Match[str]) -> str:
    """``match`` with its first letter upper-case and the rest lower-case."""
    word = match.group(0)
    return word[:1].upper() + word[1:].lower()


def name_key(raw: str) -> str:
    """The matching key of a name: cleaned, accent-free, lower-case letters and digits only.

    >>> name_key("B. Braun Melsungen AG") == name_key("B.BRAUN MELSUNGEN")
    True
    """
    return _NON_ALNUM_RE.sub("", _fold(clean_name(raw)))


def _word_keys(raw: str) -> list[str]:
    """The accent-free, lower-case words of the cleaned name, for leading-words matching."""
    return [w for w in _NON_ALNUM_RE.split(_fold(clean_name(raw))) if w]


@dataclass(frozen=True, slots=True)
class Manufacturer:
    """A canonical manufacturer with the spellings that mean it."""

    name: str
    """Canonical display name (e.g. ``GE HealthCare``)."""
    aliases: tuple[str, ...] = ()
    """Other spellings seen in CMMS exports, advisories and registries."""
    parent: str | None = None
    """The owning company, when another company owns it (``Hospira`` -> ``ICU Medical``)."""
    oui_orgs: tuple[str, ...] = ()
    """Registrant names exactly as in the IEEE OUI registry, for passive discovery."""

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> Manufacturer:
        """Build from one parsed ``manufacturers.json`` entry; raises ``ValueError`` on a malformed entry."""
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"manufacturer entry without a name: {entry!r}")
        parent = entry.get("parent")
        return cls(
            name=name,
            aliases=tuple(str(a) for a in entry.get("aliases") or ()),
            parent=str(parent) if parent else None,
            oui_orgs=tuple(str(o) for o in entry.get("oui_orgs") or ()),
        )


@dataclass(frozen=True, slots=True)
class NormalizedManufacturer:
    """The result of normalising one raw manufacturer string."""

    name: str
    """The canonical name when ``known``, else the cleaned raw text."""
    known: bool
    """Whether the name matched a catalog entry."""
    confidence: float
    """How sure the match is, 0.0 to 1.0 (see the ``CONFIDENCE_*`` constants)."""
    key: str
    """The matching key of ``name``; two raw spellings of one vendor share it, known or not."""
    parent: str | None = None
    """The owning company of a known manufacturer, if any."""


@dataclass(frozen=True, slots=True)
class ManufacturerCatalog:
    """Known manufacturers, indexed for fast normalisation of raw names.

    Build it with :meth:`from_entries`.  :meth:`normalize` caches by raw string, so calling it once per row
    of a large import costs one dictionary look-up per repeated value.
    """

    manufacturers: tuple[Manufacturer, ...]
    """The catalog entries, in file order."""
    _by_key: dict[str, Manufacturer] = field(default_factory=dict, init=False, repr=False, compare=False)
    _by_oui_org: dict[str, Manufacturer] = field(default_factory=dict, init=False, repr=False, compare=False)
    _cache: dict[str, NormalizedManufacturer | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        """Index every spelling by key; two entries may not share a key."""
        for manufacturer in self.manufacturers:
            for spelling in (manufacturer.name, *manufacturer.aliases):
                key = name_key(spelling)
                other = self._by_key.get(key)
                if other is not None and other is not manufacturer:
                    raise ValueError(
                        f"{spelling!r} of {manufacturer.name!r} has the same key {key!r} as {other.name!r}"
                    )
                self._by_key[key] = manufacturer
            for org in manufacturer.oui_orgs:
                self._by_oui_org[_oui_key(org)] = manufacturer

    @classmethod
    def from_entries(cls, entries: Iterable[Mapping[str, Any]]) -> ManufacturerCatalog:
        """Build from parsed ``manufacturers.json`` entries; ``ValueError`` when two names share a key."""
        return cls(tuple(Manufacturer.from_entry(e) for e in entries))

    def get(self, name: str) -> Manufacturer | None:
        """The entry whose canonical name is exactly ``name``."""
        for manufacturer in self.manufacturers:
            if manufacturer.name == name:
                return manufacturer
        return None

    def normalize(self, raw: str | None) -> NormalizedManufacturer | None:
        """The canonical (or cleaned) name for ``raw``; ``None`` for blanks and placeholders (``N/A``, ``-``)."""
        if raw is None:
            return None
        try:
            return self._cache[raw]
        except KeyError:
            pass
        result = self._normalize(raw)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[raw] = result
        return result

    def _normalize(self, raw: str) -> NormalizedManufacturer | None:
        """Uncached :meth:`normalize`."""
        key = name_key(raw)
        if key in _PLACEHOLDER_KEYS:
            return None
        found = self._by_key.get(key)
        if found is not None:
            exact = raw.strip() == found.name
            return self._known(found, CONFIDENCE_EXACT if exact else CONFIDENCE_ALIAS)
        words = _word_keys(raw)
        for end in range(len(words) - 1, 0, -1):
            found = self._by_key.get("".join(words[:end]))
            if found is not None:
                return self._known(found, CONFIDENCE_PREFIX)
        return NormalizedManufacturer(name=clean_name(raw), known=False, confidence=CONFIDENCE_UNKNOWN, key=key)

    @staticmethod
    def _known(manufacturer: Manufacturer, confidence: float) -> NormalizedManufacturer:
        """The result for a matched catalog entry."""
        return NormalizedManufacturer(
            name=manufacturer.name,
            known=True,
            confidence=confidence,
            key=name_key(manufacturer.name),
            parent=manufacturer.parent,
        )

    def by_oui_org(self, org: str) -> str | None:
        """The canonical manufacturer for an IEEE OUI registrant name, or ``None``.

        Only registrant names listed in the catalog's ``oui_orgs`` match (spacing and case aside): an
        OUI registered to ``SIEMENS AG`` is as likely a PLC as a CT scanner, so no alias guessing here.
        """
        found = self._by_oui_org.get(_oui_key(org))
        return found.name if found is not None else None


def _oui_key(org: str) -> str:
    """Registrant names compared without case or spacing differences (the registry has double spaces)."""
    return _SPACE_RE.sub(" ", org).strip().casefold()
