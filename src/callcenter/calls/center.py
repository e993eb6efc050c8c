"""The contact center: dialplan -> IVR -> ACD queue -> agent phone -> bridge -> wrap-up.

Theory of operation: ``ContactCenter.route`` claims every new call that the dialplan sends to a
flow or a queue and runs it as one task (``inbound.InboundCall``). The pure ACD is owned here:
every command's outputs go through ``apply``, which offers calls to agents (an INVITE to the
agent's registered contact, carrying the caller's number, business category and customer id),
withdraws offers (CANCEL), hangs up agents and carries out overflows. One loop timer drives the
ACD's deadlines (ring timeouts, wrap-up ends, max wait). Every step lands in the CDR and the
event log through the storage thread; the event loop never waits on the database.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from dataclasses import asdict, is_dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from callcenter.acd import Acd
from callcenter.acd.errors import AcdError
from callcenter.acd.events import (
    AgentStateChanged,
    CallLeftQueue,
    CallOverflowed,
    CallQueued,
    CancelOffer,
    HangUpAgent,
    OfferToAgent,
    Output,
)
from callcenter.acd.model import Presence
from callcenter.calls.agents import AgentDirectory
from callcenter.calls.events import CallArrived
from callcenter.calls.inbound import InboundCall
from callcenter.calls.outbound import OutboundCall
from callcenter.calls.routing import with_stored_schedules
from callcenter.calls.service import CallService
from callcenter.calls.trunks import TrunkService
from callcenter.dialplan import Dialplan
from callcenter.ivr.registry import FlowRegistry
from callcenter.logs import get_logger
from callcenter.lookup.base import LookupProvider
from callcenter.sip.registrar import Registrar
from callcenter.sip.ua import Call
from callcenter.storage.aio import AsyncStorage
from callcenter.storage.repos.settings import ScheduleRecord
from callcenter.storage.repos.telephony import TrunkRecord

log = get_logger("callcenter.center")


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in asdict(value).items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


class ContactCenter:
    def __init__(
        self,
        service: CallService,
        acd: Acd,
        directory: AgentDirectory,
        registrar: Registrar,
        store: AsyncStorage,
        data_dir: Path,
    ) -> None:
        self.service = service
        self.acd = acd
        self.directory = directory
        self.registrar = registrar
        self.store = store
        self.data_dir = data_dir
        self.dialplan: Dialplan | None = None
        self.file_dialplan: Dialplan | None = None  # before the stored schedules were applied
        self.flows = FlowRegistry()
        self.lookup: LookupProvider | None = None
        self.trunks: TrunkService | None = None
        self.calls: dict[str, InboundCall] = {}  # by ACD call id (the caller's SIP Call-ID)
        self.background: set[asyncio.Task[Any]] = set()
        self._timer: asyncio.TimerHandle | None = None
        self.wall: Callable[[], datetime] = lambda: datetime.now(UTC)
        self.recording_policies: dict[str, str] = {}
        self.announce_every: dict[str, float] = {}  # queue -> seconds between announcements
        # agent id -> "desktop" when the agent answers from the desktop (the phone is then
        # called with auto-answer), set at login; absent: the phone rings as usual.
        self.answer_modes: dict[str, str] = {}
        self.calls_out: dict[str, OutboundCall] = {}  # internal calls / click-to-dial
        self.outbound_seq = 0
        # Called with every event once it is in the event log: (seq, type, payload, call_id,
        # agent_id, at). The API's WebSocket stream and webhooks subscribe here.
        self.listeners: list[
            Callable[[int, str, dict[str, Any], str | None, int | None, datetime], None]
        ]
        self.listeners = []

    def recording_policy(self, queue_id: str) -> str:
        return self.recording_policies.get(queue_id, "none")

    # ------------------------------------------------------------- routing
    def route(self, service: CallService, call: Call) -> Coroutine[Any, Any, None] | None:
        if self.dialplan is None:
            return None
        decision = self.dialplan.route(call.called, call.caller, self.wall())
        dest = decision.destination
        target = dest.target
        if dest.kind == "extension":
            target = call.called if target == "direct" else target
            if not self.registrar.lookup(target, self.now()):
                return None  # not registered (or the echo test): 404 or the next router
        elif dest.kind not in ("flow", "queue", "voicemail"):
            return None  # "hangup" is a 404
        log.info("call.routed", call_id=call.invite.call_id, destination=str(dest),
                 rule=decision.rule or "-")  # fmt: skip
        inbound = InboundCall(self, call, dest.kind, target)
        self.record_event(
            CallArrived(call.invite.call_id, call.caller, call.called, f"{dest.kind}:{target}")
        )
        self.calls[inbound.acd_id] = inbound
        return inbound.run()

    async def dial(self, origin_agent: str | None, origin_ext: str, target: str) -> str:
        """内部呼叫 / click-to-dial: ring the originator's phone, then the target; the call id."""
        call = await OutboundCall.place(self, origin_agent, origin_ext, target)
        return call.key

    # ------------------------------------------------------ live configuration
    def apply_schedules(self, records: list[ScheduleRecord]) -> None:
        """Route the next calls with these stored working hours and holidays."""
        if self.file_dialplan is None:
            self.file_dialplan = self.dialplan
        if self.file_dialplan is not None:
            self.dialplan = with_stored_schedules(self.file_dialplan, records)

    async def apply_trunks(self, records: list[TrunkRecord]) -> None:
        """Start, stop or restart trunks (and their registrations) to match ``records``."""
        if self.trunks is not None:
            await self.trunks.reload(records)

    def forget(self, inbound: InboundCall) -> None:
        self.calls.pop(inbound.acd_id, None)

    # ----------------------------------------------------------------- ACD
    def now(self) -> float:
        return self.service.now()

    def command(self, fn: Callable[..., list[Output]], *args: Any, **kwargs: Any) -> bool:
        """Run one ACD command and apply its outputs; False (logged) when the ACD refused."""
        try:
            outputs = fn(*args, **kwargs)
        except AcdError as exc:
            log.info("acd.refused", command=getattr(fn, "__name__", "?"), error=str(exc))
            return False
        self.apply(outputs)
        return True

    def apply(self, outputs: list[Output]) -> None:
        for out in outputs:
            try:
                self._apply_one(out)
            except Exception:
                log.exception("acd.output_failed", output=type(out).__name__)
            self.record_event(out)
        self._arm()
        self.service.kick()

    def _apply_one(self, out: Output) -> None:
        if isinstance(out, AgentStateChanged):
            self._agent_changed(out)
            return
        call_id = getattr(out, "call_id", None)
        inbound = self.calls.get(call_id) if isinstance(call_id, str) else None
        if inbound is None:
            self._apply_elsewhere(out, call_id)
            return
        if isinstance(out, OfferToAgent):
            self.spawn(inbound.offer(out))
        elif isinstance(out, CancelOffer):
            inbound.withdraw(out.agent_id, out.reason)
        elif isinstance(out, HangUpAgent):
            inbound.hangup_all("agent logged out")
        elif isinstance(out, CallOverflowed):
            inbound.overflow(out)
        elif isinstance(out, CallQueued):
            inbound.queued(out)
        elif isinstance(out, CallLeftQueue):
            inbound.left_queue(out)

    def _apply_elsewhere(self, out: Output, call_id: object) -> None:
        """An output for no live inbound call: an offer whose caller left meanwhile, or an
        internal call's. A CancelOffer of an internal call's reservation (force busy,
        logout) lets the agent's own call go on: it is taken (or not) when the phone answers."""
        if isinstance(out, OfferToAgent):  # the caller left between decision and offer
            self.command(self.acd.offer_rejected, out.call_id, out.agent_id, self.now())
        elif isinstance(out, HangUpAgent) and isinstance(call_id, str):
            internal = self.calls_out.get(call_id)
            if internal is not None:
                internal.hangup_all("agent logged out")

    def _agent_changed(self, out: AgentStateChanged) -> None:
        if out.presence is Presence.LOGGED_OUT:
            self.directory.stand(out.agent_id)  # a hot-desk ends with the login
        log.info("agent.state", agent_id=out.agent_id, presence=out.presence.value,
                 activity=out.activity.value, reason=out.reason, cause=out.cause)  # fmt: skip

    def _arm(self) -> None:
        deadline = self.acd.next_deadline()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if deadline is not None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_at(max(deadline, loop.time()), self._fire)

    def _fire(self) -> None:
        self._timer = None
        self.apply(self.acd.on_timer(self.now()))

    # ------------------------------------------------------------- helpers
    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(coro)
        self.background.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self.background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("center.task_failed", error=repr(task.exception()))

    def record_event(self, event: object, call_id: str | None = None) -> None:
        """Append a domain event to the event log (on the storage thread, in order, batched
        with the writes made close to it), then hand it with its sequence number to the
        listeners. No task per event: the write's future calls back when it committed."""
        payload = _plain(event)
        if not isinstance(payload, dict):
            payload = {"value": payload}
        kind = type(event).__name__
        cid = call_id or payload.get("call_id")
        cid = cid if isinstance(cid, str) else None
        agent = payload.get("agent_id")
        agent_id = int(agent) if isinstance(agent, str) and agent.isdigit() else None
        events, at = self.store.sync.events, datetime.now(UTC)
        written = self.store.write(events.append, kind, payload, at,
                                   call_id=cid, agent_id=agent_id)  # fmt: skip
        done = functools.partial(self._recorded, kind, payload, cid, agent_id, at)
        written.add_done_callback(done)

    def _recorded(
        self, kind: str, payload: dict[str, Any], call_id: str | None, agent_id: int | None,
        at: datetime, written: asyncio.Future[int],
    ) -> None:  # fmt: skip
        if written.cancelled():
            return
        error = written.exception()
        if error is not None:
            log.error("center.event_not_logged", event=kind, error=repr(error))
            return
        seq = written.result()
        for listener in self.listeners:
            try:
                listener(seq, kind, payload, call_id, agent_id, at)
            except Exception:
                log.exception("center.listener_failed", event=kind)

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        for task in list(self.background):
            task.cancel()
        if self.background:
            await asyncio.gather(*self.background, return_exceptions=True)
