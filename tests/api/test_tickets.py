"""/api/v1/tickets/: scope (404 outside it), filters, search, and every action through the services."""

import datetime as dt

import pytest
from django.utils import timezone

from tests import factories
from tests.api.conftest import ids
from ticketing.models import Direction, Message, Status, Ticket, TicketEvent
from ticketing.services import ticket_change_status, ticket_update

URL = "/api/v1/tickets/"


def detail(ticket) -> str:
    return f"{URL}{ticket.id}/"


# --- scope ------------------------------------------------------------------------------------


def test_agent_gets_404_outside_scope_and_200_in_their_teams_queue(org, book, api):
    agent = api(org.agent_zh)
    outside = agent.get(detail(book["tech_ticket"]))  # another team's queue, not assigned to them
    assert outside.status_code == 404
    assert "Router" not in outside.content.decode()
    inside = agent.get(detail(book["billing_ticket"]))
    assert inside.status_code == 200
    assert inside.json()["customer"]["emails"] == ["walk.in@example.com"]
    assert agent.get(detail(book["assigned_to_zh"])).status_code == 200  # other queue, but assigned to them


def test_every_action_on_a_ticket_out_of_scope_is_404_and_changes_nothing(org, book, api):
    agent = api(org.agent_zh)
    ticket = book["tech_ticket"]
    for path, body in (
        ("reply/", {"body_text": "hi"}),
        ("note/", {"body_text": "hi"}),
        ("assign/", {"assignee": org.agent_zh.id}),
        ("status/", {"status": "solved"}),
        ("merge/", {"into": book["billing_ticket"].id}),
        ("messages/", None),
    ):
        answer = agent.post(f"{detail(ticket)}{path}", body or {"direction": "note", "body_text": "x"}, format="json")
        assert answer.status_code == 404, path
    assert agent.patch(detail(ticket), {"subject": "mine"}, format="json").status_code == 404
    assert agent.get(f"{detail(ticket)}messages/").status_code == 404
    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee_id, ticket.subject) == ("new", None, "Router keeps rebooting")
    assert ticket.messages.count() == 1


def test_list_holds_exactly_the_visible_tickets(org, book, api):
    assert ids(api(org.agent_zh).get(URL)) == sorted([book["billing_ticket"].id, book["assigned_to_zh"].id])
    assert ids(api(org.agent_en).get(URL)) == sorted([book["tech_ticket"].id, book["assigned_to_zh"].id])
    # A sales rep sees the tickets of their own customers only.
    assert ids(api(org.sales_rep).get(URL)) == [book["assigned_to_zh"].id]
    assert api(org.supervisor).get(URL).json()["count"] == 3


# --- filters, search, ordering ---------------------------------------------------------------------


def test_filters_by_status_priority_channel_queue_customer_tag_and_assignee(org, book, api):
    supervisor = api(org.supervisor)
    ticket_change_status(ticket=book["tech_ticket"], status="pending", by=None)
    ticket_update(ticket=book["billing_ticket"], by=None, priority="urgent", tags=["refund"])
    assert ids(supervisor.get(URL, {"status": "pending"})) == [book["tech_ticket"].id]
    assert ids(supervisor.get(URL, {"status": ["pending", "new"]})) == ids(supervisor.get(URL))
    assert ids(supervisor.get(URL, {"priority": "urgent"})) == [book["billing_ticket"].id]
    assert ids(supervisor.get(URL, {"tag": "refund"})) == [book["billing_ticket"].id]
    assert ids(supervisor.get(URL, {"queue": book["billing_q"].id})) == [book["billing_ticket"].id]
    assert ids(supervisor.get(URL, {"customer": book["peer_customer"].id})) == [book["tech_ticket"].id]
    assert ids(supervisor.get(URL, {"assignee": org.agent_zh.id})) == [book["assigned_to_zh"].id]
    assert ids(supervisor.get(URL, {"assignee": "none"})) == sorted([book["billing_ticket"].id, book["tech_ticket"].id])
    assert ids(api(org.agent_zh).get(URL, {"assignee": "me"})) == [book["assigned_to_zh"].id]
    assert supervisor.get(URL, {"channel": "email"}).json()["count"] == 0
    assert supervisor.get(URL, {"channel": "web"}).json()["count"] == 3


def test_filter_by_update_time(org, book, api):
    old = timezone.now() - dt.timedelta(days=3)
    Ticket.objects.filter(pk=book["tech_ticket"].pk).update(updated_at=old)
    since = (timezone.now() - dt.timedelta(days=1)).isoformat()
    answer = api(org.supervisor).get(URL, {"updated_after": since})
    assert book["tech_ticket"].id not in ids(answer)
    assert answer.json()["count"] == 2


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "exploded"}, "status"),
        ({"priority": "meh"}, "priority"),
        ({"assignee": "somebody"}, "assignee"),
        ({"queue": "first"}, "queue"),
        ({"customer": "-4"}, "customer"),
        ({"updated_after": "2026-13-45"}, "updated_after"),
        ({"updated_after": "9999-12-31T23:59:59-12:00"}, "updated_after"),
    ],
)
def test_a_bad_filter_value_is_a_400_naming_the_filter(org, book, api, params, field):
    answer = api(org.supervisor).get(URL, params)
    assert answer.status_code == 400
    assert field in answer.json()["errors"]


