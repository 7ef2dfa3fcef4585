"""`make bench` (email part): ingestion from a real Dovecot mailbox and delivery to aiosmtpd.

A Dovecot IMAP server and an aiosmtpd SMTP server are started on loopback
(tests/mailservers.py), the mailbox is filled with BENCH_EMAILS messages (default
5,000: Chinese in GBK and UTF-8, English, HTML alternatives, replies that thread,
one in ten with a 30 KB attachment), and for each database (SQLite, PostgreSQL) a
fresh database is migrated and a child process (bench/email_pass.py) fetches and
stores them with the product's poller — `mailbox_poll` in rounds of 1,000 UIDs,
exactly what the worker runs — then replies to BENCH_EMAIL_REPLIES tickets and
delivers the outbox to aiosmtpd (`outbox_send_due`, rounds of 100).

Environment: BENCH_QUICK=1 (300 messages, 100 replies, writes nothing),
BENCH_EMAILS, BENCH_EMAIL_REPLIES, BENCH_DATABASES, BENCH_POSTGRES_URL, BENCH_WRITE,
BENCH_EMAIL_PROFILE (a path: cProfile of the inbound part of each pass, suffixed with the database),
BENCH_HELPDESK_PYTHON (the python of a venv with django-helpdesk: its `get_email` on the same mailbox, see
bench/helpdesk.py).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import statistics
import sys
import time
from email.header import Header
from email.message import EmailMessage
from email.mime.text import MIMEText
from email.utils import format_datetime

from bench import report, server
from tests.mailservers import dovecot_running, smtp_capture_running

ZH_SUBJECTS = [
    "订单 {n} 还没发货",
    "发票抬头需要修改 {n}",
    "退款什么时候到账？({n})",
    "账户无法登录 {n}",
    "合同续签咨询 {n}",
]
EN_SUBJECTS = ["Where is my order {n}?", "Invoice correction {n}", "Refund status ({n})", "Cannot sign in {n}"]
ZH_TEXT = "您好：\n我在贵公司购买的产品出现问题，订单号 {n}，请尽快处理。\n谢谢！\n张先生"
EN_TEXT = "Hello,\nI have a problem with order {n}. Could you please look into it?\nThanks,\nJohn"


def _message(n: int, rng: random.Random, earlier: list[tuple[str, str, str]]) -> tuple[bytes, tuple[str, str, str]]:
    sender = f"customer{rng.randrange(1, 1500)}@example.{'cn' if n % 2 else 'com'}"
    message_id = f"<bench-{n}@example.net>"
    reply_to = earlier[rng.randrange(len(earlier))] if earlier and rng.random() < 0.2 else None
    chinese = n % 5 < 3
    subject = (rng.choice(ZH_SUBJECTS) if chinese else rng.choice(EN_SUBJECTS)).format(n=n)
    text = (ZH_TEXT if chinese else EN_TEXT).format(n=n)
    if reply_to is not None:
        sender, subject = reply_to[0], ("回复：" if chinese else "Re: ") + reply_to[1]
    kind = n % 10
    if kind == 0:  # an attachment
        mime = EmailMessage()
        mime.set_content(text, charset="utf-8")
        mime.add_attachment(rng.randbytes(30_000), maintype="application", subtype="pdf", filename=f"发票-{n}.pdf")
    elif kind in (1, 2):  # HTML alternative
        mime = EmailMessage()
        mime.set_content(text, charset="utf-8")
        mime.add_alternative(f"<p>{text.replace(chr(10), '<br>')}</p><script>alert(1)</script>", subtype="html")
    elif chinese:  # the classic: GBK plain text
        mime = MIMEText(text, "plain", "gbk")
    else:
        mime = MIMEText(text, "plain", "us-ascii")
    mime["From"] = sender
    mime["To"] = "support@shop.example"
    mime["Subject"] = Header(subject, "gbk" if chinese else "us-ascii").encode() if kind > 2 else subject
    mime["Message-ID"] = message_id
    mime["Date"] = format_datetime(dt.datetime.now(dt.UTC))
    if reply_to is not None:
        mime["In-Reply-To"] = reply_to[2]
        mime["References"] = reply_to[2]
    return mime.as_bytes(), (sender, subject, message_id)


def fill(imap, count: int) -> float:
    rng = random.Random(5000)
    earlier: list[tuple[str, str, str]] = []
    client = imap.client()
    started = time.monotonic()
    try:
        for n in range(count):
            raw, ref = _message(n, rng, earlier)
            earlier.append(ref)
            client.append("INBOX", raw)
    finally:
        client.logout()
    return time.monotonic() - started


def say(message: str) -> None:
    print(message, flush=True)


def run() -> int:
    quick = os.environ.get("BENCH_QUICK", "") not in {"", "0", "false"}
    emails = int(os.environ.get("BENCH_EMAILS") or (300 if quick else 5000))
    replies = int(os.environ.get("BENCH_EMAIL_REPLIES") or (100 if quick else 1000))
    databases = [d.strip() for d in os.environ.get("BENCH_DATABASES", "sqlite,postgresql").split(",") if d.strip()]
    postgres_url = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/")
    write = os.environ.get("BENCH_WRITE", "0" if quick else "1") not in {"", "0", "false"}
    passes, skipped = [], {}
    with dovecot_running() as imap, smtp_capture_running() as smtp:
        say(f"email: filling the Dovecot mailbox with {emails:,} messages…")
        say(f"  appended in {fill(imap, emails):.1f} s")
        for kind in databases:
            if kind == "postgresql" and not server.postgres_reachable(postgres_url):
                skipped[kind] = f"no PostgreSQL at {postgres_url}"
                continue
            say(f"email: {kind}")
            with server.database(kind, postgres_url) as env:
                server.run_python(["manage.py", "migrate", "--no-input", "-v", "0"], env)
                if os.environ.get("BENCH_EMAIL_PROFILE"):
                    env["BENCH_EMAIL_PROFILE"] = f"{os.environ['BENCH_EMAIL_PROFILE']}.{kind}"
                args = ["-m", "bench.email_pass", "--imap-port", str(imap.port), "--imap-user", imap.user]
                args += ["--imap-password", imap.password, "--smtp-port", str(smtp.port), "--replies", str(replies)]
                result = json.loads(server.run_python(args, env, timeout=1800))
            result["database"] = kind
            passes.append(result)
            say(
                f"  in: {result['stored']:,} stored, {result['in_total_per_s']:.0f}/s overall, "
                f"median round {statistics.median(result['in_rounds_per_s']):.0f}/s; "
                f"out: {result['sent']:,} sent, {result['out_total_per_s']:.0f}/s"
            )
            if result.get("stored") and "in_cpu_seconds" in result:
                say(
                    f"  in: CPU a message {1000 * result['in_cpu_seconds'] / result['stored']:.2f} ms in the poller, "
                    f"{1000 * result['in_parser_cpu_seconds'] / result['stored']:.2f} ms in its parser process"
                )
        delivered = len(smtp.messages)
        helpdesk_result = _helpdesk(imap, emails)  # last: django-helpdesk deletes what it processed
    body = render(passes, skipped, emails=emails, replies=replies, delivered=delivered, helpdesk=helpdesk_result)
    print(body)
    if write:
        say(f"written to {report.write_section('email', body)}")
    return 0 if passes else 1


def _helpdesk(imap, emails: int) -> dict:
    """django-helpdesk's `get_email` over the same mailbox, when BENCH_HELPDESK_PYTHON points to its venv."""
    python = os.environ.get("BENCH_HELPDESK_PYTHON", "")
    if not python:
        return {"skipped": "BENCH_HELPDESK_PYTHON was not set"}
    from bench import helpdesk

    say("email: django-helpdesk get_email (SQLite)")
    try:
        result = helpdesk.measure(python, host=imap.host, port=imap.port, user=imap.user, password=imap.password)
    except Exception as exc:  # its setup is not ours: record why, keep our figures
        return {"skipped": f"it failed: {str(exc).strip().splitlines()[-1][:300]}"}
    result["per_s"] = result["followups"] / result["seconds"] if result["seconds"] else 0
    say(f"  {result['followups']:,} of {emails:,} stored in {result['seconds']:.1f} s, {result['per_s']:.0f}/s")
    return result


