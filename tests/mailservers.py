"""Real mail servers on loopback, for the tests and the email benchmark: Dovecot IMAP
(Debian's dovecot-imapd) with a private configuration and mail directory, and an
aiosmtpd SMTP server that captures what it receives."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


class MailServerError(RuntimeError):
    pass


IMAP_USER = "support"
IMAP_PASSWORD = "imap-Pass-2026"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Dovecot:
    host: str
    port: int
    user: str
    password: str
    root: Path

    def client(self):
        from imapclient import IMAPClient

        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        client.login(self.user, self.password)
        return client

    def deliver(self, *raws: bytes, folder: str = "INBOX") -> None:
        client = self.client()
        try:
            for raw in raws:
                client.append(folder, raw)
        finally:
            client.logout()

    def clear(self) -> None:
        client = self.client()
        try:
            for folder in ("INBOX", "Processed"):
                if not client.folder_exists(folder):
                    continue
                client.select_folder(folder)
                uids = client.search(["ALL"])
                if uids:
                    client.delete_messages(uids)
                    client.expunge()
        finally:
            client.logout()


def _mail_owner() -> tuple[int, int]:
    """Dovecot refuses to serve mail as root: use the unprivileged 'dovecot' user when we are root."""
    if os.geteuid() != 0:
        return os.getuid(), os.getgid()
    entry = pwd.getpwnam("dovecot")
    return entry.pw_uid, entry.pw_gid


CONFIG = """
base_dir = {root}/run
state_dir = {root}/state
instance_name = test-dovecot-{port}
log_path = {root}/dovecot.log
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
first_valid_uid = {uid}
last_valid_uid = {uid}
first_valid_gid = {gid}
last_valid_gid = {gid}
{login_user}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
protocol imap {{
  mail_max_userip_connections = 100
}}
mailbox_idle_check_interval = 1 secs
namespace inbox {{
  inbox = yes
  mailbox Processed {{
    auto = create
  }}
}}
"""


def dovecot_binary() -> str | None:
    return shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)


@contextmanager
def dovecot_running() -> Iterator[Dovecot]:
    binary = dovecot_binary()
    if binary is None:
        raise MailServerError("Dovecot is not installed (apt-get install dovecot-imapd)")
    root = Path(tempfile.mkdtemp(prefix="dovecot-test-"))
    os.chmod(root, 0o755)  # noqa: S103 - the unprivileged dovecot user must reach the mail directory
    uid, gid = _mail_owner()
    (root / "mail").mkdir()
    os.chown(root / "mail", uid, gid)
    (root / "users").write_text(f"{IMAP_USER}:{{PLAIN}}{IMAP_PASSWORD}\n")
    port = free_port()
    login_user = ""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.getuid()).pw_name
        login_user = f"default_login_user = {me}\ndefault_internal_user = {me}"
    conf = root / "dovecot.conf"
    conf.write_text(CONFIG.format(root=root, port=port, uid=uid, gid=gid, login_user=login_user))
    process = subprocess.Popen([binary, "-F", "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    server = Dovecot(host="127.0.0.1", port=port, user=IMAP_USER, password=IMAP_PASSWORD, root=root)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                server.client().logout()
                break
            except Exception as exc:
                if process.poll() is not None or time.monotonic() > deadline:
                    log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
                    out = process.stdout.read().decode(errors="replace") if process.poll() is not None else ""
                    raise MailServerError(f"Dovecot did not start:\n{out}\n{log}") from exc
                time.sleep(0.1)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class SmtpCapture:
    host: str
    port: int
    messages: list  # raw bytes of every message received
    refuse: dict  # recipient → (code, text) to answer RCPT with


@contextmanager
def smtp_capture_running() -> Iterator[SmtpCapture]:
    from aiosmtpd.controller import Controller

    captured: list[bytes] = []
    refuse: dict[str, tuple[int, str]] = {}

    class Handler:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if address in refuse:
                code, text = refuse[address]
                return f"{code} {text}"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            captured.append(envelope.original_content or envelope.content)
            return "250 Message accepted"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpCapture(host="127.0.0.1", port=port, messages=captured, refuse=refuse)
    finally:
        controller.stop()
