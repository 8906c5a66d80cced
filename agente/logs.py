"""Structured logging (structlog): JSON off a terminal, console on one; personal data masked.

Configured once at start-up by ``configure``. Every event passes ``mask_personal_data``, which
hides phone numbers, e-mail addresses and document numbers in any string value, so a careless
log call cannot leak them.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

__all__ = ["configure", "mask", "mask_personal_data"]

_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
_PHONE = re.compile(r"\+?\d[\d\s().-]{6,}\d")
_DOCUMENT = re.compile(r"\b\d{1,2}\.?\d{3}\.?\d{3}\b")


def mask(text: str) -> str:
    """Hide e-mails (keep first letter and domain), phones and DNI-like numbers (keep last 2)."""
    text = _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
    text = _PHONE.sub(lambda m: "***" + re.sub(r"\D", "", m.group(0))[-2:], text)
    return _DOCUMENT.sub(lambda m: "***" + m.group(0)[-2:], text)


_SAFE_KEYS = {
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


def mask_personal_data(
    _logger: Any, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key, value in list(event.items()):
        if key in _SAFE_KEYS:
            continue
        if isinstance(value, str):
            event[key] = mask(value)
    return event


def configure(level: str = "INFO", fmt: str = "auto") -> None:
    """Set up structlog and the standard library's logging once, for the whole process."""
    use_console = fmt == "console" or (fmt == "auto" and sys.stderr.isatty())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        mask_personal_data,
    ]
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=False)
        if use_console
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")
    for noisy in ("sqlalchemy.engine", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
