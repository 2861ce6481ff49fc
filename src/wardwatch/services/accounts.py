"""Accounts: local users with argon2id passwords and lock-out, API tokens with scopes, browser sessions.

AccountError
├── InvalidAccount        a username, role, password or scope that can't be used (the message says why)
├── UserExists            the username is taken
├── UserNotFound          no such user (also a ``LookupError``)
└── AuthenticationFailed  wrong or unknown credentials, a disabled or locked account: one message for all

Secrets are never stored: passwords as argon2id hashes (argon2-cffi), tokens and session cookies as SHA-256
hashes (they are 256-bit random values, so a fast hash is enough).  ``auth_provider`` says who authenticates an
account: ``local`` today; an OIDC or SAML login later creates sessions the same way after its own check.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from wardwatch.domain.permissions import ROLE_PERMISSIONS, Permission, Principal, Role, parse_scopes, require
from wardwatch.services import audit
from wardwatch.store.database import ensure_ready
from wardwatch.store.inventory import aware
from wardwatch.store.schema import api_tokens, audit_log, user_sessions, users

__all__ = [
    "AccountError",
    "AuthenticationFailed",
    "LoginThrottled",
    "InvalidAccount",
    "LoginPolicy",
    "UserExists",
    "UserNotFound",
    "add_user",
    "authenticate",
    "busiest_clinical_unit",
    "unit_names",
    "create_demo_users",
    "create_session",
    "create_token",
    "disable_user",
    "end_session",
    "list_users",
    "principal_from_session",
    "principal_from_token",
    "set_password",
]

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,99}$")
_TOKEN_PREFIX = "ww_"  # noqa: S105 - a public prefix, not a secret
_HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when the username is unknown, so an unknown user takes as long as a wrong password.


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against for unknown users (equal timing); made on first use, not at import (~0.2 s)."""
    return _HASHER.hash(secrets.token_hex(16))


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    """Password and lock-out rules (policy as data)."""

    min_password_length: int = 12
    """Shorter passwords are refused."""
    max_failures: int = 5
    """Failed logins in a row before the account locks."""
    lockout: timedelta = timedelta(minutes=15)
    """How long a locked account stays locked."""
    session_lifetime: timedelta = timedelta(hours=12)
    """How long a browser session lasts."""
    max_address_failures: int = 50
    """Failed logins from one address (any usernames) within :attr:`address_window` before that address is
    refused without checking passwords: guessing across many accounts, which the per-account lock-out misses.
    Generous because a hospital's clinicians often share one NAT or proxy address."""
    address_window: timedelta = timedelta(minutes=15)


POLICY = LoginPolicy()


class AccountError(Exception):
    """Base of account errors; the message is one line a user can act on."""


class InvalidAccount(AccountError, ValueError):
    """A username, role, password or scope that can't be used."""


class UserExists(AccountError):
    """The username is already taken."""


class UserNotFound(AccountError, LookupError):
    """No user has this username."""


class AuthenticationFailed(AccountError):
    """Wrong or unknown credentials, or a disabled or locked account (deliberately one message)."""


