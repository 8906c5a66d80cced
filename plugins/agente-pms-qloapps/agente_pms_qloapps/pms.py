"""The ``Pms`` port over the QloApps 1.6.1 webservice (shared/pms/qloapps/NOTES.md).

- Availability and rates: ``POST /api/hotel_ari`` (XML body, JSON answer). ARI does not filter
  room types by capacity, so offers are filtered here against ``hotel_room_types``.
- Bookings: ``POST /api/bookings`` (JSON), read back with ``GET /api/bookings/{id}`` and the
  state from ``GET /api/orders/{id}``; modify and cancel with ``PUT`` and the full desired
  state. Our ``client_reference`` travels as the order's ``source`` (``agente:AG-…``), and
  ``find_booking_by_reference`` looks it up through ``orders?filter[source]``.
- Writes are never retried blindly: a 500 on create (PHP notices with a stock php.ini create
  the order anyway) or a timeout is followed by a lookup by client reference.
- Every call goes through a per-operation timeout, a per-PMS pace limit, and the circuit
  breaker shared by every process through Redis; reads retry with jittered backoff.
- Static content (room types, capacities) is cached; availability briefly, invalidated by our
  own writes. When the PMS is unreachable a recent availability answer is returned marked
  ``stale`` rather than nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import attrs
import httpx
import msgspec
import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from agente.breaker import Breaker, BreakerPolicy
from agente.domain import (
    Booking,
    BookingRequest,
    Hotel,
    NightlyRate,
    Occupancy,
    Offer,
    PartyGuest,
    Payment,
    PmsCapabilities,
    RoomType,
    Stay,
)
from agente.errors import (
    AuthFailed,
    NotAvailable,
    NotFound,
    Permanent,
    PmsError,
    RateLimited,
    Transient,
    Unsupported,
)
from agente.registry import Secret
from agente_pms_qloapps import wire

if TYPE_CHECKING:
    from agente.ports import Clock, Store

__all__ = ["QloAppsMetrics", "QloAppsPms", "QloAppsSettings"]

log = structlog.get_logger("agente.qloapps")
T = TypeVar("T")
_SOURCE = "agente:"


class QloAppsSettings(msgspec.Struct, frozen=True, kw_only=True, rename="upper"):
    """Variables ``AGENTE_QLOAPPS_*``. A hotel may override the URL, hotel id and key in its
    ``pms.options`` (``base_url``, ``hotel_id``, ``api_key`` naming a key of ``API_KEYS``)."""

    base_url: str | None = None
    """The shop's URL (the webservice is under ``/api``), e.g. ``https://hotel.example``."""
    api_key: Secret | None = None
    """The webservice key (32 characters), sent as HTTP Basic user name, never in URLs."""
    api_keys: Secret | None = None
    """More keys for several hotels: ``name=KEY,name2=KEY2``; a hotel picks one by name."""
    hotel_id: int | None = None
    """The QloApps hotel (``id_property``) when the hotel's options do not say."""
    read_timeout: Annotated[float, msgspec.Meta(gt=0)] = 5.0
    """Seconds a read (availability, a booking) may take."""
    write_timeout: Annotated[float, msgspec.Meta(gt=0)] = 20.0
    """Seconds a write may take (creating a booking takes ~0.35 s, up to 0.6 s, on a quiet
    server; after a timeout the booking is looked up, never re-sent blindly)."""
    read_retries: Annotated[int, msgspec.Meta(ge=0, le=5)] = 2
    """Retries of a failed read, with jittered exponential backoff. Writes are never retried."""
    requests_per_second: Annotated[int, msgspec.Meta(ge=1)] = 20
    """Outbound pace per QloApps server, shared by every process through the store."""
    static_cache_seconds: Annotated[float, msgspec.Meta(ge=0)] = 300.0
    """How long room types and capacities are reused."""
    availability_cache_seconds: Annotated[float, msgspec.Meta(ge=0)] = 20.0
    """How long an availability answer is reused (our own writes invalidate it at once)."""
    stale_seconds: Annotated[float, msgspec.Meta(ge=0)] = 900.0
    """How old an availability answer may be to be returned, marked stale, when the PMS is
    unreachable."""
    breaker_failure_rate: Annotated[float, msgspec.Meta(gt=0, le=1)] = 0.5
    """The circuit opens when this share of the calls in the window failed…"""
    breaker_minimum_calls: Annotated[int, msgspec.Meta(ge=1)] = 10
    """…and at least this many calls were made in it."""
    breaker_window_seconds: Annotated[int, msgspec.Meta(ge=1)] = 60
    """The window the failure rate is measured over."""
    breaker_open_seconds: Annotated[float, msgspec.Meta(gt=0)] = 30.0
    """How long the circuit stays open before one trial call is let through."""


