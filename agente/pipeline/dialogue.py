"""The conversation: ``step(state, event, context) -> (state, effects)``, a pure transition.

The shell (``agente/service.py``) reads everything ``step`` needs into ``Context`` (the hotel,
the feature flags, ``now``, whether staff are attending), calls it, carries out the effects it
returns (PMS calls, replies, staff notifications, timers) and feeds each PMS result back as an
event. Nothing here does I/O or reads the clock, so a conversation can be replayed and
property-tested, and a crash between two steps loses nothing: the shell commits the state with
the replies.

Rules that hold whatever happens (the stateful tests check them):

* a reservation becomes ``confirmed`` only on ``OperatorConfirmedDeposit``, never on the
  guest's word;
* while the conversation is ``human`` the bot says nothing to the guest;
* every PMS effect is answered by exactly one ``PmsAnswered`` or ``PmsFailed``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal, TypeAlias

import msgspec

from agente.domain import (
    Booking,
    BookingRequest,
    ConversationState,
    Hotel,
    Media,
    Occupancy,
    Offer,
    OfferView,
    PartyGuest,
    Payment,
    PendingChange,
    PmsCapabilities,
    ReservationView,
    Slots,
    Stay,
)
from agente.pipeline.entities import Entities

__all__ = [
    "CancelBooking",
    "Context",
    "CreateBooking",
    "Effect",
    "Event",
    "FindBooking",
    "GuestSaid",
    "GuestSentMedia",
    "HoldExpired",
    "ModifyBooking",
    "NotifyStaff",
    "OperatorConfirmedDeposit",
    "OperatorRejectedDeposit",
    "OperatorReleased",
    "OperatorSaid",
    "OperatorTookOver",
    "Option",
    "PmsAnswered",
    "PmsFailed",
    "RecordPayment",
    "Reply",
    "ScheduleTimer",
    "SearchAvailability",
    "deposit_for",
    "step",
]


class _Base(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind"):
    pass


# --------------------------------------------------------------------------- events


class GuestSaid(_Base, frozen=True, kw_only=True, tag="guest_said"):
    """The guest wrote, as understood (``choice_id``: a button or list row they tapped)."""

    text: str | None
    message_kind: str = "text"
    intent: str | None = None
    language: str | None = None
    confidence: float = 0.0
    entities: Entities = Entities()
    choice_id: str | None = None


class GuestSentMedia(_Base, frozen=True, kw_only=True, tag="guest_sent_media"):
    """An image or a document (a payment receipt, most of the time), with its caption."""

    media: Media
    caption: str | None = None


class PmsAnswered(_Base, frozen=True, kw_only=True, tag="pms_answered"):
    """The answer to a PMS effect: ``op`` names the effect, ``purpose`` is the effect's own."""

    op: Literal["search", "create", "modify", "cancel", "record_payment", "find"]
    purpose: str = ""
    offers: list[Offer] = []
    booking: Booking | None = None


class PmsFailed(_Base, frozen=True, kw_only=True, tag="pms_failed"):
    """A PMS effect failed: ``error`` is the typed error's kind (``not_available``, …)."""

    op: Literal["search", "create", "modify", "cancel", "record_payment", "find"]
    purpose: str = ""
    error: str
    retryable: bool = False


class OperatorConfirmedDeposit(_Base, frozen=True, kw_only=True, tag="operator_confirmed"):
    """Staff checked the deposit: the only way a reservation becomes confirmed."""

    client_reference: str
    operator: str
    amount: Decimal | None = None


class OperatorRejectedDeposit(_Base, frozen=True, kw_only=True, tag="operator_rejected"):
    """Staff could not verify the deposit: the guest is told why and can send it again."""

    client_reference: str
    operator: str
    reason: str = ""


class OperatorSaid(_Base, frozen=True, kw_only=True, tag="operator_said"):
    """A member of staff writes to the guest through the agent's channel (bot silent or not)."""

    operator: str
    text: str


class OperatorTookOver(_Base, frozen=True, kw_only=True, tag="operator_took_over"):
    operator: str


class OperatorReleased(_Base, frozen=True, kw_only=True, tag="operator_released"):
    operator: str


class HoldExpired(_Base, frozen=True, kw_only=True, tag="hold_expired"):
    """The deposit deadline of ``client_reference`` passed (a timer the dialogue scheduled)."""

    client_reference: str


Event: TypeAlias = (
    GuestSaid
    | GuestSentMedia
    | PmsAnswered
    | PmsFailed
    | OperatorConfirmedDeposit
    | OperatorRejectedDeposit
    | OperatorSaid
    | OperatorTookOver
    | OperatorReleased
    | HoldExpired
)

# --------------------------------------------------------------------------- effects


class SearchAvailability(_Base, frozen=True, kw_only=True, tag="search"):
    stay: Stay
    occupancy: Occupancy
    purpose: str = "offer"


class CreateBooking(_Base, frozen=True, kw_only=True, tag="create"):
    request: BookingRequest


class ModifyBooking(_Base, frozen=True, kw_only=True, tag="modify"):
    booking_id: str
    stay: Stay
    occupancy: Occupancy


class CancelBooking(_Base, frozen=True, kw_only=True, tag="cancel"):
    booking_id: str
    purpose: str = "guest"


class RecordPayment(_Base, frozen=True, kw_only=True, tag="record_payment"):
    booking_id: str
    payment: Payment


class FindBooking(_Base, frozen=True, kw_only=True, tag="find"):
    """Read a booking by its PMS id (what a guest calls their booking number)."""

    booking_id: str


class Option(msgspec.Struct, frozen=True, kw_only=True):
    """A choice offered with a reply: a button, a list row, or a numbered line of text."""

    id: str
    key: str
    params: dict[str, str] = {}


class Reply(_Base, frozen=True, kw_only=True, tag="reply"):
    """Say catalogue entry ``key`` with ``params``; ``attach`` asks for a voucher or a map pin."""

    key: str
    params: dict[str, str] = {}
    options: list[Option] = []
    attach: Literal["voucher", "location"] | None = None


class NotifyStaff(_Base, frozen=True, kw_only=True, tag="notify_staff"):
    """Tell the hotel's staff (and the on-call contact when ``urgent``) with a summary."""

    reason: str
    summary: dict[str, str] = {}
    urgent: bool = False


class ScheduleTimer(_Base, frozen=True, kw_only=True, tag="schedule_timer"):
    """Deliver ``HoldExpired(client_reference=key)`` to this conversation at ``at``."""

    at: dt.datetime
    key: str
    timer: Literal["hold_expired"] = "hold_expired"


