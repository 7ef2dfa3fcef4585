"""A user's day in the console, in a real browser: sign in (in Chinese or English),
find the tickets they may see, answer one, look up the customer."""

import re
from datetime import UTC, datetime

import pytest

from accounts.models import AuditAction, AuditLog
from tests.factories import PASSWORD
from tests.frontend.conftest import ID_NUMBER
from ticketing.models import Direction, Message

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MASKED = "110***********002X"


def sign_in(page, username: str, password: str = PASSWORD) -> None:
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("form.stack button[type=submit]")


def test_agent_switches_to_english_signs_in_and_answers_a_ticket(org, desk, open_browser, screenshot):
    page = open_browser(locale="zh-CN")
    page.goto("/tickets/")  # not signed in: sent to the sign-in page, which speaks Chinese
    assert re.search(r"/login/\?next=/tickets/", page.url)
    assert page.locator("h1").inner_text() == "客服中心"
    screenshot(page, "login-zh")

    page.get_by_role("button", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Contact Center"
    screenshot(page, "login-en")

    sign_in(page, "agent_zh")
    page.wait_for_url(re.compile(r"/tickets/$"))
    rows = page.locator("table.tickets tbody tr")
    assert rows.count() == 1
    assert desk.billing_ticket.subject in rows.first.inner_text()
    assert desk.tech_ticket.subject not in page.content()  # another team's ticket stays out of sight
    assert page.locator(".user-role").inner_text() == "Agent"
    screenshot(page, "tickets-en")

    rows.first.get_by_role("link", name=desk.billing_ticket.subject).click()
    page.wait_for_url(f"**/tickets/{desk.billing_ticket.number}/")
    assert "发票抬头写错了" in page.locator(".msg-in .msg-body").inner_text()
    page.fill("textarea[name=body_text]", "您好，已为您更正发票抬头，新发票今天寄出。")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(re.compile(r"#message-\d+$"))
    reply = page.locator("article.msg-out")
    assert "已为您更正发票抬头" in reply.inner_text()
    assert "To the customer" in reply.inner_text()
    assert "Reply sent to 张伟." in page.locator(".flash").inner_text()
    assert page.locator("[data-ticket-status]").inner_text() == "Open"
    screenshot(page, "ticket-en")
    stored = Message.objects.get(ticket=desk.billing_ticket, direction=Direction.OUTBOUND)
    assert stored.author == org.agent_zh


def test_agent_works_in_chinese_adds_a_note_and_sees_a_masked_id(org, desk, open_browser, screenshot):
    page = open_browser(locale="zh-CN")
    page.goto("/login/")
    sign_in(page, "agent_zh", "wrong password")
    assert "请输入一个正确的" in page.locator(".alert-error").inner_text()
    screenshot(page, "login-error-zh")

    sign_in(page, "agent_zh")
    page.wait_for_url(re.compile(r"/$"))
    assert page.locator(".mainnav a.active").inner_text() == "工作台"
    assert page.locator("[data-stat=queue]").inner_text() == "1"
    screenshot(page, "home-zh")

    page.locator(".mainnav").get_by_role("link", name="工单").click()
    assert page.locator("table.tickets tbody tr").count() == 1
    screenshot(page, "tickets-zh")

    page.get_by_role("link", name=desk.billing_ticket.subject).click()
    page.get_by_label("内部备注").check()
    page.fill("textarea[name=body_text]", "客户是老客户，优先处理。<b>不是HTML</b>")
    page.get_by_role("button", name="发送").click()
    page.wait_for_url(re.compile(r"#message-\d+$"))
    note = page.locator("article.msg-note")
    assert "客户是老客户，优先处理。<b>不是HTML</b>" in note.inner_text()  # shown as typed, not as markup
    assert "内部备注" in note.inner_text()
    page.get_by_role("button", name="分配给我").click()
    assert "已分配给" in page.locator(".events").inner_text()
    screenshot(page, "ticket-zh")

    page.locator(".sidebar").get_by_role("link", name="张伟").click()
    page.wait_for_url(f"**/customers/{desk.billing_customer.pk}/")
    assert page.locator("[data-id-number=masked]").inner_text() == MASKED
    assert ID_NUMBER not in page.content()
    assert page.get_by_role("button", name="查看完整号码").count() == 0
    assert "上海示例贸易有限公司" in page.content()
    screenshot(page, "customer-zh")

    page.get_by_role("button", name="English").click()
    assert page.locator("[data-id-number=masked]").inner_text() == MASKED
    screenshot(page, "customer-en")


def test_supervisor_reveals_an_id_number_and_it_is_audited(org, desk, open_browser, screenshot):
    page = open_browser(locale="en-US")
    page.goto("/login/")
    page.get_by_role("button", name="English").click()
    sign_in(page, "supervisor")
    page.wait_for_url(re.compile(r"/$"))
    page.goto(f"/customers/{desk.billing_customer.pk}/")
    page.get_by_role("button", name="Reveal").click()
    assert page.locator("[data-id-number=clear]").inner_text() == ID_NUMBER
    screenshot(page, "customer-revealed-en")
    assert AuditLog.objects.filter(action=AuditAction.SENSITIVE_VIEW, actor=org.supervisor).count() == 1


def test_console_on_a_phone(org, desk, open_browser, screenshot):
    page = open_browser(locale="zh-CN", phone=True)
    page.goto("/login/")
    screenshot(page, "phone-login-zh")
    sign_in(page, "agent_zh")
    page.wait_for_url(re.compile(r"/$"))
    page.goto("/tickets/")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the tickets page scrolls sideways on a phone ({width}px)"
    screenshot(page, "phone-tickets-zh")
    page.goto(f"/tickets/{desk.billing_ticket.number}/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "phone-ticket-zh")


def test_console_shows_times_in_the_agents_time_zone_not_the_browsers(org, desk, open_browser):
    """The agent's profile says Shanghai, the laptop says New York: the console's times agree with the
    ticket pages (09:30 on 2 March in Shanghai is 20:30 on 1 March in New York)."""
    from ticketing.models import Ticket

    assert org.agent_zh.time_zone == "Asia/Shanghai"
    stamp = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
    Ticket.objects.filter(pk=desk.billing_ticket.pk).update(assignee=org.agent_zh, updated_at=stamp)
    Message.objects.filter(ticket=desk.billing_ticket).update(created_at=stamp)
    page = open_browser(locale="en-US", time_zone="America/New_York")
    page.goto("/login/")
    sign_in(page, "agent_zh")
    page.wait_for_url(re.compile(r"/$"))
    page.goto("/console/")
    row = page.locator(f"[data-ticket='{desk.billing_ticket.id}']")
    assert row.locator(".cc-item-time").inner_text() == "03/02 09:30"
    row.click()
    assert page.locator("#cc-thread .msg-head time").first.inner_text() == "03/02 09:30"


def test_sign_out(org, desk, open_browser):
    page = open_browser(locale="en-US")
    page.goto("/login/")
    sign_in(page, "agent_en")
    page.wait_for_url(re.compile(r"/$"))
    page.get_by_role("button", name=re.compile("Sign out|退出")).click()
    page.wait_for_url(re.compile(r"/login/$"))
    page.goto("/tickets/")
    assert "/login/" in page.url


def test_a_long_conversation_scrolls_and_no_message_is_squeezed(org, desk, open_browser, screenshot):
    from ticketing.inbound import InboundMessage, inbound_ingest

    for n in range(12):
        inbound_ingest(
            InboundMessage(
                channel="email",
                sender_address="zhang.wei@example.cn",
                external_id=f"<more-{n}@example.cn>",
                subject="Re: 发票抬头错误",
                text=f"补充说明 {n}：发票抬头应为上海某某公司。\n纳税人识别号稍后发给您。",
                ticket_id=desk.billing_ticket.id,
            )
        )
    page = open_browser(locale="zh-CN")
    page.goto("/login/")
    sign_in(page, "agent_zh")
    page.wait_for_url(re.compile(r"/$"))
    page.goto("/console/")
    page.locator('.cc-count[data-count="queue"]', has_text="1").wait_for()  # the console has loaded
    page.locator('.cc-tab[data-view="queue"]').click()
    page.locator(f'.cc-item[data-ticket="{desk.billing_ticket.id}"] button').click()
    page.locator(".cc-thread .msg", has_text="补充说明 11").wait_for()
    squeezed = page.evaluate(
        "[...document.querySelectorAll('.cc-thread .msg')].filter(m => m.scrollHeight > m.clientHeight + 1).length"
    )
    assert squeezed == 0, f"{squeezed} messages are cut off instead of the thread scrolling"
    screenshot(page, "console-long-thread-zh")
