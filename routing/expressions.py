"""The target expression language: a small safe parser (no eval).

    billing >= 3 and "zh" in languages
    (technical >= 2 or "Tech" in team) and not returns == 0

Names are skill codes (an agent's level, 0 when absent), `languages` (list of
language codes), `team` (list of team names), `roles` (list of role codes);
literals are integers, "strings" or 'strings', true and false. Operators:
== != < <= > >=, in, not in, and, or, not, parentheses. An empty expression
matches everyone. Errors are ValidationErrors that name the character position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

LIST_NAMES = {"languages", "team", "roles"}
_TOKEN = re.compile(
    r"""\s*(?:
    (?P<number>\d+)
    |(?P<string>"[^"]*"|'[^']*')
    |(?P<op>==|!=|<=|>=|<|>|=|\(|\)|\[|\]|,)
    |(?P<name>[A-Za-z_][A-Za-z0-9_\-]*)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "true", "false"}


@dataclass(frozen=True)
class Token:
    kind: str  # number, string, op, name, keyword, end
    value: object
    position: int  # 1-based character position


def _error(message: str, position: int) -> ValidationError:
    return ValidationError(
        _("%(message)s at character %(position)d.") % {"message": message, "position": position},
        code="expression",
        params={"position": position},
    )


def _tokens(text: str) -> list[Token]:
    tokens, at = [], 0
    while at < len(text):
        if text[at:].strip() == "":
            break
        match = _TOKEN.match(text, at)
        if not match or match.end() == at:
            start = at + len(text[at:]) - len(text[at:].lstrip())
            if text[start] in "\"'":
                raise _error(_("Unterminated string"), start + 1)
            raise _error(_("Unexpected character “%(char)s”") % {"char": text[start]}, start + 1)
        kind = match.lastgroup
        raw = match.group(kind)
        position = match.start(kind) + 1
        if kind == "number":
            value: object = int(raw)
        elif kind == "string":
            value = raw[1:-1]
        elif kind == "name" and raw.lower() in _KEYWORDS:
            kind, value = "keyword", raw.lower()
        else:
            value = raw
        tokens.append(Token(kind, value, position))
        at = match.end()
    tokens.append(Token("end", None, len(text) + 1))
    return tokens


class _Parser:
    def __init__(self, text: str):
        self.tokens = _tokens(text)
        self.at = 0

    def peek(self) -> Token:
        return self.tokens[self.at]

    def take(self) -> Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def accept(self, kind: str, value=None) -> Token | None:
        token = self.peek()
        if token.kind == kind and (value is None or token.value == value):
            return self.take()
        return None

    def parse(self):
        node = self.or_()
        token = self.peek()
        if token.kind != "end":
            raise _error(_("Unexpected “%(token)s”") % {"token": token.value}, token.position)
        return node

    def or_(self):
        node = self.and_()
        while self.accept("keyword", "or"):
            node = ("or", node, self.and_())
        return node

    def and_(self):
        node = self.not_()
        while self.accept("keyword", "and"):
            node = ("and", node, self.not_())
        return node

    def not_(self):
        if self.accept("keyword", "not"):
            return ("not", self.not_())
        return self.comparison()

    def comparison(self):
        left = self.operand()
        token = self.peek()
        if token.kind == "op" and token.value in {"==", "!=", "<", "<=", ">", ">=", "="}:
            self.take()
            op = "==" if token.value == "=" else token.value
            return ("cmp", op, left, self.operand())
        if self.accept("keyword", "in"):
            return ("in", left, self.operand())
        if token.kind == "keyword" and token.value == "not" and self.tokens[self.at + 1].value == "in":
            self.take(), self.take()
            return ("not", ("in", left, self.operand()))
        return ("truth", left)

    def operand(self):
        token = self.take()
        if token.kind in {"number", "string"}:
            return ("lit", token.value)
        if token.kind == "keyword" and token.value in {"true", "false"}:
            return ("lit", token.value == "true")
        if token.kind == "name":
            return ("attr", token.value)
        if token.kind == "op" and token.value == "(":
            node = self.or_()
            self.expect(")")
            return node
        if token.kind == "op" and token.value == "[":
            items = []
            if not self.accept("op", "]"):
                while True:
                    item = self.take()
                    if item.kind not in {"number", "string"}:
                        raise _error(_("Expected a number or a string"), item.position)
                    items.append(item.value)
                    if self.accept("op", "]"):
                        break
                    self.expect(",")
            return ("lit", tuple(items))
        if token.kind == "end":
            raise _error(_("Unexpected end of the expression"), token.position)
        raise _error(_("Unexpected “%(token)s”") % {"token": token.value}, token.position)

    def expect(self, value: str) -> None:
        token = self.take()
        if not (token.kind == "op" and token.value == value):
            shown = _("the end") if token.kind == "end" else f"“{token.value}”"
            raise _error(_("Expected “%(want)s” but found %(found)s") % {"want": value, "found": shown}, token.position)


@lru_cache(maxsize=512)
def expression_parse(text: str):
    """The syntax tree of `text` (None for an empty expression); ValidationError when it does not parse."""
    if not (text or "").strip():
        return None
    if len(text) > 500:
        raise _error(_("The expression is too long"), 501)
    return _Parser(text).parse()


def _value(node, attrs: dict):
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "attr":
        name = node[1]
        if name in LIST_NAMES:
            return attrs.get(name, ())
        return attrs.get("skills", {}).get(name, 0)
    return evaluate(node, attrs)


def evaluate(node, attrs: dict) -> bool:
    """True when an agent with these attributes (skills: {code: level}, languages, team, roles) matches."""
    if node is None:
        return True
    kind = node[0]
    if kind == "or":
        return evaluate(node[1], attrs) or evaluate(node[2], attrs)
    if kind == "and":
        return evaluate(node[1], attrs) and evaluate(node[2], attrs)
    if kind == "not":
        return not evaluate(node[1], attrs)
    if kind == "in":
        needle, haystack = _value(node[1], attrs), _value(node[2], attrs)
        try:
            return needle in haystack
        except TypeError:
            return False
    if kind == "cmp":
        op, left, right = node[1], _value(node[2], attrs), _value(node[3], attrs)
        if op == "==":
            return left == right
        if op == "!=":
            return left != right
        if isinstance(left, bool) or isinstance(right, bool) or type(left) is not type(right):
            return False  # ordering only between two numbers or two strings
        return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]
    if kind == "truth":
        return bool(_value(node[1], attrs))
    return bool(_value(node, attrs))


def expression_skills(node) -> set[str]:
    """Skill codes an expression mentions (for ranking by level)."""
    if node is None or node[0] == "lit":
        return set()
    if node[0] == "attr":
        return set() if node[1] in LIST_NAMES else {node[1]}
    found: set[str] = set()
    for child in node[1:]:
        if isinstance(child, tuple):
            found |= expression_skills(child)
    return found
