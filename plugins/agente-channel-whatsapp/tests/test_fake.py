"""The fake WhatsApp Cloud API answers like Meta's (docs/channels/whatsapp.md §§3, 6, 7, 8).

Every request goes through ``httpx.ASGITransport`` into ``fake.app``, as the channel's own tests
will. The fake's clock is a settable callable, so the 24 h window and the 5-minute media URL
are tested without sleeping.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import hmac
import json
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from agente_channel_whatsapp.fake import (
    MEDIA_URL_TTL_SECONDS,
    WINDOW_SECONDS,
    FakeGraph,
    create_fake_graph,
    http_status_for,
    main,
    message_webhook,
    sign,
    status_webhook,
)

TOKEN = "test-token"
SECRET = b"test-secret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PNID = "420000000000002"
GUEST = "34600111222"
MESSAGES = f"/v23.0/{PNID}/messages"
MEDIA = f"/v23.0/{PNID}/media"
START = 1_767_261_600.0  # 2026-01-01 10:00 UTC
HREF = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"
PLUGIN_ROOT = Path(__file__).resolve().parents[1]


class Clock:
    """The fake's ``now``: a number the test moves."""

    def __init__(self, t: float = START) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> FakeGraph:
    graph = create_fake_graph(app_secret=SECRET)
    graph.now = clock
    graph.note_inbound(GUEST)  # the guest just wrote: the window is open
    return graph


@pytest.fixture
async def client(fake: FakeGraph) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=fake.app), base_url="http://graph.test"
    ) as c:
        yield c


# --------------------------------------------------------------------------- bodies


def _body(kind: str, obj: Any, **extra: Any) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": GUEST,
        "type": kind,
        kind: obj,
        **extra,
    }


def _buttons(*titles: str) -> list[dict[str, Any]]:
    return [
        {"type": "reply", "reply": {"id": f"b{i}", "title": title}}
        for i, title in enumerate(titles)
    ]


def _rows(n: int, prefix: str = "r") -> list[dict[str, Any]]:
    return [
        {"id": f"{prefix}{i}", "title": f"Room {i}", "description": "City view"} for i in range(n)
    ]


VALID: dict[str, dict[str, Any]] = {
    "text": _body("text", {"body": "Early check-in at 11:00 is confirmed.", "preview_url": False}),
    "button": _body(
        "interactive",
        {
            "type": "button",
            "header": {"type": "text", "text": "Late check-out"},
            "body": {"text": "Would you like a late check-out?"},
            "footer": {"text": "Hotel Sierra"},
            "action": {"buttons": _buttons("Yes, until 14:00", "No, thanks")},
        },
    ),
    "list": _body(
        "interactive",
        {
            "type": "list",
            "header": {"type": "text", "text": "Available rooms"},
            "body": {"text": "Pick a room for 12-14 May."},
            "action": {
                "button": "See rooms",
                "sections": [
                    {"title": "Doubles", "rows": _rows(2, "d")},
                    {"title": "Singles", "rows": _rows(1, "s")},
                ],
            },
        },
    ),
    "image": _body("image", {"link": "https://hotel.example/spa.jpg", "caption": "Our spa"}),
    "image_by_id": _body("image", {"id": "1198765432101234"}),
    "document": _body(
        "document",
        {"link": "https://hotel.example/a.pdf", "filename": "a.pdf", "caption": "Invoice"},
    ),
    "audio": _body("audio", {"id": "1198765432101235"}),
    "video": _body("video", {"link": "https://hotel.example/tour.mp4", "caption": "Tour"}),
    "sticker": _body("sticker", {"id": "1198765432101236"}),
    "location": _body(
        "location",
        {"latitude": 40.41536, "longitude": -3.70739, "name": "Hotel", "address": "Plaza Mayor"},
    ),
    "reaction": _body("reaction", {"message_id": "wamid.HBgLMzQ2", "emoji": "\U0001f44d"}),
    "template": _body(
        "template",
        {
            "name": "booking_reminder",
            "language": {"code": "es"},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "Marta"},
                        {"type": "text", "text": "12 May"},
                    ],
                }
            ],
        },
    ),
    "contacts": _body(
        "contacts",
        [
            {
                "name": {"formatted_name": "Front desk", "first_name": "Front"},
                "phones": [{"phone": "+34910000000"}],
            }
        ],
    ),
}


