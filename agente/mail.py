"""The e-mail core shared by the IMAP/SMTP and Gmail channels: pure functions, no I/O.

- ``parse_email(raw)`` turns RFC 5322 bytes into an ``InboundEmail``. It prefers text/plain,
  converts HTML to text, copes with wrong or unknown charsets, keeps attachments up to a size
  limit, strips quoted replies and signatures so the agent reads only what the guest wrote
  now, and says whether the mail is a robot's (``noise``): auto-replies, bounces, lists, our own
  mail. It never raises anything but ``MailRejected``.
- ``build_reply(...)`` writes the answer: the hotel's From, ``Re:`` subject, ``In-Reply-To``
  and ``References`` on the original's Message-ID, our own Message-ID, ``Auto-Submitted:
  auto-replied`` (RFC 3834), plain text and HTML alternatives, and attachments (the voucher PDF).

Follows shared/docs/channels/gmail.md §1 (the canonical record, parsing, quotes, noise, reply).
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import html
import re
from email.message import EmailMessage, Message
from html.parser import HTMLParser

import msgspec

__all__ = [
    "Attachment",
    "InboundEmail",
    "MailRejected",
    "build_reply",
    "html_to_text",
    "noise_reason",
    "parse_email",
    "strip_quoted",
]

#: the largest raw message we parse at all, and the largest attachment we keep
MAX_RAW_BYTES = 40 * 1024 * 1024
DEFAULT_MAX_ATTACHMENT_BYTES = 16 * 1024 * 1024


class MailRejected(ValueError):
    """The bytes are not an e-mail we can read (empty, too large, no sender)."""


class Attachment(msgspec.Struct, frozen=True, kw_only=True):
    filename: str
    mime_type: str
    size: int
    #: None when the attachment was over the size limit (kept as a note, not as bytes)
    data: bytes | None = None


class InboundEmail(msgspec.Struct, frozen=True, kw_only=True):
    """One received e-mail, canonical for both adapters."""

    message_id: str | None
    in_reply_to: str | None
    references: list[str]
    thread_key: str
    from_addr: str
    from_name: str | None
    reply_to: str | None
    to: list[str]
    cc: list[str]
    subject: str
    date: str | None
    #: what the guest wrote now (quotes and signature removed); full_text if nothing was left
    text: str
    full_text: str
    attachments: list[Attachment]
    #: why no one should answer this mail (auto-reply, bounce, list, our own), or None
    noise: str | None = None


# ---------------------------------------------------------------------------------- parsing

_POLICY = email.policy.default.clone(raise_on_defect=False)


def parse_email(
    raw: bytes,
    *,
    own_addresses: frozenset[str] = frozenset(),
    max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
) -> InboundEmail:
    """Parse a received mail. Raises only ``MailRejected``, whatever the bytes."""
    if not raw or not raw.strip():
        raise MailRejected("empty message")
    if len(raw) > MAX_RAW_BYTES:
        raise MailRejected(f"message larger than {MAX_RAW_BYTES} bytes")
    try:
        return _parse(raw, own_addresses, max_attachment_bytes)
    except MailRejected:
        raise
    except Exception as exc:  # the stdlib parser's corners: a malformed mail is rejected
        raise MailRejected(f"unreadable message ({type(exc).__name__})") from exc


def _fix(text: str) -> str:
    """Raw 8-bit header bytes come back as surrogate escapes: read them as UTF-8, as mail
    programs that do not encode their headers mean them."""
    if any("\udc80" <= ch <= "\udcff" for ch in text):
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return text


def _header(msg: Message, name: str) -> str | None:
    try:
        value = msg.get(name)
    except Exception:
        return None
    if value is None:
        return None
    text = " ".join(_fix(str(value)).split())
    return text or None


def _addresses(msg: Message, name: str) -> list[tuple[str | None, str]]:
    try:
        header = msg.get(name)
        addresses = getattr(header, "addresses", None)
    except Exception:
        addresses = None
    out: list[tuple[str | None, str]] = []
    if addresses:
        for a in addresses:
            if a.addr_spec and "@" in a.addr_spec:
                out.append((_fix(a.display_name) or None, _fix(a.addr_spec).lower()))
        return out
    raw = _header(msg, name)
    if raw:
        for display, addr in email.utils.getaddresses([raw]):
            if "@" in addr:
                out.append((_fix(display) or None, _fix(addr).lower()))
    return out


_MSGID = re.compile(r"<[^<>\s]+>")


def _ids(value: str | None) -> list[str]:
    return _MSGID.findall(value or "")


_LATIN1 = {"iso-8859-1", "latin-1", "latin1", "iso8859-1", "l1", "us-ascii", "ascii"}


def _text_of(part: Message) -> str:
    charset = (part.get_content_charset() or "").lower()
    if charset in _LATIN1:
        # declared Latin-1 or ASCII is usually Windows-1252 (curly quotes, €): read it so
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            return payload.decode("cp1252", errors="replace")
    try:
        content = part.get_content()  # type: ignore[attr-defined]
        if isinstance(content, str):
            return content
    except (LookupError, UnicodeError, AttributeError, ValueError, TypeError):
        pass
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("utf-8", errors="replace")


def _parse(raw: bytes, own: frozenset[str], max_attachment: int) -> InboundEmail:
    msg = email.message_from_bytes(raw, policy=_POLICY)
    senders = _addresses(msg, "From")
    if not senders:
        raise MailRejected("no sender address")
    from_name, from_addr = senders[0]
    reply_to = [a for _, a in _addresses(msg, "Reply-To")]
    message_id = next(iter(_ids(_header(msg, "Message-ID"))), None)
    in_reply_to = next(iter(_ids(_header(msg, "In-Reply-To"))), None)
    references = _ids(_header(msg, "References"))
    thread_key = references[0] if references else (in_reply_to or message_id or from_addr)

    plain, html_text = _bodies(msg)
    if plain.strip():
        full = plain
        new = strip_quoted(plain)
    elif html_text:
        full = html_to_text(html_text, drop_quotes=False)
        new = strip_quoted(html_to_text(html_text, drop_quotes=True))
    else:
        full = new = ""
    full = _tidy(full)
    new = _tidy(new) or full

    attachments = _attachments(msg, max_attachment)
    return InboundEmail(
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
        thread_key=thread_key,
        from_addr=from_addr,
        from_name=from_name,
        reply_to=reply_to[0] if reply_to else None,
        to=[a for _, a in _addresses(msg, "To")],
        cc=[a for _, a in _addresses(msg, "Cc")],
        subject=_header(msg, "Subject") or "",
        date=_header(msg, "Date"),
        text=new,
        full_text=full,
        attachments=attachments,
        noise=noise_reason(msg, from_addr, own),
    )


def _bodies(msg: Message) -> tuple[str, str]:
    """The first text/plain and text/html that are not attachments."""
    plain = html_text = ""
    for part in msg.walk():
        if part.is_multipart():
            continue
        disposition = (part.get_content_disposition() or "").lower()
        if disposition == "attachment":
            continue
        kind = part.get_content_type()
        if kind == "text/plain" and not plain:
            plain = _text_of(part)
        elif kind == "text/html" and not html_text:
            html_text = _text_of(part)
    return plain, html_text


def _attachments(msg: Message, limit: int) -> list[Attachment]:
    out: list[Attachment] = []
    for part in msg.walk():
        if part.is_multipart() and part.get_content_type() != "message/rfc822":
            continue
        disposition = (part.get_content_disposition() or "").lower()
        kind = part.get_content_type()
        inline_file = disposition == "inline" and kind not in ("text/plain", "text/html")
        if disposition != "attachment" and not inline_file and kind != "message/rfc822":
            continue
        if kind == "message/rfc822":
            inner = part.get_payload()
            data = (
                inner[0].as_bytes()
                if isinstance(inner, list) and inner and isinstance(inner[0], Message)
                else b""
            )
        else:
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
        try:
            filename = part.get_filename() or ""
        except Exception:
            filename = ""
        filename = _safe_filename(filename) or (
            "forwarded.eml" if kind == "message/rfc822" else "file"
        )
        out.append(
            Attachment(
                filename=filename,
                mime_type=kind,
                size=len(data),
                data=data if len(data) <= limit else None,
            )
        )
    return out


def _safe_filename(name: str) -> str:
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip(" .")
    return name[:120]


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    out = "\n".join(lines).strip()
    return re.sub(r"\n{3,}", "\n\n", out)


# -------------------------------------------------------------------------- quotes, signatures

_REPLY_HEADERS = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"^\s*On\b.{0,200}\bwrote:\s*$",
        r"^\s*El\b.{0,200}\bescribi[oó]:\s*$",
        r"^\s*Em\b.{0,200}\bescreveu:\s*$",
        r"^\s*Le\b.{0,200}\ba écrit\s*:\s*$",
        r"^\s*Am\b.{0,200}\bschrieb\b.{0,100}:\s*$",
        r"^\s*Il\b.{0,200}\bha scritto:\s*$",
        r"^\s*-{2,}\s*(Original Message|Mensaje original|Mensagem original)\s*-{2,}\s*$",
        r"^\s*_{10,}\s*$",  # Outlook's rule before the quoted headers
        r"^\s*(From|De|Von):\s.+$",
    )
]
_SIGNATURES = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"^-- ?$",
        r"^\s*(Sent from my|Enviado desde mi|Enviado do meu|Enviado de mi|Get Outlook for)\b.*$",
    )
]


def strip_quoted(text: str) -> str:
    """What the sender wrote now: cut at the first reply header or quoted line, and at a
    signature. Returns the input when stripping would leave nothing."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for i, line in enumerate(lines):
        if line.lstrip().startswith(">"):
            break
        # a reply header may wrap over two lines ("On Mon, … <a@b>\nwrote:")
        joined = line if i + 1 >= len(lines) else f"{line} {lines[i + 1].strip()}"
        if any(p.match(line) for p in _REPLY_HEADERS) or (
            line.strip() and any(p.match(joined) for p in _REPLY_HEADERS[:6])
        ):
            break
        if any(p.match(line) for p in _SIGNATURES):
            break
        kept.append(line)
    result = "\n".join(kept).strip()
    return result or text.strip()


