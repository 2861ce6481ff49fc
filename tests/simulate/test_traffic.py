"""The sample hospital's traffic: a deterministic pcap in which every networked device identifies itself, and
Zeek logs of the same traffic. The pcap is read with dpkt, independently of Wardwatch's own dissectors."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import socket
import struct
from collections import defaultdict
from pathlib import Path
from typing import Any

import dpkt
import pytest

from wardwatch.simulate import generate, iter_devices, write
from wardwatch.simulate._traffic import write_traffic

ZEEK_HEADER = ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-"]
ZEEK_LOGS = ["conn", "dhcp", "dns", "http", "ssl", "x509", "snmp", "software", "known_services"]


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("small-traffic")
    write(generate("small", 1), out)
    return out


@pytest.fixture(scope="module")
def truth(small: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((small / "truth.json").read_text(encoding="utf-8"))["traffic"]
    return result


@pytest.fixture(scope="module")
def frames(small: Path) -> list[tuple[float, dpkt.ethernet.Ethernet]]:
    with (small / "traffic.pcap").open("rb") as handle:
        return [(ts, dpkt.ethernet.Ethernet(raw)) for ts, raw in dpkt.pcap.Reader(handle)]


def _ip(eth: dpkt.ethernet.Ethernet) -> dpkt.ip.IP | None:
    return eth.data if isinstance(eth.data, dpkt.ip.IP) else None


def _streams(frames: list[tuple[float, dpkt.ethernet.Ethernet]], port: int) -> dict[tuple[str, int, str, int], bytes]:
    """Reassemble TCP payloads by direction, ordered by sequence number (no retransmissions in the capture)."""
    segments: dict[tuple[str, int, str, int], list[tuple[int, bytes]]] = defaultdict(list)
    for _, eth in frames:
        ip = _ip(eth)
        if ip is None or not isinstance(ip.data, dpkt.tcp.TCP) or port not in (ip.data.sport, ip.data.dport):
            continue
        tcp = ip.data
        if tcp.data:
            key = (socket.inet_ntoa(ip.src), tcp.sport, socket.inet_ntoa(ip.dst), tcp.dport)
            segments[key].append((tcp.seq, bytes(tcp.data)))
    return {key: b"".join(data for _, data in sorted(parts)) for key, parts in segments.items()}


def _dhcp_options(frames: list[tuple[float, dpkt.ethernet.Ethernet]]) -> dict[str, dict[int, bytes]]:
    """MAC -> options of its DHCP DISCOVER."""
    found: dict[str, dict[int, bytes]] = {}
    for _, eth in frames:
        ip = _ip(eth)
        if ip is None or not isinstance(ip.data, dpkt.udp.UDP) or ip.data.dport != 67:
            continue
        message = dpkt.dhcp.DHCP(bytes(ip.data.data))
        options = dict(message.opts)
        if options.get(dpkt.dhcp.DHCP_OPT_MSGTYPE) == bytes((dpkt.dhcp.DHCPDISCOVER,)):
            found[message.chaddr[:6].hex(":")] = options
    return found


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def test_same_seed_gives_a_byte_identical_capture_and_logs(small: Path, tmp_path: Path) -> None:
    again, other = tmp_path / "again", tmp_path / "other"
    write_traffic(generate("small", 1), again)
    write_traffic(generate("small", 2), other)
    names = ["traffic.pcap", *(f"zeek/{name}.log" for name in ZEEK_LOGS)]
    for name in names:
        assert (
            hashlib.sha256((again / name).read_bytes()).digest() == hashlib.sha256((small / name).read_bytes()).digest()
        )
    assert (other / "traffic.pcap").read_bytes() != (small / "traffic.pcap").read_bytes()


def test_write_lists_the_traffic_files_and_respects_the_switch(small: Path, tmp_path: Path) -> None:
    names = sorted(p.relative_to(small).as_posix() for p in small.rglob("*") if p.is_file())
    expected = ["traffic.pcap", *(f"zeek/{n}.log" for n in ZEEK_LOGS)]
    assert set(expected) <= set(names)
    paths = write(generate("small", 1), tmp_path / "off", traffic=False)
    assert [p.name for p in paths] == ["cmms_export.csv", "cmms_export.xlsx", "truth.json"]
    assert "traffic" not in json.loads((tmp_path / "off" / "truth.json").read_text(encoding="utf-8"))


def test_pcap_is_classic_ethernet_microseconds_vlan_tagged_and_time_ordered(small: Path, frames: list) -> None:
    header = (small / "traffic.pcap").read_bytes()[:24]
    magic, major, minor, _, _, snaplen, linktype = struct.unpack("<IHHiIII", header)
    assert (magic, major, minor, linktype) == (0xA1B2C3D4, 2, 4, 1)
    assert snaplen == 65_535
    stamps = [ts for ts, _ in frames]
    assert stamps == sorted(stamps)
    assert all(eth.vlan_tags for _, eth in frames)


def test_every_networked_device_identifies_itself_in_the_capture(
    small: Path, truth: dict[str, Any], frames: list
) -> None:
    networked = [d for d in iter_devices(generate("small", 1)) if d.networked]
    by_index = {entry["index"]: entry for entry in truth["devices"].values()}
    assert sorted(by_index) == [d.index for d in networked]
    dhcp = _dhcp_options(frames)
    sources = {socket.inet_ntoa(ip.src) for _, eth in frames if (ip := _ip(eth)) is not None}
    tags = {eth.vlan_tags[0].id for _, eth in frames}
    for device in networked:
        entry = by_index[device.index]
        assert (entry["mac"], entry["ip"], entry["hostname"], entry["vlan"]) == (
            device.mac,
            device.ip,
            device.hostname,
            device.vlan,
        )
        options = dhcp[device.mac]
        assert options[dpkt.dhcp.DHCP_OPT_HOSTNAME].decode() == device.hostname
        assert device.ip in sources
        assert device.vlan in tags
        assert {"dhcp", "dns", "arp"} <= set(entry["protocols"])


def test_dhcp_options_decode_as_the_truth_says(truth: dict[str, Any], frames: list) -> None:
    dhcp = _dhcp_options(frames)
    vendor_classes = set()
    for entry in truth["devices"].values():
        options = dhcp[entry["mac"]]
        assert options[dpkt.dhcp.DHCP_OPT_REQ_IP] == socket.inet_aton(entry["ip"])
        assert list(options[dpkt.dhcp.DHCP_OPT_PARAM_REQ]) == entry["dhcp_param_request_list"]
        assert options[dpkt.dhcp.DHCP_OPT_CLIENT_ID] == b"\x01" + bytes.fromhex(entry["mac"].replace(":", ""))
        vendor = options.get(dpkt.dhcp.DHCP_OPT_VENDOR_ID)
        assert (vendor.decode() if vendor else None) == entry["dhcp_vendor_class"]
        vendor_classes.add(entry["dhcp_vendor_class"])
    assert {"MSFT 5.0", None} <= vendor_classes
    assert any(v and v.startswith(("dhcpcd-", "udhcp ", "android-dhcp-")) for v in vendor_classes)


def test_ip_tcp_and_udp_checksums_are_valid(frames: list) -> None:
    checked = 0
    for _, eth in frames:
        ip = _ip(eth)
        if ip is None:
            continue
        raw = bytes(ip)
        assert _checksum(raw[:20]) == 0xFFFF
        segment = raw[20 : ip.len]
        pseudo = raw[12:20] + struct.pack("!BBH", 0, ip.p, len(segment))
        assert _checksum(pseudo + segment) == 0xFFFF, (ip.p, raw[:40].hex())
        checked += 1
    assert checked > 1_000


def test_dicom_associations_are_well_formed_pdus(truth: dict[str, Any], frames: list) -> None:
    streams = _streams(frames, 104)
    by_ae = {e["dicom_ae_title"]: e for e in truth["devices"].values() if "dicom_called_ae_title" in e}
    assert by_ae, "some modality stores to the PACS in the clear"
    requests = 0
    for (_, _, _, dport), data in streams.items():
        offset, pdus = 0, []
        while offset < len(data):
            pdu_type, length = data[offset], struct.unpack("!I", data[offset + 2 : offset + 6])[0]
            pdus.append((pdu_type, data[offset + 6 : offset + 6 + length]))
            offset += 6 + length
        assert offset == len(data)
        if dport != 104:
            assert [t for t, _ in pdus] == [0x02, 0x04, 0x06]
            continue
        assert [t for t, _ in pdus] in ([0x01, 0x04, 0x05], [0x01, 0x04, 0x04, 0x05])  # echo, or store: command + data
        body = pdus[0][1]
        assert struct.unpack("!H", body[:2])[0] == 1
        called, calling = body[4:20].decode().rstrip(), body[20:36].decode().rstrip()
        items, position = {}, 68
        while position < len(body):
            item_type, item_length = body[position], struct.unpack("!H", body[position + 2 : position + 4])[0]
            items.setdefault(item_type, []).append(body[position + 4 : position + 4 + item_length])
            position += 4 + item_length
        assert position == len(body)
        assert items[0x10] == [b"1.2.840.10008.3.1.1.1"]
        user, sub = items[0x50][0], {}
        at = 0
        while at < len(user):
            sub[user[at]] = user[at + 4 : at + 4 + struct.unpack("!H", user[at + 2 : at + 4])[0]]
            at += 4 + len(sub[user[at]])
        assert at == len(user)
        assert struct.unpack("!I", sub[0x51])[0] == 16_384
        if calling in by_ae:
            entry = by_ae[calling]
            assert called == entry["dicom_called_ae_title"]
            assert sub[0x52].decode() == entry["dicom_implementation_class_uid"]
            assert sub[0x55].decode() == entry["dicom_implementation_version_name"]
            abstract = [ctx[8 : 8 + struct.unpack("!H", ctx[6:8])[0]].decode() for ctx in items[0x20]]
            assert abstract == ["1.2.840.10008.1.1", *entry["dicom_sop_classes"]]
            requests += 1
    assert requests == len(by_ae)


def test_hl7_travels_in_mllp_frames_and_is_acknowledged(truth: dict[str, Any], frames: list) -> None:
    senders = {e["ip"]: e for e in truth["devices"].values() if "hl7_sending_application" in e}
    assert senders
    streams = _streams(frames, 2575)
    seen = set()
    for (src, _, _, dport), data in streams.items():
        assert data.startswith(b"\x0b") and data.endswith(b"\x1c\x0d")
        message = data[1:-2].decode("ascii")
        fields = message.split("\r")[0].split("|")
        assert fields[0] == "MSH" and fields[1] == "^~\\&"
        if dport == 2575:
            entry = senders[src]
            assert fields[2] == entry["hl7_sending_application"]
            assert fields[3] == entry["hl7_sending_facility"]
            assert fields[8] == entry["hl7_message_type"]
            assert "\rOBX|1|" in message
            seen.add(src)
        else:
            assert fields[8].startswith("ACK^")
            assert "\rMSA|AA|" in message
    assert seen == set(senders)


def test_tls_client_hellos_carry_the_expected_server_names(truth: dict[str, Any], frames: list) -> None:
    expected = defaultdict(list)
    for entry in truth["devices"].values():
        for name in entry.get("tls_server_names", []):
            expected[entry["ip"]].append(name)
    found = defaultdict(list)
    for (src, _, _, _), data in _streams(frames, 443).items():
        if data[:1] == b"\x16" and data[5] == 1:
            records = dpkt.ssl.TLSClientHello(data[9 : 9 + int.from_bytes(data[6:9], "big")])
            sni = dict(records.extensions)[0]
            found[src].append(sni[5:].decode())
    for (src, _, _, _), data in _streams(frames, 2762).items():
        if data[:1] == b"\x16" and data[5] == 1:
            found[src].append(dpkt.ssl.TLSClientHello(data[9:]).extensions[0][1][5:].decode())
    assert {ip: sorted(names) for ip, names in found.items()} == {ip: sorted(n) for ip, n in expected.items()}


def test_a_couple_of_devices_reach_a_public_vendor_cloud(truth: dict[str, Any], frames: list) -> None:
    remote = [e for e in truth["devices"].values() if "remote_peer" in e]
    assert 1 <= len(remote) <= 2 * len(truth["infrastructure"])
    destinations = {socket.inet_ntoa(ip.dst) for _, eth in frames if (ip := _ip(eth)) is not None}
    for entry in remote:
        assert ipaddress.ip_address(entry["remote_peer"]["ip"]).is_global
        assert entry["remote_peer"]["ip"] in destinations


def test_snmp_answers_carry_sys_descr(truth: dict[str, Any], frames: list) -> None:
    agents = {e["ip"]: e for e in truth["devices"].values() if "snmp_sys_descr" in e}
    assert agents
    answered = set()
    for _, eth in frames:
        ip = _ip(eth)
        if ip is not None and isinstance(ip.data, dpkt.udp.UDP) and ip.data.sport == 161:
            payload = bytes(ip.data.data)
            entry = agents[socket.inet_ntoa(ip.src)]
            assert b"public" in payload and entry["snmp_sys_descr"].encode() in payload
            answered.add(entry["ip"])
    assert answered == set(agents)


@pytest.mark.parametrize("log", ZEEK_LOGS)
def test_zeek_logs_have_zeek_headers_and_rows_match_fields(small: Path, log: str) -> None:
    lines = (small / "zeek" / f"{log}.log").read_text(encoding="utf-8").split("\n")
    assert lines[-1] == ""
    lines = lines[:-1]
    assert lines[:4] == ZEEK_HEADER
    assert lines[4] == f"#path\t{log}"
    assert lines[5].startswith("#open\t") and len(lines[5].split("\t")[1]) == 19
    fields, types = lines[6].split("\t"), lines[7].split("\t")
    assert fields[0] == "#fields" and types[0] == "#types"
    assert len(fields) == len(types)
    assert lines[-1].startswith("#close\t")
    rows = lines[8:-1]
    assert rows, f"{log}.log is empty"
    for row in rows:
        cells = row.split("\t")
        assert len(cells) == len(fields) - 1
        assert "" not in cells  # unset is "-", empty is "(empty)"
        assert float(cells[0]) > 1.7e9


def test_zeek_conn_and_dhcp_logs_agree_with_the_truth(small: Path, truth: dict[str, Any]) -> None:
    def rows(log: str) -> list[dict[str, str]]:
        lines = (small / "zeek" / f"{log}.log").read_text(encoding="utf-8").splitlines()
        fields = lines[6].split("\t")[1:]
        return [dict(zip(fields, line.split("\t"), strict=True)) for line in lines[8:-1]]

    dhcp = {r["mac"]: r for r in rows("dhcp") if r["msg_types"] == "DISCOVER,OFFER,REQUEST,ACK"}
    for entry in truth["devices"].values():
        assert dhcp[entry["mac"]]["host_name"] == entry["hostname"]
        assert dhcp[entry["mac"]]["assigned_addr"] == entry["ip"]
    uids = {r["uid"] for r in rows("conn")}
    assert all(uid in uids for r in rows("dhcp") for uid in r["uids"].split(","))
    assert {r["uid"] for r in rows("ssl")} <= uids
    agents = {r["user_agent"] for r in rows("http")}
    assert agents == {e["http_user_agent"] for e in truth["devices"].values() if "http_user_agent" in e}


def test_small_traffic_has_realistic_volume(tmp_path: Path) -> None:
    hospital = generate("small", 5)
    result = write_traffic(hospital, tmp_path)
    assert result.packet_count > 1_000


@pytest.mark.slow
def test_medium_traffic_covers_every_networked_device(tmp_path: Path) -> None:
    hospital = generate("medium", 2)
    result = write_traffic(hospital, tmp_path)
    networked = {d.index for d in iter_devices(hospital) if d.networked}
    assert set(result.devices) == networked
    protocols = {p for seen in result.devices.values() for p in seen["protocols"]}
    assert {"dicom", "dicom-tls", "hl7", "http", "tls", "smb", "snmp", "telnet", "remote-service"} <= protocols


def test_most_legacy_windows_smb_servers_offer_smbv1_and_no_modern_one_does(
    truth: dict[str, Any], frames: list
) -> None:
    # The OS of each device, from the generator; what its SMB server said, from the truth and from the capture.
    os_of = {d.index: " ".join(x for x in (d.os_name, d.os_version) if x) for d in iter_devices(generate("small", 1))}
    legacy_prefixes = ("Windows XP", "Windows 7", "Windows Vista", "Windows Server 2003", "Windows Server 2008")
    answers = {}  # device ip -> first SMB header the device sent from port 445
    for (src, sport, _dst, _dport), data in _streams(frames, 445).items():
        if sport == 445 and len(data) >= 8:
            answers.setdefault(src, data[4:8])
    legacy: list[bool] = []
    for entry in truth["devices"].values():
        os_name = os_of[entry["index"]]
        dialect = entry.get("smb_server_dialect")
        if dialect is None:
            continue
        smbv1 = dialect == "NT LM 0.12"
        # the capture agrees with the truth: an SMB1 header from an SMBv1 server, SMB2 from the others
        assert answers[entry["ip"]] == (b"\xffSMB" if smbv1 else b"\xfeSMB"), (entry["hostname"], dialect)
        if os_name.startswith(legacy_prefixes):
            legacy.append(smbv1)
        else:
            assert os_name.startswith("Windows") and not os_name.startswith("Windows CE"), os_name
            assert not smbv1, (entry["hostname"], os_name)
            assert dialect.startswith("SMB 3."), (os_name, dialect)
    assert len(legacy) >= 2, "the small hospital should have a few legacy Windows SMB servers"
    assert sum(legacy) > len(legacy) / 2, legacy  # most still offer SMBv1...
    assert not all(legacy), legacy  # ...but not all: some were hardened