def _set(body: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    """A copy of ``body`` with ``value`` at ``path`` (``...`` deletes the key)."""
    out = copy.deepcopy(body)
    node: Any = out
    for step in path[:-1]:
        node = node[step]
    if value is ...:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return out


def _graph_error(
    response: httpx.Response, *, status: int, code: int, details: str | None = None
) -> dict[str, Any]:
    """Check Meta's error shape and return ``error``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    payload = response.json()
    assert set(payload) == {"error"}
    error = payload["error"]
    assert error["code"] == code
    assert error["type"] == "OAuthException"
    assert error["message"].startswith(f"(#{code}) ")
    assert set(error) == {"message", "type", "code", "error_data", "fbtrace_id"}
    assert error["error_data"]["messaging_product"] == "whatsapp"
    assert isinstance(error["error_data"]["details"], str)
    if details is not None:
        assert details in error["error_data"]["details"], error["error_data"]["details"]
    assert re.fullmatch(r"[A-Za-z0-9]{27}", error["fbtrace_id"])
    return error


def _decode_wamid(wamid: str) -> bytes:
    assert wamid.startswith("wamid.")
    return base64.b64decode(wamid.removeprefix("wamid."), validate=True)


# --------------------------------------------------------------------------- sending


@pytest.mark.parametrize("name", sorted(VALID))
async def test_each_message_type_is_accepted_with_a_wamid(
    name: str, fake: FakeGraph, client: httpx.AsyncClient
) -> None:
    body = VALID[name]
    r = await client.post(MESSAGES, json=body, headers=AUTH)

    assert r.status_code == 200, r.text
    payload = r.json()
    wamid = payload["messages"][0]["id"]
    assert payload["messaging_product"] == "whatsapp"
    assert payload["contacts"] == [{"input": GUEST, "wa_id": GUEST}]
    assert GUEST.encode() in _decode_wamid(wamid)
    if body["type"] == "template":
        assert payload["messages"] == [{"id": wamid, "message_status": "accepted"}]
    else:
        assert payload["messages"] == [{"id": wamid}]
    [sent] = fake.sent
    assert (sent.wamid, sent.phone_number_id, sent.type, sent.to) == (
        wamid,
        PNID,
        body["type"],
        GUEST,
    )
    assert sent.body == body
    assert [s["status"] for s in fake.pending_statuses()] == ["sent", "delivered"]


async def test_wamids_are_unique(client: httpx.AsyncClient) -> None:
    ids = set()
    for _ in range(20):
        r = await client.post(MESSAGES, json=VALID["text"], headers=AUTH)
        ids.add(r.json()["messages"][0]["id"])
    assert len(ids) == 20


async def test_type_defaults_to_text_and_wa_id_is_the_digits(
    fake: FakeGraph, client: httpx.AsyncClient
) -> None:
    body = {"messaging_product": "whatsapp", "to": "+34 600-111-222", "text": {"body": "hola"}}
    r = await client.post(MESSAGES, json=body, headers=AUTH)

    assert r.status_code == 200, r.text
    assert r.json()["contacts"] == [{"input": "+34 600-111-222", "wa_id": GUEST}]
    assert fake.sent[0].type == "text"
    assert fake.sent[0].wa_id == GUEST


async def test_limits_at_their_maximum_are_accepted(client: httpx.AsyncClient) -> None:
    bodies = [
        _set(VALID["text"], ("text", "body"), "x" * 4096),
        _set(VALID["image"], ("image", "caption"), "c" * 1024),
        _set(
            VALID["button"],
            ("interactive", "action", "buttons"),
            [
                {"type": "reply", "reply": {"id": "i" * 256, "title": "A" * 20}},
                {"type": "reply", "reply": {"id": "j", "title": "B" * 20}},
                {"type": "reply", "reply": {"id": "k", "title": "C" * 20}},
            ],
        ),
        _set(VALID["button"], ("interactive", "body", "text"), "b" * 1024),
        _set(
            VALID["list"],
            ("interactive", "action"),
            {
                "button": "L" * 20,
                "sections": [
                    {
                        "title": "S" * 24,
                        "rows": [
                            {"id": f"{i}" + "r" * 199, "title": "T" * 24, "description": "D" * 72}
                            for i in range(5)
                        ],
                    },
                    {"title": "Other", "rows": _rows(5)},
                ],
            },
        ),
        _set(VALID["list"], ("interactive", "action", "sections"), [{"rows": _rows(10)}]),
    ]
    for body in bodies:
        r = await client.post(MESSAGES, json=body, headers=AUTH)
        assert r.status_code == 200, r.text


_ACTION = ("interactive", "action")
_SECTIONS = (*_ACTION, "sections")

VIOLATIONS: list[tuple[str, str, tuple[str | int, ...], Any, int, str]] = [
    # (id, valid body, path, value, code, details fragment)
    (
        "text-4097",
        "text",
        ("text", "body"),
        "x" * 4097,
        131009,
        "text['body'] must be at most 4096",
    ),
    ("image-caption", "image", ("image", "caption"), "c" * 1025, 131009, "image['caption']"),
    ("document-caption", "document", ("document", "caption"), "c" * 1025, 131009, "at most 1024"),
    ("video-caption", "video", ("video", "caption"), "c" * 1025, 131009, "video['caption']"),
    ("no-buttons", "button", (*_ACTION, "buttons"), [], 131009, "between 1 and 3"),
    (
        "four-buttons",
        "button",
        (*_ACTION, "buttons"),
        _buttons("a", "b", "c", "d"),
        131009,
        "between 1 and 3",
    ),
    (
        "button-title-21",
        "button",
        (*_ACTION, "buttons", 0, "reply", "title"),
        "t" * 21,
        131009,
        "at most 20",
    ),
    (
        "button-titles-equal",
        "button",
        (*_ACTION, "buttons"),
        _buttons("Same", "Same"),
        131009,
        "unique",
    ),
    (
        "button-id-257",
        "button",
        (*_ACTION, "buttons", 0, "reply", "id"),
        "i" * 257,
        131009,
        "at most 256",
    ),
    (
        "button-body-1025",
        "button",
        ("interactive", "body", "text"),
        "b" * 1025,
        131009,
        "at most 1024",
    ),
    (
        "button-header-61",
        "button",
        ("interactive", "header", "text"),
        "h" * 61,
        131009,
        "at most 60",
    ),
    (
        "button-footer-61",
        "button",
        ("interactive", "footer", "text"),
        "f" * 61,
        131009,
        "at most 60",
    ),
    (
        "button-type",
        "button",
        (*_ACTION, "buttons", 0, "type"),
        "url",
        100,
        "must be one of {REPLY}",
    ),
    (
        "list-11-sections",
        "list",
        _SECTIONS,
        [{"title": f"S{i}", "rows": _rows(1, f"s{i}")} for i in range(11)],
        131009,
        "between 1 and 10",
    ),
    (
        "list-11-rows",
        "list",
        _SECTIONS,
        [{"title": "A", "rows": _rows(6, "a")}, {"title": "B", "rows": _rows(5, "b")}],
        131009,
        "Max rows: 10",
    ),
    (
        "list-label-21",
        "list",
        (*_ACTION, "button"),
        "L" * 21,
        131009,
        "['button'] must be at most 20",
    ),
    ("list-section-title-25", "list", (*_SECTIONS, 0, "title"), "S" * 25, 131009, "at most 24"),
    (
        "list-section-untitled",
        "list",
        (*_SECTIONS, 1, "title"),
        ...,
        100,
        "['sections'][1]['title'] is required",
    ),
    ("list-row-id-201", "list", (*_SECTIONS, 0, "rows", 0, "id"), "r" * 201, 131009, "at most 200"),
    (
        "list-row-title-25",
        "list",
        (*_SECTIONS, 0, "rows", 0, "title"),
        "T" * 25,
        131009,
        "at most 24",
    ),
    (
        "list-row-description-73",
        "list",
        (*_SECTIONS, 0, "rows", 0, "description"),
        "D" * 73,
        131009,
        "at most 72",
    ),
    ("list-row-ids-equal", "list", (*_SECTIONS, 1, "rows", 0, "id"), "d0", 131009, "unique"),
    ("list-empty-rows", "list", (*_SECTIONS, 0, "rows"), [], 131009, "at least 1"),
    (
        "list-image-header",
        "list",
        ("interactive", "header"),
        {"type": "image", "image": {"id": "1"}},
        131009,
        "Header type must be text",
    ),
    (
        "image-no-link-or-id",
        "image",
        ("image",),
        {"caption": "spa"},
        100,
        "image['link'] or image['id'] is required",
    ),
    (
        "document-no-link-or-id",
        "document",
        ("document",),
        {"filename": "a.pdf"},
        100,
        "is required",
    ),
    ("image-bad-link", "image", ("image", "link"), "ftp://x/y.jpg", 131009, "not a valid URI"),
    (
        "template-no-name",
        "template",
        ("template", "name"),
        ...,
        100,
        "template['name'] is required",
    ),
    (
        "template-no-language-code",
        "template",
        ("template", "language"),
        {},
        100,
        "template['language']['code'] is required",
    ),
    (
        "template-no-language",
        "template",
        ("template", "language"),
        ...,
        100,
        "template['language'] is required",
    ),
    ("no-to", "text", ("to",), ..., 100, "The parameter to is required"),
    ("no-product", "text", ("messaging_product",), ..., 100, "messaging_product is required"),
    (
        "other-product",
        "text",
        ("messaging_product",),
        "messenger",
        100,
        "must be one of {WHATSAPP}",
    ),
    ("unknown-type", "text", ("type",), "carousel", 100, "Param type must be one of"),
    ("text-no-body", "text", ("text",), {"preview_url": True}, 100, "text['body'] is required"),
    ("text-not-object", "text", ("text",), "hola", 100, "must be a JSON object"),
    ("latitude-91", "location", ("location", "latitude"), 91, 131009, "between -90 and 90"),
    ("latitude-string", "location", ("location", "latitude"), "40.4", 100, "must be a number"),
    (
        "reaction-no-message",
        "reaction",
        ("reaction", "message_id"),
        ...,
        100,
        "reaction['message_id'] is required",
    ),
    ("contacts-empty", "contacts", ("contacts",), [], 131009, "at least 1"),
    ("context-no-id", "text", ("context",), {}, 100, "context['message_id'] is required"),
    ("opaque-513", "text", ("biz_opaque_callback_data",), "o" * 513, 131009, "at most 512"),
]


@pytest.mark.parametrize(
    ("base", "path", "value", "code", "details"),
    [pytest.param(*case[1:], id=case[0]) for case in VIOLATIONS],
)
async def test_each_violation_gets_metas_error_body(
    base: str,
    path: tuple[str | int, ...],
    value: Any,
    code: int,
    details: str,
    fake: FakeGraph,
    client: httpx.AsyncClient,
) -> None:
    r = await client.post(MESSAGES, json=_set(VALID[base], path, value), headers=AUTH)

    error = _graph_error(r, status=400, code=code, details=details)
    title = "Parameter value is not valid" if code == 131009 else None
    if title:
        assert error["message"] == f"(#131009) {title}"
    assert fake.sent == []
    assert fake.pending_statuses() == []


async def test_a_body_that_is_not_json_is_a_missing_parameter(client: httpx.AsyncClient) -> None:
    r = await client.post(MESSAGES, content=b"\xff{not json", headers=AUTH)
    _graph_error(r, status=400, code=100, details="messaging_product is required")


# --------------------------------------------------------------------------- mark as read


async def test_mark_as_read_with_typing_indicator(
    fake: FakeGraph, client: httpx.AsyncClient
) -> None:
    body = {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.IN1",
        "typing_indicator": {"type": "text"},
    }
    r = await client.post(MESSAGES, json=body, headers=AUTH)
    plain = await client.post(MESSAGES, json=_set(body, ("typing_indicator",), ...), headers=AUTH)

    assert (r.status_code, r.json()) == (200, {"success": True})
    assert (plain.status_code, plain.json()) == (200, {"success": True})
    assert [(m.message_id, m.typing_indicator, m.phone_number_id) for m in fake.read_marks] == [
        ("wamid.IN1", True, PNID),
        ("wamid.IN1", False, PNID),
    ]
    assert fake.sent == []
    assert fake.pending_statuses() == []


@pytest.mark.parametrize(
    ("change", "details"),
    [
        ({"status": "delivered"}, "Param status must be one of {READ}"),
        ({"message_id": None}, "The parameter message_id is required"),
        ({"typing_indicator": {"type": "audio"}}, "typing_indicator['type'] must be one of {TEXT}"),
    ],
)
async def test_bad_mark_as_read_bodies(
    change: dict[str, Any], details: str, client: httpx.AsyncClient
) -> None:
    body = {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.IN1"} | change
    r = await client.post(MESSAGES, json=body, headers=AUTH)
    _graph_error(r, status=400, code=100, details=details)


# --------------------------------------------------------------------------- auth


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": "Bearer "},
        {"Authorization": TOKEN},
    ],
    ids=["missing", "wrong", "basic", "empty", "no-scheme"],
)
async def test_a_bad_token_is_401_with_code_190(
    headers: dict[str, str], fake: FakeGraph, client: httpx.AsyncClient
) -> None:
    r = await client.post(MESSAGES, json=VALID["text"], headers=headers)

    assert r.status_code == 401
    error = r.json()["error"]
    assert set(error) == {"message", "type", "code", "fbtrace_id"}
    assert (error["type"], error["code"]) == ("OAuthException", 190)
    assert error["message"] == "Invalid OAuth access token - Cannot parse access token"
    assert r.headers["www-authenticate"].startswith('OAuth "Facebook Platform" "invalid_token"')
    assert fake.sent == []


async def test_the_token_may_come_as_a_query_parameter(client: httpx.AsyncClient) -> None:
    r = await client.post(MESSAGES, params={"access_token": TOKEN}, json=VALID["text"])
    assert r.status_code == 200, r.text


async def test_media_endpoints_need_the_token(fake: FakeGraph, client: httpx.AsyncClient) -> None:
    media_id = fake.add_media(b"OggS", "audio/ogg")
    assert (await client.get(f"/v23.0/{media_id}")).status_code == 401
    assert (await client.delete(f"/v23.0/{media_id}")).status_code == 401
    upload = await client.post(MEDIA, data={"messaging_product": "whatsapp", "type": "image/png"})
    assert upload.status_code == 401
    assert upload.json()["error"]["code"] == 190


async def test_an_unknown_phone_number_id_is_a_graph_method_exception(
    fake: FakeGraph, client: httpx.AsyncClient
) -> None:
    fake.known_numbers = {PNID}
    r = await client.post("/v23.0/999/messages", json=VALID["text"], headers=AUTH)

    assert r.status_code == 400
    error = r.json()["error"]
    assert (error["type"], error["code"], error["error_subcode"]) == (
        "GraphMethodException",
        100,
        33,
    )
    assert "Object with ID '999' does not exist" in error["message"]


# --------------------------------------------------------------------------- injected errors

INJECTED = [
    # (code, HTTP status per Meta's error-code table)
    (130429, 400),
    (131056, 400),
    (4, 400),
    (80007, 400),
    (131048, 400),
    (131009, 400),
    (131030, 400),
    (132000, 400),
    (132001, 404),
    (190, 401),
    (10, 403),
    (368, 403),
    (1, 400),
    (131000, 500),
    (2, 503),
    (131016, 503),
]


@pytest.mark.parametrize(("code", "status"), INJECTED, ids=[str(c) for c, _ in INJECTED])
async def test_injected_errors_have_metas_status_and_body(
    code: int, status: int, fake: FakeGraph, client: httpx.AsyncClient
) -> None:
    fake.fail_next(code)
    failed = await client.post(MESSAGES, json=VALID["text"], headers=AUTH)
    after = await client.post(MESSAGES, json=VALID["text"], headers=AUTH)

    assert http_status_for(code) == status
    assert failed.status_code == status, failed.text
    error = failed.json()["error"]
    assert error["code"] == code
    assert error["type"] == "OAuthException"
    assert error["fbtrace_id"]
    if code >= 300 and code != 2500:
        assert error["message"].startswith(f"(#{code}) ")
        assert error["error_data"]["messaging_product"] == "whatsapp"
    else:
        assert "error_data" not in error  # Graph-level errors carry no WhatsApp details
    assert after.status_code == 200  # times=1: only the next send
    assert len(fake.sent) == 1


async def test_injection_counts_and_recipient_scope(
    fake: FakeGraph, client: httpx.AsyncClient
) -> None:
    other = "5491155550000"
    fake.note_inbound(other)
    fake.fail_next(131056, times=2, recipient=GUEST)

    to_other = await client.post(MESSAGES, json=_set(VALID["text"], ("to",), other), headers=AUTH)
    first = await client.post(MESSAGES, json=VALID["text"], headers=AUTH)
    second = await client.post(
        MESSAGES, json=_set(VALID["text"], ("to",), f"+{GUEST}"), headers=AUTH
    )
    third = await client.post(MESSAGES, json=VALID["text"], headers=AUTH)

    assert [r.status_code for r in (to_other, first, second, third)] == [200, 400, 400, 200]
    assert first.json()["error"]["code"] == 131056


async def test_the_http_status_of_an_injection_can_be_chosen(
    fake: FakeGraph, client: httpx.AsyncClient
) -> None:
    fake.fail_next(130429, http_status=429)
    r = await client.post(MESSAGES, json=VALID["text"], headers=AUTH)
    _graph_error(r, status=429, code=130429, details="throughput")


async def test_injected_131047_is_accepted_then_fails_by_status(
    fake: FakeGraph, client: httpx.AsyncClient
) -> None:
    fake.fail_next(131047)
    r = await client.post(MESSAGES, json=VALID["text"], headers=AUTH)

    assert r.status_code == 200
    [status] = fake.pending_statuses()
    assert status["id"] == r.json()["messages"][0]["id"]
    assert (status["status"], status["errors"][0]["code"]) == ("failed", 131047)


async def test_an_asynchronous_code_can_be_made_synchronous(
    fake: FakeGraph, client: httpx.AsyncClient
) -> None:
    fake.fail_next(131026, asynchronous=False)
    r = await client.post(MESSAGES, json=VALID["text"], headers=AUTH)
    _graph_error(r, status=400, code=131026)
    assert fake.pending_statuses() == []


async def test_mark_as_read_is_not_hit_by_injections(
    fake: FakeGraph, client: httpx.AsyncClient
) -> None:
    fake.fail_next(130429)
    read = {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.IN1"}
    assert (await client.post(MESSAGES, json=read, headers=AUTH)).status_code == 200
    assert (await client.post(MESSAGES, json=VALID["text"], headers=AUTH)).status_code == 400


def test_fail_next_needs_at_least_one_time(fake: FakeGraph) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        fake.fail_next(130429, times=0)


# --------------------------------------------------------------------------- statuses


async def test_an_accepted_send_queues_sent_then_delivered(
    fake: FakeGraph, client: httpx.AsyncClient
) -> None:
    body = _set(VALID["text"], ("biz_opaque_callback_data",), "outbox:42")
    wamid = (await client.post(MESSAGES, json=body, headers=AUTH)).json()["messages"][0]["id"]

    sent, delivered = fake.pending_statuses()
    for status, name in ((sent, "sent"), (delivered, "delivered")):
        assert status["id"] == wamid
        assert status["status"] == name
        assert status["timestamp"] == str(int(START))
        assert status["recipient_id"] == GUEST
        assert status["biz_opaque_callback_data"] == "outbox:42"
        assert status["pricing"]["category"] == "service"
        assert "errors" not in status
    assert fake.pending_statuses() == []  # taken


@pytest.mark.parametrize(
    ("ago", "outcome"),
    [
        (None, ["failed"]),
        (WINDOW_SECONDS + 3600, ["failed"]),
        (WINDOW_SECONDS, ["failed"]),
        (WINDOW_SECONDS - 1, ["sent", "delivered"]),
        (60, ["sent", "delivered"]),
    ],
    ids=["never", "25h", "24h", "24h-1s", "1min"],
)
async def test_the_24h_window_of_the_fakes_clock(
    ago: float | None, outcome: list[str], fake: FakeGraph, clock: Clock, client: httpx.AsyncClient
) -> None:
    fake.last_inbound.clear()
    if ago is not None:
        fake.note_inbound(GUEST, when=START - ago)

    r = await client.post(MESSAGES, json=VALID["text"], headers=AUTH)

    assert r.status_code == 200  # accepted either way, as Meta does
    assert [s["status"] for s in fake.pending_statuses()] == outcome


async def test_outside_the_window_the_failed_status_is_the_specs_example(
    fake: FakeGraph, clock: Clock, client: httpx.AsyncClient
) -> None:
    clock.t = START + WINDOW_SECONDS + 1
    wamid = (await client.post(MESSAGES, json=VALID["text"], headers=AUTH)).json()["messages"][0][
        "id"
    ]

    assert fake.pending_statuses() == [
        {
            "id": wamid,
            "status": "failed",
            "timestamp": str(int(clock.t)),
            "recipient_id": GUEST,
            "errors": [
                {
                    "code": 131047,
                    "title": "Re-engagement message",
                    "message": "Re-engagement message",
                    "error_data": {
                        "details": "More than 24 hours have passed since the customer last replied."
                    },
                    "href": HREF,
                }
            ],
        }
    ]


async def test_templates_go_out_of_the_window(
    fake: FakeGraph, clock: Clock, client: httpx.AsyncClient
) -> None:
    clock.t = START + 3 * WINDOW_SECONDS
    r = await client.post(MESSAGES, json=VALID["template"], headers=AUTH)

    assert r.status_code == 200
    statuses = fake.pending_statuses()
    assert [s["status"] for s in statuses] == ["sent", "delivered"]
    assert statuses[0]["pricing"] == {
        "billable": True,
        "pricing_model": "PMP",
        "category": "utility",
        "type": "regular",
    }


async def test_the_window_rule_can_be_switched_off(
    fake: FakeGraph, clock: Clock, client: httpx.AsyncClient
) -> None:
    fake.enforce_window = False
    clock.t = START + 3 * WINDOW_SECONDS
    await client.post(MESSAGES, json=VALID["text"], headers=AUTH)
    assert [s["status"] for s in fake.pending_statuses()] == ["sent", "delivered"]


async def test_an_undeliverable_recipient_fails_with_131026(
    fake: FakeGraph, client: httpx.AsyncClient
) -> None:
    fake.undeliverable.add(GUEST)
    r = await client.post(MESSAGES, json=VALID["template"], headers=AUTH)

    assert r.status_code == 200
    [status] = fake.pending_statuses()
    assert status["status"] == "failed"
    assert status["errors"][0]["code"] == 131026
    assert status["errors"][0]["href"] == HREF


# --------------------------------------------------------------------------- media


async def test_media_fetch_flow(fake: FakeGraph, client: httpx.AsyncClient) -> None:
    data = b"OggS\x00voice-note" * 50
    media_id = fake.add_media(data, "audio/ogg; codecs=opus")

    info = await client.get(f"/v23.0/{media_id}", headers=AUTH)
    assert info.status_code == 200
    meta = info.json()
    assert meta == {
        "url": meta["url"],
        "mime_type": "audio/ogg; codecs=opus",
        "sha256": base64.b64encode(hashlib.sha256(data).digest()).decode(),
        "file_size": len(data),
        "id": media_id,
        "messaging_product": "whatsapp",
    }
    assert meta["url"].startswith("http://graph.test/media-download/")

    download = await client.get(meta["url"], headers=AUTH | {"User-Agent": "agente/0.1"})
    assert download.status_code == 200
    assert download.content == data
    assert download.headers["content-type"] == "audio/ogg; codecs=opus"


async def test_download_needs_a_user_agent_and_the_token(
    fake: FakeGraph, client: httpx.AsyncClient
) -> None:
    media_id = fake.add_media(b"\xff\xd8jpeg", "image/jpeg")
    url = (await client.get(f"/v23.0/{media_id}", headers=AUTH)).json()["url"]

    request = client.build_request("GET", url, headers=AUTH)
    del request.headers["user-agent"]  # httpx adds one by default
    no_agent = await client.send(request)
    no_token = await client.get(url, headers={"User-Agent": "agente/0.1"})
    wrong_token = await client.get(url, headers={"Authorization": "Bearer nope"})

    assert no_agent.status_code == 400
    assert no_token.status_code == 401
    assert wrong_token.status_code == 401


async def test_the_download_url_expires_after_five_minutes(
    fake: FakeGraph, clock: Clock, client: httpx.AsyncClient
) -> None:
    media_id = fake.add_media(b"\x89PNG", "image/png")
    url = (await client.get(f"/v23.0/{media_id}", headers=AUTH)).json()["url"]

    clock.t = START + MEDIA_URL_TTL_SECONDS - 1
    assert (await client.get(url, headers=AUTH)).status_code == 200
    clock.t = START + MEDIA_URL_TTL_SECONDS
    assert (await client.get(url, headers=AUTH)).status_code == 404

    fresh = (await client.get(f"/v23.0/{media_id}", headers=AUTH)).json()["url"]
    assert fresh != url
    assert (await client.get(fresh, headers=AUTH)).content == b"\x89PNG"


async def test_unknown_media_is_a_graph_method_exception(client: httpx.AsyncClient) -> None:
    r = await client.get("/v23.0/1234567890", headers=AUTH)

    assert r.status_code == 400
    error = r.json()["error"]
    assert (error["code"], error["error_subcode"], error["type"]) == (
        100,
        33,
        "GraphMethodException",
    )
    assert (await client.get("/media-download/not-a-token", headers=AUTH)).status_code == 404


async def test_media_can_be_deleted(fake: FakeGraph, client: httpx.AsyncClient) -> None:
    media_id = fake.add_media(b"x", "text/plain")
    assert (await client.delete(f"/v23.0/{media_id}", headers=AUTH)).json() == {"success": True}
    assert media_id not in fake.media
    assert (await client.delete(f"/v23.0/{media_id}", headers=AUTH)).status_code == 400


async def test_upload_then_fetch(fake: FakeGraph, client: httpx.AsyncClient) -> None:
    data = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    r = await client.post(
        MEDIA,
        headers=AUTH,
        data={"messaging_product": "whatsapp", "type": "image/png"},
        files={"file": ("room.png", data, "image/png")},
    )

    assert r.status_code == 200, r.text
    media_id = r.json()["id"]
    assert set(r.json()) == {"id"}
    assert fake.media[media_id] == (data, "image/png")
    meta = (await client.get(f"/v23.0/{media_id}", headers=AUTH)).json()
    assert (meta["mime_type"], meta["file_size"]) == ("image/png", len(data))
    sent = await client.post(
        MESSAGES, json=_set(VALID["image_by_id"], ("image", "id"), media_id), headers=AUTH
    )
    assert sent.status_code == 200


@pytest.mark.parametrize(
    ("data", "files", "code", "details"),
    [
        ({"type": "image/png"}, {"file": ("a.png", b"x", "image/png")}, 100, "messaging_product"),
        (
            {"messaging_product": "whatsapp", "type": "image/png"},
            None,
            100,
            "parameter file is required",
        ),
        (
            {"messaging_product": "whatsapp"},
            {"file": ("a.png", b"x", "image/png")},
            100,
            "parameter type",
        ),
        (
            {"messaging_product": "whatsapp", "type": "image/gif"},
            {"file": ("a.gif", b"GIF89a", "image/gif")},
            100,
            "one of the following types",
        ),
        (
            {"messaging_product": "whatsapp", "type": "image/webp"},
            {"file": ("s.webp", b"R" * (500 * 1024 + 1), "image/webp")},
            131053,
            "sticker files can be at most",
        ),
    ],
    ids=["no-product", "no-file", "no-type", "gif", "sticker-too-big"],
)
async def test_bad_uploads(
    data: dict[str, str],
    files: dict[str, Any] | None,
    code: int,
    details: str,
    client: httpx.AsyncClient,
) -> None:
    if files is None:  # still multipart, with no file part
        files = {"other": ("x.txt", b"x", "text/plain")}
    r = await client.post(MEDIA, headers=AUTH, data=data, files=files)
    _graph_error(r, status=400, code=code, details=details)


# --------------------------------------------------------------------------- webhooks


def valid_signature(raw: bytes, header: str | None, app_secret: bytes) -> bool:
    """The spec's §2.2 check, verbatim."""
    if not header or not header.startswith("sha256="):
        return False
    digest = hmac.new(app_secret, raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(digest, header[7:].lower())


async def test_status_webhook_envelope_and_signature(
    fake: FakeGraph, client: httpx.AsyncClient
) -> None:
    await client.post(MESSAGES, json=VALID["text"], headers=AUTH)
    statuses = fake.pending_statuses()
    raw = status_webhook(statuses, phone_number_id=PNID)

    envelope = json.loads(raw)
    assert envelope == {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "WABA1",
                "changes": [
                    {
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550000000",
                                "phone_number_id": PNID,
                            },
                            "statuses": statuses,
                        },
                        "field": "messages",
                    }
                ],
            }
        ],
    }
    header = sign(raw, SECRET)
    assert re.fullmatch(r"sha256=[0-9a-f]{64}", header)
    assert valid_signature(raw, header, SECRET)
    assert not valid_signature(raw + b" ", header, SECRET)
    assert not valid_signature(raw, header, b"other-secret")


