"""Exports: the list's filters, only records in scope, ID numbers masked, audited."""

import csv
import io

import pytest
from django.contrib.auth.models import Permission
from openpyxl import load_workbook
from rest_framework.authtoken.models import Token

from accounts.models import AuditAction, AuditLog, User
from contact_center import exports
from crm.exports import PersonExport
from crm.models import Person
from tests import factories

ID_NUMBER = "11010519491231002X"


def get(client, user, path):
    token, _ = Token.objects.get_or_create(user=user)
    return client.get(path, secure=True, HTTP_AUTHORIZATION=f"Token {token.key}", HTTP_ACCEPT_LANGUAGE="en")


def rows(response):
    text = response.content.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def book(org):
    mine = factories.person("王小明", owner=org.sales_rep, id_number=ID_NUMBER, phones=["13800138000"])
    factories.person("Peer's", owner=org.other_rep)
    queue = factories.queue(team_=org.billing_team)
    factories.ticket(customer=mine, queue_=queue, subject="发票")
    factories.ticket(queue_=factories.queue(team_=org.tech_team), subject="Other team")
    return mine


def test_customer_export_holds_only_the_callers_scope_with_masked_ids(org, client, book):
    response = get(client, org.sales_manager, "/api/v1/customers/export/?lifecycle_stage=potential")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")  # Excel reads the Chinese names
    exported = {row["name"]: row for row in rows(response)}
    assert set(exported) == {"王小明", "Peer's"}
    assert exported["王小明"]["id_number"] == "110***********002X"
    assert exported["王小明"]["phones"] == "+8613800138000"
    assert ID_NUMBER.encode() not in response.content


def test_every_export_is_audited_with_its_filters(org, client, book):
    get(client, org.sales_manager, "/api/v1/customers/export/?search=王")
    entry = AuditLog.objects.get(action=AuditAction.EXPORT)
    assert entry.actor == org.sales_manager
    assert entry.detail == {"model": "crm.person", "rows": 1, "format": "csv", "filters": {"search": ["王"]}}


def test_export_needs_the_export_permission(org, client, book):
    assert get(client, org.sales_rep, "/api/v1/customers/export/").status_code == 403
    assert get(client, org.agent_zh, "/api/v1/tickets/export/").status_code == 403
    assert not AuditLog.objects.filter(action=AuditAction.EXPORT).exists()


def test_ticket_export_as_excel_for_a_supervisor(org, client, book):
    response = get(client, org.supervisor, "/api/v1/tickets/export/?file=xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    header, *data = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert header[:3] == ["number", "subject", "status"]
    assert sorted(row[1] for row in data) == ["Other team", "发票"]


def test_unknown_format_and_too_many_rows_are_clear_errors(org, client, book, monkeypatch):
    response = get(client, org.supervisor, "/api/v1/customers/export/?file=pdf")
    assert response.status_code == 400 and "file" in response.json()["errors"]
    monkeypatch.setattr(exports, "MAX_ROWS", 1)
    response = get(client, org.supervisor, "/api/v1/customers/export/")
    assert response.status_code == 400
    assert "narrow the filters" in response.json()["errors"]["file"][0]


def test_the_service_scopes_whatever_queryset_it_is_given(org, book):
    org.sales_rep.user_permissions.add(Permission.objects.get(codename="export_person"))
    rep = User.objects.get(pk=org.sales_rep.pk)  # a fresh permission cache
    exported = exports.records_export(
        user=rep, queryset=Person.objects.all(), resource=PersonExport(), permission="crm.export_person"
    )
    assert exported.rows == 1 and b"Peer's" not in exported.content


def test_the_customer_page_offers_the_export_to_permitted_users_only(org, client, book):
    client.force_login(org.sales_manager)
    page = client.get("/customers/?q=王", secure=True).content.decode()
    link = "/api/v1/customers/export/?file=xlsx&amp;search=%E7%8E%8B"
    assert link in page
    response = client.get(link.replace("&amp;", "&"), secure=True)
    assert response.status_code == 200
    assert load_workbook(io.BytesIO(response.content)).active.max_row == 2  # header + 王小明
    client.force_login(org.sales_rep)
    assert "/export/" not in client.get("/customers/", secure=True).content.decode()
