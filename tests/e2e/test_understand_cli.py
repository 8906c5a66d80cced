"""``agente understand`` exactly as shared/docs/INTENTS.md specifies its command line."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli


def test_single_message(tmp_path: Path) -> None:
    result = run_cli(
        tmp_path, "understand", "--today", "2026-11-22",
        "--timezone", "America/Argentina/Buenos_Aires", "tenés lugar del 15/12 al 18/12 para 2?",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"text", "intent", "confidence", "language", "entities"}
    assert data["intent"] == "check_availability" and data["language"] == "es"
    e = data["entities"]
    assert (e["check_in"], e["check_out"], e["nights"], e["guests"]) == (
        "2026-12-15",
        "2026-12-18",
        3,
        2,
    )


def test_jsonl_honours_each_line_today_and_survives_bad_lines(tmp_path: Path) -> None:
    lines = [
        json.dumps({"text": "mañana para dos", "today": "2026-12-31"}),
        "{this is not json",
        json.dumps({"text": "mañana para dos"}),
        json.dumps({"nope": 1}),
        json.dumps({"text": "hi there"}),
    ]
    result = run_cli(
        tmp_path, "understand", "--today", "2026-11-22", "--jsonl", stdin="\n".join(lines) + "\n"
    )
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == 5
    assert out[0]["entities"]["check_in"] == "2027-01-01"
    assert "error" in out[1] and "error" in out[3]
    assert out[2]["entities"]["check_in"] == "2026-11-23"
    assert out[4]["language"] == "en" and out[4]["intent"] == "greeting"


def test_bad_today_is_a_clear_error(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "understand", "--today", "22/11/2026", "hola")
    assert result.returncode == 2 and "--today" in result.stderr
