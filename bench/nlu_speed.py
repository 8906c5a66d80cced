"""Speed of understanding: ``understand()`` per core, and ``agente understand --jsonl``.

    python bench/nlu_speed.py [--repeat 20] [--lines 10000]

1. messages/second of ``Understander.__call__`` on one core over a realistic mix (the
   project's dev, test and training sets, all three languages), after a warm-up: overall,
   and the median, slowest and fastest of the passes;
2. wall time of ``agente understand --jsonl`` over N lines, start-up included, as a user
   runs it (a subprocess).
Targets (issue 3): ≥ 20,000 messages/s; 10,000 lines in under 2 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agente.pipeline.understand import Understander


def corpus() -> list[tuple[str, dt.date]]:
    items = []
    for name in ("tests/nlu/dev.jsonl", "tests/nlu/test.jsonl", "agente/pipeline/data/train.jsonl"):
        path = ROOT / name
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    row = json.loads(line)
                    items.append((row["text"], dt.date.fromisoformat(row["today"])))
    return items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--lines", type=int, default=10_000)
    args = parser.parse_args()
    model = Understander.load()
    items = corpus()
    for text, today in items[:200]:
        model(text, today=today)
    passes = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        for text, today in items:
            model(text, today=today)
        passes.append(len(items) / (time.perf_counter() - start))
    n = args.repeat * len(items)
    elapsed = sum(len(items) / rate for rate in passes)
    print(
        f"understand(): {n / elapsed:,.0f} messages/s on one core "
        f"({elapsed / n * 1e6:.1f} µs each, {len(items)} distinct messages)"
    )
    # a shared machine is noisy: the spread of the passes says how much
    print(
        f"  passes of {len(items)} messages: median {statistics.median(passes):,.0f}/s, "
        f"slowest {min(passes):,.0f}/s, fastest {max(passes):,.0f}/s"
    )

    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as f:
        for i in range(args.lines):
            text, today = items[i % len(items)]
            f.write(
                json.dumps({"text": text, "today": today.isoformat()}, ensure_ascii=False) + "\n"
            )
        path = f.name
    start = time.perf_counter()
    with Path(path).open("rb") as stdin:
        result = subprocess.run(
            [sys.executable, "-m", "agente.cli", "understand", "--jsonl"],
            stdin=stdin,
            capture_output=True,
            check=True,
        )
    wall = time.perf_counter() - start
    lines = result.stdout.count(b"\n")
    print(f"agente understand --jsonl: {lines:,} lines in {wall:.2f} s including start-up")


if __name__ == "__main__":
    main()