@pytest.mark.parametrize(
    "term_for",
    [
        lambda ticket: str(ticket.number),
        lambda ticket: f"#{ticket.number}",
        lambda ticket: "keeps reboot",
        lambda ticket: "Peer's",
        lambda ticket: ticket.customer.primary_email.split("@")[0] + "@",
    ],
    ids=["number", "hash-number", "subject-part", "customer-name", "customer-email-part"],
)
def test_search_by_number_subject_and_customer(org, book, api, term_for):
    ticket = book["tech_ticket"]
    assert ids(api(org.supervisor).get(URL, {"search": term_for(ticket)})) == [ticket.id]


def test_search_by_partial_phone_in_any_format(org, book, api):
    for term in ("138 0013", "138-0013-8000", "+8613800138000"):
        assert ids(api(org.supervisor).get(URL, {"search": term})) == [book["assigned_to_zh"].id], term


def test_search_never_reaches_outside_scope(org, book, api):
    assert api(org.agent_zh).get(URL, {"search": str(book["tech_ticket"].number)}).json()["count"] == 0


def test_ordering_by_number(org, book, api):
    numbers = [row["number"] for row in api(org.supervisor).get(URL, {"ordering": "number"}).json()["results"]]
    assert numbers == sorted(numbers) and len(numbers) == 3
    numbers = [row["number"] for row in api(org.supervisor).get(URL, {"ordering": "-number"}).json()["results"]]
    assert numbers == sorted(numbers, reverse=True)


# --- create and update ------------------------------------------------------------------------------------


