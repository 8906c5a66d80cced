"""A local fake of Meta's WhatsApp Cloud API (the Graph API), for tests and the demo.

The real channel reaches Meta through a configurable base URL; point it at this fake and it
talks to an ASGI app (Litestar) that answers like ``graph.facebook.com`` would. Tests drive it
in-process through ``httpx.ASGITransport``; the demo serves it with Granian on 127.0.0.1
(``python -m agente_channel_whatsapp.fake --port 8799``).

Endpoints (``{v}`` is the pinned Graph version, ``v23.0`` by default)::

    POST   /{v}/{phone_number_id}/messages   send a message, or mark one read (+ typing indicator)
    POST   /{v}/{phone_number_id}/media      upload media (multipart: file, type, messaging_product)
    GET    /{v}/{media_id}                   media metadata and a short-lived download URL
    DELETE /{v}/{media_id}                   delete media
    GET    /media-download/{token}           the bytes (Bearer token *and* a User-Agent required)
    POST   /_fake/inbound                    demo helper, not Meta's: a guest "types" a text

What is faithful to Meta (docs/channels/whatsapp.md §§3, 6, 7, 8 and Meta's public reference):

- Auth: ``Authorization: Bearer <token>`` (or ``?access_token=``). Anything else is HTTP 401 with
  a Graph ``OAuthException`` body, code 190, and a ``WWW-Authenticate`` header.
- Send bodies are validated as Meta does: ``messaging_product == "whatsapp"``, ``to``, ``type``
  (defaults to ``text`` when absent, as on Meta), and the limits of the spec's §6 table. Missing
  or mistyped parameters are code 100; values that break a limit are code 131009
  ("Parameter value is not valid"). Error bodies have Meta's shape:
  ``{"error": {"message": "(#<code>) <title>", "type": "OAuthException", "code",
  "error_data": {"messaging_product": "whatsapp", "details"}, "fbtrace_id"}}``.
- Success bodies: ``{"messaging_product", "contacts": [{"input", "wa_id"}], "messages":
  [{"id": "wamid.…"}]}``; templates add ``"message_status": "accepted"``. ``wa_id`` is the digits
  of a phone-number ``to`` (``+34 600…`` → ``34600…``); wamids are base64 like Meta's
  (``wamid.HBgL…``).
- Acceptance is not delivery. Each accepted send queues the status webhooks Meta would send:
  ``sent`` then ``delivered``, or a single ``failed`` with ``errors[]`` for 131047 (free-form send
  outside the 24 h window of the fake's clock), 131026 (recipient in ``undeliverable``) and the
  asynchronous codes injected with ``fail_next``. Take them with ``pending_statuses()``.
- Injected synchronous errors use the HTTP status of the "HTTP Status Code" column of Meta's
  error-code reference (``http_status_for``). Rate limits (4, 80007, 130429, 131048, 131056)
  are **400**, not 429, like 1, 100, 131009, 131026, 131047 and the other 13xxxx; 190 and 0
  are 401; 131000 is 500; 2 is 503. *Verify* (recalled from Meta's table, not re-checked):
  403 for 10, 200-299, 368, 131005, 131031; 404 for 132001; 500 for 3, 131057; 503 for
  131016. Branch on ``error.code``, never on the HTTP status (spec §8).
- Media: metadata has ``url``, ``mime_type``, ``sha256`` (base64 of the SHA-256 as in the
  spec's webhook example; *verify* for this endpoint), ``file_size``, ``id``,
  ``messaging_product``; the URL lives 5 minutes of the fake's clock
  (then 404); an unknown id is HTTP 400, code 100, subcode 33, ``GraphMethodException``.
- Webhook bodies (``status_webhook``, ``message_webhook``) are compact JSON with non-ASCII as
  lowercase ``\\uXXXX`` escapes and ``/`` as ``\\/``, like Meta's, and are signed like Meta's
  (``X-Hub-Signature-256: sha256=<hex>`` over the raw bytes, see ``sign``; the legacy
  ``X-Hub-Signature: sha1=<hex>`` too). Callbacks carry ``User-Agent: facebookexternalua``.

What is simplified:

- No real delivery, read receipts or pricing: statuses are generated at acceptance; ``read``
  and ``played`` are never produced. ``pricing``/``conversation`` are plausible service-PMP
  values, not billing truth.
- Interactive messages: only ``button`` and ``list``; templates are not checked against any
  definition (132xxx only by injection); media ``id``\\s in sends are not checked to exist.
- Lengths are counted in code points; Meta does not say how it counts.
- A download without ``User-Agent`` gets HTTP 400 (reports only say such requests fail).
- A missing token is answered like a bad one (code 190); real Graph may use another code.
- One token, one process: state lives in memory, so serve it with one worker. Any
  ``phone_number_id`` is accepted unless ``known_numbers`` is set.

The demo: ``python -m agente_channel_whatsapp.fake --port 8799 [--no-window]
[--callback http://127.0.0.1:8000/webhooks/whatsapp --app-secret S]`` prints the base URL and
serves ``demo_app`` with Granian. With ``--callback`` the status webhooks of each accepted send
are POSTed there, signed, with bounded retries, and only to a loopback host.
``POST /_fake/inbound {"from", "text", "phone_number_id", "name"?}`` makes a guest write: it
opens their window and POSTs the message webhook to the callback. Without it the service never
tells the fake about inbound messages, so use ``--no-window`` or every free-form reply fails
with 131047, as it would on Meta for a guest who never wrote.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import contextlib
import functools
import hashlib
import hmac
import ipaddress
import itertools
import json
import logging
import os
import re
import secrets
import string
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import attrs
import httpx
import msgspec
from litestar import Litestar, Request, Response, delete, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import HTTPException
from litestar.params import FromPath  # noqa: TC002 - Litestar reads handler hints at runtime

__all__ = [
    "MEDIA_URL_TTL_SECONDS",
    "MESSAGE_TYPES",
    "WINDOW_SECONDS",
    "Delivery",
    "FakeGraph",
    "ReadMark",
    "SentMessage",
    "create_fake_graph",
    "demo_app",
    "http_status_for",
    "main",
    "message_webhook",
    "sign",
    "status_webhook",
]

log = logging.getLogger(__name__)

#: Meta's customer-service window: a free-form send needs an inbound message this recent.
WINDOW_SECONDS: Final = 24 * 60 * 60
#: How long a media download URL works (spec §7: "valid for ~5 minutes").
MEDIA_URL_TTL_SECONDS: Final = 5 * 60
#: Message ``type`` values the fake accepts on send.
MESSAGE_TYPES: Final = frozenset(
    {
        "text",
        "interactive",
        "image",
        "document",
        "audio",
        "video",
        "sticker",
        "location",
        "reaction",
        "template",
        "contacts",
    }
)

_HREF: Final = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"
_MAX_BODY_BYTES: Final = 120 * 1024 * 1024
_VERSION_PATTERN: Final = re.compile(r"^v\d+\.\d+$")
_PHONE_PATTERN: Final = re.compile(r"^\+?[\d\s().-]+$")
_TRACE_ALPHABET: Final = string.ascii_letters + string.digits

#: Titles from Meta's error-code reference; ``message`` is ``(#<code>) <title>``.
_TITLES: Final[Mapping[int, str]] = {
    0: "AuthException",
    1: "An unknown error occurred",
    2: "Service temporarily unavailable",
    3: "Application does not have the capability to make this API call.",
    4: "Application request limit reached",
    10: "Application does not have permission for this action",
    100: "Invalid parameter",
    190: "Invalid OAuth access token - Cannot parse access token",
    200: "Permissions error",
    368: "Temporarily blocked for policies violations",
    80007: "Rate limit issues",
    130429: "Rate limit hit",
    130472: "User's number is part of an experiment",
    131000: "Something went wrong",
    131005: "Access denied",
    131008: "Required parameter is missing",
    131009: "Parameter value is not valid",
    131016: "Service unavailable",
    131021: "Recipient cannot be sender",
    131026: "Message undeliverable",
    131030: "Recipient phone number not in allowed list",
    131031: "Business Account locked",
    131042: "Business eligibility payment issue",
    131045: "Incorrect certificate",
    131047: "Re-engagement message",
    131048: "Spam rate limit hit",
    131049: "Meta chose not to deliver",
    131050: "User has stopped receipt of marketing messages",
    131051: "Unsupported message type",
    131052: "Media download error",
    131053: "Media upload error",
    131056: "(Business Account, Consumer Account) pair rate limit hit",
    131057: "Account in maintenance mode",
    132000: "Number of parameters does not match the expected number of params",
    132001: "Template name does not exist in the translation",
    132005: "Translated text too long",
    132007: "Template Format Character Policy Violated",
    132012: "Parameter format does not match format in the created template",
    132015: "Template is Paused",
    132016: "Template is Disabled",
    133010: "Phone number Not Registered",
}

#: ``error_data.details`` for codes the fake raises or delivers as ``failed`` statuses.
_DETAILS: Final[Mapping[int, str]] = {
    4: "Too many calls from this app. Retry later.",
    80007: "The WhatsApp Business Account has reached its rate limit.",
    130429: "Cloud API message throughput has been reached.",
    131000: "Message failed to send due to an unknown error.",
    131016: "A service is temporarily unavailable.",
    131026: "Message Undeliverable.",
    131047: "More than 24 hours have passed since the customer last replied.",
    131048: "Message failed to send because there are restrictions on how many messages "
    "can be sent from this phone number.",
    131049: "This message was not delivered to maintain healthy ecosystem engagement.",
    131056: "Message failed to send because there were too many messages sent from this "
    "phone number to the same phone number in a short period of time.",
}

#: Codes that Meta reports by a ``failed`` status webhook after accepting the send.
_ASYNC_CODES: Final = frozenset({130472, 131026, 131047, 131049, 131050})
#: Graph-level codes: their bodies carry no WhatsApp ``error_data``.
_GRAPH_LEVEL: Final = frozenset({0, 1, 2, 3, 4, 10, 190, 2500, *range(200, 300)})

#: (mime types, maximum bytes) per kind of media, from Meta's supported-media table.
_MEDIA_KINDS: Final[Mapping[str, tuple[frozenset[str], int]]] = {
    "audio": (
        frozenset({"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}),
        16 * 1024 * 1024,
    ),
    "document": (
        frozenset(
            {
                "text/plain",
                "application/pdf",
                "application/msword",
                "application/vnd.ms-excel",
                "application/vnd.ms-powerpoint",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            }
        ),
        100 * 1024 * 1024,
    ),
    "image": (frozenset({"image/jpeg", "image/png"}), 5 * 1024 * 1024),
    "sticker": (frozenset({"image/webp"}), 500 * 1024),
    "video": (frozenset({"video/mp4", "video/3gpp"}), 16 * 1024 * 1024),
}


def http_status_for(code: int) -> int:
    """The HTTP status Meta answers with for a synchronous error ``code``.

    From the "HTTP Status Code" column of Meta's WhatsApp error-code reference: throttling is
    a 400 there, like most errors, so callers must branch on ``error.code``. The 403, 404 and
    503 rows and 3/131057 are recalled rather than re-checked (see the module docstring).
    """
    if code in (0, 190):
        return 401
    if code == 10 or 200 <= code <= 299 or code in (368, 131005, 131031):
        return 403
    if code == 132001:
        return 404
    if code in (3, 131000, 131057):
        return 500
    if code in (2, 131016):
        return 503
    return 400


# ---------------------------------------------------------------------------- records


class SentMessage(msgspec.Struct, frozen=True, kw_only=True):
    """An accepted outbound message, as the fake recorded it."""

    wamid: str
    phone_number_id: str
    #: ``to`` exactly as sent
    to: str
    #: the ``wa_id`` Meta answered with (the digits of a phone number)
    wa_id: str
    type: str
    #: the whole decoded request body
    body: dict[str, Any]
    accepted_at: float


class ReadMark(msgspec.Struct, frozen=True, kw_only=True):
    """A mark-as-read call (``"status": "read"``), with or without a typing indicator."""

    phone_number_id: str
    message_id: str
    typing_indicator: bool
    at: float


class Delivery(msgspec.Struct, frozen=True, kw_only=True):
    """One webhook the fake POSTed (or gave up posting) to the callback URL."""

    kind: str
    attempts: int
    #: the last HTTP status, or None when the last attempt did not get a response
    status_code: int | None
    ok: bool


# ---------------------------------------------------------------------------- errors


class _GraphError(Exception):
    """An error answered with Meta's body; raised by the validators, caught by the handlers."""

    def __init__(
        self,
        code: int,
        details: str,
        *,
        http_status: int | None = None,
        message: str | None = None,
        error_type: str = "OAuthException",
        subcode: int | None = None,
    ) -> None:
        super().__init__(details)
        self.code = code
        self.details = details
        self.http_status = http_status_for(code) if http_status is None else http_status
        self.message = message or f"(#{code}) {_TITLES.get(code, 'Unknown error')}"
        self.error_type = error_type
        self.subcode = subcode

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "message": self.message,
            "type": self.error_type,
            "code": self.code,
        }
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        if self.code not in _GRAPH_LEVEL and self.error_type == "OAuthException":
            error["error_data"] = {"messaging_product": "whatsapp", "details": self.details}
        error["fbtrace_id"] = _fbtrace_id()
        return {"error": error}