Effect: TypeAlias = (
    SearchAvailability
    | CreateBooking
    | ModifyBooking
    | CancelBooking
    | RecordPayment
    | FindBooking
    | Reply
    | NotifyStaff
    | ScheduleTimer
)
PMS_EFFECTS = (SearchAvailability, CreateBooking, ModifyBooking, CancelBooking, RecordPayment,
               FindBooking)  # fmt: skip


class Context(msgspec.Struct, frozen=True, kw_only=True):
    """What the shell reads before calling ``step``: never read by the core itself."""

    hotel: Hotel
    now: dt.datetime
    today: dt.date
    conversation_ref: str
    staff_available: bool = True
    next_opening: dt.datetime | None = None
    flags: dict[str, bool] = {}
    capabilities: PmsCapabilities = PmsCapabilities()
    sender_phone: str | None = None
    sender_email: str | None = None
    handoff_minutes: int = 240
    channel: str = "webchat"


# --------------------------------------------------------------------------- helpers

_QUESTIONS = frozenset(
    {
        "ask_price", "ask_room_types", "ask_amenities", "ask_location", "ask_policies",
        "payment_info", "check_in_info", "check_out_info", "late_checkout", "business_hours_info",
    }
)  # fmt: skip
_UNSURE = 0.35  # below this confidence the agent says it did not understand
_UNSURE_YES_NO = 0.75
_URGENT = re.compile(r"\b(?:urgente|urgent|urgencia|emergencia|emergency|urgencia|socorro|help)\b")
_NAME_PREFIX = re.compile(
    r"^\s*(?:(?:mi nombre es|me llamo|soy|my name is|i am|i'm|name is|meu nome e|meu nome é|"
    r"me chamo|sou|a nombre de|em nome de|under|in the name of)\s+)",
    re.IGNORECASE,
)
_CENT = Decimal("0.01")
_REFUND = re.compile(r"devu[eé]l|devolu|devolv|reembols|refund|money back|my money|estorn")
_FISHING = re.compile(
    r"hu[eé]sped|guests?\b|h[oó]spedes|otros clientes|other (?:guests|customers)|base de datos|"
    r"database|instruc|instruç|prompt|admin|sistema|system|contraseñ|password|senha|"
    r"datos de|data of|dados d|habitaci[oó]n (?:de|del) |room is \w+ in|which room"
)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:10].upper()


def client_reference(context: Context, state: ConversationState) -> str:
    """Ours, deterministic: the same step retried after a crash asks for the same booking."""
    return f"AG-{_digest(context.conversation_ref, str(state.bookings_made))}"


def deposit_for(hotel: Hotel, total: Decimal) -> Decimal:
    """The seña the hotel asks for this total: a percentage or a fixed amount, never more."""
    if hotel.deposit.kind == "fixed":
        return min(hotel.deposit.value, total)
    return (total * hotel.deposit.value / 100).quantize(_CENT, rounding=ROUND_HALF_UP)


def cancellation_penalty(hotel: Hotel, r: ReservationView, now: dt.datetime) -> Decimal:
    """What cancelling costs now: the money paid, once inside the hotel's free window."""
    hours = hotel.deposit.free_cancellation_hours
    if hours is None or r.paid <= 0:
        return Decimal(0)
    check_in_at = dt.datetime.combine(r.check_in, dt.time(0), tzinfo=now.tzinfo)
    if check_in_at - now >= dt.timedelta(hours=hours):
        return Decimal(0)
    return r.paid


def _fold(state: ConversationState, intent: str | None) -> ConversationState:
    intents = [*state.intents, intent][-12:] if intent else state.intents
    return msgspec.structs.replace(
        state, turns=state.turns + 1, intents=intents, last_intent=intent or state.last_intent
    )


def _merge_slots(slots: Slots, e: Entities, today: dt.date) -> Slots:
    """The guest's new words over the old ones: a correction replaces, silence keeps."""
    changes: dict[str, object] = {}
    if e.check_in:
        changes["check_in"] = e.check_in
        changes["check_out"] = e.check_out
    elif e.check_out:
        changes["check_out"] = e.check_out
    if e.nights and not e.check_out:
        start = changes.get("check_in") or slots.check_in
        if isinstance(start, dt.date):
            changes["check_out"] = start + dt.timedelta(days=e.nights)
    if e.adults or e.children or e.guests:
        changes["adults"] = e.adults
        changes["children"] = e.children
        changes["children_ages"] = list(e.children_ages)
        changes["guests"] = e.guests
    if e.rooms:
        changes["rooms"] = e.rooms
    if e.room_type:
        changes["room_type"] = e.room_type
    merged = msgspec.structs.replace(slots, **changes) if changes else slots
    if merged.check_in and merged.check_in < today:
        merged = msgspec.structs.replace(merged, check_in=None, check_out=None)
    return merged


def _occupancy(slots: Slots) -> Occupancy:
    ages = list(slots.children_ages)
    adults = slots.adults or 0
    if not adults and slots.guests:
        adults = max(1, slots.guests - len(ages) - max(0, (slots.children or 0) - len(ages)))
    missing = max(0, (slots.children or 0) - len(ages))
    ages += [8] * missing  # a child whose age we were not told counts as a child
    return Occupancy(adults=max(1, adults), children_ages=ages)


def _room_name(hotel: Hotel, code: str, language: str) -> str:
    for rt in hotel.room_types:
        if rt.code == code:
            return rt.name.get(language) or rt.name.get(hotel.default_language) or code
    return code


def _say(key: str, **params: str) -> Reply:
    return Reply(key=key, params=params)


def _date(d: dt.date) -> str:
    return d.isoformat()


def _money(amount: Decimal, currency: str) -> str:
    return f"{currency} {amount}"


def _stay_params(check_in: dt.date, check_out: dt.date) -> dict[str, str]:
    return {
        "check_in": _date(check_in),
        "check_out": _date(check_out),
        "nights": str((check_out - check_in).days),
    }


def _summary(state: ConversationState, reason: str) -> dict[str, str]:
    out = {
        "reason": reason,
        "language": state.language or "",
        "intents": " > ".join(state.intents[-6:]),
        "guest_name": state.guest_name or "",
    }
    if state.reservation is not None:
        r = state.reservation
        out |= {
            "reservation": r.client_reference,
            "status": r.status,
            "pms_booking_id": r.pms_booking_id or "",
            "stay": f"{r.check_in} → {r.check_out}",
        }
    return out


# --------------------------------------------------------------------------- the transition


