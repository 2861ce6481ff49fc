"""The HL7 v2 / MLLP dissector on real captures.

- ``hl7.pcap``: nDPI's regression capture (an ADT^A01 v2.3 from 10.0.0.155 to 10.0.0.126:6661 and its ACK).
  Expected MSH values read with ``tshark -r hl7.pcap -V`` and ``-qz follow,tcp,ascii,0``.
- ``hl7_v25_oru.pcap`` / ``hl7_v27_prt.pcap``: made by ``tests/fixtures/pcap/make_dicom_hl7.py`` (a
  ``PATIENT_MONITOR`` at ``ICU_EAST``, 127.0.0.11, sending ORU^R01 to ``CIS`` at 127.0.0.21; invented patients).
"""

from __future__ import annotations

import dataclasses

import hl7 as python_hl7
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.discovery._tcp_streams import streams
from wardwatch.discovery import hl7
from wardwatch.discovery._base import Payload
from wardwatch.domain.observations import Endpoint, Finding, FindingKind, Observation, ObservationKind

MONITOR = Endpoint(ip="127.0.0.11")
CIS = Endpoint(ip="127.0.0.21")
NDPI_SENDER = Endpoint(mac="00:0c:29:b5:b6:48", ip="10.0.0.155")
NDPI_RECEIVER = Endpoint(mac="08:00:27:1d:a6:c2", ip="10.0.0.126")


@pytest.fixture(scope="module")
def ndpi() -> list[Payload]:
    """[ADT^A01 from the sender, ACK from the receiver]."""
    return streams("hl7.pcap")


@pytest.fixture(scope="module")
def oru25() -> list[Payload]:
    """[two ORU^R01 v2.5 from the monitor, two ACKs from the CIS]."""
    return streams("hl7_v25_oru.pcap")


@pytest.fixture(scope="module")
def oru27() -> list[Payload]:
    """[one ORU^R01 v2.7 with OBX-18 and PRT, one ACK]."""
    return streams("hl7_v27_prt.pcap")


def observed(results: list[Observation | Finding], endpoint: Endpoint, kind: ObservationKind) -> list[str]:
    """Observation values of one kind about one endpoint, in order."""
    return [r.value for r in results if isinstance(r, Observation) and r.endpoint == endpoint and r.kind == kind]


def phi(results: list[Observation | Finding]) -> list[Finding]:
    """The PHI_CLEARTEXT findings."""
    return [r for r in results if isinstance(r, Finding) and r.kind is FindingKind.PHI_CLEARTEXT]


def test_ndpi_capture_message_header(ndpi: list[Payload]) -> None:
    message, _ = ndpi
    assert (message.source, message.destination_port, message.packet) == (NDPI_SENDER, 6661, 4)
    results = list(hl7.dissect(message))

    assert observed(results, NDPI_SENDER, ObservationKind.HL7_APPLICATION) == ["SENDING_APPLICATION"]
    assert observed(results, NDPI_SENDER, ObservationKind.HL7_FACILITY) == ["SENDING_FACILITY"]
    assert observed(results, NDPI_RECEIVER, ObservationKind.HL7_APPLICATION) == ["RECEIVING_APPLICATION"]
    assert observed(results, NDPI_RECEIVER, ObservationKind.HL7_FACILITY) == ["RECEIVING_FACILITY"]
    assert observed(results, NDPI_SENDER, ObservationKind.HL7_MESSAGE_TYPE) == ["ADT^A01"]
    assert observed(results, NDPI_SENDER, ObservationKind.HL7_VERSION) == ["2.3"]
    evidence = results[0].evidence
    assert (evidence.source, evidence.locator, evidence.protocol) == ("hl7.pcap", "packet 4", "hl7")


def test_ndpi_patient_data_in_clear_is_a_finding_that_repeats_none_of_it(ndpi: list[Payload]) -> None:
    results = list(hl7.dissect(ndpi[0]))
    (finding,) = phi(results)

    assert finding.endpoint == NDPI_SENDER
    assert "ADT^A01" in finding.detail and "PID" in finding.detail
    text = " ".join([finding.detail, str(finding.evidence.detail)] + [str(r.evidence.detail) for r in results])
    for patient_data in ("MOUSE", "MICKEY", "135769", "19281118", "Main St"):
        assert patient_data not in text


def test_ndpi_acknowledgement(ndpi: list[Payload]) -> None:
    results = list(hl7.dissect(ndpi[1]))

    assert phi(results) == []  # an ACK carries no PID
    assert observed(results, NDPI_RECEIVER, ObservationKind.HL7_APPLICATION) == ["RECEIVING_APPLICATION"]
    assert observed(results, NDPI_SENDER, ObservationKind.HL7_APPLICATION) == ["SENDING_APPLICATION"]
    assert observed(results, NDPI_RECEIVER, ObservationKind.HL7_MESSAGE_TYPE) == ["ACK"]
    assert "MSA-1 AA" in str(results[0].evidence.detail)


