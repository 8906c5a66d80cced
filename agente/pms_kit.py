"""The PMS conformance kit: proves that a PMS plugin keeps the ``Pms`` port's contract.

Three ways in, one set of checks (``CHECKS``):

- ``await run_checks(pms, hotel, allow_writes=False)`` returns one ``CheckResult`` per check.
  Each check is isolated: whatever it raises becomes a failed result naming the error's type,
  never a crash of the kit. Read-only by default; with ``allow_writes`` it books one room far in
  the future under a ``KIT-…`` client reference, exercises the booking's life, and cancels
  everything it created in a ``finally``, even when a check failed.
- ``conformance_tests()`` returns a pytest test class for a plugin's own suite (one test per
  check, plus hypothesis properties of availability); it asks for a fixture ``pms_under_test``
  returning ``(pms, hotel)``. ``pytest_plugins = ["agente.pms_kit"]`` adds command-line options.
- ``main(argv)`` is ``agente pms-check --plugin NAME [--hotel ID] [--allow-writes]``.

Why ``run_checks`` draws its stays from a seeded ``random.Random`` rather than hypothesis:
hypothesis drives a test function and cannot be drawn from outside one (``.example()`` is for
the REPL and warns), its engine does not nest inside a running event loop, and it is a
development dependency, absent from the production image where ``agente pms-check`` runs. So
the kit draws ``examples`` stays and parties from a ``Random(seed)`` within the same bounds
as the strategies ``stays()`` and ``occupancies()``, which the pytest suite uses for properties
that shrink to the smallest failing stay. Same seed and day, same stays: a failure reproduces.

Retries follow Agente's own policy: only ``Transient`` and ``RateLimited`` are retried (three
attempts, waiting at most five seconds), and a create is retried only after a lookup by its
``client_reference`` found nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import functools
import random
import re
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
import msgspec

from agente.domain import (
    Booking,
    BookingRequest,
    Hotel,
    HotelPms,
    Occupancy,
    Offer,
    PartyGuest,
    Payment,
    PmsCapabilities,
    RoomType,
    Stay,
)
from agente.errors import (
    AgenteError,
    NotFound,
    PmsError,
    RateLimited,
    Transient,
    Unsupported,
)
from agente.ports import Pms

if TYPE_CHECKING:
    import pytest
    from hypothesis.strategies import SearchStrategy

__all__ = [
    "CHECKS",
    "REFERENCE_PREFIX",
    "CheckResult",
    "add_arguments",
    "conformance_tests",
    "main",
    "occupancies",
    "offer_problems",
    "run_args",
    "run_checks",
    "stays",
]

T = TypeVar("T")

# --------------------------------------------------------------------------- bounds

DAYS_AHEAD: Final = (30, 300)
"""Check-in of the generated stays, in days from today (inclusive)."""
NIGHTS: Final = (1, 7)
"""Length of the generated stays."""
ADULTS: Final = (1, 4)
CHILDREN: Final = (0, 3)
CHILD_AGES: Final = (0, 17)
WRITE_DAYS_AHEAD: Final = 330
"""The kit's own booking starts at least this far ahead, past the stays guests usually ask."""
REFERENCE_PREFIX: Final = "KIT-"
"""Every ``client_reference`` the kit creates starts with this, so staff can spot them."""

_ATTEMPTS = 3
_MAX_WAIT = 5.0
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_PORT_METHODS = (
    "search_availability",
    "create_booking",
    "get_booking",
    "find_booking_by_reference",
    "cancel_booking",
    "modify_booking",
    "record_payment",
    "get_room_types",
    "ping",
)
_NOT_IN_PORT = ("get_hotel_info", "late_checkout_check")
"""Capability flags without a port method yet: a plugin claiming one must have the method."""

CHECKS: Final[tuple[str, ...]] = (
    "capabilities",
    "capabilities.unsupported",
    "ping",
    "room_types",
    "availability.answers",
    "availability.non_negative",
    "availability.nightly_breakdown",
    "availability.currency",
    "availability.fits_party",
    "availability.room_types_known",
    "availability.stable",
    "availability.cheapest_first",
    "availability.invalid_stay",
    "bookings.unknown_id",
    "bookings.unknown_reference",
    "writes.create",
    "writes.idempotent",
    "writes.find_by_reference",
    "writes.availability_drops",
    "writes.modify",
    "writes.record_payment",
    "writes.cancel",
    "writes.cleanup",
)
"""Every check, in the order ``run_checks`` runs and reports them."""


