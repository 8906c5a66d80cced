"""The mock PMS: a deterministic PMS kept in Agente's own database.

It is the embedded default (a hotel can take bookings with no PMS at all) and the test double of
the reliability tests, so it behaves like a real PMS where that matters: inventory runs out,
bookings are idempotent on ``client_reference``, concurrent writers race, and calls can be made
slow or flaky on purpose (``AGENTE_MOCK_PMS_LATENCY_MS``, ``AGENTE_MOCK_PMS_FAILURE_RATE``).

Inventory and prices come from the ``Hotel`` passed in (``RoomType.units``, ``base_rate``,
``weekend_rate``), so any configured hotel works without seeding. What changes — bookings and the
units they hold — lives in ``PluginState``, namespace ``pms.mock``, as ONE document per hotel,
``hotel:<hotel_id>`` (see ``Ledger``). Every write replaces that document with a version check,
so a booking, the units it holds and its reference index change together or not at all: a crash
or a lost race can neither double-count nor leak inventory.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import attrs
import msgspec

from agente.domain import (
    Booking,
    BookingRequest,
    Hotel,
    Occupancy,
    Offer,
    Payment,
    PmsCapabilities,
    RoomType,
    Stay,
)
from agente.errors import NotAvailable, Permanent, Transient
from agente.registry import PmsPlugin
from agente_pms_mock.ledger import (
    MAX_NIGHTS,
    NAMESPACE,
    Ledger,
    check_occupancy,
    check_stay,
    decode_ledger,
    encode_ledger,
    find_booking,
    find_room_type,
    fits,
    free_units,
    hold,
    hotel_key,
    nightly_rates,
    offer_name,
    payment_status,
    total_of,
)

if TYPE_CHECKING:
    from agente.ports import PluginState
    from agente.registry import PluginContext

__all__ = [
    "MAX_NIGHTS",
    "NAMESPACE",
    "Ledger",
    "MockPms",
    "MockPmsSettings",
    "build",
    "hotel_key",
    "plugin",
]

_MAX_TRIES = 20
"""Optimistic-concurrency attempts before giving up with ``Transient`` (the caller may retry)."""

T = TypeVar("T")


class MockPmsSettings(msgspec.Struct, frozen=True, kw_only=True, rename="upper"):
    """Variables ``AGENTE_MOCK_PMS_*``: how slow and how unreliable the mock pretends to be."""

    latency_ms: Annotated[float, msgspec.Meta(ge=0)] = 0
    """Milliseconds added to every call, ``ping`` included, to exercise timeouts and slow paths."""
    failure_rate: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0
    """Probability (0..1) that a call raises ``Transient("injected failure")`` before doing
    anything; ``ping`` is exempt, so readiness keeps reporting whether the store answers."""
    seed: int | None = None
    """Seed of the failure-injection random generator, so reliability tests are reproducible;
    unset means a fresh seed per process."""


@attrs.define
class MockPms:
    """A ``Pms`` for any ``Hotel``, durable in ``PluginState``; safe to share across tasks and
    processes because every write is a version-checked replace of the hotel's ``Ledger``."""

    state: PluginState
    settings: MockPmsSettings = attrs.field(factory=MockPmsSettings)
    capabilities: PmsCapabilities = attrs.field(
        init=False,
        factory=lambda: PmsCapabilities(
            search_availability=True,
            create_booking=True,
            get_booking=True,
            find_booking_by_reference=True,
            modify_booking=True,
            cancel_booking=True,
            record_payment=True,
            get_hotel_info=False,
            get_room_types=True,
            late_checkout_check=False,
        ),
    )
    _random: random.Random = attrs.field(init=False, repr=False)

    @_random.default
    def _seeded(self) -> random.Random:
        return random.Random(self.settings.seed)

    # ----------------------------------------------------------------------- reads

    async def search_availability(
        self, hotel: Hotel, stay: Stay, occupancy: Occupancy
    ) -> list[Offer]:
        """Room types that fit the party in one room and have a unit free every night."""
        await self._enter()
        check_stay(stay)
        check_occupancy(occupancy)
        ledger, _ = await self._load(hotel)
        offers = []
        for room_type in hotel.room_types:
            if not fits(room_type, occupancy):
                continue
            free = free_units(ledger, room_type, stay)
            if free < 1:
                continue
            nightly = nightly_rates(room_type, stay)
            offers.append(
                Offer(
                    room_type=room_type.code,
                    name=offer_name(hotel, room_type),
                    units_left=free,
                    nightly=nightly,
                    total=total_of(nightly),
                    currency=hotel.currency,
                    max_guests=room_type.max_guests,
                )
            )
        return sorted(offers, key=lambda offer: (offer.total, offer.room_type))

    async def get_booking(self, hotel: Hotel, booking_id: str) -> Booking:
        """The booking as stored; ``NotFound`` when this hotel has no such id."""
        await self._enter()
        ledger, _ = await self._load(hotel)
        return find_booking(ledger, booking_id)

    async def find_booking_by_reference(
        self, hotel: Hotel, client_reference: str
    ) -> Booking | None:
        """The booking created with our ``client_reference``, cancelled or not; None if none."""
        await self._enter()
        ledger, _ = await self._load(hotel)
        booking_id = ledger.references.get(client_reference)
        return None if booking_id is None else ledger.bookings[booking_id]

    async def get_room_types(self, hotel: Hotel) -> list[RoomType]:
        """The hotel's own room types: the mock sells exactly what the hotel declares."""
        await self._enter()
        return list(hotel.room_types)

    async def ping(self, hotel: Hotel | None = None) -> None:
        """Reads the hotel's document when given one, so readiness fails with the database.

        Slowed by ``latency_ms`` but never hit by ``failure_rate``: injected failures simulate a
        flaky PMS for the dialogue, not an outage that readiness should report.
        """
        await self._delay()
        if hotel is not None:
            await self.state.get(NAMESPACE, hotel_key(hotel.id))

    # ----------------------------------------------------------------------- writes

    async def create_booking(self, hotel: Hotel, request: BookingRequest) -> Booking:
        """Hold ``request.rooms`` units every night, pending payment.

        A second call with the same ``client_reference`` returns the first booking unchanged
        (whatever else it asks), so a retry after a lost answer never books twice.
        """
        await self._enter()
        check_stay(request.stay)
        check_occupancy(request.occupancy)
        if request.rooms < 1:
            raise Permanent("a booking needs at least one room")

        def change(ledger: Ledger) -> tuple[Ledger | None, Booking]:
            existing = ledger.references.get(request.client_reference)
            if existing is not None:
                return None, ledger.bookings[existing]
            # Only now: a retry must find its booking even if the hotel's room types changed.
            room_type = find_room_type(hotel, request.room_type)
            if not fits(room_type, request.occupancy, request.rooms):
                raise Permanent(
                    f"{request.occupancy.guests} guests do not fit in {request.rooms} "
                    f"room(s) of type {room_type.code!r}"
                )
            if free_units(ledger, room_type, request.stay) < request.rooms:
                raise NotAvailable(
                    f"{request.rooms} room(s) of type {room_type.code!r} are not free from "
                    f"{request.stay.check_in.isoformat()} to {request.stay.check_out.isoformat()}"
                )
            booking = Booking(
                booking_id=f"MOCK-{ledger.next_number:06d}",
                client_reference=request.client_reference,
                status="pending",
                payment_status="unpaid",
                room_type=room_type.code,
                stay=request.stay,
                occupancy=request.occupancy,
                rooms=request.rooms,
                guest=request.guest,
                total=total_of(nightly_rates(room_type, request.stay), request.rooms),
                currency=hotel.currency,
            )
            return (
                msgspec.structs.replace(
                    ledger,
                    next_number=ledger.next_number + 1,
                    bookings={**ledger.bookings, booking.booking_id: booking},
                    references={**ledger.references, booking.client_reference: booking.booking_id},
                    occupancy=hold(ledger, room_type.code, request.stay, request.rooms),
                ),
                booking,
            )

        return await self._update(hotel, change)

    async def cancel_booking(self, hotel: Hotel, booking_id: str) -> Booking:
        """Cancel and free the units; an already cancelled booking is returned as it is."""
        await self._enter()

        def change(ledger: Ledger) -> tuple[Ledger | None, Booking]:
            booking = find_booking(ledger, booking_id)
            if booking.status == "cancelled":
                return None, booking
            cancelled = msgspec.structs.replace(booking, status="cancelled")
            return (
                msgspec.structs.replace(
                    ledger,
                    bookings={**ledger.bookings, booking_id: cancelled},
                    occupancy=hold(ledger, booking.room_type, booking.stay, -booking.rooms),
                ),
                cancelled,
            )

        return await self._update(hotel, change)

    async def modify_booking(
        self, hotel: Hotel, booking_id: str, stay: Stay, occupancy: Occupancy
    ) -> Booking:
        """Move the booking to a new stay and party in one write, repriced.

        The old nights count as free while checking the new ones (shortening or shifting a stay
        on a full house works). ``NotAvailable`` leaves the booking untouched; a cancelled
        booking cannot be modified (``Permanent``).
        """
        await self._enter()
        check_stay(stay)
        check_occupancy(occupancy)

        def change(ledger: Ledger) -> tuple[Ledger | None, Booking]:
            booking = find_booking(ledger, booking_id)
            if booking.status == "cancelled":
                raise Permanent(f"booking {booking_id!r} is cancelled and cannot be modified")
            room_type = find_room_type(hotel, booking.room_type)
            if not fits(room_type, occupancy, booking.rooms):
                raise Permanent(
                    f"{occupancy.guests} guests do not fit in {booking.rooms} "
                    f"room(s) of type {room_type.code!r}"
                )
            released = msgspec.structs.replace(
                ledger, occupancy=hold(ledger, booking.room_type, booking.stay, -booking.rooms)
            )
            if free_units(released, room_type, stay) < booking.rooms:
                raise NotAvailable(
                    f"{booking.rooms} room(s) of type {room_type.code!r} are not free from "
                    f"{stay.check_in.isoformat()} to {stay.check_out.isoformat()}"
                )
            total = total_of(nightly_rates(room_type, stay), booking.rooms)
            modified = msgspec.structs.replace(
                booking,
                stay=stay,
                occupancy=occupancy,
                total=total,
                payment_status=payment_status(total, booking.paid),
            )
            return (
                msgspec.structs.replace(
                    ledger,
                    bookings={**ledger.bookings, booking_id: modified},
                    occupancy=hold(released, room_type.code, stay, booking.rooms),
                ),
                modified,
            )

        return await self._update(hotel, change)

    async def record_payment(self, hotel: Hotel, booking_id: str, payment: Payment) -> Booking:
        """Add the money to ``paid``; the first payment confirms a pending booking.

        A payment whose ``reference`` was already recorded on this booking is not counted again
        (retry-safe). Money against a cancelled booking is refused (``Permanent``): refunds and
        reinstatements are for people, not for the mock.
        """
        await self._enter()
        if payment.amount <= 0:
            raise Permanent("a payment must be a positive amount")

        def change(ledger: Ledger) -> tuple[Ledger | None, Booking]:
            booking = find_booking(ledger, booking_id)
            seen = ledger.payments.get(booking_id, [])
            if payment.reference is not None and payment.reference in seen:
                return None, booking
            if booking.status == "cancelled":
                raise Permanent(f"booking {booking_id!r} is cancelled; payment not recorded")
            paid = booking.paid + payment.amount
            updated = msgspec.structs.replace(
                booking,
                paid=paid,
                payment_status=payment_status(booking.total, paid),
                status="confirmed" if booking.status == "pending" else booking.status,
            )
            payments = ledger.payments
            if payment.reference is not None:
                payments = {**payments, booking_id: [*seen, payment.reference]}
            return (
                msgspec.structs.replace(
                    ledger, bookings={**ledger.bookings, booking_id: updated}, payments=payments
                ),
                updated,
            )

        return await self._update(hotel, change)

    # ----------------------------------------------------------------------- plumbing

    async def _delay(self) -> None:
        if self.settings.latency_ms > 0:
            await asyncio.sleep(self.settings.latency_ms / 1000)

    async def _enter(self) -> None:
        """Latency, then maybe an injected failure: before any work, so a failure writes nothing."""
        await self._delay()
        if self.settings.failure_rate > 0 and self._random.random() < self.settings.failure_rate:
            raise Transient("injected failure")

    async def _load(self, hotel: Hotel) -> tuple[Ledger, int]:
        raw, version = await self.state.get(NAMESPACE, hotel_key(hotel.id))
        return (Ledger() if raw is None else decode_ledger(raw)), version

    async def _update(self, hotel: Hotel, change: Callable[[Ledger], tuple[Ledger | None, T]]) -> T:
        """Apply ``change`` to the hotel's ledger with optimistic concurrency.

        ``change`` is pure: it returns the new ledger (None when nothing needs writing) and the
        result, or raises a ``PmsError``. On a lost race it runs again on the fresh document.
        """
        for _ in range(_MAX_TRIES):
            ledger, version = await self._load(hotel)
            updated, result = change(ledger)
            if updated is None:
                return result
            if await self.state.put(
                NAMESPACE, hotel_key(hotel.id), encode_ledger(updated), expected_version=version
            ):
                return result
        raise Transient(f"too much contention on the mock PMS ledger of hotel {hotel.id!r}")


def build(settings: MockPmsSettings | None, ctx: PluginContext) -> MockPms:
    """The registry's factory: one ``MockPms`` on the app's ``PluginState``."""
    return MockPms(state=ctx.state, settings=settings or MockPmsSettings())


plugin = PmsPlugin(
    name="mock", build=build, settings_type=MockPmsSettings, settings_prefix="AGENTE_MOCK_PMS_"
)
"""The entry point ``agente.pms: mock``."""
