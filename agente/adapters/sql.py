"""The relational schema (SQLAlchemy Core) and the database handle, for SQLite and PostgreSQL.

The same tables serve the embedded default (SQLite file, one writer at a time, ``BEGIN
IMMEDIATE``) and production (PostgreSQL through asyncpg, ``FOR UPDATE SKIP LOCKED``). Alembic's
``env.py`` reads ``metadata`` from here; the naming convention keeps constraint names stable.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

__all__ = [
    "Database",
    "SqlDocuments",
    "SqlPluginState",
    "api_keys",
    "audit_log",
    "conversations",
    "dead_letters",
    "document_key",
    "documents",
    "guests",
    "hotels",
    "inbox",
    "metadata",
    "outbox",
    "plugin_state",
    "reservations",
    "staff_notifications",
    "timers",
]

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(sa.types.TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on both backends (SQLite keeps naive text)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _id() -> sa.Column[int]:
    return sa.Column("id", BigId, primary_key=True, autoincrement=True)


hotels = sa.Table(
    "hotels",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("config", Json, nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

guests = sa.Table(
    "guests",
    metadata,
    _id(),
    sa.Column("hotel_id", sa.String(64), sa.ForeignKey("hotels.id"), nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("sender_id", sa.String(320), nullable=False),
    sa.Column("name", sa.String(200)),
    sa.Column("phone", sa.String(32)),
    sa.Column("email", sa.String(320)),
    sa.Column("language", sa.String(8)),
    sa.Column("opted_out", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.UniqueConstraint("hotel_id", "channel", "sender_id"),
)

conversations = sa.Table(
    "conversations",
    metadata,
    _id(),
    sa.Column("hotel_id", sa.String(64), sa.ForeignKey("hotels.id"), nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("sender_id", sa.String(320), nullable=False),
    sa.Column("guest_id", BigId, sa.ForeignKey("guests.id"), nullable=False),
    sa.Column("mode", sa.String(16), nullable=False, index=True),
    sa.Column("state", Json, nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.UniqueConstraint("hotel_id", "channel", "sender_id"),
)

inbox = sa.Table(
    "inbox",
    metadata,
    _id(),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("provider_message_id", sa.String(255), nullable=False),
    sa.Column("hotel_id", sa.String(64), nullable=False),
    sa.Column("conversation_key", sa.String(420), nullable=False),
    sa.Column("message", Json, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("available_at", UtcDateTime(), nullable=False),
    sa.Column("lease_owner", sa.String(64)),
    sa.Column("lease_until", UtcDateTime()),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.Column("processed_at", UtcDateTime()),
    sa.Column("result", Json),
    sa.Column("last_error", sa.Text()),
    sa.UniqueConstraint("channel", "provider_message_id"),
    sa.Index("ix_inbox_status_id", "status", "id"),
    sa.Index("ix_inbox_conversation_key_id", "conversation_key", "id"),
)

outbox = sa.Table(
    "outbox",
    metadata,
    _id(),
    sa.Column("inbox_id", BigId, sa.ForeignKey("inbox.id")),
    sa.Column("hotel_id", sa.String(64), nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("conversation_key", sa.String(420), nullable=False),
    sa.Column("recipient_id", sa.String(320), nullable=False),
    sa.Column("message", Json, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
    sa.Column("lease_owner", sa.String(64)),
    sa.Column("lease_until", UtcDateTime()),
    sa.Column("provider_message_id", sa.String(255)),
    sa.Column("last_error", sa.Text()),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("sent_at", UtcDateTime()),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    sa.Index("ix_outbox_conversation_key_id", "conversation_key", "id"),
    sa.Index("ix_outbox_channel_provider_message_id", "channel", "provider_message_id"),
)

dead_letters = sa.Table(
    "dead_letters",
    metadata,
    _id(),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("source_id", BigId, nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("hotel_id", sa.String(64), nullable=False),
    sa.Column("payload", Json, nullable=False),
    sa.Column("error", sa.Text(), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("replayed_at", UtcDateTime()),
    sa.Index("ix_dead_letters_source_source_id", "source", "source_id"),
)

reservations = sa.Table(
    "reservations",
    metadata,
    _id(),
    sa.Column("hotel_id", sa.String(64), sa.ForeignKey("hotels.id"), nullable=False),
    sa.Column("conversation_id", BigId, sa.ForeignKey("conversations.id")),
    sa.Column("guest_id", BigId, sa.ForeignKey("guests.id")),
    sa.Column("client_reference", sa.String(64), nullable=False, unique=True),
    sa.Column("pms_booking_id", sa.String(64)),
    sa.Column("status", sa.String(32), nullable=False, index=True),
    sa.Column("room_type", sa.String(64)),
    sa.Column("check_in", sa.Date()),
    sa.Column("check_out", sa.Date()),
    sa.Column("adults", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("children", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("total", sa.Numeric(14, 2)),
    sa.Column("currency", sa.String(3)),
    sa.Column("deposit_amount", sa.Numeric(14, 2)),
    sa.Column("data", Json, nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

timers = sa.Table(
    "timers",
    metadata,
    _id(),
    sa.Column("hotel_id", sa.String(64), nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("sender_id", sa.String(320), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("key", sa.String(64), nullable=False),
    sa.Column("due_at", UtcDateTime(), nullable=False),
    sa.Column("fired_at", UtcDateTime()),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.UniqueConstraint("kind", "key"),
    sa.Index("ix_timers_fired_at_due_at", "fired_at", "due_at"),
)

staff_notifications = sa.Table(
    "staff_notifications",
    metadata,
    _id(),
    sa.Column("hotel_id", sa.String(64), nullable=False),
    sa.Column("conversation_id", BigId, sa.ForeignKey("conversations.id")),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("urgent", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("summary", Json, nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("seen_at", UtcDateTime()),
    sa.Index("ix_staff_notifications_hotel_id_seen_at", "hotel_id", "seen_at"),
)

documents = sa.Table(
    "documents",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("hotel_id", sa.String(64), nullable=False),
    sa.Column("filename", sa.String(255), nullable=False),
    sa.Column("mime_type", sa.String(100), nullable=False),
    sa.Column("content", sa.LargeBinary(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("label", sa.String(120), nullable=False, server_default=""),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("hotel_id", sa.String(64)),  # NULL: every hotel
    sa.Column("salt", sa.LargeBinary(), nullable=False),
    sa.Column("hash", sa.LargeBinary(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("last_used_at", UtcDateTime()),
    sa.Column("revoked_at", UtcDateTime()),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    _id(),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("key_id", sa.String(16)),
    sa.Column("hotel_id", sa.String(64)),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target", sa.String(255), nullable=False),
    sa.Column("before", Json),
    sa.Column("after", Json),
    sa.Index("ix_audit_log_hotel_id_at", "hotel_id", "at"),
)

plugin_state = sa.Table(
    "plugin_state",
    metadata,
    sa.Column("namespace", sa.String(64), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("value", sa.LargeBinary(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)


def insert(table: sa.Table, dialect: str) -> Any:
    """A dialect-specific INSERT that supports ``on_conflict_do_nothing`` and ``returning``."""
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so that BEGIN IMMEDIATE below is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # One writer at a time, decided when the transaction starts: no upgrade deadlocks.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


@attrs.define
class Database:
    """The engine and the way to open a transaction; knows which dialect it speaks."""

    engine: AsyncEngine
    url: str
    _writer: asyncio.Lock | None = None

    @classmethod
    def connect(cls, url: str, *, pool_size: int = 10) -> Database:
        if url.startswith("sqlite"):
            engine = create_async_engine(url, connect_args={"timeout": 30})
            _configure_sqlite(engine)
            # SQLite has one writer at a time. Queue this process's transactions here rather
            # than in SQLite's busy handler, which sleeps in growing steps while it waits.
            return cls(engine=engine, url=url, writer=asyncio.Lock())
        else:
            engine = create_async_engine(
                url, pool_size=pool_size, max_overflow=pool_size // 2, pool_pre_ping=True
            )
        return cls(engine=engine, url=url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """One transaction: committed when the block ends, rolled back on an exception."""
        if self._writer is None:
            async with self.engine.begin() as conn:
                yield conn
            return
        async with self._writer, self.engine.begin() as conn:
            yield conn

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def close(self) -> None:
        await self.engine.dispose()


@attrs.define
class SqlPluginState:
    """``PluginState`` on the ``plugin_state`` table, optimistic concurrency by version."""

    db: Database
    clock: Any

    async def get(self, namespace: str, key: str) -> tuple[bytes | None, int]:
        async with self.db.begin() as conn:
            row = (
                await conn.execute(
                    sa.select(plugin_state.c.value, plugin_state.c.version).where(
                        plugin_state.c.namespace == namespace, plugin_state.c.key == key
                    )
                )
            ).first()
        return (None, 0) if row is None else (bytes(row.value), int(row.version))

    async def put(self, namespace: str, key: str, value: bytes, *, expected_version: int) -> bool:
        now = self.clock.now()
        async with self.db.begin() as conn:
            if expected_version == 0:
                stmt = (
                    insert(plugin_state, self.db.dialect)
                    .values(namespace=namespace, key=key, value=value, version=1, updated_at=now)
                    .on_conflict_do_nothing()
                )
                result = await conn.execute(stmt)
            else:
                result = await conn.execute(
                    plugin_state.update()
                    .where(
                        plugin_state.c.namespace == namespace,
                        plugin_state.c.key == key,
                        plugin_state.c.version == expected_version,
                    )
                    .values(value=value, version=expected_version + 1, updated_at=now)
                )
        return bool(result.rowcount == 1)

    async def keys(self, namespace: str, prefix: str = "") -> list[str]:
        async with self.db.begin() as conn:
            rows = await conn.execute(
                sa.select(plugin_state.c.key)
                .where(
                    plugin_state.c.namespace == namespace,
                    plugin_state.c.key.startswith(prefix, autoescape=True),
                )
                .order_by(plugin_state.c.key)
            )
        return [r.key for r in rows]


@attrs.define
class SqlDocuments:
    """``Documents`` on the ``documents`` table; the key is a digest of the content."""

    db: Database
    clock: Any

    async def get(self, key: str) -> tuple[bytes, str, str] | None:
        async with self.db.begin() as conn:
            row = (
                await conn.execute(
                    sa.select(
                        documents.c.content, documents.c.mime_type, documents.c.filename
                    ).where(documents.c.key == key)
                )
            ).first()
        return (bytes(row.content), row.mime_type, row.filename) if row is not None else None

    async def put(self, hotel_id: str, content: bytes, mime_type: str, filename: str) -> str:
        key = document_key(content)
        stmt = insert(documents, self.db.dialect).values(
            key=key,
            hotel_id=hotel_id,
            filename=filename[:255],
            mime_type=mime_type[:100],
            content=content,
            created_at=self.clock.now(),
        )
        async with self.db.begin() as conn:
            await conn.execute(stmt.on_conflict_do_nothing(index_elements=["key"]))
        return key


def document_key(content: bytes) -> str:
    """40 hex digits of the content's SHA-256: unguessable, and the same file is stored once."""
    return hashlib.sha256(content).hexdigest()[:40]
