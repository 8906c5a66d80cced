"""The circuit breaker's pure core, and its shell with the state in process (no Redis).

Concrete transitions first; then a hypothesis state machine that drives ``allow``/``record`` with
calls, outcomes and a clock that also steps back, against a tiny model that keeps the raw outcome
log instead of buckets; then totality over arbitrary states, instants and policies.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any, cast

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from prometheus_client import CollectorRegistry, Gauge
from structlog.testing import capture_logs

from agente.breaker import (
    Breaker,
    BreakerPolicy,
    BreakerState,
    Bucket,
    allow,
    counts_as_failure,
    record,
    state_code,
)
from agente.errors import NotAvailable, NotFound, Permanent, RateLimited, Transient
from agente.testing import FrozenClock

T0 = 1_795_000_000.0
POLICY = BreakerPolicy()  # 50 % of at least 10 calls over 60 s; open 30 s; trial timeout 10 s


def run(state: BreakerState, outcomes: str, *, now: float, policy: BreakerPolicy = POLICY) -> Any:
    """Record ``outcomes`` ("o" success, "x" failure) at ``now``."""
    for char in outcomes:
        state = record(state, policy, now=now, success=char == "o")
    return state


def opened(at: float = T0) -> BreakerState:
    return BreakerState(state="open", opened_at=at)


# -- concrete transitions ------------------------------------------------------------------------


def test_a_fresh_breaker_is_closed_and_allows() -> None:
    state, allowed = allow(BreakerState(), POLICY, now=T0)
    assert allowed is True
    assert state == BreakerState()
    assert state_code(state) == 0


def test_opens_at_the_failure_rate_once_the_window_holds_minimum_calls() -> None:
    state = run(BreakerState(), "xxxxxxxxx", now=T0)  # 9 failures: below minimum_calls
    assert state.state == "closed"
    assert state.window == (Bucket(second=int(T0), successes=0, failures=9),)
    state = run(state, "x", now=T0 + 0.5)
    assert state == BreakerState(state="open", opened_at=T0 + 0.5)
    assert state_code(state) == 1


def test_the_rate_is_inclusive_and_below_it_stays_closed() -> None:
    assert run(BreakerState(), "oooooxxxx", now=T0).state == "closed"  # 4 of 9: too few calls
    assert run(BreakerState(), "ooooooxxxx", now=T0).state == "closed"  # 4 of 10 < 50 %
    assert run(BreakerState(), "oooooxxxxx", now=T0).state == "open"  # 5 of 10 = 50 %


def test_the_window_rolls_per_second() -> None:
    state = run(BreakerState(), "xxxxx", now=T0)  # second T0
    state = run(state, "xxxx", now=T0 + 59.9)  # second T0 + 59: still inside the 60 s window
    assert state.state == "closed"
    assert [b.second for b in state.window] == [int(T0), int(T0) + 59]
    state = run(state, "o", now=T0 + 60)  # second T0 + 60: T0's bucket has left the window
    assert state.window == (
        Bucket(second=int(T0) + 59, successes=0, failures=4),
        Bucket(second=int(T0) + 60, successes=1, failures=0),
    )
    assert run(state, "xxxxx", now=T0 + 60).state == "open"  # 9 failures of 10


def test_open_refuses_until_open_seconds_then_lets_exactly_one_trial_through() -> None:
    state = opened()
    for now in (T0, T0 + 1, T0 + 29.999):
        state, allowed = allow(state, POLICY, now=now)
        assert allowed is False
    assert state == opened()
    decisions = []
    for _ in range(20):
        state, allowed = allow(state, POLICY, now=T0 + 30)
        decisions.append(allowed)
    assert decisions == [True] + [False] * 19
    assert state == BreakerState(state="half_open", opened_at=T0, trial_started_at=T0 + 30)
    assert state_code(state) == 2


def test_the_trial_success_closes_with_a_fresh_window() -> None:
    state, _ = allow(opened(), POLICY, now=T0 + 30)
    state = record(state, POLICY, now=T0 + 31, success=True)
    assert state == BreakerState()
    assert run(state, "xxxxxxxxx", now=T0 + 32).state == "closed"  # counting starts again


def test_the_trial_failure_opens_again_from_now() -> None:
    state, _ = allow(opened(), POLICY, now=T0 + 30)
    state = record(state, POLICY, now=T0 + 31, success=False)
    assert state == opened(T0 + 31)
    assert allow(state, POLICY, now=T0 + 60)[1] is False
    assert allow(state, POLICY, now=T0 + 61)[1] is True


def test_a_trial_that_never_answers_times_out_and_another_caller_tries() -> None:
    state, _ = allow(opened(), POLICY, now=T0 + 30)
    state, allowed = allow(state, POLICY, now=T0 + 39.9)
    assert allowed is False
    state, allowed = allow(state, POLICY, now=T0 + 40)
    assert allowed is True
    assert state.trial_started_at == T0 + 40
    assert allow(state, POLICY, now=T0 + 40)[1] is False


def test_outcomes_arriving_while_open_are_ignored() -> None:
    assert record(opened(), POLICY, now=T0 + 1, success=True) == opened()
    assert record(opened(), POLICY, now=T0 + 1, success=False) == opened()


def test_a_clock_that_jumped_ahead_and_back_holds_the_breaker_open_at_most_open_seconds() -> None:
    year = 365 * 86400
    state = run(BreakerState(), "x" * 10, now=T0 + year)  # opened "a year from now"
    state, allowed = allow(state, POLICY, now=T0)  # the clock is put right
    assert allowed is False
    assert state == opened(T0)  # the open period now runs from the corrected clock
    assert allow(state, POLICY, now=T0 + 30)[1] is True


def test_a_trial_started_in_the_future_times_out_from_now() -> None:
    state = BreakerState(state="half_open", opened_at=T0, trial_started_at=T0 + 1000)
    state, allowed = allow(state, POLICY, now=T0 + 30)
    assert allowed is False
    assert state.trial_started_at == T0 + 30
    assert allow(state, POLICY, now=T0 + 40)[1] is True


def test_outcomes_from_the_future_merge_into_the_current_second() -> None:
    state = run(BreakerState(), "xxxx", now=T0 + 5)  # another worker's clock runs 5 s ahead
    state = run(state, "o", now=T0)
    assert state.window == (Bucket(second=int(T0), successes=1, failures=4),)


@pytest.mark.parametrize("now", [math.nan, math.inf, -math.inf, 2.0**53, -(2**60), 10**400])
def test_an_instant_that_is_not_a_time_moves_nothing(now: float) -> None:
    for state in (BreakerState(), opened(), run(BreakerState(), "xo", now=T0)):
        after, allowed = allow(state, POLICY, now=now)
        assert (after, allowed) == (state, state.state == "closed")
        assert record(state, POLICY, now=now, success=False) == state
    half_open = BreakerState(state="half_open", opened_at=T0, trial_started_at=T0 + 30)
    assert allow(half_open, POLICY, now=now) == (half_open, False)


def test_integer_instants_work_like_floats() -> None:
    assert run(BreakerState(), "x" * 10, now=int(T0)) == opened(T0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("failure_rate", 0.0),
        ("failure_rate", 1.5),
        ("failure_rate", math.nan),
        ("minimum_calls", 0),
        ("window_seconds", 0),
        ("window_seconds", 3601),
        ("open_seconds", 0.0),
        ("open_seconds", math.inf),
        ("trial_timeout_seconds", -1.0),
    ],
)
def test_a_bad_policy_cannot_be_built(field: str, value: float) -> None:
    bad: dict[str, Any] = {field: value}
    with pytest.raises(ValueError, match=field):
        BreakerPolicy(**bad)
    with pytest.raises(msgspec.ValidationError, match=field):
        msgspec.convert({field: value}, BreakerPolicy)


def test_states_survive_being_encoded() -> None:
    for state in (
        run(BreakerState(), "oxo", now=T0),
        opened(),
        BreakerState(state="half_open", opened_at=T0, trial_started_at=T0 + 30.25),
    ):
        assert msgspec.json.decode(msgspec.json.encode(state), type=BreakerState) == state


def test_from_hash_reads_what_the_script_writes_and_ignores_the_rest() -> None:
    fields = {
        b"state": b"half_open",
        b"opened_at": b"1795000000.25",
        b"trial_started_at": b"1795000030.5",
        b"s:1795000000": b"3",
        b"f:1795000000": b"2",
        b"f:1794999990": b"1",
        b"s:x": b"1",
        b"f:1795000001": b"-1",
        b"junk": b"\xff",
        b"\xff": b"1",
    }
    assert BreakerState.from_hash(fields) == BreakerState(
        state="half_open",
        window=(
            Bucket(second=1794999990, successes=0, failures=1),
            Bucket(second=1795000000, successes=3, failures=2),
        ),
        opened_at=1795000000.25,
        trial_started_at=1795000030.5,
    )
    assert BreakerState.from_hash({}) == BreakerState()
    assert BreakerState.from_hash({"state": "weird", "opened_at": "soon"}) == BreakerState()


# -- the state machine against a tiny model ------------------------------------------------------

policies = st.builds(
    BreakerPolicy,
    failure_rate=st.sampled_from([0.1, 0.25, 0.5, 0.75, 1.0]) | st.floats(0.01, 1.0),
    minimum_calls=st.integers(1, 4),
    window_seconds=st.integers(1, 10),
    open_seconds=st.sampled_from([0.25, 1.0, 5.0, 30.0]),
    trial_timeout_seconds=st.sampled_from([0.25, 1.0, 10.0]),
)
# mostly short steps, so outcomes pile up inside small windows; all exact in binary
quarters = st.sampled_from([0.0, 0.25, 1.0]) | st.integers(0, 160).map(lambda q: q / 4)


class BreakerMachine(RuleBasedStateMachine):
    """The model keeps every outcome as ``(second, ok)`` and recounts from scratch."""

    def __init__(self) -> None:
        super().__init__()
        self.policy = POLICY
        self.state = BreakerState()
        self.now = T0
        self.phase = "closed"
        self.events: list[tuple[int, bool]] = []
        self.opened_at: float | None = None
        self.trial_at: float | None = None

    @initialize(policy=policies)
    def choose_policy(self, policy: BreakerPolicy) -> None:
        self.policy = policy

    @rule(seconds=quarters)
    def time_passes(self, seconds: float) -> None:
        self.now += seconds

    @rule(which=st.sampled_from(["open_seconds", "trial_timeout_seconds", "window_seconds"]))
    def exactly_a_policy_duration_passes(self, which: str) -> None:
        self.now += getattr(self.policy, which)  # the boundaries, where >= and > differ

    @rule(seconds=quarters)
    def clock_steps_back(self, seconds: float) -> None:
        self.now -= seconds

    @rule()
    def a_call_asks(self) -> None:
        self.state, allowed = allow(self.state, self.policy, now=self.now)
        assert allowed == self._model_allow()

    @rule(success=st.booleans())
    def an_outcome_arrives(self, success: bool) -> None:
        self.state = record(self.state, self.policy, now=self.now, success=success)
        self._model_record(success)

    @invariant()
    def agrees_with_the_model(self) -> None:
        assert self.state.state == self.phase
        assert state_code(self.state) == {"closed": 0, "open": 1, "half_open": 2}[self.phase]
        assert self.state.opened_at == self.opened_at
        assert self.state.trial_started_at == self.trial_at
        counts: dict[int, list[int]] = {}
        for second, ok in self.events:
            counts.setdefault(second, [0, 0])[0 if ok else 1] += 1
        assert [(b.second, b.successes, b.failures) for b in self.state.window] == [
            (second, s, f) for second, (s, f) in sorted(counts.items())
        ]

    @invariant()
    def the_window_is_compact(self) -> None:
        assert len(self.state.window) <= self.policy.window_seconds
        assert self.phase == "closed" or self.state.window == ()

    def _model_allow(self) -> bool:
        p = self.policy
        if self.phase == "closed":
            return True
        if self.phase == "open":
            assert self.opened_at is not None
            self.opened_at = min(self.opened_at, self.now)
            if self.now >= self.opened_at + p.open_seconds:
                self.phase, self.trial_at = "half_open", self.now
                return True
            return False
        assert self.trial_at is not None
        if self.trial_at > self.now:  # the trial "started in the future": wait from now
            self.trial_at = self.now
            return False
        if self.now >= self.trial_at + p.trial_timeout_seconds:  # the trial was lost
            self.trial_at = self.now
            return True
        return False  # exactly one trial in flight

    def _model_record(self, success: bool) -> None:
        p = self.policy
        if self.phase == "open":
            return
        if self.phase == "half_open":
            self.trial_at = None
            if success:
                self.phase, self.opened_at, self.events = "closed", None, []
            else:
                self.phase, self.opened_at = "open", self.now
            return
        second = math.floor(self.now)
        self.events = [
            (min(s, second), ok) for s, ok in self.events if s > second - p.window_seconds
        ]
        self.events.append((second, success))
        failures = sum(1 for _, ok in self.events if not ok)
        if len(self.events) >= p.minimum_calls and failures / len(self.events) >= p.failure_rate:
            self.phase, self.opened_at, self.events = "open", self.now, []


TestBreakerMachine = BreakerMachine.TestCase


# -- totality ------------------------------------------------------------------------------------

instants = st.floats() | st.integers() | st.floats(T0 - 100, T0 + 100)
states = st.builds(
    BreakerState,
    state=st.sampled_from(["closed", "open", "half_open", "stuck"]),
    window=st.lists(
        st.builds(Bucket, second=st.integers(), successes=st.integers(), failures=st.integers()),
        max_size=5,
    ).map(tuple),
    opened_at=st.none() | instants,
    trial_started_at=st.none() | instants,
)


@given(
    state=states,
    policy=policies,
    steps=st.lists(st.tuples(st.sampled_from(["allow", "ok", "fail"]), instants), max_size=20),
)
def test_allow_and_record_never_raise(
    state: BreakerState, policy: BreakerPolicy, steps: list[tuple[str, float]]
) -> None:
    for op, now in steps:
        if op == "allow":
            state, allowed = allow(state, policy, now=now)
            assert isinstance(allowed, bool)
            continue
        before = state
        state = record(state, policy, now=now, success=op == "ok")
        assert state_code(state) in (0, 1, 2)
        if state is before:
            continue  # ignored: open, or not a time
        # whatever came in, a recorded outcome leaves a canonical, storable state
        second = math.floor(now)
        if state.state == "closed":
            seconds = [b.second for b in state.window]
            assert seconds == sorted(set(seconds))
            assert all(second - policy.window_seconds < s <= second for s in seconds)
            assert all(b.successes >= 0 and b.failures >= 0 for b in state.window)
            if before.state not in ("open", "half_open"):  # the new outcome is in the window
                assert sum(b.successes + b.failures for b in state.window) >= 1
        else:
            assert state.window == ()
        assert msgspec.json.decode(msgspec.json.encode(state), type=BreakerState) == state


@given(
    st.dictionaries(
        st.binary() | st.text() | st.integers(), st.binary() | st.text() | st.integers() | st.none()
    )
)
def test_from_hash_never_raises(fields: dict[Any, Any]) -> None:
    assert state_code(BreakerState.from_hash(fields)) in (0, 1, 2)


# -- the shell, in process -----------------------------------------------------------------------


def small() -> BreakerPolicy:
    return BreakerPolicy(
        minimum_calls=4, failure_rate=0.5, open_seconds=30, trial_timeout_seconds=10
    )


async def ok() -> str:
    return "answer"


def failing(error: BaseException) -> Any:
    async def fn() -> str:
        raise error

    return fn


async def test_call_passes_results_through(clock: FrozenClock) -> None:
    breaker = Breaker(name="mock:demo", clock=clock, policy=small())
    assert await breaker.call(ok) == "answer"
    assert (await breaker.current()).window == (
        Bucket(second=int(clock.now().timestamp()), successes=1, failures=0),
    )


async def test_an_open_breaker_refuses_with_transient_without_calling(clock: FrozenClock) -> None:
    breaker = Breaker(name="mock:demo", clock=clock, policy=small())
    for _ in range(4):
        with pytest.raises(Transient):
            await breaker.call(failing(Transient("502")))
    assert breaker.state_code() == 1
    calls = 0

    async def counted() -> str:
        nonlocal calls
        calls += 1
        return "x"

    with pytest.raises(Transient, match=r"circuit open: calls to mock:demo"):
        await breaker.call(counted)
    assert calls == 0
    clock.advance(30)
    assert await breaker.call(counted) == "x"  # the trial
    assert calls == 1
    assert breaker.state_code() == 0


@pytest.mark.parametrize(
    "error",
    [
        NotFound("no such booking"),
        NotAvailable("full"),
        Permanent("bad request"),
        msgspec.ValidationError("Expected `str`, got `int`"),
        KeyError("bug"),
    ],
)
async def test_answers_that_are_errors_count_as_successes(
    clock: FrozenClock, error: Exception
) -> None:
    breaker = Breaker(name="mock:demo", clock=clock, policy=small())
    for _ in range(10):
        with pytest.raises(type(error)):
            await breaker.call(failing(error))
    assert breaker.state_code() == 0
    assert counts_as_failure(error) is False


@pytest.mark.parametrize("error", [Transient("503"), RateLimited(retry_after=2), TimeoutError()])
async def test_transient_rate_limited_and_timeouts_count_as_failures(
    clock: FrozenClock, error: Exception
) -> None:
    breaker = Breaker(name="mock:demo", clock=clock, policy=small())
    for _ in range(4):
        with pytest.raises(type(error)):
            await breaker.call(failing(error))
    assert breaker.state_code() == 1
    assert counts_as_failure(error) is True


async def test_the_failure_rule_can_be_replaced(clock: FrozenClock) -> None:
    breaker = Breaker(
        name="mock:demo", clock=clock, policy=small(), is_failure=lambda e: isinstance(e, KeyError)
    )
    for _ in range(4):
        with pytest.raises(KeyError):
            await breaker.call(failing(KeyError("x")))
    assert breaker.state_code() == 1


async def test_a_cancelled_trial_records_nothing_and_times_out(clock: FrozenClock) -> None:
    breaker = Breaker(name="mock:demo", clock=clock, policy=small())
    for _ in range(4):
        await breaker.record(False)
    clock.advance(30)
    with pytest.raises(asyncio.CancelledError):
        await breaker.call(failing(asyncio.CancelledError()))
    assert breaker.state_code() == 2  # the trial is still "in flight"
    assert await breaker.allow() is False
    clock.advance(10)
    assert await breaker.allow() is True


async def test_concurrent_callers_in_process_get_one_trial(clock: FrozenClock) -> None:
    breaker = Breaker(name="mock:demo", clock=clock, policy=small())
    for _ in range(4):
        await breaker.record(False)
    clock.advance(30)
    decisions = await asyncio.gather(*(breaker.allow() for _ in range(20)))
    assert decisions.count(True) == 1


async def test_the_gauge_and_the_log_follow_the_state(clock: FrozenClock) -> None:
    registry = CollectorRegistry()
    gauge = Gauge("pms_circuit_breaker_state", "0 closed, 1 open, 2 half-open.", ["name"], registry=registry)  # fmt: skip
    breaker = Breaker(name="qloapps:h1", clock=clock, policy=small(), gauge=gauge)

    def sample() -> float | None:
        return registry.get_sample_value("pms_circuit_breaker_state", {"name": "qloapps:h1"})

    with capture_logs() as logs:
        assert await breaker.allow() is True
        assert sample() == 0
        for _ in range(4):
            await breaker.record(False)
        assert sample() == 1
        clock.advance(30)
        await breaker.allow()
        assert sample() == 2
        await breaker.record(True)
        assert sample() == 0
    changes = [e["state"] for e in logs if e["event"] == "breaker_state_changed"]
    assert changes == ["open", "half_open", "closed"]
    assert breaker.degraded is False


def test_the_key_is_namespaced(clock: FrozenClock) -> None:
    assert Breaker(name="qloapps:h1", clock=clock).key == "agente:breaker:qloapps:h1"


def test_a_garbage_phase_reads_as_closed() -> None:
    state = BreakerState(state=cast("Any", "stuck"))
    assert state_code(state) == 0
    assert allow(state, POLICY, now=T0)[1] is True
    assert record(state, POLICY, now=T0, success=True).window == (
        Bucket(second=int(T0), successes=1, failures=0),
    )
