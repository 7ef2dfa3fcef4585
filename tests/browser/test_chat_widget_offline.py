"""With nobody online, the widget on another site becomes a message form that creates an email ticket."""

import pytest

from accounts.models import AgentProfile, Presence
from tests.browser.test_chat_widget import HOST_PAGE, _shot, _widget, customer_site  # noqa: F401
from tests.channels_app.chat.conftest import shop  # noqa: F401
from tests.channels_app.chat.daphne import daphne_server
from ticketing.models import Channel, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.redis]


def test_no_agent_online_turns_the_widget_into_a_message_form(shop, chromium, customer_site, tmp_path):  # noqa: F811
    site_root, site_url = customer_site
    AgentProfile.objects.update(presence=Presence.OFFLINE)
    with daphne_server(tmp_path, SECURE_SSL_REDIRECT="0") as port:
        (site_root / "index.html").write_text(HOST_PAGE.format(lang="en", text="Welcome", port=port), "utf-8")
        context = chromium.new_context(locale="en-GB", viewport={"width": 1280, "height": 800})
        context.set_default_timeout(10_000)
        page = context.new_page()
        page.goto(site_url + "/index.html")
        _widget(page).locator("button.launcher").click()
        form = _widget(page).locator(".window .form")
        form.get_by_text("No one is available to chat right now").wait_for()
        form.locator("input[name=name]").fill("Alice <b>Smith</b>")
        form.locator("button.send").click()  # the email is required: nothing is sent yet
        assert Ticket.objects.count() == 0
        form.locator("input[name=email]").fill("alice@example.com")
        form.locator("textarea[name=text]").fill("Please call me back about invoice 77.")
        _shot(page, "chat-widget-en-offline")
        form.locator("button.send").click()
        form.get_by_text("We have received your message").wait_for()
        confirmation = form.inner_text()
        context.close()
    ticket = Ticket.objects.get()
    assert ticket.channel == Channel.EMAIL and ticket.queue == shop.queue
    assert f"#{ticket.number}" in confirmation
    assert ticket.messages.get().body_text == "Please call me back about invoice 77."
    assert ticket.customer.name == "Alice <b>Smith</b>"
