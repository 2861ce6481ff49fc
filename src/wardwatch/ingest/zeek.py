"""Zeek logs in, observations, findings and conversations out.

Reads a Zeek log folder (searched recursively for ``*.log``, ``*.json`` and their ``.gz``) or single log files,
TSV or JSON lines, plain or gzip, one line at a time (see :mod:`wardwatch.ingest._zeeklog` for the format and
the error policy).  Each log type has one mapper in the literal registry :data:`MAPPERS`; a log type with no
mapper (``weird``, ``files``, ``packet_filter``...) is skipped whole and counted in
:attr:`ZeekStats.skipped_logs`.  Every value carries
``Evidence(source=<file name>, locator="<path>.log line <n>", protocol="zeek:<path>")``.

What each log yields (``orig`` is the connection's originator, ``resp`` its responder):

``conn``
    A :class:`Conversation` per line (orig = client with ``orig_l2_addr``, resp = server with
    ``resp_l2_addr`` when logged; ``service`` unset -> protocol ``None``; bytes are IP bytes
    ``orig_ip_bytes + resp_ip_bytes``, else payload ``orig_bytes + resp_bytes``; an ICMP "port" is a code,
    so ICMP conversations have port ``None``).  ``SERVICE`` ``tcp/104`` for a responder that answered
    (``conn_state`` S1/S2/S3/SF/RSTO/RSTR, or ``resp_pkts > 0`` when there is no state).  ``EXTERNAL_PEER``
    for the RFC 1918 / ULA side when the other side is a public unicast address.
``dhcp``
    ``MAC`` (``mac``), ``IP`` (``assigned_addr``/``assigned_ip``), ``DHCP_REQUESTED_IP`` (``requested_addr``),
    ``HOSTNAME`` (``host_name``, ``client_fqdn``), ``DHCP_VENDOR_CLASS`` (``client_software`` from
    ``policy/protocols/dhcp/software.zeek``, or a ``vendor_class`` column), ``DHCP_CLIENT_ID``
    (``client_id``), all about the client.  The all-zero MAC and 0.0.0.0/255.255.255.255 are ignored.
``dns``
    ``DNS_QUERY`` for the querying host (port 137 lines are NetBIOS name service, marked in the evidence
    detail); ``HOSTNAME`` when an mDNS sender announces a ``.local`` name answered by its own address.
``http``
    ``HTTP_USER_AGENT`` (client), ``HTTP_SERVER`` (server, from a ``server`` column if a site script logs
    it); ``CLEARTEXT_CREDENTIALS`` on the server when ``username`` or ``password`` is set (the password is
    never repeated).
``ssl``
    ``TLS_SNI`` (client), ``TLS_VERSION`` and ``OLD_TLS`` for SSLv2/SSLv3/TLSv10/TLSv11 (server),
    ``TLS_CERT_SUBJECT``/``TLS_CERT_ISSUER`` (server) when the ssl log still has ``subject``/``issuer``.
``x509``
    ``TLS_CERT_SUBJECT``/``TLS_CERT_ISSUER`` for the servers whose ssl line named this certificate first in
    ``cert_chain_fps`` (by ``fingerprint``) or ``cert_chain_fuids`` (by ``id``); x509 files are read after
    the others so the join works.  Certificates no ssl line points at are counted in ``certs_unjoined``.
``software``
    ``SOFTWARE`` ``"<software_type> <name> <version>"`` for ``host``.
``known_services``
    ``SERVICE`` ``"<port_proto>/<port_num>"`` for ``host`` (Zeek's service names in the detail).
``smb_mapping``, ``smb_files``
    ``SMB_SHARE`` (the ``\\\\server\\share`` path) for the server; file names are never recorded.
``snmp``
    ``SNMP_COMMUNITY`` (masked unless ``public``/``private``) and ``SNMP_SYSDESCR`` (``display_string``)
    for the agent (the responder, or the sender of a trap to port 162); ``SNMP_V1V2C`` for versions 1/2c,
    ``SNMP_DEFAULT_COMMUNITY`` for ``public``/``private``.
``ftp``
    ``FTP`` on the server; ``CLEARTEXT_CREDENTIALS`` for a named (not anonymous) login.
``dicom*`` (any log path starting with ``dicom``, from a site's Zeek plugin)
    ``DICOM_AE_TITLE``: calling AE for the client, called AE for the server; ``DICOM_IMPLEMENTATION_UID`` and
    ``DICOM_IMPLEMENTATION_VERSION`` for the client; ``CLEARTEXT_DICOM`` on the server.  Column names are
    matched leniently (lower case, ``.``/``-`` as ``_``): see ``_DICOM_COLUMNS``.
``hl7*``
    ``HL7_APPLICATION``/``HL7_FACILITY`` (sending -> client, receiving -> server), ``HL7_MESSAGE_TYPE`` and
    ``HL7_VERSION`` for the client; columns in ``_HL7_COLUMNS``, with or without an ``msh_`` prefix.

Repeats: with ``dedupe=True`` (the default) an observation or finding identical in (endpoint, kind, value or
detail) to one already yielded is dropped, so the evidence is the first sighting; the memory for this is
capped (``_SEEN_LIMIT``) and, past it, repeats may be yielded again.  Conversations are never dropped;
:func:`read_zeek` sums them per (client, server, transport, port, protocol).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from wardwatch.domain.observations import (
    Conversation,
    Endpoint,
    Evidence,
    Finding,
    FindingKind,
    Observation,
    ObservationKind,
)
from wardwatch.ingest._zeeklog import MAX_LINE_BYTES, BadLine, Record, ZeekLogFile
from wardwatch.ingest.errors import IngestError

__all__ = ["MAPPERS", "ZeekItem", "ZeekResult", "ZeekStats", "ZeekStream", "read_zeek", "stream_zeek"]

logger = logging.getLogger(__name__)

ZeekItem = Observation | Finding | Conversation
"""What the stream yields."""

_LOG_FILE = re.compile(r"\.(log|json|ndjson)(\.gz)?$")
_SEEN_LIMIT = 1_000_000
_CERT_LIMIT = 100_000
_CERT_SERVERS = 16
_ANSWERED = frozenset({"S1", "S2", "S3", "SF", "RSTO", "RSTR"})
_OLD_TLS = frozenset({"SSLv2", "SSLv3", "TLSv10", "TLSv11"})
_DEFAULT_COMMUNITIES = frozenset({"public", "private"})
_ANONYMOUS = frozenset({"anonymous", "ftp"})
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_NO_MAC = frozenset({"00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"})
_PRIVATE = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"))
_DICOM_COLUMNS = {
    "calling": ("calling_ae", "calling_ae_title", "calling_aet", "calling_title"),
    "called": ("called_ae", "called_ae_title", "called_aet", "called_title"),
    "uid": ("implementation_class_uid", "impl_class_uid", "implementation_uid"),
    "version": ("implementation_version", "implementation_version_name", "impl_version", "impl_version_name"),
}
_HL7_COLUMNS = {
    "send_app": ("sending_application", "sending_app", "send_app", "msh_3"),
    "send_fac": ("sending_facility", "send_fac", "msh_4"),
    "recv_app": ("receiving_application", "receiving_app", "recv_app", "msh_5"),
    "recv_fac": ("receiving_facility", "recv_fac", "msh_6"),
    "type": ("message_type", "msg_type", "msh_9"),
    "version": ("version", "version_id", "hl7_version", "msh_12"),
}


@dataclass(slots=True)
class ZeekStats:
    """What a read saw; filled in while the stream is consumed."""

    files: int = 0
    """Log files opened (empty files and skipped log types included)."""
    empty_files: int = 0
    """Files with no lines at all."""
    lines: int = 0
    """Data lines read in logs that have a mapper (header lines not counted)."""
    records: int = 0
    """Data lines mapped."""
    skipped_lines: int = 0
    """Bad data lines counted and skipped."""
    skip_reasons: dict[str, int] = field(default_factory=dict)
    """Skipped lines by reason (``wrong number of fields``, ``not valid UTF-8``...)."""
    by_log: dict[str, int] = field(default_factory=dict)
    """Records mapped per log path."""
    skipped_logs: dict[str, int] = field(default_factory=dict)
    """Files skipped because no mapper knows their log path, per log path."""
    certs_unjoined: int = 0
    """x509 lines no ssl line pointed at (parsed, attached to nothing)."""
    repeats: int = 0
    """Observations and findings dropped as repeats (``dedupe``)."""
    conversations_without_counts: int = 0
    """conn lines whose packet or byte counts were all unset (their conversation counts 0)."""

    def skip(self, reason: str) -> None:
        """Count one skipped line."""
        self.skipped_lines += 1
        key = reason.split(" (")[0]
        self.skip_reasons[key] = self.skip_reasons.get(key, 0) + 1


@dataclass(frozen=True, slots=True)
class ZeekResult:
    """Everything read from a set of Zeek logs."""

    observations: tuple[Observation, ...]
    """Observations, first sighting first."""
    findings: tuple[Finding, ...]
    """Findings."""
    conversations: tuple[Conversation, ...]
    """Conversations summed per (client, server, transport, port, protocol)."""
    stats: ZeekStats
    """Counts."""


class _Skip(Exception):
    """A record that cannot be mapped (no timestamp, no address); counted as a skipped line."""


class _CertIndex:
    """Leaf certificate id / fingerprint -> the servers that presented it (bounded, oldest dropped first)."""

    def __init__(self) -> None:
        self._servers: dict[str, list[Endpoint]] = {}

    def remember(self, key: str, server: Endpoint) -> None:
        servers = self._servers.setdefault(key, [])
        if server not in servers and len(servers) < _CERT_SERVERS:
            servers.append(server)
        if len(self._servers) > _CERT_LIMIT:
            del self._servers[next(iter(self._servers))]

    def servers(self, *keys: str | None) -> list[Endpoint]:
        for key in keys:
            if key and key in self._servers:
                return self._servers[key]
        return []


@dataclass(slots=True)
class _Line:
    """One record being mapped, with helpers to build values that carry its evidence."""

    record: Record
    source: str
    log: str
    ts: datetime
    certs: _CertIndex
    stats: ZeekStats

    def evidence(self, detail: str | None = None) -> Evidence:
        return Evidence(self.source, f"{self.log}.log line {self.record.line}", f"zeek:{self.log}", detail)

    def observe(
        self, endpoint: Endpoint | None, kind: ObservationKind, value: str | None, detail: str | None = None
    ) -> Iterator[Observation]:
        value = value.strip() if value else None
        if endpoint is not None and value:
            yield Observation(endpoint, kind, value, self.ts, self.evidence(detail))

    def finding(self, endpoint: Endpoint | None, kind: FindingKind, detail: str) -> Iterator[Finding]:
        if endpoint is not None:
            yield Finding(endpoint, kind, detail, self.ts, self.evidence())

    def column(self, names: tuple[str, ...]) -> str | None:
        """Lenient lookup for plugin logs: compares names lower-cased, ``.``/``-`` as ``_``, ``msh_`` dropped."""
        wanted = set(names)
        for key, value in self.record.fields.items():
            norm = re.sub(r"[.\-]", "_", key.lower())
            if (norm in wanted or norm.removeprefix("msh_") in wanted) and value:
                return ",".join(value) if isinstance(value, tuple) else value
        return None


Mapper = Callable[[_Line], Iterator[ZeekItem]]


# --- helpers ------------------------------------------------------------------------------------------------


def _ip(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not text:
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _mac(text: str | None) -> str | None:
    mac = text.strip().lower().replace("-", ":") if text else None
    return mac if mac and _MAC.match(mac) and mac not in _NO_MAC else None


def _endpoint(record: Record, ip_field: str, mac_field: str | None = None) -> Endpoint | None:
    ip = _ip(record.text(ip_field))
    mac = _mac(record.text(mac_field)) if mac_field else None
    if ip is None and mac is None:
        return None
    return Endpoint(mac=mac, ip=str(ip) if ip is not None else None)


def _parties(line: _Line) -> tuple[Endpoint, Endpoint]:
    client = _endpoint(line.record, "id.orig_h", "orig_l2_addr")
    server = _endpoint(line.record, "id.resp_h", "resp_l2_addr")
    if client is None or server is None:
        raise _Skip("no valid id.orig_h/id.resp_h")
    return client, server


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except (ValueError, OverflowError, OSError):
        pass
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    # Zeek writes ISO 8601 times (LogAscii::json_timestamps) in UTC.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _sum(record: Record, *names: str) -> int | None:
    values = [record.number(name) for name in names]
    known = [int(v) for v in values if v is not None]
    return sum(known) if known else None


def _is_private(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return any(ip in net for net in _PRIVATE if net.version == ip.version)


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return ip.is_global and not ip.is_multicast


def _mask(community: str) -> str:
    """Community strings other than the well-known defaults are never repeated: ``s***``."""
    return community if community in _DEFAULT_COMMUNITIES else f"{community[:1]}***"


def _port(record: Record, name: str) -> int | None:
    value = record.number(name)
    return int(value) if value is not None else None


# --- mappers ------------------------------------------------------------------------------------------------


def _conn(line: _Line) -> Iterator[ZeekItem]:
    r = line.record
    client, server = _parties(line)
    transport = r.text("proto")
    if transport is None:
        raise _Skip("no proto")
    port = _port(r, "id.resp_p") if transport != "icmp" else None
    packets = _sum(r, "orig_pkts", "resp_pkts")
    volume = _sum(r, "orig_ip_bytes", "resp_ip_bytes")
    if volume is None:
        volume = _sum(r, "orig_bytes", "resp_bytes")
    if packets is None or volume is None:
        line.stats.conversations_without_counts += 1
    duration = r.number("duration")
    last = line.ts + timedelta(seconds=duration) if duration is not None else line.ts
    service = r.text("service")
    yield Conversation(client, server, transport, port, service, packets or 0, volume or 0, line.ts, last)
    state = r.text("conn_state")
    resp_pkts = r.number("resp_pkts")
    answered = state in _ANSWERED if state else bool(resp_pkts)
    if answered and port is not None:
        yield from line.observe(server, ObservationKind.SERVICE, f"{transport}/{port}", service)
    orig_ip, resp_ip = _ip(client.ip), _ip(server.ip)
    if orig_ip is None or resp_ip is None:
        return
    where = f"{transport}/{port}" if port is not None else transport
    reply = "" if answered else ", no answer seen"
    if _is_private(orig_ip) and _is_public(resp_ip):
        detail = f"connects to public address {resp_ip} ({where}{reply})"
        yield from line.finding(client, FindingKind.EXTERNAL_PEER, detail)
    elif _is_private(resp_ip) and _is_public(orig_ip):
        detail = f"reached from public address {orig_ip} ({where}{reply})"
        yield from line.finding(server, FindingKind.EXTERNAL_PEER, detail)


def _dhcp(line: _Line) -> Iterator[ZeekItem]:
    r = line.record
    mac = _mac(r.text("mac"))
    assigned = _ip(r.text("assigned_addr", "assigned_ip"))
    if assigned is not None and (assigned.is_unspecified or str(assigned) == "255.255.255.255"):
        assigned = None
    if mac is None and assigned is None:
        return
    client = Endpoint(mac=mac, ip=str(assigned) if assigned else None)
    yield from line.observe(client, ObservationKind.MAC, mac)
    yield from line.observe(client, ObservationKind.IP, str(assigned) if assigned else None, "assigned")
    requested = _ip(r.text("requested_addr"))
    yield from line.observe(client, ObservationKind.DHCP_REQUESTED_IP, str(requested) if requested else None)
    yield from line.observe(client, ObservationKind.HOSTNAME, r.text("host_name"), "dhcp host name")
    yield from line.observe(client, ObservationKind.HOSTNAME, r.text("client_fqdn"), "dhcp client fqdn")
    vendor = r.text("client_software", "vendor_class", "vendor_class_id")
    yield from line.observe(client, ObservationKind.DHCP_VENDOR_CLASS, vendor)
    yield from line.observe(client, ObservationKind.DHCP_CLIENT_ID, r.text("client_id"))


def _dns(line: _Line) -> Iterator[ZeekItem]:
    r = line.record
    client = _endpoint(r, "id.orig_h")
    query = r.text("query")
    port = _port(r, "id.resp_p")
    detail = {137: "netbios-ns", 5353: "mdns", 5355: "llmnr"}.get(port or 0)
    yield from line.observe(client, ObservationKind.DNS_QUERY, query, detail)
    if client is None or port != 5353 or not query or not query.lower().endswith(".local"):
        return
    answers = {str(ip) for ip in map(_ip, r.items("answers")) if ip is not None}
    if client.ip in answers:
        yield from line.observe(client, ObservationKind.HOSTNAME, query, "mdns self-announcement")


def _http(line: _Line) -> Iterator[ZeekItem]:
    r = line.record
    client, server = _parties(line)
    yield from line.observe(client, ObservationKind.HTTP_USER_AGENT, r.text("user_agent"))
    yield from line.observe(server, ObservationKind.HTTP_SERVER, r.text("server", "server_header"))
    user = r.text("username")
    if user or r.text("password"):
        who = f" for user {user!r}" if user else ""
        detail = f"HTTP credentials{who} sent in clear by {client.ip}"
        yield from line.finding(server, FindingKind.CLEARTEXT_CREDENTIALS, detail)


def _ssl(line: _Line) -> Iterator[ZeekItem]:
    r = line.record
    client, server = _parties(line)
    yield from line.observe(client, ObservationKind.TLS_SNI, r.text("server_name"))
    version = r.text("version")
    yield from line.observe(server, ObservationKind.TLS_VERSION, version)
    if version in _OLD_TLS:
        yield from line.finding(server, FindingKind.OLD_TLS, f"negotiated {version}")
    yield from line.observe(server, ObservationKind.TLS_CERT_SUBJECT, r.text("subject"))
    yield from line.observe(server, ObservationKind.TLS_CERT_ISSUER, r.text("issuer"))
    for chain in ("cert_chain_fps", "cert_chain_fuids"):
        leaf = r.items(chain)
        if leaf:
            line.certs.remember(leaf[0], server)


def _x509(line: _Line) -> Iterator[ZeekItem]:
    r = line.record
    servers = line.certs.servers(r.text("fingerprint"), r.text("id"))
    if not servers:
        line.stats.certs_unjoined += 1
    for server in servers:
        yield from line.observe(server, ObservationKind.TLS_CERT_SUBJECT, r.text("certificate.subject"))
        yield from line.observe(server, ObservationKind.TLS_CERT_ISSUER, r.text("certificate.issuer"))


def _software(line: _Line) -> Iterator[ZeekItem]:
    r = line.record
    numbers: list[str] = []
    for part in ("major", "minor", "minor2", "minor3"):  # Zeek's software_fmt_version: 1.2.3.4-addl
        number = r.text(f"version.{part}")
        if number is None:
            break
        numbers.append(number)
    version = ".".join(numbers) or None
    addl = r.text("version.addl")
    if version and addl:
        version = f"{version}-{addl}"
    value = " ".join(p for p in (r.text("software_type"), r.text("name"), version) if p)
    yield from line.observe(_endpoint(r, "host"), ObservationKind.SOFTWARE, value, r.text("unparsed_version"))


def _known_services(line: _Line) -> Iterator[ZeekItem]:
    r = line.record
    proto, port = r.text("port_proto"), _port(r, "port_num")
    if proto and port is not None:
        yield from line.observe(_endpoint(r, "host"), ObservationKind.SERVICE, f"{proto}/{port}", r.text("service"))


def _smb(line: _Line) -> Iterator[ZeekItem]:
    r = line.record
    server = _endpoint(r, "id.resp_h")
    yield from line.observe(server, ObservationKind.SMB_SHARE, r.text("path"), r.text("share_type", "action"))


def _snmp(line: _Line) -> Iterator[ZeekItem]:
    r = line.record
    client, server = _parties(line)
    agent = client if _port(r, "id.resp_p") == 162 else server
    community = r.text("community")
    version = r.text("version")
    yield from line.observe(agent, ObservationKind.SNMP_COMMUNITY, _mask(community) if community else None)
    yield from line.observe(agent, ObservationKind.SNMP_SYSDESCR, r.text("display_string"))
    if version in ("1", "2", "2c"):
        yield from line.finding(agent, FindingKind.SNMP_V1V2C, f"answers SNMP version {version} (no encryption)")
    if community in _DEFAULT_COMMUNITIES:
        yield from line.finding(agent, FindingKind.SNMP_DEFAULT_COMMUNITY, f"uses the default community {community}")


def _ftp(line: _Line) -> Iterator[ZeekItem]:
    r = line.record
    client, server = _parties(line)
    yield from line.finding(server, FindingKind.FTP, "serves FTP (commands and data in clear)")
    user = r.text("user")
    if user and user.lower() not in _ANONYMOUS:
        detail = f"FTP login for user {user!r} sent in clear by {client.ip}"
        yield from line.finding(server, FindingKind.CLEARTEXT_CREDENTIALS, detail)


def _dicom(line: _Line) -> Iterator[ZeekItem]:
    client, server = _parties(line)
    cols = {key: line.column(names) for key, names in _DICOM_COLUMNS.items()}
    yield from line.observe(client, ObservationKind.DICOM_AE_TITLE, cols["calling"], "calling AE title")
    yield from line.observe(server, ObservationKind.DICOM_AE_TITLE, cols["called"], "called AE title")
    yield from line.observe(client, ObservationKind.DICOM_IMPLEMENTATION_UID, cols["uid"])
    yield from line.observe(client, ObservationKind.DICOM_IMPLEMENTATION_VERSION, cols["version"])
    yield from line.finding(server, FindingKind.CLEARTEXT_DICOM, f"DICOM association in clear from {client.ip}")


def _hl7(line: _Line) -> Iterator[ZeekItem]:
    client, server = _parties(line)
    cols = {key: line.column(names) for key, names in _HL7_COLUMNS.items()}
    yield from line.observe(client, ObservationKind.HL7_APPLICATION, cols["send_app"], "MSH-3 sending application")
    yield from line.observe(client, ObservationKind.HL7_FACILITY, cols["send_fac"], "MSH-4 sending facility")
    yield from line.observe(server, ObservationKind.HL7_APPLICATION, cols["recv_app"], "MSH-5 receiving application")
    yield from line.observe(server, ObservationKind.HL7_FACILITY, cols["recv_fac"], "MSH-6 receiving facility")
    yield from line.observe(client, ObservationKind.HL7_MESSAGE_TYPE, cols["type"])
    yield from line.observe(client, ObservationKind.HL7_VERSION, cols["version"])


MAPPERS: dict[str, Mapper] = {
    "conn": _conn,
    "dhcp": _dhcp,
    "dns": _dns,
    "http": _http,
    "ssl": _ssl,
    "x509": _x509,
    "software": _software,
    "known_services": _known_services,
    "smb_mapping": _smb,
    "smb_files": _smb,
    "snmp": _snmp,
    "ftp": _ftp,
    "dicom": _dicom,
    "hl7": _hl7,
}
"""Log path -> mapper.  A path with no entry of its own uses the entry its name starts with (``dicom_assoc``
-> ``dicom``), checked in this order; other paths are skipped."""


def _mapper(log: str) -> Mapper | None:
    if log in MAPPERS:
        return MAPPERS[log]
    return next((m for prefix, m in MAPPERS.items() if prefix in ("dicom", "hl7") and log.startswith(prefix)), None)


# --- reading ------------------------------------------------------------------------------------------------


def _files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Expand folders (recursively, log-looking names only); x509 logs last so the ssl join can find them."""
    found: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            found.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file() and not p.name.startswith(".") and _LOG_FILE.search(p.name)
                )
            )
        elif path.exists():
            found.append(path)
        else:
            raise IngestError(str(path), "no such file or folder", tip="check the path to the Zeek logs")
    return sorted(found, key=lambda p: p.name.startswith("x509"))