def test_message_webhook_escapes_like_meta() -> None:
    message = {
        "from": GUEST,
        "id": "wamid.HBgLMzQ2MDAxMTEyMjIVAgASGBRBMUIyQzNENEU1RjYwNzA4MDkwQQA=",
        "timestamp": "1767261600",
        "type": "text",
        "text": {"body": "¡Hola! ¿Check-in a las 11/12? 😀"},
    }
    contacts = [{"profile": {"name": "Marta Ruiz"}, "wa_id": GUEST}]
    raw = message_webhook([message], phone_number_id=PNID, contacts=contacts)

    assert raw.isascii()
    assert b"\\u00a1Hola! \\u00bfCheck-in a las 11\\/12? \\ud83d\\ude00" in raw
    assert raw.startswith(  # compact, in Meta's key order
        b'{"object":"whatsapp_business_account","entry":[{"id":"WABA1","changes":[{"value":'
        b'{"messaging_product":"whatsapp","metadata":'
    )
    value = json.loads(raw)["entry"][0]["changes"][0]["value"]
    assert value["messages"] == [message]
    assert value["contacts"] == contacts
    assert value["metadata"]["phone_number_id"] == PNID
    # the spec's #1 pitfall: re-encoding the decoded body changes the bytes and the signature
    reencoded = json.dumps(json.loads(raw), ensure_ascii=False).encode()
    assert valid_signature(raw, sign(raw, SECRET), SECRET)
    assert not valid_signature(reencoded, sign(raw, SECRET), SECRET)


