"""The HTTP surface end to end, on SQLite and PostgreSQL: web chat, health, metrics, errors.

Requests go through ``httpx.ASGITransport`` in the test's own event loop. Litestar 2's
``AsyncTestClient`` runs the app in a separate thread and event loop (a blocking portal, see
litestar-org/litestar#1920), so the database pool would be shared across two loops (asyncpg
refuses) and concurrent requests would be serialised; the ASGI transport has neither problem.
No response in this file may be a 500: every client checks every response.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from agente.adapters.sql import inbox, outbox
from agente.app import create_app
from agente.deps import Deps, build_deps
from agente.migrate import upgrade
from agente.settings import load_settings

HOTEL = "Hotel Sierra Serena"
MESSAGES = "/webchat/demo/messages"
MakeDeps = Callable[..., Awaitable[Deps]]


async def _no_500(response: httpx.Response) -> None:
    if response.status_code == 500:
        await response.aread()
        raise AssertionError(
            f"{response.request.method} {response.request.url} answered 500: {response.text}"
        )


def client_for(deps: Deps) -> httpx.AsyncClient:
    """A client on a fresh app over ``deps``; any 500 fails the test at once."""
    app = create_app(deps=deps)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        event_hooks={"response": [_no_500]},
    )


_DEPS: dict[int, Deps] = {}


@pytest.fixture
async def client(db_url: str, make_deps: MakeDeps) -> AsyncIterator[httpx.AsyncClient]:
    """A client on the demo hotel's app, on both database backends."""
    deps = await make_deps(db_url)
    async with client_for(deps) as c:
        _DEPS[id(c)] = deps
        yield c
        del _DEPS[id(c)]


def deps_of(client: httpx.AsyncClient) -> Deps:
    return _DEPS[id(client)]


async def drain(deps: Deps, rounds: int = 10) -> None:
    worker = deps.worker()
    for _ in range(rounds):
        if await worker.run_once() == 0:
            return


async def table_rows(deps: Deps, table: sa.Table) -> list[Any]:
    async with deps.db.begin() as conn:
        return list(await conn.execute(sa.select(table).order_by(table.c.id)))


def session() -> str:
    return f"s-{uuid.uuid4().hex[:12]}"


# ---------------------------------------------------------------------------- web chat


async def test_a_guest_message_gets_a_reply(client: httpx.AsyncClient) -> None:
    sid = session()
    r = await client.post(
        MESSAGES, json={"session_id": sid, "text": "hola", "client_message_id": "m1"}
    )
    assert r.status_code == 202
    assert r.json() == {"message_id": f"{sid}:m1", "duplicate": False}

    before = await client.get(MESSAGES, params={"session_id": sid, "after": 0})
    assert before.status_code == 200
    assert [m["direction"] for m in before.json()["messages"]] == ["in"]

    await drain(deps_of(client))
    r = await client.get(MESSAGES, params={"session_id": sid, "after": 0})
    assert r.status_code == 200
    body = r.json()
    messages = body["messages"]
    assert messages[0]["direction"] == "in"
    assert messages[0]["client_message_id"] == "m1"
    assert messages[0]["body"] == {"type": "text", "text": "hola"}
    replies = [m for m in messages if m["direction"] == "out"]
    assert len(replies) == 1
    reply = replies[0]
    assert reply["body"]["type"] == "text"
    assert HOTEL in reply["body"]["text"]
    assert "Hola" in reply["body"]["text"]  # the demo hotel speaks Spanish by default
    assert "response_type" not in reply  # only with AGENTE_ENV=test
    assert body["cursor"] == reply["id"]

    later = await client.get(MESSAGES, params={"session_id": sid, "after": body["cursor"]})
    assert later.json() == {"messages": [], "cursor": body["cursor"]}
    other = await client.get(MESSAGES, params={"session_id": session(), "after": 0})
    assert other.json() == {"messages": [], "cursor": 0}


async def test_test_mode_echoes_the_response_type_and_content(
    db_url: str, make_deps: MakeDeps
) -> None:
    deps = await make_deps(db_url, AGENTE_ENV="test")
    sid = session()
    async with client_for(deps) as client:
        r = await client.post(MESSAGES, json={"session_id": sid, "text": "hola"})
        assert r.status_code == 202
        await drain(deps)
        r = await client.get(MESSAGES, params={"session_id": sid, "after": 0})
    (reply,) = [m for m in r.json()["messages"] if m["direction"] == "out"]
    assert reply["response_type"] == "text"
    assert reply["content"] == reply["body"]
    assert HOTEL in reply["content"]["text"]


