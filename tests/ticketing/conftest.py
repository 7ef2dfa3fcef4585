"""A clock the ticketing tests move by hand (timezone.now is patched)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

SH = ZoneInfo("Asia/Shanghai")


class Clock:
    def __init__(self, monkeypatch, at: datetime):
        self.at = at
        monkeypatch.setattr("django.utils.timezone.now", lambda: self.at)

    def advance(self, **delta) -> datetime:
        self.at = self.at + timedelta(**delta)
        return self.at


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch, datetime(2026, 3, 2, 9, 0, tzinfo=SH))  # a Monday morning
