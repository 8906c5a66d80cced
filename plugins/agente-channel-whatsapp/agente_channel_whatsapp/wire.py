"""The WhatsApp Cloud API's JSON, as msgspec Structs, and the pure translations to and from ours.

Everything here mirrors Meta's payloads (shared/docs/channels/whatsapp.md §3, §6) and never
forbids unknown fields: Meta adds fields often. Every sub-object is optional and ``type`` stays a
string, so a new message type cannot fail a whole batch: ``to_domain`` dispatches on it in code
and turns what it does not know into an ``unsupported`` message that is stored and answered.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from agente.domain import (
    InboundMessage,
    Location,
    Media,
    OutboundBody,
    OutButtons,
    OutDocument,
    OutImage,
    OutList,
    OutLocation,
    OutText,
)

__all__ = [
    "Envelope",
    "Status",
    "from_domain",
    "messages_of",
    "statuses_of",
]

CHANNEL = "whatsapp"


class _W(msgspec.Struct, kw_only=True):
    pass


class Profile(_W):
    name: str | None = None


class Contact(_W):
    wa_id: str | None = None
    user_id: str | None = None
    profile: Profile | None = None


class Metadata(_W):
    display_phone_number: str | None = None
    phone_number_id: str | None = None


class Text(_W):
    body: str = ""


class Reply(_W):
    id: str = ""
    title: str | None = None
    description: str | None = None


class Interactive(_W):
    type: str = ""
    button_reply: Reply | None = None
    list_reply: Reply | None = None


class Button(_W):
    payload: str | None = None
    text: str | None = None


class MediaObject(_W):
    id: str | None = None
    mime_type: str | None = None
    sha256: str | None = None
    caption: str | None = None
    filename: str | None = None
    voice: bool | None = None


class LocationObject(_W):
    latitude: float = 0.0
    longitude: float = 0.0
    name: str | None = None
    address: str | None = None


class Reaction(_W):
    message_id: str | None = None
    emoji: str | None = None


class Context(_W):
    id: str | None = None
    from_: str | None = msgspec.field(default=None, name="from")


class Message(_W):
    id: str = ""
    from_: str | None = msgspec.field(default=None, name="from")
    from_user_id: str | None = None
    timestamp: str | None = None
    type: str = "unknown"
    text: Text | None = None
    interactive: Interactive | None = None
    button: Button | None = None
    image: MediaObject | None = None
    document: MediaObject | None = None
    audio: MediaObject | None = None
    video: MediaObject | None = None
    sticker: MediaObject | None = None
    location: LocationObject | None = None
    reaction: Reaction | None = None
    contacts: list[dict[str, Any]] | None = None
    context: Context | None = None


class ErrorData(_W):
    details: str | None = None


class Error(_W):
    code: int | None = None
    title: str | None = None
    message: str | None = None
    error_data: ErrorData | None = None


class Status(_W):
    id: str = ""
    status: str = ""
    timestamp: str | None = None
    recipient_id: str | None = None
    errors: list[Error] | None = None


class Value(_W):
    messaging_product: str | None = None
    metadata: Metadata | None = None
    contacts: list[Contact] | None = None
    messages: list[Message] | None = None
    statuses: list[Status] | None = None
    errors: list[Error] | None = None


class Change(_W):
    field: str | None = None
    value: Value | None = None


class Entry(_W):
    id: str | None = None
    changes: list[Change] | None = None


class Envelope(_W):
    object: str | None = None
    entry: list[Entry] | None = None


# ------------------------------------------------------------------------------ inbound


def _sent_at(timestamp: str | None) -> dt.datetime | None:
    try:
        return dt.datetime.fromtimestamp(int(timestamp or ""), tz=dt.UTC)
    except (ValueError, OverflowError, OSError):
        return None


_MEDIA_TYPES = ("image", "document", "audio", "video", "sticker")


def _message(
    m: Message, *, hotel_id: str, pnid: str, contact: Contact | None, phone: str | None
) -> InboundMessage | None:
    sender = m.from_user_id or m.from_ or (contact.user_id if contact else None)
    if not m.id or not sender:
        return None
    base: dict[str, Any] = {
        "channel": CHANNEL,
        "provider_message_id": m.id,
        "hotel_id": hotel_id,
        "sender_id": m.from_ or sender,
        "sender_name": contact.profile.name if contact and contact.profile else None,
        "sender_phone": phone,
        "thread_id": pnid,
        "sent_at": _sent_at(m.timestamp),
    }
    kind = m.type
    if kind == "text" and m.text is not None:
        return InboundMessage(kind="text", text=m.text.body, **base)
    if kind == "interactive" and m.interactive is not None:
        reply = m.interactive.button_reply or m.interactive.list_reply
        if reply is not None:
            return InboundMessage(
                kind="interactive", text=reply.title or reply.id, choice_id=reply.id, **base
            )
    if kind == "button" and m.button is not None:  # a template's quick-reply button
        text = m.button.text or m.button.payload or ""
        return InboundMessage(kind="interactive", text=text, choice_id=m.button.payload, **base)
    if kind in _MEDIA_TYPES:
        obj: MediaObject | None = getattr(m, kind)
        if obj is not None and obj.id:
            media = Media(
                media_id=obj.id,
                mime_type=obj.mime_type,
                filename=obj.filename,
                sha256=obj.sha256,
                voice=bool(obj.voice),
            )
            return InboundMessage(kind="media", text=obj.caption, media=media, **base)
    if kind == "location" and m.location is not None:
        loc = m.location
        location = Location(
            latitude=loc.latitude, longitude=loc.longitude, name=loc.name, address=loc.address
        )
        return InboundMessage(kind="location", location=location, **base)
    if kind == "reaction" and m.reaction is not None:
        return InboundMessage(kind="reaction", text=m.reaction.emoji, **base)
    if kind == "contacts":
        return InboundMessage(kind="contacts", **base)
    # unsupported, unknown or malformed: stored, and the guest is asked for text
    return InboundMessage(kind="unsupported", text=None, **base)


def messages_of(
    envelope: Envelope, hotel_for: dict[str, str], normalize_phone: Any
) -> tuple[list[InboundMessage], list[str]]:
    """Every inbound message of every entry and change, for the hotels we know.

    ``hotel_for`` maps a phone_number_id to a hotel id; messages to another number are
    skipped, and their phone_number_ids returned so that the caller can log them.
    """
    out: list[InboundMessage] = []
    unknown: list[str] = []
    for entry in envelope.entry or []:
        for change in entry.changes or []:
            value = change.value
            if change.field != "messages" or value is None or not value.messages:
                continue
            pnid = value.metadata.phone_number_id if value.metadata else None
            hotel_id = hotel_for.get(pnid or "")
            if hotel_id is None:
                unknown.append(pnid or "")
                continue
            contacts = {c.wa_id: c for c in value.contacts or [] if c.wa_id}
            for m in value.messages:
                contact = contacts.get(m.from_ or "")
                phone = normalize_phone(m.from_) if m.from_ else None
                msg = _message(m, hotel_id=hotel_id, pnid=pnid or "", contact=contact, phone=phone)
                if msg is not None:
                    out.append(msg)
    return out, unknown


def statuses_of(envelope: Envelope) -> list[Status]:
    return [
        s
        for entry in envelope.entry or []
        for change in entry.changes or []
        if change.field == "messages" and change.value is not None
        for s in change.value.statuses or []
        if s.id and s.status
    ]


def phone_number_ids(envelope: Envelope) -> set[str]:
    return {
        change.value.metadata.phone_number_id
        for entry in envelope.entry or []
        for change in entry.changes or []
        if change.value is not None
        and change.value.metadata is not None
        and change.value.metadata.phone_number_id
    }


# ------------------------------------------------------------------------------ outbound


def _cut(text: str, limit: int) -> str:
    """Meta rejects over-long fields: shorten with an ellipsis instead of losing the message."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _unique_titles(titles: list[str], limit: int) -> list[str]:
    out: list[str] = []
    for t in titles:
        title = _cut(t, limit)
        n = 2
        while title in out:
            suffix = f" {n}"
            title = _cut(t, limit - len(suffix)) + suffix
            n += 1
        out.append(title)
    return out


