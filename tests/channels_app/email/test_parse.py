"""The parser against a corpus of realistic messages (tests/channels_app/email/corpus)."""

import base64
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels_app.email.parse import decode_bytes, decode_header_value, html_to_text, parse_email, strip_quoted

CORPUS = Path(__file__).parent / "corpus"


def parsed(name: str):
    return parse_email((CORPUS / f"{name}.eml").read_bytes())


class TestChineseCharset:
    def test_gb2312_body_and_rfc2047_headers(self):
        e = parsed("gb2312_plain")
        assert e.from_name == "张三"
        assert e.from_address == "zhangsan@example.cn"
        assert e.subject == "订单 1024 什么时候发货？"
        assert "订单 1024 还没有发货" in e.text
        assert e.message_id == e.external_id == "<20250106101500.1234@example.cn>"
        assert e.date.isoformat() == "2025-01-06T10:15:00+08:00"
        assert e.to == ["support@shop.example"]
        assert not e.flagged

    def test_gb2312_label_on_gbk_content_is_read_as_gb18030(self):
        e = parsed("misdeclared_gb2312_gbk")
        assert e.from_name == "王喆"
        assert e.subject == "咨询：王喆的刻章"
        assert "朱镕基的粉丝王喆" in e.text and "瑨字" in e.text
        assert "\ufffd" not in e.text
        assert not e.flagged

    def test_gb18030_four_byte_characters(self):
        e = parsed("gb18030_plain")
        assert e.subject == "𠮷野家的发票"
        assert "𠮷野家" in e.text and "¥1,280" in e.text

    def test_big5_traditional_8bit(self):
        e = parsed("big5_plain")
        assert e.from_name == "陳大文"
        assert e.subject == "退貨申請"
        assert "申請退貨" in e.text and "瑕疵" in e.text

    def test_undeclared_gbk_body_and_raw_8bit_gbk_subject(self):
        e = parsed("missing_headers")
        assert e.subject == "没有发件人"
        assert "正文是GBK编码" in e.text

    def test_ascii_label_on_utf8_and_raw_utf8_headers(self):
        e = parsed("utf8_8bit_headers")
        assert e.from_name == "周杰"
        assert e.subject == "发票抬头修改"
        assert "上海某某科技有限公司" in e.text
        assert not e.flagged


class TestInternational:
    def test_latin1_quoted_printable(self):
        e = parsed("latin1_plain")
        assert e.from_name == "Jürgen Müller"
        assert e.subject == "Grüße und eine Frage"
        assert "Grüße aus München" in e.text

    def test_multipart_alternative_keeps_text_and_raw_html(self):
        e = parsed("utf8_alternative")
        assert e.from_name == "Émilie Dupont"
        assert e.subject == "Commande cassée"
        assert e.text.startswith("Hello,\nMy order #5521 arrived broken. Café crème.")
        assert "<b>#5521</b>" in e.html
        assert e.cc == ["boss@example.fr"]
        assert e.attachments == []


class TestAttachment:
    def test_rfc2231_and_rfc2047_chinese_file_names(self):
        e = parsed("rfc2231_filename")
        names = [a.filename for a in e.attachments]
        assert names == ["销售合同（2025）.pdf", "报价单.xlsx", "清单.txt"]
        assert e.attachments[0].data.startswith(b"%PDF-1.4")
        assert e.attachments[2].data.decode("gbk") == "清单：一、二、三\n"
        assert e.text.strip() == "附件是合同和报价单。"

    def test_related_inline_cid_image(self):
        e = parsed("related_cid_image")
        assert 'src="cid:image001.png@01DB0000.12345678"' in e.html
        (image,) = e.attachments
        assert image.content_id == "image001.png@01DB0000.12345678"
        assert image.inline and image.content_type == "image/png"
        assert image.data.startswith(b"\x89PNG")
        assert "付款时报错" in e.text

    def test_message_that_is_only_an_attachment(self):
        e = parsed("only_attachment")
        assert e.text == "" and e.subject == ""
        (pdf,) = e.attachments
        assert pdf.filename == "扫描件.pdf"
        assert pdf.data == b"%PDF-1.7 scanned"
        assert not e.flagged


