"""The alarm topology YAML reader (docs/alarms.md, "The topology file (YAML)").

Expected objects are worked out by hand from tests/fixtures/alarms/example.yaml (the docs example made complete),
not copied from the reader's output; the error cases check that each bad input is one IngestError naming the
place in the YAML.
"""

from __future__ import annotations

import gzip
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from wardwatch.domain.alarm_model import Failover, Latency, Medium, Priority
from wardwatch.ingest.alarm_topology import parse_alarm_topology, read_alarm_topology
from wardwatch.ingest.errors import IngestError

EXAMPLE = Path(__file__).parents[1] / "fixtures" / "alarms" / "example.yaml"

NODES = """\
nodes:
  - {id: mon, kind: source, unit: ICU}
  - {id: ap, kind: ap}
  - {id: phones, kind: phone, unit: ICU}
"""
BASE = NODES + "links:\n  - {id: l1, a: mon, b: ap}\n  - {id: l2, a: ap, b: phones}\n"


def _error(text: str | bytes) -> IngestError:
    with pytest.raises(IngestError) as caught:
        parse_alarm_topology(text, "alarms.yaml")
    return caught.value


def _link_latency(form: str) -> Latency:
    topology = parse_alarm_topology(NODES + f"links:\n  - {{id: l1, a: mon, b: ap, latency: {form}}}\n", "t.yaml")
    return topology.links[0].latency


# -- the example ---------------------------------------------------------------------------------------------------


def test_example_nodes() -> None:
    topology = read_alarm_topology(EXAMPLE)
    assert topology.name == "Sample hospital alarm network"
    assert [n.id for n in topology.nodes] == [
        "icu-east-monitors", "ap-icu-e-1", "alarm-server-1", "icu-east-phones", "ward5-pumps", "ap-ward5-1",
        "core-1", "ward5-phones", "paging-gw", "charge-nurse-pager",
    ]  # fmt: skip
    nodes = topology.node_by_id
    monitors = nodes["icu-east-monitors"]
    assert (monitors.kind, monitors.name, monitors.unit, monitors.site) == (
        "source",
        "ICU-East patient monitors",
        "ICU-East",
        None,
    )
    assert monitors.processing == Latency(0.2, 0.2, 0.2)
    assert monitors.failover == Failover(3.0, 1.0)
    assert monitors.failable is False  # a source by default
    ap = nodes["ap-icu-e-1"]
    assert (ap.kind, ap.name, ap.unit, ap.processing, ap.failover, ap.failable) == (
        "ap",
        "ICU-East AP 1",
        None,
        Latency(0.0, 0.0, 0.0),
        Failover(0.0, 0.0),
        True,
    )
    server = nodes["alarm-server-1"]
    assert (server.name, server.label) == ("", "alarm-server-1")
    assert server.processing == Latency(0.0, 0.3, 1.0)  # {typical: 0.3, max: 1.0}: min defaults to 0
    assert server.failover == Failover(2.0, 0.5) and server.failover.total_s == 2.5
    pumps = nodes["ward5-pumps"]
    assert pumps.processing == Latency(0.0, 0.05, 0.3)  # {p50: 0.05, p95: 0.1, p99: 0.3}
    assert pumps.failable is False
    assert (nodes["ap-ward5-1"].kind, nodes["ap-ward5-1"].site) == ("ap", "main")  # kind: AP is lower-cased
    assert nodes["core-1"].processing == Latency(0.001, 0.001, 0.001)
    assert nodes["paging-gw"].processing == Latency(0.1, 0.5, 0.5)  # {min: 0.1, max: 0.5}: typical -> max
    assert nodes["paging-gw"].failover == Failover(5.0, 0.0)  # retry defaults to 0
    assert nodes["charge-nurse-pager"].failable is False  # explicit failable: false on a pager
    assert nodes["icu-east-phones"].failable is False  # a phone group is not one failure by default


