"""In-process ``Store``: the embedded default, and the fallback while Redis is away."""

from __future__ import annotations

import time
from collections.abc import Callable

import attrs

__all__ = ["MemoryStore"]


@attrs.define
class MemoryStore:
    """A dict with expiry. Atomic because the event loop runs one coroutine at a time."""

    monotonic: Callable[[], float] = time.monotonic
    _data: dict[str, tuple[bytes, float]] = attrs.field(factory=dict, init=False)

    def _live(self, key: str) -> tuple[bytes, float] | None:
        item = self._data.get(key)
        if item is None:
            return None
        if item[1] <= self.monotonic():
            del self._data[key]
            return None
        return item

    async def get(self, key: str) -> bytes | None:
        item = self._live(key)
        return None if item is None else item[0]

    async def set(self, key: str, value: bytes, *, ttl: float) -> None:
        self._data[key] = (value, self.monotonic() + ttl)

    async def set_nx(self, key: str, value: bytes, *, ttl: float) -> bool:
        if self._live(key) is not None:
            return False
        self._data[key] = (value, self.monotonic() + ttl)
        return True

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)

    async def incr(self, key: str, *, ttl: float) -> int:
        item = self._live(key)
        if item is None:
            self._data[key] = (b"1", self.monotonic() + ttl)
            return 1
        value = int(item[0]) + 1
        self._data[key] = (str(value).encode(), item[1])
        return value

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._data.clear()
