"""/api/v1/tickets/<id>/messages/: the conversation, internal notes for agents only,
attachments with their download link, and posting replies and notes."""

import hashlib

from ticketing.models import Direction, Message
from ticketing.services import NewAttachment, ticket_add_inbound, ticket_add_note


def url(ticket) -> str:
    return f"/api/v1/tickets/{ticket.id}/messages/"


def test_agents_see_internal_notes_sales_roles_do_not(org, book, api):
    ticket = book["assigned_to_zh"]  # visible to agent_zh (assigned) and to the rep (their customer)
    ticket_add_note(ticket=ticket, by=org.agent_zh, body_text="Customer was rude on the phone.")
    for_agent = api(org.agent_zh).get(url(ticket)).json()["results"]
    assert [m["direction"] for m in for_agent] == ["in", "note"]
    for_rep = api(org.sales_rep).get(url(ticket))
    assert for_rep.status_code == 200
    assert [m["direction"] for m in for_rep.json()["results"]] == ["in"]
    assert "rude" not in for_rep.content.decode()


def test_attachments_are_listed_with_their_digest_and_download_link(org, book, api, settings):
    settings.ATTACHMENT_MAX_BYTES = 10
    ticket = book["billing_ticket"]
    small, large = b"receipt", b"x" * 11
    ticket_add_inbound(
        ticket=ticket,
        body_text="Here is the receipt",
        attachments=[
            NewAttachment(filename="receipt.pdf", content_type="application/pdf", data=small),
            NewAttachment(filename="scan.tiff", content_type="image/tiff", data=large),
        ],
    )
    messages = api(org.agent_zh).get(url(ticket)).json()["results"]
    stored, dropped = messages[-1]["attachments"]
    assert stored["filename"] == "receipt.pdf"
    assert stored["size"] == len(small)
    assert stored["sha256"] == hashlib.sha256(small).hexdigest()
    assert stored["stored"] is True
    assert stored["download_url"] == f"/attachments/{stored['id']}/download/"
    assert dropped["stored"] is False
    assert "too large" in dropped["note"]
    assert dropped["download_url"] is None


def test_messages_are_oldest_first_and_paginated(org, book, api):
    ticket = book["billing_ticket"]
    for n in range(4):
        ticket_add_note(ticket=ticket, by=org.agent_zh, body_text=f"note {n}")
    page = api(org.agent_zh).get(url(ticket), {"page_size": 2}).json()
    assert page["count"] == 5
    assert [m["body_text"] for m in page["results"]] == ["Hello", "note 0"]


def test_posting_a_reply_or_a_note(org, book, api):
    ticket = book["billing_ticket"]
    agent = api(org.agent_zh)
    reply = agent.post(url(ticket), {"direction": "out", "body_text": "Fixed."}, format="json")
    note = agent.post(url(ticket), {"direction": "note", "body_text": "Told finance."}, format="json")
    assert (reply.status_code, note.status_code) == (201, 201)
    assert Message.objects.get(pk=reply.json()["id"]).direction == Direction.OUTBOUND
    assert Message.objects.get(pk=note.json()["id"]).direction == Direction.INTERNAL
    missing = agent.post(url(ticket), {"body_text": "which one?"}, format="json")
    assert missing.status_code == 400 and "direction" in missing.json()["errors"]
    inbound = agent.post(url(ticket), {"direction": "in", "body_text": "spoofed"}, format="json")
    assert inbound.status_code == 400
    assert not Message.objects.filter(body_text="spoofed").exists()


def test_sales_rep_may_read_but_not_post(org, book, api):
    ticket = book["assigned_to_zh"]
    answer = api(org.sales_rep).post(url(ticket), {"direction": "out", "body_text": "hi"}, format="json")
    assert answer.status_code == 403
    assert ticket.messages.count() == 1


def test_messages_of_a_ticket_out_of_scope_or_with_a_garbage_id_are_404(org, book, api):
    agent = api(org.agent_zh)
    assert agent.get(url(book["tech_ticket"])).status_code == 404
    for bad in ("abc", "0", "1e3", "99999999999999999999999"):
        assert agent.get(f"/api/v1/tickets/{bad}/messages/").status_code == 404, bad
