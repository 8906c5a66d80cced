"""Scripted conversations ("journeys"): the agent's behaviour written down and checked end to end.

A journey is a TOML table: the guest's turns, staff actions, restarts, clock jumps and PMS
faults, each with what must come back. ``run_journey`` plays it through the real path (inbox,
worker, ``step``, the PMS plugin, outbox) on a real database with a frozen clock, and returns
what went wrong. The suite runs every file in ``tests/journeys/``; ``agente journeys FILE…`` runs
any file, so a hotel can check its own configuration; ``bench/journeys.py`` times them.

    [[journey]]
    name = "es: book the double, pay the deposit, staff confirm, voucher"
    now = "2026-11-23T15:00:00Z"            # a Monday, 12:00 in Buenos Aires

    [[journey.turn]]
    guest = "tienen lugar del 15/12 al 18/12 para 2?"
    intent = "check_availability"
    reply = ["Doble", "255.000"]            # case-insensitive substrings of the replies
    types = ["text"]                         # the reply bodies' types, in order

    [[journey.turn]]
    staff = "confirm_deposit"
    status = "confirmed"                     # the reservation after the turn
    types = ["text", "document"]

    [journey.expect]
    reservation = "confirmed"
    pms_status = "confirmed"                 # what the PMS itself says at the end
    handoff = false
"""

from __future__ import annotations

import datetime as dt
import time
import tomllib
import uuid
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import attrs
import msgspec
import sqlalchemy as sa

from agente.adapters.sql import conversations, inbox, outbox, staff_notifications
from agente.domain import InboundMessage, Media
from agente.errors import NotAvailable, Transient
from agente.service import load_conversation
from agente.testing import FrozenClock

if TYPE_CHECKING:
    from agente.deps import Deps
    from agente.ports import Pms

__all__ = ["Journey", "JourneyResult", "load_journeys", "run_journey"]


class Turn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One step of a journey: what happens, then what must be true."""

    guest: str | None = None
    choice: str | None = None
    media: str | None = None
    staff: Literal["confirm_deposit", "take_over", "release"] | None = None
    restart: bool = False
    advance_hours: float = 0
    pms: Literal["up", "down", "full"] | None = None
    flags: dict[str, bool] = {}
    # expectations
    intent: str | None = None
    reply: list[str] = []
    no_reply: list[str] = []
    types: list[str] = []
    silent: bool = False
    status: str | None = None
    mode: str | None = None


class Expect(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    reservation: str | None = None
    pms_status: str | None = None
    pms_paid: str | None = None
    handoff: bool | None = None
    notifications: list[str] = []


class Journey(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    hotel: str = "demo"
    now: dt.datetime = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)
    sender_phone: str | None = None
    sender_email: str | None = None
    turn: list[Turn]
    expect: Expect = Expect()


class _File(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    journey: list[Journey]


@attrs.define
class TurnResult:
    index: int
    replies: list[dict[str, Any]]
    intent: str | None
    seconds: float


@attrs.define
class JourneyResult:
    journey: Journey
    turns: list[TurnResult] = attrs.field(factory=list)
    failures: list[str] = attrs.field(factory=list)
    handed_off: bool = False

    @property
    def ok(self) -> bool:
        return not self.failures


def load_journeys(path: str | Path) -> list[Journey]:
    """Every journey of a TOML file; a malformed file raises with the field that is wrong."""
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    return msgspec.convert(data, _File).journey


@attrs.define
class FaultyPms:
    """The hotel's PMS with a switch: "down" raises ``Transient``, "full" has no rooms."""

    inner: Pms
    mode: str = "up"
    capabilities: Any = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.capabilities = self.inner.capabilities

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not callable(attr) or name in ("ping", "aclose"):
            return attr

        async def call(*args: Any, **kwargs: Any) -> Any:
            if self.mode == "down":
                raise Transient(f"{name}: the PMS does not answer (journey fault)")
            if self.mode == "full":
                if name == "search_availability":
                    return []
                if name == "create_booking":
                    raise NotAvailable("no rooms left (journey fault)")
            return await attr(*args, **kwargs)

        return call


async def _build(database_url: str, clock: FrozenClock, flags: dict[str, bool]) -> Deps:
    from agente.deps import build_deps
    from agente.hotels import load_hotels_file, seed_hotels
    from agente.migrate import upgrade
    from agente.settings import load_settings

    env = {"AGENTE_DATABASE_URL": database_url, "AGENTE_ENV": "test", "AGENTE_LOG_LEVEL": "ERROR"}
    settings = load_settings(env)
    deps = build_deps(settings, env, clock=clock)
    await upgrade(settings.database_url)
    await seed_hotels(deps.db, load_hotels_file(None), clock)
    for name, value in flags.items():
        deps.flags.override(name, value)
    return deps


