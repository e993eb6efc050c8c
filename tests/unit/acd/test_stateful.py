"""Hypothesis state machine over the ACD router: the routing invariants hold after every step.

The test keeps its own model of the world, built only from the router's outputs, and checks it
against the router's views after every step:

* no agent is offered two calls, and offers go only to agents who were ready and idle;
* every caller (queue entry) ends exactly once: answered, abandoned, overflowed or callback;
* no agent is reserved or ringing without a live offer, and no offer without such an agent;
* FIFO within a priority per queue: an offer never skips a waiting caller of the same queue
  who has a higher priority, or the same priority and an earlier arrival, and whose
  requirements (at its relaxation level) the agent meets;
* the cross-queue rule: when an agent became available, no waiting caller in any of its
  queues beats the chosen one on (priority, arrival, queue weight);
* a busy asked during a call applies when the agent goes on-hook;
* work-conserving: after a step, no ready idle agent is eligible (skills recomputed here from
  the queue config and the time waited) for a caller who is waiting.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from callcenter.acd import (
    Acd,
    AcdError,
    Activity,
    AgentLogin,
    AgentStateChanged,
    CallbackRequested,
    CallLeftQueue,
    CallQueued,
    CancelOffer,
    Category,
    NoSuchOfferError,
    NotOnHookError,
    OfferToAgent,
    Output,
    Presence,
    PresenceChangeDeferred,
    QueueConfig,
    RelaxationStep,
    SkillRequirement,
    Strategy,
)
from callcenter.acd.model import meets

AGENTS = [str(i) for i in range(1, 8)]
SKILLS = ["a", "b", "c"]
QUEUES = ["q0", "q1", "q2"]

skills_st = st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 3), max_size=3)
requirements_st = st.lists(
    st.builds(SkillRequirement, st.sampled_from(SKILLS), st.integers(1, 3)),
    max_size=2,
    unique_by=lambda r: r.skill,
).map(tuple)


@st.composite
def queue_st(draw: st.DrawFn, queue_id: str) -> QueueConfig:
    required = draw(requirements_st)
    steps = draw(st.integers(0, 2))
    relaxation = (
        RelaxationStep(10.0, tuple(SkillRequirement(r.skill, 1) for r in required)),
        RelaxationStep(25.0, ()),
    )[:steps]
    return QueueConfig(
        queue_id,
        strategy=draw(st.sampled_from(Strategy)),
        required=required,
        preferred=draw(requirements_st),
        ring_timeout=draw(st.sampled_from([5.0, 10.0])),
        wrapup=draw(st.sampled_from([0.0, 3.0, 10.0])),
        max_wait=draw(st.sampled_from([None, None, 40.0, 90.0])),
        max_len=draw(st.sampled_from([None, None, 2, 4])),
        overflow_when_no_agents=draw(st.booleans()),
        relaxation=relaxation,
        weight=draw(st.integers(0, 2)),
        max_no_answers=draw(st.integers(1, 3)),
    )


@dataclass
class ModelEntry:
    queue_id: str
    priority: int
    key: tuple[float, int]
    offers: set[str] = field(default_factory=set)


class AcdMachine(RuleBasedStateMachine):
    @initialize(
        seed=st.integers(0, 2**32),
        q0=queue_st("q0"),
        q1=queue_st("q1"),
        q2=queue_st("q2"),
    )
    def setup(self, seed: int, q0: QueueConfig, q1: QueueConfig, q2: QueueConfig) -> None:
        self.acd = Acd(random.Random(seed))
        self.now = 0.0
        self.calls = 0
        self.open: dict[str, ModelEntry] = {}
        self.submitted: dict[str, ModelEntry] = {}
        self.agents: dict[str, tuple[Presence, Activity]] = {}
        self.answered: set[str] = set()
        self.skills: dict[str, dict[str, int]] = {}
        self.pending: set[str] = set()
        self.last_at = 0.0
        for q in (q0, q1, q2):
            self.absorb(self.acd.add_queue(q, self.now))

    # ---- the model, fed only by outputs --------------------------------------------------

    def absorb(self, out: list[Output]) -> None:
        for o in out:
            handler = getattr(self, f"on_{type(o).__name__}", None)
            if handler is not None:
                handler(o)

    def on_CallQueued(self, o: CallQueued) -> None:
        assert o.call_id not in self.open, "entry queued twice"
        self.open[o.call_id] = self.submitted.pop(o.call_id)
        assert o.position >= 1 and o.expected_wait >= 0

    def on_CallbackRequested(self, o: CallbackRequested) -> None:
        original = self.ended_last
        assert original.queue_id == o.queue_id
        self.open[o.callback_id] = ModelEntry(o.queue_id, original.priority, original.key)

    def on_CallLeftQueue(self, o: CallLeftQueue) -> None:
        entry = self.open.pop(o.call_id, None) or self.submitted.pop(o.call_id, None)
        assert entry is not None, f"{o.call_id} ended twice or never entered"
        assert not entry.offers or o.outcome.value == "answered"
        self.ended_last = entry
        if o.agent_id is not None:
            self.answered.add(o.call_id)

    def on_OfferToAgent(self, o: OfferToAgent) -> None:
        entry = self.open[o.call_id]
        for other in self.open.values():
            assert o.agent_id not in other.offers, f"agent {o.agent_id} offered two calls"
        assert self.agents[o.agent_id] == (Presence.READY, Activity.RESERVED)
        if not entry.offers:  # first offer of this round
            self.check_order(entry, o.agent_id)
            trigger = o.explanation.trigger
            if trigger.startswith("agent_available:"):
                self.check_cross_queue(entry, trigger.split(":")[1])
        entry.offers.add(o.agent_id)
        assert o.explanation.candidate_count >= 1
        assert o.agent_id in {c.agent_id for c in o.explanation.candidates}

    def admits(self, entry: ModelEntry, agent: str) -> bool:
        config = self.acd.queue_config(entry.queue_id)
        level = sum(1 for s in config.relaxation if entry.key[0] + s.after <= self.last_at)
        return meets(self.skills[agent], config.requirement(level))

    def rank(self, entry: ModelEntry) -> tuple[int, float, int, int]:
        weight = self.acd.queue_config(entry.queue_id).weight
        return (-entry.priority, entry.key[0], -weight, entry.key[1])

    def check_order(self, entry: ModelEntry, agent: str) -> None:
        """Priority, then FIFO, within the queue of the offered caller."""
        for other in self.open.values():
            if other is entry or other.offers or other.queue_id != entry.queue_id:
                continue
            if (-other.priority, other.key) < (-entry.priority, entry.key):
                assert not self.admits(other, agent), "queue order (priority, FIFO) broken"

    def check_cross_queue(self, entry: ModelEntry, agent: str) -> None:
        for other in self.open.values():
            if other is entry or other.offers or self.rank(other) > self.rank(entry):
                continue
            assert not self.admits(other, agent), "cross-queue rule broken"

    def on_PresenceChangeDeferred(self, o: PresenceChangeDeferred) -> None:
        self.pending.add(o.agent_id)

    def on_CancelOffer(self, o: CancelOffer) -> None:
        self.open[o.call_id].offers.remove(o.agent_id)

    def on_AgentStateChanged(self, o: AgentStateChanged) -> None:
        if o.activity is Activity.RESERVED and self.agents.get(o.agent_id) != (
            Presence.READY,
            Activity.RESERVED,
        ):
            assert self.agents[o.agent_id] == (Presence.READY, Activity.IDLE)
        self.last_at = o.at
        if o.activity is Activity.ON_CALL:
            for entry in self.open.values():
                entry.offers.discard(o.agent_id)
        if o.cause in ("ready", "forced ready", "forced busy"):
            self.pending.discard(o.agent_id)
        before = self.agents.get(o.agent_id, (None, None))[1]
        off_hook = (Activity.RESERVED, Activity.RINGING, Activity.ON_CALL)
        if o.presence is Presence.LOGGED_OUT:
            self.pending.discard(o.agent_id)
        if before in off_hook and o.activity not in off_hook and o.agent_id in self.pending:
            assert o.presence is Presence.BUSY, "deferred busy not applied at the call's end"
            self.pending.discard(o.agent_id)
        if o.presence is Presence.LOGGED_OUT:
            self.agents.pop(o.agent_id, None)
            self.pending.discard(o.agent_id)
        else:
            self.agents[o.agent_id] = (o.presence, o.activity)

    # ---- driving ----------------------------------------------------------------------------

    def run(self, command: Callable[[], list[Output]], *allowed: type[AcdError]) -> None:
        try:
            out = command()
        except allowed:
            out = self.acd.on_timer(self.now)  # timers fired before the refusal
        self.absorb(out)

    def pick(self, data: st.DataObject, items: list[str]) -> str | None:
        return data.draw(st.sampled_from(sorted(items))) if items else None

    def views(self, activity: Activity) -> list[str]:
        return [a.agent_id for a in self.acd.agents() if a.activity is activity]

    @rule(agent=st.sampled_from(AGENTS), skills=skills_st, ready=st.booleans(), data=st.data())
    def login(self, agent: str, skills: dict[str, int], ready: bool, data: st.DataObject) -> None:
        wrapup = data.draw(st.sampled_from([None, None, 0.0, 7.0]))
        request = AgentLogin(agent, str(8000 + int(agent)), Category.AGENT, skills, wrapup)
        if agent in self.agents:
            self.run(lambda: self.acd.login(request, self.now), AcdError)
        else:
            self.skills[agent] = skills
            self.run(lambda: self.acd.login(request, self.now, ready=ready))

    @rule(data=st.data(), forced=st.booleans())
    def logout(self, data: st.DataObject, forced: bool) -> None:
        agent = self.pick(data, list(self.agents))
        if agent is not None:
            by = "99" if forced else None
            self.run(lambda: self.acd.logout(agent, self.now, actor=by))

    @rule(data=st.data(), forced=st.booleans())
    def ready(self, data: st.DataObject, forced: bool) -> None:
        agent = self.pick(data, list(self.agents))
        if agent is not None:
            cmd = self.acd.force_ready if forced else (lambda a, by, t: self.acd.set_ready(a, t))
            self.run(lambda: cmd(agent, "99", self.now))

    @rule(data=st.data(), how=st.sampled_from(["defer", "strict", "force"]))
    def busy(self, data: st.DataObject, how: str) -> None:
        agent = self.pick(data, list(self.agents))
        if agent is None:
            return
        if how == "force":
            self.run(lambda: self.acd.force_busy(agent, "99", self.now))
        else:
            strict = how == "strict"
            command = lambda: self.acd.set_busy(agent, "x", self.now, defer=not strict)  # noqa: E731
            self.run(command, NotOnHookError)

    @rule(
        queue=st.sampled_from(QUEUES),
        priority=st.integers(0, 2),
        dt=st.sampled_from([0.0, 0.0, 1.0, 4.0]),
    )
    def enqueue(self, queue: str, priority: int, dt: float) -> None:
        self.now += dt
        self.calls += 1
        call_id = f"c{self.calls}"
        self.submitted[call_id] = ModelEntry(queue, priority, (self.now, self.calls))
        self.run(lambda: self.acd.enqueue(call_id, queue, self.now, priority=priority))

    def offered(self) -> list[str]:
        return [f"{e.call_id}|{a}" for e in self.acd.entries() for a in e.offered_to]

    @rule(
        data=st.data(), action=st.sampled_from(["answer", "reject", "ringing"]), dt=st.floats(0, 6)
    )
    def respond(self, data: st.DataObject, action: str, dt: float) -> None:
        choice = self.pick(data, self.offered())
        if choice is None:
            return
        call_id, agent = choice.split("|")
        self.now += dt
        command = {
            "answer": self.acd.offer_answered,
            "reject": self.acd.offer_rejected,
            "ringing": self.acd.offer_ringing,
        }[action]
        self.run(lambda: command(call_id, agent, self.now), NoSuchOfferError)

    @rule(data=st.data(), via_bye=st.booleans())
    def abandon(self, data: st.DataObject, via_bye: bool) -> None:
        call_id = self.pick(data, [e.call_id for e in self.acd.entries()])
        if call_id is not None:
            command = self.acd.call_ended if via_bye else self.acd.caller_abandoned
            self.run(lambda: command(call_id, self.now))

    def on_call(self) -> list[str]:
        return [
            a.call_id for a in self.acd.agents() if a.call_id and a.activity is Activity.ON_CALL
        ]

    @rule(data=st.data())
    def hang_up(self, data: st.DataObject) -> None:
        call_id = self.pick(data, self.on_call())
        if call_id is not None:
            self.run(lambda: self.acd.call_ended(call_id, self.now))

    @rule(data=st.data(), to=st.sampled_from([None, *QUEUES]))
    def transfer(self, data: st.DataObject, to: str | None) -> None:
        call_id = self.pick(data, self.on_call())
        if call_id is None:
            return
        if to is not None:
            self.calls += 1
            self.submitted[call_id] = ModelEntry(to, 0, (self.now, self.calls))
        self.run(lambda: self.acd.transfer(call_id, self.now, to_queue=to, priority=0))

    @rule(data=st.data())
    def callback(self, data: st.DataObject) -> None:
        call_id = self.pick(data, [e.call_id for e in self.acd.entries()])
        if call_id is not None:
            self.calls += 1
            self.run(lambda: self.acd.request_callback(call_id, f"cb{self.calls}", "555", self.now))

    @rule(dt=st.sampled_from([0.5, 2.0, 5.0, 11.0, 30.0]))
    def tick(self, dt: float) -> None:
        deadline = self.acd.next_deadline()
        assert deadline is None or deadline >= self.now
        self.now += dt
        self.run(lambda: self.acd.on_timer(self.now))

    @rule(data=st.data())
    def end_wrapup(self, data: st.DataObject) -> None:
        agent = self.pick(data, self.views(Activity.WRAP_UP))
        if agent is not None:
            self.run(lambda: self.acd.end_wrapup(agent, self.now))

    @rule(data=st.data(), skills=skills_st)
    def new_skills(self, data: st.DataObject, skills: dict[str, int]) -> None:
        agent = self.pick(data, list(self.agents))
        if agent is not None:
            self.skills[agent] = skills
            self.run(lambda: self.acd.update_agent_skills(agent, skills, self.now))

    @rule(data=st.data(), queue=st.sampled_from(QUEUES))
    def reconfigure(self, data: st.DataObject, queue: str) -> None:
        config = data.draw(queue_st(queue))
        self.run(lambda: self.acd.update_queue(config, self.now))

    @rule(data=st.data(), queue=st.sampled_from(QUEUES))
    def replace_queue(self, data: st.DataObject, queue: str) -> None:
        self.run(lambda: self.acd.remove_queue(queue, self.now))
        config = data.draw(queue_st(queue))
        self.run(lambda: self.acd.add_queue(config, self.now))

    # ---- invariants ------------------------------------------------------------------------

    @invariant()
    def model_matches_router(self) -> None:
        if not hasattr(self, "acd"):
            return
        entries = {e.call_id: e for e in self.acd.entries()}
        assert set(entries) == set(self.open), "a caller was lost or ended twice"
        assert not self.submitted, "an enqueue produced neither CallQueued nor an ending"
        views = {a.agent_id: a for a in self.acd.agents()}
        assert {a: (v.presence, v.activity) for a, v in views.items()} == self.agents
        assert {a for a, v in views.items() if v.pending is Presence.BUSY} == self.pending
        for call_id, entry in entries.items():
            assert set(entry.offered_to) == self.open[call_id].offers
            for agent in entry.offered_to:
                assert views[agent].activity in (Activity.RESERVED, Activity.RINGING)
                assert views[agent].call_id == call_id
        for view in views.values():
            if view.activity in (Activity.RESERVED, Activity.RINGING):
                assert view.call_id in entries and view.agent_id in entries[view.call_id].offered_to
            if view.activity is Activity.ON_CALL:
                assert view.call_id in self.answered and view.call_id not in entries

    @invariant()
    def queue_counts_match_agents(self) -> None:
        """Each queue's member, ready and idle counts are those of the agents it lists."""
        if not hasattr(self, "acd"):
            return
        agents = self.acd.agents()
        for queue_id in self.acd.queue_ids():
            view = self.acd.queue_view(queue_id, self.now)
            members = [a for a in agents if queue_id in dict(a.queues)]
            ready = [a for a in members if a.presence is Presence.READY]
            idle = [a for a in ready if a.activity is Activity.IDLE]
            assert (view.members, view.ready, view.idle) == (len(members), len(ready), len(idle))

    @invariant()
    def work_conserving(self) -> None:
        if not hasattr(self, "acd"):
            return
        idle = [
            a
            for a in self.acd.agents()
            if a.presence is Presence.READY and a.activity is Activity.IDLE
        ]
        for entry in self.acd.entries():
            if entry.offered_to:
                continue
            config = self.acd.queue_config(entry.queue_id)
            level = sum(1 for s in config.relaxation if entry.enqueued_at + s.after <= self.now)
            assert entry.level == level
            required = config.requirement(level)
            for agent in idle:
                assert not meets(dict(agent.skills), required), (
                    f"agent {agent.agent_id} idle while {entry.call_id} waits"
                )


AcdMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestAcdMachine = AcdMachine.TestCase
