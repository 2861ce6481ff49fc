"""What passive discovery sees: observations about network endpoints, security findings, and conversations.

Every value carries its :class:`Evidence` (file, packet or log line, protocol, rule) so a user can always ask
"why?" and get the packet back.  Dissectors (``wardwatch.discovery``) and the Zeek reader (``ingest.zeek``)
produce these; identification (``domain.identification``) turns them into devices.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

__all__ = [
    "Conversation",
    "Endpoint",
    "Evidence",
    "Finding",
    "FindingKind",
    "ObservationKind",
    "Observation",
]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A network endpoint as seen on the wire: a MAC (when on the same segment as the sensor) and/or an IP."""

    mac: str | None = None
    """MAC address, ``aa:bb:cc:dd:ee:ff``; ``None`` when not seen (routed traffic, Zeek logs without MACs)."""
    ip: str | None = None
    """IPv4 or IPv6 address in canonical text form."""


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where an observation came from."""

    source: str
    """The capture or log file name (or sensor name)."""
    locator: str
    """Where in it: ``packet 1234`` or ``conn.log line 17``."""
    protocol: str
    """The protocol that said so: ``dhcp``, ``dicom``, ``hl7``, ``http``, ``zeek:dhcp``..."""
    detail: str | None = None
    """A short human explanation (``option 60 vendor class``); ``None`` if the kind says it all."""


class ObservationKind(StrEnum):
    """What an observation is about.  Identification rules match on (kind, value)."""

    MAC = "mac"
    IP = "ip"
    HOSTNAME = "hostname"
    DHCP_VENDOR_CLASS = "dhcp_vendor_class"
    DHCP_FINGERPRINT = "dhcp_fingerprint"  # option 55 parameter request list, comma separated decimals
    DHCP_CLIENT_ID = "dhcp_client_id"
    DHCP_REQUESTED_IP = "dhcp_requested_ip"
    DNS_QUERY = "dns_query"
    MDNS_SERVICE = "mdns_service"
    NETBIOS_NAME = "netbios_name"
    HTTP_USER_AGENT = "http_user_agent"
    HTTP_SERVER = "http_server"
    TLS_SNI = "tls_sni"
    TLS_VERSION = "tls_version"
    TLS_CERT_SUBJECT = "tls_cert_subject"
    TLS_CERT_ISSUER = "tls_cert_issuer"
    SMB_DIALECT = "smb_dialect"
    SMB_NATIVE_OS = "smb_native_os"
    DICOM_AE_TITLE = "dicom_ae_title"
    DICOM_IMPLEMENTATION_UID = "dicom_implementation_uid"
    DICOM_IMPLEMENTATION_VERSION = "dicom_implementation_version"
    DICOM_ABSTRACT_SYNTAX = "dicom_abstract_syntax"  # SOP class UID offered/accepted
    DICOM_ROLE = "dicom_role"  # scu / scp
    HL7_APPLICATION = "hl7_application"
    HL7_FACILITY = "hl7_facility"
    HL7_MESSAGE_TYPE = "hl7_message_type"
    HL7_VERSION = "hl7_version"
    HL7_DEVICE_ID = "hl7_device_id"  # PRT-10 / PRT-16 device identifiers
    LLDP_SYSTEM_NAME = "lldp_system_name"
    LLDP_PORT = "lldp_port"
    LLDP_VLAN = "lldp_vlan"
    SNMP_SYSDESCR = "snmp_sysdescr"
    SNMP_COMMUNITY = "snmp_community"
    SERVICE = "service"  # "tcp/104" a port the endpoint answered on
    SOFTWARE = "software"  # Zeek software.log, banners
    OS = "os"
    SMB_SHARE = "smb_share"  # \\server\share path a client mapped (Zeek smb_mapping.log / smb_files.log)


@dataclass(frozen=True, slots=True)
class Observation:
    """One thing seen about one endpoint."""

    endpoint: Endpoint
    """Who it is about."""
    kind: ObservationKind
    """What it is."""
    value: str
    """The value as seen (trimmed; never invented)."""
    seen_at: datetime
    """When (timezone-aware UTC: the packet or log timestamp)."""
    evidence: Evidence
    """Where it came from."""


class FindingKind(StrEnum):
    """Insecure behaviour passive discovery can prove from traffic."""

    SMBV1 = "smbv1"
    PHI_CLEARTEXT = "phi_cleartext"  # HL7 with a PID segment without TLS
    CLEARTEXT_DICOM = "cleartext_dicom"
    CLEARTEXT_CREDENTIALS = "cleartext_credentials"  # Telnet, FTP USER/PASS, HTTP Basic
    TELNET = "telnet"
    FTP = "ftp"
    SNMP_DEFAULT_COMMUNITY = "snmp_default_community"
    SNMP_V1V2C = "snmp_v1v2c"
    EXTERNAL_PEER = "external_peer"
    OLD_TLS = "old_tls"

    @property
    def label(self) -> str:
        """The finding in words, as dashboards and reports show it."""
        return _FINDING_LABELS[self]


_FINDING_LABELS = {
    FindingKind.SMBV1: "SMBv1 (WannaCry's protocol)",
    FindingKind.PHI_CLEARTEXT: "Patient data (HL7 PID) in cleartext",
    FindingKind.CLEARTEXT_DICOM: "DICOM without TLS",
    FindingKind.CLEARTEXT_CREDENTIALS: "Passwords in cleartext",
    FindingKind.TELNET: "Telnet",
    FindingKind.FTP: "FTP",
    FindingKind.SNMP_DEFAULT_COMMUNITY: "SNMP default community",
    FindingKind.SNMP_V1V2C: "SNMP v1/v2c",
    FindingKind.OLD_TLS: "Old TLS versions",
    FindingKind.EXTERNAL_PEER: "Talks to the internet",
}


def finding_label(kind: str) -> str:
    """A stored finding kind in words (the kind itself when this version does not know it)."""
    try:
        return FindingKind(kind).label
    except ValueError:
        return kind


@dataclass(frozen=True, slots=True)
class Finding:
    """Insecure behaviour of an endpoint, with the proof."""

    endpoint: Endpoint
    """The endpoint at fault (the client sending PHI in clear, the server offering SMBv1...)."""
    kind: FindingKind
    """What is wrong."""
    detail: str
    """In words, without secrets (a community string or password is never repeated in full)."""
    seen_at: datetime
    """When."""
    evidence: Evidence
    """Where it was seen."""


@dataclass(frozen=True, slots=True)
class Conversation:
    """Traffic between two endpoints on one service, summed over a capture or log."""

    client: Endpoint
    """The side that opened the conversation (or sent first)."""
    server: Endpoint
    """The side that answered."""
    transport: str
    """``tcp`` or ``udp`` (or ``icmp``...)."""
    port: int | None
    """Server port."""
    protocol: str | None
    """Application protocol identified (``dicom``, ``hl7``, ``smb``...) or ``None``."""
    packets: int
    """Packets both ways."""
    bytes: int
    """Bytes both ways (IP length)."""
    first_seen: datetime
    """First packet."""
    last_seen: datetime
    """Last packet."""
