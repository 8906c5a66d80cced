"""Features for the linear classifiers (intent, language): pure, cheap, deterministic.

A message becomes a list of string features: word unigrams and bigrams of the normalised
tokens (numbers folded by shape, e-mails and references folded to a class), character 3-grams
of each longer word (so that "habitasiones" still shares most of "habitaciones"), and a few
shape features (question mark, length bucket).
"""

from __future__ import annotations

import re

__all__ = ["features", "word_features", "word_shape"]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")
_TIME = re.compile(r"^\d{1,2}(?::\d{2})?(?:hs?|am|pm)$")


def word_shape(token: str) -> str:
    """Fold a token to a class when its exact spelling carries no meaning for the intent."""
    if token.isdigit():
        return "<n>" if len(token) <= 2 else ("<year>" if len(token) == 4 else "<long>")
    if "@" in token and _EMAIL.match(token):
        return "<email>"
    if token[0].isdigit():
        if _TIME.match(token):
            return "<time>"
        return "<num_x>"
    return token


def word_features(shape: str, frequent: frozenset[str] = frozenset()) -> list[str]:
    """The features of one word (already folded by ``word_shape``): the word, and its
    character 3-grams when it is not ``frequent``."""
    out = ["w:" + shape]
    if len(shape) >= 4 and shape[0] != "<" and shape not in frequent:
        padded = "<" + shape + ">"
        out.extend("c:" + padded[i : i + 3] for i in range(len(padded) - 2))
    return out


def features(tokens: list[str], frequent: frozenset[str] = frozenset()) -> list[str]:
    """The feature strings of a tokenised, normalised message.

    Character 3-grams are only computed for words outside ``frequent`` (the words the model saw
    often in training): they are there to rescue rare and misspelt words, and skipping them for
    common words keeps a message's features few.
    """
    out: list[str] = []
    prev = "<s>"
    for token in tokens:
        shape = token if token.isalpha() else word_shape(token)
        out.extend(word_features(shape, frequent))
        prev = shape
    if tokens:
        out.append("first:" + word_shape(tokens[0]))
        out.append("last:" + prev)
    n = len(tokens)
    out.append(
        "len:"
        + ("1" if n <= 1 else "2" if n == 2 else "3-4" if n <= 4 else "5-9" if n <= 9 else "10+")
    )
    return out