def _fbtrace_id() -> str:
    return "".join(secrets.choice(_TRACE_ALPHABET) for _ in range(27))


def _missing(path: str) -> _GraphError:
    return _GraphError(
        100,
        f"The parameter {path} is required.",
        message=f"(#100) The parameter {path} is required.",
    )


def _invalid(path: str, what: str) -> _GraphError:
    return _GraphError(100, f"Param {path} {what}", message=f"(#100) Param {path} {what}")


def _not_valid(details: str) -> _GraphError:
    return _GraphError(131009, details)


def _unauthorized() -> _GraphError:
    return _GraphError(190, _TITLES[190], message=_TITLES[190], http_status=401)


def _no_object(object_id: str, method: str) -> _GraphError:
    message = (
        f"Unsupported {method.lower()} request. Object with ID '{object_id}' does not exist, "
        "cannot be loaded due to missing permissions, or does not support this operation."
    )
    return _GraphError(100, message, message=message, error_type="GraphMethodException", subcode=33)


# ---------------------------------------------------------------------------- validation


def _obj(value: Any, path: str) -> dict[str, Any]:
    if value is None:
        raise _missing(path)
    if not isinstance(value, dict):
        raise _invalid(path, "must be a JSON object.")
    return value


def _list(value: Any, path: str) -> list[Any]:
    if value is None:
        raise _missing(path)
    if not isinstance(value, list):
        raise _invalid(path, "must be an array.")
    return value


