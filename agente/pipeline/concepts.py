"""Match the concept lexicon against tokens: exact words, stems, phrases, one-edit typos."""

from __future__ import annotations

from agente.pipeline.lexicon import CONCEPTS

__all__ = ["ConceptMatcher"]


def _deletions(word: str) -> list[str]:
    """The word with one letter removed, in position order (a fixed order: the first match wins)."""
    return list(dict.fromkeys(word[:i] + word[i + 1 :] for i in range(len(word))))


class ConceptMatcher:
    """Built once from ``CONCEPTS``; ``match(tokens)`` returns the concepts present."""

    __slots__ = ("_fuzzy", "_phrase_starts", "_phrases", "_stem_prefixes", "_stems", "_words")

    def __init__(self, concepts: dict[str, list[str]] = CONCEPTS) -> None:
        self._words: dict[str, set[str]] = {}
        self._stems: dict[str, set[str]] = {}
        self._phrases: dict[tuple[str, ...], set[str]] = {}
        self._fuzzy: dict[str, set[str]] = {}
        for concept, entries in concepts.items():
            for entry in entries:
                parts = tuple(entry.split())
                if len(parts) > 1:
                    self._phrases.setdefault(parts, set()).add(concept)
                elif entry.endswith("*"):
                    self._stems.setdefault(entry[:-1], set()).add(concept)
                else:
                    self._words.setdefault(entry, set()).add(concept)
        self._stem_prefixes = tuple(sorted(self._stems))
        self._phrase_starts = frozenset(p[0] for p in self._phrases)
        for word, found in self._words.items():
            if len(word) >= 6 and word.isalpha():
                for variant in [word, *_deletions(word)]:
                    self._fuzzy.setdefault(variant, set()).update(found)

    def match(self, tokens: list[str], known: frozenset[str] = frozenset()) -> set[str]:
        """Concepts present; typo matching is skipped for ``known`` (correctly spelt) words."""
        found: set[str] = set()
        for token in tokens:
            hit = self.word_hits(token, known)
            if hit:
                found |= hit
        if not self._phrase_starts.isdisjoint(tokens):
            found |= self.phrase_hits(tokens)
        return found

    def starts_phrase(self, token: str) -> bool:
        """Whether some phrase of the lexicon begins with ``token``."""
        return token in self._phrase_starts

    def word_hits(self, token: str, known: frozenset[str] = frozenset()) -> frozenset[str]:
        """The concepts one word names by itself: as a word, by its stem, or misspelt by one
        letter (not for ``known`` words)."""
        hit = self._words.get(token)
        if hit:
            return frozenset(hit)
        if len(token) < 5:
            return frozenset()
        stem_prefixes = self._stem_prefixes
        if stem_prefixes and token.startswith(stem_prefixes):
            out: set[str] = set()
            for prefix in stem_prefixes:
                if token.startswith(prefix):
                    out |= self._stems[prefix]
            return frozenset(out)
        if len(token) >= 6 and token not in known and token.isalpha():
            fuzzy = self._fuzzy
            hit = fuzzy.get(token)
            if hit is None:
                for variant in _deletions(token):
                    hit = fuzzy.get(variant)
                    if hit:
                        break
            if hit:
                return frozenset(hit)
        return frozenset()

    def phrase_hits(self, tokens: list[str]) -> set[str]:
        """The concepts named by phrases of two or three words."""
        found: set[str] = set()
        starts = self._phrase_starts
        phrases = self._phrases
        last = len(tokens) - 1
        for i, token in enumerate(tokens):
            if i < last and token in starts:
                hit = phrases.get((token, tokens[i + 1]))
                if hit:
                    found |= hit
                if i + 2 <= last:
                    hit = phrases.get((token, tokens[i + 1], tokens[i + 2]))
                    if hit:
                        found |= hit
        return found
