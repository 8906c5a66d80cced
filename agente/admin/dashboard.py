"""The operators' dashboard under ``/admin/``: server-rendered pages, forms, no JavaScript.

It follows the runbook "Confirmar Reserva con Seña": open the proof, click "Confirmar Reserva",
see that the voucher was sent. Spanish by default, English with ``?lang=en``. Every form carries
the session's CSRF token; the session cookie is HttpOnly, SameSite=Strict, and Secure over HTTPS.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from litestar import Request, Response, get, post
from litestar.exceptions import ClientException, HTTPException, NotAuthorizedException
from litestar.params import FromPath  # noqa: TC002 (Litestar reads the annotation at run time)
from litestar.response import Redirect, Template

from agente import staff
from agente.adapters.sql import conversations, outbox, reservations
from agente.admin import api
from agente.admin.auth import SESSION_COOKIE, SESSION_SECONDS
from agente.deps import AppDeps, Deps

__all__ = ["routes"]

TEXTS: dict[str, dict[str, Any]] = {
    "es": {
        "title": "Panel", "panel": "Panel del hotel", "logout": "Salir", "login": "Entrar",
        "login_title": "Entrar al panel", "key": "Clave de API",
        "login_help": "Pedile una clave a quien administra Agente: agente admin create-key.",
        "deposits": "Señas para verificar", "no_deposits": "No hay señas esperando verificación.",
        "waiting": "Conversaciones esperando a una persona", "no_waiting": "Nadie espera.",
        "flags": "Funciones", "on": "activada", "off": "desactivada", "turn_on": "Activar",
        "turn_off": "Desactivar", "booking": "Reserva", "guest": "Huésped", "stay": "Estadía",
        "deposit": "Seña", "total": "Total", "open": "Abrir", "channel": "Canal",
        "reason": "Motivo", "status": "Estado", "proof": "Comprobante",
        "no_proof": "El huésped todavía no mandó comprobante (avisó por texto).",
        "proof_reference": "Comprobante recibido por el canal, sin descargar:",
        "amount": "Monto recibido", "confirm": "Confirmar Reserva", "reject": "Rechazar",
        "voucher_sent": "Reserva confirmada: el voucher se le envió al huésped.",
        "conversation": "Conversación", "mode": "Modo", "send": "Enviar al huésped",
        "release": "Devolver al asistente", "take_over": "Tomar la conversación",
        "bad_key": "Esa clave no es válida.", "confirmed": "Seña confirmada. Enviando el voucher…",
        "rejected": "Seña rechazada; se le avisó al huésped.", "sent": "Mensaje enviado.",
        "statuses": {"pending_deposit": "esperando la seña",
                     "awaiting_verification": "comprobante por verificar",
                     "confirmed": "confirmada", "cancelled": "cancelada", "expired": "vencida",
                     "requested": "pedida", "failed": "fallida"},
    },
    "en": {
        "title": "Dashboard", "panel": "Hotel dashboard", "logout": "Log out", "login": "Log in",
        "login_title": "Log in to the dashboard", "key": "API key",
        "login_help": "Ask whoever runs Agente for a key: agente admin create-key.",
        "deposits": "Deposits to verify", "no_deposits": "No deposits waiting for verification.",
        "waiting": "Conversations waiting for a person", "no_waiting": "Nobody is waiting.",
        "flags": "Features", "on": "on", "off": "off", "turn_on": "Turn on",
        "turn_off": "Turn off", "booking": "Booking", "guest": "Guest", "stay": "Stay",
        "deposit": "Deposit", "total": "Total", "open": "Open", "channel": "Channel",
        "reason": "Reason", "status": "Status", "proof": "Payment proof",
        "no_proof": "The guest has not sent a receipt yet (they said so in text).",
        "proof_reference": "Receipt received through the channel, not downloaded:",
        "amount": "Amount received", "confirm": "Confirm booking", "reject": "Reject",
        "voucher_sent": "Booking confirmed: the voucher was sent to the guest.",
        "conversation": "Conversation", "mode": "Mode", "send": "Send to the guest",
        "release": "Hand back to the assistant", "take_over": "Take the conversation",
        "bad_key": "That key is not valid.", "confirmed": "Deposit confirmed. Sending the voucher…",
        "rejected": "Deposit rejected; the guest was told.", "sent": "Message sent.",
        "statuses": {"pending_deposit": "waiting for the deposit",
                     "awaiting_verification": "receipt to verify", "confirmed": "confirmed",
                     "cancelled": "cancelled", "expired": "expired", "requested": "requested",
                     "failed": "failed"},
    },
}  # fmt: skip


def _lang(request: Request[Any, Any, Any]) -> str:
    lang = request.query_params.get("lang") or request.cookies.get("agente_lang") or "es"
    return lang if lang in TEXTS else "es"


async def _page(request: Request[Any, Any, Any], deps: Deps, name: str, **context: Any) -> Template:
    lang = _lang(request)
    session = deps.admin.read_session(request.cookies.get(SESSION_COOKIE))
    message = request.query_params.get("msg")
    response = Template(
        template_name=name,
        context={
            "t": TEXTS[lang],
            "lang": lang,
            "csrf": session.csrf if session else "",
            "message": TEXTS[lang].get(message or "", None),
            "error": message == "bad_key",
            **context,
        },
        headers={
            "Cache-Control": "no-store",
            "X-Frame-Options": "DENY",
            "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; object-src 'self'",
        },
    )
    response.set_cookie("agente_lang", lang, samesite="strict", httponly=True)
    return response


async def _principal_or_login(request: Request[Any, Any, Any], deps: Deps) -> Any:
    try:
        return await deps.admin.authenticate(request)
    except NotAuthorizedException:
        return None


@get("/admin/", include_in_schema=False)
async def home(request: Request[Any, Any, Any], deps: AppDeps) -> Template:
    principal = await _principal_or_login(request, deps)
    if principal is None:
        return await _page(request, deps, "login.html", principal=None)
    query = sa.select(reservations).where(
        reservations.c.status.in_(["awaiting_verification", "pending_deposit"])
    ).order_by(reservations.c.status, reservations.c.id.desc()).limit(100)  # fmt: skip
    waiting_q = sa.select(conversations).where(conversations.c.mode == "human").order_by(
        conversations.c.updated_at.desc()
    ).limit(100)  # fmt: skip
    if principal.hotel_id is not None:
        query = query.where(reservations.c.hotel_id == principal.hotel_id)
        waiting_q = waiting_q.where(conversations.c.hotel_id == principal.hotel_id)
    async with deps.db.begin() as conn:
        deposits = [api._reservation_json(r) for r in (await conn.execute(query)).all()]
        waiting = []
        for c in (await conn.execute(waiting_q)).all():
            state = c.state or {}
            waiting.append({"id": c.id, "channel": c.channel, "sender_id": c.sender_id,
                            "guest_name": state.get("guest_name"),
                            "handoff_reason": state.get("handoff_reason")})  # fmt: skip
    snapshot = await deps.flags.snapshot()
    flags = [
        {"flag": n, "enabled": v, "source": snapshot.sources.get(n, "default")}
        for n, v in sorted(snapshot.values.items())
    ]
    return await _page(request, deps, "home.html", principal=principal, deposits=deposits,
                       waiting=waiting, flags=flags)  # fmt: skip


@post("/admin/login", include_in_schema=False, status_code=303)
async def login(request: Request[Any, Any, Any], deps: AppDeps) -> Response[Any]:
    lang = _lang(request)
    form = await request.form()
    principal = await deps.admin.keys.verify(str(form.get("key") or "").strip())
    if principal is None:
        if deps.admin.failures is not None:
            deps.admin.failures.inc()
        return Redirect(f"/admin/?lang={lang}&msg=bad_key", status_code=303)
    cookie, _ = deps.admin.session_cookie(principal)
    response = Redirect(f"/admin/?lang={lang}", status_code=303)
    response.set_cookie(
        SESSION_COOKIE, cookie, httponly=True, samesite="strict", max_age=SESSION_SECONDS,
        secure=request.url.scheme == "https", path="/admin",
    )  # fmt: skip
    return response


@post("/admin/logout", include_in_schema=False, status_code=303)
async def logout(request: Request[Any, Any, Any], deps: AppDeps) -> Response[Any]:
    form = await request.form()
    await deps.admin.authenticate(request, form_csrf=str(form.get("csrf") or ""))
    response = Redirect("/admin/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/admin")
    return response


@get("/admin/ui/deposits/{ref:str}", include_in_schema=False)
async def deposit_page(
    request: Request[Any, Any, Any], deps: AppDeps, ref: FromPath[str]
) -> Response[Any]:
    principal = await _principal_or_login(request, deps)
    if principal is None:
        return Redirect(f"/admin/?lang={_lang(request)}", status_code=303)
    row = await api._reservation(deps, principal, ref)
    voucher_sent = False
    if row.status == "confirmed" and row.conversation_id is not None:
        async with deps.db.begin() as conn:
            conv = (
                await conn.execute(
                    sa.select(conversations).where(conversations.c.id == row.conversation_id)
                )
            ).first()
            if conv is not None:
                key = f"{conv.hotel_id}:{conv.channel}:{conv.sender_id}"
                docs = (
                    await conn.execute(
                        sa.select(outbox.c.message, outbox.c.status).where(
                            outbox.c.conversation_key == key
                        )
                    )
                ).all()
                voucher_sent = any(
                    d.message.get("body", {}).get("type") == "document"
                    and d.status in ("sent", "delivered", "read") for d in docs
                )  # fmt: skip
    return await _page(request, deps, "deposit.html", principal=principal,
                       r=api._reservation_json(row), voucher_sent=voucher_sent)  # fmt: skip


async def _form_action(request: Request[Any, Any, Any], deps: Deps) -> tuple[Any, Any]:
    form = await request.form()
    principal = await deps.admin.authenticate(request, form_csrf=str(form.get("csrf") or ""))
    return principal, form


@post("/admin/ui/deposits/{ref:str}/confirm", include_in_schema=False, status_code=303)
async def deposit_confirm(
    request: Request[Any, Any, Any], deps: AppDeps, ref: FromPath[str]
) -> Response[Any]:
    principal, form = await _form_action(request, deps)
    row = await api._reservation(deps, principal, ref)
    amount = None
    if form.get("amount"):
        try:
            amount = Decimal(str(form.get("amount")).replace(",", "."))
        except InvalidOperation as exc:
            raise ClientException("the amount must be a number") from exc
    try:
        await staff.confirm_deposit(deps.db, deps.messages, row.client_reference,
                                    operator=principal.key_id, amount=amount)  # fmt: skip
    except staff.StaffError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc
    deps.notifier.wake_worker()
    await deps.admin.audit(principal, "deposit.confirm", row.client_reference, hotel_id=row.hotel_id,
                           before={"status": row.status}, after={"amount": str(amount)})  # fmt: skip
    return Redirect(f"/admin/ui/deposits/{row.client_reference}?lang={_lang(request)}&msg=confirmed",
                    status_code=303)  # fmt: skip


@post("/admin/ui/deposits/{ref:str}/reject", include_in_schema=False, status_code=303)
async def deposit_reject(
    request: Request[Any, Any, Any], deps: AppDeps, ref: FromPath[str]
) -> Response[Any]:
    principal, form = await _form_action(request, deps)
    row = await api._reservation(deps, principal, ref)
    reason = str(form.get("reason") or "").strip()[:500] or "-"
    try:
        await staff.reject_deposit(deps.db, deps.messages, deps.clock, row.client_reference,
                                   operator=principal.key_id, reason=reason)  # fmt: skip
    except staff.StaffError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc
    deps.notifier.wake_worker()
    await deps.admin.audit(principal, "deposit.reject", row.client_reference, hotel_id=row.hotel_id,
                           before={"status": row.status}, after={"reason": reason})  # fmt: skip
    return Redirect(f"/admin/?lang={_lang(request)}&msg=rejected", status_code=303)


@get("/admin/ui/conversations/{cid:int}", include_in_schema=False)
async def conversation_page(
    request: Request[Any, Any, Any], deps: AppDeps, cid: FromPath[int]
) -> Response[Any]:
    principal = await _principal_or_login(request, deps)
    if principal is None:
        return Redirect(f"/admin/?lang={_lang(request)}", status_code=303)
    row = await api._conversation(deps, principal, cid)
    return await _page(request, deps, "conversation.html", principal=principal,
                       c=api._plain(row), transcript=await api.transcript(deps, row))  # fmt: skip


@post("/admin/ui/conversations/{cid:int}/{action:str}", include_in_schema=False, status_code=303)
async def conversation_action(
    request: Request[Any, Any, Any], deps: AppDeps, cid: FromPath[int], action: FromPath[str]
) -> Response[Any]:
    principal, form = await _form_action(request, deps)
    row = await api._conversation(deps, principal, cid)
    if action == "reply":
        await staff.say(deps.db, deps.messages, deps.clock, cid, operator=principal.key_id,
                        text=str(form.get("text") or "")[:4000])  # fmt: skip
    elif action == "take-over":
        await staff.take_over(deps.db, deps.messages, deps.clock, cid, operator=principal.key_id)
    elif action == "release":
        await staff.release(deps.db, deps.messages, deps.clock, cid, operator=principal.key_id)
    else:
        raise ClientException("unknown action")
    deps.notifier.wake_worker()
    await deps.admin.audit(principal, f"conversation.{action}", str(cid), hotel_id=row.hotel_id)
    return Redirect(
        f"/admin/ui/conversations/{cid}?lang={_lang(request)}&msg=sent", status_code=303
    )


@post("/admin/ui/flags/{flag:str}", include_in_schema=False, status_code=303)
async def flag_action(
    request: Request[Any, Any, Any], deps: AppDeps, flag: FromPath[str]
) -> Response[Any]:
    form = await request.form()
    principal = await deps.admin.authenticate(
        request, role="admin", form_csrf=str(form.get("csrf") or "")
    )
    enabled = str(form.get("enabled")) == "1"
    before = (await deps.flags.snapshot()).values.get(flag)
    await deps.flags.set(flag, enabled)
    await deps.admin.audit(principal, "flag.set", flag, hotel_id=None,
                           before={"enabled": before}, after={"enabled": enabled})  # fmt: skip
    return Redirect(f"/admin/?lang={_lang(request)}", status_code=303)


def routes() -> list[Any]:
    return [home, login, logout, deposit_page, deposit_confirm, deposit_reject,
            conversation_page, conversation_action, flag_action]  # fmt: skip
