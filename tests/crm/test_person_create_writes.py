"""person_create's writes: one savepoint inside the caller's transaction (a channel creates many
customers per batch), still all or nothing."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from crm.models import Identity, Person, TimelineEntry
from crm.services import person_create

pytestmark = pytest.mark.django_db


def test_one_savepoint_inside_the_callers_transaction(db):
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        person = person_create(by=None, name="王芳", emails=["wang@example.cn"])
    savepoints = [q for q in queries.captured_queries if q["sql"].startswith("SAVEPOINT")]
    assert len(savepoints) == 1
    assert person.identities.get().value == "wang@example.cn"
    assert TimelineEntry.objects.filter(person=person, kind="customer_created").exists()


def test_a_lost_race_on_the_identity_saves_nothing_and_names_the_owner(db, monkeypatch):
    other = person_create(by=None, name="李雷", emails=["li@example.cn"])
    from crm import services

    monkeypatch.setattr(services, "_check_identities_free", lambda *args, **kwargs: None)  # the race: checked free
    with transaction.atomic():
        with pytest.raises(ValidationError):
            person_create(by=None, name="Imposter", emails=["li@example.cn"])
        assert list(Person.objects.values_list("pk", flat=True)) == [other.pk]  # the caller's transaction goes on
    assert Identity.objects.count() == 1 and not TimelineEntry.objects.filter(person__name="Imposter").exists()


def test_a_first_contact_looks_its_address_up_once(db):
    from crm.selectors import identity_find

    assert identity_find(kind="email", value="new@example.cn") is None
    with CaptureQueriesContext(connection) as queries:
        person_create(by=None, name="新客户", emails=["new@example.cn"], addresses_looked_up=True)
    assert not [q for q in queries.captured_queries if 'FROM "crm_identity"' in q["sql"]]


def test_an_address_taken_after_the_look_up_is_still_refused_with_its_owner(db):
    from crm.selectors import identity_find

    owner = person_create(by=None, name="先到的人", emails=["first@example.cn"])
    assert identity_find(kind="email", value="late@example.cn") is None
    Identity.objects.create(person=owner, kind="email", value="late@example.cn")  # another process, meanwhile
    with pytest.raises(ValidationError, match=f"customer #{owner.pk}"):
        person_create(by=None, name="后到的人", emails=["late@example.cn"], addresses_looked_up=True)
    assert Person.objects.count() == 1
