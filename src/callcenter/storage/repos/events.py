"""The typed append-only event log: every domain event, numbered by a growing BIGINT ``seq``.

Consumers (reporting, the API WebSocket after a reconnect) resume with ``since(seq)``. For that to
never skip an event, ``seq`` order must equal commit order: on PostgreSQL a transaction-scoped
advisory lock serialises appends (a sequence alone hands out numbers before commit, so a later
number could become visible first); on SQLite ``BEGIN IMMEDIATE`` already does.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from callcenter.storage.errors import ValidationFailed
from callcenter.storage.repos._base import Repo, check_aware, to_record
from callcenter.storage.schema import EventRow

_INSERT = insert(EventRow.__table__)  # type: ignore[arg-type]

# An arbitrary constant naming the append lock in pg_advisory_xact_lock.
_PG_APPEND_LOCK = 0x63634556  # "ccEV"


@dataclass(frozen=True, slots=True)
class EventRecord:
    seq: int
    type: str
    at: datetime
    call_id: str | None
    agent_id: int | None
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class NewEvent:
    type: str
    at: datetime
    payload: dict[str, Any]
    call_id: str | None = None
    agent_id: int | None = None


def jsonable(value: Any) -> Any:
    """A JSON-safe copy: dataclasses to dicts, datetimes to ISO text, enums to their value."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return value


def event_from(obj: object, at: datetime) -> NewEvent:
    """A log entry for a frozen-dataclass domain event: type is the class name (past tense)."""
    if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
        raise ValidationFailed("domain events are dataclass instances")
    payload = jsonable(obj)
    call_id = payload.get("call_id")
    agent_id = payload.get("agent_id")
    return NewEvent(
        type=type(obj).__name__,
        at=at,
        payload=payload,
        call_id=None if call_id is None else str(call_id),
        agent_id=agent_id if isinstance(agent_id, int) else None,
    )


def lock_event_log(s: Session) -> None:
    """Serialise appends until this transaction ends (PostgreSQL; SQLite is serial already)."""
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_APPEND_LOCK})


class EventLog(Repo):
    def append(
        self,
        event_type: str,
        payload: dict[str, Any],
        at: datetime,
        *,
        call_id: str | None = None,
        agent_id: int | None = None,
    ) -> int:
        """Append one event; returns its ``seq``."""
        return self.append_many([NewEvent(event_type, at, payload, call_id, agent_id)])[0]

    def append_many(self, events: Sequence[NewEvent]) -> list[int]:
        """Append several events in one transaction (all or none); their ``seq`` in order."""
        for ev in events:
            check_aware(ev.at, "event time")
            if not ev.type:
                raise ValidationFailed("an event needs a type")
        with self._db.transaction() as s:
            lock_event_log(s)
            conn = s.connection()
            seqs: list[int] = []
            for ev in events:  # one by one: the seq order must follow the list order
                # A Core INSERT: the ORM's unit of work cost 4x as much per row, and the
                # event log is the most frequent write (about ten rows per call).
                result = conn.execute(
                    _INSERT,
                    {
                        "type": ev.type,
                        "at": ev.at,
                        "call_id": ev.call_id,
                        "agent_id": ev.agent_id,
                        "payload": jsonable(ev.payload),
                    },
                )
                key = result.inserted_primary_key
                assert key is not None
                seqs.append(int(key[0]))
            return seqs

    def append_event(self, event: object, at: datetime) -> int:
        return self.append_many([event_from(event, at)])[0]

    def since(self, seq: int, limit: int = 1000) -> list[EventRecord]:
        """Events with ``seq`` greater than ``seq``, oldest first."""
        stmt = select(EventRow).where(EventRow.seq > seq).order_by(EventRow.seq).limit(limit)
        with self._db.transaction() as s:
            return [to_record(EventRecord, r) for r in s.scalars(stmt)]

    def for_call(self, call_id: str) -> list[EventRecord]:
        stmt = select(EventRow).where(EventRow.call_id == call_id).order_by(EventRow.seq)
        with self._db.transaction() as s:
            return [to_record(EventRecord, r) for r in s.scalars(stmt)]

    def last_seq(self) -> int:
        """The highest ``seq`` so far, 0 for an empty log."""
        with self._db.transaction() as s:
            return int(s.scalar(select(func.max(EventRow.seq))) or 0)
