"""``intel sync`` end to end against a local HTTP server (127.0.0.1, random port) serving the real fixture files
laid out like the official paths: conditional GET, NVD windows and paging, CSAF SHA-512, failures store nothing."""

from __future__ import annotations

import copy
import gzip
import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from typer.testing import CliRunner

from wardwatch.cli.app import app
from wardwatch.feeds import SOURCES, FeedError, sync
from wardwatch.feeds.http import load_state, mirrored, state_path
from wardwatch.settings import Settings

INTEL = Path(__file__).parents[1] / "fixtures" / "intel"
KEV_PATH = "sites/default/files/feeds/known_exploited_vulnerabilities.json"
EPSS_PATH = "epss_scores-current.csv.gz"
NVD_PATH = "rest/json/cves/2.0"
CSAF_DIR = "sites/default/files/csaf"
CSAF_FILES = {"2020/icsma-20-170-06.json": "2020-06-18T12:00:00Z", "2017/icsma-17-017-02.json": "2017-01-17T12:00:00Z"}
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
NO_DELAY = {**SOURCES, "nvd": {**SOURCES["nvd"], "delay_seconds": 0.0}}


@dataclass
class Request:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


@dataclass
class Server:
    """The state the handler reads: files under ``root``; switches to fail a path with a status or cut its body."""

    root: Path
    url: str = ""
    requests: list[Request] = field(default_factory=list)
    status: dict[str, int] = field(default_factory=dict)
    truncate: set[str] = field(default_factory=set)

    def seen(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == "/" + path]


def _handler(server: Server) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            server.requests.append(Request(parts.path, query, {k.lower(): v for k, v in self.headers.items()}))
            relative = parts.path.lstrip("/")
            if relative in server.status:
                self.send_error(server.status[relative])
                return
            file = server.root / relative
            if file.is_dir():  # an API endpoint: one page per startIndex
                file = file / f"start-{query.get('startIndex', ['0'])[0]}.json"
            if not file.is_file():
                self.send_error(404)
                return
            body = file.read_bytes()
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            modified = formatdate(int(file.stat().st_mtime), usegmt=True)
            since = self.headers.get("If-Modified-Since")
            if self.headers.get("If-None-Match") == etag or (
                since
                and "If-None-Match" not in self.headers
                and parsedate_to_datetime(since).timestamp() >= int(file.stat().st_mtime)
            ):
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", modified)
            self.end_headers()
            if relative in server.truncate:
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body)

    return Handler


def _sha512_file(path: Path, digest: str | None = None) -> None:
    value = digest or hashlib.sha512(path.read_bytes()).hexdigest()
    path.with_name(path.name + ".sha512").write_text(f"{value}  {path.name}\n")


def _nvd_pages(folder: Path) -> list[str]:
    """The real trimmed NVD page split into two pages of one 5-result answer (3 + 2)."""
    page = json.loads((INTEL / "nvd" / "page-trimmed.json").read_text())
    items = page["vulnerabilities"]
    folder.mkdir(parents=True)
    for start, chunk in ((0, items[:3]), (3, items[3:])):
        part = {**copy.deepcopy(page), "startIndex": start, "resultsPerPage": 3, "totalResults": len(items)}
        part["vulnerabilities"] = chunk
        (folder / f"start-{start}.json").write_text(json.dumps(part))
    return [v["cve"]["id"] for v in items]


def layout(root: Path) -> None:
    """The official paths, with the real fixture files."""
    kev = root / KEV_PATH
    kev.parent.mkdir(parents=True)
    kev.write_bytes((INTEL / "kev" / "kev_2025-08-25_trimmed.json").read_bytes())
    (root / EPSS_PATH).write_bytes(gzip.compress((INTEL / "epss" / "epss_sample.csv").read_bytes()))
    _nvd_pages(root / NVD_PATH)
    lines = []
    for path, changed in CSAF_FILES.items():
        target = root / CSAF_DIR / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((INTEL / "csaf" / Path(path).name).read_bytes())
        _sha512_file(target)
        lines.append(f'"{path}","{changed}"\n')
    (root / CSAF_DIR / "changes.csv").write_text("".join(lines))


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    state = Server(tmp_path / "www")
    layout(state.root)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home")


def stored(settings: Settings, kind: str | None = None) -> dict[str, bytes]:
    root = settings.home / "intel"
    if kind is not None:
        root = root / kind
    if not root.exists():
        return {}
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def run(settings: Settings, server: Server, *sources: str, now: datetime = NOW) -> Any:
    return sync(settings, sources, server.url, catalog=NO_DELAY, now=lambda: now, sleep=lambda _: None, timeout=5)


