"""Zeek log reader: real trimmed logs from public ICS captures (see tests/fixtures/zeek/README.md)."""

from __future__ import annotations

import gzip
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from wardwatch.domain.observations import (
    Conversation,
    Endpoint,
    Evidence,
    Finding,
    FindingKind,
    Observation,
    ObservationKind,
)
from wardwatch.ingest.errors import IngestError
from wardwatch.ingest.zeek import ZeekResult, read_zeek, stream_zeek

ZEEK = Path(__file__).parent.parent / "fixtures" / "zeek"
TRIDIUM = ZEEK / "tridium-jace2"
SICS = ZEEK / "4sics-151022"
SYNTHETIC = ZEEK / "synthetic"


def values(result: ZeekResult, kind: ObservationKind, ip: str | None = None) -> set[str]:
    return {o.value for o in result.observations if o.kind == kind and (ip is None or o.endpoint.ip == ip)}


def findings(result: ZeekResult, kind: FindingKind) -> list[Finding]:
    return [f for f in result.findings if f.kind == kind]


# --- conn ---------------------------------------------------------------------------------------------------


def test_conn_conversations_are_summed_per_flow() -> None:
    result = read_zeek([TRIDIUM / "conn.log"])

    assert result.stats.records == 28
    assert result.stats.by_log == {"conn": 28}
    assert len(result.conversations) == 16
    rpc = next(c for c in result.conversations if c.port == 135)
    # six real lines 192.168.1.117 -> 192.168.1.120:135, service "-"
    assert rpc.client == Endpoint(ip="192.168.1.117")
    assert rpc.server == Endpoint(ip="192.168.1.120")
    assert rpc.transport == "tcp"
    assert rpc.protocol is None  # Zeek's unset "-" stays unset
    assert rpc.packets == 59
    assert rpc.bytes == 6236  # orig_ip_bytes + resp_ip_bytes
    assert rpc.first_seen == datetime.fromtimestamp(1257542056.337852, UTC)


def test_conn_stream_yields_one_conversation_per_line() -> None:
    stream = stream_zeek([TRIDIUM / "conn.log"])
    conversations = [item for item in stream if isinstance(item, Conversation)]

    assert len(conversations) == 28
    http = next(c for c in conversations if c.protocol == "http")
    assert (http.client.ip, http.server.ip, http.port, http.packets, http.bytes) == (
        "192.168.1.120",
        "64.210.72.11",
        80,
        13,
        4954,
    )
    assert http.last_seen == datetime.fromtimestamp(1257542205.855736 + 0.460682, UTC)
    icmp = next(c for c in conversations if c.transport == "icmp")
    assert icmp.port is None  # an ICMP "port" is a type/code, not a port
    dhcp = next(c for c in conversations if c.protocol == "dhcp" and c.bytes == 339)
    assert dhcp.first_seen == dhcp.last_seen  # duration "-": no end time invented


def test_conn_services_and_external_peers() -> None:
    result = read_zeek([TRIDIUM / "conn.log"])

    assert values(result, ObservationKind.SERVICE, "192.168.1.120") == {"tcp/135"}
    assert values(result, ObservationKind.SERVICE, "68.87.74.162") == {"udp/53"}
    # S0 broadcasts got no answer: no service for 192.168.1.255
    assert not values(result, ObservationKind.SERVICE, "192.168.1.255")
    external = findings(result, FindingKind.EXTERNAL_PEER)
    assert {f.detail for f in external} == {
        "connects to public address 64.210.72.11 (tcp/80)",
        "connects to public address 68.87.74.162 (udp/53)",
    }
    assert all(f.endpoint.ip == "192.168.1.120" for f in external)
    # multicast and broadcast peers are not "public"
    assert not any("224.0.0" in f.detail or "255.255" in f.detail for f in external)


def test_evidence_names_file_line_and_log() -> None:
    result = read_zeek([TRIDIUM / "conn.log"])
    service = next(o for o in result.observations if o.value == "tcp/135")

    assert service.evidence == Evidence("conn.log", "conn.log line 13", "zeek:conn")
    assert service.seen_at == datetime.fromtimestamp(1257542056.337852, UTC)


def test_json_lines_match_tsv() -> None:
    tsv = list(stream_zeek([TRIDIUM / "conn.log"]))
    json = list(stream_zeek([ZEEK / "json" / "conn.log"]))

    assert [c for c in json if isinstance(c, Conversation)] == [c for c in tsv if isinstance(c, Conversation)]
    assert {(type(i), i.endpoint, i.kind) for i in json if not isinstance(i, Conversation)} == {
        (type(i), i.endpoint, i.kind) for i in tsv if not isinstance(i, Conversation)
    }
    assert next(i for i in json if isinstance(i, Observation)).evidence.locator == "conn.log line 5"


