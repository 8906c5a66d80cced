"""An IMAP mailbox read the way shared/docs/channels/gmail.md §3.2 says.

``ImapMailbox.fetch_new()`` connects, selects the folder and reads ``UIDVALIDITY``. With the
stored ``(uidvalidity, last_uid)`` (``PluginState``, so it survives restarts and is shared by
every process) it fetches only mail above ``last_uid``, with ``BODY.PEEK[]`` so staff still see
it unread. When ``UIDVALIDITY`` changed, the stored UIDs mean nothing: it re-scans a bounded
window (``SINCE`` N days) and relies on the inbox's deduplication by Message-ID. It returns the
batch and the state to commit; the caller stores the mail first, then commits, so a crash in
between repeats mail (deduplicated) and never skips it.

SMTP submission (``send``) follows §3.3: STARTTLS or implicit TLS, authentication.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from agente.mail import InboundEmail, MailRejected, parse_email

if TYPE_CHECKING:
    from agente.ports import PluginState

__all__ = ["FetchedMail", "ImapMailbox", "ImapSettings", "MailboxState", "SmtpSettings", "send"]

_NS = "email.imap"


class ImapSettings(msgspec.Struct, frozen=True, kw_only=True):
    host: str
    port: int = 993
    security: Literal["ssl", "starttls", "none"] = "ssl"
    username: str
    password: str
    folder: str = "INBOX"
    #: how far back to look when the mailbox's UIDVALIDITY changed (days)
    rescan_days: int = 7
    timeout: float = 30.0


class SmtpSettings(msgspec.Struct, frozen=True, kw_only=True):
    host: str
    port: int = 587
    security: Literal["ssl", "starttls", "none"] = "starttls"
    username: str
    password: str
    timeout: float = 30.0


class MailboxState(msgspec.Struct, frozen=True, kw_only=True):
    uidvalidity: int
    last_uid: int


class FetchedMail(msgspec.Struct, frozen=True, kw_only=True):
    #: ``mailbox:uidvalidity:uid``, the provider id the inbox deduplicates on
    provider_id: str
    uid: int
    raw: bytes
    #: None when the bytes could not be read as mail (kept for staff, never answered)
    mail: InboundEmail | None
    error: str | None = None


class ImapError(Exception):
    """The server refused or failed a command."""


_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
_FETCH_UID = re.compile(rb"UID (\d+)")


class ImapMailbox:
    def __init__(
        self,
        settings: ImapSettings,
        state: PluginState,
        *,
        own_addresses: frozenset[str] = frozenset(),
        max_attachment_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        self.settings = settings
        self.state = state
        self.own = own_addresses
        self.max_attachment = max_attachment_bytes

    @property
    def key(self) -> str:
        return f"{self.settings.username}@{self.settings.host}/{self.settings.folder}"

    async def load_state(self) -> tuple[MailboxState | None, int]:
        raw, version = await self.state.get(_NS, self.key)
        if raw is None:
            return None, version
        return msgspec.json.decode(raw, type=MailboxState), version

    async def commit(self, new: MailboxState, version: int) -> bool:
        """Advance the stored state after the batch is stored; False if another process did."""
        return await self.state.put(
            _NS, self.key, msgspec.json.encode(new), expected_version=version
        )

    async def fetch_new(
        self, today: dt.date | None = None
    ) -> tuple[list[FetchedMail], MailboxState, int]:
        """New mail above the stored ``last_uid`` (or the re-scan after a UIDVALIDITY change),
        the state to commit afterwards, and the version to commit it against."""
        import aioimaplib

        stored, version = await self.load_state()
        s = self.settings
        if s.security == "ssl":
            client = aioimaplib.IMAP4_SSL(host=s.host, port=s.port, timeout=s.timeout,
                                          ssl_context=ssl.create_default_context())  # fmt: skip
        else:
            client = aioimaplib.IMAP4(host=s.host, port=s.port, timeout=s.timeout)
        await client.wait_hello_from_server()
        try:
            if s.security == "starttls":
                await _ok(client.starttls(ssl.create_default_context()), "STARTTLS")
            await _ok(client.login(s.username, s.password), "LOGIN")
            selected = await _ok(client.select(s.folder), "SELECT")
            uidvalidity = _first_int(_UIDVALIDITY, selected.lines)
            if uidvalidity is None:
                raise ImapError("SELECT gave no UIDVALIDITY")
            if stored is not None and stored.uidvalidity == uidvalidity:
                last = stored.last_uid
                found = await _ok(client.uid_search(f"UID {last + 1}:*"), "UID SEARCH")
            else:
                # first run or a UIDVALIDITY change: a bounded window, deduplicated downstream
                last = 0
                since = (today or dt.date.today()) - dt.timedelta(days=s.rescan_days)
                found = await _ok(client.uid_search(f"SINCE {since.strftime('%d-%b-%Y')}"),
                                  "UID SEARCH")  # fmt: skip
            uids = sorted({int(x) for line in found.lines[:1] for x in line.split() if x.isdigit()})
            # "n:*" always matches the highest UID, even when nothing is new: filter here
            uids = [u for u in uids if u > last]
            batch: list[FetchedMail] = []
            for uid in uids:
                fetched = await _ok(client.uid("fetch", str(uid), "(UID BODY.PEEK[])"), "UID FETCH")
                raw = _literal(fetched.lines)
                if raw is None:
                    continue
                provider_id = f"{self.key}:{uidvalidity}:{uid}"
                try:
                    mail = parse_email(raw, own_addresses=self.own,
                                       max_attachment_bytes=self.max_attachment)  # fmt: skip
                    batch.append(FetchedMail(provider_id=provider_id, uid=uid, raw=raw, mail=mail))
                except MailRejected as exc:
                    batch.append(FetchedMail(provider_id=provider_id, uid=uid, raw=raw, mail=None,
                                             error=str(exc)))  # fmt: skip
            new_last = max([last, *uids]) if uids else last
            return batch, MailboxState(uidvalidity=uidvalidity, last_uid=new_last), version
        finally:
            with contextlib.suppress(Exception):  # the connection is going away either way
                await client.logout()


async def _ok(awaitable: Any, what: str) -> Any:
    response = await awaitable
    if getattr(response, "result", None) != "OK":
        lines = getattr(response, "lines", [])
        raise ImapError(f"{what} failed: {lines[-1:]!r}")
    return response


def _first_int(pattern: re.Pattern[bytes], lines: Sequence[object]) -> int | None:
    for line in lines:
        data = line if isinstance(line, (bytes, bytearray)) else str(line).encode()
        m = pattern.search(bytes(data))
        if m:
            return int(m.group(1))
    return None


def _literal(lines: Sequence[object]) -> bytes | None:
    """The message bytes of a ``UID FETCH … BODY[]`` answer (aioimaplib gives the literal as a
    bytearray line of its own)."""
    for line in lines:
        if isinstance(line, bytearray):
            return bytes(line)
    return None


async def send(settings: SmtpSettings, message: EmailMessage) -> None:
    """Submit ``message`` over SMTP (STARTTLS or implicit TLS, then authentication)."""
    import aiosmtplib

    await aiosmtplib.send(
        message,
        hostname=settings.host,
        port=settings.port,
        use_tls=settings.security == "ssl",
        start_tls=settings.security == "starttls",
        username=settings.username,
        password=settings.password,
        timeout=settings.timeout,
    )