def _str(parent: Mapping[str, Any], key: str, path: str) -> str:
    value = parent.get(key)
    if value is None or value == "":
        raise _missing(path)
    if not isinstance(value, str):
        raise _invalid(path, "must be a string.")
    return value


def _opt_str(parent: Mapping[str, Any], key: str, path: str) -> str | None:
    value = parent.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _invalid(path, "must be a string.")
    return value


def _max_len(value: str | None, limit: int, path: str) -> None:
    if value is not None and len(value) > limit:
        raise _not_valid(f"Param {path} must be at most {limit} characters long.")


def _one_of(value: str, allowed: Iterable[str], path: str) -> None:
    allowed = tuple(allowed)
    if value not in allowed:
        choices = ", ".join(a.upper() for a in allowed)
        raise _invalid(path, f'must be one of {{{choices}}} - got "{value}".')


def _number(parent: Mapping[str, Any], key: str, path: str, bound: float) -> None:
    value = parent.get(key)
    if value is None:
        raise _missing(path)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _invalid(path, "must be a number.")
    if not -bound <= value <= bound:
        raise _not_valid(f"Param {path} must be between -{bound:g} and {bound:g}.")


def _check_text(obj: dict[str, Any]) -> None:
    _max_len(_str(obj, "body", "text['body']"), 4096, "text['body']")
    preview = obj.get("preview_url")
    if preview is not None and not isinstance(preview, bool):
        raise _invalid("text['preview_url']", "must be a boolean.")


def _check_media_ref(obj: dict[str, Any], path: str) -> None:
    link = _opt_str(obj, "link", f"{path}['link']")
    media_id = _opt_str(obj, "id", f"{path}['id']")
    if not link and not media_id:
        raise _missing(f"{path}['link'] or {path}['id']")
    if link and not link.startswith(("http://", "https://")):
        raise _not_valid(f"Param {path}['link'] is not a valid URI.")


def _media_checker(kind: str) -> Callable[[dict[str, Any]], None]:
    def check(obj: dict[str, Any]) -> None:
        _check_media_ref(obj, kind)
        if kind in ("image", "document", "video"):
            _max_len(_opt_str(obj, "caption", f"{kind}['caption']"), 1024, f"{kind}['caption']")
        if kind == "document":
            _opt_str(obj, "filename", "document['filename']")

    return check


def _check_header(header: dict[str, Any], kind: str) -> None:
    path = "interactive['header']"
    header_type = _str(header, "type", f"{path}['type']")
    if kind == "list":
        if header_type != "text":
            raise _not_valid("Header type must be text for interactive list messages.")
    else:
        _one_of(header_type, ("text", "image", "video", "document"), f"{path}['type']")
    if header_type == "text":
        _max_len(_str(header, "text", f"{path}['text']"), 60, f"{path}['text']")
    else:
        _check_media_ref(_obj(header.get(header_type), f"{path}['{header_type}']"), path)


def _check_buttons(action: dict[str, Any]) -> None:
    path = "interactive['action']['buttons']"
    buttons = _list(action.get("buttons"), path)
    if not 1 <= len(buttons) <= 3:
        raise _not_valid(f"Param {path} must contain between 1 and 3 elements.")
    titles: set[str] = set()
    ids: set[str] = set()
    for i, item in enumerate(buttons):
        here = f"{path}[{i}]"
        button = _obj(item, here)
        _one_of(_str(button, "type", f"{here}['type']"), ("reply",), f"{here}['type']")
        reply = _obj(button.get("reply"), f"{here}['reply']")
        button_id = _str(reply, "id", f"{here}['reply']['id']")
        _max_len(button_id, 256, f"{here}['reply']['id']")
        title = _str(reply, "title", f"{here}['reply']['title']")
        _max_len(title, 20, f"{here}['reply']['title']")
        if title in titles:
            raise _not_valid(f"Button title must be unique within the message: {title!r}.")
        if button_id in ids:
            raise _not_valid(f"Button id must be unique within the message: {button_id!r}.")
        titles.add(title)
        ids.add(button_id)


def _check_list(action: dict[str, Any]) -> None:
    path = "interactive['action']"
    _max_len(_str(action, "button", f"{path}['button']"), 20, f"{path}['button']")
    sections = _list(action.get("sections"), f"{path}['sections']")
    if not 1 <= len(sections) <= 10:
        raise _not_valid(f"Param {path}['sections'] must contain between 1 and 10 elements.")
    rows_total = 0
    row_ids: set[str] = set()
    for i, item in enumerate(sections):
        here = f"{path}['sections'][{i}]"
        section = _obj(item, here)
        if len(sections) > 1:
            title: str | None = _str(section, "title", f"{here}['title']")
        else:
            title = _opt_str(section, "title", f"{here}['title']")
        _max_len(title, 24, f"{here}['title']")
        rows = _list(section.get("rows"), f"{here}['rows']")
        if not rows:
            raise _not_valid(f"Param {here}['rows'] must contain at least 1 element.")
        for j, entry in enumerate(rows):
            at = f"{here}['rows'][{j}]"
            row = _obj(entry, at)
            row_id = _str(row, "id", f"{at}['id']")
            _max_len(row_id, 200, f"{at}['id']")
            _max_len(_str(row, "title", f"{at}['title']"), 24, f"{at}['title']")
            _max_len(
                _opt_str(row, "description", f"{at}['description']"), 72, f"{at}['description']"
            )
            if row_id in row_ids:
                raise _not_valid(f"Row id must be unique within the message: {row_id!r}.")
            row_ids.add(row_id)
        rows_total += len(rows)
    if rows_total > 10:
        raise _not_valid(f"Total row count exceeded. Max rows: 10, got {rows_total}.")


