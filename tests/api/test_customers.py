"""/api/v1/customers/: record scope, the masked ID number and its audited reveal,
validation through the services, history, timeline, sharing, search and filters."""

import pytest

from accounts.models import AuditAction, AuditLog
from crm.models import Identity, Person
from crm.services import company_create, person_update
from tests import factories
from tests.api.conftest import ids, valid_id_number

URL = "/api/v1/customers/"


def detail(person) -> str:
    return f"{URL}{person.id}/"


# --- scope -------------------------------------------------------------------------


def test_sales_rep_lists_and_opens_own_customers_only(org, book, api):
    rep = api(org.sales_rep)
    assert ids(rep.get(URL)) == [book["rep_customer"].id]
    assert rep.get(detail(book["rep_customer"])).status_code == 200
    peer = rep.get(detail(book["peer_customer"]))
    assert peer.status_code == 404
    assert "Peer" not in peer.content.decode()


def test_sales_manager_sees_the_department_tree(org, book, api):
    expected = sorted(book[k].id for k in ("rep_customer", "peer_customer", "manager_customer"))
    assert ids(api(org.sales_manager).get(URL)) == expected
    assert api(org.sales_manager).get(detail(book["walk_in"])).status_code == 404


def test_agent_sees_the_customers_of_the_tickets_they_work(org, book, api):
    # billing queue → walk-in; assigned ticket → rep's customer; tech queue is not theirs.
    assert ids(api(org.agent_zh).get(URL)) == sorted([book["walk_in"].id, book["rep_customer"].id])
    assert api(org.agent_zh).get(detail(book["peer_customer"])).status_code == 404


def test_supervisor_sees_everyone(org, book, api):
    assert api(org.supervisor).get(URL).json()["count"] == Person.objects.count() == 4


def test_a_malformed_or_unknown_id_is_a_json_404(org, book, api):
    for bad in ("abc", "0", "-1", "99999999", "9" * 40, "１"):
        answer = api(org.supervisor).get(f"{URL}{bad}/")
        assert answer.status_code == 404, bad
        assert answer.json()["detail"]


# --- the ID number -------------------------------------------------------------------


@pytest.fixture
def with_id_number(book):
    person = book["walk_in"]
    person_update(person=person, by=None, id_number=valid_id_number())
    return person


def test_id_number_is_masked_in_list_and_detail_for_everyone(org, with_id_number, api):
    number = valid_id_number()
    masked = number[:3] + "*" * 11 + number[-4:]
    for user in (org.agent_zh, org.supervisor):
        client = api(user)
        shown = client.get(detail(with_id_number))
        assert shown.json()["id_number"] == masked
        assert number not in shown.content.decode()
        listed = client.get(URL, {"search": "Walk-in"})
        assert listed.json()["results"][0]["id_number"] == masked
        assert number not in listed.content.decode()


def test_supervisor_reveals_the_id_number_and_the_reveal_is_audited(org, with_id_number, api):
    answer = api(org.supervisor).post(f"{detail(with_id_number)}reveal-id-number/")
    assert answer.status_code == 200
    assert answer.json() == {"id_number": valid_id_number()}
    entry = AuditLog.objects.get(action=AuditAction.SENSITIVE_VIEW)
    assert (entry.actor, entry.target_type, entry.target_id) == (org.supervisor, "crm.person", str(with_id_number.id))
    assert entry.detail == {"field": "id_number"}


def test_agent_may_not_reveal_and_nothing_is_audited(org, with_id_number, api):
    answer = api(org.agent_zh).post(f"{detail(with_id_number)}reveal-id-number/")
    assert answer.status_code == 403
    assert valid_id_number() not in answer.content.decode()
    assert not AuditLog.objects.filter(action=AuditAction.SENSITIVE_VIEW).exists()


def test_reveal_of_a_customer_out_of_scope_is_404(org, with_id_number, api):
    # The sales manager may reveal ID numbers, but the walk-in is outside their department tree.
    assert api(org.sales_manager).post(f"{detail(with_id_number)}reveal-id-number/").status_code == 404
    assert not AuditLog.objects.filter(action=AuditAction.SENSITIVE_VIEW).exists()


# --- create and validation ----------------------------------------------------------------


