"""Routing services on a real database: placing, offering, accepting, declining, expiring, overflow."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import AgentProfile, Presence
from accounts.services import agent_presence_set
from routing import services
from routing.models import Offer, OfferStatus, RoutingDecision, TicketRouting
from routing.services import offer_accept, offer_decline, offers_expire, routing_sweep, ticket_route
from tests import factories
from tests.routing.helpers import capacity, routed_queue, skill
from ticketing.models import Status, Ticket, TicketEvent
from ticketing.services import ticket_assign, ticket_change_status

ZH_BILLING = 'billing >= 3 and "zh" in languages'


@pytest.fixture
def billing(org):
    skill(org.agent_zh, "billing", 5)
    skill(org.agent_en, "billing", 2)
    factories.queue("Default", team_=org.billing_team, is_default=True)
    return routed_queue(org.billing_team, target=ZH_BILLING, languages=["zh"], channels=["email"], priority=5)


def pending(ticket):
    return list(Offer.objects.filter(ticket=ticket, status=OfferStatus.PENDING).values_list("agent_id", flat=True))


def test_a_chinese_billing_email_is_placed_in_its_queue_and_offered_to_the_zh_billing_agent(org, billing):
    ticket = factories.ticket(channel="email", language="zh")
    ticket_route(ticket)
    ticket.refresh_from_db()
    assert ticket.queue == billing.queue
    assert pending(ticket) == [org.agent_zh.id]
    event = TicketEvent.objects.get(ticket=ticket, kind="offer.created")
    assert event.data["notify"] == [org.agent_zh.id] and event.data["queue"] == billing.queue_id
    assert TicketRouting.objects.get(pk=ticket.pk).waiting_since is not None


def test_the_offer_is_made_when_the_ticket_is_committed(org, billing, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = factories.ticket(channel="email", language="zh")
    assert pending(ticket) == [org.agent_zh.id]


def test_accept_assigns_once_and_a_second_accept_is_refused(org, billing):
    ticket = factories.ticket(channel="email", language="zh")
    [offer] = ticket_route(ticket)
    assert offer_accept(offer=offer, agent=org.agent_zh).assignee == org.agent_zh
    assert TicketRouting.objects.get(pk=ticket.pk).waiting_since is None
    with pytest.raises(ValidationError, match="already accepted"):
        offer_accept(offer=offer, agent=org.agent_zh)
    assert TicketEvent.objects.filter(ticket=ticket, kind="offer.accepted").count() == 1


def test_someone_elses_or_expired_offer_cannot_be_accepted(org, billing):
    ticket = factories.ticket(channel="email", language="zh")
    [offer] = ticket_route(ticket)
    with pytest.raises(ValidationError, match="another agent"):
        offer_accept(offer=offer, agent=org.agent_en)
    Offer.objects.filter(pk=offer.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    with pytest.raises(ValidationError, match="expired"):
        offer_accept(offer=offer, agent=org.agent_zh)
    ticket.refresh_from_db()
    assert ticket.assignee is None


def test_decline_moves_on_to_the_next_agent_once_the_target_widens(org, billing):
    skill(org.agent_en, "billing", 3)
    AgentProfile.objects.filter(user=org.agent_en).update(languages=["zh", "en"])
    ticket = factories.ticket(channel="email", language="zh")
    [offer] = ticket_route(ticket)
    assert offer.agent == org.agent_zh
    offer_decline(offer=offer, agent=org.agent_zh)
    ticket_route(ticket)
    assert pending(ticket) == [org.agent_en.id]


def test_an_expired_offer_goes_to_the_next_agent(org, billing):
    skill(org.agent_en, "billing", 3)
    AgentProfile.objects.filter(user=org.agent_en).update(languages=["zh"])
    ticket = factories.ticket(channel="email", language="zh")
    [offer] = ticket_route(ticket)
    Offer.objects.filter(pk=offer.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert offers_expire() == 1
    ticket_route(ticket)
    assert Offer.objects.get(pk=offer.pk).status == OfferStatus.EXPIRED
    assert pending(ticket) == [org.agent_en.id]
    assert TicketEvent.objects.filter(ticket=ticket, kind="offer.expired", data__notify=[org.agent_zh.id]).exists()


def test_capacity_is_never_exceeded_and_the_ticket_waits(org, billing):
    capacity(org.agent_zh, email=1)
    first = factories.ticket(channel="email", language="zh")
    second = factories.ticket(channel="email", language="zh")
    [offer] = ticket_route(first)
    assert ticket_route(second) == []  # the pending offer holds the one slot
    offer_accept(offer=offer, agent=org.agent_zh)
    assert routing_sweep() == 0
    assert TicketRouting.objects.get(pk=second.pk).waiting_since is not None
    ticket_change_status(ticket=first, status=Status.SOLVED, by=org.agent_zh)
    assert routing_sweep() == 1 and pending(second) == [org.agent_zh.id]


def test_when_the_queue_agents_are_busy_the_ticket_overflows_after_the_step_wait(org):
    skill(org.agent_zh, "billing", 5)
    skill(org.agent_en, "billing", 1)
    rule = routed_queue(org.billing_team, target="billing >= 3", steps=[(60, "billing >= 1")])
    capacity(org.agent_zh, email=0)
    ticket = factories.ticket(channel="email", queue_=rule.queue)
    assert ticket_route(ticket) == []
    TicketRouting.objects.filter(pk=ticket.pk).update(waiting_since=timezone.now() - dt.timedelta(seconds=61))
    assert routing_sweep() == 1
    assert pending(ticket) == [org.agent_en.id]
    steps = list(RoutingDecision.objects.filter(ticket=ticket).values_list("step", flat=True))
    assert steps[0] == "the queue target" and steps[-1].startswith("step 1")


def test_an_agent_who_misses_offers_in_a_row_is_set_away(org, billing):
    billing.max_missed_offers = 2
    billing.save()
    for _ in range(2):
        ticket = factories.ticket(channel="email", language="zh")
        [offer] = ticket_route(ticket)
        offer_decline(offer=offer, agent=org.agent_zh)
    assert AgentProfile.objects.get(user=org.agent_zh).presence == Presence.AWAY


def test_going_offline_withdraws_offers_and_returns_chats(org, billing, django_capture_on_commit_callbacks):
    billing.channels, billing.return_chats_on_offline = ["email", "chat"], True
    billing.save()
    email = factories.ticket(channel="email", language="zh")
    chat = factories.ticket(channel="chat", language="zh")
    [offer] = ticket_route(email)
    [chat_offer] = ticket_route(chat)
    offer_accept(offer=chat_offer, agent=org.agent_zh)
    with django_capture_on_commit_callbacks(execute=True):
        agent_presence_set(agent=org.agent_zh, presence=Presence.OFFLINE)
    assert Offer.objects.get(pk=offer.pk).status == OfferStatus.WITHDRAWN
    chat.refresh_from_db()
    assert chat.assignee is None
    assert TicketRouting.objects.get(pk=chat.pk).waiting_since is not None


def test_supervisor_assignment_stops_waiting_and_a_transfer_to_a_queue_reroutes(
    org, billing, django_capture_on_commit_callbacks
):
    ticket = factories.ticket(channel="email", language="zh")
    [offer] = ticket_route(ticket)
    with django_capture_on_commit_callbacks(execute=True):
        ticket_assign(ticket=ticket, agent=org.agent_en, by=org.supervisor)
    assert Offer.objects.get(pk=offer.pk).status == OfferStatus.WITHDRAWN
    assert TicketRouting.objects.get(pk=ticket.pk).waiting_since is None
    with django_capture_on_commit_callbacks(execute=True):
        ticket_assign(ticket=ticket, agent=None, by=org.supervisor, queue=billing.queue)
    assert TicketRouting.objects.get(pk=ticket.pk).waiting_since is not None
    assert pending(ticket) == [org.agent_zh.id]


def test_routing_from_a_copy_read_before_the_ticket_was_given_back_keeps_its_new_offer(
    org, billing, django_capture_on_commit_callbacks
):
    ticket = factories.ticket(channel="email", language="zh")
    [offer] = ticket_route(ticket)
    offer_accept(offer=offer, agent=org.agent_zh)
    stale = Ticket.objects.get(pk=ticket.pk)  # a process routing "ticket.assigned" read it here, then stalled
    with django_capture_on_commit_callbacks(execute=True):  # meanwhile it goes back and is offered again
        ticket_assign(ticket=ticket, agent=None, by=org.supervisor, queue=billing.queue)
    assert pending(ticket) == [org.agent_zh.id]

    services._offer_next(TicketRouting.objects.get(pk=ticket.pk), ticket=stale)  # the stalled process goes on

    assert pending(ticket) == [org.agent_zh.id]  # not withdrawn by a decision on what the ticket was
    assert TicketRouting.objects.get(pk=ticket.pk).waiting_since is not None


def test_ring_several_at_once_first_accept_wins(org, billing):
    billing.ring_count, billing.target, billing.channels = 2, "billing >= 1", ["chat"]
    billing.save()
    ticket = factories.ticket(channel="chat", language="zh")
    offers = ticket_route(ticket)
    assert {o.agent_id for o in offers} == {org.agent_zh.id, org.agent_en.id}
    winner = next(o for o in offers if o.agent_id == org.agent_en.id)
    loser = next(o for o in offers if o.agent_id == org.agent_zh.id)
    offer_accept(offer=winner, agent=org.agent_en)
    assert Offer.objects.get(pk=loser.pk).status == OfferStatus.WITHDRAWN
    with pytest.raises(ValidationError):
        offer_accept(offer=loser, agent=org.agent_zh)


def test_one_sweep_batch_rings_the_other_agent_within_capacity_and_records_each_offer(org, billing):
    billing.ring_count, billing.target, billing.channels = 2, "billing >= 1", ["chat"]
    billing.save()
    capacity(org.agent_zh, chat=2)
    capacity(org.agent_en, chat=0)
    first, second, third = (factories.ticket(channel="chat", language="zh") for _ in range(3))
    for ticket in (first, second, third):
        ticket_route(ticket)
    assert (pending(first), pending(second), pending(third)) == ([org.agent_zh.id], [org.agent_zh.id], [])
    capacity(org.agent_en, chat=2)
    assert routing_sweep() == 2  # the two oldest ring agent_en too; nobody has room left for the third
    assert sorted(pending(first)) == sorted(pending(second)) == sorted([org.agent_zh.id, org.agent_en.id])
    assert pending(third) == []
    for offer in Offer.objects.filter(agent=org.agent_en):
        event = TicketEvent.objects.get(kind="offer.created", data__offer=offer.pk)
        assert event.ticket_id == offer.ticket_id and event.data["notify"] == [org.agent_en.id]
        assert event.data["expires_at"] == offer.expires_at.isoformat() and event.data["queue"] == billing.queue_id


def test_the_decision_shows_an_away_agent_with_the_reason_and_leaves_offline_agents_out(org, billing):
    AgentProfile.objects.filter(user=org.agent_en).update(presence=Presence.AWAY)
    away = factories.ticket(channel="email", language="zh")
    ticket_route(away)
    [decision] = RoutingDecision.objects.filter(ticket=away)
    candidates = {c["agent"]: c for c in decision.candidates}
    assert candidates[org.agent_zh.id]["eligible"]
    assert "presence is away" in candidates[org.agent_en.id]["reasons"]
    AgentProfile.objects.filter(user=org.agent_en).update(presence=Presence.OFFLINE)
    offline = factories.ticket(channel="email", language="zh")
    ticket_route(offline)
    [decision] = RoutingDecision.objects.filter(ticket=offline)
    assert org.agent_en.id not in {c["agent"] for c in decision.candidates}
    assert pending(offline) == [org.agent_zh.id]


def test_a_ticket_of_a_queue_without_routing_is_left_alone(org):
    ticket = factories.ticket(channel="email")
    assert ticket_route(ticket) == []
    assert not Offer.objects.exists()


def test_more_messages_on_a_ticket_no_rule_serves_cost_no_routing(org, monkeypatch, django_capture_on_commit_callbacks):
    from ticketing.inbound import InboundMessage, inbound_ingest

    def chat_line(n, ticket_id=None):
        with django_capture_on_commit_callbacks(execute=True):
            return inbound_ingest(
                InboundMessage(
                    channel="chat",
                    sender_address="visitor-1",
                    external_id=f"line-{n}",
                    text=f"第 {n} 句",
                    ticket_id=ticket_id,
                )
            ).ticket

    ticket = chat_line(0)
    assert TicketRouting.objects.get(pk=ticket.pk).rule_id is None  # placed, in a queue nothing routes
    routed = []
    monkeypatch.setattr(services, "ticket_route", lambda t: routed.append(t.pk) or [])
    chat_line(1, ticket.pk)
    assert routed == []
    # Once a rule serves the queue, the next message routes the ticket it had left alone.
    routed_queue_for = routed_queue(org.billing_team)
    ticket.queue = routed_queue_for.queue
    ticket.save(update_fields=["queue"])
    chat_line(2, ticket.pk)
    assert routed == [ticket.pk]


def test_the_sweep_routes_a_ticket_whose_trigger_was_lost(org, billing):
    ticket = factories.ticket(channel="email", language="zh")  # no on_commit here: as if the process died
    assert not TicketRouting.objects.filter(pk=ticket.pk).exists()
    assert routing_sweep() == 1
    assert pending(ticket) == [org.agent_zh.id]


def test_a_ticket_taken_while_it_is_being_routed_does_not_wait_again(org, billing, monkeypatch):
    # Routing read the ticket unassigned; before it looks at the routing row, the agent accepts the offer
    # (another process). No agent has room left, so the sweep never gets to look at this ticket again.
    AgentProfile.objects.update(capacity_email=0, capacity_chat=0, capacity_voice=0, capacity_sms=0)
    capacity(org.agent_zh, email=1)
    ticket = factories.ticket(channel="email", language="zh")
    [offer] = ticket_route(ticket)
    older = factories.ticket(channel="email", language="zh")
    assert ticket_route(older) == []
    ensure = services._routing_ensure

    def accepted_meanwhile(stale_ticket):
        offer_accept(offer=offer, agent=org.agent_zh)
        return ensure(stale_ticket)

    monkeypatch.setattr(services, "_routing_ensure", accepted_meanwhile)
    assert ticket_route(ticket) == []
    assert TicketRouting.objects.get(pk=ticket.pk).waiting_since is None
    assert TicketRouting.objects.get(pk=older.pk).waiting_since is not None


def test_placing_a_new_ticket_never_takes_it_from_the_agent_it_was_just_given_to(org, billing, monkeypatch):
    # Routing read the new ticket unassigned; before it places the ticket in its queue, a supervisor gives
    # it to an agent (another process). Placing the stale copy would move it with "assignee: nobody".
    ticket = factories.ticket(channel="email", language="zh")
    ensure = services._routing_ensure

    def assigned_meanwhile(stale_ticket):
        ticket_assign(ticket=stale_ticket, agent=org.agent_en, by=org.supervisor)
        return ensure(stale_ticket)

    monkeypatch.setattr(services, "_routing_ensure", assigned_meanwhile)
    assert ticket_route(ticket) == []
    ticket.refresh_from_db()
    assert ticket.assignee == org.agent_en
    assert not TicketEvent.objects.filter(ticket=ticket, kind="ticket.assigned", data__assignee__to=None).exists()
    assert TicketRouting.objects.get(pk=ticket.pk).waiting_since is None
    assert pending(ticket) == []


def test_the_sweep_ends_the_wait_of_a_ticket_that_was_taken(org, billing):
    capacity(org.agent_zh, email=2)
    ticket = factories.ticket(channel="email", language="zh")
    [offer] = ticket_route(ticket)
    offer_accept(offer=offer, agent=org.agent_zh)
    TicketRouting.objects.filter(pk=ticket.pk).update(waiting_since=timezone.now())  # a stale write
    assert routing_sweep() == 0
    assert TicketRouting.objects.get(pk=ticket.pk).waiting_since is None
    assert pending(ticket) == []


def test_a_new_ticket_does_not_jump_ahead_of_an_older_waiting_one(org, billing):
    capacity(org.agent_zh, email=0)
    older = factories.ticket(channel="email", language="zh")
    assert ticket_route(older) == []
    capacity(org.agent_zh, email=1)
    newer = factories.ticket(channel="email", language="zh")
    assert ticket_route(newer) == []
    assert pending(older) == [org.agent_zh.id]


def test_a_ticket_put_in_a_routed_queue_on_purpose_stays_there(org, billing):
    other = routed_queue(org.tech_team, target="billing >= 1")
    ticket = factories.ticket(channel="email", language="zh", queue_=other.queue)
    ticket_route(ticket)
    ticket.refresh_from_db()
    assert ticket.queue == other.queue