class TestReplyStripping:
    def test_outlook_chinese_header_block(self):
        e = parsed("outlook_reply_zh")
        assert e.reply_text == "好的，收到了，谢谢！\n\n张三"
        assert "已经发货，单号 SF123" in e.text  # the full text stays
        assert e.in_reply_to == ["<ticket-10001-reply-1@shop.example>"]
        assert e.references == ["<20250106101500.1234@example.cn>", "<ticket-10001-reply-1@shop.example>"]
        assert e.subject == "答复: [#10001] 订单 1024 什么时候发货？"

    def test_qq_mail_html_only_original_message_marker(self):
        e = parsed("qq_reply_html_only")
        assert e.from_name == "小王" and e.from_address == "12345678@qq.com"
        assert e.reply_text == "我还想再问一下发票的事。"
        assert "原始邮件" in e.text

    def test_gmail_english_on_wrote_over_two_lines(self):
        e = parsed("gmail_reply_en")
        assert e.reply_text == "Thanks, that works."

    def test_gmail_chinese_xie_dao(self):
        assert parsed("gmail_reply_zh").reply_text == "退款收到了。"

    @pytest.mark.parametrize(
        "text, expected",
        [
            ("好的\n\n在 2025年1月2日 星期四 10:00，张三 <a@b.cn> 写道：\n> 旧", "好的"),
            ("好的\n张三 <a@b.cn> 于2025年1月2日周四 10:00写道：\n> 旧", "好的"),
            ("OK\n-----Original Message-----\nFrom: x", "OK"),
            ("收到\n-----原始邮件-----\n发件人: x", "收到"),
            ("收到\n\n发件人: 客服\n发送时间: 2025-01-01\n主题: x\n旧", "收到"),
            ("Fine\n\nFrom: Support\nSent: Monday\nTo: me\nold", "Fine"),
            ("Fine\n________________________________\nFrom: x", "Fine"),
            ("Yes\nOn Mon, Jan 6, 2025 at 10:00 AM Bob <b@x.com> wrote:\n> q", "Yes"),
            ("Yes\n\n> quoted\n> more", "Yes"),
            ("From: the start is not a quote without a header block\nhello", None),
            ("> only quoted text", "> only quoted text"),
            ("", ""),
        ],
    )
    def test_markers(self, text, expected):
        assert strip_quoted(text) == (text.strip() if expected is None else expected)


class TestNoise:
    def test_auto_reply_with_auto_submitted(self):
        e = parsed("auto_reply_zh")
        assert e.auto_submitted and e.is_automatic
        assert not e.bounce and not e.mailing_list

    def test_out_of_office_subject_only(self):
        e = parsed("out_of_office_en")
        assert e.auto_submitted and e.is_automatic

    @pytest.mark.parametrize(
        "subject", ["自动回复：您好", "自動回覆: hi", "Out of Office: trip", "AutoReply", "休假通知"]
    )
    def test_out_of_office_subjects(self, subject):
        raw = f"From: a@b.cn\nSubject: {subject}\nMessage-ID: <x@b>\n\nhi\n".encode()
        assert parse_email(raw).auto_submitted

    @pytest.mark.parametrize(
        "header, attribute",
        [
            ("Precedence: bulk", "bulk"),
            ("Precedence: junk", "bulk"),
            ("Precedence: list", "mailing_list"),
            ("List-Id: <x.example.org>", "mailing_list"),
            ("Precedence: auto_reply", "auto_submitted"),
            ("X-Autorespond: yes", "auto_submitted"),
            ("Auto-Submitted: auto-generated", "auto_submitted"),
        ],
    )
    def test_markers(self, header, attribute):
        e = parse_email(f"From: a@b.cn\nSubject: hello\n{header}\n\nhi\n".encode())
        assert getattr(e, attribute) and e.is_automatic

    def test_auto_submitted_no_is_a_person(self):
        e = parse_email(b"From: a@b.cn\nSubject: hello\nAuto-Submitted: no\n\nhi\n")
        assert not e.is_automatic

    def test_mailing_list(self):
        e = parsed("mailing_list")
        assert e.mailing_list and e.is_automatic and not e.auto_submitted

    def test_bounce_dsn_names_our_message(self):
        e = parsed("bounce_dsn")
        assert e.bounce and e.is_automatic
        assert e.bounced_message_ids == ["<ticket-10001-reply-1@shop.example>"]
        assert "User unknown" in e.text

    def test_a_plain_message_is_not_automatic(self):
        e = parsed("gb2312_plain")
        assert not (e.auto_submitted or e.bulk or e.mailing_list or e.bounce)


class TestBadInput:
    def test_garbage_is_flagged_with_a_hash_id(self):
        raw = (CORPUS / "garbage.eml").read_bytes()
        e = parse_email(raw)
        assert e.flagged
        assert e.message_id == ""
        assert e.external_id == f"sha256:{e.raw_sha256}"
        assert "\x00" not in e.text

    def test_missing_headers_flagged_and_hash_id(self):
        e = parsed("missing_headers")
        assert "no sender address" in e.flagged
        assert e.external_id.startswith("sha256:") and e.date is None

    def test_malformed_mime_reads_what_it_can(self):
        e = parsed("malformed_mime")
        assert "truncated MIME" in e.flagged and "unknown charset" in e.flagged
        assert e.message_id == "<broken-1@example.com>"
        assert e.from_address == "broken@example.com"

    @pytest.mark.parametrize(
        "raw",
        [
            b"",
            b"\x00\x00\x00",
            b"From:\n\n",
            b"Content-Type: multipart/mixed\n\nno boundary",
            b"Content-Type: multipart/mixed; boundary=x\n\n--x\n--x--\n",
            b"Subject: =?utf-8?B?!!!?=\n\nx",
            b"Subject: =?gb2312?Q?=FF=FE?=\n\nx",
            b'Content-Type: text/plain; charset="\xff"\n\nx',
            b"Content-Transfer-Encoding: base64\n\n@@@@",
            b"Content-Type: text/plain; name*=bogus''%ZZ\nContent-Disposition: attachment; filename*=x'y'%FF\n\nx",
            b"Message-ID: <" + b"a" * 500 + b"@x>\n\nx",
            b"Date: not a date\n\nx",
            b"Date: Mon, 99 Foo 99999 99:99:99 +9999\n\nx",
            b"Content-Type: multipart/mixed; boundary=b\n\n"
            + b"--b\nContent-Type: multipart/mixed; boundary=b\n\n" * 60,
        ],
    )
    def test_never_raises(self, raw):
        e = parse_email(raw)
        assert e.external_id
        assert len(e.external_id) <= 300

    @settings(max_examples=150, deadline=None)
    @given(st.binary(max_size=2000))
    def test_never_raises_on_random_bytes(self, raw):
        e = parse_email(raw)
        assert e.external_id and "\x00" not in e.text

    def test_never_raises_on_mutated_corpus(self):
        rnd = random.Random(7)
        for path in sorted(CORPUS.glob("*.eml")):
            raw = bytearray(path.read_bytes())
            for _ in range(20):
                mutated = bytearray(raw)
                for _ in range(10):
                    mutated[rnd.randrange(len(mutated))] = rnd.randrange(256)
                cut = rnd.randrange(len(mutated))
                assert parse_email(bytes(mutated[:cut])).external_id


