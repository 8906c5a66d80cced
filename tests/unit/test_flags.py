"""Feature flags: parsing, merging, and the service's cache and fallback, without Redis."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, cast

import attrs
import pytest
import redis.exceptions
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from agente.flags import DEFAULT_FLAGS, FLAGS_KEY, FlagService, FlagSnapshot, merge, parse_flag
from agente.metrics import Metrics
from agente.testing import FrozenClock

TRUE_WORDS = ["1", "true", "on", "yes"]
FALSE_WORDS = ["0", "false", "off", "no", ""]
INTERACTIVE = "features.interactive_messages"
PHONES = "tenancy.phone_normalization.advanced"


def any_case(word: str) -> st.SearchStrategy[str]:
    return st.tuples(*[st.sampled_from([c.lower(), c.upper()]) for c in word]).map("".join)


padding = st.sampled_from(["", " ", "\t", "\n", " \r\n"])
true_text = st.builds(
    lambda a, w, b: a + w + b, padding, st.sampled_from(TRUE_WORDS).flatmap(any_case), padding
)
false_text = st.builds(
    lambda a, w, b: a + w + b, padding, st.sampled_from(FALSE_WORDS).flatmap(any_case), padding
)


# --------------------------------------------------------------------------- parse_flag


@pytest.mark.parametrize("raw", ["1", "true", "TRUE", "On", "yes", b"YES", b" on\n"])
@pytest.mark.parametrize("default", [True, False])
def test_true_words(raw: str | bytes, default: bool) -> None:
    assert parse_flag(raw, default) is True


@pytest.mark.parametrize("raw", ["0", "false", "Off", "NO", "", b"", b"0", "  "])
@pytest.mark.parametrize("default", [True, False])
def test_false_words(raw: str | bytes, default: bool) -> None:
    assert parse_flag(raw, default) is False


@pytest.mark.parametrize("raw", [None, "2", "enabled", "y", "t", "tru", b"\xff\xfe", "1 1", "o n"])
@pytest.mark.parametrize("default", [True, False])
def test_anything_else_keeps_the_default(raw: str | bytes | None, default: bool) -> None:
    assert parse_flag(raw, default) is default


@given(text=true_text, default=st.booleans(), as_bytes=st.booleans())
def test_true_words_in_any_case_and_padding(text: str, default: bool, as_bytes: bool) -> None:
    assert parse_flag(text.encode() if as_bytes else text, default) is True


@given(text=false_text, default=st.booleans(), as_bytes=st.booleans())
def test_false_words_in_any_case_and_padding(text: str, default: bool, as_bytes: bool) -> None:
    assert parse_flag(text.encode() if as_bytes else text, default) is False


@given(text=st.text(), default=st.booleans())
def test_parse_flag_is_total_on_text_and_reads_bytes_as_utf8(text: str, default: bool) -> None:
    result = parse_flag(text, default)
    assert result is parse_flag(text.encode("utf-8"), default)
    word = text.strip().lower()
    if word in TRUE_WORDS:
        assert result is True
    elif word in FALSE_WORDS:
        assert result is False
    else:
        assert result is default


@given(raw=st.binary(), default=st.booleans())
def test_parse_flag_is_total_on_bytes(raw: bytes, default: bool) -> None:
    assert parse_flag(raw, default) in (True, False)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        assert parse_flag(raw, default) is default
    else:
        assert parse_flag(raw, default) is parse_flag(text, default)


# --------------------------------------------------------------------------- merge

names = st.one_of(st.sampled_from([INTERACTIVE, PHONES, "features.other"]), st.text(max_size=12))
raw_values = st.one_of(true_text, false_text, st.text(max_size=6))
raw_hashes = st.one_of(
    st.dictionaries(names, raw_values),
    st.dictionaries(names.map(str.encode), raw_values.map(str.encode)),
    st.dictionaries(st.binary(max_size=6), st.binary(max_size=6)),
)


@given(defaults=st.dictionaries(names, st.booleans()), raw=raw_hashes)
def test_merge_keeps_every_default_and_reports_every_readable_name(
    defaults: dict[str, bool], raw: dict[Any, Any]
) -> None:
    snapshot = merge(defaults, raw)
    assert defaults.keys() <= snapshot.values.keys()
    assert snapshot.values.keys() == snapshot.sources.keys()
    assert set(snapshot.sources.values()) <= {"redis", "default"}
    readable = set()
    for key in raw:
        with contextlib.suppress(UnicodeDecodeError):
            readable.add(key.decode() if isinstance(key, bytes) else key)
    assert snapshot.values.keys() == defaults.keys() | readable
    for name, value in snapshot.values.items():
        if snapshot.sources[name] == "default":
            assert value is defaults.get(name, False)
    for name, default in defaults.items():
        if name not in readable:
            assert (snapshot.values[name], snapshot.sources[name]) == (default, "default")


def test_merge_examples() -> None:
    snapshot = merge(
        DEFAULT_FLAGS,
        {
            INTERACTIVE.encode(): b"1",
            PHONES.encode(): b"maybe",  # a typo: the default stands, and says so
            b"features.new": b"yes",
            b"features.broken": b"?",
            b"\xff": b"1",  # a name nobody can ask for
        },
    )
    assert snapshot == FlagSnapshot(
        values={INTERACTIVE: True, PHONES: False, "features.broken": False, "features.new": True},
        sources={
            INTERACTIVE: "redis",
            PHONES: "default",
            "features.broken": "default",
            "features.new": "redis",
        },
    )
    assert list(snapshot.values) == [INTERACTIVE, PHONES, "features.broken", "features.new"]


def test_merge_accepts_decoded_responses_and_ignores_odd_types() -> None:
    snapshot = merge({"a": False}, {"a": "on", "b": None, 3: "1", "c": 1})
    assert snapshot.values == {"a": True, "b": False, "c": False}
    assert snapshot.sources == {"a": "redis", "b": "default", "c": "default"}


def test_snapshot_enabled_is_false_for_unknown_names() -> None:
    snapshot = merge(DEFAULT_FLAGS, {INTERACTIVE: "1"})
    assert snapshot.enabled(INTERACTIVE) is True
    assert snapshot.enabled(PHONES) is False
    assert snapshot.enabled("features.interactive_mesages") is False


def test_defaults_are_read_only() -> None:
    assert dict(DEFAULT_FLAGS) == {INTERACTIVE: False, PHONES: False}
    with pytest.raises(TypeError):
        DEFAULT_FLAGS[INTERACTIVE] = True  # type: ignore[index]


# --------------------------------------------------------------------------- the service


@attrs.define
class FakeRedis:
    """The one command the service uses; counts calls, and fails or hangs on demand."""

    hash: dict[bytes, bytes] = attrs.field(factory=dict)
    calls: int = 0
    error: Exception | None = None
    hang: bool = False

    async def hgetall(self, name: str) -> dict[bytes, bytes]:
        assert name == FLAGS_KEY
        self.calls += 1
        await asyncio.sleep(0)
        if self.hang:
            await asyncio.Event().wait()
        if self.error is not None:
            raise self.error
        return dict(self.hash)

    def hset(self, name: str, value: str) -> None:
        self.hash[name.encode()] = value.encode()


def service(fake: FakeRedis | None, clock: FrozenClock, **kwargs: Any) -> FlagService:
    return FlagService(redis=cast("Any", fake), clock=clock, **kwargs)


async def test_without_redis_the_defaults_and_overrides() -> None:
    clock = FrozenClock()
    flags = FlagService(redis=None, clock=clock, overrides={PHONES: True})
    snapshot = await flags.snapshot()
    assert snapshot.values == {INTERACTIVE: False, PHONES: True}
    assert snapshot.sources == {INTERACTIVE: "default", PHONES: "override"}
    flags.override(INTERACTIVE, True)  # effective at once, cache or not
    assert (await flags.snapshot()).sources[INTERACTIVE] == "override"
    assert (await flags.snapshot()).enabled(INTERACTIVE) is True
    flags.override(INTERACTIVE, None)
    assert (await flags.snapshot()).sources[INTERACTIVE] == "default"
    assert flags.degraded is False


async def test_cache_holds_for_the_ttl_then_reads_again(clock: FrozenClock) -> None:
    fake = FakeRedis()
    flags = service(fake, clock)
    assert (await flags.snapshot()).enabled(INTERACTIVE) is False
    fake.hset(INTERACTIVE, "1")
    clock.advance(4.9)
    assert (await flags.snapshot()).enabled(INTERACTIVE) is False  # still the cached one
    assert fake.calls == 1
    clock.advance(0.1)
    snapshot = await flags.snapshot()
    assert snapshot.enabled(INTERACTIVE) is True
    assert snapshot.sources[INTERACTIVE] == "redis"
    assert fake.calls == 2


async def test_ttl_is_a_constructor_argument(clock: FrozenClock) -> None:
    fake = FakeRedis()
    flags = service(fake, clock, ttl=30)
    await flags.snapshot()
    fake.hset(INTERACTIVE, "on")
    clock.advance(29)
    assert (await flags.snapshot()).enabled(INTERACTIVE) is False
    clock.advance(1)
    assert (await flags.snapshot()).enabled(INTERACTIVE) is True


async def test_ttl_zero_reads_every_time(clock: FrozenClock) -> None:
    fake = FakeRedis()
    flags = service(fake, clock, ttl=0)
    for _ in range(3):
        await flags.snapshot()
    assert fake.calls == 3


@pytest.mark.parametrize("ttl", [-1, float("nan")])
def test_negative_ttl_is_refused(clock: FrozenClock, ttl: float) -> None:
    with pytest.raises(ValueError, match="ttl"):
        FlagService(redis=None, clock=clock, ttl=ttl)


async def test_a_clock_that_goes_back_expires_the_cache(clock: FrozenClock) -> None:
    fake = FakeRedis()
    flags = service(fake, clock)
    await flags.snapshot()
    clock.advance(-60)
    await flags.snapshot()
    assert fake.calls == 2


async def test_concurrent_callers_share_one_read(clock: FrozenClock) -> None:
    fake = FakeRedis({INTERACTIVE.encode(): b"1"})
    flags = service(fake, clock)
    snapshots = await asyncio.gather(*(flags.snapshot() for _ in range(20)))
    assert fake.calls == 1
    assert all(s.enabled(INTERACTIVE) for s in snapshots)


@pytest.mark.parametrize(
    "error",
    [
        redis.exceptions.ConnectionError("refused"),
        redis.exceptions.TimeoutError("slow"),
        redis.exceptions.ResponseError("WRONGTYPE Operation against a key"),
        ConnectionRefusedError(111, "refused"),
    ],
)
async def test_redis_failing_gives_the_defaults_and_never_raises(
    clock: FrozenClock, error: Exception
) -> None:
    fake = FakeRedis({INTERACTIVE.encode(): b"1"})
    flags = service(fake, clock, overrides={PHONES: True})
    assert (await flags.snapshot()).enabled(INTERACTIVE) is True
    fake.error = error
    clock.advance(5)
    with capture_logs() as logs:
        snapshot = await flags.snapshot()
        # the fallback is cached like a good read: one attempt per TTL, not per message
        await flags.snapshot()
        assert fake.calls == 2
        clock.advance(5)
        await flags.snapshot()
        assert fake.calls == 3
    # the defaults, not the last good snapshot; overrides still apply
    assert snapshot.values == {INTERACTIVE: False, PHONES: True}
    assert snapshot.sources == {INTERACTIVE: "default", PHONES: "override"}
    assert flags.degraded is True
    assert [e["event"] for e in logs] == ["feature_flags_unreachable_using_defaults"]  # once

    fake.error = None
    clock.advance(5)
    with capture_logs() as logs:
        assert (await flags.snapshot()).enabled(INTERACTIVE) is True
    assert flags.degraded is False
    assert [e["event"] for e in logs] == ["feature_flags_back"]


async def test_a_hanging_redis_costs_at_most_the_timeout(clock: FrozenClock) -> None:
    fake = FakeRedis({INTERACTIVE.encode(): b"1"}, hang=True)
    flags = service(fake, clock, timeout=0.05)
    async with asyncio.timeout(2):
        snapshot = await flags.snapshot()
    assert snapshot.values == dict(DEFAULT_FLAGS)
    assert flags.degraded is True


async def test_gauge_follows_each_refresh(clock: FrozenClock) -> None:
    metrics = Metrics()
    fake = FakeRedis({INTERACTIVE.encode(): b"1", b"features.extra": b"1"})
    flags = service(fake, clock, registry=metrics.registry)

    def gauge(name: str) -> float | None:
        return metrics.registry.get_sample_value("feature_flag_enabled", {"flag": name})

    await flags.snapshot()
    assert (gauge(INTERACTIVE), gauge(PHONES), gauge("features.extra")) == (1.0, 0.0, 1.0)
    del fake.hash[b"features.extra"]
    fake.hash[INTERACTIVE.encode()] = b"0"
    clock.advance(5)
    await flags.snapshot()
    assert (gauge(INTERACTIVE), gauge(PHONES)) == (0.0, 0.0)
    assert gauge("features.extra") is None  # a flag that went away leaves no stale series


def test_one_service_per_registry() -> None:
    registry = CollectorRegistry()
    FlagService(redis=None, clock=FrozenClock(), registry=registry)
    with pytest.raises(ValueError, match="feature_flag_enabled"):
        FlagService(redis=None, clock=FrozenClock(), registry=registry)
