"""SMTP delivery over reused sessions (no ORM): the outbox hands over a round's messages grouped by
SMTP server, they go out over one connection per server (up to MAX_SESSIONS in parallel when there
are many), and every message gets its own outcome: sent, retry later or failed for good.

A session is opened once (EHLO, STARTTLS, AUTH), then carries MAIL, RCPT, DATA per message with an
RSET after a refusal, and QUIT when the round is over. The event loop lives as long as the round
(`SmtpSessions`), so the sessions survive between the chunks the outbox records in between.

Nothing is sent twice by us: a message counts as sent once DATA got its 250. When the connection
drops before DATA the message was never handed over and goes out again at once over a new
connection; when it drops during DATA nobody knows, and the message is retried later with backoff
like any 4xx. A session reconnects once after a close, and again only once the new connection carried
a message; one that cannot connect retires for the round, and when all of a server's sessions have,
its remaining messages wait for their backoff."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import EmailMessage
from enum import StrEnum

SMTP_TIMEOUT = 30
MAX_SESSIONS = 4  # parallel sessions to one server
MESSAGES_PER_EXTRA_SESSION = 5  # a second session when a chunk has this many messages for the server, and so on


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    user: str = ""
    password: str = field(default="", repr=False)
    use_tls: bool = False
    start_tls: bool = False


class Result(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True)
class Outcome:
    result: Result
    error: str = ""
    data: bytes = b""  # what was sent (DATA), when it was


@dataclass(frozen=True)
class Envelope:
    key: int  # the caller's id for the message (the outbox row)
    mime: EmailMessage


class _SessionLost(Exception):
    """The connection is gone; `handed_over` when it went during DATA (the server may have the message)."""

    def __init__(self, error: str, *, handed_over: bool = False) -> None:
        super().__init__(error)
        self.handed_over = handed_over


class _CannotConnect(_SessionLost):
    """Unreachable, login refused, TLS failed: trying again at once will not help."""


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def response_outcome(exc: Exception) -> Outcome:
    """A refusal: 5xx fails for good (but not a refused login: fix the mailbox and it goes), anything else retries."""
    import aiosmtplib

    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        if all(error.code >= 500 for error in exc.recipients):
            return Outcome(Result.FAILED, f"recipient refused: {exc.recipients[0].message}")
        return Outcome(Result.RETRY, _describe(exc))
    if (
        isinstance(exc, aiosmtplib.SMTPResponseException)
        and exc.code >= 500
        and not isinstance(exc, aiosmtplib.SMTPAuthenticationError)
    ):
        return Outcome(Result.FAILED, f"{exc.code} {exc.message}")
    return Outcome(Result.RETRY, _describe(exc))


class _Session:
    """One connection to one server, opened on first use; reopened once when the server closed it, and
    again only after the new connection carried a message (servers that allow N messages per connection)."""

    def __init__(self, server: SmtpServer) -> None:
        self.server = server
        self.client = None
        self.may_reconnect = True
        self.retired = False

    async def connect(self) -> None:
        import aiosmtplib

        server = self.server
        self.client = aiosmtplib.SMTP(
            hostname=server.host,
            port=server.port,
            username=server.user or None,
            password=server.password or None,
            use_tls=server.use_tls,
            start_tls=server.start_tls,
            tls_context=ssl.create_default_context() if server.use_tls or server.start_tls else None,
            timeout=SMTP_TIMEOUT,
        )
        await self.client.connect()

    @property
    def connected(self) -> bool:
        return self.client is not None and self.client.is_connected

    async def send(self, mime: EmailMessage) -> Outcome:
        """Send one message; raises _SessionLost when the connection went (the message's fate is in it)."""
        import aiosmtplib

        if not self.connected:
            try:
                await self.connect()
            except Exception as exc:  # unreachable, refused login, TLS, a bad host name…
                self.close()
                raise _CannotConnect(_describe(exc)) from exc
        client = self.client
        handed_over = False
        try:
            sender, recipients, flat, options = _prepare(client, mime)
            await client.mail(sender, options=options, encoding=_encoding(options))
            refused = []
            for recipient in recipients:
                try:
                    await client.rcpt(recipient, encoding=_encoding(options))
                except aiosmtplib.SMTPRecipientRefused as exc:
                    if not client.is_connected:
                        raise
                    refused.append(exc)
            if len(refused) == len(recipients):
                raise aiosmtplib.SMTPRecipientsRefused(refused)
            handed_over = True
            await client.data(flat)
            self.may_reconnect = True
            return Outcome(Result.SENT, data=flat)  # accepted for at least one recipient, as aiosmtplib.send counts it
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError) as exc:
            self.close()
            raise _SessionLost(_describe(exc), handed_over=handed_over) from exc
        except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused) as exc:
            outcome = response_outcome(exc)
            if not client.is_connected:  # 421: the server closes the session
                self.close()
                raise _SessionLost(outcome.error) from exc
            await self._reset()
            return outcome
        except aiosmtplib.SMTPException as exc:  # e.g. SMTPUTF8 needed and not offered: before any command
            await self._reset()
            return Outcome(Result.RETRY, _describe(exc))
        except ValueError as exc:  # an address aiosmtplib will not quote or encode
            await self._reset()
            return Outcome(Result.RETRY, _describe(exc))
        except Exception as exc:  # unexpected: the session's state is unknown, the next message gets a new one
            self.close()
            if handed_over:
                raise _SessionLost(_describe(exc), handed_over=True) from exc
            return Outcome(Result.RETRY, _describe(exc))

    async def _reset(self) -> None:
        try:
            await self.client.rset()
        except Exception:
            self.close()  # the next message reconnects

    async def quit(self) -> None:
        import aiosmtplib

        if self.connected:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await self.client.quit()
        self.close()

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        self.client = None


