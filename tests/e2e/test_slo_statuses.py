"""What the SLO counts: ``orchestrator_messages_total{status}`` over HTTP, with the mock PMS
failing on purpose. Only ``error`` spends the error budget (observability/prometheus rules)."""

from __future__ import annotations

from pathlib import Path

import httpx

from agente.app import create_app
from agente.deps import build_deps
from agente.hotels import load_hotels_file, seed_hotels
from agente.migrate import upgrade
from agente.settings import load_settings
from agente.testing import FrozenClock

MESSAGES = "/webchat/demo/messages"


async def _run(tmp_path: Path, failure_rate: str, texts: list[str]) -> tuple[str, list[str]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'slo.db'}"
    variables = {"AGENTE_DATABASE_URL": url, "AGENTE_ENV": "test",
                 "AGENTE_BUSINESS_HOURS_ALWAYS_OPEN": "true",
                 "AGENTE_MOCK_PMS_FAILURE_RATE": failure_rate, "AGENTE_MOCK_PMS_SEED": "1"}  # fmt: skip
    clock = FrozenClock()
    deps = build_deps(load_settings(variables), variables, clock=clock)
    await upgrade(url)
    await seed_hotels(deps.db, load_hotels_file(None), clock)
    replies: list[str] = []
    transport = httpx.ASGITransport(app=create_app(deps=deps))
    async with httpx.AsyncClient(transport=transport, base_url="http://agente") as client:
        for text in texts:
            r = await client.post(MESSAGES, json={"session_id": "s1", "text": text})
            assert r.status_code == 202
            worker = deps.worker()
            for _ in range(20):
                if await worker.run_inbox_once() + await worker.run_outbox_once() == 0:
                    break
        out = (await client.get(MESSAGES, params={"session_id": "s1"})).json()["messages"]
        replies = [m["body"]["text"] for m in out if m["direction"] == "out" and "body" in m]
        metrics = (await client.get("/metrics")).text
    await deps.close()
    return metrics, replies


async def test_a_pms_failure_is_an_error_with_an_honest_reply(tmp_path: Path) -> None:
    metrics, replies = await _run(tmp_path, "1", ["tienen lugar del 15/12 al 18/12 para 2?"])
    assert 'orchestrator_messages_total{intent="check_availability",status="error"} 1.0' in metrics
    counted = [
        line
        for line in metrics.splitlines()
        if line.startswith("orchestrator_messages_total{") and not line.endswith(" 0.0")
    ]
    assert counted == [
        'orchestrator_messages_total{intent="check_availability",status="error"} 1.0'
    ]
    assert replies[-1].startswith("Ahora no puedo consultar la disponibilidad")


async def test_asking_for_a_person_is_a_handoff_and_a_plain_answer_is_ok(tmp_path: Path) -> None:
    metrics, _ = await _run(tmp_path, "0", ["hola", "quiero hablar con una persona"])
    assert 'orchestrator_messages_total{intent="greeting",status="ok"} 1.0' in metrics
    assert 'orchestrator_messages_total{intent="human_handoff",status="handoff"} 1.0' in metrics
    # every intent's series exists from the start, so rate() sees even the first error
    assert 'orchestrator_messages_total{intent="complaint",status="error"} 0.0' in metrics
    assert 'orchestrator_messages_total{intent="unhandled",status="error"} 0.0' in metrics


async def test_a_message_given_up_is_one_unhandled_error(tmp_path: Path) -> None:
    from agente.domain import InboundMessage

    url = f"sqlite+aiosqlite:///{tmp_path / 'slo.db'}"
    variables = {"AGENTE_DATABASE_URL": url, "AGENTE_ENV": "test"}
    deps = build_deps(load_settings(variables), variables, clock=FrozenClock())
    await upgrade(url)
    await deps.ingress.accept([InboundMessage(channel="webchat", provider_message_id="x1",
                                              hotel_id="no-such-hotel", sender_id="s1", text="hola")])  # fmt: skip
    worker = deps.worker()
    for _ in range(3):
        await worker.run_inbox_once()
    counted = deps.metrics.registry.get_sample_value(
        "orchestrator_messages_total", {"intent": "unhandled", "status": "error"}
    )
    assert counted == 1
    await deps.close()
