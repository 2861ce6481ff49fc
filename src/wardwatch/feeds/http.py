"""Downloads: conditional GET (ETag / Last-Modified), timeouts, size caps, one-line errors, and the sync state file.

Every body is streamed to a file; a body that ends early, exceeds its cap or comes with an error status raises
:class:`FeedError` (one line naming the URL) and leaves a partial file only in the caller's temp folder.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx2

from wardwatch.settings import Settings

__all__ = ["Downloader", "FeedError", "Fetched", "load_state", "mirrored", "save_state", "state_path"]

DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
USER_AGENT = "wardwatch-intel-sync"


class FeedError(Exception):
    """A download or verification failed; the message is one line naming the URL and the reason."""


@dataclass(frozen=True, slots=True)
class Fetched:
    """The outcome of one GET."""

    url: str
    path: Path | None
    """Where the body was written; ``None`` when not modified (304)."""
    size: int
    validators: dict[str, str]
    """``etag`` / ``last_modified`` of the response, to send next time."""

    @property
    def not_modified(self) -> bool:
        return self.path is None


def mirrored(url: str, mirror: str | None) -> str:
    """``url`` with its scheme and host replaced by ``mirror`` (which may carry a path prefix)."""
    if not mirror:
        return url
    base = urlsplit(mirror.rstrip("/"))
    if base.scheme not in ("http", "https") or not base.netloc:
        raise FeedError(f"--mirror {mirror!r} is not an http(s) URL")
    original = urlsplit(url)
    return urlunsplit((base.scheme, base.netloc, base.path + original.path, original.query, ""))


class Downloader:
    """One HTTP client for a sync run."""

    def __init__(self, *, timeout: float = DEFAULT_TIMEOUT, transport: httpx2.BaseTransport | None = None) -> None:
        self._client = httpx2.Client(
            timeout=httpx2.Timeout(timeout),
            follow_redirects=True,
            headers={"User-Agent": USER_AGENT},
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Downloader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(
        self,
        url: str,
        target: Path,
        *,
        validators: dict[str, str] | None = None,
        params: dict[str, str | int] | None = None,
        headers: dict[str, str] | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        missing_ok: bool = False,
    ) -> Fetched | None:
        """GET ``url`` into ``target``; 304 gives a :class:`Fetched` without a path; 404 gives ``None`` if
        ``missing_ok``; anything else that is not 2xx, or a body that is cut short or too big, raises FeedError."""
        sent = dict(headers or {})
        if validators:
            if validators.get("etag"):
                sent["If-None-Match"] = validators["etag"]
            if validators.get("last_modified"):
                sent["If-Modified-Since"] = validators["last_modified"]
        try:
            with self._client.stream("GET", url, params=params, headers=sent) as response:
                where = str(response.url)
                if response.status_code == 304:
                    return Fetched(where, None, 0, dict(validators or {}))
                if response.status_code == 404 and missing_ok:
                    return None
                if not response.is_success:
                    raise FeedError(f"download from {where} failed: {response.status_code} {response.reason_phrase}")
                declared = response.headers.get("Content-Length")
                if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                    raise FeedError(f"download from {where} failed: {declared} bytes is over the {max_bytes:,} cap")
                size = 0
                target.parent.mkdir(parents=True, exist_ok=True)
                with target.open("wb") as handle:
                    for chunk in response.iter_bytes():
                        size += len(chunk)
                        if size > max_bytes:
                            raise FeedError(f"download from {where} failed: more than the {max_bytes:,} byte cap")
                        handle.write(chunk)
                encoded = response.headers.get("Content-Encoding", "identity").lower() not in ("", "identity")
                if declared is not None and declared.isdigit() and not encoded and size != int(declared):
                    raise FeedError(f"download from {where} failed: got {size} of {declared} bytes")
                got = {
                    key: value
                    for key, value in (
                        ("etag", response.headers.get("ETag")),
                        ("last_modified", response.headers.get("Last-Modified")),
                    )
                    if value
                }
                return Fetched(where, target, size, got)
        except httpx2.HTTPError as e:
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            if isinstance(e, httpx2.RemoteProtocolError):
                reason = f"the body was cut short ({reason})"
            raise FeedError(f"download from {url} failed: {reason}") from e
        except OSError as e:
            raise FeedError(f"download from {url} failed: {e.strerror or e}") from e


def state_path(settings: Settings) -> Path:
    """The sync state file: per source, its validators and the time of its last successful sync."""
    return settings.home / "intel" / "sync-state.json"


def load_state(settings: Settings) -> dict[str, Any]:
    """The state of every source (``{}`` before the first sync)."""
    path = state_path(settings)
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise FeedError(f"{path}: unreadable sync state ({e}); delete it to sync everything again") from e
    return data if isinstance(data, dict) else {}


def save_state(settings: Settings, state: dict[str, Any]) -> None:
    """Write the state atomically (temp file, then rename)."""
    path = state_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temp.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
