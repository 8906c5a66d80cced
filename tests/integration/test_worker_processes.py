"""Several real ``agente worker`` processes share one PostgreSQL queue (FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from typing import Any

import httpx
import sqlalchemy as sa

from agente.adapters.sql import inbox, outbox
from agente.domain import InboundMessage


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTE_")}
    env.update(
        AGENTE_DATABASE_URL=url,
        AGENTE_WORKER_CONCURRENCY="4",
        AGENTE_WORKER_POLL_INTERVAL="0.05",
        AGENTE_LOG_FORMAT="json",
        AGENTE_LOG_LEVEL="WARNING",
    )
    return env


async def test_two_worker_processes_answer_every_message_once_in_order(
    pg_url: str, make_deps: Any, tmp_path: Any
) -> None:
    deps = await make_deps(pg_url, use_clock=False)
    senders = [f"p-guest-{i}" for i in range(12)]
    for n in range(10):
        await deps.ingress.accept(
            [
                InboundMessage(
                    channel="webchat",
                    provider_message_id=f"{s}:{n}",
                    hotel_id="demo",
                    sender_id=s,
                    text=f"mensaje {n}",
                )
                for s in senders
            ]
        )
    logs = [open(tmp_path / f"worker{i}.log", "wb") for i in range(2)]
    ports = [_free_port(), _free_port()]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "agente.cli", "worker", "--metrics-port", str(port)],
            env=_env(pg_url),
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        for log, port in zip(logs, ports, strict=True)
    ]
    handled = 0.0
    try:
        for _ in range(600):
            async with deps.db.begin() as conn:
                pending = (
                    await conn.execute(
                        sa.select(sa.func.count()).where(
                            sa.or_(
                                inbox.c.status != "done",
                                inbox.c.id.not_in(
                                    sa.select(outbox.c.inbox_id).where(outbox.c.status == "sent")
                                ),
                            ),
                            inbox.c.provider_message_id.like("p-guest-%"),
                        )
                    )
                ).scalar_one()
            if pending == 0:
                break
            await asyncio.sleep(0.1)
        # each worker serves its own /metrics: together they counted every message once
        for port in ports:
            text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            handled += sum(
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith("orchestrator_messages_total{")
            )
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=20)
        for log in logs:
            log.close()
    assert all(p.returncode == 0 for p in procs), [p.returncode for p in procs]
    assert handled == 120
    async with deps.db.begin() as conn:
        rows = (
            await conn.execute(
                sa.select(
                    inbox.c.provider_message_id,
                    inbox.c.status,
                    inbox.c.lease_owner,
                    outbox.c.id.label("reply_id"),
                    outbox.c.status.label("reply_status"),
                )
                .join(outbox, outbox.c.inbox_id == inbox.c.id)
                .where(inbox.c.provider_message_id.like("p-guest-%"))
                .order_by(outbox.c.id)
            )
        ).all()
        claimed_by = (
            await conn.execute(
                sa.select(sa.func.count(sa.distinct(inbox.c.result["worker"].as_string())))
            )
        ).scalar_one()
    assert len(rows) == 120, "every message got exactly one reply"
    assert {r.status for r in rows} == {"done"} and {r.reply_status for r in rows} == {"sent"}
    order: dict[str, list[int]] = {}
    for r in rows:
        sender, n = r.provider_message_id.rsplit(":", 1)
        order.setdefault(sender, []).append(int(n))
    assert all(v == list(range(10)) for v in order.values()), order
    assert claimed_by == 2, "both processes took part"
    text = "".join((tmp_path / f"worker{i}.log").read_text() for i in range(2))
    assert "Traceback" not in text
