"""One conversation at a time: the frames of a protocol exchange and the Zeek rows it would produce.

Every builder takes the two ends, a start time and a random source, and returns a :class:`Session`. The
simulated device is always the *local* end of the :class:`~wardwatch.simulate._packets.Link`; it may be the
client (DICOM, HL7, HTTP, TLS, SMB) or the server (SNMP, telnet, a PACS answering an echo).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from wardwatch.simulate import _dicom, _tls
from wardwatch.simulate._packets import Frame, Link, TcpConversation, ip_bytes, mac_bytes
from wardwatch.simulate._zeekwriter import Value

#: ``(log name, row values)``.
Row = tuple[str, tuple[Value, ...]]


@dataclass(frozen=True, slots=True)
class Host:
    """An addressable end of a conversation."""

    ip: str
    """IPv4 address."""
    mac: str
    """Lower-case colon-separated MAC."""
    hostname: str
    """Host name (without domain)."""
    vlan: int | None
    """VLAN id, None for hosts outside the hospital."""


@dataclass(slots=True)
class Session:
    """The frames (time-ordered) and Zeek rows of one conversation."""

    start: int
    """Time of the first frame, microseconds."""
    frames: list[Frame] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)


def gateway_mac(vlan: int | None) -> str:
    """HSRP virtual MAC of the VLAN's default gateway (``00:00:0c:07:ac:<group>``, group = VLAN id)."""
    return f"00:00:0c:07:ac:{(vlan or 0) & 0xFF:02x}"


def gateway_ip(ip: str) -> str:
    """``.1`` of the device's /24."""
    return ip.rsplit(".", 1)[0] + ".1"


def link(local: Host, remote_ip: str, remote_mac: str | None, tagged: bool) -> Link:
    """The :class:`Link` between ``local`` and a far end, routed through the gateway unless on its /24."""
    same_subnet = remote_mac is not None and remote_ip.rsplit(".", 1)[0] == local.ip.rsplit(".", 1)[0]
    hop = remote_mac if same_subnet and remote_mac is not None else gateway_mac(local.vlan)
    return Link(
        local.vlan if tagged else None, mac_bytes(local.mac), ip_bytes(local.ip), mac_bytes(hop), ip_bytes(remote_ip)
    )


def _is_local(ip: str) -> bool:
    return ip.startswith("10.")


def conn_row(
    uid: str, conv: TcpConversation, orig_ip: str, resp_ip: str, service: str | None, state: str = "SF"
) -> Row:
    """The conn.log row of a finished TCP conversation."""
    return (
        "conn",
        (
            conv.start,
            uid,
            orig_ip,
            conv.orig_port,
            resp_ip,
            conv.resp_port,
            "tcp",
            service,
            conv.duration,
            conv.orig_bytes,
            conv.resp_bytes,
            state,
            _is_local(orig_ip),
            _is_local(resp_ip),
            0,
            conv.history,
            conv.orig_pkts,
            conv.orig_ip_bytes,
            conv.resp_pkts,
            conv.resp_ip_bytes,
            (),
        ),
    )


def udp_conn_row(
    uid: str,
    start: int,
    end: int,
    orig: tuple[str, int],
    resp: tuple[str, int],
    service: str | None,
    counts: tuple[int, int, int, int],
    history: str,
) -> Row:
    """A conn.log row for a UDP exchange; ``counts`` are orig bytes, resp bytes, orig pkts, resp pkts."""
    orig_bytes, resp_bytes, orig_pkts, resp_pkts = counts
    state = "SF" if orig_pkts and resp_pkts else "S0"
    return (
        "conn",
        (
            start,
            uid,
            orig[0],
            orig[1],
            resp[0],
            resp[1],
            "udp",
            service,
            end - start,
            orig_bytes,
            resp_bytes,
            state,
            _is_local(orig[0]),
            _is_local(resp[0]),
            0,
            history,
            orig_pkts,
            orig_bytes + 28 * orig_pkts,
            resp_pkts,
            resp_bytes + 28 * resp_pkts,
            (),
        ),
    )


def ephemeral_port(rng: random.Random) -> int:
    """A client port from the IANA dynamic range."""
    return rng.randrange(49_152, 65_535)


def tcp_conversation(lnk: Link, local_is_orig: bool, resp_port: int, start: int, rng: random.Random) -> TcpConversation:
    """A fresh conversation with random initial sequence numbers and a round trip of 0.3-2 ms."""
    return TcpConversation(
        link=lnk,
        local_is_orig=local_is_orig,
        orig_port=ephemeral_port(rng),
        resp_port=resp_port,
        now=start,
        orig_seq=rng.getrandbits(32),
        resp_seq=rng.getrandbits(32),
        rtt=rng.randrange(150, 1_000),
    )


# --- DICOM ------------------------------------------------------------------------------------------------

