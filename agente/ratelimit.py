"""An exact rate limiter (GCRA): a pure core, and one atomic Redis step shared by every worker.

Built for the admin API: 60 requests a minute per API key by default (``DEFAULT_POLICY``).
Litestar's own limiter is not enough for us: its memory store counts per worker, and its Redis
store reads then writes, so concurrent requests race past the limit (in our load test, 7 or 8
got through a limit of 5).

**Core.** ``gcra`` is the generic cell rate algorithm over one number per key, the *theoretical
arrival time* (TAT): the instant at which the key's budget would be whole again. A policy of
``limit`` requests per ``period_seconds`` spaces requests by the *interval* T = period / limit,
and ``burst`` (default ``limit``) sets the *tolerance* tau = T * burst. A request at ``now`` is
allowed when ``max(tat, now) + T <= now + tau``, and then the TAT becomes ``max(tat, now) + T``;
a refused request leaves it alone. So a fresh key takes exactly ``burst`` requests at once, then
one every T, and its budget refills at one request per T while it is idle. GCRA needs no
counters, no buckets and no timer: one compare and one write.

What it guarantees, as long as the clock does not go back: among the allowed requests, any
half-open window of length W holds at most ``burst + ceil(W / T) - 1``. For W = ``period_seconds``
that is ``limit + burst - 1``: with the default burst, up to ``2 * limit - 1`` (a full budget
spent at once, then the refill over the following period; a token bucket behaves the same).
``burst=1`` makes it a strict "at most ``limit`` in any period" with requests at least T apart.
Both bounds are tight, and ``tests/unit/test_ratelimit.py`` checks them with hypothesis.

**Units.** Instants are counted in units of 2**-20 s (about a microsecond), as integers: any
``now`` is rounded to the nearest unit, T is rounded *up* to a whole unit (so the rate is never
above ``limit / period``; for 60 a minute T is exactly 1 s), and every sum stays an integer below
2**53, exact both in Python and in Redis's Lua (whose only numbers are doubles). Powers of two
make the seconds <-> units conversions exact, so a TAT given back in seconds goes round without
loss. The bounds above hold for the rounded instants.

**Time.** ``gcra`` is total: it never raises, whatever its arguments. A ``now`` that is not a
number of seconds within about ±6.4e9 of the epoch (NaN, infinities, past the year 2174) carries no
time: the request is refused (retry after T, nothing remaining) and the TAT is left as it is,
because a limiter that cannot tell the time must not let requests through uncounted. A TAT
that is None or not a number (NaN, infinities, beyond ±2**53 units) means a fresh key. A TAT
later than ``now + tau`` can only come from a clock that went back (ours, or another worker's
ran ahead); it is pulled back to ``now + tau``, the key's budget is then empty from ``now``, and
the next request is allowed T later. We do not keep refusing until our clock catches up: a clock
that went back an hour would lock the key out for that hour. The price is that a backward step
of d seconds can let through up to about d / T requests more than the bound above (in general:
``burst + ceil((W + D) / T) - 1``, D being the sum of all backward steps, which the tests check).
Workers whose clocks disagree by d < T raise the steady rate to at most about 1 / (T - d).

**Shell.** ``RateLimiter.hit(key)`` applies the same step to a TAT that lives in Redis at
``agente:ratelimit:<key>`` (an integer number of units, as a string) through one Lua script
(``_STEP``), the line-by-line twin of ``_step``: one round trip, atomic, no retries, so 200
concurrent requests racing for a budget of 60 get exactly 60 (rule 12 of the style guide, and
``tests/integration/test_ratelimit_redis.py``, which also checks that the Lua and the Python
agree on random sequences). Every write sets ``PEXPIRE`` to the tolerance horizon tau plus
``ttl_margin``: by then the TAT has passed, and a missing key means the same as that TAT.

``now`` is the caller's clock, passed to the script as an argument, not Redis ``TIME``. That
keeps the script a pure function of its arguments and the stored value, so tests drive the
shared limiter with a ``FrozenClock`` and the script replicates safely under any Redis version.
The trade-off: the workers' clocks must agree (see **Time**: NTP keeps them within
milliseconds, far below T = 1 s), and the key's expiry runs on Redis's own clock, which is why
``ttl_margin`` adds a little slack to it.

When Redis does not answer, the limiter carries on in process with the same pure step (the
switch is logged once; ``hit`` never raises), asks Redis again every ``redis_retry_after``
seconds, and goes back to the shared TATs as soon as Redis answers. While Redis is down each
process keeps its own budget, so N workers can let through up to N times the limit. The
in-process TATs live in a dict of at most ``max_local_keys`` entries; past that, the key that
was hit least recently is forgotten (and starts afresh if it comes back).
"""

