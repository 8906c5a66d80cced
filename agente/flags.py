"""Feature flags: defaults in code, overrides in the Redis hash ``feature_flags``.

Operators turn a flag on with ``HSET feature_flags features.interactive_messages 1`` and back to
its default with ``HDEL feature_flags features.interactive_messages``; every process sees the
change within ``ttl`` seconds (5 by default), because each keeps the last snapshot that long
instead of asking Redis on every message.

Values ``1``, ``true``, ``on``, ``yes`` (any case, surrounding whitespace ignored) are true;
``0``, ``false``, ``off``, ``no`` and the empty string are false; anything else is a typo and the
flag keeps its default. Flags in the hash that the code does not know are reported as well (a
flag added by an operator before the code that reads it ships), defaulting to false.

**When Redis does not answer** (refused, timed out, wrong type at the key) the service serves the
code defaults, not the last snapshot it read, and never raises. Defaults are the values chosen as
safe to run with; and with several worker processes, "the last snapshot" differs per process by
when each last read it, while the defaults are the same everywhere, so a guest does not see a
feature flicker depending on which worker took the message. The fallback is cached for ``ttl``
like a good snapshot, so a dead Redis costs at most one attempt per ``ttl`` per process, not one
per message; the switch is logged once, and so is the recovery.

``overrides`` (constructor argument, or ``override()``) win over Redis and the defaults; they are
for tests and the CLI, and they are what the embedded default (``redis=None``) runs on.

Metric: ``feature_flag_enabled{flag}`` (1 or 0), set at every refresh, on the app's registry
(``Metrics.registry``) when one is given.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import attrs
import msgspec
import redis.exceptions
import structlog

if TYPE_CHECKING:
    import redis.asyncio as aioredis
    from prometheus_client import CollectorRegistry, Gauge

    from agente.ports import Clock

__all__ = [
    "DEFAULT_FLAGS",
    "FLAGS_KEY",
    "FlagService",
    "FlagSnapshot",
    "FlagSource",
    "merge",
    "parse_flag",
]

FLAGS_KEY = "feature_flags"
"""The Redis hash operators edit. Fixed by the operations manual, hence not namespaced."""

DEFAULT_FLAGS: Mapping[str, bool] = MappingProxyType(
    {
        "features.interactive_messages": False,
        "tenancy.phone_normalization.advanced": False,
    }
)
"""Every flag the code reads, with the value it has when nobody set it (read-only)."""

FlagSource: TypeAlias = Literal["redis", "default", "override"]
"""Where a flag's value came from: the hash, the code default, or an in-process override."""

_TRUE = frozenset({"1", "true", "on", "yes"})
_FALSE = frozenset({"0", "false", "off", "no", ""})
_FAILURES = (redis.exceptions.RedisError, OSError, TimeoutError)

log = structlog.get_logger("agente.flags")


class FlagSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """All flags at one moment: each value and where it came from (same keys in both)."""

    values: dict[str, bool]
    sources: dict[str, FlagSource]

    def enabled(self, name: str) -> bool:
        """The flag's value; a name nobody declared or set is off (a typo must not enable)."""
        return self.values.get(name, False)


def parse_flag(raw: bytes | str | None, default: bool) -> bool:
    """Read one hash value: true/false words, or ``default`` for absent or unrecognised input.

    Total: bytes that are not UTF-8 are unrecognised, not an error.
    """
    recognised = _parse(raw)
    return default if recognised is None else recognised


def _parse(raw: bytes | str | None) -> bool | None:
    if raw is None:
        return None
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
    word = raw.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    return None


def _name(key: bytes | str) -> str | None:
    if isinstance(key, str):
        return key
    try:
        return key.decode("utf-8")
    except UnicodeDecodeError:
        return None


def merge(
    defaults: Mapping[str, bool],
    raw_hash: Mapping[Any, Any],
) -> FlagSnapshot:
    """Combine the code defaults with the hash as ``HGETALL`` returns it (bytes or str).

    Total over any mapping: keys and values of other types are ignored like unreadable ones.

    Every default is in the result. A hash entry whose value is recognised wins (source
    ``redis``); one that is not keeps the default and says so (source ``default``), so a typo in
    the hash shows up as "not taking effect" rather than as a false "redis". Unknown names are
    added, defaulting to false; names that are not UTF-8 cannot be asked for and are dropped.
    Defaults come first, then unknown names sorted, so the output is stable.
    """
    values = dict(defaults)
    sources: dict[str, FlagSource] = dict.fromkeys(defaults, "default")
    extra: dict[str, bool | None] = {}
    for key, raw in raw_hash.items():
        name = _name(key) if isinstance(key, bytes | str) else None
        if name is None:
            continue
        value = _parse(raw) if isinstance(raw, bytes | str) else None
        if name in values:
            if value is not None:
                values[name], sources[name] = value, "redis"
        else:
            extra[name] = value
    for name in sorted(extra):
        value = extra[name]
        values[name] = bool(value)
        sources[name] = "default" if value is None else "redis"
    return FlagSnapshot(values=values, sources=sources)


