"""EventBridge Scheduler expressions: when they fire (examples and hypothesis properties), the
merged time order of several schedules, and the event a target receives."""

from __future__ import annotations

import calendar
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterplex.platform.clock import parse_iso
from meterplex.platform.schedules import (
    EPOCH,
    Cron,
    MonthDays,
    Rate,
    WeekDays,
    due_firings,
    fire_times,
    parse_expression,
    scheduled_event,
)


def at(y: int, m: int, d: int, h: int = 0, minute: int = 0) -> datetime:
    return datetime(y, m, d, h, minute, tzinfo=UTC)


def cron(text: str) -> Cron:
    parsed = parse_expression(text)
    assert isinstance(parsed, Cron)
    return parsed


moments = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC))


# -- examples --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("cron(0 1 * * ? *)", at(2026, 1, 31, 12), at(2026, 2, 1, 1)),  # daily 01:00
        ("cron(0 1 * * ? *)", at(2026, 2, 1, 0, 59), at(2026, 2, 1, 1)),
        ("cron(0 1 * * ? *)", at(2026, 2, 1, 1), at(2026, 2, 2, 1)),  # strictly after
        (
            "cron(15 12 * * ? *)",
            at(
                2026,
                1,
                31,
                12,
                15,
            ),
            at(2026, 2, 1, 12, 15),
        ),
        ("cron(0 18 ? * MON-FRI *)", at(2026, 1, 30, 18), at(2026, 2, 2, 18)),  # Friday → Monday
        ("cron(0 8 1 * ? *)", at(2026, 1, 31), at(2026, 2, 1, 8)),
        ("cron(0/15 * * * ? *)", at(2026, 1, 31, 12, 1), at(2026, 1, 31, 12, 15)),
        ("cron(5/20 * * * ? *)", at(2026, 1, 31, 12, 46), at(2026, 1, 31, 13, 5)),
        ("cron(0 0 L * ? *)", at(2026, 2, 1), at(2026, 2, 28)),  # last day of February
        ("cron(0 0 L * ? *)", at(2028, 2, 1), at(2028, 2, 29)),  # leap year
        ("cron(0 0 LW * ? *)", at(2026, 2, 1), at(2026, 2, 27)),  # Feb 28 2026 is a Saturday
        ("cron(0 0 15W * ? *)", at(2026, 2, 1), at(2026, 2, 16)),  # Sunday 15th → Monday
        ("cron(0 0 1W * ? *)", at(2026, 7, 31), at(2026, 8, 3)),  # Saturday 1st → Monday 3rd
        ("cron(0 0 31W * ? *)", at(2026, 5, 1), at(2026, 5, 29)),  # Sunday 31st → Friday 29th
        ("cron(0 0 ? * 6L *)", at(2026, 1, 31), at(2026, 2, 27)),  # last Friday
        ("cron(0 0 ? * 2#1 *)", at(2026, 1, 31), at(2026, 2, 2)),  # first Monday
        ("cron(0 0 ? * 3#2 *)", at(2026, 1, 31), at(2026, 2, 10)),  # second Tuesday
        ("cron(0 0 ? * L *)", at(2026, 1, 31), at(2026, 2, 7)),  # L alone: Saturday
        ("cron(0 0 29 2 ? *)", at(2026, 1, 1), at(2028, 2, 29)),  # only leap years have it
        ("cron(0 0 1 JAN,JUL ? 2027-2028)", at(2026, 1, 1), at(2027, 1, 1)),
        ("cron(0 0 1 JAN ? 2027)", at(2027, 1, 1), None),  # never again
        ("cron(0 0 30 2 ? *)", at(2026, 1, 1), None),  # February 30th never comes
        ("rate(1 day)", at(2026, 1, 31, 12), at(2026, 2, 1)),
        ("rate(12 hours)", at(2026, 1, 31, 12), at(2026, 2, 1)),
        ("rate(5 minutes)", at(2026, 1, 31, 12, 3), at(2026, 1, 31, 12, 5)),
        ("at(2026-03-01T09:30:00)", at(2026, 2, 1), at(2026, 3, 1, 9, 30)),
        ("at(2026-03-01T09:30:00)", at(2026, 3, 1, 9, 30), None),
    ],
)
def test_next_fire_time_examples(expression: str, after: datetime, expected: datetime | None) -> None:
    assert parse_expression(expression).next_after(after) == expected


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 1 * * *)",  # five fields
        "cron(0 1 * * * *)",  # neither day field is '?'
        "cron(0 1 ? * ? *)",  # both are
        "cron(60 1 * * ? *)",
        "cron(0 24 * * ? *)",
        "cron(0 0 32 * ? *)",
        "cron(0 0 * 13 ? *)",
        "cron(0 0 ? * 8 *)",
        "cron(0 0 ? * 3#6 *)",
        "cron(0 0 ? * 3#1,6#3 *)",  # '#' allows one expression
        "cron(0 0 ? * MON/2 *)",  # no '/' in day-of-week
        "cron(0 0 * * ? 1969)",
        "cron(0 0 20-10 * ? *)",  # ranges run low to high
        "cron(x 0 * * ? *)",
        "rate(0 minutes)",
        "rate(1 minutes)",  # AWS wants the singular for 1
        "rate(2 hour)",
        "rate(1 week)",
        "every day",
    ],
)
def test_invalid_expressions_are_rejected(expression: str) -> None:
    with pytest.raises(ValueError):
        parse_expression(expression)


