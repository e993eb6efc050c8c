"""Skills, agents (工号, category agent / supervisor 班长, default skill levels) and seats.

The agent id is range-checked here and by a CHECK constraint (``AGENT_ID_MIN..AGENT_ID_MAX``);
skill levels likewise (``SKILL_LEVEL_MIN..SKILL_LEVEL_MAX``, higher is more skilled).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from callcenter.storage.errors import NotFound, ValidationFailed
from callcenter.storage.repos._base import Repo, check_in, check_range, require, to_record
from callcenter.storage.schema import Agent, AgentSkill, Extension, Seat, Skill
from callcenter.storage.schema.base import (
    AGENT_CATEGORIES,
    AGENT_ID_MAX,
    AGENT_ID_MIN,
    SKILL_LEVEL_MAX,
    SKILL_LEVEL_MIN,
)


@dataclass(frozen=True, slots=True)
class SkillRecord:
    id: int
    name: str
    description: str


@dataclass(frozen=True, slots=True)
class AgentRecord:
    agent_id: int
    name: str
    category: str
    wrapup_seconds: int | None
    user_id: int | None
    extension: str | None
    enabled: bool
    skills: dict[str, int]  # skill name -> level


@dataclass(frozen=True, slots=True)
class SeatRecord:
    id: int
    number: str
    extension: str | None
    location: str
    enabled: bool


def check_agent_id(agent_id: int) -> int:
    return check_range(agent_id, AGENT_ID_MIN, AGENT_ID_MAX, "agent id")


def skill_ids(s: Session, levels: Mapping[str, int]) -> dict[int, int]:
    """Map skill names to ids (NotFound for an unknown name) and range-check each level."""
    out: dict[int, int] = {}
    for name, level in levels.items():
        check_range(level, SKILL_LEVEL_MIN, SKILL_LEVEL_MAX, f"level of skill {name!r}")
        sid = s.scalar(select(Skill.id).where(Skill.name == name))
        if sid is None:
            raise NotFound(f"skill {name!r} not found")
        out[sid] = level
    return out


def _extension_id(s: Session, number: str | None) -> int | None:
    if number is None:
        return None
    eid = s.scalar(select(Extension.id).where(Extension.number == number))
    if eid is None:
        raise NotFound(f"extension {number!r} not found")
    return eid


def _agent_record(s: Session, row: Agent) -> AgentRecord:
    skills = s.execute(
        select(Skill.name, AgentSkill.level)
        .join(AgentSkill, AgentSkill.skill_id == Skill.id)
        .where(AgentSkill.agent_id == row.agent_id)
        .order_by(Skill.name)
    )
    ext = None if row.extension_id is None else s.get(Extension, row.extension_id)
    return AgentRecord(
        agent_id=row.agent_id,
        name=row.name,
        category=row.category,
        wrapup_seconds=row.wrapup_seconds,
        user_id=row.user_id,
        extension=None if ext is None else ext.number,
        enabled=row.enabled,
        skills={name: level for name, level in skills},
    )


class SkillRepo(Repo):
    def create(self, name: str, description: str = "") -> SkillRecord:
        with self._db.transaction() as s:
            row = Skill(name=name, description=description)
            s.add(row)
            s.flush()
            return to_record(SkillRecord, row)

    def all(self) -> list[SkillRecord]:
        with self._db.transaction() as s:
            return [
                to_record(SkillRecord, r) for r in s.scalars(select(Skill).order_by(Skill.name))
            ]

    def get_by_name(self, name: str) -> SkillRecord | None:
        with self._db.transaction() as s:
            row = s.scalar(select(Skill).where(Skill.name == name))
            return None if row is None else to_record(SkillRecord, row)

    def delete(self, skill_id: int) -> None:
        with self._db.transaction() as s:
            s.delete(require(s, Skill, skill_id, "skill"))


class AgentRepo(Repo):
    def create(
        self,
        agent_id: int,
        name: str,
        category: str,
        now: datetime,
        *,
        skills: Mapping[str, int] | None = None,
        wrapup_seconds: int | None = None,
        user_id: int | None = None,
        extension: str | None = None,
    ) -> AgentRecord:
        check_agent_id(agent_id)
        check_in(category, AGENT_CATEGORIES, "agent category")
        if wrapup_seconds is not None and wrapup_seconds < 0:
            raise ValidationFailed("wrap-up seconds must not be negative")
        with self._db.transaction() as s:
            row = Agent(
                agent_id=agent_id,
                name=name,
                category=category,
                wrapup_seconds=wrapup_seconds,
                user_id=user_id,
                extension_id=_extension_id(s, extension),
                enabled=True,
                created_at=now,
            )
            s.add(row)
            s.flush()
            for sid, level in skill_ids(s, skills or {}).items():
                s.add(AgentSkill(agent_id=agent_id, skill_id=sid, level=level))
            s.flush()
            return _agent_record(s, row)

    def get(self, agent_id: int) -> AgentRecord | None:
        with self._db.transaction() as s:
            row = s.get(Agent, agent_id)
            return None if row is None else _agent_record(s, row)

    def get_by_user(self, user_id: int) -> AgentRecord | None:
        with self._db.transaction() as s:
            row = s.scalar(select(Agent).where(Agent.user_id == user_id))
            return None if row is None else _agent_record(s, row)

    def id_of_user(self, user_id: int) -> tuple[int, bool] | None:
        """(agent id, enabled) of the user's agent, or None: one light query for the API's
        per-request "which agent am I" (``get_by_user`` also loads skills and extension)."""
        with self._db.transaction() as s:
            row = s.execute(
                select(Agent.agent_id, Agent.enabled).where(Agent.user_id == user_id)
            ).first()
            return None if row is None else (int(row[0]), bool(row[1]))

    def all(self) -> list[AgentRecord]:
        with self._db.transaction() as s:
            rows = list(s.scalars(select(Agent).order_by(Agent.agent_id)))
            return [_agent_record(s, r) for r in rows]

    def update(
        self,
        agent_id: int,
        *,
        name: str | None = None,
        category: str | None = None,
        enabled: bool | None = None,
        extension: str | None = None,
    ) -> AgentRecord:
        if category is not None:
            check_in(category, AGENT_CATEGORIES, "agent category")
        with self._db.transaction() as s:
            row = require(s, Agent, agent_id, "agent")
            if name is not None:
                row.name = name
            if category is not None:
                row.category = category
            if enabled is not None:
                row.enabled = enabled
            if extension is not None:
                row.extension_id = _extension_id(s, extension)
            return _agent_record(s, row)

    def set_wrapup(self, agent_id: int, seconds: int | None) -> None:
        """Override the queues' wrap-up time for this agent (None: use the queue's)."""
        if seconds is not None and seconds < 0:
            raise ValidationFailed("wrap-up seconds must not be negative")
        with self._db.transaction() as s:
            require(s, Agent, agent_id, "agent").wrapup_seconds = seconds

    def set_skills(self, agent_id: int, skills: Mapping[str, int]) -> AgentRecord:
        """Replace the agent's default skills and levels as a whole."""
        with self._db.transaction() as s:
            row = require(s, Agent, agent_id, "agent")
            levels = skill_ids(s, skills)
            s.execute(delete(AgentSkill).where(AgentSkill.agent_id == agent_id))
            for sid, level in levels.items():
                s.add(AgentSkill(agent_id=agent_id, skill_id=sid, level=level))
            s.flush()
            return _agent_record(s, row)

    def delete(self, agent_id: int) -> None:
        with self._db.transaction() as s:
            s.delete(require(s, Agent, agent_id, "agent"))


class SeatRepo(Repo):
    def create(
        self, number: str, *, extension: str | None = None, location: str = ""
    ) -> SeatRecord:
        with self._db.transaction() as s:
            row = Seat(
                number=number,
                extension_id=_extension_id(s, extension),
                location=location,
                enabled=True,
            )
            s.add(row)
            s.flush()
            return self._record(s, row)

    def get_by_number(self, number: str) -> SeatRecord | None:
        with self._db.transaction() as s:
            row = s.scalar(select(Seat).where(Seat.number == number))
            return None if row is None else self._record(s, row)

    def all(self) -> list[SeatRecord]:
        with self._db.transaction() as s:
            rows = list(s.scalars(select(Seat).order_by(Seat.number)))
            return [self._record(s, r) for r in rows]

    def delete(self, seat_id: int) -> None:
        with self._db.transaction() as s:
            s.delete(require(s, Seat, seat_id, "seat"))

    @staticmethod
    def _record(s: Session, row: Seat) -> SeatRecord:
        ext = None if row.extension_id is None else s.get(Extension, row.extension_id)
        return SeatRecord(
            row.id, row.number, None if ext is None else ext.number, row.location, row.enabled
        )
