"""EventBridge Scheduler, pure: when a schedule expression fires, and the event its target receives.

Expressions (all in UTC, ADR 0050):
* `rate(n minute|minutes|hour|hours|day|days)` — every n units, at multiples of the period counted
  from the Unix epoch (AWS counts from the schedule's creation, which nothing here can know);
* `cron(minutes hours day-of-month month day-of-week year)` — AWS's six-field cron: `,` `-` `*` `/`
  everywhere but day-of-week; `?` in exactly one of the two day fields; `L`, `LW`, `nW` in
  day-of-month; `L`, `nL` (last n-day of the month) and `d#n` (n-th d-day) in day-of-week, where
  1 = SUN … 7 = SAT;
* `at(yyyy-mm-ddThh:mm:ss)` — once.
"""

from __future__ import annotations

import calendar
import heapq
import re
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

MIN_YEAR, MAX_YEAR = 1970, 2199
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)

MONTH_NAMES = {
    name: number
    for number, name in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1
    )
}
DAY_NAMES = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
RATE_UNITS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}


class Expression(Protocol):
    def next_after(self, moment: datetime) -> datetime | None:
        """The first fire time strictly after `moment`, or None when it never fires again."""


def aws_weekday(year: int, month: int, day: int) -> int:
    """1 = Sunday … 7 = Saturday, as AWS cron counts."""
    return (calendar.weekday(year, month, day) + 1) % 7 + 1


