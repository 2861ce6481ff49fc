"""Remediation tickets on real SQLite and PostgreSQL: the ServiceNow import-set CSV read back with the csv module,
and webhooks received by a real HTTP server on 127.0.0.1 (http.server in a thread) that checks the HMAC signature.

The hospital is tests/services/test_siem.py's; its work items, worked out by hand:

    Acme Pump 9 × CVE-2024-0001: P1 only (P2's finding is suppressed), life-sustaining  -> impact 1
    Dell OptiPlex × CVE-2017-0144 and × CVE-2024-0009: W1, non-clinical                   -> impact 3
    Philips MX800 × CVE-2024-0002: M1, monitoring                                         -> impact 2
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from tests.services.test_siem import NOW, build_hospital, closed_port
from wardwatch.domain.permissions import SYSTEM, Principal, Role
from wardwatch.services import remediation, tickets
from wardwatch.services.tickets import COLUMNS, TicketError, neutralise
from wardwatch.store.schema import audit_log, devices, remediation_items

BIOMED = Principal("bea", Role.BIOMED, 1)
ITSEC = Principal("ivan", Role.ITSEC, 2)
SECRET = b"shared-secret-\xc3\xa9"


@pytest.fixture
def items(engine: Engine) -> dict[str, int]:
    """The hospital's work items by CVE."""
    build_hospital(engine)
    remediation.sync(engine, SYSTEM, now=NOW)
    with engine.connect() as connection:
        return {r.vulnerability_id: r.id for r in connection.execute(select(remediation_items))}


