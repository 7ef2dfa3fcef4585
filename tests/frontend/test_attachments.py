"""Downloading attachments: only from visible tickets, always as a download."""

import pytest
from django.test import Client
from django.urls import reverse

from ticketing.services import NewAttachment, ticket_add_inbound

pytestmark = pytest.mark.django_db


def attach(ticket, filename: str, data: bytes, content_type: str = "text/html"):
    message = ticket_add_inbound(
        ticket=ticket, body_text="see file", attachments=[NewAttachment(filename, content_type, data)]
    )
    return message.attachments.get()


def test_download_is_forced_and_never_rendered(client, org, desk):
    attachment = attach(desk.billing_ticket, "发票 <2026>.html", b"<script>alert(1)</script>")
    client.force_login(org.agent_zh)
    response = client.get(reverse("attachment-download", args=[attachment.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"<script>alert(1)</script>"
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=utf-8''%E5%8F%91%E7%A5%A8%20%3C2026%3E.html" in disposition


def test_attachment_of_a_ticket_outside_scope_is_404(client, org, desk):
    attachment = attach(desk.tech_ticket, "secret.txt", b"secret")
    client.force_login(org.agent_zh)
    response = client.get(reverse("attachment-download", args=[attachment.pk]))
    assert response.status_code == 404
    assert b"secret" not in response.content


def test_anonymous_download_goes_to_sign_in(desk):
    attachment = attach(desk.billing_ticket, "a.txt", b"a")
    response = Client().get(reverse("attachment-download", args=[attachment.pk]), secure=True)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_attachment_too_large_to_store_explains_itself(client, org, desk, settings):
    settings.ATTACHMENT_MAX_BYTES = 4
    attachment = attach(desk.billing_ticket, "video.mp4", b"0123456789", "video/mp4")
    assert not attachment.stored
    client.force_login(org.agent_zh)
    client.cookies["django_language"] = "en"
    response = client.get(reverse("attachment-download", args=[attachment.pk]))
    assert response.status_code == 404
    html = response.content.decode()
    assert "This attachment cannot be downloaded" in html and "video.mp4" in html and "not stored" in html
    assert reverse("ticket-detail", args=[desk.billing_ticket.number]) in html
    ticket_page = client.get(reverse("ticket-detail", args=[desk.billing_ticket.number])).content.decode()
    assert "video.mp4" in ticket_page and "not stored" in ticket_page