class ZeekStream:
    """Iterate the observations, findings and conversations of Zeek logs, one line in memory at a time.

    :attr:`stats` fills in as the stream is consumed.  Iterating raises :class:`IngestError` for a file that
    is not a Zeek log or a truncated gzip (items of earlier lines have been yielded by then).
    """

    def __init__(
        self,
        paths: Iterable[str | os.PathLike[str]],
        *,
        dedupe: bool = True,
        max_line_bytes: int = MAX_LINE_BYTES,
    ) -> None:
        self.files = _files(paths)
        """The log files, in reading order."""
        self.stats = ZeekStats()
        """Counts so far."""
        self.dedupe = dedupe
        """Drop repeated observations and findings (see the module docstring)."""
        self.max_line_bytes = max_line_bytes
        """Longest line accepted; longer lines are counted and skipped."""
        self._certs = _CertIndex()
        self._seen: set[tuple[object, ...]] = set()

    def __iter__(self) -> Iterator[ZeekItem]:
        """Read every file in order."""
        for path in self.files:
            yield from self._read(path)

    def _read(self, path: Path) -> Iterator[ZeekItem]:
        stats = self.stats
        stats.files += 1
        with ZeekLogFile(path, max_line_bytes=self.max_line_bytes) as log:
            if log.empty:
                stats.empty_files += 1
                return
            current, mapper = log.log_path, _mapper(log.log_path)
            if mapper is None:
                self._skip_log(path, current)
                return  # the whole file: concatenating different log types is not something Zeek does
            for record in log.records():
                if log.log_path != current:  # a new header block where logs were concatenated
                    current, mapper = log.log_path, _mapper(log.log_path)
                    if mapper is None:
                        self._skip_log(path, current)
                if mapper is None:
                    continue
                stats.lines += 1
                if isinstance(record, BadLine):
                    logger.debug("%s line %d skipped: %s", path, record.line, record.reason)
                    stats.skip(record.reason)
                    continue
                ts = _time(record.text("ts"))
                if ts is None:
                    stats.skip("no valid ts")
                    continue
                line = _Line(record, path.name, current, ts, self._certs, stats)
                try:
                    items = list(mapper(line))
                except _Skip as e:
                    stats.skip(str(e))
                    continue
                stats.records += 1
                stats.by_log[current] = stats.by_log.get(current, 0) + 1
                for item in items:
                    if self._fresh(item):
                        yield item

    def _skip_log(self, path: Path, log: str) -> None:
        self.stats.skipped_logs[log] = self.stats.skipped_logs.get(log, 0) + 1
        logger.debug("%s: no mapper for Zeek log %r, skipped", path, log)

    def _fresh(self, item: ZeekItem) -> bool:
        if not self.dedupe or isinstance(item, Conversation):
            return True
        key = (item.endpoint, item.kind, item.value if isinstance(item, Observation) else item.detail)
        if key in self._seen:
            self.stats.repeats += 1
            return False
        if len(self._seen) >= _SEEN_LIMIT:
            self._seen.clear()
        self._seen.add(key)
        return True


