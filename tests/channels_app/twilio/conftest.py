import pytest

from accounts.models import Skill
from tests.api.conftest import api  # noqa: F401  (the token-authenticated API client fixture)
from tests.browser.conftest import chromium, open_browser, screenshot, site  # noqa: F401  (Chromium on the live server)
from tests.browser.test_console_live import console_page, console_server, static_collected  # noqa: F401  (daphne + Redis)
from tests.channels_app.twilio.fake_twilio import FakeTwilio
from tests.channels_app.twilio.helpers import ACCOUNT, TOKEN, phone_line
from tests.routing.helpers import routed_queue


@pytest.fixture
def fake_twilio(monkeypatch):
    fake = FakeTwilio(accounts={ACCOUNT: TOKEN}).start()
    monkeypatch.setenv("TWILIO_API_BASE_URL", fake.url)
    yield fake
    fake.stop()


@pytest.fixture
def queues(org):
    """Sales answered by the tech team (agent_en), support by the billing team (agent_zh). Routing places
    a ticket by its rules: the sales rule takes tickets tagged "sales", which the IVR's sales option tags."""
    sales = routed_queue(org.tech_team, priority=10, customer_tags=["sales"]).queue
    support = routed_queue(org.billing_team).queue
    return sales, support


@pytest.fixture
def line(queues):
    sales, support = queues
    line = phone_line(sales=sales, support=support)
    sales_skill, _created = Skill.objects.get_or_create(code="sales", defaults={"name": "Sales"})
    line.options.filter(digit="1").update(skill=sales_skill)
    return line


@pytest.fixture(autouse=True)
def english_business(settings):
    """Twilio's webhooks carry no language: what they write on tickets is in the site's language
    (LANGUAGE_CODE, zh-hans by default). These tests read it in English."""
    settings.LANGUAGE_CODE = "en"
