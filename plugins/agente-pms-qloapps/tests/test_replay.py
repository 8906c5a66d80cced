"""The QloApps replay server against the 138 recorded exchanges, plus its quirks one by one.

The contract test replays every recording, in the order the recording session made them, against
ONE server, so state evolves as it did then (booking 072, read back in 073, moved in 083,
cancelled in 085, re-opened in 126...). It compares status, content-type and the body: JSON
parsed and compared structurally, XML parsed and compared by tags, attributes and texts. The only
values allowed to differ are run-dependent ones, listed in ``RUN_DEPENDENT``.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import re
import sys
import xml.etree.ElementTree as ET
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

PLUGIN_ROOT = Path(__file__).resolve().parents[1]
REPLAY_PATH = PLUGIN_ROOT / "agente_pms_qloapps" / "replay.py"


def _load_replay() -> Any:
    """Import the module; fall back to loading it by path while the package is in flux."""
    if str(PLUGIN_ROOT) not in sys.path:
        sys.path.insert(0, str(PLUGIN_ROOT))
    try:
        from agente_pms_qloapps import replay

        return replay
    except Exception:  # the package __init__ is written by someone else and may not import yet
        name = "_agente_qloapps_replay_under_test"
        if name in sys.modules:
            return sys.modules[name]
        spec = importlib.util.spec_from_file_location(name, REPLAY_PATH)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module


replay = _load_replay()
BASE = replay.RECORDED_BASE_URL
KEY = "TEST_KEY"
BAD_KEY = "BADKEYBADKEYBADKEYBADKEYBADKEY12"

try:
    RECORDINGS = replay.load_recordings()
except replay.RecordingsNotFound:  # a checkout without shared/ beside it
    RECORDINGS = []
    if os.environ.get("CI", "").lower() == "true":
        # CI has shared/ beside the clone: the contract against the recordings must run there
        raise
needs_recordings = pytest.mark.skipif(
    not RECORDINGS, reason="shared/pms/qloapps/recorded not found"
)


# ---------------------------------------------------------------------------------------------
# What may differ between the recording and a replay, and why
# ---------------------------------------------------------------------------------------------

_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
_MD5 = re.compile(r"^[0-9a-f]{32}$")
_REFERENCE = re.compile(r"^[A-Z]{9}$")

RUN_DEPENDENT: dict[str, re.Pattern[str]] = {
    # wall-clock times of the recording session (the date part is the server date, 2026-11-22)
    "date_add": _STAMP,
    "date_upd": _STAMP,
    "booking_date": _STAMP,
    "invoice_date": _STAMP,
    "last_passwd_gen": _STAMP,
    # random per install / per object
    "secure_key": _MD5,
    "passwd": _MD5,
    "reference": _REFERENCE,
    "order_reference": _REFERENCE,
}
"""Field name -> the shape both sides must have; the values themselves are not compared.

