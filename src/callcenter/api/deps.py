"""The API's collaborators, typed as Protocols, and the settings it runs with.

``create_app(ApiDeps(...))`` receives everything it talks to explicitly: the storage (always
through ``AsyncStorage``, so the event loop never blocks), the contact center (the live ACD,
the agent directory, the calls up), the SIP credential cache (reloaded when extensions change)
and a wall clock. The runtime passes the real objects; tests pass fakes with the same shape.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from callcenter.acd import Acd
from callcenter.acd.events import Output
from callcenter.calls.control import CallControl
from callcenter.calls.internal_supervise import InternalSupervisor
from callcenter.ivr.registry import FlowRegistry
from callcenter.storage.aio import AsyncStorage
from callcenter.storage.repos.settings import ScheduleRecord
from callcenter.storage.repos.telephony import TrunkRecord
from callcenter.storage.store import Storage

# (seq, type, payload, call_id, agent_id, at: when the event happened, as in the event log)
EventListener = Callable[[int, str, dict[str, Any], str | None, int | None, datetime], None]


class CallLeg(Protocol):
    """A call the center is carrying: hang it up, or control it (calls/control.py)."""

    def hangup_all(self, reason: str) -> None: ...

    @property
    def control(self) -> CallControl: ...


class OutLeg(Protocol):
    """An internal call or click-to-dial the center placed (calls/outbound.py)."""

    def hangup_all(self, reason: str) -> None: ...

    @property
    def done(self) -> asyncio.Event: ...

    @property
    def supervisor(self) -> InternalSupervisor: ...


class Directory(Protocol):
    """Agent id -> extension and memberships, and hot-desk seats (calls/agents.py
    ``AgentDirectory``)."""

    def reload(self, store: Storage) -> None: ...

    def extension_of(self, agent_id: str) -> str | None: ...

    def queues_of(self, agent_id: str) -> frozenset[str] | None: ...

    def sit(self, agent_id: str, extension: str) -> None: ...


class Center(Protocol):
    """What the API needs of ``calls.center.ContactCenter``."""

    @property
    def acd(self) -> Acd: ...

    @property
    def directory(self) -> Directory: ...

    @property
    def calls(self) -> Mapping[str, CallLeg]: ...

    @property
    def flows(self) -> FlowRegistry: ...

    @property
    def data_dir(self) -> Path: ...  # the server's data directory (uploaded prompts live there)

    @property
    def recording_policies(self) -> dict[str, str]: ...

    @property
    def answer_modes(self) -> dict[str, str]: ...

    @property
    def calls_out(self) -> Mapping[str, OutLeg]: ...

    async def dial(self, origin_agent: str | None, origin_ext: str, target: str) -> str: ...

    @property
    def listeners(self) -> list[EventListener]: ...

    def now(self) -> float: ...

    def apply(self, outputs: list[Output]) -> None: ...

    def record_event(self, event: object, call_id: str | None = None) -> None: ...

    def apply_schedules(self, records: list[ScheduleRecord]) -> None: ...

    async def apply_trunks(self, records: list[TrunkRecord]) -> None: ...


class Credentials(Protocol):
    """The registrar's SIP credential cache (``sip_credentials.CredentialCache``)."""

    def reload(self, store: Storage, realm: str) -> None: ...


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ApiSettings:
    session_ttl: timedelta = timedelta(hours=12)
    cookie_name: str = "cc_session"
    cookie_secure: bool = False  # also set when the request itself came over HTTPS
    idempotency_ttl: timedelta = timedelta(hours=24)
    idempotency_max_entries: int = 10_000
    ws_queue_size: int = 1000
    webhook_attempts: int = 4
    webhook_backoff: float = 0.5  # seconds, doubled after each failed attempt
    webhook_timeout: float = 5.0


@dataclass(slots=True)
class ApiDeps:
    store: AsyncStorage
    center: Center
    credentials: Credentials
    realm: str
    settings: ApiSettings = field(default_factory=ApiSettings)
    wall: Callable[[], datetime] = _utcnow
