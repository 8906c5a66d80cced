"""Domain values: everything that crosses a boundary (stored, queued, sent, logged).

All are frozen, keyword-only msgspec Structs; "change" one with ``msgspec.structs.replace``.
No provider field name appears here: plugins translate their wire types into these.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal, TypeAlias

import msgspec

__all__ = [
    "Address",
    "BankDetails",
    "Booking",
    "BookingRequest",
    "BusinessHours",
    "Button",
    "ChannelIdentities",
    "Conversation",
    "ConversationState",
    "DepositPolicy",
    "Guest",
    "Hotel",
    "HotelPms",
    "InboundMessage",
    "ListRow",
    "ListSection",
    "Location",
    "Media",
    "NightlyRate",
    "Occupancy",
    "Offer",
    "OutButtons",
    "OutDocument",
    "OutImage",
    "OutList",
    "OutLocation",
    "OutText",
    "OutboundBody",
    "OutboundMessage",
    "PartyGuest",
    "Payment",
    "PmsCapabilities",
    "Reservation",
    "ReservationStatus",
    "RoomType",
    "Stay",
    "conversation_key",
]

Localized: TypeAlias = dict[str, str]
"""Text per language code (``es``, ``en``, ``pt``)."""


class _Value(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=False):
    """Base of all domain values."""


# --------------------------------------------------------------------------- messages


class Media(_Value, frozen=True, kw_only=True):
    """An attachment: where to fetch it from the provider, or where we stored it."""

    media_id: str | None = None
    url: str | None = None
    mime_type: str | None = None
    filename: str | None = None
    size: int | None = None
    sha256: str | None = None
    stored_key: str | None = None
    #: a recorded voice note (not a music file): the speech-to-text step wants these
    voice: bool = False


class Location(_Value, frozen=True, kw_only=True):
    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None


InboundKind: TypeAlias = Literal[
    "text", "interactive", "media", "location", "reaction", "contacts", "unsupported", "event"
]


def conversation_key(hotel_id: str, channel: str, sender_id: str) -> str:
    """The key that orders messages: one conversation per hotel, channel and sender."""
    return f"{hotel_id}:{channel}:{sender_id}"


class InboundMessage(_Value, frozen=True, kw_only=True):
    """One message from a guest, as a channel plugin hands it to the inbox.

    ``(channel, provider_message_id)`` is unique: the provider's own id for this message, so a
    re-delivery is recognised. ``hotel_id`` comes from the identity that received the message (the
    page, the phone number id, the mailbox), never from anything the sender controls.
    """

    channel: str
    provider_message_id: str
    hotel_id: str
    sender_id: str
    kind: InboundKind = "text"
    text: str | None = None
    choice_id: str | None = None
    media: Media | None = None
    location: Location | None = None
    sender_name: str | None = None
    sender_phone: str | None = None
    sender_email: str | None = None
    thread_id: str | None = None
    sent_at: dt.datetime | None = None
    #: kind "event": not from the guest but for their conversation (staff confirmed a deposit,
    #: took over or released it; a hold expired). Queued like a message so that it is ordered
    #: with the guest's own messages and survives a crash; decoded by the shell.
    event: dict[str, Any] | None = None
    #: follows the message from the request that brought it to the replies it caused, in every
    #: log line (set at accept from the request's id; see agente/logs.py)
    correlation_id: str | None = None
    #: the W3C traceparent of the span that accepted it, so the trace continues in the worker
    trace_parent: str | None = None
    #: why this message is kept but never answered (an auto-reply, a bounce, a mailing list,
    #: our own mail, unreadable bytes): stored for staff, no turn, no reply
    ignored: str | None = None

    @property
    def conversation_key(self) -> str:
        return conversation_key(self.hotel_id, self.channel, self.sender_id)


class Button(_Value, frozen=True, kw_only=True):
    id: str
    title: str


class ListRow(_Value, frozen=True, kw_only=True):
    id: str
    title: str
    description: str | None = None


class ListSection(_Value, frozen=True, kw_only=True):
    title: str
    rows: list[ListRow]


class OutText(_Value, frozen=True, kw_only=True, tag="text"):
    text: str


class OutButtons(_Value, frozen=True, kw_only=True, tag="buttons"):
    text: str
    buttons: list[Button]
    image_url: str | None = None


class OutList(_Value, frozen=True, kw_only=True, tag="list"):
    text: str
    button: str
    sections: list[ListSection]


class OutImage(_Value, frozen=True, kw_only=True, tag="image"):
    media: Media
    caption: str | None = None


class OutDocument(_Value, frozen=True, kw_only=True, tag="document"):
    media: Media
    caption: str | None = None


class OutLocation(_Value, frozen=True, kw_only=True, tag="location"):
    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None


OutboundBody: TypeAlias = OutText | OutButtons | OutList | OutImage | OutDocument | OutLocation


class OutboundMessage(_Value, frozen=True, kw_only=True):
    """A channel-neutral reply, queued in the outbox and handed to ``Channel.send``."""

    channel: str
    hotel_id: str
    recipient_id: str
    body: OutboundBody
    in_reply_to: str | None = None
    thread_id: str | None = None
    #: the end of the guest's customer-service window as the shell knows it (their last message
    #: plus 24 h); a channel with such a window (WhatsApp) takes its template path after it
    reply_by: dt.datetime | None = None
    #: the correlation id of the guest message this answers
    correlation_id: str | None = None
    #: the W3C traceparent of the worker span that wrote it, continued by the send
    trace_parent: str | None = None


# --------------------------------------------------------------------------- hotels


class Address(_Value, frozen=True, kw_only=True):
    street: str
    city: str
    province: str | None = None
    country: str = "AR"
    postal_code: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    directions: Localized = msgspec.field(default_factory=dict)


class RoomType(_Value, frozen=True, kw_only=True):
    """A kind of room as the hotel sells it. ``units`` and ``base_rate`` feed the mock PMS."""

    code: str
    name: Localized
    description: Localized = msgspec.field(default_factory=dict)
    beds: Localized = msgspec.field(default_factory=dict)
    max_adults: int = 2
    max_children: int = 0
    max_guests: int = 2
    units: int = 1
    base_rate: Decimal = Decimal(0)
    weekend_rate: Decimal | None = None
    photos: list[str] = msgspec.field(default_factory=list)


class DepositPolicy(_Value, frozen=True, kw_only=True):
    """The seña: a percentage of the total or a fixed amount, paid within ``deadline_hours``."""

    kind: Literal["percent", "fixed"] = "percent"
    value: Decimal = Decimal(30)
    deadline_hours: int = 24
    #: cancelling at least this many hours before check-in costs nothing; later, the money
    #: paid is kept (the penalty the agent quotes). None: every cancellation is free.
    free_cancellation_hours: int | None = 72


class BankDetails(_Value, frozen=True, kw_only=True):
    bank: str
    holder: str
    tax_id: str | None = None
    cbu: str | None = None
    alias: str | None = None
    account: str | None = None


class BusinessHours(_Value, frozen=True, kw_only=True):
    """Opening ranges: ``days`` are ISO weekdays (1 = Monday); ``close`` may be past midnight."""

    days: list[int]
    open: str
    close: str


class ChannelIdentities(_Value, frozen=True, kw_only=True):
    """The addresses that receive messages for this hotel; how inbound mail finds its tenant."""

    webchat: bool = True
    whatsapp_phone_number_id: str | None = None
    whatsapp_display_phone: str | None = None
    #: an approved WhatsApp template sent when a reply falls outside the 24-hour window
    #: (it asks the guest to write back); its language code per conversation language
    whatsapp_reengage_template: str | None = None
    whatsapp_template_languages: dict[str, str] = msgspec.field(
        default_factory=lambda: {"es": "es_AR", "en": "en_US", "pt": "pt_BR"}
    )
    email: str | None = None


class HotelPms(_Value, frozen=True, kw_only=True):
    """Which PMS plugin serves this hotel, with the plugin's per-hotel options (no secrets)."""

    plugin: str = "mock"
    options: dict[str, str] = msgspec.field(default_factory=dict)


