"""The imperative shell: gathers inputs, calls the pure core, carries out its effects.

``Service.handle`` runs for one claimed inbox message. Everything it decides is committed in one
transaction together with marking the message done, so a crash anywhere before the commit
leaves the message to be redone by the next worker, and nothing is half-written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import attrs
import msgspec
import sqlalchemy as sa

from agente.adapters.sql import conversations, guests, insert
from agente.domain import ConversationState, InboundMessage, OutboundMessage
from agente.errors import UnknownHotel
from agente.pipeline import Context, GuestSaid, Reply, render, step

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from agente.adapters.sql import Database
    from agente.hotels import HotelDirectory
    from agente.messaging import InboxItem, MessageStore
    from agente.pipeline.understand import Understander
    from agente.ports import Clock

__all__ = ["Service", "load_conversation"]


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
class Service:
    db: Database
    messages: MessageStore
    hotels: HotelDirectory
    clock: Clock
    understander: Understander

    async def handle(self, item: InboxItem, worker_id: str) -> None:
        """Handle one inbound message: decide, then commit state, replies and 'done' together."""
        message = item.message
        hotel = await self.hotels.get(message.hotel_id)
        if hotel is None:
            raise UnknownHotel(f"hotel {message.hotel_id!r} is not configured")
        async with self.db.begin() as conn:
            _, state = await load_conversation(
                conn, message.hotel_id, message.channel, message.sender_id
            )
        now = self.clock.now()
        context = Context(
            hotel_name=hotel.name,
            default_language=hotel.default_language,
            languages=hotel.languages,
            now=now,
        )
        understanding = None
        if message.text:
            understanding = self.understander(
                message.text,
                today=now.astimezone(ZoneInfo(hotel.timezone)).date(),
                timezone=hotel.timezone,
                lang_hint=state.language or hotel.default_language,
            )
        event = GuestSaid(
            text=message.text,
            message_kind=message.kind,
            intent=understanding.intent if understanding else None,
            language=understanding.language if understanding else None,
            confidence=understanding.confidence if understanding else 0.0,
        )
        state, effects = step(state, event, context)
        outbound = [
            OutboundMessage(
                channel=message.channel,
                hotel_id=message.hotel_id,
                recipient_id=message.sender_id,
                body=body,
                in_reply_to=message.provider_message_id,
                thread_id=message.thread_id,
            )
            for effect in effects
            if isinstance(effect, Reply)
            for body in render(effect, state.language or hotel.default_language)
        ]
        result: dict[str, Any] = {
            "intent": understanding.intent if understanding else None,
            "confidence": understanding.confidence if understanding else None,
            "entities": msgspec.to_builtins(understanding.entities) if understanding else None,
            "language": state.language,
            "replies": len(outbound),
            "worker": worker_id,
        }
        async with self.db.begin() as conn:
            await self.messages.finish(conn, item, worker_id, result)
            guest_id = await self._upsert_guest(conn, message)
            await self._save_conversation(conn, message, guest_id, state)
            await self.messages.enqueue(
                conn, outbound, conversation_key=message.conversation_key, inbox_id=item.id
            )

    async def _upsert_guest(self, conn: AsyncConnection, message: InboundMessage) -> int:
        now = self.clock.now()
        values = {
            "hotel_id": message.hotel_id,
            "channel": message.channel,
            "sender_id": message.sender_id,
            "name": message.sender_name,
            "phone": message.sender_phone,
            "email": message.sender_email,
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
