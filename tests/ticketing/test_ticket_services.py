"""The ticket actions: create, reply, note, assign, status, update, merge, attachments."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from tests import factories
from ticketing.models import Attachment, DeliveryStatus, Direction, Status, Ticket, TicketEvent
from ticketing.services import (
    NewAttachment,
    ticket_add_note,
    ticket_assign,
    ticket_change_status,
    ticket_create,
    ticket_merge,
    ticket_reply,
    ticket_update,
)


@pytest.fixture
def billing_queue(org):
    return factories.queue("Billing", team_=org.billing_team, is_default=True)


def test_new_ticket_gets_a_number_queue_team_and_first_message(org, billing_queue):
    customer = factories.person("张三")
    ticket = ticket_create(by=None, customer=customer, subject="申请退款", channel="email", body_text="请退款")
    assert ticket.number == 10000 + ticket.pk
    assert (ticket.queue, ticket.team, ticket.status) == (billing_queue, org.billing_team, Status.NEW)
    message = ticket.messages.get()
    assert (message.direction, message.body_text) == (Direction.INBOUND, "请退款")
    assert list(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True)) == [
        "ticket.created",
        "message.received",
    ]
    assert customer.timeline.filter(kind="ticket_created").exists()


def test_bad_ticket_fields_are_named(org):
    with pytest.raises(ValidationError) as caught:
        ticket_create(by=None, customer=factories.person(), subject=" ", priority="asap", channel="fax")
    assert set(caught.value.message_dict) == {"subject", "priority", "channel"}
    assert Ticket.objects.count() == 0


def test_reply_opens_records_first_response_and_queues_delivery(org, billing_queue):
    ticket = factories.ticket(channel="email")
    html = "<p>已处理<script>x()</script></p>"
    reply = ticket_reply(ticket=ticket, by=org.agent_zh, body_text="已处理", body_html=html)
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert ticket.first_response_at == reply.created_at
    assert reply.delivery_status == DeliveryStatus.QUEUED
    assert reply.body_html == "<p>已处理</p>"
    ticket_reply(ticket=ticket, by=org.agent_zh, body_text="again")
    ticket.refresh_from_db()
    assert ticket.first_response_at == reply.created_at  # the first one stays


def test_empty_reply_is_refused(org):
    with pytest.raises(ValidationError, match="cannot be empty"):
        ticket_reply(ticket=factories.ticket(), by=org.agent_zh, body_text="   ")


def test_notes_are_internal(org):
    ticket = factories.ticket()
    note = ticket_add_note(ticket=ticket, by=org.agent_zh, body_text="VIP, be quick")
    assert note.direction == Direction.INTERNAL and not note.is_public
    assert note.delivery_status == ""


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        (["open", "pending", "open", "solved", "closed"], True),
        (["solved", "open"], True),
        (["closed", "open"], False),
        (["solved", "pending"], False),
        (["on_hold", "solved", "closed", "solved"], False),
    ],
)
def test_status_transitions_are_enforced(org, path, allowed):
    ticket = factories.ticket()
    *fine, last = path
    for status in fine:
        ticket = ticket_change_status(ticket=ticket, status=status, by=org.agent_zh)
    if allowed:
        assert ticket_change_status(ticket=ticket, status=last, by=org.agent_zh).status == last
    else:
        with pytest.raises(ValidationError, match="cannot go from"):
            ticket_change_status(ticket=ticket, status=last, by=org.agent_zh)
        ticket.refresh_from_db()
        assert ticket.status == fine[-1]


def test_closing_sets_times_and_closed_ticket_takes_no_reply(org):
    ticket = factories.ticket()
    ticket = ticket_change_status(ticket=ticket, status="closed", by=org.agent_zh)
    assert ticket.closed_at and ticket.solved_at
    with pytest.raises(ValidationError, match="closed"):
        ticket_reply(ticket=ticket, by=org.agent_zh, body_text="hello?")


def test_unknown_status_is_refused(org):
    with pytest.raises(ValidationError, match="Unknown status"):
        ticket_change_status(ticket=factories.ticket(), status="done", by=None)


def test_agents_assign_to_themselves_supervisors_to_anyone(org, billing_queue):
    ticket = factories.ticket()
    with pytest.raises(PermissionDenied):
        ticket_assign(ticket=ticket, agent=org.agent_en, by=org.agent_zh)
    ticket = ticket_assign(ticket=ticket, agent=org.agent_zh, by=org.agent_zh)
    assert (ticket.assignee, ticket.status) == (org.agent_zh, Status.OPEN)
    tech = factories.queue("Tech", team_=org.tech_team)
    ticket = ticket_assign(ticket=ticket, agent=org.agent_en, by=org.supervisor, queue=tech)
    assert (ticket.assignee, ticket.queue, ticket.team) == (org.agent_en, tech, org.tech_team)
    org.agent_en.agent_profile.refresh_from_db()
    assert org.agent_en.agent_profile.last_assigned_at is not None
    event = TicketEvent.objects.filter(ticket=ticket, kind="ticket.assigned").last()
    assert event.data["assignee"] == {"from": org.agent_zh.id, "to": org.agent_en.id}


def test_update_records_what_changed(org):
    ticket = factories.ticket(subject="Old")
    ticket_update(ticket=ticket, by=org.agent_zh, subject="New", priority="urgent", tags=["退款", "VIP"])
    ticket.refresh_from_db()
    assert (ticket.subject, ticket.priority) == ("New", "urgent")
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["VIP", "退款"]
    event = TicketEvent.objects.get(ticket=ticket, kind="ticket.updated")
    assert event.data["priority"] == {"from": "normal", "to": "urgent"}


def test_merge_moves_messages_and_closes_the_source(org):
    customer = factories.person()
    source = factories.ticket(customer=customer, body_text="first")
    target = factories.ticket(customer=customer, body_text="second")
    ticket_merge(source=source, target=target, by=org.supervisor)
    source.refresh_from_db()
    assert (source.status, source.merged_into) == (Status.CLOSED, target)
    assert sorted(target.messages.values_list("body_text", flat=True)) == ["first", "second"]
    with pytest.raises(ValidationError):
        ticket_merge(source=target, target=target, by=org.supervisor)


def test_merge_needs_permission(org):
    with pytest.raises(PermissionDenied):
        ticket_merge(source=factories.ticket(), target=factories.ticket(), by=org.sales_rep)


def test_attachments_are_stored_once_by_hash_and_oversize_is_recorded(org, settings):
    settings.ATTACHMENT_MAX_BYTES = 10
    ticket = factories.ticket()
    files = [
        NewAttachment("发票.pdf", "application/pdf", b"%PDF-1"),
        NewAttachment("copy.pdf", "application/pdf", b"%PDF-1"),
        NewAttachment("big.bin", "application/octet-stream", b"x" * 11),
    ]
    ticket_reply(ticket=ticket, by=org.agent_zh, body_text="see files", attachments=files)
    small, copy, big = Attachment.objects.order_by("id")
    assert small.stored and small.file.name == copy.file.name and small.filename == "发票.pdf"
    assert small.file.read() == b"%PDF-1"
    assert not big.stored and "too large" in big.note and big.size == 11


def test_attachment_names_cannot_escape_the_store(org):
    ticket = factories.ticket()
    ticket_add_note(
        ticket=ticket, by=org.agent_zh, body_text="x", attachments=[NewAttachment("../../etc/passwd", "", b"a")]
    )
    attachment = Attachment.objects.get()
    assert "/" not in attachment.filename
    assert attachment.file.name.startswith("attachments/")
