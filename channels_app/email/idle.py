"""IMAP IDLE: a thread per mailbox keeps a connection open and fetches as soon as the
server says a message arrived, instead of waiting for the next 30-second poll.

The worker's `watch_mailboxes` duty starts a watcher for every active mailbox and
stops those of mailboxes switched off. A watcher only wakes the normal poll
(`mailbox_poll`), so storage, idempotence and the lease are exactly those of
polling; a server without IDLE is left to the periodic poll.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time

from django.db import close_old_connections

from channels_app.email.inbound import imap_connect, mailbox_poll
from channels_app.models import Mailbox

logger = logging.getLogger("channels_app.email.idle")

IDLE_CHECK_SECONDS = 10  # how often a watcher looks up from IDLE (to stop, or to renew)
IDLE_RENEW_SECONDS = 25 * 60  # RFC 2177: re-issue IDLE before servers drop it at 29 minutes
RETRY_SECONDS = (1, 5, 15, 60)

_watchers: dict[int, MailboxWatcher] = {}
_lock = threading.Lock()


class MailboxWatcher(threading.Thread):
    def __init__(self, mailbox_id: int):
        super().__init__(name=f"imap-idle-{mailbox_id}", daemon=True)
        self.mailbox_id = mailbox_id
        self.stopping = threading.Event()
        self.supported = True  # False once the server says it has no IDLE

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        failures = 0
        while not self.stopping.is_set() and self.supported:
            try:
                self._watch()
                failures = 0
            except Exception as exc:  # connection trouble: the periodic poll still covers the mailbox
                logger.warning("IDLE on mailbox %s: %s: %s", self.mailbox_id, type(exc).__name__, exc)
                self.stopping.wait(RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)])
                failures += 1
            finally:
                close_old_connections()

    def _poll(self) -> None:
        mailbox = Mailbox.objects.filter(pk=self.mailbox_id, active=True).select_related("default_queue").first()
        if mailbox is None:
            self.stop()
            return
        mailbox_poll(mailbox=mailbox)

    def _watch(self) -> None:
        mailbox = Mailbox.objects.get(pk=self.mailbox_id)
        client = imap_connect(mailbox)
        try:
            if not client.has_capability("IDLE"):
                logger.info("Mailbox %s: the server has no IDLE; polling only", mailbox)
                self.supported = False
                return
            client.select_folder(mailbox.folder, readonly=True)
            fetch = True  # first round: whatever arrived while we were not watching
            while not self.stopping.is_set():
                client.idle()
                # Fetch only once IDLE listens, so a message arriving during the fetch is announced.
                if fetch:
                    self._poll()
                fetch = False
                started = time.monotonic()
                try:
                    while not self.stopping.is_set() and time.monotonic() - started < IDLE_RENEW_SECONDS:
                        responses = client.idle_check(timeout=IDLE_CHECK_SECONDS)
                        if any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses):
                            fetch = True
                            break
                finally:
                    client.idle_done()
                close_old_connections()
        finally:
            with contextlib.suppress(Exception):
                client.logout()


def watchers_sync() -> dict[int, bool]:
    """Start a watcher for every active mailbox and stop the others. Returns mailbox id → watching."""
    active = set(Mailbox.objects.filter(active=True).values_list("pk", flat=True))
    with _lock:
        for mailbox_id, watcher in list(_watchers.items()):
            if mailbox_id not in active or not watcher.is_alive():
                watcher.stop()
                if not watcher.supported and mailbox_id in active:
                    continue  # keep the record: no IDLE on that server, don't reconnect every round
                del _watchers[mailbox_id]
        for mailbox_id in active - set(_watchers):
            watcher = MailboxWatcher(mailbox_id)
            _watchers[mailbox_id] = watcher
            watcher.start()
        return {mailbox_id: watcher.is_alive() for mailbox_id, watcher in _watchers.items()}


def watchers_stop() -> None:
    with _lock:
        for watcher in _watchers.values():
            watcher.stop()
        _watchers.clear()
