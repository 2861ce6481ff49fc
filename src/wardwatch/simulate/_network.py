"""The sample hospital's network model: zones drawn from the simulator's address plan, per-unit firewall rules
with the usual mistakes, and the same rules as three devices' configurations.

Zones follow the VLAN plan of :func:`~wardwatch.simulate.iter_devices`: every (site, unit, VLAN) gets its own
/24 blocks, so a zone of one site is the list of those blocks (``riv-img`` = every imaging-VLAN /24 of
Riverside).  The clinical VLAN 20 carries pumps and monitors alike; it is split by device class into
``-ls`` (life-sustaining and therapy) and ``-mon`` (monitoring), plus point-of-care testing into ``-lab``,
using the exact address ranges the devices of each class occupy (devices of one kind get consecutive
addresses), the way object-groups carve a shared VLAN.  A clinical zone's closing deny names every *other* zone
of its site, the other sites' address blocks and the zones of no site, so traffic inside a zone is left to the
model's ``intra_zone`` default (a /16 per other site keeps the rule short, as a real ACL would).  Each subnet's
gateway (``.1``, the DHCP
relay) is in the site's ``-net`` zone.  The allow rules and conduits are what the simulated traffic does
(:func:`_device_uses` mirrors :mod:`~wardwatch.simulate._traffic`): per unit and zone one rule per service its
devices use, to the servers the site really uses (a site without servers uses the main site's).

The deliberate mistakes (see :class:`SimNetwork`): (a) the imaging VLAN is flat, PACS and imaging
workstations sit in the modality subnet; (b) ``vendor-any-any`` lets the vendor remote-access pool reach
everything on every port; (c) a Windows 7 device is addressed inside a pump zone (a Windows 7 central station
on a pump /24 when the hospital has one, else another Windows 7 device of a unit with pumps: see
:class:`LegacyHost`); (d) ``guest-to-enterprise-smb`` lets guest Wi-Fi reach the enterprise zone on 445.
Rules are generated per unit and site (xl: about 10,000).  Everything derives from the hospital: the same
size and seed give the same files.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from wardwatch.domain.netmodel import ANY, Action, Conduit, NetworkModel, PlacementRule, PortRange, Protocol, Rule, Zone
from wardwatch.simulate._catalog import load_catalog
from wardwatch.simulate._devices import VLANS, iter_devices
from wardwatch.simulate._identity import DeviceIdentity, identity_for
from wardwatch.simulate._model import Hospital, SimDevice, Site, Unit
from wardwatch.simulate._netconfigs import render_asa, render_ios, render_iptables, render_yaml
from wardwatch.simulate._traffic import _SERVER_ROLES, REMOTE_PER_SITE

__all__ = ["CORE_FW", "DIST_IOS", "EDGE_ASA", "NETWORK_YAML", "LegacyHost", "SimNetwork", "build_network"]
__all__ += ["write_network", "zone_suffix"]

NETWORK_YAML, CORE_FW, EDGE_ASA, DIST_IOS = "network.yaml", "core-fw.iptables", "edge-asa.cfg", "dist-ios.cfg"
BIOMED_UNIT = "Biomed Shop"
VENDOR_ZONE, INTERNET_ZONE = "vendor-remote", "internet"
VENDOR_POOL = "10.250.0.0/24"
"""The vendor VPN pool (second octet 250: no site has that id)."""
GUEST_SPACE = ipaddress.ip_network("172.16.0.0/12")
"""Guest Wi-Fi: one /22 per site, in site order."""
_SERVER_BLOCK, _BIOMED_BLOCK = 250, 252
"""Third octets of each site's data-centre server subnet (the traffic's synthetic servers) and of the main
site's biomed management servers; the device plan never comes near them (xl uses fewer than 100 blocks)."""
_GUEST_VLAN, _VENDOR_VLAN, _BIOMED_VLAN = 300, 910, 110

_LS_KINDS = frozenset(
    {"infusion_pump", "syringe_pump", "pca_pump", "infusion_gateway", "ventilator", "anesthesia", "dialysis",
     "crrt", "defibrillator", "aed", "electrosurgical", "surgical_robot"}
)  # fmt: skip
_POC_KINDS = frozenset({"glucose_meter", "poc_analyzer"})
_ROLE_SUFFIX = {"imaging": "img", "lab": "lab", "pharmacy": "rx", "voice": "voice", "facilities": "bldg"}

