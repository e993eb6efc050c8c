"""IVR flows as immutable numbered versions (one active per name) and prompts per language.

A flow body is JSON owned by the IVR layer, which validates it before calling ``add_version``;
storage only guarantees that a stored version never changes and that activation is atomic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from callcenter.storage.errors import Conflict, NotFound, ValidationFailed
from callcenter.storage.repos._base import Repo, to_record
from callcenter.storage.schema import IvrFlow, Prompt


@dataclass(frozen=True, slots=True)
class FlowRecord:
    id: int
    name: str
    version: int
    body: dict[str, Any]
    created_by: str
    created_at: datetime
    active: bool


@dataclass(frozen=True, slots=True)
class PromptRecord:
    id: int
    name: str
    language: str
    text: str | None
    file_path: str | None
    updated_at: datetime


class FlowRepo(Repo):
    def add_version(
        self,
        name: str,
        body: dict[str, Any],
        created_by: str,
        now: datetime,
        version: int | None = None,
    ) -> FlowRecord:
        """Store ``body`` as a new version of ``name`` (not active until ``activate``).

        ``version`` defaults to the next number; a given one must be above every stored one.
        """
        with self._db.transaction() as s:
            last = s.scalar(select(func.max(IvrFlow.version)).where(IvrFlow.name == name)) or 0
            if version is not None and version <= last:
                raise Conflict(f"flow {name!r}: version {version} is not above {last}")
            row = IvrFlow(
                name=name,
                version=last + 1 if version is None else version,
                body=body,
                created_by=created_by,
                created_at=now,
                active=False,
            )
            s.add(row)
            s.flush()
            return to_record(FlowRecord, row)

    def activate(self, name: str, version: int) -> FlowRecord:
        """Make ``version`` the one active version of ``name``, in one transaction."""
        with self._db.transaction() as s:
            row = s.scalar(select(IvrFlow).where(IvrFlow.name == name, IvrFlow.version == version))
            if row is None:
                raise NotFound(f"flow {name!r} version {version} not found")
            s.execute(
                update(IvrFlow)
                .where(IvrFlow.name == name, IvrFlow.id != row.id)
                .values(active=False)
            )
            row.active = True
            return to_record(FlowRecord, row)

    def active(self, name: str) -> FlowRecord | None:
        with self._db.transaction() as s:
            row = s.scalar(select(IvrFlow).where(IvrFlow.name == name, IvrFlow.active.is_(True)))
            return None if row is None else to_record(FlowRecord, row)

    def get(self, name: str, version: int) -> FlowRecord | None:
        with self._db.transaction() as s:
            row = s.scalar(select(IvrFlow).where(IvrFlow.name == name, IvrFlow.version == version))
            return None if row is None else to_record(FlowRecord, row)

    def versions(self, name: str) -> list[FlowRecord]:
        with self._db.transaction() as s:
            rows = s.scalars(select(IvrFlow).where(IvrFlow.name == name).order_by(IvrFlow.version))
            return [to_record(FlowRecord, r) for r in rows]

    def names(self) -> list[str]:
        with self._db.transaction() as s:
            return list(s.scalars(select(IvrFlow.name).distinct().order_by(IvrFlow.name)))


class PromptRepo(Repo):
    def put(
        self,
        name: str,
        language: str,
        now: datetime,
        *,
        text: str | None = None,
        file_path: str | None = None,
    ) -> PromptRecord:
        """Create or replace the prompt ``name`` in ``language`` (text for TTS, or a file)."""
        if text is None and file_path is None:
            raise ValidationFailed("a prompt needs a text or a file path")
        with self._db.transaction() as s:
            row = s.scalar(select(Prompt).where(Prompt.name == name, Prompt.language == language))
            if row is None:
                row = Prompt(name=name, language=language)
                s.add(row)
            row.text = text
            row.file_path = file_path
            row.updated_at = now
            s.flush()
            return to_record(PromptRecord, row)

    def get(self, name: str, language: str) -> PromptRecord | None:
        with self._db.transaction() as s:
            row = s.scalar(select(Prompt).where(Prompt.name == name, Prompt.language == language))
            return None if row is None else to_record(PromptRecord, row)

    def all(self) -> list[PromptRecord]:
        with self._db.transaction() as s:
            rows = s.scalars(select(Prompt).order_by(Prompt.name, Prompt.language))
            return [to_record(PromptRecord, r) for r in rows]

    def delete(self, name: str, language: str) -> None:
        with self._db.transaction() as s:
            row = s.scalar(select(Prompt).where(Prompt.name == name, Prompt.language == language))
            if row is None:
                raise NotFound(f"prompt {name!r} ({language}) not found")
            s.delete(row)
