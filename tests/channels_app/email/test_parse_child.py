"""The poller's parser process: it answers as the poller would parse, and when it dies, hangs or is killed
with its poller nothing is lost, doubled or left running."""

import functools
import os
import signal
import subprocess
import sys
import time
import zlib

import pytest

from channels_app.email import inbound
from channels_app.email.inbound import FETCH_BATCH, mailbox_poll
from channels_app.email.parse import parse_email
from channels_app.email.parse_child import CHILD_MAX_MESSAGE_BYTES, ParserChild
from channels_app.models import RawEmail
from tests.channels_app.email import parse_child_targets
from tests.channels_app.email.test_inbound import make_mailbox
from ticketing.models import Message


def numbered(n: int, *, body: bytes = b"") -> bytes:
    return (
        f"From: customer{n % 5}@example.cn\r\nTo: support@shop.example\r\nSubject: =?utf-8?B?5ZKo6K+i?= {n}\r\n"
        f"Message-ID: <child-{n}@example.cn>\r\nContent-Type: text/plain; charset=gb2312\r\n\r\n"
    ).encode() + (body or f"第 {n} 封邮件\r\n".encode("gbk"))


def test_the_child_answers_what_the_poller_would_parse_and_compress():
    raws = [numbered(n) for n in range(3)] + [b"not mail at all \xff"]
    child = ParserChild()
    try:
        child.submit(raws)
        answer = child.take(raws)
    finally:
        child.close()
    assert [parsed for parsed, _ in answer] == [parse_email(raw) for raw in raws]
    assert [zlib.decompress(packed) for _, packed in answer] == raws
    assert not child.broken


@pytest.mark.parametrize("target", [parse_child_targets.crash, parse_child_targets.hang])
def test_a_child_that_dies_or_hangs_is_replaced_by_parsing_in_the_poller(target):
    raws = [numbered(n) for n in range(3)]
    child = ParserChild(target=target, timeout=2)
    started = time.monotonic()
    child.submit(raws)
    answer = child.take(raws)
    assert time.monotonic() - started < 10
    assert [parsed for parsed, _ in answer] == [parse_email(raw) for raw in raws]
    assert child.broken and not child._process.is_alive()
    child.submit(raws)  # a broken child is not asked again
    assert [parsed for parsed, _ in child.take(raws)] == [parse_email(raw) for raw in raws]
    child.close()


def test_a_big_message_is_parsed_by_the_poller_not_sent_to_the_child():
    big = numbered(2, body=b"x" * (CHILD_MAX_MESSAGE_BYTES + 1))
    raws = [numbered(1), big]
    child = ParserChild(target=parse_child_targets.mark)
    try:
        child.submit(raws)
        answer = child.take(raws)
    finally:
        child.close()
    assert answer[0] == (None, b"from the child")
    assert answer[1][0] == parse_email(big) and zlib.decompress(answer[1][1]) == big


def test_the_child_ends_with_the_poller_even_when_the_poller_is_killed():
    script = (
        "import sys, time\n"
        "from channels_app.email.parse_child import ParserChild\n"
        "child = ParserChild()\n"
        "print(child._process.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    poller = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, cwd=os.getcwd())
    try:
        child_pid = int(poller.stdout.readline())
        poller.send_signal(signal.SIGKILL)
        poller.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _running(child_pid):
            time.sleep(0.05)
        assert not _running(child_pid)
    finally:
        if poller.poll() is None:
            poller.kill()


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("target", [parse_child_targets.crash_on_second_batch, parse_child_targets.hang])
def test_a_poll_whose_parser_process_fails_stores_every_message_once(imap, monkeypatch, target):
    count = FETCH_BATCH * 3 + 2
    imap.deliver(*(numbered(n) for n in range(count)))
    monkeypatch.setattr(inbound, "ParserChild", functools.partial(ParserChild, target=target, timeout=2))
    result = mailbox_poll(mailbox=make_mailbox(imap))
    assert (result.stored, result.failed) == (count, 0)
    assert sorted(Message.objects.values_list("external_id", flat=True)) == sorted(
        f"<child-{n}@example.cn>" for n in range(count)
    )
    assert RawEmail.objects.count() == count
    assert not Message.objects.filter(flagged=True).exists()


@pytest.mark.django_db(transaction=True)
def test_a_poll_of_several_batches_stores_what_the_child_parsed(imap, monkeypatch):
    count = FETCH_BATCH * 2 + 1
    imap.deliver(*(numbered(n) for n in range(count)))
    children = []

    def recorded(**kwargs):
        children.append(ParserChild(**kwargs))
        return children[-1]

    monkeypatch.setattr(inbound, "ParserChild", recorded)
    result = mailbox_poll(mailbox=make_mailbox(imap))
    assert (result.stored, result.failed) == (count, 0)
    assert len(children) == 1 and not children[0].broken and not children[0]._process.is_alive()
    raw_email = RawEmail.objects.get(email_id=f"<child-{count - 1}@example.cn>")
    assert raw_email.raw == numbered(count - 1)
    assert Message.objects.get(external_id=f"<child-{count - 1}@example.cn>").body_text.startswith("第")
