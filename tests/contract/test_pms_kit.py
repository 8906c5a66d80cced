"""The PMS conformance kit: the mock and the example plugin pass it, broken PMSs fail it.

Also the kit's own promises: one result per check and never a crash, nothing written without
``allow_writes``, everything it created cancelled even when a check failed, retries only after
a lookup by ``client_reference``; and its two other faces, the pytest suite and the command.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib.metadata as md
import importlib.util
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import msgspec
import pytest

from agente.adapters.memory import MemoryStore
from agente.adapters.sql import Database, SqlPluginState
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
from agente.errors import Permanent, Transient
from agente.hotels import load_hotels_file
from agente.pms_kit import (
    CHECKS,
    REFERENCE_PREFIX,
    CheckResult,
    conformance_tests,
    main,
    offer_problems,
    run_checks,
)
from agente.ports import Pms
from agente.registry import PMS, Installed, PluginContext, load_enabled
from agente.settings import Settings
from agente.testing import FrozenClock, MemoryPluginState
from agente_pms_mock import NAMESPACE, MockPms, hotel_key
from agente_pms_mock.ledger import decode_ledger

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "plugins" / "example_pms.py"
TODAY = dt.date(2026, 1, 15)
DEMO = load_hotels_file(None)[0]


def _load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("example_pms", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


example = _load_example()
EXAMPLE_HOTEL = Hotel(
    id="example", name="Example Inn", currency="USD", room_types=example.ROOM_TYPES
)


def failures(results: list[CheckResult]) -> dict[str, str]:
    return {r.name: r.detail for r in results if not r.passed}


def status(results: list[CheckResult]) -> dict[str, str]:
    return {r.name: r.status for r in results}


def _ledger_bookings(raw: bytes | None) -> list[Booking]:
    return [] if raw is None else list(decode_ledger(raw).bookings.values())


# --------------------------------------------------------------------------- conforming PMSs


async def test_mock_pms_on_sqlite_passes_every_check(sqlite_template: str, tmp_path: Path) -> None:
    path = tmp_path / "agente.db"
    shutil.copy(sqlite_template, path)
    db = Database.connect(f"sqlite+aiosqlite:///{path}")
    try:
        state = SqlPluginState(db, FrozenClock())
        results = await run_checks(MockPms(state=state), DEMO, allow_writes=True, today=TODAY)
        raw, _ = await state.get(NAMESPACE, hotel_key(DEMO.id))
    finally:
        await db.close()
    assert [r.name for r in results] == list(CHECKS)
    assert failures(results) == {}
    skipped = {r.name for r in results if r.skipped}
    assert skipped == {"capabilities.unsupported"}  # the mock declares every operation
    bookings = _ledger_bookings(raw)
    assert len(bookings) == 1, "an idempotent create books once"
    assert bookings[0].client_reference.startswith(REFERENCE_PREFIX)
    assert bookings[0].status == "cancelled"
    assert bookings[0].stay.check_in >= TODAY + dt.timedelta(days=330)


async def test_mock_pms_in_memory_passes_every_check() -> None:
    state = MemoryPluginState()
    results = await run_checks(MockPms(state=state), DEMO, allow_writes=True, today=TODAY)
    assert failures(results) == {}
    assert all(
        b.status == "cancelled" for b in _ledger_bookings(state._docs[(NAMESPACE, "hotel:demo")][0])
    )


async def test_read_only_writes_nothing() -> None:
    state = MemoryPluginState()
    results = await run_checks(MockPms(state=state), DEMO, today=TODAY)
    assert failures(results) == {}
    assert {r.name for r in results if r.skipped} >= {c for c in CHECKS if c.startswith("writes.")}
    assert await state.keys(NAMESPACE) == []


async def test_the_example_plugin_passes() -> None:
    results = await run_checks(example.ExamplePms(), EXAMPLE_HOTEL, allow_writes=True, today=TODAY)
    assert failures(results) == {}
    assert status(results)["capabilities.unsupported"] == "PASS"  # modify raises Unsupported
    assert status(results)["writes.modify"] == "SKIP"
    assert status(results)["writes.record_payment"] == "PASS"


async def test_the_example_plugin_passes_with_a_minimal_hotel() -> None:
    results = await run_checks(
        example.ExamplePms(), Hotel(id="x", name="X"), allow_writes=True, examples=8
    )
    assert failures(results) == {}
    assert "declares none" in next(r.detail for r in results if r.name == "room_types")


def test_the_example_plugin_loads_through_its_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(EXAMPLE.parent))
    monkeypatch.delitem(sys.modules, "example_pms", raising=False)
    entry = md.EntryPoint(name="example", value="example_pms:plugin", group=PMS)
    installed = [Installed(PMS, "example", entry.value, "agente-pms-example", "0.1", entry)]
    env = {"AGENTE_EXAMPLE_PMS_CURRENCY": "EUR", "AGENTE_EXAMPLE_PMS_UNITS": "5"}
    loaded = load_enabled(PMS, ["example"], env, installed=installed)["example"]
    ctx = PluginContext(
        settings=Settings(), clock=FrozenClock(), store=MemoryStore(), state=MemoryPluginState()
    )
    pms: Any = loaded.spec.build(loaded.settings, ctx)
    assert (pms.settings.currency, pms.settings.units) == ("EUR", 5)
    assert isinstance(pms, Pms)


# --------------------------------------------------------------------------- broken PMSs


@attrs.define
class BrokenPms:
    """The example PMS with one defect switched on."""

    defect: str
    inner: Any = attrs.field(factory=lambda: example.ExamplePms())
    capabilities: Any = None
    calls: int = 0

    def __attrs_post_init__(self) -> None:
        caps = self.inner.capabilities
        if self.defect == "claims_no_payment":
            caps = msgspec.structs.replace(caps, record_payment=False)
        elif self.defect == "claims_modify":
            caps = msgspec.structs.replace(caps, modify_booking=True)
        elif self.defect == "bad_capabilities":
            caps = {"search_availability": True}
        self.capabilities = caps

    async def search_availability(
        self, hotel: Hotel, stay: Stay, occupancy: Occupancy
    ) -> list[Offer]:
        if self.defect == "crashes_on_bad_dates" and stay.check_out <= stay.check_in:
            raise ValueError("negative nights")
        offers: list[Offer] = await self.inner.search_availability(hotel, stay, occupancy)
        self.calls += 1
        replace = msgspec.structs.replace
        match self.defect:
            case "negative_units":
                offers = [replace(o, units_left=-1) for o in offers]
            case "wrong_nightly_sum":
                offers = [replace(o, total=o.total + 1) for o in offers]
            case "missing_night":
                offers = [replace(o, nightly=o.nightly[:-1]) for o in offers]
            case "no_currency":
                offers = [replace(o, currency="") for o in offers]
            case "too_small":
                offers = [replace(o, max_guests=occupancy.guests - 1) for o in offers]
            case "expensive_first":
                offers = offers[::-1]
            case "unstable" if self.calls % 2 and len(offers) > 1:
                offers = offers[1:]
        return offers

    async def create_booking(self, hotel: Hotel, request: BookingRequest) -> Booking:
        if self.defect == "not_idempotent":  # forget the reference: book anew
            self.inner._references.pop((hotel.id, request.client_reference), None)
        booking: Booking = await self.inner.create_booking(hotel, request)
        if self.defect == "wrong_status" and booking.status == "pending":
            booking = msgspec.structs.replace(booking, status="confirmed")
        return booking

    async def get_booking(self, hotel: Hotel, booking_id: str) -> Booking:
        if self.defect == "untyped_not_found":
            return {b.booking_id: b for b in self.inner._bookings.values()}[booking_id]  # type: ignore[no-any-return]
        booking: Booking = await self.inner.get_booking(hotel, booking_id)
        if self.defect == "wrong_status" and booking.status == "pending":
            booking = msgspec.structs.replace(booking, status="confirmed")
        return booking

    async def find_booking_by_reference(self, hotel: Hotel, reference: str) -> Booking | None:
        if self.defect == "forgets_reference":
            return None
        if self.defect == "finds_anything":
            return Booking(  # a booking nobody made
                booking_id="X1",
                client_reference=reference,
                status="pending",
                room_type="standard",
                stay=Stay(check_in=TODAY, check_out=TODAY + dt.timedelta(days=1)),
                occupancy=Occupancy(adults=1),
                guest=PartyGuest(name="?"),
                total=Decimal(1),
                currency="USD",
            )
        found: Booking | None = await self.inner.find_booking_by_reference(hotel, reference)
        return found

    async def cancel_booking(self, hotel: Hotel, booking_id: str) -> Booking:
        booking: Booking = await self.inner.get_booking(hotel, booking_id)
        if self.defect == "cancel_twice_fails" and booking.status == "cancelled":
            raise Permanent("already cancelled")
        if self.defect == "cancel_keeps_room":
            cancelled = msgspec.structs.replace(booking, status="cancelled")
            self.inner._bookings[(hotel.id, booking_id)] = cancelled
            return cancelled
        result: Booking = await self.inner.cancel_booking(hotel, booking_id)
        return result

    async def modify_booking(
        self, hotel: Hotel, booking_id: str, stay: Stay, occupancy: Occupancy
    ) -> Booking:
        result: Booking = await self.inner.modify_booking(hotel, booking_id, stay, occupancy)
        return result

    async def record_payment(self, hotel: Hotel, booking_id: str, payment: Payment) -> Booking:
        booking: Booking = await self.inner.record_payment(hotel, booking_id, payment)
        if self.defect == "payment_status_stuck":
            booking = msgspec.structs.replace(booking, payment_status="unpaid")
        return booking

    async def get_room_types(self, hotel: Hotel) -> list[RoomType]:
        types: list[RoomType] = await self.inner.get_room_types(hotel)
        if self.defect == "bad_room_types":
            types = [msgspec.structs.replace(t, max_guests=0) for t in types]
        return types

    async def ping(self, hotel: Hotel | None = None) -> None:
        await self.inner.ping(hotel)


BROKEN = {
    "bad_capabilities": {"capabilities"},
    "claims_no_payment": {"capabilities.unsupported"},
    "claims_modify": {"writes.modify"},
    "bad_room_types": {"room_types"},
    "negative_units": {"availability.non_negative"},
    "wrong_nightly_sum": {"availability.nightly_breakdown", "writes.create"},
    "missing_night": {"availability.nightly_breakdown"},
    "no_currency": {"availability.currency", "writes.create"},
    "too_small": {"availability.fits_party"},
    "expensive_first": {"availability.cheapest_first"},
    "unstable": {"availability.stable"},
    "crashes_on_bad_dates": {"availability.invalid_stay"},
    "untyped_not_found": {"bookings.unknown_id"},
    "finds_anything": {"bookings.unknown_reference", "writes.find_by_reference"},
    "wrong_status": {"writes.create"},
    # the second booking then answers the reference and keeps a room after the cancel
    "not_idempotent": {
        "writes.idempotent",
        "writes.find_by_reference",
        "writes.availability_drops",
        "writes.cancel",
    },
    "forgets_reference": {"writes.find_by_reference"},
    "payment_status_stuck": {"writes.record_payment"},
    "cancel_keeps_room": {"writes.cancel"},
    "cancel_twice_fails": {"writes.cancel"},
}


@pytest.mark.parametrize("defect", sorted(BROKEN))
async def test_a_broken_pms_fails_the_checks_it_breaks(defect: str) -> None:
    pms = BrokenPms(defect)
    results = await run_checks(pms, EXAMPLE_HOTEL, allow_writes=True, today=TODAY, examples=15)
    assert [r.name for r in results] == list(CHECKS)
    assert set(failures(results)) == BROKEN[defect], failures(results)
    assert all(b.status == "cancelled" for b in pms.inner._bookings.values()), "cleanup"


async def test_untyped_errors_are_named_as_such() -> None:
    results = await run_checks(BrokenPms("untyped_not_found"), EXAMPLE_HOTEL, today=TODAY)
    detail = failures(results)["bookings.unknown_id"]
    assert detail.startswith("get_booking('KIT-UNKNOWN-")
    assert "untyped KeyError" in detail and "PmsError family" in detail


async def test_a_non_idempotent_create_is_cleaned_up_twice() -> None:
    pms = BrokenPms("not_idempotent")
    results = await run_checks(pms, EXAMPLE_HOTEL, allow_writes=True, today=TODAY)
    assert "not idempotent" in failures(results)["writes.idempotent"]
    cleanup = next(r for r in results if r.name == "writes.cleanup")
    assert cleanup.status == "PASS" and "cancelled 1 booking(s)" in cleanup.detail
    assert len(pms.inner._bookings) == 2
    assert {b.status for b in pms.inner._bookings.values()} == {"cancelled"}


class Exploding:
    """Every call raises something no plugin should raise."""

    capabilities = example.ExamplePms().capabilities

    def __getattr__(self, name: str) -> Any:
        async def explode(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError(f"{name} exploded")

        return explode


async def test_every_check_is_isolated_and_none_crashes_the_kit() -> None:
    results = await run_checks(Exploding(), EXAMPLE_HOTEL, allow_writes=True, today=TODAY)
    assert [r.name for r in results] == list(CHECKS)
    assert status(results)["capabilities"] == "PASS"
    assert "untyped RuntimeError: ping exploded" in failures(results)["ping"]
    assert "untyped RuntimeError" in failures(results)["writes.create"]
    assert status(results)["writes.idempotent"] == "SKIP"  # needs writes.create's booking
    assert status(results)["writes.cleanup"] == "PASS"  # nothing was created


RETRIED = {
    "search_availability",
    "get_room_types",
    "get_booking",
    "find_booking_by_reference",
    "create_booking",
    "cancel_booking",
}


class Hanging(example.ExamplePms):  # type: ignore[misc,name-defined]
    """The example PMS whose ping never answers."""

    async def ping(self, hotel: Hotel | None = None) -> None:
        await asyncio.sleep(3600)


async def test_a_hanging_call_fails_its_check_after_the_timeout() -> None:
    results = await run_checks(Hanging(), EXAMPLE_HOTEL, today=TODAY, examples=3, timeout=0.05)
    assert failures(results) == {"ping": "did not finish in 0.05 s"}


@attrs.define
class Flaky:
    """The example PMS, failing the first call of each operation the kit may retry with
    ``Transient``; the first create books and THEN fails, as when the answer is lost."""

    inner: Any = attrs.field(factory=lambda: example.ExamplePms())
    seen: set[str] = attrs.field(factory=set)

    @property
    def capabilities(self) -> Any:
        return self.inner.capabilities

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)

        async def call(*args: Any) -> Any:
            first = name not in self.seen and name in RETRIED
            self.seen.add(name)
            if first and name == "create_booking":
                await method(*args)
                raise Transient("the answer was lost")
            if first:
                raise Transient("try again")
            return await method(*args)

        return call


async def test_retries_only_transient_and_look_up_before_creating_again() -> None:
    pms = Flaky()
    results = await run_checks(pms, EXAMPLE_HOTEL, allow_writes=True, today=TODAY, examples=5)  # type: ignore[arg-type]
    assert failures(results) == {}
    create = next(r for r in results if r.name == "writes.create")
    assert "retried" in create.detail
    assert len(pms.inner._bookings) == 1, "the lookup found the lost booking: no second one"


async def test_cleanup_cancels_when_a_check_fails_midway() -> None:
    pms = BrokenPms("payment_status_stuck")
    results = await run_checks(pms, EXAMPLE_HOTEL, allow_writes=True, today=TODAY, examples=3)
    assert set(failures(results)) == {"writes.record_payment"}
    assert [b.status for b in pms.inner._bookings.values()] == ["cancelled"]


def test_offer_problems_names_the_check_and_the_stay() -> None:
    stay = Stay(check_in=dt.date(2026, 3, 6), check_out=dt.date(2026, 3, 8))
    offer = Offer(
        room_type="double",
        name="Double",
        units_left=-2,
        nightly=[],
        total=Decimal(10),
        currency="usd",
        max_guests=1,
    )
    problems = offer_problems(stay, Occupancy(adults=2), [offer], room_types={"single"})
    checks = {p.split(":")[0] for p in problems}
    assert checks == {
        "availability.non_negative",
        "availability.nightly_breakdown",
        "availability.currency",
        "availability.fits_party",
        "availability.room_types_known",
    }
    assert all("2026-03-06..2026-03-08, 2 adult(s)" in p for p in problems)


# --------------------------------------------------------------------------- the pytest suite


@pytest.fixture(params=["mock", "example"])
async def pms_under_test(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Pms, Hotel]]:
    if request.param == "mock":
        yield MockPms(state=MemoryPluginState()), DEMO
    else:
        yield example.ExamplePms(), EXAMPLE_HOTEL


TestConformance = conformance_tests(allow_writes=True, examples=10, today=TODAY)


def test_a_third_party_suite_fails_a_broken_plugin(tmp_path: Path) -> None:
    """As a plugin author uses it: conftest + fixture + one line; pytest's exit status is 1."""
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )
    (tmp_path / "conftest.py").write_text(
        textwrap.dedent(
            """
            import msgspec
            import pytest
            from example_pms import ROOM_TYPES, ExamplePms

            from agente.domain import Hotel

            pytest_plugins = ["agente.pms_kit"]


            class NegativeUnits(ExamplePms):
                async def search_availability(self, hotel, stay, occupancy):
                    offers = await super().search_availability(hotel, stay, occupancy)
                    return [msgspec.structs.replace(o, units_left=-1) for o in offers]


            @pytest.fixture
            async def pms_under_test():
                hotel = Hotel(id="x", name="X", currency="USD", room_types=ROOM_TYPES)
                return NegativeUnits(), hotel
            """
        )
    )
    (tmp_path / "test_my_pms.py").write_text(
        "from agente.pms_kit import conformance_tests\n\n"
        "TestMyPms = conformance_tests(examples=10)\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", "--pms-kit-allow-writes"],
        cwd=tmp_path,
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(EXAMPLE.parent),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    test = "test_my_pms.py::TestMyPms::"
    assert f"FAILED {test}test_check[availability.non_negative]" in out
    assert f"FAILED {test}test_availability_properties" in out
    assert f"PASSED {test}test_check[availability.nightly_breakdown]" in out
    assert f"PASSED {test}test_check[writes.cancel]" in out  # --pms-kit-allow-writes


