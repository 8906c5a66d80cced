"""Entities of a guest's message: dates, people, rooms, references, contact data. Pure.

``extract_entities(text, normalized, today=...)`` implements the Entities table of
``shared/docs/INTENTS.md`` with the labelling conventions of ``shared/nlu/dev.jsonl``. ``text``
is the raw message (e-mails and booking references keep their case from it); ``normalized`` is
``normalize(text)``, on which everything else is read. No clock, no I/O, no logging: ``today``
(the hotel's date) comes in.

The stages run in an order that lets each one blank out (same length, positions kept) what it
consumed, so later stages do not misread it: e-mail → booking reference → phone → time → dates
→ nights, people, rooms. Hence "las 14hs" is a time and not a date, "15/12" a date and not a
time, a phone number neither a date nor a count, and "$85000" nothing.

Speed (``understand`` must do ≥ 20,000 messages/s): no regex is searched over a whole message
with a long alternation (on CPython each one costs microseconds). The message is split into
words once and intersected with the vocabulary of every rule (``_TRIGGERS``); a message with no
digit, no "@" and no such word returns at once. Rules then start from where their words or
digits are (``str.find``) and use anchored ``match`` and the few words before (``split``).

Conventions (beyond ``agente.pipeline.dates``, which documents the dates):

* ``check_out = check_in + nights`` when only nights are given; ``nights`` is derived when both
  dates are known (the dates win over a contradicting "N noches"). "una noche más" / "an extra
  night" / "agregar una noche" is a change, not a length. A weekday next to a clock time in a
  message about leaving ("salir a las 14hs el domingo", "until 3 pm on sunday") is the moment
  of a late check-out of a stay already booked, not stay dates: no dates ("llego el lunes a las
  22hs" keeps its check-in).
* People: "2 adultos y 1 niño" → adults 2, children 1, guests 3; "somos 3" / "para dos" /
  "5 personas" / "un grupo de 8" → guests; "una pareja" / "um casal" / "a couple" → adults 2;
  "somos dos y un nene de 7" → adults 2 (the rest are the children); "para mí solo" → guests 1;
  "con un nene de 5" / "mi hija de 3" → children 1, ages [5]. ``guests`` is an explicit total,
  or adults + children when both are known; adults alone do not make a total (children may be
  unmentioned). The first figure wins over a correction's old value ("4 en vez de 2").
* Rooms: "3 habitaciones", "2 quartos", "two rooms"; "una habitación" is the article, not a count.
* Room types: single, double, twin, triple, family, suite. "matrimonial", "queen", "king",
  "quarto de casal" → double; "dos camas", "camas separadas", "twin" → twin; "familiar",
  "quarto família", "family room", and "cuádruple"/"quadruple" (no canonical quad room: the
  four-person room is the family one) → family. Two different types with no change verb ("la
  doble es matrimonial o dos camas?", "reservé una matrimonial y me dieron dos camas") give none;
  with one ("cambiar la doble por una suite") the last named wins.
* Booking references: "#12345", "reserva 4521", "reserva nro 8812", "RES-12345", "booking 4521",
  "código 44120" → as written, without "#". A number alone is not a reference.
* Phones: E.164 through ``phonenumbers`` (region AR unless the number has a "+"), only for a
  digit run that starts with "+", has ten digits or more, or follows "cel", "tel", "whatsapp"…;
  kept as written when ``phonenumbers`` cannot make it a possible number.
* Times: "14hs", "14:30", "a las 3 de la tarde" → 15:00, "2pm", "al mediodía" → 12:00; "a las
  3" alone is 03:00 (as written). Hours 24+ ("abierta las 24hs") are no time. Two different times
  ("a las 14 o a las 15") give none.
* Amenities in order of appearance; one reported broken ("el aire no andaba", "the wifi didn't
  work") is a complaint, not a request, and is left out.
* Topics (policies): pets, children (only with a policy verb: "aceptan chicos?"), smoking,
  cancellation (the policy or its cost: "política de cancelación", "multa", "si cancelo…",
  "¿la cancelación tiene costo?", not a request to cancel), id_documents, extra_bed (also a crib,
  "cuna"/"berço"). The first one named wins.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING

import msgspec
import phonenumbers

from agente.pipeline.dates import (
    DAY_WORD_STARTS,
    HOUR_CUES,
    HOUR_WORDS,
    MONTHS,
    NO_DATES,
    TRIGGER_WORDS,
    DateResult,
    digitize,
    digitize_hours,
    find_dates,
    number_starts,
    occurrences,
    words_of,
)

if TYPE_CHECKING:
    from collections.abc import Sequence
    from collections.abc import Set as AbstractSet

__all__ = ["AMENITIES", "ROOM_TYPES", "TOPICS", "Entities", "extract_entities"]


def _split(text: str) -> list[str]:
    return text.split()


def _words(text: str) -> frozenset[str]:
    """A vocabulary written as one string of words, one per space."""
    return frozenset(text.split())


ROOM_TYPES = ("single", "double", "twin", "triple", "family", "suite")
AMENITIES = (
    "breakfast", "wifi", "pool", "parking", "gym", "spa", "restaurant", "laundry",
    "air_conditioning", "transfer",
)  # fmt: skip
TOPICS = ("pets", "children", "smoking", "cancellation", "id_documents", "extra_bed")


class Entities(msgspec.Struct, frozen=True, kw_only=True):
    """The entities of one message (INTENTS.md, "Entities"); absent is ``None`` or ``[]``."""

    check_in: dt.date | None = None
    check_out: dt.date | None = None
    nights: int | None = None
    adults: int | None = None
    children: int | None = None
    children_ages: list[int] = []
    guests: int | None = None
    rooms: int | None = None
    room_type: str | None = None
    booking_ref: str | None = None
    email: str | None = None
    phone: str | None = None
    time: str | None = None
    amenities: list[str] = []
    topic: str | None = None
    invalid_dates: bool = False


# --- numbers -----------------------------------------------------------------------------

NUMBER_WORDS: dict[str, int] = {
    "un": 1, "uno": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6,
    "siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12, "trece": 13,
    "catorce": 14, "quince": 15, "dieciseis": 16, "diecisiete": 17, "dieciocho": 18,
    "diecinueve": 19, "veinte": 20,
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "um": 1, "uma": 1, "dois": 2, "duas": 2, "quatro": 4, "sete": 7, "oito": 8, "nove": 9,
    "dez": 10, "onze": 11, "doze": 12, "treze": 13, "catorze": 14, "quatorze": 14, "quinze": 15,
    "dezesseis": 16, "dezasseis": 16, "dezessete": 17, "dezoito": 18, "dezenove": 19,
    "vinte": 20,
}  # fmt: skip
_ARTICLES = frozenset({"un", "una", "um", "uma", "a", "an"})
_NUM = "(?:" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r"|\d{1,3})"
_DIGITS = b"0123456789"


def _value(token: str) -> int | None:
    """The number a token spells ("3", "tres", "three"), if any."""
    if token.isdecimal():
        return int(token) if len(token) <= 3 else None
    return NUMBER_WORDS.get(token)


def _previous(s: str, p: int, skip: AbstractSet[str] = frozenset()) -> list[str]:
    """The (up to three) words before position ``p``, without one word of ``skip`` last."""
    before = s[max(0, p - 40) : p].split()[-4:]
    if before and before[-1] in skip:
        before.pop()
    return before


def _hits(s: str, words: AbstractSet[str], vocabulary: AbstractSet[str]) -> list[tuple[int, str]]:
    """Every occurrence of a word of ``vocabulary`` in ``s``, in order: (position, word)."""
    common = words & vocabulary
    if not common:
        return []
    found = [(p, w) for w in common for p in occurrences(s, w)]
    if len(found) > 1:
        found.sort()
    return found


# --- e-mail, booking reference, phone ----------------------------------------------------

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_EMAIL_NORMALIZED = re.compile(r"[a-z0-9._%+-]+@[a-z0-9.-]+")
_REF_WORDS = _words(
    """reserva reservas reservation booking ref referencia reference localizador codigo code cod
    confirmation confirmacion confirmacao voucher numero nro number num"""
)
_NUMBER_KEYWORDS = frozenset({"numero", "nro", "number", "num"})
_REF_AFTER_KEYWORD = re.compile(
    r"(?:\s*(?:nro\.?|numero|num\.?|number|no\.?|nao|n\.o|n\.|#|:|\.|es|is|la|el|de|da|do|e|a|o|mi|my|minha"
    r"|code|codigo|id|ref|reference|por\s+favor|please|-|\?|,)(?![a-z]))*\s*"
    r"(?P<ref>(?=(?:[a-z-]*\d){3})[a-z0-9]{1,8}(?:-[a-z0-9]{1,10}){0,3})\b"
)  # "4521", "RES-12345", "QX7-4410", "7781-B", "BK-2026-0091", "88A21X": three digits or more
_REF_HASH = re.compile(r"#\s?(?P<ref>[a-z0-9-]*\d{3,}[a-z0-9-]*)\b")
_REF_DASH = re.compile(r"-\d{3,}[a-z0-9]*\b")
_FILE_NAME = re.compile(r"[\w-]*\.(?:jpe?g|png|gif|webp|heic|pdf|docx?|txt)\b")
_PHONE_AT = re.compile(r"\+?\d[\d .-]{6,18}\d(?![\d/]|[.,]\d)")
_NOT_PHONE_BEFORE = _words(
    "cuit cuil dni cbu cvu alias cuenta tarjeta card cpf cnpj rg pasaporte passport documento"
)
_PHONE_WORDS = _words(
    """cel celu celular movil tel telefono telefone fone whatsapp wsp wpp whats zap phone mobile
    cell call llamame llamar llamen llamenme llama liga ligar ligue contacto contato numero
    number"""
)

# --- time --------------------------------------------------------------------------------

_TIME_AT = re.compile(
    r"(?P<h>\d{1,2})(?:(?P<sep>[:h.])(?P<mi>[0-5]\d))?"
    r"(?:\s*(?P<suf>hs|hrs|hr|h|horas|am|pm|a\.m\.?|p\.m\.?)(?![a-z]))?"
    r"(?:\s*(?:de\s+la|da|por\s+la|a\s+la|in\s+the|at)\s+"
    r"(?P<q>manana|tarde|noche|madrugada|manha|noite|morning|afternoon|evening|night)\b)?"
    r"(?![\d/])(?!\s*(?:noches?|nights?|noites?|personas?|people|pessoas?|adult|hab|room|quarto"
    r"|camas?\b|beds?\b|singles?\b|dobles?\b|doubles?\b"
    r"|cuarto|dias?\b|days?\b|semana|week|mes\b|meses|month|anos|years|min|nin|nen|chic|kid"
    r"|crianc|%))"
)
_TIME_PRE = _words("las as tipo pelas das at until till by around about before after like")
_TIME_PRE_TAILS = (*(w + " " for w in _TIME_PRE), "la ")
_TIME_NEXT = frozenset({":", "h", ".", "a", "p"})  # "14:30", "14h", "10am", "2pm"
_TIME_NEXT2 = (
    " h",
    " am",
    " a.m",
    " pm",
    " p.m",
    " de la",
    " da ",
    " por la",
    " a la",
    " in the",
    " at ",
)
_DATE_BEFORE = _words("el del al dia the on")
_NOON = frozenset({"mediodia", "noon", "midday", "meio-dia"})
_MIDNIGHT = frozenset({"medianoche", "midnight", "meia-noite"})
_AFTERNOON = frozenset({"tarde", "afternoon", "evening"})
_NIGHT = frozenset({"noche", "noite", "night"})
_CLOCK_WORDS = _NOON | _MIDNIGHT | {"meio", "meia"}

# --- nights, people, rooms ---------------------------------------------------------------

_NIGHT_NOUNS = frozenset(
    [
        "noches",
        "noche",
        "nights",
        "night",
        "noites",
        "noite",
        "nts",
        "diarias",
        "diaria",
        "pernoites",
        "pernoite",
    ]
)
_NIGHT_SKIP = frozenset(["sola", "solo", "single", "only", "unica", "so"])
_NIGHT_NOT_BEFORE = _words(
    """extra additional otra otras another mais mas agregar agregarle agregamos sumar sumarle add
    adding extend extender alargar adicionar acrescentar sacar sacarle quitar quitarle restar
    remove removing drop cut tirar reducir tirar cortar tirar diminuir shorten shortening
    lengthen by acortar encurtar"""
)  # "quiero agregar/sacar una noche": a change to a booking, not its length
_MORE_AFTER = re.compile(r"\s*(?:mas|extra|more|a\s+mais|adicional|additional)\b")
_ADULT_NOUNS = frozenset(["adultos", "adulto", "adults", "adult", "mayores", "grownups", "grandes"])
_CHILD_PLURALS = _words(
    """ninos ninas nenes nenas chicos chicas hijos hijas menores bebes bebas gurises gurisas meninos
    meninas kids
    children babies infants toddlers sons daughters criancas filhos filhas nenens"""
)
_CHILD_SINGULARS = _words(
    """nino nina nene nena chico chica hijo hija menor bebe beba guri gurisa menino menina kid child
    baby infant
    toddler son daughter crianca filho filha nenem"""
)
_CHILD_NOUNS = _CHILD_PLURALS | _CHILD_SINGULARS
_CHILD_SKIP = frozenset(
    ["small", "little", "pequeno", "pequenos", "pequena", "chiquito", "chiquitos", "solo", "sola"]
)
_POSSESSIVES = frozenset(
    [
        "mi",
        "my",
        "meu",
        "minha",
        "con",
        "with",
        "com",
        "nuestro",
        "nuestra",
        "nosso",
        "nossa",
        "our",
    ]
)
# an age said apart from the child: "one child, she's 5", "he is 12", "tiene 7 años"
_AGE_APART = re.compile(
    r"\b(?:(?:he|she)(?:'s|\s+is)|(?:tiene|tem)|(?:of|de)\s+(?:age|edad|idade))\s+(\d{1,2})\b"
    r"(?!\s*(?:/|-|noche|night|noite|dia|day|de\s+\w+|am|pm|h\b))"
)
_KIDS_ARE = re.compile(
    r"\b(?:kids|children|chicos|chicas|nenes|ninos|ninas|hijos|hijas|criancas|filhos|filhas"
    r"|meninos|meninas|boys|girls)\s+(?:are|son|tienen|tem|sao)\s+"
    r"(?P<ages>\d{1,2}(?:\s*(?:,|y|e|and|&)\s*\d{1,2})+)(?!\s*(?:/|-|noche|night|noite|dia|day"
    r"|am|pm|h\b|hs\b|:))"
)
_YEAR_OLD = re.compile(
    r"\b(?:(my|our|mi|un|una|a|an)\s+)?(\d{1,2})[\s-]*(?:years?|yrs?)[\s-]*old\b"
)
_AGE_WORDS = "|".join(
    sorted((w for w, n in NUMBER_WORDS.items() if n <= 17), key=len, reverse=True)
)
_AGE = (
    r"(?:\d{1,2}(?:\s*(?:anos|ano|years?|yrs?|y/?o|meses|mes|months?))?"
    rf"|(?:{_AGE_WORDS})\s+(?:anos|ano|years?|yrs?|meses|mes|months?)\b)"  # "de cinco años"
    r"(?!\s*(?:/|-|noche|night|noite|hab|room|quarto|cuarto|adult|persona|people|pessoa|dia|day))"
)
_AGES_AT = re.compile(
    rf"\s*,?\s*(?:de|of|aged|ages?|com|con|with|de\s+idades?|de\s+edades?)?\s*{_AGE}"
    rf"(?:\s*(?:,|y|e|and|&)\s*{_AGE})*"
)
_AGE_ITEM = re.compile(rf"\b(\d{{1,2}}|{_AGE_WORDS})\b(\s*(?:meses|mes|months?))?")
_PERSON_NOUNS = _words(
    """personas persona persons person people pessoas pessoa pax huespedes huesped guests guest
    hospedes hospede ppl"""
)
_ROOM_NOUNS = _words(
    """habitaciones habitacion cuartos cuarto quartos quarto rooms room dormitorios apartamentos
    departamentos deptos apartments unidades units suites"""
)
_ROOM_ADJECTIVES = _words(
    """dobles doble double twin triples triple single simples simple individuales individual
    familiares familiar family matrimoniales matrimonial standard superior"""
)
_GUEST_WORDS = _words(
    """somos seriamos seremos vamos viajamos we we're we'll there son seran serian sao total grupo
    group party family familia para pra for quedariamos quedaremos entran caben cabem entram us"""
)
_GUESTS_AT = re.compile(
    r"(?:somos|seriamos|seremos|vamos\s+a\s+ser|vamos\s+ser|viajamos|quedariamos|quedaremos"
    r"|entran|caben|cabem|entram|we\s+are|we're|we'll\s+be"
    r"|we\s+will\s+be|there\s+are|there\s+will\s+be|somos\s+em|seremos\s+em|seriamos\s+em"
    r"|vamos\s+em|son|seran|serian|sao|total\s+de|en\s+total|grupo\s+de|group\s+of|party\s+of"
    r"|family\s+of|familia\s+de|para|pra|for)\s+"
    rf"(?P<n>{_NUM})\b"
)
_GUESTS_FOLLOW = re.compile(
    r"\s*(?:$|[?!.,;:)]|(?:personas?|persons?|people|pessoas?|pax|huespedes|guests|hospedes"
    r"|of\s+us|en\s+total|no\s+total|in\s+total|en\s+vez|en\s+lugar|instead|em\s+vez|nomas"
    r"|nada\s+mas|only|just|mas\s+o\s+menos|aprox\w*|del|de|desde|from|el|la|los|este|esta|this"
    r"|next|para|pra|for|on|na|no|ahora|agora|now|tenes|tienen|tenen|tem|hay|have|do|con|with"
    r"|com|y|e|and|mas|\+)\b)"
)
_AND = re.compile(r"\s*(?:y|e|and|con|with|com|mas|\+)\s+")
_COUNT_CORRECTED = re.compile(rf"\s*,?\s*(?:sino|e\s+sim)\s+(?:(?:somos|sao)\s+)?(?P<n>{_NUM})\b")
_ME_PLUS = re.compile(
    rf"\b(?:eu\s+e\s+mais\s+(?P<n>{_NUM})"
    rf"|me\s+(?:and|plus|\+)\s+(?P<n2>{_NUM})\s+(?:others|more|friends|mates|colleagues)"
    rf"|yo\s+y\s+(?P<n3>{_NUM})\s+(?:mas|amig[oa]s?))\b"
)
_OF_US = re.compile(
    rf"\b(?P<n>{_NUM})\s+of\s+us\b"
    r"(?!\s+(?:is|are|will|would|has|have|need|needs|can|could|want|wants|was|were)\b)"
)  # "four of us", "just the two of us": the party; not "two of us are vegetarian"
_CHILD_PHRASE_AT = re.compile(
    rf"(?:{_NUM}|a|an|mi|my|meu|minha)\s+(?:(?:small|little|pequenos?|chiquitos?)\s+)?"
    rf"(?:{'|'.join(sorted(_CHILD_NOUNS, key=len, reverse=True))})\b"
)
_ADULT_AHEAD = re.compile(r"\s*(?:adultos|adulto|adults|adult|mayores|grandes)\b")
_COUPLE_WORDS = _words(
    """pareja matrimonio couple casal wife husband partner girlfriend boyfriend esposa esposo
    marido mujer novia novio namorada namorado"""
)
_COUPLE = re.compile(
    r"\b(?:una\s+pareja|un\s+matrimonio|a\s+couple(?!\s+of)"
    r"|(?<!\bde\s)(?<!\bdo\s)(?<!quarto\s)(?<!cama\s)(?<!camas\s)(?<!suite\s)(?<!apto\s)casal"
    r"|my\s+(?:wife|husband|partner|girlfriend|boyfriend)\s+and\s+(?:i|me)"
    r"|me\s+and\s+my\s+(?:wife|husband|partner|girlfriend|boyfriend)"
    r"|yo\s+y\s+mi\s+(?:esposa|esposo|marido|mujer|novia|novio|pareja)"
    r"|eu\s+e\s+(?:minha|meu)\s+(?:esposa|marido|namorada|namorado)"
    r"|mi\s+(?:esposa|esposo|marido|mujer|novia|novio|pareja)\s+y\s+yo"
    r"|(?:minha|meu)\s+(?:esposa|marido|namorada|namorado)\s+e\s+eu)\b"
)
_COUPLES_WORDS = frozenset(["parejas", "casais", "couples", "matrimonios"])
_COUPLES = re.compile(r"\b(\w+)\s+(?:parejas|casais|couples|matrimonios)\b")
_ALONE_WORDS = frozenset(["solo", "sola", "myself", "sozinho", "sozinha", "alone", "nomas"])
_ALONE = re.compile(
    r"\b(?:para\s+mi\s+sol[oa]|para\s+mi\s+nomas|solo\s+yo|sola\s+yo|yo\s+sol[oa]|viajo\s+sol[oa]"
    r"|voy\s+sol[oa]|just\s+me|only\s+me|just\s+myself|by\s+myself|traveling\s+alone"
    r"|travelling\s+alone|so\s+eu|somente\s+eu|apenas\s+eu|sozinh[oa])\b"
)

# --- room types --------------------------------------------------------------------------

_ROOM_WORDS: dict[str, str] = {
    "camas": "twin", "beds": "twin", "twin": "twin", "twins": "twin",
    "doble": "double", "dobles": "double", "double": "double", "doubles": "double",
    "matrimonial": "double",
    "matrimoniales": "double", "queen": "double", "king": "double", "duplo": "double",
    "duplos": "double", "dupla": "double", "duplas": "double", "casal": "double",
    "individual": "single", "individuales": "single", "individuais": "single",
    "single": "single", "singles": "single",
    "solteiro": "single", "simple": "single", "simples": "single", "sencilla": "single",
    "triple": "triple", "triples": "triple", "triplo": "triple", "tripla": "triple",
    "triplos": "triple", "triplas": "triple",
    "familiar": "family", "familiares": "family", "family": "family", "familia": "family",
    "cuadruple": "family", "cuadruples": "family", "quadruple": "family",
    "quadruples": "family", "quadruplo": "family",
    "suite": "suite", "suites": "suite",
}  # fmt: skip
_ROOM_WORD_SET = frozenset(_ROOM_WORDS)
_TWO = frozenset({"dos", "2", "duas", "two"})
_ROOM_NAMES = frozenset(
    {"habitacion", "habitaciones", "cuarto", "cuartos", "quarto", "quartos", "room", "rooms"}
)
# "la simple", "la familiar": the article stands for the room ("me pasás el precio de la simple?")
_ROOM_ARTICLES = frozenset({"la", "las"})  # not "una": "una simple pregunta"
_DOUBLE_CHARGE = re.compile(r"\b(?:cobr\w*|pagu?e\w*|cargaron|charged)\s*$")
_NOT_DOUBLE_AFTER = re.compile(r"\s+(?:check|charge|charged|booking|booked)\b")
_NOT_SINGLE_AFTER = re.compile(r"\s+(?:nights?|noches?|noites?|beds?)\b")
_FAMILY_AFTER = re.compile(r"\s+(?:rooms?|suites?|apartments?|units?)\b")
_LEAVING = re.compile(
    r"\b(?:salir|salida|salimos|sair|saida|hasta|until|till|ate|check\s*-?\s*out|checkout|late"
    r"|keep|quedarnos|quedarme|quedar|dejar|leave|leaving|irnos|ficar)\b"
)
_CHANGE = re.compile(
    r"\b(?:cambi\w*|change|changing|switch\w*|troc\w*|mud\w*|pasar|pasarme|pasame|upgrade\w*"
    r"|alter\w*|modific\w*|en\s+lugar\s+de|en\s+vez\s+de|em\s+vez\s+de|instead\s+of)\b"
)

# --- amenities ---------------------------------------------------------------------------

_AMENITY_WORDS: dict[str, str] = {
    **dict.fromkeys(
        _split(
            """desayuno desayunos desayunar desayunamos desayunan breakfast breakfasts cafe
            pequeno-almoco almoco"""
        ),
        "breakfast",
    ),
    **dict.fromkeys(
        _split("""wifi wi-fi wi internet wireless"""),
        "wifi",
    ),
    **dict.fromkeys(
        _split(
            """pileta piletas pile piscina piscinas pscina alberca albercas pool pools swimming"""
        ),
        "pool",
    ),
    **dict.fromkeys(
        _split(
            """cochera cocheras estacionamiento estacionar estacionamento parking garage garagem
            aparcamiento parqueadero parqueaderos parqueo car park"""
        ),
        "parking",
    ),
    **dict.fromkeys(
        _split("""gimnasio gym academia fitness"""),
        "gym",
    ),
    **dict.fromkeys(
        _split("""spa sauna masaje masajes massage massages massagem jacuzzi hidromasaje"""),
        "spa",
    ),
    **dict.fromkeys(
        ["restaurante", "restaurantes", "restaurant", "restaurants", "restoran", "comedor"],
        "restaurant",
    ),
    **dict.fromkeys(
        _split("""lavanderia laundry lavado lavagem washing"""),
        "laundry",
    ),
    **dict.fromkeys(
        ["aire", "ac", "a/c", "aircon", "air", "ar", "ar-condicionado", "airconditioning"],
        "air_conditioning",
    ),
    **dict.fromkeys(
        _split("""traslado traslados transfer transfers shuttle airport"""),
        "transfer",
    ),
}
_AMENITY_WORD_SET = frozenset(_AMENITY_WORDS)
_AMENITY_PHRASES = {
    "cafe": re.compile(
        r"cafe\s+(?:d[aeo]\s+manha|incluso|incluido|includo)\b"
        r"|(?<=com\s)cafe\b|(?<=sem\s)cafe\b"
    ),
    "wi": re.compile(r"wi\s+fi\b"),
    "almoco": re.compile(r"(?<=pequeno\s)almoco\b"),  # pt-PT breakfast, not lunch
    "transfer": re.compile(r"transfer(?!\s+(?:me|us|you|my|this|the\s+call|to)\b)"),
    "air": re.compile(r"air\s?condition"),
    "ar": re.compile(r"ar\s+condicionado\b"),
    "aire": re.compile(r"aire(?!\s+libre)\b"),
    "car": re.compile(r"car\s+park\b"),
    # to park a car (not a park nearby)
    "park": re.compile(
        r"park(?=\s+(?:a|my|our|the|your)?\s*(?:car|cars|van|vehicle|truck|bike|"
        r"motorbike|motorcycle)s?\b)|(?<=to\s)park\b|(?<=can\s)park\b"
    ),
    "lavado": re.compile(r"lavado\s+de\s+ropa\b"),
    "lavagem": re.compile(r"lavagem\s+de\s+roupa\b"),
    "washing": re.compile(r"washing\s+machines?\b"),
    "airport": re.compile(r"airport\s+(?:pick\s?up|shuttle|transfer)"),
}
_BROKEN = re.compile(
    r"\W*(?:\w+\W+){0,2}?(?:no\s+anda\w*|no\s+funciona\w*|no\s+sirve|no\s+servia|didn'?t\s+work"
    r"|doesn'?t\s+work|don'?t\s+work|not\s+working|isn'?t\s+working|wasn'?t\s+working|broken"
    r"|rot[oa]\b|nao\s+funciona\w*|nao\s+funcionou|stopped\s+working|never\s+worked|dejo\s+de"
    r"|se\s+corto|no\s+tenia\s+senal|no\s+enfriaba|no\s+calentaba|no\s+prendia|suci[oa]|dirty"
    r"|suj[oa]|horrible|pesim[oa]|terrible|un\s+asco|malisim[oa]|awful|lent[oa]|slow|fri[oa]\b"
    r"|cold\b)"
)
_BROKEN_BEFORE = re.compile(
    r"\b(?:se\s+corto|se\s+rompio|no\s+(?:anda|andaba|funciona|funcionaba)|nao\s+funciona\w*"
    r"|broken|no\s+working)\s+(?:el|la|los|las|the|o|a|os|as)?\s*$"
)

# --- topics ------------------------------------------------------------------------------

_TOPIC_WORDS: dict[str, str] = {
    **dict.fromkeys(
        _split(
            """mascota mascotas perro perros perrito perritos perra perras gato gatos gata gatas
            gatinho gatinha gatito gatita pet pets dog dogs cat cats animal animales animais
            cachorro cachorros cachorra cadela cadelas petfriendly"""
        ),
        "pets",
    ),
    **dict.fromkeys(
        _split(
            """fumar fumo fuma fuman fumamos fumador fumadores fumadora fumante fumantes smoke smoking
            smoker smokers cigarro cigarros cigarrillo cigarrillos cigarette cigarettes pucho puchos
            tabaco vapear vapeo vape vaping vapor humo"""
        ),
        "smoking",
    ),
    **dict.fromkeys(
        _split(
            """multa multas penalidad penalidades penalizacion penalty penalties penalidade
            reembolsable refundable reembolsavel nonrefundable non-refundable"""
        ),
        "cancellation",
    ),
    **dict.fromkeys(
        _split(
            """dni pasaporte pasaportes passport passports documento documentos documentacion
            documentacao document documents documentation identificacion identification identidad
            identidade cedula rg cpf"""
        ),
        "id_documents",
    ),
    **dict.fromkeys(
        _split("""supletoria supletorias rollaway cuna cunas crib cribs cot cots berco"""),
        "extra_bed",
    ),
}
_CANCEL_WORDS = _words(
    """cancelar cancelo cancela cancelan cancelas cancelamos cancele cancelen cancelaria
    cancelariamos cancelacion cancelaciones cancelation cancellation cancellations cancel
    cancelling canceling cancelled canceled cancelamento cancelado cancelada cancelarla
    cancelarlo anular anulo anulamos anulacion"""
)
_POLICY_WORDS = frozenset(
    ["politica", "politicas", "policy", "policies", "condiciones", "condicoes", "terms", "free"]
)
_CHILD_POLICY_WORDS = frozenset(
    [
        "edad",
        "age",
        "idade",
        "friendly",
        "paga",
        "pagan",
        "pagam",
        "pay",
        "pays",
        "gratis",
        "cobran",
    ]
)
_SPECIAL_TOPIC_WORDS = frozenset({"id", "cama", "camas", "extra", "additional"})
_TOPIC_WORD_SET = (
    frozenset(_TOPIC_WORDS) | _CANCEL_WORDS | _POLICY_WORDS | _CHILD_PLURALS
    | _CHILD_POLICY_WORDS | _SPECIAL_TOPIC_WORDS
)  # fmt: skip
_CONDITIONAL = frozenset({"si", "if", "caso"})
_CONDITIONAL_ENDINGS = (
    "se eu", "se a gente", "se nos", "se precisar", "se tiver", "in case", "en caso de",
    "hasta cuando puedo", "hasta cuando se puede", "until when can i", "until when can we",
)  # fmt: skip
_CANCEL_AFTER = re.compile(
    r"\s+(?:policy|policies|terms|fee|fees|sin\s+cargo|sin\s+costo|gratis|for\s+free"
    r"|free\s+of\s+charge|sem\s+custo|de\s+graca|(?:\w+\s+){0,3}?hasta\s+cuando"
    r"|(?:tiene|tienen|tem|has|have|hay|lleva)\s+(?:\w+\s+)?(?:costo|cargo|custo|cost|fee|multa"
    r"|penalidad|recargo))\b"
)
_CANCEL_COST_BEFORE = _words(
    "cuesta cuestan sale cobran cobra cost costs custa cobram penalidad multa"
)
_POLICY_AFTER = re.compile(r"\s+(?:de\s+|of\s+)?cancel")
_EXTRA_BED_AFTER = re.compile(
    r"\s+(?:extras?|adicional(?:es)?|supletorias?|de\s+mas|a\s+mais|additional)\b"
)
_BED_AFTER = re.compile(r"\s+beds?\b")
_ID_BEFORE = frozenset({"an", "photo", "valid", "government", "my", "su", "tu", "seu"})
_CHILD_VERBS = _words(
    """aceptan admiten permiten reciben acepta admite permite llevar ir venir allow allowed allows
    accept accepted accepts aceitam admitem permitem levar apto aptos"""
)
_CHILD_ALLOWED_AFTER = re.compile(
    r"\s+(?:are\s+|son\s+|sao\s+)?(?:allowed|welcome|permitidos|bienvenidos|pagan|pay|pagam)\b"
)

_PEOPLE_WORDS = (
    _ADULT_NOUNS | _CHILD_NOUNS | _PERSON_NOUNS | _GUEST_WORDS | _COUPLE_WORDS | _ALONE_WORDS
    | _COUPLES_WORDS | {"me", "eu", "yo"}
)  # fmt: skip
_TRIGGERS = (
    TRIGGER_WORDS | _NOON | _MIDNIGHT | {"meio", "meia"} | _NIGHT_NOUNS | _ADULT_NOUNS
    | _CHILD_NOUNS | _PERSON_NOUNS | _ROOM_NOUNS | _GUEST_WORDS | _COUPLE_WORDS | _ALONE_WORDS
    | _COUPLES_WORDS | {"semana", "semanas", "week", "weeks"}
    | _ROOM_WORD_SET | _AMENITY_WORD_SET | _TOPIC_WORD_SET | _REF_WORDS | _PHONE_WORDS
    | frozenset(MONTHS) | {"me", "eu", "yo", "just", "only"}
)  # fmt: skip


def _blank(s: str, start: int, end: int) -> str:
    return s[:start] + " " * (end - start) + s[end:]


def _booking_ref(text: str, s: str, words: AbstractSet[str]) -> tuple[str | None, str]:
    """The first booking reference and ``s`` with it blanked out."""
    found: list[tuple[int, int, str]] = []
    for p, keyword in _hits(s, words, _REF_WORDS):
        m = _REF_AFTER_KEYWORD.match(s, p + len(keyword))
        if m is None:
            continue
        ref = m.group("ref")
        if keyword in _NUMBER_KEYWORDS and ref.isdigit() and len(ref) >= 8:
            continue  # "mi número es 1144556677": a phone
        if (
            len(ref) == 4
            and ref.isdecimal()
            and 1990 <= int(ref) <= 2100
            and s.endswith((" de ", " of ", " do ", " del "), 0, m.start("ref"))
        ):
            continue  # "la reserva de 2027": a year
        found.append((m.start("ref"), m.end("ref"), ref))
        break
    if "#" in s:
        for m in _REF_HASH.finditer(s):
            found.append((m.start("ref"), m.end("ref"), m.group("ref")))
            break
    if "-" in s:
        for m in _REF_DASH.finditer(s):
            start = m.start()
            while start > 0 and s[start - 1].isalpha():
                start -= 1
            if _FILE_NAME.match(s, m.end()):
                continue  # "IMG-20270312-WA0003.jpg": a file's name
            if 2 <= m.start() - start <= 5 and (start == 0 or not s[start - 1].isalnum()):
                found.append((start, m.end(), s[start : m.end()]))
                break
    if not found:
        return None, s
    start, end, ref = min(found, key=lambda f: (f[0], -f[1]))  # the first; the longest there
    # the reference as the guest wrote it (its case); a plain search, no pattern to compile
    at = text.lower().find(ref.lower()) if len(text.lower()) == len(text) else -1
    return (text[at : at + len(ref)] if at >= 0 else ref), _blank(s, start, end)


def _same_blanks(s: str, before: str, after: str) -> str:
    """``s`` blanked where ``after`` blanked ``before`` (all three have the same length)."""
    if before == after:
        return s
    chars = list(s)
    for i, (b, a) in enumerate(zip(before, after, strict=True)):
        if a == " " and b != " ":
            chars[i] = " "
    return "".join(chars)


def _phone(s: str, numbers: Sequence[int], words: AbstractSet[str]) -> tuple[str | None, str]:
    """The first phone number (E.164 when possible) and ``s`` with it blanked out."""
    covered = -1
    for p in numbers:
        if p < covered:
            continue
        start = p - 1 if p and s[p - 1] == "+" else p
        if start and (s[start - 1].isdigit() or s[start - 1] in "$.,/"):
            continue
        m = _PHONE_AT.match(s, start)
        if m is None:
            continue
        covered = m.end()
        if not _NOT_PHONE_BEFORE.isdisjoint(_previous(s, start)):
            continue  # "CUIT 20-12345678-9", "CBU 0140…": other numbers
        candidate = m.group()
        b = candidate.encode()
        digits = len(b) - len(b.translate(None, _DIGITS))
        if not 8 <= digits <= 15:
            continue
        plus = candidate.startswith("+")
        context = not words.isdisjoint(_PHONE_WORDS)
        if not (plus or digits >= 10 or context):
            continue
        try:
            number = phonenumbers.parse(candidate, None if plus else "AR")
            if not plus and digits == 11 and not phonenumbers.is_valid_number(number):
                # "(11) 97654-3210": a Brazilian mobile (area code, then 9 and eight digits)
                brazil = phonenumbers.parse(candidate, "BR")
                if phonenumbers.is_valid_number(brazil):
                    number = brazil
        except phonenumbers.NumberParseException:
            number = None
        if number is not None and phonenumbers.is_possible_number(number):
            if not plus and not words.isdisjoint(_MOBILE_WORDS):
                number = _ar_mobile(number)
            value = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        elif plus or context:
            value = candidate
        else:
            continue
        return value, _blank(s, m.start(), m.end())
    return None, s


_MOBILE_WORDS = frozenset(
    {"cel", "celu", "celular", "movil", "whatsapp", "wsp", "wpp", "whats", "mobile", "zap"}
)


def _ar_mobile(number: phonenumbers.PhoneNumber) -> phonenumbers.PhoneNumber:
    """An Argentine mobile dialled locally ("11 6234 8890", "0351 15-612-3456") in E.164 needs
    the 9 after the country code; a landline does not, so only a "cel"/"whatsapp" context adds it.
    """
    national = str(number.national_number)
    if number.country_code != 54 or national.startswith("9") or len(national) != 10:
        return number
    return phonenumbers.PhoneNumber(country_code=54, national_number=int("9" + national))


def _time(s: str, numbers: Sequence[int], words: AbstractSet[str]) -> tuple[str | None, str]:
    """The one clock time mentioned (``None`` when two differ) and ``s`` with times blanked."""
    values: list[str] = []
    size = len(s)
    for p in numbers:
        if p and (s[p - 1].isdigit() or s[p - 1] in "/.:$,#+-"):
            continue
        e = p + 2 if p + 1 < size and s[p + 1].isdigit() else p + 1
        if not (
            s[e : e + 1] in _TIME_NEXT
            or s.startswith(_TIME_NEXT2, e)
            or s.endswith(_TIME_PRE_TAILS, 0, p)
        ):
            continue  # cheap test first: most numbers are not times
        m = _TIME_AT.match(s, p)
        if m is None:
            continue
        sep, suf, q, mi = m.group("sep"), m.group("suf"), m.group("q"), m.group("mi")
        if sep == "." and suf not in ("hs", "hrs", "hr", "h"):
            before = s[max(0, p - 12) : p].split()
            if not (before and before[-1] in _TIME_PRE and mi is not None and len(mi) == 2):
                continue  # "a las 14.30" is a time; "1.500" or "2.5" is not
        hour, minute = int(m.group("h")), int(mi or 0)
        clock = sep == ":" or (sep == "h" and mi is not None)
        if q and not (clock or suf):
            before = s[max(0, p - 12) : p].split()
            if hour > 12 or (before and before[-1] in _DATE_BEFORE):
                continue  # "llegamos el 15 a la tarde": a day, not an hour
        if not (clock or suf or q):
            before = s[max(0, p - 12) : p].split()
            pre = before[-1] if before else ""
            if not (pre in _TIME_PRE or (pre == "la" and hour == 1)):
                continue
        elif suf == "horas":
            before = s[max(0, p - 12) : p].split()
            if not before or before[-1] not in _TIME_PRE:
                continue
        if suf in ("am", "pm", "a.m", "a.m.", "p.m", "p.m."):
            if not 1 <= hour <= 12:
                continue
            hour = hour % 12 + (12 if suf.startswith("p") else 0)
        elif (q in _AFTERNOON and 1 <= hour <= 11) or (q in _NIGHT and 6 <= hour <= 11):
            hour += 12
        elif q in _NIGHT and hour == 12:
            hour = 0
        if hour > 23:
            continue
        values.append(f"{hour:02d}:{minute:02d}")
        if _OR_HOUR.match(s, m.end()):
            values.append("either")  # "at 10 or 11": two times, so none
        s = _blank(s, p, m.end())
    if not words.isdisjoint(_CLOCK_WORDS):
        for _, word in _hits(s, words, _CLOCK_WORDS):
            if word in _NOON or (word == "meio" and s.find("meio dia") >= 0):
                values.append("12:00")
            elif word in _MIDNIGHT or (word == "meia" and s.find("meia noite") >= 0):
                values.append("00:00")
    if len(values) == 2 and values[0] != values[1] and _INSTEAD.search(s):
        return values[0], s  # "a las 2 de la tarde en vez de a las 10": the one asked for
    if not values or any(v != values[0] for v in values):
        return None, s
    return values[0], s


_INSTEAD = re.compile(r"\b(?:en vez de|en lugar de|instead of|rather than|em vez de|no lugar de)\b")
_OR_HOUR = re.compile(r"\s+(?:or|o|ou)\s+(?:at\s+|a\s+las\s+|as\s+)?\d{1,2}(?![\d/])")


def _nights(s: str, words: AbstractSet[str]) -> int | None:
    for p, noun in _hits(s, words, _NIGHT_NOUNS):
        before = _previous(s, p, _NIGHT_SKIP)
        if not before or before[-1] in ("a", "an"):
            continue
        n = _value(before[-1])
        if n is None or not 1 <= n <= 365:
            continue
        if len(before) >= 2 and before[-2] in _NIGHT_NOT_BEFORE:
            continue
        if _MORE_AFTER.match(s, p + len(noun)):
            continue
        return n
    return None


_WEEK_WORDS = frozenset({"semana", "semanas", "week", "weeks"})
# "nos quedamos una semana", "for two weeks", "por uma semana": a stay's length. Not "la semana
# que viene", "en una semana", "hace una semana", "a week ago", "this week".
_WEEKS = re.compile(
    r"(?<!\ben\s)(?<!\bin\s)(?<!\bhace\s)(?<!\bem\s)(?<!\bdaqui a\s)"
    r"\b(una|uma|1|one|a|dos|duas|2|two|tres|tres|3|three)\s+(?:semanas?|weeks?)\b"
    r"(?!\s+(?:ago|atras|que\s+viene|que\s+vem|antes|before|in\s+advance|de\s+anticipacion"
    r"|de\s+antelacion|de\s+antecedencia|de\s+aviso|notice))"
)


_SHIFT = re.compile(
    r"\b(?:corr|mov|pas|adelant|atras|posterg|postpon|push|shift|adi|antecip|delay|move|falt)\w*"
)  # "faltando uma semana", "faltan dos semanas": how long before, not a stay


def _weeks(s: str) -> int | None:
    m = _WEEKS.search(s)
    if m is None or _SHIFT.search(s, 0, m.start()):
        return None  # "correr la reserva una semana": a shift, not a stay's length
    n = _value(m.group(1)) or (1 if m.group(1) == "a" else None)
    return 7 * n if n else None


def _ages(text: str, count: int) -> list[int]:
    ages = []
    for m in _AGE_ITEM.finditer(text):
        age = 0 if m.group(2) else (_value(m.group(1)) or 0)
        if age <= 17:
            ages.append(age)
    return ages[:count]


def _people(
    s: str, words: AbstractSet[str]
) -> tuple[int | None, int | None, list[int], int | None]:
    """adults, children, children's ages, guests."""
    adults = children = guests = None
    ages: list[int] = []
    for p, _ in _hits(s, words, _ADULT_NOUNS):
        before = _previous(s, p)
        n = _value(before[-1]) if before else None
        if n:
            adults = n
            break
    for p, noun in _hits(s, words, _CHILD_NOUNS):
        before = _previous(s, p, _CHILD_SKIP)
        if not before:
            continue
        word = before[-1]
        if word in _ARTICLES or (word in _POSSESSIVES and noun in _CHILD_SINGULARS):
            n = 1
        else:
            n = _value(word) or 0
        if not 1 <= n <= 30:
            continue
        children = (children or 0) + n
        m = _AGES_AT.match(s, p + len(noun))
        if m is not None:
            ages += _ages(m.group(), n)
    if children is None and (kids := _KIDS_ARE.search(s)) is not None:
        found = [int(a) for a in re.findall(r"\d{1,2}", kids.group("ages"))]
        if all(a <= 17 for a in found):  # "the kids are 7 and 10": two children and their ages
            children, ages = len(found), found
    if children and len(ages) < children:
        ages += [int(a) for a in _AGE_APART.findall(s) if int(a) <= 17][: children - len(ages)]
    if "old" in s:
        for m in _YEAR_OLD.finditer(s):
            age = int(m.group(2))
            if age > 17 or (children and len(ages) >= children):
                continue
            if children is None or (m.group(1) and len(ages) >= children):
                children = (children or 0) + 1  # "my 8 year old": a child of their own
            ages.append(age)
    if not words.isdisjoint(_GUEST_WORDS):
        for p, _ in _hits(s, words, _GUEST_WORDS):
            m = _GUESTS_AT.match(s, p)
            if m is None:
                continue
            word, end = m.group("n"), m.end()
            n = _value(word) or 0
            if not 1 <= n <= 99:
                continue
            if (fixed := _COUNT_CORRECTED.match(s, end)) and 1 <= (_value(fixed["n"]) or 0) <= 99:
                guests = _value(fixed["n"])  # "no somos 3 sino 4": the corrected count
                break
            if not _GUESTS_FOLLOW.match(s, end) or _ADULT_AHEAD.match(s, end):
                continue
            if word in _ARTICLES and not re.match(r"\s*(?:persona|pessoa|person)", s[end:]):
                continue
            joined = _AND.match(s, end)
            if joined and _CHILD_PHRASE_AT.match(s, joined.end()):
                adults = adults or n  # "somos dos y un nene de 7"
                break
            guests = n
            break
    if guests is None and not words.isdisjoint(("eu", "me", "yo")) and (m := _ME_PLUS.search(s)):
        n = _value(m["n"] or m["n2"] or m["n3"]) or 0
        if 1 <= n <= 98:
            guests = n + 1  # "sou eu e mais um", "me and 3 friends", "yo y dos amigos"
    if guests is None and "us" in words and (m := _OF_US.search(s)):
        n = _value(m["n"]) or 0
        if 2 <= n <= 99:
            guests = n
    if guests is None:
        for p, _ in _hits(s, words, _PERSON_NOUNS):
            before = _previous(s, p)
            if before and before[-1] not in _ARTICLES:
                n = _value(before[-1]) or 0
                if 1 <= n <= 999:
                    guests = n
                    break
    if adults is None and not words.isdisjoint(_COUPLES_WORDS) and (m := _COUPLES.search(s)):
        n = _value(m.group(1))
        if n is not None and 2 <= n <= 20:
            adults = 2 * n  # "somos 2 parejas", "dois casais", "three couples"
    if adults is None and not words.isdisjoint(_COUPLE_WORDS) and _COUPLE.search(s):
        adults = 2
    if (
        guests is None
        and (
            not words.isdisjoint(_ALONE_WORDS)
            or ("me" in words and ("just" in words or "only" in words))
            or "eu" in words
        )
        and _ALONE.search(s)
    ):
        guests = 1
    if guests is None and adults is not None and children is not None:
        guests = adults + children
    return adults, children, ages, guests


