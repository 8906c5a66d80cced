"""Text normalisation: the first pure stage of understanding.

``normalize`` folds case, removes accents and emoji, collapses letters repeated three or more
times ("holaaa" → "hola"), expands the WhatsApp shorthand of es/pt/en ("q" → "que",
"xq" → "porque", "vc" → "voce"), and collapses white space. Punctuation that carries meaning
(``/ : @ # . , ? + -``) stays, so dates, times, e-mails and references survive.
It is idempotent: ``normalize(normalize(t)) == normalize(t)``.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["normalize", "tokens"]

# Emoji that carry an answer; everything else in the symbol planes becomes a space.
_EMOJI_WORDS = {
    "👍": " ok ",
    "👌": " ok ",
    "✅": " ok ",
    "🙏": " gracias ",
    "👋": " hola ",
    "❌": " no ",
    "👎": " no ",
}

_SHORTHAND = {
    # Spanish
    "q": "que",
    "k": "que",
    "xq": "porque",
    "pq": "porque",
    "porq": "porque",
    "xk": "porque",
    "tb": "tambien",
    "tmb": "tambien",
    "tbn": "tambien",
    "xfa": "por favor",
    "porfa": "por favor",
    "porfis": "por favor",
    "pls": "please",
    "plz": "please",
    "msj": "mensaje",
    "msg": "mensaje",
    "hab": "habitacion",
    "habs": "habitaciones",
    "dps": "despues",
    "mnn": "manana",
    "mna": "manana",
    "bs": "besos",
    "d": "de",
    "x": "por",
    "xa": "para",
    "pa": "para",
    "toy": "estoy",
    "kiero": "quiero",
    "qiero": "quiero",
    "cdo": "cuando",
    "cuant": "cuanto",
    "nd": "nada",
    "grax": "gracias",
    "graciass": "gracias",
    "bno": "bueno",
    "weno": "bueno",
    "sip": "si",
    "nop": "no",
    "nel": "no",
    "okis": "ok",
    "oki": "ok",
    "okey": "ok",
    "okay": "ok",
    "k.": "ok",
    # Portuguese
    "vc": "voce",
    "vcs": "voces",
    "tbm": "tambem",
    "pfv": "por favor",
    "pf": "por favor",
    "obg": "obrigado",
    "obgd": "obrigado",
    "hj": "hoje",
    "amanha": "amanha",
    "n": "nao",
    "eh": "e",
    # English
    "u": "you",
    "ur": "your",
    "r": "are",
    "thx": "thanks",
    "thnx": "thanks",
    "ty": "thank you",
    "pls.": "please",
    "im": "i am",
    "wanna": "want to",
    "gonna": "going to",
    "tmrw": "tomorrow",
    "tmr": "tomorrow",
    "wknd": "weekend",
}

_REPEATS = re.compile(r"([a-z])\1{2,}")
_KEEP = re.compile(r"[^a-z0-9/:@#.,?!+\-_%$' \n]")
_SPACES = re.compile(r"\s+")
_TOKEN = re.compile(r"[a-z0-9]+(?:[.'@_-][a-z0-9]+)*|[?!#/:$%+]")


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# The letters of es/pt/en and the marks guests type, folded one by one; only text that still
# holds other non-ASCII characters pays for full Unicode decomposition.
_FOLDS = {
    **dict(zip("áàâãäåéèêëíìîïóòôõöúùûüçñýÿ", "aaaaaaeeeeiiiiooooouuuucnyy", strict=True)),
    "¿": " ",
    "¡": " ",
    "º": "o",
    "ª": "a",
    "\u2019": "'",
    "\u2018": "'",
    "“": " ",
    "”": " ",
    "…": " ",
    "\u2013": "-",
    "—": "-",
}


_KEPT = frozenset("abcdefghijklmnopqrstuvwxyz0123456789/:@#.,?!+-_%$' \n")
# ASCII text skips the Unicode work: one byte table lower-cases it and blanks what _KEEP would
_ASCII = bytes(ord(c.lower()) if c.lower() in _KEPT else ord(" ") for c in map(chr, range(256)))
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_TRIPLE = re.compile(r"([a-z])\1\1")  # finds what _REPEATS replaces, at half the cost


def _fold_known(m: re.Match[str]) -> str:
    c = m.group()
    return _FOLDS.get(c, c)


def _shorthand_in(word: str) -> str:
    """A word with punctuation around shorthand ("q?", "xq,"): the shorthand expanded."""
    bare = word.strip(".,?!")
    expansion = _SHORTHAND.get(bare)
    if expansion is not None and bare != expansion:
        return word.replace(bare, expansion, 1)
    return word


def normalize(text: str) -> str:
    """Canonical lower-case ASCII-ish form of a guest's message (see the module docstring)."""
    if not text.isascii():
        for emoji, word in _EMOJI_WORDS.items():
            if emoji in text:
                text = text.replace(emoji, word)
        # the few non-ASCII characters are looked up one by one, the rest is left alone
        text = _NON_ASCII.sub(_fold_known, text.casefold())
    if text.isascii():
        folded = text.encode().translate(_ASCII).decode()
    else:
        folded = _KEEP.sub(" ", _fold(text))
    if _TRIPLE.search(folded) is not None:
        folded = _REPEATS.sub(r"\1", folded)
    get = _SHORTHAND.get
    return " ".join([get(w) or (w if w.isalnum() else _shorthand_in(w)) for w in folded.split()])


def tokens(normalized: str) -> list[str]:
    """Word tokens of normalised text (numbers, words, e-mails and punctuation marks)."""
    return _TOKEN.findall(normalized)