def test_several_messages_per_stream_are_reported_once(oru25: list[Payload]) -> None:
    message_stream, ack_stream = oru25
    assert message_stream.data.count(b"\x0bMSH|") == 2 and ack_stream.data.count(b"\x0bMSH|") == 2
    results = list(hl7.dissect(message_stream))

    assert observed(results, MONITOR, ObservationKind.HL7_APPLICATION) == ["PATIENT_MONITOR"]
    assert observed(results, MONITOR, ObservationKind.HL7_FACILITY) == ["ICU_EAST"]
    assert observed(results, CIS, ObservationKind.HL7_APPLICATION) == ["CIS"]
    assert observed(results, CIS, ObservationKind.HL7_FACILITY) == ["GENERAL_HOSPITAL"]
    assert observed(results, MONITOR, ObservationKind.HL7_MESSAGE_TYPE) == ["ORU^R01^ORU_R01"]
    assert observed(results, MONITOR, ObservationKind.HL7_VERSION) == ["2.5"]
    assert observed(results, MONITOR, ObservationKind.HL7_DEVICE_ID) == []
    assert [f.endpoint for f in phi(results)] == [MONITOR]
    second_only = dataclasses.replace(message_stream, data=message_stream.data[message_stream.data.index(b"\x0b", 1) :])
    assert "message 1 in stream" in str(list(hl7.dissect(second_only))[0].evidence.detail)


def test_acks_from_the_receiver(oru25: list[Payload]) -> None:
    results = list(hl7.dissect(oru25[1]))

    assert phi(results) == []
    assert observed(results, CIS, ObservationKind.HL7_APPLICATION) == ["CIS"]
    assert observed(results, CIS, ObservationKind.HL7_MESSAGE_TYPE) == ["ACK^R01^ACK"]
    assert observed(results, MONITOR, ObservationKind.HL7_FACILITY) == ["ICU_EAST"]


def test_no_phi_finding_when_the_flow_is_tls(oru25: list[Payload]) -> None:
    results = list(hl7.dissect(dataclasses.replace(oru25[0], tls=True)))

    assert phi(results) == []
    assert observed(results, MONITOR, ObservationKind.HL7_APPLICATION) == ["PATIENT_MONITOR"]


def test_v27_device_identifiers(oru27: list[Payload]) -> None:
    results = list(hl7.dissect(oru27[0]))

    assert observed(results, MONITOR, ObservationKind.HL7_VERSION) == ["2.7"]
    assert observed(results, MONITOR, ObservationKind.HL7_DEVICE_ID) == [
        "MON-ICU-E-04^PATIENT_MONITOR^1.3.6.1.4.1.99999.1^ISO",  # OBX-18
        "(01)00812345678906(21)MON0004^^2.16.840.1.113883.3.3719^ISO",  # PRT-10, the UDI
        "00812345678906^^2.51.1.1^ISO",  # PRT-16, the device identifier
    ]
    details = [str(r.evidence.detail) for r in results if r.kind is ObservationKind.HL7_DEVICE_ID]
    assert [d.split(" (")[0] for d in details] == [
        "OBX-18 equipment instance identifier",
        "PRT-10 participation device",
        "PRT-16 participant device identifier",
    ]
    assert len(phi(results)) == 1


@pytest.mark.parametrize("capture", ["hl7.pcap", "hl7_v25_oru.pcap", "hl7_v27_prt.pcap"])
def test_agrees_with_python_hl7(capture: str) -> None:
    for payload in streams(capture):
        first = payload.data[1:].split(b"\x1c", 1)[0].decode()
        header = python_hl7.parse(first).segment("MSH")
        results = list(hl7.dissect(payload))
        assert observed(results, payload.source, ObservationKind.HL7_APPLICATION)[0] == str(header(3))
        assert observed(results, payload.source, ObservationKind.HL7_FACILITY)[0] == str(header(4))
        assert observed(results, payload.destination, ObservationKind.HL7_APPLICATION)[-1] == str(header(5))
        assert observed(results, payload.source, ObservationKind.HL7_MESSAGE_TYPE)[0] == str(header(9))
        assert observed(results, payload.source, ObservationKind.HL7_VERSION)[0] == str(header(12))


