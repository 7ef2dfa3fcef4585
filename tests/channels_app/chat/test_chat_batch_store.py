"""The group commit's bulk path (a text line on an open, locked conversation) stores what the ingest line by line
stores: the same rows for the same lines, a resend answered with the stored message, nothing stored twice."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from channels_app.chat import batch_store, services
from channels_app.chat.lines import ChatLine, chat_lines_store
from crm.models import TimelineEntry
from knowledge_base.models import PendingIndex
from ticketing.models import Message, SlaPolicy, SlaTimer, Ticket, TicketEvent
from ticketing.services import ticket_reply

pytestmark = pytest.mark.skipif(
    "not connection.features.can_return_rows_from_bulk_insert", reason="the bulk path needs the inserted ids"
)


def visitor(shop, name: str, **profile):
    found = services.chat_visitor_resolve(widget=shop.widget, visitor_id=None)
    found.widget = shop.widget
    found.name = name
    for field, value in profile.items():
        setattr(found, field, value)
    return found


def chats_opened(shop, prefix: str) -> list:
    """Visitors with an open conversation: a plain one, one with a pre-chat email, one the agent answered (its
    next line starts the next-response clock: stored by the ingest), three in English and one in Chinese."""
    visitors = [
        visitor(shop, f"{prefix} plain"),
        visitor(shop, f"{prefix} email", email=f"{prefix.lower()}@example.com"),
        visitor(shop, f"{prefix} answered"),
        visitor(shop, f"{prefix} zh"),
    ]
    for v in visitors:
        assert chat_lines_store([ChatLine(v, "first", "hello", [])])[0].created
    ticket_reply(ticket=Ticket.objects.get(pk=visitors[2].ticket_id), by=shop.agent, body_text="How can I help?")
    return visitors


def second_lines(visitors) -> list[ChatLine]:
    languages = ["en", "en", "en", "zh-hans"]
    return [
        ChatLine(v, " second ", f"  more from {n} ", [], language)
        for n, (v, language) in enumerate(zip(visitors, languages, strict=True))
    ]


def stored_rows(v, since: dict) -> dict:
    """What a visitor's second line left behind, without ids and times."""
    ticket = Ticket.objects.get(pk=v.ticket_id)
    messages = Message.objects.filter(ticket=ticket, pk__gt=since["message"]).order_by("pk")
    events = TicketEvent.objects.filter(ticket=ticket, pk__gt=since["event"]).order_by("pk")
    timeline = TimelineEntry.objects.filter(person=ticket.customer, pk__gt=since["timeline"]).order_by("pk")
    queued = PendingIndex.objects.filter(pk__gt=since["queued"], object_id__in=[ticket.pk, ticket.customer_id])
    return {
        "messages": [
            (
                m.direction,
                m.channel,
                m.body_text,
                m.body_html,
                m.flagged,
                m.delivery_status,
                m.author_id,
                m.sender.value == v.address,
                m.external_id == services.chat_external_id(v, "second"),
            )
            for m in messages
        ],
        "ticket": {
            field: getattr(ticket, field)
            for field in ("status", "priority", "channel", "assignee_id", "queue_id", "team_id", "sla_policy_id")
        }
        | {
            "touched": ticket.updated_at >= messages[0].created_at,
            "due": [ticket.first_response_due_at is None, ticket.next_response_due_at is None],
        },
        "events": [(e.kind, sorted(e.data), e.data.get("message_id") == messages[0].pk) for e in events],
        "timeline": [(t.kind, t.summary.replace(str(ticket.number), "N"), t.ref_type) for t in timeline],
        "queued": sorted((q.kind, q.object_id == ticket.pk) for q in queued),
        "timers": sorted(
            (t.target, t.target_minutes, t.met_at is None, t.outcome) for t in SlaTimer.objects.filter(ticket=ticket)
        ),
        "identities": sorted(ticket.customer.identities.values_list("kind", flat=True)),
    }


def marks() -> dict:
    def last(model):
        return model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    return {
        "message": last(Message),
        "event": last(TicketEvent),
        "timeline": last(TimelineEntry),
        "queued": last(PendingIndex),
    }


