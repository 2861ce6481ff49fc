"""Vendor firmware versions, the version ranges of advisories, and order-preserving sort keys.

Medical device firmware does not follow SemVer (``7.2.8.810``, ``3.06.1803``, ``1.52``, ``V2.1.0 SP3``,
``B.06.18``), and generic comparators get it wrong (univers' ``vers:generic`` reads a fourth segment as build
metadata, so ``10.4.1.100`` is not below ``10.4.1.200``).  This module owns the rules:

* **Segments are numbers.**  ``.``, ``-`` and ``_`` separate numeric segments of any count; each compares as an
  integer, so ``06 == 6`` and vendor ``1.52`` (fifty-two) is *above* ``1.6``.  Missing trailing segments are
  zero: ``1.5 == 1.5.0``.
* **A prefix** ``v``, ``ver``, ``version``, ``r``, ``rel``, ``release``, ``rev``, ``fw``, ``firmware`` directly
  before a number is dropped: ``V2.1 == 2.1 == R2.1``.
* **A series**: a short leading label (1-4 letters, ``B.06.18``, ``BT06``, ``K``) names a product line.
  Versions compare by series first (no series sorts first); ranges only decide for versions of their own series.
* **Qualifiers** after the numbers are ``label[numbers]`` groups (``SP3``, ``Service Pack 01`` = ``SP1``,
  ``R2``, ``Rev B``, ``build 1234``, ``b123``, ``9.19a``).  ``dev``/``snapshot`` < ``alpha`` < ``beta`` <
  ``rc`` (= ``pre`` = ``preview``) sort *before* the bare release; every other label sorts *after* it, labels
  alphabetically among themselves: ``2.1.0rc1 < 2.1.0 < 2.1.0 SP3 < 2.1.1``.  A single glued letter is a
  post-release revision (``9.19a > 9.19``), never "alpha".
* **Anything else is not a version**: :meth:`FirmwareVersion.parse` returns ``None`` (``Paradigm x12``, dates,
  lists).  Callers keep such text as text: it compares only by equality (:meth:`VersionRange.contains`).

Every parsed version carries :attr:`FirmwareVersion.key`, a ``bytes`` sort key (:func:`sort_key`); the order of
versions *is* the order of their keys, so a range becomes half-open ``[lo, hi)`` key intervals that SQL matches
with ``key >= lo AND key < hi`` on an indexed BLOB column (SQLite and PostgreSQL ``bytea`` compare bytes).

Ranges (:func:`parse_range`) follow the `vers` constraint semantics: ``|`` joins constraints into a union of
intervals (``>= 1.3.4 | < 1.5.3`` is ``1.3.4 <= v < 1.5.3``), plus the phrases vendors write.  Nothing here
raises on odd input; a range that is not understood answers ``None`` ("cannot decide").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from wardwatch.domain._ecosystem_versions import COMPARATORS

__all__ = [
    "FirmwareVersion",
    "Interval",
    "Qualifier",
    "VersionRange",
    "compare_ecosystem",
    "parse_range",
    "sort_key",
]

_PRE_RELEASE_RANKS = {"dev": -4, "alpha": -3, "beta": -2, "rc": -1}
_LABEL_ALIASES = {"snapshot": "dev", "pre": "rc", "preview": "rc"}
_FLOOR_RANK = -9  # internal: the lowest version of a release, below all of its pre-releases
_POST_RANK = 1
_PREFIXES = frozenset({"v", "ver", "version", "r", "rel", "release", "rev", "fw", "firmware"})
_KNOWN_LABELS = frozenset(
    {*_PRE_RELEASE_RANKS, *_LABEL_ALIASES, "sp", "build", "patch", "rev", "hotfix", "update", "fix"}
)
_ALIASES = ((re.compile(r"service\s*pack"), "sp"), (re.compile(r"revision"), "rev"))
_TOKEN = re.compile(r"(\d+)|([a-z]+)|([._-])|(\s+)|(.)")
_MAX_DIGITS = 30  # keeps each number's key encoding under 16 bytes
_MAX_SERIES = 4
# a month is not a series: "<May 2018" is a date
_MONTHS = frozenset(
    {"jan", "feb", "mar", "apr", "may", "jun", "june", "jul", "july", "aug", "sep", "sept", "oct", "nov", "dec"}
)
_MAX_LABEL = 3  # for labels that are not in _KNOWN_LABELS
_MAX_QUALIFIERS = 4

_END = b"\x80"  # rank 0: the end of a version sorts between pre- and post-release qualifiers
_TEXT_KEY_PREFIX = b"\xfe"  # keys of unparseable text sort after every version and inside no series
_TOP = b"\xff"


def _encode_numbers(numbers: tuple[int, ...]) -> bytes:
    """Numbers as length-prefixed big-endian integers, trailing zeros dropped, ``\\x00``-terminated."""
    end = len(numbers)
    while end and numbers[end - 1] == 0:
        end -= 1
    out = bytearray()
    for number in numbers[:end]:
        raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
        out.append(1 + len(raw))
        out += raw
    out.append(0)
    return bytes(out)


@dataclass(frozen=True, slots=True)
class Qualifier:
    """One ``label[numbers]`` group after the release numbers: ``SP3``, ``rc1``, ``build 1234``, ``a``."""

    label: str
    """Lower-case letters (aliases folded: ``service pack`` -> ``sp``); empty only for the internal floor."""
    numbers: tuple[int, ...] = ()
    """The numbers after the label (``A.07.107`` -> ``(7, 107)``)."""

    @property
    def rank(self) -> int:
        """Negative for pre-releases (sort before the bare release), positive for everything else."""
        if not self.label:
            return _FLOOR_RANK
        return _PRE_RELEASE_RANKS.get(self.label, _POST_RANK)

    def encode(self) -> bytes:
        """This qualifier's part of the sort key."""
        return bytes((0x80 + self.rank,)) + self.label.encode("ascii") + b"\x00" + _encode_numbers(self.numbers)


