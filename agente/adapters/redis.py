"""``Store`` on Redis (redis.asyncio), and the degraded-mode wrapper around it.

Redis is never the only copy of anything. When it stops answering, ``FallbackStore`` serves
from an in-process ``MemoryStore``, logs the switch once, reports ``redis`` as down, and tries
Redis again every ``retry_after`` seconds; when Redis answers again everything goes back
without a restart.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import attrs
import redis.asyncio as aioredis
import redis.exceptions
import structlog

from agente.adapters.memory import MemoryStore

__all__ = ["FallbackStore", "RedisStore"]

_INCR = """
local v = redis.call('INCR', KEYS[1])
if v == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return v
"""

log = structlog.get_logger("agente.store")


@attrs.define
class RedisStore:
    client: aioredis.Redis

    @classmethod
    def from_url(cls, url: str, *, timeout: float = 1.0) -> RedisStore:
        client = aioredis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, health_check_interval=30
        )
        return cls(client=client)

    async def get(self, key: str) -> bytes | None:
        value: Any = await self.client.get(key)
        return None if value is None else bytes(value)

    async def set(self, key: str, value: bytes, *, ttl: float) -> None:
        await self.client.set(key, value, px=max(1, int(ttl * 1000)))

    async def set_nx(self, key: str, value: bytes, *, ttl: float) -> bool:
        return bool(await self.client.set(key, value, px=max(1, int(ttl * 1000)), nx=True))

    async def delete(self, key: str) -> None:
        await self.client.delete(key)

    async def incr(self, key: str, *, ttl: float) -> int:
        result: Any = await self.client.eval(_INCR, 1, key, max(1, int(ttl * 1000)))
        return int(result)

    async def ping(self) -> None:
        await self.client.ping()

    async def close(self) -> None:
        await self.client.aclose()


_FAILURES = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)


@attrs.define
class FallbackStore:
    """Redis first; in-process while Redis is unreachable (the manual's degraded mode)."""

    primary: RedisStore
    fallback: MemoryStore = attrs.field(factory=MemoryStore)
    retry_after: float = 5.0
    monotonic: Callable[[], float] = time.monotonic
    on_change: Callable[[bool], None] | None = None
    _down_since: float | None = attrs.field(default=None, init=False)

    @property
    def degraded(self) -> bool:
        return self._down_since is not None

    def _use_primary(self) -> bool:
        return self._down_since is None or self.monotonic() - self._down_since >= self.retry_after

    def _failed(self, exc: BaseException) -> None:
        if self._down_since is None:
            log.warning("redis_unreachable_degraded_mode", error=type(exc).__name__)
            if self.on_change:
                self.on_change(False)
        self._down_since = self.monotonic()

    def _recovered(self) -> None:
        if self._down_since is not None:
            log.info("redis_back")
            self._down_since = None
            if self.on_change:
                self.on_change(True)

    async def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self._use_primary():
            try:
                result = await getattr(self.primary, name)(*args, **kwargs)
            except _FAILURES as exc:
                self._failed(exc)
            else:
                self._recovered()
                return result
        return await getattr(self.fallback, name)(*args, **kwargs)

    async def get(self, key: str) -> bytes | None:
        result: bytes | None = await self._call("get", key)
        return result

    async def set(self, key: str, value: bytes, *, ttl: float) -> None:
        await self._call("set", key, value, ttl=ttl)

    async def set_nx(self, key: str, value: bytes, *, ttl: float) -> bool:
        return bool(await self._call("set_nx", key, value, ttl=ttl))

    async def delete(self, key: str) -> None:
        await self._call("delete", key)

    async def incr(self, key: str, *, ttl: float) -> int:
        return int(await self._call("incr", key, ttl=ttl))

    async def ping(self) -> None:
        """Pings Redis itself (no fallback): readiness must see the truth."""
        try:
            await self.primary.ping()
        except _FAILURES as exc:
            self._failed(exc)
            raise
        self._recovered()

    async def close(self) -> None:
        await self.primary.close()
