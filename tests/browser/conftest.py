"""Headless Chromium (Debian's, never a downloaded one) against pytest-django's live server.

The live server speaks plain HTTP; production runs behind a TLS proxy, so each
page is requested the way the proxy forwards it (X-Forwarded-Proto: https) and
the production security settings stay on."""

import os
from pathlib import Path

import pytest

from tests.frontend.conftest import Desk, desk  # noqa: F401  (the same small contact center as the page tests)
from tests.services import need

os.environ["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture(scope="module")
def chromium():
    """Started per module and stopped after it: while Playwright's sync API is open its
    event loop runs in this thread, and the tests after ours need it gone."""
    need(CHROMIUM.exists(), f"Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread, which Django takes for async
    # code; the tests' ORM calls are still synchronous. Allowed only while the browser is open.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def site(live_server, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.CSRF_TRUSTED_ORIGINS = [live_server.url]
    return live_server


@pytest.fixture
def open_browser(chromium, site):
    """open_browser(locale="zh-CN", phone=False, time_zone="Asia/Shanghai") → a fresh page (own cookies)
    on the live server."""
    contexts = []

    def opener(*, locale: str = "zh-CN", phone: bool = False, time_zone: str = "Asia/Shanghai"):
        viewport = {"width": 390, "height": 844} if phone else {"width": 1360, "height": 900}
        context = chromium.new_context(
            base_url=site.url,
            locale=locale,
            viewport=viewport,
            device_scale_factor=1,
            extra_http_headers={"X-Forwarded-Proto": "https"},
            timezone_id=time_zone,
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield opener
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.evaluate("window.scrollTo(0, 0)")  # the sticky top bar belongs at the top of a full-page shot
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