# --------------------------------------------------------------------------- the command


def test_pms_check_command_passes_the_mock(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"AGENTE_DATABASE_URL": f"sqlite:///{tmp_path / 'agente.db'}"}
    code = main(["--plugin", "mock", "--allow-writes", "--examples", "5"], env=env)
    out = capsys.readouterr().out.splitlines()
    assert code == 0, out
    assert out[0].startswith("agente pms-check: mock (agente-pms-mock ")
    lines = out[1:-1]
    assert [line.split()[1] for line in lines] == list(CHECKS)
    assert all(line.split()[0] in ("PASS", "SKIP") for line in lines)
    assert lines[3].startswith("PASS room_types (") and " ms) 6 room types" in lines[3]
    assert out[-1].startswith(f"{len(CHECKS) - 1} passed, 0 failed, 1 skipped in ")


def test_pms_check_fails_with_status_1_and_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"AGENTE_DATABASE_URL": f"sqlite:///{tmp_path / 'agente.db'}"}
    # a hotel the file lacks gets a minimal hotel: the mock then sells nothing
    assert main(["--plugin", "mock", "--hotel", "elsewhere", "--examples", "3"], env=env) == 1
    captured = capsys.readouterr()
    assert "FAIL availability.answers" in captured.out
    assert "minimal hotel" in captured.err
    assert main(["--plugin", "nope"], env=env) == 2
    assert "'nope', which is not installed" in capsys.readouterr().err


def test_every_check_is_documented_for_plugin_authors() -> None:
    text = (ROOT / "docs" / "plugins" / "writing-a-pms-plugin.md").read_text()
    assert [c for c in CHECKS if f"| `{c}` |" not in text] == []