def test_example_links() -> None:
    links = read_alarm_topology(EXAMPLE).link_by_id
    assert list(links) == [
        "mon-ap1", "ap-icu-e-1--alarm-server-1", "ap1-phones", "pumps-ap", "ap-ward5-1--core-1", "core-server",
        "ap-ward5-phones", "server-paging", "paging-pager",
    ]  # fmt: skip
    mon = links["mon-ap1"]
    assert (mon.a, mon.b, mon.medium, mon.latency, mon.capacity_mbps, mon.bidirectional) == (
        "icu-east-monitors",
        "ap-icu-e-1",
        Medium.WIFI,
        Latency(0.0, 0.02, 0.15),
        None,
        True,
    )
    uplink = links["ap-icu-e-1--alarm-server-1"]  # no id: "a--b"
    assert (uplink.medium, uplink.latency, uplink.capacity_mbps) == (Medium.WIRED, Latency(0.005, 0.005, 0.005), 1000)
    pumps = links["pumps-ap"]
    assert (pumps.medium, pumps.latency, pumps.bidirectional) == (Medium.WIFI, Latency(0.0, 0.02, 0.25), False)
    assert links["core-server"].latency == Latency(0.0, 0.002, 0.002)  # {max: 0.002}
    assert links["core-server"].capacity_mbps == 10000
    assert links["ap-ward5-phones"].latency == Latency(0.01, 0.3, 0.3)
    assert links["server-paging"].medium is Medium.INTERNAL
    pager = links["paging-pager"]
    assert (pager.medium, pager.latency, pager.bidirectional) == (Medium.CELLULAR, Latency(0.0, 2.0, 8.0), False)


def test_example_groups_and_sources() -> None:
    topology = read_alarm_topology(EXAMPLE)
    groups = topology.group_by_id
    assert list(groups) == ["rf-icu-east-5ghz", "power-dc-a", "power-dc-b", "ward5-rf"]
    rf = groups["rf-icu-east-5ghz"]
    assert (rf.kind, rf.description, rf.members) == (
        "rf",
        "5 GHz band in ICU-East (jamming)",
        frozenset({"mon-ap1", "ap1-phones"}),
    )
    assert groups["power-dc-a"].members == frozenset({"core-1", "alarm-server-1"})
    assert (groups["power-dc-b"].description, groups["power-dc-b"].members) == ("", frozenset({"paging-gw"}))
    assert groups["ward5-rf"].kind == "other"  # no kind given
    assert groups["ward5-rf"].members == frozenset({"pumps-ap", "ap-ward5-phones", "ap-ward5-1"})
    monitors, pumps = topology.sources
    assert (monitors.node, monitors.unit, monitors.device_kind, monitors.alarm_types, monitors.devices) == (
        "icu-east-monitors",
        "ICU-East",
        "monitor",
        ("arrhythmia", "spo2-low"),
        12,
    )
    # no unit: the node's; alarms written as one word; devices defaults to 1
    assert (pumps.node, pumps.unit, pumps.device_kind, pumps.alarm_types, pumps.devices) == (
        "ward5-pumps",
        "Ward-5",
        "pump",
        ("occlusion",),
        1,
    )
    assert topology.units() == ("ICU-East", "Ward-5")


def test_example_budgets() -> None:
    arrhythmia, occlusion, low = read_alarm_topology(EXAMPLE).budgets
    assert arrhythmia.key == "ICU-East/arrhythmia/high"
    assert (arrhythmia.max_delivery_s, arrhythmia.primary, arrhythmia.escalation, arrhythmia.escalate_after_s) == (
        10.0,
        ("icu-east-phones",),
        ("charge-nurse-pager",),
        30.0,
    )
    assert (arrhythmia.confirmed, arrhythmia.heartbeat_interval_s, arrhythmia.heartbeat_misses) == (True, 2.0, 3)
    assert arrhythmia.approved_by == "Dr. Ada Lovelace"
    assert arrhythmia.approved_at == datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    assert (arrhythmia.version, arrhythmia.rationale) == (1, "")
    assert occlusion.key == "Ward-5/occlusion/high"  # priority: HIGH
    assert occlusion.priority is Priority.HIGH and occlusion.primary == ("ward5-phones",)  # one id as text
    assert (occlusion.escalation, occlusion.escalate_after_s, occlusion.confirmed) == ((), None, False)
    assert (occlusion.heartbeat_interval_s, occlusion.approved_by) == (None, None)
    # "2026-11-03T10:00:00+01:00" (quoted text) is 09:00 UTC
    assert occlusion.approved_at == datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
    assert occlusion.approved_at is not None and occlusion.approved_at.utcoffset() is not None
    assert (low.unit, low.alarm_type, low.priority, low.max_delivery_s) == ("*", "*", Priority.LOW, 120.5)
    assert low.primary == ("icu-east-phones", "ward5-phones")
    assert (low.heartbeat_interval_s, low.heartbeat_misses) == (15.0, 3)  # misses defaults to 3
    assert low.approved_at == datetime(2026, 11, 4, 8, 15, tzinfo=UTC)  # naive: taken as UTC
    assert (low.version, low.rationale) == (2, "Low-priority alarms may wait two minutes.")


