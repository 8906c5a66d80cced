"""Log masking: phone numbers, e-mails and document numbers never reach a log line in clear,
whether in a string field, nested in a dict or list, or in a formatted exception."""

from __future__ import annotations

import io
import json
from typing import Any

import structlog
from hypothesis import given
from hypothesis import strategies as st

from agente.logs import mask, new_correlation_id, processors


def render(**event: Any) -> str:
    out = io.StringIO()
    logger = structlog.wrap_logger(
        structlog.PrintLogger(out),
        processors=[*processors(), structlog.processors.JSONRenderer()],
    )  # fmt: skip
    logger.info("event", **event)
    return out.getvalue()


def test_nested_values_and_exceptions_are_masked() -> None:
    try:
        raise ValueError("guest ana.perez@example.com, +54 9 11 2345-6789, DNI 30.123.456")
    except ValueError as exc:
        line = render(
            guest={"email": "ana.perez@example.com", "phones": ["+5491123456789"]},
            exc_info=exc,
        )
    assert "ana.perez@example.com" not in line
    assert "23456789" not in line and "2345-6789" not in line and "30.123.456" not in line
    assert "a***@example.com" in line
    json.loads(line)


def test_ids_and_correlation_ids_stay_readable() -> None:
    cid = new_correlation_id()
    line = json.loads(render(correlation_id=cid, inbox_id=12345678, hotel_id="demo"))
    assert line["correlation_id"] == cid and line["inbox_id"] == 12345678


@given(st.integers(min_value=10**9, max_value=10**13 - 1))
def test_any_phone_like_number_keeps_only_its_last_two_digits(number: int) -> None:
    text = f"llamame al +{number}"
    assert str(number) not in mask(text)
    assert mask(text).endswith(str(number)[-2:])


def test_generated_correlation_ids_survive_masking() -> None:
    for _ in range(2000):
        cid = new_correlation_id()
        assert mask(cid) == cid