#: Zone suffix -> (kind, description, entry point).
ZONE_SPECS: dict[str, tuple[str, str, bool]] = {
    "ls": ("life-sustaining", "Life-sustaining and therapy devices: pumps, ventilators, anaesthesia, dialysis "
           "(clinical VLAN 20)", False),
    "mon": ("monitoring", "Patient monitoring: bedside monitors, telemetry, central stations, ECG (clinical VLAN 20)",
            False),
    "img": ("imaging", "Imaging VLAN 40, flat: modalities, imaging workstations and the PACS share its subnets", False),
    "lab": ("lab", "Laboratory analysers (VLAN 50) and point-of-care testing (clinical VLAN 20)", False),
    "apps": ("clinical-apps", "Clinical applications: interface engine, pump server, alarm middleware, file and "
             "directory servers (IT VLAN 100 and the data-centre subnet)", False),
    "rx": ("clinical-devices", "Pharmacy: dispensing cabinets and compounders (VLAN 60)", False),
    "voice": ("voice", "Voice: Wi-Fi phones and badges (VLAN 70)", False),
    "bldg": ("building", "Building/OT: smart beds and nurse call (VLAN 80)", False),
    "ent": ("enterprise", "Enterprise: user workstations, printers, handhelds, network gear (IT VLAN 100)", True),
    "biomed": ("biomed", "Biomed/HTM management workstations", False),
    "guest": ("guest", "Guest and BYOD Wi-Fi", True),
    "net": ("network", "Network infrastructure: each subnet's default gateway (.1), the DHCP relay", False),
}  # fmt: skip
_CLINICAL = ("ls", "mon", "lab", "img")

#: Zone suffix -> device types and criticalities that belong there (the intended placement).
_BELONGS: dict[str, tuple[str, ...]] = {
    "ls": ("infusion-pump", "syringe-pump", "pca-pump", "ventilator", "anesthesia-machine", "dialysis-machine",
           "defibrillator", "electrosurgical-unit", "surgical-robot", "life-sustaining", "life-supporting"),
    "mon": ("patient-monitor", "telemetry-transmitter", "central-station", "pulse-oximeter", "ecg", "eeg",
            "implant-programmer"),
    "img": ("ct-scanner", "mri-scanner", "x-ray", "ultrasound", "mammography", "radiation-therapy"),
    "apps": ("pacs-server", "imaging-workstation", "server"),
    "lab": ("lab-analyzer", "blood-gas-analyzer", "glucose-meter"),
    "rx": ("medication-dispensing",),
    "bldg": ("smart-bed", "nurse-call"),
    "voice": ("phone",),
    "ent": ("phone", "workstation", "printer", "network-device"),
    "net": ("network-device",),
    "biomed": ("workstation",),
}  # fmt: skip
_PLACEMENT: dict[str, list[str]] = {}
for _suffix, _categories in _BELONGS.items():
    for _category in _categories:
        _PLACEMENT.setdefault(_category, []).append(_suffix)

_TCP: Protocol = "tcp"
_UDP: Protocol = "udp"
_ANY: Protocol = "any"


def zone_suffix(kind: str, vlan_role: str, unit_name: str) -> str:
    """The zone suffix (``ls``, ``mon``, ``img``...) a device of generator ``kind`` on ``vlan_role`` belongs to."""
    if vlan_role == "clinical":
        return "ls" if kind in _LS_KINDS else "lab" if kind in _POC_KINDS else "mon"
    if vlan_role == "it":
        return "apps" if kind == "server" else "biomed" if unit_name == BIOMED_UNIT else "ent"
    return _ROLE_SUFFIX[vlan_role]


@dataclass(frozen=True, slots=True)
class LegacyHost:
    """Mistake (c): the Windows 7 device the model addresses inside a pump zone."""

    index: int
    """Its :attr:`~wardwatch.simulate.SimDevice.index`."""
    ip: str
    hostname: str
    os: str
    device_type: str
    zone: str
    """The pump zone its address is in."""
    same_vlan: bool
    """True when it really shares a /24 with networked pumps (otherwise only the zone lists its address)."""


@dataclass(frozen=True, slots=True)
class SimNetwork:
    """The model; each rule's ``origin`` names the file it is written to (``network.yaml`` = the YAML only)."""

    model: NetworkModel
    legacy_host: LegacyHost | None
    """Mistake (c), or ``None`` when the hospital has no networked Windows 7 device at all."""
    mistakes: dict[str, str]
    """Mistake letter -> the zone or rule name that carries it."""


@dataclass(slots=True)
class _Run:
    """Consecutive host numbers of one /24 that belong to one zone suffix."""

    first: int
    last: int
    suffix: str


