"""Web chat ingestion benchmark: accepted messages/second and accept-to-reply latency.

Starts a real ``agente serve`` (Granian, embedded worker) on SQLite and on PostgreSQL, posts
messages to ``POST /webchat/{hotel}/messages`` from many concurrent guests over loopback, waits
until every message has its reply, and reports:

* accepted/s: messages durably accepted (202) per second of the posting phase;
* accept→reply p50/p99: from the inbox row's ``received_at`` to the outbox row's ``sent_at``,
  read from the database (no client-side polling noise);
* drain: seconds from the first post until the last reply was sent.

    python bench/webchat_throughput.py [--messages 2000] [--guests 200] [--concurrency 32]
                                       [--backends sqlite,postgresql] [--workers 1] [--rate N]

The load generator runs on the same 2-core machine as the server: figures are a floor.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agente.adapters.sql import Database, inbox, outbox

PG_ADMIN = os.environ.get(
    "AGENTE_BENCH_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def pg_database(create: bool, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN.replace("+asyncpg", ""))
    try:
        if create:
            await conn.execute(f'CREATE DATABASE "{name}"')
        else:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run_backend(backend: str, args: argparse.Namespace) -> dict[str, float]:
    workdir = Path(tempfile.mkdtemp(prefix="agente-bench-"))
    pg_name = f"agente_bench_{uuid.uuid4().hex[:8]}"
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir / 'agente.db'}"
    else:
        await pg_database(True, pg_name)
        url = f"{PG_ADMIN.rsplit('/', 1)[0]}/{pg_name}"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTE_")}
    env.update(
        AGENTE_DATABASE_URL=url,
        AGENTE_WORKERS=str(args.workers),
        AGENTE_LOG_LEVEL="WARNING",
        AGENTE_WORKER_CONCURRENCY=str(args.worker_concurrency),
    )
    log = (workdir / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "agente.cli", "serve", "--port", str(port)],
        cwd=workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    db = Database.connect(url)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            for _ in range(300):
                try:
                    if (await client.get("/health/ready")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError((workdir / "serve.log").read_text())

            queue: asyncio.Queue[int] = asyncio.Queue()
            for i in range(args.messages):
                queue.put_nowait(i)
            rejected = 0

            async def poster() -> None:
                nonlocal rejected
                while True:
                    try:
                        i = queue.get_nowait()
                    except asyncio.QueueEmpty:
                        return
                    if args.rate:  # paced load: message i leaves at start + i / rate
                        delay = start + i / args.rate - time.perf_counter()
                        if delay > 0:
                            await asyncio.sleep(delay)
                    r = await client.post(
                        "/webchat/demo/messages",
                        json={
                            "session_id": f"bench-{i % args.guests}",
                            "text": f"hola, mensaje {i}",
                            "client_message_id": f"m{i}",
                        },
                    )
                    if r.status_code != 202:
                        rejected += 1

            start = time.perf_counter()
            await asyncio.gather(*(poster() for _ in range(args.concurrency)))
            accept_seconds = time.perf_counter() - start

        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            async with db.begin() as conn:
                sent = (
                    await conn.execute(sa.select(sa.func.count()).where(outbox.c.status == "sent"))
                ).scalar_one()
            if sent >= args.messages:
                break
            await asyncio.sleep(0.2)
        drain_seconds = time.perf_counter() - start
        async with db.begin() as conn:
            rows = (
                await conn.execute(
                    sa.select(inbox.c.received_at, outbox.c.sent_at)
                    .join(outbox, outbox.c.inbox_id == inbox.c.id)
                    .where(outbox.c.status == "sent")
                )
            ).all()
        latencies = [(r.sent_at - r.received_at).total_seconds() * 1000 for r in rows]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        await db.close()
        if backend == "postgresql":
            await pg_database(False, pg_name)
        shutil.rmtree(workdir, ignore_errors=True)
    return {
        "messages": args.messages,
        "rejected": rejected,
        "replied": len(latencies),
        "accepted_per_s": args.messages / accept_seconds,
        "drain_s": drain_seconds,
        "p50_ms": statistics.median(latencies) if latencies else float("nan"),
        "p99_ms": percentile(latencies, 0.99) if latencies else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--guests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1, help="Granian worker processes")
    parser.add_argument("--worker-concurrency", type=int, default=8)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument(
        "--rate", type=float, default=0, help="messages per second (0: as fast as possible)"
    )
    args = parser.parse_args()
    print(
        f"{args.messages} messages from {args.guests} guests, {args.concurrency} concurrent "
        f"posters, {args.workers} Granian worker(s), worker concurrency {args.worker_concurrency}, "
        f"rate {args.rate or 'unpaced'}"
    )
    print(
        f"{'backend':<11} {'accepted/s':>10} {'replied':>8} {'rejected':>8} {'drain s':>8} {'p50 ms':>8} {'p99 ms':>8}"
    )
    for backend in args.backends.split(","):
        r = asyncio.run(run_backend(backend, args))
        print(
            f"{backend:<11} {r['accepted_per_s']:>10.0f} {r['replied']:>8.0f} {r['rejected']:>8.0f} "
            f"{r['drain_s']:>8.1f} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f}"
        )


if __name__ == "__main__":
    main()
