"""The durable message path: inbox, leases, outbox, dead letters.

    accept ──► inbox(pending) ──claim──► processing (lease) ──finish──► done  (+ outbox rows, same tx)
                     ▲                        │ fail / lease expired
                     └──── retry with backoff ┘──── attempts exhausted ──► dead + dead_letters

    outbox(pending) ──claim──► sending (lease) ──► sent ──(status webhooks)──► delivered / read
                     ▲              │ ChannelError
                     └── backoff ───┘──── attempts exhausted or permanent ──► dead + dead_letters

A message is claimable only when it is the earliest unfinished one of its conversation, so each
conversation has at most one message in flight and replies leave in order. On PostgreSQL the
claim takes rows with ``FOR UPDATE SKIP LOCKED``, so any number of worker processes share the
queue; on SQLite ``BEGIN IMMEDIATE`` makes each claim exclusive. Finishing is fenced by the lease
owner: a worker whose lease was taken over commits nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import random
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import attrs
import msgspec
import sqlalchemy as sa

from agente.adapters.sql import dead_letters, inbox, insert, outbox
from agente.domain import InboundMessage, OutboundMessage
from agente.registry import AcceptResult

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from agente.adapters.sql import Database
    from agente.ports import Clock

__all__ = ["InboxItem", "LeaseLost", "MessageStore", "OutboxItem", "QueueSettings"]

_UNFINISHED_IN = ("pending", "processing")
_UNFINISHED_OUT = ("pending", "sending")


class LeaseLost(Exception):
    """Our lease on a message was taken over; the transaction must not commit."""


@attrs.frozen
class QueueSettings:
    lease_seconds: float = 30.0
    inbox_max_attempts: int = 3
    outbox_max_attempts: int = 6
    backoff_base: float = 1.0
    backoff_max: float = 300.0
    accept_batch: int = 500
    """Most inbound requests one group commit takes (their messages go in one INSERT)."""


@attrs.frozen
class InboxItem:
    id: int
    message: InboundMessage
    attempts: int
    received_at: dt.datetime


_DELIVERY_RANK = {"sent": 1, "delivered": 2, "read": 3, "played": 3, "failed": 4, "dead": 5}


@attrs.frozen
class OutboxItem:
    id: int
    inbox_id: int | None
    message: OutboundMessage
    attempts: int


def backoff(attempt: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with equal jitter: between half and all of ``base * 2**(attempt-1)``."""
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    return float(ceiling / 2 + rng.uniform(0, ceiling / 2))


