"""Stay dates in guests' words (es-AR, en, pt-BR), resolved against ``today``. Pure.

``find_dates(s, today=...)`` reads *normalised* text (see ``normalize``) in which the caller has
already blanked out times, phone numbers, e-mails and booking references (same length, so
positions hold) and returns the check-in, the check-out, whether a date was impossible, and the
spans it used (so the counts stage does not read "15" in "del 15 al 18" as a number of people).

How a mention becomes a date (the conventions of ``shared/nlu/dev.jsonl``):

* ``15/12``, ``15-12``, ``15/12/26`` are day/month (Argentina). ``24/7`` is "always", not a date.
* "15 de enero", "july 10", "10th of july", "Dec 15": the next occurrence on or after ``today``,
  so it rolls to next year once passed. Month names take one-letter typos ("enro", "febero",
  "setiembre") and es/en/pt abbreviations.
* A bare day ("el 14", "the 21st", "dia 5") is this month, or next month once that day has
  passed. Weak forms ("del 10", "de 2", "from 3") only count inside a range, so "un grupo de 8"
  is not a date.
* Ranges: "del 29 al 3" (the end is the first such day after the start, here next month),
  "del 28 de diciembre al 2 de enero" (across the year end), "de 27/12 a 3/1", "April 2-5",
  "from the 4th to the 6th", "del viernes al domingo", "desde mañana hasta el 20".
* "hoy"/"today"/"hoje"/"esta noche", "mañana"/"tomorrow"/"amanhã", "pasado mañana"/"day after
  tomorrow"/"depois de amanhã". Not "a/por la mañana" (morning), not "hasta mañana" / "nos
  vemos mañana" (a goodbye) and not in a question about the weather ("si mañana llueve").
* Weekdays ("el viernes", "na sexta", "on friday"): the next one after today; "este viernes"
  said on a Friday is today. Plurals ("los domingos") and past ones ("el domingo pasado") are
  not stay dates. A weekday alone gives only a check-in.
* "el finde" / "this weekend" / "fim de semana" / "fds": Friday to Sunday of the coming
  weekend; from Friday on, the current one (on Saturday: today to Sunday; on Sunday: today,
  with no check-out). "El finde que viene" / "next weekend" / "o próximo fim de semana" (ambiguous; the agent
  confirms) take the first weekend whose Friday is still ahead. "El finde del 15": Friday to
  Sunday around that day (the nearest Friday). A weekend someone refers to
  ("lo del finde", "la reserva del finde", "todo el fin de semana", "el finde pasado") is not a
  new stay. "La semana que viene" gives no dates (ambiguous).
* Long weekends ("finde largo", "long weekend", "feriadão"): an Argentine guest means the
  nights around a holiday, but which nights is rarely clear. We give dates only when it is
  unambiguous: an *unnamed* long weekend ("tienen lugar el finde largo?") whose coming weekend
  (as for "el finde") is stretched by exactly one Argentine holiday (``holidays``, bridge days
  included) into a three-day run: we arrive the evening before the first day off and leave on
  the last day off, as "el finde" does (Fri → Sun), i.e. Fri → Mon or Thu → Sun. A named one
  ("finde largo de carnaval", "de semana santa", "del 9 de julio") or a run of four days or more
  (carnival, Easter, bridge days) gives no dates: guests come for some of those nights and the
  agent asks which.
* Words that leave ("nos vamos el domingo", "nos iríamos el 14", "hasta el 20", "check out on
  the 5th") make a date the check-out. "en vez del 16" / "instead of the 16th" is discarded.
  "el 24 y 25 de diciembre": the first day takes the month of the second (check-in only).
* "del 29 al 3 de mayo" starts on April 29, but a start that would make the stay longer than
  three weeks ("del 18 al 15 de marzo") is a check-out before the check-in: invalid.
* An impossible date ("31 de junio", "30/02") or a check-out on or before the check-in gives no
  dates and ``invalid``.
* Days in words ("el quince de marzo", "de vinte e dois a vinte e cinco de julho", "the twenty
  second of June") are read through ``digitize``, a same-length copy with digits, when a month
  is named; hours in words ("a las ocho de la noche") through ``digitize_hours``, only after a
  cue ("a las", "às", "at") or before a part of the day.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from collections.abc import Set as AbstractSet

__all__ = [
    "MONTHS",
    "NO_DATES",
    "TRIGGER_WORDS",
    "DateResult",
    "find_dates",
    "number_starts",
    "occurrences",
    "resolve_day",
    "resolve_day_month",
    "words_of",
]

_DAY = dt.timedelta(days=1)


def _words(text: str) -> frozenset[str]:
    """A vocabulary written as one string of words, one per space."""
    return frozenset(text.split())


# --- vocabulary --------------------------------------------------------------------------

_MONTH_NAMES: dict[str, int] = {
    # Spanish
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7,
    "agosto": 8, "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11,
    "diciembre": 12,
    # Portuguese
    "janeiro": 1, "fevereiro": 2, "marco": 3, "maio": 5, "junho": 6, "julho": 7,
    "setembro": 9, "outubro": 10, "novembro": 11, "dezembro": 12,
    # English
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
}  # fmt: skip
_MONTH_ABBREVIATIONS: dict[str, int] = {
    "ene": 1, "jan": 1, "feb": 2, "fev": 2, "mar": 3, "abr": 4, "apr": 4, "mai": 5,
    "jun": 6, "jul": 7, "ago": 8, "aug": 8, "sep": 9, "sept": 9, "set": 9, "oct": 10,
    "nov": 11, "dic": 12, "dez": 12, "dec": 12,
}  # fmt: skip
# One-letter deletions that are ordinary words, or that two months share.
_NOT_TYPOS = frozenset({"arco", "marc", "gosto", "mayo"})


def _month_words() -> dict[str, int]:
    words = dict(_MONTH_ABBREVIATIONS)
    typos: dict[str, set[int]] = {}
    for name, month in _MONTH_NAMES.items():
        if len(name) >= 5:
            for i in range(len(name)):
                typos.setdefault(name[:i] + name[i + 1 :], set()).add(month)
    for typo, months in typos.items():
        if len(months) == 1 and typo not in _NOT_TYPOS and len(typo) >= 4:
            words.setdefault(typo, next(iter(months)))
    words.update(_MONTH_NAMES)
    return words


MONTHS = _month_words()


# --- days in words ---------------------------------------------------------------------------


def _day_words() -> dict[str, str]:
    """Days of the month said in words (es, pt, en) → the digits the readers understand."""
    es = [
        "uno",
        "dos",
        "tres",
        "cuatro",
        "cinco",
        "seis",
        "siete",
        "ocho",
        "nueve",
        "diez",
        "once",
        "doce",
        "trece",
        "catorce",
        "quince",
        "dieciseis",
        "diecisiete",
        "dieciocho",
        "diecinueve",
        "veinte",
        "veintiuno",
        "veintidos",
        "veintitres",
        "veinticuatro",
        "veinticinco",
        "veintiseis",
        "veintisiete",
        "veintiocho",
        "veintinueve",
        "treinta",
    ]
    pt = [
        "_",
        "dois",
        "tres",
        "quatro",
        "cinco",
        "seis",
        "sete",
        "oito",
        "nove",
        "dez",
        "onze",
        "doze",
        "treze",
        "catorze",
        "quinze",
        "dezesseis",
        "dezessete",
        "dezoito",
        "dezenove",
        "vinte",
    ]
    out = {w: str(i) for i, w in enumerate(es, 1)}
    out |= {w: str(i) for i, w in enumerate(pt, 1) if w != "_"}
    out |= {"duas": "2", "quatorze": "14", "dezasseis": "16", "dezassete": "17",
            "dezanove": "19", "trinta": "30", "treinta y uno": "31", "trinta e um": "31",
            "primeiro": "1", "veintiun": "21"}  # fmt: skip
    for unit, u in (("um", 1), ("dois", 2), ("duas", 2), ("tres", 3), ("quatro", 4),
                    ("cinco", 5), ("seis", 6), ("sete", 7), ("oito", 8), ("nove", 9)):  # fmt: skip
        out[f"vinte e {unit}"] = str(20 + u)
    for unit, u in (("uno", 1), ("dos", 2), ("tres", 3), ("cuatro", 4), ("cinco", 5),
                    ("seis", 6), ("siete", 7), ("ocho", 8), ("nueve", 9)):  # fmt: skip
        out[f"veinte y {unit}"] = str(20 + u)
    # English: ordinals ("the fifteenth", "twenty-second") keep their suffix, so that the
    # date reader takes them as days; cardinals of two words too ("twenty two")
    units = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    ordinal_units = [
        "first",
        "second",
        "third",
        "fourth",
        "fifth",
        "sixth",
        "seventh",
        "eighth",
        "ninth",
    ]
    teens = [
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
    ]
    ordinal_teens = [
        "tenth",
        "eleventh",
        "twelfth",
        "thirteenth",
        "fourteenth",
        "fifteenth",
        "sixteenth",
        "seventeenth",
        "eighteenth",
        "nineteenth",
    ]
    suffix = {1: "st", 2: "nd", 3: "rd", 21: "st", 22: "nd", 23: "rd", 31: "st"}
    for i, w in enumerate(ordinal_teens, 10):
        out[w] = f"{i}th"
    for i, w in enumerate(ordinal_units[3:], 4):  # "fourth" … "ninth"; not "first"/"second"
        out[w] = f"{i}th"
    out["third"] = "3rd"
    out["twentieth"], out["thirtieth"] = "20th", "30th"
    for tens, n in (("twenty", 20), ("thirty", 30)):
        for i, (unit, ordinal) in enumerate(zip(units, ordinal_units, strict=True), 1):
            if n + i > 31:
                break
            for sep in (" ", "-"):
                out[f"{tens}{sep}{ordinal}"] = f"{n + i}{suffix.get(n + i, 'th')}"
                out[f"{tens}{sep}{unit}"] = str(n + i)
    for i, w in enumerate(teens, 10):
        out[w] = str(i)
    return out


DAY_WORDS = _day_words()
#: words that may start a day in words (a cheap test before the substitution)
DAY_WORD_STARTS = (
    frozenset(w.split()[0].split("-")[0] for w in DAY_WORDS)
    | frozenset(w.split()[0] for w in DAY_WORDS)  # "twenty-second" is one word
    | {"first", "second"}
)
_DAY_WORD_RE = re.compile(
    r"(?<![\w-])(?:"
    + "|".join(sorted(map(re.escape, DAY_WORDS), key=len, reverse=True))
    + r")(?![\w-])"
)
#: single English words that are also ordinary words ("a second room", "first time"): a day
#: only right before a month ("first of may", "second june")
_ORDINAL_BEFORE_MONTH = re.compile(r"\s+(?:of\s+)?(?P<m>[a-z]+)")


_HOUR_WORDS: dict[str, str] = {
    **{w: str(i) for i, w in enumerate(
        ["una", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve", "diez", "once", "doce"], 1)},
    **{w: str(i) for i, w in enumerate(
        ["uma", "duas", "tres", "quatro", "cinco", "seis", "sete", "oito", "nove", "dez", "onze", "doze"], 1)},
    **{w: str(i) for i, w in enumerate(
        ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"], 1)},
    "dois": "2",
}  # fmt: skip
_HOUR_ALTS = "|".join(sorted(_HOUR_WORDS, key=len, reverse=True))
HOUR_WORDS = frozenset(_HOUR_WORDS)
#: words without which an hour in words is never read (a cheap test before the substitution)
HOUR_CUES = frozenset(
    [
        "las",
        "la",
        "as",
        "at",
        "around",
        "until",
        "till",
        "after",
        "before",
        "pelas",
        "tipo",
        "manana",
        "tarde",
        "noche",
        "madrugada",
        "manha",
        "noite",
        "morning",
        "afternoon",
        "evening",
        "night",
        "punto",
        "clock",
        "oclock",
        "o'clock",
    ]
)
#: an hour in words only where it cannot be anything else: "a las ocho", "hasta las dos",
#: "às três", "at eight", or followed by the part of the day ("ocho de la noche")
_HOUR_IN_WORDS = re.compile(
    r"\b(?:(?:a|hasta|desde|para|tipo|antes\s+de|despues\s+de|pelas|ate|a\s+partir\s+de"
    r"|por\s+volta\s+de)\s+(?:las|la|as|a)\s+|(?:as|at|around|until|till|after|before)\s+)"
    rf"(?P<w>{_HOUR_ALTS})\b(?!\s+(?:more|mas|mais|extra|other|otr|outr|night|noche|noite|person"
    r"|people|persona|pessoa|room|hab|quarto|cuarto|adult|kid|child|nin|crianc|of\s+us|bed|cama))"
    rf"|\b(?P<v>{_HOUR_ALTS})(?=\s+(?:de\s+la|da|in\s+the|at)\s+(?:manana|tarde|noche|madrugada"
    r"|manha|noite|morning|afternoon|evening|night)\b|\s+o'?clock\b|\s+en\s+punto\b)"
)


def digitize_hours(s: str) -> str:
    """``s`` with hours said in words as digits where they are surely hours, positions kept."""

    def one(m: re.Match[str]) -> str:
        group = "w" if m.group("w") else "v"
        start = m.start(group)
        word = m.group(group)
        return m.group()[: start - m.start()] + _HOUR_WORDS[word].ljust(len(word))

    return _HOUR_IN_WORDS.sub(one, s)


def digitize(s: str) -> str:
    """``s`` with days of the month said in words written as digits, padded with spaces so that
    every position stays where it was ("el quince de marzo" → "el 15     de marzo")."""

    def one(m: re.Match[str]) -> str:
        return DAY_WORDS[m.group()].ljust(len(m.group()))

    out = _DAY_WORD_RE.sub(one, s)
    for word, digits in (("first", "1st"), ("second", "2nd")):
        at = out.find(word)
        while at >= 0:
            end = at + len(word)
            whole = (at == 0 or not out[at - 1].isalnum()) and not out[end : end + 1].isalnum()
            ahead = _ORDINAL_BEFORE_MONTH.match(out, end)
            if whole and ahead is not None and ahead.group("m") in MONTHS:
                out = out[:at] + digits.ljust(len(word)) + out[end:]
            at = out.find(word, end)
    return out


WEEKDAYS: dict[str, int] = {
    "lunes": 0, "martes": 1, "miercoles": 2, "jueves": 3, "viernes": 4, "sabado": 5,
    "domingo": 6,
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5,
    "sunday": 6,
    "segunda": 0, "terca": 1, "quarta": 2, "quinta": 3, "sexta": 4,
}  # fmt: skip


_ORD = r"(?:st|nd|rd|th|ro|do|to|mo|vo|no|er|o)?"
_END = r"(?![\d/:]|[.,]\d)"
_NOTCOUNT = r"(?!\s*(?:personas?|persons?|people|pessoas?|adult|nin|nen|chic|kid|child|crianc|beb|hab|room|quarto|cuarto|noche|night|noite|pax|huesped|guest|hora|hour|hs\b|am\b|pm\b|anos|years|meses|months|pernoite|diaria|%))"

_PREFIXES = (
    "el", "del", "al", "dia", "do dia", "no dia", "o dia", "ao dia", "el dia", "the", "on the",
    "on", "de", "a", "ao", "desde", "hasta", "from", "to", "entre", "y", "e", "and", "ate",
    "para el", "pro dia", "para o dia", "pra o dia", "a partir del", "a partir de", "a partir do",
    "starting", "starting on", "starting the", "till", "until", "-", "dias", "os dias",
    "los dias", "nos dias", "entre os dias", "entre los dias", "between", "between the",
    "for", "for the",
)  # fmt: skip
_STRONG_PREFIXES = frozenset(
    {
        "el", "dia", "do dia", "no dia", "o dia", "el dia", "on the", "on", "para el",
        "pro dia", "para o dia", "pra o dia", "a partir del", "a partir de", "a partir do",
        "starting", "starting on", "starting the",
    }
)  # fmt: skip

_NUMERIC = re.compile(
    rf"""
    (?P<d>\d{{1,2}}|primero|primer)(?P<o>{_ORD})
    (?:
      (?P<sep>[/-])(?P<m>\d{{1,2}})(?:(?P=sep)(?P<y>\d{{4}}|\d\d))?(?![\d/]|[.,]\d)
    | \s+(?:de\s+|of\s+)?(?P<mw>[a-z]+)\.?(?:,?\s+(?:de\s+|del\s+)?(?P<yy>(?:19|20|21)\d\d)\b)?
    )?
    """,
    re.X,
)
_AFTER_MONTH = re.compile(
    rf"\.?\s+(?:the\s+)?(?P<d>\d{{1,2}}){_ORD}"
    rf"(?:\s*(?:-|to|through|thru|till|until)\s*(?P<d2>\d{{1,2}}){_ORD}(?![\d/:]|[.,]\d))?"
    rf"(?:,?\s+(?P<y>(?:19|20|21)\d\d))?{_END}\b"
)
_AFTER_WEEKDAY = re.compile(
    rf",?\s+(?:the\s+)?(?P<d>\d{{1,2}}){_ORD}(?:\s+(?:de|of)\s+(?P<m>[a-z]+))?{_END}\b{_NOTCOUNT}"
)
# Month names are matched as any word and looked up in ``MONTHS``: an alternation of a few
# hundred names (typos included) tried at each position would cost far more.
_RANGE_DASH = re.compile(r"\d{1,2}\s*-\s*(?P<b>\d{1,2})\s+(?:de\s+|of\s+)?(?P<m>[a-z]+)\b")
_NOT_A_DAY_AFTER = re.compile(_NOTCOUNT.replace("(?!", "(?:", 1))
_FEIRA = re.compile(r"[- ]feira\b")

# Words that can start a date expression: kind, value.
_WORD_KINDS: dict[str, tuple[str, int]] = {w: ("month", n) for w, n in MONTHS.items()}
_WORD_KINDS.update({w: ("wd", n) for w, n in WEEKDAYS.items()})
_WORD_KINDS.update(
    {f"{w}-feira": ("wd", WEEKDAYS[w]) for w in ("segunda", "terca", "quarta", "quinta", "sexta")}
)
_WORD_KINDS.update(
    {
        "manana": ("rel", 1), "tomorrow": ("rel", 1), "amanha": ("rel", 1), "hoy": ("rel", 0),
        "today": ("rel", 0), "hoje": ("rel", 0), "tonight": ("rel", 0), "noche": ("night", 0),
        "noite": ("night", 0), "finde": ("wkd", 0), "weekend": ("wkd", 0), "fds": ("wkd", 0),
        "wkend": ("wkd", 0), "feriadao": ("wkd", 0), "semana": ("semana", 0),
    }
)  # fmt: skip
_DAY_AFTER_REL = {"manana": "pasado ", "tomorrow": "day after ", "amanha": "depois de "}

_LIST_JOIN = re.compile(r"\s*(?:,|y|e|and|o|or|ou)\s*(?:el|the|o|dia)?\s*")
_WEEKEND_OF = re.compile(
    r"\s+(?:del|de|do|of\s+the|of)\s+(?:dia\s+)?(?P<d>\d{1,2})(?:st|nd|rd|th)?"
    r"(?:\s+(?:de|of)\s+(?P<m>[a-z]+))?(?![\d/])"
)
_CONNECTOR = re.compile(
    r"\s*,?\s*(?:-|al|a|ao|hasta|to|till|until|thru|through|ate|y|e|and)\s*"
    r"(?:el\s+dia|el|la|o\s+dia|o|the|dia|a)?\s*"
)
# What the words right before or after a mention say about it. Checked on the last few words
# (``_before``), not with regexes searched over a window: that is much cheaper.
_LEAVE_WORDS = _words(
    """irnos salir salimos saldriamos saldremos salgo saliendo salida dejamos dejariamos volvemos
    regresamos checkout check-out leave leaving depart departing departure hasta until till ate
    saimos sairemos sairiamos sair sairia saindo saio sairei partimos partindo embora saida out
    checking-out dep dep."""
)
_LEAVE_PAIRS = frozenset(
    {("nos", "vamos"), ("nos", "iriamos"), ("nos", "iremos"), ("me", "voy"), ("me", "iria"),
     ("check", "out"), ("a", "ir")}
)  # fmt: skip
_ARTICLES = frozenset({"el", "la", "o", "the", "on", "dia", "no", "na"})
_INSTEAD_FILLERS = frozenset({
    "de", "del", "do", "da", "el", "the", "dia", "of",
    # "en vez de irnos el 12", "instead of leaving on the 12th": the date the guest drops
    "irnos", "irme", "salir", "llegar", "venir", "volver", "sair", "chegar", "ir", "voltar",
    "leaving", "arriving", "coming", "on",
})  # fmt: skip
_INSTEAD_PAIRS = frozenset({("en", "vez"), ("en", "lugar"), ("em", "vez"), ("ao", "inves")})
_MORNING_OR_BYE = frozenset({"la", "esta", "cada", "da", "hasta", "until", "vemos", "ate"})
_WEATHER_WORDS = _words(
    """llueve llover lluvia pronostico clima rain raining rainy weather forecast chuva chover chove"""
)
_PAST = re.compile(r"\s*(?:pasado|passado|anterior|last)\b")
_PLURAL_BEFORE = frozenset({"los", "cada", "every", "as", "aos"})
_PAST_BEFORE = frozenset({"last", "ultimo", "pasado"})
_THIS_BEFORE = frozenset({"este", "esta", "this", "nesta", "neste", "essa", "esse"})
_REFERRED_BEFORE = frozenset({"del", "do", "cada", "ultimo", "last", "every", "all", "pasado"})
_REFERRED_PAIRS = frozenset(
    {("lo", "del"), ("todo", "el"), ("todo", "o"), ("el", "otro"), ("during", "the"),
     ("the", "whole"), ("durante", "el")}
)  # fmt: skip
_NEXT_BEFORE = frozenset({"next", "proximo", "proxima", "siguiente"})
_NEXT_AFTER = re.compile(r"\s*(?:que\s+viene|que\s+vem|proximo|siguiente)\b")
_LONG_AFTER = re.compile(r"\s*(?:largo|prolongado|long)\b")
_LONG_BEFORE = frozenset({"long", "feriado"})
_NAMED_AFTER = re.compile(r"\s*(?:largo|prolongado)?\s*(?:de|del|do|da|of|for)\s+[a-z0-9]")
_PT_WEEKDAY_BEFORE = _words(
    "na no nesta neste proxima pra para ate essa esta chegamos chego chegaremos chegariamos chegar"
    " saimos sair saio"
)  # "sexta", "quinta"… alone are ordinal numbers too: only after these
TRIGGER_WORDS = frozenset(_WORD_KINDS) - frozenset(MONTHS) | {"primero", "primer"} | _WEATHER_WORDS


# a mention whose last words hold none of these is neither "instead" nor "leaving"
_CONTEXT_WORDS = (
    _LEAVE_WORDS | {w for pair in _LEAVE_PAIRS for w in pair}
    | {w for pair in _INSTEAD_PAIRS for w in pair} | {"instead", "not"}
)  # fmt: skip


def _before(s: str, p: int) -> list[str]:
    """The last (up to five) words before position ``p``."""
    return s[max(0, p - 48) : p].split()[-5:]


def _is_leaving(before: list[str]) -> bool:
    """ "nos vamos el", "hasta el", "check out on the", "salimos temprano el"…"""
    words = list(before)
    for _ in range(2):
        if words and words[-1] in _ARTICLES:
            words.pop()
    n = len(words)
    for i in (n - 1, n - 2):
        if i >= 0 and words[i] in _LEAVE_WORDS:
            return True
        if i >= 1 and (words[i - 1], words[i]) in _LEAVE_PAIRS:
            return True
    return False


def _is_instead(before: list[str]) -> bool:
    """ "en vez del", "instead of the", "not the"…"""
    words = list(before)
    for _ in range(4):
        if words and words[-1] in _INSTEAD_FILLERS:
            words.pop()
    if not words:
        return False
    return words[-1] in ("instead", "not") or (
        len(words) >= 2 and (words[-2], words[-1]) in _INSTEAD_PAIRS
    )


def _last(before: list[str]) -> str:
    return before[-1] if before else ""


def _last_pair(before: list[str]) -> tuple[str, str]:
    return (before[-2], before[-1]) if len(before) >= 2 else ("", "")


class DateResult(NamedTuple):
    """What ``find_dates`` read. ``weekday_only``: every date used came from a weekday name."""

    check_in: dt.date | None
    check_out: dt.date | None
    invalid: bool
    weekday_only: bool
    spans: tuple[tuple[int, int], ...]


NO_DATES = DateResult(None, None, False, False, ())
# "del 29 al 3 de mayo" starts in April; "del 18 al 15 de marzo" is a check-out before the check-in.
_MAX_BACK_NIGHTS = 21


class _Mention:
    """One date expression. Either ``date`` is known, or a day (and maybe month/year) is."""

    __slots__ = (
        "back", "date", "day", "end", "leave", "month", "start", "weak", "weekday", "year",
    )  # fmt: skip

    def __init__(self, start: int, end: int) -> None:
        self.start = start
        self.end = end
        self.date: dt.date | None = None
        self.day = 0
        self.month = 0
        self.year = 0
        self.weekday = -1
        self.leave = False  # after words of leaving: a check-out
        self.weak = False  # "del 10", "de 8": a date only inside a range
        self.back = False  # month taken as the one before the end's ("del 29 al 3 de mayo")


def _mkdate(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except (ValueError, OverflowError):
        return None


def _add(date: dt.date, days: int) -> dt.date | None:
    try:
        return date + dt.timedelta(days=days)
    except OverflowError:
        return None


def resolve_day(day: int, today: dt.date) -> dt.date | None:
    """A bare day: this month, or the next month that has it once it has passed."""
    year, month = today.year, today.month
    if day < today.day:
        month += 1
    for _ in range(3):
        if month > 12:
            year, month = year + 1, 1
        found = _mkdate(year, month, day)
        if found is not None:
            return found
        month += 1
    return None


def resolve_day_month(day: int, month: int, today: dt.date) -> dt.date | None:
    """Day and month without a year: the next occurrence on or after ``today``.

    ``None`` when the day does not exist in that month ("31 de junio", "29/02" in a common year).
    """
    year = today.year if (month, day) >= (today.month, today.day) else today.year + 1
    return _mkdate(year, month, day)


def _day_after(start: dt.date, day: int) -> dt.date | None:
    """The first date after ``start`` whose day of the month is ``day``."""
    year, month = start.year, start.month
    if day <= start.day:
        month += 1
    for _ in range(3):
        if month > 12:
            year, month = year + 1, 1
        found = _mkdate(year, month, day)
        if found is not None:
            return found
        month += 1
    return None


def _weekday_after(start: dt.date, weekday: int) -> dt.date | None:
    return _add(start, (weekday - start.weekday()) % 7 or 7)


def _resolve_start(m: _Mention, today: dt.date) -> dt.date | None:
    if m.date is not None:
        return m.date
    if m.year:
        return _mkdate(m.year, m.month, m.day)
    if m.month:
        return resolve_day_month(m.day, m.month, today)
    return resolve_day(m.day, today)


def _resolve_end(m: _Mention, start: dt.date) -> dt.date | None:
    """The end of a range that starts on ``start`` (``None`` when impossible or not after)."""
    if m.weekday >= 0 and not m.day:
        return _weekday_after(start, m.weekday)
    if m.date is not None:
        return m.date
    if m.year:
        return _mkdate(m.year, m.month, m.day)
    if m.month:
        year = start.year
        if m.month < start.month and start.month - m.month >= 6:
            year += 1  # "del 28 de diciembre al 2 de enero"
        return _mkdate(year, m.month, m.day)
    return _day_after(start, m.day)


@functools.lru_cache(maxsize=32)
def _holidays(year: int) -> frozenset[dt.date]:
    """Argentine public holidays (bridge days included) of ``year``; loaded on first use."""
    import holidays  # heavy (~0.3 s): only when a guest mentions a long weekend

    return frozenset(holidays.country_holidays("AR", years=year))


def _day_off(day: dt.date) -> bool:
    return day.weekday() >= 5 or day in _holidays(day.year)


def _weekend(today: dt.date, *, following: bool) -> tuple[dt.date, dt.date] | None:
    wd = today.weekday()
    if following:
        friday = _add(today, (4 - wd) % 7 or 7)
    elif wd >= 4:  # Friday to Sunday: what is left of the current one (on Sunday, today only)
        return (today, today + (6 - wd) * _DAY) if today.year < 9999 else None
    else:
        friday = _add(today, 4 - wd)
    if friday is None or friday.year >= 9999:
        return None
    return friday, friday + 2 * _DAY


def _weekend_of(m: re.Match[str], today: dt.date) -> tuple[dt.date, dt.date] | None:
    """Friday to Sunday of the weekend around a day ("el finde del 15"): the nearest Friday."""
    day, month = int(m.group("d")), MONTHS.get(m.group("m") or "", 0)
    if not 1 <= day <= 31:
        return None
    date = resolve_day_month(day, month, today) if month else resolve_day(day, today)
    if date is None or date.year >= 9999:
        return None
    wd = date.weekday()
    if wd >= 4:  # Friday to Sunday: its own weekend
        friday, sunday = date - (wd - 4) * _DAY, date + (6 - wd) * _DAY
    elif wd == 0:  # Monday: the weekend just before it
        friday, sunday = date - 3 * _DAY, date - _DAY
    else:  # Tuesday to Thursday: the weekend after it
        friday = date + (4 - wd) * _DAY
        sunday = friday + 2 * _DAY
    friday = max(friday, today)
    return (friday, sunday) if sunday > friday else None


def _long_weekend(today: dt.date) -> tuple[dt.date, dt.date] | None:
    """The coming weekend when one holiday stretches it to exactly three days off."""
    if not 1900 <= today.year <= 2200:
        return None
    wd = today.weekday()
    saturday = today + ((5 - wd) % 7 if wd != 6 else 6) * _DAY
    first, last = saturday, saturday + _DAY
    while _day_off(first - _DAY):
        first -= _DAY
    while _day_off(last + _DAY):
        last += _DAY
    if (last - first).days != 2:
        return None
    check_in = max(first - _DAY, today)
    return (check_in, last) if last > check_in else None


def _prefix(s: str, start: int) -> str | None:
    """The preposition or article right before a bare day ("el", "del", "on the"…), if any."""
    if start == 0 or not s[start - 1].isspace():
        return None
    before = s[max(0, start - 24) : start].split()
    for k in (3, 2, 1):
        if len(before) >= k:
            candidate = " ".join(before[-k:])
            if candidate in _PREFIX_SET:
                return candidate
    return None


_PREFIX_SET = frozenset(_PREFIXES)
_PREFIX_TAILS = tuple(p.rsplit(" ", 1)[-1] + " " for p in _PREFIXES)


def _scan(
    s: str, today: dt.date, words: AbstractSet[str], numbers: Sequence[int]
) -> list[_Mention | tuple[_Mention, _Mention]] | DateResult:
    """Every date expression of ``s``, in order; a ``DateResult`` when one settles it all."""
    found: list[tuple[int, int, _Mention | tuple[_Mention, _Mention]]] = []
    for p in numbers:
        m = _NUMERIC.match(s, p)
        if m is not None and (item := _numeric(s, m)) is not None:
            found.append(_span(item))
    hits = [(p, w) for w in words & _WORD_KINDS.keys() for p in occurrences(s, w)]
    if "primero" in words or "primer" in words:
        for w in ("primero", "primer"):
            for p in occurrences(s, w):
                m = _NUMERIC.match(s, p)
                if m is not None and (item := _numeric(s, m)) is not None:
                    found.append(_span(item))
    for start, word in hits:
        what, value = _WORD_KINDS[word]
        end = start + len(word)
        item2: _Mention | tuple[_Mention, _Mention] | None = None
        if what == "month":
            m = _AFTER_MONTH.match(s, end)
            if m is None:
                continue
            a = int(m.group("d"))
            x = _Mention(start, m.end())
            x.day, x.month = a, value
            if m.group("d2"):
                b = int(m.group("d2"))
                if not (1 <= a <= 31 and 1 <= b <= 31):
                    continue
                y = _Mention(m.end(), m.end())
                y.day, y.month = b, value
                if a > b:
                    x.month, x.back = (value - 2) % 12 + 1, True
                item2 = (x, y)
            else:
                if not 1 <= a <= 31:
                    continue
                if yy := m.group("y"):
                    x.year = int(yy)
                item2 = x
            end = m.end()
        elif what == "wd":
            word_end = end
            if f := _FEIRA.match(s, end):
                word_end = f.end()
            elif (
                value <= 4
                and word in _PT_ONLY
                and _last(_before(s, start)) not in _PT_WEEKDAY_BEFORE
                and not any(a <= start < b for a, b in _pt_ranges(s))
            ):
                continue
            m = _AFTER_WEEKDAY.match(s, word_end)
            if m is not None and 1 <= int(m.group("d")) <= 31:
                x = _Mention(start, m.end())
                x.day = int(m.group("d"))
                if (mon := m.group("m")) and mon in MONTHS:
                    x.month = MONTHS[mon]
                elif mon:
                    x.end = m.end("d")
                end = x.end
            else:
                last = _last(_before(s, start))
                if last in _PLURAL_BEFORE or last in _PAST_BEFORE or _PAST.match(s, word_end):
                    continue
                x = _Mention(start, word_end)
                x.weekday = value
                delta = (value - today.weekday()) % 7
                if delta == 0 and last not in _THIS_BEFORE:
                    delta = 7
                x.date = _add(today, delta)
                end = word_end
            item2 = x
        elif what in ("rel", "night"):
            if what == "night":
                if not s.endswith("esta ", 0, start):
                    continue
                start -= 5
            elif word in _DAY_AFTER_REL and s.endswith(_DAY_AFTER_REL[word], 0, start):
                start -= len(_DAY_AFTER_REL[word])
                value = 2
            elif (word == "manana" and _last(_before(s, start)) in _MORNING_OR_BYE) or (
                word == "amanha" and s.endswith("ate ", 0, start)
            ):
                continue
            if not words.isdisjoint(_WEATHER_WORDS):
                continue  # "che sabes si mañana llueve?"
            x = _Mention(start, end)
            x.date = _add(today, value)
            item2 = x
        else:  # a weekend
            if what == "semana":
                if not (s.endswith("fin de ", 0, start) or s.endswith("fim de ", 0, start)):
                    continue
                start -= 7
            before = _before(s, start)
            if (
                _last(before) in _REFERRED_BEFORE
                or _last_pair(before) in _REFERRED_PAIRS
                or _PAST.match(s, end)
            ):
                continue
            if _LONG_AFTER.match(s, end) or _last(before) in _LONG_BEFORE or word == "feriadao":
                if not _NAMED_AFTER.match(s, end):
                    span = _long_weekend(today)
                    if span is not None:
                        return DateResult(span[0], span[1], False, False, ((start, end),))
                return DateResult(None, None, False, False, ((start, end),))
            following = _last(before) in _NEXT_BEFORE or _NEXT_AFTER.match(s, end) is not None
            if (of := _WEEKEND_OF.match(s, end)) is not None:
                span = _weekend_of(of, today)  # "el finde del 15"
                end = of.end()
            else:
                span = _weekend(today, following=following)
            if span is None:
                continue
            x, y = _Mention(start, end), _Mention(end, end)
            x.date, y.date = span
            item2 = x if x.date == y.date else (x, y)  # on Sunday, only today is left
        found.append((start, end, item2))
    found.sort(key=lambda f: f[0])
    items: list[_Mention | tuple[_Mention, _Mention]] = []
    corrected = "sino" in s or " e sim" in s
    last_end = -1
    for start, end, item in found:
        if start < last_end:
            continue
        last_end = end
        first = item[0] if isinstance(item, tuple) else item
        if first.date is None and not first.day:
            continue  # beyond the calendar
        before = _before(s, first.start)
        if not _CONTEXT_WORDS.isdisjoint(before):
            if _is_instead(before):
                continue
            first.leave = _is_leaving(before)
        if corrected and _CORRECTED_AFTER.match(s, end):
            continue  # "no el viernes sino el sábado", "não na sexta e sim no sábado": dropped
        items.append(item)
    return items


_CORRECTED_AFTER = re.compile(r"\s*,?\s*(?:sino|e\s+sim)\b")


_PT_ONLY = frozenset({"segunda", "terca", "quarta", "quinta", "sexta"})
_PT_DAY = r"(?:segunda|terca|quarta|quinta|sexta|sabado|domingo)(?:-feira)?"
_PT_RANGE = re.compile(rf"\bde\s+{_PT_DAY}\s+(?:a|ate)\s+{_PT_DAY}\b")


def _pt_ranges(s: str) -> list[tuple[int, int]]:
    """ "de sexta a domingo": both ends are weekdays, not the ordinals "sexta", "quinta"."""
    return [m.span() for m in _PT_RANGE.finditer(s)] if "de " in s else []


def _span(
    item: _Mention | tuple[_Mention, _Mention],
) -> tuple[int, int, _Mention | tuple[_Mention, _Mention]]:
    if isinstance(item, tuple):
        return item[0].start, max(item[0].end, item[1].end), item
    return item.start, item.end, item


def _numeric(s: str, m: re.Match[str]) -> _Mention | tuple[_Mention, _Mention] | None:
    """A date expression that starts with a number ("15/12", "15 de enero", "del 10")."""
    start, end = m.span()
    if start and (s[start - 1].isalnum() or s[start - 1] in "$.,:/#+-"):
        return None
    d, o, sep, mo, y, mw, yy = m.groups()
    day = 1 if d[0] == "p" else int(d)  # "primero", "primer": only with a month
    if not 1 <= day <= 31:
        return None
    if sep == "-" and (r := _RANGE_DASH.match(s, start)) and r.group("m") in MONTHS:
        b, month = int(r.group("b")), MONTHS[r.group("m")]
        if not 1 <= b <= 31:
            return None
        x, second = _Mention(start, r.end()), _Mention(r.end(), r.end())
        x.day, x.month = day, month
        second.day, second.month = b, month
        if day > b:
            x.month, x.back = (month - 2) % 12 + 1, True
        return (x, second)  # "15-18 de marzo"
    if sep is not None:
        month = int(mo)
        if not 1 <= month <= 12:
            return None
        if sep == "/" and day == 24 and month == 7 and not y:
            return None  # "24/7": always open
        if sep == "-" and _NOT_A_DAY_AFTER.match(s, end):
            return None  # "2-3 noches"
        x = _Mention(start, end)
        x.day, x.month = day, month
        if y:
            x.year = int(y) + (2000 if len(y) == 2 else 0)
        return x
    if mw is not None and mw in MONTHS:
        x = _Mention(start, end)
        x.day, x.month = day, MONTHS[mw]
        if yy:
            x.year = int(yy)
        return x
    if day == 1 and d[0] == "p":
        return None
    end = m.end("o")
    # a bare day: "el 14", "the 21st"; weak ("del 10", "de 8") unless in a range
    pre = None
    if not o and start >= 2 and s[start - 1] == " " and s.endswith(_PREFIX_TAILS, 0, start):
        pre = _prefix(s, start)
    if not o and pre is None:
        ahead = _RANGE_AHEAD.match(s, end)
        if ahead is None or ahead.group("m") not in MONTHS:
            return None
        # "12 a 15 de maio": a bare day that opens a range ending in a month counts in it
        x = _Mention(start, end)
        x.day, x.weak = day, True
        return x
    if _END_RE.match(s, end) is None or _NOT_A_DAY_AFTER.match(s, end):
        return None
    x = _Mention(start, end)
    x.day = day
    if not o:
        x.weak = pre not in _STRONG_PREFIXES
    return x


_END_RE = re.compile(r"(?![\d/:a-z]|[.,]\d)")
_RANGE_AHEAD = re.compile(
    r"\s*(?:a|al|to|ate|hasta|till|until|-)\s*(?:el\s+|the\s+|o\s+)?\d{1,2}"
    + _ORD
    + r"\s+(?:de\s+|of\s+)?(?P<m>[a-z]+)"
)


def words_of(s: str) -> set[str]:
    """The words of normalised text, cheaply (punctuation that ends words dropped: "reserva:")."""
    return set(
        s.replace("?", " ").replace(",", " ").replace(".", " ").replace("!", " ").replace(":", " ")
        .split()
    )  # fmt: skip


def occurrences(s: str, word: str) -> Iterator[int]:
    """Where ``word`` occurs in ``s`` as a whole word (not inside a longer one)."""
    n, size = len(word), len(s)
    i = s.find(word)
    while i >= 0:
        if (i == 0 or not s[i - 1].isalpha()) and (i + n == size or not s[i + n].isalpha()):
            yield i
        i = s.find(word, i + n)


_DIGIT_RUN = re.compile(r"\d+")


def number_starts(s: str) -> list[int]:
    """Where each run of digits starts."""
    return [m.start() for m in _DIGIT_RUN.finditer(s)]


def find_dates(
    s: str,
    *,
    today: dt.date,
    words: AbstractSet[str] | None = None,
    numbers: Sequence[int] | None = None,
) -> DateResult:
    """Check-in and check-out mentioned in ``s`` (normalised, with non-date spans blanked).

    ``words`` (``words_of(s)``) and ``numbers`` (``number_starts(s)``) may be passed by a
    caller that already has them.
    """
    if words is None:
        words = words_of(s)
    if numbers is None:
        numbers = number_starts(s)
    items = _scan(s, today, words, numbers)
    if isinstance(items, DateResult):
        return items
    if not items:
        return NO_DATES
    return _combine(items, s, today)


def _combine(
    items: list[_Mention | tuple[_Mention, _Mention]], s: str, today: dt.date
) -> DateResult:
    """Pair mentions into a range, or pick a check-in and a check-out, and resolve them."""
    pair: tuple[_Mention, _Mention] | None = None
    check_in: _Mention | None = None
    check_out: _Mention | None = None
    i = 0
    while i < len(items):
        item = items[i]
        if isinstance(item, tuple):
            if pair is None and check_in is None and check_out is None:
                pair = item
            i += 1
            continue
        nxt = items[i + 1] if i + 1 < len(items) else None
        if (
            isinstance(nxt, _Mention)
            and _CONNECTOR.fullmatch(s, item.end, nxt.start)
            and _connects(s, item, nxt)
        ):
            if pair is None and check_in is None and check_out is None:
                pair = (item, nxt)
            i += 2
            continue
        if (
            isinstance(nxt, _Mention)
            and item.date is None
            and not item.month
            and nxt.month
            and _LIST_JOIN.fullmatch(s, item.end, nxt.start)
        ):
            item.month, item.year = nxt.month, nxt.year  # "el 24 y 25 de diciembre"
        if not item.weak:
            if item.leave:
                check_out = check_out or item
            else:
                check_in = check_in or item
        i += 1
    if pair is not None:
        return _resolve_pair(pair[0], pair[1], today)
    if check_in is not None and check_out is not None and check_out.start > check_in.start:
        return _resolve_pair(check_in, check_out, today)
    single = check_in or check_out
    if single is None:
        return NO_DATES
    date = _resolve_start(single, today)
    spans = ((single.start, single.end),)
    if date is None:
        return DateResult(None, None, True, False, spans)
    weekday_only = single.weekday >= 0 and not single.day
    if single is check_in:
        return DateResult(date, None, False, weekday_only, spans)
    return DateResult(None, date, False, weekday_only, spans)


def _connects(s: str, a: _Mention, b: _Mention) -> bool:
    """ "y"/"e"/"and" join two dates into a range only after "entre"/"between"."""
    between = s[a.end : b.start].split()
    if between and between[0] in ("y", "e", "and"):
        return (
            s[max(0, a.start - 16) : a.start]
            .rstrip()
            .endswith(("entre", "entre el", "between", "between the", "entre o", "entre os dias"))
        )
    return True


def _resolve_pair(a: _Mention, b: _Mention, today: dt.date) -> DateResult:
    spans = ((a.start, a.end), (b.start, b.end))
    weekday_only = a.weekday >= 0 and not a.day and b.weekday >= 0 and not b.day
    if a.date is None and not a.month and b.month:
        # "del 10 al 14 de julio", "del 29 al 3 de mayo" (April 29)
        a.month = b.month if a.day <= b.day else (b.month - 2) % 12 + 1
        a.back = a.day > b.day
        if b.year:
            a.year = b.year - (1 if a.month > b.month else 0)
    start = _resolve_start(a, today)
    if start is None:
        return DateResult(None, None, True, False, spans)
    end = _resolve_end(b, start)
    if end is None or end <= start or (a.back and (end - start).days > _MAX_BACK_NIGHTS):
        return DateResult(None, None, True, False, spans)
    return DateResult(start, end, False, weekday_only, spans)
