"""What kind of device is this?  Wardwatch device types from FDA product codes, descriptions and models.

:meth:`DeviceTypeClassifier.classify` tries, in order, and says which step decided in plain words:

1. an explicit product code found in the FDA table (confidence :data:`CONFIDENCE_PRODUCT_CODE`); the type
   comes from the taxonomy entry listing the code, else from keywords in the code's FDA device name;
2. the taxonomy's keyword patterns on the description (:data:`CONFIDENCE_KEYWORD`), its model-family
   patterns on the model then the description (:data:`CONFIDENCE_MODEL`), and last keywords in the
   model (:data:`CONFIDENCE_KEYWORD`); within each step the first type in taxonomy order
   whose pattern matches wins, so the taxonomy lists specific types (``pca-pump``) before generic ones;
3. the FDA device name whose words best overlap the description's (Jaccard index; FDA names read
   ``Pump, Infusion``, so word order does not matter), at most :data:`CONFIDENCE_FDA_NAME_MAX`.

A product code missing from the FDA table is reported in :attr:`Classification.unknown_product_code`,
never replaced by a guessed one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from wardwatch.domain.inventory import ClinicalProfile, Criticality

__all__ = [
    "CONFIDENCE_FDA_NAME_MAX",
    "CONFIDENCE_KEYWORD",
    "CONFIDENCE_MODEL",
    "CONFIDENCE_PRODUCT_CODE",
    "CONFIDENCE_PRODUCT_CODE_NAME",
    "OTHER",
    "Classification",
    "DeviceType",
    "DeviceTypeClassifier",
    "FdaProductCode",
]

#: An explicit product code that the taxonomy maps to a type.
CONFIDENCE_PRODUCT_CODE = 0.95
#: An explicit product code whose FDA device name matched a taxonomy keyword.
CONFIDENCE_PRODUCT_CODE_NAME = 0.9
#: A taxonomy keyword in the description or the model.
CONFIDENCE_KEYWORD = 0.8
#: A taxonomy model-family pattern in the model or the description.
CONFIDENCE_MODEL = 0.7
#: The most a word-overlap match with an FDA device name can score (scaled by the Jaccard index).
CONFIDENCE_FDA_NAME_MAX = 0.5
#: The least Jaccard overlap accepted for an FDA-name match.
MIN_JACCARD = 0.5
#: The slug of the catch-all type, used when the FDA identity is known but no Wardwatch type fits.
OTHER = "other"

# Words that say nothing about what a device is ("System, X-Ray, Stationary" ~ "stationary x-ray").
_STOPWORDS = frozenset(
    {
        *("a", "an", "and", "or", "for", "with", "w", "wo", "of", "the", "in", "on", "to", "by"),
        *("use", "used", "incl", "including", "accessories", "accessory", "device", "devices"),
        *("system", "systems", "unit", "type"),
    }
)
_NON_ALNUM_RE = re.compile(r"[^0-9a-z]+")
_CACHE_LIMIT = 200_000


def _words(text: str) -> str:
    """Lower-case, accent-free words of ``text`` separated and surrounded by single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " " + " ".join(_NON_ALNUM_RE.split(folded)).strip() + " "


def _tokens(text: str) -> frozenset[str]:
    """The meaningful words of ``text``, plural ``s`` dropped, for word-overlap matching."""
    out = set()
    for word in _words(text).split():
        if word in _STOPWORDS:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        out.add(word)
    return frozenset(out)


def _flag(value: str) -> bool | None:
    """``Y``/``N`` from the FDA file as a bool; anything else is not known."""
    return {"Y": True, "N": False}.get(value.strip().upper())


