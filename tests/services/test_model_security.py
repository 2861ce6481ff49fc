"""MDS2 forms in the product: imported, linked to device models, shown per device, read by risk scoring."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from wardwatch.domain.intel import Mds2Form
from wardwatch.ingest.errors import IngestError
from wardwatch.services.inventory_import import import_cmms
from wardwatch.services.model_security import form_models, list_forms, security_for
from wardwatch.services.risk import explain, list_risks, rescore
from wardwatch.services.vuln_findings import import_and_match
from wardwatch.settings import Settings
from wardwatch.store.schema import model_security

INTEL = Path(__file__).parents[1] / "fixtures" / "intel"
CSAF = INTEL / "csaf" / "icsma-20-170-06.json"  # BD Alaris: CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L
EXAMPLE = INTEL / "mds2" / "example_pump_mds2.csv"
OFFLINE = {"RMOT-1": "No", "RMOT-2": "No", "RMOT-3": "No", "MPII-3.7": "No", "CONN-4": "No", "MPII-3.6": "No",
           "CONN-1.1.1": "No", "CONN-1.1.2": "No", "CONN-1.1.3": "No"}  # fmt: skip


def write_form(path: Path, answers: dict[str, str], notes: dict[str, str] | None = None) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["id", "question", "answer", "note"])
        for qid, answer in answers.items():
            out.writerow([qid, f"question {qid}", answer, (notes or {}).get(qid, "")])
    return path


def alaris_form(path: Path, **extra: str) -> Path:
    answers = {"DOC-1": "BD", "DOC-3": "Alaris 8015 PC Unit", "DOC-7": "2024-03-01", "AUTH-1": "Yes",
               "MLDP-2": "No", "MLDP-4": "Yes", "CSUP-2": "Yes", "MPII-2": "Yes", **OFFLINE, **extra}  # fmt: skip
    notes = {"CSUP-2": "VxWorks 6.9", "RDMP-3": "End of support: 2025-06-30"}
    answers["RDMP-3"] = "Yes"
    return write_form(path, answers, notes)


def cmms(path: Path) -> Path:
    path.write_text(
        "Asset Tag,Manufacturer,Model,Software Version,Device Type,Criticality\n"
        "PUMP-OLD,BD,Alaris 8015 PC Unit,9.19,Infusion Pump,life-sustaining\n"
        "PUMP-2,Becton Dickinson,alaris pc unit 8015,9.19,Infusion Pump,life-sustaining\n"
        "CAM-1,MediCapture,MVR436,1.0,Video Recorder,non-clinical\n",
        encoding="utf-8",
    )
    return path


def test_form_names_several_models() -> None:
    form = Mds2Form("MediCapture Inc.", "MVR435, MVR436 and MVR450", None, None, {}, {})
    assert form_models(form) == ["MVR435", "MVR436", "MVR450"]
    assert form_models(Mds2Form("BD", "Alaris PC Unit 8015 / 8100", None, None, {}, {})) == [
        "Alaris PC Unit 8015", "Alaris PC Unit 8100"
    ]  # fmt: skip
    assert form_models(Mds2Form("BD", None, None, None, {}, {})) == []


def test_import_links_the_form_to_its_model_and_is_idempotent(engine: Engine, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    import_cmms(engine, cmms(tmp_path / "cmms.csv"))
    report, links, _ = import_and_match(engine, settings, [alaris_form(tmp_path / "alaris.csv")])
    assert [f.kind for f in report.files] == ["mds2"]
    assert [link[1:] for link in links] == [("BD", "Alaris 8015 PC Unit")]
    with engine.connect() as connection:
        # both spellings of the model in the inventory find the one form
        for maker, model in (("BD", "Alaris 8015 PC Unit"), ("Becton Dickinson", "alaris pc unit 8015")):
            found = security_for(connection, maker, model)
            assert found is not None, (maker, model)
            assert found.capabilities["remote_service"] is False
            assert found.controls == ("application-allowlisting", "remote-access-disabled")
            assert found.operating_system == "VxWorks 6.9"
            assert str(found.end_of_support) == "2025-06-30"
        assert security_for(connection, "BD", "Alaris 8100") is None
    _, again, _ = import_and_match(engine, settings, [alaris_form(tmp_path / "alaris.csv")])
    assert again == []  # the same form again changes nothing
    with engine.connect() as connection:
        assert len(connection.execute(select(model_security)).all()) == 1


def test_explicit_model_wins_over_the_forms_metadata(engine: Engine, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    import_cmms(engine, cmms(tmp_path / "cmms.csv"))
    _, links, _ = import_and_match(engine, settings, [EXAMPLE], model="MediCapture MVR436")
    assert [link[1:] for link in links] == [("MediCapture", "MVR436")]
    with engine.connect() as connection:
        (form,) = list_forms(connection)
    assert (form.manufacturer, form.model, form.linked_by) == ("MediCapture", "MVR436", "explicit")
    assert form.capabilities["wireless"] is True  # the example pump's answers


def test_a_form_without_a_model_stores_nothing(engine: Engine, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    nameless = write_form(tmp_path / "nameless.csv", {"DOC-1": "BD", "AUTH-1": "Yes", "MLDP-2": "No", "MLDP-4": "Yes",
                                                      "CSUP-2": "Yes", "SBOM-1": "No"})  # fmt: skip
    with pytest.raises(IngestError, match=r"no model \(DOC-3\).*--model"):
        import_and_match(engine, settings, [nameless, alaris_form(tmp_path / "alaris.csv")])
    assert not (settings.home / "intel").exists()


def _finding(explained: dict[str, object]) -> dict[str, object]:
    findings = explained["findings"]
    assert isinstance(findings, list) and findings
    return {f["vulnerability"]: f for f in findings}


def test_risk_reads_the_form(engine: Engine, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    import_cmms(engine, cmms(tmp_path / "cmms.csv"))
    import_and_match(engine, settings, [CSAF])
    rescore(engine)
    before = explain(engine, "PUMP-OLD")
    import_and_match(engine, settings, [alaris_form(tmp_path / "alaris.csv")])
    after = explain(engine, "PUMP-OLD")
    # the form proves no network interface: the advisory's AV:N is lowered to the local access the device allows
    old, new = _finding(before), _finding(after)
    assert old.keys() == new.keys()
    for cve, finding in new.items():
        assert finding["cvss"] < old[cve]["cvss"], cve
        assert "MDS2 form" in str(finding["note"]) and "lowered from the supplied AV:N" in str(finding["note"])
    # the form's compensating controls and end of support enter the likelihood
    text = str(after["explanation"])
    assert "application allow-listing" in text and "remote access disabled" in text
    assert "application allow-listing" not in str(before["explanation"])
    assert after["score"] <= before["score"]
    # the import rescored the linked model's stored scores
    stored = {r["device"]["asset_tag"]: r for r in list_risks(engine)}
    assert stored["PUMP-OLD"]["score"] == after["score"]