A zero date ("0000-00-00 00:00:00") does not match the shape, so it must be equal on both sides.
"""

# Calls the recording session made without recording them. Their effects show in later fixtures
# (rooms 22/23 in 024-027, orders 5-7 of a customer 6 in 089 and in the ids of 082b and 114).
UNRECORDED_AFTER: dict[str, list[tuple[str, str, dict[str, str], str]]] = {}

# Fixtures recorded out of file order (their timestamps say so): 063b-063d fixed the room type
# after the failed booking 082a; the stock php.ini series 900-903 came first of all.
MOVED_AFTER = {"063b": "082a", "063c": "063b", "063d": "063c"}

KNOWN_MISMATCHES: dict[str, str] = {}
"""Fixtures the replay cannot reproduce, with the reason (empty: all of them match)."""


def _chronological(recordings: list[Any]) -> list[Any]:
    stock = [r for r in recordings if r.stock_php_ini]
    rest = [r for r in recordings if not r.stock_php_ini and r.number not in MOVED_AFTER]
    for number, after in MOVED_AFTER.items():
        moved = next(r for r in recordings if r.number == number)
        index = next(i for i, r in enumerate(rest) if r.number == after)
        rest.insert(index + 1, moved)
    return stock + rest


def _unrecorded_steps(
    recordings: list[Any],
) -> dict[str, list[tuple[str, str, dict[str, str], str]]]:
    by_number = {r.number: r for r in recordings}
    room = by_number["019"].request.body
    bench = json.dumps(
        {
            "booking": {
                "id_property": 1,
                "currency": "USD",
                "booking_status": 1,
                "payment_status": 3,
                "source": "bench",
                "associations": {
                    "customer_detail": {
                        "firstname": "Bench",
                        "lastname": "Mark",
                        "email": "bench.mark@example.com",
                        "phone": "5550001111",
                    },
                    "room_types": [
                        {
                            "id_room_type": 4,
                            "checkin_date": "2027-01-05",
                            "checkout_date": "2027-01-06",
                            "number_of_rooms": 1,
                        }
                    ],
                },
            }
        }
    )
    params = {"ws_key": KEY, "output_format": "JSON"}
    return {
        "019": [
            ("POST", "/api/hotel_rooms", {"ws_key": KEY}, room.replace("S-201", "S-202")),
            ("POST", "/api/hotel_rooms", {"ws_key": KEY}, room.replace("S-201", "S-203")),
        ],
        "081": [("POST", "/api/bookings", params, bench)] * 3,
    }


# ---------------------------------------------------------------------------------------------
# Structural comparison
# ---------------------------------------------------------------------------------------------


def _diff_json(want: Any, got: Any, path: str = "$") -> list[str]:
    key = path.rsplit(".", 1)[-1]
    shape = RUN_DEPENDENT.get(key)
    if shape is not None and isinstance(want, str) and shape.match(want):
        ok = isinstance(got, str) and shape.match(got) is not None
        return [] if ok else [f"{path}: {got!r} does not look like {want!r}"]
    if isinstance(want, dict) and isinstance(got, dict):
        out = []
        for k in want.keys() - got.keys():
            out.append(f"{path}.{k}: missing")
        for k in got.keys() - want.keys():
            out.append(f"{path}.{k}: unexpected {got[k]!r}")
        for k in want.keys() & got.keys():
            out += _diff_json(want[k], got[k], f"{path}.{k}")
        return out
    if isinstance(want, list) and isinstance(got, list):
        if len(want) != len(got):
            return [f"{path}: {len(got)} items instead of {len(want)}"]
        return [
            d
            for i, (w, g) in enumerate(zip(want, got, strict=True))
            for d in _diff_json(w, g, f"{path}[{i}]")
        ]
    if type(want) is not type(got) or want != got:
        return [f"{path}: {got!r} instead of {want!r}"]
    return []


def _diff_xml(want: ET.Element, got: ET.Element, path: str = "") -> list[str]:
    here = f"{path}/{want.tag}"
    if want.tag != got.tag:
        return [f"{here}: tag {got.tag}"]
    out = []
    if want.attrib != got.attrib:
        out.append(f"{here}: attributes {got.attrib} instead of {want.attrib}")
    w_text, g_text = (want.text or "").strip(), (got.text or "").strip()
    shape = RUN_DEPENDENT.get(want.tag)
    if shape is not None and shape.match(w_text):
        if not shape.match(g_text):
            out.append(f"{here}: {g_text!r} does not look like {w_text!r}")
    elif w_text != g_text:
        out.append(f"{here}: text {g_text!r} instead of {w_text!r}")
    w_children, g_children = list(want), list(got)
    if [c.tag for c in w_children] != [c.tag for c in g_children]:
        out.append(
            f"{here}: children {[c.tag for c in g_children]} instead of {[c.tag for c in w_children]}"
        )
        return out
    for w, g in zip(w_children, g_children, strict=True):
        out += _diff_xml(w, g, here)
    return out


def _diff_response(rec: Any, resp: httpx.Response) -> list[str]:
    want = rec.response
    out = []
    if resp.status_code != want.status:
        out.append(f"status {resp.status_code} instead of {want.status}")
    if resp.headers.get("content-type") != want.content_type:
        out.append(
            f"content-type {resp.headers.get('content-type')!r} instead of {want.content_type!r}"
        )
    ctype = want.content_type or ""
    if "json" in ctype and want.body:
        try:
            out += _diff_json(json.loads(want.body), resp.json())
        except ValueError:
            out.append(f"body is not JSON: {resp.text[:200]!r}")
    elif "xml" in ctype and want.body:
        try:
            out += _diff_xml(ET.fromstring(want.body), ET.fromstring(resp.text))
        except ET.ParseError:
            out.append(f"body is not XML: {resp.text[:200]!r}")
    elif resp.text != want.body:
        out.append(f"body {resp.text[:200]!r} instead of {want.body[:200]!r}")
    return out


def _client(server: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=server.app), base_url=BASE)


async def _send(
    client: httpx.AsyncClient, rec: Any, substitutions: dict[str, str]
) -> httpx.Response:
    req = rec.request
    params = {k: substitutions.get(v, v) for k, v in req.query.items()}
    auth = None
    if req.auth.startswith("HTTP Basic"):
        auth = httpx.BasicAuth(BAD_KEY if rec.response.status == 401 else KEY, "")
    content = req.body.encode() if req.body is not None else None
    return await client.request(
        req.method, req.path, params=params, headers=req.headers, content=content, auth=auth
    )


def _learn_substitutions(rec: Any, resp: httpx.Response, substitutions: dict[str, str]) -> None:
    """Map recorded random values (order references) to the replay's, for later requests."""
    if "json" not in (rec.response.content_type or "") or not rec.response.body:
        return
    try:
        want, got = json.loads(rec.response.body), resp.json()
    except ValueError:
        return

    def walk(w: Any, g: Any) -> None:
        if isinstance(w, dict) and isinstance(g, dict):
            for k in w.keys() & g.keys():
                if k == "reference" and isinstance(w[k], str) and isinstance(g[k], str):
                    substitutions[w[k]] = g[k]
                walk(w[k], g[k])
        elif isinstance(w, list) and isinstance(g, list):
            for a, b in zip(w, g, strict=False):
                walk(a, b)

    walk(want, got)


