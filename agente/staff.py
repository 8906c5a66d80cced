"""What hotel staff do to a conversation, as service functions (the CLI and, later, the admin API).

Staff actions become events queued in the inbox for the guest's conversation, exactly like a
guest's message: they are ordered with what the guest writes, survive a crash, and are handled
by the same worker and the same pure ``step``. A repeated action (a double click, a retried
command) carries the same dedupe id and is recognised by the inbox.

Timers work the same way: when a hold's deadline passes, ``fire_due_timers`` queues a
``HoldExpired`` event (once: the timer row is marked and the inbox deduplicates).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import msgspec
import sqlalchemy as sa

from agente.adapters.sql import conversations, reservations, staff_notifications, timers
from agente.domain import InboundMessage
from agente.errors import AgenteError
from agente.pipeline import (
    HoldExpired,
    OperatorConfirmedDeposit,
    OperatorRejectedDeposit,
    OperatorReleased,
    OperatorSaid,
    OperatorTookOver,
)

if TYPE_CHECKING:
    from decimal import Decimal

    from agente.adapters.sql import Database
    from agente.messaging import MessageStore
    from agente.ports import Clock

__all__ = [
    "StaffError",
    "confirm_deposit",
    "fire_due_timers",
    "list_notifications",
    "list_reservations",
    "reject_deposit",
    "release",
    "say",
    "take_over",
]


class StaffError(AgenteError):
    """A staff action that cannot be done as asked (unknown reservation or conversation)."""


async def _queue(
    messages: MessageStore,
    hotel_id: str,
    channel: str,
    sender_id: str,
    event: Any,
    dedupe: str,
) -> int | None:
    message = InboundMessage(
        channel=channel,
        provider_message_id=dedupe,
        hotel_id=hotel_id,
        sender_id=sender_id,
        kind="event",
        event=msgspec.to_builtins(event),
    )
    result = await messages.accept([message])
    return result.accepted[0] if result.accepted else None


async def _reservation(db: Database, reference: str) -> Any:
    """A reservation by our client reference or the PMS booking id, with its conversation."""
    query = (
        sa.select(
            reservations.c.client_reference,
            reservations.c.status,
            reservations.c.hotel_id,
            conversations.c.channel,
            conversations.c.sender_id,
        )
        .join(conversations, conversations.c.id == reservations.c.conversation_id)
        .where(
            sa.or_(
                reservations.c.client_reference == reference,
                reservations.c.pms_booking_id == reference,
            )
        )
    )
    async with db.begin() as conn:
        row = (await conn.execute(query)).first()
    if row is None:
        raise StaffError(f"no reservation {reference!r}")
    return row


async def confirm_deposit(
    db: Database,
    messages: MessageStore,
    reference: str,
    *,
    operator: str,
    amount: Decimal | None = None,
) -> int | None:
    """Staff checked the deposit of ``reference``: queue the confirmation (PMS, voucher)."""
    row = await _reservation(db, reference)
    if row.status not in ("pending_deposit", "awaiting_verification"):
        raise StaffError(
            f"reservation {reference!r} is {row.status}; only a reservation waiting for its "
            "deposit can be confirmed"
        )
    event = OperatorConfirmedDeposit(
        client_reference=row.client_reference, operator=operator, amount=amount
    )
    return await _queue(
        messages, row.hotel_id, row.channel, row.sender_id, event,
        f"op:confirm:{row.client_reference}",
    )  # fmt: skip


async def reject_deposit(
    db: Database,
    messages: MessageStore,
    clock: Clock,
    reference: str,
    *,
    operator: str,
    reason: str,
) -> int | None:
    """Staff could not verify the deposit of ``reference``: the guest is told why."""
    row = await _reservation(db, reference)
    if row.status not in ("pending_deposit", "awaiting_verification"):
        raise StaffError(f"reservation {reference!r} is {row.status}; nothing to reject")
    event = OperatorRejectedDeposit(
        client_reference=row.client_reference, operator=operator, reason=reason
    )
    return await _queue(
        messages, row.hotel_id, row.channel, row.sender_id, event,
        f"op:reject:{row.client_reference}:{clock.now().isoformat()}",
    )  # fmt: skip


async def say(
    db: Database, messages: MessageStore, clock: Clock, conversation_id: int, *, operator: str,
    text: str,
) -> int | None:  # fmt: skip
    """Staff write to the guest through the conversation's channel."""
    row = await _conversation(db, conversation_id)
    return await _queue(
        messages, row.hotel_id, row.channel, row.sender_id,
        OperatorSaid(operator=operator, text=text),
        f"op:say:{conversation_id}:{clock.now().isoformat()}",
    )  # fmt: skip


