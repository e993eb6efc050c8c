"""Queues (strategy, ring timeout, wrap-up, limits, overflow, skills, announcements, recording,
weight, service-level target) and their static members with penalties.

A queue's settings travel as one ``QueueSettings`` value so create and update take the same
validated shape; members are (queue, agent, penalty) rows, lower penalty first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from callcenter.storage.errors import NotFound, ValidationFailed
from callcenter.storage.repos._base import Repo, check_in, check_range, require
from callcenter.storage.repos.agents import check_agent_id, skill_ids
from callcenter.storage.schema import Agent, Queue, QueueMember, QueueSkill, Skill
from callcenter.storage.schema.base import RECORDING_POLICIES, STRATEGIES


@dataclass(frozen=True, slots=True)
class QueueSettings:
    strategy: str = "longest_idle"
    ring_timeout_seconds: int = 20
    wrapup_seconds: int = 10
    max_wait_seconds: int | None = None
    max_length: int | None = None
    overflow_destination: str | None = None  # "queue:NAME", "voicemail:BOX", "callback"
    announcements: dict[str, Any] = field(default_factory=dict)
    recording_policy: str = "none"
    weight: int = 0
    sl_target_seconds: int = 20
    sl_target_percent: int = 80
    max_no_answer: int = 3

    def validate(self) -> None:
        check_in(self.strategy, STRATEGIES, "strategy")
        check_in(self.recording_policy, RECORDING_POLICIES, "recording policy")
        check_range(self.ring_timeout_seconds, 1, 600, "ring timeout")
        check_range(self.wrapup_seconds, 0, 3600, "wrap-up seconds")
        check_range(self.sl_target_seconds, 1, 3600, "service-level target seconds")
        check_range(self.sl_target_percent, 0, 100, "service-level target percent")
        check_range(self.max_no_answer, 1, 100, "max no-answer")
        for name in ("max_wait_seconds", "max_length"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValidationFailed(f"{name} must be positive or unset")


@dataclass(frozen=True, slots=True)
class QueueRecord:
    id: int
    name: str
    display_name: str
    enabled: bool
    settings: QueueSettings
    skills: dict[str, int]  # required skill name -> minimum level


@dataclass(frozen=True, slots=True)
class MemberRecord:
    queue: str
    agent_id: int
    penalty: int


def _settings_of(row: Queue) -> QueueSettings:
    names = QueueSettings.__dataclass_fields__
    return QueueSettings(**{name: getattr(row, name) for name in names})


def _record(s: Session, row: Queue) -> QueueRecord:
    skills = s.execute(
        select(Skill.name, QueueSkill.min_level)
        .join(QueueSkill, QueueSkill.skill_id == Skill.id)
        .where(QueueSkill.queue_id == row.id)
    )
    return QueueRecord(
        row.id,
        row.name,
        row.display_name,
        row.enabled,
        _settings_of(row),
        {name: level for name, level in skills},
    )


def _queue_by_name(s: Session, name: str) -> Queue:
    row = s.scalar(select(Queue).where(Queue.name == name))
    if row is None:
        raise NotFound(f"queue {name!r} not found")
    return row


class QueueRepo(Repo):
    def create(
        self,
        name: str,
        display_name: str,
        now: datetime,
        settings: QueueSettings | None = None,
        skills: Mapping[str, int] | None = None,
    ) -> QueueRecord:
        settings = settings or QueueSettings()
        settings.validate()
        with self._db.transaction() as s:
            row = Queue(name=name, display_name=display_name, enabled=True, created_at=now)
            for key, value in asdict(settings).items():
                setattr(row, key, value)
            s.add(row)
            s.flush()
            for sid, level in skill_ids(s, skills or {}).items():
                s.add(QueueSkill(queue_id=row.id, skill_id=sid, min_level=level))
            s.flush()
            return _record(s, row)

    def update(
        self,
        name: str,
        settings: QueueSettings,
        *,
        display_name: str | None = None,
        enabled: bool | None = None,
    ) -> QueueRecord:
        """Replace every setting at once (changes take effect without a restart)."""
        settings.validate()
        with self._db.transaction() as s:
            row = _queue_by_name(s, name)
            for key, value in asdict(settings).items():
                setattr(row, key, value)
            if display_name is not None:
                row.display_name = display_name
            if enabled is not None:
                row.enabled = enabled
            return _record(s, row)

    def set_skills(self, name: str, skills: Mapping[str, int]) -> QueueRecord:
        with self._db.transaction() as s:
            row = _queue_by_name(s, name)
            levels = skill_ids(s, skills)
            s.execute(delete(QueueSkill).where(QueueSkill.queue_id == row.id))
            for sid, level in levels.items():
                s.add(QueueSkill(queue_id=row.id, skill_id=sid, min_level=level))
            s.flush()
            return _record(s, row)

    def get(self, name: str) -> QueueRecord | None:
        with self._db.transaction() as s:
            row = s.scalar(select(Queue).where(Queue.name == name))
            return None if row is None else _record(s, row)

    def all(self) -> list[QueueRecord]:
        with self._db.transaction() as s:
            rows = list(s.scalars(select(Queue).order_by(Queue.name)))
            return [_record(s, r) for r in rows]

    def delete(self, name: str) -> None:
        with self._db.transaction() as s:
            s.delete(_queue_by_name(s, name))

    def add_member(self, name: str, agent_id: int, penalty: int = 0) -> MemberRecord:
        """Add or re-penalise a member (idempotent)."""
        check_agent_id(agent_id)
        check_range(penalty, 0, 1000, "penalty")
        with self._db.transaction() as s:
            queue = _queue_by_name(s, name)
            require(s, Agent, agent_id, "agent")
            row = s.scalar(
                select(QueueMember).where(
                    QueueMember.queue_id == queue.id, QueueMember.agent_id == agent_id
                )
            )
            if row is None:
                s.add(QueueMember(queue_id=queue.id, agent_id=agent_id, penalty=penalty))
            else:
                row.penalty = penalty
            return MemberRecord(name, agent_id, penalty)

    def remove_member(self, name: str, agent_id: int) -> bool:
        with self._db.transaction() as s:
            queue = _queue_by_name(s, name)
            result = s.execute(
                delete(QueueMember).where(
                    QueueMember.queue_id == queue.id, QueueMember.agent_id == agent_id
                )
            )
            return bool(getattr(result, "rowcount", 0))

    def members(self, name: str) -> list[MemberRecord]:
        """Members by penalty, then agent id (a deterministic order)."""
        with self._db.transaction() as s:
            queue = _queue_by_name(s, name)
            rows = s.scalars(
                select(QueueMember)
                .where(QueueMember.queue_id == queue.id)
                .order_by(QueueMember.penalty, QueueMember.agent_id)
            )
            return [MemberRecord(name, r.agent_id, r.penalty) for r in rows]

    def queues_of(self, agent_id: int) -> list[MemberRecord]:
        stmt = (
            select(Queue.name, QueueMember.penalty)
            .join(QueueMember, QueueMember.queue_id == Queue.id)
            .where(QueueMember.agent_id == agent_id)
            .order_by(QueueMember.penalty, Queue.name)
        )
        with self._db.transaction() as s:
            return [MemberRecord(q, agent_id, p) for q, p in s.execute(stmt)]
