"""The ``imap`` channel through the real entry point: ``agente serve`` (its embedded worker runs
the mailbox loop) reads a guest's mail from a real dovecot and answers through a real SMTP server,
with the guest's address masked in every log line."""

from __future__ import annotations

import email
import email.policy
import os
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from agente_channel_email.testing import (
    PASSWORD,
    USER,
    Capture,
    Dovecot,
    dovecot_server,
    smtp_server,
)

from tests.conftest import free_port, running_serve


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    yield from dovecot_server()


@pytest.fixture
def smtp() -> Iterator[tuple[Capture, int]]:
    yield from smtp_server()


def test_agente_serve_answers_a_mail_from_the_mailbox(
    tmp_path: Path, dovecot: Dovecot, smtp: tuple[Capture, int]
) -> None:
    capture, smtp_port = smtp
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTE_", "OTEL_"))}
    env.update(
        AGENTE_PORT=str(port), AGENTE_CHANNELS="webchat,imap", AGENTE_LOG_FORMAT="json",
        AGENTE_BUSINESS_HOURS_ALWAYS_OPEN="true", AGENTE_IMAP_HOST="127.0.0.1",
        AGENTE_IMAP_PORT=str(dovecot.port), AGENTE_IMAP_SECURITY="none",
        AGENTE_IMAP_USERNAME=USER, AGENTE_IMAP_PASSWORD=PASSWORD,
        AGENTE_IMAP_ADDRESS="reservas@sierraserena.example", AGENTE_IMAP_SMTP_PORT=str(smtp_port),
        AGENTE_IMAP_SMTP_SECURITY="none", AGENTE_IMAP_SMTP_PASSWORD="app-password",
        AGENTE_IMAP_POLL_SECONDS="300",
    )  # fmt: skip
    mail = EmailMessage()
    mail["From"] = "Joana Silva <joana.silva@example.com.br>"
    mail["To"] = "reservas@sierraserena.example"
    mail["Subject"] = "Café da manhã"
    mail["Message-ID"] = "<joana-1@example.com.br>"
    mail.set_content("Olá! O café da manhã está incluído? Obrigada")
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log, running_serve(tmp_path, env, log=log) as base:
        ready = httpx.get(f"{base}/health/ready", timeout=10).json()
        assert ready["checks"]["imap"]["status"] == "ok"
        time.sleep(0.5)  # the loop has read the empty mailbox and waits in IDLE
        dovecot.append(mail.as_bytes())
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not capture.messages:
            time.sleep(0.1)
    assert len(capture.messages) == 1
    reply = email.message_from_bytes(capture.messages[0], policy=email.policy.default)
    assert reply["To"] == "joana.silva@example.com.br"
    assert reply["In-Reply-To"] == "<joana-1@example.com.br>"
    assert str(reply["Subject"]) == "Re: Café da manhã"
    body = reply.get_body(preferencelist=("plain",))
    assert body is not None and "café da manhã" in body.get_content().lower()
    logged = log_path.read_text()
    assert "reply_sent" in logged
    assert "joana.silva@example.com.br" not in logged
