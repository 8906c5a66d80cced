"""A small multinomial logistic-regression classifier: trained offline, run as a pure function.

Training (``train``) is deterministic full-batch gradient descent (Adam, L2), so the shipped
weights are reproducible from the repository's data files with ``agente nlu train``. Inference
(``LinearModel.scores``) looks the features up in a vocabulary and sums the matching weight
rows: one numpy reduction per message.
"""

from __future__ import annotations

import io
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import attrs
import numpy as np

__all__ = ["LinearModel", "calibrate", "frequent_words", "train"]


@attrs.frozen
class LinearModel:
    classes: tuple[str, ...]
    vocabulary: dict[str, int]
    weights: np.ndarray  # (features, classes), float32
    bias: np.ndarray  # (classes,), float32
    temperature: float = 1.0
    frequent: frozenset[str] = frozenset()
    """Words seen often in training (features skip their character n-grams)."""

    _w64: np.ndarray = attrs.field(init=False, repr=False, eq=False)
    _b64: np.ndarray = attrs.field(init=False, repr=False, eq=False)
    _rows: dict[str, tuple[float, ...]] | None = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        # float64 avoids a conversion per call; with few classes plain Python sums beat numpy's
        # per-call overhead, so those models keep each feature's row as a tuple.
        w64 = np.ascontiguousarray(self.weights, dtype=np.float64) / self.temperature
        object.__setattr__(self, "_w64", w64)
        object.__setattr__(self, "_b64", self.bias.astype(np.float64) / self.temperature)
        rows = None
        if len(self.classes) <= 4:
            rows = {f: tuple(w64[i].tolist()) for f, i in self.vocabulary.items()}
        object.__setattr__(self, "_rows", rows)

    def scores(self, feats: Sequence[str]) -> np.ndarray:
        """Logits per class (temperature applied)."""
        get = self.vocabulary.get
        idx = [i for i in map(get, feats) if i is not None]
        logits: np.ndarray = self._w64.take(idx, axis=0).sum(axis=0)
        logits += self._b64
        return logits

    def predict(self, feats: Sequence[str]) -> tuple[str, float]:
        """The best class and its probability."""
        if self._rows is not None:
            return self._predict_small(feats)
        logits = self.scores(feats)
        best = int(logits.argmax())
        shifted = np.exp(logits - logits[best])
        return self.classes[best], float(1.0 / shifted.sum())

    def _predict_small(self, feats: Sequence[str]) -> tuple[str, float]:
        assert self._rows is not None
        get = self._rows.get
        if len(self.classes) == 3:  # the language model: unrolled, it is the hot path
            s0, s1, s2 = self._b64.tolist()
            for f in feats:
                row = get(f)
                if row is not None:
                    s0 += row[0]
                    s1 += row[1]
                    s2 += row[2]
            sums = [s0, s1, s2]
        else:
            sums = list(self._b64.tolist())
            for f in feats:
                row = get(f)
                if row is not None:
                    sums = [a + b for a, b in zip(sums, row, strict=True)]
        top = max(sums)
        best = sums.index(top)
        return self.classes[best], 1.0 / sum(math.exp(v - top) for v in sums)

    def save(self, path: Path) -> None:
        names = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            classes=np.array(self.classes),
            vocabulary=np.array(names),
            weights=self.weights.astype(np.float32),
            bias=self.bias.astype(np.float32),
            temperature=np.array([self.temperature], dtype=np.float64),
            frequent=np.array(sorted(self.frequent) or [""]),
        )
        path.write_bytes(buffer.getvalue())

    @classmethod
    def load(cls, path: Path | io.BytesIO) -> LinearModel:
        with np.load(path, allow_pickle=False) as data:
            names = [str(n) for n in data["vocabulary"]]
            return cls(
                classes=tuple(str(c) for c in data["classes"]),
                vocabulary={n: i for i, n in enumerate(names)},
                weights=np.ascontiguousarray(data["weights"], dtype=np.float32),
                bias=data["bias"].astype(np.float32),
                temperature=float(data["temperature"][0]),
                frequent=frozenset(str(w) for w in data["frequent"] if str(w)),
            )


