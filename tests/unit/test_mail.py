"""The e-mail core: parsing what guests' mail programs really send, stripping what they quote,
refusing to answer robots, threading replies, and never letting an exception out."""

from __future__ import annotations

import base64
from email.message import EmailMessage

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agente.mail import (
    Attachment,
    MailRejected,
    build_reply,
    html_to_text,
    parse_email,
    strip_quoted,
)

HOTEL = frozenset({"reservas@sierraserena.example"})


def mail(body: str = "Hola, ¿tienen lugar?", **headers: str) -> bytes:
    base = {
        "From": "Ana Pérez <ana.perez@example.com>",
        "To": "reservas@sierraserena.example",
        "Subject": "Consulta",
        "Message-ID": "<a1@example.com>",
        "Date": "Sat, 05 Dec 2026 10:00:00 -0300",
    }
    base.update({k.replace("_", "-"): v for k, v in headers.items()})
    head = "".join(f"{k}: {v}\r\n" for k, v in base.items() if v)
    return (head + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            + body).encode()  # fmt: skip


def test_a_plain_mail_is_read_with_its_sender_and_thread() -> None:
    got = parse_email(mail(), own_addresses=HOTEL)
    assert got.from_addr == "ana.perez@example.com" and got.from_name == "Ana Pérez"
    assert got.text == "Hola, ¿tienen lugar?" and got.noise is None
    assert got.message_id == "<a1@example.com>" and got.thread_key == "<a1@example.com>"


def test_encoded_words_in_headers_are_decoded() -> None:
    got = parse_email(mail(Subject="=?UTF-8?B?UmVzZXJ2YSBlbiBqdWxpbyDwn4+W?=",
                           From="=?ISO-8859-1?Q?Jos=E9_G=F3mez?= <jose@example.com>"))  # fmt: skip
    assert got.subject == "Reserva en julio 🏖" and got.from_name == "José Gómez"


GMAIL_REPLY = b"""From: Ana <ana@example.com>\r
To: reservas@sierraserena.example\r
Subject: Re: Tu consulta\r
Message-ID: <r2@mail.gmail.com>\r
In-Reply-To: <ours1@sierraserena.example>\r
References: <a1@example.com> <ours1@sierraserena.example>\r
MIME-Version: 1.0\r
Content-Type: multipart/alternative; boundary="b1"\r
\r
--b1\r
Content-Type: text/plain; charset="UTF-8"\r
Content-Transfer-Encoding: quoted-printable\r
\r
Perfecto, la doble entonces. Somos 2.\r
\r
El s=C3=A1b, 5 dic 2026 a las 10:05, Hotel Sierra Serena (<\r
reservas@sierraserena.example>) escribi=C3=B3:\r
\r
> Tenemos lugar del 15 al 18 de diciembre.\r
> =C2=BFTe reservo?\r
--b1\r
Content-Type: text/html; charset="UTF-8"\r
\r
<div dir=3D"ltr">Perfecto, la doble entonces. Somos 2.</div><div class=3D"gmail_quote"><blockquote>Tenemos lugar</blockquote></div>\r
--b1--\r
"""


def test_a_gmail_reply_keeps_only_the_new_text_and_threads_on_the_root() -> None:
    got = parse_email(GMAIL_REPLY)
    assert got.text == "Perfecto, la doble entonces. Somos 2."
    assert "Tenemos lugar" in got.full_text
    assert (
        got.thread_key == "<a1@example.com>" and got.in_reply_to == "<ours1@sierraserena.example>"
    )


