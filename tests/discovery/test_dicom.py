"""The DICOM upper-layer dissector on real pynetdicom captures (``tests/fixtures/pcap/dicom_*.pcap``).

The captures were made by ``tests/fixtures/pcap/make_dicom_hl7.py``: an SCU ``CT_SCANNER_01`` (127.0.0.11)
associates with an SCP ``PACS_MAIN`` (127.0.0.21), sends a C-ECHO and a C-STORE of a CT image, and releases;
the same again over TLS.  The expected values were read with ``tshark -d tcp.port==11112,dicom -V``.
"""

from __future__ import annotations

import dataclasses
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom._uid_dict import UID_dictionary

from tests.discovery._tcp_streams import streams
from wardwatch.discovery import dicom
from wardwatch.discovery._base import Payload
from wardwatch.discovery.dicom_uids import SOP_CLASSES, STORAGE_MODALITIES, implementation_vendor
from wardwatch.domain.observations import Endpoint, Finding, FindingKind, Observation, ObservationKind

CLIENT = Endpoint(ip="127.0.0.11")
SERVER = Endpoint(ip="127.0.0.21")
PYNETDICOM_UID = "1.2.826.0.1.3680043.9.3811.3.0.4"
VERIFICATION = "1.2.840.10008.1.1"
CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"


@pytest.fixture(scope="module")
def cleartext() -> list[Payload]:
    """[A-ASSOCIATE-RQ + P-DATA from the SCU, A-ASSOCIATE-AC + P-DATA from the SCP]."""
    return streams("dicom_cleartext.pcap")


def observed(results: list[Observation | Finding], endpoint: Endpoint, kind: ObservationKind) -> list[str]:
    """Observation values of one kind about one endpoint, in order."""
    return [r.value for r in results if isinstance(r, Observation) and r.endpoint == endpoint and r.kind == kind]


def findings(results: list[Observation | Finding], kind: FindingKind) -> list[Finding]:
    """Findings of one kind."""
    return [r for r in results if isinstance(r, Finding) and r.kind == kind]


def test_capture_is_what_the_script_made(cleartext: list[Payload]) -> None:
    request, accept = cleartext
    assert (request.source, request.destination, request.from_client) == (CLIENT, SERVER, True)
    assert (request.destination_port, request.packet) == (11112, 4)
    assert (accept.source, accept.packet, accept.from_client) == (SERVER, 6, False)


def test_association_request_names_both_application_entities(cleartext: list[Payload]) -> None:
    results = list(dicom.dissect(cleartext[0]))

    assert observed(results, CLIENT, ObservationKind.DICOM_AE_TITLE) == ["CT_SCANNER_01"]
    assert observed(results, SERVER, ObservationKind.DICOM_AE_TITLE) == ["PACS_MAIN"]
    assert observed(results, CLIENT, ObservationKind.DICOM_ROLE) == ["scu"]
    assert observed(results, CLIENT, ObservationKind.DICOM_ABSTRACT_SYNTAX) == [VERIFICATION, CT_IMAGE_STORAGE]
    assert observed(results, CLIENT, ObservationKind.DICOM_IMPLEMENTATION_UID) == [PYNETDICOM_UID]
    assert observed(results, CLIENT, ObservationKind.DICOM_IMPLEMENTATION_VERSION) == ["PYNETDICOM_304"]
    assert observed(results, SERVER, ObservationKind.DICOM_IMPLEMENTATION_UID) == []


def test_evidence_explains_sop_classes_stack_and_context(cleartext: list[Payload]) -> None:
    by_value = {r.value: r for r in dicom.dissect(cleartext[0]) if isinstance(r, Observation)}

    ct = by_value[CT_IMAGE_STORAGE].evidence
    assert (ct.source, ct.locator, ct.protocol) == ("dicom_cleartext.pcap", "packet 4", "dicom")
    assert ct.detail is not None and "CT Image Storage" in ct.detail and "CT modality" in ct.detail
    assert "Verification" in str(by_value[VERIFICATION].evidence.detail)
    assert "pynetdicom" in str(by_value[PYNETDICOM_UID].evidence.detail)
    assert "1.2.840.10008.3.1.1.1" in str(by_value["scu"].evidence.detail)  # the application context


def test_association_accept_describes_the_acceptor(cleartext: list[Payload]) -> None:
    results = list(dicom.dissect(cleartext[1]))

    assert observed(results, SERVER, ObservationKind.DICOM_ROLE) == ["scp"]
    assert observed(results, SERVER, ObservationKind.DICOM_IMPLEMENTATION_UID) == [PYNETDICOM_UID]
    assert observed(results, SERVER, ObservationKind.DICOM_IMPLEMENTATION_VERSION) == ["PYNETDICOM_304"]
    assert observed(results, SERVER, ObservationKind.DICOM_AE_TITLE) == ["PACS_MAIN"]  # echoed
    assert observed(results, CLIENT, ObservationKind.DICOM_AE_TITLE) == ["CT_SCANNER_01"]
    role = next(r for r in results if isinstance(r, Observation) and r.kind is ObservationKind.DICOM_ROLE)
    assert "accepted 2 of 2 presentation contexts" in str(role.evidence.detail)
    assert findings(results, FindingKind.CLEARTEXT_DICOM) == []  # reported once, from the request


