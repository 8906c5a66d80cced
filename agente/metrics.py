"""Prometheus metrics: one registry per app, declared here and nowhere else.

Names follow the operations manual where it names them (``dependency_up``, ``readiness_up``,
``http_requests_total``); the rest are ``agente_<thing>_<unit>``. Labels come from small fixed
sets: route templates, never raw paths or ids.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import attrs
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["HttpMetrics", "Metrics"]

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


@attrs.define(slots=False)
class Metrics:
    registry: CollectorRegistry = attrs.field(factory=lambda: CollectorRegistry(auto_describe=True))

    def __attrs_post_init__(self) -> None:
        r = self.registry
        self.http_requests = Counter(
            "http_requests_total",
            "HTTP requests by method, route template and status code.",
            ["method", "route", "status_code"],
            registry=r,
        )
        self.http_duration = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.dependency_up = Gauge(
            "dependency_up", "1 when the dependency answered its last check.", ["name"],
            registry=r, multiprocess_mode="mostrecent",
        )  # fmt: skip
        self.readiness_up = Gauge(
            "readiness_up", "1 when the last readiness check passed.", registry=r,
            multiprocess_mode="mostrecent",
        )  # fmt: skip
        self.readiness_last_check = Gauge(
            "readiness_last_check_timestamp_seconds",
            "Unix time of the last readiness check.",
            registry=r,
            multiprocess_mode="max",
        )
        self.messages_accepted = Counter(
            "agente_messages_accepted_total",
            "Inbound messages stored in the inbox (duplicates excluded).",
            ["channel"],
            registry=r,
        )
        self.messages_duplicate = Counter(
            "agente_messages_duplicate_total",
            "Inbound messages recognised as re-deliveries and ignored.",
            ["channel"],
            registry=r,
        )
        self.messages_processed = Counter(
            "agente_messages_processed_total",
            "Inbound messages handled by a worker, by outcome (done, retry, dead, lost).",
            ["channel", "outcome"],
            registry=r,
        )
        self.replies_sent = Counter(
            "agente_replies_total",
            "Outbound replies by delivery outcome (sent, retry, dead, lost).",
            ["channel", "outcome"],
            registry=r,
        )
        self.queue = Gauge(
            "agente_queue_depth",
            "Unfinished messages per queue (inbox, outbox) and unreplayed dead letters.",
            ["queue"],
            registry=r,
            multiprocess_mode="mostrecent",
        )
        self.queue_age = Gauge(
            "agente_queue_oldest_age_seconds",
            "Age of the oldest unfinished message per queue.",
            ["queue"],
            registry=r,
            multiprocess_mode="mostrecent",
        )

        # the dialogue (names fixed by the operations manual's dashboards and SLO rules)
        self.orchestrator_messages = Counter(
            "orchestrator_messages_total",
            "Guest messages and events handled by the dialogue, by intent and status: ok, error "
            "(the PMS failed, or the message could not be handled: intent unhandled), degraded "
            "(a stale PMS answer stood in), handoff (sent to staff).",
            ["intent", "status"],
            registry=r,
        )
        # every intent's series exist from the start at 0: rate() misses the first increment of
        # a series Prometheus has not seen yet, and the first errors are the ones that matter
        from agente.pipeline.understand import INTENTS

        for intent in (*INTENTS, "unhandled"):
            for status in ("ok", "error", "degraded", "handoff"):
                self.orchestrator_messages.labels(intent, status)
        self.orchestrator_latency = Histogram(
            "orchestrator_latency_seconds",
            "Time from claiming a message to committing its replies, by intent.",
            ["intent"],
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.orchestrator_escalations = Counter(
            "orchestrator_escalations_total",
            "Conversations handed to staff, by reason and channel.",
            ["reason", "channel"],
            registry=r,
        )
        self.hotel_reservations = Counter(
            "hotel_reservations_total",
            "Reservation status changes made by the dialogue (pending_deposit, confirmed, …).",
            ["status"],
            registry=r,
        )

        self.admin_auth_failures = Counter(
            "admin_auth_failures_total",
            "Admin API and dashboard requests refused for a missing, wrong or revoked key.",
            registry=r,
        )

    def set_depths(self, depths: dict[str, float]) -> None:
        self.queue.labels("inbox").set(depths["inbox_depth"])
        self.queue.labels("outbox").set(depths["outbox_depth"])
        self.queue.labels("dead_letters").set(depths["dead_letters"])
        self.queue_age.labels("inbox").set(depths["inbox_oldest_age_seconds"])
        self.queue_age.labels("outbox").set(depths["outbox_oldest_age_seconds"])


def feature_flag_gauge(registry: CollectorRegistry) -> Gauge:
    """``feature_flag_enabled{flag}``, registered by the flag service on the app's registry
    (declared here with the rest; the flag service sets it at every refresh)."""
    return Gauge(
        "feature_flag_enabled",
        "1 when the feature flag is on in this process's current snapshot.",
        ["flag"],
        registry=registry,
        multiprocess_mode="mostrecent",
    )


@attrs.define
class HttpMetrics:
    """ASGI wrapper counting every response, 404s included, by route template."""

    app: ASGIApp
    metrics: Metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # type: ignore[comparison-overlap]
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = {"code": 500}

        async def _send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, _send)
        finally:
            raw: Any = scope
            route = raw.get("path_template") or "<unmatched>"
            method = scope.get("method", "GET")
            self.metrics.http_requests.labels(method, route, str(status["code"])).inc()
            self.metrics.http_duration.labels(method, route).observe(time.perf_counter() - start)
