"""Stored working hours in the dialplan: ``weekly_schedule`` spans and ``with_schedules``
replacing or adding named schedules, each with its own holidays on top of the shared ones."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from callcenter.dialplan import Destination, Dialplan, Holidays, HoursError, Rule, weekly_schedule
from callcenter.dialplan.hours import TimeWindow

SH = ZoneInfo("Asia/Shanghai")
OPEN, CLOSED, HOLIDAY = (Destination("flow", n) for n in ("open", "closed", "holiday"))
RULES = [
    Rule("holiday", HOLIDAY, hours="default", when="holiday"),
    Rule("open", OPEN, hours="default", when="open"),
    Rule("closed", CLOSED, hours="default", when="closed"),
]
FILE = Dialplan(
    RULES,
    {"default": weekly_schedule("Asia/Shanghai", [(d, time(8), time(18)) for d in range(5)])},
    Holidays(frozenset({date(2026, 5, 1)}), frozenset({date(2026, 5, 9)}), 0),
)


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)  # type: ignore[misc]


def dest(plan: Dialplan, when: datetime) -> Destination:
    return plan.route("95598", "13800000001", when).destination


def test_weekly_schedule_spans() -> None:
    s = weekly_schedule("Asia/Shanghai", [(5, time(9), time(12, 30)), (6, time(22), time(2))])
    assert s.windows == (
        TimeWindow(frozenset({5}), 540, 750),
        TimeWindow(frozenset({6}), 1320, 120),
    )
    assert weekly_schedule("UTC", []).is_open(at(2026, 3, 2, 10)) is False
    with pytest.raises(HoursError):
        weekly_schedule("Asia/Shanghai", [(7, time(9), time(10))])
    with pytest.raises(HoursError):
        weekly_schedule("Asia/Shanghai", [(1, time(9), time(9))])
    with pytest.raises(HoursError):
        weekly_schedule("Mars/Olympus", [(1, time(9), time(10))])


def test_stored_schedule_replaces_the_files_hours() -> None:
    saturday_10 = at(2026, 3, 7, 10)
    assert dest(FILE, saturday_10) == CLOSED
    stored = weekly_schedule("Asia/Shanghai", [(d, time(8), time(20)) for d in range(6)])
    plan = FILE.with_schedules({"default": (stored, frozenset())})
    assert dest(plan, saturday_10) == OPEN
    assert dest(plan, at(2026, 3, 2, 19)) == OPEN  # Monday 19:00: the file said closed
    assert dest(FILE, at(2026, 3, 2, 19)) == CLOSED  # the file's plan is left as it was


def test_stored_holidays_add_to_the_shared_ones() -> None:
    stored = weekly_schedule("Asia/Shanghai", [(d, time(8), time(20)) for d in range(7)])
    plan = FILE.with_schedules({"default": (stored, frozenset({date(2026, 3, 3)}))})
    assert dest(plan, at(2026, 3, 3, 10)) == HOLIDAY  # the stored holiday
    assert dest(plan, at(2026, 5, 1, 10)) == HOLIDAY  # the file's shared one still counts
    assert dest(plan, at(2026, 3, 4, 10)) == OPEN
    # a stored holiday on a make-up working day wins: closed that day
    plan = FILE.with_schedules({"default": (stored, frozenset({date(2026, 5, 9)}))})
    assert dest(plan, at(2026, 5, 9, 10)) == HOLIDAY


def test_new_schedule_names_are_added() -> None:
    night = weekly_schedule("UTC", [(d, time(0), time(6)) for d in range(7)])
    plan = FILE.with_schedules({"night": (night, frozenset())})
    assert set(plan.hours) == {"default", "night"}
    assert plan.hours["default"] is FILE.hours["default"]
