"""SLA policies and timers: deadlines recomputed by the ticket services, pause and resume,
policy changes, and the sweeper firing each warning and breach once."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import ServiceLevel
from crm.services import tags_get_or_create
from tests import factories
from ticketing import services
from ticketing.models import (
    BusinessCalendar,
    Channel,
    NextResponseMode,
    Priority,
    SlaOutcome,
    SlaPolicy,
    SlaTarget,
    SlaTimer,
    Status,
    Ticket,
    TicketEvent,
)
from ticketing.sla.selectors import sla_at_risk_of_customer, sla_breaches_of_customer, sla_compliance
from ticketing.sla.services import (
    sla_policy_delete,
    sla_policy_recompute_tickets,
    sla_policy_validate,
    sla_recompute,
    sla_tick,
)

SH = ZoneInfo("Asia/Shanghai")
OFFICE = {d: [["09:00", "12:00"], ["13:30", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
TARGETS = {
    "normal": {"first_response": 60, "next_response": 120, "resolution": 480},
    "urgent": {"first_response": 15, "next_response": 30, "resolution": 120},
}


@pytest.fixture
def china(db):
    return BusinessCalendar.objects.create(
        name="China office", time_zone="Asia/Shanghai", weekly_hours=OFFICE, country="CN"
    )


@pytest.fixture
def policy(db):
    return SlaPolicy.objects.create(name="Standard", position=10, targets=TARGETS, warn_percent=75)


def timer(ticket, target=SlaTarget.FIRST_RESPONSE) -> SlaTimer:
    return SlaTimer.objects.filter(ticket=ticket, target=target).latest("started_at")


def events(ticket, kind):
    return TicketEvent.objects.filter(ticket=ticket, kind=kind).count()


def sh(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


class TestDoneWhen:
    def test_china_calendar_on_a_queue_friday_1750_before_a_make_up_saturday(self, org, china, policy, clock):
        queue = factories.queue("China", team_=org.billing_team)
        queue.calendar = china
        queue.save()
        clock.at = sh(2026, 2, 13, 17, 50)
        ticket = factories.ticket(queue_=queue)
        ticket.refresh_from_db()
        assert ticket.sla_policy == policy
        assert ticket.first_response_due_at == sh(2026, 2, 14, 9, 50)  # the make-up working Saturday
        assert ticket.resolution_due_at == sh(2026, 2, 24, 9, 20)  # after the Spring Festival holidays
        assert timer(ticket).warn_at == sh(2026, 2, 14, 9, 35)  # at 75 %


class TestRecompute:
    def test_no_policy_no_timers(self, org, clock):
        ticket = factories.ticket()
        assert ticket.sla_policy is None
        assert not SlaTimer.objects.exists()

    def test_around_the_clock_without_a_calendar(self, org, policy, clock):
        ticket = factories.ticket()
        assert ticket.first_response_due_at == clock.at + timedelta(hours=1)
        assert ticket.resolution_due_at == clock.at + timedelta(hours=8)
        assert ticket.next_response_due_at is None

    def test_reply_meets_first_response(self, org, policy, clock):
        ticket = factories.ticket()
        clock.advance(minutes=20)
        services.ticket_reply(ticket=ticket, by=org.agent_zh, body_text="On it")
        ticket.refresh_from_db()
        assert ticket.first_response_due_at is None
        first = timer(ticket)
        assert (first.met_at, first.outcome, first.fire_at) == (clock.at, SlaOutcome.MET, None)

    def test_a_late_reply_is_missed(self, org, policy, clock):
        ticket = factories.ticket()
        clock.advance(minutes=61)
        services.ticket_reply(ticket=ticket, by=org.agent_zh, body_text="Sorry")
        assert timer(ticket).outcome == SlaOutcome.MISSED

    def test_a_missed_target_stays_missed_whatever_happens_later(self, org, policy, clock):
        ticket = factories.ticket()
        clock.advance(minutes=90)
        services.ticket_reply(ticket=ticket, by=org.agent_zh, body_text="Late")
        services.ticket_change_status(ticket=ticket, status=Status.PENDING, by=org.agent_zh)
        clock.advance(hours=3)
        services.ticket_change_status(ticket=ticket, status=Status.OPEN, by=org.agent_zh)
        services.ticket_update(ticket=ticket, by=org.agent_zh, priority=Priority.URGENT)
        first = timer(ticket)
        assert (first.outcome, first.due_at, first.paused_at) == (
            SlaOutcome.MISSED,
            ticket.created_at + timedelta(hours=1),
            None,
        )

    def test_next_response_after_each_customer_message(self, org, policy, clock):
        ticket = factories.ticket()
        services.ticket_reply(ticket=ticket, by=org.agent_zh, body_text="Hi")
        clock.advance(minutes=10)
        services.ticket_add_inbound(ticket=ticket, body_text="More")
        asked = clock.at
        clock.advance(minutes=5)
        services.ticket_add_inbound(ticket=ticket, body_text="And more")  # same cycle
        ticket.refresh_from_db()
        assert ticket.next_response_due_at == asked + timedelta(minutes=120)
        clock.advance(minutes=30)
        services.ticket_reply(ticket=ticket, by=org.agent_zh, body_text="Answer")
        ticket.refresh_from_db()
        assert ticket.next_response_due_at is None
        cycle = timer(ticket, SlaTarget.NEXT_RESPONSE)
        assert (cycle.started_at, cycle.met_at, cycle.outcome) == (asked, clock.at, SlaOutcome.MET)
        clock.advance(minutes=10)
        services.ticket_add_inbound(ticket=ticket, body_text="Thanks, one more")
        assert SlaTimer.objects.filter(ticket=ticket, target=SlaTarget.NEXT_RESPONSE).count() == 2

    def test_periodic_next_response_runs_from_each_agent_update(self, org, policy, clock):
        policy.next_response_mode = NextResponseMode.PERIODIC
        policy.save()
        ticket = factories.ticket()
        services.ticket_reply(ticket=ticket, by=org.agent_zh, body_text="Looking")
        ticket.refresh_from_db()
        assert ticket.next_response_due_at == clock.at + timedelta(minutes=120)

    def test_pending_pauses_and_open_resumes(self, org, policy, clock):
        ticket = factories.ticket()
        start = clock.at
        clock.advance(minutes=10)
        services.ticket_change_status(ticket=ticket, status=Status.PENDING, by=org.agent_zh)
        ticket.refresh_from_db()
        assert ticket.first_response_due_at is None
        assert timer(ticket).paused_at == clock.at and timer(ticket).fire_at is None
        clock.advance(minutes=45)
        services.ticket_add_inbound(ticket=ticket, body_text="Here is the invoice")  # reopens
        ticket.refresh_from_db()
        assert ticket.status == Status.OPEN
        assert ticket.first_response_due_at == start + timedelta(minutes=60 + 45)
        assert ticket.resolution_due_at == start + timedelta(minutes=480 + 45)

    def test_pending_does_not_pause_when_the_policy_says_so(self, org, policy, clock):
        policy.pause_when_pending = False
        policy.save()
        ticket = factories.ticket()
        services.ticket_change_status(ticket=ticket, status=Status.PENDING, by=org.agent_zh)
        ticket.refresh_from_db()
        assert ticket.first_response_due_at == clock.at + timedelta(hours=1)

    def test_solved_meets_resolution_and_reopening_resumes(self, org, policy, clock):
        ticket = factories.ticket()
        start = clock.at
        services.ticket_reply(ticket=ticket, by=org.agent_zh, body_text="Fixed")
        clock.advance(hours=2)
        services.ticket_change_status(ticket=ticket, status=Status.SOLVED, by=org.agent_zh)
        resolution = timer(ticket, SlaTarget.RESOLUTION)
        assert (resolution.met_at, resolution.outcome) == (clock.at, SlaOutcome.MET)
        clock.advance(hours=1)
        services.ticket_change_status(ticket=ticket, status=Status.OPEN, by=org.agent_zh)
        ticket.refresh_from_db()
        assert timer(ticket, SlaTarget.RESOLUTION).outcome == SlaOutcome.RUNNING
        assert ticket.resolution_due_at == start + timedelta(hours=8 + 1)

    def test_priority_change_changes_the_targets(self, org, policy, clock):
        ticket = factories.ticket()
        services.ticket_update(ticket=ticket, by=org.agent_zh, priority=Priority.URGENT)
        ticket.refresh_from_db()
        assert ticket.first_response_due_at == clock.at + timedelta(minutes=15)

    def test_queue_change_changes_the_calendar(self, org, china, policy, clock):
        clock.at = sh(2026, 3, 6, 17, 30)  # a Friday
        ticket = factories.ticket()
        assert ticket.first_response_due_at == clock.at + timedelta(hours=1)
        queue = factories.queue("China", team_=org.billing_team)
        queue.calendar = china
        queue.save()
        services.ticket_assign(ticket=ticket, agent=None, by=org.supervisor, queue=queue)
        ticket.refresh_from_db()
        assert ticket.first_response_due_at == sh(2026, 3, 9, 9, 30)

    def test_recompute_is_idempotent(self, org, policy, clock):
        ticket = factories.ticket()
        before = list(SlaTimer.objects.values())
        clock.advance(minutes=5)
        sla_recompute(ticket=ticket)
        assert list(SlaTimer.objects.values()) == before


class TestPolicies:
    def test_first_matching_policy_by_position(self, org, policy, clock):
        vip = SlaPolicy.objects.create(
            name="Gold", position=1, service_levels=[ServiceLevel.GOLD], targets={"normal": {"first_response": 10}}
        )
        chat = SlaPolicy.objects.create(
            name="Chat", position=2, channels=[Channel.CHAT], targets={"normal": {"first_response": 5}}
        )
        tagged = SlaPolicy.objects.create(name="Key", position=3, targets={"normal": {"first_response": 20}})
        tagged.customer_tags.set(tags_get_or_create(["key account"]))
        gold = factories.person(service_level=ServiceLevel.GOLD)
        assert factories.ticket(customer=gold).sla_policy == vip
        assert factories.ticket(channel=Channel.CHAT).sla_policy == chat
        key = factories.person()
        key.tags.set(tags_get_or_create(["key account"]))
        assert factories.ticket(customer=key).sla_policy == tagged
        assert factories.ticket().sla_policy == policy

    def test_changing_a_policy_recomputes_its_open_tickets(self, org, policy, clock):
        tickets = [factories.ticket() for _ in range(3)]
        services.ticket_change_status(ticket=tickets[2], status=Status.SOLVED, by=org.agent_zh)
        policy.targets = {"normal": {"first_response": 30, "resolution": 240}}
        policy.save()
        assert sla_policy_recompute_tickets(policy=policy) == 2
        for ticket in tickets[:2]:
            ticket.refresh_from_db()
            assert ticket.first_response_due_at == clock.at + timedelta(minutes=30)
        assert not SlaTimer.objects.filter(target=SlaTarget.NEXT_RESPONSE).exists()

    def test_deactivating_a_policy_drops_silent_timers(self, org, policy, clock):
        ticket = factories.ticket()
        policy.is_active = False
        policy.save()
        sla_policy_recompute_tickets(policy=policy)
        ticket.refresh_from_db()
        assert ticket.sla_policy is None and ticket.first_response_due_at is None
        assert not SlaTimer.objects.exists()

    def test_deleting_a_policy_hands_its_tickets_to_the_next(self, org, policy, clock):
        strict = SlaPolicy.objects.create(name="Strict", position=1, targets={"normal": {"first_response": 5}})
        ticket = factories.ticket()
        assert ticket.sla_policy == strict
        sla_policy_delete(policy=strict)
        ticket.refresh_from_db()
        assert ticket.sla_policy == policy
        assert ticket.first_response_due_at == clock.at + timedelta(hours=1)

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("targets", {"someday": {"first_response": 5}}),
            ("targets", {"normal": {"first_response": -5}}),
            ("targets", {"normal": {"lunch": 5}}),
            ("targets", []),
            ("channels", ["pigeon"]),
            ("priorities", "high"),
            ("service_levels", ["diamond"]),
            ("warn_percent", 100),
        ],
    )
    def test_bad_policies_are_refused_with_a_message_per_field(self, db, field, value):
        from django.core.exceptions import ValidationError

        policy = SlaPolicy(name="x", targets={"normal": {"first_response": 5}})
        setattr(policy, field, value)
        with pytest.raises(ValidationError) as error:
            sla_policy_validate(policy=policy)
        assert field in error.value.message_dict


class TestTick:
    def test_warning_then_breach_each_fire_once(self, org, policy, clock):
        ticket = factories.ticket()
        assert sla_tick() == 0
        clock.advance(minutes=45)  # 75 % of the first response
        assert sla_tick() == 1
        assert sla_tick() == 0
        assert events(ticket, "sla.warning") == 1
        clock.advance(minutes=15)
        assert sla_tick() == 1
        assert sla_tick() == 0
        assert events(ticket, "sla.breached") == 1
        first = timer(ticket)
        assert first.breached_at == clock.at and first.outcome == SlaOutcome.MISSED
        event = TicketEvent.objects.get(ticket=ticket, kind="sla.breached")
        assert event.data["target"] == SlaTarget.FIRST_RESPONSE

    def test_a_late_sweep_dates_the_breach_at_the_deadline(self, org, policy, clock):
        """The worker was down for a day: yesterday's breach stays out of today's compliance."""
        ticket = factories.ticket()
        due = timer(ticket).due_at
        clock.advance(days=1)
        sla_tick()  # the warnings and breaches, late
        assert timer(ticket).breached_at == due
        today = clock.at.replace(hour=0, minute=0, second=0, microsecond=0)
        assert sla_compliance(since=today) == {}
        assert sla_compliance(since=due - timedelta(minutes=1))[SlaTarget.FIRST_RESPONSE][SlaOutcome.MISSED] == 1

    def test_a_reply_before_the_deadline_stops_the_breach(self, org, policy, clock):
        ticket = factories.ticket()
        clock.advance(minutes=50)
        services.ticket_reply(ticket=ticket, by=org.agent_zh, body_text="Hi")
        clock.advance(minutes=20)
        sla_tick()
        assert events(ticket, "sla.breached") == 0

    def test_everything_missed_while_down_fires_once_at_start(self, org, policy, clock):
        ticket = factories.ticket()
        clock.advance(days=2)
        assert sla_tick() == 4  # warning and breach of the first response and of the resolution
        assert sla_tick() == 0
        assert events(ticket, "sla.warning") == 2 and events(ticket, "sla.breached") == 2

    def test_a_paused_clock_does_not_breach_and_resumes_where_it_stopped(self, org, policy, clock):
        ticket = factories.ticket()
        clock.advance(minutes=50)
        assert sla_tick() == 1  # the warning at 45 minutes
        services.ticket_change_status(ticket=ticket, status=Status.PENDING, by=org.agent_zh)
        clock.advance(hours=3)
        assert sla_tick() == 0
        services.ticket_change_status(ticket=ticket, status=Status.OPEN, by=org.agent_zh)
        clock.advance(minutes=9)
        assert sla_tick() == 0
        clock.advance(minutes=1)
        assert sla_tick() == 1
        assert events(ticket, "sla.warning") == 1 and events(ticket, "sla.breached") == 1

    def test_escalation_raises_priority_moves_queue_and_tells_supervisors(self, org, policy, clock):
        escalation = factories.queue("Escalations", team_=org.tech_team)
        policy.escalate_priority = Priority.HIGH
        policy.escalate_queue = escalation
        policy.save()
        ticket = factories.ticket()
        clock.advance(minutes=61)
        sla_tick()
        ticket.refresh_from_db()
        assert ticket.priority == Priority.HIGH
        assert ticket.queue == escalation
        event = TicketEvent.objects.get(ticket=ticket, kind="sla.escalated")
        assert event.data["actions"] == {"priority": "high", "queue": escalation.pk}

    def test_the_tick_reads_only_what_is_due(self, org, policy, clock):
        counts = []
        for _ in range(2):
            for _ in range(10):
                factories.ticket()
            with CaptureQueriesContext(connection) as captured:
                assert sla_tick() == 0
            counts.append(len(captured))
        assert counts == [1, 1]

    def test_command_once(self, org, policy, clock, capsys):
        factories.ticket()
        clock.advance(hours=1)
        call_command("sla_tick", "--once")
        assert "fired 2" in capsys.readouterr().out  # warning and breach of the first response


def test_customer_sla_history_lists_breaches_of_the_last_90_days(org, policy, clock):
    customer = factories.person()
    ticket = factories.ticket(customer=customer)
    clock.advance(hours=1)
    sla_tick()
    breaches = list(sla_breaches_of_customer(person_id=customer.pk))
    assert [b.ticket_id for b in breaches] == [ticket.pk]
    assert [t.target for t in sla_at_risk_of_customer(person_id=customer.pk)] == [SlaTarget.FIRST_RESPONSE]
    clock.advance(days=91)
    assert not sla_breaches_of_customer(person_id=customer.pk).exists()


def test_calendar_validation(db):
    from django.core.exceptions import ValidationError

    from ticketing.sla.services import calendar_from_model

    with pytest.raises(ValidationError):
        calendar_from_model(BusinessCalendar(name="x", weekly_hours={"mon": [["18:00", "09:00"]]}))
    with pytest.raises(ValidationError):
        calendar_from_model(BusinessCalendar(name="x", weekly_hours=OFFICE, holidays=["not a date"]))
    assert calendar_from_model(None).time_zone == "Asia/Shanghai"
    assert Ticket.objects.count() == 0 and UTC


def test_compliance_counts_met_and_missed_per_target(org, policy, clock):
    start = clock.at
    answered, late = factories.ticket(), factories.ticket()
    clock.advance(minutes=30)
    services.ticket_reply(ticket=answered, by=org.agent_zh, body_text="Hi")
    clock.advance(minutes=40)
    sla_tick()
    services.ticket_reply(ticket=late, by=org.agent_zh, body_text="Sorry")
    assert sla_compliance(since=start)[SlaTarget.FIRST_RESPONSE] == {"met": 1, "missed": 1}


def test_warning_minutes_before_the_breach(org, policy, clock):
    policy.warn_percent = None
    policy.warn_minutes_before = 15
    policy.save()
    ticket = factories.ticket()
    assert timer(ticket).warn_at == clock.at + timedelta(minutes=45)
    assert timer(ticket, SlaTarget.RESOLUTION).warn_at == clock.at + timedelta(minutes=480 - 15)


def test_an_unreadable_calendar_never_breaks_a_ticket_change(org, policy, clock):
    broken = BusinessCalendar.objects.create(name="Broken", weekly_hours={"mon": [["25:00", "26:00"]]})
    policy.calendar = broken
    policy.save()
    ticket = factories.ticket()
    assert ticket.first_response_due_at == clock.at + timedelta(hours=1)  # around the clock, logged
