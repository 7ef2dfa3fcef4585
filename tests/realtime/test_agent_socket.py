"""/ws/agent/ and /ws/supervisor/ through the real ASGI application (origin check, session
and token auth) with Channels' communicator: scope, resume, bad frames, collision hints."""

import json

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from frontend.realtime import audience
from tests import factories
from tests.realtime.conftest import communicator, token_for
from ticketing.events import ticket_event_record
from ticketing.services import ticket_assign

pytestmark = pytest.mark.django_db(transaction=True)


def run(scenario):
    async_to_sync(scenario)()


async def connected(path, user=None, **kwargs):
    socket = await database_sync_to_async(communicator)(path, user, **kwargs)
    ok, _protocol = await socket.connect()
    assert ok
    return socket


async def frames_until(socket, frame_type, timeout=3):
    frames = []
    while True:
        frame = await socket.receive_json_from(timeout=timeout)
        frames.append(frame)
        if frame["type"] == frame_type:
            return frames


async def next_event(socket, timeout=3):
    while True:
        frame = await socket.receive_json_from(timeout=timeout)
        if frame["type"] == "event":
            return frame


record = database_sync_to_async(lambda ticket, kind, **kw: ticket_event_record(ticket=ticket, kind=kind, **kw))


def test_agent_receives_only_events_of_tickets_in_scope_and_supervisor_all(org, queues):
    billing = factories.ticket(queue_=queues["billing"], subject="发票")
    tech = factories.ticket(queue_=queues["tech"], subject="Login")

    async def scenario():
        agent = await connected("/ws/agent/", org.agent_zh)
        supervisor = await connected("/ws/supervisor/", org.supervisor)
        assert (await agent.receive_json_from())["type"] == "hello"
        assert (await supervisor.receive_json_from())["type"] == "hello"

        tech_event = await record(tech, "note.added")
        billing_event = await record(billing, "note.added")

        frame = await next_event(agent)
        assert frame["id"] == billing_event.id  # the tech ticket's event never came
        assert frame["event"]["ticket"]["number"] == billing.number
        assert await agent.receive_nothing(timeout=0.3)

        seen = [(await next_event(supervisor))["id"], (await next_event(supervisor))["id"]]
        assert seen == [tech_event.id, billing_event.id]
        await agent.disconnect()
        await supervisor.disconnect()

    run(scenario)


def test_offer_to_an_agent_outside_the_ticket_team_reaches_only_that_agent(org, queues):
    billing = factories.ticket(queue_=queues["billing"])

    async def scenario():
        other = await connected("/ws/agent/", org.agent_en)
        await other.receive_json_from()
        offer = await record(
            billing, "offer.created", data={"offer": 7, "queue": queues["billing"].id}, notify=[org.agent_en.id]
        )
        frame = await next_event(other)
        assert frame["id"] == offer.id
        assert frame["event"]["kind"] == "offer.created"
        assert frame["event"]["data"]["notify"] == [org.agent_en.id]
        await record(billing, "note.added")  # not theirs: no offer, not their team
        assert await other.receive_nothing(timeout=0.3)
        await other.disconnect()

    run(scenario)


def test_event_on_team_and_assignee_groups_is_sent_once(org, queues):
    billing = factories.ticket(queue_=queues["billing"])
    ticket_assign(ticket=billing, agent=org.agent_zh, by=org.supervisor)

    async def scenario():
        agent = await connected("/ws/agent/", org.agent_zh)
        await agent.receive_json_from()
        event = await record(billing, "status.changed")
        assert (await next_event(agent))["id"] == event.id
        assert await agent.receive_nothing(timeout=0.3)
        await agent.disconnect()

    run(scenario)


def test_resume_replays_missed_events_in_order_then_live_without_duplicates(org, queues):
    billing = factories.ticket(queue_=queues["billing"])
    tech = factories.ticket(queue_=queues["tech"])
    seen_last = ticket_event_record(ticket=billing, kind="note.added").id
    missed = []
    for n in range(5):
        missed.append(ticket_event_record(ticket=billing, kind="note.added", data={"n": n}).id)
        ticket_event_record(ticket=tech, kind="note.added")  # out of scope: never replayed
    offer = ticket_event_record(ticket=tech, kind="offer.created", notify=[org.agent_zh.id]).id
    missed.append(offer)  # another team's ticket, but offered to this agent

    async def scenario():
        agent = await connected(f"/ws/agent/?after={seen_last}", org.agent_zh)
        frames = await frames_until(agent, "replayed")
        assert frames[0]["type"] == "hello"
        assert [f["id"] for f in frames if f["type"] == "event"] == missed
        assert frames[-1] == {"type": "replayed", "after": seen_last, "count": len(missed)}

        live = await record(billing, "status.changed")
        assert (await next_event(agent))["id"] == live.id
        # A second resume from the same point sends only what this socket has not sent yet.
        await agent.send_json_to({"type": "resume", "after": seen_last})
        frames = await frames_until(agent, "replayed")
        assert [f for f in frames if f["type"] == "event"] == []
        await agent.disconnect()

    run(scenario)


def test_too_many_missed_events_ask_the_client_to_reload(org, queues, monkeypatch):
    monkeypatch.setattr(audience, "REPLAY_LIMIT", 3)
    billing = factories.ticket(queue_=queues["billing"])
    for _ in range(4):
        ticket_event_record(ticket=billing, kind="note.added")
    monkeypatch.setattr(audience.events_missed, "__kwdefaults__", {"limit": 3})

    async def scenario():
        agent = await connected("/ws/agent/?after=0", org.agent_zh)
        frames = await frames_until(agent, "reload")
        assert [f["type"] for f in frames] == ["hello", "reload"]
        assert frames[-1]["reason"] == "too_many_missed"
        await agent.disconnect()

    run(scenario)


