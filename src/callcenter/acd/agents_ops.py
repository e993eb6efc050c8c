"""Agent commands of the router: login, logout, ready/busy, force operations (SPEC §4, §5).

The rules, exactly: a login is range-checked and fails if the agent id (or the seat) is already
logged in; logout removes the agent from every queue and hangs up its phone; busy while the seat
is off-hook (reserved, ringing or on a call) is deferred until the call ends, or refused with
``NotOnHookError`` when the caller asks for no deferral; ready applies at once and cancels a
deferred busy. A supervisor's force logout / busy / ready act at once: a ringing offer is
withdrawn and the caller goes back to its place; a call that is up continues.
"""

from __future__ import annotations

from callcenter.acd.engine import ACD_ACTOR, CallRecord, Engine
from callcenter.acd.errors import (
    AlreadyLoggedInError,
    NotInWrapUpError,
    NotOnHookError,
    SeatInUseError,
)
from callcenter.acd.events import HangUpAgent, Output, PresenceChangeDeferred
from callcenter.acd.model import Activity, AgentLogin, Presence
from callcenter.acd.state import Agent, Entry, QueueState, TimerKind
from callcenter.acd.strategies import fit, id_key
from callcenter.acd.views import AgentView

OFF_HOOK = frozenset({Activity.RESERVED, Activity.RINGING, Activity.ON_CALL})
OFFERED = frozenset({Activity.RESERVED, Activity.RINGING})
AHT_SMOOTHING = 0.2
# enum members as module globals (a metaclass lookup per read otherwise; see engine.py)
_READY, _BUSY, _IDLE = Presence.READY, Presence.BUSY, Activity.IDLE
_ON_CALL, _WRAP_UP, _WRAPUP_TIMER = Activity.ON_CALL, Activity.WRAP_UP, TimerKind.WRAPUP


class AgentCommands(Engine):
    def login(self, login: AgentLogin, now: float, *, ready: bool = True) -> list[Output]:
        """座席登录: seat, agent id, category, skills; range-checked; no second login."""
        self._begin(now)
        self._limits.check(login)
        if login.agent_id in self._agents:
            raise AlreadyLoggedInError(f"agent {login.agent_id} is already logged in elsewhere")
        if login.seat in self._seats:
            raise SeatInUseError(f"seat {login.seat} is in use by agent {self._seats[login.seat]}")
        agent = Agent(
            login.agent_id, login.seat, login.category, dict(login.skills), login.wrapup, now
        )
        agent.idle_since = now
        agent.queues = login.queues
        if not ready:
            agent.presence, agent.reason = Presence.BUSY, "login"
        self._agents[agent.agent_id] = agent
        self._seats[agent.seat] = agent.agent_id
        for queue_id in self._queues:
            self._place(agent, queue_id)
        self._served(agent)  # built now, not in the agent's first decision
        return self._finish(now, [self._changed(agent, now, agent.agent_id, "login")])

    def _place(self, agent: Agent, queue_id: str) -> None:
        """(Re)compute the agent's membership of one queue from its skills (and, when the
        agent has a membership list, only for the queues on it)."""
        queue = self._queues[queue_id]
        if agent.queues is not None and queue_id not in agent.queues:
            level = None
        else:
            level = queue.config.eligibility_level(agent.skills)
        agent_id = agent.agent_id
        agent.served = None  # rebuilt from levels when next needed
        if queue_id in agent.pooled:
            slot = agent.pooled.pop(queue_id)
            slot.pool.remove(agent_id, slot.level)
        if level is None:
            agent.levels.pop(queue_id, None)
            agent.fit.pop(queue_id, None)
            if queue.members.pop(agent_id, None) is not None and agent.in_ready:
                queue.ready -= 1
            return
        agent.levels[queue_id] = level
        agent.fit[queue_id] = fit(queue.config, agent.skills)
        if agent.in_ready and agent_id not in queue.members:
            queue.ready += 1
        queue.members[agent_id] = level
        if agent.in_idle:  # pooled in this queue again, lazily (else _reindex does it)
            self._fresh[agent_id] = agent
        if agent.available:
            self._dirty_agents.add(agent_id)

    def logout(self, agent_id: str, now: float, *, actor: str | None = None) -> list[Output]:
        """座席注销: out of every queue; a ringing offer goes back, a call up is hung up."""
        self._begin(now)
        agent = self._agent(agent_id)
        out: list[Output] = []
        if agent.activity in OFFERED:
            out.extend(self._withdraw_agent_offer(agent, now, "agent logged out"))
        elif agent.activity is Activity.ON_CALL and agent.call_id is not None:
            out.append(HangUpAgent(agent_id, agent.call_id))
            self._calls.pop(agent.call_id, None)
        agent.presence, agent.reason, agent.pending = Presence.LOGGED_OUT, "", None
        agent.activity, agent.call_id = Activity.IDLE, None
        agent.timer_token = -1
        self._reindex(agent)
        queues = [self._queues[q] for q in sorted(agent.levels)]
        for queue in queues:
            del queue.members[agent_id]
        agent.levels.clear()
        agent.served = None
        del self._agents[agent_id], self._seats[agent.seat]
        cause = "logout" if actor is None or actor == agent_id else "forced logout"
        out.append(self._changed(agent, now, actor or agent_id, cause))
        for queue in queues:
            out.extend(self._overflow_if_empty(queue, now))
        return self._finish(now, out)

    def _withdraw_agent_offer(self, agent: Agent, now: float, reason: str) -> list[Output]:
        assert agent.call_id is not None
        entry = self._entries[agent.call_id]
        out = self._release_offer(entry, agent, now, reason, missed=False)
        if not entry.offers:
            out.extend(self._back_to_line(entry, now))
        return out

    def set_ready(self, agent_id: str, now: float, *, actor: str | None = None) -> list[Output]:
        """示闲: ready at once; a deferred busy is cancelled."""
        self._begin(now)
        agent = self._agent(agent_id)
        agent.presence, agent.reason, agent.pending = _READY, "", None
        agent.no_answers = 0
        cause = "ready" if actor is None or actor == agent_id else "forced ready"
        return self._finish(now, [self._changed(agent, now, actor or agent_id, cause)])

    def set_busy(
        self, agent_id: str, reason: str, now: float, *, defer: bool = True
    ) -> list[Output]:
        """示忙: at once when on-hook; while off-hook deferred to the call's end (or refused)."""
        self._begin(now)
        agent = self._agent(agent_id)
        if agent.activity in OFF_HOOK and not defer:
            raise NotOnHookError(f"agent {agent_id} is {agent.activity.value}; busy needs on-hook")
        if agent.activity in OFF_HOOK:
            agent.pending = (Presence.BUSY, reason)
            return self._finish(now, [PresenceChangeDeferred(agent_id, Presence.BUSY, reason)])
        agent.presence, agent.reason = _BUSY, reason
        return self._finish(now, [self._changed(agent, now, agent_id, "busy")])

    def end_wrapup(self, agent_id: str, now: float) -> list[Output]:
        """The agent finished its after-call work early."""
        self._begin(now)
        agent = self._agent(agent_id)
        if agent.activity is not Activity.WRAP_UP:
            raise NotInWrapUpError(f"agent {agent_id} is {agent.activity.value}")
        agent.timer_token = -1
        agent.activity, agent.idle_since = Activity.IDLE, now
        return self._finish(now, [self._changed(agent, now, agent_id, "wrap-up ended")])

    # ---- supervisor (班长) force operations ------------------------------------------------

    def force_logout(self, agent_id: str, by: str, now: float) -> list[Output]:
        """强制签出 by supervisor ``by`` (authorisation is the API's job; ``by`` is audited)."""
        return self.logout(agent_id, now, actor=by)

    def force_ready(self, agent_id: str, by: str, now: float) -> list[Output]:
        """强制示闲."""
        return self.set_ready(agent_id, now, actor=by)

    def force_busy(
        self, agent_id: str, by: str, now: float, reason: str = "forced busy"
    ) -> list[Output]:
        """强制示忙: at once; a ringing offer is withdrawn, a call that is up continues."""
        self._begin(now)
        agent = self._agent(agent_id)
        out: list[Output] = []
        if agent.activity in OFFERED:
            out.extend(self._withdraw_agent_offer(agent, now, "forced busy"))
        agent.presence, agent.reason, agent.pending = Presence.BUSY, reason, None
        out.append(self._changed(agent, now, by, "forced busy"))
        return self._finish(now, out)

    # ---- the agent's call ----------------------------------------------------------------

    def _ringing(self, agent: Agent, now: float) -> list[Output]:
        if agent.activity is not Activity.RESERVED:
            return []
        agent.activity = Activity.RINGING
        return [self._changed(agent, now, ACD_ACTOR, "ringing")]

    def _start_call(self, agent: Agent, entry: Entry, queue: QueueState, now: float) -> Output:
        agent.activity = _ON_CALL
        agent.calls_answered += 1
        agent.no_answers = 0
        agent.call_started = now
        self._calls[entry.call_id] = CallRecord(
            agent.agent_id, queue.config.queue_id, entry.priority, entry.category
        )
        return self._changed(agent, now, agent.agent_id, "answered")

    def _finish_call(self, record: CallRecord, now: float, cause: str) -> list[Output]:
        """话后处理: wrap-up from the agent's own setting, else the queue's; then idle."""
        agent = self._agents[record.agent_id]
        talk = now - agent.call_started
        agent.talk_time += talk
        queue = self._queues.get(record.queue_id)
        wrapup = agent.wrapup
        if wrapup is None:
            wrapup = 0.0 if queue is None else queue.config.wrapup
        if queue is not None:
            queue.aht += AHT_SMOOTHING * (talk + wrapup - queue.aht)
        agent.call_id, agent.queue_id = None, None
        self._apply_pending(agent)
        agent.timer_token = self._token()
        if wrapup > 0:
            agent.activity = _WRAP_UP
            self._timers.schedule(now + wrapup, agent.timer_token, _WRAPUP_TIMER, agent.agent_id)
        else:
            agent.activity, agent.idle_since = _IDLE, now
        return [self._changed(agent, now, ACD_ACTOR, cause)]

    # ---- views ---------------------------------------------------------------------------

    def agent_view(self, agent_id: str) -> AgentView:
        a = self._agent(agent_id)
        pending = None if a.pending is None else a.pending[0]
        return AgentView(
            a.agent_id, a.seat, a.category, a.presence, a.reason, a.activity, a.since, pending,
            a.call_id, a.no_answers, a.calls_answered, a.talk_time, a.idle_since,
            tuple(sorted(a.skills.items())), tuple(sorted(a.levels.items())),
        )  # fmt: skip

    def agents(self) -> list[AgentView]:
        return [self.agent_view(a) for a in sorted(self._agents, key=id_key)]