async def test_inbound_message_opens_the_window(fake: FakeGraph, clock: Clock) -> None:
    fake.last_inbound.clear()
    clock.t = START + 100
    wamid, raw = fake.inbound_message(
        "+54 9 11 5555-0000", {"type": "text", "text": {"body": "hola"}}, phone_number_id=PNID
    )

    assert fake.last_inbound == {"5491155550000": START + 100}
    [message] = json.loads(raw)["entry"][0]["changes"][0]["value"]["messages"]
    assert message == {
        "from": "5491155550000",
        "id": wamid,
        "timestamp": str(int(START + 100)),
        "type": "text",
        "text": {"body": "hola"},
    }


# --------------------------------------------------------------------------- callbacks


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/webhooks/whatsapp",
        "http://10.0.0.5:8000/hook",
        "http://169.254.169.254/latest",
        "http://localhost.example.com/hook",
        "ftp://127.0.0.1/hook",
        "not a url",
    ],
)
def test_callbacks_go_only_to_loopback(url: str, fake: FakeGraph) -> None:
    with pytest.raises(ValueError, match="callback"):
        fake.enable_callback(url)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8000/webhooks/whatsapp", "http://localhost:8000/w", "http://[::1]:8000/w"],
)
def test_loopback_callbacks_are_accepted(url: str, fake: FakeGraph) -> None:
    fake.enable_callback(url)


