"""Routing strategies: how the router ranks the idle agents who may take a caller (SPEC §3).

A strategy is a function from (context, agent) to a sort key; lower keys win. The router puts
two things in front of every strategy's key: agents who already missed this caller go last
(so a no-answer moves the call to *another* agent when there is one), and agents with more of
the queue's preferred skills go first. The agent id (numeric order) breaks the remaining ties,
so every decision is deterministic for a given RNG seed. Ring-all offers the caller to every
candidate at once, ranked like longest-idle for the explanation.

To add a strategy: add a member to :class:`callcenter.acd.model.Strategy`, write a key function
here, register it in :data:`STRATEGIES`, document it in docs/acd.md and add a table test.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from callcenter.acd.model import QueueConfig, Strategy
from callcenter.acd.state import Agent

Score = tuple[float | str, ...]


@dataclass(frozen=True, slots=True)
class RankContext:
    queue: QueueConfig
    now: float
    rr_last: str | None
    rng: random.Random


StrategyFn = Callable[[RankContext, Agent], Score]


def id_key(agent_id: str) -> tuple[int, str]:
    """Numeric order for digit ids ("9" before "10"), lexical otherwise."""
    return (len(agent_id), agent_id)


def longest_idle(ctx: RankContext, agent: Agent) -> Score:
    return (agent.idle_since,)


def round_robin(ctx: RankContext, agent: Agent) -> Score:
    """The next agent after the queue's last-offered agent, in agent id order, wrapping."""
    if ctx.rr_last is None:
        return (0,)
    return (0 if id_key(agent.agent_id) > id_key(ctx.rr_last) else 1,)


def fewest_calls(ctx: RankContext, agent: Agent) -> Score:
    return (agent.calls_answered, agent.idle_since)


def least_talk_time(ctx: RankContext, agent: Agent) -> Score:
    return (agent.talk_time, agent.idle_since)


def skill_level_first(ctx: RankContext, agent: Agent) -> Score:
    """Highest total level in the queue's required and preferred skills."""
    return (-agent.fit[ctx.queue.queue_id][1], agent.idle_since)


def random_pick(ctx: RankContext, agent: Agent) -> Score:
    """Uniform: a fresh draw per candidate, drawn in agent id order so a seed replays."""
    return (ctx.rng.random(),)


STRATEGIES: dict[Strategy, StrategyFn] = {
    Strategy.LONGEST_IDLE: longest_idle,
    Strategy.ROUND_ROBIN: round_robin,
    Strategy.FEWEST_CALLS: fewest_calls,
    Strategy.LEAST_TALK_TIME: least_talk_time,
    Strategy.SKILL_LEVEL_FIRST: skill_level_first,
    Strategy.RING_ALL: longest_idle,
    Strategy.RANDOM: random_pick,
}

OFFER_ALL = frozenset({Strategy.RING_ALL})
DRAWS = frozenset({Strategy.RANDOM})  # strategies that use ctx.rng: candidates go in id order


def fit(queue: QueueConfig, skills: dict[str, int]) -> tuple[int, int]:
    """(preferred skills met, total level in the queue's skills): fixed while skills are."""
    preferred = sum(1 for r in queue.preferred if skills.get(r.skill, 0) >= r.min_level)
    wanted = {r.skill for r in queue.required} | {r.skill for r in queue.preferred}
    return preferred, sum(skills.get(skill, 0) for skill in wanted)
