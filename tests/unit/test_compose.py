"""The compose stack (deploy/compose/) holds together without a Docker engine here: every
Agente command in it parses, its settings load, Prometheus' configuration passes promtool with
the rendered rules, the mounted paths exist, and every variable it reads is in .env.example."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from agente.cli import _parser
from agente.settings import load_settings
from tests.conftest import CI

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy/compose"


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((COMPOSE / "compose.yaml").read_text())
    return data


def test_every_agente_command_parses() -> None:
    services = compose()["services"]
    ours = {name: s for name, s in services.items() if s.get("image") == "agente:local"}
    assert set(ours) == {"migrate", "agente", "worker", "rules"}
    for name, service in ours.items():
        args = _parser().parse_args(service["command"])
        assert callable(args.func), name


def test_the_agente_settings_load_and_are_all_known() -> None:
    env = dict(compose()["x-agente-env"])
    env = {k: v.replace("${POSTGRES_PASSWORD}", "secret") for k, v in env.items()}
    settings = load_settings(env)
    assert settings.embedded_worker is False and settings.redis_url == "redis://redis:6379/0"
    known = {f"AGENTE_{f.upper()}" for f in settings.__struct_fields__}
    assert {k for k in env if k.startswith("AGENTE_")} <= known


def test_every_variable_the_stack_reads_is_in_the_example_env() -> None:
    text = (COMPOSE / "compose.yaml").read_text()
    used = set(re.findall(r"\$\{(\w+)", text))
    example = {line.split("=", 1)[0] for line in (COMPOSE / ".env.example").read_text().splitlines()
               if line and not line.startswith("#")}  # fmt: skip
    assert used <= example, used - example


def test_mounted_paths_exist() -> None:
    for name, service in compose()["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (COMPOSE / source).resolve().exists(), (name, source)


def test_prometheus_configuration_passes_promtool_with_the_rendered_rules(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        if CI:
            pytest.fail("promtool is not installed; CI=true forbids skipping (just prometheus)")
        pytest.skip("promtool is not installed (just prometheus)")
    config = (COMPOSE / "prometheus.yml").read_text()
    rules = ROOT / "observability/prometheus/rules/agente.rules.yml"
    config = config.replace("/etc/prometheus/rules/agente.rules.yml", str(rules))
    (tmp_path / "prometheus.yml").write_text(config)
    done = subprocess.run([promtool, "check", "config", str(tmp_path / "prometheus.yml")],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    targets = {t for job in yaml.safe_load(config)["scrape_configs"]
               for sc in job["static_configs"] for t in sc["targets"]}  # fmt: skip
    defaults = load_settings({})
    assert {f"agente:{defaults.port}", f"worker:{defaults.worker_metrics_port}"} == targets


def test_the_runbooks_name_only_services_the_stack_has() -> None:
    services = set(compose()["services"])
    pattern = re.compile(r"docker compose -f deploy/compose/compose\.yaml (\w+)((?: [-\w=]+)*)")
    found = 0
    for page in (ROOT / "docs/runbooks").glob("*.md"):
        for command, rest in pattern.findall(page.read_text()):
            words = [w for w in rest.split() if not w.startswith("-") and w not in {"30m", "8h"}]
            named = set(words[:1] if command in {"exec", "run"} else words)
            assert named <= services, (page.name, named - services)
            found += 1
    assert found >= 5
