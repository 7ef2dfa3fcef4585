"""Writes to CRM records. Views, API, channels and the worker all call these."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models.signals import post_save
from django.utils.translation import gettext as _

from accounts.audit import audit_record
from accounts.models import AuditAction, User
from contact_center.crypto import blind_index
from contact_center.deferred import insert_or_defer
from crm import identifiers
from crm.models import (
    ChangeRecord,
    Company,
    CustomerShare,
    Identity,
    IdentityKind,
    Person,
    PersonCompany,
    Tag,
    TimelineEntry,
)
from crm.selectors import company_for_email_domain

PERSON_FIELDS = {"name", "address", "language", "owner", "source", "lifecycle_stage", "service_level"}
COMPANY_FIELDS = {
    "name",
    "credit_code",
    "industry",
    "size",
    "region",
    "status",
    "email_domain",
    "service_level",
    "owner",
}


@dataclass(frozen=True)
class NormalizedIdentities:
    emails: list[str]
    phones: list[str]


def _normalize_all(values: Iterable[str], normalize, field: str, errors: dict) -> list[str]:
    result: list[str] = []
    for raw in values or []:
        if not str(raw).strip():
            continue
        try:
            value = normalize(str(raw))
        except ValueError as exc:
            errors.setdefault(field, []).append(str(exc))
            continue
        if value not in result:
            result.append(value)
    return result


def _check_identities_free(kind: str, values: list[str], field: str, errors: dict, *, except_person=None) -> None:
    if not values:
        return
    taken = Identity.objects.filter(kind=kind, value__in=values).select_related("person")
    if except_person is not None:
        taken = taken.exclude(person=except_person)
    for identity in taken:
        errors.setdefault(field, []).append(
            _("%(value)s already belongs to %(name)s (customer #%(id)d).")
            % {"value": identity.value, "name": identity.person.name, "id": identity.person_id}
        )


def _id_number_fields(raw: str, errors: dict, *, except_person=None) -> dict:
    if not raw:
        return {"id_number": "", "id_number_digest": None}
    try:
        number = identifiers.normalize_id_number(raw)
    except ValueError as exc:
        errors.setdefault("id_number", []).append(str(exc))
        return {}
    digest = blind_index(number, "id_number")
    existing = Person.objects.filter(id_number_digest=digest)
    if except_person is not None:
        existing = existing.exclude(pk=except_person.pk)
    other = existing.first()
    if other:
        errors.setdefault("id_number", []).append(
            _("This ID number already belongs to %(name)s (customer #%(id)d).") % {"name": other.name, "id": other.id}
        )
    return {"id_number": number, "id_number_digest": digest}


def _timeline(*, person=None, company=None, kind: str, summary: str, actor=None, ref=None) -> None:
    """One line on the timeline; in a worker's batch, written with the batch's others (contact_center.deferred)."""
    entry = TimelineEntry(
        person=person,
        company=company,
        kind=kind,
        summary=summary[:300],
        actor=actor,
        ref_type=ref._meta.label_lower if ref is not None else "",
        ref_id=ref.pk if ref is not None else None,
    )
    insert_or_defer([entry])


def _display(value) -> str:
    return "" if value is None else str(value)


def _record_changes(obj, changes: dict, by: User | None) -> list[ChangeRecord]:
    content_type = ContentType.objects.get_for_model(obj)
    records = [
        ChangeRecord(
            content_type=content_type,
            object_id=obj.pk,
            field=field,
            old_value=_display(old),
            new_value=_display(new),
            changed_by=by,
        )
        for field, (old, new) in changes.items()
    ]
    return ChangeRecord.objects.bulk_create(records)


def _set_tags(record, tags: Iterable[str] | None, changes: dict) -> None:
    """Replace a customer's or company's tags; a real change goes into `changes`."""
    if tags is None:
        return
    old = sorted(t.name for t in record.tags.all())
    new_tags = tags_get_or_create(tags)
    new = sorted(t.name for t in new_tags)
    if new != old:
        record.tags.set(new_tags)
        changes["tags"] = (", ".join(old), ", ".join(new))


def _keep_history(record, changes: dict, by: User | None, *, kind: str, **whose) -> None:
    """Each changed field into the change history, one line on the timeline."""
    if not changes:
        return
    _record_changes(record, changes, by)
    _timeline(
        kind=kind,
        summary=_("Changed: %(fields)s") % {"fields": ", ".join(sorted(changes))},
        actor=by,
        ref=record,
        **whose,
    )


def tags_get_or_create(names: Iterable[str]) -> list[Tag]:
    tags = []
    for name in names or []:
        name = str(name).strip()[:50]
        if name:
            tags.append(Tag.objects.get_or_create(name=name)[0])
    return tags


def person_create(
    *,
    by: User | None,
    name: str,
    emails: Iterable[str] = (),
    phones: Iterable[str] = (),
    id_number: str = "",
    address: str = "",
    language: str = "",
    owner: User | None = None,
    source: str = "manual",
    lifecycle_stage: str = "potential",
    service_level: str = "standard",
    tags: Iterable[str] = (),
    company: Company | None = None,
    title: str = "",
    addresses_looked_up: bool = False,
    savepoint: bool = True,
) -> Person:
    """Create a customer with their identities. All checked first; nothing half-saved: the writes are
    one transaction (one savepoint inside the caller's, not two: the channels create many customers).
    `addresses_looked_up`: the caller has just looked the emails and phones up and found no owner (a
    channel's first contact), so they are not looked up again; the unique constraint still refuses one
    taken meanwhile, and the error then names its owner. `savepoint=False`: the caller holds a savepoint
    for this write and handles that IntegrityError itself (a mail poller's batch: one savepoint a message)."""
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = [_("A customer needs a name.")]
    clean_emails = _normalize_all(emails, identifiers.normalize_email, "emails", errors)
    clean_phones = _normalize_all(phones, identifiers.normalize_phone, "phones", errors)
    if not addresses_looked_up:
        _check_identities_free(IdentityKind.EMAIL, clean_emails, "emails", errors)
        _check_identities_free(IdentityKind.PHONE, clean_phones, "phones", errors)
    id_fields = _id_number_fields(id_number, errors)
    if errors:
        raise ValidationError(errors)

    person = Person(
        name=name,
        address=address,
        language=language,
        owner=owner,
        source=source,
        lifecycle_stage=lifecycle_stage,
        service_level=service_level,
        **id_fields,
    )
    person.full_clean(exclude=["id_number_digest"])
    try:
        with transaction.atomic(savepoint=savepoint):
            person.save()
            identities = Identity.objects.bulk_create(
                [Identity(person=person, kind=IdentityKind.EMAIL, value=v) for v in clean_emails]
                + [Identity(person=person, kind=IdentityKind.PHONE, value=v) for v in clean_phones]
            )
            if tags:
                person.tags.set(tags_get_or_create(tags))
            links = []
            if company is not None:
                links.append(PersonCompany.objects.create(person=person, company=company, title=title))
            _related_known(person, identities=identities, company_links=links)
            _timeline(
                person=person,
                company=company,
                kind="customer_created",
                summary=_("Customer created"),
                actor=by,
                ref=person,
            )
    except IntegrityError:
        if not savepoint:
            raise
        # Lost a race with a concurrent insert of the same identity: report it like the check above.
        errors = {}
        _check_identities_free(IdentityKind.EMAIL, clean_emails, "emails", errors)
        _check_identities_free(IdentityKind.PHONE, clean_phones, "phones", errors)
        raise ValidationError(errors or {"emails": [_("This address is already taken.")]}) from None
    return person


@dataclass(frozen=True)
class FirstContact:
    """A new sender to create a customer for: what `person_create` gets from a channel's first contact."""

    name: str
    email: str  # normalized, looked up just now and found unowned
    language: str = ""
    source: str = "email"


def persons_create_first_contacts(contacts: list[FirstContact]) -> dict[str, Identity]:
    """`person_create` (one email each) then `person_link_company` to their domain's company, for the new senders
    of a worker's batch (the mail poller's) in a few statements instead of a few each: address → the new identity,
    its person with their identities and company links in memory. The caller has looked the addresses up and found
    no owner; one taken meanwhile fails the whole call with an IntegrityError, in one savepoint: nothing is kept.
    A contact whose person would not validate is left out (the caller creates it the usual way and meets the error)."""
    persons, emails = [], []
    for contact in contacts:
        person = Person(name=contact.name.strip(), language=contact.language, source=contact.source)
        person.id_number, person.id_number_digest = "", None
        try:
            person.full_clean(exclude=["id_number_digest"])
        except ValidationError:
            continue
        persons.append(person)
        emails.append(contact.email)
    if not persons:
        return {}
    with transaction.atomic():
        Person.objects.bulk_create(persons)
        identities = Identity.objects.bulk_create(
            [Identity(person=p, kind=IdentityKind.EMAIL, value=v) for p, v in zip(persons, emails, strict=True)]
        )
        companies = [company_for_email_domain(value) for value in emails]
        links = PersonCompany.objects.bulk_create(
            [PersonCompany(person=p, company=c) for p, c in zip(persons, companies, strict=True) if c is not None]
        )
        if links:
            content_type = ContentType.objects.get_for_model(Person)
            ChangeRecord.objects.bulk_create(
                [
                    ChangeRecord(
                        content_type=content_type,
                        object_id=link.person_id,
                        field="company",
                        old_value="",
                        new_value=link.company.name,
                        changed_by=None,
                    )
                    for link in links
                ]
            )
        for link in links:
            post_save.send(
                sender=PersonCompany, instance=link, created=True, update_fields=None, raw=False, using="default"
            )
        linked = {link.person_id: link for link in links}
        for person, identity in zip(persons, identities, strict=True):
            link = linked.get(person.pk)
            _related_known(person, identities=[identity], company_links=[link] if link else [])
            # What person.save() would have sent (the search index queues the new customer).
            post_save.send(sender=Person, instance=person, created=True, update_fields=None, raw=False, using="default")
            _timeline(person=person, kind="customer_created", summary=_("Customer created"), ref=person)
    return {identity.value: identity for identity in identities}


def _related_known(person: Person, **related: list) -> None:
    """`person.<name>.all()` answered from memory, as prefetch_related would fill it, for a person created
    just now: the channel that created them (ticketing.inbound) reads their identity and company link next."""
    cache = getattr(person, "_prefetched_objects_cache", None)
    if cache is None:
        cache = person._prefetched_objects_cache = {}
    for name, objects in related.items():
        queryset = getattr(person, name).all()
        queryset._result_cache, queryset._prefetch_done = list(objects), True
        cache[name] = queryset


@transaction.atomic
def person_update(*, person: Person, by: User | None, **fields) -> Person:
    """Change fields of a customer; each change is kept in its history."""
    unknown = set(fields) - PERSON_FIELDS - {"id_number", "tags"}
    if unknown:
        raise ValidationError({field: [_("This field cannot be changed here.")] for field in sorted(unknown)})
    errors: dict[str, list[str]] = {}
    changes: dict[str, tuple] = {}
    if "name" in fields and not str(fields["name"] or "").strip():
        errors["name"] = [_("A customer needs a name.")]
    if "id_number" in fields:
        id_fields = _id_number_fields(fields.pop("id_number") or "", errors, except_person=person)
        if id_fields and id_fields["id_number_digest"] != person.id_number_digest:
            # The history never holds the clear number.
            changes["id_number"] = (
                identifiers.mask_id_number(person.id_number),
                identifiers.mask_id_number(id_fields["id_number"]),
            )
            person.id_number = id_fields["id_number"]
            person.id_number_digest = id_fields["id_number_digest"]
    if errors:
        raise ValidationError(errors)
    tags = fields.pop("tags", None)
    for field, value in fields.items():
        old = getattr(person, field)
        if old != value:
            changes[field] = (old, value)
            setattr(person, field, value)
    person.full_clean(exclude=["id_number_digest"])
    person.save()
    _set_tags(person, tags, changes)
    _keep_history(person, changes, by, kind="customer_changed", person=person)
    return person


@transaction.atomic
def identity_add(*, person: Person, kind: str, value: str, by: User | None = None) -> Identity:
    normalize = {
        IdentityKind.EMAIL: identifiers.normalize_email,
        IdentityKind.PHONE: identifiers.normalize_phone,
        IdentityKind.CHAT: lambda v: v.strip(),
    }.get(kind)
    if normalize is None:
        raise ValidationError({"kind": [_("Unknown identity kind.")]})
    try:
        clean = normalize(value)
    except ValueError as exc:
        raise ValidationError({"value": [str(exc)]}) from None
    errors: dict = {}
    _check_identities_free(kind, [clean], "value", errors, except_person=person)
    if errors:
        raise ValidationError(errors)
    identity, created = Identity.objects.get_or_create(kind=kind, value=clean, defaults={"person": person})
    if created:
        _record_changes(person, {f"identity:{kind}": ("", clean)}, by)
    return identity


def person_reveal_id_number(*, person: Person, by: User, ip: str | None = None) -> str:
    """The clear ID number, for users allowed to see it; every reveal is audited."""
    if not by.has_perm("crm.reveal_id_number"):
        raise PermissionDenied(_("You may not reveal ID numbers."))
    audit_record(
        actor=by,
        action=AuditAction.SENSITIVE_VIEW,
        target=person,
        detail={"field": "id_number"},
        ip=ip,
    )
    return person.id_number


def id_number_for_display(*, person: Person, user: User) -> str:
    """Masked for everyone by default; the clear value only through a reveal."""
    return identifiers.mask_id_number(person.id_number)


@transaction.atomic
def customer_share(*, person: Person, user: User, by: User) -> CustomerShare:
    share, _created = CustomerShare.objects.get_or_create(person=person, user=user, defaults={"shared_by": by})
    _record_changes(person, {"shared_with": ("", user.username)}, by)
    return share


def _company_clean(fields: dict, errors: dict, *, except_company=None) -> dict:
    clean = dict(fields)
    if "name" in clean:
        clean["name"] = str(clean["name"] or "").strip()
        if not clean["name"]:
            errors["name"] = [_("A company needs a name.")]
    if clean.get("credit_code"):
        try:
            clean["credit_code"] = identifiers.normalize_uscc(clean["credit_code"])
        except ValueError as exc:
            errors["credit_code"] = [str(exc)]
        else:
            others = Company.objects.filter(credit_code=clean["credit_code"])
            if except_company is not None:
                others = others.exclude(pk=except_company.pk)
            other = others.first()
            if other:
                errors["credit_code"] = [
                    _("This code already belongs to %(name)s (company #%(id)d).") % {"name": other.name, "id": other.id}
                ]
    elif "credit_code" in clean:
        clean["credit_code"] = None
    if clean.get("email_domain"):
        clean["email_domain"] = clean["email_domain"].strip().lower().lstrip("@")
    return clean


@transaction.atomic
def company_create(*, by: User | None, name: str, tags: Iterable[str] = (), **fields) -> Company:
    unknown = set(fields) - COMPANY_FIELDS
    if unknown:
        raise ValidationError({field: [_("Unknown field.")] for field in sorted(unknown)})
    errors: dict = {}
    clean = _company_clean({"name": name, **fields}, errors)
    if errors:
        raise ValidationError(errors)
    company = Company(**clean)
    company.full_clean()
    company.save()
    if tags:
        company.tags.set(tags_get_or_create(tags))
    _timeline(company=company, kind="company_created", summary=_("Company created"), actor=by, ref=company)
    return company


@transaction.atomic
def company_update(*, company: Company, by: User | None, **fields) -> Company:
    unknown = set(fields) - COMPANY_FIELDS - {"tags"}
    if unknown:
        raise ValidationError({field: [_("This field cannot be changed here.")] for field in sorted(unknown)})
    tags = fields.pop("tags", None)
    errors: dict = {}
    clean = _company_clean(fields, errors, except_company=company)
    if errors:
        raise ValidationError(errors)
    changes = {}
    for field, value in clean.items():
        old = getattr(company, field)
        if old != value:
            changes[field] = (old, value)
            setattr(company, field, value)
    company.full_clean()
    company.save()
    _set_tags(company, tags, changes)
    _keep_history(company, changes, by, kind="company_changed", company=company)
    return company


@transaction.atomic
def person_link_company(*, person: Person, company: Company, title: str = "", by: User | None = None) -> PersonCompany:
    link, created = PersonCompany.objects.get_or_create(person=person, company=company, defaults={"title": title})
    if created:
        _record_changes(person, {"company": ("", company.name)}, by)
        known = getattr(person, "_prefetched_objects_cache", {}).get("company_links")
        if known is not None:  # answered from memory since person_create: keep it true
            known._result_cache.append(link)
    return link


def timeline_add(*, person=None, company=None, kind: str, summary: str, actor=None, ref=None) -> None:
    """For other apps (tickets, channels) to put their events on a customer's timeline."""
    _timeline(person=person, company=company, kind=kind, summary=summary, actor=actor, ref=ref)