def step(
    state: ConversationState, event: Event, context: Context
) -> tuple[ConversationState, list[Effect]]:
    """One transition of the conversation. Pure: same inputs, same outputs."""
    match event:
        case GuestSaid():
            return _guest_said(state, event, context)
        case GuestSentMedia():
            return _guest_sent_media(state, event, context)
        case PmsAnswered():
            return _pms_answered(state, event, context)
        case PmsFailed():
            return _pms_failed(state, event, context)
        case OperatorConfirmedDeposit():
            return _operator_confirmed(state, event, context)
        case OperatorRejectedDeposit():
            return _operator_rejected(state, event, context)
        case OperatorSaid():
            return state, [Reply(key="staff.says", params={"text": event.text})]
        case OperatorTookOver():
            return msgspec.structs.replace(
                state, mode="human", handoff_reason="operator", human_until=None
            ), []
        case OperatorReleased():
            return msgspec.structs.replace(
                state, mode="bot", handoff_reason=None, human_until=None, not_understood=0
            ), []
        case HoldExpired():
            return _hold_expired(state, event, context)
    return state, []  # pragma: no cover - the union is closed


def _language(state: ConversationState, event_language: str | None, hotel: Hotel) -> str:
    language = event_language or state.language or hotel.default_language
    return language if language in ("es", "en", "pt") else "es"


def _silenced(state: ConversationState, context: Context) -> bool:
    """While staff handle the conversation the bot stays silent (until the timeout passes)."""
    if state.mode != "human":
        return False
    return state.human_until is None or context.now < state.human_until


def _guest_said(
    state: ConversationState, event: GuestSaid, context: Context
) -> tuple[ConversationState, list[Effect]]:
    language = _language(state, event.language, context.hotel)
    state = _fold(msgspec.structs.replace(state, language=language), event.intent)
    if _silenced(state, context):
        return state, []
    if state.mode == "human":  # the handoff timed out: the bot is back
        state = msgspec.structs.replace(state, mode="bot", handoff_reason=None, human_until=None)
    intent = event.intent or "out_of_scope"
    e = event.entities
    text = (event.text or "").strip()
    if event.message_kind == "reaction":
        return state, []  # an emoji on one of our messages: not a turn
    if not text and event.message_kind != "text":
        if event.message_kind == "voice":
            return state, [_say("voice.unsupported")]
        return state, [_say("ack.other")]  # a location, a contact card, something we can't read

    # an answer to what the agent just asked comes first
    answered = _answer_to_question(state, event, context)
    if answered is not None:
        return answered

    if event.confidence < _UNSURE and intent not in ("greeting", "goodbye", "affirm", "deny"):
        intent = "out_of_scope"
    elif event.confidence < _UNSURE_YES_NO and intent in ("affirm", "deny"):
        intent = "out_of_scope"  # a real "sí" or "no" is never in doubt; "zxcvb" may look like one
    if intent != "out_of_scope":
        state = msgspec.structs.replace(state, not_understood=0)

    match intent:
        case "greeting":
            key = "greeting.first" if state.turns <= 1 else "greeting.again"
            return state, [_say(key, hotel=context.hotel.name)]
        case "goodbye":
            return msgspec.structs.replace(state, expecting=None), [_say("goodbye")]
        case "opt_out":
            return msgspec.structs.replace(state, opted_out=True, expecting=None), [
                _say("opt_out.done")
            ]
        case "human_handoff":
            return _handoff(state, context, "requested", urgent=bool(_URGENT.search(text.lower())))
        case "complaint":
            return _handoff(state, context, "complaint", urgent=bool(_URGENT.search(text.lower())))
        case "out_of_scope":
            if _FISHING.search(text.lower()):
                # someone else's data, or the agent made to act as someone else: a polite no
                return state, [_say("privacy.refuse", hotel=context.hotel.name)]
            return _not_understood(state, context)
        case "affirm" | "deny":
            return state, [_say("ack.nothing_pending")]
        case "check_availability" | "make_reservation" | "inform":
            return _availability(state, e, context, intent)
        case "ask_price":
            if e.check_in or e.adults or e.guests or state.slots.check_in:
                return _availability(state, e, context, intent)
            return state, [_price_list(context, language, e.room_type)]
        case "payment_proof":
            return _proof(state, context, None)
        case "reservation_status":
            return _status(state, e, context, text)
        case "modify_reservation":
            return _modify(state, e, context)
        case "cancel_reservation":
            if _REFUND.search(text.lower()):
                return _handoff(state, context, "refund")  # money back: a person decides
            return _cancel(state, e, context)
        case "late_checkout":
            return _late_checkout(state, context, language)
    if intent in _QUESTIONS:
        return state, _answer_question(intent, e, context, language)
    return _not_understood(state, context)


# --------------------------------------------------------------------------- questions


def _price_list(context: Context, language: str, room_type: str | None) -> Reply:
    hotel = context.hotel
    lines = []
    for rt in hotel.room_types:
        if room_type and rt.code != room_type:
            continue
        lines.append(
            f"• {_room_name(hotel, rt.code, language)}: {_money(rt.base_rate, hotel.currency)}"
        )
    return _say("price.list", rooms="\n".join(lines))


def _answer_question(intent: str, e: Entities, context: Context, language: str) -> list[Effect]:
    hotel = context.hotel

    def local(texts: dict[str, str]) -> str:
        return (
            texts.get(language)
            or texts.get(hotel.default_language)
            or next(iter(texts.values()), "")
        )

    match intent:
        case "ask_room_types":
            lines = []
            for rt in hotel.room_types:
                if e.room_type and rt.code != e.room_type:
                    continue
                beds = local(rt.beds)
                lines.append(f"• {_room_name(hotel, rt.code, language)}: {beds} ({rt.max_guests})")
            return [_say("rooms.list", rooms="\n".join(lines))]
        case "ask_amenities":
            wanted = e.amenities or list(hotel.amenities)
            known = [local(hotel.amenities[a]) for a in wanted if a in hotel.amenities]
            missing = [a for a in wanted if a not in hotel.amenities]
            out: list[Effect] = []
            if known:
                out.append(_say("amenities.list", items="\n".join(f"• {k}" for k in known)))
            if missing:
                out.append(_say("amenities.missing", items=", ".join(missing)))
            return out
        case "ask_location":
            address = hotel.address
            if address is None:
                return [_say("location.unknown")]
            return [
                Reply(
                    key="location.info",
                    params={
                        "address": f"{address.street}, {address.city}",
                        "directions": local(address.directions),
                    },
                    attach="location" if address.latitude is not None else None,
                )
            ]
        case "ask_policies":
            topic = e.topic
            if topic and topic in hotel.policies:
                return [_say("policy.one", text=local(hotel.policies[topic]))]
            items = "\n".join(f"• {local(v)}" for v in hotel.policies.values())
            return [_say("policy.all", items=items)]
        case "payment_info":
            params = {
                "methods": local(hotel.payment_methods),
                "deposit": _deposit_rule(hotel),
                "hours": str(hotel.deposit.deadline_hours),
            }
            out = [_say("payment.info", **params)]
            if hotel.bank is not None:
                out.append(_say("payment.bank", **_bank(hotel)))
            return out
        case "check_in_info":
            return [
                _say("check_in.info", time=hotel.check_in_time, early=local(hotel.early_check_in))
            ]
        case "check_out_info":
            return [_say("check_out.info", time=hotel.check_out_time)]
        case "business_hours_info":
            return [_say("hours.info", schedule=_hours_text(hotel))]
        case "ask_price":
            return [_price_list(context, language, e.room_type)]
    return [_say("fallback")]


