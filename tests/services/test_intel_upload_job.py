"""The intelligence upload job stores the file and re-matches: a web upload produces findings."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import Engine

from wardwatch.domain.permissions import Principal, Role
from wardwatch.services.inventory_import import import_cmms
from wardwatch.services.jobs import JobRunner, get_job, submit
from wardwatch.services.vuln_findings import stored_findings
from wardwatch.settings import Settings

INTEL = Path(__file__).parents[1] / "fixtures" / "intel"
ADVISORY = INTEL / "csaf" / "icsma-20-170-06.json"
HEADER = "Asset Tag,Manufacturer,Model,Software Version,Operating System,OS Version,Device Type\n"


def test_an_uploaded_advisory_is_matched_to_the_devices(engine: Engine, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    cmms = tmp_path / "cmms.csv"
    cmms.write_text(HEADER + "PUMP-OLD,BD,Alaris 8015 PC Unit,9.19,,,Infusion Pump\n", encoding="utf-8")
    import_cmms(engine, cmms)
    upload = tmp_path / "upload" / ADVISORY.name
    upload.parent.mkdir()
    shutil.copyfile(ADVISORY, upload)
    itsec = Principal(username="sam", role=Role.ITSEC, user_id=1)
    job = submit(engine, itsec, "intel_import", {"path": str(upload)})
    runner = JobRunner(engine, settings)
    runner.enqueue(job["id"])
    runner.wait(120)
    runner.shutdown()
    done = get_job(engine, itsec, job["id"])
    assert done["status"] == "succeeded", done["message"]
    found = stored_findings(engine, settings)
    assert found and {f["device"]["asset_tag"] for f in found} == {"PUMP-OLD"}
    assert {f["source"] for f in found} == {"csaf:ICSMA-20-170-06"}
    assert done["result"]["rematch"]["new"] == len(found)


def test_an_uploaded_mds2_form_without_a_model_is_linked_to_the_model_given(engine: Engine, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    cmms = tmp_path / "cmms.csv"
    cmms.write_text(HEADER + "PUMP-1,BD,Alaris 8015 PC Unit,9.19,,,Infusion Pump\n", encoding="utf-8")
    import_cmms(engine, cmms)
    form = tmp_path / "upload" / "form.csv"
    form.parent.mkdir()
    form.write_text("id,question,answer\nDOC-1,Manufacturer,BD\nAUTH-1,Login?,Yes\nMLDP-2,Anti-malware?,No\n"
                    "MLDP-4,Allow-listing?,Yes\nRMOT-1,Remote?,No\nSBOM-1,SBOM?,Yes\n", encoding="utf-8")  # fmt: skip
    biomed = Principal(username="bea", role=Role.BIOMED, user_id=2)
    runner = JobRunner(engine, settings)
    nameless = submit(engine, biomed, "intel_import", {"path": str(form)})
    named = submit(engine, biomed, "intel_import", {"path": str(form), "model": "BD Alaris 8015 PC Unit"})
    for job in (nameless, named):
        runner.enqueue(job["id"])
    runner.wait(120)
    runner.shutdown()
    refused = get_job(engine, biomed, nameless["id"])
    assert refused["status"] == "failed" and "no model (DOC-3)" in refused["message"]
    done = get_job(engine, biomed, named["id"])
    assert done["status"] == "succeeded", done["message"]
    assert done["result"]["mds2_links"] == [{"manufacturer": "BD", "model": "Alaris 8015 PC Unit"}]
