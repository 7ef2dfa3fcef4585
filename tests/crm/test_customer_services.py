"""Creating and changing customers: validation, duplicates, history, encryption."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from accounts.models import AuditAction, AuditLog
from crm.models import ChangeRecord, Company, Identity, Person, TimelineEntry
from crm.services import (
    company_create,
    company_update,
    identity_add,
    person_create,
    person_reveal_id_number,
    person_update,
)

ID_NUMBER = "11010519491231002X"


def test_a_customer_gets_normalized_identities(db):
    person = person_create(by=None, name="王芳", emails=["Wang.Fang@Example.cn"], phones=["139 1234 5678"])
    assert sorted(Identity.objects.filter(person=person).values_list("kind", "value")) == [
        ("email", "wang.fang@example.cn"),
        ("phone", "+8613912345678"),
    ]
    assert TimelineEntry.objects.filter(person=person, kind="customer_created").exists()


def test_every_bad_field_is_named_and_nothing_is_saved(db):
    with pytest.raises(ValidationError) as caught:
        person_create(by=None, name="", emails=["nope@"], phones=["12"], id_number="110105194912310021")
    assert set(caught.value.message_dict) == {"name", "emails", "phones", "id_number"}
    assert Person.objects.count() == 0
    assert Identity.objects.count() == 0


def test_duplicate_identity_points_to_the_existing_person(db):
    first = person_create(by=None, name="李雷", emails=["li.lei@example.com"])
    with pytest.raises(ValidationError) as caught:
        person_create(by=None, name="Li Lei", emails=["LI.LEI@example.com"], phones=["13800138000"])
    message = caught.value.message_dict["emails"][0]
    assert "李雷" in message and f"#{first.id}" in message
    assert Person.objects.count() == 1  # and the phone of the refused person was not kept either
    assert not Identity.objects.filter(kind="phone").exists()


def test_duplicate_id_number_is_refused(db):
    person_create(by=None, name="甲", id_number=ID_NUMBER)
    with pytest.raises(ValidationError, match="already belongs"):
        person_create(by=None, name="乙", id_number=ID_NUMBER.lower())


def test_id_number_is_encrypted_at_rest(db):
    person = person_create(by=None, name="韩梅梅", id_number=ID_NUMBER)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number, id_number_digest FROM crm_person WHERE id = %s", [person.id])
        stored, digest = cursor.fetchone()
    assert ID_NUMBER not in stored and "1231002" not in stored
    assert ID_NUMBER not in digest
    assert Person.objects.get(pk=person.pk).id_number == ID_NUMBER


def test_reveal_needs_the_permission_and_is_audited(org):
    person = person_create(by=None, name="韩梅梅", id_number=ID_NUMBER)
    with pytest.raises(PermissionDenied):
        person_reveal_id_number(person=person, by=org.agent_zh)
    assert not AuditLog.objects.filter(action=AuditAction.SENSITIVE_VIEW).exists()
    assert person_reveal_id_number(person=person, by=org.supervisor, ip="127.0.0.1") == ID_NUMBER
    entry = AuditLog.objects.get(action=AuditAction.SENSITIVE_VIEW)
    assert (entry.actor, entry.target_id, entry.detail) == (org.supervisor, str(person.id), {"field": "id_number"})


def test_changes_are_kept_with_who_old_and_new(org):
    person = person_create(by=None, name="Tom", lifecycle_stage="potential")
    person_update(person=person, by=org.sales_rep, lifecycle_stage="customer", tags=["VIP"], id_number=ID_NUMBER)
    changes = {c.field: (c.old_value, c.new_value, c.changed_by) for c in ChangeRecord.objects.all()}
    assert changes["lifecycle_stage"] == ("potential", "customer", org.sales_rep)
    assert changes["tags"] == ("", "VIP", org.sales_rep)
    # The history shows the ID number masked, never in clear.
    assert changes["id_number"] == ("", "110***********002X", org.sales_rep)


def test_an_update_that_changes_nothing_records_nothing(org):
    person = person_create(by=None, name="Tom")
    person_update(person=person, by=org.sales_rep, name="Tom")
    assert ChangeRecord.objects.count() == 0


def test_update_refuses_unknown_fields(db):
    person = person_create(by=None, name="Tom")
    with pytest.raises(ValidationError) as caught:
        person_update(person=person, by=None, id_number_digest="x")
    assert "id_number_digest" in caught.value.message_dict


def test_identity_added_to_another_person_is_refused(db):
    a = person_create(by=None, name="A", phones=["13800138000"])
    b = person_create(by=None, name="B")
    with pytest.raises(ValidationError, match=f"#{a.id}"):
        identity_add(person=b, kind="phone", value="+86 138 0013 8000")
    assert identity_add(person=a, kind="phone", value="13800138000").person == a  # idempotent for the owner


def test_company_credit_code_is_validated_and_unique(db):
    company = company_create(by=None, name="福建某公司", credit_code="91350100m000100y43", email_domain="@Example.CN")
    assert (company.credit_code, company.email_domain) == ("91350100M000100Y43", "example.cn")
    with pytest.raises(ValidationError) as caught:
        company_create(by=None, name="Other", credit_code="91350100M000100Y43")
    assert "福建某公司" in caught.value.message_dict["credit_code"][0]
    with pytest.raises(ValidationError) as caught:
        company_create(by=None, name="Bad", credit_code="91350100M000100Y44")
    assert "check character" in caught.value.message_dict["credit_code"][0]
    assert Company.objects.count() == 1


def test_company_update_keeps_history(org):
    company = company_create(by=None, name="Acme", status="prospect")
    company_update(company=company, by=org.sales_manager, status="active", region="上海", tags=["重点客户"])
    fields = set(ChangeRecord.objects.values_list("field", flat=True))
    assert fields == {"status", "region", "tags"}
    assert company.timeline.filter(kind="company_changed").count() == 1
