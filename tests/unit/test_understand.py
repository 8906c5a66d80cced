"""Properties of ``understand`` (issue contract: shared/docs/INTENTS.md)."""

from __future__ import annotations

import datetime as dt
import functools
import json
import locale
import re
import subprocess
import sys

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agente.pipeline.entities import Entities
from agente.pipeline.normalize import normalize
from agente.pipeline.understand import INTENTS, LANGUAGES, Understander, understand

DAYS = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 12, 31))
ENTITY_KEYS = {
    "check_in", "check_out", "nights", "adults", "children", "children_ages", "guests", "rooms",
    "room_type", "booking_ref", "email", "phone", "time", "amenities", "topic", "invalid_dates",
}  # fmt: skip
HOTELISH = st.sampled_from(
    [
        "tenés lugar del {d}/{m} al {d2}/{m2} para {n}?",
        "reservame la doble del {d} al {d2} de marzo",
        "book me a room from the {d}th to the {d2}th, {n} nights",
        "tem quarto para {n} pessoas dia {d}/{m}?",
        "quiero {n} noches desde el {d} de {month}",
    ]
)


@given(text=st.text(), today=DAYS)
def test_understand_is_total(text: str, today: dt.date) -> None:
    result = understand(text, today=today)
    assert result.intent in INTENTS
    assert result.language in LANGUAGES
    assert 0.0 <= result.confidence <= 1.0
    _check_dates(result)


@given(
    template=HOTELISH,
    d=st.integers(0, 40),
    d2=st.integers(0, 40),
    m=st.integers(0, 14),
    m2=st.integers(0, 14),
    n=st.integers(0, 30),
    month=st.sampled_from(["enero", "febrero", "marzo", "diciembre", "enro", "junio"]),
    today=DAYS,
)
def test_dates_are_consistent_on_booking_like_messages(
    template: str, d: int, d2: int, m: int, m2: int, n: int, month: str, today: dt.date
) -> None:
    text = template.format(d=d, d2=d2, m=m, m2=m2, n=n, month=month)
    _check_dates(understand(text, today=today))


def _check_dates(result: object) -> None:
    e = result.entities  # type: ignore[attr-defined]
    if e.check_in and e.check_out:
        assert e.check_out > e.check_in
        if e.nights is not None:
            assert e.nights == (e.check_out - e.check_in).days
    if e.invalid_dates:
        assert e.check_in is None or e.check_out is None


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("¿Tenés habitación para el 15/12?", "tenes habitacion para el 15/12?"),
        ("HOLAAAA!!! 👍", "hola!!! ok"),
        ("xq no me contestan??", "porque no me contestan??"),
        ("q?", "que?"),
        ("Nº de reserva: RES-12345", "no de reserva: res-12345"),
        ("Quería saber… “algo” — gracias 🙏😀", "queria saber algo - gracias gracias"),
        ("Straße", "strasse"),
        ("vc tem quarto pra 2 pessoas amanhã?", "voce tem quarto pra 2 pessoas amanha?"),
        ("mi mail es Juan.Perez@Gmail.com", "mi mail es juan.perez@gmail.com"),
        ("a/c\tand\nwifi", "a/c and wifi"),
        ("ΑΒΓ δ", ""),
        ("İstanbul", "istanbul"),
        ("precio $ 1.500,50 + 21%", "precio $ 1.500,50 + 21%"),
        ("okayyy", "ok"),
        ("nº 3ª", "no 3a"),
    ],
)
def test_normalize_examples(text: str, normalized: str) -> None:
    assert normalize(text) == normalized


_NORMALIZED = re.compile(r"(?:[a-z0-9/:@#.,?!+\-_%$']+(?: [a-z0-9/:@#.,?!+\-_%$']+)*)?")


@given(text=st.text())
def test_normalized_text_is_lower_case_ascii_words_and_single_spaces(text: str) -> None:
    assert _NORMALIZED.fullmatch(normalize(text))


@given(text=st.text())
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


