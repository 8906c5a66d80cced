"""Feature flags against the real Redis (database 15, emptied around each test).

The hash name is fixed (``feature_flags``), so isolation comes from the database number: the
``redis_url`` fixture points at db 15 and flushes it before and after, and skips (fails under
``CI=true``) when Redis is not running.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from agente.flags import DEFAULT_FLAGS, FLAGS_KEY, FlagService
from agente.metrics import Metrics
from agente.testing import FrozenClock

INTERACTIVE = "features.interactive_messages"
PHONES = "tenancy.phone_normalization.advanced"
UNREACHABLE = "redis://127.0.0.1:1/0"


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    redis = aioredis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
    yield redis
    await redis.aclose()


async def test_hset_is_seen_after_the_ttl(client: aioredis.Redis, clock: FrozenClock) -> None:
    metrics = Metrics()
    flags = FlagService(redis=client, clock=clock, registry=metrics.registry)
    before = await flags.snapshot()
    assert before.values == dict(DEFAULT_FLAGS)
    assert set(before.sources.values()) == {"default"}

    # what an operator types
    await client.hset(FLAGS_KEY, INTERACTIVE, "1")
    await client.hset(FLAGS_KEY, "features.not_shipped_yet", "Yes")
    assert (await flags.snapshot()).enabled(INTERACTIVE) is False  # cached for 5 s

    clock.advance(5)
    after = await flags.snapshot()
    assert after.enabled(INTERACTIVE) is True
    assert after.sources[INTERACTIVE] == "redis"
    assert after.values["features.not_shipped_yet"] is True
    assert after.sources["features.not_shipped_yet"] == "redis"
    assert (after.values[PHONES], after.sources[PHONES]) == (False, "default")
    assert flags.degraded is False
    sample = metrics.registry.get_sample_value("feature_flag_enabled", {"flag": INTERACTIVE})
    assert sample == 1.0


async def test_hdel_goes_back_to_the_default(client: aioredis.Redis, clock: FrozenClock) -> None:
    await client.hset(FLAGS_KEY, mapping={INTERACTIVE: "on", PHONES: "TRUE"})
    flags = FlagService(redis=client, clock=clock)
    assert (await flags.snapshot()).values == {INTERACTIVE: True, PHONES: True}

    await client.hdel(FLAGS_KEY, INTERACTIVE)
    await client.hset(FLAGS_KEY, PHONES, "perhaps")  # unrecognised: the default stands
    clock.advance(5)
    snapshot = await flags.snapshot()
    assert snapshot.values == {INTERACTIVE: False, PHONES: False}
    assert snapshot.sources == {INTERACTIVE: "default", PHONES: "default"}


async def test_a_key_of_the_wrong_type_gives_the_defaults(
    client: aioredis.Redis, clock: FrozenClock
) -> None:
    await client.set(FLAGS_KEY, "not a hash")
    flags = FlagService(redis=client, clock=clock)
    assert (await flags.snapshot()).values == dict(DEFAULT_FLAGS)
    assert flags.degraded is True


async def test_a_client_with_decoded_responses_works_too(
    redis_url: str, clock: FrozenClock
) -> None:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        await client.hset(FLAGS_KEY, INTERACTIVE, "1")
        flags = FlagService(redis=client, clock=clock)
        assert (await flags.snapshot()).enabled(INTERACTIVE) is True
    finally:
        await client.aclose()


async def test_unreachable_redis_gives_the_defaults_without_raising(clock: FrozenClock) -> None:
    client = aioredis.Redis.from_url(UNREACHABLE, socket_connect_timeout=0.5, socket_timeout=0.5)
    flags = FlagService(redis=client, clock=clock, timeout=1.0, overrides={PHONES: True})
    try:
        started = time.monotonic()
        snapshot = await flags.snapshot()
        assert snapshot.values == {INTERACTIVE: False, PHONES: True}
        assert snapshot.sources == {INTERACTIVE: "default", PHONES: "override"}
        assert flags.degraded is True
        assert time.monotonic() - started < 3  # bounded by the timeout, whatever the retries

        # cached: no new connection attempt until the TTL passes
        started = time.monotonic()
        for _ in range(50):
            await flags.snapshot()
        assert time.monotonic() - started < 0.5
        clock.advance(5)
        assert (await flags.snapshot()).values[INTERACTIVE] is False
    finally:
        await client.aclose()
