"""A local fake of the Gmail API, Google's OAuth token endpoint, its OIDC signing keys and the
Pub/Sub push, for tests and the demo (shared/docs/channels/gmail.md §2).

Tests drive it in-process (``httpx.ASGITransport(app=fake.app)``); the demo and the end-to-end
test serve it with Granian (``python -m agente_channel_email.gmail_fake --port 8798``).

Google's endpoints (paths as on ``gmail.googleapis.com`` and ``oauth2.googleapis.com``)::

    POST /token                                      OAuth refresh (form body)
    GET  /oauth2/v3/certs                            the JWKS that signs push tokens
    GET  /gmail/v1/users/me/profile                  emailAddress, historyId, totals
    POST /gmail/v1/users/me/watch                    historyId, expiration (epoch ms, 7 days)
    POST /gmail/v1/users/me/stop                     204
    GET  /gmail/v1/users/me/history                  startHistoryId, labelId, historyTypes, pageToken
    GET  /gmail/v1/users/me/messages                 q (``in:inbox``, ``newer_than:Nd``), pageToken
    GET  /gmail/v1/users/me/messages/{id}?format=raw
    POST /gmail/v1/users/me/messages/send            {"raw", "threadId"}

Helpers of the fake, not Google's: ``POST /_fake/deliver`` (a mail arrives: ``{"raw":
base64url}``), ``GET /_fake/sent``, ``POST /_fake/push`` (the Pub/Sub push body and a signed
OIDC token for it), ``POST /_fake/expire-history``, ``POST /_fake/revoke``.

Faithful, from the spec and Google's public reference:
- OAuth: ``grant_type=refresh_token`` with the right client and refresh token gives
  ``{"access_token", "expires_in": 3599, "token_type": "Bearer", "scope"}``; a revoked or
  unknown refresh token is HTTP 400 ``{"error": "invalid_grant", "error_description": "Token has
  been expired or revoked."}``; a wrong client is 401 ``invalid_client``.
- Every Gmail call needs ``Authorization: Bearer`` with a live access token, else HTTP 401 with
  Google's error envelope (``UNAUTHENTICATED``). Tokens expire by the fake's clock.
- History: ids only grow; a record per added message with its ``messagesAdded`` and
  ``labelIds``; ``labelId`` filters; an empty answer has only ``historyId``; a
  ``startHistoryId`` older than the kept history (see ``expire_history``) is HTTP 404
  ``notFound``. Pages of ``maxResults`` (default 100) with ``nextPageToken``.
- ``messages.get`` with ``format=raw``: ``id``, ``threadId``, ``labelIds``, ``snippet``,
  ``historyId``, ``internalDate`` (epoch ms, a string), ``sizeEstimate`` and ``raw`` (base64url).
  Unknown ids are 404. ``fail_next_get`` makes the next get of an id 404 once (the race the spec
  reports right after a push).
- ``messages.send`` files the mail in ``threadId`` only when that thread exists, the mail's
  ``In-Reply-To``/``References`` name a Message-ID of the thread and the subject matches
  (``Re:`` aside); otherwise it starts a new thread. The copy gets label ``SENT`` only, so
  ``labelId=INBOX`` history never shows it. A ``raw`` that is not base64url or has no recipient
  is HTTP 400 ``invalidArgument``.
- Push: the Pub/Sub wrapped format, ``data`` = base64 of
  ``{"emailAddress", "historyId"}``; the OIDC token is RS256 with ``kid``, ``iss``
  ``https://accounts.google.com``, ``aud``, ``email``, ``email_verified``, ``iat``, ``exp``.

Simplified: one mailbox; ``q`` understands only ``in:inbox`` and ``newer_than:Nd``; no quotas,
labels API, drafts or attachments endpoint; ``snippet`` is the first 100 characters of the text.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import email
import email.policy
import itertools
import json
import re
import secrets
import time
from collections.abc import Sequence
from typing import Any

import attrs
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from litestar import Litestar, Request, Response, get, post
from litestar.exceptions import HTTPException
from litestar.params import FromPath  # noqa: TC002 - Litestar reads it at runtime

__all__ = [
    "ADDRESS",
    "AUDIENCE",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "PUSH_ACCOUNT",
    "REFRESH_TOKEN",
    "FakeGmail",
    "create_fake_gmail",
]

ADDRESS = "reservas@sierraserena.example"
CLIENT_ID = "1234-fake.apps.googleusercontent.com"
CLIENT_SECRET = "fake-client-secret"  # noqa: S105 - a test value
REFRESH_TOKEN = "1//fake-refresh-token"  # noqa: S105 - a test value
PUSH_ACCOUNT = "gmail-push@hotel-agent.iam.gserviceaccount.com"
AUDIENCE = "https://agente.example/webhooks/gmail"
SKIP_IN_INBOX_QUERY = {"SENT", "DRAFT", "SPAM", "TRASH"}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _error(status: int, message: str, reason: str, state: str) -> Response[Any]:
    body = {"error": {"code": status, "message": message,
                      "errors": [{"message": message, "domain": "global", "reason": reason}],
                      "status": state}}  # fmt: skip
    return Response(body, status_code=status)


@attrs.define
class Stored:
    id: str
    thread_id: str
    labels: list[str]
    raw: bytes
    history_id: int
    internal_ms: int
    message_id: str | None
    subject: str
    refs: list[str]


@attrs.define
class FakeGmail:
    address: str = ADDRESS
    audience: str = AUDIENCE
    now: Any = time.time
    messages: dict[str, Stored] = attrs.field(factory=dict)
    history: list[tuple[int, str, list[str]]] = attrs.field(factory=list)
    history_id: int = 1000
    oldest_history: int = 0
    tokens: dict[str, float] = attrs.field(factory=dict)
    revoked: bool = False
    sent: list[dict[str, Any]] = attrs.field(factory=list)
    watches: list[dict[str, Any]] = attrs.field(factory=list)
    refreshes: int = 0
    calls: list[str] = attrs.field(factory=list)
    fail_next_get: set[str] = attrs.field(factory=set)
    key: rsa.RSAPrivateKey = attrs.field(factory=lambda: rsa.generate_private_key(65537, 2048))
    kid: str = attrs.field(factory=lambda: secrets.token_hex(8))
    _ids: Any = attrs.field(factory=lambda: itertools.count(0x19A3C2F0B1D4E000))
    app: Litestar = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.app = _app(self)

    # ------------------------------------------------------------------ state changes

    def _next_id(self) -> str:
        return f"{next(self._ids):016x}"

    def _thread_for(self, refs: Sequence[str], subject: str) -> str | None:
        for m in self.messages.values():
            if m.message_id and m.message_id in refs and _same_subject(m.subject, subject):
                return m.thread_id
        return None

    def _store(self, raw: bytes, labels: list[str], thread_id: str | None = None) -> Stored:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        refs = " ".join(str(msg.get(h, "")) for h in ("In-Reply-To", "References")).split()
        subject = str(msg.get("Subject", ""))
        mid = self._next_id()
        thread = thread_id or self._thread_for(refs, subject) or mid
        self.history_id += 7  # ids grow, with gaps, as Gmail's do
        stored = Stored(id=mid, thread_id=thread, labels=labels, raw=raw,
                        history_id=self.history_id, internal_ms=int(self.now() * 1000),
                        message_id=str(msg["Message-ID"]) if msg["Message-ID"] else None,
                        subject=subject, refs=refs)  # fmt: skip
        self.messages[mid] = stored
        self.history.append((self.history_id, mid, labels))
        return stored

    def deliver(self, raw: bytes, labels: Sequence[str] = ("INBOX", "UNREAD")) -> str:
        """A mail arrives in the mailbox; its Gmail id."""
        return self._store(raw, list(labels)).id

    def expire_history(self) -> None:
        """Forget the history so far: an older ``startHistoryId`` is now 404 (as after a week)."""
        self.oldest_history = self.history_id + 1
        self.history_id += 1

    def push(self, *, audience: str | None = None, email_addr: str = PUSH_ACCOUNT,
             expires_in: int = 3600, verified: bool = True) -> tuple[bytes, str]:  # fmt: skip
        """The Pub/Sub push body for the mailbox now, and its signed OIDC token."""
        data = json.dumps({"emailAddress": self.address, "historyId": str(self.history_id)})
        published = dt.datetime.fromtimestamp(self.now(), dt.UTC).isoformat()[:23] + "Z"
        ident = str(secrets.randbelow(10**14))
        body = {"message": {"data": _b64url(data.encode()), "messageId": ident,
                            "message_id": ident, "publishTime": published,
                            "publish_time": published, "attributes": {}},
                "subscription": "projects/hotel-agent/subscriptions/gmail-inbox-push"}  # fmt: skip
        return json.dumps(body).encode(), self.token(audience=audience, email_addr=email_addr,
                                                     expires_in=expires_in, verified=verified)  # fmt: skip

    def token(self, *, audience: str | None = None, email_addr: str = PUSH_ACCOUNT,
              expires_in: int = 3600, verified: bool = True,
              issuer: str = "https://accounts.google.com") -> str:  # fmt: skip
        now = int(self.now())
        claims = {"iss": issuer, "aud": audience or self.audience, "azp": "1029384756",
                  "email": email_addr, "email_verified": verified, "sub": "1029384756",
                  "iat": now, "exp": now + expires_in}  # fmt: skip
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "alg": "RS256", "use": "sig"}]}

    # ------------------------------------------------------------------ requests

    def authorized(self, request: Request[Any, Any, Any]) -> bool:
        header = request.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else ""
        expiry = self.tokens.get(token)
        return expiry is not None and expiry > self.now()


def _same_subject(a: str, b: str) -> bool:
    strip = re.compile(r"^\s*((re|aw|fwd?|rv|res)\s*:\s*)+", re.I)
    return strip.sub("", a).strip().lower() == strip.sub("", b).strip().lower()


def _guard(fake: FakeGmail, request: Request[Any, Any, Any]) -> Response[Any] | None:
    fake.calls.append(f"{request.method} {request.url.path}")
    if fake.authorized(request):
        return None
    return _error(401, "Request had invalid authentication credentials. Expected OAuth 2 access "
                  "token, login cookie or other valid authentication credential.",
                  "authError", "UNAUTHENTICATED")  # fmt: skip


def _app(fake: FakeGmail) -> Litestar:
    base = "/gmail/v1/users/me"

    @post("/token", status_code=200)
    async def token(request: Request[Any, Any, Any]) -> Response[Any]:
        form = await request.form()
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return Response({"error": "invalid_client", "error_description": "Unauthorized"},
                            status_code=401)  # fmt: skip
        if form.get("grant_type") != "refresh_token":
            return Response({"error": "unsupported_grant_type"}, status_code=400)
        if fake.revoked or form.get("refresh_token") != REFRESH_TOKEN:
            return Response({"error": "invalid_grant",
                             "error_description": "Token has been expired or revoked."},
                            status_code=400)  # fmt: skip
        access = "ya29." + secrets.token_urlsafe(24)
        fake.tokens[access] = fake.now() + 3599
        fake.refreshes += 1
        return Response({"access_token": access, "expires_in": 3599, "token_type": "Bearer",
                         "scope": "https://www.googleapis.com/auth/gmail.modify"})  # fmt: skip

    @get("/oauth2/v3/certs")
    async def certs() -> dict[str, Any]:
        return fake.jwks()

    @get(f"{base}/profile")
    async def profile(request: Request[Any, Any, Any]) -> Response[Any]:
        if (denied := _guard(fake, request)) is not None:
            return denied
        return Response({"emailAddress": fake.address, "messagesTotal": len(fake.messages),
                         "threadsTotal": len({m.thread_id for m in fake.messages.values()}),
                         "historyId": str(fake.history_id)})  # fmt: skip

    @post(f"{base}/watch", status_code=200)
    async def watch(request: Request[Any, Any, Any]) -> Response[Any]:
        if (denied := _guard(fake, request)) is not None:
            return denied
        body = await request.json()
        if not str(body.get("topicName", "")).startswith("projects/"):
            return _error(400, "Invalid topicName", "invalidArgument", "INVALID_ARGUMENT")
        fake.watches.append(body)
        expiration = int((fake.now() + 7 * 86400) * 1000)
        return Response({"historyId": str(fake.history_id), "expiration": str(expiration)})

    @post(f"{base}/stop", status_code=200)
    async def stop(request: Request[Any, Any, Any]) -> Response[Any]:
        if (denied := _guard(fake, request)) is not None:
            return denied
        return Response(None, status_code=204)

    @get(f"{base}/history")
    async def history(request: Request[Any, Any, Any]) -> Response[Any]:
        if (denied := _guard(fake, request)) is not None:
            return denied
        q = request.query_params
        try:
            start = int(q.get("startHistoryId", ""))
        except ValueError:
            return _error(400, "Invalid startHistoryId", "invalidArgument", "INVALID_ARGUMENT")
        if start < fake.oldest_history or start > fake.history_id:
            return _error(404, "Requested entity was not found.", "notFound", "NOT_FOUND")
        label = q.get("labelId")
        size = int(q.get("maxResults", "100"))
        offset = int(q.get("pageToken", "0") or 0)
        records = [h for h in fake.history if h[0] > start and (not label or label in h[2])]
        page = records[offset : offset + size]
        out: dict[str, Any] = {"historyId": str(fake.history_id)}
        if page:
            out["history"] = [
                {"id": str(hid), "messages": [{"id": mid, "threadId": fake.messages[mid].thread_id}],
                 "messagesAdded": [{"message": {"id": mid,
                                                "threadId": fake.messages[mid].thread_id,
                                                "labelIds": labels}}]}
                for hid, mid, labels in page
            ]  # fmt: skip
        if offset + size < len(records):
            out["nextPageToken"] = str(offset + size)
        return Response(out)

    @get(f"{base}/messages")
    async def list_messages(request: Request[Any, Any, Any]) -> Response[Any]:
        if (denied := _guard(fake, request)) is not None:
            return denied
        q = request.query_params.get("q", "")
        found = sorted(fake.messages.values(), key=lambda m: -m.internal_ms)
        if "in:inbox" in q:
            found = [m for m in found if "INBOX" in m.labels]
        if m := re.search(r"newer_than:(\d+)d", q):
            cutoff = (fake.now() - int(m.group(1)) * 86400) * 1000
            found = [x for x in found if x.internal_ms >= cutoff]
        size = int(request.query_params.get("maxResults", "100"))
        offset = int(request.query_params.get("pageToken", "0") or 0)
        page = found[offset : offset + size]
        out: dict[str, Any] = {"resultSizeEstimate": len(found)}
        if page:
            out["messages"] = [{"id": x.id, "threadId": x.thread_id} for x in page]
        if offset + size < len(found):
            out["nextPageToken"] = str(offset + size)
        return Response(out)

    @get(f"{base}/messages/{{message_id:str}}")
    async def get_message(
        request: Request[Any, Any, Any], message_id: FromPath[str]
    ) -> Response[Any]:
        if (denied := _guard(fake, request)) is not None:
            return denied
        stored = fake.messages.get(message_id)
        if stored is None or message_id in fake.fail_next_get:
            fake.fail_next_get.discard(message_id)
            return _error(404, "Requested entity was not found.", "notFound", "NOT_FOUND")
        if request.query_params.get("format") != "raw":
            return _error(400, "the fake serves format=raw only", "invalidArgument",
                          "INVALID_ARGUMENT")  # fmt: skip
        text = email.message_from_bytes(stored.raw, policy=email.policy.default)
        body = text.get_body(preferencelist=("plain", "html"))
        snippet = " ".join(str(body.get_content()).split())[:100] if body is not None else ""
        return Response({"id": stored.id, "threadId": stored.thread_id,
                         "labelIds": stored.labels, "snippet": snippet,
                         "historyId": str(stored.history_id),
                         "internalDate": str(stored.internal_ms),
                         "sizeEstimate": len(stored.raw), "raw": _b64url(stored.raw)})  # fmt: skip

    @post(f"{base}/messages/send", status_code=200)
    async def send(request: Request[Any, Any, Any]) -> Response[Any]:
        if (denied := _guard(fake, request)) is not None:
            return denied
        body = await request.json()
        try:
            raw = _unb64url(str(body["raw"]))
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            if not msg["To"]:
                raise ValueError("no recipient")
        except Exception:
            return _error(400, "Invalid value for ByteString", "invalidArgument",
                          "INVALID_ARGUMENT")  # fmt: skip
        thread = body.get("threadId")
        refs = " ".join(str(msg.get(h, "")) for h in ("In-Reply-To", "References")).split()
        subject = str(msg.get("Subject", ""))
        keep = None
        if thread and any(
            m.thread_id == thread and m.message_id in refs and _same_subject(m.subject, subject)
            for m in fake.messages.values()
        ):
            keep = thread
        stored = fake._store(raw, ["SENT"], thread_id=keep or fake._next_id())
        fake.sent.append({"id": stored.id, "threadId": stored.thread_id,
                          "requested_thread": thread, "raw": raw})  # fmt: skip
        return Response({"id": stored.id, "threadId": stored.thread_id, "labelIds": ["SENT"]})

    # ------------------------------------------------------------------ the fake's own helpers

    @post("/_fake/deliver", status_code=200)
    async def deliver(request: Request[Any, Any, Any]) -> dict[str, str]:
        body = await request.json()
        return {"id": fake.deliver(_unb64url(body["raw"]), body.get("labels", ["INBOX", "UNREAD"]))}

    @get("/_fake/sent")
    async def sent() -> list[dict[str, Any]]:
        return [{**s, "raw": _b64url(s["raw"])} for s in fake.sent]

    @post("/_fake/push", status_code=200)
    async def push(request: Request[Any, Any, Any]) -> dict[str, str]:
        options = await request.json() if await request.body() else {}
        body, token = fake.push(**options)
        return {"body": body.decode(), "token": token}

    @post("/_fake/expire-history", status_code=204)
    async def expire() -> None:
        fake.expire_history()

    @post("/_fake/revoke", status_code=204)
    async def revoke() -> None:
        fake.revoked = True

    def _http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
        return _error(exc.status_code, str(exc.detail), "invalid", "INVALID_ARGUMENT")

    return Litestar(
        route_handlers=[token, certs, profile, watch, stop, history, list_messages, get_message,
                        send, deliver, sent, push, expire, revoke],
        exception_handlers={HTTPException: _http_error},
    )  # fmt: skip


def create_fake_gmail(**kwargs: Any) -> FakeGmail:
    return FakeGmail(**kwargs)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the fake on 127.0.0.1 (one worker: its state is in memory)."""
    parser = argparse.ArgumentParser(prog="python -m agente_channel_email.gmail_fake")
    parser.add_argument("--port", type=int, default=8798)
    parser.add_argument("--audience", default=AUDIENCE)
    args = parser.parse_args(argv)
    import os

    from granian import Granian
    from granian.constants import Interfaces

    os.environ["AGENTE_GMAIL_FAKE_AUDIENCE"] = args.audience
    Granian("agente_channel_email.gmail_fake:_served", address="127.0.0.1", port=args.port,
            interface=Interfaces.ASGI, factory=True, workers=1, log_access=False).serve()  # fmt: skip
    return 0


def _served() -> Litestar:
    import os

    return FakeGmail(audience=os.environ.get("AGENTE_GMAIL_FAKE_AUDIENCE", AUDIENCE)).app


if __name__ == "__main__":
    raise SystemExit(main())
