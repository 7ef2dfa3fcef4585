"""Shared fixtures. `org` is the cast of most tests: an owner, a teammate and an
outsider, in the shape of a real contact center (see tests/factories.py)."""

from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.utils import translation

from accounts.models import Department, Team, User
from accounts.roles import ADMIN, SALES_MANAGER, SALES_REP, SUPERVISOR
from tests import factories


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    yield
    # A server or worker thread of some test may still hold a connection to the test database:
    # PostgreSQL would then refuse to drop it and every run would leave one behind.
    from django.db import connection

    if connection.vendor == "postgresql":
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()  # throttles and per-test caches start empty
    yield


@pytest.fixture(autouse=True)
def _english():
    # The product defaults to zh-hans; tests assert the English source messages
    # unless they switch language themselves.
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@dataclass
class Org:
    head_office: Department
    sales: Department
    sales_east: Department
    support: Department
    billing_team: Team
    tech_team: Team
    admin: User
    supervisor: User
    agent_zh: User  # billing team
    agent_en: User  # tech team
    sales_manager: User  # sales (parent of sales_east)
    sales_rep: User  # sales_east, reports to sales_manager
    other_rep: User  # sales_east, a peer of sales_rep
    outsider: User  # no role, no team: sees nothing


@pytest.fixture
def org(db) -> Org:
    head = factories.department("Head office")
    sales = factories.department("Sales", parent=head)
    sales_east = factories.department("Sales East", parent=sales)
    support = factories.department("Support", parent=head)
    billing = factories.team("Billing", department=support)
    tech = factories.team("Tech", department=support)
    manager = factories.user("manager", role=SALES_MANAGER, department=sales)
    return Org(
        head_office=head,
        sales=sales,
        sales_east=sales_east,
        support=support,
        billing_team=billing,
        tech_team=tech,
        admin=factories.user("admin", role=ADMIN, superuser=True, department=head),
        supervisor=factories.user("supervisor", role=SUPERVISOR, department=support),
        agent_zh=factories.agent("agent_zh", teams=[billing], languages=["zh"], department=support),
        agent_en=factories.agent("agent_en", teams=[tech], languages=["en"], department=support),
        sales_manager=manager,
        sales_rep=factories.user("rep", role=SALES_REP, department=sales_east, manager=manager),
        other_rep=factories.user("rep2", role=SALES_REP, department=sales_east, manager=manager),
        outsider=factories.user("outsider", role=None),
    )
