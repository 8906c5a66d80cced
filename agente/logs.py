"""Structured logging (structlog): JSON off a terminal, console on one; personal data masked.

Configured once at start-up by ``configure``. Every event passes ``mask_personal_data``, which
hides phone numbers, e-mail addresses and document numbers in any string value, nested ones and
formatted exceptions included, so a careless log call cannot leak them.

A correlation id follows a guest message from the request that brought it to the replies it
caused: ``CorrelationId`` (ASGI) takes the request's ``X-Request-ID`` when it is a plain token,
or makes one, binds it to every log line of the request and answers it in ``X-Request-ID``;
the inbox keeps it with the message (``InboundMessage.correlation_id``), the worker binds it
while handling the message, and the outbox carries it to the send.
"""

from __future__ import annotations

import logging
import re
import secrets
import sys
from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any

import structlog

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "CorrelationId",
    "configure",
    "current_correlation_id",
    "mask",
    "mask_personal_data",
    "new_correlation_id",
]

_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
_PHONE = re.compile(r"\+?\d[\d\s().-]{6,}\d")
_DOCUMENT = re.compile(r"\b\d{1,2}\.?\d{3}\.?\d{3}\b")


def mask(text: str) -> str:
    """Hide e-mails (keep first letter and domain), phones and DNI-like numbers (keep last 2)."""
    text = _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
    text = _PHONE.sub(lambda m: "***" + re.sub(r"\D", "", m.group(0))[-2:], text)
    return _DOCUMENT.sub(lambda m: "***" + m.group(0)[-2:], text)


_SAFE_KEYS = {
    "correlation_id",
    "timestamp",
    "level",
    "logger",
    "event_id",
    "message_id",
    "conversation_id",
    "inbox_id",
    "outbox_id",
    "hotel_id",
    "channel",
    "status",
    "duration_ms",
    "attempts",
    "worker",
}


def _mask_value(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return mask(value)
    if depth > 4:
        return value
    if isinstance(value, dict):
        return {k: _mask_value(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_mask_value(v, depth + 1) for v in value]
    return value


def mask_personal_data(
    _logger: Any, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key, value in list(event.items()):
        if key in _SAFE_KEYS:
            continue
        event[key] = _mask_value(value)
    return event


# ------------------------------------------------------------------------------ correlation ids

_TOKEN = re.compile(r"[A-Za-z0-9._:-]{6,64}")
_DIGIT_RUN = re.compile(r"\d{7,}")


def new_correlation_id() -> str:
    """A fresh id with no long digit run (which the masking would take for a phone number)."""
    while True:
        value = secrets.token_hex(12)
        if not _DIGIT_RUN.search(value):
            return value


def _usable(value: str) -> bool:
    return bool(_TOKEN.fullmatch(value)) and not _DIGIT_RUN.search(value)


def current_correlation_id() -> str | None:
    value = structlog.contextvars.get_contextvars().get("correlation_id")
    return value if isinstance(value, str) else None


class CorrelationId:
    """ASGI wrapper: one correlation id per HTTP request, in the logs and in ``X-Request-ID``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # type: ignore[comparison-overlap]
            await self.app(scope, receive, send)
            return
        given = ""
        for name, value in scope.get("headers", []):
            if name in (b"x-request-id", b"x-correlation-id"):
                given = value.decode("latin-1").strip()
                break
        correlation = given if _usable(given) else new_correlation_id()

        async def _send(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", correlation.encode()))
                message["headers"] = headers
            await send(message)

        with structlog.contextvars.bound_contextvars(correlation_id=correlation):
            await self.app(scope, receive, _send)


def processors() -> list[Any]:
    """Every log event's processors before rendering: masking comes last, after exceptions are
    formatted, since a traceback can quote a guest's data."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        mask_personal_data,
    ]


def configure(level: str = "INFO", fmt: str = "auto") -> None:
    """Set up structlog and the standard library's logging once, for the whole process."""
    use_console = fmt == "console" or (fmt == "auto" and sys.stderr.isatty())
    shared = processors()
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=False)
        if use_console
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")
    for noisy in ("sqlalchemy.engine", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
