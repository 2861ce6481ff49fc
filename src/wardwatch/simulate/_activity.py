"""What one device does on the network, protocol by protocol, as :class:`~wardwatch.simulate._sessions.Session`s.

:class:`Activity` holds what spans devices (the Zeek uid counter, certificates and services already logged);
each method builds one conversation of one device and records the identifiers it put on the wire in the
device's ``seen`` dictionary, which becomes its entry in ``truth.json``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from wardwatch.simulate import _payloads, _tls
from wardwatch.simulate._identity import SMB1_DIALECT, DeviceIdentity, DicomIdentity
from wardwatch.simulate._packets import ETH_ARP, ETH_IPV4, PROTO_UDP, arp, ethernet, ip_bytes, ipv4, mac_bytes, udp
from wardwatch.simulate._sessions import (
    Association,
    Host,
    Row,
    Session,
    conn_row,
    dicom_payloads,
    ephemeral_port,
    gateway_ip,
    gateway_mac,
    link,
    ssl_rows,
    tcp_exchange,
    tls_messages,
    udp_conn_row,
)
from wardwatch.simulate._zeekwriter import uid

#: The interface engine's MSH-3, and the implementation a monitoring probe's echo uses (dcmtk's echoscu).
ENGINE_APPLICATION = "CLOVERLEAF"
PROBE_AE = "IEMONITOR"
PROBE_UID, PROBE_VERSION = "1.2.276.0.7230010.3.0.3.6.8", "OFFIS_DCMTK_368"
LEASE = 86_400
_BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"
_ZERO_MAC = "00:00:00:00:00:00"
_LAST = ("SMITH", "JOHNSON", "GARCIA", "NGUYEN", "PATEL", "KIM", "MUELLER", "ROSSI", "OKAFOR", "HANSEN")
_FIRST = ("MARIA", "JAMES", "AIKO", "DAVID", "FATIMA", "LIAM", "SOFIA", "NOAH", "AMARA", "ERIK")


@dataclass(frozen=True, slots=True)
class SiteNet:
    """The services a site's devices talk to (simulated servers where the site has them)."""

    domain: str
    """DNS domain (under ``.example``)."""
    facility: str
    """HL7 facility code (the site code)."""
    dc: Host
    """DHCP, DNS and the SNMP/telnet poller."""
    engine: Host
    """HL7 interface engine (MLLP on 2575)."""
    files: Host
    """File server (SMB on 445)."""
    apps: Host
    """Web and application server (HTTP 80, TLS 443)."""
    pacs: Host | None
    """PACS archive (DICOM 104, DICOM TLS 2762), possibly on another site; None when the hospital has none."""
    pacs_dicom: DicomIdentity | None
    """The PACS's application entity."""


@dataclass(slots=True)
class Node:
    """One simulated device as the traffic sees it."""

    host: Host
    identity: DeviceIdentity
    net: SiteNet
    unit_code: str
    seen: dict[str, Any] = field(default_factory=dict)
    """Identifiers emitted so far (becomes the device's ``truth.json`` traffic entry)."""
    protocols: set[str] = field(default_factory=set)
    """Protocols it has spoken."""


