"""Test helpers shipped with Agente, for our suite and for plugin authors.

``FrozenClock`` (time as a port), ``FakeChannel`` (records what is sent; fails on demand),
``MemoryPluginState`` and the contract suites every implementation of a port must pass:
``store_contract`` and ``plugin_state_contract`` (coroutines taking a fresh instance), and the
PMS conformance kit (``run_checks``, ``conformance_tests``; docs/plugins/writing-a-pms-plugin.md).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs

from agente.errors import ChannelError, PermanentChannelError
from agente.pms_kit import (
    CHECKS,
    CheckResult,
    conformance_tests,
    occupancies,
    offer_problems,
    run_checks,
    stays,
)

if TYPE_CHECKING:
    from agente.domain import OutboundMessage
    from agente.ports import PluginState, Store
    from agente.worker import Worker

__all__ = [
    "CHECKS",
    "CheckResult",
    "FakeChannel",
    "FrozenClock",
    "MemoryPluginState",
    "conformance_tests",
    "drain",
    "occupancies",
    "offer_problems",
    "plugin_state_contract",
    "run_checks",
    "stays",
    "store_contract",
]


@attrs.define
class FrozenClock:
    """A clock that moves only when told to."""

    current: dt.datetime = dt.datetime(2026, 11, 22, 15, 0, tzinfo=dt.UTC)

    def now(self) -> dt.datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += dt.timedelta(seconds=seconds)

    def monotonic(self) -> float:
        return self.current.timestamp()


@attrs.define
class FakeChannel:
    """A channel that keeps what it sends. ``fail_next`` failures come first, then successes."""

    name: str = "webchat"
    sent: list[OutboundMessage] = attrs.field(factory=list)
    fail_next: int = 0
    permanent: bool = False
    failures: int = 0

    async def send(self, message: OutboundMessage) -> str:
        if self.fail_next > 0:
            self.fail_next -= 1
            self.failures += 1
            error = PermanentChannelError if self.permanent else ChannelError
            raise error("injected failure")
        self.sent.append(message)
        return f"fake-{len(self.sent)}"


@attrs.define
class MemoryPluginState:
    """``PluginState`` in a dict; yields to the loop between read and write like a real store."""

    _docs: dict[tuple[str, str], tuple[bytes, int]] = attrs.field(factory=dict)

    async def get(self, namespace: str, key: str) -> tuple[bytes | None, int]:
        await asyncio.sleep(0)
        doc = self._docs.get((namespace, key))
        return (None, 0) if doc is None else doc

    async def put(self, namespace: str, key: str, value: bytes, *, expected_version: int) -> bool:
        await asyncio.sleep(0)
        current = self._docs.get((namespace, key), (b"", 0))[1]
        if current != expected_version:
            return False
        self._docs[(namespace, key)] = (value, current + 1)
        return True

    async def keys(self, namespace: str, prefix: str = "") -> list[str]:
        return sorted(k for n, k in self._docs if n == namespace and k.startswith(prefix))


async def store_contract(store: Store, *, advance: Callable[[float], None] | None = None) -> None:
    """What every ``Store`` must do. ``advance`` moves its clock; without it, real sleeps."""

    async def wait(seconds: float) -> None:
        if advance is not None:
            advance(seconds)
        else:
            await asyncio.sleep(seconds)

    key = "agente:contract:a"
    await store.delete(key)
    assert await store.get(key) is None
    await store.set(key, b"one", ttl=60)
    assert await store.get(key) == b"one"
    await store.set(key, b"two", ttl=60)
    assert await store.get(key) == b"two"
    assert await store.set_nx(key, b"three", ttl=60) is False
    assert await store.get(key) == b"two"
    await store.delete(key)
    assert await store.set_nx(key, b"four", ttl=60) is True
    assert await store.get(key) == b"four"
    await store.delete(key)
    await store.delete(key)  # deleting twice is fine

    counter = "agente:contract:counter"
    await store.delete(counter)
    results = await asyncio.gather(*(store.incr(counter, ttl=60) for _ in range(25)))
    assert sorted(results) == list(range(1, 26)), "incr must be atomic"
    await store.delete(counter)

    short = "agente:contract:short"
    await store.set(short, b"x", ttl=0.2)
    assert await store.set_nx(short, b"y", ttl=0.2) is False
    await wait(0.35)
    assert await store.get(short) is None, "values expire after their TTL"
    assert await store.set_nx(short, b"y", ttl=0.2) is True
    await store.incr("agente:contract:ttl", ttl=0.2)
    await wait(0.35)
    assert await store.incr("agente:contract:ttl", ttl=0.2) == 1, "counters expire too"
    await store.ping()


async def plugin_state_contract(state: PluginState) -> None:
    """What every ``PluginState`` must do, including refusing a stale write."""
    ns = "contract"
    assert await state.get(ns, "doc") == (None, 0)
    assert await state.put(ns, "doc", b"v1", expected_version=0) is True
    assert await state.put(ns, "doc", b"again", expected_version=0) is False
    assert await state.get(ns, "doc") == (b"v1", 1)
    assert await state.put(ns, "doc", b"v2", expected_version=1) is True
    assert await state.put(ns, "doc", b"stale", expected_version=1) is False
    assert await state.get(ns, "doc") == (b"v2", 2)
    await state.put(ns, "doc:b", b"x", expected_version=0)
    await state.put("other", "doc:c", b"x", expected_version=0)
    assert await state.keys(ns, "doc") == ["doc", "doc:b"]
    assert await state.keys(ns, "doc:") == ["doc:b"]
    assert await state.keys(ns, "50%_") == []

    results = await asyncio.gather(
        *(state.put(ns, "race", str(i).encode(), expected_version=0) for i in range(8))
    )
    assert results.count(True) == 1, "exactly one of concurrent first writes wins"


async def drain(worker: Worker, rounds: int = 40, idle_passes: int = 2) -> None:
    """Let ``worker`` (``Deps.worker()``) handle the inbox and send the outbox until it has
    found nothing to do ``idle_passes`` times in a row (a handled message may queue replies,
    and a sent reply nothing more), or ``rounds`` passes."""
    idle = 0
    for _ in range(rounds):
        done = await worker.run_inbox_once() + await worker.run_outbox_once()
        idle = idle + 1 if not done else 0
        if idle >= idle_passes:
            return
