"""``understand``: text in, intent, language and entities out. Pure at inference.

The models are loaded once (``Understander.load``) by whoever starts the process and passed
around; ``understand()`` is the convenience that uses the packaged models. Nothing here reads
the clock, the environment or the network: ``today`` comes in, in the hotel's time zone.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from importlib import resources
from pathlib import Path

import attrs
import msgspec
import numpy as np

from agente.pipeline.concepts import ConceptMatcher
from agente.pipeline.entities import Entities, extract_entities
from agente.pipeline.features import features, word_features, word_shape
from agente.pipeline.languages import LanguageScorer, language_features
from agente.pipeline.linear import LinearModel
from agente.pipeline.normalize import normalize, tokens

__all__ = [
    "INTENTS",
    "LANGUAGES",
    "Understander",
    "Understanding",
    "intent_features",
    "language_features",
    "understand",
]

INTENTS = (
    "greeting", "goodbye", "affirm", "deny", "check_availability", "make_reservation",
    "modify_reservation", "cancel_reservation", "reservation_status", "ask_price",
    "ask_room_types", "ask_amenities", "ask_location", "ask_policies", "payment_info",
    "payment_proof", "check_in_info", "check_out_info", "late_checkout", "business_hours_info",
    "human_handoff", "complaint", "inform", "opt_out", "out_of_scope",
)  # fmt: skip
LANGUAGES = ("es", "en", "pt")
MODEL_DIR = "model"


class Understanding(msgspec.Struct, frozen=True, kw_only=True):
    """What a guest's message means: the contract of ``shared/docs/INTENTS.md``."""

    text: str
    intent: str
    confidence: float
    language: str
    entities: Entities


_NO_ENTITIES = frozenset({"out_of_scope", "complaint"})
_NO_STAY_DATES = frozenset(
    {
        "check_in_info",
        "check_out_info",
        "late_checkout",
        "business_hours_info",
        "cancel_reservation",
        "greeting",
        "goodbye",
        "payment_proof",  # "hoy hice el depósito": the day of a payment, not of a stay
    }
)
_EMPTY = Entities()
_NO_AMENITIES = frozenset({"ask_room_types", "payment_proof", "payment_info"})

# A policy question whose words named no topic outright ("criança paga?", "do children stay
# free?", "qué pasa con la seña si no vamos?"): the topic its subject points to. The classifier
# already decided it is a policy question, so a weaker hint is enough here.
_TOPIC_HINT_WORDS = {
    "pets": "perro perros gato gatos mascota mascotas dog dogs cat cats pet pets",
    "smoking": "fumar smoke smoking fumo fumante cigarro",
    "id_documents": "documento documentos dni passport pasaporte id identidad",
    "extra_bed": "cama camas bed beds colchon colchones colchao colchoes mattress cuna cot crib berco",
    "children": """nino nina ninos ninas nene nena nenes nenas chico chicos chica chicas hijo
        hija hijos hijas menor menores bebe bebes kid kids child children baby babies infant
        infants toddler teen teens teenager crianca criancas filho filha filhos filhas nenem""",
    "cancellation": """cancelar cancelo cancela cancelacion cancel cancellation cancelamento
        reembolso reembolsan devuelven devuelve devolucion refund refunds refundable devolvem
        devolucao sena deposit sinal vamos ir voy go come vou""",
}
_TOPIC_HINTS = {w: topic for topic, text in _TOPIC_HINT_WORDS.items() for w in text.split()}
_TOPIC_ORDER = ("pets", "smoking", "id_documents", "extra_bed", "children", "cancellation")


def _policy_topic(toks: list[str]) -> str | None:
    found = {_TOPIC_HINTS[t] for t in toks if t in _TOPIC_HINTS}
    return next((t for t in _TOPIC_ORDER if t in found), None)


