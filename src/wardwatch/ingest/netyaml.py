"""The Wardwatch network YAML: zones, ordered rules, conduits and placement, written by hand (docs/network.md).

:func:`read_network_yaml` turns one file into a :class:`~wardwatch.domain.netmodel.NetworkModel`;
:func:`load_network_yaml` also says whether the file chose the default action and which zone names its rules
use, so :mod:`wardwatch.ingest.network_files` can combine several files (zones in one, rules in another).

Every field is checked; a bad one raises :class:`~wardwatch.ingest.errors.IngestError` naming the file, the
place inside the YAML (``rules[3].ports``) and what to write instead.  The file is parsed with PyYAML's safe
loader (its C version when available) after a 16 MiB size check, and the number of entries visited is capped,
so alias tricks ("billion laughs") cannot make validation run away.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, cast

from wardwatch.domain.netmodel import ANY, Action, Conduit, NetworkModel, PlacementRule, PortRange, Protocol, Rule, Zone
from wardwatch.ingest._bounded import MIB
from wardwatch.ingest._yamlread import read_yaml_document
from wardwatch.ingest.errors import IngestError

__all__ = ["MAX_YAML_BYTES", "SERVICE_PORTS", "YamlDevice", "YamlNetwork", "load_network_yaml", "read_network_yaml"]

MAX_YAML_BYTES: Final = 16 * MIB
"""Largest network YAML accepted: far above any hand-written model."""

_MAX_ITEMS: Final = 200_000
"""Entries visited while validating (aliases can make a small file look huge)."""

SERVICE_PORTS: Final[Mapping[str, tuple[PortRange, ...]]] = {
    "hl7": (PortRange(2575, 2575),),
    "dicom": (PortRange(104, 104), PortRange(11112, 11112)),
    "smb": (PortRange(139, 139), PortRange(445, 445)),
    "rdp": (PortRange(3389, 3389),),
    "vnc": (PortRange(5900, 5900),),
    "ssh": (PortRange(22, 22),),
    "telnet": (PortRange(23, 23),),
    "ftp": (PortRange(21, 21),),
    "http": (PortRange(80, 80),),
    "https": (PortRange(443, 443),),
    "dns": (PortRange(53, 53),),
    "ntp": (PortRange(123, 123),),
    "snmp": (PortRange(161, 162),),
    "syslog": (PortRange(514, 514),),
    "ldap": (PortRange(389, 389), PortRange(636, 636)),
    "kerberos": (PortRange(88, 88),),
    "smtp": (PortRange(25, 25),),
}
"""Service names a rule or conduit may use in ``ports`` (docs/network.md has the table)."""

_TOP_KEYS = ("zones", "rules", "default", "intra_zone", "conduits", "placement", "devices")
_DEVICE_KEYS = ("name", "file", "interfaces", "description")
_ZONE_KEYS = ("name", "kind", "subnets", "vlans", "site", "description", "entry_point")
_RULE_KEYS = ("name", "action", "from", "to", "protocol", "ports", "description")
_CONDUIT_KEYS = ("from", "to", "protocol", "ports", "description")
_PROTOCOLS: Final[tuple[Protocol, ...]] = ("tcp", "udp", "icmp", "any")
_ACTIONS: Final[tuple[Action, ...]] = ("allow", "deny")
_TIP = "see the network YAML format in docs/network.md"


@dataclass(frozen=True, slots=True)
class YamlDevice:
    """A firewall described in the YAML: which of the imported files holds its rules and what is behind each of its
    interfaces, so that its rules filter only the packets that go through it."""

    name: str
    file: str
    """The name of the imported file with its rules (an ``iptables-save`` file)."""
    interfaces: tuple[tuple[str, tuple[str, ...]], ...]
    """(interface, zone names and CIDRs behind it); ``0.0.0.0/0`` is the default route."""
    where: str
    """The place in the YAML (``devices[0]``) for error messages and evidence."""


@dataclass(frozen=True, slots=True)
class YamlNetwork:
    """One network YAML file, read and checked on its own."""

    model: NetworkModel
    default_given: bool
    """The file set ``default:`` (otherwise ``model.default_action`` is the built-in ``deny``)."""
    zone_refs: tuple[tuple[str, str], ...]
    """(zone name, place in the YAML) for every zone a rule or conduit names, to check against all files' zones."""
    devices: tuple[YamlDevice, ...] = ()

    def check_zone_refs(self, known: set[str]) -> None:
        """Raise :class:`IngestError` for the first zone name used here that is not in ``known``."""
        for name, where in self.zone_refs:
            if name not in known:
                listed = ", ".join(sorted(known)) or "none"
                raise IngestError(
                    self.model.sources[0],
                    f"{where}: unknown zone '{name}' (zones: {listed})",
                    tip="define the zone under zones:, or write a CIDR, an address or any",
                )