_OF_THE_BEFORE = _words(
    """algum alguma alguns algumas nenhum nenhuma um uma cada qual quais todos todas muitos
    varios dentro fora perto longe alem"""
)  # pt "dos" is "of the" after these: "algum dos quartos"


def _rooms(s: str, words: AbstractSet[str]) -> int | None:
    for p, _ in _hits(s, words, _ROOM_NOUNS):
        before = _previous(s, p, _ROOM_ADJECTIVES)
        if not before or before[-1] in _ARTICLES:
            continue
        if before[-1] == "dos" and len(before) >= 2 and before[-2] in _OF_THE_BEFORE:
            continue
        n = _value(before[-1])
        if n is not None and 2 <= n <= 50:  # "one room" is what every stay has: not a count
            return n
    for p, word in _hits(s, words, _ROOM_WORD_SET):  # "3 dobles", "2 single": rooms by type
        if word in ("camas", "beds") or _BED_AFTER.match(s, p + len(word)):
            continue
        before = _previous(s, p)
        n = _value(before[-1]) if before else None
        if n is not None and 2 <= n <= 20:
            return n
    return None


_BED_AFTER = re.compile(r"\s+(?:beds?|camas?|nights?|noches?|noites?)\b")


def _room_type(s: str, words: AbstractSet[str]) -> str | None:
    kinds: list[str] = []
    for p, word in _hits(s, words, _ROOM_WORD_SET):
        end = p + len(word)
        before = _previous(s, p)
        last = before[-1] if before else ""
        kind = _ROOM_WORDS[word]
        if word in ("camas", "beds"):
            if last in ("single", "twin") and len(before) >= 2:
                last = before[-2]
            if not (last in _TWO or (s.startswith(" separadas", end) and _value(last) is None)):
                continue  # "dos camas", "camas separadas"; not "tres camas separadas"
        elif word in ("individual", "individuales", "individuais", "solteiro", "simple", "simples",
                      "single"):  # fmt: skip
            if last in ("cama", "camas", "de") and (len(before) < 2 or before[-2] != "quarto"):
                continue  # "dos camas individuales", "duas camas de solteiro"
            if word.startswith("simple") and last not in _ROOM_NAMES and last not in _ROOM_ARTICLES:
                continue
            if word == "single" and _NOT_SINGLE_AFTER.match(s, end):
                continue
        elif word in ("doble", "dobles"):
            if _DOUBLE_CHARGE.search(s, max(0, p - 16), p):
                continue
        elif word == "double":
            if _NOT_DOUBLE_AFTER.match(s, end) or _DOUBLE_CHARGE.search(s, max(0, p - 16), p):
                continue
        elif word == "casal":
            if last not in ("de", "do", "quarto", "cama", "camas", "suite", "apto", "apartamento"):
                continue
        elif word == "family":
            if not _FAMILY_AFTER.match(s, end):
                continue
        elif word in ("familiar", "familiares"):
            if last not in _ROOM_NAMES and last not in _ROOM_ARTICLES:
                continue  # "un problema familiar", "viaje familiar": not a room
        elif word == "familia":
            if last == "de" and len(before) >= 2:
                last = before[-2]
            if last not in _ROOM_NAMES:
                continue
        if kind not in kinds:
            kinds.append(kind)
    if not kinds:
        return None
    if len(kinds) == 1:
        return kinds[0]
    return kinds[-1] if _CHANGE.search(s) else None


