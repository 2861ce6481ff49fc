"""The sample hospital's alarm-delivery network (alarms/topology.yaml, alarms/deliveries.csv) and the benchmark
health system: the topology is valid and reads back equal, its two deliberate flaws are there (one alarm server
for every unit; one ICU whose monitors and phones share the 5 GHz band only) and nothing else breaks a budget with
one failure, every budget is approved, the deliveries hold late and lost alarms and one silence, the same seed
gives the same bytes, and the benchmark has exactly the requested counts."""

from __future__ import annotations

import csv
import re
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import networkx as nx
import pytest

from wardwatch.domain.alarm_model import AlarmTopology, Medium, Priority
from wardwatch.simulate import Hospital, generate
from wardwatch.simulate._alarms import (
    ALARM_SERVER,
    DELIVERY_COLUMNS,
    SampleAlarms,
    bench_topology,
    build_alarm_topology,
    sample_alarms,
    write_alarms,
)

# Written by hand from the catalog's generator kinds: which ones raise alarms, as which source kind.
SOURCE_KIND = {
    "patient_monitor": "monitor", "hemodynamic_monitor": "monitor", "telemetry": "telemetry",
    "infusion_pump": "pump", "syringe_pump": "pump", "pca_pump": "pump", "ventilator": "ventilator",
    "nurse_call": "nurse-call",
}  # fmt: skip
BUDGETS = {"high": 10.0, "medium": 30.0, "low": 120.0}
ISO_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@pytest.fixture(scope="module")
def hospital() -> Hospital:
    return generate("small", 1)


@pytest.fixture(scope="module")
def sample(hospital: Hospital) -> SampleAlarms:
    return sample_alarms(hospital)


