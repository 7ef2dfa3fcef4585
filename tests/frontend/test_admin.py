"""The admin: every model has a working list, form and search; edits go through services."""

import pytest
from django.contrib import admin
from django.urls import reverse

from accounts.models import AuditLog, Department
from crm.models import ChangeRecord, Company, Person
from tests.frontend.conftest import ID_NUMBER
from ticketing.models import Status, TicketEvent

pytestmark = pytest.mark.django_db

OURS = {"accounts", "crm", "ticketing", "contact_center", "channels_app", "routing", "knowledge_base"}


@pytest.fixture
def staff(client, org, desk):
    client.force_login(org.admin)
    client.cookies["django_language"] = "en"
    return client


def registered():
    return [model for model in admin.site._registry if model._meta.app_label in OURS]


def test_every_model_of_ours_is_in_the_admin():
    from django.apps import apps

    models = {m for label in OURS for m in apps.get_app_config(label).get_models()}
    inline_only = {"identity", "personcompany", "agentskill", "articleversion", "articleattachment"}
    derived = {"searchdocument", "searchterm"}  # the search index: rebuilt by search_reindex, never edited
    exempt = inline_only | derived
    missing = {m._meta.label for m in models if m not in admin.site._registry and m._meta.model_name not in exempt}
    assert missing == set()


def test_every_list_add_and_change_page_opens(staff):
    for model in registered():
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        response = staff.get(changelist)
        assert response.status_code == 200, changelist
        searched = staff.get(changelist, {"q": "张"})
        assert searched.status_code == 200, f"{changelist}?q="
        model_admin = admin.site._registry[model]
        if model_admin.has_add_permission(response.wsgi_request):
            add = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
            assert staff.get(add).status_code == 200, add
        first = model._default_manager.first()
        if first is not None:
            change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[first.pk])
            assert staff.get(change).status_code == 200, change


def test_id_numbers_are_masked_in_the_admin(staff, desk):
    listing = staff.get(reverse("admin:crm_person_changelist")).content.decode()
    form = staff.get(reverse("admin:crm_person_change", args=[desk.billing_customer.pk])).content.decode()
    for html in (listing, form):
        assert "110***********002X" in html
        assert ID_NUMBER not in html


def test_person_edit_in_the_admin_is_kept_in_the_change_history(staff, org, desk):
    person = desk.billing_customer
    url = reverse("admin:crm_person_change", args=[person.pk])
    form = staff.get(url).context["adminform"].form
    data = {name: form.initial.get(name) for name in form.fields if form.initial.get(name) is not None}
    data.update(
        {
            "name": "张伟 (VIP)",
            "tags": [],
            "identities-TOTAL_FORMS": "1",
            "identities-INITIAL_FORMS": "1",
            "identities-0-id": str(person.identities.get().pk),
            "identities-0-person": str(person.pk),
            "identities-0-kind": "email",
            "identities-0-value": "zhang.wei@example.cn",
            "company_links-TOTAL_FORMS": "1",
            "company_links-INITIAL_FORMS": "1",
            "company_links-0-id": str(person.company_links.get().pk),
            "company_links-0-person": str(person.pk),
            "company_links-0-company": str(desk.company.pk),
            "company_links-0-title": "采购经理",
            "company_links-0-is_primary": "on",
        }
    )
    data["owner"] = ""
    response = staff.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    person.refresh_from_db()
    assert person.name == "张伟 (VIP)"
    assert person.id_number == ID_NUMBER  # untouched: the form never carries it
    change = ChangeRecord.objects.get(object_id=person.pk, field="name")
    assert (change.old_value, change.new_value, change.changed_by) == ("张伟", "张伟 (VIP)", org.admin)


def test_bad_credit_code_is_refused_in_the_admin(staff):
    response = staff.post(
        reverse("admin:crm_company_add"),
        {"name": "Bad Co", "credit_code": "91350100M000100Y4X", "status": "prospect", "service_level": "standard"},
    )
    assert response.status_code == 200
    assert "check character" in response.content.decode()
    assert not Company.objects.filter(name="Bad Co").exists()


def test_ticket_status_change_in_the_admin_goes_through_the_service(staff, desk):
    ticket = desk.billing_ticket
    url = reverse("admin:ticketing_ticket_change", args=[ticket.pk])
    data = {
        "subject": ticket.subject,
        "status": "solved",
        "priority": "high",
        "assignee": "",
        "queue": str(ticket.queue_id),
        "messages-TOTAL_FORMS": "1",
        "messages-INITIAL_FORMS": "1",
    }
    assert staff.post(url, data).status_code == 302
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority) == (Status.SOLVED, "high")
    kinds = set(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))
    assert {"ticket.status_changed", "ticket.updated"} <= kinds
    data["status"] = "pending"  # solved → pending is not a transition
    response = staff.post(url, data)
    assert response.status_code == 200 and "A ticket cannot go from Solved to Pending." in response.content.decode()


def test_audit_log_is_read_only(staff):
    assert AuditLog.objects.exists()  # the admin's sign-in... or the role changes of the fixture
    entry = AuditLog.objects.first()
    assert staff.get(reverse("admin:accounts_auditlog_add")).status_code == 403
    assert staff.post(reverse("admin:accounts_auditlog_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403
    assert AuditLog.objects.filter(pk=entry.pk).exists()


def test_department_tree_is_editable(staff, org):
    response = staff.post(reverse("admin:accounts_department_add"), {"name": "Sales West", "parent": org.sales.pk})
    assert response.status_code == 302
    assert Department.objects.get(name="Sales West").parent == org.sales


def test_admin_list_queries_do_not_grow_with_rows(staff, desk, django_assert_max_num_queries):
    from tests import factories

    for n in range(15):
        factories.person(f"客户{n}", id_number="", owner=None)
        factories.ticket(customer=desk.billing_customer, subject=f"Row {n}")
    for name in ["admin:crm_person_changelist", "admin:ticketing_ticket_changelist", "admin:auth_user_changelist"]:
        url = reverse(name) if not name.startswith("admin:auth_user") else reverse("admin:accounts_user_changelist")
        staff.get(url)
        with django_assert_max_num_queries(10):
            assert staff.get(url).status_code == 200
    assert Person.objects.count() > 15


def test_the_admin_index_speaks_chinese_throughout(client, org):
    """Every app and model name on the index is translated, the job library's included."""
    import re

    client.force_login(org.admin)
    client.cookies["django_language"] = "zh-hans"
    html = client.get(reverse("admin:index")).content.decode()
    assert "后台任务" in html and "任务结果" in html and "待更新的搜索索引" in html
    names = re.findall(r'<(?:caption|th scope="row")[^>]*>\s*<a [^>]*>([^<]+)</a>', html)
    assert names, "the index lists apps and models"
    english = [name for name in names if re.fullmatch(r"[A-Za-z ()]+", name.strip())]
    assert english == []


def test_the_widget_snippet_carries_this_servers_address(staff):
    """Pasted into another site, a relative src would load the script from that site."""
    from channels_app.chat.models import ChatWidget

    widget = ChatWidget.objects.create(key="shop", name="Shop", allowed_origins=["https://shop.example.cn"])
    tag = "&lt;script src=&quot;https://testserver/widget/shop.js&quot; async&gt;&lt;/script&gt;"
    listing = staff.get(reverse("admin:channels_app_chatwidget_changelist")).content.decode()
    assert tag in listing
    page = staff.get(reverse("admin:channels_app_chatwidget_change", args=[widget.pk])).content.decode()
    assert tag in page and "data-widget-snippet" in page
