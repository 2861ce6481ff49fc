"""Fixtures of the browser tests: the server on a free loopback port and Debian's Chromium driven by Playwright.

Playwright's own browser download is not used: the tests drive ``/usr/bin/chromium`` (``apt-get install
chromium``; ``make test`` installs it when missing).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn

from tests.api.hospital import Hospital, load_hospital
from wardwatch.api.app import create_app
from wardwatch.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]  # fmt: skip
ARTIFACTS = Path(__file__).parent.parent / "artifacts"

playwright_sync = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="session")
def hospital(tmp_path_factory: pytest.TempPathFactory) -> Hospital:
    """The small sample hospital with one demo user per role."""
    return load_hospital(tmp_path_factory.mktemp("hospital"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(home: Path) -> Iterator[str]:
    """A real uvicorn server (in a thread) on the Wardwatch home ``home``: its URL while the block runs."""
    port = _free_port()
    config = uvicorn.Config(create_app(Settings(home=home)), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"wardwatch-test-server-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


@pytest.fixture(scope="session")
def base_url(hospital: Hospital) -> Iterator[str]:
    """The URL of a real server serving the sample hospital."""
    with serving(hospital.home) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's Chromium, headless."""
    if not CHROMIUM.exists():
        pytest.fail("the browser tests need Debian's chromium: apt-get install -y chromium (make test does)")
    with playwright_sync.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: object, base_url: str) -> Iterator[object]:
    """A fresh browser context (no cookies) at a laptop's screen size; fails the test on CSP violations."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1366, "height": 800})  # type: ignore[attr-defined]
    tab = context.new_page()
    problems: list[str] = []
    tab.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    tab.on("pageerror", lambda e: problems.append(str(e)))
    yield tab
    context.close()
    assert problems == [], problems


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots go (git-ignored; CI keeps them as artefacts)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
