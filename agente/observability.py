"""Prometheus recording rules and alerts, rendered from ``SLO_TARGET``.

The rules are data built here, not a hand-edited YAML file: ``agente observability render``
writes them when Prometheus starts (the compose stack's Prometheus entrypoint runs it), so the
error budget ``1 - SLO_TARGET/100`` is a literal inside the recording rules and every alert has
its runbook link. ``observability/prometheus/rules/agente.rules.yml`` is the rendering at the
default target, kept in the repository for ``promtool test rules``; a test fails when it drifts.

Status values of ``orchestrator_messages_total`` (see agente/metrics.py): only ``error`` spends
the budget; ``degraded`` (a stale PMS answer stood in) and ``handoff`` (sent to staff) are
successes of the service even if they are worth watching.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from agente.errors import ConfigError

__all__ = [
    "ALERTS",
    "DEFAULT_RUNBOOK_BASE_URL",
    "WINDOWS",
    "RenderSettings",
    "alertmanager_config",
    "render_rules",
    "rules",
]

#: the windows of the multiwindow, multi-burn-rate alerts (SRE workbook, chapter 5)
WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
#: the traffic floor below which the SLO alerts stay silent (messages per second)
TRAFFIC_FLOOR = 0.5
DEFAULT_RUNBOOK_BASE_URL = "https://github.com/agente-hotel/agente/blob/main/docs/runbooks"

#: alert name → runbook page in docs/runbooks/
ALERTS: dict[str, str] = {
    "DependencyDown": "dependency-down.md",
    "OrchestratorHighErrorRate": "orchestrator-high-error-rate.md",
    "OrchestratorHighLatencyP95": "orchestrator-high-latency-p95.md",
    "OrchestratorSLODegradation": "orchestrator-slo-degradation.md",
    "OrchestratorSLOBurnRate": "orchestrator-slo-burn-rate.md",
    "HighHttp5xxRate": "high-http-5xx-rate.md",
    "HighPmsLatencyP95": "high-pms-latency-p95.md",
    "CircuitBreakerOpen": "circuit-breaker-open.md",
    "WhatsAppWebhookFailures": "whatsapp-webhook-failures.md",
    "DeadLettersGrowing": "dead-letters-growing.md",
    "OutboxBacklog": "outbox-backlog.md",
    "EmailMailboxStale": "email-mailbox-stale.md",
}


class RenderSettings(msgspec.Struct, frozen=True, kw_only=True):
    """What the rendering depends on; ``from_env`` reads and checks it."""

    slo_target: float = 99.0
    runbook_base_url: str = DEFAULT_RUNBOOK_BASE_URL

    @property
    def error_budget(self) -> float:
        return round(1 - self.slo_target / 100, 10)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RenderSettings:
        raw = env.get("SLO_TARGET", "").strip() or "99.0"
        try:
            target = float(raw)
        except ValueError:
            raise ConfigError(
                "SLO_TARGET", f"{raw!r} is not a number (a percentage, e.g. 99.0)"
            ) from None
        if not math.isfinite(target) or not 50.0 <= target < 100.0:
            raise ConfigError("SLO_TARGET", f"{raw!r} must be a percentage from 50 to below 100")
        base = env.get("AGENTE_RUNBOOK_BASE_URL", "").strip() or DEFAULT_RUNBOOK_BASE_URL
        if not base.startswith(("http://", "https://")):
            raise ConfigError("AGENTE_RUNBOOK_BASE_URL", f"{base!r} must be an http(s) URL")
        return cls(slo_target=target, runbook_base_url=base.rstrip("/"))


def _num(value: float) -> str:
    return f"{value:.10g}"


def _alert(
    settings: RenderSettings,
    name: str,
    expr: str,
    *,
    for_: str,
    severity: str,
    summary: str,
    description: str,
    extra_labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "alert": name,
        "expr": expr,
        "for": for_,
        "labels": {"severity": severity, "service": "agente", **(extra_labels or {})},
        "annotations": {
            "summary": summary,
            "description": description,
            "runbook_url": f"{settings.runbook_base_url}/{ALERTS[name]}",
        },
    }


def rules(settings: RenderSettings) -> dict[str, Any]:
    """The whole rules file as data: recording rules, then alerts."""
    budget = settings.error_budget
    b = _num(budget)
    floor = f"on() orchestrator_message_rate_all > {_num(TRAFFIC_FLOOR)}"
    total = "orchestrator_messages_total"
    recording: list[dict[str, Any]] = [
        {"record": "orchestrator:error_budget", "expr": f"vector({b})"},
        {"record": "orchestrator_message_rate_all", "expr": f"sum(rate({total}[5m]))"},
    ]
    for w in WINDOWS:
        recording += [
            {
                "record": f"orchestrator:error_ratio:rate{w}",
                "expr": f'(sum(rate({total}{{status="error"}}[{w}])) or vector(0))'
                f" / sum(rate({total}[{w}]))",
            },
            {
                "record": f"orchestrator:success_ratio:rate{w}",
                "expr": f"1 - orchestrator:error_ratio:rate{w}",
            },
            {
                "record": f"orchestrator:burn_rate:rate{w}",
                "expr": f"orchestrator:error_ratio:rate{w} / {b}",
            },
        ]
    recording += [
        {
            "record": "orchestrator:error_ratio_by_intent:rate5m",
            "expr": f'(sum by (intent) (rate({total}{{status="error"}}[5m]))'
            f" or sum by (intent) (rate({total}[5m])) * 0)"
            f" / sum by (intent) (rate({total}[5m]))",
        },
        {
            "record": "orchestrator:latency_p95_by_intent:rate5m",
            "expr": "histogram_quantile(0.95, sum by (le, intent) "
            "(rate(orchestrator_latency_seconds_bucket[5m])))",
        },
        {
            "record": "pms:api_latency_p95:rate5m",
            "expr": "histogram_quantile(0.95, sum by (le) (rate(pms_api_latency_seconds_bucket[5m])))",
        },
        {
            "record": "http:5xx_rate_by_route:rate5m",
            "expr": 'sum by (route) (rate(http_requests_total{status_code=~"5.."}[5m]))',
        },
        {
            "record": "http:request_rate_by_route:rate5m",
            "expr": "sum by (route) (rate(http_requests_total[5m]))",
        },
    ]

    target = _num(settings.slo_target)
    critical_floor = _num(1 - 3 * budget)
    alerts = [
        _alert(
            settings, "DependencyDown",
            "min by (name) (dependency_up) == 0"
            " and on() (time() - max(readiness_last_check_timestamp_seconds) < 300)",
            for_="1m", severity="critical",
            summary="A dependency is down: {{ $labels.name }}",
            description="dependency_up{name=\"{{ $labels.name }}\"} is 0 and a readiness check "
            "ran in the last 5 minutes. GET /health/ready tells which check failed and why.",
        ),
        _alert(
            settings, "OrchestratorHighErrorRate",
            f"orchestrator:error_ratio:rate5m > 0.05 and {floor}",
            for_="5m", severity="warning",
            summary="High error rate in the orchestrator",
            description="More than 5% of guest messages failed over 5 minutes. The panel "
            "'Orchestrator error rate by intent (5m)' on Agente - Overview shows which intent.",
        ),
        _alert(
            settings, "OrchestratorHighLatencyP95",
            "orchestrator:latency_p95_by_intent:rate5m > 5",
            for_="10m", severity="warning",
            summary="Orchestrator p95 latency is high for {{ $labels.intent }}",
            description="p95 latency for intent {{ $labels.intent }} has been over 5 seconds "
            "for 10 minutes.",
        ),
        _alert(
            settings, "OrchestratorSLODegradation",
            f"orchestrator:success_ratio:rate30m < {_num(settings.slo_target / 100)} and {floor}",
            for_="10m", severity="warning",
            summary="Orchestrator SLO degrading",
            description=f"Success over 30 minutes is below the {target}% objective "
            "(SLO_TARGET) for 10 minutes.",
        ),
        _alert(
            settings, "OrchestratorSLODegradation",
            f"orchestrator:success_ratio:rate30m < {critical_floor} and {floor}",
            for_="10m", severity="critical",
            summary="Orchestrator SLO degraded badly",
            description=f"Success over 30 minutes is below {_num((1 - 3 * budget) * 100)}% "
            f"(three times the error budget of the {target}% objective) for 10 minutes. "
            "Open an incident.",
        ),
        _alert(
            settings, "OrchestratorSLOBurnRate",
            "((orchestrator:burn_rate:rate1h > 14.4 and orchestrator:burn_rate:rate5m > 14.4)"
            " or (orchestrator:burn_rate:rate6h > 6 and orchestrator:burn_rate:rate30m > 6))"
            f" and {floor}",
            for_="2m", severity="critical", extra_labels={"window": "fast"},
            summary="The error budget is burning fast",
            description="Burn rate over 14.4x (1h and 5m) or 6x (6h and 30m) of the "
            f"{target}% objective: at this pace a month's budget is gone in days. Page.",
        ),
        _alert(
            settings, "OrchestratorSLOBurnRate",
            "((orchestrator:burn_rate:rate1d > 3 and orchestrator:burn_rate:rate2h > 3)"
            " or (orchestrator:burn_rate:rate3d > 1 and orchestrator:burn_rate:rate6h > 1))"
            f" and {floor}",
            for_="15m", severity="warning", extra_labels={"window": "slow"},
            summary="The error budget is burning steadily",
            description="Burn rate over 3x (1d and 2h) or 1x (3d and 6h) of the "
            f"{target}% objective. Open a ticket.",
        ),
        _alert(
            settings, "HighHttp5xxRate",
            "http:5xx_rate_by_route:rate5m > 0.05",
            for_="5m", severity="warning",
            summary="5xx answers on {{ $labels.route }}",
            description="{{ $labels.route }} has answered more than three 5xx a minute "
            "(0.05/s) for 5 minutes.",
        ),
        _alert(
            settings, "HighPmsLatencyP95",
            "pms:api_latency_p95:rate5m > 2",
            for_="10m", severity="warning",
            summary="The PMS is slow",
            description="PMS API p95 latency has been over 2 seconds for 10 minutes.",
        ),
        _alert(
            settings, "CircuitBreakerOpen",
            "max by (name) (pms_circuit_breaker_state) == 1",
            for_="2m", severity="critical",
            summary="PMS circuit breaker {{ $labels.name }} open",
            description="The breaker for {{ $labels.name }} has been open for more than 2 "
            "minutes: guests get honest 'cannot check now' replies and bookings wait for retry.",
        ),
        _alert(
            settings, "WhatsAppWebhookFailures",
            "sum(rate(whatsapp_webhook_signature_failures_total[5m])) > 0.05"
            ' or sum(rate(http_requests_total{route="/webhooks/whatsapp",'
            'status_code=~"4..|5.."}[5m])) > 0.05',
            for_="5m", severity="warning",
            summary="WhatsApp webhook deliveries are failing",
            description="More than three WhatsApp webhook requests a minute are refused or "
            "fail: a wrong app secret, a bad payload or an error of ours.",
        ),
        _alert(
            settings, "DeadLettersGrowing",
            'delta(agente_queue_depth{queue="dead_letters"}[1h]) > 0',
            for_="10m", severity="warning",
            summary="Dead letters are growing",
            description="The dead-letter queue grew over the last hour. List them with "
            "GET /admin/dead-letters and replay once the cause is fixed.",
        ),
        _alert(
            settings, "OutboxBacklog",
            'agente_queue_oldest_age_seconds{queue="outbox"} > 300'
            ' or agente_queue_depth{queue="outbox"} > 500',
            for_="5m", severity="warning",
            summary="Replies are waiting in the outbox",
            description="The outbox holds replies older than 5 minutes or more than 500 of "
            "them: a channel is failing or no worker is sending.",
        ),
        _alert(
            settings, "EmailMailboxStale",
            "time() - max by (channel) (email_mailbox_last_read_timestamp_seconds) > 900",
            for_="5m", severity="warning",
            summary="A mailbox has not been read for 15 minutes",
            description="The e-mail channel has not read its mailbox successfully for 15 "
            "minutes: guests' mail is waiting unanswered (a wrong password, a server away, "
            "a revoked Gmail token, or no worker running).",
        ),
    ]  # fmt: skip
    return {
        "groups": [
            {"name": "agente-recording", "rules": recording},
            {"name": "agente-alerts", "rules": alerts},
        ]
    }


def render_rules(settings: RenderSettings) -> str:
    head = (
        "# Rendered by `agente observability render`; do not edit by hand.\n"
        f"# SLO_TARGET={_num(settings.slo_target)}  error budget={_num(settings.error_budget)}\n"
    )
    return head + msgspec.yaml.encode(rules(settings)).decode()


def alertmanager_config(env: Mapping[str, str]) -> dict[str, Any]:
    """Alertmanager's configuration with receivers from the environment.

    Alertmanager reads no environment variables, so the render writes them in. Critical alerts
    go to ``ALERTMANAGER_CRITICAL_WEBHOOK_URL`` (paging), warnings to
    ``ALERTMANAGER_WARNING_WEBHOOK_URL`` (tickets); with neither set, both go to a receiver that
    drops them, which ``amtool`` accepts and the logs say.
    """
    receivers: list[dict[str, Any]] = [{"name": "null"}]
    routes = []
    for severity in ("critical", "warning"):
        url = env.get(f"ALERTMANAGER_{severity.upper()}_WEBHOOK_URL", "").strip()
        if url and not url.startswith(("http://", "https://")):
            raise ConfigError(f"ALERTMANAGER_{severity.upper()}_WEBHOOK_URL", "not an http(s) URL")
        receiver = "null"
        if url:
            receiver = severity
            receivers.append(
                {"name": severity, "webhook_configs": [{"url": url, "send_resolved": True}]}
            )
        routes.append(
            {
                "matchers": [f'severity="{severity}"'],
                "receiver": receiver,
                "repeat_interval": "1h" if severity == "critical" else "12h",
            }
        )
    return {
        "route": {
            "receiver": "null",
            "group_by": ["alertname", "service"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": routes,
        },
        "inhibit_rules": [
            {
                "source_matchers": ['severity="critical"'],
                "target_matchers": ['severity="warning"'],
                "equal": ["alertname", "service"],
            }
        ],
        "receivers": receivers,
    }


def write(out: Path, alertmanager_out: Path, env: Mapping[str, str]) -> list[Path]:
    """Render the rules into ``out`` and Alertmanager's configuration into ``alertmanager_out``;
    a bad setting raises ConfigError naming it, before anything is written."""
    settings = RenderSettings.from_env(env)
    am = alertmanager_config(env)
    out.mkdir(parents=True, exist_ok=True)
    alertmanager_out.mkdir(parents=True, exist_ok=True)
    rules_path = out / "agente.rules.yml"
    am_path = alertmanager_out / "alertmanager.yml"
    rules_path.write_text(render_rules(settings))
    am_path.write_text(
        "# Rendered by `agente observability render`; do not edit by hand.\n"
        + msgspec.yaml.encode(am).decode()
    )
    return [rules_path, am_path]
