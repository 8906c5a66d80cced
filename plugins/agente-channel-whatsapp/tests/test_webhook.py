"""The WhatsApp channel end to end through HTTP: signed webhooks in, Graph API calls out.

Outbound calls go to the project's Graph API fake through an ASGI transport.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agente.adapters.sql import dead_letters, inbox, outbox
from agente.app import create_app
from agente.deps import Deps, build_deps
from agente.hotels import load_hotels_file, seed_hotels
from agente.migrate import upgrade
from agente.settings import load_settings
from agente_channel_whatsapp.testing import SECRET, TOKEN, envelope, sign, text_message


def env_for(db_url: str, graph: str = "http://graph.test") -> dict[str, str]:
    return {
        "AGENTE_DATABASE_URL": db_url,
        "AGENTE_ENV": "test",
        "AGENTE_CHANNELS": "webchat,whatsapp",
        "AGENTE_WHATSAPP_ACCESS_TOKEN": TOKEN,
        "AGENTE_WHATSAPP_APP_SECRET": SECRET.decode(),
        "AGENTE_WHATSAPP_VERIFY_TOKEN": "verify-me",
        "AGENTE_WHATSAPP_API_BASE_URL": graph,
        "AGENTE_WHATSAPP_ECHO_WAIT_SECONDS": "0",
        "AGENTE_BUSINESS_HOURS_ALWAYS_OPEN": "true",
    }


MakeApp = Callable[..., Awaitable[tuple[Deps, httpx.AsyncClient]]]


@pytest.fixture
async def make_app(tmp_path: Path) -> AsyncIterator[MakeApp]:
    made: list[tuple[Deps, httpx.AsyncClient]] = []

    async def make(
        transport: httpx.AsyncBaseTransport | None = None, **overrides: str
    ) -> tuple[Deps, httpx.AsyncClient]:
        url = f"sqlite+aiosqlite:///{tmp_path / f'wa-{len(made)}.db'}"
        env = {**env_for(url), **overrides}
        settings = load_settings(env)
        deps = build_deps(settings, env)
        await upgrade(url)
        await seed_hotels(deps.db, load_hotels_file(None), deps.clock)
        if transport is not None:
            deps.channels["whatsapp"].transport = transport  # type: ignore[attr-defined]
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(deps=deps)), base_url="http://agente"
        )
        made.append((deps, client))
        return deps, client

    yield make
    for deps, client in made:
        await client.aclose()
        await deps.close()


async def drain(deps: Deps, rounds: int = 20) -> None:
    worker = deps.worker()
    idle = 0
    for _ in range(rounds):
        done = await worker.run_inbox_once() + await worker.run_outbox_once()
        idle = idle + 1 if not done else 0
        if idle >= 2:
            return


WEBHOOK = "/webhooks/whatsapp"
JSON = {"content-type": "application/json"}


async def post(client: httpx.AsyncClient, raw: bytes, **headers: str) -> httpx.Response:
    return await client.post(
        WEBHOOK, content=raw, headers={**JSON, "x-hub-signature-256": sign(raw), **headers}
    )


async def rows(deps: Any, table: sa.Table) -> list[Any]:
    async with deps.db.begin() as conn:
        return list(await conn.execute(sa.select(table).order_by(table.c.id)))


@pytest.fixture
def graph() -> Any:
    from agente_channel_whatsapp.fake import create_fake_graph

    return create_fake_graph(token=TOKEN)


def transport(graph: Any) -> httpx.AsyncBaseTransport:
    return httpx.ASGITransport(app=graph.app)


# ---------------------------------------------------------------------------- handshake


async def test_the_handshake_echoes_the_challenge_only_with_our_token(make_app: MakeApp) -> None:
    _, client = await make_app()
    ok = await client.get(
        WEBHOOK,
        params={"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "42x"},
    )
    assert ok.status_code == 200 and ok.text == "42x"
    assert ok.headers["content-type"].startswith("text/plain")
    for params in (
        {"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": "verify-me", "hub.challenge": "1"},
        {},
    ):
        assert (await client.get(WEBHOOK, params=params)).status_code == 403


# ---------------------------------------------------------------------------- refusing


async def test_bad_input_is_refused_with_a_4xx_and_nothing_is_stored(make_app: MakeApp) -> None:
    deps, client = await make_app()
    raw = envelope([text_message("hola")])
    assert (await client.post(WEBHOOK, content=raw, headers=JSON)).status_code == 401
    bad = await post(client, raw, **{"x-hub-signature-256": "sha256=" + "0" * 64})
    assert bad.status_code == 401
    assert (await post(client, raw, **{"x-hub-signature-256": "md5=abc"})).status_code == 401
    tampered = raw.replace(b"hola", b"chau")
    assert (
        await client.post(
            WEBHOOK, content=tampered, headers={**JSON, "x-hub-signature-256": sign(raw)}
        )
    ).status_code == 401
    assert (await post(client, raw, **{"content-type": "text/plain"})).status_code == 415
    truncated = raw[: len(raw) // 2]
    assert (await post(client, truncated)).status_code == 400
    huge = b'{"object": "' + b"x" * (5 * 1024 * 1024) + b'"}'
    assert (await post(client, huge)).status_code == 413
    assert await rows(deps, inbox) == []
    metrics = (await client.get("/metrics")).text
    assert "whatsapp_webhook_signature_failures_total 4.0" in metrics


async def test_a_message_to_a_number_we_do_not_serve_is_acknowledged_not_handled(
    make_app: MakeApp,
) -> None:
    deps, client = await make_app()
    r = await post(client, envelope([text_message("hola")], pnid="999"))
    assert r.status_code == 200
    assert await rows(deps, inbox) == []


# ---------------------------------------------------------------------------- messages


async def test_a_text_gets_a_reply_through_the_graph_api(make_app: MakeApp, graph: Any) -> None:
    deps, client = await make_app(transport(graph))
    msg = text_message("hola! tienen lugar del 15/12 al 18/12 para 2?", "5491155551234")
    r = await post(client, envelope([msg]))
    assert r.status_code == 200
    await drain(deps)
    assert len(graph.sent) == 1
    body = graph.sent[0].body
    assert body["to"] == "5491155551234"  # replied to exactly as received
    assert body["context"] == {"message_id": msg["id"]}
    assert "Doble Matrimonial" in body["text"]["body"]
    assert [m.message_id for m in graph.read_marks] == [msg["id"]]
    (row,) = await rows(deps, outbox)
    assert row.status == "sent" and row.provider_message_id == graph.sent[0].wamid


async def test_test_mode_echoes_the_replies(make_app: MakeApp, graph: Any) -> None:
    deps, client = await make_app(transport(graph), AGENTE_WHATSAPP_ECHO_WAIT_SECONDS="5")

    async def work() -> None:
        for _ in range(50):
            await drain(deps, rounds=2)
            await asyncio.sleep(0.02)

    worker = asyncio.create_task(work())
    r = await post(client, envelope([text_message("hola")]))
    await worker
    assert r.status_code == 200
    replies = r.json()["replies"]
    assert replies[0]["response_type"] == "text"
    assert "Sierra Serena" in replies[0]["content"]["text"]


async def test_the_same_message_five_times_at_once_is_stored_and_answered_once(
    make_app: MakeApp, graph: Any
) -> None:
    deps, client = await make_app(transport(graph))
    raw = envelope([text_message("hola")])
    answers = await asyncio.gather(*(post(client, raw) for _ in range(5)))
    assert [a.status_code for a in answers] == [200] * 5
    await drain(deps)
    assert len(await rows(deps, inbox)) == 1
    assert len(graph.sent) == 1


async def test_a_batch_of_fifty_from_ten_guests_is_answered_in_order(
    make_app: MakeApp, graph: Any
) -> None:
    deps, client = await make_app(transport(graph))
    guests = [f"54911555500{i:02d}" for i in range(10)]
    messages = [
        text_message(f"mensaje {n} de {g}", g) for n in range(5) for g in guests
    ]  # interleaved: every guest's five messages spread over the batch
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "WABA1",
                "changes": [
                    {
                        "field": "messages",
                        "value": json.loads(envelope(messages[i : i + 10]))["entry"][0]["changes"][
                            0
                        ]["value"],
                    }
                    for i in range(0, 50, 10)
                ],
            }
        ],
    }
    raw = json.dumps(body).encode()
    assert (await post(client, raw)).status_code == 200
    await drain(deps, rounds=200)
    assert len(await rows(deps, inbox)) == 50
    assert len(graph.sent) == 50
    for g in guests:
        replied_to = [s.body["context"]["message_id"] for s in graph.sent if s.body["to"] == g]
        sent_ids = [m["id"] for m in messages if m["from"] == g]
        assert replied_to == sent_ids


MESSAGE_TYPES: list[tuple[str, dict[str, Any]]] = [
    ("interactive", {"interactive": {"type": "button_reply",
                                     "button_reply": {"id": "yes", "title": "Sí"}}}),
    ("interactive", {"interactive": {"type": "list_reply",
                                     "list_reply": {"id": "offer:double", "title": "Doble"}}}),
    ("button", {"button": {"payload": "reengage", "text": "Responder"}}),
    ("audio", {"audio": {"id": "A1", "mime_type": "audio/ogg; codecs=opus", "voice": True}}),
    ("image", {"image": {"id": "I1", "mime_type": "image/jpeg", "caption": "comprobante"}}),
    ("document", {"document": {"id": "D1", "mime_type": "application/pdf", "filename": "x.pdf"}}),
    ("location", {"location": {"latitude": -37.3, "longitude": -59.1, "name": "Tandil"}}),
    ("reaction", {"reaction": {"message_id": "wamid.X", "emoji": "👍"}}),
    ("contacts", {"contacts": [{"name": {"formatted_name": "Ana"}}]}),
    ("unsupported", {"errors": [{"code": 131051, "title": "Message type unknown"}],
                     "unsupported": {"type": "poll"}}),
    ("brand_new_type", {"brand_new_type": {"whatever": 1}}),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "payload"), MESSAGE_TYPES, ids=[k for k, _ in MESSAGE_TYPES])
async def test_every_message_type_is_stored_and_answered_politely(
    make_app: MakeApp, graph: Any, kind: str, payload: dict[str, Any]
) -> None:
    deps, client = await make_app(transport(graph))
    msg = {
        "from": "5491155551234",
        "id": f"wamid.{uuid.uuid4().hex}",
        "timestamp": str(int(time.time())),
        "type": kind,
        **payload,
    }
    assert (await post(client, envelope([msg]))).status_code == 200
    await drain(deps)
    (row,) = await rows(deps, inbox)
    assert row.status == "done", row.last_error
    texts = [s.body.get("text", {}).get("body", "") for s in graph.sent]
    if kind == "reaction":
        assert texts == []  # not a turn
    else:
        assert texts and all(texts), f"{kind}: {texts}"
    if kind == "audio":
        assert "audios" in texts[0]
    if kind in ("unsupported", "brand_new_type", "location", "contacts"):
        assert "mensaje de texto" in texts[0]


# ---------------------------------------------------------------------------- statuses


async def test_statuses_move_forward_only_and_failures_are_filed(
    make_app: MakeApp, graph: Any
) -> None:
    deps, client = await make_app(transport(graph))
    await post(client, envelope([text_message("hola")]))
    await drain(deps)
    (sent,) = graph.sent

    def status(name: str, **extra: Any) -> dict[str, Any]:
        return {"id": sent.wamid, "status": name, "timestamp": "1", "recipient_id": "x", **extra}

    await post(client, envelope(statuses=[status("read")]))
    await post(client, envelope(statuses=[status("delivered"), status("sent")]))
    (row,) = await rows(deps, outbox)
    assert row.status == "read"  # late "delivered" and "sent" do not downgrade it
    failed = status(
        "failed",
        errors=[{"code": 131026, "title": "Message undeliverable",
                 "error_data": {"details": "Receiver is incapable of receiving this message"}}],
    )  # fmt: skip
    await post(client, envelope(statuses=[failed]))
    (row,) = await rows(deps, outbox)
    assert row.status == "dead" and "131026" in row.last_error
    (dead,) = await rows(deps, dead_letters)
    assert "undeliverable" not in dead.error or "131026" in dead.error


async def test_a_reply_outside_the_window_is_refused_politely_without_a_template(
    make_app: MakeApp, graph: Any
) -> None:
    """131047 arrives as a failed status: with no template configured the reply is filed for
    staff; the free-form message is not attempted again."""
    deps, client = await make_app(transport(graph))
    await post(client, envelope([text_message("hola")]))
    await drain(deps)
    (sent,) = graph.sent
    failed = {
        "id": sent.wamid, "status": "failed", "timestamp": "2", "recipient_id": "x",
        "errors": [{"code": 131047, "title": "Re-engagement message",
                    "error_data": {"details": "More than 24 hours have passed"}}],
    }  # fmt: skip
    await post(client, envelope(statuses=[failed]))
    await drain(deps)
    (row,) = await rows(deps, outbox)
    assert row.status == "dead" and "template" in row.last_error
    assert len(graph.sent) == 1


# ---------------------------------------------------------------------------- fuzzing

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(
        st.sampled_from(
            ["object", "entry", "changes", "value", "messages", "statuses", "metadata", "type",
             "id", "from", "text", "field", "phone_number_id", "body", "interactive", "errors"]
        )
        | st.text(max_size=8),
        children,
        max_size=5,
    ),
    max_leaves=25,
)  # fmt: skip


def test_any_signed_json_gets_a_2xx_or_a_4xx_never_a_5xx(tmp_path_factory: Any) -> None:
    """The decoder is permissive by design: whatever JSON Meta (or anyone with the secret)
    sends, the answer is 200 or a 4xx with a reason, and the service stays up."""
    loop = asyncio.new_event_loop()
    try:
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}"
        env = env_for(url)

        async def build() -> tuple[Any, httpx.AsyncClient]:
            deps = build_deps(load_settings(env), env)
            await upgrade(url)
            await seed_hotels(deps.db, load_hotels_file(None), deps.clock)
            app = create_app(deps=deps)
            return deps, httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://agente"
            )

        deps, client = loop.run_until_complete(build())

        @settings(suppress_health_check=list(HealthCheck), deadline=None)
        @given(payload=JSON_VALUES)
        def check(payload: Any) -> None:
            raw = msgspec.json.encode(payload)
            status = loop.run_until_complete(post(client, raw)).status_code
            assert status == 200 or 400 <= status < 500, (status, raw[:200])

        check()
        loop.run_until_complete(client.aclose())
        loop.run_until_complete(deps.close())
    finally:
        loop.close()


# ---------------------------------------------------------------------------- the whole booking


async def test_a_full_booking_on_whatsapp_with_a_receipt_image_and_the_voucher(
    make_app: MakeApp, graph: Any
) -> None:
    from agente import staff

    deps, client = await make_app(transport(graph))
    guest = "5491155551234"

    async def say(**message: Any) -> list[dict[str, Any]]:
        before = len(graph.sent)
        msg = {"from": guest, "id": f"wamid.{uuid.uuid4().hex}",
               "timestamp": str(int(time.time())), **message}  # fmt: skip
        assert (await post(client, envelope([msg]))).status_code == 200
        await drain(deps)
        return [s.body for s in graph.sent[before:]]

    offers = await say(type="text", text={"body": "hola, tienen lugar del 15/12 al 18/12 para 2?"})
    assert "Doble Matrimonial" in offers[0]["text"]["body"]
    await say(type="text", text={"body": "1"})
    await say(type="text", text={"body": "Ana Pérez"})
    booked = await say(type="text", text={"body": "ana@example.com"})
    assert "seña de ARS 76.500" in booked[0]["text"]["body"]

    receipt = b"\xff\xd8\xff\xe0 a JPEG receipt"
    media_id = graph.add_media(receipt, "image/jpeg")
    thanks = await say(type="image", image={"id": media_id, "mime_type": "image/jpeg"})
    assert "recibimos tu comprobante" in thanks[0]["text"]["body"].lower()
    (reservation,) = await staff.list_reservations(deps.db)
    assert reservation["status"] == "awaiting_verification"
    stored = await deps.channels[
        "whatsapp"
    ].documents.get(  # type: ignore[attr-defined]
        __import__("hashlib").sha256(receipt).hexdigest()[:40]
    )
    assert stored is not None and stored[0] == receipt  # the receipt is kept with us

    before = len(graph.sent)
    await staff.confirm_deposit(
        deps.db, deps.messages, reservation["pms_booking_id"], operator="test"
    )
    await drain(deps)
    confirmation, voucher = (s.body for s in graph.sent[before:])
    assert "está confirmada" in confirmation["text"]["body"]
    assert voucher["type"] == "document"
    uploaded_id = voucher["document"]["id"]
    content, mime = graph.media[uploaded_id]
    assert mime == "application/pdf" and content.startswith(b"%PDF-1.4")
    assert voucher["document"]["filename"].endswith(".pdf")
    assert "Ana P" in voucher["document"]["caption"]


# ---------------------------------------------------------------------------- sending rules


async def test_outside_the_window_the_hotel_template_goes_instead(
    make_app: MakeApp, graph: Any
) -> None:
    """A staff confirmation two days after the guest's last message: the free-form reply is
    not attempted; the hotel's re-engagement template is sent."""
    import datetime as dt

    from agente.domain import OutboundMessage, OutText

    deps, _ = await make_app(transport(graph))
    hotel = await deps.hotels.get("demo")
    assert hotel is not None
    channels = msgspec.structs.replace(hotel.channels, whatsapp_reengage_template="reengage_v1")
    deps.hotels._by_id["demo"] = msgspec.structs.replace(hotel, channels=channels)  # type: ignore[attr-defined]
    channel = deps.channels["whatsapp"]
    late = OutboundMessage(
        channel="whatsapp", hotel_id="demo", recipient_id="5491155551234",
        body=OutText(text="tu reserva está confirmada"),
        reply_by=dt.datetime.now(dt.UTC) - dt.timedelta(days=1),
    )  # fmt: skip
    await channel.send(late)
    (sent,) = graph.sent
    assert sent.body["type"] == "template"
    assert sent.body["template"]["name"] == "reengage_v1"
    assert sent.body["template"]["language"]["code"] == "es_AR"


