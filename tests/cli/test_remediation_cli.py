"""``wardwatch remediation`` end to end on the hand-built hospital of tests/cli/test_network_cli.py: two Dell
OptiPlex 7010 workstations and a Siemens workstation with CVE-2017-0144, an Acme Legacy Pump 1 with CVE-2019-0708
(expected items worked out by hand)."""

from __future__ import annotations

from pathlib import Path

from tests.cli.test_network_cli import as_json, home, invoke  # noqa: F401 - the fixture is used by name

__all__ = ["home"]


def _ids() -> dict[str, int]:
    return {item["title"]: item["id"] for item in as_json("remediation", "list", "--limit", "0")}


def test_sync_list_and_a_patch_through_every_state(home: Path) -> None:  # noqa: F811
    code, out, err = invoke("remediation", "sync")
    assert code == 0, err
    assert "3 work item(s) from open findings: 3 new" in out
    ids = _ids()
    assert set(ids) == {"CVE-2017-0144 on Dell OptiPlex 7010", "CVE-2019-0708 on Acme Legacy Pump 1",
                        "CVE-2017-0144 on Siemens Healthineers syngo Acquisition Workplace"}  # fmt: skip
    dell = ids["CVE-2017-0144 on Dell OptiPlex 7010"]
    assert as_json("remediation", "show", str(dell))["devices"] == 2

    assert invoke("remediation", "advance", str(dell), "triaged", "--note", "two workstations")[0] == 0
    code, _, err = invoke("remediation", "advance", str(dell), "approved")
    assert code == 2 and "cannot become approved (next: awaiting-validation, mitigated, accepted)" in err
    assert "Traceback" not in err
    assert invoke("remediation", "advance", str(dell), "awaiting-validation", "--fix", "KB4012212")[0] == 0
    code, _, err = invoke("remediation", "advance", str(dell), "approved")
    assert code == 2 and "no validation is recorded" in err and "wardwatch remediation validate" in err
    code, out, err = invoke("remediation", "validate", "--manufacturer", "Dell", "--model", "OptiPlex 7010",
                            "--fix", "KB4012212", "--document", "Dell advisory DSA-2017-001")  # fmt: skip
    assert code == 0 and "validated" in out, err
    assert invoke("remediation", "advance", str(dell), "approved")[0] == 0
    code, _, err = invoke("remediation", "advance", str(dell), "scheduled", "--date", "next tuesday")
    assert code == 2 and "--date 'next tuesday' is not a date" in err
    assert invoke("remediation", "advance", str(dell), "scheduled", "--date", "2026-12-20T22:00")[0] == 0
    assert invoke("remediation", "sign-off", str(dell), "--note", "after hours")[0] == 0
    assert invoke("remediation", "advance", str(dell), "applied")[0] == 0
    assert invoke("remediation", "advance", str(dell), "verified")[0] == 0
    shown = as_json("remediation", "show", str(dell))
    assert shown["state"] == "verified" and [e["to"] for e in shown["events"]][-1] == "verified"
    figures = as_json("remediation", "metrics")
    assert figures["closed"] == 1 and figures["by_state"]["verified"] == 1 and figures["open"] == 2


def test_accept_mitigate_and_bad_input(home: Path) -> None:  # noqa: F811
    assert invoke("remediation", "sync")[0] == 0
    ids = _ids()
    pump = ids["CVE-2019-0708 on Acme Legacy Pump 1"]
    code, _, err = invoke("remediation", "accept", str(pump), "--justification", "x", "--expires", "2020-01-01")
    assert code == 2 and "--expires, a date in the future" in err
    code, out, err = invoke("remediation", "accept", str(pump), "--justification", "replacement ordered",
                            "--expires", "2099-01-01")  # fmt: skip
    assert code == 0 and "accepted until 2099-01-01" in out, err
    siemens = ids["CVE-2017-0144 on Siemens Healthineers syngo Acquisition Workplace"]
    code, _, err = invoke("remediation", "advance", str(siemens), "mitigated", "--control", "prayer")
    assert code == 2 and "isolation, acl, disable-service, monitoring" in err
    assert invoke("remediation", "advance", str(siemens), "mitigated", "--control", "isolation")[0] == 0
    code, _, err = invoke("remediation", "show", "999")
    assert code == 2 and "no remediation item #999" in err
    assert as_json("remediation", "list", "--state", "accepted")[0]["id"] == pump
    found = as_json("remediation", "list", "--search", "legacy pump")
    assert [i["id"] for i in found] == [pump]
    code, _, err = invoke("remediation", "list", "--state", "done")
    assert code == 2 and "unknown state 'done'" in err
