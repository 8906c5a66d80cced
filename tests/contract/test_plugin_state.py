"""``plugin_state_contract`` against every ``PluginState``: in memory, and SQL on both backends."""

from __future__ import annotations

import sqlalchemy as sa

from agente.adapters.sql import Database, SqlPluginState, plugin_state
from agente.testing import FrozenClock, MemoryPluginState, plugin_state_contract


async def test_memory_plugin_state() -> None:
    await plugin_state_contract(MemoryPluginState())


async def test_sql_plugin_state(db: Database, clock: FrozenClock) -> None:
    await plugin_state_contract(SqlPluginState(db, clock))
    async with db.begin() as conn:
        rows = {
            (r.namespace, r.key): (bytes(r.value), r.version)
            for r in await conn.execute(sa.select(plugin_state))
        }
    assert rows[("contract", "doc")] == (b"v2", 2)
    assert rows[("contract", "doc:b")] == (b"x", 1)
    assert rows[("other", "doc:c")] == (b"x", 1)
    assert rows[("contract", "race")][1] == 1


async def test_sql_plugin_state_is_durable_across_connections(
    db: Database, clock: FrozenClock
) -> None:
    first = SqlPluginState(db, clock)
    assert await first.put("ns", "k", b"one", expected_version=0) is True
    await db.close()
    again = Database.connect(db.url)
    try:
        assert await SqlPluginState(again, clock).get("ns", "k") == (b"one", 1)
    finally:
        await again.close()