def test_a_callback_needs_the_app_secret() -> None:
    with pytest.raises(ValueError, match="app_secret"):
        create_fake_graph().enable_callback("http://127.0.0.1:8000/w")


def _receiver(answers: list[int]) -> tuple[httpx.AsyncClient, list[httpx.Request]]:
    received: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(answers.pop(0) if answers else 200)

    return httpx.AsyncClient(transport=httpx.MockTransport(handler)), received


async def test_statuses_are_posted_signed_with_retries(
    fake: FakeGraph, client: httpx.AsyncClient
) -> None:
    receiver, received = _receiver([500])
    async with receiver:
        fake.enable_callback(
            "http://127.0.0.1:8000/webhooks/whatsapp", client=receiver, retry_delays=(0, 0), delay=0
        )
        wamid = (await client.post(MESSAGES, json=VALID["text"], headers=AUTH)).json()["messages"][
            0
        ]["id"]
        await fake.drain_callbacks()

    assert fake.pending_statuses() == []  # they went to the callback instead
    assert [(d.kind, d.attempts, d.ok) for d in fake.deliveries] == [
        ("status:sent", 2, True),
        ("status:delivered", 1, True),
    ]
    assert len(received) == 3
    for request in received:
        raw = request.content
        assert str(request.url) == "http://127.0.0.1:8000/webhooks/whatsapp"
        assert valid_signature(raw, request.headers["x-hub-signature-256"], SECRET)
        assert request.headers["user-agent"] == "facebookexternalua"
        assert request.headers["x-hub-signature"].startswith("sha1=")
        [status] = json.loads(raw)["entry"][0]["changes"][0]["value"]["statuses"]
        assert status["id"] == wamid


