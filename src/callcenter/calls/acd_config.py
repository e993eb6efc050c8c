"""Storage queue settings -> the ACD's ``QueueConfig`` (one translation, in one place)."""

from __future__ import annotations

from callcenter.acd.model import (
    Destination,
    DestinationKind,
    QueueConfig,
    SkillRequirement,
    Strategy,
)
from callcenter.storage.repos.queues import QueueRecord

_STRATEGIES = {s.value: s for s in Strategy}
_STRATEGIES["skill_level"] = Strategy.SKILL_LEVEL_FIRST


def destination(text: str | None) -> Destination:
    """``queue:NAME``, ``voicemail:BOX``, ``callback``, ``extension:N`` or empty (hang up)."""
    if not text:
        return Destination(DestinationKind.HANGUP)
    kind, _, target = text.partition(":")
    try:
        return Destination(DestinationKind(kind), target)
    except ValueError:
        return Destination(DestinationKind.HANGUP)


def queue_config(rec: QueueRecord) -> QueueConfig:
    s = rec.settings
    return QueueConfig(
        queue_id=rec.name,
        strategy=_STRATEGIES.get(s.strategy, Strategy.LONGEST_IDLE),
        required=tuple(SkillRequirement(name, level) for name, level in sorted(rec.skills.items())),
        ring_timeout=float(s.ring_timeout_seconds),
        wrapup=float(s.wrapup_seconds),
        max_wait=None if s.max_wait_seconds is None else float(s.max_wait_seconds),
        max_len=s.max_length,
        overflow=destination(s.overflow_destination),
        weight=s.weight,
        max_no_answers=s.max_no_answer,
    )
