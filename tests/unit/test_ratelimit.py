"""The rate limiter's pure GCRA core, and its shell with the TATs in process (no Redis).

Concrete cases first (a burst of ``limit`` then one per interval, ``retry_after``, ``remaining``,
the clock going back); then hypothesis: the window bounds over any sequence of request times,
agreement with an independent model (the continuous-state leaky bucket), ``retry_after`` and
``remaining`` meaning exactly what they say, and totality over arbitrary instants and TATs.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from fractions import Fraction

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from structlog.testing import capture_logs

from agente.ratelimit import (
    DEFAULT_POLICY,
    UNITS_PER_SECOND,
    Decision,
    RateLimiter,
    RatePolicy,
    gcra,
)
from agente.testing import FrozenClock

T0 = 1_795_000_000.0
UNIT = 1 / UNITS_PER_SECOND


def burst_at(policy: RatePolicy, now: float, tat: float | None = None) -> tuple[int, float | None]:
    """Hit at ``now`` until refused: how many went through, and the TAT after."""
    allowed = 0
    while True:
        ok, tat, _, _ = gcra(tat, policy, now)
        if not ok:
            return allowed, tat
        allowed += 1


# -- concrete cases ------------------------------------------------------------------------------


def test_exactly_limit_at_once_then_one_per_interval() -> None:
    policy = DEFAULT_POLICY  # 60 a minute: T = 1 s, tau = 60 s
    assert (policy.interval, policy.tolerance, policy.capacity) == (1.0, 60.0, 60)
    tat = None
    for i in range(60):
        allowed, tat, retry_after, remaining = gcra(tat, policy, T0)
        assert (allowed, retry_after, remaining) == (True, 0.0, 59 - i)
    assert tat == T0 + 60
    assert gcra(tat, policy, T0) == (False, T0 + 60, 1.0, 0)  # the 61st: retry in T
    assert gcra(tat, policy, T0 + 0.75) == (False, T0 + 60, 0.25, 0)
    assert gcra(tat, policy, T0 + 1) == (True, T0 + 61, 0.0, 0)  # one per T from now on
    assert gcra(T0 + 61, policy, T0 + 1.5)[0] is False
    assert gcra(T0 + 61, policy, T0 + 2) == (True, T0 + 62, 0.0, 0)


def test_the_budget_refills_one_request_per_interval_while_idle() -> None:
    _, tat = burst_at(DEFAULT_POLICY, T0)
    assert burst_at(DEFAULT_POLICY, T0 + 10, tat)[0] == 10
    assert burst_at(DEFAULT_POLICY, T0 + 60, tat)[0] == 60  # a whole period idle: a whole burst
    assert burst_at(DEFAULT_POLICY, T0 + 6000, tat)[0] == 60  # and never more than that


@pytest.mark.parametrize(
    ("policy", "expected"),
    [(DEFAULT_POLICY, 119), (RatePolicy(limit=60, period_seconds=60, burst=1), 60)],
)
def test_the_worst_window_of_one_period_holds_limit_plus_burst_minus_one(
    policy: RatePolicy, expected: int
) -> None:
    """A full burst, then the refill over the following period: the bound is reached."""
    count, tat = burst_at(policy, T0)
    for second in range(1, 60):
        n, tat = burst_at(policy, T0 + second, tat)
        count += n
    assert count == expected


def test_a_smaller_burst_spaces_requests_sooner() -> None:
    policy = RatePolicy(limit=60, period_seconds=60, burst=5)
    assert policy.capacity == 5
    count, tat = burst_at(policy, T0)
    assert (count, tat) == (5, T0 + 5)
    assert gcra(tat, policy, T0)[2] == 1.0
    assert gcra(None, policy, T0)[3] == 4


def test_the_interval_is_rounded_up_to_a_unit() -> None:
    policy = RatePolicy(limit=7, period_seconds=60)
    assert 60 / 7 <= policy.interval < 60 / 7 + UNIT
    assert policy.tolerance == policy.interval * 7
    assert RatePolicy(limit=3, period_seconds=0.1).interval >= 0.1 / 3
    # rounding never lets a burst come back early: 7 requests, then the 8th exactly T later
    count, tat = burst_at(policy, T0)
    assert count == 7
    assert gcra(tat, policy, T0 + 60 / 7)[0] is False
    assert gcra(tat, policy, T0 + policy.interval)[0] is True


def test_a_clock_that_went_back_costs_at_most_one_interval() -> None:
    _, tat = burst_at(DEFAULT_POLICY, T0 + 3600)  # the clock ran an hour ahead, then came back
    allowed, pulled, retry_after, remaining = gcra(tat, DEFAULT_POLICY, T0)
    assert (allowed, pulled, retry_after, remaining) == (False, T0 + 60, 1.0, 0)
    assert gcra(pulled, DEFAULT_POLICY, T0 + 1)[0] is True  # not an hour later


@pytest.mark.parametrize("now", [math.nan, math.inf, -math.inf, 2.0**33, -(2.0**40), 10**400])
def test_an_instant_that_is_not_a_time_refuses_and_moves_nothing(now: float) -> None:
    assert gcra(None, DEFAULT_POLICY, now) == (False, None, 1.0, 0)
    assert gcra(T0 + 5, DEFAULT_POLICY, now) == (False, T0 + 5, 1.0, 0)


@pytest.mark.parametrize("tat", [math.nan, math.inf, -math.inf, 1e300, -(2.0**40), None])
def test_an_unreadable_or_ancient_tat_is_a_fresh_key(tat: float | None) -> None:
    assert gcra(tat, DEFAULT_POLICY, T0) == (True, T0 + 1, 0.0, 59)


def test_integer_instants_work_like_floats() -> None:
    assert gcra(None, DEFAULT_POLICY, 1_795_000_000) == gcra(None, DEFAULT_POLICY, T0)


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("limit", {"limit": 0, "period_seconds": 60}),
        ("limit", {"limit": 10**9 + 1, "period_seconds": 60}),
        ("period_seconds", {"limit": 60, "period_seconds": 0}),
        ("period_seconds", {"limit": 60, "period_seconds": -1}),
        ("period_seconds", {"limit": 60, "period_seconds": math.inf}),
        ("period_seconds", {"limit": 60, "period_seconds": math.nan}),
        ("burst", {"limit": 60, "period_seconds": 60, "burst": 0}),
        ("tolerance", {"limit": 1, "period_seconds": 2.0**31}),
        ("tolerance", {"limit": 1, "period_seconds": 86400, "burst": 10**6}),
    ],
)
def test_a_bad_policy_cannot_be_built(field: str, kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=field):
        RatePolicy(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(msgspec.ValidationError, match=field):
        msgspec.convert(kwargs, RatePolicy)


def test_a_boolean_is_not_a_limit() -> None:
    with pytest.raises(ValueError, match="limit"):
        RatePolicy(limit=True, period_seconds=60)


def test_policies_and_decisions_survive_being_encoded() -> None:
    policy = RatePolicy(limit=5, period_seconds=1.5, burst=2)
    assert msgspec.json.decode(msgspec.json.encode(policy), type=RatePolicy) == policy
    decision = Decision(allowed=False, retry_after=3, remaining=0, limit=5)
    assert msgspec.json.decode(msgspec.json.encode(decision), type=Decision) == decision


# -- hypothesis ----------------------------------------------------------------------------------

policies = st.builds(
    RatePolicy,
    limit=st.integers(1, 12),
    period_seconds=st.sampled_from([1.0, 60.0, 0.5, 7.0]) | st.floats(0.001, 100),
    burst=st.none() | st.integers(1, 12),
)


def units(policy: RatePolicy) -> tuple[int, int, Fraction]:
    """(T, tau, period) in units."""
    interval = round(policy.interval * UNITS_PER_SECOND)
    return interval, interval * policy.capacity, Fraction(policy.period_seconds) * UNITS_PER_SECOND


@st.composite
def timelines(draw: st.DrawFn, *, backwards: bool) -> tuple[RatePolicy, list[int]]:
    """A policy and request instants in units (moves include T, T - 1 and tau exactly)."""
    policy = draw(policies)
    interval, tolerance, _ = units(policy)
    low = -3 * interval if backwards else 0
    moves = (
        st.sampled_from([0, 0, 0, 1, interval, interval - 1, interval + 1, tolerance])
        | st.integers(low, 3 * interval)
        | st.integers(low // 50, interval // 50)
    )
    start = round(T0 * UNITS_PER_SECOND)
    instants = []
    for move in draw(st.lists(moves, max_size=120)):
        start += move
        instants.append(start)
    return policy, instants


def allowed_instants(policy: RatePolicy, instants: list[int]) -> list[int]:
    tat: float | None = None
    allowed = []
    for instant in instants:
        ok, tat, _, _ = gcra(tat, policy, instant / UNITS_PER_SECOND)
        if ok:
            allowed.append(instant)
    return allowed


def busiest(allowed: list[int], width: Fraction) -> int:
    """The most allowed requests in any half-open window [t, t + width)."""
    ordered = sorted(allowed)
    return max((sum(1 for b in ordered if a <= b < a + width) for a in ordered), default=0)


@given(case=timelines(backwards=False), width=st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.5]))
def test_no_window_holds_more_than_the_bound_while_the_clock_goes_forward(
    case: tuple[RatePolicy, list[int]], width: float
) -> None:
    """Any window of length W holds at most burst + ceil(W / T) - 1 allowed requests: for W one
    period that is at most limit + burst - 1, and exactly limit with burst 1."""
    policy, instants = case
    allowed = allowed_instants(policy, instants)
    interval, _, period = units(policy)
    assert busiest(allowed, period) <= policy.limit + policy.capacity - 1
    if policy.capacity == 1:
        assert busiest(allowed, period) <= policy.limit
    w = Fraction(width) * period
    assert busiest(allowed, w) <= policy.capacity + max(math.ceil(w / interval), 1) - 1


@given(case=timelines(backwards=True))
def test_a_clock_that_goes_back_loosens_the_bound_by_at_most_its_steps(
    case: tuple[RatePolicy, list[int]],
) -> None:
    """With backward steps summing to D: at most burst + ceil((W + D) / T) - 1 in any window."""
    policy, instants = case
    allowed = allowed_instants(policy, instants)
    interval, _, period = units(policy)
    steps = [b - a for a, b in itertools.pairwise(instants)]
    back = -sum(s for s in steps if s < 0)
    assert busiest(allowed, period) <= policy.capacity + math.ceil((period + back) / interval) - 1


@given(case=timelines(backwards=False))
def test_agrees_with_the_continuous_state_leaky_bucket(case: tuple[RatePolicy, list[int]]) -> None:
    """GCRA's other formulation (ITU-T I.371): a bucket level that drains one unit per unit of
    time and takes T per request, refusing while it would overflow tau."""
    policy, instants = case
    interval, tolerance, _ = units(policy)
    level, last = 0, None
    expected = []
    for instant in instants:
        drained = max(level - (instant - last), 0) if last is not None else 0
        if drained > tolerance - interval:
            expected.append(False)
        else:
            level, last = drained + interval, instant
            expected.append(True)
    tat: float | None = None
    for instant, want in zip(instants, expected, strict=True):
        ok, tat, _, _ = gcra(tat, policy, instant / UNITS_PER_SECOND)
        assert ok is want


tats = st.none() | st.floats(T0 - 200, T0 + 200)
nows = st.floats(T0 - 100, T0 + 100)


@given(policy=policies, tat=tats, now=nows)
def test_retry_after_is_exactly_when_the_next_request_goes_through(
    policy: RatePolicy, tat: float | None, now: float
) -> None:
    allowed, stored, retry_after, _ = gcra(tat, policy, now)
    if allowed:
        assert retry_after == 0.0
        return
    assert retry_after > 0
    at = round(now * UNITS_PER_SECOND) / UNITS_PER_SECOND + retry_after
    assert gcra(stored, policy, at)[0] is True
    assert gcra(stored, policy, at - UNIT)[0] is False


@given(policy=policies, tat=tats, now=nows)
def test_remaining_is_exactly_how_many_more_go_through_now(
    policy: RatePolicy, tat: float | None, now: float
) -> None:
    allowed, stored, _, remaining = gcra(tat, policy, now)
    more, _ = burst_at(policy, now, stored)
    assert more == remaining
    assert 0 <= remaining <= policy.capacity - 1
    if not allowed:
        assert remaining == 0


anything = (
    st.none()
    | st.floats()
    | st.floats(T0 - 1e6, T0 + 1e6)
    | st.integers(-(2**70), 2**70)
    | st.sampled_from([0.0, -0.0, 2.0**33, 2.0**53, T0])
)


@given(policy=policies, tat=anything, now=anything.filter(lambda x: x is not None))
def test_gcra_is_total(policy: RatePolicy, tat: float | None, now: float) -> None:
    allowed, stored, retry_after, remaining = gcra(tat, policy, now)
    assert isinstance(allowed, bool)
    assert stored is None or math.isfinite(stored)
    assert math.isfinite(retry_after)
    assert 0 <= remaining < policy.capacity
    if allowed:
        assert stored is not None
        assert retry_after == 0.0
    else:
        assert 0 < retry_after <= policy.interval  # never more than T, even after a clock step
        assert remaining == 0


# -- the shell, in process -----------------------------------------------------------------------


async def test_the_limiter_in_process(clock: FrozenClock) -> None:
    limiter = RateLimiter(clock=clock)
    with capture_logs() as logs:
        decisions = [await limiter.hit("admin:k1") for _ in range(61)]
        assert [d.allowed for d in decisions] == [True] * 60 + [False]
        assert [d.remaining for d in decisions[:60]] == list(range(59, -1, -1))
        assert decisions[60] == Decision(allowed=False, retry_after=1, remaining=0, limit=60)
        assert (await limiter.hit("admin:k2")).allowed is True  # keys are independent
        clock.advance(0.25)
        assert (await limiter.hit("admin:k1")).retry_after == 1  # 0.75 s, rounded up
        clock.advance(0.75)
        assert (await limiter.hit("admin:k1")).allowed is True
    assert logs == []
    assert limiter.degraded is False


async def test_the_in_process_store_forgets_the_least_recently_hit_key(
    clock: FrozenClock,
) -> None:
    limiter = RateLimiter(
        clock=clock, policy=RatePolicy(limit=1, period_seconds=60), max_local_keys=2
    )
    assert (await limiter.hit("a")).allowed is True
    assert (await limiter.hit("b")).allowed is True
    assert (await limiter.hit("a")).allowed is False  # a is now the most recent
    assert (await limiter.hit("c")).allowed is True  # b is forgotten
    assert (await limiter.hit("a")).allowed is False
    assert (await limiter.hit("b")).allowed is True  # afresh; c is forgotten
    assert (await limiter.hit("c")).allowed is True


async def test_a_clock_beyond_the_range_refuses_without_storing() -> None:
    clock = FrozenClock(current=dt.datetime(9999, 1, 1, tzinfo=dt.UTC))
    limiter = RateLimiter(clock=clock)
    decision = await limiter.hit("k")
    assert decision == Decision(allowed=False, retry_after=1, remaining=0, limit=60)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ttl_margin", math.nan),
        ("ttl_margin", math.inf),
        ("ttl_margin", -1.0),
        ("timeout", 0.0),
        ("redis_retry_after", math.nan),
        ("max_local_keys", 0),
    ],
)
def test_a_bad_limiter_setting_fails_on_construction_not_in_hit(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        RateLimiter(clock=FrozenClock(), **{field: value})  # type: ignore[arg-type]
