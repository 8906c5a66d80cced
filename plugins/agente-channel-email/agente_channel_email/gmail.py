"""The ``gmail`` channel: a Gmail or Google Workspace mailbox through the Gmail API
(shared/docs/channels/gmail.md §2).

- Google's Pub/Sub pushes ``POST /webhooks/gmail`` when the mailbox changes. The push's OIDC
  token is verified (RS256 signature against Google's published keys, expiry, audience, issuer,
  the push service account and ``email_verified``); then the push only marks the mailbox
  "dirty" in the database and is acknowledged at once (204). It carries no mail.
- The worker's loop syncs a dirty mailbox: ``users.history.list`` from **our stored cursor**
  (never the push's ``historyId``), ``messages.get?format=raw`` for each added message, the
  mail stored in the inbox (deduplicated on Message-ID), and only then the cursor advanced. A
  cursor Gmail no longer knows (404) takes a bounded full sync (``messages.list``
  ``newer_than:Nd``) from a fresh cursor. A safety sync runs every few minutes even without
  pushes, since pushes can be late or lost.
- Replies go through ``users.messages.send`` with the thread's ``threadId`` and the RFC
  threading headers.
- OAuth: the access token is refreshed ahead of expiry, and once on a 401. ``invalid_grant``
  marks the mailbox disconnected (gauge ``gmail_connected`` 0, readiness "degraded") with no
  tight retry loop.
- The watch (``users.watch``) is renewed daily, well before its 7 days run out.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import time
from typing import TYPE_CHECKING, Annotated, Any

import attrs
import httpx
import jwt
import msgspec
import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge

from agente.errors import ChannelError, PermanentChannelError
from agente.mail import InboundEmail, MailRejected, parse_email
from agente.settings import Secret
from agente_channel_email.channel import MailChannel, ThreadInfo, email_metrics

if TYPE_CHECKING:
    from email.message import EmailMessage

    from agente.domain import InboundMessage
    from agente.registry import Ingress, PluginContext

__all__ = [
    "BadPush",
    "Disconnected",
    "GmailApiError",
    "GmailChannel",
    "GmailSettings",
    "PushRejected",
]

log = structlog.get_logger("agente.channel.gmail")

_NS = "email.gmail"
_ISSUERS = ("accounts.google.com", "https://accounts.google.com")
#: messages that are not a guest writing to us (gmail.md §1.4, §2.5)
_SKIP_LABELS = frozenset({"SENT", "DRAFT", "SPAM", "TRASH"})
_BASE = "/gmail/v1/users/me"


class GmailSettings(msgspec.Struct, frozen=True, kw_only=True, rename="upper"):
    """Variables ``AGENTE_GMAIL_*``."""

    client_id: str
    """The OAuth client's id (a Google Cloud project's "Desktop" or "Web" client)."""
    client_secret: Secret
    """The OAuth client's secret."""
    refresh_token: Secret
    """The mailbox's refresh token, from a consent with ``access_type=offline``."""
    address: str
    """The mailbox's address, as the push names it; replies come from it."""
    push_audience: str
    """The audience set on the Pub/Sub push subscription; a push token for any other audience
    is refused."""
    push_service_account: str
    """The service account the push subscription authenticates as (the token's ``email``)."""
    topic: str | None = None
    """``projects/<project>/topics/<topic>``: the watch is kept on it. Unset: no watch, the
    safety sync polls the mailbox."""
    hotel: str | None = None
    """The hotel id; unset, the hotel whose ``channels.email`` is the address."""
    from_name: str | None = None
    """The display name on replies; the hotel's name when unset."""
    api_base_url: str = "https://gmail.googleapis.com"
    """Where the Gmail API is; tests and the demo point it at the local fake."""
    token_url: str = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL, not a secret
    """Google's OAuth token endpoint."""
    oidc_jwks_url: str = "https://www.googleapis.com/oauth2/v3/certs"
    """Google's published keys that sign the push tokens."""
    safety_sync_seconds: Annotated[float, msgspec.Meta(gt=0)] = 300.0
    """A sync at least this often, pushes or not."""
    push_check_seconds: Annotated[float, msgspec.Meta(gt=0)] = 2.0
    """How often the worker looks for a push recorded by another process."""
    watch_renew_hours: Annotated[float, msgspec.Meta(gt=0)] = 24.0
    """The watch is renewed this often (it lasts at most 7 days)."""
    full_sync_days: Annotated[int, msgspec.Meta(ge=1)] = 2
    """How far back a full sync reads when the stored history cursor is too old."""
    max_attachment_bytes: Annotated[int, msgspec.Meta(ge=1)] = 16 * 1024 * 1024
    replies_per_hour: Annotated[int, msgspec.Meta(ge=1)] = 20
    """Mails to one address in an hour before the rest wait for staff (a loop breaker)."""
    timeout: Annotated[float, msgspec.Meta(gt=0)] = 15.0
    """Seconds one Google call may take."""


