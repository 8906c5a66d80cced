"""The restore drill's duration for a database of 100,000 messages (issue 10's figure).

    python bench/backup_restore.py [--messages 100000] [--backend postgresql|sqlite|both]

Builds a database with N guest messages (inbox, handled) and N replies (outbox), spread over
N/20 conversations and guests, plus 200 stored payment proofs of 100 KiB; then times, as a
wall clock around the real commands (start-up included):

* ``agente backup`` to a local directory;
* ``agente restore`` of that backup into a new, empty database (checksums, restore,
  migrations, row counts).

It prints the sizes and the times. Target on this machine: each under 60 seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from agente.adapters.sql import conversations, documents, guests, hotels, inbox, outbox
from agente.migrate import upgrade

PG_ADMIN = os.environ.get(
    "AGENTE_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)


async def admin(statement: str) -> None:
    engine = create_async_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(sa.text(statement))
    await engine.dispose()


async def fill(url: str, messages: int) -> None:
    await upgrade(url)
    engine = create_async_engine(url)
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    people = max(1, messages // 20)
    async with engine.begin() as conn:
        await conn.execute(hotels.insert().values(id="demo", name="Bench", created_at=now,
                                                  config={"id": "demo", "name": "Bench"},
                                                  updated_at=now))  # fmt: skip
        await conn.execute(guests.insert(), [
            {"id": g + 1, "hotel_id": "demo", "channel": "whatsapp", "sender_id": f"54911{g:08d}",
             "name": f"Huésped {g}", "phone": f"+54911{g:08d}", "email": f"guest{g}@example.com",
             "language": "es", "opted_out": False, "created_at": now, "updated_at": now}
            for g in range(people)
        ])  # fmt: skip
        await conn.execute(conversations.insert(), [
            {"id": g + 1, "hotel_id": "demo", "channel": "whatsapp", "sender_id": f"54911{g:08d}",
             "guest_id": g + 1, "mode": "bot",
             "state": {"language": "es", "slots": {"adults": 2}, "turns": 20},
             "created_at": now, "updated_at": now}
            for g in range(people)
        ])  # fmt: skip
        batch = 5000
        for start in range(0, messages, batch):
            rows_in, rows_out = [], []
            for i in range(start, min(messages, start + batch)):
                g = i % people
                key = f"demo:whatsapp:54911{g:08d}"
                at = now + dt.timedelta(seconds=i)
                rows_in.append({
                    "id": i + 1, "channel": "whatsapp", "provider_message_id": f"wamid.{i:012d}",
                    "hotel_id": "demo", "conversation_key": key,
                    "message": {"channel": "whatsapp", "provider_message_id": f"wamid.{i:012d}",
                                "hotel_id": "demo", "sender_id": f"54911{g:08d}", "kind": "text",
                                "text": "Hola, ¿tienen lugar del 15 al 18 de diciembre para 2?"},
                    "status": "done", "attempts": 1, "available_at": at, "received_at": at,
                    "processed_at": at, "result": {"intent": "check_availability", "replies": 1},
                })  # fmt: skip
                rows_out.append({
                    "id": i + 1, "inbox_id": i + 1, "hotel_id": "demo", "channel": "whatsapp",
                    "conversation_key": key, "recipient_id": f"54911{g:08d}",
                    "message": {"body": {"type": "text", "text": "Para 2 personas del 15/12 al "
                                         "18/12 tenemos la Doble Matrimonial a ARS 85.000 por noche."}},
                    "status": "sent", "attempts": 1, "next_attempt_at": at,
                    "provider_message_id": f"wamid.out{i:012d}", "created_at": at, "sent_at": at,
                    "updated_at": at,
                })  # fmt: skip
            await conn.execute(inbox.insert(), rows_in)
            await conn.execute(outbox.insert(), rows_out)
        await conn.execute(documents.insert(), [
            {"key": uuid.uuid4().hex + "00000000", "hotel_id": "demo", "filename": f"proof-{d}.jpg",
             "mime_type": "image/jpeg", "content": os.urandom(100 * 1024), "created_at": now}
            for d in range(200)
        ])  # fmt: skip
        if url.startswith("postgresql"):
            for table in ("guests", "conversations", "inbox", "outbox"):
                await conn.execute(sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))  # fmt: skip
    await engine.dispose()


def timed(*args: str, env: dict[str, str], cwd: Path) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "agente.cli", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, check=False)  # fmt: skip
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"agente {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return elapsed, done.stdout


async def run(backend: str, messages: int) -> None:
    with tempfile.TemporaryDirectory(prefix="agente-bench-backup-") as tmp:
        work = Path(tmp)
        if backend == "postgresql":
            base = PG_ADMIN.rsplit("/", 1)[0]
            src_name, dst_name = (f"bench_{uuid.uuid4().hex[:8]}" for _ in range(2))
            for name in (src_name, dst_name):
                await admin(f'CREATE DATABASE "{name}"')
            src, dst = f"{base}/{src_name}", f"{base}/{dst_name}"
        else:
            src = f"sqlite+aiosqlite:///{work / 'src.db'}"
            dst = f"sqlite+aiosqlite:///{work / 'dst.db'}"
        try:
            started = time.perf_counter()
            await fill(src, messages)
            print(f"{backend}: filled {messages:,} messages and {messages:,} replies in "
                  f"{time.perf_counter() - started:.1f} s")  # fmt: skip
            env = {"PATH": os.environ.get("PATH", ""), "AGENTE_BACKUP_TO": str(work / "backups"),
                   "AGENTE_LOG_LEVEL": "WARNING"}  # fmt: skip
            seconds, out = timed("backup", env={**env, "AGENTE_DATABASE_URL": src}, cwd=work)
            size = sum(p.stat().st_size for p in (work / "backups/daily").glob("*.tar"))
            print(f"{backend}: agente backup   {seconds:6.2f} s   archive {size / 2**20:.1f} MiB")
            seconds, out = timed("restore", env={**env, "AGENTE_DATABASE_URL": dst}, cwd=work)
            rows = [line for line in out.splitlines() if " inbox " in line or " outbox " in line]
            print(
                f"{backend}: agente restore  {seconds:6.2f} s   "
                + "; ".join(r.strip() for r in rows)
            )
        finally:
            if backend == "postgresql":
                for name in (src_name, dst_name):
                    await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--backend", choices=["postgresql", "sqlite", "both"], default="both")
    args = parser.parse_args()
    backends = ["postgresql", "sqlite"] if args.backend == "both" else [args.backend]
    print(f"{os.cpu_count()} cores; wall clock of the real commands, start-up included")
    for backend in backends:
        asyncio.run(run(backend, args.messages))


if __name__ == "__main__":
    main()
