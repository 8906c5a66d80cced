"""An example PMS plugin for Agente: small and complete, and it passes the conformance kit.

Start your own plugin from it (see ``writing-a-pms-plugin.md``). Its "PMS" is a dict in
memory, per process: a real plugin talks to its PMS over an injected ``httpx.AsyncClient`` and
keeps nothing of its own, because the PMS is the only copy of a booking. What carries over:

- one settings Struct with its own prefix (``AGENTE_EXAMPLE_PMS_…``);
- capabilities that say exactly what works (here: no ``modify_booking``, which raises
  ``Unsupported``, so the dialogue hands a date change to staff);
- ``client_reference`` stored WITH the booking and looked up before creating: no PMS we know
  offers idempotency keys, so that lookup is what makes a retried create safe;
- only the typed errors of ``agente.errors``, never a bare ``KeyError`` or ``ValueError``.

Packaging (its own ``pyproject.toml``)::

    [project.entry-points."agente.pms"]
    example = "agente_pms_example:plugin"
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import attrs
import msgspec

from agente.domain import (
    Booking,
    BookingRequest,
    Hotel,
    NightlyRate,
    Occupancy,
    Offer,
    Payment,
    PmsCapabilities,
    RoomType,
    Stay,
)
from agente.errors import NotAvailable, NotFound, Permanent, Unsupported
from agente.registry import PmsPlugin

if TYPE_CHECKING:
    from collections.abc import Iterator

    from agente.registry import PluginContext

__all__ = ["ROOM_TYPES", "ExamplePms", "ExamplePmsSettings", "build", "plugin"]

ROOM_TYPES = [
    RoomType(
        code="standard",
        name={"en": "Standard room", "es": "Habitación estándar"},
        max_adults=2,
        max_children=1,
        max_guests=2,
        base_rate=Decimal("80.00"),
    ),
    RoomType(
        code="family",
        name={"en": "Family room", "es": "Habitación familiar"},
        max_adults=4,
        max_children=3,
        max_guests=5,
        base_rate=Decimal("140.00"),
    ),
]
"""What this PMS sells; a real plugin reads it from the PMS (``get_room_types``)."""


class ExamplePmsSettings(msgspec.Struct, frozen=True, kw_only=True, rename="upper"):
    """Variables ``AGENTE_EXAMPLE_PMS_*``."""

    currency: str = "USD"
    """ISO 4217 code of every price this PMS quotes."""
    units: Annotated[int, msgspec.Meta(ge=0)] = 3
    """Rooms of each type."""


def _fits(room: RoomType, party: Occupancy) -> bool:
    children = len(party.children_ages)
    return (
        party.adults <= room.max_adults
        and children <= room.max_children
        and party.guests <= room.max_guests
    )


def _check(stay: Stay, party: Occupancy) -> None:
    """Bad input is ``Permanent``: retrying the same request cannot help."""
    if stay.check_out <= stay.check_in:
        raise Permanent("check-out must be after check-in")
    if party.adults < 1 or any(age < 0 for age in party.children_ages):
        raise Permanent("a party needs an adult, and ages cannot be negative")


@attrs.define
class ExamplePms:
    """A ``Pms`` by shape (it does not inherit from the port)."""

    settings: ExamplePmsSettings = attrs.field(factory=ExamplePmsSettings)
    capabilities: PmsCapabilities = attrs.field(
        init=False, factory=lambda: PmsCapabilities(modify_booking=False, record_payment=True)
    )
    _bookings: dict[tuple[str, str], Booking] = attrs.field(init=False, factory=dict)
    _references: dict[tuple[str, str], str] = attrs.field(init=False, factory=dict)
    _held: dict[tuple[str, str, dt.date], int] = attrs.field(init=False, factory=dict)
    _numbers: Iterator[int] = attrs.field(init=False, factory=lambda: itertools.count(1))

    def _rooms(self) -> dict[str, RoomType]:
        units = self.settings.units
        return {r.code: msgspec.structs.replace(r, units=units) for r in ROOM_TYPES}

    def _free(self, hotel: Hotel, room: RoomType, stay: Stay) -> int:
        return min(room.units - self._held.get((hotel.id, room.code, d), 0) for d in stay.dates())

    def _hold(self, hotel: Hotel, booking: Booking, units: int) -> None:
        for night in booking.stay.dates():
            key = (hotel.id, booking.room_type, night)
            self._held[key] = self._held.get(key, 0) + units

    def _booking(self, hotel: Hotel, booking_id: str) -> Booking:
        booking = self._bookings.get((hotel.id, booking_id))
        if booking is None:
            raise NotFound(f"no booking {booking_id!r}")
        return booking

    @staticmethod
    def _nightly(room: RoomType, stay: Stay) -> list[NightlyRate]:
        """Friday and Saturday nights cost 20% more."""
        weekend = (room.base_rate * Decimal("1.2")).quantize(Decimal("0.01"))
        return [
            NightlyRate(date=d, amount=weekend if d.weekday() in (4, 5) else room.base_rate)
            for d in stay.dates()
        ]

    async def search_availability(
        self, hotel: Hotel, stay: Stay, occupancy: Occupancy
    ) -> list[Offer]:
        _check(stay, occupancy)
        offers = []
        for room in self._rooms().values():
            free = self._free(hotel, room, stay)
            if _fits(room, occupancy) and free > 0:
                nightly = self._nightly(room, stay)
                offers.append(
                    Offer(
                        room_type=room.code,
                        name=room.name.get(hotel.default_language, room.name["en"]),
                        units_left=free,
                        nightly=nightly,
                        total=sum((n.amount for n in nightly), Decimal(0)),
                        currency=self.settings.currency,
                        max_guests=room.max_guests,
                    )
                )
        return sorted(offers, key=lambda o: (o.total, o.room_type))

    async def create_booking(self, hotel: Hotel, request: BookingRequest) -> Booking:
        existing = self._references.get((hotel.id, request.client_reference))
        if existing is not None:  # the retry of a create whose answer was lost
            return self._bookings[(hotel.id, existing)]
        _check(request.stay, request.occupancy)
        room = self._rooms().get(request.room_type)
        if room is None:
            raise NotFound(f"no room type {request.room_type!r}")
        if request.rooms != 1 or not _fits(room, request.occupancy):
            raise Permanent("one room per booking, and the party must fit in it")
        if self._free(hotel, room, request.stay) < 1:
            raise NotAvailable(f"{room.code!r} is full for those dates")
        booking = Booking(
            booking_id=f"EX-{next(self._numbers):05d}",
            client_reference=request.client_reference,
            status="pending",
            room_type=room.code,
            stay=request.stay,
            occupancy=request.occupancy,
            guest=request.guest,
            total=sum((n.amount for n in self._nightly(room, request.stay)), Decimal(0)),
            currency=self.settings.currency,
        )
        # No await from the lookup to here: nothing else runs in between (one event loop).
        self._bookings[(hotel.id, booking.booking_id)] = booking
        self._references[(hotel.id, request.client_reference)] = booking.booking_id
        self._hold(hotel, booking, 1)
        return booking

    async def get_booking(self, hotel: Hotel, booking_id: str) -> Booking:
        return self._booking(hotel, booking_id)

    async def find_booking_by_reference(
        self, hotel: Hotel, client_reference: str
    ) -> Booking | None:
        booking_id = self._references.get((hotel.id, client_reference))
        return None if booking_id is None else self._bookings[(hotel.id, booking_id)]

    async def cancel_booking(self, hotel: Hotel, booking_id: str) -> Booking:
        booking = self._booking(hotel, booking_id)
        if booking.status != "cancelled":  # cancelling twice is not an error
            self._hold(hotel, booking, -1)
            booking = msgspec.structs.replace(booking, status="cancelled")
            self._bookings[(hotel.id, booking_id)] = booking
        return booking

    async def modify_booking(
        self, hotel: Hotel, booking_id: str, stay: Stay, occupancy: Occupancy
    ) -> Booking:
        raise Unsupported("the example PMS cannot change a booking; staff can")

    async def record_payment(self, hotel: Hotel, booking_id: str, payment: Payment) -> Booking:
        booking = self._booking(hotel, booking_id)
        if payment.amount <= 0 or booking.status == "cancelled":
            raise Permanent("a payment is positive and goes to a live booking")
        paid = booking.paid + payment.amount
        booking = msgspec.structs.replace(
            booking,
            paid=paid,
            payment_status="paid" if paid >= booking.total else "partial",
            status="confirmed",
        )
        self._bookings[(hotel.id, booking_id)] = booking
        return booking

    async def get_room_types(self, hotel: Hotel) -> list[RoomType]:
        return list(self._rooms().values())

    async def ping(self, hotel: Hotel | None = None) -> None:
        """Memory always answers; a real plugin makes its cheapest authenticated call."""


def build(settings: ExamplePmsSettings | None, ctx: PluginContext) -> ExamplePms:
    """The registry's factory: the parsed settings and the app's context."""
    return ExamplePms(settings=settings or ExamplePmsSettings())


plugin = PmsPlugin(
    name="example",
    build=build,
    settings_type=ExamplePmsSettings,
    settings_prefix="AGENTE_EXAMPLE_PMS_",
)
"""What the entry point names: ``example = "agente_pms_example:plugin"``."""
