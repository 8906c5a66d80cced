"""``extract_entities``: the Entities table of shared/docs/INTENTS.md and the labelling
conventions of shared/nlu/dev.jsonl.

Three parts: (a) every labelled example of dev.jsonl, (b) one targeted case per rule, (c)
hypothesis properties (total, consistent dates, no clock, no locale).
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
import locale
import os
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agente.pipeline import dates as dates_module
from agente.pipeline import entities as entities_module
from agente.pipeline.entities import Entities, extract_entities
from agente.pipeline.normalize import normalize, tokens
from agente.pipeline.understand import entities_for

ROOT = Path(__file__).resolve().parents[2]
DAYS = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 12, 31))
WED = dt.date(2026, 11, 18)  # a Wednesday; Friday is 2026-11-20
FRI = dt.date(2026, 11, 20)


def _dev_path() -> Path | None:
    candidates = [
        os.environ.get("AGENTE_NLU_DEV", ""),
        ROOT.parent / "shared" / "nlu" / "dev.jsonl",
        ROOT / "shared" / "nlu" / "dev.jsonl",
        ROOT / "tests" / "nlu" / "dev.jsonl",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def _dev_rows() -> list[dict[str, Any]]:
    path = _dev_path()
    if path is None:
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


DEV = _dev_rows()


def view(entities: Entities | dict[str, Any]) -> dict[str, Any]:
    """Non-empty fields, as JSON would show them (how the evaluation compares)."""
    data = entities if isinstance(entities, dict) else msgspec.to_builtins(entities)
    return {k: v for k, v in data.items() if v not in (None, [], False)}


def extract(text: str, today: dt.date = WED) -> dict[str, Any]:
    return view(extract_entities(text, normalize(text), today=today))


# --- (a) the labelled examples ----------------------------------------------------------


def labelled(row: dict[str, Any]) -> dict[str, Any]:
    """The entities as the pipeline reports them for the labelled intent (which entities an
    intent keeps is part of the labelling conventions: no dates on a check-in-time question)."""
    text = row["text"]
    norm = normalize(text)
    found = extract_entities(text, norm, today=dt.date.fromisoformat(row["today"]))
    return view(entities_for(row["intent"], found, tokens(norm)))


@pytest.mark.skipif(not DEV, reason="shared/nlu/dev.jsonl not found (set AGENTE_NLU_DEV)")
@pytest.mark.parametrize("row", DEV, ids=[row["id"] for row in DEV])
def test_dev_example_entities_match_the_labels(row: dict[str, Any]) -> None:
    got = labelled(row)
    assert got == view(row["entities"]), row["text"]


@pytest.mark.skipif(not DEV, reason="shared/nlu/dev.jsonl not found (set AGENTE_NLU_DEV)")
def test_dev_exact_match_rate() -> None:
    ok = sum(labelled(row) == view(row["entities"]) for row in DEV)
    assert ok / len(DEV) >= 0.95


# --- (b) one case per rule --------------------------------------------------------------

DATES = [
    # ranges, es/en/pt, day/month numbers
    ("del 15 al 18 de marzo", WED, ("2027-03-15", "2027-03-18", 3)),
    ("15/12 al 18/12", WED, ("2026-12-15", "2026-12-18", 3)),
    ("del 15-12 al 18-12", WED, ("2026-12-15", "2026-12-18", 3)),
    ("del 15-18 de marzo", WED, ("2027-03-15", "2027-03-18", 3)),
    ("de 27/12 a 3/1", WED, ("2026-12-27", "2027-01-03", 7)),
    ("del 28 de diciembre al 2 de enero", WED, ("2026-12-28", "2027-01-02", 5)),
    ("del 29 al 3 de mayo", WED, ("2027-04-29", "2027-05-03", 4)),
    ("do dia 3 ao dia 6", WED, ("2026-12-03", "2026-12-06", 3)),
    ("de 10 a 14 de julho", WED, ("2027-07-10", "2027-07-14", 4)),
    ("entre el 10 y el 12 de diciembre", WED, ("2026-12-10", "2026-12-12", 2)),
    # bare day ranges: this month, or next once the day has passed
    ("del 20 al 25", WED, ("2026-11-20", "2026-11-25", 5)),
    ("del 10 al 12", WED, ("2026-12-10", "2026-12-12", 2)),
    ("del 18 al 19", WED, ("2026-11-18", "2026-11-19", 1)),
    ("del 29 al 3", WED, ("2026-11-29", "2026-12-03", 4)),
    # English
    ("Dec 15-18", WED, ("2026-12-15", "2026-12-18", 3)),
    ("April 2-5", WED, ("2027-04-02", "2027-04-05", 3)),
    ("from the 3rd to the 5th", WED, ("2026-12-03", "2026-12-05", 2)),
    ("from March 15 to March 18", WED, ("2027-03-15", "2027-03-18", 3)),
    ("dec 30 to jan 2", WED, ("2026-12-30", "2027-01-02", 3)),
    # relative days, weekdays, weekends
    ("desde mañana hasta el domingo", WED, ("2026-11-19", "2026-11-22", 3)),
    ("del viernes al domingo", WED, ("2026-11-20", "2026-11-22", 2)),
    ("llegariamos mañana y nos vamos el domingo", WED, ("2026-11-19", "2026-11-22", 3)),
    ("el finde", WED, ("2026-11-20", "2026-11-22", 2)),
    ("this weekend", WED, ("2026-11-20", "2026-11-22", 2)),
    ("tem vaga no fim de semana?", WED, ("2026-11-20", "2026-11-22", 2)),
    ("pra este fds", WED, ("2026-11-20", "2026-11-22", 2)),
    ("finde", WED, ("2026-11-20", "2026-11-22", 2)),
    ("este fin de semana", FRI, ("2026-11-20", "2026-11-22", 2)),
    ("el finde", dt.date(2026, 11, 21), ("2026-11-21", "2026-11-22", 1)),
    ("el finde", dt.date(2026, 11, 22), ("2026-11-22", None, None)),  # Sunday: what is left
    ("el finde que viene", FRI, ("2026-11-27", "2026-11-29", 2)),
    ("next weekend", WED, ("2026-11-20", "2026-11-22", 2)),
    # nights: check-out = check-in + nights
    ("el 3 de diciembre por 3 noches", WED, ("2026-12-03", "2026-12-06", 3)),
    ("mañana x 2 noches", WED, ("2026-11-19", "2026-11-21", 2)),
    ("3 noites a partir de 20/12", WED, ("2026-12-20", "2026-12-23", 3)),
    ("a twin room from May 3 for two nights", WED, ("2027-05-03", "2027-05-05", 2)),
    ("quince noches desde el 2 de diciembre", WED, ("2026-12-02", "2026-12-17", 15)),
    ("el viernes, una sola noche", WED, ("2026-11-20", "2026-11-21", 1)),
    ("for 2 nights starting Friday", WED, ("2026-11-20", "2026-11-22", 2)),
    ("llegaríamos el jueves 18 de marzo y nos iríamos el domingo 21", WED, ("2027-03-18", "2027-03-21", 3)),
    ("chegamos sexta à noite e saímos domingo", WED, ("2026-11-20", "2026-11-22", 2)),
    ("gostaria de reservar para os dias 10 a 12 de março", WED, ("2027-03-10", "2027-03-12", 2)),
    ("3 noches a partir de mañana", WED, ("2026-11-19", "2026-11-22", 3)),
    ("el finde del 5 de diciembre", WED, ("2026-12-04", "2026-12-06", 2)),  # a Saturday
    ("arriving tomorrow, leaving on the 22nd", WED, ("2026-11-19", "2026-11-22", 3)),
]  # fmt: skip


@pytest.mark.parametrize(("text", "today", "expected"), DATES)
def test_stays(text: str, today: dt.date, expected: tuple[str, str, int]) -> None:
    got = extract(text, today)
    assert (got.get("check_in"), got.get("check_out"), got.get("nights")) == expected


SINGLE_DAYS = [
    ("15 de enero", WED, "2027-01-15"),  # next occurrence: rolls to next year
    ("15 de diciembre", WED, "2026-12-15"),
    ("el 18 de noviembre", WED, "2026-11-18"),  # today still counts
    ("el 17 de noviembre", WED, "2027-11-17"),
    ("15 de enro", WED, "2027-01-15"),
    ("3 de febero", WED, "2027-02-03"),
    ("10 de setiembre", WED, "2027-09-10"),
    ("10 de septiembre", WED, "2027-09-10"),
    ("2 de marzo", WED, "2027-03-02"),
    ("3 de março", WED, "2027-03-03"),
    ("march 3", WED, "2027-03-03"),
    ("july 10", WED, "2027-07-10"),
    ("10th of july", WED, "2027-07-10"),
    ("el primero de enero", WED, "2027-01-01"),
    ("1ro de mayo", WED, "2027-05-01"),
    ("15/12", WED, "2026-12-15"),
    ("15-12", WED, "2026-12-15"),
    ("el 14/2", WED, "2027-02-14"),
    ("15/12/2027", WED, "2027-12-15"),
    ("el 25", WED, "2026-11-25"),
    ("el 10", WED, "2026-12-10"),
    ("on the 21st", WED, "2026-11-21"),
    ("mañana", WED, "2026-11-19"),
    ("manana", WED, "2026-11-19"),
    ("para mñn", WED, "2026-11-19"),
    ("pasado mañana", WED, "2026-11-20"),
    ("hoy", WED, "2026-11-18"),
    ("para hoy a la noche", WED, "2026-11-18"),
    ("tonight", WED, "2026-11-18"),
    ("tomorrow", WED, "2026-11-19"),
    ("the day after tomorrow", WED, "2026-11-20"),
    ("today", WED, "2026-11-18"),
    ("amanhã", WED, "2026-11-19"),
    ("depois de amanhã", WED, "2026-11-20"),
    ("el viernes", WED, "2026-11-20"),
    ("na sexta", WED, "2026-11-20"),
    ("sexta-feira", WED, "2026-11-20"),
    ("on friday", WED, "2026-11-20"),
    ("para el sabado", WED, "2026-11-21"),
    ("no domingo", WED, "2026-11-22"),
    ("el lunes", WED, "2026-11-23"),
    ("el viernes", FRI, "2026-11-27"),  # "el viernes" on a Friday: next week's
    ("este viernes", FRI, "2026-11-20"),  # "este viernes" on a Friday: today
    ("tenes lugar para el 24 y 25 de diciembre?", WED, "2026-12-24"),
    ("llegamos el 15 a la tarde", WED, "2026-12-15"),  # a day, not 15:00
]


@pytest.mark.parametrize(("text", "today", "check_in"), SINGLE_DAYS)
def test_a_single_day_is_only_a_check_in(text: str, today: dt.date, check_in: str) -> None:
    assert extract(text, today) == {"check_in": check_in}


def test_leaving_words_make_a_check_out() -> None:
    assert extract("nos iriamos el 25 en vez del 27") == {"check_out": "2026-11-25"}


def test_a_weekday_and_a_time_keep_the_check_in_unless_leaving() -> None:
    assert extract("llego el lunes a las 22hs, hay problema?") == {
        "check_in": "2026-11-23",
        "time": "22:00",
    }
    assert extract("podriamos salir a las 14hs el domingo?") == {"time": "14:00"}


NO_DATES = [
    "la semana que viene",  # ambiguous: the agent asks
    "next week",
    "cancelo lo del finde",  # a weekend already booked
    "se puede pasar la reserva del finde para el otro?",
    "el agua salia fria todo el fin de semana",
    "el finde pasado",
    "atienden los domingos?",  # plural: every Sunday
    "el domingo pasado fuimos",
    "che sabes si mañana llueve?",  # weather, not a stay
    "hasta mañana!",  # a goodbye
    "nos vemos mañana",
    "llegamos tipo 9 de la mañana",  # morning, not tomorrow
    "atienden 24/7?",
    "somos un grupo de 8",
    "la habitacion 12 tiene vista?",
    "son 2 habitaciones no 1",
    "podriamos salir a las 14hs el domingo?",  # weekday + clock time: a moment
    "could we keep the room until 3 pm on sunday?",
    "transferi $45.000 recien",
    "tiene 2 camas?",
    "a segunda vez",
]


@pytest.mark.parametrize("text", NO_DATES)
def test_no_dates(text: str) -> None:
    got = extract(text)
    assert "check_in" not in got and "check_out" not in got and "invalid_dates" not in got


@pytest.mark.parametrize(
    "text",
    [
        "31 de febrero",
        "30/02",
        "tienen lugar el 30/02?",
        "31 de junio",
        "del 31 de junio al 2 de julio",
        "29/02/2027",
        "del 18 al 15 de marzo",  # check-out before check-in
        "del 18 de marzo al 15 de marzo",
        "del 20/12 al 20/12",  # check-out on the check-in
    ],
)
def test_impossible_dates_give_no_dates_and_invalid(text: str) -> None:
    got = extract(text)
    assert got.get("invalid_dates") is True
    assert "check_in" not in got and "check_out" not in got


def test_impossible_dates_keep_the_other_entities() -> None:
    assert extract("el 30/02 por 2 noches para 3 personas") == {
        "invalid_dates": True,
        "nights": 2,
        "guests": 3,
    }


def test_long_weekend_with_one_holiday_is_thursday_or_friday_to_the_last_day_off() -> None:
    # 2026-11-23 (Monday) is a national holiday: the weekend runs Sat 21 → Mon 23
    assert extract("tenes lugar el finde largo?", WED) == {
        "check_in": "2026-11-20",
        "check_out": "2026-11-23",
        "nights": 3,
    }
    # 2026-05-25 (Monday) too
    assert extract("fin de semana largo", dt.date(2026, 5, 20))["check_in"] == "2026-05-22"


@pytest.mark.parametrize(
    ("text", "today"),
    [
        ("tienen lugar para el finde largo de carnaval?", dt.date(2027, 2, 3)),  # named
        ("el finde largo", dt.date(2026, 7, 7)),  # Jul 9 + bridge Jul 10: four days off
        ("el finde largo", dt.date(2026, 9, 2)),  # the coming weekend is not a long one
        ("el finde largo de semana santa", dt.date(2027, 3, 10)),
        ("el finde largo del 9 de julio", dt.date(2027, 7, 1)),
    ],
)
def test_other_long_weekends_give_no_dates(text: str, today: dt.date) -> None:
    got = extract(text, today)
    assert "check_in" not in got and "check_out" not in got


NIGHTS = [
    ("por 3 noches", 3),
    ("3 nights", 3),
    ("3 noites", 3),
    ("dos noches", 2),
    ("una noche", 1),
    ("one night", 1),
    ("veinte noches", 20),
    ("twelve nights", 12),
    ("quatorze noites", 14),
    ("mejor que sean 3 noches", 3),
]


@pytest.mark.parametrize(("text", "nights"), NIGHTS)
def test_nights(text: str, nights: int) -> None:
    assert extract(text) == {"nights": nights}


@pytest.mark.parametrize(
    "text",
    [
        "podemos sumar una noche mas?",
        "mi reserva es la 4521, quiero agregar una noche",
        "can we add an extra night?",
        "cuanto esta la noche?",
        "$100 a night",
        "tomorrow night",
    ],
)
def test_not_a_number_of_nights(text: str) -> None:
    assert "nights" not in extract(text)


PEOPLE = [
    ("2 adultos y 1 niño", {"adults": 2, "children": 1, "guests": 3}),
    ("somos 3", {"guests": 3}),
    ("seriamos 3", {"guests": 3}),
    ("para dos", {"guests": 2}),
    ("para 4?", {"guests": 4}),
    ("para 3 personas", {"guests": 3}),
    ("somos un grupo de 8", {"guests": 8}),
    ("we are 3", {"guests": 3}),
    ("we are a family of 4", {"guests": 4}),
    ("somos em 5", {"guests": 5}),
    ("somos em 5 pessoas", {"guests": 5}),
    ("for 2 people", {"guests": 2}),
    ("para mi solo", {"guests": 1}),
    ("al final vamos a ser 4 en vez de 2", {"guests": 4}),
    ("una pareja", {"adults": 2}),
    ("somos um casal", {"adults": 2}),
    ("casal", {"adults": 2}),
    ("a couple", {"adults": 2}),
    ("me and my wife", {"adults": 2}),
    ("yo y mi esposa", {"adults": 2}),
    ("just me", {"guests": 1}),
    ("5 adultos", {"adults": 5}),
    ("we're 3 adults", {"adults": 3}),
    ("two adults", {"adults": 2}),
    ("con un nene de 5", {"children": 1, "children_ages": [5]}),
    ("viajo con mi hija de 3", {"children": 1, "children_ages": [3]}),
    ("dos chicos de 4 y 7", {"children": 2, "children_ages": [4, 7]}),
    ("2 adults and 2 kids", {"adults": 2, "children": 2, "guests": 4}),
    ("2 adults and 2 kids (4 and 9)", {"adults": 2, "children": 2, "children_ages": [4, 9], "guests": 4}),
    ("2 adultos e uma criança de 8 anos", {"adults": 2, "children": 1, "children_ages": [8], "guests": 3}),
    ("una pareja y un bebe de 1 año", {"adults": 2, "children": 1, "children_ages": [1], "guests": 3}),
    ("una pareja con un bebé de 8 meses", {"adults": 2, "children": 1, "children_ages": [0], "guests": 3}),
    ("somos dos y un nene de 7 años", {"adults": 2, "children": 1, "children_ages": [7], "guests": 3}),
    ("somos dos adultos y tres niños de 2, 5 y 8", {"adults": 2, "children": 3, "children_ages": [2, 5, 8], "guests": 5}),
    ("2 adultos + 1 menor", {"adults": 2, "children": 1, "guests": 3}),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), PEOPLE)
def test_people(text: str, expected: dict[str, Any]) -> None:
    assert extract(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "chicos les aviso que no llegamos",  # "chicos" as "guys"
        "quiero hablar con una persona",
        "cuantas personas entran?",
        "transferi $85000",
        "tengo 85000 pesos",
        "son 2 habitaciones no 1",
    ],
)
def test_no_people(text: str) -> None:
    got = extract(text)
    assert not {"adults", "children", "guests"} & set(got)


@pytest.mark.parametrize(
    ("text", "rooms"),
    [
        ("3 habitaciones", 3),
        ("2 quartos", 2),
        ("two rooms", 2),
        ("son 2 habitaciones no 1", 2),
        ("dos habitaciones dobles", 2),
        ("necesito 2 habs", 2),
    ],
)
def test_rooms(text: str, rooms: int) -> None:
    assert extract(text)["rooms"] == rooms


def test_an_article_is_not_a_room_count() -> None:
    assert "rooms" not in extract("necesito una habitacion")


ROOM_TYPES = [
    ("la individual", "single"),
    ("a single room", "single"),
    ("quarto de solteiro", "single"),
    ("habitacion simple", "single"),
    ("matrimonial", "double"),
    ("doble", "double"),
    ("how much is a double?", "double"),
    ("quarto de casal", "double"),
    ("queen", "double"),
    ("dos camas", "twin"),
    ("dos camas individuales", "twin"),
    ("duas camas de solteiro", "twin"),
    ("two single beds", "twin"),
    ("the twin room", "twin"),
    ("la triple", "triple"),
    ("o quarto triplo", "triple"),
    ("la familiar", "family"),
    ("o quarto família", "family"),
    ("a family room", "family"),
    ("una cuadruple", "family"),
    ("la suite", "suite"),
    ("quiero cambiar la doble por una suite", "suite"),
]


@pytest.mark.parametrize(("text", "room_type"), ROOM_TYPES)
def test_room_types(text: str, room_type: str) -> None:
    assert extract(text)["room_type"] == room_type


@pytest.mark.parametrize(
    "text",
    [
        "la doble es con cama matrimonial o con dos camas separadas?",  # two types, no change
        "reservé una matrimonial y me dieron dos camas separadas",
        "me cobraron doble la seña",
        "una simple pregunta",
        "just a single night",
        "we are a family of 4",
    ],
)
def test_no_room_type(text: str) -> None:
    assert "room_type" not in extract(text)


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("#12345", "12345"),
        ("tengo la reserva #12345", "12345"),
        ("reserva 4521", "4521"),
        ("la reserva es la 66201", "66201"),
        ("RES-12345", "RES-12345"),
        ("reserva RES-20931", "RES-20931"),
        ("Please cancel my booking, ref HX-2291", "HX-2291"),
        ("booking 4521", "4521"),
        ("reservation 55120?", "55120"),
        ("reserva nro 8812", "8812"),
        ("reserva n° 8812", "8812"),
        ("podem cancelar a minha reserva? número 60213", "60213"),
        ("código 44120", "44120"),
        ("Booking number: ABC12345", "ABC12345"),
    ],
)
def test_booking_refs(text: str, ref: str) -> None:
    assert extract(text)["booking_ref"] == ref


@pytest.mark.parametrize(
    "text",
    ["4521", "son 4521 pesos", "la reserva de 2027", "reserva para 2", "mi numero es 1144556677"],
)
def test_not_a_booking_ref(text: str) -> None:
    assert "booking_ref" not in extract(text)


def test_email_is_as_written() -> None:
    assert extract("mi mail es Ana.Perez@Gmail.com.") == {"email": "Ana.Perez@Gmail.com"}
    assert extract("meu e-mail é ana.souza@uol.com.br") == {"email": "ana.souza@uol.com.br"}


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("mi cel es +54 9 11 4455-6677", "+5491144556677"),
        ("please call me at +1 305 555 0142", "+13055550142"),
        ("mi cel es 11 4455-6677", "+5491144556677"),  # a mobile: E.164 carries the 9
        ("el fijo es 11 4455-6677", "+541144556677"),
        ("llamame al 1144556677", "+541144556677"),
        ("mi whatsapp 011 15 4455-6677", "+5491144556677"),
    ],
)
def test_phones_are_e164(text: str, phone: str) -> None:
    assert extract(text)["phone"] == phone


def test_a_phone_is_neither_a_date_nor_a_count() -> None:
    assert extract("mi cel es +54 9 11 4455-6677, llego el 15/12 somos 2") == {
        "phone": "+5491144556677",
        "check_in": "2026-12-15",
        "guests": 2,
    }


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("14hs", "14:00"),
        ("las 14hs", "14:00"),
        ("a las 14 hs", "14:00"),
        ("a las 3 de la tarde", "15:00"),
        ("hasta la 1 de la tarde", "13:00"),
        ("tipo 9 de la mañana", "09:00"),
        ("a las 8 de la noche", "20:00"),
        ("2pm", "14:00"),
        ("10am", "10:00"),
        ("until 3 pm", "15:00"),
        ("around 10:30 am", "10:30"),
        ("14:30", "14:30"),
        ("14.30hs", "14:30"),
        ("até as 14h", "14:00"),
        ("até as 14h30", "14:30"),
        ("al mediodia", "12:00"),
        ("at noon", "12:00"),
        ("a las 10", "10:00"),
        ("la salida es a las 10, no?", "10:00"),
    ],
)
def test_times(text: str, value: str) -> None:
    assert extract(text) == {"time": value}


@pytest.mark.parametrize(
    "text",
    [
        "la recepcion esta abierta las 24hs?",  # 24 is not an hour
        "el check in es a las 14 o a las 15?",  # two different times
        "15/12",  # a date, not a time
        "el precio es 14.30",
        "somos 2",
    ],
)
def test_no_time(text: str) -> None:
    assert "time" not in extract(text)


AMENITIES = [
    ("tienen desayuno, pileta y cochera?", ["breakfast", "pool", "parking"]),
    ("tem wi-fi grátis e café da manhã?", ["wifi", "breakfast"]),
    ("hay wifi en las habitaciones? y aire?", ["wifi", "air_conditioning"]),
    ("do the rooms have AC?", ["air_conditioning"]),
    ("tem ar-condicionado e academia?", ["air_conditioning", "gym"]),
    ("gimnasio, spa, restaurante y lavanderia?", ["gym", "spa", "restaurant", "laundry"]),
    ("hacen traslado desde el aeropuerto?", ["transfer"]),
    ("tienen estacionamiento?", ["parking"]),
    ("vocês têm piscina e garagem?", ["pool", "parking"]),
    ("Is there a pool and free parking?", ["pool", "parking"]),
]


@pytest.mark.parametrize(("text", "amenities"), AMENITIES)
def test_amenities_in_order_of_appearance(text: str, amenities: list[str]) -> None:
    assert extract(text)["amenities"] == amenities


@pytest.mark.parametrize(
    "text",
    [
        "the room was dirty and the wifi didn't work",
        "la habitacion tenia olor a humedad y el aire no andaba",
        "se corto el wifi",
        "comemos al aire libre",
        "ya te hice la transferencia",
    ],
)
def test_broken_or_unrelated_amenities_are_left_out(text: str) -> None:
    assert "amenities" not in extract(text)


TOPICS = [
    ("se aceptan mascotas?", "pets"),
    ("puedo llevar a mi perro?", "pets"),
    ("are pets allowed?", "pets"),
    ("aceitam animais de estimação?", "pets"),
    ("aceptan chicos?", "children"),
    ("do you allow kids?", "children"),
    ("hasta que edad no pagan los chicos?", "children"),
    ("se puede fumar en la habitacion?", "smoking"),
    ("is smoking allowed?", "smoking"),
    ("pode fumar no quarto?", "smoking"),
    ("cual es la politica de cancelacion?", "cancellation"),
    ("what's your cancellation policy?", "cancellation"),
    ("si cancelo tengo que pagar multa?", "cancellation"),
    ("hay penalidad por cancelar?", "cancellation"),
    ("me devuelven la seña si cancelo con una semana de anticipacion?", "cancellation"),
    ("tem multa se eu cancelar?", "cancellation"),
    ("es reembolsable?", "cancellation"),
    ("la cancelación tiene costo?", "cancellation"),
    ("puedo cancelar sin costo?", "cancellation"),
    ("preciso de berço para o bebê", "extra_bed"),
    ("que documentos piden?", "id_documents"),
    ("necesito el dni o pasaporte?", "id_documents"),
    ("Do I need a passport to check in?", "id_documents"),
    ("se puede agregar una cama extra?", "extra_bed"),
    ("tienen cama supletoria?", "extra_bed"),
    ("can we get an extra bed?", "extra_bed"),
]


@pytest.mark.parametrize(("text", "topic"), TOPICS)
def test_topics(text: str, topic: str) -> None:
    assert extract(text)["topic"] == topic


@pytest.mark.parametrize(
    "text",
    [
        "quiero cancelar mi reserva",  # a request, not a policy question
        "I need to cancel and get a refund",
        "podem cancelar?",
        "2 adultos y 2 nenes",  # children, but no policy
    ],
)
def test_no_topic(text: str) -> None:
    assert "topic" not in extract(text)


def test_a_full_message() -> None:
    text = (
        "Buenas tardes, quería consultar disponibilidad para una habitación familiar, "
        "llegaríamos el jueves 18 de marzo y nos iríamos el domingo 21. Somos 2 adultos y 3 "
        "chicos. Mi mail es lu.fer@gmail.com, reserva #4521, llego a las 14hs"
    )
    assert extract(text, dt.date(2027, 3, 10)) == {
        "check_in": "2027-03-18",
        "check_out": "2027-03-21",
        "nights": 3,
        "adults": 2,
        "children": 3,
        "guests": 5,
        "room_type": "family",
        "booking_ref": "4521",
        "email": "lu.fer@gmail.com",
        "time": "14:00",
    }


def test_nothing_gives_the_empty_entities() -> None:
    assert extract_entities("hola", "hola", today=WED) == Entities()
    assert extract_entities("", "", today=WED) == Entities()


def test_the_struct_has_exactly_the_contract_fields() -> None:
    assert Entities.__struct_fields__ == (
        "check_in", "check_out", "nights", "adults", "children", "children_ages", "guests",
        "rooms", "room_type", "booking_ref", "email", "phone", "time", "amenities", "topic",
        "invalid_dates",
    )  # fmt: skip
    empty = msgspec.to_builtins(Entities())
    assert empty["children_ages"] == [] and empty["amenities"] == []
    assert empty["invalid_dates"] is False
    assert all(
        v is None
        for k, v in empty.items()
        if k not in ("children_ages", "amenities", "invalid_dates")
    )


# --- (c) properties ---------------------------------------------------------------------

HOTELISH = st.sampled_from(
    [
        "tenés lugar del {d}/{m} al {d2}/{m2} para {n}?",
        "reservame la doble del {d} al {d2} de {month}",
        "del {d} de {month} al {d2} de {month2}, {n} noches",
        "book me a room from the {d}th to the {d2}th, {n} nights",
        "{month} {d}-{d2}, {n} adults",
        "tem quarto para {n} pessoas dia {d}/{m}?",
        "quiero {n} noches desde el {d} de {month}",
        "llegamos el {d} y nos vamos el {d2}",
        "el finde largo, somos {n}",
        "desde mañana hasta el {d}, {n} noches",
        "mi cel es +54 9 11 {d}{d2}-66{m}7 y llego el {d}/{m} a las {d2}hs",
    ]
)
MONTH_WORDS = st.sampled_from(
    ["enero", "enro", "febrero", "febero", "marzo", "março", "march", "junio", "setiembre",
     "december", "dec", "diciembre"]
)  # fmt: skip


def _check(e: Entities) -> None:
    if e.check_in is not None and e.check_out is not None:
        assert e.check_out > e.check_in
        if e.nights is not None:
            assert e.nights == (e.check_out - e.check_in).days
    if e.invalid_dates:
        assert e.check_in is None and e.check_out is None
    if e.nights is not None:
        assert e.nights >= 1
    assert e.room_type in (None, *entities_module.ROOM_TYPES)
    assert e.topic in (None, *entities_module.TOPICS)
    assert set(e.amenities) <= set(entities_module.AMENITIES)
    assert len(set(e.amenities)) == len(e.amenities)
    if e.time is not None:
        hour, minute = map(int, e.time.split(":"))
        assert 0 <= hour <= 23 and 0 <= minute <= 59


@given(text=st.text(), today=DAYS)
def test_never_raises_on_any_text(text: str, today: dt.date) -> None:
    _check(extract_entities(text, normalize(text), today=today))
    _check(extract_entities(text, text, today=today))  # even when not normalised


@given(
    template=HOTELISH,
    d=st.integers(0, 40),
    d2=st.integers(0, 40),
    m=st.integers(0, 14),
    m2=st.integers(0, 14),
    n=st.integers(0, 30),
    month=MONTH_WORDS,
    month2=MONTH_WORDS,
    today=DAYS,
)
def test_dates_are_consistent(
    template: str, d: int, d2: int, m: int, m2: int, n: int, month: str, month2: str, today: dt.date
) -> None:
    text = template.format(d=d, d2=d2, m=m, m2=m2, n=n, month=month, month2=month2)
    _check(extract_entities(text, normalize(text), today=today))


@given(
    text=st.sampled_from([row["text"] for row in DEV] or ["del 15/12 al 18/12 para 2"]), today=DAYS
)
def test_same_answer_at_any_moment_and_in_any_locale(text: str, today: dt.date) -> None:
    norm = normalize(text)
    first = extract_entities(text, norm, today=today)
    time.sleep(0.001)  # another moment of the real clock: the result cannot change
    assert extract_entities(text, norm, today=today) == first
    previous = locale.setlocale(locale.LC_ALL)
    try:
        for name in ("C", "C.UTF-8", "es_AR.UTF-8", "pt_BR.UTF-8"):
            try:
                locale.setlocale(locale.LC_ALL, name)
            except locale.Error:
                continue
            assert extract_entities(text, norm, today=today) == first
    finally:
        locale.setlocale(locale.LC_ALL, previous)


@pytest.mark.parametrize("module", [entities_module, dates_module])
def test_the_extractor_reads_no_clock_and_does_no_io(module: object) -> None:
    source = inspect.getsource(module)  # type: ignore[arg-type]
    forbidden = (
        "date.today(", "datetime.now(", "time.time(", "time.monotonic(", "open(", "os.environ",
        "import logging", "import structlog", "import random", "print(",
    )  # fmt: skip
    for word in forbidden:
        assert word not in source, word


# --- cases found on tests/nlu/dev4.jsonl --------------------------------------------------

DEV4_CASES = [
    # a bare day opening a range that ends in a month; "between"/"for" before a range
    ("quero trocar a reserva 44817 pra 12 a 15 de maio", dt.date(2026, 3, 1),
     {"check_in": "2026-05-12", "check_out": "2026-05-15", "nights": 3, "booking_ref": "44817"}),
    ("is it possible between 10 and 15 of July?", dt.date(2026, 3, 1),
     {"check_in": "2026-07-10", "check_out": "2026-07-15", "nights": 5}),
    ("2 double rooms for 14 to 17 September", dt.date(2026, 3, 1),
     {"check_in": "2026-09-14", "check_out": "2026-09-17", "nights": 3, "rooms": 2,
      "room_type": "double"}),
    ("a room for 2 to 3 people in July", dt.date(2026, 3, 1), {"guests": 3}),
    # the date dropped after "en vez de <verb>"
    ("la reserva 3390 la extendemos, en vez de irnos el 12 nos vamos el 14", dt.date(2026, 12, 1),
     {"check_out": "2026-12-14", "booking_ref": "3390"}),
    # the party said with other verbs
    ("se suma una persona mas, quedariamos 4 en total", WED, {"guests": 4}),
    ("vamos ser 4 e não 3, dá pra ajustar?", WED, {"guests": 4}),
    ("en la familiar entran 5?", WED, {"guests": 5, "room_type": "family"}),
    # children and their ages said apart
    ("the kids are 7 and 10", WED, {"children": 2, "children_ages": [7, 10]}),
    ("os filhos têm 5 e 8 anos", WED, {"children": 2, "children_ages": [5, 8]}),
    # room types: plurals, pt singles, a change of room
    ("do the doubles come with a king-size bed?", WED, {"room_type": "double"}),
    ("os quartos individuais têm secretária?", WED, {"room_type": "single"}),
    ("gostaria de alterar o quarto duplo da reserva RES-2231 para uma suíte", WED,
     {"room_type": "suite", "booking_ref": "RES-2231"}),
    ("en lugar de una doble necesitamos una triple", WED, {"room_type": "triple"}),
    # pt "dos" is "of the", not two
    ("algum dos quartos tem vista para o mar?", WED, {}),
    # amenities: pt-PT breakfast, "com café", parking a car, a typo, not a call transfer
    ("O pequeno-almoço está incluído?", WED, {"amenities": ["breakfast"]}),
    ("preço do quarto triplo com café?", WED, {"room_type": "triple", "amenities": ["breakfast"]}),
    ("how much extra to park a car?", WED, {"amenities": ["parking"]}),
    ("is the hotel near the park?", WED, {}),
    ("vcs tem pscina e academia?", WED, {"amenities": ["pool", "gym"]}),
    ("transfer me to an agent", WED, {}),
    # times: "14h mesmo" is a time; "10 or 11" is two, so none
    ("o check-in é 14h mesmo?", WED, {"time": "14:00"}),
    ("is checkout at 10 or 11?", WED, {}),
    # a file's name is not a booking reference; shortening by a night is not a stay length
    ("IMG-20270312-WA0003.jpg", WED, {}),
    ("need to shorten my stay by one night", WED, {}),
]  # fmt: skip


DEV5_CASES = [
    # Uruguayan "gurí"; ages said in words with their unit
    ("¿tienen lugar del 3 al 7 de enero para dos adultos y un gurí de 4?", dt.date(2026, 12, 10),
     {"check_in": "2027-01-03", "check_out": "2027-01-07", "nights": 4, "adults": 2,
      "children": 1, "children_ages": [4], "guests": 3}),
    ("Dos adultos y una nena de cinco años", dt.date(2026, 3, 1),
     {"adults": 2, "children": 1, "children_ages": [5], "guests": 3}),
    ("un nene de 3 años y una nena de seis años", dt.date(2026, 3, 1),
     {"children": 2, "children_ages": [3, 6]}),
    # corrections keep the corrected value
    ("ya no vamos a llegar el viernes sino el sábado, es la RSV-20931", dt.date(2027, 6, 16),
     {"check_in": "2027-06-19", "booking_ref": "RSV-20931"}),
    ("não na sexta e sim no sábado", dt.date(2027, 6, 16), {"check_in": "2027-06-19"}),
    ("perdón, no somos 3 sino 4", dt.date(2026, 3, 1), {"guests": 4}),
    ("four of us", dt.date(2026, 3, 1), {"guests": 4}),
    ("just the two of us", dt.date(2026, 3, 1), {"guests": 2}),
    ("two of us are vegetarian", dt.date(2026, 3, 1), {}),
    # references: "por favor" between keyword and number; letters among the digits
    ("kiero cambiar las fechas d mi reserva xfa, es la 40012", dt.date(2026, 3, 1),
     {"booking_ref": "40012"}),
    ("tengo una reserva, localizador 88A21X", dt.date(2026, 3, 1), {"booking_ref": "88A21X"}),
    # regional words for amenities; plural room names; "tres camas separadas" is not a twin
    ("¿Hay alberca y estacionamiento?", dt.date(2026, 3, 1), {"amenities": ["pool", "parking"]}),
    ("¿cuentan con parqueadero y restaurante?", dt.date(2026, 3, 1),
     {"amenities": ["parking", "restaurant"]}),
    ("do you have a washing machine we can use", dt.date(2026, 3, 1),
     {"amenities": ["laundry"]}),
    ("las tarifas de sus habitaciones familiares", dt.date(2026, 3, 1), {"room_type": "family"}),
    ("la triple tiene tres camas separadas?", dt.date(2026, 3, 1), {"room_type": "triple"}),
    # hyphenated English ordinals; "dep." as the departure
    ("anything for the twenty-second of March through the twenty-fifth?", dt.date(2027, 2, 10),
     {"check_in": "2027-03-22", "check_out": "2027-03-25", "nights": 3}),
    ("Pls reserve 1 single, arr. 9 Feb, dep. 12 Feb.", dt.date(2027, 1, 25),
     {"check_in": "2027-02-09", "check_out": "2027-02-12", "nights": 3, "room_type": "single"}),
    # Portuguese: "eu e mais N", "meninos", "saindo", "pernoite", "faltando uma semana"
    ("sou eu e mais um", dt.date(2027, 5, 28), {"guests": 2}),
    ("vai ser eu e mais três", dt.date(2027, 5, 28), {"guests": 4}),
    ("me and 3 friends", dt.date(2027, 5, 28), {"guests": 4}),
    ("somos dois adultos e dois meninos de 6 e 9 anos", dt.date(2026, 9, 15),
     {"adults": 2, "children": 2, "children_ages": [6, 9], "guests": 4}),
    ("entrando dia vinte de janeiro e saindo dia vinte e quatro", dt.date(2027, 12, 10),
     {"check_in": "2028-01-20", "check_out": "2028-01-24", "nights": 4}),
    ("reserva 2 quartos de casal p/ sabado, 1 pernoite so", dt.date(2027, 7, 13),
     {"check_in": "2027-07-17", "check_out": "2027-07-18", "nights": 1, "rooms": 2,
      "room_type": "double"}),
    ("se eu desistir faltando uma semana eu perco o sinal?", dt.date(2027, 7, 13), {}),
    # references after "localizador:", "é a", "n.º"
    ("anota aí o localizador: 73920", dt.date(2028, 5, 6), {"booking_ref": "73920"}),
    ("tenho que remarcar as datas, a reserva é a 48213", dt.date(2026, 2, 9),
     {"booking_ref": "48213"}),
    ("peço que anulem a reserva n.º 66021.", dt.date(2026, 2, 9), {"booking_ref": "66021"}),
]  # fmt: skip


@pytest.mark.parametrize(("text", "today", "expected"), DEV5_CASES)
def test_cases_found_on_the_fifth_dev_set(
    text: str, today: dt.date, expected: dict[str, Any]
) -> None:
    assert extract(text, today) == expected


@pytest.mark.parametrize(("text", "today", "expected"), DEV4_CASES)
def test_cases_found_on_the_fourth_dev_set(
    text: str, today: dt.date, expected: dict[str, Any]
) -> None:
    assert extract(text, today) == expected


# --- days and hours said in words -------------------------------------------------------------

IN_WORDS = [
    ("del diez al doce de enero", {"check_in": "2027-01-10", "check_out": "2027-01-12",
                                   "nights": 2}),
    ("para el veintidós de diciembre", {"check_in": "2026-12-22"}),
    ("el quince de marzo, dos noches", {"check_in": "2027-03-15", "check_out": "2027-03-17",
                                        "nights": 2}),
    ("de vinte e dois a vinte e cinco de julho", {"check_in": "2027-07-22",
                                                  "check_out": "2027-07-25", "nights": 3}),
    ("from the twenty second to the twenty fifth of June", {"check_in": "2027-06-22",
                                                             "check_out": "2027-06-25",
                                                             "nights": 3}),
    ("the first of june", {"check_in": "2027-06-01"}),
    ("treinta y uno de diciembre", {"check_in": "2026-12-31"}),
    ("a las ocho de la noche", {"time": "20:00"}),
    ("hasta las dos de la tarde", {"time": "14:00"}),
    ("chegamos às três da tarde", {"time": "15:00"}),
    ("arriving at eight", {"time": "08:00"}),
    # not days or hours
    ("ninguna de las dos me convence", {}),
    ("a second room please", {}),
    ("my first time here", {}),
    ("Could I extend my stay by one more night?", {}),
    ("somos dos", {"guests": 2}),
    ("algum dos quartos tem janela?", {}),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), IN_WORDS)
def test_days_and_hours_in_words(text: str, expected: dict[str, Any]) -> None:
    assert extract(text, dt.date(2026, 12, 1)) == expected


@given(st.text(max_size=200))
def test_reading_words_as_digits_keeps_every_position(text: str) -> None:
    norm = normalize(text)
    assert len(dates_module.digitize(norm)) == len(norm)
    assert len(dates_module.digitize_hours(norm)) == len(norm)