@pytest.fixture(scope="module")
def written(hospital: Hospital, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_alarms(hospital, tmp_path_factory.mktemp("alarms-small"))


@pytest.fixture(scope="module")
def rows(written: list[Path]) -> list[dict[str, str]]:
    with written[1].open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def graph(topology: AlarmTopology, without: frozenset[str] | set[str] = frozenset()) -> nx.MultiDiGraph:
    """The alarm-carrying arcs of ``topology`` without the nodes and links in ``without``."""
    g = nx.MultiDiGraph()
    g.add_nodes_from(n.id for n in topology.nodes if n.id not in without)
    for link in topology.links:
        if link.id in without or link.a in without or link.b in without:
            continue
        g.add_edge(link.a, link.b, key=link.id)
        if link.bidirectional:
            g.add_edge(link.b, link.a, key=link.id)
    return g


def members(topology: AlarmTopology, group_id: str) -> set[str]:
    return set(topology.group_by_id[group_id].members)


def unit_slug(sample: SampleAlarms, unit: str) -> str:
    return next(b.primary[0] for b in sample.topology.budgets if b.unit == unit).removesuffix("-phones")


# --- the topology -------------------------------------------------------------------------------------------------


def test_writes_a_topology_and_deliveries_under_alarms(written: list[Path]) -> None:
    assert [p.relative_to(p.parent.parent).as_posix() for p in written] == [
        "alarms/topology.yaml",
        "alarms/deliveries.csv",
    ]
    text = written[0].read_text(encoding="utf-8")
    assert text.startswith("# Alarm-delivery topology of the Wardwatch sample hospital")
    header = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    assert "ONE alarm server" in header and "rf-riv-icue-5ghz" in header and "ICU East" in header


def test_the_yaml_reads_back_to_the_same_topology(hospital: Hospital, written: list[Path]) -> None:
    reader = pytest.importorskip("wardwatch.ingest.alarm_topology")
    parsed = reader.read_alarm_topology(written[0])
    assert parsed == build_alarm_topology(hospital)


def test_one_source_per_unit_and_device_kind_with_the_plans_counts(hospital: Hospital, sample: SampleAlarms) -> None:
    main = hospital.sites[0]
    places = {s.site_id: s.name.split(" General Hospital")[0].split(" Community Health Center")[0]
              for s in hospital.sites}  # fmt: skip
    expected: dict[tuple[str, str], int] = {}
    for unit, plan in zip(hospital.units, hospital.plans, strict=True):
        if unit.name == "Biomed Shop":  # bench devices raise no clinical alarms
            continue
        name = unit.name.replace("/", " and ")
        label = name if unit.site_id == main.site_id else f"{places[unit.site_id]} {name}"
        for kind, count in plan.type_counts:
            if kind in SOURCE_KIND:
                key = (label, SOURCE_KIND[kind])
                expected[key] = expected.get(key, 0) + count
    got = {(s.unit, s.device_kind): s.devices for s in sample.topology.sources}
    assert got == expected
    assert set(sample.units) == {unit for unit, _ in expected}
    # every unit with sources has its nurse phones, a charge-nurse pager and a central station
    by_kind = Counter((n.kind, n.unit) for n in sample.topology.nodes)
    for label in sample.units:
        assert by_kind[("phone", label)] == by_kind[("pager", label)] == by_kind[("central-station", label)] == 1


def test_alarm_types_follow_the_device_kind(sample: SampleAlarms) -> None:
    alarms = {s.device_kind: set(s.alarm_types) for s in sample.topology.sources}
    assert alarms["monitor"] == {"arrhythmia", "spo2-low", "apnea"}
    assert alarms["pump"] == {"occlusion", "infusion-complete"}
    assert alarms["ventilator"] == {"disconnect", "high-pressure"}


def test_latencies_are_in_realistic_ranges(sample: SampleAlarms) -> None:
    topology = sample.topology
    for link in topology.links:
        if link.medium is Medium.WIFI:
            assert 0.1 <= link.latency.max_s <= 0.5, link
        elif link.medium is Medium.WIRED:
            assert 0.001 <= link.latency.max_s <= 0.01, link
    nodes = topology.node_by_id
    assert 1.0 <= nodes[ALARM_SERVER].processing.max_s <= 2.0
    assert [n.id for n in topology.nodes if n.kind == "alarm-server"] == [ALARM_SERVER]
    for node in topology.nodes:
        if node.kind == "middleware":
            assert 0.5 <= node.processing.max_s <= 1.0
        if node.kind == "phone":
            assert node.processing.max_s == 0.5
            assert not node.failable  # a group of handsets
    monitors = nodes["riv-icue-monitors"]
    assert (monitors.failover.detection_s, monitors.failover.retry_s) == (3.0, 1.0)
    assert (nodes[ALARM_SERVER].failover.detection_s, nodes[ALARM_SERVER].failover.retry_s) == (5.0, 1.0)


def test_units_with_more_than_ten_alarm_devices_have_two_aps(sample: SampleAlarms) -> None:
    topology = sample.topology
    devices = Counter[str]()
    for source in topology.sources:
        devices[source.unit] += source.devices
    aps = Counter(n.unit for n in topology.nodes if n.kind == "ap" and n.unit)
    for unit in sample.units:
        want = 2 if devices[unit] > 10 or unit == sample.flawed_unit else 1
        assert aps[unit] == want, unit


# --- the flaws ------------------------------------------------------------------------------------------------


def rf_groups_of(topology: AlarmTopology, links: list[str]) -> set[str]:
    return {g for link in links for g in topology.groups_of.get(link, ()) if topology.group_by_id[g].kind == "rf"}


def test_the_flawed_icu_shares_one_rf_group_between_monitors_and_phones(sample: SampleAlarms) -> None:
    topology = sample.topology
    assert sample.flawed_unit == "ICU East"  # the first unit whose name contains ICU
    assert sample.flawed_group == "rf-riv-icue-5ghz"
    expected = {sample.flawed_unit: {sample.flawed_group}, "ICU West": {"rf-riv-icuw-5ghz", "rf-riv-icuw-2.4ghz"}}
    for unit, shared in expected.items():
        slug = unit_slug(sample, unit)
        monitor_links = [x.id for x in topology.links if x.a == f"{slug}-monitors" and x.medium is Medium.WIFI]
        phone_links = [x.id for x in topology.links if x.b == f"{slug}-phones" and x.medium is Medium.WIFI]
        assert monitor_links and phone_links
        assert rf_groups_of(topology, monitor_links) & rf_groups_of(topology, phone_links) == shared
        if unit == sample.flawed_unit:  # both on that one band only
            assert rf_groups_of(topology, monitor_links) == rf_groups_of(topology, phone_links) == shared
    # the ICU's pumps still have their 2.4 GHz fallback (the flaw is the monitors' and the phones')
    assert "rf-riv-icue-2.4ghz" in rf_groups_of(topology, [x.id for x in topology.links if x.a == "riv-icue-pumps"])


def test_jamming_the_icus_5ghz_band_cuts_its_monitors_from_its_phones(sample: SampleAlarms) -> None:
    topology = sample.topology
    monitors, phones = "riv-icue-monitors", "riv-icue-phones"
    assert nx.has_path(graph(topology), monitors, phones)
    assert not nx.has_path(graph(topology, members(topology, sample.flawed_group)), monitors, phones)
    # elsewhere jamming a unit's 5 GHz band leaves the 2.4 GHz fallback
    for unit in sample.units:
        if unit == sample.flawed_unit:
            continue
        slug = unit_slug(sample, unit)
        jammed = graph(topology, members(topology, f"rf-{slug}-5ghz"))
        for source in topology.sources:
            if source.unit == unit:
                assert nx.has_path(jammed, source.node, f"{slug}-phones"), source.node


def test_every_route_to_the_phones_goes_through_the_one_alarm_server(sample: SampleAlarms) -> None:
    topology = sample.topology
    whole, without = graph(topology), graph(topology, {ALARM_SERVER})
    for source in topology.sources:
        phones = f"{unit_slug(sample, source.unit)}-phones"
        assert nx.has_path(whole, source.node, phones)
        assert not nx.has_path(without, source.node, phones), source.node
        # the central station sees the monitors directly, without the server
        assert nx.has_path(without, source.node, phones.replace("-phones", "-central"))


def test_k1_verification_finds_exactly_the_two_flaws(sample: SampleAlarms) -> None:
    verify = pytest.importorskip("wardwatch.domain.alarm_verify").verify
    apply_candidate = pytest.importorskip("wardwatch.domain.alarm_recommend").apply_candidate
    topology = sample.topology
    as_is = verify(topology, 1)
    assert as_is.results and all(not r.passed for r in as_is.results)  # the alarm server stops every flow
    assert all(r.nominal_s <= r.budget_s for r in as_is.results)  # ... but with nothing failed all are in time
    spof = {p.element for p in as_is.single_points_of_failure}
    assert {ALARM_SERVER, "vmhost-1", sample.flawed_group} <= spof
    candidates = {c.id: c for c in topology.candidates}
    assert set(candidates) == {"second-alarm-server", "riv-icue-2.4ghz-fallback", "riv-icue-wired-and-dect"}
    two_servers = apply_candidate(topology, candidates["second-alarm-server"])
    after = verify(two_servers, 1)
    assert {r.unit for r in after.failing} == {sample.flawed_unit}
    high = [r for r in after.failing if r.priority == "high"]
    assert high and all((sample.flawed_group,) in r.breaking_sets for r in high)
    for fix in ("riv-icue-2.4ghz-fallback", "riv-icue-wired-and-dect"):
        assert verify(apply_candidate(two_servers, candidates[fix]), 1).passed, fix


def test_the_recommendation_fixes_both_flaws(sample: SampleAlarms) -> None:
    from wardwatch.domain.alarm_recommend import apply_candidate, recommend  # noqa: PLC0415
    from wardwatch.domain.alarm_verify import verify  # noqa: PLC0415

    advice = recommend(sample.topology, 1)
    assert advice.complete and advice.failing_before == len(verify(sample.topology, 1).results)
    chosen = [a.candidate for a in advice.additions]
    # one addition removes the alarm server (and its VM host) as single point of failure, one the ICU's band
    assert any(ALARM_SERVER in {x.a for x in c.links} | {x.b for x in c.links} or
               any(n.kind == "alarm-server" for n in c.nodes) for c in chosen)  # fmt: skip
    assert len(chosen) <= 3
    fixed = sample.topology
    for candidate in chosen:
        fixed = apply_candidate(fixed, candidate)
    assert verify(fixed, 1).passed


# --- budgets --------------------------------------------------------------------------------------------------


def test_every_unit_has_approved_budgets_for_each_alarm_type(sample: SampleAlarms) -> None:
    topology = sample.topology
    by_unit: dict[str, set[str]] = {}
    for budget in topology.budgets:
        by_unit.setdefault(budget.unit, set()).add(budget.alarm_type)
        assert budget.approved_by and budget.approved_by.startswith("Dr. ")
        assert budget.approved_at is not None and budget.approved_at.tzinfo is not None
        assert budget.approved_at < datetime(2024, 12, 31, tzinfo=UTC)  # before the deliveries were observed
        assert budget.max_delivery_s == BUDGETS[budget.priority.value]
        assert budget.primary == (f"{unit_slug(sample, budget.unit)}-phones",)
        if budget.priority is Priority.HIGH:
            assert budget.escalation == (f"{unit_slug(sample, budget.unit)}-charge-pager",)
            assert budget.escalate_after_s == 30.0
            assert budget.confirmed and (budget.heartbeat_interval_s, budget.heartbeat_misses) == (2.0, 3)
        else:
            assert not budget.escalation and not budget.confirmed
    for source in topology.sources:
        assert set(source.alarm_types) <= by_unit[source.unit]
    assert set(by_unit) == set(sample.units)


# --- deliveries ---------------------------------------------------------------------------------------------


def test_deliveries_have_the_documented_columns_and_times(written: list[Path], rows: list[dict[str, str]]) -> None:
    with written[1].open(encoding="utf-8") as handle:
        assert handle.readline().rstrip("\n").split(",") == list(DELIVERY_COLUMNS)
    assert 0 < len(rows) <= 20_500  # small: a day, kept near 20k rows
    for row in rows:
        assert ISO_MS.fullmatch(row["sent"])
        assert row["received"] == "" or ISO_MS.fullmatch(row["received"])
        assert row["heartbeat"] in ("true", "false")
    sent = sorted(row["sent"] for row in rows)
    assert sent[0].startswith("2024-12-31") and sent[-1].startswith("2024-12-31")  # one day


def latency(row: dict[str, str]) -> float:
    def at(text: str) -> datetime:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)

    return (at(row["received"]) - at(row["sent"])).total_seconds()


