"""Planning and drawing a hospital: sizes, determinism, realistic mix and addresses."""

from __future__ import annotations

import ipaddress
from collections import Counter

import pytest

from wardwatch.simulate import SIZES, generate, iter_devices


@pytest.mark.parametrize("size", list(SIZES))
def test_sizes_hit_their_targets(size: str) -> None:
    hospital = generate(size, 11)  # type: ignore[arg-type]
    target, n_sites = SIZES[size]  # type: ignore[index]
    assert abs(hospital.device_count - target) <= target * 0.1
    assert sum(c for plan in hospital.plans for _, c in plan.type_counts) == hospital.device_count
    assert len(hospital.sites) == n_sites
    assert hospital.sites[0].kind == "hospital"
    assert 0.02 <= len(hospital.duplicate_devices) / hospital.device_count <= 0.04


def test_small_is_a_main_hospital_and_an_outpatient_site() -> None:
    hospital = generate("small", 1)
    assert [s.kind for s in hospital.sites] == ["hospital", "outpatient"]
    names = {u.name for u in hospital.units if u.site_id == 1}
    assert {"ICU East", "ICU West", "NICU", "Emergency", "OR", "PACU", "Radiology", "Lab", "Pharmacy"} <= names


def test_unknown_size_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown size"):
        generate("huge", 1)  # type: ignore[arg-type]


def test_generation_is_deterministic_and_seed_dependent() -> None:
    assert generate("medium", 5) == generate("medium", 5)
    first = list(iter_devices(generate("small", 5)))
    assert first == list(iter_devices(generate("small", 5)))
    assert first != list(iter_devices(generate("small", 6)))


@pytest.mark.parametrize("size", ["small", "medium"])
def test_infusion_pumps_are_the_most_numerous_medical_devices(size: str) -> None:
    devices = [d for d in iter_devices(generate(size, 2)) if d.is_medical]  # type: ignore[arg-type]
    by_type = Counter(d.device_type for d in devices)
    assert by_type.most_common(1)[0][0] == "infusion-pump"
    infusion = by_type["infusion-pump"] + by_type["syringe-pump"] + by_type["pca-pump"]
    # ~30% of medical devices; a 200-device hospital rounds tiny units up towards their most common type
    assert 0.25 <= infusion / len(devices) <= (0.38 if size == "small" else 0.35)


def test_addresses_are_unique_valid_and_follow_the_site_plan() -> None:
    hospital = generate("medium", 9)
    devices = list(iter_devices(hospital))
    networked = [d for d in devices if d.networked]
    assert 0 < len(devices) - len(networked) < len(devices) * 0.3, "a few devices are not networked"
    ips = [d.ip for d in networked]
    assert len(ips) == len(set(ips))
    for device in networked:
        address = ipaddress.IPv4Address(device.ip)
        assert address in ipaddress.IPv4Network(f"10.{device.site_id}.0.0/16")
        assert device.hostname is not None
        assert device.hostname == device.hostname.lower()
    assert len({d.hostname for d in networked}) == len(networked)
    assert len({d.serial for d in devices}) == len(devices)
    assert len({d.asset_tag for d in devices}) == len(devices)


def test_devices_carry_taxonomy_slugs_while_units_are_planned_by_finer_kinds() -> None:
    hospital = generate("medium", 3)
    kinds = {kind for plan in hospital.plans for kind, _ in plan.type_counts}
    assert {"ct", "linac", "aed", "defibrillator", "crrt", "dialysis"} <= kinds, "the generator keeps its own mix"
    types = Counter(d.device_type for d in iter_devices(hospital))
    assert {"ct-scanner", "radiation-therapy", "defibrillator", "dialysis-machine", "x-ray"} <= set(types)
    assert not {t for t in types if "_" in t}, "device types are taxonomy slugs, never generator kinds"
