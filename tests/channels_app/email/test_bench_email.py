"""bench.email's corpus and report on tiny data, so the harness cannot rot between full runs
(the figures come from `make bench`; django-helpdesk is never needed here)."""

import random

from bench import email as bench
from channels_app.email.parse import parse_email


def test_the_generated_mail_reads_back_as_chinese_and_english_with_replies_and_attachments():
    rng, earlier, parsed = random.Random(1), [], []
    for n in range(40):
        raw, ref = bench._message(n, rng, earlier)
        earlier.append(ref)
        parsed.append(parse_email(raw))
    assert not any(p.flagged for p in parsed)
    # Every subject (RFC 2047 in GBK or plain, replies with 回复：/Re:) reads back as it was written.
    assert [p.subject for p in parsed] == [subject for _sender, subject, _id in earlier]
    assert sum(1 for p in parsed if "订单" in p.subject or "发票" in p.subject or "退款" in p.subject) >= 5
    assert "订单号 1" in parsed[1].text
    assert sum(1 for p in parsed if p.attachments) == 4  # one in ten
    assert any(p.in_reply_to for p in parsed)


def _pass(database, per_s):
    return {
        "database": database,
        "stored": 300,
        "in_rounds_per_s": [per_s],
        "in_total_per_s": per_s,
        "tickets": 240,
        "sent": 100,
        "out_rounds_per_s": [50.0],
        "out_total_per_s": 50.0,
        "index_seconds": 1.5,
    }


def test_the_report_gives_the_ratio_to_django_helpdesk_or_says_why_it_is_missing():
    passes = [_pass("sqlite", 120.0), _pass("postgresql", 60.0)]
    helpdesk = {"version": "2.6.1", "seconds": 5.0, "tickets": 240, "followups": 300, "sent": 300, "per_s": 60.0}
    body = bench.render(passes, {}, emails=300, replies=100, delivered=200, helpdesk=helpdesk)
    assert "| sqlite | 300 | 120 |" in body
    assert "**60 messages/s**; ours on SQLite is 2.0× its rate" in body
    assert "indexed what the pass queued in 1.5 s" in body
    assert "except the search indexing itself" in body

    missing = bench.render(passes, {}, emails=300, replies=100, delivered=200, helpdesk={"skipped": "no venv"})
    assert "was not measured: no venv" in missing