def _mask(text: str) -> str:
    """Hide the RUN_DEPENDENT values (only where they have the expected shape) in a raw body."""

    def hide(m: re.Match[str]) -> str:
        shape = RUN_DEPENDENT[m.group("key")]
        return (
            m.group(0)
            if not shape.match(m.group("value"))
            else m.group("head") + "*" + m.group("tail")
        )

    keys = "|".join(RUN_DEPENDENT)
    text = re.sub(rf'(?P<head>"(?P<key>{keys})":")(?P<value>[^"]*)(?P<tail>")', hide, text)
    return re.sub(
        rf"(?P<head><(?P<key>{keys})><!\[CDATA\[)(?P<value>[^\]]*)(?P<tail>\]\]>)", hide, text
    )


async def _replay_all() -> tuple[dict[str, list[str]], Any]:
    """Replay every recording in order; per fixture the differences found (none = a match).

    Beyond the structural comparison, each raw body must equal the recorded one byte for byte
    once the RUN_DEPENDENT values are hidden.
    """
    server = replay.create_qloapps_replay(with_hotel2=False, stock_php_ini=True)
    steps = _unrecorded_steps(RECORDINGS)
    substitutions: dict[str, str] = {}
    results: dict[str, list[str]] = {}
    async with _client(server) as client:
        for rec in _chronological(RECORDINGS):
            server.stock_php_ini = rec.stock_php_ini
            resp = await _send(client, rec, substitutions)
            _learn_substitutions(rec, resp, substitutions)
            results[rec.name] = _diff_response(rec, resp)
            if not results[rec.name] and _mask(resp.text) != _mask(rec.response.body):
                results[rec.name] = ["same structure but not the same bytes"]
            for method, path, params, body in steps.get(rec.number, []):
                extra = await client.request(method, path, params=params, content=body.encode())
                assert extra.status_code in (200, 201), (path, extra.text)
    return results, server


# ---------------------------------------------------------------------------------------------
# Contract: every recording
# ---------------------------------------------------------------------------------------------


@needs_recordings
async def test_every_recorded_exchange_replays() -> None:
    results, _ = await _replay_all()
    assert len(results) == len(RECORDINGS) == 138
    failing = {
        name: diffs
        for name, diffs in results.items()
        if diffs and name.split("_")[0] not in KNOWN_MISMATCHES
    }
    report = "\n".join(
        f"{name}:\n  " + "\n  ".join(diffs[:8]) for name, diffs in sorted(failing.items())
    )
    assert not failing, f"{len(failing)} fixtures differ:\n{report}"


@needs_recordings
def test_the_comparison_is_not_vacuous() -> None:
    rec = next(r for r in RECORDINGS if r.number == "073")
    doc = json.loads(rec.response.body)
    assert _diff_json(doc, json.loads(rec.response.body)) == []
    doc["booking"]["associations"]["customer_detail"]["id_customer"] = "5"  # int -> str
    doc["booking"]["booking_date"] = "2026-11-22 23:59:59"  # run-dependent: shape only
    assert _diff_json(json.loads(rec.response.body), doc) == [
        "$.booking.associations.customer_detail.id_customer: '5' instead of 5"
    ]
    xml = next(r for r in RECORDINGS if r.number == "074").response.body
    assert _diff_xml(ET.fromstring(xml), ET.fromstring(xml.replace("Fischer", "Fisher")))
    assert _diff_xml(ET.fromstring(xml), ET.fromstring(xml.replace("13:16:04", "09:00:00"))) == []
    assert (
        _mask(xml)
        == _mask(xml.replace("13:16:04", "09:00:00"))
        != _mask(xml.replace("EUR", "USD").replace("Lena", "Lea"))
    )


@needs_recordings
async def test_replayed_state_matches_the_recorded_end_state() -> None:
    _, server = await _replay_all()
    assert [o.id for o in server.orders] == list(range(1, 10))
    assert server.order(3).current_state == 1  # re-opened by 126
    assert server.order(4).current_state == 4  # cancelled by 130
    assert server.order_histories(4) == [1, 2, 4]
    assert server.order(8).total_paid_real == 50


@needs_recordings
def test_vendored_seed_equals_the_recordings() -> None:
    vendored = json.loads((PLUGIN_ROOT / "agente_pms_qloapps" / "qloapps_seed.json").read_text())
    assert vendored == replay.build_seed(RECORDINGS)


