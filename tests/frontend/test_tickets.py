"""The tickets list and a ticket's page: scope, filters, replies, notes, status."""

import pytest
from django.test import Client
from django.urls import reverse

from ticketing.models import Direction, Message, Status
from ticketing.services import NewAttachment, ticket_add_inbound, ticket_change_status

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(client, org):
    client.force_login(org.agent_zh)
    client.cookies["django_language"] = "en"
    return client


def detail_url(ticket) -> str:
    return reverse("ticket-detail", args=[ticket.number])


def test_list_shows_only_tickets_in_scope(agent, desk):
    html = agent.get(reverse("ticket-list")).content.decode()
    assert desk.billing_ticket.subject in html
    assert desk.tech_ticket.subject not in html
    assert "1 ticket" in html


def test_supervisor_sees_every_ticket(client, org, desk):
    client.force_login(org.supervisor)
    html = client.get(reverse("ticket-list")).content.decode()
    assert desk.billing_ticket.subject in html and desk.tech_ticket.subject in html


def test_outsider_sees_no_ticket_and_gets_404_on_one(client, org, desk):
    client.force_login(org.outsider)
    client.cookies["django_language"] = "en"
    assert "There are no tickets you can see yet." in client.get(reverse("ticket-list")).content.decode()
    response = client.get(detail_url(desk.billing_ticket))
    assert response.status_code == 404
    assert desk.billing_ticket.subject not in response.content.decode()


def test_ticket_outside_scope_is_404_for_reading_and_writing(agent, desk):
    tech = desk.tech_ticket
    assert agent.get(detail_url(tech)).status_code == 404
    for name in ["ticket-message", "ticket-status", "ticket-take"]:
        response = agent.post(
            reverse(name, args=[tech.number]), {"kind": "reply", "body_text": "hi", "status": "solved"}
        )
        assert response.status_code == 404
    tech.refresh_from_db()
    assert (tech.status, tech.assignee, tech.messages.count()) == (Status.NEW, None, 1)


def test_filters_by_status_priority_channel_and_search(client, org, desk):
    client.force_login(org.supervisor)
    ticket_change_status(ticket=desk.tech_ticket, status=Status.SOLVED, by=org.supervisor)

    def subjects(**query) -> set[str]:
        html = client.get(reverse("ticket-list"), query).content.decode()
        return {s for s in (desk.billing_ticket.subject, desk.tech_ticket.subject) if s in html}

    assert subjects(status="solved") == {"Login broken"}
    assert subjects(status="unsolved") == {"发票抬头错误"}
    assert subjects(channel="chat") == {"Login broken"}
    assert subjects(priority="urgent") == set()
    assert subjects(q="发票") == {"发票抬头错误"}
    assert subjects(q=f"#{desk.tech_ticket.number}") == {"Login broken"}
    assert subjects(q="alice@example") == {"Login broken"}
    assert subjects(q="张伟") == {"发票抬头错误"}


def test_my_tickets_and_team_queue_views(agent, org, desk):
    assert desk.billing_ticket.subject in agent.get(reverse("ticket-list"), {"view": "queue"}).content.decode()
    assert desk.billing_ticket.subject not in agent.get(reverse("ticket-list"), {"view": "mine"}).content.decode()
    agent.post(reverse("ticket-take", args=[desk.billing_ticket.number]))
    assert desk.billing_ticket.subject in agent.get(reverse("ticket-list"), {"view": "mine"}).content.decode()
    assert desk.billing_ticket.subject not in agent.get(reverse("ticket-list"), {"view": "queue"}).content.decode()


def test_list_pages_through_many_tickets(client, org, desk):
    from tests import factories

    for n in range(30):
        factories.ticket(customer=desk.billing_customer, subject=f"Bulk {n:02d}")
    client.force_login(org.supervisor)
    client.cookies["django_language"] = "en"
    first = client.get(reverse("ticket-list"), {"q": "Bulk"}).content.decode()
    assert "Page 1 of 2" in first and "30 tickets" in first
    second = client.get(reverse("ticket-list"), {"q": "Bulk", "page": 2}).content.decode()
    assert "Page 2 of 2" in second
    assert second.count('class="ticket-no"') == 5