async def run_journey(journey: Journey, database_url: str) -> JourneyResult:
    """Play ``journey`` against a fresh database at ``database_url``; collect what went wrong."""
    clock = FrozenClock(current=journey.now)
    flags: dict[str, bool] = {}
    deps = await _build(database_url, clock, flags)
    result = JourneyResult(journey=journey)
    session = f"j-{uuid.uuid4().hex[:10]}"
    pms_mode = "up"
    try:
        for i, turn in enumerate(journey.turn, 1):
            where = f"turn {i}"
            if turn.restart:
                await deps.close()
                deps = await _build(database_url, clock, flags)
            if turn.flags:
                flags.update(turn.flags)
                for name, value in turn.flags.items():
                    deps.flags.override(name, value)
            if turn.pms is not None:
                pms_mode = turn.pms
            hotel = await deps.hotels.get(journey.hotel)
            assert hotel is not None, f"no hotel {journey.hotel!r}"
            plugin = hotel.pms.plugin
            inner = deps.pms[plugin]
            if not isinstance(inner, FaultyPms):
                deps.pms[plugin] = FaultyPms(inner=inner)
            deps.pms[plugin].mode = pms_mode  # type: ignore[attr-defined]
            if turn.advance_hours:
                clock.advance(turn.advance_hours * 3600)
            before = await _last_outbox_id(deps)
            started = time.perf_counter()
            await _act(deps, journey, turn, session, clock)
            await _settle(deps)
            seconds = time.perf_counter() - started
            replies, intent = await _turn_output(deps, journey, session, before)
            result.turns.append(
                TurnResult(index=i, replies=replies, intent=intent, seconds=seconds)
            )
            result.failures.extend(
                f"{where}: {f}"
                for f in await _check_turn(deps, journey, session, turn, replies, intent)
            )
        state = await _state(deps, journey, session)
        result.handed_off = await _handoffs(deps) > 0
        result.failures.extend(await _check_end(deps, journey, state, result.handed_off))
    finally:
        await deps.close()
    return result


async def _act(deps: Deps, journey: Journey, turn: Turn, session: str, clock: FrozenClock) -> None:
    from agente import staff

    def message(**fields: Any) -> InboundMessage:
        return InboundMessage(
            channel="webchat",
            provider_message_id=uuid.uuid4().hex,
            hotel_id=journey.hotel,
            sender_id=session,
            sender_phone=journey.sender_phone,
            sender_email=journey.sender_email,
            **fields,
        )

    if turn.guest is not None or turn.choice is not None:
        kind = "interactive" if turn.choice else "text"
        await deps.ingress.accept([message(kind=kind, text=turn.guest, choice_id=turn.choice)])
    if turn.media is not None:
        mime = "application/pdf" if turn.media.endswith(".pdf") else "image/jpeg"
        media = Media(media_id=uuid.uuid4().hex, filename=turn.media, mime_type=mime)
        await deps.ingress.accept([message(kind="media", media=media)])
    if turn.staff is not None:
        async with deps.db.begin() as conn:
            conversation_id = (
                await conn.execute(
                    sa.select(conversations.c.id).where(conversations.c.sender_id == session)
                )
            ).scalar_one()
            _, state = await load_conversation(conn, journey.hotel, "webchat", session)
        if turn.staff == "confirm_deposit":
            assert state.reservation is not None, "no reservation to confirm"
            await staff.confirm_deposit(
                deps.db, deps.messages, state.reservation.client_reference, operator="journey"
            )
        elif turn.staff == "take_over":
            await staff.take_over(deps.db, deps.messages, clock, conversation_id, operator="j")
        else:
            await staff.release(deps.db, deps.messages, clock, conversation_id, operator="j")
    if turn.advance_hours:
        await staff.fire_due_timers(deps.db, deps.messages, clock)


async def _settle(deps: Deps, limit: int = 200) -> None:
    worker = deps.worker()
    idle = 0
    for _ in range(limit):
        done = await worker.run_inbox_once() + await worker.run_outbox_once()
        idle = idle + 1 if not done else 0
        if idle >= 2:
            return


async def _last_outbox_id(deps: Deps) -> int:
    async with deps.db.begin() as conn:
        return int((await conn.execute(sa.select(sa.func.max(outbox.c.id)))).scalar() or 0)


async def _turn_output(
    deps: Deps, journey: Journey, session: str, after: int
) -> tuple[list[dict[str, Any]], str | None]:
    key = f"{journey.hotel}:webchat:{session}"
    async with deps.db.begin() as conn:
        rows = (
            await conn.execute(
                sa.select(outbox.c.message, outbox.c.status)
                .where(outbox.c.conversation_key == key, outbox.c.id > after)
                .order_by(outbox.c.id)
            )
        ).all()
        last = (
            await conn.execute(
                sa.select(inbox.c.result, inbox.c.message)
                .where(inbox.c.conversation_key == key)
                .order_by(inbox.c.id.desc())
                .limit(1)
            )
        ).first()
    intent = (last.result or {}).get("intent") if last is not None else None
    return [r.message["body"] for r in rows], intent