@dataclass(slots=True)
class _Block:
    """One /24 of one (site, unit, VLAN) and the runs of consecutive host numbers per zone suffix."""

    site_id: int
    unit_id: int
    vlan: int
    base: int
    runs: list[_Run]

    def suffixes(self) -> list[str]:
        return list(dict.fromkeys(r.suffix for r in self.runs))

    def cidrs(self, suffix: str) -> list[str]:
        if len(self.suffixes()) == 1:
            return [f"{ipaddress.IPv4Address(self.base)}/24"]
        out: list[str] = []
        for run in self.runs:
            if run.suffix == suffix:
                low, high = ipaddress.IPv4Address(self.base + run.first), ipaddress.IPv4Address(self.base + run.last)
                out += [str(n) for n in ipaddress.summarize_address_range(low, high)]
        return out

    def add(self, host: int, suffix: str) -> None:
        last = self.runs[-1] if self.runs else None
        if last is not None and last.suffix == suffix and last.last == host - 1:
            last.last = host
        else:
            self.runs.append(_Run(host, host, suffix))

    def move(self, host: int, suffix: str) -> None:
        """Give one host number to another suffix, splitting its run."""
        for i, run in enumerate(self.runs):
            if run.first <= host <= run.last:
                parts = [
                    _Run(run.first, host - 1, run.suffix),
                    _Run(host, host, suffix),
                    _Run(host + 1, run.last, run.suffix),
                ]
                self.runs[i : i + 1] = [p for p in parts if p.first <= p.last]
                return


@dataclass(frozen=True, slots=True)
class _Servers:
    """The addresses a site's devices talk to, chosen as :mod:`~wardwatch.simulate._traffic` chooses them."""

    dc: str
    engine: str
    files: str
    apps: str
    pacs: str


_Use = tuple[str, Protocol, int]
"""A service a device uses: (server role or ``internet``, protocol, port)."""


@dataclass(slots=True)
class _Scan:
    blocks: dict[int, _Block]
    legacy: list[SimDevice]
    servers: dict[int, list[str]]
    pacs: dict[int, str]
    uses: dict[tuple[int, str], Counter[_Use]]
    """(unit, zone suffix) -> what its devices use (how many of them), as the traffic has them do."""
    probes: dict[int, set[int]]
    """Site -> the TCP/UDP ports its directory server probes on the devices (SNMP 161, telnet 23, DICOM 104,
    SMB 445)."""
    device_uses: dict[int, tuple[str, set[_Use]]]
    """Windows 7 device index -> what it uses (the one picked for mistake (c) moves to the pump zone)."""
    smb_servers: dict[int, set[str]]
    """Site -> addresses of its devices that serve SMB (the directory server audits them on 445, except itself
    and the file server: see :meth:`~wardwatch.simulate._activity.Activity.smb_server`)."""


def _device_uses(identity: DeviceIdentity, remote: bool) -> tuple[set[_Use], set[int]]:
    """What a device's traffic does, mirroring :meth:`~wardwatch.simulate._traffic._Day._plan`: the services it
    uses (DNS and DHCP on every device) and the ports the directory server probes on it."""
    uses: set[_Use] = {("dc", _UDP, 53), ("dc", _UDP, 67)}
    probes: set[int] = set()
    if identity.dicom is not None:
        uses.add(("pacs", _TCP, 104))
        if identity.dicom.tls:
            uses.add(("pacs", _TCP, 2762))
        if identity.dicom.role == "scp":
            probes.add(104)
    if identity.hl7_application is not None and identity.hl7_message_type is not None:
        uses.add(("engine", _TCP, 2575))
    if identity.user_agent is not None:
        uses.add(("apps", _TCP, 80))
    if identity.tls_service is not None:
        uses.add(("apps", _TCP, 443))
    if identity.smb_dialects is not None:
        uses.add(("files", _TCP, 445))
    if identity.snmp_sys_descr is not None and identity.snmp_sys_object_id is not None:
        probes.add(161)
    if identity.telnet_banner is not None:
        probes.add(23)
    if remote:
        uses.add((INTERNET_ZONE, _TCP, 443))
    return uses, probes