@dataclass(frozen=True)
class Rate:
    period: timedelta

    def next_after(self, moment: datetime) -> datetime | None:
        return EPOCH + ((moment - EPOCH) // self.period + 1) * self.period


@dataclass(frozen=True)
class At:
    moment: datetime

    def next_after(self, moment: datetime) -> datetime | None:
        return self.moment if self.moment > moment else None


@dataclass(frozen=True)
class MonthDays:
    """Day-of-month rule: explicit days, `L` (last day), `LW` (last weekday), `nW` (nearest weekday)."""

    days: frozenset[int] = frozenset()
    last: bool = False
    last_weekday: bool = False
    nearest_weekday: frozenset[int] = frozenset()

    def of(self, year: int, month: int) -> set[int]:
        length = calendar.monthrange(year, month)[1]
        found = {d for d in self.days if d <= length}
        if self.last:
            found.add(length)
        if self.last_weekday:
            found.add(_weekday_near(year, month, length, length))
        found |= {_weekday_near(year, month, n, length) for n in self.nearest_weekday if n <= length}
        return found


def _weekday_near(year: int, month: int, day: int, length: int) -> int:
    """The Monday–Friday nearest `day`, never leaving the month (Quartz/AWS `W`)."""
    weekday = calendar.weekday(year, month, day)  # Monday = 0
    if weekday == 5:  # Saturday → Friday, or Monday when the 1st is a Saturday
        return day - 1 if day > 1 else day + 2
    if weekday == 6:  # Sunday → Monday, or Friday when the month ends on a Sunday
        return day + 1 if day < length else day - 2
    return day


@dataclass(frozen=True)
class WeekDays:
    """Day-of-week rule: weekdays (1 = SUN), `nL` (last n-day of the month), `d#n` (n-th d-day)."""

    weekdays: frozenset[int] = frozenset()
    last_of: frozenset[int] = frozenset()
    nth: tuple[int, int] | None = None

    def of(self, year: int, month: int) -> set[int]:
        length = calendar.monthrange(year, month)[1]
        found = set()
        for day in range(1, length + 1):
            weekday = aws_weekday(year, month, day)
            if weekday in self.weekdays:
                found.add(day)
            if weekday in self.last_of and day + 7 > length:
                found.add(day)
            if self.nth is not None and weekday == self.nth[0] and (day - 1) // 7 + 1 == self.nth[1]:
                found.add(day)
        return found


@dataclass(frozen=True)
class Cron:
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: MonthDays | WeekDays
    months: tuple[int, ...]
    years: tuple[int, ...]

    def matches(self, moment: datetime) -> bool:
        return (
            moment.second == 0
            and moment.microsecond == 0
            and moment.minute in self.minutes
            and moment.hour in self.hours
            and moment.month in self.months
            and moment.year in self.years
            and moment.day in self.days.of(moment.year, moment.month)
        )

    def next_after(self, moment: datetime) -> datetime | None:
        start = moment.astimezone(UTC).replace(second=0, microsecond=0) + MINUTE
        for year in self.years:
            if year < start.year:
                continue
            for month in self.months:
                if (year, month) < (start.year, start.month):
                    continue
                first_month = (year, month) == (start.year, start.month)
                for day in sorted(self.days.of(year, month)):
                    if first_month and day < start.day:
                        continue
                    first_day = first_month and day == start.day
                    for hour in self.hours:
                        if first_day and hour < start.hour:
                            continue
                        first_hour = first_day and hour == start.hour
                        for minute in self.minutes:
                            if first_hour and minute < start.minute:
                                continue
                            return datetime(year, month, day, hour, minute, tzinfo=UTC)
        return None


_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_CRON = re.compile(r"^cron\(([^()]*)\)$")


def parse_expression(text: str) -> Rate | At | Cron:
    """Parse an EventBridge Scheduler expression; ValueError names what is wrong."""
    text = text.strip()
    if rate := _RATE.match(text):
        value, unit = int(rate.group(1)), rate.group(2)
        if value < 1:
            raise ValueError(f"{text!r}: the rate must be at least 1")
        if (value == 1) != (not unit.endswith("s")):
            raise ValueError(f"{text!r}: use the singular unit for 1 and the plural otherwise")
        return Rate(value * RATE_UNITS[unit.rstrip("s")])
    if at := _AT.match(text):
        return At(datetime.fromisoformat(at.group(1)).replace(tzinfo=UTC))
    if cron := _CRON.match(text):
        return _parse_cron(text, cron.group(1).split())
    raise ValueError(f"{text!r} is not a rate(...), cron(...) or at(...) expression")


def _parse_cron(text: str, fields: list[str]) -> Cron:
    if len(fields) != 6:
        raise ValueError(f"{text!r}: a cron expression has six fields, got {len(fields)}")
    minutes, hours, day_of_month, months, day_of_week, years = fields
    if (day_of_month == "?") == (day_of_week == "?"):
        raise ValueError(f"{text!r}: exactly one of day-of-month and day-of-week must be '?'")
    days = _month_days(day_of_month) if day_of_week == "?" else _week_days(day_of_week)
    return Cron(
        minutes=tuple(sorted(_values(minutes, 0, 59))),
        hours=tuple(sorted(_values(hours, 0, 23))),
        days=days,
        months=tuple(sorted(_values(months, 1, 12, MONTH_NAMES))),
        years=tuple(sorted(_values(years, MIN_YEAR, MAX_YEAR))),
    )


def _number(token: str, low: int, high: int, names: dict[str, int] | None = None) -> int:
    if names and token.upper() in names:
        return names[token.upper()]
    if not token.isdigit():
        raise ValueError(f"{token!r} is not a number")
    value = int(token)
    if not low <= value <= high:
        raise ValueError(f"{value} is outside {low}-{high}")
    return value


def _values(
    field: str, low: int, high: int, names: dict[str, int] | None = None, step: bool = True
) -> set[int]:
    """`*`, `a`, `a-b`, `a/s`, `a-b/s`, `*/s` and comma lists of them."""
    values: set[int] = set()
    for item in field.split(","):
        base, _, increment = item.partition("/")
        if increment and not step:
            raise ValueError(f"{item!r}: '/' is not allowed in this field")
        every = _number(increment, 1, high - low + 1) if increment else 1
        if base == "*":
            first, last = low, high
        elif "-" in base:
            start, _, end = base.partition("-")
            first, last = _number(start, low, high, names), _number(end, low, high, names)
            if first > last:
                raise ValueError(f"{item!r}: a range runs from low to high")
        else:
            first = _number(base, low, high, names)
            last = high if increment else first
        values |= set(range(first, last + 1, every))
    return values


def _month_days(field: str) -> MonthDays:
    if field == "L":
        return MonthDays(last=True)
    if field == "LW":
        return MonthDays(last_weekday=True)
    nearest = {int(item[:-1]) for item in field.split(",") if re.fullmatch(r"\d{1,2}W", item)}
    if any(not 1 <= n <= 31 for n in nearest):
        raise ValueError(f"{field!r}: nW takes a day 1-31")
    rest = [item for item in field.split(",") if not re.fullmatch(r"\d{1,2}W", item)]
    days = _values(",".join(rest), 1, 31) if rest else set()
    return MonthDays(days=frozenset(days), nearest_weekday=frozenset(nearest))


def _is_last_of(item: str) -> bool:
    return len(item) > 1 and item.endswith("L")


def _week_days(field: str) -> WeekDays:
    if "#" in field:
        if "," in field:
            raise ValueError(f"{field!r}: '#' allows one expression in day-of-week")
        day, _, nth = field.partition("#")
        return WeekDays(nth=(_number(day, 1, 7, DAY_NAMES), _number(nth, 1, 5)))
    if field == "L":
        return WeekDays(weekdays=frozenset({7}))  # the last day of the week: Saturday
    last = {
        _number(item[:-1], 1, 7, DAY_NAMES)
        for item in field.split(",")
        if item.endswith("L") and len(item) > 1
    }
    rest = [item for item in field.split(",") if not (item.endswith("L") and len(item) > 1)]
    weekdays = _values(",".join(rest), 1, 7, DAY_NAMES, step=False) if rest else set()
    return WeekDays(weekdays=frozenset(weekdays), last_of=frozenset(last))


def fire_times(expression: Expression, after: datetime, until: datetime) -> Iterator[datetime]:
    """Every fire time in (after, until], in order."""
    moment = expression.next_after(after)
    while moment is not None and moment <= until:
        yield moment
        moment = expression.next_after(moment)


class Scheduled(Protocol):
    @property
    def expression(self) -> str: ...


S = TypeVar("S", bound=Scheduled)


def due_firings(schedules: Sequence[S], after: datetime, until: datetime) -> Iterator[tuple[datetime, S]]:
    """Every (fire time, schedule) in (after, until] across `schedules`, in time order; a tie goes
    to the schedule listed first."""
    streams: Iterable[tuple[int, Iterator[datetime]]] = (
        (index, fire_times(parse_expression(s.expression), after, until)) for index, s in enumerate(schedules)
    )
    heap: list[tuple[datetime, int, Iterator[datetime]]] = []
    for index, times in streams:
        first = next(times, None)
        if first is not None:
            heap.append((first, index, times))
    heapq.heapify(heap)
    while heap:
        moment, index, times = heapq.heappop(heap)
        yield moment, schedules[index]
        following = next(times, None)
        if following is not None:
            heapq.heappush(heap, (following, index, times))


# -- the event a target receives ------------------------------------------------------------------
def schedule_arn(region: str, account: str, name: str, group: str = "default") -> str:
    return f"arn:aws:scheduler:{region}:{account}:schedule/{group}/{name}"


def event_template(
    *, event_id: str, account: str, region: str, time: str, schedule_arn: str
) -> dict[str, Any]:
    """EventBridge Scheduler's 'Scheduled Event' shape. The CDK fills it with the scheduler's context
    attributes (`<aws.scheduler.scheduled-time>`…); the local scheduler and advance with values."""
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": account,
        "time": time,
        "region": region,
        "resources": [schedule_arn],
        "detail": {},
    }


def scheduled_event(arn: str, at: datetime) -> dict[str, Any]:
    """The event of one firing at `at` of the schedule `arn` (account and region from the ARN)."""
    parts = arn.split(":")
    region, account = (parts[3], parts[4]) if len(parts) > 5 else ("", "")
    return event_template(
        event_id=str(uuid.uuid4()),
        account=account,
        region=region,
        time=at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        schedule_arn=arn,
    )
