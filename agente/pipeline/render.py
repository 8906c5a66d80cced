"""``render(reply, language, …)``: a dialogue ``Reply`` as channel-neutral outbound bodies.

Parameters arrive raw from the dialogue (ISO dates, ``"ARS 85000.00"`` amounts, ISO instants),
so journeys can assert on them; here they become what a guest reads in their language: dates as
"15/12/2026" (es, pt) or "15 Dec 2026" (en), money as "ARS 85.000" or "ARS 85,000", instants in
the hotel's time zone. Offers and yes/no questions become buttons or a list when the
``features.interactive_messages`` flag is on, else numbered lines the guest answers with a number.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from agente.domain import (
    Button,
    Hotel,
    ListRow,
    ListSection,
    OutboundBody,
    OutButtons,
    OutList,
    OutLocation,
    OutText,
)
from agente.pipeline.catalog import CATALOG, LANGUAGES, WEEKDAYS
from agente.pipeline.dialogue import Reply
from agente.pipeline.voucher import format_date, format_money

__all__ = ["render"]

_MONEY = re.compile(r"\b([A-Z]{3}) (-?\d+(?:\.\d+)?)\b")
_INSTANT = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[+-]\d{2}:\d{2}|Z)?")
_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_LIST_BUTTON = {"es": "Ver opciones", "en": "See options", "pt": "Ver opções"}
_ALWAYS = {"es": "todos los días, a toda hora", "en": "every day, around the clock",
           "pt": "todos os dias, a qualquer hora"}  # fmt: skip


def _format_instant(raw: str, language: str, timezone: str) -> str:
    try:
        moment = dt.datetime.fromisoformat(raw)
    except ValueError:
        return raw
    if moment.tzinfo is not None:
        moment = moment.astimezone(ZoneInfo(timezone))
    clock = moment.strftime("%H:%M")
    return f"{format_date(moment.date(), language)} {clock}"


def _money(m: re.Match[str], language: str) -> str:
    try:
        return format_money(Decimal(m.group(2)), m.group(1), language)
    except InvalidOperation:
        return m.group(0)


def _hours(raw: str, language: str) -> str:
    """ "1,2,3,4,5|08:00|22:00;6,7|09:00|21:00" → "lunes a viernes de 08:00 a 22:00, …"."""
    if not raw:
        return _ALWAYS.get(language, _ALWAYS["es"])
    names = WEEKDAYS.get(language, WEEKDAYS["es"])
    joiner = {"es": (" a ", "de", "a"), "en": (" to ", "from", "to"), "pt": (" a ", "das", "às")}
    to, since, until = joiner.get(language, joiner["es"])
    parts = []
    for chunk in raw.split(";"):
        try:
            days_text, opens, closes = chunk.split("|")
            days = sorted(int(d) for d in days_text.split(",") if d)
        except ValueError:
            continue
        if not days or not all(1 <= d <= 7 for d in days):
            continue
        consecutive = days == list(range(days[0], days[-1] + 1))
        if len(days) > 2 and consecutive:
            label = f"{names[days[0] - 1]}{to}{names[days[-1] - 1]}"
        else:
            label = ", ".join(names[d - 1] for d in days)
        parts.append(f"{label} {since} {opens} {until} {closes}")
    return "; ".join(parts) or _ALWAYS.get(language, _ALWAYS["es"])


def _format_value(key: str, value: str, language: str, timezone: str) -> str:
    if key == "schedule":
        return _hours(value, language)
    value = _INSTANT.sub(lambda m: _format_instant(m.group(0), language, timezone), value)
    value = _DATE.sub(
        lambda m: (
            format_date(dt.date(int(m[1]), int(m[2]), int(m[3])), language)
            if 1 <= int(m[2]) <= 12 and 1 <= int(m[3]) <= 31
            else m.group(0)
        ),
        value,
    )
    return _MONEY.sub(lambda m: _money(m, language), value)


def _text(key: str, params: dict[str, str], language: str, timezone: str) -> str:
    texts = CATALOG.get(language) or CATALOG["es"]
    template = texts.get(key) or CATALOG["es"].get(key) or CATALOG["es"]["fallback"]
    values = {k: _format_value(k, v, language, timezone) for k, v in params.items()}
    return template.format_map(_Missing(values)).strip()


class _Missing(dict[str, str]):
    """A parameter the dialogue did not give shows as empty instead of failing the reply."""

    def __missing__(self, key: str) -> str:
        return ""


def render(
    reply: Reply, language: str, *, hotel: Hotel, interactive: bool = False
) -> list[OutboundBody]:
    """The outbound bodies for ``reply`` in ``language`` (Spanish when a text is missing)."""
    if language not in LANGUAGES:
        language = "es"
    tz = hotel.timezone
    text = _text(reply.key, reply.params, language, tz)
    bodies: list[OutboundBody] = []
    options = reply.options
    if not options:
        bodies.append(OutText(text=text))
    elif interactive:
        titles = [(o.id, _text(o.key, o.params, language, tz)) for o in options]
        if len(titles) <= 3 and all(len(t) <= 20 for _, t in titles):
            bodies.append(
                OutButtons(
                    text=text,
                    buttons=[Button(id=i, title=t) for i, t in titles],
                    image_url=_photo(hotel, options[0].id),
                )
            )
        else:
            rows = [
                ListRow(id=o.id, title=(o.params.get("room") or t)[:24], description=t[:72])
                for o, (_, t) in zip(options, titles, strict=True)
            ]
            bodies.append(
                OutList(
                    text=text,
                    button=_LIST_BUTTON[language],
                    sections=[ListSection(title=hotel.name[:24], rows=rows[:10])],
                )
            )
    else:
        lines = [text]
        numbered = [o for o in options if o.id.startswith("offer:")]
        for n, o in enumerate(numbered, 1):
            lines.append(f"{n}. {_text(o.key, o.params, language, tz)}")
        if numbered:
            lines.append(_text("offers.choose", {}, language, tz))
        bodies.append(OutText(text="\n".join(lines)))
    if reply.attach == "location" and hotel.address is not None:
        a = hotel.address
        if a.latitude is not None and a.longitude is not None:
            bodies.append(
                OutLocation(
                    latitude=a.latitude,
                    longitude=a.longitude,
                    name=hotel.name,
                    address=f"{a.street}, {a.city}",
                )
            )
    return bodies


def _photo(hotel: Hotel, option_id: str) -> str | None:
    """The ``interactive_buttons_with_image`` variant: a room photo when the hotel has one."""
    code = option_id.removeprefix("offer:")
    for rt in hotel.room_types:
        if rt.code == code and rt.photos:
            return rt.photos[0]
    return None
