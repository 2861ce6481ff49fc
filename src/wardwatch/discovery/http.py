"""HTTP/1.x request and response heads (RFC 9112), on the usual ports or recognised by their first line.

From requests (about the client): ``User-Agent`` -> ``HTTP_USER_AGENT``; ``Authorization: Basic`` ->
a ``CLEARTEXT_CREDENTIALS`` finding whose detail names the user and the host, never the password.  Every
request head in the stream prefix is read (keep-alive connections retry with credentials after a 401).

From responses (about the server): ``Server`` -> ``HTTP_SERVER`` and ``X-Powered-By`` -> ``SOFTWARE``.

Payloads of a conversation the flow table marked as TLS are ignored: their bytes are not HTTP.
"""

from __future__ import annotations

import base64
import binascii
import re

from wardwatch.discovery._base import DissectorSpec, Payload, Result
from wardwatch.discovery._common import finding, observation, text
from wardwatch.domain.observations import Finding, FindingKind, Observation, ObservationKind

__all__ = ["SPEC", "dissect", "looks_like_http"]

_PROTO = "http"
_REQUEST_LINE = re.compile(
    rb"(GET|POST|HEAD|PUT|DELETE|OPTIONS|PATCH|TRACE|CONNECT) [^ \r\n]{1,8192} HTTP/1\.[01]\r?\n"
)
_STATUS_LINE = re.compile(rb"HTTP/1\.[01] [1-5][0-9][0-9]")
_MAX_MESSAGES = 32


def looks_like_http(data: bytes) -> bool:
    """Heuristic: the bytes start with an HTTP/1.x request line or status line.

    >>> looks_like_http(b"GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
    True
    >>> looks_like_http(b"\\x16\\x03\\x01")
    False
    """
    return bool(_REQUEST_LINE.match(data) or _STATUS_LINE.match(data))


def dissect(payload: Payload) -> Result:
    """Observations and findings from the start of one direction of an HTTP/1.x conversation."""
    if payload.tls:
        return []
    data = payload.data
    out: list[Observation | Finding] = []
    if _STATUS_LINE.match(data):
        _response(payload, _headers(data, 0)[0], out)
        return out
    pos = 0
    for _ in range(_MAX_MESSAGES):
        if not _REQUEST_LINE.match(data, pos):
            break
        headers, pos = _headers(data, pos)
        _request(payload, headers, out)
        length = headers.get(b"content-length", b"")
        pos += int(length) if length.isdigit() and len(length) < 10 else 0
    return out


def _headers(data: bytes, start: int) -> tuple[dict[bytes, bytes], int]:
    """Header fields (lower-cased names; first occurrence wins) of the head at ``start`` and its end offset.

    A head cut by the end of the prefix still yields the complete lines before the cut.
    """
    end = data.find(b"\r\n\r\n", start)
    head = data[start:end] if end >= 0 else data[start:]
    lines = head.split(b"\r\n")
    if end < 0:
        lines = lines[:-1]  # the last line may be cut
    fields: dict[bytes, bytes] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if sep and name and b" " not in name:
            fields.setdefault(name.strip().lower(), value.strip())
    return fields, (end + 4 if end >= 0 else len(data))


def _request(payload: Payload, headers: dict[bytes, bytes], out: list[Observation | Finding]) -> None:
    client = payload.source
    agent = text(headers.get(b"user-agent", b""))
    if agent:
        out.append(observation(payload, client, ObservationKind.HTTP_USER_AGENT, agent, _PROTO, "User-Agent header"))
    scheme, _, credentials = headers.get(b"authorization", b"").partition(b" ")
    if scheme.lower() == b"basic":
        user = _basic_user(credentials.strip())
        if user is not None:
            host = text(headers.get(b"host", b"")) or (payload.destination.ip or "the server")
            detail = f"HTTP Basic credentials for user {user!r} sent in clear text to {host}"
            out.append(
                finding(payload, client, FindingKind.CLEARTEXT_CREDENTIALS, detail, _PROTO, "Authorization: Basic")
            )


def _basic_user(token: bytes) -> str | None:
    """The user part of a Basic token (the password is dropped here, never stored)."""
    try:
        decoded = base64.b64decode(token, validate=True)
    except (binascii.Error, ValueError):
        return None
    user, sep, _ = decoded.partition(b":")
    if not sep:
        return None
    return text(user) or ""


def _response(payload: Payload, headers: dict[bytes, bytes], out: list[Observation | Finding]) -> None:
    server = payload.source
    value = text(headers.get(b"server", b""))
    if value:
        out.append(observation(payload, server, ObservationKind.HTTP_SERVER, value, _PROTO, "Server header"))
    powered = text(headers.get(b"x-powered-by", b""))
    if powered:
        out.append(observation(payload, server, ObservationKind.SOFTWARE, powered, _PROTO, "X-Powered-By header"))


SPEC = DissectorSpec(
    name=_PROTO,
    dissect=dissect,
    transport="tcp",
    ports=frozenset({80, 443, 591, 8000, 8008, 8080, 8081, 8088, 8888}),
    heuristic=looks_like_http,
)
"""HTTP/1.x on the common web ports (443 only when the bytes are not TLS) and anywhere by its first line."""
