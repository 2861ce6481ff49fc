"""Benchmark bulk version matching: 100,000 lookups against 50,000 ranges (~10 ranges per product).

Each lookup is (product, 4-part firmware version); a match is a range of that product containing the version.
Methods, all giving the same number of matches (checked):

* SQLite (in-memory) join on ``wardwatch.domain.versions.sort_key`` BLOBs with an index on (product, low);
* tuple compare in Python on parsed integer tuples;
* ``packaging.version.Version`` compare in Python;
* univers ``VersionRange.from_string("vers:generic/...")`` membership, if univers is installed (its
  ``vers:generic`` reads the 4th segment as build metadata, so its match count differs and is reported).

Usage::

    .venv/bin/python bench/bench_versions.py [--lookups 100000] [--ranges 50000]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable

from packaging.version import Version

from wardwatch.domain.versions import FirmwareVersion, VersionRange, parse_range, sort_key


def _version(rng: random.Random) -> str:
    return f"{rng.randint(1, 12)}.{rng.randint(0, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 999)}"


def _timed(label: str, lookups: int, run: Callable[[], int]) -> int:
    start = time.perf_counter()
    matches = run()
    elapsed = time.perf_counter() - start
    print(f"{label:<28} {elapsed:8.2f} s  {lookups / elapsed:>12,.0f} lookups/s  matches={matches}")
    return matches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lookups", type=int, default=100_000)
    parser.add_argument("--ranges", type=int, default=50_000)
    args = parser.parse_args()
    rng = random.Random(20261101)
    products = args.ranges // 10
    ranges: list[tuple[int, str, str]] = []
    for _ in range(args.ranges):
        low, high = sorted((_version(rng), _version(rng)), key=lambda t: tuple(map(int, t.split("."))))
        ranges.append((rng.randrange(products), low, high))
    lookups = [(rng.randrange(products), _version(rng)) for _ in range(args.lookups)]
    print(f"{args.lookups:,} lookups against {args.ranges:,} ranges ({products:,} products)")

    start = time.perf_counter()
    parsed = [(p, parse_range(f">={low}|<{high}")) for p, low, high in ranges]
    print(f"{'parse ranges (ours)':<28} {time.perf_counter() - start:8.2f} s")

    # SQLite join on sort keys
    start = time.perf_counter()
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE ranges (product INTEGER, low BLOB, high BLOB)")
    db.execute("CREATE TABLE lookups (product INTEGER, key BLOB)")
    db.executemany("INSERT INTO ranges VALUES (?, ?, ?)", [(p, *bounds) for p, r in parsed for bounds in r.key_bounds])
    db.executemany("INSERT INTO lookups VALUES (?, ?)", [(p, sort_key(v)) for p, v in lookups])
    db.execute("CREATE INDEX ranges_product_low ON ranges (product, low, high)")
    print(f"{'SQLite load + keys + index':<28} {time.perf_counter() - start:8.2f} s")
    sql = "SELECT count(*) FROM lookups l JOIN ranges r ON r.product = l.product AND l.key >= r.low AND l.key < r.high"
    expected = _timed("SQLite join (sort_key)", args.lookups, lambda: db.execute(sql).fetchone()[0])

    # FirmwareVersion objects in Python
    by_product: dict[int, list[VersionRange]] = defaultdict(list)
    for p, r in parsed:
        by_product[p].append(r)
    versions = [(p, FirmwareVersion.parse(v)) for p, v in lookups]
    _timed(
        "VersionRange.contains",
        args.lookups,
        lambda: sum(bool(r.contains(v)) for p, v in versions if v for r in by_product[p]),
    )

    def tuple_index(convert: Callable[[str], object]) -> dict[int, list[tuple[object, object]]]:
        index: dict[int, list[tuple[object, object]]] = defaultdict(list)
        for p, low, high in ranges:
            index[p].append((convert(low), convert(high)))
        return index

    def as_tuple(text: str) -> tuple[int, ...]:
        return tuple(map(int, text.split(".")))

    tuples = tuple_index(as_tuple)
    tuple_lookups = [(p, as_tuple(v)) for p, v in lookups]
    got = _timed(
        "tuple compare in Python",
        args.lookups,
        lambda: sum(1 for p, v in tuple_lookups for lo, hi in tuples[p] if lo <= v < hi),  # type: ignore[operator]
    )
    assert got == expected, (got, expected)

    pep440 = tuple_index(Version)
    pep_lookups = [(p, Version(v)) for p, v in lookups]
    got = _timed(
        "packaging.Version",
        args.lookups,
        lambda: sum(1 for p, v in pep_lookups for lo, hi in pep440[p] if lo <= v < hi),  # type: ignore[operator]
    )
    assert got == expected, (got, expected)

    try:
        from univers.version_range import VersionRange as UniversRange
    except ImportError:
        print("univers is not installed: skipped")
        return
    start = time.perf_counter()
    univers: dict[int, list[UniversRange]] = defaultdict(list)
    for p, low, high in ranges:
        univers[p].append(UniversRange.from_string(f"vers:generic/>={low}|<{high}"))
    version_class = UniversRange.from_string("vers:generic/>=1.0").version_class
    univers_lookups = [(p, version_class(v)) for p, v in lookups]
    print(f"{'univers parse':<28} {time.perf_counter() - start:8.2f} s")
    got = _timed(
        "univers (vers:generic)",
        args.lookups,
        lambda: sum(1 for p, v in univers_lookups for r in univers[p] if v in r),
    )
    print(f"univers disagrees on {abs(got - expected):,} matches (4th segment read as build metadata)")


if __name__ == "__main__":
    main()
