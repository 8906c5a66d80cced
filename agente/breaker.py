"""The PMS circuit breaker: a pure state machine, and one atomic Redis step shared by every worker.

**Core.** ``allow`` and ``record`` are pure transitions over a frozen ``BreakerState``; ``now``
(epoch seconds) comes in as an argument. *Closed* lets every call through and keeps per-second
buckets of outcomes over ``window_seconds``; once the window holds at least ``minimum_calls``
outcomes and the share of failures reaches ``failure_rate``, the breaker *opens* and refuses
calls for ``open_seconds``. The first caller after that moves it to *half-open* and is the one
trial; everyone else is refused while the trial is in flight. A success closes the breaker (with
a fresh window), a failure opens it again. A trial whose outcome never arrives (its caller was
cancelled, or its process died) stops blocking after ``trial_timeout_seconds``: the next caller
becomes a new trial. Outcomes that arrive while open are ignored; any outcome that arrives in
half-open is taken as the trial's (a success, whichever call it came from, proves the PMS answers).

**Time.** The ``now`` given is the truth. A timestamp in the state that lies after ``now``
(another worker's clock runs ahead, or ours stepped back) is pulled back to ``now``: an open
breaker then waits ``open_seconds`` from ``now``, a trial times out ``trial_timeout_seconds``
after ``now``, and a window bucket from "the future" is merged into the current second, so no
outcome is lost. We do not keep a high-water mark ("now = max(now, last seen)"): a clock that
once jumped years ahead would freeze the breaker's time and could hold it open for good, while
pulling back bounds the harm of any clock error to one ``open_seconds``. A ``now`` that is not a
number of seconds within ±2**53 (NaN, infinities) carries no time: ``allow`` answers from the state
alone without moving it (closed allows, the others refuse) and ``record`` ignores the outcome.
Both functions are total: they never raise, whatever the state and ``now``.

**Shell.** ``Breaker`` applies the same transitions to state that lives in Redis, at
``agente:breaker:<name>`` (a hash, TTL one day, refreshed on every write), through a Lua script
(``_STEP``) that is a line-by-line twin of ``allow``/``record``. Lua rather than WATCH/MULTI:
Lua is atomic in one round trip with no retries, so 20 callers racing for the half-open trial
cost 20 round trips and exactly one wins, where WATCH makes every loser retry at the very moment
contention peaks (and pins a pooled connection per attempt); it is also what the style guide asks
for (rule 12). The price is writing the transition twice; the Python functions are the
reference, and ``tests/integration/test_breaker_redis.py`` checks on the real Redis that random
sequences of calls, outcomes and clock moves give the same decisions and the same stored state.

When Redis does not answer, the breaker carries on in process with the same pure functions (the
switch is logged once), tries Redis again every ``retry_after`` seconds, and goes back to the
shared state as soon as Redis answers. ``call(fn)`` wraps one PMS call: refused calls raise
``Transient`` ("circuit open"), and only ``Transient``, ``RateLimited`` and timeouts count as
failures. Every other outcome, including ``NotFound``, ``NotAvailable`` and validation errors,
means the PMS answered, and counts as a success for the breaker (the error still propagates).

Metric: the gauge ``pms_circuit_breaker_state{name}`` (0 closed, 1 open, 2 half-open), set by each
process when the state it sees changes; the app declares it and hands it in.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, TypeVar

import attrs
import msgspec
import redis.exceptions
import structlog

from agente.errors import RateLimited, Transient

if TYPE_CHECKING:
    import redis.asyncio as aioredis
    from prometheus_client import Gauge
    from redis.commands.core import AsyncScript

    from agente.ports import Clock

__all__ = [
    "Breaker",
    "BreakerPolicy",
    "BreakerState",
    "Bucket",
    "Phase",
    "allow",
    "counts_as_failure",
    "record",
    "state_code",
]

Phase: TypeAlias = Literal["closed", "open", "half_open"]
"""Where the breaker is: letting calls through, refusing them, or letting one trial through."""

T = TypeVar("T")

_LIMIT = 2.0**53
"""Instants are seconds strictly within ±2**53: exact integers for the buckets, in Python and Lua."""
_MAX_COUNT = 2**53
_CODES: dict[str, int] = {"closed": 0, "open": 1, "half_open": 2}
_FIELD = re.compile(r"([sf]):(-?[0-9]+)")
_COUNT = re.compile(r"[0-9]+")
_REDIS_FAILURES = (redis.exceptions.RedisError, OSError, TimeoutError)

log = structlog.get_logger("agente.breaker")


class Bucket(msgspec.Struct, frozen=True, kw_only=True):
    """The outcomes recorded during one second (``second`` = floor of the epoch time)."""

    second: int
    successes: int = 0
    failures: int = 0


class BreakerPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """When to open and for how long. Checked on construction and decoding (``ValueError``)."""

    failure_rate: float = 0.5
    """Open when failures / calls in the window reach this share, in (0, 1]."""
    minimum_calls: int = 10
    """...and the window holds at least this many outcomes (at least 1)."""
    window_seconds: int = 60
    """Length of the rolling window, in whole seconds (per-second buckets), 1 to 3600."""
    open_seconds: float = 30.0
    """How long an open breaker refuses before letting one trial through, (0, 86400]."""
    trial_timeout_seconds: float = 10.0
    """How long a trial may stay unanswered before another caller may try, (0, 86400]."""

    def __post_init__(self) -> None:
        checks = (
            ("failure_rate", 0 < self.failure_rate <= 1, "in (0, 1]"),
            ("minimum_calls", 1 <= self.minimum_calls < _MAX_COUNT, "at least 1"),
            ("window_seconds", 1 <= self.window_seconds <= 3600, "1 to 3600"),
            ("open_seconds", 0 < self.open_seconds <= 86400, "in (0, 86400]"),
            ("trial_timeout_seconds", 0 < self.trial_timeout_seconds <= 86400, "in (0, 86400]"),
        )
        for name, ok, expected in checks:
            if not ok:
                raise ValueError(f"{name} must be {expected}, got {getattr(self, name)!r}")


class BreakerState(msgspec.Struct, frozen=True, kw_only=True):
    """One breaker's state. ``BreakerState()`` is a fresh closed breaker.

    Closed states carry the window (buckets in ascending ``second``, none empty); open and
    half-open ones carry an empty window, ``opened_at`` (when it last opened) and, in half-open,
    ``trial_started_at`` (when the trial in flight was let through).
    """

    state: Phase = "closed"
    window: tuple[Bucket, ...] = ()
    opened_at: float | None = None
    trial_started_at: float | None = None

    @classmethod
    def from_hash(cls, fields: Mapping[Any, Any]) -> BreakerState:
        """The state stored in Redis by ``_STEP``, from ``HGETALL`` (bytes or str).

        Total: an empty hash is a fresh breaker; unreadable fields are ignored.
        """
        text = {_text(k): _text(v) for k, v in fields.items()}
        stored = text.get("state")
        phase: Phase = (
            "open" if stored == "open" else "half_open" if stored == "half_open" else "closed"
        )
        counts: dict[int, list[int]] = {}
        for name, value in text.items():
            match = _FIELD.fullmatch(name or "")
            if match is None or value is None or _COUNT.fullmatch(value) is None:
                continue
            pair = counts.setdefault(int(match[2]), [0, 0])
            pair[0 if match[1] == "s" else 1] += int(value)
        return cls(
            state=phase,
            window=_buckets(counts),
            opened_at=_float(text.get("opened_at")),
            trial_started_at=_float(text.get("trial_started_at")),
        )


def state_code(state: BreakerState) -> int:
    """The gauge value: 0 closed, 1 open, 2 half-open (anything unknown reads as closed)."""
    return _CODES.get(state.state, 0)


def allow(state: BreakerState, policy: BreakerPolicy, *, now: float) -> tuple[BreakerState, bool]:
    """May a call go through at ``now``? Returns the next state and the answer. Never raises.

    Closed: yes. Open: no, until ``opened_at + open_seconds``; then half-open, and this caller is
    the one trial. Half-open: no while the trial is in flight, unless it started at least
    ``trial_timeout_seconds`` ago; then this caller is the new trial.
    """
    phase = _phase(state)
    if phase == "closed":
        return state, True
    if not _valid(now):
        return state, False
    now = float(now)
    if phase == "open":
        opened = _at(state.opened_at, now)
        if now >= opened + policy.open_seconds:
            return BreakerState(state="half_open", opened_at=opened, trial_started_at=now), True
        return _same(state, BreakerState(state="open", opened_at=opened)), False
    trial = state.trial_started_at
    half_open = BreakerState(state="half_open", opened_at=state.opened_at, trial_started_at=now)
    if trial is None or not _valid(trial):
        return half_open, True  # no readable trial in flight: this caller is the trial
    if trial > now:
        return half_open, False  # started "in the future": the timeout runs from now
    if now >= trial + policy.trial_timeout_seconds:
        return half_open, True
    return state, False


def record(
    state: BreakerState, policy: BreakerPolicy, *, now: float, success: bool
) -> BreakerState:
    """The state after one call's outcome at ``now``. Never raises.

    Closed: the outcome joins the window; the breaker opens when the window holds at least
    ``minimum_calls`` outcomes and failures / calls >= ``failure_rate``. Half-open: a success
    closes with a fresh window, a failure opens again from ``now``. Open: ignored (a late answer
    to a call let through before the breaker opened).
    """
    phase = _phase(state)
    if phase == "open" or not _valid(now):
        return state
    now = float(now)
    if phase == "half_open":
        return BreakerState() if success else BreakerState(state="open", opened_at=now)
    now_second = math.floor(now)
    oldest = now_second - policy.window_seconds
    counts: dict[int, list[int]] = {now_second: [0, 0]}
    for bucket in state.window:
        if bucket.second > oldest:  # buckets from "the future" merge into the current second
            pair = counts.setdefault(min(bucket.second, now_second), [0, 0])
            pair[0] += _count(bucket.successes)
            pair[1] += _count(bucket.failures)
    counts[now_second][0 if success else 1] += 1
    calls = sum(s + f for s, f in counts.values())
    failures = sum(f for _, f in counts.values())
    if calls >= policy.minimum_calls and failures / calls >= policy.failure_rate:
        return BreakerState(state="open", opened_at=now)
    return BreakerState(window=_buckets(counts))


def counts_as_failure(error: BaseException) -> bool:
    """Whether a call's exception says the PMS is in trouble: only ``Transient``, ``RateLimited``
    and timeouts. Anything else (``NotFound``, ``NotAvailable``, validation errors, our own bugs)
    means the PMS answered, or that retrying it would not help anyway."""
    return isinstance(error, Transient | RateLimited | TimeoutError)


def _phase(state: BreakerState) -> Phase:
    return state.state if state.state in ("open", "half_open") else "closed"


def _valid(instant: float) -> bool:
    return -_LIMIT < instant < _LIMIT  # False for NaN and infinities, exact for any int


def _at(instant: float | None, now: float) -> float:
    """A stored instant, pulled back to ``now`` when it is later or unreadable."""
    if instant is None or not (-_LIMIT < instant <= now):
        return now
    return float(instant)


def _same(old: BreakerState, new: BreakerState) -> BreakerState:
    return old if old == new else new


def _count(value: int) -> int:
    return min(max(value, 0), _MAX_COUNT)


def _buckets(counts: Mapping[int, list[int]]) -> tuple[Bucket, ...]:
    return tuple(
        Bucket(second=second, successes=pair[0], failures=pair[1])
        for second, pair in sorted(counts.items())
        if pair[0] or pair[1]
    )


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        try:
            return value.decode("ascii")
        except UnicodeDecodeError:
            return None
    return None


def _float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


# The twin of allow()/record() above, over the hash at KEYS[1]: `state`, `opened_at`,
# `trial_started_at` (written with %.17g, so they read back as the same doubles) and one field per
# non-empty count, `s:<second>` (successes) and `f:<second>` (failures). A closed breaker with an
# empty window is no key at all. ARGV: op (allow|record), now, success (1|0), failure_rate,
# minimum_calls, window_seconds, open_seconds, trial_timeout_seconds, ttl in ms.
# Returns {allowed (1|0), state code}.
_STEP = """
local key = KEYS[1]
local op = ARGV[1]
local now = tonumber(ARGV[2])
local success = ARGV[3] == '1'
local failure_rate = tonumber(ARGV[4])
local minimum_calls = tonumber(ARGV[5])
local window_seconds = tonumber(ARGV[6])
local open_seconds = tonumber(ARGV[7])
local trial_timeout = tonumber(ARGV[8])
local ttl_ms = ARGV[9]
local LIMIT = 9007199254740992

