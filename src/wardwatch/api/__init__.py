"""The REST API (FastAPI): routers per capability, response schemas, authentication and role checks.

``create_app(settings)`` in :mod:`wardwatch.api.app` builds the application that also serves the web UI.
"""

__all__: list[str] = []
