"""Fixtures of the API tests: the sample hospital and a running application on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from tests.api.hospital import Hospital, load_hospital
from wardwatch.api.app import create_app
from wardwatch.domain.permissions import SYSTEM, Role
from wardwatch.services.accounts import create_token
from wardwatch.settings import Settings
from wardwatch.store.database import connect


@pytest.fixture(scope="session")
def hospital(tmp_path_factory: pytest.TempPathFactory) -> Hospital:
    """The small sample hospital with one demo user per role."""
    return load_hospital(tmp_path_factory.mktemp("hospital"))


@pytest.fixture(scope="session")
def client(hospital: Hospital) -> Iterator[TestClient]:
    """An unauthenticated client of the application serving the sample hospital."""
    application = create_app(Settings(home=hospital.home))
    with TestClient(application) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def tokens(hospital: Hospital) -> dict[Role, str]:
    """A bearer token per role, with the whole role as scopes."""
    engine = connect(hospital.url)
    issued = {role: create_token(engine, SYSTEM, role.value, "tests")[0] for role in Role}
    engine.dispose()
    return issued