def test_example_candidate() -> None:
    (candidate,) = read_alarm_topology(EXAMPLE).candidates
    assert (candidate.id, candidate.description, candidate.cost) == (
        "second-alarm-server",
        "A second alarm server on another VM host",
        3.0,
    )
    (node,) = candidate.nodes
    assert (node.id, node.kind, node.processing, node.failable) == (
        "alarm-server-2",
        "alarm-server",
        Latency(0.0, 1.0, 1.0),
        True,
    )
    (link,) = candidate.links
    assert (link.id, link.a, link.b, link.latency) == (
        "core-1--alarm-server-2",
        "core-1",
        "alarm-server-2",
        Latency(0.001, 0.001, 0.001),
    )
    assert dict(candidate.groups) == {"power-dc-b": frozenset({"alarm-server-2"})}


def test_text_bytes_and_gzip_agree(tmp_path: Path) -> None:
    text = EXAMPLE.read_text()
    packed = tmp_path / "example.yaml.gz"
    packed.write_bytes(gzip.compress(text.encode()))
    from_file = read_alarm_topology(EXAMPLE)
    assert parse_alarm_topology(text, "x") == from_file
    assert parse_alarm_topology(b"\xef\xbb\xbf" + text.encode(), "x") == from_file  # with a UTF-8 BOM
    assert read_alarm_topology(packed) == from_file


# -- latency forms and defaults ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ("0.2", (0.2, 0.2, 0.2)),
        ("3", (3.0, 3.0, 3.0)),
        ("0", (0.0, 0.0, 0.0)),
        ("{min: 0.05, typical: 0.1, max: 0.2}", (0.05, 0.1, 0.2)),
        ("{typical: 0.3, max: 1.0}", (0.0, 0.3, 1.0)),
        ("{max: 1.5}", (0.0, 1.5, 1.5)),
        ("{typical: 0.4}", (0.0, 0.4, 0.4)),
        ("{min: 0.1, max: 0.5}", (0.1, 0.5, 0.5)),
        ("{min: 0.1, typical: 0.2}", (0.1, 0.2, 0.2)),
        ("{p50: 0.1, p95: 0.2, p99: 0.3}", (0.0, 0.1, 0.3)),
        ("{p50: 0.1, p99: 0.3}", (0.0, 0.1, 0.3)),
        ("{p50: 0.1, p95: 0.25}", (0.0, 0.1, 0.25)),
        ("{p95: 0.2, p99: 0.4}", (0.0, 0.4, 0.4)),
    ],
)
def test_latency_forms(form: str, expected: tuple[float, float, float]) -> None:
    latency = _link_latency(form)
    assert (latency.min_s, latency.typical_s, latency.max_s) == pytest.approx(expected)


def test_defaults() -> None:
    text = NODES.replace("{id: ap, kind: ap}", "{id: ap, kind: ap, failable: false}").replace(
        "{id: mon, kind: source, unit: ICU}", "{id: mon, kind: source, unit: ICU, failable: true}"
    )
    text += "links:\n  - {a: mon, b: ap}\n  - {a: phones, b: ap, directed: false}\n"
    text += "sources:\n  - {node: mon, alarms: [a, b, a]}\n"
    topology = parse_alarm_topology(text, "t.yaml")
    mon, ap, phones = topology.nodes
    # explicit keys win over the kind; a phone group defaults to not failable
    assert (mon.failable, ap.failable, phones.failable) == (True, False, False)
    assert (mon.processing, mon.failover, ap.name, ap.unit, ap.site) == (Latency(), Failover(), "", None, None)
    first, second = topology.links
    assert (first.id, first.latency, first.medium, first.bidirectional, first.capacity_mbps) == (
        "mon--ap",
        Latency(0.0, 0.0, 0.0),
        Medium.WIRED,
        True,
        None,
    )
    assert (second.id, second.bidirectional) == ("phones--ap", True)
    (source,) = topology.sources
    assert (source.unit, source.device_kind, source.devices, source.alarm_types) == ("ICU", "other", 1, ("a", "b"))
    assert (topology.groups, topology.budgets, topology.candidates) == ((), (), ())
    assert topology.name == "alarm topology"