def _deposit_rule(hotel: Hotel) -> str:
    if hotel.deposit.kind == "percent":
        return f"{hotel.deposit.value.normalize():f}%"
    return _money(hotel.deposit.value, hotel.currency)


def _bank(hotel: Hotel) -> dict[str, str]:
    bank = hotel.bank
    if bank is None:
        return {}
    return {
        "bank": bank.bank,
        "holder": bank.holder,
        "tax_id": bank.tax_id or "-",
        "cbu": bank.cbu or bank.account or "-",
        "alias": bank.alias or "-",
    }


def _hours_text(hotel: Hotel) -> str:
    parts = []
    for h in hotel.business_hours:
        days = ",".join(str(d) for d in h.days)
        parts.append(f"{days}|{h.open}|{h.close}")
    return ";".join(parts)


def _late_checkout(
    state: ConversationState, context: Context, language: str
) -> tuple[ConversationState, list[Effect]]:
    hotel = context.hotel
    rule = hotel.late_checkout.get(language) or hotel.late_checkout.get(hotel.default_language, "")
    r = state.reservation
    if r is None or r.status in ("cancelled", "expired", "failed"):
        return state, [_say("late_checkout.rule", time=hotel.check_out_time, rule=rule)]
    # is the room free the night after the stay? then a late checkout can be granted
    stay = Stay(check_in=r.check_out, check_out=r.check_out + dt.timedelta(days=1))
    return state, [
        _say("late_checkout.rule", time=hotel.check_out_time, rule=rule),
        SearchAvailability(
            stay=stay, occupancy=Occupancy(adults=1), purpose=f"late_checkout:{r.room_type}"
        ),
    ]


# --------------------------------------------------------------------------- availability


def _availability(
    state: ConversationState, e: Entities, context: Context, intent: str
) -> tuple[ConversationState, list[Effect]]:
    if e.invalid_dates:
        slots = msgspec.structs.replace(state.slots, check_in=None, check_out=None)
        state = msgspec.structs.replace(state, slots=slots, expecting="dates")
        return state, [_say("ask.dates_invalid")]
    slots = _merge_slots(state.slots, e, context.today)
    state = msgspec.structs.replace(state, slots=slots)
    if state.offers and intent == "make_reservation" and not (e.check_in or e.guests or e.adults):
        choice = _pick_offer(state, e.room_type, None, "")
        if choice is not None:
            return _chose(state, choice, context)
        return state, [_offers_reply(state, context)]
    if intent == "inform" and not (e.check_in or e.check_out or e.nights or e.adults
                                   or e.guests or e.children or e.room_type or e.rooms):  # fmt: skip
        return _not_understood(state, context)
    if slots.check_in is None:
        return msgspec.structs.replace(state, expecting="dates"), [_say("ask.dates")]
    if slots.check_out is None:
        return msgspec.structs.replace(state, expecting="nights"), [
            _say("ask.nights", check_in=_date(slots.check_in))
        ]
    if slots.party is None:
        return msgspec.structs.replace(state, expecting="people"), [_say("ask.people")]
    return _search(state, context)


def _search(
    state: ConversationState, context: Context, shift: int = 0
) -> tuple[ConversationState, list[Effect]]:
    slots = state.slots
    assert slots.check_in is not None and slots.check_out is not None
    delta = dt.timedelta(days=shift)
    stay = Stay(check_in=slots.check_in + delta, check_out=slots.check_out + delta)
    state = msgspec.structs.replace(
        state, expecting=None, offers=[], alternative_shift=shift if shift else None
    )
    return state, [SearchAvailability(stay=stay, occupancy=_occupancy(slots), purpose="offer")]


_SHIFTS = (1, -1, 2, -2, 7)


def _offers_found(
    state: ConversationState, offers: list[Offer], context: Context
) -> tuple[ConversationState, list[Effect]]:
    slots = state.slots
    assert slots.check_in is not None and slots.check_out is not None
    shift = state.alternative_shift or 0
    if not offers:
        if context.today <= slots.check_in + dt.timedelta(days=_next_shift(shift) or 0):
            nxt = _next_shift(shift)
            if nxt is not None and slots.check_in + dt.timedelta(days=nxt) >= context.today:
                return _search(state, context, nxt)
        state = msgspec.structs.replace(state, alternative_shift=None, expecting="dates")
        return state, [_say("offers.none", **_stay_params(slots.check_in, slots.check_out))]
    nights = (slots.check_out - slots.check_in).days
    views = [
        OfferView(
            room_type=o.room_type, total=o.total, currency=o.currency, nights=nights,
            max_guests=o.max_guests,
        )
        for o in offers
    ]  # fmt: skip
    effects: list[Effect] = []
    if shift:  # the dates the guest asked for were full: these are the nearest ones
        delta = dt.timedelta(days=shift)
        slots = msgspec.structs.replace(
            slots, check_in=slots.check_in + delta, check_out=slots.check_out + delta
        )
        assert slots.check_in is not None and slots.check_out is not None
        effects.append(_say("offers.shifted", **_stay_params(slots.check_in, slots.check_out)))
    wanted = slots.room_type
    if wanted and all(v.room_type != wanted for v in views):
        effects.append(_say("offers.other_types", room=wanted))
    state = msgspec.structs.replace(
        state, slots=slots, offers=views, expecting="choice", alternative_shift=None
    )
    if wanted and any(v.room_type == wanted for v in views):
        state = msgspec.structs.replace(
            state,
            offers=[v for v in views if v.room_type == wanted]
            + [v for v in views if v.room_type != wanted],
        )
    effects.append(_offers_reply(state, context))
    if any(o.stale for o in offers):  # the PMS did not answer: a recent answer, said as such
        effects.append(_say("offers.stale"))
    return state, effects


