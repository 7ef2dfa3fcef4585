"""A shop's website with the chat widget, a queue of the billing team and an agent online."""

from dataclasses import dataclass

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from channels_app.chat.models import ChatWidget
from tests import factories

SHOP = "https://shop.example.com"


@dataclass
class Shop:
    widget: ChatWidget
    queue: object
    agent: object
    team: object


@pytest.fixture
def shop(transactional_db) -> Shop:
    team = factories.team("Billing")
    queue = factories.queue("Chat billing", team_=team, is_default=True)
    agent = factories.agent("li", teams=[team], display_name="李娜 Li Na")
    widget = ChatWidget.objects.create(
        key="shop", name="Shop", allowed_origins=[SHOP, "http://127.0.0.1:*"], queue=queue, greeting_en="Hi!"
    )
    return Shop(widget=widget, queue=queue, agent=agent, team=team)


def communicator(key: str = "shop", origin: str = SHOP, client=("203.0.113.9", 50000)) -> WebsocketCommunicator:
    from contact_center.asgi import application

    headers = [(b"origin", origin.encode())] if origin else []
    comm = WebsocketCommunicator(application, f"/ws/chat/{key}/", headers=headers)
    comm.scope["client"] = list(client)
    return comm


def run(coroutine_function):
    """Run an async scenario from a sync test (the consumer's database work runs in this thread)."""
    return async_to_sync(coroutine_function)()


async def hello(comm, token=None, language="en") -> dict:
    await comm.send_json_to({"type": "hello", "token": token, "language": language})
    return await receive_type(comm, "welcome")


async def receive_type(comm, kind: str, timeout: float = 3) -> dict:
    """The next frame of this type (frames of other types before it are skipped)."""
    while True:
        frame = await comm.receive_json_from(timeout=timeout)
        if frame["type"] == kind:
            return frame
