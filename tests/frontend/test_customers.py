"""Customer 360 and companies: scope, masked ID numbers, audited reveal, history."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import AuditAction, AuditLog
from crm.services import person_update
from tests.frontend.conftest import ID_NUMBER
from ticketing.models import Status
from ticketing.services import ticket_change_status

pytestmark = pytest.mark.django_db
MASKED = "110***********002X"


def signed_in(client, user):
    client.force_login(user)
    client.cookies["django_language"] = "en"
    return client


def test_customer_list_is_scoped(client, org, desk):
    html = signed_in(client, org.agent_zh).get(reverse("customer-list")).content.decode()
    assert "张伟" in html  # on a ticket in the agent's team queue
    assert "Alice Smith" not in html and "王芳" not in html
    rep_html = signed_in(Client(), org.sales_rep).get(reverse("customer-list"), secure=True).content.decode()
    assert "王芳" in rep_html and "张伟" not in rep_html


def test_customer_search_by_name_email_and_phone(client, org, desk):
    from tests import factories

    factories.person("李娜", phones=["+86 138 0013 8000"], owner=org.supervisor)
    signed_in(client, org.supervisor)

    def names(q):
        html = client.get(reverse("customer-list"), {"q": q}).content.decode()
        return {n for n in ("张伟", "Alice Smith", "王芳", "李娜") if n in html}

    assert names("张") == {"张伟"}
    assert names("alice@") == {"Alice Smith"}
    assert names("138-0013") == {"李娜"}
    assert "+86 138 0013 8000" in client.get(reverse("customer-list"), {"q": "李娜"}).content.decode()  # grouped


def test_customer_outside_scope_is_404(client, org, desk):
    signed_in(client, org.agent_zh)
    for pk in (desk.tech_customer.pk, desk.rep_customer.pk):
        assert client.get(reverse("customer-detail", args=[pk])).status_code == 404
        assert client.post(reverse("customer-reveal-id", args=[pk])).status_code == 404


def test_customer_page_shows_the_360_with_a_masked_id(client, org, desk):
    person = desk.billing_customer
    with translation.override("zh-hans"):  # the worker or a Chinese colleague wrote the timeline
        person_update(person=person, by=org.supervisor, lifecycle_stage="customer", tags=["VIP"])
    html = signed_in(client, org.agent_zh).get(reverse("customer-detail", args=[person.pk])).content.decode()
    assert "zhang.wei@example.cn" in html
    assert "上海示例贸易有限公司" in html and "采购经理" in html
    assert desk.billing_ticket.subject in html
    # The timeline reads in the reader's language, whatever language it was written in.
    assert f"Ticket #{desk.billing_ticket.number}: 发票抬头错误" in html
    assert "Changed: Lifecycle stage, Tags" in html and "Customer created" in html
    assert "Lifecycle stage" in html and "Potential" in html and "Customer" in html  # the change, by label
    assert MASKED in html and ID_NUMBER not in html
    assert "Reveal" not in html  # an agent may not


def test_agent_cannot_reveal_and_nothing_is_audited(client, org, desk):
    response = signed_in(client, org.agent_zh).post(reverse("customer-reveal-id", args=[desk.billing_customer.pk]))
    assert response.status_code == 403
    assert ID_NUMBER not in response.content.decode()
    assert not AuditLog.objects.filter(action=AuditAction.SENSITIVE_VIEW).exists()


def test_supervisor_reveals_the_id_number_and_it_is_audited(client, org, desk):
    person = desk.billing_customer
    signed_in(client, org.supervisor)
    page = client.get(reverse("customer-detail", args=[person.pk])).content.decode()
    assert MASKED in page and "Reveal" in page and ID_NUMBER not in page
    response = client.post(reverse("customer-reveal-id", args=[person.pk]))
    assert response.status_code == 200
    assert ID_NUMBER in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    entry = AuditLog.objects.get(action=AuditAction.SENSITIVE_VIEW)
    assert (entry.actor, entry.target_id, entry.detail) == (org.supervisor, str(person.pk), {"field": "id_number"})
    # The clear number is shown on that one response only.
    assert ID_NUMBER not in client.get(reverse("customer-detail", args=[person.pk])).content.decode()


def test_timeline_hides_tickets_the_user_cannot_see(client, org, desk):
    from tests import factories

    tech_queue = desk.tech_ticket.queue
    hidden = factories.ticket(customer=desk.billing_customer, queue_=tech_queue, subject="Secret tech issue")
    html = signed_in(client, org.agent_zh).get(reverse("customer-detail", args=[desk.billing_customer.pk]))
    text = html.content.decode()
    assert desk.billing_ticket.subject in text
    assert "Secret tech issue" not in text and f"#{hidden.number}" not in text


def test_company_list_and_detail_are_scoped(client, org, desk):
    signed_in(client, org.agent_zh)
    assert "上海示例贸易有限公司" in client.get(reverse("company-list")).content.decode()
    page = client.get(reverse("company-detail", args=[desk.company.pk])).content.decode()
    assert "张伟" in page and desk.billing_ticket.subject in page
    outsider = signed_in(Client(), org.outsider)
    assert "上海示例贸易有限公司" not in outsider.get(reverse("company-list"), secure=True).content.decode()
    assert outsider.get(reverse("company-detail", args=[desk.company.pk]), secure=True).status_code == 404


def test_home_counts_my_work(client, org, desk):
    from tests import factories

    factories.ticket(customer=desk.billing_customer, queue_=desk.billing_ticket.queue, assignee=org.agent_zh)
    solved = factories.ticket(customer=desk.billing_customer, queue_=desk.billing_ticket.queue, assignee=org.agent_zh)
    ticket_change_status(ticket=solved, status=Status.SOLVED, by=org.agent_zh)
    html = signed_in(client, org.agent_zh).get(reverse("home")).content.decode()
    assert '<span class="stat-value" data-stat="my-open">1</span>' in html
    assert '<span class="stat-value" data-stat="queue">1</span>' in html  # the unassigned billing ticket
    assert '<span class="stat-value" data-stat="customers">1</span>' in html


def test_company_timeline_names_only_customers_in_scope(client, org, desk):
    from crm.services import person_create

    person_create(
        by=org.sales_rep, name="赵敏", emails=["zhao.min@example.cn"], company=desk.company, owner=org.sales_rep
    )
    html = signed_in(client, org.agent_zh).get(reverse("company-detail", args=[desk.company.pk])).content.decode()
    assert "赵敏" not in html  # created at this company, but not a customer the agent may see
    assert "Customer created" in html
    manager_html = signed_in(Client(), org.sales_manager).get(
        reverse("company-detail", args=[desk.company.pk]), secure=True
    )
    assert "Customer created: 赵敏" in manager_html.content.decode()