def _amenities(s: str, words: AbstractSet[str]) -> list[str]:
    found: list[str] = []
    for p, word in _hits(s, words, _AMENITY_WORD_SET):
        kind = _AMENITY_WORDS[word]
        if kind in found:
            continue
        end = p + len(word)
        phrase = _AMENITY_PHRASES.get(word)
        if phrase is not None:
            m = phrase.match(s, p)
            if m is None:
                continue
            end = m.end()
        if _BROKEN.match(s, end, end + 40) or _BROKEN_BEFORE.search(s, max(0, p - 24), p):
            continue
        found.append(kind)
    return found


def _topic(s: str, words: AbstractSet[str]) -> str | None:
    for p, word in _hits(s, words, _TOPIC_WORD_SET):
        end = p + len(word)
        topic = _TOPIC_WORDS.get(word)
        if topic is not None:
            return topic
        if word in _CANCEL_WORDS:
            before = _previous(s, p)
            if (
                not _CONDITIONAL.isdisjoint(before) or not _CANCEL_COST_BEFORE.isdisjoint(before)
            ) or " ".join(before).endswith(_CONDITIONAL_ENDINGS):
                return "cancellation"
            if _CANCEL_AFTER.match(s, end):
                return "cancellation"
        elif word in _POLICY_WORDS:
            if _POLICY_AFTER.match(s, end):
                return "cancellation"
        elif word in _CHILD_PLURALS:
            if not _CHILD_VERBS.isdisjoint(_previous(s, p)) or _CHILD_ALLOWED_AFTER.match(s, end):
                return "children"
        elif word in _CHILD_POLICY_WORDS:
            before = _previous(s, p)
            last = before[-1] if before else ""
            if (
                (word == "edad" and last == "que")
                or (word == "age" and last == "what")
                or (word == "idade" and last == "que")
                or (word == "friendly" and last in ("kid", "kids", "child", "children"))
            ):
                return "children"
        elif word == "id":
            before = _previous(s, p)
            if (before and before[-1] in _ID_BEFORE) or s.startswith(" card", end):
                return "id_documents"
        elif word in ("cama", "camas"):
            if _EXTRA_BED_AFTER.match(s, end):
                return "extra_bed"
        elif word in ("extra", "additional") and _BED_AFTER.match(s, end):
            return "extra_bed"
    return None


