"""The visitor's socket /ws/chat/<key>/ through the real ASGI application (Channels' communicator)."""

import asyncio

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from accounts.models import AgentProfile, Presence
from channels_app.chat.models import ChatVisitor
from channels_app.models import OutboundEmail, OutboundKind
from tests.channels_app.chat.conftest import communicator, hello, receive_type, run
from ticketing.models import Channel, DeliveryStatus, Direction, Message, Status, Ticket
from ticketing.services import ticket_assign, ticket_change_status, ticket_reply


def test_a_site_not_allowed_cannot_open_the_socket(shop):
    async def scenario():
        refused, _ = await communicator(origin="https://evil.example.net").connect()
        missing, _ = await communicator(origin="").connect()
        unknown, _ = await communicator(key="nope").connect()
        comm = communicator(origin="http://127.0.0.1:8123")  # a port wildcard in the allowed origins
        allowed, _ = await comm.connect()
        await comm.disconnect()
        return refused, missing, unknown, allowed

    assert run(scenario) == (False, False, False, True)


def test_message_is_stored_before_its_ack_and_a_resend_is_not_doubled(shop):
    async def scenario():
        comm = communicator()
        await comm.connect()
        welcome = await hello(comm)
        await comm.send_json_to({"type": "message", "client_id": "c-1", "text": "我的发票开错了"})
        ack = await receive_type(comm, "ack")
        stored = await database_sync_to_async(lambda: Message.objects.filter(pk=ack["id"]).exists())()
        # the ack was lost: the widget sends the same message again
        await comm.send_json_to({"type": "message", "client_id": "c-1", "text": "我的发票开错了"})
        again = await receive_type(comm, "ack")
        await comm.disconnect()
        return welcome, ack, stored, again

    welcome, ack, stored, again = run(scenario)
    assert welcome["token"] and welcome["conversation"] is None and welcome["open"] is True
    assert stored and ack["client_id"] == "c-1" and ack["duplicate"] is False
    assert again["id"] == ack["id"] and again["duplicate"] is True
    ticket = Ticket.objects.get()
    assert ticket.channel == Channel.CHAT and ticket.queue == shop.queue
    assert [m.body_text for m in ticket.messages.all()] == ["我的发票开错了"]


def test_a_reconnect_with_the_token_resumes_the_conversation_with_history(shop):
    async def first_visit():
        comm = communicator()
        await comm.connect()
        welcome = await hello(comm)
        await comm.send_json_to({"type": "message", "client_id": "a", "text": "你好"})
        await receive_type(comm, "ack")
        await comm.send_json_to({"type": "message", "client_id": "b", "text": "还在吗？"})
        await receive_type(comm, "ack")
        await comm.disconnect()
        return welcome["token"]

    token = run(first_visit)
    ticket = Ticket.objects.get()
    ticket_reply(ticket=ticket, by=shop.agent, body_text="您好，我是李娜")

    async def second_visit():
        comm = communicator()
        await comm.connect()
        welcome = await hello(comm, token=token)
        await comm.send_json_to({"type": "message", "client_id": "c", "text": "谢谢"})
        await receive_type(comm, "ack")
        await comm.disconnect()
        return welcome

    welcome = run(second_visit)
    history = welcome["conversation"]["history"]
    assert [(m["from"], m["text"]) for m in history] == [
        ("visitor", "你好"),
        ("visitor", "还在吗？"),
        ("agent", "您好，我是李娜"),
    ]
    assert history[0]["client_id"] == "a" and history[2]["name"] == "李娜 Li Na"
    assert Ticket.objects.count() == 1 and ticket.messages.filter(direction=Direction.INBOUND).count() == 3
    assert ChatVisitor.objects.count() == 1


def test_a_forged_token_gets_a_new_visitor_not_someone_elses_conversation(shop):
    async def scenario():
        comm = communicator()
        await comm.connect()
        first = await hello(comm)
        await comm.send_json_to({"type": "message", "client_id": "a", "text": "secret order 42"})
        await receive_type(comm, "ack")
        await comm.disconnect()
        forged = first["token"][:-3] + ("AAA" if not first["token"].endswith("AAA") else "BBB")
        comm = communicator()
        await comm.connect()
        second = await hello(comm, token=forged)
        await comm.disconnect()
        return first, second

    first, second = run(scenario)
    assert second["conversation"] is None and second["token"] != first["token"]