def _next_shift(shift: int) -> int | None:
    if shift == 0:
        return _SHIFTS[0]
    i = _SHIFTS.index(shift) if shift in _SHIFTS else len(_SHIFTS)
    return _SHIFTS[i + 1] if i + 1 < len(_SHIFTS) else None


def _offers_reply(state: ConversationState, context: Context) -> Reply:
    language = state.language or context.hotel.default_language
    slots = state.slots
    assert slots.check_in is not None and slots.check_out is not None
    options = [
        Option(
            id=f"offer:{v.room_type}",
            key="offer.line",
            params={
                "room": _room_name(context.hotel, v.room_type, language),
                "per_night": _money((v.total / max(1, v.nights)).quantize(_CENT), v.currency),
                "total": _money(v.total, v.currency),
            },
        )
        for v in state.offers[:6]
    ]
    return Reply(
        key="offers.intro",
        params={**_stay_params(slots.check_in, slots.check_out), "guests": str(slots.party)},
        options=options,
    )


def _pick_offer(
    state: ConversationState, room_type: str | None, choice_id: str | None, text: str
) -> OfferView | None:
    if not state.offers:
        return None
    if choice_id and choice_id.startswith("offer:"):
        code = choice_id.removeprefix("offer:")
        return next((v for v in state.offers if v.room_type == code), None)
    number = text.strip().rstrip(".)").strip()
    if number.isdigit() and 1 <= int(number) <= min(6, len(state.offers)):
        return state.offers[int(number) - 1]
    if room_type:
        return next((v for v in state.offers if v.room_type == room_type), None)
    if len(state.offers) == 1:
        return state.offers[0]
    return None


def _chose(
    state: ConversationState, offer: OfferView, context: Context
) -> tuple[ConversationState, list[Effect]]:
    state = msgspec.structs.replace(state, chosen=offer.room_type)
    return _collect_guest(state, context)


def _collect_guest(
    state: ConversationState, context: Context
) -> tuple[ConversationState, list[Effect]]:
    if not state.guest_name:
        return msgspec.structs.replace(state, expecting="name"), [_say("ask.name")]
    email = state.guest_email or context.sender_email
    if not email:
        return msgspec.structs.replace(state, expecting="email"), [_say("ask.email")]
    return _book(msgspec.structs.replace(state, guest_email=email), context)


def _book(state: ConversationState, context: Context) -> tuple[ConversationState, list[Effect]]:
    slots = state.slots
    offer = next((v for v in state.offers if v.room_type == state.chosen), None)
    if offer is None or slots.check_in is None or slots.check_out is None:
        return msgspec.structs.replace(state, expecting=None), [_say("ask.dates")]
    if not context.capabilities.create_booking:
        return _handoff(state, context, "pms_cannot_book")
    ref = client_reference(context, state)
    occupancy = _occupancy(slots)
    request = BookingRequest(
        client_reference=ref,
        room_type=offer.room_type,
        stay=Stay(check_in=slots.check_in, check_out=slots.check_out),
        occupancy=occupancy,
        guest=PartyGuest(
            name=state.guest_name or "", email=state.guest_email, phone=context.sender_phone
        ),
        rooms=slots.rooms or 1,
    )
    reservation = ReservationView(
        client_reference=ref,
        status="requested",
        room_type=offer.room_type,
        check_in=slots.check_in,
        check_out=slots.check_out,
        adults=occupancy.adults,
        children_ages=occupancy.children_ages,
        rooms=slots.rooms or 1,
        total=offer.total,
        currency=offer.currency,
        guest_name=state.guest_name or "",
        guest_email=state.guest_email,
    )
    state = msgspec.structs.replace(state, expecting=None, reservation=reservation)
    return state, [CreateBooking(request=request)]


def _answer_to_question(
    state: ConversationState, event: GuestSaid, context: Context
) -> tuple[ConversationState, list[Effect]] | None:
    """What the guest says right after the agent asked something, read in that light."""
    intent = event.intent or "out_of_scope"
    e = event.entities
    text = (event.text or "").strip()
    expecting = state.expecting
    if expecting == "choice":
        offer = _pick_offer(state, e.room_type, event.choice_id, text)
        if offer is not None and intent not in ("deny", "cancel_reservation", "modify_reservation"):
            return _chose(state, offer, context)
        if intent == "affirm" and len(state.offers) > 1:
            return state, [_offers_reply(state, context)]
        return None
    if expecting == "name":
        if intent in ("inform", "out_of_scope", "greeting", "affirm") or event.confidence < 0.6:
            name = _NAME_PREFIX.sub("", text).strip(" .,!")
            if e.email:
                state = msgspec.structs.replace(state, guest_email=e.email)
                name = name.replace(e.email, "").strip(" .,!-")
            if 2 <= len(name) <= 80 and not name.isdigit():
                return _collect_guest(msgspec.structs.replace(state, guest_name=name), context)
            return state, [_say("ask.name")]
        return None
    if expecting == "email":
        if e.email:
            return _collect_guest(msgspec.structs.replace(state, guest_email=e.email), context)
        if intent in ("inform", "out_of_scope", "affirm"):
            return state, [_say("ask.email_again")]
        return None
    if expecting in ("nights", "dates") and e.nights and not e.check_in:
        slots = state.slots
        if slots.check_in is not None:
            out = slots.check_in + dt.timedelta(days=e.nights)
            state = msgspec.structs.replace(
                state, slots=msgspec.structs.replace(slots, check_out=out)
            )
            rest = msgspec.structs.replace(e, nights=None, check_out=None)
            return _availability(state, rest, context, "check_availability")
    if expecting in ("dates", "nights", "people") and intent in ("inform", "check_availability",
                                                                 "make_reservation"):  # fmt: skip
        return _availability(state, e, context, "check_availability")
    if expecting in ("confirm_modify", "confirm_cancel"):
        intent = _yes_or_no(intent, text, event.choice_id)
    if expecting == "confirm_modify":
        if intent == "affirm":
            return _apply_modify(state, context)
        if intent == "deny":
            return msgspec.structs.replace(state, pending=None, expecting=None), [
                _say("modify.kept")
            ]
        return None
    if expecting == "confirm_cancel":
        if intent == "affirm":
            r = state.reservation
            if r is None or r.pms_booking_id is None:
                return msgspec.structs.replace(state, expecting=None, pending=None), [
                    _say("booking.none")
                ]
            return msgspec.structs.replace(state, expecting=None), [
                CancelBooking(booking_id=r.pms_booking_id, purpose="guest")
            ]
        if intent == "deny":
            return msgspec.structs.replace(state, pending=None, expecting=None), [
                _say("cancel.kept")
            ]
        return None
    if expecting == "lookup" and (e.booking_ref or e.email):
        return _status(state, e, context, text)
    return None