def http_date(micros: int) -> str:
    """RFC 9110 IMF-fixdate."""
    return datetime.fromtimestamp(micros // 1_000_000, tz=UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")


def hl7_time(micros: int) -> str:
    """HL7 DTM to the second."""
    return datetime.fromtimestamp(micros // 1_000_000, tz=UTC).strftime("%Y%m%d%H%M%S")


def software_name(user_agent: str) -> tuple[str, str]:
    """``(name, version)`` as Zeek's software framework would read a User-Agent, roughly."""
    for marker, name in (("Edg/", "Edge"), ("Chrome/", "Chrome"), ("rv:11.0", "MSIE"), ("MSIE ", "MSIE")):
        if marker in user_agent:
            if marker == "rv:11.0":
                return name, "11.0"
            rest = user_agent.split(marker, 1)[1]
            return name, rest.split(" ")[0].split(";")[0]
    product = user_agent.split(" ", 1)[0]
    name, _, version = product.partition("/")
    return name, version


def _version_columns(version: str) -> tuple[int | None, int | None, int | None, int | None, str | None]:
    numbers: list[int | None] = []
    addl: str | None = None
    for part in version.split(".")[:4]:
        if part.isdigit():
            numbers.append(int(part))
        else:
            addl = part or None
            break
    numbers += [None] * (4 - len(numbers))
    return numbers[0], numbers[1], numbers[2], numbers[3], addl


class Activity:
    """Builds sessions; one instance per capture."""

    def __init__(self, seed: int, tagged: bool) -> None:
        self.seed = seed
        self.tagged = tagged
        self._uids = 0
        self._certs: set[str] = set()
        self._services: set[tuple[str, int, str]] = set()
        self._software: set[tuple[str, str]] = set()

    def _uid(self) -> str:
        self._uids += 1
        return uid(self.seed, self._uids)

    def _service(self, ts: int, host: str, port: int, proto: str, service: str) -> list[Row]:
        key = (host, port, proto)
        if key in self._services:
            return []
        self._services.add(key)
        return [("known_services", (ts, host, f"{port}", proto, (service,)))]

    def _software_row(
        self, ts: int, host: str, port: int | None, kind: str, text: str, parsed: tuple[str, str]
    ) -> list[Row]:
        if (host, text) in self._software:
            return []
        self._software.add((host, text))
        major, minor, minor2, minor3, addl = _version_columns(parsed[1])
        return [
            (
                "software",
                (
                    ts,
                    host,
                    None if port is None else str(port),
                    kind,
                    parsed[0],
                    major,
                    minor,
                    minor2,
                    minor3,
                    addl,
                    text,
                ),
            )
        ]

    # --- boot -------------------------------------------------------------------------------------------

    def dhcp(self, node: Node, start: int, rng: random.Random, renew: bool = False) -> Session:
        """DISCOVER, OFFER, REQUEST, ACK through the VLAN's relay (or, with ``renew``, a unicast REQUEST/ACK)."""
        host, ident, net = node.host, node.identity, node.net
        mac, gw = mac_bytes(host.mac), gateway_ip(host.ip)
        xid = rng.getrandbits(32)
        server = _payloads.dhcp_server_options(
            server_id=net.dc.ip, router=gw, dns=net.dc.ip, domain=net.domain, lease=LEASE
        )
        session = Session(start)
        t = start
        vlan = host.vlan if self.tagged else None
        if renew:
            client = _payloads.dhcp_client_options(
                mac=mac,
                hostname=host.hostname,
                vendor_class=ident.dhcp_vendor_class,
                param_request_list=ident.dhcp_param_request_list,
                requested_ip=None,
                server_id=None,
            )
            lnk = link(host, net.dc.ip, net.dc.mac, self.tagged)
            request = _payloads.dhcp(op=1, xid=xid, mac=mac, msg_type=3, options=client, ciaddr=host.ip)
            ack = _payloads.dhcp(op=2, xid=xid, mac=mac, msg_type=5, options=server, ciaddr=host.ip, yiaddr=host.ip)
            session.frames.append((t, lnk.udp_frame(True, 68, 67, request)))
            session.frames.append((t + 2_000, lnk.udp_frame(False, 68, 67, ack)))
            conn = self._uid()
            session.rows.append(
                udp_conn_row(
                    conn, t, t + 2_000, (host.ip, 68), (net.dc.ip, 67), "dhcp", (len(request), len(ack), 1, 1), "Dd"
                )
            )
            session.rows.append(
                (
                    "dhcp",
                    (
                        t,
                        (conn,),
                        host.ip,
                        net.dc.ip,
                        host.mac,
                        host.hostname,
                        None,
                        net.domain,
                        None,
                        host.ip,
                        LEASE * 1_000_000,
                        None,
                        None,
                        ("REQUEST", "ACK"),
                        2_000,
                    ),
                )
            )
            return session
        gw_lnk = link(host, gw, None, self.tagged)
        messages = []
        for msg_type, options in ((1, None), (3, net.dc.ip)):
            client = _payloads.dhcp_client_options(
                mac=mac,
                hostname=host.hostname,
                vendor_class=ident.dhcp_vendor_class,
                param_request_list=ident.dhcp_param_request_list,
                requested_ip=host.ip,
                server_id=options,
            )
            messages.append(
                _payloads.dhcp(op=1, xid=xid, mac=mac, msg_type=msg_type, options=client, secs=msg_type // 3)
            )
        replies = [
            _payloads.dhcp(op=2, xid=xid, mac=mac, msg_type=m, options=server, yiaddr=host.ip, giaddr=gw)
            for m in (2, 5)
        ]
        zero, bcast = ip_bytes(_payloads.UNSPECIFIED), ip_bytes("255.255.255.255")
        for i, (request, reply) in enumerate(zip(messages, replies, strict=True)):
            packet = ipv4(zero, bcast, PROTO_UDP, udp(zero, bcast, 68, 67, request), rng.getrandbits(16), ttl=128)
            session.frames.append((t, ethernet(mac, mac_bytes(_BROADCAST_MAC), vlan, ETH_IPV4, packet)))
            session.frames.append((t + 1_500, gw_lnk.udp_frame(False, 68, 67, reply)))
            t += 4_000 + 1_000 * i
        uids = (self._uid(), self._uid())
        sent = sum(len(m) for m in messages)
        got = sum(len(r) for r in replies)
        session.rows.append(
            udp_conn_row(
                uids[0],
                start,
                t - 5_000,
                (_payloads.UNSPECIFIED, 68),
                ("255.255.255.255", 67),
                "dhcp",
                (sent, 0, 2, 0),
                "D",
            )
        )
        session.rows.append(
            udp_conn_row(uids[1], start + 1_500, t - 3_500, (host.ip, 68), (gw, 67), "dhcp", (0, got, 0, 2), "^d")
        )
        session.rows.append(
            (
                "dhcp",
                (
                    start,
                    uids,
                    host.ip,
                    net.dc.ip,
                    host.mac,
                    host.hostname,
                    None,
                    net.domain,
                    host.ip,
                    host.ip,
                    LEASE * 1_000_000,
                    None,
                    None,
                    ("DISCOVER", "OFFER", "REQUEST", "ACK"),
                    t - 3_500 - start,
                ),
            )
        )
        node.protocols.add("dhcp")
        node.seen["dhcp_hostname"] = host.hostname
        node.seen["dhcp_vendor_class"] = ident.dhcp_vendor_class
        node.seen["dhcp_param_request_list"] = list(ident.dhcp_param_request_list)
        node.seen["dhcp_client_id"] = "01:" + host.mac
        return session

    def arp(self, node: Node, start: int) -> Session:
        """A gratuitous ARP for the new address, then who-has the gateway and its reply."""
        host = node.host
        vlan = host.vlan if self.tagged else None
        mac, ip = mac_bytes(host.mac), ip_bytes(host.ip)
        gw_mac, gw_ip = mac_bytes(gateway_mac(host.vlan)), ip_bytes(gateway_ip(host.ip))
        bcast, zero = mac_bytes(_BROADCAST_MAC), mac_bytes(_ZERO_MAC)
        session = Session(start)
        session.frames.append((start, ethernet(mac, bcast, vlan, ETH_ARP, arp(1, mac, ip, zero, ip))))
        session.frames.append((start + 1_000, ethernet(mac, bcast, vlan, ETH_ARP, arp(1, mac, ip, zero, gw_ip))))
        session.frames.append((start + 1_400, ethernet(gw_mac, mac, vlan, ETH_ARP, arp(2, gw_mac, gw_ip, mac, ip))))
        node.protocols.add("arp")
        return session

    def dns(self, node: Node, start: int, rng: random.Random, name: str, answer: str) -> Session:
        """One A query to the site's DNS server and its answer."""
        host, dc = node.host, node.net.dc
        lnk = link(host, dc.ip, dc.mac, self.tagged)
        txid, port = rng.getrandbits(16), ephemeral_port(rng)
        query, reply = _payloads.dns_query(txid, name), _payloads.dns_answer(txid, name, answer, 3_600)
        rtt = rng.randrange(300, 3_000)
        session = Session(
            start, [(start, lnk.udp_frame(True, port, 53, query)), (start + rtt, lnk.udp_frame(False, port, 53, reply))]
        )
        conn = self._uid()
        session.rows.append(
            udp_conn_row(
                conn, start, start + rtt, (host.ip, port), (dc.ip, 53), "dns", (len(query), len(reply), 1, 1), "Dd"
            )
        )
        session.rows.append(
            (
                "dns",
                (
                    start,
                    conn,
                    host.ip,
                    port,
                    dc.ip,
                    53,
                    "udp",
                    txid,
                    rtt,
                    name,
                    1,
                    "C_INTERNET",
                    1,
                    "A",
                    0,
                    "NOERROR",
                    False,
                    False,
                    True,
                    True,
                    0,
                    (answer,),
                    ("3600.000000",),
                    False,
                ),
            )
        )
        session.rows += self._service(start, dc.ip, 53, "udp", "dns")
        node.protocols.add("dns")
        node.seen["dns_query"] = name
        return session

    # --- clinical protocols -----------------------------------------------------------------------------

    def _patient(self, rng: random.Random) -> tuple[str, str]:
        return f"{rng.choice(_LAST)}^{rng.choice(_FIRST)}", f"MRN{rng.randrange(10**7):07d}"

    def dicom(self, node: Node, start: int, rng: random.Random) -> Session | None:
        """A C-STORE association with the PACS: cleartext on 104, or over TLS on 2762."""
        net, dicom = node.net, node.identity.dicom
        if dicom is None or net.pacs is None or net.pacs_dicom is None or net.pacs.ip == node.host.ip:
            return None
        pacs, scp = net.pacs, net.pacs_dicom
        lnk = link(node.host, pacs.ip, pacs.mac, self.tagged)
        session = Session(start)
        if dicom.tls:
            name = f"pacs.{net.domain}"
            cert = _tls.certificate(name, "Wardwatch Sample Health", "Wardwatch Sample Health Issuing CA")
            seed = f"{self.seed}:{start}:dicom"
            conv = tcp_exchange(lnk, True, 2762, start, rng, tls_messages(name, cert, seed))
            conn = self._uid()
            session.rows.append(conn_row(conn, conv, node.host.ip, pacs.ip, "ssl"))
            session.rows += ssl_rows(conn, conv, node.host.ip, pacs.ip, name, cert, self._new_cert(cert))
            session.rows += self._service(start, pacs.ip, 2762, "tcp", "ssl")
            node.protocols.add("dicom-tls")
            node.seen.setdefault("tls_server_names", []).append(name)
        else:
            assoc = Association(
                dicom.ae_title,
                scp.ae_title,
                dicom.sop_classes,
                dicom.implementation_class_uid,
                dicom.implementation_version_name,
                scp.implementation_class_uid,
                scp.implementation_version_name,
            )
            conv = tcp_exchange(lnk, True, 104, start, rng, dicom_payloads(assoc, rng, self._patient(rng)))
            session.rows.append(conn_row(self._uid(), conv, node.host.ip, pacs.ip, None))
            node.protocols.add("dicom")
            node.seen.update(
                dicom_ae_title=dicom.ae_title,
                dicom_called_ae_title=scp.ae_title,
                dicom_implementation_class_uid=dicom.implementation_class_uid,
                dicom_implementation_version_name=dicom.implementation_version_name,
                dicom_sop_classes=list(dicom.sop_classes),
            )
        session.frames = conv.frames
        return session

    def pacs_echo(self, node: Node, start: int, rng: random.Random) -> Session | None:
        """The monitoring probe on the site's server verifies the PACS (C-ECHO); the PACS answers as itself."""
        dicom, dc = node.identity.dicom, node.net.dc
        if dicom is None or dicom.role != "scp":
            return None
        assoc = Association(
            PROBE_AE,
            dicom.ae_title,
            (),
            PROBE_UID,
            PROBE_VERSION,
            dicom.implementation_class_uid,
            dicom.implementation_version_name,
        )
        lnk = link(node.host, dc.ip, dc.mac, self.tagged)
        conv = tcp_exchange(lnk, False, 104, start, rng, dicom_payloads(assoc, rng, ("", "")))
        session = Session(start, conv.frames, [conn_row(self._uid(), conv, dc.ip, node.host.ip, None)])
        node.protocols.add("dicom")
        node.seen.update(
            dicom_ae_title=dicom.ae_title,
            dicom_implementation_class_uid=dicom.implementation_class_uid,
            dicom_implementation_version_name=dicom.implementation_version_name,
        )
        return session

    def hl7(self, node: Node, start: int, rng: random.Random) -> Session | None:
        """One result message over MLLP to the interface engine on 2575, acknowledged with ``AA``."""
        ident, net = node.identity, node.net
        if ident.hl7_application is None or ident.hl7_message_type is None or ident.hl7_version is None:
            return None
        control = f"{rng.randrange(10**9):09d}"
        when = hl7_time(start)
        name, mrn = self._patient(rng)
        trigger = ident.hl7_message_type.split("^")[1]
        lab = ident.hl7_message_type.startswith("OUL")
        observation = (
            f"OBX|1|NM|2345-7^Glucose [Mass/volume] in Serum or Plasma^LN||{rng.randrange(70, 180)}|mg/dL^mg/dL^UCUM"
            if lab or "lab" in node.unit_code
            else f"OBX|1|NM|8867-4^Heart rate^LN||{rng.randrange(55, 120)}|/min^/min^UCUM"
        )
        segments = [
            f"MSH|^~\\&|{ident.hl7_application}|{net.facility}|{ENGINE_APPLICATION}|{net.facility}|{when}||"
            f"{ident.hl7_message_type}|{control}|P|{ident.hl7_version}",
            f"PID|1||{mrn}^^^{net.facility}^MR||{name}||19{rng.randrange(30, 99)}0{rng.randrange(1, 9)}15|"
            f"{rng.choice('FM')}",
            f"PV1|1|I|{node.unit_code.upper()}^{rng.randrange(1, 40)}",
        ]
        if lab:
            segments.append("SPM|1|||BLD^Blood^HL70487")
        segments += [
            f"OBR|1||{control}|24331-1^Lipid panel^LN" if lab else f"OBR|1||{control}|VITALS^Vital signs",
            observation + f"|||||F|||{when}",
        ]
        message = _payloads.hl7_message(segments)
        ack = _payloads.hl7_message(
            [
                f"MSH|^~\\&|{ENGINE_APPLICATION}|{net.facility}|{ident.hl7_application}|{net.facility}|{when}||"
                f"ACK^{trigger}^ACK|{control}A|P|{ident.hl7_version}",
                f"MSA|AA|{control}",
            ]
        )
        lnk = link(node.host, net.engine.ip, net.engine.mac, self.tagged)
        conv = tcp_exchange(
            lnk, True, 2575, start, rng, [(True, _payloads.mllp(message)), (False, _payloads.mllp(ack))]
        )
        node.protocols.add("hl7")
        node.seen.update(
            hl7_sending_application=ident.hl7_application,
            hl7_sending_facility=net.facility,
            hl7_message_type=ident.hl7_message_type,
            hl7_version=ident.hl7_version,
        )
        return Session(start, conv.frames, [conn_row(self._uid(), conv, node.host.ip, net.engine.ip, None)])

    # --- IT protocols -----------------------------------------------------------------------------------

    def http(self, node: Node, start: int, rng: random.Random) -> Session | None:
        """``GET`` from the intranet server with the device's User-Agent."""
        agent, apps = node.identity.user_agent, node.net.apps
        if agent is None:
            return None
        host_name, uri = f"intranet.{node.net.domain}", rng.choice(("/", "/portal/", "/status", "/mdm/checkin"))
        body = b"<html><head><title>Intranet</title></head><body>ok</body></html>"
        request = _payloads.http_request("GET", host_name, uri, agent)
        response = _payloads.http_response("Microsoft-IIS/10.0", body, http_date(start))
        lnk = link(node.host, apps.ip, apps.mac, self.tagged)
        conv = tcp_exchange(lnk, True, 80, start, rng, [(True, request), (False, response)])
        conn = self._uid()
        rows: list[Row] = [conn_row(conn, conv, node.host.ip, apps.ip, "http")]
        rows.append(
            (
                "http",
                (
                    conv.start + 2 * conv.rtt,
                    conn,
                    node.host.ip,
                    conv.orig_port,
                    apps.ip,
                    80,
                    1,
                    "GET",
                    host_name,
                    uri,
                    None,
                    "1.1",
                    agent,
                    None,
                    0,
                    len(body),
                    200,
                    "OK",
                    None,
                    None,
                    (),
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    ("text/html",),
                ),
            )
        )
        rows += self._software_row(start, node.host.ip, None, "HTTP::BROWSER", agent, software_name(agent))
        rows += self._software_row(start, apps.ip, 80, "HTTP::SERVER", "Microsoft-IIS/10.0", ("Microsoft-IIS", "10.0"))
        rows += self._service(start, apps.ip, 80, "tcp", "http")
        node.protocols.add("http")
        node.seen["http_user_agent"] = agent
        return Session(start, conv.frames, rows)

    def _new_cert(self, cert: _tls.Certificate) -> bool:
        if cert.fingerprint in self._certs:
            return False
        self._certs.add(cert.fingerprint)
        return True

    def tls(self, node: Node, start: int, rng: random.Random, remote: Host | None = None) -> Session | None:
        """A TLS session to the internal service the device uses, or to ``remote`` (its vendor's cloud)."""
        ident, net = node.identity, node.net
        if remote is None:
            if ident.tls_service is None:
                return None
            name, peer = f"{ident.tls_service}.{net.domain}", net.apps
            cert = _tls.certificate(name, "Wardwatch Sample Health", "Wardwatch Sample Health Issuing CA")
        else:
            name, peer = remote.hostname, remote
            cert = _tls.certificate(name, "Example Vendor Remote Services", "Example Public CA")
        lnk = link(node.host, peer.ip, peer.mac, self.tagged)
        conv = tcp_exchange(lnk, True, 443, start, rng, tls_messages(name, cert, f"{self.seed}:{start}:tls"))
        conn = self._uid()
        rows = [conn_row(conn, conv, node.host.ip, peer.ip, "ssl")]
        rows += ssl_rows(conn, conv, node.host.ip, peer.ip, name, cert, self._new_cert(cert))
        if remote is None:
            rows += self._service(start, peer.ip, 443, "tcp", "ssl")
            node.protocols.add("tls")
        else:
            node.protocols.add("remote-service")
            node.seen["remote_peer"] = {"ip": peer.ip, "server_name": name, "port": 443}
        node.seen.setdefault("tls_server_names", []).append(name)
        return Session(start, conv.frames, rows)

    def smb(self, node: Node, start: int, rng: random.Random) -> Session | None:
        """SMB_COM_NEGOTIATE offering the device's SMB1 dialects; the file server picks NT LM 0.12."""
        dialects, files = node.identity.smb_dialects, node.net.files
        if dialects is None:
            return None
        pid = rng.getrandbits(16)
        filetime = (start // 1_000_000 + 11_644_473_600) * 10_000_000
        request = _payloads.smb_negotiate_request(dialects, pid)
        response = _payloads.smb_negotiate_response(
            dialects.index("NT LM 0.12"), pid, rng.randbytes(8), node.net.facility, filetime
        )
        lnk = link(node.host, files.ip, files.mac, self.tagged)
        conv = tcp_exchange(lnk, True, 445, start, rng, [(True, request), (False, response)])
        rows = [conn_row(self._uid(), conv, node.host.ip, files.ip, "smb")]
        rows += self._service(start, files.ip, 445, "tcp", "smb")
        node.protocols.add("smb")
        node.seen["smb_dialects"] = list(dialects)
        return Session(start, conv.frames, rows)

    def smb_server(self, node: Node, start: int, rng: random.Random) -> Session | None:
        """The site's poller audits the device's own SMB server on 445, as nmap's ``smb-protocols`` does.

        It first negotiates SMB1 only (``NT LM 0.12``): a device with SMBv1 on answers in SMB1 (which discovery
        flags); one without closes the connection unanswered, and the poller then sends an SMB2 NEGOTIATE that it
        answers with its best dialect.  The directory and file servers are not audited (the file server's SMB is
        seen from its clients)."""
        dialect, net, host = node.identity.smb_server_dialect, node.net, node.host
        if dialect is None or host.ip in (net.dc.ip, net.files.ip):
            return None
        dc = net.dc
        lnk = link(host, dc.ip, dc.mac, self.tagged)
        filetime = (start // 1_000_000 + 11_644_473_600) * 10_000_000
        pid = rng.getrandbits(16)
        probe = _payloads.smb_negotiate_request([SMB1_DIALECT], pid)
        if dialect == SMB1_DIALECT:
            answer = _payloads.smb_negotiate_response(0, pid, rng.randbytes(8), net.facility, filetime, host.hostname)
            exchanges = [[(True, probe), (False, answer)]]
        else:
            boot = filetime - rng.randrange(1, 90 * 86_400) * 10_000_000
            offered = list(_payloads.SMB2_DIALECTS)
            request = _payloads.smb2_negotiate_request(offered, rng.randbytes(16), rng.randbytes(32))
            answer = _payloads.smb2_negotiate_response(dialect, rng.randbytes(16), rng.randbytes(32), filetime, boot)
            exchanges = [[(True, probe)], [(True, request), (False, answer)]]
        session = Session(start)
        t = start
        for messages in exchanges:
            conv = tcp_exchange(lnk, False, 445, t, rng, messages)
            session.frames += conv.frames
            session.rows.append(conn_row(self._uid(), conv, dc.ip, host.ip, "smb"))
            t = conv.now + rng.randrange(2_000, 20_000)
        session.rows += self._service(start, host.ip, 445, "tcp", "smb")
        node.protocols.add("smb-server")
        node.seen["smb_server_dialect"] = dialect
        return session

    def snmp(self, node: Node, start: int, rng: random.Random) -> Session | None:
        """The site's poller asks sysDescr, sysObjectID, sysUpTime and sysName with community ``public``."""
        ident, dc, host = node.identity, node.net.dc, node.host
        if ident.snmp_sys_descr is None or ident.snmp_sys_object_id is None:
            return None
        request_id, port = rng.getrandbits(31), ephemeral_port(rng)
        oids = (_payloads.SYS_DESCR, _payloads.SYS_OBJECT_ID, _payloads.SYS_UPTIME, _payloads.SYS_NAME)
        get = _payloads.snmp_message("public", _payloads.SNMP_GET, request_id, [(o, b"\x05\x00") for o in oids])
        uptime = rng.randrange(100_000, 3_000_000_000)  # hundredths of a second
        ticks = _payloads.ber(0x43, uptime.to_bytes((uptime.bit_length() + 8) // 8, "big"))
        values = [
            _payloads.ber(0x04, ident.snmp_sys_descr.encode("ascii")),
            _payloads.ber_oid(ident.snmp_sys_object_id),
            ticks,
            _payloads.ber(0x04, host.hostname.encode("ascii")),
        ]
        answer = _payloads.snmp_message(
            "public", _payloads.SNMP_RESPONSE, request_id, list(zip(oids, values, strict=True))
        )
        lnk = link(host, dc.ip, dc.mac, self.tagged)
        rtt = rng.randrange(500, 4_000)
        session = Session(
            start,
            [(start, lnk.udp_frame(False, 161, port, get)), (start + rtt, lnk.udp_frame(True, 161, port, answer))],
        )
        conn = self._uid()
        session.rows.append(
            udp_conn_row(
                conn, start, start + rtt, (dc.ip, port), (host.ip, 161), "snmp", (len(get), len(answer), 1, 1), "Dd"
            )
        )
        session.rows.append(
            (
                "snmp",
                (
                    start,
                    conn,
                    dc.ip,
                    port,
                    host.ip,
                    161,
                    rtt,
                    "2c",
                    "public",
                    1,
                    0,
                    1,
                    0,
                    ident.snmp_sys_descr,
                    start - uptime * 10_000,
                ),
            )
        )
        session.rows += self._service(start, host.ip, 161, "udp", "snmp")
        node.protocols.add("snmp")
        node.seen.update(
            snmp_sys_descr=ident.snmp_sys_descr, snmp_sys_object_id=ident.snmp_sys_object_id, snmp_community="public"
        )
        return session

    def telnet(self, node: Node, start: int, rng: random.Random) -> Session | None:
        """The site's poller opens the device's telnet service and reads the login banner."""
        banner, dc = node.identity.telnet_banner, node.net.dc
        if banner is None:
            return None
        lnk = link(node.host, dc.ip, dc.mac, self.tagged)
        conv = tcp_exchange(
            lnk,
            False,
            23,
            start,
            rng,
            [(False, _payloads.telnet_server_greeting(banner)), (True, _payloads.telnet_client_reply())],
        )
        node.protocols.add("telnet")
        node.seen["telnet_banner"] = banner
        return Session(start, conv.frames, [conn_row(self._uid(), conv, dc.ip, node.host.ip, None)])