async def test_the_same_client_message_id_ten_times_at_once_is_processed_once(
    client: httpx.AsyncClient,
) -> None:
    sid = session()
    payload = {"session_id": sid, "text": "quiero reservar", "client_message_id": "same-1"}
    responses = await asyncio.gather(*(client.post(MESSAGES, json=payload) for _ in range(10)))
    assert [r.status_code for r in responses] == [202] * 10
    duplicates = sorted(r.json()["duplicate"] for r in responses)
    assert duplicates == [False] + [True] * 9
    assert {r.json()["message_id"] for r in responses} == {f"{sid}:same-1"}

    deps = deps_of(client)
    await drain(deps)
    assert len(await table_rows(deps, inbox)) == 1
    assert len(await table_rows(deps, outbox)) == 1
    r = await client.get(MESSAGES, params={"session_id": sid, "after": 0})
    assert [m["direction"] for m in r.json()["messages"]] == ["in", "out"]

    again = await client.post(MESSAGES, json=payload)
    assert again.json()["duplicate"] is True
    await drain(deps)
    assert len(await table_rows(deps, outbox)) == 1


async def test_the_chat_page_names_the_hotel(client: httpx.AsyncClient) -> None:
    for path in ("/", "/chat/demo"):
        r = await client.get(path)
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/html")
        assert HOTEL in r.text
        assert "{{" not in r.text
        assert "/webchat/demo" in r.text
    assert (await client.get("/chat/nowhere")).status_code == 404


# ---------------------------------------------------------------------------- rejections


async def test_unknown_route_is_a_json_404(client: httpx.AsyncClient) -> None:
    r = await client.get("/no/such/route")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["status_code"] == 404


async def test_unknown_hotel_is_a_404(client: httpx.AsyncClient) -> None:
    r = await client.post("/webchat/nowhere/messages", json={"session_id": "s1", "text": "hola"})
    assert r.status_code == 404
    assert "nowhere" in r.json()["detail"]
    r = await client.get("/webchat/nowhere/messages", params={"session_id": "s1"})
    assert r.status_code == 404
    assert await table_rows(deps_of(client), inbox) == []


async def test_malformed_json_is_a_400(client: httpx.AsyncClient) -> None:
    for raw in (
        b"{",
        b"not json",
        b'{"session_id": "s1", "text": "hola",}',
        b'{"session_id": "s1", "text": "\xff"}',  # invalid UTF-8 inside a string
        b'{"session_id": "s1", "text": "\xc3"}',
    ):
        r = await client.post(MESSAGES, content=raw, headers={"content-type": "application/json"})
        assert r.status_code == 400, raw
        assert r.json()["detail"]


@pytest.mark.parametrize(
    ("payload", "key"),
    [
        ({"session_id": 1, "text": "hola"}, "session_id"),
        ({"session_id": "s1", "text": ["hola"]}, "text"),
        ({"session_id": "s1", "text": "hola", "client_message_id": 7}, "client_message_id"),
        ({"session_id": "s1", "text": ""}, "text"),
        ({"session_id": "s1", "text": "x" * 4097}, "text"),
        ({"session_id": "../x", "text": "hola"}, "session_id"),
        ({"session_id": "s" * 65, "text": "hola"}, "session_id"),
        ({"session_id": "s1", "text": "hola", "client_message_id": "a/b"}, "client_message_id"),
        ({"session_id": "s1", "text": "hola", "admin": True}, "admin"),
        ({"text": "hola"}, "session_id"),
        ([], "data"),
        (None, "data"),
    ],
)
async def test_invalid_messages_are_a_400_with_a_reason(
    client: httpx.AsyncClient, payload: Any, key: str
) -> None:
    r = await client.post(
        MESSAGES, content=json.dumps(payload), headers={"content-type": "application/json"}
    )
    assert r.status_code == 400
    body = r.json()
    reasons = json.dumps(body.get("extra", []))
    assert key in reasons or key in body["detail"], body
    assert await table_rows(deps_of(client), inbox) == []


