"""Application payloads as the real protocols encode them: DHCP, DNS, HL7 v2 over MLLP, HTTP, SMB1/SMB2, SNMP,
telnet.

Each builder is pure: the same arguments give the same bytes. DICOM and TLS live in their own modules.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from wardwatch.simulate._packets import ip_bytes

# --- DHCP (RFC 2131/2132) ---------------------------------------------------------------------------------

DHCP_TYPES = {1: "DISCOVER", 2: "OFFER", 3: "REQUEST", 5: "ACK"}
_COOKIE = b"\x63\x82\x53\x63"
#: The unspecified address (RFC 2131: a client without an address yet), not a listening socket.
UNSPECIFIED = "0.0.0.0"  # noqa: S104


def _opt(code: int, value: bytes) -> bytes:
    return bytes((code, len(value))) + value


def dhcp(
    *,
    op: int,
    xid: int,
    mac: bytes,
    msg_type: int,
    options: Sequence[tuple[int, bytes]],
    ciaddr: str = UNSPECIFIED,
    yiaddr: str = UNSPECIFIED,
    giaddr: str = UNSPECIFIED,
    secs: int = 0,
) -> bytes:
    """A BOOTP/DHCP message (op 1 request, 2 reply) with option 53 first, then ``options``, then End.

    Padded to the 300-byte BOOTP minimum, as Windows and most stacks send it.
    """
    head = struct.pack("!BBBBIHH", op, 1, 6, 0, xid, secs, 0)
    addrs = ip_bytes(ciaddr) + ip_bytes(yiaddr) + bytes(4) + ip_bytes(giaddr)
    chaddr = mac.ljust(16, b"\x00")
    body = head + addrs + chaddr + bytes(64 + 128) + _COOKIE + _opt(53, bytes((msg_type,)))
    body += b"".join(_opt(code, value) for code, value in options) + b"\xff"
    return body.ljust(300, b"\x00")


def dhcp_client_options(
    *,
    mac: bytes,
    hostname: str,
    vendor_class: str | None,
    param_request_list: Sequence[int],
    requested_ip: str | None,
    server_id: str | None,
) -> list[tuple[int, bytes]]:
    """Options a client sends in DISCOVER/REQUEST: 61 client id, 50, 54, 12 hostname, 60, 55."""
    options: list[tuple[int, bytes]] = [(61, b"\x01" + mac)]
    if requested_ip is not None:
        options.append((50, ip_bytes(requested_ip)))
    if server_id is not None:
        options.append((54, ip_bytes(server_id)))
    options.append((12, hostname.encode("ascii")))
    if vendor_class is not None:
        options.append((60, vendor_class.encode("ascii")))
    options.append((55, bytes(param_request_list)))
    return options


def dhcp_server_options(*, server_id: str, router: str, dns: str, domain: str, lease: int) -> list[tuple[int, bytes]]:
    """Options a server sends in OFFER/ACK: 54, 51, 58, 59, 1, 3, 6, 15."""
    return [
        (54, ip_bytes(server_id)),
        (51, struct.pack("!I", lease)),
        (58, struct.pack("!I", lease // 2)),
        (59, struct.pack("!I", lease * 7 // 8)),
        (1, ip_bytes("255.255.255.0")),
        (3, ip_bytes(router)),
        (6, ip_bytes(dns)),
        (15, domain.encode("ascii")),
    ]


# --- DNS (RFC 1035) ---------------------------------------------------------------------------------------


def _qname(name: str) -> bytes:
    return b"".join(bytes((len(label),)) + label.encode("ascii") for label in name.split(".")) + b"\x00"


def dns_query(txid: int, name: str) -> bytes:
    """A recursive A query for ``name``."""
    return struct.pack("!HHHHHH", txid, 0x0100, 1, 0, 0, 0) + _qname(name) + struct.pack("!HH", 1, 1)


def dns_answer(txid: int, name: str, address: str, ttl: int) -> bytes:
    """The answer to :func:`dns_query`: one A record, name compressed to the question."""
    question = _qname(name) + struct.pack("!HH", 1, 1)
    record = struct.pack("!HHHIH", 0xC00C, 1, 1, ttl, 4) + ip_bytes(address)
    return struct.pack("!HHHHHH", txid, 0x8180, 1, 1, 0, 0) + question + record


# --- HL7 v2 over MLLP -------------------------------------------------------------------------------------

MLLP_START = b"\x0b"
MLLP_END = b"\x1c\x0d"


def mllp(message: str) -> bytes:
    """Frame an HL7 v2 message (segments separated by CR) for the Minimal Lower Layer Protocol."""
    return MLLP_START + message.encode("ascii") + MLLP_END


def hl7_message(segments: Sequence[str]) -> str:
    """Join segments with the HL7 segment terminator (CR), ending with one."""
    return "\r".join(segments) + "\r"


# --- HTTP/1.1 ---------------------------------------------------------------------------------------------


def http_request(method: str, host: str, uri: str, user_agent: str) -> bytes:
    """A request with Host, User-Agent, Accept and Connection headers."""
    lines = [
        f"{method} {uri} HTTP/1.1",
        f"Host: {host}",
        f"User-Agent: {user_agent}",
        "Accept: */*",
        "Connection: close",
        "",
        "",
    ]
    return "\r\n".join(lines).encode("ascii")


def http_response(server: str, body: bytes, date: str) -> bytes:
    """A ``200 OK`` with a ``text/html`` body."""
    lines = [
        "HTTP/1.1 200 OK",
        f"Date: {date}",
        f"Server: {server}",
        "Content-Type: text/html; charset=utf-8",
        f"Content-Length: {len(body)}",
        "Connection: close",
        "",
        "",
    ]
    return "\r\n".join(lines).encode("ascii") + body


# --- SMB1 negotiate over NetBIOS session service -----------------------------------------------------------


def _netbios(payload: bytes) -> bytes:
    return struct.pack("!I", len(payload)) + payload


def _smb_header(flags: int, flags2: int, pid: int, mid: int) -> bytes:
    return b"\xffSMB" + struct.pack("<BIBH12sHHHH", 0x72, 0, flags, flags2, bytes(12), 0xFFFF, pid, 0, mid)


def smb_negotiate_request(dialects: Sequence[str], pid: int) -> bytes:
    """SMB_COM_NEGOTIATE offering ``dialects`` in order (SMB1; a modern client offers only SMB2+)."""
    body = b"".join(b"\x02" + d.encode("ascii") + b"\x00" for d in dialects)
    return _netbios(_smb_header(0x18, 0xC853, pid, 0) + b"\x00" + struct.pack("<H", len(body)) + body)


def smb_negotiate_response(
    dialect_index: int, pid: int, challenge: bytes, domain: str, filetime: int, server: str = "FILESRV"
) -> bytes:
    """The NT LM 0.12 answer without extended security: 8-byte challenge, then domain and server name."""
    words = struct.pack(
        "<HBHHIIIIQhB", dialect_index, 0x03, 50, 1, 16644, 65536, 0, 0x0000E3F9, filetime, 0, len(challenge)
    )
    data = challenge + domain.encode("ascii") + b"\x00" + server.upper().encode("ascii")[:15] + b"\x00"
    # Flags2 0x4001: long names and NT status, but neither Unicode nor extended security, so the challenge and
    # OEM names follow directly (the layout pre-extended-security clients such as XP embedded expect).
    return _netbios(_smb_header(0x98, 0x4001, pid, 0) + b"\x11" + words + struct.pack("<H", len(data)) + data)


# --- SMB2 NEGOTIATE (MS-SMB2 2.2.3, 2.2.4) ---------------------------------------------------------------------

#: SMB2 dialect revisions by the names :mod:`wardwatch.discovery.smb` reports.
SMB2_DIALECTS = {"SMB 2.0.2": 0x0202, "SMB 2.1": 0x0210, "SMB 3.0": 0x0300, "SMB 3.0.2": 0x0302, "SMB 3.1.1": 0x0311}
_SMB2_HEADER = struct.Struct("<4sHHIHHIIQIIQ16s")
_PREAUTH_SHA512 = 0x0001


def _smb2_header(response: bool, message_id: int) -> bytes:
    # NEGOTIATE (command 0) is never signed and has no session or tree; the server grants one credit
    return _SMB2_HEADER.pack(b"\xfeSMB", 64, 0, 0, 0, 1, 1 if response else 0, 0, message_id, 0, 0, 0, bytes(16))


def _preauth_context(salt: bytes) -> bytes:
    """SMB2_PREAUTH_INTEGRITY_CAPABILITIES with SHA-512 (required once 3.1.1 is on the table)."""
    data = struct.pack("<HHH", 1, len(salt), _PREAUTH_SHA512) + salt
    return struct.pack("<HHI", 1, len(data), 0) + data


def _pad8(data: bytes) -> bytes:
    return data + bytes(-len(data) % 8)


def smb2_negotiate_request(dialects: Sequence[str], client_guid: bytes, salt: bytes) -> bytes:
    """SMB2 NEGOTIATE offering ``dialects`` (names of :data:`SMB2_DIALECTS`), with a preauth context for 3.1.1."""
    codes = [SMB2_DIALECTS[d] for d in dialects]
    contexts = _preauth_context(salt) if 0x0311 in codes else b""
    fixed = 64 + 36 + 2 * len(codes)
    offset = fixed + (-fixed % 8) if contexts else 0
    body = struct.pack("<HHHHI16sIHH", 36, len(codes), 0x01, 0, 0x7F, client_guid, offset, 1 if contexts else 0, 0)
    message = _smb2_header(False, 0) + body + struct.pack(f"<{len(codes)}H", *codes)
    if contexts:
        message = _pad8(message) + contexts
    return _netbios(message)


def smb2_negotiate_response(dialect: str, server_guid: bytes, salt: bytes, filetime: int, boot_filetime: int) -> bytes:
    """SMB2 NEGOTIATE response selecting ``dialect``; an empty security buffer (the client starts SPNEGO)."""
    code = SMB2_DIALECTS[dialect]
    contexts = _preauth_context(salt) if code == 0x0311 else b""
    buffer_at = 64 + 64  # the (empty) security buffer follows the fixed part; one byte of it is always sent
    offset = buffer_at + 1 + (-(buffer_at + 1) % 8) if contexts else 0
    body = struct.pack(
        "<HHHH16sIIIIQQHHI", 65, 0x01, code, 1 if contexts else 0, server_guid, 0x2F if code >= 0x0300 else 0x07,
        8_388_608, 8_388_608, 8_388_608, filetime, boot_filetime, buffer_at, 0, offset,
    )  # fmt: skip
    message = _pad8(_smb2_header(True, 0) + body + b"\x00")
    return _netbios(message + contexts)


# --- SNMP v2c (RFC 3416), BER -----------------------------------------------------------------------------


def _ber_len(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(raw),)) + raw


def ber(tag: int, value: bytes) -> bytes:
    """A BER TLV."""
    return bytes((tag,)) + _ber_len(len(value)) + value


def ber_int(value: int) -> bytes:
    """A BER INTEGER (two's complement, minimal length)."""
    return ber(0x02, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))


