"""Telnet / FTP dissector on real nDPI captures (telnet.pcap, ftp.pcap)."""

from __future__ import annotations

from tests.discovery._fixtures import assert_never_raises, load, run, values
from wardwatch.discovery import cleartext
from wardwatch.domain.observations import FindingKind, ObservationKind


def test_telnet_server_banner_and_password_prompt() -> None:
    results = run(cleartext.dissect, load("telnet_server"))
    assert len(values(results, FindingKind.TELNET)) == 1
    assert values(results, ObservationKind.SOFTWARE) == ["OpenBSD/i386 (oof) (ttyp2)"]
    assert len(values(results, FindingKind.CLEARTEXT_CREDENTIALS)) == 1
    assert {r.endpoint.ip for r in results} == {"192.168.0.1"}


def test_telnet_client_direction_flags_the_server() -> None:
    results = run(cleartext.dissect, load("telnet_client"))
    assert [(r.kind, r.endpoint.ip) for r in results] == [(FindingKind.TELNET, "192.168.0.1")]


def test_ftp_greeting_and_credentials() -> None:
    server = run(cleartext.dissect, load("ftp_server"))
    assert values(server, ObservationKind.SOFTWARE) == ["vsFTPd 3.0.3"]
    assert len(values(server, FindingKind.FTP)) == 1
    client = run(cleartext.dissect, load("ftp_client"))
    (detail,) = values(client, FindingKind.CLEARTEXT_CREDENTIALS)
    assert "'anonymous'" in detail and "NcFTP@" not in detail  # nDPI: User anonymous
    assert [r.endpoint.ip for r in client if r.kind == FindingKind.CLEARTEXT_CREDENTIALS] == ["192.168.1.212"]
    assert [r.endpoint.ip for r in client if r.kind == FindingKind.FTP] == ["90.130.70.73"]


def test_strip_telnet() -> None:
    assert cleartext.strip_telnet(b"a\xff\xffb\xff\xfa\x18") == b"a\xffb"


def test_fuzz() -> None:
    seeds = [load("telnet_server"), load("telnet_client"), load("ftp_server"), load("ftp_client")]
    assert_never_raises(cleartext.dissect, seeds)