def test_test_alarms_include_late_and_lost_ones(rows: list[dict[str, str]], sample: SampleAlarms) -> None:
    tests = [r for r in rows if r["heartbeat"] == "false"]
    assert len(tests) == 50
    lost = [r for r in tests if not r["received"]]
    late = [r for r in tests if r["received"] and latency(r) > BUDGETS[r["priority"]]]
    assert 1 <= len(lost) <= 2 and all(not r["acknowledged"] for r in lost)
    assert 2 <= len(late) <= 5
    units = set(sample.units)
    for row in tests:
        assert row["unit"] in units and row["priority"] in BUDGETS and row["alarm_type"]
        assert row["recipient"] == f"{unit_slug(sample, row['unit'])}-phones"
        if row["received"]:
            assert row["acknowledged"] > row["received"]


def test_heartbeats_every_minute_or_so_with_one_ten_minute_silence(rows: list[dict[str, str]],
                                                                   sample: SampleAlarms) -> None:  # fmt: skip
    beats = [r for r in rows if r["heartbeat"] == "true"]
    high_sources = {s.node for s in sample.topology.sources if any(
        b.priority is Priority.HIGH and b.unit == s.unit and b.alarm_type in s.alarm_types
        for b in sample.topology.budgets)}  # fmt: skip
    assert {r["source"] for r in beats} == high_sources
    assert all(r["priority"] == "" and r["alarm_type"] == "" for r in beats)  # probes, not prioritised alarms
    streams: dict[str, list[str]] = {}
    sends: dict[str, list[str]] = {}
    for row in beats:
        sends.setdefault(row["source"], []).append(row["sent"])
        if row["received"]:
            streams.setdefault(row["source"], []).append(row["received"])

    def gaps(times: list[str]) -> list[float]:
        moments = [datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC) for t in sorted(times)]
        return [(b - a).total_seconds() for a, b in zip(moments, moments[1:], strict=False)]

    interval = round(Counter(round(g) for g in gaps(sends["riv-icue-monitors"])).most_common(1)[0][0])
    assert interval % 60 == 0 and 60 <= interval <= 300
    silent = [source for source, times in streams.items() if max(gaps(times)) > 3 * interval]
    assert silent == ["riv-icue-monitors"]
    longest = max(gaps(streams["riv-icue-monitors"]))
    assert timedelta(minutes=9) <= timedelta(seconds=longest) <= timedelta(minutes=20)


