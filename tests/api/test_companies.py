"""/api/v1/companies/: permissions, scope, credit code validation and duplicates."""

from crm.models import Company
from crm.services import company_create, person_link_company
from tests.api.conftest import ids, valid_credit_code

URL = "/api/v1/companies/"


def test_sales_rep_creates_a_company_with_a_normalized_credit_code(org, api):
    code = valid_credit_code()
    created = api(org.sales_rep).post(
        URL, {"name": "杭州示例科技有限公司", "credit_code": code.lower(), "size": "small"}, format="json"
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["credit_code"] == code
    assert body["owner"]["username"] == "rep"
    assert api(org.sales_rep).get(f"{URL}{body['id']}/").status_code == 200


def test_an_invalid_credit_code_is_refused_naming_the_field(org, api):
    code = valid_credit_code()
    wrong_check = code[:17] + ("0" if code[17] != "0" else "1")
    for bad in ("12345", wrong_check, "91350100M0001000I" + "0"):
        answer = api(org.sales_rep).post(URL, {"name": "Bad Co", "credit_code": bad}, format="json")
        assert answer.status_code == 400, bad
        assert list(answer.json()["errors"]) == ["credit_code"]
    assert not Company.objects.filter(name="Bad Co").exists()


def test_a_duplicate_credit_code_points_to_the_existing_company(org, api):
    existing = company_create(by=None, name="First Co", credit_code=valid_credit_code())
    answer = api(org.supervisor).post(URL, {"name": "Second Co", "credit_code": valid_credit_code()}, format="json")
    assert answer.status_code == 400
    message = answer.json()["errors"]["credit_code"][0]
    assert "First Co" in message and f"#{existing.id}" in message


def test_agent_without_add_company_gets_403_and_nothing_is_created(org, api):
    assert api(org.agent_zh).post(URL, {"name": "Agent Co"}, format="json").status_code == 403
    assert not Company.objects.filter(name="Agent Co").exists()


def test_sales_rep_sees_owned_companies_and_those_of_their_customers(org, book, api):
    own = company_create(by=None, name="Own Co", owner=org.sales_rep)
    linked = company_create(by=None, name="Linked Co", owner=org.other_rep)
    person_link_company(person=book["rep_customer"], company=linked)
    hidden = company_create(by=None, name="Hidden Co", owner=org.other_rep)
    rep = api(org.sales_rep)
    assert ids(rep.get(URL)) == sorted([own.id, linked.id])
    assert rep.get(f"{URL}{hidden.id}/").status_code == 404
    assert rep.patch(f"{URL}{hidden.id}/", {"name": "Mine now"}, format="json").status_code == 404
    hidden.refresh_from_db()
    assert hidden.name == "Hidden Co"


def test_patch_changes_a_company(org, api):
    company = company_create(by=None, name="Old Name", owner=org.sales_rep)
    answer = api(org.sales_rep).patch(
        f"{URL}{company.id}/", {"name": "New Name", "status": "active", "tags": ["key"]}, format="json"
    )
    assert answer.status_code == 200
    assert (answer.json()["name"], answer.json()["status"], answer.json()["tags"]) == ("New Name", "active", ["key"])
    assert api(org.sales_rep).patch(f"{URL}{company.id}/", {"status": "bankrupt"}, format="json").status_code == 400


def test_search_and_filters(org, api):
    code = valid_credit_code()
    alpha = company_create(by=None, name="Alpha 贸易", credit_code=code, email_domain="alpha.cn", status="active")
    company_create(by=None, name="Beta", email_domain="beta.com")
    supervisor = api(org.supervisor)
    assert ids(supervisor.get(URL, {"search": "贸易"})) == [alpha.id]
    assert ids(supervisor.get(URL, {"search": code[:8]})) == [alpha.id]
    assert ids(supervisor.get(URL, {"search": "alpha.cn"})) == [alpha.id]
    assert ids(supervisor.get(URL, {"status": "active"})) == [alpha.id]
    assert supervisor.get(URL, {"status": "whatever"}).status_code == 400
