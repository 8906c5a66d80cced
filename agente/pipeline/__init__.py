"""The functional core: no I/O, no clock, no environment, no logging.

``understand(text, …)`` reads a guest's message; ``step(state, event, context) -> (state,
effects)`` decides what to do (``dialogue.py``); ``render(reply, language, …)`` turns a reply
into channel-neutral outbound bodies from the message catalogues (``render.py``).
"""

from __future__ import annotations

from agente.pipeline.dialogue import (
    CancelBooking,
    Context,
    CreateBooking,
    Effect,
    Event,
    FindBooking,
    GuestSaid,
    GuestSentMedia,
    HoldExpired,
    ModifyBooking,
    NotifyStaff,
    OperatorConfirmedDeposit,
    OperatorRejectedDeposit,
    OperatorReleased,
    OperatorSaid,
    OperatorTookOver,
    PmsAnswered,
    PmsFailed,
    RecordPayment,
    Reply,
    ScheduleTimer,
    SearchAvailability,
    step,
)
from agente.pipeline.render import render

__all__ = [
    "CancelBooking",
    "Context",
    "CreateBooking",
    "Effect",
    "Event",
    "FindBooking",
    "GuestSaid",
    "GuestSentMedia",
    "HoldExpired",
    "ModifyBooking",
    "NotifyStaff",
    "OperatorConfirmedDeposit",
    "OperatorRejectedDeposit",
    "OperatorReleased",
    "OperatorSaid",
    "OperatorTookOver",
    "PmsAnswered",
    "PmsFailed",
    "RecordPayment",
    "Reply",
    "ScheduleTimer",
    "SearchAvailability",
    "render",
    "step",
]