def test_list_queries_do_not_grow_with_rows(client, org, desk, django_assert_max_num_queries):
    from tests import factories

    for n in range(20):
        factories.ticket(customer=desk.billing_customer, subject=f"Row {n}", tags=["vip"])
    client.force_login(org.supervisor)
    client.get(reverse("ticket-list"))  # warm the session and permission caches
    with django_assert_max_num_queries(10):
        assert client.get(reverse("ticket-list")).status_code == 200


def test_detail_shows_the_conversation_and_activity(agent, desk):
    html = agent.get(detail_url(desk.billing_ticket)).content.decode()
    assert "发票抬头写错了" in html
    assert "From the customer" in html
    assert "Ticket created (Email)" in html
    assert f'href="/customers/{desk.billing_customer.pk}/"' in html


def test_reply_is_posted_through_the_service(agent, org, desk):
    ticket = desk.billing_ticket
    response = agent.post(
        reverse("ticket-message", args=[ticket.number]), {"kind": "reply", "body_text": "已为您更正发票"}
    )
    reply = Message.objects.get(ticket=ticket, direction=Direction.OUTBOUND)
    assert response.status_code == 302 and response.url == detail_url(ticket) + f"#message-{reply.pk}"
    assert (reply.author, reply.body_text, reply.delivery_status) == (org.agent_zh, "已为您更正发票", "queued")
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN and ticket.first_response_at is not None
    html = agent.get(detail_url(ticket)).content.decode()
    assert "已为您更正发票" in html and "Reply sent to 张伟." in html and "To the customer" in html


def test_internal_note_is_marked_as_such(agent, desk):
    ticket = desk.billing_ticket
    agent.post(reverse("ticket-message", args=[ticket.number]), {"kind": "note", "body_text": "客户是VIP"})
    note = Message.objects.get(ticket=ticket, direction=Direction.INTERNAL)
    html = agent.get(detail_url(ticket)).content.decode()
    assert f'id="message-{note.pk}" class="msg msg-note"' in html
    assert "Internal note added." in html


def test_empty_reply_is_refused_with_the_reason(agent, desk):
    response = agent.post(
        reverse("ticket-message", args=[desk.billing_ticket.number]), {"kind": "reply", "body_text": " "}
    )
    assert response.status_code == 400
    assert "A reply cannot be empty." in response.content.decode()
    assert desk.billing_ticket.messages.count() == 1


