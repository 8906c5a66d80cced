"""The mock PMS, loaded through the registry, keeps its bookings in Agente's database."""

from __future__ import annotations

import datetime as dt
from typing import Any

from agente.adapters.sql import Database, SqlPluginState
from agente.domain import BookingRequest, Occupancy, PartyGuest, Stay
from agente.hotels import load_hotels_file
from agente.registry import PMS, PluginContext, load_enabled
from agente.settings import load_settings
from agente.testing import FrozenClock


def _build(db: Database, clock: FrozenClock) -> Any:
    env = {"AGENTE_DATABASE_URL": db.url}
    loaded = load_enabled(PMS, ["mock"], env)["mock"]
    ctx = PluginContext(
        settings=load_settings(env),
        clock=clock,
        store=None,  # type: ignore[arg-type]
        state=SqlPluginState(db, clock),
    )
    return loaded.spec.build(loaded.settings, ctx)


async def test_bookings_survive_a_restart(db_url: str, clock: FrozenClock) -> None:
    hotel = load_hotels_file(None)[0]
    stay = Stay(check_in=dt.date(2027, 3, 12), check_out=dt.date(2027, 3, 14))
    party = Occupancy(adults=2)
    db = Database.connect(db_url)
    pms = _build(db, clock)
    before = {o.room_type: o.units_left for o in await pms.search_availability(hotel, stay, party)}
    booking = await pms.create_booking(
        hotel,
        BookingRequest(
            client_reference="AG-TEST-1",
            room_type="suite",
            stay=stay,
            occupancy=party,
            guest=PartyGuest(name="Ana Pérez", email="ana@example.com"),
        ),
    )
    await db.close()

    db = Database.connect(db_url)  # a new process, as far as the plugin can tell
    pms = _build(db, clock)
    assert (await pms.find_booking_by_reference(hotel, "AG-TEST-1")) == booking
    after = {o.room_type: o.units_left for o in await pms.search_availability(hotel, stay, party)}
    assert before["suite"] == 1 and "suite" not in after, "the only suite is taken"
    assert after["double"] == before["double"]
    await pms.cancel_booking(hotel, booking.booking_id)
    again = {o.room_type: o.units_left for o in await pms.search_availability(hotel, stay, party)}
    assert again == before
    await db.close()
