"""Write a simulated hospital to disk: the CMMS export (CSV, XLSX) and the ground truth for tests.

``truth.json`` holds what an importer should make of the export:

* ``size``, ``seed``, ``sites``, ``units``: the plan;
* ``device_count`` (unique physical devices) and ``cmms_row_count`` (data rows, duplicates included);
* ``networked_device_count``; ``device_types``: device count per Wardwatch taxonomy slug (``device_types.json``);
* ``vlans`` (network function -> VLAN id) and ``placeholders`` (the "don't know" values the export uses);
* ``duplicate_rows``: ``[first row, duplicate row]`` spreadsheet row numbers (header is row 1) of each device
  the export lists twice, sorted;
* ``manufacturers``: primary-row asset tag (as written) -> canonical manufacturer (kept for older readers;
  ``devices`` says the same and more);
* ``devices``: the ground truth per physical device, keyed by asset tag in the canonical form the importer
  stores (:func:`wardwatch.domain.values.normalize_asset_tag`: upper case, whitespace removed). Every asset
  tag a device's rows carry is a key, so a duplicate listed under a re-typed or new tag maps to the same
  entry as its first row::

    "devices": {
      "BME-104512": {"asset_tag": "BME-104512", "manufacturer": "BD", "model": "Alaris 8015 PC Unit",
                     "device_type": "infusion-pump", "serial": "ALA01234567",
                     "site": "Riverside General Hospital"},
      "BME-9000417": {"asset_tag": "BME-104512", ...same entry...}
    }

  ``asset_tag`` is the canonical tag of the device's first row (so entries with equal ``asset_tag`` are one
  device), ``manufacturer`` the canonical name, ``device_type`` the taxonomy slug, ``site`` the site name.
  Keys are in file order of first appearance.
* ``traffic`` (only when the traffic was written): what ``traffic.pcap`` and ``zeek/`` reveal. ``pcap``,
  ``zeek_logs``, ``vlan_tagged`` (802.1Q tags by VLAN id on a trunk), ``capture_start``/``capture_end``
  (UTC), ``packet_count``, ``infrastructure`` (per site: the DHCP/DNS server, HL7 interface engine, file
  server, application server and PACS the devices talk to), and ``devices``: per networked device, keyed by
  the same canonical asset tag as ``devices``::

    "BME-104512": {"index": 17, "mac": "00:d0:75:...", "ip": "10.1.0.12", "hostname": "icue-pcu-001",
                   "vlan": 20, "protocols": ["arp", "dhcp", "dns", "tls"],
                   "dhcp_hostname": "icue-pcu-001", "dhcp_vendor_class": null,
                   "dhcp_param_request_list": [1, 3, 6, 15, 12], "dhcp_client_id": "01:00:d0:75:...",
                   "dns_query": "alaris-sm.riv.hospital.example", "tls_server_names": ["alaris-sm.riv..."]}

  Other keys appear when the device emitted them: ``dicom_ae_title``, ``dicom_called_ae_title``,
  ``dicom_implementation_class_uid``, ``dicom_implementation_version_name``, ``dicom_sop_classes``,
  ``hl7_sending_application``, ``hl7_sending_facility``, ``hl7_message_type``, ``hl7_version``,
  ``http_user_agent``, ``smb_dialects`` (what it offers as an SMB client), ``smb_server_dialect`` (what its own
  SMB server on 445 answered the site's poller: ``NT LM 0.12`` means SMBv1, which discovery flags as
  ``smbv1``; ``SMB 2.1``...``SMB 3.1.1`` mean SMB2/3 only), ``snmp_sys_descr``, ``snmp_sys_object_id``,
  ``snmp_community``, ``telnet_banner`` and ``remote_peer`` (``{"ip", "server_name", "port"}``: a public address, an
  external-peer finding).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from wardwatch.domain.values import normalize_asset_tag
from wardwatch.simulate._cmms import CMMS_HEADERS, PLACEHOLDERS, iter_rows
from wardwatch.simulate._devices import VLANS, iter_devices
from wardwatch.simulate._feeds import FEED_CVES, write_feeds
from wardwatch.simulate._model import Hospital
from wardwatch.simulate._traffic import CAPTURE_START, TrafficResult, write_traffic

logger = logging.getLogger(__name__)

#: ``progress(stage, done, total)``; stages are the file names being written.
Progress = Callable[[str, int, int], None]

#: Sizes for which an XLSX copy of the export is written (XLSX of 200,000 rows is slow and pointless).
XLSX_SIZES: tuple[str, ...] = ("small", "medium")
#: Sizes for which ``traffic.pcap`` and the Zeek logs are written unless ``write(traffic=...)`` says otherwise.
TRAFFIC_SIZES: tuple[str, ...] = ("small", "medium")
#: Sizes for which the vulnerability feeds (``feeds/``) are written unless ``write(feeds=...)`` says otherwise.
#: Empty for now: tests/simulate/test_traffic.py pins the exact files ``write(traffic=False)`` returns for small;
#: add ``"small"`` here together with that test.
FEED_SIZES: tuple[str, ...] = ()
_PROGRESS_EVERY = 5_000


def _write_csv(hospital: Hospital, path: Path, progress: Progress | None, keep: bool) -> dict[str, Any]:
    """Stream the CSV; collect the truth about it on the way (one pass over the devices)."""
    total = hospital.cmms_row_count
    first_row: dict[int, int] = {}
    manufacturers: dict[str, str] = {}
    groups: list[list[int]] = []
    kept: list[tuple[str, ...]] = []
    by_type: dict[str, int] = {}
    devices: dict[str, dict[str, str]] = {}
    entries: dict[int, dict[str, str]] = {}
    networked = 0
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(CMMS_HEADERS)
        for done, row in enumerate(iter_rows(hospital), start=1):
            writer.writerow(row.cells)
            if keep:
                kept.append(row.cells)
            device = row.device
            tag = normalize_asset_tag(row.cells[0])
            if tag is None:  # pragma: no cover - the generator always writes a tag
                raise ValueError(f"row {row.row_number} has no asset tag")
            if row.is_duplicate:
                groups.append([first_row[device.index], row.row_number])
            else:
                first_row[device.index] = row.row_number
                entries[device.index] = {
                    "asset_tag": tag,
                    "manufacturer": device.manufacturer,
                    "model": device.model,
                    "device_type": device.device_type,
                    "serial": device.serial,
                    "site": hospital.sites[device.site_id - 1].name,
                }
                manufacturers[row.cells[0].strip()] = device.manufacturer
                by_type[device.device_type] = by_type.get(device.device_type, 0) + 1
                networked += device.networked
            if devices.setdefault(tag, entries[device.index]) is not entries[device.index]:
                raise ValueError(f"asset tag {tag} names two devices")  # pragma: no cover - generator invariant
            if progress is not None and (done % _PROGRESS_EVERY == 0 or done == total):
                progress(path.name, done, total)
    groups.sort()
    return {
        "duplicate_rows": groups,
        "manufacturers": manufacturers,
        "devices": devices,
        "rows": kept,
        "device_types": dict(sorted(by_type.items())),
        "networked": networked,
        "tags": {index: entry["asset_tag"] for index, entry in entries.items()},
    }


def _write_xlsx(path: Path, rows: list[tuple[str, ...]], progress: Progress | None) -> None:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Equipment")
    sheet.append(list(CMMS_HEADERS))
    for done, cells in enumerate(rows, start=1):
        sheet.append(list(cells))
        if progress is not None and (done % _PROGRESS_EVERY == 0 or done == len(rows)):
            progress(path.name, done, len(rows))
    buffer = io.BytesIO()
    workbook.save(buffer)
    path.write_bytes(_without_timestamps(buffer.getvalue()))


_FIXED_ZIP_TIME = (2025, 1, 1, 0, 0, 0)
_CORE_TIMES = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def _without_timestamps(xlsx: bytes) -> bytes:
    """Pin the save time openpyxl and zipfile take from the clock, so equal rows give equal bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as source, zipfile.ZipFile(out, "w") as target:
        for entry in source.infolist():
            data = source.read(entry)
            if entry.filename == "docProps/core.xml":
                data = _CORE_TIMES.sub(rb"\g<1>2025-01-01T00:00:00Z\g<2>", data)
            info = zipfile.ZipInfo(entry.filename, date_time=_FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, data)
    return out.getvalue()


