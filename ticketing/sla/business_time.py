"""Business-time arithmetic on a calendar: pure, no ORM.

A calendar is a time zone, weekly working hours (several intervals a day, for
lunch breaks), a public-holiday source (mainland China from `chinese-calendar`,
with its make-up working days (调休); other countries from `holidays`) and the
company's own holidays and extra working days.

Business time is real elapsed time inside working intervals: every interval is
turned into aware UTC instants, so a day on which daylight saving time starts or
ends counts the hours that really passed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
# A calendar without any working time in this many days has none at all.
SEARCH_DAYS = 3 * 366

CHINA = "CN"  # the holiday source served by chinese-calendar (statutory holidays and make-up days)

Interval = tuple[int, int]  # minutes after local midnight, end exclusive; end may be 1440


class CalendarError(ValueError):
    pass


def _minutes(text: str) -> int:
    try:
        hours, minutes = text.strip().split(":")
        value = int(hours) * 60 + int(minutes)
    except (AttributeError, ValueError):
        raise CalendarError(f"not a time of day: {text!r} (expected HH:MM)") from None
    if not (0 <= int(minutes) < 60 and 0 <= value <= MINUTES_PER_DAY):
        raise CalendarError(f"not a time of day: {text!r}")
    return value


def parse_weekly_hours(spec: Mapping[str, Sequence[Sequence[str]]]) -> tuple[tuple[Interval, ...], ...]:
    """{"mon": [["09:00", "12:00"], ["13:30", "18:00"]], …} → seven sorted tuples of intervals.
    "24:00" ends a day; intervals may not overlap."""
    unknown = set(spec) - set(WEEKDAYS)
    if unknown:
        raise CalendarError(f"unknown weekdays: {', '.join(sorted(unknown))}")
    week = []
    for day in WEEKDAYS:
        intervals = sorted((_minutes(start), _minutes(end)) for start, end in spec.get(day, ()))
        for index, (start, end) in enumerate(intervals):
            if start >= end:
                raise CalendarError(f"{day}: an interval must end after it starts")
            if index and intervals[index - 1][1] > start:
                raise CalendarError(f"{day}: intervals overlap")
        week.append(tuple(intervals))
    return tuple(week)


def format_weekly_hours(week: Sequence[Sequence[Interval]]) -> dict[str, list[list[str]]]:
    return {
        WEEKDAYS[day]: [[f"{s // 60:02d}:{s % 60:02d}", f"{e // 60:02d}:{e % 60:02d}"] for s, e in week[day]]
        for day in range(7)
        if week[day]
    }


OFFICE_HOURS_CN = parse_weekly_hours(
    {day: [["09:00", "12:00"], ["13:30", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
)
ALWAYS = parse_weekly_hours({day: [["00:00", "24:00"]] for day in WEEKDAYS})


@dataclass(frozen=True)
class Calendar:
    time_zone: str = "Asia/Shanghai"
    weekly_hours: tuple[tuple[Interval, ...], ...] = OFFICE_HOURS_CN
    country: str = ""  # "CN": chinese-calendar; another ISO code: the `holidays` package; "": none
    subdivision: str = ""  # e.g. a US state for `holidays`
    holidays: frozenset[date] = field(default_factory=frozenset)  # the company's own closed days
    extra_workdays: frozenset[date] = field(default_factory=frozenset)  # the company's own extra working days

    def __post_init__(self):
        try:
            ZoneInfo(self.time_zone)
        except (ValueError, KeyError, OSError):
            raise CalendarError(f"unknown time zone: {self.time_zone!r}") from None
        if len(self.weekly_hours) != 7:
            raise CalendarError("weekly hours need seven days")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def workday_hours(self) -> tuple[Interval, ...]:
        """Hours of a make-up working day that falls on a day without weekly hours (a Saturday)."""
        return next((hours for hours in self.weekly_hours if hours), ())


def china_calendar(**overrides) -> Calendar:
    """Mainland China: Mon–Fri 09:00–12:00 and 13:30–18:00, statutory holidays and 调休 make-up days."""
    return Calendar(**{"time_zone": "Asia/Shanghai", "weekly_hours": OFFICE_HOURS_CN, "country": CHINA, **overrides})


@lru_cache(maxsize=32)
def _country_holidays(country: str, subdivision: str):
    import holidays

    return holidays.country_holidays(country, subdiv=subdivision or None)


def _preset_is_workday(calendar: Calendar, day: date) -> bool | None:
    """What the country's calendar says about the day, or None when it has no opinion."""
    if not calendar.country:
        return None
    if calendar.country.upper() == CHINA:
        import chinese_calendar

        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:  # a year the package does not know yet: weekly hours only
            return None
    return False if day in _country_holidays(calendar.country.upper(), calendar.subdivision) else None


