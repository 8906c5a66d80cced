"""The operators' side: the admin JSON API (``api.py``) and the dashboard (``dashboard.py``),
behind API keys (``keys.py``) with sessions, scope, roles, a rate limit and an audit log
(``auth.py``). docs/admin.md has the whole picture."""

from __future__ import annotations

from typing import Any

__all__ = ["routes"]


def routes() -> list[Any]:
    from agente.admin import api, dashboard

    return [*api.routes(), *dashboard.routes()]
