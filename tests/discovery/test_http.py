"""HTTP dissector on real nDPI captures (http.pcapng, http_auth.pcap)."""

from __future__ import annotations

from tests.discovery._fixtures import assert_never_raises, load, run, synthetic, values
from wardwatch.discovery import http
from wardwatch.domain.observations import Endpoint, FindingKind, ObservationKind

CHROME_30 = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_8_5) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/30.0.1599.69 Safari/537.36"
)


def test_user_agent_belongs_to_the_client() -> None:
    results = run(http.dissect, load("http_curl_request"))
    assert values(results, ObservationKind.HTTP_USER_AGENT) == ["curl/7.68.0"]
    assert results[0].endpoint == Endpoint(mac="3c:a9:f4:a8:1f:ec", ip="192.168.1.128")


def test_server_header_belongs_to_the_server() -> None:
    results = run(http.dissect, load("http_gws_response"))
    assert values(results, ObservationKind.HTTP_SERVER) == ["gws"]
    assert results[0].endpoint.ip == "216.58.208.142"
    assert values(run(http.dissect, load("http_apache_401")), ObservationKind.HTTP_SERVER) == ["Apache"]


def test_basic_credentials_name_the_user_never_the_password() -> None:
    # Authorization: Basic dGVzdDpmYWlsMg== is "test:fail2"
    results = run(http.dissect, load("http_basic_request"))
    assert values(results, ObservationKind.HTTP_USER_AGENT) == [CHROME_30]
    (detail,) = values(results, FindingKind.CLEARTEXT_CREDENTIALS)
    assert "'test'" in detail and "browserspy.dk" in detail
    assert "fail2" not in detail and "dGVzdDpmYWlsMg" not in detail
    assert all(r.endpoint.ip == "192.168.0.4" for r in results)


def test_heuristic_and_tls_flows() -> None:
    assert http.looks_like_http(load("http_curl_request").data)
    assert http.looks_like_http(load("http_gws_response").data)
    assert not http.looks_like_http(b"\x16\x03\x01\x02\x00")
    tls_flow = synthetic(load("http_curl_request").data, 50000, 443, transport="tcp")
    assert run(http.dissect, tls_flow)  # plain HTTP on 443 is read...
    marked = load("http_curl_request")
    object.__setattr__(marked, "tls", True)
    assert run(http.dissect, marked) == []  # ...unless the flow table saw TLS


def test_pipelined_requests_and_bad_basic() -> None:
    data = (
        b"GET / HTTP/1.1\r\nUser-Agent: a\r\n\r\nGET /x HTTP/1.1\r\nAuthorization: Basic !!!\r\nUser-Agent: b\r\n\r\n"
    )
    results = run(http.dissect, synthetic(data, 50000, 80, transport="tcp"))
    assert values(results, ObservationKind.HTTP_USER_AGENT) == ["a", "b"]
    assert values(results, FindingKind.CLEARTEXT_CREDENTIALS) == []


def test_fuzz() -> None:
    assert_never_raises(http.dissect, [load("http_basic_request"), load("http_apache_401")])