@pytest.mark.parametrize(
    ("code", "outcome", "retry_after"),
    [(130429, "retry", 2.0), (131056, "retry", 6.0), (131000, "retry", None),
     (131026, "permanent", None), (131009, "permanent", None), (190, "retry", 300.0)],
)  # fmt: skip
async def test_send_errors_are_handled_by_code(
    make_app: MakeApp, graph: Any, code: int, outcome: str, retry_after: float | None
) -> None:
    from agente.domain import OutboundMessage, OutText
    from agente.errors import ChannelError, PermanentChannelError

    deps, client = await make_app(transport(graph))
    channel = deps.channels["whatsapp"]
    graph.fail_next(code, asynchronous=False)  # answered at once (131026 usually comes later)
    message = OutboundMessage(
        channel="whatsapp", hotel_id="demo", recipient_id="5491155551234",
        body=OutText(text="hola"),
    )  # fmt: skip
    with pytest.raises(ChannelError) as caught:
        await channel.send(message)
    assert isinstance(caught.value, PermanentChannelError) == (outcome == "permanent")
    if retry_after is not None:
        assert caught.value.retry_after == retry_after
    if code == 190:
        assert "whatsapp_token_valid 0.0" in (await client.get("/metrics")).text
        ready = await client.get("/health/ready")
        assert ready.status_code == 200 and ready.json()["status"] == "degraded"
        assert ready.json()["checks"]["whatsapp"]["status"] == "failing"
        assert 'dependency_up{name="whatsapp"} 0.0' in (await client.get("/metrics")).text
        with pytest.raises(ChannelError):  # no tight retry loop: refused without calling Meta
            await channel.send(message)
        assert len(graph.sent) == 0


