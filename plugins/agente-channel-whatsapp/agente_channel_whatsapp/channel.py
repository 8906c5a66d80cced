"""Sending through the Graph API: limits, the 24-hour window, templates, pacing, errors, media.

``WhatsAppChannel.send`` is called by the outbox worker for each reply. What it raises decides
what the outbox does (shared/docs/channels/whatsapp.md §8): ``ChannelError`` retries with
backoff (with ``retry_after`` for rate limits), ``PermanentChannelError`` dead-letters at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any

import attrs
import httpx
import msgspec
import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from agente.domain import Media, OutboundMessage, OutDocument
from agente.errors import ChannelError, PermanentChannelError
from agente.registry import Secret
from agente_channel_whatsapp.wire import from_domain, template

if TYPE_CHECKING:
    from agente.domain import Hotel
    from agente.ports import Clock, Documents, HotelLookup, Store

__all__ = ["WhatsAppChannel", "WhatsAppMetrics", "WhatsAppSettings"]

log = structlog.get_logger("agente.whatsapp")


class WhatsAppSettings(msgspec.Struct, frozen=True, kw_only=True, rename="upper"):
    """Variables ``AGENTE_WHATSAPP_*``. The three secrets have no default: enabling the channel
    without them stops start-up, naming the variable."""

    access_token: Secret
    """A system-user token for the Graph API (the dashboard's temporary one dies in ~24 h)."""
    app_secret: Secret
    """The app secret: the key of the webhooks' ``X-Hub-Signature-256`` HMAC."""
    verify_token: Secret
    """Our own random string, echoed by Meta in the subscription handshake."""
    api_base_url: str = "https://graph.facebook.com"
    """Where the Graph API is; tests and demos point it at the local fake."""
    graph_version: str = "v23.0"
    """The Graph API version pinned in every URL."""
    timeout: Annotated[float, msgspec.Meta(gt=0)] = 10.0
    """Seconds one Graph API call may take."""
    messages_per_second: Annotated[int, msgspec.Meta(ge=1)] = 80
    """Outbound pace per sending number, shared by every process through the store."""
    window_margin_seconds: Annotated[float, msgspec.Meta(ge=0)] = 300.0
    """A reply this close to the end of the 24-hour window takes the template path."""
    media_max_bytes: Annotated[int, msgspec.Meta(ge=1)] = 16 * 1024 * 1024
    """Largest inbound media (a receipt, a voice note) downloaded and kept."""
    echo_wait_seconds: Annotated[float, msgspec.Meta(ge=0)] = 5.0
    """Test mode only: how long the webhook waits for the replies it echoes."""


@attrs.define
class WhatsAppMetrics:
    received: Counter
    sent: Counter
    latency: Histogram
    signature_failures: Counter
    token_valid: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry | None) -> WhatsAppMetrics:
        r = registry if registry is not None else CollectorRegistry()
        return cls(
            received=Counter(
                "whatsapp_messages_received_total", "Inbound WhatsApp messages by type.",
                ["type"], registry=r,
            ),
            sent=Counter(
                "whatsapp_messages_sent_total",
                "Outbound WhatsApp messages by type and outcome (sent, retry, failed, template).",
                ["type", "status"], registry=r,
            ),
            latency=Histogram(
                "whatsapp_api_latency_seconds", "Graph API call latency by endpoint.",
                ["endpoint"], registry=r,
            ),
            signature_failures=Counter(
                "whatsapp_webhook_signature_failures_total",
                "Webhook POSTs refused for a missing or wrong X-Hub-Signature-256.", registry=r,
            ),
            token_valid=Gauge(
                "whatsapp_token_valid",
                "0 after the Graph API refused our access token (error 190): sending is stopped.",
                registry=r, multiprocess_mode="min",
            ),
        )  # fmt: skip


_RATE_LIMITS = {4: 60.0, 80007: 60.0, 130429: 2.0, 131056: 6.0}
_TRANSIENT = {1, 2, 131000, 131016, 131052, 131053}
_REENGAGE = 131047
_TOKEN = {0, 190}


