"""A real Prometheus (Debian's package) on loopback scrapes a real `agente serve` with the rules
`agente observability render` wrote. Guests ask a QloApps hotel for rooms; then QloApps goes
down behind its proxy (503 for everything). Prometheus sees the error-ratio recording rules move
from 0, the burn rate follow, and the circuit breaker open.

QloApps is the project's replay of the recorded 1.6.1 webservice, served by Granian over HTTP
behind a small "proxy" that answers 503 while a file exists."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import CI

ROOT = Path(__file__).resolve().parents[2]

PROXY = """
import os
from pathlib import Path

from agente_pms_qloapps.replay import create_qloapps_replay

inner = create_qloapps_replay().app
DOWN = Path(os.environ["REPLAY_DOWN_FILE"])


async def app(scope, receive, send):
    if scope["type"] == "http" and DOWN.exists():
        await send({"type": "http.response.start", "status": 503,
                    "headers": [(b"content-type", b"text/html")]})
        await send({"type": "http.response.body", "body": b"<h1>503 Service Unavailable</h1>"})
        return
    await inner(scope, receive, send)
"""

HOTELS = """
[[hotels]]
id = "qlo"
name = "QloApps demo hotel"
timezone = "America/Argentina/Buenos_Aires"
currency = "USD"

[hotels.pms]
plugin = "qloapps"

[hotels.pms.options]
base_url = "http://127.0.0.1:{port}"
hotel_id = "1"
"room_type.general" = "1"
"room_type.delux" = "2"

[[hotels.room_types]]
code = "general"
name = {{ es = "General", en = "General", pt = "General" }}
max_adults = 2
max_guests = 2

