"""The admin API and the dashboard over HTTP: keys, scope, roles, rate limit, CSRF, audit, and
the deposit confirmation that sends the voucher."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import sqlalchemy as sa

from agente.adapters.sql import audit_log
from agente.app import _session_secret, create_app
from agente.deps import Deps, build_deps
from agente.hotels import load_hotels_file, seed_hotels
from agente.migrate import upgrade
from agente.settings import load_settings
from agente.testing import FrozenClock

MESSAGES = "/webchat/demo/messages"


async def drain(deps: Deps, rounds: int = 20) -> None:
    worker = deps.worker()
    for _ in range(rounds):
        if await worker.run_inbox_once() + await worker.run_outbox_once() == 0:
            return


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[tuple[Deps, httpx.AsyncClient, dict[str, str]]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'admin.db'}"
    variables = {"AGENTE_DATABASE_URL": url, "AGENTE_ENV": "test",
                 "AGENTE_BUSINESS_HOURS_ALWAYS_OPEN": "true"}  # fmt: skip
    clock = FrozenClock()
    deps = build_deps(load_settings(variables), variables, clock=clock)
    await upgrade(url)
    demo = load_hotels_file(None)[0]
    other = msgspec.structs.replace(
        demo, id="other", name="Otro Hotel",
        channels=msgspec.structs.replace(demo.channels, whatsapp_phone_number_id="2"),
    )  # fmt: skip
    await seed_hotels(deps.db, [demo, other], clock)
    await _session_secret(deps)
    keys = {}
    _, keys["admin"] = await deps.admin.keys.create(role="admin", hotel_id=None)
    _, keys["demo"] = await deps.admin.keys.create(role="operator", hotel_id="demo")
    _, keys["other"] = await deps.admin.keys.create(role="operator", hotel_id="other")
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(deps=deps)), base_url="http://agente"
    )
    yield deps, client, keys
    await client.aclose()
    await deps.close()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def book_with_proof(deps: Deps, client: httpx.AsyncClient, session: str = "g1") -> str:
    """A guest books through the web chat and says they paid: a deposit awaiting verification."""
    for text in ("tienen lugar del 15/12 al 18/12 para 2?", "1", "Ana Pérez", "ana@example.com",
                 "ya te transferí"):  # fmt: skip
        r = await client.post(MESSAGES, json={"session_id": session, "text": text})
        assert r.status_code == 202
        await drain(deps)
    r = await client.get("/admin/reservations", params={"status": "awaiting_verification"},
                         headers=bearer(await _admin_key(deps)))  # fmt: skip
    return str(r.json()["reservations"][0]["client_reference"])


async def _admin_key(deps: Deps) -> str:
    _, key = await deps.admin.keys.create(role="admin", hotel_id=None, label="helper")
    return key


async def test_without_a_valid_key_everything_is_a_401(env: Any) -> None:
    deps, client, keys = env
    assert (await client.get("/admin/reservations")).status_code == 401
    bad = await client.get("/admin/reservations", headers=bearer("agk_nope_nope"))
    assert bad.status_code == 401 and bad.headers["www-authenticate"] == "Bearer"
    key_id = keys["demo"].split("_")[1]
    assert (
        await client.get("/admin/reservations", headers=bearer(keys["demo"]))
    ).status_code == 200
    assert await deps.admin.keys.revoke(key_id)
    revoked = await client.get("/admin/reservations", headers=bearer(keys["demo"]))
    assert revoked.status_code == 401
    metrics = (await client.get("/metrics")).text
    assert "admin_auth_failures_total 3.0" in metrics


async def test_another_hotels_things_do_not_exist_and_roles_are_enforced(env: Any) -> None:
    deps, client, keys = env
    ref = await book_with_proof(deps, client)
    mine = await client.get(f"/admin/reservations/{ref}", headers=bearer(keys["demo"]))
    assert mine.status_code == 200 and mine.json()["status"] == "awaiting_verification"
    theirs = await client.get(f"/admin/reservations/{ref}", headers=bearer(keys["other"]))
    assert theirs.status_code == 404
    listed = await client.get("/admin/reservations", headers=bearer(keys["other"]))
    assert listed.json()["reservations"] == []
    assert (
        await client.get("/admin/hotels/demo", headers=bearer(keys["other"]))
    ).status_code == 404
    flag = await client.put("/admin/feature-flags/features.interactive_messages",
                            json={"enabled": True}, headers=bearer(keys["demo"]))  # fmt: skip
    assert flag.status_code == 403


async def test_confirming_a_deposit_over_the_api_sends_the_voucher_and_is_audited(env: Any) -> None:
    deps, client, keys = env
    ref = await book_with_proof(deps, client)
    r = await client.post(f"/admin/reservations/{ref}/confirm-deposit", json={},
                          headers=bearer(keys["demo"]))  # fmt: skip
    assert r.status_code == 202
    await drain(deps)
    detail = (await client.get(f"/admin/reservations/{ref}", headers=bearer(keys["demo"]))).json()
    assert detail["status"] == "confirmed"
    history = (await client.get(MESSAGES, params={"session_id": "g1"})).json()["messages"]
    assert any(m.get("response_type") == "document" for m in history)
    again = await client.post(f"/admin/reservations/{ref}/confirm-deposit", json={},
                              headers=bearer(keys["demo"]))  # fmt: skip
    assert again.status_code == 409
    async with deps.db.begin() as conn:
        rows = (await conn.execute(sa.select(audit_log))).all()
    assert [(a.action, a.target) for a in rows] == [("deposit.confirm", ref)]
    assert rows[0].key_id == keys["demo"].split("_")[1] and rows[0].hotel_id == "demo"


async def test_rejecting_a_deposit_tells_the_guest_why(env: Any) -> None:
    deps, client, keys = env
    ref = await book_with_proof(deps, client)
    r = await client.post(f"/admin/reservations/{ref}/reject-deposit",
                          json={"reason": "el monto no coincide"}, headers=bearer(keys["demo"]))  # fmt: skip
    assert r.status_code == 202
    await drain(deps)
    history = (await client.get(MESSAGES, params={"session_id": "g1"})).json()["messages"]
    assert "el monto no coincide" in history[-1]["body"]["text"]


async def test_staff_take_over_reply_and_release_a_conversation(env: Any) -> None:
    deps, client, keys = env
    await client.post(MESSAGES, json={"session_id": "g2", "text": "quiero hablar con una persona"})
    await drain(deps)
    waiting = await client.get("/admin/conversations", params={"mode": "human"},
                               headers=bearer(keys["demo"]))  # fmt: skip
    (conversation,) = waiting.json()["conversations"]
    cid = conversation["id"]
    r = await client.post(f"/admin/conversations/{cid}/reply", json={"text": "Hola, soy Marta"},
                          headers=bearer(keys["demo"]))  # fmt: skip
    assert r.status_code == 202
    await drain(deps)
    detail = (await client.get(f"/admin/conversations/{cid}", headers=bearer(keys["demo"]))).json()
    assert any(m["text"] == "Hola, soy Marta" and m["direction"] == "out"
               for m in detail["transcript"])  # fmt: skip
    await client.post(f"/admin/conversations/{cid}/release", headers=bearer(keys["demo"]))
    await drain(deps)
    after = (await client.get(f"/admin/conversations/{cid}", headers=bearer(keys["demo"]))).json()
    assert after["mode"] == "bot"


async def test_flags_are_listed_and_set_by_an_admin_and_the_gauge_follows(env: Any) -> None:
    _deps, client, keys = env
    flags = (await client.get("/admin/feature-flags", headers=bearer(keys["demo"]))).json()
    assert {"flag": "features.interactive_messages", "enabled": False,
            "source": "default"} in flags["flags"]  # fmt: skip
    r = await client.put("/admin/feature-flags/features.interactive_messages",
                         json={"enabled": True}, headers=bearer(keys["admin"]))  # fmt: skip
    assert r.status_code == 200 and r.json()["enabled"] is True
    await client.get("/admin/feature-flags", headers=bearer(keys["demo"]))
    assert (
        'feature_flag_enabled{flag="features.interactive_messages"} 1.0'
        in (await client.get("/metrics")).text
    )


async def test_the_61st_request_in_a_minute_is_a_429(env: Any) -> None:
    deps, client, keys = env
    for _ in range(60):
        assert (await client.get("/admin/plugins", headers=bearer(keys["demo"]))).status_code == 200
    over = await client.get("/admin/plugins", headers=bearer(keys["demo"]))
    assert over.status_code == 429 and int(over.headers["retry-after"]) >= 1
    # another key has its own budget
    assert (await client.get("/admin/plugins", headers=bearer(keys["other"]))).status_code == 200
    deps.clock.advance(61)  # type: ignore[attr-defined]
    assert (await client.get("/admin/plugins", headers=bearer(keys["demo"]))).status_code == 200


async def test_the_dashboard_logs_in_and_confirms_with_csrf(env: Any) -> None:
    deps, client, keys = env
    ref = await book_with_proof(deps, client)
    page = await client.get("/admin/")
    assert page.status_code == 200 and "Clave de API" in page.text
    bad = await client.post("/admin/login", data={"key": "agk_x_y"})
    assert bad.status_code == 303 and "msg=bad_key" in bad.headers["location"]
    ok = await client.post("/admin/login", data={"key": keys["demo"]})
    assert ok.status_code == 303
    cookie = ok.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    home = await client.get("/admin/")
    assert "Señas para verificar" in home.text and ref in home.text
    deposit = await client.get(f"/admin/ui/deposits/{ref}")
    assert "Confirmar Reserva" in deposit.text
    # a form without the session's CSRF token is refused
    forged = await client.post(f"/admin/ui/deposits/{ref}/confirm", data={"amount": "76500"})
    assert forged.status_code == 403
    csrf = deposit.text.split('name="csrf" value="')[1].split('"')[0]
    done = await client.post(f"/admin/ui/deposits/{ref}/confirm", data={"csrf": csrf, "amount": ""})
    assert done.status_code == 303
    await drain(deps)
    after = await client.get(f"/admin/ui/deposits/{ref}")
    assert 'id="voucher"' in after.text and "confirmada" in after.text
    english = await client.get(f"/admin/ui/deposits/{ref}?lang=en")
    assert "Booking confirmed: the voucher was sent to the guest." in english.text


async def test_dead_letters_are_listed_and_replayed_once(env: Any) -> None:
    deps, client, keys = env
    from agente.adapters.sql import dead_letters, outbox

    await client.post(MESSAGES, json={"session_id": "g3", "text": "hola"})
    await drain(deps)
    async with deps.db.begin() as conn:
        row = (await conn.execute(sa.select(outbox))).first()
        await conn.execute(outbox.update().values(status="dead", last_error="boom"))
        await conn.execute(dead_letters.insert().values(
            source="outbox", source_id=row.id, channel="webchat", hotel_id="demo",
            payload=row.message, error="boom", attempts=6, created_at=deps.clock.now(),
        ))  # fmt: skip
    listed = (await client.get("/admin/dead-letters", headers=bearer(keys["demo"]))).json()
    (letter,) = listed["dead_letters"]
    assert (await client.get("/admin/dead-letters", headers=bearer(keys["other"]))).json() == {
        "dead_letters": []
    }
    r = await client.post(
        f"/admin/dead-letters/{letter['id']}/replay", headers=bearer(keys["demo"])
    )
    assert r.status_code == 202
    await drain(deps)
    async with deps.db.begin() as conn:
        assert (await conn.execute(sa.select(outbox.c.status))).scalar_one() == "sent"
    again = await client.post(
        f"/admin/dead-letters/{letter['id']}/replay", headers=bearer(keys["demo"])
    )
    assert again.status_code == 409


async def test_an_admin_edits_a_hotel_and_manages_keys(env: Any) -> None:
    deps, client, keys = env
    hotel = (await client.get("/admin/hotels/demo", headers=bearer(keys["demo"]))).json()
    hotel["check_in_time"] = "15:00"
    assert (await client.put("/admin/hotels/demo", json=hotel,
                             headers=bearer(keys["demo"]))).status_code == 403  # fmt: skip
    r = await client.put("/admin/hotels/demo", json=hotel, headers=bearer(keys["admin"]))
    assert r.status_code == 200 and (await deps.hotels.get("demo")).check_in_time == "15:00"
    bad = dict(hotel, check_in_time=15)
    assert (await client.put("/admin/hotels/demo", json=bad,
                             headers=bearer(keys["admin"]))).status_code == 400  # fmt: skip
    made = await client.post("/admin/keys", json={"role": "operator", "hotel_id": "other"},
                             headers=bearer(keys["admin"]))  # fmt: skip
    assert made.status_code == 201
    new_key, new_id = made.json()["key"], made.json()["id"]
    assert (await client.get("/admin/plugins", headers=bearer(new_key))).status_code == 200
    listed = (await client.get("/admin/keys", headers=bearer(keys["admin"]))).json()["keys"]
    assert new_id in [k["id"] for k in listed] and all("hash" not in k for k in listed)
    assert (
        await client.delete(f"/admin/keys/{new_id}", headers=bearer(keys["admin"]))
    ).status_code == 200
    assert (await client.get("/admin/plugins", headers=bearer(new_key))).status_code == 401
    async with deps.db.begin() as conn:
        actions = [a.action for a in (await conn.execute(sa.select(audit_log))).all()]
    assert actions == ["hotel.update", "key.create", "key.revoke"]


async def test_the_admin_api_is_described_in_the_openapi_schema(env: Any) -> None:
    _, client, _ = env
    r = await client.get("/schema/openapi.json")
    assert r.status_code == 200
    schema = r.json()
    assert schema["components"]["securitySchemes"]["adminKey"]["scheme"] == "bearer"
    paths = schema["paths"]
    expected = {
        "/admin/feature-flags": "get", "/admin/feature-flags/{flag}": "put",
        "/admin/reservations": "get", "/admin/reservations/{ref}": "get",
        "/admin/reservations/{ref}/proofs/{n}": "get",
        "/admin/reservations/{ref}/confirm-deposit": "post",
        "/admin/reservations/{ref}/reject-deposit": "post",
        "/admin/conversations": "get", "/admin/conversations/{cid}": "get",
        "/admin/conversations/{cid}/take-over": "post", "/admin/conversations/{cid}/reply": "post",
        "/admin/conversations/{cid}/release": "post", "/admin/dead-letters": "get",
        "/admin/dead-letters/{did}/replay": "post", "/admin/plugins": "get",
        "/admin/hotels/{hotel_id}": "put", "/admin/keys": "post", "/admin/keys/{key_id}": "delete",
    }  # fmt: skip
    for path, method in expected.items():
        assert paths[path][method]["security"] == [{"adminKey": []}], path
    body = paths["/admin/hotels/{hotel_id}"]["put"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["$ref"].endswith("Hotel")
    assert "/admin/" not in paths and "/admin/login" not in paths  # the dashboard is not API