def test_output_has_every_contract_key() -> None:
    data = msgspec.to_builtins(understand("hola", today=dt.date(2026, 11, 22)))
    assert set(data) == {"text", "intent", "confidence", "language", "entities"}
    assert set(data["entities"]) == ENTITY_KEYS


def test_result_does_not_depend_on_locale_or_clock() -> None:
    text = "tenés lugar del 15/12 al 18/12 para 2?"
    today = dt.date(2026, 11, 22)
    first = understand(text, today=today)
    previous = locale.setlocale(locale.LC_ALL)
    try:
        for name in ("C", "C.UTF-8"):
            try:
                locale.setlocale(locale.LC_ALL, name)
            except locale.Error:
                continue
            assert understand(text, today=today) == first
    finally:
        locale.setlocale(locale.LC_ALL, previous)
    # another process, another TZ: same answer
    script = (
        "import datetime as dt, msgspec; from agente.pipeline.understand import understand; "
        f"print(msgspec.json.encode(understand({text!r}, today=dt.date(2026, 11, 22))).decode())"
    )
    other = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={"TZ": "Pacific/Kiritimati", "LC_ALL": "C"},
    )
    assert json.loads(other.stdout) == msgspec.to_builtins(first)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("hola!", "greeting"),
        ("tenés lugar del 15/12 al 18/12 para 2?", "check_availability"),
        ("quiero cancelar mi reserva", "cancel_reservation"),
        ("hay penalidad por cancelar?", "ask_policies"),
        ("no me manden mas mensajes", "opt_out"),
        ("any rooms next weekend?", "check_availability"),
        ("quanto custa a diária?", "ask_price"),
    ],
)
def test_contract_examples(text: str, intent: str) -> None:
    assert understand(text, today=dt.date(2026, 11, 22)).intent == intent


def test_a_payment_proof_keeps_no_stay_dates() -> None:
    """ "today" in a payment proof is the day of the payment, not the first night of a stay."""
    result = understand(
        "hoy hice el depósito de la seña, te mando el comprobante", today=dt.date(2026, 8, 4)
    )
    assert result.intent == "payment_proof"
    assert (result.entities.check_in, result.entities.check_out) == (None, None)


@given(text=st.text())
def test_the_folded_language_scorer_answers_like_the_model(text: str) -> None:
    from agente.pipeline.languages import language_features
    from agente.pipeline.normalize import tokens
    from agente.pipeline.understand import _default

    model = _default()
    toks = tokens(normalize(text))
    plain = model.language_model.predict(language_features(toks))
    folded = model.language_scorer.predict(toks)
    assert folded[0] == plain[0]
    assert abs(folded[1] - plain[1]) < 1e-9
    if toks:  # the one pass over the words that reads intent and language together
        _, _, language, confidence = model.intent_scorer.score(toks, Entities())
        assert language == plain[0]
        assert abs(confidence - plain[1]) < 1e-9


@given(text=st.text(), today=DAYS)
def test_the_folded_intent_scorer_answers_like_the_model(text: str, today: dt.date) -> None:
    from agente.pipeline.entities import extract_entities
    from agente.pipeline.normalize import tokens
    from agente.pipeline.understand import _default, intent_features

    model = _default()
    norm = normalize(text)
    toks = tokens(norm)
    entities = extract_entities(text, norm, today=today)
    plain = model.intent_model.predict(
        intent_features(toks, entities, model.intent_model.frequent, model.concepts)
    )
    folded = model.intent_scorer.predict(toks, entities)
    assert folded[0] == plain[0]
    assert abs(folded[1] - plain[1]) < 1e-9


@functools.cache
def _fresh() -> Understander:
    return Understander.load()


@given(text=st.text(), today=DAYS)
def test_an_answer_does_not_depend_on_the_words_met_before(text: str, today: dt.date) -> None:
    """The scorer remembers the words it had to work out: met again, they score the same."""
    fresh = _fresh()
    first = fresh(text, today=today)
    assert fresh(text, today=today) == first
    assert understand(text, today=today) == first
