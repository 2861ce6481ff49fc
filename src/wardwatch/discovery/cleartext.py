"""Clear-text remote access and file transfer: Telnet (TCP 23) and FTP control (TCP 21).

Telnet: a ``TELNET`` finding on the server (from either direction); from the server's stream, its pre-login
banner -> ``SOFTWARE`` and a ``CLEARTEXT_CREDENTIALS`` finding on the server when it prompts for a password.

FTP: an ``FTP`` finding on the server (from either direction); the ``220`` greeting -> ``SOFTWARE`` of the
server; ``USER`` followed by ``PASS`` from the client -> ``CLEARTEXT_CREDENTIALS`` on the client, naming the
user, never the password.
"""

from __future__ import annotations

import re

from wardwatch.discovery._base import DissectorSpec, Payload, Result
from wardwatch.discovery._common import finding, observation, text
from wardwatch.domain.observations import Finding, FindingKind, Observation, ObservationKind

__all__ = ["SPEC", "dissect", "strip_telnet"]

_TELNET, _FTP = 23, 21
_IAC = 0xFF
_PASSWORD_PROMPT = re.compile(rb"pass(word|code)?\s*:", re.IGNORECASE)
_LOGIN_PROMPT = re.compile(rb"(login|user(name)?)\s*:\s*$", re.IGNORECASE)


def dissect(payload: Payload) -> Result:
    """Findings and observations from one direction of a Telnet or FTP control conversation."""
    server_port = payload.destination_port if payload.from_client else payload.source_port
    if server_port == _TELNET:
        return _telnet(payload)
    if server_port == _FTP:
        return _ftp(payload)
    return []


def strip_telnet(data: bytes) -> bytes:
    """The user-visible bytes of a Telnet stream: IAC commands and sub-negotiations removed.

    >>> strip_telnet(b"\\xff\\xfb\\x01login: \\xff\\xfa\\x18\\x01\\xff\\xf0")
    b'login: '
    """
    out = bytearray()
    pos = 0
    while pos < len(data):
        byte = data[pos]
        if byte != _IAC:
            out.append(byte)
            pos += 1
            continue
        command = data[pos + 1] if pos + 1 < len(data) else None
        if command == _IAC:
            out.append(_IAC)
            pos += 2
        elif command == 0xFA:  # SB ... IAC SE
            end = data.find(b"\xff\xf0", pos + 2)
            pos = len(data) if end < 0 else end + 2
        elif command is not None and 0xFB <= command <= 0xFE:  # WILL, WONT, DO, DONT + option
            pos += 3
        else:
            pos += 2
    return bytes(out)


def _telnet(payload: Payload) -> list[Observation | Finding]:
    server = payload.server
    out: list[Observation | Finding] = [
        finding(payload, server, FindingKind.TELNET, "Telnet service: remote login in clear text", "telnet")
    ]
    if payload.from_client:
        return out
    shown = strip_telnet(payload.data)
    for line in shown.replace(b"\r", b"\n").split(b"\n"):
        if _LOGIN_PROMPT.search(line) or _PASSWORD_PROMPT.search(line):
            break
        banner = text(line)
        if banner:
            out.append(observation(payload, server, ObservationKind.SOFTWARE, banner, "telnet", "Telnet banner"))
            break
    if _PASSWORD_PROMPT.search(shown):
        peer = payload.destination.ip or "a client"
        detail = f"Telnet password prompt: {peer} logs in with a password in clear text"
        out.append(finding(payload, server, FindingKind.CLEARTEXT_CREDENTIALS, detail, "telnet", "password prompt"))
    return out


def _ftp(payload: Payload) -> list[Observation | Finding]:
    server = payload.server
    out: list[Observation | Finding] = [
        finding(payload, server, FindingKind.FTP, "FTP service: logins and files in clear text", "ftp")
    ]
    lines = payload.data.split(b"\r\n")
    if not payload.from_client:
        if lines and lines[0][:4] in (b"220 ", b"220-"):
            greeting = text(lines[0][4:].strip().strip(b"()"))
            if greeting:
                out.append(observation(payload, server, ObservationKind.SOFTWARE, greeting, "ftp", "FTP 220 greeting"))
        return out
    user: str | None = None
    for line in lines:
        verb, _, argument = line.partition(b" ")
        verb = verb.upper()
        if verb == b"AUTH":
            break  # the rest is TLS
        if verb == b"USER":
            user = text(argument) or ""
        elif verb == b"PASS" and user is not None:
            host = payload.destination.ip or "the server"
            detail = f"FTP USER {user!r} and its password sent in clear text to {host}"
            out.append(finding(payload, payload.source, FindingKind.CLEARTEXT_CREDENTIALS, detail, "ftp", "USER/PASS"))
            break
    return out


SPEC = DissectorSpec(name="cleartext", dissect=dissect, transport="tcp", ports=frozenset({_FTP, _TELNET}))
"""Telnet on 23 and FTP control on 21; evidence names ``telnet`` or ``ftp``."""
