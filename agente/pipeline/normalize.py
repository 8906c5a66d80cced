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


# One translate() pass handles the letters of es/pt/en and the marks guests type; only text
# that still holds other non-ASCII characters pays for full Unicode decomposition.
_TABLE = str.maketrans(
    {
        **{
            a: b
            for a, b in zip(
                "áàâãäåéèêëíìîïóòôõöúùûüçñýÿ", "aaaaaaeeeeiiiiooooouuuucnyy", strict=True
            )
        },
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
)


_KEPT = frozenset("abcdefghijklmnopqrstuvwxyz0123456789/:@#.,?!+-_%$' \n")
# ASCII text skips the Unicode work: one table lower-cases it and blanks what _KEEP would
_ASCII = str.maketrans(
    {chr(c): (chr(c).lower() if chr(c).lower() in _KEPT else " ") for c in range(128)}
)


def normalize(text: str) -> str:
    """Canonical lower-case ASCII-ish form of a guest's message (see the module docstring)."""
    if text.isascii():
        folded = text.translate(_ASCII)
    else:
        for emoji, word in _EMOJI_WORDS.items():
            if emoji in text:
                text = text.replace(emoji, word)
        folded = text.casefold().translate(_TABLE)
        if not folded.isascii():
            folded = _fold(folded)
        folded = _KEEP.sub(" ", folded)
    if _REPEATS.search(folded) is not None:
        folded = _REPEATS.sub(r"\1", folded)
    out = []
    for word in folded.split():
        expansion = _SHORTHAND.get(word)
        if expansion is None and not word.isalnum():
            bare = word.strip(".,?!")
            expansion = _SHORTHAND.get(bare)
            if expansion is not None and bare != expansion:
                word = word.replace(bare, expansion, 1)
            out.append(word)
            continue
        out.append(expansion if expansion is not None else word)
    return " ".join(out)


def tokens(normalized: str) -> list[str]:
    """Word tokens of normalised text (numbers, words, e-mails and punctuation marks)."""
    return _TOKEN.findall(normalized)
