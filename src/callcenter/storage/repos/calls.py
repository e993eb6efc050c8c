"""Call detail records: one per call, with its legs, queue wait, ring, talk, hold and wrap-up
times, outcome, recording, IVR path, business category and customer.

A CDR is opened when the call arrives (``outcome`` NULL) and closed exactly once. After a crash
``close_interrupted(now)`` closes every CDR and leg still open as ``interrupted`` in one
transaction; every method writes in one transaction, so no CDR is ever half-written.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from callcenter.storage.errors import Conflict, NotFound, ValidationFailed
from callcenter.storage.repos._base import Repo, check_aware, check_in, to_record
from callcenter.storage.repos.events import lock_event_log
from callcenter.storage.schema import Cdr, CdrLeg, EventRow
from callcenter.storage.schema.base import LEG_DISPOSITIONS, LEG_ROLES, OUTCOMES


@dataclass(frozen=True, slots=True)
class LegRecord:
    leg_id: str
    peer: str
    role: str
    start_time: datetime
    answer_time: datetime | None
    end_time: datetime | None
    disposition: str | None


@dataclass(frozen=True, slots=True)
class CallTimes:
    """Seconds spent in each phase of a call (RFC-free, ACD vocabulary)."""

    queue_wait_seconds: float = 0.0
    ring_seconds: float = 0.0
    talk_seconds: float = 0.0
    hold_seconds: float = 0.0
    wrapup_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class CdrRecord:
    id: int
    call_id: str
    direction: str
    caller: str
    called: str
    start_time: datetime
    answer_time: datetime | None
    end_time: datetime | None
    queue: str | None
    agent_id: int | None
    queue_wait_seconds: float
    ring_seconds: float
    talk_seconds: float
    hold_seconds: float
    wrapup_seconds: float
    outcome: str | None
    recording_id: int | None
    ivr_path: list[str]
    business_category: str | None
    customer_id: int | None
    legs: tuple[LegRecord, ...]


def _record(s: Session, row: Cdr) -> CdrRecord:
    legs = s.scalars(select(CdrLeg).where(CdrLeg.cdr_id == row.id).order_by(CdrLeg.id))
    fields = {k: getattr(row, k) for k in CdrRecord.__dataclass_fields__ if k != "legs"}
    return CdrRecord(**fields, legs=tuple(to_record(LegRecord, leg) for leg in legs))


def _cdr(s: Session, call_id: str) -> Cdr:
    row = s.scalar(select(Cdr).where(Cdr.call_id == call_id))
    if row is None:
        raise NotFound(f"call {call_id!r} not found")
    return row


def _leg(s: Session, leg_id: str) -> CdrLeg:
    row = s.scalar(select(CdrLeg).where(CdrLeg.leg_id == leg_id))
    if row is None:
        raise NotFound(f"leg {leg_id!r} not found")
    return row


def _check_times(times: CallTimes) -> None:
    for name, value in asdict(times).items():
        if value < 0:
            raise ValidationFailed(f"{name} must not be negative")


class CdrRepo(Repo):
    def open_call(
        self,
        call_id: str,
        caller: str,
        called: str,
        start_time: datetime,
        *,
        direction: str = "inbound",
        caller_leg: str | None = None,
    ) -> CdrRecord:
        """Open the CDR (and, if named, the caller's leg) of a call that just arrived."""
        check_aware(start_time, "start_time")
        with self._db.transaction() as s:
            if s.scalar(select(Cdr.id).where(Cdr.call_id == call_id)) is not None:
                raise Conflict(f"call {call_id!r} already has a CDR")
            row = Cdr(
                call_id=call_id,
                direction=direction,
                caller=caller,
                called=called,
                start_time=start_time,
                ivr_path=[],
            )
            s.add(row)
            s.flush()
            if caller_leg is not None:
                leg = CdrLeg(leg_id=caller_leg, cdr_id=row.id, peer=caller, role="caller")
                leg.start_time = start_time
                s.add(leg)
                s.flush()
            return _record(s, row)

    def add_leg(self, call_id: str, leg_id: str, peer: str, role: str, start: datetime) -> None:
        check_in(role, LEG_ROLES, "leg role")
        with self._db.transaction() as s:
            row = _cdr(s, call_id)
            if row.outcome is not None:
                raise Conflict(f"call {call_id!r} is already closed")
            s.add(CdrLeg(leg_id=leg_id, cdr_id=row.id, peer=peer, role=role, start_time=start))

    def answer_leg(self, leg_id: str, at: datetime) -> None:
        with self._db.transaction() as s:
            leg = _leg(s, leg_id)
            if leg.answer_time is None:
                leg.answer_time = at

    def end_leg(self, leg_id: str, at: datetime, disposition: str) -> None:
        check_in(disposition, LEG_DISPOSITIONS, "leg disposition")
        with self._db.transaction() as s:
            leg = _leg(s, leg_id)
            if leg.end_time is not None:
                raise Conflict(f"leg {leg_id!r} already ended")
            leg.end_time = at
            leg.disposition = disposition

    def annotate(
        self,
        call_id: str,
        *,
        queue: str | None = None,
        agent_id: int | None = None,
        answer_time: datetime | None = None,
        business_category: str | None = None,
        customer_id: int | None = None,
        ivr_step: str | None = None,
    ) -> None:
        """Record what the call went through so far; ``ivr_step`` is appended to the path."""
        values = {
            name: value
            for name, value in (
                ("queue", queue),
                ("agent_id", agent_id),
                ("answer_time", answer_time),
                ("business_category", business_category),
                ("customer_id", customer_id),
            )
            if value is not None
        }
        if answer_time is not None:
            check_aware(answer_time, "answer_time")
        with self._db.transaction() as s:
            if ivr_step is None and values:  # one UPDATE, no load (calls make 2-3 of these)
                stmt = update(Cdr).where(Cdr.call_id == call_id).values(**values)
                if s.execute(stmt).rowcount == 0:  # type: ignore[attr-defined]
                    raise NotFound(f"call {call_id!r} not found")
                return
            row = _cdr(s, call_id)
            for name, value in values.items():
                setattr(row, name, value)
            if ivr_step is not None:
                row.ivr_path = [*row.ivr_path, ivr_step]

    def close_call(
        self,
        call_id: str,
        end_time: datetime,
        outcome: str,
        times: CallTimes,
        *,
        recording_id: int | None = None,
    ) -> CdrRecord:
        """Close the CDR once, ending any leg still open at ``end_time``."""
        check_in(outcome, OUTCOMES, "outcome")
        check_aware(end_time, "end_time")
        _check_times(times)
        with self._db.transaction() as s:
            row = _cdr(s, call_id)
            if row.outcome is not None:
                raise Conflict(f"call {call_id!r} is already closed ({row.outcome})")
            for name, value in asdict(times).items():
                setattr(row, name, value)
            row.end_time = end_time
            row.outcome = outcome
            if recording_id is not None:
                row.recording_id = recording_id
            self._end_open_legs(s, row, end_time, interrupted=False)
            s.flush()
            return _record(s, row)

    def set_wrapup(self, call_id: str, seconds: float) -> None:
        """Wrap-up ends after the call: it is added to the closed CDR."""
        if seconds < 0:
            raise ValidationFailed("wrap-up seconds must not be negative")
        with self._db.transaction() as s:
            _cdr(s, call_id).wrapup_seconds = seconds

    def close_interrupted(self, now: datetime) -> list[str]:
        """At start-up: close every CDR left open by a crash as ``interrupted``; their call ids.

        Each closed call also gets a ``CallInterrupted`` event in the log, in the same
        transaction, so live projections rebuilt from the log agree with the CDRs.
        """
        check_aware(now, "now")
        with self._db.transaction() as s:
            rows = list(s.scalars(select(Cdr).where(Cdr.outcome.is_(None)).order_by(Cdr.id)))
            if rows:
                lock_event_log(s)
            for row in rows:
                row.outcome = "interrupted"
                row.end_time = now
                if row.answer_time is not None:
                    row.talk_seconds = max(0.0, (now - row.answer_time).total_seconds())
                self._end_open_legs(s, row, now, interrupted=True)
                s.add(
                    EventRow(
                        type="CallInterrupted",
                        at=now,
                        call_id=row.call_id,
                        agent_id=row.agent_id,
                        payload={"call_id": row.call_id, "reason": "restart"},
                    )
                )
            return [r.call_id for r in rows]

    @staticmethod
    def _end_open_legs(s: Session, row: Cdr, at: datetime, *, interrupted: bool) -> None:
        legs = s.scalars(select(CdrLeg).where(CdrLeg.cdr_id == row.id, CdrLeg.end_time.is_(None)))
        for leg in legs:
            leg.end_time = at
            if interrupted:
                leg.disposition = "interrupted"
            else:
                leg.disposition = "answered" if leg.answer_time is not None else "cancelled"

    def get(self, call_id: str) -> CdrRecord | None:
        with self._db.transaction() as s:
            row = s.scalar(select(Cdr).where(Cdr.call_id == call_id))
            return None if row is None else _record(s, row)

    def open_calls(self) -> list[str]:
        with self._db.transaction() as s:
            return list(s.scalars(select(Cdr.call_id).where(Cdr.outcome.is_(None))))

    def search(
        self,
        since: datetime,
        until: datetime,
        *,
        agent_id: int | None = None,
        queue: str | None = None,
        caller: str | None = None,
        outcome: str | None = None,
        limit: int = 1000,
    ) -> list[CdrRecord]:
        """CDRs that started in [since, until), oldest first."""
        stmt = select(Cdr).where(Cdr.start_time >= since, Cdr.start_time < until)
        for column, value in (
            (Cdr.agent_id, agent_id),
            (Cdr.queue, queue),
            (Cdr.caller, caller),
            (Cdr.outcome, outcome),
        ):
            if value is not None:
                stmt = stmt.where(column == value)
        stmt = stmt.order_by(Cdr.start_time, Cdr.id).limit(limit)
        with self._db.transaction() as s:
            return [_record(s, r) for r in list(s.scalars(stmt))]
