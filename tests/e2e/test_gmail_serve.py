"""The ``gmail`` channel through the real entry points: ``agente serve`` with the Gmail API fake
served on loopback (``python -m agente_channel_email.gmail_fake``). A guest's mail arrives,
Google's push reaches ``POST /webhooks/gmail`` with a signed OIDC token, and the reply is sent in
the guest's thread; an unsigned push is refused."""

from __future__ import annotations

import base64
import email
import email.policy
import os
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

import httpx
from agente_channel_email.gmail_fake import (
    ADDRESS,
    AUDIENCE,
    CLIENT_ID,
    CLIENT_SECRET,
    PUSH_ACCOUNT,
    REFRESH_TOKEN,
)

from tests.conftest import free_port, running_serve


def test_agente_serve_answers_a_gmail_push(tmp_path: Path) -> None:
    fake_port = free_port()
    fake = subprocess.Popen([sys.executable, "-m", "agente_channel_email.gmail_fake",
                             "--port", str(fake_port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    api = f"http://127.0.0.1:{fake_port}"
    try:
        for _ in range(100):
            try:
                httpx.get(f"{api}/oauth2/v3/certs", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTE_", "OTEL_"))}
        env.update(
            AGENTE_PORT=str(free_port()), AGENTE_CHANNELS="webchat,gmail",
            AGENTE_LOG_FORMAT="json", AGENTE_BUSINESS_HOURS_ALWAYS_OPEN="true",
            AGENTE_GMAIL_CLIENT_ID=CLIENT_ID, AGENTE_GMAIL_CLIENT_SECRET=CLIENT_SECRET,
            AGENTE_GMAIL_REFRESH_TOKEN=REFRESH_TOKEN, AGENTE_GMAIL_ADDRESS=ADDRESS,
            AGENTE_GMAIL_PUSH_AUDIENCE=AUDIENCE, AGENTE_GMAIL_PUSH_SERVICE_ACCOUNT=PUSH_ACCOUNT,
            AGENTE_GMAIL_API_BASE_URL=api, AGENTE_GMAIL_TOKEN_URL=f"{api}/token",
            AGENTE_GMAIL_OIDC_JWKS_URL=f"{api}/oauth2/v3/certs",
            AGENTE_GMAIL_TOPIC="projects/hotel-agent/topics/gmail-inbox",
            AGENTE_GMAIL_SAFETY_SYNC_SECONDS="600",
        )  # fmt: skip
        mail = EmailMessage()
        mail["From"] = "Tom Baker <tom.baker@example.org>"
        mail["To"] = ADDRESS
        mail["Subject"] = "Parking"
        mail["Message-ID"] = "<tom-1@example.org>"
        mail.set_content("Hello, do you have parking for a van?")
        log_path = tmp_path / "serve.log"
        with log_path.open("wb") as log, running_serve(tmp_path, env, log=log) as base:
            ready = httpx.get(f"{base}/health/ready", timeout=10).json()
            assert ready["checks"]["gmail"]["status"] == "ok"
            time.sleep(1.0)  # the loop took its cursor and kept the watch
            raw = base64.urlsafe_b64encode(mail.as_bytes()).decode()
            httpx.post(f"{api}/_fake/deliver", json={"raw": raw}, timeout=5).raise_for_status()
            pushed = httpx.post(f"{api}/_fake/push", timeout=5).json()
            unsigned = httpx.post(f"{base}/webhooks/gmail", content=pushed["body"], timeout=5)
            assert unsigned.status_code == 401
            answer = httpx.post(f"{base}/webhooks/gmail", content=pushed["body"], timeout=5,
                                headers={"authorization": f"Bearer {pushed['token']}"})  # fmt: skip
            assert answer.status_code == 204
            deadline = time.monotonic() + 20
            sent: list[dict[str, str]] = []
            while time.monotonic() < deadline and not sent:
                sent = httpx.get(f"{api}/_fake/sent", timeout=5).json()
                time.sleep(0.1)
            metrics = httpx.get(f"{base}/metrics", timeout=5).text
    finally:
        fake.terminate()
        fake.wait(timeout=10)
    assert len(sent) == 1
    assert sent[0]["threadId"] == sent[0]["requested_thread"]  # filed in the guest's thread
    reply = email.message_from_bytes(base64.urlsafe_b64decode(sent[0]["raw"]),
                                      policy=email.policy.default)  # fmt: skip
    assert reply["To"] == "tom.baker@example.org"
    assert reply["In-Reply-To"] == "<tom-1@example.org>"
    assert 'gmail_pushes_total{outcome="queued"} 1.0' in metrics
    assert 'gmail_pushes_total{outcome="rejected"} 1.0' in metrics
    assert "gmail_watch_expiration_timestamp_seconds" in metrics
    assert "tom.baker@example.org" not in log_path.read_text()
