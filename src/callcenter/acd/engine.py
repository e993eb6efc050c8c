"""The router's machinery: indexes, offers, withdrawals, timers and the dispatch loop.

:class:`Engine` owns all live ACD state; the public commands live in
:class:`callcenter.acd.router.Acd`, which extends it. Theory of operation: every command first
fires the timers that are due (each at its own deadline), then changes state and marks the
callers and agents whose options changed as *dirty*; :meth:`Engine._dispatch` then lets each
dirty agent take callers (cross-queue rule) until none admits it, and serves the dirty callers
in cross-queue order.
Because every change that could create an (idle eligible agent, waiting caller) pair marks one
of the two dirty, no such pair survives a command: the router is work-conserving.
"""

from __future__ import annotations

import heapq
import random

from callcenter.acd import dispatch
from callcenter.acd.errors import NotLoggedInError
from callcenter.acd.events import (
    AgentStateChanged,
    CallLeftQueue,
    CallOverflowed,
    CancelOffer,
    Explanation,
    OfferToAgent,
    Output,
)
from callcenter.acd.model import (
    NO_ANSWER_REASON,
    Activity,
    LoginLimits,
    Outcome,
    OverflowReason,
    Presence,
)
from callcenter.acd.pools import IdlePool, KeyedPool, RotatingPool, Score, Turn, new_turn
from callcenter.acd.state import (
    Agent,
    Entry,
    EntryState,
    QueueState,
    Served,
    TimerKind,
    Timers,
)
from callcenter.acd.strategies import id_key

ACD_ACTOR = "acd"
# enum members as module globals: ``Activity.RESERVED`` is a lookup through the enum's metaclass
# on every read (about 0.2 µs here), and the decision paths read several
_READY, _IDLE, _RESERVED = Presence.READY, Activity.IDLE, Activity.RESERVED
_WAITING, _OFFERED, _DONE = EntryState.WAITING, EntryState.OFFERED, EntryState.DONE
_RING, _RELAX = TimerKind.RING, TimerKind.RELAX
_FRESH_SCAN = 8  # fresh agents checked per pool read; with more, all are pooled at once


class CallRecord:
    """A call that an agent answered and has up."""

    __slots__ = ("agent_id", "category", "priority", "queue_id")

    def __init__(self, agent_id: str, queue_id: str, priority: int, category: str) -> None:
        self.agent_id = agent_id
        self.queue_id = queue_id
        self.priority = priority
        self.category = category


