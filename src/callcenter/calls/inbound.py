"""One inbound call's journey: answer, IVR, queue, agent offer, bridge, hangup, CDR.

``InboundCall.run`` is the caller leg's task. Inputs that arrive while it waits (digits from
RFC 4733 or SIP INFO, prompt endings, lookup results, the caller's BYE) go through one queue,
so the pure IVR runner sees them in order. The ACD's outputs for this call arrive through the
``ContactCenter`` as method calls (``offer``, ``withdraw``, ``queued``, ``overflow``). The agent
leg is a SIP call we place; its events arrive through ``_agent_event``. Whatever happens, the
caller's CDR is closed exactly once with the times of each phase.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callcenter import ivr
from callcenter.acd.errors import AcdError
from callcenter.acd.events import CallLeftQueue, CallOverflowed, CallQueued, OfferToAgent
from callcenter.acd.model import DestinationKind
from callcenter.calls.agents import contact_address
from callcenter.calls.control import CallControl
from callcenter.calls.events import CallBridged, CallClosed, CallOffered
from callcenter.calls.media_session import MediaSession, NoCodec
from callcenter.ivr.runner import IvrSession
from callcenter.logs import get_logger
from callcenter.lookup.base import resolve
from callcenter.media.control import Recording
from callcenter.media.player import Moh, PromptSource, Say, Tone
from callcenter.sip.endpoint import Address
from callcenter.sip.ua import Call, CallConfirmed, CallEnded, CallFailed, CallProgress, UaEvent
from callcenter.storage.repos.calls import CallTimes

if TYPE_CHECKING:
    from callcenter.calls.center import ContactCenter
    from callcenter.sip.ua import InDialogRequest

log = get_logger("callcenter.inbound")
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")
VOICEMAIL_MAX_SECONDS = 120.0


def _disposition(status: int, withdrawn: bool) -> str:
    """A CDR leg's end from the final status of its INVITE."""
    if withdrawn or status == 487:
        return "cancelled"
    if status in (486, 600):
        return "busy"
    if status in (408, 480):
        return "no_answer"
    return "rejected" if 400 <= status < 700 else "failed"


def _position_text(position: int, expected_wait: float) -> str:
    ahead = max(0, position - 1)
    if not ahead:
        return "请稍候，正在为您转接。"
    minutes = max(1, round(expected_wait / 60))
    return f"您前面还有{ahead}位客户，预计等待{minutes}分钟，请稍候。"


@dataclass
class AgentLeg:
    """A leg we place for this caller: an agent offered by the ACD (``mode`` "offer"), an agent
    reserved for a transfer or consult outside the queues ("direct", ACD key ``acd_key``), a
    plain extension or external number ("plain": no ACD bookkeeping), or a supervisor."""

    agent_id: str
    queue_id: str
    via_acd: bool = True
    mode: str = "offer"
    acd_key: str = ""
    role: str = "agent"
    on_answer: Callable[[AgentLeg], Awaitable[None]] | None = None  # instead of bridging
    on_fail: Callable[[AgentLeg, int], Awaitable[None]] | None = None
    on_end: Callable[[AgentLeg], Awaitable[None]] | None = None
    detached: bool = False  # no longer the caller's partner (transferred away, consult...)
    session: MediaSession | None = None
    call: Call | None = None
    withdrawn: bool = False
    ringing: bool = False
    answered: bool = False
    offered_at: float = 0.0
    leg_id: str = ""  # the CDR leg, once the INVITE went out
    leg_ended: bool = False


@dataclass
class Times:
    arrived: float
    answered: float | None = None
    queued: float | None = None
    left_queue: float | None = None
    offered: float | None = None
    talk_start: float | None = None
    ended: float | None = None


