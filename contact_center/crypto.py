"""Encryption at rest for sensitive fields (ID numbers, channel secrets).

Values are Fernet tokens (AES-128-CBC + HMAC-SHA256). FIELD_ENCRYPTION_KEY may
list several keys: the first encrypts, every one decrypts, so keys rotate by
prepending a new one. A keyed digest (`blind_index`) allows exact lookups and
uniqueness without storing the clear value.
"""

import hashlib
import hmac
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def encrypt(value: str) -> str:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS)).encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS)).decrypt(token.encode()).decode()


def blind_index(value: str, purpose: str) -> str:
    key = hashlib.sha256(("blind-index:" + settings.FIELD_ENCRYPTION_KEYS[-1]).encode()).digest()
    return hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


class EncryptedTextField(models.TextField):
    """A text column holding a Fernet token; Python code sees the clear text."""

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt(value)

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        try:
            return decrypt(value)
        except InvalidToken as exc:
            raise ValueError(
                f"{self.model.__name__}.{self.name} cannot be decrypted: "
                "is FIELD_ENCRYPTION_KEY the key it was written with?"
            ) from exc