class CheckResult(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of one check. A skipped check did not fail: ``passed`` is True for it."""

    name: str
    passed: bool
    skipped: bool = False
    detail: str = ""
    seconds: float = 0.0

    @property
    def status(self) -> Literal["PASS", "FAIL", "SKIP"]:
        if self.skipped:
            return "SKIP"
        return "PASS" if self.passed else "FAIL"

    def line(self) -> str:
        """``PASS name (12 ms) detail``: how ``agente pms-check`` prints it."""
        return f"{self.status} {self.name} ({self.seconds * 1000:.0f} ms) {self.detail}".rstrip()


# --------------------------------------------------------------------------- generated inputs


def _stay(today: dt.date, ahead: int, nights: int) -> Stay:
    check_in = today + dt.timedelta(days=ahead)
    return Stay(check_in=check_in, check_out=check_in + dt.timedelta(days=nights))


def stays(today: dt.date | None = None) -> SearchStrategy[Stay]:
    """Hypothesis strategy: check-in 30-300 days after ``today``, 1-7 nights."""
    from hypothesis import strategies as st

    base = today or dt.date.today()
    return st.builds(
        lambda ahead, nights: _stay(base, ahead, nights),
        st.integers(*DAYS_AHEAD),
        st.integers(*NIGHTS),
    )


def occupancies() -> SearchStrategy[Occupancy]:
    """Hypothesis strategy: 1-4 adults and 0-3 children aged 0-17."""
    from hypothesis import strategies as st

    return st.builds(
        lambda adults, ages: Occupancy(adults=adults, children_ages=ages),
        st.integers(*ADULTS),
        st.lists(st.integers(*CHILD_AGES), min_size=CHILDREN[0], max_size=CHILDREN[1]),
    )


def _draws(rng: random.Random, today: dt.date, examples: int) -> list[tuple[Stay, Occupancy]]:
    """``examples`` stays and parties, the first one easy to sell (one adult, two nights)."""
    drawn = [(_stay(today, DAYS_AHEAD[0] + 15, 2), Occupancy(adults=1))]
    while len(drawn) < examples:
        stay = _stay(today, rng.randint(*DAYS_AHEAD), rng.randint(*NIGHTS))
        ages = [rng.randint(*CHILD_AGES) for _ in range(rng.randint(*CHILDREN))]
        drawn.append((stay, Occupancy(adults=rng.randint(*ADULTS), children_ages=ages)))
    return drawn[:examples]


# --------------------------------------------------------------------------- pure offer checks


def _party(occupancy: Occupancy) -> str:
    ages = f" + children {occupancy.children_ages}" if occupancy.children_ages else ""
    return f"{occupancy.adults} adult(s){ages}"


def _offer_problems(
    stay: Stay,
    occupancy: Occupancy,
    offers: Sequence[Offer],
    room_types: Collection[str] | None = None,
) -> list[tuple[str, str]]:
    """(check name, problem) for every broken promise in one availability answer."""
    where = f"{stay.check_in.isoformat()}..{stay.check_out.isoformat()}, {_party(occupancy)}"
    nights = stay.dates()
    out: list[tuple[str, str]] = []
    for offer in offers:
        label = f"{where}: {offer.room_type!r}"
        if offer.units_left < 0:
            out.append(("availability.non_negative", f"{label} units_left {offer.units_left}"))
        if offer.total <= 0:
            out.append(("availability.non_negative", f"{label} total {offer.total}"))
        if any(rate.amount < 0 for rate in offer.nightly):
            out.append(("availability.non_negative", f"{label} has a negative nightly amount"))
        dates = [rate.date for rate in offer.nightly]
        if dates != nights:
            out.append(
                (
                    "availability.nightly_breakdown",
                    f"{label} prices nights {[d.isoformat() for d in dates]}, "
                    f"the stay has {len(nights)} from {stay.check_in.isoformat()}",
                )
            )
        else:
            summed = sum((rate.amount for rate in offer.nightly), Decimal(0))
            if summed != offer.total:
                out.append(
                    (
                        "availability.nightly_breakdown",
                        f"{label} nights sum to {summed} but total is {offer.total}",
                    )
                )
        if offer.total_with_tax is not None and offer.total_with_tax < offer.total:
            out.append(
                (
                    "availability.nightly_breakdown",
                    f"{label} total_with_tax {offer.total_with_tax} is below total {offer.total}",
                )
            )
        if not isinstance(offer.currency, str) or not _CURRENCY.match(offer.currency):
            out.append(("availability.currency", f"{label} currency {offer.currency!r}"))
        if offer.max_guests < occupancy.guests:
            out.append(
                (
                    "availability.fits_party",
                    f"{label} holds {offer.max_guests}, the party is {occupancy.guests}",
                )
            )
        if room_types is not None and offer.room_type not in room_types:
            out.append(("availability.room_types_known", f"{label} is not among get_room_types"))
        if not offer.name.strip():
            out.append(("availability.room_types_known", f"{label} has no name"))
    totals = [offer.total for offer in offers]
    if totals != sorted(totals):
        out.append(
            (
                "availability.cheapest_first",
                f"{where}: totals {[str(t) for t in totals]} are not cheapest first",
            )
        )
    return out


def offer_problems(
    stay: Stay,
    occupancy: Occupancy,
    offers: Sequence[Offer],
    *,
    room_types: Collection[str] | None = None,
) -> list[str]:
    """Every broken promise of one ``search_availability`` answer, ``"check: problem"``.

    Empty when the answer keeps the contract: units never negative, totals positive, one
    nightly rate per night in order summing exactly to ``total`` (taxes go in
    ``total_with_tax``, never below ``total``), an ISO currency code, every offer holding the
    party, cheapest first, and (when ``room_types`` is given) only known room-type codes.
    """
    return [
        f"{check}: {problem}"
        for check, problem in _offer_problems(stay, occupancy, offers, room_types)
    ]


# --------------------------------------------------------------------------- the run


class _Fail(Exception):
    """A check found a broken promise; the message is the result's detail."""


class _Skip(Exception):
    """A check does not apply (capability missing, read-only run, nothing to compare)."""


@attrs.frozen
class _Sample:
    stay: Stay
    occupancy: Occupancy
    first: list[Offer] | None
    second: list[Offer] | None
    error: str | None = None


@attrs.define
class _Run:
    """What the checks share: the PMS, the inputs, and what earlier checks learned."""

    pms: Pms
    hotel: Hotel
    today: dt.date
    examples: int
    allow_writes: bool
    rng: random.Random
    caps: PmsCapabilities = attrs.field(factory=PmsCapabilities)
    retries: int = 0
    room_codes: set[str] | None = None
    samples: list[_Sample] = attrs.field(factory=list)
    #: bookings the kit created and has not seen cancelled: what the cleanup cancels
    open: dict[str, Booking] = attrs.field(factory=dict)
    request: BookingRequest | None = None
    booking: Booking | None = None
    #: units of the booked room type free for the booking's current stay before the booking
    #: held one (0: the PMS does not report units)
    baseline: int = 0

    async def read(self, call: Callable[[], Awaitable[T]]) -> T:
        """Call, retrying only ``Transient`` and ``RateLimited`` (safe for reads and cancels)."""
        for attempt in range(_ATTEMPTS):
            try:
                return await call()
            except (Transient, RateLimited) as exc:
                if attempt == _ATTEMPTS - 1:
                    raise
                await self._back_off(exc, attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    async def create(self, request: BookingRequest) -> Booking:
        """``create_booking`` as Agente does it: after a retryable failure, look the reference
        up first, and create again only if the PMS has no booking carrying it."""
        for attempt in range(_ATTEMPTS):
            try:
                booking = await self.pms.create_booking(self.hotel, request)
            except (Transient, RateLimited) as exc:
                if attempt == _ATTEMPTS - 1 or not self.caps.find_booking_by_reference:
                    raise  # without a lookup there is no safe way to retry a write
                await self._back_off(exc, attempt)
                found = await self.read(
                    lambda: self.pms.find_booking_by_reference(self.hotel, request.client_reference)
                )
                if found is None:
                    continue
                booking = found
            self.track(booking)
            return booking
        raise AssertionError("unreachable")  # pragma: no cover

    def track(self, booking: Any) -> None:
        if isinstance(booking, Booking) and booking.status != "cancelled":
            self.open[booking.booking_id] = booking

    async def _back_off(self, exc: PmsError, attempt: int) -> None:
        self.retries += 1
        wait = exc.retry_after if isinstance(exc, RateLimited) else 0.2 * 2**attempt
        await asyncio.sleep(min(max(wait, 0.0), _MAX_WAIT))

    async def search(self, stay: Stay, occupancy: Occupancy) -> list[Offer]:
        return await self.read(lambda: self.pms.search_availability(self.hotel, stay, occupancy))

    async def units(self, stay: Stay, occupancy: Occupancy, room_type: str) -> int | None:
        """Units of ``room_type`` on offer for the stay; None when it is not offered."""
        offers = await self.search(stay, occupancy)
        return next((o.units_left for o in offers if o.room_type == room_type), None)

    def answered(self) -> list[_Sample]:
        """The samples whose two searches answered; skip the check when none did."""
        if not self.caps.search_availability:
            raise _Skip("capabilities say search_availability is missing")
        good = [s for s in self.samples if s.error is None]
        if not good:
            raise _Skip("no availability search answered (see availability.answers)")
        return good


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".rstrip(": ")
    if isinstance(exc, PmsError):
        return text
    return f"untyped {text} (a plugin raises the agente.errors.PmsError family)"


def _listed(problems: Sequence[str], limit: int = 3) -> str:
    shown = "; ".join(problems[:limit])
    return shown + (f" (and {len(problems) - limit} more)" if len(problems) > limit else "")


def _need(run: _Run, flag: str) -> None:
    if not getattr(run.caps, flag):
        raise _Skip(f"capabilities say {flag} is missing")


def _need_booking(run: _Run) -> tuple[BookingRequest, Booking]:
    if not run.allow_writes:
        raise _Skip("read-only run (allow_writes=True, --allow-writes)")
    if run.request is None or run.booking is None:
        raise _Skip("needs the booking of writes.create")
    return run.request, run.booking


# --------------------------------------------------------------------------- read-only checks


async def _capabilities(run: _Run) -> str:
    problems = []
    missing = [m for m in _PORT_METHODS if not callable(getattr(run.pms, m, None))]
    if missing:
        problems.append(f"missing port methods: {', '.join(missing)}")
    caps = getattr(run.pms, "capabilities", None)
    if not isinstance(caps, PmsCapabilities):
        problems.append(f"capabilities is {type(caps).__name__}, not PmsCapabilities")
    else:
        for flag in _NOT_IN_PORT:
            if getattr(caps, flag) and not callable(getattr(run.pms, flag, None)):
                problems.append(f"capabilities claim {flag} but the plugin has no such method")
    if problems:
        raise _Fail("; ".join(problems))
    on = [f for f in msgspec.structs.asdict(run.caps) if getattr(run.caps, f)]
    return f"declared: {', '.join(on)}"


async def _unsupported(run: _Run) -> str:
    """An operation the capabilities call missing must raise ``Unsupported``, and only that."""
    hotel, pms = run.hotel, run.pms
    stay = _stay(run.today, DAYS_AHEAD[0] + 15, 2)
    party = Occupancy(adults=1)
    nobody = f"{REFERENCE_PREFIX}UNKNOWN-{uuid.uuid4().hex[:10]}"
    probes: dict[str, Callable[[], Awaitable[Any]]] = {
        "search_availability": lambda: pms.search_availability(hotel, stay, party),
        "get_booking": lambda: pms.get_booking(hotel, nobody),
        "find_booking_by_reference": lambda: pms.find_booking_by_reference(hotel, nobody),
        "get_room_types": lambda: pms.get_room_types(hotel),
        "cancel_booking": lambda: pms.cancel_booking(hotel, nobody),
        "modify_booking": lambda: pms.modify_booking(hotel, nobody, stay, party),
        "record_payment": lambda: pms.record_payment(hotel, nobody, Payment(amount=Decimal(1))),
    }
    if run.allow_writes:
        request = BookingRequest(
            client_reference=f"{REFERENCE_PREFIX}{uuid.uuid4().hex[:12]}",
            room_type=next(iter(run.hotel.room_types), RoomType(code="kit", name={})).code,
            stay=_stay(run.today, WRITE_DAYS_AHEAD + 30, 1),
            occupancy=party,
            guest=PartyGuest(name="Agente PMS kit"),
        )
        probes["create_booking"] = lambda: pms.create_booking(hotel, request)
    if not isinstance(getattr(pms, "capabilities", None), PmsCapabilities):
        raise _Skip("no PmsCapabilities to compare with (see the check capabilities)")
    declared_missing = [op for op in _PORT_METHODS if not getattr(run.caps, op, True)]
    if not declared_missing:
        raise _Skip("every operation of the port is declared")
    problems, probed = [], []
    for op in declared_missing:
        probe = probes.get(op)
        if probe is None:
            continue
        probed.append(op)
        try:
            answer = await run.read(probe)
        except Unsupported:
            continue
        except Exception as exc:
            problems.append(f"{op} is declared missing but raised {_describe(exc)}")
            continue
        run.track(answer)
        problems.append(f"{op} is declared missing but answered {type(answer).__name__}")
    if problems:
        raise _Fail(_listed(problems))
    if not probed:
        raise _Skip(f"declared missing: {', '.join(declared_missing)}; not probed read-only")
    return f"Unsupported from {', '.join(probed)}"


async def _ping(run: _Run) -> str:
    await run.pms.ping(run.hotel)
    await run.pms.ping()
    return "ping(hotel) and ping() answered"


async def _room_types(run: _Run) -> str:
    _need(run, "get_room_types")
    types = await run.read(lambda: run.pms.get_room_types(run.hotel))
    if not isinstance(types, list) or not all(isinstance(t, RoomType) for t in types):
        raise _Fail(f"get_room_types returned {type(types).__name__}, not a list of RoomType")
    problems = []
    codes = [t.code for t in types]
    if not types:
        problems.append("no room types")
    if len(set(codes)) != len(codes):
        problems.append(f"duplicate codes in {codes}")
    for t in types:
        if not t.code:
            problems.append("a room type without a code")
        if t.max_adults < 1 or t.max_children < 0:
            problems.append(f"{t.code!r}: max_adults {t.max_adults}, max_children {t.max_children}")
        if not t.max_adults <= t.max_guests <= t.max_adults + t.max_children:
            problems.append(
                f"{t.code!r}: max_guests {t.max_guests} is not between max_adults "
                f"{t.max_adults} and max_adults + max_children"
            )
        if t.units < 0 or t.base_rate < 0:
            problems.append(f"{t.code!r}: negative units or base_rate")
    run.room_codes = set(codes)
    declared = {t.code for t in run.hotel.room_types}
    if declared and declared != set(codes):
        problems.append(
            f"the hotel declares {sorted(declared)}, the PMS sells {sorted(set(codes))}"
        )
    if problems:
        raise _Fail(_listed(problems))
    compared = "as the hotel declares" if declared else "(the hotel declares none to compare)"
    return f"{len(types)} room types {compared}"


async def _answers(run: _Run) -> str:
    """Sample every drawn stay twice; every search of a valid stay answers a list of offers."""
    _need(run, "search_availability")
    for stay, party in _draws(run.rng, run.today, run.examples):
        try:
            first = await run.search(stay, party)
            second = await run.search(stay, party)
            for answer in (first, second):
                if not isinstance(answer, list) or not all(isinstance(o, Offer) for o in answer):
                    raise _Fail(f"answered {type(answer).__name__}, not a list of Offer")
        except Exception as exc:
            error = str(exc) if isinstance(exc, _Fail) else _describe(exc)
            run.samples.append(_Sample(stay, party, None, None, error))
            continue
        run.samples.append(_Sample(stay, party, first, second))
    failed = [
        f"{s.stay.check_in.isoformat()}..{s.stay.check_out.isoformat()}, "
        f"{_party(s.occupancy)}: {s.error}"
        for s in run.samples
        if s.error is not None
    ]
    if failed:
        raise _Fail(f"{len(failed)} of {len(run.samples)} searches failed: {_listed(failed)}")
    with_offers = sum(1 for s in run.samples if s.first)
    if not with_offers:
        raise _Fail(
            f"no offers for any of {len(run.samples)} stays (not even one adult, two nights): "
            "the kit has nothing to check; is the hotel set up in the PMS?"
        )
    offers = sum(len(s.first or []) for s in run.samples)
    return f"{len(run.samples)} stays, {with_offers} with offers, {offers} offers"


def _offer_check(name: str) -> Callable[[_Run], Awaitable[str]]:
    async def check(run: _Run) -> str:
        good = run.answered()
        problems = [
            problem
            for s in good
            for check, problem in _offer_problems(
                s.stay, s.occupancy, s.first or [], run.room_codes
            )
            if check == name
        ]
        if problems:
            raise _Fail(_listed(problems))
        offers = sum(len(s.first or []) for s in good)
        return f"{offers} offers in {len(good)} answers"

    return check


async def _stable(run: _Run) -> str:
    good = run.answered()
    differ = [
        f"{s.stay.check_in.isoformat()}..{s.stay.check_out.isoformat()}, {_party(s.occupancy)}"
        for s in good
        if s.first != s.second
    ]
    if differ:
        raise _Fail(f"two consecutive searches answered differently for {_listed(differ)}")
    return f"{len(good)} stays asked twice, same answer"


async def _invalid_stay(run: _Run) -> str:
    """Check-out on or before check-in: a non-retryable ``PmsError`` or ``[]``, nothing else."""
    _need(run, "search_availability")
    day = run.today + dt.timedelta(days=DAYS_AHEAD[0] + 30)
    outcomes, problems = [], []
    for nights in (0, -1):
        stay = Stay(check_in=day, check_out=day + dt.timedelta(days=nights))
        try:
            offers = await run.pms.search_availability(run.hotel, stay, Occupancy(adults=1))
        except PmsError as exc:
            if exc.retryable:
                problems.append(f"{nights} nights: {_describe(exc)} is retried; raise Permanent")
            else:
                outcomes.append(f"{nights} nights: {type(exc).__name__}")
            continue
        except Exception as exc:
            problems.append(f"{nights} nights: {_describe(exc)}")
            continue
        if offers != []:
            problems.append(f"{nights} nights: answered {offers!r:.80}, expected [] or an error")
        else:
            outcomes.append(f"{nights} nights: []")
    if problems:
        raise _Fail("; ".join(problems))
    return "; ".join(outcomes)


async def _expect_not_found(call: Callable[[], Awaitable[Any]], what: str) -> str | None:
    try:
        answer = await call()
    except NotFound:
        return None
    except Exception as exc:
        return f"{what}: {_describe(exc)}, expected NotFound"
    return f"{what}: answered {type(answer).__name__}, expected NotFound"


async def _unknown_id(run: _Run) -> str:
    _need(run, "get_booking")
    ids = [f"{REFERENCE_PREFIX}UNKNOWN-{uuid.uuid4().hex[:10]}", "987654321987"]
    problems = []
    for booking_id in ids:
        call = functools.partial(run.pms.get_booking, run.hotel, booking_id)
        problem = await _expect_not_found(
            functools.partial(run.read, call), f"get_booking({booking_id!r})"
        )
        if problem:
            problems.append(problem)
    if problems:
        raise _Fail("; ".join(problems))
    return f"NotFound for {ids[0]!r} and {ids[1]!r}"


async def _unknown_reference(run: _Run) -> str:
    _need(run, "find_booking_by_reference")
    reference = f"{REFERENCE_PREFIX}UNKNOWN-{uuid.uuid4().hex[:10]}"
    found = await run.read(lambda: run.pms.find_booking_by_reference(run.hotel, reference))
    if found is not None:
        raise _Fail(f"find_booking_by_reference({reference!r}) answered {found!r:.80}")
    return f"None for {reference!r}"


# --------------------------------------------------------------------------- write checks


def _booking_problems(
    booking: Any, request: BookingRequest, offer: Offer, *, where: str
) -> list[str]:
    if not isinstance(booking, Booking):
        return [f"{where} answered {type(booking).__name__}, not a Booking"]
    problems = []
    expected: dict[str, tuple[Any, Any]] = {
        "client_reference": (booking.client_reference, request.client_reference),
        "room_type": (booking.room_type, request.room_type),
        "stay": (booking.stay, request.stay),
        "adults": (booking.occupancy.adults, request.occupancy.adults),
        "children_ages": (
            sorted(booking.occupancy.children_ages),
            sorted(request.occupancy.children_ages),
        ),
        "rooms": (booking.rooms, request.rooms),
        "guest name": (booking.guest.name, request.guest.name),
        "currency": (booking.currency, offer.currency),
        "status": (booking.status, "pending"),
        "payment_status": (booking.payment_status, "unpaid"),
    }
    for field, (got, want) in expected.items():
        if got != want:
            problems.append(f"{where}: {field} {got!r}, expected {want!r}")
    if booking.guest.email is not None and booking.guest.email != request.guest.email:
        problems.append(f"{where}: guest email {booking.guest.email!r}")
    if not booking.booking_id:
        problems.append(f"{where}: empty booking_id")
    if booking.total <= 0:
        problems.append(f"{where}: total {booking.total}")
    elif booking.total not in (offer.total, offer.total_with_tax):
        problems.append(
            f"{where}: total {booking.total}, the offer said {offer.total} "
            f"(with tax {offer.total_with_tax})"
        )
    if booking.paid != 0:
        problems.append(f"{where}: paid {booking.paid} before any payment")
    return problems


async def _create(run: _Run) -> str:
    if not run.allow_writes:
        raise _Skip("read-only run (allow_writes=True, --allow-writes)")
    _need(run, "create_booking")
    if not run.caps.cancel_booking:
        raise _Skip("cancel_booking is missing: the kit books nothing it cannot cancel")
    _need(run, "search_availability")
    parties = [Occupancy(adults=2, children_ages=[8]), Occupancy(adults=1)]
    choice: tuple[Stay, Occupancy, Offer] | None = None
    for attempt in range(6):
        stay = _stay(run.today, WRITE_DAYS_AHEAD + 3 * attempt + run.rng.randint(0, 20), 2)
        for party in parties:
            offers = await run.search(stay, party)
            if offers:
                choice = (stay, party, offers[0])
                break
        if choice:
            break
    if choice is None:
        raise _Fail(
            f"nothing free {WRITE_DAYS_AHEAD}+ days ahead for 1 to 3 guests: nothing to book"
        )
    stay, party, offer = choice
    request = BookingRequest(
        client_reference=f"{REFERENCE_PREFIX}{uuid.uuid4().hex[:12].upper()}",
        room_type=offer.room_type,
        stay=stay,
        occupancy=party,
        guest=PartyGuest(name="Agente PMS Kit", email="pms-kit@example.com"),
        notes="Agente PMS conformance kit: a test booking, cancelled by the kit.",
    )
    booking = await run.create(request)
    run.request, run.baseline = request, max(offer.units_left, 0)
    if isinstance(booking, Booking):
        run.booking = booking
    problems = _booking_problems(booking, request, offer, where="create_booking")
    if isinstance(booking, Booking) and run.caps.get_booking:
        again = await run.read(lambda: run.pms.get_booking(run.hotel, booking.booking_id))
        problems += _booking_problems(again, request, offer, where="get_booking")
        if isinstance(again, Booking) and again.booking_id != booking.booking_id:
            problems.append(f"get_booking answered booking {again.booking_id!r}")
    if problems:
        raise _Fail(_listed(problems))
    booking_id = booking.booking_id if isinstance(booking, Booking) else "?"
    return (
        f"{booking_id} ({request.client_reference}) {offer.room_type} "
        f"{stay.check_in.isoformat()}..{stay.check_out.isoformat()} {party.guests} guests"
    )


async def _idempotent(run: _Run) -> str:
    request, booking = _need_booking(run)
    again = await run.create(request)
    if not isinstance(again, Booking) or again.booking_id != booking.booking_id:
        got = again.booking_id if isinstance(again, Booking) else type(again).__name__
        raise _Fail(
            f"a second create with client_reference {request.client_reference!r} answered "
            f"{got!r}, not {booking.booking_id!r}: the create is not idempotent"
        )
    return f"the same client_reference answered {booking.booking_id} again"


async def _find_by_reference(run: _Run) -> str:
    request, booking = _need_booking(run)
    _need(run, "find_booking_by_reference")
    found = await run.read(
        lambda: run.pms.find_booking_by_reference(run.hotel, request.client_reference)
    )
    if not isinstance(found, Booking) or found.booking_id != booking.booking_id:
        raise _Fail(
            f"find_booking_by_reference({request.client_reference!r}) answered {found!r:.80}"
        )
    return f"{request.client_reference} is {booking.booking_id}"


def _units_problem(label: str, got: int | None, want: int) -> str | None:
    """None when the offer shows ``want`` free units (``got`` None: not offered at all).

    ``want`` 0 means the PMS does not report units: there is nothing to compare.
    """
    if want <= 0 or got == want:
        return None
    return f"{label}: {got if got is not None else 'no offer'}, expected {want} free"


def _after_taking_one(label: str, got: int | None, before: int) -> str | None:
    """None when a booking took exactly one of ``before`` units (0: not reported)."""
    if before <= 0:
        return None
    if before == 1:
        return None if not got else f"{label}: still {got} free after booking the last one"
    return _units_problem(label, got, before - 1)


async def _availability_drops(run: _Run) -> str:
    request, booking = _need_booking(run)
    if run.baseline <= 0:
        raise _Skip("the offer reported units_left 0: the PMS does not count units")
    got = await run.units(booking.stay, request.occupancy, booking.room_type)
    problem = _after_taking_one("after the booking", got, run.baseline)
    if problem:
        raise _Fail(f"{problem} (was {run.baseline}; was the repeated create booked twice?)")
    return f"{booking.room_type}: {run.baseline} free before, {got or 0} after"


async def _modify(run: _Run) -> str:
    request, booking = _need_booking(run)
    _need(run, "modify_booking")
    old_baseline = run.baseline
    target: tuple[Stay, int] | None = None
    for weeks in (2, 3, 4):
        stay = Stay(
            check_in=booking.stay.check_in + dt.timedelta(weeks=weeks),
            check_out=booking.stay.check_out + dt.timedelta(weeks=weeks),
        )
        free = await run.units(stay, request.occupancy, booking.room_type)
        if free is not None:
            target = (stay, max(free, 0))
            break
    if target is None:
        raise _Skip(f"{booking.room_type!r} is not free 2 to 4 weeks later: nowhere to move it")
    stay, new_baseline = target
    modified = await run.pms.modify_booking(run.hotel, booking.booking_id, stay, request.occupancy)
    problems = []
    if not isinstance(modified, Booking):
        raise _Fail(f"modify_booking answered {type(modified).__name__}, not a Booking")
    run.booking, run.baseline = modified, new_baseline
    run.track(modified)
    if modified.booking_id != booking.booking_id or modified.stay != stay:
        problems.append(f"modify_booking answered {modified.booking_id} {modified.stay!r}")
    if modified.total <= 0 or modified.status == "cancelled":
        problems.append(f"modify_booking answered total {modified.total}, {modified.status}")
    if run.caps.get_booking:
        again = await run.read(lambda: run.pms.get_booking(run.hotel, booking.booking_id))
        if again.stay != stay:
            problems.append(f"get_booking still says {again.stay!r}")
    old = await run.units(booking.stay, request.occupancy, booking.room_type)
    new = await run.units(stay, request.occupancy, booking.room_type)
    for problem in (
        _units_problem("the old stay", old, old_baseline),
        _after_taking_one("the new stay", new, new_baseline),
    ):
        if problem:
            problems.append(problem)
    if problems:
        raise _Fail(_listed(problems))
    return f"moved to {stay.check_in.isoformat()}..{stay.check_out.isoformat()}, rooms followed"


async def _record_payment(run: _Run) -> str:
    request, booking = _need_booking(run)
    _need(run, "record_payment")
    total = booking.total
    part = (total * Decimal("0.3")).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    problems: list[str] = []
    paid = Decimal(0)
    steps: list[tuple[Decimal, str]] = [(part, "partial")] if 0 < part < total else []
    steps.append((total - sum((s[0] for s in steps), Decimal(0)), "paid"))
    latest = booking
    for number, (amount, status) in enumerate(steps, start=1):
        payment = Payment(amount=amount, reference=f"{request.client_reference}-P{number}")
        latest = await run.pms.record_payment(run.hotel, booking.booking_id, payment)
        paid += amount
        if not isinstance(latest, Booking):
            raise _Fail(f"record_payment answered {type(latest).__name__}, not a Booking")
        run.track(latest)
        if latest.paid != paid or latest.payment_status != status:
            problems.append(
                f"after {paid} of {total}: paid {latest.paid}, {latest.payment_status!r} "
                f"(expected {status!r})"
            )
        if latest.status == "cancelled":
            problems.append("a payment cancelled the booking")
    run.booking = latest
    if run.caps.get_booking:
        again = await run.read(lambda: run.pms.get_booking(run.hotel, booking.booking_id))
        if again.paid != paid or again.payment_status != "paid":
            problems.append(f"get_booking says paid {again.paid}, {again.payment_status!r}")
    if problems:
        raise _Fail(_listed(problems))
    return f"{len(steps)} payment(s): {' then '.join(s for _, s in steps)}, status {latest.status}"


async def _cancel(run: _Run) -> str:
    request, booking = _need_booking(run)
    cancelled = await run.read(lambda: run.pms.cancel_booking(run.hotel, booking.booking_id))
    problems = []
    if not isinstance(cancelled, Booking) or cancelled.status != "cancelled":
        raise _Fail(f"cancel_booking answered {cancelled!r:.80}")
    run.open.pop(booking.booking_id, None)
    if run.caps.get_booking:
        again = await run.read(lambda: run.pms.get_booking(run.hotel, booking.booking_id))
        if again.status != "cancelled":
            problems.append(f"get_booking still says {again.status!r}")
    if run.baseline > 0:
        got = await run.units(booking.stay, request.occupancy, booking.room_type)
        problem = _units_problem("after cancelling", got, run.baseline)
        if problem:
            problems.append(problem)
    try:
        twice = await run.pms.cancel_booking(run.hotel, booking.booking_id)
    except Exception as exc:
        problems.append(f"cancelling twice raised {_describe(exc)}")
    else:
        if not isinstance(twice, Booking) or twice.status != "cancelled":
            problems.append(f"cancelling twice answered {twice!r:.80}")
    if problems:
        raise _Fail(_listed(problems))
    freed = "the room is free again" if run.baseline > 0 else "units not reported"
    return f"{booking.booking_id} cancelled ({freed}); cancelling twice is fine"


async def _cleanup(run: _Run) -> str:
    if not run.allow_writes:
        raise _Skip("read-only run: nothing created")
    if not run.open:
        return "nothing left to cancel"
    left, problems = list(run.open), []
    for booking_id in left:
        try:
            await run.read(functools.partial(run.pms.cancel_booking, run.hotel, booking_id))
        except Exception as exc:
            problems.append(f"{booking_id}: {_describe(exc)}")
        else:
            run.open.pop(booking_id, None)
    if problems:
        raise _Fail(f"could not cancel {_listed(problems)}")
    return f"cancelled {len(left)} booking(s) a failed check left open: {', '.join(left)}"


_REGISTRY: Final[dict[str, Callable[[_Run], Awaitable[str]]]] = {
    "capabilities": _capabilities,
    "capabilities.unsupported": _unsupported,
    "ping": _ping,
    "room_types": _room_types,
    "availability.answers": _answers,
    "availability.non_negative": _offer_check("availability.non_negative"),
    "availability.nightly_breakdown": _offer_check("availability.nightly_breakdown"),
    "availability.currency": _offer_check("availability.currency"),
    "availability.fits_party": _offer_check("availability.fits_party"),
    "availability.room_types_known": _offer_check("availability.room_types_known"),
    "availability.stable": _stable,
    "availability.cheapest_first": _offer_check("availability.cheapest_first"),
    "availability.invalid_stay": _invalid_stay,
    "bookings.unknown_id": _unknown_id,
    "bookings.unknown_reference": _unknown_reference,
    "writes.create": _create,
    "writes.idempotent": _idempotent,
    "writes.find_by_reference": _find_by_reference,
    "writes.availability_drops": _availability_drops,
    "writes.modify": _modify,
    "writes.record_payment": _record_payment,
    "writes.cancel": _cancel,
    "writes.cleanup": _cleanup,
}
assert tuple(_REGISTRY) == CHECKS


async def _one(name: str, run: _Run, timeout: float) -> CheckResult:
    start, retries = time.perf_counter(), run.retries
    passed, skipped = False, False
    deadline = asyncio.timeout(timeout)
    try:
        async with deadline:
            detail = await _REGISTRY[name](run)
        passed = True
    except _Skip as exc:
        passed, skipped, detail = True, True, str(exc)
    except _Fail as exc:
        detail = str(exc)
    except Exception as exc:
        late = deadline.expired()
        detail = f"did not finish in {timeout:g} s" if late else _describe(exc)
    if run.retries > retries:
        detail += f" (after {run.retries - retries} retried call(s))"
    return CheckResult(
        name=name,
        passed=passed,
        skipped=skipped,
        detail=detail,
        seconds=time.perf_counter() - start,
    )


def _hotel_today(hotel: Hotel) -> dt.date:
    try:
        return dt.datetime.now(ZoneInfo(hotel.timezone)).date()
    except (ZoneInfoNotFoundError, ValueError):
        return dt.datetime.now(dt.UTC).date()


async def run_checks(
    pms: Pms,
    hotel: Hotel,
    *,
    allow_writes: bool = False,
    today: dt.date | None = None,
    examples: int = 25,
    seed: int = 0,
    timeout: float = 120.0,
) -> list[CheckResult]:
    """Run every check of ``CHECKS`` against ``pms`` for ``hotel``; one result each, in order.

    ``today`` defaults to today in the hotel's time zone; ``examples`` stays and parties are
    drawn from ``Random(seed)``. Without ``allow_writes`` nothing is written (operations the
    capabilities call missing are probed with an unknown booking id, which changes nothing).
    With it, bookings go at least ``WRITE_DAYS_AHEAD`` days ahead under ``KIT-…`` references
    and are all cancelled before this returns, also when a check failed. ``timeout`` bounds
    each check, in seconds.
    """
    caps = getattr(pms, "capabilities", None)
    run = _Run(
        pms=pms,
        hotel=hotel,
        today=today or _hotel_today(hotel),
        examples=max(1, examples),
        allow_writes=allow_writes,
        rng=random.Random(seed),
        caps=caps if isinstance(caps, PmsCapabilities) else PmsCapabilities(),
    )
    results: list[CheckResult] = []
    try:
        for name in CHECKS[:-1]:
            results.append(await _one(name, run, timeout))
    finally:
        results.append(await _one(CHECKS[-1], run, timeout))
    return results


# --------------------------------------------------------------------------- pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    """Registered by ``pytest_plugins = ["agente.pms_kit"]`` in a root ``conftest.py``."""
    group = parser.getgroup("agente-pms-kit", "Agente PMS conformance kit")
    group.addoption(
        "--pms-kit-allow-writes",
        action="store_true",
        default=False,
        help="let the conformance tests book (and cancel) in the PMS under test",
    )
    group.addoption(
        "--pms-kit-examples",
        type=int,
        default=None,
        help="stays and parties the conformance tests try (default: the suite's own)",
    )


def _unpack(value: Any) -> tuple[Pms, Hotel]:
    if (
        isinstance(value, tuple)
        and len(value) == 2
        and isinstance(value[0], Pms)
        and isinstance(value[1], Hotel)
    ):
        return value[0], value[1]
    raise TypeError(
        "the fixture pms_under_test must return (pms, hotel): a Pms and an agente.domain.Hotel, "
        f"not {value!r:.80}"
    )


def conformance_tests(
    *,
    allow_writes: bool = False,
    examples: int = 25,
    today: dt.date | None = None,
    seed: int = 0,
) -> type[Any]:
    """A pytest test class running the kit against the fixture ``pms_under_test``.

    Bind it to a ``Test…`` name in a test module::

        TestMyPms = conformance_tests(allow_writes=True)

    ``test_check[<name>]`` is one test per check (skipped checks skip); the kit runs once per
    class (and per parameter of the fixture) and each test reports its check.
    ``test_availability_properties`` and ``test_invalid_stays`` are hypothesis properties over
    ``stays()`` and ``occupancies()``. Async tests: needs pytest-asyncio.
    """
    import pytest
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    marks: list[Any] = []
    try:
        import pytest_asyncio  # noqa: F401
    except ImportError:  # pragma: no cover
        pass
    else:
        marks.append(pytest.mark.asyncio)
    day = today or dt.date.today()
    runs: dict[tuple[tuple[str, str], ...], dict[str, CheckResult]] = {}

    def options(request: pytest.FixtureRequest) -> tuple[bool, int]:
        writes = allow_writes or bool(request.config.getoption("pms_kit_allow_writes", False))
        count = request.config.getoption("pms_kit_examples", None) or examples
        return writes, int(count)

    def apply(function: Any) -> Any:
        for mark in marks:
            function = mark(function)
        return function

    class PmsConformance:
        """The PMS conformance kit as tests; see ``agente.pms_kit``."""

        @apply
        @pytest.mark.parametrize("check", CHECKS)
        async def test_check(
            self, check: str, pms_under_test: Any, request: pytest.FixtureRequest
        ) -> None:
            callspec = getattr(request.node, "callspec", None)
            params = {} if callspec is None else dict(callspec.params)
            params.pop("check", None)
            key = tuple(sorted((k, repr(v)) for k, v in params.items()))
            if key not in runs:
                pms, hotel = _unpack(pms_under_test)
                writes, count = options(request)
                results = await run_checks(
                    pms, hotel, allow_writes=writes, today=today, examples=count, seed=seed
                )
                runs[key] = {r.name: r for r in results}
            result = runs[key][check]
            if result.skipped:
                return  # not applicable to this plugin (its capabilities say so): conformant
            if not result.passed:
                pytest.fail(f"{check}: {result.detail}", pytrace=False)

        @apply
        @settings(
            max_examples=examples,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        @given(stay=stays(day), occupancy=occupancies())
        async def test_availability_properties(
            self, pms_under_test: Any, stay: Stay, occupancy: Occupancy
        ) -> None:
            pms, hotel = _unpack(pms_under_test)
            if not pms.capabilities.search_availability:
                pytest.skip("capabilities say search_availability is missing")
            codes = None
            if pms.capabilities.get_room_types:
                codes = {t.code for t in await pms.get_room_types(hotel)}
            first = await pms.search_availability(hotel, stay, occupancy)
            second = await pms.search_availability(hotel, stay, occupancy)
            problems = offer_problems(stay, occupancy, first, room_types=codes)
            if first != second:
                problems.append("availability.stable: two consecutive searches differ")
            assert not problems, "\n".join(problems)

        @apply
        @settings(
            max_examples=min(examples, 10),
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        @given(stay=stays(day), back=st.integers(0, 3), occupancy=occupancies())
        async def test_invalid_stays(
            self, pms_under_test: Any, stay: Stay, back: int, occupancy: Occupancy
        ) -> None:
            pms, hotel = _unpack(pms_under_test)
            if not pms.capabilities.search_availability:
                pytest.skip("capabilities say search_availability is missing")
            bad = Stay(check_in=stay.check_in, check_out=stay.check_in - dt.timedelta(days=back))
            try:
                offers = await pms.search_availability(hotel, bad, occupancy)
            except PmsError as exc:
                assert not exc.retryable, f"{_describe(exc)}: bad dates must not be retried"
            else:
                assert offers == [], f"{bad!r}: expected [] or a PmsError, got {offers!r:.80}"

    return PmsConformance


# --------------------------------------------------------------------------- the command


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``agente pms-check``, for ``main`` and for ``agente.cli``'s subparser."""
    parser.add_argument(
        "--plugin", help="PMS plugin (entry point in agente.pms); default: the first of AGENTE_PMS"
    )
    parser.add_argument(
        "--hotel",
        help="hotel id in the hotels file (default AGENTE_DEFAULT_HOTEL); an id the file lacks "
        "gets a minimal hotel, for plugins that name their hotel in their own settings",
    )
    parser.add_argument(
        "--allow-writes",
        action="store_true",
        help=f"book one room {WRITE_DAYS_AHEAD}+ days ahead (reference {REFERENCE_PREFIX}…), "
        "modify, pay and cancel it; everything created is cancelled at the end",
    )
    parser.add_argument("--examples", type=_positive, default=25, help="stays to try (25)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the stays drawn (0)")
    parser.add_argument(
        "--today", type=dt.date.fromisoformat, help="YYYY-MM-DD (default: today at the hotel)"
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per check (120)")


async def _check_plugin(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    import logging

    from agente.adapters.memory import MemoryStore
    from agente.adapters.sql import Database, SqlDocuments, SqlPluginState
    from agente.clock import SystemClock
    from agente.errors import ConfigError
    from agente.hotels import HotelDirectory, load_hotels_file, seed_hotels
    from agente.metrics import Metrics
    from agente.migrate import upgrade
    from agente.registry import PMS, PluginContext, load_enabled
    from agente.settings import load_settings

    settings = load_settings(env)
    name = args.plugin or next(iter(settings.pms), None)
    if not name:
        raise ConfigError("AGENTE_PMS", "no PMS plugin is enabled; pass --plugin NAME")
    loaded = load_enabled(PMS, [name], env)[name]
    hotels = load_hotels_file(settings.hotels_file)
    wanted = args.hotel or settings.default_hotel
    hotel = next((h for h in hotels if h.id == wanted), None)
    if hotel is None:
        if args.hotel is None:
            raise ConfigError(
                "AGENTE_DEFAULT_HOTEL",
                f"hotel {wanted!r} is not in the hotels file; pass --hotel ID",
            )
        print(
            f"agente pms-check: hotel {wanted!r} is not in the hotels file; using a minimal "
            "hotel (no room types to compare)",
            file=sys.stderr,
        )
        hotel = Hotel(id=wanted, name=wanted, pms=HotelPms(plugin=name))
    clock = SystemClock()
    if settings.auto_migrate:
        logging.getLogger("alembic").setLevel(logging.WARNING)
        await upgrade(settings.database_url)
    db = Database.connect(settings.database_url, pool_size=settings.database_pool_size)
    pms: Any = None
    try:
        if settings.auto_migrate:
            await seed_hotels(db, hotels, clock)
        ctx = PluginContext(
            settings=settings,
            clock=clock,
            store=MemoryStore(),
            state=SqlPluginState(db, clock),
            hotels=HotelDirectory(db=db, clock=clock),
            registry=Metrics().registry,
            documents=SqlDocuments(db, clock),
        )
        pms = loaded.spec.build(loaded.settings, ctx)
        mode = "writes allowed" if args.allow_writes else "read-only"
        print(
            f"agente pms-check: {name} ({loaded.installed.distribution} "
            f"{loaded.installed.version}) on hotel {hotel.id}, {mode}"
        )
        start = time.perf_counter()
        results = await run_checks(
            pms,
            hotel,
            allow_writes=args.allow_writes,
            today=args.today,
            examples=args.examples,
            seed=args.seed,
            timeout=args.timeout,
        )
        for result in results:
            print(result.line())
        failed = sum(1 for r in results if not r.passed)
        skipped = sum(1 for r in results if r.skipped)
        print(
            f"{len(results) - failed - skipped} passed, {failed} failed, {skipped} skipped "
            f"in {time.perf_counter() - start:.2f} s"
        )
        return 1 if failed else 0
    finally:
        closer = getattr(pms, "aclose", None)
        if closer is not None:
            await closer()
        await db.close()


def run_args(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> int:
    """Run ``agente pms-check`` from parsed ``args``; 0 when no check failed, 1 otherwise.

    Raises ``ConfigError``/``PluginError`` (an ``AgenteError``) for an unknown plugin, hotel or
    setting, which ``main`` turns into exit status 2.
    """
    from agente.settings import read_environment

    environ = dict(read_environment() if env is None else env)
    return asyncio.run(_check_plugin(args, environ))


def main(argv: Sequence[str] | None = None, *, env: Mapping[str, str] | None = None) -> int:
    """``agente pms-check [--plugin NAME] [--hotel ID] [--allow-writes] [--examples N]``."""
    parser = argparse.ArgumentParser(
        prog="agente pms-check",
        description="Prove that a PMS plugin keeps the Pms port's contract (read-only unless "
        "--allow-writes).",
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run_args(args, env)
    except AgenteError as exc:
        print(f"agente pms-check: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