async def test_sending_is_paced_per_number_through_the_shared_store(
    make_app: MakeApp, graph: Any
) -> None:
    """Two a second: the third message of a second waits for the next one (the clock here is
    frozen and only the pacing's own waits move it), every process sharing one counter."""
    from agente.domain import OutboundMessage, OutText
    from agente.errors import ChannelError
    from agente.testing import FrozenClock

    deps, _ = await make_app(transport(graph), AGENTE_WHATSAPP_MESSAGES_PER_SECOND="2")
    channel = deps.channels["whatsapp"]
    clock = FrozenClock()
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)

    channel.clock, channel.sleep = clock, sleep  # type: ignore[attr-defined]
    message = OutboundMessage(
        channel="whatsapp", hotel_id="demo", recipient_id="5491155551234",
        body=OutText(text="hola"),
    )  # fmt: skip
    for _ in range(5):
        await channel.send(message)
    assert len(graph.sent) == 5
    assert len(waits) == 2  # messages 3 and 5 each waited for a new second

    import datetime as dt

    stuck = FrozenClock(current=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))  # a clock that never moves
    channel.clock = stuck  # type: ignore[attr-defined]

    async def no_wait(seconds: float) -> None:
        return None

    channel.sleep = no_wait  # type: ignore[attr-defined]
    await channel.send(message)
    await channel.send(message)
    with pytest.raises(ChannelError) as caught:
        await channel.send(message)
    assert caught.value.retry_after == 1.0


async def test_urgent_out_of_hours_reaches_the_on_call_contact_on_whatsapp(
    make_app: MakeApp, graph: Any
) -> None:
    """At 03:00 in Tandil a guest writes "URGENTE…": the guest is told when staff answer, and
    the hotel's on-call number gets the message on WhatsApp."""
    deps, client = await make_app(transport(graph), AGENTE_BUSINESS_HOURS_ALWAYS_OPEN="false")
    import datetime as dt

    from agente.testing import FrozenClock

    deps.service.clock = FrozenClock(current=dt.datetime(2026, 11, 24, 6, 0, tzinfo=dt.UTC))  # type: ignore[misc]
    msg = text_message("URGENTE necesito hablar con alguien, perdí la llave", "5491155551234")
    assert (await post(client, envelope([msg]))).status_code == 200
    await drain(deps)
    by_recipient = {s.body["to"]: s.body for s in graph.sent}
    guest_reply = by_recipient["5491155551234"]["text"]["body"]
    assert "persona de guardia" in guest_reply
    alert = by_recipient["5492494550000"]["text"]["body"]  # the demo hotel's on_call
    assert alert.startswith("URGENTE en Hotel Sierra Serena") and "perdí la llave" in alert
