"""Record scope: each role sees exactly what the foundation issue says, through
the one entry point (`accounts.scope.visible`)."""

import pytest

from accounts.models import DataScope, Role
from accounts.roles import SALES_REP
from accounts.scope import can_see, grant_for, visible
from crm.models import Company, Person
from crm.services import company_create, customer_share, person_link_company
from tests import factories
from ticketing.models import Ticket


def names(queryset):
    return sorted(str(obj) for obj in queryset)


@pytest.fixture
def book(org):
    """Customers owned across the org, and tickets in both support teams' queues."""
    billing_q = factories.queue("Billing queue", team_=org.billing_team)
    tech_q = factories.queue("Tech queue", team_=org.tech_team)
    rep_customer = factories.person("Rep's customer", owner=org.sales_rep)
    peer_customer = factories.person("Peer's customer", owner=org.other_rep)
    manager_customer = factories.person("Manager's customer", owner=org.sales_manager)
    walk_in = factories.person("Walk-in", owner=None)
    return {
        "billing_q": billing_q,
        "tech_q": tech_q,
        "rep_customer": rep_customer,
        "peer_customer": peer_customer,
        "manager_customer": manager_customer,
        "walk_in": walk_in,
        "billing_ticket": factories.ticket(customer=walk_in, queue_=billing_q, subject="Billing question"),
        "tech_ticket": factories.ticket(customer=peer_customer, queue_=tech_q, subject="Tech question"),
        "assigned_elsewhere": factories.ticket(
            customer=rep_customer, queue_=tech_q, assignee=org.agent_zh, subject="Assigned to zh agent"
        ),
    }


def test_admin_and_supervisor_see_everything(org, book):
    for user in (org.admin, org.supervisor):
        assert visible(user, Ticket).count() == 3
        assert visible(user, Person).count() == Person.objects.count()


def test_agent_sees_team_queue_and_assigned_tickets_only(org, book):
    assert names(visible(org.agent_zh, Ticket)) == names([book["billing_ticket"], book["assigned_elsewhere"]])
    assert names(visible(org.agent_en, Ticket)) == names([book["tech_ticket"], book["assigned_elsewhere"]])


def test_agent_sees_the_customers_on_their_tickets_only(org, book):
    assert names(visible(org.agent_zh, Person)) == ["Rep's customer", "Walk-in"]
    assert not can_see(org.agent_zh, book["manager_customer"])


def test_sales_rep_sees_own_customers_and_their_tickets(org, book):
    assert names(visible(org.sales_rep, Person)) == ["Rep's customer"]
    assert names(visible(org.sales_rep, Ticket)) == [f"#{book['assigned_elsewhere'].number} Assigned to zh agent"]


def test_sales_manager_sees_the_department_tree(org, book):
    # Sales manager's role scope is department and sub-departments: Sales + Sales East.
    assert names(visible(org.sales_manager, Person)) == ["Manager's customer", "Peer's customer", "Rep's customer"]


def test_outsider_sees_nothing(org, book):
    assert visible(org.outsider, Ticket).count() == 0
    assert visible(org.outsider, Person).count() == 0
    assert visible(org.outsider, Company).count() == 0


def test_sharing_a_customer_makes_it_and_its_tickets_visible(org, book):
    assert not can_see(org.other_rep, book["rep_customer"])
    customer_share(person=book["rep_customer"], user=org.other_rep, by=org.sales_rep)
    del org.other_rep._record_scope_grant  # grants are cached per request
    assert can_see(org.other_rep, book["rep_customer"])
    assert can_see(org.other_rep, book["assigned_elsewhere"])


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (DataScope.OWN, ["Rep's customer"]),
        (DataScope.OWN_AND_SUBORDINATES, ["Rep's customer"]),
        (DataScope.DEPARTMENT, ["Peer's customer", "Rep's customer"]),
        (DataScope.DEPARTMENT_TREE, ["Peer's customer", "Rep's customer"]),
        (DataScope.ALL, ["Manager's customer", "Peer's customer", "Rep's customer", "Walk-in"]),
    ],
)
def test_each_of_the_five_data_scopes(org, book, scope, expected):
    Role.objects.filter(code=SALES_REP).update(data_scope=scope)
    assert grant_for(org.sales_rep).data_scope == scope
    assert names(visible(org.sales_rep, Person)) == expected


def test_own_and_subordinates_follows_the_manager_chain(org, book):
    from accounts.roles import SALES_MANAGER

    Role.objects.filter(code=SALES_MANAGER).update(data_scope=DataScope.OWN_AND_SUBORDINATES)
    grandchild = factories.user("junior", role=SALES_REP, manager=org.sales_rep)
    factories.person("Junior's customer", owner=grandchild)
    assert names(visible(org.sales_manager, Person)) == [
        "Junior's customer",
        "Manager's customer",
        "Peer's customer",
        "Rep's customer",
    ]


def test_widest_role_wins_for_a_user_with_several(org, book):
    from accounts.roles import SUPERVISOR, role_group

    org.sales_rep.groups.add(role_group(SUPERVISOR))
    assert grant_for(org.sales_rep).sees_all


def test_companies_follow_their_people(org, book):
    acme = company_create(by=None, name="Acme 上海", owner=None)
    company_create(by=None, name="Globex", owner=org.sales_rep)
    person_link_company(person=book["walk_in"], company=acme)
    assert names(visible(org.agent_zh, Company)) == ["Acme 上海"]
    assert names(visible(org.sales_rep, Company)) == ["Globex"]
    assert visible(org.outsider, Company).count() == 0
    assert names(visible(org.supervisor, Company)) == ["Acme 上海", "Globex"]


def test_inactive_user_sees_nothing(org, book):
    org.supervisor.is_active = False
    org.supervisor.save()
    assert visible(org.supervisor, Ticket).count() == 0


def test_unregistered_model_is_refused(org):
    from accounts.models import AuditLog

    with pytest.raises(LookupError):
        visible(org.admin, AuditLog)
