"""Validation and normalization of Chinese and international identifiers.

Pure functions, no ORM: unified social credit codes (GB 32100-2015), resident
identity numbers (GB 11643-1999), phone numbers (E.164 via phonenumbers) and
email addresses. Each raises ValueError with a message a user can act on.
"""

import datetime as dt

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils.translation import gettext as _

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CODES = "10X98765432"


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(ch) * weight for ch, weight in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def normalize_uscc(value: str) -> str:
    code = value.strip().upper()
    if len(code) != 18:
        raise ValueError(_("A unified social credit code has 18 characters; this one has %(n)d.") % {"n": len(code)})
    bad = [ch for ch in code if ch not in USCC_ALPHABET]
    if bad:
        raise ValueError(_("“%(ch)s” cannot appear in a unified social credit code.") % {"ch": bad[0]})
    if uscc_check_char(code[:17]) != code[17]:
        raise ValueError(_("The check character of this unified social credit code is wrong."))
    return code


def id_number_check_char(first17: str) -> str:
    total = sum(int(ch) * weight for ch, weight in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CODES[total % 11]


def normalize_id_number(value: str, *, today: dt.date | None = None) -> str:
    number = value.strip().upper()
    if len(number) != 18 or not number[:17].isdigit():
        raise ValueError(_("A resident ID number has 17 digits followed by a digit or X."))
    if number[0] not in "12345678":
        raise ValueError(_("The region code of this resident ID number does not exist."))
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValueError(_("The birth date in this resident ID number is not a real date.")) from None
    if birth.year < 1900 or birth > (today or dt.date.today()):
        raise ValueError(_("The birth date in this resident ID number is out of range."))
    if id_number_check_char(number[:17]) != number[17]:
        raise ValueError(_("The check digit of this resident ID number is wrong."))
    return number


def mask_id_number(number: str) -> str:
    """110101199003071234 → 110***********1234"""
    if not number:
        return ""
    if len(number) <= 7:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


def normalize_phone(value: str, *, default_region: str = "CN") -> str:
    try:
        parsed = phonenumbers.parse(value, default_region)
    except phonenumbers.NumberParseException:
        raise ValueError(_("“%(value)s” is not a phone number.") % {"value": value}) from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError(_("“%(value)s” is not a valid phone number.") % {"value": value})
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def format_phone(e164: str) -> str:
    """A stored E.164 number as people read it: "+86 138 0013 8000", "+1 206-449-0727". Anything that
    does not parse is shown as stored."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


_email_validator = EmailValidator()


def normalize_email(value: str) -> str:
    address = value.strip()
    try:
        _email_validator(address)
    except ValidationError:
        raise ValueError(_("“%(value)s” is not a valid email address.") % {"value": value}) from None
    # Lower-cased whole: in practice every mailbox provider ignores case, and one
    # person must not become two identities over "Li.Wei@" and "li.wei@".
    return address.lower()
