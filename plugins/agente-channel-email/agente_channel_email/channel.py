"""What the two e-mail adapters share: turning a received mail into an inbox message, and a turn's
replies into one threaded mail.

Inbound (``MailChannel.inbound``): the provider message id the inbox deduplicates on is the mail's
``Message-ID`` when it has one (the same mail met twice, through IDLE and a poll, after a restart
or after a UIDVALIDITY reset, is one message), else the adapter's own id. Auto-replies, bounces,
mailing lists, our own mail and unreadable bytes are stored with ``ignored`` set: kept for staff,
never answered. A PDF or image attached (a payment proof) is stored in ``documents`` and the
message becomes a media message with the guest's words as its caption. What the reply needs to
thread (Message-ID, References, subject, Reply-To, the provider's thread) is kept in
``PluginState``, keyed by the message and by the guest.

Outbound: mail has no buttons or lists (``interactive = False``), and a turn is one mail
(``coalesce``): its texts joined, the voucher attached. ``send`` builds the reply with
``agente.mail.build_reply`` and hands it to the adapter's ``deliver``.
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Sequence
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

import attrs
import msgspec
import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge

from agente.domain import (
    InboundMessage,
    Media,
    OutboundBody,
    OutboundMessage,
    OutButtons,
    OutDocument,
    OutImage,
    OutList,
    OutLocation,
    OutText,
)
from agente.errors import ChannelError, PermanentChannelError
from agente.mail import Attachment, InboundEmail, build_reply

if TYPE_CHECKING:
    from agente.domain import Hotel
    from agente.ports import Clock, Documents, HotelLookup, PluginState, Store

__all__ = [
    "EmailMetrics",
    "MailChannel",
    "ThreadInfo",
    "body_text",
    "coalesce",
    "email_metrics",
    "provider_id_of",
]

log = structlog.get_logger("agente.channel.email")

_THREADS = "email.thread"
#: attachments that may be a payment proof (what the dialogue reads as "the guest sent a file")
_PROOF_TYPES = ("application/pdf", "image/")


@attrs.frozen
class EmailMetrics:
    """What both mail channels report: when each last read its mailbox, and its failures."""

    last_read: Gauge
    failures: Counter


_METRICS: weakref.WeakKeyDictionary[CollectorRegistry, EmailMetrics] = weakref.WeakKeyDictionary()


def email_metrics(registry: CollectorRegistry | None) -> EmailMetrics:
    """The mail metrics of ``registry``, declared once even with both channels enabled."""
    r = registry if registry is not None else CollectorRegistry()
    if r not in _METRICS:
        _METRICS[r] = EmailMetrics(
            last_read=Gauge("email_mailbox_last_read_timestamp_seconds",
                            "When the channel last read its mailbox successfully (Unix time).",
                            ["channel"], registry=r, multiprocess_mode="max"),
            failures=Counter("email_mailbox_failures_total",
                             "Failed reads of the mailbox (connection, login, API, sync).",
                             ["channel"], registry=r),
        )  # fmt: skip
    return _METRICS[r]


class ThreadInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What a reply to one received mail needs."""

    message_id: str | None
    references: list[str]
    subject: str
    from_addr: str
    reply_to: str | None = None
    #: the provider's thread (Gmail's ``threadId``), when it has one
    provider_thread: str | None = None


def provider_id_of(mail: InboundEmail | None, fallback: str) -> str:
    """The id the inbox deduplicates on: the Message-ID, else the adapter's own id."""
    mid = mail.message_id if mail is not None else None
    if not mid:
        return fallback
    return mid if len(mid) <= 200 else "sha256:" + hashlib.sha256(mid.encode()).hexdigest()


# ------------------------------------------------------------------------------- outbound bodies


def _maps(lat: float, lon: float) -> str:
    return f"https://www.google.com/maps/search/?api=1&query={lat:.6f},{lon:.6f}"


