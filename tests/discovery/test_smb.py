"""SMB dissector: real SMB1 session (smbv1.pcap) and synthetic SMB2 NEGOTIATE."""

from __future__ import annotations

import struct

from tests.discovery._fixtures import assert_never_raises, load, run, synthetic, values
from wardwatch.discovery import smb
from wardwatch.domain.observations import FindingKind, ObservationKind


def test_smb1_client_dialects_and_native_os() -> None:
    results = run(smb.dissect, load("smb1_client"))
    dialects = values(results, ObservationKind.SMB_DIALECT)
    assert dialects[0] == "PC NETWORK PROGRAM 1.0" and dialects[-1] == "NT LM 0.12" and len(dialects) == 6
    assert values(results, ObservationKind.SMB_NATIVE_OS) == ["Windows 2000 2195", "Windows 2000 5.0"]
    assert len(values(results, FindingKind.SMBV1)) == 1
    assert {r.endpoint.ip for r in results} == {"172.16.156.130"}


def test_smb1_server_selects_nt_lm_and_is_flagged() -> None:
    results = run(smb.dissect, load("smb1_server"))
    assert values(results, ObservationKind.SMB_DIALECT) == ["NT LM 0.12"]
    assert values(results, ObservationKind.SMB_NATIVE_OS) == [
        "Windows 7 Ultimate 7601 Service Pack 1",
        "Windows 7 Ultimate 6.1",
    ]
    (smbv1,) = [r for r in results if r.kind == FindingKind.SMBV1]
    assert smbv1.endpoint.ip == "10.128.0.243"


def _smb2(command: int, flags: int, body: bytes) -> bytes:
    header = b"\xfeSMB" + struct.pack("<HHIHHI", 64, 0, 0, command, 0, flags) + bytes(44)
    message = header + body
    return b"\x00" + len(message).to_bytes(3, "big") + message


def test_synthetic_smb2_negotiate() -> None:
    dialects = struct.pack("<5H", 0x0202, 0x0210, 0x0300, 0x0302, 0x0311)
    request = struct.pack("<HHHHI", 36, 5, 1, 0, 0) + bytes(16) + bytes(8) + dialects
    results = run(smb.dissect, synthetic(_smb2(0, 0, request), 50000, 445, transport="tcp"))
    assert values(results, ObservationKind.SMB_DIALECT) == ["SMB 2.0.2", "SMB 2.1", "SMB 3.0", "SMB 3.0.2", "SMB 3.1.1"]
    assert values(results, FindingKind.SMBV1) == []
    response = struct.pack("<HHH", 65, 1, 0x0311) + bytes(58)
    server = run(smb.dissect, synthetic(_smb2(0, 1, response), 445, 50000, from_client=False, transport="tcp"))
    assert values(server, ObservationKind.SMB_DIALECT) == ["SMB 3.1.1"]
    assert values(server, FindingKind.SMBV1) == []


def test_heuristic() -> None:
    assert smb.looks_like_smb(load("smb1_client").data)
    assert not smb.looks_like_smb(b"\x00\x00\x00\x10GET ")


def test_fuzz() -> None:
    assert_never_raises(smb.dissect, [load("smb1_client"), load("smb1_server")])