class Hotel(_Value, frozen=True, kw_only=True):
    """A tenant: everything the agent needs to answer for one hotel."""

    id: str
    name: str
    timezone: str = "America/Argentina/Buenos_Aires"
    languages: list[str] = msgspec.field(default_factory=lambda: ["es", "en", "pt"])
    default_language: str = "es"
    currency: str = "ARS"
    check_in_time: str = "14:00"
    check_out_time: str = "10:00"
    late_checkout: Localized = msgspec.field(default_factory=dict)
    #: what the hotel offers a guest who arrives before check-in time (luggage, an early room)
    early_check_in: Localized = msgspec.field(default_factory=dict)
    phone: str | None = None
    email: str | None = None
    website: str | None = None
    address: Address | None = None
    room_types: list[RoomType] = msgspec.field(default_factory=list)
    amenities: dict[str, Localized] = msgspec.field(default_factory=dict)
    policies: dict[str, Localized] = msgspec.field(default_factory=dict)
    payment_methods: Localized = msgspec.field(default_factory=dict)
    deposit: DepositPolicy = msgspec.field(default_factory=DepositPolicy)
    bank: BankDetails | None = None
    business_hours: list[BusinessHours] = msgspec.field(default_factory=list)
    on_call: str | None = None
    channels: ChannelIdentities = msgspec.field(default_factory=ChannelIdentities)
    pms: HotelPms = msgspec.field(default_factory=HotelPms)


