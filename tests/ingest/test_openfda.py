"""openFDA device recall reader: real FDA recall records, the API response shape, bad and hostile files."""

from __future__ import annotations

import gzip
import json
import zipfile
from datetime import date
from pathlib import Path

import pytest

from wardwatch.domain.intel import Recall
from wardwatch.ingest.errors import IngestError
from wardwatch.ingest.openfda import model_numbers, read_recalls

OPENFDA = Path(__file__).parent.parent / "fixtures" / "intel" / "openfda"
REAL = OPENFDA / "openfda_enforcement_devices.json"
SYNTHETIC = OPENFDA / "openfda_device_recall_synthetic.json"


def test_real_records_and_their_model_numbers() -> None:
    recalls = {recall.recall_number: recall for recall in read_recalls(REAL)}
    assert list(recalls) == ["Z-1004-04", "Z-1773-2012", "Z-1791-2012", "Z-1792-2012", "Z-1793-2012"]
    assert recalls["Z-1004-04"].model_numbers == ("00-2254-195-09",)  # "Catalog no. 00-2254-195-09."
    assert recalls["Z-1773-2012"].model_numbers == ("14324",)  # "P/N: 14324"
    assert recalls["Z-1791-2012"].model_numbers == ("728306", "728311")  # "Model# 728306 ... Model# 728311"
    assert recalls["Z-1792-2012"].model_numbers == ("ASP-CAN-2",)  # "Lipofilter 3000, model ASP-CAN-2"
    assert recalls["Z-1793-2012"].model_numbers == ()  # codes listed without a label are not guessed
    ct = recalls["Z-1791-2012"]
    assert ct.manufacturer is not None and ct.manufacturer.startswith("Philips Medical Systems (Cleveland) Inc.")
    assert ct.classification == "Class II"
    assert ct.reason is not None and ct.reason.startswith("Philips is issuing a software update (version 3.2.4)")
    assert (ct.product_code, ct.status, ct.posted, ct.k_numbers) == (None, None, None, ())
    assert recalls["Z-1004-04"].classification is None  # the 2004 extract has no classification


def test_api_shape() -> None:
    first, second = read_recalls(SYNTHETIC)
    assert first == Recall(
        recall_number="Z-0999-2025",
        product_code="FRN",
        manufacturer="Example Infusion Systems, Inc.",
        product_description="Example Volumetric Infusion Pump, Model No. EVP-200 and EVP-210. Infusion pump "
        "software version 3.1.",
        reason="Software anomaly: the pump's network service accepts unauthenticated commands that can change the "
        "infusion rate.",
        classification="Class 2",
        status="Open, Classified",
        posted=date(2025, 6, 10),
        model_numbers=("EVP-200", "EVP-210", "220-0034"),
        k_numbers=("K201234",),
    )
    assert (second.recall_number, second.posted, second.classification) == ("99902", date(2025, 4, 1), None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Catalog Number: 4001-22, 4001-23 and 4001-24", ("4001-22", "4001-23", "4001-24")),
        ("REF 12345-67", ("12345-67",)),
        ("ref 12345 in the manual", ()),  # REF only in capitals
        ("Model numbers 860198 / 860199", ("860198", "860199")),
        ("Part No. AB-123; Lot 45", ("AB-123",)),
        ("part 2 of the system, model year 2012", ()),
        ("Model: 10/01/2011", ()),  # a date is not a model number
        ("", ()),
        (None, ()),
    ],
)
def test_model_number_extraction(text: str | None, expected: tuple[str, ...]) -> None:
    assert model_numbers(text) == expected


def test_bulk_download_zip_and_gzip(tmp_path: Path) -> None:
    archive = tmp_path / "device-recall-0001-of-0001.json.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("device-recall-0001-of-0001.json", SYNTHETIC.read_bytes())
    packed = tmp_path / "recall.json.gz"
    packed.write_bytes(gzip.compress(SYNTHETIC.read_bytes()))
    assert read_recalls(archive) == read_recalls(packed) == read_recalls(SYNTHETIC)


def _write(tmp_path: Path, results: object) -> Path:
    path = tmp_path / "recall.json"
    path.write_text(json.dumps({"meta": {}, "results": results}), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"product_description": ""}, r"row 2, column 'product_description': missing or empty value"),
        ({"product_res_number": None, "res_event_number": None}, r"row 2, column 'product_res_number'"),
        ({"event_date_posted": "last week"}, r"row 2, column 'event_date_posted': 'last week' is not a date"),
        ({"recalling_firm": {"name": "x"}}, r"row 2, column 'recalling_firm': value is dict, expected text"),
        ({"k_numbers": [12]}, r"row 2, column 'k_numbers'"),
        ({"openfda": []}, r"row 2, column 'openfda'"),
    ],
)
def test_bad_record_names_row_and_field(tmp_path: Path, change: dict[str, object], message: str) -> None:
    records = json.loads(SYNTHETIC.read_text(encoding="utf-8"))["results"]
    records[1] = {**records[0], **change}
    with pytest.raises(IngestError, match=message):
        read_recalls(_write(tmp_path, records))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"results": [', "is not valid JSON"),
        (b'{"meta": {}}', "has no 'results' list"),
        (b'"text"', "is not an openFDA response"),
        (b"[1]", "row 1: record is not an object"),
    ],
)
def test_bad_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "recall.json"
    path.write_bytes(content)
    with pytest.raises(IngestError, match=message):
        read_recalls(path)


def test_hostile_archives(tmp_path: Path) -> None:
    bomb = tmp_path / "recall.json.gz"
    bomb.write_bytes(gzip.compress(b" " * (1 << 20)) * 100)  # 100 MiB of spaces, ~100 KiB on disk
    with pytest.raises(IngestError, match="expands to more than 64 MiB"):
        read_recalls(bomb, max_bytes=64 << 20)
    two = tmp_path / "two.zip"
    with zipfile.ZipFile(two, "w") as bundle:
        bundle.writestr("a.json", "[]")
        bundle.writestr("b.json", "[]")
    with pytest.raises(IngestError, match="zip archive with 2 files, expected one"):
        read_recalls(two)
    truncated = tmp_path / "cut.zip"
    truncated.write_bytes(two.read_bytes()[:40])
    with pytest.raises(IngestError, match="damaged zip archive"):
        read_recalls(truncated)
    missing = tmp_path / "absent.json"
    with pytest.raises(IngestError, match="cannot be opened"):
        read_recalls(missing)


def test_doctests() -> None:
    import doctest

    from wardwatch.ingest import openfda

    assert doctest.testmod(openfda).failed == 0