class LoginThrottled(AuthenticationFailed):
    """Too many failed logins from one address recently: refused before any password is checked."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins from this address; try again in {retry_after // 60 + 1} minutes")
        self.retry_after = retry_after


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _check_password(password: str, policy: LoginPolicy) -> None:
    if len(password) < policy.min_password_length:
        raise InvalidAccount(f"the password must have at least {policy.min_password_length} characters")


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise InvalidAccount(f"role {value!r} is not one of: {', '.join(r.value for r in Role)}") from None


def _user_row(connection: Connection, username: str) -> Any:
    row = connection.execute(select(users).where(users.c.username == username.lower())).first()
    if row is None:
        raise UserNotFound(f"no user is called {username!r}; `wardwatch users list` shows them")
    return row


def _public(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "username": row.username,
        "display_name": row.display_name,
        "role": row.role,
        "unit": row.unit,
        "auth_provider": row.auth_provider,
        "disabled": row.disabled,
        "locked": row.locked_until is not None and aware(row.locked_until) > datetime.now(UTC),
        "created_at": aware(row.created_at),
        "last_login_at": aware(row.last_login_at) if row.last_login_at else None,
    }


def add_user(
    engine: Engine,
    actor: Principal,
    username: str,
    role: str,
    password: str,
    *,
    unit: str | None = None,
    display_name: str | None = None,
    policy: LoginPolicy = POLICY,
) -> dict[str, Any]:
    """Create a local account; needs ``users:admin``.  A clinician needs a ``unit`` (the devices they see)."""
    require(actor, Permission.USERS_ADMIN)
    ensure_ready(engine)
    name = username.strip().lower()
    if not _USERNAME.match(name):
        raise InvalidAccount(
            f"username {username!r} must be 2-100 characters: lowercase letters, digits, '.', '_', '-', '@'"
        )
    chosen = _role(role)
    if chosen is Role.CLINICIAN and not unit:
        raise InvalidAccount("a clinician needs --unit, the department whose devices they see")
    _check_password(password, policy)
    with engine.begin() as connection:
        if connection.execute(select(users.c.id).where(users.c.username == name)).first() is not None:
            raise UserExists(f"a user called {name!r} already exists")
        connection.execute(
            insert(users).values(
                username=name,
                display_name=display_name,
                role=chosen.value,
                unit=unit,
                auth_provider="local",
                password_hash=_HASHER.hash(password),
                disabled=False,
                failed_logins=0,
                created_at=datetime.now(UTC),
            )
        )
        audit.record(connection, actor.username, "users.add", target=name, detail={"role": chosen.value, "unit": unit})
        return _public(_user_row(connection, name))


def list_users(engine: Engine, actor: Principal) -> list[dict[str, Any]]:
    """Every account (never a hash); needs ``users:read``."""
    require(actor, Permission.USERS_READ)
    ensure_ready(engine)
    with engine.connect() as connection:
        return [_public(row) for row in connection.execute(select(users).order_by(users.c.username))]


def disable_user(engine: Engine, actor: Principal, username: str) -> dict[str, Any]:
    """Disable an account and end its sessions and tokens; needs ``users:admin``."""
    require(actor, Permission.USERS_ADMIN)
    ensure_ready(engine)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        row = _user_row(connection, username)
        connection.execute(update(users).where(users.c.id == row.id).values(disabled=True))
        connection.execute(delete(user_sessions).where(user_sessions.c.user_id == row.id))
        connection.execute(
            update(api_tokens)
            .where(api_tokens.c.user_id == row.id, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        audit.record(connection, actor.username, "users.disable", target=row.username)
        return _public(_user_row(connection, row.username))


def set_password(
    engine: Engine, actor: Principal, username: str, password: str, *, policy: LoginPolicy = POLICY
) -> None:
    """Set a new password (yourself, or anyone with ``users:admin``); unlocks the account and ends its sessions."""
    if actor.username != username.strip().lower():
        require(actor, Permission.USERS_ADMIN)
    _check_password(password, policy)
    ensure_ready(engine)
    with engine.begin() as connection:
        row = _user_row(connection, username)
        connection.execute(
            update(users)
            .where(users.c.id == row.id)
            .values(password_hash=_HASHER.hash(password), failed_logins=0, locked_until=None)
        )
        connection.execute(delete(user_sessions).where(user_sessions.c.user_id == row.id))
        audit.record(connection, actor.username, "users.password", target=row.username)


def _principal(row: Any, scopes: frozenset[Permission] | None = None) -> Principal:
    return Principal(username=row.username, role=Role(row.role), user_id=row.id, unit=row.unit, scopes=scopes)


def authenticate(
    engine: Engine, username: str, password: str, *, address: str | None = None, policy: LoginPolicy = POLICY
) -> Principal:
    """Check a password; count failures and lock the account after ``policy.max_failures`` in a row."""
    ensure_ready(engine)
    now = datetime.now(UTC)
    name = username.strip().lower()
    with engine.begin() as connection:
        wait = _throttled(connection, address, now, policy)
        if wait is not None:
            audit.record(connection, name or "?", "login", outcome="denied", address=address,
                         detail={"reason": "throttled: too many failed logins from this address"})  # fmt: skip
        else:
            principal = _check_login(connection, name, password, now, address, policy)
    if wait is not None:
        raise LoginThrottled(wait)
    if principal is None:  # raised after the commit, so the failure count, lock and audit entry are kept
        raise AuthenticationFailed("wrong username or password, or the account is locked or disabled")
    return principal


def _throttled(connection: Connection, address: str | None, now: datetime, policy: LoginPolicy) -> int | None:
    """Seconds until the address may try again, when it failed too often lately (from the audit trail)."""
    if not address or policy.max_address_failures <= 0:
        return None
    since = now - policy.address_window
    a = audit_log.c
    recent = (
        select(a.at)
        .where(a.action == "login", a.address == address, a.outcome.in_(("failure", "denied")), a.at >= since)
        .order_by(a.at.desc())
        .limit(policy.max_address_failures)
    )
    times = [aware(t) for t in connection.execute(recent).scalars()]
    if len(times) < policy.max_address_failures:
        return None
    return max(1, int((times[-1] + policy.address_window - now).total_seconds()))


def _check_login(
    connection: Connection, name: str, password: str, now: datetime, address: str | None, policy: LoginPolicy
) -> Principal | None:
    row = connection.execute(select(users).where(users.c.username == name)).first()
    if row is None or row.password_hash is None:
        _verify(_dummy_hash(), password)
        reason = "unknown user" if row is None else f"{row.auth_provider} account"
        audit.record(connection, name or "?", "login", outcome="failure", detail={"reason": reason}, address=address)
        return None
    locked = row.locked_until is not None and aware(row.locked_until) > now
    if row.disabled or locked:
        reason = "disabled" if row.disabled else "locked"
        audit.record(connection, name, "login", outcome="denied", address=address, detail={"reason": reason})
        return None
    if not _verify(row.password_hash, password):
        failures = row.failed_logins + 1
        lock = failures >= policy.max_failures
        connection.execute(
            update(users)
            .where(users.c.id == row.id)
            .values(failed_logins=0 if lock else failures, locked_until=now + policy.lockout if lock else None)
        )
        detail = {"reason": "wrong password", "failures": failures, "locked": lock}
        audit.record(connection, name, "login", outcome="failure", detail=detail, address=address)
        return None
    values: dict[str, Any] = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
    if _HASHER.check_needs_rehash(row.password_hash):
        values["password_hash"] = _HASHER.hash(password)
    connection.execute(update(users).where(users.c.id == row.id).values(**values))
    audit.record(connection, name, "login", address=address)
    return _principal(row)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_session(engine: Engine, principal: Principal, policy: LoginPolicy = POLICY) -> tuple[str, str]:
    """Start a browser session: (cookie value, CSRF token).  Only the cookie's hash is stored."""
    if principal.user_id is None:
        raise InvalidAccount("the local operator has no browser session; log in as a user")
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(delete(user_sessions).where(user_sessions.c.expires_at < now))  # forget stale ones
        connection.execute(
            insert(user_sessions).values(
                id=_digest(token),
                user_id=principal.user_id,
                csrf_token=csrf,
                created_at=now,
                expires_at=now + policy.session_lifetime,
            )
        )
    return token, csrf