@pytest.mark.parametrize(
    "body",
    [
        "Sí, confirmo.\n\nOn Sat, Dec 5, 2026 at 10:05 AM Hotel <r@h.example> wrote:\n> hola",
        "Sí, confirmo.\n\nEm sáb., 5 de dez. de 2026 às 10:05, Hotel escreveu:\n> olá",
        "Sí, confirmo.\n\n-----Original Message-----\nFrom: Hotel\nSent: Saturday",
        "Sí, confirmo.\n________________________________\nFrom: Hotel <r@h.example>\nSent: sábado",
        "Sí, confirmo.\n\nSent from my iPhone",
        "Sí, confirmo.\n-- \nAna Pérez\nDNI 30.123.456",
        "Sí, confirmo.\n> lo que el hotel dijo",
    ],
)
def test_quotes_and_signatures_are_stripped(body: str) -> None:
    assert strip_quoted(body) == "Sí, confirmo."


def test_stripping_that_leaves_nothing_falls_back_to_the_whole_text() -> None:
    assert strip_quoted("> only a quote") == "> only a quote"


def test_an_html_only_mail_is_converted_without_styles_scripts_or_quotes() -> None:
    markup = ("<html><head><style>p{color:red}</style></head><body><p>Hola,&nbsp;somos"
              " <b>4</b>.</p><script>x()</script><img src='https://t.example/pixel.gif'>"
              "<blockquote type='cite'>viejo</blockquote>"
              "<div id='divRplyFwdMsg'>From: Hotel</div><p>after</p></body></html>")  # fmt: skip
    assert html_to_text(markup) == "Hola, somos 4."
    raw = mail(markup).replace(b"text/plain", b"text/html")
    assert parse_email(raw).text == "Hola, somos 4."


def test_mislabelled_and_unknown_charsets_do_not_stop_the_mail() -> None:
    latin = mail("Quisiera reservar en Tandil, ¿qué precio?").replace(
        b"charset=utf-8", b"charset=unknown-8bit"
    )
    assert "reservar en Tandil" in parse_email(latin).text
    cp1252 = "Quisiera una habitación “doble” por 100 €".encode("cp1252")
    raw = mail("").replace(b"charset=utf-8", b"charset=iso-8859-1") + cp1252
    assert parse_email(raw).text == "Quisiera una habitación “doble” por 100 €"


def _with_attachment(
    data: bytes, mime: str = "application/pdf", name: str = "comprobante.pdf"
) -> bytes:
    msg = EmailMessage()
    msg["From"] = "ana@example.com"
    msg["To"] = "reservas@sierraserena.example"
    msg["Subject"] = "Comprobante"
    msg["Message-ID"] = "<p1@example.com>"
    msg.set_content("Te mando el comprobante de la seña.")
    maintype, subtype = mime.split("/")
    msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes()


def test_a_pdf_proof_is_kept_and_an_oversized_one_only_noted() -> None:
    pdf = b"%PDF-1.4 comprobante"
    got = parse_email(_with_attachment(pdf))
    assert got.attachments == [Attachment(filename="comprobante.pdf", mime_type="application/pdf",
                                          size=len(pdf), data=pdf)]  # fmt: skip
    big = parse_email(_with_attachment(b"x" * 2000), max_attachment_bytes=1000)
    assert big.attachments[0].data is None and big.attachments[0].size == 2000
    evil = parse_email(_with_attachment(pdf, name="../../etc/passwd"))
    assert evil.attachments[0].filename == "passwd"


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Auto_Submitted": "auto-replied"}, "auto_submitted"),
        ({"Precedence": "bulk"}, "bulk"),
        ({"List_Id": "<news.example.com>"}, "mailing_list"),
        ({"List_Unsubscribe": "<mailto:u@example.com>"}, "mailing_list"),
        ({"X_Autoreply": "yes"}, "auto_reply"),
        ({"From": "MAILER-DAEMON@mx.example.com"}, "bounce"),
        ({"From": "Hotel <reservas@sierraserena.example>"}, "own_mail"),
    ],
)
def test_robots_bounces_lists_and_our_own_mail_are_noise(
    headers: dict[str, str], reason: str
) -> None:
    assert parse_email(mail(**headers), own_addresses=HOTEL).noise == reason


def test_auto_submitted_no_is_a_person() -> None:
    assert parse_email(mail(Auto_Submitted="no"), own_addresses=HOTEL).noise is None