@dataclass(frozen=True, slots=True, eq=False)
class FirmwareVersion:
    """A parsed vendor version; immutable, hashable, totally ordered by :attr:`key`.

    >>> v = FirmwareVersion.parse("V2.1.0 SP3")
    >>> v.release, v.qualifiers
    ((2, 1, 0), (Qualifier(label='sp', numbers=(3,)),))
    >>> FirmwareVersion.parse("2.1.0") < v < FirmwareVersion.parse("2.1.1")
    True
    >>> FirmwareVersion.parse("10.4.1.100") < FirmwareVersion.parse("10.4.1.200")
    True
    >>> FirmwareVersion.parse("3.06.1803") == FirmwareVersion.parse("3.6.1803")
    True
    >>> FirmwareVersion.parse("1.52") > FirmwareVersion.parse("1.6")
    True
    >>> FirmwareVersion.parse("Paradigm x12") is None
    True
    """

    series: str
    """A leading product-line label (``b`` in ``B.06.18``), or ``""``."""
    release: tuple[int, ...]
    """The numeric segments as written (trailing zeros kept; they do not count in comparisons)."""
    qualifiers: tuple[Qualifier, ...] = ()
    """The groups after the numbers, in order."""
    text: str = ""
    """The text this version was parsed from (not part of equality)."""
    key: bytes = field(init=False, repr=False)
    """The order-preserving sort key: ``a < b`` exactly when ``a.key < b.key``."""

    def __post_init__(self) -> None:
        """Compute the sort key once; comparisons are then a single bytes comparison."""
        parts = [self.series.encode("ascii"), b"\x00", _encode_numbers(self.release)]
        parts.extend(q.encode() for q in self.qualifiers)
        parts.append(_END)
        object.__setattr__(self, "key", b"".join(parts))

    @classmethod
    def parse(cls, text: str) -> FirmwareVersion | None:
        """Parse a vendor version, or return ``None`` when *text* is not a version (never raises).

        >>> FirmwareVersion.parse(" version 7.2.8.810 ").release
        (7, 2, 8, 810)
        >>> FirmwareVersion.parse("1.8.4 Service Pack 01") == FirmwareVersion.parse("1.8.4 SP1")
        True
        >>> FirmwareVersion.parse("2.0rc1") < FirmwareVersion.parse("2.0") < FirmwareVersion.parse("2.0a")
        True
        >>> FirmwareVersion.parse("B.06.18").series
        'b'
        >>> [FirmwareVersion.parse(t) for t in ("", "1 2", "MMT-512 / MMT-712")]
        [None, None, None]
        """
        parsed = _parse_parts(text)
        if parsed is None:
            return None
        series, release, qualifiers = parsed
        return cls(series, release, qualifiers, text.strip())

    @property
    def is_prerelease(self) -> bool:
        """Whether any qualifier is a pre-release one (``rc``, ``beta``...)."""
        return any(q.rank < 0 for q in self.qualifiers)

    def __str__(self) -> str:
        """The original text."""
        return self.text or repr(self)

    def __eq__(self, other: object) -> bool:
        """Equal when the keys are equal (``1.5 == 1.5.0 == v1.05``)."""
        return self.key == other.key if isinstance(other, FirmwareVersion) else NotImplemented

    def __hash__(self) -> int:
        """Hash of the key, consistent with equality."""
        return hash(self.key)

    def __lt__(self, other: FirmwareVersion) -> bool:
        """Order by key."""
        return self.key < other.key if isinstance(other, FirmwareVersion) else NotImplemented

    def __le__(self, other: FirmwareVersion) -> bool:
        """Order by key."""
        return self.key <= other.key if isinstance(other, FirmwareVersion) else NotImplemented

    def __gt__(self, other: FirmwareVersion) -> bool:
        """Order by key."""
        return self.key > other.key if isinstance(other, FirmwareVersion) else NotImplemented

    def __ge__(self, other: FirmwareVersion) -> bool:
        """Order by key."""
        return self.key >= other.key if isinstance(other, FirmwareVersion) else NotImplemented

    def floor(self) -> FirmwareVersion:
        """The lowest version of this release: below its pre-releases (``9`` -> ``9~floor`` < ``9.0rc1``)."""
        return FirmwareVersion(self.series, self.release, (Qualifier(""),), f"{self.text}~floor")

    def next_release(self) -> FirmwareVersion:
        """The release after this prefix: ``9.19`` -> ``9.20`` (used for ``9.19.x`` wildcards)."""
        bumped = (*self.release[:-1], self.release[-1] + 1) if self.release else (1,)
        return FirmwareVersion(self.series, bumped, (), ".".join(map(str, bumped)))


