"""The imperative shell: gathers inputs, calls the pure core, carries out its effects.

``Service.handle`` runs for one claimed inbox message (a guest's, or an event queued for their
conversation: staff confirmed a deposit, a hold expired). It understands the text, runs
``step`` and carries out the effects it returns: PMS calls (each answer fed back to ``step`` as
an event), replies, staff notifications, timers. Everything it decides is committed in one
transaction together with marking the message done: conversation state, reservation, replies in
the outbox, notifications, timers and documents. A crash before the commit leaves the message to
the next worker, which redoes the step: ``step`` is deterministic and our PMS writes carry a
``client_reference`` that is looked up before a booking is created again.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import attrs
import msgspec
import sqlalchemy as sa
import structlog

from agente.adapters.sql import (
    conversations,
    document_key,
    documents,
    guests,
    inbox,
    insert,
    reservations,
    staff_notifications,
    timers,
)
from agente.domain import (
    ConversationState,
    InboundMessage,
    Media,
    OutboundBody,
    OutboundMessage,
    OutDocument,
    PmsCapabilities,
    ReservationView,
    conversation_key,
)
from agente.errors import (
    ChannelError,
    NotAvailable,
    NotFound,
    PmsError,
    RateLimited,
    Transient,
    UnknownHotel,
)
from agente.pipeline import (
    CancelBooking,
    Context,
    CreateBooking,
    Effect,
    Event,
    FindBooking,
    GuestSaid,
    GuestSentMedia,
    ModifyBooking,
    NotifyStaff,
    PmsAnswered,
    PmsFailed,
    RecordPayment,
    Reply,
    ScheduleTimer,
    SearchAvailability,
    render,
    step,
)
from agente.pipeline.hours import is_open, next_opening
from agente.pipeline.voucher import Voucher, voucher_filename, voucher_pdf, voucher_text
from agente.tracing import SpanKind, Status, StatusCode, current_traceparent, set_attributes, span

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from agente.adapters.sql import Database
    from agente.domain import Hotel
    from agente.flags import FlagService
    from agente.hotels import HotelDirectory
    from agente.messaging import InboxItem, MessageStore
    from agente.metrics import Metrics
    from agente.pipeline.understand import Understander
    from agente.ports import Channel, Clock, Documents, Pms

__all__ = ["Service", "load_conversation", "reservation_view"]

log = structlog.get_logger("agente.service")

_EVENT = msgspec.json.Decoder(Event)
#: a hotel whose PMS plugin is not enabled here: the dialogue hands every booking to staff
_NO_PMS = PmsCapabilities(
    search_availability=False,
    create_booking=False,
    get_booking=False,
    find_booking_by_reference=False,
    cancel_booking=False,
    get_room_types=False,
)
_WINDOW = dt.timedelta(hours=24)
_MAX_STEPS = 12  # effects feeding events feeding effects: a bound against a loop


async def load_conversation(
    conn: AsyncConnection, hotel_id: str, channel: str, sender_id: str
) -> tuple[int | None, ConversationState]:
    row = (
        await conn.execute(
            sa.select(conversations.c.id, conversations.c.state).where(
                conversations.c.hotel_id == hotel_id,
                conversations.c.channel == channel,
                conversations.c.sender_id == sender_id,
            )
        )
    ).first()
    if row is None:
        return None, ConversationState()
    return row.id, msgspec.convert(row.state, ConversationState)


@attrs.define
class _Outcome:
    """What one message produced, to be committed together."""

    state: ConversationState
    replies: list[OutboundMessage] = attrs.field(factory=list)
    notifications: list[NotifyStaff] = attrs.field(factory=list)
    timers: list[ScheduleTimer] = attrs.field(factory=list)
    documents: list[tuple[str, str, bytes]] = attrs.field(factory=list)
    pms_errors: int = 0
    #: answered from a recent cached PMS answer because the PMS did not answer now
    stale: bool = False
    reply_by: dt.datetime | None = None


def _status(outcome: _Outcome) -> str:
    """The SLO status of one handled message: ``error`` when the PMS failed us (the guest got
    an honest "could not check" reply), ``degraded`` when a stale cached answer stood in,
    ``handoff`` when the message went to staff, ``ok`` otherwise. Only ``error`` spends the
    error budget."""
    if outcome.pms_errors and not outcome.stale:
        return "error"
    if outcome.stale:
        return "degraded"
    if any(n.reason != "payment_proof" for n in outcome.notifications):
        return "handoff"
    return "ok"


@attrs.define
class Service:
    db: Database
    messages: MessageStore
    hotels: HotelDirectory
    clock: Clock
    understander: Understander
    pms: dict[str, Pms] = attrs.field(factory=dict)
    flags: FlagService | None = None
    metrics: Metrics | None = None
    handoff_minutes: int = 240
    always_open: bool = False
    channels: dict[str, Channel] = attrs.field(factory=dict)
    documents: Documents | None = None

    async def handle(self, item: InboxItem, worker_id: str) -> None:
        """Handle one inbound message: decide, then commit state, replies and 'done' together."""
        started = time.perf_counter()
        message = item.message
        hotel = await self.hotels.get(message.hotel_id)
        if hotel is None:
            raise UnknownHotel(f"hotel {message.hotel_id!r} is not configured")
        if message.ignored:
            # kept for staff (an auto-reply, a bounce, our own mail): no turn, no reply
            async with self.db.begin() as conn:
                await self.messages.finish(conn, item, worker_id, {"ignored": message.ignored})
            log.info("message_ignored", channel=message.channel, reason=message.ignored)
            return
        async with self.db.begin() as conn:
            conversation_id, state = await load_conversation(
                conn, message.hotel_id, message.channel, message.sender_id
            )
        context = await self._context(hotel, message)
        reply_by = await self._reply_by(message, item)
        understanding = None
        if message.kind == "event" and message.event is not None:
            event: Event = _EVENT.decode(msgspec.json.encode(message.event))
        elif message.kind == "media" and message.media is not None and message.media.voice:
            # a voice note: until speech-to-text arrives, the guest is asked to write
            event = GuestSaid(text=message.text, message_kind="voice")
        elif message.kind == "media" and message.media is not None:
            media = await self._keep_media(message)
            event = GuestSentMedia(media=media, caption=message.text)
        else:
            text = message.text or ""
            if message.text:
                with span("pipeline.understand") as current:
                    understanding = self.understander(
                        message.text,
                        today=context.today,
                        timezone=hotel.timezone,
                        lang_hint=state.language or hotel.default_language,
                    )
                    set_attributes(current, **{"agente.intent": understanding.intent,
                                               "agente.language": understanding.language})  # fmt: skip
            event = GuestSaid(
                text=text,
                message_kind=message.kind,
                intent=understanding.intent if understanding else None,
                language=understanding.language if understanding else None,
                confidence=understanding.confidence if understanding else 0.0,
                entities=understanding.entities if understanding else GuestSaid(text="").entities,
                choice_id=message.choice_id,
            )
        before = state.reservation.status if state.reservation else None
        with span("pipeline.dialogue", attributes={"agente.event": type(event).__name__}):
            outcome = await self._run(state, event, context, hotel, message, reply_by)
        state = outcome.state
        intent = (
            understanding.intent
            if understanding
            else ("event" if message.kind == "event" else message.kind)
        )
        result: dict[str, Any] = {
            "intent": understanding.intent if understanding else None,
            "confidence": understanding.confidence if understanding else None,
            "entities": msgspec.to_builtins(understanding.entities) if understanding else None,
            "language": state.language,
            "replies": len(outcome.replies),
            "mode": state.mode,
            "reservation": reservation_view(state.reservation),
            "worker": worker_id,
        }
        async with self.db.begin() as conn:
            await self.messages.finish(conn, item, worker_id, result)
            guest_id = await self._upsert_guest(conn, message, state)
            conversation_id = await self._save_conversation(conn, message, guest_id, state)
            if state.reservation is not None:
                await self._save_reservation(conn, hotel.id, conversation_id, guest_id, state)
            for note in outcome.notifications:
                await conn.execute(
                    staff_notifications.insert().values(
                        hotel_id=hotel.id,
                        conversation_id=conversation_id,
                        reason=note.reason,
                        urgent=note.urgent,
                        summary={**note.summary, "on_call": hotel.on_call or ""}
                        if note.urgent
                        else dict(note.summary),
                        created_at=self.clock.now(),
                    )
                )
            for timer in outcome.timers:
                stmt = insert(timers, self.db.dialect).values(
                    hotel_id=hotel.id,
                    channel=message.channel,
                    sender_id=message.sender_id,
                    kind=timer.timer,
                    key=timer.key,
                    due_at=timer.at,
                    created_at=self.clock.now(),
                )
                await conn.execute(stmt.on_conflict_do_nothing(index_elements=["kind", "key"]))
            for key, filename, content in outcome.documents:
                stmt = insert(documents, self.db.dialect).values(
                    key=key,
                    hotel_id=hotel.id,
                    filename=filename,
                    mime_type="application/pdf",
                    content=content,
                    created_at=self.clock.now(),
                )
                await conn.execute(stmt.on_conflict_do_nothing(index_elements=["key"]))
            await self.messages.enqueue(
                conn,
                self._coalesce(message.channel, outcome.replies),
                conversation_key=message.conversation_key,
                inbox_id=item.id,
            )
            for alert in self._on_call_alerts(outcome, hotel, message):
                await self.messages.enqueue(
                    conn,
                    [alert],
                    conversation_key=conversation_key(hotel.id, alert.channel, alert.recipient_id),
                    inbox_id=item.id,
                )
        self._observe(intent, outcome, before, state, message.channel, started)

    def _coalesce(self, channel: str, replies: list[OutboundMessage]) -> list[OutboundMessage]:
        """One turn's replies as the channel wants them: e-mail sends one mail per turn, with
        the voucher attached, where a chat sends several bubbles (``Channel.coalesce``)."""
        coalesce = getattr(self.channels.get(channel), "coalesce", None)
        return list(coalesce(replies)) if coalesce is not None and replies else replies

    # ------------------------------------------------------------------ context and effects

    def _on_call_alerts(
        self, outcome: _Outcome, hotel: Hotel, message: InboundMessage
    ) -> list[OutboundMessage]:
        """An urgent message out of hours reaches the hotel's on-call contact on WhatsApp, when
        the channel is enabled here (otherwise the notification waits in the staff list)."""
        if "whatsapp" not in self.channels or not hotel.on_call:
            return []
        recipient = "".join(ch for ch in hotel.on_call if ch.isdigit())
        out: list[OutboundMessage] = []
        for note in outcome.notifications:
            if not note.urgent or not recipient:
                continue
            text = render(
                Reply(
                    key="staff.urgent",
                    params={
                        "hotel": hotel.name,
                        "guest": note.summary.get("guest_name") or message.sender_name or "-",
                        "channel": message.channel,
                        "reason": note.reason,
                        "text": (message.text or "")[:300],
                    },
                ),
                hotel.default_language,
                hotel=hotel,
            )
            out.extend(
                OutboundMessage(
                    channel="whatsapp", hotel_id=hotel.id, recipient_id=recipient, body=body
                )
                for body in text
            )
        return out

    async def _keep_media(self, message: InboundMessage) -> Media:
        """Download a guest's file through its channel and keep it (a receipt goes with the
        reservation). A failed download keeps the provider's reference: staff can still see it."""
        media = message.media
        assert media is not None
        channel = self.channels.get(message.channel)
        fetch = getattr(channel, "fetch_media", None)
        if fetch is None or self.documents is None or media.stored_key or not media.media_id:
            return media
        try:
            content, mime = await fetch(media)
        except ChannelError as exc:
            log.warning("media_not_downloaded", channel=message.channel, error=str(exc)[:200])
            return media
        filename = media.filename or f"{message.channel}-{media.media_id}"
        key = await self.documents.put(message.hotel_id, content, mime, filename)
        return msgspec.structs.replace(media, stored_key=key, size=len(content), mime_type=mime)

    async def _reply_by(self, message: InboundMessage, item: InboxItem) -> dt.datetime | None:
        """The end of the guest's 24-hour service window: their last own message plus 24 h."""
        if message.kind != "event":
            return (message.sent_at or item.received_at) + _WINDOW
        async with self.db.begin() as conn:
            last = (
                await conn.execute(
                    sa.select(sa.func.max(inbox.c.received_at)).where(
                        inbox.c.conversation_key == message.conversation_key,
                        ~inbox.c.provider_message_id.like("op:%"),
                        ~inbox.c.provider_message_id.like("timer:%"),
                    )
                )
            ).scalar()
        return last + _WINDOW if last is not None else None

    async def _context(self, hotel: Hotel, message: InboundMessage) -> Context:
        now = self.clock.now()
        snapshot = await self.flags.snapshot() if self.flags is not None else None
        pms = self.pms.get(hotel.pms.plugin)
        open_now = self.always_open or is_open(hotel.business_hours, hotel.timezone, now)
        return Context(
            hotel=hotel,
            now=now,
            today=now.astimezone(ZoneInfo(hotel.timezone)).date(),
            conversation_ref=conversation_key(message.hotel_id, message.channel, message.sender_id),
            staff_available=open_now,
            next_opening=None
            if open_now
            else next_opening(hotel.business_hours, hotel.timezone, now),
            flags=dict(snapshot.values) if snapshot is not None else {},
            capabilities=pms.capabilities if pms is not None else _NO_PMS,
            sender_phone=message.sender_phone,
            sender_email=message.sender_email,
            handoff_minutes=self.handoff_minutes,
            channel=message.channel,
        )

    async def _run(
        self,
        state: ConversationState,
        event: Event,
        context: Context,
        hotel: Hotel,
        message: InboundMessage,
        reply_by: dt.datetime | None,
    ) -> _Outcome:
        outcome = _Outcome(state=state, reply_by=reply_by)
        events: list[Event] = [event]
        steps = 0
        while events and steps < _MAX_STEPS:
            steps += 1
            outcome.state, effects = step(outcome.state, events.pop(0), context)
            for effect in effects:
                answer = await self._effect(effect, outcome, context, hotel, message)
                if answer is not None:
                    events.append(answer)
        return outcome

    async def _effect(
        self,
        effect: Effect,
        outcome: _Outcome,
        context: Context,
        hotel: Hotel,
        message: InboundMessage,
    ) -> Event | None:
        match effect:
            case Reply():
                language = outcome.state.language or hotel.default_language
                # a channel without buttons or lists (e-mail) says so: numbered text instead
                interactive = context.flags.get("features.interactive_messages", False) and getattr(
                    self.channels.get(message.channel), "interactive", True
                )
                bodies: list[OutboundBody] = list(
                    render(effect, language, hotel=hotel, interactive=interactive)
                )
                if effect.attach == "voucher" and outcome.state.reservation is not None:
                    bodies.extend(self._voucher(outcome, hotel, language, context))
                outcome.replies.extend(
                    OutboundMessage(
                        channel=message.channel,
                        hotel_id=message.hotel_id,
                        recipient_id=message.sender_id,
                        body=body,
                        in_reply_to=None
                        if message.kind == "event"
                        else message.provider_message_id,
                        thread_id=message.thread_id,
                        reply_by=outcome.reply_by,
                        correlation_id=message.correlation_id,
                        trace_parent=current_traceparent(),
                    )
                    for body in bodies
                )
                return None
            case NotifyStaff():
                outcome.notifications.append(effect)
                log.info(
                    "staff notified", reason=effect.reason, urgent=effect.urgent, hotel=hotel.id
                )
                return None
            case ScheduleTimer():
                outcome.timers.append(effect)
                return None
        return await self._pms_effect(effect, outcome, hotel)

    async def _pms_effect(self, effect: Effect, outcome: _Outcome, hotel: Hotel) -> Event | None:
        attributes = {"agente.pms": hotel.pms.plugin, "agente.hotel_id": hotel.id}
        with span(
            f"pms.{_OPS[type(effect)]}", kind=SpanKind.CLIENT, attributes=attributes
        ) as current:
            result = await self._pms_call(effect, outcome, hotel)
            if isinstance(result, PmsFailed):
                current.set_status(Status(StatusCode.ERROR, result.error))
                set_attributes(current, **{"error.type": result.error})
            return result

    async def _pms_call(self, effect: Effect, outcome: _Outcome, hotel: Hotel) -> Event | None:
        pms = self.pms.get(hotel.pms.plugin)
        op = _OPS[type(effect)]
        purpose = getattr(effect, "purpose", "")
        if pms is None:
            outcome.pms_errors += 1
            return PmsFailed(op=op, purpose=purpose, error="not_configured")
        try:
            match effect:
                case SearchAvailability():
                    offers = await pms.search_availability(hotel, effect.stay, effect.occupancy)
                    outcome.stale = outcome.stale or any(o.stale for o in offers)
                    return PmsAnswered(op=op, purpose=purpose, offers=offers)
                case CreateBooking():
                    # look before writing: a redone step must not book twice
                    booking = await pms.find_booking_by_reference(
                        hotel, effect.request.client_reference
                    )
                    if booking is None:
                        booking = await pms.create_booking(hotel, effect.request)
                    return PmsAnswered(op=op, booking=booking)
                case ModifyBooking():
                    booking = await pms.modify_booking(
                        hotel, effect.booking_id, effect.stay, effect.occupancy
                    )
                    return PmsAnswered(op=op, booking=booking)
                case CancelBooking():
                    booking = await pms.cancel_booking(hotel, effect.booking_id)
                    return PmsAnswered(op=op, purpose=purpose, booking=booking)
                case RecordPayment():
                    booking = await pms.record_payment(hotel, effect.booking_id, effect.payment)
                    return PmsAnswered(op=op, booking=booking)
                case FindBooking():
                    booking = await pms.get_booking(hotel, effect.booking_id)
                    return PmsAnswered(op=op, booking=booking)
        except PmsError as exc:
            outcome.pms_errors += 1
            log.warning("pms call failed", op=op, error=type(exc).__name__, hotel=hotel.id)
            return PmsFailed(
                op=op,
                purpose=purpose,
                error=_ERROR_KINDS.get(type(exc), "error"),
                retryable=isinstance(exc, (Transient, RateLimited)),
            )
        return None

    def _voucher(
        self, outcome: _Outcome, hotel: Hotel, language: str, context: Context
    ) -> list[OutboundBody]:
        r = outcome.state.reservation
        assert r is not None
        room = next((rt for rt in hotel.room_types if rt.code == r.room_type), None)
        address = hotel.address
        voucher = Voucher(
            booking_ref=r.pms_booking_id or r.client_reference,
            client_reference=r.client_reference,
            hotel_name=hotel.name,
            hotel_address=f"{address.street}, {address.city}" if address else None,
            hotel_phone=hotel.phone,
            hotel_email=hotel.email,
            guest_name=r.guest_name,
            guest_email=r.guest_email,
            check_in=r.check_in,
            check_out=r.check_out,
            check_in_time=hotel.check_in_time,
            check_out_time=hotel.check_out_time,
            room_type=(room.name.get(language) or r.room_type) if room else r.room_type,
            adults=r.adults,
            children=len(r.children_ages),
            currency=r.currency,
            total=r.total,
            paid=r.paid,
            balance=r.total - r.paid,
            issued_on=context.today,
            notes=hotel.policies.get("cancellation", {}).get(language),
        )
        pdf = voucher_pdf(voucher, language)
        key = document_key(pdf)
        filename = voucher_filename(voucher)
        outcome.documents.append((key, filename, pdf))
        media = Media(
            stored_key=key,
            url=f"/documents/{key}",
            mime_type="application/pdf",
            filename=filename,
            size=len(pdf),
        )
        return [OutDocument(media=media, caption=voucher_text(voucher, language))]

    def _observe(
        self,
        intent: str,
        outcome: _Outcome,
        before: str | None,
        state: ConversationState,
        channel: str,
        started: float,
    ) -> None:
        if self.metrics is None:
            return
        m = self.metrics
        m.orchestrator_messages.labels(intent, _status(outcome)).inc()
        m.orchestrator_latency.labels(intent).observe(time.perf_counter() - started)
        for note in outcome.notifications:
            if note.reason != "payment_proof":
                m.orchestrator_escalations.labels(note.reason, channel).inc()
        after = state.reservation.status if state.reservation else None
        if after is not None and after != before:
            m.hotel_reservations.labels(after).inc()

    # ------------------------------------------------------------------ persistence

    async def _upsert_guest(
        self, conn: AsyncConnection, message: InboundMessage, state: ConversationState
    ) -> int:
        now = self.clock.now()
        values = {
            "hotel_id": message.hotel_id,
            "channel": message.channel,
            "sender_id": message.sender_id,
            "name": message.sender_name or state.guest_name,
            "phone": message.sender_phone,
            "email": message.sender_email or state.guest_email,
            "opted_out": state.opted_out,
            "created_at": now,
            "updated_at": now,
        }
        stmt = insert(guests, self.db.dialect).values(values)
        excluded = stmt.excluded
        stmt = stmt.on_conflict_do_update(
            index_elements=["hotel_id", "channel", "sender_id"],
            set_={
                "name": sa.func.coalesce(excluded.name, guests.c.name),
                "phone": sa.func.coalesce(excluded.phone, guests.c.phone),
                "email": sa.func.coalesce(excluded.email, guests.c.email),
                "opted_out": excluded.opted_out,
                "updated_at": now,
            },
        ).returning(guests.c.id)
        return int((await conn.execute(stmt)).scalar_one())

    async def _save_conversation(
        self,
        conn: AsyncConnection,
        message: InboundMessage,
        guest_id: int,
        state: ConversationState,
    ) -> int:
        now = self.clock.now()
        stored = msgspec.to_builtins(state)
        stmt = insert(conversations, self.db.dialect).values(
            hotel_id=message.hotel_id,
            channel=message.channel,
            sender_id=message.sender_id,
            guest_id=guest_id,
            mode=state.mode,
            state=stored,
            created_at=now,
            updated_at=now,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["hotel_id", "channel", "sender_id"],
            set_={"state": stored, "mode": state.mode, "updated_at": now},
        ).returning(conversations.c.id)
        return int((await conn.execute(stmt)).scalar_one())

    async def _save_reservation(
        self,
        conn: AsyncConnection,
        hotel_id: str,
        conversation_id: int,
        guest_id: int,
        state: ConversationState,
    ) -> None:
        r = state.reservation
        assert r is not None
        now = self.clock.now()
        values = {
            "status": r.status,
            "pms_booking_id": r.pms_booking_id,
            "room_type": r.room_type,
            "check_in": r.check_in,
            "check_out": r.check_out,
            "adults": r.adults,
            "children": len(r.children_ages),
            "total": r.total,
            "currency": r.currency,
            "deposit_amount": r.deposit_due,
            "data": msgspec.to_builtins(r),
            "updated_at": now,
        }
        stmt = insert(reservations, self.db.dialect).values(
            hotel_id=hotel_id,
            conversation_id=conversation_id,
            guest_id=guest_id,
            client_reference=r.client_reference,
            created_at=now,
            **values,
        )
        await conn.execute(
            stmt.on_conflict_do_update(index_elements=["client_reference"], set_=values)
        )


_OPS: dict[type, Any] = {
    SearchAvailability: "search",
    CreateBooking: "create",
    ModifyBooking: "modify",
    CancelBooking: "cancel",
    RecordPayment: "record_payment",
    FindBooking: "find",
}
_ERROR_KINDS: dict[type, str] = {
    NotAvailable: "not_available",
    NotFound: "not_found",
    Transient: "transient",
    RateLimited: "rate_limited",
}


def reservation_view(r: ReservationView | None) -> dict[str, Any] | None:
    """The reservation as ``agente chat --jsonl`` and the inbox result show it."""
    if r is None:
        return None
    return {
        "status": r.status,
        "check_in": r.check_in.isoformat(),
        "check_out": r.check_out.isoformat(),
        "room_type": r.room_type,
        "guests": r.guests,
        "total": str(r.total),
        "currency": r.currency,
        "deposit_due": str(r.deposit_due) if r.deposit_due is not None else None,
        "paid": str(r.paid),
        "pms_booking_id": r.pms_booking_id,
        "client_reference": r.client_reference,
    }
