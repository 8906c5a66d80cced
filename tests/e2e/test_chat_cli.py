"""``agente chat`` as a user runs it: a subprocess on the embedded default."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def _run(
    args: list[str], stdin: str, cwd: Path, **env_vars: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTE_")}
    env.update(env_vars)
    return subprocess.run(
        [sys.executable, "-m", "agente.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=60,
        check=False,
    )


def test_jsonl_turns(tmp_path: Path) -> None:
    lines = ["hola!", "", "tienen lugar el finde para 2?", "{not json, still a message}"]
    result = _run(["chat", "--jsonl"], "\n".join(lines) + "\n", tmp_path)
    assert result.returncode == 0, result.stderr
    turns = [json.loads(line) for line in result.stdout.splitlines()]
    assert [t["guest"] for t in turns] == [line for line in lines if line]
    for turn in turns:
        assert set(turn) >= {"guest", "intent", "replies", "conversation", "reservation"}
        assert turn["reservation"] is None
        assert len(turn["replies"]) == 1
        reply = turn["replies"][0]
        assert reply["type"] == "text" and reply["status"] == "sent" and reply["text"]
    assert "Hotel Sierra Serena" in turns[0]["replies"][0]["text"]
    assert [t["conversation"]["turns"] for t in turns] == [1, 2, 3]
    assert (tmp_path / "agente.db").exists()


def test_session_continues_across_runs(tmp_path: Path) -> None:
    first = _run(["chat", "--jsonl", "--session", "s-1"], "hola\n", tmp_path)
    second = _run(["chat", "--jsonl", "--session", "s-1"], "sigo acá\n", tmp_path)
    assert json.loads(second.stdout)["conversation"]["turns"] == 2, first.stderr + second.stderr


def test_interactive_mode_prints_replies(tmp_path: Path) -> None:
    result = _run(["chat"], "hola\n/quit\n", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Hotel Sierra Serena> ¡Hola!" in result.stdout


def test_unknown_hotel_is_a_clear_error(tmp_path: Path) -> None:
    result = _run(["chat", "--hotel", "nope"], "", tmp_path)
    assert result.returncode == 2
    assert "no hotel 'nope'" in result.stderr
