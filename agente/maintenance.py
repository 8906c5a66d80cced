"""The weekly maintenance (``agente maintenance``, a cron job on Sundays at 04:00).

In this order, each step in its own transaction:

1. **Leases and holds.** Messages whose worker died are sent back to the queue (the reaper the
   workers also run), and deposit holds already due are queued to expire.
2. **Personal data of closed conversations.** A conversation is *closed* when nothing happened
   in it for ``retention_pii_days`` and it has no open booking (waiting for its deposit or its
   check, or confirmed with a check-out still to come). Its guest's name, phone and e-mail are
   removed; the sender id (a phone or an address) becomes a pseudonym ``erased:<hash>`` in the
   guest, the conversation, its messages, replies and timers; message texts and the guest's
   details in the dialogue state, the reservations and the staff notifications are removed; the
   payment proofs and the vouchers sent in it are deleted. Figures (dates, amounts, room types,
   statuses) stay for the hotel's records. Should the guest write again, it is a new
   conversation.
3. **Retention.** Handled messages and their sent replies older than
   ``retention_messages_days``; fired timers and replayed dead letters of that age; audit-log
   entries, read staff notifications and any dead letter older than ``retention_logs_days``.
   A message whose reply is still waiting is never deleted.
4. **Storage.** ``VACUUM (ANALYZE)`` on PostgreSQL, ``VACUUM`` and ``ANALYZE`` on SQLite.

``dry_run`` counts what each step would do and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import time
from typing import TYPE_CHECKING, Any

import msgspec
import sqlalchemy as sa

from agente.adapters.sql import (
    audit_log,
    conversations,
    dead_letters,
    documents,
    guests,
    inbox,
    outbox,
    reservations,
    staff_notifications,
    timers,
)

if TYPE_CHECKING:
    from agente.adapters.sql import Database
    from agente.messaging import MessageStore
    from agente.ports import Clock
    from agente.settings import Settings

__all__ = ["MaintenanceReport", "erase", "run_maintenance"]

#: keys whose values are personal in the JSON we keep (messages, state, reservations, notes)
PII_KEYS = frozenset({
    "guest_name", "guest_email", "guest_phone", "name", "email", "phone", "text", "caption",
    "sender_name", "sender_phone", "sender_email", "sender_id", "recipient_id", "document",
    "document_number", "address", "filename", "url", "latitude", "longitude", "summary",
    "guest", "title", "description", "client_message_id",
})  # fmt: skip
OPEN = ("pending_deposit", "awaiting_verification")
ERASED = "erased:"


class MaintenanceReport(msgspec.Struct, kw_only=True):
    dry_run: bool
    leases_released: int = 0
    holds_queued: int = 0
    conversations_erased: int = 0
    proofs_deleted: int = 0
    inbox_deleted: int = 0
    outbox_deleted: int = 0
    timers_deleted: int = 0
    dead_letters_deleted: int = 0
    notifications_deleted: int = 0
    audit_deleted: int = 0
    vacuumed: bool = False
    seconds: float = 0.0

    def lines(self) -> list[str]:
        verb = "would" if self.dry_run else "did"
        return [
            f"maintenance ({'dry run' if self.dry_run else 'applied'}) in {self.seconds:.1f} s:",
            f"  leases released: {self.leases_released}; due holds queued: {self.holds_queued}",
            f"  closed conversations erased: {self.conversations_erased} "
            f"(their proofs and vouchers deleted: {self.proofs_deleted})",
            f"  deleted: {self.inbox_deleted} messages, {self.outbox_deleted} replies, "
            f"{self.timers_deleted} timers, {self.dead_letters_deleted} dead letters, "
            f"{self.notifications_deleted} staff notifications, {self.audit_deleted} audit entries",
            f"  storage: {'vacuumed and analysed' if self.vacuumed else f'{verb} not vacuum'}",
        ]


def scrub(value: Any, pseudonym: str | None = None) -> Any:
    """``value`` (decoded JSON) with every personal field emptied (sender ids → pseudonym)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key in ("sender_id", "recipient_id") and pseudonym is not None:
                out[key] = pseudonym
            elif key in PII_KEYS and isinstance(item, (str, int, float)) and item != "":
                out[key] = None
            elif key in PII_KEYS and isinstance(item, (dict, list)):
                out[key] = scrub(item, pseudonym) if key in ("summary", "guest") else None
            else:
                out[key] = scrub(item, pseudonym)
        return out
    if isinstance(value, list):
        return [scrub(v, pseudonym) for v in value]
    return value