def _parse_parts(text: str) -> tuple[str, tuple[int, ...], tuple[Qualifier, ...]] | None:
    """Tokenise and read ``[prefix] [series] numbers (label [numbers])*``; ``None`` when anything is left."""
    lowered = text.strip().lower()
    for pattern, replacement in _ALIASES:
        lowered = pattern.sub(replacement, lowered)
    tokens: list[tuple[str, str]] = []
    for number, word, sep, space, other in _TOKEN.findall(lowered):
        if other:
            return None
        if number:
            if len(number) > _MAX_DIGITS:
                return None
            tokens.append(("n", number))
        elif word:
            tokens.append(("w", word))
        elif sep:
            tokens.append(("s", sep))
        elif space:
            tokens.append((" ", space))
    if not tokens:
        return None
    pos = 0

    def numbers(start: int) -> tuple[tuple[int, ...], int]:
        """Read ``n (sep n)*`` from *start*; return the numbers and the next position."""
        found: list[int] = []
        i = start
        while i < len(tokens) and tokens[i][0] == "n":
            found.append(int(tokens[i][1]))
            if i + 2 < len(tokens) and tokens[i + 1][0] == "s" and tokens[i + 2][0] == "n":
                i += 2
            else:
                i += 1
        return tuple(found), i

    def skip_separator(i: int) -> int:
        return i + 1 if i < len(tokens) and tokens[i][0] in "s " else i

    # prefix: "v2", "ver. 2", "version 2", "R4.1"
    if tokens[0][0] == "w" and tokens[0][1] in _PREFIXES:
        after = skip_separator(skip_separator(1))  # "ver. 2"
        if after < len(tokens) and tokens[after][0] == "n":
            pos = after
    series = ""
    if tokens[pos][0] == "w":
        series = tokens[pos][1]
        if len(series) > _MAX_SERIES or series in _MONTHS:
            return None
        after = skip_separator(pos + 1)
        pos = after if after < len(tokens) and tokens[after][0] == "n" else pos + 1
    release, pos = numbers(pos)
    if not series and not release:
        return None
    qualifiers: list[Qualifier] = []
    while pos < len(tokens):
        pos = skip_separator(pos)
        if pos >= len(tokens) or tokens[pos][0] != "w":
            return None  # a number after a space ("1 2"), or a dangling separator
        label = tokens[pos][1]
        if label not in _KNOWN_LABELS and len(label) > _MAX_LABEL:
            return None
        after = skip_separator(pos + 1)
        found: tuple[int, ...] = ()
        if after < len(tokens) and tokens[after][0] == "n":
            found, pos = numbers(after)
        else:
            pos += 1
        if (label == "x" and not found) or len(qualifiers) == _MAX_QUALIFIERS:
            return None  # "9.x" is a wildcard pattern, not a version
        qualifiers.append(Qualifier(_LABEL_ALIASES.get(label, label), found))
    if series and not release and not qualifiers and series != "rev":
        return "rev", (), (Qualifier(series),)  # a bare revision letter: "K" is "Rev K"
    return series, release, tuple(qualifiers)