def _with_overrides(snapshot: FlagSnapshot, overrides: Mapping[str, bool]) -> FlagSnapshot:
    if not overrides:
        return snapshot
    values, sources = dict(snapshot.values), dict(snapshot.sources)
    for name, value in overrides.items():
        values[name], sources[name] = bool(value), "override"
    return FlagSnapshot(values=values, sources=sources)


@attrs.define
class FlagService:
    """Reads flags through a short in-process cache; never raises, whatever Redis does.

    ``redis=None`` is the embedded default (no Redis configured): the defaults plus
    ``overrides``. ``clock`` times the cache (``agente.ports.Clock``); a clock that moves backwards
    expires it. ``timeout`` bounds one read, so a black-holed Redis costs a message at most that
    long. Build one per process and pass ``registry=metrics.registry``: the gauge can be
    registered on a registry only once.
    """

    redis: aioredis.Redis | None
    clock: Clock
    ttl: float = attrs.field(default=5.0, validator=attrs.validators.ge(0))
    timeout: float = 1.0
    defaults: Mapping[str, bool] = DEFAULT_FLAGS
    overrides: dict[str, bool] = attrs.field(factory=dict)
    registry: CollectorRegistry | None = None
    _cached: FlagSnapshot | None = attrs.field(default=None, init=False)
    _read_at: dt.datetime | None = attrs.field(default=None, init=False)
    _degraded: bool = attrs.field(default=False, init=False)
    _lock: asyncio.Lock = attrs.field(factory=asyncio.Lock, init=False)
    _gauge: Gauge | None = attrs.field(default=None, init=False)
    _shown: set[str] = attrs.field(factory=set, init=False)

    def __attrs_post_init__(self) -> None:
        if self.registry is not None:
            from agente.metrics import feature_flag_gauge

            self._gauge = feature_flag_gauge(self.registry)

    @property
    def degraded(self) -> bool:
        """True while the last read of Redis failed and the defaults are being served."""
        return self._degraded

    async def snapshot(self) -> FlagSnapshot:
        """The current flags: cached for ``ttl`` seconds, then read again. Never raises."""
        cached = self._fresh()
        if cached is not None:
            return cached
        async with self._lock:  # one read per expiry, however many messages are waiting
            cached = self._fresh()
            if cached is not None:
                return cached
            snapshot = _with_overrides(await self._read(), self.overrides)
            self._cached, self._read_at = snapshot, self.clock.now()
            self._publish(snapshot)
            return snapshot

    def override(self, name: str, value: bool | None) -> None:
        """Force a flag in this process (``None`` removes the override); effective at once."""
        if value is None:
            self.overrides.pop(name, None)
        else:
            self.overrides[name] = value
        self.invalidate()

    async def set(self, name: str, value: bool) -> None:
        """Turn a flag on or off for every process: ``HSET feature_flags`` (the operations
        manual's own command). Without Redis (the embedded default) it holds in this process."""
        if self.redis is None:
            self.override(name, value)
            return
        async with asyncio.timeout(self.timeout):
            await self.redis.hset(FLAGS_KEY, name, "1" if value else "0")
        self.invalidate()

    def invalidate(self) -> None:
        """Forget the cached snapshot: the next ``snapshot()`` reads again."""
        self._cached = self._read_at = None

    def _fresh(self) -> FlagSnapshot | None:
        if self._cached is None or self._read_at is None:
            return None
        age = (self.clock.now() - self._read_at).total_seconds()
        return self._cached if 0 <= age < self.ttl else None

    async def _read(self) -> FlagSnapshot:
        if self.redis is None:
            return merge(self.defaults, {})
        try:
            async with asyncio.timeout(self.timeout):
                raw: Any = await self.redis.hgetall(FLAGS_KEY)
        except _FAILURES as exc:
            if not self._degraded:
                log.warning("feature_flags_unreachable_using_defaults", error=type(exc).__name__)
            self._degraded = True
            return merge(self.defaults, {})
        if self._degraded:
            log.info("feature_flags_back")
        self._degraded = False
        return merge(self.defaults, raw if isinstance(raw, Mapping) else {})

    def _publish(self, snapshot: FlagSnapshot) -> None:
        if self._gauge is None:
            return
        for name in self._shown - snapshot.values.keys():
            self._gauge.remove(name)
        for name, value in snapshot.values.items():
            self._gauge.labels(name).set(1 if value else 0)
        self._shown = set(snapshot.values)