def test_a_year_of_a_daily_schedule_is_365_firings() -> None:
    times = list(fire_times(parse_expression("cron(0 1 * * ? *)"), at(2026, 1, 1), at(2027, 1, 1)))
    assert len(times) == 365
    assert times[0] == at(2026, 1, 1, 1) and times[-1] == at(2026, 12, 31, 1)


# -- properties --------------------------------------------------------------------------------------
def _field(low: int, high: int, *, step: bool = True) -> st.SearchStrategy[str]:
    number = st.integers(low, high)
    ranged = st.tuples(number, number).map(lambda p: f"{min(p)}-{max(p)}")
    parts = [
        st.just("*"),
        number.map(str),
        ranged,
        st.lists(number, min_size=1, max_size=4).map(lambda values: ",".join(map(str, values))),
    ]
    if step:
        parts.append(st.tuples(number, st.integers(1, high - low + 1)).map(lambda p: f"{p[0]}/{p[1]}"))
        parts.append(st.integers(1, high - low + 1).map(lambda s: f"*/{s}"))
    return st.one_of(*parts)


_day_of_month = st.one_of(
    _field(1, 31), st.sampled_from(["L", "LW"]), st.integers(1, 31).map(lambda d: f"{d}W")
)
_day_of_week = st.one_of(
    _field(1, 7, step=False),
    st.sampled_from(["L", "MON-FRI", "SUN,SAT"]),
    st.integers(1, 7).map(lambda d: f"{d}L"),
    st.tuples(st.integers(1, 7), st.integers(1, 5)).map(lambda p: f"{p[0]}#{p[1]}"),
)
crons = st.builds(
    lambda minute, hour, days, month, year: f"cron({minute} {hour} {days[0]} {month} {days[1]} {year})",
    _field(0, 59),
    _field(0, 23),
    st.one_of(_day_of_month.map(lambda d: (d, "?")), _day_of_week.map(lambda d: ("?", d))),
    _field(1, 12),
    st.one_of(st.just("*"), _field(2020, 2045)),
)

HORIZON = timedelta(days=800)


def brute_force_next(expression: Cron, after: datetime) -> datetime | None:
    """The first matching minute after `after`, found day by day then minute by minute (≤ HORIZON)."""
    start = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    day = start.date()
    while day <= (after + HORIZON).date():
        in_year_and_month = day.year in expression.years and day.month in expression.months
        if in_year_and_month and day.day in expression.days.of(day.year, day.month):
            for hour in range(24):
                for minute in range(60):
                    candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
                    if candidate >= start and expression.matches(candidate):
                        return candidate
        day += timedelta(days=1)
    return None


@settings(max_examples=300, deadline=None)
@given(text=crons, after=moments)
def test_cron_next_fire_time_is_the_first_matching_minute_after(text: str, after: datetime) -> None:
    expression = cron(text)
    found = expression.next_after(after)
    expected = brute_force_next(expression, after)
    if expected is not None:
        assert found == expected
    else:
        assert found is None or found > after + HORIZON - timedelta(days=1)
    if found is not None:
        assert found > after and expression.matches(found)


@given(value=st.integers(1, 1000), unit=st.sampled_from(["minute", "hour", "day"]), after=moments)
def test_rate_fires_on_epoch_multiples_within_one_period(value: int, unit: str, after: datetime) -> None:
    text = f"rate({value} {unit}{'s' if value > 1 else ''})"
    expression = parse_expression(text)
    assert isinstance(expression, Rate)
    found = expression.next_after(after)
    assert found is not None
    assert after < found <= after + expression.period
    assert (found - EPOCH) % expression.period == timedelta(0)