def test_agent_reply_arrives_live_with_name_and_delivery_is_recorded(shop):
    async def scenario():
        comm = communicator()
        await comm.connect()
        await hello(comm)
        await comm.send_json_to({"type": "message", "client_id": "q", "text": "<b>help</b>"})
        await receive_type(comm, "ack")
        ticket = await database_sync_to_async(Ticket.objects.get)()
        await database_sync_to_async(ticket_assign)(ticket=ticket, agent=shop.agent, by=shop.agent)
        joined = await receive_type(comm, "agent.joined")
        reply = await database_sync_to_async(ticket_reply)(ticket=ticket, by=shop.agent, body_text="<i>on it</i>")
        frame = await receive_type(comm, "message")
        while frame["from"] != "agent":
            frame = await receive_type(comm, "message")
        sent = await database_sync_to_async(lambda: Message.objects.get(pk=reply.pk).delivery_status)()
        await comm.send_json_to({"type": "delivered", "ids": [frame["id"]]})
        await comm.send_json_to({"type": "ping"})
        await receive_type(comm, "pong")
        await database_sync_to_async(ticket_change_status)(ticket=ticket, status=Status.SOLVED, by=shop.agent)
        ended = await receive_type(comm, "ended")
        await comm.disconnect()
        return joined, frame, sent, ended

    joined, frame, sent, ended = run(scenario)
    assert joined["name"] == "李娜 Li Na"
    assert frame["text"] == "<i>on it</i>" and frame["name"] == "李娜 Li Na"  # markup travels as text
    assert sent == DeliveryStatus.SENT
    assert Message.objects.get(pk=frame["id"]).delivery_status == DeliveryStatus.DELIVERED
    assert ended["status"] == "solved"
    assert Message.objects.get(direction=Direction.INBOUND).body_text == "<b>help</b>"


def test_malformed_frames_get_error_frames_and_the_socket_lives_on(shop):
    async def scenario():
        comm = communicator()
        await comm.connect()
        codes = []
        await comm.send_json_to({"type": "message", "client_id": "x", "text": "before hello"})
        codes.append((await receive_type(comm, "error"))["code"])
        await hello(comm)
        for raw in ["not json", "[1, 2]", '{"type": 5}', '{"type": "launch"}', "\u0000"]:
            await comm.send_to(text_data=raw)
            codes.append((await receive_type(comm, "error"))["code"])
        await comm.send_to(bytes_data=b"\x00\x01")
        codes.append((await receive_type(comm, "error"))["code"])
        for bad in [
            {"type": "message", "client_id": "y", "text": {"a": 1}},
            {"type": "message", "client_id": "", "text": "no id"},
            {"type": "message", "client_id": "z", "text": "   "},
            {"type": "message", "client_id": "w", "text": "x", "attachments": ["not-a-number"]},
            {"type": "message", "client_id": "v", "text": "x" * 5000},
            {"type": "profile", "email": "not an email"},
        ]:
            await comm.send_json_to(bad)
            codes.append((await receive_type(comm, "error"))["code"])
        await comm.send_to(text_data="x" * (17 * 1024))
        codes.append((await receive_type(comm, "error"))["code"])
        await comm.send_json_to({"type": "message", "client_id": "ok", "text": "still here"})
        ack = await receive_type(comm, "ack")
        await comm.disconnect()
        return codes, ack

    codes, ack = run(scenario)
    expected = ["hello_first", "bad_frame", "bad_frame", "bad_frame", "unknown_type", "bad_frame", "bad_frame"]
    assert codes == expected + ["invalid"] * 6 + ["frame_too_large"]
    assert ack["client_id"] == "ok"
    assert list(Message.objects.values_list("body_text", flat=True)) == ["still here"]


def test_messages_over_the_rate_limit_are_refused_not_stored(shop, settings):
    settings.CHAT_LIMIT_VISITOR_MESSAGES = (3, 0.001)
    from channels_app.chat import limits

    limits.visitor_messages.buckets.clear()

    async def scenario():
        comm = communicator()
        await comm.connect()
        await hello(comm)
        frames = []
        for n in range(5):
            await comm.send_json_to({"type": "message", "client_id": f"m{n}", "text": f"spam {n}"})
            frame = await comm.receive_json_from(timeout=3)
            while frame["type"] not in {"ack", "error"}:
                frame = await comm.receive_json_from(timeout=3)
            frames.append((frame["type"], frame.get("code"), frame["client_id"]))
        await comm.disconnect()
        return frames

    frames = run(scenario)
    assert frames[:3] == [("ack", None, "m0"), ("ack", None, "m1"), ("ack", None, "m2")]
    assert frames[3:] == [("error", "rate_limited", "m3"), ("error", "rate_limited", "m4")]
    assert Message.objects.count() == 3


def test_queue_position_and_wait_are_pushed_when_the_queue_moves(shop):
    async def visitor(client_id, text):
        comm = communicator()
        await comm.connect()
        await hello(comm)
        await comm.send_json_to({"type": "message", "client_id": client_id, "text": text})
        await receive_type(comm, "ack")
        return comm, await receive_type(comm, "queue")

    async def scenario():
        first, first_queue = await visitor("a", "first")
        second, second_queue = await visitor("b", "second")
        ticket = await database_sync_to_async(lambda: Ticket.objects.order_by("id").first())()
        await database_sync_to_async(ticket_assign)(ticket=ticket, agent=shop.agent, by=shop.agent)
        moved = await receive_type(second, "queue")
        await first.disconnect()
        await second.disconnect()
        return first_queue, second_queue, moved

    first_queue, second_queue, moved = run(scenario)
    assert first_queue["position"] == 1 and second_queue["position"] == 2
    assert moved["position"] == 1
    assert moved["wait_seconds"] is not None  # one chat was assigned: there is a typical wait now


