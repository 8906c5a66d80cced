"""The Prometheus rules and Alertmanager's configuration: rendered from SLO_TARGET by the real
command, checked and unit-tested by Debian's promtool and amtool, and kept in step with the
runbooks and the committed rendering."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from agente.observability import ALERTS, RenderSettings, render_rules, rules
from tests.conftest import CI
from tests.promql import exported_metrics, metric_names, recording_rules, rules_file

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "observability/prometheus/rules/agente.rules.yml"
TESTS = ROOT / "observability/prometheus/tests/alerts.test.yml"
ALERTMANAGER = ROOT / "observability/alertmanager/alertmanager.yml"


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (apt-get install prometheus prometheus-alertmanager, or just prometheus)"
        if CI:
            pytest.fail(f"{message}; CI=true forbids skipping")
        pytest.skip(message)
    return path


def render(tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], Path, Path]:
    out, am = tmp_path / "rules", tmp_path / "am"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLO_", "ALERTMANAGER_"))}
    done = subprocess.run(
        [sys.executable, "-m", "agente.cli", "observability", "render", "--out", str(out),
         "--alertmanager-out", str(am)],
        env={**clean, **env}, capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    return done, out / "agente.rules.yml", am / "alertmanager.yml"


def alerts_of(doc: dict) -> list[dict]:
    return [r for g in doc["groups"] for r in g["rules"] if "alert" in r]


def test_the_committed_rendering_is_what_the_default_renders(tmp_path: Path) -> None:
    done, rendered, am = render(tmp_path)
    assert done.returncode == 0, done.stderr
    assert rendered.read_text() == RULES.read_text(), "run: agente observability render"
    assert am.read_text() == ALERTMANAGER.read_text(), "run: agente observability render"


@pytest.mark.parametrize(
    ("target", "budget"), [("99.0", "0.01"), ("99.9", "0.001"), ("95", "0.05")]
)
def test_slo_target_sets_the_error_budget_in_the_recording_rules(
    tmp_path: Path, target: str, budget: str
) -> None:
    done, rendered, _ = render(tmp_path, SLO_TARGET=target)
    assert done.returncode == 0, done.stderr
    doc = yaml.safe_load(rendered.read_text())
    recorded = {r["record"]: r["expr"] for g in doc["groups"] for r in g["rules"] if "record" in r}
    assert recorded["orchestrator:error_budget"] == f"vector({budget})"
    for window in ("5m", "30m", "1h", "2h", "6h", "1d", "3d"):
        assert recorded[f"orchestrator:burn_rate:rate{window}"].endswith(f"/ {budget}")
        assert f"orchestrator:success_ratio:rate{window}" in recorded
        assert f"orchestrator:error_ratio:rate{window}" in recorded
    warning = next(
        a for a in alerts_of(doc)
        if a["alert"] == "OrchestratorSLODegradation" and a["labels"]["severity"] == "warning"
    )  # fmt: skip
    assert f"< {float(target) / 100:.10g} and" in warning["expr"]
    tool("promtool")
    check = subprocess.run(["promtool", "check", "rules", str(rendered)], capture_output=True,
                           text=True, check=False)  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.parametrize(
    ("env", "variable"),
    [({"SLO_TARGET": "abc"}, "SLO_TARGET"), ({"SLO_TARGET": "100"}, "SLO_TARGET"),
     ({"SLO_TARGET": "nan"}, "SLO_TARGET"), ({"SLO_TARGET": "12"}, "SLO_TARGET"),
     ({"AGENTE_RUNBOOK_BASE_URL": "docs/runbooks"}, "AGENTE_RUNBOOK_BASE_URL"),
     ({"ALERTMANAGER_CRITICAL_WEBHOOK_URL": "pager"}, "ALERTMANAGER_CRITICAL_WEBHOOK_URL")],
)  # fmt: skip
def test_a_bad_setting_stops_the_render_naming_the_variable(
    tmp_path: Path, env: dict[str, str], variable: str
) -> None:
    done, rendered, am = render(tmp_path, **env)
    assert done.returncode == 2
    assert f"agente: {variable}:" in done.stderr and "Traceback" not in done.stderr
    assert not rendered.exists() and not am.exists()  # nothing half-written


def test_every_alert_has_its_annotations_and_runbook_page() -> None:
    doc = rules(RenderSettings())
    names = set()
    for alert in alerts_of(doc):
        names.add(alert["alert"])
        notes = alert["annotations"]
        assert notes["summary"] and notes["description"], alert["alert"]
        page = notes["runbook_url"].rsplit("/", 1)[1]
        assert page == ALERTS[alert["alert"]]
        assert (ROOT / "docs/runbooks" / page).is_file(), f"docs/runbooks/{page} is missing"
        assert alert["labels"]["severity"] in {"critical", "warning"}
    assert names == set(ALERTS)


def test_every_slo_alert_requires_the_traffic_floor() -> None:
    for alert in alerts_of(rules(RenderSettings())):
        if alert["alert"].startswith(("OrchestratorSLO", "OrchestratorHighErrorRate")):
            assert "and on() orchestrator_message_rate_all > 0.5" in alert["expr"], alert["alert"]


def test_the_burn_rate_pairs_are_the_workbooks() -> None:
    burn = {a["labels"]["window"]: a["expr"] for a in alerts_of(rules(RenderSettings()))
            if a["alert"] == "OrchestratorSLOBurnRate"}  # fmt: skip
    assert burn.keys() == {"fast", "slow"}
    for long, short, factor in (("1h", "5m", "14.4"), ("6h", "30m", "6")):
        assert (f"orchestrator:burn_rate:rate{long} > {factor} and "
                f"orchestrator:burn_rate:rate{short} > {factor}") in burn["fast"]  # fmt: skip
    for long, short, factor in (("1d", "2h", "3"), ("3d", "6h", "1")):
        assert (f"orchestrator:burn_rate:rate{long} > {factor} and "
                f"orchestrator:burn_rate:rate{short} > {factor}") in burn["slow"]  # fmt: skip


def test_promtool_checks_the_rules_and_runs_the_alert_unit_tests() -> None:
    promtool = tool("promtool")
    check = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True,
                           text=True, check=False)  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    test = subprocess.run([promtool, "test", "rules", str(TESTS)], capture_output=True,
                          text=True, check=False)  # fmt: skip
    assert test.returncode == 0, test.stdout + test.stderr
    assert "SUCCESS" in test.stdout


def test_every_alert_has_a_unit_test_that_sees_it_fire_and_one_that_sees_it_silent() -> None:
    cases = yaml.safe_load(TESTS.read_text())["tests"]
    fired, silent = set(), set()
    for case in cases:
        for check in case["alert_rule_test"]:
            (fired if check["exp_alerts"] else silent).add(check["alertname"])
    assert fired == set(ALERTS)
    assert silent == set(ALERTS)


def test_the_alert_unit_tests_fail_when_a_rule_is_wrong(tmp_path: Path) -> None:
    """The promtool tests bite: loosen the traffic floor and the breaker rule, and they fail."""
    promtool = tool("promtool")
    (tmp_path / "rules").mkdir()
    (tmp_path / "tests").mkdir()
    broken = render_rules(RenderSettings()).replace(
        "orchestrator_message_rate_all > 0.5", "orchestrator_message_rate_all > 0.1"
    )
    (tmp_path / "rules/agente.rules.yml").write_text(broken)
    shutil.copy(TESTS, tmp_path / "tests/alerts.test.yml")
    test = subprocess.run([promtool, "test", "rules", str(tmp_path / "tests/alerts.test.yml")],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert test.returncode != 0
    assert "OrchestratorSLOBurnRate" in test.stdout + test.stderr


def test_alertmanager_routes_by_severity_with_receivers_from_the_environment(
    tmp_path: Path,
) -> None:
    amtool = tool("amtool")
    done, _, am = render(
        tmp_path,
        ALERTMANAGER_CRITICAL_WEBHOOK_URL="http://127.0.0.1:9/page",
        ALERTMANAGER_WARNING_WEBHOOK_URL="http://127.0.0.1:9/ticket",
    )
    assert done.returncode == 0, done.stderr
    check = subprocess.run([amtool, "check-config", str(am)], capture_output=True, text=True,
                           check=False)  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    for severity in ("critical", "warning"):
        route = subprocess.run(
            [amtool, "config", "routes", "test", f"--config.file={am}", f"severity={severity}",
             "alertname=OrchestratorSLOBurnRate", "service=agente"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert route.stdout.strip() == severity, route.stdout + route.stderr
    config = yaml.safe_load(am.read_text())
    assert config["inhibit_rules"] == [
        {"source_matchers": ['severity="critical"'], "target_matchers": ['severity="warning"'],
         "equal": ["alertname", "service"]}
    ]  # fmt: skip
    # the committed default (no receivers configured) is valid too
    check = subprocess.run([amtool, "check-config", str(ALERTMANAGER)], capture_output=True,
                           text=True, check=False)  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr


def test_every_rule_names_only_exported_metrics_or_recording_rules() -> None:
    known = exported_metrics() | recording_rules()
    doc = rules_file()
    for rule in (r for g in doc["groups"] for r in g["rules"]):
        names = metric_names(rule["expr"])
        assert names or rule.get("record") == "orchestrator:error_budget", rule
        assert names <= known, (rule.get("record") or rule.get("alert"), names - known)
