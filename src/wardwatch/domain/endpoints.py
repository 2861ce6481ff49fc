"""Grouping what discovery saw into endpoints: one record per device on the wire.

An endpoint is keyed by its MAC when the sensor saw it on the local segment, else by its IP.  Observations that
name only an IP join the MAC that the IP was bound to (by ARP, DHCP or a packet from that MAC), unless that MAC
speaks for many IPs — a router or firewall — in which case the IPs stay endpoints of their own.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from wardwatch.domain.observations import Conversation, Endpoint, Finding, Observation, ObservationKind

__all__ = ["ROUTER_IP_THRESHOLD", "EndpointRecord", "group_endpoints", "is_internal"]

ROUTER_IP_THRESHOLD = 16
"""A MAC seen with more distinct IPs than this is a gateway; its IPs are not attributed to it."""


@dataclass(slots=True)
class EndpointRecord:
    """Everything seen about one endpoint."""

    key: str
    """``mac:…`` or ``ip:…``."""
    macs: set[str] = field(default_factory=set)
    """MAC addresses (one, normally)."""
    ips: set[str] = field(default_factory=set)
    """IP addresses it used."""
    observations: list[Observation] = field(default_factory=list)
    """What was seen about it."""
    findings: list[Finding] = field(default_factory=list)
    """Insecure behaviour it showed."""
    conversations: int = 0
    """Conversations it took part in."""

    @property
    def mac(self) -> str | None:
        """Its MAC, if exactly one is known."""
        return next(iter(self.macs)) if len(self.macs) == 1 else None

    def values(self, kind: ObservationKind) -> list[str]:
        """Distinct values of one kind, in the order first seen."""
        return list(dict.fromkeys(o.value for o in self.observations if o.kind is kind))

    @property
    def protocols(self) -> list[str]:
        """Protocols that produced evidence about it, sorted."""
        names = {o.evidence.protocol for o in self.observations} | {f.evidence.protocol for f in self.findings}
        return sorted(names)


def _assignable(ip: str) -> bool:
    """Whether a device can hold this address: not 0.0.0.0 / ``::`` (a DHCP client before its lease), not
    multicast, not the limited broadcast."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if address.is_unspecified or address.is_multicast:
        return False
    return not (address.version == 4 and address.packed == b"\xff\xff\xff\xff")


def _bindings(observations: Iterable[Observation]) -> dict[str, str]:
    """IP -> MAC, from observations that carry both, leaving out routers' MACs and ambiguous IPs."""
    macs_by_ip: dict[str, set[str]] = defaultdict(set)
    ips_by_mac: dict[str, set[str]] = defaultdict(set)
    for observation in observations:
        endpoint = observation.endpoint
        if endpoint.mac and endpoint.ip and _assignable(endpoint.ip):
            macs_by_ip[endpoint.ip].add(endpoint.mac)
            ips_by_mac[endpoint.mac].add(endpoint.ip)
    routers = {mac for mac, ips in ips_by_mac.items() if len(ips) > ROUTER_IP_THRESHOLD}
    return {ip: next(iter(macs)) for ip, macs in macs_by_ip.items() if len(macs) == 1 and not macs & routers}


def _key(endpoint: Endpoint, bound: dict[str, str]) -> str | None:
    if endpoint.mac and (endpoint.ip is None or bound.get(endpoint.ip, endpoint.mac) == endpoint.mac):
        return f"mac:{endpoint.mac}"
    if endpoint.ip:
        mac = bound.get(endpoint.ip)
        return f"mac:{mac}" if mac else f"ip:{endpoint.ip}"
    return None


def is_internal(ip: str) -> bool:
    """True for addresses a hospital's own devices use (private, ULA, link-local); internet peers are not devices.

    >>> is_internal("10.1.40.7"), is_internal("8.8.8.8"), is_internal("255.255.255.255")
    (True, False, False)
    """
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if address.is_multicast or address.is_unspecified or address.is_reserved:
        return False
    if address.version == 4 and address.packed == b"\xff\xff\xff\xff":  # limited broadcast
        return False
    return not address.is_global


def group_endpoints(
    observations: Iterable[Observation],
    findings: Iterable[Finding] = (),
    conversations: Iterable[Conversation] = (),
    internal: Callable[[str], bool] = is_internal,
) -> list[EndpointRecord]:
    """One record per endpoint, in key order (MAC-keyed first).

    Endpoints known only by an address that ``internal`` rejects (internet peers) get no record: they appear in
    the conversations and findings of the devices that talked to them.
    """
    observed = list(observations)
    bound = _bindings(observed)
    records: dict[str, EndpointRecord] = {}

    def record(endpoint: Endpoint) -> EndpointRecord | None:
        key = _key(endpoint, bound)
        if key is None or (key.startswith("ip:") and not internal(key[3:])):
            return None
        found = records.get(key)
        if found is None:
            found = records[key] = EndpointRecord(key)
        if key.startswith("mac:"):
            found.macs.add(key[4:])
        if endpoint.ip and _assignable(endpoint.ip) and (key.startswith("ip:") or bound.get(endpoint.ip) == key[4:]):
            found.ips.add(endpoint.ip)
        return found

    for observation in observed:
        target = record(observation.endpoint)
        if target is not None:
            target.observations.append(observation)
    for finding in findings:
        target = record(finding.endpoint)
        if target is not None:
            target.findings.append(finding)
    for conversation in conversations:
        for side in (conversation.client, conversation.server):
            target = record(side)
            if target is not None:
                target.conversations += 1
    return [records[k] for k in sorted(records, key=lambda k: (not k.startswith("mac:"), k))]
