"""Plan a hospital: sites, buildings, units and how many devices of each type every unit gets."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from wardwatch.simulate._catalog import models_by_kind
from wardwatch.simulate._model import SIZES, Hospital, Site, Size, Unit, UnitPlan

#: Share of devices the CMMS lists twice.
DUPLICATE_SHARE = 0.03

_SITE_NAMES: tuple[str, ...] = (
    "Riverside", "Lakeview", "Northgate", "Cedar Hills", "Bayshore", "Pinecrest", "Harbor", "Westbrook",
    "Maplewood", "Fairmont", "Oak Valley", "Summit", "Brookfield", "Elmhurst", "Kingsport", "Granite Falls",
    "Mesa Verde", "Ashland", "Dover", "Quarry Point", "Juniper", "Ironwood", "Stonebridge", "Vista",
    "Yarrow Creek", "Canyon", "Everett", "Hollister", "Tamarack", "Union", "Willow Park", "Sagebrush",
    "Pacifica", "Lindon", "Marion", "Newport", "Rockford", "Sheridan", "Trenton", "Zephyr Cove",
)  # fmt: skip

_HOSPITAL_BUILDINGS = ("Tower A", "Tower B", "Pavilion", "Support Services")
_OUTPATIENT_BUILDINGS = ("Medical Office Building", "Clinic Pavilion")


@dataclass(frozen=True, slots=True)
class _UnitTemplate:
    name: str
    code: str
    location_prefix: str
    building: int
    weight: float
    mix: Mapping[str, float]
    """Relative share of each generator kind (:attr:`~wardwatch.simulate.CatalogModel.kind`), not a taxonomy slug."""


_ICU = {
    "infusion_pump": 14, "syringe_pump": 6, "pca_pump": 2, "patient_monitor": 12, "ventilator": 6,
    "hemodynamic_monitor": 2, "crrt": 1, "pulse_oximeter": 2, "smart_bed": 8, "defibrillator": 1,
    "central_station": 1, "infusion_gateway": 1, "dispensing": 1, "glucose_meter": 2, "poc_analyzer": 1,
    "ecg": 1, "phone": 5, "nurse_call": 1, "workstation": 6, "printer": 1, "access_point": 2,
}  # fmt: skip
_WARD = {
    "infusion_pump": 10, "pca_pump": 4, "patient_monitor": 4, "telemetry": 6, "vital_signs_monitor": 6,
    "pulse_oximeter": 2, "smart_bed": 10, "defibrillator": 1, "aed": 1, "central_station": 1,
    "dispensing": 2, "glucose_meter": 3, "ecg": 1, "phone": 6, "nurse_call": 1, "workstation": 8,
    "printer": 2, "mobile_computer": 2, "access_point": 2,
}  # fmt: skip
_ED = {
    "infusion_pump": 10, "patient_monitor": 10, "ventilator": 1, "defibrillator": 2, "vital_signs_monitor": 4,
    "smart_bed": 4, "dispensing": 2, "glucose_meter": 2, "poc_analyzer": 2, "ecg": 2, "xray": 1,
    "ultrasound": 1, "phone": 6, "nurse_call": 1, "workstation": 10, "printer": 2, "access_point": 2,
}  # fmt: skip
_OR = {
    "infusion_pump": 12, "syringe_pump": 6, "anesthesia": 6, "patient_monitor": 6, "electrosurgical": 4,
    "surgical_robot": 1, "defibrillator": 1, "dispensing": 3, "ultrasound": 1, "xray": 1, "phone": 3,
    "workstation": 6, "printer": 1, "access_point": 1,
}  # fmt: skip
_PACU = {
    "infusion_pump": 12, "pca_pump": 6, "patient_monitor": 10, "pulse_oximeter": 2, "smart_bed": 6,
    "dispensing": 1, "glucose_meter": 1, "phone": 3, "nurse_call": 1, "workstation": 4, "access_point": 1,
}  # fmt: skip
_CARDIO = {
    "infusion_pump": 10, "telemetry": 12, "patient_monitor": 4, "central_station": 2, "ecg": 4,
    "programmer": 1, "defibrillator": 2, "smart_bed": 6, "ultrasound": 1, "phone": 4, "nurse_call": 1,
    "workstation": 6, "printer": 1, "access_point": 1,
}  # fmt: skip
_ONCO = {
    "infusion_pump": 12, "syringe_pump": 3, "vital_signs_monitor": 4, "dispensing": 2, "linac": 0.6,
    "phone": 2, "workstation": 5, "printer": 1, "access_point": 1,
}  # fmt: skip
_DIALYSIS = {
    "dialysis": 20, "infusion_pump": 3, "vital_signs_monitor": 3, "glucose_meter": 1, "phone": 1,
    "workstation": 3, "printer": 1, "access_point": 1,
}  # fmt: skip
_RADIOLOGY = {
    "ct": 2, "mri": 1.5, "xray": 3, "ultrasound": 3, "mammography": 1, "pacs": 1, "imaging_workstation": 5,
    "infusion_pump": 2, "patient_monitor": 1, "workstation": 6, "printer": 1, "access_point": 1,
}  # fmt: skip
_LAB = {
    "lab_analyzer": 10, "poc_analyzer": 2, "workstation": 6, "printer": 3, "mobile_computer": 1,
    "network_switch": 1,
}  # fmt: skip
_PHARMACY = {"dispensing": 2, "compounder": 1, "workstation": 5, "printer": 3, "mobile_computer": 2}
_BIOMED = {
    "infusion_pump": 8, "syringe_pump": 1, "pca_pump": 1, "patient_monitor": 3, "telemetry": 2,
    "defibrillator": 1, "workstation": 2,
}  # fmt: skip
_IT = {"server": 4, "network_switch": 6, "access_point": 3, "workstation": 3, "printer": 1}
_ADMIN = {"workstation": 10, "printer": 3, "phone": 1, "access_point": 1}

_HOSPITAL_UNITS: tuple[_UnitTemplate, ...] = (
    _UnitTemplate("ICU East", "icue", "ICU-E", 0, 6, _ICU),
    _UnitTemplate("ICU West", "icuw", "ICU-W", 0, 5, _ICU),
    _UnitTemplate("NICU", "nicu", "NICU", 1, 4, _ICU),
    _UnitTemplate("Emergency", "ed", "ED Bay", 0, 7, _ED),
    _UnitTemplate("OR", "or", "OR", 0, 6, _OR),
    _UnitTemplate("PACU", "pacu", "PACU", 0, 3, _PACU),
    _UnitTemplate("Med-Surg 3", "ms3", "3N", 1, 6, _WARD),
    _UnitTemplate("Med-Surg 4", "ms4", "4N", 1, 6, _WARD),
    _UnitTemplate("Med-Surg 5", "ms5", "5S", 1, 5, _WARD),
    _UnitTemplate("Cardiology", "card", "CARD", 2, 5, _CARDIO),
    _UnitTemplate("Oncology/Infusion Center", "onc", "INF Chair", 2, 4, _ONCO),
    _UnitTemplate("Dialysis", "dial", "HD Station", 2, 2.5, _DIALYSIS),
    _UnitTemplate("Radiology", "rad", "Imaging Room", 0, 4, _RADIOLOGY),
    _UnitTemplate("Lab", "lab", "Core Lab Bench", 0, 3, _LAB),
    _UnitTemplate("Pharmacy", "rx", "Pharmacy", 0, 2, _PHARMACY),
    _UnitTemplate("Biomed Shop", "bmed", "Biomed Bench", 3, 2, _BIOMED),
    _UnitTemplate("IT", "it", "IDF", 3, 3, _IT),
    _UnitTemplate("Admin", "adm", "Office", 3, 3, _ADMIN),
)
_OUTPATIENT_UNITS: tuple[_UnitTemplate, ...] = (
    _UnitTemplate("Urgent Care", "uc", "UC Room", 0, 5, _ED),
    _UnitTemplate("Infusion Center", "inf", "INF Chair", 0, 6, _ONCO),
    _UnitTemplate("Dialysis", "dial", "HD Station", 1, 4, _DIALYSIS),
    _UnitTemplate("Imaging", "rad", "Imaging Room", 0, 3, _RADIOLOGY),
    _UnitTemplate("Lab", "lab", "Lab Bench", 1, 2, _LAB),
    _UnitTemplate("Cardiology Clinic", "card", "Exam", 1, 2, _CARDIO),
    _UnitTemplate("Pharmacy", "rx", "Pharmacy", 0, 1, _PHARMACY),
    _UnitTemplate("IT", "it", "IDF", 1, 1, _IT),
    _UnitTemplate("Admin", "adm", "Office", 1, 2, _ADMIN),
)


def apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` into integers proportional to ``weights`` (largest remainder; ties by position).

    >>> apportion(10, [1, 1, 1])
    [4, 3, 3]
    """
    scale = sum(weights)
    exact = [total * w / scale for w in weights]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _sites(rng: random.Random, n_sites: int) -> list[tuple[Site, float]]:
    sites: list[tuple[Site, float]] = []
    for i in range(n_sites):
        place = _SITE_NAMES[i]
        if i == 0:
            kind, weight = "hospital", 1.6
        elif n_sites == 2 or rng.random() < 0.35:
            kind, weight = "outpatient", rng.uniform(0.18, 0.3)
        else:
            kind, weight = "hospital", rng.uniform(0.5, 1.1)
        name = f"{place} General Hospital" if kind == "hospital" else f"{place} Community Health Center"
        buildings = _HOSPITAL_BUILDINGS if kind == "hospital" else _OUTPATIENT_BUILDINGS
        code = "".join(c for c in place.upper() if c.isalpha())[:3]
        site = Site(i + 1, code, name, "hospital" if kind == "hospital" else "outpatient", buildings)
        sites.append((site, weight))
    return sites