def test_lines_stored_in_bulk_leave_the_rows_the_ingest_leaves_line_by_line(shop, monkeypatch):
    SlaPolicy.objects.create(
        name="Chat", targets={"normal": {"first_response": 60, "next_response": 30, "resolution": 480}}
    )
    reference, bulk = chats_opened(shop, "Ref"), chats_opened(shop, "Bulk")
    assert all(Ticket.objects.get(pk=v.ticket_id).sla_policy_id for v in bulk)
    stored_in_bulk = []
    store = batch_store.bulk_lines_store
    monkeypatch.setattr(
        batch_store, "bulk_lines_store", lambda *a, **kw: stored_in_bulk.append(store(*a, **kw)) or stored_in_bulk[-1]
    )

    before = marks()
    alone = [chat_lines_store([line])[0] for line in second_lines(reference)]  # the reference: the ingest
    rows_alone = [stored_rows(v, before) for v in reference]
    before = marks()
    with CaptureQueriesContext(connection) as queries:
        together = chat_lines_store(second_lines(bulk))
    rows_together = [stored_rows(v, before) for v in bulk]

    assert sorted(stored_in_bulk[0]) == [0, 1, 3]  # the answered conversation's line went through the ingest
    assert rows_together == rows_alone
    assert rows_alone[3]["timeline"] == [("message_in", "#N 收到消息", "ticketing.ticket")]
    assert rows_alone[1]["identities"] == ["chat", "email"]
    assert rows_alone[2]["ticket"]["due"] == [True, False]  # the next-response clock started
    for a, b in zip(alone, together, strict=True):
        assert (a.created, a.queue, a.ticket.status) == (b.created, b.queue, b.ticket.status)
        assert {**a.frame, "id": 0, "at": 0} == {**b.frame, "id": 0, "at": 0}
        assert b.frame["id"] == b.message.pk and b.frame["client_id"] == " second "
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('INSERT INTO "ticketing_message"')]
    assert len(inserts) == 2  # the three simple lines in one statement, the answered one alone


def test_a_resend_in_a_bulk_batch_is_answered_with_the_stored_message_and_nothing_is_stored_twice(shop):
    visitors = [visitor(shop, name) for name in ("Wang", "Li", "Zhao")]
    first = [chat_lines_store([ChatLine(v, "one", f"hi from {v.name}", [])])[0] for v in visitors]
    second = chat_lines_store([ChatLine(visitors[0], "two", "more", [])])[0]
    answers = chat_lines_store(
        [
            ChatLine(visitors[0], "two", "more", []),  # the lost ack's resend: fails the bulk INSERT
            ChatLine(visitors[1], "two", "more from Li", []),
            ChatLine(visitors[2], "two", "more from Zhao", []),
        ]
    )
    assert not answers[0].created and answers[0].message == second.message
    assert answers[0].frame["client_id"] == "two" and answers[0].frame["text"] == "more"
    assert answers[1].created and answers[2].created
    for v, opened in zip(visitors, first, strict=True):
        texts = list(Message.objects.filter(ticket=opened.ticket).order_by("pk").values_list("body_text", flat=True))
        assert texts == [f"hi from {v.name}", "more" if v.name == "Wang" else f"more from {v.name}"]
    events = TicketEvent.objects.filter(kind="message.received").values_list("data__message_id", flat=True)
    assert sorted(events) == sorted(Message.objects.values_list("pk", flat=True))  # one event a stored message


def test_the_search_queue_is_the_only_receiver_of_a_saved_message():
    """The bulk path queues the search update of its messages' tickets itself instead of sending post_save for each:
    a new receiver must be called from channels_app/chat/batch_store.py too."""
    from django.db.models.signals import post_save

    receivers = [receiver.__qualname__ for receiver in post_save._live_receivers(Message)[0]]
    assert receivers == ["_message"]


def test_a_batch_of_open_conversations_is_stored_in_a_few_statements(shop):
    visitors = [visitor(shop, f"V{n}") for n in range(10)]
    chat_lines_store([ChatLine(v, "first", "open", []) for v in visitors])
    with CaptureQueriesContext(connection) as together:
        answers = chat_lines_store([ChatLine(v, "second", "more", []) for v in visitors])
    assert all(answer.created for answer in answers)
    # identities, locks, messages, tickets' activity, events, timeline, search queue, routing check (3), commit
    assert len(together.captured_queries) <= 12, [q["sql"][:60] for q in together.captured_queries]
