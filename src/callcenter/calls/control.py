"""Call control on a live inbound call (SPEC §4 manual call handling, §5 supervisor).

One :class:`CallControl` per :class:`~callcenter.calls.inbound.InboundCall`. The API calls
its operations (answer from the desktop, hold, transfer, consult, 3-way, play a voice string,
record on demand, monitor / whisper / barge / intercept / force release); the agent's phone
reaches the same operations by re-INVITE (hold) and REFER (transfer). Each operation checks
everything first and raises :class:`ControlError` (HTTP status, stable code, message) before
it changes anything; then it changes the legs, the media wiring and the ACD, and records one
event. The ACD follows the call: a transferring agent goes to wrap-up at the transfer, the new
agent's call is its own (``reserve`` / ``reserved_answered`` / ``rekey``); the CDR keeps one
journey record with a leg per party.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from callcenter.acd.errors import AcdError, NotLoggedInError
from callcenter.acd.model import Activity, Presence
from callcenter.calls.agents import contact_address
from callcenter.calls.events import (
    CallForceReleased,
    CallHeld,
    CallIntercepted,
    CallResumed,
    CallTransferred,
    ConferenceStarted,
    ConsultEnded,
    ConsultStarted,
    PlayStringStarted,
    RecordingPaused,
    RecordingResumed,
    RecordingStarted,
    RecordingStopped,
    SupervisionEnded,
    SupervisionModeChanged,
    SupervisionStarted,
)
from callcenter.calls.media_session import NoCodec
from callcenter.logs import get_logger
from callcenter.media.control import Leg, MediaControl, Mix, Recording
from callcenter.media.player import Moh, Say
from callcenter.sip.replaces import Replaces, replaces_in_uri_headers
from callcenter.sip.uri import SipUri, parse_uri

if TYPE_CHECKING:
    from callcenter.calls.center import ContactCenter
    from callcenter.calls.inbound import AgentLeg, InboundCall
    from callcenter.sip.ua import InDialogRequest

log = get_logger("callcenter.control")
NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
KINDS = ("agent", "queue", "extension", "number")
MODES = ("monitor", "whisper", "barge")
# Asks the phone to answer by itself (desktop answer, supervisor legs): the Call-Info form
# (RFC 5373 predecessor used by Polycom, Yealink, Snom, baresip) and the Alert-Info form.
AUTO_ANSWER = [
    ("Call-Info", "<sip:127.0.0.1>;answer-after=0"),
    ("Alert-Info", "<http://127.0.0.1/auto-answer>;info=alert-autoanswer;delay=0"),
]


async def remix(media: MediaControl, old: Mix | None, mode: str,
                legs: tuple[Leg, Leg, Leg] | None) -> Mix | None:  # fmt: skip
    """A supervisor's mix in ``mode`` over (caller, agent, supervisor) legs, replacing
    ``old``: monitor (hears both, heard by none), whisper (heard by the agent), barge (3-way).
    None when a leg is missing (the old mix is dissolved anyway)."""
    if old is not None:
        await media.unmix(old)
    if legs is None:
        return None
    if mode == "monitor":
        return await media.monitor(*legs)
    if mode == "whisper":
        return await media.whisper(*legs)
    return await media.barge(*legs)


class ControlError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Supervision:
    supervisor: str  # the supervisor's username
    leg: AgentLeg
    mode: str
    record: bool
    mix: Mix | None = None
    recording: Recording | None = None


@dataclass
class Consult:
    leg: AgentLeg
    kind: str
    target: str
    answered: bool = False
    conference: Mix | None = None


@dataclass
class OnDemand:
    name: str
    recording: Recording
    row: int | None
    started: float
    paused: bool = False


class CallControl:
    def __init__(self, call: InboundCall) -> None:
        self.call = call
        self.pending_answer: tuple[str, list[tuple[str, str]]] | None = None
        self.held: str | None = None  # "desktop" / "phone" while the caller is on hold
        self.held_since = 0.0
        self.hold_seconds = 0.0
        self.hold_task: asyncio.Task[Any] | None = None
        self.consult: Consult | None = None
        self.supervision: Supervision | None = None
        self.ondemand: OnDemand | None = None
        self.released = False  # play-string: the agent is gone, the caller hears the text

    # ------------------------------------------------------------------ helpers
    @property
    def center(self) -> ContactCenter:
        return self.call.center

    def _now(self) -> float:
        return float(self.call.center.now())

    def partner(self) -> AgentLeg | None:
        """The party talking with the caller (an agent, an extension, a supervisor)."""
        agent = self.call.agent
        if agent is None or not agent.answered or agent.detached or self.released:
            return None
        return agent

    def talking(self, agent_id: str) -> AgentLeg:
        """This agent's leg, answered and with the caller: else ``not_on_call``."""
        agent = self.partner()
        if agent is None or agent.agent_id != agent_id:
            raise ControlError(409, "not_on_call", f"agent {agent_id} is not talking on this call")
        return agent

    def other_legs(self) -> list[AgentLeg]:
        legs = []
        if self.consult is not None:
            legs.append(self.consult.leg)
        if self.supervision is not None:
            legs.append(self.supervision.leg)
        return legs

    def _record(self, event: object) -> None:
        self.center.record_event(event, self.call.acd_id)

    def _caller_leg(self) -> Any:
        session = self.call.session
        if session is None:
            raise ControlError(409, "no_media", "the caller has no media")
        return session.leg

    async def _music(self) -> None:
        """Music on hold to the caller (the bridge to the agent is undone first)."""
        media = self.center.service.media
        leg = self._caller_leg()
        await media.unbridge(leg)
        await self._stop_music()
        self.hold_task = asyncio.create_task(media.play(leg, [Moh()], True, False))

    async def _stop_music(self) -> None:
        if self.hold_task is not None:
            self.hold_task.cancel()
            self.hold_task = None
            if self.call.session is not None:
                await self.center.service.media.stop_play(self.call.session.leg)

    async def _bridge(self, agent: AgentLeg) -> None:
        await self._stop_music()
        if agent.session is not None and self.call.session is not None:
            await self.center.service.media.bridge(self.call.session.leg, agent.session.leg)

    def _resolve(self, kind: str, target: str) -> str | None:
        """Check a transfer/consult target before anything changes; the extension to ring
        (None for a queue or an outside number)."""
        center = self.center
        if kind not in KINDS:
            raise ControlError(422, "unknown_kind", f"kind must be one of {', '.join(KINDS)}")
        if not target:
            raise ControlError(422, "target_needed", "name the target")
        if kind == "queue":
            if target not in center.acd.queue_ids():
                raise ControlError(404, "unknown_queue", f"no queue {target!r}")
            return None
        if kind == "number":
            if center.trunks is None or not center.trunks.trunks:
                raise ControlError(409, "no_trunk", "no trunk is configured for outside numbers")
            return None
        ext = self._agent_extension(target) if kind == "agent" else target
        if not center.registrar.lookup(ext, self._now()):
            raise ControlError(409, "not_registered", f"extension {ext} is not registered")
        return ext

    def _agent_extension(self, agent_id: str) -> str:
        """An available agent's phone, or ``agent_not_available`` saying why not."""
        center = self.center
        try:
            view = center.acd.agent_view(agent_id)
        except NotLoggedInError:
            raise ControlError(
                409, "agent_not_available", f"agent {agent_id} is not logged in"
            ) from None
        if view.presence is not Presence.READY or view.activity is not Activity.IDLE:
            state = f"{view.presence.value}/{view.activity.value}"
            raise ControlError(409, "agent_not_available", f"agent {agent_id} is {state}")
        found = center.directory.extension_of(agent_id)
        if found is None:
            raise ControlError(409, "agent_not_available", f"agent {agent_id} has no phone")
        return str(found)

    async def _ring(self, leg: AgentLeg, ext: str, headers: list[tuple[str, str]],
                    *, main: bool) -> None:  # fmt: skip
        bindings = self.center.registrar.lookup(ext, self._now())
        if not bindings:
            raise ControlError(409, "not_registered", f"extension {ext} is not registered")
        await self.call._ring_contact(leg, ext, contact_address(bindings[0]),
                                      bindings[0].contact, headers, main=main)  # fmt: skip

    def _release(self, agent: AgentLeg, to_queue: str | None = None) -> None:
        """The agent's part of the call ends here (transfer, play-string, intercept): its ACD
        call ends (wrap-up starts now), its leg is hung up; the caller stays."""
        center = self.center
        agent.detached = True
        if agent.via_acd and agent.answered:
            center.command(center.acd.transfer, agent.acd_key or self.call.acd_id, self._now(),
                           to_queue=to_queue)  # fmt: skip
        if agent.call is not None:
            center.service.ua.bye(agent.call, self._now())
            center.service.kick()
        if self.call.agent is agent:
            self.call.agent = None

    # ---------------------------------------------------------- desktop answer
    async def answer(self, agent_id: str) -> None:
        agent = self.call.agent
        if self.pending_answer is None or agent is None or agent.agent_id != agent_id:
            raise ControlError(409, "no_such_offer", f"nothing is ringing for agent {agent_id}")
        ext, headers = self.pending_answer
        self.pending_answer = None
        try:
            await self._ring(agent, ext, [*headers, *AUTO_ANSWER], main=True)
        except ControlError:
            center = self.center
            center.command(center.acd.offer_rejected, self.call.acd_id, agent_id, self._now())
            raise

    # -------------------------------------------------------------------- hold
    async def hold(self, agent_id: str, by: str = "desktop") -> None:
        agent = self.talking(agent_id)
        if self.held is not None:
            raise ControlError(409, "already_held", "the caller is already on hold")
        if self.consult is not None or self.supervision is not None:
            raise ControlError(409, "busy_call", "end the consult or supervision first")
        await self._music()
        self.held, self.held_since = by, self._now()
        log.info("control.hold", call_id=self.call.acd_id, agent_id=agent.agent_id, by=by)
        self._record(CallHeld(self.call.acd_id, agent.agent_id, by))

    async def unhold(self, agent_id: str, by: str = "desktop") -> None:
        agent = self.talking(agent_id)
        if self.held is None:
            raise ControlError(409, "not_held", "the caller is not on hold")
        if self.consult is not None:
            raise ControlError(409, "consulting", "finish the consult (cancel, transfer or 3-way)")
        await self._bridge(agent)
        self._unheld()
        log.info("control.unhold", call_id=self.call.acd_id, agent_id=agent.agent_id, by=by)
        self._record(CallResumed(self.call.acd_id, agent.agent_id, by))

    def _unheld(self) -> None:
        if self.held is not None:
            self.hold_seconds += self._now() - self.held_since
            self.held = None

    def leg_request(self, agent: AgentLeg, ev: InDialogRequest) -> bool:
        """re-INVITE (hold/resume from the phone) and REFER (transfer from the phone)."""
        req = ev.request
        svc = self.center.service
        now = self._now()
        if req.method == "INVITE":
            ev.call.user_data["refreshed"] = now
            if agent.session is None:
                return False
            try:
                answer = agent.session.reoffer(req.body)
            except NoCodec:
                svc.ua.respond(ev.txn, req, 488, now)
                return True
            svc.ua.respond(ev.txn, req, 200, now, body=answer, content_type="application/sdp")
            svc.kick()
            self.center.spawn(self._phone_media(agent))
            return True
        if req.method == "REFER":
            self._phone_refer(agent, ev)
            return True
        return False

    async def _phone_media(self, agent: AgentLeg) -> None:
        assert agent.session is not None
        await agent.session.apply_remote(self.center.service.media)
        try:
            if agent.session.on_hold and self.held is None:
                await self.hold(agent.agent_id, "phone")
            elif not agent.session.on_hold and self.held == "phone":
                await self.unhold(agent.agent_id, "phone")
        except ControlError as exc:
            log.info("control.phone_hold_refused", call_id=self.call.acd_id, error=exc.message)

    def _phone_refer(self, agent: AgentLeg, ev: InDialogRequest) -> None:
        """RFC 3515: REFER from the agent's phone = blind transfer to the Refer-To user (an
        agent id, a queue, an extension or a number, in that order)."""
        svc, req, now = self.center.service, ev.request, self._now()
        target = ""
        replaces: Replaces | None = None
        refer_to = req.headers.get("refer-to") or ""
        try:
            uri = parse_uri(refer_to.strip().lstrip("<").split(">", 1)[0])
            if isinstance(uri, SipUri):
                target = uri.user or ""
                replaces = replaces_in_uri_headers(uri.headers)
        except Exception:
            target = ""
        if replaces is not None:
            self._phone_attended(agent, ev, replaces)
            return
        if not target:
            log.info("control.refer_refused", call_id=self.call.acd_id, refer_to=refer_to[:80])
            svc.ua.respond(ev.txn, req, 400, now, reason="Bad Refer-To")
            return
        kind = self._kind_of(target)
        try:
            self._resolve(kind, target)
            self.talking(agent.agent_id)
        except ControlError as exc:
            log.info("control.refer_refused", call_id=self.call.acd_id, target=target,
                     error=exc.message)  # fmt: skip
            svc.ua.respond(ev.txn, req, 403, now, reason=exc.message[:60])
            return
        log.info("control.refer", call_id=self.call.acd_id, kind=kind, target=target)
        svc.ua.respond(ev.txn, req, 202, now)
        svc.kick()
        self.center.spawn(self._refer_transfer(agent, kind, target))

    def _phone_attended(self, agent: AgentLeg, ev: InDialogRequest, replaces: Replaces) -> None:
        """RFC 5589 §7: the agent's phone put the caller on hold, called someone through us
        (a second call, ``other``) and now asks the caller to replace that call: the party
        the phone called gets the caller, both of the phone's calls end. Everything is
        checked before the 202; the REFER is refused (403, the reason in the phrase) else."""
        svc, req, now = self.center.service, ev.request, self._now()
        try:
            other, partner = self._replaced_call(agent, replaces)
        except ControlError as exc:
            log.info("control.refer_refused", call_id=self.call.acd_id, error=exc.message,
                     replaces=replaces.call_id[:40])  # fmt: skip
            svc.ua.respond(ev.txn, req, 403, now, reason=exc.message[:60])
            return
        log.info("control.refer_replaces", call_id=self.call.acd_id, other=other.acd_id,
                 target=partner.agent_id)  # fmt: skip
        svc.ua.respond(ev.txn, req, 202, now)
        svc.kick()
        self.center.spawn(self._take_over_partner(agent, other, partner))

    def _replaced_call(self, agent: AgentLeg, replaces: Replaces) -> tuple[InboundCall, AgentLeg]:
        """The phone's other call named by ``replaces`` and the party answering it there."""
        self.talking(agent.agent_id)
        if self.consult is not None or self.supervision is not None:
            raise ControlError(409, "busy_call", "a consult or supervision is in progress")
        other = self.center.calls.get(replaces.call_id)
        if other is None or other is self.call:
            raise ControlError(404, "no_dialog", "Replaces names no call of this phone")
        dialog = other.call.dialog
        local, remote = (dialog.local_tag, dialog.remote_tag) if dialog else ("", "")
        if not replaces.matches(other.call.invite.call_id, local, remote):
            raise ControlError(404, "no_dialog", "Replaces names no call of this phone")
        assert agent.call is not None
        phone = agent.call.invite.to.uri
        ext = phone.user if isinstance(phone, SipUri) else None
        if not ext or other.call.caller != ext:
            raise ControlError(403, "not_your_call", "the replaced call is not this phone's")
        partner = other.agent
        if (partner is None or not partner.answered or partner.detached
                or partner.session is None or partner.call is None
                or other.control.consult is not None
                or other.control.supervision is not None):  # fmt: skip
            raise ControlError(409, "not_answered", "the transfer target has not answered")
        caller = self._caller_leg()
        if partner.session.leg.worker != caller.worker:
            raise ControlError(409, "media_apart", "the two calls' media live in different workers")
        return other, partner

    async def _take_over_partner(self, agent: AgentLeg, other: InboundCall,
                                 partner: AgentLeg) -> None:  # fmt: skip
        """The party of ``other`` becomes this caller's partner, as after a consult."""
        center, call = self.center, self.call
        self._notify(agent, "200 OK", "terminated;reason=noresource")
        other.agent = None  # ``other`` ends now without touching the partner's leg
        other._leg_ended(partner, "answered")
        svc = center.service
        assert partner.session is not None and partner.call is not None
        await svc.media.unbridge(partner.session.leg)
        partner.leg_ended, partner.leg_id = False, ""
        call.watch_leg(partner)
        target = partner.agent_id.removeprefix("ext:")
        call._leg_started(partner, target, "agent")
        call._leg_answered(partner)
        info = center.directory.by_extension.get(target)
        kind = "extension"
        self._release(agent)
        if info is not None and self._reserve_for_caller(info.agent_id):
            partner.agent_id, partner.mode, partner.via_acd = info.agent_id, "direct", True
            partner.acd_key, kind = call.acd_id, "agent"
        self._hand_caller_to(partner)
        self._unheld()
        await self._bridge(partner)
        await call._start_recording(partner)
        if other.call.state != "ended":
            svc.ua.bye(other.call, self._now())
            svc.kick()
        self._record(CallTransferred(call.acd_id, agent.agent_id, kind, target, "phone-attended"))

    def _hand_caller_to(self, leg: AgentLeg) -> None:
        """``leg`` has the caller from now on (consult completed, phone transfer, intercept):
        it is the call's partner with the call's own handling, and the journey's CDR names
        its agent."""
        call = self.call
        leg.detached = False
        leg.on_answer = leg.on_fail = leg.on_end = None
        call.agent = leg
        call.answered_by = leg.agent_id
        if leg.agent_id.isdigit():
            call._write(self.center.store.sync.cdrs.annotate, call.acd_id,
                        agent_id=int(leg.agent_id))  # fmt: skip

    def _reserve_for_caller(self, agent_id: str) -> bool:
        """The transfer target is a logged-in agent: the caller's call becomes its ACD call
        (its talk time and wrap-up), when the ACD can take it (ready and idle)."""
        center, now = self.center, self._now()
        try:
            center.apply(center.acd.reserve(self.call.acd_id, agent_id, now))
        except AcdError:
            return False
        return center.command(center.acd.reserved_answered, self.call.acd_id, agent_id, now,
                              queue_id=self.call.queue_id or "",
                              category=self.call.category)  # fmt: skip

    async def _refer_transfer(self, agent: AgentLeg, kind: str, target: str) -> None:
        # The target was checked before the 202: the transfer is done by us, at once, so the
        # phone hears the outcome before its leg is released.
        self._notify(agent, "200 OK", "terminated;reason=noresource")
        try:
            await self.transfer(agent.agent_id, kind, target, mode="phone")
        except ControlError as exc:
            log.info("control.refer_failed", call_id=self.call.acd_id, error=exc.message)

    def _notify(self, agent: AgentLeg, status: str, state: str) -> None:
        """RFC 3515 §2.4.4: the REFER's implicit subscription hears how the transfer went."""
        if agent.call is None:
            return
        svc = self.center.service
        headers = [("Event", "refer"), ("Subscription-State", state)]
        svc.ua.request(agent.call, "NOTIFY", self._now(), body=f"SIP/2.0 {status}\r\n".encode(),
                       content_type="message/sipfrag", headers=headers)  # fmt: skip
        svc.kick()

    def _kind_of(self, target: str) -> str:
        center = self.center
        if target in center.acd.queue_ids():
            return "queue"
        if center.directory.extension_of(target) is not None:
            return "agent"
        if center.registrar.lookup(target, self._now()):
            return "extension"
        return "number"

    # ---------------------------------------------------------------- transfer
    async def transfer(self, agent_id: str, kind: str, target: str, mode: str = "blind") -> None:
        agent = self.talking(agent_id)
        if self.consult is not None:
            raise ControlError(409, "consulting", "finish the consult first")
        if kind == "agent" and target == agent_id:
            raise ControlError(422, "self_transfer", "cannot transfer a call to yourself")
        ext = self._resolve(kind, target)
        self._unheld()
        call = self.call
        self._release(agent, to_queue=target if kind == "queue" and agent.via_acd else None)
        self._record(CallTransferred(call.acd_id, agent_id, kind, target, mode))
        if kind != "queue":
            await self._music()
        if kind == "queue":
            if agent.via_acd:  # the ACD put the caller back in line (CallQueued follows)
                call.queue_id = target
                call._write(self.center.store.sync.cdrs.annotate, call.acd_id, queue=target)
            else:
                call.enqueue(target, 0, call.category)
        elif kind == "agent":
            assert ext is not None
            await self._ring_direct(target, ext, call.acd_id, main=True)
        elif kind == "extension":
            assert ext is not None
            if not await call.dial_extension(ext):
                await call._unreachable()
        elif not await call.dial_external(target, None):
            await call._unreachable()

    async def _ring_direct(self, agent_id: str, ext: str, key: str, *, main: bool,
                           on_answer: Any = None, on_fail: Any = None,
                           on_end: Any = None) -> AgentLeg:  # fmt: skip
        from callcenter.calls.inbound import AgentLeg

        center, call = self.center, self.call
        leg = AgentLeg(agent_id, call.queue_id or "", offered_at=self._now(), mode="direct",
                       acd_key=key, on_answer=on_answer,
                       on_fail=on_fail or self._direct_failed, on_end=on_end)  # fmt: skip
        try:
            center.apply(center.acd.reserve(key, agent_id, self._now()))
        except AcdError as exc:
            raise ControlError(409, "agent_not_available", str(exc)) from None
        headers = [("X-CC-Agent", agent_id), ("X-CC-Transfer", "1")]
        if call.category:
            headers.append(("X-CC-Category", call.category))
        try:
            await self._ring(leg, ext, headers, main=main)
        except ControlError:
            center.command(center.acd.reserved_failed, key, agent_id, self._now())
            raise
        return leg

    async def _direct_failed(self, leg: AgentLeg, status: int) -> None:
        """A transfer to an agent was not answered: back in line when the call came from a
        queue, else the caller is told and released."""
        call = self.call
        if call.caller_gone:
            return
        if call.queue_id:
            call.enqueue(call.queue_id, 0, call.category)
        else:
            await call._unreachable()

    # ------------------------------------------------------------------ consult
    async def consult_start(self, agent_id: str, kind: str, target: str) -> None:
        from callcenter.calls.inbound import AgentLeg

        agent = self.talking(agent_id)
        if self.consult is not None:
            raise ControlError(409, "consulting", "a consult is already in progress")
        if self.supervision is not None:
            raise ControlError(409, "busy_call", "the call is being supervised")
        if kind == "queue":
            raise ControlError(422, "consult_queue", "consult an agent, extension or number")
        if kind == "agent" and target == agent_id:
            raise ControlError(422, "self_consult", "cannot consult yourself")
        ext = self._resolve(kind, target)
        call = self.call
        if self.held is None:
            await self._music()
            self.held, self.held_since = "consult", self._now()
        key = f"{call.acd_id}#c{call.legs_made + 1}"
        if kind == "agent":
            assert ext is not None
            leg = await self._ring_direct(target, ext, key, main=False,
                                          on_answer=self._consult_answered,
                                          on_fail=self._consult_failed,
                                          on_end=self._consult_hung_up)  # fmt: skip
        else:
            leg = AgentLeg(f"ext:{target}", "", via_acd=False, mode="plain", role="external",
                           offered_at=self._now(), on_answer=self._consult_answered,
                           on_fail=self._consult_failed, on_end=self._consult_hung_up)  # fmt: skip
            if kind == "extension":
                assert ext is not None
                await self._ring(leg, ext, [], main=False)
            elif not await call.dial_external(target, None, leg):
                raise ControlError(409, "no_trunk", "the outside number could not be dialled")
        self.consult = Consult(leg, kind, target)
        self._record(ConsultStarted(call.acd_id, agent.agent_id, kind, target))

    async def _consult_answered(self, leg: AgentLeg) -> None:
        consult, agent = self.consult, self.partner()
        if consult is None or consult.leg is not leg or agent is None:
            self.center.service.ua.bye(leg.call, self._now()) if leg.call else None
            return
        consult.answered = True
        if agent.session is not None and leg.session is not None:
            await self.center.service.media.bridge(agent.session.leg, leg.session.leg)

    async def _consult_failed(self, leg: AgentLeg, status: int) -> None:
        await self._consult_over(leg, "failed")

    async def _consult_hung_up(self, leg: AgentLeg) -> None:
        await self._consult_over(leg, "hung_up")

    async def _consult_over(self, leg: AgentLeg, result: str) -> None:
        consult = self.consult
        if consult is None or consult.leg is not leg:
            return
        self.consult = None
        if consult.conference is not None:
            await self.center.service.media.unmix(consult.conference)
        agent = self.partner()
        if agent is not None and not self.call.caller_gone:
            await self._bridge(agent)
            self._unheld()
        self._record(ConsultEnded(self.call.acd_id, agent.agent_id if agent else "", result))

    async def consult_cancel(self, agent_id: str) -> None:
        self.talking(agent_id)
        consult = self.consult
        if consult is None:
            raise ControlError(409, "no_consult", "no consult in progress")
        if consult.leg.call is not None:
            self.center.service.ua.bye(consult.leg.call, self._now())
            self.center.service.kick()
        await self._consult_over(consult.leg, "cancelled")

    async def consult_transfer(self, agent_id: str) -> None:
        """Attended transfer: the consulted party gets the caller, the agent leaves."""
        agent = self.talking(agent_id)
        consult = self.consult
        if consult is None or not consult.answered:
            raise ControlError(409, "consult_not_answered", "the consulted party has not answered")
        await self._complete(agent, consult, "transferred")

    async def _complete(self, agent: AgentLeg, consult: Consult, result: str) -> None:
        center, call, leg = self.center, self.call, consult.leg
        self.consult = None
        if consult.conference is not None:
            await center.service.media.unmix(consult.conference)
        self._release(agent)
        if leg.mode == "direct":  # the consult call becomes the caller's call at the ACD
            center.command(center.acd.rekey, leg.acd_key, call.acd_id, self._now())
            leg.acd_key = call.acd_id
        self._hand_caller_to(leg)
        self._unheld()
        await self._bridge(leg)
        self._record(ConsultEnded(call.acd_id, agent.agent_id, result))
        self._record(CallTransferred(call.acd_id, agent.agent_id, consult.kind, consult.target,
                                     "attended"))  # fmt: skip

    async def conference(self, agent_id: str) -> None:
        """3-way: the caller, the agent and the consulted party all hear each other."""
        agent = self.talking(agent_id)
        consult = self.consult
        if consult is None or not consult.answered:
            raise ControlError(409, "consult_not_answered", "the consulted party has not answered")
        if consult.conference is not None:
            raise ControlError(409, "already_conference", "the 3-way call is already up")
        assert agent.session is not None and consult.leg.session is not None
        await self._stop_music()
        media = self.center.service.media
        consult.conference = await media.conference(
            [self._caller_leg(), agent.session.leg, consult.leg.session.leg]
        )
        self._unheld()
        parties = (self.call.call.caller, agent.agent_id, consult.target)
        self._record(ConferenceStarted(self.call.acd_id, agent.agent_id, parties))

    async def partner_left(self, agent: AgentLeg) -> bool:
        """The agent hung up: with a consulted party up, it takes the caller (transfer by
        hang-up); True when the call goes on."""
        consult = self.consult
        if consult is not None and consult.answered and not self.call.caller_gone:
            await self._complete(agent, consult, "transferred")
            return True
        return False

    async def agent_leaves(self, agent_id: str) -> bool:
        """挂机 from the desktop with a consulted party up: it keeps the caller (True);
        otherwise (False) the whole call is released."""
        agent = self.talking(agent_id)
        consult = self.consult
        if consult is None or not consult.answered:
            return False
        await self._complete(agent, consult, "transferred")
        return True

    # -------------------------------------------------------------- play string
    async def play_string(self, agent_id: str, text: str, repeat: int = 2) -> None:
        agent = self.talking(agent_id)
        if not text.strip():
            raise ControlError(422, "text_needed", "the text to speak is empty")
        if self.consult is not None or self.supervision is not None:
            raise ControlError(409, "busy_call", "end the consult or supervision first")
        self._unheld()
        self._release(agent)
        self.released = True
        self._record(PlayStringStarted(self.call.acd_id, agent_id, text, repeat))
        self.center.spawn(self._speak_then_hang_up(text, repeat))

    async def _speak_then_hang_up(self, text: str, repeat: int) -> None:
        call = self.call
        media = self.center.service.media
        await self._stop_music()
        leg = self._caller_leg()
        await media.unbridge(leg)
        for _ in range(repeat):
            if call.caller_gone:
                return
            await media.play(leg, [Say(text, "zh")], False, False)
        call.hangup_all("voice string played")

    # ------------------------------------------------------------ record on demand
    async def record_start(self, agent_id: str, name: str) -> str:
        agent = self.talking(agent_id)
        if not NAME.match(name):
            raise ControlError(422, "bad_name", "name: 1-64 of A-Z a-z 0-9 _ . -")
        if self.ondemand is not None:
            raise ControlError(409, "already_recording", f"recording {self.ondemand.name}")
        center, call = self.center, self.call
        path = center.data_dir / "recordings" / "named" / f"{name}.wav"
        if path.exists():
            raise ControlError(409, "name_taken", f"a recording named {name} exists")
        path.parent.mkdir(parents=True, exist_ok=True)
        assert agent.session is not None
        rec = await center.service.media.record(self._caller_leg(), path, agent.session.leg)
        store = center.store
        agent_no = int(agent_id) if agent_id.isdigit() else None
        row = await store.run(store.sync.recordings.start, call.acd_id, str(path), 2,
                              datetime.now(UTC), agent_id=agent_no,
                              queue=call.queue_id)  # fmt: skip
        self.ondemand = OnDemand(name, rec, row.id, self._now())
        self._record(RecordingStarted(call.acd_id, agent_id, name, str(path)))
        return str(path)

    def _ondemand(self, agent_id: str) -> OnDemand:
        self.talking(agent_id)
        if self.ondemand is None:
            raise ControlError(409, "not_recording", "no recording is running on this call")
        return self.ondemand

    async def record_pause(self, agent_id: str) -> None:
        od = self._ondemand(agent_id)
        if od.paused:
            raise ControlError(409, "already_paused", "the recording is paused")
        await self.center.service.media.pause_record(od.recording)
        od.paused = True
        self._record(RecordingPaused(self.call.acd_id, agent_id, od.name))

    async def record_resume(self, agent_id: str) -> None:
        od = self._ondemand(agent_id)
        if not od.paused:
            raise ControlError(409, "not_paused", "the recording is not paused")
        await self.center.service.media.resume_record(od.recording)
        od.paused = False
        self._record(RecordingResumed(self.call.acd_id, agent_id, od.name))

    async def record_stop(self, agent_id: str) -> None:
        self._ondemand(agent_id)
        await self._finish_ondemand(agent_id)

    async def _finish_ondemand(self, agent_id: str) -> None:
        od, self.ondemand = self.ondemand, None
        if od is None:
            return
        center = self.center
        path = await center.service.media.stop_record(od.recording)
        seconds = self._now() - od.started
        if od.row is not None and path is not None and path.exists():
            size = path.stat().st_size
            store = center.store
            await store.run(store.sync.recordings.finish, od.row, datetime.now(UTC),
                            max(0.0, (size - 44) / 32000), size)  # fmt: skip
        self._record(RecordingStopped(self.call.acd_id, agent_id, od.name, round(seconds, 3)))

    # -------------------------------------------------------------- supervisor
    async def supervise(self, supervisor: str, ext: str, mode: str, record: bool) -> None:
        if mode not in MODES:
            raise ControlError(422, "unknown_mode", f"mode must be one of {', '.join(MODES)}")
        agent = self.partner()
        if agent is None:
            raise ControlError(409, "not_talking", "nobody is talking with the caller")
        if self.consult is not None or self.held is not None:
            raise ControlError(409, "busy_call", "the call is on hold or in a consult")
        sup = self.supervision
        if sup is not None:
            if sup.supervisor != supervisor:
                raise ControlError(409, "already_supervised", f"{sup.supervisor} is on this call")
            if not sup.leg.answered:
                raise ControlError(409, "supervisor_ringing", "your phone is still ringing")
            sup.mode = mode
            await self._mix(sup)
            self._record(SupervisionModeChanged(self.call.acd_id, agent.agent_id, supervisor,
                                                mode))  # fmt: skip
            return
        await self._supervisor_leg(supervisor, ext, mode, record)
        self._record(SupervisionStarted(self.call.acd_id, agent.agent_id, supervisor, mode,
                                        record))  # fmt: skip

    async def _supervisor_leg(self, supervisor: str, ext: str, mode: str, record: bool) -> None:
        from callcenter.calls.inbound import AgentLeg

        if not self.center.registrar.lookup(ext, self._now()):
            raise ControlError(409, "supervisor_not_registered",
                               f"the supervisor's phone {ext} is not registered")  # fmt: skip
        leg = AgentLeg(f"sup:{supervisor}", "", via_acd=False, mode="plain", role="supervisor",
                       offered_at=self._now(), on_answer=self._supervisor_answered,
                       on_fail=self._supervisor_failed,
                       on_end=self._supervisor_hung_up)  # fmt: skip
        self.supervision = Supervision(supervisor, leg, mode, record)
        try:
            await self._ring(leg, ext, [("X-CC-Supervise", mode), *AUTO_ANSWER], main=False)
        except ControlError:
            self.supervision = None
            raise

    async def _mix(self, sup: Supervision) -> None:
        agent = self.partner()
        legs = None
        if agent is not None and agent.session is not None and sup.leg.session is not None:
            legs = (self._caller_leg(), agent.session.leg, sup.leg.session.leg)
        sup.mix = await remix(self.center.service.media, sup.mix, sup.mode, legs)

    async def _supervisor_answered(self, leg: AgentLeg) -> None:
        sup = self.supervision
        if sup is None or sup.leg is not leg or self.partner() is None:
            if leg.call is not None:
                self.center.service.ua.bye(leg.call, self._now())
            return
        if sup.mode == "intercept":
            await self._take_over(sup)
            return
        await self._mix(sup)
        if sup.record and sup.recording is None:
            agent = self.partner()
            assert agent is not None and agent.session is not None
            day = datetime.now(UTC).strftime("%Y%m%d")
            name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{self.call.acd_id}-{sup.supervisor}")
            path = self.center.data_dir / "recordings" / "monitor" / day / f"{name}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sup.recording = await self.center.service.media.record(
                self._caller_leg(), path, agent.session.leg
            )

    async def _supervisor_failed(self, leg: AgentLeg, status: int) -> None:
        await self._end_supervision(leg, "failed")

    async def _supervisor_hung_up(self, leg: AgentLeg) -> None:
        await self._end_supervision(leg, "hung_up")

    async def _end_supervision(self, leg: AgentLeg, result: str) -> None:
        sup = self.supervision
        if sup is None or sup.leg is not leg:
            return
        self.supervision = None
        media = self.center.service.media
        if sup.recording is not None:
            await media.stop_record(sup.recording)
        if sup.mix is not None:
            await media.unmix(sup.mix)
        agent = self.partner()
        if agent is not None and not self.call.caller_gone:
            await self._bridge(agent)
        self._record(SupervisionEnded(self.call.acd_id, agent.agent_id if agent else "",
                                      sup.supervisor, result))  # fmt: skip

    async def leave(self, supervisor: str) -> None:
        sup = self.supervision
        if sup is None or sup.supervisor != supervisor:
            raise ControlError(409, "not_supervising", "you are not on this call")
        if sup.leg.call is not None:
            self.center.service.ua.bye(sup.leg.call, self._now())
            self.center.service.kick()
        await self._end_supervision(sup.leg, "left")

    async def intercept(self, supervisor: str, ext: str) -> None:
        """拦截: the supervisor's phone takes the call; a ringing offer is withdrawn, an agent
        talking is released to wrap-up."""
        call = self.call
        if call.caller_gone:
            raise ControlError(409, "call_ended", "the call has ended")
        sup = self.supervision
        if sup is not None and sup.supervisor == supervisor and sup.leg.answered:
            sup.mode = "intercept"
            await self._take_over(sup)
            return
        if sup is not None:
            raise ControlError(409, "already_supervised", f"{sup.supervisor} is on this call")
        agent = call.agent
        if agent is None:
            raise ControlError(409, "not_at_agent", "the call is not ringing at or talking to "
                                                    "an agent")  # fmt: skip
        await self._supervisor_leg(supervisor, ext, "intercept", False)
        self._record(SupervisionStarted(call.acd_id, agent.agent_id, supervisor, "intercept",
                                        False))  # fmt: skip

    async def _take_over(self, sup: Supervision) -> None:
        center, call, leg = self.center, self.call, sup.leg
        self.supervision = None
        media = center.service.media
        if sup.mix is not None:
            await media.unmix(sup.mix)
        if sup.recording is not None:
            await media.stop_record(sup.recording)
        old = call.agent
        taken = ""
        if old is not None and old.answered and not old.detached:
            taken = old.agent_id
            self._unheld()
            self._release(old)
        elif old is not None:  # still ringing: withdrawn without counting a no-answer
            center.command(center.acd.intercept, call.acd_id, self._now())
            old.withdrawn = True
            if old.call is not None:
                center.service.ua.bye(old.call, self._now())
            call.agent = None
            self.pending_answer = None
        if old is None and call.queue_id:
            center.command(center.acd.intercept, call.acd_id, self._now())
        self._hand_caller_to(leg)
        call.outcome = "answered"
        call.times.talk_start = call.times.talk_start or self._now()
        await self._stop_music()
        await call._stop_moh()
        await self._bridge(leg)
        self._record(CallIntercepted(call.acd_id, taken, sup.supervisor))

    def force_release(self, supervisor: str) -> None:
        agent = self.call.agent
        self._record(CallForceReleased(self.call.acd_id, agent.agent_id if agent else "",
                                       supervisor))  # fmt: skip
        self.call.hangup_all(f"force released by {supervisor}")

    # ------------------------------------------------------------------- end
    async def finish(self) -> None:
        """The call is over: stop what control started, end the extra legs."""
        await self._stop_music()
        self._unheld()
        if self.ondemand is not None:
            agent = self.call.agent
            await self._finish_ondemand(agent.agent_id if agent else "")
        svc = self.center.service
        for leg in self.other_legs():
            if leg.call is not None and leg.call.state != "ended":
                svc.ua.bye(leg.call, self._now())
            was_answered, leg.answered = leg.answered, False
            leg.on_answer = leg.on_fail = leg.on_end = None
            if leg.mode == "direct" and not was_answered:
                self.center.command(self.center.acd.reserved_failed, leg.acd_key, leg.agent_id,
                                    self._now())  # fmt: skip
            elif leg.mode == "direct":
                self.center.command(self.center.acd.call_ended, leg.acd_key, self._now())
            self.call._leg_ended(leg, "answered" if was_answered else "cancelled")
            if leg.call is not None:
                svc.dialog_handlers.pop(leg.call.id, None)
            await self.call._release_agent_media(leg)
        if self.supervision is not None:
            sup, self.supervision = self.supervision, None
            if sup.recording is not None:
                await svc.media.stop_record(sup.recording)
            self._record(SupervisionEnded(self.call.acd_id, "", sup.supervisor, "call_ended"))
        self.consult = None
        svc.kick()
