"""Group commit of chat lines: lines of several visitors stored in one transaction, each acked after
the commit, a bad line failing alone, a resend answered with the stored message, order kept."""

import asyncio
import threading

from asgiref.sync import async_to_sync
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from channels_app.chat import lines, selectors, services
from channels_app.chat.lines import ChatLine, LineCommitter, chat_lines_store
from ticketing import events
from ticketing.inbound import InboundMessage, inbound_ingest
from ticketing.models import Message, Ticket

from .conftest import communicator, hello, receive_type, run


def visitor(shop, name: str):
    found = services.chat_visitor_resolve(widget=shop.widget, visitor_id=None)
    found.widget = shop.widget
    found.name = name
    return found


def test_a_batch_stores_every_good_line_and_fails_only_the_bad_one(shop, monkeypatch):
    trips = []
    send_all = events._send_all
    monkeypatch.setattr(events, "_send_all", lambda sends: trips.append(len(sends)) or send_all(sends))
    wang, li, zhao = visitor(shop, "Wang"), visitor(shop, "Li"), visitor(shop, "Zhao")
    answers = chat_lines_store(
        [
            ChatLine(visitor=wang, client_id="w1", text="你好", attachments=[]),
            ChatLine(visitor=li, client_id="l1", text="", attachments=[]),  # empty: refused
            ChatLine(visitor=zhao, client_id="z1", text="hello", attachments=[]),
        ]
    )
    assert isinstance(answers[1], ValidationError)
    assert [answers[0].frame["text"], answers[2].frame["text"]] == ["你好", "hello"]
    assert answers[0].created and answers[0].queue == {"position": 1, "wait_seconds": None}
    assert answers[2].queue["position"] == 2
    stored = Message.objects.order_by("pk")
    assert [(m.body_text, m.ticket_id) for m in stored] == [("你好", wang.ticket_id), ("hello", zhao.ticket_id)]
    assert li.ticket_id is None and Ticket.objects.count() == 2
    assert len(trips) == 1  # both lines' live events in one trip, after the commit


def test_a_line_that_fails_in_a_batch_fails_alone_and_its_resend_is_answered(shop, monkeypatch):
    wang, li = visitor(shop, "Wang"), visitor(shop, "Li")
    position = selectors.queue_position

    def failing_for_li(ticket):
        if ticket.customer.name == "Li":
            raise RuntimeError("boom")
        return position(ticket)

    monkeypatch.setattr(selectors, "queue_position", failing_for_li)
    answers = chat_lines_store(
        [
            ChatLine(visitor=wang, client_id="w1", text="one", attachments=[]),
            ChatLine(visitor=li, client_id="l1", text="two", attachments=[]),
        ]
    )
    assert isinstance(answers[1], RuntimeError) and answers[0].created
    assert Message.objects.filter(ticket__customer__name="Wang").count() == 1
    monkeypatch.undo()
    again = chat_lines_store([ChatLine(visitor=li, client_id="l1", text="two", attachments=[])])[0]
    assert again.ticket.pk == li.ticket_id and again.frame["text"] == "two"
    assert Message.objects.filter(ticket__customer__name="Li").count() == 1  # never twice


def test_lines_stored_together_make_fewer_queries_than_one_by_one(shop):
    visitors = [visitor(shop, f"V{n}") for n in range(10)]
    chat_lines_store([ChatLine(v, "first", "open", []) for v in visitors])
    with CaptureQueriesContext(connection) as alone:
        chat_lines_store([ChatLine(visitors[0], "second", "more", [])])
    with CaptureQueriesContext(connection) as together:
        answers = chat_lines_store([ChatLine(v, "third", "more", []) for v in visitors])
    assert all(answer.created for answer in answers)
    assert [answer.message.sender.value for answer in answers] == [v.address for v in visitors]
    assert {answer.ticket.customer_id for answer in answers} == {v.ticket.customer_id for v in visitors}
    # one line: identity, locked ticket, message, search queue, event, routing check (2), ticket touch,
    # timeline, commit. Together (lines on open conversations: channels_app/chat/batch_store.py): the visitors'
    # identities and their tickets (locked) in one query each, the messages in one INSERT, the tickets' activity in
    # one UPDATE, the events, search-queue rows and timeline lines in one INSERT each, the routing check once for
    # the batch (3), one commit.
    assert len(alone.captured_queries) <= 11
    assert len(together.captured_queries) <= 12, [q["sql"][:60] for q in together.captured_queries]
    assert not [q for q in together.captured_queries if "SAVEPOINT" in q["sql"].upper()]
    ticket_reads = [q["sql"] for q in together.captured_queries if q["sql"].startswith('SELECT "ticketing_ticket"')]
    assert not [sql for sql in ticket_reads if '"ticketing_ticket"."id" = ' in sql]  # no look-up a line
    locks = [sql for sql in ticket_reads if sql.endswith('ORDER BY "ticketing_ticket"."id" ASC FOR UPDATE')]
    assert len(locks) == (1 if connection.features.has_select_for_update else 0)


