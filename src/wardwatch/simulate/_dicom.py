"""DICOM upper-layer PDUs (PS3.8 section 9.3) and the DIMSE messages (PS3.7) a store or echo needs.

Command sets are Implicit VR Little Endian (PS3.7 6.3.1); data sets use the accepted transfer syntax,
Explicit VR Little Endian here.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

APPLICATION_CONTEXT = "1.2.840.10008.3.1.1.1"
VERIFICATION = "1.2.840.10008.1.1"
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
MAX_PDU = 16_384

ASSOCIATE_RQ, ASSOCIATE_AC, P_DATA_TF, RELEASE_RQ, RELEASE_RP = 0x01, 0x02, 0x04, 0x05, 0x06


def _uid(uid: str) -> bytes:
    """UIDs in PDU items are not padded (PS3.8 9.3.2.2); in data elements they are padded to even length."""
    return uid.encode("ascii")


def _item(item_type: int, value: bytes) -> bytes:
    return struct.pack("!BBH", item_type, 0, len(value)) + value


def _ae(title: str) -> bytes:
    return title.encode("ascii")[:16].ljust(16, b" ")


def _user_info(implementation_uid: str, version_name: str) -> bytes:
    return _item(
        0x50,
        _item(0x51, struct.pack("!I", MAX_PDU))
        + _item(0x52, _uid(implementation_uid))
        + _item(0x55, version_name.encode("ascii")[:16]),
    )


def _pdu(pdu_type: int, body: bytes) -> bytes:
    return struct.pack("!BBI", pdu_type, 0, len(body)) + body


def associate_rq(
    calling: str,
    called: str,
    abstract_syntaxes: Sequence[str],
    implementation_uid: str,
    version_name: str,
) -> bytes:
    """A-ASSOCIATE-RQ proposing one presentation context (odd ids 1, 3, ...) per abstract syntax."""
    contexts = b"".join(
        _item(
            0x20,
            struct.pack("!BBBB", 2 * i + 1, 0, 0, 0)
            + _item(0x30, _uid(sop))
            + _item(0x40, _uid(EXPLICIT_LE))
            + _item(0x40, _uid(IMPLICIT_LE)),
        )
        for i, sop in enumerate(abstract_syntaxes)
    )
    body = (
        struct.pack("!HH", 1, 0)
        + _ae(called)
        + _ae(calling)
        + bytes(32)
        + _item(0x10, _uid(APPLICATION_CONTEXT))
        + contexts
        + _user_info(implementation_uid, version_name)
    )
    return _pdu(ASSOCIATE_RQ, body)


def associate_ac(calling: str, called: str, context_count: int, implementation_uid: str, version_name: str) -> bytes:
    """A-ASSOCIATE-AC accepting every proposed context with Explicit VR Little Endian."""
    contexts = b"".join(
        _item(0x21, struct.pack("!BBBB", 2 * i + 1, 0, 0, 0) + _item(0x40, _uid(EXPLICIT_LE)))
        for i in range(context_count)
    )
    body = (
        struct.pack("!HH", 1, 0)
        + _ae(called)
        + _ae(calling)
        + bytes(32)
        + _item(0x10, _uid(APPLICATION_CONTEXT))
        + contexts
        + _user_info(implementation_uid, version_name)
    )
    return _pdu(ASSOCIATE_AC, body)


def release_rq() -> bytes:
    """A-RELEASE-RQ."""
    return _pdu(RELEASE_RQ, bytes(4))


def release_rp() -> bytes:
    """A-RELEASE-RP."""
    return _pdu(RELEASE_RP, bytes(4))


def _padded(value: bytes, pad: bytes) -> bytes:
    return value + pad if len(value) % 2 else value


def _implicit(group: int, element: int, value: bytes) -> bytes:
    return struct.pack("<HHI", group, element, len(value)) + value


def _command(elements: Sequence[tuple[int, bytes]]) -> bytes:
    body = b"".join(_implicit(0x0000, tag, value) for tag, value in elements)
    return _implicit(0x0000, 0x0000, struct.pack("<I", len(body))) + body


def _us(value: int) -> bytes:
    return struct.pack("<H", value)


def _ui(uid: str) -> bytes:
    return _padded(uid.encode("ascii"), b"\x00")


def p_data(context_id: int, is_command: bool, value: bytes) -> bytes:
    """P-DATA-TF with one PDV, the last fragment of a command or data set."""
    header = 0x03 if is_command else 0x02
    pdv = struct.pack("!IBB", len(value) + 2, context_id, header) + value
    return _pdu(P_DATA_TF, pdv)


def c_echo_rq(message_id: int) -> bytes:
    """C-ECHO-RQ command set."""
    return _command(
        [(0x0002, _ui(VERIFICATION)), (0x0100, _us(0x0030)), (0x0110, _us(message_id)), (0x0800, _us(0x0101))]
    )


def c_echo_rsp(message_id: int) -> bytes:
    """C-ECHO-RSP command set, status Success."""
    return _command(
        [
            (0x0002, _ui(VERIFICATION)),
            (0x0100, _us(0x8030)),
            (0x0120, _us(message_id)),
            (0x0800, _us(0x0101)),
            (0x0900, _us(0)),
        ]
    )


def c_store_rq(message_id: int, sop_class: str, sop_instance: str) -> bytes:
    """C-STORE-RQ command set, medium priority (a data set follows)."""
    return _command(
        [
            (0x0002, _ui(sop_class)),
            (0x0100, _us(0x0001)),
            (0x0110, _us(message_id)),
            (0x0700, _us(0)),
            (0x0800, _us(0x0000)),
            (0x1000, _ui(sop_instance)),
        ]
    )


def c_store_rsp(message_id: int, sop_class: str, sop_instance: str) -> bytes:
    """C-STORE-RSP command set, status Success."""
    return _command(
        [
            (0x0002, _ui(sop_class)),
            (0x0100, _us(0x8001)),
            (0x0120, _us(message_id)),
            (0x0800, _us(0x0101)),
            (0x0900, _us(0)),
            (0x1000, _ui(sop_instance)),
        ]
    )


def _explicit(group: int, element: int, vr: str, value: bytes) -> bytes:
    return struct.pack("<HH2sH", group, element, vr.encode("ascii"), len(value)) + value


def dataset(
    sop_class: str, sop_instance: str, study: str, series: str, modality: str, patient: tuple[str, str]
) -> bytes:
    """A minimal Explicit VR Little Endian image header (no pixel data), elements in ascending tag order."""
    name, mrn = patient
    return b"".join(
        (
            _explicit(0x0008, 0x0016, "UI", _ui(sop_class)),
            _explicit(0x0008, 0x0018, "UI", _ui(sop_instance)),
            _explicit(0x0008, 0x0060, "CS", _padded(modality.encode("ascii"), b" ")),
            _explicit(0x0010, 0x0010, "PN", _padded(name.encode("ascii"), b" ")),
            _explicit(0x0010, 0x0020, "LO", _padded(mrn.encode("ascii"), b" ")),
            _explicit(0x0020, 0x000D, "UI", _ui(study)),
            _explicit(0x0020, 0x000E, "UI", _ui(series)),
        )
    )