# ------------------------------------------------------------------------------- HTML to text

_DROP = {"style", "script", "head", "title"}
_BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol"}


class _Text(HTMLParser):
    def __init__(self, drop_quotes: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.drop_quotes = drop_quotes
        self.parts: list[str] = []
        self.skip = 0  # depth inside a dropped element
        self.stack: list[bool] = []  # per open element: does it start a dropped region
        self.stopped = False

    def _quote(self, tag: str, attrs: dict[str, str | None]) -> bool:
        if not self.drop_quotes:
            return False
        classes = (attrs.get("class") or "").split()
        return (
            tag == "blockquote"
            or "gmail_quote" in classes
            or attrs.get("id") in ("divRplyFwdMsg", "appendonsend")
        )

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        if self.stopped:
            return
        attrs = dict(attrs_list)
        if self.drop_quotes and attrs.get("id") in ("divRplyFwdMsg", "appendonsend"):
            self.stopped = True  # Outlook: everything after this is the quoted mail
            return
        if tag in ("br", "img", "hr", "meta", "link", "input"):
            if tag == "br":
                self.parts.append("\n")
            return
        dropped = tag in _DROP or self._quote(tag, attrs)
        self.stack.append(dropped)
        if dropped:
            self.skip += 1
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self.stopped or tag in ("br", "img", "hr", "meta", "link", "input"):
            return
        if self.stack:
            dropped = self.stack.pop()
            if dropped:
                self.skip -= 1
        if tag in _BLOCK and not self.skip:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.stopped and not self.skip:
            self.parts.append(data)


def html_to_text(markup: str, *, drop_quotes: bool = True) -> str:
    """Readable text of an HTML mail: styles, scripts and (by default) quoted blocks dropped."""
    parser = _Text(drop_quotes)
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # HTMLParser is lenient; this is for the truly broken
        return html.unescape(re.sub(r"<[^>]*>", " ", markup))
    text = "".join(parser.parts)
    text = re.sub(r"[ \t\u00a0]+", " ", text)
    return _tidy("\n".join(line.strip() for line in text.split("\n")))


# ------------------------------------------------------------------------------------- noise

_BULK = {"bulk", "junk", "list"}
_DAEMONS = ("mailer-daemon", "postmaster")


def noise_reason(msg: Message, from_addr: str, own: frozenset[str]) -> str | None:
    """Why this mail must not be answered, or None (gmail.md §1.4, RFC 3834)."""
    auto = (_header(msg, "Auto-Submitted") or "").lower()
    if auto and auto != "no":
        return "auto_submitted"
    if (_header(msg, "Precedence") or "").lower() in _BULK:
        return "bulk"
    if _header(msg, "List-Id") or _header(msg, "List-Unsubscribe"):
        return "mailing_list"
    if _header(msg, "X-Autoreply") or _header(msg, "X-Autorespond"):
        return "auto_reply"
    local = from_addr.split("@", 1)[0]
    if local in _DAEMONS or msg.get_content_type() == "multipart/report":
        return "bounce"
    if from_addr in own:
        return "own_mail"
    return None


# ------------------------------------------------------------------------------------- replies


def build_reply(
    original: InboundEmail,
    *,
    from_name: str,
    from_addr: str,
    text: str,
    html_body: str | None = None,
    attachments: list[Attachment] | None = None,
    message_id_domain: str | None = None,
    date: str | None = None,
) -> EmailMessage:
    """The answer to ``original``, threaded, marked as an automatic reply (RFC 3834)."""
    reply = EmailMessage(policy=email.policy.SMTP)
    reply["From"] = email.utils.formataddr((from_name, from_addr))
    reply["To"] = original.reply_to or original.from_addr
    subject = original.subject.strip()
    reply["Subject"] = subject if subject.lower().startswith("re:") else f"Re: {subject}".strip()
    if original.message_id:
        reply["In-Reply-To"] = original.message_id
        reply["References"] = " ".join([*original.references[-20:], original.message_id])
    domain = message_id_domain or from_addr.rsplit("@", 1)[-1]
    reply["Message-ID"] = email.utils.make_msgid(domain=domain)
    reply["Date"] = date or email.utils.formatdate(localtime=False, usegmt=True)
    reply["Auto-Submitted"] = "auto-replied"
    reply["X-Auto-Response-Suppress"] = "All"
    reply.set_content(text)
    reply.add_alternative(html_body or _html_of(text), subtype="html")
    for item in attachments or []:
        if item.data is None:
            continue
        maintype, _, subtype = item.mime_type.partition("/")
        reply.add_attachment(
            item.data, maintype=maintype, subtype=subtype or "octet-stream", filename=item.filename
        )
    return reply


def _html_of(text: str) -> str:
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p]
    body = "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return f'<!doctype html><html><body style="font-family:sans-serif">{body}</body></html>'
