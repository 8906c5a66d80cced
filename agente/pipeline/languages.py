"""Language cues: words that mark es, en or pt, for the language classifier.

Short messages decide on a handful of words ("sure", "valeu", "dale"), so each language gets a
curated list of function words and chat words. A word may belong to two languages ("que",
"para"); the classifier weighs them with the rest of the features (word suffixes, words).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agente.pipeline.linear import LinearModel

# fmt: off
_ES = ["el", "la", "los", "las", "lo", "un", "una", "unos", "unas", "de", "del", "al", "que", "y", "o", "en", "con", "por", "para", "sin", "sobre", "entre", "hasta", "desde", "es", "son", "esta", "estan", "estoy", "estamos", "soy", "somos", "fue", "ser", "hay", "habia", "habra", "tienen", "tenes", "tiene", "tengo", "tenemos", "tendrian", "tendran", "quiero", "queria", "quisiera", "queremos", "podes", "puedo", "podemos", "pueden", "necesito", "necesitamos", "hola", "buenas", "gracias", "chau", "dale", "si", "no", "bueno", "listo", "joya", "genial", "barbaro", "che", "vos", "usted", "ustedes", "nosotros", "mi", "mis", "tu", "tus", "su", "sus", "nuestro", "nuestra", "me", "te", "se", "nos", "les", "le", "muy", "mas", "menos", "tambien", "pero", "porque", "cuando", "donde", "como", "cual", "cuanto", "cuanta", "cuantos", "cuantas", "que", "quien", "habitacion", "habitaciones", "noche", "noches", "reserva", "reservar", "reservame", "mañana", "manana", "pasado", "hoy", "ayer", "finde", "semana", "fin", "viernes", "sabado", "domingo", "lunes", "martes", "miercoles", "jueves", "enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "setiembre", "octubre", "noviembre", "diciembre", "personas", "adultos", "ninos", "nenes", "chicos", "pileta", "cochera", "desayuno", "precio", "sale", "cuesta", "seña", "sena", "pago", "pague", "transferi", "comprobante", "mande", "ahi", "aca", "alla", "esto", "eso", "ese", "esa", "este", "hacer", "hago", "hice", "ir", "voy", "vamos", "llegar", "llego", "salir", "quedar", "quedarme", "ya", "todavia", "aun", "nada", "algo", "alguien", "gracias", "perdon", "disculpa", "ok", "okey", "vale", "claro", "obvio", "nop", "sip", "nah", "mejor", "después", "despues", "luego", "antes", "cerca", "lejos"]

_EN = ["the", "a", "an", "of", "to", "in", "on", "at", "for", "with", "from", "by", "about", "and", "or", "but", "if", "is", "are", "was", "were", "be", "been", "am", "i", "you", "he", "she", "we", "they", "it", "my", "your", "our", "their", "me", "us", "them", "this", "that", "these", "those", "there", "here", "what", "which", "who", "whom", "how", "when", "where", "why", "do", "does", "did", "have", "has", "had", "can", "could", "would", "will", "shall", "should", "may", "might", "must", "not", "no", "yes", "yeah", "yep", "nope", "sure", "ok", "okay", "thanks", "thank", "please", "hi", "hello", "hey", "bye", "goodbye", "room", "rooms", "night", "nights", "book", "booking", "reservation", "available", "availability", "price", "cost", "much", "many", "any", "some", "just", "also", "tomorrow", "today", "tonight", "weekend", "week", "friday", "saturday", "sunday", "monday", "tuesday", "wednesday", "thursday", "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december", "people", "adults", "kids", "children", "breakfast", "pool", "parking", "gym", "pay", "paid", "payment", "deposit", "check", "out", "in", "late", "early", "want", "need", "like", "get", "got", "let", "know", "tell", "send", "sent", "still", "already", "anything", "something", "someone", "else", "cancel", "change", "stay", "arrive", "leave", "open", "close", "hours", "address", "location", "where", "unsubscribe", "stop", "awesome", "great", "cool", "fine", "right", "wrong", "correct", "actually", "sorry", "guys", "folks", "one", "two", "three", "four", "five"]

_PT = ["o", "a", "os", "as", "um", "uma", "uns", "umas", "de", "do", "da", "dos", "das", "no", "na", "nos", "nas", "em", "com", "por", "pra", "para", "sem", "sobre", "entre", "ate", "desde", "e", "eh", "sao", "esta", "estao", "estou", "estamos", "sou", "somos", "foi", "ser", "tem", "temos", "tenho", "tinha", "teria", "queria", "quero", "queremos", "gostaria", "preciso", "precisamos", "pode", "posso", "podem", "voce", "voces", "vc", "vcs", "senhor", "senhora", "meu", "minha", "meus", "minhas", "seu", "sua", "nosso", "nossa", "me", "te", "se", "nos", "lhe", "muito", "mais", "menos", "tambem", "tbm", "mas", "porque", "quando", "onde", "como", "qual", "quanto", "quanta", "quantos", "quantas", "quem", "quarto", "quartos", "noite", "noites", "diaria", "diarias", "reserva", "reservar", "amanha", "hoje", "ontem", "depois", "fds", "semana", "sexta", "sabado", "domingo", "segunda", "terca", "quarta", "quinta", "janeiro", "fevereiro", "marco", "abril", "maio", "junho", "julho", "agosto", "setembro", "outubro", "novembro", "dezembro", "pessoas", "adultos", "criancas", "piscina", "estacionamento", "cafe", "manha", "preco", "custa", "sinal", "pagamento", "paguei", "comprovante", "pix", "enviei", "mandei", "oi", "ola", "obrigado", "obrigada", "valeu", "tchau", "sim", "nao", "nem", "blz", "beleza", "legal", "certo", "isso", "aqui", "ai", "la", "isto", "isso", "esse", "essa", "este", "esta", "fazer", "fiz", "ir", "vou", "vamos", "chegar", "chego", "sair", "ficar", "ja", "ainda", "nada", "algo", "alguem", "desculpa", "ta", "tá", "td", "tudo", "bem", "bom", "boa", "dia", "tarde", "noite", "cadê", "cade", "gente"]
# fmt: on

WORDS: dict[str, frozenset[str]] = {
    "es": frozenset(_ES),
    "en": frozenset(_EN),
    "pt": frozenset(_PT),
}

__all__ = ["WORDS", "LanguageScorer", "language_features"]


def language_features(tokens: list[str]) -> list[str]:
    """Words, word endings, and which language lists each word is on."""
    out: list[str] = []
    es, en, pt = WORDS["es"], WORDS["en"], WORDS["pt"]
    for token in tokens:
        if not token.isalpha():
            continue
        out.append("w:" + token)
        if len(token) >= 4:
            out.append("s2:" + token[-2:])
            out.append("s3:" + token[-3:])
        if token in es:
            out.append("L:es")
        if token in en:
            out.append("L:en")
        if token in pt:
            out.append("L:pt")
    if not out:
        out.append("L:none")
    return out


class LanguageScorer:
    """The language model folded per word, for speed: same answers as the plain model.

    Every language feature depends on one word only, so a word's whole contribution (the word
    itself, its endings, the lists it is on) is summed once, at load, into one row; a word the
    model never saw is scored from its endings and lists on the fly.
    """

    __slots__ = ("_bias", "_classes", "_none", "_rows", "_rows_by_feature")

    def __init__(self, model: LinearModel) -> None:
        if len(model.classes) != 3:
            raise ValueError("the language model has three classes: es, en, pt")
        self._classes = model.classes
        a, b, c = (float(x) for x in model._b64)
        self._bias = (a, b, c)
        weights = model._w64
        self._rows_by_feature = {f: tuple(weights[i].tolist()) for f, i in model.vocabulary.items()}
        self._none = self._rows_by_feature.get("L:none", (0.0, 0.0, 0.0))
        words = {f[2:] for f in model.vocabulary if f.startswith("w:")}
        for lexicon in WORDS.values():
            words |= lexicon
        self._rows = {w: self._word_row(w) for w in words if w.isalpha()}

    def _word_row(self, word: str) -> tuple[float, float, float]:
        a = b = c = 0.0
        get = self._rows_by_feature.get
        for feature in language_features([word]):
            row = get(feature)
            if row is not None:
                a += row[0]
                b += row[1]
                c += row[2]
        return a, b, c

    @property
    def bias(self) -> tuple[float, float, float]:
        return self._bias

    def words(self) -> list[str]:
        """The words whose rows were summed at load."""
        return list(self._rows)

    def word_row(self, word: str) -> tuple[float, float, float] | None:
        """A word's whole contribution to the three scores (None for what is not a word)."""
        if not word.isalpha():
            return None
        row = self._rows.get(word)
        return row if row is not None else self._word_row(word)

    def predict(self, tokens: list[str]) -> tuple[str, float]:
        a, b, c = self._bias
        rows = self._rows
        seen = False
        for token in tokens:
            if not token.isalpha():
                continue
            seen = True
            row = rows.get(token)
            if row is None:
                row = self._word_row(token)
            a += row[0]
            b += row[1]
            c += row[2]
        return self.decide(a, b, c, words=seen)

    def decide(self, a: float, b: float, c: float, *, words: bool) -> tuple[str, float]:
        """The language and its probability from the three summed scores (bias included);
        ``words``: whether the message had any word at all."""
        if not words:
            a, b, c = a + self._none[0], b + self._none[1], c + self._none[2]
        top = max(a, b, c)
        best = 0 if a == top else 1 if b == top else 2
        return self._classes[best], 1.0 / (
            math.exp(a - top) + math.exp(b - top) + math.exp(c - top)
        )
