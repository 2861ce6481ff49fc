"""One router per capability; :mod:`wardwatch.api.app` registers them in one list."""

__all__: list[str] = []