_NO_WORDS = frozenset({"no", "nop", "nope", "nah", "nao", "não", "negativo", "mejor", "nunca"})
_YES_WORDS = frozenset({"si", "sí", "sip", "yes", "yep", "sim", "dale", "ok", "okay", "claro"})


def _yes_or_no(intent: str, text: str, choice_id: str | None) -> str:
    """An answer to a yes/no question: a tapped button, or the first word when it is plain."""
    if choice_id in ("yes", "no"):
        return "affirm" if choice_id == "yes" else "deny"
    if intent in ("affirm", "deny"):
        return intent
    words = re.findall(r"\w+", text.lower())
    if words and words[0] in _NO_WORDS:
        return "deny"
    if words and words[0] in _YES_WORDS:
        return "affirm"
    return intent


# --------------------------------------------------------------------------- bookings


def _is_mine(
    state: ConversationState, booking: Booking, context: Context, email: str | None
) -> bool:
    """A booking belongs to this guest when its phone or e-mail is theirs."""
    mine_emails = {x.lower() for x in (email, state.guest_email, context.sender_email) if x}
    if booking.guest.email and booking.guest.email.lower() in mine_emails:
        return True
    digits = re.sub(r"\D", "", booking.guest.phone or "")
    sender = re.sub(r"\D", "", context.sender_phone or "")
    return bool(digits) and digits == sender


def _status(
    state: ConversationState, e: Entities, context: Context, text: str
) -> tuple[ConversationState, list[Effect]]:
    r = state.reservation
    ref = e.booking_ref
    if r is not None and (ref is None or ref in (r.pms_booking_id, r.client_reference)):
        return msgspec.structs.replace(state, expecting=None), _status_reply(r, text)
    if ref is None:
        return msgspec.structs.replace(state, expecting="lookup"), [_say("ask.booking_ref")]
    pending = PendingChange(kind="lookup", reference=ref, email=e.email)
    return msgspec.structs.replace(state, pending=pending, expecting=None), [
        FindBooking(booking_id=ref.removeprefix("RES-").removeprefix("#"))
    ]


_VOUCHER_WORDS = re.compile(r"voucher|comprobante|confirmaci|confirmation|reenvi|resend|mand")


def _status_reply(r: ReservationView, text: str) -> list[Effect]:
    params = {
        "reference": r.pms_booking_id or r.client_reference,
        "status": r.status,
        **_stay_params(r.check_in, r.check_out),
    }
    if r.status == "confirmed":
        out: list[Effect] = [_say("status.confirmed", **params)]
        if _VOUCHER_WORDS.search(text.lower()):
            out.append(Reply(key="voucher.resent", params=params, attach="voucher"))
        return out
    return [_say(f"status.{r.status}", **params)]


def _modify(
    state: ConversationState, e: Entities, context: Context
) -> tuple[ConversationState, list[Effect]]:
    r = state.reservation
    if r is None or r.status not in ("pending_deposit", "awaiting_verification", "confirmed"):
        if e.booking_ref:
            return _status(state, e, context, "")
        return msgspec.structs.replace(state, expecting="lookup"), [_say("ask.booking_ref")]
    if not context.capabilities.modify_booking or r.pms_booking_id is None:
        return _handoff(state, context, "pms_cannot_modify")
    check_in = e.check_in or r.check_in
    if e.check_out:
        check_out = e.check_out
    elif e.nights:
        check_out = check_in + dt.timedelta(days=e.nights)
    elif e.check_in:
        check_out = check_in + (r.check_out - r.check_in)
    else:
        check_out = r.check_out
    adults = e.adults or (e.guests - len(e.children_ages) if e.guests else None) or r.adults
    ages = list(e.children_ages) or (r.children_ages if not e.guests else [])
    if (check_in, check_out, adults, ages) == (r.check_in, r.check_out, r.adults,
                                                r.children_ages):  # fmt: skip
        return msgspec.structs.replace(state, expecting="modify_what"), [_say("modify.ask_what")]
    pending = PendingChange(
        kind="modify", check_in=check_in, check_out=check_out, adults=adults, children_ages=ages
    )
    stay = Stay(check_in=check_in, check_out=check_out)
    return msgspec.structs.replace(state, pending=pending), [
        SearchAvailability(
            stay=stay,
            occupancy=Occupancy(adults=max(1, adults), children_ages=ages),
            purpose="modify",
        )
    ]


def _apply_modify(
    state: ConversationState, context: Context
) -> tuple[ConversationState, list[Effect]]:
    r, p = state.reservation, state.pending
    if r is None or p is None or p.check_in is None or p.check_out is None or not r.pms_booking_id:
        return msgspec.structs.replace(state, expecting=None, pending=None), [_say("fallback")]
    return msgspec.structs.replace(state, expecting=None), [
        ModifyBooking(
            booking_id=r.pms_booking_id,
            stay=Stay(check_in=p.check_in, check_out=p.check_out),
            occupancy=Occupancy(adults=max(1, p.adults or r.adults), children_ages=p.children_ages),
        )
    ]


def _cancel(
    state: ConversationState, e: Entities, context: Context
) -> tuple[ConversationState, list[Effect]]:
    r = state.reservation
    if r is None or r.status in ("cancelled", "expired", "failed"):
        if e.booking_ref:
            return _status(state, e, context, "")
        return msgspec.structs.replace(state, expecting="lookup"), [_say("ask.booking_ref")]
    if r.pms_booking_id is None:
        return _handoff(state, context, "cancel_without_booking")
    penalty = cancellation_penalty(context.hotel, r, context.now)
    pending = PendingChange(kind="cancel", penalty=penalty)
    state = msgspec.structs.replace(state, pending=pending, expecting="confirm_cancel")
    params = {
        "reference": r.pms_booking_id,
        **_stay_params(r.check_in, r.check_out),
        "penalty": _money(penalty, r.currency),
    }
    key = "cancel.confirm_free" if penalty == 0 else "cancel.confirm_penalty"
    return state, [Reply(key=key, params=params, options=_yes_no())]


