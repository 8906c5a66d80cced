"""``store_contract`` against every ``Store``: in process, Redis, and Redis behind the fallback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.exceptions

from agente.adapters.memory import MemoryStore
from agente.adapters.redis import FallbackStore, RedisStore
from agente.testing import FrozenClock, store_contract

UNREACHABLE = "redis://127.0.0.1:1/0"


async def test_memory_store(clock: FrozenClock) -> None:
    await store_contract(MemoryStore(monotonic=clock.monotonic), advance=clock.advance)


@pytest.fixture
async def redis_store(redis_url: str) -> AsyncIterator[RedisStore]:
    store = RedisStore.from_url(redis_url)
    yield store
    await store.close()


async def test_redis_store(redis_store: RedisStore) -> None:
    await store_contract(redis_store)


async def test_fallback_store_on_a_working_redis(redis_url: str) -> None:
    changes: list[bool] = []
    store = FallbackStore(primary=RedisStore.from_url(redis_url), on_change=changes.append)
    try:
        await store_contract(store)
        assert store.degraded is False
        assert changes == []
        # the values really live in Redis, not in the in-process fallback
        await store.set("agente:contract:where", b"redis", ttl=60)
        assert await store.primary.get("agente:contract:where") == b"redis"
        assert await store.fallback.get("agente:contract:where") is None
    finally:
        await store.close()


async def test_fallback_store_without_redis_serves_from_memory(clock: FrozenClock) -> None:
    changes: list[bool] = []
    store = FallbackStore(
        primary=RedisStore.from_url(UNREACHABLE, timeout=0.2),
        fallback=MemoryStore(monotonic=clock.monotonic),
        monotonic=clock.monotonic,
        on_change=changes.append,
    )
    failures = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)
    try:
        # Every data operation of the contract passes from memory; only its final ping, which
        # asks Redis itself so that readiness sees the truth, fails.
        with pytest.raises(failures) as info:
            await store_contract(store, advance=clock.advance)
        (last,) = [e for e in info.traceback if e.name == "store_contract"]
        assert "store.ping()" in str(last.statement)
        assert store.degraded is True
        with pytest.raises(failures):
            await store.ping()
        assert changes == [False]

        # after retry_after it tries Redis again, still down: still degraded, no new change
        clock.advance(store.retry_after + 1)
        await store.set("agente:k", b"v", ttl=60)
        assert await store.get("agente:k") == b"v"
        assert await store.fallback.get("agente:k") == b"v"
        assert store.degraded is True
        assert changes == [False]
    finally:
        await store.close()
