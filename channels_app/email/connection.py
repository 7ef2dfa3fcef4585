"""The mailbox "test connection" action: log in to IMAP and SMTP and say clearly what is wrong."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from dataclasses import dataclass

from django.utils.translation import gettext as _

from channels_app.models import Mailbox, Security

CHECK_TIMEOUT = 15


@dataclass(frozen=True)
class ConnectionCheck:
    part: str  # "imap" or "smtp"
    ok: bool
    message: str


def _explain(exc: BaseException, host: str, port: int) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return _("The server's certificate is not valid: %(error)s") % {"error": exc.verify_message or exc}
    if isinstance(exc, ssl.SSLError):
        return _("TLS failed (is the security setting right for port %(port)s?): %(error)s") % {
            "port": port,
            "error": exc,
        }
    if isinstance(exc, socket.gaierror):
        return _("Host %(host)s was not found.") % {"host": host}
    if isinstance(exc, ConnectionRefusedError):
        return _("%(host)s:%(port)s refused the connection.") % {"host": host, "port": port}
    if isinstance(exc, TimeoutError | socket.timeout):
        return _("No answer from %(host)s:%(port)s (timeout).") % {"host": host, "port": port}
    if isinstance(exc, OSError) and exc.errno is not None:
        return _("No route to %(host)s:%(port)s: %(error)s") % {"host": host, "port": port, "error": exc.strerror}
    return f"{type(exc).__name__}: {exc}"


def imap_check(mailbox: Mailbox) -> ConnectionCheck:
    from imapclient.exceptions import LoginError

    from channels_app.email.inbound import imap_connect

    try:
        client = imap_connect(mailbox)
    except LoginError:
        return ConnectionCheck("imap", False, _("IMAP refused the user name or password."))
    except Exception as exc:
        return ConnectionCheck("imap", False, _explain(exc, mailbox.imap_host, mailbox.imap_port))
    try:
        if not client.folder_exists(mailbox.folder):
            return ConnectionCheck("imap", False, _("Folder %(folder)s does not exist.") % {"folder": mailbox.folder})
        selected = client.select_folder(mailbox.folder, readonly=True)
        count = int(selected.get(b"EXISTS", 0) or 0)
        return ConnectionCheck(
            "imap",
            True,
            _("IMAP works: %(count)d message(s) in %(folder)s.")
            % {
                "count": count,
                "folder": mailbox.folder,
            },
        )
    except Exception as exc:
        return ConnectionCheck("imap", False, f"{type(exc).__name__}: {exc}")
    finally:
        with contextlib.suppress(Exception):  # the check already has its answer
            client.logout()


async def _smtp_login(mailbox: Mailbox) -> None:
    import aiosmtplib

    smtp = aiosmtplib.SMTP(
        hostname=mailbox.smtp_host,
        port=mailbox.smtp_port,
        use_tls=mailbox.smtp_security == Security.TLS,
        start_tls=mailbox.smtp_security == Security.STARTTLS,
        timeout=CHECK_TIMEOUT,
    )
    await smtp.connect()
    try:
        if mailbox.smtp_user:
            await smtp.login(mailbox.smtp_user, mailbox.smtp_password or "")
        await smtp.noop()
    finally:
        with contextlib.suppress(Exception):  # the check already has its answer
            await smtp.quit()


def smtp_check(mailbox: Mailbox) -> ConnectionCheck:
    import aiosmtplib

    if not mailbox.smtp_host:
        return ConnectionCheck("smtp", False, _("No SMTP server is set."))
    try:
        asyncio.run(_smtp_login(mailbox))
    except aiosmtplib.SMTPAuthenticationError:
        return ConnectionCheck("smtp", False, _("SMTP refused the user name or password."))
    except aiosmtplib.SMTPConnectError as exc:
        cause = exc.__cause__ or exc
        return ConnectionCheck("smtp", False, _explain(cause, mailbox.smtp_host, mailbox.smtp_port))
    except Exception as exc:
        return ConnectionCheck("smtp", False, _explain(exc, mailbox.smtp_host, mailbox.smtp_port))
    return ConnectionCheck("smtp", True, _("SMTP works."))


def mailbox_test_connection(*, mailbox: Mailbox) -> list[ConnectionCheck]:
    return [imap_check(mailbox), smtp_check(mailbox)]