[[hotels.room_types]]
code = "delux"
name = {{ es = "Delux", en = "Delux", pt = "Delux" }}
max_adults = 2
max_guests = 2
"""

PROMETHEUS = """
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - {rules}
scrape_configs:
  - job_name: agente
    static_configs:
      - targets: ["127.0.0.1:{port}"]
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(what: str, ready: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if ready():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    pytest.fail(f"{what} did not become ready")


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[dict[str, Any]]:
    prometheus = shutil.which("prometheus")
    if prometheus is None:
        message = "prometheus is not installed (apt-get install prometheus, or just prometheus)"
        if CI:
            pytest.fail(f"{message}; CI=true forbids skipping")
        pytest.skip(message)
    qlo, app, prom = _port(), _port(), _port()
    down = tmp_path / "qloapps-down"
    (tmp_path / "qlo_proxy.py").write_text(PROXY)
    (tmp_path / "hotels.toml").write_text(HOTELS.format(port=qlo))
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTE_", "PROMETHEUS_"))}
    logs = tmp_path / "logs"
    logs.mkdir()
    procs: list[subprocess.Popen[bytes]] = []
    files: list[Any] = []

    def start(name: str, argv: list[str], env: dict[str, str]) -> None:
        out = (logs / f"{name}.log").open("wb")
        files.append(out)
        procs.append(subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=out, stderr=out))

    try:
        start("qloapps", [sys.executable, "-m", "granian", "--interface", "asgi", "--host",
                          "127.0.0.1", "--port", str(qlo), "qlo_proxy:app"],
              {**base_env, "REPLAY_DOWN_FILE": str(down)})  # fmt: skip
        _wait("the QloApps replay", lambda: httpx.get(f"http://127.0.0.1:{qlo}/api",
                                                       timeout=1).status_code in (200, 401))  # fmt: skip
        start("agente", [sys.executable, "-m", "agente.cli", "serve"], {
            **base_env, "AGENTE_PORT": str(app), "AGENTE_ENV": "test",
            "AGENTE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'agente.db'}",
            "AGENTE_HOTELS_FILE": str(tmp_path / "hotels.toml"), "AGENTE_DEFAULT_HOTEL": "qlo",
            "AGENTE_PMS": "mock,qloapps", "AGENTE_QLOAPPS_API_KEY": "TEST_KEY",
            "AGENTE_QLOAPPS_READ_RETRIES": "0", "AGENTE_QLOAPPS_BREAKER_MINIMUM_CALLS": "3",
            "AGENTE_QLOAPPS_BREAKER_OPEN_SECONDS": "600",
            "AGENTE_BUSINESS_HOURS_ALWAYS_OPEN": "true", "AGENTE_WORKER_POLL_INTERVAL": "0.05",
            "AGENTE_LOG_LEVEL": "WARNING",
        })  # fmt: skip
        _wait("agente serve", lambda: httpx.get(f"http://127.0.0.1:{app}/health/ready",
                                                 timeout=1).status_code == 200)  # fmt: skip
        render = subprocess.run(
            [sys.executable, "-m", "agente.cli", "observability", "render", "--out",
             str(tmp_path / "rules"), "--alertmanager-out", str(tmp_path / "am")],
            env=base_env, cwd=ROOT, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert render.returncode == 0, render.stderr
        config = tmp_path / "prometheus.yml"
        config.write_text(PROMETHEUS.format(rules=tmp_path / "rules/agente.rules.yml", port=app))
        start("prometheus", [prometheus, f"--config.file={config}",
                             f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                             f"--web.listen-address=127.0.0.1:{prom}"], base_env)  # fmt: skip
        _wait("prometheus", lambda: httpx.get(f"http://127.0.0.1:{prom}/-/ready",
                                               timeout=1).status_code == 200)  # fmt: skip
        # the first scrape has happened: every series starts at 0 in Prometheus
        _wait("the first scrape", lambda: bool(query(f"http://127.0.0.1:{prom}",
                                                     "orchestrator_messages_total")))  # fmt: skip
        yield {"app": f"http://127.0.0.1:{app}", "prom": f"http://127.0.0.1:{prom}",
               "down": down, "logs": logs}  # fmt: skip
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        for file in files:
            file.close()


def ask(app: str, session: str, text: str) -> str:
    with httpx.Client(base_url=app, timeout=20) as client:
        cursor = client.get("/webchat/qlo/messages", params={"session_id": session}).json()[
            "cursor"
        ]
        r = client.post("/webchat/qlo/messages", json={"session_id": session, "text": text})
        assert r.status_code == 202
        for _ in range(40):
            got = client.get("/webchat/qlo/messages",
                             params={"session_id": session, "after": cursor, "wait": 5}).json()  # fmt: skip
            out = [m for m in got["messages"] if m["direction"] == "out"]
            if out:
                body = out[0].get("body") or {}
                return str(body.get("text") or out[0].get("content") or "")
    pytest.fail(f"no reply to {text!r}")


def query(prom: str, expr: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{prom}/api/v1/query", params={"query": expr}, timeout=5)
    assert r.status_code == 200, r.text
    result: list[dict[str, Any]] = r.json()["data"]["result"]
    return result


def eventually(prom: str, expr: str, check: Callable[[float], bool], seconds: float = 40) -> float:
    deadline = time.monotonic() + seconds
    seen: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        seen = query(prom, expr)
        if seen and check(float(seen[0]["value"][1])):
            return float(seen[0]["value"][1])
        time.sleep(0.5)
    pytest.fail(f"{expr} never satisfied the check; last result {seen}")


def test_prometheus_sees_the_error_ratio_move_and_the_breaker_open(stack: dict[str, Any]) -> None:
    app, prom = stack["app"], stack["prom"]
    # healthy: guests get offers; the error ratio is recorded as 0 and the breaker is closed
    for day in (3, 6):
        reply = ask(app, f"healthy-{day}", f"hola, tienen lugar del {day}/2 al {day + 2}/2 para 2?")
        assert "Delux" in reply or "General" in reply, reply
    assert eventually(prom, "orchestrator:error_ratio:rate5m", lambda v: v == 0) == 0
    eventually(prom, 'pms_circuit_breaker_state{name!=""}', lambda v: v == 0)
    assert eventually(prom, "orchestrator_message_rate_all", lambda v: v > 0) > 0

    # QloApps goes down behind its proxy: each new question fails, honestly, and is counted
    stack["down"].write_text("down")
    for day in (10, 13, 16, 19, 22):
        reply = ask(app, f"outage-{day}", f"tienen lugar del {day}/3 al {day + 2}/3 para 2?")
        assert "Ahora no puedo consultar la disponibilidad" in reply, reply
    ratio = eventually(prom, "orchestrator:error_ratio:rate5m", lambda v: v > 0.5)
    assert ratio <= 1
    assert eventually(prom, "orchestrator:burn_rate:rate5m", lambda v: v > 14.4) > 14.4
    assert eventually(prom, "1 - orchestrator:success_ratio:rate5m", lambda v: v > 0.5) > 0.5
    assert eventually(prom, "max(pms_circuit_breaker_state)", lambda v: v == 1) == 1
    # every one of the five failures is counted once (the next scrape may still be on its way)
    assert (
        eventually(prom, 'sum(orchestrator_messages_total{status="error"})', lambda v: v >= 5) == 5
    )
