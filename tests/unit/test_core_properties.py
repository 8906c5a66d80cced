"""Properties of the pure pieces of the message path."""

from __future__ import annotations

import datetime as dt
import random

from hypothesis import given
from hypothesis import strategies as st

from agente.domain import ConversationState
from agente.hotels import load_hotels_file
from agente.messaging import backoff
from agente.pipeline import Context, GuestSaid, Reply, render, step
from agente.pipeline.catalog import CATALOG, LANGUAGES
from agente.pipeline.understand import INTENTS


@given(
    attempt=st.integers(min_value=1, max_value=60),
    base=st.floats(min_value=0.01, max_value=60),
    cap=st.floats(min_value=0.01, max_value=3600),
    seed=st.integers(),
)
def test_backoff_stays_within_half_and_all_of_the_capped_exponential(
    attempt: int, base: float, cap: float, seed: int
) -> None:
    delay = backoff(attempt, base=base, cap=cap, rng=random.Random(seed))
    ceiling = min(cap, base * 2 ** (attempt - 1))
    assert ceiling / 2 <= delay <= ceiling


HOTEL = load_hotels_file(None)[0]


@given(
    text=st.one_of(st.none(), st.text()),
    kind=st.sampled_from(["text", "interactive", "location", "reaction", "unsupported"]),
    intent=st.one_of(st.none(), st.sampled_from(INTENTS)),
    confidence=st.floats(min_value=0, max_value=1),
    turns=st.integers(min_value=0, max_value=10_000),
    language=st.one_of(st.none(), st.sampled_from([*LANGUAGES, "fr", ""])),
)
def test_step_is_total_and_always_answers_in_a_supported_language(
    text: str | None,
    kind: str,
    intent: str | None,
    confidence: float,
    turns: int,
    language: str | None,
) -> None:
    state = ConversationState(turns=turns, language=language)
    now = dt.datetime(2026, 11, 22, 15, tzinfo=dt.UTC)
    context = Context(hotel=HOTEL, now=now, today=now.date(), conversation_ref="c")
    event = GuestSaid(text=text, message_kind=kind, intent=intent, confidence=confidence)
    new_state, effects = step(state, event, context)
    assert new_state.turns == turns + 1
    assert new_state.language in LANGUAGES
    if kind != "reaction":  # an emoji on one of our messages is not a turn
        assert effects, "a guest in a bot conversation always gets an answer or a PMS query"
    for effect in effects:
        if isinstance(effect, Reply):
            bodies = render(effect, new_state.language, hotel=HOTEL)
            assert bodies and bodies[0].text  # type: ignore[union-attr]


def test_every_catalogue_has_the_same_keys() -> None:
    keys = {lang: set(texts) for lang, texts in CATALOG.items()}
    assert keys["en"] == keys["es"] == keys["pt"]


def test_every_catalogue_entry_takes_the_same_parameters_in_every_language() -> None:
    import string

    def fields(text: str) -> set[str]:
        return {f for _, f, _, _ in string.Formatter().parse(text) if f}

    for key, text in CATALOG["es"].items():
        assert fields(CATALOG["en"][key]) == fields(text) == fields(CATALOG["pt"][key]), key