from __future__ import annotations

import asyncio
import functools
import math
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import attrs
import msgspec
import redis.exceptions
import structlog

if TYPE_CHECKING:
    import redis.asyncio as aioredis
    from redis.commands.core import AsyncScript

    from agente.ports import Clock

__all__ = [
    "DEFAULT_POLICY",
    "KEY_PREFIX",
    "UNITS_PER_SECOND",
    "Decision",
    "RateLimiter",
    "RatePolicy",
    "gcra",
]

UNITS_PER_SECOND = 2**20
"""Instants and durations are whole numbers of 2**-20 s (about a microsecond)."""
KEY_PREFIX = "agente:ratelimit:"

_MAX_TAT = 2**53
"""A stored TAT is read only strictly within ±2**53 units, where doubles are exact integers."""
_MAX_NOW = 2**53 - 2**51
"""``now`` must lie strictly within ±(2**53 - 2**51) units (about ±6.4e9 s, year 2174)."""
_MAX_TOLERANCE = 2**50
"""tau is at most 2**50 units (about 34 years), so ``now + tau + T`` stays below 2**53."""
_MAX_COUNT = 10**9
_REDIS_FAILURES = (redis.exceptions.RedisError, OSError, TimeoutError)
_ge = attrs.validators.ge
_le = attrs.validators.le

log = structlog.get_logger("agente.ratelimit")


@functools.lru_cache(maxsize=64)
def _units_of(policy: RatePolicy) -> tuple[int, int]:
    """(T, tau) in units: T = period / limit rounded up, exactly; tau = T * burst."""
    interval = math.ceil(Fraction(policy.period_seconds) * UNITS_PER_SECOND / policy.limit)
    return interval, interval * policy.capacity


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= _MAX_COUNT


class RatePolicy(msgspec.Struct, frozen=True, kw_only=True):
    """``limit`` requests per ``period_seconds``, up to ``burst`` at once.

    Checked on construction and decoding (``ValueError``).
    """

    limit: int
    """Requests per period, 1 to 10**9."""
    period_seconds: float
    """Length of the period, > 0; the interval T = period / limit is rounded up to 2**-20 s."""
    burst: int | None = None
    """Requests a fresh key may make at once (1 to 10**9); None means ``limit``."""

    def __post_init__(self) -> None:
        checks = (
            ("limit", _is_count(self.limit), "an integer from 1 to 10**9"),
            ("period_seconds", 0 < self.period_seconds < math.inf, "a positive number"),
            ("burst", self.burst is None or _is_count(self.burst), "None or 1 to 10**9"),
        )
        for name, ok, expected in checks:
            if not ok:
                raise ValueError(f"{name} must be {expected}, got {getattr(self, name)!r}")
        if _units_of(self)[1] > _MAX_TOLERANCE:
            raise ValueError(
                f"the tolerance period_seconds / limit * burst must be at most 2**30 s, got {self!r}"
            )

    @property
    def capacity(self) -> int:
        """The burst in effect: ``burst``, or ``limit`` when it is None."""
        return self.limit if self.burst is None else self.burst

    @property
    def interval(self) -> float:
        """T, the spacing of requests in the steady state, in seconds (exact, rounded up)."""
        return _units_of(self)[0] / UNITS_PER_SECOND

    @property
    def tolerance(self) -> float:
        """tau = T * burst, in seconds: how far ahead of ``now`` the TAT may run."""
        return _units_of(self)[1] / UNITS_PER_SECOND


DEFAULT_POLICY = RatePolicy(limit=60, period_seconds=60.0)
"""The admin API's default: 60 requests a minute per API key, all 60 at once if need be."""


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to one request, with what the ``Retry-After`` and ``RateLimit-*`` headers need."""

    allowed: bool
    retry_after: int
    """Whole seconds (rounded up) until a request may be allowed: 0 when allowed, else >= 1."""
    remaining: int
    """How many more requests would be allowed right now, after this one."""
    limit: int
    """The policy's ``limit`` (requests per period)."""


