"""The ``imap`` channel end to end against a real dovecot and a real SMTP server (aiosmtpd): a
guest's mail is read from the mailbox, answered in-thread in the guest's language, a copy kept
in Sent; the same mail met twice is answered once; a PDF proof puts the booking in
``awaiting_verification``; auto-replies and bounces are kept and never answered; and the
worker's IDLE loop answers a new mail without waiting for the poll."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import imaplib
from collections.abc import AsyncIterator, Awaitable, Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from agente_channel_email.testing import (
    PASSWORD,
    USER,
    Capture,
    Dovecot,
)
from agente_channel_email.testing import (
    guest_mail as make_mail,
)

from agente.adapters.sql import inbox, reservations
from agente.deps import Deps, build_deps
from agente.hotels import load_hotels_file, seed_hotels
from agente.migrate import upgrade
from agente.settings import load_settings
from agente.staff import confirm_deposit
from agente.testing import drain

HOTEL = "reservas@sierraserena.example"


def env_for(db_url: str, dovecot: Dovecot, smtp_port: int, **extra: str) -> dict[str, str]:
    return {
        "AGENTE_DATABASE_URL": db_url,
        "AGENTE_CHANNELS": "webchat,imap",
        "AGENTE_BUSINESS_HOURS_ALWAYS_OPEN": "true",
        "AGENTE_IMAP_HOST": "127.0.0.1",
        "AGENTE_IMAP_PORT": str(dovecot.port),
        "AGENTE_IMAP_SECURITY": "none",
        "AGENTE_IMAP_USERNAME": USER,
        "AGENTE_IMAP_PASSWORD": PASSWORD,
        "AGENTE_IMAP_ADDRESS": HOTEL,
        "AGENTE_IMAP_SMTP_PORT": str(smtp_port),
        "AGENTE_IMAP_SMTP_SECURITY": "none",
        "AGENTE_IMAP_SMTP_PASSWORD": "app-password",
        **extra,
    }


MakeDeps = Callable[..., Awaitable[Deps]]


@pytest.fixture
async def make_deps(
    tmp_path: Path, dovecot: Dovecot, smtp: tuple[Capture, int]
) -> AsyncIterator[MakeDeps]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'mail.db'}"
    await upgrade(url)
    made: list[Deps] = []

    async def make(**extra: str) -> Deps:
        env = env_for(url, dovecot, smtp[1], **extra)
        deps = build_deps(load_settings(env), env)
        if not made:
            await seed_hotels(deps.db, load_hotels_file(None), deps.clock)
        made.append(deps)
        return deps

    yield make
    for deps in made:
        await deps.close()


def guest_mail(body: str, *, n: int = 1, **kwargs: Any) -> bytes:
    return make_mail(body, to=HOTEL, message_id=f"<guest-{n}@example.com>", **kwargs)


async def turn(deps: Deps) -> int:
    """Read the mailbox once, then let the worker handle and send everything."""
    channel: Any = deps.channels["imap"]
    accepted = await channel.poll_once(deps.ingress)
    await drain(deps.worker())
    return int(accepted)


def sent(capture: Capture) -> list[EmailMessage]:
    return [
        email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[misc]
        for raw in capture.messages
    ]


def text_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


async def rows(deps: Deps, table: sa.Table) -> list[Any]:
    async with deps.db.begin() as conn:
        return list(await conn.execute(sa.select(table).order_by(table.c.id)))


# ------------------------------------------------------------------------------ answering


async def test_a_guest_mail_is_answered_in_thread_in_their_language(
    make_deps: MakeDeps, dovecot: Dovecot, smtp: tuple[Capture, int]
) -> None:
    capture, _ = smtp
    deps = await make_deps()
    dovecot.append(guest_mail("Hola, ¿tienen estacionamiento? Gracias", subject="Estacionamiento"))
    dovecot.append(
        guest_mail(
            "Hi, do you have parking for a van?\n\nOn Fri, Tom wrote:\n> old stuff",
            n=2,
            sender="Tom Baker <tom@example.org>",
            subject="Parking",
        )
    )
    assert await turn(deps) == 2

    replies = sent(capture)
    assert len(replies) == 2
    by_to = {str(m["To"]): m for m in replies}
    es, en = by_to["ana@example.com"], by_to["tom@example.org"]
    assert es["In-Reply-To"] == "<guest-1@example.com>"
    assert es["References"] == "<guest-1@example.com>"
    assert es["Subject"] == "Re: Estacionamiento"
    assert en["Subject"] == "Re: Parking"
    assert "Hotel Sierra Serena" in str(es["From"]) and HOTEL in str(es["From"])
    assert es["Auto-Submitted"] == "auto-replied"
    assert es.get_body(preferencelist=("html",)) is not None
    assert "te cuento" in text_of(es).lower() and "cochera" in text_of(es).lower()
    assert "parking" in text_of(en).lower() and "cochera" not in text_of(en).lower()
    assert capture.logins == [USER, USER]

    # staff see the agent's replies in Sent, and the guest's mail still unread
    with imaplib.IMAP4("127.0.0.1", dovecot.port) as imap:
        imap.login(USER, PASSWORD)
        typ, data = imap.select("Sent")
        assert typ == "OK" and int(data[0] or 0) == 2
        imap.select("INBOX")
        _, unseen = imap.search(None, "UNSEEN")
        assert len((unseen[0] or b"").split()) == 2


async def test_the_same_mail_met_twice_is_answered_once(
    make_deps: MakeDeps, dovecot: Dovecot, smtp: tuple[Capture, int]
) -> None:
    capture, _ = smtp
    deps = await make_deps()
    raw = guest_mail("Hola, ¿a qué hora es el check-in?")
    dovecot.append(raw)
    assert await turn(deps) == 1
    assert await turn(deps) == 0  # a poll after IDLE finds nothing new

    # two processes reading at once (IDLE in one, a poll in another)
    dovecot.append(guest_mail("¿Y el check-out?", n=2))
    other = await make_deps()
    results = await asyncio.gather(
        deps.channels["imap"].poll_once(deps.ingress),  # type: ignore[attr-defined]
        other.channels["imap"].poll_once(other.ingress),  # type: ignore[attr-defined]
    )
    assert sorted(results) == [0, 1]
    await turn(deps)

    # a restart: a new process on the same database reads nothing again
    restarted = await make_deps()
    assert await turn(restarted) == 0

    # the server renumbers the mailbox (UIDVALIDITY changes) and the same mails come back
    dovecot.reset_mailbox()
    dovecot.append(raw)
    dovecot.append(guest_mail("¿Y el check-out?", n=2))
    assert await turn(restarted) == 0
    assert len(capture.messages) == 2
    assert len(await rows(restarted, inbox)) == 2


async def test_auto_replies_bounces_lists_and_our_own_mail_are_kept_not_answered(
    make_deps: MakeDeps, dovecot: Dovecot, smtp: tuple[Capture, int]
) -> None:
    capture, _ = smtp
    deps = await make_deps()
    dovecot.append(guest_mail("Estoy de vacaciones", n=1, Auto_Submitted="auto-replied"))
    dovecot.append(
        guest_mail("Delivery failed", n=2, sender="Mail Delivery <MAILER-DAEMON@example.com>")
    )
    dovecot.append(guest_mail("Newsletter", n=3, List_Id="<news.example.com>"))
    dovecot.append(guest_mail("Copia", n=4, sender=f"Hotel <{HOTEL}>"))
    dovecot.append(b"\x00\x01 not a mail at all")
    dovecot.append(guest_mail("Hola, ¿tienen pileta?", n=5))
    assert await turn(deps) == 6

    assert [str(m["To"]) for m in sent(capture)] == ["ana@example.com"]
    results = {r.provider_message_id: r.result for r in await rows(deps, inbox)}
    assert results["<guest-1@example.com>"] == {"ignored": "auto_submitted"}
    assert results["<guest-2@example.com>"] == {"ignored": "bounce"}
    assert results["<guest-3@example.com>"] == {"ignored": "mailing_list"}
    assert results["<guest-4@example.com>"] == {"ignored": "own_mail"}
    assert results["<guest-5@example.com>"]["replies"] >= 1
    unreadable = [v for k, v in results.items() if not k.startswith("<")]
    assert len(unreadable) == 1 and unreadable[0]["ignored"].startswith("unreadable")


# ------------------------------------------------------------------------------ booking


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def test_a_booking_by_mail_with_a_pdf_proof_awaits_verification(
    make_deps: MakeDeps, dovecot: Dovecot, smtp: tuple[Capture, int]
) -> None:
    capture, _ = smtp
    deps = await make_deps()
    start = dt.date.today() + dt.timedelta(days=30)
    end = start + dt.timedelta(days=2)
    lines = [
        f"Hola, tienen lugar del {start:%d/%m} al {end:%d/%m} para 2?",
        "1",
        "Ana Pérez",  # no e-mail asked: the mail's sender is the guest's address
    ]
    for n, body in enumerate(lines, 1):
        previous = f"<guest-{n - 1}@example.com>" if n > 1 else None
        dovecot.append(guest_mail(body, n=n, subject="Reserva", reply_to=previous))
        assert await turn(deps) == 1
    assert "seña" in text_of(sent(capture)[-1]).lower()
    (row,) = await rows(deps, reservations)
    assert row.status == "pending_deposit"

    dovecot.append(
        guest_mail(
            "Les mando el comprobante de la seña.\n\n-- \nAna",
            n=9,
            subject="Reserva",
            attachment=(PDF, "application/pdf", "comprobante.pdf"),
        )
    )
    assert await turn(deps) == 1
    (row,) = await rows(deps, reservations)
    assert row.status == "awaiting_verification"
    assert "comprobante" in text_of(sent(capture)[-1]).lower()
    # the proof is kept with the reservation, byte for byte
    (proof,) = row.data["proofs"]
    assert proof["filename"] == "comprobante.pdf" and proof["mime_type"] == "application/pdf"
    stored = await deps.service.documents.get(proof["stored_key"])  # type: ignore[union-attr]
    assert stored is not None and stored[0] == PDF

    # staff confirm the deposit: one mail with the confirmation and the voucher attached
    await confirm_deposit(deps.db, deps.messages, row.client_reference, operator="front")
    await turn(deps)
    confirmation = sent(capture)[-1]
    assert "está confirmada" in text_of(confirmation)
    (voucher,) = list(confirmation.iter_attachments())
    assert voucher.get_content_type() == "application/pdf"
    assert voucher.get_content().startswith(b"%PDF")  # type: ignore[union-attr]
    assert confirmation["In-Reply-To"] == "<guest-9@example.com>"
    # every reply went in one thread
    assert {str(m["Subject"]) for m in sent(capture)} == {"Re: Reserva"}
    assert len(capture.messages) == 5


# ------------------------------------------------------------------------------ IDLE


async def test_the_worker_waits_in_idle_and_answers_new_mail_at_once(
    make_deps: MakeDeps, dovecot: Dovecot, smtp: tuple[Capture, int]
) -> None:
    capture, _ = smtp
    deps = await make_deps(AGENTE_IMAP_POLL_SECONDS="600")
    stop = asyncio.Event()
    worker = deps.worker()
    task = asyncio.create_task(worker.run(stop))
    try:
        await asyncio.sleep(1.0)  # the first read is done; the loop now waits in IDLE
        dovecot.append(guest_mail("Hola, ¿aceptan mascotas?"))
        for _ in range(100):
            if capture.messages:
                break
            await asyncio.sleep(0.1)
        assert len(capture.messages) == 1  # well before the 600-second poll
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)


async def test_a_failing_mailbox_is_counted_and_retried_not_fatal(
    make_deps: MakeDeps, dovecot: Dovecot, smtp: tuple[Capture, int]
) -> None:
    deps = await make_deps(AGENTE_IMAP_PASSWORD="wrong-password")
    registry = deps.metrics.registry
    stop = asyncio.Event()
    task = asyncio.create_task(deps.channels["imap"].run(stop, ingress=deps.ingress))  # type: ignore[attr-defined]
    await asyncio.sleep(0.5)
    stop.set()
    await asyncio.wait_for(task, 10)  # the loop backs off and stops cleanly
    failures = registry.get_sample_value("email_mailbox_failures_total", {"channel": "imap"})
    assert failures is not None and failures >= 1
    last = "email_mailbox_last_read_timestamp_seconds"
    assert registry.get_sample_value(last, {"channel": "imap"}) is None

    good = await make_deps()
    await turn(good)
    read_at = good.metrics.registry.get_sample_value(last, {"channel": "imap"})
    assert read_at is not None and read_at > 0
