"""Random command sequences through the ACD router, printed as one canonical trace.

``python -m tests.component.native.acd_trace [sequences] [steps]`` drives a router with random
but seeded commands (queue changes, logins, ready/busy, callers, offers, answers, rejects,
timers, transfers, callbacks, direct calls, force operations), and prints every output (with
its explanation expanded), every error's type and every view after each step. The same seed
gives the same trace, so the compiled core and the Python sources must print the same bytes
(test_acd_compiled.py compares them).
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable

from callcenter import _compiled
from callcenter.acd import (
    Acd,
    AcdError,
    AgentLogin,
    Output,
    QueueConfig,
    RelaxationStep,
    SkillRequirement,
    Strategy,
)

AGENTS = [str(n) for n in (1, 2, 3, 9, 10, 11, 25)]
SKILLS = ["a", "b", "c"]


def queue_config(rng: random.Random, queue_id: str) -> QueueConfig:
    skill = rng.choice(SKILLS)
    level = rng.randint(1, 3)
    relaxation = (RelaxationStep(rng.choice([5.0, 20.0]), (SkillRequirement(skill, 1),)),)
    return QueueConfig(
        queue_id,
        strategy=rng.choice(list(Strategy)),
        required=(SkillRequirement(skill, level),),
        preferred=(SkillRequirement(rng.choice(SKILLS), 2),) if rng.random() < 0.5 else (),
        ring_timeout=rng.choice([4.0, 10.0]),
        wrapup=rng.choice([0.0, 3.0]),
        max_wait=rng.choice([None, 30.0]),
        max_len=rng.choice([None, 4]),
        relaxation=relaxation if level > 1 and rng.random() < 0.7 else (),
        weight=rng.randint(0, 2),
        max_no_answers=rng.randint(1, 3),
        overflow_when_no_agents=rng.random() < 0.5,
    )


class Driver:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.acd = Acd(random.Random(seed + 1))
        self.now = 0.0
        self.calls = 0
        self.lines: list[str] = []

    def run(self, label: str, command: Callable[[], list[Output]]) -> list[Output]:
        try:
            out = command()
        except AcdError as err:
            self.lines.append(f"{label} -> {type(err).__name__}: {err}")
            return []
        self.lines.append(f"{label} -> {out!r}")
        return out

    def some_call(self) -> str | None:
        known = [e.call_id for e in self.acd.entries()]
        known += [a.call_id for a in self.acd.agents() if a.call_id is not None]
        return self.rng.choice(known) if known else None

    def step(self) -> None:
        rng, acd = self.rng, self.acd
        self.now += rng.choice([0.0, 0.5, 1.0, 3.0, 7.0])
        now = self.now
        agent = rng.choice(AGENTS)
        kind = rng.randrange(16)
        if kind == 0:
            skills = {s: rng.randint(1, 4) for s in rng.sample(SKILLS, rng.randint(1, 3))}
            login = AgentLogin(agent, str(8000 + int(agent)), skills=skills)
            self.run(f"login {agent}", lambda: acd.login(login, now, ready=rng.random() < 0.7))
        elif kind == 1:
            self.run(f"logout {agent}", lambda: acd.logout(agent, now))
        elif kind == 2:
            self.run(f"ready {agent}", lambda: acd.set_ready(agent, now))
        elif kind == 3:
            self.run(f"busy {agent}", lambda: acd.set_busy(agent, "break", now))
        elif kind in (4, 5, 6):
            self.calls += 1
            call, queue = f"c{self.calls}", rng.choice(["q0", "q1", "q2"])
            priority = rng.choice([0, 0, 1])
            self.run(
                f"enqueue {call} {queue}", lambda: acd.enqueue(call, queue, now, priority=priority)
            )
        elif kind in (7, 8):
            offered = [a for a in acd.agents() if a.call_id and a.activity.value in
                       ("reserved", "ringing")]  # fmt: skip
            if offered:
                a = rng.choice(offered)
                call_id = a.call_id or ""
                how = rng.choice(["answered", "rejected", "ringing"])
                command = {"answered": acd.offer_answered, "rejected": acd.offer_rejected,
                           "ringing": acd.offer_ringing}[how]  # fmt: skip
                self.run(f"{how} {call_id} {a.agent_id}", lambda: command(call_id, a.agent_id, now))
        elif kind == 9:
            call = self.some_call()
            if call is not None:
                self.run(f"ended {call}", lambda: acd.call_ended(call, now))
        elif kind == 10:
            self.run("timer", lambda: acd.on_timer(now))
        elif kind == 11:
            call = self.some_call()
            if call is not None:
                to = rng.choice([None, "q0", "q1", "q2"])
                self.run(f"transfer {call} {to}", lambda: acd.transfer(call, now, to_queue=to))
        elif kind == 12:
            call = self.some_call()
            if call is not None:
                self.calls += 1
                task = f"cb{self.calls}"
                self.run(f"callback {call}", lambda: acd.request_callback(call, task, "139", now))
        elif kind == 13:
            self.calls += 1
            key = f"d{self.calls}"
            if rng.random() < 0.5:
                self.run(f"reserve {key} {agent}", lambda: acd.reserve(key, agent, now))
            else:
                self.run(f"take {key} {agent}", lambda: acd.take(key, agent, now))
        elif kind == 14:
            force = rng.choice([acd.force_busy, acd.force_ready])
            self.run(f"force {force.__name__} {agent}", lambda: force(agent, "900", now))
        else:
            queue = rng.choice(["q0", "q1", "q2"])
            config = queue_config(rng, queue)
            self.run(f"update {queue}", lambda: acd.update_queue(config, now))
        views = [acd.queue_view(q, now) for q in acd.queue_ids()]
        self.lines.append(f"  {acd.agents()!r} {acd.entries()!r} {views!r}")


def trace(sequences: int, steps: int) -> list[str]:
    lines: list[str] = []
    for seed in range(sequences):
        driver = Driver(seed)
        for queue in ("q0", "q1", "q2"):
            driver.acd.add_queue(queue_config(driver.rng, queue), 0.0)
        for _ in range(steps):
            driver.step()
        lines.extend(driver.lines)
    return lines


def main() -> None:
    sequences = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    print(f"# compiled={_compiled.active()}")
    for line in trace(sequences, steps):
        print(line)


if __name__ == "__main__":
    main()