def gcra(
    tat: float | None, policy: RatePolicy, now: float
) -> tuple[bool, float | None, float, int]:
    """One request at ``now`` (epoch seconds) against a key whose TAT is ``tat`` (None: fresh).

    Returns ``(allowed, new_tat, retry_after, remaining)``: ``new_tat`` is the TAT to store
    (None only when there is nothing to store), ``retry_after`` the exact seconds until a
    request would be allowed (0.0 when allowed, else > 0), and ``remaining`` how many more
    requests would be allowed at ``now`` (0 when refused). Never raises; see the module
    docstring for a ``now`` that is not a number and for a clock that goes back.
    """
    interval, tolerance = _units_of(policy)
    stored = _tat_units(tat)
    now_units = _now_units(now)
    if now_units is None:
        return False, _seconds(stored), interval / UNITS_PER_SECOND, 0
    allowed, new, retry, remaining = _step(stored, now_units, interval, tolerance)
    return allowed, new / UNITS_PER_SECOND, retry / UNITS_PER_SECOND, remaining


def _step(tat: int | None, now: int, interval: int, tolerance: int) -> tuple[bool, int, int, int]:
    """The step in units: (allowed, TAT to store, retry after, remaining). ``_STEP``'s twin."""
    horizon = now + tolerance
    if tat is not None and tat > horizon:
        tat = horizon  # the clock went back: the budget is empty from now
    base = now if tat is None or tat <= now else tat
    new = base + interval
    if new <= horizon:
        return True, new, 0, (horizon - new) // interval
    return False, base, new - horizon, 0  # refused: base is the TAT (tau >= T)


def _now_units(seconds: float) -> int | None:
    scaled = seconds * UNITS_PER_SECOND  # exact: a power of two
    return round(scaled) if -_MAX_NOW < scaled < _MAX_NOW else None  # False for NaN


def _tat_units(seconds: float | None) -> int | None:
    if seconds is None:
        return None
    scaled = seconds * UNITS_PER_SECOND
    return round(scaled) if -_MAX_TAT < scaled < _MAX_TAT else None


def _seconds(units: int | None) -> float | None:
    return None if units is None else units / UNITS_PER_SECOND


