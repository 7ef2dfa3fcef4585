"""What the poller's batch looks up once for all its messages, and the raw emails it writes in one INSERT.

`batch_lookups` reads, in one query each, the identities of the batch's senders, the tickets its reply headers
point at (our inbound emails, then our outbound ones) and the tickets its subjects' `[#number]` name; each
message then asks `BatchLookups` instead of the database. Answers stay exact as the batch goes on: a sender
created by an earlier message of the batch is remembered when that message is stored, and a message whose
reply headers name an earlier message of the batch, or whose subject names a ticket not found at the start,
is looked up in the database as before (after the raw emails and ticket numbers written so far are flushed).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import IntegrityError
from django.db.models import Prefetch, prefetch_related_objects

from channels_app.email.parse import ParsedEmail
from channels_app.email.threads import subject_ticket_number, thread_candidates
from channels_app.models import OutboundEmail, RawEmail
from contact_center.deferred import commit_marker, live_markers
from crm.identifiers import normalize_email
from crm.models import Identity, IdentityKind, PersonCompany, Source
from crm.selectors import identities_find
from crm.services import FirstContact, persons_create_first_contacts
from ticketing.models import Ticket
from ticketing.services import ticket_numbers_flush

Thread = tuple[int, int | None]  # (ticket, the ticket it was merged into)


def sender_value(parsed: ParsedEmail) -> str | None:
    """The normalized address the ingest looks the sender up by (ticketing.inbound), or None."""
    try:
        return normalize_email(parsed.from_address or parsed.reply_to)
    except ValueError:
        return None


@dataclass
class BatchLookups:
    senders: dict[str, Identity]  # normalized address → identity (with its person)
    looked_up: set[str]  # addresses whose identity is known: in `senders`, else none exists
    inbound: dict[str, Thread]  # Message-ID of our inbound emails → thread
    outbound: dict[str, Thread]  # Message-ID of our outbound emails → thread
    numbers: dict[int, Thread]  # ticket number → thread
    # The tickets those threads name (not merged), locked in one statement; each handed out once, and none once a
    # message may have changed it another way (its in-memory row would be stale).
    tickets: dict[int, Ticket] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)  # Message-IDs of the batch's messages handled so far
    raws: list = field(default_factory=list)  # (commit marker, RawEmail) not inserted yet

    def sender(self, parsed: ParsedEmail) -> tuple[Identity | None, bool]:
        """(identity, looked up): the sender's identity, and whether its absence is known too."""
        value = sender_value(parsed)
        if value is None or value not in self.looked_up:
            return None, False
        return self.senders.get(value), True

    def thread(self, ticket_id: int | None) -> Ticket | None:
        """The hinted ticket, locked at the start of the batch, if no message has had it yet."""
        return self.tickets.pop(ticket_id, None) if ticket_id is not None else None

    def stored(self, parsed: ParsedEmail, identity: Identity | None, ticket_id: int | None = None) -> None:
        """The message was stored (its savepoint released), with this sender identity, on this ticket (None: stored
        some other way, perhaps on any ticket)."""
        self.seen.add(parsed.message_id)
        if ticket_id is None:
            self.tickets.clear()
        else:
            self.tickets.pop(ticket_id, None)
        value = sender_value(parsed)
        if value is None:
            return
        if identity is not None and identity.kind == IdentityKind.EMAIL and identity.value == value:
            self.senders[value] = identity
        else:  # stored some other way (a retry, the unreadable fallback): the database knows
            self.senders.pop(value, None)
            self.looked_up.discard(value)

    def thread_hint(self, parsed: ParsedEmail) -> int | None:
        """`email_thread_hint(parsed)`, from the batch's look-ups where they answer it."""
        from channels_app.email.inbound import _follow_merges, email_thread_hint

        candidates = thread_candidates(in_reply_to=parsed.in_reply_to, references=parsed.references)
        earlier = not self.seen.isdisjoint(candidates)
        self.seen.add(parsed.message_id)
        if earlier:  # a reply to a message of this batch: its raw email may not be written yet
            self.flush()
            return email_thread_hint(parsed)
        if candidates:
            found = {c: self.inbound[c] for c in candidates if c in self.inbound}
            if candidates[0] not in found:
                for candidate in candidates:
                    if candidate in self.outbound:
                        found.setdefault(candidate, self.outbound[candidate])
            for candidate in candidates:
                if candidate in found:
                    ticket_id, merged_into = found[candidate]
                    return ticket_id if merged_into is None else _follow_merges(merged_into)
        number = subject_ticket_number(parsed.subject)
        if number is None:
            return None
        if number in self.numbers:
            ticket_id, merged_into = self.numbers[number]
            return ticket_id if merged_into is None else _follow_merges(merged_into)
        self.flush()  # perhaps a ticket created earlier in this batch
        return email_thread_hint(parsed)

    def checkpoint(self) -> tuple:
        return dict(self.senders), set(self.looked_up), set(self.seen), len(self.raws)

    def rollback(self, checkpoint: tuple) -> None:
        """Back to the checkpoint, as the savepoint taken with it rolled back."""
        senders, looked_up, seen, raws = checkpoint
        self.senders, self.looked_up, self.seen = senders, looked_up, seen
        del self.raws[raws:]
        self.tickets.clear()  # changed in memory by the rolled-back work

    def raw_defer(self, raw: RawEmail) -> None:
        """Inserted with the batch's others (dropped if the message's savepoint rolls back)."""
        self.raws.append((commit_marker(), raw))

    def flush(self) -> None:
        """Write the raw emails and ticket numbers held so far, for a reader in the batch (and at its end)."""
        if self.raws:
            alive = live_markers()
            RawEmail.objects.bulk_create([raw for marker, raw in self.raws if id(marker) in alive])
            self.raws.clear()
        ticket_numbers_flush()


