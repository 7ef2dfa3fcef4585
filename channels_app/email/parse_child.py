"""The poller's second core: a child process parses (and compresses) the next fetched batch while the poller
stores the current one. Only an optimisation: when the child dies, hangs or is not there, the poller parses
in its own process as before, so what is stored never depends on it. The child reads requests from a pipe
and exits when the pipe closes, so it does not outlive its poller (even one killed with SIGKILL).

Pure like parse.py: the child imports no Django."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import threading
import zlib

from channels_app.email.parse import ParsedEmail, parse_email

logger = logging.getLogger("channels_app.email")

# A message bigger than this is parsed by the poller itself: the pipe and the child's memory stay small.
CHILD_MAX_MESSAGE_BYTES = 2 * 1024 * 1024
# A batch's answer that takes longer means a hung child: it is killed and the poller parses the batch itself.
CHILD_TIMEOUT = 60.0
RAW_COMPRESSION_LEVEL = 6  # RawEmail.compress's level


def parse_and_compress(raw: bytes) -> tuple[ParsedEmail | None, bytes]:
    try:
        parsed = parse_email(raw)
    except Exception:  # a parser bug: the poller meets it again in the message's savepoint
        parsed = None
    return parsed, zlib.compress(raw, RAW_COMPRESSION_LEVEL)


def serve(connection) -> None:
    """The child: a list of raw messages in, the list of their (ParsedEmail | None, compressed raw) out."""
    with contextlib.suppress(EOFError, OSError, KeyboardInterrupt):
        while True:
            raws = connection.recv()
            connection.send([parse_and_compress(raw) for raw in raws])


class ParserChild:
    """One child process for one poll. `submit` a batch, then `take` its answer (one batch at a time)."""

    def __init__(self, *, target=serve, timeout: float = CHILD_TIMEOUT):
        context = multiprocessing.get_context("spawn")  # no fork of a process with threads and open connections
        self._connection, child_end = context.Pipe()
        self._process = context.Process(target=target, args=(child_end,), daemon=True, name="email-parser")
        self._process.start()
        child_end.close()
        self._timeout = timeout
        self._sent: list[int] | None = None  # indexes of the submitted batch sent to the child
        self._sending: threading.Thread | None = None
        self._send_failed = False
        self.broken = False

    def submit(self, raws: list[bytes]) -> None:
        """Hand a batch to the child (its big messages stay with the poller). Sent by a thread: a pipe holds
        64 KB, so a batch would wait for the child to read it (at first, for the child to start)."""
        self._sent = None
        if self.broken:
            return
        indexes = [i for i, raw in enumerate(raws) if len(raw) <= CHILD_MAX_MESSAGE_BYTES]
        self._sent = indexes
        self._sending = threading.Thread(target=self._send, args=([raws[i] for i in indexes],), daemon=True)
        self._sending.start()

    def _send(self, raws: list[bytes]) -> None:
        try:
            self._connection.send(raws)
        except (OSError, ValueError):
            self._send_failed = True

    def take(self, raws: list[bytes]) -> list[tuple[ParsedEmail | None, bytes]]:
        """The submitted batch's (parsed, compressed raw) pairs; what the child did not answer is done here."""
        answered: dict[int, tuple[ParsedEmail | None, bytes]] = {}
        indexes, self._sent = self._sent, None
        if indexes:
            try:
                self._sending.join(self._timeout)
                if self._sending.is_alive() or self._send_failed:
                    raise OSError("could not send")
                if not self._connection.poll(self._timeout):
                    raise TimeoutError
                answer = self._connection.recv()
                if len(answer) != len(indexes):
                    raise ValueError("answer of the wrong length")
                answered = dict(zip(indexes, answer, strict=True))
            except (EOFError, OSError, TimeoutError, ValueError) as exc:
                self._fail(f"failed ({type(exc).__name__})")
        return [answered.get(i) or parse_and_compress(raw) for i, raw in enumerate(raws)]

    def _fail(self, what: str) -> None:
        logger.warning("The email parser process %s; parsing in the poller", what)
        self.broken = True
        self.close()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._connection.close()  # the child's next read ends it
        self._process.join(0 if self.broken else 2)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(5)
