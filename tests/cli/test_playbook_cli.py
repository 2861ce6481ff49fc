"""``wardwatch playbook`` and ``wardwatch incident`` end to end on the hand-built hospital of the network CLI tests
(five devices; WS-1, WS-2 and CT-WS are Windows 7 with MS17-010 open: the vulnerable ones, worked out by hand;
PUMP-1 is Windows XP with only CVE-2019-0708, MON-1 is Linux)."""

from __future__ import annotations

from pathlib import Path

from tests.cli.test_network_cli import NET, as_json, home, invoke

__all__ = ["home"]  # the fixture, re-used

VULNERABLE = {"WS-1", "WS-2", "CT-WS"}


def test_playbooks_are_listed(home: Path) -> None:
    assert [b["name"] for b in as_json("playbook", "list")] == ["wannacry", "vendor-account", "recall"]
    code, out, _ = invoke("playbook", "list")
    assert code == 0 and all(name in out for name in ("wannacry", "vendor-account", "recall"))  # (titles may wrap)


def test_wannacry_lists_what_the_worm_reaches_plus_the_vulnerable_devices(home: Path) -> None:
    before = as_json("playbook", "run", "wannacry")
    assert {a["name"] for a in before["affected"]} == VULNERABLE
    assert any("no network model" in n for n in before["notes"])
    assert invoke("network", "import", NET / "network.yaml", NET / "core-fw.rules")[0] == 0
    spread = as_json("network", "blast-radius", "--seed", "10.10.4.4", "--worst-case", "--steps", "200")
    reached = {h["name"] for s in spread["steps"] for h in s["infected"] if h["device_id"]}
    assert "WS-1" in reached
    after = as_json("playbook", "run", "wannacry", "--seed", "10.10.4.4")
    assert {a["name"] for a in after["affected"]} == reached | VULNERABLE
    assert next(a for a in after["affected"] if a["name"] == "WS-1")["status"] == "seed"
    code, out, err = invoke("playbook", "run", "wannacry", "--seed", "10.10.4.4")
    assert code == 0 and "Affected devices" in out and "Downtime" in out and "Contacts" in out


def test_an_incident_is_opened_logged_and_closed(home: Path) -> None:
    opened = as_json("playbook", "run", "wannacry", "--open", "--title", "Ransom notes")
    number = str(opened["id"])
    assert opened["title"] == "Ransom notes" and opened["status"] == "open"
    code, out, err = invoke("incident", "log", number, "--step", "block-445", "--note", "ACL on core-fw", "--done",
                            "--contained")  # fmt: skip
    assert code == 0 and "contained" in out, err
    shown = as_json("incident", "show", number)
    item = next(c for c in shown["checklist"] if c["id"] == "block-445")
    assert item["done"] and item["by"] == "system" and item["note"] == "ACL on core-fw"
    assert [i["id"] for i in as_json("incident", "list", "--status", "contained")] == [opened["id"]]
    code, out, _ = invoke("incident", "show", number)
    assert code == 0 and "What was done" in out and "ACL on core-fw" in out
    assert invoke("incident", "close", number, "--note", "clean")[0] == 0
    code, out, err = invoke("incident", "log", number, "--step", "late")
    assert code == 2 and "is closed" in err and len(err.strip().splitlines()) == 1


def test_bad_input_is_one_line_and_exit_2(home: Path) -> None:
    for args, message in (
        (("playbook", "run", "nope"), "no playbook 'nope'"),
        (("playbook", "run", "recall", "--seed", "x"), "takes no --seed"),
        (("playbook", "run", "vendor-account", "--manufacturer", "Zork"), "no device of manufacturer 'Zork'"),
        (("playbook", "run", "wannacry", "--title", "x"), "--title is for --open"),
        (("incident", "show", "99"), "no incident 99"),
        (("incident", "list", "--status", "done"), "status 'done'"),
    ):
        code, out, err = invoke(*args)
        assert code == 2 and message in err, (args, err)
        assert "Traceback" not in out + err and len(err.strip().splitlines()) == 1