def _check_interactive(obj: dict[str, Any]) -> None:
    kind = _str(obj, "type", "interactive['type']")
    _one_of(kind, ("button", "list"), "interactive['type']")
    body = _obj(obj.get("body"), "interactive['body']")
    text = _str(body, "text", "interactive['body']['text']")
    _max_len(text, 1024 if kind == "button" else 4096, "interactive['body']['text']")
    if obj.get("footer") is not None:
        footer = _obj(obj["footer"], "interactive['footer']")
        _max_len(
            _str(footer, "text", "interactive['footer']['text']"),
            60,
            "interactive['footer']['text']",
        )
    if obj.get("header") is not None:
        _check_header(_obj(obj["header"], "interactive['header']"), kind)
    action = _obj(obj.get("action"), "interactive['action']")
    if kind == "button":
        _check_buttons(action)
    else:
        _check_list(action)


def _check_location(obj: dict[str, Any]) -> None:
    _number(obj, "latitude", "location['latitude']", 90)
    _number(obj, "longitude", "location['longitude']", 180)
    _opt_str(obj, "name", "location['name']")
    _opt_str(obj, "address", "location['address']")


def _check_reaction(obj: dict[str, Any]) -> None:
    _str(obj, "message_id", "reaction['message_id']")
    if "emoji" not in obj:
        raise _missing("reaction['emoji']")
    _opt_str(obj, "emoji", "reaction['emoji']")  # "" removes the reaction


def _check_template(obj: dict[str, Any]) -> None:
    _max_len(_str(obj, "name", "template['name']"), 512, "template['name']")
    language = _obj(obj.get("language"), "template['language']")
    _str(language, "code", "template['language']['code']")
    if obj.get("components") is not None:
        for i, item in enumerate(_list(obj["components"], "template['components']")):
            component = _obj(item, f"template['components'][{i}]")
            _str(component, "type", f"template['components'][{i}]['type']")


def _check_contacts(value: Any) -> None:
    contacts = _list(value, "contacts")
    if not contacts:
        raise _not_valid("Param contacts must contain at least 1 element.")
    for i, item in enumerate(contacts):
        contact = _obj(item, f"contacts[{i}]")
        name = _obj(contact.get("name"), f"contacts[{i}]['name']")
        _str(name, "formatted_name", f"contacts[{i}]['name']['formatted_name']")


_CHECKERS: Final[Mapping[str, Callable[[dict[str, Any]], None]]] = {
    "text": _check_text,
    "interactive": _check_interactive,
    "image": _media_checker("image"),
    "document": _media_checker("document"),
    "audio": _media_checker("audio"),
    "video": _media_checker("video"),
    "sticker": _media_checker("sticker"),
    "location": _check_location,
    "reaction": _check_reaction,
    "template": _check_template,
}


def _check_product(body: Mapping[str, Any]) -> None:
    product = _str(body, "messaging_product", "messaging_product")
    _one_of(product, ("whatsapp",), "messaging_product")


def _check_read(body: dict[str, Any]) -> tuple[str, bool]:
    """A mark-as-read body → (message_id, typing indicator requested)."""
    _one_of(_str(body, "status", "status"), ("read",), "status")
    message_id = _str(body, "message_id", "message_id")
    indicator = body.get("typing_indicator")
    if indicator is not None:
        _one_of(
            _str(_obj(indicator, "typing_indicator"), "type", "typing_indicator['type']"),
            ("text",),
            "typing_indicator['type']",
        )
    return message_id, indicator is not None


def _check_send(body: dict[str, Any]) -> tuple[str, str]:
    """A send body → (to, type); raises ``_GraphError`` as Meta would."""
    to = _str(body, "to", "to")
    recipient_type = _opt_str(body, "recipient_type", "recipient_type")
    if recipient_type is not None:
        _one_of(recipient_type, ("individual",), "recipient_type")
    kind = body.get("type", "text")
    if not isinstance(kind, str):
        raise _invalid("type", "must be a string.")
    _one_of(kind, sorted(MESSAGE_TYPES), "type")
    if kind == "contacts":
        _check_contacts(body.get("contacts"))
    else:
        _CHECKERS[kind](_obj(body.get(kind), kind))
    if body.get("context") is not None:
        _str(_obj(body["context"], "context"), "message_id", "context['message_id']")
    opaque = _opt_str(body, "biz_opaque_callback_data", "biz_opaque_callback_data")
    _max_len(opaque, 512, "biz_opaque_callback_data")
    return to, kind


def _wa_id(to: str) -> str:
    """What Meta answers as ``wa_id``: the digits of a phone number, anything else as given."""
    if _PHONE_PATTERN.match(to) and any(c.isdigit() for c in to):
        return "".join(c for c in to if c.isdigit())
    return to


# ---------------------------------------------------------------------------- webhooks