# --------------------------------------------------------------------------- guests, conversations


class Guest(_Value, frozen=True, kw_only=True):
    id: int
    hotel_id: str
    channel: str
    sender_id: str
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    language: str | None = None
    opted_out: bool = False


class Slots(_Value, frozen=True, kw_only=True):
    """What the guest has told us about the stay they want; corrections overwrite."""

    check_in: dt.date | None = None
    check_out: dt.date | None = None
    adults: int | None = None
    children: int | None = None
    children_ages: list[int] = msgspec.field(default_factory=list)
    guests: int | None = None
    rooms: int | None = None
    room_type: str | None = None

    @property
    def party(self) -> int | None:
        """The whole party when known: ``guests``, or adults plus children."""
        if self.guests:
            return self.guests
        if self.adults:
            return self.adults + (self.children or 0)
        return None


class OfferView(_Value, frozen=True, kw_only=True):
    """An offer as the conversation remembers it (enough to book it and to show it again)."""

    room_type: str
    total: Decimal
    currency: str
    nights: int
    max_guests: int


ReservationStatus: TypeAlias = Literal[
    "requested",
    "pending_deposit",
    "awaiting_verification",
    "confirmed",
    "cancelled",
    "expired",
    "failed",
]


class ReservationView(_Value, frozen=True, kw_only=True):
    """The guest's reservation as the conversation knows it; mirrored to ``reservations``."""

    client_reference: str
    status: ReservationStatus
    room_type: str
    check_in: dt.date
    check_out: dt.date
    adults: int
    children_ages: list[int] = msgspec.field(default_factory=list)
    rooms: int = 1
    total: Decimal
    currency: str
    guest_name: str
    guest_email: str | None = None
    pms_booking_id: str | None = None
    deposit_due: Decimal | None = None
    deposit_deadline: dt.datetime | None = None
    paid: Decimal = Decimal(0)
    proofs: list[Media] = msgspec.field(default_factory=list)

    @property
    def guests(self) -> int:
        return self.adults + len(self.children_ages)


class PendingChange(_Value, frozen=True, kw_only=True):
    """A change the agent quoted and the guest still has to confirm (or a lookup under way)."""

    kind: Literal["modify", "cancel", "lookup"]
    check_in: dt.date | None = None
    check_out: dt.date | None = None
    adults: int | None = None
    children_ages: list[int] = msgspec.field(default_factory=list)
    new_total: Decimal | None = None
    penalty: Decimal | None = None
    reference: str | None = None
    email: str | None = None