@needs_recordings
def test_recordings_are_found_from_an_env_var_and_fail_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = replay.find_recordings_dir()
    monkeypatch.setenv(replay.ENV_RECORDINGS, str(folder))
    assert replay.find_recordings_dir() == folder
    assert len(replay.load_recordings(folder)) == 138
    with pytest.raises(replay.RecordingsNotFound, match="does not exist"):
        replay.find_recordings_dir(tmp_path / "nowhere")
    with pytest.raises(replay.RecordingsNotFound, match="no recorded exchanges"):
        replay.load_recordings(tmp_path)


# ---------------------------------------------------------------------------------------------
# Behaviour, quirk by quirk
# ---------------------------------------------------------------------------------------------

JSON = {"ws_key": KEY, "output_format": "JSON"}


def _ari(
    hotel: int,
    d_from: str,
    d_to: str,
    *,
    room_type: int | None = None,
    occupancies: tuple[tuple[int, int], ...] = (),
    extra: str = "",
) -> str:
    occ = "".join(
        f"<room_occupancy><adults>{a}</adults><children>{c}</children></room_occupancy>"
        for a, c in occupancies
    )
    rt = f"<id_room_type>{room_type}</id_room_type>" if room_type else ""
    assoc = (
        f"<associations><room_occupancies>{occ}</room_occupancies></associations>" if occ else ""
    )
    return f"<qloapps><hotel_ari><id_hotel>{hotel}</id_hotel><date_from>{d_from}</date_from><date_to>{d_to}</date_to>{rt}{extra}{assoc}</hotel_ari></qloapps>"


def _booking(room_type: int = 3, d_from: str = "2027-03-01", d_to: str = "2027-03-03", *, rooms: int = 1, hotel: int = 1, email: str = "guest@example.com", **extra: Any) -> dict[str, Any]:  # fmt: skip
    return {
        "booking": {
            "id_property": hotel,
            "currency": "USD",
            "booking_status": 1,
            "payment_status": 3,
            "source": "agente-test",
            **extra,
            "associations": {
                "customer_detail": {
                    "firstname": "Ana",
                    "lastname": "Ruiz",
                    "email": email,
                    "phone": "5491100000000",
                },
                "room_types": [
                    {
                        "id_room_type": room_type,
                        "checkin_date": d_from,
                        "checkout_date": d_to,
                        "number_of_rooms": rooms,
                    }
                ],
            },
        }
    }


@pytest.fixture
def server() -> Any:
    return replay.create_qloapps_replay()


async def test_auth_variants(server: Any) -> None:
    async with _client(server) as c:
        none = await c.get("/api/hotels", params={"output_format": "JSON"})
        assert (none.status_code, none.headers["content-type"], none.text) == (
            401,
            "text/html; charset=utf-8",
            "401 Unauthorized",
        )
        assert none.headers["www-authenticate"].startswith("Basic")
        short = await c.get("/api/hotels", params={"ws_key": "SHORT", "output_format": "JSON"})
        assert short.status_code == 401 and [e["code"] for e in short.json()["errors"]] == [18]
        bad = await c.get("/api/hotels", params={"ws_key": BAD_KEY})
        assert bad.status_code == 401 and bad.headers["content-type"] == "text/xml;charset=utf-8"
        basic = await c.get("/api/hotels", auth=(KEY, ""), headers={"Output-Format": "JSON"})
        assert basic.status_code == 200 and basic.json() == {"hotels": [{"id": 1}, {"id": 2}]}


async def test_json_typing_quirks(server: Any) -> None:
    async with _client(server) as c:
        listed = (await c.get("/api/hotels", params=JSON)).json()
        single = (await c.get("/api/hotels/1", params=JSON)).json()
        room_type = (await c.get("/api/room_types/2", params=JSON)).json()
        ari = (
            await c.post("/api/hotel_ari", params=JSON, content=_ari(1, "2027-04-01", "2027-04-02"))
        ).json()
    assert listed["hotels"][0]["id"] == 1 and single["hotel"]["id"] == "1"
    assert room_type["room_type"]["id"] == 2 and room_type["room_type"]["price"] == "1500.000000"
    assert ari["hotel_ari"]["id_hotel"] == "1" and ari["hotel_ari"]["total_rooms"] == 20
    # the empty bucket is [] while a filled one is an object keyed by room id
    rooms = ari["hotel_ari"]["room_types"][0]["rooms"]
    assert isinstance(rooms["available"], dict) and "1" in rooms["available"]


async def test_xml_is_the_default_with_cdata_and_xlinks(server: Any) -> None:
    async with _client(server) as c:
        resp = await c.get("/api/hotels/1", params={"ws_key": KEY})
    assert resp.headers["content-type"] == "text/xml;charset=utf-8"
    assert '<qloapps xmlns:xlink="http://www.w3.org/1999/xlink">' in resp.text
    assert (
        f'<id_country xlink:href="{BASE}/api/countries/21"><![CDATA[21]]></id_country>' in resp.text
    )