def _yes_no() -> list[Option]:
    return [Option(id="yes", key="option.yes"), Option(id="no", key="option.no")]


def _proof(
    state: ConversationState, context: Context, media: Media | None
) -> tuple[ConversationState, list[Effect]]:
    r = state.reservation
    if r is None or r.status not in ("pending_deposit", "awaiting_verification"):
        if media is not None:
            return state, [_say("media.no_pending")]
        return state, [_say("proof.no_pending")]
    proofs = [*r.proofs, media] if media is not None else r.proofs
    reservation = msgspec.structs.replace(r, status="awaiting_verification", proofs=proofs)
    state = msgspec.structs.replace(state, reservation=reservation, expecting=None)
    effects: list[Effect] = []
    if media is None and not r.proofs:
        # "ya te transferí" with nothing attached: ask for the receipt, and tell staff anyway
        effects.append(_say("proof.ask_receipt"))
    else:
        effects.append(_say("proof.received", reference=r.pms_booking_id or r.client_reference))
    effects.append(NotifyStaff(reason="payment_proof", summary=_summary(state, "payment_proof")))
    return state, effects


def _guest_sent_media(
    state: ConversationState, event: GuestSentMedia, context: Context
) -> tuple[ConversationState, list[Effect]]:
    state = _fold(state, "payment_proof")
    if _silenced(state, context):
        # staff are on it; a receipt still belongs with the reservation
        r = state.reservation
        if r is not None and r.status in ("pending_deposit", "awaiting_verification"):
            r = msgspec.structs.replace(
                r, status="awaiting_verification", proofs=[*r.proofs, event.media]
            )
            return msgspec.structs.replace(state, reservation=r), []
        return state, []
    return _proof(state, context, event.media)


# --------------------------------------------------------------------------- PMS answers


def _pms_answered(
    state: ConversationState, event: PmsAnswered, context: Context
) -> tuple[ConversationState, list[Effect]]:
    hotel = context.hotel
    match event.op:
        case "search" if event.purpose == "offer":
            return _offers_found(state, event.offers, context)
        case "search" if event.purpose == "modify":
            return _modify_quoted(state, event.offers, context)
        case "search" if event.purpose.startswith("late_checkout:"):
            room = event.purpose.split(":", 1)[1]
            free = any(o.room_type == room for o in event.offers)
            return state, [_say("late_checkout.free" if free else "late_checkout.busy")]
        case "create" if event.booking is not None:
            return _booked(state, event.booking, context)
        case "modify" if event.booking is not None and state.reservation is not None:
            b = event.booking
            r = msgspec.structs.replace(
                state.reservation,
                check_in=b.stay.check_in,
                check_out=b.stay.check_out,
                adults=b.occupancy.adults,
                children_ages=list(b.occupancy.children_ages),
                total=b.total,
            )
            state = msgspec.structs.replace(state, reservation=r, pending=None, expecting=None)
            params = {**_stay_params(r.check_in, r.check_out), "total": _money(r.total, r.currency)}
            return state, [_say("modify.done", **params)]
        case "cancel" if state.reservation is not None:
            expired = event.purpose == "expire"
            status: Literal["expired", "cancelled"] = "expired" if expired else "cancelled"
            r = msgspec.structs.replace(state.reservation, status=status)
            state = msgspec.structs.replace(state, reservation=r, pending=None, expecting=None)
            params = {"reference": r.pms_booking_id or r.client_reference,
                      **_stay_params(r.check_in, r.check_out)}  # fmt: skip
            return state, [_say("hold.expired" if expired else "cancel.done", **params)]
        case "record_payment" if state.reservation is not None:
            return _confirmed(state, event.booking, context)
        case "find" if event.booking is not None:
            return _found(state, event.booking, context)
    del hotel
    return state, []


def _booked(
    state: ConversationState, booking: Booking, context: Context
) -> tuple[ConversationState, list[Effect]]:
    hotel = context.hotel
    r = state.reservation
    if r is None:
        return state, []
    deposit = deposit_for(hotel, booking.total)
    deadline = context.now + dt.timedelta(hours=hotel.deposit.deadline_hours)
    r = msgspec.structs.replace(
        r,
        status="pending_deposit",
        pms_booking_id=booking.booking_id,
        total=booking.total,
        currency=booking.currency,
        deposit_due=deposit,
        deposit_deadline=deadline,
    )
    state = msgspec.structs.replace(
        state,
        reservation=r,
        offers=[],
        chosen=None,
        slots=Slots(),
        expecting=None,
        bookings_made=state.bookings_made + 1,
    )
    language = state.language or hotel.default_language
    params = {
        "reference": booking.booking_id,
        "room": _room_name(hotel, r.room_type, language),
        **_stay_params(r.check_in, r.check_out),
        "total": _money(booking.total, booking.currency),
        "deposit": _money(deposit, booking.currency),
        "deadline": deadline.isoformat(),
        "hours": str(hotel.deposit.deadline_hours),
    }
    effects: list[Effect] = [_say("booking.created", **params)]
    if hotel.bank is not None:
        effects.append(_say("payment.bank", **_bank(hotel)))
    effects.append(ScheduleTimer(at=deadline, key=r.client_reference))
    return state, effects


def _modify_quoted(
    state: ConversationState, offers: list[Offer], context: Context
) -> tuple[ConversationState, list[Effect]]:
    r, p = state.reservation, state.pending
    if r is None or p is None or p.check_in is None or p.check_out is None:
        return state, [_say("fallback")]
    offer = next((o for o in offers if o.room_type == r.room_type), None)
    if offer is None:
        state = msgspec.structs.replace(state, pending=None, expecting=None)
        return state, [_say("modify.unavailable", **_stay_params(p.check_in, p.check_out))]
    difference = offer.total - r.total
    pending = msgspec.structs.replace(p, new_total=offer.total)
    state = msgspec.structs.replace(state, pending=pending, expecting="confirm_modify")
    params = {
        **_stay_params(p.check_in, p.check_out),
        "guests": str((p.adults or r.adults) + len(p.children_ages)),
        "total": _money(offer.total, offer.currency),
        "difference": _money(difference, offer.currency),
    }
    return state, [Reply(key="modify.quote", params=params, options=_yes_no())]


