"""Conversations end to end: time from a guest's message to its replies, with the mock PMS.

    python bench/journeys.py [--repeat 3] [--database-url URL]

Plays every journey of tests/journeys/*.toml through the real path (inbox, worker, understanding,
step, mock PMS, outbox) on SQLite files (or the PostgreSQL server given), and prints:

* how many journeys were resolved without handing the guest to staff;
* p50 and p99 of the time from accepting a message (or a staff action) to its replies being
  committed and sent, over every turn.

The figures include the in-process worker's polling of the inbox; the load generator and the
service share this machine's two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agente.journeys import load_journeys, run_journey, summary


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", help="a PostgreSQL server URL (a database per run)")
    args = parser.parse_args()
    journeys = [
        j for f in sorted((ROOT / "tests/journeys").glob("*.toml")) for j in load_journeys(f)
    ]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeat):
            for i, journey in enumerate(journeys):
                if args.database_url:
                    url = await _pg_database(args.database_url)
                else:
                    url = f"sqlite+aiosqlite:///{Path(tmp) / f'{r}-{i}.db'}"
                results.append(await run_journey(journey, url))
    figures = summary(results)
    per_run = len(journeys)
    print(
        f"{per_run} journeys x {args.repeat} runs: {figures['passed']} passed; "
        f"resolved without a handoff: {figures['without_handoff'] // args.repeat}/{per_run} "
        f"({figures['without_handoff'] / max(1, figures['journeys']):.0%})"
    )
    print(
        f"guest message → replies over {figures['turns']} turns: "
        f"p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms"
    )


async def _pg_database(admin_url: str) -> str:
    import asyncpg

    name = f"agente_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin_url.replace("+asyncpg", ""))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


if __name__ == "__main__":
    asyncio.run(main())
