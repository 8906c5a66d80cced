"""Hypothesis stateful tests of the pure dialogue: whatever the guest, staff, clock and PMS do.

The machine drives ``step`` the way the shell does, with a tiny in-memory PMS answering every PMS
effect, and checks after every event:

* a reservation is never ``confirmed`` unless staff confirmed that very reservation's deposit;
* while the conversation is with staff (and the handoff has not timed out) the bot says nothing;
* no effect is lost: every PMS effect gets exactly one answer, and a guest in a bot
  conversation always gets a reply or a PMS query;
* the state survives being stored: it encodes to JSON and decodes to itself.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import msgspec
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from agente.domain import Booking, ConversationState, Media, Offer
from agente.hotels import load_hotels_file
from agente.pipeline import (
    CancelBooking,
    Context,
    CreateBooking,
    Effect,
    Event,
    FindBooking,
    GuestSaid,
    GuestSentMedia,
    HoldExpired,
    ModifyBooking,
    OperatorConfirmedDeposit,
    OperatorReleased,
    OperatorTookOver,
    PmsAnswered,
    PmsFailed,
    RecordPayment,
    Reply,
    SearchAvailability,
    step,
)
from agente.pipeline.entities import Entities
from agente.pipeline.understand import INTENTS

HOTEL = load_hotels_file(None)[0]
START = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)
_STATE = msgspec.json.Decoder(ConversationState)

days = st.integers(min_value=-3, max_value=60)
entities = st.builds(
    Entities,
    check_in=st.one_of(st.none(), days.map(lambda d: START.date() + dt.timedelta(days=d))),
    nights=st.one_of(st.none(), st.integers(min_value=1, max_value=14)),
    adults=st.one_of(st.none(), st.integers(min_value=1, max_value=6)),
    children_ages=st.lists(st.integers(min_value=0, max_value=17), max_size=3),
    room_type=st.one_of(st.none(), st.sampled_from(["single", "double", "twin", "family", "x"])),
    booking_ref=st.one_of(st.none(), st.sampled_from(["MOCK-000001", "MOCK-000002", "99"])),
    email=st.one_of(st.none(), st.just("guest@example.com")),
    invalid_dates=st.booleans(),
)
texts = st.one_of(
    st.sampled_from(["1", "2", "sí", "no", "Ana Pérez", "ok", "ya pagué", "urgente"]), st.text()
)


class Dialogue(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.state = ConversationState()
        self.now = START
        self.pms_mode = "up"
        self.bookings: dict[str, Booking] = {}
        self.confirmed_by_staff: set[str] = set()
        self.last_effects: list[Effect] = []
        self.last_event: Event | None = None
        self.silenced_before = False

    # ------------------------------------------------------------------ the shell, in small

    def context(self) -> Context:
        return Context(
            hotel=HOTEL,
            now=self.now,
            today=self.now.date(),
            conversation_ref="conv",
            staff_available=self.now.hour % 2 == 0,
            next_opening=self.now + dt.timedelta(hours=1),
            sender_email="guest@example.com",
        )

    def feed(self, event: Event) -> None:
        self.silenced_before = self.state.mode == "human" and (
            self.state.human_until is None or self.now < self.state.human_until
        )
        self.last_event = event
        self.last_effects = []
        pending: list[Event] = [event]
        for _ in range(20):
            if not pending:
                break
            self.state, effects = step(self.state, pending.pop(0), self.context())
            self.last_effects.extend(effects)
            answers = [a for a in (self.answer(e) for e in effects) if a is not None]
            pms_effects = [e for e in effects if not isinstance(e, Reply) and self.is_pms(e)]
            assert len(answers) == len(pms_effects), "every PMS effect gets exactly one answer"
            pending.extend(answers)
        assert not pending, "the conversation settles"

    @staticmethod
    def is_pms(effect: Effect) -> bool:
        return isinstance(
            effect,
            (SearchAvailability, CreateBooking, ModifyBooking, CancelBooking, RecordPayment,
             FindBooking),
        )  # fmt: skip

    def answer(self, effect: Effect) -> Event | None:
        """The tiny PMS: right enough to keep the dialogue honest, wrong when told to be."""
        if not self.is_pms(effect):
            return None
        op = {
            SearchAvailability: "search", CreateBooking: "create", ModifyBooking: "modify",
            CancelBooking: "cancel", RecordPayment: "record_payment", FindBooking: "find",
        }[type(effect)]  # fmt: skip
        purpose = getattr(effect, "purpose", "")
        if self.pms_mode == "down":
            return PmsFailed(op=op, purpose=purpose, error="transient", retryable=True)  # type: ignore[arg-type]
        match effect:
            case SearchAvailability():
                if self.pms_mode == "full":
                    return PmsAnswered(op="search", purpose=purpose, offers=[])
                nights = effect.stay.nights
                offers = [
                    Offer(
                        room_type=rt.code, name=rt.code, units_left=1, nightly=[],
                        total=rt.base_rate * nights, currency="ARS", max_guests=rt.max_guests,
                    )
                    for rt in HOTEL.room_types
                    if rt.max_guests >= effect.occupancy.guests
                ]  # fmt: skip
                return PmsAnswered(op="search", purpose=purpose, offers=offers)
            case CreateBooking():
                if self.pms_mode == "full":
                    return PmsFailed(op="create", error="not_available")
                r = effect.request
                booking_id = f"MOCK-{len(self.bookings) + 1:06d}"
                booking = Booking(
                    booking_id=booking_id, client_reference=r.client_reference,
                    status="pending", room_type=r.room_type, stay=r.stay, occupancy=r.occupancy,
                    guest=r.guest, total=Decimal(100_000), currency="ARS",
                )  # fmt: skip
                self.bookings[booking_id] = booking
                return PmsAnswered(op="create", booking=booking)
            case ModifyBooking() | CancelBooking() | RecordPayment() | FindBooking():
                booking = self.bookings.get(effect.booking_id)
                if booking is None:
                    return PmsFailed(op=op, purpose=purpose, error="not_found")  # type: ignore[arg-type]
                if isinstance(effect, CancelBooking):
                    booking = msgspec.structs.replace(booking, status="cancelled")
                elif isinstance(effect, RecordPayment):
                    booking = msgspec.structs.replace(
                        booking, status="confirmed", paid=effect.payment.amount
                    )
                elif isinstance(effect, ModifyBooking):
                    booking = msgspec.structs.replace(booking, stay=effect.stay)
                self.bookings[booking.booking_id] = booking
                return PmsAnswered(op=op, purpose=purpose, booking=booking)  # type: ignore[arg-type]
        return None  # pragma: no cover

    # ------------------------------------------------------------------ what can happen

    @rule(
        intent=st.sampled_from(INTENTS),
        text=texts,
        e=entities,
        confidence=st.floats(min_value=0, max_value=1),
        choice=st.one_of(st.none(), st.sampled_from(["offer:double", "offer:suite", "yes", "no"])),
    )
    def guest_says(
        self, intent: str, text: str, e: Entities, confidence: float, choice: str | None
    ) -> None:
        if e.check_in is not None and e.nights:
            e = msgspec.structs.replace(e, check_out=e.check_in + dt.timedelta(days=e.nights))
        self.feed(
            GuestSaid(
                text=text, intent=intent, confidence=confidence, entities=e, choice_id=choice,
                language="es",
            )
        )  # fmt: skip

    @rule(
        start=st.integers(min_value=1, max_value=40),
        nights=st.integers(min_value=1, max_value=5),
        adults=st.integers(min_value=1, max_value=3),
        room=st.sampled_from(["offer:double", "offer:triple", "offer:family", "1", "2"]),
    )
    def guest_books_a_room(self, start: int, nights: int, adults: int, room: str) -> None:
        """The common path in one go, so that bookings, deposits and holds happen often."""
        check_in = self.now.date() + dt.timedelta(days=start)
        stay = Entities(
            check_in=check_in, check_out=check_in + dt.timedelta(days=nights), adults=adults
        )
        self.feed(GuestSaid(text="lugar?", intent="check_availability", confidence=0.9,
                            entities=stay, language="es"))  # fmt: skip
        choice = room if room.startswith("offer:") else None
        self.feed(GuestSaid(text=room, intent="inform", confidence=0.9, choice_id=choice))
        self.feed(GuestSaid(text="Ana Pérez", intent="inform", confidence=0.9))
        self.feed(GuestSaid(text="ana@example.com", intent="inform", confidence=0.9,
                            entities=Entities(email="ana@example.com")))  # fmt: skip

    @rule()
    def guest_sends_a_receipt(self) -> None:
        self.feed(GuestSentMedia(media=Media(media_id="m1", mime_type="image/jpeg")))

    @precondition(lambda self: self.state.reservation is not None)
    @rule()
    def staff_confirm_the_deposit(self) -> None:
        assert self.state.reservation is not None
        ref = self.state.reservation.client_reference
        if self.state.reservation.status in ("pending_deposit", "awaiting_verification"):
            self.confirmed_by_staff.add(ref)
        self.feed(OperatorConfirmedDeposit(client_reference=ref, operator="staff"))

    @rule(ref=st.sampled_from(["AG-NOPE", "AG-0000000000"]))
    def staff_confirm_an_unknown_reservation(self, ref: str) -> None:
        self.feed(OperatorConfirmedDeposit(client_reference=ref, operator="staff"))

    @rule()
    def staff_take_over(self) -> None:
        self.feed(OperatorTookOver(operator="staff"))

    @rule()
    def staff_release(self) -> None:
        self.feed(OperatorReleased(operator="staff"))

    @precondition(lambda self: self.state.reservation is not None)
    @rule()
    def the_hold_expires(self) -> None:
        assert self.state.reservation is not None
        self.feed(HoldExpired(client_reference=self.state.reservation.client_reference))

    @rule(hours=st.integers(min_value=1, max_value=48))
    def time_passes(self, hours: int) -> None:
        self.now += dt.timedelta(hours=hours)

    @rule(mode=st.sampled_from(["up", "down", "full"]))
    def the_pms_changes(self, mode: str) -> None:
        self.pms_mode = mode

    # ------------------------------------------------------------------ what must hold

    @invariant()
    def confirmed_only_by_staff(self) -> None:
        r = self.state.reservation
        if r is not None and r.status == "confirmed":
            assert r.client_reference in self.confirmed_by_staff

    @invariant()
    def silent_while_with_staff(self) -> None:
        if self.silenced_before and isinstance(self.last_event, (GuestSaid, GuestSentMedia)):
            assert not any(isinstance(e, Reply) for e in self.last_effects)

    @invariant()
    def a_guest_is_always_answered(self) -> None:
        if isinstance(self.last_event, GuestSaid) and not self.silenced_before:
            assert self.last_effects, "a guest talking to the bot gets a reply or a PMS query"

    @invariant()
    def the_state_can_be_stored(self) -> None:
        assert _STATE.decode(msgspec.json.encode(self.state)) == self.state


TestDialogue = Dialogue.TestCase