def extract_entities(text: str, normalized: str, *, today: dt.date) -> Entities:
    """The entities of one message (see the module docstring). Total: never raises."""
    s = normalized
    b = s.encode()
    has_digit = len(b.translate(None, _DIGITS)) != len(b)
    seen = words_of(s)
    words = seen & _TRIGGERS  # the only words any rule below looks up
    # days and hours said in words ("el quince de marzo", "a las ocho") are read as digits by
    # the date and time readers only (the counts below still see "somos dos"), and only when a
    # month or an hour's cue is there too: most "dos" and "una" are not dates
    spelled = not seen.isdisjoint(DAY_WORD_STARTS) and not seen.isdisjoint(MONTHS)
    hours = not seen.isdisjoint(HOUR_WORDS) and not seen.isdisjoint(HOUR_CUES)
    has_at = "@" in s
    if not (has_digit or has_at or words or spelled or hours):
        return Entities()  # a fresh one: its lists must not be shared
    email = None
    if has_at:
        m = _EMAIL.search(text)
        email = m.group().rstrip(".") if m else None
        for m in _EMAIL_NORMALIZED.finditer(s):
            s = _blank(s, m.start(), m.end())
    booking_ref = phone = time = None
    numbers: list[int] = []
    if has_digit:
        numbers = number_starts(s)
        booking_ref, s = _booking_ref(text, s, words)
        phone, s = _phone(s, numbers, words)
    if has_digit or hours or not words.isdisjoint(_CLOCK_WORDS):
        if hours:
            d = digitize_hours(s)
            time, read = _time(d, number_starts(d), words)
            s = _same_blanks(s, d, read)
        else:
            time, s = _time(s, numbers, words)
    dates = NO_DATES
    if has_digit or spelled or not words.isdisjoint(TRIGGER_WORDS):
        d = digitize(s) if spelled else s
        dates = find_dates(d, today=today, words=words,
                           numbers=number_starts(d) if spelled else numbers)  # fmt: skip
        for start, end in dates.spans:
            s = _blank(s, start, end)
    # each rule only when one of its words is there (a set test is cheaper than a call)
    nights = None if words.isdisjoint(_NIGHT_NOUNS) else _nights(s, words)
    if nights is None and not words.isdisjoint(_WEEK_WORDS):
        nights = _weeks(s)
    adults = children = guests = None
    ages: list[int] = []
    if not words.isdisjoint(_PEOPLE_WORDS):
        adults, children, ages, guests = _people(s, words)
    rooms = (
        None
        if words.isdisjoint(_ROOM_NOUNS) and words.isdisjoint(_ROOM_WORD_SET)
        else _rooms(s, words)
    )
    leaving_at_a_time = (
        dates.weekday_only and time is not None and _LEAVING.search(normalized) is not None
    )
    check_in, check_out, invalid = _stay(dates, nights, leaving_at_a_time)
    if check_in is not None and check_out is not None:
        nights = (check_out - check_in).days
    room_type = None if words.isdisjoint(_ROOM_WORD_SET) else _room_type(normalized, words)
    amenities = [] if words.isdisjoint(_AMENITY_WORD_SET) else _amenities(normalized, words)
    if "a/c" in normalized and "air_conditioning" not in amenities:
        amenities.append("air_conditioning")
    topic = None if words.isdisjoint(_TOPIC_WORD_SET) else _topic(normalized, words)
    if not (
        check_in or check_out or invalid or nights or adults or children or guests or rooms
        or room_type or booking_ref or email or phone or time or amenities or topic
    ):  # fmt: skip
        return Entities()  # a fresh one: its lists must not be shared
    return Entities(
        check_in=check_in,
        check_out=check_out,
        nights=nights,
        adults=adults,
        children=children,
        children_ages=ages,
        guests=guests,
        rooms=rooms,
        room_type=room_type,
        booking_ref=booking_ref,
        email=email,
        phone=phone,
        time=time,
        amenities=amenities,
        topic=topic,
        invalid_dates=invalid,
    )


def _stay(
    dates: DateResult, nights: int | None, leaving_at_a_time: bool
) -> tuple[dt.date | None, dt.date | None, bool]:
    """Check-in, check-out and ``invalid_dates`` from the dates read and the nights given."""
    if dates.invalid:
        return None, None, True
    check_in, check_out = dates.check_in, dates.check_out
    if dates.weekday_only and leaving_at_a_time:
        return None, None, False  # "salir a las 14hs el domingo": a moment, not a stay
    try:
        if check_in is not None and check_out is None and nights:
            check_out = check_in + dt.timedelta(days=nights)
        elif check_out is not None and check_in is None and nights:
            check_in = check_out - dt.timedelta(days=nights)
    except OverflowError:
        return check_in, check_out, False
    return check_in, check_out, False
