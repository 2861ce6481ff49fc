"""Render devices as the rows of a messy CMMS export, with the duplicates and noise real exports have."""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from wardwatch.simulate._devices import iter_devices
from wardwatch.simulate._model import Hospital, SimDevice

#: Column headers of the CMMS export, in order.
CMMS_HEADERS: tuple[str, ...] = (
    "Equipment #", "Description", "Manufacturer", "Model", "Serial #", "Site", "Building", "Department",
    "Location", "MAC Address", "IP Address", "Host Name", "VLAN", "Operating System", "OS Version",
    "Firmware Version", "Software Version", "Responsible Group", "Status", "Install Date", "End of Support",
    "End of Life", "Risk Level", "Patient Connected", "PHI", "High Risk",
)  # fmt: skip

#: Placeholders a CMMS uses for "don't know".
PLACEHOLDERS: tuple[str, ...] = ("N/A", "unknown", "TBD", "-")

#: How vendors get spelled by people typing into a CMMS (canonical name first is implied).
VENDOR_SPELLINGS: dict[str, tuple[str, ...]] = {
    "GE HealthCare": ("GE Medical Systems", "GE HEALTHCARE", "GE Healthcare", "Datex-Ohmeda"),
    "Philips": ("Philips Medical Systems", "Philips Healthcare", "PHILIPS"),
    "Siemens Healthineers": ("SIEMENS", "Siemens Healthcare", "Siemens Medical Solutions"),
    "Baxter": ("Baxter Healthcare Corp.", "Baxter Healthcare", "BAXTER"),
    "BD": ("Becton Dickinson", "Becton, Dickinson and Company", "BD Medical"),
    "ICU Medical": ("ICU Medical, Inc.", "ICU MEDICAL"),
    "B. Braun": ("B.Braun", "B Braun", "B. Braun Medical Inc."),
    "Medtronic": ("Medtronic, Inc.", "MEDTRONIC", "Medtronic Inc"),
    "Drägerwerk": ("Draeger", "Dräger", "Draeger Medical"),
    "Mindray": ("Mindray DS USA", "MINDRAY"),
    "Nihon Kohden": ("NIHON KOHDEN", "Nihon Kohden America"),
    "Spacelabs Healthcare": ("Spacelabs", "Spacelabs Medical"),
    "Fresenius": ("Fresenius Medical Care", "FRESENIUS"),
    "Canon Medical Systems": ("Toshiba Medical Systems", "Canon Medical"),
    "Fujifilm": ("FUJIFILM", "Fujifilm Medical Systems"),
    "Hologic": ("Hologic, Inc.", "HOLOGIC"),
    "Stryker": ("Stryker Medical", "Physio-Control"),
    "Hillrom": ("Hill-Rom", "HILL-ROM"),
    "Masimo": ("Masimo Corporation", "MASIMO"),
    "Welch Allyn": ("Welch Allyn, Inc.", "WELCH ALLYN"),
    "ZOLL Medical": ("Zoll", "ZOLL"),
    "Abbott": ("Abbott Laboratories", "Abbott Diagnostics"),
    "Roche Diagnostics": ("Roche", "ROCHE"),
    "Beckman Coulter": ("Beckman Coulter, Inc.", "BECKMAN COULTER"),
    "Carestream": ("Carestream Health", "CARESTREAM"),
    "Agfa HealthCare": ("Agfa Healthcare", "AGFA"),
    "Varian": ("Varian Medical Systems",),
    "Elekta": ("Elekta AB",),
    "Getinge": ("Maquet", "MAQUET"),
    "Hamilton Medical": ("Hamilton Medical AG", "HAMILTON MEDICAL"),
    "Ascom": ("Ascom Wireless Solutions", "ASCOM"),
    "Vocera": ("Vocera Communications",),
    "Cisco": ("Cisco Systems", "CISCO"),
    "Dell": ("Dell Inc.", "DELL"),
    "HP": ("Hewlett-Packard", "HP Inc."),
    "Lenovo": ("LENOVO",),
    "Zebra Technologies": ("Zebra", "ZEBRA"),
    "Smiths Medical": ("Smiths Medical ASD", "SMITHS MEDICAL"),
    "Hospira": ("Hospira, Inc.", "HOSPIRA"),
    "Natus Medical": ("Natus", "XLTEK"),
    "Edwards Lifesciences": ("Edwards", "Edwards Lifesciences LLC"),
    "Boston Scientific": ("Boston Scientific Corp.", "BSC"),
    "Intuitive Surgical": ("Intuitive", "Intuitive Surgical, Inc."),
    "Sysmex": ("Sysmex America", "SYSMEX"),
    "Bio-Rad": ("Bio-Rad Laboratories", "BIO-RAD"),
}

_STATUS: dict[str, tuple[str, ...]] = {
    "in-service": ("Active", "Active", "Active", "In Service", "ACTIVE"),
    "in-repair": ("In Repair", "Out for Repair", "Down"),
    "in-storage": ("Spare", "In Storage", "Inactive"),
}
_YES = ("Yes", "Yes", "Y", "YES")
_NO = ("No", "No", "N", "NO")


@dataclass(frozen=True, slots=True)
class CmmsRow:
    """One data row of the export, with what it truly is."""

    row_number: int
    """Spreadsheet row number (the header is row 1)."""
    device: SimDevice
    """The physical device the row describes."""
    is_duplicate: bool
    """True for the second listing of a device."""
    cells: tuple[str, ...]
    """Cell values in :data:`CMMS_HEADERS` order."""


