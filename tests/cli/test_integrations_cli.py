"""``wardwatch integrations`` end to end on the hand-built hospital of tests/cli/test_network_cli.py (four findings,
all in KEV: WS-1, WS-2, CT-WS with CVE-2017-0144, PUMP-1 with CVE-2019-0708; three work items once synced), with
real listeners on 127.0.0.1."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_network_cli import as_json, home, invoke  # noqa: F401 - the fixture is used by name
from tests.services.test_siem import TcpListener, cef_fields, closed_port, octet_counted, parse
from tests.services.test_tickets import Receiver

__all__ = ["home"]


@pytest.fixture
def tcp() -> Iterator[TcpListener]:
    listener = TcpListener()
    yield listener
    listener.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def test_siem_sends_kev_hits_once_and_a_dead_collector_is_one_line(home: Path, tcp: TcpListener) -> None:  # noqa: F811
    port = closed_port()
    code, out, err = invoke("integrations", "siem", "--to", f"tcp://127.0.0.1:{port}")
    assert code == 2 and f"cannot connect to tcp://127.0.0.1:{port}: Connection refused" in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 2  # one line (Rich may wrap it)

    code, out, err = invoke("integrations", "siem", "--to", f"tcp://127.0.0.1:{tcp.port}")
    assert code == 0, err
    assert f"5 event(s) sent to tcp://127.0.0.1:{tcp.port} as CEF" in out
    messages = [parse(frame) for frame in octet_counted(tcp.take())]
    kinds = sorted(cef_fields(str(m["msg"]))[0][4] for m in messages)
    assert kinds == ["audit.failure"] + ["finding.kev"] * 4  # the KEV hits, and the failed send before
    devices = sorted(cef_fields(str(m["msg"]))[1].get("dhost", "") for m in messages)
    assert devices == ["", "CT-WS", "PUMP-1", "WS-1", "WS-2"]

    assert as_json("integrations", "siem", "--to", f"tcp://127.0.0.1:{tcp.port}")["sent"] == 0
    tcp.take()


def test_siem_dry_run_and_bad_input(home: Path) -> None:  # noqa: F811
    code, out, err = invoke("integrations", "siem", "--to", "udp://127.0.0.1:9", "--dry-run", "--format", "json")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[-1] == "4 event(s) would be sent to udp://127.0.0.1:9 (dry run: nothing sent)"
    assert sorted(json.loads(line)["fields"]["device"] for line in lines[:-1]) == ["CT-WS", "PUMP-1", "WS-1", "WS-2"]
    assert len(as_json("integrations", "siem", "--to", "udp://127.0.0.1:9", "--dry-run")["events"]) == 4
    for args, message in (
        (("--to", "siem.example.org:514"), "is not a syslog address; write udp://HOST:PORT or tcp://HOST:PORT"),
        (("--to", "udp://127.0.0.1:514", "--format", "leef"), "--format 'leef': write cef or json"),
        (("--to", "tcp://no-such-host.invalid:6514"), "cannot connect to tcp://no-such-host.invalid:6514"),
    ):
        code, _, err = invoke("integrations", "siem", *args)
        assert code == 2 and message in err and "Traceback" not in err, err


def test_tickets_csv_and_webhooks(
    home: Path,  # noqa: F811
    tmp_path: Path,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert invoke("remediation", "sync")[0] == 0
    target = tmp_path / "tickets.csv"
    code, out, err = invoke("integrations", "tickets", "--csv", target)
    assert code == 0 and "3 ticket(s) written" in out, err
    rows = list(csv.DictReader(io.StringIO(target.read_bytes().decode("utf-8"), newline="")))
    assert sorted(r["cmdb_ci"] for r in rows) == ["Acme Legacy Pump 1", "Dell OptiPlex 7010",
                                                  "Siemens Healthineers syngo Acquisition Workplace"]  # fmt: skip
    pump = next(r for r in rows if r["cmdb_ci"] == "Acme Legacy Pump 1")
    assert pump["impact"] == "1" and pump["u_devices"] == "PUMP-1"  # life-sustaining

    monkeypatch.setenv("WW_HOOK_SECRET", "s3cret")
    code, out, err = invoke("integrations", "tickets", "--webhook", receiver.url, "--secret-env", "WW_HOOK_SECRET")
    assert code == 0 and "3 ticket(s) delivered, 0 unchanged" in out, err
    for request in receiver.take():
        signature = {k.lower(): v for k, v in request["headers"].items()}["x-wardwatch-signature"]
        assert signature == "sha256=" + hmac.new(b"s3cret", request["body"], hashlib.sha256).hexdigest()
    assert as_json("integrations", "tickets", "--webhook", receiver.url) == {"sent": 0, "unchanged": 3}

    receiver.statuses = [500]
    assert invoke("remediation", "advance", str(json.loads(invoke("remediation", "list", "--json")[1])[0]["id"]),
                  "triaged")[0] == 0  # fmt: skip
    code, _, err = invoke("integrations", "tickets", "--webhook", receiver.url)
    assert code == 2 and f"webhook {receiver.url} answered 500" in err and "Traceback" not in err, err
    assert as_json("integrations", "tickets", "--webhook", receiver.url)["sent"] == 1  # delivered on the next run

    port = closed_port()
    for args, message in (
        ((), "give --csv FILE or --webhook URL"),
        (("--csv", target, "--webhook", receiver.url), "give --csv FILE or --webhook URL"),
        (("--webhook", "ftp://x/y"), "is not an http(s) URL"),
        (("--webhook", receiver.url, "--secret-env", "WW_NOT_SET"), "--secret-env WW_NOT_SET: that environment"),
        (("--csv", target, "--secret-env", "WW_HOOK_SECRET"), "--secret-env signs webhooks"),
        (("--webhook", f"http://127.0.0.1:{port}/x"), f"cannot connect to http://127.0.0.1:{port}/x"),
        (("--csv", tmp_path / "missing" / "t.csv"), "cannot write the CSV"),
    ):
        monkeypatch.delenv("WW_NOT_SET", raising=False)
        code, _, err = invoke("integrations", "tickets", *args)
        assert code == 2 and message in err and "Traceback" not in err, (args, err)
