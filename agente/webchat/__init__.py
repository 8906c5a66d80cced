"""The built-in web chat channel: a page to talk to the agent as a guest, and its JSON API.

    GET  /                                  the page, for the default hotel
    GET  /chat/{hotel_id}                   the page, for any hotel with web chat on
    POST /webchat/{hotel_id}/messages       {"session_id", "text", "client_message_id"?,
                                             "choice_id"?} → 202 (choice_id: a tapped button)
    GET  /webchat/{hotel_id}/messages       ?session_id&after&wait → replies after a cursor

The hotel comes from the path (the page the guest opened), the guest from a session id the page
keeps in the browser. Messages go through the same inbox, worker and outbox as every channel;
"sending" a web chat reply means marking it sent, and the page picks it up with a long poll.
"""

from __future__ import annotations

import html
import time
import uuid
from importlib import resources
from typing import Annotated, Any

import msgspec
import sqlalchemy as sa
from litestar import Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody, QueryParameter

from agente.adapters.sql import inbox, outbox
from agente.deps import AppDeps, Deps
from agente.domain import InboundMessage, OutboundMessage, conversation_key
from agente.registry import ChannelPlugin, PluginContext

__all__ = ["WebchatChannel", "WebchatIn", "plugin"]

CHANNEL = "webchat"
_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
_DELIVERED = ("sent", "delivered", "read")


class WebchatIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A guest's message from the page."""

    session_id: Annotated[str, msgspec.Meta(pattern=_ID_PATTERN)]
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]
    client_message_id: Annotated[str, msgspec.Meta(pattern=_ID_PATTERN)] | None = None
    #: the id of the button or list row the guest tapped ("offer:double", "yes")
    choice_id: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_:.-]{1,64}$")] | None = None


class WebchatAccepted(msgspec.Struct, frozen=True, kw_only=True):
    message_id: str
    duplicate: bool


class WebchatChannel:
    """Outbound for web chat: the reply already sits in the outbox, where the page reads it."""

    name = CHANNEL

    async def send(self, message: OutboundMessage) -> str:
        return f"webchat-{uuid.uuid4().hex}"


def _build(_settings: Any, _ctx: PluginContext) -> WebchatChannel:
    return WebchatChannel()


_PAGE: str | None = None


def _page_template() -> str:
    global _PAGE
    if _PAGE is None:
        _PAGE = (resources.files("agente.webchat") / "page.html").read_text(encoding="utf-8")
    return _PAGE


async def _hotel_or_404(deps: Deps, hotel_id: str) -> Any:
    hotel = await deps.hotels.get(hotel_id)
    if hotel is None or not hotel.channels.webchat:
        raise NotFoundException(f"no hotel {hotel_id!r} with web chat")
    return hotel


def _render_page(hotel_id: str, hotel_name: str) -> Response[str]:
    page = (
        _page_template()
        .replace("{{HOTEL_ID}}", html.escape(hotel_id))
        .replace("{{HOTEL_NAME}}", html.escape(hotel_name))
        .replace("{{API_BASE}}", html.escape(f"/webchat/{hotel_id}"))
    )
    return Response(
        page,
        media_type="text/html; charset=utf-8",
        headers={
            "Content-Security-Policy": "default-src 'self'; img-src 'self' https: data:; "
            "style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
        },
    )


@get("/", include_in_schema=False)
async def index(deps: AppDeps) -> Response[str]:
    """The chat page of the default hotel."""
    hotel = await _hotel_or_404(deps, deps.settings.default_hotel)
    return _render_page(hotel.id, hotel.name)


@get("/chat/{hotel_id:str}", include_in_schema=False)
async def chat_page(deps: AppDeps, hotel_id: FromPath[str]) -> Response[str]:
    """The chat page of one hotel."""
    hotel = await _hotel_or_404(deps, hotel_id)
    return _render_page(hotel.id, hotel.name)


@post("/webchat/{hotel_id:str}/messages", status_code=202, tags=["webchat"])
async def post_message(
    deps: AppDeps, hotel_id: FromPath[str], data: JSONBody[WebchatIn]
) -> WebchatAccepted:
    """Accept a guest's message; 202 once it is stored. Resending the same
    ``client_message_id`` is recognised and not processed twice."""
    await _hotel_or_404(deps, hotel_id)
    client_id = data.client_message_id or uuid.uuid4().hex
    provider_id = f"{data.session_id}:{client_id}"
    message = InboundMessage(
        channel=CHANNEL,
        provider_message_id=provider_id,
        hotel_id=hotel_id,
        sender_id=data.session_id,
        kind="interactive" if data.choice_id else "text",
        text=data.text,
        choice_id=data.choice_id,
    )
    result = await deps.ingress.accept([message])
    return WebchatAccepted(message_id=provider_id, duplicate=not result.accepted)


async def _history(deps: Deps, key: str, after: int) -> tuple[list[dict[str, Any]], int]:
    out: list[dict[str, Any]] = []
    async with deps.db.begin() as conn:
        if after == 0:
            rows = await conn.execute(
                sa.select(inbox.c.id, inbox.c.message, inbox.c.received_at)
                .where(inbox.c.conversation_key == key)
                .order_by(inbox.c.id)
            )
            for r in rows:
                provider_id = r.message["provider_message_id"]
                out.append(
                    {
                        "id": r.id,
                        "direction": "in",
                        "at": r.received_at.isoformat(),
                        "client_message_id": provider_id.split(":", 1)[-1],
                        "body": {"type": "text", "text": r.message.get("text") or ""},
                    }
                )
        rows = await conn.execute(
            sa.select(outbox.c.id, outbox.c.message, outbox.c.sent_at, outbox.c.created_at)
            .where(
                outbox.c.conversation_key == key,
                outbox.c.id > after,
                outbox.c.status.in_(_DELIVERED),
            )
            .order_by(outbox.c.id)
        )
        cursor = after
        for r in rows:
            cursor = max(cursor, r.id)
            body = r.message["body"]
            entry: dict[str, Any] = {
                "id": r.id,
                "direction": "out",
                "at": (r.sent_at or r.created_at).isoformat(),
                "body": body,
            }
            if deps.settings.env == "test":
                entry["response_type"] = body.get("type")
                entry["content"] = body
            out.append(entry)
    out.sort(key=lambda m: m["at"])
    return out, cursor


@get("/webchat/{hotel_id:str}/messages", tags=["webchat"])
async def get_messages(
    deps: AppDeps,
    hotel_id: FromPath[str],
    session_id: Annotated[str, QueryParameter(pattern=_ID_PATTERN)],
    after: Annotated[int, QueryParameter(ge=0, le=2**63 - 1)] = 0,
    wait: Annotated[float, QueryParameter(ge=0, le=25)] = 0,
) -> dict[str, Any]:
    """Replies with an id above ``after``; waits up to ``wait`` seconds for one (long poll)."""
    await _hotel_or_404(deps, hotel_id)
    key = conversation_key(hotel_id, CHANNEL, session_id)
    deadline = time.monotonic() + wait
    while True:
        messages, cursor = await _history(deps, key, after)
        if any(m["direction"] == "out" for m in messages) or time.monotonic() >= deadline:
            return {"messages": messages, "cursor": cursor}
        # Woken at once by a reply sent in this process; polls for other processes' replies.
        remaining = deadline - time.monotonic()
        await deps.notifier.wait_reply(key, min(0.5, remaining))


def _routes() -> list[Any]:
    return [index, chat_page, post_message, get_messages]


plugin = ChannelPlugin(name=CHANNEL, build=_build, routes=_routes)
