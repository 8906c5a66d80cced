"""Hypothesis at the channel's edge: whatever bytes a mailbox holds, the channel turns them into
an inbox message that stores (JSON round trip) and never raises: readable mail from someone,
or a message kept with ``ignored`` set."""

from __future__ import annotations

import asyncio
import hashlib

import msgspec
from agente_channel_email.channel import MailChannel
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agente.adapters.memory import MemoryStore
from agente.domain import InboundMessage
from agente.mail import MailRejected, parse_email
from agente.testing import FrozenClock, MemoryPluginState


class Documents:
    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str, str]] = {}

    async def get(self, key: str) -> tuple[bytes, str, str] | None:
        return self.files.get(key)

    async def put(self, hotel_id: str, content: bytes, mime_type: str, filename: str) -> str:
        key = hashlib.sha256(content).hexdigest()[:40]
        self.files[key] = (content, mime_type, filename)
        return key


def channel() -> MailChannel:
    ch = MailChannel(clock=FrozenClock(), store=MemoryStore(), state=MemoryPluginState(),
                     hotels=None, documents=Documents())  # fmt: skip
    ch.name = "imap"
    ch.address = "reservas@hotel.example"
    return ch


async def edge(raw: bytes) -> InboundMessage:
    ch = channel()
    try:
        mail, error = parse_email(raw, own_addresses=frozenset({ch.address})), None
    except MailRejected as exc:
        mail, error = None, str(exc)
    return await ch.inbound("demo", "box:1:1", mail, error)


_header_values = st.text(max_size=60).filter(lambda s: "\n" not in s and "\r" not in s)
_mail = st.builds(
    lambda headers, body: "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode(
        "utf-8", "surrogateescape") + b"\r\n" + body,
    st.dictionaries(
        st.sampled_from(["From", "To", "Subject", "Message-ID", "References", "Content-Type",
                         "Content-Disposition", "Auto-Submitted", "Reply-To", "MIME-Version"]),
        _header_values, max_size=8,
    ),
    st.binary(max_size=1500),
)  # fmt: skip


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=3000), _mail))
def test_any_mailbox_bytes_become_a_storable_message(raw: bytes) -> None:
    message = asyncio.run(edge(raw))
    assert msgspec.json.decode(msgspec.json.encode(message), type=InboundMessage) == message
    assert message.hotel_id == "demo" and message.provider_message_id
    if message.ignored is None:
        assert "@" in message.sender_id and message.sender_email == message.sender_id
    else:
        assert message.ignored