def sort_key(version: FirmwareVersion | str) -> bytes:
    """The order-preserving key of a version, for an indexed column matched with ``BETWEEN``/``<``.

    Keys of parsed versions compare exactly as the versions do.  Text that is not a version gets a key after
    every version and outside every series (only the "all versions" range covers it) so it can still be stored.

    >>> sort_key("1.5") == sort_key("v1.5.0")
    True
    >>> sort_key("10.4.1.100") < sort_key("10.4.1.200") < sort_key("10.4.2")
    True
    >>> sort_key("not a version") > sort_key("999")
    True
    """
    if isinstance(version, FirmwareVersion):
        return version.key
    parsed = FirmwareVersion.parse(version)
    if parsed is not None:
        return parsed.key
    return _text_key(version)


def _text_key(text: str) -> bytes:
    return _TEXT_KEY_PREFIX + " ".join(text.split()).casefold().encode("utf-8")


# Ranges ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Interval:
    """A run of versions within one series, as the half-open key interval ``[low_key, high_key)``.

    ``lower``/``upper`` of ``None`` mean "unbounded within the series": ``< 9.33`` does not reach ``B.12``.
    """

    series: str
    """The product line this interval lies in."""
    lower: FirmwareVersion | None
    """The lower bound, or ``None`` for the start of the series."""
    lower_inclusive: bool
    """Whether ``lower`` itself is inside."""
    upper: FirmwareVersion | None
    """The upper bound, or ``None`` for the end of the series."""
    upper_inclusive: bool
    """Whether ``upper`` itself is inside."""

    key_bounds: tuple[bytes, bytes] = field(init=False, repr=False, compare=False)
    """``(low, high)`` with ``low <= key < high`` exactly for the versions inside.

    Keys are prefix-free, so ``key(v) + b"\\x00"`` sits just above ``v`` and below every greater version.
    """

    def __post_init__(self) -> None:
        """Compute the key bounds once."""
        prefix = self.series.encode("ascii")
        if self.lower is None:
            low = prefix + b"\x00"
        else:
            low = self.lower.key if self.lower_inclusive else self.lower.key + b"\x00"
        if self.upper is None:
            high = prefix + b"\x01"
        else:
            high = self.upper.key + b"\x00" if self.upper_inclusive else self.upper.key
        object.__setattr__(self, "key_bounds", (low, high))

    def contains(self, version: FirmwareVersion) -> bool:
        """Whether *version* lies in this interval."""
        low, high = self.key_bounds
        return low <= version.key < high