class GmailApiError(ChannelError):
    def __init__(self, status: int, reason: str, message: str = "") -> None:
        super().__init__(f"Gmail API {status} {reason}: {message}"[:300])
        self.status = status
        self.reason = reason


class Disconnected(GmailApiError):
    """The refresh token is dead (revoked, expired, a password change): staff must reconnect."""


class PushRejected(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class BadPush(ValueError):
    """An authenticated push whose body is not a Pub/Sub push of a Gmail notification."""


@attrs.define
class GmailMetrics:
    pushes: Counter
    syncs: Counter
    connected: Gauge
    watch_expiration: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry | None) -> GmailMetrics:
        r = registry if registry is not None else CollectorRegistry()
        return cls(
            pushes=Counter("gmail_pushes_total", "Pub/Sub pushes to /webhooks/gmail by outcome.",
                           ["outcome"], registry=r),
            syncs=Counter("gmail_syncs_total", "Mailbox syncs by kind (history, full) and "
                          "outcome.", ["kind", "outcome"], registry=r),
            connected=Gauge("gmail_connected", "1 while the mailbox's OAuth refresh works, 0 "
                            "after invalid_grant (reconnect it).", registry=r,
                            multiprocess_mode="mostrecent"),
            watch_expiration=Gauge("gmail_watch_expiration_timestamp_seconds",
                                   "When the Gmail watch expires (Unix time).", registry=r,
                                   multiprocess_mode="max"),
        )  # fmt: skip


# ------------------------------------------------------------------------------- the API


