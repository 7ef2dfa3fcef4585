"""The routing API as agents and supervisors use it: offers, explain, stats, configuration."""

import pytest

from routing.models import Offer, OfferStatus, QueueRouting
from routing.services import ticket_route
from tests import factories
from tests.routing.helpers import routed_queue, skill

ZH_BILLING = 'billing >= 3 and "zh" in languages'


@pytest.fixture
def offered(org):
    skill(org.agent_zh, "billing", 5)
    skill(org.agent_en, "billing", 1)
    rule = routed_queue(org.billing_team, target=ZH_BILLING)
    ticket = factories.ticket(channel="email", language="zh", queue_=rule.queue)
    [offer] = ticket_route(ticket)
    return offer


def test_an_agent_lists_and_accepts_their_offer(api, org, offered):
    client = api(org.agent_zh)
    listed = client.get("/api/v1/offers/").json()
    assert [o["id"] for o in listed] == [offered.id] and listed[0]["ticket_number"] == offered.ticket.number
    assert api(org.agent_en).get("/api/v1/offers/").json() == []
    response = client.post(f"/api/v1/offers/{offered.id}/accept/")
    assert response.status_code == 200 and response.json()["assignee"]["id"] == org.agent_zh.id
    again = client.post(f"/api/v1/offers/{offered.id}/accept/")
    assert again.status_code == 400 and "already accepted" in str(again.json()["errors"])


def test_someone_elses_offer_is_a_404(api, org, offered):
    assert api(org.agent_en).post(f"/api/v1/offers/{offered.id}/accept/").status_code == 404
    assert api(org.agent_en).post("/api/v1/offers/nope/decline/").status_code == 404
    assert Offer.objects.get(pk=offered.pk).status == OfferStatus.PENDING


def test_decline(api, org, offered):
    response = api(org.agent_zh).post(f"/api/v1/offers/{offered.id}/decline/")
    assert response.status_code == 200 and response.json()["status"] == "declined"


def test_explain_says_why_and_respects_record_scope(api, org, offered):
    path = f"/api/v1/routing/tickets/{offered.ticket_id}/explain/"
    body = api(org.supervisor).get(path).json()
    assert body["queue"]["id"] == offered.queue_id
    assert body["rule"]["target"] == ZH_BILLING
    candidates = body["decisions"][0]["candidates"]
    assert candidates[0]["agent"] == org.agent_zh.id and candidates[0]["eligible"]
    en = next(c for c in candidates if c["agent"] == org.agent_en.id)
    assert not en["eligible"] and "does not match the target" in en["reasons"]
    assert body["offers"][0]["agent_name"] == str(org.agent_zh) and body["offers"][0]["status"] == "pending"
    assert api(org.outsider).get(path).status_code == 404
    assert api(org.sales_rep).get(path).status_code == 404


def test_queue_stats_for_supervisors(api, org, offered):
    api(org.agent_zh).post(f"/api/v1/offers/{offered.id}/accept/")
    rows = api(org.supervisor).get("/api/v1/routing/queues/stats/").json()
    row = next(r for r in rows if r["queue"] == offered.queue_id)
    assert (row["offers_made"], row["offers_accepted"], row["waiting"]) == (1, 1, 0)
    assert row["average_speed_of_answer_seconds"] is not None
    assert api(org.agent_zh).get("/api/v1/routing/queues/stats/").status_code == 403
    assert api(org.supervisor).get("/api/v1/routing/queues/stats/?since=yesterday").status_code == 400