def test_the_deliveries_file_reads_with_the_importer(written: list[Path], rows: list[dict[str, str]]) -> None:
    reader = pytest.importorskip("wardwatch.ingest.alarm_deliveries")
    records = reader.read_delivery_records(written[1])
    assert len(records) == len(rows)
    assert sum(r.received_at is None for r in records) == sum(not r["received"] for r in rows)


# --- determinism and the other sizes ------------------------------------------------------------------------


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    first = [p.read_bytes() for p in write_alarms(generate("small", 3), tmp_path / "a")]
    again = [p.read_bytes() for p in write_alarms(generate("small", 3), tmp_path / "b")]
    other = [p.read_bytes() for p in write_alarms(generate("small", 4), tmp_path / "c")]
    assert first == again
    assert first[0] != other[0] and first[1] != other[1]


def test_medium_has_every_site_and_one_flawed_icu() -> None:
    hospital = generate("medium", 1)
    sample = sample_alarms(hospital)
    assert sample.flawed_unit == "ICU East"
    assert {n.site for n in sample.topology.nodes if n.kind == "switch" and n.site} == {s.name for s in hospital.sites}
    assert "Northgate ICU East" in sample.units  # units outside the main site carry its place name
    assert sum(1 for n in sample.topology.nodes if n.kind == "alarm-server") == 1