local phase = redis.call('HGET', key, 'state')
if phase ~= 'open' and phase ~= 'half_open' then phase = 'closed' end
local codes = {closed = 0, open = 1, half_open = 2}

if op == 'allow' and phase == 'closed' then return {1, 0} end
if phase == 'open' and op == 'record' then return {0, 1} end
if not (now and now > -LIMIT and now < LIMIT) then return {0, codes[phase]} end

local function valid(t) return t ~= nil and t > -LIMIT and t < LIMIT end

local opened_at, trial_started_at = nil, nil
local buckets = {}
local raw = redis.call('HGETALL', key)
for i = 1, #raw, 2 do
  local field, value = raw[i], raw[i + 1]
  if field == 'opened_at' then
    opened_at = tonumber(value)
  elseif field == 'trial_started_at' then
    trial_started_at = tonumber(value)
  else
    local kind, second = string.match(field, '^([sf]):(%-?%d+)$')
    local count = string.match(value, '^%d+$') and tonumber(value)
    if kind and count then
      second = tonumber(second)
      local pair = buckets[second]
      if not pair then pair = {0, 0}; buckets[second] = pair end
      if kind == 's' then pair[1] = pair[1] + count else pair[2] = pair[2] + count end
    end
  end
end

local function save(p, o, t, window)
  redis.call('DEL', key)
  if p == 'closed' and next(window) == nil then return end
  redis.call('HSET', key, 'state', p)
  if o then redis.call('HSET', key, 'opened_at', string.format('%.17g', o)) end
  if t then redis.call('HSET', key, 'trial_started_at', string.format('%.17g', t)) end
  for second, pair in pairs(window) do
    if pair[1] > 0 then redis.call('HSET', key, string.format('s:%d', second), string.format('%d', pair[1])) end
    if pair[2] > 0 then redis.call('HSET', key, string.format('f:%d', second), string.format('%d', pair[2])) end
  end
  redis.call('PEXPIRE', key, ttl_ms)