@dataclass(frozen=True, slots=True)
class FdaProductCode:
    """One row of the FDA product classification database."""

    code: str
    """Three-letter product code, upper case (e.g. ``FRN``)."""
    device_name: str
    """FDA device name, written general-to-specific (``Pump, Infusion``)."""
    device_class: str
    """``1``, ``2``, ``3``, ``U`` (unclassified), ``N`` (not classified) or ``F`` (humanitarian device
    exemption; the FDA file writes it lower case)."""
    review_panel: str | None
    """Two-letter FDA review panel (``HO`` general hospital, ``CV`` cardiovascular...)."""
    medical_specialty: str | None
    """Two-letter medical specialty."""
    regulation_number: str | None
    """21 CFR regulation number (``880.5725``); ``None`` for unclassified codes."""
    implant: bool | None
    """Whether the FDA flags the device as an implant."""
    life_sustain_support: bool | None
    """Whether the FDA flags the device as life-sustaining or life-supporting."""

    @classmethod
    def from_row(cls, row: Mapping[str, str]) -> FdaProductCode:
        """Build from a row of ``fda_product_codes.csv.gz`` (see ``scripts/build_fda_table.py``)."""
        return cls(
            code=row["product_code"].strip().upper(),
            device_name=row["device_name"].strip(),
            device_class=row["device_class"].strip().upper(),
            review_panel=row.get("review_panel", "").strip() or None,
            medical_specialty=row.get("medical_specialty", "").strip() or None,
            regulation_number=row.get("regulation_number", "").strip() or None,
            implant=_flag(row.get("implant_flag", "")),
            life_sustain_support=_flag(row.get("life_sustain_support_flag", "")),
        )


@dataclass(frozen=True, slots=True)
class DeviceType:
    """A Wardwatch device type with its FDA codes, recognition patterns and default clinical profile."""

    slug: str
    """Stable identifier (``infusion-pump``)."""
    label: str
    """Display name."""
    fda_product_codes: tuple[str, ...]
    """FDA product codes typical for this type; each code belongs to one type only."""
    patterns: tuple[str, ...]
    """Keywords and phrases, matched on whole words without case, accents or punctuation."""
    model_patterns: tuple[str, ...]
    """Model family names that identify the type (``alaris``), matched the same way."""
    profile: ClinicalProfile
    """Default clinical profile; a ``None`` field means not known."""
    why: str
    """Why the default profile is what it is."""

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> DeviceType:
        """Build from one entry of ``device_types.json``; ``ValueError`` on an unknown criticality."""
        criticality = entry.get("criticality")
        return cls(
            slug=str(entry["slug"]),
            label=str(entry["label"]),
            fda_product_codes=tuple(str(c).strip().upper() for c in entry.get("fda_product_codes") or ()),
            patterns=tuple(str(p) for p in entry.get("patterns") or ()),
            model_patterns=tuple(str(p) for p in entry.get("model_patterns") or ()),
            profile=ClinicalProfile(
                criticality=Criticality(criticality) if criticality is not None else None,
                patient_connected=entry.get("patient_connected"),
                handles_phi=entry.get("handles_phi"),
                high_risk=entry.get("high_risk"),
            ),
            why=str(entry.get("why") or ""),
        )


@dataclass(frozen=True, slots=True)
class Classification:
    """The device type found for a description, with the FDA identity and the reason."""

    device_type: str | None
    """The Wardwatch type slug; ``None`` when only an unknown product code is reported."""
    fda_product_code: str | None
    """The FDA product code, given or matched; never a replacement for an unknown given code."""
    fda_class: str | None
    """The FDA device class of :attr:`fda_product_code`."""
    fda_device_name: str | None
    """The FDA device name of :attr:`fda_product_code`."""
    confidence: float
    """How sure the classification is, 0.0 to 1.0 (see the ``CONFIDENCE_*`` constants)."""
    reason: str
    """Why, in plain words (``keyword 'infusion' in 'IV Infusion Pump'``)."""
    unknown_product_code: str | None = None
    """A given product code that is not in the FDA table, reported as given."""


@dataclass(frozen=True, slots=True)
class _Hit:
    """A pattern match: which type and which pattern."""

    slug: str
    """The matching type's slug."""
    pattern: str
    """The pattern as written in the taxonomy."""


