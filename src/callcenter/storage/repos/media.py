"""Recordings (call id, file path, channels, duration, start/end, size) and voicemail boxes with
their messages. Files live on disk under the data directory; these rows index them.

A recording row is added when recording starts and finished when the file is closed, so a crash
leaves a row with ``ended_at`` NULL that points at the partial file: never a silent loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from sqlalchemy import select

from callcenter.storage.db import Database
from callcenter.storage.errors import NotFound, ValidationFailed
from callcenter.storage.hashing import verify_secret
from callcenter.storage.repos._base import Repo, check_range, require, to_record
from callcenter.storage.schema import Mailbox, Recording, VoicemailMessage


@dataclass(frozen=True, slots=True)
class RecordingRecord:
    id: int
    call_id: str
    path: str
    channels: int
    duration_seconds: float
    size_bytes: int
    started_at: datetime
    ended_at: datetime | None
    agent_id: int | None
    queue: str | None


@dataclass(frozen=True, slots=True)
class MailboxRecord:
    id: int
    name: str
    greeting_path: str | None
    email: str | None


@dataclass(frozen=True, slots=True)
class MessageRecord:
    id: int
    mailbox_id: int
    call_id: str | None
    caller: str
    path: str
    duration_seconds: float
    received_at: datetime
    heard_at: datetime | None
    deleted: bool


class RecordingRepo(Repo):
    def start(
        self,
        call_id: str,
        path: str,
        channels: int,
        started_at: datetime,
        *,
        agent_id: int | None = None,
        queue: str | None = None,
    ) -> RecordingRecord:
        check_range(channels, 1, 2, "channels")
        row = Recording(
            call_id=call_id,
            path=path,
            channels=channels,
            duration_seconds=0.0,
            size_bytes=0,
            started_at=started_at,
            agent_id=agent_id,
            queue=queue,
        )
        with self._db.transaction() as s:
            s.add(row)
            s.flush()
            return to_record(RecordingRecord, row)

    def finish(
        self, recording_id: int, ended_at: datetime, duration_seconds: float, size_bytes: int
    ) -> RecordingRecord:
        if duration_seconds < 0 or size_bytes < 0:
            raise ValidationFailed("duration and size must not be negative")
        with self._db.transaction() as s:
            row = require(s, Recording, recording_id, "recording")
            row.ended_at = ended_at
            row.duration_seconds = duration_seconds
            row.size_bytes = size_bytes
            return to_record(RecordingRecord, row)

    def get(self, recording_id: int) -> RecordingRecord | None:
        with self._db.transaction() as s:
            row = s.get(Recording, recording_id)
            return None if row is None else to_record(RecordingRecord, row)

    def for_call(self, call_id: str) -> list[RecordingRecord]:
        stmt = select(Recording).where(Recording.call_id == call_id).order_by(Recording.id)
        with self._db.transaction() as s:
            return [to_record(RecordingRecord, r) for r in s.scalars(stmt)]

    def search(
        self,
        since: datetime,
        until: datetime,
        *,
        agent_id: int | None = None,
        queue: str | None = None,
        limit: int = 500,
    ) -> list[RecordingRecord]:
        stmt = select(Recording).where(Recording.started_at >= since, Recording.started_at < until)
        if agent_id is not None:
            stmt = stmt.where(Recording.agent_id == agent_id)
        if queue is not None:
            stmt = stmt.where(Recording.queue == queue)
        stmt = stmt.order_by(Recording.started_at, Recording.id).limit(limit)
        with self._db.transaction() as s:
            return [to_record(RecordingRecord, r) for r in s.scalars(stmt)]

    def unfinished(self) -> list[RecordingRecord]:
        """Recordings whose file was never closed (a crash): to repair or flag at start-up."""
        stmt = select(Recording).where(Recording.ended_at.is_(None)).order_by(Recording.id)
        with self._db.transaction() as s:
            return [to_record(RecordingRecord, r) for r in s.scalars(stmt)]

    def delete(self, recording_id: int) -> str:
        """Forget a recording (retention); returns the path so the caller deletes the file."""
        with self._db.transaction() as s:
            row = require(s, Recording, recording_id, "recording")
            path = row.path
            s.delete(row)
            return path


class VoicemailRepo(Repo):
    def __init__(self, db: Database, hasher: PasswordHasher | None = None) -> None:
        super().__init__(db)
        self._hasher = hasher or PasswordHasher()

    def create_mailbox(
        self, name: str, *, pin: str | None = None, email: str | None = None
    ) -> MailboxRecord:
        if pin is not None and not (pin.isdigit() and 4 <= len(pin) <= 12):
            raise ValidationFailed("a PIN has 4 to 12 digits")
        row = Mailbox(
            name=name, pin_hash=None if pin is None else self._hasher.hash(pin), email=email
        )
        with self._db.transaction() as s:
            s.add(row)
            s.flush()
            return to_record(MailboxRecord, row)

    def mailbox(self, name: str) -> MailboxRecord | None:
        with self._db.transaction() as s:
            row = s.scalar(select(Mailbox).where(Mailbox.name == name))
            return None if row is None else to_record(MailboxRecord, row)

    def check_pin(self, name: str, pin: str) -> bool:
        with self._db.transaction() as s:
            row = s.scalar(select(Mailbox).where(Mailbox.name == name))
            if row is None or row.pin_hash is None:
                return False
            return verify_secret(self._hasher, row.pin_hash, pin)

    def set_greeting(self, name: str, path: str | None) -> None:
        with self._db.transaction() as s:
            row = s.scalar(select(Mailbox).where(Mailbox.name == name))
            if row is None:
                raise NotFound(f"mailbox {name!r} not found")
            row.greeting_path = path

    def leave(
        self,
        name: str,
        caller: str,
        path: str,
        duration_seconds: float,
        received_at: datetime,
        call_id: str | None = None,
    ) -> MessageRecord:
        with self._db.transaction() as s:
            box = s.scalar(select(Mailbox).where(Mailbox.name == name))
            if box is None:
                raise NotFound(f"mailbox {name!r} not found")
            row = VoicemailMessage(
                mailbox_id=box.id,
                call_id=call_id,
                caller=caller,
                path=path,
                duration_seconds=duration_seconds,
                received_at=received_at,
                deleted=False,
            )
            s.add(row)
            s.flush()
            return to_record(MessageRecord, row)

    def messages(self, name: str, *, include_deleted: bool = False) -> list[MessageRecord]:
        stmt = (
            select(VoicemailMessage)
            .join(Mailbox, Mailbox.id == VoicemailMessage.mailbox_id)
            .where(Mailbox.name == name)
            .order_by(VoicemailMessage.received_at, VoicemailMessage.id)
        )
        if not include_deleted:
            stmt = stmt.where(VoicemailMessage.deleted.is_(False))
        with self._db.transaction() as s:
            return [to_record(MessageRecord, r) for r in s.scalars(stmt)]

    def mark_heard(self, message_id: int, at: datetime) -> None:
        with self._db.transaction() as s:
            row = require(s, VoicemailMessage, message_id, "message")
            if row.heard_at is None:
                row.heard_at = at

    def delete_message(self, message_id: int) -> None:
        with self._db.transaction() as s:
            require(s, VoicemailMessage, message_id, "message").deleted = True
