"""Grafana dashboards and provisioning: valid JSON, the expected panels, and only real metrics.

Every PromQL ``expr`` in a dashboard may name only metrics the app registers (read from the real
``Metrics`` registry and the plugins' metric factories) or recording rules. A renamed metric
then fails here instead of leaving an empty panel in production.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.promql import exported_metrics, metric_names, recording_rules, unknown_metrics

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "observability" / "grafana"
DASHBOARDS = GRAFANA / "dashboards"
PROMETHEUS_DS = {"type": "prometheus", "uid": "prometheus"}

EXPECTED: dict[str, tuple[str, str, set[str]]] = {
    "agente-overview.json": (
        "Agente - Overview",
        "agente-overview",
        {
            "HTTP 5xx rate (5m)",
            "Orchestrator error rate by intent (5m)",
            "Orchestrator latency p95 by intent",
            "PMS API latency p95",
            "Circuit Breaker state",
            "Request rate",
            "Queue depth",
            "Oldest message age",
            "WhatsApp webhook signature failures",
        },
    ),
    "slo-health.json": (
        "SLO Health",
        "slo-health",
        {
            "Success Rate Global",
            "Top 5 Intents by Error %",
            "Burn rate (fast/slow)",
            "Error budget used / remaining",
            "Traffic (messages/s)",
            "Error budget (from SLO_TARGET)",
        },
    ),
    "readiness-dependencies.json": (
        "Readiness & Dependencies",
        "readiness-dependencies",
        {
            "dependency_up",
            "Readiness",
            "Seconds since last readiness check",
            "PMS errors by type",
            "WhatsApp token valid",
        },
    ),
}

RECORDING_RULES = recording_rules()


@pytest.fixture(scope="module")
def exported() -> set[str]:
    return exported_metrics()


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DASHBOARDS / name).read_text(encoding="utf-8"))
    return data


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """All panels, including those nested in collapsed rows."""
    found: list[dict[str, Any]] = []
    for panel in dashboard.get("panels", []):
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def _exprs() -> list[tuple[str, str, str]]:
    return [
        (name, panel["title"], target["expr"])
        for name in EXPECTED
        for panel in _panels(_load(name))
        for target in panel.get("targets", [])
        if "expr" in target
    ]


def test_no_unexpected_dashboard_files() -> None:
    assert {p.name for p in DASHBOARDS.glob("*.json")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_dashboard_shape(name: str) -> None:
    title, uid, panel_titles = EXPECTED[name]
    dashboard = _load(name)

    assert dashboard["title"] == title
    assert dashboard["uid"] == uid
    assert dashboard["schemaVersion"] == 39
    assert dashboard["refresh"] == "30s"
    assert dashboard["time"]["from"] == "now-6h"

    panels = _panels(dashboard)
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), f"duplicate panel ids in {name}: {ids}"
    assert panel_titles <= {panel["title"] for panel in panels}
    for panel in panels:
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"]), panel["title"]
        if panel.get("type") == "row":
            continue
        assert panel["datasource"] == PROMETHEUS_DS, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == PROMETHEUS_DS, panel["title"]
            assert target["expr"].strip(), panel["title"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_dashboard_is_pretty_printed(name: str) -> None:
    text = (DASHBOARDS / name).read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"


def test_every_expr_names_only_exported_metrics_or_recording_rules(exported: set[str]) -> None:
    known = exported | RECORDING_RULES
    exprs = _exprs()
    assert exprs
    offenders = {
        (name, title, expr): sorted(unknown_metrics(expr, known)) for name, title, expr in exprs
    }
    assert {k: v for k, v in offenders.items() if v} == {}
    empty = [(name, title, expr) for name, title, expr in exprs if not metric_names(expr)]
    assert empty == [], "the extractor found no metric in these expressions"


def test_exported_set_comes_from_the_code(exported: set[str]) -> None:
    for name in (
        "http_requests_total",
        "http_request_duration_seconds_bucket",
        "dependency_up",
        "feature_flag_enabled",
        "whatsapp_token_valid",
        "pms_circuit_breaker_state",
        "pms_errors_total",
    ):
        assert name in exported


def test_extractor_reports_an_unknown_metric(exported: set[str]) -> None:
    known = exported | RECORDING_RULES
    expr = 'sum by (route) (rate(no_such_metric_total{route="/x", job=~"agente.*"}[5m]))'
    assert unknown_metrics(expr, known) == {"no_such_metric_total"}
    # label names, label values, groupings, durations and functions are not metric names
    tricky = (
        'histogram_quantile(0.95, sum by (le, intent) (rate(orchestrator_latency_seconds_bucket{intent!="x"}[5m])))'
        " / ignoring(status) group_left max without (name) (dependency_up offset 1h) > bool 1e3"
    )
    assert metric_names(tricky) == {"orchestrator_latency_seconds_bucket", "dependency_up"}
    assert unknown_metrics(tricky, known) == set()


def test_provisioning() -> None:
    datasources = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text(encoding="utf-8")
    )
    by_uid = {ds["uid"]: ds for ds in datasources["datasources"]}
    assert by_uid["prometheus"]["type"] == "prometheus"
    assert by_uid["prometheus"]["url"] == "http://prometheus:9090"
    assert by_uid["prometheus"]["isDefault"] is True
    assert by_uid["jaeger"]["type"] == "jaeger"
    assert by_uid["jaeger"]["url"] == "http://jaeger:16686"
    assert sum(bool(ds.get("isDefault")) for ds in by_uid.values()) == 1

    providers = yaml.safe_load(
        (GRAFANA / "provisioning" / "dashboards" / "agente.yml").read_text(encoding="utf-8")
    )["providers"]
    assert [(p["type"], p["folder"], p["options"]["path"]) for p in providers] == [
        ("file", "Agente", "/var/lib/grafana/dashboards")
    ]
