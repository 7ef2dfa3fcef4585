"""`manage.py seed_demo`: the demo organisation, users, customers and tickets.

The demo is seeded once per module inside a transaction that is rolled back at
the end, so the rest of the suite never sees it; each test runs in a savepoint
inside it (pytest-django's `db`). Every test asks for `db`: pytest-django runs the tests without it
after all the others, which would split the module and seed it twice.
"""

import datetime as dt
import os
from io import StringIO

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from accounts.models import AgentProfile, Department, User
from accounts.scope import visible
from crm import identifiers
from crm.models import Company, Identity, IdentityKind, Person
from ticketing.models import Channel, Direction, Message, Queue, Status, Ticket, TicketEvent
from ticketing.selectors import UNSOLVED_STATUSES

pytestmark = pytest.mark.slow

DEMO_USERS = {
    "admin": "admin",
    "supervisor": "supervisor",
    "agent1": "agent",
    "agent2": "agent",
    "agent3": "agent",
    "salesmanager": "sales_manager",
    "salesrep": "sales_rep",
}


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """Run the seed once for the module; roll everything back afterwards."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            out = StringIO()
            call_command("seed_demo", stdout=out)
            yield out.getvalue()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def role_codes(user: User) -> set[str]:
    return set(user.groups.filter(role__isnull=False).values_list("role__code", flat=True))


def test_demo_users_exist_with_their_roles(seeded, db):
    for username, role in DEMO_USERS.items():
        user = User.objects.get(username=username)
        assert role in role_codes(user), username
        assert user.display_name and user.time_zone == "Asia/Shanghai"
    assert User.objects.get(username="admin").is_superuser
    rep = User.objects.get(username="salesrep")
    assert rep.manager.username == "salesmanager"
    assert rep.department.parent == User.objects.get(username="salesmanager").department


def test_agents_have_skills_languages_capacity_and_teams(seeded, db):
    profiles = {p.user.username: p for p in AgentProfile.objects.select_related("user")}
    assert set(profiles) == {"agent1", "agent2", "agent3"}
    skills = {name: {s.skill.code: s.level for s in p.skills.select_related("skill")} for name, p in profiles.items()}
    assert skills["agent1"]["billing"] == 5 and profiles["agent1"].languages == ["zh"]
    assert skills["agent2"]["technical"] == 4 and profiles["agent2"].languages == ["en"]
    assert {"returns", "technical"} <= set(skills["agent3"]) and set(profiles["agent3"].languages) == {"zh", "en"}
    for profile in profiles.values():
        assert profile.user.teams.exists()
        assert all(1 <= level <= 5 for level in skills[profile.user.username].values())
        assert profile.capacity_chat >= 1 and profile.capacity_email >= 1
    assert Queue.objects.filter(is_default=True).count() == 1
    head = Department.objects.get(parent=None, name__contains="Head office")
    assert Department.objects.filter(parent__parent=head).exists()  # three levels


def test_agent1_signs_in_with_the_demo_password(seeded, db, client):
    assert client.login(username="agent1", password=settings.DEMO_PASSWORD)
    response = client.post(
        "/api/v1/auth/token/",
        {"username": "agent1", "password": settings.DEMO_PASSWORD},
        content_type="application/json",
        secure=True,
    )
    assert response.status_code == 200, response.content
    assert response.json()["token"]


def test_the_output_names_the_url_and_every_login(seeded, db):
    assert f"http://127.0.0.1:{os.environ.get('PORT') or '8000'}/" in seeded
    for username in DEMO_USERS:
        assert f"  {username} " in seeded
    assert "DEMO_PASSWORD" in seeded


def test_every_identifier_is_valid(seeded, db):
    codes = list(Company.objects.exclude(credit_code=None).values_list("credit_code", flat=True))
    assert len(codes) >= 55
    for code in codes:
        assert identifiers.normalize_uscc(code) == code
    numbers = [p.id_number for p in Person.objects.exclude(id_number="")]
    assert len(numbers) >= 50
    for number in numbers:
        assert identifiers.normalize_id_number(number) == number
    for kind, value in Identity.objects.values_list("kind", "value"):
        normalize = identifiers.normalize_phone if kind == IdentityKind.PHONE else identifiers.normalize_email
        assert normalize(value) == value
    phones = Identity.objects.filter(kind=IdentityKind.PHONE).values_list("value", flat=True)
    assert {p[:3] for p in phones} >= {"+86", "+44"} and any(p.startswith("+1") for p in phones)


def test_the_demo_has_the_promised_shape(seeded, db):
    assert 250 <= Person.objects.count() <= 350
    assert Company.objects.count() >= 60
    assert Person.objects.filter(company_links__isnull=False).distinct().count() >= 100
    assert 350 <= Ticket.objects.count() <= 450
    assert not Ticket.objects.filter(number=None).exists()
    assert set(Ticket.objects.values_list("channel", flat=True)) >= {
        Channel.EMAIL,
        Channel.CHAT,
        Channel.VOICE,
        Channel.SMS,
        Channel.WEB,
    }
    assert set(Ticket.objects.values_list("status", flat=True)) == set(Status.values)
    assert set(Ticket.objects.values_list("language", flat=True)) == {"zh", "en"}
    assert set(Message.objects.values_list("direction", flat=True)) == set(Direction.values)
    assert Ticket.objects.filter(assignee__username="agent1").exists()
    assert Ticket.objects.filter(assignee=None).exists()
    month_ago = timezone.now() - dt.timedelta(days=30, minutes=1)
    assert not Ticket.objects.filter(created_at__lt=month_ago).exists()
    assert not Ticket.objects.filter(updated_at__gt=timezone.now()).exists()
    # History is consistent: nothing happens to a ticket before it was opened, and the
    # first response is the first reply.
    for ticket in Ticket.objects.filter(status=Status.CLOSED)[:30]:
        messages = list(ticket.messages.all())
        assert messages[0].created_at == ticket.created_at
        first_reply = next(m for m in messages if m.direction == Direction.OUTBOUND)
        assert ticket.first_response_at == first_reply.created_at
        assert ticket.created_at <= ticket.solved_at <= ticket.closed_at == ticket.updated_at
        assert not TicketEvent.objects.filter(ticket=ticket, at__lt=ticket.created_at).exists()
    assert not Message.objects.filter(delivery_status="queued").exists()  # history, not for the outbox


def test_demo_agents_have_room_for_a_new_chat_and_call(seeded, db):
    """A new user's first chat from the demo shop page is offered to an agent, not left waiting
    because the demo agents are full of week-old chats."""
    for profile in AgentProfile.objects.filter(user__username__in=["agent1", "agent2", "agent3"]):
        open_live = Ticket.objects.filter(assignee=profile.user, status__in=UNSOLVED_STATUSES)
        assert open_live.filter(channel=Channel.CHAT).count() < profile.capacity_chat, profile.user.username
        assert open_live.filter(channel=Channel.VOICE).count() < profile.capacity_voice, profile.user.username


def test_record_scope_shows_differences(seeded, db):
    users = {u.username: u for u in User.objects.all()}
    people = {name: visible(users[name], Person).count() for name in ("salesrep", "salesmanager", "supervisor")}
    assert 0 < people["salesrep"] < people["salesmanager"] < people["supervisor"] == Person.objects.count()
    tickets = {name: visible(users[name], Ticket).count() for name in ("agent1", "agent2", "agent3", "supervisor")}
    assert all(0 < tickets[name] < tickets["supervisor"] for name in ("agent1", "agent2", "agent3"))


def snapshot() -> dict:
    counts = {model._meta.label: model._default_manager.count() for model in apps.get_models()}
    fields = {
        "users": list(User.objects.order_by("pk").values_list("username", "password", "last_login", "display_name")),
        "tickets": list(Ticket.objects.order_by("pk").values_list("number", "status", "assignee_id", "updated_at")),
        "people": list(Person.objects.order_by("pk").values_list("name", "owner_id", "updated_at")),
        "companies": list(Company.objects.order_by("pk").values_list("credit_code", "updated_at")),
        "queues": list(Queue.objects.order_by("pk").values_list("name", "team_id", "is_default")),
    }
    return {"counts": counts, "fields": fields}


def test_a_second_run_creates_and_changes_nothing(seeded, db):
    before = snapshot()
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert snapshot() == before
    assert "demo data already present" in out.getvalue()
    for username in DEMO_USERS:
        assert f"  {username} " in out.getvalue()
    # How a new user tries the chat: the snippet of the demo widget, which embeds from local pages.
    assert '<script src="http://127.0.0.1:8000/widget/demo.js" async></script>' in out.getvalue()
    assert "http://127.0.0.1:8001/" in out.getvalue()