async def test_delivery_gives_up_after_the_bounded_retries(
    fake: FakeGraph, client: httpx.AsyncClient
) -> None:
    receiver, received = _receiver([503] * 10)
    async with receiver:
        fake.enable_callback(
            "http://127.0.0.1:8000/w", client=receiver, retry_delays=(0, 0), delay=0
        )
        fake.undeliverable.add(GUEST)
        await client.post(MESSAGES, json=VALID["text"], headers=AUTH)
        await fake.drain_callbacks()

    assert [(d.kind, d.attempts, d.status_code, d.ok) for d in fake.deliveries] == [
        ("status:failed", 3, 503, False)
    ]
    assert len(received) == 3


async def test_the_inbound_helper_posts_a_message_webhook(
    fake: FakeGraph, client: httpx.AsyncClient
) -> None:
    receiver, received = _receiver([])
    async with receiver:
        fake.enable_callback("http://127.0.0.1:8000/w", client=receiver, retry_delays=(), delay=0)
        r = await client.post(
            "/_fake/inbound",
            json={"from": "5491155550000", "text": "¿Tienen cochera?", "phone_number_id": PNID},
        )
        await fake.drain_callbacks()

    assert r.status_code == 200
    [request] = received
    assert request.content == r.json()["webhook"].encode()
    assert b"\\u00bfTienen cochera?" in request.content
    assert valid_signature(request.content, request.headers["x-hub-signature-256"], SECRET)
    assert "5491155550000" in fake.last_inbound