def test_configuration_rejects_an_expression_with_the_error_position(api, org):
    queue = factories.queue(team_=org.billing_team)
    client = api(org.supervisor)
    bad = client.post("/api/v1/routing/queues/", {"queue": queue.id, "target": "billing >> 3"}, format="json")
    assert bad.status_code == 400
    assert "at character 10" in bad.json()["errors"]["target"][0]
    good = client.post(
        "/api/v1/routing/queues/",
        {"queue": queue.id, "target": ZH_BILLING, "channels": ["email"], "offer_timeout_seconds": 20},
        format="json",
    )
    assert good.status_code == 201, good.json()
    rule = good.json()["id"]
    step = client.post("/api/v1/routing/steps/", {"rule": rule, "after_seconds": 60, "target": "billing >= 1"})
    assert step.status_code == 201
    assert client.get(f"/api/v1/routing/queues/{rule}/").json()["steps"][0]["after_seconds"] == 60
    assert client.post("/api/v1/routing/steps/", {"rule": rule, "after_seconds": 5, "target": "("}).status_code == 400
    assert QueueRouting.objects.get(pk=rule).target == ZH_BILLING
    skill_code = client.post("/api/v1/routing/skills/", {"code": "vip", "name": "VIP"}).json()["id"]
    agent_skill = client.post(
        "/api/v1/routing/agent-skills/", {"agent": org.agent_zh.agent_profile.id, "skill": skill_code, "level": 6}
    )
    assert agent_skill.status_code == 400


def test_agents_cannot_configure_routing(api, org):
    assert api(org.agent_zh).post("/api/v1/routing/skills/", {"code": "x", "name": "X"}).status_code == 403
    assert api(org.agent_zh).get("/api/v1/routing/queues/").status_code == 403


def test_an_agent_transfers_to_a_colleague_who_gets_an_offer_or_to_a_queue(api, org, offered):
    client = api(org.agent_zh)
    client.post(f"/api/v1/offers/{offered.id}/accept/")
    path = f"/api/v1/routing/tickets/{offered.ticket_id}/transfer/"
    assert client.post(path, {}, format="json").status_code == 400
    moved = client.post(path, {"agent": org.agent_en.id}, format="json")
    assert moved.status_code == 200 and moved.json()["assignee"] is None
    [offer] = Offer.objects.filter(ticket_id=offered.ticket_id, status=OfferStatus.PENDING)
    assert offer.agent == org.agent_en
    # Not theirs any more: the first agent may not transfer it again.
    assert client.post(path, {"queue": offered.queue_id}, format="json").status_code in {403, 404}
    api(org.agent_en).post(f"/api/v1/offers/{offer.id}/accept/")
    other = factories.queue(team_=org.tech_team)
    back = api(org.agent_en).post(path, {"queue": other.id}, format="json")
    assert back.status_code == 200 and back.json()["queue"]["id"] == other.id


def test_transfer_to_an_offline_agent_is_refused_and_nothing_changes(api, org, offered):
    from accounts.models import AgentProfile

    api(org.agent_zh).post(f"/api/v1/offers/{offered.id}/accept/")
    AgentProfile.objects.filter(user=org.agent_en).update(presence="offline")
    path = f"/api/v1/routing/tickets/{offered.ticket_id}/transfer/"
    refused = api(org.agent_zh).post(path, {"agent": org.agent_en.id}, format="json")
    assert refused.status_code == 400 and "not online" in str(refused.json()["errors"])
    offered.ticket.refresh_from_db()
    assert offered.ticket.assignee == org.agent_zh


@pytest.mark.parametrize(
    "payload",
    [
        {"queue": "x"},
        {"queue": None, "target": 5},
        {"channels": "email"},
        {"channels": [1, 2]},
        {"languages": {"zh": 1}},
        {"priorities": ["soon"]},
        {"target": "(" * 600},
        {"offer_timeout_seconds": -1},
        {"ring_count": "many"},
        {"companies": "all"},
        [],
        "not json",
    ],
)
def test_hostile_configuration_gets_a_clear_400(api, org, payload):
    response = api(org.supervisor).post("/api/v1/routing/queues/", payload, format="json")
    assert response.status_code == 400 and "errors" in response.json()
    assert not QueueRouting.objects.exists()


@pytest.mark.parametrize("payload", [{"queue": "x"}, {"agent": 10**9}, {"agent": "me"}, {"queue": 1, "agent": 1}, []])
def test_hostile_transfer_gets_a_clear_400(api, org, offered, payload):
    response = api(org.supervisor).post(
        f"/api/v1/routing/tickets/{offered.ticket_id}/transfer/", payload, format="json"
    )
    assert response.status_code == 400 and "errors" in response.json()
