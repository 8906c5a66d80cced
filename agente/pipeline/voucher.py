"""Booking vouchers: what the guest keeps after paying, as text (chat, e-mail) and as a PDF. Pure.

``voucher_text(v, language)`` and ``voucher_pdf(v, language)`` render the same content, built
once by ``_content`` so the two never disagree; ``language`` is es (Rioplatense, voseo), en or
pt (Brazilian); anything else, including a regional tag we do not know, falls back to es.

Why a hand-written PDF: a voucher is one page of Latin text, and PDF's 14 standard fonts
(Helvetica, Helvetica-Bold) with ``/WinAnsiEncoding`` already cover Spanish and Portuguese,
so we need no font files and no PDF library (a dependency, plus timestamps and random ids that
make output differ run to run). The contract of ``voucher_pdf``:

* PDF 1.4, A4, objects numbered in a fixed order, a correct ``xref`` table and trailer, and
  the same bytes for the same voucher (the file id is a hash of the body, not random).
* Text is drawn in cp1252 (WinAnsi). A character outside it becomes its unaccented form when
  it has one ("Nguyễn" → "Nguyen", better than "Nguy?n" on a guest's own name), else ``?``.
  Control characters and odd spaces become plain spaces, so nothing breaks a content stream.
* Lines are wrapped by the fonts' real advance widths (Adobe's AFM metrics, below), so notes
  never run off the page and amounts can be right-aligned. Notes longer than a page continue
  on a second page (a cancellation policy is never cut), with page numbers in the footer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from decimal import ROUND_HALF_UP, Context, Decimal

import attrs
import msgspec

__all__ = [
    "Voucher",
    "format_date",
    "format_money",
    "voucher_filename",
    "voucher_pdf",
    "voucher_text",
]


class Voucher(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a voucher shows, gathered by the shell (``issued_on`` too: no clock here).

    ``room_type`` arrives already in the guest's language. ``balance`` is what the PMS says is
    still owed; we do not recompute it from ``total - paid`` (taxes and fees live in the PMS).
    A stay that ends before it starts, a negative head count or a non-finite amount is a bug
    upstream, so construction (and decoding) rejects it instead of printing nonsense.
    """

    booking_ref: str
    client_reference: str
    hotel_name: str
    hotel_address: str | None
    hotel_phone: str | None
    hotel_email: str | None
    guest_name: str
    guest_email: str | None
    check_in: dt.date
    check_out: dt.date
    check_in_time: str
    check_out_time: str
    room_type: str
    adults: int
    children: int
    currency: str
    total: Decimal
    paid: Decimal
    balance: Decimal
    issued_on: dt.date
    notes: str | None = None

    def __post_init__(self) -> None:
        if self.check_out <= self.check_in:
            raise ValueError("check_out must be after check_in")
        if self.adults < 0 or self.children < 0:
            raise ValueError("adults and children cannot be negative")
        if not all(amount.is_finite() for amount in (self.total, self.paid, self.balance)):
            raise ValueError("total, paid and balance must be finite amounts")


class _Labels(msgspec.Struct, frozen=True, kw_only=True):
    lang_tag: str  # BCP 47, for the PDF's /Lang (screen readers pick a voice from it)
    heading: str
    issued: str
    booking_ref: str
    client_reference: str
    guest: str
    email: str
    check_in: str
    check_out: str
    from_time: str
    until_time: str
    nights: str
    room: str
    guests: str
    adult: tuple[str, str]
    child: tuple[str, str]
    total: str
    paid: str
    balance: str
    notes: str
    phone: str
    closing: str
    thousands: str
    decimals: str


