"""The dissectors, registered in one literal tuple (no import-time side effects).

Order matters where heuristics could both claim a stream: the binary protocols that announce themselves
(TLS records, DICOM PDUs, MLLP-framed HL7) come before HTTP's text heuristic.
"""

from __future__ import annotations

from wardwatch.discovery import cleartext, dhcp, dicom, dns, hl7, http, lldp, netbios, smb, snmp, tls
from wardwatch.discovery._base import DissectorSpec

__all__ = ["DISSECTORS"]

DISSECTORS: tuple[DissectorSpec, ...] = (
    dhcp.SPEC,
    dns.SPEC,
    netbios.SPEC,
    snmp.SPEC,
    lldp.SPEC,
    tls.SPEC,
    dicom.SPEC,
    hl7.SPEC,
    smb.SPEC,
    http.SPEC,
    cleartext.SPEC,
)