@dataclass(frozen=True, slots=True)
class DeviceTypeClassifier:
    """Classifies device descriptions into Wardwatch device types; build it with :meth:`from_data`.

    :meth:`classify` caches by its arguments, so a large import with repeated descriptions costs one
    dictionary look-up per row.
    """

    types: tuple[DeviceType, ...]
    """The taxonomy, in priority order."""
    fda: Mapping[str, FdaProductCode] = field(repr=False)
    """The FDA product classification table by product code."""
    _type_by_code: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)
    _patterns: list[tuple[str, str, str]] = field(default_factory=list, init=False, repr=False, compare=False)
    _fda_patterns: list[tuple[str, str, str]] = field(default_factory=list, init=False, repr=False, compare=False)
    _models: list[tuple[str, str, str]] = field(default_factory=list, init=False, repr=False, compare=False)
    _fda_tokens: dict[str, frozenset[str]] = field(default_factory=dict, init=False, repr=False, compare=False)
    _index: dict[str, list[str]] = field(default_factory=dict, init=False, repr=False, compare=False)
    _cache: dict[tuple[str | None, str | None, str | None], Classification | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        """Check the taxonomy against the FDA table and build the look-up indexes."""
        slugs = [t.slug for t in self.types]
        if len(slugs) != len(set(slugs)):
            raise ValueError(f"device types: duplicate slugs in {slugs}")
        for device_type in self.types:
            for code in device_type.fda_product_codes:
                if code not in self.fda:
                    raise ValueError(f"device type {device_type.slug!r}: product code {code} is not in the FDA table")
                if code in self._type_by_code:
                    raise ValueError(
                        f"product code {code} is listed by both {self._type_by_code[code]!r} and {device_type.slug!r}"
                    )
                self._type_by_code[code] = device_type.slug
            self._patterns.extend((device_type.slug, p, _words(p)) for p in device_type.patterns)
            # Only medical types may be read into an FDA name: "Computer, Diagnostic, Programmable" is no PC.
            if device_type.fda_product_codes:
                self._fda_patterns.extend((device_type.slug, p, _words(p)) for p in device_type.patterns)
            self._models.extend((device_type.slug, p, _words(p)) for p in device_type.model_patterns)
        for code in sorted(self.fda):
            tokens = _tokens(self.fda[code].device_name)
            self._fda_tokens[code] = tokens
            for token in tokens:
                self._index.setdefault(token, []).append(code)

    @classmethod
    def from_data(
        cls, types: Iterable[Mapping[str, Any]], fda_rows: Iterable[Mapping[str, str]]
    ) -> DeviceTypeClassifier:
        """Build from the ``types`` of ``device_types.json`` and the rows of ``fda_product_codes.csv.gz``.

        Raises ``ValueError`` when a type lists a product code missing from ``fda_rows`` or listed by another
        type, or when two types share a slug.
        """
        fda = {row.code: row for row in (FdaProductCode.from_row(r) for r in fda_rows)}
        return cls(types=tuple(DeviceType.from_entry(t) for t in types), fda=fda)

    def get(self, slug: str) -> DeviceType | None:
        """The device type with this slug."""
        for device_type in self.types:
            if device_type.slug == slug:
                return device_type
        return None

    def classify(
        self, text: str | None, product_code: str | None = None, model: str | None = None
    ) -> Classification | None:
        """Classify a device from its description, FDA product code and model; ``None`` if nothing fits."""
        key = (text, product_code, model)
        try:
            return self._cache[key]
        except KeyError:
            pass
        result = self._classify(text, product_code, model)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = result
        return result

    def _classify(self, text: str | None, product_code: str | None, model: str | None) -> Classification | None:
        """Uncached :meth:`classify`."""
        text = (text or "").strip()
        model = (model or "").strip()
        code = (product_code or "").strip().upper() or None
        given = self.fda.get(code) if code else None
        unknown = code if code and given is None else None

        if given is not None:
            slug = self._type_by_code.get(given.code)
            said = f"product code {given.code} given in the export"
            if slug is not None:
                return self._result(slug, given, CONFIDENCE_PRODUCT_CODE, said)
            hit = self._match(self._fda_patterns, given.device_name)
            if hit is not None:
                why = f"{said}; keyword '{hit.pattern}' in its FDA name '{given.device_name}'"
                return self._result(hit.slug, given, CONFIDENCE_PRODUCT_CODE_NAME, why)

        prefix = ""
        if unknown is not None:
            shown = product_code.strip() if product_code else unknown
            prefix = f"product code '{shown}' is not in the FDA product classification table; "
        elif given is not None:
            prefix = f"product code {given.code} given in the export has no Wardwatch type; "

        found = self._by_text(text, model)
        if found is not None:
            slug, confidence, why = found
            return self._result(slug, given, confidence, prefix + why, unknown)

        if given is None and unknown is None and text:
            return self._by_fda_name(text)
        if given is not None:
            slug = OTHER if self.get(OTHER) is not None else None
            why = f"{prefix}FDA name '{given.device_name}'"
            return self._result(slug, given, CONFIDENCE_PRODUCT_CODE, why)
        if unknown is not None:
            why = prefix + ("nothing in the description matched" if text or model else "no description")
            return Classification(None, None, None, None, 0.0, why, unknown)
        return None

    def _by_text(self, text: str, model: str) -> tuple[str, float, str] | None:
        """Type, confidence and reason from taxonomy patterns in the description or model.

        Order: keywords in the description, model families in the model, then in the description, and
        last keywords in the model (a model string like ``8015 PC Unit`` says little through keywords).
        """
        steps = (
            (self._patterns, text, CONFIDENCE_KEYWORD, "keyword"),
            (self._models, model, CONFIDENCE_MODEL, "model family"),
            (self._models, text, CONFIDENCE_MODEL, "model family"),
            (self._patterns, model, CONFIDENCE_KEYWORD, "keyword"),
        )
        for patterns, source, confidence, kind in steps:
            hit = self._match(patterns, source)
            if hit is not None:
                return hit.slug, confidence, f"{kind} '{hit.pattern}' in '{source}'"
        return None

    @staticmethod
    def _match(patterns: list[tuple[str, str, str]], source: str) -> _Hit | None:
        """The first pattern (in taxonomy order) found as whole words in ``source``."""
        if not source:
            return None
        words = _words(source)
        for slug, pattern, needle in patterns:
            if needle in words:
                return _Hit(slug, pattern)
        return None

    def _by_fda_name(self, text: str) -> Classification | None:
        """The FDA device name sharing the most words with ``text``, if the overlap is good enough."""
        tokens = _tokens(text)
        candidates = sorted({code for token in tokens for code in self._index.get(token, ())})
        # Rank: highest overlap, then more shared words, then the shorter FDA name, then the code.
        best: tuple[float, int, int, str] | None = None
        for code in candidates:
            name_tokens = self._fda_tokens[code]
            common = len(tokens & name_tokens)
            jaccard = common / len(tokens | name_tokens)
            if jaccard < MIN_JACCARD or (common < 2 and len(name_tokens) > 1):
                continue
            rank = (-jaccard, -common, len(name_tokens), code)
            if best is None or rank < best:
                best = rank
        if best is None:
            return None
        code = best[3]
        jaccard, common = -best[0], -best[1]
        row = self.fda[code]
        slug = self._type_by_code.get(code)
        if slug is None:
            hit = self._match(self._fda_patterns, row.device_name)
            slug = hit.slug if hit is not None else (OTHER if self.get(OTHER) is not None else None)
        confidence = round(CONFIDENCE_FDA_NAME_MAX * jaccard, 3)
        total = len(tokens | self._fda_tokens[code])
        why = f"closest FDA name '{row.device_name}' ({code}, {common} of {total} words shared)"
        return self._result(slug, row, confidence, why)

    @staticmethod
    def _result(
        slug: str | None,
        row: FdaProductCode | None,
        confidence: float,
        reason: str,
        unknown: str | None = None,
    ) -> Classification:
        """A :class:`Classification` carrying ``row``'s FDA identity, if any."""
        return Classification(
            device_type=slug,
            fda_product_code=row.code if row else None,
            fda_class=row.device_class if row else None,
            fda_device_name=row.device_name if row else None,
            confidence=confidence,
            reason=reason,
            unknown_product_code=unknown,
        )
