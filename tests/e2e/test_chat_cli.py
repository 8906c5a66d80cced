"""``agente chat`` as a user runs it: a subprocess on the embedded default."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli


def test_jsonl_turns(tmp_path: Path) -> None:
    lines = ["hola!", "", "tienen lugar el finde para 2?", "{not json, still a message}"]
    result = run_cli(tmp_path, "chat", "--jsonl", stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    turns = [json.loads(line) for line in result.stdout.splitlines()]
    assert [t["guest"] for t in turns] == [line for line in lines if line]
    for turn in turns:
        assert set(turn) >= {"guest", "intent", "replies", "conversation", "reservation"}
        assert turn["reservation"] is None
        assert turn["replies"], turn
        for reply in turn["replies"]:
            assert reply["type"] == "text" and reply["status"] == "sent" and reply["text"]
    assert "Hotel Sierra Serena" in turns[0]["replies"][0]["text"]
    assert [t["conversation"]["turns"] for t in turns] == [1, 2, 3]
    assert (tmp_path / "agente.db").exists()


def test_session_continues_across_runs(tmp_path: Path) -> None:
    first = run_cli(tmp_path, "chat", "--jsonl", "--session", "s-1", stdin="hola\n")
    second = run_cli(tmp_path, "chat", "--jsonl", "--session", "s-1", stdin="sigo acá\n")
    assert json.loads(second.stdout)["conversation"]["turns"] == 2, first.stderr + second.stderr


def test_interactive_mode_prints_replies(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "chat", stdin="hola\n/quit\n")
    assert result.returncode == 0, result.stderr
    assert "Hotel Sierra Serena> ¡Hola!" in result.stdout


def test_unknown_hotel_is_a_clear_error(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "chat", "--hotel", "nope", stdin="")
    assert result.returncode == 2
    assert "no hotel 'nope'" in result.stderr


def test_turns_carry_the_understood_intent_and_reply_in_the_guests_language(
    tmp_path: Path,
) -> None:
    lines = [
        "hola!",
        "tienen lugar del 15/12 al 18/12 para 2?",
        "thanks, bye",
        "quanto custa a diária?",
    ]
    result = run_cli(tmp_path, "chat", "--jsonl", stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    turns = [json.loads(line) for line in result.stdout.splitlines()]
    assert [t["intent"] for t in turns] == [
        "greeting",
        "check_availability",
        "goodbye",
        "ask_price",
    ]
    assert [t["conversation"]["language"] for t in turns] == ["es", "es", "en", "pt"]
    assert turns[2]["replies"][0]["text"].startswith("Thanks for getting in touch")
    # the dates and party said earlier are remembered: the price comes as a quote for them
    assert turns[3]["replies"][0]["text"].startswith("Para 2 pessoa(s), de 15/12")