@dataclass
class InboundCall:
    center: ContactCenter
    call: Call
    kind: str  # dialplan destination kind: flow, queue, voicemail, hangup
    target: str
    inputs: asyncio.Queue[tuple[str, Any]] = field(default_factory=asyncio.Queue)
    session: MediaSession | None = None
    agent: AgentLeg | None = None
    outcome: str = "failed"
    category: str = ""
    customer_id: int | None = None
    queue_id: str | None = None
    recording: Recording | None = None
    recording_row: int | None = None
    moh: asyncio.Task[Any] | None = None
    caller_gone: bool = False
    finished: bool = False  # _finish has started: no new legs
    answered_by: str | None = None
    legs: int = 0
    legs_made: int = 0
    writes: list[asyncio.Future[Any]] = field(default_factory=list)
    control: CallControl = field(init=False)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    times: Times = field(init=False)

    def __post_init__(self) -> None:
        self.times = Times(self.center.now())
        self.control = CallControl(self)

    @property
    def acd_id(self) -> str:
        return self.call.invite.call_id

    def _write(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """A CDR write on the storage thread, in order (batched with other calls' writes); the
        CDR is closed after all of them committed."""
        self.writes.append(self.center.store.write(fn, *args, **kwargs))

    # ------------------------------------------------------------ main task
    async def run(self) -> None:
        svc = self.center.service
        svc.watch(self.call, self._caller_event)
        svc.dtmf_listeners[self.acd_id] = lambda d: self.inputs.put_nowait(("digit", d))
        store = self.center.store
        # Not awaited: the answer must not wait on the storage thread (bench/inbound); the
        # writes of a call are ordered, and all land before its CDR is closed.
        self._write(store.sync.cdrs.open_call, self.acd_id, self.call.caller, self.call.called,
                    datetime.now(UTC), caller_leg=f"{self.acd_id}/caller")  # fmt: skip
        try:
            await self._serve()
        except NoCodec:
            svc.ua.reject(self.call, 488, self.center.now())
            svc.kick()
        finally:
            await self._finish()

    async def _serve(self) -> None:
        if self.kind == "hangup":
            self.center.service.ua.reject(self.call, 480, self.center.now())
            return
        self.session = await self.center.service.open_media(self.call)
        self.center.service.answer(self.call, self.session)
        self.times.answered = self.center.now()
        if self.kind == "flow":
            await self._run_ivr(self.target)
        elif self.kind == "queue":
            self.enqueue(self.target, 0, "")
        elif self.kind == "voicemail":
            await self.voicemail(self.target)
        elif self.kind == "extension" and not await self.dial_extension(self.target):
            await self._unreachable()
        await self._wait_end()

    async def _wait_end(self) -> None:
        while not self.caller_gone and self.call.state != "ended":
            kind, _ = await self.inputs.get()
            if kind == "hangup":
                break

    # ------------------------------------------------------------------ IVR
    async def _run_ivr(self, flow_name: str) -> None:
        flow = self.center.flows.current(flow_name)
        now = self.center.now()
        variables = {"caller": self.call.caller, "called": self.call.called}
        runner = IvrSession(flow, variables, now, self.center.wall())
        commands = runner.start(now)
        while True:
            terminal = await self._execute(runner, commands)
            if terminal is not None or runner.done:
                await self._terminal(terminal)
                return
            commands = await self._next_ivr_input(runner)

    async def _next_ivr_input(self, runner: IvrSession) -> list[ivr.Command]:
        deadline = runner.next_deadline()
        timeout = None if deadline is None else max(0.0, deadline - self.center.now())
        try:
            kind, value = await asyncio.wait_for(self.inputs.get(), timeout)
        except TimeoutError:
            return runner.on_timer(self.center.now())
        now = self.center.now()
        if kind == "digit":
            return runner.on_digit(value, now)
        if kind == "play_done":
            return runner.on_play_done(now, value)
        if kind == "lookup":
            return runner.on_lookup_result(value, now)
        self.caller_gone = True
        return runner.on_hangup(now)

    async def _execute(self, runner: IvrSession, commands: list[ivr.Command]) -> Any:
        for cmd in commands:
            if isinstance(cmd, ivr.Play):
                self._play(cmd)
            elif isinstance(cmd, ivr.StopPlay):
                await self._stop_play()
            elif isinstance(cmd, ivr.Lookup):
                self.center.spawn(self._lookup(cmd))
            elif isinstance(cmd, ivr.SetCategory):
                self.category = cmd.category
            elif isinstance(cmd, ivr.TERMINAL_COMMANDS):
                self._annotate_ivr(runner)
                return cmd
        return None

    def _annotate_ivr(self, runner: IvrSession) -> None:
        cdrs = self.center.store.sync.cdrs
        customer = runner.vars.get("customer_id")
        if isinstance(customer, int):
            self.customer_id = customer
        for step in runner.path:
            self._write(cdrs.annotate, self.acd_id, ivr_step=step)
        self._write(cdrs.annotate, self.acd_id, business_category=self.category or None,
                    customer_id=self.customer_id)  # fmt: skip

    def _play(self, cmd: ivr.Play) -> None:
        sources: list[PromptSource] = []
        for prompt in cmd.prompts:
            if isinstance(prompt, ivr.Tts):
                sources.append(Say(prompt.text, "en" if prompt.voice == "en" else "zh"))
            else:
                sources.append(Path(prompt.path))
        self.center.spawn(self._play_then_report(sources, cmd.interruptible, cmd.seq))

    async def _play_then_report(self, sources: list[PromptSource], inter: bool, seq: int) -> None:
        if self.session is None:
            return
        await self.center.service.media.play(self.session.leg, sources, False, inter)
        self.inputs.put_nowait(("play_done", seq))

    async def _stop_play(self) -> None:
        if self.session is not None:
            await self.center.service.media.stop_play(self.session.leg)

    async def _lookup(self, cmd: ivr.Lookup) -> None:
        provider = self.center.lookup
        result: ivr.LookupResult = ivr.LookupFailed("no provider")
        if provider is not None:
            result = await resolve(provider, cmd)
        if isinstance(result, dict) and isinstance(result.get("customer_id"), int):
            self.customer_id = int(result["customer_id"])
        self.inputs.put_nowait(("lookup", result))

    async def _terminal(self, cmd: Any) -> None:
        if isinstance(cmd, ivr.Enqueue):
            self.enqueue(cmd.queue, cmd.priority, cmd.category or self.category)
        elif isinstance(cmd, ivr.Voicemail):
            await self.voicemail(cmd.box)
        elif isinstance(cmd, ivr.Hangup):
            self.outcome = "abandoned" if cmd.cause == ivr.CALLER_HANGUP else "failed"
            self.hangup_all(cmd.cause)
        elif isinstance(cmd, ivr.Transfer):
            ok = (await self.dial_extension(cmd.target) if cmd.kind == "extension"
                  else await self.dial_external(cmd.target, cmd.trunk))  # fmt: skip
            if not ok:
                await self._unreachable()
        else:
            log.warning("ivr.unsupported_terminal", call_id=self.acd_id, command=repr(cmd))
            await self._say("对不起，该服务暂未开通，再见。")
            self.hangup_all("unsupported")

    async def _say(self, text: str) -> None:
        if self.session is not None and not self.caller_gone:
            await self.center.service.media.play(self.session.leg, [Say(text, "zh")], False, False)

    # ---------------------------------------------------------------- queue
    def enqueue(self, queue_id: str, priority: int, category: str) -> None:
        self.queue_id = queue_id
        self.category = category
        self.times.queued = self.center.now()
        self._write(self.center.store.sync.cdrs.annotate, self.acd_id, queue=queue_id)
        ok = self.center.command(
            self.center.acd.enqueue, self.acd_id, queue_id, self.center.now(),
            priority=priority, category=category,
        )  # fmt: skip
        if not ok:
            self.center.spawn(self._apologise_and_hang_up())

    async def _apologise_and_hang_up(self) -> None:
        await self._say("对不起，系统繁忙，请稍后再拨。")
        self.hangup_all("no queue")

    def queued(self, ev: CallQueued) -> None:
        self._start_moh(_position_text(ev.position, ev.expected_wait))

    def _start_moh(self, intro: str) -> None:
        """Music on hold, with the position announced first and then every N seconds."""
        if self.session is None or self.moh is not None:
            return
        self.moh = asyncio.create_task(self._hold_music_safe(intro))

    async def _hold_music_safe(self, intro: str) -> None:
        """Hold music must never die silently: on a failed announcement, plain music."""
        try:
            await self._hold_music(intro)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("call.announcement_failed", call_id=self.acd_id, error=str(exc))
            if self.session is not None and not self.caller_gone:
                await self.center.service.media.play(self.session.leg, [Moh()], True, False)

    async def _hold_music(self, intro: str) -> None:
        assert self.session is not None
        media = self.center.service.media
        leg = self.session.leg
        every = self.center.announce_every.get(self.queue_id or "", 0.0)
        await media.play(leg, [Say(intro, "zh")], False, False)
        while True:
            if every <= 0:
                await media.play(leg, [Moh()], True, False)
                return
            try:
                await asyncio.wait_for(media.play(leg, [Moh()], True, False), every)
            except TimeoutError:
                await media.stop_play(leg)
            try:
                position, wait = self.center.acd.position(self.acd_id)
            except AcdError:
                return  # no longer waiting (being offered or gone)
            await media.play(leg, [Say(_position_text(position, wait), "zh")], False, False)

    async def _stop_moh(self) -> None:
        if self.moh is not None:
            self.moh.cancel()
            self.moh = None
            await self._stop_play()

    def left_queue(self, ev: CallLeftQueue) -> None:
        self.times.left_queue = self.center.now()

    def overflow(self, ev: CallOverflowed) -> None:
        dest = ev.destination
        log.info("call.overflow", call_id=self.acd_id, queue=ev.queue_id, reason=ev.reason.value,
                 destination=f"{dest.kind.value}:{dest.target}")  # fmt: skip
        self.outcome = "overflowed"
        if dest.kind is DestinationKind.QUEUE and dest.target:
            self.enqueue(dest.target, 0, self.category)
        elif dest.kind is DestinationKind.VOICEMAIL:
            self.center.spawn(self._overflow_voicemail(dest.target or "general"))
        else:
            self.center.spawn(self._apologise_and_hang_up())

    async def _overflow_voicemail(self, box: str) -> None:
        await self._stop_moh()
        await self.voicemail(box)
        self.outcome = "overflowed"

    # ---------------------------------------------------------- agent offer
    async def offer(self, out: OfferToAgent) -> None:
        center = self.center
        ext = center.directory.extension_of(out.agent_id)
        bindings = center.registrar.lookup(ext, center.now()) if ext else []
        if not bindings or self.caller_gone or ext is None:
            center.command(center.acd.offer_rejected, self.acd_id, out.agent_id, center.now())
            return
        headers = [("X-CC-Queue", out.queue_id), ("X-CC-Agent", out.agent_id)]
        if self.category:
            headers.append(("X-CC-Category", self.category))
        if self.customer_id is not None:
            headers.append(("X-CC-Customer", str(self.customer_id)))
        agent = AgentLeg(out.agent_id, out.queue_id, offered_at=center.now(), acd_key=self.acd_id)
        desktop = center.answer_modes.get(out.agent_id) == "desktop"
        mode = "desktop" if desktop else "phone"
        center.record_event(CallOffered(self.acd_id, out.agent_id, self.call.caller,
                                        self.call.called, out.queue_id, self.category,
                                        self.customer_id, mode))  # fmt: skip
        if desktop:  # the phone rings (and answers itself) when the agent clicks answer
            self.agent = agent
            self.times.offered = center.now()
            self.control.pending_answer = (ext, headers)
            return
        await self._ring_contact(agent, ext, contact_address(bindings[0]), bindings[0].contact,
                                 headers)  # fmt: skip
        if agent.call is None:
            return  # the caller left meanwhile
        log.info("call.offered", call_id=self.acd_id, agent_id=out.agent_id, extension=ext,
                 rule=out.explanation.rule, strategy=out.explanation.strategy)  # fmt: skip

    async def _ring_contact(
        self, agent: AgentLeg, ext: str, dest: Address, contact: str,
        headers: list[tuple[str, str]], *, main: bool = True,
    ) -> None:  # fmt: skip
        """INVITE a registered phone for this caller, with the caller's number as From.
        ``main``: the leg becomes the caller's partner (``self.agent``)."""
        svc = self.center.service
        local_ip, _ = svc.ua.endpoint.local_for(dest)
        sdp = await self._new_leg(agent, local_ip, main=main)
        if await self._left_meanwhile(agent):
            return
        caller = self.call.caller or "anonymous"
        host = f"[{local_ip}]" if ":" in local_ip else local_ip
        agent.call = svc.ua.invite(
            dest, contact, f'"{caller}" <sip:{caller}@{host}>', f"<sip:{ext}@{host}>", sdp,
            self.center.now(), headers,
        )  # fmt: skip
        self.watch_leg(agent)
        svc.kick()
        role = agent.role if agent.role != "agent" or agent.via_acd else "external"
        self._leg_started(agent, ext, role)

    def watch_leg(self, agent: AgentLeg) -> None:
        assert agent.call is not None
        svc = self.center.service
        svc.watch(agent.call, lambda ev: self._agent_event(agent, ev))
        svc.dialog_handlers[agent.call.id] = lambda ev: self._leg_request(agent, ev)

    async def _new_leg(self, agent: AgentLeg, local_ip: str, *, main: bool = True) -> bytes:
        svc = self.center.service
        self.legs_made += 1
        name = f"{self.acd_id}/b{self.legs_made}"
        leg = await svc.media.create_endpoint(name, local_ip, group=self.call.id)
        agent.session = MediaSession(None, leg)
        if main:
            self.agent = agent
            self.times.offered = self.times.offered or self.center.now()
        return agent.session.make_offer()

    async def _left_meanwhile(self, agent: AgentLeg) -> bool:
        """True (and the new leg's ports closed) when the caller's call ended while they were
        opened: nobody is left to bridge to, so the phone must not ring. Without this check
        the leg rang, its answer was hung up, and its RTP ports were never released."""
        if not self.caller_gone and not self.finished:
            return False
        if self.agent is agent:
            self.agent = None
        if agent.mode == "direct":  # a transfer or consult reserved the agent: free it
            center = self.center
            center.command(center.acd.reserved_failed, agent.acd_key, agent.agent_id,
                           center.now())  # fmt: skip
        await self._release_agent_media(agent)
        log.info("call.leg_dropped", call_id=self.acd_id, agent_id=agent.agent_id)
        return True

    def _leg_started(self, agent: AgentLeg, peer: str, role: str) -> None:
        self.legs += 1
        agent.leg_id = f"{self.acd_id}/leg{self.legs}"
        cdrs = self.center.store.sync.cdrs
        self._write(cdrs.add_leg, self.acd_id, agent.leg_id, peer, role, datetime.now(UTC))

    def _leg_answered(self, agent: AgentLeg) -> None:
        if agent.leg_id:
            cdrs = self.center.store.sync.cdrs
            self._write(cdrs.answer_leg, agent.leg_id, datetime.now(UTC))

    def _leg_ended(self, agent: AgentLeg, disposition: str) -> None:
        if agent.leg_id and not agent.leg_ended:
            agent.leg_ended = True
            cdrs = self.center.store.sync.cdrs
            self._write(cdrs.end_leg, agent.leg_id, datetime.now(UTC), disposition)

    async def dial_extension(self, ext: str) -> bool:
        """Ring a registered extension directly (no ACD); False when it is not registered."""
        bindings = self.center.registrar.lookup(ext, self.center.now())
        if not bindings:
            return False
        agent = AgentLeg(f"ext:{ext}", "", via_acd=False, offered_at=self.center.now(),
                         mode="plain")  # fmt: skip
        await self._ring_contact(agent, ext, contact_address(bindings[0]), bindings[0].contact,
                                 [])  # fmt: skip
        return True

    async def dial_external(
        self, number: str, trunk: str | None, leg: AgentLeg | None = None
    ) -> bool:
        """Call an outside number through a trunk: the caller's partner, or with ``leg`` a
        leg the call controls prepared (a consult), which stays beside the caller."""
        trunks = self.center.trunks
        if trunks is None or not trunks.trunks:
            return False
        target = trunks.trunks.get(trunk) if trunk else next(iter(trunks.trunks.values()))
        if target is None:
            return False
        agent = leg or AgentLeg(f"ext:{number}", "", via_acd=False,
                                offered_at=self.center.now(), mode="plain")  # fmt: skip
        local_ip, _ = self.center.service.ua.endpoint.local_for(target.address)
        sdp = await self._new_leg(agent, local_ip, main=leg is None)
        if await self._left_meanwhile(agent):
            return False
        agent.call = trunks.dial(number, self.call.caller or "anonymous", sdp, target.name)
        if agent.call is None:
            return False
        self.watch_leg(agent)
        self._leg_started(agent, number, "external")
        return True

    def withdraw(self, agent_id: str, reason: str) -> None:
        agent = self.agent
        if agent is None or agent.agent_id != agent_id:
            return
        agent.withdrawn = True
        if agent.call is None:  # a desktop-mode offer never rang the phone
            self.agent = None
            self.control.pending_answer = None
            return
        self.center.service.ua.bye(agent.call, self.center.now())
        self.center.service.kick()
        log.info("call.offer_withdrawn", call_id=self.acd_id, agent_id=agent_id, reason=reason)

    def _leg_request(self, agent: AgentLeg, ev: InDialogRequest) -> bool:
        """A request inside one of our legs (hold by re-INVITE, REFER): the controls decide."""
        return self.control.leg_request(agent, ev)

    def _agent_event(self, agent: AgentLeg, ev: UaEvent) -> None:
        center = self.center
        if isinstance(ev, CallProgress) and not agent.ringing and ev.response.status in (180, 183):
            agent.ringing = True
            if agent.mode == "offer":
                center.command(center.acd.offer_ringing, self.acd_id, agent.agent_id, center.now())
            elif agent.mode == "direct":
                center.command(center.acd.reserved_ringing, agent.acd_key, agent.agent_id,
                               center.now())  # fmt: skip
        elif isinstance(ev, CallConfirmed):
            center.spawn(self._agent_answered(agent))
        elif isinstance(ev, CallFailed):
            center.spawn(self._agent_failed(agent, ev.status))
        elif isinstance(ev, CallEnded):
            center.spawn(self._agent_hung_up(agent))

    async def _agent_answered(self, agent: AgentLeg) -> None:
        center, svc = self.center, self.center.service
        if agent.withdrawn or self.caller_gone or agent.session is None or agent.call is None:
            if agent.call is not None:
                svc.ua.bye(agent.call, center.now())
            return
        try:
            agent.session.accept_answer(agent.call.remote_sdp)
        except NoCodec:
            svc.ua.bye(agent.call, center.now())
            if agent.mode == "offer":
                center.command(center.acd.offer_rejected, self.acd_id, agent.agent_id, center.now())
            elif agent.mode == "direct":
                center.command(center.acd.reserved_failed, agent.acd_key, agent.agent_id,
                               center.now())  # fmt: skip
            return
        now = center.now()
        if agent.mode == "offer":
            ok = center.command(center.acd.offer_answered, self.acd_id, agent.agent_id, now)
        elif agent.mode == "direct":
            ok = center.command(center.acd.reserved_answered, agent.acd_key, agent.agent_id, now,
                                queue_id=self.queue_id or "", category=self.category)  # fmt: skip
        else:
            ok = True
        if not ok:
            svc.ua.bye(agent.call, center.now())
            return
        agent.answered = True
        self._leg_answered(agent)
        if agent.on_answer is not None:
            await agent.session.apply_remote(svc.media)
            await agent.on_answer(agent)
            return
        self.answered_by = agent.agent_id
        self.times.talk_start = self.times.talk_start or center.now()
        self.outcome = "answered"
        await agent.session.apply_remote(svc.media)
        await self._stop_moh()
        await self.control._stop_music()
        assert self.session is not None
        await svc.media.bridge(self.session.leg, agent.session.leg)
        await self._start_recording(agent)
        store = center.store
        agent_no = int(agent.agent_id) if agent.agent_id.isdigit() else None
        self._write(store.sync.cdrs.annotate, self.acd_id, agent_id=agent_no,
                    answer_time=datetime.now(UTC))  # fmt: skip
        log.info("call.bridged", call_id=self.acd_id, agent_id=agent.agent_id)
        center.record_event(CallBridged(self.acd_id, agent.agent_id, self.call.caller,
                                        self.category, self.customer_id))  # fmt: skip

    async def _agent_failed(self, agent: AgentLeg, status: int) -> None:
        self._leg_ended(agent, _disposition(status, agent.withdrawn))
        await self._release_agent_media(agent)
        if self.agent is agent:
            self.agent = None
        center = self.center
        if agent.mode == "direct":
            center.command(center.acd.reserved_failed, agent.acd_key, agent.agent_id,
                           center.now())  # fmt: skip
        if agent.on_fail is not None:
            await agent.on_fail(agent, status)
        elif not agent.withdrawn and not self.caller_gone and agent.mode == "offer":
            center.command(center.acd.offer_rejected, self.acd_id, agent.agent_id, center.now())
        elif not agent.withdrawn and not self.caller_gone:
            self.center.spawn(self._unreachable())
        log.info("call.offer_failed", call_id=self.acd_id, agent_id=agent.agent_id, status=status)

    async def _unreachable(self) -> None:
        await self._say("对不起，您拨打的号码暂时无法接通，再见。")
        self.hangup_all("destination unreachable")

    async def _agent_hung_up(self, agent: AgentLeg) -> None:
        self._leg_ended(agent, "answered" if agent.answered or self.answered_by else "failed")
        if agent.call is not None:
            self.center.service.dialog_handlers.pop(agent.call.id, None)
        if agent.answered:
            agent.answered = False
            if agent.via_acd and not agent.detached:
                self.center.command(self.center.acd.call_ended, agent.acd_key or self.acd_id,
                                    self.center.now())  # fmt: skip
            if agent.on_end is not None:
                await agent.on_end(agent)
            elif agent is self.agent and not await self.control.partner_left(agent):
                self.hangup_all("agent hung up")
        await self._release_agent_media(agent)

    async def _release_agent_media(self, agent: AgentLeg) -> None:
        if agent.session is not None:
            leg, agent.session = agent.session.leg, None
            await self.center.service.media.release(leg)

    # -------------------------------------------------------------- record
    async def _start_recording(self, agent: AgentLeg) -> None:
        queue = self.queue_id or ""
        policy = self.center.recording_policy(queue)
        if policy != "all" or self.session is None or agent.session is None:
            return
        await self._stop_recording()  # a transferred call: one file per agent
        day = datetime.now(UTC).strftime("%Y%m%d")
        suffix = f"-{self.legs}" if self.legs > 1 else ""
        path = (self.center.data_dir / "recordings" / day
                / f"{_SAFE.sub('_', self.acd_id)}{suffix}.wav")  # fmt: skip
        path.parent.mkdir(parents=True, exist_ok=True)
        svc, store = self.center.service, self.center.store
        self.recording = await svc.media.record(self.session.leg, path, agent.session.leg)
        agent_no = int(agent.agent_id) if agent.agent_id.isdigit() else None
        row = await store.run(store.sync.recordings.start, self.acd_id, str(path), 2,
                              datetime.now(UTC), agent_id=agent_no, queue=queue)  # fmt: skip
        self.recording_row = row.id

    async def _stop_recording(self) -> None:
        if self.recording is None:
            return
        rec, self.recording = self.recording, None
        path = await self.center.service.media.stop_record(rec)
        if self.recording_row is None or path is None or not path.exists():
            return
        size = path.stat().st_size
        duration = max(0.0, (size - 44) / (8000 * 2 * 2))
        store = self.center.store
        await store.run(store.sync.recordings.finish, self.recording_row, datetime.now(UTC),
                        duration, size)  # fmt: skip

    # ------------------------------------------------------------ voicemail
    async def voicemail(self, box: str) -> None:
        if self.session is None or self.caller_gone:
            return
        media = self.center.service.media
        await media.play(self.session.leg, [Say("请在提示音后留言，按井号键结束。", "zh"),
                                            Tone((1000.0,), 300)], False, False)  # fmt: skip
        day = datetime.now(UTC).strftime("%Y%m%d")
        path = (self.center.data_dir / "voicemail" / _SAFE.sub("_", box) / day
                / f"{_SAFE.sub('_', self.acd_id)}.wav")  # fmt: skip
        path.parent.mkdir(parents=True, exist_ok=True)
        rec = await media.record(self.session.leg, path)
        started = self.center.now()
        await self._wait_digit_or_hangup("#", VOICEMAIL_MAX_SECONDS)
        await media.stop_record(rec)
        self.outcome = "voicemail"
        store = self.center.store
        try:
            await store.run(
                store.sync.voicemail.leave,
                box,
                self.call.caller,
                str(path),
                self.center.now() - started,
                datetime.now(UTC),
                call_id=self.acd_id,
            )
        except Exception as exc:  # an unknown mailbox must not lose the message file
            log.warning("voicemail.not_stored", box=box, path=str(path), error=str(exc))
        if not self.caller_gone:
            await self._say("留言已保存，再见。")
            self.hangup_all("voicemail done")

    async def _wait_digit_or_hangup(self, digit: str, limit: float) -> None:
        end = self.center.now() + limit
        while not self.caller_gone:
            left = end - self.center.now()
            if left <= 0:
                return
            try:
                kind, value = await asyncio.wait_for(self.inputs.get(), left)
            except TimeoutError:
                return
            if kind == "hangup":
                self.caller_gone = True
                self.inputs.put_nowait(("hangup", None))
            elif kind == "digit" and value == digit:
                return

    # -------------------------------------------------------------- hangup
    def _caller_event(self, ev: UaEvent) -> None:
        if isinstance(ev, CallEnded | CallFailed):
            self.caller_gone = True
            self.inputs.put_nowait(("hangup", None))

    def hangup_all(self, reason: str) -> None:
        svc = self.center.service
        now = self.center.now()
        if self.agent is not None and self.agent.call is not None:
            svc.ua.bye(self.agent.call, now)
        for other in self.control.other_legs():
            if other.call is not None:
                svc.ua.bye(other.call, now)
        if self.call.state != "ended":
            svc.ua.bye(self.call, now)
        self.inputs.put_nowait(("hangup", None))
        svc.kick()
        log.info("call.hangup", call_id=self.acd_id, reason=reason)

    async def _finish(self) -> None:
        self.finished = True
        center = self.center
        now = center.now()
        self.times.ended = now
        svc = center.service
        svc.dtmf_listeners.pop(self.acd_id, None)
        await self._stop_moh()
        agent = self.agent
        if agent is not None and agent.answered:
            agent.answered = False
            if agent.via_acd:
                center.command(center.acd.call_ended, agent.acd_key or self.acd_id, now)
        elif (
            self.queue_id is not None
            and self.outcome not in ("answered", "voicemail")
            and center.command(center.acd.caller_abandoned, self.acd_id, now)
        ):
            self.outcome = "abandoned"
        if agent is not None and agent.call is not None and agent.call.state != "ended":
            svc.ua.bye(agent.call, now)
        if agent is not None:
            self._leg_ended(agent, "answered" if self.answered_by else "cancelled")
        if self.call.state != "ended":
            svc.ua.bye(self.call, now)
        svc.kick()
        await self.control.finish()
        await self._stop_recording()
        if agent is not None:
            await self._release_agent_media(agent)
            if agent.call is not None:
                svc.dialog_handlers.pop(agent.call.id, None)
        await self._close_cdr()
        center.forget(self)

    async def _close_cdr(self) -> None:
        if self.writes:  # every CDR update of this call lands before the CDR is closed
            for result in await asyncio.gather(*self.writes, return_exceptions=True):
                if isinstance(result, Exception):
                    log.warning("cdr.write_failed", call_id=self.acd_id, error=str(result))
        t = self.times
        end = t.ended or self.center.now()
        queue_wait = ((t.left_queue or end) - t.queued) if t.queued is not None else 0.0
        ring = ((t.talk_start or end) - t.offered) if t.offered is not None else 0.0
        talk = (end - t.talk_start) if t.talk_start is not None else 0.0
        times = CallTimes(queue_wait_seconds=max(0.0, queue_wait), ring_seconds=max(0.0, ring),
                          talk_seconds=max(0.0, talk),
                          hold_seconds=max(0.0, self.control.hold_seconds))  # fmt: skip
        store = self.center.store
        await store.write(store.sync.cdrs.close_call, self.acd_id, datetime.now(UTC),
                          self.outcome, times, recording_id=self.recording_row)  # fmt: skip
        self.center.record_event(CallClosed(self.acd_id, self.outcome, self.answered_by,
                                            round(queue_wait, 3), round(talk, 3)))  # fmt: skip
        log.info("call.closed", call_id=self.acd_id, outcome=self.outcome,
                 queue_wait=round(queue_wait, 2), talk=round(talk, 2))  # fmt: skip
