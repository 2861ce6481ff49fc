"""The application factory: ``create_app(settings)`` serves the REST API under ``/api`` and the web UI.

Routers are registered in one list, :data:`ROUTERS`; a capability adds its router there (the risk capability,
issue 5, adds ``routers/risk.py`` with risk, explanations, what-if and acceptance).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

from wardwatch import __version__
from wardwatch.api import problems
from wardwatch.api.routers import (
    alarms,
    audit,
    auth,
    dashboards,
    devices,
    discovery,
    flows,
    governance,
    incidents,
    integrations,
    jobs,
    network,
    remediation,
    reports,
    risk,
    uploads,
    users,
    vulnerabilities,
)
from wardwatch.services.jobs import JobRunner
from wardwatch.services.search_index import SearchIndex
from wardwatch.settings import Settings
from wardwatch.store.database import connect, ensure_ready

__all__ = ["ROUTERS", "SECURITY_HEADERS", "create_app"]

logger = logging.getLogger(__name__)

#: Every API router (the web UI's router is added after them).
ROUTERS = (
    auth.router,
    remediation.router,
    governance.router,
    incidents.router,
    dashboards.router,
    devices.router,
    discovery.router,
    flows.router,
    vulnerabilities.router,
    uploads.router,
    jobs.router,
    users.router,
    audit.router,
    reports.router,
    risk.router,
    network.router,
    alarms.router,
    integrations.router,
)

#: Headers on every response: no inline scripts, no framing, no sniffing, no referrer leaks.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def _warm(index: SearchIndex) -> None:
    try:
        index.warm()
    except Exception:  # the first search builds it again; a failure here must not kill anything
        logger.warning("could not build the search index in the background", exc_info=True)


def create_app(settings: Settings, *, start_jobs: bool = True) -> FastAPI:
    """The API and web UI on the configured database (which must be initialised)."""
    from wardwatch.web import (  # noqa: PLC0415
        alarm_pages,
        findings_pages,
        governance_pages,
        incidents_pages,
        network_pages,
        remediation_pages,
        risk_pages,
        users_pages,
    )
    from wardwatch.web import routes as web_routes  # noqa: PLC0415 - the UI depends on the API, not the reverse
    from wardwatch.web.routes import STATIC  # noqa: PLC0415

    settings.check_queue()  # WARDWATCH_QUEUE=postgres on SQLite: refused before anything starts
    engine = connect(settings.resolved_database_url)
    ensure_ready(engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runner = JobRunner(engine, settings)  # one per serving lifetime: a test client may start the app twice
        app.state.runner = runner
        if start_jobs and settings.queue == "inprocess":  # otherwise `wardwatch worker` runs jobs and schedule ticks
            runner.start()
        threading.Thread(target=_warm, args=(app.state.search_index,), name="wardwatch-search", daemon=True).start()
        yield
        runner.shutdown()

    app = FastAPI(
        title="Wardwatch",
        version=__version__,
        description="The patient-safety risk of a hospital's medical devices and clinical networks.",
        openapi_url="/api/openapi.json",
        docs_url=None,  # FastAPI's docs pages load scripts from a CDN; hospital networks are closed
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.settings = settings
    app.state.search_index = SearchIndex(engine)
    problems.install(app)
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(web_routes.router)
    app.include_router(risk_pages.router)
    app.include_router(findings_pages.router)
    app.include_router(network_pages.router)
    app.include_router(alarm_pages.router)
    app.include_router(users_pages.router)
    app.include_router(remediation_pages.router)
    app.include_router(governance_pages.router)
    app.include_router(incidents_pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.url.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app
