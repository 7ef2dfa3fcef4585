"""Text for search, the same on both sides (indexing and querying): traditional Chinese to
simplified, lower case, Chinese segmented with jieba, English lightly stemmed, digit runs kept
(phone numbers also as every run of 4+ digits, so partial numbers match)."""

import logging
import re
import unicodedata
from functools import lru_cache

import jieba
import zhconv

jieba.setLogLevel(logging.WARNING)

_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+|[a-z][a-z0-9']*|\d+")
_CJK = re.compile(r"[\u3400-\u9fff]")
_WIFI = re.compile(r"\bwi-?fi\b")

EN_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "with",
        "by",
        "from",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "am",
        "do",
        "does",
        "did",
        "done",
        "i",
        "me",
        "my",
        "we",
        "our",
        "you",
        "your",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "how",
        "what",
        "when",
        "where",
        "why",
        "which",
        "who",
        "can",
        "could",
        "would",
        "should",
        "will",
        "shall",
        "may",
        "might",
        "there",
        "here",
        "not",
        "no",
        "yes",
        "please",
        "hi",
        "hello",
        "help",
        "get",
        "got",
        "have",
        "has",
        "had",
        "just",
        "about",
        "as",
        "if",
        "so",
        "than",
        "then",
        "too",
        "very",
    ]
)
ZH_STOP = frozenset(
    [
        "的",
        "了",
        "吗",
        "呢",
        "吧",
        "啊",
        "呀",
        "么",
        "我",
        "你",
        "您",
        "他",
        "她",
        "它",
        "们",
        "我们",
        "你们",
        "是",
        "在",
        "有",
        "和",
        "与",
        "及",
        "或",
        "就",
        "都",
        "也",
        "还",
        "要",
        "想",
        "能",
        "会",
        "可以",
        "一下",
        "一个",
        "怎么",
        "怎么办",
        "怎样",
        "如何",
        "什么",
        "为什么",
        "请问",
        "请",
        "这个",
        "那个",
        "这",
        "那",
        "哪里",
        "哪",
        "吗？",
        "谢谢",
        "你好",
        "您好",
        "麻烦",
        "帮",
        "帮忙",
        "把",
        "被",
        "给",
        "让",
    ]
)

# Colloquial words and their usual article wording; applied to queries only.
SYNONYMS = {
    "money": ["refund"],
    "payback": ["refund"],
    "forgot": ["reset"],
    "forget": ["reset"],
    "login": ["sign"],
    "log": ["sign"],
    "signin": ["sign"],
    "pwd": ["password"],
    "passcode": ["password"],
    "cancel": ["cancel", "refund"],
    "ship": ["delivery"],
    "shipping": ["delivery"],
    "parcel": ["delivery"],
    "package": ["delivery"],
    "bill": ["invoice"],
    "receipt": ["invoice"],
    "cellphone": ["phone"],
    "mobile": ["phone"],
    "退钱": ["退款"],
    "钱": ["退款"],
    "忘记": ["重置", "找回"],
    "忘了": ["重置", "找回"],
    "登不上": ["登录"],
    "登陆": ["登录"],
    "发票": ["发票"],
    "快递": ["物流", "配送"],
    "包裹": ["物流"],
    "到货": ["物流", "配送"],
    "手机号": ["手机号", "绑定"],
    "改": ["修改"],
    "坏": ["破损", "质量问题"],
    "坏了": ["破损", "质量问题"],
    "broken": ["damag", "faulty"],
}


@lru_cache(maxsize=4096)
def stem(word: str) -> str:
    """A light English stemmer (plural, -ing, -ed, -ly), enough for matching and identical on both sides."""
    w = word.replace("'", "")
    if len(w) <= 3:
        return w
    for suffix, repl, min_len in (
        ("ies", "y", 5),
        ("sses", "ss", 5),
        ("ing", "", 6),
        ("ed", "", 5),
        ("ly", "", 6),
        ("es", "", 5),
        ("s", "", 4),
    ):
        if w.endswith(suffix) and len(w) >= min_len and not w.endswith("ss"):
            w = w[: -len(suffix)] + repl
            break
    if len(w) > 4 and w[-1] == w[-2] and w[-1] not in "lsz":  # stopped -> stopp -> stop
        w = w[:-1]
    if len(w) > 4 and w.endswith("e"):
        w = w[:-1]
    return w


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "")
    if _CJK.search(text):
        text = zhconv.convert(text, "zh-hans")
    return _WIFI.sub("wifi", text.lower())


def words(text: str, *, for_query: bool = False) -> list[str]:
    """Normalized words of `text` in order: jieba words for Chinese (with their sub-words),
    stems for English, digit runs as they are. Stop words are left out of queries only."""
    out: list[str] = []
    for run in _RUN.findall(normalize(text)):
        if _CJK.match(run):
            for word in jieba.cut_for_search(run):
                if for_query and word in ZH_STOP:
                    continue
                out.append(word)
        elif run[0].isdigit():
            out.append(run)
        else:
            if for_query and run in EN_STOP:
                continue
            out.append(stem(run))
    return out


def query_terms(query: str) -> list[str]:
    """Distinct query words, synonyms added, a phone-like query collapsed to its digits."""
    q = normalize(query).strip()
    digits = re.sub(r"[\s\-+().]", "", q)
    if len(digits) >= 4 and digits.isdigit():
        return [digits.removeprefix("86") if len(digits) > 11 else digits]
    terms: list[str] = []
    raw_runs = _RUN.findall(q)
    for term in words(query, for_query=True):
        if term not in terms:
            terms.append(term)
    for run in raw_runs:
        for extra in SYNONYMS.get(run, ()):
            extra = extra if _CJK.match(extra) else stem(extra)
            if extra not in terms:
                terms.append(extra)
    for term in list(terms):
        for extra in SYNONYMS.get(term, ()):
            extra = extra if _CJK.match(extra) else stem(extra)
            if extra not in terms:
                terms.append(extra)
    return terms[:32]


def joined(text: str) -> str:
    return " ".join(words(text))


def phone_tokens(number: str) -> list[str]:
    """Every run of 4+ consecutive digits of a phone number (national part), so '1380013' finds +8613800138000."""
    digits = re.sub(r"\D", "", number or "")
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    found = {digits}
    for size in range(4, len(digits)):
        for start in range(0, len(digits) - size + 1):
            found.add(digits[start : start + size])
    return sorted(found)


def is_chinese(text: str) -> bool:
    return bool(_CJK.search(text or ""))