def frequent_words(texts: Sequence[list[str]], min_count: int = 3) -> frozenset[str]:
    """Words in at least ``min_count`` training messages."""
    counts = Counter(w for tokens in texts for w in set(tokens))
    return frozenset(w for w, c in counts.items() if c >= min_count)


def train(
    examples: Sequence[tuple[list[str], str]],
    *,
    frequent: frozenset[str] = frozenset(),
    min_count: int = 1,
    epochs: int = 300,
    l2: float = 1e-4,
    learning_rate: float = 0.05,
) -> LinearModel:
    """Fit weights on (features, label) pairs. Same inputs, same weights."""
    classes = tuple(sorted({label for _, label in examples}))
    class_index = {c: i for i, c in enumerate(classes)}
    counts = Counter(f for feats, _ in examples for f in set(feats))
    names = sorted(f for f, c in counts.items() if c >= min_count)
    vocab = {f: i for i, f in enumerate(names)}
    rows: list[int] = []
    cols: list[int] = []
    for r, (feats, _) in enumerate(examples):
        for f in feats:
            j = vocab.get(f)
            if j is not None:
                rows.append(r)
                cols.append(j)
    row = np.array(rows, dtype=np.int64)
    col = np.array(cols, dtype=np.int64)
    n, k, d = len(examples), len(classes), len(names)
    y = np.zeros((n, k), dtype=np.float64)
    y[np.arange(n), [class_index[label] for _, label in examples]] = 1.0
    # Balance classes: each class weighs the same in the loss, whatever its count.
    per_class = y.sum(axis=0)
    sample_weight = (y @ (n / (k * np.maximum(per_class, 1))))[:, None]

    w = np.zeros((d, k), dtype=np.float64)
    b = np.zeros(k, dtype=np.float64)
    m_w, v_w = np.zeros_like(w), np.zeros_like(w)
    m_b, v_b = np.zeros_like(b), np.zeros_like(b)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for step in range(1, epochs + 1):
        logits = np.zeros((n, k))
        np.add.at(logits, row, w[col])
        logits += b
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        delta = (p - y) * sample_weight / n
        g_w = np.zeros_like(w)
        np.add.at(g_w, col, delta[row])
        g_w += l2 * w
        g_b = delta.sum(axis=0)
        m_w = beta1 * m_w + (1 - beta1) * g_w
        v_w = beta2 * v_w + (1 - beta2) * g_w * g_w
        m_b = beta1 * m_b + (1 - beta1) * g_b
        v_b = beta2 * v_b + (1 - beta2) * g_b * g_b
        correction = math.sqrt(1 - beta2**step) / (1 - beta1**step)
        w -= learning_rate * correction * m_w / (np.sqrt(v_w) + eps)
        b -= learning_rate * correction * m_b / (np.sqrt(v_b) + eps)
    return LinearModel(
        classes=classes,
        vocabulary=vocab,
        weights=w.astype(np.float32),
        bias=b.astype(np.float32),
        frequent=frequent,
    )


def calibrate(model: LinearModel, examples: Sequence[tuple[list[str], str]]) -> LinearModel:
    """Temperature scaling on held-out examples: the temperature with the lowest log loss."""
    if not examples:
        return model
    base = attrs.evolve(model, temperature=1.0)
    logits = np.stack([base.scores(f) for f, _ in examples])
    index = {c: i for i, c in enumerate(model.classes)}
    truth = np.array([index.get(label, -1) for _, label in examples])
    keep = truth >= 0
    logits, truth = logits[keep], truth[keep]
    best_t, best_loss = 1.0, math.inf
    for t in np.arange(0.3, 5.01, 0.05):
        z = logits / t
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = -logp[np.arange(len(truth)), truth].mean()
        if loss < best_loss:
            best_t, best_loss = float(t), float(loss)
    return attrs.evolve(model, temperature=round(best_t, 2))
