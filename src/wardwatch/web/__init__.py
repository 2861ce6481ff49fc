"""The web UI: server-rendered pages (Jinja2) with small vanilla scripts; every asset is in the package."""

__all__: list[str] = []
