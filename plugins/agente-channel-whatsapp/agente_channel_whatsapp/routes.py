"""The webhook: ``GET /webhooks/whatsapp`` (the handshake) and ``POST /webhooks/whatsapp``.

The POST checks ``X-Hub-Signature-256`` over the raw body bytes before anything else (fail
closed: no secret, no header or a wrong one is a 401 and nothing is stored), decodes the
envelope once with a typed decoder, stores every message of every entry and change in one
transaction, applies every status, and answers 200 only after the commit. Nothing slow happens
before the 200: the worker does the rest.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING, Annotated, Any

import msgspec
import structlog
from litestar import Request, Response, get, post
from litestar.params import QueryParameter

from agente.registry import IngressDependency
from agente_channel_whatsapp.wire import CHANNEL, Envelope, messages_of, statuses_of

if TYPE_CHECKING:
    from agente_channel_whatsapp.channel import WhatsAppChannel

__all__ = ["handshake", "receive", "valid_signature"]

log = structlog.get_logger("agente.whatsapp")
_DECODER = msgspec.json.Decoder(Envelope)
MAX_BODY = 4 * 1024 * 1024  # Meta sends up to 3 MB


def valid_signature(raw: bytes, header: str | None, secret: bytes) -> bool:
    """HMAC-SHA256 of the raw bytes with the app secret, compared in constant time."""
    if not secret or not header or not header.startswith("sha256="):
        return False
    digest = hmac.new(secret, raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(digest, header[7:].strip().lower())


@get("/webhooks/whatsapp", tags=["whatsapp"], media_type="text/plain")
async def handshake(
    ingress: IngressDependency,
    mode: Annotated[str | None, QueryParameter(name="hub.mode")] = None,
    token: Annotated[str | None, QueryParameter(name="hub.verify_token")] = None,
    challenge: Annotated[str | None, QueryParameter(name="hub.challenge")] = None,
) -> Response[str]:
    """Meta's subscription check: echo ``hub.challenge`` when the verify token matches."""
    channel: WhatsAppChannel = ingress.channel(CHANNEL)
    expected = channel.settings.verify_token.reveal()
    if mode == "subscribe" and token and hmac.compare_digest(token, expected) and challenge:
        return Response(challenge, media_type="text/plain", status_code=200)
    log.warning("whatsapp_handshake_refused", mode=mode)
    return Response("forbidden", media_type="text/plain", status_code=403)


@post(
    "/webhooks/whatsapp",
    tags=["whatsapp"],
    status_code=200,
    request_max_body_size=MAX_BODY,
)
async def receive(request: Request[Any, Any, Any], ingress: IngressDependency) -> Response[Any]:
    """Store what Meta sent; 200 once it is committed (the echo of replies in test mode)."""
    channel: WhatsAppChannel = ingress.channel(CHANNEL)
    raw = await request.body()
    secret = channel.settings.app_secret.reveal().encode()
    if not valid_signature(raw, request.headers.get("x-hub-signature-256"), secret):
        channel.metrics.signature_failures.inc()
        log.warning("whatsapp_signature_refused", bytes=len(raw))
        return Response({"error": "invalid signature"}, status_code=401)
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("application/json"):
        log.warning("whatsapp_wrong_content_type", content_type=content_type[:80])
        return Response({"error": "expected application/json"}, status_code=415)
    try:
        envelope = _DECODER.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        log.warning("whatsapp_malformed_payload", error=str(exc)[:200])
        return Response({"error": f"malformed payload: {str(exc)[:200]}"}, status_code=400)
    hotels = channel.hotels
    hotel_for: dict[str, str] = {}
    for entry in envelope.entry or []:
        for change in entry.changes or []:
            meta = change.value.metadata if change.value else None
            pnid = meta.phone_number_id if meta else None
            if pnid and pnid not in hotel_for and hotels is not None:
                hotel = await hotels.by_identity("whatsapp_phone_number_id", pnid)
                if hotel is not None:
                    hotel_for[pnid] = hotel.id
    phones: dict[str, str | None] = {}
    for entry in envelope.entry or []:
        for change in entry.changes or []:
            for m in (change.value.messages if change.value else None) or []:
                if m.from_ and m.from_ not in phones:
                    phones[m.from_] = await ingress.normalize_phone(m.from_, whatsapp=True)
    messages, unknown = messages_of(envelope, hotel_for, phones.get)
    for pnid in set(unknown):
        log.warning("whatsapp_unknown_number", phone_number_id=pnid)  # acknowledged, not handled
    accepted: list[int] = []
    if messages:
        result = await ingress.accept(messages)
        accepted = result.accepted
        for inbound in messages:
            channel.metrics.received.labels(inbound.kind).inc()
    for status in statuses_of(envelope):
        error = status.errors[0] if status.errors else None
        code = error.code if error else None
        reason = None
        if error is not None:
            details = error.error_data.details if error.error_data else None
            reason = f"WhatsApp error {code}: {details or error.title or error.message or ''}"
        await ingress.delivery(
            CHANNEL,
            status.id,
            status.status,
            reason,
            resend=status.status == "failed" and code == 131047,
            dead_letter=status.status == "failed" and code != 131047,
        )
    if ingress.test_mode and accepted:
        replies = await ingress.replies(accepted, channel.settings.echo_wait_seconds)
        return Response({"replies": replies}, status_code=200)
    return Response(None, status_code=200)