def test_conn_with_mac_addresses_and_ula() -> None:
    result = read_zeek([SYNTHETIC / "conn_l2.log"])
    dicom = next(c for c in result.conversations if c.port == 104)

    assert dicom.client == Endpoint(mac="00:09:02:aa:bb:cc", ip="10.20.40.10")
    assert dicom.server == Endpoint(mac="00:1b:ae:00:06:58", ip="10.20.1.5")
    [external] = findings(result, FindingKind.EXTERNAL_PEER)
    assert external.endpoint.ip == "fd12:3456:789a::10"


# --- dhcp, dns, http ----------------------------------------------------------------------------------------


def test_dhcp_real_old_layout() -> None:
    result = read_zeek([TRIDIUM / "dhcp.log"])

    device = Endpoint(mac="00:1b:ae:00:0c:d1", ip="192.168.1.112")
    assert any(o.endpoint == device and o.kind == ObservationKind.MAC for o in result.observations)
    assert values(result, ObservationKind.IP, "192.168.1.112") == {"192.168.1.112"}
    # junk from real traffic is not turned into identities
    assert not any(o.endpoint.mac == "00:00:00:00:00:00" for o in result.observations)
    assert "255.255.255.255" not in values(result, ObservationKind.IP)
    assert not values(result, ObservationKind.HOSTNAME)  # this Zeek version logged no host names


def test_dhcp_modern_layout() -> None:
    result = read_zeek([SYNTHETIC / "dhcp.log"])
    pump = "10.20.30.41"

    assert values(result, ObservationKind.HOSTNAME, pump) == {"INFUSION-07", "infusion-07.icu.example.org"}
    assert values(result, ObservationKind.DHCP_VENDOR_CLASS, pump) == {"MSFT 5.0"}
    assert values(result, ObservationKind.DHCP_REQUESTED_IP) == {"10.20.30.41", "10.20.30.42"}
    discover = [o for o in result.observations if o.endpoint.mac == "00:1b:ae:00:0c:d1"]
    assert {o.kind for o in discover} == {ObservationKind.MAC, ObservationKind.DHCP_REQUESTED_IP}
    assert all(o.endpoint.ip is None for o in discover)  # requested is not assigned


def test_dns_queries_and_mdns_self_announcement() -> None:
    result = read_zeek([TRIDIUM / "dns.log"])

    assert "liveupdate.symantecliveupdate.com" in values(result, ObservationKind.DNS_QUERY, "192.168.1.120")
    netbios = next(o for o in result.observations if o.value == "EMACHINES-T6216")
    assert netbios.endpoint.ip == "192.168.1.102"
    assert netbios.evidence.detail == "netbios-ns"
    assert values(result, ObservationKind.HOSTNAME) == {"laptop-2.local"}
    hostname = next(o for o in result.observations if o.kind == ObservationKind.HOSTNAME)
    assert hostname.endpoint.ip == "192.168.1.128"
    assert hostname.evidence.locator == "dns.log line 16"


def test_http_user_agents_without_credentials() -> None:
    result = read_zeek([TRIDIUM / "http.log", SICS / "http.log"])

    assert values(result, ObservationKind.HTTP_USER_AGENT, "192.168.1.120") >= {
        "Mozilla/4.0 (compatible; UPnP/1.0; Windows NT/5.1)",
        "Mozilla/4.0 (compatible; UPnP/1.0; Windows 9x)",
    }
    assert values(result, ObservationKind.HTTP_USER_AGENT, "192.168.2.199") == {
        "Mozilla/5.0 (X11; Linux x86_64; rv:31.0) Gecko/20100101 Firefox/31.0 Iceweasel/31.8.0"
    }
    assert not values(result, ObservationKind.HTTP_SERVER)  # no such column in these logs
    assert not findings(result, FindingKind.CLEARTEXT_CREDENTIALS)


def test_http_credentials_never_repeat_the_password() -> None:
    result = read_zeek([SYNTHETIC / "http_basic_auth.log"])
    [finding] = findings(result, FindingKind.CLEARTEXT_CREDENTIALS)

    assert finding.endpoint.ip == "10.20.30.90"
    assert "admin" in finding.detail
    everything = repr(result)
    assert "hunter2" not in everything
    assert values(result, ObservationKind.HTTP_SERVER, "10.20.30.90") == {"GoAhead-Webs"}


