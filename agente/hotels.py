"""Hotels (tenants): loaded from a TOML seed file, stored in the database, cached per process.

Seeding inserts hotels the database does not have yet; it never overwrites a hotel edited since
(pass ``overwrite=True`` to force). The directory reloads from the database every ``ttl``
seconds so that an edit made by one process reaches the others without a restart.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
import msgspec
import sqlalchemy as sa

from agente.adapters.sql import hotels as hotels_table
from agente.adapters.sql import insert
from agente.domain import Hotel
from agente.errors import ConfigError

if TYPE_CHECKING:
    from agente.adapters.sql import Database
    from agente.ports import Clock

__all__ = ["HotelDirectory", "demo_hotels_path", "load_hotels_file", "seed_hotels"]


class _HotelsFile(msgspec.Struct, frozen=True, kw_only=True):
    hotels: list[Hotel]


def demo_hotels_path() -> Path:
    """The TOML file of the demo hotel shipped inside the package."""
    return Path(str(resources.files("agente") / "demo" / "hotels.toml"))


def load_hotels_file(path: str | Path | None) -> list[Hotel]:
    """Parse and check a hotels TOML file; errors name ``AGENTE_HOTELS_FILE`` and the field."""
    source = Path(path) if path else demo_hotels_path()
    variable = "AGENTE_HOTELS_FILE"
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise ConfigError(variable, f"cannot read {source}: {exc.strerror}") from None
    try:
        parsed = msgspec.toml.decode(data, type=_HotelsFile)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise ConfigError(variable, f"{source}: {exc}") from None
    seen: set[str] = set()
    for hotel in parsed.hotels:
        if hotel.id in seen:
            raise ConfigError(variable, f"{source}: hotel id {hotel.id!r} appears twice")
        seen.add(hotel.id)
        try:
            ZoneInfo(hotel.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                variable, f"{source}: hotel {hotel.id!r} has unknown time zone {hotel.timezone!r}"
            ) from None
        if hotel.default_language not in hotel.languages:
            raise ConfigError(
                variable, f"{source}: hotel {hotel.id!r} default_language is not in languages"
            )
    return parsed.hotels


async def seed_hotels(
    db: Database, hotels: list[Hotel], clock: Clock, *, overwrite: bool = False
) -> list[str]:
    """Store the hotels; returns the ids written (new ones, or all with ``overwrite``)."""
    now = clock.now()
    written = []
    async with db.begin() as conn:
        for hotel in hotels:
            values = {
                "id": hotel.id,
                "name": hotel.name,
                "config": msgspec.to_builtins(hotel),
                "created_at": now,
                "updated_at": now,
            }
            stmt = insert(hotels_table, db.dialect).values(values)
            if overwrite:
                stmt = stmt.on_conflict_do_update(
                    index_elements=["id"],
                    set_={"name": hotel.name, "config": values["config"], "updated_at": now},
                )
            else:
                stmt = stmt.on_conflict_do_nothing(index_elements=["id"])
            result = await conn.execute(stmt)
            if result.rowcount:
                written.append(hotel.id)
    return written


@attrs.define
class HotelDirectory:
    """Hotels by id and by channel identity, refreshed from the database every ``ttl`` seconds."""

    db: Database
    clock: Clock
    ttl: float = 30.0
    _by_id: dict[str, Hotel] = attrs.field(factory=dict, init=False)
    _loaded_at: dt.datetime | None = attrs.field(default=None, init=False)
    _generation: int = attrs.field(default=0, init=False)
    _last_miss_refresh: float = attrs.field(default=-1e9, init=False)
    _lock: asyncio.Lock = attrs.field(factory=asyncio.Lock, init=False)

    async def refresh(self) -> None:
        """Reload every hotel; callers that queue behind a running reload share its result."""
        generation = self._generation
        async with self._lock:
            if self._generation != generation:
                return
            async with self.db.begin() as conn:
                rows = await conn.execute(sa.select(hotels_table.c.config))
                self._by_id = {h.id: h for h in (msgspec.convert(r.config, Hotel) for r in rows)}
            self._loaded_at = self.clock.now()
            self._generation += 1

    async def _fresh(self) -> dict[str, Hotel]:
        now = self.clock.now()
        if self._loaded_at is None or (now - self._loaded_at).total_seconds() > self.ttl:
            await self.refresh()
        return self._by_id

    async def get(self, hotel_id: str) -> Hotel | None:
        """The hotel, or None. An unknown id reloads at most once a second (it may be new)."""
        hotels = await self._fresh()
        if hotel_id not in hotels and time.monotonic() - self._last_miss_refresh > 1.0:
            self._last_miss_refresh = time.monotonic()
            await self.refresh()
        return self._by_id.get(hotel_id)

    async def by_identity(self, kind: str, value: str) -> Hotel | None:
        """The hotel whose ``channels.<kind>`` is ``value`` (never from what a sender controls:
        the identity is the number or mailbox that received the message)."""
        if not value:
            return None
        for attempt in range(2):
            for hotel in (await self._fresh()).values():
                if getattr(hotel.channels, kind, None) == value:
                    return hotel
            if attempt or time.monotonic() - self._last_miss_refresh <= 1.0:
                return None
            self._last_miss_refresh = time.monotonic()
            await self.refresh()  # a hotel configured a moment ago
        return None

    async def all(self) -> list[Hotel]:
        return sorted((await self._fresh()).values(), key=lambda h: h.id)
