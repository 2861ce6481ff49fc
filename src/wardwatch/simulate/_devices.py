"""Draw the devices of a planned hospital, one at a time, deterministically."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date

from wardwatch.simulate._catalog import CatalogModel, models_by_kind
from wardwatch.simulate._identity import SMB1_HARDENED_EVERY, is_legacy_windows
from wardwatch.simulate._model import Hospital, SimDevice

#: VLAN id of each network function (the same on every site; the site is the second IP octet).
VLANS: dict[str, int] = {
    "clinical": 20,
    "imaging": 40,
    "lab": 50,
    "pharmacy": 60,
    "voice": 70,
    "facilities": 80,
    "it": 100,
}

#: Probability that a device of a site's type comes from the family the site standardised on.
_PREFERRED_FAMILY_SHARE = 0.8
#: Fixed "today" of the simulation, so output never depends on the clock.
TODAY = date(2025, 1, 1)
_HOSTS_PER_SUBNET = 240
# An odd multiplier makes i -> (i * _MIX + salt) mod 2**24 a bijection: unique MAC suffixes per OUI.
_MIX = 0x9E3779
_SERIAL_MOD = 99_999_989  # prime, so i -> (i * _SERIAL_MUL + salt) mod it is a bijection
_SERIAL_MUL = 48_271

# Imaging and therapy equipment lives in named rooms rather than beds (keyed by generator kind).
_ROOMS: dict[str, str] = {
    "ct": "CT Room",
    "mri": "MRI Suite",
    "xray": "X-Ray Room",
    "mammography": "Mammo Room",
    "ultrasound": "US Room",
    "linac": "Vault",
    "pacs": "Data Center Rack",
    "server": "Data Center Rack",
    "network_switch": "IDF",
}

_GROUPS: dict[str, tuple[str, ...]] = {
    "clinical": ("Biomed", "Clinical Engineering"),
    "imaging": ("Imaging Engineering", "Clinical Engineering"),
    "lab": ("Lab IT", "Clinical Engineering"),
    "pharmacy": ("Pharmacy IT", "Biomed"),
    "voice": ("IT Telecom",),
    "facilities": ("Facilities", "Biomed"),
    "it": ("IT Desktop Support", "IT Network"),
}


def _pick_model(rng: random.Random, models: tuple[CatalogModel, ...], family: str) -> CatalogModel:
    pool = models
    if rng.random() < _PREFERRED_FAMILY_SHARE:
        pool = tuple(m for m in models if m.family == family) or models
    return rng.choices(pool, weights=[m.weight for m in pool])[0]


def _version(rng: random.Random, versions: tuple[str, ...]) -> str | None:
    return rng.choice(versions) if versions else None


class _Network:
    """Per-site address book: /24 blocks handed out in order, unique MACs per OUI."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._next_block: dict[int, int] = {}
        self._blocks: dict[tuple[int, int, int], tuple[int, int]] = {}
        self._oui_next: dict[str, int] = {}
        self._oui_salt: dict[str, int] = {}

    def ip(self, site_id: int, unit_id: int, vlan: int) -> str:
        key = (site_id, unit_id, vlan)
        block, used = self._blocks.get(key, (-1, _HOSTS_PER_SUBNET))
        if used >= _HOSTS_PER_SUBNET:
            block = self._next_block.get(site_id, 0)
            self._next_block[site_id] = block + 1
            used = 0
        self._blocks[key] = (block, used + 1)
        return f"10.{site_id}.{block}.{used + 10}"

    def mac(self, oui: str) -> str:
        if oui not in self._oui_salt:
            self._oui_salt[oui] = self._rng.getrandbits(24)
        n = self._oui_next.get(oui, 0)
        self._oui_next[oui] = n + 1
        suffix = (n * _MIX + self._oui_salt[oui]) % (1 << 24)
        tail = f"{suffix:06x}"
        return f"{oui.replace('-', ':').lower()}:{tail[0:2]}:{tail[2:4]}:{tail[4:6]}"


