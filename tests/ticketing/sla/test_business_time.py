"""Business-time arithmetic: nights, lunch breaks, weekends, statutory holidays,
make-up working days (调休), the company's own days, and daylight saving time."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ticketing.sla.business_time import (
    ALWAYS,
    Calendar,
    CalendarError,
    business_add,
    business_between,
    china_calendar,
    day_hours,
    format_weekly_hours,
    is_working_time,
    parse_weekly_hours,
)

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
CN = china_calendar()
PLAIN = Calendar()  # office hours with a lunch break, no holidays
NINE_TO_FIVE_NY = Calendar(
    time_zone="America/New_York",
    weekly_hours=parse_weekly_hours({d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}),
    country="US",
)
NY_ALWAYS = Calendar(time_zone="America/New_York", weekly_hours=ALWAYS)


def sh(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


def add(calendar, start, **delta):
    return business_add(calendar=calendar, start=start, duration=timedelta(**delta))


class TestDoneWhenExample:
    """Spring Festival 2026: Saturday 14 February is a make-up working day, 15–23 February are holidays."""

    def test_the_package_agrees_with_the_example(self):
        assert chinese_calendar.is_workday(date(2026, 2, 14))  # Saturday
        assert date(2026, 2, 14).weekday() == 5
        assert not chinese_calendar.is_workday(date(2026, 2, 16))
        assert chinese_calendar.is_workday(date(2026, 2, 24))

    def test_friday_1750_plus_one_hour_is_due_saturday_0950(self):
        assert add(CN, sh(2026, 2, 13, 17, 50), hours=1) == sh(2026, 2, 14, 9, 50)

    def test_friday_1750_plus_eight_hours_skips_the_holiday_week(self):
        # 10 min Friday + 7 h 30 Saturday (with lunch) + 20 min on the first day after the holidays
        assert add(CN, sh(2026, 2, 13, 17, 50), hours=8) == sh(2026, 2, 24, 9, 20)

    def test_without_the_china_preset_saturday_is_a_weekend(self):
        assert add(PLAIN, sh(2026, 2, 13, 17, 50), hours=1) == sh(2026, 2, 16, 9, 50)

    def test_national_day_2025_make_up_saturday(self):
        # 1–8 October 2025 are holidays; Saturday 11 October is worked.
        assert add(CN, sh(2025, 10, 10, 17, 50), minutes=30) == sh(2025, 10, 11, 9, 20)
        assert add(CN, sh(2025, 9, 30, 17, 0), hours=2) == sh(2025, 10, 9, 10, 0)


class TestWithinAWeek:
    def test_inside_one_interval(self):
        assert add(PLAIN, sh(2026, 3, 2, 9, 0), hours=2) == sh(2026, 3, 2, 11, 0)

    def test_lunch_break_is_skipped(self):
        assert add(PLAIN, sh(2026, 3, 2, 11, 0), hours=2) == sh(2026, 3, 2, 14, 30)

    def test_starting_during_lunch_starts_at_1330(self):
        assert add(PLAIN, sh(2026, 3, 2, 12, 45), minutes=30) == sh(2026, 3, 2, 14, 0)

    def test_night_is_skipped(self):
        assert add(PLAIN, sh(2026, 3, 2, 17, 30), hours=1) == sh(2026, 3, 3, 9, 30)

    def test_starting_at_night_starts_next_morning(self):
        assert add(PLAIN, sh(2026, 3, 2, 23, 0), minutes=1) == sh(2026, 3, 3, 9, 1)
        assert add(PLAIN, sh(2026, 3, 3, 2, 0), minutes=1) == sh(2026, 3, 3, 9, 1)

    def test_weekend_is_skipped(self):
        assert add(PLAIN, sh(2026, 3, 6, 17, 0), hours=2) == sh(2026, 3, 9, 10, 0)
        assert add(PLAIN, sh(2026, 3, 7, 10, 0), hours=1) == sh(2026, 3, 9, 10, 0)

    def test_using_up_an_interval_exactly_ends_at_its_end(self):
        assert add(PLAIN, sh(2026, 3, 6, 17, 0), hours=1) == sh(2026, 3, 6, 18, 0)
        assert add(PLAIN, sh(2026, 3, 2, 9, 0), hours=3) == sh(2026, 3, 2, 12, 0)

    def test_zero_is_the_start_itself(self):
        assert add(PLAIN, sh(2026, 3, 7, 10, 0)) == sh(2026, 3, 7, 10, 0)

    def test_a_full_week_is_37_and_a_half_hours(self):
        assert business_between(calendar=PLAIN, start=sh(2026, 3, 2), end=sh(2026, 3, 9)) == timedelta(hours=37.5)

    def test_between_is_zero_backwards(self):
        assert business_between(calendar=PLAIN, start=sh(2026, 3, 3), end=sh(2026, 3, 2)) == timedelta(0)

    def test_result_is_in_the_calendar_zone(self):
        due = add(PLAIN, datetime(2026, 3, 2, 1, 0, tzinfo=UTC), hours=1)  # 09:00 Shanghai
        assert due.utcoffset() == timedelta(hours=8)
        assert due == sh(2026, 3, 2, 10, 0)


class TestChina:
    def test_labour_day_2026(self):
        # 1–5 May 2026 holidays, Saturday 9 May worked
        assert not is_working_time(calendar=CN, at=sh(2026, 5, 4, 10, 0))
        assert is_working_time(calendar=CN, at=sh(2026, 5, 9, 10, 0))
        assert add(CN, sh(2026, 4, 30, 17, 0), hours=2) == sh(2026, 5, 6, 10, 0)

    def test_make_up_sunday_2025(self):
        assert date(2025, 9, 28).weekday() == 6
        assert add(CN, sh(2025, 9, 26, 17, 50), hours=1) == sh(2025, 9, 28, 9, 50)

    def test_make_up_day_uses_the_lunch_break(self):
        assert day_hours(CN, date(2026, 2, 14)) == ((540, 720), (810, 1080))

    def test_company_holiday_and_extra_workday_override_the_preset(self):
        own = china_calendar(holidays=frozenset({date(2026, 2, 14)}), extra_workdays=frozenset({date(2026, 2, 16)}))
        assert add(own, sh(2026, 2, 13, 17, 50), hours=1) == sh(2026, 2, 16, 9, 50)

    def test_unknown_year_falls_back_to_weekly_hours(self):
        assert is_working_time(calendar=CN, at=sh(2099, 1, 5, 10, 0))  # a Monday
        assert not is_working_time(calendar=CN, at=sh(2099, 1, 3, 10, 0))  # a Saturday


class TestNewYorkDaylightSaving:
    def test_spring_forward_day_has_23_hours(self):
        assert business_between(
            calendar=NY_ALWAYS, start=datetime(2026, 3, 8, tzinfo=NY), end=datetime(2026, 3, 9, tzinfo=NY)
        ) == timedelta(hours=23)

    def test_fall_back_day_has_25_hours(self):
        assert business_between(
            calendar=NY_ALWAYS, start=datetime(2026, 11, 1, tzinfo=NY), end=datetime(2026, 11, 2, tzinfo=NY)
        ) == timedelta(hours=25)

    def test_adding_across_spring_forward(self):
        due = add(NY_ALWAYS, datetime(2026, 3, 7, 12, 0, tzinfo=NY), hours=24)
        assert due == datetime(2026, 3, 8, 13, 0, tzinfo=NY)
        assert due.utcoffset() == timedelta(hours=-4)

    def test_office_hours_over_the_change_keep_local_opening_times(self):
        due = add(NINE_TO_FIVE_NY, datetime(2026, 3, 6, 16, 0, tzinfo=NY), hours=2)
        assert due == datetime(2026, 3, 9, 10, 0, tzinfo=NY)
        assert due.astimezone(UTC) == datetime(2026, 3, 9, 14, 0, tzinfo=UTC)  # EDT, not EST
        fall = add(NINE_TO_FIVE_NY, datetime(2026, 10, 30, 16, 0, tzinfo=NY), hours=2)
        assert fall.astimezone(UTC) == datetime(2026, 11, 2, 15, 0, tzinfo=UTC)  # EST

    def test_us_holidays_from_the_holidays_package(self):
        # 4 July 2026 is a Saturday: observed on Friday 3 July
        assert not is_working_time(calendar=NINE_TO_FIVE_NY, at=datetime(2026, 7, 3, 10, 0, tzinfo=NY))
        assert add(NINE_TO_FIVE_NY, datetime(2026, 7, 2, 16, 0, tzinfo=NY), hours=2) == datetime(
            2026, 7, 6, 10, 0, tzinfo=NY
        )


class TestIsWorkingTime:
    @pytest.mark.parametrize(
        ("at", "expected"),
        [
            (sh(2026, 3, 2, 8, 59), False),
            (sh(2026, 3, 2, 9, 0), True),
            (sh(2026, 3, 2, 11, 59), True),
            (sh(2026, 3, 2, 12, 0), False),
            (sh(2026, 3, 2, 13, 30), True),
            (sh(2026, 3, 2, 18, 0), False),
            (sh(2026, 3, 7, 10, 0), False),
        ],
    )
    def test_edges(self, at, expected):
        assert is_working_time(calendar=PLAIN, at=at) is expected

    def test_always_open_at_midnight(self):
        assert is_working_time(calendar=NY_ALWAYS, at=datetime(2026, 3, 3, 0, 0, tzinfo=NY))


class TestValidation:
    def test_bad_hours(self):
        with pytest.raises(CalendarError):
            parse_weekly_hours({"mon": [["18:00", "09:00"]]})
        with pytest.raises(CalendarError):
            parse_weekly_hours({"mon": [["09:00", "13:00"], ["12:00", "18:00"]]})
        with pytest.raises(CalendarError):
            parse_weekly_hours({"mon": [["9h", "18:00"]]})
        with pytest.raises(CalendarError):
            parse_weekly_hours({"funday": []})

    def test_bad_zone(self):
        with pytest.raises(CalendarError):
            Calendar(time_zone="Mars/Olympus")

    def test_naive_datetimes_are_refused(self):
        with pytest.raises(CalendarError):
            business_add(calendar=PLAIN, start=datetime(2026, 3, 2, 9), duration=timedelta(hours=1))

    def test_a_calendar_without_hours_is_an_error_not_a_hang(self):
        with pytest.raises(CalendarError):
            add(Calendar(weekly_hours=((),) * 7), sh(2026, 3, 2), minutes=1)

    def test_weekly_hours_round_trip(self):
        spec = {"mon": [["09:00", "12:00"], ["13:30", "18:00"]], "sat": [["00:00", "24:00"]]}
        assert format_weekly_hours(parse_weekly_hours(spec)) == spec


# Properties, over the calendars above and instants from 2025 to 2026 (China's make-up days, US DST).
calendars = st.sampled_from([CN, PLAIN, NINE_TO_FIVE_NY, NY_ALWAYS])
instants = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2026, 12, 1), timezones=st.just(UTC))
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20))


@settings(max_examples=150, deadline=None)
@given(calendar=calendars, start=instants, d1=durations, d2=durations)
def test_adding_is_monotonic(calendar, start, d1, d2):
    small, large = sorted([d1, d2])
    assert business_add(calendar=calendar, start=start, duration=small) <= business_add(
        calendar=calendar, start=start, duration=large
    )


@settings(max_examples=150, deadline=None)
@given(calendar=calendars, a=instants, b=instants, d=durations)
def test_adding_is_monotonic_in_the_start(calendar, a, b, d):
    early, late = sorted([a, b])
    assert business_add(calendar=calendar, start=early, duration=d) <= business_add(
        calendar=calendar, start=late, duration=d
    )


@settings(max_examples=150, deadline=None)
@given(calendar=calendars, start=instants, d1=durations, d2=durations)
def test_splitting_a_duration_adds_up(calendar, start, d1, d2):
    middle = business_add(calendar=calendar, start=start, duration=d1)
    assert business_add(calendar=calendar, start=middle, duration=d2) == business_add(
        calendar=calendar, start=start, duration=d1 + d2
    )


@settings(max_examples=150, deadline=None)
@given(calendar=calendars, start=instants, d=durations)
def test_between_inverts_add(calendar, start, d):
    end = business_add(calendar=calendar, start=start, duration=d)
    assert business_between(calendar=calendar, start=start, end=end) == d
    assert end >= start


@settings(max_examples=100, deadline=None)
@given(calendar=calendars, a=instants, b=instants, c=instants)
def test_between_is_additive(calendar, a, b, c):
    a, b, c = sorted([a, b, c])
    assert business_between(calendar=calendar, start=a, end=c) == business_between(
        calendar=calendar, start=a, end=b
    ) + business_between(calendar=calendar, start=b, end=c)
