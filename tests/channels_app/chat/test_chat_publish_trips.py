"""A visitor's line reaches the agents and the visitor's tabs in one trip from the database thread to
the event loop (the ticket event and the chat frame batched), and still in order per group."""

from channels_app.chat import lines
from ticketing import events

from .conftest import communicator, hello, receive_type, run


def test_a_line_on_an_open_chat_is_published_in_one_trip(shop, monkeypatch):
    trips = []
    send_all, publish = events._send_all, lines.publish_sends
    monkeypatch.setattr(events, "_send_all", lambda sends: trips.append([g for g, _m in sends]) or send_all(sends))

    async def publish_recorded(sends):
        if sends:
            trips.append([g for g, _m in sends])
        await publish(sends)

    monkeypatch.setattr(lines, "publish_sends", publish_recorded)

    async def scenario():
        comm = communicator()
        await comm.connect()
        await hello(comm)
        await comm.send_json_to({"type": "message", "client_id": "c-1", "text": "hello"})
        await receive_type(comm, "ack")
        trips.clear()
        await comm.send_json_to({"type": "message", "client_id": "c-2", "text": "again"})
        ack = await receive_type(comm, "ack")
        echo = await receive_type(comm, "message")
        await comm.disconnect()
        return ack, echo

    ack, echo = run(scenario)
    assert echo["id"] == ack["id"] and echo["text"] == "again"
    assert len(trips) == 1
    groups = trips[0]
    assert {"supervisors", f"team.{shop.team.pk}"} <= set(groups)
    assert [group for group in groups if group.startswith("chat.")]  # the visitor's tabs
