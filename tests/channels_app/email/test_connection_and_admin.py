"""The mailbox "test connection" action against real servers, and the admin pages."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from channels_app.email.connection import mailbox_test_connection
from channels_app.models import Mailbox, OutboundEmail, RawEmail
from tests.channels_app.email.test_inbound import make_mailbox
from tests.mailservers import free_port

pytestmark = pytest.mark.django_db


def configured(imap, smtp_server, **changes) -> Mailbox:
    mailbox = make_mailbox(imap)
    mailbox.smtp_host, mailbox.smtp_port = smtp_server.host, smtp_server.port
    for name, value in changes.items():
        setattr(mailbox, name, value)
    mailbox.save()
    return mailbox


def test_everything_works(imap, smtp_server):
    imap.deliver(b"From: a@b.cn\r\nSubject: x\r\n\r\nx\r\n")
    imap_result, smtp_result = mailbox_test_connection(mailbox=configured(imap, smtp_server))
    assert imap_result.ok and "1 message(s) in INBOX" in imap_result.message
    assert smtp_result.ok


def test_wrong_imap_password(imap, smtp_server):
    imap_result, _ = mailbox_test_connection(mailbox=configured(imap, smtp_server, imap_password="wrong"))
    assert not imap_result.ok and "user name or password" in imap_result.message


def test_missing_folder(imap, smtp_server):
    imap_result, _ = mailbox_test_connection(mailbox=configured(imap, smtp_server, folder="Nowhere"))
    assert not imap_result.ok and "Nowhere does not exist" in imap_result.message


def test_nothing_listening(imap, smtp_server):
    port = free_port()
    mailbox = configured(imap, smtp_server, imap_port=port, smtp_port=port)
    imap_result, smtp_result = mailbox_test_connection(mailbox=mailbox)
    assert not imap_result.ok and "refused the connection" in imap_result.message
    assert not smtp_result.ok and "refused" in smtp_result.message.lower()


def test_tls_against_a_plain_server_is_explained(imap, smtp_server):
    mailbox = configured(imap, smtp_server, imap_security="tls")
    imap_result, _ = mailbox_test_connection(mailbox=mailbox)
    assert not imap_result.ok and "TLS" in imap_result.message


def test_unknown_host(imap, smtp_server):
    mailbox = configured(imap, smtp_server, imap_host="no-such-host.invalid", smtp_host="no-such-host.invalid")
    imap_result, smtp_result = mailbox_test_connection(mailbox=mailbox)
    assert not imap_result.ok and "was not found" in imap_result.message
    assert not smtp_result.ok


def test_password_is_encrypted_at_rest(imap, smtp_server):
    from django.db import connection

    mailbox = configured(imap, smtp_server, smtp_password="smtp-secret")
    with connection.cursor() as cursor:
        cursor.execute("SELECT imap_password, smtp_password FROM channels_app_mailbox WHERE id = %s", [mailbox.pk])
        imap_stored, smtp_stored = cursor.fetchone()
    assert imap.password not in imap_stored and "smtp-secret" not in smtp_stored
    assert Mailbox.objects.get(pk=mailbox.pk).smtp_password == "smtp-secret"


@pytest.fixture
def staff(client, org):
    client.force_login(org.admin)
    client.cookies["django_language"] = "en"
    return client


def test_admin_pages_open(staff, imap, smtp_server):
    mailbox = configured(imap, smtp_server)
    for model in (Mailbox, RawEmail, OutboundEmail):
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        assert staff.get(url, secure=True).status_code == 200
    assert staff.get(reverse("admin:channels_app_mailbox_add"), secure=True).status_code == 200
    page = staff.get(reverse("admin:channels_app_mailbox_change", args=[mailbox.pk]), secure=True)
    assert page.status_code == 200
    assert imap.password not in page.content.decode()  # secrets are never shown back


def test_admin_keeps_the_password_when_left_empty(staff, imap, smtp_server):
    mailbox = configured(imap, smtp_server)
    url = reverse("admin:channels_app_mailbox_change", args=[mailbox.pk])
    data = {
        "name": "Renamed",
        "active": "on",
        "from_address": "support@shop.example",
        "from_name": "",
        "imap_host": mailbox.imap_host,
        "imap_port": mailbox.imap_port,
        "imap_security": "none",
        "imap_user": mailbox.imap_user,
        "imap_password": "",
        "folder": "INBOX",
        "processed_folder": "",
        "smtp_host": mailbox.smtp_host,
        "smtp_port": mailbox.smtp_port,
        "smtp_security": "none",
        "smtp_user": "",
        "smtp_password": "",
    }
    response = staff.post(url, data, secure=True)
    assert response.status_code == 302, response.content.decode()[:2000]
    mailbox.refresh_from_db()
    assert mailbox.name == "Renamed" and mailbox.imap_password == imap.password


def test_admin_test_connection_action(staff, imap, smtp_server):
    mailbox = configured(imap, smtp_server, imap_password="wrong")
    response = staff.post(
        reverse("admin:channels_app_mailbox_changelist"),
        {"action": "test_connection", "_selected_action": [mailbox.pk]},
        secure=True,
    )
    assert response.status_code == 302
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("IMAP" in t and "user name or password" in t for t in texts)
    assert any("SMTP: SMTP works." in t for t in texts)