def test_malformed_and_oversized_frames_get_an_error_and_the_socket_stays_up(org):
    async def scenario():
        agent = await connected("/ws/agent/", org.agent_zh)
        await agent.receive_json_from()
        for text, code in [
            ("not json", "bad_json"),
            ("[1, 2]", "bad_frame"),
            (json.dumps({"type": "dance"}), "unknown_type"),
            (json.dumps({"type": "resume", "after": "soon"}), "bad_frame"),
            (json.dumps({"type": "typing", "ticket": {"id": 1}}), "not_found"),
            (json.dumps({"type": "ping", "pad": "x" * 20_000}), "too_large"),
        ]:
            await agent.send_to(text_data=text)
            frame = await agent.receive_json_from()
            assert (frame["type"], frame["code"]) == ("error", code), text[:30]
        await agent.send_to(bytes_data=b"\x00\x01")
        assert (await agent.receive_json_from())["code"] == "bad_frame"
        await agent.send_json_to({"type": "ping"})
        assert await agent.receive_json_from() == {"type": "pong"}
        await agent.disconnect()

    run(scenario)


def test_unauthenticated_and_wrong_role_are_closed_with_documented_codes(org):
    async def scenario():
        anonymous = await connected("/ws/agent/")
        assert (await anonymous.receive_json_from())["code"] == "unauthenticated"
        assert (await anonymous.receive_output())["code"] == 4401

        outsider = await connected("/ws/agent/", org.outsider)  # no role: may not see tickets
        assert (await outsider.receive_json_from())["code"] == "forbidden"
        assert (await outsider.receive_output())["code"] == 4403

        agent = await connected("/ws/supervisor/", org.agent_zh)
        assert (await agent.receive_json_from())["code"] == "forbidden"
        assert (await agent.receive_output())["code"] == 4403

        bad_token = await connected("/ws/agent/?token=nope")
        assert (await bad_token.receive_json_from())["code"] == "unauthenticated"

    run(scenario)


def test_api_token_signs_in_by_subprotocol_or_query(org, queues):
    key = token_for(org.agent_zh)
    billing = factories.ticket(queue_=queues["billing"])

    async def scenario():
        by_protocol = await database_sync_to_async(communicator)("/ws/agent/", subprotocols=[f"token.{key}"])
        ok, protocol = await by_protocol.connect()
        assert ok and protocol == f"token.{key}"
        assert (await by_protocol.receive_json_from())["user"]["id"] == org.agent_zh.id
        by_query = await connected(f"/ws/agent/?token={key}")
        assert (await by_query.receive_json_from())["type"] == "hello"
        event = await record(billing, "note.added")
        assert (await next_event(by_protocol))["id"] == event.id
        assert (await next_event(by_query))["id"] == event.id
        await by_protocol.disconnect()
        await by_query.disconnect()

    run(scenario)


def test_foreign_origin_is_refused(org):
    async def scenario():
        socket = await database_sync_to_async(communicator)("/ws/agent/", org.agent_zh)
        socket.scope["headers"] = [
            (b"origin", b"https://evil.example") if name == b"origin" else (name, value)
            for name, value in socket.scope["headers"]
        ]
        ok, _ = await socket.connect()
        assert not ok

    run(scenario)


def test_viewing_and_typing_reach_the_other_agent_on_the_ticket_only(org, queues):
    billing = factories.ticket(queue_=queues["billing"], channel="chat")
    other = factories.agent("agent_zh2", teams=[org.billing_team])

    async def scenario():
        me = await connected("/ws/agent/", org.agent_zh)
        colleague = await connected("/ws/agent/", other)
        stranger = await connected("/ws/agent/", org.agent_en)
        for socket in (me, colleague, stranger):
            await socket.receive_json_from()
        chat_side = communicator("/ws/agent/")  # stands in for the chat consumer's group member
        layer = chat_side.instance if False else None

        layer = get_channel_layer()
        chat_channel = await layer.new_channel()
        await layer.group_add(f"chat.{billing.id}", chat_channel)

        await me.send_json_to({"type": "viewing", "ticket": billing.id})
        await colleague.send_json_to({"type": "viewing", "ticket": billing.id})
        frame = await me.receive_json_from()
        assert (frame["type"], frame["user"]["id"], frame["active"]) == ("viewing", other.id, True)
        frame = await colleague.receive_json_from()  # told that I was already there
        assert (frame["type"], frame["user"]["id"]) == ("viewing", org.agent_zh.id)

        await me.send_json_to({"type": "typing", "ticket": billing.id})
        frame = await colleague.receive_json_from()
        assert (frame["type"], frame["ticket"], frame["user"]["id"]) == ("typing", billing.id, org.agent_zh.id)
        to_visitor = await layer.receive(chat_channel)
        assert to_visitor == {"type": "ticket.typing", "ticket": billing.id, "who": "agent", "name": "agent_zh"}

        await stranger.send_json_to({"type": "viewing", "ticket": billing.id})  # not their team
        assert (await stranger.receive_json_from())["code"] == "not_found"
        assert await me.receive_nothing(timeout=0.2)

        # The visitor types: the chat consumer tells the ticket's team.
        await layer.group_send(
            f"team.{org.billing_team.id}", {"type": "ticket.typing", "ticket": billing.id, "who": "visitor"}
        )
        assert await me.receive_json_from() == {
            "type": "typing",
            "ticket": billing.id,
            "who": "visitor",
            "active": True,
        }

        await colleague.disconnect()
        frame = await me.receive_json_from()
        assert (frame["type"], frame["user"]["id"], frame["active"]) == ("viewing", other.id, False)
        await me.disconnect()
        await stranger.disconnect()

    run(scenario)
