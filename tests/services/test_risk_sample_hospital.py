"""The sample hospital end to end: CMMS import, a day of traffic, feeds matched, then every device is scored.

Issue 5's "done when": every device of the sample hospital has an explained score and an SSVC priority.
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select

from wardwatch.services.discovery import discover
from wardwatch.services.inventory_import import import_cmms
from wardwatch.services.risk import explain, list_risks, rescore
from wardwatch.services.vuln_findings import import_and_match
from wardwatch.settings import Settings
from wardwatch.simulate import generate, write
from wardwatch.store.database import connect, migrate
from wardwatch.store.schema import devices, risk_explanations, risk_scores, vulnerability_findings


def test_every_sample_hospital_device_has_an_explained_score_and_priority(tmp_path: Path) -> None:
    sample = tmp_path / "sample"
    write(generate("small", 7), sample, feeds=True, cves=3_000)
    engine = connect(f"sqlite:///{tmp_path / 'wardwatch.db'}")
    migrate(engine)
    import_cmms(engine, sample / "cmms_export.csv")
    discover([sample / "traffic.pcap"], engine)
    feeds = sample / "feeds"
    import_and_match(engine, Settings(home=tmp_path / "home"), [
        feeds / "csaf", feeds / "known_exploited_vulnerabilities.json", feeds / "epss_scores.csv.gz", feeds / "nvd",
        feeds / "sbom",
    ])  # fmt: skip
    with engine.connect() as c:
        n_devices = c.execute(select(func.count()).select_from(devices)).scalar_one()
        kev_devices = set(
            c.execute(select(vulnerability_findings.c.device_id).where(vulnerability_findings.c.in_kev.is_(True)))
            .scalars()
        )  # fmt: skip
    assert kev_devices, "the sample hospital has KEV findings"

    report = rescore(engine)
    assert report.devices == n_devices
    with engine.connect() as c:
        query = select(risk_scores, risk_explanations.c.explanation).join(
            risk_explanations, risk_explanations.c.id == risk_scores.c.explanation_id
        )
        stored = list(c.execute(query))
    assert len(stored) == n_devices
    for row in stored:
        explanation = json.loads(row.explanation)
        assert row.ssvc in {"defer", "scheduled", "out-of-cycle", "immediate"}
        assert explanation["ssvc"]["because"].lower().startswith(row.ssvc)
        assert explanation["likelihood"]["because"] and explanation["severity"]["because"]
        assert f"{row.score:g}" in explanation["score"]
        assert row.policy_version == report.policy_version
    # A KEV-listed device is never deferred (SSVC: active exploitation never gives defer).
    by_device = {r.device_id: r for r in stored}
    assert all(by_device[d].ssvc != "defer" or json.loads(by_device[d].explanation)["findings"]["open"] == 0
               for d in kev_devices)  # fmt: skip
    top = list_risks(engine, top=1)[0]
    detail = explain(engine, str(top["device"]["id"]))
    assert detail["score"] == top["score"]
    assert detail["findings"][0]["decision_points"]["exploitation"]["evidence"]
