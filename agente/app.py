"""The composition root: ``create_app`` builds the Litestar app and everything it needs.

Granian calls the factory: ``granian --interface asgi --factory agente.app:create_app``
(``agente serve`` does this for you). No module-level state, no I/O at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import structlog
from litestar import Litestar, Request, Response
from litestar.di import Provide
from litestar.exceptions import ClientException, HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.template.config import TemplateConfig

from agente import health, tracing
from agente.admin import SECURITY_SCHEME
from agente.admin import routes as admin_routes
from agente.deps import Deps, build_deps
from agente.documents import get_document
from agente.logs import CorrelationId
from agente.metrics import HttpMetrics
from agente.registry import Ingress
from agente.settings import Settings, load_settings, read_environment

__all__ = ["create_app"]

log = structlog.get_logger("agente.app")


def _internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.error(
        "unhandled_error",
        route=request.scope.get("path_template") or "<unmatched>",
        method=request.method,
        error=repr(exc),
        exc_info=exc,
    )
    return Response(
        {"status_code": 500, "detail": "Internal Server Error"},
        status_code=HTTP_500_INTERNAL_SERVER_ERROR,
    )


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    if exc.status_code >= 500:
        return _internal_error(request, exc)
    body: dict[str, Any] = {"status_code": exc.status_code, "detail": exc.detail}
    if exc.extra:
        body["extra"] = exc.extra
    if exc.status_code in (400, 413, 415, 422):
        log.info(
            "request_rejected",
            status=exc.status_code,
            route=request.scope.get("path_template") or "<unmatched>",
            detail=exc.detail,
        )
    return Response(body, status_code=exc.status_code, headers=exc.headers)


def _bad_encoding(
    request: Request[Any, Any, Any], _exc: UnicodeDecodeError
) -> Response[dict[str, Any]]:
    # msgspec raises UnicodeDecodeError, not DecodeError, for invalid UTF-8 inside a JSON string
    return _http_error(request, ClientException("Request body is not valid UTF-8"))


def create_app(
    settings: Settings | None = None,
    *,
    deps: Deps | None = None,
    env: Mapping[str, str] | None = None,
) -> Litestar:
    """Build the app. With no arguments, everything comes from the environment."""
    if deps is None:
        env = read_environment() if env is None else env
        settings = settings or load_settings(env)
        deps = build_deps(settings, env)
    settings = deps.settings
    for warning in deps.warnings:
        log.warning("unknown_setting", detail=warning)
    tracing.setup(env)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        await _session_secret(deps)
        stop = asyncio.Event()
        task = None
        if settings.embedded_worker:
            task = asyncio.create_task(deps.worker().run(stop), name="agente-worker")
        try:
            yield
        finally:
            stop.set()
            if task is not None:
                await task
            await deps.close()
            tracing.shutdown()

    def provide_deps() -> Deps:
        return deps

    def provide_ingress() -> Ingress:
        return deps.ingress

    route_handlers: list[Any] = [health.live, health.ready, health.metrics, get_document]
    route_handlers.extend(admin_routes())
    for item in deps.channel_plugins.values():
        if item.spec.routes is not None:
            route_handlers.extend(item.spec.routes())

    app = Litestar(
        route_handlers=route_handlers,
        dependencies={
            "deps": Provide(provide_deps, sync_to_thread=False, use_cache=True),
            "ingress": Provide(provide_ingress, sync_to_thread=False, use_cache=True),
        },
        lifespan=[lifespan],
        exception_handlers={
            HTTPException: _http_error,
            UnicodeDecodeError: _bad_encoding,
            Exception: _internal_error,
        },
        request_max_body_size=settings.max_body_bytes,
        template_config=TemplateConfig(
            directory=Path(__file__).parent / "admin" / "templates", engine=JinjaTemplateEngine
        ),
        openapi_config=OpenAPIConfig(
            title="Agente",
            version="0.1.0",
            path="/schema",
            components=Components(
                security_schemes={
                    SECURITY_SCHEME: SecurityScheme(
                        type="http",
                        scheme="bearer",
                        description="An admin API key from `agente admin create-key`.",
                    )
                }
            ),
        ),
        debug=False,
    )
    app.asgi_handler = CorrelationId(
        tracing.TracedRequests(HttpMetrics(app.asgi_handler, deps.metrics))
    )
    app.state.deps = deps
    return app


async def _session_secret(deps: Deps) -> None:
    """The dashboard's cookie-signing secret: AGENTE_SESSION_SECRET, or one generated once and
    kept in the database, so every process and every restart share it."""
    if deps.admin.secret:
        return
    from agente.adapters.sql import SqlPluginState

    state = SqlPluginState(deps.db, deps.clock)
    value, _ = await state.get("agente", "session-secret")
    if value is None:
        await state.put("agente", "session-secret", secrets.token_bytes(32), expected_version=0)
        value, _ = await state.get("agente", "session-secret")
    deps.admin.secret = value or secrets.token_bytes(32)
