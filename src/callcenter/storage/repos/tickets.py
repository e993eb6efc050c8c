"""Complaint tickets (投诉单) and the units they are dispatched to (责任单位).

Workflow (``TRANSITIONS``; every other move raises ``InvalidTransition`` and changes nothing):
new → dispatched | resolved; dispatched → dispatched (re-dispatch) | in_progress | resolved;
in_progress → dispatched | resolved; resolved → closed | in_progress (reopen); closed → nothing.
``dispatched`` needs a unit. Each creation, move, edit and comment adds a ``ticket_history`` row
in the same transaction as the change itself.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from callcenter.storage.errors import InvalidTransition, NotFound, ValidationFailed
from callcenter.storage.repos._base import Repo, check_in, require, to_record
from callcenter.storage.schema import Customer, Ticket, TicketHistory, Unit, UnitMember, User
from callcenter.storage.schema.base import TICKET_PRIORITIES, TICKET_STATUSES

TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"dispatched", "resolved"}),
    "dispatched": frozenset({"dispatched", "in_progress", "resolved"}),
    "in_progress": frozenset({"dispatched", "resolved"}),
    "resolved": frozenset({"closed", "in_progress"}),
    "closed": frozenset(),
}


@dataclass(frozen=True, slots=True)
class UnitRecord:
    id: int
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class TicketRecord:
    id: int
    number: str
    customer_id: int | None
    category: str
    priority: str
    unit_id: int | None
    status: str
    title: str
    description: str
    call_id: str | None
    due_at: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class HistoryRecord:
    id: int
    ticket_id: int
    at: datetime
    actor: str
    action: str
    from_status: str | None
    to_status: str | None
    comment: str


@dataclass(frozen=True, slots=True)
class NewTicket:
    title: str
    description: str
    category: str
    priority: str = "normal"
    customer_id: int | None = None
    call_id: str | None = None
    due_at: datetime | None = None


class UnitRepo(Repo):
    def create(self, code: str, name: str) -> UnitRecord:
        with self._db.transaction() as s:
            row = Unit(code=code, name=name)
            s.add(row)
            s.flush()
            return to_record(UnitRecord, row)

    def get_by_code(self, code: str) -> UnitRecord | None:
        with self._db.transaction() as s:
            row = s.scalar(select(Unit).where(Unit.code == code))
            return None if row is None else to_record(UnitRecord, row)

    def all(self) -> list[UnitRecord]:
        with self._db.transaction() as s:
            return [to_record(UnitRecord, r) for r in s.scalars(select(Unit).order_by(Unit.code))]

    def add_member(self, unit_id: int, user_id: int) -> None:
        with self._db.transaction() as s:
            require(s, Unit, unit_id, "unit")
            require(s, User, user_id, "user")
            if s.get(UnitMember, (unit_id, user_id)) is None:
                s.add(UnitMember(unit_id=unit_id, user_id=user_id))

    def remove_member(self, unit_id: int, user_id: int) -> None:
        with self._db.transaction() as s:
            s.execute(
                delete(UnitMember).where(
                    UnitMember.unit_id == unit_id, UnitMember.user_id == user_id
                )
            )

    def members(self, unit_id: int) -> list[int]:
        with self._db.transaction() as s:
            stmt = select(UnitMember.user_id).where(UnitMember.unit_id == unit_id)
            return sorted(s.scalars(stmt))

    def get(self, unit_id: int) -> UnitRecord | None:
        with self._db.transaction() as s:
            row = s.get(Unit, unit_id)
            return None if row is None else to_record(UnitRecord, row)

    def units_of(self, user_id: int) -> list[UnitRecord]:
        """The units a user is a member of (by code)."""
        stmt = (
            select(Unit)
            .join(UnitMember, UnitMember.unit_id == Unit.id)
            .where(UnitMember.user_id == user_id)
            .order_by(Unit.code)
        )
        with self._db.transaction() as s:
            return [to_record(UnitRecord, r) for r in s.scalars(stmt)]


def _history(
    s: Session, row: Ticket, actor: str, action: str, now: datetime, comment: str, frm: str | None
) -> TicketHistory:
    entry = TicketHistory(
        ticket_id=row.id,
        at=now,
        actor=actor,
        action=action,
        from_status=frm,
        to_status=row.status if action != "comment" else None,
        comment=comment,
    )
    s.add(entry)
    return entry


class TicketRepo(Repo):
    def create(self, ticket: NewTicket, created_by: str, now: datetime) -> TicketRecord:
        check_in(ticket.priority, TICKET_PRIORITIES, "priority")
        if not ticket.title.strip():
            raise ValidationFailed("a ticket needs a title")
        with self._db.transaction() as s:
            if ticket.customer_id is not None:
                require(s, Customer, ticket.customer_id, "customer")
            row = Ticket(
                number=f"p-{uuid.uuid4().hex[:24]}",  # fits VARCHAR(32) until numbered
                status="new",
                created_by=created_by,
                created_at=now,
                updated_at=now,
                **{k: getattr(ticket, k) for k in NewTicket.__dataclass_fields__},
            )
            s.add(row)
            s.flush()
            row.number = f"T{now:%Y%m%d}{row.id:06d}"
            _history(s, row, created_by, "created", now, "", None)
            s.flush()
            return to_record(TicketRecord, row)

    def transition(
        self,
        ticket_id: int,
        to_status: str,
        actor: str,
        now: datetime,
        *,
        comment: str = "",
        unit_id: int | None = None,
    ) -> TicketRecord:
        """Move a ticket along its workflow; ``unit_id`` (re)assigns it when dispatching."""
        check_in(to_status, TICKET_STATUSES, "ticket status")
        with self._db.transaction() as s:
            row = require(s, Ticket, ticket_id, "ticket")
            current = row.status
            if to_status not in TRANSITIONS[current]:
                raise InvalidTransition("ticket", current, to_status)
            if to_status == "dispatched":
                unit = unit_id if unit_id is not None else row.unit_id
                if unit is None:
                    raise ValidationFailed("dispatching a ticket needs a unit")
                row.unit_id = require(s, Unit, unit, "unit").id
            row.status = to_status
            row.updated_at = now
            _history(s, row, actor, "transition", now, comment, current)
            s.flush()
            return to_record(TicketRecord, row)

    def update(
        self,
        ticket_id: int,
        actor: str,
        now: datetime,
        *,
        title: str | None = None,
        description: str | None = None,
        category: str | None = None,
        priority: str | None = None,
        due_at: datetime | None = None,
        clear_due: bool = False,
        customer_id: int | None = None,
    ) -> TicketRecord:
        """Edit the given fields of an open ticket; the history names what changed."""
        if priority is not None:
            check_in(priority, TICKET_PRIORITIES, "priority")
        if title is not None and not title.strip():
            raise ValidationFailed("a ticket needs a title")
        with self._db.transaction() as s:
            row = require(s, Ticket, ticket_id, "ticket")
            if row.status == "closed":
                raise InvalidTransition("ticket", "closed", "edited")
            if customer_id is not None:
                require(s, Customer, customer_id, "customer")
            changed = []
            for name, value in (
                ("title", title),
                ("description", description),
                ("category", category),
                ("priority", priority),
                ("due_at", due_at),
                ("customer_id", customer_id),
            ):
                if value is not None and getattr(row, name) != value:
                    setattr(row, name, value)
                    changed.append(name)
            if clear_due and row.due_at is not None:
                row.due_at = None
                changed.append("due_at")
            if changed:
                row.updated_at = now
                entry = _history(s, row, actor, "edited", now, ", ".join(changed), row.status)
                entry.to_status = None
            s.flush()
            return to_record(TicketRecord, row)

    def comment(self, ticket_id: int, actor: str, text: str, now: datetime) -> HistoryRecord:
        if not text.strip():
            raise ValidationFailed("a comment needs text")
        with self._db.transaction() as s:
            row = require(s, Ticket, ticket_id, "ticket")
            entry = _history(s, row, actor, "comment", now, text, None)
            row.updated_at = now
            s.flush()
            return to_record(HistoryRecord, entry)

    def get(self, ticket_id: int) -> TicketRecord | None:
        with self._db.transaction() as s:
            row = s.get(Ticket, ticket_id)
            return None if row is None else to_record(TicketRecord, row)

    def by_number(self, number: str) -> TicketRecord | None:
        with self._db.transaction() as s:
            row = s.scalar(select(Ticket).where(Ticket.number == number))
            return None if row is None else to_record(TicketRecord, row)

    def history(self, ticket_id: int) -> list[HistoryRecord]:
        with self._db.transaction() as s:
            if s.get(Ticket, ticket_id) is None:
                raise NotFound(f"ticket {ticket_id} not found")
            rows = s.scalars(
                select(TicketHistory)
                .where(TicketHistory.ticket_id == ticket_id)
                .order_by(TicketHistory.id)
            )
            return [to_record(HistoryRecord, r) for r in rows]

    def search(
        self,
        *,
        status: str | None = None,
        customer_id: int | None = None,
        unit_id: int | None = None,
        overdue_at: datetime | None = None,
        limit: int = 100,
    ) -> list[TicketRecord]:
        """Newest first; ``overdue_at`` keeps open tickets whose due time is before it."""
        found, _ = self.find(
            status=status,
            customer_id=customer_id,
            unit_id=unit_id,
            overdue_at=overdue_at,
            limit=limit,
        )
        return found

    def find(
        self,
        *,
        status: str | None = None,
        customer_id: int | None = None,
        unit_id: int | None = None,
        overdue_at: datetime | None = None,
        q: str | None = None,
        category: str | None = None,
        priority: str | None = None,
        created_by: str | None = None,
        call_id: str | None = None,
        created_since: datetime | None = None,
        open_only: bool = False,
        visible_units: frozenset[int] | None = None,
        visible_creator: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[TicketRecord], int]:
        """(page newest first, total). ``q`` matches the number or a part of the title or
        description; ``visible_units`` / ``visible_creator`` restrict the result to tickets of
        those units or created by that user (what a unit member may see)."""
        stmt = select(Ticket)
        if visible_units is not None:
            stmt = stmt.where(
                or_(Ticket.unit_id.in_(sorted(visible_units)), Ticket.created_by == visible_creator)
            )
        for column, value in (
            (Ticket.category, category),
            (Ticket.priority, priority),
            (Ticket.created_by, created_by),
            (Ticket.call_id, call_id),
            (Ticket.status, status),
            (Ticket.customer_id, customer_id),
            (Ticket.unit_id, unit_id),
        ):
            if value is not None:
                stmt = stmt.where(column == value)
        if created_since is not None:
            stmt = stmt.where(Ticket.created_at >= created_since)
        if open_only:
            stmt = stmt.where(Ticket.status.not_in(("resolved", "closed")))
        if q is not None and q.strip():
            text = q.strip()
            pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            stmt = stmt.where(
                or_(
                    Ticket.number == text,
                    Ticket.title.like(pattern, escape="\\"),
                    Ticket.description.like(pattern, escape="\\"),
                )
            )
        if overdue_at is not None:
            stmt = stmt.where(
                Ticket.due_at < overdue_at, Ticket.status.not_in(("resolved", "closed"))
            )
        with self._db.transaction() as s:
            total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
            page = stmt.order_by(Ticket.id.desc()).limit(limit).offset(offset)
            return [to_record(TicketRecord, r) for r in s.scalars(page)], int(total)