# -- errors ---------------------------------------------------------------------------------------------------------

_BUDGET = "budgets:\n  - {unit: ICU, alarm: arrhythmia, priority: high, max_delivery: 10, primary: [phones]"
_SOURCE = "sources:\n  - {node: mon, alarms: [arrhythmia]"
_CANDIDATE = "candidates:\n  - {id: c1, nodes: [{id: ap2, kind: ap}], links: [{a: ap2, b: phones}]"
_LINK = NODES + "links:\n  - {id: l1, a: mon, b: ap"


@pytest.mark.parametrize(
    ("text", "place", "fragment"),
    [
        # unknown keys: the allowed ones are named
        (BASE + "nodez: []\n", "nodez", "did you mean 'nodes'"),
        (_LINK + ", latncy: 1}\n", "links[0].latncy", "allowed keys: id, a, b, latency"),
        (BASE + "groups:\n  - {id: g, kind: rf, members: [l1], colour: red}\n", "groups[0].colour", "allowed keys"),
        # wrong types, negative, booleans, NaN and infinity
        (_LINK + ", latency: fast}\n", "links[0].latency", "not text 'fast'"),
        (_LINK + ", latency: 1e-3}\n", "links[0].latency", "plain number such as 0.001"),
        (_LINK + ", latency: -1}\n", "links[0].latency", "not the number -1"),
        (_LINK + ", latency: true}\n", "links[0].latency", "not true"),
        (_LINK + ", latency: .nan}\n", "links[0].latency", "finite"),
        (_LINK + ", latency: .inf}\n", "links[0].latency", "finite"),
        (_LINK + ", latency: {max: -0.5}}\n", "links[0].latency.max", "not the number -0.5"),
        (_LINK + ", latency: [1, 2]}\n", "links[0].latency", "not a list"),
        (_LINK + ", capacity_mbps: yes}\n", "links[0].capacity_mbps", "not true"),
        (_LINK + ", capacity_mbps: 0}\n", "links[0].capacity_mbps", "above 0"),
        (_LINK + ", directed: 1}\n", "links[0].directed", "true or false"),
        (_LINK + ", medium: fiber}\n", "links[0].medium", "wired, wifi, dect, cellular, internal"),
        # latency shapes
        (_LINK + ", latency: {min: 0.5, max: 0.1}}\n", "links[0].latency", "min <= typical <= max"),
        (_LINK + ", latency: {typical: 0.5, max: 0.1}}\n", "links[0].latency", "typical=0.5, max=0.1"),
        (_LINK + ", latency: {min: 0.5}}\n", "links[0].latency", "only min"),
        (_LINK + ", latency: {p50: 0.5}}\n", "links[0].latency", "only p50"),
        (_LINK + ", latency: {p50: 0.5, p99: 0.2}}\n", "links[0].latency", "p50 <= p99"),
        (_LINK + ", latency: {p50: 0.1, max: 0.2}}\n", "links[0].latency", "mixes"),
        (_LINK + ", latency: {}}\n", "links[0].latency", "gives no delay"),
        (_LINK + ", latency: {avg: 1}}\n", "links[0].latency.avg", "p50, p95, p99"),
        # nodes
        ("nodes:\n  - {id: 101, kind: ap}\n", "nodes[0].id", "put it in quotes"),
        ("nodes:\n  - {id: ap}\n", "nodes[0].kind", "missing"),
        ("nodes:\n  - {id: '  ', kind: ap}\n", "nodes[0].id", "must not be empty"),
        ("nodes:\n  - {id: a, kind: ap, processing: {typical: 2, max: 1}}\n", "nodes[0].processing", "got min=0"),
        ("nodes:\n  - {id: a, kind: ap, failover: {detection: -3}}\n", "nodes[0].failover.detection", "-3"),
        ("nodes:\n  - {id: a, kind: ap, failover: {detect: 3}}\n", "nodes[0].failover.detect", "detection, retry"),
        ("nodes:\n  - {id: a, kind: ap, failover: 3}\n", "nodes[0].failover", "should be a mapping"),
        ("nodes:\n  - {id: a, kind: ap, failable: no thanks}\n", "nodes[0].failable", "true or false"),
        ("nodes: []\n", "nodes", "missing or empty"),
        ("nodes:\n  - just-an-id\n", "nodes[0]", "should be a mapping"),
        # ids and link ends
        (NODES + "  - {id: ap, kind: switch}\n", "nodes[3].id", "already used by nodes[1]"),
        (BASE + "  - {id: mon, a: ap, b: phones}\n", "links[2].id", "already used by nodes[0]"),
        (NODES + "links:\n  - {a: mon, b: ap}\n  - {a: mon, b: ap, medium: wifi}\n", "links[1]", "own id"),
        (NODES + "links:\n  - {a: mon, b: nowhere}\n", "links[0].b", "'nowhere' is not a node id"),
        (NODES + "links:\n  - {a: mon, b: phone}\n", "links[0].b", "did you mean 'phones'"),
        (NODES + "links:\n  - {a: ap, b: ap}\n", "links[0].b", "to itself"),
        (NODES + "links:\n  - {b: ap}\n", "links[0].a", "missing"),
        # groups
        (BASE + "groups:\n  - {id: g, members: [l1, l9]}\n", "groups[0].members[1]", "'l9' is not a node or link"),
        (BASE + "groups:\n  - {id: g, members: []}\n", "groups[0].members", "missing or empty"),
        (BASE + "groups:\n  - {id: l1, members: [l2]}\n", "groups[0].id", "already used by links[0]"),
        (BASE + "groups:\n  - {id: g, members: [ap]}\n  - {id: h, members: [g]}\n", "groups[1].members[0]", "'g'"),
        # sources
        (BASE + "sources:\n  - {node: monitors, alarms: [a]}\n", "sources[0].node", "not a node id"),
        (BASE + "sources:\n  - {node: ap, alarms: [a]}\n", "sources[0].unit", "node 'ap' names no unit"),
        (BASE + _SOURCE + ", devices: 0}\n", "sources[0].devices", "at least 1"),
        (BASE + _SOURCE + ", devices: true}\n", "sources[0].devices", "not true"),
        (BASE + _SOURCE + ", devices: 2.5}\n", "sources[0].devices", "whole number"),
        (BASE + "sources:\n  - {node: mon}\n", "sources[0].alarms", "missing or empty"),
        (BASE + "sources:\n  - {node: mon, alarms: [a, 7]}\n", "sources[0].alarms[1]", "not the number 7"),
        # budgets
        (
            BASE + "budgets:\n  - {unit: ICU, alarm: x, max_delivery: 10, primary: [phones]}\n",
            "budgets[0].priority",
            "missing",
        ),  # fmt: skip
        (BASE + _BUDGET.replace("high", "urgent") + "}\n", "budgets[0].priority", "high, medium, low"),
        (BASE + _BUDGET.replace("10", "0") + "}\n", "budgets[0].max_delivery", "above 0"),
        (BASE + _BUDGET.replace("10", "'10s'") + "}\n", "budgets[0].max_delivery", "not text '10s'"),
        (BASE + _BUDGET.replace("[phones]", "[]") + "}\n", "budgets[0].primary", "names no recipient"),
        (BASE + _BUDGET.replace("[phones]", "[phones, pager]") + "}\n", "budgets[0].primary[1]", "'pager'"),
        (BASE + _BUDGET + ", escalation: [ap], escalate_after: -5}\n", "budgets[0].escalate_after", "-5"),
        (BASE + _BUDGET + ", escalation: [ap]}\n", "budgets[0].escalate_after", "no escalate_after"),
        (BASE + _BUDGET + ", heartbeat: {interval: 0}}\n", "budgets[0].heartbeat.interval", "above 0"),
        (BASE + _BUDGET + ", heartbeat: {misses: 2}}\n", "budgets[0].heartbeat.interval", "missing"),
        (BASE + _BUDGET + ", heartbeat: {interval: 2, misses: 0}}\n", "budgets[0].heartbeat.misses", "at least 1"),
        (BASE + _BUDGET + ", heartbeat: 2}\n", "budgets[0].heartbeat", "should be a mapping"),
        (BASE + _BUDGET + ", confirmed: maybe}\n", "budgets[0].confirmed", "true or false"),
        (BASE + _BUDGET + ", approved_at: last tuesday}\n", "budgets[0].approved_at", "ISO 8601"),
        (BASE + _BUDGET + ", approved_at: 2026-11-02}\n", "budgets[0].approved_at", "not 2026-11-02"),
        (BASE + _BUDGET + ", version: 0}\n", "budgets[0].version", "at least 1"),
        (BASE + _BUDGET + ", alarm_type: x}\n", "budgets[0].alarm_type", "did you mean 'alarm'"),
        (BASE + _BUDGET + "}\n" + _BUDGET[len("budgets:\n") :] + "}\n", "budgets[1]", "already given by budgets[0]"),
        # candidates
        (BASE + _CANDIDATE + ", cost: 0}\n", "candidates[0].cost", "above 0"),
        (BASE + _CANDIDATE + ", groups: {power: [ap2]}}\n", "candidates[0].groups.power", "not a group id"),
        (
            BASE + "groups:\n  - {id: g, members: [ap]}\n" + _CANDIDATE + ", groups: {g: [phones]}}\n",
            "candidates[0].groups.g[0]",
            "'phones' is not a node or link this candidate adds",
        ),  # fmt: skip
        (
            BASE + "candidates:\n  - {id: c1, nodes: [{id: ap, kind: ap}]}\n",
            "candidates[0].nodes[0].id",
            "already used by nodes[1]",
        ),  # fmt: skip
        (BASE + "candidates:\n  - {id: c1, links: [{a: ap, b: ap3}]}\n", "candidates[0].links[0].b", "'ap3'"),
        (BASE + "candidates:\n  - {id: c1, description: nothing}\n", "candidates[0]", "adds no nodes or links"),
        (
            BASE + _CANDIDATE + "}\n" + _CANDIDATE.replace("ap2", "ap3")[len("candidates:\n") :] + "}\n",
            "candidates[1].id",
            "already defined by candidates[0]",
        ),  # fmt: skip
        # top level
        (BASE + "name: [a, b]\n", "name", "not a list"),
        (BASE + "links: {a: mon}\n", "links", "should be a list"),
    ],
)
def test_field_errors_name_the_place(text: str, place: str, fragment: str) -> None:
    error = _error(text)
    message = str(error)
    assert message.startswith("alarms.yaml, row ")
    assert f"column '{place}'" in message
    assert fragment in message
    assert error.tip
    assert "the file" not in message  # a field message is not mistaken for one about the whole file
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("", ["the file is empty"]),
        ("# nothing but a comment\n", ["the file is empty"]),
        ("- a\n- b\n", ["the file is a list, not a mapping"]),
        ("just text\n", ["the file is text 'just text'"]),
        (NODES + "links:\n  - {a: mon, b: ap\n", ["row 7", "not valid YAML"]),  # found at the end of the file
        (NODES + "links:\n - {a: mon, b: ap}\n  - {a: ap, b: phones}\n", ["row 7", "not valid YAML"]),
        (BASE + "budgets:\n  - unit: *\n", ['write "*" in quotes']),
        (BASE + "---\nnodes: []\n", ["not valid YAML"]),
        (b"nodes:\n  - {id: caf\xe9, kind: ap}\n", ["not UTF-8"]),
        (b"nodes:\x00\n", ["not a text file"]),
        (NODES + "links: [{a: mon, b: ap, latency: " + "9" * 5000 + "}]\n", ["row 5", "not valid YAML"]),
        (
            BASE + _BUDGET + ", approved_at: 2026-13-02T09:00:00Z}\n",
            ["row 9", "month must be in 1..12", "correct the value"],
        ),
    ],
)
def test_file_errors(text: str | bytes, fragments: list[str]) -> None:
    message = str(_error(text))
    assert message.startswith("alarms.yaml")
    for fragment in fragments:
        assert fragment in message