# --- ssl, x509 ----------------------------------------------------------------------------------------------


def test_ssl_sni_versions_and_old_tls() -> None:
    result = read_zeek([SICS / "ssl.log"])

    assert values(result, ObservationKind.TLS_SNI, "192.168.2.137") == {"192.168.88.61"}
    assert values(result, ObservationKind.TLS_VERSION, "192.168.88.60") == {"TLSv10", "SSLv3"}
    assert not values(result, ObservationKind.TLS_VERSION, "192.168.88.51")  # version "-" on that line
    old = {(f.endpoint.ip, f.detail) for f in findings(result, FindingKind.OLD_TLS)}
    assert ("192.168.88.60", "negotiated SSLv3") in old
    assert ("192.168.88.115", "negotiated TLSv10") in old
    # Zeek writes a backslash as \\ : the RFC 2253 escape in the DN comes back as one backslash
    assert "L=Taipei,SN=Taiwan,C=TW,OU=IEI,O=Moxa Networking Co.\\, Ltd.,CN=192.168.88.60" in values(
        result, ObservationKind.TLS_CERT_SUBJECT, "192.168.88.60"
    )


def test_x509_joined_to_server_through_cert_chain() -> None:
    # x509 given first: the reader still reads ssl first so the join works
    result = read_zeek([SICS / "x509.log", SICS / "ssl.log"], dedupe=False)
    from_x509 = [o for o in result.observations if o.evidence.protocol == "zeek:x509"]

    assert result.stats.by_log["x509"] == 5
    assert result.stats.certs_unjoined == 0
    subjects = {(o.endpoint.ip, o.value) for o in from_x509 if o.kind == ObservationKind.TLS_CERT_SUBJECT}
    assert ("192.168.88.115", "CN=Digi CM,O=Digi International,ST=Minnesota,C=US") in subjects
    issuer = next(
        o for o in from_x509 if o.kind == ObservationKind.TLS_CERT_ISSUER and o.endpoint.ip == "192.168.88.115"
    )
    assert issuer.value == "CN=Digi International,O=Digi International,L=Minneapois,ST=Minnesota,C=US"


def test_x509_without_ssl_is_parsed_but_attached_to_nothing() -> None:
    result = read_zeek([SICS / "x509.log"])

    assert result.stats.records == 5
    assert result.stats.certs_unjoined == 5
    assert not result.observations


# --- snmp, ftp, software, services, smb, dicom, hl7 --------------------------------------------------------


def test_snmp_sysdescr_community_and_findings() -> None:
    result = read_zeek([SICS / "snmp.log"])
    plc = "192.168.88.30"

    [descr] = values(result, ObservationKind.SNMP_SYSDESCR, plc)
    assert descr.startswith("Siemens, SIMATIC S7, CPU-1200, 6ES7 212-1BD30-0XB0")
    assert values(result, ObservationKind.SNMP_COMMUNITY, plc) == {"public"}
    assert {f.kind for f in result.findings if f.endpoint.ip == plc} == {
        FindingKind.SNMP_V1V2C,
        FindingKind.SNMP_DEFAULT_COMMUNITY,
    }


def test_snmp_unset_display_string_gives_nothing() -> None:
    result = read_zeek([ZEEK / "talabor1_2_2" / "snmp.log"])

    assert not values(result, ObservationKind.SNMP_SYSDESCR)
    assert values(result, ObservationKind.SNMP_COMMUNITY, "193.40.240.128") == {"public"}


def test_snmp_private_community_is_masked(tmp_path: Path) -> None:
    log = tmp_path / "snmp.log"
    log.write_text((SICS / "snmp.log").read_text().replace("\tpublic\t", "\tS3cretCommunity\t"))
    result = read_zeek([log])

    assert values(result, ObservationKind.SNMP_COMMUNITY) == {"S***"}
    assert "S3cretCommunity" not in repr(result)
    assert not findings(result, FindingKind.SNMP_DEFAULT_COMMUNITY)


def test_ftp_server_anonymous_login_is_not_a_credential() -> None:
    result = read_zeek([SICS / "ftp.log"])

    [ftp] = findings(result, FindingKind.FTP)
    assert ftp.endpoint.ip == "192.168.88.49"
    assert not findings(result, FindingKind.CLEARTEXT_CREDENTIALS)  # user "ftp" is anonymous