def body_text(body: OutboundBody) -> str:
    """A reply body as plain text (mail shows options as a list the guest answers in words)."""
    match body:
        case OutText():
            return body.text
        case OutButtons():
            options = "\n".join(f"{i}. {b.title}" for i, b in enumerate(body.buttons, 1))
            return f"{body.text}\n\n{options}"
        case OutList():
            lines = []
            n = 0
            for section in body.sections:
                for row in section.rows:
                    n += 1
                    extra = f" ({row.description})" if row.description else ""
                    lines.append(f"{n}. {row.title}{extra}")
            return body.text + ("\n\n" + "\n".join(lines) if lines else "")
        case OutImage() | OutDocument():
            return body.caption or ""
        case OutLocation():
            parts = [p for p in (body.name, body.address) if p]
            parts.append(_maps(body.latitude, body.longitude))
            return "\n".join(parts)
    return ""  # pragma: no cover - the union is closed


def coalesce(replies: Sequence[OutboundMessage]) -> list[OutboundMessage]:
    """One turn's replies as mails: every text joined in order, with at most one attachment per
    mail (the voucher). A second file starts a second mail."""
    out: list[OutboundMessage] = []
    texts: list[str] = []
    media: OutImage | OutDocument | None = None
    first: OutboundMessage | None = None

    def flush() -> None:
        nonlocal texts, media, first
        if first is None:
            return
        text = "\n\n".join(t for t in texts if t.strip())
        body: OutboundBody
        if media is None:
            body = OutText(text=text)
        else:
            body = msgspec.structs.replace(media, caption=text or None)
        out.append(msgspec.structs.replace(first, body=body))
        texts, media, first = [], None, None

    for reply in replies:
        body = reply.body
        if isinstance(body, (OutImage, OutDocument)):
            if media is not None:
                flush()
            media = body
        if first is None:
            first = reply
        text = body_text(body)
        if text:
            texts.append(text)
    flush()
    return out


# ------------------------------------------------------------------------------- the channel


