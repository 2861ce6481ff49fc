"""Grouping observations into endpoints: MAC binding, routers, internet peers."""

from __future__ import annotations

from datetime import UTC, datetime

from wardwatch.domain.endpoints import ROUTER_IP_THRESHOLD, group_endpoints, is_internal
from wardwatch.domain.observations import Conversation, Endpoint, Evidence, Finding, FindingKind, Observation
from wardwatch.domain.observations import ObservationKind as K

NOW = datetime(2026, 11, 28, tzinfo=UTC)
EVIDENCE = Evidence("day.pcap", "packet 1", "dhcp")


def seen(kind: K, value: str, mac: str | None = None, ip: str | None = None) -> Observation:
    return Observation(Endpoint(mac, ip), kind, value, NOW, EVIDENCE)


def test_ip_only_observations_join_the_mac_bound_to_that_ip() -> None:
    records = group_endpoints(
        [
            seen(K.HOSTNAME, "icue-mon-01", mac="00:09:fb:01:02:03", ip="10.1.20.5"),
            seen(K.TLS_SNI, "rs.philips.com", ip="10.1.20.5"),
            seen(K.HL7_APPLICATION, "MONITOR_GW", ip="10.1.20.6"),
        ]
    )
    assert [r.key for r in records] == ["mac:00:09:fb:01:02:03", "ip:10.1.20.6"]
    monitor = records[0]
    assert monitor.ips == {"10.1.20.5"}
    assert monitor.values(K.TLS_SNI) == ["rs.philips.com"]


def test_a_router_mac_does_not_swallow_the_addresses_behind_it() -> None:
    router = "00:00:0c:9f:f0:01"
    observations = [seen(K.SERVICE, "tcp/443", mac=router, ip=f"10.9.0.{i}") for i in range(ROUTER_IP_THRESHOLD + 2)]
    observations.append(seen(K.HTTP_USER_AGENT, "Mozilla/5.0", ip="10.9.0.1"))
    records = group_endpoints(observations)
    assert "ip:10.9.0.1" in {r.key for r in records}
    router_record = next(r for r in records if r.key == f"mac:{router}")
    assert router_record.ips == set()


def test_internet_peers_are_not_devices_but_findings_and_conversations_are_counted() -> None:
    inside, outside = Endpoint("00:1e:a4:00:00:01", "10.1.40.7"), Endpoint(None, "8.8.8.8")
    records = group_endpoints(
        [seen(K.DNS_QUERY, "example.org", mac=inside.mac, ip=inside.ip)],
        [Finding(inside, FindingKind.EXTERNAL_PEER, "talks to 8.8.8.8", NOW, EVIDENCE)],
        [Conversation(inside, outside, "udp", 53, "dns", 2, 180, NOW, NOW)],
    )
    assert [r.key for r in records] == ["mac:00:1e:a4:00:00:01"]
    assert records[0].conversations == 1
    assert [f.kind for f in records[0].findings] == [FindingKind.EXTERNAL_PEER]
    assert records[0].protocols == ["dhcp"]
    assert is_internal("fd00::1")
    assert not is_internal("2001:4860:4860::8888")


def test_a_dhcp_client_before_its_lease_does_not_get_the_unspecified_address() -> None:
    mac = "00:40:ad:01:02:03"
    records = group_endpoints(
        [
            seen(K.HOSTNAME, "pump-137892", mac=mac, ip="0.0.0.0"),  # DHCPDISCOVER from 0.0.0.0
            seen(K.DHCP_VENDOR_CLASS, "Baxter", mac=mac, ip="0.0.0.0"),
            seen(K.SERVICE, "tcp/443", mac=mac, ip="10.1.0.10"),
        ]
    )
    assert [r.key for r in records] == [f"mac:{mac}"]
    assert records[0].ips == {"10.1.0.10"}


def test_a_device_seen_only_before_its_lease_has_no_address() -> None:
    records = group_endpoints([seen(K.HOSTNAME, "pump-1", mac="00:40:ad:01:02:04", ip="0.0.0.0")])
    assert records[0].ips == set()


def test_every_finding_kind_has_words_and_an_unknown_kind_stays_itself() -> None:
    from wardwatch.domain.observations import FindingKind, finding_label

    labels = {kind: finding_label(kind.value) for kind in FindingKind}
    assert all(label and label != kind.value for kind, label in labels.items())
    assert len(set(labels.values())) == len(labels)  # no two kinds read the same
    assert finding_label("smbv1") == "SMBv1 (WannaCry's protocol)"
    assert finding_label("from_a_newer_version") == "from_a_newer_version"
