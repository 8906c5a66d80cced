"""The coverage gate of `.ci/run` and `just verify`: at least 70% of lines overall and 85% in
each critical area (the operations manual's goal), from coverage.py's JSON report.

    python .ci/coverage_gate.py coverage.json

Prints a line per area and exits 1 when one is under its floor.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OVERALL = 70.0
CRITICAL = 85.0
#: area → path fragments of its files (as coverage.py names them)
AREAS: dict[str, tuple[str, ...]] = {
    "pipeline (understanding, dialogue, rendering)": ("agente/pipeline/",),
    "message path (inbox, worker, service, staff)": (
        "agente/messaging.py", "agente/worker.py", "agente/service.py", "agente/staff.py",
        "agente/deps.py",
    ),
    "PMS plugins and the breaker": (
        "agente_pms_qloapps/", "agente_pms_mock/", "agente/breaker.py", "agente/pms_kit.py",
    ),
    "channels": (
        "agente_channel_whatsapp/", "agente_channel_email/", "agente/webchat/", "agente/mail.py",
        "agente/phones.py",
    ),
    "admin auth": ("agente/admin/auth.py", "agente/admin/keys.py"),
}  # fmt: skip


def percent(files: dict[str, dict[str, int]]) -> tuple[float, int, int]:
    covered = sum(f["covered_lines"] for f in files.values())
    statements = sum(f["num_statements"] for f in files.values())
    return (100.0 * covered / statements if statements else 100.0), covered, statements


def main(path: str) -> int:
    report = json.loads(Path(path).read_text())
    files = {name: data["summary"] for name, data in report["files"].items()}
    failed = False
    total, _, statements = percent(files)
    ok = total >= OVERALL
    failed |= not ok
    print(f"{'ok ' if ok else 'LOW'} overall: {total:5.1f}% of {statements:,} lines "
          f"(floor {OVERALL:.0f}%)")  # fmt: skip
    for area, fragments in AREAS.items():
        mine = {n: s for n, s in files.items() if any(f in n for f in fragments)}
        if not mine:
            print(f"LOW {area}: no files measured")
            failed = True
            continue
        value, _, statements = percent(mine)
        ok = value >= CRITICAL
        failed |= not ok
        print(f"{'ok ' if ok else 'LOW'} {area}: {value:5.1f}% of {statements:,} lines in "
              f"{len(mine)} files (floor {CRITICAL:.0f}%)")  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "coverage.json"))