# --- the benchmark ------------------------------------------------------------------------------------------


def test_bench_topology_hits_the_requested_counts_quickly() -> None:
    start = time.perf_counter()
    topology = bench_topology()
    elapsed = time.perf_counter() - start
    assert (len(topology.nodes), len(topology.links), len(topology.groups)) == (5000, 20000, 500)
    assert 900 <= len(topology.sources) <= 1100
    assert set(topology.units()) == {b.unit for b in topology.budgets} == {s.unit for s in topology.sources}
    assert elapsed < 15  # about 1 s here; generous for a loaded CI machine
    assert bench_topology() == topology  # deterministic


@pytest.mark.parametrize(("nodes", "links", "groups"), [(400, 1600, 40), (2000, 6000, 150)])
def test_bench_topology_other_counts(nodes: int, links: int, groups: int) -> None:
    topology = bench_topology(nodes, links, groups, seed=5)
    assert (len(topology.nodes), len(topology.links), len(topology.groups)) == (nodes, links, groups)


def test_bench_budgets_mostly_hold_for_one_failure_but_not_all() -> None:
    verify = pytest.importorskip("wardwatch.domain.alarm_verify").verify
    result = verify(bench_topology(400, 1600, 40), 1)
    failing_units = {r.unit for r in result.failing}
    assert result.failing and len(result.failing) < len(result.results) / 4
    assert failing_units == {"H01 ICU 1"}  # the one unit whose monitors and phones share the 5 GHz band


def test_bench_refuses_counts_it_cannot_meet() -> None:
    with pytest.raises(ValueError, match="nodes"):
        bench_topology(nodes=50)
    with pytest.raises(ValueError, match="groups"):
        bench_topology(groups=5)


def test_wardwatch_simulate_writes_the_alarm_files(tmp_path: Path) -> None:
    from wardwatch.cli.simulate import _generate

    paths = _generate("small", 1, tmp_path)
    assert tmp_path / "alarms" / "topology.yaml" in paths and tmp_path / "alarms" / "deliveries.csv" in paths
    assert (tmp_path / "alarms" / "topology.yaml").read_bytes() == write_alarms(
        generate("small", 1), tmp_path / "again"
    )[0].read_bytes()
