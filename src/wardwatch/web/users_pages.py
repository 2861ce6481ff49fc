"""The user administration page (``/users``): accounts, their roles and units, disabling, API tokens.

The page is rendered on the server; its forms call the JSON API (``/api/users``) with the session's CSRF token,
so every check (``users:admin``, the audit trail) is the API's, not the page's.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from wardwatch.domain.permissions import Permission, Principal, Role, require
from wardwatch.services.accounts import list_users, unit_names
from wardwatch.web.routes import _engine, _page, _render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/users")
def users_page(request: Request) -> Response:
    """Every account; add one, disable one, issue an API token (admin only)."""

    def build(principal: Principal) -> HTMLResponse:
        require(principal, Permission.USERS_ADMIN)
        engine = _engine(request)
        return _render(request, "users.html", user=principal, title="Users", users=list_users(engine, principal),
                       roles=[r.value for r in Role], units=unit_names(engine),
                       scopes=sorted(p.value for p in Permission))  # fmt: skip

    return _page(request, build)
