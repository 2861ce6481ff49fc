"""The files: a byte-stable CMMS export with realistic mess, its XLSX twin and a truthful truth.json."""

from __future__ import annotations

import csv
import hashlib
import io
import ipaddress
import json
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from netaddr import EUI
from openpyxl import load_workbook

from wardwatch.domain.values import normalize_asset_tag
from wardwatch.reference import device_types
from wardwatch.simulate import CMMS_HEADERS, PLACEHOLDERS, generate, write

HEADERS = [
    "Equipment #", "Description", "Manufacturer", "Model", "Serial #", "Site", "Building", "Department",
    "Location", "MAC Address", "IP Address", "Host Name", "VLAN", "Operating System", "OS Version",
    "Firmware Version", "Software Version", "Responsible Group", "Status", "Install Date", "End of Support",
    "End of Life", "Risk Level", "Patient Connected", "PHI", "High Risk",
]  # fmt: skip


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("small")
    write(generate("small", 1), out)
    return out


@pytest.fixture(scope="module")
def medium(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("medium")
    write(generate("medium", 4), out)
    return out


def _rows(out: Path) -> list[list[str]]:
    raw = (out / "cmms_export.csv").read_bytes()
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def _truth(out: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    return result


def _digests(out: Path) -> dict[str, str]:
    return {
        p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }


def test_same_seed_gives_identical_files_and_another_seed_does_not(small: Path, tmp_path: Path) -> None:
    again, other = tmp_path / "again", tmp_path / "other"
    calls: list[tuple[str, int, int]] = []
    paths = write(generate("small", 1), again, progress=lambda *args: calls.append(args))
    logs = ["conn", "dhcp", "dns", "http", "ssl", "x509", "snmp", "software", "known_services"]
    expected = ["cmms_export.csv", "cmms_export.xlsx", "traffic.pcap", *(f"{n}.log" for n in logs), "truth.json"]
    assert [p.name for p in paths] == expected
    assert _digests(again) == _digests(small)
    write(generate("small", 2), other)
    assert _digests(other)["cmms_export.csv"] != _digests(small)["cmms_export.csv"]
    assert calls[-1] == ("truth.json", 1, 1)
    assert any(c[0] == "cmms_export.csv" and c[1] == c[2] for c in calls)


def test_csv_is_bom_crlf_with_the_exact_headers(small: Path) -> None:
    raw = (small / "cmms_export.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.count(b"\r\n") == raw.count(b"\n")
    rows = _rows(small)
    assert rows[0] == HEADERS == list(CMMS_HEADERS)
    assert all(len(r) == len(HEADERS) for r in rows)
    truth = _truth(small)
    assert len(rows) - 1 == truth["cmms_row_count"] == truth["device_count"] + len(truth["duplicate_rows"])


def test_duplicate_groups_share_a_serial_and_nothing_else_does(medium: Path) -> None:
    rows = _rows(medium)
    truth = _truth(medium)
    serial = HEADERS.index("Serial #")
    groups = truth["duplicate_rows"]
    assert 0.02 * truth["device_count"] <= len(groups) <= 0.04 * truth["device_count"]
    in_groups = set()
    for group in groups:
        assert len({rows[n - 1][serial] for n in group}) == 1
        in_groups.update(group[1:])
    assert len({r[serial] for r in rows[1:]}) == truth["device_count"]
    tags = [rows[g[1] - 1][0] for g in groups]
    assert any(t != t.strip() or t.strip() != t.strip().upper() for t in tags), "some re-typed tags"
    assert any(t.strip() != rows[g[0] - 1][0].strip() for t, g in zip(tags, groups, strict=True))


def test_every_cell_is_importable_and_messy_in_the_usual_ways(medium: Path) -> None:
    rows = _rows(medium)[1:]
    col = {h: i for i, h in enumerate(HEADERS)}
    placeholders = {*PLACEHOLDERS, ""}
    macs = [r[col["MAC Address"]] for r in rows]
    for mac in macs:
        if mac not in placeholders:
            EUI(mac)  # raises on an invalid MAC
    for ip in (r[col["IP Address"]].strip() for r in rows):
        if ip not in placeholders:
            ipaddress.IPv4Address(ip)
    styles = {
        ("colon" if ":" in m else "dash" if "-" in m else "dot" if "." in m else "bare") for m in macs if len(m) >= 12
    }
    assert styles == {"colon", "dash", "dot", "bare"}
    networked = [r for r in rows if r[col["VLAN"]] or r[col["IP Address"]] not in placeholders]
    blank = sum(r[col["MAC Address"]] in placeholders for r in networked) / len(networked)
    assert 0.15 <= blank <= 0.35
    dates = [r[col["Install Date"]] for r in rows if r[col["Install Date"]]]
    assert any("/" in d for d in dates)
    assert any("-" in d for d in dates)
    assert {r[col["Patient Connected"]] for r in rows} >= {"Yes", "No", "Y", "N", ""}
    assert any(v != v.rstrip() for r in rows for v in r)
    vendors = {r[col["Manufacturer"]] for r in rows}
    assert {"Draeger", "Becton Dickinson"} & vendors or {"GE Medical Systems", "Baxter Healthcare Corp."} & vendors


def test_truth_maps_first_row_tags_to_canonical_vendors(medium: Path) -> None:
    rows = _rows(medium)
    truth = _truth(medium)
    manufacturers = truth["manufacturers"]
    assert len(manufacturers) == truth["device_count"]
    firsts = set(range(2, len(rows) + 1)) - {n for g in truth["duplicate_rows"] for n in g[1:]}
    spelled_differently = 0
    for n in firsts:
        tag, vendor = rows[n - 1][0].strip(), rows[n - 1][2]
        assert tag in manufacturers
        spelled_differently += vendor != manufacturers[tag]
    assert 0.1 * len(firsts) <= spelled_differently <= 0.3 * len(firsts)
    assert [s["kind"] for s in truth["sites"]][0] == "hospital"
    assert len(truth["sites"]) == 3


def test_xlsx_has_the_same_rows_as_the_csv(small: Path) -> None:
    book = load_workbook(small / "cmms_export.xlsx", read_only=True)
    sheet = book.active
    assert sheet is not None
    xlsx = [[("" if v is None else str(v)) for v in row] for row in sheet.iter_rows(values_only=True)]
    book.close()  # a read-only workbook keeps the file open until closed (ResourceWarning at a later GC)
    assert xlsx == _rows(small)


def test_xlsx_carries_no_clock_time(small: Path) -> None:
    with zipfile.ZipFile(small / "cmms_export.xlsx") as archive:
        assert {info.date_time for info in archive.infolist()} == {(2025, 1, 1, 0, 0, 0)}
        core = archive.read("docProps/core.xml").decode()
    assert core.count("2025-01-01T00:00:00Z") == 2


def test_truth_describes_every_device_under_every_tag_its_rows_carry(medium: Path) -> None:
    rows = _rows(medium)
    truth = _truth(medium)
    devices = truth["devices"]
    slugs = {t.slug for t in device_types()}
    assert len({d["asset_tag"] for d in devices.values()}) == truth["device_count"]
    assert Counter(d["device_type"] for d in {d["asset_tag"]: d for d in devices.values()}.values()) == Counter(
        truth["device_types"]
    )
    for row in rows[1:]:
        entry = devices[normalize_asset_tag(row[0])]
        assert (entry["model"], entry["serial"], entry["site"]) == (row[3].strip(), row[4], row[5])
        assert entry["device_type"] in slugs
    for first, duplicate in truth["duplicate_rows"]:
        original, again = (devices[normalize_asset_tag(rows[n - 1][0])] for n in (first, duplicate))
        assert original == again
    assert any(
        normalize_asset_tag(rows[g[0] - 1][0]) != normalize_asset_tag(rows[g[1] - 1][0])
        for g in truth["duplicate_rows"]
    ), "some duplicates were re-tagged"
    for tag, entry in devices.items():
        assert tag == tag.upper() and " " not in tag
        assert entry["manufacturer"] == truth["manufacturers"][entry["asset_tag"]]
