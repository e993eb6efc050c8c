"""Benchmark of the ACD router: decisions per second and decision latency at contact-center scale.

Scenario (issue 4): 10,000 agents, 200 queues, 50 skills (each agent serves 16 queues),
100,000 waiting callers. Agents are logged in busy; the callers are enqueued; then agents become
ready one at a time and each ``set_ready`` is one routing decision (the agent takes the best
caller across its queues under the cross-queue rule). A caller who arrives while every agent is
busy joins a line of 100,000 (a decision too: position and expected wait). Then the queues are
emptied and
caller-arrival decisions are measured against 200 and 2,000 idle agents: each ``enqueue`` is a
decision (the best idle agent of the queue), and so is the ``call_ended`` that makes the agent
available again with nobody waiting (it goes back to the idle pools of its 16 queues). Naive
routers that scan every waiting caller, or every agent, for each decision run in the same
process on the same data for comparison. Memory per waiting caller is measured with tracemalloc.

Decisions per second are 1 / mean decision time; the untimed bookkeeping around the decisions
(answer, busy) is left out. Prints figures only; nothing is asserted.
Run: ``.venv/bin/python bench/acd.py [--gc-freeze]`` (about 1 min). It measures the core the
server would use: the mypyc build when ``make`` built it (callcenter/_compiled.py), else the
Python sources; ``CALLCENTER_ACD_COMPILED=0`` measures the Python sources. Numbers are noisy on a
shared 2-core machine: run it a few times. Every row is timed with two clocks in turn, decision
by decision: the wall clock (``perf_counter``) and the thread's CPU clock (``thread_time``, not
counting the time other processes hold the core). ``--gc-freeze`` calls ``gc.freeze()`` after
the setup, as a long-running server does after start-up: the 100,000 callers and 10,000 agents
then no longer make every full garbage-collector pass walk them.
"""

from __future__ import annotations

import gc
import random
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass

from callcenter import _compiled
from callcenter.acd import (
    Acd,
    AgentLogin,
    OfferToAgent,
    QueueConfig,
    RelaxationStep,
    SkillRequirement,
    Strategy,
)

AGENTS = 10_000
QUEUES = 200
SKILLS = 50
CALLERS = 100_000
DECISIONS = 20_000
NAIVE_DECISIONS = 200
STRATEGIES = [s for s in Strategy if s is not Strategy.RING_ALL]


class Samples:
    """Decision times, taken with the wall clock and the thread's CPU clock in turn."""

    def __init__(self) -> None:
        self.wall: list[int] = []
        self.cpu: list[int] = []
        self.n = 0

    def clock(self) -> Callable[[], int]:
        return time.perf_counter_ns if self.n % 2 == 0 else time.thread_time_ns

    def add(self, ns: int) -> None:
        (self.wall if self.n % 2 == 0 else self.cpu).append(ns)
        self.n += 1