async def test_errors_for_unknown_things(server: Any) -> None:
    async with _client(server) as c:
        missing = await c.get("/api/orders/999", params={"ws_key": KEY})
        resource = await c.get("/api/rooms", params=JSON)
        bad_filter = await c.get("/api/hotels", params={**JSON, "filter[nope]": "1"})
        delete = await c.delete("/api/bookings/1", params=JSON)
    assert (missing.status_code, missing.content, missing.headers.get("content-type")) == (
        404,
        b"",
        None,
    )
    assert resource.status_code == 400 and resource.json()["errors"][0]["code"] == 27
    assert 'Did you mean: "zones"' in resource.json()["errors"][0]["message"]
    assert bad_filter.status_code == 400 and bad_filter.json()["errors"][0]["code"] == 32
    assert delete.status_code == 405 and delete.json()["errors"][0]["code"] == 101


async def test_ari_prices_include_auto_services_and_occupancy_does_not_filter(server: Any) -> None:
    async with _client(server) as c:
        body = _ari(1, "2027-05-01", "2027-05-03", occupancies=((5, 0), (1, 0)))
        ari = (await c.post("/api/hotel_ari", params=JSON, content=body)).json()["hotel_ari"]
    delux = next(rt for rt in ari["room_types"] if rt["id_room_type"] == "2")
    assert len(ari["room_types"]) == 4  # 5 adults exceed every room type, all are listed
    assert delux["base_price"] == 1750  # 1500 + 250 Room Maintenance Fees per night
    assert delux["base_price_with_tax"] == 1820  # +4 % in the demo US hotel
    assert delux["total_price"] == 1750 * 2 * 2  # two nights, two occupancies


async def test_ari_errors_and_unknown_hotel(server: Any) -> None:
    async with _client(server) as c:
        json_body = await c.post("/api/hotel_ari", params=JSON, json={"hotel_ari": {"id_hotel": 1}})
        empty = await c.post("/api/hotel_ari", params=JSON)
        get = await c.get("/api/hotel_ari", params=JSON)
        reversed_ = await c.post(
            "/api/hotel_ari", params=JSON, content=_ari(1, "2027-01-03", "2027-01-01")
        )
        zero = await c.post(
            "/api/hotel_ari",
            params=JSON,
            content=_ari(1, "2027-01-01", "2027-01-03", occupancies=((0, 1),)),
        )
        unknown = await c.post(
            "/api/hotel_ari", params=JSON, content=_ari(999, "2027-01-01", "2027-01-03")
        )
    assert json_body.status_code == 400 and [e["code"] for e in json_body.json()["errors"]] == [
        3,
        3,
        3,
        85,
    ]
    assert (
        empty.json()["errors"][0]["message"]
        == "Validation error: ARI search parameters are missing."
    )
    assert get.status_code == 405 and get.json()["errors"][0]["code"] == 23
    assert reversed_.status_code == 400 and reversed_.json()["errors"][0]["code"] == 85
    assert "Room-1" in zero.json()["errors"][0]["message"]
    assert unknown.status_code == 200
    assert unknown.json() == {
        "hotel_ari": {
            "id_hotel": "999",
            "date_from": "2027-01-01",
            "date_to": "2027-01-03",
            "currency": "USD",
        }
    }


async def test_booking_total_excludes_auto_services_and_uses_adult_singular(server: Any) -> None:
    body = _booking(2, "2027-06-10", "2027-06-12")
    body["booking"]["associations"]["room_types"][0]["rooms"] = [{"adult": 1, "child": 0}]
    async with _client(server) as c:
        resp = await c.post("/api/bookings", params=JSON, json=body)
        doc = resp.json()["booking"]
        order = (await c.get(f"/api/orders/{doc['id']}", params=JSON)).json()["order"]
    assert resp.status_code == 200
    assert doc["associations"]["price_details"] == {
        "total_paid": 0,
        "total_price_without_tax": 3000,
        "total_tax": 120,
    }
    assert doc["associations"]["room_types"][0]["rooms"][0]["adults"] == 1
    assert "booking_status" not in doc
    assert (order["current_state"], order["total_paid_tax_incl"], order["total_paid_real"]) == (
        "1",
        "3120.000000",
        "0.000000",
    )


