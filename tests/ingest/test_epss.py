"""FIRST EPSS reader: the official-format sample, a generated 300,000-row file, bad rows and hostile files."""

from __future__ import annotations

import gzip
import logging
import tracemalloc
from datetime import date
from pathlib import Path

import pytest

from wardwatch.domain.intel import EpssScore
from wardwatch.ingest import epss
from wardwatch.ingest.epss import iter_epss, read_epss
from wardwatch.ingest.errors import IngestError

SAMPLE = Path(__file__).parent.parent / "fixtures" / "intel" / "epss" / "epss_sample.csv"
COMMENT = "#model_version:v2025.03.14,score_date:2025-03-15T00:00:00+0000\n"
logger = logging.getLogger(__name__)


def _write(tmp_path: Path, body: str, *, name: str = "epss.csv", comment: str = COMMENT) -> Path:
    path = tmp_path / name
    path.write_text(comment + "cve,epss,percentile\n" + body, encoding="utf-8")
    return path


def test_sample_values() -> None:
    scores = read_epss(SAMPLE)
    assert list(scores) == [f"CVE-1999-000{i}" for i in range(1, 6)]
    assert scores["CVE-1999-0005"] == EpssScore(
        cve="CVE-1999-0005", epss=0.91963, percentile=0.99214, model_version="v2023.03.01",
        score_date=date(2025, 2, 20),
    )  # fmt: skip
    assert scores["CVE-1999-0001"].epss == 0.00383
    assert scores["CVE-1999-0001"].percentile == 0.73075


def test_gzip_is_detected_by_content(tmp_path: Path) -> None:
    packed = tmp_path / "epss_scores-current.csv"  # no .gz suffix on purpose
    packed.write_bytes(gzip.compress(SAMPLE.read_bytes()))
    assert read_epss(packed) == read_epss(SAMPLE)


def test_file_without_comment_line_has_no_model(tmp_path: Path) -> None:
    path = _write(tmp_path, "CVE-2021-44228,0.94358,0.99957\n", comment="")
    (score,) = iter_epss(path)
    assert (score.model_version, score.score_date, score.epss) == (None, None, 0.94358)


def _generate(path: Path, rows: int) -> None:
    with gzip.open(path, "wt", encoding="ascii", compresslevel=1) as stream:
        stream.write(COMMENT + "cve,epss,percentile\n")
        stream.writelines(
            f"CVE-{1999 + i % 27}-{i:07d},{(i % 1000) / 1000:.5f},{(i % 997) / 997:.5f}\n" for i in range(rows)
        )


def test_300k_rows_are_all_read(tmp_path: Path) -> None:
    # Speed is measured in bench/, not asserted here (a loaded CI machine would make it flaky).
    path = tmp_path / "epss_scores-2025-03-15.csv.gz"
    _generate(path, 300_000)
    scores = read_epss(path)
    assert len(scores) == 300_000
    assert scores["CVE-1999-0000000"].score_date == date(2025, 3, 15)
    assert scores["CVE-2001-0299999"].epss == 0.999


def _peak_streaming(path: Path) -> int:
    tracemalloc.start()
    try:
        for _ in iter_epss(path):
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_streaming_memory_does_not_grow_with_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(epss, "_BLOCK", 16 << 10)  # small blocks, so small files span many (tracemalloc is slow)
    small, large = tmp_path / "small.csv.gz", tmp_path / "large.csv.gz"
    _generate(small, 5_000)
    _generate(large, 40_000)
    peak_small, peak_large = _peak_streaming(small), _peak_streaming(large)
    assert peak_large < 1.5 * peak_small  # one block of text at a time, whatever the file's size


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("CVE-2021-44228,1.5,0.9", r"row 4, column 'epss': '1.5' is not a number between 0 and 1"),
        ("CVE-2021-44228,0.5,-0.1", r"row 4, column 'percentile': '-0.1' is not a number"),
        ("CVE-2021-44228,high,0.9", r"row 4, column 'epss': 'high' is not a number"),
        ("CVE-2021-44228,nan,0.9", r"row 4, column 'epss': 'nan'"),
        ("CVE-2021-44228,0.5", r"row 4: line has 2 fields, expected 3"),
        ("2021-44228,0.5,0.5", r"row 4, column 'cve': '2021-44228' is not a CVE id"),
    ],
)
def test_bad_row_names_the_row(tmp_path: Path, row: str, message: str) -> None:
    path = _write(tmp_path, f"CVE-1999-0001,0.1,0.2\n{row}\n")
    with pytest.raises(IngestError, match=message):
        read_epss(path)


def test_bad_header_and_empty_file(tmp_path: Path) -> None:
    old = tmp_path / "old.csv"
    old.write_text("cve,epss\nCVE-1999-0001,0.1\n", encoding="utf-8")
    with pytest.raises(IngestError, match=r"row 1: the file has header 'cve,epss'"):
        read_epss(old)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(IngestError, match="the file is empty"):
        read_epss(empty)
    bad_date = _write(tmp_path, "", comment="#model_version:v1,score_date:someday\n")
    with pytest.raises(IngestError, match="column 'score_date'"):
        read_epss(bad_date)


def test_duplicate_cve_and_row_cap(tmp_path: Path) -> None:
    path = _write(tmp_path, "CVE-1999-0001,0.1,0.2\nCVE-1999-0001,0.1,0.2\n")
    with pytest.raises(IngestError, match="lists CVE-1999-0001 twice"):
        read_epss(path)
    across_blocks = tmp_path / "across.csv"
    _generate(across_blocks, 40_000)  # ~1.3 MB: two blocks
    text = gzip.decompress(across_blocks.read_bytes()).decode() + "CVE-1999-0000000,0.1,0.2\n"
    across_blocks.write_text(text, encoding="ascii")
    with pytest.raises(IngestError, match="lists CVE-1999-0000000 twice"):
        read_epss(across_blocks)
    with pytest.raises(IngestError, match="has more than 1 scores"):
        read_epss(SAMPLE, max_rows=1)


def test_gzip_bomb_of_one_endless_line_fails_fast(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.csv.gz"
    bomb.write_bytes(gzip.compress(b"0" * (64 << 20)) * 64)  # 4 GiB of zeros, ~4 MiB on disk
    with pytest.raises(IngestError, match="row 1: line is longer than 4096 bytes"):  # stops at the first line
        read_epss(bomb)


def test_decompressed_size_cap(tmp_path: Path) -> None:
    path = tmp_path / "epss.csv.gz"
    _generate(path, 20_000)  # ~640 KB decompressed
    with pytest.raises(IngestError, match="expands to more than 100,000 bytes"):
        read_epss(path, max_bytes=100_000)


def test_truncated_gzip_and_binary_garbage(tmp_path: Path) -> None:
    path = tmp_path / "epss.csv.gz"
    _generate(path, 20_000)
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(IngestError, match="truncated or corrupt gzip"):
        read_epss(path)
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(b"#model_version:v1\ncve,epss,percentile\n\xff\xfe\n")
    with pytest.raises(IngestError, match="row 3: line is not UTF-8"):
        read_epss(garbage)