def _families(rng: random.Random) -> tuple[tuple[str, str], ...]:
    """Pick the model family a site standardises on for each generator kind."""
    chosen: list[tuple[str, str]] = []
    for kind, models in models_by_kind().items():
        weights: dict[str, int] = {}
        for model in models:
            weights[model.family] = weights.get(model.family, 0) + model.weight
        families = list(weights)
        chosen.append((kind, rng.choices(families, weights=[weights[f] for f in families])[0]))
    return tuple(chosen)


def plan(size: Size, seed: int) -> Hospital:
    """Plan a hospital of ``size`` from ``seed``; see :func:`wardwatch.simulate.generate`."""
    if size not in SIZES:
        msg = f"unknown size {size!r}; choose one of {', '.join(SIZES)}"
        raise ValueError(msg)
    rng = random.Random(seed)  # noqa: S311 - simulation, not security
    total, n_sites = SIZES[size]
    sites = _sites(rng, n_sites)
    per_site = apportion(total, [w for _, w in sites])
    known_kinds = models_by_kind()
    units: list[Unit] = []
    plans: list[UnitPlan] = []
    families: list[tuple[tuple[str, str], ...]] = []
    for (site, _), site_total in zip(sites, per_site, strict=True):
        families.append(_families(rng))
        templates = _HOSPITAL_UNITS if site.kind == "hospital" else _OUTPATIENT_UNITS
        jitter = [t.weight * rng.uniform(0.85, 1.15) for t in templates]
        for template, unit_total in zip(templates, apportion(site_total, jitter), strict=True):
            unit_id = len(units) + 1
            code = template.code if site.site_id == 1 else f"{site.code.lower()}-{template.code}"
            units.append(
                Unit(unit_id, site.site_id, template.name, code, site.buildings[template.building],
                     template.location_prefix)
            )  # fmt: skip
            kinds = [k for k in template.mix if k in known_kinds]
            counts = apportion(unit_total, [template.mix[k] for k in kinds])
            plans.append(UnitPlan(unit_id, tuple((k, c) for k, c in zip(kinds, counts, strict=True) if c)))
    duplicates = sorted(rng.sample(range(total), round(total * DUPLICATE_SHARE)))
    return Hospital(
        size=size,
        seed=seed,
        sites=tuple(s for s, _ in sites),
        units=tuple(units),
        plans=tuple(plans),
        site_families=tuple(families),
        device_count=total,
        duplicate_devices=tuple(duplicates),
    )
