"""Reads of CRM records, always through record scope."""

import contextvars
import re
from contextlib import contextmanager

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from accounts.scope import Grant, visible
from contact_center.scoped import scoped_value
from crm.models import ChangeRecord, Company, CustomerShare, Identity, Person, PersonCompany, TimelineEntry


def persons_in_scope(grant: Grant, queryset: QuerySet) -> QuerySet:
    """Own (by data scope) or shared customers, plus the customers on tickets the
    user works: assigned to them or in their teams' queues."""
    ticket_model = apps.get_model("ticketing", "Ticket")
    # EXISTS, probed per customer through the ticket's customer index: a page of the
    # newest customers stops after a few probes instead of collecting every worked ticket.
    worked = ticket_model.objects.filter(customer_id=OuterRef("pk")).filter(
        Q(assignee_id=grant.user_id) | Q(team_id__in=grant.team_ids)
    )
    shared = CustomerShare.objects.filter(user_id=grant.user_id)
    return queryset.filter(Q(owner_id__in=grant.user_ids) | Q(pk__in=shared.values("person_id")) | Exists(worked))


def companies_in_scope(grant: Grant, queryset: QuerySet) -> QuerySet:
    people = persons_in_scope(grant, Person.objects.all())
    linked = PersonCompany.objects.filter(person__in=people).values("company_id")
    return queryset.filter(Q(owner_id__in=grant.user_ids) | Q(pk__in=linked))


def person_with_details(queryset: QuerySet) -> QuerySet:
    return queryset.select_related("owner").prefetch_related(
        Prefetch("identities", queryset=Identity.objects.order_by("kind", "id")),
        "tags",
        Prefetch("company_links", queryset=PersonCompany.objects.select_related("company")),
    )


def identity_find(*, kind: str, value: str) -> Identity | None:
    return Identity.objects.select_related("person").filter(kind=kind, value=value).first()


def identities_find(*, kind: str, values) -> dict[str, Identity]:
    """`identity_find` for many values in one query: value → identity with its person, for those that exist."""
    found = Identity.objects.select_related("person").filter(kind=kind, value__in=set(values))
    return {identity.value: identity for identity in found}


_domains_memo = contextvars.ContextVar("crm_company_domains", default=None)


@contextmanager
def company_domains_batched():
    """Each email domain's company is looked up once in the block (a mail poller's batch: most senders
    share a few domains) instead of for every new customer."""
    with scoped_value(_domains_memo, dict):
        yield


def company_for_email_domain(address: str) -> Company | None:
    domain = address.rpartition("@")[2].lower()
    if not domain:
        return None
    memo = _domains_memo.get()
    if memo is not None and domain in memo:
        return memo[domain]
    company = Company.objects.filter(email_domain=domain).order_by("id").first()
    if memo is not None:
        memo[domain] = company
    return company


def company_search(queryset: QuerySet, text: str) -> QuerySet:
    text = (text or "").strip()
    if not text:
        return queryset
    match = (
        Q(name__icontains=text)
        | Q(credit_code__iexact=text)
        | Q(email_domain__icontains=text)
        | Q(industry__icontains=text)
    )
    return queryset.filter(match)


def change_history(record) -> QuerySet:
    """Field changes of a person or company, newest first."""
    return ChangeRecord.objects.filter(
        content_type=ContentType.objects.get_for_model(record), object_id=record.pk
    ).select_related("changed_by")


def timeline_for(*, user, person=None, company=None) -> QuerySet:
    """A customer's or company's timeline, without entries about tickets `user` may not see."""
    entries = TimelineEntry.objects.select_related("actor")
    entries = entries.filter(person=person) if person is not None else entries.filter(company=company)
    seen_tickets = visible(user, "ticketing.Ticket").values("pk")
    return entries.exclude(Q(ref_type="ticketing.ticket") & ~Q(ref_id__in=seen_tickets))


_PHONE_PUNCTUATION = re.compile(r"[\s\-().+]")


def persons_matching(queryset: QuerySet, text: str) -> QuerySet:
    """Customers whose name, email or phone contains `text`. A phone typed with
    spaces, dashes or a country prefix ("138-0013", "+86 138 0013 8000") still
    matches the stored E.164 form."""
    text = (text or "").strip()[:100]
    if not text:
        return queryset
    identity_match = Q(value__icontains=text)
    digits = _PHONE_PUNCTUATION.sub("", text)
    if len(digits) >= 3 and digits.isascii() and digits.isdigit():
        identity_match |= Q(kind="phone", value__contains=digits)
    people = Identity.objects.filter(identity_match).values("person_id")
    return queryset.filter(Q(name__icontains=text) | Q(pk__in=people))
