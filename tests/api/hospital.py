"""The small simulated hospital, loaded once per test session, with one user per role (API and browser tests)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert
from typer.testing import CliRunner

from wardwatch.cli.app import app
from wardwatch.domain.permissions import SYSTEM, Role
from wardwatch.services.accounts import busiest_clinical_unit, list_users, set_password
from wardwatch.store.database import connect
from wardwatch.store.schema import vulnerability_findings

#: Findings added by the tests (ids no feed uses), so the findings routes have rows whatever matching stored.
TEST_FINDINGS = (
    (1, "CVE-2099-0001", True, 9.8, "confirmed"),
    (1, "CVE-2099-0002", False, 5.3, "potential"),
    (4, "CVE-2099-0003", False, 7.5, "confirmed"),
)


@dataclass(frozen=True)
class Hospital:
    """A loaded sample hospital."""

    home: Path
    """Its WARDWATCH_HOME (SQLite database, sample files)."""
    passwords: dict[str, str]
    """Role (= username) -> password of the demo users."""
    unit: str
    """The demo clinician's unit."""

    @property
    def url(self) -> str:
        """Its database URL."""
        return f"sqlite:///{self.home / 'wardwatch.db'}"


def load_hospital(root: Path) -> Hospital:
    """Run ``wardwatch demo`` (generation, CMMS import, discovery, intelligence) into ``root``; add users."""
    result = CliRunner().invoke(app, ["demo"], env={"WARDWATCH_HOME": str(root), "WARDWATCH_DATABASE_URL": None})
    assert result.exit_code == 0, result.output
    home = root / "demo"
    engine = connect(f"sqlite:///{home / 'wardwatch.db'}")
    # The demo made one user per role with random passwords it printed; the tests give them known ones.
    assert sorted(u["username"] for u in list_users(engine, SYSTEM)) == sorted(r.value for r in Role)
    passwords = {role.value: f"{role.value}-test-password" for role in Role}
    for username, password in passwords.items():
        set_password(engine, SYSTEM, username, password)
    # the demo gives its clinician the unit whose own alarm design fails (ICU East), else the busiest clinical unit
    unit = next(u["unit"] for u in list_users(engine, SYSTEM) if u["username"] == Role.CLINICIAN.value)
    assert unit and unit in {busiest_clinical_unit(engine), "ICU East"}
    now = datetime.now(UTC)
    with engine.begin() as connection:
        for device_id, cve, kev, cvss, confidence in TEST_FINDINGS:
            detail = {"advisories": [f"TEST-{cve}"], "remediation": [{"category": "vendor_fix", "details": "update"}]}
            connection.execute(
                insert(vulnerability_findings).values(
                    device_id=device_id, vulnerability_id=cve, component_ref="", source="test", confidence=confidence,
                    suppressed=False, in_kev=kev, cvss_score=cvss, detail=json.dumps(detail), first_seen=now,
                    last_seen=now,
                )
            )  # fmt: skip
    engine.dispose()
    return Hospital(home, passwords, unit)
