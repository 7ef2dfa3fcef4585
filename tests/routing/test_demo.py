"""With the demo data, as a new user tries it: a Chinese billing email reaches the zh billing
agent, an English chat an English agent; when they are busy the ticket waits, then overflows."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import AgentProfile, User
from contact_center.demo.routing import demo_routing_ensure
from contact_center.demo.seed import seed
from routing.models import Offer, OfferStatus, QueueRouting, RoutingStep, TicketRouting
from routing.selectors import ticket_explain
from routing.services import routing_sweep, ticket_route
from ticketing.inbound import InboundMessage, inbound_ingest

pytestmark = pytest.mark.slow


@pytest.fixture
def demo(db):
    seed(people=60, tickets=40)  # ends with demo_routing_ensure()
    assert QueueRouting.objects.count() == 4
    assert demo_routing_ensure() == 0  # idempotent
    return {u.username: u for u in User.objects.filter(username__in=["agent1", "agent2", "agent3"])}


def ingest(channel, sender, text, language, n):
    result = inbound_ingest(
        InboundMessage(
            channel=channel,
            sender_address=sender,
            external_id=f"demo-{n}",
            subject=text[:30],
            text=text,
            language=language,
        )
    )
    ticket_route(result.ticket)
    result.ticket.refresh_from_db()
    return result.ticket


def pending(ticket):
    return list(
        Offer.objects.filter(ticket=ticket, status=OfferStatus.PENDING).values_list("agent__username", flat=True)
    )


def test_chinese_billing_email_and_english_chat(demo):
    assert QueueRouting.objects.count() == 4 and RoutingStep.objects.count() == 6
    assert not TicketRouting.objects.filter(waiting_since__isnull=False).exists()  # the history is not re-routed
    zh = ingest("email", "wang@example.cn", "发票开错了，请重新开具增值税发票", "zh", 1)
    assert zh.queue.name == "账务 Billing" and pending(zh) == ["agent1"]
    en = ingest("chat", "visitor-routing-test-1", "My router will not connect", "en", 2)
    assert en.queue.name == "技术支持 Technical" and pending(en) == ["agent2"]
    explained = ticket_explain(zh)
    assert explained["rule"]["matched_by"] == ["language: zh"]
    assert explained["decisions"][0]["candidates"][0]["name"] == str(demo["agent1"])


def test_when_the_billing_agent_is_busy_the_email_waits_then_overflows(demo):
    AgentProfile.objects.filter(user=demo["agent1"]).update(capacity_email=0)
    zh = ingest("email", "li@example.cn", "退款什么时候到账？", "zh", 3)
    assert pending(zh) == []
    TicketRouting.objects.filter(pk=zh.pk).update(waiting_since=timezone.now() - dt.timedelta(seconds=121))
    routing_sweep()
    assert pending(zh) == ["agent2"]  # step 1: any billing level
    assert ticket_explain(zh)["decisions"][-1]["step"].startswith("step 1")


def test_the_seeded_history_is_not_routed_even_when_the_rules_exist_before_it_commits(
    db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        seed(people=60, tickets=40)
        demo_routing_ensure()
    assert not Offer.objects.exists()
    assert not TicketRouting.objects.filter(waiting_since__isnull=False).exists()