_OPS = ("<=", ">=", "!=", "==", "<", ">", "=")
_UNIVERSAL = frozenset({"*", "all", "all versions", "any", "any version", "any versions", "every version"})
_VERS = re.compile(r"^vers:([a-z0-9.+-]+)/(.*)$")
_WILDCARD = re.compile(r"^(.*?)(?:[._-]?[x*])?(?:[._-][x*])*$", re.IGNORECASE)
_NOTE = re.compile(r"\s*\(([^()|<>=]*)\)$")
_V = r"(\S+(?: \S+)?)"  # a version inside a phrase: one or two words ("9.19", "2.1.0 SP3")
_PHRASES: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = tuple(
    (re.compile(pattern), ops)
    for pattern, ops in (
        (r"^(?:prior to|before|earlier than|older than|lower than|less than|below) " + _V + "$", ("<",)),
        (r"^" + _V + r" (?:and|or) (?:prior|earlier|before|below|lower|older)(?: versions?)?$", ("<=",)),
        (r"^(?:up to(?: and including)?|through|to) " + _V + "$", ("<=",)),
        (r"^" + _V + r" (?:and|or) (?:later|above|newer|higher|greater)(?: versions?)?$", (">=",)),
        (r"^" + _V + r"\+$", (">=",)),
        (r"^(?:after|later than|newer than|greater than|higher than|above) " + _V + "$", (">",)),
        (r"^(?:from )?" + _V + r" (?:through|thru|to) " + _V + "$", (">=", "<=")),
        (r"^between " + _V + r" and " + _V + "$", (">=", "<=")),
    )
)


@dataclass(frozen=True, slots=True)
class VersionRange:
    """The versions an advisory names, as a union of :class:`Interval` (or kept as text).

    >>> r = parse_range(">= 1.3.4 | < 1.5.3")
    >>> [r.contains(v) for v in ("1.3.3", "1.3.4", "1.5.2.999", "1.5.3")]
    [False, True, True, False]
    >>> parse_range("distributed < april 1, 2018").contains("1.0") is None
    True
    """

    text: str
    """The range as written."""
    intervals: tuple[Interval, ...] | None
    """The union of intervals, or ``None`` when the text was not understood."""
    universal: bool = False
    """Every version, known or not (``vers:all/*``, ``*``, ``all versions``)."""

    @property
    def understood(self) -> bool:
        """Whether the text was read as a range (otherwise it compares only by text equality)."""
        return self.universal or self.intervals is not None

    @property
    def series(self) -> frozenset[str]:
        """The product lines this range can decide about."""
        return frozenset(i.series for i in self.intervals or ())

    @property
    def key_bounds(self) -> tuple[tuple[bytes, bytes], ...]:
        """One ``(low, high)`` per interval, for ``key >= low AND key < high`` rows in SQL.

        The universal range covers every key, text keys included; a range not understood covers the key of its
        own text, so text still matches equal text.
        """
        if self.universal:
            return ((b"", _TOP),)
        if self.intervals is None:
            key = _text_key(self.text)
            return ((key, key + b"\x00"),)
        return tuple(i.key_bounds for i in self.intervals or ())

    def contains(self, version: FirmwareVersion | str) -> bool | None:
        """``True``/``False``, or ``None`` when it cannot be decided.

        ``None`` when the version is not a version, when its series is not one the range speaks of, or when
        the range was not understood and its text differs from the version's text.
        """
        if self.universal:
            return True
        if self.intervals is None:
            return True if _text_key(str(version)) == _text_key(self.text) else None
        parsed = version if isinstance(version, FirmwareVersion) else FirmwareVersion.parse(version)
        if parsed is None or all(i.series != parsed.series for i in self.intervals):
            return None
        key = parsed.key
        return any(low <= key < high for low, high in (i.key_bounds for i in self.intervals))

    @classmethod
    def from_nvd(
        cls,
        *,
        version: str | None = None,
        start_including: str | None = None,
        start_excluding: str | None = None,
        end_including: str | None = None,
        end_excluding: str | None = None,
    ) -> VersionRange:
        """The range of an NVD configuration match (``versionStartIncluding``... plus the CPE version).

        >>> r = VersionRange.from_nvd(start_including="10.4.1.100", end_excluding="10.4.1.200")
        >>> r.contains("10.4.1.100"), r.contains("10.4.1.199"), r.contains("10.4.1.200")
        (True, True, False)
        >>> VersionRange.from_nvd(version="*").universal
        True
        """
        if not any((start_including, start_excluding, end_including, end_excluding)):
            return parse_range("*" if version is None or version == "*" else version)
        text = " ".join(
            f"{op}{value}"
            for op, value in (
                (">=", start_including),
                (">", start_excluding),
                ("<=", end_including),
                ("<", end_excluding),
            )
            if value
        )
        lower_text, upper_text = start_including or start_excluding, end_including or end_excluding
        lower = FirmwareVersion.parse(lower_text) if lower_text else None
        upper = FirmwareVersion.parse(upper_text) if upper_text else None
        if (lower_text and lower is None) or (upper_text and upper is None):
            return _not_understood(text)
        series = {v.series for v in (lower, upper) if v is not None}
        if len(series) != 1:
            return _not_understood(text)
        interval = Interval(series.pop(), lower, bool(start_including), upper, bool(end_including))
        return VersionRange(text, (interval,))  # an empty interval (start above end) contains nothing


