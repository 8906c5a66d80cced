"""The operators' side: the admin JSON API (``api.py``) and the dashboard (``dashboard.py``),
behind API keys (``keys.py``) with sessions, scope, roles, a rate limit and an audit log
(``auth.py``). docs/admin.md has the whole picture."""

from __future__ import annotations

from typing import Any

__all__ = ["routes"]


SECURITY_SCHEME = "adminKey"


def routes() -> list[Any]:
    """The JSON API in a router that tells the OpenAPI schema it takes a bearer key, and the
    dashboard (cookie sessions, kept out of the schema)."""
    from litestar import Router

    from agente.admin import api, dashboard

    api_router = Router(path="/", route_handlers=api.routes(), security=[{SECURITY_SCHEME: []}])
    return [api_router, *dashboard.routes()]