def test_cleartext_association_is_a_finding_on_the_server(cleartext: list[Payload]) -> None:
    (finding,) = findings(list(dicom.dissect(cleartext[0])), FindingKind.CLEARTEXT_DICOM)

    assert finding.endpoint == SERVER
    assert "DICOM without TLS" in finding.detail
    assert "CT_SCANNER_01" in finding.detail and "PACS_MAIN" in finding.detail


def test_no_cleartext_finding_when_the_flow_is_tls(cleartext: list[Payload]) -> None:
    results = list(dicom.dissect(dataclasses.replace(cleartext[0], tls=True)))

    assert findings(results, FindingKind.CLEARTEXT_DICOM) == []
    assert observed(results, CLIENT, ObservationKind.DICOM_AE_TITLE) == ["CT_SCANNER_01"]


def test_real_tls_association_yields_nothing() -> None:
    payloads = streams("dicom_tls.pcap", tls=True)

    assert [p.data[:1] for p in payloads] == [b"\x16", b"\x16"]  # TLS handshake records, both ways
    assert payloads[0].destination_port == 2762
    for payload in payloads:
        assert not dicom.heuristic(payload.data)
        assert list(dicom.dissect(payload)) == []
        assert list(dicom.dissect(dataclasses.replace(payload, tls=False))) == []


def test_heuristic_recognises_association_pdus_only(cleartext: list[Payload]) -> None:
    request, accept = (p.data for p in cleartext)
    p_data = request[6 + int.from_bytes(request[2:6], "big") :]

    assert dicom.heuristic(request[:16]) and dicom.heuristic(accept[:16])
    assert p_data[0] == 0x04 and not dicom.heuristic(p_data)
    assert not dicom.heuristic(b"\x0bMSH|^~\\&|")
    assert not dicom.heuristic(b"\x01\x00\x00\x00\x00\x10\x00\x01")  # too short, implausible length
    assert not dicom.heuristic(b"GET / HTTP/1.1\r\n")
    assert dicom.SPEC.name == "dicom" and dicom.SPEC.heuristic is dicom.heuristic and 104 in dicom.SPEC.ports


def test_p_data_release_and_abort_are_quiet(cleartext: list[Payload]) -> None:
    request = cleartext[0]
    p_data = request.data[6 + int.from_bytes(request.data[2:6], "big") :]
    release_rq = b"\x05\x00\x00\x00\x00\x04\x00\x00\x00\x00"
    release_rp = b"\x06\x00\x00\x00\x00\x04\x00\x00\x00\x00"
    abort = b"\x07\x00\x00\x00\x00\x04\x00\x00\x02\x00"

    for data in (p_data, release_rq, release_rp, abort):
        assert list(dicom.dissect(dataclasses.replace(request, data=data))) == []


def test_rejection_marks_the_acceptor_with_the_reason(cleartext: list[Payload]) -> None:
    reject = dataclasses.replace(cleartext[1], data=b"\x03\x00\x00\x00\x00\x04\x00\x01\x01\x07")
    (result,) = dicom.dissect(reject)

    assert isinstance(result, Observation)
    assert (result.endpoint, result.kind, result.value) == (SERVER, ObservationKind.DICOM_ROLE, "scp")
    assert "permanently" in str(result.evidence.detail) and "called AE title not recognised" in str(
        result.evidence.detail
    )
    assert list(dicom.dissect(dataclasses.replace(reject, data=b"\x03\x00\x00\x00\x00\x04\x00\x09\x09\x09"))) == []


def _item(item_type: int, value: bytes) -> bytes:
    return struct.pack(">BBH", item_type, 0, len(value)) + value


def _request(user_items: bytes, called: bytes = b"ARCHIVE", calling: bytes = b"VIEWER") -> bytes:
    """A hand-built A-ASSOCIATE-RQ: one presentation context (Study Root MOVE) and the given user sub-items."""
    context = _item(
        0x20, b"\x01\x00\x00\x00" + _item(0x30, b"1.2.840.10008.5.1.4.1.2.2.2") + _item(0x40, b"1.2.840.10008.1.2")
    )
    body = (
        b"\x00\x01\x00\x00" + called.ljust(16) + calling.ljust(16) + bytes(32)
        + _item(0x10, b"1.2.840.10008.3.1.1.1") + context + _item(0x50, user_items)
    )  # fmt: skip
    return struct.pack(">BBI", 1, 0, len(body)) + body