def _scan(hospital: Hospital) -> _Scan:
    """One pass over the devices: the /24 blocks with their runs, servers and PACS, the Windows 7 devices."""
    catalog = {m.key: m for m in load_catalog()}
    unit_names = {u.unit_id: u.name for u in hospital.units}
    codes = {s.site_id: s.code for s in hospital.sites}
    found = _Scan({}, [], {}, {}, {}, {}, {}, {})
    remote_used: dict[int, int] = {}
    for device in iter_devices(hospital):
        if device.ip is None or device.vlan is None:
            continue
        model = catalog[device.model_key]
        value = int(ipaddress.IPv4Address(device.ip))
        base = value & ~0xFF
        if (base >> 8) & 0xFF >= _SERVER_BLOCK:
            raise ValueError(f"address plan reached {device.ip}, inside the reserved server blocks")
        block = found.blocks.setdefault(base, _Block(device.site_id, device.unit_id, device.vlan, base, []))
        suffix = zone_suffix(model.kind, model.vlan_role, unit_names[device.unit_id])
        block.add(value & 0xFF, suffix)
        identity = identity_for(device, codes[device.site_id], hospital.seed)
        if identity is not None:
            remote = identity.remote_sni is not None and identity.remote_address is not None
            remote = remote and remote_used.get(device.site_id, 0) < REMOTE_PER_SITE
            if remote:
                remote_used[device.site_id] = remote_used.get(device.site_id, 0) + 1
            uses, probes = _device_uses(identity, remote)
            found.uses.setdefault((device.unit_id, suffix), Counter()).update(uses)
            found.probes.setdefault(device.site_id, set()).update(probes)
            if identity.smb_server_dialect is not None:
                found.smb_servers.setdefault(device.site_id, set()).add(device.ip)
            if (device.os_name or "").startswith("Windows 7"):
                found.device_uses[device.index] = (suffix, uses)
        if (device.os_name or "").startswith("Windows 7"):
            found.legacy.append(device)
        servers = found.servers.setdefault(device.site_id, [])
        if model.kind == "server" and len(servers) < len(_SERVER_ROLES):
            servers.append(device.ip)
        elif model.kind == "pacs" and device.site_id not in found.pacs and identity and identity.dicom:
            found.pacs[device.site_id] = device.ip
    return found


def _site_servers(hospital: Hospital, found: _Scan) -> dict[int, _Servers]:
    """Each site's servers, with the traffic's fallbacks (the main site's, then synthetic ones on block 250)."""
    first = hospital.sites[0].site_id
    listed = {s: ips for s, ips in found.servers.items() if ips}
    main = listed.get(first) or next(iter(listed.values()), None)
    pacs = found.pacs.get(first) or next(iter(found.pacs.values()), None) or f"10.{first}.{_SERVER_BLOCK}.30"
    out: dict[int, _Servers] = {}
    for site in hospital.sites:
        own = listed.get(site.site_id) or main or [f"10.{site.site_id}.{_SERVER_BLOCK}.10"]
        roles = [own[i % len(own)] for i in range(len(_SERVER_ROLES))]
        out[site.site_id] = _Servers(roles[0], roles[1], roles[2], roles[3], found.pacs.get(site.site_id, pacs))
    return out


def _pick_legacy(blocks: dict[int, _Block], legacy: list[SimDevice], main_site: int) -> SimDevice | None:
    """The Windows 7 device for mistake (c): best one already on a pump /24, then one in a unit with pumps."""
    pump_units = {b.unit_id for b in blocks.values() if "ls" in b.suffixes()}

    def rank(device: SimDevice) -> tuple[int, int, int]:
        assert device.ip is not None  # noqa: S101 - _scan keeps networked devices only
        block = blocks[int(ipaddress.IPv4Address(device.ip)) & ~0xFF]
        same = device.vlan == VLANS["clinical"] and "ls" in block.suffixes()
        return (0 if same else 1 if device.unit_id in pump_units else 2, device.site_id != main_site, device.index)

    return min(legacy, key=rank, default=None)