def _not_understood(text: str) -> VersionRange:
    return VersionRange(text, None)


def _expand(op: str, text: str) -> list[tuple[str, FirmwareVersion]] | None:
    """One constraint as ``(op, version)`` pairs; wildcards (``9.x``) become bounds around the prefix."""
    match = _WILDCARD.match(text)
    if match is not None and match.group(1) != text:
        prefix = FirmwareVersion.parse(match.group(1))
        if prefix is None or prefix.qualifiers or not prefix.release or op == "!=":
            return None
        low, high = prefix.floor(), prefix.next_release().floor()
        return {
            "=": [("=", low), ("<", high)],
            "<": [("<", low)],
            "<=": [("<", high)],
            ">": [(">=", high)],
            ">=": [(">=", low)],
        }[op]
    version = FirmwareVersion.parse(text)
    return None if version is None else [(op, version)]


def _intervals(constraints: list[tuple[str, str]]) -> tuple[Interval, ...] | None:
    """Apply the `vers` semantics to ``(op, version text)`` constraints; ``None`` when invalid.

    Equalities (and ``9.x`` wildcards) stand alone; the ``<``/``>`` constraints of each series are sorted and
    paired into intervals (consecutive lower bounds keep the lowest, upper bounds the highest: a union); a
    version may appear in only one of them; ``!=`` then removes single versions.
    """
    points: list[Interval] = []
    bounds: dict[str, list[tuple[str, FirmwareVersion]]] = {}
    excluded: list[FirmwareVersion] = []
    for op, text in constraints:
        expanded = _expand("=" if op == "==" else op, text)
        if expanded is None:
            return None
        if len(expanded) == 2 and expanded[0][0] == "=":  # wildcard equality: its own interval
            low, high = expanded[0][1], expanded[1][1]
            points.append(Interval(low.series, low, True, high, False))
            continue
        for kind, version in expanded:
            if kind == "=":
                points.append(Interval(version.series, version, True, version, True))
            elif kind == "!=":
                excluded.append(version)
            else:
                bounds.setdefault(version.series, []).append((kind, version))
    result: list[Interval] = []
    for series, items in bounds.items():
        items.sort(key=lambda item: item[1].key)
        if len({v.key for _, v in items}) != len(items):
            return None  # vers: each version at most once (">=1.0|<1.0" is not "everything")
        lower: tuple[str, FirmwareVersion] | None = None
        pending_upper: tuple[str, FirmwareVersion] | None = None
        for op, version in items:
            if op in (">", ">="):
                if pending_upper is not None:
                    result.append(_close(series, lower, pending_upper))
                    lower, pending_upper = None, None
                if lower is None:
                    lower = (op, version)
            else:
                pending_upper = (op, version)
        if pending_upper is not None or lower is not None:
            result.append(_close(series, lower, pending_upper))
    if excluded and not result and not points:
        result = [Interval(s, None, False, None, False) for s in dict.fromkeys(v.series for v in excluded)]
    result.extend(points)
    for version in excluded:
        result = [piece for interval in result for piece in _remove(interval, version)]
    return tuple(result)


def _close(
    series: str, lower: tuple[str, FirmwareVersion] | None, upper: tuple[str, FirmwareVersion] | None
) -> Interval:
    return Interval(
        series,
        lower[1] if lower else None,
        bool(lower and lower[0] == ">="),
        upper[1] if upper else None,
        bool(upper and upper[0] == "<="),
    )


