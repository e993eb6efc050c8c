"""The dialplan: called number (DID), caller number and time of day to a destination.

Rules are tried in order; the first whose every condition holds wins. Conditions: the called
number exactly (``did``), by prefix (``did_prefix``) or by a full-match regular expression
(``did_regex``); the caller by prefix (``caller_prefix``); and time (``when``: ``open``,
``closed``, ``holiday`` or ``any``) against a named schedule of working hours (``hours``), with
the shared holiday list. Destinations: an IVR flow, a queue, an extension, a voicemail box or a
hang-up. ``route`` returns the destination with an explanation line per rule tried, for logs and
the admin UI's "test a number" button. ``with_schedules`` gives a copy using stored working
hours and holidays (edited live by an administrator) under their names. The caller passes an
aware ``datetime``; nothing here reads the clock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from callcenter.dialplan.hours import NO_HOLIDAYS, Holidays, Schedule

__all__ = ["DESTINATION_KINDS", "Destination", "Dialplan", "Route", "Rule", "When"]

DESTINATION_KINDS = ("flow", "queue", "extension", "voicemail", "hangup")
When = Literal["any", "open", "closed", "holiday"]
DestinationKind = Literal["flow", "queue", "extension", "voicemail", "hangup"]


@dataclass(frozen=True, slots=True)
class Destination:
    kind: DestinationKind
    target: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.target}"


@dataclass(frozen=True, slots=True)
class Rule:
    """One dialplan line; empty matchers match anything."""

    name: str
    destination: Destination
    did: tuple[str, ...] = ()
    did_prefix: tuple[str, ...] = ()
    did_regex: re.Pattern[str] | None = None
    caller_prefix: tuple[str, ...] = ()
    hours: str | None = None
    when: When = "any"


@dataclass(frozen=True, slots=True)
class Route:
    """The routing decision. ``is_open`` / ``is_holiday`` describe the winning rule's schedule
    (None when it has none); the calls controller may pass them to the IVR as variables."""

    destination: Destination
    rule: str | None
    explanation: tuple[str, ...]
    is_open: bool | None = None
    is_holiday: bool | None = None


def _did_mismatch(rule: Rule, called: str) -> str | None:
    if not (rule.did or rule.did_prefix or rule.did_regex):
        return None
    if called in rule.did:
        return None
    if any(called.startswith(p) for p in rule.did_prefix):
        return None
    if rule.did_regex is not None and rule.did_regex.fullmatch(called):
        return None
    return f"called number {called!r} does not match"


def _caller_mismatch(rule: Rule, caller: str) -> str | None:
    if not rule.caller_prefix or any(caller.startswith(p) for p in rule.caller_prefix):
        return None
    return f"caller {caller!r} has none of the prefixes {', '.join(rule.caller_prefix)}"


class Dialplan:
    """Ordered rules, named working-hours schedules, shared holidays, a default destination."""

    def __init__(
        self,
        rules: Sequence[Rule],
        hours: Mapping[str, Schedule],
        holidays: Holidays = NO_HOLIDAYS,
        default: Destination = Destination("hangup", "no_route"),
        schedule_holidays: Mapping[str, Holidays] | None = None,
    ) -> None:
        missing = sorted({r.hours for r in rules if r.hours is not None} - set(hours))
        if missing:
            raise ValueError(f"rules name unknown hours: {', '.join(missing)}")
        timeless = [r.name for r in rules if r.when != "any" and r.hours is None]
        if timeless:
            raise ValueError(f"rules with a 'when' need 'hours': {', '.join(timeless)}")
        self.rules = tuple(rules)
        self.hours = dict(hours)
        self.holidays = holidays
        self.default = default
        # per schedule: the shared holidays plus its own (stored schedules have their own list)
        self.schedule_holidays = dict(schedule_holidays or {})

    def with_schedules(self, schedules: Mapping[str, tuple[Schedule, frozenset[date]]]) -> Dialplan:
        """A copy in which each named schedule (stored working hours, with its own holiday
        dates on top of the shared ones) replaces the one of that name or is added."""
        hours = {**self.hours, **{name: sched for name, (sched, _) in schedules.items()}}
        own = {
            name: Holidays(
                self.holidays.dates | days, self.holidays.workdays - days, self.holidays.workday_as
            )
            for name, (_, days) in schedules.items()
        }
        return Dialplan(self.rules, hours, self.holidays, self.default, own)

    def _time_state(self, rule: Rule, when: datetime) -> tuple[bool | None, bool | None, str]:
        if rule.hours is None:
            return None, None, ""
        schedule = self.hours[rule.hours]
        holidays = self.schedule_holidays.get(rule.hours, self.holidays)
        local = schedule.local(when)
        holiday = schedule.is_holiday(when, holidays)
        is_open = schedule.is_open(when, holidays)
        state = "holiday" if holiday else ("open" if is_open else "closed")
        return is_open, holiday, f"{local:%Y-%m-%d %a %H:%M} {schedule.tz} is {state}"

    def _time_mismatch(self, rule: Rule, is_open: bool | None, holiday: bool | None) -> bool:
        if rule.when == "any":
            return False
        if rule.when == "holiday":
            return not holiday
        return is_open is not (rule.when == "open")

    def route(self, called: str, caller: str, wall_time: datetime) -> Route:
        """The first matching rule's destination, or the default; with the reasons."""
        lines: list[str] = []
        for rule in self.rules:
            reason = _did_mismatch(rule, called) or _caller_mismatch(rule, caller)
            if reason:
                lines.append(f"rule '{rule.name}': {reason}")
                continue
            is_open, holiday, state = self._time_state(rule, wall_time)
            if self._time_mismatch(rule, is_open, holiday):
                lines.append(f"rule '{rule.name}': wants {rule.when}, but {state}")
                continue
            detail = f" ({state})" if state else ""
            lines.append(f"rule '{rule.name}': matched{detail} -> {rule.destination}")
            return Route(rule.destination, rule.name, tuple(lines), is_open, holiday)
        lines.append(f"no rule matched -> default {self.default}")
        return Route(self.default, None, tuple(lines))