@attrs.define
class QloAppsMetrics:
    latency: Histogram
    operations: Counter
    cache_hits: Counter
    cache_misses: Counter
    breaker_state: Gauge
    errors: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry | None) -> QloAppsMetrics:
        r = registry if registry is not None else CollectorRegistry()
        return cls(
            latency=Histogram("pms_api_latency_seconds", "PMS API call latency by operation.",
                              ["operation"], registry=r),
            operations=Counter("pms_operations_total", "PMS operations by outcome.",
                               ["operation", "status"], registry=r),
            cache_hits=Counter("pms_cache_hits_total", "PMS answers served from the cache.",
                               registry=r),
            cache_misses=Counter("pms_cache_misses_total", "PMS answers the cache did not have.",
                                 registry=r),
            breaker_state=Gauge("pms_circuit_breaker_state",
                                "PMS circuit breaker: 0 closed, 1 open, 2 half-open.",
                                ["name"], registry=r, multiprocess_mode="mostrecent"),
            errors=Counter("pms_errors_total", "PMS errors by operation and typed error.",
                           ["operation", "error_type"], registry=r),
        )  # fmt: skip


@attrs.frozen
class _Target:
    """Where one hotel's QloApps is, and as whom."""

    base_url: str
    key: str
    qlo_hotel: int
    room_codes: dict[int, str]  # QloApps room type id → our code

    def code(self, qlo_id: int) -> str:
        return self.room_codes.get(qlo_id, f"qlo-{qlo_id}")

    def qlo_id(self, code: str) -> int | None:
        for qid, c in self.room_codes.items():
            if c == code:
                return qid
        if code.startswith("qlo-") and code[4:].isdigit():
            return int(code[4:])
        return None


_ENCODER = msgspec.json.Encoder()


