"""SMB over TCP 445 and NetBIOS session service 139 (MS-SMB, MS-SMB2).

Each NetBIOS session message of the stream prefix is read:

- SMB1 Negotiate request: each dialect offered (``NT LM 0.12``, ``SMB 2.002``...) -> ``SMB_DIALECT`` of the
  client.  SMB1 Negotiate response: the chosen dialect (``NT LM 0.12`` for the NT response format, else its
  index) -> ``SMB_DIALECT`` of the server.
- SMB1 Session Setup AndX (request or response): native OS and native LAN manager strings ->
  ``SMB_NATIVE_OS`` of the sender.
- SMB2 NEGOTIATE request: each dialect offered (``SMB 3.1.1``...) -> ``SMB_DIALECT`` of the client; response:
  the dialect chosen -> ``SMB_DIALECT`` of the server.
- ``SMBV1`` finding: on a server that sends any SMB1 message, and on a client that sends SMB1 commands other
  than Negotiate (so SMB1 was selected).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from wardwatch.discovery._base import DissectorSpec, Payload, Result
from wardwatch.discovery._common import finding, observation, text
from wardwatch.domain.observations import Finding, FindingKind, Observation, ObservationKind

__all__ = ["SPEC", "dissect", "looks_like_smb"]

_PROTO = "smb"
_SMB1, _SMB2 = b"\xffSMB", b"\xfeSMB"
_NEGOTIATE, _SESSION_SETUP = 0x72, 0x73
_SMB2_DIALECTS = {
    0x0202: "SMB 2.0.2",
    0x0210: "SMB 2.1",
    0x02FF: "SMB 2.???",
    0x0300: "SMB 3.0",
    0x0302: "SMB 3.0.2",
    0x0311: "SMB 3.1.1",
}
_MAX_MESSAGES = 64


def looks_like_smb(data: bytes) -> bool:
    """Heuristic: a NetBIOS session message carrying an SMB1 or SMB2 header.

    >>> looks_like_smb(b"\\x00\\x00\\x00\\x85\\xffSMBr")
    True
    """
    return len(data) >= 8 and data[0] == 0 and data[4:8] in (_SMB1, _SMB2)


def dissect(payload: Payload) -> Result:
    """Observations and findings from the start of one direction of an SMB conversation."""
    data = payload.data
    if _SMB1 not in data and _SMB2 not in data:
        return []  # every message this reads starts with one of the two headers: bulk data, nothing to say
    out: list[Observation | Finding] = []
    smb1_used = False
    for message in _messages(data):
        if message[:4] == _SMB1 and len(message) > 4:  # a header cut right after the magic names no command
            command = message[4]
            smb1_used = smb1_used or not payload.from_client or command != _NEGOTIATE
            out.extend(_smb1(payload, message))
        elif message[:4] == _SMB2:
            out.extend(_smb2(payload, message))
    if smb1_used:
        role = "client uses" if payload.from_client else "server speaks"
        detail = f"{role} SMB version 1 (deprecated; EternalBlue-class exposure)"
        out.append(finding(payload, payload.source, FindingKind.SMBV1, detail, _PROTO, "SMB1 header"))
    return out


def _messages(data: bytes) -> Iterator[bytes]:
    """SMB messages framed by NetBIOS session headers (type 0x00); other session packets are skipped."""
    pos = 0
    for _ in range(_MAX_MESSAGES):
        if pos + 4 > len(data):
            return
        kind = data[pos]
        length = int.from_bytes(data[pos + 1 : pos + 4], "big") & 0x1FFFF
        body = data[pos + 4 : pos + 4 + length]
        if kind == 0x00:
            yield body  # possibly cut by the prefix limit: parsers check bounds
        pos += 4 + length


def _smb1(payload: Payload, msg: bytes) -> Iterator[Observation]:
    if len(msg) < 35:
        return
    command, flags = msg[4], msg[9]
    (flags2,) = struct.unpack_from("<H", msg, 10)
    reply = bool(flags & 0x80)
    word_count = msg[32]
    words = msg[33 : 33 + 2 * word_count]
    if len(words) != 2 * word_count or len(msg) < 35 + 2 * word_count:
        return
    (byte_count,) = struct.unpack_from("<H", msg, 33 + 2 * word_count)
    bytes_at = 35 + 2 * word_count
    data = msg[bytes_at : bytes_at + byte_count]
    if command == _NEGOTIATE and not reply:
        for dialect in data.split(b"\x02")[1:]:
            name = text(dialect.split(b"\x00", 1)[0], "ascii")
            if name:
                yield _obs(payload, ObservationKind.SMB_DIALECT, name, "SMB1 Negotiate request dialect")
    elif command == _NEGOTIATE and word_count >= 1:
        (index,) = struct.unpack_from("<H", words, 0)
        if index != 0xFFFF:
            name = "NT LM 0.12" if word_count == 17 else f"SMB1 dialect #{index}"
            yield _obs(payload, ObservationKind.SMB_DIALECT, name, "SMB1 Negotiate response selected dialect")
    elif command == _SESSION_SETUP:
        yield from _native_strings(payload, msg, words, bytes_at, data, reply, bool(flags2 & 0x8000))


def _native_strings(
    payload: Payload, msg: bytes, words: bytes, bytes_at: int, data: bytes, reply: bool, unicode: bool
) -> Iterator[Observation]:
    """NativeOS and NativeLanMan of a Session Setup AndX request (12/13 words) or response (3/4 words)."""
    word_count = len(words) // 2
    if not reply and word_count == 12:  # extended security: blob length in word 7
        skip, strings_before = struct.unpack_from("<H", words, 14)[0], 0
    elif not reply and word_count == 13:  # passwords (words 7, 8), then account and domain names
        skip, strings_before = sum(struct.unpack_from("<HH", words, 14)), 2
    elif reply and word_count == 4:
        skip, strings_before = struct.unpack_from("<H", words, 6)[0], 0
    elif reply and word_count == 3:
        skip, strings_before = 0, 0
    else:
        return
    pos = skip
    if unicode and (bytes_at + pos) % 2:
        pos += 1  # Unicode strings are 2-byte aligned from the SMB header
    strings: list[str | None] = []
    for _ in range(strings_before + 2):
        raw, pos = _string(data, pos, unicode)
        if raw is None:
            return
        strings.append(text(raw.encode()))
    native_os, lan_manager = strings[strings_before], strings[strings_before + 1]
    if native_os:
        yield _obs(payload, ObservationKind.SMB_NATIVE_OS, native_os, "SMB1 Session Setup native OS")
    if lan_manager:
        yield _obs(payload, ObservationKind.SMB_NATIVE_OS, lan_manager, "SMB1 Session Setup native LAN manager")


def _string(data: bytes, pos: int, unicode: bool) -> tuple[str | None, int]:
    """A NUL-terminated string at ``pos`` and the offset after it; ``None`` when unterminated."""
    if unicode:
        end = pos
        while end + 1 < len(data) and data[end : end + 2] != b"\x00\x00":
            end += 2
        if end + 1 >= len(data):
            return None, pos
        return data[pos:end].decode("utf-16-le", errors="replace"), end + 2
    end = data.find(b"\x00", pos)
    if end < 0:
        return None, pos
    return data[pos:end].decode("latin-1"), end + 1


def _smb2(payload: Payload, msg: bytes) -> Iterator[Observation]:
    if len(msg) < 64 + 8:
        return
    (command,) = struct.unpack_from("<H", msg, 12)
    (flags,) = struct.unpack_from("<I", msg, 16)
    if command != 0:
        return
    body = msg[64:]
    if not flags & 0x1:  # request
        (count,) = struct.unpack_from("<H", body, 2)
        dialects = body[36 : 36 + 2 * count]
        for (dialect,) in struct.iter_unpack("<H", dialects[: len(dialects) - len(dialects) % 2]):
            name = _SMB2_DIALECTS.get(dialect, f"SMB2 dialect 0x{dialect:04x}")
            yield _obs(payload, ObservationKind.SMB_DIALECT, name, "SMB2 NEGOTIATE request dialect")
    else:
        (dialect,) = struct.unpack_from("<H", body, 4)
        name = _SMB2_DIALECTS.get(dialect, f"SMB2 dialect 0x{dialect:04x}")
        yield _obs(payload, ObservationKind.SMB_DIALECT, name, "SMB2 NEGOTIATE response selected dialect")


def _obs(payload: Payload, kind: ObservationKind, value: str, detail: str) -> Observation:
    return observation(payload, payload.source, kind, value, _PROTO, detail)


SPEC = DissectorSpec(
    name=_PROTO, dissect=dissect, transport="tcp", ports=frozenset({139, 445}), heuristic=looks_like_smb
)
"""SMB on 445 (direct) and 139 (NetBIOS session service)."""
