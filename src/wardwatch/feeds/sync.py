"""``sync``: download each source into a temp folder, verify it, then ``import_intel`` it (parse before store).

A source that fails (download, SHA-512, parse) stores nothing and keeps its state; the others go on.  The state
(validators, last successful sync) is written atomically after each source that succeeded.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from wardwatch.feeds.http import Downloader, FeedError, Fetched, load_state, mirrored, save_state
from wardwatch.feeds.sources import SOURCES
from wardwatch.ingest.errors import IngestError
from wardwatch.services.intel import import_intel
from wardwatch.settings import Settings

__all__ = ["SourceReport", "SyncReport", "sync"]

_NVD_TIME = "%Y-%m-%dT%H:%M:%S.000+00:00"


@dataclass(slots=True)
class SourceReport:
    """What one source did."""

    source: str
    fetched: int = 0
    not_modified: int = 0
    bytes: int = 0
    new: int = 0
    records: int = 0
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "fetched": self.fetched, "not_modified": self.not_modified,
                "bytes": self.bytes, "new": self.new, "records": self.records, "error": self.error}  # fmt: skip


@dataclass(slots=True)
class SyncReport:
    """Per source, in the order asked."""

    sources: list[SourceReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.error is None for s in self.sources)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "sources": [s.as_dict() for s in self.sources]}


@dataclass(slots=True)
class _Run:
    """One source's download: files for import, and the state to keep if it all succeeds."""

    name: str
    config: Mapping[str, Any]
    state: dict[str, Any]
    folder: Path
    meta: Path
    mirror: str | None
    client: Downloader
    now: datetime
    sleep: Callable[[float], None]
    report: SourceReport
    files: list[Path] = field(default_factory=list)

    def url(self, url: str) -> str:
        return mirrored(url, self.mirror)

    def count(self, fetched: Fetched) -> None:
        if fetched.not_modified:
            self.report.not_modified += 1
        else:
            self.report.fetched += 1
            self.report.bytes += fetched.size

    def validators(self, url: str) -> dict[str, str]:
        return dict(self.state.get("validators", {}).get(url, {}))

    def remember(self, url: str, fetched: Fetched) -> None:
        if fetched.validators:
            self.state.setdefault("validators", {})[url] = fetched.validators


def _file(run: _Run) -> None:
    url = run.url(run.config["url"])
    name = url.rsplit("/", 1)[-1] or run.name
    fetched = run.client.get(url, run.folder / name, validators=run.validators(url), max_bytes=run.config["max_bytes"])
    if fetched is None:
        raise FeedError(f"download from {url} failed: 404 Not Found")
    run.count(fetched)
    run.remember(url, fetched)
    if fetched.path is not None:
        run.files.append(fetched.path)


def _nvd(run: _Run) -> None:
    config = run.config
    url = run.url(config["url"])
    last = run.state.get("last_success")
    start = datetime.fromisoformat(last) if last else run.now - timedelta(days=config["first_sync_days"])
    key = os.environ.get(config["api_key_env"], "").strip()
    headers = {config["api_key_header"]: key} if key else {}
    delay = config["delay_seconds_with_key"] if key else config["delay_seconds"]
    page_size = int(config["results_per_page"])
    requests = 0
    while start < run.now:
        end = min(start + timedelta(days=config["window_days"]), run.now)
        index = 0
        while True:
            if requests:
                run.sleep(delay)
            params: dict[str, str | int] = {
                "lastModStartDate": start.strftime(_NVD_TIME),
                "lastModEndDate": end.strftime(_NVD_TIME),
                "startIndex": index,
                "resultsPerPage": page_size,
            }
            target = run.meta / f"nvd-{requests:05d}.json"
            fetched = run.client.get(url, target, params=params, headers=headers, max_bytes=config["max_bytes"])
            requests += 1
            got, page = _body(fetched, url)
            run.count(got)
            total, count = _nvd_page(got)
            if count:
                run.files.append(page.replace(run.folder / page.name))
            index += count
            if count == 0 or index >= total:
                break
        start = end


def _body(fetched: Fetched | None, url: str) -> tuple[Fetched, Path]:
    """A download that must have a body, and its file (a 304 or a 404 here means the server misbehaved)."""
    if fetched is None or fetched.path is None:
        raise FeedError(f"download from {url} failed: the server sent no body")
    return fetched, fetched.path


