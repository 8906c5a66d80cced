"""Metrics with several Granian workers: `agente serve --workers 2` puts prometheus-client in
multiprocess mode, so every scrape, whichever worker answers it, adds up both workers."""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx

from tests.conftest import free_port, running_serve


def test_two_workers_add_up_in_every_scrape(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "AGENTE_PORT": str(port), "AGENTE_ENV": "test",
           "AGENTE_LOG_LEVEL": "WARNING", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom")}  # fmt: skip
    (tmp_path / "prom").mkdir()
    (tmp_path / "prom" / "counter_0.db").write_bytes(b"stale from a previous run")
    with running_serve(tmp_path, env, "--workers", "2") as base:
        for _ in range(60):
            # a fresh connection each time, so the kernel spreads them over the workers
            r = httpx.get(f"{base}/health/live", headers={"Connection": "close"})
            assert r.status_code == 200
        pattern = re.compile(
            r'^http_requests_total\{method="GET",route="/health/live",status_code="200"\} (\S+)$',
            re.M,
        )
        for _ in range(8):
            text = httpx.get(f"{base}/metrics", headers={"Connection": "close"}).text
            assert float(pattern.search(text).group(1)) == 60.0  # type: ignore[union-attr]
            assert re.search(r'^dependency_up\{name="database"\} 1\.0$', text, re.M)
        pids = {p.name for p in (tmp_path / "prom").glob("counter_*.db")}
        assert len(pids) == 3, pids  # the launcher and both workers wrote their own files