class ConversationState(_Value, frozen=True, kw_only=True):
    """What the dialogue remembers between turns. Grows with the dialogue; stored as JSON.

    Every field has a default, so a state stored by an older version still decodes.
    """

    mode: Literal["bot", "human", "closed"] = "bot"
    language: str | None = None
    turns: int = 0
    last_intent: str | None = None
    not_understood: int = 0
    intents: list[str] = msgspec.field(default_factory=list)
    expecting: str | None = None
    slots: Slots = msgspec.field(default_factory=Slots)
    offers: list[OfferView] = msgspec.field(default_factory=list)
    chosen: str | None = None
    guest_name: str | None = None
    guest_email: str | None = None
    reservation: ReservationView | None = None
    pending: PendingChange | None = None
    alternative_shift: int | None = None
    bookings_made: int = 0
    handoff_reason: str | None = None
    human_until: dt.datetime | None = None
    opted_out: bool = False


class Conversation(_Value, frozen=True, kw_only=True):
    id: int
    hotel_id: str
    channel: str
    sender_id: str
    guest_id: int
    state: ConversationState
    created_at: dt.datetime
    updated_at: dt.datetime


class Reservation(_Value, frozen=True, kw_only=True):
    id: int
    hotel_id: str
    conversation_id: int | None
    guest_id: int | None
    client_reference: str
    status: ReservationStatus
    pms_booking_id: str | None = None
    room_type: str | None = None
    check_in: dt.date | None = None
    check_out: dt.date | None = None
    adults: int = 0
    children: int = 0
    total: Decimal | None = None
    currency: str | None = None
    deposit_amount: Decimal | None = None
    created_at: dt.datetime
    updated_at: dt.datetime


# --------------------------------------------------------------------------- PMS values


class Stay(_Value, frozen=True, kw_only=True):
    check_in: dt.date
    check_out: dt.date

    @property
    def nights(self) -> int:
        return (self.check_out - self.check_in).days

    def dates(self) -> list[dt.date]:
        return [self.check_in + dt.timedelta(days=i) for i in range(self.nights)]


class Occupancy(_Value, frozen=True, kw_only=True):
    adults: int
    children_ages: list[int] = msgspec.field(default_factory=list)

    @property
    def guests(self) -> int:
        return self.adults + len(self.children_ages)


class NightlyRate(_Value, frozen=True, kw_only=True):
    date: dt.date
    amount: Decimal


class Offer(_Value, frozen=True, kw_only=True):
    """One room type free for a stay, with its price broken down by night."""

    room_type: str
    name: str
    units_left: int
    nightly: list[NightlyRate]
    total: Decimal
    currency: str
    max_guests: int
    total_with_tax: Decimal | None = None
    cancellation_rule: str | None = None
    #: from a recent answer kept while the PMS cannot be reached: the agent says so
    stale: bool = False


class PartyGuest(_Value, frozen=True, kw_only=True):
    name: str
    email: str | None = None
    phone: str | None = None


class BookingRequest(_Value, frozen=True, kw_only=True):
    """What we ask a PMS to book. ``client_reference`` is ours and makes the create idempotent."""

    client_reference: str
    room_type: str
    stay: Stay
    occupancy: Occupancy
    guest: PartyGuest
    rooms: int = 1
    notes: str | None = None


class Booking(_Value, frozen=True, kw_only=True):
    booking_id: str
    client_reference: str
    status: Literal["pending", "confirmed", "cancelled"]
    payment_status: Literal["unpaid", "partial", "paid"] = "unpaid"
    room_type: str
    stay: Stay
    occupancy: Occupancy
    rooms: int = 1
    guest: PartyGuest
    total: Decimal
    paid: Decimal = Decimal(0)
    currency: str


class Payment(_Value, frozen=True, kw_only=True):
    amount: Decimal
    method: str = "bank_transfer"
    reference: str | None = None


class PmsCapabilities(_Value, frozen=True, kw_only=True):
    """What a PMS plugin can do; the dialogue offers a handoff where a capability is missing."""

    search_availability: bool = True
    create_booking: bool = True
    get_booking: bool = True
    find_booking_by_reference: bool = True
    modify_booking: bool = False
    cancel_booking: bool = True
    record_payment: bool = False
    get_hotel_info: bool = False
    get_room_types: bool = True
    late_checkout_check: bool = False