def test_reply_to_a_closed_ticket_keeps_the_text_and_says_why(agent, org, desk):
    ticket_change_status(ticket=desk.billing_ticket, status=Status.CLOSED, by=org.supervisor)
    response = agent.post(
        reverse("ticket-message", args=[desk.billing_ticket.number]), {"kind": "reply", "body_text": "Too late?"}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert f"Ticket #{desk.billing_ticket.number} is closed." in html
    assert "Too late?</textarea>" in html  # nothing the agent typed is lost


def test_reply_with_attachments(agent, desk):
    upload = __import__("django.core.files.uploadedfile", fromlist=["SimpleUploadedFile"]).SimpleUploadedFile
    files = [upload("报价单.pdf", b"%PDF-1.4 test", "application/pdf"), upload("notes.txt", b"hello", "text/plain")]
    agent.post(
        reverse("ticket-message", args=[desk.billing_ticket.number]),
        {"kind": "reply", "body_text": "Please see attached", "attachments": files},
    )
    reply = Message.objects.get(ticket=desk.billing_ticket, direction=Direction.OUTBOUND)
    assert sorted(a.filename for a in reply.attachments.all()) == ["notes.txt", "报价单.pdf"]
    html = agent.get(detail_url(desk.billing_ticket)).content.decode()
    assert "报价单.pdf" in html and reverse("attachment-download", args=[reply.attachments.first().pk]) in html


def test_too_large_attachment_is_refused_before_anything_is_saved(agent, desk, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.ATTACHMENT_MAX_BYTES = 10
    response = agent.post(
        reverse("ticket-message", args=[desk.billing_ticket.number]),
        {"kind": "reply", "body_text": "big", "attachments": [SimpleUploadedFile("big.bin", b"x" * 11)]},
    )
    assert response.status_code == 400
    assert "big.bin is larger than 10" in response.content.decode()
    assert desk.billing_ticket.messages.count() == 1


def test_status_change_through_the_service(agent, desk):
    ticket = desk.billing_ticket
    response = agent.post(reverse("ticket-status", args=[ticket.number]), {"status": "solved"}, follow=True)
    ticket.refresh_from_db()
    assert ticket.status == Status.SOLVED and ticket.solved_at is not None
    html = response.content.decode()
    assert "Status is now “Solved”." in html and "Status: New → Solved" in html


def test_forbidden_status_change_is_explained(agent, org, desk):
    ticket = desk.billing_ticket
    ticket_change_status(ticket=ticket, status=Status.SOLVED, by=org.supervisor)
    response = agent.post(reverse("ticket-status", args=[ticket.number]), {"status": "pending"}, follow=True)
    assert "A ticket cannot go from Solved to Pending." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == Status.SOLVED


def test_take_assigns_to_me(agent, org, desk):
    response = agent.post(reverse("ticket-take", args=[desk.billing_ticket.number]), follow=True)
    desk.billing_ticket.refresh_from_db()
    assert desk.billing_ticket.assignee == org.agent_zh
    assert f"Assigned to {org.agent_zh}" in response.content.decode()


def test_posts_without_csrf_token_are_refused(org, desk):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(org.agent_zh)
    number = desk.billing_ticket.number
    for name, data in [
        ("ticket-message", {"kind": "reply", "body_text": "x"}),
        ("ticket-status", {"status": "solved"}),
    ]:
        assert browser.post(reverse(name, args=[number]), data, secure=True).status_code == 403
    desk.billing_ticket.refresh_from_db()
    assert desk.billing_ticket.status == Status.NEW and desk.billing_ticket.messages.count() == 1


def test_reading_a_ticket_changes_nothing_by_get(agent, desk):
    assert agent.get(reverse("ticket-message", args=[desk.billing_ticket.number])).status_code == 405


def test_plain_text_is_escaped_and_html_is_the_sanitized_copy(agent, desk):
    ticket = desk.billing_ticket
    ticket_add_inbound(ticket=ticket, body_text="<script>alert(1)</script> & <b>bold?</b>")
    ticket_add_inbound(
        ticket=ticket, body_text="", body_html='<p onclick="x()">Hi <img src="https://tracker.example/p.gif"></p>'
    )
    html = agent.get(detail_url(ticket)).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold?&lt;/b&gt;" in html
    assert "<script>alert" not in html and "onclick" not in html
    assert "<p>Hi" in html
    response = agent.get(detail_url(ticket))
    assert "img-src 'self' data:" in response["Content-Security-Policy"]  # no tracking pixels


def test_inline_image_points_at_its_attachment(agent, desk):
    ticket = desk.billing_ticket
    message = ticket_add_inbound(
        ticket=ticket,
        body_text="",
        body_html='<p>Screenshot: <img src="cid:shot@mail"></p>',
        attachments=[NewAttachment("shot.png", "image/png", b"\x89PNG fake", content_id="<shot@mail>")],
    )
    attachment = message.attachments.get()
    html = agent.get(detail_url(ticket)).content.decode()
    assert f'src="{reverse("attachment-download", args=[attachment.pk])}"' in html


def test_ticket_page_queries_do_not_grow_with_the_conversation(agent, org, desk, django_assert_max_num_queries):
    ticket = desk.billing_ticket
    for n in range(15):
        ticket_add_inbound(
            ticket=ticket, body_text=f"message {n}", attachments=[NewAttachment(f"f{n}.txt", "text/plain", b"x%d" % n)]
        )
    agent.post(reverse("ticket-take", args=[ticket.number]))
    agent.get(detail_url(ticket))
    with django_assert_max_num_queries(14):
        html = agent.get(detail_url(ticket)).content.decode()
    assert "message 14" in html and "f14.txt" in html