class TestCorpus:
    @pytest.mark.parametrize("path", sorted(CORPUS.glob("*.eml")), ids=lambda p: p.stem)
    def test_every_corpus_message_parses_and_is_stable(self, path):
        raw = path.read_bytes()
        first, second = parse_email(raw), parse_email(raw)
        assert first.external_id == second.external_id
        assert first.raw_sha256 == second.raw_sha256


class TestDecoding:
    @pytest.mark.parametrize(
        "data, declared, expected",
        [
            ("镕喆".encode("gbk"), "gb2312", "镕喆"),
            ("镕喆".encode("gbk"), "GB_2312-80", "镕喆"),
            ("中文".encode(), "iso-8859-1", "中文"),
            ("中文".encode(), "us-ascii", "中文"),
            ("中文".encode("gbk"), None, "中文"),
            ("中文".encode("gbk"), "utf-8", "中文"),
            ("繁體".encode("big5"), "big5", "繁體"),
            ("Grüße".encode("latin-1"), "iso-8859-1", "Grüße"),
            ("€".encode("cp1252"), "iso-8859-1", "€"),
            (b"abc", "x-unknown-charset", "abc"),
        ],
    )
    def test_decode_bytes(self, data, declared, expected):
        assert decode_bytes(data, declared)[0] == expected

    def test_header_with_mixed_encoded_words(self):
        value = "=?gb2312?B?" + base64.b64encode("王喆".encode("gbk")).decode() + "?= =?utf-8?Q?=E5=AE=A2=E6=88=B7?="
        assert decode_header_value(value) == ("王喆客户", True)

    def test_html_to_text(self):
        assert html_to_text("<style>x{}</style><p>你好&nbsp;世界</p><div>第二行<br>第三行</div>") == (
            "你好 世界\n第二行\n第三行"
        )


class TestHtmlQuoteStripping:
    @pytest.mark.parametrize(
        "markup, kept, dropped",
        [
            (
                '<div>Thanks</div><div class="gmail_quote"><div>On … wrote:</div><blockquote>old</blockquote></div>',
                "Thanks",
                "old",
            ),
            ('<p>OK</p><blockquote type="cite">old</blockquote>', "OK", "old"),
            ('<p>收到</p><div id="divRplyFwdMsg"><b>发件人:</b> 客服</div><div>old</div>', "收到", "old"),
            ('<p>收到</p><hr id="stopSpelling">old', "收到", "old"),
            (
                "<div>好的</div><div>------------------&nbsp;原始邮件&nbsp;------------------</div><div>old</div>",
                "好的",
                "old",
            ),
            ("<p>Fine</p><p>-----Original Message-----<br>From: x</p><p>old</p>", "Fine", "old"),
        ],
    )
    def test_markers(self, markup, kept, dropped):
        from channels_app.email.parse import strip_quoted_html

        result = strip_quoted_html(markup)
        assert kept in result and dropped not in result

    def test_nothing_left_keeps_everything(self):
        from channels_app.email.parse import strip_quoted_html

        markup = '<blockquote type="cite">only quoted</blockquote>'
        assert strip_quoted_html(markup) == markup
        assert strip_quoted_html("") == ""

    def test_qq_corpus_reply_html(self):
        e = parsed("qq_reply_html_only")
        assert "我还想再问一下发票的事" in e.reply_html and "您好，已经发货" not in e.reply_html
        assert "您好，已经发货" in e.html

    def test_inline_image_only_reply_is_kept(self):
        from channels_app.email.parse import strip_quoted_html

        markup = '<div><img src="cid:a@b"></div><blockquote type="cite">old</blockquote>'
        assert strip_quoted_html(markup).startswith('<div><img src="cid:a@b">')
