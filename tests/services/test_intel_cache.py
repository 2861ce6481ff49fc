"""The parsed-record cache of stored intelligence files: same records as parsing, rebuilt when unusable."""

from __future__ import annotations

from pathlib import Path

from wardwatch.ingest.nvd import read_nvd
from wardwatch.services import intel_cache
from wardwatch.services.intel import import_intel, read_intel, read_vulnerabilities, stored_files, stored_name
from wardwatch.settings import Settings

INTEL = Path(__file__).parents[1] / "fixtures" / "intel"


def _nvd_fixture() -> Path:
    return next(p for p in sorted((INTEL / "nvd").iterdir()) if p.suffix in (".json", ".gz"))


def test_import_caches_the_parsed_records_and_reading_gives_the_same(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    source = _nvd_fixture()
    import_intel(settings, [source, INTEL / "kev"])
    stored = [path for kind, path in stored_files(settings) if kind == "nvd"]
    assert stored and all(intel_cache.cache_path(p).is_file() for p in stored)
    parsed = read_nvd(source)
    assert read_intel(settings).parsed.vulnerabilities == parsed
    assert read_vulnerabilities(settings, [stored_name("nvd", stored[0])]) == parsed


def test_a_broken_or_missing_cache_is_parsed_again_and_rewritten(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    source = _nvd_fixture()
    import_intel(settings, [source])
    stored = next(path for kind, path in stored_files(settings) if kind == "nvd")
    cache = intel_cache.cache_path(stored)
    cache.write_bytes(b"not a pickle")
    assert read_intel(settings).parsed.vulnerabilities == read_nvd(source)
    assert cache.read_bytes() != b"not a pickle"  # rewritten
    cache.unlink()
    assert read_intel(settings).parsed.vulnerabilities == read_nvd(source)
    assert cache.is_file()


def test_the_cache_name_changes_with_the_content_and_the_format(tmp_path: Path) -> None:
    a, b = tmp_path / "intel" / "nvd" / "aaa.json", tmp_path / "intel" / "nvd" / "bbb.json"
    assert intel_cache.cache_path(a) != intel_cache.cache_path(b)
    assert intel_cache.cache_path(a).parent == tmp_path / "cache" / "intel-parsed" / "nvd"  # not among the stored
    assert f".v{intel_cache.FORMAT}-" in intel_cache.cache_path(a).name
