"""The console page and its JSON endpoints: inbox with unread counts, a conversation with the
customer card, replies and notes with attachments, presence, canned responses — all in scope."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import AgentProfile
from ticketing.inbound import InboundMessage, inbound_ingest
from ticketing.models import Attachment, CannedResponse, Direction, Message

pytestmark = pytest.mark.django_db


def signed_in(client, user):
    client.force_login(user)
    return client


def test_console_page_needs_sign_in_and_shows_three_panes_in_chinese(client, org):
    assert client.get("/console/").status_code == 302
    page = signed_in(client, org.agent_zh).get("/console/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'href="/console/"' in html  # the nav shows the console once it exists
    for pane in ("cc-inbox", "cc-conversation", "cc-side"):
        assert pane in html
    assert "/static/frontend/console.js" in html and "/jsi18n/" in html
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert 'data-presence="online"' in html


def test_inbox_lists_only_tickets_in_scope_with_unread_counts(client, org, desk):
    signed_in(client, org.agent_zh)
    rows = client.get("/console/api/inbox/?view=all").json()["tickets"]
    assert [r["subject"] for r in rows] == [desk.billing_ticket.subject]
    waiting = client.get("/console/api/inbox/?view=queue").json()
    assert [r["id"] for r in waiting["tickets"]] == [desk.billing_ticket.id]
    assert waiting["counts"]["queue"] == 1
    assert rows[0]["unread"] == 1  # the customer's first message

    client.post(f"/console/api/tickets/{desk.billing_ticket.id}/read/")
    assert client.get("/console/api/inbox/?view=all").json()["tickets"][0]["unread"] == 0
    inbound_ingest(
        InboundMessage(
            channel="email",
            sender_address="zhang.wei@example.cn",
            external_id="<again@example.cn>",
            subject="Re: 发票抬头错误",
            text="还有一个问题",
            ticket_id=desk.billing_ticket.id,
        )
    )
    assert client.get("/console/api/inbox/?view=all").json()["tickets"][0]["unread"] == 1


def test_conversation_out_of_scope_is_404_and_customer_markup_stays_text(client, org, desk):
    signed_in(client, org.agent_zh)
    assert client.get(f"/console/api/tickets/{desk.tech_ticket.id}/").status_code == 404
    Message.objects.filter(ticket=desk.billing_ticket).update(body_text="<img src=x onerror=alert(1)> 你好")
    data = client.get(f"/console/api/tickets/{desk.billing_ticket.id}/").json()
    assert data["messages"][0]["text"] == "<img src=x onerror=alert(1)> 你好"
    card = data["customer_card"]
    assert card["name"] == "张伟"
    assert ("email", "zhang.wei@example.cn") in [(i["kind"], i["value"]) for i in card["identities"]]
    assert card["companies"] == ["上海示例贸易有限公司"]
    assert {s["value"] for s in data["statuses"]} >= {"open", "solved"}


def test_reply_with_attachment_and_note_go_through_the_services(client, org, desk):
    signed_in(client, org.agent_zh)
    url = f"/console/api/tickets/{desk.billing_ticket.id}/messages/"
    upload = SimpleUploadedFile("发票.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    reply = client.post(url, {"kind": "reply", "body_text": "已更正", "attachments": [upload]})
    assert reply.status_code == 201, reply.content
    assert reply.json()["direction"] == "out" and reply.json()["attachments"][0]["filename"] == "发票.pdf"
    stored = Message.objects.get(pk=reply.json()["id"])
    assert stored.author == org.agent_zh and stored.direction == Direction.OUTBOUND
    assert Attachment.objects.get(message=stored).size == len(b"%PDF-1.4 test")

    note = client.post(url, {"kind": "note", "body_text": "客户很急"})
    assert note.status_code == 201 and note.json()["direction"] == "note"

    empty = client.post(url, {"kind": "reply", "body_text": "  "})
    assert empty.status_code == 400 and "body_text" in empty.json()["errors"]
    assert client.post(f"/console/api/tickets/{desk.tech_ticket.id}/messages/", {"body_text": "x"}).status_code == 404
    assert Message.objects.filter(ticket=desk.tech_ticket, direction=Direction.OUTBOUND).count() == 0


def test_presence_switch_uses_the_service_and_rejects_nonsense(client, org):
    signed_in(client, org.agent_zh)
    answer = client.post("/console/api/presence/", json.dumps({"presence": "away"}), content_type="application/json")
    assert answer.status_code == 200 and answer.json()["presence"] == "away"
    assert AgentProfile.objects.get(user=org.agent_zh).presence == "away"
    bad = client.post("/console/api/presence/", json.dumps({"presence": "asleep"}), content_type="application/json")
    assert bad.status_code == 400 and "presence" in bad.json()["errors"]
    assert client.post("/console/api/presence/", "{oops", content_type="application/json").status_code == 400
    assert AgentProfile.objects.get(user=org.agent_zh).presence == "away"


def test_json_endpoints_refuse_strangers(client, org, desk):
    assert client.get("/console/api/inbox/").status_code == 401
    signed_in(client, org.outsider)
    assert client.get("/console/api/inbox/").status_code == 403


def test_canned_responses_are_shared_or_of_the_agents_team(client, org):
    CannedResponse.objects.create(title="问候", body="您好，请问有什么可以帮您？")
    CannedResponse.objects.create(title="Billing", body="invoice", team=org.billing_team)
    CannedResponse.objects.create(title="Tech", body="reset", team=org.tech_team)
    titles = [c["title"] for c in signed_in(client, org.agent_zh).get("/console/api/options/").json()["canned"]]
    assert titles == ["Billing", "问候"]


def test_the_inbox_names_the_assignee_as_they_chose_to_be_shown(client, org, desk):
    # A Chinese name in Western first/last order ("Na Li") is not how 李娜 signs her replies.
    org.agent_zh.first_name, org.agent_zh.last_name, org.agent_zh.display_name = "Na", "Li", "李娜 Li Na"
    org.agent_zh.save()
    desk.billing_ticket.assignee = org.agent_zh
    desk.billing_ticket.save(update_fields=["assignee"])
    signed_in(client, org.agent_zh)
    (row,) = client.get("/console/api/inbox/?view=all").json()["tickets"]
    assert row["assignee"] == {"id": org.agent_zh.id, "name": "李娜 Li Na"}
    assert client.get("/console/").context["console_config"]["userName"] == "李娜 Li Na"


def test_a_missed_sla_target_stays_on_the_conversation_as_breached_until_met(client, org, desk):
    from datetime import timedelta

    from django.utils import timezone

    from ticketing.models import SlaTimer

    now = timezone.now()
    ticket = desk.billing_ticket
    SlaTimer.objects.create(
        ticket=ticket,
        target="resolution",
        target_minutes=60,
        started_at=now - timedelta(hours=3),
        due_at=now - timedelta(hours=2),
        breached_at=now - timedelta(hours=2),
        outcome="missed",
    )
    SlaTimer.objects.create(
        ticket=ticket,
        target="first_response",
        target_minutes=30,
        started_at=now - timedelta(hours=3),
        due_at=now - timedelta(hours=2),
        met_at=now - timedelta(hours=2, minutes=30),
        outcome="met",
    )
    signed_in(client, org.agent_zh)
    deadlines = client.get(f"/console/api/tickets/{ticket.id}/").json()["sla_deadlines"]
    assert [(d["target"], d["breached"]) for d in deadlines] == [("resolution", True)]


def test_the_sla_card_counts_business_time_like_the_header(client, org, desk):
    """A deadline three days away on a calendar open one hour a day is about three business hours away,
    not 72 wall-clock hours: the card and the header's countdown say the same."""
    from datetime import timedelta

    from django.utils import timezone

    from ticketing.models import BusinessCalendar, SlaTimer

    one_hour = {day: [["10:00", "11:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    calendar = BusinessCalendar.objects.create(name="One hour", time_zone="UTC", weekly_hours=one_hour)
    ticket = desk.billing_ticket
    ticket.queue.calendar = calendar
    ticket.queue.save(update_fields=["calendar"])
    now = timezone.now()
    SlaTimer.objects.create(
        ticket=ticket,
        target="resolution",
        target_minutes=180,
        started_at=now,
        due_at=now + timedelta(days=3),
    )
    signed_in(client, org.agent_zh)
    data = client.get(f"/console/api/tickets/{ticket.id}/").json()
    (deadline,) = data["sla_deadlines"]
    assert 2 * 3600 <= deadline["countdown"]["left"] <= 4 * 3600
    assert abs(deadline["countdown"]["left"] - data["sla"]["left"]) <= 1
    assert deadline["countdown"]["level"] == "ok"