def _first_contacts(emails: list[ParsedEmail], known: set[str], stored: set[str]) -> list[FirstContact]:
    """The batch's new senders, as the first of their messages would create them (ticketing.inbound): not the
    senders of a bounce (which may create no customer), nor of a message stored already (whose sender exists)."""
    from channels_app.email.inbound import _language

    skip = known | {v for p in emails if p.bounce for v in [sender_value(p)] if v is not None}
    contacts: dict[str, FirstContact] = {}
    for parsed in emails:
        value = sender_value(parsed)
        if value is None or value in skip or value in contacts or parsed.external_id in stored:
            continue
        address = parsed.from_address or parsed.reply_to
        name = parsed.from_name.strip() or address.strip() or "(unknown sender)"
        contacts[value] = FirstContact(name=name[:100], email=value, language=_language(parsed), source=Source.EMAIL)
    return list(contacts.values())


def batch_lookups(parsed: list[ParsedEmail | None], *, stored: set[str]) -> BatchLookups:
    """One query each for the batch's senders, reply-header threads and subject ticket numbers; the new senders'
    customers created together. `stored`: the batch's external ids found stored already."""
    emails = [p for p in parsed if p is not None]
    values = {v for v in map(sender_value, emails) if v is not None}
    senders = identities_find(kind=IdentityKind.EMAIL, values=values) if values else {}
    contacts = _first_contacts(emails, set(senders), stored)
    candidates = {c for p in emails for c in thread_candidates(in_reply_to=p.in_reply_to, references=p.references)}
    inbound: dict[str, Thread] = {}
    if candidates:
        inbound = {
            email_id: (ticket_id, merged_into)
            for email_id, ticket_id, merged_into in RawEmail.objects.filter(email_id__in=candidates).values_list(
                "email_id", "message__ticket_id", "message__ticket__merged_into_id"
            )
        }
    outbound: dict[str, Thread] = {}
    missing = candidates - inbound.keys()
    if missing:
        for email_id, ticket_id, merged_into in OutboundEmail.objects.filter(
            email_id__in=candidates, ticket__isnull=False
        ).values_list("email_id", "ticket_id", "ticket__merged_into_id"):
            outbound.setdefault(email_id, (ticket_id, merged_into))
    numbers = {n for n in (subject_ticket_number(p.subject) for p in emails) if n is not None}
    by_number: dict[int, Thread] = {}
    if numbers:
        by_number = {
            number: (pk, merged_into)
            for number, pk, merged_into in Ticket.objects.filter(number__in=numbers).values_list(
                "number", "pk", "merged_into_id"
            )
        }
    if senders:  # the known customers' companies, for their new tickets (ticketing.services._primary_company)
        prefetch_related_objects(
            [identity.person for identity in senders.values()],
            Prefetch("company_links", queryset=PersonCompany.objects.select_related("company").order_by("pk")),
        )
    if contacts:
        try:
            senders.update(persons_create_first_contacts(contacts))
        except IntegrityError:  # one was created meanwhile by another process: each looked up again, as it comes
            values -= {c.email for c in contacts}
    threads = {t for t, merged_into in [*inbound.values(), *outbound.values(), *by_number.values()] if not merged_into}
    return BatchLookups(
        senders=senders,
        looked_up=values,
        inbound=inbound,
        outbound=outbound,
        numbers=by_number,
        # In ascending ids, as the chat's group commit locks its batch's tickets.
        tickets={t.pk: t for t in Ticket.objects.select_for_update().filter(pk__in=threads).order_by("pk")}
        if threads
        else {},
    )