def _dumps(value: Any) -> bytes:
    """Meta's webhook encoding: compact, ASCII with lowercase ``\\uXXXX``, ``/`` as ``\\/``."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text.replace("/", "\\/").encode("ascii")


def _envelope(value: dict[str, Any], waba_id: str) -> bytes:
    return _dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": waba_id, "changes": [{"value": value, "field": "messages"}]}],
        }
    )


def status_webhook(
    statuses: Sequence[Mapping[str, Any]],
    *,
    phone_number_id: str,
    waba_id: str = "WABA1",
    display_phone_number: str = "15550000000",
) -> bytes:
    """The raw body Meta POSTs to our webhook for ``statuses`` (spec §3, §3.2)."""
    value = _value(phone_number_id, display_phone_number)
    value["statuses"] = [dict(s) for s in statuses]
    return _envelope(value, waba_id)


def message_webhook(
    messages: Sequence[Mapping[str, Any]],
    *,
    phone_number_id: str,
    contacts: Sequence[Mapping[str, Any]],
    display_phone_number: str = "15550000000",
    waba_id: str = "WABA1",
) -> bytes:
    """The raw body of an inbound-message webhook (spec §3.1, §4), escaped as Meta does."""
    value = _value(phone_number_id, display_phone_number)
    value["contacts"] = [dict(c) for c in contacts]
    value["messages"] = [dict(m) for m in messages]
    return _envelope(value, waba_id)


def _value(phone_number_id: str, display_phone_number: str) -> dict[str, Any]:
    """The ``value`` of a change, before its statuses or messages."""
    return {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": display_phone_number,
            "phone_number_id": phone_number_id,
        },
    }


def sign(raw: bytes, secret: bytes) -> str:
    """The ``X-Hub-Signature-256`` value for ``raw``: ``sha256=<hex HMAC-SHA256>``."""
    return "sha256=" + hmac.new(secret, raw, hashlib.sha256).hexdigest()


def _require_loopback(url: str) -> str:
    """Refuse callback URLs that leave this machine: the demo must not post anywhere else."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ValueError(f"callback URL is not valid: {url!r}") from exc
    if parsed.scheme not in ("http", "https"):
        raise ValueError(f"callback URL must be http(s): {url!r}")
    host = parsed.host
    if host != "localhost":
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ValueError(f"callback host must be a loopback address, not {host!r}")
    return url


@attrs.define(eq=False)
class _Callback:
    url: str
    secret: bytes
    client: httpx.AsyncClient | None
    retry_delays: tuple[float, ...]
    delay: float


@attrs.define(eq=False)
class _Injection:
    code: int
    remaining: int
    recipient: str | None
    http_status: int | None
    asynchronous: bool


# ---------------------------------------------------------------------------- the fake