def entities_for(intent: str, e: Entities, toks: list[str] | None = None) -> Entities:
    """Keep the entities that mean something for this intent (the labelling conventions).

    A complaint or an out-of-scope message books nothing, so none of its words become
    entities ("me recomendás un restaurante?" asks for no amenity); a policy topic only
    belongs to a policy question; the hours of a check-in question are not a stay.
    """
    if intent in _NO_ENTITIES:
        return _EMPTY
    if intent == "ask_policies":
        if e.topic is None:
            e = msgspec.structs.replace(e, topic=_policy_topic(toks or []))
    elif e.topic is not None:
        e = msgspec.structs.replace(e, topic=None)
    if e.amenities and intent in _NO_AMENITIES:  # "habitaciones con jacuzzi?", "the transfer"
        e = msgspec.structs.replace(e, amenities=[])
    if intent == "cancel_reservation":  # which booking, and whose: nothing else
        e = Entities(booking_ref=e.booking_ref, email=e.email, phone=e.phone)
    if intent in _NO_STAY_DATES and (e.check_in or e.check_out or e.nights or e.invalid_dates):
        e = msgspec.structs.replace(
            e, check_in=None, check_out=None, nights=None, invalid_dates=False
        )
    return e


def entity_flags(e: Entities) -> list[str]:
    """Which kinds of entity a message carries: strong hints for the intent."""
    flags = []
    if e.check_in or e.check_out or e.invalid_dates:
        flags.append("dates")
    if e.nights:
        flags.append("nights")
    if e.adults or e.children or e.guests:
        flags.append("people")
    if e.rooms:
        flags.append("rooms")
    if e.room_type:
        flags.append("room_type")
    if e.booking_ref:
        flags.append("ref")
    if e.email or e.phone:
        flags.append("contact")
    if e.time:
        flags.append("time")
    if e.amenities:
        flags.append("amenity")
    if e.topic:
        flags.append("topic")
    return flags


def intent_features(
    toks: list[str], entities: Entities, frequent: frozenset[str], concepts: ConceptMatcher
) -> list[str]:
    """Words, concepts, entity kinds, and each concept paired with each entity kind."""
    # sorted: a set's order varies between processes, and the order of features changes the
    # floating-point sums of training; a fixed order keeps the weights reproducible bit for bit
    found = sorted(concepts.match(toks, frequent))
    flags = entity_flags(entities)
    out = features(toks, frequent)
    out.extend("k:" + c for c in found)
    out.extend("e:" + f for f in flags)
    out.extend("x:" + c + "|" + f for c in found for f in flags)
    if not flags:
        out.extend("x:" + c + "|none" for c in found)
    if not found and not flags and all(t not in frequent for t in toks):
        out.append("g:unknown")  # nothing known in it ("lkjhgf", "sdfsdfg"): likely gibberish
    return out


_LENGTHS = ("1", "1", "2", "3-4", "3-4", "5-9", "5-9", "5-9", "5-9", "5-9", "10+")
# a concept's rows: its own, with each entity kind, with none
_Concept = tuple[int | None, dict[str, int], int | None]
_NO_CONCEPT: _Concept = (None, {}, None)

# What the scorer keeps for one word: its intent rows, its shape, its language row (None for
# what is not a word), the concepts it names alone, whether a phrase starts with it, and
# whether the model saw it often.
_Word = tuple[tuple[int, ...], str, tuple[float, float, float] | None, frozenset[str], bool, bool]


