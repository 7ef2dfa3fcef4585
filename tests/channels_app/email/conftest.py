"""A real Dovecot IMAP server and a real aiosmtpd SMTP server, started by the tests on
loopback with private configuration and mail directories (tests/mailservers.py)."""

from __future__ import annotations

import pytest

from tests.mailservers import MailServerError, dovecot_binary, dovecot_running, smtp_capture_running
from tests.services import need


@pytest.fixture(scope="session")
def dovecot():
    need(dovecot_binary() is not None, "Dovecot (Debian's dovecot-imapd)")
    try:
        with dovecot_running() as server:
            yield server
    except MailServerError as exc:
        pytest.fail(str(exc))


@pytest.fixture
def imap(dovecot):
    dovecot.clear()
    yield dovecot
    dovecot.clear()


@pytest.fixture
def smtp_server():
    with smtp_capture_running() as capture:
        yield capture