def ber_oid(oid: str) -> bytes:
    """A BER OBJECT IDENTIFIER."""
    parts = [int(p) for p in oid.split(".")]
    out = bytearray((parts[0] * 40 + parts[1],))
    for part in parts[2:]:
        chunk = [part & 0x7F]
        part >>= 7
        while part:
            chunk.append(0x80 | (part & 0x7F))
            part >>= 7
        out.extend(reversed(chunk))
    return ber(0x06, bytes(out))


def snmp_message(community: str, pdu_tag: int, request_id: int, bindings: Sequence[tuple[str, bytes]]) -> bytes:
    """An SNMPv2c message; ``bindings`` are ``(oid, BER value)`` (``b"\\x05\\x00"`` NULL in requests)."""
    varbinds = b"".join(ber(0x30, ber_oid(oid) + value) for oid, value in bindings)
    pdu = ber(pdu_tag, ber_int(request_id) + ber_int(0) + ber_int(0) + ber(0x30, varbinds))
    return ber(0x30, ber_int(1) + ber(0x04, community.encode("ascii")) + pdu)


SNMP_GET, SNMP_RESPONSE = 0xA0, 0xA2
SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_NAME = (
    "1.3.6.1.2.1.1.1.0",
    "1.3.6.1.2.1.1.2.0",
    "1.3.6.1.2.1.1.3.0",
    "1.3.6.1.2.1.1.5.0",
)

# --- telnet (RFC 854) -------------------------------------------------------------------------------------

IAC, WILL, DO = 0xFF, 0xFB, 0xFD
ECHO, SUPPRESS_GO_AHEAD = 0x01, 0x03


def telnet_server_greeting(banner: str) -> bytes:
    """Option negotiation (WILL ECHO, WILL SGA) followed by the login banner."""
    return bytes((IAC, WILL, ECHO, IAC, WILL, SUPPRESS_GO_AHEAD)) + banner.encode("ascii")


def telnet_client_reply() -> bytes:
    """The client accepts: DO ECHO, DO SGA."""
    return bytes((IAC, DO, ECHO, IAC, DO, SUPPRESS_GO_AHEAD))
