"""The audit log: who did what to whom, when, with which result (SPEC §5, §13, §16).

Entries are only ever added; there is no update or delete method. ``actor_user_id`` is not a
foreign key on purpose: deleting a user must not delete or rewrite the trail of what they did.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from callcenter.storage.repos._base import Repo, check_aware, check_in, to_record
from callcenter.storage.schema import AuditEntry
from callcenter.storage.schema.base import AUDIT_RESULTS


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: int
    at: datetime
    actor_user_id: int | None
    actor: str
    action: str
    target: str
    result: str
    source: str
    details: dict[str, Any]


class AuditRepo(Repo):
    def record(
        self,
        actor: str,
        action: str,
        target: str,
        result: str,
        now: datetime,
        *,
        details: dict[str, Any] | None = None,
        actor_user_id: int | None = None,
        source: str = "",
    ) -> AuditRecord:
        check_in(result, AUDIT_RESULTS, "audit result")
        check_aware(now, "now")
        row = AuditEntry(
            at=now,
            actor_user_id=actor_user_id,
            actor=actor,
            action=action,
            target=target,
            result=result,
            source=source,
            details=details or {},
        )
        with self._db.transaction() as s:
            s.add(row)
            s.flush()
            return to_record(AuditRecord, row)

    def query(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        limit: int = 100,
    ) -> list[AuditRecord]:
        """Newest first."""
        stmt = select(AuditEntry)
        if since is not None:
            stmt = stmt.where(AuditEntry.at >= since)
        if until is not None:
            stmt = stmt.where(AuditEntry.at < until)
        if actor is not None:
            stmt = stmt.where(AuditEntry.actor == actor)
        if action is not None:
            stmt = stmt.where(AuditEntry.action == action)
        if target is not None:
            stmt = stmt.where(AuditEntry.target == target)
        stmt = stmt.order_by(AuditEntry.id.desc()).limit(limit)
        with self._db.transaction() as s:
            return [to_record(AuditRecord, r) for r in s.scalars(stmt)]