class MailChannel:
    """The shared part of the ``imap`` and ``gmail`` channels. Subclasses provide ``name``,
    ``address`` and ``deliver``."""

    name: str = "email"
    interactive = False
    address: str
    hotel_setting: str | None = None
    from_name: str | None = None
    replies_per_hour: int = 20

    def __init__(
        self,
        *,
        clock: Clock,
        store: Store,
        state: PluginState,
        hotels: HotelLookup | None,
        documents: Documents | None,
    ) -> None:
        self.clock = clock
        self.store = store
        self.state = state
        self.hotels = hotels
        self.documents = documents

    # -------------------------------------------------------------------- hotel

    async def hotel(self) -> Hotel:
        """The hotel this mailbox belongs to: the configured id, else the hotel whose
        ``channels.email`` is the mailbox's address."""
        if self.hotels is None:
            raise ChannelError("no hotel directory")
        if self.hotel_setting:
            hotel = await self.hotels.get(self.hotel_setting)
            if hotel is None:
                raise ChannelError(f"the mailbox's hotel {self.hotel_setting!r} is not configured")
            return hotel
        hotel = await self.hotels.by_identity("email", self.address)
        if hotel is None:
            raise ChannelError(
                f"no hotel has channels.email = {self.address!r}; set it in the hotel's "
                f"configuration or name the hotel in AGENTE_{self.name.upper()}_HOTEL"
            )
        return hotel

    # -------------------------------------------------------------------- inbound

    async def inbound(
        self,
        hotel_id: str,
        fallback_id: str,
        mail: InboundEmail | None,
        error: str | None = None,
        *,
        provider_thread: str | None = None,
        ignored: str | None = None,
    ) -> InboundMessage:
        """The inbox message for one received mail (and its threading kept for the reply)."""
        provider_id = provider_id_of(mail, fallback_id)
        if mail is None:
            return InboundMessage(
                channel=self.name,
                provider_message_id=provider_id,
                hotel_id=hotel_id,
                sender_id="unreadable",
                kind="unsupported",
                ignored=f"unreadable: {error or 'unknown'}"[:200],
            )
        sender = mail.from_addr
        ignored = ignored or mail.noise
        text = mail.text.strip() or mail.subject.strip()
        media = None
        if ignored is None:
            await self._remember(hotel_id, provider_id, sender, mail, provider_thread)
            media = await self._proof(hotel_id, mail.attachments)
        return InboundMessage(
            channel=self.name,
            provider_message_id=provider_id,
            hotel_id=hotel_id,
            sender_id=sender,
            kind="media" if media is not None else "text",
            text=text or None,
            media=media,
            sender_name=mail.from_name,
            sender_email=sender,
            thread_id=provider_thread or mail.thread_key,
            ignored=ignored,
        )

    async def _proof(self, hotel_id: str, attachments: list[Attachment]) -> Media | None:
        if self.documents is None:
            return None
        for item in attachments:
            if item.data is None or not item.mime_type.startswith(_PROOF_TYPES):
                continue
            key = await self.documents.put(hotel_id, item.data, item.mime_type, item.filename)
            return Media(
                media_id=key,
                mime_type=item.mime_type,
                filename=item.filename,
                size=len(item.data),
                sha256=hashlib.sha256(item.data).hexdigest(),
                stored_key=key,
            )
        return None

    async def _remember(
        self,
        hotel_id: str,
        provider_id: str,
        sender: str,
        mail: InboundEmail,
        provider_thread: str | None,
    ) -> None:
        info = msgspec.json.encode(
            ThreadInfo(
                message_id=mail.message_id,
                references=mail.references[-20:],
                subject=mail.subject,
                from_addr=mail.from_addr,
                reply_to=mail.reply_to,
                provider_thread=provider_thread,
            )
        )
        for key in (f"{hotel_id}:id:{provider_id}", f"{hotel_id}:guest:{sender}"):
            for _ in range(3):  # a lost race with another process: read again and overwrite
                _, version = await self.state.get(_THREADS, key)
                if await self.state.put(_THREADS, key, info, expected_version=version):
                    break

    async def thread(self, message: OutboundMessage) -> ThreadInfo | None:
        keys = [f"{message.hotel_id}:guest:{message.recipient_id}"]
        if message.in_reply_to:
            keys.insert(0, f"{message.hotel_id}:id:{message.in_reply_to}")
        for key in keys:
            raw, _ = await self.state.get(_THREADS, key)
            if raw is not None:
                return msgspec.json.decode(raw, type=ThreadInfo)
        return None

    # -------------------------------------------------------------------- outbound

    def coalesce(self, replies: Sequence[OutboundMessage]) -> list[OutboundMessage]:
        return coalesce(replies)

    async def compose(self, message: OutboundMessage) -> tuple[EmailMessage, ThreadInfo | None]:
        """The mail for one outbox message: threaded on what the guest wrote last."""
        hotel = await self.hotel()
        thread = await self.thread(message)
        attachments = []
        if isinstance(message.body, (OutImage, OutDocument)):
            attachments.append(await self._attachment(message.body.media))
        original = InboundEmail(
            message_id=thread.message_id if thread else None,
            in_reply_to=None,
            references=thread.references if thread else [],
            thread_key="",
            from_addr=message.recipient_id,
            from_name=None,
            reply_to=thread.reply_to if thread else None,
            to=[],
            cc=[],
            subject=thread.subject if thread else hotel.name,
            date=None,
            text="",
            full_text="",
            attachments=[],
        )
        mail = build_reply(
            original,
            from_name=self.from_name or hotel.name,
            from_addr=self.address,
            text=body_text(message.body),
            attachments=attachments,
        )
        return mail, thread

    async def _attachment(self, media: Media) -> Attachment:
        key = media.stored_key or media.media_id
        found = await self.documents.get(key) if self.documents is not None and key else None
        if found is None:
            raise PermanentChannelError(f"the file to attach ({key!r}) is not stored")
        content, mime, filename = found
        return Attachment(
            filename=media.filename or filename,
            mime_type=media.mime_type or mime,
            size=len(content),
            data=content,
        )

    async def check_pace(self, message: OutboundMessage) -> None:
        """The last-resort loop breaker (gmail.md §1.4): at most ``replies_per_hour`` mails to
        one address; more go to the dead letters for staff."""
        key = f"agente:email:replies:{message.hotel_id}:{message.recipient_id}"
        count = await self.store.incr(key, ttl=3600)
        if count > self.replies_per_hour:
            raise PermanentChannelError(
                f"more than {self.replies_per_hour} replies to one address in an hour; "
                "held for staff (a mail loop?)"
            )

    async def send(self, message: OutboundMessage) -> str:
        if message.recipient_id == "unreadable" or "@" not in message.recipient_id:
            raise PermanentChannelError("no address to answer")
        await self.check_pace(message)
        mail, thread = await self.compose(message)
        await self.deliver(mail, thread)
        return str(mail["Message-ID"])

    async def deliver(self, mail: EmailMessage, thread: ThreadInfo | None) -> Any:
        raise NotImplementedError
