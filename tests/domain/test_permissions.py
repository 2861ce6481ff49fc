"""The permission matrix: the properties the roles promise."""

from __future__ import annotations

import pytest

from wardwatch.domain.permissions import (
    HOME_DASHBOARD,
    PERMISSIONS,
    ROLE_PERMISSIONS,
    SYSTEM,
    Permission,
    PermissionDenied,
    Principal,
    Role,
    allows,
    parse_scopes,
    require,
)

_CHANGES = {p for p in Permission if not (p.value.endswith(":read") or p.value.startswith("dashboard:"))}


def test_every_role_has_a_row_and_a_dashboard_it_may_see() -> None:
    assert set(ROLE_PERMISSIONS) == set(Role) == set(HOME_DASHBOARD)
    for role, dashboard in HOME_DASHBOARD.items():
        assert Permission(f"dashboard:{dashboard}") in ROLE_PERMISSIONS[role]


def test_admin_may_do_everything_and_only_admin_administers_users() -> None:
    assert ROLE_PERMISSIONS[Role.ADMIN] == PERMISSIONS
    assert [r for r in Role if Permission.USERS_ADMIN in ROLE_PERMISSIONS[r]] == [Role.ADMIN]
    assert allows(SYSTEM, Permission.USERS_ADMIN)


def test_read_only_roles_change_nothing() -> None:
    assert not ROLE_PERMISSIONS[Role.AUDITOR] & _CHANGES
    # The one change an executive makes: approving the acceptance of a remediation item's risk (issue 9)
    assert ROLE_PERMISSIONS[Role.EXECUTIVE] & _CHANGES == {Permission.REMEDIATION_ACCEPT}
    assert ROLE_PERMISSIONS[Role.AUDITOR] == PERMISSIONS - _CHANGES  # read-only everything
    assert ROLE_PERMISSIONS[Role.EXECUTIVE] <= {
        Permission.DASHBOARD_EXECUTIVE,
        Permission.RISK_READ,
        Permission.REPORTS_READ,
        Permission.ALARMS_READ,  # the board sees the alarm-assurance status (JOURNEYS 7)
        Permission.REMEDIATION_READ,  # ... the remediation programme (SLAs, time to remediate)
        Permission.GOVERNANCE_READ,  # ... framework coverage and gaps
        Permission.INCIDENTS_READ,  # ... incidents and what was done
        Permission.REMEDIATION_ACCEPT,
    }


def test_a_token_is_narrowed_to_its_scopes_never_widened() -> None:
    clinician = Principal(username="c", role=Role.CLINICIAN, unit="ICU", scopes=frozenset(PERMISSIONS))
    assert clinician.permissions == ROLE_PERMISSIONS[Role.CLINICIAN] and clinician.unit_scoped
    narrow = Principal(username="b", role=Role.BIOMED, scopes=parse_scopes("devices:read, audit:read"))
    assert narrow.permissions == {Permission.DEVICES_READ}
    require(narrow, Permission.DEVICES_READ)
    with pytest.raises(PermissionDenied, match=r"b \(biomed\) is not allowed flows:read"):
        require(narrow, Permission.FLOWS_READ)


def test_unknown_scopes_are_named() -> None:
    with pytest.raises(ValueError, match="unknown scope 'devices:write'"):
        parse_scopes("devices:read devices:write")
    assert parse_scopes("") == frozenset()
