"""Run Alembic migrations from code (``agente migrate``, start-up, tests).

The scripts live in the repository's top-level ``migrations/``; a wheel carries them inside the
package as ``agente/_migrations``.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import create_async_engine

__all__ = ["alembic_config", "current", "downgrade", "upgrade"]


def _script_location() -> Path:
    package = Path(__file__).resolve().parent
    for candidate in (package / "_migrations", package.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("the Alembic scripts (migrations/) are not installed")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_script_location()))
    config.attributes["url"] = url
    return config


async def _run(url: str, fn: str, revision: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:

            def _sync(sync_conn: object) -> None:
                config = alembic_config(url)
                config.attributes["connection"] = sync_conn
                getattr(command, fn)(config, revision)

            await conn.run_sync(_sync)
    finally:
        await engine.dispose()


async def upgrade(url: str, revision: str = "head") -> None:
    await _run(url, "upgrade", revision)


async def downgrade(url: str, revision: str = "base") -> None:
    await _run(url, "downgrade", revision)


async def current(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda c: MigrationContext.configure(c).get_current_revision()
            )
    finally:
        await engine.dispose()
