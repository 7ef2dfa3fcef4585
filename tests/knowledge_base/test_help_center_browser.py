"""The help center and the agent's knowledge-base tools in a real Chromium, in Chinese and English;
screenshots go to test-artifacts/screenshots."""

import re

import pytest

from contact_center.demo.articles import demo_articles_ensure
from knowledge_base.indexing import index_pending
from tests import factories
from tests.browser.conftest import chromium, open_browser, screenshot, site  # noqa: F401
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_visitor_browses_searches_and_reads_in_both_languages(open_browser, screenshot):  # noqa: F811
    demo_articles_ensure()
    index_pending()  # what the worker's search_index duty does within a second
    page = open_browser(locale="zh-CN")
    page.goto("/help/zh/")
    assert (
        page.locator("h1").inner_text() == "How can we help?" or page.locator("html").get_attribute("lang") == "zh-hans"
    )
    assert "如何申请退款" in page.content()
    screenshot(page, "help-home-zh")
    page.fill("#hc-q", "怎么退款")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/help/zh/search/"))
    first = page.locator(".hc-results li").first
    assert "退款" in first.locator("mark").first.inner_text()
    screenshot(page, "help-search-zh")
    first.locator("a.hc-result-title").click()
    assert page.locator("h1").inner_text() in {"如何申请退款", "退款进度查询与到账时间"}
    page.get_by_role("button", name=re.compile("Yes|是")).click()
    assert page.locator("#feedback").is_visible()
    screenshot(page, "help-article-zh")

    page.get_by_role("link", name="English", exact=True).click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert "refund" in page.locator("h1").inner_text().lower()
    screenshot(page, "help-article-en")
    page.goto("/help/en/")
    assert "How do I reset my password" in page.content()
    screenshot(page, "help-home-en")

    phone = open_browser(locale="en-US", phone=True)
    phone.goto("/help/en/reset-password/")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # nothing forces sideways scrolling on a phone
    screenshot(phone, "help-article-en-phone")


def test_agent_inserts_the_suggested_refund_article_and_searches_globally(org, open_browser, screenshot, monkeypatch):  # noqa: F811
    # Live ticket events go through async_to_sync, which refuses to run next to Playwright's
    # event loop in this thread; they are not what this test is about.
    monkeypatch.setattr("ticketing.events._publish", lambda *args, **kwargs: None)
    demo_articles_ensure()
    queue = factories.queue(team_=org.billing_team)
    ticket = factories.ticket(
        subject="申请退款", body_text="我买的耳机不想要了，怎么退款？", queue_=queue, language="zh"
    )
    index_pending()
    page = open_browser(locale="zh-CN")
    page.goto(f"/help/agent-tools/?ticket={ticket.pk}")
    page.fill("#id_username", "agent_zh")
    page.fill("#id_password", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(re.compile(r"/help/agent-tools/"))
    first = page.locator(".kb-item").first
    assert first.locator(".kb-item-title").inner_text() == "如何申请退款"
    first.get_by_role("button", name="插入链接").click()
    assert re.search(r"如何申请退款\nhttp://.+/help/zh/", page.locator("#reply").input_value())
    first.get_by_role("button", name="插入正文").click()
    page.wait_for_function("document.getElementById('reply').value.includes('原路退回')")

    page.fill("#global-search", "退款")
    dropdown = page.locator(".kb-dropdown")
    dropdown.wait_for(state="visible")
    assert dropdown.locator(f"a[href='/tickets/{ticket.number}/']").count() == 1
    assert dropdown.locator("mark").first.inner_text() == "退款"
    screenshot(page, "kb-agent-tools-zh")