def test_typing_goes_to_the_team_and_agent_typing_to_the_visitor(shop):
    async def scenario():
        layer = get_channel_layer()
        listener = await layer.new_channel()
        await layer.group_add(f"team.{shop.team.pk}", listener)
        comm = communicator()
        await comm.connect()
        await hello(comm)
        await comm.send_json_to({"type": "message", "client_id": "t", "text": "hello"})
        ack = await receive_type(comm, "ack")
        ticket_id = await database_sync_to_async(lambda: Message.objects.get(pk=ack["id"]).ticket_id)()
        await comm.send_json_to({"type": "typing"})
        seen = await asyncio.wait_for(layer.receive(listener), 3)
        while seen["type"] != "ticket.typing":
            seen = await asyncio.wait_for(layer.receive(listener), 3)
        await layer.group_send(
            f"chat.{ticket_id}", {"type": "ticket.typing", "ticket": ticket_id, "who": "agent", "name": "李娜"}
        )
        shown = await receive_type(comm, "typing")
        await comm.disconnect()
        return ticket_id, seen, shown

    ticket_id, seen, shown = run(scenario)
    assert seen == {"type": "ticket.typing", "ticket": ticket_id, "who": "visitor"}
    assert shown == {"type": "typing", "who": "agent", "name": "李娜"}


def test_with_no_agent_online_the_widget_offers_the_message_form(shop):
    AgentProfile.objects.update(presence=Presence.OFFLINE)

    async def scenario():
        comm = communicator()
        await comm.connect()
        welcome = await hello(comm)
        await comm.disconnect()
        return welcome

    welcome = run(scenario)
    assert welcome["open"] is False and welcome["reason"] == "no_agent"


def test_an_agent_going_online_opens_the_chat_live(shop):
    from accounts.services import agent_presence_set

    AgentProfile.objects.update(presence=Presence.OFFLINE)

    async def scenario():
        comm = communicator()
        await comm.connect()
        welcome = await hello(comm)
        await database_sync_to_async(agent_presence_set)(agent=shop.agent, presence=Presence.ONLINE)
        changed = await receive_type(comm, "availability")
        await comm.disconnect()
        return welcome, changed

    welcome, changed = run(scenario)
    assert welcome["open"] is False and changed["open"] is True


def test_suggestions_come_from_the_knowledge_base_when_it_has_a_search(shop, monkeypatch):
    from knowledge_base import search

    async def scenario():
        comm = communicator()
        await comm.connect()
        await hello(comm, language="zh-CN")
        await comm.send_json_to({"type": "typing", "text": "发票怎么开"})
        frame = await receive_type(comm, "suggestions")
        await comm.disconnect()
        return frame

    monkeypatch.delattr(search, "article_suggestions", raising=False)
    assert run(scenario)["articles"] == []

    calls = []

    def article_suggestions(query, language, limit):
        calls.append((query, language, limit))
        return [{"title": "如何开发票", "url": "/help/articles/invoice/", "snippet": "<b>步骤</b>"}]

    monkeypatch.setattr(search, "article_suggestions", article_suggestions, raising=False)
    frame = run(scenario)
    assert frame["articles"] == [{"title": "如何开发票", "url": "/help/articles/invoice/", "snippet": "<b>步骤</b>"}]
    assert calls == [("发票怎么开", "zh-hans", 3)]


def test_transcript_is_queued_as_plain_text_email_with_markup_kept_literal(shop):
    from channels_app.email.outbound import build_email
    from channels_app.models import Mailbox

    Mailbox.objects.create(
        name="support", imap_host="imap.example.com", imap_user="s", from_address="help@shop.example.com"
    )

    async def scenario():
        comm = communicator()
        await comm.connect()
        await hello(comm)
        await comm.send_json_to({"type": "message", "client_id": "a", "text": "<script>alert(1)</script> 你好"})
        await receive_type(comm, "ack")
        await comm.send_json_to({"type": "transcript", "email": "visitor@example.com"})
        queued = await receive_type(comm, "transcript.queued")
        await comm.disconnect()
        return queued

    assert run(scenario)["email"] == "visitor@example.com"
    outbound = OutboundEmail.objects.get()
    assert outbound.to_address == "visitor@example.com" and outbound.status == "queued"
    assert outbound.kind == OutboundKind.TRANSCRIPT
    assert "<script>alert(1)</script> 你好" in outbound.body_text
    mime = build_email(outbound=outbound, mailbox=outbound.mailbox)
    assert [part.get_content_type() for part in mime.walk()] == ["text/plain"]  # never rendered as HTML
    assert "<script>alert(1)</script>" in mime.get_content()
    assert mime["Auto-Submitted"] == "auto-generated"  # generated, not an answer: responders stay quiet