def test_software_known_services_and_smb() -> None:
    result = read_zeek([SYNTHETIC / "software.log", SYNTHETIC / "known_services.log", SYNTHETIC / "smb_mapping.log"])

    assert values(result, ObservationKind.SOFTWARE, "10.20.30.50") == {"HTTP::SERVER Apache 2.2.15"}
    assert values(result, ObservationKind.SOFTWARE, "10.20.30.51") == {"HTTP::BROWSER Java"}  # version unset
    assert values(result, ObservationKind.SERVICE, "10.20.30.60") == {"tcp/104"}
    hl7 = next(o for o in result.observations if o.endpoint.ip == "10.20.30.61")
    assert (hl7.value, hl7.evidence.detail) == ("tcp/2575", "HL7")
    assert values(result, ObservationKind.SMB_SHARE, "10.20.1.5") == {"\\\\PACS01\\IMAGES"}


def test_dicom_and_hl7_plugin_logs() -> None:
    result = read_zeek([SYNTHETIC / "dicom.log", SYNTHETIC / "hl7.log"])

    assert values(result, ObservationKind.DICOM_AE_TITLE, "10.20.40.10") == {"CT_SCANNER_2"}
    assert values(result, ObservationKind.DICOM_AE_TITLE, "10.20.1.5") == {"PACS_ARCHIVE"}
    assert values(result, ObservationKind.DICOM_IMPLEMENTATION_UID) == {"1.2.840.113619.6.94"}
    assert values(result, ObservationKind.DICOM_IMPLEMENTATION_VERSION) == {"GEHC_CT_2.0"}
    assert findings(result, FindingKind.CLEARTEXT_DICOM)[0].endpoint.ip == "10.20.1.5"
    assert values(result, ObservationKind.HL7_APPLICATION, "10.20.50.11") == {"MONITOR_GW"}
    assert values(result, ObservationKind.HL7_FACILITY, "10.20.1.9") == {"MAIN"}
    assert values(result, ObservationKind.HL7_MESSAGE_TYPE) == {"ORU^R01"}
    assert values(result, ObservationKind.HL7_VERSION) == {"2.6"}
    assert result.stats.by_log == {"dicom": 1, "hl7_msh": 1}


# --- folders, formats, damage -------------------------------------------------------------------------------


def test_folder_read_skips_unknown_log_types() -> None:
    result = read_zeek([TRIDIUM])

    assert result.stats.files == 5
    assert result.stats.skipped_logs == {"weird": 1}
    assert result.stats.by_log == {"conn": 28, "dhcp": 17, "dns": 12, "http": 5}
    assert result.stats.repeats > 0  # the same query or MAC seen again is reported once


def test_gzip_reads_like_plain(tmp_path: Path) -> None:
    packed = tmp_path / "dns.log.gz"
    packed.write_bytes(gzip.compress((TRIDIUM / "dns.log").read_bytes()))

    plain, zipped = read_zeek([TRIDIUM / "dns.log"]), read_zeek([packed])
    assert [(o.kind, o.value, o.evidence.locator) for o in zipped.observations] == [
        (o.kind, o.value, o.evidence.locator) for o in plain.observations
    ]
    assert zipped.observations[0].evidence.source == "dns.log.gz"


