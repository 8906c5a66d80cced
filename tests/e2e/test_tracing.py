"""Traces from a real `agente serve` to a local OTLP/HTTP collector (a faithful fake of the
collector's /v1/traces endpoint: protobuf ExportTraceServiceRequest in, 200 out): one trace from
the webhook through the worker, the pipeline and the PMS call to the send, with nothing
personal in any attribute."""

from __future__ import annotations

import http.server
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.conftest import free_port, running_serve

EMAIL = "ana.perez@example.com"
PHONE_DIGITS = "91123456789"


class Collector(http.server.BaseHTTPRequestHandler):
    spans: list[Any] = []
    resources: list[dict[str, str]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path != "/v1/traces" or self.headers["Content-Type"] != "application/x-protobuf":
            self.send_response(404)
            self.end_headers()
            return
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource_spans in request.resource_spans:
            self.resources.append({a.key: a.value.string_value
                                   for a in resource_spans.resource.attributes})  # fmt: skip
            for scope_spans in resource_spans.scope_spans:
                self.spans.extend(scope_spans.spans)
        answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[str]:
    Collector.spans, Collector.resources = [], []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_one_trace_from_webhook_to_send_with_nothing_personal(
    tmp_path: Path, collector: str
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTE_", "OTEL_"))}
    env.update(AGENTE_PORT=str(port), AGENTE_ENV="test", AGENTE_LOG_LEVEL="WARNING",
               AGENTE_BUSINESS_HOURS_ALWAYS_OPEN="true", AGENTE_WORKER_POLL_INTERVAL="0.05",
               OTEL_EXPORTER_OTLP_ENDPOINT=collector, OTEL_BSP_SCHEDULE_DELAY="100",
               OTEL_SERVICE_NAME="agente-test")  # fmt: skip
    with running_serve(tmp_path, env) as base:
        with httpx.Client(base_url=base, timeout=10) as client:
            text = f"soy {EMAIL}, cel +54 {PHONE_DIGITS}: tienen lugar del 15/12 al 18/12 para 2?"
            r = client.post("/webchat/demo/messages", json={"session_id": "t1", "text": text})
            assert r.status_code == 202
            got = client.get("/webchat/demo/messages",
                             params={"session_id": "t1", "after": 0, "wait": 10})  # fmt: skip
            assert any(m["direction"] == "out" for m in got.json()["messages"])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(
            s.name == "channel.send" for s in Collector.spans
        ):
            time.sleep(0.1)

    by_name = {s.name: s for s in Collector.spans}
    webhook = next(s for s in Collector.spans if s.name.startswith("HTTP POST /webchat/"))
    for name in ("worker.handle_message", "pipeline.understand", "pipeline.dialogue",
                 "pms.search", "channel.send"):  # fmt: skip
        assert name in by_name, sorted(by_name)
        assert by_name[name].trace_id == webhook.trace_id, name  # one trace, across the inbox
    assert by_name["worker.handle_message"].parent_span_id == webhook.span_id
    assert by_name["pms.search"].kind == by_name["channel.send"].kind == 3  # SPAN_KIND_CLIENT
    assert {"service.name": "agente-test"}.items() <= Collector.resources[0].items()
    for s in Collector.spans:
        for attribute in s.attributes:
            value = str(attribute.value)
            assert EMAIL not in value and PHONE_DIGITS not in value, (s.name, attribute.key)
