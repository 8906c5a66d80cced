"""Test servers for the e-mail channel: a real IMAP server (Debian's dovecot, on loopback, from a
throw-away directory) and a real SMTP server capturing what is sent (aiosmtpd), as
shared/docs/channels/gmail.md §4 describes. ``dovecot_server()`` and ``smtp_server()`` are
generators for fixtures; outside CI a missing dovecot skips, under ``CI=true`` it fails."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CI = os.environ.get("CI", "").lower() == "true"

USER, PASSWORD = "front@hotel.test", "secret"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _missing(what: str) -> None:
    message = f"{what} is not installed (apt-get install dovecot-imapd, or just mail)"
    if CI:
        pytest.fail(f"{message}; CI=true forbids skipping")
    pytest.skip(message)


class Dovecot:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = _port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        sbin = Path("/usr/sbin/dovecot")
        binary = shutil.which("dovecot") or (str(sbin) if sbin.exists() else None)
        if binary is None:
            _missing("dovecot")
        t = self.root
        t.chmod(0o755)
        for d in ("run", "state", "mail"):
            (t / d).mkdir(exist_ok=True)
        shutil.chown(t / "mail", "nobody", "nogroup")
        (t / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        (t / "dovecot.conf").write_text(f"""
protocols = imap
listen = 127.0.0.1
base_dir = {t}/run
state_dir = {t}/state
log_path = {t}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{t}/mail/%u
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
first_valid_uid = 1
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {t}/users
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={t}/mail/%u
}}
""")
        self.process = subprocess.Popen([str(binary), "-c", str(t / "dovecot.conf"), "-F"],  # noqa: S603
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    if s.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.05)
        pytest.fail(
            f"dovecot did not start: {(t / 'dovecot.log').read_text() if (t / 'dovecot.log').exists() else ''}"
        )

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def reset_mailbox(self) -> None:
        """A new UIDVALIDITY: stop, delete the mail, start again (gmail.md §4)."""
        self.stop()
        shutil.rmtree(self.root / "mail")
        (self.root / "mail").mkdir()
        self.start()

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        import imaplib

        with imaplib.IMAP4("127.0.0.1", self.port) as imap:
            imap.login(USER, PASSWORD)
            typ, _ = imap.append(folder, None, None, raw)
            assert typ == "OK"


def dovecot_server() -> Iterator[Dovecot]:
    """A started dovecot, stopped and removed afterwards (``yield from`` it in a fixture)."""
    # not pytest's tmp_path: its parents are 0700, and dovecot's users must reach the files
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="agente-dovecot-"))
    server = Dovecot(root)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


class Capture:
    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.logins: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 Message accepted for delivery"


def smtp_server() -> Iterator[tuple[Capture, int]]:
    """A capturing SMTP server with AUTH (password ``app-password``) and its port."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    capture = Capture()
    port = _port()

    def auth(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.password == b"app-password"
        if ok:
            capture.logins.append(data.login.decode())
        return AuthResult(success=ok)

    controller = Controller(capture, hostname="127.0.0.1", port=port, authenticator=auth,
                            auth_require_tls=False)  # fmt: skip
    controller.start()
    yield capture, port
    controller.stop()


def guest_mail(
    body: str,
    *,
    to: str,
    message_id: str,
    sender: str = "Ana Pérez <ana@example.com>",
    subject: str = "Consulta",
    reply_to: str | None = None,
    attachment: tuple[bytes, str, str] | None = None,
    **headers: str,
) -> bytes:
    """A guest's mail as a mail client sends it: ``reply_to`` threads it on an earlier mail,
    ``attachment`` is ``(bytes, mime type, file name)``, other headers by keyword
    (``Auto_Submitted="auto-replied"`` → ``Auto-Submitted``)."""
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    msg["Date"] = "Sat, 05 Dec 2026 10:00:00 -0300"
    if reply_to:
        msg["In-Reply-To"] = reply_to
        msg["References"] = reply_to
    for key, value in headers.items():
        msg[key.replace("_", "-")] = value
    msg.set_content(body)
    if attachment is not None:
        data, mime, name = attachment
        maintype, subtype = mime.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes()
