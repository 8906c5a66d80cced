"""Fixtures of the e-mail channel's tests: a real dovecot and a real SMTP capture."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from agente_channel_email.testing import Capture, Dovecot, dovecot_server, smtp_server


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    yield from dovecot_server()


@pytest.fixture
def smtp() -> Iterator[tuple[Capture, int]]:
    yield from smtp_server()
