"""Errors as RFC 9457 problem details (``application/problem+json``).

Service errors map to statuses here, in one table, so routes never build error responses themselves:
``PermissionDenied`` 403 (also a remediation step not the user's to take), ``TransitionRefused`` 409 (a step
that does not follow from the item's state), ``NotAuthenticated`` 401, ``LookupError`` 404, ``AuthenticationFailed`` 401
(``LoginThrottled`` 429 with Retry-After), ``UserExists`` 409, ``IngestError`` / ``ValueError`` 422; FastAPI's
validation errors 422 with an ``errors`` list.
Anything else is a 500 whose detail names no internals (the traceback goes to the log).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from wardwatch.domain.permissions import PermissionDenied
from wardwatch.domain.remediation import TransitionRefused
from wardwatch.ingest.errors import IngestError
from wardwatch.services.accounts import AuthenticationFailed, InvalidAccount, LoginThrottled, UserExists
from wardwatch.store.errors import StoreError

__all__ = ["NotAuthenticated", "install", "problem"]

logger = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"


class NotAuthenticated(Exception):
    """No valid session cookie or bearer token came with the request."""


class CsrfRejected(Exception):
    """A state-changing request with a session cookie lacked the matching ``X-CSRF-Token`` header."""


def problem(
    status: int, detail: str, *, instance: str | None = None, headers: Mapping[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """A problem-details response."""
    body: dict[str, Any] = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status}
    body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=dict(headers) if headers else None)


_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (LoginThrottled, 429),
    (NotAuthenticated, 401),
    (AuthenticationFailed, 401),
    (CsrfRejected, 403),
    (PermissionDenied, 403),
    (UserExists, 409),
    (TransitionRefused, 409),
    (InvalidAccount, 422),
    (IngestError, 422),
    (LookupError, 404),
    (ValueError, 422),
    (StoreError, 503),
)


def install(app: FastAPI) -> None:
    """Register the handlers that turn errors into problem details."""

    async def known(request: Request, error: Exception) -> JSONResponse:
        for kind, status in _STATUS:
            if isinstance(error, kind):
                headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
                if isinstance(error, LoginThrottled):
                    headers = {"Retry-After": str(error.retry_after)}
                return problem(status, str(error).strip("'\""), instance=request.url.path, headers=headers)
        raise error  # pragma: no cover - only registered for the kinds above

    for kind, _status in _STATUS:
        app.add_exception_handler(kind, known)

    async def http_error(request: Request, error: Exception) -> JSONResponse:
        if not isinstance(error, StarletteHTTPException):  # pragma: no cover - registered for it only
            raise error
        return problem(error.status_code, str(error.detail), instance=request.url.path, headers=error.headers)

    async def invalid(request: Request, error: Exception) -> JSONResponse:
        if not isinstance(error, RequestValidationError):  # pragma: no cover - registered for it only
            raise error
        errors = [
            {"location": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
            for e in error.errors()
        ]
        first = errors[0] if errors else {"location": "request", "message": "invalid"}
        detail = f"{first['location']}: {first['message']}"
        return problem(422, detail, instance=request.url.path, errors=errors)

    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        logger.exception("internal error on %s", request.url.path)
        return problem(500, "internal error; the server log has the details", instance=request.url.path)

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(Exception, unexpected)
