"""The Simplified Chinese catalogs are complete, and each committed .mo is its compiled .po.

Two catalogs: django (Python and templates) and djangojs (the JavaScript served by
/jsi18n/). A new machine may lack msgfmt, so the .mo files are committed; these tests
catch the two ways it goes wrong: a string left untranslated (or fuzzy), and a .po
edited without recompiling."""

from __future__ import annotations

import ast
import gettext
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

LOCALE = Path(__file__).resolve().parent.parent / "locale" / "zh_Hans" / "LC_MESSAGES"
# domain → the fewest msgids the catalog must hold (a guard against an accidentally emptied file)
DOMAINS = {"django": 300, "djangojs": 50}


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False
    line: int = 0


_KEYWORD = re.compile(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(\".*\")\s*$")


def _unquote(literal: str) -> str:
    # A .po string literal is a C string; Python's literal syntax reads the escapes we use (\" \\ \n \t).
    return ast.literal_eval(literal)


def parse_po(text: str) -> list[Entry]:
    entries: list[Entry] = []
    entry: Entry | None = None
    target: tuple[str, int | None] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
        if not line:
            entry, target = None, None
            continue
        if line.startswith("#,"):
            entry = entry or Entry(line=number)
            if entry not in entries:
                entries.append(entry)
            entry.flags |= {flag.strip() for flag in line[2:].split(",")}
            continue
        if line.startswith("#") and not obsolete:
            entry = entry or Entry(line=number)
            if entry not in entries:
                entries.append(entry)
            continue
        if line.startswith('"'):
            assert entry is not None and target is not None, f"line {number}: continuation outside an entry"
            kind, index = target
            value = _unquote(line)
            if kind == "msgstr":
                entry.msgstr[index] += value
            else:
                setattr(entry, kind, getattr(entry, kind) + value)
            continue
        match = _KEYWORD.match(line)
        assert match, f"line {number}: cannot read {raw!r}"
        keyword, index, literal = match.groups()
        if entry is None:
            entry = Entry(line=number)
            entries.append(entry)
        entry.obsolete = entry.obsolete or obsolete
        value = _unquote(literal)
        if keyword.startswith("msgstr"):
            slot = int(index) if index is not None else 0
            entry.msgstr[slot] = value
            target = ("msgstr", slot)
        else:
            setattr(entry, keyword, value)
            target = (keyword, None)
    return [e for e in entries if not e.obsolete]


@pytest.fixture(scope="module", params=sorted(DOMAINS))
def domain(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def entries(domain) -> list[Entry]:
    po = LOCALE / f"{domain}.po"
    assert po.exists(), f"locale/zh_Hans/LC_MESSAGES/{domain}.po is missing: run makemessages"
    return parse_po(po.read_text(encoding="utf-8"))


def test_the_catalog_exists_and_is_not_trivial(domain, entries):
    assert len([e for e in entries if e.msgid]) > DOMAINS[domain]


def test_header_declares_chinese_plural_forms(entries):
    header = next(e for e in entries if e.msgid == "" and e.msgctxt is None)
    assert "fuzzy" not in header.flags, "remove the fuzzy flag of the header, or msgfmt drops it"
    assert "Plural-Forms: nplurals=1; plural=0;" in header.msgstr[0]


def test_every_string_is_translated_and_none_is_fuzzy(domain, entries):
    problems = []
    for e in entries:
        if not e.msgid:
            continue
        if "fuzzy" in e.flags:
            problems.append(f"line {e.line}: fuzzy: {e.msgid!r}")
        if not e.msgstr or any(not value.strip() for value in e.msgstr.values()):
            problems.append(f"line {e.line}: untranslated: {e.msgid!r}")
    assert not problems, f"{domain}.po needs work:\n" + "\n".join(problems)


def test_placeholders_survive_translation(domain, entries):
    placeholder = re.compile(r"%\(\w+\)[sd]|\{\w+\}")
    problems = [
        f"line {e.line}: {e.msgid!r}"
        for e in entries
        if e.msgid
        for value in e.msgstr.values()
        if sorted(placeholder.findall(e.msgid_plural or e.msgid)) != sorted(placeholder.findall(value))
    ]
    assert not problems, f"{domain}.po: placeholders differ between msgid and msgstr:\n" + "\n".join(problems)


def test_compiled_catalog_matches_the_po(domain, entries):
    """Run `manage.py compilemessages` after editing a .po and commit its .mo."""
    mo = LOCALE / f"{domain}.mo"
    assert mo.exists(), f"locale/zh_Hans/LC_MESSAGES/{domain}.mo is missing: run compilemessages"
    with mo.open("rb") as handle:
        catalog = gettext.GNUTranslations(handle)._catalog
    expected: dict = {}
    for e in entries:
        if not e.msgid or "fuzzy" in e.flags:
            continue
        key = e.msgid if e.msgctxt is None else f"{e.msgctxt}\x04{e.msgid}"
        if e.msgid_plural is None:
            expected[key] = e.msgstr[0]
        else:
            for index, value in e.msgstr.items():
                expected[(key, index)] = value
    compiled = {k: v for k, v in catalog.items() if k != ""}
    stale = sorted(str(k) for k in expected if compiled.get(k) != expected[k])
    extra = sorted(str(k) for k in compiled if k not in expected)
    assert not stale and not extra, (
        f"{domain}.mo is out of date with {domain}.po; run `manage.py compilemessages` and commit {domain}.mo.\n"
        f"differs or missing: {stale[:10]}\nonly in .mo: {extra[:10]}"
    )


def test_the_interface_speaks_chinese():
    from django.utils import translation

    with translation.override("zh-hans"):
        assert translation.gettext("Tickets") == "工单"
        assert translation.pgettext("console navigation", "Home") == "工作台"
        assert translation.ngettext("%(counter)s ticket", "%(counter)s tickets", 3) % {"counter": 3} == "3 张工单"


def test_the_javascript_catalog_speaks_chinese():
    """What /jsi18n/ serves the console and the phone panel in zh-hans."""
    catalog = gettext.translation("djangojs", localedir=LOCALE.parent.parent, languages=["zh_Hans"])
    assert catalog.gettext("Reconnecting…") == "正在重新连接…"
    assert catalog.gettext("Accept") == "接受"
    assert catalog.gettext("Call the customer") == "呼叫客户"
