"""OpenTelemetry traces: webhook → worker → pipeline → PMS call → send, as one trace.

Off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set; then ``setup`` installs a tracer provider
that exports over OTLP/HTTP (protobuf) in batches, with the standard ``OTEL_*`` variables
(``OTEL_SERVICE_NAME``, ``OTEL_BSP_SCHEDULE_DELAY``, ``OTEL_EXPORTER_OTLP_HEADERS``, …). With
it unset the API's no-op tracer costs next to nothing.

The trace crosses the inbox: at accept, the webhook's span context is kept with the message
(``InboundMessage.trace_parent``, W3C ``traceparent``); the worker continues it, and the outbox
reply carries the worker's context to the send. Span attributes go through the same masking as
the logs (``agente.logs.mask``): a phone number or an e-mail never leaves in a span.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from agente.logs import current_correlation_id, mask

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "SpanKind",
    "Status",
    "StatusCode",
    "current_traceparent",
    "set_attributes",
    "setup",
    "shutdown",
    "span",
]

_PROPAGATOR = TraceContextTextMapPropagator()
_TRACER_NAME = "agente"
_state: dict[str, Any] = {}


def setup(env: Mapping[str, str] | None = None, *, service_name: str = "agente") -> bool:
    """Install the OTLP exporter when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (once per process).
    Returns whether tracing is on."""
    env = os.environ if env is None else env
    if "provider" in _state:
        return True
    if not env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip():
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": env.get("OTEL_SERVICE_NAME") or service_name})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _state["provider"] = provider
    return True


def shutdown() -> None:
    """Flush and stop the exporter (at process exit)."""
    provider = _state.pop("provider", None)
    if provider is not None:
        provider.shutdown()


def _clean(attributes: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in attributes.items():
        if value is None:
            continue
        if isinstance(value, str):
            out[key] = mask(value)
        elif isinstance(value, (bool, int, float)):
            out[key] = value
        else:
            out[key] = mask(str(value))
    return out


@contextlib.contextmanager
def span(
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    parent: str | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> Iterator[Span]:
    """A span named ``name`` with masked attributes; ``parent`` is a W3C ``traceparent`` to
    continue (a message's, across the inbox). An exception marks the span as an error."""
    token = None
    if parent:
        token = otel_context.attach(_PROPAGATOR.extract({"traceparent": parent}))
    try:
        tracer = trace.get_tracer(_TRACER_NAME)
        with tracer.start_as_current_span(
            name, kind=kind, attributes=_clean(attributes or {}), record_exception=False
        ) as current:
            try:
                yield current
            except BaseException as exc:
                current.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                current.set_attribute("error.type", type(exc).__name__)
                raise
    finally:
        if token is not None:
            otel_context.detach(token)


def set_attributes(current: Span, **attributes: Any) -> None:
    current.set_attributes(_clean(attributes))


def current_traceparent() -> str | None:
    """The active span's context as a W3C ``traceparent``, or None outside a recorded span."""
    if not trace.get_current_span().get_span_context().is_valid:
        return None
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent")


class TracedRequests:
    """ASGI wrapper: a server span per HTTP request, named by its route template, continuing
    the caller's ``traceparent`` header when there is one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or "provider" not in _state:  # type: ignore[comparison-overlap]
            await self.app(scope, receive, send)
            return
        parent = None
        for name, value in scope.get("headers", []):
            if name == b"traceparent":
                parent = value.decode("latin-1")
        status = {"code": 500}

        async def _send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        method = scope.get("method", "GET")
        with span(
            f"HTTP {method}", kind=SpanKind.SERVER, parent=parent,
            attributes={"http.request.method": method,
                        "agente.correlation_id": current_correlation_id()},
        ) as current:  # fmt: skip
            try:
                await self.app(scope, receive, _send)
            finally:
                raw: Any = scope
                route = raw.get("path_template") or "<unmatched>"
                current.update_name(f"HTTP {method} {route}")
                current.set_attributes({"http.route": route,
                                        "http.response.status_code": status["code"]})  # fmt: skip
                if status["code"] >= 500:
                    current.set_status(Status(StatusCode.ERROR))
