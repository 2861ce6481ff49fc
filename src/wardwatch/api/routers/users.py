"""``/api/users``: accounts and API tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from wardwatch.api.deps import EngineDep, allow, authenticated
from wardwatch.api.schemas import TokenIn, TokenOut, UserIn, UserList, UserOut
from wardwatch.domain.permissions import Permission, Principal
from wardwatch.services.accounts import add_user, create_token, disable_user, list_users

router = APIRouter(prefix="/api/users", tags=["users"])
Username = Annotated[str, Path(max_length=100)]


@router.get("", response_model=UserList, summary="List users")
def users_list(engine: EngineDep, principal: Annotated[Principal, Depends(allow(Permission.USERS_READ))]) -> UserList:
    """Every account, never a password hash."""
    rows = list_users(engine, principal)
    return UserList(items=[UserOut(**r) for r in rows], total=len(rows))


@router.post("", response_model=UserOut, status_code=201, summary="Add a user")
def users_add(
    body: UserIn, engine: EngineDep, principal: Annotated[Principal, Depends(allow(Permission.USERS_ADMIN))]
) -> UserOut:
    """Create a local account."""
    row = add_user(
        engine, principal, body.username, body.role, body.password, unit=body.unit, display_name=body.display_name
    )
    return UserOut(**row)


@router.post("/{username}/disable", response_model=UserOut, summary="Disable a user")
def users_disable(
    username: Username, engine: EngineDep, principal: Annotated[Principal, Depends(allow(Permission.USERS_ADMIN))]
) -> UserOut:
    """Disable an account and end its sessions and tokens."""
    return UserOut(**disable_user(engine, principal, username))


@router.post("/{username}/tokens", response_model=TokenOut, status_code=201, summary="Issue an API token")
def users_token(
    username: Username,
    body: TokenIn,
    request: Request,
    engine: EngineDep,
    principal: Annotated[Principal, Depends(authenticated)],
) -> TokenOut:
    """A token for yourself (any role) or for anyone (``users:admin``, checked in the service); shown once."""
    del request
    expires = timedelta(days=body.expires_days) if body.expires_days else None
    scopes = " ".join(body.scopes) if body.scopes is not None else None
    token, info = create_token(engine, principal, username, body.name, scopes=scopes, expires_in=expires)
    return TokenOut(token=token, **info)
