"""SNMP v1 and v2c (RFC 1157, RFC 3416) on UDP 161/162, read with a bounds-checked BER decoder.

About the agent (the destination of a request, the source of a response or trap):

- the community string -> ``SNMP_COMMUNITY``, masked (first character then ``*``) unless it is a well-known
  default (``public``, ``private``), which are kept so rules can match them;
- an ``SNMP_V1V2C`` finding (community-based SNMP sends its only secret in clear text);
- an ``SNMP_DEFAULT_COMMUNITY`` finding when the agent answers (or traps) with a default community;
- from responses: ``sysDescr.0`` -> ``SNMP_SYSDESCR`` and ``sysName.0`` -> ``HOSTNAME``.

SNMPv3 messages are recognised and ignored (no community, no clear-text secret).
"""

from __future__ import annotations

from collections.abc import Iterator

from wardwatch.discovery._base import DissectorSpec, Payload, Result
from wardwatch.discovery._ber import children, oid_text, read_tlv
from wardwatch.discovery._common import finding, observation, text
from wardwatch.domain.observations import Finding, FindingKind, Observation, ObservationKind

__all__ = ["SPEC", "dissect", "mask_community"]

_PROTO = "snmp"
_DEFAULTS = frozenset({"public", "private"})
_VERSIONS = {0: "SNMPv1", 1: "SNMPv2c"}
_REQUESTS = {0xA0: "GetRequest", 0xA1: "GetNextRequest", 0xA3: "SetRequest", 0xA5: "GetBulkRequest"}
_FROM_AGENT = {0xA2: "Response", 0xA4: "Trap", 0xA6: "InformRequest", 0xA7: "SNMPv2-Trap"}
_SYSDESCR, _SYSNAME = "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.5.0"


def mask_community(community: str) -> str:
    """The community as stored: defaults in full, anything else masked.

    >>> mask_community("public")
    'public'
    >>> mask_community("s3cr3t")
    's*****'
    """
    if community.lower() in _DEFAULTS:
        return community
    return community[:1] + "*" * min(len(community) - 1, 15)


def dissect(payload: Payload) -> Result:
    """Observations and findings from one SNMP v1/v2c message; nothing if it is malformed or SNMPv3."""
    data = payload.data
    message = read_tlv(data, 0)
    parts = children(data, message[1], message[2], limit=3) if message and message[0] == 0x30 else None
    if not parts or len(parts) != 3 or parts[0][0] != 0x02 or parts[1][0] != 0x04:
        return []
    version = int.from_bytes(data[parts[0][1] : parts[0][2]], "big") if parts[0][2] - parts[0][1] <= 2 else -1
    pdu_tag = parts[2][0]
    if version not in _VERSIONS or (pdu_tag not in _REQUESTS and pdu_tag not in _FROM_AGENT):
        return []
    community = data[parts[1][1] : parts[1][2]].decode("latin-1")
    from_agent = pdu_tag in _FROM_AGENT
    agent = payload.source if from_agent else payload.destination
    pdu_name = _FROM_AGENT.get(pdu_tag) or _REQUESTS[pdu_tag]
    what = f"{_VERSIONS[version]} {pdu_name}"
    out: list[Observation | Finding] = []
    if community:
        masked = mask_community(community)
        out.append(observation(payload, agent, ObservationKind.SNMP_COMMUNITY, masked, _PROTO, f"{what} community"))
    out.append(
        finding(
            payload,
            agent,
            FindingKind.SNMP_V1V2C,
            f"{_VERSIONS[version]} in use: the community string travels in clear text",
            _PROTO,
            what,
        )
    )
    if from_agent and community.lower() in _DEFAULTS:
        detail = f"agent answers or traps with the default community {community!r}"
        out.append(finding(payload, agent, FindingKind.SNMP_DEFAULT_COMMUNITY, detail, _PROTO, what))
    if pdu_tag == 0xA2:
        for oid, value in _varbinds(data, parts[2][1], parts[2][2]):
            if oid == _SYSDESCR and value:
                out.append(
                    observation(payload, agent, ObservationKind.SNMP_SYSDESCR, value, _PROTO, f"{what} sysDescr.0")
                )
            elif oid == _SYSNAME and value:
                out.append(observation(payload, agent, ObservationKind.HOSTNAME, value, _PROTO, f"{what} sysName.0"))
    return out


def _varbinds(data: bytes, start: int, end: int) -> Iterator[tuple[str, str | None]]:
    """(OID, string value or ``None``) of each variable binding of a PDU."""
    fields = children(data, start, end, limit=4)
    if not fields or len(fields) != 4 or fields[3][0] != 0x30:
        return
    for tag, b_start, b_end in children(data, fields[3][1], fields[3][2]) or []:
        pair = children(data, b_start, b_end, limit=2) if tag == 0x30 else None
        if not pair or len(pair) != 2 or pair[0][0] != 0x06:
            continue
        oid = oid_text(data[pair[0][1] : pair[0][2]])
        value = text(data[pair[1][1] : pair[1][2]]) if pair[1][0] == 0x04 else None
        if oid:
            yield oid, value


SPEC = DissectorSpec(name=_PROTO, dissect=dissect, transport="udp", ports=frozenset({161, 162}))
"""SNMP agents on 161, trap receivers on 162."""
