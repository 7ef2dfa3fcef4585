"""Snippets with highlight offsets, computed the same for every backend. The API returns the
snippet text and [start, end) offsets; clients build the marks with textContent, never HTML."""

import re

from knowledge_base import text

WINDOW = 160


def _patterns(query: str, terms: list[str]) -> list[re.Pattern]:
    raw = set(re.findall(r"[\u3400-\u9fff]+|[A-Za-z0-9@.\-]{2,}", text.normalize(query)))
    raw |= {t for t in terms if len(t) >= 2 or text.is_chinese(t)}
    found = []
    for word in sorted(raw, key=len, reverse=True):
        if text.is_chinese(word) or word.isdigit():
            found.append(re.compile(re.escape(word)))
        elif len(word) >= 2:
            found.append(re.compile(r"\b" + re.escape(word) + r"\w*", re.IGNORECASE))
    return found


def highlight_spans(content: str, query: str, terms: list[str]) -> list[list[int]]:
    normalized = text.normalize(content)
    if len(normalized) != len(content):  # conversion changed lengths: match on the original
        normalized = content.lower()
    spans: list[list[int]] = []
    for pattern in _patterns(query, terms):
        for m in pattern.finditer(normalized):
            if m.end() > m.start() and not any(s < m.end() and m.start() < e for s, e in spans):
                spans.append([m.start(), m.end()])
    if not spans:  # phone numbers are stored formatted: match digits ignoring separators
        digits = re.sub(r"\D", "", query)
        if len(digits) >= 4:
            for m in re.finditer(r"[\d\s\-+()]{4,}", content):
                run = m.group()
                only = re.sub(r"\D", "", run)
                at = only.find(digits)
                if at >= 0:
                    positions = [i for i, ch in enumerate(run) if ch.isdigit()]
                    spans.append([m.start() + positions[at], m.start() + positions[at + len(digits) - 1] + 1])
    return sorted(spans)


def snippet(content: str, query: str, terms: list[str], width: int = WINDOW) -> tuple[str, list[list[int]]]:
    """A window of `content` around the first match, its highlight spans relative to the window."""
    content = re.sub(r"\s+", " ", content or "").strip()
    spans = highlight_spans(content, query, terms)
    start = 0
    if spans and spans[0][0] > width // 3:
        start = max(0, spans[0][0] - width // 3)
    end = min(len(content), start + width)
    window = content[start:end]
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(content) else ""
    shift = len(prefix) - start
    inside = [[s + shift, e + shift] for s, e in spans if s >= start and e <= end]
    return prefix + window + suffix, inside
