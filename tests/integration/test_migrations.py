"""Alembic migrations go up, down and up again on both backends, and match the models."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from agente.adapters.sql import Database, metadata
from agente.migrate import current, downgrade, upgrade
from tests.conftest import PG_ADMIN_URL, _pg_create, _pg_drop

HEAD = "0003"  # the newest revision in migrations/versions


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Any) -> Any:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"agente_mig_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(_pg_create(name))
    except Exception as exc:
        from tests.conftest import unavailable

        unavailable("PostgreSQL", exc)
    yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    asyncio.run(_pg_drop(name))


async def _tables(url: str) -> set[str]:
    db = Database.connect(url)
    try:
        async with db.engine.connect() as conn:
            names = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
    finally:
        await db.close()
    return names - {"alembic_version"}


async def _diff(url: str) -> list[Any]:
    db = Database.connect(url)
    try:
        async with db.engine.connect() as conn:
            return await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), metadata)
            )
    finally:
        await db.close()


async def test_upgrade_downgrade_upgrade(empty_url: str) -> None:
    assert await current(empty_url) is None
    await upgrade(empty_url)
    assert await current(empty_url) == HEAD
    assert await _tables(empty_url) == {t.name for t in metadata.sorted_tables}
    assert await _diff(empty_url) == [], "the migrations drifted from agente/adapters/sql.py"
    await downgrade(empty_url, "base")
    assert await current(empty_url) is None
    assert await _tables(empty_url) == set()
    await upgrade(empty_url)
    assert await current(empty_url) == HEAD
