"""Call-level domain events (past tense, frozen); they go to the event log and the API stream.

The ACD's own outputs (OfferToAgent, AgentStateChanged, CallQueued...) are logged too; these
add what the ACD does not see: the call arriving, being bridged, and being closed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CallArrived:
    call_id: str
    caller: str
    called: str
    destination: str


@dataclass(frozen=True, slots=True)
class CallBridged:
    call_id: str
    agent_id: str
    caller: str
    category: str
    customer_id: int | None


@dataclass(frozen=True, slots=True)
class CallClosed:
    call_id: str
    outcome: str
    agent_id: str | None
    queue_wait: float
    talk: float