def _helpdesk_lines(helpdesk: dict, passes: list[dict], emails: int) -> list[str]:
    if "skipped" in helpdesk:
        return [
            f"django-helpdesk's `get_email` was not measured: {helpdesk['skipped']} (see bench/helpdesk.py for how "
            "to install it in a throwaway environment)."
        ]
    ours = next((p for p in passes if p["database"] == "sqlite"), None)
    ratio = f"; ours on SQLite is {ours['in_total_per_s'] / helpdesk['per_s']:.1f}× its rate" if ours else ""
    queued = any(p.get("index_seconds") is not None for p in passes)
    indexing = " except the search indexing itself, which the worker does afterwards (see above)" if queued else ""
    return [
        f"django-helpdesk {helpdesk['version']} on the same mailbox, in the same run, after our passes: its "
        "`get_email` (`process_email`, one queue on the Dovecot INBOX, a fresh SQLite database with the same "
        "pragmas as ours, the mail it sends kept in memory) stored "
        f"{helpdesk['followups']:,} of {emails:,} messages as {helpdesk['tickets']:,} tickets in "
        f"{helpdesk['seconds']:.1f} s: **{helpdesk['per_s']:.0f} messages/s**{ratio}. It fetches one message per "
        "round trip (RFC822) and marks each deleted; it has no customer records, routing, SLA timers, search "
        f"index or live updates to maintain, all of which our figures include{indexing}.",
    ]