class Receiver:
    """A webhook receiver: records each request; answers the statuses queued (200 when none is)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                status = outer.statuses.pop(0) if outer.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/wardwatch"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def take(self) -> list[dict[str, Any]]:
        got, self.requests = self.requests, []
        return got

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def _parse(text: str) -> list[dict[str, str]]:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == list(COLUMNS)
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def test_neutralise() -> None:
    assert [neutralise(v) for v in ("=1+2", "+1", "-2", "@SUM(A1)", "\tx", "\rx", "a=b", "", "WW-1")] == [
        "'=1+2", "'+1", "'-2", "'@SUM(A1)", "'\tx", "'\rx", "a=b", "", "WW-1"]  # fmt: skip


def test_csv_in_the_servicenow_import_set_shape(engine: Engine, items: dict[str, int], tmp_path: Path) -> None:
    pump, workstation, monitor = items["CVE-2024-0001"], items["CVE-2017-0144"], items["CVE-2024-0002"]
    remediation.advance(engine, BIOMED, pump, "triaged", now=NOW)
    remediation.advance(engine, ITSEC, workstation, "mitigated", controls=["isolation"], now=NOW)
    with engine.begin() as connection:  # hostile values a spreadsheet would run
        connection.execute(update(remediation_items).where(remediation_items.c.id == monitor)
                           .values(priority="immediate", assignee="@evil", fix="-1+1"))  # fmt: skip
        connection.execute(update(devices).where(devices.c.asset_tag == "M1").values(asset_tag="=HYPERLINK(1)"))

    path = tmp_path / "tickets.csv"
    assert tickets.write_csv(engine, SYSTEM, path, now=NOW) == 4
    text = path.read_bytes().decode("utf-8")
    assert text.startswith('"number","short_description","description","urgency","impact","priority","state",')
    assert "\r\n" in text
    rows = {r["u_wardwatch_id"]: r for r in _parse(text)}
    assert len(rows) == 4

    p = rows[str(pump)]
    # scheduled -> urgency 3; life-sustaining -> impact 1; priority 3 (ServiceNow's default matrix)
    assert (p["number"], p["urgency"], p["impact"], p["priority"]) == (f"WW-{pump}", "3", "1", "3")
    assert (p["state"], p["u_wardwatch_state"], p["assignment_group"]) == ("2", "triaged", "Biomedical Engineering")
    assert (p["cmdb_ci"], p["u_cve"], p["u_devices"], p["u_device_count"]) == (
        "Acme Pump 9",
        "CVE-2024-0001",
        "P1",
        "1",
    )
    assert p["short_description"] == "CVE-2024-0001 on Acme Pump 9" and p["assigned_to"] == "bea"
    assert p["due_date"] == "2027-03-01 09:00:00"  # 90 days (scheduled), UTC
    assert p["description"].splitlines()[:2] == [f"Wardwatch work item #{pump}: CVE-2024-0001 on Acme Pump 9",
                                                 "Vulnerability: CVE-2024-0001"]  # fmt: skip

    w = rows[str(workstation)]
    assert (w["urgency"], w["impact"], w["priority"]) == ("3", "3", "5")
    assert (w["state"], w["assignment_group"]) == ("6", "IT Security")
    assert "Compensating controls: isolation" in w["description"]

    m = rows[str(monitor)]
    assert (m["urgency"], m["impact"], m["priority"]) == ("1", "2", "2")  # immediate; monitoring
    assert (m["assigned_to"], m["u_fix"], m["u_devices"]) == ("'@evil", "'-1+1", "'=HYPERLINK(1)")
    assert m["state"] == "1" and m["u_ssvc_priority"] == "immediate"

    with engine.connect() as connection:
        entry = connection.execute(select(audit_log).where(audit_log.c.action == "integrations.tickets")).one()
    assert json.loads(entry.detail) == {"format": "csv", "tickets": 4}
    # A clinician's CSV has their unit's items only
    nurse = Principal("nina", Role.CLINICIAN, 9, unit="ICU")
    assert [r["u_cve"] for r in _parse(tickets.tickets_csv(engine, nurse, now=NOW))] == ["CVE-2024-0001"]


def _verify(request: dict[str, Any]) -> dict[str, Any]:
    headers = {k.lower(): v for k, v in request["headers"].items()}
    expected = "sha256=" + hmac.new(SECRET, request["body"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-wardwatch-signature"], expected)
    document = json.loads(request["body"])
    assert headers["x-wardwatch-item"] == str(document["item"]["id"])
    assert headers["idempotency-key"] == f"wardwatch-{document['item']['id']}-{document['version']}"
    assert headers["content-type"] == "application/json"
    return document


def test_webhooks_deliver_new_and_changed_items_once_signed(
    engine: Engine, items: dict[str, int], receiver: Receiver
) -> None:
    assert tickets.push_webhooks(engine, SYSTEM, receiver.url, secret=SECRET, now=NOW) == {"sent": 4, "unchanged": 0}
    first = [_verify(r) for r in receiver.take()]
    assert [d["item"]["id"] for d in first] == sorted(items.values())
    assert {d["event"] for d in first} == {"work_item.created"}
    pump = next(d for d in first if d["item"]["id"] == items["CVE-2024-0001"])
    assert pump["servicenow"]["number"] == f"WW-{items['CVE-2024-0001']}" and pump["item"]["device_names"] == ["P1"]

    # Nothing changed: nothing sent
    assert tickets.push_webhooks(engine, SYSTEM, receiver.url, secret=SECRET, now=NOW) == {"sent": 0, "unchanged": 4}
    assert receiver.take() == []

    # One step: that item only, as an update with a new idempotency key
    remediation.advance(engine, BIOMED, items["CVE-2024-0001"], "triaged", now=NOW)
    assert tickets.push_webhooks(engine, SYSTEM, receiver.url, secret=SECRET, now=NOW)["sent"] == 1
    (request,) = receiver.take()
    update_doc = _verify(request)
    assert update_doc["event"] == "work_item.updated" and update_doc["item"]["state"] == "triaged"
    assert update_doc["version"] != pump["version"]
    # Unsigned without a secret
    remediation.advance(engine, BIOMED, items["CVE-2024-0002"], "triaged", now=NOW)
    tickets.push_webhooks(engine, SYSTEM, receiver.url, now=NOW)
    (request,) = receiver.take()
    assert "x-wardwatch-signature" not in {k.lower() for k in request["headers"]}


def test_a_refused_webhook_is_an_error_and_is_delivered_again(
    engine: Engine, items: dict[str, int], receiver: Receiver
) -> None:
    receiver.statuses = [500]
    with pytest.raises(TicketError, match=rf"webhook {receiver.url} answered 500 Internal Server Error for work item"):
        tickets.push_webhooks(engine, SYSTEM, receiver.url, now=NOW)
    assert len(receiver.take()) == 1
    name = tickets.webhook_state_name(receiver.url)
    from wardwatch.store.schema import intel_state  # noqa: PLC0415

    with engine.connect() as connection:
        assert connection.execute(select(intel_state).where(intel_state.c.name == name)).first() is None

    # Two succeed, the third fails: the next run sends the third and the fourth only
    receiver.statuses = [200, 204, 503]
    with pytest.raises(TicketError, match="503 Service Unavailable .*2 delivered, 2 left for the next run"):
        tickets.push_webhooks(engine, SYSTEM, receiver.url, now=NOW)
    ids = sorted(items.values())
    assert [json.loads(r["body"])["item"]["id"] for r in receiver.take()] == ids[:3]
    assert tickets.push_webhooks(engine, SYSTEM, receiver.url, now=NOW) == {"sent": 2, "unchanged": 2}
    assert [json.loads(r["body"])["item"]["id"] for r in receiver.take()] == ids[2:]
    with engine.connect() as connection:
        query = select(audit_log.c.outcome).where(audit_log.c.action == "integrations.webhook")
        outcomes = list(connection.execute(query.order_by(audit_log.c.id)).scalars())
    assert outcomes == ["failure", "failure", "success"]


def test_webhook_connection_problems_and_bad_urls(engine: Engine, items: dict[str, int]) -> None:
    port = closed_port()
    with pytest.raises(TicketError, match=rf"cannot connect to http://127\.0\.0\.1:{port}/hook: .*4 left"):
        tickets.push_webhooks(engine, SYSTEM, f"http://127.0.0.1:{port}/hook?token=abc", timeout=2, now=NOW)
    with engine.connect() as connection:
        targets = list(
            connection.execute(select(audit_log.c.target).where(audit_log.c.action == "integrations.webhook")).scalars()
        )
    assert targets == [f"http://127.0.0.1:{port}/hook"]  # the query (which may carry a token) is not kept
    for bad in ("ftp://x/hook", "hook", "http:///nohost"):
        with pytest.raises(ValueError, match="is not an http\\(s\\) URL"):
            tickets.push_webhooks(engine, SYSTEM, bad)
