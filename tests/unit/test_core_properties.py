"""Properties of the pure pieces of the message path."""

from __future__ import annotations

import datetime as dt
import random

from hypothesis import given
from hypothesis import strategies as st

from agente.domain import ConversationState
from agente.messaging import backoff
from agente.pipeline import Context, GuestSaid, render, step
from agente.pipeline.catalog import CATALOG, LANGUAGES


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


@given(
    text=st.one_of(st.none(), st.text()),
    kind=st.sampled_from(["text", "media", "location", "reaction", "unsupported"]),
    turns=st.integers(min_value=0, max_value=10_000),
    language=st.one_of(st.none(), st.sampled_from([*LANGUAGES, "fr", ""])),
)
def test_step_is_total_and_always_answers_in_a_supported_language(
    text: str | None, kind: str, turns: int, language: str | None
) -> None:
    state = ConversationState(turns=turns, language=language)
    context = Context(
        hotel_name="Hotel {weird} %s",
        default_language="es",
        languages=["es", "en", "pt"],
        now=dt.datetime(2026, 11, 22, tzinfo=dt.UTC),
    )
    new_state, effects = step(state, GuestSaid(text=text, message_kind=kind), context)
    assert new_state.turns == turns + 1
    assert new_state.language in LANGUAGES
    assert effects
    for effect in effects:
        bodies = render(effect, new_state.language)
        assert bodies and all(b.text for b in bodies)  # type: ignore[union-attr]


def test_every_catalogue_has_the_same_keys() -> None:
    keys = {lang: set(texts) for lang, texts in CATALOG.items()}
    assert keys["en"] == keys["es"] == keys["pt"]
