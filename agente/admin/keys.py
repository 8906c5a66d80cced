"""Admin API keys: created once, shown once, stored hashed (scrypt, salted), revocable.

A key looks like ``agk_<id>_<secret>``: the id finds the row, the secret is checked against a
scrypt hash (stdlib ``hashlib.scrypt``, OpenSSL's; about 30 ms, memory-hard). A verified key is
remembered in the process for a minute, so the hash is not paid on every request; revoking a
key is seen by every process within that minute.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import TYPE_CHECKING, Literal

import attrs
import msgspec
import sqlalchemy as sa

from agente.adapters.sql import api_keys

if TYPE_CHECKING:
    from agente.adapters.sql import Database
    from agente.ports import Clock

__all__ = ["KeyStore", "Principal", "Role"]

Role = Literal["operator", "admin"]
_N, _R, _P = 2**14, 8, 1
_CACHE_SECONDS = 60.0


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """Who is acting: the key, its role and the hotel it is scoped to (None: every hotel)."""

    key_id: str
    role: Role
    hotel_id: str | None

    def sees(self, hotel_id: str | None) -> bool:
        return self.hotel_id is None or self.hotel_id == hotel_id


def _hash(secret: str, salt: bytes) -> bytes:
    return hashlib.scrypt(secret.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)


@attrs.define
class KeyStore:
    db: Database
    clock: Clock
    _verified: dict[str, tuple[float, Principal]] = attrs.field(factory=dict, init=False)

    async def create(self, *, role: Role, hotel_id: str | None, label: str = "") -> tuple[str, str]:
        """A new key: ``(key id, the whole key)``. The key is not stored: show it once."""
        key_id = secrets.token_hex(4)
        secret = secrets.token_urlsafe(24)
        salt = secrets.token_bytes(16)
        async with self.db.begin() as conn:
            await conn.execute(
                api_keys.insert().values(
                    id=key_id, label=label[:120], role=role, hotel_id=hotel_id, salt=salt,
                    hash=_hash(secret, salt), created_at=self.clock.now(),
                )
            )  # fmt: skip
        return key_id, f"agk_{key_id}_{secret}"

    async def verify(self, token: str | None) -> Principal | None:
        """The principal of a valid, unrevoked key; None for anything else."""
        if not token or not token.startswith("agk_") or token.count("_") < 2:
            return None
        fingerprint = hashlib.sha256(token.encode()).hexdigest()
        cached = self._verified.get(fingerprint)
        if cached is not None and time.monotonic() - cached[0] < _CACHE_SECONDS:
            return cached[1]
        _, key_id, secret = token.split("_", 2)
        async with self.db.begin() as conn:
            row = (await conn.execute(sa.select(api_keys).where(api_keys.c.id == key_id))).first()
            if row is None or row.revoked_at is not None:
                return None
            if not hmac.compare_digest(_hash(secret, bytes(row.salt)), bytes(row.hash)):
                return None
            await conn.execute(
                api_keys.update()
                .where(api_keys.c.id == key_id)
                .values(last_used_at=self.clock.now())
            )
        principal = Principal(key_id=key_id, role=row.role, hotel_id=row.hotel_id)
        if len(self._verified) > 1000:
            self._verified.clear()
        self._verified[fingerprint] = (time.monotonic(), principal)
        return principal

    async def revoke(self, key_id: str) -> bool:
        async with self.db.begin() as conn:
            result = await conn.execute(
                api_keys.update()
                .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=self.clock.now())
            )
        self._verified = {k: v for k, v in self._verified.items() if v[1].key_id != key_id}
        return bool(result.rowcount)

    async def list(self) -> list[dict[str, object]]:
        async with self.db.begin() as conn:
            rows = (
                await conn.execute(
                    sa.select(
                        api_keys.c.id, api_keys.c.label, api_keys.c.role, api_keys.c.hotel_id,
                        api_keys.c.created_at, api_keys.c.last_used_at, api_keys.c.revoked_at,
                    ).order_by(api_keys.c.created_at)
                )
            ).all()  # fmt: skip
        return [
            {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r._asdict().items()}
            for r in rows
        ]