# --------------------------------------------------------------------------- odds and ends


async def test_calls_are_counted_per_endpoint(fake: FakeGraph, client: httpx.AsyncClient) -> None:
    media_id = fake.add_media(b"x", "text/plain")
    await client.post(MESSAGES, json=VALID["text"], headers=AUTH)
    await client.post(MESSAGES, json=VALID["text"])
    url = (await client.get(f"/v23.0/{media_id}", headers=AUTH)).json()["url"]
    await client.get(url, headers=AUTH)

    assert fake.calls == {"POST /messages": 2, "GET /media": 1, "GET /media-download": 1}


async def test_unknown_paths_and_methods_answer_like_graph(client: httpx.AsyncClient) -> None:
    path = await client.get("/v23.0/a/b/c", headers=AUTH)
    version = await client.post(f"/v22.0/{PNID}/messages", json=VALID["text"], headers=AUTH)
    method = await client.get(MESSAGES, headers=AUTH)

    for r in (path, version):
        assert r.status_code == 400
        assert r.json()["error"]["code"] == 2500
        assert r.json()["error"]["message"].startswith("Unknown path components")
    assert method.status_code == 400
    assert method.json()["error"]["type"] == "GraphMethodException"


def test_versions_and_tokens_are_checked() -> None:
    with pytest.raises(ValueError, match="version"):
        create_fake_graph(version="23")
    with pytest.raises(ValueError, match="token"):
        create_fake_graph(token="")


