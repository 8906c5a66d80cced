"""``agente.phones``: guest keys from phone numbers.

Three parts: (a) concrete tables per country (AR, MX, BR, US, ES) and for ``basic``'s
cleaning, (b) ``mask`` and ``normalize_phone``, (c) hypothesis properties: total over any
text, idempotent, stable across the forms of one AR or MX number, masks that leak nothing.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agente import logs
from agente.phones import advanced, basic, mask, normalize_phone

# --- (a) tables --------------------------------------------------------------------------

BA_MOBILE = "+5491155551234"
CORDOBA_MOBILE = "+5493516123456"

ADVANCED = [
    # Argentina: every mobile form is +549 + area + number
    ("5491155551234", {"whatsapp": True}, BA_MOBILE),
    ("5491155551234", {}, BA_MOBILE),
    ("+54 9 11 5555-1234", {}, BA_MOBILE),
    ("011 15 5555-1234", {}, BA_MOBILE),
    ("(011) 15-5555-1234", {}, BA_MOBILE),
    ("11 15 5555 1234", {}, BA_MOBILE),
    ("+54 11 15 5555-1234", {}, BA_MOBILE),
    ("0054 9 11 5555 1234", {}, BA_MOBILE),
    ("+54 11 5555 1234", {"whatsapp": True}, BA_MOBILE),
    ("541155551234", {"whatsapp": True}, BA_MOBILE),
    ("0351 15 612-3456", {}, CORDOBA_MOBILE),
    ("+54 9 351 612 3456", {}, CORDOBA_MOBILE),
    ("+54 351 612 3456", {"whatsapp": True}, CORDOBA_MOBILE),
    # ... and a number written without the 9 and without WhatsApp stays a landline
    ("+54 11 5555 1234", {}, "+541155551234"),
    ("011 5555-1234", {}, "+541155551234"),
    ("1155551234", {}, "+541155551234"),
    # a bare ten-digit string in an AR hotel is Argentine (Resistencia), "+" makes it Hungary
    ("3624123456", {}, "+543624123456"),
    ("+36 24 123 456", {}, "+3624123456"),
    # Mexico: the old 521 form and the current 52 form are one key, +52 + ten digits
    ("5215512345678", {"whatsapp": True}, "+525512345678"),
    ("5215512345678", {}, "+525512345678"),
    ("525512345678", {}, "+525512345678"),
    ("+52 55 1234 5678", {}, "+525512345678"),
    ("+52 1 55 1234 5678", {}, "+525512345678"),
    ("55 1234 5678", {"default_region": "MX"}, "+525512345678"),
    # Brazil: what phonenumbers says, no ninth digit added or removed
    ("5511987654321", {"whatsapp": True}, "+5511987654321"),
    ("+55 11 98765-4321", {}, "+5511987654321"),
    ("(11) 98765-4321", {"default_region": "BR"}, "+5511987654321"),
    ("551187654321", {"whatsapp": True}, "+551187654321"),  # old wa_id quirk: a second key
    # United States
    ("+1 (415) 555-2671", {}, "+14155552671"),
    ("14155552671", {"whatsapp": True}, "+14155552671"),
    ("001 415 555 2671", {}, "+14155552671"),
    ("(415) 555-2671", {"default_region": "US"}, "+14155552671"),
    ("+1 415 555 2671 ext. 12", {}, "+14155552671"),
    # Spain
    ("+34 612 34 56 78", {}, "+34612345678"),
    ("34612345678", {"whatsapp": True}, "+34612345678"),
    ("0034 612 345 678", {}, "+34612345678"),
    ("612 34 56 78", {"default_region": "ES"}, "+34612345678"),
    ("91 123 45 67", {"default_region": "es"}, "+34911234567"),
    # the trunk "(0)" some countries write after the country code
    ("+44 (0)20 7946 0958", {}, "+442079460958"),
]


@pytest.mark.parametrize(("raw", "kwargs", "expected"), ADVANCED)
def test_advanced(raw: str, kwargs: dict[str, Any], expected: str) -> None:
    assert advanced(raw, **kwargs) == expected


FULL_WIDTH = {ord(c): ord(c) + 0xFEE0 for c in "+-0123456789"}  # full-width forms

BASIC = [
    ("5491155551234", "+5491155551234"),  # a wa_id: international without "+"
    ("+54 9 11 5555-1234", "+5491155551234"),
    ("(011) 15-5555-1234", "0111555551234"),  # trunk 0: national, no "+"
    ("0351 15 612.3456", "0351156123456"),
    ("11 5555 1234", "+1155551234"),  # 8+ digits without a 0: treated like a wa_id
    ("0054 9 11 5555 1234", "+5491155551234"),  # "00" is "+"
    ("(+54) 11 5555-1234", "+541155551234"),
    ("+54 9 11 5555-1234".translate(FULL_WIDTH), "+5491155551234"),
    ("٥٤٩١١٥٥٥٥١٢٣٤", "+5491155551234"),  # Arabic-Indic digits
    ("+54 11 4321-5678 int. 23", "+541143215678"),  # the extension is dropped
    ("+1 415 555 2671 ext 12", "+14155552671"),
    ("+1 415 555 2671 x12", "+14155552671"),
    ("+1 415 555 2671;ext=12", "+14155552671"),
    ("4555-1234", "+45551234"),  # eight digits are enough
    ("555-1234", "5551234"),
    ("123456", "123456"),  # six digits: the minimum
    ("1234567", "1234567"),  # under 8 digits: no "+" guessed
    ("+123456789012345", "+123456789012345"),  # fifteen: the maximum
    ("12345", None),
    ("+1234567890123456", None),
    ("00 12345", None),  # five digits once "00" is gone
    ("+0 11 5555 1234", None),  # no country code starts with 0
    ("0000 11 5555 1234", None),
    ("54 9 11 +5555 1234", None),  # "+" after a digit
    ("mi cel es 11 5555 1234", None),
    ("+1-800-FLOWERS", None),
    ("11 5555 1234 ext", None),  # an extension marker needs digits
    ("11/5555/1234", None),
    ("tel:+14155552671", None),
    ("", None),
    ("   ", None),
]


@pytest.mark.parametrize(("raw", "expected"), BASIC)
def test_basic(raw: str, expected: str | None) -> None:
    assert basic(raw) == expected


def test_advanced_falls_back_to_basic_when_no_reading_is_a_valid_number() -> None:
    assert advanced("+999 1234 5678") == basic("+999 1234 5678") == "+99912345678"
    assert advanced("0 12345") == basic("0 12345") == "012345"
    assert advanced("1234567", default_region="ZZ") == "1234567"
    assert advanced("1234567", default_region="not a region") == "1234567"
    assert advanced("hola") is None


# --- (b) normalize_phone and mask ---------------------------------------------------------


def test_normalize_phone_follows_the_flag() -> None:
    raw = "011 15 5555-1234"
    assert normalize_phone(raw, advanced_enabled=False) == basic(raw) == "0111555551234"
    assert normalize_phone(raw, advanced_enabled=True) == BA_MOBILE


def test_normalize_phone_passes_whatsapp_and_region_to_advanced() -> None:
    wa = "541155551234"
    assert normalize_phone(wa, advanced_enabled=True) == "+541155551234"
    assert normalize_phone(wa, advanced_enabled=True, whatsapp=True) == BA_MOBILE
    assert normalize_phone(wa, advanced_enabled=False, whatsapp=True) == "+541155551234"
    typed = "55 1234 5678"
    assert normalize_phone(typed, advanced_enabled=True, default_region="MX") == "+525512345678"


MASKS = [
    (BA_MOBILE, "+54 9 11 ****34"),
    ("+54 9 11 5555-1234", "+54 9 11 ****34"),
    ("+541155551234", "+54 11 ****34"),
    (CORDOBA_MOBILE, "+54 9 ****56"),  # "54 9 351" would read as a phone to agente.logs
    ("+525512345678", "+52 55 ****78"),
    ("+5511987654321", "+55 11 ****21"),
    ("+14155552671", "+1 415 ****71"),
    ("+34612345678", "+34 612 ****78"),
    ("+551187654321", "+55 ****21"),  # not a valid number: country code only
    ("+99912345678", "****78"),  # no such country code
    ("0111555551234", "****34"),  # national: no country code to show
    ("123456", "****56"),
    ("+5412345", "+54 ****"),  # too short to spare the last two
    ("hola", "****"),
    ("", "****"),
    (None, "<none>"),
]


@pytest.mark.parametrize(("phone", "expected"), MASKS)
def test_mask(phone: str | None, expected: str) -> None:
    assert mask(phone) == expected


# --- (c) properties -----------------------------------------------------------------------

PHONEISH = st.text(alphabet="0123456789 +-.()", max_size=24)
ANY_TEXT = st.one_of(st.text(), PHONEISH)
REGIONS = st.one_of(st.sampled_from(["AR", "MX", "BR", "US", "ES", "ar"]), st.text(max_size=3))
KEY = re.compile(r"\+?[0-9]{6,15}")


@given(text=ANY_TEXT)
def test_basic_is_total_and_idempotent(text: str) -> None:
    key = basic(text)
    if key is not None:
        assert KEY.fullmatch(key)
        assert basic(key) == key


@given(text=ANY_TEXT, region=REGIONS, whatsapp=st.booleans())
def test_advanced_is_total_and_idempotent(text: str, region: str, whatsapp: bool) -> None:
    key = advanced(text, default_region=region, whatsapp=whatsapp)
    assert (key is None) == (basic(text) is None)
    if key is not None:
        assert KEY.fullmatch(key)
        assert advanced(key, default_region=region, whatsapp=whatsapp) == key


@given(text=ANY_TEXT, flag=st.booleans(), whatsapp=st.booleans())
def test_normalize_phone_is_total(text: str, flag: bool, whatsapp: bool) -> None:
    key = normalize_phone(text, advanced_enabled=flag, whatsapp=whatsapp)
    assert key is None or KEY.fullmatch(key)


class Form(NamedTuple):
    raw: str
    whatsapp: bool


SEPARATORS = st.sampled_from(["", " ", "-", "."])


@st.composite
def _subscriber(draw: st.DrawFn, size: int) -> str:
    """``size`` digits as people group them: "55551234", "5555-1234", "555 51234"."""
    digits = draw(st.text(alphabet="0123456789", min_size=size - 1, max_size=size - 1))
    digits = draw(st.sampled_from("456")) + digits  # starts where AR and MX mobiles do
    cut = draw(st.integers(min_value=1, max_value=size - 1))
    return digits[:cut] + draw(SEPARATORS) + digits[cut:]


AR_AREAS = ["11", "221", "223", "261", "294", "341", "351", "381", "387", "2966", "3541", "3756"]


@st.composite
def ar_mobile_forms(draw: st.DrawFn) -> tuple[str, list[Form]]:
    """An Argentine mobile (its E.164) and the ways guests, WhatsApp and PMSs write it."""
    a = draw(st.sampled_from(AR_AREAS))
    s = draw(_subscriber(10 - len(a)))
    e164 = "+549" + a + re.sub(r"\D", "", s)
    number = phonenumbers.parse(e164)
    if not phonenumbers.is_valid_number(number):
        draw(st.nothing())  # hypothesis discards this example
    sep = draw(SEPARATORS)
    wa = draw(st.booleans())
    digits = re.sub(r"\D", "", s)
    return e164, [
        Form("549" + a + digits, wa),  # the wa_id
        Form("54" + a + digits, True),  # a wa_id without the 9
        Form(f"+54 9 {a} {s}", wa),
        Form(f"+54{sep}9{sep}{a}{sep}{s}", wa),
        Form(f"+54 9 ({a}) {s}", False),
        Form(f"0054 9 {a} {s}", False),
        Form(f"0{a} 15 {s}", False),
        Form(f"(0{a}) 15-{s}", False),
        Form(f"0{a}{sep}15{sep}{s}", False),
        Form(f"{a} 15 {s}", False),
        Form(f"+54 {a} 15 {s}", False),
        Form(f"+54 {a} {s}", True),  # how many people write their mobile, from WhatsApp
    ]


MX_AREAS = ["55", "33", "81", "222", "442", "998"]


@st.composite
def mx_mobile_forms(draw: st.DrawFn) -> tuple[str, list[Form]]:
    """A Mexican number (its E.164) in the 521 and 52 forms, with and without "+"."""
    a = draw(st.sampled_from(MX_AREAS))
    s = draw(_subscriber(10 - len(a)))
    digits = a + re.sub(r"\D", "", s)
    e164 = "+52" + digits
    if not phonenumbers.is_valid_number(phonenumbers.parse(e164)):
        draw(st.nothing())
    wa = draw(st.booleans())
    return e164, [
        Form("521" + digits, wa),  # the old wa_id
        Form("52" + digits, wa),
        Form(f"+52 1 {a} {s}", wa),
        Form(f"+52 {a} {s}", False),
        Form(f"+52 ({a}) {s}", False),
        Form(f"0052 1 {a} {s}", False),
        Form(f"0052{a}{s}", False),
    ]


@given(case=ar_mobile_forms(), region=st.sampled_from(["MX", "US", "ES", "BR"]))
def test_every_form_of_an_argentine_mobile_is_one_key(
    case: tuple[str, list[Form]], region: str
) -> None:
    e164, forms = case
    keys = {f.raw: advanced(f.raw, whatsapp=f.whatsapp) for f in forms}
    assert set(keys.values()) == {e164}, keys
    for f in forms:  # with the country code ("+", "00", a wa_id) the hotel's region is moot
        if f.raw.startswith(("+", "00")) or f.whatsapp:
            assert advanced(f.raw, default_region=region, whatsapp=f.whatsapp) == e164, f


@given(case=mx_mobile_forms(), region=st.sampled_from(["AR", "MX", "US", "ES"]))
def test_every_form_of_a_mexican_number_is_one_key(
    case: tuple[str, list[Form]], region: str
) -> None:
    e164, forms = case
    keys = {f.raw: advanced(f.raw, default_region=region, whatsapp=f.whatsapp) for f in forms}
    assert set(keys.values()) == {e164}, keys
    national = e164.removeprefix("+52")
    assert advanced(f"{national[:2]} {national[2:]}", default_region="MX") == e164


@given(case=st.one_of(ar_mobile_forms(), mx_mobile_forms()))
def test_keys_of_generated_forms_are_idempotent(case: tuple[str, list[Form]]) -> None:
    _, forms = case
    for f in forms:
        key = advanced(f.raw, whatsapp=f.whatsapp)
        assert key is not None
        assert advanced(key, whatsapp=f.whatsapp) == key
        b = basic(f.raw)
        assert b is not None
        assert basic(b) == b


def _assert_masked(phone: str | None) -> None:
    masked = mask(phone)
    assert logs.mask(masked) == masked, "agente.logs must not mangle a mask"
    key = basic(phone) if phone is not None else None
    if key is None:
        assert not re.search(r"\d", masked)
        return
    digits = key.lstrip("+")
    rest = masked
    if masked.startswith("+"):  # "+54 9 11 ****34": drop the country code
        cc, _, rest = masked.partition(" ")
        assert digits.startswith(cc[1:])
        digits = digits[len(cc) - 1 :]
    runs = re.findall(r"\d+", rest)
    assert all(len(run) <= 4 for run in runs), masked
    hidden = len(digits) - sum(map(len, runs))
    assert hidden >= 4 or not runs, masked  # four digits hidden, or all of them
    if runs and len(digits) >= 6:
        assert digits.endswith(runs[-1]), masked


@given(phone=st.one_of(st.none(), ANY_TEXT))
def test_mask_never_shows_more_than_four_digits_in_a_row(phone: str | None) -> None:
    _assert_masked(phone)


@given(case=st.one_of(ar_mobile_forms(), mx_mobile_forms()))
def test_mask_of_real_numbers_hides_the_subscriber(case: tuple[str, list[Form]]) -> None:
    e164, forms = case
    _assert_masked(e164)
    for f in forms:
        _assert_masked(f.raw)
        _assert_masked(advanced(f.raw, whatsapp=f.whatsapp))
