"""CPE 2.3 formatted strings: a small, fast parser, attribute matching and vendor/product keys.

``cpe:2.3:part:vendor:product:version:update:edition:language:sw_edition:target_sw:target_hw:other``

* Attribute values are kept **as bound in the formatted string** (escapes such as ``\\:`` or ``\\.`` kept,
  lower-cased), so a literal ``\\*`` never collides with :data:`ANY` (``*``) and a literal ``\\-`` never
  collides with :data:`NA` (``-``).  :func:`unescape` gives the display text.
* :func:`matches` compares a pattern (an NVD ``criteria``) with a product's CPE attribute by attribute, as
  the CPE Name Matching specification (NISTIR 7696) does, simplified: a pattern matches when every
  attribute relation is SUPERSET or EQUAL.  Versions are compared for equality only; range checks on
  ``versionStartIncluding``… belong to the caller (pass ``compare_version=False``).
* :func:`vendor_key` and :func:`product_key` fold the spellings of a name (``ge_healthcare``,
  ``GE Healthcare``, ``GE HealthCare Inc.``) to one key, optionally through the manufacturer catalog.

Pure: no I/O.  Errors: :class:`CpeError` (a ``ValueError``) for text that is not a CPE 2.3 formatted string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from functools import lru_cache

from wardwatch.domain.manufacturers import ManufacturerCatalog, name_key

__all__ = ["ANY", "NA", "Cpe", "CpeError", "matches", "parse_cpe", "product_key", "unescape", "vendor_key"]

ANY = "*"
"""The logical value ANY: the attribute can be anything."""
NA = "-"
"""The logical value NOT APPLICABLE: the attribute has no meaning for this product."""

_PREFIX = "cpe:2.3:"
_COMPONENTS = 11
#: NVD's longest criteria are a few hundred characters; anything far longer is not a CPE name.
MAX_LENGTH = 2048
_PARTS = frozenset({"a", "o", "h", ANY})
#: Unescaped characters that may not appear in a formatted-string value (the spec's printable set, less
#: what must be quoted): whitespace and control characters.
_BAD_CHAR_RE = re.compile(r"[\s\x00-\x1f\x7f]")
_ESCAPE_RE = re.compile(r"\\(.)", re.DOTALL)
_UNDERSCORE_SPACE_RE = re.compile(r"[\s_]+")


class CpeError(ValueError):
    """The text is not a CPE 2.3 formatted string."""


@dataclass(frozen=True, slots=True)
class Cpe:
    """A CPE 2.3 name, its eleven attributes as bound in the formatted string (lower case, escapes kept)."""

    part: str
    """``a`` (application), ``o`` (operating system), ``h`` (hardware) or ``*``."""
    vendor: str
    """E.g. ``siemens``."""
    product: str
    """E.g. ``acuson_p300_firmware``."""
    version: str = ANY
    """E.g. ``13.02``; ``*`` ANY, ``-`` NA."""
    update: str = ANY
    """E.g. ``sp1``."""
    edition: str = ANY
    """Legacy edition."""
    language: str = ANY
    """RFC 5646 language tag."""
    sw_edition: str = ANY
    """Software edition (market)."""
    target_sw: str = ANY
    """Target software environment."""
    target_hw: str = ANY
    """Target hardware (``x64``, ``x86``…)."""
    other: str = ANY
    """Anything else."""

    def __str__(self) -> str:
        """The formatted string (``cpe:2.3:…``)."""
        return _PREFIX + ":".join(self.values())

    def values(self) -> tuple[str, ...]:
        """The eleven attribute values, in formatted-string order."""
        return (
            self.part,
            self.vendor,
            self.product,
            self.version,
            self.update,
            self.edition,
            self.language,
            self.sw_edition,
            self.target_sw,
            self.target_hw,
            self.other,
        )


ATTRIBUTES: tuple[str, ...] = tuple(f.name for f in fields(Cpe))
"""The attribute names, in formatted-string order."""


def _split_escaped(body: str) -> list[str]:
    """``body`` split on the colons that are not escaped by a backslash."""
    values: list[str] = []
    start = 0
    i = 0
    n = len(body)
    while i < n:
        c = body[i]
        if c == "\\":
            if i + 1 == n:
                raise CpeError(f"'cpe:2.3:{body[:200]}' ends with a lone escape character")
            i += 2
            continue
        if c == ":":
            values.append(body[start:i])
            start = i + 1
        i += 1
    values.append(body[start:])
    return values


def parse_cpe(text: str) -> Cpe:
    """Parse a CPE 2.3 formatted string; :class:`CpeError` says what is wrong.

    Cached: NVD feeds repeat the same criteria many times.

    >>> parse_cpe("cpe:2.3:o:microsoft:windows_7:-:sp1:*:*:*:*:*:*").update
    'sp1'
    >>> parse_cpe(r"cpe:2.3:a:acme:big\\:app:1.0:*:*:*:*:*:*:*").product
    'big\\\\:app'
    """
    if not isinstance(text, str):
        raise CpeError(f"a CPE must be text, not {type(text).__name__}")
    return _parse(text)


@lru_cache(maxsize=65_536)
def _parse(text: str) -> Cpe:
    """Uncached :func:`parse_cpe` of a string."""
    if len(text) > MAX_LENGTH:
        raise CpeError(f"a CPE of {len(text)} characters is longer than {MAX_LENGTH}")
    if text[:8].lower() != _PREFIX:
        raise CpeError(f"{text[:60]!r} does not start with 'cpe:2.3:' (only CPE 2.3 formatted strings are read)")
    body = text[8:].lower()
    values = _split_escaped(body) if "\\" in body else body.split(":")
    if len(values) != _COMPONENTS:
        raise CpeError(f"{text[:200]!r} has {len(values)} attributes after 'cpe:2.3:', expected {_COMPONENTS}")
    for name, value in zip(ATTRIBUTES, values, strict=True):
        if not value:
            raise CpeError(f"{text[:200]!r} has an empty {name} (use '*' for ANY or '-' for NA)")
        if _BAD_CHAR_RE.search(value):
            raise CpeError(f"{text[:200]!r} has whitespace or a control character in its {name}")
    if values[0] not in _PARTS:
        raise CpeError(f"{text[:200]!r} has part {values[0]!r}, expected 'a', 'o', 'h' or '*'")
    return Cpe(*values)


def unescape(value: str) -> str:
    """The display text of a bound value: escapes removed (``big\\:app`` -> ``big:app``).

    ``*`` and ``-`` come back as they are; test for :data:`ANY` / :data:`NA` before unescaping.
    """
    return _ESCAPE_RE.sub(r"\1", value) if "\\" in value else value


def _has_wildcard(value: str) -> bool:
    """Whether ``value`` holds an unescaped ``*`` or ``?`` (a CPE 2.3 pattern inside a value)."""
    escaped = False
    for c in value:
        if escaped:
            escaped = False
        elif c == "\\":
            escaped = True
        elif c in "*?":
            return True
    return False


@lru_cache(maxsize=4096)
def _wildcard_regex(pattern: str) -> re.Pattern[str]:
    """A regex equivalent to a value with embedded ``*`` (any run) and ``?`` (one character) wildcards."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i : i + 2]))
            i += 2
            continue
        out.append(".*" if c == "*" else "." if c == "?" else re.escape(c))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def _attribute_matches(source: str, target: str) -> bool:
    """Whether pattern value ``source`` is a superset of, or equal to, ``target`` (NISTIR 7696 table 6-2)."""
    if source == ANY:
        return True
    if source == NA or target in (ANY, NA):
        # NA matches only NA; a specific pattern value does not cover an unknown (ANY) or NA target.
        return source == target
    if source == target:
        return True
    return _has_wildcard(source) and _wildcard_regex(source).fullmatch(target) is not None


