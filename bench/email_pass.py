"""One database pass of the email benchmark (bench/email.py): runs inside the
database's environment, prints JSON."""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time


def _drain_search_queue() -> float | None:
    """Seconds the worker's search-index duty takes for what ingestion queued (None: indexing is inline)."""
    try:
        from knowledge_base.indexing import index_pending
    except ImportError:
        return None
    started = time.monotonic()
    while index_pending():
        pass
    return time.monotonic() - started


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # ended children: a poll's parser ends with it
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--imap-port", type=int, required=True)
    parser.add_argument("--imap-user", required=True)
    parser.add_argument("--imap-password", required=True)
    parser.add_argument("--smtp-port", type=int, required=True)
    parser.add_argument("--replies", type=int, default=1000)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contact_center.settings")
    import django

    django.setup()
    from accounts.models import User
    from channels_app.email.inbound import mailbox_poll
    from channels_app.email.outbound import outbox_send_due
    from channels_app.models import Mailbox, OutboundEmail, OutboxStatus
    from ticketing.models import Ticket
    from ticketing.services import ticket_reply

    mailbox = Mailbox.objects.create(
        name="Bench",
        imap_host="127.0.0.1",
        imap_port=args.imap_port,
        imap_security="none",
        imap_user=args.imap_user,
        imap_password=args.imap_password,
        smtp_host="127.0.0.1",
        smtp_port=args.smtp_port,
        smtp_security="none",
        from_address="support@shop.example",
    )
    profile_path = os.environ.get("BENCH_EMAIL_PROFILE")  # cProfile of the inbound part, written there
    profiler = None
    if profile_path:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    rounds, stored = [], 0
    started, cpu_started, children_started = time.monotonic(), time.process_time(), _children_cpu()
    while True:
        mailbox.refresh_from_db()
        round_started = time.monotonic()
        result = mailbox_poll(mailbox=mailbox, limit=1000)
        if result.fetched == 0:
            break
        rounds.append(result.stored / (time.monotonic() - round_started))
        stored += result.stored
    in_seconds = time.monotonic() - started
    in_cpu_seconds, in_parser_cpu_seconds = time.process_time() - cpu_started, _children_cpu() - children_started
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile_path)
    index_seconds = _drain_search_queue()

    agent = User.objects.create_user("bench-agent")  # no password: never signs in
    tickets = list(Ticket.objects.order_by("pk")[: args.replies])
    for ticket in tickets:
        ticket_reply(ticket=ticket, by=agent, body_text="您好，已为您处理。Thanks, we are on it.")
    out_rounds, sent = [], 0
    started = time.monotonic()
    while True:
        round_started = time.monotonic()
        processed = outbox_send_due(limit=100)
        if processed == 0:
            break
        out_rounds.append(processed / (time.monotonic() - round_started))
        sent = OutboundEmail.objects.filter(status=OutboxStatus.SENT).count()
    out_seconds = time.monotonic() - started
    print(
        json.dumps(
            {
                "stored": stored,
                "in_seconds": in_seconds,
                "in_total_per_s": stored / in_seconds if in_seconds else 0,
                "in_rounds_per_s": rounds,
                "in_cpu_seconds": in_cpu_seconds,  # the poller's process
                "in_parser_cpu_seconds": in_parser_cpu_seconds,  # its parser processes (parse_child.py)
                "index_seconds": index_seconds,
                "tickets": Ticket.objects.count(),
                "sent": sent,
                "out_seconds": out_seconds,
                "out_total_per_s": sent / out_seconds if out_seconds else 0,
                "out_rounds_per_s": out_rounds,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