def queue_configs(rng: random.Random) -> list[QueueConfig]:
    configs = []
    for n in range(QUEUES):
        skill = f"s{n % SKILLS}"
        level = 1 + (n // SKILLS) % 3
        required = (SkillRequirement(skill, level),)
        relaxation = (RelaxationStep(600.0, (SkillRequirement(skill, 1),)),) if level > 1 else ()
        configs.append(
            QueueConfig(
                f"q{n}",
                strategy=STRATEGIES[n % len(STRATEGIES)],
                required=required,
                preferred=(SkillRequirement(f"s{rng.randrange(SKILLS)}", 2),),
                wrapup=0.0,
                relaxation=relaxation,
                weight=n % 3,
                overflow_when_no_agents=False,
            )
        )
    return configs


def agent_logins(rng: random.Random) -> list[AgentLogin]:
    logins = []
    for n in range(AGENTS):
        skills = {f"s{s}": rng.randint(1, 5) for s in rng.sample(range(SKILLS), 4)}
        logins.append(AgentLogin(str(100_000 + n), str(200_000 + n), skills=skills))
    return logins


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def figures(latencies_ns: list[int]) -> str:
    """Decisions per second of decision time (the untimed bookkeeping around them excluded)."""
    us = [v / 1000 for v in latencies_ns]
    return (
        f"{len(us) / (sum(us) / 1e6):>9,.0f}/s p50 {percentile(us, 0.5):6.1f} "
        f"p99 {percentile(us, 0.99):6.1f} max {max(us):8.1f}"
    )


def report(name: str, samples: Samples) -> None:
    print(f"{name:<46} wall {figures(samples.wall)} | cpu {figures(samples.cpu)}")


def build(rng: random.Random) -> tuple[Acd, list[AgentLogin], int]:
    acd = Acd(random.Random(1))
    for config in queue_configs(rng):
        acd.add_queue(config, 0.0)
    logins = agent_logins(rng)
    for login in logins:
        acd.login(login, 0.0, ready=False)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for n in range(CALLERS):
        acd.enqueue(
            f"c{n}", f"q{rng.randrange(QUEUES)}", n * 1e-4, priority=rng.choice([0, 0, 0, 1, 2])
        )
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return acd, logins, (after - before) // CALLERS


def agents_available(acd: Acd, logins: list[AgentLogin], rng: random.Random) -> None:
    """Each decision: an agent becomes ready and is offered the best caller of its queues."""
    latencies = Samples()
    now = 20.0
    order = [login.agent_id for login in logins]
    rng.shuffle(order)
    for n in range(DECISIONS):
        agent = order[n % len(order)]
        now += 1e-4
        clock = latencies.clock()
        t0 = clock()
        out = acd.set_ready(agent, now)
        latencies.add(clock() - t0)
        offer = next((o for o in out if isinstance(o, OfferToAgent)), None)
        if offer is not None:  # untimed: answer, go busy after the call, hang up
            acd.offer_answered(offer.call_id, agent, now)
            acd.set_busy(agent, "bench", now)
            acd.call_ended(offer.call_id, now)
        else:
            acd.set_busy(agent, "bench", now)
    report("agent available, 100k callers waiting", latencies)


def callers_joining(acd: Acd, rng: random.Random, start: float = 25.0) -> None:
    """Each decision: a caller arrives while every agent is busy and 100,000 callers wait; it
    joins its queue's line (position and expected wait for the announcement); then it hangs
    up (untimed), so the line stays at 100,000."""
    latencies = Samples()
    now = start
    for n in range(DECISIONS):
        now += 1e-4
        call = f"j{n}"
        clock = latencies.clock()
        t0 = clock()
        acd.enqueue(call, f"q{rng.randrange(QUEUES)}", now, priority=rng.choice([0, 0, 0, 1, 2]))
        latencies.add(clock() - t0)
        acd.caller_abandoned(call, now)
    report("caller arrives, 100k waiting, no agent free", latencies)


def callers_arriving(
    acd: Acd, logins: list[AgentLogin], rng: random.Random, idle: int, start: float
) -> None:
    """Each decision: a caller arrives and is offered to the best of the idle agents; then the
    agent's call ends and it becomes available with nobody waiting (a decision too)."""
    # empty the queues first: abandon every waiting caller (untimed)
    for entry in acd.entries():
        acd.caller_abandoned(entry.call_id, start)
    for login in logins:
        acd.set_busy(login.agent_id, "bench", start)
    for login in rng.sample(logins, idle):
        acd.set_ready(login.agent_id, start)
    arrivals = Samples()
    returns = Samples()
    now = start + 10.0
    acd.on_timer(now)  # untimed: ring timers of earlier phases that fell due meanwhile
    for n in range(DECISIONS):
        now += 1e-4
        call = f"a{n}"
        clock = arrivals.clock()
        t0 = clock()
        out = acd.enqueue(call, f"q{rng.randrange(QUEUES)}", now)
        arrivals.add(clock() - t0)
        offer = next((o for o in out if isinstance(o, OfferToAgent)), None)
        if offer is None:
            acd.caller_abandoned(call, now)
            continue
        acd.offer_answered(call, offer.agent_id, now)  # untimed
        clock = returns.clock()
        t0 = clock()
        acd.call_ended(call, now)
        returns.add(clock() - t0)
    report(f"caller arrives, {idle:,} agents idle", arrivals)
    report(f"  agent available, nobody waiting ({idle:,})", returns)


@dataclass
class NaiveCaller:
    queue: int
    priority: int
    enqueued_at: float
    seq: int


def naive(rng: random.Random) -> None:
    """Scan-everything routers: every decision looks at every waiting caller, or every agent."""
    configs = queue_configs(rng)
    logins = agent_logins(rng)
    callers = [
        NaiveCaller(rng.randrange(QUEUES), rng.choice([0, 0, 0, 1, 2]), n * 1e-4, n)
        for n in range(CALLERS)
    ]
    latencies = Samples()
    for _ in range(NAIVE_DECISIONS):
        skills = logins[rng.randrange(AGENTS)].skills
        clock = latencies.clock()
        t0 = clock()
        best, best_key = -1, None
        for i, c in enumerate(callers):
            req = configs[c.queue].required[0]
            if skills.get(req.skill, 0) < req.min_level:
                continue
            key = (-c.priority, c.enqueued_at, -configs[c.queue].weight, c.seq)
            if best_key is None or key < best_key:
                best, best_key = i, key
        if best >= 0:
            callers.pop(best)
        latencies.add(clock() - t0)
    report("naive scan, agent available, 100k waiting", latencies)
    idle_since = {login.agent_id: float(n) for n, login in enumerate(rng.sample(logins, 2_000))}
    latencies = Samples()
    for n in range(NAIVE_DECISIONS):
        req = configs[rng.randrange(QUEUES)].required[0]
        clock = latencies.clock()
        t0 = clock()
        eligible = [
            (idle_since[a.agent_id], a.agent_id)
            for a in logins
            if a.agent_id in idle_since and a.skills.get(req.skill, 0) >= req.min_level
        ]
        if eligible:
            idle_since[min(eligible)[1]] = 1e6 + n  # offered: idle again, last in line
        latencies.add(clock() - t0)
    report("naive scan, caller arrives, 2,000 agents idle", latencies)


def main() -> None:
    rng = random.Random(42)
    t0 = time.perf_counter()
    acd, logins, per_caller = build(rng)
    core = "compiled with mypyc" if _compiled.active() else f"interpreted ({_compiled.reason()})"
    print(f"ACD core: {core}")
    print(
        f"setup: {AGENTS:,} agents, {QUEUES} queues, {SKILLS} skills, {CALLERS:,} callers "
        f"in {time.perf_counter() - t0:.1f} s; memory per waiting caller ≈ {per_caller} bytes"
    )
    if "--gc-freeze" in sys.argv:
        gc.collect()
        gc.freeze()
        print(f"gc.freeze(): {gc.get_freeze_count():,} objects out of the collector's passes")
    print(f"{'decision':<46} per clock: decisions/s (1 / mean), p50, p99, max in µs")
    agents_available(acd, logins, rng)
    callers_joining(acd, rng)
    callers_arriving(acd, logins, rng, idle=200, start=30.0)
    callers_arriving(acd, logins, rng, idle=2_000, start=50.0)
    naive(random.Random(42))
    print("(one core; noisy: other work shares this 2-core machine)")


if __name__ == "__main__":
    main()