_LABELS: dict[str, _Labels] = {
    "es": _Labels(
        lang_tag="es-AR",
        heading="Voucher / Comprobante de reserva",
        issued="Emitido el {date}",
        booking_ref="N.º de reserva",
        client_reference="Referencia",
        guest="Titular",
        email="E-mail",
        check_in="Check-in",
        check_out="Check-out",
        from_time="{date}, desde las {time}",
        until_time="{date}, hasta las {time}",
        nights="Noches",
        room="Habitación",
        guests="Huéspedes",
        adult=("adulto", "adultos"),
        child=("menor", "menores"),
        total="Total",
        paid="Pagado",
        balance="Saldo pendiente",
        notes="Observaciones",
        phone="Tel.",
        closing="Presentá este comprobante al hacer el check-in. ¡Te esperamos!",
        thousands=".",
        decimals=",",
    ),
    "en": _Labels(
        lang_tag="en",
        heading="Voucher / Booking confirmation",
        issued="Issued on {date}",
        booking_ref="Booking no.",
        client_reference="Reference",
        guest="Guest name",
        email="E-mail",
        check_in="Check-in",
        check_out="Check-out",
        from_time="{date}, from {time}",
        until_time="{date}, until {time}",
        nights="Nights",
        room="Room",
        guests="Guests",
        adult=("adult", "adults"),
        child=("child", "children"),
        total="Total",
        paid="Paid",
        balance="Balance due",
        notes="Notes",
        phone="Tel.",
        closing="Please show this voucher at check-in. We look forward to welcoming you!",
        thousands=",",
        decimals=".",
    ),
    "pt": _Labels(
        lang_tag="pt-BR",
        heading="Voucher / Comprovante de reserva",
        issued="Emitido em {date}",
        booking_ref="Nº da reserva",
        client_reference="Referência",
        guest="Titular",
        email="E-mail",
        check_in="Check-in",
        check_out="Check-out",
        from_time="{date}, a partir das {time}",
        until_time="{date}, até as {time}",
        nights="Noites",
        room="Quarto",
        guests="Hóspedes",
        adult=("adulto", "adultos"),
        child=("criança", "crianças"),
        total="Total",
        paid="Pago",
        balance="Saldo a pagar",
        notes="Observações",
        phone="Tel.",
        closing="Apresente este comprovante no check-in. Esperamos por você!",
        thousands=".",
        decimals=",",
    ),
}

_EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _labels(language: str) -> _Labels:
    """ "pt-BR", "en_US", " EN " find their table; anything unknown gets Spanish."""
    base = language.strip().lower().replace("_", "-").split("-")[0]
    return _LABELS.get(base, _LABELS["es"])


def format_date(day: dt.date, language: str) -> str:
    """es/pt "15/12/2026"; en "15 Dec 2026" (day first: unambiguous for US and UK readers)."""
    if _labels(language) is _LABELS["en"]:
        return f"{day.day} {_EN_MONTHS[day.month - 1]} {day.year}"
    return f"{day.day:02d}/{day.month:02d}/{day.year:04d}"


def format_money(amount: Decimal, currency: str, language: str) -> str:
    """ "ARS 123.456,50" (es, pt) or "ARS 123,456.50" (en); whole amounts carry no decimals.

    Rounds half up to cents, with enough precision for any size (the default decimal context
    would round a 30-digit amount). Raises ``ValueError`` for NaN or infinity.
    """
    if not amount.is_finite():
        raise ValueError(f"not a finite amount: {amount}")
    labels = _labels(language)
    precision = max(28, amount.adjusted() + 4)
    cents = amount.quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP, context=Context(prec=precision)
    )
    whole, fraction = f"{cents.copy_abs():f}".split(".")
    number = f"{int(whole):,}".replace(",", labels.thousands)
    if fraction != "00":
        number += labels.decimals + fraction
    sign = "-" if cents < 0 else ""
    code = _one_line(currency)
    return f"{code} {sign}{number}" if code else f"{sign}{number}"


def voucher_filename(v: Voucher) -> str:
    """``voucher-<ref>.pdf`` with only ASCII letters, digits, ``-`` and ``_``: safe as an
    attachment name on every channel and file system ("AR/12 ñ" → "voucher-AR-12-n.pdf")."""
    ascii_ref = unicodedata.normalize("NFKD", v.booking_ref).encode("ascii", "ignore").decode()
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", ascii_ref).strip("-_")[:64].strip("-_")
    return f"voucher-{safe}.pdf" if safe else "voucher.pdf"


# ---------------------------------------------------------------- content shared by both forms


class _Row(msgspec.Struct, frozen=True):
    label: str
    value: str
    strong: bool = False


class _Content(msgspec.Struct, frozen=True, kw_only=True):
    lang_tag: str
    title: str
    contact: str
    heading: str
    issued: str
    rows: tuple[_Row, ...]
    totals: tuple[_Row, ...]
    notes_label: str
    notes: tuple[str, ...]
    closing: str
    footer: str