async def _conversation(db: Database, conversation_id: int) -> Any:
    async with db.begin() as conn:
        row = (
            await conn.execute(
                sa.select(
                    conversations.c.hotel_id, conversations.c.channel, conversations.c.sender_id,
                    conversations.c.mode,
                ).where(conversations.c.id == conversation_id)
            )
        ).first()  # fmt: skip
    if row is None:
        raise StaffError(f"no conversation {conversation_id}")
    return row


async def take_over(
    db: Database, messages: MessageStore, clock: Clock, conversation_id: int, *, operator: str
) -> int | None:
    """Staff take the conversation: the bot stays silent until they release it."""
    row = await _conversation(db, conversation_id)
    stamp = clock.now().isoformat()
    return await _queue(
        messages, row.hotel_id, row.channel, row.sender_id, OperatorTookOver(operator=operator),
        f"op:take:{conversation_id}:{stamp}",
    )  # fmt: skip


async def release(
    db: Database, messages: MessageStore, clock: Clock, conversation_id: int, *, operator: str
) -> int | None:
    """Staff hand the conversation back to the bot."""
    row = await _conversation(db, conversation_id)
    stamp = clock.now().isoformat()
    return await _queue(
        messages, row.hotel_id, row.channel, row.sender_id, OperatorReleased(operator=operator),
        f"op:release:{conversation_id}:{stamp}",
    )  # fmt: skip


async def fire_due_timers(
    db: Database, messages: MessageStore, clock: Clock, limit: int = 50
) -> int:
    """Queue the event of every timer that is due; returns how many fired."""
    now = clock.now()
    async with db.begin() as conn:
        rows = (
            await conn.execute(
                sa.select(timers)
                .where(timers.c.fired_at.is_(None), timers.c.due_at <= now)
                .order_by(timers.c.due_at)
                .limit(limit)
            )
        ).all()
    for row in rows:
        event = HoldExpired(client_reference=row.key)
        await _queue(
            messages, row.hotel_id, row.channel, row.sender_id, event, f"timer:{row.kind}:{row.key}"
        )
        async with db.begin() as conn:
            await conn.execute(timers.update().where(timers.c.id == row.id).values(fired_at=now))
    return len(rows)


async def list_reservations(
    db: Database, hotel_id: str | None = None, status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    query = sa.select(
        reservations.c.client_reference, reservations.c.pms_booking_id, reservations.c.status,
        reservations.c.hotel_id, reservations.c.room_type, reservations.c.check_in,
        reservations.c.check_out, reservations.c.total, reservations.c.currency,
        reservations.c.deposit_amount, reservations.c.conversation_id, reservations.c.updated_at,
    ).order_by(reservations.c.id.desc()).limit(limit)  # fmt: skip
    if hotel_id:
        query = query.where(reservations.c.hotel_id == hotel_id)
    if status:
        query = query.where(reservations.c.status == status)
    async with db.begin() as conn:
        rows = (await conn.execute(query)).all()
    return [_plain(r._asdict()) for r in rows]


async def list_notifications(
    db: Database, hotel_id: str | None = None, *, unseen: bool = True, limit: int = 100
) -> list[dict[str, Any]]:
    query = sa.select(staff_notifications).order_by(staff_notifications.c.id.desc()).limit(limit)
    if hotel_id:
        query = query.where(staff_notifications.c.hotel_id == hotel_id)
    if unseen:
        query = query.where(staff_notifications.c.seen_at.is_(None))
    async with db.begin() as conn:
        rows = (await conn.execute(query)).all()
    return [_plain(r._asdict()) for r in rows]


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in row.items():
        if isinstance(v, (dt.date, dt.datetime)):
            v = v.isoformat()
        elif v is not None and not isinstance(v, (str, int, float, bool, dict, list)):
            v = str(v)
        out[k] = v
    return out
