"""Operating-system names as inventories write them, read the way NVD names the products (pure, no I/O).

An inventory says "Windows 10 Enterprise" + "21H2", "Windows 10 IoT Enterprise" + "2016 LTSB", "Windows 7
Professional" + "SP1" or "Windows 10" + "10.0.17763.1935"; the NVD names ``windows_10_21h2``, ``windows_10_1607``,
``windows_7:-:sp1`` and ``windows_10_1809`` (with build-number bounds).  This module says which words of such a
name only qualify the product (edition words: they never block a match), which mark a sibling product (``Embedded``:
a match on the desktop product is possible, not certain), and which release the version names (a Windows 10/11
release id, from the id itself, a servicing channel or a build number).  The tables are small, hand-kept facts
about Microsoft's naming (no library carries them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["EDITION_WORDS", "VARIANT_WORDS", "OsWords", "is_build", "os_words"]

EDITION_WORDS = frozenset(
    {
        "enterprise", "professional", "pro", "home", "ultimate", "education", "business", "starter", "premium",
        "basic", "standard", "datacenter", "essentials", "workstation", "iot", "ltsb", "ltsc", "edition",
        "x64", "x86", "64", "32", "bit", "64bit", "32bit",
    }
)  # fmt: skip
"""Words that name an edition or architecture: the NVD's Windows products cover every edition."""

VARIANT_WORDS = frozenset({"embedded"})
"""Words that name a sibling product (Windows 7 Embedded is not ``windows_7``, though it shares its code)."""

#: Windows 10/11 and Server build number (third part of ``10.0.BBBBB.R``) -> the release id NVD products carry.
_CLIENT_BUILDS = {
    "10240": "1507", "10586": "1511", "14393": "1607", "15063": "1703", "16299": "1709", "17134": "1803",
    "17763": "1809", "18362": "1903", "18363": "1909", "19041": "2004", "19042": "20h2", "19043": "21h1",
    "19044": "21h2", "19045": "22h2", "22000": "21h2", "22621": "22h2", "22631": "23h2", "26100": "24h2",
}  # fmt: skip
_SERVER_BUILDS = {"14393": "2016", "17763": "2019", "20348": "2022", "26100": "2025"}
#: Long-term servicing channels: (year, channel word) -> the release they are built on.
_CHANNELS = {
    ("2015", "ltsb"): "1507", ("2016", "ltsb"): "1607", ("2019", "ltsc"): "1809", ("2021", "ltsc"): "21h2",
    ("2024", "ltsc"): "24h2",
}  # fmt: skip
_BUILD = re.compile(r"^(?:10\.0\.)?(\d{5})(?:\.\d+)?$")
_RELEASE = re.compile(r"^(?:\d{4}|\d{2}h\d)$")
_DOTTED = re.compile(r"^\d+(?:\.\d+){2,3}$")


@dataclass(frozen=True, slots=True)
class OsWords:
    """How the words of one operating-system fact take part in matching."""

    name: frozenset[str]
    """Identifying name words (edition and variant words dropped): all must be in a product's name."""
    variants: frozenset[str]
    """Variant words of the name (``embedded``): a product without them matches as undecided at best."""
    releases: frozenset[str]
    """Release ids the version names (``1809``, ``21h2``, ``2019``), derived ones included."""


def is_build(version: str) -> bool:
    """Whether a version is a build number (``10.0.17763.1935``) that NVD version bounds can compare."""
    return _DOTTED.match(version.strip()) is not None


def os_words(name: frozenset[str], version: frozenset[str], raw_version: str | None) -> OsWords:
    """Split the (lower-case) name and version tokens of an OS fact; ``raw_version`` as recorded.

    >>> w = os_words(frozenset({"windows", "10", "iot", "enterprise"}), frozenset({"2016", "ltsb"}), "2016 LTSB")
    >>> sorted(w.name), sorted(w.releases)
    (['10', 'windows'], ['1607', '2016'])
    """
    releases = {t for t in version if _RELEASE.match(t)}
    for (year, channel), release in _CHANNELS.items():
        if year in version and channel in version:
            releases.add(release)
    build = _BUILD.match((raw_version or "").strip())
    if build is not None:
        table = _SERVER_BUILDS if "server" in name else _CLIENT_BUILDS
        if build.group(1) in table:
            releases.add(table[build.group(1)])
    variants = name & VARIANT_WORDS
    return OsWords(name - EDITION_WORDS - VARIANT_WORDS, variants, frozenset(releases))