end

if op == 'allow' then
  if phase == 'open' then
    local opened = opened_at
    if opened == nil or not (opened > -LIMIT and opened <= now) then opened = now end
    if now >= opened + open_seconds then
      save('half_open', opened, now, {})
      return {1, 2}
    end
    if opened ~= opened_at or trial_started_at ~= nil or next(buckets) ~= nil then
      save('open', opened, nil, {})
    end
    return {0, 1}
  end
  local trial = trial_started_at
  if not valid(trial) then save('half_open', opened_at, now, {}); return {1, 2} end
  if trial > now then save('half_open', opened_at, now, {}); return {0, 2} end
  if now >= trial + trial_timeout then save('half_open', opened_at, now, {}); return {1, 2} end
  return {0, 2}
end

if phase == 'half_open' then
  if success then save('closed', nil, nil, {}); return {0, 0} end
  save('open', now, nil, {})
  return {0, 1}
end

local now_second = math.floor(now)
local oldest = now_second - window_seconds
local counts = {}
counts[now_second] = {0, 0}
for second, pair in pairs(buckets) do
  if second > oldest then
    local s = math.min(second, now_second)
    local c = counts[s]
    if not c then c = {0, 0}; counts[s] = c end
    c[1] = c[1] + pair[1]
    c[2] = c[2] + pair[2]
  end
