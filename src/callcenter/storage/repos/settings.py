"""Business hours and holidays (named schedules), business categories and system parameters.

System parameters are typed: the type is inferred from the Python value on ``set`` (bool, int,
float, str, or JSON for dicts and lists), stored with the JSON text, and ``get`` returns a value
of the same type.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import delete, select

from callcenter.storage.errors import NotFound, ValidationFailed
from callcenter.storage.repos._base import Repo, check_aware, require, to_record
from callcenter.storage.schema import (
    BusinessCategory,
    Holiday,
    Schedule,
    ScheduleHours,
    SystemParam,
)

ParamValue = bool | int | float | str | dict[str, Any] | list[Any]


@dataclass(frozen=True, slots=True)
class OpenSpan:
    weekday: int  # 0 = Monday
    opens: time
    closes: time


@dataclass(frozen=True, slots=True)
class HolidayRecord:
    day: date
    name: str


@dataclass(frozen=True, slots=True)
class ScheduleRecord:
    name: str
    timezone: str
    hours: tuple[OpenSpan, ...]
    holidays: tuple[HolidayRecord, ...]


@dataclass(frozen=True, slots=True)
class CategoryRecord:
    id: int
    code: str
    name: str
    description: str
    sort_order: int
    enabled: bool


def _param_type(value: ParamValue) -> str:
    # bool before int: True is an int in Python
    for kind, types in (("bool", bool), ("int", int), ("float", float), ("str", str)):
        if isinstance(value, types):
            return kind
    if isinstance(value, dict | list):
        return "json"
    raise ValidationFailed(f"unsupported parameter type {type(value).__name__}")


def _check_span(span: OpenSpan) -> None:
    if not 0 <= span.weekday <= 6:
        raise ValidationFailed(f"weekday must be 0..6; got {span.weekday}")
    if span.opens >= span.closes:
        raise ValidationFailed(f"opening {span.opens} must be before closing {span.closes}")


class ScheduleRepo(Repo):
    def put(self, name: str, timezone: str, hours: list[OpenSpan]) -> ScheduleRecord:
        """Create or replace the opening hours of schedule ``name`` (holidays are kept)."""
        for span in hours:
            _check_span(span)
        with self._db.transaction() as s:
            row = s.scalar(select(Schedule).where(Schedule.name == name))
            if row is None:
                row = Schedule(name=name, timezone=timezone)
                s.add(row)
                s.flush()
            row.timezone = timezone
            s.execute(delete(ScheduleHours).where(ScheduleHours.schedule_id == row.id))
            for span in hours:
                s.add(ScheduleHours(schedule_id=row.id, **_span_fields(span)))
        return self._require(name)

    def add_holiday(self, name: str, day: date, label: str) -> None:
        with self._db.transaction() as s:
            row = s.scalar(select(Schedule).where(Schedule.name == name))
            if row is None:
                raise NotFound(f"schedule {name!r} not found")
            s.add(Holiday(schedule_id=row.id, day=day, name=label))

    def remove_holiday(self, name: str, day: date) -> bool:
        with self._db.transaction() as s:
            sid = s.scalar(select(Schedule.id).where(Schedule.name == name))
            result = s.execute(
                delete(Holiday).where(Holiday.schedule_id == sid, Holiday.day == day)
            )
            return bool(getattr(result, "rowcount", 0))

    def get(self, name: str) -> ScheduleRecord | None:
        with self._db.transaction() as s:
            row = s.scalar(select(Schedule).where(Schedule.name == name))
            if row is None:
                return None
            hours = s.scalars(
                select(ScheduleHours)
                .where(ScheduleHours.schedule_id == row.id)
                .order_by(ScheduleHours.weekday, ScheduleHours.opens)
            )
            days = s.scalars(
                select(Holiday).where(Holiday.schedule_id == row.id).order_by(Holiday.day)
            )
            return ScheduleRecord(
                row.name,
                row.timezone,
                tuple(OpenSpan(h.weekday, h.opens, h.closes) for h in hours),
                tuple(HolidayRecord(d.day, d.name) for d in days),
            )

    def all(self) -> list[ScheduleRecord]:
        """Every schedule, by name."""
        with self._db.transaction() as s:
            names = list(s.scalars(select(Schedule.name).order_by(Schedule.name)))
        return [self._require(name) for name in names]

    def _require(self, name: str) -> ScheduleRecord:
        record = self.get(name)
        if record is None:  # pragma: no cover - just written
            raise NotFound(f"schedule {name!r} not found")
        return record


def _span_fields(span: OpenSpan) -> dict[str, Any]:
    return {"weekday": span.weekday, "opens": span.opens, "closes": span.closes}


class CategoryRepo(Repo):
    def put(
        self, code: str, name: str, *, description: str = "", sort_order: int = 0
    ) -> CategoryRecord:
        with self._db.transaction() as s:
            row = s.scalar(select(BusinessCategory).where(BusinessCategory.code == code))
            if row is None:
                row = BusinessCategory(code=code, enabled=True)
                s.add(row)
            row.name = name
            row.description = description
            row.sort_order = sort_order
            s.flush()
            return to_record(CategoryRecord, row)

    def set_enabled(self, code: str, enabled: bool) -> None:
        with self._db.transaction() as s:
            row = s.scalar(select(BusinessCategory).where(BusinessCategory.code == code))
            if row is None:
                raise NotFound(f"business category {code!r} not found")
            row.enabled = enabled

    def all(self, *, enabled_only: bool = False) -> list[CategoryRecord]:
        stmt = select(BusinessCategory).order_by(BusinessCategory.sort_order, BusinessCategory.code)
        if enabled_only:
            stmt = stmt.where(BusinessCategory.enabled.is_(True))
        with self._db.transaction() as s:
            return [to_record(CategoryRecord, r) for r in s.scalars(stmt)]


class ParamRepo(Repo):
    def set(self, key: str, value: ParamValue, now: datetime, description: str = "") -> None:
        check_aware(now, "now")
        kind = _param_type(value)
        with self._db.transaction() as s:
            row = s.get(SystemParam, key)
            if row is None:
                row = SystemParam(key=key, description=description)
                s.add(row)
            elif description:
                row.description = description
            row.type = kind
            row.value = json.dumps(value, ensure_ascii=False)
            row.updated_at = now

    def get(self, key: str) -> ParamValue | None:
        with self._db.transaction() as s:
            row = s.get(SystemParam, key)
            return None if row is None else _decode(row)

    def all(self) -> dict[str, ParamValue]:
        with self._db.transaction() as s:
            rows = s.scalars(select(SystemParam).order_by(SystemParam.key))
            return {r.key: _decode(r) for r in rows}

    def delete(self, key: str) -> None:
        with self._db.transaction() as s:
            s.delete(require(s, SystemParam, key, "parameter"))


def _decode(row: SystemParam) -> ParamValue:
    # json keeps the type: 1.0 round-trips as a float, 1 as an int, true as a bool
    value: ParamValue = json.loads(row.value)
    return value