def _remove(interval: Interval, version: FirmwareVersion) -> list[Interval]:
    if not interval.contains(version):
        return [interval]
    below = Interval(interval.series, interval.lower, interval.lower_inclusive, version, False)
    above = Interval(interval.series, version, False, interval.upper, interval.upper_inclusive)
    return [piece for piece in (below, above) if piece.key_bounds[0] < piece.key_bounds[1]]


def _constraints(body: str) -> list[tuple[str, str]] | None:
    """Split ``op version | op version ...``; a missing operator means equality."""
    found: list[tuple[str, str]] = []
    for part in body.split("|"):
        part = part.strip()
        op = next((o for o in _OPS if part.startswith(o)), "=")
        version = part[len(op) :].strip() if part.startswith(op) else part
        if not version:
            return None
        found.append((op, version))
    return found


def parse_range(text: str) -> VersionRange:
    """Read an advisory's version range; never raises (text not understood is kept, see :class:`VersionRange`).

    >>> r = parse_range("<= 9.33")
    >>> r.contains("9.33"), r.contains("9.33.0"), r.contains("9.33.1"), r.contains("9.19a")
    (True, True, False, True)
    >>> parse_range("vers:generic/>=1.0|<2.0").contains("2.0rc1")
    True
    >>> [parse_range(t).contains("9.20") for t in ("prior to 9.33", "9.19 and earlier", "versions 9.x")]
    [True, False, True]
    >>> parse_range("9.19 through 9.33").contains("9.33 SP1")
    False
    >>> parse_range("vers:all/*").contains("anything at all")
    True
    """
    cleaned = " ".join(text.split())
    note = _NOTE.search(cleaned)
    if note is not None:  # "<= 1.54 (integrated into GE MobileLink)": a comment, not a condition
        cleaned = cleaned[: note.start()].strip()
    lowered = cleaned.lower()
    if lowered in _UNIVERSAL:
        return VersionRange(text, (), universal=True)
    vers = _VERS.match(lowered)
    if vers is not None:
        scheme, body = vers.groups()
        if body.strip() == "*":
            return VersionRange(text, (), universal=True)
        if scheme != "generic":
            return _not_understood(text)  # other schemes: compare with compare_ecosystem
        constraints = _constraints(cleaned[len("vers:generic/") :])
    else:
        for lead in ("all versions ", "versions ", "version "):
            if lowered.startswith(lead):
                lowered = lowered[len(lead) :]
                break
        constraints = None
        for pattern, ops in _PHRASES:
            match = pattern.match(lowered)
            if match is not None:
                constraints = list(zip(ops, match.groups(), strict=True))
                break
        else:
            constraints = _constraints(lowered)
    if constraints is None:
        return _not_understood(text)
    intervals = _intervals(constraints)
    return _not_understood(text) if intervals is None else VersionRange(text, intervals)


def compare_ecosystem(scheme: str, a: str, b: str) -> int | None:
    """Compare two versions of a purl type: ``-1``, ``0``, ``1``, or ``None`` if either is not a version.

    ``pypi`` follows PEP 440 (``packaging``), ``npm``/``golang``/``cargo`` SemVer 2.0, ``deb`` dpkg; every other
    scheme (``generic``, vendor firmware) uses :class:`FirmwareVersion`.

    >>> compare_ecosystem("pypi", "1.0rc1", "1.0"), compare_ecosystem("npm", "1.2.3-beta.2", "1.2.3-beta.11")
    (-1, -1)
    >>> compare_ecosystem("deb", "1:1.0", "2.0"), compare_ecosystem("generic", "10.4.1.100", "10.4.1.200")
    (1, -1)
    >>> compare_ecosystem("pypi", "not a version", "1.0") is None
    True
    """
    comparator = COMPARATORS.get(scheme.lower())
    if comparator is not None:
        return comparator(a, b)
    left, right = FirmwareVersion.parse(a), FirmwareVersion.parse(b)
    if left is None or right is None:
        return None
    return (left > right) - (left < right)