async def test_the_longest_text_allowed_is_accepted(client: httpx.AsyncClient) -> None:
    r = await client.post(MESSAGES, json={"session_id": "s1", "text": "x" * 4096})
    assert r.status_code == 202


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"session_id": "../x"},
        {"session_id": "s1", "after": "-1"},
        {"session_id": "s1", "after": "x"},
        {"session_id": "s1", "wait": "26"},
    ],
)
async def test_invalid_history_queries_are_a_400(
    client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    r = await client.get(MESSAGES, params=params)
    assert r.status_code == 400
    assert r.json()["detail"]


async def test_a_huge_history_cursor_is_a_400_not_a_500(client: httpx.AsyncClient) -> None:
    r = await client.get(MESSAGES, params={"session_id": "s1", "after": str(2**70)})
    assert r.status_code == 400


async def test_a_body_over_the_limit_is_a_413(client: httpx.AsyncClient) -> None:
    big = json.dumps({"session_id": "s1", "text": "x" * (2 * 1024 * 1024)})
    r = await client.post(MESSAGES, content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert await table_rows(deps_of(client), inbox) == []


async def test_the_body_limit_follows_the_setting(db_url: str, make_deps: MakeDeps) -> None:
    deps = await make_deps(db_url, AGENTE_MAX_BODY_BYTES="200")
    async with client_for(deps) as client:
        small = await client.post(MESSAGES, json={"session_id": "s1", "text": "x" * 100})
        large = await client.post(MESSAGES, json={"session_id": "s1", "text": "x" * 300})
    assert (small.status_code, large.status_code) == (202, 413)


# ---------------------------------------------------------------------------- health and metrics


async def test_liveness_and_readiness(client: httpx.AsyncClient) -> None:
    live = await client.get("/health/live")
    assert live.status_code == 200
    assert live.json() == {"status": "alive"}
    ready = await client.get("/health/ready")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready"
    database = body["checks"]["database"]
    assert database["status"] == "ok"
    assert database["required"] is True
    assert isinstance(database["latency_ms"], int | float)
    assert database["latency_ms"] >= 0
    assert body["checks"]["pms"] == {"status": "skipped", "required": False}
    assert "redis" not in body["checks"]


def metric_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


async def test_metrics_count_requests_by_route_and_report_dependencies(
    client: httpx.AsyncClient,
) -> None:
    await client.get("/health/live")
    await client.get("/no/such/route")
    await client.get("/webchat/demo/messages", params={"session_id": "s1"})
    await client.get("/webchat/demo/messages", params={"session_id": "s2"})
    await client.post(MESSAGES, json={"session_id": "s1", "text": "hola"})
    await client.get("/health/ready")
    r = await client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    lines = metric_lines(r.text)
    assert 'http_requests_total{method="GET",route="/health/live",status_code="200"} 1.0' in lines
    assert 'http_requests_total{method="GET",route="<unmatched>",status_code="404"} 1.0' in lines
    assert (
        'http_requests_total{method="GET",route="/webchat/{hotel_id}/messages",status_code="200"} 2.0'
        in lines
    )
    assert 'dependency_up{name="database"} 1.0' in lines
    assert "readiness_up 1.0" in lines
    assert 'agente_queue_depth{queue="inbox"} 1.0' in lines
    assert 'agente_queue_depth{queue="outbox"} 0.0' in lines
    assert 'agente_messages_accepted_total{channel="webchat"} 1.0' in lines
    # raw paths and ids never become labels
    assert "s1" not in r.text
    assert "/no/such/route" not in r.text


# ---------------------------------------------------------------------------- readiness failures


async def migrated_sqlite(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ready.db'}"
    await upgrade(url)
    return url


@pytest.fixture
async def built() -> AsyncIterator[Callable[..., Deps]]:
    """``build_deps`` straight from an environment (no seeding); closed at teardown."""
    made: list[Deps] = []

    def factory(**env: str) -> Deps:
        environ = {"AGENTE_EMBEDDED_WORKER": "false", "AGENTE_READINESS_TIMEOUT": "2", **env}
        deps = build_deps(load_settings(environ), environ)
        made.append(deps)
        return deps

    yield factory
    for deps in made:
        await deps.close()


def assert_no_stack_trace(text: str) -> None:
    assert "Traceback" not in text
    assert 'File "' not in text
    assert ".py" not in text


async def test_database_down_makes_readiness_fail_without_a_stack_trace(
    built: Callable[..., Deps],
) -> None:
    deps = built(AGENTE_DATABASE_URL="postgresql://postgres@127.0.0.1:1/x")
    async with client_for(deps) as client:
        assert (await client.get("/health/live")).status_code == 200
        r = await client.get("/health/ready")
        assert r.status_code == 503
        body = r.json()
        assert body["status"] == "not_ready"
        database = body["checks"]["database"]
        assert database["status"] == "failing"
        assert database["required"] is True
        assert isinstance(database["latency_ms"], int | float)
        assert database["error"]
        assert "\n" not in database["error"]
        assert_no_stack_trace(r.text)
        metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    lines = metric_lines(metrics.text)
    assert 'dependency_up{name="database"} 0.0' in lines
    assert "readiness_up 0.0" in lines
    assert 'http_requests_total{method="GET",route="/health/ready",status_code="503"} 1.0' in lines


async def test_redis_down_makes_readiness_fail(built: Callable[..., Deps], tmp_path: Path) -> None:
    url = await migrated_sqlite(tmp_path)
    deps = built(AGENTE_DATABASE_URL=url, AGENTE_REDIS_URL="redis://127.0.0.1:1/0")
    async with client_for(deps) as client:
        r = await client.get("/health/ready")
        assert r.status_code == 503
        checks = r.json()["checks"]
        assert checks["database"]["status"] == "ok"
        assert checks["redis"]["status"] == "failing"
        assert checks["redis"]["required"] is True
        assert_no_stack_trace(r.text)
        metrics = metric_lines((await client.get("/metrics")).text)
    assert 'dependency_up{name="redis"} 0.0' in metrics
    assert 'dependency_up{name="database"} 1.0' in metrics
    assert "readiness_up 0.0" in metrics


async def test_redis_down_is_tolerated_when_not_required(
    built: Callable[..., Deps], tmp_path: Path
) -> None:
    url = await migrated_sqlite(tmp_path)
    deps = built(
        AGENTE_DATABASE_URL=url,
        AGENTE_REDIS_URL="redis://127.0.0.1:1/0",
        AGENTE_CHECK_REDIS_IN_READINESS="false",
    )
    async with client_for(deps) as client:
        r = await client.get("/health/ready")
        metrics = metric_lines((await client.get("/metrics")).text)
    assert r.status_code == 200
    checks = r.json()["checks"]
    assert checks["redis"]["status"] == "failing"
    assert checks["redis"]["required"] is False
    assert checks["database"]["status"] == "ok"
    assert 'dependency_up{name="redis"} 0.0' in metrics
    assert "readiness_up 1.0" in metrics


async def test_real_redis_is_ready(
    built: Callable[..., Deps], tmp_path: Path, redis_url: str
) -> None:
    url = await migrated_sqlite(tmp_path)
    deps = built(AGENTE_DATABASE_URL=url, AGENTE_REDIS_URL=redis_url)
    async with client_for(deps) as client:
        r = await client.get("/health/ready")
        metrics = metric_lines((await client.get("/metrics")).text)
    assert r.status_code == 200
    checks = r.json()["checks"]
    assert checks["redis"]["status"] == "ok"
    assert checks["redis"]["required"] is True
    assert checks["database"]["status"] == "ok"
    assert 'dependency_up{name="redis"} 1.0' in metrics


# ---------------------------------------------------------------------------- fuzzing


_ID = st.from_regex(r"\A[A-Za-z0-9_-]{1,64}\Z")
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
_MESSAGE_LIKE = st.fixed_dictionaries(
    {"session_id": _ID | _JSON, "text": st.text(max_size=50) | _JSON},
    optional={"client_message_id": _ID | _JSON, "extra": _JSON},
)
_BODIES = st.one_of(
    _JSON.map(lambda v: json.dumps(v, ensure_ascii=False).encode("utf-8")),
    _MESSAGE_LIKE.map(lambda v: json.dumps(v, ensure_ascii=False).encode("utf-8")),
    st.binary(max_size=200),
)


def test_no_body_makes_the_message_endpoint_fail_with_a_5xx(
    sqlite_template: str, tmp_path: Path
) -> None:
    """Arbitrary JSON and bytes: always 202 or a 4xx. One app for every example."""
    import shutil

    from agente.hotels import load_hotels_file, seed_hotels

    path = tmp_path / "fuzz.db"
    shutil.copy(sqlite_template, path)
    environ = {
        "AGENTE_DATABASE_URL": f"sqlite+aiosqlite:///{path}",
        "AGENTE_EMBEDDED_WORKER": "false",
    }

    with asyncio.Runner() as runner:
        deps = build_deps(load_settings(environ), environ)
        runner.run(seed_hotels(deps.db, load_hotels_file(None), deps.clock))
        client = client_for(deps)
        statuses: list[int] = []

        async def post(body: bytes) -> int:
            r = await client.post(
                MESSAGES, content=body, headers={"content-type": "application/json"}
            )
            return r.status_code

        @settings(suppress_health_check=[HealthCheck.too_slow])
        @given(body=_BODIES)
        @example(body=b'"\xff"')  # invalid UTF-8 inside a JSON string
        @example(body=b'{"session_id": "s1", "text": "\xc3"}')
        @example(body=b'{"session_id": "s1", "text": "hola"}')
        def check(body: bytes) -> None:
            status = runner.run(post(body))
            statuses.append(status)
            assert status == 202 or 400 <= status < 500, (status, body)

        try:
            check()
        finally:
            runner.run(client.aclose())
            runner.run(deps.close())
    assert 202 in statuses
    assert any(400 <= s < 500 for s in statuses)


# ---------------------------------------------------------------------------- the dialogue


async def test_a_booking_over_http_ends_with_a_voucher_to_download(
    db_url: str, make_deps: MakeDeps
) -> None:
    """Web chat API end to end: offers as a list (flag on), a tapped row, deposit, receipt in
    text, staff confirmation, the voucher PDF at its link, and the dialogue's metrics."""
    from agente import staff

    deps = await make_deps(db_url, AGENTE_ENV="test")
    deps.flags.override("features.interactive_messages", True)
    sid = session()
    async with client_for(deps) as client:

        async def say(text: str, choice: str | None = None) -> list[dict[str, Any]]:
            after = (await client.get(MESSAGES, params={"session_id": sid})).json()["cursor"]
            body: dict[str, Any] = {"session_id": sid, "text": text}
            if choice:
                body["choice_id"] = choice
            assert (await client.post(MESSAGES, json=body)).status_code == 202
            await drain(deps)
            r = await client.get(MESSAGES, params={"session_id": sid, "after": after})
            return [m for m in r.json()["messages"] if m["direction"] == "out"]

        (offers,) = await say("tienen lugar del 15/12 al 18/12 para 2?")
        assert offers["response_type"] == "list"
        rows = [r for s in offers["content"]["sections"] for r in s["rows"]]
        assert rows[0]["id"] == "offer:double" and "85.000" in rows[0]["description"]
        assert "nombre" in (await say("Habitación Doble", "offer:double"))[0]["body"]["text"]
        booked = await say("Ana Pérez, ana@example.com")
        assert "seña de ARS 76.500" in booked[0]["body"]["text"]
        assert "comprobante" in (await say("ya te transferí"))[0]["body"]["text"]

        reservation = (await staff.list_reservations(deps.db))[0]
        assert reservation["status"] == "awaiting_verification"
        await staff.confirm_deposit(
            deps.db, deps.messages, reservation["pms_booking_id"], operator="test"
        )
        await drain(deps)
        r = await client.get(MESSAGES, params={"session_id": sid, "after": 0})
        document = [m for m in r.json()["messages"] if m.get("response_type") == "document"]
        assert len(document) == 1
        url = document[0]["content"]["media"]["url"]
        pdf = await client.get(url)
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF-1.4") and b"Ana P" in pdf.content
        assert (await client.get("/documents/" + "0" * 40)).status_code == 404
        assert (await client.get("/documents/..%2Fetc")).status_code == 404

        metrics = (await client.get("/metrics")).text
    assert 'orchestrator_messages_total{intent="check_availability",status="ok"} 1.0' in metrics
    assert 'hotel_reservations_total{status="confirmed"} 1.0' in metrics
    assert 'orchestrator_latency_seconds_count{intent="payment_proof"} 1.0' in metrics
    assert 'feature_flag_enabled{flag="features.interactive_messages"} 1.0' in metrics
    assert (await staff.list_reservations(deps.db))[0]["status"] == "confirmed"
