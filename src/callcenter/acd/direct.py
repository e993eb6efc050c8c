"""Calls outside the queues: reserve, take, rekey (transfers, consults, internal calls, intercept).

The call controller sets up some calls to agents itself: a transfer or a consult to an agent, an
internal call between agents, an agent's own outgoing call, a supervisor intercepting a call. The
ACD must know about them so it offers the agent nothing else meanwhile, starts the right wrap-up
at the end and counts talk time. The rules, exactly:

* ``reserve(key, agent, now)``: a direct call is about to ring a ready, idle agent; the agent
  becomes ``reserved`` for ``key`` (cause ``"direct call"``). There is no ring timer: the
  controller ends the reservation with ``reserved_answered`` or ``reserved_failed``. An agent who
  is not logged in, not idle or not ready gets :class:`AgentNotAvailableError` (``reason`` says
  why); a ``key`` that is a queued caller, a call at an agent or another reservation gets
  :class:`CallAlreadyQueuedError`.
* ``reserved_ringing``: reserved becomes ringing (once, like ``offer_ringing``).
* ``reserved_answered(..., queue_id="", category="")``: the agent is on the call; a call record
  under ``key`` counts as an answered call (``calls_answered`` + 1, the no-answer count resets).
  ``queue_id`` ("" or a queue) only chooses the wrap-up at the end: the agent's own wrap-up, else
  that queue's, else none; with a queue the call also feeds that queue's average handle time.
* ``reserved_failed``: the direct call was not answered; the agent is idle again. It is **not** a
  no-answer (the count is unchanged); a busy asked meanwhile applies now.
* ``take(key, agent, now, queue_id="", category="")``: the agent is on a call the ACD did not
  route (its own outgoing or internal call, or a supervisor intercepting). Allowed when the agent
  is logged in and idle or in wrap-up (the wrap-up ends), whatever its presence: a busy agent may
  still dial out. Reserved, ringing or on-call agents get :class:`AgentNotAvailableError` -
  except an agent reserved for ``key`` itself: its own outgoing call was reserved while its
  phone rang (so no queue caller is offered meanwhile) and is taken now. It is
  not an answered ACD call: ``calls_answered`` and the no-answer count are unchanged; talk time
  counts, and the wrap-up at the end follows the same rule as above.
* ``rekey(old, new, now)``: the call record under ``old`` now lives under ``new`` (attended
  transfer: the consult leg becomes the caller's call); the agent's ``call_id`` follows, talk time
  runs on. ``old`` must be a call at an agent (:class:`NotOnCallError`), ``new`` must be free.

A call record made here is a call at an agent like any other: ``call_ended`` starts the agent's
wrap-up, ``transfer`` starts it at the transfer (and may put the caller in a queue), ``logout``
hangs it up (``HangUpAgent``). A reservation behaves like a queue offer for ``logout`` and
``force_busy``: it is withdrawn with ``CancelOffer(key, agent, reason)`` (the controller stops
ringing that leg; a later ``reserved_*`` for it gets :class:`NoSuchOfferError`), not counted as a
no-answer.
"""

from __future__ import annotations

import random

from callcenter.acd.agents_ops import AgentCommands
from callcenter.acd.engine import ACD_ACTOR, CallRecord
from callcenter.acd.errors import (
    AgentNotAvailableError,
    CallAlreadyQueuedError,
    NoSuchOfferError,
    NotLoggedInError,
    NotOnCallError,
    UnknownQueueError,
)
from callcenter.acd.events import AgentStateChanged, CancelOffer, Output
from callcenter.acd.model import Activity, LoginLimits, Presence
from callcenter.acd.state import Agent

_NOT_IDLE = {
    Activity.RESERVED: "is being offered another call",
    Activity.RINGING: "is ringing for another call",
    Activity.ON_CALL: "is on a call",
    Activity.WRAP_UP: "is in wrap-up",
}