def stream_zeek(
    paths: Iterable[str | os.PathLike[str]], *, dedupe: bool = True, max_line_bytes: int = MAX_LINE_BYTES
) -> ZeekStream:
    """Stream Zeek logs (files or folders); one :class:`Conversation` per conn line, nothing summed."""
    return ZeekStream(paths, dedupe=dedupe, max_line_bytes=max_line_bytes)


def read_zeek(
    paths: Iterable[str | os.PathLike[str]], *, dedupe: bool = True, max_line_bytes: int = MAX_LINE_BYTES
) -> ZeekResult:
    """Read Zeek logs (files or folders) whole; conversations summed per (client, server, transport, port, protocol).

    Raises :class:`IngestError` for a file that is not a Zeek log, a truncated gzip, or a missing path.
    """
    stream = ZeekStream(paths, dedupe=dedupe, max_line_bytes=max_line_bytes)
    observations: list[Observation] = []
    findings: list[Finding] = []
    flows: dict[tuple[Endpoint, Endpoint, str, int | None, str | None], Conversation] = {}
    for item in stream:
        if isinstance(item, Observation):
            observations.append(item)
        elif isinstance(item, Finding):
            findings.append(item)
        else:
            key = (item.client, item.server, item.transport, item.port, item.protocol)
            seen = flows.get(key)
            flows[key] = item if seen is None else _merge(seen, item)
    return ZeekResult(tuple(observations), tuple(findings), tuple(flows.values()), stream.stats)


def _merge(a: Conversation, b: Conversation) -> Conversation:
    return Conversation(
        a.client,
        a.server,
        a.transport,
        a.port,
        a.protocol,
        a.packets + b.packets,
        a.bytes + b.bytes,
        min(a.first_seen, b.first_seen),
        max(a.last_seen, b.last_seen),
    )
