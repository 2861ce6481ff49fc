"""Vendor versions and ranges: JSON vectors (tests/fixtures/versions/vectors.json), properties, SQL, real CSAF."""

from __future__ import annotations

import doctest
import json
import operator
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wardwatch.domain import _ecosystem_versions, versions
from wardwatch.domain.versions import FirmwareVersion, VersionRange, compare_ecosystem, parse_range, sort_key

VECTORS = json.loads((Path(__file__).parents[1] / "fixtures" / "versions" / "vectors.json").read_text("utf-8"))
ICSMA = Path("/work/shared/data/cisa-csaf/icsma")
OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
}
REVERSED = {"<": ">", ">": "<", "==": "==", "!=": "!=", "<=": ">=", ">=": "<="}


def _id(row: list[Any]) -> str:
    return " ".join(str(part) for part in row[:4])


def _parse(text: str) -> FirmwareVersion:
    parsed = FirmwareVersion.parse(text)
    assert parsed is not None, f"{text!r} should parse"
    return parsed


@pytest.mark.parametrize("row", VECTORS["comparisons"], ids=_id)
def test_comparison_vectors(row: list[str]) -> None:
    a, op, b = _parse(row[0]), row[1], _parse(row[2])
    assert OPS[op](a, b)
    assert OPS[REVERSED[op]](b, a)
    assert OPS[op](sort_key(a), sort_key(b))
    assert OPS[op](sort_key(row[0]), sort_key(row[2]))
    if op == "==":
        assert hash(a) == hash(b)


@pytest.mark.parametrize("row", VECTORS["ranges"], ids=_id)
def test_range_vectors(row: list[Any]) -> None:
    assert parse_range(row[0]).contains(row[1]) is row[2]


@pytest.mark.parametrize("text", VECTORS["invalid_versions"])
def test_invalid_versions_do_not_parse(text: str) -> None:
    assert FirmwareVersion.parse(text) is None


@pytest.mark.parametrize("row", VECTORS["ecosystem"], ids=_id)
def test_ecosystem_vectors(row: list[str]) -> None:
    scheme, a, op, b = row
    result = compare_ecosystem(scheme, a, b)
    assert result is not None
    assert OPS[op](result, 0)
    assert compare_ecosystem(scheme, b, a) == -result


@pytest.mark.parametrize("row", VECTORS["ecosystem_undecidable"], ids=_id)
def test_ecosystem_undecidable(row: list[str]) -> None:
    assert compare_ecosystem(*row) is None


def test_vectors_cover_every_boundary_kind() -> None:
    ranges = {row[0] for row in VECTORS["ranges"]}
    assert len(VECTORS["comparisons"]) >= 150
    assert len(VECTORS["ranges"]) >= 300
    assert {"<= 9.33", "< 9.33", ">= 1.3.4 | < 1.5.3", "vers:all/*", "9.19 and prior", "versions 9.x"} <= ranges
    assert sum("real CSAF" in (row[3] if len(row) > 3 else "") for row in VECTORS["ranges"]) >= 20


def test_doctests() -> None:
    for module in (versions, _ecosystem_versions):
        assert doctest.testmod(module).failed == 0