def matches(pattern: Cpe | str, cpe: Cpe | str, *, compare_version: bool = True) -> bool:
    """Whether ``pattern`` (e.g. an NVD ``criteria``) matches the product named by ``cpe``.

    ``compare_version=False`` skips the version attribute, for callers that check NVD version bounds
    themselves.  Strings are parsed with :func:`parse_cpe` (:class:`CpeError` when malformed).

    >>> matches("cpe:2.3:o:microsoft:windows_7:-:sp1:*:*:*:*:*:*", "cpe:2.3:o:microsoft:windows_7:-:sp1:*:*:*:*:x64:*")
    True
    >>> matches("cpe:2.3:o:microsoft:windows_7:-:sp1:*:*:*:*:*:*", "cpe:2.3:o:microsoft:windows_7:-:-:*:*:*:*:*:*")
    False
    """
    p = parse_cpe(pattern) if isinstance(pattern, str) else pattern
    c = parse_cpe(cpe) if isinstance(cpe, str) else cpe
    for index, (source, target) in enumerate(zip(p.values(), c.values(), strict=True)):
        if index == 3 and not compare_version:
            continue
        if not _attribute_matches(source, target):
            return False
    return True


def product_key(value: str) -> str:
    """A product name folded for comparison: unescaped, lower case, ``_`` and spacing as one space.

    >>> product_key("acuson_p300_firmware") == product_key("ACUSON  P300 Firmware")
    True
    """
    return _UNDERSCORE_SPACE_RE.sub(" ", unescape(value).casefold()).strip()


def vendor_key(value: str, catalog: ManufacturerCatalog | None = None) -> str:
    """A vendor name folded for comparison: ``ge_healthcare``, ``GE Healthcare`` and ``GE Healthcare Inc.`` agree.

    Without ``catalog`` the key is the manufacturer-name key of the text (corporate suffixes, case, accents
    and punctuation dropped).  With it (``wardwatch.reference.manufacturer_catalog()``), known aliases fold
    to their manufacturer's key, so ``ge_medical_systems`` and ``GE HealthCare`` can agree too.

    >>> vendor_key("ge_healthcare") == vendor_key("GE Healthcare, Inc.")
    True
    """
    text = _UNDERSCORE_SPACE_RE.sub(" ", unescape(value)).strip()
    if catalog is not None:
        found = catalog.normalize(text)
        if found is not None and found.known:
            return found.key
    return name_key(text)