def test_heuristic(ndpi: list[Payload], oru27: list[Payload]) -> None:
    assert hl7.heuristic(ndpi[0].data[:16]) and hl7.heuristic(oru27[1].data[:16])
    assert hl7.heuristic(b"\x0bFHS|^~\\&|")
    assert not hl7.heuristic(b"MSH|^~\\&|")  # unframed: left to the port
    assert not hl7.heuristic(b"\x0bMSHA^~\\&")
    assert not hl7.heuristic(b"\x01\x00\x00\x00\x01\x00\x00\x01")
    assert hl7.SPEC.name == "hl7" and {2575, 6661} <= hl7.SPEC.ports and hl7.SPEC.heuristic is hl7.heuristic


def _synthetic(template: Payload, text: str) -> Payload:
    return dataclasses.replace(template, data=text.replace("\n", "\r").encode())


def test_message_without_pid_is_not_phi(oru25: list[Payload]) -> None:
    text = "\x0bMSH|^~\\&|PUMP_GW|ICU|EMR|HOSP|20240101||ORU^R01|1|P|2.6\nOBR|1\nOBX|1|NM|x||5\n\x1c\r"
    results = list(hl7.dissect(_synthetic(oru25[0], text)))

    assert phi(results) == []
    assert observed(results, MONITOR, ObservationKind.HL7_VERSION) == ["2.6"]


def test_other_separators_unframed_batches_and_repetitions(oru25: list[Payload]) -> None:
    text = (
        "FHS#$~\\&#BATCHER\nBHS#$~\\&#BATCHER\n"
        "MSH#$~\\&#LAB$1.2.3$ISO#LAB_FAC#EMR#HOSP#20240101##ORU$R01#9#P#2.5.1$USA\n"
        "OBX#1#NM#x##5" + "#" * 13 + "DEV1$ACME~DEV2$ACME\nPID#1\n"
    )
    results = list(hl7.dissect(_synthetic(oru25[0], text)))

    assert observed(results, MONITOR, ObservationKind.HL7_APPLICATION) == ["LAB^1.2.3^ISO"]
    assert observed(results, MONITOR, ObservationKind.HL7_MESSAGE_TYPE) == ["ORU^R01"]
    assert observed(results, MONITOR, ObservationKind.HL7_VERSION) == ["2.5.1"]
    assert observed(results, MONITOR, ObservationKind.HL7_DEVICE_ID) == ["DEV1^ACME", "DEV2^ACME"]
    assert len(phi(results)) == 1


def test_not_hl7_or_unusable_header(oru25: list[Payload]) -> None:
    for text in ("GET / HTTP/1.1\n", "\x0bMSHA", "\x0bMSH|||", "\x0bMSH|^^\n", "", "\x0b\x1c\r"):
        assert list(hl7.dissect(_synthetic(oru25[0], text))) == []


def test_truncated_stream_keeps_complete_segments(oru27: list[Payload]) -> None:
    data = oru27[0].data
    cut = data.index(b"\rPRT")
    results = list(hl7.dissect(dataclasses.replace(oru27[0], data=data[:cut])))

    assert observed(results, MONITOR, ObservationKind.HL7_DEVICE_ID) == [
        "MON-ICU-E-04^PATIENT_MONITOR^1.3.6.1.4.1.99999.1^ISO"
    ]
    for end in range(len(data) + 1):
        list(hl7.dissect(dataclasses.replace(oru27[0], data=data[:end])))


def test_latin1_bytes_do_not_break_parsing(ndpi: list[Payload]) -> None:
    data = ndpi[0].data.replace(b"SENDING_APPLICATION", b"SENDING_\xc9PP")
    results = list(hl7.dissect(dataclasses.replace(ndpi[0], data=data)))

    assert observed(results, NDPI_SENDER, ObservationKind.HL7_APPLICATION) == ["SENDING_\u00c9PP"]


@settings(max_examples=300, deadline=500, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2048))
def test_random_bytes_never_raise(oru25: list[Payload], data: bytes) -> None:
    for prefix in (b"", b"\x0bMSH|^~\\&|", b"MSH|"):
        for result in hl7.dissect(dataclasses.replace(oru25[0], data=prefix + data)):
            assert isinstance(result, Observation | Finding)


@settings(max_examples=300, deadline=500, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(0, 1000), position=st.integers(0, 1000), byte=st.integers(0, 255))
def test_corrupted_real_payloads_never_raise(oru27: list[Payload], cut: int, position: int, byte: int) -> None:
    data = bytearray(oru27[0].data[:cut])
    if data:
        data[position % len(data)] = byte
    for result in hl7.dissect(dataclasses.replace(oru27[0], data=bytes(data))):
        assert isinstance(result, Observation | Finding)
