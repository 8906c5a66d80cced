"""The restore drill, on SQLite and PostgreSQL: conversations, a reservation and stored media
(the voucher PDF) made through the real entry points (`agente serve`'s web chat API and
`agente reservations confirm`), `agente backup`, the database destroyed, `agente restore` into a
fresh one, and then every row and every file is back and the service is ready and goes on with
the conversation where it was."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from agente.adapters.sql import metadata
from tests.conftest import PG_ADMIN_URL, free_port, run_cli, running_serve, unavailable

CLI_ENV = {"AGENTE_BUSINESS_HOURS_ALWAYS_OPEN": "true", "AGENTE_LOG_LEVEL": "WARNING"}


async def _admin(statement: str) -> None:
    engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text(statement))
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Any]]:
    if request.param == "sqlite":
        path = tmp_path / "agente.db"
        yield {"url": f"sqlite+aiosqlite:///{path}", "destroy": path.unlink, "create": None}
        return
    name = f"agente_drill_{uuid.uuid4().hex[:8]}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        unavailable("PostgreSQL", exc)
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    yield {
        "url": f"{base}/{name}",
        "destroy": lambda: asyncio.run(_admin(drop)),
        "create": lambda: asyncio.run(_admin(f'CREATE DATABASE "{name}"')),
    }
    asyncio.run(_admin(drop))


async def _snapshot(url: str) -> tuple[dict[str, int], dict[str, str]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            counts = {}
            for table in metadata.sorted_tables:
                query = sa.select(sa.func.count()).select_from(table)
                counts[table.name] = int((await conn.execute(query)).scalar_one())
            docs = await conn.execute(sa.text("SELECT key, content FROM documents"))
            files = {row.key: hashlib.sha256(bytes(row.content)).hexdigest() for row in docs}
    finally:
        await engine.dispose()
    return counts, files


def _say(client: httpx.Client, session: str, text: str, after: Any) -> tuple[str, Any]:
    """Send ``text``; the replies' text, and the cursor after them."""
    sent = client.post("/webchat/demo/messages", json={"session_id": session, "text": text})
    assert sent.status_code == 202, sent.text
    got = client.get("/webchat/demo/messages",
                     params={"session_id": session, "after": after, "wait": 10}).json()  # fmt: skip
    replies = [m["body"] for m in got["messages"] if m["direction"] == "out"]
    assert replies, text
    return "\n".join(b.get("text") or b.get("caption") or "" for b in replies), got["cursor"]


def test_backup_destroy_restore_and_everything_is_back(
    tmp_path: Path, database: dict[str, Any]
) -> None:
    url = database["url"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTE_", "OTEL_"))}
    env.update(AGENTE_DATABASE_URL=url, AGENTE_PORT=str(free_port()), **CLI_ENV)
    backups = tmp_path / "backups"
    cli = {**CLI_ENV, "AGENTE_DATABASE_URL": url, "AGENTE_BACKUP_TO": str(backups)}

    # a guest books through the web chat API; another only asks
    with running_serve(tmp_path, env) as base, httpx.Client(base_url=base, timeout=15) as c:
        after: Any = 0
        for text in ("tienen lugar del 20/12 al 23/12 para 2?", "1", "Ana Pérez",
                     "ana.perez@example.com"):  # fmt: skip
            replies, after = _say(c, "guest-1", text, after)
        assert "seña" in replies.lower()
        _say(c, "guest-2", "hi, do you have parking?", 0)
        listed = run_cli(tmp_path, "reservations", "list", **cli)
        (reservation,) = json.loads(listed.stdout)
    # staff confirm the deposit: the voucher PDF is stored as media
    confirmed = run_cli(tmp_path, "reservations", "confirm", reservation["pms_booking_id"], **cli)
    assert confirmed.returncode == 0, confirmed.stderr
    before, files = asyncio.run(_snapshot(url))
    assert before["reservations"] == 1 and before["conversations"] == 2 and len(files) == 1

    done = run_cli(tmp_path, "backup", **cli)
    assert done.returncode == 0, done.stderr
    assert "stored at" in done.stdout

    # the server is lost: the database is gone, an empty one takes its place
    database["destroy"]()
    if database["create"] is not None:
        database["create"]()
    restored = run_cli(tmp_path, "restore", **cli)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "reservations" in restored.stdout and "MISSING" not in restored.stdout
    after_restore, files_after = asyncio.run(_snapshot(url))
    assert after_restore == before
    assert files_after == files

    # a second restore over live data needs --force
    again = run_cli(tmp_path, "restore", **cli)
    assert again.returncode == 2 and "--force" in again.stderr

    with running_serve(tmp_path, env) as base, httpx.Client(base_url=base, timeout=15) as c:
        assert c.get("/health/ready").status_code == 200
        (key,) = files
        voucher = c.get(f"/documents/{key}")
        assert voucher.status_code == 200
        assert hashlib.sha256(voucher.content).hexdigest() == files[key]
        # the conversation goes on where it was: the booking is known and confirmed
        replies, _ = _say(c, "guest-1", "ya está confirmada mi reserva?", after)
        assert "confirmada" in replies.lower(), replies
