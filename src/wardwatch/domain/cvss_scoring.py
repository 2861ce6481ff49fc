"""CVSS v3.0/3.1 and v4.0 scoring: a thin, pure wrapper over the ``cvss`` library (METHODS.md 3.2, 3.4).

The equations are never re-implemented here (METHODS.md 1.3 defect 4: the rubric calculator's own formula has
no ``min(..., 10)`` cap). ``cvss`` (RedHat, LGPL) is imported unmodified.

Errors::

    CvssError (ValueError)   the vector is not a valid CVSS v3.0, v3.1 or v4.0 vector
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cvss import CVSS3, CVSS4  # type: ignore[import-untyped]  # cvss ships no type information
from cvss.exceptions import CVSSError  # type: ignore[import-untyped]

__all__ = ["V4_BASE_METRICS", "CvssError", "CvssScore", "Version", "normalise_vector", "score", "severity"]

Version = Literal["3.0", "3.1", "4.0"]

_PREFIXES: dict[str, Version] = {"CVSS:3.0/": "3.0", "CVSS:3.1/": "3.1", "CVSS:4.0/": "4.0"}

#: The CVSS v4.0 base metrics, in vector order (a bare vector using them is taken as v4.0).
V4_BASE_METRICS: tuple[str, ...] = ("AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA")


class CvssError(ValueError):
    """A vector could not be parsed or scored; the message names the vector and the reason."""


@dataclass(frozen=True, slots=True)
class CvssScore:
    """The scores of one CVSS vector."""

    version: Version
    """``3.0``, ``3.1`` or ``4.0``."""
    vector: str
    """The normalised vector, always with its ``CVSS:x.y/`` prefix."""
    base: float
    """The base score (base metrics only)."""
    temporal: float | None
    """v3 temporal score (equal to ``base`` when no temporal metric is set); ``None`` for v4.0."""
    environmental: float
    """The most specific score the vector supports: v3 environmental score; v4.0 score of the whole vector."""
    severity: str
    """Qualitative rating of ``environmental``: None, Low, Medium, High or Critical."""
    safety: str | None = None
    """v4.0 supplemental Safety (``N`` negligible, ``P`` present); ``None`` when not set or for v3."""


def severity(value: float) -> str:
    """The CVSS qualitative rating of a score (same bands in v3 and v4).

    >>> severity(0.0), severity(3.9), severity(4.0), severity(8.9), severity(9.0)
    ('None', 'Low', 'Medium', 'High', 'Critical')
    """
    if value == 0.0:
        return "None"
    if value < 4.0:
        return "Low"
    if value < 7.0:
        return "Medium"
    if value < 9.0:
        return "High"
    return "Critical"


def normalise_vector(vector: str, default_version: Version = "3.1") -> tuple[Version, str]:
    """The version and prefixed vector; a bare vector gets ``CVSS:<default_version>/`` (``4.0`` if it uses VC:).

    >>> normalise_vector("AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")
    ('3.1', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H')
    """
    text = vector.strip()
    for prefix, version in _PREFIXES.items():
        if text.upper().startswith(prefix):
            return version, prefix + text[len(prefix) :]
    if text.upper().startswith("CVSS:"):
        raise CvssError(f"unsupported CVSS version in {vector!r}: expected CVSS:3.0/, CVSS:3.1/ or CVSS:4.0/")
    keys = {part.split(":", 1)[0] for part in text.split("/")}
    bare: Version = "4.0" if "VC" in keys else default_version
    return bare, f"CVSS:{bare}/{text}"


def score(vector: str, default_version: Version = "3.1") -> CvssScore:
    """Parse and score a CVSS v3.0, v3.1 or v4.0 vector (base, temporal/threat and environmental metrics).

    Raises :class:`CvssError` with the vector and the library's reason when the vector is invalid.
    """
    version, text = normalise_vector(vector, default_version)
    try:
        if version == "4.0":
            return _score_v4(text)
        parsed = CVSS3(text)
    except CVSSError as e:
        raise CvssError(f"invalid CVSS {version} vector {vector!r}: {e}. Tip: check the metric names and order.") from e
    base, temporal, environmental = (float(s) for s in parsed.scores())
    return CvssScore(
        version=version,
        vector=str(parsed.clean_vector()),
        base=base,
        temporal=temporal,
        environmental=environmental,
        severity=severity(environmental),
    )


def _score_v4(text: str) -> CvssScore:
    full = CVSS4(text)
    base_only = "/".join(f"{key}:{full.metrics[key]}" for key in V4_BASE_METRICS)
    base = CVSS4(f"CVSS:4.0/{base_only}")
    safety = full.metrics.get("S")
    total = float(full.base_score)
    return CvssScore(
        version="4.0",
        vector=str(full.clean_vector()),
        base=float(base.base_score),
        temporal=None,
        environmental=total,
        severity=severity(total),
        safety=None if safety in (None, "X") else str(safety),
    )
