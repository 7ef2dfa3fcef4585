"""The target language: what matches, and errors that say where."""

import pytest
from django.core.exceptions import ValidationError

from routing.expressions import evaluate, expression_parse, expression_skills

ZH_BILLING = {"skills": {"billing": 4}, "languages": ["zh"], "team": ["Billing"], "roles": ["agent"]}
EN_TECH = {"skills": {"technical": 2}, "languages": ["en"], "team": ["Tech"], "roles": ["agent"]}


@pytest.mark.parametrize(
    ("text", "zh", "en"),
    [
        ('billing >= 3 and "zh" in languages', True, False),
        ("billing >= 5", False, False),
        ("billing > 0 or technical > 0", True, True),
        ('not "zh" in languages', False, True),
        ('"zh" not in languages', False, True),
        ("(billing >= 3 or technical >= 2) and returns == 0", True, True),
        ('"Tech" in team', False, True),
        ("billing = 4", True, False),
        ("unknown_skill == 0", True, True),
        ("'supervisor' in roles", False, False),
        ('billing in [3, 4] and languages != ["en"]', True, False),
        ("", True, True),
        ("true", True, True),
        ("billing", True, False),
    ],
)
def test_matching(text, zh, en):
    tree = expression_parse(text)
    assert (evaluate(tree, ZH_BILLING), evaluate(tree, EN_TECH)) == (zh, en)


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("billing >= ", 12),
        ("billing >> 3", 10),
        ("(billing > 1", 13),
        ("billing @ 2", 9),
        ('"zh in languages', 1),
        ("billing > 1 and", 16),
        ("billing > 1 billing", 13),
        ("[1, x]", 5),
    ],
)
def test_errors_name_the_position(text, position):
    with pytest.raises(ValidationError) as caught:
        expression_parse(text)
    assert f"at character {position}." in caught.value.messages[0]


def test_ordering_across_types_is_false_not_an_error():
    assert evaluate(expression_parse('billing > "a"'), ZH_BILLING) is False


def test_skills_mentioned():
    assert expression_skills(expression_parse('billing >= 3 and ("zh" in languages or vip > 1)')) == {"billing", "vip"}