def render(
    passes: list[dict], skipped: dict, *, emails: int, replies: int, delivered: int, helpdesk: dict | None = None
) -> str:
    rows = []
    for p in passes:
        rows.append(
            [
                p["database"],
                f"{p['stored']:,}",
                f"{statistics.median(p['in_rounds_per_s']):.0f}",
                f"{min(p['in_rounds_per_s']):.0f}–{max(p['in_rounds_per_s']):.0f}",
                f"{p['in_total_per_s']:.0f}",
                f"{p['tickets']:,}",
                f"{p['sent']:,}",
                f"{statistics.median(p['out_rounds_per_s']):.0f}",
                f"{p['out_total_per_s']:.0f}",
            ]
        )
    lines = [
        "## Email: IMAP ingestion from Dovecot and SMTP delivery to aiosmtpd",
        "",
        "Command: `make bench` (or `.venv/bin/python -m bench.email`).  ",
        f"Date: {report.now_line()}.  ",
        f"Machine: {report.machine_line(report.machine())}.",
        "",
        f"{emails:,} messages in one Dovecot INBOX on loopback (60 % Chinese — GBK plain text and UTF-8 —, 40 % "
        "English; one in ten with a 30 KB attachment, two in ten with an HTML alternative to sanitize, one in five "
        "a reply that threads into an earlier ticket). The product's poller (`mailbox_poll`, as the worker runs it) "
        "fetches them in rounds of 1,000 UIDs, 25 per IMAP FETCH (BODY.PEEK[]); each message is parsed, threaded, "
        "matched to a customer and stored with its compressed raw bytes in its own savepoint, and the batch commits "
        "together with the mailbox's last UID; the routing of each new ticket and the batch's live updates run "
        "after that commit and are counted. Then "
        f"{replies:,} agent replies are delivered by the outbox (`outbox_send_due`, rounds of 100) to aiosmtpd.",
        "",
        report.table(
            [
                "database",
                "stored",
                "in: median round msg/s",
                "in: rounds range",
                "in: overall msg/s",
                "tickets",
                "sent",
                "out: median round msg/s",
                "out: overall msg/s",
            ],
            rows,
        ),
        "",
        f"aiosmtpd received {delivered:,} messages over all passes.",
    ]
    for p in passes:
        if p.get("index_seconds") is not None:
            lines.append(
                f"Search indexing is the worker's duty (queued in the ingesting transaction): on {p['database']} it "
                f"indexed what the pass queued in {p['index_seconds']:.1f} s afterwards, not counted above."
            )
    for kind, why in skipped.items():
        lines.append(f"Skipped {kind}: {why}.")
    lines += ["", *_helpdesk_lines(helpdesk or {"skipped": "not run"}, passes, emails)]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(run())
