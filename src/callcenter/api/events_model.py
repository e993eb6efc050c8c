"""Events the API itself adds to the event log (past tense, frozen): what agents and
supervisors did at the desktop that the ACD does not see (wrap-up codes, call notes)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class WrapUpCoded:
    call_id: str
    agent_id: str
    code: str


@dataclass(frozen=True, slots=True)
class CallNoteAdded:
    call_id: str | None
    agent_id: str
    text: str
    customer_id: int | None


@dataclass(frozen=True, slots=True)
class HangUpRequested:
    call_id: str
    agent_id: str
    by: str