@attrs.define
class GmailApi:
    """Calls to Google with a fresh access token; every error typed."""

    settings: GmailSettings
    metrics: GmailMetrics
    transport: httpx.AsyncBaseTransport | None = None
    _client: httpx.AsyncClient | None = None
    _token: str | None = None
    _expires: float = 0.0
    _lock: asyncio.Lock = attrs.field(factory=asyncio.Lock)
    disconnected: bool = False

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(transport=self.transport,
                                             timeout=self.settings.timeout)  # fmt: skip
        return self._client

    async def token(self, *, force: bool = False) -> str:
        async with self._lock:
            if not force and self._token and time.monotonic() < self._expires - 120:
                return self._token
            s = self.settings
            form = {"grant_type": "refresh_token", "client_id": s.client_id,
                    "client_secret": s.client_secret.reveal(),
                    "refresh_token": s.refresh_token.reveal()}  # fmt: skip
            try:
                response = await self.client().post(s.token_url, data=form)
            except httpx.HTTPError as exc:
                raise GmailApiError(0, "token_unreachable", type(exc).__name__) from exc
            body = _json(response)
            if response.status_code == 200 and body.get("access_token"):
                self._token = str(body["access_token"])
                self._expires = time.monotonic() + float(body.get("expires_in", 3600))
                self.disconnected = False
                self.metrics.connected.set(1)
                return self._token
            error = str(body.get("error", response.status_code))
            if error in ("invalid_grant", "invalid_client", "unauthorized_client"):
                self.disconnected = True
                self.metrics.connected.set(0)
                raise Disconnected(
                    response.status_code, error, str(body.get("error_description", ""))
                )
            raise GmailApiError(response.status_code, error)

    async def call(
        self, method: str, path: str, *, params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        url = self.settings.api_base_url.rstrip("/") + path
        for attempt in range(2):
            token = await self.token(force=attempt > 0)
            try:
                response = await self.client().request(
                    method, url, params=params, json=body,
                    headers={"Authorization": f"Bearer {token}"},
                )  # fmt: skip
            except httpx.HTTPError as exc:
                raise GmailApiError(0, "unreachable", type(exc).__name__) from exc
            if response.status_code == 401 and attempt == 0:
                continue  # the token died early: refresh once and retry
            break
        if response.status_code >= 400:
            raise _api_error(response)
        return _json(response) if response.content else {}

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _api_error(response: httpx.Response) -> GmailApiError:
    error = _json(response).get("error")
    reason, message = str(response.status_code), ""
    if isinstance(error, dict):
        message = str(error.get("message", ""))
        errors = error.get("errors") or [{}]
        reason = str(errors[0].get("reason") or error.get("status") or reason)
    status = response.status_code
    if status == 429 or reason in ("rateLimitExceeded", "userRateLimitExceeded"):
        err = GmailApiError(status, reason, message)
        err.retry_after = 30.0
        return err
    return GmailApiError(status, reason, message)


# ------------------------------------------------------------------------------- the channel


class GmailChannel(MailChannel):
    name = "gmail"

    def __init__(self, settings: GmailSettings, ctx: PluginContext) -> None:
        super().__init__(clock=ctx.clock, store=ctx.store, state=ctx.state, hotels=ctx.hotels,
                         documents=ctx.documents)  # fmt: skip
        self.settings = settings
        self.address = settings.address.lower()
        self.hotel_setting = settings.hotel
        self.from_name = settings.from_name
        self.replies_per_hour = settings.replies_per_hour
        self.metrics = GmailMetrics.create(ctx.registry)
        self.mail_metrics = email_metrics(ctx.registry)
        self.api = GmailApi(settings, self.metrics)
        self.wake = asyncio.Event()
        self._sync_lock = asyncio.Lock()
        self._keys: dict[str, Any] = {}
        self._keys_at = 0.0
        #: seconds before a message that 404s right after its push is asked for again
        self.retry_delay = 1.0

    @property
    def transport(self) -> httpx.AsyncBaseTransport | None:
        return self.api.transport

    @transport.setter
    def transport(self, value: httpx.AsyncBaseTransport | None) -> None:
        self.api.transport = value

    # -------------------------------------------------------------------- push

    async def verify_push(self, authorization: str | None) -> dict[str, Any]:
        """The push's OIDC claims, or ``PushRejected`` (401: not Google's or not for us; 403:
        Google's, but not our push service account)."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise PushRejected(401, "no bearer token")
        token = authorization[7:].strip()
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise PushRejected(401, "not a JWT") from exc
        key = await self._signing_key(str(header.get("kid", "")))
        if key is None:
            raise PushRejected(401, "unknown signing key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=["RS256"], audience=self.settings.push_audience,
                issuer=_ISSUERS, leeway=30,
                options={"require": ["exp", "iat", "iss", "aud"]},
            )  # fmt: skip
        except jwt.PyJWTError as exc:
            raise PushRejected(401, f"invalid token: {type(exc).__name__}") from exc
        if claims.get("email") != self.settings.push_service_account:
            raise PushRejected(403, "token of another account")
        if claims.get("email_verified") is not True:
            raise PushRejected(403, "account e-mail not verified")
        return claims

    async def _signing_key(self, kid: str) -> Any:
        fresh = time.monotonic() - self._keys_at
        if (kid not in self._keys and fresh > 60) or fresh > 3600:
            try:
                response = await self.api.client().get(self.settings.oidc_jwks_url)
                response.raise_for_status()
                keys = {}
                for item in response.json().get("keys", []):
                    with contextlib.suppress(jwt.PyJWTError, KeyError, ValueError):
                        keys[str(item["kid"])] = jwt.PyJWK(item).key
                self._keys, self._keys_at = keys, time.monotonic()
            except (httpx.HTTPError, ValueError) as exc:
                log.warning("gmail_keys_unavailable", error=type(exc).__name__)
        return self._keys.get(kid)

    async def on_push(self, raw: bytes) -> str:
        """Record that the mailbox changed (durably) and wake the local worker; the outcome.
        Raises ``BadPush`` for a body that is not a Gmail notification."""
        try:
            envelope = json.loads(raw)
            data = envelope["message"]["data"]
            notice = json.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
            address = str(notice["emailAddress"]).lower()
            hint = str(notice.get("historyId", ""))
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise BadPush(f"not a Gmail push: {type(exc).__name__}") from exc
        if address != self.address:
            return "unknown_mailbox"  # acknowledged: an error would be redelivered for ever
        key = f"{self.address}:push"
        for _ in range(5):
            stored, version = await self.state.get(_NS, key)
            count = json.loads(stored)["count"] if stored else 0
            doc = json.dumps({"count": count + 1, "hint": hint}).encode()
            if await self.state.put(_NS, key, doc, expected_version=version):
                break
        self.wake.set()
        return "queued"

    async def _push_count(self) -> int:
        stored, _ = await self.state.get(_NS, f"{self.address}:push")
        return int(json.loads(stored)["count"]) if stored else 0

    # -------------------------------------------------------------------- sync

    async def _cursor(self) -> tuple[str | None, int]:
        stored, version = await self.state.get(_NS, f"{self.address}:cursor")
        return (json.loads(stored)["history_id"] if stored else None), version

    async def _save_cursor(self, history_id: str, version: int) -> None:
        doc = json.dumps({"history_id": str(history_id)}).encode()
        if not await self.state.put(_NS, f"{self.address}:cursor", doc, expected_version=version):
            log.info("gmail_cursor_raced")  # another process synced too; its cursor stands

    async def sync(self, ingress: Ingress) -> int:
        """One sync of the mailbox (one at a time across processes); new inbox messages."""
        lock = f"agente:gmail:sync:{self.address}"
        async with self._sync_lock:
            if not await self.store.set_nx(lock, b"1", ttl=120):
                return 0
            try:
                return await self._sync(ingress)
            finally:
                await self.store.delete(lock)

    async def _sync(self, ingress: Ingress) -> int:
        hotel = await self.hotel()
        cursor, version = await self._cursor()
        if cursor is None:
            # first connection: start from now (mail from before is the staff's)
            profile = await self.api.call("GET", f"{_BASE}/profile")
            await self._save_cursor(str(profile["historyId"]), version)
            self.metrics.syncs.labels("history", "started").inc()
            return 0
        try:
            ids, new_cursor = await self._history(cursor)
        except GmailApiError as exc:
            if exc.status != 404:
                raise
            return await self._full_sync(ingress, hotel.id, version)
        accepted = await self._ingest(ingress, hotel.id, ids)
        await self._save_cursor(new_cursor, version)
        self.metrics.syncs.labels("history", "ok").inc()
        return accepted

    async def _history(self, cursor: str) -> tuple[list[str], str]:
        ids: list[str] = []
        page: str | None = None
        latest = cursor
        while True:
            params = {"startHistoryId": cursor, "historyTypes": "messageAdded",
                      "labelId": "INBOX", "maxResults": 100}  # fmt: skip
            if page:
                params["pageToken"] = page
            body = await self.api.call("GET", f"{_BASE}/history", params=params)
            for record in body.get("history", []):
                for added in record.get("messagesAdded", []):
                    message = added.get("message", {})
                    if _SKIP_LABELS & set(message.get("labelIds", [])):
                        continue
                    if message.get("id") and message["id"] not in ids:
                        ids.append(str(message["id"]))
            latest = str(body.get("historyId", latest))
            page = body.get("nextPageToken")
            if not page:
                return ids, latest

    async def _full_sync(self, ingress: Ingress, hotel_id: str, version: int) -> int:
        """The cursor is too old: a fresh cursor first, then the last days' inbox (the overlap
        is removed by deduplication, and nothing falls in a gap)."""
        log.warning("gmail_full_sync", days=self.settings.full_sync_days)
        profile = await self.api.call("GET", f"{_BASE}/profile")
        fresh = str(profile["historyId"])
        ids: list[str] = []
        page: str | None = None
        while True:
            params: dict[str, Any] = {
                "q": f"in:inbox newer_than:{self.settings.full_sync_days}d",
                "maxResults": 100,
            }
            if page:
                params["pageToken"] = page
            body = await self.api.call("GET", f"{_BASE}/messages", params=params)
            ids.extend(str(m["id"]) for m in body.get("messages", []) if m["id"] not in ids)
            page = body.get("nextPageToken")
            if not page:
                break
        accepted = await self._ingest(ingress, hotel_id, list(reversed(ids)))
        await self._save_cursor(fresh, version)
        self.metrics.syncs.labels("full", "ok").inc()
        return accepted

    async def _ingest(self, ingress: Ingress, hotel_id: str, ids: list[str]) -> int:
        messages: list[InboundMessage] = []
        for gmail_id in ids:
            found = await self._get(gmail_id)
            if found is None:
                continue
            labels = set(found.get("labelIds", []))
            raw = base64.urlsafe_b64decode(str(found.get("raw", "")) + "==")
            mail: InboundEmail | None = None
            error = None
            try:
                mail = parse_email(raw, own_addresses=frozenset({self.address}),
                                   max_attachment_bytes=self.settings.max_attachment_bytes)  # fmt: skip
            except MailRejected as exc:
                error = str(exc)
            ignored = "gmail_label" if labels & _SKIP_LABELS else None
            thread = found.get("threadId")
            message = await self.inbound(
                hotel_id, gmail_id, mail, error, provider_thread=thread, ignored=ignored
            )
            messages.append(message)
        if not messages:
            return 0
        result = await ingress.accept(messages)
        return len(result.accepted)

    async def _get(self, gmail_id: str) -> dict[str, Any] | None:
        for attempt in range(2):
            try:
                return await self.api.call("GET", f"{_BASE}/messages/{gmail_id}",
                                           params={"format": "raw"})  # fmt: skip
            except GmailApiError as exc:
                if exc.status != 404:
                    raise
                if attempt == 0:
                    await asyncio.sleep(self.retry_delay)  # reported right after a push
        log.info("gmail_message_gone", gmail_id=gmail_id)
        return None

    # -------------------------------------------------------------------- watch

    async def renew_watch(self, *, force: bool = False) -> bool:
        """Call ``users.watch`` when it is due (daily, or under 48 h from expiry); True if
        renewed here."""
        if not self.settings.topic:
            return False
        key = f"{self.address}:watch"
        stored, version = await self.state.get(_NS, key)
        now = self.clock.now().timestamp()
        if stored and not force:
            doc = json.loads(stored)
            self.metrics.watch_expiration.set(doc["expiration"] / 1000)
            fresh = now - doc["renewed_at"] < self.settings.watch_renew_hours * 3600
            if fresh and doc["expiration"] / 1000 - now > 48 * 3600:
                return False
        body = await self.api.call("POST", f"{_BASE}/watch", body={
            "topicName": self.settings.topic, "labelIds": ["INBOX"],
            "labelFilterBehavior": "INCLUDE",
        })  # fmt: skip
        expiration = int(body["expiration"])
        doc_bytes = json.dumps({"expiration": expiration, "renewed_at": now}).encode()
        await self.state.put(_NS, key, doc_bytes, expected_version=version)
        self.metrics.watch_expiration.set(expiration / 1000)
        log.info("gmail_watch_renewed", expires_in_hours=round((expiration / 1000 - now) / 3600))
        return True

    # -------------------------------------------------------------------- the loop

    async def run(self, stop: asyncio.Event, *, ingress: Ingress) -> None:
        """Until ``stop``: keep the watch, sync on a push (here or recorded by another process)
        and at least every ``safety_sync_seconds``; back off on errors, and wait for a human
        after ``invalid_grant``."""
        loop = asyncio.get_running_loop()
        last_sync = last_watch = -1e18
        seen: int | None = None
        failures = 0
        log.info("gmail_watch_loop_started", mailbox=self.address)
        while not stop.is_set():
            wait = self.settings.push_check_seconds
            try:
                if loop.time() - last_watch >= 600:  # the watch is due daily: look every 10 min
                    await self.renew_watch()
                    last_watch = loop.time()
                pushes = await self._push_count()
                if pushes != seen or loop.time() - last_sync >= self.settings.safety_sync_seconds:
                    await self.sync(ingress)
                    last_sync, seen = loop.time(), pushes
                    now = self.clock.now().timestamp()
                    self.mail_metrics.last_read.labels(self.name).set(now)
                failures = 0
            except Disconnected as exc:
                self.mail_metrics.failures.labels(self.name).inc()
                log.error("gmail_disconnected", reason=exc.reason,
                          action="reconnect the mailbox (a new refresh token)")  # fmt: skip
                wait = 300.0
            except Exception as exc:
                failures += 1
                self.mail_metrics.failures.labels(self.name).inc()
                log.warning("gmail_sync_failed", error=str(exc)[:300], failures=failures)
                self.metrics.syncs.labels("history", "error").inc()
                wait = min(300.0, 2.0**failures)
            self.wake.clear()
            waiter = asyncio.ensure_future(self.wake.wait())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({waiter, stopper}, timeout=wait,
                               return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
            waiter.cancel()
            stopper.cancel()

    # -------------------------------------------------------------------- outbound

    async def deliver(self, mail: EmailMessage, thread: ThreadInfo | None) -> str:
        body: dict[str, Any] = {"raw": base64.urlsafe_b64encode(mail.as_bytes()).decode()}
        if thread is not None and thread.provider_thread:
            body["threadId"] = thread.provider_thread
        try:
            sent = await self.api.call("POST", f"{_BASE}/messages/send", body=body)
        except Disconnected:
            raise
        except GmailApiError as exc:
            if exc.status == 400:
                raise PermanentChannelError(str(exc)) from exc
            raise
        return str(sent.get("id", ""))

    async def ping(self) -> None:
        await self.api.token()

    async def aclose(self) -> None:
        await self.api.aclose()