@settings(max_examples=100, deadline=None)
@given(text=crons, after=moments, span=st.timedeltas(timedelta(0), timedelta(days=40)))
def test_fire_times_are_increasing_matching_and_within_the_window(
    text: str, after: datetime, span: timedelta
) -> None:
    expression = cron(text)
    times = list(fire_times(expression, after, after + span))
    assert times == sorted(set(times))
    assert all(after < t <= after + span and expression.matches(t) for t in times)
    if times:
        assert times[0] == expression.next_after(after)


@given(
    year=st.integers(2020, 2040), month=st.integers(1, 12), weekday=st.integers(1, 7), nth=st.integers(1, 5)
)
def test_week_day_rules_pick_the_right_days(year: int, month: int, weekday: int, nth: int) -> None:
    length = calendar.monthrange(year, month)[1]

    def aws_dow(day: int) -> int:  # 1 = Sunday, independently of the module
        return date(year, month, day).isoweekday() % 7 + 1

    (last,) = WeekDays(last_of=frozenset({weekday})).of(year, month)
    assert aws_dow(last) == weekday and last + 7 > length
    nth_days = WeekDays(nth=(weekday, nth)).of(year, month)
    occurrences = [d for d in range(1, length + 1) if aws_dow(d) == weekday]
    assert nth_days == ({occurrences[nth - 1]} if nth <= len(occurrences) else set())


@given(year=st.integers(2020, 2040), month=st.integers(1, 12), day=st.integers(1, 31))
def test_nearest_weekday_stays_in_the_month_within_two_days(year: int, month: int, day: int) -> None:
    length = calendar.monthrange(year, month)[1]
    found = MonthDays(nearest_weekday=frozenset({day})).of(year, month)
    if day > length:
        assert found == set()
        return
    (chosen,) = found
    assert 1 <= chosen <= length and abs(chosen - day) <= 2
    assert date(year, month, chosen).weekday() < 5
    if date(year, month, day).weekday() < 5:
        assert chosen == day
    (last_weekday,) = MonthDays(last_weekday=True).of(year, month)
    assert date(year, month, last_weekday).weekday() < 5
    assert all(date(year, month, d).weekday() >= 5 for d in range(last_weekday + 1, length + 1))


@dataclass(frozen=True)
class FakeSchedule:
    name: str
    expression: str


@settings(max_examples=60, deadline=None)
@given(
    texts=st.lists(
        st.one_of(crons, st.sampled_from(["rate(1 day)", "rate(6 hours)", "rate(90 minutes)"])),
        min_size=1,
        max_size=4,
    ),
    after=moments,
    span=st.timedeltas(timedelta(0), timedelta(days=3)),
)
def test_due_firings_merge_every_schedule_in_time_order_first_listed_first(
    texts: list[str], after: datetime, span: timedelta
) -> None:
    schedules = [FakeSchedule(f"s{i}", text) for i, text in enumerate(texts)]
    merged = [(moment, s.name) for moment, s in due_firings(schedules, after, after + span)]
    order = {s.name: i for i, s in enumerate(schedules)}
    assert merged == sorted(merged, key=lambda pair: (pair[0], order[pair[1]]))
    expected = sorted(
        (moment, s.name)
        for s in schedules
        for moment in fire_times(parse_expression(s.expression), after, after + span)
    )
    assert sorted(merged) == expected


def test_scheduled_event_is_eventbridge_schedulers_shape_with_the_fire_time() -> None:
    arn = "arn:aws:scheduler:eu-west-1:123456789012:schedule/default/meterplex-dev-billing"
    event = scheduled_event(arn, at(2026, 2, 1, 1))
    assert event["time"] == "2026-02-01T01:00:00Z"
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.scheduler"
    assert (event["account"], event["region"], event["resources"]) == ("123456789012", "eu-west-1", [arn])
    assert event["detail"] == {} and event["version"] == "0" and event["id"]


def test_scheduled_event_has_the_shape_of_the_canonical_sample() -> None:
    sample = json.loads(
        (Path(__file__).resolve().parents[3] / "events" / "eventbridge_schedule.json").read_text()
    )
    event = scheduled_event(sample["resources"][0], parse_iso(sample["time"]))
    assert set(event) == set(sample)
    assert {k: event[k] for k in ("account", "region", "time", "resources", "detail-type", "source")} == {
        k: sample[k] for k in ("account", "region", "time", "resources", "detail-type", "source")
    }