def test_first_sync_imports_every_source(settings: Settings, server: Server) -> None:
    report = run(settings, server)
    assert report.ok, report.as_dict()
    by = {s.source: s for s in report.sources}
    assert by["kev"].fetched == 1 and by["kev"].records > 0
    assert by["epss"].records == 5  # every row of the real sample
    assert by["nvd"].fetched == 2 and by["nvd"].records == 5  # two pages, 3 + 2 vulnerabilities
    assert by["csaf"].new == 2 and by["csaf"].fetched == 5  # changes.csv, 2 advisories, 2 .sha512
    for kind in ("kev", "epss", "nvd", "csaf"):
        assert stored(settings, kind), kind
    state = load_state(settings)
    assert set(state) == {"kev", "epss", "nvd", "csaf"}
    assert state["nvd"]["last_success"] == NOW.isoformat()


def test_second_sync_sends_if_none_match_and_gets_304(settings: Settings, server: Server) -> None:
    assert run(settings, server, "kev", "epss", "csaf").ok
    before = stored(settings)
    server.requests.clear()
    report = run(settings, server, "kev", "epss", "csaf")
    assert report.ok
    assert [(s.fetched, s.not_modified, s.bytes) for s in report.sources] == [(0, 1, 0)] * 3
    kev_etag = load_state(settings)["kev"]["validators"][f"{server.url}/{KEV_PATH}"]["etag"]
    assert [r.headers.get("if-none-match") for r in server.seen(KEV_PATH)] == [kev_etag]
    assert server.seen(KEV_PATH)[0].headers.get("if-modified-since")
    assert server.seen(f"{CSAF_DIR}/changes.csv")[0].headers.get("if-none-match")
    assert not server.seen(f"{CSAF_DIR}/2020/icsma-20-170-06.json")  # index unchanged: no advisory re-downloaded
    assert stored(settings) == before


def test_changed_file_is_downloaded_again(settings: Settings, server: Server) -> None:
    assert run(settings, server, "kev").ok
    kev = server.root / KEV_PATH
    document = json.loads(kev.read_text())
    document["vulnerabilities"] = document["vulnerabilities"][:3]
    kev.write_text(json.dumps(document))
    refused = run(settings, server, "kev")  # the catalog says count 20 but lists 3: parsed before stored
    assert refused.sources[0].error is not None and "says count 20 but lists 3" in refused.sources[0].error
    assert len(stored(settings, "kev")) == 1
    document["count"] = 3
    kev.write_text(json.dumps(document))
    report = run(settings, server, "kev")
    assert report.ok
    assert (report.sources[0].fetched, report.sources[0].new, report.sources[0].records) == (1, 1, 3)


def test_nvd_windows_follow_the_last_successful_sync(settings: Settings, server: Server) -> None:
    first = NOW - timedelta(days=200)
    assert run(settings, server, "nvd", now=first).ok
    (window,) = {(r.query["lastModStartDate"][0], r.query["lastModEndDate"][0]) for r in server.seen(NVD_PATH)}
    assert window == ((first - timedelta(days=120)).strftime("%Y-%m-%dT%H:%M:%S.000+00:00"),
                      first.strftime("%Y-%m-%dT%H:%M:%S.000+00:00"))  # fmt: skip
    assert [r.query["startIndex"] for r in server.seen(NVD_PATH)] == [["0"], ["3"]]
    assert all(r.query["resultsPerPage"] == ["2000"] for r in server.seen(NVD_PATH))
    server.requests.clear()
    assert run(settings, server, "nvd").ok  # 200 days later: two windows of at most 120 days
    windows = sorted({(r.query["lastModStartDate"][0], r.query["lastModEndDate"][0]) for r in server.seen(NVD_PATH)})
    middle = first + timedelta(days=120)
    fmt = "%Y-%m-%dT%H:%M:%S.000+00:00"
    assert windows == [(first.strftime(fmt), middle.strftime(fmt)), (middle.strftime(fmt), NOW.strftime(fmt))]
    assert load_state(settings)["nvd"]["last_success"] == NOW.isoformat()


