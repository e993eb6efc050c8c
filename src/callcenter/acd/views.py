"""Read-only snapshots of the ACD state for the wallboard, the desktop, the API and tests."""

from __future__ import annotations

from dataclasses import dataclass

from callcenter.acd.model import Activity, Category, Presence


@dataclass(frozen=True, slots=True)
class AgentView:
    agent_id: str
    seat: str
    category: Category
    presence: Presence
    reason: str
    activity: Activity
    since: float
    pending: Presence | None
    call_id: str | None
    no_answers: int
    calls_answered: int
    talk_time: float
    idle_since: float
    skills: tuple[tuple[str, int], ...]
    queues: tuple[tuple[str, int], ...]  # (queue id, eligibility level)

    def time_in_state(self, now: float) -> float:
        return now - self.since


@dataclass(frozen=True, slots=True)
class EntryView:
    call_id: str
    queue_id: str
    priority: int
    category: str
    enqueued_at: float
    seq: int
    level: int
    offered_to: tuple[str, ...]
    callback_number: str | None


@dataclass(frozen=True, slots=True)
class QueueView:
    queue_id: str
    waiting: int
    offered: int
    longest_wait: float
    members: int
    ready: int
    idle: int
    average_handle_time: float
