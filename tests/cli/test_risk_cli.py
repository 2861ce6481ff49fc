"""``wardwatch risk`` end to end: a CMMS inventory, findings rows, then scores, explain, what-if and acceptances."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select
from typer.testing import CliRunner

from wardwatch.cli.app import app
from wardwatch.settings import Settings
from wardwatch.store.database import connect
from wardwatch.store.schema import devices, risk_scores, vulnerability_findings

CMMS_CSV = """Asset Tag,Manufacturer,Model,Software Version,Operating System,OS Version,Device Type,Department
PUMP-1,BD,Alaris 8015 PC Unit,9.19,,,Infusion Pump,ICU
PUMP-2,BD,Alaris 8015 PC Unit,9.19,,,Infusion Pump,ICU
WS-1,Philips,IntelliSpace Workstation,,Windows 7,SP1,Workstation,Radiology
"""
NOW = datetime(2026, 11, 28, tzinfo=UTC)


def invoke(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WARDWATCH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("WARDWATCH_DATABASE_URL", raising=False)
    assert invoke("init")[0] == 0
    export = tmp_path / "cmms.csv"
    export.write_text(CMMS_CSV, encoding="utf-8")
    code, _, err = invoke("inventory", "import", export)
    assert code == 0, err
    engine = connect(Settings().resolved_database_url)
    with engine.begin() as c:
        ids = {tag: i for i, tag in c.execute(select(devices.c.id, devices.c.asset_tag))}
        rows: list[dict[str, Any]] = [
            {"device_id": ids[tag], "vulnerability_id": vid, "component_ref": "", "source": "test",
             "confidence": "confirmed", "vex_status": None, "suppressed": False, "in_kev": kev, "epss": epss,
             "epss_percentile": None, "cvss_score": 9.8, "cvss_vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
             "detail": "{}", "first_seen": NOW, "last_seen": NOW, "resolved_at": None}
            for tag, vid, kev, epss in [("PUMP-1", "CVE-2020-1", True, 0.9), ("PUMP-2", "CVE-2020-1", True, 0.9),
                                        ("WS-1", "CVE-2017-0144", False, 0.3)]
        ]  # fmt: skip
        c.execute(insert(vulnerability_findings), rows)
    engine.dispose()
    return tmp_path / "home"


def test_risk_lists_scores_as_json_and_table(home: Path) -> None:
    code, out, err = invoke("risk", "--json")
    assert code == 0, err
    document = json.loads(out)
    assert document["total"] == 3
    first = document["devices"][0]
    assert set(first) >= {"device", "score", "level", "ssvc", "explanation", "policy_version", "findings"}
    assert first["ssvc"] == "immediate"
    assert first["device"]["model"] == "Alaris 8015 PC Unit"
    assert [d["score"] for d in document["devices"]] == sorted((d["score"] for d in document["devices"]), reverse=True)
    code, out, _ = invoke("risk", "--top", "1")
    assert code == 0
    assert "Alaris" in out and "IntelliSpace" not in out
    code, out, _ = invoke("risk", "--by", "type", "--json")
    groups = {g["key"]: g for g in json.loads(out)["groups"]}
    assert groups["infusion-pump"]["devices"] == 2
    code, _, err = invoke("risk", "--by", "colour")
    assert code == 2
    assert "--by 'colour' is not one of" in err


def test_explain_says_why(home: Path) -> None:
    code, out, err = invoke("risk", "explain", "PUMP-1")
    assert code == 0, err
    assert "Immediate because" in out
    assert "catastrophic" in out
    code, out, _ = invoke("risk", "explain", "PUMP-1", "--json")
    detail = json.loads(out)
    assert detail["policy_version"] == "2026.1"
    assert detail["findings"][0]["decision_points"]["exploitation"]["value"] == "active"
    code, _, err = invoke("risk", "explain", "NOPE-9")
    assert code == 2
    assert "NOPE-9" in err


def test_simulate_prints_before_and_after_and_stores_nothing(home: Path, tmp_path: Path) -> None:
    invoke("risk", "rescore")
    engine = connect(Settings().resolved_database_url)
    with engine.connect() as c:
        before = sorted(map(tuple, c.execute(select(risk_scores))), key=repr)
    scenario = tmp_path / "patch.yaml"
    scenario.write_text("name: patch pumps\nchanges:\n  - patch: {type: infusion-pump, version: '12.2'}\n")
    code, out, err = invoke("risk", "simulate", scenario)
    assert code == 0, err
    assert "What if: patch pumps" in out
    assert "immediate" in out and "defer" in out
    code, out, _ = invoke("risk", "simulate", scenario, "--json")
    document = json.loads(out)
    assert len(document["devices"]) == 2
    assert all(d["after"]["ssvc"] == "defer" for d in document["devices"])
    with engine.connect() as c:
        assert sorted(map(tuple, c.execute(select(risk_scores))), key=repr) == before
    engine.dispose()
    bad = tmp_path / "bad.yaml"
    bad.write_text("changes:\n  - isolate: {zone: guest}\n")
    code, out, err = invoke("risk", "simulate", bad)
    assert code == 2
    assert "bad.yaml: changes[0].isolate: unknown key 'zone'" in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err + out


def test_a_scenario_names_a_device_by_asset_tag_as_every_command_does(home: Path, tmp_path: Path) -> None:
    invoke("risk", "rescore")
    scenario = tmp_path / "one.yaml"
    scenario.write_text("changes:\n  - patch: {device: PUMP-1, version: '12.2'}\n")
    code, out, err = invoke("risk", "simulate", scenario, "--json")
    assert code == 0, err
    changed = json.loads(out)["devices"]
    assert len(changed) == 1 and changed[0]["after"]["ssvc"] == "defer"
    scenario.write_text("changes:\n  - patch: {device: NO-SUCH-TAG, version: '12.2'}\n")
    code, _, err = invoke("risk", "simulate", scenario)
    assert code == 2
    assert "one.yaml: no device has the id, asset tag, serial or MAC 'NO-SUCH-TAG'" in err


def test_accept_list_and_revoke(home: Path) -> None:
    invoke("risk", "rescore")
    expires = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    code, out, err = invoke("risk", "accept", "PUMP-1", "--vulnerability", "CVE-2020-1", "--approver", "CMIO",
                            "--justification", "replacement ordered", "--control", "network-segmentation",
                            "--expires", expires, "--json")  # fmt: skip
    assert code == 0, err
    new_id = json.loads(out)["id"]
    code, out, _ = invoke("risk", "acceptances", "--json")
    [row] = json.loads(out)["acceptances"]
    assert (row["id"], row["status"], row["controls"]) == (new_id, "active", ["network-segmentation"])
    code, out, _ = invoke("risk", "explain", "PUMP-1", "--json")
    assert json.loads(out)["findings"][0]["status"] == "accepted"
    code, _, err = invoke("risk", "accept", "PUMP-1", "--approver", "x", "--justification", "y", "--expires", "soon")
    assert code == 2 and "YYYY-MM-DD" in err
    assert invoke("risk", "revoke", str(new_id))[0] == 0
    code, _, err = invoke("risk", "revoke", str(new_id))
    assert code == 2 and "no active acceptance" in err


def test_rescore_only_devices_of_a_vulnerability_and_rubric(home: Path) -> None:
    code, out, err = invoke("risk", "rescore", "--vulnerability", "CVE-2017-0144", "--json")
    assert code == 0, err
    assert json.loads(out)["devices"] == 1
    code, out, err = invoke(
        "risk", "rubric", "Philips", "IntelliSpace Workstation", "XAVN=NO", "XAVP=YES", "--by", "me"
    )
    assert code == 0, err
    code, _, err = invoke("risk", "rubric", "Philips", "IntelliSpace Workstation", "XAVN", "--by", "me")
    assert code == 2 and "CODE=ANSWER" in err
