"""Shared fixtures: real SQLite, PostgreSQL and Redis; hypothesis profiles.

PostgreSQL and Redis are the machine's own services (127.0.0.1). When one is down the tests
that need it skip, except under ``CI=true`` where they fail: CI must exercise everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings

from agente.adapters.sql import Database, metadata
from agente.migrate import upgrade
from agente.testing import FrozenClock

CI = os.environ.get("CI", "").lower() == "true"
PG_ADMIN_URL = os.environ.get(
    "AGENTE_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("AGENTE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

settings.register_profile("quick", max_examples=40, deadline=None)
settings.register_profile(
    "thorough",
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "thorough" if CI else "quick"))


def unavailable(what: str, error: BaseException) -> None:
    message = f"{what} is not reachable ({type(error).__name__}: {error})"
    if CI:
        pytest.fail(f"{message}; CI=true forbids skipping integration tests")
    pytest.skip(message)


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL.replace("+asyncpg", ""), timeout=3)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _pg_create(name: str) -> None:
    await _pg_admin(f'CREATE DATABASE "{name}"')


async def _pg_drop(name: str) -> None:
    await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_cli(cwd: Path, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    """``agente …`` as a subprocess in a clean environment: PATH plus the given variables."""
    return subprocess.run(
        [sys.executable, "-m", "agente.cli", *args],
        cwd=cwd,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated to head."""
    name = f"agente_test_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(_pg_create(name))
    except Exception as exc:
        unavailable("PostgreSQL", exc)
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    url = f"{base}/{name}"
    asyncio.run(upgrade(url))
    yield url
    asyncio.run(_pg_drop(name))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    asyncio.run(upgrade(f"sqlite+aiosqlite:///{path}"))
    return str(path)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Any, sqlite_template: str) -> Iterator[str]:
    """Each test that takes this runs on both backends, with empty tables."""
    if request.param == "sqlite":
        import shutil

        path = tmp_path / "agente.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    url = request.getfixturevalue("pg_url")
    asyncio.run(_truncate(url))
    yield url


async def _truncate(url: str) -> None:
    db = Database.connect(url)
    try:
        async with db.begin() as conn:
            names = ", ".join(t.name for t in metadata.sorted_tables)
            await conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    finally:
        await db.close()


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database.connect(db_url)
    yield database
    await database.close()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def redis_url() -> Iterator[str]:
    """Redis database 15, emptied before and after the test."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.flushdb()
    except Exception as exc:
        client.close()
        unavailable("Redis", exc)
    yield REDIS_URL
    client.flushdb()
    client.close()


@pytest.fixture
async def clients(redis_url: str) -> AsyncIterator[Any]:
    """A factory of independent Redis clients (one per "process" of a test), closed afterwards;
    ``redis_url`` empties the database."""
    import redis.asyncio as aioredis

    made: list[aioredis.Redis] = []

    def make() -> aioredis.Redis:
        client = aioredis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


@pytest.fixture
async def make_deps(clock: FrozenClock) -> AsyncIterator[Any]:
    """Build real ``Deps`` on a database URL, with the demo hotel seeded; closed at teardown."""
    from agente.deps import build_deps
    from agente.hotels import load_hotels_file, seed_hotels
    from agente.settings import load_settings

    built: list[Any] = []

    async def factory(url: str, *, use_clock: bool = True, **env: str) -> Any:
        environ = {"AGENTE_DATABASE_URL": url, "AGENTE_EMBEDDED_WORKER": "false", **env}
        deps = build_deps(load_settings(environ), environ, clock=clock if use_clock else None)
        await seed_hotels(deps.db, load_hotels_file(None), deps.clock)
        built.append(deps)
        return deps

    yield factory
    for deps in built:
        await deps.close()


# --------------------------------------------------------------------- a real `agente serve`


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_serve(
    cwd: Path, env: dict[str, str], *args: str, log: Any = subprocess.DEVNULL
) -> Iterator[str]:
    """`agente serve` in a subprocess on ``env["AGENTE_PORT"]``, ready (``/health/ready`` 200)
    when this yields its base URL; terminated afterwards."""
    import time

    import httpx

    process = subprocess.Popen([sys.executable, "-m", "agente.cli", "serve", *args], cwd=cwd,
                               env=env, stdout=log, stderr=log)  # fmt: skip
    base = f"http://127.0.0.1:{env['AGENTE_PORT']}"
    try:
        for _ in range(150):
            try:
                if httpx.get(f"{base}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail("agente serve did not become ready")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


# ------------------------------------------------------------ a Redis that can go away


class RedisProxy:
    """A TCP proxy to Redis that can go down (dropping its connections) and come back."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    async def up(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def down(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()
        for writer in self.writers:
            writer.transport.abort()
        self.writers.clear()
        await asyncio.sleep(0.05)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers += [writer, up_writer]
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.transport.abort()


async def proxied_redis(redis_url: str) -> tuple[RedisProxy, Any]:
    """A started ``RedisProxy`` in front of ``redis_url`` and a client that talks through it
    (short timeouts, so a test sees Redis go away quickly)."""
    from urllib.parse import urlsplit

    import redis.asyncio as aioredis

    target = urlsplit(redis_url)
    proxy = RedisProxy(target.hostname or "127.0.0.1", target.port or 6379)
    await proxy.up()
    client = aioredis.Redis.from_url(
        f"redis://127.0.0.1:{proxy.port}{target.path}",
        socket_timeout=0.5,
        socket_connect_timeout=0.5,
    )
    return proxy, client
