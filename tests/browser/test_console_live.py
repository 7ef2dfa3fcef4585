"""The realtime console in headless Chromium against a real daphne (HTTP and websockets) with
Redis: a new ticket and an offer appear without reload, the agent replies, a dropped socket
comes back; screenshots in Chinese and English."""

import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from crm.models import Person
from routing.models import Offer, OfferStatus
from tests import factories
from tests.browser.conftest import CHROMIUM_ARGS, SCREENSHOTS  # noqa: F401
from tests.browser.test_console import sign_in
from tests.processes import ROOT, database_env
from tests.realtime.live import daphne
from ticketing.events import ticket_event_record
from ticketing.inbound import InboundMessage, inbound_ingest
from ticketing.models import CannedResponse, Direction, Message, Queue, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def static_collected():
    """WhiteNoise (production settings) serves collected files only."""
    subprocess.run(
        [".venv/bin/python", "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=dict(database_env(), DJANGO_SETTINGS_MODULE="contact_center.test_settings"),
        check=True,
    )


@pytest.fixture
def console_server(settings, static_collected):
    env = {"SECURE_PROXY_SSL_HEADER": "true", "CSRF_TRUSTED_ORIGINS": "http://localhost:{port}"}
    with daphne(settings, **env) as server:
        server.base = server.base.replace("127.0.0.1", "localhost")  # Secure cookies work on localhost
        yield server


@pytest.fixture
def console_page(chromium, console_server):
    contexts = []

    def opener(locale: str):
        context = chromium.new_context(
            base_url=console_server.base,
            locale=locale,
            viewport={"width": 1440, "height": 900},
            device_scale_factor=1,
            extra_http_headers={"X-Forwarded-Proto": "https"},
            timezone_id="Asia/Shanghai",
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield opener
    for context in contexts:
        context.close()


@dataclass
class Floor:
    queue: Queue
    customer: Person
    ticket: Ticket  # waiting in the billing team's queue
    other_ticket: Ticket  # the tech team's: agent_zh never sees it


def _floor(org) -> Floor:
    queue = factories.queue("Billing", team_=org.billing_team, is_default=True)
    customer = factories.person("张伟", emails=["zhang.wei@example.cn"])
    tech = factories.queue("Tech", team_=org.tech_team)
    return Floor(
        queue=queue,
        customer=customer,
        ticket=factories.ticket(customer=customer, queue_=queue, subject="发票抬头错误", channel="email"),
        other_ticket=factories.ticket(queue_=tech, subject="Login broken"),
    )


def _offer(ticket, agent) -> int:
    """A pending offer, as routing makes it (unless routing already offered this ticket to the agent)."""
    offer = Offer.objects.filter(ticket=ticket, agent=agent, status=OfferStatus.PENDING).first()
    if offer is None:
        expires = timezone.now() + timedelta(seconds=60)
        offer = Offer.objects.create(
            ticket=ticket, agent=agent, queue=ticket.queue, channel=ticket.channel, expires_at=expires
        )
        ticket_event_record(
            ticket=ticket,
            kind="offer.created",
            data={"offer": offer.id, "expires_at": expires.isoformat(), "queue": ticket.queue_id},
            notify=[agent.id],
        )
    return offer.id


@pytest.fixture
def floor(org, chromium) -> Floor:
    return elsewhere(_floor, org)


def open_console(page, username: str) -> None:
    page.goto("/console/")
    sign_in(page, username)
    try:
        page.wait_for_url(re.compile(r"/console/$"))
    except Exception:
        print(page.url, page.content()[:3000])
        raise
    page.wait_for_selector("#console[data-state=live]")


def elsewhere(function, *args, **kwargs):
    """Run a write in another thread: Playwright's event loop owns this one, and publishing an
    event after commit needs a thread without a running loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(_closing_connection, function, *args, **kwargs).result()


def _closing_connection(function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    finally:
        connections.close_all()


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def test_console_in_chinese_new_ticket_offer_and_reply_live(org, floor, console_page):
    CannedResponse.objects.create(title="问候", shortcut="hi", body="您好，我是客服小张。")
    page = console_page("zh-CN")
    open_console(page, "agent_zh")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    page.keyboard.press("2")  # the waiting conversations of the agent's team
    page.wait_for_selector(f"[data-ticket='{floor.ticket.id}']")

    # A customer writes: a new ticket appears in the list without reload.
    fresh = elsewhere(
        factories.ticket,
        customer=floor.customer,
        queue_=floor.queue,
        subject="<b>退款</b> 什么时候到账？",
        channel="chat",
        body_text="<script>alert('x')</script>请问退款什么时候到账？",
    )
    row = page.locator(f"[data-ticket='{fresh.id}']")
    row.wait_for()
    assert "<b>退款</b> 什么时候到账？" in row.inner_text()  # markup shown as text
    assert floor.other_ticket.subject not in page.locator("#cc-list").inner_text()

    # Routing offers it to this agent: an offer with its accept button (and a beep); accepting it
    # through the routing API assigns the ticket and opens it under "Mine".
    offer_id = elsewhere(_offer, fresh, org.agent_zh)
    offer = page.locator(f".cc-offer[data-offer='{offer_id}']")
    offer.wait_for()
    assert str(fresh.number) in offer.inner_text()
    page.wait_for_timeout(500)  # let the arrival animation finish for the screenshot
    shot(page, "console-offer-zh")
    offer.locator("button.cc-accept").click()
    offer.wait_for(state="detached")
    page.wait_for_selector(".cc-tab.is-active[data-view=mine]")
    row = page.locator(f"[data-ticket='{fresh.id}']")
    row.wait_for()
    fresh.refresh_from_db()
    assert fresh.assignee == org.agent_zh

    row.click()
    page.wait_for_selector("#cc-ticket:not([hidden])")
    assert page.locator("#cc-subject").inner_text() == "<b>退款</b> 什么时候到账？"
    assert "<script>alert('x')</script>" in page.locator("#cc-thread .msg-in .msg-body").inner_text()
    assert page.locator("#cc-customer-link").inner_text() == "张伟"
    page.select_option("#cc-canned", label="问候")
    assert page.locator("#cc-body").input_value() == "您好，我是客服小张。"
    page.fill("#cc-body", "")
    page.type("#cc-body", "/hi")
    page.keyboard.press("Tab")  # the shortcut expands in place
    assert page.locator("#cc-body").input_value() == "您好，我是客服小张。"
    page.fill("#cc-body", "您好，退款已处理，3 个工作日内到账。")
    page.keyboard.press("Control+Enter")
    page.locator("#cc-thread .msg-out", has_text="3 个工作日内到账").wait_for()
    assert Message.objects.filter(ticket=fresh, direction=Direction.OUTBOUND, author=org.agent_zh).count() == 1

    # The customer answers: the thread updates live.
    elsewhere(
        inbound_ingest,
        InboundMessage(
            channel="email",
            sender_address="zhang.wei@example.cn",
            external_id="<chat-2@example.cn>",
            text="好的，谢谢！",
            ticket_id=fresh.id,
        ),
    )
    page.locator("#cc-thread .msg-in", has_text="好的，谢谢！").wait_for()
    shot(page, "console-live-zh")


def test_console_in_english_reconnects_and_shows_what_it_missed(org, floor, console_page, console_server):
    page = console_page("en-US")
    open_console(page, "agent_zh")
    page.get_by_role("button", name="English").click()
    page.wait_for_selector("html[lang=en] #console[data-state=live]")
    assert page.locator(".cc-tab.is-active").inner_text().startswith("Mine")
    page.keyboard.press("2")
    page.wait_for_selector(f"[data-ticket='{floor.ticket.id}']")

    # The network drops: the page notices, reconnects and replays the events it missed.
    console_server.kill()
    page.wait_for_selector("#console[data-state=down]")
    missed = elsewhere(factories.ticket, queue_=floor.queue, subject="Missed while offline")
    console_server.start()
    page.locator(f"[data-ticket='{missed.id}']").wait_for(timeout=20_000)
    page.wait_for_selector("#console[data-state=live]")

    page.locator(f"[data-ticket='{floor.ticket.id}'] button").click()
    page.wait_for_selector("#cc-ticket:not([hidden])")
    page.keyboard.press("?")
    assert page.locator("#cc-help").is_visible()
    shot(page, "console-help-en")
    page.keyboard.press("Escape")
    shot(page, "console-live-en")