def _one_line(text: str) -> str:
    """NFC, control characters and exotic spaces as one plain space, invisible format
    characters dropped: a name pasted from anywhere cannot break a line or a PDF string."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", text):
        category = unicodedata.category(ch)
        if category in ("Cc", "Zs", "Zl", "Zp"):
            out.append(" ")
        elif category != "Cf":
            out.append(ch)
    return " ".join("".join(out).split())


def _paragraphs(text: str | None) -> tuple[str, ...]:
    """Notes keep their line breaks (a policy is often a list); runs of blank lines become one."""
    paragraphs: list[str] = []
    for line in (text or "").splitlines():
        cleaned = _one_line(line)
        if cleaned or (paragraphs and paragraphs[-1]):
            paragraphs.append(cleaned)
    while paragraphs and not paragraphs[-1]:
        paragraphs.pop()
    return tuple(paragraphs)


def _count(n: int, forms: tuple[str, str]) -> str:
    return f"{n} {forms[0] if n == 1 else forms[1]}"


def _at(template: str, day: str, time: str) -> str:
    return template.format(date=day, time=time) if time else day


def _content(v: Voucher, language: str) -> _Content:
    lab = _labels(language)
    guests = _count(v.adults, lab.adult)
    if v.children:
        guests += ", " + _count(v.children, lab.child)
    rows = [
        _Row(lab.booking_ref, _one_line(v.booking_ref), True),
        _Row(lab.client_reference, _one_line(v.client_reference)),
        _Row(lab.guest, _one_line(v.guest_name)),
    ]
    if v.guest_email:
        rows.append(_Row(lab.email, _one_line(v.guest_email)))
    check_in = format_date(v.check_in, language)
    check_out = format_date(v.check_out, language)
    rows += [
        _Row(lab.check_in, _at(lab.from_time, check_in, _one_line(v.check_in_time))),
        _Row(lab.check_out, _at(lab.until_time, check_out, _one_line(v.check_out_time))),
        _Row(lab.nights, str((v.check_out - v.check_in).days)),
        _Row(lab.room, _one_line(v.room_type)),
        _Row(lab.guests, guests),
    ]
    totals = (
        _Row(lab.total, format_money(v.total, v.currency, language)),
        _Row(lab.paid, format_money(v.paid, v.currency, language)),
        _Row(lab.balance, format_money(v.balance, v.currency, language), True),
    )
    contact = [_one_line(v.hotel_address or "")]
    contact.append(f"{lab.phone} {_one_line(v.hotel_phone)}" if v.hotel_phone else "")
    contact.append(_one_line(v.hotel_email or ""))
    return _Content(
        lang_tag=lab.lang_tag,
        title=_one_line(v.hotel_name),
        contact=" · ".join(part for part in contact if part.strip()),
        heading=lab.heading,
        issued=lab.issued.format(date=format_date(v.issued_on, language)),
        rows=tuple(rows),
        totals=totals,
        notes_label=lab.notes,
        notes=_paragraphs(v.notes),
        closing=lab.closing,
        footer=f"{_one_line(v.hotel_name)} · {lab.booking_ref} {_one_line(v.booking_ref)}",
    )


def voucher_text(v: Voucher, language: str) -> str:
    """The voucher as plain text for a chat message or an e-mail body."""
    c = _content(v, language)
    lines = [c.title, *([c.contact] if c.contact else []), "", c.heading, c.issued, ""]
    lines += [f"{row.label}: {row.value}" for row in c.rows]
    lines.append("")
    lines += [f"{row.label}: {row.value}" for row in c.totals]
    if c.notes:
        lines += ["", f"{c.notes_label}:", *c.notes]
    lines += ["", c.closing]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------- the PDF

# Advance widths (1/1000 em) of WinAnsi bytes 0x20..0xFF, 16 per row, from Adobe's AFM files
# for Helvetica and Helvetica-Bold (checked against the copies groff ships). Undefined bytes
# (0x81, 0x8D, 0x8F, 0x90, 0x9D) are never emitted: Python's cp1252 codec cannot produce them.
_HELVETICA = """
278 278 355 556 556 889 667 191 333 333 389 584 278 333 278 278
556 556 556 556 556 556 556 556 556 556 278 278 584 584 584 556
1015 667 667 722 722 667 611 778 722 278 500 667 556 833 722 778
667 778 722 667 611 722 667 944 667 667 611 278 278 278 469 556
333 556 556 500 556 556 278 556 556 222 222 500 222 833 556 556
556 556 333 500 278 556 500 722 500 500 500 334 260 334 584 350
556 350 222 556 333 1000 556 556 333 1000 667 333 1000 350 611 350
350 222 222 333 333 350 556 1000 333 1000 500 333 944 350 500 667
278 333 556 556 556 556 260 556 333 737 370 556 584 333 737 333
400 584 333 333 333 556 537 278 333 333 365 556 834 834 834 611
667 667 667 667 667 667 1000 722 667 667 667 667 278 278 278 278
722 722 778 778 778 778 778 584 778 722 722 722 722 667 667 611
556 556 556 556 556 556 889 500 556 556 556 556 278 278 278 278
556 556 556 556 556 556 556 584 611 556 556 556 556 500 556 500
"""
_HELVETICA_BOLD = """
278 333 474 556 556 889 722 238 333 333 389 584 278 333 278 278
556 556 556 556 556 556 556 556 556 556 333 333 584 584 584 611
975 722 722 722 722 667 611 778 722 278 556 722 611 833 722 778
667 778 722 667 611 722 667 944 667 667 611 333 278 333 584 556
333 556 611 556 611 556 333 611 611 278 278 556 278 889 611 611
611 611 389 556 333 611 556 778 556 556 500 389 280 389 584 350
556 350 278 556 500 1000 556 556 333 1000 667 333 1000 350 611 350
350 278 278 500 500 350 556 1000 333 1000 556 333 944 350 500 667
278 333 556 556 556 556 280 556 333 737 370 556 584 333 737 333
400 584 333 333 333 611 556 278 333 333 365 556 834 834 834 611
722 722 722 722 722 722 1000 722 667 667 667 667 278 278 278 278
722 722 778 778 778 778 778 584 778 722 722 722 722 667 667 611
556 556 556 556 556 556 889 556 556 556 556 556 278 278 278 278
611 611 611 611 611 611 611 584 611 611 611 611 611 556 611 556
"""
_REGULAR, _BOLD = b"F1", b"F2"
_WIDTHS = {
    _REGULAR: (0,) * 32 + tuple(int(w) for w in _HELVETICA.split()),
    _BOLD: (0,) * 32 + tuple(int(w) for w in _HELVETICA_BOLD.split()),
}

_PAGE_W, _PAGE_H = 595.28, 841.89  # A4 in points
_LEFT = 56.0
_RIGHT = _PAGE_W - 56.0
_WIDTH = _RIGHT - _LEFT
_TOP = _PAGE_H - 56.0
_BOTTOM = 72.0  # content stops here; the footer sits below
_LABEL_W = 135.0
_ACCENT = b"0.11 0.25 0.42"
_INK, _MUTED = b"0.13 g", b"0.42 g"


def _cp1252(text: str) -> bytes:
    """WinAnsi bytes: unaccented fallback for letters cp1252 lacks, ``?`` for the rest."""
    out = bytearray()
    for ch in text:
        try:
            out += ch.encode("cp1252")
        except UnicodeEncodeError:
            base = "".join(
                c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c)
            )
            out += base.encode("cp1252", "replace") if base else b"?"
    return bytes(out)


def _measure(data: bytes, font: bytes, size: float) -> float:
    table = _WIDTHS[font]
    return sum(table[b] for b in data) * size / 1000


def _wrap(data: bytes, font: bytes, size: float, width: float) -> list[bytes]:
    """Greedy word wrap by advance width; a word wider than the line is cut where it fills it."""
    lines: list[bytes] = []
    line = b""
    for word in data.split(b" "):
        if not word:
            continue
        candidate = line + b" " + word if line else word
        if _measure(candidate, font, size) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        while len(word) > 1 and _measure(word, font, size) > width:
            cut, used = 1, _WIDTHS[font][word[0]] * size / 1000
            while cut < len(word) and used + _WIDTHS[font][word[cut]] * size / 1000 <= width:
                used += _WIDTHS[font][word[cut]] * size / 1000
                cut += 1
            lines.append(word[:cut])
            word = word[cut:]
        line = word
    if line:
        lines.append(line)
    return lines


def _num(x: float) -> bytes:
    """A PDF number with at most two decimals and no exponent, "-0" never written."""
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return b"0" if text in ("-0", "") else text.encode()


def _literal(data: bytes) -> bytes:
    """A PDF literal string; the bytes stay raw cp1252, only the delimiters are escaped."""
    escaped = data.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
    return b"(" + escaped.replace(b"\r", b"\\r").replace(b"\n", b"\\n") + b")"


def _text(x: float, y: float, font: bytes, size: float, data: bytes, color: bytes) -> bytes:
    return b"BT /%s %s Tf %s 1 0 0 1 %s %s Tm %s Tj ET" % (
        font,
        _num(size),
        color,
        _num(x),
        _num(y),
        _literal(data),
    )


def _rule(y: float, *, gray: bytes = b"0.8 G", width: float = 0.5) -> bytes:
    return b"q %s %s w %s %s m %s %s l S Q" % (
        gray,
        _num(width),
        _num(_LEFT),
        _num(y),
        _num(_RIGHT),
        _num(y),
    )


@attrs.define
class _Canvas:
    """A cursor going down the page: starts a new page when a block does not fit."""

    pages: list[list[bytes]] = attrs.Factory(lambda: [[]])
    y: float = _TOP

    def need(self, height: float) -> None:
        if self.y - height < _BOTTOM and self.y < _TOP:
            self.pages.append([])
            self.y = _TOP

    def draw(self, op: bytes) -> None:
        self.pages[-1].append(op)

    def lines(
        self,
        lines: list[bytes],
        *,
        font: bytes,
        size: float,
        leading: float,
        color: bytes,
        x: float = _LEFT,
        right: bool = False,
    ) -> None:
        for line in lines:
            self.need(leading)
            self.y -= leading
            left = x - _measure(line, font, size) if right else x
            self.draw(_text(left, self.y, font, size, line, color))


def _draw_header(canvas: _Canvas, c: _Content) -> None:
    title = _wrap(_cp1252(c.title), _BOLD, 20, _WIDTH)
    canvas.lines(title, font=_BOLD, size=20, leading=24, color=_ACCENT + b" rg")
    if c.contact:
        canvas.y -= 3
        contact = _wrap(_cp1252(c.contact), _REGULAR, 9, _WIDTH)
        canvas.lines(contact, font=_REGULAR, size=9, leading=12, color=_MUTED)
    canvas.y -= 12
    canvas.draw(_rule(canvas.y, gray=_ACCENT + b" RG", width=1.2))
    canvas.y -= 12
    heading, issued = _cp1252(c.heading), _cp1252(c.issued)
    canvas.lines([heading], font=_BOLD, size=14, leading=18, color=_INK)
    if _measure(heading, _BOLD, 14) + _measure(issued, _REGULAR, 9) + 24 <= _WIDTH:
        left = _RIGHT - _measure(issued, _REGULAR, 9)
        canvas.draw(_text(left, canvas.y, _REGULAR, 9, issued, _MUTED))
    else:
        canvas.lines([issued], font=_REGULAR, size=9, leading=13, color=_MUTED)


def _draw_rows(canvas: _Canvas, rows: tuple[_Row, ...]) -> None:
    canvas.y -= 14
    canvas.draw(_rule(canvas.y))
    for row in rows:
        font = _BOLD if row.strong else _REGULAR
        labels = _wrap(_cp1252(row.label), _REGULAR, 9.5, _LABEL_W - 12)
        values = _wrap(_cp1252(row.value), font, 10.5, _WIDTH - _LABEL_W) or [b""]
        count = max(len(labels), len(values))
        canvas.need(count * 14 + 7)
        for i in range(count):
            canvas.need(14)
            canvas.y -= 14
            if i < len(labels):
                canvas.draw(_text(_LEFT, canvas.y, _REGULAR, 9.5, labels[i], _MUTED))
            if i < len(values):
                canvas.draw(_text(_LEFT + _LABEL_W, canvas.y, font, 10.5, values[i], _INK))
        canvas.y -= 7
        canvas.draw(_rule(canvas.y))


def _draw_totals(canvas: _Canvas, totals: tuple[_Row, ...]) -> None:
    """A shaded box: labels on the left, amounts right-aligned so the digits line up."""
    pad, leading, label_w = 12.0, 18.0, 200.0
    laid: list[tuple[list[bytes], list[bytes], bytes, float]] = []
    for row in totals:
        font, size = (_BOLD, 11.5) if row.strong else (_REGULAR, 10.5)
        label = _wrap(_cp1252(row.label), font, size, label_w)
        amount = _wrap(_cp1252(row.value), font, size, _WIDTH - 2 * pad - label_w - 12)
        laid.append((label, amount, font, size))
    lines = sum(max(len(label), len(amount), 1) for label, amount, _, _ in laid)
    height = lines * leading + 2 * pad - 6 + 6 * sum(row.strong for row in totals)
    canvas.y -= 16
    canvas.need(height)
    top = canvas.y
    box = (_num(_LEFT), _num(top - height), _num(_WIDTH), _num(height))
    canvas.draw(b"q 0.95 g %s %s %s %s re f Q" % box)
    canvas.y -= pad - 8
    for label, amount, font, size in laid:
        if font == _BOLD:  # the amount still owed, set apart from the ones above
            rule_y = _num(canvas.y - 8)
            canvas.draw(
                b"q 0.75 G 0.5 w %s %s m %s %s l S Q"
                % (_num(_LEFT + pad), rule_y, _num(_RIGHT - pad), rule_y)
            )
            canvas.y -= 6
        start = canvas.y
        canvas.lines(label, font=font, size=size, leading=leading, color=_INK, x=_LEFT + pad)
        end, canvas.y = canvas.y, start
        canvas.lines(
            amount, font=font, size=size, leading=leading, color=_INK, x=_RIGHT - pad, right=True
        )
        canvas.y = min(end, canvas.y)
    canvas.y = min(canvas.y, top - height)


def _draw_notes(canvas: _Canvas, c: _Content) -> None:
    if not c.notes:
        return
    canvas.y -= 24
    canvas.need(14 + 13 * 2)  # never a heading alone at the foot of a page
    canvas.lines([_cp1252(c.notes_label)], font=_BOLD, size=11, leading=14, color=_INK)
    canvas.y -= 3
    for paragraph in c.notes:
        if not paragraph:
            canvas.y -= 6
            continue
        lines = _wrap(_cp1252(paragraph), _REGULAR, 9.5, _WIDTH)
        canvas.lines(lines, font=_REGULAR, size=9.5, leading=13, color=_INK)


def _draw_footers(pages: list[list[bytes]], footer: str) -> None:
    count = len(pages)
    for number, ops in enumerate(pages, start=1):
        pages_text = b"%d/%d" % (number, count) if count > 1 else b""
        room = _WIDTH - _measure(pages_text, _REGULAR, 8) - 16
        left = (_wrap(_cp1252(footer), _REGULAR, 8, room) or [b""])[0]
        ops.append(_rule(50.0, gray=b"0.85 G"))
        ops.append(_text(_LEFT, 38.0, _REGULAR, 8, left, _MUTED))
        if pages_text:
            x = _RIGHT - _measure(pages_text, _REGULAR, 8)
            ops.append(_text(x, 38.0, _REGULAR, 8, pages_text, _MUTED))


def _assemble(streams: list[bytes], *, title: str, lang_tag: str) -> bytes:
    """Objects in a fixed order: 1 catalog, 2 page tree, 3-4 fonts, 5 info, then a page and
    its content stream per page. Offsets are counted as the bytes are written."""
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /%s /Encoding /WinAnsiEncoding >>"
    title_hex = (b"\xfe\xff" + title.encode("utf-16-be", "replace")).hex().upper().encode()
    kids = b" ".join(b"%d 0 R" % (6 + 2 * i) for i in range(len(streams)))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /Lang (%s) >>" % lang_tag.encode(),
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(streams)),
        font % b"Helvetica",
        font % b"Helvetica-Bold",
        b"<< /Title <%s> /Producer (Agente) >>" % title_hex,
    ]
    for i, stream in enumerate(streams):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %s %s] "
            b"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents %d 0 R >>"
            % (_num(_PAGE_W), _num(_PAGE_H), 7 + 2 * i)
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")  # binary marker: keep transfers 8-bit
    offsets: list[int] = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    file_id = hashlib.md5(bytes(out), usedforsecurity=False).hexdigest().encode()
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 5 0 R /ID [<%s> <%s>] >>\n" % (
        len(objects) + 1,
        file_id,
        file_id,
    )
    out += b"startxref\n%d\n%%%%EOF" % xref
    return bytes(out)


def voucher_pdf(v: Voucher, language: str) -> bytes:
    """The voucher as a PDF 1.4 on A4 (usually one page); same voucher, same bytes."""
    c = _content(v, language)
    canvas = _Canvas()
    _draw_header(canvas, c)
    _draw_rows(canvas, c.rows)
    _draw_totals(canvas, c.totals)
    _draw_notes(canvas, c)
    canvas.y -= 24
    closing = _wrap(_cp1252(c.closing), _REGULAR, 10.5, _WIDTH)
    canvas.lines(closing, font=_REGULAR, size=10.5, leading=14, color=_ACCENT + b" rg")
    _draw_footers(canvas.pages, c.footer)
    title = f"{c.heading} {c.rows[0].value} - {c.title}"
    return _assemble([b"\n".join(ops) for ops in canvas.pages], title=title, lang_tag=c.lang_tag)
