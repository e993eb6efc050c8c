"""ACD configuration: skills, agents (工号) with default skill levels, seats, queues, membership.

Only the configuration lives here. Live ACD state (who is ready, ringing, in wrap-up) is owned in
memory by the ACD and persisted as events in the event log, never polled from these tables.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.storage.schema.base import (
    AGENT_CATEGORIES,
    AGENT_ID_MAX,
    AGENT_ID_MIN,
    RECORDING_POLICIES,
    SKILL_LEVEL_MAX,
    SKILL_LEVEL_MIN,
    STRATEGIES,
    Base,
)
from callcenter.storage.types import UtcDateTime, one_of

_LEVEL = f"BETWEEN {SKILL_LEVEL_MIN} AND {SKILL_LEVEL_MAX}"


class Skill(Base):
    __tablename__ = "skills"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(255), default="")


class Agent(Base):
    """An agent, keyed by the numeric 工号 itself (``agent_id``), not by a surrogate."""

    __tablename__ = "agents"
    __table_args__ = (
        one_of("category", AGENT_CATEGORIES, "category"),
        CheckConstraint(f"agent_id BETWEEN {AGENT_ID_MIN} AND {AGENT_ID_MAX}", name="agent_id"),
        CheckConstraint("wrapup_seconds IS NULL OR wrapup_seconds >= 0", name="wrapup"),
    )

    agent_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(128))
    category: Mapped[str] = mapped_column(String(16))
    wrapup_seconds: Mapped[int | None] = mapped_column(Integer)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), unique=True
    )
    extension_id: Mapped[int | None] = mapped_column(
        ForeignKey("extensions.id", ondelete="SET NULL")
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AgentSkill(Base):
    __tablename__ = "agent_skills"
    __table_args__ = (CheckConstraint(f"level {_LEVEL}", name="level"),)

    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.agent_id", ondelete="CASCADE"), primary_key=True
    )
    skill_id: Mapped[int] = mapped_column(
        ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True
    )
    level: Mapped[int] = mapped_column(Integer)


class Seat(Base):
    """A physical or soft seat (座席号) an agent logs in at; it owns an extension."""

    __tablename__ = "seats"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    extension_id: Mapped[int | None] = mapped_column(
        ForeignKey("extensions.id", ondelete="SET NULL")
    )
    location: Mapped[str] = mapped_column(String(128), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class Queue(Base):
    __tablename__ = "queues"
    __table_args__ = (
        one_of("strategy", STRATEGIES, "strategy"),
        one_of("recording_policy", RECORDING_POLICIES, "recording"),
        CheckConstraint("ring_timeout_seconds > 0", name="ring_timeout"),
        CheckConstraint("sl_target_percent BETWEEN 0 AND 100", name="sl_percent"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    strategy: Mapped[str] = mapped_column(String(32))
    ring_timeout_seconds: Mapped[int] = mapped_column(Integer)
    wrapup_seconds: Mapped[int] = mapped_column(Integer)
    max_wait_seconds: Mapped[int | None] = mapped_column(Integer)
    max_length: Mapped[int | None] = mapped_column(Integer)
    overflow_destination: Mapped[str | None] = mapped_column(String(128))
    announcements: Mapped[dict[str, Any]] = mapped_column(JSON)
    recording_policy: Mapped[str] = mapped_column(String(16))
    weight: Mapped[int] = mapped_column(Integer, default=0)
    sl_target_seconds: Mapped[int] = mapped_column(Integer)
    sl_target_percent: Mapped[int] = mapped_column(Integer)
    max_no_answer: Mapped[int] = mapped_column(Integer, default=3)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class QueueSkill(Base):
    """A skill a queue requires, with the minimum level an agent needs to get its calls."""

    __tablename__ = "queue_skills"
    __table_args__ = (CheckConstraint(f"min_level {_LEVEL}", name="min_level"),)

    queue_id: Mapped[int] = mapped_column(
        ForeignKey("queues.id", ondelete="CASCADE"), primary_key=True
    )
    skill_id: Mapped[int] = mapped_column(
        ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True
    )
    min_level: Mapped[int] = mapped_column(Integer)


class QueueMember(Base):
    """Static membership (tier) of an agent in a queue; lower penalty gets calls first."""

    __tablename__ = "queue_members"
    __table_args__ = (
        UniqueConstraint("queue_id", "agent_id"),
        CheckConstraint("penalty >= 0", name="penalty"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id", ondelete="CASCADE"))
    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.agent_id", ondelete="CASCADE"), index=True
    )
    penalty: Mapped[int] = mapped_column(Integer, default=0)
