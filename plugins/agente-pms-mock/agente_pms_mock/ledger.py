"""The mock PMS's stored document and its pure rules: no I/O, no clock, no randomness.

``MockPms`` loads a ``Ledger``, hands it to these functions, and writes back what they return.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

import msgspec

from agente.domain import Booking, Hotel, NightlyRate, Occupancy, RoomType, Stay
from agente.errors import NotFound, Permanent

__all__ = [
    "MAX_NIGHTS",
    "NAMESPACE",
    "Ledger",
    "check_occupancy",
    "check_stay",
    "decode_ledger",
    "encode_ledger",
    "find_booking",
    "find_room_type",
    "fits",
    "free_units",
    "hold",
    "hotel_key",
    "nightly_rates",
    "offer_name",
    "payment_status",
    "total_of",
]

NAMESPACE = "pms.mock"
"""The ``PluginState`` namespace holding every document of this plugin."""

MAX_NIGHTS = 30
"""Longest stay accepted; longer is almost always a typo in the dates, so it is ``Permanent``."""

_WEEKEND = (4, 5)
"""Nights starting on Friday or Saturday (``date.weekday()``) take the weekend rate."""


class Ledger(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the mock PMS remembers about one hotel, stored as JSON at ``hotel:<hotel_id>``.

    One document, so one atomic, version-checked write per change: there is no moment where a
    booking exists without its units, or units are held by nothing.
    """

    format: int = 1
    """Layout version of this document, for a future migration."""
    next_number: int = 1
    """Number of the next booking id, ``MOCK-000001`` onwards; never reused."""
    bookings: dict[str, Booking] = {}
    """Booking id → booking, cancelled ones included (they keep answering ``get_booking``)."""
    references: dict[str, str] = {}
    """Our ``client_reference`` → booking id: what makes ``create_booking`` idempotent."""
    occupancy: dict[str, dict[dt.date, int]] = {}
    """Room type code → night (ISO date) → units held by live bookings; zeros are dropped."""
    payments: dict[str, list[str]] = {}
    """Booking id → references of the payments recorded, so a retried payment counts once."""


decode_ledger = msgspec.json.Decoder(Ledger).decode
encode_ledger = msgspec.json.Encoder().encode


def hotel_key(hotel_id: str) -> str:
    """The ``PluginState`` key of a hotel's ``Ledger``."""
    return f"hotel:{hotel_id}"


# --------------------------------------------------------------------------- rules


def check_stay(stay: Stay) -> None:
    """Refuse impossible or implausible dates up front (``Permanent``: retrying cannot help)."""
    if stay.check_out <= stay.check_in:
        raise Permanent(
            f"check-out ({stay.check_out.isoformat()}) must be after "
            f"check-in ({stay.check_in.isoformat()})"
        )
    if stay.nights > MAX_NIGHTS:
        raise Permanent(f"a stay may last at most {MAX_NIGHTS} nights, not {stay.nights}")


def check_occupancy(occupancy: Occupancy) -> None:
    """Refuse a party nobody could book for (``Permanent``)."""
    if occupancy.adults < 1:
        raise Permanent("a booking needs at least one adult")
    if any(age < 0 for age in occupancy.children_ages):
        raise Permanent("children's ages cannot be negative")


def fits(room_type: RoomType, occupancy: Occupancy, rooms: int = 1) -> bool:
    """Whether the party fits in ``rooms`` rooms of this type."""
    return (
        occupancy.adults <= room_type.max_adults * rooms
        and len(occupancy.children_ages) <= room_type.max_children * rooms
        and occupancy.guests <= room_type.max_guests * rooms
    )


def find_room_type(hotel: Hotel, code: str) -> RoomType:
    """The hotel's room type ``code``; ``NotFound`` when the hotel does not sell it."""
    for room_type in hotel.room_types:
        if room_type.code == code:
            return room_type
    raise NotFound(f"hotel {hotel.id!r} has no room type {code!r}")


def offer_name(hotel: Hotel, room_type: RoomType) -> str:
    """The room type's name in the hotel's default language, else any, else its code."""
    name = room_type.name.get(hotel.default_language)
    return name or next(iter(room_type.name.values()), room_type.code)


def nightly_rates(room_type: RoomType, stay: Stay) -> list[NightlyRate]:
    """One rate per night; nights starting Friday or Saturday take ``weekend_rate`` if set."""
    return [
        NightlyRate(
            date=night,
            amount=(
                room_type.weekend_rate
                if room_type.weekend_rate is not None and night.weekday() in _WEEKEND
                else room_type.base_rate
            ),
        )
        for night in stay.dates()
    ]


def total_of(nightly: list[NightlyRate], rooms: int = 1) -> Decimal:
    """What ``rooms`` rooms cost for these nights (Decimal all the way: no float cents)."""
    return sum((rate.amount for rate in nightly), Decimal(0)) * rooms


def free_units(ledger: Ledger, room_type: RoomType, stay: Stay) -> int:
    """Units free on every night of the stay (the minimum over the nights, never below 0)."""
    held = ledger.occupancy.get(room_type.code, {})
    return max(0, min(room_type.units - held.get(night, 0) for night in stay.dates()))


def hold(ledger: Ledger, code: str, stay: Stay, units: int) -> dict[str, dict[dt.date, int]]:
    """A copy of ``ledger.occupancy`` with ``units`` more (or fewer, if negative) held."""
    occupancy = dict(ledger.occupancy)
    nights = dict(occupancy.get(code, {}))
    for night in stay.dates():
        left = max(0, nights.get(night, 0) + units)
        if left:
            nights[night] = left
        else:
            nights.pop(night, None)
    if nights:
        occupancy[code] = nights
    else:
        occupancy.pop(code, None)
    return occupancy


def payment_status(total: Decimal, paid: Decimal) -> Literal["unpaid", "partial", "paid"]:
    """How much of ``total`` is covered; overpaying counts as paid."""
    if paid <= 0:
        return "unpaid"
    return "paid" if paid >= total else "partial"


def find_booking(ledger: Ledger, booking_id: str) -> Booking:
    """The stored booking; ``NotFound`` when this hotel has no such id."""
    booking = ledger.bookings.get(booking_id)
    if booking is None:
        raise NotFound(f"no booking {booking_id!r}")
    return booking
