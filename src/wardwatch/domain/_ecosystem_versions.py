"""Version comparators of package ecosystems (purl types); :func:`wardwatch.domain.versions.compare_ecosystem`
dispatches to them.

``pypi`` uses ``packaging`` (PEP 440); ``npm``, ``golang`` and ``cargo`` use SemVer 2.0 precedence; ``deb`` uses
the dpkg algorithm.  Each returns ``-1``/``0``/``1``, or ``None`` when either side is not a version of the scheme.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from packaging.version import InvalidVersion, Version

__all__ = ["COMPARATORS"]

_SEMVER = re.compile(
    r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?$"
)
_DEB = re.compile(r"^(?:(\d+):)?([0-9][A-Za-z0-9.+~:-]*?)(?:-([A-Za-z0-9.+~]+))?$")


def _sign(value: int) -> int:
    return (value > 0) - (value < 0)


def _compare_pypi(a: str, b: str) -> int | None:
    try:
        left, right = Version(a), Version(b)
    except InvalidVersion:
        return None
    return _sign((left > right) - (left < right))


def _semver_parts(text: str) -> tuple[tuple[int, int, int], list[str] | None] | None:
    match = _SEMVER.match(text.strip())
    if match is None:
        return None
    major, minor, patch, pre = match.groups()
    return (int(major), int(minor), int(patch)), (pre.split(".") if pre else None)


def _compare_semver(a: str, b: str) -> int | None:
    """SemVer 2.0 precedence: build metadata ignored, a pre-release below its release, identifiers compared
    numerically when numeric, numeric below alphanumeric, a shorter list of equal identifiers below a longer.

    >>> _compare_semver("1.0.0-alpha.1", "1.0.0-alpha.beta"), _compare_semver("v1.2.3+build.5", "1.2.3")
    (-1, 0)
    """
    left, right = _semver_parts(a), _semver_parts(b)
    if left is None or right is None:
        return None
    if left[0] != right[0]:
        return -1 if left[0] < right[0] else 1
    pre_a, pre_b = left[1], right[1]
    if pre_a is None or pre_b is None:
        return (pre_a is None) - (pre_b is None)
    for x, y in zip(pre_a, pre_b, strict=False):
        if x == y:
            continue
        if x.isdigit() and y.isdigit():
            return -1 if int(x) < int(y) else 1
        if x.isdigit() != y.isdigit():
            return -1 if x.isdigit() else 1
        return -1 if x < y else 1
    return _sign(len(pre_a) - len(pre_b))


def _deb_order(char: str) -> int:
    if char == "~":
        return -1
    if char.isalpha():
        return ord(char)
    return ord(char) + 256


def _compare_deb_part(a: str, b: str) -> int:
    """dpkg's ``verrevcmp``: alternating non-digit runs (``~`` lowest, letters before symbols) and numbers."""
    i = j = 0
    while i < len(a) or j < len(b):
        first_diff = 0
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ac = _deb_order(a[i]) if i < len(a) and not a[i].isdigit() else 0
            bc = _deb_order(b[j]) if j < len(b) and not b[j].isdigit() else 0
            if ac != bc:
                return -1 if ac < bc else 1
            i, j = i + 1, j + 1
        start_i, start_j = i, j
        while i < len(a) and a[i].isdigit():
            i += 1
        while j < len(b) and b[j].isdigit():
            j += 1
        first_diff = _sign(int(a[start_i:i] or "0") - int(b[start_j:j] or "0"))
        if first_diff:
            return first_diff
    return 0


def _compare_deb(a: str, b: str) -> int | None:
    """Debian versions ``[epoch:]upstream[-revision]``.

    >>> _compare_deb("1:2.3-4ubuntu1", "2.4-1"), _compare_deb("1.0~rc1-1", "1.0-1"), _compare_deb("1.0", "1.0-0")
    (1, -1, 0)
    """
    left, right = _DEB.match(a.strip()), _DEB.match(b.strip())
    if left is None or right is None:
        return None
    epoch = _sign(int(left.group(1) or 0) - int(right.group(1) or 0))
    if epoch:
        return epoch
    upstream = _compare_deb_part(left.group(2), right.group(2))
    if upstream:
        return upstream
    return _compare_deb_part(left.group(3) or "0", right.group(3) or "0")


COMPARATORS: dict[str, Callable[[str, str], int | None]] = {
    "pypi": _compare_pypi,
    "npm": _compare_semver,
    "golang": _compare_semver,
    "cargo": _compare_semver,
    "semver": _compare_semver,
    "deb": _compare_deb,
}
"""The comparator of each purl type that has its own rules; the others use the firmware comparator."""
