"""Branch conditions: parsed from flow data and evaluated against a session, with no I/O.

Forms: ``{var: balance_fen, op: lt, value: 0}`` (ops ``eq ne lt le gt ge in prefix exists
empty``; numbers compare as numbers when both sides are numeric), ``{caller_prefix: [...]}``,
``{time: {tz, windows}}`` or ``{time: {days, from, to}}`` (local time of the call, see
``dialplan.hours``), and the combinators ``{all: [...]}``, ``{any: [...]}``, ``{not: {...}}``.
Time conditions need the call's wall-clock time; a session without one treats them as false.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from callcenter.dialplan.hours import HoursError, Schedule, parse_window
from callcenter.ivr.nodes import AllOf, AnyOf, CallerPrefix, Condition, Not, TimeOfDay, VarTest
from callcenter.ivr.reader import NodeReader

__all__ = ["OPS", "evaluate", "parse_condition"]

OPS = ("eq", "ne", "lt", "le", "gt", "ge", "in", "prefix", "exists", "empty")
_ALWAYS = AllOf(())


def _number(value: object) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _parse_var(reader: NodeReader, data: Mapping[str, object]) -> Condition:
    unknown = sorted(str(k) for k in data if k not in ("var", "op", "value"))
    if unknown:
        reader.error(f"unknown key(s) in condition: {', '.join(unknown)}")
    op = str(data.get("op", "eq"))
    if op not in OPS:
        reader.error(f"unknown condition op {op!r} (known: {', '.join(OPS)})")
    value = data.get("value")
    if op == "in":
        if not isinstance(value, list):
            reader.error("condition op 'in' needs a list 'value'")
            value = []
        value = tuple(str(v) for v in value)
    elif op not in ("exists", "empty") and value is None:
        reader.error(f"condition op {op!r} needs a 'value'")
    return VarTest(str(data["var"]), op, value)


def _parse_time(reader: NodeReader, data: object, tz: str) -> Condition:
    if not isinstance(data, Mapping):
        reader.error(f"time condition must be a mapping, not {data!r}")
        return _ALWAYS
    spec = dict(data)
    zone = str(spec.pop("tz", tz))
    try:
        if "windows" in spec:
            windows = spec.pop("windows")
            if spec or not isinstance(windows, list) or not windows:
                raise HoursError("use either 'windows: [...]' (and 'tz') or days/from/to")
            parsed = [parse_window(w) for w in windows]
        else:
            parsed = [parse_window(spec)]
        return TimeOfDay(Schedule.build(zone, parsed))
    except HoursError as exc:
        reader.error(f"time condition: {exc}")
        return _ALWAYS


def _parse_list(reader: NodeReader, value: object, tz: str) -> tuple[Condition, ...]:
    if not isinstance(value, list) or not value:
        reader.error("'all' / 'any' need a non-empty list of conditions")
        return ()
    return tuple(parse_condition(reader, item, tz) for item in value)


def _parse_prefix(reader: NodeReader, value: object, tz: str) -> Condition:
    items = value if isinstance(value, list) else [value]
    return CallerPrefix(tuple(str(v) for v in items))


def _parse_all(reader: NodeReader, value: object, tz: str) -> Condition:
    return AllOf(_parse_list(reader, value, tz))


def _parse_any(reader: NodeReader, value: object, tz: str) -> Condition:
    return AnyOf(_parse_list(reader, value, tz))


def _parse_not(reader: NodeReader, value: object, tz: str) -> Condition:
    return Not(parse_condition(reader, value, tz))


_PARSERS: Mapping[str, Callable[[NodeReader, object, str], Condition]] = {
    "caller_prefix": _parse_prefix,
    "time": _parse_time,
    "all": _parse_all,
    "any": _parse_any,
    "not": _parse_not,
}


def parse_condition(reader: NodeReader, data: object, tz: str) -> Condition:
    """Parse one condition; problems are reported through ``reader`` and yield an always-true."""
    if not isinstance(data, Mapping) or not data:
        reader.error(f"a condition must be a mapping, not {data!r}")
        return _ALWAYS
    if "var" in data:
        return _parse_var(reader, data)
    ((key, value),) = data.items() if len(data) == 1 else ((None, None),)
    parser = _PARSERS.get(str(key))
    if parser is None:
        reader.error(f"a condition is one of var, {', '.join(_PARSERS)}; not {dict(data)!r}")
        return _ALWAYS
    return parser(reader, value, tz)


_COMPARE: Mapping[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}


def _compare(op: str, left: object, right: object) -> bool:
    """Numbers compare as numbers; otherwise both sides compare as strings."""
    ln, rn = _number(left), _number(right)
    if ln is not None and rn is not None:
        return bool(_COMPARE[op](ln, rn))
    return bool(_COMPARE[op](str(left), str(right)))


def _var_test(test: VarTest, variables: Mapping[str, object]) -> bool:
    value = variables.get(test.var)
    present = value is not None and value != ""
    if test.op == "exists":
        return present
    if test.op == "empty":
        return not present
    if value is None:
        return False
    if test.op == "in":
        return isinstance(test.value, tuple) and str(value) in test.value
    if test.op == "prefix":
        return str(value).startswith(str(test.value))
    return _compare(test.op, value, test.value)


def evaluate(
    cond: Condition, variables: Mapping[str, object], caller: str, when: datetime | None
) -> bool:
    """True when ``cond`` holds for these variables, caller number and wall-clock time."""
    if isinstance(cond, VarTest):
        return _var_test(cond, variables)
    if isinstance(cond, CallerPrefix):
        return any(caller.startswith(p) for p in cond.prefixes)
    if isinstance(cond, TimeOfDay):
        return when is not None and cond.schedule.in_windows(when)
    if isinstance(cond, Not):
        return not evaluate(cond.item, variables, caller, when)
    results = (evaluate(c, variables, caller, when) for c in cond.items)
    return all(results) if isinstance(cond, AllOf) else any(results)
