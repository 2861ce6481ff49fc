"""Roles and the one permission matrix: who may do what.

Every service that reads or changes something asks :func:`allows` through a :class:`Principal` (the API, the web
UI and the CLI only pass the principal in), so a refused action is refused the same way everywhere.  Permissions
are ``"<area>:<verb>"`` strings; ``read`` never changes anything.  API tokens carry *scopes*: a token may do
what its scopes name *and* its owner's role allows, never more.

Later capabilities add their permissions here (one literal table), and their routes check them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "HOME_DASHBOARD",
    "PERMISSIONS",
    "ROLE_PERMISSIONS",
    "Permission",
    "PermissionDenied",
    "Principal",
    "Role",
    "SYSTEM",
    "allows",
    "parse_scopes",
    "require",
]


class Role(StrEnum):
    """The roles of Wardwatch users."""

    ADMIN = "admin"
    BIOMED = "biomed"
    ITSEC = "itsec"
    CLINICIAN = "clinician"
    COMPLIANCE = "compliance"
    EXECUTIVE = "executive"
    AUDITOR = "auditor"


class Permission(StrEnum):
    """Everything a role can be allowed to do."""

    DEVICES_READ = "devices:read"
    OBSERVATIONS_READ = "observations:read"
    FLOWS_READ = "flows:read"
    FINDINGS_READ = "findings:read"
    INTEL_WRITE = "intel:write"
    INVENTORY_WRITE = "inventory:write"
    DISCOVERY_WRITE = "discovery:write"
    RISK_READ = "risk:read"
    RISK_ACCEPT = "risk:accept"
    JOBS_READ = "jobs:read"
    USERS_READ = "users:read"
    USERS_ADMIN = "users:admin"
    AUDIT_READ = "audit:read"
    REPORTS_READ = "reports:read"
    NETWORK_READ = "network:read"
    NETWORK_WRITE = "network:write"
    ALARMS_READ = "alarms:read"
    ALARMS_WRITE = "alarms:write"
    """Import alarm topologies and delivery records, run verifications and probes."""
    ALARMS_BUDGET = "alarms:budget"
    """Set and approve alarm delivery budgets (clinicians: their own unit)."""
    REMEDIATION_READ = "remediation:read"
    REMEDIATION_TRIAGE = "remediation:triage"
    """Biomed: triage work items, record manufacturer validations, schedule, apply and verify patches."""
    REMEDIATION_MITIGATE = "remediation:mitigate"
    """IT security: apply network mitigations (isolation, ACL, disabled service, monitoring)."""
    REMEDIATION_SIGNOFF = "remediation:signoff"
    """Clinicians: sign off the clinical downtime a patch needs (their own unit)."""
    REMEDIATION_ACCEPT = "remediation:accept"
    """Compliance or an executive: approve accepting the risk of a work item (with justification and expiry)."""
    GOVERNANCE_READ = "governance:read"
    TRAINING_WRITE = "training:write"
    """Record who completed which cybersecurity training."""
    INCIDENTS_READ = "incidents:read"
    INCIDENTS_WRITE = "incidents:write"
    """Open incidents from playbooks and record what was done."""
    DASHBOARD_EXECUTIVE = "dashboard:executive"
    DASHBOARD_BIOMED = "dashboard:biomed"
    DASHBOARD_ITSEC = "dashboard:itsec"
    DASHBOARD_CLINICIAN = "dashboard:clinician"
    DASHBOARD_COMPLIANCE = "dashboard:compliance"


#: Every permission.
PERMISSIONS: frozenset[Permission] = frozenset(Permission)
_READS = frozenset(p for p in Permission if p.value.endswith(":read") or p.value.startswith("dashboard:"))
_P = Permission

#: The permission matrix: role -> what it may do.  The one place access is decided.
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: PERMISSIONS,
    Role.BIOMED: frozenset({
        _P.DEVICES_READ, _P.OBSERVATIONS_READ, _P.FLOWS_READ, _P.FINDINGS_READ, _P.RISK_READ, _P.JOBS_READ,
        _P.INVENTORY_WRITE, _P.DISCOVERY_WRITE, _P.INTEL_WRITE, _P.DASHBOARD_BIOMED, _P.REPORTS_READ,
        _P.NETWORK_READ, _P.ALARMS_READ, _P.ALARMS_WRITE, _P.REMEDIATION_READ, _P.REMEDIATION_TRIAGE,
        _P.INCIDENTS_READ, _P.INCIDENTS_WRITE,
    }),
    Role.ITSEC: frozenset({
        _P.DEVICES_READ, _P.OBSERVATIONS_READ, _P.FLOWS_READ, _P.FINDINGS_READ, _P.RISK_READ, _P.RISK_ACCEPT,
        _P.JOBS_READ, _P.DISCOVERY_WRITE, _P.INTEL_WRITE, _P.DASHBOARD_ITSEC, _P.REPORTS_READ, _P.NETWORK_READ,
        _P.NETWORK_WRITE, _P.ALARMS_READ, _P.ALARMS_WRITE, _P.REMEDIATION_READ, _P.REMEDIATION_MITIGATE,
        _P.INCIDENTS_READ, _P.INCIDENTS_WRITE,
    }),
    Role.CLINICIAN: frozenset({
        _P.DEVICES_READ, _P.FINDINGS_READ, _P.RISK_READ, _P.DASHBOARD_CLINICIAN, _P.ALARMS_READ, _P.ALARMS_BUDGET,
        _P.REMEDIATION_READ, _P.REMEDIATION_SIGNOFF, _P.INCIDENTS_READ,
    }),
    Role.COMPLIANCE: frozenset({
        _P.DEVICES_READ, _P.FINDINGS_READ, _P.RISK_READ, _P.JOBS_READ, _P.AUDIT_READ, _P.DASHBOARD_COMPLIANCE,
        _P.REPORTS_READ, _P.ALARMS_READ, _P.REMEDIATION_READ, _P.REMEDIATION_ACCEPT, _P.GOVERNANCE_READ,
        _P.TRAINING_WRITE, _P.INCIDENTS_READ,
    }),
    Role.EXECUTIVE: frozenset({
        _P.RISK_READ, _P.DASHBOARD_EXECUTIVE, _P.REPORTS_READ, _P.ALARMS_READ, _P.REMEDIATION_READ,
        _P.REMEDIATION_ACCEPT, _P.GOVERNANCE_READ, _P.INCIDENTS_READ,
    }),
    Role.AUDITOR: _READS,
}  # fmt: skip

#: The dashboard each role lands on after logging in (admin and auditor land on the executive one).
HOME_DASHBOARD: dict[Role, str] = {
    Role.ADMIN: "executive",
    Role.BIOMED: "biomed",
    Role.ITSEC: "itsec",
    Role.CLINICIAN: "clinician",
    Role.COMPLIANCE: "compliance",
    Role.EXECUTIVE: "executive",
    Role.AUDITOR: "executive",
}


class PermissionDenied(Exception):
    """The principal may not do this; the message names the permission missing."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is acting: a user (through a session or a token) or the local operator (the CLI)."""

    username: str
    """The user's login name, or ``"system"`` for the local operator."""
    role: Role
    """The role that decides what is allowed."""
    user_id: int | None = None
    """The user's id; ``None`` for the local operator."""
    unit: str | None = None
    """The department a clinician sees (their unit); ``None`` for every other role."""
    scopes: frozenset[Permission] | None = None
    """A token's scopes; ``None`` when logged in with a password (the whole role applies)."""

    @property
    def permissions(self) -> frozenset[Permission]:
        """What this principal may do: its role's permissions, narrowed by a token's scopes."""
        granted = ROLE_PERMISSIONS[self.role]
        return granted if self.scopes is None else granted & self.scopes

    @property
    def unit_scoped(self) -> bool:
        """True when device reads are limited to the principal's unit (clinicians)."""
        return self.role is Role.CLINICIAN


#: The local operator: whoever runs the CLI on the server with access to the database.
SYSTEM = Principal(username="system", role=Role.ADMIN)


def allows(principal: Principal, permission: Permission) -> bool:
    """Whether ``principal`` may do ``permission``."""
    return permission in principal.permissions


def require(principal: Principal, permission: Permission) -> None:
    """Raise :class:`PermissionDenied` unless ``principal`` may do ``permission``."""
    if permission not in principal.permissions:
        raise PermissionDenied(
            f"{principal.username} ({principal.role.value}) is not allowed {permission.value}; "
            "ask an administrator for a role that has it"
        )


def parse_scopes(text: str) -> frozenset[Permission]:
    """Scopes from a space- or comma-separated list; raise ``ValueError`` naming an unknown one."""
    scopes: set[Permission] = set()
    for item in text.replace(",", " ").split():
        try:
            scopes.add(Permission(item))
        except ValueError:
            known = ", ".join(sorted(p.value for p in Permission))
            raise ValueError(f"unknown scope {item!r}; known scopes: {known}") from None
    return frozenset(scopes)