async def test_booking_without_rooms_gets_base_occupancy_and_schema_adults_is_ignored(
    server: Any,
) -> None:
    body = _booking(1, "2027-06-10", "2027-06-11")
    async with _client(server) as c:
        plain = (await c.post("/api/bookings", params=JSON, json=body)).json()["booking"]
        body["booking"]["associations"]["room_types"][0]["rooms"] = [{"adults": 1}]
        schema_name = (await c.post("/api/bookings", params=JSON, json=body)).json()["booking"]
    assert plain["associations"]["room_types"][0]["rooms"][0]["adults"] == 2
    assert schema_name["associations"]["room_types"][0]["rooms"][0]["adults"] == 2


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b["booking"].update(currency="EUR"), "Please provide valid currency."),
        (lambda b: b["booking"].update(id_property=999), "Please provide a valid id_property."),
        (
            lambda b: b["booking"]["associations"]["customer_detail"].clear(),
            "Customer details not found.",
        ),
        (
            lambda b: b["booking"]["associations"]["customer_detail"].pop("phone"),
            "Please provide a valid phone number.",
        ),
        (
            lambda b: b["booking"]["associations"].update(payment_detail={"payment_type": "cash"}),
            "Invalid payment type.",
        ),
        (
            lambda b: b["booking"]["associations"]["room_types"][0].update(id_room_type=5),
            "Invalid room type in the request",
        ),
        (
            lambda b: b["booking"]["associations"]["room_types"][0].update(
                checkin_date="2027-02-31x"
            ),
            "Invalid check in date in the request",
        ),
        (
            lambda b: b["booking"]["associations"]["room_types"][0].update(
                checkout_date="2027-02-28"
            ),
            "Invalid check in and check out dates in the request",
        ),
        (
            lambda b: b["booking"]["associations"]["room_types"][0].update(
                rooms=[{"adult": 1}], number_of_rooms=2
            ),
            "Room count does not matches with the number of rooms",
        ),
        (
            lambda b: b["booking"]["associations"]["room_types"][0].update(number_of_rooms=6),
            "Requested room(s) not available.",
        ),
        (
            lambda b: b["booking"]["associations"]["room_types"][0].update(id_room_type=11),
            "Requested room(s) not available.",
        ),
        (lambda b: b["booking"].update(id=3), "id is forbidden when adding a new resource"),
    ],
)
async def test_booking_validation_errors_are_400_with_code_404(
    server: Any, mutate: Any, message: str
) -> None:
    body = _booking(1, "2027-03-01", "2027-03-03")
    mutate(body)
    async with _client(server) as c:
        resp = await c.post("/api/bookings", params=JSON, json=body)
    assert resp.status_code == 400
    assert resp.json() == {"errors": [{"code": 404, "message": message}]}
    assert [o.id for o in server.orders] == [1]


async def test_overbooking_error_in_xml(server: Any) -> None:
    async with _client(server) as c:
        resp = await c.post("/api/bookings", params={"ws_key": KEY}, json=_booking(1, rooms=6))
    assert resp.status_code == 400 and resp.headers["content-type"] == "text/xml;charset=utf-8"
    assert "<code><![CDATA[404]]></code>" in resp.text


async def test_past_dates_are_accepted(server: Any) -> None:
    async with _client(server) as c:
        resp = await c.post(
            "/api/bookings", params=JSON, json=_booking(1, "2025-03-01", "2025-03-03")
        )
    assert resp.status_code == 200


async def test_booking_takes_inventory_and_a_specific_room_can_be_asked_for(server: Any) -> None:
    body = _booking(2, "2027-07-01", "2027-07-03")
    body["booking"]["associations"]["room_types"][0]["rooms"] = [{"id_room": 9, "adult": 2}]
    async with _client(server) as c:
        first = await c.post("/api/bookings", params=JSON, json=body)
        again = await c.post("/api/bookings", params=JSON, json=body)
        ari = (
            await c.post(
                "/api/hotel_ari",
                params=JSON,
                content=_ari(1, "2027-07-02", "2027-07-04", room_type=2),
            )
        ).json()
    assert first.json()["booking"]["associations"]["room_types"][0]["rooms"][0]["id_room"] == 9
    assert again.json()["errors"][0]["message"] == "Requested room(s) not available."
    assert ari["hotel_ari"]["total_available_rooms"] == 4
    assert "9" not in ari["hotel_ari"]["room_types"][0]["rooms"]["available"]
    assert server.free_rooms(2, date(2027, 7, 1), date(2027, 7, 3)) == [6, 7, 8, 10]


async def test_modify_moves_dates_as_remove_then_add(server: Any) -> None:
    async with _client(server) as c:
        created = (
            await c.post("/api/bookings", params=JSON, json=_booking(3, "2027-08-10", "2027-08-13"))
        ).json()["booking"]
        oid = created["id"]
        body = _booking(3, "2027-08-11", "2027-08-14")
        body["booking"]["id"] = oid
        moved = await c.put(f"/api/bookings/{oid}", params=JSON, json=body)
    rooms = moved.json()["booking"]["associations"]["room_types"]
    assert moved.status_code == 200 and len(rooms) == 1
    assert rooms[0]["checkin_date"] == "2027-08-11 00:00:00"
    # the old line still held room 11 while the new one was allocated, so the room changed
    assert (
        created["associations"]["room_types"][0]["rooms"][0]["id_room"],
        rooms[0]["rooms"][0]["id_room"],
    ) == (11, 12)
    assert server.free_rooms(3, date(2027, 8, 10), date(2027, 8, 11)) == [11, 12, 13, 14, 15]