class _Builder:
    """Collects zones and numbered rules."""

    def __init__(self, hospital: Hospital, blocks: dict[int, _Block]) -> None:
        self.hospital = hospital
        self.blocks = blocks
        self.codes = {s.site_id: s.code.lower() for s in hospital.sites}
        self.rule_list: list[Rule] = []
        self.zones: list[Zone] = []
        self.zone_names: set[str] = set()
        self.unit_cidrs: dict[tuple[int, str], list[str]] = {}
        for block in blocks.values():
            for suffix in block.suffixes():
                self.unit_cidrs.setdefault((block.unit_id, suffix), []).extend(block.cidrs(suffix))

    def unit_label(self, unit: Unit) -> str:
        """The unit's host-name prefix, with the site code in front on the main site too (``riv-icue``)."""
        main = self.hospital.sites[0].site_id
        return f"{self.codes[main]}-{unit.code}" if unit.site_id == main else unit.code

    def zone(self, site_id: int, suffix: str) -> str | None:
        name = f"{self.codes[site_id]}-{suffix}"
        return name if name in self.zone_names else None

    def rule(
        self,
        file: str,
        name: str,
        action: Action,
        source: Iterable[str],
        destination: Iterable[str],
        protocol: Protocol = _ANY,
        ports: Iterable[int] = (),
        description: str = "",
        *,
        per_port: bool = False,
    ) -> None:
        """Add a rule (none when a side is empty), or one rule per port with ``per_port``."""
        src, dst = tuple(source), tuple(destination)
        if not src or not dst:
            return
        ports = tuple(ports)
        if per_port and len(ports) > 1:  # one service per rule, as rule bases are usually written
            for port in ports:
                self.rule(file, f"{name}-{port}", action, src, dst, protocol, (port,), description)
            return
        spans = tuple(PortRange(p, p) for p in ports)
        self.rule_list.append(Rule(action, src, dst, protocol, spans, len(self.rule_list), file, name, description))

    def add_zones(self) -> None:
        per_site: dict[tuple[int, str], tuple[list[str], list[int]]] = {}
        for block in self.blocks.values():
            for suffix in block.suffixes():
                cidrs, vlans = per_site.setdefault((block.site_id, suffix), ([], []))
                cidrs += block.cidrs(suffix)
                if block.vlan not in vlans:
                    vlans.append(block.vlan)
        for site in self.hospital.sites:
            code = self.codes[site.site_id]
            extra: dict[str, tuple[str, int]] = {"apps": (f"10.{site.site_id}.{_SERVER_BLOCK}.0/24", VLANS["it"])}
            if site.site_id == self.hospital.sites[0].site_id:
                extra["biomed"] = (f"10.{site.site_id}.{_BIOMED_BLOCK}.0/24", _BIOMED_VLAN)
            guest = ipaddress.ip_network((int(GUEST_SPACE.network_address) + (site.site_id - 1) * 1024, 22))
            extra["guest"] = (str(guest), _GUEST_VLAN)
            for suffix, (kind, text, entry) in ZONE_SPECS.items():
                cidrs, vlans = per_site.get((site.site_id, suffix), ([], []))
                if suffix in extra:
                    cidrs, vlans = [*cidrs, extra[suffix][0]], sorted({*vlans, extra[suffix][1]})
                if suffix == "net":  # the gateway of every subnet the site's devices use
                    gateways = [b for b in self.blocks.values() if b.site_id == site.site_id]
                    cidrs = [f"{ipaddress.IPv4Address(b.base + 1)}/32" for b in gateways]
                    vlans = sorted({b.vlan for b in gateways})
                if cidrs:
                    self.zones.append(Zone(f"{code}-{suffix}", kind, tuple(cidrs), tuple(sorted(vlans)), site.name,
                                           f"{site.name}: {text}", entry))  # fmt: skip
        private = [ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]
        public: list[ipaddress.IPv4Network] = [ipaddress.IPv4Network("0.0.0.0/0")]
        for hole in private:
            public = [part for net in public for part in (net.address_exclude(hole) if hole.subnet_of(net) else [net])]
        self.zones.append(Zone(VENDOR_ZONE, "vendor-remote", (VENDOR_POOL,), (_VENDOR_VLAN,), None,
                               "Vendor remote access: the suppliers' VPN pool", True))  # fmt: skip
        self.zones.append(Zone(INTERNET_ZONE, "internet", tuple(str(n) for n in sorted(public)), (), None,
                               "The internet (every public IPv4 address)", True))  # fmt: skip
        self.zone_names = {z.name for z in self.zones}


def build_network(hospital: Hospital) -> SimNetwork:
    """The network model of ``hospital`` (one pass over its devices; memory grows with units, not devices)."""
    found = _scan(hospital)
    blocks, legacy = found.blocks, found.legacy
    main = hospital.sites[0].site_id
    chosen = _pick_legacy(blocks, legacy, main)
    same_vlan = False
    if chosen is not None and chosen.ip is not None:
        value = int(ipaddress.IPv4Address(chosen.ip))
        same_vlan = chosen.vlan == VLANS["clinical"] and "ls" in blocks[value & ~0xFF].suffixes()
        blocks[value & ~0xFF].move(value & 0xFF, "ls")
    nets = _site_servers(hospital, found)
    for site_id, addresses in found.smb_servers.items():
        if addresses - {nets[site_id].dc, nets[site_id].files}:
            found.probes.setdefault(site_id, set()).add(445)
    b = _Builder(hospital, blocks)
    b.add_zones()
    legacy_host = None
    if chosen is not None and chosen.ip is not None and chosen.hostname is not None:
        block = blocks[int(ipaddress.IPv4Address(chosen.ip)) & ~0xFF]
        legacy_host = LegacyHost(chosen.index, chosen.ip, chosen.hostname, chosen.os_name or "", chosen.device_type,
                                 f"{b.codes[block.site_id]}-ls", same_vlan)  # fmt: skip
    if chosen is not None:  # its services are opened where the model lists it
        suffix, moved = found.device_uses.get(chosen.index, ("ls", set()))
        found.uses.setdefault((chosen.unit_id, suffix), Counter()).subtract(moved)
        found.uses.setdefault((chosen.unit_id, "ls"), Counter()).update(moved)
    _edge_rules(b)
    _core_rules(b, nets, found.uses, found.probes)
    _dist_rules(b, nets, found.uses)
    conduits = _conduits(b, nets, found.uses, found.probes)
    placement = tuple(
        PlacementRule(category, zones)
        for category, suffixes in _PLACEMENT.items()
        if (zones := tuple(z.name for z in b.zones if z.name.rsplit("-", 1)[-1] in suffixes))
    )
    model = NetworkModel(tuple(b.zones), tuple(b.rule_list), "deny", "allow", conduits, placement)
    code = b.codes[main]
    mistakes = {"a": f"{code}-img", "b": "vendor-any-any", "d": "guest-to-enterprise-smb"}
    if legacy_host is not None:
        mistakes["c"] = legacy_host.zone
    return SimNetwork(model, legacy_host, mistakes)