class DirectCommands(AgentCommands):
    def __init__(self, rng: random.Random, limits: LoginLimits | None = None) -> None:
        super().__init__(rng, limits)
        self._direct: dict[str, str] = {}  # key of a reserved direct call -> agent id

    # ---- direct calls that ring an agent -------------------------------------------------

    def reserve(self, key: str, agent_id: str, now: float) -> list[Output]:
        """A call outside the queues is about to ring this ready, idle agent: reserved."""
        self._begin(now)
        self._check_free(key)
        agent = self._agent_for(agent_id, take=False)
        agent.activity = Activity.RESERVED
        agent.call_id, agent.queue_id = key, None
        self._direct[key] = agent_id
        return self._finish(now, [self._changed(agent, now, ACD_ACTOR, "direct call")])

    def reserved_ringing(self, key: str, agent_id: str, now: float) -> list[Output]:
        """The agent's phone rings for the direct call: reserved becomes ringing (once)."""
        self._begin(now)
        agent = self._reservation(key, agent_id)
        return self._finish(now, self._ringing(agent, now))

    def reserved_answered(
        self, key: str, agent_id: str, now: float, *, queue_id: str = "", category: str = ""
    ) -> list[Output]:
        """The agent answered the direct call: on call, counted as an answered call."""
        self._begin(now)
        agent = self._reservation(key, agent_id)
        self._check_queue(queue_id)
        del self._direct[key]
        agent.calls_answered += 1
        agent.no_answers = 0
        return self._finish(now, [self._on_call(agent, key, queue_id, category, now, "answered")])

    def reserved_failed(self, key: str, agent_id: str, now: float) -> list[Output]:
        """The direct call was not answered: idle again, not counted as a no-answer."""
        self._begin(now)
        agent = self._reservation(key, agent_id)
        del self._direct[key]
        return self._finish(now, [self._release_direct(agent, now, "direct call not answered")])

    # ---- calls the ACD did not route -----------------------------------------------------

    def take(
        self, key: str, agent_id: str, now: float, *, queue_id: str = "", category: str = ""
    ) -> list[Output]:
        """The agent is on a call the ACD did not route (outgoing, internal, intercept).

        Idle or in wrap-up (which ends), any presence. Not an answered ACD call:
        ``calls_answered`` and ``no_answers`` stay; talk time counts; the wrap-up at the end
        is the agent's own, else ``queue_id``'s, else none.
        """
        self._begin(now)
        self._check_queue(queue_id)
        if self._direct.get(key) == agent_id:  # its own call, reserved while its phone rang
            agent = self._agents[agent_id]
            del self._direct[key]
        else:
            self._check_free(key)
            agent = self._agent_for(agent_id, take=True)
        agent.timer_token = -1  # a wrap-up in progress ends (its timer goes stale)
        return self._finish(now, [self._on_call(agent, key, queue_id, category, now, "call taken")])

    def rekey(self, old: str, new: str, now: float) -> list[Output]:
        """The call at an agent under ``old`` now lives under ``new`` (attended transfer)."""
        self._begin(now)
        record = self._calls.get(old)
        if record is None:
            raise NotOnCallError(f"call {old!r} is not up at an agent")
        self._check_free(new)
        self._calls[new] = self._calls.pop(old)
        self._agents[record.agent_id].call_id = new
        return self._finish(now, [])

    # ---- helpers -------------------------------------------------------------------------

    def _check_free(self, key: str) -> None:
        if key in self._entries or key in self._calls or key in self._direct:
            raise CallAlreadyQueuedError(f"call {key!r} is already in a queue or at an agent")

    def _check_queue(self, queue_id: str) -> None:
        if queue_id and queue_id not in self._queues:
            raise UnknownQueueError(f"no queue {queue_id!r}")

    def _agent_for(self, agent_id: str, *, take: bool) -> Agent:
        """The agent, if a direct call (``take=False``) or a taken call may go to it now."""
        try:
            agent = self._agent(agent_id)
        except NotLoggedInError as err:
            raise AgentNotAvailableError(err.message, "not_logged_in") from None
        activity = agent.activity
        allowed = (Activity.IDLE, Activity.WRAP_UP) if take else (Activity.IDLE,)
        if activity not in allowed:
            why = _NOT_IDLE[activity]
            raise AgentNotAvailableError(f"agent {agent_id} {why}", activity.value)
        if not take and agent.presence is not Presence.READY:
            message = f"agent {agent_id} is busy ({agent.reason or 'no reason'})"
            raise AgentNotAvailableError(message, "busy")
        return agent

    def _reservation(self, key: str, agent_id: str) -> Agent:
        if self._direct.get(key) != agent_id:
            raise NoSuchOfferError(f"agent {agent_id} is not reserved for call {key!r}")
        return self._agents[agent_id]

    def _on_call(
        self, agent: Agent, key: str, queue_id: str, category: str, now: float, cause: str
    ) -> AgentStateChanged:
        agent.activity = Activity.ON_CALL
        agent.call_id, agent.queue_id = key, queue_id or None
        agent.call_started = now
        self._calls[key] = CallRecord(agent.agent_id, queue_id, 0, category)
        return self._changed(agent, now, agent.agent_id, cause)

    def _release_direct(self, agent: Agent, now: float, cause: str) -> AgentStateChanged:
        agent.activity = Activity.IDLE
        agent.call_id, agent.queue_id = None, None
        agent.idle_since = now
        self._apply_pending(agent)
        return self._changed(agent, now, ACD_ACTOR, cause)

    def _withdraw_agent_offer(self, agent: Agent, now: float, reason: str) -> list[Output]:
        """Logout and force busy withdraw a direct reservation like a queue offer."""
        key = agent.call_id
        assert key is not None
        if self._direct.get(key) != agent.agent_id:
            return super()._withdraw_agent_offer(agent, now, reason)
        del self._direct[key]
        return [CancelOffer(key, agent.agent_id, reason), self._release_direct(agent, now, reason)]
