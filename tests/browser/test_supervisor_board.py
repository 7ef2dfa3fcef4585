"""The supervisor board on a wall screen, in headless Chromium against a real daphne with Redis:
a ticket on a China-calendar queue counts down, turns amber at the warning and red at the breach,
live on two screens (Chinese and English); the breach and its escalation arrive over
/ws/supervisor/ without reload; a supervisor reassigns from the board. Screenshots at 1920×1080."""

from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import AgentProfile, Presence
from crm.services import company_create
from tests import factories
from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_console import sign_in
from tests.browser.test_console_live import console_server, elsewhere, static_collected  # noqa: F401
from ticketing import services
from ticketing.models import BusinessCalendar, Priority, SlaPolicy, Ticket
from ticketing.sla.services import sla_recompute, sla_tick

pytestmark = [pytest.mark.browser, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

SH = ZoneInfo("Asia/Shanghai")
ALL_DAY = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
TARGETS = {
    "low": {"first_response": 240, "resolution": 2880},
    "normal": {"first_response": 60, "next_response": 120, "resolution": 480},
    "high": {"first_response": 30, "next_response": 60, "resolution": 240},
    "urgent": {"first_response": 15, "next_response": 30, "resolution": 120},
}
SUBJECTS = [
    ("发票抬头开错了，需要重开", "normal", "email"),
    ("退款三天了还没到账", "high", "chat"),
    ("Cannot log in after password reset", "high", "email"),
    ("订单 #58231 物流一直不更新", "normal", "web"),
    ("API rate limit errors since this morning", "urgent", "api"),
    ("会员续费扣款两次", "urgent", "voice"),
    ("Need a copy of the March invoice", "low", "email"),
    ("企业版合同续签咨询", "normal", "chat"),
    ("Export to Excel times out", "normal", "web"),
    ("修改收货地址", "low", "sms"),
    ("Webhook signature mismatch", "high", "email"),
    ("账号被锁定无法登录", "high", "chat"),
]


@dataclass
class Floor:
    focus: Ticket  # due about 20 s after the board opens, on the China-calendar queue
    due_in: float


def _ago(**delta):
    return timezone.now() - timedelta(**delta)


def _build_floor(org) -> Floor:
    """A realistic floor: four queues, a dozen agents, open tickets on running clocks, some breached
    and some met today. The China calendar counts all day here (and today is an own working day),
    so the countdown runs whenever the test runs; the 17:50-Friday case is in the SLA tests."""
    today = timezone.now().astimezone(SH).date()
    china = BusinessCalendar.objects.create(
        name="中国 · 全天",
        time_zone="Asia/Shanghai",
        weekly_hours=ALL_DAY,
        country="CN",
        extra_workdays=[str(today), str(today + timedelta(days=1))],
    )
    billing = factories.queue("账务 Billing", team_=org.billing_team)
    billing.calendar = china
    billing.save()
    tech = factories.queue("技术支持 Tech", team_=org.tech_team)
    vip = factories.queue("大客户 VIP", team_=org.billing_team)
    sales = factories.queue("售前 Pre-sales", team_=org.tech_team)
    queues = [billing, tech, vip, sales]
    SlaPolicy.objects.create(
        name="Standard", position=10, targets=TARGETS, warn_percent=75, escalate_priority=Priority.URGENT
    )
    # The company condition: this customer's company has a one-minute first response.
    company = company_create(by=None, name="上海示例科技有限公司")
    live = SlaPolicy.objects.create(
        name="Live check", position=1, targets={"high": {"first_response": 1}}, warn_percent=75, calendar=None
    )
    live.companies.add(company)

    names = [
        ("li.na", "李娜", Presence.ONLINE, [org.billing_team]),
        ("wang.fang", "王芳", Presence.ONLINE, [org.billing_team]),
        ("zhao.lei", "赵磊", Presence.AWAY, [org.billing_team]),
        ("chen.jie", "陈杰", Presence.ONLINE, [org.tech_team]),
        ("emma", "Emma Clark", Presence.ONLINE, [org.tech_team]),
        ("liam", "Liam Baker", Presence.OFFLINE, [org.tech_team]),
        ("sun.li", "孙丽", Presence.ONLINE, [org.billing_team, org.tech_team]),
        ("zhou.min", "周敏", Presence.AWAY, [org.tech_team]),
        ("olivia", "Olivia Wu", Presence.ONLINE, [org.billing_team]),
        ("huang.tao", "黄涛", Presence.OFFLINE, [org.billing_team]),
    ]
    agents = [org.agent_zh, org.agent_en]
    AgentProfile.objects.filter(user__in=agents).update(presence=Presence.ONLINE)
    for username, name, presence, teams in names:
        agents.append(factories.agent(username, teams=teams, presence=presence, first_name=name))
    customers = [factories.person(n) for n in ("张伟", "刘洋", "Acme Ltd", "杨静", "Mia Chen", "吴强")]

    # Running clocks with various time left.
    for i, (subject, priority, channel) in enumerate(SUBJECTS):
        ticket = factories.ticket(
            customer=customers[i % len(customers)],
            queue_=queues[i % len(queues)],
            assignee=agents[i % len(agents)] if i % 3 else None,
            subject=subject,
            channel=channel,
            priority=priority,
            created_at=_ago(minutes=TARGETS[priority]["first_response"] * (0.35 + 0.05 * i)),
        )
    # Met today: answered in time.
    for i in range(9):
        ticket = factories.ticket(customer=customers[i % 6], queue_=queues[i % 4], subject=f"已解决的问题 {i}")
        services.ticket_reply(ticket=ticket, by=agents[i % len(agents)], body_text="您好，已为您处理。")
    # Breached: waited too long (the sweeper fires the breaches and escalations).
    for i, subject in enumerate(["发货单据缺失", "Refund not received", "账单金额不对"]):
        factories.ticket(
            customer=customers[i],
            queue_=queues[i],
            subject=subject,
            channel="email",
            created_at=_ago(minutes=75 + 20 * i),
        )
    sla_tick()

    owner_customer = factories.person("王强", owner=org.sales_rep)
    focus = factories.ticket(
        customer=owner_customer,
        queue_=billing,
        subject="对公转账未到账，请加急处理",
        channel="chat",
        priority=Priority.HIGH,
        created_at=_ago(seconds=38),
    )
    Ticket.objects.filter(pk=focus.pk).update(company=company)
    focus = sla_recompute(ticket=Ticket.objects.get(pk=focus.pk))
    return Floor(focus=focus, due_in=(focus.first_response_due_at - timezone.now()).total_seconds())


@pytest.fixture
def wall(chromium, console_server):  # noqa: F811
    contexts = []

    def opener(locale: str):
        context = chromium.new_context(
            base_url=console_server.base,
            locale=locale,
            viewport={"width": 1920, "height": 1080},
            device_scale_factor=1,
            extra_http_headers={"X-Forwarded-Proto": "https"},
            timezone_id="Asia/Shanghai",
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield opener
    for context in contexts:
        context.close()


def open_board(page, username: str, language: str) -> None:
    page.goto("/supervisor/")
    sign_in(page, username)
    page.wait_for_url("**/supervisor/")
    if page.locator("html").get_attribute("lang") != language:
        page.locator(".sb-lang button").click()
        page.wait_for_url("**/supervisor/")
    assert page.locator("html").get_attribute("lang") == language
    page.wait_for_selector("#board[data-state=live]")


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def fits_screen(page) -> bool:
    return page.evaluate(
        "() => document.documentElement.scrollHeight <= innerHeight"
        " && document.documentElement.scrollWidth <= innerWidth"
    )


def test_board_counts_down_and_turns_red_at_breach_live_on_two_screens(org, wall):
    floor = elsewhere(_build_floor, org)
    assert 5 < floor.due_in < 30
    zh = wall("zh-CN")
    open_board(zh, "supervisor", "zh-hans")
    en = wall("en-US")
    open_board(en, "admin", "en")

    rows = [page.locator(f"#sb-risk-rows [data-ticket='{floor.focus.id}']") for page in (zh, en)]
    for page, row in zip((zh, en), rows, strict=True):
        row.wait_for()
        assert "对公转账未到账" in row.inner_text()
        countdown = row.locator(".sb-countdown")
        assert countdown.get_attribute("data-level") in {"ok", "warning"}
        first = countdown.inner_text()
        page.wait_for_timeout(1100)
        assert countdown.inner_text() != first  # it counts down by itself
        assert fits_screen(page)
    assert "首次响应" in rows[0].inner_text() or "First response" not in rows[0].inner_text()
    assert "First response" in rows[1].inner_text()
    assert zh.locator("#sb-agent-rows .sb-agent").count() >= 10
    assert zh.locator("#sb-breached-rows .sb-row").count() == 3
    expect(zh.locator("#sb-kpi-breached")).to_have_text("3")
    shot(zh, "supervisor-board-zh")
    shot(en, "supervisor-board-en")

    # The deadline passes: both screens turn the row red on their own, within the second.
    for row in rows:
        row.locator(".sb-countdown[data-level=breached]").wait_for(timeout=int(floor.due_in * 1000) + 5000)
        assert "is-breached" in row.get_attribute("class")
    for page in (zh, en):  # the header counts it at once, and only once after the sweep's frame
        expect(page.locator("#sb-kpi-breached")).to_have_text("4")

    # The worker's sweep fires the breach and the escalation: the board gets them over the socket.
    assert elsewhere(sla_tick) >= 1
    for page in (zh, en):
        page.locator(f"#sb-breached-rows [data-ticket='{floor.focus.id}']").wait_for()
        page.locator(".sb-alert-escalated").first.wait_for()
        assert page.locator(f"#sb-risk-rows [data-ticket='{floor.focus.id}']").count() == 0
        expect(page.locator("#sb-kpi-breached")).to_have_text("4")
        assert fits_screen(page)
    assert f"#{floor.focus.number}" in en.locator(".sb-alert-escalated").first.inner_text()
    shot(zh, "supervisor-board-breach-zh")
    shot(en, "supervisor-board-breach-en")

    # Reassign from the board (through the ticket API): both screens show the new assignee.
    en.locator(f"#sb-breached-rows [data-ticket='{floor.focus.id}'] .sb-reassign-open").click()
    en.select_option("#sb-reassign-agent", value=str(org.agent_zh.id))
    en.locator("#sb-reassign-form button[type=submit]").click()
    en.locator("#sb-reassign").wait_for(state="hidden")
    floor.focus.refresh_from_db()
    assert floor.focus.assignee_id == org.agent_zh.id
    for page in (zh, en):
        page.locator(f"#sb-breached-rows [data-ticket='{floor.focus.id}'] .sb-meta", has_text="agent_zh").wait_for()

    # High contrast for a bright room.
    en.locator("#sb-contrast").click()
    assert en.locator("#board").get_attribute("data-contrast") == "high"
    shot(en, "supervisor-board-contrast-en")
