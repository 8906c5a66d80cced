"""Test helpers for the WhatsApp channel: sign and build webhook bodies as Meta sends them.

Used by the plugin's own tests and by anyone testing a deployment against the local fake.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any

__all__ = ["PNID", "SECRET", "TOKEN", "envelope", "sign", "text_message"]

SECRET = b"test-app-secret"
PNID = "100000000000001"
TOKEN = "test-token"  # noqa: S105 (a test token for the local fake)


def sign(raw: bytes, secret: bytes = SECRET) -> str:
    return "sha256=" + hmac.new(secret, raw, hashlib.sha256).hexdigest()


def envelope(
    messages: list[dict[str, Any]] | None = None,
    statuses: list[dict[str, Any]] | None = None,
    *,
    pnid: str = PNID,
    contacts: list[dict[str, Any]] | None = None,
) -> bytes:
    """A webhook body as Meta sends it: non-ASCII as \\uXXXX escapes (ensure_ascii)."""
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "5492494445566", "phone_number_id": pnid},
    }
    if messages is not None:
        value["messages"] = messages
        value["contacts"] = contacts or [
            {"profile": {"name": "Guest"}, "wa_id": m["from"]} for m in messages if "from" in m
        ]
    if statuses is not None:
        value["statuses"] = statuses
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA1", "changes": [{"field": "messages", "value": value}]}],
    }
    return json.dumps(body, ensure_ascii=True).encode()


def text_message(text: str, sender: str = "5491155551234", **extra: Any) -> dict[str, Any]:
    return {
        "from": sender,
        "id": f"wamid.{uuid.uuid4().hex}",
        "timestamp": str(int(time.time())),
        "type": "text",
        "text": {"body": text},
        **extra,
    }
