"""The ACD router (排队机): public commands of the pure routing core (SPEC §3, §4, §5, §11).

:class:`Acd` is the one owner of live ACD state. The call controller and the API drive it with
commands that take ``now``; each returns the list of commands and events to carry out, in order.
Every command first fires the timers due at ``now``; then it validates, and a domain error
(:mod:`callcenter.acd.errors`) is raised before the command changes anything (the outputs of
timers it fired are returned by the next call). So an answer that arrives after the ring
timeout fails with ``NoSuchOfferError``: the deadline is authoritative. Use ``next_deadline()`` and
``on_timer(now)`` to drive ring timeouts, wrap-up ends, max-wait overflow and skill relaxation.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from callcenter.acd import takeover
from callcenter.acd.errors import (
    CallAlreadyQueuedError,
    NoSuchOfferError,
    NotOnCallError,
    QueueExistsError,
    UnknownCallError,
    UnknownQueueError,
)
from callcenter.acd.events import CallbackRequested, CallQueued, Output
from callcenter.acd.model import LoginLimits, Outcome, OverflowReason, QueueConfig
from callcenter.acd.state import Agent, Entry, EntryState, QueueState, TimerKind
from callcenter.acd.strategies import RANKINGS
from callcenter.acd.views import EntryView, QueueView

# enum members as module globals (a metaclass lookup per read otherwise; see engine.py)
_ANSWERED, _ABANDONED, _MAX_WAIT = Outcome.ANSWERED, Outcome.ABANDONED, TimerKind.MAX_WAIT


class Acd(takeover.TakeoverCommands):
    """Queues, callers and agents; deterministic for a given ``rng`` seed and command order."""

    def __init__(self, rng: random.Random, limits: LoginLimits | None = None) -> None:
        super().__init__(rng, limits)

    # ---- queues --------------------------------------------------------------------------

    def add_queue(self, config: QueueConfig, now: float) -> list[Output]:
        """A new queue, live: logged-in agents whose skills fit become members."""
        self._begin(now)
        config.validate()
        if config.queue_id in self._queues:
            raise QueueExistsError(f"queue {config.queue_id!r} exists")
        self._queues[config.queue_id] = QueueState(config, RANKINGS[config.strategy])
        for agent in self._agents.values():
            self._place(agent, config.queue_id)
        return self._finish(now, [])

    def update_queue(self, config: QueueConfig, now: float) -> list[Output]:
        """Apply new settings live: memberships, relaxation levels and max-wait timers."""
        self._begin(now)
        config.validate()
        queue = self._queue(config.queue_id)
        queue.reconfigure(config, RANKINGS[config.strategy])
        for agent in self._agents.values():
            agent.pooled.pop(config.queue_id, None)  # the new pool starts empty
            self._place(agent, config.queue_id)
        for entry in queue.entries.values():
            self._set_level(entry, now)
            self._arm_max_wait(entry)
            if entry.state is EntryState.WAITING:
                self._dirty_entries.add(entry)
        return self._finish(now, self._overflow_if_empty(queue, now))

    def remove_queue(self, queue_id: str, now: float) -> list[Output]:
        """Waiting callers overflow to the queue's destination; members leave it."""
        self._begin(now)
        queue = self._queue(queue_id)
        out: list[Output] = []
        for entry in sorted(queue.entries.values(), key=lambda e: e.order(0)):
            out.extend(self._overflow(entry, now, OverflowReason.QUEUE_REMOVED))
        for agent_id in list(queue.members):
            agent = self._agents[agent_id]
            del agent.levels[queue_id], agent.fit[queue_id]
            agent.pooled.pop(queue_id, None)
            agent.served = None
        del self._queues[queue_id]
        return self._finish(now, out)

    def _queue(self, queue_id: str) -> QueueState:
        queue = self._queues.get(queue_id)
        if queue is None:
            raise UnknownQueueError(f"no queue {queue_id!r}")
        return queue

    # ---- callers -------------------------------------------------------------------------

    def enqueue(
        self,
        call_id: str,
        queue_id: str,
        now: float,
        *,
        priority: int = 0,
        category: str = "",
        callback_number: str | None = None,
    ) -> list[Output]:
        """A caller joins a queue (from the IVR, a transfer or an overflow)."""
        self._begin(now)
        queue = self._queue(queue_id)
        self._check_new_call(call_id)
        entry = Entry(call_id, queue_id, priority, category, now, self._token(), callback_number)
        return self._finish(now, self._admit(queue, entry, now))

    def _check_new_call(self, call_id: str) -> None:
        if call_id in self._entries or call_id in self._calls:
            raise CallAlreadyQueuedError(f"call {call_id!r} is already in a queue or at an agent")

    def _admit(self, queue: QueueState, entry: Entry, now: float) -> list[Output]:
        cfg = queue.config
        reason = None
        if not queue.members and cfg.overflow_when_no_agents:
            reason = OverflowReason.NO_AGENTS
        elif cfg.max_len is not None and len(queue.entries) >= cfg.max_len:
            reason = OverflowReason.QUEUE_FULL
        self._entries[entry.call_id] = entry
        position = queue.add(entry, self._token())
        if reason is not None:
            return self._overflow(entry, now, reason)
        self._set_level(entry, now)
        self._arm_max_wait(entry)
        self._dirty_entries.add(entry)
        wait = queue.expected_wait(position)
        return [CallQueued(entry.call_id, cfg.queue_id, entry.priority, position, wait)]

    def _arm_max_wait(self, entry: Entry) -> None:
        entry.wait_token = self._token()
        max_wait = self._queues[entry.queue_id].config.max_wait
        if max_wait is not None and entry.callback_number is None:
            at = entry.enqueued_at + max_wait
            self._timers.schedule(at, entry.wait_token, _MAX_WAIT, entry.call_id)

    def caller_abandoned(self, call_id: str, now: float) -> list[Output]:
        """The caller hung up while waiting or ringing (or a callback task was cancelled)."""
        self._begin(now)
        entry = self._entry(call_id)
        out = self._withdraw_all(entry, now, "abandoned", missed=False)
        out.append(self._end(entry, now, _ABANDONED, None))
        return self._finish(now, out)

    def request_callback(
        self, call_id: str, callback_id: str, number: str, now: float
    ) -> list[Output]:
        """SPEC §11: the caller hangs up; a callback task takes its exact place in line."""
        self._begin(now)
        entry = self._entry(call_id)
        self._check_new_call(callback_id)
        out = self._withdraw_all(entry, now, "callback requested", missed=False)
        out.append(self._end(entry, now, Outcome.CALLBACK, None))
        queue = self._queues[entry.queue_id]
        task = Entry(
            callback_id, entry.queue_id, entry.priority, entry.category, entry.enqueued_at,
            entry.seq, number,
        )  # fmt: skip
        self._entries[callback_id] = task
        position = queue.add(task, self._token())
        self._set_level(task, now)
        self._arm_max_wait(task)
        self._dirty_entries.add(task)
        out.append(CallbackRequested(call_id, callback_id, entry.queue_id, number, position))
        return self._finish(now, out)

    def _entry(self, call_id: str) -> Entry:
        entry = self._entries.get(call_id)
        if entry is None:
            raise UnknownCallError(f"call {call_id!r} is not in a queue")
        return entry

    # ---- offers --------------------------------------------------------------------------

    def _offered(self, call_id: str, agent_id: str) -> tuple[Entry, Agent]:
        entry = self._entries.get(call_id)
        if entry is None or agent_id not in entry.offers:
            raise NoSuchOfferError(f"agent {agent_id} has no offer for call {call_id!r}")
        return entry, self._agents[agent_id]

    def offer_ringing(self, call_id: str, agent_id: str, now: float) -> list[Output]:
        """The agent's phone rings (180): reserved becomes ringing."""
        self._begin(now)
        _, agent = self._offered(call_id, agent_id)
        return self._finish(now, self._ringing(agent, now))

    def offer_answered(self, call_id: str, agent_id: str, now: float) -> list[Output]:
        """The agent answered: the entry ends; other ring-all offers are withdrawn."""
        self._begin(now)
        entry, agent = self._offered(call_id, agent_id)
        entry.drop_offer(agent_id)
        out = self._withdraw_all(entry, now, "answered elsewhere", missed=False)
        queue = self._queues[entry.queue_id]
        out.append(self._end(entry, now, _ANSWERED, agent_id))
        out.append(self._start_call(agent, entry, queue, now))
        return self._finish(now, out)

    def offer_rejected(self, call_id: str, agent_id: str, now: float) -> list[Output]:
        """The agent declined or the phone was busy: counts as a no-answer (SPEC §3)."""
        self._begin(now)
        entry, agent = self._offered(call_id, agent_id)
        out = self._release_offer(entry, agent, now, "rejected", missed=True)
        if not entry.offers:
            out.extend(self._back_to_line(entry, now))
        return self._finish(now, out)

    # ---- calls at agents -----------------------------------------------------------------

    def call_ended(self, call_id: str, now: float) -> list[Output]:
        """BYE from either side: the agent goes to wrap-up; a queued caller has abandoned.

        Unknown call ids are ignored (the controller reports every hang-up, including calls
        that never reached the ACD or whose agent was logged out).
        """
        self._begin(now)
        if call_id in self._entries:
            return self.caller_abandoned(call_id, now)
        record = self._calls.pop(call_id, None)
        out = [] if record is None else self._finish_call(record, now, "call ended")
        return self._finish(now, out)

    def transfer(
        self, call_id: str, now: float, *, to_queue: str | None = None, priority: int | None = None
    ) -> list[Output]:
        """The agent transfers the caller (to a queue, or away when ``to_queue`` is None).

        The transferring agent's wrap-up starts now, once; the caller's next agent has its own.
        """
        self._begin(now)
        record = self._calls.get(call_id)
        if record is None:
            raise NotOnCallError(f"call {call_id!r} is not up at an agent")
        target = None if to_queue is None else self._queue(to_queue)
        del self._calls[call_id]
        out = self._finish_call(record, now, "transferred")
        if target is not None:
            new_priority = record.priority if priority is None else priority
            entry = Entry(call_id, target.config.queue_id, new_priority, record.category, now,
                          self._token())  # fmt: skip
            out.extend(self._admit(target, entry, now))
        return self._finish(now, out)

    # ---- views ---------------------------------------------------------------------------

    def entry_view(self, call_id: str) -> EntryView:
        e = self._entry(call_id)
        offered = tuple(sorted(e.offers))
        return EntryView(e.call_id, e.queue_id, e.priority, e.category, e.enqueued_at, e.seq,
                         e.level, offered, e.callback_number)  # fmt: skip

    def entries(self) -> list[EntryView]:
        return [self.entry_view(c) for c in self._entries]

    def position(self, call_id: str) -> tuple[int, float]:
        """Position (1 = next) and expected wait in seconds, for announcements."""
        entry = self._entry(call_id)
        queue = self._queues[entry.queue_id]
        position = queue.position(entry)
        return position, queue.expected_wait(position)

    def queue_view(self, queue_id: str, now: float) -> QueueView:
        q = self._queue(queue_id)
        offered = sum(1 for e in q.entries.values() if e.state is EntryState.OFFERED)
        oldest = min((e.enqueued_at for e in q.entries.values()), default=now)
        return QueueView(queue_id, len(q.entries) - offered, offered, now - oldest,
                         len(q.members), q.ready, len(self._pool(q)), q.aht)  # fmt: skip

    def queue_ids(self) -> list[str]:
        return sorted(self._queues)

    def queue_config(self, queue_id: str) -> QueueConfig:
        return self._queue(queue_id).config

    def update_agent_skills(
        self, agent_id: str, skills: Mapping[str, int], now: float
    ) -> list[Output]:
        """New skills apply to future offers (an offer already ringing is not withdrawn)."""
        self._begin(now)
        agent = self._agent(agent_id)
        self._limits.check_skills(skills)
        agent.skills = dict(skills)
        return self._replace_agent(agent, now)

    def update_agent_queues(
        self, agent_id: str, queues: frozenset[str] | None, now: float
    ) -> list[Output]:
        """New queue memberships (None: every queue by skills) apply to future offers; an
        offer already ringing is not withdrawn."""
        self._begin(now)
        agent = self._agent(agent_id)
        agent.queues = None if queues is None else frozenset(queues)
        return self._replace_agent(agent, now)

    def _replace_agent(self, agent: Agent, now: float) -> list[Output]:
        for queue_id in self._queues:
            self._place(agent, queue_id)
        self._served(agent)  # built now, not in the agent's next decision
        self._reindex(agent)
        out: list[Output] = []
        for queue_id in list(self._queues):
            out.extend(self._overflow_if_empty(self._queues[queue_id], now))
        return self._finish(now, out)