_SERVICES = {23: "telnet", 53: "dns", 67: "dhcp", 80: "web", 104: "dicom", 123: "ntp", 161: "snmp", 443: "https",
             445: "smb", 2575: "hl7", 2762: "dicom-tls"}  # fmt: skip
_INFRA: frozenset[_Use] = frozenset({("dc", _UDP, 53), ("dc", _UDP, 67)})
"""DNS and DHCP to the directory server: every device uses them, one site rule allows them."""
_DIST_SUFFIXES = ("rx", "voice", "bldg", "ent", "biomed", "apps")
"""Zones whose conduits the distribution ACL carries (the clinical zones are the core firewall's)."""


def _grouped(uses: Iterable[_Use]) -> dict[tuple[str, Protocol], list[int]]:
    """Uses by (role, protocol), ports sorted; DNS/DHCP to the directory server left to the site rule."""
    out: dict[tuple[str, Protocol], list[int]] = {}
    for role, protocol, port in sorted(set(uses) - _INFRA):
        out.setdefault((role, protocol), []).append(port)
    return out


def _used(uses: dict[tuple[int, str], Counter[_Use]], unit_id: int, suffix: str) -> set[_Use]:
    return {use for use, n in uses.get((unit_id, suffix), Counter()).items() if n > 0}


def _target(role: str, net: _Servers) -> str:
    return INTERNET_ZONE if role == INTERNET_ZONE else str(getattr(net, role))


def _edge_rules(b: _Builder) -> None:
    """The edge ASA, one section per ingress: vendor remote access, guest Wi-Fi, enterprise egress, internet."""
    main = b.hospital.sites[0].site_id
    sites = [s.site_id for s in b.hospital.sites]
    b.rule(EDGE_ASA, "vendor-any-any", "allow", [VENDOR_ZONE], [ANY],
           description="temporary vendor access that stayed: any destination, any service")  # fmt: skip
    for s in sites:
        if img := b.zone(s, "img"):
            b.rule(EDGE_ASA, f"{b.codes[s]}-vendor-to-imaging", "allow", [VENDOR_ZONE], [img], _TCP,
                   (22, 443, 3389, 5900), "vendor remote service of the modalities")  # fmt: skip
    for s in sites:
        if not (guest := b.zone(s, "guest")):
            continue
        if s == main and (ent := b.zone(s, "ent")):
            b.rule(EDGE_ASA, "guest-to-enterprise-smb", "allow", [guest], [ent], _TCP, (445,),
                   "conference-room file share opened to guest Wi-Fi")  # fmt: skip
        b.rule(EDGE_ASA, f"{b.codes[s]}-guest-web", "allow", [guest], [INTERNET_ZONE], _TCP, (80, 443))
        b.rule(EDGE_ASA, f"{b.codes[s]}-guest-dns", "allow", [guest], [INTERNET_ZONE], _UDP, (53,))
        b.rule(EDGE_ASA, f"{b.codes[s]}-guest-deny", "deny", [guest], [ANY], description="guest isolation")
    for s in sites:
        if ent := b.zone(s, "ent"):
            b.rule(EDGE_ASA, f"{b.codes[s]}-enterprise-web", "allow", [ent], [INTERNET_ZONE], _TCP, (80, 443))
    b.rule(EDGE_ASA, "internet-deny", "deny", [INTERNET_ZONE], [ANY], description="no inbound from the internet")