class IntentScorer:
    """The intent and language models folded per word, for speed: same answers as
    ``intent_features`` + the intent model, and as the language model.

    Everything the models read from a word (the word, its character 3-grams when it is rare,
    its language row, the concepts it names) depends on that word alone, so each word the
    models know is looked up once, at load, into one entry; a message then needs one pass over
    its words, a few lookups for the features that span words, and one numpy sum. A word the
    models never saw is worked out when met, and remembered (up to ``MEMORY`` of them).
    """

    __slots__ = (
        "_bias_row", "_by_concept", "_classes", "_concepts", "_entity", "_first", "_frequent",
        "_language", "_last", "_lengths", "_matrix", "_memory", "_table", "_tokens", "_unknown",
        "_vocab",
    )  # fmt: skip

    MEMORY = 20_000  # about 500 bytes a word: at most some 10 MB

    def __init__(
        self, model: LinearModel, concepts: ConceptMatcher, language: LanguageScorer
    ) -> None:
        weights = model._w64
        vocab = model.vocabulary
        self._vocab = vocab
        self._classes = model.classes
        self._frequent = model.frequent
        self._concepts = concepts
        self._language = language
        shapes = [f[2:] for f in vocab if f.startswith("w:")]
        rows = []
        for shape in shapes:
            idx = [vocab[f] for f in word_features(shape, self._frequent) if f in vocab]
            rows.append(weights.take(idx, axis=0).sum(axis=0))
        # the bias is one more row, added to every message's sum
        stacked = np.vstack([weights, *([np.array(rows)] if rows else []), model._b64[None, :]])
        self._matrix = np.ascontiguousarray(stacked)
        self._bias_row = len(stacked) - 1
        offset = len(weights)
        self._tokens = {shape: offset + i for i, shape in enumerate(shapes)}

        def rows_of(prefix: str) -> dict[str, int]:
            return {f[len(prefix) :]: i for f, i in vocab.items() if f.startswith(prefix)}

        self._first = rows_of("first:")
        self._last = rows_of("last:")
        length = rows_of("len:")
        self._lengths = tuple(length.get(_LENGTHS[n]) for n in range(11))
        self._entity = rows_of("e:")
        cross: dict[str, dict[str, int]] = {}
        for key, i in rows_of("x:").items():
            concept, flag = key.split("|", 1)
            cross.setdefault(concept, {})[flag] = i
        concept_rows = rows_of("k:")
        self._by_concept = {
            k: (concept_rows.get(k), cross.get(k, {}), cross.get(k, {}).get("none"))
            for k in concept_rows.keys() | cross.keys()
        }
        self._unknown = vocab.get("g:unknown")
        words = {s for s in shapes if s.isalpha()} | set(language.words())
        self._table: dict[str, _Word] = {w: self._word(w) for w in sorted(words)}
        self._memory = len(self._table) + self.MEMORY

    def _word(self, token: str) -> _Word:
        shape = token if token.isalpha() else word_shape(token)
        row = self._tokens.get(shape)
        if row is not None:
            rows: tuple[int, ...] = (row,)
        else:
            vocab = self._vocab
            rows = tuple(vocab[f] for f in word_features(shape, self._frequent) if f in vocab)
        return (
            rows,
            shape,
            self._language.word_row(token),
            self._concepts.word_hits(token, self._frequent),
            self._concepts.starts_phrase(token),
            token in self._frequent,
        )

    def _learn(self, token: str) -> _Word:
        word = self._word(token)
        if len(self._table) < self._memory:
            self._table[token] = word
        return word

    def score(self, toks: list[str], entities: Entities) -> tuple[str, float, str, float]:
        """The intent and its confidence, the language and its confidence."""
        table = self._table
        idx: list[int] = []
        a, b, c = self._language.bias
        words = False
        found: set[str] = set()
        phrase = known = False
        shape = ""
        for token in toks:
            word = table.get(token)
            if word is None:
                word = self._learn(token)
            rows, shape, lang, hit, starts, frequent = word
            idx += rows
            if lang is not None:
                words = True
                a += lang[0]
                b += lang[1]
                c += lang[2]
            if hit:
                found |= hit
            if starts:
                phrase = True
            if frequent:
                known = True
        if phrase:
            found |= self._concepts.phrase_hits(toks)

        language, language_confidence = self._language.decide(a, b, c, words=words)

        if toks:
            first = toks[0] if toks[0].isalpha() else word_shape(toks[0])
            row = self._first.get(first)
            if row is not None:
                idx.append(row)
            row = self._last.get(shape)
            if row is not None:
                idx.append(row)
        row = self._lengths[min(len(toks), 10)]
        if row is not None:
            idx.append(row)
        # then the concepts, the entity kinds, and each concept with each kind (or with none)
        flags = entity_flags(entities)
        nothing = _NO_CONCEPT
        concepts = [self._by_concept.get(k, nothing) for k in sorted(found)] if found else []
        for concept in concepts:
            if concept[0] is not None:
                idx.append(concept[0])
        entity = self._entity
        for f in flags:
            row = entity.get(f)
            if row is not None:
                idx.append(row)
        if flags:
            for concept in concepts:
                cross = concept[1]
                for f in flags:
                    row = cross.get(f)
                    if row is not None:
                        idx.append(row)
        else:
            for concept in concepts:
                if concept[2] is not None:
                    idx.append(concept[2])
            if not found and not known and self._unknown is not None:
                idx.append(self._unknown)
        idx.append(self._bias_row)
        logits = np.add.reduce(self._matrix.take(idx, axis=0), axis=0)
        best = int(logits.argmax())
        # softmax of the best class: numpy's cost per call dominates here, so the fewest calls
        confidence = math.exp(float(logits[best]) - float(np.logaddexp.reduce(logits)))
        return self._classes[best], confidence, language, language_confidence

    def predict(self, toks: list[str], entities: Entities) -> tuple[str, float]:
        """The intent and its confidence."""
        intent, confidence, _, _ = self.score(toks, entities)
        return intent, confidence