def _encoding(options: list[str]) -> str:
    return "utf-8" if "SMTPUTF8" in options else "ascii"


def _prepare(client, mime: EmailMessage) -> tuple[str, list[str], bytes, list[str]]:
    """What aiosmtplib's send_message does before MAIL: envelope from the headers, Bcc removed, flattened."""
    from aiosmtplib.email import extract_recipients, extract_sender, flatten_message
    from aiosmtplib.errors import SMTPNotSupported

    sender = extract_sender(mime)
    if sender is None:
        raise ValueError("No From header provided in message")
    recipients = extract_recipients(mime)
    if not recipients:
        raise ValueError("No recipient headers provided in message")
    options = []
    utf8 = not (sender + "".join(recipients)).isascii()
    if utf8:
        if not client.supports_extension("smtputf8"):
            raise SMTPNotSupported("an address is not ASCII and the server does not offer SMTPUTF8")
        options.append("SMTPUTF8")
    eight_bit = client.supports_extension("8BITMIME")
    if eight_bit:
        options.append("BODY=8BITMIME")
    flat = flatten_message(mime, utf8=utf8, cte_type="8bit" if eight_bit else "7bit")
    if client.supports_extension("size"):
        options.insert(0, f"SIZE={len(flat)}")
    return sender, recipients, flat, options


class SmtpSessions:
    """The sessions of one outbox round, on one event loop; `deliver` may be called many times; `close` QUITs."""

    def __init__(self) -> None:
        self.runner = asyncio.Runner()
        self.sessions: dict[SmtpServer, list[_Session]] = {}
        self.last_error: dict[SmtpServer, str] = {}

    def __enter__(self) -> SmtpSessions:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def deliver(self, batches: Iterable[tuple[SmtpServer, list[Envelope]]]) -> dict[int, Outcome]:
        """Send each batch over its server's sessions (the servers at the same time); every key gets an outcome."""
        outcomes: dict[int, Outcome] = {}
        batches = [(server, envelopes) for server, envelopes in batches if envelopes]
        if batches:
            self.runner.run(self._deliver(batches, outcomes))
        return outcomes

    async def _deliver(self, batches: list[tuple[SmtpServer, list[Envelope]]], outcomes: dict[int, Outcome]) -> None:
        await asyncio.gather(*(self._deliver_to(server, envelopes, outcomes) for server, envelopes in batches))

    async def _deliver_to(self, server: SmtpServer, envelopes: list[Envelope], outcomes: dict[int, Outcome]) -> None:
        queue = list(reversed(envelopes))
        sessions = self.sessions.setdefault(server, [])
        wanted = min(MAX_SESSIONS, max(1, len(envelopes) // MESSAGES_PER_EXTRA_SESSION))
        while len(sessions) < wanted:  # a retired session is not replaced: the server may limit connections
            sessions.append(_Session(server))
        working = [session for session in sessions if not session.retired][:wanted]
        await asyncio.gather(*(self._work(session, queue, outcomes) for session in working))
        for envelope in queue:  # every session retired: these wait for their backoff
            outcomes[envelope.key] = Outcome(Result.RETRY, self.last_error.get(server, "not sent"))

    async def _work(self, session: _Session, queue: list[Envelope], outcomes: dict[int, Outcome]) -> None:
        while queue and not session.retired:
            envelope = queue.pop()
            try:
                outcomes[envelope.key] = await session.send(envelope.mime)
            except _SessionLost as exc:
                self.last_error[session.server] = str(exc)
                if exc.handed_over:
                    outcomes[envelope.key] = Outcome(Result.RETRY, f"connection lost during DATA: {exc}")
                else:
                    queue.append(envelope)  # never handed over: it may go at once over another connection
                # Cannot connect, or lost again before carrying a message: this session is done for the round.
                session.retired = isinstance(exc, _CannotConnect) or not session.may_reconnect
                session.may_reconnect = False

    @staticmethod
    async def _quit(sessions: list[_Session]) -> None:
        await asyncio.gather(*(session.quit() for session in sessions))

    def close(self) -> None:
        try:
            sessions = [session for group in self.sessions.values() for session in group]
            if sessions:
                self.runner.run(self._quit(sessions))
        finally:
            self.sessions.clear()
            self.runner.close()


def deliver_one(server: SmtpServer, mime: EmailMessage) -> Outcome:
    with SmtpSessions() as sessions:
        return sessions.deliver([(server, [Envelope(0, mime)])])[0]
