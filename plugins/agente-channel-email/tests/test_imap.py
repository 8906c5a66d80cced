"""The IMAP mailbox against a real dovecot and SMTP submission against a real aiosmtpd:
new mail once, nothing re-read after a restart, a UIDVALIDITY change neither skips nor (after
deduplication) repeats, unread flags untouched, and a threaded reply submitted with auth."""

from __future__ import annotations

import datetime as dt
import imaplib
from pathlib import Path
from typing import Any

from agente_channel_email.imap import ImapMailbox, ImapSettings, SmtpSettings, send
from agente_channel_email.testing import (
    PASSWORD,
    USER,
)
from agente_channel_email.testing import (
    guest_mail as make_mail,
)

from agente.adapters.sql import Database, SqlPluginState
from agente.mail import build_reply, parse_email
from agente.migrate import upgrade
from agente.testing import FrozenClock


def guest_mail(n: int, **extra: str) -> bytes:
    return make_mail(f"Hola, ¿tienen lugar para {n} personas?", to=USER,
                     message_id=f"<g{n}@example.com>", sender=f"Guest {n} <guest{n}@example.com>",
                     subject=f"Consulta {n}", **extra)  # fmt: skip


async def mailbox(dovecot: Any, tmp_path: Path) -> tuple[ImapMailbox, Database]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'mail.db'}"
    await upgrade(url)
    db = Database.connect(url)
    settings = ImapSettings(host="127.0.0.1", port=dovecot.port, security="none",
                            username=USER, password=PASSWORD)  # fmt: skip
    return ImapMailbox(settings, SqlPluginState(db, FrozenClock()),
                       own_addresses=frozenset({USER})), db  # fmt: skip


TODAY = dt.date.today()


async def test_new_mail_is_read_once_and_left_unread(dovecot: Any, tmp_path: Path) -> None:
    box, db = await mailbox(dovecot, tmp_path)
    try:
        dovecot.append(guest_mail(1))
        dovecot.append(guest_mail(2, Auto_Submitted="auto-replied"))
        batch, state, version = await box.fetch_new(TODAY)
        assert [m.mail.from_addr for m in batch if m.mail] == [
            "guest1@example.com",
            "guest2@example.com",
        ]
        assert batch[0].mail is not None and batch[0].mail.noise is None
        assert batch[1].mail is not None and batch[1].mail.noise == "auto_submitted"
        assert await box.commit(state, version)
        # nothing new: "UID n:*" matches the last mail again, and it is filtered out
        again, state2, _ = await box.fetch_new(TODAY)
        assert again == [] and state2 == state
        dovecot.append(guest_mail(3))
        third, state3, version3 = await box.fetch_new(TODAY)
        assert [m.mail.subject for m in third if m.mail] == ["Consulta 3"]
        assert await box.commit(state3, version3)
        # PEEK: staff still see the mail as unread
        with imaplib.IMAP4("127.0.0.1", dovecot.port) as imap:
            imap.login(USER, PASSWORD)
            imap.select("INBOX")
            typ, data = imap.search(None, "UNSEEN")
            assert typ == "OK" and len(data[0].split()) == 3
    finally:
        await db.close()


async def test_a_restart_reads_nothing_twice_and_a_crash_before_commit_repeats(
    dovecot: Any, tmp_path: Path
) -> None:
    box, db = await mailbox(dovecot, tmp_path)
    try:
        dovecot.append(guest_mail(1))
        batch, state, version = await box.fetch_new(TODAY)
        assert len(batch) == 1
        # the process dies before committing: the next one reads the mail again (the inbox
        # deduplicates it on its provider id), never skips it
        again, state, version = await box.fetch_new(TODAY)
        assert [m.provider_id for m in again] == [m.provider_id for m in batch]
        assert await box.commit(state, version)
        fresh = ImapMailbox(box.settings, SqlPluginState(db, FrozenClock()))  # a restart
        assert (await fresh.fetch_new(TODAY))[0] == []
        # two processes racing to commit: one wins
        dovecot.append(guest_mail(2))
        a = await box.fetch_new(TODAY)
        b = await fresh.fetch_new(TODAY)
        assert [await box.commit(a[1], a[2]), await fresh.commit(b[1], b[2])] == [True, False]
    finally:
        await db.close()


async def test_a_uidvalidity_change_rescans_a_window_without_skipping(
    dovecot: Any, tmp_path: Path
) -> None:
    box, db = await mailbox(dovecot, tmp_path)
    try:
        dovecot.append(guest_mail(1))
        dovecot.append(guest_mail(2))
        batch, state, version = await box.fetch_new(TODAY)
        assert await box.commit(state, version)
        dovecot.reset_mailbox()  # a new UIDVALIDITY; the server re-numbers from 1
        dovecot.append(guest_mail(2))
        dovecot.append(guest_mail(3))
        rescanned, new_state, version = await box.fetch_new(TODAY)
        assert new_state.uidvalidity != state.uidvalidity
        # both are returned (mail 2 again, with the same Message-ID for the inbox to drop)
        assert [m.mail.message_id for m in rescanned if m.mail] == [
            "<g2@example.com>",
            "<g3@example.com>",
        ]
        assert rescanned[0].provider_id != batch[1].provider_id
    finally:
        await db.close()


async def test_unreadable_bytes_are_kept_not_answered(dovecot: Any, tmp_path: Path) -> None:
    box, db = await mailbox(dovecot, tmp_path)
    try:
        dovecot.append(b"Subject: no sender at all\r\n\r\nhola")
        batch, _, _ = await box.fetch_new(TODAY)
        assert batch[0].mail is None and batch[0].error == "no sender address"
    finally:
        await db.close()


async def test_a_reply_is_submitted_over_smtp_with_auth_and_threads(smtp: Any) -> None:
    capture, port = smtp
    original = parse_email(guest_mail(1))
    reply = build_reply(original, from_name="Hotel", from_addr=USER, text="¡Sí, tenemos!")
    await send(SmtpSettings(host="127.0.0.1", port=port, security="none", username=USER,
                            password="app-password"), reply)  # fmt: skip
    assert capture.logins == [USER]
    (sent,) = capture.messages
    back = parse_email(sent, own_addresses=frozenset({USER}))
    assert back.in_reply_to == "<g1@example.com>" and back.subject == "Re: Consulta 1"
    assert back.text == "¡Sí, tenemos!" and back.noise is not None  # never answered by us
