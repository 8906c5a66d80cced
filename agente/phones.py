"""Phone numbers as guest keys: one string per person across WhatsApp, typed text and the PMS.

A guest reaches us as a WhatsApp ``wa_id`` ("5491155551234"), types a number in a message
("011 15 5555-1234") and sits in the PMS under whatever the front desk typed
("+54 11 5555 1234"). ``normalize_phone`` turns each of those into a key, so that the same
person is one guest. It is pure and total (any ``str`` in, never an exception) and idempotent.

Two levels, chosen by the feature flag ``tenancy.phone_normalization.advanced`` (the caller
reads it and passes ``advanced_enabled``):

``basic`` (always on) only cleans. It keeps the digits (any script's decimal digits become
ASCII), drops the separators (white space, dashes, dots, parentheses), turns a leading "00" into
"+", and drops a trailing extension ("ext 12", "int. 3", "x12", "#12", ";ext=12"): the key
names the line, and WhatsApp cannot reach an extension. Anything else (letters, "/", "*", a
"+" after a digit) makes the string not a phone: ``None``, as do fewer than 6 or more than 15
digits and "+" followed by 0 (no country code starts with 0). A digit string of 8 to 15
digits without a leading 0 is taken as international, as a WhatsApp ``wa_id`` is, and gets a
"+". That rule looks at the digits after the separators are gone, not at the raw string:
otherwise "11 5555 1234" would give "1155551234" and a second pass "+1155551234", and
``basic`` would not be idempotent. Only a leading 0 (a trunk prefix: "011 …", "0351 …") or
fewer than 8 digits leave a key without "+".

``advanced`` gives E.164 through ``phonenumbers`` and collapses the forms of one number that
the library keeps apart. It reads the digits that ``basic`` kept, in this order:

* written with "+" or "00": international only; the writer said so;
* ``whatsapp=True`` (a ``wa_id``): international, then national in ``default_region``;
* 8 to 15 digits, no "+" (``basic`` guessed): national first, then international. A hotel
  in Argentina whose PMS says "3624123456" means Resistencia, not Hungary (+36 24 …);
* a leading 0 or fewer than 8 digits: national only.

The first reading that is a *valid* number (after the collapses below) of at most 15 digits
wins (``phonenumbers`` accepts some longer German numbers; E.164 does not). When none is, the
result is ``basic``'s, so ``advanced(x) is None`` exactly when ``basic(x) is None``, and
flipping the flag never turns a usable phone into nothing.

Argentina. A mobile in E.164 carries a 9 after 54 (+54 9 11 5555-1234) and that is the
``wa_id`` WhatsApp sends (5491155551234). People write it "+54 9 11 …", "011 15 …",
"(011) 15-…", "11 15 …": ``phonenumbers`` already maps all of those to +549…. A landline has
no 9 (+54 11 4321-5678), and "+54 11 5555 1234" is both a landline and how many people write
their mobile: nothing in the digits tells them apart, so without more context it stays a
landline key (+541155551234). The context is the channel: a number that arrives as a
WhatsApp ``wa_id`` *is* a mobile, so ``whatsapp=True`` adds the 9 to an Argentine number that
lacks it (when the result is a valid mobile). Callers pass ``whatsapp=True`` for the sender
of a WhatsApp message, never for a number typed in text or read from the PMS.

Mexico. Until 2019 a Mexican mobile was dialled from abroad as +52 1 + ten digits, and old
WhatsApp accounts still have ``wa_id`` 521XXXXXXXXXX. Today the number is +52 + ten digits
and current ``phonenumbers`` metadata rejects the form with the 1. Both give +52 + ten
digits. (The old domestic prefixes 044/045/01 are not collapsed.)

Brazil. Mobiles gained a ninth digit (a leading 9) between 2012 and 2016, and WhatsApp
accounts created before that often keep a ``wa_id`` without it (551187654321 for
+55 11 98765-4321). We keep what ``phonenumbers`` says and add or remove nothing: the
8-digit form is not a valid number, so it stays as ``basic`` wrote it (+551187654321), a
different key from +5511987654321. Joining those two needs a lookup against the channel,
not a guess here.

Turning the flag on changes some keys (``basic("011 15 5555-1234")`` is "0111555551234",
``advanced`` gives "+5491155551234"; a 521… ``wa_id`` becomes +52…), so keys stored under one
level do not all match keys computed under the other. For a number already in canonical
E.164 both levels agree.

``mask`` is for logs: country code, the area code when it is short, and the last two digits.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

import phonenumbers

__all__ = ["advanced", "basic", "mask", "normalize_phone"]

_MIN_DIGITS = 6
_MAX_DIGITS = 15  # E.164
_WA_ID_MIN_DIGITS = 8

# Dashes as phones are written on every keyboard, plus the separators "basic" promises.
_SEPARATORS = frozenset("-.()\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d\uff0e")
_PLUS = frozenset("+\uff0b")
_EXTENSION = re.compile(
    r"(?:;\s*ext=|(?:extension|ext|interno|int|anexo|ramal|x)\.?:?|\#)\s*\d{1,7}\s*\Z",
    re.IGNORECASE,
)

_E164 = phonenumbers.PhoneNumberFormat.E164
_INTERNATIONAL = "+"  # the reading "the digits start with a country code"

_AR = 54
_MX = 52


class _Digits(NamedTuple):
    digits: str
    plus: bool  # the key gets a "+": written, from "00", or guessed from the length
    explicit: bool  # the writer marked it international ("+" or "00")


def _digits(raw: str) -> _Digits | None:
    """The digits of ``raw`` and whether it is international; ``None`` when not a phone."""
    extension = _EXTENSION.search(raw)
    head = raw[: extension.start()] if extension else raw
    out: list[str] = []
    plus = False
    for ch in head:
        value = unicodedata.decimal(ch, None)
        if value is not None:
            out.append(str(value))
        elif ch in _PLUS and not out and not plus:
            plus = True
        elif not (ch.isspace() or ch in _SEPARATORS):
            return None
    digits = "".join(out)
    if not plus and digits.startswith("00"):
        plus, digits = True, digits[2:]
    if not _MIN_DIGITS <= len(digits) <= _MAX_DIGITS or (plus and digits[0] == "0"):
        return None
    explicit = plus
    if not plus and digits[0] != "0" and len(digits) >= _WA_ID_MIN_DIGITS:
        plus = True
    return _Digits(digits, plus, explicit)


def basic(raw: str) -> str | None:
    """``raw`` cleaned to "+digits" (international) or "digits" (national), or ``None``.

    Total over ``str`` and idempotent: ``basic(basic(x)) == basic(x)`` whenever it is not
    ``None``. See the module docstring for what counts as a phone.
    """
    found = _digits(raw)
    if found is None:
        return None
    return ("+" if found.plus else "") + found.digits


def _parse(digits: str, reading: str) -> phonenumbers.PhoneNumber | None:
    try:
        if reading == _INTERNATIONAL:
            return phonenumbers.parse("+" + digits, None)
        return phonenumbers.parse(digits, reading)
    except phonenumbers.NumberParseException:
        return None


def _collapse(number: phonenumbers.PhoneNumber, *, whatsapp: bool) -> phonenumbers.PhoneNumber:
    """The one form kept for numbers written two ways (Mexico's old 1, an AR ``wa_id``'s 9)."""
    national = str(number.national_number)
    if number.country_code == _MX and len(national) == 11 and national.startswith("1"):
        candidate = phonenumbers.PhoneNumber(country_code=_MX, national_number=int(national[1:]))
        if phonenumbers.is_valid_number(candidate):
            return candidate
    if whatsapp and number.country_code == _AR and len(national) == 10:
        # Argentine area codes start with 1, 2 or 3, so ten digits never already hold the 9.
        candidate = phonenumbers.PhoneNumber(country_code=_AR, national_number=int("9" + national))
        if phonenumbers.is_valid_number(candidate):
            return candidate
    return number


def advanced(raw: str, *, default_region: str = "AR", whatsapp: bool = False) -> str | None:
    """E.164 for ``raw``, with the double forms of AR and MX mobiles collapsed.

    ``default_region`` (ISO 3166 alpha-2, e.g. the hotel's country) reads numbers written
    without a country code. ``whatsapp=True`` says ``raw`` is a WhatsApp ``wa_id``: read it
    as international first, and treat an Argentine number as the mobile it is. Falls back to
    ``basic(raw)`` when no reading is a valid number. Total and idempotent for fixed
    keyword arguments; see the module docstring for the rules and the reading order.
    """
    found = _digits(raw)
    if found is None:
        return None
    region = default_region.upper()
    readings: tuple[str, ...]
    if found.explicit:
        readings = (_INTERNATIONAL,)
    elif not found.plus:
        readings = (region,)
    elif whatsapp:
        readings = (_INTERNATIONAL, region)
    else:
        readings = (region, _INTERNATIONAL)
    for reading in readings:
        number = _parse(found.digits, reading)
        if number is None:
            continue
        number = _collapse(number, whatsapp=whatsapp)
        if phonenumbers.is_valid_number(number):
            e164 = phonenumbers.format_number(number, _E164)
            if _MIN_DIGITS <= len(e164) - 1 <= _MAX_DIGITS:  # some "valid" German ones are 16
                return e164
    return ("+" if found.plus else "") + found.digits


def normalize_phone(
    raw: str, *, advanced_enabled: bool, whatsapp: bool = False, default_region: str = "AR"
) -> str | None:
    """The guest key for ``raw``: ``advanced`` when the flag is on, else ``basic``.

    ``advanced_enabled`` is the flag ``tenancy.phone_normalization.advanced``, read by the
    caller (this module does no I/O). ``whatsapp`` and ``default_region`` only matter to
    ``advanced``; a ``wa_id`` already gets its "+" from ``basic``.
    """
    if advanced_enabled:
        return advanced(raw, default_region=default_region, whatsapp=whatsapp)
    return basic(raw)


# --- masking ----------------------------------------------------------------------------

_STARS = "****"
_NONE = "<none>"
_MIN_HIDDEN = 4  # digits after the country code that a mask never shows
_MAX_GROUP = 4  # digits in any one visible group after the country code
_MAX_PREFIX = 7  # "54 9 11": agente.logs' phone pattern needs 8 or more such characters
_GROUPS = re.compile(r"[\s-]+")


def _country_code(digits: str) -> str:
    """The calling code that ``digits`` (international, without "+") starts with, or ""."""
    for size in (1, 2, 3):  # calling codes are prefix-free
        if int(digits[:size]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            return digits[:size]
    return ""


def _prefix(number: phonenumbers.PhoneNumber) -> str:
    """The "+CC" of ``number`` and the leading groups of its area code that are safe to show."""
    cc = str(number.country_code)
    national = phonenumbers.national_significant_number(number)
    area = phonenumbers.length_of_national_destination_code(number)
    groups = _GROUPS.split(
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    )
    shown: list[str] = []
    used = 0
    for group in groups[1:]:
        if not (group.isascii() and group.isdigit()) or used + len(group) > area:
            break
        shown.append(group)
        used += len(group)
    while shown and (
        len(" ".join([cc, *shown])) > _MAX_PREFIX
        or max(map(len, shown)) > _MAX_GROUP
        or len(national) - used - 2 < _MIN_HIDDEN
    ):
        used -= len(shown.pop())
    return " ".join(["+" + cc, *shown])


def mask(phone: str | None) -> str:
    """``phone`` for a log line: "+54 9 11 ****34" (country code, short area code, last two).

    Never the whole number: at least four digits after the country code are hidden, no
    visible group after it has more than four digits, and the result passes
    ``agente.logs.mask`` unchanged. Total: ``None`` gives "<none>", a string that is not a
    phone gives "****", a number too short to spare its last two digits shows none.
    """
    if phone is None:
        return _NONE
    found = _digits(phone)
    if found is None:
        return _STARS
    prefix, national = "", found.digits
    if found.plus:
        number = _parse(found.digits, _INTERNATIONAL)
        if number is not None and phonenumbers.is_valid_number(number):
            prefix = _prefix(number)
            national = found.digits[len(str(number.country_code)) :]
        else:
            cc = _country_code(found.digits)
            prefix = "+" + cc if cc else ""
            national = found.digits[len(cc) :]
    tail = national[-2:] if len(national) >= _MIN_HIDDEN + 2 else ""
    return f"{prefix} {_STARS}{tail}" if prefix else _STARS + tail