def _iso(micros: int) -> str:
    return datetime.fromtimestamp(micros / 1_000_000, tz=UTC).isoformat().replace("+00:00", "Z")


def _traffic_truth(result: TrafficResult, tags: dict[int, str], hospital: Hospital) -> dict[str, Any]:
    devices: dict[str, Any] = {}
    for device in iter_devices(hospital):
        seen = result.devices.get(device.index)
        if seen is None:
            continue
        address = {
            "index": device.index,
            "mac": device.mac,
            "ip": device.ip,
            "hostname": device.hostname,
            "vlan": device.vlan,
        }
        devices[tags[device.index]] = {**address, **seen}
    return {
        "pcap": "traffic.pcap",
        "zeek_logs": [f"zeek/{p.name}" for p in result.paths[1:]],
        "vlan_tagged": True,
        "capture_start": _iso(CAPTURE_START),
        "capture_end": _iso(result.capture_end),
        "packet_count": result.packet_count,
        "zeek_rows": result.zeek_rows,
        "infrastructure": result.infrastructure,
        "devices": devices,
    }


def _truth(hospital: Hospital, csv_facts: dict[str, Any]) -> dict[str, Any]:
    return {
        "size": hospital.size,
        "seed": hospital.seed,
        "sites": [
            {
                "site_id": s.site_id,
                "code": s.code,
                "name": s.name,
                "kind": s.kind,
                "buildings": list(s.buildings),
            }
            for s in hospital.sites
        ],
        "units": [
            {
                "unit_id": u.unit_id,
                "site_id": u.site_id,
                "name": u.name,
                "building": u.building,
                "code": u.code,
            }
            for u in hospital.units
        ],
        "device_count": hospital.device_count,
        "cmms_row_count": hospital.cmms_row_count,
        "networked_device_count": csv_facts["networked"],
        "device_types": csv_facts["device_types"],
        "vlans": VLANS,
        "placeholders": list(PLACEHOLDERS),
        "duplicate_rows": csv_facts["duplicate_rows"],
        "manufacturers": csv_facts["manufacturers"],
        "devices": csv_facts["devices"],
    }


