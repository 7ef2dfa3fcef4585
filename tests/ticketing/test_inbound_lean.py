"""The lean path of a customer message on an open conversation: the SLA recompute is skipped only
when it could not change a timer, the thread is read once (locked), and a resend is still stored once."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests import factories
from ticketing import services
from ticketing.inbound import InboundMessage, inbound_ingest
from ticketing.models import Message, NextResponseMode, SlaPolicy, SlaTimer, Status, Ticket
from ticketing.sla.services import sla_recompute

SH = ZoneInfo("Asia/Shanghai")
TARGETS = {"normal": {"first_response": 60, "next_response": 120, "resolution": 480}}
TIMER_COLUMNS = ("target", "started_at", "policy_id", "target_minutes", "due_at", "warn_at", "fire_at")
TIMER_COLUMNS += ("paused_at", "paused_seconds", "met_at", "outcome", "warned_at", "breached_at")
TICKET_COLUMNS = ("sla_policy_id", "first_response_due_at", "next_response_due_at", "resolution_due_at")


def sla_state(ticket: Ticket) -> tuple:
    timers = SlaTimer.objects.filter(ticket=ticket).order_by("target", "started_at").values_list(*TIMER_COLUMNS)
    return list(timers), Ticket.objects.filter(pk=ticket.pk).values_list(*TICKET_COLUMNS).get()


def assert_as_full_recompute(ticket: Ticket) -> None:
    """The timers the services left are exactly those a full recompute makes now."""
    left = sla_state(ticket)
    sla_recompute(ticket=Ticket.objects.get(pk=ticket.pk))
    assert sla_state(ticket) == left


@pytest.mark.parametrize("mode", [NextResponseMode.CUSTOMER_REPLY, NextResponseMode.PERIODIC])
def test_timers_are_those_of_a_full_recompute_after_every_customer_message(org, clock, mode):
    SlaPolicy.objects.create(name="Standard", position=10, targets=TARGETS, warn_percent=75, next_response_mode=mode)
    ticket = factories.ticket()
    steps = [
        ("in", 5),  # before any reply: no next-response clock
        ("in", 5),
        ("reply", 10),
        ("in", 10),  # starts a next-response cycle
        ("in", 5),  # same cycle
        ("in", 0),  # same instant
        ("reply", 20),
        ("reply", 5),
        ("in", 15),
        ("status", Status.PENDING),
        ("in", 5),  # reopens: recomputed
        ("in", 5),
    ]
    for step, value in steps:
        if step == "in":
            clock.advance(minutes=value)
            services.ticket_add_inbound(ticket=ticket, body_text="more")
            assert_as_full_recompute(ticket)
        elif step == "reply":
            clock.advance(minutes=value)
            services.ticket_reply(ticket=ticket, by=org.agent_zh, body_text="answer")
        else:
            services.ticket_change_status(ticket=ticket, status=value, by=org.agent_zh)


def test_a_message_dated_before_the_waiting_one_restarts_the_cycle_from_it(org, clock):
    """An adapter may date a message in the past (email received_at): then the clock must move."""
    SlaPolicy.objects.create(name="Standard", position=10, targets=TARGETS)
    ticket = factories.ticket()
    services.ticket_reply(ticket=ticket, by=org.agent_zh, body_text="answer")
    replied = clock.at
    clock.advance(minutes=30)
    services.ticket_add_inbound(ticket=ticket, body_text="late")
    services.ticket_add_inbound(ticket=ticket, body_text="earlier", at=replied + timedelta(minutes=10))
    assert_as_full_recompute(ticket)
    ticket.refresh_from_db()
    assert ticket.next_response_due_at == replied + timedelta(minutes=130)


def test_the_recompute_is_skipped_when_nothing_can_move(org, clock, monkeypatch):
    SlaPolicy.objects.create(name="Standard", position=10, targets=TARGETS)
    ticket = factories.ticket()
    calls = []
    monkeypatch.setattr(services, "sla_recompute", lambda **kwargs: calls.append(kwargs))
    services.ticket_add_inbound(ticket=ticket, body_text="more")  # no reply yet
    assert calls == []
    monkeypatch.undo()


def chat(external_id: str, ticket_id=None) -> InboundMessage:
    return InboundMessage(
        channel="chat", sender_address="visitor-1", external_id=external_id, text="hi", ticket_id=ticket_id
    )


def test_a_line_on_an_open_chat_makes_few_queries(db, django_capture_on_commit_callbacks):
    first = inbound_ingest(chat("c1"))
    with CaptureQueriesContext(connection) as captured, django_capture_on_commit_callbacks(execute=True):
        result = inbound_ingest(chat("c2", ticket_id=first.ticket.pk))
    assert result.created and result.ticket == first.ticket
    # identity, locked thread, message, search queue, event, routing check, ticket touch, timeline
    # (+ the savepoint pair); it was 23 with the duplicate look-up, the re-reads and the SLA recompute
    assert len(captured.captured_queries) <= 11, [q["sql"][:80] for q in captured.captured_queries]


def test_a_resend_on_an_open_chat_is_stored_once(db):
    first = inbound_ingest(chat("c1"))
    second = inbound_ingest(chat("c2", ticket_id=first.ticket.pk))
    again = inbound_ingest(chat("c2", ticket_id=first.ticket.pk))
    assert not again.created and again.message == second.message
    assert Message.objects.filter(external_id="c2").count() == 1
    assert first.ticket.events.filter(kind="message.received").count() == 2


def test_a_closed_thread_starts_a_new_ticket_and_the_hint_is_only_the_senders(db):
    first = inbound_ingest(chat("c1"))
    services.ticket_change_status(ticket=first.ticket, status=Status.CLOSED, by=None)
    second = inbound_ingest(chat("c2", ticket_id=first.ticket.pk))
    assert second.ticket != first.ticket
    other = InboundMessage(channel="chat", sender_address="visitor-2", external_id="c3", ticket_id=second.ticket.pk)
    assert inbound_ingest(other).ticket != second.ticket
