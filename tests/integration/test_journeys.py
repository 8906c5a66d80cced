"""Every scripted journey of ``tests/journeys/*.toml``, end to end on a real database.

Each journey runs on its own fresh SQLite file; the ones marked below also on PostgreSQL.
A failure lists every expectation that did not hold, turn by turn.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from agente.journeys import Journey, load_journeys, run_journey
from tests.conftest import PG_ADMIN_URL, _pg_create, _pg_drop, unavailable

HERE = Path(__file__).resolve().parent.parent / "journeys"
JOURNEYS = [(f.stem, j) for f in sorted(HERE.glob("*.toml")) for j in load_journeys(f)]


def test_there_are_enough_journeys_in_every_language() -> None:
    names = [j.name for _, j in JOURNEYS]
    assert len(names) == len(set(names)), "journey names must be unique"
    assert len(JOURNEYS) >= 40
    for lang in ("es", "en", "pt"):
        assert sum(1 for n in names if n.startswith(f"{lang}:")) >= 8, lang


@pytest.mark.parametrize(("file", "journey"), JOURNEYS, ids=[j.name for _, j in JOURNEYS])
def test_journey(file: str, journey: Journey, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'journey.db'}"
    result = asyncio.run(run_journey(journey, url))
    assert result.ok, f"{file}: {journey.name}\n  " + "\n  ".join(result.failures)


PG_JOURNEYS = [j for _, j in JOURNEYS if "[pg]" in j.name]


@pytest.mark.parametrize("journey", PG_JOURNEYS, ids=[j.name for j in PG_JOURNEYS])
def test_journey_on_postgresql(journey: Journey) -> None:
    name = f"agente_j_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(_pg_create(name))
    except Exception as exc:
        unavailable("PostgreSQL", exc)
    try:
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        result = asyncio.run(run_journey(journey, url))
        assert result.ok, journey.name + "\n  " + "\n  ".join(result.failures)
    finally:
        asyncio.run(_pg_drop(name))