def write(
    hospital: Hospital,
    out_dir: Path,
    progress: Progress | None = None,
    *,
    traffic: bool | None = None,
    feeds: bool | None = None,
    cves: int | None = None,
) -> list[Path]:
    """Write ``cmms_export.csv``, ``cmms_export.xlsx`` (small, medium), the traffic and ``truth.json`` to ``out_dir``.

    The CSV is UTF-8 with a BOM and CRLF line endings, streamed row by row. ``traffic`` (default: on for the
    sizes in :data:`TRAFFIC_SIZES`) adds ``traffic.pcap`` and ``zeek/*.log`` (see
    :mod:`wardwatch.simulate._traffic`). ``feeds`` (default: on for the sizes in :data:`FEED_SIZES`) adds the
    vulnerability feeds under ``feeds/`` with ``cves`` NVD records (default :data:`FEED_CVES` of the size; see
    :mod:`wardwatch.simulate._feeds`). Writing the same hospital twice gives byte-identical files. Returns
    the paths written, in that order (the Zeek logs one by one).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / "cmms_export.csv"
    want_xlsx = hospital.size in XLSX_SIZES
    logger.debug("writing %d CMMS rows to %s", hospital.cmms_row_count, csv_path)
    facts = _write_csv(hospital, csv_path, progress, keep=want_xlsx)
    paths = [csv_path]
    if want_xlsx:
        xlsx_path = out_dir / "cmms_export.xlsx"
        _write_xlsx(xlsx_path, facts["rows"], progress)
        paths.append(xlsx_path)
    if traffic if traffic is not None else hospital.size in TRAFFIC_SIZES:
        logger.debug("writing traffic of %d devices to %s", hospital.device_count, out_dir)
        result = write_traffic(hospital, out_dir)
        paths += result.paths
        if progress is not None:
            progress(result.paths[0].name, 1, 1)
    else:
        result = None
    if feeds if feeds is not None else hospital.size in FEED_SIZES:
        count = FEED_CVES[hospital.size] if cves is None else cves
        logger.debug("writing vulnerability feeds of %d CVEs to %s", count, out_dir)
        written = write_feeds(hospital, out_dir, cves=count, seed=hospital.seed)
        paths += written
        if progress is not None:
            progress("feeds", len(written), len(written))
    truth_path = out_dir / "truth.json"
    truth = _truth(hospital, facts)
    if result is not None:
        truth["traffic"] = _traffic_truth(result, facts["tags"], hospital)
    truth_path.write_text(json.dumps(truth, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    if progress is not None:
        progress(truth_path.name, 1, 1)
    paths.append(truth_path)
    return paths
