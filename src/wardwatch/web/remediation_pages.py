"""The remediation pages: the board (``/remediation``) and one work item (``/remediation/{id}``).

Rendered on the server; the step forms call the JSON API (``/api/remediation``) with the session's CSRF token, so
the role checks (who may take which step) and the audit trail are the service's, not the page's.  The page offers
only the steps the user's role may take.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response

from wardwatch.domain.permissions import Permission, Principal, allows, require
from wardwatch.domain.remediation import CONTROLS, State
from wardwatch.services import remediation
from wardwatch.services.accounts import unit_names
from wardwatch.web.routes import _engine, _page, _render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

#: The board's columns, in the workflow's order.
STATES: tuple[str, ...] = tuple(s.value for s in State)


@router.get("/remediation")
def board_page(request: Request) -> Response:
    """Every work item, most urgent first, with the programme's figures; filters by state and overdue."""

    def build(principal: Principal) -> HTMLResponse:
        require(principal, Permission.REMEDIATION_READ)
        engine = _engine(request)
        state = request.query_params.get("state") or None
        state = state if state in STATES else None
        overdue = request.query_params.get("overdue") == "1"
        unit = (request.query_params.get("unit") or "").strip()[:200] or None
        search = (request.query_params.get("q") or "").strip()[:200] or None
        everything = remediation.list_items(engine, principal, unit=unit, search=search, limit=100_000)
        counts = {s: sum(1 for i in everything if i["state"] == s) for s in STATES}
        shown = [i for i in everything if (state is None or i["state"] == state) and (not overdue or i["overdue"])]
        return _render(
            request, "remediation.html", user=principal, title="Remediation", items=shown[:500], total=len(shown),
            counts=counts, state=state, overdue=overdue, states=STATES, figures=remediation.metrics(engine, principal),
            may_sync=allows(principal, Permission.REMEDIATION_TRIAGE), unit=unit, search=search,
            units=[] if principal.unit_scoped else unit_names(engine),
            validations=remediation.list_validations(engine, principal)[:200],
            windows=remediation.list_windows(engine, principal)[:200],
        )  # fmt: skip

    return _page(request, build)


@router.get("/remediation/{item_id}")
def item_page(request: Request, item_id: Annotated[int, PathParam(ge=1, le=2**31 - 1)]) -> Response:
    """One work item: its devices, the steps taken, the steps the user may take, the patch plan."""

    def build(principal: Principal) -> HTMLResponse:
        engine = _engine(request)
        item = remediation.get_item(engine, principal, item_id)
        may_validate = allows(principal, Permission.REMEDIATION_TRIAGE) and item["scope"] == "model"
        return _render(
            request, "remediation_item.html", user=principal, title=f"Remediation #{item_id}", item=item,
            plan=remediation.plan(engine, principal, item_id), controls=CONTROLS, may_validate=may_validate,
        )  # fmt: skip

    return _page(request, build)
