"""The functional core: no I/O, no clock, no environment, no logging.

``step(state, event, context) -> (state, effects)`` decides; ``render(reply, language)`` turns a
reply into channel-neutral outbound bodies from the message catalogues. Until the understanding
and dialogue land, ``step`` acknowledges what the guest wrote; the shell around it is already
the real one.
"""

from __future__ import annotations

import datetime as dt
from typing import TypeAlias

import msgspec

from agente.domain import ConversationState, OutboundBody, OutText
from agente.pipeline.catalog import CATALOG, LANGUAGES

__all__ = ["Context", "Effect", "Event", "GuestSaid", "Reply", "render", "step"]


class _Base(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind"):
    pass


class GuestSaid(_Base, frozen=True, kw_only=True, tag="guest_said"):
    """The guest wrote (or sent something: ``message_kind`` says what), as understood."""

    text: str | None
    message_kind: str = "text"
    intent: str | None = None
    language: str | None = None
    confidence: float = 0.0


Event: TypeAlias = GuestSaid


class Reply(_Base, frozen=True, kw_only=True, tag="reply"):
    """Say catalogue entry ``key`` with ``params`` to the guest."""

    key: str
    params: dict[str, str] = {}


Effect: TypeAlias = Reply


class Context(msgspec.Struct, frozen=True, kw_only=True):
    """What the shell reads before calling ``step``: the hotel's facts and the moment."""

    hotel_name: str
    default_language: str
    languages: list[str]
    now: dt.datetime


def step(
    state: ConversationState, event: Event, context: Context
) -> tuple[ConversationState, list[Effect]]:
    """One transition of the conversation. Pure: same inputs, same outputs."""
    language = event.language or state.language or context.default_language
    if language not in LANGUAGES:
        language = "es"
    match event:
        case GuestSaid(message_kind="text"):
            key = "ack.first" if state.turns == 0 else "ack.text"
        case GuestSaid():
            key = "ack.other"
    new_state = msgspec.structs.replace(
        state,
        turns=state.turns + 1,
        language=language,
        last_intent=event.intent or state.last_intent,
    )
    return new_state, [Reply(key=key, params={"hotel": context.hotel_name})]


def render(reply: Reply, language: str) -> list[OutboundBody]:
    """The outbound bodies for ``reply`` in ``language`` (Spanish when a text is missing)."""
    texts = CATALOG.get(language) or CATALOG["es"]
    template = texts.get(reply.key) or CATALOG["es"][reply.key]
    return [OutText(text=template.format_map(reply.params))]
