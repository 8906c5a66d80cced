"""``/health/live``, ``/health/ready`` and ``/metrics``.

Live touches nothing. Ready pings the database, Redis when configured (required unless
``AGENTE_CHECK_REDIS_IN_READINESS=false``) and each hotel's PMS when
``AGENTE_CHECK_PMS_IN_READINESS=true``, each under ``AGENTE_READINESS_TIMEOUT``, and answers 503
when a required one fails. Every check also sets ``dependency_up{name}``.
"""

from __future__ import annotations

import asyncio
import functools
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from litestar import Response, get
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from agente.deps import AppDeps, Deps

__all__ = ["live", "metrics", "readiness", "ready"]

log = structlog.get_logger("agente.health")


async def _probe(check: Callable[[], Awaitable[Any]], timeout: float) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            await check()
    except Exception as exc:
        reason = "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__
        return {
            "status": "failing",
            "latency_ms": round((time.perf_counter() - start) * 1000, 2),
            "error": reason,
        }
    return {"status": "ok", "latency_ms": round((time.perf_counter() - start) * 1000, 2)}


async def readiness(deps: Deps) -> tuple[bool, dict[str, Any]]:
    """Run every check concurrently; ``(ready, body)``."""
    s = deps.settings
    checks: dict[str, tuple[bool, Callable[[], Awaitable[Any]]]] = {
        "database": (True, deps.db.ping)
    }
    if s.redis_url:
        checks["redis"] = (s.check_redis_in_readiness, deps.store.ping)
    if s.check_pms_in_readiness:

        async def _pms() -> None:
            for hotel in await deps.hotels.all():
                pms = deps.pms.get(hotel.pms.plugin)
                if pms is None:
                    raise LookupError(f"hotel {hotel.id} uses a PMS that is not enabled")
                await pms.ping(hotel)

        checks["pms"] = (True, _pms)
    for name, item in deps.channel_plugins.items():
        ping = item.spec.ping
        channel = deps.channels.get(name)
        if ping is not None and channel is not None:
            # a channel that cannot send (an expired token) degrades the service; the web chat
            # and the other channels still work, so it does not make it unready
            checks[name] = (False, functools.partial(ping, channel))
    names = list(checks)
    results = await asyncio.gather(*(_probe(checks[n][1], s.readiness_timeout) for n in names))
    body: dict[str, Any] = {}
    ready = True
    for name, result in zip(names, results, strict=True):
        required = checks[name][0]
        result["required"] = required
        body[name] = result
        up = result["status"] == "ok"
        deps.metrics.dependency_up.labels(name).set(1 if up else 0)
        if required and not up:
            ready = False
    if not s.check_pms_in_readiness:
        body["pms"] = {"status": "skipped", "required": False}
    deps.metrics.readiness_up.set(1 if ready else 0)
    deps.metrics.readiness_last_check.set(time.time())
    return ready, body


@get("/health/live", sync_to_thread=False, include_in_schema=True, tags=["health"])
def live() -> dict[str, str]:
    """The process is up. Touches no dependency."""
    return {"status": "alive"}


@get("/health/ready", tags=["health"])
async def ready(deps: AppDeps) -> Response[dict[str, Any]]:
    """Ready to serve: each dependency's state and latency; 503 when a required one fails."""
    ok, checks = await readiness(deps)
    if not ok:
        failing = sorted(k for k, v in checks.items() if v["status"] == "failing")
        log.warning("not_ready", failing=",".join(failing))
    degraded = any(v["status"] == "failing" for v in checks.values())
    status = ("degraded" if degraded else "ready") if ok else "not_ready"
    return Response(
        {"status": status, "checks": checks},
        status_code=200 if ok else 503,
    )


@get("/metrics", tags=["health"])
async def metrics(deps: AppDeps) -> Response[bytes]:
    """Prometheus text format."""
    try:
        async with asyncio.timeout(deps.settings.readiness_timeout):
            deps.metrics.set_depths(await deps.messages.depths())
    except Exception as exc:
        log.warning("queue_depths_unavailable", error=type(exc).__name__)
    return Response(
        generate_latest(_registry(deps)), media_type=CONTENT_TYPE_LATEST, status_code=200
    )


def _registry(deps: Deps) -> Any:
    """This process's registry, or, with several Granian workers (``PROMETHEUS_MULTIPROC_DIR``
    set by ``agente serve``), every worker's values added up from the shared directory, so
    any worker answering a scrape gives the same totals."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return deps.metrics.registry
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry
