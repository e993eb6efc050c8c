"""An internal call (内部呼叫) or click-to-dial placed from the desktop (SPEC §4, §5).

The server first calls the originator's own phone (with auto-answer headers, so a desk phone
picks up by itself); once it is up the originator hears ringback while the server calls the
target: another agent (by agent id), an extension, or an outside number through a trunk; when
the target answers the two are bridged (``CallBridged``, the target as "caller"). Either side
hanging up ends both. The ACD knows: the originator, when logged in, is on a call it did not
route (``take``), and a target agent is reserved while ringing (``reserve``) so no queue
caller is offered meanwhile. The call has one CDR (direction ``internal`` or ``outbound``)
with a leg per party.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from callcenter.calls.agents import contact_address
from callcenter.calls.control import AUTO_ANSWER, ControlError
from callcenter.calls.events import CallBridged, CallClosed, InternalCallStarted
from callcenter.calls.internal_supervise import InternalSupervisor
from callcenter.calls.media_session import MediaSession, NoCodec
from callcenter.logs import get_logger
from callcenter.media.player import Tone
from callcenter.sip.ua import Call, CallConfirmed, CallEnded, CallFailed, CallProgress, UaEvent
from callcenter.storage.repos.calls import CallTimes

if TYPE_CHECKING:
    from callcenter.calls.center import ContactCenter

log = get_logger("callcenter.outbound")
RINGBACK = Tone((450.0,), 60_000, cadence=(1000, 4000))  # 回铃音: 450 Hz, 1 s on / 4 s off


@dataclass
class Party:
    label: str  # agent id, extension or number
    role: str  # "agent" or "external"
    agent_id: str | None = None
    call: Call | None = None
    session: MediaSession | None = None
    answered: bool = False
    acd_key: str | None = None  # the ACD call record of this party, when it has one
    leg_id: str = ""


@dataclass
class OutboundCall:
    center: ContactCenter
    key: str
    origin: Party
    target: Party
    target_ext: str | None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    started: float = 0.0
    talk_start: float | None = None
    writes: list[asyncio.Future[Any]] = field(default_factory=list)
    ringback: asyncio.Task[Any] | None = None
    supervisor: InternalSupervisor = field(init=False)
    legs: int = 0

    def __post_init__(self) -> None:
        self.supervisor = InternalSupervisor(self)

    @property
    def acd_id(self) -> str:
        return self.key

    # ----------------------------------------------------------------- start
    @classmethod
    async def place(
        cls, center: ContactCenter, origin_agent: str | None, origin_ext: str, target: str
    ) -> OutboundCall:
        """Check everything, then call the originator's phone; raises ControlError first."""
        now = center.now()
        if not center.registrar.lookup(origin_ext, now):
            raise ControlError(409, "not_registered", f"your phone {origin_ext} is not registered")
        if target in (origin_ext, origin_agent):
            raise ControlError(422, "self_call", "cannot call yourself")
        party, ext = cls._target(center, target, now)
        if origin_agent is not None:
            view = _view(center, origin_agent)
            if view is not None and view.activity.value in ("reserved", "ringing", "on_call"):
                raise ControlError(409, "not_on_hook", f"agent {origin_agent} is not on-hook")
        center.outbound_seq += 1
        key = f"out-{center.outbound_seq}-{int(now * 1000) % 10**9}"
        origin = Party(origin_agent or origin_ext, "agent", agent_id=origin_agent)
        call = cls(center, key, origin, party, ext, started=now)
        direction = "internal" if ext is not None else "outbound"
        call._write(center.store.sync.cdrs.open_call, key, origin_ext, target,
                    datetime.now(UTC), direction=direction)  # fmt: skip
        center.calls_out[key] = call
        # a ready, idle originator is reserved while its own phone rings, so the queues offer
        # it nothing meanwhile (a busy one is offered nothing anyway); taken when it answers
        if origin_agent is not None and center.command(center.acd.reserve, key, origin_agent, now):
            origin.acd_key = key
        try:
            await call._ring(origin, origin_ext, AUTO_ANSWER, f"<sip:{target}@cc>")
        except ControlError:
            center.calls_out.pop(key, None)
            await call._close("failed")
            raise
        center.record_event(InternalCallStarted(key, origin_agent or "", origin_ext, target,
                                                direction))  # fmt: skip
        return call

    @staticmethod
    def _target(center: ContactCenter, target: str, now: float) -> tuple[Party, str | None]:
        ext = center.directory.extension_of(target)
        if ext is not None:  # an agent id
            view = _view(center, target)
            if view is not None and view.activity.value != "idle":
                raise ControlError(409, "agent_busy", f"agent {target} is {view.activity.value}")
            if not center.registrar.lookup(ext, now):
                raise ControlError(409, "not_registered", f"agent {target}'s phone is offline")
            return Party(target, "agent", agent_id=target if view is not None else None), ext
        if center.registrar.lookup(target, now):
            return Party(target, "agent"), target
        if not target.isdigit():
            raise ControlError(404, "unknown_target", f"no agent or extension {target!r}")
        if center.trunks is None or not center.trunks.trunks:
            raise ControlError(409, "no_trunk", "no trunk is configured for outside numbers")
        return Party(target, "external"), None

    def _write(self, fn: Any, *args: Any, **kwargs: Any) -> None:
        self.writes.append(asyncio.ensure_future(self.center.store.run(fn, *args, **kwargs)))

    async def _ring(self, party: Party, ext: str, headers: list[tuple[str, str]],
                    from_uri: str) -> None:  # fmt: skip
        center = self.center
        svc = center.service
        bindings = center.registrar.lookup(ext, center.now())
        if not bindings:
            raise ControlError(409, "not_registered", f"extension {ext} is not registered")
        dest = contact_address(bindings[0])
        local_ip, _ = svc.ua.endpoint.local_for(dest)
        sdp = await self._media(party, local_ip)
        host = f"[{local_ip}]" if ":" in local_ip else local_ip
        party.call = svc.ua.invite(dest, bindings[0].contact, from_uri.replace("@cc", f"@{host}"),
                                   f"<sip:{ext}@{host}>", sdp, center.now(), headers)  # fmt: skip
        self._watch(party)
        svc.kick()
        self._leg(party, ext)

    async def _media(self, party: Party, local_ip: str) -> bytes:
        media = self.center.service.media
        n = 1 if party is self.origin else 2 if party is self.target else 3 + self.legs
        leg = await media.create_endpoint(f"{self.key}/p{n}", local_ip, group=self.key)
        party.session = MediaSession(None, leg)
        return party.session.make_offer()

    def _watch(self, party: Party) -> None:
        assert party.call is not None
        self.center.service.watch(party.call, lambda ev: self._event(party, ev))

    def _leg(self, party: Party, peer: str) -> None:
        self.legs += 1
        suffix = "a" if party is self.origin else "b" if party is self.target else f"s{self.legs}"
        party.leg_id = f"{self.key}/{suffix}"
        self._write(self.center.store.sync.cdrs.add_leg, self.key, party.leg_id, peer,
                    party.role, datetime.now(UTC))  # fmt: skip

    # ---------------------------------------------------------------- events
    def _event(self, party: Party, ev: UaEvent) -> None:
        center = self.center
        if isinstance(ev, CallProgress) and party is self.target and party.acd_key:
            center.command(center.acd.reserved_ringing, party.acd_key, party.agent_id or "",
                           center.now())  # fmt: skip
        elif isinstance(ev, CallConfirmed):
            center.spawn(self._answered(party))
        elif isinstance(ev, CallFailed | CallEnded):
            center.spawn(self._gone(party, ev))

    async def _answered(self, party: Party) -> None:
        center = self.center
        svc = center.service
        assert party.call is not None and party.session is not None
        try:
            party.session.accept_answer(party.call.remote_sdp)
        except NoCodec:
            svc.ua.bye(party.call, center.now())
            return
        await party.session.apply_remote(svc.media)
        party.answered = True
        self._write(center.store.sync.cdrs.answer_leg, party.leg_id, datetime.now(UTC))
        if party is self.origin:
            await self._origin_up()
        elif party is self.target:
            await self._target_up()
        else:  # a supervisor's phone
            await self.supervisor.answered(party)

    async def _origin_up(self) -> None:
        center, origin = self.center, self.origin
        logged_in = origin.agent_id is not None and _view(center, origin.agent_id) is not None
        if logged_in and center.command(center.acd.take, self.key, origin.agent_id, center.now()):
            origin.acd_key = self.key  # its reservation (if any) becomes the call
        else:
            origin.acd_key = None  # the reservation was withdrawn meanwhile (logout, force busy)
        assert origin.session is not None
        self.ringback = asyncio.create_task(
            center.service.media.play(origin.session.leg, [RINGBACK], True, False)
        )
        target = self.target
        if target.agent_id is not None:
            key = f"{self.key}#t"
            if center.command(center.acd.reserve, key, target.agent_id, center.now()):
                target.acd_key = key
        try:
            if self.target_ext is not None:
                caller = self.origin.label
                await self._ring(target, self.target_ext, [("X-CC-Internal", caller)],
                                 f'"{caller}" <sip:{caller}@cc>')  # fmt: skip
            else:
                await self._dial_out(target)
        except ControlError as exc:
            log.info("outbound.target_failed", call_id=self.key, error=exc.message)
            self.hangup_all("target unreachable")

    async def _dial_out(self, target: Party) -> None:
        trunks = self.center.trunks
        assert trunks is not None
        trunk = next(iter(trunks.trunks.values()))
        local_ip, _ = self.center.service.ua.endpoint.local_for(trunk.address)
        sdp = await self._media(target, local_ip)
        target.call = trunks.dial(target.label, self.origin.label, sdp, trunk.name)
        if target.call is None:
            raise ControlError(409, "no_trunk", "the outside number could not be dialled")
        self._watch(target)
        self._leg(target, target.label)

    async def _target_up(self) -> None:
        center, target = self.center, self.target
        if target.acd_key is not None and target.agent_id is not None:
            center.command(center.acd.reserved_answered, target.acd_key, target.agent_id,
                           center.now())  # fmt: skip
        await self._stop_ringback()
        self.talk_start = center.now()
        o, t = self.origin.session, target.session
        if o is not None and t is not None:
            await center.service.media.bridge(o.leg, t.leg)
        # the desktop shows the call as talking (the originator's "caller" is the target)
        center.record_event(CallBridged(self.key, self.origin.agent_id or "", target.label, "",
                                        None))  # fmt: skip

    async def _stop_ringback(self) -> None:
        if self.ringback is not None:
            self.ringback.cancel()
            self.ringback = None
            if self.origin.session is not None:
                await self.center.service.media.stop_play(self.origin.session.leg)

    async def _gone(self, party: Party, ev: UaEvent) -> None:
        if self.done.is_set():
            return
        center = self.center
        disposition = "answered" if party.answered else "failed"
        if isinstance(ev, CallFailed):
            disposition = "busy" if ev.status in (486, 600) else (
                "cancelled" if ev.status == 487 else "no_answer" if ev.status in (408, 480)
                else "rejected")  # fmt: skip
        if party.leg_id:
            self._write(center.store.sync.cdrs.end_leg, party.leg_id, datetime.now(UTC),
                        disposition)  # fmt: skip
        party.leg_id = ""
        if party is not self.origin and party is not self.target:  # a supervisor, or an
            await self._release_media(party)  # agent released by an intercept
            await self.supervisor.gone(party, "failed" if isinstance(ev, CallFailed) else "hung_up")
            return
        self.hangup_all("hung up")
        await self._close("answered" if self.talk_start is not None else "failed")

    # ------------------------------------------------------------------ end
    def _parties(self) -> list[Party]:
        sup = self.supervisor.supervision
        return [self.origin, self.target] + ([sup.party] if sup is not None else [])

    async def replace_origin(self, party: Party) -> None:
        """Intercept: ``party`` (a supervisor's answered phone) takes the originator's place;
        the originator's leg is hung up and its ACD call ends (wrap-up)."""
        center, old = self.center, self.origin
        now = center.now()
        if old.acd_key is not None:
            center.command(center.acd.call_ended, old.acd_key, now)
            old.acd_key = None
        if old.leg_id:
            self._write(center.store.sync.cdrs.end_leg, old.leg_id, datetime.now(UTC), "answered")
            old.leg_id = ""
        self.origin = party
        if old.call is not None and old.call.state != "ended":
            center.service.ua.bye(old.call, now)
            center.service.kick()
        await self._release_media(old)
        o, t = party.session, self.target.session
        if o is not None and t is not None:
            await center.service.media.bridge(o.leg, t.leg)

    async def _release_media(self, party: Party) -> None:
        if party.session is not None:
            leg, party.session = party.session.leg, None
            await self.center.service.media.release(leg)

    def hangup_all(self, reason: str) -> None:
        svc, now = self.center.service, self.center.now()
        for party in self._parties():
            if party.call is not None and party.call.state != "ended":
                svc.ua.bye(party.call, now)
        svc.kick()
        log.info("outbound.hangup", call_id=self.key, reason=reason)
        self.center.spawn(self._close("answered" if self.talk_start is not None else "failed"))

    async def _close(self, outcome: str) -> None:
        if self.done.is_set():
            return
        self.done.set()
        center = self.center
        now = center.now()
        await self._stop_ringback()
        parties = self._parties()
        await self.supervisor.finish()
        for party in parties:
            if party.call is not None and party.call.state != "ended":
                center.service.ua.bye(party.call, now)
            if party.acd_key is not None:
                fn = center.acd.call_ended if party.answered else center.acd.reserved_failed
                args = (party.acd_key, now) if party.answered else (
                    party.acd_key, party.agent_id or "", now)  # fmt: skip
                center.command(fn, *args)
            if party.leg_id:
                self._write(center.store.sync.cdrs.end_leg, party.leg_id, datetime.now(UTC),
                            "answered" if party.answered else "cancelled")  # fmt: skip
            await self._release_media(party)
        center.service.kick()
        center.calls_out.pop(self.key, None)
        for result in await asyncio.gather(*self.writes, return_exceptions=True):
            if isinstance(result, Exception):
                log.warning("cdr.write_failed", call_id=self.key, error=str(result))
        talk = 0.0 if self.talk_start is None else now - self.talk_start
        store = center.store
        await store.run(store.sync.cdrs.close_call, self.key, datetime.now(UTC), outcome,
                        CallTimes(talk_seconds=max(0.0, talk)))  # fmt: skip
        center.record_event(CallClosed(self.key, outcome, self.origin.agent_id, 0.0,
                                       round(talk, 3)))  # fmt: skip


def _view(center: ContactCenter, agent_id: str) -> Any:
    from callcenter.acd.errors import NotLoggedInError

    try:
        return center.acd.agent_view(agent_id)
    except NotLoggedInError:
        return None