@lru_cache(maxsize=65536)
def day_hours(calendar: Calendar, day: date) -> tuple[Interval, ...]:
    """The working intervals of one local date."""
    if day in calendar.holidays:
        return ()
    weekly = calendar.weekly_hours[day.weekday()]
    if day in calendar.extra_workdays:
        return weekly or calendar.workday_hours
    preset = _preset_is_workday(calendar, day)
    if preset is False:
        return ()
    if preset is True:
        return weekly or calendar.workday_hours
    return weekly


def _instant(zone: ZoneInfo, day: date, minute: int) -> datetime:
    local = datetime.combine(day, time(0), tzinfo=zone) + timedelta(minutes=minute)  # wall-clock arithmetic
    return local.astimezone(UTC)


@lru_cache(maxsize=65536)
def day_intervals(calendar: Calendar, day: date) -> tuple[tuple[datetime, datetime], ...]:
    """The working intervals of one local date as UTC instants. A wall time that a DST change
    skips resolves to the instant after the gap, so an interval never runs backwards."""
    zone = calendar.zone
    result = []
    for start, end in day_hours(calendar, day):
        begin, finish = _instant(zone, day, start), _instant(zone, day, end)
        if finish > begin:
            result.append((begin, finish))
    return tuple(result)


def _require_aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise CalendarError(f"{name} must be an aware datetime")
    return value.astimezone(UTC)


def intervals_from(calendar: Calendar, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Working intervals that end after `start`, clipped to begin no earlier than it."""
    start = _require_aware(start, "start")
    day = start.astimezone(calendar.zone).date() - timedelta(days=1)  # a 24:00 end can reach into the next date
    idle_days = 0
    while True:
        found = False
        for begin, end in day_intervals(calendar, day):
            if end > start:
                found = True
                yield max(begin, start), end
        idle_days = 0 if found else idle_days + 1
        if idle_days > SEARCH_DAYS:
            raise CalendarError("the calendar has no working time")
        day += timedelta(days=1)


def business_add(*, calendar: Calendar, start: datetime, duration: timedelta) -> datetime:
    """The instant at which `duration` of business time has passed since `start`.
    A duration of zero is `start` itself; a deadline that uses up an interval exactly
    falls at its end (18:00 Friday, not 09:00 Monday)."""
    if duration < timedelta(0):
        raise CalendarError("duration must not be negative")
    zone = calendar.zone
    remaining = duration
    if not remaining:
        return _require_aware(start, "start").astimezone(zone)
    for begin, end in intervals_from(calendar, start):
        available = end - begin
        if remaining <= available:
            return (begin + remaining).astimezone(zone)
        remaining -= available
    raise AssertionError("unreachable")


def business_between(*, calendar: Calendar, start: datetime, end: datetime) -> timedelta:
    """Business time from `start` to `end`; zero when `end` is not after `start`."""
    end = _require_aware(end, "end")
    total = timedelta(0)
    if end <= _require_aware(start, "start"):
        return total
    for begin, finish in intervals_from(calendar, start):
        if begin >= end:
            break
        total += min(finish, end) - begin
    return total


def is_working_time(*, calendar: Calendar, at: datetime) -> bool:
    at = _require_aware(at, "at")
    day = at.astimezone(calendar.zone).date()
    return any(begin <= at < end for d in (day - timedelta(days=1), day) for begin, end in day_intervals(calendar, d))