def _text_of(body: dict[str, Any]) -> str:
    parts = [body.get("text") or "", body.get("caption") or "", body.get("button") or ""]
    parts += [b.get("title", "") for b in body.get("buttons") or []]
    for section in body.get("sections") or []:
        parts += [r.get("title", "") + " " + (r.get("description") or "") for r in section["rows"]]
    if body.get("type") == "location":
        parts.append(f"{body.get('name')} {body.get('address')}")
    return " ".join(parts)


async def _check_turn(
    deps: Deps,
    journey: Journey,
    session: str,
    turn: Turn,
    replies: list[dict[str, Any]],
    intent: str | None,
) -> list[str]:
    out: list[str] = []
    text = "\n".join(_text_of(b) for b in replies).lower()
    if turn.intent is not None and turn.guest is not None and intent != turn.intent:
        out.append(f"understood {intent!r}, expected {turn.intent!r}")
    for want in turn.reply:
        if want.lower() not in text:
            out.append(f"reply lacks {want!r}; it was: {text[:400]!r}")
    for unwanted in turn.no_reply:
        if unwanted.lower() in text:
            out.append(f"reply has {unwanted!r}; it was: {text[:400]!r}")
    if turn.types and [b.get("type") for b in replies] != turn.types:
        out.append(f"reply types {[b.get('type') for b in replies]}, expected {turn.types}")
    if turn.silent and replies:
        out.append(f"expected silence, got {text[:200]!r}")
    if not turn.silent and not replies and (turn.guest or turn.media):
        out.append("the guest got no reply")
    if turn.status is not None or turn.mode is not None:
        state = await _state(deps, journey, session)
        status = state.reservation.status if state.reservation else None
        if turn.status is not None and status != turn.status:
            out.append(f"reservation is {status!r}, expected {turn.status!r}")
        if turn.mode is not None and state.mode != turn.mode:
            out.append(f"conversation is {state.mode!r}, expected {turn.mode!r}")
    return out


async def _state(deps: Deps, journey: Journey, session: str) -> Any:
    async with deps.db.begin() as conn:
        _, state = await load_conversation(conn, journey.hotel, "webchat", session)
    return state


async def _handoffs(deps: Deps) -> int:
    async with deps.db.begin() as conn:
        return int(
            (
                await conn.execute(
                    sa.select(sa.func.count())
                    .select_from(staff_notifications)
                    .where(staff_notifications.c.reason != "payment_proof")
                )
            ).scalar_one()
        )


async def _check_end(deps: Deps, journey: Journey, state: Any, handed_off: bool) -> list[str]:
    e = journey.expect
    out: list[str] = []
    r = state.reservation
    if e.reservation is not None and (r.status if r else None) != e.reservation:
        out.append(f"end: reservation is {r.status if r else None!r}, expected {e.reservation!r}")
    if e.pms_status is not None or e.pms_paid is not None:
        if r is None or r.pms_booking_id is None:
            out.append("end: no PMS booking to check")
        else:
            hotel = await deps.hotels.get(journey.hotel)
            assert hotel is not None
            pms = deps.pms[hotel.pms.plugin]
            inner = pms.inner if isinstance(pms, FaultyPms) else pms
            booking = await inner.get_booking(hotel, r.pms_booking_id)
            if e.pms_status is not None and booking.status != e.pms_status:
                out.append(f"end: the PMS says {booking.status!r}, expected {e.pms_status!r}")
            if e.pms_paid is not None and booking.paid != Decimal(e.pms_paid):
                out.append(f"end: the PMS has {booking.paid} paid, expected {e.pms_paid}")
    if e.handoff is not None and handed_off != e.handoff:
        out.append(f"end: handed off to staff: {handed_off}, expected {e.handoff}")
    if e.notifications:
        async with deps.db.begin() as conn:
            reasons = {
                row.reason for row in await conn.execute(sa.select(staff_notifications.c.reason))
            }
        missing = [n for n in e.notifications if n not in reasons]
        if missing:
            out.append(f"end: staff were not notified of {missing} (got {sorted(reasons)})")
    return out


def summary(results: Sequence[JourneyResult]) -> dict[str, Any]:
    """Figures over many journeys: how many passed, how many needed staff, turn latencies."""
    seconds = sorted(t.seconds for r in results for t in r.turns)

    def pct(p: float) -> float:
        return seconds[min(len(seconds) - 1, int(p * len(seconds)))] if seconds else 0.0

    return {
        "journeys": len(results),
        "passed": sum(1 for r in results if r.ok),
        "without_handoff": sum(1 for r in results if not r.handed_off),
        "turns": len(seconds),
        "p50_ms": round(pct(0.50) * 1000, 1),
        "p99_ms": round(pct(0.99) * 1000, 1),
    }