@attrs.define
class QloAppsPms:
    """The QloApps PMS plugin. One per process; HTTP clients open per server on first use."""

    settings: QloAppsSettings
    clock: Clock
    store: Store
    metrics: QloAppsMetrics
    redis: Any = None
    transport: httpx.AsyncBaseTransport | None = None
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    capabilities: PmsCapabilities = attrs.field(
        factory=lambda: PmsCapabilities(
            search_availability=True,
            create_booking=True,
            get_booking=True,
            find_booking_by_reference=True,
            modify_booking=True,
            cancel_booking=True,
            # QloApps records payments only when a booking is created; a deposit confirmed
            # later is recorded by staff in the back office (docs/qloapps.md)
            record_payment=False,
            get_room_types=True,
        )
    )
    _clients: dict[str, httpx.AsyncClient] = attrs.field(factory=dict, init=False)
    _breakers: dict[str, Breaker] = attrs.field(factory=dict, init=False)
    _rng: random.Random = attrs.field(factory=random.Random, init=False)

    # ------------------------------------------------------------------ targets and clients

    def _target(self, hotel: Hotel) -> _Target:
        options = hotel.pms.options
        base = options.get("base_url") or self.settings.base_url
        qlo_hotel = wire.as_int(options.get("hotel_id") or self.settings.hotel_id or 0)
        key = self._key(options.get("api_key"))
        if not base or not qlo_hotel or not key:
            raise Permanent(
                f"hotel {hotel.id!r}: QloApps needs a base URL, a hotel id and a key "
                "(AGENTE_QLOAPPS_BASE_URL, AGENTE_QLOAPPS_HOTEL_ID, AGENTE_QLOAPPS_API_KEY, "
                "or the hotel's pms.options)"
            )
        codes = {
            wire.as_int(v): k.removeprefix("room_type.")
            for k, v in options.items()
            if k.startswith("room_type.") and wire.as_int(v)
        }
        return _Target(base_url=base.rstrip("/"), key=key, qlo_hotel=qlo_hotel, room_codes=codes)

    def _key(self, name: str | None) -> str:
        if name and self.settings.api_keys is not None:
            for pair in self.settings.api_keys.reveal().split(","):
                k, _, v = pair.partition("=")
                if k.strip() == name:
                    return v.strip()
        return self.settings.api_key.reveal() if self.settings.api_key is not None else ""

    def _client(self, target: _Target) -> httpx.AsyncClient:
        client = self._clients.get(target.base_url + target.key[:4])
        if client is None:
            client = httpx.AsyncClient(
                base_url=target.base_url,
                auth=httpx.BasicAuth(target.key, ""),  # never ws_key= in a URL: URLs get logged
                headers={"Output-Format": "JSON", "User-Agent": "agente-qloapps/0.1"},
                transport=self.transport,
                limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
            )
            self._clients[target.base_url + target.key[:4]] = client
        return client

    def _breaker(self, target: _Target) -> Breaker:
        name = f"qloapps:{target.base_url}"
        breaker = self._breakers.get(name)
        if breaker is None:
            s = self.settings
            policy = BreakerPolicy(
                failure_rate=s.breaker_failure_rate,
                minimum_calls=s.breaker_minimum_calls,
                window_seconds=s.breaker_window_seconds,
                open_seconds=s.breaker_open_seconds,
            )
            breaker = Breaker(
                name=name, policy=policy, clock=self.clock, redis=self.redis,
                gauge=self.metrics.breaker_state,
            )  # fmt: skip
            self._breakers[name] = breaker
        return breaker

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()

    # ------------------------------------------------------------------ the call path

    async def _pace(self, target: _Target) -> None:
        for _ in range(3):
            now = self.clock.now().timestamp()
            key = f"agente:qloapps:pace:{target.base_url}:{int(now)}"
            if await self.store.incr(key, ttl=2.0) <= self.settings.requests_per_second:
                return
            await self.sleep(max(0.01, 1.0 - now % 1.0))
        raise RateLimited("QloApps pace limit reached", retry_after=1.0)

    async def _request(
        self,
        target: _Target,
        operation: str,
        method: str,
        path: str,
        *,
        write: bool = False,
        **kwargs: Any,
    ) -> httpx.Response:
        """One HTTP call with pace, breaker, timeout and metrics; typed errors out."""
        breaker = self._breaker(target)
        if not await breaker.allow():
            self.metrics.operations.labels(operation, "circuit_open").inc()
            raise Transient("the QloApps circuit is open: the PMS failed too often recently")
        timeout = self.settings.write_timeout if write else self.settings.read_timeout
        started = time.perf_counter()
        try:
            await self._pace(target)
            response = await self._client(target).request(
                method, f"/api/{path}", timeout=timeout, **kwargs
            )
        except httpx.TimeoutException as exc:
            await breaker.record(False)
            self.metrics.errors.labels(operation, "timeout").inc()
            raise Transient(f"QloApps {operation}: no answer within {timeout:g} s") from exc
        except httpx.HTTPError as exc:
            await breaker.record(False)
            self.metrics.errors.labels(operation, "connection").inc()
            raise Transient(f"QloApps {operation}: {type(exc).__name__}") from exc
        finally:
            self.metrics.latency.labels(operation).observe(time.perf_counter() - started)
        error = _error(response, operation)
        # a 500 made of PHP notices is QloApps answering (and acting): not an outage
        healthy = not isinstance(error, Transient | RateLimited) or isinstance(error, _Notices)
        await breaker.record(healthy)
        if error is not None:
            self.metrics.errors.labels(operation, type(error).__name__).inc()
            self.metrics.operations.labels(operation, "error").inc()
            raise error
        self.metrics.operations.labels(operation, "ok").inc()
        return response

    async def _read(self, target: _Target, operation: str, path: str, **kwargs: Any) -> Any:
        """A read, retried with jittered backoff when it failed transiently."""
        attempt = 0
        while True:
            try:
                response = await self._request(target, operation, "GET", path, **kwargs)
                return _json(response, operation)
            except (Transient, RateLimited) as exc:
                attempt += 1
                if attempt > self.settings.read_retries or "circuit is open" in str(exc):
                    raise
                delay = 0.2 * 2 ** (attempt - 1)
                await self.sleep(delay / 2 + self._rng.random() * delay / 2)

    # ------------------------------------------------------------------ caches

    async def _cached(self, key: str, ttl: float, load: Callable[[], Awaitable[bytes]]) -> bytes:
        if ttl > 0:
            hit = await self.store.get(key)
            if hit is not None:
                self.metrics.cache_hits.inc()
                return hit
        self.metrics.cache_misses.inc()
        value = await load()
        if ttl > 0:
            await self.store.set(key, value, ttl=ttl)
        return value

    def _currency_key(self, target: _Target) -> str:
        return f"agente:qloapps:currency:{target.base_url}:{target.qlo_hotel}"

    async def _currency(self, target: _Target, hotel: Hotel) -> str:
        """QloApps' own currency for the hotel (ARI says it), else the hotel's configuration:
        a booking in a currency the shop does not have is refused."""
        known = await self.store.get(self._currency_key(target))
        if known is None:
            try:
                stay = Stay(check_in=dt.date(2100, 1, 1), check_out=dt.date(2100, 1, 2))
                await self.search_availability(hotel, stay, Occupancy(adults=1))
            except PmsError:
                pass
            known = await self.store.get(self._currency_key(target))
        return known.decode() if known else hotel.currency

    async def _generation(self, target: _Target) -> int:
        raw = await self.store.get(f"agente:qloapps:gen:{target.base_url}:{target.qlo_hotel}")
        return int(raw or b"0")

    async def _invalidate(self, target: _Target) -> None:
        """Our own write changed availability: every cached answer for the hotel is dropped."""
        await self.store.incr(
            f"agente:qloapps:gen:{target.base_url}:{target.qlo_hotel}", ttl=86_400
        )

    async def _capacities(self, target: _Target) -> dict[int, wire.HotelRoomType]:
        async def load() -> bytes:
            data = await self._read(
                target,
                "room_types",
                "hotel_room_types",
                params={"display": "full", "filter[id_hotel]": str(target.qlo_hotel)},
            )
            return _ENCODER.encode(data)

        key = f"agente:qloapps:hrt:{target.base_url}:{target.qlo_hotel}"
        raw = await self._cached(key, self.settings.static_cache_seconds, load)
        doc = msgspec.json.decode(raw, type=wire.HotelRoomTypes)
        return {
            wire.as_int(t.id_product): t
            for t in doc.hotel_room_types
            if wire.as_int(t.id_hotel) == target.qlo_hotel
        }

    async def _auto_services(self, target: _Target) -> Decimal:
        """The nightly price of the services QloApps adds to every room in ARI quotes."""

        async def load() -> bytes:
            data = await self._read(
                target, "room_types", "services",
                params={"display": "[id,price,auto_add_to_cart,price_addition_type,active]"},
            )  # fmt: skip
            return _ENCODER.encode(data)

        key = f"agente:qloapps:services:{target.base_url}"
        raw = await self._cached(key, self.settings.static_cache_seconds, load)
        data = msgspec.json.decode(raw)
        rows = data.get("services") if isinstance(data, dict) else None
        total = Decimal(0)
        for r in rows if isinstance(rows, list) else []:
            if (
                isinstance(r, dict)
                and str(r.get("auto_add_to_cart")) == "1"
                and str(r.get("active")) == "1"
                and str(r.get("price_addition_type")) == "1"  # added to the room price
            ):
                total += wire.as_decimal(r.get("price"))
        return total

    # ------------------------------------------------------------------ the port

    async def search_availability(
        self, hotel: Hotel, stay: Stay, occupancy: Occupancy
    ) -> list[Offer]:
        if stay.nights < 1:
            raise Permanent("check-out must be after check-in")
        target = self._target(hotel)
        children = len(occupancy.children_ages)
        generation = await self._generation(target)
        key = (
            f"agente:qloapps:ari:{target.base_url}:{target.qlo_hotel}:{generation}:"
            f"{stay.check_in}:{stay.check_out}:{occupancy.adults}:{children}"
        )
        body = wire.ari_body(
            qlo_hotel=target.qlo_hotel, check_in=stay.check_in, check_out=stay.check_out,
            adults=occupancy.adults, children=children,
        )  # fmt: skip

        async def load() -> bytes:
            response = await self._request(
                target, "search_availability", "POST", "hotel_ari", content=body,
                headers={"Content-Type": "application/xml"},
            )  # fmt: skip
            return response.content

        stale = False
        try:
            raw = await self._cached(key, self.settings.availability_cache_seconds, load)
            await self.store.set(f"{key}:stale", raw, ttl=max(1.0, self.settings.stale_seconds))
        except (Transient, RateLimited):
            raw_stale = await self.store.get(f"{key}:stale")
            if raw_stale is None:
                raise
            raw, stale = raw_stale, True
            log.warning("qloapps_stale_availability", hotel=hotel.id)
        try:
            answer = msgspec.json.decode(raw, type=wire.AriAnswer).hotel_ari
        except msgspec.DecodeError as exc:
            raise Transient(f"QloApps availability: unreadable answer ({exc})") from exc
        if answer is not None and answer.currency:
            await self.store.set(self._currency_key(target), answer.currency.encode(), ttl=86_400)
        if answer is None or not answer.room_types:
            return []
        capacities = await self._capacities(target)
        extras = await self._auto_services(target)
        offers = []
        for rt in answer.room_types:
            qid = wire.as_int(rt.id_room_type)
            cap = capacities.get(qid)
            free = rt.available()
            if not free or not _fits(cap, free, occupancy):
                continue  # ARI does not filter by capacity: we do
            # ARI adds the auto-added services to every night; a booking made through the API
            # does not get them: quote what the booking will cost
            quoted = wire.as_decimal(rt.total_price)
            total = max(Decimal("0.01"), quoted - extras * stay.nights)
            ratio = wire.as_decimal(rt.total_price_with_tax) / quoted if quoted else Decimal(1)
            offers.append(
                Offer(
                    room_type=target.code(qid),
                    name=rt.name,
                    units_left=len(free),
                    nightly=_nightly(stay, total),
                    total=total,
                    total_with_tax=(total * ratio).quantize(Decimal("0.01")),
                    currency=answer.currency or hotel.currency,
                    max_guests=wire.as_int(cap.max_guests) if cap else occupancy.guests,
                    stale=stale,
                )
            )
        return sorted(offers, key=lambda o: (o.total, o.room_type))

    async def get_room_types(self, hotel: Hotel) -> list[RoomType]:
        target = self._target(hotel)
        capacities = await self._capacities(target)
        out = []
        for qid, cap in sorted(capacities.items()):
            code = target.code(qid)
            known = next((rt for rt in hotel.room_types if rt.code == code), None)
            out.append(
                RoomType(
                    code=code,
                    name=known.name if known else {hotel.default_language: code},
                    max_adults=wire.as_int(cap.max_adults),
                    max_children=wire.as_int(cap.max_children),
                    max_guests=wire.as_int(cap.max_guests),
                    units=cap.units(),
                )
            )
        return out

    async def get_booking(self, hotel: Hotel, booking_id: str) -> Booking:
        target = self._target(hotel)
        if not booking_id.isdigit():
            raise NotFound(f"no QloApps booking {booking_id!r}")
        order = await self._order(target, booking_id)
        try:
            data = await self._read(target, "get_booking", f"bookings/{booking_id}")
            booking = _document(data, wire.BookingDocument).booking
        except Transient as exc:
            if "HTTP 500" not in str(exc):
                raise
            # stock php.ini: GET /api/bookings/{id} always answers 500 (PHP notices); the
            # same facts are in the order, its room lines and its customer
            booking = await self._booking_from_order(target, booking_id, order)
        if booking is None:
            raise Transient("QloApps answered a booking read without a booking")
        return self._booking(target, booking, order, hotel)

    async def _booking_from_order(
        self, target: _Target, booking_id: str, order: wire.Order
    ) -> wire.Booking:
        lines = await self._read(
            target, "get_booking", "room_bookings",
            params={"display": "full", "filter[id_order]": booking_id},
        )  # fmt: skip
        rows = lines.get("bookings") if isinstance(lines, dict) else None
        rows = [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []
        if not rows:
            raise NotFound(f"no room lines for QloApps booking {booking_id}")
        customer_id = wire.as_int(rows[0].get("id_customer"))
        customer = await self._read(target, "get_booking", f"customers/{customer_id}")
        c = customer.get("customer", {}) if isinstance(customer, dict) else {}
        live = [r for r in rows if str(r.get("is_cancelled", "0")) == "0"] or rows
        first = live[0]
        total_excl = sum(wire.as_decimal(r.get("total_price_tax_excl")) for r in live)
        total_incl = sum(wire.as_decimal(r.get("total_price_tax_incl")) for r in live)
        return wire.Booking(
            id=booking_id,
            source=order.source,
            associations=wire.BookingAssociations(
                customer_detail=wire.CustomerDetail(
                    firstname=str(c.get("firstname") or ""), lastname=str(c.get("lastname") or ""),
                    email=str(c.get("email") or ""), phone=str(c.get("phone") or ""),
                ),
                price_details=wire.PriceDetails(
                    total_price_without_tax=str(total_excl), total_tax=str(total_incl - total_excl)
                ),
                room_types=[
                    wire.BookedRoomType(
                        id_room_type=first.get("id_product", 0),
                        checkin_date=str(first.get("date_from") or ""),
                        checkout_date=str(first.get("date_to") or ""),
                        number_of_rooms=len(live),
                        rooms=[
                            wire.BookedRoom(
                                id_room=r.get("id_room", 0), adults=r.get("adults", 0),
                                child=r.get("children", 0),
                                child_ages=_ages(r.get("child_ages")),
                            )
                            for r in live
                        ],
                    )
                ],
            ),
        )  # fmt: skip

    async def _order(self, target: _Target, booking_id: str) -> wire.Order:
        data = await self._read(target, "get_booking", f"orders/{booking_id}")
        order = _document(data, wire.OrderDocument).order
        return order or wire.Order()

    async def find_booking_by_reference(
        self, hotel: Hotel, client_reference: str
    ) -> Booking | None:
        target = self._target(hotel)
        data = await self._read(
            target,
            "find_booking",
            "orders",
            params={
                "display": "[id,source,current_state]",
                "filter[source]": f"[{_SOURCE}{client_reference}]",
            },
        )
        # an empty result is a bare [] rather than {"orders": []}
        orders = msgspec.convert(data, wire.OrderList, strict=False).orders if data else []
        for order in orders if isinstance(orders, list) else []:
            if order.source == f"{_SOURCE}{client_reference}":
                return await self.get_booking(hotel, str(wire.as_int(order.id)))
        return None

    async def create_booking(self, hotel: Hotel, request: BookingRequest) -> Booking:
        target = self._target(hotel)
        existing = await self.find_booking_by_reference(hotel, request.client_reference)
        if existing is not None:
            return existing  # the same request again: idempotent on our reference
        qid = target.qlo_id(request.room_type)
        if qid is None:
            raise Permanent(f"room type {request.room_type!r} has no QloApps id (pms.options)")
        body = {"booking": {
            "id_property": target.qlo_hotel,
            "currency": await self._currency(target, hotel),
            "booking_status": 1,
            "payment_status": 3,
            "source": f"{_SOURCE}{request.client_reference}",
            "remark": request.notes or f"Agente {request.client_reference}",
            "associations": {
                "customer_detail": _customer(request.guest),
                "room_types": [_room_line(qid, request.stay, request.occupancy, request.rooms)],
            },
        }}  # fmt: skip
        try:
            response = await self._request(
                target, "create_booking", "POST", "bookings", write=True,
                content=_ENCODER.encode(body), headers={"Content-Type": "application/json"},
            )  # fmt: skip
            data = _json(response, "create_booking")
        except Transient:
            # a 500 or a timeout may still have created the order (PHP notices with a stock
            # php.ini do exactly that): look before anyone retries
            found = await self.find_booking_by_reference(hotel, request.client_reference)
            if found is not None:
                log.warning("qloapps_create_recovered", hotel=hotel.id)
                await self._invalidate(target)
                return found
            raise
        await self._invalidate(target)
        doc = _document(data, wire.BookingDocument)
        if doc.booking is None:
            raise Transient("QloApps created a booking but answered without it")
        order = await self._order(target, str(wire.as_int(doc.booking.id)))
        return self._booking(target, doc.booking, order, hotel)

    async def _put(self, target: _Target, booking_id: str, body: dict[str, Any], op: str) -> Any:
        response = await self._request(
            target, op, "PUT", f"bookings/{booking_id}", write=True,
            content=_ENCODER.encode(body), headers={"Content-Type": "application/json"},
        )  # fmt: skip
        await self._invalidate(target)
        return _json(response, op)

    async def modify_booking(
        self, hotel: Hotel, booking_id: str, stay: Stay, occupancy: Occupancy
    ) -> Booking:
        current = await self.get_booking(hotel, booking_id)
        target = self._target(hotel)
        qid = target.qlo_id(current.room_type)
        if qid is None:
            raise Permanent(f"room type {current.room_type!r} has no QloApps id")
        body = {"booking": {
            "id": int(booking_id),
            "id_property": target.qlo_hotel,
            "currency": current.currency,
            "booking_status": 1,
            "payment_status": _payment_status(current),
            "associations": {
                "customer_detail": _customer(current.guest),
                "room_types": [_room_line(qid, stay, occupancy, current.rooms)],
            },
        }}  # fmt: skip
        await self._put(target, booking_id, body, "modify_booking")
        return await self.get_booking(hotel, booking_id)

    async def cancel_booking(self, hotel: Hotel, booking_id: str) -> Booking:
        current = await self.get_booking(hotel, booking_id)
        if current.status == "cancelled":
            return current  # cancelling twice is not an error (and a PUT could reopen it)
        target = self._target(hotel)
        qid = target.qlo_id(current.room_type) or 0
        body = {"booking": {
            "id": int(booking_id),
            "id_property": target.qlo_hotel,
            "currency": current.currency,
            "booking_status": 3,
            "payment_status": _payment_status(current),
            "remark": "Cancelled through Agente",
            "associations": {
                "customer_detail": _customer(current.guest),
                "room_types": [_room_line(qid, current.stay, current.occupancy, current.rooms)],
            },
        }}  # fmt: skip
        await self._put(target, booking_id, body, "cancel_booking")
        return await self.get_booking(hotel, booking_id)

    async def record_payment(self, hotel: Hotel, booking_id: str, payment: Payment) -> Booking:
        raise Unsupported("QloApps records payments in its back office, not through the API")

    async def ping(self, hotel: Hotel | None = None) -> None:
        if hotel is None:
            return
        target = self._target(hotel)
        await self._request(target, "ping", "GET", f"hotels/{target.qlo_hotel}")

    # ------------------------------------------------------------------ translation

    def _booking(
        self, target: _Target, b: wire.Booking, order: wire.Order, hotel: Hotel
    ) -> Booking:
        lines = b.associations.room_types
        if not lines:
            raise Transient("QloApps booking without room lines")
        line = lines[0]
        rooms = line.rooms or [wire.BookedRoom()]
        check_in = wire.as_date(line.checkin_date)
        check_out = wire.as_date(line.checkout_date)
        if check_in is None or check_out is None:
            raise Transient("QloApps booking without readable dates")
        adults = sum(wire.as_int(r.adults) for r in rooms) or 1
        ages = [wire.as_int(a) for r in rooms for a in r.child_ages]
        children = sum(wire.as_int(r.child) for r in rooms)
        ages += [8] * max(0, children - len(ages))
        prices = b.associations.price_details or wire.PriceDetails()
        total = wire.as_decimal(prices.total_price_without_tax) + wire.as_decimal(prices.total_tax)
        state = wire.as_int(order.current_state)
        status = (
            "cancelled" if state in wire.CANCELLED_STATES
            else "confirmed" if state in wire.PAID_STATES | wire.PARTIAL_STATES
            else "pending"
        )  # fmt: skip
        paid = wire.as_decimal(order.total_paid_real or prices.total_paid)
        payment_status = "paid" if paid >= total > 0 else "partial" if paid > 0 else "unpaid"
        customer = b.associations.customer_detail or wire.CustomerDetail()
        source = b.source or order.source or ""
        return Booking(
            booking_id=str(wire.as_int(b.id)),
            client_reference=source.removeprefix(_SOURCE) if source.startswith(_SOURCE) else "",
            status=status,  # type: ignore[arg-type]
            payment_status=payment_status,  # type: ignore[arg-type]
            room_type=target.code(wire.as_int(line.id_room_type)),
            stay=Stay(check_in=check_in, check_out=check_out),
            occupancy=Occupancy(adults=adults, children_ages=ages),
            rooms=max(1, wire.as_int(line.number_of_rooms)),
            guest=PartyGuest(
                name=f"{customer.firstname} {customer.lastname}".strip(),
                email=customer.email or None,
                phone=customer.phone or None,
            ),
            total=total,
            paid=paid,
            currency=b.currency or hotel.currency,
        )


# ------------------------------------------------------------------------------ helpers


def _fits(cap: wire.HotelRoomType | None, free: list[dict[str, Any]], party: Occupancy) -> bool:
    children = len(party.children_ages)
    if cap is not None:
        return (
            party.adults <= wire.as_int(cap.max_adults)
            and children <= wire.as_int(cap.max_children)
            and party.guests <= wire.as_int(cap.max_guests)
        )
    room = free[0]
    return party.adults <= wire.as_int(room.get("max_adult"), 99) and party.guests <= wire.as_int(
        room.get("max_occupancy"), 99
    )


def _nightly(stay: Stay, total: Decimal) -> list[NightlyRate]:
    """ARI gives the stay total; nights share it evenly, the last one taking the cents."""
    nights = stay.dates()
    each = (total / len(nights)).quantize(Decimal("0.01"))
    rates = [NightlyRate(date=d, amount=each) for d in nights[:-1]]
    rates.append(NightlyRate(date=nights[-1], amount=total - each * (len(nights) - 1)))
    return rates


def _customer(guest: PartyGuest) -> dict[str, str]:
    first, _, last = guest.name.strip().partition(" ")
    phone = "".join(ch for ch in guest.phone or "" if ch.isdigit())
    return {
        "firstname": first or "Guest",
        "lastname": last or first or "Guest",
        "email": guest.email or "",
        # QloApps requires a phone (PS_ONE_PHONE_AT_LEAST); a web chat guest may not give one
        "phone": phone or "0000000000",
    }


def _room_line(qid: int, stay: Stay, occupancy: Occupancy, rooms: int) -> dict[str, Any]:
    per_room = [
        {"adult": occupancy.adults, "child": len(occupancy.children_ages),
         "child_ages": list(occupancy.children_ages)}
    ] + [{"adult": 1, "child": 0} for _ in range(max(0, rooms - 1))]  # fmt: skip
    return {
        "id_room_type": qid,
        "checkin_date": stay.check_in.isoformat(),
        "checkout_date": stay.check_out.isoformat(),
        "number_of_rooms": max(1, rooms),
        "rooms": per_room,  # "adult", singular: the schema says adults, the code reads adult
    }


def _ages(raw: Any) -> list[Any]:
    """room_bookings keeps the ages as a JSON text ("[8]")."""
    if isinstance(raw, list):
        return raw
    try:
        value = msgspec.json.decode(str(raw or "[]"))
    except msgspec.DecodeError:
        return []
    return value if isinstance(value, list) else []


def _payment_status(b: Booking) -> int:
    return {"paid": 1, "partial": 2}.get(b.payment_status, 3)


def _document(data: Any, type_: type[T]) -> T:
    """A QloApps document, or a typed failure when the shape is not one (never a crash)."""
    try:
        return msgspec.convert(data if isinstance(data, dict) else {}, type_, strict=False)
    except msgspec.ValidationError as exc:
        raise Transient(f"QloApps answered an unexpected document: {exc}") from exc


def _json(response: httpx.Response, operation: str) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise Transient(f"QloApps {operation}: the answer is not JSON") from exc


_NOT_AVAILABLE = ("not available", "already booked")


class _Notices(Transient):
    """HTTP 500 made of PHP notices (a stock php.ini): QloApps did answer, and may have acted
    (a booking created): the caller looks before anything is sent again."""


def _error(response: httpx.Response, operation: str) -> PmsError | None:
    """QloApps' answers as typed errors (NOTES.md, "Errors and status codes")."""
    status = response.status_code
    ctype = response.headers.get("content-type", "")
    if status < 300:
        if "json" not in ctype and "xml" not in ctype:
            # a PHP die(): "Invalid new order status" with 200 text/html; nothing was created
            text = response.text.strip()[:200]
            return Permanent(f"QloApps {operation}: {text or 'an empty answer'}")
        return None
    try:
        errors = msgspec.json.decode(response.content, type=wire.ErrorDocument).errors
    except (msgspec.DecodeError, msgspec.ValidationError):
        errors = []
    message = "; ".join(e.message for e in errors)[:500] or response.text.strip()[:200]
    if status == 401:
        return AuthFailed(f"QloApps refused the key: {message or 'Unauthorized'}")
    if status == 404:
        return NotFound(f"QloApps {operation}: not found")
    if status == 429:
        return RateLimited(f"QloApps {operation}: too many requests", retry_after=5.0)
    if status >= 500:
        if "PHP Notice" in message or "PHP Warning" in message:
            return _Notices(f"QloApps {operation}: HTTP {status}: {message}")
        return Transient(f"QloApps {operation}: HTTP {status}: {message}")
    lowered = message.lower()
    if any(t in lowered for t in _NOT_AVAILABLE):
        return NotAvailable(f"QloApps {operation}: {message}")
    if "not found" in lowered:
        return NotFound(f"QloApps {operation}: {message}")
    return Permanent(f"QloApps {operation}: HTTP {status}: {message}")
