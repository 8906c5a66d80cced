"""Business hours: concrete schedules, DST days, and properties over arbitrary ones."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from agente.domain import BusinessHours
from agente.pipeline.hours import is_open, next_opening

BA = "America/Argentina/Buenos_Aires"
MADRID = "Europe/Madrid"
SAO_PAULO = "America/Sao_Paulo"

# The demo hotel's schedule: weekdays 8-22, weekends 9-21.
DEMO = [
    BusinessHours(days=[1, 2, 3, 4, 5], open="08:00", close="22:00"),
    BusinessHours(days=[6, 7], open="09:00", close="21:00"),
]
# Friday and Saturday nights only.
NIGHTS = [BusinessHours(days=[5, 6], open="22:00", close="06:00")]


def at(zone: str, *args: int, fold: int = 0) -> dt.datetime:
    return dt.datetime(*args, tzinfo=ZoneInfo(zone), fold=fold)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def instant(value: dt.datetime | None) -> dt.datetime:
    """``value`` in UTC, for comparing instants.

    Python compares two datetimes of one zone by their wall clocks, ignoring ``fold``, and holds
    a datetime at an ambiguous wall time unequal to every datetime of another zone (PEP 495); the
    same goes for arithmetic, which is wall-clock within a zone. So DST tests compare and add in
    UTC.
    """
    assert value is not None
    return value.astimezone(dt.UTC)


# 2026-11-23 is a Monday; Buenos Aires is UTC-3 all year.
MON, FRI, SAT, SUN = 23, 27, 28, 29


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (at(BA, 2026, 11, MON, 10, 0), True),
        (at(BA, 2026, 11, MON, 8, 0), True),  # opening minute included
        (at(BA, 2026, 11, MON, 7, 59, 59), False),
        (at(BA, 2026, 11, MON, 21, 59, 59), True),
        (at(BA, 2026, 11, MON, 22, 0), False),  # closing minute excluded
        (at(BA, 2026, 11, SAT, 8, 30), False),
        (at(BA, 2026, 11, SAT, 9, 0), True),
        (at(BA, 2026, 11, SUN, 21, 0), False),
        (utc(2026, 11, MON, 11, 0), True),  # 08:00 in Buenos Aires, given in UTC
        (utc(2026, 11, MON, 10, 59), False),
        (dt.datetime(2026, 11, MON, 12, 0, tzinfo=ZoneInfo("Asia/Tokyo")), False),  # 00:00 BA
    ],
)
def test_demo_schedule_is_open(when: dt.datetime, expected: bool) -> None:
    assert is_open(DEMO, BA, when) is expected


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (at(BA, 2026, 11, MON, 7, 0), at(BA, 2026, 11, MON, 8, 0)),
        (at(BA, 2026, 11, MON, 22, 0), at(BA, 2026, 11, MON + 1, 8, 0)),
        (at(BA, 2026, 11, FRI, 22, 30), at(BA, 2026, 11, SAT, 9, 0)),
        (at(BA, 2026, 11, SUN, 23, 0), at(BA, 2026, 11, MON + 7, 8, 0)),
        (at(BA, 2026, 11, MON, 12, 0), at(BA, 2026, 11, MON, 12, 0)),  # open: now
    ],
)
def test_demo_schedule_next_opening(when: dt.datetime, expected: dt.datetime) -> None:
    result = next_opening(DEMO, BA, when)
    assert result == expected
    assert result is not None
    assert result.tzinfo == ZoneInfo(BA)


def test_next_opening_is_in_the_hotels_zone_whatever_the_zone_of_now() -> None:
    result = next_opening(DEMO, BA, utc(2026, 11, MON, 9, 0))  # 06:00 in Buenos Aires
    assert result is not None
    assert result.tzinfo == ZoneInfo(BA)
    assert (result.hour, result.minute) == (8, 0)
    assert result == utc(2026, 11, MON, 11, 0)


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (at(BA, 2026, 11, FRI, 21, 59), False),
        (at(BA, 2026, 11, FRI, 22, 0), True),
        (at(BA, 2026, 11, SAT, 3, 0), True),  # Friday night, after midnight
        (at(BA, 2026, 11, SAT, 6, 0), False),
        (at(BA, 2026, 11, SAT, 23, 0), True),
        (at(BA, 2026, 11, SUN, 5, 59), True),  # Saturday night runs into Sunday
        (at(BA, 2026, 11, SUN, 23, 0), False),  # Sunday is not listed
        (at(BA, 2026, 11, FRI - 1, 23, 0), False),  # nor Thursday
        (at(BA, 2026, 11, FRI, 3, 0), False),  # Thursday night is not open
    ],
)
def test_overnight_range(when: dt.datetime, expected: bool) -> None:
    assert is_open(NIGHTS, BA, when) is expected


def test_overnight_next_opening_skips_to_friday_night() -> None:
    assert next_opening(NIGHTS, BA, at(BA, 2026, 11, SUN, 6, 0)) == at(BA, 2026, 12, 4, 22, 0)


def test_overnight_into_saturday_after_the_last_sunday_of_the_year() -> None:
    # Friday 2027-12-31 22:00 runs into Saturday 2028-01-01 across the year boundary.
    assert is_open(NIGHTS, BA, at(BA, 2028, 1, 1, 2, 0)) is True


def test_close_at_midnight_means_until_midnight() -> None:
    hours = [BusinessHours(days=[1], open="18:00", close="00:00")]
    assert is_open(hours, BA, at(BA, 2026, 11, MON, 23, 59)) is True
    assert is_open(hours, BA, at(BA, 2026, 11, MON + 1, 0, 0)) is False
    assert is_open(hours, BA, at(BA, 2026, 11, MON, 17, 59)) is False


@pytest.mark.parametrize(
    "hours",
    [
        [BusinessHours(days=[1], open="00:00", close="24:00")],
        [BusinessHours(days=[1], open="00:00", close="00:00")],
        [BusinessHours(days=[1], open="09:30", close="09:30")],
    ],
)
def test_all_day_ranges(hours: list[BusinessHours]) -> None:
    assert is_open(hours, BA, at(BA, 2026, 11, MON, 0, 0)) is True
    assert is_open(hours, BA, at(BA, 2026, 11, MON, 9, 0)) is True
    assert is_open(hours, BA, at(BA, 2026, 11, MON, 23, 59, 59)) is True
    assert is_open(hours, BA, at(BA, 2026, 11, MON + 1, 0, 0)) is False
    assert is_open(hours, BA, at(BA, 2026, 11, SUN, 23, 59)) is False
    assert next_opening(hours, BA, at(BA, 2026, 11, MON + 1, 0, 0)) == at(BA, 2026, 11, 30, 0, 0)


def test_every_day_all_day_is_always_open() -> None:
    hours = [BusinessHours(days=[1, 2, 3, 4, 5, 6, 7], open="00:00", close="24:00")]
    now = at(BA, 2026, 11, SUN, 23, 59, 59)
    assert is_open(hours, BA, now) is True
    assert next_opening(hours, BA, now) == now


def test_no_hours_configured_means_always_open() -> None:
    now = utc(2026, 11, MON, 3, 0)
    assert is_open([], BA, now) is True
    assert next_opening([], BA, now) == now


@pytest.mark.parametrize(
    "bad",
    [
        BusinessHours(days=[1], open="8:00", close="22:00"),
        BusinessHours(days=[1], open="08:00", close="25:00"),
        BusinessHours(days=[1], open="24:00", close="08:00"),  # 24:00 only closes
        BusinessHours(days=[1], open="08:60", close="09:00"),
        BusinessHours(days=[1], open="08:00\n", close="09:00"),
        BusinessHours(days=[1], open="\uff10\uff18:00", close="09:00"),  # fullwidth digits
        BusinessHours(days=[1], open="", close=""),
        BusinessHours(days=[0, 8, -1], open="08:00", close="22:00"),  # ISO weekdays are 1-7
        BusinessHours(days=[], open="08:00", close="22:00"),
        BusinessHours(days=[True], open="08:00", close="22:00"),  # bool is not a weekday
        BusinessHours(days=None, open="08:00", close="22:00"),
        BusinessHours(days=[1], open=None, close=8),
    ],
)
def test_unparsable_ranges_are_closed_and_never_raise(bad: BusinessHours) -> None:
    monday_noon = at(BA, 2026, 11, MON, 12, 0)
    assert is_open([bad], BA, monday_noon) is False
    assert next_opening([bad], BA, monday_noon) is None
    # next to a good range, only the good one counts
    assert is_open([bad, *DEMO], BA, monday_noon) is True
    assert next_opening([bad, *DEMO], BA, at(BA, 2026, 11, MON, 7, 0)) == at(
        BA, 2026, 11, MON, 8, 0
    )


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        is_open(DEMO, BA, dt.datetime(2026, 11, MON, 12, 0))
    with pytest.raises(ValueError, match="timezone-aware"):
        next_opening(DEMO, BA, dt.datetime(2026, 11, MON, 12, 0))


# --------------------------------------------------------------------------- DST


def test_madrid_opening_hours_follow_the_wall_clock_across_dst() -> None:
    hours = [BusinessHours(days=[7], open="09:00", close="10:00")]
    # 2024-03-31: clocks go from 02:00 CET to 03:00 CEST. 09:00 CEST is 07:00 UTC.
    assert is_open(hours, MADRID, utc(2024, 3, 31, 7, 0)) is True
    assert is_open(hours, MADRID, utc(2024, 3, 31, 8, 0)) is False
    assert next_opening(hours, MADRID, utc(2024, 3, 31, 0, 0)) == utc(2024, 3, 31, 7, 0)
    # A week earlier, still winter time: 09:00 CET is 08:00 UTC.
    assert next_opening(hours, MADRID, utc(2024, 3, 24, 0, 0)) == utc(2024, 3, 24, 8, 0)


def test_madrid_opening_time_inside_the_spring_forward_gap_opens_at_the_jump() -> None:
    # 02:30 does not exist on 2024-03-31 in Madrid; the clocks jump from 02:00 to 03:00.
    hours = [BusinessHours(days=[7], open="02:30", close="04:00")]
    before = utc(2024, 3, 31, 0, 30)  # 01:30 CET
    assert is_open(hours, MADRID, before) is False
    result = next_opening(hours, MADRID, before)
    assert instant(result) == utc(2024, 3, 31, 1, 0)  # the jump, shown as 03:00 CEST
    assert result is not None
    assert (result.hour, result.minute) == (3, 0)
    assert is_open(hours, MADRID, result) is True
    assert is_open(hours, MADRID, instant(result) - dt.timedelta(seconds=1)) is False


def test_madrid_range_eaten_by_the_gap_opens_the_next_week() -> None:
    hours = [BusinessHours(days=[7], open="02:10", close="02:50")]
    result = next_opening(hours, MADRID, utc(2024, 3, 31, 0, 0))
    assert result == at(MADRID, 2024, 4, 7, 2, 10)


def test_madrid_fall_back_repeats_the_wall_clock_hour() -> None:
    # 2024-10-27: 03:00 CEST becomes 02:00 CET, so 02:00-03:00 happens twice.
    hours = [BusinessHours(days=[7], open="02:00", close="02:30")]
    assert is_open(hours, MADRID, utc(2024, 10, 27, 0, 15)) is True  # 02:15 CEST
    assert is_open(hours, MADRID, utc(2024, 10, 27, 0, 45)) is False  # 02:45 CEST
    assert is_open(hours, MADRID, utc(2024, 10, 27, 1, 15)) is True  # 02:15 CET
    result = next_opening(hours, MADRID, utc(2024, 10, 27, 0, 45))
    assert instant(result) == utc(2024, 10, 27, 1, 0)
    assert result is not None
    assert (result.hour, result.minute, result.fold) == (2, 0, 1)  # the second 02:00


def test_madrid_fall_back_jump_back_into_a_range_reopens() -> None:
    # Open 01:30-02:10. At 03:00 CEST the clocks go back to 02:00 CET, inside the range: the
    # hotel reopens at the jump itself, which is not a listed opening time.
    hours = [BusinessHours(days=[7], open="01:30", close="02:10")]
    now = utc(2024, 10, 27, 0, 30)  # 02:30 CEST: closed, the wall clock is past 02:10
    assert is_open(hours, MADRID, now) is False
    assert instant(next_opening(hours, MADRID, now)) == utc(2024, 10, 27, 1, 0)  # 02:00 CET
    assert is_open(hours, MADRID, utc(2024, 10, 27, 1, 10)) is False  # 02:10 CET


def test_sao_paulo_historical_dst_started_at_midnight() -> None:
    # 2018-11-04: midnight did not exist in São Paulo; clocks went from 23:59:59 to 01:00.
    hours = [BusinessHours(days=[7], open="00:00", close="24:00")]
    saturday_night = at(SAO_PAULO, 2018, 11, 3, 23, 0)
    assert is_open(hours, SAO_PAULO, saturday_night) is False
    result = next_opening(hours, SAO_PAULO, saturday_night)
    assert instant(result) == utc(2018, 11, 4, 3, 0)
    assert instant(result) == instant(at(SAO_PAULO, 2018, 11, 4, 1, 0))
    assert is_open(hours, SAO_PAULO, result) is True


def test_sao_paulo_overnight_across_the_end_of_dst() -> None:
    # 2019-02-17: at 00:00 -02 the clocks went back to 23:00 -03 on Saturday the 16th.
    hours = [BusinessHours(days=[6], open="22:00", close="02:00")]
    assert is_open(hours, SAO_PAULO, utc(2019, 2, 17, 1, 30)) is True  # 23:30 -02
    assert is_open(hours, SAO_PAULO, utc(2019, 2, 17, 2, 30)) is True  # 23:30 -03
    assert is_open(hours, SAO_PAULO, utc(2019, 2, 17, 4, 59)) is True  # 01:59 -03
    assert is_open(hours, SAO_PAULO, utc(2019, 2, 17, 5, 0)) is False  # 02:00 -03


# --------------------------------------------------------------------------- properties

ZONES = [
    BA,
    MADRID,
    SAO_PAULO,
    "UTC",
    "America/New_York",
    "America/St_Johns",
    "Australia/Lord_Howe",  # 30-minute DST
    "Pacific/Chatham",
    "Pacific/Apia",  # skipped 2011-12-30 entirely
    "Asia/Kathmandu",
    "Europe/Dublin",  # negative DST in tzdata
]

_hhmm = st.builds(
    lambda h, m: f"{h:02d}:{m:02d}",
    st.integers(min_value=0, max_value=23),
    st.integers(min_value=0, max_value=59),
)
_near_transition_time = st.sampled_from(
    ["00:00", "00:30", "01:00", "01:30", "02:00", "02:30", "03:00", "23:00", "23:30"]
)
_time = st.one_of(_hhmm, _near_transition_time)
_close = st.one_of(_time, st.just("24:00"))
_days = st.lists(st.integers(min_value=1, max_value=7), max_size=7, unique=True)

valid_hours = st.lists(st.builds(BusinessHours, days=_days, open=_time, close=_close), max_size=4)
_junk: Any = st.one_of(
    st.text(max_size=6), st.none(), st.integers(), st.sampled_from(["24:00", "8:00", "12:60"])
)
any_hours = st.lists(
    st.builds(
        BusinessHours,
        days=st.one_of(
            _days,
            st.lists(st.one_of(st.integers(-3, 10), st.booleans(), st.text(max_size=2))),
            st.none(),
        ),
        open=st.one_of(_time, _junk),
        close=st.one_of(_close, _junk),
    ),
    max_size=4,
)
zones = st.one_of(st.sampled_from(ZONES), st.timezone_keys())
# Built once: each call of ``st.timezones()`` lists the zones on disk when first drawn from.
any_tzinfo = st.timezones()
any_datetime = st.datetimes(
    min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=any_tzinfo
)


@functools.cache
def _offset_changes(zone: str, year: int) -> tuple[dt.datetime, ...]:
    """Instants in ``year`` within six hours after the zone's UTC offset changed."""
    tz = ZoneInfo(zone)
    start = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
    samples = [start + dt.timedelta(hours=h) for h in range(0, 366 * 24, 6)]
    offsets = [s.astimezone(tz).utcoffset() for s in samples]
    return tuple(
        b
        for a, b, oa, ob in zip(samples, samples[1:], offsets, offsets[1:], strict=False)
        if oa != ob
    )


@st.composite
def instants(draw: st.DrawFn, zone: str) -> dt.datetime:
    """Aware datetimes in 2000-2100 in arbitrary zones, often within hours of a DST change."""
    if draw(st.booleans()):
        year = draw(st.integers(min_value=2000, max_value=2099))
        changes = _offset_changes(zone, year)
        if changes:
            base = draw(st.sampled_from(changes))
            minutes = draw(st.integers(min_value=-26 * 60, max_value=26 * 60))
            seconds = draw(st.sampled_from([0, 0, 0, 1, 59]))
            moment = base + dt.timedelta(minutes=minutes, seconds=-seconds)
            return moment.astimezone(draw(any_tzinfo))
    return draw(any_datetime)


@st.composite
def cases(draw: st.DrawFn, hours: Any) -> tuple[list[BusinessHours], str, dt.datetime]:
    zone = draw(zones)
    return draw(hours), zone, draw(instants(zone))


@given(case=cases(any_hours))
def test_never_raises_on_any_hours(case: tuple[list[BusinessHours], str, dt.datetime]) -> None:
    hours, zone, now = case
    opened = is_open(hours, zone, now)
    result = next_opening(hours, zone, now)
    assert isinstance(opened, bool)
    assert result is None or result.tzinfo == ZoneInfo(zone)


@given(case=cases(any_hours), fraction=st.floats(min_value=0, max_value=1, exclude_max=True))
def test_next_opening_is_the_first_open_instant_not_before_now(
    case: tuple[list[BusinessHours], str, dt.datetime], fraction: float
) -> None:
    hours, zone, now = case
    result = next_opening(hours, zone, now)
    if is_open(hours, zone, now):
        assert instant(result) == instant(now)
        return
    if result is None:
        return
    start, end = instant(now), instant(result)
    assert end > start
    assert is_open(hours, zone, result)
    assert is_open(hours, zone, end)
    # and closed everywhere in between: no earlier opening was skipped
    between = start + (end - start) * fraction
    assume(between < end)
    assert not is_open(hours, zone, between)
    assert not is_open(hours, zone, end - dt.timedelta(microseconds=1))


@given(case=cases(valid_hours))
def test_a_schedule_with_a_listed_day_opens_within_two_weeks(
    case: tuple[list[BusinessHours], str, dt.datetime],
) -> None:
    hours, zone, now = case
    result = next_opening(hours, zone, now)
    if any(h.days for h in hours) or not hours:
        assert instant(now) <= instant(result) <= instant(now) + dt.timedelta(days=15)
    else:
        assert result is None
        assert not is_open(hours, zone, now)


@given(case=cases(any_hours), other=any_tzinfo)
def test_the_answer_depends_on_the_instant_not_on_the_zone_of_now(
    case: tuple[list[BusinessHours], str, dt.datetime], other: dt.tzinfo
) -> None:
    hours, zone, now = case
    moved = now.astimezone(other)
    assert is_open(hours, zone, now) == is_open(hours, zone, moved)
    first, second = next_opening(hours, zone, now), next_opening(hours, zone, moved)
    assert (first is None) == (second is None)
    if first is not None:
        assert instant(first) == instant(second)