_MODALITY_BY_SOP = {
    "1.2.840.10008.5.1.4.1.1.2": "CT", "1.2.840.10008.5.1.4.1.1.4": "MR", "1.2.840.10008.5.1.4.1.1.1.1": "DX",
    "1.2.840.10008.5.1.4.1.1.6.1": "US", "1.2.840.10008.5.1.4.1.1.1.2": "MG", "1.2.840.10008.5.1.4.1.1.481.1":
    "RTIMAGE", "1.2.840.10008.5.1.4.1.1.7": "OT",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Association:
    """Who associates with whom, and what each side says about itself."""

    calling: str
    called: str
    sop_classes: tuple[str, ...]
    """Storage classes proposed after Verification; empty for an echo."""
    scu_uid: str
    scu_version: str
    scp_uid: str
    scp_version: str


def dicom_payloads(assoc: Association, rng: random.Random, patient: tuple[str, str]) -> list[tuple[bool, bytes]]:
    """The PDUs of one association, ``(from SCU, bytes)``: associate, one C-STORE (or C-ECHO), release."""
    syntaxes = (_dicom.VERIFICATION, *assoc.sop_classes)
    rq = _dicom.associate_rq(assoc.calling, assoc.called, syntaxes, assoc.scu_uid, assoc.scu_version)
    ac = _dicom.associate_ac(assoc.calling, assoc.called, len(syntaxes), assoc.scp_uid, assoc.scp_version)
    pdus: list[tuple[bool, bytes]] = [(True, rq), (False, ac)]
    if assoc.sop_classes:
        sop = assoc.sop_classes[0]
        root = f"{assoc.scu_uid}.{rng.randrange(10**9)}"
        instance = f"{root}.3.{rng.randrange(10**6)}"
        command = _dicom.c_store_rq(1, sop, instance)
        data = _dicom.dataset(sop, instance, f"{root}.1", f"{root}.2", _MODALITY_BY_SOP.get(sop, "OT"), patient)
        pdus.append((True, _dicom.p_data(3, True, command) + _dicom.p_data(3, False, data)))
        pdus.append((False, _dicom.p_data(3, True, _dicom.c_store_rsp(1, sop, instance))))
    else:
        pdus.append((True, _dicom.p_data(1, True, _dicom.c_echo_rq(1))))
        pdus.append((False, _dicom.p_data(1, True, _dicom.c_echo_rsp(1))))
    pdus += [(True, _dicom.release_rq()), (False, _dicom.release_rp())]
    return pdus


def tcp_exchange(
    lnk: Link,
    local_is_orig: bool,
    port: int,
    start: int,
    rng: random.Random,
    messages: list[tuple[bool, bytes]],
) -> TcpConversation:
    """Open, send ``messages`` (``(from originator, bytes)``) in order, close."""
    conv = tcp_conversation(lnk, local_is_orig, port, start, rng)
    conv.open()
    for from_orig, data in messages:
        conv.send(from_orig, data)
    conv.close()
    return conv


# --- TLS --------------------------------------------------------------------------------------------------


def tls_messages(server_name: str, cert: _tls.Certificate, seed: str) -> list[tuple[bool, bytes]]:
    """A full TLS 1.2 handshake and one request/response of application data."""
    return [
        (True, _tls.client_hello(server_name, seed)),
        (False, _tls.server_flight(cert.der, seed)),
        (True, _tls.client_finish(seed)),
        (False, _tls.server_finish(seed)),
        (True, _tls.application_data(seed + ":q", 420)),
        (False, _tls.application_data(seed + ":r", 1_800)),
    ]


def ssl_rows(
    uid: str,
    conv: TcpConversation,
    orig_ip: str,
    resp_ip: str,
    server_name: str,
    cert: _tls.Certificate,
    new_cert: bool,
) -> list[Row]:
    """ssl.log (and, the first time a certificate is seen, x509.log) rows of a TLS conversation."""
    rows: list[Row] = [
        (
            "ssl",
            (
                conv.start,
                uid,
                orig_ip,
                conv.orig_port,
                resp_ip,
                conv.resp_port,
                "TLSv12",
                _tls.CIPHER_NAME,
                None,
                server_name,
                False,
                None,
                None,
                True,
                "CsxnGIgi",
                (cert.fingerprint,),
                (),
                True,
            ),
        )
    ]
    if new_cert:
        rows.append(
            (
                "x509",
                (
                    conv.start,
                    cert.fingerprint,
                    3,
                    cert.serial,
                    cert.subject,
                    cert.issuer,
                    cert.not_before * 1_000_000,
                    cert.not_after * 1_000_000,
                    "rsaEncryption",
                    "sha256WithRSAEncryption",
                    "rsa",
                    2048,
                    "65537",
                    None,
                    (cert.dns_name,),
                    None,
                    None,
                    None,
                    None,
                    None,
                    True,
                    False,
                ),
            )
        )
    return rows