def principal_from_session(engine: Engine, token: str) -> tuple[Principal, str] | None:
    """The user and CSRF token of a live session, or ``None`` (unknown, expired, or the user is disabled)."""
    with engine.connect() as connection:
        row = connection.execute(
            select(users, user_sessions.c.csrf_token, user_sessions.c.expires_at)
            .join(user_sessions, user_sessions.c.user_id == users.c.id)
            .where(user_sessions.c.id == _digest(token))
        ).first()
    if row is None or row.disabled or aware(row.expires_at) <= datetime.now(UTC):
        return None
    return _principal(row), str(row.csrf_token)


def end_session(engine: Engine, token: str) -> None:
    """Log out: forget the session."""
    with engine.begin() as connection:
        connection.execute(delete(user_sessions).where(user_sessions.c.id == _digest(token)))


def create_token(
    engine: Engine,
    actor: Principal,
    username: str,
    name: str,
    *,
    scopes: str | None = None,
    expires_in: timedelta | None = None,
) -> tuple[str, dict[str, Any]]:
    """A new API token for ``username`` (yourself, or anyone with ``users:admin``): (token, its description).

    ``scopes`` (space/comma separated) must be permissions the user's role has; by default the whole role.
    The token is shown once and only its hash is kept.
    """
    if actor.username != username.strip().lower():
        require(actor, Permission.USERS_ADMIN)
    ensure_ready(engine)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        row = _user_row(connection, username)
        if row.disabled:
            raise InvalidAccount(f"{row.username} is disabled; a disabled user gets no token")
        granted = ROLE_PERMISSIONS[Role(row.role)]
        try:
            wanted = granted if scopes is None else parse_scopes(scopes)
        except ValueError as e:
            raise InvalidAccount(str(e)) from None
        if not wanted:
            raise InvalidAccount("give at least one scope")
        beyond = sorted(p.value for p in wanted - granted)
        if beyond:
            raise InvalidAccount(f"the role {row.role} of {row.username} does not have: {', '.join(beyond)}")
        token = _TOKEN_PREFIX + secrets.token_urlsafe(32)
        description = {
            "name": name,
            "user": row.username,
            "prefix": token[:10],
            "scopes": sorted(p.value for p in wanted),
            "created_at": now,
            "expires_at": now + expires_in if expires_in else None,
        }
        connection.execute(
            insert(api_tokens).values(
                user_id=row.id,
                name=name[:100],
                token_hash=_digest(token),
                prefix=token[:10],
                scopes=" ".join(description["scopes"]),
                created_at=now,
                expires_at=description["expires_at"],
            )
        )
        audit.record(
            connection, actor.username, "tokens.create", target=row.username,
            detail={"name": name, "scopes": description["scopes"]},
        )  # fmt: skip
    return token, description