def iter_devices(hospital: Hospital) -> Iterator[SimDevice]:
    """Yield every physical device of ``hospital``, unit by unit, always in the same order and values.

    Memory stays small whatever the size: nothing is kept but per-site address counters.
    """
    rng = random.Random(f"{hospital.seed}:devices")  # noqa: S311 - simulation, not security
    by_kind = models_by_kind()
    network = _Network(rng)
    tag_number = 100_000 + rng.randrange(50_000)
    serial_salt = rng.randrange(_SERIAL_MOD)
    host_counters: dict[tuple[int, str], int] = {}
    units = {u.unit_id: u for u in hospital.units}
    families = [dict(f) for f in hospital.site_families]
    index = 0
    legacy_windows = 0  # networked end-of-support Windows devices so far: the 2nd, 7th, 12th... have SMBv1 off
    for unit_plan in hospital.plans:
        unit = units[unit_plan.unit_id]
        unit_size = sum(c for _, c in unit_plan.type_counts)
        places = max(4, unit_size // 5)  # about five devices per bed or room
        for kind, count in unit_plan.type_counts:
            models = by_kind[kind]
            family = families[unit.site_id - 1][kind]
            for _ in range(count):
                model = _pick_model(rng, models, family)
                tag_number += 1 + (rng.random() < 0.2) * rng.randrange(1, 40)
                prefix = "BME" if model.is_medical else "IT"
                serial_n = (index * _SERIAL_MUL + serial_salt) % _SERIAL_MOD
                letters = "".join(c for c in model.model.upper() if c.isalnum())[:3]
                mac = ip = hostname = None
                vlan = None
                if model.networked:
                    vlan = VLANS[model.vlan_role]
                    mac = network.mac(rng.choice(model.ouis))
                    ip = network.ip(unit.site_id, unit.unit_id, vlan)
                    counter_key = (unit.unit_id, model.host_abbr)
                    host_counters[counter_key] = host_counters.get(counter_key, 0) + 1
                    hostname = f"{unit.code}-{model.host_abbr}-{host_counters[counter_key]:03d}"
                smb1_disabled = False
                if model.networked and any(is_legacy_windows(model.os, v) for v in model.os_versions or (None,)):
                    smb1_disabled = legacy_windows % SMB1_HARDENED_EVERY == 1
                    legacy_windows += 1
                install_year = rng.randint(max(model.release_year, 2004), TODAY.year - 1)
                status = "in-service"
                if unit.name == "Biomed Shop":
                    status = rng.choice(("in-repair", "in-storage", "in-repair"))
                elif rng.random() < 0.03:
                    status = rng.choice(("in-repair", "in-storage"))
                yield SimDevice(
                    index=index,
                    asset_tag=f"{prefix}-{tag_number:06d}",
                    serial=f"{letters}{serial_n:08d}",
                    model_key=model.key,
                    manufacturer=model.manufacturer,
                    model=model.model,
                    description=model.description,
                    device_type=model.device_type,
                    is_medical=model.is_medical,
                    fda_product_code=model.fda_product_code,
                    site_id=unit.site_id,
                    unit_id=unit.unit_id,
                    location=f"{_ROOMS.get(kind, unit.location_prefix)} {rng.randint(1, places)}",
                    networked=model.networked,
                    mac=mac,
                    ip=ip,
                    hostname=hostname,
                    vlan=vlan,
                    os_name=model.os,
                    os_version=_version(rng, model.os_versions),
                    firmware_version=_version(rng, model.firmware_versions),
                    software_version=_version(rng, model.software_versions),
                    responsible_group=rng.choice(_GROUPS[model.vlan_role]),
                    status=status,
                    install_date=date(install_year, rng.randint(1, 12), rng.randint(1, 28)),
                    end_of_support=model.end_of_support,
                    end_of_life=model.end_of_life,
                    risk_level=model.risk_level,
                    patient_connected=model.patient_connected,
                    phi=model.phi,
                    high_risk=model.high_risk,
                    smb1_disabled=smb1_disabled,
                )
                index += 1
