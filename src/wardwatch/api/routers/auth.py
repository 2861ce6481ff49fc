"""``/api/auth``: log in (session cookie + CSRF token), log out, who am I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from wardwatch.api.deps import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    CurrentUser,
    EngineDep,
    authenticated,
    client_address,
)
from wardwatch.api.schemas import LoginIn, Me, SessionOut
from wardwatch.domain.permissions import HOME_DASHBOARD, Principal
from wardwatch.services.accounts import POLICY, authenticate, create_session, end_session

router = APIRouter(prefix="/api/auth", tags=["auth"])


def me(principal: Principal) -> Me:
    """The public description of a principal."""
    return Me(
        username=principal.username,
        role=principal.role.value,
        unit=principal.unit,
        permissions=sorted(p.value for p in principal.permissions),
        home=HOME_DASHBOARD[principal.role],
    )


def set_session_cookies(request: Request, response: Response, token: str, csrf: str) -> None:
    """Set the session cookie (HttpOnly, SameSite=Strict) and the CSRF cookie the UI's scripts read."""
    secure = request.url.scheme == "https"
    age = int(POLICY.session_lifetime.total_seconds())
    response.set_cookie(SESSION_COOKIE, token, max_age=age, httponly=True, samesite="strict", secure=secure, path="/")
    response.set_cookie(CSRF_COOKIE, csrf, max_age=age, httponly=False, samesite="strict", secure=secure, path="/")


def clear_session_cookies(response: Response) -> None:
    """Forget the session in the browser."""
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


@router.post("/login", response_model=SessionOut, summary="Log in (the one route without a role check)")
def login(body: LoginIn, request: Request, response: Response, engine: EngineDep) -> SessionOut:
    """Check the password (lock-out after repeated failures) and start a browser session."""
    principal = authenticate(engine, body.username, body.password, address=client_address(request))
    token, csrf = create_session(engine, principal)
    set_session_cookies(request, response, token, csrf)
    return SessionOut(user=me(principal), csrf_token=csrf)


@router.post("/logout", status_code=204, response_class=Response, summary="Log out")
def logout(request: Request, principal: Annotated[Principal, Depends(authenticated)], engine: EngineDep) -> Response:
    """End the session (needs the CSRF header like every state change)."""
    del principal
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        end_session(engine, token)
    response = Response(status_code=204)
    clear_session_cookies(response)
    return response


@router.get("/me", response_model=Me, summary="Who am I")
def whoami(principal: CurrentUser) -> Me:
    """The logged-in user (or the token's owner) with the permissions in force."""
    return me(principal)