def from_domain(body: OutboundBody) -> dict[str, Any]:
    """The Graph API message object (without ``to``) for one of our outbound bodies.

    The limits of §6 are enforced here: text 4096, captions 1024, up to three buttons with
    unique titles of 20, lists of at most 10 rows with titles of 24 and descriptions of 72.
    A list longer than that becomes a numbered text, so that nothing is lost.
    """
    match body:
        case OutText():
            return {"type": "text", "text": {"body": _cut(body.text, 4096), "preview_url": False}}
        case OutButtons() if 1 <= len(body.buttons) <= 3:
            titles = _unique_titles([b.title for b in body.buttons], 20)
            interactive: dict[str, Any] = {
                "type": "button",
                "body": {"text": _cut(body.text, 1024)},
                "action": {
                    "buttons": [
                        {"type": "reply", "reply": {"id": b.id[:256], "title": t}}
                        for b, t in zip(body.buttons, titles, strict=True)
                    ]
                },
            }
            if body.image_url:  # interactive_buttons_with_image
                interactive["header"] = {"type": "image", "image": {"link": body.image_url}}
            return {"type": "interactive", "interactive": interactive}
        case OutList():
            rows = [r for s in body.sections for r in s.rows]
            if len(rows) > 10 or not rows:
                return from_domain(OutText(text=_numbered(body.text, [r.title for r in rows])))
            sections = [
                {
                    "title": _cut(s.title, 24),
                    "rows": [
                        {
                            "id": r.id[:200],
                            "title": _cut(r.title, 24),
                            **({"description": _cut(r.description, 72)} if r.description else {}),
                        }
                        for r in s.rows
                    ],
                }
                for s in body.sections[:10]
                if s.rows
            ]
            return {
                "type": "interactive",
                "interactive": {
                    "type": "list",
                    "body": {"text": _cut(body.text, 1024)},
                    "action": {"button": _cut(body.button, 20), "sections": sections},
                },
            }
        case OutButtons():
            return from_domain(OutText(text=_numbered(body.text, [b.title for b in body.buttons])))
        case OutImage():
            return {"type": "image", "image": _media_ref(body.media, body.caption)}
        case OutDocument():
            doc = _media_ref(body.media, body.caption)
            if body.media.filename:
                doc["filename"] = body.media.filename
            return {"type": "document", "document": doc}
        case OutLocation():
            loc: dict[str, Any] = {"latitude": body.latitude, "longitude": body.longitude}
            if body.name:
                loc["name"] = body.name
            if body.address:
                loc["address"] = body.address
            return {"type": "location", "location": loc}
    raise ValueError(f"no WhatsApp form for {type(body).__name__}")


def _numbered(text: str, options: list[str]) -> str:
    lines = [text, *(f"{i}. {o}" for i, o in enumerate(options, 1))]
    return "\n".join(lines)


def _media_ref(media: Media, caption: str | None) -> dict[str, Any]:
    ref: dict[str, Any] = {"id": media.media_id} if media.media_id else {"link": media.url}
    if caption:
        ref["caption"] = _cut(caption, 1024)
    return ref


def template(name: str, language: str, parameters: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "language": {"code": language}}
    if parameters:
        body["components"] = [
            {"type": "body", "parameters": [{"type": "text", "text": p} for p in parameters]}
        ]
    return {"type": "template", "template": body}
