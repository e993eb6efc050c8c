"""What happened to calls: the typed append-only event log, one CDR per call with its legs,
recordings, voicemail boxes and their messages.

The event log's ``seq`` is a BIGINT that only grows: SQLite uses ``AUTOINCREMENT`` so a rowid is
never reused, PostgreSQL a sequence, and appends are serialised so commit order equals ``seq``
order (a reader resuming from ``seq`` never skips a late commit).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.storage.schema.base import LEG_DISPOSITIONS, LEG_ROLES, OUTCOMES, Base
from callcenter.storage.types import BigId, UtcDateTime, one_of


class EventRow(Base):
    __tablename__ = "event_log"
    __table_args__ = (
        Index("ix_event_log_call_id", "call_id"),
        Index("ix_event_log_at", "at"),
        {"sqlite_autoincrement": True},
    )

    seq: Mapped[int] = mapped_column(BigId, primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    call_id: Mapped[str | None] = mapped_column(String(64))
    agent_id: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class Cdr(Base):
    """One call detail record per call; ``outcome`` is NULL while the call is up."""

    __tablename__ = "cdrs"
    __table_args__ = (
        one_of("outcome", OUTCOMES, "outcome"),
        CheckConstraint(
            "queue_wait_seconds >= 0 AND ring_seconds >= 0 AND talk_seconds >= 0"
            " AND hold_seconds >= 0 AND wrapup_seconds >= 0",
            name="durations",
        ),
        Index("ix_cdrs_start_time", "start_time"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64), unique=True)
    direction: Mapped[str] = mapped_column(String(16), default="inbound")
    caller: Mapped[str] = mapped_column(String(64))
    called: Mapped[str] = mapped_column(String(64))
    start_time: Mapped[datetime] = mapped_column(UtcDateTime())
    answer_time: Mapped[datetime | None] = mapped_column(UtcDateTime())
    end_time: Mapped[datetime | None] = mapped_column(UtcDateTime())
    queue: Mapped[str | None] = mapped_column(String(64))
    agent_id: Mapped[int | None] = mapped_column(Integer)
    queue_wait_seconds: Mapped[float] = mapped_column(default=0.0)
    ring_seconds: Mapped[float] = mapped_column(default=0.0)
    talk_seconds: Mapped[float] = mapped_column(default=0.0)
    hold_seconds: Mapped[float] = mapped_column(default=0.0)
    wrapup_seconds: Mapped[float] = mapped_column(default=0.0)
    outcome: Mapped[str | None] = mapped_column(String(16))
    recording_id: Mapped[int | None] = mapped_column(
        ForeignKey("recordings.id", ondelete="SET NULL")
    )
    ivr_path: Mapped[list[str]] = mapped_column(JSON)
    business_category: Mapped[str | None] = mapped_column(String(32))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))


class CdrLeg(Base):
    __tablename__ = "cdr_legs"
    __table_args__ = (
        one_of("role", LEG_ROLES, "role"),
        one_of("disposition", LEG_DISPOSITIONS, "disposition"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    leg_id: Mapped[str] = mapped_column(String(64), unique=True)
    cdr_id: Mapped[int] = mapped_column(ForeignKey("cdrs.id", ondelete="CASCADE"), index=True)
    peer: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    start_time: Mapped[datetime] = mapped_column(UtcDateTime())
    answer_time: Mapped[datetime | None] = mapped_column(UtcDateTime())
    end_time: Mapped[datetime | None] = mapped_column(UtcDateTime())
    disposition: Mapped[str | None] = mapped_column(String(16))


class Recording(Base):
    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64), index=True)
    path: Mapped[str] = mapped_column(String(512), unique=True)
    channels: Mapped[int] = mapped_column(Integer)
    duration_seconds: Mapped[float] = mapped_column(default=0.0)
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    agent_id: Mapped[int | None] = mapped_column(Integer)
    queue: Mapped[str | None] = mapped_column(String(64))


class Mailbox(Base):
    """A voicemail box: ``agent:1001``, ``queue:billing`` or ``general``; PIN kept as argon2."""

    __tablename__ = "mailboxes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    pin_hash: Mapped[str | None] = mapped_column(String(255))
    greeting_path: Mapped[str | None] = mapped_column(String(512))
    email: Mapped[str | None] = mapped_column(String(255))


class VoicemailMessage(Base):
    __tablename__ = "voicemail_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("mailboxes.id", ondelete="CASCADE"), index=True
    )
    call_id: Mapped[str | None] = mapped_column(String(64))
    caller: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(512))
    duration_seconds: Mapped[float] = mapped_column(default=0.0)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    heard_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
