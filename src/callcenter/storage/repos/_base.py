"""What every repository shares: the database handle, record conversion and argument checks."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.orm import Session

from callcenter.storage.db import Database
from callcenter.storage.errors import NotFound, ValidationFailed

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")
M = TypeVar("M")


def to_record(cls: type[R], row: object) -> R:
    """Copy the attributes named by the record's fields off an ORM row."""
    return cls(**{f.name: getattr(row, f.name) for f in dataclasses.fields(cls)})


def utcnow() -> datetime:
    return datetime.now(UTC)


def require(session: Session, model: type[M], key: Any, what: str) -> M:
    """The row with primary key ``key`` or NotFound."""
    row = session.get(model, key)
    if row is None:
        raise NotFound(f"{what} {key!r} not found")
    return row


def check_in(value: str, allowed: Iterable[str], what: str) -> str:
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValidationFailed(f"{what} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def check_range(value: int, low: int, high: int, what: str) -> int:
    if not low <= value <= high:
        raise ValidationFailed(f"{what} must be between {low} and {high}; got {value}")
    return value


def check_aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None:
        raise ValidationFailed(f"{what} must be an aware datetime")
    return value


class Repo:
    def __init__(self, db: Database) -> None:
        self._db = db