def test_role_selection_and_cleartext_passcode(cleartext: list[Payload]) -> None:
    role = struct.pack(">H", 25) + b"1.2.840.10008.5.1.4.1.1.2" + b"\x01\x01"  # CT storage: SCU and SCP
    identity = b"\x02\x00" + struct.pack(">H", 5) + b"alice" + struct.pack(">H", 6) + b"s3cret"
    user = _item(0x52, b"1.2.276.0.7230010.3.0.3.6.8\x00") + _item(0x55, b"OFFIS_DCMTK_368") + _item(0x54, role)
    payload = dataclasses.replace(cleartext[0], data=_request(user + _item(0x58, identity)))
    results = list(dicom.dissect(payload))

    assert observed(results, CLIENT, ObservationKind.DICOM_ROLE) == ["scu", "scu", "scp"]
    assert observed(results, CLIENT, ObservationKind.DICOM_ABSTRACT_SYNTAX) == ["1.2.840.10008.5.1.4.1.2.2.2"]
    assert observed(results, CLIENT, ObservationKind.DICOM_IMPLEMENTATION_UID) == ["1.2.276.0.7230010.3.0.3.6.8"]
    assert observed(results, CLIENT, ObservationKind.DICOM_IMPLEMENTATION_VERSION) == ["OFFIS_DCMTK_368"]
    (credentials,) = findings(results, FindingKind.CLEARTEXT_CREDENTIALS)
    assert credentials.endpoint == CLIENT and "passcode" in credentials.detail
    assert "s3cret" not in credentials.detail and "alice" not in credentials.detail
    assert (
        findings(list(dicom.dissect(dataclasses.replace(payload, tls=True))), FindingKind.CLEARTEXT_CREDENTIALS) == []
    )
    username_only = b"\x01\x00" + struct.pack(">H", 5) + b"alice" + b"\x00\x00"
    plain = dataclasses.replace(payload, data=_request(_item(0x58, username_only)))
    assert findings(list(dicom.dissect(plain)), FindingKind.CLEARTEXT_CREDENTIALS) == []


def test_garbage_in_fields_is_not_reported(cleartext: list[Payload]) -> None:
    data = _request(_item(0x52, b"not-a-uid") + _item(0x55, b"\x01\x02"), called=b"\x00" * 16, calling=b"\x07BAD")
    results = list(dicom.dissect(dataclasses.replace(cleartext[0], data=data)))

    assert observed(results, CLIENT, ObservationKind.DICOM_AE_TITLE) == []
    assert observed(results, SERVER, ObservationKind.DICOM_AE_TITLE) == []
    assert observed(results, CLIENT, ObservationKind.DICOM_IMPLEMENTATION_UID) == []
    assert observed(results, CLIENT, ObservationKind.DICOM_IMPLEMENTATION_VERSION) == []
    assert "? -> ?" in findings(results, FindingKind.CLEARTEXT_DICOM)[0].detail


def test_truncated_request_keeps_what_was_complete(cleartext: list[Payload]) -> None:
    request = cleartext[0]
    ae_only = list(dicom.dissect(dataclasses.replace(request, data=request.data[:42])))
    assert observed(ae_only, CLIENT, ObservationKind.DICOM_AE_TITLE) == ["CT_SCANNER_01"]
    assert observed(ae_only, SERVER, ObservationKind.DICOM_AE_TITLE) == ["PACS_MAIN"]
    for cut in range(len(request.data) + 1):
        list(dicom.dissect(dataclasses.replace(request, data=request.data[:cut])))


def test_sop_class_table_agrees_with_pydicom() -> None:
    for uid, (name, _) in {**STORAGE_MODALITIES, **SOP_CLASSES}.items():
        assert UID_dictionary[uid][0] == name, uid
        assert not UID_dictionary[uid][3], f"{uid} is retired"


@pytest.mark.parametrize(
    ("uid", "vendor"),
    [
        (PYNETDICOM_UID, "pynetdicom"),
        ("1.2.826.0.1.3680043.8.498.1", "pydicom"),
        ("1.2.276.0.7230010.3.0.3.6.8", "DCMTK (OFFIS)"),
        ("1.2.840.113619.6.374", "GE Healthcare"),
        ("1.3.12.2.1107.5.2", "Siemens Healthineers"),
        ("1.3.46.670589.11.0.0.51.4.56.1", "Philips"),
        ("1.3.6.1.4.1.30071.8", "fo-dicom"),
        ("1.2.826.0.1.3680043.2.1143", None),  # Medical Connections' free root, not a stack
        ("1.2.840.1136190", None),  # a prefix of digits is not a root
    ],
)
def test_implementation_vendor(uid: str, vendor: str | None) -> None:
    assert implementation_vendor(uid) == vendor


@settings(max_examples=300, deadline=500, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2048))
def test_random_bytes_never_raise(cleartext: list[Payload], data: bytes) -> None:
    for prefix in (b"", b"\x01\x00", b"\x02\x00\x00\x00\x01\x00\x00\x01"):
        for result in dicom.dissect(dataclasses.replace(cleartext[0], data=prefix + data)):
            assert isinstance(result, Observation | Finding)


@settings(max_examples=300, deadline=500, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.integers(0, 1), cut=st.integers(0, 2000), position=st.integers(0, 2000), byte=st.integers(0, 255))
def test_corrupted_real_payloads_never_raise(
    cleartext: list[Payload], which: int, cut: int, position: int, byte: int
) -> None:
    data = bytearray(cleartext[which].data[:cut])
    if data:
        data[position % len(data)] = byte
    for result in dicom.dissect(dataclasses.replace(cleartext[which], data=bytes(data))):
        assert isinstance(result, Observation | Finding)
