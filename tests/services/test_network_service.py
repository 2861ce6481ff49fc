"""The stored network model and the System Exposure risk reads from it, on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from wardwatch.domain.netmodel import Decision
from wardwatch.domain.ssvc import SystemExposure
from wardwatch.ingest.errors import IngestError
from wardwatch.services.inventory_import import import_cmms
from wardwatch.services.network import import_network, load_hosts, load_model, stored_network_files
from wardwatch.services.network_exposure import exposure_source
from wardwatch.services.risk import explain
from wardwatch.services.risk_inputs import DiscoveryExposure

NET = Path(__file__).parents[1] / "fixtures" / "network"
FILES = [NET / "network.yaml", NET / "core-fw.rules"]


def cmms(path: Path) -> Path:
    # one device per zone of tests/fixtures/network/network.yaml, and one in no zone
    path.write_text(
        "Asset Tag,Manufacturer,Model,Device Type,Criticality,IP Address\n"
        "PUMP-1,BD,Alaris 8015 PC Unit,Infusion Pump,life-sustaining,10.30.1.5\n"
        "MON-1,Philips,IntelliVue MX800,Patient Monitor,monitoring,10.40.1.5\n"
        "PACS-1,Agfa,Enterprise Imaging,PACS Server,diagnostic,10.20.2.10\n"
        "PC-1,Dell,OptiPlex 7090,Workstation,non-clinical,10.10.4.4\n"
        "LOST-1,Dell,OptiPlex 7090,Workstation,non-clinical,192.168.7.7\n",
        encoding="utf-8",
    )
    return path


def test_import_stores_the_files_in_order_and_is_idempotent(engine: Engine, tmp_path: Path) -> None:
    first = import_network(engine, FILES)
    assert first.changed and [f.original for f in first.files] == ["network.yaml", "core-fw.rules"]
    assert first.zones == 9 and first.rules > 10
    assert not import_network(engine, FILES).changed
    model = load_model(engine)
    assert model is not None
    # the rules' evidence cites the file the hospital gave, with the line
    vendor = model.decide("10.70.0.9", "10.30.1.5", "tcp", 80)
    assert vendor.action == "allow" and vendor.rule is not None
    assert vendor.rule.origin.startswith("core-fw.rules:")
    assert model.decide("10.90.0.9", "10.30.1.5", "tcp", 445).action == "deny"
    # the stored model keeps the same-subnet step: core-fw.rules:28 rejects tcp/445 from 10.10.0.0/16, yet PC-1's
    # neighbours in that one subnet reach it without crossing the firewall
    assert model.decide("10.10.4.5", "10.10.4.4", "tcp", 445) == Decision("allow", None)


def test_a_bad_file_leaves_the_stored_model_as_it_was(engine: Engine, tmp_path: Path) -> None:
    import_network(engine, FILES)
    before = stored_network_files(engine)
    broken = tmp_path / "core-fw.rules"
    broken.write_text((NET / "core-fw.rules").read_text().replace("--dport 2575", "--dport seventy"))
    with pytest.raises(IngestError, match=r"core-fw.rules, row 25: --dport seventy"):
        import_network(engine, [NET / "network.yaml", broken])
    with pytest.raises(IngestError, match="not a network model YAML"):
        import_network(engine, [NET / "network.yaml", Path(__file__)])
    assert stored_network_files(engine) == before


def test_exposure_comes_from_the_network_model(engine: Engine, tmp_path: Path) -> None:
    import_cmms(engine, cmms(tmp_path / "cmms.csv"))
    assert isinstance(exposure_source(engine), DiscoveryExposure)  # no model yet: discovery's evidence only
    assert {h.name for h in load_hosts(engine)} == {"PUMP-1", "MON-1", "PACS-1", "PC-1", "LOST-1"}
    import_network(engine, FILES)
    source = exposure_source(engine)
    with engine.connect() as connection:
        found = source.exposures(connection, None)
    by_tag = {h.name: found.get(h.device_id) for h in load_hosts(engine) if h.device_id is not None}
    # the TEMP vendor rule (core-fw.rules) lets vendor-remote reach everything: controlled, not small
    pump = by_tag["PUMP-1"]
    assert pump is not None and pump.value is SystemExposure.CONTROLLED
    assert "vendor-remote" in pump.evidence and "network model" in pump.evidence
    assert by_tag["LOST-1"] is None  # in no zone: SSVC's default (open) applies
    # the explanation of a device's risk names where its exposure comes from
    explained = explain(engine, "PUMP-1")
    assert "vendor-remote" in str(explained["explanation"])
