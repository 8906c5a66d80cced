"""Everything a request handler or the worker needs, built once per process from settings."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

import attrs
import msgspec
import structlog
from litestar.di import NamedDependency
from litestar.params import SkipValidation

from agente.adapters.memory import MemoryStore
from agente.adapters.redis import FallbackStore, RedisStore
from agente.adapters.sql import Database, SqlDocuments, SqlPluginState
from agente.admin.auth import Admin
from agente.admin.keys import KeyStore
from agente.clock import SystemClock
from agente.flags import FlagService
from agente.hotels import HotelDirectory
from agente.logs import current_correlation_id
from agente.messaging import MessageStore, QueueSettings
from agente.metrics import Metrics
from agente.pipeline.understand import Understander
from agente.ratelimit import RateLimiter, RatePolicy
from agente.registry import (
    CHANNELS,
    PMS,
    AcceptResult,
    Ingress,
    Installed,
    Loaded,
    PluginContext,
    load_enabled,
    plugin_variable_names,
)
from agente.service import Service
from agente.settings import PREFIX, Settings, known_names, unknown_variables
from agente.staff import fire_due_timers
from agente.tracing import current_traceparent
from agente.worker import Notifier, Worker

if TYPE_CHECKING:
    from agente.domain import InboundMessage
    from agente.ports import Channel, Clock, Pms, Store

_log = structlog.get_logger("agente.ingress")

__all__ = ["AppDeps", "AppIngress", "Deps", "build_deps"]


@attrs.define
class AppIngress(Ingress):
    """Durable accept for channel routes: commit first, then count and wake the worker."""

    messages: MessageStore
    metrics: Metrics
    notifier: Notifier
    db: Database | None = None
    test_mode: bool = False
    channels: dict[str, Channel] = attrs.field(factory=dict)
    flags: FlagService | None = None

    def channel(self, name: str) -> Any:
        return self.channels[name]

    async def normalize_phone(self, raw: str, *, whatsapp: bool = False) -> str | None:
        from agente.phones import normalize_phone

        advanced = False
        if self.flags is not None:
            advanced = (await self.flags.snapshot()).enabled("tenancy.phone_normalization.advanced")
        return normalize_phone(raw, advanced_enabled=advanced, whatsapp=whatsapp)

    async def delivery(
        self,
        channel: str,
        provider_message_id: str,
        status: str,
        error: str | None = None,
        *,
        dead_letter: bool = False,
        resend: bool = False,
    ) -> bool:
        changed = await self.messages.update_delivery(
            channel, provider_message_id, status, error, dead_letter=dead_letter, resend=resend
        )
        if changed and resend:
            self.notifier.wake_worker()
        return changed

    async def replies(self, inbox_ids: Sequence[int], timeout: float) -> list[dict[str, Any]]:
        """Test mode: wait (bounded) until these messages are handled and their replies sent."""
        import asyncio

        import sqlalchemy as sa

        from agente.adapters.sql import inbox, outbox

        if self.db is None or not inbox_ids:
            return []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            async with self.db.begin() as conn:
                statuses = [
                    r.status
                    for r in await conn.execute(
                        sa.select(inbox.c.status).where(inbox.c.id.in_(list(inbox_ids)))
                    )
                ]
                rows = (
                    await conn.execute(
                        sa.select(outbox.c.message, outbox.c.status)
                        .where(outbox.c.inbox_id.in_(list(inbox_ids)))
                        .order_by(outbox.c.id)
                    )
                ).all()
            handled = all(s in ("done", "dead") for s in statuses)
            sent = all(r.status not in ("pending", "sending") for r in rows)
            if (handled and sent) or loop.time() > deadline:
                return [
                    {"response_type": r.message["body"].get("type"), "content": r.message["body"]}
                    for r in rows
                ]
            await asyncio.sleep(0.02)

    async def accept(self, messages: Sequence[InboundMessage]) -> AcceptResult:
        correlation = current_correlation_id()
        parent = current_traceparent()
        if correlation is not None or parent is not None:
            messages = [
                msgspec.structs.replace(
                    m,
                    correlation_id=m.correlation_id or correlation,
                    trace_parent=m.trace_parent or parent,
                )
                for m in messages
            ]
        result = await self.messages.accept(messages)
        if messages:
            channel = messages[0].channel
            if result.accepted:
                self.metrics.messages_accepted.labels(channel).inc(len(result.accepted))
                self.notifier.wake_worker()
            if result.duplicates:
                self.metrics.messages_duplicate.labels(channel).inc(result.duplicates)
            _log.info("messages_accepted", channel=channel, accepted=len(result.accepted),
                      duplicates=result.duplicates)  # fmt: skip
        return result


@attrs.frozen
class Deps:
    settings: Settings
    clock: Clock
    db: Database
    store: Store
    hotels: HotelDirectory
    messages: MessageStore
    service: Service
    flags: FlagService
    admin: Admin
    notifier: Notifier
    metrics: Metrics
    ingress: AppIngress
    channels: dict[str, Channel]
    pms: dict[str, Pms]
    channel_plugins: dict[str, Loaded[Any]]
    pms_plugins: dict[str, Loaded[Any]]
    warnings: list[str]

    def worker(self) -> Worker:
        return Worker(
            messages=self.messages,
            handle=self.service.handle,
            channels=self.channels,
            clock=self.clock,
            metrics=self.metrics,
            notifier=self.notifier,
            concurrency=self.settings.worker_concurrency,
            poll_interval=self.settings.worker_poll_interval,
            timers=functools.partial(fire_due_timers, self.db, self.messages, self.clock),
            background=[
                functools.partial(run, ingress=self.ingress)
                for channel in self.channels.values()
                if (run := getattr(channel, "run", None)) is not None
            ],
        )

    async def close(self) -> None:
        for pms in self.pms.values():
            closer = getattr(pms, "aclose", None)
            if closer is not None:
                await closer()
        for channel in self.channels.values():
            closer = getattr(channel, "aclose", None)
            if closer is not None:
                await closer()
        close_store = getattr(self.store, "close", None)
        if close_store is not None:
            await close_store()
        await self.db.close()


AppDeps: TypeAlias = NamedDependency[SkipValidation[Deps]]
"""How a route handler asks for the dependencies: ``deps: AppDeps`` (named, not re-validated)."""


def build_deps(
    settings: Settings,
    env: Mapping[str, str],
    *,
    clock: Clock | None = None,
    installed: Mapping[str, Sequence[Installed]] | None = None,
) -> Deps:
    """Build every component; raises ``ConfigError``/``PluginError`` before anything starts.

    Nothing here does I/O: pools and clients connect on first use.
    """
    clock = clock or SystemClock()
    metrics = Metrics()
    db = Database.connect(settings.database_url, pool_size=settings.database_pool_size)
    store: Store
    if settings.redis_url:
        store = FallbackStore(
            primary=RedisStore.from_url(settings.redis_url, timeout=settings.readiness_timeout),
            on_change=lambda up: metrics.dependency_up.labels("redis").set(1 if up else 0),
        )
    else:
        store = MemoryStore()
    channel_plugins = load_enabled(
        CHANNELS, settings.channels, env, installed=(installed or {}).get(CHANNELS)
    )
    pms_plugins = load_enabled(PMS, settings.pms, env, installed=(installed or {}).get(PMS))
    hotels = HotelDirectory(db=db, clock=clock)
    ctx = PluginContext(
        settings=settings,
        clock=clock,
        store=store,
        state=SqlPluginState(db, clock),
        hotels=hotels,
        registry=metrics.registry,
        documents=SqlDocuments(db, clock),
    )
    channels = {name: item.spec.build(item.settings, ctx) for name, item in channel_plugins.items()}
    pms = {name: item.spec.build(item.settings, ctx) for name, item in pms_plugins.items()}
    known = (
        known_names(Settings, PREFIX)
        | plugin_variable_names(channel_plugins.values())
        | plugin_variable_names(pms_plugins.values())
    )
    warnings = [
        f"{name} is set but no setting of Agente or of an enabled plugin uses it (a typo?)"
        for name in unknown_variables(env, known)
    ]
    messages = MessageStore(
        db=db,
        clock=clock,
        settings=QueueSettings(
            lease_seconds=settings.lease_seconds,
            inbox_max_attempts=settings.inbox_max_attempts,
            outbox_max_attempts=settings.outbox_max_attempts,
            backoff_base=settings.outbox_backoff_base,
            backoff_max=settings.outbox_backoff_max,
        ),
    )
    notifier = Notifier()
    flags = FlagService(
        redis=store.primary.client if isinstance(store, FallbackStore) else None,
        clock=clock,
        ttl=settings.flags_cache_seconds,
        timeout=settings.readiness_timeout,
        registry=metrics.registry,
    )
    redis_client = store.primary.client if isinstance(store, FallbackStore) else None
    admin = Admin(
        db=db,
        clock=clock,
        keys=KeyStore(db=db, clock=clock),
        limiter=RateLimiter(
            policy=RatePolicy(limit=settings.admin_rate_limit, period_seconds=60.0),
            clock=clock,
            redis=redis_client,
        ),
        secret=settings.session_secret.reveal().encode() if settings.session_secret else b"",
        failures=metrics.admin_auth_failures,
    )
    return Deps(
        admin=admin,
        settings=settings,
        clock=clock,
        db=db,
        store=store,
        hotels=hotels,
        messages=messages,
        service=Service(
            db=db,
            messages=messages,
            hotels=hotels,
            clock=clock,
            understander=Understander.load(),
            pms=pms,
            flags=flags,
            metrics=metrics,
            handoff_minutes=settings.handoff_timeout_minutes,
            always_open=settings.business_hours_always_open,
            channels=channels,
            documents=ctx.documents,
        ),
        flags=flags,
        notifier=notifier,
        metrics=metrics,
        ingress=AppIngress(
            messages=messages,
            metrics=metrics,
            notifier=notifier,
            db=db,
            test_mode=settings.env == "test",
            channels=channels,
            flags=flags,
        ),
        channels=channels,
        pms=pms,
        channel_plugins=channel_plugins,
        pms_plugins=pms_plugins,
        warnings=warnings,
    )
