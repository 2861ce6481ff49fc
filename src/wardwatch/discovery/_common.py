"""Small helpers shared by the protocol dissectors: text clean-up and building results with evidence.

Private to ``wardwatch.discovery``.  Everything here is pure and total: no helper raises on odd input.
"""

from __future__ import annotations

from sys import intern

from wardwatch.discovery._base import Payload
from wardwatch.domain.observations import Endpoint, Finding, FindingKind, Observation, ObservationKind

__all__ = ["MAX_VALUE", "finding", "mac_text", "observation", "text"]

MAX_VALUE = 256
"""Longest value kept (characters); longer wire strings are cut, never invented."""

_CONTROL = {c: None for c in range(32) if c not in (9,)} | {127: None}


def text(raw: bytes, encoding: str = "utf-8") -> str | None:
    """Decode wire bytes to a printable, trimmed string; ``None`` when nothing printable is left.

    Undecodable bytes become U+FFFD, control characters (except tab) and NULs are dropped, and the result is
    cut to :data:`MAX_VALUE` characters.

    >>> text(b"  NT LM 0.12\\x00")
    'NT LM 0.12'
    >>> text(b"\\x00\\x01") is None
    True
    """
    value = raw.decode(encoding, errors="replace").translate(_CONTROL).strip()
    return value[:MAX_VALUE] or None


def mac_text(raw: bytes) -> str | None:
    """``aa:bb:cc:dd:ee:ff`` for a 6-byte MAC; ``None`` for anything else or the all-zero MAC.

    >>> mac_text(bytes.fromhex("001f29da2d79"))
    '00:1f:29:da:2d:79'
    """
    if len(raw) != 6 or raw == bytes(6):
        return None
    return ":".join(f"{b:02x}" for b in raw)


def observation(
    payload: Payload,
    endpoint: Endpoint,
    kind: ObservationKind,
    value: str,
    protocol: str,
    detail: str | None = None,
) -> Observation:
    """An observation about ``endpoint`` with evidence pointing at ``payload`` (``value`` interned: values
    recur across devices and a capture's results are kept whole)."""
    return Observation(endpoint, kind, intern(value), payload.seen_at, payload.evidence(protocol, detail))


def finding(
    payload: Payload,
    endpoint: Endpoint,
    kind: FindingKind,
    detail: str,
    protocol: str,
    evidence_detail: str | None = None,
) -> Finding:
    """A finding about ``endpoint`` with evidence pointing at ``payload`` (``detail`` interned)."""
    return Finding(endpoint, kind, intern(detail), payload.seen_at, payload.evidence(protocol, evidence_detail))