def _model_path(name: str) -> Path:
    return Path(str(resources.files("agente.pipeline") / MODEL_DIR / name))


@attrs.frozen
class Understander:
    """The understanding pipeline with its models; call it like ``understand``."""

    intent_model: LinearModel
    language_model: LinearModel
    concepts: ConceptMatcher = attrs.field(factory=ConceptMatcher)
    language_scorer: LanguageScorer = attrs.field(init=False)
    intent_scorer: IntentScorer = attrs.field(init=False)

    @language_scorer.default
    def _language_scorer(self) -> LanguageScorer:
        return LanguageScorer(self.language_model)

    @intent_scorer.default
    def _intent_scorer(self) -> IntentScorer:
        return IntentScorer(self.intent_model, self.concepts, self.language_scorer)

    @classmethod
    def load(cls, directory: Path | None = None) -> Understander:
        """Load the models (by default the ones shipped in the package)."""
        where = directory or _model_path("")
        return cls(
            intent_model=LinearModel.load(where / "intent.npz"),
            language_model=LinearModel.load(where / "language.npz"),
        )

    def intent_features(self, toks: list[str], entities: Entities) -> list[str]:
        return intent_features(toks, entities, self.intent_model.frequent, self.concepts)

    def __call__(
        self,
        text: str,
        *,
        today: dt.date,
        timezone: str | None = None,
        lang_hint: str | None = None,
    ) -> Understanding:
        """Understand one message. Total: any string and any date give a valid result."""
        del timezone  # ``today`` is already the hotel's date; kept for the contract
        norm = normalize(text)
        toks = tokens(norm)
        entities = extract_entities(text, norm, today=today)
        if not toks:
            return Understanding(
                text=text, intent="out_of_scope", confidence=0.2,
                language=lang_hint if lang_hint in LANGUAGES else "es", entities=entities,
            )  # fmt: skip
        intent, confidence, language, certainty = self.intent_scorer.score(toks, entities)
        if lang_hint in LANGUAGES and certainty < 0.75:
            language = lang_hint  # a short message that could be any of them keeps the hint
        return Understanding(
            text=text,
            intent=intent,
            confidence=round(confidence, 4),
            language=language,
            entities=entities_for(intent, entities, toks),
        )


@functools.cache
def _default() -> Understander:
    return Understander.load()


def understand(
    text: str, *, today: dt.date, timezone: str | None = None, lang_hint: str | None = None
) -> Understanding:
    """Understand ``text`` with the packaged models (loaded once, on first use)."""
    return _default()(text, today=today, timezone=timezone, lang_hint=lang_hint)
