"""Raw RFC 822 bytes → a `ParsedEmail` value. Pure: no ORM, no network.

Real mail lies about its charset (a GB2312 label on GBK text, an ISO-8859-1 label on
UTF-8), breaks MIME, or is not mail at all. `parse_email` never raises: it returns
what could be read and says in `flagged` what could not.
"""

from __future__ import annotations

import email
import email.header
import email.utils
import hashlib
import html as html_lib
import mimetypes
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message as MimeMessage

MAX_MESSAGE_ID = 300

# Labels whose real-world content is a superset: decode with the superset.
CHARSET_ALIASES = {
    "gb2312": "gb18030",
    "gb_2312": "gb18030",
    "gb_2312-80": "gb18030",
    "gb2312-80": "gb18030",
    "euc-cn": "gb18030",
    "euccn": "gb18030",
    "x-euc-cn": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "ms936": "gb18030",
    "windows-936": "gb18030",
    "chinese": "gb18030",
    "csgb2312": "gb18030",
    "big5": "big5hkscs",
    "x-big5": "big5hkscs",
    "big-5": "big5hkscs",
    "cn-big5": "big5hkscs",
    "cp950": "big5hkscs",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "iso-2022-jp": "iso2022_jp_ext",
    "iso-8859-1": "cp1252",  # Outlook's "Latin-1" is Windows-1252 in practice
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "ascii",
    "ascii": "ascii",
    "unicode-1-1-utf-7": "utf-7",
    "utf8": "utf-8",
    "unknown-8bit": "",
    "x-unknown": "",
    "default": "",
}
# Tried in this order when the declared charset does not fit the bytes.
FALLBACK_CHARSETS = ("utf-8", "gb18030", "big5hkscs")


def _codec(label: str | None) -> str:
    label = (label or "").strip().strip('"').lower()
    if not label:
        return ""
    label = CHARSET_ALIASES.get(label, label)
    if not label:
        return ""
    try:
        "".encode(label)
    except (LookupError, ValueError):
        return ""
    return label


def decode_bytes(data: bytes, declared: str | None = None) -> tuple[str, bool]:
    """(text, clean). `clean` is False when no charset read the bytes without errors."""
    codec = _codec(declared)
    if not data:
        return "", True
    non_ascii = not data.isascii()
    if codec in {"ascii", "cp1252"} and non_ascii:
        # An ASCII or Latin-1 label on bytes that are valid UTF-8 is a mislabel.
        try:
            return data.decode("utf-8"), True
        except UnicodeDecodeError:
            pass
    candidates = [codec] if codec else []
    candidates += [c for c in FALLBACK_CHARSETS if c != codec]
    for candidate in candidates:
        try:
            return data.decode(candidate), True
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode(codec or "utf-8", errors="replace"), False


def _recover_bytes(value: str) -> bytes:
    """Header text from the parser keeps raw 8-bit bytes as surrogates; get them back."""
    return value.encode("ascii", "surrogateescape") if _has_surrogates(value) else value.encode("utf-8", "replace")


def _has_surrogates(value: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in value)


ENCODED_WORD_GAP = re.compile(r"(\?=)\s+(=\?)")


def decode_header_value(value: object) -> tuple[str, bool]:
    """RFC 2047 encoded words (with the charset repairs above) and raw 8-bit headers."""
    if value is None:
        return "", True
    if isinstance(value, email.header.Header):
        value = str(value)
    value = str(value)
    clean = True
    if _has_surrogates(value):
        value, clean = decode_bytes(_recover_bytes(value))
    if "=?" not in value:
        return _unfold(value), clean
    try:
        chunks = email.header.decode_header(ENCODED_WORD_GAP.sub(r"\1\2", value))
    except Exception:
        return _unfold(value), False
    parts = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            parts.append(chunk)
            continue
        text, ok = decode_bytes(chunk, charset)
        clean = clean and ok
        parts.append(text)
    return _unfold("".join(parts)), clean


def _unfold(value: str) -> str:
    return re.sub(r"\r?\n[ \t]*", " ", value).strip()


MSGID = re.compile(r"<[^<>\s]+>")