def test_nvd_api_key_is_sent_from_the_environment(
    settings: Settings, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WARDWATCH_NVD_API_KEY", "k-123")
    assert run(settings, server, "nvd").ok
    assert {r.headers.get("apikey") for r in server.seen(NVD_PATH)} == {"k-123"}


def test_csaf_with_a_wrong_sha512_stores_nothing_of_that_source(settings: Settings, server: Server) -> None:
    _sha512_file(server.root / CSAF_DIR / "2017/icsma-17-017-02.json", "0" * 128)
    report = run(settings, server, "csaf", "kev")
    csaf, kev = report.sources
    assert csaf.error is not None and "does not match its published SHA-512" in csaf.error
    assert stored(settings, "csaf") == {}
    assert "csaf" not in load_state(settings)
    assert kev.error is None and stored(settings, "kev")  # the other source is not held back


def test_csaf_without_a_published_sha512_is_accepted(settings: Settings, server: Server) -> None:
    (server.root / CSAF_DIR / "2017/icsma-17-017-02.json.sha512").unlink()
    report = run(settings, server, "csaf")
    assert report.ok and report.sources[0].new == 2


def test_csaf_fetches_only_advisories_changed_since_the_last_sync(settings: Settings, server: Server) -> None:
    index = server.root / CSAF_DIR / "changes.csv"
    rows = index.read_text().splitlines(keepends=True)
    index.write_text(rows[0])  # only the 2020 advisory is published yet
    assert run(settings, server, "csaf").sources[0].new == 1
    assert load_state(settings)["csaf"]["latest_change"] == "2020-06-18T12:00:00+00:00"
    server.requests.clear()
    index.write_text(rows[0] + rows[1].replace("2017-01-17T12:00:00Z", "2026-10-01T08:00:00Z"))
    report = run(settings, server, "csaf")
    assert report.ok and report.sources[0].new == 1
    fetched = [r.path for r in server.requests if r.path.endswith(".json")]
    assert fetched == [f"/{CSAF_DIR}/2017/icsma-17-017-02.json"]
    assert len(stored(settings, "csaf")) == 2


@pytest.mark.parametrize("failure", ["status", "truncate"])
def test_a_broken_download_leaves_the_previous_data_and_state(settings: Settings, server: Server, failure: str) -> None:
    assert run(settings, server, "kev", "epss").ok
    before, state_before = stored(settings), state_path(settings).read_bytes()
    kev = server.root / KEV_PATH
    document = json.loads(kev.read_text())
    document["vulnerabilities"] = document["vulnerabilities"][:2]
    document["count"] = 2
    kev.write_text(json.dumps(document))
    (server.root / EPSS_PATH).write_bytes(gzip.compress(b"cve,epss,percentile\nCVE-2024-0001,0.1,0.5\n"))
    if failure == "status":
        server.status[KEV_PATH] = 500
        server.status[EPSS_PATH] = 500
    else:
        server.truncate |= {KEV_PATH, EPSS_PATH}
    report = run(settings, server, "kev", "epss")
    assert not report.ok
    for item in report.sources:
        assert item.error is not None and item.error.startswith("download from http://127.0.0.1:")
        assert ("500" in item.error) if failure == "status" else ("cut short" in item.error)
    assert stored(settings) == before
    assert state_path(settings).read_bytes() == state_before


def test_mirror_with_a_path_prefix_keeps_the_official_paths(settings: Settings, server: Server) -> None:
    assert mirrored(SOURCES["kev"]["url"], "http://mirror.example/intel/") == f"http://mirror.example/intel/{KEV_PATH}"
    assert mirrored(SOURCES["kev"]["url"], None) == SOURCES["kev"]["url"]
    with pytest.raises(FeedError, match="not an http"):
        sync(settings, ["kev"], "ftp://mirror")
    prefixed = server.root / "intel"
    prefixed.mkdir()
    (server.root / "sites").rename(prefixed / "sites")
    report = sync(settings, ["kev"], server.url + "/intel", catalog=NO_DELAY, timeout=5)
    assert report.ok
    assert [r.path for r in server.requests] == [f"/intel/{KEV_PATH}"]


def test_unknown_source_is_one_error(settings: Settings) -> None:
    with pytest.raises(FeedError, match="unknown source nope; choose from kev, epss, nvd, csaf"):
        sync(settings, ["nope"])


def test_cli_prints_one_line_and_exits_2_on_failure(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WARDWATCH_HOME", str(tmp_path / "cli-home"))
    runner = CliRunner()
    ok = runner.invoke(app, ["intel", "sync", "--source", "kev", "--mirror", server.url])
    assert ok.exit_code == 0, ok.stderr
    assert ok.stdout.startswith("kev: 1 file(s) fetched, 0 not modified")
    again = runner.invoke(app, ["intel", "sync", "--source", "kev", "--mirror", server.url, "--json"])
    assert again.exit_code == 0
    assert json.loads(again.stdout)["sources"][0]["not_modified"] == 1
    (server.root / KEV_PATH).unlink()
    server.status[KEV_PATH] = 404
    bad = runner.invoke(app, ["intel", "sync", "--source", "kev", "--mirror", server.url])
    assert bad.exit_code == 2
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0] == f"error: kev: download from {server.url}/{KEV_PATH} failed: 404 Not Found — check --mirror"
    unknown = runner.invoke(app, ["intel", "sync", "--source", "nope"])
    assert unknown.exit_code == 2 and len(unknown.stderr.strip().splitlines()) == 1