class Engine:
    def __init__(self, rng: random.Random, limits: LoginLimits | None = None) -> None:
        self._rng = rng
        self._limits = limits or LoginLimits()
        self._agents: dict[str, Agent] = {}
        self._seats: dict[str, str] = {}
        self._queues: dict[str, QueueState] = {}
        self._entries: dict[str, Entry] = {}
        self._calls: dict[str, CallRecord] = {}
        self._timers = Timers()
        self._seq = 0
        self._dirty_entries: set[Entry] = set()
        self._dirty_agents: set[str] = set()
        self._fresh: dict[str, Agent] = {}  # idle agents not yet in all their queues' pools
        self._held: list[Output] = []
        self._last_now = float("-inf")

    def _begin(self, now: float) -> None:
        """Fire due timers first; their outputs survive even if the command then fails."""
        heap = self._timers.heap
        if heap and heap[0][0] <= now:
            self._held.extend(self._advance(now))
        if now > self._last_now:  # noqa: PLR1730 - max() is a call on the hot path
            self._last_now = now

    def _finish(self, now: float, out: list[Output]) -> list[Output]:
        """Dispatch, then fire timers the command armed in the past (a shorter max wait)."""
        if self._held:
            out = self._held + out
            self._held = []
        if self._dirty_agents or self._dirty_entries or self._fresh:
            self._dispatch(now, out)
        heap = self._timers.heap
        if heap and heap[0][0] <= now:
            out.extend(self._advance(now))
        return out

    def _served(self, agent: Agent) -> tuple[Served, ...]:
        """The queues the agent serves, each with its level, fit and pool slot (built once per
        change of the agent's memberships)."""
        served = agent.served
        if served is None:
            queues, fits = self._queues, agent.fit
            built: list[Served] = []
            for queue_id, level in agent.levels.items():
                queue = queues[queue_id]
                built.append(Served(queue, level, fits[queue_id], queue.slot(level)))
            served = agent.served = tuple(built)
        return served

    def _pool_fresh(self) -> None:
        """Agents still idle when a dispatch ends enter the pools of all their queues, so no
        later decision pays for a backlog; an agent who took a caller at once never did."""
        for agent in self._fresh.values():
            pooled, agent_id = agent.pooled, agent.agent_id
            served = agent.served
            if served is None:
                served = self._served(agent)
            for one in served:  # QueueState.pool, inlined
                queue_id = one.queue.queue_id
                if queue_id in pooled:
                    continue
                slot = one.slot
                slot.pool.add(agent_id, one.level, slot.item(agent, one.fit))
                pooled[queue_id] = slot
        self._fresh.clear()

    def _pool(self, queue: QueueState) -> IdlePool:
        """The queue's idle pool, complete: with the fresh idle agents who serve it."""
        fresh = self._fresh
        if fresh:
            if len(fresh) > _FRESH_SCAN:
                self._pool_fresh()
            queue_id = queue.queue_id
            for agent in fresh.values():
                level = agent.levels.get(queue_id)
                if level is not None and queue_id not in agent.pooled:
                    queue.pool(agent, level, agent.fit[queue_id])
        return queue.idle

    def _unpool(self, agent: Agent) -> None:
        """The agent is no longer idle (or its queues change): out of every pool it is in."""
        agent_id = agent.agent_id
        for slot in agent.pooled.values():
            slot.pool.remove(agent_id, slot.level)
        agent.pooled.clear()
        self._fresh.pop(agent_id, None)

    # ---- small helpers -------------------------------------------------------------------

    def _token(self) -> int:
        self._seq += 1
        return self._seq

    def _agent(self, agent_id: str) -> Agent:
        agent = self._agents.get(agent_id)
        if agent is None:
            raise NotLoggedInError(f"agent {agent_id} is not logged in")
        return agent

    def _changed(self, agent: Agent, now: float, actor: str, cause: str) -> AgentStateChanged:
        agent.since = now
        self._reindex(agent)
        return AgentStateChanged(
            agent.agent_id, agent.presence, agent.reason, agent.activity, now, actor, cause
        )

    def _reindex(self, agent: Agent) -> None:
        """Keep the per-queue idle pools and ready sets in step with the agent's state."""
        ready = agent.presence is _READY
        available = ready and agent.activity is _IDLE
        agent_id = agent.agent_id
        if available != agent.in_idle:
            agent.in_idle = available
            if available:  # it enters the pools lazily: see _pool and _pool_fresh
                self._fresh[agent_id] = agent
            else:
                self._unpool(agent)
        if ready != agent.in_ready:
            agent.in_ready = ready
            step = 1 if ready else -1
            for one in self._served(agent):
                one.queue.ready += step
        if available:
            self._dirty_agents.add(agent_id)

    def _set_level(self, entry: Entry, now: float) -> None:
        """Relaxation level reached at ``now`` and the timer for the next step, if any."""
        queue = self._queues[entry.queue_id]
        steps = queue.config.relaxation
        level = 0
        for step in steps:
            if entry.enqueued_at + step.after <= now:
                level += 1
        entry.level = level
        queue.forget_heads()  # a wider relaxation may admit agents the cached heads did not
        self._seq += 1
        entry.relax_token = self._seq
        if level < len(steps):
            at = entry.enqueued_at + steps[level].after
            heapq.heappush(self._timers.heap, (at, self._seq, _RELAX, entry.call_id))

    # ---- offers --------------------------------------------------------------------------

    def _offer(
        self,
        queue: QueueState,
        entry: Entry,
        chosen: list[Agent],
        why: Explanation,
        now: float,
        out: list[Output],
    ) -> None:
        cfg = queue.config
        call_id, queue_id, ring_timeout = entry.call_id, queue.queue_id, cfg.ring_timeout
        entry.state = _OFFERED
        queue.leave(entry)  # out of the line while offered; same key if it comes back
        self._seq += 1
        entry.ring_token = self._seq
        heapq.heappush(self._timers.heap, (now + ring_timeout, self._seq, _RING, call_id))
        queue.rr_last = chosen[0].sort_id
        category, callback_number = entry.category, entry.callback_number
        offers: set[str] = set()  # a waiting entry has none (NOBODY): its own set from now on
        entry.offers = offers
        for agent in chosen:
            agent_id = agent.agent_id
            offers.add(agent_id)
            agent.activity = _RESERVED
            agent.call_id = call_id
            agent.queue_id = queue_id
            out.append(self._changed(agent, now, ACD_ACTOR, "offered"))
            out.append(
                OfferToAgent(
                    call_id, agent_id, agent.seat, queue_id, ring_timeout, category,
                    callback_number, why,
                )
            )  # fmt: skip

    def _release_offer(
        self, entry: Entry, agent: Agent, now: float, reason: str, missed: bool
    ) -> list[Output]:
        """Withdraw one agent's offer; the agent becomes idle (or busy after K misses)."""
        entry.drop_offer(agent.agent_id)
        agent.activity = _IDLE
        agent.call_id = None
        agent.queue_id = None
        agent.idle_since = now
        out: list[Output] = [CancelOffer(entry.call_id, agent.agent_id, reason)]
        cause = reason
        if missed:
            entry.declined = entry.declined | {agent.agent_id}
            agent.no_answers += 1
            limit = self._queues[entry.queue_id].config.max_no_answers
            if agent.no_answers >= limit:
                agent.presence, agent.reason, agent.pending = Presence.BUSY, NO_ANSWER_REASON, None
                cause = f"{agent.no_answers} consecutive no-answers"
        self._apply_pending(agent)
        out.append(self._changed(agent, now, ACD_ACTOR, cause))
        return out

    @staticmethod
    def _apply_pending(agent: Agent) -> None:
        """A presence change asked during a call takes effect now (state change follows)."""
        if agent.pending is not None:
            agent.presence, agent.reason = agent.pending
            agent.pending = None

    def _withdraw_all(self, entry: Entry, now: float, reason: str, missed: bool) -> list[Output]:
        out: list[Output] = []
        for agent_id in sorted(entry.offers, key=id_key):
            out.extend(self._release_offer(entry, self._agents[agent_id], now, reason, missed))
        return out

    def _back_to_line(self, entry: Entry, now: float) -> list[Output]:
        """A caller whose offers all failed returns to its old place (same key)."""
        queue = self._queues[entry.queue_id]
        max_wait = queue.config.max_wait
        expired = max_wait is not None and entry.enqueued_at + max_wait <= now
        if expired and entry.callback_number is None:
            return self._overflow(entry, now, OverflowReason.MAX_WAIT)
        entry.state = _WAITING
        entry.ring_token = -1  # the old ring timer must not fire on the waiting caller
        queue.push(entry, self._token())
        self._dirty_entries.add(entry)
        return []

    # ---- endings -------------------------------------------------------------------------

    def _end(self, entry: Entry, now: float, outcome: Outcome, agent: str | None) -> CallLeftQueue:
        queue = self._queues[entry.queue_id]
        queue.discard(entry)
        del self._entries[entry.call_id]
        entry.state = _DONE
        self._dirty_entries.discard(entry)
        return CallLeftQueue(entry.call_id, entry.queue_id, outcome, agent, now - entry.enqueued_at)

    def _overflow(self, entry: Entry, now: float, reason: OverflowReason) -> list[Output]:
        out = self._withdraw_all(entry, now, "overflow", missed=False)
        destination = self._queues[entry.queue_id].config.overflow
        out.append(CallOverflowed(entry.call_id, entry.queue_id, destination, reason))
        out.append(self._end(entry, now, Outcome.OVERFLOWED, None))
        return out

    def _overflow_if_empty(self, queue: QueueState, now: float) -> list[Output]:
        """SPEC §3: with no agents logged in for a queue, its waiting callers overflow."""
        if queue.members or not queue.config.overflow_when_no_agents:
            return []
        out: list[Output] = []
        for entry in sorted(queue.entries.values(), key=lambda e: e.order(0)):
            out.extend(self._overflow(entry, now, OverflowReason.NO_AGENTS))
        return out

    # ---- timers --------------------------------------------------------------------------

    def _advance(self, now: float) -> list[Output]:
        """Fire every timer due at or before ``now``, each at its own deadline; the timers of
        one deadline all fire before the dispatch (two callers relaxing at the same instant
        are served by priority, not by which timer was armed first)."""
        out: list[Output] = []
        while (head := self._timers.peek()) is not None and head[0] <= now:
            deadline = head[0]
            at = max(deadline, self._last_now)  # time never runs backwards in the outputs
            self._last_now = at
            while (head := self._timers.peek()) is not None and head[0] == deadline:
                _, token, kind, key = self._timers.pop()
                out.extend(self._fire(at, token, kind, key))
            self._dispatch(at, out)
        return out

    def _fire(self, at: float, token: int, kind: int, key: str) -> list[Output]:
        if kind == TimerKind.WRAPUP:
            agent = self._agents.get(key)
            if agent is None or agent.timer_token != token:
                return []
            agent.activity = Activity.IDLE
            agent.idle_since = at
            return [self._changed(agent, at, ACD_ACTOR, "wrap-up ended")]
        entry = self._entries.get(key)
        if entry is None:
            return []
        if kind == TimerKind.RING and entry.ring_token == token:
            out = self._withdraw_all(entry, at, "ring timeout", missed=True)
            return out + self._back_to_line(entry, at)
        if kind == TimerKind.MAX_WAIT and entry.wait_token == token:
            if entry.state is EntryState.WAITING:
                return self._overflow(entry, at, OverflowReason.MAX_WAIT)
            return []  # being offered: checked again if the offer fails
        if kind == TimerKind.RELAX and entry.relax_token == token:
            self._set_level(entry, at)
            self._dirty_entries.add(entry)
        return []

    def _is_stale(self, token: int, kind: int, key: str) -> bool:
        if kind == TimerKind.WRAPUP:
            agent = self._agents.get(key)
            return agent is None or agent.timer_token != token
        entry = self._entries.get(key)
        if entry is None:
            return True
        current = {
            TimerKind.RING: entry.ring_token,
            TimerKind.MAX_WAIT: entry.wait_token,
            TimerKind.RELAX: entry.relax_token,
        }
        return current[kind] != token

    def next_deadline(self) -> float | None:
        """When :meth:`on_timer` must next be called (like aioquic's ``get_timer``)."""
        while (head := self._timers.peek()) is not None and self._is_stale(*head[1:]):
            self._timers.pop()
        head = self._timers.peek()
        return None if head is None else head[0]

    def on_timer(self, now: float) -> list[Output]:
        """Fire the timers due at ``now`` (like aioquic's ``handle_timer``)."""
        self._begin(now)
        return self._finish(now, [])

    # ---- dispatch ------------------------------------------------------------------------

    def _dispatch(self, now: float, out: list[Output]) -> list[Output]:
        """Serve the dirty agents and callers; the offers go to ``out`` (returned)."""
        dirty_agents, dirty_entries = self._dirty_agents, self._dirty_entries
        while dirty_entries or dirty_agents:
            # Agents first: an agent freed in this step takes the best caller across its
            # queues (the cross-queue rule), which keeps FIFO when a younger caller's offer
            # failed while an older one waits. Then callers who became waiting in this step,
            # in cross-queue order.
            if len(dirty_agents) == 1:  # the usual case: one agent, nothing to sort
                self._serve_agent(dirty_agents.pop(), now, out)
            elif dirty_agents:
                agent_ids = sorted(dirty_agents, key=id_key)
                dirty_agents.clear()
                for agent_id in agent_ids:
                    self._serve_agent(agent_id, now, out)
            if len(dirty_entries) == 1:
                self._serve_entry(dirty_entries.pop(), now, out)
            elif dirty_entries:
                entries = list(dirty_entries)
                dirty_entries.clear()
                entries.sort(key=lambda e: e.order(self._queues[e.queue_id].config.weight))
                for entry in entries:
                    self._serve_entry(entry, now, out)
        if self._fresh:
            self._pool_fresh()
        return out

    def _serve_entry(self, entry: Entry, now: float, out: list[Output]) -> None:
        if entry.state is not _WAITING:  # offered or ended since it was marked
            return
        queue = self._queues[entry.queue_id]
        ranked = dispatch.rank_for_entry(queue, self._pool(queue), entry, self._agents, self._rng)
        if ranked is not None:
            chosen, why = ranked
            self._offer(queue, entry, chosen, why, now, out)

    def _serve_agent(self, agent_id: str, now: float, out: list[Output]) -> None:
        agent = self._agents.get(agent_id)
        if agent is None or not self._entries:  # nobody in any queue: nothing to compare
            return
        served = self._served(agent)
        while agent.presence is _READY and agent.activity is _IDLE:
            found = dispatch.best_entry_for_agent(served)
            if found is None:
                break
            best, heads = found
            queue, entry = best.queue, best.entry
            item = self._alone(agent, queue, entry.level)
            if item is not None:
                ranked = dispatch.rank_alone(queue, agent, item, entry, agent_id, heads)
            else:
                pool = self._pool(queue)
                found_ranked = dispatch.rank_for_entry(
                    queue, pool, entry, self._agents, self._rng, agent_id, heads
                )
                assert found_ranked is not None  # the agent itself is an idle eligible member
                ranked = found_ranked
            chosen, why = ranked  # not *ranked: the compiled router calls _offer directly
            self._offer(queue, entry, chosen, why, now, out)

    def _alone(self, agent: Agent, queue: QueueState, level: int) -> Score | None:
        """What the queue's pool would rank first if the agent were its only member that may
        take a caller of relaxation ``level``: it is the one fresh agent, not pooled there, and
        nobody idle before it qualifies. The ranking is then known without the pool (adding the
        agent only to take it out again); a rotating pool's item also says its lap."""
        fresh, queue_id = self._fresh, queue.queue_id
        if len(fresh) != 1 or agent.agent_id not in fresh or queue_id in agent.pooled:
            return None
        idle = queue.idle
        if idle.count(level) != 0:
            return None
        item = queue.ranking.item(agent, agent.fit[queue_id])
        if type(idle) is KeyedPool:
            return item
        assert isinstance(idle, RotatingPool)
        return idle.alone(item, new_turn(Turn, (queue.rr_last, self._rng)))