def test_rows_point_at_the_line() -> None:
    text = (
        "nodes:\n"  # 1
        "  - id: mon\n"  # 2
        "    kind: source\n"  # 3
        "    unit: ICU\n"  # 4
        "  - id: ap\n"  # 5
        "    kind: ap\n"  # 6
        "links:\n"  # 7
        "  - id: l1\n"  # 8
        "    a: mon\n"  # 9
        "    b: ap\n"  # 10
        "    latency:\n"  # 11
        "      min: 2\n"  # 12
        "      max: 1\n"  # 13
    )
    assert "row 11, column 'links[0].latency'" in str(_error(text))
    assert "row 13, column 'links[0].latency.max'" in str(_error(text.replace("max: 1", "max: -1")))
    assert "row 10, column 'links[0].b'" in str(_error(text.replace("b: ap", "b: mon")))
    assert "row 5, column 'nodes[1].id'" in str(_error(text.replace("id: ap", "id: mon")))


def test_model_errors_are_converted() -> None:
    # The model itself refuses escalation without escalate_after; the reader names the budget.
    error = _error(BASE + "budgets:\n  - {unit: ICU, alarm: x, priority: low, max_delivery: 5, primary: phones,\n"
                   "     escalation: ap}\n")  # fmt: skip
    assert error.column == "budgets[0].escalate_after"
    assert error.row == 9  # the budget's line
    assert "escalate_after_s" not in error.message and "escalate_after" in error.message
    assert isinstance(error.__cause__, ValueError)


