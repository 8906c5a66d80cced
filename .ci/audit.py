"""The dependency audit of `.ci/run` and `just verify`: pip-audit over the installed, locked
environment (our own workspace packages skipped), against the advisories that PyPI publishes.

    python .ci/audit.py [--strict]

- Any known vulnerability in a dependency fails, whatever its severity (PyPI's advisories carry
  none, so HIGH and CRITICAL cannot be told apart from the rest: we fail on all of them), unless
  .ci/audit-ignore.txt names it with a reason.
- When the advisories cannot be reached, nothing was audited. That is printed as such, never as
  "no known vulnerabilities"; with --strict (the pre-release check) it fails, without it (CI on a
  machine that reaches only the package indexes) it is a warning.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

IGNORE = Path(os.environ.get("AGENTE_AUDIT_IGNORE", Path(__file__).with_name("audit-ignore.txt")))


def ignored() -> dict[str, str]:
    out = {}
    if IGNORE.exists():
        for line in IGNORE.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                ident, _, reason = line.partition(" ")
                if not reason.strip():
                    sys.exit(f"{IGNORE}: {ident} has no reason; say why it is accepted")
                out[ident] = reason.strip()
    return out


def main(strict: bool) -> int:
    beside = Path(sys.executable).parent / "pip-audit"
    tool = shlex.split(os.environ.get("AGENTE_PIP_AUDIT", "")) or [
        str(beside) if beside.exists() else "pip-audit"
    ]
    command = [*tool, "--format", "json", "--skip-editable", "--progress-spinner", "off"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - our own tool
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        print(f"audit: pip-audit gave no report ({done.returncode}): {done.stderr[-500:]}")
        return 1
    deps = report["dependencies"]
    audited = [d for d in deps if "skip_reason" not in d]
    skipped = [d for d in deps if "skip_reason" in d and "editable" not in d["skip_reason"]]
    accepted = ignored()
    findings = [(d["name"], d["version"], v) for d in audited for v in d.get("vulns", [])
                if v["id"] not in accepted and not set(v.get("aliases", [])) & set(accepted)]  # fmt: skip
    for name, version, vuln in findings:
        fixes = ", ".join(vuln.get("fix_versions", [])) or "no fixed release yet"
        print(f"VULNERABLE {name} {version}: {vuln['id']} (fixed in {fixes})")
    print(f"audit: {len(audited)} dependencies audited, {len(skipped)} could not be, "
          f"{len(findings)} known vulnerabilities, {len(accepted)} accepted in {IGNORE.name}")  # fmt: skip
    if findings:
        return 1
    if not audited and skipped:
        print("audit: NOT AUDITED: PyPI's advisory data could not be reached from this machine "
              f"(e.g. {skipped[0]['name']}: {skipped[0]['skip_reason']})")  # fmt: skip
        return 1 if strict else 0
    if skipped:
        print("audit: not audited: " + ", ".join(d["name"] for d in skipped))
        return 1 if strict else 0
    return 0


if __name__ == "__main__":
    sys.exit(main("--strict" in sys.argv[1:]))
