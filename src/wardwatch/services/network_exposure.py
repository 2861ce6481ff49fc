"""System Exposure (SSVC) from the network model, when one was imported (``wardwatch network import``).

METHODS.md 2.2 and issue 5: a device reachable from the Internet is *open*; reachable only from the hospital's
own less-trusted zones (guest Wi-Fi, vendor remote access, enterprise workstations) it is *controlled*; reachable
from none of them it is *small*.  The rules are evaluated per address class (``domain.net_reach``: addresses no
rule tells apart) for the services hosts were seen serving and a fixed set of probes (remote access, file
sharing, management, clinical protocols).  Discovery's proof still counts: a device seen talking to Internet
hosts (``external_peer``) is open whatever the rules say.  A device in no zone, or no network model at all, keeps
SSVC's default (open) unless discovery proves more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import Connection, Engine, func, select

from wardwatch.domain.net_reach import Reachability, address_key, iter_bits, service_text
from wardwatch.domain.netmodel import NetworkModel
from wardwatch.domain.ssvc import Derived, SystemExposure
from wardwatch.services.network import load_flows, load_hosts, load_model
from wardwatch.services.risk_inputs import DiscoveryExposure, ExposureSource
from wardwatch.store.schema import conversations, devices, interfaces, network_files

__all__ = ["INTERNET_KINDS", "PROBES", "UNTRUSTED_KINDS", "NetworkExposure", "class_exposures", "exposure_source"]

#: Zone kinds that are the Internet (open).
INTERNET_KINDS = frozenset({"internet"})
#: Zone kinds an attacker reaches without being inside the clinical network (controlled).
UNTRUSTED_KINDS = frozenset({"guest", "vendor-remote", "enterprise", "dmz"})
_RANK = {SystemExposure.SMALL: 0, SystemExposure.CONTROLLED: 1, SystemExposure.OPEN: 2}


#: Services probed even where no host was seen serving them: management, remote access, file sharing, clinical.
PROBES: tuple[tuple[str, int], ...] = tuple(
    ("tcp", p) for p in (21, 22, 23, 80, 104, 135, 139, 443, 445, 2575, 3389, 5900, 8080, 8443, 11112)
) + (("udp", 161),)


def _entries(model: NetworkModel) -> list[tuple[SystemExposure, str, str]]:
    """(exposure, zone, words) of every entry zone, the Internet first."""
    out: list[tuple[SystemExposure, str, str]] = []
    for zone in model.zones:
        if zone.kind in INTERNET_KINDS:
            out.append((SystemExposure.OPEN, zone.name, f"the Internet (zone {zone.name})"))
        elif zone.kind in UNTRUSTED_KINDS or zone.entry_point:
            out.append((SystemExposure.CONTROLLED, zone.name, f"{zone.kind} zone {zone.name}"))
    out.sort(key=lambda e: -_RANK[e[0]])
    return out


def class_exposures(model: NetworkModel, reach: Reachability) -> dict[int, Derived[SystemExposure]]:
    """Destination address class id -> its System Exposure and why (the most exposed entry zone that reaches it
    on a probed or served service).  Classes no entry zone reaches are *small*."""
    served = {service for host in reach.hosts for service in host.services}
    services = sorted(set(PROBES) | served)
    every = reach.destination_mask(c.id for c in reach.destinations.classes)
    out: dict[int, Derived[SystemExposure]] = {}
    for value, zone, words in _entries(model):
        for service in services:
            reached = 0
            for source in reach.source_classes_in(zone):
                reached |= reach.allowed_destinations(source, service, every)
            for class_id in iter_bits(reached):
                if class_id not in out and reach.destinations.classes[class_id].zone != zone:
                    out[class_id] = Derived(value, f"reachable from {words} on {service_text(service)} (network model)")
    for cls in reach.destinations.classes:
        if cls.id not in out:
            out[cls.id] = Derived(
                SystemExposure.SMALL,
                "reachable from no Internet, guest, vendor or enterprise zone on any probed service (network model)",
            )
    return out


class NetworkExposure:
    """Exposure from the network model's rules, with discovery's ``external_peer`` proof on top."""

    def __init__(self, model: NetworkModel, reach: Reachability) -> None:
        self.model = model
        by_class = class_exposures(model, reach)
        self.by_device: dict[int, Derived[SystemExposure]] = {}
        for host in reach.hosts:
            if host.device_id is None:
                continue
            try:
                cls = reach.destinations.lookup(address_key(host.address))
            except ValueError:
                continue
            if cls.zone is not None:  # an address in no zone is unknown to the model: SSVC's default applies
                self.by_device[host.device_id] = by_class[cls.id]
        self.discovery = DiscoveryExposure()

    def exposures(
        self, connection: Connection, device_ids: Sequence[int] | None
    ) -> Mapping[int, Derived[SystemExposure]]:
        """Each placed device's exposure; a device proven to talk to Internet hosts is open."""
        if device_ids is None:
            out = dict(self.by_device)
        else:
            out = {i: self.by_device[i] for i in device_ids if i in self.by_device}
        out.update(self.discovery.exposures(connection, device_ids))
        return out


_CACHE: dict[str, tuple[tuple[object, ...], NetworkExposure]] = {}


def _fingerprint(engine: Engine) -> tuple[object, ...] | None:
    """What the exposure depends on: the model's files, the devices' addresses and the observed flows."""
    with engine.connect() as connection:
        files = tuple(connection.execute(select(network_files.c.sha256).order_by(network_files.c.position)).scalars())
        if not files:
            return None
        counts = tuple(
            connection.execute(select(func.count(), func.max(table.c.id)).select_from(table)).one()
            for table in (devices, interfaces, conversations)
        )
    return (files, counts)


def exposure_source(engine: Engine) -> ExposureSource:
    """The network model's exposure when a model was imported, else discovery's (kept while nothing changed)."""
    fingerprint = _fingerprint(engine)
    if fingerprint is None:
        return DiscoveryExposure()
    key = str(engine.url)
    cached = _CACHE.get(key)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    model = load_model(engine)
    if model is None:
        return DiscoveryExposure()
    source = NetworkExposure(model, Reachability.build(model, load_hosts(engine), load_flows(engine)))
    _CACHE[key] = (fingerprint, source)
    return source
