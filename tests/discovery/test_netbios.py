"""NetBIOS name service dissector on real nDPI captures (netbios.pcap, dos_win98_smb_netbeui.pcap)."""

from __future__ import annotations

from tests.discovery._fixtures import assert_never_raises, load, run, values
from wardwatch.discovery import netbios
from wardwatch.domain.observations import Endpoint, ObservationKind


def test_registration_claims_the_name() -> None:
    # dos_win98_smb_netbeui.pcap packet 9: MDJR98<03> registered for 192.168.239.129 (nDPI: Hostname mdjr98)
    results = run(netbios.dissect, load("nbns_registration"))
    assert values(results, ObservationKind.NETBIOS_NAME) == ["MDJR98"]
    assert results[0].endpoint == Endpoint(mac="00:50:56:33:78:9e", ip="192.168.239.129")
    assert results[0].evidence.detail == "registration, suffix <03> messenger"


def test_query_is_a_lookup_not_a_claim() -> None:
    # netbios.pcap packet 1: broadcast query for XSTREAM_HY<00> (nDPI: Hostname xstream_hy)
    results = run(netbios.dissect, load("nbns_query"))
    assert values(results, ObservationKind.NETBIOS_NAME) == []
    assert values(results, ObservationKind.DNS_QUERY) == ["XSTREAM_HY"]
    assert results[0].endpoint.ip == "10.0.4.131"


def test_node_status_lists_the_responders_names() -> None:
    results = run(netbios.dissect, load("nbns_node_status"))
    names = {(r.value, r.evidence.detail) for r in results}  # type: ignore[union-attr]
    assert ("GUNNAR", "node status, suffix <20> file server") in names
    assert ("VIGILANT_GROUP", "node status, group, suffix <1E> browser election") in names
    assert {r.endpoint for r in results} == {Endpoint(mac="00:1c:c4:10:79:0f", ip="10.0.4.24")}


def test_fuzz() -> None:
    assert_never_raises(netbios.dissect, [load("nbns_registration"), load("nbns_query"), load("nbns_node_status")])