def test_an_error_caught_inside_a_line_of_a_batch_stores_the_lines_one_by_one(shop, monkeypatch):
    """An error caught inside a block without a savepoint leaves the batch's transaction marked for rollback: the
    batch must not be acked as stored; each line is stored alone instead."""
    from django.db import IntegrityError, transaction

    wang, li = visitor(shop, "Wang"), visitor(shop, "Li")
    store = lines._store
    failed, batches = [], []

    def store_with_a_caught_error(line, **kwargs):
        batches.append(bool(kwargs))
        if line.visitor is li and not failed:
            failed.append(line)
            try:
                with transaction.atomic(savepoint=False):
                    raise IntegrityError("caught and ignored inside the line")
            except IntegrityError:
                pass
        return store(line, **kwargs)

    monkeypatch.setattr(lines, "_store", store_with_a_caught_error)
    answers = chat_lines_store(
        [ChatLine(visitor=wang, client_id="w1", text="one", attachments=[]), ChatLine(li, "l1", "two", [])]
    )
    assert failed and all(answer.created for answer in answers)
    assert batches == [True, True, False, False]  # in the batch, then each alone
    assert sorted(Message.objects.values_list("body_text", flat=True)) == ["one", "two"]


def test_a_resend_in_a_batch_is_answered_with_the_stored_message_and_order_is_kept(shop):
    wang = visitor(shop, "Wang")
    first = chat_lines_store([ChatLine(visitor=wang, client_id="w1", text="one", attachments=[])])[0]
    other_tab = services.chat_visitor_resolve(widget=shop.widget, visitor_id=wang.visitor_id)
    other_tab.widget = shop.widget
    answers = chat_lines_store(
        [
            ChatLine(visitor=wang, client_id="w2", text="two", attachments=[]),
            ChatLine(visitor=other_tab, client_id="w1", text="one", attachments=[]),  # the lost ack's resend
            ChatLine(visitor=wang, client_id="w3", text="three", attachments=[]),
        ]
    )
    assert answers[1].message == first.message and not answers[1].created
    assert answers[0].created and answers[2].created
    texts = list(Message.objects.filter(ticket=first.ticket).order_by("created_at", "pk").values_list("body_text"))
    assert texts == [("one",), ("two",), ("three",)]


def test_lines_arriving_while_the_database_is_busy_are_stored_together(shop, monkeypatch):
    batches = []
    release = threading.Event()
    store = lines.chat_lines_store

    def recording(batch, **kwargs):
        batches.append([line.client_id for line in batch])
        if len(batches) == 1:
            release.wait(5)  # the first line holds the database thread while the others arrive
        return store(batch, **kwargs)

    monkeypatch.setattr(lines, "chat_lines_store", recording)
    monkeypatch.setattr(lines, "STORERS", 1)  # one database thread, busy with the first line
    visitors = [visitor(shop, name) for name in ("A", "B", "C", "D")]

    async def scenario():
        committer = LineCommitter()
        first = asyncio.ensure_future(committer.store(ChatLine(visitors[0], "a1", "first", [])))
        while not batches:
            await asyncio.sleep(0.01)
        rest = [asyncio.ensure_future(committer.store(ChatLine(v, f"{v.name}1", "next", []))) for v in visitors[1:]]
        await asyncio.sleep(0.05)
        release.set()
        return await asyncio.gather(first, *rest)

    stored = async_to_sync(scenario)()
    assert batches == [["a1"], ["B1", "C1", "D1"]]
    assert all(line.created for line in stored)
    assert all(Message.objects.filter(pk=line.message.pk).exists() for line in stored)


def test_two_visitors_chatting_at_once_are_each_acked_with_their_own_line(shop):
    async def scenario():
        socks = [communicator(client=(f"203.0.113.{n}", 50000)) for n in (1, 2)]
        for sock in socks:
            await sock.connect()
            await hello(sock)
        for n, sock in enumerate(socks):
            await sock.send_json_to({"type": "message", "client_id": f"c{n}", "text": f"line {n}"})
        acks = [await receive_type(sock, "ack") for sock in socks]
        for sock in socks:
            await sock.disconnect()
        return acks

    acks = run(scenario)
    assert [ack["message"]["text"] for ack in acks] == ["line 0", "line 1"]
    assert {ack["id"] for ack in acks} == set(Message.objects.values_list("pk", flat=True))


def test_a_known_sender_is_used_only_for_its_own_address(db):
    first = inbound_ingest(InboundMessage(channel="chat", sender_address="w:v1", external_id="x1", text="hi"))
    other = inbound_ingest(InboundMessage(channel="chat", sender_address="w:v2", external_id="x2", text="hi"))
    line = InboundMessage(
        channel="chat",
        sender_address="w:v1",
        external_id="x3",
        text="more",
        ticket_id=first.ticket.pk,
        sender=other.message.sender,  # another visitor's identity: looked up instead
    )
    again = inbound_ingest(line)
    assert again.message.sender == first.message.sender and again.ticket == first.ticket


def test_a_locked_thread_is_used_only_when_it_is_the_hinted_ticket_of_the_sender(db):
    first = inbound_ingest(InboundMessage(channel="chat", sender_address="w:v1", external_id="x1", text="hi"))
    other = inbound_ingest(InboundMessage(channel="chat", sender_address="w:v2", external_id="x2", text="hi"))
    line = {"channel": "chat", "sender_address": "w:v1", "text": "more", "ticket_id": first.ticket.pk}
    # another ticket than the hint: the hint is looked up instead
    again = inbound_ingest(InboundMessage(**line, external_id="x3", thread=other.ticket))
    assert again.ticket == first.ticket
    # the hinted ticket, but it is not the sender's conversation: a new one starts, as with the look-up
    stranger = Ticket.objects.get(pk=other.ticket.pk)
    stranger.pk = first.ticket.pk
    apart = inbound_ingest(InboundMessage(**line, external_id="x4", thread=stranger))
    assert apart.ticket not in {first.ticket, other.ticket}
    assert apart.ticket.customer == first.ticket.customer
