"""deploy/fly/ holds together without flyctl or a Docker engine here: the TOML parses, every
command in it is one of ours and parses, the checks hit real routes on the right ports, the
environment is made of documented settings (and no secret), and the build argument is the
Dockerfile's."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from agente.cli import _parser
from agente.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
FLY = ROOT / "deploy/fly"


def fly() -> dict[str, Any]:
    return tomllib.loads((FLY / "fly.toml").read_text())


def _agente(command: str) -> Any:
    words = command.split()
    assert words[0] == "agente", command
    return _parser().parse_args(words[1:])


def test_the_release_command_migrates_and_the_process_groups_are_api_and_worker() -> None:
    config = fly()
    release = _agente(config["deploy"]["release_command"])
    assert release.func.__name__ == "cmd_migrate" and release.action == "upgrade"
    processes = config["processes"]
    assert set(processes) == {"app", "worker"}
    assert _agente(processes["app"]).func.__name__ == "cmd_serve"
    assert _agente(processes["worker"]).func.__name__ == "cmd_worker"
    assert config["http_service"]["processes"] == ["app"]
    assert {v["processes"][0] for v in config["vm"]} == {"app", "worker"}


def test_health_checks_hit_the_health_routes_on_the_served_port() -> None:
    config = fly()
    env = load_settings(config["env"])
    service = config["http_service"]
    assert service["internal_port"] == env.port == 8000
    assert [c["path"] for c in service["checks"]] == ["/health/ready"]
    live = config["checks"]["live"]
    assert (live["path"], live["port"], live["processes"]) == ("/health/live", 8000, ["app"])
    worker = config["checks"]["worker_metrics"]
    assert (worker["port"], worker["processes"]) == (env.worker_metrics_port, ["worker"])
    from agente.app import create_app

    app = create_app(env={"AGENTE_DATABASE_URL": "sqlite+aiosqlite:///never-opened.db"})
    paths = {route.path for route in app.routes}
    assert {"/health/ready", "/health/live", "/metrics"} <= paths


def test_the_environment_is_documented_settings_and_holds_no_secret() -> None:
    env = fly()["env"]
    settings = load_settings(env)
    assert settings.env == "production" and settings.embedded_worker is False
    assert settings.auto_migrate is False  # the release command migrates, once
    documented = (ROOT / "docs/settings.md").read_text()
    assert [k for k in env if f"`{k}`" not in documented] == []
    secretish = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY|DATABASE_URL|REDIS_URL")
    assert [k for k in env if secretish.search(k)] == []  # those go through `fly secrets set`


def test_the_build_argument_is_the_dockerfiles() -> None:
    config = fly()
    dockerfile = FLY / config["build"]["dockerfile"]
    text = dockerfile.read_text()
    for name, value in config["build"]["args"].items():
        assert f"ARG {name}={value}" in text
    assert config["build"]["args"]["INCLUDE_AUDIO"] == "false"
    assert "ENTRYPOINT" not in "\n".join(
        line for line in text.splitlines() if not line.lstrip().startswith("#")
    )  # Fly gives whole commands