def test_agent_opens_a_ticket_for_a_visible_customer(org, book, api):
    created = api(org.agent_zh).post(
        URL,
        {
            "customer": book["walk_in"].id,
            "subject": "Called about the invoice",
            "body_text": "Customer says the amount is wrong.",
            "queue": book["billing_q"].id,
            "priority": "high",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["number"] and body["status"] == "new" and body["priority"] == "high"
    assert body["queue"]["id"] == book["billing_q"].id
    ticket = Ticket.objects.get(pk=body["id"])
    assert ticket.messages.get().body_text == "Customer says the amount is wrong."
    assert api(org.agent_zh).get(detail(ticket)).status_code == 200


def test_a_ticket_for_a_customer_out_of_scope_is_refused_without_saying_it_exists(org, book, api):
    hidden = book["manager_customer"]
    answer = api(org.agent_zh).post(URL, {"customer": hidden.id, "subject": "x", "body_text": "y"}, format="json")
    unknown = api(org.agent_zh).post(URL, {"customer": 987654, "subject": "x", "body_text": "y"}, format="json")
    assert answer.status_code == unknown.status_code == 400
    assert list(answer.json()["errors"]) == ["customer"]
    assert answer.json()["errors"]["customer"][0].replace(str(hidden.id), "N") == unknown.json()["errors"]["customer"][
        0
    ].replace("987654", "N")
    assert not Ticket.objects.filter(customer=hidden).exists()


def test_create_needs_a_subject_and_the_permission(org, book, api):
    empty = api(org.agent_zh).post(URL, {"customer": book["walk_in"].id, "subject": "   "}, format="json")
    assert empty.status_code == 400 and "subject" in empty.json()["errors"]
    # Sales reps may view tickets but not open them.
    denied = api(org.sales_rep).post(URL, {"customer": book["rep_customer"].id, "subject": "x"}, format="json")
    assert denied.status_code == 403


def test_patch_subject_priority_and_tags(org, book, api):
    ticket = book["billing_ticket"]
    answer = api(org.agent_zh).patch(
        detail(ticket), {"subject": "Invoice 2026-11 is wrong", "priority": "high", "tags": ["billing"]}, format="json"
    )
    assert answer.status_code == 200
    body = answer.json()
    assert (body["subject"], body["priority"], body["tags"]) == ("Invoice 2026-11 is wrong", "high", ["billing"])
    assert TicketEvent.objects.filter(ticket=ticket, kind="ticket.updated", actor=org.agent_zh).exists()
    bad = api(org.agent_zh).patch(detail(ticket), {"priority": "whenever"}, format="json")
    assert bad.status_code == 400 and "priority" in bad.json()["errors"]
    # Status is not a PATCH field: it has its own action with its own rules.
    api(org.agent_zh).patch(detail(ticket), {"status": "closed"}, format="json")
    ticket.refresh_from_db()
    assert ticket.status == "new"


# --- actions --------------------------------------------------------------------------------------------


def test_reply_is_an_outbound_message_and_opens_a_new_ticket(org, book, api):
    ticket = book["billing_ticket"]
    answer = api(org.agent_zh).post(f"{detail(ticket)}reply/", {"body_text": "We fixed the invoice."}, format="json")
    assert answer.status_code == 201
    assert answer.json()["direction"] == "out"
    assert answer.json()["author"]["username"] == "agent_zh"
    ticket.refresh_from_db()
    assert ticket.status == "open" and ticket.first_response_at is not None
    empty = api(org.agent_zh).post(f"{detail(ticket)}reply/", {"body_text": "  "}, format="json")
    assert empty.status_code == 400 and "body_text" in empty.json()["errors"]


def test_note_is_internal(org, book, api):
    ticket = book["billing_ticket"]
    answer = api(org.agent_zh).post(f"{detail(ticket)}note/", {"body_text": "Check with finance."}, format="json")
    assert answer.status_code == 201
    assert Message.objects.get(pk=answer.json()["id"]).direction == Direction.INTERNAL


def test_agent_may_take_a_ticket_but_not_give_it_to_someone_else(org, book, api):
    ticket = book["billing_ticket"]
    agent = api(org.agent_zh)
    refused = agent.post(f"{detail(ticket)}assign/", {"assignee": org.agent_en.id}, format="json")
    assert refused.status_code == 403
    taken = agent.post(f"{detail(ticket)}assign/", {"assignee": org.agent_zh.id}, format="json")
    assert taken.status_code == 200
    assert taken.json()["assignee"]["username"] == "agent_zh"
    assert taken.json()["status"] == "open"


def test_supervisor_assigns_and_moves_to_another_queue(org, book, api):
    ticket = book["billing_ticket"]
    answer = api(org.supervisor).post(
        f"{detail(ticket)}assign/", {"assignee": org.agent_en.id, "queue": book["tech_q"].id}, format="json"
    )
    assert answer.status_code == 200
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.queue, ticket.team) == (org.agent_en, book["tech_q"], org.tech_team)
    # Now in the tech team's queue: the billing agent lost it, the tech agent has it.
    assert api(org.agent_zh).get(detail(ticket)).status_code == 404
    assert api(org.agent_en).get(detail(ticket)).status_code == 200


def test_assign_needs_an_assignee_or_a_queue_and_an_active_user(org, book, api):
    ticket = book["billing_ticket"]
    assert api(org.supervisor).post(f"{detail(ticket)}assign/", {}, format="json").status_code == 400
    org.agent_en.is_active = False
    org.agent_en.save()
    inactive = api(org.supervisor).post(f"{detail(ticket)}assign/", {"assignee": org.agent_en.id}, format="json")
    assert inactive.status_code == 400 and "assignee" in inactive.json()["errors"]


def test_status_transitions_follow_the_rules(org, book, api):
    ticket = book["billing_ticket"]
    agent = api(org.agent_zh)
    assert agent.post(f"{detail(ticket)}status/", {"status": "closed"}, format="json").json()["status"] == "closed"
    reopened = agent.post(f"{detail(ticket)}status/", {"status": "open"}, format="json")
    assert reopened.status_code == 400
    assert reopened.json()["errors"]["status"] == ["A ticket cannot go from Closed to Open."]
    unknown = agent.post(f"{detail(ticket)}status/", {"status": "exploded"}, format="json")
    assert unknown.status_code == 400 and "status" in unknown.json()["errors"]
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
    closed_reply = agent.post(f"{detail(ticket)}reply/", {"body_text": "late"}, format="json")
    assert closed_reply.status_code == 400 and "is closed" in closed_reply.json()["errors"]["ticket"][0]


def test_merge_moves_messages_and_closes_the_source(org, book, api):
    source = book["billing_ticket"]
    target = factories.ticket(customer=book["walk_in"], queue_=book["billing_q"], subject="Same invoice")
    answer = api(org.agent_zh).post(f"{detail(source)}merge/", {"into": target.id}, format="json")
    assert answer.status_code == 200
    assert answer.json()["id"] == target.id
    source.refresh_from_db()
    assert source.status == "closed" and source.merged_into == target
    assert target.messages.count() == 2 and source.messages.count() == 0


def test_merge_into_itself_or_into_an_invisible_ticket_is_refused(org, book, api):
    source = book["billing_ticket"]
    agent = api(org.agent_zh)
    itself = agent.post(f"{detail(source)}merge/", {"into": source.id}, format="json")
    assert itself.status_code == 400 and "target" in itself.json()["errors"]
    hidden = agent.post(f"{detail(source)}merge/", {"into": book["tech_ticket"].id}, format="json")
    assert hidden.status_code == 400 and "into" in hidden.json()["errors"]
    source.refresh_from_db()
    assert source.status == "new"
