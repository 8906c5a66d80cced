"""Who is calling the admin API, and may they: keys, sessions, scope, roles, rate limit, audit.

- ``Authorization: Bearer agk_…`` for the JSON API; the dashboard logs in with the same key and
  then carries a signed session cookie (HttpOnly, SameSite=Strict, Secure over HTTPS) with a
  CSRF token that every state-changing form and cookie-authenticated request must repeat.
- A key sees its own hotel only: anything of another hotel is a 404, never a 403 that would
  confirm it exists. ``admin`` manages keys, flags and hotels; ``operator`` conversations and
  deposits.
- Each key has a rate limit (GCRA in Redis when configured, exact across processes): 429 with
  ``Retry-After``. Failed authentications are counted and logged, without the key.
- Every state-changing action writes an audit row: who, what, when, before and after.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import TYPE_CHECKING, Any

import attrs
import msgspec
import structlog
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
)

from agente.adapters.sql import audit_log
from agente.admin.keys import KeyStore, Principal

if TYPE_CHECKING:
    from litestar import Request

    from agente.adapters.sql import Database
    from agente.ports import Clock
    from agente.ratelimit import RateLimiter

__all__ = ["SESSION_COOKIE", "Admin"]

log = structlog.get_logger("agente.admin")
SESSION_COOKIE = "agente_admin"
SESSION_SECONDS = 12 * 3600


class Session(msgspec.Struct, frozen=True, kw_only=True):
    key_id: str
    role: str
    hotel_id: str | None
    csrf: str
    expires: float


@attrs.define
class Admin:
    """The admin side's state in one process: keys, the session secret, the limiter."""

    db: Database
    clock: Clock
    keys: KeyStore
    limiter: RateLimiter
    secret: bytes
    failures: Any = None  # a prometheus Counter for failed authentications
    _active: dict[str, float] = attrs.field(factory=dict, init=False)

    # ------------------------------------------------------------------ sessions

    def session_cookie(self, principal: Principal) -> tuple[str, Session]:
        session = Session(
            key_id=principal.key_id, role=principal.role, hotel_id=principal.hotel_id,
            csrf=secrets.token_urlsafe(16), expires=time.time() + SESSION_SECONDS,
        )  # fmt: skip
        body = base64.urlsafe_b64encode(msgspec.json.encode(session)).decode()
        signature = hmac.new(self.secret, body.encode(), hashlib.sha256).hexdigest()
        return f"{body}.{signature}", session

    def read_session(self, cookie: str | None) -> Session | None:
        if not cookie or "." not in cookie:
            return None
        body, _, signature = cookie.rpartition(".")
        expected = hmac.new(self.secret, body.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            return None
        try:
            session = msgspec.json.decode(base64.urlsafe_b64decode(body), type=Session)
        except (msgspec.DecodeError, ValueError):
            return None
        return session if session.expires > time.time() else None

    async def _still_valid(self, key_id: str) -> bool:
        """A session lives only as long as its key: revoking the key ends it (within 30 s)."""
        seen = self._active.get(key_id)
        if seen is not None and time.monotonic() - seen < 30:
            return True
        import sqlalchemy as sa

        from agente.adapters.sql import api_keys

        async with self.db.begin() as conn:
            row = (
                await conn.execute(sa.select(api_keys.c.revoked_at).where(api_keys.c.id == key_id))
            ).first()
        ok = row is not None and row.revoked_at is None
        if ok:
            self._active[key_id] = time.monotonic()
        else:
            self._active.pop(key_id, None)
        return ok

    # ------------------------------------------------------------------ the check

    async def authenticate(
        self,
        request: Request[Any, Any, Any],
        *,
        role: str = "operator",
        form_csrf: str | None = None,
    ) -> Principal:
        """The caller's principal, or the right HTTP error (401, 403, 429)."""
        header = request.headers.get("authorization", "")
        principal: Principal | None = None
        via_cookie = False
        if header.lower().startswith("bearer "):
            principal = await self.keys.verify(header[7:].strip())
        else:
            session = self.read_session(request.cookies.get(SESSION_COOKIE))
            if session is not None and await self._still_valid(session.key_id):
                principal = Principal(
                    key_id=session.key_id, role=session.role,  # type: ignore[arg-type]
                    hotel_id=session.hotel_id,
                )  # fmt: skip
                via_cookie = True
                if request.method not in ("GET", "HEAD"):
                    token = form_csrf or request.headers.get("x-csrf-token")
                    if not token or not hmac.compare_digest(token, session.csrf):
                        log.warning("admin_csrf_rejected", key_id=session.key_id)
                        raise PermissionDeniedException("missing or wrong CSRF token")
        if principal is None:
            if self.failures is not None:
                self.failures.inc()
            log.warning(
                "admin_auth_failed",
                path=request.url.path,
                scheme="bearer" if header else ("cookie" if via_cookie else "none"),
            )
            raise NotAuthorizedException(
                "a valid API key is required", headers={"WWW-Authenticate": "Bearer"}
            )
        decision = await self.limiter.hit(f"admin:{principal.key_id}")
        if not decision.allowed:
            raise HTTPException(
                status_code=429,
                detail="too many requests for this key",
                headers={"Retry-After": str(max(1, int(decision.retry_after + 0.999)))},
            )
        if role == "admin" and principal.role != "admin":
            raise PermissionDeniedException("this needs an admin key")
        return principal

    # ------------------------------------------------------------------ scope and audit

    @staticmethod
    def scoped(principal: Principal, hotel_id: str | None, what: str) -> None:
        """Another hotel's thing does not exist for this key."""
        if not principal.sees(hotel_id):
            raise NotFoundException(f"no {what}")

    async def audit(
        self,
        principal: Principal,
        action: str,
        target: str,
        *,
        hotel_id: str | None,
        before: Any = None,
        after: Any = None,
    ) -> None:
        async with self.db.begin() as conn:
            await conn.execute(
                audit_log.insert().values(
                    at=self.clock.now(), key_id=principal.key_id, hotel_id=hotel_id,
                    action=action, target=target[:255],
                    before=msgspec.to_builtins(before) if before is not None else None,
                    after=msgspec.to_builtins(after) if after is not None else None,
                )
            )  # fmt: skip
        log.info("admin_action", action=action, target=target, key_id=principal.key_id)
