"""Pure threading rules: subject prefixes, ticket references, reply chains."""

import pytest

from channels_app.email.threads import (
    references_for_reply,
    subject_strip_prefixes,
    subject_ticket_number,
    subject_with_reference,
    thread_candidates,
)


@pytest.mark.parametrize(
    "subject, expected",
    [
        ("Re: 订单", "订单"),
        ("RE: RE: Fwd: FW: 订单", "订单"),
        ("回复：订单", "订单"),
        ("回复: 答复：转发: 回覆：订单", "订单"),
        ("答覆: 轉寄: 订单", "订单"),
        ("Re[2]: hello", "hello"),
        ("AW: SV: TR: WG: hello", "hello"),
        ("re:hello", "hello"),
        ("Reply needed", "Reply needed"),
        ("Resume: 简历", "Resume: 简历"),
        ("回复您的问题", "回复您的问题"),
        ("  ", ""),
        ("", ""),
        ("Re: [#10001] 订单", "[#10001] 订单"),
    ],
)
def test_subject_strip_prefixes(subject, expected):
    assert subject_strip_prefixes(subject) == expected


@pytest.mark.parametrize(
    "subject, number",
    [
        ("[#10234] 订单", 10234),
        ("Re: 回复：[#10234] 订单", 10234),
        ("FW: Re: [ # 10001 ] x", 10001),
        ("#10234 without brackets", None),
        ("[10234]", None),
        ("", None),
        ("[#1] a [#2] b", 1),
    ],
)
def test_subject_ticket_number(subject, number):
    assert subject_ticket_number(subject) == number


def test_subject_with_reference_is_not_doubled():
    assert subject_with_reference("订单", 10001) == "Re: [#10001] 订单"
    assert subject_with_reference("回复：Re: [#10001] 订单", 10001) == "Re: [#10001] 订单"
    assert subject_with_reference("", 7) == "Re: [#7]"


def test_thread_candidates_order_and_dedup():
    assert thread_candidates(in_reply_to=["<c>"], references=["<a>", "<b>", "<c>"]) == ["<c>", "<b>", "<a>"]
    assert thread_candidates(in_reply_to=[], references=[]) == []


def test_references_for_reply():
    assert references_for_reply(parent_message_id="<p>", parent_references=["<a>", "<b>"]) == ["<a>", "<b>", "<p>"]
    assert references_for_reply(parent_message_id="", parent_references=[]) == []
    long = [f"<{n}>" for n in range(50)]
    chain = references_for_reply(parent_message_id="<p>", parent_references=long, limit=5)
    assert chain == ["<0>", "<47>", "<48>", "<49>", "<p>"]
