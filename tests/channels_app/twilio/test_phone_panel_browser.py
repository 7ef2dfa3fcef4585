"""The console's phone panel (channels_app/static/channels_app/phone.js) in Chromium: the ticket's
calls, the agent's own number, click-to-call through the real twilio client against the fake,
call state from console events."""

import pytest

from channels_app.twilio.models import Call
from channels_app.twilio.services import agent_phone_set
from tests import factories
from tests.browser.test_console_live import open_console
from tests.channels_app.twilio.helpers import CALLER, call_params, new_sid, post
from tests.factories import PASSWORD
from tests.frontend.conftest import off_the_event_loop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_agent_calls_the_customer_back_from_the_phone_panel(
    org, line, fake_twilio, client, open_browser, screenshot, site
):
    sid = new_sid("CA")
    off_the_event_loop(post, client, "/webhooks/twilio/voice/menu/?lang=zh", call_params(sid, Digits="2"))
    ticket = Call.objects.get(sid=sid).ticket

    page = open_browser(locale="en-US")
    # agent_zh works in Chinese; the language they chose in this browser wins over their profile.
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": site.url}])
    page.goto("/login/")
    page.fill("#id_username", "agent_zh")
    page.fill("#id_password", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)
    page.add_script_tag(url="/static/channels_app/phone.js")
    page.evaluate(
        "id => { const d = document.createElement('div'); d.id = 'phone'; document.body.prepend(d);"
        " window.PhonePanel.mount(d, {ticketId: id}); }",
        ticket.pk,
    )
    calls = page.locator("#phone .phone-calls li")
    calls.first.wait_for()
    assert f"Inbound · {CALLER}" in calls.first.inner_text()

    page.get_by_role("button", name="Call the customer").click()
    page.locator("#phone .phone-status").filter(has_text="Set your own phone number first").wait_for()
    page.fill("#phone input[name=number]", "139 0013 9000")
    page.get_by_role("button", name="Save").click()
    page.locator("#phone .phone-status").filter(has_text="Saved.").wait_for()
    assert page.input_value("#phone input[name=number]") == "+8613900139000"

    page.get_by_role("button", name="Call the customer").click()
    page.locator("#phone .phone-calls li", has_text="Outbound").wait_for()
    (created,) = fake_twilio.of("calls.create")
    assert created.value("To") == "+8613900139000"

    page.evaluate(
        "id => window.dispatchEvent(new CustomEvent('console:ticket-event', {detail: "
        "{kind: 'call.completed', ticket: {id: id}, data: {duration: 95}}}))",
        ticket.pk,
    )
    assert page.locator("#phone .phone-status").inner_text() == "Call ended (1:35)"
    screenshot(page, "phone-panel-en")


@pytest.mark.redis
def test_the_console_shows_the_calls_of_the_open_ticket_and_their_state_live(
    org, line, fake_twilio, client, console_server, console_page, screenshot
):
    sid = new_sid("CA")
    off_the_event_loop(post, client, "/webhooks/twilio/voice/menu/?lang=zh", call_params(sid, Digits="2"))
    ticket = Call.objects.get(sid=sid).ticket

    page = console_page("en-US")
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": console_server.base}])
    open_console(page, "agent_zh")
    page.get_by_role("tab", name="Waiting").click()  # the call waits in the support queue
    page.locator(f"[data-ticket='{ticket.pk}']").click()
    card = page.locator("#cc-phone-card")
    card.locator(".phone-calls li", has_text=f"Inbound · {CALLER}").wait_for()

    # Twilio reports the end of the call: the event reaches the console over /ws/agent/ (daphne, Redis)
    # and the panel says so without a reload.
    off_the_event_loop(
        post, client, "/webhooks/twilio/voice/status/", call_params(sid, CallStatus="completed", CallDuration="95")
    )
    card.locator(".phone-status", has_text="Call ended (1:35)").wait_for()
    card.locator(".phone-calls li", has_text=f"Inbound · {CALLER} · completed · 1:35").wait_for()
    screenshot(page, "console-phone-panel-en")


def test_a_sales_rep_calls_their_customer_from_the_crm_page(org, line, fake_twilio, open_browser, screenshot, site):
    customer = factories.person("李雷", owner=org.sales_rep, phones=["+86 139 1234 5678"])
    page = open_browser(locale="zh-CN")
    page.goto("/login/")
    page.fill("#id_username", org.sales_rep.username)
    page.fill("#id_password", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)
    page.goto(f"/customers/{customer.pk}/")

    call = page.get_by_role("button", name="呼叫")
    call.click()  # no number of their own yet: the page says what to do
    page.locator("#call-status", has_text="请先设置你自己的电话号码").wait_for()
    assert not fake_twilio.of("calls.create")

    agent_phone_set(user=org.sales_rep, number="+8613900139000")
    call.click()
    page.locator("#call-status", has_text="你的电话正在响铃").wait_for()
    (created,) = fake_twilio.of("calls.create")
    assert created.value("To") == "+8613900139000"  # the rep's phone first, then the customer's
    outbound = Call.objects.get(direction="outbound")
    assert (outbound.to_number, outbound.ticket.customer) == ("+8613912345678", customer)
    screenshot(page, "customer-click-to-call-zh")