def test_truncated_gzip_is_an_error_naming_file_and_line(tmp_path: Path) -> None:
    packed = gzip.compress((TRIDIUM / "dhcp.log").read_bytes())
    broken = tmp_path / "dhcp.log.gz"
    broken.write_bytes(packed[: len(packed) // 2])

    with pytest.raises(IngestError, match="truncated or corrupt gzip") as caught:
        list(stream_zeek([broken]))
    assert caught.value.path == str(broken)
    assert caught.value.row is not None


@pytest.mark.parametrize(
    "content",
    [b"hello, this is not a log\n", b"ts,uid,host\n1,2,3\n", b"\x89PNG\r\n\x1a\n\x00\x00"],
)
def test_not_a_zeek_log_is_an_error_naming_the_file(tmp_path: Path, content: bytes) -> None:
    notes = tmp_path / "notes.log"
    notes.write_bytes(content)

    with pytest.raises(IngestError, match="not a Zeek log") as caught:
        read_zeek([notes])
    assert "notes.log" in str(caught.value)
    assert caught.value.row == 1


def test_tsv_without_fields_header_is_an_error(tmp_path: Path) -> None:
    lines = (TRIDIUM / "dhcp.log").read_text().splitlines(keepends=True)
    log = tmp_path / "dhcp.log"
    log.write_text("".join(line for line in lines if not line.startswith(("#fields", "#types"))))

    with pytest.raises(IngestError, match="no #fields header") as caught:
        read_zeek([log])
    assert caught.value.row == 7


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="no such file"):
        read_zeek([tmp_path / "nowhere"])


def test_bad_lines_are_counted_and_skipped(tmp_path: Path) -> None:
    lines = (TRIDIUM / "dns.log").read_bytes().splitlines(keepends=True)
    damaged = [
        *lines[:9],
        b"1257542034.796425\tCX0uaB1EdL7T9eNojf\t192.168.1.102\n",  # line 10: truncated record
        lines[9].replace(b"EMACHINES", b"EMACH\xff\xfeNES"),  # line 11: invalid UTF-8
        b"x" * (3 << 20) + b"\n",  # line 12: 3 MiB, over the 1 MiB cap
        *lines[9:],
    ]
    log = tmp_path / "dns.log"
    log.write_bytes(b"".join(damaged))

    result = read_zeek([log])
    assert result.stats.skipped_lines == 3
    assert result.stats.skip_reasons == {
        "wrong number of fields": 1,
        "not valid UTF-8": 1,
        "longer than 1048576 bytes": 1,
    }
    assert result.stats.records == 12  # every real line still read
    laptop = next(o for o in result.observations if o.kind == ObservationKind.HOSTNAME)
    assert laptop.evidence.locator == "dns.log line 19"  # physical line numbers survive the skips


def test_bad_json_line_is_counted_and_skipped(tmp_path: Path) -> None:
    lines = (ZEEK / "json" / "conn.log").read_text().splitlines(keepends=True)
    log = tmp_path / "conn.log"
    log.write_text("".join([*lines[:3], '{"ts": 1257542034.9, "uid": \n', "[1, 2]\n", *lines[3:]]))

    result = read_zeek([log])
    assert result.stats.skip_reasons == {"not valid JSON": 1, "not a JSON object": 1}
    assert result.stats.records == 28


def test_unset_marker_and_escapes_are_kept_apart(tmp_path: Path) -> None:
    lines = (TRIDIUM / "http.log").read_text().splitlines(keepends=True)
    # a user agent that *is* "-" is written by Zeek as \x2d; a tab inside a value as \x09
    line = lines[8].split("\t")
    line[11] = "\\x2d"
    other = lines[9].split("\t")
    other[11] = "Printer\\x09Agent \\xc3\\xa9"
    log = tmp_path / "http.log"
    log.write_text("".join([*lines[:8], "\t".join(line), "\t".join(other), *lines[10:]]))

    result = read_zeek([log])
    assert values(result, ObservationKind.HTTP_USER_AGENT, "192.168.1.120") >= {"-", "Printer\tAgent é"}


def test_empty_file_is_not_an_error(tmp_path: Path) -> None:
    empty = tmp_path / "conn.log"
    empty.touch()

    result = read_zeek([empty])
    assert result.stats.empty_files == 1
    assert not result.conversations


def test_concatenated_logs_follow_each_header(tmp_path: Path) -> None:
    log = tmp_path / "combined.log"
    with log.open("wb") as out:
        for part in (TRIDIUM / "dhcp.log", TRIDIUM / "weird.log", SICS / "snmp.log"):
            with part.open("rb") as src:
                shutil.copyfileobj(src, out)

    result = read_zeek([log])
    assert result.stats.by_log == {"dhcp": 17, "snmp": 2}
    assert result.stats.skipped_logs == {"weird": 1}
    sysdescr = next(o for o in result.observations if o.kind == ObservationKind.SNMP_SYSDESCR)
    assert sysdescr.evidence.locator == f"snmp.log line {26 + 12 + 9}"


def test_json_path_key_and_iso_timestamps(tmp_path: Path) -> None:
    # LogAscii::json_timestamps=JSON::TS_ISO8601 and a shipper that adds _path (file name says nothing)
    log = tmp_path / "stream.json"
    log.write_text(
        '{"_path":"dns","ts":"2009-11-06T21:22:03.826941Z","id.orig_h":"192.168.1.128","id.orig_p":5353,'
        '"id.resp_h":"224.0.0.251","id.resp_p":5353,"proto":"udp","query":"laptop-2.local",'
        '"answers":["192.168.1.128","laptop-2.local"],"AA":true}\n'
    )

    result = read_zeek([tmp_path])
    [query, hostname] = result.observations
    assert (query.kind, hostname.kind, hostname.value) == (
        ObservationKind.DNS_QUERY,
        ObservationKind.HOSTNAME,
        "laptop-2.local",
    )
    assert hostname.seen_at == datetime(2009, 11, 6, 21, 22, 3, 826941, tzinfo=UTC)
    assert hostname.evidence == Evidence("stream.json", "dns.log line 1", "zeek:dns", "mdns self-announcement")
