"""Logs from a real `agente serve` (JSON): one correlation id from the request that brought a
guest's message to the reply it caused, and no phone number or e-mail in clear anywhere."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import httpx

from tests.conftest import free_port, running_serve

EMAIL = "ana.perez@example.com"
PHONE = "+54 9 11 2345-6789"


def test_one_correlation_id_from_request_to_reply_and_personal_data_masked(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTE_")}
    env.update(AGENTE_PORT=str(port), AGENTE_ENV="test", AGENTE_LOG_FORMAT="json",
               AGENTE_LOG_LEVEL="INFO", AGENTE_BUSINESS_HOURS_ALWAYS_OPEN="true",
               AGENTE_WORKER_POLL_INTERVAL="0.05")  # fmt: skip
    log_path = tmp_path / "agente.log"
    with log_path.open("wb") as log, running_serve(tmp_path, env, log=log) as base:
        with httpx.Client(base_url=base, timeout=10) as client:
            r = client.post("/webchat/demo/messages",
                            json={"session_id": "trace-1",
                                  "text": f"hola, soy Ana, mi mail es {EMAIL} y mi cel {PHONE}"},
                            headers={"X-Request-ID": "guest-trace-abc"})  # fmt: skip
            assert r.status_code == 202
            assert r.headers["x-request-id"] == "guest-trace-abc"
            got = client.get("/webchat/demo/messages",
                             params={"session_id": "trace-1", "after": 0, "wait": 10})  # fmt: skip
            assert any(m["direction"] == "out" for m in got.json()["messages"])
            # an id that is not a plain token is replaced by one of ours
            other = client.get("/health/live", headers={"X-Request-ID": "a b\tc"})
            generated = other.headers["x-request-id"]
            assert generated != "a b\tc" and len(generated) == 24
            assert client.get("/health/live", headers={"X-Request-ID": "5491123456789"}
                              ).headers["x-request-id"] != "5491123456789"  # fmt: skip
        time.sleep(0.5)
    text = log_path.read_text()
    assert EMAIL not in text and "2345-6789" not in text and "23456789" not in text
    events = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    traced = {e["event"] for e in events if e.get("correlation_id") == "guest-trace-abc"}
    assert {"messages_accepted", "message_handled", "reply_sent"} <= traced, traced
