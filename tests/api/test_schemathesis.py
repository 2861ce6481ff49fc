"""Schemathesis against the OpenAPI contract: generated requests to every route never cause a server error."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.api.hospital import Hospital
from wardwatch.api.app import create_app
from wardwatch.domain.permissions import SYSTEM, Role
from wardwatch.services.accounts import create_token
from wardwatch.settings import Settings
from wardwatch.store.database import connect

schemathesis: Any = pytest.importorskip("schemathesis")
hypothesis: Any = pytest.importorskip("hypothesis")


@pytest.fixture
def own_client(hospital: Hospital, tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    """A copy of the sample hospital (generated requests disable users, upload files...) and an admin token."""
    home = tmp_path / "home"
    home.mkdir()
    source, copy = sqlite3.connect(hospital.home / "wardwatch.db"), sqlite3.connect(home / "wardwatch.db")
    with closing(source), closing(copy):
        source.backup(copy)  # a consistent copy (the database is in WAL mode)
    engine = connect(f"sqlite:///{home / 'wardwatch.db'}")
    token, _ = create_token(engine, SYSTEM, Role.ADMIN.value, "schemathesis")
    engine.dispose()
    with TestClient(create_app(Settings(home=home))) as test_client:
        yield test_client, token


@pytest.mark.slow
def test_generated_requests_never_cause_a_server_error(own_client: tuple[TestClient, str]) -> None:
    client, token = own_client
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", client.app)
    headers = {"Authorization": f"Bearer {token}"}
    tried: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @hypothesis.given(case=operation.as_strategy())
        @hypothesis.settings(
            max_examples=15, deadline=None, derandomize=True, database=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )  # fmt: skip
        def call(case: Any) -> None:
            response = case.call(headers=headers, timeout=120)  # a PDF report on a loaded 2-core machine
            assert response.status_code < 500, f"{case.method} {case.formatted_path} -> {response.status_code}"

        call()
        tried.append(operation.label)
    spec = client.get("/api/openapi.json").json()
    assert len(tried) == sum(len(item) for item in spec["paths"].values())  # every operation was exercised