def read_network_yaml(path: str | Path) -> NetworkModel:
    """Read one network YAML file into a model; its rules may only name zones defined in the same file."""
    loaded = load_network_yaml(path)
    loaded.check_zone_refs({zone.name for zone in loaded.model.zones})
    return loaded.model


def load_network_yaml(path: str | Path) -> YamlNetwork:
    """Read and check one network YAML file, leaving the zone names its rules use to the caller to check."""
    path = Path(path)
    document = read_yaml_document(path, limit=MAX_YAML_BYTES, what="network YAML file", tip=_TIP)
    return _Checker(path).document(document)


class _Checker:
    """Validates the parsed document, counting visited entries."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.label = path.name
        self.visited = 0
        self.zone_refs: list[tuple[str, str]] = []

    def error(self, where: str, message: str, tip: str = _TIP) -> IngestError:
        return IngestError(str(self.path), f"{where}: {message}" if where else message, tip=tip)

    def tick(self, count: int = 1) -> None:
        self.visited += count
        if self.visited > _MAX_ITEMS:
            raise IngestError(str(self.path), f"has more than {_MAX_ITEMS:,} entries (YAML aliases?)", tip=_TIP)

    def mapping(self, value: object, where: str, keys: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(where, f"should be a mapping with keys {', '.join(keys)}, not {_kind(value)}")
        for key in value:
            if key not in keys:
                raise self.error(where, f"unknown key '{key}' (expected one of {', '.join(keys)})")
        return cast(dict[str, Any], value)

    def items(self, value: object, where: str, *, scalar_ok: bool = False) -> list[Any]:
        if value is None:
            return []
        if scalar_ok and isinstance(value, str | int) and not isinstance(value, bool):
            return [value]
        if not isinstance(value, list):
            raise self.error(where, f"should be a list, not {_kind(value)}")
        self.tick(len(value))
        return value

    def text(self, value: object, where: str, *, required: bool = False) -> str:
        if value is None and not required:
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            raise self.error(where, f"should be text, not {_kind(value)}")
        return value.strip()

    def choice(self, value: object, where: str, choices: tuple[str, ...], default: str) -> str:
        if value is None:
            return default
        if value is False and "deny" in choices:  # YAML 1.1 reads a bare `no`/`off` as False
            value = "deny"
        if not isinstance(value, str) or value.strip().lower() not in choices:
            raise self.error(where, f"is {value!r}; write one of {', '.join(choices)}")
        return value.strip().lower()

    def document(self, document: object) -> YamlNetwork:
        if document is None:
            raise IngestError(str(self.path), "is empty", tip=_TIP)
        top = self.mapping(document, "", _TOP_KEYS)
        zones = tuple(self.zone(z, f"zones[{i}]") for i, z in enumerate(self.items(top.get("zones"), "zones")))
        seen: set[str] = set()
        for i, zone in enumerate(zones):
            if zone.name in seen:
                raise self.error(f"zones[{i}].name", f"zone '{zone.name}' is defined twice", tip="rename one")
            seen.add(zone.name)
        rules = tuple(self.rule(r, i) for i, r in enumerate(self.items(top.get("rules"), "rules")))
        conduits = tuple(
            self.conduit(c, f"conduits[{i}]") for i, c in enumerate(self.items(top.get("conduits"), "conduits"))
        )
        placement = self.placement(top.get("placement"))
        devices = tuple(
            self.device(d, f"devices[{i}]") for i, d in enumerate(self.items(top.get("devices"), "devices"))
        )
        names = [device.name for device in devices]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise self.error(f"devices[{i}].name", f"device '{name}' is described twice", tip="describe it once")
        model = NetworkModel(
            zones=zones,
            rules=rules,
            default_action=cast(Action, self.choice(top.get("default"), "default", _ACTIONS, "deny")),
            intra_zone=cast(Action, self.choice(top.get("intra_zone"), "intra_zone", _ACTIONS, "allow")),
            conduits=conduits,
            placement=placement,
            sources=(str(self.path),),
        )
        return YamlNetwork(model, top.get("default") is not None, tuple(self.zone_refs), devices)

    def device(self, value: object, where: str) -> YamlDevice:
        fields = self.mapping(value, where, _DEVICE_KEYS)
        name = self.text(fields.get("name"), f"{where}.name", required=True)
        file = self.text(fields.get("file"), f"{where}.file", required=True)
        interfaces = fields.get("interfaces")
        if not isinstance(interfaces, dict) or not interfaces:
            example = "e.g. interfaces: {eth0: [enterprise], eth1: [10.30.0.0/16], eth2: [0.0.0.0/0]}"
            raise self.error(f"{where}.interfaces", "should map each interface to the zones or CIDRs behind it",
                             tip=example)  # fmt: skip
        self.tick(len(interfaces))
        out: list[tuple[str, tuple[str, ...]]] = []
        for iface, behind in interfaces.items():
            here = f"{where}.interfaces.{iface}"
            if not isinstance(iface, str) or not iface.strip() or iface.strip() == "*":
                raise self.error(here, f"{iface!r} is not an interface name")
            refs = self.refs(behind, here)
            if refs == (ANY,):
                raise self.error(
                    here, "cannot be any", tip="write the zones or CIDRs behind it; 0.0.0.0/0 for the default route"
                )
            out.append((iface.strip(), refs))
        return YamlDevice(name, file, tuple(out), where)

    def zone(self, value: object, where: str) -> Zone:
        fields = self.mapping(value, where, _ZONE_KEYS)
        name = self.text(fields.get("name"), f"{where}.name", required=True)
        if name.lower() == ANY or _network(name) is not None:
            raise self.error(f"{where}.name", f"'{name}' cannot be a zone name (it reads as any or an address)")
        subnets: list[str] = []
        for i, cidr in enumerate(self.items(fields.get("subnets"), f"{where}.subnets", scalar_ok=True)):
            subnets.append(self.cidr(cidr, f"{where}.subnets[{i}]"))
        vlans: list[int] = []
        for i, vlan in enumerate(self.items(fields.get("vlans"), f"{where}.vlans", scalar_ok=True)):
            if isinstance(vlan, bool) or not isinstance(vlan, int) or not 1 <= vlan <= 4094:
                raise self.error(f"{where}.vlans[{i}]", f"{vlan!r} is not a VLAN id (1-4094)")
            vlans.append(vlan)
        entry = fields.get("entry_point", False)
        if not isinstance(entry, bool):
            raise self.error(f"{where}.entry_point", f"should be true or false, not {entry!r}")
        site = self.text(fields.get("site"), f"{where}.site") or None
        kind = self.text(fields.get("kind"), f"{where}.kind") or "other"
        return Zone(
            name,
            kind,
            tuple(subnets),
            tuple(vlans),
            site,
            self.text(fields.get("description"), f"{where}.description"),
            entry,
        )

    def cidr(self, value: object, where: str) -> str:
        if not isinstance(value, str):
            raise self.error(where, f"{value!r} is not a CIDR like 10.20.0.0/16")
        try:
            return str(ipaddress.ip_network(value.strip(), strict=True))
        except ValueError as e:
            fixed = _network(value)
            tip = f"write {fixed}" if fixed is not None else "write a network like 10.20.0.0/16"
            raise self.error(where, f"'{value}' is not a network CIDR ({e})", tip=tip) from e

    def refs(self, value: object, where: str) -> tuple[str, ...]:
        if value is None:
            return (ANY,)
        out: list[str] = []
        for i, ref in enumerate(self.items(value, where, scalar_ok=True)):
            here = f"{where}[{i}]" if isinstance(value, list) else where
            if not isinstance(ref, str) or not ref.strip():
                raise self.error(here, f"{ref!r} should be a zone name, a CIDR, an address or any")
            ref = ref.strip()
            if ref.lower() == ANY:
                return (ANY,)
            if "/" in ref or _network(ref) is not None:
                out.append(_address_or_cidr(ref) or str(self.cidr(ref, here)))
            else:
                self.zone_refs.append((ref, here))
                out.append(ref)
        if not out:
            raise self.error(where, "is empty", tip="write any, or list zones, CIDRs or addresses")
        return tuple(out)

    def ports(self, value: object, where: str, protocol: str) -> tuple[PortRange, ...]:
        out: list[PortRange] = []
        for i, port in enumerate(self.items(value, where, scalar_ok=True)):
            here = f"{where}[{i}]" if isinstance(value, list) else where
            out.extend(self.port(port, here))
        if out and protocol == "icmp":
            raise self.error(where, "ICMP has no ports", tip="remove ports: or use protocol tcp or udp")
        return tuple(out)

    def port(self, value: object, where: str) -> tuple[PortRange, ...]:
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 65535:
            return (_port_range(value, value),)
        if isinstance(value, str):
            text = value.strip().lower()
            if text in SERVICE_PORTS:
                return SERVICE_PORTS[text]
            low, _, high = text.partition("-")
            if low.strip().isdigit() and (not high or high.strip().isdigit()):
                first, last = int(low), int(high or low)
                if 0 <= first <= last <= 65535:
                    return (_port_range(first, last),)
        names = ", ".join(SERVICE_PORTS)
        raise self.error(where, f"{value!r} is not a port, a range like 6661-6669, or one of {names}")

    def rule(self, value: object, index: int) -> Rule:
        where = f"rules[{index}]"
        fields = self.mapping(value, where, _RULE_KEYS)
        if fields.get("action") is None:
            raise self.error(f"{where}.action", "is missing", tip="write action: allow or action: deny")
        action = cast(Action, self.choice(fields["action"], f"{where}.action", _ACTIONS, "deny"))
        protocol = cast(Protocol, self.choice(fields.get("protocol"), f"{where}.protocol", _PROTOCOLS, "any"))
        return Rule(
            action=action,
            source=self.refs(fields.get("from"), f"{where}.from"),
            destination=self.refs(fields.get("to"), f"{where}.to"),
            protocol=protocol,
            ports=self.ports(fields.get("ports"), f"{where}.ports", protocol),
            order=index,
            origin=f"{self.label} {where}",
            name=self.text(fields.get("name"), f"{where}.name"),
            description=self.text(fields.get("description"), f"{where}.description"),
        )

    def zone_name(self, value: object, where: str) -> str:
        name = self.text(value, where, required=True)
        self.zone_refs.append((name, where))
        return name

    def conduit(self, value: object, where: str) -> Conduit:
        fields = self.mapping(value, where, _CONDUIT_KEYS)
        protocol = cast(Protocol, self.choice(fields.get("protocol"), f"{where}.protocol", _PROTOCOLS, "tcp"))
        return Conduit(
            source_zone=self.zone_name(fields.get("from"), f"{where}.from"),
            destination_zone=self.zone_name(fields.get("to"), f"{where}.to"),
            protocol=protocol,
            ports=self.ports(fields.get("ports"), f"{where}.ports", protocol),
            description=self.text(fields.get("description"), f"{where}.description"),
        )

    def placement(self, value: object) -> tuple[PlacementRule, ...]:
        if value is None:
            return ()
        if not isinstance(value, dict):
            raise self.error("placement", f"should map a device category to zones, not {_kind(value)}")
        self.tick(len(value))
        out: list[PlacementRule] = []
        for category, zones in value.items():
            where = f"placement.{category}"
            if not isinstance(category, str) or not category.strip():
                raise self.error(where, "a category should be text (a device type or criticality)")
            names = self.items(zones, where, scalar_ok=True)
            if not names:
                raise self.error(where, "lists no zones")
            out.append(
                PlacementRule(category.strip(), tuple(self.zone_name(z, f"{where}[{i}]") for i, z in enumerate(names)))
            )
        return tuple(out)


@functools.lru_cache(maxsize=4096)
def _port_range(low: int, high: int) -> PortRange:
    return PortRange(low, high)


def _network(text: str) -> str | None:
    """The network ``text`` names (host bits cleared), or ``None`` when it is not an address or network."""
    try:
        return str(ipaddress.ip_network(text.strip(), strict=False))
    except ValueError:
        return None


def _address_or_cidr(text: str) -> str | None:
    """A single address as text (``10.1.2.3``), a strict CIDR as text, or ``None``."""
    text = text.strip()
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    try:
        return str(ipaddress.ip_network(text, strict=True))
    except ValueError:
        return None


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    return {dict: "a mapping", list: "a list", str: "text", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )
