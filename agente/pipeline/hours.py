"""Business hours: are staff attending now, and when do they next start?

Pure: no clock (``now`` is an argument), no I/O, no logging. The rules, which the tests pin down:

* A ``BusinessHours`` range is read on the **hotel's wall clock** (its IANA ``timezone``), so
  "08:00" means eight on the clocks in the lobby, summer or winter. ``days`` are ISO weekdays
  (1 = Monday … 7 = Sunday), as ``agente.domain.BusinessHours`` documents; each listed day opens
  a range ``[open, close)``: open at ``open``, closed again at ``close``.
* ``close`` earlier than ``open`` runs **overnight**: "22:00" to "06:00" on day 5 is open from
  Friday 22:00 until Saturday 06:00. ``close == "00:00"`` is the same thing: until midnight.
* "00:00" to "24:00", and any range whose ``open`` equals its ``close``, is the **whole listed day**.
  ("24:00" is accepted for ``close`` only.)
* An **empty list means always open**: a hotel that configured no hours has staff on hand.
* Anything unparsable (a time that is not a strict ``HH:MM``, a day outside 1-7, a value of the
  wrong type) makes that range **closed**, never an exception: the config loader should have
  refused it, and a guest's message must not fail because of it. A list whose ranges are all
  unusable is therefore never open.
* **DST**: because ranges are wall-clock, an opening time that does not exist on a spring-forward
  day (02:30 in Madrid on the last Sunday of March) opens at the jump, the first instant the wall
  clock shows a time inside the range; a wall time that happens twice on a fall-back day is inside
  the range both times.

Only ``timezone`` and ``now`` are trusted: an unknown zone raises ``ZoneInfoNotFoundError`` (the
hotels loader rejects those at start-up) and a naive ``now`` raises ``ValueError``, since guessing
its zone would mean reading the machine's, which the core never does.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator, Sequence
from zoneinfo import ZoneInfo

import msgspec

from agente.domain import BusinessHours

__all__ = ["is_open", "next_opening"]

_DAY = 24 * 60
"""Minutes in a (wall-clock) day."""

_HHMM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")

_SEARCH_DAYS = 22
"""How far ahead ``next_opening`` looks: three weeks, so that even a range eaten by a DST gap one
week is found the next; a weekly schedule with any usable range always opens within that."""

_SCAN_STEP = 3600
"""Seconds between offset samples when looking for DST transitions. Real transitions are months
apart, so two inside one hour (which this step could miss) do not occur."""


class _Range(msgspec.Struct, frozen=True, kw_only=True):
    """One usable range: minutes after midnight of each listed day, ``start < end <= 2 days``."""

    days: frozenset[int]
    start: int
    end: int


def _minutes(text: object, *, allow_24: bool) -> int | None:
    if not isinstance(text, str):
        return None
    if allow_24 and text == "24:00":
        return _DAY
    match = _HHMM.fullmatch(text)
    if match is None:
        return None
    return int(match[1]) * 60 + int(match[2])


def _range(hours: BusinessHours) -> _Range | None:
    try:
        days = frozenset(d for d in hours.days if type(d) is int and 1 <= d <= 7)
    except TypeError:  # ``days`` is not iterable: Structs built in code are not validated
        return None
    start = _minutes(hours.open, allow_24=False)
    end = _minutes(hours.close, allow_24=True)
    if not days or start is None or end is None:
        return None
    if end == start:  # "all day"
        start, end = 0, _DAY
    elif end < start:  # overnight, into the next day
        end += _DAY
    return _Range(days=days, start=start, end=end)


def _ranges(hours: Sequence[BusinessHours]) -> list[_Range]:
    return [r for r in map(_range, hours) if r is not None]


def _zone(timezone: str) -> ZoneInfo:
    return ZoneInfo(timezone)


def _aware(now: dt.datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")


def _wall(instant: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """What the hotel's clocks show at ``instant`` (naive; comparisons ignore ``fold``)."""
    return instant.astimezone(tz).replace(tzinfo=None)


def _open_at(ranges: Sequence[_Range], wall: dt.datetime) -> bool:
    """Whether the wall-clock time falls in a range of its own day or of the day before.

    Works on the time of day and the weekday only, so it needs no date arithmetic that could
    overflow at the ends of the calendar.
    """
    since_midnight = dt.timedelta(
        hours=wall.hour, minutes=wall.minute, seconds=wall.second, microseconds=wall.microsecond
    )
    today = wall.isoweekday()
    yesterday = 7 if today == 1 else today - 1
    one_day = dt.timedelta(days=1)
    for r in ranges:
        start, end = dt.timedelta(minutes=r.start), dt.timedelta(minutes=r.end)
        if today in r.days and start <= since_midnight < end:
            return True
        if yesterday in r.days and start <= since_midnight + one_day < end:
            return True
    return False


def is_open(hours: Sequence[BusinessHours], timezone: str, now: dt.datetime) -> bool:
    """Whether staff attend at ``now`` (aware, any zone) for a hotel in ``timezone``.

    No hours configured means always open; see the module docstring for overnight, all-day,
    unparsable and DST rules.
    """
    tz = _zone(timezone)
    _aware(now)
    if len(hours) == 0:
        return True
    return _open_at(_ranges(hours), _wall(now, tz))


def next_opening(
    hours: Sequence[BusinessHours], timezone: str, now: dt.datetime
) -> dt.datetime | None:
    """The first instant at or after ``now`` when staff attend, aware in the hotel's zone.

    Open now (including "no hours configured", which is always open) returns ``now`` itself,
    expressed in the hotel's zone; so "are they in, and if not, from when" is one call. ``None``
    means never: every range is unusable. Otherwise the result is the earliest instant after
    ``now`` at which ``is_open`` holds: a listed opening time, or a DST jump that lands the wall
    clock inside a range.
    """
    tz = _zone(timezone)
    _aware(now)
    local = now.astimezone(tz)
    if len(hours) == 0:
        return local
    ranges = _ranges(hours)
    if not ranges:
        return None
    if _open_at(ranges, local.replace(tzinfo=None)):
        return local
    now_utc = now.astimezone(dt.UTC)
    best = _first_listed_start(ranges, tz, now_utc)
    limit = best if best is not None else now_utc + dt.timedelta(days=_SEARCH_DAYS)
    for jump in _transitions(tz, now_utc, limit):
        if jump < limit and _open_at(ranges, _wall(jump, tz)):
            best = jump
            break
    return None if best is None else best.astimezone(tz)


def _first_listed_start(
    ranges: Sequence[_Range], tz: ZoneInfo, now_utc: dt.datetime
) -> dt.datetime | None:
    """The earliest instant after ``now_utc`` at which the wall clock shows a range's ``open``.

    Both readings of an ambiguous (fall-back) wall time count; a wall time that does not exist
    (spring-forward gap) is skipped here, because the opening then happens at the jump, which
    ``_transitions`` finds.
    """
    best: dt.datetime | None = None
    first_day = now_utc.astimezone(tz).date()
    for offset in range(-1, _SEARCH_DAYS):
        try:
            day = first_day + dt.timedelta(days=offset)
        except OverflowError:
            continue
        midnight = dt.datetime.combine(day, dt.time())
        for r in ranges:
            if day.isoweekday() not in r.days:
                continue
            wall = midnight + dt.timedelta(minutes=r.start)
            for fold in (0, 1):
                instant = wall.replace(tzinfo=tz, fold=fold).astimezone(dt.UTC)
                if instant <= now_utc or (best is not None and instant >= best):
                    continue
                if _wall(instant, tz) != wall:  # in a gap: not a time the clocks ever show
                    continue
                if _open_at(ranges, wall):
                    best = instant
    return best


def _transitions(tz: ZoneInfo, after: dt.datetime, until: dt.datetime) -> Iterator[dt.datetime]:
    """Instants in ``(after, until]`` (roughly) where the zone's UTC offset changes, in order.

    ``zoneinfo`` does not expose its transition table, so sample the offset every hour and
    bisect to the second where it changes (tzdata transitions fall on whole seconds).
    """

    def offset(ts: int) -> dt.timedelta | None:
        return dt.datetime.fromtimestamp(ts, tz).utcoffset()

    lo = math.floor(after.timestamp())
    end = math.ceil(until.timestamp())
    current = offset(lo)
    while lo < end:
        hi = min(lo + _SCAN_STEP, end)
        if offset(hi) != current:
            a, b = lo, hi  # offset(a) == current != offset(b)
            while b - a > 1:
                mid = (a + b) // 2
                if offset(mid) == current:
                    a = mid
                else:
                    b = mid
            yield dt.datetime.fromtimestamp(b, dt.UTC)
            current = offset(b)
            lo = b
        else:
            lo = hi