# -- hostile input -------------------------------------------------------------------------------------------------


def test_billion_laughs_is_refused_quickly() -> None:
    levels = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        levels.append(f"{chr(97 + level)}: &{chr(97 + level)} [" + ", ".join([f"*{chr(96 + level)}"] * 10) + "]")
    text = "name:\n  " + "\n  ".join(levels) + "\n" + NODES
    start = time.perf_counter()
    error = _error(text)
    assert time.perf_counter() - start < 2
    assert "column 'name'" in str(error) and "should be text, not a mapping" in str(error)
    assert len(str(error)) < 300  # the expanded tree is never printed


def test_alias_repetition_is_capped() -> None:
    alarms = ", ".join(f"alarm-{i}" for i in range(1000))
    repeats = "\n".join(["  - *s"] * 1000)  # 1,000 sources x 1,000 alarm types from a 20 KB file
    text = BASE + f"sources:\n  - &s {{node: mon, alarms: [{alarms}]}}\n{repeats}\n"
    start = time.perf_counter()
    error = _error(text)
    assert time.perf_counter() - start < 2
    assert "more than 200,000 entries" in str(error)


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.truncate(17 * 1024 * 1024)  # sparse: nothing is written
    with pytest.raises(IngestError, match="more than 16 MiB"):
        read_alarm_topology(path)
    with pytest.raises(IngestError, match="larger than 16 MiB"):
        parse_alarm_topology(b" " * (16 * 1024 * 1024 + 1), "big.yaml")