end
if success then counts[now_second][1] = counts[now_second][1] + 1
else counts[now_second][2] = counts[now_second][2] + 1 end
local calls, failures = 0, 0
for _, c in pairs(counts) do
  calls = calls + c[1] + c[2]
  failures = failures + c[2]
end
if calls >= minimum_calls and failures / calls >= failure_rate then
  save('open', now, nil, {})
  return {0, 1}
end
save('closed', nil, nil, counts)
return {0, 0}
"""


@attrs.define
class Breaker:
    """One breaker (``name``: the PMS and hotel it guards), shared by every process through Redis.

    ``redis=None`` keeps the state in process (the embedded default). ``timeout`` bounds one
    Redis step; ``retry_after`` is how long to stay in process after Redis failed before asking
    it again. ``allow``, ``record`` and ``call`` never raise because of Redis. Build one per
    name per process: the in-process fallback state lives in the instance.
    """

    name: str
    clock: Clock
    redis: aioredis.Redis | None = None
    policy: BreakerPolicy = attrs.field(factory=BreakerPolicy)
    gauge: Gauge | None = None
    ttl: float = 86_400.0
    timeout: float = 1.0
    retry_after: float = 5.0
    is_failure: Callable[[BaseException], bool] = counts_as_failure
    _local: BreakerState = attrs.field(factory=BreakerState, init=False)
    _down_since: float | None = attrs.field(default=None, init=False)
    _code: int = attrs.field(default=0, init=False)
    _published: int | None = attrs.field(default=None, init=False)
    _script: AsyncScript | None = attrs.field(default=None, init=False)

    @property
    def key(self) -> str:
        """Where the shared state lives in Redis."""
        return f"agente:breaker:{self.name}"

    @property
    def degraded(self) -> bool:
        """True while Redis is configured but unreachable, and the state is in process."""
        return self._down_since is not None

    def state_code(self) -> int:
        """The state this process saw last: 0 closed, 1 open, 2 half-open (the gauge's value)."""
        return self._code

    async def allow(self) -> bool:
        """May one PMS call go through now? True makes the caller responsible for ``record``."""
        return await self._step("allow", success=False)

    async def record(self, success: bool) -> None:
        """Report the outcome of a call that ``allow`` let through."""
        await self._step("record", success=success)

    async def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        """Run ``fn()`` through the breaker.

        Raises ``Transient("circuit open …")`` without calling ``fn`` when refused. Exceptions
        from ``fn`` propagate after being recorded: a failure when ``is_failure`` says so, a
        success otherwise. A cancelled call records nothing; if it was the half-open trial, the
        trial times out after ``trial_timeout_seconds``.
        """
        if not await self.allow():
            raise Transient(
                f"circuit open: calls to {self.name} are paused after repeated failures"
            )
        try:
            result = await fn()
        except Exception as exc:
            await self.record(not self.is_failure(exc))
            raise
        await self.record(True)
        return result

    async def current(self) -> BreakerState:
        """The state as stored (in Redis, or in process while Redis is down or not configured)."""
        if self.redis is not None and self._use_redis(self.clock.now().timestamp()):
            try:
                async with asyncio.timeout(self.timeout):
                    fields: Any = await self.redis.hgetall(self.key)
            except _REDIS_FAILURES as exc:
                self._failed(exc, self.clock.now().timestamp())
            else:
                self._recovered()
                return BreakerState.from_hash(fields if isinstance(fields, Mapping) else {})
        return self._local

    async def _step(self, op: Literal["allow", "record"], *, success: bool) -> bool:
        now = self.clock.now().timestamp()
        shared = await self._shared(op, now, success) if self._use_redis(now) else None
        if shared is not None:
            allowed, code = shared
        elif op == "allow":
            self._local, allowed = allow(self._local, self.policy, now=now)
            code = state_code(self._local)
        else:
            self._local = record(self._local, self.policy, now=now, success=success)
            allowed, code = False, state_code(self._local)
        self._publish(code)
        return allowed

    async def _shared(self, op: str, now: float, success: bool) -> tuple[bool, int] | None:
        if self.redis is None:
            return None
        if self._script is None or self._script.registered_client is not self.redis:
            self._script = self.redis.register_script(_STEP)
        p = self.policy
        ttl = max(self.ttl, p.window_seconds, p.open_seconds, p.trial_timeout_seconds)
        args = [op, repr(now), "1" if success else "0", repr(float(p.failure_rate))]
        args += [str(p.minimum_calls), str(p.window_seconds), repr(float(p.open_seconds))]
        args += [repr(float(p.trial_timeout_seconds)), str(max(1, int(ttl * 1000)))]
        try:
            async with asyncio.timeout(self.timeout):
                result: Any = await self._script(keys=[self.key], args=args)
            allowed, code = int(result[0]), int(result[1])
        except (*_REDIS_FAILURES, TypeError, ValueError, IndexError) as exc:
            self._failed(exc, now)
            return None
        self._recovered()
        return allowed == 1, code

    def _use_redis(self, now: float) -> bool:
        if self.redis is None:
            return False
        down = self._down_since
        return down is None or not (down <= now < down + self.retry_after)

    def _failed(self, exc: BaseException, now: float) -> None:
        if self._down_since is None:
            log.warning(
                "breaker_redis_unreachable_in_process", breaker=self.name, error=type(exc).__name__
            )
        self._down_since = now

    def _recovered(self) -> None:
        if self._down_since is not None:
            log.info("breaker_redis_back", breaker=self.name)
            self._down_since = None

    def _publish(self, code: int) -> None:
        self._code = code
        if code == self._published:
            return
        if self._published is not None:
            log.info("breaker_state_changed", breaker=self.name, state=_PHASES[code])
        self._published = code
        if self.gauge is not None:
            self.gauge.labels(name=self.name).set(code)


_PHASES: dict[int, Phase] = {0: "closed", 1: "open", 2: "half_open"}
