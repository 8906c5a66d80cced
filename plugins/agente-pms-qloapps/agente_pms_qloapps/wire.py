"""QloApps 1.6.1 webservice JSON, as lenient msgspec Structs, and the XML bodies it wants.

The typing quirks of shared/pms/qloapps/NOTES.md are absorbed here: ids arrive as ints in lists
and as strings in single documents (``int | str``), empty maps arrive as ``[]`` and full ones
as objects keyed by id (``dict | list``), counts and prices are numbers in ARI and strings in
``orders``. Unknown fields are ignored: QloApps adds them between versions.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

__all__ = [
    "AriAnswer",
    "BookingDocument",
    "HotelRoomType",
    "OrderDocument",
    "ari_body",
    "as_decimal",
    "as_int",
]

Id = int | str
Num = int | float | str


def as_int(value: Any, default: int = 0) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def as_decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, TypeError, ValueError):
        return Decimal(0)


def as_date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except (TypeError, ValueError):
        return None


class _W(msgspec.Struct, kw_only=True):
    pass


# ------------------------------------------------------------------------------ hotel_ari


class AriRoomType(_W):
    id_room_type: Id = 0
    name: str = ""
    base_price: Num = 0
    base_price_with_tax: Num = 0
    total_price: Num = 0
    total_price_with_tax: Num = 0
    rooms: dict[str, Any] | list[Any] = {}

    def available(self) -> list[dict[str, Any]]:
        """The free rooms: an object keyed by room id, or ``[]`` when there are none."""
        bucket = self.rooms.get("available") if isinstance(self.rooms, dict) else None
        if isinstance(bucket, dict):
            return [r for r in bucket.values() if isinstance(r, dict)]
        if isinstance(bucket, list):
            return [r for r in bucket if isinstance(r, dict)]
        return []


class Ari(_W):
    id_hotel: Id = 0
    date_from: str = ""
    date_to: str = ""
    currency: str = ""
    total_rooms: Num = 0
    total_available_rooms: Num = 0
    room_types: list[AriRoomType] = []


class AriAnswer(_W):
    hotel_ari: Ari | None = None


def ari_body(
    *, qlo_hotel: int, check_in: dt.date, check_out: dt.date, adults: int, children: int
) -> bytes:
    """The XML search ARI takes (it refuses JSON bodies): one room with the party."""
    xml = (
        "<qloapps><hotel_ari>"
        f"<id_hotel>{qlo_hotel}</id_hotel>"
        f"<date_from>{check_in.isoformat()}</date_from>"
        f"<date_to>{check_out.isoformat()}</date_to>"
        "<associations><room_occupancies><room_occupancy>"
        f"<adults>{max(1, adults)}</adults><children>{max(0, children)}</children>"
        "</room_occupancy></room_occupancies></associations>"
        "</hotel_ari></qloapps>"
    )
    return xml.encode()  # every value is a number or an ISO date: nothing to escape


# ------------------------------------------------------------------------------ static content


class HotelRoomType(_W):
    id: Id = 0
    id_product: Id = 0
    id_hotel: Id = 0
    adults: Id = 0
    children: Id = 0
    max_adults: Id = 0
    max_children: Id = 0
    max_guests: Id = 0
    associations: dict[str, Any] | list[Any] = {}

    def units(self) -> int:
        rooms = self.associations.get("hotel_rooms") if isinstance(self.associations, dict) else []
        return len(rooms) if isinstance(rooms, list) else 0


class HotelRoomTypes(_W):
    hotel_room_types: list[HotelRoomType] = []


class RoomTypeDoc(_W):
    id: Id = 0
    name: str | dict[str, Any] | list[Any] = ""
    price: Num = 0


class RoomTypes(_W):
    room_types: list[RoomTypeDoc] | dict[str, Any] = []


# ------------------------------------------------------------------------------ bookings


class CustomerDetail(_W):
    id_customer: Id = 0
    firstname: str = ""
    lastname: str = ""
    email: str = ""
    phone: str = ""


class PriceDetails(_W):
    total_paid: Num = 0
    total_price_without_tax: Num = 0
    total_tax: Num = 0


class BookedRoom(_W):
    id_room: Id = 0
    adults: Id = 0
    child: Id = 0
    child_ages: list[Any] = []
    unit_price_without_tax: Num = 0
    total_tax: Num = 0


class BookedRoomType(_W):
    id_room_type: Id = 0
    checkin_date: str = ""
    checkout_date: str = ""
    number_of_rooms: Id = 0
    total_tax: Num = 0
    name: str = ""
    rooms: list[BookedRoom] = []


class BookingAssociations(_W):
    customer_detail: CustomerDetail | None = None
    price_details: PriceDetails | None = None
    remarks: list[Any] = []
    room_types: list[BookedRoomType] = []


class Booking(_W):
    id: Id = 0
    id_property: Id = 0
    currency: str = ""
    source: str | None = None
    booking_date: str | None = None
    associations: BookingAssociations = msgspec.field(default_factory=BookingAssociations)


class BookingDocument(_W):
    booking: Booking | None = None


class Order(_W):
    id: Id = 0
    current_state: Id = 0
    total_paid_tax_incl: Num = 0
    total_paid_real: Num = 0
    source: str | None = None
    reference: str | None = None


class OrderDocument(_W):
    order: Order | None = None


class OrderList(_W):
    orders: list[Order] | dict[str, Any] = []


class ApiError(_W):
    code: Id = 0
    message: str = ""


class ErrorDocument(_W):
    errors: list[ApiError] = []


#: order states (order_states): which ones mean what for a booking
CANCELLED_STATES = frozenset({4, 5, 6})
PAID_STATES = frozenset({2, 10, 7})
PARTIAL_STATES = frozenset({8, 12})