@attrs.define
class MessageStore:
    db: Database
    clock: Clock
    settings: QueueSettings = QueueSettings()
    rng: random.Random = attrs.field(factory=random.Random)
    _pending: list[tuple[list[dict[str, Any]], asyncio.Future[list[int]]]] = attrs.field(
        factory=list, init=False
    )
    _flusher: asyncio.Task[None] | None = attrs.field(default=None, init=False)
    _flusher_loop: asyncio.AbstractEventLoop | None = attrs.field(default=None, init=False)

    # ------------------------------------------------------------------ inbox

    @functools.cached_property
    def _accept_stmt(self) -> Any:
        # one statement object, parameters apart: SQLAlchemy compiles it once and batches the
        # rows into one INSERT … RETURNING ("insertmanyvalues"); a .values(rows) statement would
        # be compiled again for every request
        return (
            insert(inbox, self.db.dialect)
            .on_conflict_do_nothing(index_elements=["channel", "provider_message_id"])
            .returning(inbox.c.id, inbox.c.channel, inbox.c.provider_message_id)
        )

    async def accept(self, messages: Sequence[InboundMessage]) -> AcceptResult:
        """Store messages durably; duplicates of (channel, provider id) are ignored.

        Returns only once the transaction holding them is committed: the caller may then
        acknowledge. Concurrent callers share transactions (a group commit): while one commit
        is in flight the next callers' rows gather, and go together in the next one. Each caller
        still learns exactly which of its messages were new.
        """
        if not messages:
            return AcceptResult(accepted=[], duplicates=0)
        now = self.clock.now()
        rows = [
            {
                "channel": m.channel,
                "provider_message_id": m.provider_message_id,
                "hotel_id": m.hotel_id,
                "conversation_key": m.conversation_key,
                "message": msgspec.to_builtins(m),
                "status": "pending",
                "attempts": 0,
                "available_at": now,
                "received_at": now,
            }
            for m in messages
        ]
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[int]] = loop.create_future()
        self._pending.append((rows, future))
        if self._flusher is None or self._flusher.done() or self._flusher_loop is not loop:
            self._flusher_loop = loop
            self._flusher = loop.create_task(self._flush())
        ids = await future
        return AcceptResult(accepted=sorted(ids), duplicates=len(messages) - len(ids))

    async def _flush(self) -> None:
        """Commit what gathered, then what gathered meanwhile, until nothing is left."""
        while self._pending:
            batch = self._pending[: self.settings.accept_batch]
            del self._pending[: len(batch)]
            try:
                async with self.db.begin() as conn:
                    result = await conn.execute(
                        self._accept_stmt, [r for rows, _ in batch for r in rows]
                    )
                    inserted = {(r.channel, r.provider_message_id): r.id for r in result}
            except BaseException as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
                continue
            for rows, future in batch:  # the first caller with a new message owns it
                ids = [
                    i
                    for r in rows
                    if (i := inserted.pop((r["channel"], r["provider_message_id"]), None))
                    is not None
                ]
                if not future.done():
                    future.set_result(ids)

    async def claim_inbox(self, worker_id: str, limit: int) -> list[InboxItem]:
        """Lease up to ``limit`` messages, each the oldest unfinished one of its conversation."""
        now = self.clock.now()
        earlier = inbox.alias("earlier")
        blocked = sa.exists().where(
            earlier.c.conversation_key == inbox.c.conversation_key,
            earlier.c.id < inbox.c.id,
            earlier.c.status.in_(_UNFINISHED_IN),
        )
        claimable = sa.or_(
            sa.and_(inbox.c.status == "pending", inbox.c.available_at <= now),
            sa.and_(
                inbox.c.status == "processing",
                inbox.c.lease_until < now,
                inbox.c.attempts < self.settings.inbox_max_attempts,
            ),
        )
        candidates = (
            sa.select(inbox.c.id)
            .where(claimable, ~blocked)
            .order_by(inbox.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        stmt = (
            inbox.update()
            .where(inbox.c.id.in_(candidates.scalar_subquery()))
            .values(
                status="processing",
                lease_owner=worker_id,
                lease_until=now + dt.timedelta(seconds=self.settings.lease_seconds),
                attempts=inbox.c.attempts + 1,
            )
            .returning(inbox.c.id, inbox.c.message, inbox.c.attempts, inbox.c.received_at)
        )
        async with self.db.begin() as conn:
            rows = (await conn.execute(stmt)).all()
        return sorted(
            (
                InboxItem(
                    id=r.id,
                    message=msgspec.convert(r.message, InboundMessage),
                    attempts=r.attempts,
                    received_at=r.received_at,
                )
                for r in rows
            ),
            key=lambda i: i.id,
        )

    async def finish(
        self, conn: AsyncConnection, item: InboxItem, worker_id: str, result: dict[str, Any]
    ) -> None:
        """Mark the message done inside the caller's transaction; ``LeaseLost`` if not ours."""
        res = await conn.execute(
            inbox.update()
            .where(
                inbox.c.id == item.id,
                inbox.c.status == "processing",
                inbox.c.lease_owner == worker_id,
            )
            .values(
                status="done",
                processed_at=self.clock.now(),
                result=result,
                lease_owner=None,
                lease_until=None,
                last_error=None,
            )
        )
        if res.rowcount != 1:
            raise LeaseLost(f"inbox message {item.id} is no longer leased to {worker_id}")

    async def fail_inbox(
        self, item: InboxItem, worker_id: str, error: str
    ) -> Literal["retry", "dead", "lost"]:
        """After a crash in the handler: retry later, or dead-letter after the last attempt."""
        now = self.clock.now()
        async with self.db.begin() as conn:
            if item.attempts >= self.settings.inbox_max_attempts:
                res = await conn.execute(
                    inbox.update()
                    .where(inbox.c.id == item.id, inbox.c.lease_owner == worker_id)
                    .values(status="dead", last_error=error, lease_owner=None, lease_until=None)
                )
                if res.rowcount != 1:
                    return "lost"
                await self._dead_letter_inbox(conn, [item.id], error)
                return "dead"
            delay = backoff(
                item.attempts,
                base=self.settings.backoff_base,
                cap=self.settings.backoff_max,
                rng=self.rng,
            )
            res = await conn.execute(
                inbox.update()
                .where(inbox.c.id == item.id, inbox.c.lease_owner == worker_id)
                .values(
                    status="pending",
                    available_at=now + dt.timedelta(seconds=delay),
                    last_error=error,
                    lease_owner=None,
                    lease_until=None,
                )
            )
        return "retry" if res.rowcount == 1 else "lost"

    async def reap_inbox(self) -> int:
        """Dead-letter messages whose last attempt's worker died (lease expired, none left)."""
        now = self.clock.now()
        async with self.db.begin() as conn:
            rows = (
                await conn.execute(
                    inbox.update()
                    .where(
                        inbox.c.status == "processing",
                        inbox.c.lease_until < now,
                        inbox.c.attempts >= self.settings.inbox_max_attempts,
                    )
                    .values(status="dead", lease_owner=None, lease_until=None)
                    .returning(inbox.c.id)
                )
            ).all()
            ids = [r.id for r in rows]
            if ids:
                await self._dead_letter_inbox(conn, ids, "worker lease expired on the last attempt")
        return len(ids)

    async def _dead_letter_inbox(self, conn: AsyncConnection, ids: list[int], error: str) -> None:
        rows = await conn.execute(
            sa.select(
                inbox.c.id, inbox.c.channel, inbox.c.hotel_id, inbox.c.message, inbox.c.attempts
            ).where(inbox.c.id.in_(ids))
        )
        now = self.clock.now()
        await conn.execute(
            dead_letters.insert(),
            [
                {
                    "source": "inbox",
                    "source_id": r.id,
                    "channel": r.channel,
                    "hotel_id": r.hotel_id,
                    "payload": r.message,
                    "error": error[:4000],
                    "attempts": r.attempts,
                    "created_at": now,
                }
                for r in rows
            ],
        )

    # ------------------------------------------------------------------ outbox

    async def enqueue(
        self,
        conn: AsyncConnection,
        messages: Sequence[OutboundMessage],
        *,
        conversation_key: str,
        inbox_id: int | None = None,
    ) -> list[int]:
        """Queue replies inside the caller's transaction, in order."""
        if not messages:
            return []
        now = self.clock.now()
        rows = [
            {
                "inbox_id": inbox_id,
                "hotel_id": m.hotel_id,
                "channel": m.channel,
                "conversation_key": conversation_key,
                "recipient_id": m.recipient_id,
                "message": msgspec.to_builtins(m),
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for m in messages
        ]
        ids = []
        for row in rows:  # one by one: ids must follow the order of the replies
            res = await conn.execute(outbox.insert().values(row).returning(outbox.c.id))
            ids.append(res.scalar_one())
        return ids

    async def claim_outbox(self, worker_id: str, limit: int) -> list[OutboxItem]:
        """Lease due replies, each the oldest unsent one of its conversation."""
        now = self.clock.now()
        earlier = outbox.alias("earlier")
        blocked = sa.exists().where(
            earlier.c.conversation_key == outbox.c.conversation_key,
            earlier.c.id < outbox.c.id,
            earlier.c.status.in_(_UNFINISHED_OUT),
        )
        claimable = sa.or_(
            sa.and_(outbox.c.status == "pending", outbox.c.next_attempt_at <= now),
            sa.and_(outbox.c.status == "sending", outbox.c.lease_until < now),
        )
        candidates = (
            sa.select(outbox.c.id)
            .where(claimable, ~blocked)
            .order_by(outbox.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        stmt = (
            outbox.update()
            .where(outbox.c.id.in_(candidates.scalar_subquery()))
            .values(
                status="sending",
                lease_owner=worker_id,
                lease_until=now + dt.timedelta(seconds=self.settings.lease_seconds),
                attempts=outbox.c.attempts + 1,
                updated_at=now,
            )
            .returning(outbox.c.id, outbox.c.inbox_id, outbox.c.message, outbox.c.attempts)
        )
        async with self.db.begin() as conn:
            rows = (await conn.execute(stmt)).all()
        return sorted(
            (
                OutboxItem(
                    id=r.id,
                    inbox_id=r.inbox_id,
                    message=msgspec.convert(r.message, OutboundMessage),
                    attempts=r.attempts,
                )
                for r in rows
            ),
            key=lambda i: i.id,
        )

    async def mark_sent(self, item: OutboxItem, worker_id: str, provider_message_id: str) -> bool:
        now = self.clock.now()
        async with self.db.begin() as conn:
            res = await conn.execute(
                outbox.update()
                .where(outbox.c.id == item.id, outbox.c.lease_owner == worker_id)
                .values(
                    status="sent",
                    provider_message_id=provider_message_id,
                    sent_at=now,
                    updated_at=now,
                    lease_owner=None,
                    lease_until=None,
                    last_error=None,
                )
            )
        return bool(res.rowcount == 1)

    async def fail_outbox(
        self,
        item: OutboxItem,
        worker_id: str,
        error: str,
        *,
        permanent: bool = False,
        retry_after: float | None = None,
    ) -> Literal["retry", "dead", "lost"]:
        """A failed delivery: retry with backoff, or dead-letter when permanent or exhausted."""
        now = self.clock.now()
        async with self.db.begin() as conn:
            if permanent or item.attempts >= self.settings.outbox_max_attempts:
                res = await conn.execute(
                    outbox.update()
                    .where(outbox.c.id == item.id, outbox.c.lease_owner == worker_id)
                    .values(
                        status="dead",
                        last_error=error[:4000],
                        updated_at=now,
                        lease_owner=None,
                        lease_until=None,
                    )
                )
                if res.rowcount != 1:
                    return "lost"
                await conn.execute(
                    dead_letters.insert().values(
                        source="outbox",
                        source_id=item.id,
                        channel=item.message.channel,
                        hotel_id=item.message.hotel_id,
                        payload=msgspec.to_builtins(item.message),
                        error=error[:4000],
                        attempts=item.attempts,
                        created_at=now,
                    )
                )
                return "dead"
            delay = backoff(
                item.attempts,
                base=self.settings.backoff_base,
                cap=self.settings.backoff_max,
                rng=self.rng,
            )
            if retry_after is not None:
                delay = max(delay, retry_after)
            res = await conn.execute(
                outbox.update()
                .where(outbox.c.id == item.id, outbox.c.lease_owner == worker_id)
                .values(
                    status="pending",
                    next_attempt_at=now + dt.timedelta(seconds=delay),
                    last_error=error[:4000],
                    updated_at=now,
                    lease_owner=None,
                    lease_until=None,
                )
            )
        return "retry" if res.rowcount == 1 else "lost"

    async def update_delivery(
        self,
        channel: str,
        provider_message_id: str,
        status: str,
        error: str | None = None,
        *,
        dead_letter: bool = False,
        resend: bool = False,
    ) -> bool:
        """Apply a provider status callback to the outbox row; False when nothing changed.

        Statuses only move forward (sent < delivered < read; ``failed`` is final), whatever order
        the callbacks arrive in. ``dead_letter`` files a failure that no retry can fix;
        ``resend`` puts the message back in the queue with its reply window closed, so that the
        channel takes its out-of-window path (a template) on the next attempt.
        """
        now = self.clock.now()
        async with self.db.begin() as conn:
            row = (
                await conn.execute(
                    sa.select(outbox.c.id, outbox.c.status, outbox.c.message, outbox.c.attempts)
                    .where(
                        outbox.c.channel == channel,
                        outbox.c.provider_message_id == provider_message_id,
                    )
                    .with_for_update()
                )
            ).first()
            if row is None:
                return False
            if resend and row.status != "dead":
                message = dict(row.message)
                message["reply_by"] = "1970-01-01T00:00:00+00:00"
                await conn.execute(
                    outbox.update()
                    .where(outbox.c.id == row.id)
                    .values(
                        status="pending",
                        message=message,
                        next_attempt_at=now,
                        last_error=(error or "")[:4000],
                        provider_message_id=None,
                        updated_at=now,
                    )
                )
                return True
            if _DELIVERY_RANK.get(status, 0) <= _DELIVERY_RANK.get(row.status, 0):
                return False  # an older status arriving late, or after a final failure
            final = "dead" if dead_letter else status
            await conn.execute(
                outbox.update()
                .where(outbox.c.id == row.id)
                .values(status=final, last_error=error, updated_at=now)
            )
            if dead_letter:
                await conn.execute(
                    dead_letters.insert().values(
                        source="outbox",
                        source_id=row.id,
                        channel=channel,
                        hotel_id=row.message.get("hotel_id", ""),
                        payload=row.message,
                        error=(error or status)[:4000],
                        attempts=row.attempts,
                        created_at=now,
                    )
                )
        return True

    # ------------------------------------------------------------------ gauges

    async def depths(self) -> dict[str, float]:
        """Backlog figures for metrics: depth and oldest age of each queue, dead letters."""
        now = self.clock.now()
        async with self.db.begin() as conn:
            in_row = (
                await conn.execute(
                    sa.select(sa.func.count(), sa.func.min(inbox.c.received_at)).where(
                        inbox.c.status.in_(_UNFINISHED_IN)
                    )
                )
            ).one()
            out_row = (
                await conn.execute(
                    sa.select(sa.func.count(), sa.func.min(outbox.c.created_at)).where(
                        outbox.c.status.in_(_UNFINISHED_OUT)
                    )
                )
            ).one()
            dead = (
                await conn.execute(
                    sa.select(sa.func.count()).where(dead_letters.c.replayed_at.is_(None))
                )
            ).scalar_one()

        def age(oldest: dt.datetime | None) -> float:
            if oldest is None:
                return 0.0
            if oldest.tzinfo is None:
                oldest = oldest.replace(tzinfo=dt.UTC)
            return max(0.0, (now - oldest).total_seconds())

        return {
            "inbox_depth": float(in_row[0]),
            "inbox_oldest_age_seconds": age(in_row[1]),
            "outbox_depth": float(out_row[0]),
            "outbox_oldest_age_seconds": age(out_row[1]),
            "dead_letters": float(dead),
        }
