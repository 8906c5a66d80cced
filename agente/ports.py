"""The ports: small Protocols the core talks to; adapters and plugins satisfy them by shape."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from agente.domain import (
        Booking,
        BookingRequest,
        Hotel,
        Occupancy,
        Offer,
        OutboundMessage,
        Payment,
        PmsCapabilities,
        RoomType,
        Stay,
    )

__all__ = ["Channel", "Clock", "Documents", "HotelLookup", "PluginState", "Pms", "Store"]


@runtime_checkable
class Clock(Protocol):
    """Where every "now" comes from. Tests use ``agente.testing.FrozenClock``."""

    def now(self) -> dt.datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


@runtime_checkable
class Store(Protocol):
    """Fast shared state: caches, flags, rate limits, breaker state, dedupe windows.

    In process by default, Redis in production. Never the only copy of anything: losing it costs
    speed, not data. Keys are namespaced ``agente:<area>:…`` and always carry a TTL.
    """

    async def get(self, key: str) -> bytes | None:
        """The value at ``key``, or None when absent or expired."""
        ...

    async def set(self, key: str, value: bytes, *, ttl: float) -> None:
        """Store ``value`` at ``key`` for ``ttl`` seconds, replacing what was there."""
        ...

    async def set_nx(self, key: str, value: bytes, *, ttl: float) -> bool:
        """Store only if ``key`` is absent; True when this call stored it (atomic)."""
        ...

    async def delete(self, key: str) -> None:
        """Remove ``key``; absent keys are fine."""
        ...

    async def incr(self, key: str, *, ttl: float) -> int:
        """Atomically add one and return the new count; the TTL starts with the first increment."""
        ...

    async def ping(self) -> None:
        """Raise when the store cannot answer (used by readiness)."""
        ...


@runtime_checkable
class PluginState(Protocol):
    """Durable, versioned documents a plugin keeps in Agente's database.

    Optimistic concurrency: ``put`` succeeds only when the stored version is still
    ``expected_version`` (0 for "must not exist yet"), so several processes can share a document.
    """

    async def get(self, namespace: str, key: str) -> tuple[bytes | None, int]:
        """The document and its version; ``(None, 0)`` when absent."""
        ...

    async def put(self, namespace: str, key: str, value: bytes, *, expected_version: int) -> bool:
        """Write if the version still matches; True on success, False on a lost race."""
        ...

    async def keys(self, namespace: str, prefix: str = "") -> list[str]:
        """Keys in ``namespace`` starting with ``prefix``, sorted."""
        ...


@runtime_checkable
class HotelLookup(Protocol):
    """Read access to the hotels' configuration, for plugins (routing, per-hotel settings)."""

    async def get(self, hotel_id: str) -> Hotel | None:
        """The hotel with this id, or None."""
        ...

    async def by_identity(self, kind: str, value: str) -> Hotel | None:
        """The hotel whose channel identity ``kind`` (e.g. ``whatsapp_phone_number_id``,
        ``email``) is ``value``: how an inbound message finds its hotel."""
        ...


@runtime_checkable
class Documents(Protocol):
    """Files the agent keeps (vouchers it sends, receipts guests send), by content key."""

    async def get(self, key: str) -> tuple[bytes, str, str] | None:
        """``(content, mime type, file name)``, or None."""
        ...

    async def put(self, hotel_id: str, content: bytes, mime_type: str, filename: str) -> str:
        """Store ``content`` (once: the key is a digest of it) and return its key."""
        ...


@runtime_checkable
class Channel(Protocol):
    """A way to reach guests. Inbound arrives through the plugin's routes; this is outbound."""

    name: str

    async def send(self, message: OutboundMessage) -> str:
        """Deliver one message; return the provider's id for it.

        Raise ``ChannelError`` to have the outbox retry with backoff, or
        ``PermanentChannelError`` to dead-letter at once.
        """
        ...


@runtime_checkable
class Pms(Protocol):
    """A property-management system, scoped per call to one hotel.

    Errors are the typed ``agente.errors.PmsError`` family. ``create_booking`` is idempotent on
    ``request.client_reference``: a second call with the same reference returns the same booking.
    """

    capabilities: PmsCapabilities

    async def search_availability(
        self, hotel: Hotel, stay: Stay, occupancy: Occupancy
    ) -> list[Offer]:
        """Room types free for the whole stay that fit the party, cheapest first."""
        ...

    async def create_booking(self, hotel: Hotel, request: BookingRequest) -> Booking:
        """Book (pending payment). Raises ``NotAvailable`` when the stay is no longer free."""
        ...

    async def get_booking(self, hotel: Hotel, booking_id: str) -> Booking:
        """Read a booking back; ``NotFound`` when unknown."""
        ...

    async def find_booking_by_reference(
        self, hotel: Hotel, client_reference: str
    ) -> Booking | None:
        """The booking carrying our ``client_reference``, if any: the check before any retry."""
        ...

    async def cancel_booking(self, hotel: Hotel, booking_id: str) -> Booking:
        """Cancel and free the inventory; cancelling twice is not an error."""
        ...

    async def modify_booking(
        self, hotel: Hotel, booking_id: str, stay: Stay, occupancy: Occupancy
    ) -> Booking:
        """Change dates or party; ``NotAvailable`` when the new stay does not fit."""
        ...

    async def record_payment(self, hotel: Hotel, booking_id: str, payment: Payment) -> Booking:
        """Register money received against the booking."""
        ...

    async def get_room_types(self, hotel: Hotel) -> list[RoomType]:
        """The room types the PMS sells for this hotel."""
        ...

    async def ping(self, hotel: Hotel | None = None) -> None:
        """Raise when the PMS cannot answer (used by readiness)."""
        ...
