"""Booking vouchers: the text in three languages, money and dates, and a PDF strict readers accept."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from agente.pipeline.voucher import (
    Voucher,
    format_date,
    format_money,
    voucher_filename,
    voucher_pdf,
    voucher_text,
)


def make_voucher(**changes: Any) -> Voucher:
    fields: dict[str, Any] = {
        "booking_ref": "QLO-48213",
        "client_reference": "AG-7QX2-K9",
        "hotel_name": "Hotel Patagonia Andina",
        "hotel_address": "Av. Bustillo 1234, Bariloche, Río Negro",
        "hotel_phone": "+54 294 444-1234",
        "hotel_email": "reservas@patagonia.example",
        "guest_name": "María José Núñez",
        "guest_email": "mjnunez@example.com",
        "check_in": dt.date(2026, 12, 15),
        "check_out": dt.date(2026, 12, 18),
        "check_in_time": "14:00",
        "check_out_time": "10:00",
        "room_type": "Doble superior",
        "adults": 2,
        "children": 1,
        "currency": "ARS",
        "total": Decimal("456789.50"),
        "paid": Decimal("150000"),
        "balance": Decimal("306789.50"),
        "issued_on": dt.date(2026, 11, 22),
        "notes": "Cancelación sin cargo hasta 7 días antes. ¿Llegás tarde? ¡Avisanos!",
    }
    fields.update(changes)
    return Voucher(**fields)


# ---------------------------------------------------------------------------------------- text

EXPECTED = {
    "es": [
        "Voucher / Comprobante de reserva",
        "Emitido el 22/11/2026",
        "N.º de reserva: QLO-48213",
        "Referencia: AG-7QX2-K9",
        "Titular: María José Núñez",
        "E-mail: mjnunez@example.com",
        "Check-in: 15/12/2026, desde las 14:00",
        "Check-out: 18/12/2026, hasta las 10:00",
        "Noches: 3",
        "Habitación: Doble superior",
        "Huéspedes: 2 adultos, 1 menor",
        "Total: ARS 456.789,50",
        "Pagado: ARS 150.000",
        "Saldo pendiente: ARS 306.789,50",
        "Observaciones:",
        "Presentá este comprobante al hacer el check-in. ¡Te esperamos!",
    ],
    "en": [
        "Voucher / Booking confirmation",
        "Issued on 22 Nov 2026",
        "Booking no.: QLO-48213",
        "Reference: AG-7QX2-K9",
        "Guest name: María José Núñez",
        "E-mail: mjnunez@example.com",
        "Check-in: 15 Dec 2026, from 14:00",
        "Check-out: 18 Dec 2026, until 10:00",
        "Nights: 3",
        "Room: Doble superior",
        "Guests: 2 adults, 1 child",
        "Total: ARS 456,789.50",
        "Paid: ARS 150,000",
        "Balance due: ARS 306,789.50",
        "Notes:",
    ],
    "pt": [
        "Voucher / Comprovante de reserva",
        "Emitido em 22/11/2026",
        "Nº da reserva: QLO-48213",
        "Referência: AG-7QX2-K9",
        "Titular: María José Núñez",
        "E-mail: mjnunez@example.com",
        "Check-in: 15/12/2026, a partir das 14:00",
        "Check-out: 18/12/2026, até as 10:00",
        "Noites: 3",
        "Quarto: Doble superior",
        "Hóspedes: 2 adultos, 1 criança",
        "Total: ARS 456.789,50",
        "Pago: ARS 150.000",
        "Saldo a pagar: ARS 306.789,50",
        "Observações:",
    ],
}


@pytest.mark.parametrize("language", ["es", "en", "pt"])
def test_text_shows_every_field_in_the_language(language: str) -> None:
    text = voucher_text(make_voucher(), language)
    lines = text.splitlines()
    assert lines[0] == "Hotel Patagonia Andina"
    assert lines[1] == (
        "Av. Bustillo 1234, Bariloche, Río Negro · Tel. +54 294 444-1234 · reservas@patagonia.example"
    )
    for expected in EXPECTED[language]:
        assert expected in lines, expected
    assert "Cancelación sin cargo hasta 7 días antes. ¿Llegás tarde? ¡Avisanos!" in lines


@pytest.mark.parametrize(
    ("language", "like"),
    [("fr", "es"), ("", "es"), ("pt-BR", "pt"), ("EN_us", "en"), (" es-AR ", "es")],
)
def test_language_tags_find_their_table_and_unknown_ones_get_spanish(
    language: str, like: str
) -> None:
    assert voucher_text(make_voucher(), language) == voucher_text(make_voucher(), like)


def test_text_leaves_out_what_the_booking_does_not_have() -> None:
    v = make_voucher(
        hotel_address=None,
        hotel_phone=None,
        hotel_email=None,
        guest_email=None,
        notes=None,
        children=0,
        adults=1,
        check_out=dt.date(2026, 12, 16),
        check_in_time="",
    )
    text = voucher_text(v, "en")
    assert "E-mail" not in text and "Notes" not in text and "Tel." not in text
    assert "Guests: 1 adult\n" in text and "child" not in text
    assert "Nights: 1\n" in text
    assert "Check-in: 15 Dec 2026\n" in text
    assert text.splitlines()[:3] == ["Hotel Patagonia Andina", "", "Voucher / Booking confirmation"]


def test_notes_keep_their_lines_and_fields_stay_on_one() -> None:
    v = make_voucher(
        guest_name="Ana\n\tPérez\u200b ", notes="\n\nLínea 1\r\n\n\n\nLínea 2\u2028Línea 3\n\n"
    )
    text = voucher_text(v, "es")
    assert "Titular: Ana Pérez\n" in text
    assert text.endswith("Observaciones:\nLínea 1\n\nLínea 2\nLínea 3\n\n" + EXPECTED["es"][-1])


# ------------------------------------------------------------------------------ money and dates


@pytest.mark.parametrize(
    ("amount", "currency", "language", "expected"),
    [
        ("123456.50", "ARS", "es", "ARS 123.456,50"),
        ("123456.50", "ARS", "pt", "ARS 123.456,50"),
        ("123456.50", "ARS", "en", "ARS 123,456.50"),
        ("1234.5", "BRL", "pt", "BRL 1.234,50"),
        ("1000", "USD", "en", "USD 1,000"),
        ("1000.00", "USD", "es", "USD 1.000"),
        ("0", "ARS", "es", "ARS 0"),
        ("999", "ARS", "es", "ARS 999"),
        ("0.05", "USD", "en", "USD 0.05"),
        ("1000000000", "ARS", "es", "ARS 1.000.000.000"),
        ("1000000000.99", "ARS", "en", "ARS 1,000,000,000.99"),
        ("0.005", "ARS", "es", "ARS 0,01"),  # half up, not banker's rounding
        ("0.015", "ARS", "es", "ARS 0,02"),
        ("999.995", "ARS", "es", "ARS 1.000"),  # rounds to a whole amount: no decimals
        ("-1234.5", "ARS", "es", "ARS -1.234,50"),  # an overpayment to refund
        ("-0.001", "ARS", "es", "ARS 0"),  # never "-0"
        ("1E+30", "ARS", "en", "ARS 1" + ",000" * 10),  # beyond the default 28 digits
        ("12.5", "", "es", "12,50"),
    ],
)
def test_money_is_formatted_per_language(
    amount: str, currency: str, language: str, expected: str
) -> None:
    assert format_money(Decimal(amount), currency, language) == expected


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "-Infinity"])
def test_money_refuses_what_is_not_an_amount(amount: str) -> None:
    with pytest.raises(ValueError, match="not a finite amount"):
        format_money(Decimal(amount), "ARS", "es")


@pytest.mark.parametrize(
    ("day", "language", "expected"),
    [
        (dt.date(2026, 12, 15), "es", "15/12/2026"),
        (dt.date(2026, 12, 15), "pt", "15/12/2026"),
        (dt.date(2026, 12, 15), "en", "15 Dec 2026"),
        (dt.date(2027, 1, 5), "es", "05/01/2027"),
        (dt.date(2027, 1, 5), "en", "5 Jan 2027"),
    ],
)
def test_dates_are_formatted_per_language(day: dt.date, language: str, expected: str) -> None:
    assert format_date(day, language) == expected


# ----------------------------------------------------------------------- the voucher as a value


@pytest.mark.parametrize(
    "changes",
    [
        {"check_out": dt.date(2026, 12, 15)},
        {"check_out": dt.date(2026, 12, 1)},
        {"adults": -1},
        {"children": -1},
        {"total": Decimal("NaN")},
        {"balance": Decimal("Infinity")},
    ],
)
def test_an_impossible_voucher_cannot_be_built(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        make_voucher(**changes)
    wire = msgspec.to_builtins(make_voucher())
    wire.update(msgspec.to_builtins(changes))
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(wire, Voucher)


def test_a_voucher_round_trips_through_json() -> None:
    v = make_voucher()
    assert msgspec.json.decode(msgspec.json.encode(v), type=Voucher) == v


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("QLO-48213", "voucher-QLO-48213.pdf"),
        ("AR/12 ñ(x)", "voucher-AR-12-n-x.pdf"),
        ("../../etc/passwd", "voucher-etc-passwd.pdf"),
        ("李小龍", "voucher.pdf"),
        ("", "voucher.pdf"),
        ("x" * 200, "voucher-" + "x" * 64 + ".pdf"),
    ],
)
def test_the_filename_is_safe_everywhere(ref: str, expected: str) -> None:
    assert voucher_filename(make_voucher(booking_ref=ref)) == expected


# ------------------------------------------------------------------------------------- the PDF

_TEXT_OP = re.compile(
    rb"BT /F[12] [\d.]+ Tf (?:[\d.]+ g|[\d.]+ [\d.]+ [\d.]+ rg) 1 0 0 1 -?[\d.]+ -?[\d.]+ Tm "
    rb"\((?:[^\\()\r\n]|\\[\\()rn])*\) Tj ET"
)


def check_pdf(pdf: bytes) -> list[bytes]:
    """What a strict reader checks before it trusts a file; returns the content streams."""
    assert pdf.startswith(b"%PDF-1.4\n")
    assert pdf.endswith(b"%%EOF")
    tail = re.search(rb"\nstartxref\n(\d+)\n%%EOF\Z", pdf)
    assert tail is not None
    xref = int(tail.group(1))
    header = re.match(rb"xref\n0 (\d+)\n", pdf[xref:])
    assert header is not None
    size = int(header.group(1))
    start = xref + header.end()
    entries = [pdf[start + 20 * i : start + 20 * (i + 1)] for i in range(size)]
    assert entries[0] == b"0000000000 65535 f \n"
    for number, entry in enumerate(entries[1:], start=1):
        match = re.fullmatch(rb"(\d{10}) 00000 n \n", entry)
        assert match is not None, entry
        offset = int(match.group(1))
        assert pdf[offset:].startswith(b"%d 0 obj\n" % number), number
    trailer = pdf[start + 20 * size : tail.start()]
    assert re.fullmatch(
        rb"trailer\n<< /Size %d /Root 1 0 R /Info 5 0 R /ID \[<([0-9a-f]{32})> <\1>\] >>" % size,
        trailer,
    )
    assert len(re.findall(rb"(?m)^\d+ 0 obj$", pdf)) == size - 1
    assert len(re.findall(rb"(?m)^endobj$", pdf)) == size - 1
    streams = []
    for match in re.finditer(rb"<< /Length (\d+) >>\nstream\n", pdf):
        end = match.end() + int(match.group(1))
        assert pdf[end:].startswith(b"\nendstream\nendobj\n")
        streams.append(pdf[match.end() : end])
    count = re.search(rb"/Type /Pages /Kids \[[\d R]+\] /Count (\d+)", pdf)
    assert count is not None
    assert len(re.findall(rb"/Type /Page /", pdf)) == int(count.group(1)) == len(streams)
    for stream in streams:
        for op in stream.split(b"\n"):
            assert op.startswith(b"q ") or _TEXT_OP.fullmatch(op), op
    return streams


def test_the_pdf_is_structurally_valid() -> None:
    pdf = voucher_pdf(make_voucher(), "es")
    assert len(check_pdf(pdf)) == 1
    assert b"/BaseFont /Helvetica /Encoding /WinAnsiEncoding" in pdf
    assert b"/BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding" in pdf
    assert b"/MediaBox [0 0 595.28 841.89]" in pdf  # A4
    assert b"/Lang (es-AR)" in pdf


@pytest.mark.parametrize("language", ["es", "en", "pt"])
def test_the_pdf_draws_the_text_in_cp1252(language: str) -> None:
    pdf = voucher_pdf(make_voucher(), language)
    content = b"".join(check_pdf(pdf))
    assert "María José Núñez".encode("cp1252") in content
    assert b"(QLO-48213)" in content
    assert "Hotel Patagonia Andina".encode("cp1252") in content
    assert "¿Llegás tarde? ¡Avisanos!".encode("cp1252") in content
    for line in EXPECTED[language]:
        for part in line.rstrip(":").split(": "):
            assert part.encode("cp1252") in content, part


def test_pdf_strings_escape_their_delimiters() -> None:
    pdf = voucher_pdf(make_voucher(booking_ref="A(1)\\B", guest_name="Peña (Ñandú)"), "es")
    content = b"".join(check_pdf(pdf))
    assert b"(A\\(1\\)\\\\B)" in content
    assert "Peña \\(Ñandú\\)".encode("cp1252") in content


def test_characters_outside_cp1252_lose_their_accent_or_become_question_marks() -> None:
    pdf = voucher_pdf(make_voucher(guest_name="Nguyễn Đức 李 🙂 ﬁn"), "en")
    content = b"".join(check_pdf(pdf))
    assert b"(Nguyen ?uc ? ? fin)" in content


def test_the_pdf_is_deterministic() -> None:
    assert voucher_pdf(make_voucher(), "pt") == voucher_pdf(make_voucher(), "pt")
    assert voucher_pdf(make_voucher(), "pt") != voucher_pdf(make_voucher(), "es")


def test_long_notes_continue_on_further_pages_with_page_numbers() -> None:
    policy = "Cancelación sin cargo hasta 7 días antes del check-in. " * 250
    pdf = voucher_pdf(make_voucher(notes=policy), "es")
    streams = check_pdf(pdf)
    assert len(streams) > 1
    for number, stream in enumerate(streams, start=1):
        assert b"(%d/%d)" % (number, len(streams)) in stream
    assert b"(1/1)" not in b"".join(check_pdf(voucher_pdf(make_voucher(), "es")))
    assert "¡Te esperamos!".encode("cp1252") in streams[-1]


@given(
    guest_name=st.text(),
    notes=st.one_of(st.none(), st.text()),
    amounts=st.lists(st.decimals(min_value=0, max_value=10**9, places=2), min_size=3, max_size=3),
    language=st.sampled_from(["es", "en", "pt", "xx"]),
)
@example(
    guest_name="\ud800 lone surrogate",
    notes="\x00\r\n)(\\",
    amounts=[Decimal(0)] * 3,
    language="es",
)
def test_voucher_pdf_is_total_and_stays_valid(
    guest_name: str, notes: str | None, amounts: list[Decimal], language: str
) -> None:
    total, paid, balance = amounts
    v = make_voucher(guest_name=guest_name, notes=notes, total=total, paid=paid, balance=balance)
    check_pdf(voucher_pdf(v, language))
    assert voucher_text(v, language)