class _Mess:
    """The deterministic noise of a human-maintained CMMS."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def blank_or(self, value: str | None, p_missing: float) -> str:
        rng = self.rng
        if value is None or rng.random() < p_missing:
            return "" if value is None or rng.random() < 0.7 else rng.choice(PLACEHOLDERS)
        return value + " " if rng.random() < 0.02 else value

    def mac(self, mac: str | None) -> str:
        rng = self.rng
        if mac is None:
            return "N/A" if rng.random() < 0.1 else ""
        if rng.random() < 0.25:
            return rng.choice(("", "", "", "", "unknown", "TBD"))
        digits = mac.replace(":", "")
        style = rng.random()
        if style < 0.45:
            return mac
        if style < 0.7:
            return "-".join(digits[i : i + 2] for i in range(0, 12, 2)).upper()
        if style < 0.85:
            return ".".join(digits[i : i + 4] for i in range(0, 12, 4))
        return digits.upper()

    def date(self, value: date | None, p_missing: float = 0.05) -> str:
        rng = self.rng
        if value is None or rng.random() < p_missing:
            return ""
        if rng.random() < 0.6:
            return value.isoformat()
        return f"{value.month:02d}/{value.day:02d}/{value.year}"

    def flag(self, value: bool) -> str:
        rng = self.rng
        if rng.random() < 0.08:
            return ""
        return rng.choice(_YES if value else _NO)

    def vendor(self, canonical: str, p_variant: float) -> str:
        spellings = VENDOR_SPELLINGS.get(canonical, ())
        if spellings and self.rng.random() < p_variant:
            return self.rng.choice(spellings)
        return canonical


def _cells(device: SimDevice, hospital: Hospital, mess: _Mess, *, asset_tag: str, vendor: str) -> list[str]:
    rng = mess.rng
    site = hospital.sites[device.site_id - 1]
    unit = hospital.units[device.unit_id - 1]
    description = device.description.upper() if rng.random() < 0.1 else device.description
    vlan = ""
    if device.vlan is not None and rng.random() < 0.6:
        vlan = f"VLAN {device.vlan}" if rng.random() < 0.2 else str(device.vlan)
    return [
        asset_tag,
        description,
        vendor,
        mess.blank_or(device.model, 0.0),
        device.serial,
        site.name,
        mess.blank_or(unit.building, 0.03),
        unit.name,
        mess.blank_or(device.location, 0.05),
        mess.mac(device.mac),
        mess.blank_or(device.ip, 0.35),
        mess.blank_or(device.hostname, 0.4),
        vlan,
        mess.blank_or(device.os_name, 0.15),
        mess.blank_or(device.os_version, 0.25),
        mess.blank_or(device.firmware_version, 0.2),
        mess.blank_or(device.software_version, 0.2),
        device.responsible_group,
        rng.choice(_STATUS[device.status]),
        mess.date(device.install_date),
        mess.date(device.end_of_support, 0.3),
        mess.date(device.end_of_life, 0.3),
        device.risk_level.upper() if rng.random() < 0.1 else device.risk_level,
        mess.flag(device.patient_connected),
        mess.flag(device.phi),
        mess.flag(device.high_risk),
    ]


def _retyped(tag: str, rng: random.Random, number: int) -> str:
    """The same device typed again: case and whitespace drift, or a new tag after a re-tag."""
    choice = rng.random()
    if choice < 0.4:
        return f" {tag.lower()}"
    if choice < 0.7:
        return f"{tag} "
    prefix = tag.split("-", 1)[0]
    return f"{prefix}-{9_000_000 + number:07d}"


def iter_rows(hospital: Hospital) -> Iterator[CmmsRow]:
    """Yield the export's data rows in file order; duplicate listings trail their original by a few rows."""
    mess = _Mess(random.Random(f"{hospital.seed}:cmms"))  # noqa: S311 - simulation, not security
    rng = mess.rng
    duplicates = set(hospital.duplicate_devices)
    # (emit after this many primary rows, device index, device, cells); the unique index breaks ties
    pending: list[tuple[int, int, SimDevice, list[str]]] = []
    row_number = 1

    def flush(upto: int) -> Iterator[CmmsRow]:
        nonlocal row_number
        while pending and pending[0][0] <= upto:
            _, _, device, cells = heapq.heappop(pending)
            row_number += 1
            yield CmmsRow(row_number, device, True, tuple(cells))

    for primaries, device in enumerate(iter_devices(hospital), start=1):
        tag = device.asset_tag + (" " if rng.random() < 0.02 else "")
        cells = _cells(device, hospital, mess, asset_tag=tag, vendor=mess.vendor(device.manufacturer, 0.2))
        row_number += 1
        yield CmmsRow(row_number, device, False, tuple(cells))
        if device.index in duplicates:
            dup_tag = _retyped(device.asset_tag, rng, device.index)
            dup = _cells(device, hospital, mess, asset_tag=dup_tag, vendor=mess.vendor(device.manufacturer, 0.6))
            heapq.heappush(pending, (primaries + rng.randint(3, 400), device.index, device, dup))
        yield from flush(primaries)
    yield from flush(1 << 62)