@attrs.define(eq=False)
class FakeGraph:
    """State and behaviour of the fake; ``app`` is the ASGI app that serves it.

    Build it with ``create_fake_graph``. Attributes are public so tests can arrange and
    inspect: set ``now`` to move the clock, add to ``undeliverable``, call ``note_inbound``.
    """

    version: str = "v23.0"
    token: str = "test-token"  # noqa: S105 - the fake's well-known token
    #: the app secret that signs webhooks posted to the callback
    app_secret: bytes | None = None
    #: the fake's clock (Unix seconds); the 24 h window and URL expiry use it
    now: Callable[[], float] = time.time
    #: apply the 24 h window rule (free-form sends need a recent inbound message)
    enforce_window: bool = True
    #: phone number ids that exist; None accepts any
    known_numbers: set[str] | None = None
    display_phone_number: str = "15550000000"
    waba_id: str = "WABA1"
    #: accepted outbound messages, in order
    sent: list[SentMessage] = attrs.Factory(list)
    read_marks: list[ReadMark] = attrs.Factory(list)
    #: media id → (bytes, mime type): uploads and ``add_media``
    media: dict[str, tuple[bytes, str]] = attrs.Factory(dict)
    #: wa_id → time of the guest's last inbound message (``note_inbound``)
    last_inbound: dict[str, float] = attrs.Factory(dict)
    #: wa_ids whose sends are accepted and then fail with 131026
    undeliverable: set[str] = attrs.Factory(set)
    #: requests per endpoint, e.g. ``calls["POST /messages"]``
    calls: collections.Counter[str] = attrs.Factory(collections.Counter)
    #: webhooks posted to the callback (demo mode)
    deliveries: list[Delivery] = attrs.Factory(list)
    _pending: list[dict[str, Any]] = attrs.field(factory=list, init=False)
    _injections: list[_Injection] = attrs.field(factory=list, init=False)
    _downloads: dict[str, tuple[str, float]] = attrs.field(factory=dict, init=False)
    _ids: Iterator[int] = attrs.field(factory=lambda: itertools.count(1), init=False)
    _callback: _Callback | None = attrs.field(default=None, init=False)
    _tasks: set[asyncio.Task[None]] = attrs.field(factory=set, init=False)

    @functools.cached_property
    def app(self) -> Litestar:
        """The Litestar app serving this fake (built on first use)."""
        return _build_app(self)

    # -- arranging ---------------------------------------------------------------------

    def add_media(self, data: bytes, mime_type: str) -> str:
        """Store media as if a guest had sent it; returns its media id."""
        media_id = str(1_000_000_000_000_000 + next(self._ids))
        self.media[media_id] = (data, mime_type)
        return media_id

    def note_inbound(self, recipient: str, when: float | None = None) -> None:
        """A guest wrote at ``when`` (default: now), opening their 24 h window."""
        self.last_inbound[_wa_id(recipient)] = self.now() if when is None else when

    def fail_next(
        self,
        code: int,
        *,
        times: int = 1,
        recipient: str | None = None,
        http_status: int | None = None,
        asynchronous: bool | None = None,
    ) -> None:
        """Make the next ``times`` sends (to ``recipient``, if given) fail with ``code``.

        Synchronous codes answer the send with Meta's error body and the HTTP status of
        ``http_status_for`` (or ``http_status``). Asynchronous ones (131026, 131047, 131049,
        131050, 130472 by default; choose with ``asynchronous``) accept the send with a wamid
        and queue a ``failed`` status instead, as Meta does. Mark-as-read calls are not
        affected.
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        self._injections.append(
            _Injection(
                code=code,
                remaining=times,
                recipient=recipient,
                http_status=http_status,
                asynchronous=code in _ASYNC_CODES if asynchronous is None else asynchronous,
            )
        )

    def enable_callback(
        self,
        url: str,
        *,
        client: httpx.AsyncClient | None = None,
        retry_delays: Sequence[float] = (0.5, 2.0),
        delay: float = 0.05,
    ) -> None:
        """POST each status webhook, signed with ``app_secret``, to ``url`` after a send.

        Only loopback hosts are accepted (``ValueError`` otherwise). Each webhook is tried
        ``len(retry_delays) + 1`` times, sleeping those delays between attempts, and recorded
        in ``deliveries``. Statuses delivered this way do not go to ``pending_statuses``.
        ``client`` defaults to one the app opens in its lifespan.
        """
        if not self.app_secret:
            raise ValueError("a callback needs app_secret to sign its webhooks")
        self._callback = _Callback(
            url=_require_loopback(url),
            secret=self.app_secret,
            client=client,
            retry_delays=tuple(retry_delays),
            delay=delay,
        )

    # -- inspecting --------------------------------------------------------------------

    def pending_statuses(self) -> list[dict[str, Any]]:
        """The status objects Meta would have POSTed since the last call, in order; clears."""
        statuses, self._pending = self._pending, []
        return statuses

    def inbound_message(
        self,
        sender: str,
        message: Mapping[str, Any],
        *,
        phone_number_id: str,
        name: str = "Guest",
    ) -> tuple[str, bytes]:
        """A guest's message as Meta's webhook (wamid, raw body); opens their window.

        ``message`` holds ``type`` and its object (``{"type": "text", "text": {...}}``);
        ``from``, ``id`` and ``timestamp`` are filled in.
        """
        now = self.now()
        wa_id = _wa_id(sender)
        wamid = self._new_wamid(wa_id)
        full = {"from": wa_id, "id": wamid, "timestamp": str(int(now)), **message}
        self.last_inbound[wa_id] = now
        raw = message_webhook(
            [full],
            phone_number_id=phone_number_id,
            contacts=[{"profile": {"name": name}, "wa_id": wa_id}],
            display_phone_number=self.display_phone_number,
            waba_id=self.waba_id,
        )
        return wamid, raw

    async def drain_callbacks(self) -> None:
        """Wait until every webhook scheduled for the callback was delivered or given up."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- internals ---------------------------------------------------------------------

    def _new_wamid(self, wa_id: str) -> str:
        # Meta's wamids are base64 of a small binary record that starts with the wa_id
        # ("HBgL" + base64 of "34600111222" ...); the tail here is a counter and randomness.
        who = wa_id.encode("utf-8", "replace")[:64]
        tail = f"{next(self._ids):06X}{secrets.token_hex(6).upper()}".encode("ascii")
        record = (
            b"\x1c\x18" + bytes([len(who)]) + who + b"\x15\x02\x00\x11\x18\x12" + tail + b"\x00"
        )
        return "wamid." + base64.b64encode(record).decode("ascii")

    def _authorized(self, request: Request[Any, Any, Any]) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, credential = header.partition(" ")
        if scheme.lower() != "bearer":
            credential = request.query_params.get("access_token") or ""
        credential = credential.strip()
        return bool(credential) and hmac.compare_digest(
            credential.encode("utf-8", "replace"), self.token.encode("utf-8")
        )

    def _take_injection(self, to: str, wa_id: str) -> _Injection | None:
        for injection in self._injections:
            if injection.recipient is None or injection.recipient in (to, wa_id):
                injection.remaining -= 1
                if injection.remaining == 0:
                    self._injections.remove(injection)
                return injection
        return None

    def _failure_for(self, wa_id: str, kind: str, injected: _Injection | None) -> int | None:
        if injected is not None:
            return injected.code
        if wa_id in self.undeliverable:
            return 131026
        if self.enforce_window and kind != "template":
            last = self.last_inbound.get(wa_id)
            if last is None or self.now() - last >= WINDOW_SECONDS:
                return 131047
        return None

    def _statuses(
        self, wamid: str, wa_id: str, kind: str, failure: int | None, opaque: str | None
    ) -> list[dict[str, Any]]:
        timestamp = str(int(self.now()))
        extra: dict[str, Any] = {}
        if opaque is not None:
            extra["biz_opaque_callback_data"] = opaque
        if failure is not None:
            title = _TITLES.get(failure, "Unknown error")
            error = {
                "code": failure,
                "title": title,
                "message": title,
                "error_data": {"details": _DETAILS.get(failure, title)},
                "href": _HREF,
            }
            return [
                {
                    "id": wamid,
                    "status": "failed",
                    "timestamp": timestamp,
                    "recipient_id": wa_id,
                    "errors": [error],
                    **extra,
                }
            ]
        category = "utility" if kind == "template" else "service"
        billing = {
            "conversation": {
                "id": hashlib.sha256(f"{wa_id}:{category}".encode("utf-8", "replace")).hexdigest()[
                    :32
                ],
                "origin": {"type": category},
            },
            "pricing": {
                "billable": kind == "template",
                "pricing_model": "PMP",
                "category": category,
                "type": "regular" if kind == "template" else "free_customer_service",
            },
        }
        return [
            {"id": wamid, "status": status, "timestamp": timestamp, "recipient_id": wa_id}
            | billing
            | extra
            for status in ("sent", "delivered")
        ]

    def _route_statuses(self, phone_number_id: str, statuses: list[dict[str, Any]]) -> None:
        if self._callback is None:
            self._pending.extend(statuses)
            return
        webhooks = [
            (
                status_webhook(
                    [status],
                    phone_number_id=phone_number_id,
                    waba_id=self.waba_id,
                    display_phone_number=self.display_phone_number,
                ),
                f"status:{status['status']}",
            )
            for status in statuses
        ]
        self._schedule(webhooks)

    def _schedule(self, webhooks: list[tuple[bytes, str]]) -> None:
        """Post ``webhooks`` (raw body, kind) one after another, in the background."""
        task = asyncio.get_running_loop().create_task(self._deliver_all(webhooks))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver_all(self, webhooks: list[tuple[bytes, str]]) -> None:
        callback = self._callback
        if callback is None:
            return
        await asyncio.sleep(callback.delay)
        async with contextlib.AsyncExitStack() as stack:
            client = callback.client
            if client is None:
                client = await stack.enter_async_context(
                    httpx.AsyncClient(timeout=10.0, follow_redirects=False)
                )
            for raw, kind in webhooks:
                self.deliveries.append(await self._deliver(client, callback, raw, kind))

    async def _deliver(
        self, client: httpx.AsyncClient, callback: _Callback, raw: bytes, kind: str
    ) -> Delivery:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "facebookexternalua",
            "X-Hub-Signature": "sha1=" + hmac.new(callback.secret, raw, hashlib.sha1).hexdigest(),
            "X-Hub-Signature-256": sign(raw, callback.secret),
        }
        status_code: int | None = None
        attempts = 0
        for wait in (*callback.retry_delays, None):
            attempts += 1
            try:
                response = await client.post(callback.url, content=raw, headers=headers)
                status_code = response.status_code
                if 200 <= status_code < 300:
                    return Delivery(kind=kind, attempts=attempts, status_code=status_code, ok=True)
            except httpx.HTTPError as exc:
                status_code = None
                log.warning("posting %s to %s failed: %r", kind, callback.url, exc)
            if wait is None:
                break
            await asyncio.sleep(wait)
        log.warning("gave up posting %s to %s after %d attempts", kind, callback.url, attempts)
        return Delivery(kind=kind, attempts=attempts, status_code=status_code, ok=False)

    @contextlib.asynccontextmanager
    async def _lifespan(self, _app: Litestar) -> AsyncIterator[None]:
        owned: httpx.AsyncClient | None = None
        if self._callback is not None and self._callback.client is None:
            owned = httpx.AsyncClient(timeout=10.0, follow_redirects=False)
            self._callback.client = owned
        try:
            yield
        finally:
            await self.drain_callbacks()
            if owned is not None:
                await owned.aclose()
                if self._callback is not None:
                    self._callback.client = None

    # -- endpoints ---------------------------------------------------------------------

    def _check_number(self, phone_number_id: str, method: str) -> None:
        if self.known_numbers is not None and phone_number_id not in self.known_numbers:
            raise _no_object(phone_number_id, method)

    async def _messages(
        self, request: Request[Any, Any, Any], phone_number_id: str
    ) -> Response[bytes]:
        self.calls["POST /messages"] += 1
        if not self._authorized(request):
            raise _unauthorized()
        self._check_number(phone_number_id, "post")
        raw = await request.body()
        try:
            decoded = json.loads(raw) if raw.strip() else {}
        except (ValueError, RecursionError):
            decoded = {}
        body: dict[str, Any] = decoded if isinstance(decoded, dict) else {}
        _check_product(body)
        if "status" in body:
            message_id, typing = _check_read(body)
            self.read_marks.append(
                ReadMark(
                    phone_number_id=phone_number_id,
                    message_id=message_id,
                    typing_indicator=typing,
                    at=self.now(),
                )
            )
            return _json({"success": True})
        to, kind = _check_send(body)
        wa_id = _wa_id(to)
        injected = self._take_injection(to, wa_id)
        if injected is not None and not injected.asynchronous:
            raise _GraphError(
                injected.code,
                _DETAILS.get(injected.code, _TITLES.get(injected.code, "Unknown error")),
                http_status=injected.http_status,
            )
        wamid = self._new_wamid(wa_id)
        self.sent.append(
            SentMessage(
                wamid=wamid,
                phone_number_id=phone_number_id,
                to=to,
                wa_id=wa_id,
                type=kind,
                body=body,
                accepted_at=self.now(),
            )
        )
        failure = self._failure_for(wa_id, kind, injected)
        opaque = body.get("biz_opaque_callback_data")
        self._route_statuses(phone_number_id, self._statuses(wamid, wa_id, kind, failure, opaque))
        log.info(
            "accepted %s %s to %s%s", kind, wamid, wa_id, f" (fails: {failure})" if failure else ""
        )
        message: dict[str, Any] = {"id": wamid}
        if kind == "template":
            message["message_status"] = "accepted"
        return _json(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": wa_id}],
                "messages": [message],
            }
        )

    async def _upload(
        self, request: Request[Any, Any, Any], phone_number_id: str
    ) -> Response[bytes]:
        self.calls["POST /media"] += 1
        if not self._authorized(request):
            raise _unauthorized()
        self._check_number(phone_number_id, "post")
        form = await request.form()
        product = form.get("messaging_product")
        _check_product({"messaging_product": product if isinstance(product, str) else None})
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise _missing("file")
        mime_type = form.get("type")
        if not isinstance(mime_type, str) or not mime_type:
            raise _missing("type")
        data = await upload.read()
        base = mime_type.split(";", 1)[0].strip().lower()
        kind = next((k for k, (types, _) in _MEDIA_KINDS.items() if base in types), None)
        if kind is None:
            allowed = ", ".join(sorted(t for types, _ in _MEDIA_KINDS.values() for t in types))
            raise _invalid("file", f"must be a file with one of the following types: {allowed}.")
        limit = _MEDIA_KINDS[kind][1]
        if len(data) > limit:
            raise _GraphError(
                131053, f"{kind} files can be at most {limit} bytes; got {len(data)}."
            )
        media_id = self.add_media(data, mime_type)
        return _json({"id": media_id})

    async def _media_info(self, request: Request[Any, Any, Any], media_id: str) -> Response[bytes]:
        self.calls["GET /media"] += 1
        if not self._authorized(request):
            raise _unauthorized()
        stored = self.media.get(media_id)
        if stored is None:
            raise _no_object(media_id, "get")
        data, mime_type = stored
        token = secrets.token_urlsafe(24)
        self._downloads[token] = (media_id, self.now())
        return _json(
            {
                "url": f"{str(request.base_url).rstrip('/')}/media-download/{token}",
                "mime_type": mime_type,
                "sha256": base64.b64encode(hashlib.sha256(data).digest()).decode("ascii"),
                "file_size": len(data),
                "id": media_id,
                "messaging_product": "whatsapp",
            }
        )

    async def _media_delete(
        self, request: Request[Any, Any, Any], media_id: str
    ) -> Response[bytes]:
        self.calls["DELETE /media"] += 1
        if not self._authorized(request):
            raise _unauthorized()
        if self.media.pop(media_id, None) is None:
            raise _no_object(media_id, "delete")
        return _json({"success": True})

    async def _download(self, request: Request[Any, Any, Any], token: str) -> Response[bytes]:
        self.calls["GET /media-download"] += 1
        if not self._authorized(request):
            return Response(b"Unauthorized", status_code=401, media_type="text/plain")
        if not request.headers.get("user-agent", "").strip():
            return Response(
                b"Bad request: missing User-Agent", status_code=400, media_type="text/plain"
            )
        issued = self._downloads.get(token)
        if issued is None or self.now() - issued[1] >= MEDIA_URL_TTL_SECONDS:
            return Response(b"Not Found", status_code=404, media_type="text/plain")
        stored = self.media.get(issued[0])
        if stored is None:
            return Response(b"Not Found", status_code=404, media_type="text/plain")
        data, mime_type = stored
        return Response(data, status_code=200, media_type=mime_type)

    async def _fake_inbound(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        self.calls["POST /_fake/inbound"] += 1
        try:
            decoded = json.loads(await request.body())
        except (ValueError, RecursionError):
            decoded = None
        if not isinstance(decoded, dict):
            raise _invalid("body", "must be a JSON object.")
        sender = _str(decoded, "from", "from")
        text = _str(decoded, "text", "text")
        phone_number_id = _str(decoded, "phone_number_id", "phone_number_id")
        name = _opt_str(decoded, "name", "name") or "Guest"
        wamid, raw = self.inbound_message(
            sender,
            {"type": "text", "text": {"body": text}},
            phone_number_id=phone_number_id,
            name=name,
        )
        if self._callback is not None:
            self._schedule([(raw, "message")])
        return _json({"id": wamid, "webhook": raw.decode("ascii")})


def _json(value: Any, status_code: int = 200) -> Response[bytes]:
    body = json.dumps(value, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    return Response(body, status_code=status_code, media_type="application/json")


def _graph_error_response(_request: Request[Any, Any, Any], exc: _GraphError) -> Response[bytes]:
    response = _json(exc.body(), exc.http_status)
    if exc.code == 190:
        response.headers["WWW-Authenticate"] = (
            f'OAuth "Facebook Platform" "invalid_token" "{exc.message}"'
        )
    return response


def _http_error_response(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    if exc.status_code == 404:
        error = _GraphError(
            2500, "Unknown path components", message=f"Unknown path components: {request.url.path}"
        )
    elif exc.status_code == 405:
        error = _no_object(request.url.path.rsplit("/", 1)[-1], request.method)
    elif exc.status_code >= 500:
        error = _GraphError(1, _TITLES[1], message=_TITLES[1], http_status=500)
    else:
        error = _GraphError(100, str(exc.detail), http_status=exc.status_code)
    return _graph_error_response(request, error)


def _build_app(fake: FakeGraph) -> Litestar:
    v = fake.version

    @post(f"/{v}/{{phone_number_id:str}}/messages", status_code=200)
    async def messages(
        request: Request[Any, Any, Any], phone_number_id: FromPath[str]
    ) -> Response[bytes]:
        return await fake._messages(request, phone_number_id)

    @post(f"/{v}/{{phone_number_id:str}}/media", status_code=200)
    async def upload(
        request: Request[Any, Any, Any], phone_number_id: FromPath[str]
    ) -> Response[bytes]:
        return await fake._upload(request, phone_number_id)

    @get(f"/{v}/{{media_id:str}}")
    async def media_info(
        request: Request[Any, Any, Any], media_id: FromPath[str]
    ) -> Response[bytes]:
        return await fake._media_info(request, media_id)

    @delete(f"/{v}/{{media_id:str}}", status_code=200)
    async def media_delete(
        request: Request[Any, Any, Any], media_id: FromPath[str]
    ) -> Response[bytes]:
        return await fake._media_delete(request, media_id)

    @get("/media-download/{token:str}")
    async def download(request: Request[Any, Any, Any], token: FromPath[str]) -> Response[bytes]:
        return await fake._download(request, token)

    @post("/_fake/inbound", status_code=200)
    async def fake_inbound(request: Request[Any, Any, Any]) -> Response[bytes]:
        return await fake._fake_inbound(request)

    return Litestar(
        route_handlers=[messages, upload, media_info, media_delete, download, fake_inbound],
        exception_handlers={
            _GraphError: _graph_error_response,
            HTTPException: _http_error_response,
        },
        lifespan=[fake._lifespan],
        request_max_body_size=_MAX_BODY_BYTES,
        openapi_config=None,
        logging_config=None,
        debug=False,
    )


def create_fake_graph(
    *,
    version: str = "v23.0",
    token: str = "test-token",  # noqa: S107 - the fake's well-known token
    app_secret: bytes | None = None,
) -> FakeGraph:
    """A fresh fake Graph API: ``version`` as in ``/v23.0/...``, the one valid ``token``."""
    if not _VERSION_PATTERN.match(version):
        raise ValueError(f"version must look like 'v23.0', not {version!r}")
    if not token:
        raise ValueError("token must not be empty")
    return FakeGraph(version=version, token=token, app_secret=app_secret)


# ---------------------------------------------------------------------------- demo

_ENV_VERSION: Final = "FAKE_GRAPH_VERSION"
_ENV_TOKEN: Final = "FAKE_GRAPH_TOKEN"  # noqa: S105 - a variable name
_ENV_SECRET: Final = "FAKE_GRAPH_APP_SECRET"  # noqa: S105 - a variable name
_ENV_CALLBACK: Final = "FAKE_GRAPH_CALLBACK"
_ENV_WINDOW: Final = "FAKE_GRAPH_WINDOW"


def demo_app() -> Litestar:
    """Granian factory for the demo; ``main`` passes its options in ``FAKE_GRAPH_*`` variables.

    Granian imports the factory in its worker process, so options travel in the environment,
    as ``agente serve`` does for its own settings.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s fake-graph %(message)s")
    env = os.environ
    secret = env.get(_ENV_SECRET)
    fake = create_fake_graph(
        version=env.get(_ENV_VERSION, "v23.0"),
        token=env.get(_ENV_TOKEN, "test-token"),
        app_secret=secret.encode("utf-8") if secret else None,
    )
    fake.enforce_window = env.get(_ENV_WINDOW, "1") != "0"
    callback = env.get(_ENV_CALLBACK)
    if callback:
        fake.enable_callback(callback)
    return fake.app


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m agente_channel_whatsapp.fake``: serve the fake on 127.0.0.1 with Granian."""
    parser = argparse.ArgumentParser(
        prog="python -m agente_channel_whatsapp.fake",
        description="A local fake of Meta's WhatsApp Cloud API (Graph API), on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=8799)
    parser.add_argument("--version", default="v23.0", help="Graph API version in the paths")
    parser.add_argument("--token", default="test-token", help="the one valid bearer token")
    parser.add_argument(
        "--callback", help="our webhook URL (loopback only): status webhooks are POSTed there"
    )
    parser.add_argument("--app-secret", help="signs the webhooks posted to --callback")
    parser.add_argument(
        "--no-window",
        action="store_true",
        help="accept free-form sends outside the 24 h window (no 131047 failures)",
    )
    args = parser.parse_args(argv)
    if not _VERSION_PATTERN.match(args.version):
        parser.error(f"--version must look like v23.0, not {args.version!r}")
    if args.callback:
        if not args.app_secret:
            parser.error("--callback needs --app-secret to sign the webhooks")
        try:
            _require_loopback(args.callback)
        except ValueError as exc:
            parser.error(str(exc))
    os.environ[_ENV_VERSION] = args.version
    os.environ[_ENV_TOKEN] = args.token
    os.environ[_ENV_WINDOW] = "0" if args.no_window else "1"
    for key, value in ((_ENV_CALLBACK, args.callback), (_ENV_SECRET, args.app_secret)):
        if value:
            os.environ[key] = value
        else:
            os.environ.pop(key, None)
    base = f"http://127.0.0.1:{args.port}"
    print(
        f"Fake WhatsApp Cloud API at {base} (Graph base {base}/{args.version}, token {args.token!r})"
    )
    if args.callback:
        print(f"Status webhooks go to {args.callback}, signed with the app secret.")
    sys.stdout.flush()

    from granian import Granian
    from granian.constants import Interfaces

    Granian(
        "agente_channel_whatsapp.fake:demo_app",
        factory=True,
        interface=Interfaces.ASGI,
        address="127.0.0.1",
        port=args.port,
        workers=1,
        log_access=False,
        working_dir=Path(__file__).resolve().parents[1],
    ).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