def _unit_rules(b: _Builder, file: str, unit: Unit, suffix: str, net: _Servers, uses: set[_Use]) -> None:
    """One allow per service the unit's devices of one zone use (the traffic's), one rule per port."""
    u, cidrs = b.unit_label(unit), b.unit_cidrs.get((unit.unit_id, suffix), [])
    for (role, protocol), ports in _grouped(uses).items():
        b.rule(file, f"{u}-{suffix}-to-{role}", "allow", cidrs, [_target(role, net)], protocol, ports,
               f"{ZONE_SPECS[suffix][0]} to {role}: {', '.join(_SERVICES.get(p, str(p)) for p in ports)}",
               per_port=True)  # fmt: skip


def _core_rules(b: _Builder, nets: dict[int, _Servers], uses: dict[tuple[int, str], Counter[_Use]],
                probes: dict[int, set[int]]) -> None:  # fmt: skip
    """The core firewall: site services (DNS/DHCP/NTP, the DHCP relay on the gateways, the directory server's
    probes), then per unit the services its clinical zones use and a closing deny per zone."""
    for site in b.hospital.sites:
        s, net, c = site.site_id, nets[site.site_id], b.codes[site.site_id]
        site_net = f"10.{s}.0.0/16"
        b.rule(CORE_FW, f"{c}-dns-dhcp-ntp", "allow", [site_net], [net.dc], _UDP, (53, 67, 123),
               "site services on the directory server")  # fmt: skip
        if gateways := b.zone(s, "net"):
            b.rule(CORE_FW, f"{c}-dhcp-relay", "allow", [site_net], [gateways], _UDP, (67,),
                   "DHCP through the relay on each subnet's gateway")  # fmt: skip
        for port in sorted(probes.get(s, ())):
            b.rule(CORE_FW, f"{c}-probe-{_SERVICES.get(port, port)}", "allow", [net.dc], [site_net],
                   _UDP if port == 161 else _TCP, (port,), "the directory server's monitoring probes")  # fmt: skip
        for unit in b.hospital.units:
            if unit.site_id != s:
                continue
            for suffix in _CLINICAL:
                if (unit.unit_id, suffix) in b.unit_cidrs:
                    _unit_rules(b, CORE_FW, unit, suffix, net, _used(uses, unit.unit_id, suffix))
            for suffix in _CLINICAL:  # to every other zone: inside its own zone the intra-zone default decides
                denied = b.unit_cidrs.get((unit.unit_id, suffix), [])
                b.rule(CORE_FW, f"{b.unit_label(unit)}-{suffix}-deny", "deny", denied,
                       _elsewhere(b, site, f"{c}-{suffix}"), description="drop the rest")  # fmt: skip


def _elsewhere(b: _Builder, site: Site, own: str) -> list[str]:
    """Everything but zone ``own``: its site's other zones, every other site's /16 and the zones of no site."""
    here = [z.name for z in b.zones if z.site == site.name and z.name != own]
    nowhere = [z.name for z in b.zones if z.site is None]
    others = [f"10.{other.site_id}.0.0/16" for other in b.hospital.sites if other.site_id != site.site_id]
    guests = [z.name for z in b.zones if z.site not in (None, site.name) and z.kind == "guest"]
    return here + others + guests + nowhere


def _dist_rules(b: _Builder, nets: dict[int, _Servers], uses: dict[tuple[int, str], Counter[_Use]]) -> None:
    """The distribution ACL: the other zones to the applications, biomed to the devices it manages."""
    main = b.hospital.sites[0].site_id
    for site in b.hospital.sites:
        s = site.site_id
        biomed = b.zone(s, "biomed") or b.zone(main, "biomed")
        managed = [z for suffix in _CLINICAL if (z := b.zone(s, suffix))]
        if biomed:
            b.rule(DIST_IOS, f"{b.codes[s]}-biomed-manage", "allow", [biomed], managed, _TCP, (22, 80, 443),
                   "biomed management of the site's devices")  # fmt: skip
    for unit in b.hospital.units:
        for suffix in _DIST_SUFFIXES:
            if (unit.unit_id, suffix) in b.unit_cidrs:
                _unit_rules(b, DIST_IOS, unit, suffix, nets[unit.site_id], _used(uses, unit.unit_id, suffix))


def _zone_of(zones: Iterable[Zone], address: str) -> str | None:
    ip = ipaddress.IPv4Address(address)
    for zone in zones:
        if any(ip in ipaddress.IPv4Network(n) for n in zone.subnets):
            return zone.name
    return None


