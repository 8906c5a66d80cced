"""Behaviour of the mock PMS, over an in-memory ``PluginState`` that really lets writers race."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agente.adapters.memory import MemoryStore
from agente.domain import (
    Booking,
    BookingRequest,
    Hotel,
    Occupancy,
    Offer,
    PartyGuest,
    Payment,
    RoomType,
    Stay,
)
from agente.errors import ConfigError, NotAvailable, NotFound, Permanent, Transient
from agente.ports import Clock, PluginState, Pms, Store
from agente.registry import PluginContext, load_enabled
from agente.settings import Settings, load_struct
from agente.testing import FrozenClock, MemoryPluginState
from agente_pms_mock import (
    NAMESPACE,
    Ledger,
    MockPms,
    MockPmsSettings,
    hotel_key,
    plugin,
)


def context(state: MemoryPluginState) -> PluginContext:
    return PluginContext(
        settings=Settings(),
        clock=FrozenClock(dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC)),
        store=MemoryStore(),
        state=state,
    )


# --------------------------------------------------------------------------- data

MONDAY = dt.date(2025, 3, 3)
THURSDAY = MONDAY + dt.timedelta(days=3)
SUNDAY = MONDAY + dt.timedelta(days=6)

HOTEL = Hotel(
    id="h1",
    name="Hotel Uno",
    currency="ARS",
    default_language="es",
    room_types=[
        RoomType(
            code="double",
            name={"es": "Doble", "en": "Double"},
            units=2,
            base_rate=Decimal(100000),
            weekend_rate=Decimal(120000),
            max_adults=2,
            max_children=0,
            max_guests=2,
        ),
        RoomType(
            code="family",
            name={"en": "Family"},
            units=1,
            base_rate=Decimal(150000),
            max_adults=4,
            max_children=2,
            max_guests=4,
        ),
    ],
)
UNITS = {rt.code: rt.units for rt in HOTEL.room_types}
TWO = Occupancy(adults=2)
ONE = Occupancy(adults=1)


def stay(start: dt.date, nights: int) -> Stay:
    return Stay(check_in=start, check_out=start + dt.timedelta(days=nights))


def request(
    reference: str,
    room_type: str = "double",
    the_stay: Stay | None = None,
    *,
    rooms: int = 1,
    occupancy: Occupancy = TWO,
) -> BookingRequest:
    return BookingRequest(
        client_reference=reference,
        room_type=room_type,
        stay=the_stay or stay(MONDAY, 2),
        occupancy=occupancy,
        guest=PartyGuest(name="Ana Pérez", email="ana@example.com"),
        rooms=rooms,
    )


def units_left(offers: list[Offer], code: str) -> int:
    """Units of ``code`` on offer; no offer means none left."""
    return next((o.units_left for o in offers if o.room_type == code), 0)


@pytest.fixture
def state() -> MemoryPluginState:
    return MemoryPluginState()


@pytest.fixture
def pms(state: MemoryPluginState) -> MockPms:
    return MockPms(state=state)


@pytest.fixture
def hotel() -> Hotel:
    return HOTEL


# --------------------------------------------------------------------------- wiring


def test_satisfies_the_ports(pms: MockPms, state: MemoryPluginState) -> None:
    assert isinstance(pms, Pms)
    assert isinstance(state, PluginState)
    assert isinstance(FrozenClock(), Clock)
    assert isinstance(MemoryStore(), Store)


def test_capabilities_cover_what_it_implements(pms: MockPms) -> None:
    caps = pms.capabilities
    assert caps.modify_booking and caps.record_payment and caps.cancel_booking
    assert caps.search_availability and caps.create_booking and caps.get_room_types
    assert caps.get_booking and caps.find_booking_by_reference


def test_settings_come_from_the_prefixed_environment() -> None:
    env = {
        "AGENTE_MOCK_PMS_LATENCY_MS": "25",
        "AGENTE_MOCK_PMS_FAILURE_RATE": "0.5",
        "AGENTE_MOCK_PMS_SEED": "7",
    }
    loaded = load_struct(MockPmsSettings, plugin.prefix, env)
    assert loaded == MockPmsSettings(latency_ms=25, failure_rate=0.5, seed=7)
    assert load_struct(MockPmsSettings, plugin.prefix, {}) == MockPmsSettings()


def test_a_failure_rate_above_one_names_the_variable() -> None:
    with pytest.raises(ConfigError) as info:
        load_struct(MockPmsSettings, plugin.prefix, {"AGENTE_MOCK_PMS_FAILURE_RATE": "1.5"})
    assert info.value.variable == "AGENTE_MOCK_PMS_FAILURE_RATE"


def test_the_entry_point_loads_the_plugin() -> None:
    loaded = load_enabled("agente.pms", ["mock"], {"AGENTE_MOCK_PMS_SEED": "3"})
    assert loaded["mock"].spec is plugin
    assert loaded["mock"].settings == MockPmsSettings(seed=3)


async def test_build_defaults_settings_when_none(state: MemoryPluginState) -> None:
    built = plugin.build(None, context(state))
    assert isinstance(built, MockPms)
    assert built.settings == MockPmsSettings()
    assert built.state is state


# --------------------------------------------------------------------------- search


async def test_offers_are_cheapest_first_with_names_and_currency(
    pms: MockPms, hotel: Hotel
) -> None:
    offers = await pms.search_availability(hotel, stay(MONDAY, 2), ONE)
    assert [o.room_type for o in offers] == ["double", "family"]
    assert [o.name for o in offers] == ["Doble", "Family"]  # family has no Spanish name
    assert [o.units_left for o in offers] == [2, 1]
    assert [o.total for o in offers] == [Decimal(200000), Decimal(300000)]
    assert {o.currency for o in offers} == {"ARS"}
    assert [o.max_guests for o in offers] == [2, 4]


async def test_offers_only_fit_the_party(pms: MockPms, hotel: Hotel) -> None:
    the_stay = stay(MONDAY, 1)

    async def codes(occupancy: Occupancy) -> list[str]:
        return [o.room_type for o in await pms.search_availability(hotel, the_stay, occupancy)]

    assert await codes(Occupancy(adults=3)) == ["family"]
    assert await codes(Occupancy(adults=1, children_ages=[5])) == ["family"]
    assert await codes(Occupancy(adults=2, children_ages=[4, 9])) == ["family"]
    assert await codes(Occupancy(adults=2, children_ages=[1, 4, 9])) == []
    assert await codes(Occupancy(adults=5)) == []


async def test_weekend_rates_apply_to_friday_and_saturday_nights(
    pms: MockPms, hotel: Hotel
) -> None:
    offers = await pms.search_availability(hotel, Stay(check_in=THURSDAY, check_out=SUNDAY), ONE)
    double = next(o for o in offers if o.room_type == "double")
    assert [(n.date.strftime("%a"), n.amount) for n in double.nightly] == [
        ("Thu", Decimal(100000)),
        ("Fri", Decimal(120000)),
        ("Sat", Decimal(120000)),
    ]
    assert double.total == Decimal(340000)
    family = next(o for o in offers if o.room_type == "family")
    assert {n.amount for n in family.nightly} == {Decimal(150000)}  # no weekend rate set


async def test_availability_decreases_until_no_offer(pms: MockPms, hotel: Hotel) -> None:
    the_stay = stay(MONDAY, 3)
    assert units_left(await pms.search_availability(hotel, the_stay, ONE), "double") == 2
    await pms.create_booking(hotel, request("r1", the_stay=the_stay))
    assert units_left(await pms.search_availability(hotel, the_stay, ONE), "double") == 1
    await pms.create_booking(hotel, request("r2", the_stay=stay(MONDAY + dt.timedelta(days=2), 1)))
    offers = await pms.search_availability(hotel, the_stay, ONE)
    assert [o.room_type for o in offers] == ["family"]
    # The first two nights still have one double left.
    assert units_left(await pms.search_availability(hotel, stay(MONDAY, 2), ONE), "double") == 1


# --------------------------------------------------------------------------- create


async def test_create_books_pending_with_sequential_ids(pms: MockPms, hotel: Hotel) -> None:
    first = await pms.create_booking(hotel, request("r1"))
    second = await pms.create_booking(hotel, request("r2", "family", occupancy=ONE))
    other_hotel = msgspec.structs.replace(hotel, id="h2")
    elsewhere = await pms.create_booking(other_hotel, request("r1"))
    assert (first.booking_id, second.booking_id) == ("MOCK-000001", "MOCK-000002")
    assert elsewhere.booking_id == "MOCK-000001"  # numbered per hotel
    assert first.status == "pending" and first.payment_status == "unpaid"
    assert first.paid == Decimal(0) and first.currency == "ARS"
    assert first.guest.name == "Ana Pérez"
    assert await pms.get_booking(hotel, first.booking_id) == first
    assert await pms.find_booking_by_reference(hotel, "r2") == second


async def test_total_is_nightly_sum_times_rooms(pms: MockPms, hotel: Hotel) -> None:
    the_stay = Stay(check_in=THURSDAY, check_out=SUNDAY)
    [offer, *_] = await pms.search_availability(hotel, the_stay, ONE)
    booking = await pms.create_booking(
        hotel, request("r1", the_stay=the_stay, rooms=2, occupancy=Occupancy(adults=4))
    )
    assert booking.total == sum(n.amount for n in offer.nightly) * 2 == Decimal(680000)
    assert booking.rooms == 2


async def test_overbooking_is_not_available(pms: MockPms, hotel: Hotel) -> None:
    with pytest.raises(NotAvailable):
        await pms.create_booking(hotel, request("big", rooms=3, occupancy=Occupancy(adults=3)))
    await pms.create_booking(hotel, request("r1", rooms=2, occupancy=Occupancy(adults=4)))
    with pytest.raises(NotAvailable):
        await pms.create_booking(hotel, request("r2", the_stay=stay(MONDAY + dt.timedelta(1), 3)))
    assert await pms.find_booking_by_reference(hotel, "r2") is None
    # A stay touching only the check-out day is free: nights, not days, are sold.
    await pms.create_booking(hotel, request("r3", the_stay=stay(MONDAY + dt.timedelta(2), 1)))


async def test_same_reference_books_once(pms: MockPms, hotel: Hotel) -> None:
    first = await pms.create_booking(hotel, request("same"))
    again = await pms.create_booking(hotel, request("same"))
    different_ask = await pms.create_booking(hotel, request("same", "family", occupancy=ONE))
    assert first == again == different_ask
    offers = await pms.search_availability(hotel, stay(MONDAY, 2), ONE)
    assert units_left(offers, "double") == 1
    assert units_left(offers, "family") == 1


async def test_same_reference_on_a_full_house_returns_the_booking(
    pms: MockPms, hotel: Hotel
) -> None:
    booked = await pms.create_booking(hotel, request("r1", rooms=2, occupancy=Occupancy(adults=4)))
    assert await pms.create_booking(hotel, request("r1", rooms=2)) == booked


async def test_a_retry_finds_its_booking_after_the_room_type_is_gone(
    pms: MockPms, hotel: Hotel
) -> None:
    booked = await pms.create_booking(hotel, request("r1"))
    renovated = msgspec.structs.replace(hotel, room_types=hotel.room_types[1:])
    assert await pms.create_booking(renovated, request("r1")) == booked
    with pytest.raises(NotFound):
        await pms.create_booking(renovated, request("r2"))


@pytest.mark.parametrize(
    ("the_stay", "occupancy", "message"),
    [
        (Stay(check_in=MONDAY, check_out=MONDAY), TWO, "after"),
        (Stay(check_in=MONDAY, check_out=MONDAY - dt.timedelta(1)), TWO, "after"),
        (stay(MONDAY, 31), TWO, "30 nights"),
        (stay(MONDAY, 1), Occupancy(adults=0), "adult"),
        (stay(MONDAY, 1), Occupancy(adults=1, children_ages=[-1]), "ages"),
    ],
)
async def test_bad_requests_are_permanent(
    pms: MockPms, hotel: Hotel, the_stay: Stay, occupancy: Occupancy, message: str
) -> None:
    with pytest.raises(Permanent, match=message):
        await pms.search_availability(hotel, the_stay, occupancy)
    with pytest.raises(Permanent, match=message):
        await pms.create_booking(hotel, request("r", the_stay=the_stay, occupancy=occupancy))


async def test_thirty_nights_is_still_fine(pms: MockPms, hotel: Hotel) -> None:
    booking = await pms.create_booking(hotel, request("long", the_stay=stay(MONDAY, 30)))
    assert booking.stay.nights == 30


async def test_party_that_does_not_fit_the_rooms_is_permanent(pms: MockPms, hotel: Hotel) -> None:
    with pytest.raises(Permanent, match="do not fit"):
        await pms.create_booking(hotel, request("r", occupancy=Occupancy(adults=3)))
    with pytest.raises(Permanent):
        await pms.create_booking(hotel, request("r", rooms=0))


async def test_unknowns(pms: MockPms, hotel: Hotel) -> None:
    with pytest.raises(NotFound):
        await pms.create_booking(hotel, request("r", "suite"))
    with pytest.raises(NotFound):
        await pms.get_booking(hotel, "MOCK-999999")
    with pytest.raises(NotFound):
        await pms.cancel_booking(hotel, "MOCK-999999")
    assert await pms.find_booking_by_reference(hotel, "nobody") is None
    assert await pms.get_room_types(hotel) == hotel.room_types


# --------------------------------------------------------------------------- cancel, modify


async def test_cancel_frees_inventory_and_twice_is_fine(pms: MockPms, hotel: Hotel) -> None:
    the_stay = stay(MONDAY, 2)
    booking = await pms.create_booking(hotel, request("r1", "family", the_stay, occupancy=ONE))
    assert units_left(await pms.search_availability(hotel, the_stay, ONE), "family") == 0
    cancelled = await pms.cancel_booking(hotel, booking.booking_id)
    assert cancelled.status == "cancelled"
    assert msgspec.structs.replace(cancelled, status=booking.status) == booking
    assert units_left(await pms.search_availability(hotel, the_stay, ONE), "family") == 1
    assert await pms.cancel_booking(hotel, booking.booking_id) == cancelled
    assert units_left(await pms.search_availability(hotel, the_stay, ONE), "family") == 1
    # The reference stays taken: a retry of the original create sees the cancelled booking.
    assert await pms.create_booking(hotel, request("r1", "family", the_stay)) == cancelled


async def test_modify_moves_inventory_and_reprices(pms: MockPms, hotel: Hotel) -> None:
    old, new = stay(MONDAY, 2), Stay(check_in=THURSDAY, check_out=SUNDAY)
    booking = await pms.create_booking(hotel, request("r1", "family", old, occupancy=ONE))
    moved = await pms.modify_booking(
        hotel, booking.booking_id, new, Occupancy(adults=2, children_ages=[7])
    )
    assert moved.stay == new and moved.occupancy.guests == 3
    assert moved.total == Decimal(450000)
    assert moved.booking_id == booking.booking_id and moved.status == "pending"
    assert units_left(await pms.search_availability(hotel, old, ONE), "family") == 1
    assert units_left(await pms.search_availability(hotel, new, ONE), "family") == 0
    assert await pms.get_booking(hotel, booking.booking_id) == moved


async def test_modify_may_overlap_its_own_nights(pms: MockPms, hotel: Hotel) -> None:
    booking = await pms.create_booking(
        hotel, request("r1", "family", stay(MONDAY, 2), occupancy=ONE)
    )
    longer = await pms.modify_booking(hotel, booking.booking_id, stay(MONDAY, 4), ONE)
    assert longer.stay.nights == 4
    offers = await pms.search_availability(hotel, stay(MONDAY, 4), ONE)
    assert units_left(offers, "family") == 0


async def test_modify_that_does_not_fit_leaves_the_booking(pms: MockPms, hotel: Hotel) -> None:
    mine = await pms.create_booking(
        hotel, request("mine", "family", stay(MONDAY, 2), occupancy=ONE)
    )
    await pms.create_booking(hotel, request("theirs", "family", stay(THURSDAY, 2), occupancy=ONE))
    with pytest.raises(NotAvailable):
        await pms.modify_booking(hotel, mine.booking_id, stay(MONDAY, 5), ONE)
    assert await pms.get_booking(hotel, mine.booking_id) == mine
    assert units_left(await pms.search_availability(hotel, stay(MONDAY, 2), ONE), "family") == 0
    assert (
        units_left(
            await pms.search_availability(hotel, stay(MONDAY + dt.timedelta(2), 1), ONE), "family"
        )
        == 1
    )


async def test_modify_a_cancelled_booking_is_permanent(pms: MockPms, hotel: Hotel) -> None:
    booking = await pms.create_booking(hotel, request("r1"))
    await pms.cancel_booking(hotel, booking.booking_id)
    with pytest.raises(Permanent, match="cancelled"):
        await pms.modify_booking(hotel, booking.booking_id, stay(THURSDAY, 1), TWO)
    assert units_left(await pms.search_availability(hotel, stay(THURSDAY, 1), ONE), "double") == 2


# --------------------------------------------------------------------------- payments


async def test_payments_confirm_and_settle(pms: MockPms, hotel: Hotel) -> None:
    booking = await pms.create_booking(hotel, request("r1"))  # 200000
    deposit = await pms.record_payment(
        hotel, booking.booking_id, Payment(amount=Decimal(60000), reference="t1")
    )
    assert (deposit.status, deposit.payment_status, deposit.paid) == (
        "confirmed",
        "partial",
        Decimal(60000),
    )
    retried = await pms.record_payment(
        hotel, booking.booking_id, Payment(amount=Decimal(60000), reference="t1")
    )
    assert retried == deposit  # the same transfer is not counted twice
    rest = await pms.record_payment(hotel, booking.booking_id, Payment(amount=Decimal(140000)))
    assert (rest.status, rest.payment_status, rest.paid) == ("confirmed", "paid", Decimal(200000))
    assert await pms.get_booking(hotel, booking.booking_id) == rest


async def test_bad_payments_are_permanent(pms: MockPms, hotel: Hotel) -> None:
    booking = await pms.create_booking(hotel, request("r1"))
    with pytest.raises(Permanent):
        await pms.record_payment(hotel, booking.booking_id, Payment(amount=Decimal(0)))
    await pms.cancel_booking(hotel, booking.booking_id)
    with pytest.raises(Permanent, match="cancelled"):
        await pms.record_payment(hotel, booking.booking_id, Payment(amount=Decimal(1)))
    with pytest.raises(NotFound):
        await pms.record_payment(hotel, "MOCK-000404", Payment(amount=Decimal(1)))


async def test_modify_recomputes_payment_status(pms: MockPms, hotel: Hotel) -> None:
    booking = await pms.create_booking(hotel, request("r1", the_stay=stay(MONDAY, 1)))
    paid = await pms.record_payment(hotel, booking.booking_id, Payment(amount=Decimal(100000)))
    assert paid.payment_status == "paid"
    longer = await pms.modify_booking(hotel, booking.booking_id, stay(MONDAY, 2), TWO)
    assert (longer.payment_status, longer.status) == ("partial", "confirmed")


# --------------------------------------------------------------------------- durability


async def test_state_survives_a_restart(state: MemoryPluginState, hotel: Hotel) -> None:
    before = plugin.build(None, context(state))
    booking = await before.create_booking(
        hotel, request("r1", rooms=2, occupancy=Occupancy(adults=3))
    )

    after = plugin.build(MockPmsSettings(), context(state))
    assert await after.get_booking(hotel, booking.booking_id) == booking
    assert await after.find_booking_by_reference(hotel, "r1") == booking
    assert units_left(await after.search_availability(hotel, stay(MONDAY, 2), ONE), "double") == 0
    assert (
        await after.create_booking(hotel, request("r2", the_stay=stay(THURSDAY, 1)))
    ).booking_id == "MOCK-000002"


async def test_document_layout(pms: MockPms, state: MemoryPluginState, hotel: Hotel) -> None:
    booking = await pms.create_booking(hotel, request("r1", the_stay=stay(MONDAY, 2)))
    await pms.record_payment(hotel, booking.booking_id, Payment(amount=Decimal(1), reference="x"))
    assert await state.keys(NAMESPACE) == [hotel_key("h1")] == ["hotel:h1"]
    raw, version = await state.get(NAMESPACE, "hotel:h1")
    assert raw is not None and version == 2
    ledger = msgspec.json.decode(raw, type=Ledger)
    assert ledger.next_number == 2
    assert ledger.references == {"r1": "MOCK-000001"}
    assert ledger.occupancy == {"double": {MONDAY: 1, MONDAY + dt.timedelta(1): 1}}
    assert ledger.payments == {"MOCK-000001": ["x"]}
    assert set(ledger.bookings) == {"MOCK-000001"}
    assert b'"2025-03-03":1' in raw  # nights are ISO dates


async def test_concurrent_creates_never_overbook(state: MemoryPluginState, hotel: Hotel) -> None:
    pms_a, pms_b = MockPms(state=state), MockPms(state=state)  # two "processes", one database
    results = await asyncio.gather(
        *(
            (pms_a if i % 2 else pms_b).create_booking(hotel, request(f"race-{i}"))
            for i in range(10)
        ),
        return_exceptions=True,
    )
    booked = [r for r in results if isinstance(r, Booking)]
    refused = [r for r in results if isinstance(r, NotAvailable)]
    assert (len(booked), len(refused)) == (2, 8), results
    assert len({b.booking_id for b in booked}) == 2
    assert units_left(await pms_a.search_availability(hotel, stay(MONDAY, 2), ONE), "double") == 0


async def test_concurrent_retries_of_one_reference_book_once(pms: MockPms, hotel: Hotel) -> None:
    results = await asyncio.gather(*(pms.create_booking(hotel, request("one")) for _ in range(5)))
    assert all(r == results[0] for r in results)
    assert units_left(await pms.search_availability(hotel, stay(MONDAY, 2), ONE), "double") == 1


# --------------------------------------------------------------------------- injected trouble


async def test_failure_rate_one_fails_everything_but_ping(
    state: MemoryPluginState, hotel: Hotel
) -> None:
    flaky = MockPms(state=state, settings=MockPmsSettings(failure_rate=1.0))
    with pytest.raises(Transient, match="injected failure"):
        await flaky.search_availability(hotel, stay(MONDAY, 1), ONE)
    with pytest.raises(Transient, match="injected failure"):
        await flaky.create_booking(hotel, request("r1"))
    with pytest.raises(Transient):
        await flaky.get_booking(hotel, "MOCK-000001")
    await flaky.ping()
    await flaky.ping(hotel)
    assert await state.keys(NAMESPACE) == []  # a failure happens before any write


async def test_seeded_failures_are_reproducible(state: MemoryPluginState, hotel: Hotel) -> None:
    async def outcomes(seed: int) -> list[bool]:
        flaky = MockPms(state=state, settings=MockPmsSettings(failure_rate=0.5, seed=seed))
        seen = []
        for _ in range(40):
            try:
                await flaky.get_room_types(hotel)
                seen.append(True)
            except Transient:
                seen.append(False)
        return seen

    first = await outcomes(42)
    assert first == await outcomes(42)
    assert True in first and False in first
    assert first != await outcomes(43)


async def test_latency_is_added_to_every_call(state: MemoryPluginState, hotel: Hotel) -> None:
    slow = MockPms(state=state, settings=MockPmsSettings(latency_ms=30))
    loop = asyncio.get_running_loop()
    for call in (slow.ping(), slow.get_room_types(hotel)):
        started = loop.time()
        await call
        assert loop.time() - started >= 0.025


# --------------------------------------------------------------------------- property

WINDOW = 14
NIGHTS = [MONDAY + dt.timedelta(days=i) for i in range(WINDOW)]

creates = st.tuples(
    st.just("create"),
    st.sampled_from(["double", "family"]),
    st.integers(0, WINDOW - 1),  # first night
    st.integers(1, 5),  # nights (clipped to the window)
    st.integers(1, 2),  # rooms
    st.integers(0, 9),  # reference: repeats exercise idempotency
)
cancels = st.tuples(st.just("cancel"), st.integers(0, 50))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(creates, cancels), max_size=25))
def test_inventory_is_conserved(ops: list[tuple[object, ...]]) -> None:
    asyncio.run(_conserve(ops))


async def _conserve(ops: list[tuple[object, ...]]) -> None:
    state = MemoryPluginState()
    pms = MockPms(state=state)
    booked = {code: dict.fromkeys(NIGHTS, 0) for code in UNITS}
    by_reference: dict[str, Booking] = {}
    live: dict[str, Booking] = {}
    created: list[str] = []

    for op in ops:
        if op[0] == "create":
            _, code, first, nights, rooms, ref = op
            assert isinstance(code, str) and isinstance(first, int) and isinstance(nights, int)
            assert isinstance(rooms, int)
            the_stay = stay(NIGHTS[first], min(nights, WINDOW - first))
            reference = f"ref-{ref}"
            ask = request(reference, code, the_stay, rooms=rooms, occupancy=ONE)
            fits = all(booked[code][n] + rooms <= UNITS[code] for n in the_stay.dates())
            if reference in by_reference:
                assert await pms.create_booking(HOTEL, ask) == by_reference[reference]
                continue
            if not fits:
                with pytest.raises(NotAvailable):
                    await pms.create_booking(HOTEL, ask)
                continue
            booking = await pms.create_booking(HOTEL, ask)
            by_reference[reference] = live[booking.booking_id] = booking
            created.append(booking.booking_id)
            for night in the_stay.dates():
                booked[code][night] += rooms
        elif created:
            _, index = op
            assert isinstance(index, int)
            booking_id = created[index % len(created)]
            cancelled = await pms.cancel_booking(HOTEL, booking_id)
            assert cancelled.status == "cancelled"
            was = live.pop(booking_id, None)
            if was is not None:
                by_reference[was.client_reference] = cancelled
                for night in was.stay.dates():
                    booked[was.room_type][night] -= was.rooms

        raw, _ = await state.get(NAMESPACE, hotel_key(HOTEL.id))
        stored = Ledger() if raw is None else msgspec.json.decode(raw, type=Ledger)
        for code, units in UNITS.items():
            for night in NIGHTS:
                held = stored.occupancy.get(code, {}).get(night, 0)
                assert 0 <= held <= units
                assert held == booked[code][night]

    for night in NIGHTS:
        offers = await pms.search_availability(HOTEL, stay(night, 1), ONE)
        for code, units in UNITS.items():
            assert units_left(offers, code) + booked[code][night] == units