@pytest.mark.parametrize(
    "argv",
    [
        ["--callback", "http://example.com/hook", "--app-secret", "s"],
        ["--callback", "http://127.0.0.1:8000/hook"],
        ["--version", "latest"],
    ],
    ids=["remote-callback", "no-secret", "bad-version"],
)
def test_the_demo_refuses_bad_options(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.mark.slow
def test_the_demo_serves_the_fake_with_granian() -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "agente_channel_whatsapp.fake", "--port", str(port), "--no-window"],
        cwd=PLUGIN_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        response = None
        while time.monotonic() < deadline:
            try:
                response = httpx.post(
                    f"http://127.0.0.1:{port}/v23.0/{PNID}/messages",
                    json=VALID["text"],
                    headers=AUTH,
                    timeout=2,
                )
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert response is not None, "the demo did not start"
        assert response.status_code == 200, response.text
        assert response.json()["messages"][0]["id"].startswith("wamid.")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            output, _ = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
    assert f"http://127.0.0.1:{port}".encode() in output


# --------------------------------------------------------------------------- fuzz

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=15,
)
_KEYS = st.sampled_from(
    [
        "messaging_product",
        "to",
        "type",
        "status",
        "message_id",
        "typing_indicator",
        "context",
        "recipient_type",
        "biz_opaque_callback_data",
        "text",
        "interactive",
        "image",
        "template",
        "contacts",
        "location",
        "reaction",
    ]
)
_NEAR_MISS = st.dictionaries(
    _KEYS, _JSON | st.sampled_from(["whatsapp", "read", "text", "list"]), max_size=6
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _mutate(base: dict[str, Any], edits: list[tuple[int, Any]]) -> dict[str, Any]:
    body = copy.deepcopy(base)
    for pick, value in edits:
        paths = _paths(body)
        if not paths:
            break
        body = _set(body, paths[pick % len(paths)], value)
    return body


_MUTATED = st.builds(
    _mutate,
    st.sampled_from(list(VALID.values())),
    st.lists(st.tuples(st.integers(0, 10_000), _JSON | st.just(...)), max_size=3),
)
_BODIES = st.one_of(
    _JSON.map(lambda v: json.dumps(v).encode()),
    _NEAR_MISS.map(lambda v: json.dumps(v).encode()),
    _MUTATED.map(lambda v: json.dumps(v, ensure_ascii=False).encode()),
    st.binary(max_size=100),
)


def test_no_json_body_makes_messages_answer_a_5xx() -> None:
    """Any body: 200 (accepted) or a 4xx in Meta's shape, never a 5xx. One app for all."""
    fake = create_fake_graph()
    fake.enforce_window = False
    seen: set[int] = set()

    with asyncio.Runner() as runner:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=fake.app), base_url="http://graph.test"
        )

        async def post(body: bytes) -> httpx.Response:
            return await client.post(
                MESSAGES, content=body, headers=AUTH | {"Content-Type": "application/json"}
            )

        @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(body=_BODIES)
        @example(body=b'{"messaging_product": "whatsapp", "to": "\\ud800", "text": {"body": "x"}}')
        @example(body=b'{"messaging_product": "whatsapp", "to": 34600111222, "text": {"body": 1}}')
        @example(body=b"[" * 5000)
        @example(body=json.dumps(VALID["list"]).encode())
        def check(body: bytes) -> None:
            response = runner.run(post(body))
            seen.add(response.status_code)
            assert response.status_code == 200 or 400 <= response.status_code < 500, (
                response.status_code,
                response.text,
                body,
            )
            if response.status_code != 200:
                assert isinstance(response.json()["error"]["code"], int)

        try:
            check()
        finally:
            runner.run(client.aclose())
    assert {200, 400} <= seen