async def test_cancel_frees_inventory_and_a_cancelled_booking_can_be_reopened(server: Any) -> None:
    async with _client(server) as c:
        oid = (
            await c.post(
                "/api/bookings", params=JSON, json=_booking(4, "2027-09-01", "2027-09-02", rooms=5)
            )
        ).json()["booking"]["id"]
        full = (
            await c.post(
                "/api/hotel_ari",
                params=JSON,
                content=_ari(1, "2027-09-01", "2027-09-02", room_type=4),
            )
        ).json()
        cancel = _booking(
            4, "2027-09-01", "2027-09-02", rooms=5, booking_status=3, remark="guest cancelled"
        )
        cancel["booking"]["id"] = oid
        cancelled = await c.put(f"/api/bookings/{oid}", params=JSON, json=cancel)
        order = (await c.get(f"/api/orders/{oid}", params=JSON)).json()["order"]
        lines = (
            await c.get(
                "/api/room_bookings",
                params={**JSON, "display": "full", "filter[id_order]": str(oid)},
            )
        ).json()
        freed = (
            await c.post(
                "/api/hotel_ari",
                params=JSON,
                content=_ari(1, "2027-09-01", "2027-09-02", room_type=4),
            )
        ).json()
        reopen = _booking(1, "2027-10-01", "2027-10-02", email="demo.guest@example.com")
        reopen["booking"]["id"] = oid
        reopened = await c.put(f"/api/bookings/{oid}", params=JSON, json=reopen)
    assert full["hotel_ari"]["total_available_rooms"] == 0
    assert cancelled.status_code == 200 and cancelled.json()["booking"]["associations"][
        "remarks"
    ] == ["guest cancelled"]
    assert order["current_state"] == "4"
    assert {(ln["is_cancelled"], ln["is_refunded"]) for ln in lines["bookings"]} == {("1", "1")}
    assert freed["hotel_ari"]["total_available_rooms"] == 5
    assert reopened.status_code == 200 and server.order(oid).current_state == 1
    assert server.order_histories(oid) == [1, 4, 1]
    assert server.order(oid).id_customer != 2  # the email only has to match SOME customer


async def test_put_errors(server: Any) -> None:
    async with _client(server) as c:
        no_id = await c.put("/api/bookings/1", params=JSON, json=_booking(1))
        unknown = _booking(1)
        unknown["booking"]["id"] = 999
        missing = await c.put("/api/bookings/999", params=JSON, json=unknown)
        stranger = _booking(1, email="nobody@example.com")
        stranger["booking"]["id"] = 1
        nobody = await c.put("/api/bookings/1", params=JSON, json=stranger)
    assert no_id.status_code == 400 and no_id.json()["errors"][0]["code"] == 90
    assert missing.json() == {"errors": [{"code": 404, "message": "Booking not found."}]}
    assert nobody.json() == {"errors": [{"code": 404, "message": "Customer not found."}]}


async def test_payments_set_the_order_state(server: Any) -> None:
    async with _client(server) as c:
        paid = _booking(1, "2027-11-01", "2027-11-02", booking_status=2, payment_status=1)
        partial = _booking(1, "2027-11-03", "2027-11-04")
        partial["booking"]["associations"]["price_details"] = {"total_paid": 100}
        partial["booking"]["associations"]["payment_detail"] = {
            "payment_type": "remote",
            "payment_method": "Card",
        }
        a = (await c.post("/api/bookings", params=JSON, json=paid)).json()["booking"]["id"]
        b = (await c.post("/api/bookings", params=JSON, json=partial)).json()["booking"]["id"]
        order_b = (await c.get(f"/api/orders/{b}", params=JSON)).json()["order"]
        payments = (
            await c.get(
                "/api/order_payments",
                params={**JSON, "display": "full", "filter[order_reference]": order_b["reference"]},
            )
        ).json()
    assert server.order_histories(a) == [1, 2] and server.order(a).total_paid_real == 1040
    assert server.order_histories(b) == [8]
    assert (order_b["payment"], order_b["payment_type"]) == ("Card", "3")
    assert payments["order_payments"][0]["payment_method"] == "Order from API"  # the recorded quirk


async def test_non_virtual_room_type_dies_with_200_text_html(server: Any) -> None:
    room_type = (RECORDINGS_018_BODY or "").replace("Seine Standard Double", "Plain")
    async with _client(server) as c:
        created = await c.post("/api/room_types", params=JSON, content=room_type)
        rid = int(created.json()["room_type"]["id"])
        room = f"<qloapps><room><id_product>{rid}</id_product><room_num>P-1</room_num><id_status>1</id_status></room></qloapps>"
        assert (await c.post("/api/hotel_rooms", params=JSON, content=room)).status_code == 201
        resp = await c.post("/api/bookings", params=JSON, json=_booking(rid, hotel=2))
    assert (resp.status_code, resp.headers["content-type"], resp.text) == (
        200,
        "text/html; charset=utf-8",
        "Invalid new order status",
    )
    assert [o.id for o in server.orders] == [1]