@attrs.define
class WhatsAppChannel:
    """The ``Channel`` for WhatsApp. One per process; its HTTP client opens on first use."""

    settings: WhatsAppSettings
    clock: Clock
    store: Store
    hotels: HotelLookup | None
    documents: Documents | None
    metrics: WhatsAppMetrics
    transport: httpx.AsyncBaseTransport | None = None
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    name: str = "whatsapp"
    _client: httpx.AsyncClient | None = attrs.field(default=None, init=False)
    _token_refused_at: float | None = attrs.field(default=None, init=False)

    # ------------------------------------------------------------------ plumbing

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                base_url=self.settings.api_base_url.rstrip("/"),
                timeout=self.settings.timeout,
                transport=self.transport,
                limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
                headers={
                    "Authorization": f"Bearer {self.settings.access_token.reveal()}",
                    "User-Agent": "agente-whatsapp/0.1",
                },
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    def _url(self, path: str) -> str:
        return f"/{self.settings.graph_version}/{path}"

    async def _call(self, method: str, path: str, endpoint: str, **kwargs: Any) -> httpx.Response:
        started = time.perf_counter()
        try:
            return await self.client.request(method, self._url(path), **kwargs)
        except httpx.HTTPError as exc:
            raise ChannelError(f"Graph API {endpoint}: {type(exc).__name__}") from exc
        finally:
            self.metrics.latency.labels(endpoint).observe(time.perf_counter() - started)

    # ------------------------------------------------------------------ sending

    async def send(self, message: OutboundMessage) -> str:
        """Deliver one reply; the provider's message id (wamid)."""
        kind = _body_type(message.body)
        if self._token_refused_at is not None and time.monotonic() - self._token_refused_at < 60:
            raise ChannelError("the access token was refused (190); waiting", retry_after=60)
        hotel = await self.hotels.get(message.hotel_id) if self.hotels is not None else None
        pnid = message.thread_id or (hotel.channels.whatsapp_phone_number_id if hotel else None)
        if not pnid:
            raise PermanentChannelError(f"hotel {message.hotel_id!r} has no WhatsApp number")
        if self._outside_window(message):
            return await self._send_template(message, hotel, pnid, kind)
        payload = from_domain(await self._uploaded(message, pnid))
        if message.in_reply_to and payload["type"] != "template":
            payload["context"] = {"message_id": message.in_reply_to}
            await self._mark_read(pnid, message.in_reply_to)
        try:
            wamid = await self._post_message(pnid, message.recipient_id, payload)
        except _Reengage:
            return await self._send_template(message, hotel, pnid, kind)
        except ChannelError:
            self.metrics.sent.labels(payload["type"], "failed").inc()
            raise
        self.metrics.sent.labels(payload["type"], "sent").inc()
        return wamid

    def _outside_window(self, message: OutboundMessage) -> bool:
        if message.reply_by is None:
            return False
        margin = dt.timedelta(seconds=self.settings.window_margin_seconds)
        return self.clock.now() >= message.reply_by - margin

    async def _send_template(
        self, message: OutboundMessage, hotel: Hotel | None, pnid: str, kind: str
    ) -> str:
        """Outside the 24-hour window free-form messages are not attempted: the hotel's
        re-engagement template goes instead (the guest answers it and the window reopens), or,
        with none configured, the reply waits for staff in the dead-letter table."""
        name = hotel.channels.whatsapp_reengage_template if hotel else None
        if not name:
            self.metrics.sent.labels(kind, "outside_window").inc()
            raise PermanentChannelError(
                "outside the 24-hour window and no re-engagement template is configured "
                "(channels.whatsapp_reengage_template); staff must answer"
            )
        assert hotel is not None
        languages = hotel.channels.whatsapp_template_languages
        language = languages.get(hotel.default_language) or next(iter(languages.values()), "es")
        wamid = await self._post_message(
            pnid, message.recipient_id, template(name, language, [hotel.name])
        )
        self.metrics.sent.labels("template", "sent").inc()
        return wamid

    async def _pace(self, pnid: str) -> None:
        """At most ``messages_per_second`` per sending number, across every process: a shared
        counter per second in the store. Over it, wait for the next second (twice at most),
        then leave the message to the outbox's retry."""
        limit = self.settings.messages_per_second
        for _ in range(3):
            now = self.clock.now().timestamp()
            count = await self.store.incr(f"agente:whatsapp:pace:{pnid}:{int(now)}", ttl=2.0)
            if count <= limit:
                return
            await self.sleep(max(0.01, 1.0 - (now % 1.0)))
        raise ChannelError("the sending number is at its pace limit", retry_after=1.0)

    async def _post_message(self, pnid: str, to: str, payload: dict[str, Any]) -> str:
        await self._pace(pnid)
        body = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to}
        body.update(payload)
        response = await self._call("POST", f"{pnid}/messages", "messages", json=body)
        if response.status_code < 300:
            self._token_refused_at = None
            self.metrics.token_valid.set(1)
            try:
                return str(response.json()["messages"][0]["id"])
            except (ValueError, KeyError, IndexError, TypeError) as exc:
                raise ChannelError("Graph API answered without a message id") from exc
        raise self._error(response)

    def _error(self, response: httpx.Response) -> Exception:
        """Branch on the error code (never on the text), as §8 of the spec lays out."""
        try:
            error = response.json().get("error") or {}
        except ValueError:
            error = {}
        code = error.get("code")
        details = (error.get("error_data") or {}).get("details") or error.get("message") or ""
        text = f"WhatsApp error {code} (HTTP {response.status_code}): {details}"[:500]
        if code in _TOKEN or response.status_code == 401:
            self._token_refused_at = time.monotonic()
            self.metrics.token_valid.set(0)
            log.error("whatsapp_token_refused", code=code)
            return ChannelError(text, retry_after=300.0)
        if code == _REENGAGE:
            return _Reengage(text)
        if code in _RATE_LIMITS or response.status_code == 429:
            return ChannelError(text, retry_after=_RATE_LIMITS.get(code or 0, 5.0))
        if code in _TRANSIENT or response.status_code >= 500:
            return ChannelError(text)
        log.error("whatsapp_send_refused", code=code, status=response.status_code)
        return PermanentChannelError(text)

    async def _mark_read(self, pnid: str, wamid: str) -> None:
        """Mark the guest's message read (once, whatever the number of replies); best effort."""
        if not await self.store.set_nx(f"agente:whatsapp:read:{wamid}", b"1", ttl=86_400):
            return
        body = {"messaging_product": "whatsapp", "status": "read", "message_id": wamid}
        try:
            await self._call("POST", f"{pnid}/messages", "read", json=body)
        except ChannelError:
            log.info("whatsapp_mark_read_failed")

    async def _uploaded(self, message: OutboundMessage, pnid: str) -> Any:
        """A document we keep (a voucher) is uploaded to Meta first and sent by media id."""
        body = message.body
        if not isinstance(body, OutDocument) or not body.media.stored_key or self.documents is None:
            return body
        stored = await self.documents.get(body.media.stored_key)
        if stored is None:
            raise PermanentChannelError(f"document {body.media.stored_key} is gone")
        content, mime, filename = stored
        files = {"file": (filename, content, mime)}
        data = {"messaging_product": "whatsapp", "type": mime}
        response = await self._call("POST", f"{pnid}/media", "media_upload", data=data, files=files)
        if response.status_code >= 300:
            raise self._error(response)
        media_id = str(response.json().get("id") or "")
        if not media_id:
            raise ChannelError("media upload answered without an id")
        media = Media(media_id=media_id, filename=filename, mime_type=mime)
        return OutDocument(media=media, caption=body.caption)

    # ------------------------------------------------------------------ media in

    async def fetch_media(self, media: Media) -> tuple[bytes, str]:
        """A guest's file: media id → short-lived URL → authenticated download (§7), checked
        against the size limit and, when Meta gave one, the SHA-256."""
        if not media.media_id:
            raise PermanentChannelError("no media id to download")
        response = await self._call("GET", media.media_id, "media_url")
        if response.status_code >= 300:
            raise self._error(response)
        info = response.json()
        size = int(info.get("file_size") or 0)
        if size > self.settings.media_max_bytes:
            raise PermanentChannelError(f"media of {size} bytes is over the limit")
        started = time.perf_counter()
        try:
            async with self.client.stream("GET", str(info["url"])) as download:
                if download.status_code >= 300:
                    raise ChannelError(f"media download answered {download.status_code}")
                chunks = []
                total = 0
                async for chunk in download.aiter_bytes():
                    total += len(chunk)
                    if total > self.settings.media_max_bytes:
                        raise PermanentChannelError("media over the size limit")
                    chunks.append(chunk)
        except httpx.HTTPError as exc:
            raise ChannelError(f"media download: {type(exc).__name__}") from exc
        finally:
            self.metrics.latency.labels("media_download").observe(time.perf_counter() - started)
        content = b"".join(chunks)
        expected = info.get("sha256") or media.sha256
        if expected and not _sha256_matches(content, str(expected)):
            raise ChannelError("media download does not match its SHA-256")
        return content, str(info.get("mime_type") or media.mime_type or "application/octet-stream")

    async def ping(self) -> None:
        """Readiness: the token was not refused recently."""
        if self._token_refused_at is not None:
            raise ChannelError("the WhatsApp access token was refused (error 190)")


class _Reengage(ChannelError):
    """131047 answered at once: the window closed; take the template path."""


def _sha256_matches(content: bytes, expected: str) -> bool:
    import base64

    digest = hashlib.sha256(content).digest()
    return expected in (digest.hex(), base64.b64encode(digest).decode())


def _body_type(body: Any) -> str:
    return type(body).__name__.removeprefix("Out").lower()