def test_a_delivery_report_is_a_bounce() -> None:
    raw = mail("x").replace(b"Content-Type: text/plain; charset=utf-8",
                            b'Content-Type: multipart/report; report-type=delivery-status; boundary="z"')  # fmt: skip
    assert parse_email(raw).noise == "bounce"


def test_the_reply_threads_marks_itself_automatic_and_carries_the_voucher() -> None:
    original = parse_email(GMAIL_REPLY)
    pdf = b"%PDF-1.4 voucher"
    reply = build_reply(original, from_name="Hotel Sierra Serena",
                        from_addr="reservas@sierraserena.example", text="¡Listo!\n\nTu reserva.",
                        attachments=[Attachment(filename="voucher.pdf", mime_type="application/pdf",
                                                size=len(pdf), data=pdf)])  # fmt: skip
    assert reply["Subject"] == "Re: Tu consulta"
    assert reply["In-Reply-To"] == "<r2@mail.gmail.com>"
    assert (
        reply["References"] == "<a1@example.com> <ours1@sierraserena.example> <r2@mail.gmail.com>"
    )
    assert reply["Auto-Submitted"] == "auto-replied" and reply["To"] == "ana@example.com"
    assert reply["Message-ID"].endswith("@sierraserena.example>")
    back = parse_email(reply.as_bytes(), own_addresses=HOTEL)
    assert back.noise in {"auto_submitted", "own_mail"}  # our own reply is never answered
    assert back.text.startswith("¡Listo!") and back.attachments[0].data == pdf
    kinds = [p.get_content_type() for p in reply.walk()]
    assert "text/plain" in kinds and "text/html" in kinds and "application/pdf" in kinds


def test_a_new_subject_gets_re_once() -> None:
    first = parse_email(mail(Subject="Re: Consulta"))
    reply = build_reply(first, from_name="H", from_addr="r@h.example", text="x")
    assert reply["Subject"] == "Re: Consulta"


@pytest.mark.parametrize("raw", [b"", b"   \r\n", b"Subject: hola\r\n\r\nsin remitente"])
def test_unreadable_mail_is_rejected_cleanly(raw: bytes) -> None:
    with pytest.raises(MailRejected):
        parse_email(raw)


@given(st.binary(max_size=4000))
def test_any_bytes_are_parsed_or_rejected_never_an_exception(raw: bytes) -> None:
    try:
        got = parse_email(raw)
    except MailRejected:
        return
    assert "@" in got.from_addr


_header_values = st.text(max_size=80).filter(lambda s: "\n" not in s and "\r" not in s)


@given(
    headers=st.dictionaries(
        st.sampled_from(["From", "To", "Subject", "Message-ID", "References", "In-Reply-To",
                         "Content-Type", "Content-Transfer-Encoding", "Auto-Submitted",
                         "Reply-To", "Cc", "Date"]),
        _header_values, max_size=10,
    ),
    body=st.binary(max_size=2000),
)  # fmt: skip
def test_mail_shaped_garbage_is_parsed_or_rejected(headers: dict[str, str], body: bytes) -> None:
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode("utf-8", "surrogateescape")
    try:
        got = parse_email(head + b"\r\n" + body)
    except MailRejected:
        return
    assert isinstance(got.text, str) and isinstance(got.attachments, list)


@given(st.text(max_size=500))
def test_strip_quoted_never_grows_and_never_returns_nothing_from_something(text: str) -> None:
    out = strip_quoted(text)
    assert (
        len(out) <= len(text.replace("\r\n", "\n").replace("\r", "\n").strip())
        or out == text.strip()
    )
    assert bool(out) == bool(text.strip())


def test_base64_bodies_are_decoded() -> None:
    body = base64.b64encode("Llegamos tarde, ¿hay recepción 24 h?".encode()).decode()
    raw = mail(body).replace(
        b"charset=utf-8\r\n", b"charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n"
    )
    assert parse_email(raw).text == "Llegamos tarde, ¿hay recepción 24 h?"