_DOC_URL = re.compile(r"/documents/([0-9a-f]{40})")


def _document_keys(value: Any) -> set[str]:
    """The stored files a message names (``stored_key``, or a ``/documents/<key>`` link)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "stored_key" and isinstance(item, str):
                found.add(item)
            else:
                found |= _document_keys(item)
    elif isinstance(value, list):
        for item in value:
            found |= _document_keys(item)
    elif isinstance(value, str):
        found |= set(_DOC_URL.findall(value))
    return found


def pseudonym(hotel_id: str, channel: str, sender_id: str) -> str:
    digest = hashlib.sha256(f"{hotel_id}\x00{channel}\x00{sender_id}".encode()).hexdigest()
    return ERASED + digest[:20]


async def _closed(conn: Any, cutoff: dt.datetime, today: dt.date) -> list[Any]:
    open_booking = (
        sa.select(reservations.c.id)
        .where(
            reservations.c.conversation_id == conversations.c.id,
            sa.or_(
                reservations.c.status.in_(OPEN),
                sa.and_(reservations.c.status == "confirmed", reservations.c.check_out >= today),
            ),
        )
        .exists()
    )
    query = sa.select(conversations).where(
        conversations.c.updated_at < cutoff,
        conversations.c.mode != "human",
        sa.not_(conversations.c.sender_id.startswith(ERASED)),
        sa.not_(open_booking),
    )
    return list((await conn.execute(query)).all())


async def erase(conn: Any, row: Any) -> int:
    """Remove the personal data of one closed conversation; its files (payment proofs,
    vouchers) deleted. Returns how many files."""
    fake = pseudonym(row.hotel_id, row.channel, row.sender_id)
    old_key = f"{row.hotel_id}:{row.channel}:{row.sender_id}"
    new_key = f"{row.hotel_id}:{row.channel}:{fake}"
    await conn.execute(guests.update().where(guests.c.id == row.guest_id)
                       .values(name=None, phone=None, email=None, sender_id=fake))  # fmt: skip
    await conn.execute(conversations.update().where(conversations.c.id == row.id)
                       .values(sender_id=fake, state=scrub(row.state)))  # fmt: skip
    files: set[str] = set()
    for table, column in ((inbox, "message"), (outbox, "message")):
        rows = await conn.execute(sa.select(table.c.id, table.c[column])
                                  .where(table.c.conversation_key == old_key))  # fmt: skip
        for item in rows.all():
            files |= _document_keys(item[1])  # the vouchers sent carry the guest's name
            values: dict[str, Any] = {column: scrub(item[1], fake), "conversation_key": new_key}
            if table is outbox:
                values["recipient_id"] = fake
            await conn.execute(table.update().where(table.c.id == item[0]).values(**values))
    await conn.execute(timers.update().where(timers.c.hotel_id == row.hotel_id,
                                             timers.c.channel == row.channel,
                                             timers.c.sender_id == row.sender_id)
                       .values(sender_id=fake))  # fmt: skip
    proofs = 0
    if files:
        deleted = await conn.execute(documents.delete().where(documents.c.key.in_(sorted(files))))
        proofs += deleted.rowcount or 0
    bookings = await conn.execute(sa.select(reservations.c.id, reservations.c.data)
                                  .where(reservations.c.conversation_id == row.id))  # fmt: skip
    for booking in bookings.all():
        keys = [p.get("stored_key") for p in (booking.data or {}).get("proofs", [])]
        keys = [k for k in keys if k]
        if keys:
            deleted = await conn.execute(documents.delete().where(documents.c.key.in_(keys)))
            proofs += deleted.rowcount or 0
        await conn.execute(reservations.update().where(reservations.c.id == booking.id)
                           .values(data=scrub(booking.data)))  # fmt: skip
    notes = await conn.execute(sa.select(staff_notifications.c.id, staff_notifications.c.summary)
                               .where(staff_notifications.c.conversation_id == row.id))  # fmt: skip
    for note in notes.all():
        await conn.execute(staff_notifications.update()
                           .where(staff_notifications.c.id == note.id)
                           .values(summary=scrub(note.summary)))  # fmt: skip
    return proofs


async def run_maintenance(
    db: Database,
    messages: MessageStore,
    clock: Clock,
    settings: Settings,
    *,
    dry_run: bool = False,
    vacuum: bool = True,
) -> MaintenanceReport:
    from agente.staff import fire_due_timers

    started = time.perf_counter()
    now = clock.now()
    report = MaintenanceReport(dry_run=dry_run)
    msg_cut = now - dt.timedelta(days=settings.retention_messages_days)
    log_cut = now - dt.timedelta(days=settings.retention_logs_days)
    pii_cut = now - dt.timedelta(days=settings.retention_pii_days)

    # 1. leases and holds
    if dry_run:
        async with db.begin() as conn:
            stuck = sa.select(sa.func.count()).select_from(inbox).where(
                inbox.c.status == "processing", inbox.c.lease_until < now)  # fmt: skip
            sending = sa.select(sa.func.count()).select_from(outbox).where(
                outbox.c.status == "sending", outbox.c.lease_until < now)  # fmt: skip
            report.leases_released = int((await conn.execute(stuck)).scalar_one()) + int(
                (await conn.execute(sending)).scalar_one()
            )
            due = sa.select(sa.func.count()).select_from(timers).where(
                timers.c.fired_at.is_(None), timers.c.due_at <= now)  # fmt: skip
            report.holds_queued = int((await conn.execute(due)).scalar_one())
    else:
        # a worker that died left its claims: back to the queue (its own fencing makes a late
        # finish roll back), and the last attempts to the dead letters
        async with db.begin() as conn:
            back = await conn.execute(
                inbox.update()
                .where(inbox.c.status == "processing", inbox.c.lease_until < now,
                       inbox.c.attempts < messages.settings.inbox_max_attempts)
                .values(status="pending", lease_owner=None, lease_until=None)
            )  # fmt: skip
            out = await conn.execute(
                outbox.update()
                .where(outbox.c.status == "sending", outbox.c.lease_until < now)
                .values(status="pending", lease_owner=None, lease_until=None)
            )
        reaped = int(await messages.reap_inbox() or 0)
        report.leases_released = (back.rowcount or 0) + (out.rowcount or 0) + reaped
        report.holds_queued = int(await fire_due_timers(db, messages, clock) or 0)

    # 2. personal data of closed conversations (one transaction each)
    async with db.begin() as conn:
        closed = await _closed(conn, pii_cut, now.date())
    report.conversations_erased = len(closed)
    if not dry_run:
        for row in closed:
            async with db.begin() as conn:
                report.proofs_deleted += await erase(conn, row)

    # 3. retention
    replied = sa.select(outbox.c.id).where(outbox.c.inbox_id == inbox.c.id).exists()
    steps: list[tuple[str, sa.Table, Any]] = [
        ("outbox_deleted", outbox, sa.and_(outbox.c.status.not_in(("pending", "sending")),
                                           outbox.c.created_at < msg_cut)),
        ("inbox_deleted", inbox, sa.and_(inbox.c.status.in_(("done", "dead")),
                                         inbox.c.received_at < msg_cut, sa.not_(replied))),
        ("timers_deleted", timers, sa.and_(timers.c.fired_at.is_not(None),
                                           timers.c.fired_at < msg_cut)),
        ("dead_letters_deleted", dead_letters, sa.or_(
            sa.and_(dead_letters.c.replayed_at.is_not(None), dead_letters.c.created_at < msg_cut),
            dead_letters.c.created_at < log_cut)),
        ("notifications_deleted", staff_notifications, sa.and_(
            staff_notifications.c.seen_at.is_not(None), staff_notifications.c.created_at < log_cut)),
        ("audit_deleted", audit_log, audit_log.c.at < log_cut),
    ]  # fmt: skip
    for field, table, where in steps:
        async with db.begin() as conn:
            if dry_run:
                query = sa.select(sa.func.count()).select_from(table).where(where)
                if table is inbox:  # the replies would go first
                    query = sa.select(sa.func.count()).select_from(table).where(
                        inbox.c.status.in_(("done", "dead")), inbox.c.received_at < msg_cut)  # fmt: skip
                count = int((await conn.execute(query)).scalar_one())
            else:
                count = (await conn.execute(table.delete().where(where))).rowcount or 0
        setattr(report, field, count)

    # 4. storage
    if vacuum and not dry_run:
        await vacuum_database(db)
        report.vacuumed = True
    report.seconds = round(time.perf_counter() - started, 3)
    return report


async def vacuum_database(db: Database) -> None:
    """VACUUM (ANALYZE) on PostgreSQL, VACUUM and ANALYZE on SQLite; outside any transaction."""
    engine = db.engine
    if engine.dialect.name == "postgresql":
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(sa.text("VACUUM (ANALYZE)"))
        return
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        await driver.execute("VACUUM")
        await driver.execute("ANALYZE")
