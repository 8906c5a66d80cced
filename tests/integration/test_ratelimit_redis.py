"""The rate limiter on the real Redis (database 15, emptied around each test).

Several ``RateLimiter`` objects with their own clients stand in for several worker processes.
200 concurrent hits against a budget of 60 must let exactly 60 through; a property test checks
that the Lua step gives the same decisions and stores the same TAT as the pure Python; two tests
take Redis away (a dead port, and a proxy that goes down and comes back).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from agente.clock import SystemClock
from agente.ratelimit import (
    UNITS_PER_SECOND,
    Decision,
    RateLimiter,
    RatePolicy,
    gcra,
)
from agente.testing import FrozenClock
from tests.conftest import proxied_redis

UNREACHABLE = "redis://127.0.0.1:1/0"

Clients = Callable[[], aioredis.Redis]


@pytest.fixture
def key() -> str:
    return f"test:{uuid.uuid4().hex[:12]}"


def units(seconds: float) -> int:
    return round(seconds * UNITS_PER_SECOND)


async def test_200_concurrent_hits_from_4_processes_let_exactly_60_through(
    clients: Clients, clock: FrozenClock, key: str
) -> None:
    processes = [RateLimiter(clock=clock, redis=clients()) for _ in range(4)]
    decisions = await asyncio.gather(*(p.hit(key) for _ in range(50) for p in processes))
    allowed = [d for d in decisions if d.allowed]
    assert len(allowed) == 60
    assert sorted(d.remaining for d in allowed) == list(range(60))  # each budget slot once
    refused = {d for d in decisions if not d.allowed}
    assert refused == {Decision(allowed=False, retry_after=1, remaining=0, limit=60)}
    assert not any(p.degraded for p in processes)

    raw = clients()
    stored = await raw.get(RateLimiter.redis_key(key))
    assert stored == str(units(clock.now().timestamp() + 60)).encode()
    assert 59_000 < await raw.pttl(RateLimiter.redis_key(key)) <= 61_000  # tau + ttl_margin

    clock.advance(1)
    again = await asyncio.gather(*(p.hit(key) for p in processes for _ in range(5)))
    assert sum(d.allowed for d in again) == 1  # the budget refills one per second


async def test_exactly_the_limit_under_load_with_the_system_clock(
    clients: Clients, key: str
) -> None:
    """The same race on the real clock (T = 60 s, so no refill can land during the test)."""
    policy = RatePolicy(limit=60, period_seconds=3600)
    processes = [RateLimiter(clock=SystemClock(), redis=clients(), policy=policy) for _ in range(4)]
    decisions = await asyncio.gather(*(p.hit(key) for _ in range(50) for p in processes))
    assert sum(d.allowed for d in decisions) == 60
    assert {d.retry_after for d in decisions if not d.allowed} <= set(range(1, 61))


async def test_two_processes_share_one_budget(
    clients: Clients, clock: FrozenClock, key: str
) -> None:
    policy = RatePolicy(limit=10, period_seconds=10)
    a = RateLimiter(clock=clock, redis=clients(), policy=policy)
    b = RateLimiter(clock=clock, redis=clients(), policy=policy)
    for _ in range(5):
        assert (await a.hit(key)).allowed is True
    assert (await b.hit(key)).remaining == 4
    for _ in range(4):
        assert (await b.hit(key)).allowed is True
    assert (await a.hit(key)).allowed is False
    assert (await b.hit(key)).allowed is False
    assert (await a.hit(f"{key}:other")).allowed is True  # other keys have their own budget
    clock.advance(1)
    assert [(await a.hit(key)).allowed, (await b.hit(key)).allowed] == [True, False]


@pytest.mark.parametrize(
    "stored",
    [b"garbage", b"", b"1e5", b"0x10", b" 5", b"99999999999999999999", b"-99999999999999999"],
)
async def test_an_unreadable_stored_tat_is_a_fresh_key(
    clients: Clients, clock: FrozenClock, key: str, stored: bytes
) -> None:
    raw = clients()
    await raw.set(RateLimiter.redis_key(key), stored)
    limiter = RateLimiter(clock=clock, redis=clients())
    assert await limiter.hit(key) == Decision(allowed=True, retry_after=0, remaining=59, limit=60)
    now = clock.now().timestamp()
    assert await raw.get(RateLimiter.redis_key(key)) == str(units(now + 1)).encode()
    assert limiter.degraded is False


async def test_a_tat_from_a_clock_that_ran_ahead_is_pulled_back(
    clients: Clients, clock: FrozenClock, key: str
) -> None:
    ahead = FrozenClock(current=clock.now())
    ahead.advance(3600)
    await RateLimiter(clock=ahead, redis=clients()).hit(key)
    limiter = RateLimiter(clock=clock, redis=clients())
    assert (await limiter.hit(key)).retry_after == 1  # an empty budget from now, not an hour
    stored = await clients().get(RateLimiter.redis_key(key))
    assert stored == str(units(clock.now().timestamp() + 60)).encode()
    clock.advance(1)
    assert (await limiter.hit(key)).allowed is True


policies = st.builds(
    RatePolicy,
    limit=st.integers(1, 8),
    period_seconds=st.sampled_from([1.0, 60.0, 0.5]) | st.floats(0.001, 30),
    burst=st.none() | st.integers(1, 8),
)


@st.composite
def cases(draw: st.DrawFn) -> tuple[RatePolicy, list[tuple[int, float]]]:
    """A policy, and hits on one of two keys after clock moves that include T and tau exactly."""
    policy = draw(policies)
    moves = st.sampled_from(
        [0.0, 0.0, 0.0, policy.interval, policy.tolerance, -1.0, 1e-6]
    ) | st.floats(-2 * policy.interval, 3 * policy.interval)
    return policy, draw(st.lists(st.tuples(st.integers(0, 1), moves), max_size=40))


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=cases(), start=st.floats(1.7e9, 1.9e9))
def test_the_lua_step_agrees_with_the_python_reference(
    redis_url: str, case: tuple[RatePolicy, list[tuple[int, float]]], start: float
) -> None:
    policy, steps = case
    asyncio.run(_agree(redis_url, policy, steps, start))


async def _agree(
    url: str, policy: RatePolicy, steps: list[tuple[int, float]], start: float
) -> None:
    client = aioredis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    clock = FrozenClock()
    clock.advance(start - clock.now().timestamp())
    # a long margin: the frozen clock stands still while real time passes, and Redis expires keys
    # on real time
    limiter = RateLimiter(clock=clock, redis=client, policy=policy, ttl_margin=600)
    names = [f"test:{uuid.uuid4().hex[:12]}" for _ in range(2)]
    tats: list[float | None] = [None, None]
    try:
        for which, move in steps:
            clock.advance(move)
            now = clock.now().timestamp()
            allowed, tats[which], retry_after, remaining = gcra(tats[which], policy, now)
            expected = Decision(
                allowed=allowed,
                retry_after=-(-units(retry_after) // UNITS_PER_SECOND),
                remaining=remaining,
                limit=policy.limit,
            )
            assert await limiter.hit(names[which]) == expected, (which, now)
            tat = tats[which]
            assert tat is not None
            stored = await client.get(limiter.redis_key(names[which]))
            assert stored == str(units(tat)).encode(), (which, now)
        assert not limiter.degraded
    finally:
        await client.delete(*(limiter.redis_key(n) for n in names))
        await client.aclose()


async def test_unreachable_redis_falls_back_in_process(clock: FrozenClock, key: str) -> None:
    client = aioredis.Redis.from_url(UNREACHABLE, socket_connect_timeout=0.5, socket_timeout=0.5)
    limiter = RateLimiter(clock=clock, redis=client, timeout=0.5)
    try:
        with capture_logs() as logs:
            started = time.monotonic()
            decisions = await asyncio.gather(*(limiter.hit(key) for _ in range(61)))
            assert time.monotonic() - started < 3  # bounded by the timeout
            assert limiter.degraded is True
            assert [d.allowed for d in decisions].count(True) == 60  # the same GCRA, in process
            assert (await limiter.hit(key)).allowed is False
            clock.advance(5)  # Redis is asked again (and is still down)
            assert (await limiter.hit(key)).allowed is True
            assert limiter.degraded is True
        down = [e for e in logs if e["event"] == "ratelimit_redis_unreachable_in_process"]
        assert len(down) == 1  # logged once
        assert [e["event"] for e in logs] == ["ratelimit_redis_unreachable_in_process"]
    finally:
        await client.aclose()


async def test_back_to_the_shared_budget_when_redis_returns(
    clients: Clients, redis_url: str, clock: FrozenClock, key: str
) -> None:
    proxy, client = await proxied_redis(redis_url)
    limiter = RateLimiter(clock=clock, redis=client, timeout=0.5)
    other = RateLimiter(clock=clock, redis=clients())
    try:
        with capture_logs() as logs:
            assert (await limiter.hit(key)).remaining == 59  # through the proxy, into Redis
            assert (await other.hit(key)).remaining == 58

            await proxy.down()
            assert (await limiter.hit(key)).remaining == 59  # in process, no exception
            assert limiter.degraded is True
            for _ in range(58):  # meanwhile, another worker spends the shared budget
                assert (await other.hit(key)).allowed is True

            await proxy.up()
            assert (await limiter.hit(key)).allowed is True  # still inside retry_after: local
            clock.advance(5)
            decision = await limiter.hit(key)  # Redis again: 5 s of refill, all shared
            assert (decision.allowed, decision.remaining) == (True, 4)
            assert limiter.degraded is False
        events = [e["event"] for e in logs if e["event"].startswith("ratelimit_redis")]
        assert events == ["ratelimit_redis_unreachable_in_process", "ratelimit_redis_back"]
    finally:
        await client.aclose()
        await proxy.down()