def message_ids(value: str) -> list[str]:
    """The <ids> in a Message-ID, In-Reply-To or References header, in order, once each."""
    seen: list[str] = []
    for found in MSGID.findall(value or ""):
        if found not in seen and len(found) <= MAX_MESSAGE_ID:
            seen.append(found)
    if not seen:
        bare = (value or "").strip()
        if bare and " " not in bare and "@" in bare and len(bare) < MAX_MESSAGE_ID - 2:
            seen.append(f"<{bare}>")
    return seen


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str
    content_type: str
    data: bytes
    content_id: str = ""  # without angle brackets
    inline: bool = False


@dataclass
class ParsedEmail:
    external_id: str  # the Message-ID, or sha256:<hex> of the raw bytes when there is none
    message_id: str  # "" when the message had none
    raw_sha256: str
    from_name: str = ""
    from_address: str = ""
    reply_to: str = ""
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    subject: str = ""
    date: datetime | None = None
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    auto_submitted: bool = False  # an auto-reply, vacation notice or other machine answer
    bulk: bool = False  # Precedence bulk/junk
    mailing_list: bool = False
    bounce: bool = False  # a delivery status notification
    bounced_message_ids: list[str] = field(default_factory=list)
    text: str = ""  # the full text (from text/plain, else from the HTML)
    html: str = ""  # raw: sanitize before storing or showing
    reply_text: str = ""  # the text without the quoted earlier messages
    reply_html: str = ""  # the HTML without them (raw too)
    attachments: list[ParsedAttachment] = field(default_factory=list)
    flagged: str = ""  # why this message could not be read completely ("" when it could)

    @property
    def is_automatic(self) -> bool:
        """Never answer this automatically (loops, lists, bounces)."""
        return self.auto_submitted or self.bulk or self.mailing_list or self.bounce


def _address(value: str) -> tuple[str, str]:
    name, address = email.utils.parseaddr(value)
    if not address and "@" in value:
        match = re.search(r"[\w.+'-]+@[\w-]+(\.[\w-]+)+", value)
        address = match.group(0) if match else ""
    return name.strip().strip('"'), address.strip()


def _addresses(values: list[str]) -> list[str]:
    return [addr for _, addr in email.utils.getaddresses(values) if addr and "@" in addr]


def _date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None or parsed.tzinfo is None:
        return None
    return parsed


OOO_SUBJECT = re.compile(
    r"(自动回复|自動回覆|自动答复|自動回復|休假|不在办公室|不在辦公室|外出|"
    r"auto(matic)?[ -]?(reply|response|antwort)|autoreply|out of (the )?office|vacation|abwesenheit)",
    re.IGNORECASE,
)
BOUNCE_SUBJECT = re.compile(
    r"(undeliver|delivery status notification|delivery failure|returned mail|mail delivery failed|"
    r"failure notice|退信|系统退信|投递失败|無法投遞|无法投递)",
    re.IGNORECASE,
)
BOUNCE_SENDER = re.compile(r"^(mailer-daemon|postmaster)@", re.IGNORECASE)