def test_sales_rep_creates_a_customer_they_then_own_and_see(org, api):
    rep = api(org.sales_rep)
    created = rep.post(
        URL,
        {
            "name": "王芳",
            "emails": ["Wang.Fang@Example.cn"],
            "phones": ["139 1234 5678"],
            "id_number": valid_id_number(),
            "lifecycle_stage": "interested",
            "tags": ["vip"],
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["emails"] == ["wang.fang@example.cn"]
    assert body["phones"] == ["+8613912345678"]
    assert body["owner"]["username"] == "rep"
    assert body["tags"] == ["vip"]
    assert body["id_number"].startswith("110*") and valid_id_number() not in created.content.decode()
    assert ids(rep.get(URL)) == [body["id"]]


def test_every_invalid_field_is_named_and_nothing_is_saved(org, api):
    answer = api(org.sales_rep).post(
        URL,
        {"name": "Bad", "emails": ["nope@"], "phones": ["12"], "id_number": "110105194912310021"},
        format="json",
    )
    assert answer.status_code == 400
    body = answer.json()
    assert body["detail"] == "Invalid input."
    assert set(body["errors"]) == {"emails", "phones", "id_number"}
    assert "nope@" in body["errors"]["emails"][0]
    assert "check digit" in body["errors"]["id_number"][0]
    assert not Person.objects.filter(name="Bad").exists()


def test_a_duplicate_identity_is_refused_with_a_pointer_to_the_existing_customer(org, book, api):
    existing = book["rep_customer"]
    answer = api(org.sales_rep).post(URL, {"name": "Zhang Wei again", "phones": ["+86 138-0013-8000"]}, format="json")
    assert answer.status_code == 400
    message = answer.json()["errors"]["phones"][0]
    assert "张伟" in message and f"#{existing.id}" in message
    assert not Person.objects.filter(name="Zhang Wei again").exists()


def test_agent_without_add_person_gets_403(org, api):
    assert api(org.agent_zh).post(URL, {"name": "Someone"}, format="json").status_code == 403
    assert not Person.objects.filter(name="Someone").exists()


def test_company_out_of_scope_cannot_be_linked(org, api):
    company = company_create(by=None, name="Peer Co", owner=org.other_rep)
    answer = api(org.sales_rep).post(URL, {"name": "New", "company": company.id}, format="json")
    assert answer.status_code == 400
    assert "company" in answer.json()["errors"]
    assert not Person.objects.filter(name="New").exists()


# --- update, history, timeline ---------------------------------------------------------------


def test_patch_changes_fields_and_the_history_shows_who_changed_what(org, book, api):
    rep = api(org.sales_rep)
    person = book["rep_customer"]
    changed = rep.patch(detail(person), {"lifecycle_stage": "customer", "address": "上海市"}, format="json")
    assert changed.status_code == 200
    assert changed.json()["lifecycle_stage"] == "customer"

    history = rep.get(f"{detail(person)}history/").json()["results"]
    by_field = {row["field"]: row for row in history}
    assert by_field["lifecycle_stage"]["old_value"] == "potential"
    assert by_field["lifecycle_stage"]["new_value"] == "customer"
    assert by_field["lifecycle_stage"]["changed_by"]["username"] == "rep"
    timeline = rep.get(f"{detail(person)}timeline/").json()["results"]
    assert timeline[0]["kind"] == "customer_changed"


def test_history_of_an_id_number_change_never_holds_the_clear_number(org, book, api):
    supervisor = api(org.supervisor)
    person = book["walk_in"]
    assert supervisor.patch(detail(person), {"id_number": valid_id_number()}, format="json").status_code == 200
    history = supervisor.get(f"{detail(person)}history/")
    assert [row["field"] for row in history.json()["results"]] == ["id_number"]
    assert valid_id_number() not in history.content.decode()


def test_patch_with_a_bad_value_names_the_field(org, book, api):
    answer = api(org.sales_rep).patch(detail(book["rep_customer"]), {"name": "  "}, format="json")
    assert answer.status_code == 400
    assert "name" in answer.json()["errors"]
    bad_stage = api(org.sales_rep).patch(detail(book["rep_customer"]), {"lifecycle_stage": "vip"}, format="json")
    assert bad_stage.status_code == 400
    assert "lifecycle_stage" in bad_stage.json()["errors"]


def test_timeline_hides_tickets_the_caller_cannot_see(org, book, api):
    # agent_en sees the rep's customer through the tech-queue ticket, but not a billing-queue one.
    person = book["rep_customer"]
    billing = factories.ticket(customer=person, queue_=book["billing_q"], subject="Secret billing matter")
    entries = api(org.agent_en).get(f"{detail(person)}timeline/").json()["results"]
    refs = {row["ref_id"] for row in entries if row["ref_type"] == "ticketing.ticket"}
    assert refs == {book["assigned_to_zh"].id}
    shown = api(org.agent_en).get(detail(person))
    assert "Secret billing matter" not in shown.content.decode()
    supervisor_refs = {row["ref_id"] for row in api(org.supervisor).get(f"{detail(person)}timeline/").json()["results"]}
    assert billing.id in supervisor_refs


# --- identities and sharing --------------------------------------------------------------------


def test_adding_an_identity_normalizes_it_and_refuses_someone_elses(org, book, api):
    rep = api(org.sales_rep)
    person = book["rep_customer"]
    added = rep.post(f"{detail(person)}identities/", {"kind": "phone", "value": "021 6888 8888"}, format="json")
    assert added.status_code == 201
    assert added.json()["value"] == "+862168888888"
    taken = rep.post(f"{detail(person)}identities/", {"kind": "email", "value": "WALK.IN@example.com"}, format="json")
    assert taken.status_code == 400
    assert f"#{book['walk_in'].id}" in taken.json()["errors"]["value"][0]
    bad = rep.post(f"{detail(person)}identities/", {"kind": "email", "value": "no-at-sign"}, format="json")
    assert bad.status_code == 400 and "value" in bad.json()["errors"]


def test_sharing_makes_a_customer_visible_to_the_colleague(org, book, api):
    person = book["rep_customer"]
    assert api(org.other_rep).get(detail(person)).status_code == 404
    shared = api(org.sales_rep).post(f"{detail(person)}share/", {"user": org.other_rep.id}, format="json")
    assert shared.status_code == 201
    assert shared.json()["user"]["username"] == "rep2"
    assert api(org.other_rep).get(detail(person)).status_code == 200


def test_sharing_with_an_unknown_user_names_the_field(org, book, api):
    answer = api(org.sales_rep).post(f"{detail(book['rep_customer'])}share/", {"user": 987654}, format="json")
    assert answer.status_code == 400
    assert "user" in answer.json()["errors"]


def test_sharing_needs_the_permission(org, book, api):
    # Agents see the walk-in (their queue's ticket) but may not share customers.
    answer = api(org.agent_zh).post(f"{detail(book['walk_in'])}share/", {"user": org.agent_en.id}, format="json")
    assert answer.status_code == 403


# --- search, filters, ordering, pagination ----------------------------------------------------------


@pytest.mark.parametrize("term", ["138-0013", "0013 8000", "+86 138", "zhang.wei@", "EXAMPLE.CN", "张"])
def test_search_by_partial_phone_email_or_name(org, book, api, term):
    assert ids(api(org.supervisor).get(URL, {"search": term})) == [book["rep_customer"].id]


def test_search_finds_nothing_outside_scope(org, book, api):
    assert api(org.sales_rep).get(URL, {"search": "walk.in@"}).json()["count"] == 0


def test_filters(org, book, api):
    supervisor = api(org.supervisor)
    person_update(person=book["peer_customer"], by=None, lifecycle_stage="customer", tags=["vip"])
    assert ids(supervisor.get(URL, {"lifecycle_stage": "customer"})) == [book["peer_customer"].id]
    assert ids(supervisor.get(URL, {"tag": "vip"})) == [book["peer_customer"].id]
    assert ids(supervisor.get(URL, {"owner": org.sales_manager.id})) == [book["manager_customer"].id]
    bad = supervisor.get(URL, {"lifecycle_stage": "royalty"})
    assert bad.status_code == 400 and "lifecycle_stage" in bad.json()["errors"]
    bad_date = supervisor.get(URL, {"updated_after": "last tuesday"})
    assert bad_date.status_code == 400 and "updated_after" in bad_date.json()["errors"]


def test_ordering_by_name(org, book, api):
    names = [row["name"] for row in api(org.supervisor).get(URL, {"ordering": "name"}).json()["results"]]
    assert names == sorted(names)


def test_pagination_pages_through_everyone_once(org, book, api):
    supervisor = api(org.supervisor)
    first = supervisor.get(URL, {"page_size": 3}).json()
    assert first["count"] == 4 and len(first["results"]) == 3 and first["next"]
    second = supervisor.get(URL, {"page_size": 3, "page": 2}).json()
    assert len(second["results"]) == 1 and second["next"] is None
    seen = {row["id"] for row in first["results"] + second["results"]}
    assert seen == set(Person.objects.values_list("id", flat=True))
    assert supervisor.get(URL, {"page": 3, "page_size": 3}).status_code == 404


def test_identities_are_unchanged_by_a_refused_request(org, book, api):
    before = Identity.objects.count()
    api(org.sales_rep).post(URL, {"name": "X", "emails": ["ok@example.com", "bad@"]}, format="json")
    assert Identity.objects.count() == before
