"""The admin JSON API under ``/admin`` (documented in the OpenAPI schema at ``/schema``).

Every route authenticates (``Admin.authenticate``), checks the hotel scope, and writes an audit
row for what it changes. State changes on conversations and reservations go through the same
events the CLI uses (``agente/staff.py``): queued in the inbox for the guest's conversation and
handled by the worker, so the dialogue, the PMS and the voucher behave exactly as from the CLI.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import msgspec
import sqlalchemy as sa
from litestar import Request, Response, delete, get, post, put
from litestar.exceptions import ClientException, NotFoundException
from litestar.params import FromPath, JSONBody, QueryParameter

from agente import staff
from agente.adapters.sql import (
    conversations,
    dead_letters,
    inbox,
    outbox,
    reservations,
)
from agente.adapters.sql import (
    hotels as hotels_table,
)
from agente.deps import AppDeps, Deps
from agente.domain import Hotel

__all__ = ["routes"]

_FLAG_NAME = r"^[a-z0-9_.]{1,100}$"


class FlagIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    enabled: bool


class DepositIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    amount: str | None = None


class RejectIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class ReplyIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]


class KeyIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    role: str = "operator"
    hotel_id: str | None = None
    label: str = ""


def _plain(row: Any) -> dict[str, Any]:
    out = {}
    for k, v in row._asdict().items():
        if hasattr(v, "isoformat"):
            v = v.isoformat()
        elif isinstance(v, Decimal):
            v = str(v)
        out[k] = v
    return out


# ---------------------------------------------------------------------------- flags


@get("/admin/feature-flags", tags=["admin"])
async def list_flags(request: Request[Any, Any, Any], deps: AppDeps) -> dict[str, Any]:
    """Every flag with its value and where it comes from (Redis hash ``feature_flags``, or the
    default in code)."""
    await deps.admin.authenticate(request)
    snapshot = await deps.flags.snapshot()
    return {
        "flags": [
            {"flag": name, "enabled": value, "source": snapshot.sources.get(name, "default")}
            for name, value in sorted(snapshot.values.items())
        ]
    }


@put("/admin/feature-flags/{flag:str}", tags=["admin"])
async def set_flag(
    request: Request[Any, Any, Any], deps: AppDeps, flag: FromPath[str], data: JSONBody[FlagIn]
) -> dict[str, Any]:
    """Turn a flag on or off for every process (admin). Without Redis, for this process."""
    principal = await deps.admin.authenticate(request, role="admin")
    import re

    if not re.fullmatch(_FLAG_NAME, flag):
        raise ClientException("a flag name is lowercase letters, digits, dots and underscores")
    before = (await deps.flags.snapshot()).values.get(flag)
    await deps.flags.set(flag, data.enabled)
    after = await deps.flags.snapshot()
    await deps.admin.audit(principal, "flag.set", flag, hotel_id=None,
                           before={"enabled": before}, after={"enabled": data.enabled})  # fmt: skip
    return {"flag": flag, "enabled": after.values.get(flag), "source": after.sources.get(flag)}


# ---------------------------------------------------------------------------- reservations


async def _reservation(deps: Deps, principal: Any, ref: str) -> Any:
    async with deps.db.begin() as conn:
        row = (
            await conn.execute(
                sa.select(reservations).where(
                    sa.or_(
                        reservations.c.client_reference == ref,
                        reservations.c.pms_booking_id == ref,
                    )
                )
            )
        ).first()
    if row is None or not principal.sees(row.hotel_id):
        raise NotFoundException("no such reservation")
    return row


def _reservation_json(row: Any) -> dict[str, Any]:
    data = dict(row.data or {})
    out = _plain(row)
    out.pop("data", None)
    out["guest_name"] = data.get("guest_name")
    out["guest_email"] = data.get("guest_email")
    out["paid"] = data.get("paid")
    out["proofs"] = [
        {"n": n, "mime_type": p.get("mime_type"), "filename": p.get("filename"),
         "url": f"/admin/reservations/{row.client_reference}/proofs/{n}" if p.get("stored_key")
         else None}
        for n, p in enumerate(data.get("proofs") or [])
    ]  # fmt: skip
    return out


@get("/admin/reservations", tags=["admin"])
async def list_reservations(
    request: Request[Any, Any, Any],
    deps: AppDeps,
    status: Annotated[str | None, QueryParameter(max_length=32)] = None,
    hotel: Annotated[str | None, QueryParameter(max_length=64)] = None,
) -> dict[str, Any]:
    """Reservations, newest first; ``status=awaiting_verification`` is the deposit queue."""
    principal = await deps.admin.authenticate(request)
    query = sa.select(reservations).order_by(reservations.c.id.desc()).limit(200)
    if status:
        query = query.where(reservations.c.status == status)
    if principal.hotel_id is not None:
        query = query.where(reservations.c.hotel_id == principal.hotel_id)
    elif hotel:
        query = query.where(reservations.c.hotel_id == hotel)
    async with deps.db.begin() as conn:
        rows = (await conn.execute(query)).all()
    return {"reservations": [_reservation_json(r) for r in rows]}


@get("/admin/reservations/{ref:str}", tags=["admin"])
async def get_reservation(
    request: Request[Any, Any, Any], deps: AppDeps, ref: FromPath[str]
) -> dict[str, Any]:
    principal = await deps.admin.authenticate(request)
    return _reservation_json(await _reservation(deps, principal, ref))


@get("/admin/reservations/{ref:str}/proofs/{n:int}", tags=["admin"])
async def get_proof(
    request: Request[Any, Any, Any], deps: AppDeps, ref: FromPath[str], n: FromPath[int]
) -> Response[bytes]:
    """The payment proof the guest sent, as they sent it (image or PDF), to view inline."""
    principal = await deps.admin.authenticate(request)
    row = await _reservation(deps, principal, ref)
    proofs = (row.data or {}).get("proofs") or []
    if not 0 <= n < len(proofs) or not proofs[n].get("stored_key"):
        raise NotFoundException("no such proof")
    stored = await _documents(deps).get(proofs[n]["stored_key"])
    if stored is None:
        raise NotFoundException("no such proof")
    content, mime, filename = stored
    return Response(
        content,
        media_type=mime,
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


def _documents(deps: Deps) -> Any:
    from agente.adapters.sql import SqlDocuments

    return SqlDocuments(deps.db, deps.clock)


@post("/admin/reservations/{ref:str}/confirm-deposit", tags=["admin"], status_code=202)
async def confirm_deposit(
    request: Request[Any, Any, Any],
    deps: AppDeps,
    ref: FromPath[str],
    data: JSONBody[DepositIn | None] = None,
) -> dict[str, Any]:
    """Staff verified the deposit: the payment goes to the PMS, the booking is confirmed and
    the voucher sent to the guest (by the worker, in order with the guest's messages)."""
    principal = await deps.admin.authenticate(request)
    row = await _reservation(deps, principal, ref)
    amount = None
    if data is not None and data.amount:
        try:
            amount = Decimal(data.amount)
        except InvalidOperation as exc:
            raise ClientException("amount must be a number, e.g. 76500.00") from exc
    try:
        await staff.confirm_deposit(
            deps.db, deps.messages, row.client_reference, operator=principal.key_id, amount=amount
        )
    except staff.StaffError as exc:
        raise ClientException(str(exc), status_code=409) from exc
    deps.notifier.wake_worker()
    await deps.admin.audit(principal, "deposit.confirm", row.client_reference,
                           hotel_id=row.hotel_id, before={"status": row.status},
                           after={"amount": str(amount) if amount else None})  # fmt: skip
    return {"queued": True, "reservation": row.client_reference}


@post("/admin/reservations/{ref:str}/reject-deposit", tags=["admin"], status_code=202)
async def reject_deposit(
    request: Request[Any, Any, Any], deps: AppDeps, ref: FromPath[str], data: JSONBody[RejectIn]
) -> dict[str, Any]:
    """The deposit could not be verified: the guest is told why and may send it again."""
    principal = await deps.admin.authenticate(request)
    row = await _reservation(deps, principal, ref)
    try:
        await staff.reject_deposit(
            deps.db, deps.messages, deps.clock, row.client_reference,
            operator=principal.key_id, reason=data.reason,
        )  # fmt: skip
    except staff.StaffError as exc:
        raise ClientException(str(exc), status_code=409) from exc
    deps.notifier.wake_worker()
    await deps.admin.audit(principal, "deposit.reject", row.client_reference,
                           hotel_id=row.hotel_id, before={"status": row.status},
                           after={"reason": data.reason})  # fmt: skip
    return {"queued": True, "reservation": row.client_reference}


# ---------------------------------------------------------------------------- conversations


async def _conversation(deps: Deps, principal: Any, conversation_id: int) -> Any:
    async with deps.db.begin() as conn:
        row = (
            await conn.execute(
                sa.select(conversations).where(conversations.c.id == conversation_id)
            )
        ).first()
    if row is None or not principal.sees(row.hotel_id):
        raise NotFoundException("no such conversation")
    return row


@get("/admin/conversations", tags=["admin"])
async def list_conversations(
    request: Request[Any, Any, Any],
    deps: AppDeps,
    mode: Annotated[str | None, QueryParameter(max_length=16)] = None,
    hotel: Annotated[str | None, QueryParameter(max_length=64)] = None,
    channel: Annotated[str | None, QueryParameter(max_length=32)] = None,
) -> dict[str, Any]:
    """Conversations, latest first; ``mode=human`` is the queue of guests waiting for a person."""
    principal = await deps.admin.authenticate(request)
    query = sa.select(
        conversations.c.id, conversations.c.hotel_id, conversations.c.channel,
        conversations.c.sender_id, conversations.c.mode, conversations.c.updated_at,
        conversations.c.state,
    ).order_by(conversations.c.updated_at.desc()).limit(200)  # fmt: skip
    if mode:
        query = query.where(conversations.c.mode == mode)
    if channel:
        query = query.where(conversations.c.channel == channel)
    if principal.hotel_id is not None:
        query = query.where(conversations.c.hotel_id == principal.hotel_id)
    elif hotel:
        query = query.where(conversations.c.hotel_id == hotel)
    async with deps.db.begin() as conn:
        rows = (await conn.execute(query)).all()
    out = []
    for r in rows:
        item = _plain(r)
        state = item.pop("state") or {}
        item["handoff_reason"] = state.get("handoff_reason")
        item["guest_name"] = state.get("guest_name")
        item["last_intent"] = state.get("last_intent")
        out.append(item)
    return {"conversations": out}


async def transcript(deps: Deps, row: Any) -> list[dict[str, Any]]:
    """The conversation in order: the guest's messages, staff events and the agent's replies."""
    key = f"{row.hotel_id}:{row.channel}:{row.sender_id}"
    async with deps.db.begin() as conn:
        ins = (
            await conn.execute(
                sa.select(inbox.c.id, inbox.c.message, inbox.c.received_at, inbox.c.result)
                .where(inbox.c.conversation_key == key)
                .order_by(inbox.c.id)
            )
        ).all()
        outs = (
            await conn.execute(
                sa.select(outbox.c.id, outbox.c.message, outbox.c.created_at, outbox.c.status)
                .where(outbox.c.conversation_key == key)
                .order_by(outbox.c.id)
            )
        ).all()
    items: list[dict[str, Any]] = []
    for r in ins:
        m = r.message
        event = m.get("event") or {}
        items.append({
            "at": r.received_at.isoformat(),
            "direction": "event" if m.get("kind") == "event" else "in",
            "kind": event.get("kind") or m.get("kind"),
            "text": m.get("text") or event.get("text") or event.get("reason"),
            "intent": (r.result or {}).get("intent"),
        })  # fmt: skip
    for r in outs:
        body = r.message.get("body") or {}
        items.append({
            "at": r.created_at.isoformat(),
            "direction": "out",
            "kind": body.get("type"),
            "text": body.get("text") or body.get("caption"),
            "status": r.status,
        })  # fmt: skip
    items.sort(key=lambda i: i["at"])
    return items


@get("/admin/conversations/{cid:int}", tags=["admin"])
async def get_conversation(
    request: Request[Any, Any, Any], deps: AppDeps, cid: FromPath[int]
) -> dict[str, Any]:
    principal = await deps.admin.authenticate(request)
    row = await _conversation(deps, principal, cid)
    item = _plain(row)
    item["transcript"] = await transcript(deps, row)
    return item


async def _conversation_action(
    request: Request[Any, Any, Any], deps: Deps, cid: int, action: str, text: str | None = None
) -> dict[str, Any]:
    principal = await deps.admin.authenticate(request)
    row = await _conversation(deps, principal, cid)
    if action == "take-over":
        await staff.take_over(deps.db, deps.messages, deps.clock, cid, operator=principal.key_id)
    elif action == "release":
        await staff.release(deps.db, deps.messages, deps.clock, cid, operator=principal.key_id)
    else:
        await staff.say(
            deps.db, deps.messages, deps.clock, cid, operator=principal.key_id, text=text or ""
        )
    deps.notifier.wake_worker()
    await deps.admin.audit(principal, f"conversation.{action}", str(cid), hotel_id=row.hotel_id,
                           before={"mode": row.mode}, after={"text": text} if text else None)  # fmt: skip
    return {"queued": True, "conversation": cid}


@post("/admin/conversations/{cid:int}/take-over", tags=["admin"], status_code=202)
async def take_over(
    request: Request[Any, Any, Any], deps: AppDeps, cid: FromPath[int]
) -> dict[str, Any]:
    """Staff answer this guest: the bot stays silent until released."""
    return await _conversation_action(request, deps, cid, "take-over")


@post("/admin/conversations/{cid:int}/reply", tags=["admin"], status_code=202)
async def reply(
    request: Request[Any, Any, Any], deps: AppDeps, cid: FromPath[int], data: JSONBody[ReplyIn]
) -> dict[str, Any]:
    """Write to the guest through the conversation's own channel."""
    return await _conversation_action(request, deps, cid, "reply", data.text)


@post("/admin/conversations/{cid:int}/release", tags=["admin"], status_code=202)
async def release(
    request: Request[Any, Any, Any], deps: AppDeps, cid: FromPath[int]
) -> dict[str, Any]:
    """Hand the conversation back to the bot."""
    return await _conversation_action(request, deps, cid, "release")


# ---------------------------------------------------------------------------- dead letters


@get("/admin/dead-letters", tags=["admin"])
async def list_dead_letters(request: Request[Any, Any, Any], deps: AppDeps) -> dict[str, Any]:
    principal = await deps.admin.authenticate(request)
    query = sa.select(
        dead_letters.c.id, dead_letters.c.source, dead_letters.c.source_id,
        dead_letters.c.channel, dead_letters.c.hotel_id, dead_letters.c.error,
        dead_letters.c.attempts, dead_letters.c.created_at, dead_letters.c.replayed_at,
    ).order_by(dead_letters.c.id.desc()).limit(200)  # fmt: skip
    if principal.hotel_id is not None:
        query = query.where(dead_letters.c.hotel_id == principal.hotel_id)
    async with deps.db.begin() as conn:
        rows = (await conn.execute(query)).all()
    return {"dead_letters": [_plain(r) for r in rows]}


@post("/admin/dead-letters/{did:int}/replay", tags=["admin"], status_code=202)
async def replay_dead_letter(
    request: Request[Any, Any, Any], deps: AppDeps, did: FromPath[int]
) -> dict[str, Any]:
    """Put the message back in its queue for a fresh set of attempts."""
    principal = await deps.admin.authenticate(request)
    async with deps.db.begin() as conn:
        row = (await conn.execute(sa.select(dead_letters).where(dead_letters.c.id == did))).first()
        if row is None or not principal.sees(row.hotel_id):
            raise NotFoundException("no such dead letter")
        if row.replayed_at is not None:
            raise ClientException("already replayed", status_code=409)
        now = deps.clock.now()
        if row.source == "outbox":
            await conn.execute(
                outbox.update().where(outbox.c.id == row.source_id).values(
                    status="pending", attempts=0, next_attempt_at=now, lease_owner=None,
                    lease_until=None, updated_at=now,
                )
            )  # fmt: skip
        else:
            await conn.execute(
                inbox.update().where(inbox.c.id == row.source_id).values(
                    status="pending", attempts=0, available_at=now, lease_owner=None,
                    lease_until=None,
                )
            )  # fmt: skip
        await conn.execute(
            dead_letters.update().where(dead_letters.c.id == did).values(replayed_at=now)
        )
    deps.notifier.wake_worker()
    await deps.admin.audit(principal, "dead_letter.replay", str(did), hotel_id=row.hotel_id,
                           before={"error": row.error})  # fmt: skip
    return {"queued": True, "dead_letter": did}


# ---------------------------------------------------------------------------- plugins, hotels, keys


@get("/admin/plugins", tags=["admin"])
async def list_plugins(request: Request[Any, Any, Any], deps: AppDeps) -> dict[str, Any]:
    await deps.admin.authenticate(request)
    out = []
    for group, loaded in (
        ("agente.channels", deps.channel_plugins),
        ("agente.pms", deps.pms_plugins),
    ):
        for name, item in sorted(loaded.items()):
            out.append({"group": group, "name": name, "distribution": item.installed.distribution,
                        "version": item.installed.version})  # fmt: skip
    return {"plugins": out}


@get("/admin/hotels/{hotel_id:str}", tags=["admin"])
async def get_hotel(
    request: Request[Any, Any, Any], deps: AppDeps, hotel_id: FromPath[str]
) -> dict[str, Any]:
    principal = await deps.admin.authenticate(request)
    deps.admin.scoped(principal, hotel_id, "hotel")
    hotel = await deps.hotels.get(hotel_id)
    if hotel is None:
        raise NotFoundException("no hotel")
    return msgspec.to_builtins(hotel)  # type: ignore[no-any-return]


@put("/admin/hotels/{hotel_id:str}", tags=["admin"])
async def put_hotel(
    request: Request[Any, Any, Any], deps: AppDeps, hotel_id: FromPath[str], data: JSONBody[Hotel]
) -> dict[str, Any]:
    """Replace the hotel's configuration (admin). The whole document, validated; the id stays."""
    principal = await deps.admin.authenticate(request, role="admin")
    deps.admin.scoped(principal, hotel_id, "hotel")
    before = await deps.hotels.get(hotel_id)
    if before is None:
        raise NotFoundException("no hotel")
    if data.id != hotel_id:
        raise ClientException("the hotel's id cannot change")
    async with deps.db.begin() as conn:
        await conn.execute(
            hotels_table.update().where(hotels_table.c.id == hotel_id).values(
                config=msgspec.to_builtins(data), name=data.name, updated_at=deps.clock.now()
            )
        )  # fmt: skip
    await deps.hotels.refresh()
    await deps.admin.audit(principal, "hotel.update", hotel_id, hotel_id=hotel_id,
                           before=before, after=data)  # fmt: skip
    return msgspec.to_builtins(data)  # type: ignore[no-any-return]


@get("/admin/keys", tags=["admin"])
async def list_keys(request: Request[Any, Any, Any], deps: AppDeps) -> dict[str, Any]:
    await deps.admin.authenticate(request, role="admin")
    return {"keys": await deps.admin.keys.list()}


@post("/admin/keys", tags=["admin"], status_code=201)
async def create_key(
    request: Request[Any, Any, Any], deps: AppDeps, data: JSONBody[KeyIn]
) -> dict[str, Any]:
    """A new key, shown once in this answer and never again."""
    principal = await deps.admin.authenticate(request, role="admin")
    if data.role not in ("operator", "admin"):
        raise ClientException("role is operator or admin")
    if principal.hotel_id is not None and data.hotel_id != principal.hotel_id:
        raise NotFoundException("no hotel")
    key_id, key = await deps.admin.keys.create(
        role="admin" if data.role == "admin" else "operator",
        hotel_id=data.hotel_id,
        label=data.label,
    )
    await deps.admin.audit(principal, "key.create", key_id, hotel_id=data.hotel_id,
                           after={"role": data.role, "hotel_id": data.hotel_id})  # fmt: skip
    return {"id": key_id, "key": key, "role": data.role, "hotel_id": data.hotel_id}


@delete("/admin/keys/{key_id:str}", tags=["admin"], status_code=200)
async def revoke_key(
    request: Request[Any, Any, Any], deps: AppDeps, key_id: FromPath[str]
) -> dict[str, Any]:
    principal = await deps.admin.authenticate(request, role="admin")
    if not await deps.admin.keys.revoke(key_id):
        raise NotFoundException("no such active key")
    await deps.admin.audit(principal, "key.revoke", key_id, hotel_id=None)
    return {"revoked": key_id}


def routes() -> list[Any]:
    return [
        list_flags, set_flag, list_reservations, get_reservation, get_proof, confirm_deposit,
        reject_deposit, list_conversations, get_conversation, take_over, reply, release,
        list_dead_letters, replay_dead_letter, list_plugins, get_hotel, put_hotel, list_keys,
        create_key, revoke_key,
    ]  # fmt: skip