def _conduits(b: _Builder, nets: dict[int, _Servers], uses: dict[tuple[int, str], Counter[_Use]],
              probes: dict[int, set[int]]) -> tuple[Conduit, ...]:  # fmt: skip
    """The intended zone-to-zone services of every site: what the rules are written for, to the zones of the
    servers the site really uses (a small site uses the main site's)."""
    out: dict[tuple[str, str, Protocol], set[int]] = {}
    texts: dict[tuple[str, str, Protocol], str] = {}

    def add(src: str | None, dst: str | None, protocol: Protocol, ports: Iterable[int], text: str) -> None:
        if src and dst and src != dst:
            out.setdefault((src, dst, protocol), set()).update(ports)
            texts.setdefault((src, dst, protocol), text)

    where: dict[str, str | None] = {}

    def zone_of(address: str) -> str | None:
        if address not in where:
            where[address] = _zone_of(b.zones, address)
        return where[address]

    main = b.hospital.sites[0].site_id
    site_uses: dict[tuple[int, str], set[_Use]] = {}
    site_of = {u.unit_id: u.site_id for u in b.hospital.units}
    for unit_id, suffix in uses:
        site_uses.setdefault((site_of[unit_id], suffix), set()).update(_used(uses, unit_id, suffix))
    for site in b.hospital.sites:
        s, net = site.site_id, nets[site.site_id]
        z = {suffix: b.zone(s, suffix) for suffix in ZONE_SPECS}
        dc = zone_of(net.dc)
        for suffix, zone in z.items():
            if zone and suffix != "guest":  # every internal zone uses the site's infrastructure
                add(zone, dc, _UDP, (53, 67, 123), "DNS, DHCP and NTP from the site's directory server")
                add(zone, z["net"], _UDP, (67,), "DHCP through the gateway's relay")
                for (role, protocol), ports in _grouped(site_uses.get((s, suffix), set())).items():
                    target = INTERNET_ZONE if role == INTERNET_ZONE else zone_of(_target(role, net))
                    add(zone, target, protocol, ports, f"{ZONE_SPECS[suffix][0]} to its {role} server")
                for port in sorted(probes.get(s, ())):
                    add(dc, zone, _UDP if port == 161 else _TCP, (port,), "the directory server's probes")
        add(z["ent"], INTERNET_ZONE, _TCP, (80, 443), "web browsing through the edge")
        add(z["guest"], INTERNET_ZONE, _TCP, (80, 443), "guest web browsing")
        add(VENDOR_ZONE, z["img"], _TCP, (22, 443, 3389), "vendor remote service of the modalities")
        biomed = b.zone(s, "biomed") or b.zone(main, "biomed")
        for suffix in _CLINICAL:
            add(biomed, z[suffix], _TCP, (22, 80, 443), "biomed management of the devices")
    return tuple(
        Conduit(src, dst, protocol, tuple(PortRange(p, p) for p in sorted(ports)), texts[(src, dst, protocol)])
        for (src, dst, protocol), ports in out.items()
    )


def write_network(hospital: Hospital, out_dir: Path) -> list[Path]:
    """Write ``network/`` (the YAML model and the three configs) under ``out_dir``; return the paths."""
    network = build_network(hospital)
    folder = out_dir / "network"
    folder.mkdir(parents=True, exist_ok=True)
    texts = {
        NETWORK_YAML: render_yaml(network.model, _header(hospital, network)),
        CORE_FW: render_iptables(network.model, CORE_FW),
        EDGE_ASA: render_asa(network.model, EDGE_ASA),
        DIST_IOS: render_ios(network.model, DIST_IOS),
    }
    paths: list[Path] = []
    for name, text in texts.items():
        path = folder / name
        path.write_text(text, encoding="utf-8", newline="\n")
        paths.append(path)
    return paths


def _header(hospital: Hospital, network: SimNetwork) -> list[str]:
    legacy = network.legacy_host
    lines = [
        f"Network model of the Wardwatch sample hospital (size {hospital.size}, seed {hospital.seed}).",
        "Generated by `wardwatch simulate`; the configs next to it hold the same rules.",
        "Deliberate mistakes:",
        f"(a) flat imaging VLAN: PACS and imaging workstations share the modality subnets ({network.mistakes['a']})",
        "(b) vendor-any-any: the vendor VPN pool reaches everything on any service",
        "(d) guest-to-enterprise-smb: guest Wi-Fi reaches the enterprise zone on 445",
    ]
    if legacy is not None:
        where = "on the pump VLAN" if legacy.same_vlan else "listed in the pump zone"
        lines.insert(5, f"(c) {legacy.hostname} ({legacy.ip}, {legacy.os} {legacy.device_type}) {where} {legacy.zone}")
    return lines
