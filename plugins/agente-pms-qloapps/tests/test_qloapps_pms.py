"""The QloApps plugin against the local replay of QloApps 1.6.1 (answers like the real server).

The plugin talks HTTP to the replay through an ASGI transport: its own status codes, content
types and quirks, not a hand-written happy path.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from decimal import Decimal
from typing import Any

import httpx
import pytest

from agente.adapters.memory import MemoryStore
from agente.domain import (
    BookingRequest,
    Hotel,
    HotelPms,
    Occupancy,
    PartyGuest,
    Stay,
)
from agente.errors import AuthFailed, NotAvailable, NotFound, Permanent, Transient
from agente.registry import Secret
from agente.testing import FrozenClock, run_checks
from agente_pms_qloapps.pms import QloAppsMetrics, QloAppsPms, QloAppsSettings
from agente_pms_qloapps.replay import create_qloapps_replay

ROOMS = {"general": "1", "delux": "2", "executive": "3", "luxury": "4"}
HOTEL = Hotel(
    id="qlo",
    name="QloApps demo hotel",
    currency="USD",
    timezone="America/New_York",
    pms=HotelPms(
        plugin="qloapps",
        options={"base_url": "http://qloapps.test", "hotel_id": "1",
                 **{f"room_type.{k}": v for k, v in ROOMS.items()}},
    ),
)  # fmt: skip
TODAY = dt.date(2026, 11, 22)


class Network(httpx.AsyncBaseTransport):
    """The replay behind what a network does: the client's read timeout is enforced (an ASGI
    transport has none), and a share of the requests fail with a 502 from a "proxy" before
    reaching QloApps (seeded, so the chaos is the same on every run)."""

    def __init__(self, app: Any, *, failure_rate: float = 0.0, seed: int = 7) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.failure_rate = failure_rate
        self.rng = random.Random(seed)
        self.failed = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.failure_rate and self.rng.random() < self.failure_rate:
            self.failed += 1
            return httpx.Response(502, content=b"Bad Gateway", request=request)
        timeout = (request.extensions.get("timeout") or {}).get("read")
        try:
            async with asyncio.timeout(timeout):
                return await self.inner.handle_async_request(request)
        except TimeoutError as exc:
            raise httpx.ReadTimeout("read timed out", request=request) from exc


def make(replay: Any, network: Network | None = None, **settings: Any) -> QloAppsPms:
    async def no_sleep(_: float) -> None:
        return None

    settings.setdefault("requests_per_second", 10_000)  # the clock is frozen here
    return QloAppsPms(
        settings=QloAppsSettings(api_key=Secret("TEST_KEY"), **settings),
        clock=FrozenClock(current=dt.datetime(2026, 11, 22, 15, tzinfo=dt.UTC)),
        store=MemoryStore(),
        metrics=QloAppsMetrics.create(None),
        transport=network or Network(replay.app),
        sleep=no_sleep,
    )


def request(ref: str, check_in: str = "2027-03-10", nights: int = 2, **kw: Any) -> BookingRequest:
    start = dt.date.fromisoformat(check_in)
    return BookingRequest(
        client_reference=ref,
        room_type=kw.pop("room_type", "delux"),
        stay=Stay(check_in=start, check_out=start + dt.timedelta(days=nights)),
        occupancy=kw.pop("occupancy", Occupancy(adults=2, children_ages=[8])),
        guest=PartyGuest(name="Ana Pérez", email="ana@example.com", phone="+5491155551234"),
        **kw,
    )


@pytest.fixture
def replay() -> Any:
    return create_qloapps_replay()


async def test_availability_filters_by_capacity_and_quotes_in_the_hotels_currency(
    replay: Any,
) -> None:
    pms = make(replay)
    stay = Stay(check_in=dt.date(2027, 3, 10), check_out=dt.date(2027, 3, 12))
    offers = await pms.search_availability(HOTEL, stay, Occupancy(adults=2, children_ages=[8]))
    assert {o.room_type for o in offers} == set(ROOMS)
    assert all(o.currency == "USD" and o.units_left == 5 for o in offers)
    assert [o.total for o in offers] == sorted(o.total for o in offers)
    for o in offers:
        assert sum(n.amount for n in o.nightly) == o.total
        assert [n.date for n in o.nightly] == stay.dates()
    # ARI lists every room type even for five adults; the plugin does not offer them
    assert await pms.search_availability(HOTEL, stay, Occupancy(adults=5)) == []


async def test_a_booking_lives_its_whole_life_in_qloapps(replay: Any) -> None:
    pms = make(replay)
    booking = await pms.create_booking(HOTEL, request("AG-LIFE1"))
    assert booking.status == "pending" and booking.client_reference == "AG-LIFE1"
    assert booking.room_type == "delux" and booking.occupancy.adults == 2
    assert booking.stay.check_in == dt.date(2027, 3, 10) and booking.total > 0
    # ARI quotes include auto-added services the API booking does not get: the booking's own
    # total is what the agent tells the guest
    stay = booking.stay
    offers = await pms.search_availability(HOTEL, stay, Occupancy(adults=2, children_ages=[8]))
    delux = next(o for o in offers if o.room_type == "delux")
    assert delux.units_left == 4  # our own write invalidated the cached answer
    # ARI's price includes auto-added services the API booking does not get; the offer quotes
    # what the booking costs
    assert booking.total in (delux.total, delux.total_with_tax)

    again = await pms.create_booking(HOTEL, request("AG-LIFE1"))
    assert again.booking_id == booking.booking_id  # idempotent on our reference
    assert [o.source for o in replay.orders].count("agente:AG-LIFE1") == 1
    assert (await pms.find_booking_by_reference(HOTEL, "AG-LIFE1")) == again
    assert await pms.find_booking_by_reference(HOTEL, "AG-NOPE") is None

    moved = await pms.modify_booking(
        HOTEL, booking.booking_id,
        Stay(check_in=dt.date(2027, 3, 11), check_out=dt.date(2027, 3, 14)),
        Occupancy(adults=2),
    )  # fmt: skip
    assert moved.stay.check_in == dt.date(2027, 3, 11) and moved.stay.nights == 3

    cancelled = await pms.cancel_booking(HOTEL, booking.booking_id)
    assert cancelled.status == "cancelled"
    assert (await pms.cancel_booking(HOTEL, booking.booking_id)).status == "cancelled"
    offers = await pms.search_availability(HOTEL, moved.stay, Occupancy(adults=2))
    assert next(o for o in offers if o.room_type == "delux").units_left == 5


async def test_the_errors_come_back_typed(replay: Any) -> None:
    pms = make(replay)
    with pytest.raises(NotFound):
        await pms.get_booking(HOTEL, "999")
    with pytest.raises(NotAvailable):
        await pms.create_booking(HOTEL, request("AG-FULL", rooms=6))
    wrong_key = make(replay)
    wrong_key.settings = QloAppsSettings(api_key=Secret("A" * 32))
    with pytest.raises(AuthFailed):
        await wrong_key.get_booking(HOTEL, "1")
    with pytest.raises(Permanent):
        await pms.create_booking(HOTEL, request("AG-NOTYPE", room_type="penthouse"))


async def test_a_500_after_creating_the_order_does_not_book_twice() -> None:
    """Stock php.ini: POST /api/bookings answers 500 but the order exists (fixture 900)."""
    replay = create_qloapps_replay(stock_php_ini=True)
    pms = make(replay)
    booking = await pms.create_booking(HOTEL, request("AG-STOCK1"))
    assert booking.client_reference == "AG-STOCK1"
    assert [o.source for o in replay.orders].count("agente:AG-STOCK1") == 1


async def test_a_non_json_200_is_a_failure_not_a_booking(replay: Any) -> None:
    """'Invalid new order status': a PHP die() with 200 text/html (fixture 082a)."""
    replay.fail_next(200, body=b"Invalid new order status", content_type="text/html; charset=utf-8",
                     path_prefix="/api/bookings")  # fmt: skip
    pms = make(replay)
    with pytest.raises(Permanent, match="Invalid new order status"):
        await pms.create_booking(HOTEL, request("AG-DIE"))


async def test_the_plugin_passes_the_conformance_kit_with_writes(replay: Any) -> None:
    pms = make(replay)
    results = await run_checks(pms, HOTEL, allow_writes=True, today=TODAY, examples=8)
    failed = [r.line() for r in results if not r.passed]
    assert failed == []


# ---------------------------------------------------------------------------- chaos


async def test_half_the_calls_failing_never_books_twice_and_the_breaker_opens_and_recovers() -> (
    None
):
    """Half the requests fail at a proxy and QloApps answers 500 after creating orders (stock
    php.ini): guests retry as the outbox would; nobody is booked twice, every failure is a
    typed error, the breaker opens; once QloApps is healthy and the open time has passed, one
    trial closes it."""
    replay = create_qloapps_replay(stock_php_ini=True)
    network = Network(replay.app, failure_rate=0.5)
    pms = make(replay, network, breaker_minimum_calls=6, breaker_open_seconds=30)
    refused = 0
    for i in range(8):
        for _attempt in range(6):
            try:
                check_in = (dt.date(2027, 4, 1) + dt.timedelta(days=3 * i)).isoformat()
                await pms.create_booking(HOTEL, request(f"AG-CHAOS{i}", check_in=check_in))
                break
            except Transient as exc:
                if "circuit" in str(exc):
                    refused += 1
                    pms.clock.advance(31)  # type: ignore[attr-defined]
    sources = [o.source for o in replay.orders if o.source.startswith("agente:")]
    assert len(sources) == len(set(sources)), "a guest was booked twice"
    assert network.failed > 0 and refused > 0, (network.failed, refused)
    network.failure_rate = 0.0
    pms.clock.advance(61)  # type: ignore[attr-defined]  # past the open time and the window
    booking = await pms.create_booking(HOTEL, request("AG-AFTER", check_in="2027-04-05"))
    assert booking.status == "pending"
    assert pms._breaker(pms._target(HOTEL)).state_code() == 0


async def test_a_pms_that_takes_five_seconds_times_out_and_nothing_is_booked_twice() -> None:
    replay = create_qloapps_replay(latency=5.0)
    pms = make(replay, read_timeout=0.2, write_timeout=0.2, read_retries=0)
    with pytest.raises(Transient, match="no answer within"):
        await pms.create_booking(HOTEL, request("AG-SLOW"))
    replay.latency = 0.0
    booking = await pms.create_booking(HOTEL, request("AG-SLOW"))
    assert booking.client_reference == "AG-SLOW"
    assert sum(1 for o in replay.orders if o.source == "agente:AG-SLOW") == 1
    assert Decimal(booking.total) > 0


async def test_a_recent_answer_is_served_marked_stale_while_qloapps_is_down(replay: Any) -> None:
    network = Network(replay.app)
    pms = make(replay, network, availability_cache_seconds=0.0, read_retries=0)
    stay = Stay(check_in=dt.date(2027, 5, 10), check_out=dt.date(2027, 5, 12))
    fresh = await pms.search_availability(HOTEL, stay, Occupancy(adults=2))
    assert fresh and not any(o.stale for o in fresh)
    network.failure_rate = 1.0
    stale = await pms.search_availability(HOTEL, stay, Occupancy(adults=2))
    assert stale and all(o.stale for o in stale)
    with pytest.raises(Transient):  # nothing recent for another stay: an honest failure
        await pms.search_availability(HOTEL, Stay(check_in=dt.date(2027, 6, 1),
                                                  check_out=dt.date(2027, 6, 2)),
                                      Occupancy(adults=2))  # fmt: skip


async def test_a_hotel_configured_in_pesos_books_in_the_shops_currency(replay: Any) -> None:
    import msgspec

    pesos = msgspec.structs.replace(HOTEL, currency="ARS")
    pms = make(replay)
    booking = await pms.create_booking(pesos, request("AG-PESOS"))
    assert booking.currency == "USD"  # QloApps refuses a currency the shop does not have


async def test_every_call_is_measured(replay: Any) -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    pms = make(replay)
    pms.metrics = QloAppsMetrics.create(registry)
    stay = Stay(check_in=dt.date(2027, 3, 10), check_out=dt.date(2027, 3, 12))
    await pms.search_availability(HOTEL, stay, Occupancy(adults=2))
    await pms.search_availability(HOTEL, stay, Occupancy(adults=2))
    with pytest.raises(NotFound):
        await pms.get_booking(HOTEL, "999")
    text = generate_latest(registry).decode()
    assert 'pms_operations_total{operation="search_availability",status="ok"} 1.0' in text
    # the second search came from the cache (availability, capacities and services)
    assert "pms_cache_hits_total 3.0" in text and "pms_cache_misses_total 3.0" in text
    assert 'pms_errors_total{error_type="NotFound",operation="get_booking"} 1.0' in text
    assert 'pms_api_latency_seconds_count{operation="search_availability"} 1.0' in text
    assert 'pms_circuit_breaker_state{name="qloapps:http://qloapps.test"} 0.0' in text