def _decision(allowed: bool, retry_units: int, remaining: int, policy: RatePolicy) -> Decision:
    return Decision(
        allowed=allowed,
        retry_after=-(-retry_units // UNITS_PER_SECOND),  # ceil, in whole seconds
        remaining=remaining,
        limit=policy.limit,
    )


# The twin of _step() above, over the string at KEYS[1]: the TAT as an integer number of units.
# ARGV: now, T, tau (integer units; now within ±(2**53 - 2**51), T >= 1, tau <= 2**50) and the
# TTL in ms. Returns {allowed (1|0), retry after (units), remaining}. Anything stored that is not
# an integer within ±2**53 reads as a fresh key.
_STEP = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local tolerance = tonumber(ARGV[3])
local ttl_ms = ARGV[4]
local MAX_TAT = 9007199254740992
local MAX_NOW = 6755399441055744
if not (now and interval and tolerance and now > -MAX_NOW and now < MAX_NOW
        and interval >= 1 and tolerance >= interval and tolerance <= 1125899906842624) then
  return redis.error_reply('agente ratelimit: bad arguments')
end

local raw = redis.call('GET', key)
local tat = nil
if raw and string.match(raw, '^%-?%d+$') then
  tat = tonumber(raw)
  if not (tat > -MAX_TAT and tat < MAX_TAT) then tat = nil end
end

local horizon = now + tolerance
local pulled = false
if tat ~= nil and tat > horizon then tat = horizon; pulled = true end
local base = now
if tat ~= nil and tat > now then base = tat end
local new = base + interval
if new <= horizon then
  redis.call('SET', key, string.format('%d', new), 'PX', ttl_ms)
  -- floor of a double division, yet exact: when the true quotient is k - r / T (r >= 1), it lies
  -- at least 1 / T >= k * 2**-50 below k (as k * T <= tau <= 2**50), far more than half an ulp
  return {1, 0, math.floor((horizon - new) / interval)}
end
if pulled then redis.call('SET', key, string.format('%d', base), 'PX', ttl_ms) end
return {0, new - horizon, 0}
"""


@attrs.define(kw_only=True)
class RateLimiter:
    """Requests per key under one ``policy``, shared by every process through Redis.

    ``redis=None`` keeps the TATs in process (one budget per process). ``timeout`` bounds one
    Redis step; ``redis_retry_after`` is how long to stay in process after Redis failed before
    asking it again; ``ttl_margin`` is added to each key's expiry (tau) to absorb clock
    differences with Redis. Those are checked on construction (``ValueError``, NaN included), so
    ``hit`` never raises. Keys become part of a Redis key name and may
    show up in Redis tooling: pass an API key's id or digest, never the secret itself, and
    prefix the area when one Redis serves several limiters (``admin:<key id>``).
    """

    clock: Clock
    policy: RatePolicy = DEFAULT_POLICY
    redis: aioredis.Redis | None = None
    timeout: float = attrs.field(default=1.0, validator=[_ge(0.001), _le(3600.0)])
    redis_retry_after: float = attrs.field(default=5.0, validator=[_ge(0.0), _le(86400.0)])
    ttl_margin: float = attrs.field(default=1.0, validator=[_ge(0.0), _le(86400.0)])
    max_local_keys: int = attrs.field(default=10_000, validator=_ge(1))
    _local: dict[str, int] = attrs.field(factory=dict, init=False)
    _down_since: float | None = attrs.field(default=None, init=False)
    _script: AsyncScript | None = attrs.field(default=None, init=False)

    @staticmethod
    def redis_key(key: str) -> str:
        """Where ``key``'s TAT lives in Redis."""
        return f"{KEY_PREFIX}{key}"

    @property
    def degraded(self) -> bool:
        """True while Redis is configured but unreachable, and the TATs are in process."""
        return self._down_since is not None

    async def hit(self, key: str) -> Decision:
        """Count one request for ``key`` now, and say whether it may go through."""
        now = self.clock.now().timestamp()
        now_units = _now_units(now)
        if now_units is None:  # no time to count with: refused, as gcra does; nothing stored
            return _decision(False, _units_of(self.policy)[0], 0, self.policy)
        if self._use_redis(now):
            shared = await self._shared(key, now_units, now)
            if shared is not None:
                return shared
        return self._in_process(key, now_units)

    def _in_process(self, key: str, now_units: int) -> Decision:
        interval, tolerance = _units_of(self.policy)
        stored = self._local.pop(key, None)
        allowed, new, retry, remaining = _step(stored, now_units, interval, tolerance)
        self._local[key] = new  # the most recently hit key goes last
        while len(self._local) > self.max_local_keys:
            del self._local[next(iter(self._local))]  # forget the least recently hit key
        return _decision(allowed, retry, remaining, self.policy)

    async def _shared(self, key: str, now_units: int, now: float) -> Decision | None:
        if self.redis is None:
            return None
        if self._script is None or self._script.registered_client is not self.redis:
            self._script = self.redis.register_script(_STEP)
        interval, tolerance = _units_of(self.policy)
        ttl_ms = -(-tolerance * 1000 // UNITS_PER_SECOND) + math.ceil(self.ttl_margin * 1000)
        args = [str(now_units), str(interval), str(tolerance), str(ttl_ms)]
        try:
            async with asyncio.timeout(self.timeout):
                result: Any = await self._script(keys=[self.redis_key(key)], args=args)
            allowed, retry, remaining = int(result[0]), int(result[1]), int(result[2])
        except (*_REDIS_FAILURES, TypeError, ValueError, IndexError) as exc:
            self._failed(exc, now)
            return None
        self._recovered()
        return _decision(allowed == 1, retry, remaining, self.policy)

    def _use_redis(self, now: float) -> bool:
        if self.redis is None:
            return False
        down = self._down_since
        return down is None or not (down <= now < down + self.redis_retry_after)

    def _failed(self, exc: BaseException, now: float) -> None:
        if self._down_since is None:
            log.warning("ratelimit_redis_unreachable_in_process", error=type(exc).__name__)
        self._down_since = now

    def _recovered(self) -> None:
        if self._down_since is not None:
            log.info("ratelimit_redis_back")
            self._down_since = None
