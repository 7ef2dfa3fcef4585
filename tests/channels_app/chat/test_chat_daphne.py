"""The chat socket on a real daphne process over loopback, with a real websocket client and Redis."""

import asyncio
import json

import pytest
from channels.db import database_sync_to_async
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.channels_app.chat.daphne import daphne_server
from ticketing.models import Direction, Message, Ticket
from ticketing.services import ticket_reply

pytestmark = [pytest.mark.redis]


async def frame_of(ws, kind: str, timeout: float = 5) -> dict:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if frame["type"] == kind:
            return frame


def test_chat_in_chinese_over_daphne_survives_a_killed_connection(shop, tmp_path):
    with daphne_server(tmp_path) as port:
        url = f"ws://127.0.0.1:{port}/ws/chat/shop/"
        origin = f"http://127.0.0.1:{port + 1}"  # the shop's page, on another origin

        async def scenario():
            with pytest.raises(InvalidStatus):
                async with connect(url, origin="https://evil.example.net"):
                    pass
            async with connect(url, origin=origin) as ws:
                await ws.send(json.dumps({"type": "hello", "token": None, "language": "zh-CN"}))
                token = (await frame_of(ws, "welcome"))["token"]
                await ws.send(json.dumps({"type": "message", "client_id": "m1", "text": "你好，我想退货"}))
                first = await frame_of(ws, "ack")
                ticket = await database_sync_to_async(Ticket.objects.get)()
                reply = await database_sync_to_async(ticket_reply)(
                    ticket=ticket, by=shop.agent, body_text="好的，请提供订单号"
                )
                live = await frame_of(ws, "message")
                while live["from"] != "agent":
                    live = await frame_of(ws, "message")
                # the network dies right after the next message leaves: no ack reaches the visitor
                await ws.send(json.dumps({"type": "message", "client_id": "m2", "text": "订单号 20261124"}))
                ws.transport.abort()
            async with connect(url, origin=origin) as ws:
                await ws.send(json.dumps({"type": "hello", "token": token, "language": "zh-CN"}))
                welcome = await frame_of(ws, "welcome")
                # the widget resends what was never acknowledged
                await ws.send(json.dumps({"type": "message", "client_id": "m2", "text": "订单号 20261124"}))
                resent = await frame_of(ws, "ack")
            return first, reply, live, welcome, resent

        first, reply, live, welcome, resent = asyncio.run(scenario())

    assert live["id"] == reply.pk and live["text"] == "好的，请提供订单号" and live["name"] == "李娜 Li Na"
    texts = [(m["from"], m["text"]) for m in welcome["conversation"]["history"]]
    assert texts[:2] == [("visitor", "你好，我想退货"), ("agent", "好的，请提供订单号")]
    assert texts.count(("visitor", "订单号 20261124")) <= 1
    assert resent["client_id"] == "m2" and resent["id"] != first["id"]
    inbound = list(Message.objects.filter(direction=Direction.INBOUND).values_list("body_text", flat=True))
    assert inbound == ["你好，我想退货", "订单号 20261124"]  # nothing lost, nothing doubled