async def test_stock_php_ini_answers_500_but_creates_the_order() -> None:
    server = replay.create_qloapps_replay(stock_php_ini=True)
    async with _client(server) as c:
        post = await c.post("/api/bookings", params=JSON, json=_booking(1))
        get = await c.get("/api/bookings/2", params=JSON)
        order = await c.get("/api/orders/2", params=JSON)
    assert post.status_code == 500 and [e["code"] for e in post.json()["errors"]] == [5, 5, 5]
    assert get.status_code == 500 and "useTax" in get.json()["errors"][0]["message"]
    assert order.status_code == 200 and order.json()["order"]["id"] == 2


async def test_fail_next_and_latency(server: Any) -> None:
    server.fail_next(
        503, times=2, body=b"busy", content_type="text/plain", path_prefix="/api/hotel_ari"
    )
    async with _client(server) as c:
        other = await c.get("/api/hotels", params=JSON)
        first = await c.post(
            "/api/hotel_ari", params=JSON, content=_ari(1, "2027-01-01", "2027-01-02")
        )
        second = await c.post(
            "/api/hotel_ari", params=JSON, content=_ari(1, "2027-01-01", "2027-01-02")
        )
        third = await c.post(
            "/api/hotel_ari", params=JSON, content=_ari(1, "2027-01-01", "2027-01-02")
        )
        server.fail_next(500, delay=0.2)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await c.post("/api/bookings", params=JSON, json=_booking(1))
        server.clear_faults()
        server.latency = 0.05
        started = asyncio.get_running_loop().time()
        await c.get("/api/hotels", params=JSON)
        elapsed = asyncio.get_running_loop().time() - started
    assert other.status_code == 200
    assert (first.status_code, first.text, first.headers["content-type"]) == (
        503,
        "busy",
        "text/plain",
    )
    assert second.status_code == 503 and third.status_code == 200
    assert elapsed >= 0.04  # asyncio may wake up to one clock tick early
    assert [o.id for o in server.orders] == [1]  # a faulted request changes nothing


async def test_head_and_display_on_a_single_object(server: Any) -> None:
    async with _client(server) as c:
        head = await c.head("/api/hotels/1", params=JSON)
        display = await c.get("/api/orders/1", params={**JSON, "display": "[id,current_state]"})
    assert (head.status_code, head.content, head.headers["content-type"]) == (
        200,
        b"",
        "application/json",
    )
    assert display.json() == {"orders": [{"id": 1}]}


async def test_clock_stamps_created_objects() -> None:
    server = replay.create_qloapps_replay(clock=lambda: datetime(2026, 11, 22, 9, 30, 0))
    async with _client(server) as c:
        hotel = (await c.get("/api/hotels/2", params=JSON)).json()["hotel"]
        oid = (await c.post("/api/bookings", params=JSON, json=_booking(1))).json()["booking"]["id"]
        order = (await c.get(f"/api/orders/{oid}", params=JSON)).json()["order"]
    assert hotel["date_add"] == order["date_add"] == "2026-11-22 09:30:00"


RECORDINGS_018_BODY = (
    next((r.request.body for r in RECORDINGS if r.number == "018"), None)
    or replay.load_seed()["018"].request_body
)


def test_unrecorded_choices_are_documented() -> None:
    assert len(replay.UNRECORDED_CHOICES) >= 5


EMULATED = [
    "hotels", "room_types", "hotel_room_types", "hotel_rooms", "services", "currencies",
    "order_states", "countries", "languages", "customers", "stock_availables", "orders",
    "order_histories", "order_payments", "room_bookings", "cart_bookings", "hotel_features",
    "feature_prices", "hotel_refund_rules", "extra_demands", "bookings",
]  # fmt: skip


@pytest.mark.parametrize("resource", EMULATED)
async def test_every_emulated_resource_lists_and_reads_in_json_and_xml(
    server: Any, resource: str
) -> None:
    async with _client(server) as c:
        for display in ({}, {"display": "full"}):
            listed = await c.get(f"/api/{resource}", params={**JSON, **display})
            as_xml = await c.get(f"/api/{resource}", params={"ws_key": KEY, **display})
            assert listed.status_code == as_xml.status_code == 200
            ET.fromstring(as_xml.text)
        if listed.text == "[]":
            return
        ident = next(iter(listed.json().values()))[0]["id"]
        one = await c.get(f"/api/{resource}/{ident}", params=JSON)
        one_xml = await c.get(f"/api/{resource}/{ident}", params={"ws_key": KEY})
    assert one.status_code == one_xml.status_code == 200
    ET.fromstring(one_xml.text)


async def test_resources_that_are_not_emulated_say_so(server: Any) -> None:
    async with _client(server) as c:
        resp = await c.get("/api/addresses", params=JSON)
    assert resp.status_code == 501 and "Not emulated" in resp.json()["errors"][0]["message"]
