"""``/api/dashboards/{name}``: the figures of each role's dashboard."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from wardwatch.api.deps import CurrentUser, EngineDep
from wardwatch.api.schemas import Dashboard
from wardwatch.services.dashboards import dashboard

router = APIRouter(prefix="/api/dashboards", tags=["dashboards"])


@router.get("/{name}", response_model=Dashboard, summary="A dashboard")
def get_dashboard(
    name: Literal["executive", "biomed", "itsec", "clinician", "compliance"], engine: EngineDep, principal: CurrentUser
) -> Dashboard:
    """Headline figures and ranked lists; each dashboard needs its ``dashboard:<name>`` permission (service)."""
    return Dashboard.model_validate(dashboard(engine, principal, name))
