"""`agente maintenance` on SQLite and PostgreSQL, on conversations made by the real service:
closed conversations lose their personal data everywhere (guest, state, messages, replies,
reservation, files), open ones and recent ones keep it, old messages go, a reply still waiting
keeps its message, a dry run counts the same and changes nothing, and VACUUM runs."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import msgspec
import sqlalchemy as sa

from agente.adapters.sql import (
    audit_log,
    conversations,
    documents,
    guests,
    inbox,
    outbox,
    reservations,
)
from agente.domain import InboundMessage, Media
from agente.maintenance import run_maintenance
from agente.staff import confirm_deposit
from agente.testing import FrozenClock, drain
from tests.conftest import run_cli

PROOF = b"%PDF-1.4\n% comprobante de Ana Perez DNI 30123456\n%%EOF\n"


async def say(deps: Any, sender: str, text: str | None = None, media: Media | None = None) -> None:
    message = InboundMessage(
        channel="webchat", provider_message_id=uuid.uuid4().hex, hotel_id="demo",
        sender_id=sender, kind="media" if media else "text", text=text, media=media,
    )  # fmt: skip
    await deps.ingress.accept([message])
    await drain(deps.worker())


async def book(deps: Any, sender: str, name: str, email: str, start: dt.date) -> None:
    end = start + dt.timedelta(days=2)
    for text in (f"tienen lugar del {start:%d/%m/%Y} al {end:%d/%m/%Y} para 2?", "1", name, email):
        await say(deps, sender, text)


async def rows(deps: Any, table: sa.Table) -> list[Any]:
    async with deps.db.begin() as conn:
        return list(await conn.execute(sa.select(table)))


async def dump(deps: Any) -> str:
    """Every row of the tables that hold guests' words, as one text to search."""
    parts = []
    for table in (guests, conversations, inbox, outbox, reservations):
        parts += [json.dumps(r._asdict(), default=str, ensure_ascii=False)
                  for r in await rows(deps, table)]  # fmt: skip
    return "\n".join(parts)


async def test_maintenance_erases_closed_conversations_and_keeps_open_ones(
    db_url: str, make_deps: Any, clock: FrozenClock
) -> None:
    deps = await make_deps(db_url, AGENTE_BUSINESS_HOURS_ALWAYS_OPEN="true")
    start = clock.now().date() + dt.timedelta(days=20)
    # Ana books, sends her proof, staff confirm: a voucher is sent
    await book(deps, "ana", "Ana Perez", "ana.perez@example.com", start)
    key = await deps.service.documents.put("demo", PROOF, "application/pdf", "comprobante.pdf")
    await say(deps, "ana", "te mando el comprobante",
              Media(stored_key=key, mime_type="application/pdf", filename="comprobante.pdf"))  # fmt: skip
    (booking,) = await rows(deps, reservations)
    await confirm_deposit(deps.db, deps.messages, booking.client_reference, operator="front")
    await drain(deps.worker())
    # Bruno only asks; Carla books and has not paid yet
    await say(deps, "bruno", "hola, tienen cochera? soy Bruno Diaz, bruno.diaz@example.com")
    await book(deps, "carla", "Carla Gomez", "carla.gomez@example.com", start)
    assert len(await rows(deps, documents)) == 2  # Ana's proof and her voucher
    assert "Ana Perez" in await dump(deps)

    # 200 days later, with Carla's booking still waiting (as if the hold timer were lost)
    clock.advance(200 * 86400)
    async with deps.db.begin() as conn:
        await conn.execute(sa.text("DELETE FROM timers"))
    # Dora writes today: recent, kept; one of her replies is still waiting to be sent
    await say(deps, "dora", "hola, soy Dora Lopez")
    async with deps.db.begin() as conn:
        await conn.execute(outbox.update().where(outbox.c.recipient_id == "carla")
                           .values(status="pending"))  # fmt: skip
        await conn.execute(audit_log.insert().values(
            at=clock.now() - dt.timedelta(days=400), action="x", target="y"))  # fmt: skip

    dry = await run_maintenance(deps.db, deps.messages, deps.clock, deps.settings, dry_run=True)
    before = await dump(deps)
    assert "Ana Perez" in before and dry.conversations_erased == 2
    applied = await run_maintenance(deps.db, deps.messages, deps.clock, deps.settings)
    assert applied.conversations_erased == dry.conversations_erased == 2
    assert applied.outbox_deleted == dry.outbox_deleted > 0
    assert applied.audit_deleted == dry.audit_deleted == 1
    assert applied.proofs_deleted == 2 and applied.vacuumed

    after = await dump(deps)
    for secret in ("Ana Perez", "ana.perez@example.com", "Bruno", "bruno.diaz", "cochera",
                   "te mando el", '"ana"', '"bruno"'):  # fmt: skip
        assert secret not in after, secret
    for kept in ("Carla Gomez", "carla.gomez@example.com", "Dora"):
        assert kept in after, kept  # an open booking and a recent conversation keep theirs
    assert await rows(deps, documents) == []
    senders = sorted(g.sender_id for g in await rows(deps, guests))
    assert senders[:2] == ["carla", "dora"] and all(s.startswith("erased:") for s in senders[2:])
    confirmed = next(r for r in await rows(deps, reservations) if r.status == "confirmed")
    assert confirmed.total is not None and confirmed.check_in == start  # figures stay
    assert confirmed.data["guest_name"] is None
    # Carla's message with a reply still waiting is kept; the other old messages are gone
    remaining = {r.conversation_key for r in await rows(deps, inbox)}
    assert remaining == {"demo:webchat:carla", "demo:webchat:dora"}
    state = next(c.state for c in await rows(deps, conversations) if c.sender_id != "carla"
                 and c.sender_id != "dora")  # fmt: skip
    msgspec.json.encode(state)  # still a valid state document

    again = await run_maintenance(deps.db, deps.messages, deps.clock, deps.settings)
    assert again.conversations_erased == 0 and again.inbox_deleted == 0


def test_the_command_runs_on_the_embedded_default(tmp_path: Any) -> None:
    chat = run_cli(tmp_path, "chat", "--jsonl", stdin="hola\n")
    assert chat.returncode == 0, chat.stderr
    dry = run_cli(tmp_path, "maintenance", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["dry_run"] is True
    done = run_cli(tmp_path, "maintenance")
    assert done.returncode == 0, done.stderr
    assert "vacuumed and analysed" in done.stdout
