"""The real entry point: ``agente serve`` (Granian) in a subprocess, spoken to over HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    started: list[tuple[subprocess.Popen[bytes], Any]] = []

    def start(**env_vars: str) -> tuple[str, Path]:
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTE_")}
        env.update(env_vars)
        log_path = tmp_path / f"serve-{port}.log"
        log = open(log_path, "wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "agente.cli", "serve", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        started.append((proc, log))
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            if proc.poll() is not None:
                raise AssertionError(log_path.read_text())
            try:
                if httpx.get(f"{base}/health/live", timeout=1).status_code == 200:
                    return base, log_path
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError("the service did not start: " + log_path.read_text())

    yield start
    for proc, log in started:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _chat(base: str, session: str, text: str) -> list[dict[str, Any]]:
    r = httpx.post(
        f"{base}/webchat/demo/messages",
        json={"session_id": session, "text": text, "client_message_id": f"m-{time.time_ns()}"},
        timeout=5,
    )
    assert r.status_code == 202, r.text
    r = httpx.get(
        f"{base}/webchat/demo/messages",
        params={"session_id": session, "after": 0, "wait": 10},
        timeout=15,
    )
    assert r.status_code == 200
    return [m for m in r.json()["messages"] if m["direction"] == "out"]


def test_serve_on_the_embedded_default(serve: Any, tmp_path: Path) -> None:
    base, log = serve()
    assert (tmp_path / "agente.db").exists(), "SQLite file under the current directory"
    assert "Open http://localhost:" in log.read_text()
    page = httpx.get(base + "/", timeout=5)
    assert page.status_code == 200 and "Hotel Sierra Serena" in page.text
    replies = _chat(base, "e2e-1", "hola, tienen lugar para el finde?")
    assert len(replies) == 1 and "Cuántas personas" in replies[0]["body"]["text"]
    ready = httpx.get(base + "/health/ready", timeout=5).json()
    assert ready["status"] == "ready" and ready["checks"]["database"]["status"] == "ok"
    metrics = httpx.get(base + "/metrics", timeout=5).text
    assert (
        'http_requests_total{method="POST",route="/webchat/{hotel_id}/messages",status_code="202"}'
        in metrics
    )
    assert httpx.get(base + "/nope", timeout=5).status_code == 404


def test_serve_on_postgresql_and_redis(serve: Any, pg_url: str, redis_url: str) -> None:
    base, _ = serve(AGENTE_DATABASE_URL=pg_url, AGENTE_REDIS_URL=redis_url, AGENTE_WORKERS="2")
    ready = httpx.get(base + "/health/ready", timeout=5).json()
    assert ready["checks"]["redis"]["status"] == "ok", ready
    assert ready["status"] == "ready"
    for i in range(3):
        assert _chat(base, f"e2e-pg-{i}", "hello")
