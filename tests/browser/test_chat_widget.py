"""A visitor on a plain page of another site chats in Chinese through the widget; an agent in the
console (another browser context) sees it live and replies; both reload and the history is intact.
daphne serves the project (HTTP + websockets) with Redis; a tiny http.server is the customer's site."""

import functools
import http.server
import threading

import pytest
from django.conf import settings as django_settings

from tests.browser.conftest import SCREENSHOTS
from tests.channels_app.chat.conftest import shop  # noqa: F401  (the shop with its widget and agent)
from tests.channels_app.chat.daphne import daphne_server, free_port
from tests.factories import PASSWORD
from ticketing.models import Direction, Message

pytestmark = [pytest.mark.browser, pytest.mark.redis]

HOST_PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>小店 Little shop</title>
<style>* {{ color: #b91c1c !important; font-family: serif !important; }} button {{ background: yellow; }}
body {{ margin: 40px; }}</style></head>
<body><h1>小店 Little shop</h1><p>{text}</p><button>Host button</button>
<script src="http://127.0.0.1:{port}/widget/shop.js" async></script>
</body></html>
"""


@pytest.fixture
def customer_site(tmp_path):
    """The customer's website: plain HTML with the snippet, on its own origin."""
    root = tmp_path / "site"
    root.mkdir()
    handler = functools.partial(QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def _widget(page):
    return page.locator("[data-chat-widget]")


def test_visitor_and_agent_chat_live_in_chinese_and_keep_history(shop, chromium, customer_site, tmp_path):  # noqa: F811
    site_root, site_url = customer_site
    shop.widget.greeting_zh = "您好！欢迎光临小店，请问有什么可以帮您？"
    shop.widget.title_zh, shop.widget.title_en = "小店客服", "Shop support"
    shop.widget.colour = "#0f766e"
    shop.widget.save()
    port = free_port()
    env = {
        "CSRF_TRUSTED_ORIGINS": f"http://127.0.0.1:{port}",
        "SECURE_SSL_REDIRECT": "0",  # the widget's script and files over plain http on loopback
        "SECURE_PROXY_SSL_HEADER": "1",  # the agent's browser says it came through the TLS proxy
        "MEDIA_ROOT": str(django_settings.MEDIA_ROOT),
    }
    with daphne_server(tmp_path, port, static=True, **env):
        env_url = f"http://127.0.0.1:{port}"
        (site_root / "index.html").write_text(HOST_PAGE.format(lang="zh", text="欢迎光临", port=port), "utf-8")
        visitor_ctx = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
        visitor_ctx.set_default_timeout(10_000)
        visitor = visitor_ctx.new_page()
        visitor.goto(site_url + "/index.html")
        launcher = _widget(visitor).locator("button.launcher")
        launcher.click()
        window = _widget(visitor).locator(".window")
        assert "欢迎光临小店" in window.locator(".form .greeting").inner_text()
        _shot(visitor, "chat-widget-zh-prechat")
        window.locator("input[name=name]").fill("王芳")
        window.locator("input[name=email]").fill("wangfang@example.cn")
        window.locator("textarea[name=question]").fill("你好，我的订单还没有发货")
        window.locator(".form button.send").click()
        mine = window.locator(".msg.me")
        mine.first.wait_for()
        visitor.wait_for_function(
            "() => { const r = document.querySelector('[data-chat-widget]').shadowRoot;"
            " return r && !r.querySelector('.msg.pending') && r.querySelectorAll('.msg.me').length === 1; }"
        )
        assert window.locator(".queue").inner_text().strip()  # position in the queue while waiting

        agent_ctx = chromium.new_context(
            base_url=env_url,
            locale="zh-CN",
            viewport={"width": 1360, "height": 900},
            extra_http_headers={"X-Forwarded-Proto": "https"},
        )
        agent_ctx.set_default_timeout(10_000)
        agent = agent_ctx.new_page()
        agent.goto("/login/")
        agent.fill("#id_username", shop.agent.username)
        agent.fill("#id_password", PASSWORD)
        agent.click("form.stack button[type=submit]")
        agent.wait_for_url("**/")
        agent.goto("/console/")
        agent.locator("#console[data-state=live]").wait_for()  # its socket is up: what follows arrives live
        agent.locator(".cc-tab[data-view=queue]").click()
        agent.locator(".cc-item", has_text="你好，我的订单还没有发货").first.locator("button").click()
        thread = agent.locator("#cc-thread")
        thread.get_by_text("你好，我的订单还没有发货").wait_for()

        # the visitor writes again: the agent sees it live, markup as text
        window.locator(".foot textarea").fill("订单号是 20261124，<b>很急</b>")
        window.locator(".foot textarea").press("Enter")
        thread.get_by_text("订单号是 20261124，<b>很急</b>").wait_for()

        agent.fill("#cc-body", "您好王芳，我已经催仓库今天发货。<i>谢谢</i>")
        agent.click("#cc-send")
        reply = window.locator(".msg.them .bubble", has_text="我已经催仓库今天发货")
        reply.wait_for()
        assert "<i>谢谢</i>" in reply.inner_text()  # shown as typed, not as HTML
        assert reply.locator("i").count() == 0
        assert shop.agent.display_name in window.locator(".head").inner_text()
        _shot(visitor, "chat-widget-zh")

        # both reload: the same conversation, every message once
        visitor.reload()
        _widget(visitor).locator(".msg.them .bubble", has_text="我已经催仓库今天发货").wait_for()
        texts = _widget(visitor).locator(".msg .bubble").all_inner_texts()
        assert texts == [
            "你好，我的订单还没有发货",
            "订单号是 20261124，<b>很急</b>",
            "您好王芳，我已经催仓库今天发货。<i>谢谢</i>",
        ]
        agent.reload()
        agent.locator(".cc-tab[data-view=all]").click()
        agent.locator(".cc-item", has_text="你好，我的订单还没有发货").first.locator("button").click()
        agent.locator("#cc-thread").get_by_text("我已经催仓库今天发货").wait_for()
        _shot(agent, "chat-console-zh")

        # the same widget in English, and on a phone
        english_ctx = chromium.new_context(locale="en-US", viewport={"width": 1280, "height": 800})
        english = english_ctx.new_page()
        english.goto(site_url + "/index.html")
        _widget(english).locator("button.launcher").click()
        _widget(english).locator(".form button.send").wait_for()
        assert _widget(english).locator(".form button.send").inner_text() == "Start chat"
        _shot(english, "chat-widget-en-prechat")
        phone_ctx = chromium.new_context(
            locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
        )
        phone = phone_ctx.new_page()
        phone.goto(site_url + "/index.html")
        _widget(phone).locator("button.launcher").click()
        box = _widget(phone).locator(".window").bounding_box()
        assert box["width"] == 390 and box["height"] >= 800  # full screen on a phone
        _shot(phone, "chat-widget-zh-phone")
        for context in (visitor_ctx, agent_ctx, english_ctx, phone_ctx):
            context.close()

    inbound = Message.objects.filter(direction=Direction.INBOUND).values_list("body_text", flat=True)
    assert list(inbound) == ["你好，我的订单还没有发货", "订单号是 20261124，<b>很急</b>"]
