"""What each record looks like to the search index: one flat document per article, ticket, customer."""

import re

from crm.models import IdentityKind, Person
from knowledge_base import text
from knowledge_base.models import Article, DocKind, Status, Visibility
from ticketing.models import Ticket

TICKET_TEXT_LIMIT = 20_000


def article_document(article: Article) -> dict:
    published = article.status == Status.PUBLISHED
    tags = " ".join(article.tags.values_list("name", flat=True))
    # the body's light markup ("## ", "- ") is not worth showing in snippets
    body = re.sub(r"(?m)^\s*(## |- |\* )", "", "\n".join(part for part in (article.summary, article.body) if part))
    return {
        "kind": DocKind.ARTICLE,
        "object_id": article.pk,
        "language": article.language,
        "public": published and article.visibility == Visibility.PUBLIC,
        "staff": published,
        "title": article.title,
        "body": body,
        "url": article.get_absolute_url(),
        "title_tokens": text.joined(f"{article.title} {tags}"),
        "body_tokens": text.joined(body),
    }


def ticket_document(ticket: Ticket) -> dict:
    parts, size = [], 0
    for body in ticket.messages.order_by("created_at", "id").values_list("body_text", flat=True):
        if size > TICKET_TEXT_LIMIT:
            break
        parts.append(body)
        size += len(body)
    body = "\n".join(parts)[:TICKET_TEXT_LIMIT]
    return {
        "kind": DocKind.TICKET,
        "object_id": ticket.pk,
        "language": ticket.language or ("zh" if text.is_chinese(ticket.subject) else "en"),
        "public": False,
        "staff": False,
        "title": f"#{ticket.number} {ticket.subject}",
        "body": body,
        "url": f"/tickets/{ticket.number}/",
        "title_tokens": text.joined(f"{ticket.number} {ticket.subject}"),
        "body_tokens": text.joined(body),
    }


def customer_document(person: Person) -> dict:
    identities = list(person.identities.values_list("kind", "value"))
    companies = list(person.companies.values_list("name", flat=True))
    phones = [value for kind, value in identities if kind == IdentityKind.PHONE]
    emails = [value for kind, value in identities if kind == IdentityKind.EMAIL]
    phone_words = " ".join(token for phone in phones for token in text.phone_tokens(phone))
    email_words = " ".join(f"{e} {e.split('@')[0]} {e.split('@')[-1]}" for e in emails)
    body = " · ".join([*companies, *emails, *phones])
    return {
        "kind": DocKind.CUSTOMER,
        "object_id": person.pk,
        "language": person.language or "",
        "public": False,
        "staff": False,
        "title": person.name,
        "body": body,
        "url": f"/customers/{person.pk}/",
        "title_tokens": text.joined(person.name) + " " + " ".join(person.name.lower().split()),
        "body_tokens": " ".join([text.joined(" ".join(companies)), text.joined(email_words), phone_words]),
    }


def document_for(kind: str, object_id: int) -> dict | None:
    """The current document of a record, or None when it is gone (or should not be searchable)."""
    if kind == DocKind.ARTICLE:
        article = Article.objects.filter(pk=object_id).first()
        return article_document(article) if article else None
    if kind == DocKind.TICKET:
        ticket = Ticket.objects.filter(pk=object_id, merged_into__isnull=True).first()
        return ticket_document(ticket) if ticket else None
    if kind == DocKind.CUSTOMER:
        person = Person.objects.filter(pk=object_id).first()
        return customer_document(person) if person else None
    return None


def all_ids(kind: str):
    if kind == DocKind.ARTICLE:
        return Article.objects.order_by("pk").values_list("pk", flat=True)
    if kind == DocKind.TICKET:
        return Ticket.objects.filter(merged_into__isnull=True).order_by("pk").values_list("pk", flat=True)
    return Person.objects.order_by("pk").values_list("pk", flat=True)
