"""Build a ``Dialplan`` from data (decoded YAML/JSON), with errors that name the rule.

Document shape::

    hours:    {office: {tz: Asia/Shanghai, windows: [{days: mon-fri, from: "08:00", to: "18:00"}]}}
    holidays: {dates: [2025-10-01, ...], workdays: [2025-09-28, ...]}
    default:  {hangup: no_route}
    rules:
      - {name: hotline-open, did: ["95598"], hours: office, when: open, flow: demo_main}
      - {name: hotline-closed, did: ["95598"], hours: office, when: closed, flow: demo_after_hours}

A destination is written as exactly one of ``flow``, ``queue``, ``extension``, ``voicemail`` or
``hangup``. Every problem is collected and raised as one ``DialplanError`` whose lines read
``rule '<name>': <message>``, ``hours '<name>': <message>`` or ``dialplan: <message>``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, cast

from callcenter.dialplan.hours import (
    Holidays,
    HoursError,
    Schedule,
    parse_holidays,
    parse_schedule,
)
from callcenter.dialplan.plan import (
    DESTINATION_KINDS,
    Destination,
    DestinationKind,
    Dialplan,
    Rule,
    When,
)

__all__ = ["DialplanError", "parse_destination", "parse_dialplan"]

_RULE_KEYS = {"name", "did", "did_prefix", "did_regex", "caller_prefix", "hours", "when"}
_WHEN = ("any", "open", "closed", "holiday")


class DialplanError(ValueError):
    """An unusable dialplan; ``problems`` lists each one, naming its rule."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid dialplan:\n  " + "\n  ".join(problems))
        self.problems = tuple(problems)


def parse_destination(data: Mapping[str, Any]) -> Destination:
    """``{queue: billing}`` -> ``Destination("queue", "billing")``; raise ValueError otherwise."""
    found = [k for k in DESTINATION_KINDS if k in data]
    if len(found) != 1:
        raise ValueError(f"needs exactly one destination of {', '.join(DESTINATION_KINDS)}")
    kind = found[0]
    target = data[kind]
    if target is None or not str(target).strip():
        raise ValueError(f"destination '{kind}' needs a target")
    return Destination(cast(DestinationKind, kind), str(target))


def _strings(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    return tuple(str(v) for v in items)


def _regex(value: object, problem: list[str]) -> re.Pattern[str] | None:
    if value is None:
        return None
    try:
        return re.compile(str(value))
    except re.error as exc:
        problem.append(f"bad did_regex: {exc}")
        return None


def _rule(i: int, data: object, hours: Mapping[str, Schedule], errors: list[str]) -> Rule | None:
    if not isinstance(data, Mapping):
        errors.append(f"dialplan: rules[{i}] must be a mapping")
        return None
    name = str(data.get("name") or f"#{i + 1}")
    problems: list[str] = []
    unknown = sorted(str(k) for k in data if k not in _RULE_KEYS and k not in DESTINATION_KINDS)
    if unknown:
        problems.append(f"unknown field(s): {', '.join(unknown)}")
    try:
        destination = parse_destination(data)
    except ValueError as exc:
        problems.append(str(exc))
        destination = Destination("hangup", "invalid")
    when = str(data.get("when", "any"))
    if when not in _WHEN:
        problems.append(f"'when' must be one of {', '.join(_WHEN)}, not {when!r}")
    hours_name = data.get("hours")
    if hours_name is not None and str(hours_name) not in hours:
        problems.append(f"unknown hours {hours_name!r}")
    elif hours_name is None and when != "any":
        problems.append(f"'when: {when}' needs 'hours'")
    regex = _regex(data.get("did_regex"), problems)
    errors.extend(f"rule '{name}': {p}" for p in problems)
    if problems:
        return None
    return Rule(
        name,
        destination,
        _strings(data.get("did")),
        _strings(data.get("did_prefix")),
        regex,
        _strings(data.get("caller_prefix")),
        None if hours_name is None else str(hours_name),
        cast(When, when),
    )


def _hours(data: object, errors: list[str]) -> dict[str, Schedule]:
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        errors.append("dialplan: 'hours' must map names to schedules")
        return {}
    out = {}
    for name, spec in data.items():
        try:
            out[str(name)] = parse_schedule(spec)
        except HoursError as exc:
            errors.append(f"hours '{name}': {exc}")
    return out


def _holidays(data: object, errors: list[str]) -> Holidays:
    try:
        return parse_holidays(data)
    except HoursError as exc:
        errors.append(f"dialplan: holidays: {exc}")
        return Holidays()


def parse_dialplan(data: object) -> Dialplan:
    """Validate and build; raise ``DialplanError`` listing every problem."""
    if not isinstance(data, Mapping):
        raise DialplanError(["dialplan: the document must be a mapping"])
    errors: list[str] = []
    unknown = sorted(str(k) for k in data if k not in ("hours", "holidays", "rules", "default"))
    if unknown:
        errors.append(f"dialplan: unknown field(s): {', '.join(unknown)}")
    hours = _hours(data.get("hours"), errors)
    holidays = _holidays(data.get("holidays"), errors)
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        errors.append("dialplan: 'rules' must be a non-empty list")
        raw_rules = []
    rules = [_rule(i, r, hours, errors) for i, r in enumerate(raw_rules)]
    default = Destination("hangup", "no_route")
    if data.get("default") is not None:
        try:
            default = parse_destination(data["default"])
        except (ValueError, TypeError) as exc:
            errors.append(f"dialplan: default: {exc}")
    names = [r.name for r in rules if r is not None]
    errors.extend(
        f"rule '{n}': duplicate name" for n in sorted({n for n in names if names.count(n) > 1})
    )
    if errors:
        raise DialplanError(errors)
    return Dialplan([r for r in rules if r is not None], hours, holidays, default)
