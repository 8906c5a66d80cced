"""The shipped models are reproducible from the repository's data (and training is pure)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from agente.pipeline.linear import LinearModel
from agente.pipeline.training import DATA, train_models

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "agente" / "pipeline" / "model"


def test_retraining_reproduces_the_shipped_weights(tmp_path: Path) -> None:
    # exactly what `just train-nlu` runs
    train_models(DATA, ROOT / "tests" / "nlu" / "dev.jsonl", out=tmp_path)
    for name in ("intent.npz", "language.npz"):
        shipped = LinearModel.load(SHIPPED / name)
        fresh = LinearModel.load(tmp_path / name)
        assert fresh.classes == shipped.classes
        assert fresh.vocabulary == shipped.vocabulary
        assert fresh.frequent == shipped.frequent
        assert fresh.temperature == shipped.temperature
        assert np.array_equal(fresh.weights, shipped.weights), (
            f"{name} differs from what the data trains: run `just train-nlu` and commit the model"
        )
        assert np.array_equal(fresh.bias, shipped.bias)