class _Reader:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.text_parts: list[str] = []
        self.html_parts: list[str] = []
        self.attachments: list[ParsedAttachment] = []
        self.bounced_ids: list[str] = []
        self.is_report = False

    def problem(self, what: str) -> None:
        if what not in self.problems:
            self.problems.append(what)

    def header(self, msg: MimeMessage, name: str) -> str:
        # raw_items keeps 8-bit header bytes as surrogates, which decode_header_value repairs;
        # get() would already have replaced them.
        try:
            values = [value for key, value in msg.raw_items() if key.lower() == name.lower()]
        except Exception:
            self.problem(f"unreadable {name} header")
            return ""
        if not values:
            return ""
        text, clean = decode_header_value(values[0])
        text = text.replace("\x00", "")
        if not clean:
            self.problem(f"undecodable {name} header")
        return text

    def payload(self, part: MimeMessage) -> bytes:
        try:
            data = part.get_payload(decode=True)
        except Exception:
            data = None
        for defect in getattr(part, "defects", []):
            name = type(defect).__name__
            if "Base64" in name or "Padding" in name:
                self.problem("broken base64")
        if data is None:
            raw = part.get_payload()
            if isinstance(raw, str):
                return _recover_bytes(raw)
            return b""
        return data

    def filename(self, part: MimeMessage) -> str:
        try:
            raw = part.get_param("filename", header="content-disposition")
            if raw is None:
                raw = part.get_param("name", header="content-type")
        except Exception:
            raw = None
        if raw is None:
            return ""
        if isinstance(raw, tuple):  # RFC 2231: (charset, language, percent-decoded text)
            charset, _language, text = raw
            data = text.encode("latin-1", "surrogateescape") if isinstance(text, str) else bytes(text)
            name, clean = decode_bytes(data, charset or "utf-8")
        else:
            name, clean = decode_header_value(email.utils.unquote(raw))
        if not clean:
            self.problem("undecodable attachment name")
        return name.replace("\x00", "").strip()

    def walk(self, part: MimeMessage, depth: int = 0) -> None:
        if depth > 30:
            self.problem("MIME nested too deep")
            return
        try:
            ctype = part.get_content_type()
        except Exception:
            ctype = "application/octet-stream"
        if part.is_multipart():
            if ctype == "multipart/report":
                self.is_report = True
            payload = part.get_payload()
            if not isinstance(payload, list) or not payload:
                self.problem("empty multipart")
                return
            for child in payload:
                if isinstance(child, MimeMessage):
                    self.walk(child, depth + 1)
            return
        disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
        filename = self.filename(part)
        if ctype in {"message/delivery-status", "message/rfc822", "text/rfc822-headers"} and self.is_report:
            self.bounced_from(part)
        if ctype in {"text/plain", "text/html"} and disposition != "attachment" and not filename:
            data = self.payload(part)
            charset = part.get_content_charset()
            text, clean = decode_bytes(data, charset)
            text = text.replace("\x00", "")
            if charset and not _codec(charset) and CHARSET_ALIASES.get(charset) != "":
                self.problem(f"unknown charset {charset[:40]}")
            if not clean:
                self.problem(f"undecodable {ctype} ({part.get_content_charset() or 'no charset'})")
            (self.text_parts if ctype == "text/plain" else self.html_parts).append(text)
            return
        if ctype == "message/delivery-status":
            return
        data = self.payload(part)
        content_id = (part.get("Content-ID") or "").strip().strip("<>").strip()
        if not filename:
            extension = {"text/plain": ".txt", "text/html": ".html", "message/rfc822": ".eml"}.get(ctype) or (
                mimetypes.guess_extension(ctype) or ".bin"
            )
            filename = f"{content_id or 'attachment'}{extension}".replace("/", "_")
        self.attachments.append(
            ParsedAttachment(
                filename=filename,
                content_type=ctype,
                data=data,
                content_id=content_id,
                inline=bool(content_id) and disposition != "attachment",
            )
        )

    def bounced_from(self, part: MimeMessage) -> None:
        data = part.as_bytes() if part.is_multipart() else self.payload(part)
        if not data and isinstance(part.get_payload(), list):
            for inner in part.get_payload():
                ids = message_ids(str(inner.get("Message-ID", "")))
                self.bounced_ids += [i for i in ids if i not in self.bounced_ids]
            return
        for match in re.finditer(rb"(?im)^(?:original-)?message-id:\s*(<[^<>\s]+>)", data):
            found = match.group(1).decode("ascii", "replace")
            if found not in self.bounced_ids:
                self.bounced_ids.append(found)


TAG = re.compile(r"<[^>]*>")
BLOCK_END = re.compile(r"(?i)<\s*(br|/p|/div|/tr|/li|/h[1-6]|/blockquote)\b[^>]*>")
INVISIBLE = re.compile(r"(?is)<(script|style|head|title)\b.*?</\1\s*>")


