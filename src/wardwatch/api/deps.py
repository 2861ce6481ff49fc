"""Dependencies every route uses: the database, the settings, who is asking, and the role check.

Authentication: ``Authorization: Bearer <token>`` for machines; the ``ww_session`` cookie (HttpOnly,
SameSite=Strict) for the web UI.  With the cookie, every state-changing request must also carry the session's
CSRF token in ``X-CSRF-Token`` (the UI reads it from the ``ww_csrf`` cookie: double submit, bound to the
session).  Every route declares its permission with :func:`allow`; there is no route without one.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine

from wardwatch.api.problems import CsrfRejected, NotAuthenticated
from wardwatch.domain.permissions import Permission, PermissionDenied, Principal, require
from wardwatch.services import audit
from wardwatch.services.accounts import principal_from_session, principal_from_token
from wardwatch.services.jobs import JobRunner
from wardwatch.services.search_index import SearchIndex
from wardwatch.settings import Settings

__all__ = [
    "CSRF_COOKIE",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "CurrentUser",
    "EngineDep",
    "RunnerDep",
    "SearchIndexDep",
    "SettingsDep",
    "allow",
    "authenticated",
]

SESSION_COOKIE = "ww_session"
CSRF_COOKIE = "ww_csrf"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_engine(request: Request) -> Engine:
    """The application's database engine."""
    engine: Engine = request.app.state.engine
    return engine


def get_settings(request: Request) -> Settings:
    """The application's settings."""
    settings: Settings = request.app.state.settings
    return settings


def get_runner(request: Request) -> JobRunner:
    """The application's job runner."""
    runner: JobRunner = request.app.state.runner
    return runner


def get_search_index(request: Request) -> SearchIndex:
    """The application's in-memory device search index."""
    index: SearchIndex = request.app.state.search_index
    return index


EngineDep = Annotated[Engine, Depends(get_engine)]
SearchIndexDep = Annotated[SearchIndex, Depends(get_search_index)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
RunnerDep = Annotated[JobRunner, Depends(get_runner)]


def client_address(request: Request) -> str | None:
    """The peer's address, for the audit trail."""
    return request.client.host if request.client else None


def session_principal(request: Request, engine: Engine) -> tuple[Principal, str] | None:
    """The user of the request's session cookie and the session's CSRF token, if the session is live."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    return principal_from_session(engine, token)


def authenticated(request: Request, engine: EngineDep) -> Principal:
    """Who is asking: from a bearer token, else from the session cookie (with CSRF on state changes)."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        principal = principal_from_token(engine, header[7:].strip())
        if principal is None:
            raise NotAuthenticated("the bearer token is unknown, expired or revoked; issue a new one")
        return principal
    found = session_principal(request, engine)
    if found is None:
        raise NotAuthenticated("log in first (session cookie) or send Authorization: Bearer <token>")
    principal, csrf = found
    if request.method not in _SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or not hmac.compare_digest(sent, csrf):
            raise CsrfRejected(f"missing or wrong {CSRF_HEADER} header; send the value of the {CSRF_COOKIE} cookie")
    return principal


def allow(permission: Permission) -> Callable[..., Principal]:
    """A dependency that authenticates and then requires ``permission`` (refusals of changes are audited)."""

    def check(
        request: Request, engine: EngineDep, principal: Annotated[Principal, Depends(authenticated)]
    ) -> Principal:
        try:
            require(principal, permission)
        except PermissionDenied:
            if request.method not in _SAFE_METHODS:
                audit.record_now(
                    engine, principal.username, f"api {request.method} {request.url.path}"[:60],
                    outcome="denied", detail={"permission": permission.value}, address=client_address(request),
                )  # fmt: skip
            raise
        return principal

    check.__name__ = f"allow_{permission.value.replace(':', '_')}"
    return check


CurrentUser = Annotated[Principal, Depends(authenticated)]