def test_sql_join_agrees_with_contains() -> None:
    """The key intervals, matched by SQLite with BLOB comparison, give the same answers as contains()."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE ranges (id INTEGER, low BLOB, high BLOB)")
    db.execute("CREATE TABLE probes (id INTEGER, range_id INTEGER, key BLOB)")
    expected: dict[int, bool] = {}
    texts = sorted({row[0] for row in VECTORS["ranges"]})
    for range_id, text in enumerate(texts):
        db.executemany("INSERT INTO ranges VALUES (?, ?, ?)", [(range_id, *b) for b in parse_range(text).key_bounds])
    for probe_id, (text, version, answer, *_) in enumerate(VECTORS["ranges"]):
        if answer is not None:
            expected[probe_id] = answer
            db.execute("INSERT INTO probes VALUES (?, ?, ?)", (probe_id, texts.index(text), sort_key(version)))
    matched = {
        pid
        for (pid,) in db.execute(
            "SELECT DISTINCT p.id FROM probes p JOIN ranges r"
            " ON r.id = p.range_id AND p.key >= r.low AND p.key < r.high"
        )
    }
    assert {pid for pid, answer in expected.items() if answer} == matched


def test_never_raises_on_odd_input() -> None:
    odd = ["", "\x00", "1" * 400, "..", "v", "version", "🙂", "1.0 (", "<=", "vers:", "vers:generic/", "> | <", "x.x"]
    for text in odd:
        FirmwareVersion.parse(text)
        assert isinstance(sort_key(text), bytes)
        parse_range(text).contains(text)
    assert FirmwareVersion.parse("1.0") != "1.0"


def test_nvd_bounds() -> None:
    cases = {
        ("10.4.1.100", None, None, "10.4.1.200"): {"10.4.1.100": True, "10.4.1.200": False, "10.4.1.99": False},
        (None, "1.0", "2.0", None): {"1.0": False, "1.0.0.1": True, "2.0": True, "2.0.1": False},
        ("1.0", None, None, None): {"0.9": False, "1.0": True, "99": True},
        (None, None, None, "1.0"): {"0.9": True, "1.0": False},
        ("2.0", None, None, "1.0"): {"1.5": False},
    }
    for (si, se, ei, ee), answers in cases.items():
        r = VersionRange.from_nvd(start_including=si, start_excluding=se, end_including=ei, end_excluding=ee)
        assert {v: r.contains(v) for v in answers} == answers
    assert VersionRange.from_nvd(version="9.19").contains("9.19.0") is True
    assert VersionRange.from_nvd().universal
    assert VersionRange.from_nvd(version="-").contains("1.0") is None
    assert VersionRange.from_nvd(start_including="A.1", end_excluding="2.0").contains("1.0") is None
    assert VersionRange.from_nvd(end_including="garbage words").contains("1.0") is None


# Properties ------------------------------------------------------------------------------------------------------

_LABELS = ["sp", "rc", "beta", "alpha", "dev", "build", "patch", "a", "b", "d", "r", "l"]
_RANKS = {"dev": -4, "alpha": -3, "beta": -2, "rc": -1}
_numbers = st.lists(st.integers(0, 12) | st.integers(0, 10**12), min_size=1, max_size=5)
_qualifier = st.tuples(st.sampled_from(_LABELS), st.lists(st.integers(0, 20), max_size=2))
_structure = st.tuples(st.sampled_from(["", "", "b", "bt", "vm"]), _numbers, st.lists(_qualifier, max_size=3))


def _strip(numbers: list[int] | tuple[int, ...]) -> tuple[int, ...]:
    numbers = tuple(numbers)
    while numbers and numbers[-1] == 0:
        numbers = numbers[:-1]
    return numbers


def _oracle(structure: tuple[str, list[int], list[tuple[str, list[int]]]]) -> tuple[Any, ...]:
    """An independent order: series, then numbers padded with zeros, then qualifiers (pre < end < post)."""
    series, numbers, qualifiers = structure
    groups = [(_RANKS.get(label, 1), label, _strip(nums)) for label, nums in qualifiers]
    return (series, _strip(numbers), [*groups, (0, "", ())])


@st.composite
def _rendered(draw: st.DrawFn) -> tuple[tuple[str, list[int], list[tuple[str, list[int]]]], str]:
    structure = draw(_structure)
    series, numbers, qualifiers = structure
    text = ""
    if series:
        text = draw(st.sampled_from([series, series.upper(), series + ".", series.upper() + "-"]))
    elif draw(st.booleans()):
        text = draw(st.sampled_from(["v", "V", "version ", "ver. ", "R"]))
    text += "".join(
        ("" if i == 0 else draw(st.sampled_from(".-_"))) + str(n).zfill(draw(st.integers(1, 3)))
        for i, n in enumerate(numbers)
    )
    for i, (label, nums) in enumerate(qualifiers):
        text += draw(st.sampled_from([" ", "-"] if i else ["", " ", "-", "."]))
        text += draw(st.sampled_from([label, label.upper()]))
        if nums:
            text += draw(st.sampled_from(["", " ", "."])) + ".".join(map(str, nums))
    return structure, text


@given(_rendered(), _rendered())
def test_order_matches_the_oracle_and_keys(left: Any, right: Any) -> None:
    a, b = _parse(left[1]), _parse(right[1])
    expected = (_oracle(left[0]) > _oracle(right[0])) - (_oracle(left[0]) < _oracle(right[0]))
    assert ((a > b) - (a < b)) == expected
    assert ((a.key > b.key) - (a.key < b.key)) == expected
    assert (a == b) == (hash(a) == hash(b)) or a != b


@given(_rendered(), _rendered(), _rendered())
def test_total_order(x: Any, y: Any, z: Any) -> None:
    a, b, c = _parse(x[1]), _parse(y[1]), _parse(z[1])
    assert (a <= b and b <= a) == (a == b)  # antisymmetry
    assert a <= b or b <= a  # totality
    if a <= b and b <= c:
        assert a <= c  # transitivity
    assert sorted([a, b, c]) == sorted([a, b, c], key=sort_key)


@given(_rendered(), _rendered(), st.sampled_from(["<", "<=", ">", ">=", "=", "!="]))
def test_single_constraint_matches_comparison(bound: Any, probe: Any, op: str) -> None:
    b, v = _parse(bound[1]), _parse(probe[1])
    result = parse_range(f"{op} {bound[1]}").contains(probe[1])
    if b.series != v.series:
        assert result is None
    else:
        assert result is OPS["==" if op == "=" else op](v, b)


@given(_rendered(), _rendered(), _rendered(), st.booleans(), st.booleans())
def test_interval_matches_comparisons(low: Any, high: Any, probe: Any, low_inc: bool, high_inc: bool) -> None:
    lo, hi, v = _parse(low[1]), _parse(high[1]), _parse(probe[1])
    text = f"{'>=' if low_inc else '>'} {low[1]} | {'<=' if high_inc else '<'} {high[1]}"
    result = parse_range(text).contains(probe[1])
    if lo == hi:
        assert result is None  # a version twice is not valid vers
    elif lo.series != hi.series or v.series != lo.series:
        assert result is None or lo.series != hi.series
    elif lo < hi:
        above = v >= lo if low_inc else v > lo
        below = v <= hi if high_inc else v < hi
        assert result is (above and below)


# Real advisories -------------------------------------------------------------------------------------------------

# Range strings of the ICSMA CSAF files that are kept as text, on purpose: dates, operating systems, conditions on
# a second component (battery modules), lists of model numbers.
NOT_VERSION_RANGES = {
    "<  july 1 2017",
    "< august 28",
    "<  november 29 2017",
    "distributed  < april 1, 2018",
    "<May 2018",
    "<8/30/2024",
    "<=11.2 on Windows 8.1 with IIS 7.5",
    "A10 < A11",
    "A.01 <= C.0x | 4.0",
    "053L000091 (global) / 054U000091 (U.S.) and 053L000092 (global) / 054U000092 (U.S.)",
}


def _icsma_names() -> dict[str, set[str]]:
    names: dict[str, set[str]] = {"product_version": set(), "product_version_range": set()}

    def walk(branches: list[dict[str, Any]]) -> None:
        for branch in branches:
            if branch.get("category") in names:
                names[branch["category"]].add(branch["name"])
            walk(branch.get("branches") or [])

    for path in sorted(ICSMA.glob("*.json")):
        walk(json.loads(path.read_text("utf-8")).get("product_tree", {}).get("branches") or [])
    return names


@pytest.mark.skipif(not ICSMA.is_dir(), reason="the shared ICSMA CSAF corpus is not on this machine")
def test_every_icsma_version_string() -> None:
    names = _icsma_names()
    ranges = names["product_version_range"]
    not_understood = {text for text in ranges if not parse_range(text).understood}
    battery = {text for text in not_understood if "battery module" in text.lower()}
    assert not_understood - battery == NOT_VERSION_RANGES
    assert len(battery) == 6
    assert len(ranges) - len(not_understood) >= 135
    versions_understood = [text for text in names["product_version"] if parse_range(text).understood]
    assert len(versions_understood) >= 80  # the rest are model names ("882300 Gemini 16 Slice"), kept as text
