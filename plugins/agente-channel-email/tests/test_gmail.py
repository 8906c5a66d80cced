"""The ``gmail`` channel end to end against the project's fake of the Gmail API, Google's token
endpoint and its OIDC keys: pushes authenticated or refused, a guest's mail answered in its
Gmail thread in the guest's language, the same mail met twice answered once (pushes repeated,
a restart, a cursor too old), a PDF proof, noise kept unanswered, OAuth refresh and
``invalid_grant``, and the watch renewal."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import email
import email.policy
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from agente_channel_email.gmail_fake import (
    ADDRESS,
    AUDIENCE,
    CLIENT_ID,
    CLIENT_SECRET,
    PUSH_ACCOUNT,
    REFRESH_TOKEN,
    FakeGmail,
)
from agente_channel_email.testing import guest_mail as make_mail

from agente.adapters.sql import inbox, reservations
from agente.app import create_app
from agente.deps import Deps, build_deps
from agente.hotels import load_hotels_file, seed_hotels
from agente.migrate import upgrade
from agente.settings import load_settings
from agente.testing import FrozenClock, drain

API = "http://gmail.test"


def env_for(db_url: str, **extra: str) -> dict[str, str]:
    return {
        "AGENTE_DATABASE_URL": db_url,
        "AGENTE_CHANNELS": "webchat,gmail",
        "AGENTE_BUSINESS_HOURS_ALWAYS_OPEN": "true",
        "AGENTE_GMAIL_CLIENT_ID": CLIENT_ID,
        "AGENTE_GMAIL_CLIENT_SECRET": CLIENT_SECRET,
        "AGENTE_GMAIL_REFRESH_TOKEN": REFRESH_TOKEN,
        "AGENTE_GMAIL_ADDRESS": ADDRESS,
        "AGENTE_GMAIL_PUSH_AUDIENCE": AUDIENCE,
        "AGENTE_GMAIL_PUSH_SERVICE_ACCOUNT": PUSH_ACCOUNT,
        "AGENTE_GMAIL_API_BASE_URL": API,
        "AGENTE_GMAIL_TOKEN_URL": f"{API}/token",
        "AGENTE_GMAIL_OIDC_JWKS_URL": f"{API}/oauth2/v3/certs",
        **extra,
    }


class App:
    def __init__(self, deps: Deps, client: httpx.AsyncClient) -> None:
        self.deps = deps
        self.client = client
        self.channel: Any = deps.channels["gmail"]
        self.channel.retry_delay = 0.01

    async def push(self, fake: FakeGmail, **token: Any) -> httpx.Response:
        body, jwt_token = fake.push(**token)
        return await self.client.post(
            "/webhooks/gmail", content=body,
            headers={"authorization": f"Bearer {jwt_token}", "content-type": "application/json"},
        )  # fmt: skip

    async def turn(self) -> int:
        """Sync the mailbox, then let the worker handle and send everything."""
        accepted = await self.channel.sync(self.deps.ingress)
        await drain(self.deps.worker())
        return int(accepted)

    async def rows(self, table: sa.Table) -> list[Any]:
        async with self.deps.db.begin() as conn:
            return list(await conn.execute(sa.select(table).order_by(table.c.id)))


MakeApp = Callable[..., Awaitable[App]]


@pytest.fixture
def fake() -> FakeGmail:
    return FakeGmail()


@pytest.fixture
async def make_app(tmp_path: Path, fake: FakeGmail) -> AsyncIterator[MakeApp]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'gmail.db'}"
    await upgrade(url)
    made: list[App] = []

    async def make(**extra: str) -> App:
        env = env_for(url, **extra)
        deps = build_deps(load_settings(env), env)
        if not made:
            await seed_hotels(deps.db, load_hotels_file(None), deps.clock)
        deps.channels["gmail"].transport = httpx.ASGITransport(app=fake.app)  # type: ignore[attr-defined]
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(deps=deps)), base_url="http://agente"
        )
        app = App(deps, client)
        made.append(app)
        return app

    yield make
    for app in made:
        await app.client.aclose()
        await app.deps.close()


def guest_mail(body: str, *, n: int = 1, **kwargs: Any) -> bytes:
    return make_mail(body, to=ADDRESS, message_id=f"<gguest-{n}@example.com>", **kwargs)


def sent(fake: FakeGmail) -> list[EmailMessage]:
    return [
        email.message_from_bytes(s["raw"], policy=email.policy.default)  # type: ignore[misc]
        for s in fake.sent
    ]


def text_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


# ------------------------------------------------------------------------------ the push


async def test_a_push_without_a_valid_google_token_is_refused_and_records_nothing(
    make_app: MakeApp, fake: FakeGmail
) -> None:
    app = await make_app()
    body, _ = fake.push()
    no_token = await app.client.post("/webhooks/gmail", content=body)
    assert no_token.status_code == 401
    garbage = await app.client.post("/webhooks/gmail", content=body,
                                    headers={"authorization": "Bearer not.a.jwt"})  # fmt: skip
    assert garbage.status_code == 401
    assert (await app.push(fake, audience="https://someone-else.example/push")).status_code == 401
    assert (await app.push(fake, expires_in=-300)).status_code == 401
    other_key = FakeGmail()  # same claims, signed by a key Google never published
    assert (await app.push(other_key)).status_code == 401
    forged_issuer = fake.token(issuer="https://evil.example")
    refused = await app.client.post("/webhooks/gmail", content=body,
                                    headers={"authorization": f"Bearer {forged_issuer}"})  # fmt: skip
    assert refused.status_code == 401
    assert (await app.push(fake, email_addr="intruder@example.com")).status_code == 403
    assert (await app.push(fake, verified=False)).status_code == 403
    assert await app.channel._push_count() == 0

    ok = await app.push(fake)
    assert ok.status_code == 204 and ok.content == b""
    assert await app.channel._push_count() == 1
    assert app.channel.wake.is_set()


async def test_a_malformed_push_is_a_400_and_an_unknown_mailbox_is_acknowledged(
    make_app: MakeApp, fake: FakeGmail
) -> None:
    app = await make_app()
    headers = {"authorization": f"Bearer {fake.token()}"}
    for raw in (b"{", b'{"message": {}}', b'{"message": {"data": "!!!"}}', b"[]"):
        response = await app.client.post("/webhooks/gmail", content=raw, headers=headers)
        assert response.status_code == 400, raw
    other = FakeGmail(address="someone@else.example", key=fake.key, kid=fake.kid)
    assert (await app.push(other)).status_code == 204
    assert await app.channel._push_count() == 0


# ------------------------------------------------------------------------------ answering


async def test_a_guest_mail_is_answered_in_its_gmail_thread_in_their_language(
    make_app: MakeApp, fake: FakeGmail
) -> None:
    app = await make_app()
    assert await app.turn() == 0  # the first sync only takes a cursor: old mail is the staff's
    first = fake.deliver(guest_mail("Hi! Is breakfast included?", sender="Tom <tom@example.org>",
                                    subject="Breakfast"))  # fmt: skip
    fake.deliver(guest_mail("Hola, ¿tienen cochera?", n=2, subject="Cochera"))
    assert (await app.push(fake)).status_code == 204
    assert await app.turn() == 2

    assert len(fake.sent) == 2
    by_to = {str(m["To"]): (m, s) for m, s in zip(sent(fake), fake.sent, strict=True)}
    en, en_sent = by_to["tom@example.org"]
    es, _ = by_to["ana@example.com"]
    assert en_sent["requested_thread"] == fake.messages[first].thread_id
    assert en_sent["threadId"] == fake.messages[first].thread_id  # Gmail kept it in the thread
    assert en["In-Reply-To"] == "<gguest-1@example.com>"
    assert str(en["Subject"]) == "Re: Breakfast"
    assert "breakfast" in text_of(en).lower()
    assert "cochera" in text_of(es).lower()
    assert ADDRESS in str(es["From"])
    # the replies (label SENT) never come back as guest mail
    fake.deliver(guest_mail("¿Y pileta?", n=3, subject="Cochera"))
    assert await app.turn() == 1
    assert len(await app.rows(inbox)) == 3


async def test_the_same_mail_met_twice_is_answered_once(make_app: MakeApp, fake: FakeGmail) -> None:
    app = await make_app()
    await app.turn()
    fake.deliver(guest_mail("Hola, ¿a qué hora es el check-in?"))
    for _ in range(3):  # Pub/Sub delivers at least once: repeated pushes
        assert (await app.push(fake)).status_code == 204
    assert await app.turn() == 1
    assert await app.turn() == 0

    restarted = await make_app()
    assert await restarted.turn() == 0

    # the stored cursor is too old for Gmail (404): a full sync of the last days from a fresh
    # cursor reads the old mail again (deduplicated) and the new one (no gap)
    fake.expire_history()
    fake.deliver(guest_mail("¿Y el check-out?", n=2))
    assert await restarted.turn() == 1
    assert len(fake.sent) == 2
    assert "GET /gmail/v1/users/me/messages" in fake.calls
    fake.deliver(guest_mail("¿Tienen cuna?", n=3))
    assert await restarted.turn() == 1  # the fresh cursor works
    assert len(fake.sent) == 3


async def test_a_message_missing_right_after_its_push_is_asked_for_again(
    make_app: MakeApp, fake: FakeGmail
) -> None:
    app = await make_app()
    await app.turn()
    gmail_id = fake.deliver(guest_mail("Hola, ¿aceptan perros?"))
    fake.fail_next_get.add(gmail_id)
    assert await app.turn() == 1
    assert len(fake.sent) == 1


async def test_noise_is_kept_and_never_answered(make_app: MakeApp, fake: FakeGmail) -> None:
    app = await make_app()
    await app.turn()
    fake.deliver(guest_mail("Fuera de la oficina", n=1, Auto_Submitted="auto-replied"))
    fake.deliver(guest_mail("Undeliverable", n=2, sender="postmaster@example.com"))
    fake.deliver(guest_mail("Spam", n=3), labels=["INBOX", "SPAM"])
    fake.deliver(guest_mail("Hola, ¿tienen wifi?", n=4))
    assert await app.turn() == 3  # the SPAM one never comes through the INBOX history
    assert [str(m["To"]) for m in sent(fake)] == ["ana@example.com"]
    results = {r.provider_message_id: r.result for r in await app.rows(inbox)}
    assert results["<gguest-1@example.com>"] == {"ignored": "auto_submitted"}
    assert results["<gguest-2@example.com>"] == {"ignored": "bounce"}


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def test_a_booking_with_a_pdf_proof_awaits_verification(
    make_app: MakeApp, fake: FakeGmail
) -> None:
    app = await make_app()
    await app.turn()
    start = dt.date.today() + dt.timedelta(days=40)
    end = start + dt.timedelta(days=2)
    for n, body in enumerate(
        [f"Hola, tienen lugar del {start:%d/%m} al {end:%d/%m} para 2?", "1", "Ana Pérez"], 1
    ):
        # the guest answers our last mail, as a mail client does
        previous = {"In_Reply_To": str(sent(fake)[-1]["Message-ID"])} if fake.sent else {}
        fake.deliver(guest_mail(body, n=n, subject="Re: Reserva" if n > 1 else "Reserva",
                                **previous))  # fmt: skip
        assert await app.turn() == 1
    (row,) = await app.rows(reservations)
    assert row.status == "pending_deposit"
    fake.deliver(guest_mail("Adjunto el comprobante", n=9, subject="Re: Reserva",
                            attachment=(PDF, "application/pdf", "comprobante.pdf"),
                            In_Reply_To=str(sent(fake)[-1]["Message-ID"])))  # fmt: skip
    assert await app.turn() == 1
    (row,) = await app.rows(reservations)
    assert row.status == "awaiting_verification"
    assert row.data["proofs"][0]["filename"] == "comprobante.pdf"
    threads = {s["threadId"] for s in fake.sent}
    assert len(threads) == 1  # one Gmail thread from the first question to the proof


# ------------------------------------------------------------------------------ OAuth and watch


async def test_the_access_token_is_reused_and_refreshed_once_on_a_401(
    make_app: MakeApp, fake: FakeGmail
) -> None:
    app = await make_app()
    await app.turn()
    fake.deliver(guest_mail("Hola, ¿tienen estacionamiento?"))
    await app.turn()
    assert fake.refreshes == 1
    fake.tokens.clear()  # Google dropped the token early
    fake.deliver(guest_mail("¿Y pileta?", n=2))
    assert await app.turn() == 1
    assert fake.refreshes == 2
    assert len(fake.sent) == 2


async def test_a_revoked_refresh_token_disconnects_without_a_tight_loop(
    make_app: MakeApp, fake: FakeGmail
) -> None:
    app = await make_app()
    fake.revoked = True
    stop = asyncio.Event()
    task = asyncio.create_task(app.channel.run(stop, ingress=app.deps.ingress))
    await asyncio.sleep(0.5)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert fake.refreshes == 0 and app.channel.api.disconnected
    metrics = (await app.client.get("/metrics")).text
    assert "gmail_connected 0.0" in metrics
    ready = (await app.client.get("/health/ready")).json()
    assert ready["checks"]["gmail"]["status"] != "ok"
    assert ready["status"] == "degraded"


async def test_the_watch_is_kept_and_renewed_daily(make_app: MakeApp, fake: FakeGmail) -> None:
    app = await make_app(AGENTE_GMAIL_TOPIC="projects/hotel-agent/topics/gmail-inbox")
    clock = FrozenClock(dt.datetime(2026, 12, 5, 12, tzinfo=dt.UTC))
    app.channel.clock = clock
    assert await app.channel.renew_watch() is True
    assert fake.watches == [{"topicName": "projects/hotel-agent/topics/gmail-inbox",
                             "labelIds": ["INBOX"], "labelFilterBehavior": "INCLUDE"}]  # fmt: skip
    clock.advance(6 * 3600)
    assert await app.channel.renew_watch() is False
    clock.advance(19 * 3600)
    assert await app.channel.renew_watch() is True
    assert len(fake.watches) == 2
    metrics = (await app.client.get("/metrics")).text
    assert "gmail_watch_expiration_timestamp_seconds" in metrics


async def test_the_worker_syncs_at_once_on_a_push(make_app: MakeApp, fake: FakeGmail) -> None:
    app = await make_app(AGENTE_GMAIL_SAFETY_SYNC_SECONDS="600",
                         AGENTE_GMAIL_PUSH_CHECK_SECONDS="600")  # fmt: skip
    stop = asyncio.Event()
    task = asyncio.create_task(app.deps.worker().run(stop))
    try:
        await asyncio.sleep(0.5)  # the first sync took the cursor
        fake.deliver(guest_mail("Hola, ¿hay desayuno?"))
        assert (await app.push(fake)).status_code == 204
        for _ in range(100):
            if fake.sent:
                break
            await asyncio.sleep(0.05)
        assert len(fake.sent) == 1  # long before the 600-second safety sync
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


def test_the_push_body_is_the_wrapped_pubsub_format(fake: FakeGmail) -> None:
    body, _ = fake.push()
    envelope = json.loads(body)
    data = json.loads(base64.urlsafe_b64decode(envelope["message"]["data"]))
    assert data == {"emailAddress": ADDRESS, "historyId": str(fake.history_id)}
    assert envelope["subscription"].startswith("projects/")
