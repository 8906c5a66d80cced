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

import asyncio
import contextlib
import datetime as dt
import re
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec
import structlog

from agente.errors import ChannelError, PermanentChannelError
from agente.mail import InboundEmail, MailRejected, parse_email
from agente.settings import Secret
from agente_channel_email.channel import MailChannel, ThreadInfo, email_metrics

if TYPE_CHECKING:
    from agente.ports import PluginState
    from agente.registry import Ingress, PluginContext

log = structlog.get_logger("agente.channel.imap")

__all__ = [
    "FetchedMail",
    "ImapChannel",
    "ImapChannelSettings",
    "ImapMailbox",
    "ImapSettings",
    "MailboxState",
    "SmtpSettings",
    "send",
]

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
        stored, version = await self.load_state()
        s = self.settings
        client = await connect(s)
        try:
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


async def connect(s: ImapSettings) -> Any:
    """A logged-in aioimaplib client: implicit TLS, STARTTLS or (loopback tests) plain."""
    import aioimaplib

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
    except BaseException:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.logout(), 5)
        raise
    return client


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


# ------------------------------------------------------------------------------- the channel


class ImapChannelSettings(msgspec.Struct, frozen=True, kw_only=True, rename="upper"):
    """Variables ``AGENTE_IMAP_*``: one mailbox, read over IMAP and answered over SMTP.

    The SMTP account defaults to the IMAP one (a Gmail app password serves both)."""

    host: str
    """The IMAP server (``imap.gmail.com`` for Gmail)."""
    username: str
    """The IMAP login, usually the mailbox's address."""
    password: Secret
    """The IMAP password (for Gmail, an app password)."""
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 993
    security: Literal["ssl", "starttls", "none"] = "ssl"
    """``ssl`` (implicit TLS, port 993), ``starttls`` (143) or ``none`` (loopback tests only)."""
    folder: str = "INBOX"
    sent_folder: str = "Sent"
    """Where a copy of each reply is appended for staff; empty for servers that keep their own
    copy (Gmail does)."""
    address: str | None = None
    """The address replies come from; the username when unset."""
    hotel: str | None = None
    """The hotel id; unset, the hotel whose ``channels.email`` is the address."""
    from_name: str | None = None
    """The name on replies; the hotel's name when unset."""
    smtp_host: str | None = None
    """The SMTP server; the IMAP host when unset."""
    smtp_port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 587
    smtp_security: Literal["ssl", "starttls", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: Secret | None = None
    idle: bool = True
    """Wait for mail with IMAP IDLE (when the server offers it) between polls."""
    poll_seconds: Annotated[float, msgspec.Meta(gt=0)] = 60.0
    """The longest wait between two reads of the mailbox, IDLE or not."""
    rescan_days: Annotated[int, msgspec.Meta(ge=1)] = 7
    max_attachment_bytes: Annotated[int, msgspec.Meta(ge=1)] = 16 * 1024 * 1024
    replies_per_hour: Annotated[int, msgspec.Meta(ge=1)] = 20
    """Mails to one address in an hour before the rest wait for staff (a loop breaker)."""
    timeout: Annotated[float, msgspec.Meta(gt=0)] = 30.0


class ImapChannel(MailChannel):
    """The ``imap`` channel: reads the mailbox in the worker (IDLE, polling as the fallback),
    answers over SMTP and keeps a copy in the Sent folder."""

    name = "imap"

    def __init__(self, settings: ImapChannelSettings, ctx: PluginContext) -> None:
        super().__init__(clock=ctx.clock, store=ctx.store, state=ctx.state, hotels=ctx.hotels,
                         documents=ctx.documents)  # fmt: skip
        s = settings
        self.settings = s
        self.address = (s.address or s.username).lower()
        self.hotel_setting = s.hotel
        self.from_name = s.from_name
        self.replies_per_hour = s.replies_per_hour
        self.imap = ImapSettings(host=s.host, port=s.port, security=s.security,
                                 username=s.username, password=s.password.reveal(),
                                 folder=s.folder, rescan_days=s.rescan_days,
                                 timeout=s.timeout)  # fmt: skip
        password = s.smtp_password or s.password
        self.smtp = SmtpSettings(host=s.smtp_host or s.host, port=s.smtp_port,
                                 security=s.smtp_security, username=s.smtp_username or s.username,
                                 password=password.reveal(), timeout=s.timeout)  # fmt: skip
        self.mailbox = ImapMailbox(self.imap, ctx.state, own_addresses=frozenset({self.address}),
                                   max_attachment_bytes=s.max_attachment_bytes)  # fmt: skip
        self._idle: Any = None
        self.polls = 0
        self.metrics = email_metrics(ctx.registry)

    # -------------------------------------------------------------------- inbound

    async def poll_once(self, ingress: Ingress) -> int:
        """Read new mail, store it in the inbox, then advance the stored UID; new messages."""
        hotel = await self.hotel()
        batch, new_state, version = await self.mailbox.fetch_new(self.clock.now().date())
        messages = [await self.inbound(hotel.id, f.provider_id, f.mail, f.error) for f in batch]
        accepted = 0
        if messages:
            result = await ingress.accept(messages)
            accepted = len(result.accepted)
        if not await self.mailbox.commit(new_state, version):
            log.info("mailbox_state_raced", mailbox=self.mailbox.key)
        self.polls += 1
        self.metrics.last_read.labels(self.name).set(self.clock.now().timestamp())
        return accepted

    async def run(self, stop: asyncio.Event, *, ingress: Ingress) -> None:
        """Until ``stop``: read the mailbox, then wait for the server's push (IDLE) or the poll
        interval; connection errors back off and reconnect."""
        failures = 0
        log.info("mailbox_watch_started", channel=self.name, mailbox=self.mailbox.key)
        while not stop.is_set():
            try:
                await self.poll_once(ingress)
                failures = 0
                if self.settings.idle:
                    await self._idle_wait(stop, self.settings.poll_seconds)
                else:
                    await _sleep(stop, self.settings.poll_seconds)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                self.metrics.failures.labels(self.name).inc()
                log.warning("mailbox_failed", channel=self.name, error=str(exc)[:300],
                            failures=failures)  # fmt: skip
                await self._close_idle()
                await _sleep(stop, min(300.0, 2.0**failures))
        await self._close_idle()

    async def _idle_wait(self, stop: asyncio.Event, timeout: float) -> None:
        """Wait in IDLE on a dedicated connection until the server announces mail, ``timeout``
        passes or ``stop`` is set; without IDLE on the server, just wait."""
        if self._idle is None:
            self._idle = await self._connect()
            await _ok(self._idle.select(self.imap.folder), "SELECT")
        client = self._idle
        if not client.has_capability("IDLE"):
            await _sleep(stop, timeout)
            return
        idle = await client.idle_start(timeout=timeout + 5)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while not stop.is_set():
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                push = asyncio.ensure_future(client.wait_server_push(remaining))
                stopper = asyncio.ensure_future(stop.wait())
                await asyncio.wait({push, stopper}, return_when=asyncio.FIRST_COMPLETED)
                stopper.cancel()
                if not push.done():
                    push.cancel()
                    break
                try:
                    lines = push.result()
                except TimeoutError:
                    break
                if any(b"EXISTS" in _bytes(line) for line in lines or []):
                    break  # new mail: read it
        finally:
            client.idle_done()
            try:
                await asyncio.wait_for(idle, 10)
            except Exception:
                await self._close_idle()

    async def _connect(self) -> Any:
        return await connect(self.imap)

    async def _close_idle(self) -> None:
        client, self._idle = self._idle, None
        if client is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.logout(), 5)

    async def ping(self) -> None:
        client = await self._connect()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.logout(), 5)

    # -------------------------------------------------------------------- outbound

    async def deliver(self, mail: EmailMessage, thread: ThreadInfo | None) -> None:
        """Submit over SMTP, then keep a copy in the Sent folder (a failed copy is logged: the
        guest has the answer either way)."""
        import aiosmtplib

        try:
            await send(self.smtp, mail)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise PermanentChannelError(f"recipient refused: {exc}") from exc
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise ChannelError(f"SMTP authentication failed: {exc.code}") from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise ChannelError(f"SMTP failed: {type(exc).__name__}: {exc}") from exc
        if self.settings.sent_folder:
            try:
                client = await self._connect()
                try:
                    await self._append(client, mail.as_bytes(), self.settings.sent_folder)
                finally:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(client.logout(), 5)
            except Exception as exc:
                log.warning("sent_copy_failed", folder=self.settings.sent_folder,
                            error=str(exc)[:200])  # fmt: skip

    async def _append(self, client: Any, raw: bytes, folder: str) -> None:
        """APPEND, creating the folder once when the server answers TRYCREATE (RFC 3501)."""
        response = await client.append(raw, mailbox=folder, flags="(\\Seen)")
        if response.result != "OK" and any(b"TRYCREATE" in _bytes(x) for x in response.lines):
            # another send may create it at the same moment: its CREATE failing is fine
            await client.create(folder)
            response = await client.append(raw, mailbox=folder, flags="(\\Seen)")
        if response.result != "OK":
            raise ImapError(f"APPEND failed: {response.lines[-1:]!r}")

    async def aclose(self) -> None:
        await self._close_idle()


def _bytes(line: object) -> bytes:
    return bytes(line) if isinstance(line, (bytes, bytearray)) else str(line).encode()


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