def test_missing_file() -> None:
    with pytest.raises(IngestError, match="cannot be opened"):
        read_alarm_topology(EXAMPLE.with_name("absent.yaml"))


def test_truncated_file_is_refused(tmp_path: Path) -> None:
    text = EXAMPLE.read_text()
    cut = tmp_path / "example.yaml"
    # inside a flow mapping: the YAML itself is broken (the alarm-server-1 node is on line 13)
    cut.write_text(text[: text.index("failover: {detection: 2")])
    with pytest.raises(IngestError, match=r"example.yaml, row \d+: the file is not valid YAML"):
        read_alarm_topology(cut)
    # in the first budget, after max_delivery: it names no recipient
    cut.write_text(text[: text.index("    primary: [icu-east-phones]")])
    with pytest.raises(IngestError, match=r"column 'budgets\[0\].primary'.*names no recipient"):
        read_alarm_topology(cut)
    # in the middle of the groups: rf-icu-east-5ghz is cut before its members
    cut.write_text(text[: text.index("    members: [mon-ap1, ap1-phones]")])
    with pytest.raises(IngestError, match=r"column 'groups\[0\].members'"):
        read_alarm_topology(cut)


def test_every_prefix_is_a_topology_or_one_ingest_error() -> None:
    text = EXAMPLE.read_text()
    cuts = sorted({i for i, c in enumerate(text) if c == "\n"} | set(range(0, len(text), 37)))
    refused: list[str] = []
    for cut in cuts:
        try:
            parse_alarm_topology(text[:cut], "cut.yaml")
        except IngestError as e:  # anything else fails the test
            refused.append(str(e))
    assert len(refused) > len(cuts) // 2
    assert all(message.startswith("cut.yaml") and "\n" not in message for message in refused)
