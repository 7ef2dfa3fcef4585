"""Unified social credit codes, resident ID numbers, phones and emails."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm import identifiers

# Published codes of real companies (check characters computed by GB 32100-2015).
REAL_USCC = ["91350100M000100Y43", "91110000600037341L", "91440300708461136T"]


@pytest.mark.parametrize("code", REAL_USCC)
def test_real_credit_codes_are_accepted(code):
    assert identifiers.normalize_uscc(code.lower()) == code


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("91350100M000100Y44", "check character"),
        ("91350100M000100Y4", "18 characters"),
        ("91350100M00O100Y43", "cannot appear"),  # O is not in the alphabet
        ("", "18 characters"),
    ],
)
def test_bad_credit_codes_say_what_is_wrong(code, fragment):
    with pytest.raises(ValueError, match=fragment):
        identifiers.normalize_uscc(code)


@given(st.text(alphabet=identifiers.USCC_ALPHABET, min_size=17, max_size=17))
def test_any_code_with_its_computed_check_char_is_valid_and_any_other_is_not(first17):
    good = identifiers.uscc_check_char(first17)
    assert identifiers.normalize_uscc(first17 + good) == first17 + good
    for wrong in identifiers.USCC_ALPHABET.replace(good, "")[:3]:
        with pytest.raises(ValueError):
            identifiers.normalize_uscc(first17 + wrong)


@pytest.mark.parametrize("number", ["11010519491231002X", "110101199003074514", "44030519900101123X"])
def test_valid_id_numbers(number):
    assert identifiers.normalize_id_number(number.lower()) == number


@pytest.mark.parametrize(
    ("number", "fragment"),
    [
        ("110105194912310021", "check digit"),
        ("11010519491331002X", "not a real date"),
        ("91010519491231002X", "region code"),
        ("1101051949123100", "17 digits"),
        ("11010530000101002X", "out of range"),
    ],
)
def test_bad_id_numbers_say_what_is_wrong(number, fragment):
    first17 = number[:17]
    if len(number) == 18 and fragment != "check digit" and first17.isdigit():
        number = first17 + identifiers.id_number_check_char(first17)  # only the named defect remains
    with pytest.raises(ValueError, match=fragment):
        identifiers.normalize_id_number(number, today=dt.date(2026, 11, 24))


def test_masking_keeps_region_and_last_four():
    assert identifiers.mask_id_number("110101199003071234") == "110***********1234"
    assert identifiers.mask_id_number("") == ""
    assert identifiers.mask_id_number("12345") == "*****"


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("138 0013 8000", "+8613800138000"),
        ("+86 138-0013-8000", "+8613800138000"),
        ("010 6552 9988", "+861065529988"),
        ("+1 (415) 555-2671", "+14155552671"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_phones_normalize_to_e164(raw, e164):
    assert identifiers.normalize_phone(raw) == e164


@pytest.mark.parametrize(
    ("e164", "shown"),
    [
        ("+8613800138000", "+86 138 0013 8000"),
        ("+861065529988", "+86 10 6552 9988"),
        ("+14155552671", "+1 415-555-2671"),
        ("not a number", "not a number"),
    ],
)
def test_stored_phones_are_shown_grouped_as_people_read_them(e164, shown):
    assert identifiers.format_phone(e164) == shown


@pytest.mark.parametrize("raw", ["12345", "not a phone", "+86 000 0000 0000", ""])
def test_bad_phones_are_rejected(raw):
    with pytest.raises(ValueError, match="phone number"):
        identifiers.normalize_phone(raw)


def test_emails_are_validated_and_lowercased():
    assert identifiers.normalize_email("  Li.Wei@Example.COM ") == "li.wei@example.com"
    with pytest.raises(ValueError, match="email"):
        identifiers.normalize_email("li.wei@")
