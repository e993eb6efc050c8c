"""Supervisor operations on an internal call or a click-to-dial call (SPEC §5).

The same operations and rules as on a customer call (``calls/control.py``): the supervisor's
own phone is called (auto-answer) and joined to the call as monitor (hears both, heard by
none), whisper (heard by the agent only) or barge (3-way); the mode can change during the
session; intercept takes the call from the agent (the agent's leg is released to wrap-up);
force release ends it. On an :class:`~callcenter.calls.outbound.OutboundCall` the *agent* is
the originator (the agent who placed it) and the *caller* is the other party.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from callcenter.calls.control import AUTO_ANSWER, MODES, ControlError, remix
from callcenter.calls.events import (
    CallForceReleased,
    CallIntercepted,
    SupervisionEnded,
    SupervisionModeChanged,
    SupervisionStarted,
)
from callcenter.media.control import Mix

if TYPE_CHECKING:
    from callcenter.calls.outbound import OutboundCall, Party


@dataclass
class InternalSupervision:
    supervisor: str
    party: Party
    mode: str
    mix: Mix | None = None


class InternalSupervisor:
    """Supervision of one :class:`OutboundCall` (``call.supervisor``)."""

    def __init__(self, call: OutboundCall) -> None:
        self.call = call
        self.supervision: InternalSupervision | None = None
        self.intercepted_by: str | None = None  # the supervisor who took the call

    def _now(self) -> float:
        return float(self.call.center.now())

    def _record(self, event: object) -> None:
        self.call.center.record_event(event, self.call.key)

    def agent_id(self) -> str:
        return self.call.origin.agent_id or self.call.origin.label

    def _talking(self) -> None:
        call = self.call
        if call.done.is_set():
            raise ControlError(409, "call_ended", "the call has ended")
        if not (call.origin.answered and call.target.answered):
            raise ControlError(409, "not_talking", "the call is not connected yet")
        if self.intercepted_by is not None:
            raise ControlError(409, "intercepted", f"{self.intercepted_by} has taken this call")

    async def supervise(self, supervisor: str, ext: str, mode: str, record: bool) -> None:
        if mode not in MODES:
            raise ControlError(422, "unknown_mode", f"mode must be one of {', '.join(MODES)}")
        if record:
            raise ControlError(
                422, "no_recording", "internal calls are monitored without recording"
            )
        self._talking()
        sup = self.supervision
        if sup is not None:
            if sup.supervisor != supervisor:
                raise ControlError(409, "already_supervised", f"{sup.supervisor} is on this call")
            if not sup.party.answered:
                raise ControlError(409, "supervisor_ringing", "your phone is still ringing")
            sup.mode = mode
            await self._mix(sup)
            self._record(SupervisionModeChanged(self.call.key, self.agent_id(), supervisor, mode))
            return
        await self._ring(supervisor, ext, mode)
        self._record(SupervisionStarted(self.call.key, self.agent_id(), supervisor, mode, False))

    async def _ring(self, supervisor: str, ext: str, mode: str) -> None:
        from callcenter.calls.outbound import Party

        call = self.call
        if not call.center.registrar.lookup(ext, self._now()):
            raise ControlError(409, "supervisor_not_registered",
                               f"the supervisor's phone {ext} is not registered")  # fmt: skip
        party = Party(f"sup:{supervisor}", "supervisor")
        self.supervision = InternalSupervision(supervisor, party, mode)
        try:
            await call._ring(party, ext, [("X-CC-Supervise", mode), *AUTO_ANSWER],
                             f"<sip:{call.target.label}@cc>")  # fmt: skip
        except ControlError:
            self.supervision = None
            raise

    async def _mix(self, sup: InternalSupervision) -> None:
        call = self.call
        o, t, s = call.origin.session, call.target.session, sup.party.session
        legs = None if o is None or t is None or s is None else (t.leg, o.leg, s.leg)
        sup.mix = await remix(call.center.service.media, sup.mix, sup.mode, legs)

    async def answered(self, party: Party) -> None:
        """The supervisor's phone answered: join it (or take the call for an intercept)."""
        sup = self.supervision
        call = self.call
        if sup is None or sup.party is not party or call.done.is_set():
            if party.call is not None:
                call.center.service.ua.bye(party.call, self._now())
            return
        if sup.mode == "intercept":
            await self._take_over(sup)
            return
        await self._mix(sup)

    async def gone(self, party: Party, result: str) -> None:
        """The supervisor's leg failed or hung up: the others talk on, bridged again."""
        sup = self.supervision
        if sup is None or sup.party is not party:
            return
        self.supervision = None
        call = self.call
        media = call.center.service.media
        if sup.mix is not None:
            await media.unmix(sup.mix)
        o, t = call.origin.session, call.target.session
        if o is not None and t is not None and not call.done.is_set():
            await media.bridge(o.leg, t.leg)
        self._record(SupervisionEnded(call.key, self.agent_id(), sup.supervisor, result))

    async def leave(self, supervisor: str) -> None:
        sup = self.supervision
        if sup is None or sup.supervisor != supervisor:
            raise ControlError(409, "not_supervising", "you are not on this call")
        party = sup.party
        if party.call is not None:
            self.call.center.service.ua.bye(party.call, self._now())
            self.call.center.service.kick()
        await self.gone(party, "left")

    async def intercept(self, supervisor: str, ext: str) -> None:
        """拦截: the supervisor's phone takes the call; the originating agent is released."""
        self._talking()
        sup = self.supervision
        if sup is not None and sup.supervisor == supervisor and sup.party.answered:
            sup.mode = "intercept"
            await self._take_over(sup)
            return
        if sup is not None:
            raise ControlError(409, "already_supervised", f"{sup.supervisor} is on this call")
        await self._ring(supervisor, ext, "intercept")
        self._record(SupervisionStarted(self.call.key, self.agent_id(), supervisor, "intercept",
                                        False))  # fmt: skip

    async def _take_over(self, sup: InternalSupervision) -> None:
        call = self.call
        center = call.center
        self.supervision = None
        media = center.service.media
        if sup.mix is not None:
            await media.unmix(sup.mix)
        taken = self.agent_id()
        await call.replace_origin(sup.party)
        self.intercepted_by = sup.supervisor
        self._record(CallIntercepted(call.key, taken, sup.supervisor))

    def force_release(self, supervisor: str) -> None:
        self._record(CallForceReleased(self.call.key, self.agent_id(), supervisor))
        self.call.hangup_all(f"force released by {supervisor}")

    async def finish(self) -> None:
        """The call ended: the supervisor's leg goes too."""
        sup, self.supervision = self.supervision, None
        if sup is None:
            return
        if sup.mix is not None:
            await self.call.center.service.media.unmix(sup.mix)
        self._record(SupervisionEnded(self.call.key, self.agent_id(), sup.supervisor,
                                      "call_ended"))  # fmt: skip
