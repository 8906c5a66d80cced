"""Train and evaluate the understanding models from the repository's labelled files.

    agente nlu train      agente/pipeline/data/train.jsonl → agente/pipeline/model/*.npz
    agente nlu eval FILE  per-intent precision/recall/F1, macro-F1 per language, language
                          accuracy and entity exact-match

Training is deterministic: the same files give the same weights (a test checks it).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs
import msgspec

from agente.pipeline.concepts import ConceptMatcher
from agente.pipeline.entities import extract_entities
from agente.pipeline.linear import calibrate, frequent_words, train
from agente.pipeline.normalize import normalize, tokens
from agente.pipeline.understand import (
    INTENTS,
    LANGUAGES,
    Understander,
    _model_path,
    intent_features,
    language_features,
)

__all__ = ["Example", "evaluate", "load_examples", "train_models"]

DATA = Path(__file__).resolve().parent / "data" / "train.jsonl"
#: L2 penalty of the intent model, chosen on the two dev sets (1e-4 … 0 tried; see
#: docs/understanding.md): with ~6,000 examples, less shrinkage keeps rare but telling words
INTENT_L2 = 1e-5


class Example(msgspec.Struct, frozen=True, kw_only=True):
    id: str = ""
    text: str
    today: dt.date
    language: str
    intent: str
    entities: dict[str, Any] = {}


def load_examples(path: Path) -> list[Example]:
    decoder = msgspec.json.Decoder(Example)
    return [decoder.decode(line) for line in path.read_bytes().splitlines() if line.strip()]


def train_models(
    train_file: Path = DATA, calibration_file: Path | None = None, out: Path | None = None
) -> Understander:
    """Fit the intent and language models and write them next to the package."""
    examples = load_examples(train_file)
    texts = [tokens(normalize(e.text)) for e in examples]
    frequent = frequent_words(texts)
    concepts = ConceptMatcher()

    def intent_feats(e: Example, toks: list[str]) -> list[str]:
        entities = extract_entities(e.text, normalize(e.text), today=e.today)
        return intent_features(toks, entities, frequent, concepts)

    intent_model = train(
        [(intent_feats(e, t), e.intent) for t, e in zip(texts, examples, strict=True)],
        frequent=frequent,
        l2=INTENT_L2,
    )
    language_model = train(
        [(language_features(t), e.language) for t, e in zip(texts, examples, strict=True)],
        epochs=200,
    )
    if calibration_file is not None:
        held = load_examples(calibration_file)
        intent_model = calibrate(
            intent_model, [(intent_feats(e, tokens(normalize(e.text))), e.intent) for e in held]
        )
    target = out or _model_path("")
    target.mkdir(parents=True, exist_ok=True)
    intent_model.save(target / "intent.npz")
    language_model.save(target / "language.npz")
    return Understander(intent_model=intent_model, language_model=language_model)


def _entity_view(entities: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entities.items() if v not in (None, [], False)}


@attrs.frozen
class Report:
    per_intent: dict[str, tuple[float, float, float, int]]
    macro_f1: dict[str, float]
    language_accuracy: float
    entity_exact_match: float
    intent_accuracy: float
    errors: list[dict[str, Any]]


def _f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def evaluate(model: Understander, examples: Iterable[Example]) -> Report:
    rows = []
    for e in examples:
        u = model(e.text, today=e.today)
        predicted = _entity_view(msgspec.to_builtins(u.entities))
        rows.append((e, u, predicted == _entity_view(e.entities), predicted))
    by_lang: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for e, u, _, _ in rows:
        by_lang[e.language].append((e.intent, u.intent))
        by_lang["all"].append((e.intent, u.intent))

    def macro(
        pairs: list[tuple[str, str]],
    ) -> tuple[float, dict[str, tuple[float, float, float, int]]]:
        per: dict[str, tuple[float, float, float, int]] = {}
        labels = sorted({g for g, _ in pairs})
        for label in labels:
            tp = sum(1 for g, p in pairs if g == label and p == label)
            fp = sum(1 for g, p in pairs if g != label and p == label)
            fn = sum(1 for g, p in pairs if g == label and p != label)
            per[label] = (*_f1(tp, fp, fn), tp + fn)
        return (sum(v[2] for v in per.values()) / len(per) if per else 0.0), per

    macro_f1 = {}
    per_intent: dict[str, tuple[float, float, float, int]] = {}
    for lang, pairs in by_lang.items():
        score, per = macro(pairs)
        macro_f1[lang] = score
        if lang == "all":
            per_intent = per
    n = len(rows) or 1
    return Report(
        per_intent=per_intent,
        macro_f1=macro_f1,
        language_accuracy=sum(1 for e, u, _, _ in rows if e.language == u.language) / n,
        entity_exact_match=sum(1 for *_, ok, _ in rows if ok) / n,
        intent_accuracy=sum(1 for e, u, _, _ in rows if e.intent == u.intent) / n,
        errors=[
            {
                "id": e.id,
                "text": e.text,
                "gold": e.intent,
                "got": u.intent,
                "lang": e.language,
                "got_lang": u.language,
                "entities_ok": ok,
                "gold_entities": _entity_view(e.entities),
                "got_entities": predicted,
            }
            for e, u, ok, predicted in rows
            if e.intent != u.intent or not ok or e.language != u.language
        ],
    )


def format_report(report: Report, name: str) -> str:
    lines = [f"== {name}", f"{'intent':<22}{'P':>7}{'R':>7}{'F1':>7}{'n':>6}"]
    for intent in INTENTS:
        if intent in report.per_intent:
            p, r, f, n = report.per_intent[intent]
            lines.append(f"{intent:<22}{p:>7.3f}{r:>7.3f}{f:>7.3f}{n:>6}")
    lines.append("")
    for lang in (*LANGUAGES, "all"):
        if lang in report.macro_f1:
            lines.append(f"macro-F1 {lang:<4} {report.macro_f1[lang]:.3f}")
    lines.append(f"intent accuracy   {report.intent_accuracy:.3f}")
    lines.append(f"language accuracy {report.language_accuracy:.3f}")
    lines.append(f"entity exact-match {report.entity_exact_match:.3f}")
    return "\n".join(lines)


def dump_errors(report: Report) -> str:
    return "\n".join(json.dumps(e, ensure_ascii=False, default=str) for e in report.errors)
