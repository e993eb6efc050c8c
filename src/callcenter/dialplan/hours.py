"""Working hours and holidays: weekly time windows in a named time zone, holidays and make-up days.

A ``TimeWindow`` is a set of weekdays and a ``[start, end)`` range in minutes of the local day;
``end`` may be 24:00, and a window whose end is not after its start runs past midnight into the
next day (22:00-06:00 on Friday covers Friday night and early Saturday). A ``Schedule`` is a list
of windows in one IANA time zone (a ``zoneinfo`` key such as ``Asia/Shanghai``). ``Holidays``
lists closed dates and make-up working days (调休: a weekend date worked as a weekday). Nothing
here reads the clock: callers pass an aware ``datetime``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "DAY_NAMES",
    "NO_HOLIDAYS",
    "Holidays",
    "HoursError",
    "Schedule",
    "TimeWindow",
    "load_zone",
    "parse_days",
    "parse_holidays",
    "parse_minutes",
    "parse_schedule",
    "parse_window",
    "weekly_schedule",
]

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"(\d{1,2}):(\d{2})\Z")


class HoursError(ValueError):
    """A bad time window, day name, date or time zone."""


def load_zone(key: str) -> ZoneInfo:
    """``ZoneInfo(key)`` with a clear error for an unknown or malformed key."""
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise HoursError(f"unknown time zone {key!r}") from exc


def parse_minutes(text: object) -> int:
    """``"08:30"`` -> 510; ``"24:00"`` -> 1440."""
    match = _HHMM.match(str(text).strip())
    if not match:
        raise HoursError(f"bad time {text!r}, expected HH:MM")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise HoursError(f"bad time {text!r}")
    return hours * 60 + minutes


def _day(name: str) -> int:
    try:
        return DAY_NAMES.index(name.strip().lower()[:3])
    except ValueError:
        raise HoursError(f"bad day {name!r} (use {', '.join(DAY_NAMES)})") from None


def parse_days(spec: object) -> frozenset[int]:
    """``"mon-fri"``, ``"sat,sun"``, ``["mon", "wed"]`` or ``"*"`` -> weekday numbers (Mon=0)."""
    items: Iterable[object]
    if isinstance(spec, str):
        if spec.strip() in ("*", "all"):
            return frozenset(range(7))
        items = spec.split(",")
    elif isinstance(spec, list | tuple):
        items = spec
    else:
        raise HoursError(f"bad days {spec!r}")
    days: set[int] = set()
    for item in items:
        first, sep, last = str(item).partition("-")
        lo, hi = _day(first), _day(last) if sep else _day(first)
        days.update((lo + i) % 7 for i in range((hi - lo) % 7 + 1))
    if not days:
        raise HoursError("no days given")
    return frozenset(days)


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """Weekdays (Mon=0) and a local ``[start, end)`` in minutes; end <= start crosses midnight."""

    days: frozenset[int]
    start: int
    end: int

    def contains(self, weekday: int, minute: int, previous: int | None = None) -> bool:
        """Inside on local ``weekday`` at ``minute``; ``previous`` is yesterday's weekday
        (differs from ``weekday - 1`` on make-up working days)."""
        if self.start < self.end:
            return weekday in self.days and self.start <= minute < self.end
        if weekday in self.days and minute >= self.start:
            return True
        before = (weekday - 1) % 7 if previous is None else previous
        return before in self.days and minute < self.end


def parse_window(data: object) -> TimeWindow:
    """``{"days": "mon-fri", "from": "08:00", "to": "18:00"}`` -> ``TimeWindow``."""
    if not isinstance(data, Mapping):
        raise HoursError(f"a time window must be a mapping, not {data!r}")
    unknown = set(data) - {"days", "from", "to"}
    if unknown:
        raise HoursError(f"unknown key(s) in time window: {', '.join(sorted(map(str, unknown)))}")
    start = parse_minutes(data.get("from", "00:00"))
    end = parse_minutes(data.get("to", "24:00"))
    if start == end:
        raise HoursError("time window is empty (from == to)")
    return TimeWindow(parse_days(data.get("days", "*")), start, end)


def _parse_date(text: object) -> date:
    try:
        return date.fromisoformat(str(text))
    except ValueError:
        raise HoursError(f"bad date {text!r}, expected YYYY-MM-DD") from None


@dataclass(frozen=True, slots=True)
class Holidays:
    """Closed dates, and make-up working days that follow the weekday rules of ``workday_as``."""

    dates: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    workday_as: int = 0

    def is_holiday(self, day: date) -> bool:
        return day in self.dates

    def effective_weekday(self, day: date) -> int:
        return self.workday_as if day in self.workdays else day.weekday()


def parse_holidays(data: object) -> Holidays:
    """``{"dates": [...], "workdays": [...], "workday_as": "mon"}`` or a plain list of dates."""
    if data is None:
        return Holidays()
    if isinstance(data, list):
        data = {"dates": data}
    if not isinstance(data, Mapping):
        raise HoursError("holidays must be a list of dates or a mapping")
    unknown = set(data) - {"dates", "workdays", "workday_as"}
    if unknown:
        raise HoursError(f"unknown key(s) in holidays: {', '.join(sorted(map(str, unknown)))}")
    dates = frozenset(_parse_date(d) for d in data.get("dates") or [])
    workdays = frozenset(_parse_date(d) for d in data.get("workdays") or [])
    both = dates & workdays
    if both:
        raise HoursError(f"date both holiday and workday: {min(both).isoformat()}")
    return Holidays(dates, workdays, _day(str(data.get("workday_as", "mon"))))


NO_HOLIDAYS = Holidays()


@dataclass(frozen=True, slots=True)
class Schedule:
    """Opening hours in one time zone; ``is_open`` is False on holidays."""

    tz: str
    windows: tuple[TimeWindow, ...]
    zone: ZoneInfo = field(compare=False, repr=False, default=ZoneInfo("UTC"))

    @classmethod
    def build(cls, tz: str, windows: Iterable[TimeWindow]) -> Schedule:
        return cls(tz, tuple(windows), load_zone(tz))

    def local(self, when: datetime) -> datetime:
        if when.tzinfo is None or when.utcoffset() is None:
            raise HoursError("a naive datetime has no time zone; pass an aware datetime")
        return when.astimezone(self.zone)

    def in_windows(self, when: datetime, holidays: Holidays = NO_HOLIDAYS) -> bool:
        """Inside a window by the weekly rules (make-up days count as ``workday_as``)."""
        local = self.local(when)
        minute = local.hour * 60 + local.minute
        today = holidays.effective_weekday(local.date())
        previous = holidays.effective_weekday(date.fromordinal(local.date().toordinal() - 1))
        return any(w.contains(today, minute, previous) for w in self.windows)

    def is_holiday(self, when: datetime, holidays: Holidays) -> bool:
        return holidays.is_holiday(self.local(when).date())

    def is_open(self, when: datetime, holidays: Holidays = NO_HOLIDAYS) -> bool:
        return not self.is_holiday(when, holidays) and self.in_windows(when, holidays)


def parse_schedule(data: object, default_tz: str = "Asia/Shanghai") -> Schedule:
    """``{"tz": "Asia/Shanghai", "windows": [{...}, ...]}`` -> ``Schedule``."""
    if not isinstance(data, Mapping):
        raise HoursError("hours must be a mapping with 'tz' and 'windows'")
    unknown = set(data) - {"tz", "windows"}
    if unknown:
        raise HoursError(f"unknown key(s) in hours: {', '.join(sorted(map(str, unknown)))}")
    windows = data.get("windows")
    if not isinstance(windows, list) or not windows:
        raise HoursError("hours need a non-empty list 'windows'")
    return Schedule.build(str(data.get("tz", default_tz)), (parse_window(w) for w in windows))


def weekly_schedule(tz: str, spans: Iterable[tuple[int, time, time]]) -> Schedule:
    """A schedule from ``(weekday, opens, closes)`` spans (Mon=0), as the administration pages
    store them; ``closes`` not after ``opens`` runs past midnight. No span: never open."""
    windows = []
    for weekday, opens, closes in spans:
        if not 0 <= weekday <= 6:
            raise HoursError(f"weekday {weekday} not in 0..6")
        start, end = opens.hour * 60 + opens.minute, closes.hour * 60 + closes.minute
        if start == end:
            raise HoursError("time window is empty (opens == closes)")
        windows.append(TimeWindow(frozenset({weekday}), start, end))
    return Schedule.build(tz, windows)
