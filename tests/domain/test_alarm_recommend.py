"""Recommendations: the additions that make every budget hold, checked by verifying the changed topology."""

from __future__ import annotations

from dataclasses import replace

from tests.domain.test_alarm_verify import hand_topology
from wardwatch.domain.alarm_model import Candidate, Latency, Link
from wardwatch.domain.alarm_recommend import apply_candidate, propose, recommend
from wardwatch.domain.alarm_verify import verify


def test_three_single_points_need_three_additions() -> None:
    topology = hand_topology(second_server=False, budget_s=8.0)
    before = verify(topology, k=1)
    assert {p.element for p in before.single_points_of_failure} == {"rf5", "sw", "srv1", "srv1--phones"}
    advice = recommend(topology, k=1, verification=before)
    assert advice.complete
    assert {a.candidate.id for a in advice.additions} == {"fix-srv1", "fix-sw", "fix-rf5"}
    # the second server is chosen first: it removes two breaking failures (the server and its phone link)
    assert advice.additions[0].candidate.id == "fix-srv1"
    fixed = topology
    for addition in advice.additions:
        fixed = apply_candidate(fixed, addition.candidate)
    assert verify(fixed, k=1).passed
    # every flow is reported fixed by the addition that completed it
    assert {key for a in advice.additions for key in a.fixes} == {"mon@ICU/arrhythmia/high", "mon@ICU/*/low"}


def test_roaming_time_cannot_be_fixed_by_additions() -> None:
    # Budget 5 s: losing ap1 costs the monitor's 4 s roam on top of a 3.1 s route; a second AP does not help.
    topology = hand_topology(second_server=True, budget_s=5.0)
    advice = recommend(topology, k=1)
    assert not advice.complete
    assert "mon@ICU/arrhythmia/high" in advice.still_failing


def test_declared_candidate_is_used_and_proposals_copy_links() -> None:
    topology = hand_topology(second_server=False, budget_s=8.0)
    declared = Candidate(
        "wired-drop", "A wired drop for the monitors to the switch",
        links=(Link("mon--sw", "mon", "sw", Latency.fixed(0.01)),), cost=0.5,
    )  # fmt: skip
    topology = replace(topology, candidates=(declared,))
    proposals = {c.id: c for c in propose(topology, verify(topology, k=1))}
    assert "wired-drop" in proposals
    server = proposals["fix-srv1"]
    assert [n.id for n in server.nodes] == ["srv1-2"]
    assert sorted((x.a, x.b) for x in server.links) == [("srv1-2", "pager"), ("srv1-2", "phones"), ("sw", "srv1-2")]
    rf = proposals["fix-rf5"]
    assert sorted((x.a, x.b) for x in rf.links) == [("mon", "ap1"), ("mon", "ap2")]
    assert not rf.nodes