def html_to_text(markup: str) -> str:
    text = INVISIBLE.sub("", markup)
    text = BLOCK_END.sub("\n", text)
    text = TAG.sub("", text)
    text = html_lib.unescape(text).replace("\xa0", " ")
    lines = [line.rstrip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse_email(raw: bytes) -> ParsedEmail:
    """Never raises. `flagged` says what could not be read."""
    if not isinstance(raw, bytes | bytearray):
        raw = str(raw or "").encode("utf-8", "replace")
    raw = bytes(raw)
    digest = hashlib.sha256(raw).hexdigest()
    try:
        return _parse(raw, digest)
    except Exception as exc:  # the last net: the parser met something nobody foresaw
        text, _ = decode_bytes(raw[:200_000])
        return ParsedEmail(
            external_id=f"sha256:{digest}",
            message_id="",
            raw_sha256=digest,
            text=text,
            reply_text=text,
            flagged=f"unparseable message ({type(exc).__name__})",
        )


def _parse(raw: bytes, digest: str) -> ParsedEmail:
    reader = _Reader()
    msg = email.message_from_bytes(raw)
    if not raw.strip():
        reader.problem("empty message")
    keys = [k.lower() for k in msg]
    if not keys or not ({"from", "subject", "date", "message-id", "to"} & set(keys)):
        reader.problem("no mail headers")
    for defect in msg.defects:
        name = type(defect).__name__
        if name in {"MissingHeaderBodySeparatorDefect", "MalformedHeaderDefect", "StartBoundaryNotFoundDefect"}:
            reader.problem("malformed MIME")
        if name in {"CloseBoundaryNotFoundDefect"}:
            reader.problem("truncated MIME")

    message_id_list = message_ids(reader.header(msg, "Message-ID"))
    message_id = message_id_list[0] if message_id_list else ""
    from_name, from_address = _address(reader.header(msg, "From"))
    if not from_address:
        reader.problem("no sender address")
    reply_to = _address(reader.header(msg, "Reply-To"))[1]
    to = _addresses([reader.header(msg, "To")])
    cc = _addresses([reader.header(msg, "Cc")])
    subject = reader.header(msg, "Subject")
    date = _date(reader.header(msg, "Date"))
    in_reply_to = message_ids(reader.header(msg, "In-Reply-To"))
    references = message_ids(reader.header(msg, "References"))

    auto = reader.header(msg, "Auto-Submitted").lower()
    precedence = reader.header(msg, "Precedence").lower()
    auto_submitted = bool(auto and auto != "no")
    auto_submitted = auto_submitted or bool(reader.header(msg, "X-Autoreply") or reader.header(msg, "X-Autorespond"))
    auto_submitted = auto_submitted or precedence == "auto_reply" or bool(OOO_SUBJECT.search(subject))
    bulk = precedence in {"bulk", "junk"}
    mailing_list = precedence == "list" or bool(reader.header(msg, "List-Id") or reader.header(msg, "List-Unsubscribe"))

    reader.walk(msg)
    text = _normalize_newlines("\n".join(p for p in reader.text_parts if p.strip()))
    html = "\n".join(reader.html_parts)
    if not text.strip() and html:
        text = html_to_text(html)
    report_type = (msg.get_param("report-type") or "") if msg.get_content_type() == "multipart/report" else ""
    bounce = (reader.is_report and str(report_type).lower() == "delivery-status") or (
        bool(BOUNCE_SENDER.match(from_address)) and bool(BOUNCE_SUBJECT.search(subject))
    )
    if bounce:
        auto_submitted = True
    if not text.strip() and not html.strip() and not reader.attachments:
        reader.problem("no readable content")
    if len(message_id) > MAX_MESSAGE_ID:
        message_id = ""
    return ParsedEmail(
        external_id=message_id or f"sha256:{digest}",
        message_id=message_id,
        raw_sha256=digest,
        from_name=from_name[:100],
        from_address=from_address[:254],
        reply_to=reply_to,
        to=to,
        cc=cc,
        subject=subject[:300],
        date=date,
        in_reply_to=in_reply_to,
        references=references,
        auto_submitted=auto_submitted,
        bulk=bulk,
        mailing_list=mailing_list,
        bounce=bounce,
        bounced_message_ids=reader.bounced_ids if bounce else [],
        text=text,
        html=html,
        reply_text=strip_quoted(text),
        reply_html=strip_quoted_html(html),
        attachments=reader.attachments,
        flagged="; ".join(reader.problems),
    )


ON_WROTE = re.compile(r"^\s*On\b.{0,300}\bwrote:\s*$", re.I)
# Lines where a quoted earlier message begins, in the clients our customers use.
QUOTE_HEADERS = [
    re.compile(
        r"^\s*-{2,}\s*(原始邮件|原始郵件|Original Message|Original|转发邮件|Forwarded message)\s*-{2,}\s*$", re.I
    ),
    re.compile(r"^\s*-{2,}\s*(原始邮件|原始郵件)\s*-{0,}\s*$"),
    re.compile(r"^\s*_{10,}\s*$"),  # Outlook's rule before the quoted header block
    re.compile(r"^.{0,200}(写道|寫道)\s*[:：]\s*$"),  # 在 2025年1月2日 …写道： / … 于2025年…写道：
    ON_WROTE,
    re.compile(r"^\s*Le\b.{0,300}\ba écrit\s*:\s*$", re.I),
    re.compile(r"^\s*Am\b.{0,300}\bschrieb\b.{0,100}:\s*$", re.I),
]
HEADER_BLOCK_START = re.compile(r"^\s*\**\s*(发件人|寄件者|寄件人|From)\s*\**\s*[:：]", re.I)
HEADER_BLOCK_NEXT = re.compile(
    r"^\s*\**\s*(发送时间|发送日期|寄件日期|日期|时间|Sent|Date|收件人|收件者|To|主题|主旨|Subject)\s*\**\s*[:：]", re.I
)


def strip_quoted(text: str) -> str:
    """The new part of a reply, for display; quoted history below it is cut."""
    lines = _normalize_newlines(text).split("\n")
    cut = len(lines)
    for index, line in enumerate(lines):
        joined = line + " " + lines[index + 1] if index + 1 < len(lines) else line
        two_line_on_wrote = index + 1 < len(lines) and ON_WROTE.match(joined) and line.lstrip().startswith("On ")
        if any(p.match(line) for p in QUOTE_HEADERS) or two_line_on_wrote:
            cut = index
            break
        if HEADER_BLOCK_START.match(line) and any(HEADER_BLOCK_NEXT.match(nxt) for nxt in lines[index + 1 : index + 5]):
            cut = index
            break
    kept = lines[:cut]
    # A trailing block of "> " lines is quoted history too.
    while kept and (kept[-1].lstrip().startswith(">") or not kept[-1].strip()):
        kept.pop()
    result = "\n".join(kept).strip()
    return result or _normalize_newlines(text).strip()


# Where clients put the quoted earlier message in HTML: Gmail, Apple Mail/Thunderbird, Outlook, Yahoo,
# QQ Mail/Foxmail (a "原始邮件" rule), NetEase (163/126) and the classic Outlook separator.
HTML_QUOTE_MARKERS = [
    re.compile(r'<div[^>]*class="[^"]*\bgmail_quote\b', re.I),
    re.compile(r'<blockquote[^>]*type="cite"', re.I),
    re.compile(r'<div[^>]*id="(divRplyFwdMsg|appendonsend|mail-editor-reference-message-container)"', re.I),
    re.compile(r'<hr[^>]*id="stopSpelling"', re.I),
    re.compile(r'<div[^>]*class="[^"]*\byahoo_quoted\b', re.I),
    re.compile(r'<div[^>]*id="(isReplyContent|isForwardContent|reply-content|origbody)"', re.I),
    re.compile(r"<blockquote[^>]*id=\"(ntes-|isReplyContent)", re.I),
]
HTML_TEXT_MARKERS = re.compile(r"-{3,}(\s|&nbsp;)*(原始邮件|原始郵件|Original Message)(\s|&nbsp;)*-{3,}", re.I)
OPENING_TAG = re.compile(r"<(div|p|table|span|font|hr)\b", re.I)


def strip_quoted_html(markup: str) -> str:
    """The HTML of a reply without the quoted history; unclosed tags are closed by the sanitizer."""
    if not markup:
        return ""
    cut = len(markup)
    for pattern in HTML_QUOTE_MARKERS:
        match = pattern.search(markup)
        if match:
            cut = min(cut, match.start())
    match = HTML_TEXT_MARKERS.search(markup)
    if match and match.start() < cut:
        openings = [m.start() for m in OPENING_TAG.finditer(markup, 0, match.start())]
        cut = openings[-1] if openings else match.start()
    kept = markup[:cut]
    return kept if html_to_text(kept).strip() or "<img" in kept.lower() else markup