def principal_from_token(engine: Engine, token: str) -> Principal | None:
    """The principal a bearer token acts as (narrowed to its scopes), or ``None`` if it is not valid now."""
    if not token.startswith(_TOKEN_PREFIX):
        return None
    now = datetime.now(UTC)
    with engine.connect() as connection:
        row = connection.execute(
            select(
                users,
                api_tokens.c.id.label("token_id"),
                api_tokens.c.scopes,
                api_tokens.c.expires_at,
                api_tokens.c.revoked_at,
                api_tokens.c.last_used_at,
            )
            .join(api_tokens, api_tokens.c.user_id == users.c.id)
            .where(api_tokens.c.token_hash == _digest(token))
        ).first()
    if row is None or row.disabled or row.revoked_at is not None:
        return None
    if row.expires_at is not None and aware(row.expires_at) <= now:
        return None
    if row.last_used_at is None or aware(row.last_used_at) < now - timedelta(minutes=1):
        with engine.begin() as connection:  # at most one write a minute per token
            connection.execute(update(api_tokens).where(api_tokens.c.id == row.token_id).values(last_used_at=now))
    return _principal(row, parse_scopes(row.scopes))


def busiest_clinical_unit(engine: Engine) -> str | None:
    """The department with the most clinical devices (the demo clinician's unit)."""
    from wardwatch.store.schema import devices, units  # noqa: PLC0415 - only the demo needs these tables

    with engine.connect() as connection:
        return connection.execute(
            select(units.c.department)
            .join(devices, devices.c.unit_id == units.c.id)
            .where(devices.c.criticality.is_not(None), devices.c.criticality != "non-clinical")
            .group_by(units.c.department)
            .order_by(func.count().desc(), units.c.department)
            .limit(1)
        ).scalar()


def unit_names(engine: Engine) -> list[str]:
    """Every department that has devices, sorted (the unit picker of the clinician dashboard)."""
    from wardwatch.store.schema import devices, units  # noqa: PLC0415 - as above

    with engine.connect() as connection:
        found = connection.execute(
            select(units.c.department).join(devices, devices.c.unit_id == units.c.id).distinct()
        ).scalars()
        return sorted(str(u) for u in found if u)


def create_demo_users(engine: Engine, actor: Principal, *, unit: str | None = None) -> list[dict[str, str]]:
    """One account per role, each with a new random password (returned once, to print); needs ``users:admin``.

    Meant for the demo database only: the usernames are the role names.
    """
    chosen_unit = unit or busiest_clinical_unit(engine) or "ICU"
    created = []
    for role in Role:
        password = secrets.token_urlsafe(12)
        add_user(
            engine, actor, role.value, role.value, password,
            unit=chosen_unit if role is Role.CLINICIAN else None, display_name=f"Demo {role.value}",
        )  # fmt: skip
        created.append({"username": role.value, "role": role.value, "password": password,
                        "unit": chosen_unit if role is Role.CLINICIAN else ""})  # fmt: skip
    return created
