"""The circuit breaker on the real Redis (database 15, emptied around each test).

Every test uses its own breaker name and deletes its key. Several ``Breaker`` objects with their
own clients stand in for several worker processes. Besides sharing and the single half-open
trial, a property test checks that the Lua step gives the same decisions and stores the same
state as the pure Python functions, and two tests take Redis away (a dead port, and a proxy that
goes down and comes back).
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

from agente.breaker import Breaker, BreakerPolicy, BreakerState, allow, record, state_code
from agente.testing import FrozenClock
from tests.conftest import proxied_redis

UNREACHABLE = "redis://127.0.0.1:1/0"
POLICY = BreakerPolicy(minimum_calls=4, failure_rate=0.5, open_seconds=30, trial_timeout_seconds=10)

Clients = Callable[[], aioredis.Redis]


@pytest.fixture
def name() -> str:
    return f"test:{uuid.uuid4().hex[:12]}"


async def open_it(breaker: Breaker) -> None:
    for _ in range(POLICY.minimum_calls):
        assert await breaker.allow() is True
        await breaker.record(False)
    assert breaker.state_code() == 1


async def test_two_processes_see_one_state(clients: Clients, clock: FrozenClock, name: str) -> None:
    a = Breaker(name=name, clock=clock, redis=clients(), policy=POLICY)
    b = Breaker(name=name, clock=clock, redis=clients(), policy=POLICY)
    await a.record(False)
    await b.record(False)
    await a.record(False)
    assert b.state_code() == 0
    await b.record(False)  # the fourth failure, counted across both
    assert b.state_code() == 1
    assert await a.allow() is False
    assert a.state_code() == 1

    raw = clients()
    ttl = await raw.pttl(a.key)
    assert 0 < ttl <= 86_400_000
    assert (await raw.hgetall(a.key))[b"state"] == b"open"

    clock.advance(30)
    assert await b.allow() is True  # b holds the trial
    assert await a.allow() is False
    assert a.state_code() == 2
    await b.record(True)
    assert await a.allow() is True
    assert await a.current() == BreakerState()
    assert await raw.exists(a.key) == 0  # a fresh closed breaker is no key at all
    assert not a.degraded and not b.degraded


async def test_exactly_one_of_20_concurrent_callers_gets_the_trial(
    clients: Clients, clock: FrozenClock, name: str
) -> None:
    processes = [Breaker(name=name, clock=clock, redis=clients(), policy=POLICY) for _ in range(4)]
    await open_it(processes[0])
    clock.advance(30)
    decisions = await asyncio.gather(*(p.allow() for p in processes for _ in range(5)))
    assert decisions.count(True) == 1

    clock.advance(9.9)  # the trial never answered; still within its timeout
    assert await asyncio.gather(*(p.allow() for p in processes)) == [False] * 4
    clock.advance(0.1)
    decisions = await asyncio.gather(*(p.allow() for p in processes for _ in range(5)))
    assert decisions.count(True) == 1


async def test_only_one_call_reaches_the_pms_in_half_open(
    clients: Clients, clock: FrozenClock, name: str
) -> None:
    processes = [Breaker(name=name, clock=clock, redis=clients(), policy=POLICY) for _ in range(4)]
    await open_it(processes[0])
    clock.advance(30)
    reached = 0
    release = asyncio.Event()

    async def pms() -> str:
        nonlocal reached
        reached += 1
        await release.wait()
        return "ok"

    calls = [asyncio.create_task(p.call(pms)) for p in processes for _ in range(5)]
    await asyncio.sleep(0.2)
    release.set()
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert reached == 1
    assert results.count("ok") == 1
    assert all("circuit open" in str(r) for r in results if r != "ok")
    assert await processes[3].allow() is True  # the trial succeeded: closed for everyone


policies = st.builds(
    BreakerPolicy,
    failure_rate=st.sampled_from([0.25, 0.5, 1.0]) | st.floats(0.01, 1.0),
    minimum_calls=st.integers(1, 5),
    window_seconds=st.integers(1, 5),
    open_seconds=st.sampled_from([0.5, 3.0, 30.0]) | st.floats(0.001, 60),
    trial_timeout_seconds=st.sampled_from([0.5, 2.0, 10.0]) | st.floats(0.001, 60),
)
moves = (
    st.sampled_from([0.0, 0.25, 0.5, 1.0, 2.0, 10.0, 30.0, -1.0])
    | st.floats(-1, 3)
    | st.floats(-10, 40)
)
ops = st.sampled_from(["allow", "allow", "fail", "fail", "ok"])


@st.composite
def cases(draw: st.DrawFn) -> tuple[BreakerPolicy, list[tuple[str, float]]]:
    """A policy, and steps whose clock moves include its exact durations (the boundaries)."""
    policy = draw(policies)
    exact = st.sampled_from([policy.open_seconds, policy.trial_timeout_seconds])
    return policy, draw(st.lists(st.tuples(ops, moves | exact), max_size=40))


YEAR = 365 * 86400.0
SCENARIOS: dict[str, list[tuple[str, float]]] = {
    "a trial started in the future": [("fail", 0)] * 4 + [("allow", 30), ("allow", -5), ("allow", 9.9), ("allow", 0.1), ("ok", 0)],
    "opened in the future": [("fail", YEAR)] + [("fail", 0)] * 3 + [("allow", -YEAR), ("allow", 29), ("allow", 1), ("fail", 0)],
    "buckets from the future": [("fail", 5), ("fail", 0), ("ok", -5), ("fail", 0.5), ("ok", 60), ("fail", 0), ("fail", 0), ("fail", 0)],
    "the window rolls": [("fail", 0), ("fail", 0.9), ("fail", 59), ("ok", 1), ("fail", 0), ("fail", 0), ("fail", 0)],
    "a lost trial times out": [("fail", 0.0)] * 4 + [("allow", 30), ("allow", 10), ("allow", 0), ("fail", 0), ("allow", 30), ("ok", 0), ("allow", 0)],
}  # fmt: skip


@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_the_lua_step_agrees_on_chosen_scenarios(redis_url: str, scenario: str) -> None:
    await _agree(redis_url, BreakerPolicy(minimum_calls=4), SCENARIOS[scenario], 1.8e9 + 0.125)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=cases(), start=st.floats(1.7e9, 1.9e9))
def test_the_lua_step_agrees_with_the_python_reference(
    redis_url: str, case: tuple[BreakerPolicy, list[tuple[str, float]]], start: float
) -> None:
    policy, script = case
    asyncio.run(_agree(redis_url, policy, script, start))


async def _agree(
    url: str, policy: BreakerPolicy, script: list[tuple[str, float]], start: float
) -> None:
    client = aioredis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    clock = FrozenClock()
    clock.advance(start - clock.now().timestamp())
    breaker = Breaker(
        name=f"test:{uuid.uuid4().hex[:12]}", clock=clock, redis=client, policy=policy
    )
    reference = BreakerState()
    try:
        for op, move in script:
            clock.advance(move)
            now = clock.now().timestamp()
            if op == "allow":
                reference, expected = allow(reference, policy, now=now)
                assert await breaker.allow() is expected, (op, now)
            else:
                reference = record(reference, policy, now=now, success=op == "ok")
                await breaker.record(op == "ok")
            assert breaker.state_code() == state_code(reference)
            assert await breaker.current() == reference, (op, now)
        assert not breaker.degraded
    finally:
        await client.delete(breaker.key)
        await client.aclose()


async def test_unreachable_redis_falls_back_in_process(clock: FrozenClock, name: str) -> None:
    client = aioredis.Redis.from_url(UNREACHABLE, socket_connect_timeout=0.5, socket_timeout=0.5)
    breaker = Breaker(name=name, clock=clock, redis=client, policy=POLICY, timeout=0.5)
    try:
        with capture_logs() as logs:
            started = time.monotonic()
            assert await breaker.allow() is True
            assert time.monotonic() - started < 3  # bounded by the timeout
            assert breaker.degraded is True
            await open_it(breaker)  # the same transitions, in process
            assert await breaker.allow() is False
            clock.advance(5)  # Redis is asked again (and is still down)
            assert await breaker.allow() is False
            clock.advance(25)
            assert await breaker.call(_ok) == "ok"  # the in-process trial closes it
        down = [e for e in logs if e["event"] == "breaker_redis_unreachable_in_process"]
        assert len(down) == 1  # logged once
        assert down[0]["breaker"] == name
        assert breaker.state_code() == 0
    finally:
        await client.aclose()


async def _ok() -> str:
    return "ok"


async def test_back_to_the_shared_state_when_redis_returns(
    clients: Clients, redis_url: str, clock: FrozenClock, name: str
) -> None:
    proxy, client = await proxied_redis(redis_url)
    breaker = Breaker(name=name, clock=clock, redis=client, policy=POLICY, timeout=0.5)
    other = Breaker(name=name, clock=clock, redis=clients(), policy=POLICY)
    try:
        with capture_logs() as logs:
            await breaker.record(False)  # through the proxy, into Redis
            assert (await other.current()).window[0].failures == 1

            await proxy.down()
            assert await breaker.allow() is True  # in process, no exception
            assert breaker.degraded is True
            for _ in range(3):  # meanwhile, another worker opens the shared breaker
                await other.record(False)
            assert other.state_code() == 1

            await proxy.up()
            assert await breaker.allow() is True  # still inside retry_after: in process
            clock.advance(5)
            assert await breaker.allow() is False  # Redis again: the shared breaker is open
            assert breaker.degraded is False
            assert breaker.state_code() == 1
        events = [e["event"] for e in logs if e["event"].startswith("breaker_redis")]
        assert events == ["breaker_redis_unreachable_in_process", "breaker_redis_back"]
    finally:
        await client.aclose()
        await proxy.down()