def _confirmed(
    state: ConversationState, booking: Booking | None, context: Context
) -> tuple[ConversationState, list[Effect]]:
    r = state.reservation
    assert r is not None
    paid = booking.paid if booking is not None else (r.deposit_due or Decimal(0))
    r = msgspec.structs.replace(r, status="confirmed", paid=paid)
    state = msgspec.structs.replace(state, reservation=r)
    params = {
        "reference": r.pms_booking_id or r.client_reference,
        **_stay_params(r.check_in, r.check_out),
        "paid": _money(r.paid, r.currency),
        "balance": _money(r.total - r.paid, r.currency),
    }
    return state, [Reply(key="booking.confirmed", params=params, attach="voucher")]


def _found(
    state: ConversationState, booking: Booking, context: Context
) -> tuple[ConversationState, list[Effect]]:
    p = state.pending
    email = p.email if p is not None else None
    state = msgspec.structs.replace(state, pending=None)
    if not _is_mine(state, booking, context, email):
        # never say whether the booking exists: ask for what proves it is theirs
        return msgspec.structs.replace(state, expecting="lookup"), [_say("lookup.not_yours")]
    status = {"pending": "pending_deposit", "confirmed": "confirmed", "cancelled": "cancelled"}
    r = ReservationView(
        client_reference=booking.client_reference,
        status=status[booking.status],  # type: ignore[arg-type]
        room_type=booking.room_type,
        check_in=booking.stay.check_in,
        check_out=booking.stay.check_out,
        adults=booking.occupancy.adults,
        children_ages=list(booking.occupancy.children_ages),
        rooms=booking.rooms,
        total=booking.total,
        currency=booking.currency,
        guest_name=booking.guest.name,
        guest_email=booking.guest.email,
        pms_booking_id=booking.booking_id,
        paid=booking.paid,
        deposit_due=deposit_for(context.hotel, booking.total),
    )
    state = msgspec.structs.replace(state, reservation=r, expecting=None)
    return state, _status_reply(r, "")


def _pms_failed(
    state: ConversationState, event: PmsFailed, context: Context
) -> tuple[ConversationState, list[Effect]]:
    """An honest reply, the request kept, and staff told when a booking is at stake."""
    if event.error == "not_available" and event.op in ("create", "modify"):
        if event.op == "create" and state.reservation is not None:
            r = msgspec.structs.replace(state.reservation, status="failed")
            state = msgspec.structs.replace(state, reservation=r, chosen=None, expecting=None)
            if state.slots.check_in is not None and state.slots.check_out is not None:
                s2, effects = _search(state, context)
                return s2, [_say("booking.gone"), *effects]
            return state, [_say("booking.gone")]
        return msgspec.structs.replace(state, pending=None, expecting=None), [
            _say("modify.unavailable_now")
        ]
    if event.op == "find":
        state = msgspec.structs.replace(state, pending=None, expecting="lookup")
        if event.error == "not_found":
            return state, [_say("lookup.not_yours")]
        return state, [_say("pms.down_lookup")]
    if event.op == "search" and event.purpose.startswith("late_checkout:"):
        return state, [_say("late_checkout.unknown")]
    summary = _summary(state, f"pms_{event.op}_{event.error}")
    if event.op == "search":
        return state, [
            _say("pms.down_search"),
            NotifyStaff(reason="pms_failure", summary=summary),
        ]
    # a write failed: keep what the guest asked for (the reservation row stays "requested")
    return state, [_say("pms.down_write"), NotifyStaff(reason="pms_failure", summary=summary)]


def _operator_confirmed(
    state: ConversationState, event: OperatorConfirmedDeposit, context: Context
) -> tuple[ConversationState, list[Effect]]:
    r = state.reservation
    if r is None or r.client_reference != event.client_reference:
        return state, []
    if r.status not in ("pending_deposit", "awaiting_verification"):
        return state, []
    amount = event.amount if event.amount is not None else (r.deposit_due or Decimal(0))
    if not context.capabilities.record_payment or r.pms_booking_id is None:
        r = msgspec.structs.replace(r, paid=amount)
        return _confirmed(msgspec.structs.replace(state, reservation=r), None, context)
    payment = Payment(amount=amount, method="bank_transfer", reference=f"{r.client_reference}-D")
    return state, [RecordPayment(booking_id=r.pms_booking_id, payment=payment)]


def _operator_rejected(
    state: ConversationState, event: OperatorRejectedDeposit, context: Context
) -> tuple[ConversationState, list[Effect]]:
    r = state.reservation
    if r is None or r.client_reference != event.client_reference:
        return state, []
    if r.status not in ("pending_deposit", "awaiting_verification"):
        return state, []
    r = msgspec.structs.replace(r, status="pending_deposit")  # the hold's deadline still runs
    state = msgspec.structs.replace(state, reservation=r)
    params = {"reference": r.pms_booking_id or r.client_reference, "reason": event.reason or "-"}
    return state, [_say("deposit.rejected", **params)]


def _hold_expired(
    state: ConversationState, event: HoldExpired, context: Context
) -> tuple[ConversationState, list[Effect]]:
    r = state.reservation
    if r is None or r.client_reference != event.client_reference or r.status != "pending_deposit":
        return state, []  # paid, being checked, or already gone: the hold stands
    if r.pms_booking_id is None:
        return msgspec.structs.replace(
            state, reservation=msgspec.structs.replace(r, status="expired")
        ), []
    return state, [CancelBooking(booking_id=r.pms_booking_id, purpose="expire")]


# --------------------------------------------------------------------------- handoff


def _handoff(
    state: ConversationState, context: Context, reason: str, *, urgent: bool = False
) -> tuple[ConversationState, list[Effect]]:
    until = context.now + dt.timedelta(minutes=context.handoff_minutes)
    state = msgspec.structs.replace(
        state, mode="human", handoff_reason=reason, human_until=until, expecting=None,
        not_understood=0,
    )  # fmt: skip
    summary = _summary(state, reason)
    effects: list[Effect] = []
    if reason == "complaint":
        effects.append(_say("complaint.sorry"))
    if context.staff_available:
        effects.append(_say("handoff.now"))
        effects.append(NotifyStaff(reason=reason, summary=summary))
    else:
        when = context.next_opening.isoformat() if context.next_opening else ""
        effects.append(_say("handoff.later_urgent" if urgent else "handoff.later", opens=when))
        effects.append(NotifyStaff(reason=reason, summary=summary, urgent=urgent))
    return state, effects


def _not_understood(
    state: ConversationState, context: Context
) -> tuple[ConversationState, list[Effect]]:
    count = state.not_understood + 1
    if count >= 2:
        return _handoff(state, context, "not_understood")
    return msgspec.structs.replace(state, not_understood=count), [
        _say("fallback", hotel=context.hotel.name)
    ]
