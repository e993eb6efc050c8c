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


@dataclass(frozen=True, slots=True)
class CallOffered:
    """The ACD offers the call to an agent: what the desktop pops before the answer."""

    call_id: str
    agent_id: str
    caller: str
    called: str
    queue_id: str
    category: str
    customer_id: int | None
    answer_mode: str  # "phone": the phone rings; "desktop": answer from the desktop


# ---- call control (SPEC §4 manual call handling, §5 supervisor operations) -----------------


@dataclass(frozen=True, slots=True)
class CallHeld:
    call_id: str
    agent_id: str
    by: str  # "desktop" or "phone"


@dataclass(frozen=True, slots=True)
class CallResumed:
    call_id: str
    agent_id: str
    by: str


@dataclass(frozen=True, slots=True)
class CallTransferred:
    call_id: str
    agent_id: str  # who transferred
    kind: str  # agent, queue, extension, number
    target: str
    mode: str  # blind, attended, phone (REFER), phone-attended (REFER with Replaces)


@dataclass(frozen=True, slots=True)
class ConsultStarted:
    call_id: str
    agent_id: str
    kind: str
    target: str


@dataclass(frozen=True, slots=True)
class ConsultEnded:
    call_id: str
    agent_id: str
    result: str  # cancelled, failed, hung_up, transferred, conference


@dataclass(frozen=True, slots=True)
class ConferenceStarted:
    call_id: str
    agent_id: str
    parties: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PlayStringStarted:
    call_id: str
    agent_id: str
    text: str
    repeat: int


@dataclass(frozen=True, slots=True)
class RecordingStarted:
    call_id: str
    agent_id: str
    name: str
    path: str


@dataclass(frozen=True, slots=True)
class RecordingPaused:
    call_id: str
    agent_id: str
    name: str


@dataclass(frozen=True, slots=True)
class RecordingResumed:
    call_id: str
    agent_id: str
    name: str


@dataclass(frozen=True, slots=True)
class RecordingStopped:
    call_id: str
    agent_id: str
    name: str
    seconds: float


@dataclass(frozen=True, slots=True)
class SupervisionStarted:
    call_id: str
    agent_id: str
    supervisor: str
    mode: str  # monitor, whisper, barge, intercept
    record: bool


@dataclass(frozen=True, slots=True)
class SupervisionModeChanged:
    call_id: str
    agent_id: str
    supervisor: str
    mode: str


@dataclass(frozen=True, slots=True)
class SupervisionEnded:
    call_id: str
    agent_id: str
    supervisor: str
    result: str  # left, hung_up, failed, call_ended


@dataclass(frozen=True, slots=True)
class CallIntercepted:
    call_id: str
    agent_id: str  # the agent whose call was taken ("" when it was only ringing)
    supervisor: str


@dataclass(frozen=True, slots=True)
class CallForceReleased:
    call_id: str
    agent_id: str
    supervisor: str


@dataclass(frozen=True, slots=True)
class InternalCallStarted:
    """内部呼叫 / click-to-dial: the originator's phone is being called first."""

    call_id: str
    agent_id: str  # the originator ("" for a plain extension)
    extension: str
    target: str
    direction: str  # internal or outbound