def _nvd_page(fetched: Fetched) -> tuple[int, int]:
    try:
        page = json.loads(_body(fetched, fetched.url)[1].read_bytes())
        return int(page["totalResults"]), len(page.get("vulnerabilities") or [])
    except (ValueError, KeyError, TypeError) as e:
        raise FeedError(f"download from {fetched.url} failed: not an NVD CVE API 2.0 page ({e})") from e


def _csaf(run: _Run) -> None:
    config = run.config
    directory = run.url(config["directory"])
    index_url = urljoin(directory, config["index"])
    fetched = run.client.get(index_url, run.meta / "changes.csv", validators=run.validators(index_url),
                             max_bytes=config["max_bytes"])  # fmt: skip
    if fetched is None:
        raise FeedError(f"download from {index_url} failed: 404 Not Found")
    run.count(fetched)
    run.remember(index_url, fetched)
    if fetched.path is None:
        return
    # Incremental by the provider's own change times (not our clock): only rows newer than the newest seen before.
    last = run.state.get("latest_change")
    since = datetime.fromisoformat(last) if last else None
    latest = since
    wanted = re.compile(config["match"])
    with fetched.path.open(encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.reader(handle) if row and row[0].strip()]
    for number, row in enumerate(rows, 1):
        path = row[0].strip().lstrip("/")
        if ".." in path.split("/") or not wanted.search(path):
            continue
        changed = _timestamp(row[1] if len(row) > 1 else "", index_url, number)
        if since is not None and changed <= since:
            continue
        latest = changed if latest is None else max(latest, changed)
        document_url = urljoin(directory, path)
        target = run.folder / path.replace("/", "_")
        document = run.client.get(document_url, target, max_bytes=config["max_bytes"])
        got, body = _body(document, document_url)
        run.count(got)
        digest = run.client.get(document_url + ".sha512", run.meta / (target.name + ".sha512"), max_bytes=4096,
                                missing_ok=True)  # fmt: skip
        if digest is not None and digest.path is not None:
            run.count(digest)
            _verify(body, digest.path, document_url)
        run.files.append(body)
    if latest is not None:
        run.state["latest_change"] = latest.isoformat()


def _timestamp(text: str, url: str, row: int) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as e:
        raise FeedError(f"{url} row {row}: {text!r} is not an ISO 8601 time") from e
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _verify(document: Path, digest_file: Path, url: str) -> None:
    words = digest_file.read_text(encoding="ascii", errors="replace").split()
    expected = words[0].lower() if words else ""
    digest = hashlib.sha512()
    with document.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    if not re.fullmatch(r"[0-9a-f]{128}", expected):
        raise FeedError(f"{url}.sha512 is not a SHA-512 digest")
    if digest.hexdigest() != expected:
        raise FeedError(f"{url} does not match its published SHA-512 — the download is damaged or was altered")


_FETCHERS: dict[str, Callable[[_Run], None]] = {"file": _file, "nvd": _nvd, "csaf": _csaf}


def sync(
    settings: Settings,
    sources: Sequence[str] = (),
    mirror: str | None = None,
    *,
    catalog: Mapping[str, Mapping[str, Any]] = SOURCES,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Callable[[float], None] = time.sleep,
    timeout: float = 60.0,
) -> SyncReport:
    """Download, verify and import each source (all of ``catalog`` when none is named)."""
    names = list(dict.fromkeys(sources)) or list(catalog)
    unknown = [n for n in names if n not in catalog]
    if unknown:
        raise FeedError(f"unknown source {', '.join(unknown)}; choose from {', '.join(catalog)}")
    if mirror:
        mirrored("https://example.invalid/", mirror)  # checks the URL before anything is downloaded
    report = SyncReport()
    with Downloader(timeout=timeout) as client:
        for name in names:
            config = catalog[name]
            source_report = SourceReport(name)
            report.sources.append(source_report)
            state = load_state(settings)
            mine: dict[str, Any] = dict(state.get(name, {}))
            started = now()
            with tempfile.TemporaryDirectory(prefix=f"wardwatch-sync-{name}-") as temp:
                run = _Run(name, config, mine, Path(temp) / "files", Path(temp) / "meta", mirror, client,
                           started, sleep, source_report)  # fmt: skip
                run.folder.mkdir()
                run.meta.mkdir()
                try:
                    _FETCHERS[config["type"]](run)
                    if run.files:
                        imported = import_intel(settings, run.files)
                        source_report.new = sum(f.new for f in imported.files)
                        source_report.records = sum(f.records for f in imported.files)
                except (FeedError, IngestError) as e:
                    source_report.error = str(e)
                    continue
            mine["last_success"] = started.isoformat()
            state = load_state(settings)
            state[name] = mine
            save_state(settings, state)
    return report
